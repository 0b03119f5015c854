"""A workshop on this host: how many learners at once, memory per learner, time to a ready lab, and
grading a class on shared clusters against one lab per submission.

Run with `make bench-workshop` (root: firewall rules). Learners are simulated: lesson 00 with its
solutions, run by nbclient in a learner's container (`checks.workshop.simulate`), through the lab
server, as a learner's JupyterLab would. Prints tables; nothing is asserted.

- capacity: N learners start together, N growing until something gives (a learner's run failed, the
  lab server refused for memory, or N reached the cap); says what gave;
- memory: per learner, the learner's container (peak) plus their clusters (docker stats), or their
  share of the shared clusters;
- ready lab: JupyterHub login to a running JupyterLab, then `Lab.start` in the learner's server, with
  the warm pool and without;
- grading: the same class's submissions graded through the lab server on shared clusters, and by
  `geolab grade` (a sandbox and a lab per submission, two at a time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import nbformat

import docker
from benchmarks.report import print_table, save
from checks.editions import with_solutions
from checks.engine.batch import GradeOptions, grade
from checks.workshop.hub import HubSettings, WorkshopHost, configurable_http_proxy
from checks.workshop.image import build_singleuser_image
from checks.workshop.labs import Quotas
from checks.workshop.server import LabServer
from checks.workshop.simulate import LearnerRun, run_notebook_as_learner
from labs.cluster import lab_containers
from labs.engine import docker_client
from labs.errors import LabError
from labs.settings import load_settings

COURSE = Path(__file__).resolve().parents[1] / "notebooks"
LESSON = "00_welcome"


def quiet(_line: str) -> None:
    pass


def lesson() -> nbformat.NotebookNode:
    return with_solutions(nbformat.read(COURSE / f"{LESSON}.ipynb", as_version=4))


def cluster_memory_mib(client: docker.DockerClient, labs: list[str]) -> float:
    """Resident memory of the labs' containers now (docker stats)."""
    total = 0.0
    for name in labs:
        for container in lab_containers(client, name):
            stats = container.stats(stream=False)
            total += stats.get("memory_stats", {}).get("usage", 0) / 2**20
    return total


def run_class(server: LabServer, client: docker.DockerClient, learners: list[str]) -> list[LearnerRun]:
    """Every learner runs the lesson at once."""
    answers = {name: server.add_learner(name) for name in learners}

    def one(name: str) -> LearnerRun:
        answer = answers[name]
        return run_notebook_as_learner(client, name, Path(answer["folder"]), answer["network"], answer["token"],
                                       lesson(), cell_timeout_s=300, timeout_s=900)

    with ThreadPoolExecutor(max_workers=len(learners)) as pool:
        return list(pool.map(one, learners))


def capacity(client: docker.DockerClient, shared: bool, steps: list[int], folder: Path) -> dict[str, Any]:
    """N learners at once for each N in `steps`, until something gives."""
    quotas = Quotas.for_this_host({"idle_s": 3600.0})
    server = LabServer(folder / ("shared" if shared else "private"), quotas, None, client, quiet,
                       shared=("beijing",) if shared else ())
    server.start()
    rows: list[dict[str, Any]] = []
    gave = f"nothing up to {steps[-1]} learners"
    try:
        for round_number, count in enumerate(steps):
            names = [f"b{round_number}-{i}" for i in range(count)]
            sampler = MemorySampler(client, server)
            sampler.start()
            started = time.monotonic()
            try:
                runs = run_class(server, client, names)
            except LabError as exc:  # the lab server or Docker refused: this is what gave
                sampler.stop()
                gave = f"at {count} learners at once: {type(exc).__name__}: {str(exc)[:300]}"
                break
            sampler.stop()
            wall = time.monotonic() - started
            failed = [r for r in runs if not r.passed]
            passed = [r for r in runs if r.passed]
            learner_mib = statistics.mean(r.peak_memory_mib for r in runs)
            rows.append({"learners": count, "passed": len(passed), "wall_s": round(wall, 1),
                         "lab_start_median_s": round(statistics.median(r.lab_start_s or 0 for r in passed), 2)
                         if passed else None,
                         "learner_container_mib": round(learner_mib), "clusters_peak_mib": round(sampler.peak),
                         "per_learner_mib": round(learner_mib + sampler.peak / count)})
            for name in names:
                server.remove_learner(name)
            if failed:
                first = failed[0]
                gave = (f"{len(failed)} of {count} learners' runs failed at {count} at once; the first: "
                        f"{first.status} {list(first.errors)[:1]}")
                break
    finally:
        server.stop()
    return {"mode": "shared" if shared else "private", "rounds": rows, "what_gave": gave}


