"""Grading speed: checks against a running lab; one submission end to end; a batch of ten.

Run with `make bench`. Prints a table; targets are reported, never asserted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat

from benchmarks.report import print_table, save
from checks.engine.batch import GradeOptions, grade
from checks.engine.runner import run_exercise
from checks.exercises import for_notebook
from checks.notebooks import with_solutions
from checks.solutions import SOLUTIONS
from labs.lab import Lab, down
from labs.topology import full_mesh

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_replication_basics.ipynb"
BATCH = 10


def quiet(_line: str) -> None:
    pass


def main() -> int:
    down("bench-grade", progress=quiet)
    lab = Lab.start(full_mesh("beijing", "shanghai", config_store="independent"), name="bench-grade",
                    progress=quiet, configure=False)
    try:
        exercises = for_notebook(NOTEBOOK.stem)
        for exercise in exercises:
            SOLUTIONS[exercise.exercise_id](lab)
        started = time.monotonic()
        results = [run_exercise(e, lab) for e in exercises]
        checks_s = time.monotonic() - started
        assert all(r.passed for r in results), [r for r in results if not r.passed]
    finally:
        lab.stop(progress=quiet)
    with tempfile.TemporaryDirectory() as folder:
        solved = with_solutions(nbformat.read(NOTEBOOK, as_version=4))
        one = Path(folder) / "one"
        one.mkdir()
        nbformat.write(solved, one / "learner.ipynb")
        started = time.monotonic()
        grade([one], Path(folder) / "out-one", GradeOptions(), quiet)
        one_s = time.monotonic() - started
        many = Path(folder) / "many"
        many.mkdir()
        for index in range(BATCH):
            nbformat.write(solved, many / f"learner{index:02d}.ipynb")
        started = time.monotonic()
        graded = grade([many], Path(folder) / "out-many", GradeOptions(), quiet)
        batch_s = time.monotonic() - started
        full = sum(1 for g in graded if g.report.earned == g.report.points)
    rows = [
        ("checks of 01_replication_basics on a running lab", checks_s, "s", ""),
        ("grade one submission (own lab, run, check, clean up)", one_s, "s", "< 60 s"),
        (f"grade a batch of {BATCH} submissions", batch_s, "s", "< 600 s"),
        (f"submissions of the batch with full marks (of {BATCH})", float(full), "", f"{BATCH}"),
    ]
    print_table(rows)
    save("grading", {"checks_s": checks_s, "one_s": one_s, "batch_s": batch_s, "batch_full_marks": full})
    return 0


if __name__ == "__main__":
    sys.exit(main())
