"""The reference solutions, kept apart from the checks: the grading sandbox's kernel image carries
the checks (a learner may run them for feedback) but not this package, so a graded run has no
solution to call. `checks.solve()` uses it where it exists (a learner's own machine)."""

from __future__ import annotations

from collections.abc import Callable

from checks.solutions import basics, failover, full_mesh, one_way, operations
from labs.lab import Lab

SOLUTIONS: dict[str, Callable[[Lab], None]] = {
    exercise_id: solve for module in (basics, full_mesh, one_way, failover, operations)
    for exercise_id, solve in module.SOLUTIONS.items()
}
