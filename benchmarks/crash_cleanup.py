"""Crash cleanup, measured: a kernel running `Lab.start` is killed (SIGKILL) at a random moment, ten
times in a row; after each crash the next `Lab.start` of the same lab (then `lab.stop()`), or
`geolab down --all`, must leave no container, network or volume of the lab behind.

Run with `make crash-cleanup` (the image must be present). Prints one row per crash and a summary,
and writes benchmarks/results/crash_cleanup.json. Not part of `make test`: it takes a few minutes.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from dataclasses import asdict, dataclass

from jupyter_client.manager import KernelManager

from benchmarks.report import save
from checks.cli import main as geolab
from labs.engine import docker_client
from labs.errors import LabError
from labs.lab import Lab
from labs.settings import LABEL_LAB
from labs.topology import full_mesh
from labs.waiting import wait_for

LAB = "crash-cleanup"
RUNS = 10
START = (f'from labs import Lab, full_mesh\nLab.start(full_mesh("beijing", "shanghai"), name="{LAB}", '
         'progress=lambda line: None)')


@dataclass(frozen=True)
class Crash:
    run: int
    killed_after_s: float
    containers_left_by_crash: int
    networks_left_by_crash: int
    recovery: str
    recovered_lab_worked: bool | None
    recovery_error: str
    containers_left: int
    networks_left: int
    volumes_left: int


def counts(volumes_before: set[str]) -> tuple[int, int, int]:
    client = docker_client()
    containers = client.containers.list(all=True, filters={"label": f"{LABEL_LAB}={LAB}"})
    networks = client.networks.list(filters={"label": f"{LABEL_LAB}={LAB}"})
    volumes = {v.name for v in client.volumes.list()} - volumes_before
    return len(containers), len(networks), len(volumes)


def crash_once(run: int, kill_after_s: float, volumes_before: set[str]) -> Crash:
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel()
    session = kernel.client()
    session.start_channels()
    try:
        session.wait_for_ready(timeout=60)
        session.execute(START)
        time.sleep(kill_after_s)  # the random moment of the crash: the point of this benchmark
        kernel.signal_kernel(signal.SIGKILL)  # nothing in the kernel gets to clean up
        containers, networks, _ = counts(volumes_before)  # what the crash left
    finally:
        session.stop_channels()
        kernel.shutdown_kernel(now=True)  # reaps the dead process and removes its connection file
    worked: bool | None = None
    error = ""
    if run % 2:
        recovery = "Lab.start again, then lab.stop()"
        try:
            lab = Lab.start(full_mesh("beijing", "shanghai"), name=LAB, progress=lambda _line: None)
        except LabError as exc:
            worked, error = False, str(exc).splitlines()[0][:160]
        else:
            worked = bool(lab.probe(timeout_s=60).seconds_by_link)
            lab.stop(progress=lambda _line: None)
    else:
        recovery = "geolab down --all"
        geolab(["down", "--all"])
    left = counts(volumes_before)
    if left != (0, 0, 0):
        geolab(["down", LAB])  # so the next run starts from nothing; this run is counted as dirty
    return Crash(run, round(kill_after_s, 2), containers, networks, recovery, worked, error, *left)


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else int(time.time())
    chooser = random.Random(seed)
    client = docker_client()
    volumes_before = {v.name for v in client.volumes.list()}
    geolab(["down", LAB])
    # a start of this lab takes ~10 s here; its networks and containers appear in its first second or
    # two, so half of the kills fall there and half anywhere up to the replication probe
    wait_for(lambda: counts(volumes_before)[:2] == (0, 0), what=f"lab {LAB} gone before the first run",
             timeout_s=60)
    moments = [chooser.uniform(0.0, 2.0) if run % 4 in (1, 2) else chooser.uniform(2.0, 14.0)
               for run in range(1, RUNS + 1)]
    crashes = [crash_once(run, moment, volumes_before) for run, moment in enumerate(moments, start=1)]
    print(f"seed {seed}")
    print(f"{'run':>3}  {'killed at':>9}  {'crash left':>13}  {'recovery':<34}  {'lab ok':<6}  left (c/n/v)")
    for c in crashes:
        at_kill = f"{c.containers_left_by_crash} c, {c.networks_left_by_crash} n"
        ok = "-" if c.recovered_lab_worked is None else ("yes" if c.recovered_lab_worked else "NO")
        print(f"{c.run:>3}  {c.killed_after_s:>8.2f}s  {at_kill:>13}  {c.recovery:<34}  {ok:<6}  "
              f"{c.containers_left}/{c.networks_left}/{c.volumes_left}")
    clean = sum(1 for c in crashes if (c.containers_left, c.networks_left, c.volumes_left) == (0, 0, 0))
    for c in crashes:
        if c.recovery_error:
            print(f"run {c.run}: Lab.start after the crash failed: {c.recovery_error}")
    print(f"\n{clean} of {len(crashes)} crashes left nothing behind after recovery")
    save("crash_cleanup", {"seed": seed, "crashes": [asdict(c) for c in crashes], "clean": clean})
    return 0 if clean == len(crashes) else 1


if __name__ == "__main__":
    sys.exit(main())
