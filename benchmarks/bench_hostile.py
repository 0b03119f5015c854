"""What a hostile submission costs the grading host: each attack of tests/hostile/ that floods the grader
or the disk is graded alone, beside the untouched notebook of its lesson, by `geolab grade` in a process
of its own: the grader's peak memory, the disk its lab's clusters used, the packets the firewall
dropped, and the score.

Run with `make bench` (after the others). Prints a table; the bounds are reported, never asserted
(tests/integration/test_hostile.py holds the grader to its bounds in CI).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from benchmarks.report import print_table, save
from tests.integration.test_hostile import ATTACKS, COURSE, GRADER, STORAGE_MIB, hostile

#: The attacks measured, and the lesson each is graded in.
MEASURED = ("control_channel_flood", "output_in_one_giant_message", "disk_flood", "host_listener_through_a_peer")


def grade_alone(name: str, notebook: nbformat.NotebookNode, assignment: str) -> dict[str, str]:
    """One submission, graded alone by `geolab grade` in its own process; its gradebook row and the
    grader's peak memory (MiB)."""
    with tempfile.TemporaryDirectory(prefix="geolab-bench-hostile-") as work:
        folder = Path(work) / "subs" / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{name}.ipynb")
        peak = Path(work) / "maxrss"
        subprocess.run([sys.executable, "-c", GRADER, str(peak), "grade", str(folder.parent), "--out",
                        str(Path(work) / "out"), "--cell-timeout", "60", "--timeout", "150",
                        "--storage-mib", str(STORAGE_MIB)], check=True, capture_output=True, timeout=900)
        with (Path(work) / "out" / "gradebook.csv").open(encoding="utf-8") as handle:
            row = next(csv.DictReader(handle))
        return {**row, "peak_mib": f"{int(peak.read_text()) / 1024:.0f}"}


def main() -> int:
    attacks = {a.name: a for a in ATTACKS}
    assignment = attacks[MEASURED[0]].assignment
    lesson = nbformat.read(COURSE / f"{assignment}.ipynb", as_version=4)
    rows = {"untouched": grade_alone("untouched", lesson, assignment)}
    for name in MEASURED:
        rows[name] = grade_alone(name, hostile(lesson, attacks[name].source), assignment)
    table: list[tuple[str, float, str, str]] = []
    for name, row in rows.items():
        table += [(f"{name}: grader peak memory", float(row["peak_mib"]), "MiB", "bounded: < 1536"),
                  (f"{name}: disk its lab used", float(row["disk_mib"] or 0), "MiB",
                   f"<= {STORAGE_MIB} a cluster"),
                  (f"{name}: packets dropped", float(row["dropped_packets"] or 0), "", "none arrive"),
                  (f"{name}: score", float(row["total"]), "points", f"<= untouched ({rows['untouched']['total']})")]
    print_table(table)
    save("hostile", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
