from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from checks.notebooks import exercises, with_solutions

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_a_solution_that_parses(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    found = exercises(notebook)
    ids = [e.exercise_id for e in found]
    assert len(ids) == len(set(ids))
    solved = with_solutions(notebook)
    for exercise in found:
        compile(solved.cells[exercise.cell_index].source, exercise.exercise_id, "exec")
        assert solved.cells[exercise.cell_index].source != notebook.cells[exercise.cell_index].source


def test_learner_cells_do_not_contain_the_solution() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for exercise in exercises(notebook):
            assert exercise.solution not in notebook.cells[exercise.cell_index].source
