"""The failover drill, twenty times in a row on one failover lab: messages lost must be 0 in every
run; duplicates are counted. Each run is what notebook 04 does: a replicated subscription, an
application producing and consuming through an `AutoClusterFailover` client, the active cluster
killed (SIGKILL), the consumer resuming on the standby; then the active cluster comes back for the
next run.

Run with `make failover-drills` (the image must be present). Prints one row per run and writes
benchmarks/results/failover_drills.json. Not part of `make test`: it takes about ten minutes.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import asdict, dataclass

from benchmarks.report import save
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import failover
from labs.waiting import wait_for

RUNS = 20
ACTIVE, STANDBY = "beijing", "shanghai"


@dataclass(frozen=True)
class Run:
    run: int
    sent: int
    acked_before: int
    lost: int
    duplicates: int
    resumed_at: int | None
    caught_up_s: float | None
    standby_alone_complete: bool
    client_on_standby: bool


def drill_once(lab: Lab, run: int) -> Run:
    topic = lab.topic(f"drill-{run}-{uuid.uuid4().hex[:6]}")
    subscription = "billing"
    lab.create_replicated_subscription(topic, subscription)  # as notebook 04 does
    drill = lab.failover_drill(topic, subscription)
    try:
        drill.run_traffic(messages=200, unconsumed=20)
        lab.kill(ACTIVE)
        drill.mark_failure()
        alone = drill.receive_rest(timeout_s=60)
        on_standby = drill.client.get_service_info().service_url == lab.endpoints[STANDBY].service_url
        if not alone:  # confirmed but not yet replicated: they wait in the active cluster's storage
            lab.start_cluster(ACTIVE)
            drill.receive_rest(timeout_s=120)
        report = drill.report()
    finally:
        drill.close()
        lab.start_cluster(ACTIVE)
        lab.probe(timeout_s=120)  # both directions replicate again before the next run
    return Run(run, report.sent, report.acked_before_failover, len(report.lost), report.duplicates,
               report.resumed_at, None if report.caught_up_s is None else round(report.caught_up_s, 1),
               alone, on_standby)


def main() -> int:
    lab = Lab.start(failover(ACTIVE, STANDBY), name="failover-drills", progress=lambda _line: None)
    runs: list[Run] = []
    try:
        for run in range(1, RUNS + 1):
            wait_for(lambda: lab.admin(ACTIVE).healthcheck(), what=f"{ACTIVE} healthy before run {run}",
                     timeout_s=120, tolerate=(AdminError,))
            result = drill_once(lab, run)
            runs.append(result)
            print(f"run {result.run:>2}: sent {result.sent}, acked before {result.acked_before}, lost {result.lost}, "
                  f"duplicates {result.duplicates}, resumed at {result.resumed_at}, caught up {result.caught_up_s} s, "
                  f"standby alone complete: {result.standby_alone_complete}", flush=True)
    finally:
        lab.stop(progress=lambda _line: None)
    lost = sum(r.lost for r in runs)
    duplicates = [r.duplicates for r in runs]
    print(f"\n{len(runs)} runs: {lost} messages lost in all; duplicates per run min {min(duplicates)}, "
          f"max {max(duplicates)}, mean {sum(duplicates) / len(duplicates):.1f}; the standby alone delivered "
          f"everything in {sum(r.standby_alone_complete for r in runs)} of {len(runs)} runs")
    save("failover_drills", {"runs": [asdict(r) for r in runs], "lost": lost})
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
