"""One source per exercise: notebooks/ is what the build makes of it, the graded edition carries no
solution, the solutions run as the notebook would run them, and stubs leave the skill to the learner."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from checks.editions import build, exercise_cells, exercise_id, with_solutions
from checks.engine.batch import graded
from checks.engine.model import CaseResult, Exercise, ExerciseResult
from checks.errors import GradingError
from checks.exercises import ALL, for_notebook
from checks.sandbox.trusted import ExerciseRecord
from checks.solutions import SOLUTIONS
from labs.i18n import text_key

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
WITH_EXERCISES = [p for p in NOTEBOOKS if for_notebook(p.stem)]


def shape(notebook: nbformat.NotebookNode) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(c.cell_type, c.get("id", ""), c.source, dict(c.metadata)) for c in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_are_the_self_paced_build(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert shape(build(notebook, path.stem, "self-paced")) == shape(notebook), "run `make notebooks`"


def test_every_exercise_has_one_place_and_one_solution() -> None:
    placed = [e for p in WITH_EXERCISES for e in exercise_cells(nbformat.read(p, as_version=4))]
    assert sorted(placed) == sorted(ALL) == sorted(SOLUTIONS)


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_graded_edition_carries_no_solution(path: Path) -> None:
    graded_edition = build(nbformat.read(path, as_version=4), path.stem, "graded")
    assert graded_edition.metadata["geolab"]["edition"] == "graded"
    text = "\n".join(c.source for c in graded_edition.cells)
    for exercise in for_notebook(path.stem):
        assert SOLUTIONS[exercise.exercise_id].strip() not in text
    assert not [c for c in graded_edition.cells if "solution" in c.metadata.get("tags", [])]
    # the same lesson otherwise: every other cell is kept, in order
    kept = [c.source for c in nbformat.read(path, as_version=4).cells if "solution" not in c.metadata.get("tags", [])]
    assert [c.source for c in graded_edition.cells] == kept


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_solutions_fill_the_exercise_cells_of_either_edition(path: Path) -> None:
    self_paced = nbformat.read(path, as_version=4)
    for notebook in (self_paced, build(self_paced, path.stem, "graded")):
        solved = with_solutions(notebook)
        for exercise, index in exercise_cells(notebook).items():
            compile(solved.cells[index].source, exercise, "exec")
            assert solved.cells[index].source == SOLUTIONS[exercise].rstrip("\n")
            assert notebook.cells[index].source != solved.cells[index].source


def skill_names(code: str) -> set[str]:
    """What a solution shows the learner: the admin verbs it calls and the keywords it passes."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            names |= {k.arg for k in node.keywords if k.arg}
            if isinstance(node.func, ast.Attribute) and "admin" in ast.unparse(node.func.value):
                names.add(node.func.attr)
    return names


@pytest.mark.parametrize("exercise_id", sorted(ALL))
def test_stub_leaves_the_skill_to_the_learner(exercise_id: str) -> None:
    exercise = ALL[exercise_id]
    stub = text_key(exercise.stub)
    named = {name for name in skill_names(SOLUTIONS[exercise_id]) if name in stub}
    assert not named, f"the stub of {exercise_id} names {named}"
    assert exercise.statement and exercise.hint and stub.strip()


def test_build_refuses_a_notebook_that_does_not_match_its_exercises() -> None:
    notebook = nbformat.v4.new_notebook()
    with pytest.raises(GradingError, match="have no cells"):
        build(notebook, "01_replication_basics", "self-paced")
    stray = nbformat.v4.new_code_cell("")
    stray.metadata = {"geolab": {"exercise": "99-none/1"}}
    notebook.cells = [stray]
    with pytest.raises(GradingError, match="no exercise source"):
        build(notebook, "00_welcome", "self-paced")
    with pytest.raises(GradingError, match="expected one of"):
        build(nbformat.v4.new_notebook(), "00_welcome", "teacher")


def test_build_refuses_an_exercise_whose_givens_the_notebook_never_sets() -> None:
    notebook = nbformat.read(next(p for p in NOTEBOOKS if p.stem == "04_failover"), as_version=4)
    notebook.cells = [c for c in notebook.cells if c.source != 'topic = lab.topic("payments")']
    with pytest.raises(GradingError, match="topic = "):
        build(notebook, "04_failover", "graded")


def test_built_cells_belong_to_their_exercise() -> None:
    for path in WITH_EXERCISES:
        built = build(nbformat.read(path, as_version=4), path.stem, "graded")
        owners = [exercise_id(c) for c in built.cells if exercise_id(c)]
        assert owners == sorted(owners, key=owners.index)  # each exercise's cells stay together


def case(name: str, passed: bool) -> CaseResult:
    return CaseResult(name, 1.0, 1.0 if passed else 0.0, passed, "e", "a")


def test_an_exercise_graded_at_check_time_keeps_what_the_best_check_saw() -> None:
    exercise = Exercise("x/1", "nb", "t", (), "", graded_at="check")
    end = ExerciseResult("x/1", "t", (case("flag", False), case("follows", False), case("extra", True)))
    record = ExerciseRecord(best=ExerciseResult("x/1", "t", (case("flag", True), case("follows", False))))
    result = graded(exercise, end, record)
    assert [c.passed for c in result.cases] == [True, False, True]
    assert graded(Exercise("x/1", "nb", "t", (), ""), end, record) == end  # graded at the end: the end state
    assert graded(exercise, end, None) == end  # never checked: the end state
