"""The in-notebook check result, headless: cases, expected vs actual, hint after repeated failures."""

from __future__ import annotations

from typing import Any

import pytest

import checks
from checks.engine.model import Case, Exercise, Outcome
from checks.errors import GradingError
from checks.exercises import ALL
from labs.errors import AdminRefused


class NoGradingMarks:
    """Stands in for a lab whose grading namespace does not exist (no Pulsar behaviour involved)."""

    clusters = ("beijing",)
    backend = None  # a lab on this machine: checks run here, not on a grader's side

    def admin(self, _cluster: str) -> Any:
        return self

    def get_namespace_properties(self, namespace: str) -> dict[str, str]:
        raise AdminRefused("GET", f"http://127.0.0.1/admin/v2/namespaces/{namespace}/properties", 404, "not found")


state = {"ok": False}


@pytest.fixture
def exercise(monkeypatch: pytest.MonkeyPatch) -> Exercise:
    state["ok"] = False
    found = Exercise(
        "99-test/1", "99_test", "a test exercise",
        (Case("namespace replicates", lambda lab: Outcome(state["ok"], "replicates to [beijing, shanghai]",
                                                          "replicates to [beijing]"), points=2),
         Case("always fine", lambda lab: Outcome(True, "x", "x"))),
        "use set_namespace_clusters")
    monkeypatch.setitem(ALL, found.exercise_id, found)
    return found


def test_failed_case_shows_expected_and_actual_then_a_hint(exercise: Exercise) -> None:
    lab: Any = NoGradingMarks()
    first = checks.check("99-test/1", lab)
    assert (first.earned, first.points, first.passed) == (1, 3, False)
    html = first._repr_html_()
    assert "expected: replicates to [beijing, shanghai]" in html and "actual: replicates to [beijing]" in html
    assert "Hint" not in html
    second = checks.check("99-test/1", lab)
    assert "Hint" in second._repr_html_() and "set_namespace_clusters" in second._repr_html_()


def test_passing_exercise(exercise: Exercise) -> None:
    state["ok"] = True  # the learner did the exercise
    result = checks.check("99-test/1", NoGradingMarks())  # type: ignore[arg-type]
    assert result.passed and result.earned == 3
    assert "all checks pass" in result._repr_html_()


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(GradingError, match="01-basics/1"):
        checks.check("nope/1", NoGradingMarks())  # type: ignore[arg-type]
