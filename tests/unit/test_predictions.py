"""Predict-then-observe exercises, headless: the prediction is validated, the first one stands, it is
graded against what `observe` reports (here a stand-in: no Pulsar behaviour is claimed), and a graded
run records it on the grader's side."""

from __future__ import annotations

from typing import Any

import pytest

import checks
from checks.engine import notebook
from checks.engine.model import Exercise, LabSpec, Prediction, Question
from checks.errors import GradingError
from checks.exercises import ALL
from checks.sandbox.trusted import GradedLabs
from labs.errors import AdminRefused, UsageError
from labs.topology import one_way

observed: dict[str, Any] = {"choice": "b", "calls": 0}


def observe(_lab: object) -> tuple[str | None, str]:
    observed["calls"] += 1
    return observed["choice"], "what the stand-in saw"


class NoGradingMarks:
    """A lab on this machine whose grading namespace does not exist."""

    clusters = ("beijing",)
    backend = None

    def admin(self, _cluster: str) -> Any:
        return self

    def get_namespace_properties(self, namespace: str) -> dict[str, str]:
        raise AdminRefused("GET", f"http://127.0.0.1/admin/v2/namespaces/{namespace}/properties", 404, "not found")


@pytest.fixture
def exercise(monkeypatch: pytest.MonkeyPatch) -> Exercise:
    observed.update(choice="b", calls=0)
    question = Question("which?", ("a", "b", "c"), observe)
    found = Exercise("99-predict/1", "99_predict", "predict", (question.case(),), "think", statement="?",
                     stub="# predict", graded_at="check", question=question)
    monkeypatch.setitem(ALL, found.exercise_id, found)
    monkeypatch.setattr(notebook, "_predictions", {})
    monkeypatch.setattr(notebook, "_best", {})
    return found


def test_an_answer_that_is_not_a_choice_is_refused_with_the_choices(exercise: Exercise) -> None:
    with pytest.raises(GradingError, match=r"expected one of \['a', 'b', 'c'\]"):
        checks.predict(exercise.exercise_id, NoGradingMarks(), "d")  # type: ignore[arg-type]


def test_an_exercise_without_a_question_takes_no_prediction(exercise: Exercise) -> None:
    with pytest.raises(GradingError, match="asks for no prediction"):
        checks.predict("01-basics/1", NoGradingMarks(), "a")  # type: ignore[arg-type]


def test_without_a_prediction_the_check_fails_and_runs_no_experiment(exercise: Exercise) -> None:
    result = checks.check(exercise.exercise_id, NoGradingMarks())  # type: ignore[arg-type]
    assert not result.passed and result.cases[0].actual == "no prediction recorded"
    assert observed["calls"] == 0  # nothing shown that a later prediction could copy


def test_the_first_prediction_stands_and_is_graded_against_the_observation(exercise: Exercise) -> None:
    lab: Any = NoGradingMarks()
    first = checks.predict(exercise.exercise_id, lab, "a")
    again = checks.predict(exercise.exercise_id, lab, "b")
    assert again == first and again.answer == "a"
    result = checks.check(exercise.exercise_id, lab)
    assert not result.passed and "'b'" in result.cases[0].actual
    observed["choice"] = "a"
    assert checks.check(exercise.exercise_id, lab).passed


def test_an_experiment_that_shows_nothing_fails_the_case(exercise: Exercise) -> None:
    lab: Any = NoGradingMarks()
    checks.predict(exercise.exercise_id, lab, "b")
    observed["choice"] = None
    result = checks.check(exercise.exercise_id, lab)
    assert not result.passed and "could not show it" in result.cases[0].actual


def test_a_prediction_cannot_be_reset(exercise: Exercise) -> None:
    with pytest.raises(GradingError, match="a prediction stands once made"):
        checks.reset(exercise.exercise_id, NoGradingMarks())  # type: ignore[arg-type]


def test_a_graded_run_records_the_first_prediction_on_the_grader_side(exercise: Exercise) -> None:
    labs = GradedLabs(LabSpec(one_way("beijing", "shanghai"), "dr"), "t-", "net", backend=None,  # type: ignore[arg-type]
                      notebooks=("99_predict",))
    first = labs.call("predict", {"exercise": exercise.exercise_id, "answer": "c"})
    labs.call("predict", {"exercise": exercise.exercise_id, "answer": "a"})
    record = labs.records[exercise.exercise_id]
    assert record.prediction == Prediction(exercise.exercise_id, "c", first["at"])
    with pytest.raises(UsageError, match="not a prediction"):
        labs.call("predict", {"exercise": exercise.exercise_id, "answer": "z"})
