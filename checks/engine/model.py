"""Exercises, their check cases, and results: typed data, separate from how checks run.

A check case reads live cluster state (admin API, topic stats, probe messages with a deadline)
through an explicit `Lab` handle and returns an `Outcome`; it never reads notebook variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from labs.lab import Lab
from labs.topology import Topology


@dataclass(frozen=True)
class LabSpec:
    """The lab an assignment's notebook starts: what a graded run may ask the grader for."""

    topology: Topology
    name: str
    configure: bool = True


@dataclass(frozen=True)
class Outcome:
    """What one case found: pass or fail, in the learner's terms."""

    passed: bool
    expected: str
    actual: str


@dataclass(frozen=True)
class Case:
    """One checked fact of an exercise, worth `points`. `check(lab)` reads the clusters; a case with
    `needs_prediction` is called `check(lab, prediction)` with the learner's recorded `Prediction` (or None)."""

    name: str
    check: Callable[..., Outcome]
    points: float = 1.0
    hidden: bool = False
    needs_prediction: bool = False


@dataclass(frozen=True)
class Prediction:
    """What a learner predicted for a predict-then-observe exercise, and when (seconds since the
    epoch). The first prediction stands: the check runs the experiment only once one is recorded, so
    no prediction can follow what the check showed."""

    exercise_id: str
    answer: str
    at: float

    def _repr_html_(self) -> str:
        return (f"<p>🔮 <b>{escape(self.exercise_id)}</b>: your prediction is recorded: "
                f"<b>{escape(self.answer)}</b>. Now run the experiment, then the check.</p>")


@dataclass(frozen=True)
class Question:
    """The question of a predict-then-observe exercise: the learner records one of `choices` with
    `predict()`; `observe(lab)` runs the experiment on the live clusters and returns the choice that
    came true and what was seen (None as the choice when the clusters could not show it)."""

    prompt: str
    choices: tuple[str, ...]
    observe: Callable[[Lab], tuple[str | None, str]]

    def case(self, points: float = 2.0) -> Case:
        """The case that grades a prediction against what the clusters then did."""

        def check(lab: Lab, prediction: Prediction | None) -> Outcome:
            if prediction is None:
                return Outcome(False, "a prediction recorded with predict() before the check",
                               "no prediction recorded")
            observed, seen = self.observe(lab)
            expected = f"your prediction ({prediction.answer!r}) is what the clusters do"
            if observed is None:
                return Outcome(False, expected, f"the clusters could not show it: {seen}")
            return Outcome(observed == prediction.answer, expected, f"the clusters: {observed!r} ({seen})")

        return Case("your prediction matches what the clusters did", check, points, needs_prediction=True)


@dataclass(frozen=True)
class Exercise:
    """An exercise of a notebook, written once: its statement, starting stub, hint, cases (with their
    points) and reset. `checks.editions` builds the notebooks' exercise cells from it; its reference
    solution lives apart, in checks/solutions, so that a graded run's sandbox does not carry it.

    `givens`: names the notebook defines before the exercise that the solution may use, each with the
    expression the notebook assigns (``{"topic": 'lab.topic("payments")'}``); `solve()` evaluates them.
    `graded_at`: ``"end"`` grades the lab's state after the notebook ran; ``"check"`` grades the best
    `check()` the grader ran during the notebook (the state a later lesson step, such as a kill, changes).
    `question`: a predict-then-observe exercise; its answer is a `predict()` call, graded by
    `question.case()` against the experiment the check runs.
    """

    exercise_id: str
    notebook: str
    title: str
    cases: tuple[Case, ...]
    hint: str
    reset: Callable[[Lab], None] | None = None
    statement: str = ""
    stub: str = ""
    givens: Mapping[str, str] = field(default_factory=dict)
    graded_at: str = "end"
    question: Question | None = None

    @property
    def points(self) -> float:
        return sum(c.points for c in self.cases)


def predict_exercise(exercise_id: str, notebook: str, title: str, question: Question, hint: str,
                     statement: str) -> Exercise:
    """A predict-then-observe exercise: its one case grades the recorded prediction against what
    `question.observe` sees; graded at check time (the experiment runs on the clusters as they are then)."""
    return Exercise(exercise_id, notebook, title, (question.case(),), hint, statement=statement,
                    stub="# Your prediction, before the experiment (the first one you record stands):\n"
                         f'# predict("{exercise_id}", lab, "<copy one of the choices above>")\n',
                    graded_at="check", question=question)


@dataclass(frozen=True)
class CaseResult:
    name: str
    points: float
    earned: float
    passed: bool
    expected: str
    actual: str
    hidden: bool = False
    error: str | None = None


@dataclass(frozen=True)
class ExerciseResult:
    exercise_id: str
    title: str
    cases: tuple[CaseResult, ...]
    solved_by_solution: bool = False
    attempts: int = 1
    hint: str = ""
    show_hint: bool = False

    @property
    def points(self) -> float:
        return sum(c.points for c in self.cases)

    @property
    def earned(self) -> float:
        return 0.0 if self.solved_by_solution else sum(c.earned for c in self.cases)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def _repr_html_(self) -> str:
        head = "✅ all checks pass" if self.passed else "❌ not yet"
        if self.solved_by_solution:
            head += " (solved with the reference solution: no points)"
        rows = []
        for case in self.cases:
            mark = "✅" if case.passed else "❌"
            detail = (f"<br><small>seen: {escape(case.actual)}</small>" if case.passed else
                      f"<br><small>expected: {escape(case.expected)}<br>actual: {escape(case.actual)}</small>")
            rows.append(f"<tr><td>{mark}</td><td>{escape(case.name)}{detail}</td>"
                        f"<td>{case.earned:g}/{case.points:g}</td></tr>")
        hint = (f"<p>💡 <b>Hint</b> (after {self.attempts} tries): {escape(self.hint)}</p>"
                if self.show_hint and not self.passed else "")
        return (f"<div><p><b>{escape(self.exercise_id)}</b> · {escape(self.title)}: {head} — "
                f"{self.earned:g}/{self.points:g} points</p><table>{''.join(rows)}</table>{hint}</div>")


@dataclass(frozen=True)
class NotebookReport:
    """Every exercise of one notebook for one learner."""

    notebook: str
    results: tuple[ExerciseResult, ...]
    status: str = "ok"
    reason: str = ""
    seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def earned(self) -> float:
        return sum(r.earned for r in self.results)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'✅' if r.passed else ('🔑' if r.solved_by_solution else '⬜')}</td>"
            f"<td>{escape(r.exercise_id)}</td><td>{escape(r.title)}</td><td>{r.earned:g}/{r.points:g}</td></tr>"
            for r in self.results
        )
        return (f"<p><b>{escape(self.notebook)}</b>: {self.earned:g}/{self.points:g} points</p>"
                f"<table>{rows}</table>")


def result_to_wire(result: ExerciseResult) -> dict[str, Any]:
    """An exercise's result as plain JSON (for the control channel)."""
    return {**{k: v for k, v in asdict(result).items() if k != "cases"},
            "cases": [asdict(case) for case in result.cases]}


def result_from_wire(data: dict[str, Any]) -> ExerciseResult:
    cases = tuple(CaseResult(**{k: case[k] for k in CASE_FIELDS if k in case}) for case in data.get("cases", []))
    return ExerciseResult(str(data["exercise_id"]), str(data["title"]), cases, bool(data.get("solved_by_solution")),
                          int(data.get("attempts", 1)), str(data.get("hint", "")), bool(data.get("show_hint")))


CASE_FIELDS = ("name", "points", "earned", "passed", "expected", "actual", "hidden", "error")

