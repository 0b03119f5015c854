"""The reference solutions, kept apart from the checks: the grading sandbox's kernel image carries
the checks (a learner may run them for feedback) but not this package, so a graded run has no
solution to call. Each is the code a learner would write in the exercise's cell, kept once: the
self-paced edition shows it collapsed, `checks.solve()` runs it (on a learner's own machine), and the
self-test puts it into both editions' exercise cells."""

from __future__ import annotations

from checks.solutions import basics, disaster, failover, full_mesh, one_way, operations, stuck, tdmq, topics, welcome

SOLUTIONS: dict[str, str] = {
    exercise_id: code for module in (welcome, basics, full_mesh, one_way, failover, operations, disaster, stuck, topics,
                                     tdmq)
    for exercise_id, code in module.SOLUTIONS.items()
}
