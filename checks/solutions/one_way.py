"""Reference solutions of one_way's exercises (never in the grading sandbox's image)."""

from __future__ import annotations

from checks.exercises.one_way import ALL, NAMESPACE
from labs.lab import Lab


def solve(lab: Lab) -> None:
    lab.admin("beijing").set_namespace_allowed_clusters(NAMESPACE, ALL)
    lab.admin("beijing").set_namespace_clusters(NAMESPACE, ALL)


SOLUTIONS = {"03-one-way/1": solve}