class MemorySampler:
    """The peak memory of every lab's containers while a round runs (every 2 s)."""

    def __init__(self, client: docker.DockerClient, server: LabServer) -> None:
        self.client = client
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            labs = [name for name in self.server.workshop.labs] or []
            shared = self.server.workshop.shared
            if shared is not None:
                labs.append(shared.lab.name)
            try:
                self.peak = max(self.peak, cluster_memory_mib(self.client, labs))
            except (docker.errors.APIError, ValueError):  # a container that went while it was read
                continue

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def ready_lab(client: docker.DockerClient, warm: int, learners: int, folder: Path) -> dict[str, Any]:
    """JupyterHub login to a running JupyterLab, then Lab.start in each learner's server."""
    settings = load_settings()
    image = build_singleuser_image(client, settings, quiet)
    hub = HubSettings(str(folder), image, "bench-password", (), "", configurable_http_proxy(settings, quiet),
                      port=18100, hub_port=18181, proxy_api_port=18101, class_view_port=18102)
    host = WorkshopHost(hub, Quotas.for_this_host({}), client, {"welcome": warm} if warm else None, log=quiet)
    host.start()
    try:
        if warm:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and host.lab_server is not None and \
                    host.lab_server.workshop.class_view()["pool"] != {"welcome": warm}:
                time.sleep(1)
        names = [f"r{warm}-{i}" for i in range(learners)]

        def one(name: str) -> tuple[float, float]:
            started = time.monotonic()
            with httpx.Client(base_url=host.settings.url, follow_redirects=True, timeout=60) as browser:
                browser.get("/hub/login")
                browser.post("/hub/login?next=", data={"username": name, "password": "bench-password",
                                                       "_xsrf": browser.cookies.get("_xsrf", path="/hub/")})
                while time.monotonic() - started < 180:
                    page = browser.get(f"/user/{name}/lab")
                    if page.status_code == 200 and "JupyterLab" in page.text:
                        break
                    time.sleep(0.5)
            login_s = time.monotonic() - started
            container = client.containers.get(f"geolab-learner-{name}")
            result = container.exec_run(["python", "-c", "import time; t = time.monotonic(); from labs import Lab, "
                                         "single; Lab.start(single('beijing'), name='welcome', progress=lambda _: "
                                         "None); print(time.monotonic() - t)"], user="10001")
            return login_s, float(result.output.decode().strip().splitlines()[-1])

        with ThreadPoolExecutor(max_workers=learners) as pool:
            results = list(pool.map(one, names))
    finally:
        host.stop()
    logins, starts = [r[0] for r in results], [r[1] for r in results]
    return {"warm": warm, "learners": learners, "login_to_jupyterlab_median_s": round(statistics.median(logins), 2),
            "lab_start_median_s": round(statistics.median(starts), 2), "lab_start_max_s": round(max(starts), 2),
            "login_to_ready_lab_median_s": round(statistics.median(a + b for a, b in results), 2)}


def grading(client: docker.DockerClient, submissions: int, folder: Path) -> dict[str, Any]:
    """A class's submissions (lesson 00 with solutions): through the lab server on shared clusters
    (simulated learners, the lab server's checks as the record), and by `geolab grade`."""
    server = LabServer(folder / "grading-shared", Quotas.for_this_host({}), None, client, quiet, shared=("beijing",))
    server.start()
    try:
        started = time.monotonic()
        runs = run_class(server, client, [f"g-{i}" for i in range(submissions)])
        shared_s = time.monotonic() - started
        shared_passed = sum(1 for r in runs if r.passed)
    finally:
        server.stop()
    root = folder / "submissions"
    for i in range(submissions):
        (root / f"learner-{i}").mkdir(parents=True, exist_ok=True)
        nbformat.write(lesson(), root / f"learner-{i}" / f"{LESSON}.ipynb")
    started = time.monotonic()
    graded = grade([root], folder / "gradebook", GradeOptions(cell_timeout_s=200, submission_timeout_s=600, jobs=2),
                   quiet)
    batch_s = time.monotonic() - started
    return {"submissions": submissions, "shared_clusters_s": round(shared_s, 1), "shared_passed": shared_passed,
            "one_lab_each_s": round(batch_s, 1), "one_lab_each_rows": len(graded)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--private-steps", default="2,4,8,12,16")
    parser.add_argument("--shared-steps", default="4,8,16,24,32")
    parser.add_argument("--only", choices=("capacity", "ready", "grading"))
    parser.add_argument("--modes", default="private,shared", help="capacity: private, shared or both")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_workshop runs as root (the workshop sets firewall rules on its networks).")
    client = docker_client()
    figures: dict[str, Any] = {}
    rows: list[tuple[str, float, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="geolab-bench-ws-") as scratch:
        folder = Path(scratch)
        run: Callable[[str], bool] = lambda part: args.only in (None, part)  # noqa: E731
        if run("capacity"):
            modes = [(False, args.private_steps), (True, args.shared_steps)]
            for shared, steps in [(s, p) for s, p in modes if ("shared" if s else "private") in args.modes]:
                result = capacity(client, shared, [int(s) for s in steps.split(",")], folder)
                figures[f"capacity_{result['mode']}"] = result
                print(result, flush=True)
                for row in result["rounds"]:
                    rows.append((f"{result['mode']}: {row['learners']} learners, passed", row["passed"], "", ""))
                    rows.append((f"{result['mode']}: {row['learners']} learners, wall time", row["wall_s"], "s", ""))
                    rows.append((f"{result['mode']}: {row['learners']} learners, memory per learner",
                                 row["per_learner_mib"], "MiB", ""))
                print(f"{result['mode']}: what gave: {result['what_gave']}", flush=True)
        if run("ready"):
            for warm in (0, 4):
                result = ready_lab(client, warm, 4, folder / f"hub-{warm}")
                figures[f"ready_lab_warm_{warm}"] = result
                print(result, flush=True)
                label = "warm pool" if warm else "no pool"
                rows.append((f"login to JupyterLab ({label}, 4 at once), median",
                             result["login_to_jupyterlab_median_s"], "s", ""))
                rows.append((f"Lab.start in the server ({label}), median", result["lab_start_median_s"], "s",
                             "a few seconds with the pool"))
                rows.append((f"login to a ready lab ({label}), median", result["login_to_ready_lab_median_s"], "s", ""))
        if run("grading"):
            result = grading(client, 8, folder)
            figures["grading"] = result
            print(result, flush=True)
            rows.append(("8 submissions on shared clusters", result["shared_clusters_s"], "s", ""))
            rows.append(("8 submissions, one lab each (geolab grade, 2 at a time)", result["one_lab_each_s"], "s", ""))
    print_table(rows)
    print(f"figures: {save('workshop', figures)}")


if __name__ == "__main__":
    main()
