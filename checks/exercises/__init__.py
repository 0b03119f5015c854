"""The exercises of every notebook, by id (``"03-one-way/1"``)."""

from __future__ import annotations

from checks.engine.model import Exercise, LabSpec
from checks.exercises import basics, disaster, failover, full_mesh, one_way, operations, stuck, tdmq, topics, welcome

MODULES = (welcome, basics, full_mesh, one_way, failover, operations, disaster, stuck, topics, tdmq)  # in course order

ALL: dict[str, Exercise] = {exercise.exercise_id: exercise for module in MODULES for exercise in module.EXERCISES}


#: The lab each notebook with exercises starts (a graded run may start that one and no other).
LABS: dict[str, LabSpec] = {
    module.NOTEBOOK: module.LAB for module in MODULES
}


def for_notebook(notebook: str) -> list[Exercise]:
    """The exercises of a notebook, by its file stem (``"03_one_way"``), in order."""
    return [e for e in ALL.values() if e.notebook == notebook]
