"""Grading speed: checks against a running lab; one submission end to end; a batch of ten.

Run with `make bench`. Prints a table; targets are reported, never asserted.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from benchmarks.report import print_table, save
from checks.editions import with_solutions
from checks.engine.batch import GradeOptions, grade
from checks.engine.runner import run_exercise
from checks.exercises import LABS, for_notebook
from checks.sandbox.image import build_kernel_image
from checks.sandbox.run import Sandbox
from checks.solutions import SOLUTIONS
from labs.docker_backend import DockerBackend
from labs.lab import Lab, down
from labs.settings import load_settings
from labs.topology import full_mesh

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_replication_basics.ipynb"
BATCH = 10


def quiet(_line: str) -> None:
    pass


def sandbox_overhead() -> tuple[float, float, float]:
    """What the sandbox adds to a submission: its start (container, kernel, a first cell), its
    teardown, and the memory of a kernel that imported the lab's packages."""
    backend = DockerBackend(load_settings())
    image = build_kernel_image(backend.docker, backend.settings, quiet)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("1 + 1")]
    started = time.monotonic()
    box = Sandbox(LABS[NOTEBOOK.stem], "bench-sbx-", image, backend)
    box.run(notebook, 60, 120)
    start_s = time.monotonic() - started
    box.close()
    teardown_s = time.monotonic() - started - start_s
    heavy = nbformat.v4.new_notebook()
    heavy.cells = [nbformat.v4.new_code_cell("import checks, labs, plotly.graph_objects, pulsar\nimport time\n"
                                             "time.sleep(8)")]
    box = Sandbox(LABS[NOTEBOOK.stem], "bench-sbx-", image, backend)
    samples: list[float] = []

    def sample() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (box.provisioner is None or box.provisioner.container is None):
            time.sleep(0.2)
        time.sleep(6)  # inside the cell's sleep, after the imports
        stats = box.provisioner.container.stats(stream=False)  # type: ignore[union-attr]
        samples.append(stats["memory_stats"].get("usage", 0) / 2**20)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        box.run(heavy, 60, 120)
    finally:
        watcher.join(timeout=30)
        box.close()
    return start_s, teardown_s, max(samples, default=0.0)


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
        one = Path(folder) / "one" / NOTEBOOK.stem  # the folder names the assignment
        one.mkdir(parents=True)
        nbformat.write(solved, one / "learner.ipynb")
        started = time.monotonic()
        grade([one.parent], Path(folder) / "out-one", GradeOptions(), quiet)
        one_s = time.monotonic() - started
        many = Path(folder) / "many" / NOTEBOOK.stem
        many.mkdir(parents=True)
        for index in range(BATCH):
            nbformat.write(solved, many / f"learner{index:02d}.ipynb")
        started = time.monotonic()
        graded = grade([many.parent], Path(folder) / "out-many", GradeOptions(), quiet)
        batch_s = time.monotonic() - started
        full = sum(1 for g in graded if g.report.earned == g.report.points)
    start_s, teardown_s, memory_mib = sandbox_overhead()
    rows = [
        ("sandbox: container up and a first cell run", start_s, "s", ""),
        ("sandbox: teardown (container, network, folder)", teardown_s, "s", ""),
        ("sandbox: kernel container memory after imports", memory_mib, "MiB", "< 1024 (its limit)"),
        ("checks of 01_replication_basics on a running lab", checks_s, "s", ""),
        ("grade one submission (own lab, run, check, clean up)", one_s, "s", "< 60 s"),
        (f"grade a batch of {BATCH} submissions", batch_s, "s", "< 600 s"),
        (f"submissions of the batch with full marks (of {BATCH})", float(full), "", f"{BATCH}"),
    ]
    print_table(rows)
    save("grading", {"sandbox_start_s": start_s, "sandbox_teardown_s": teardown_s,
                     "sandbox_memory_mib": memory_mib, "checks_s": checks_s, "one_s": one_s, "batch_s": batch_s,
                     "batch_full_marks": full})
    return 0


if __name__ == "__main__":
    sys.exit(main())
