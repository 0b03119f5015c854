"""Every notebook of the self-paced edition runs top to bottom, unattended, against real clusters,
each exercise cell calling `solve()` (the reference solution, run as the notebook shows it, and
recorded as solved-by-solution); run times are printed, speed targets live in benchmarks/. The
solutions typed into the cells are graded, in both editions, by the sandboxed self-test."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from checks.editions import exercise_cells, with_solve_calls
from checks.engine.runner import run_exercise
from checks.exercises import for_notebook
from labs.cluster import lab_names, remove_lab
from labs.engine import docker_client
from labs.lab import Lab

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def test_the_course_has_its_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_unattended(path: Path, pulsar_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"nb{path.stem[:2]}-"
    monkeypatch.setenv("GEOLAB_LAB_PREFIX", prefix)  # the kernel inherits these
    monkeypatch.setenv("GEOLAB_KEEP_LABS", "1")  # lab.stop() keeps the clusters for the checks below
    notebook = with_solve_calls(nbformat.read(path, as_version=4))
    for exercise_id, index in exercise_cells(notebook).items():  # solve() passes every visible case, there and then
        notebook.cells[index].source = notebook.cells[index].source.replace(
            f'solve("{exercise_id}", lab)', f'_solved = solve("{exercise_id}", lab)\n'
            "assert _solved.passed, [(c.name, c.actual) for c in _solved.cases if not c.passed]")
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    client.execute()
    took = time.monotonic() - started
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    print(f"{path.stem}: {took:.0f} s")
    # the reference solutions pass on the clusters the notebook left behind
    client = docker_client()
    names = [n for n in lab_names(client) if n.startswith(prefix)]
    try:
        exercises = for_notebook(path.stem)
        if exercises:
            assert len(names) == 1, names
            lab = Lab.attach(names[0])
            # graded on the state the notebook left (those graded at check time passed in their cell above)
            results = [run_exercise(e, lab) for e in exercises if e.graded_at == "end"]
            failed = [(r.exercise_id, c.name, c.actual) for r in results for c in r.cases if not c.passed]
            assert not failed
            # solve() was recorded: the reference solution earns no points
            assert [r.exercise_id for r in results if not r.solved_by_solution] == []
    finally:
        for name in names:
            remove_lab(client, name)
