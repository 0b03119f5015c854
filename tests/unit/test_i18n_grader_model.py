"""The grader's model in two languages: a case is identified by its English key in every language and
shown in the reader's; a prediction may be copied in either language and is recorded as its English
key; a submission's feedback is written in the language it was graded in. Headless (no Pulsar)."""

from __future__ import annotations

from typing import Any

import pytest

import checks
from checks.engine import notebook
from checks.engine.batch import feedback, graded, submission_language
from checks.engine.model import (
    Case,
    CaseResult,
    Exercise,
    ExerciseResult,
    NotebookReport,
    Outcome,
    Question,
    result_from_wire,
    result_to_wire,
)
from checks.engine.runner import run_exercise
from checks.errors import GradingError
from checks.exercises import ALL
from labs.i18n import N_, Text, catalog, using
from tests.leaks import chinese

#: a message the catalog translates, standing in for a translated choice (the model reads the catalog)
TRANSLATED = "your prediction matches what the clusters did"




class Lab:
    """A stand-in lab: the cases below read nothing from it."""

    clusters = ("beijing",)
    backend = None

    def admin(self, _cluster: str) -> Any:
        raise AssertionError("no cluster is read here")


def test_a_case_keeps_its_english_key_and_shows_the_readers_language() -> None:
    case = Case(Text("{local} knows {peer}", local="beijing", peer="shanghai"), lambda lab: Outcome(True, "", ""))
    plain = Case(N_(TRANSLATED), lambda lab: Outcome(True, "", ""))
    with using("zh"):
        assert case.key == "beijing knows shanghai" and plain.key == TRANSLATED
        assert chinese(plain.label()) and plain.label() == catalog("zh").gettext(TRANSLATED)
    with using("en"):
        assert plain.label() == TRANSLATED


def test_a_result_carries_key_and_label_over_the_control_channel() -> None:
    exercise = Exercise("99-i18n/1", "99_i18n", N_(TRANSLATED),
                        (Case(N_(TRANSLATED), lambda lab: Outcome(False, "e", "a")),), N_(TRANSLATED))
    with using("zh"):
        result = run_exercise(exercise, Lab(), marks=False)  # type: ignore[arg-type]
    case = result.cases[0]
    assert case.name == TRANSLATED and chinese(case.label) and chinese(result.title) and chinese(result.hint)
    assert result_from_wire(result_to_wire(result)) == result
    with using("zh"):
        assert case.label in result._repr_html_() and "期望" in result._repr_html_()


def test_the_best_check_is_matched_by_key_whatever_language_each_result_was_shown_in() -> None:
    exercise = Exercise("99-i18n/2", "99_i18n", "t", (Case(N_(TRANSLATED), lambda lab: Outcome(True, "", "")),), "h",
                        graded_at="check")
    best = ExerciseResult("99-i18n/2", "t", (CaseResult(TRANSLATED, 1, 1, True, "e", "a", label="中文"),))
    end = ExerciseResult("99-i18n/2", "t", (CaseResult(TRANSLATED, 1, 0, False, "e", "a", label="English"),))

    class Record:
        pass

    record = Record()
    record.best = best  # type: ignore[attr-defined]
    assert graded(exercise, end, record).cases[0].passed  # type: ignore[arg-type]


@pytest.fixture
def question(monkeypatch: pytest.MonkeyPatch) -> Exercise:
    question = Question("which?", (TRANSLATED, "b"), lambda lab: (TRANSLATED, "seen"))
    found = Exercise("99-i18n/3", "99_i18n", "predict", (question.case(),), "think", graded_at="check",
                     question=question)
    monkeypatch.setitem(ALL, found.exercise_id, found)
    monkeypatch.setattr(notebook, "_predictions", {})
    return found


def test_a_prediction_copied_in_chinese_is_recorded_as_its_english_key(question: Exercise) -> None:
    with using("zh"):
        recorded = checks.predict("99-i18n/3", Lab(), catalog("zh").gettext(TRANSLATED))  # type: ignore[arg-type]
        assert recorded.answer == TRANSLATED
        assert catalog("zh").gettext(TRANSLATED) in recorded._repr_html_()
        result = run_exercise(question, Lab(), marks=False, prediction=recorded)  # type: ignore[arg-type]
    assert result.passed


def test_an_answer_in_no_language_is_refused_with_the_choices_as_shown(question: Exercise) -> None:
    with using("zh"), pytest.raises(GradingError) as refused:
        checks.predict("99-i18n/3", Lab(), "nothing")  # type: ignore[arg-type]
    assert catalog("zh").gettext(TRANSLATED) in str(refused.value) and chinese(str(refused.value))


@pytest.mark.parametrize(("metadata", "forced", "expected"), [
    ({"geolab": {"lang": "zh"}}, None, "zh"),
    ({"geolab": {"lang": "fr"}}, None, "en"),
    ({"geolab": {"lang": ["zh"]}}, None, "en"),
    ({"geolab": "zh"}, None, "en"),
    ({}, None, "en"),
    ({"geolab": {"lang": "zh"}}, "en", "en"),
])
def test_a_submissions_language_is_its_editions_unless_the_grader_says(metadata: dict[str, Any], forced: str | None,
                                                                         expected: str) -> None:
    import nbformat

    notebook_node = nbformat.v4.new_notebook(metadata=metadata)
    assert submission_language(notebook_node, forced) == expected


def test_feedback_is_written_in_the_submissions_language() -> None:
    result = ExerciseResult("99-i18n/1", "标题", (CaseResult(TRANSLATED, 1, 0, False, "期望", "实际", label="中文名"),
                                                 CaseResult("hidden one", 1, 1, True, "", "", hidden=True)))
    chinese_report = NotebookReport("01_replication_basics", (result,), extra={"lang": "zh"})
    english_report = NotebookReport("01_replication_basics", (result,), extra={"lang": "en"})
    zh, en = feedback("ada", chinese_report), feedback("ada", english_report)
    assert "得分" in zh and "中文名" in zh and "hidden one" not in zh
    assert "Score" in en and "expected" in en and not chinese(en.replace("标题", "").replace("中文名", "")
                                                                 .replace("期望", "").replace("实际", ""))
