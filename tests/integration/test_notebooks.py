"""Every notebook of the self-paced edition runs top to bottom, unattended, against real clusters,
two at a time, each exercise cell calling `solve()` (the reference solution, run as the notebook shows it, and
recorded as solved-by-solution); run times are printed, speed targets live in benchmarks/. The
solutions typed into the cells are graded, in both editions, by the sandboxed self-test.

A lesson runs in its Chinese edition (notebooks/zh, with GEOLAB_LANG=zh) where one is built: its code
is the English lesson's, cell for cell (a unit test holds them equal, and the self-test runs the
English code), so this run proves what only the Chinese edition adds: every output a Chinese reader
sees is Chinese (tests/leaks.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from checks.editions import exercise_cells, with_solve_calls
from checks.engine.runner import run_exercise
from checks.exercises import for_notebook
from labs.cluster import lab_names, remove_lab
from labs.engine import docker_client
from labs.lab import Lab
from tests.leaks import leaks, text_of_html

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
#: each lesson once: its Chinese edition where it is built, else the English one
NOTEBOOKS = sorted((COURSE / "zh" / p.name if (COURSE / "zh" / p.name).exists() else p
                    for p in COURSE.glob("*.ipynb")), key=lambda p: p.name)
CELL_TIMEOUT_S = 300
#: Notebooks run at once, each with its own kernel and lab: three give a quarter more throughput than two
#: on this 2-core, 24 GiB machine (the self-test of 30 submissions: 939 s at three, 1,315 s at two), since
#: most of a notebook's time is waiting on clusters.
PARALLEL = 3


def language_of(path: Path) -> str:
    return "zh" if path.parent.name == "zh" else "en"


def test_the_course_has_its_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"]


@dataclass(frozen=True)
class NotebookRun:
    """What one unattended run of a notebook left: its errors, and the cases that failed afterwards."""

    took_s: float
    errors: list[dict[str, Any]]
    failed: list[tuple[str, str, str]]
    labs: list[str]
    unsolved: list[str]
    english: list[str]  # a Chinese edition's outputs with English in them


def run_notebook(path: Path) -> NotebookRun:
    """Run `path` with solve() in each exercise cell in a kernel of its own (its labs named with its own
    prefix), then grade the exercises graded at the end on the clusters it left, and remove them."""
    prefix = f"nb{path.stem[:2]}-"
    # the kernel's environment: its labs' prefix, and lab.stop() keeping the clusters for the checks below
    env = {**os.environ, "GEOLAB_LAB_PREFIX": prefix, "GEOLAB_KEEP_LABS": "1", "GEOLAB_LANG": language_of(path)}
    notebook = with_solve_calls(nbformat.read(path, as_version=4))
    for exercise_id, index in exercise_cells(notebook).items():  # solve() passes every visible case, there and then
        notebook.cells[index].source = notebook.cells[index].source.replace(
            f'solve("{exercise_id}", lab)', f'_solved = solve("{exercise_id}", lab)\n'
            "assert _solved.passed, [(c.name, c.actual) for c in _solved.cases if not c.passed]")
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    try:
        client.execute(env=env)
    except CellExecutionError:
        pass  # the error is in the cell's outputs, read below
    took = time.monotonic() - started
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    english = leaks(shown(notebook)) if language_of(path) == "zh" else []
    docker = docker_client()
    names = [n for n in lab_names(docker) if n.startswith(prefix)]
    failed: list[tuple[str, str, str]] = []
    unsolved: list[str] = []
    try:
        exercises = for_notebook(path.stem)
        if exercises and not errors and len(names) == 1:
            lab = Lab.attach(names[0])
            # graded on the state the notebook left (those graded at check time passed in their cell above)
            results = [run_exercise(e, lab) for e in exercises if e.graded_at == "end"]
            failed = [(r.exercise_id, c.name, c.actual) for r in results for c in r.cases if not c.passed]
            # solve() was recorded: the reference solution earns no points
            unsolved = [r.exercise_id for r in results if not r.solved_by_solution]
    finally:
        for name in names:
            remove_lab(docker, name)
    return NotebookRun(took, errors, failed, names, unsolved, english)


def shown(notebook: nbformat.NotebookNode) -> list[str]:
    """What the notebook's outputs show a reader: streams, plain text, HTML as text, errors."""
    texts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream":
                texts.append(str(output.get("text", "")))
            elif output.get("output_type") == "error":
                texts.append(str(output.get("evalue", "")))
            else:
                data = output.get("data", {})
                if "text/html" in data:
                    texts.append(text_of_html(str(data["text/html"])))
                elif "text/plain" in data and "application/vnd.jupyter.widget-view+json" not in data:
                    texts.append(str(data["text/plain"]))
    return texts


@pytest.fixture(scope="module")
def notebook_runs(request: pytest.FixtureRequest, pulsar_image: str) -> Iterator[dict[str, Future[NotebookRun]]]:
    """Every notebook this session's tests ask for (all, unless `-k` picked some), PARALLEL at a time (each
    with its own kernel and lab), started once for this module's tests."""
    wanted = {item.callspec.params["path"] for item in request.session.items
              if hasattr(item, "callspec") and isinstance(item.callspec.params.get("path"), Path)}
    pool = ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="notebook")
    runs = {path.stem: pool.submit(run_notebook, path) for path in NOTEBOOKS if path in wanted}
    try:
        yield runs
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_unattended(path: Path, notebook_runs: dict[str, Future[NotebookRun]]) -> None:
    run = notebook_runs[path.stem].result()
    print(f"{path.stem}: {run.took_s:.0f} s")
    assert not run.errors, [f"{e.get('ename')}: {e.get('evalue')}" for e in run.errors]
    assert not run.english, f"{path}: English reached a Chinese reader:\n" + "\n".join(run.english)
    if for_notebook(path.stem):
        assert len(run.labs) == 1, run.labs
        assert not run.failed
        assert run.unsolved == []
