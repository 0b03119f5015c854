"""Reference solutions of failover's exercises (never in the grading sandbox's image)."""

from __future__ import annotations

from checks.exercises.failover import SUBSCRIPTION
from labs.lab import Lab


def solve(lab: Lab) -> None:
    lab.create_replicated_subscription(lab.topic("payments"), SUBSCRIPTION)


SOLUTIONS = {"04-failover/1": solve}
