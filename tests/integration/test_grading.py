"""Batch grading on real clusters: full, zero and partial marks; tampering, an infinite loop and
broken JSON are recorded and never stop the batch; hidden checks count."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest

from checks.editions import build, exercise_cells, with_solutions
from checks.engine.batch import GradeOptions, grade, self_test
from checks.exercises import ALL
from checks.solutions import SOLUTIONS
from labs.course import course_notebooks
from tests.integration.conftest import lab_leftovers
from tests.leaks import leaks

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_replication_basics.ipynb"
HIDDEN = '''
from checks.engine.model import Case, Exercise, Outcome

def tenant_on_shanghai(lab):
    tenants = lab.admin("shanghai").list_tenants()
    return Outcome("geolab" in tenants, "tenant geolab on shanghai", f"tenants: {tenants}")

EXERCISES = [Exercise("01-basics/2", "01_replication_basics", "replicate the namespace both ways",
                      (Case("hidden: tenant on shanghai", tenant_on_shanghai, points=2, hidden=True),),
                      "")]
'''


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, pulsar_image: str) -> tuple[dict[str, dict[str, str]], Path]:
    root = tmp_path_factory.mktemp("submissions")
    folder = root / "01_replication_basics"  # the folder names the assignment; the notebooks cannot
    folder.mkdir()
    original = build(nbformat.read(NOTEBOOK, as_version=4), NOTEBOOK.stem, "graded")  # what learners hand in
    solved = with_solutions(original)
    write(solved, folder / "alice.ipynb")
    write(original, folder / "bob.ipynb")
    partial = nbformat.from_dict(original)
    first, index = next(iter(exercise_cells(original).items()))
    partial.cells[index].source = SOLUTIONS[first]
    write(partial, folder / "carol.ipynb")
    tampered = nbformat.from_dict(original)
    tampered.cells.append(nbformat.v4.new_code_cell("print('PASS 01-basics/1 PASS 01-basics/2')\npassed = True"))
    tampered.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASS\n")]
    write(tampered, folder / "dave.ipynb")
    (folder / "checks").mkdir()
    (folder / "checks" / "__init__.py").write_text("def check(*a, **k):\n    return True\n")
    looping = nbformat.from_dict(solved)
    looping.cells.insert(1, nbformat.v4.new_code_cell("while True:\n    pass"))
    write(looping, folder / "erin.ipynb")
    (folder / "frank.ipynb").write_text('{"cells": [ this is not json')
    hidden = tmp_path_factory.mktemp("hidden")
    (hidden / "extra.py").write_text(HIDDEN)
    out = tmp_path_factory.mktemp("out")
    lines: list[str] = []
    grade([root], out, GradeOptions(cell_timeout_s=45, submission_timeout_s=300, hidden_dir=hidden, jobs=2),
          lines.append)
    with (out / "gradebook.csv").open() as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    assert any("6/6" in line for line in lines) and any("[####" in line for line in lines)
    return rows, out


def test_solution_scores_full_marks_including_hidden_checks(batch: tuple[dict[str, dict[str, str]], Path]) -> None:
    rows, _ = batch
    assert rows["alice"]["total"] == "10" and rows["alice"]["max"] == "10"
    assert rows["alice"]["01-basics/1"] == "2" and rows["alice"]["01-basics/2"] == "6"
    assert rows["alice"]["01-basics/3"] == "2"  # the prediction, graded against what the clusters did


def test_untouched_scores_zero(batch: tuple[dict[str, dict[str, str]], Path]) -> None:
    rows, _ = batch
    assert rows["bob"]["total"] == "0"


def test_partial_solution_gets_partial_credit(batch: tuple[dict[str, dict[str, str]], Path]) -> None:
    rows, _ = batch
    assert rows["carol"]["01-basics/1"] == "2"
    assert rows["carol"]["01-basics/2"] == "0"


def test_fake_pass_output_and_edited_check_module_gain_nothing(batch: tuple[dict[str, dict[str, str]], Path]) -> None:
    rows, _ = batch
    assert rows["dave"]["total"] == "0"


def test_infinite_loop_and_broken_json_are_recorded(batch: tuple[dict[str, dict[str, str]], Path],
                                                     engine: object) -> None:
    rows, _ = batch
    assert rows["erin"]["status"] == "timeout" and rows["erin"]["total"] == "0"
    assert rows["frank"]["status"] in ("invalid-notebook", "unknown-notebook")
    assert "readable" in rows["frank"]["reason"] or "exercise" in rows["frank"]["reason"]
    assert len(rows) == 6, "every submission has a row"
    for index in range(1, 7):
        assert lab_leftovers(engine, f"grade{index}-basics") == ([], [])  # type: ignore[arg-type]


def test_feedback_names_expected_and_actual(batch: tuple[dict[str, dict[str, str]], Path]) -> None:
    _, out = batch
    text = (out / "feedback" / "bob.md").read_text(encoding="utf-8")
    assert "expected cluster shanghai registered in beijing" in text
    assert "Score: 0 / 10" in text
    # a learner's feedback names their own cases only: no hidden check leaks into it, and it is
    # plain Markdown a course team can publish (no HTML, no control characters)
    assert "hidden: tenant on shanghai" not in text
    assert not re.search(r"(?<!\\)[<>]", text) and not [c for c in text if ord(c) < 32 and c not in "\n\t"]


#: the English lessons CI grades with their solutions, and those it grades untouched. Every lesson's
#: solutions are graded in Chinese, whose code is the English lesson's, cell for cell
#: (tests/unit/test_lessons.py), and a case's key is its English name in either language; a stub holds
#: comments only, in every lesson and language (tests/unit/test_exercises.py). English: lesson 01 (also
#: graded above, with hidden checks, and by the hostile suite) and 04, the failover drill, whose timing is
#: the most sensitive; the three English submissions are one round of three jobs (06 and 08 made it two:
#: about 100 s more). An untouched lesson whose later cells wait for what never happens takes minutes
#: (06: 194 s, 07: 205 s), so CI grades two untouched, one in each language (a Chinese one's feedback says
#: what failed, in Chinese); `make self-test` grades every lesson of both languages, with solutions and
#: untouched (measured: English 30 of 30 in 1,315 s at --jobs 2, Chinese 30 of 30 in 939 s at --jobs 3).
ENGLISH = ["01_replication_basics", "04_failover"]
UNTOUCHED = ["04_failover"]
UNTOUCHED_ZH = ["01_replication_basics"]


def test_self_test_in_the_sandbox(tmp_path: Path, pulsar_image: str) -> None:
    """`geolab grade --self-test`, sandboxed like any submission: every notebook's reference solutions
    earn full marks on the grader's lab in the Chinese graded edition (and its self-paced edition of one
    notebook), two lessons' in the English one, and a graded edition left untouched (one lesson in each
    language) earns less, whatever its later cells do. A Chinese submission is graded and answered in
    Chinese, what it failed included."""
    lines: list[str] = []
    options = GradeOptions(cell_timeout_s=120, submission_timeout_s=400, jobs=3)
    graded_notebooks = {e.notebook for e in ALL.values()}
    chinese = sorted(p.stem for p in course_notebooks("zh") if p.stem in graded_notebooks)
    assert chinese, "no Chinese lesson with exercises is built (notebooks/zh): run `make notebooks`"
    paced = ["01_replication_basics" if "01_replication_basics" in chinese else chinese[0]]
    # three at a time (--jobs 3: a quarter faster than two on this 2-core machine, and every lesson still
    # earned full marks): each submission in its own sandbox with its own lab
    ok_en = self_test(None, tmp_path / "en", options, lines.append, only=ENGLISH, self_paced=[], untouched=UNTOUCHED)
    ok_zh = self_test(None, tmp_path / "zh", options, lines.append, self_paced=paced, untouched=UNTOUCHED_ZH,
                      lang="zh")
    rows = {}
    for lang in ("en", "zh"):
        with (tmp_path / lang / "gradebook.csv").open(encoding="utf-8") as handle:
            rows[lang] = list(csv.DictReader(handle))
    assert sorted(r["learner"] for r in rows["en"]) == sorted(
        [f"{n}__graded__solutions" for n in ENGLISH] + [f"{n}__graded__untouched" for n in UNTOUCHED])
    assert chinese == sorted(graded_notebooks), "every lesson with exercises has its Chinese edition"
    assert sorted(r["learner"] for r in rows["zh"]) == sorted(
        [f"{n}__zh__graded__solutions" for n in chinese] + [f"{n}__zh__self-paced__solutions" for n in paced]
        + [f"{n}__zh__graded__untouched" for n in UNTOUCHED_ZH])
    for row in rows["en"] + rows["zh"]:
        solved = row["learner"].endswith("__solutions")
        assert (row["total"] == row["max"]) == solved, row
    for row in rows["zh"]:  # its feedback is Chinese, with no English sentence in it
        text = (tmp_path / "zh" / "feedback" / f"{row['learner']}.md").read_text(encoding="utf-8")
        assert "得分" in text and not leaks([text]), leaks([text])
    assert ok_en and ok_zh, "\n".join(lines)
