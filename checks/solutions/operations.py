"""Reference solutions of operations's exercises (never in the grading sandbox's image)."""

from __future__ import annotations

from checks.exercises.operations import NAMESPACE
from labs.lab import Lab


def solve_throttle(lab: Lab) -> None:
    lab.admin("beijing").set_replicator_dispatch_rate(NAMESPACE, 5)


def solve_local(lab: Lab) -> None:
    lab.admin("beijing").create_topic(lab.topic("audit-local"))
    lab.admin("beijing").set_topic_replication_clusters(lab.topic("audit-local"), ["beijing"])


SOLUTIONS = {"05-ops/1": solve_throttle, "05-ops/2": solve_local}
