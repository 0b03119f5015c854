"""Learner notebooks as data: their exercise cells and the reference solutions kept beside them.

An exercise is a code cell tagged ``exercise`` whose metadata names it (``geolab.exercise``); its
reference solution is a markdown cell tagged ``solution`` with the same name, holding one fenced
Python block inside a collapsed ``<details>``. Nothing here executes code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

from checks.errors import GradingError

FENCE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


@dataclass(frozen=True)
class Exercise:
    exercise_id: str
    cell_index: int
    solution: str


def _exercise_id(cell: nbformat.NotebookNode) -> str | None:
    geolab = cell.get("metadata", {}).get("geolab", {})
    value = geolab.get("exercise") if isinstance(geolab, dict) else None
    return str(value) if value else None


def exercises(notebook: nbformat.NotebookNode) -> list[Exercise]:
    """The notebook's exercises in order, each with its reference solution.

    Raises:
        GradingError: an exercise without exactly one solution block.
    """
    solutions: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and "solution" in cell.get("metadata", {}).get("tags", []):
            exercise_id = _exercise_id(cell)
            blocks = FENCE.findall(cell.source)
            if exercise_id is None or len(blocks) != 1:
                raise GradingError(f"Solution cell {cell.source[:60]!r} needs a geolab.exercise id and one python "
                                   "block; expected both. Fix the notebook's solution cell.")
            solutions[exercise_id] = blocks[0]
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "exercise" in cell.get("metadata", {}).get("tags", []):
            exercise_id = _exercise_id(cell)
            if exercise_id is None or exercise_id not in solutions:
                raise GradingError(f"Exercise cell {index} ({exercise_id}) has no reference solution; expected a "
                                   "solution cell tagged 'solution' with the same geolab.exercise id.")
            found.append(Exercise(exercise_id, index, solutions[exercise_id]))
    return found


def with_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook whose exercise cells hold the reference solutions."""
    solved = nbformat.from_dict(notebook)
    for exercise in exercises(notebook):
        solved.cells[exercise.cell_index].source = exercise.solution
    return solved
