"""Exercises, their check cases, and results: typed data, separate from how checks run.

A check case reads live cluster state (admin API, topic stats, probe messages with a deadline)
through an explicit `Lab` handle and returns an `Outcome`; it never reads notebook variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from labs.i18n import LOCALES, N_, Text, _, catalog, render, text_key
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
    `needs_prediction` is called `check(lab, prediction)` with the learner's recorded `Prediction` (or None).

    `name` is an `N_()`-marked text or a `Text`: its English form (`key`) identifies the case in records,
    on the control channel and in the gradebook, in every language; `label()` shows it to the reader."""

    name: str | Text
    check: Callable[..., Outcome]
    points: float = 1.0
    hidden: bool = False
    needs_prediction: bool = False

    @property
    def key(self) -> str:
        return text_key(self.name)

    def label(self) -> str:
        return render(self.name)


@dataclass(frozen=True)
class Prediction:
    """What a learner predicted for a predict-then-observe exercise, and when (seconds since the
    epoch). The first prediction stands: the check runs the experiment only once one is recorded, so
    no prediction can follow what the check showed."""

    exercise_id: str
    answer: str
    at: float

    def _repr_html_(self) -> str:
        return "<p>🔮 " + _("<b>{exercise}</b>: your prediction is recorded: <b>{answer}</b>. Now run the experiment, "
                           "then the check.").format(exercise=escape(self.exercise_id),
                                                     answer=escape(_(self.answer))) + "</p>"


@dataclass(frozen=True)
class Observation:
    """What a predict-then-observe experiment showed: the choice that came true (None when the clusters
    could not show it), what was seen, and whether it ran on a reference lab of the trusted side's own,
    where no learner's code runs (graded runs and workshops), or on the learner's own lab (a laptop)."""

    answer: str | None
    seen: str
    reference: bool = False


@dataclass(frozen=True)
class Question:
    """The question of a predict-then-observe exercise: the learner records one of `choices` with
    `predict()`; `observe(lab)` runs the experiment on live clusters and returns the choice that came
    true and what was seen (None as the choice when the clusters could not show it).

    A prediction is about Pulsar, not about one lab: where a grade counts (a graded run, a workshop),
    the experiment runs on a reference lab of the trusted side's own (`checks.sandbox.reference`), never
    on the learner's, whose state their code controls.

    `prompt` and `choices` are `N_()`-marked English texts. A choice's English text is its key: a
    learner may copy it in either language (`key_of`), and the key is what is recorded and graded."""

    prompt: str
    choices: tuple[str, ...]
    observe: Callable[[Lab], tuple[str | None, str]]

    def key_of(self, answer: str) -> str | None:
        """The choice `answer` names, in English or in any language of the course; None when none."""
        wanted = " ".join(answer.split())
        for choice in self.choices:
            if wanted == choice or any(wanted == " ".join(catalog(lang).gettext(choice).split())
                                       for lang in LOCALES):
                return choice
        return None

    def shown_choices(self) -> list[str]:
        """The choices as the reader sees them (the current language)."""
        return [_(choice) for choice in self.choices]

    def observed_on(self, lab: Lab) -> Observation:
        """The experiment, run on `lab`."""
        answer, seen = self.observe(lab)
        return Observation(answer, seen)

    def grade(self, prediction: Prediction | None, observation: Callable[[], Observation]) -> Outcome:
        """A prediction against what an experiment showed; `observation` runs (or recalls) it, only once a
        prediction is recorded."""
        if prediction is None:
            return Outcome(False, _("a prediction recorded with predict() before the check"),
                           _("no prediction recorded"))
        observed = observation()
        expected = _("your prediction ({answer!r}) is what the clusters do").format(answer=_(prediction.answer))
        if observed.answer is None:
            return Outcome(False, expected, _("the clusters could not show it: {seen}").format(seen=observed.seen))
        if observed.reference:
            actual = _("the grader's reference clusters, where no code of yours runs: {observed!r} ({seen})")
        else:
            actual = _("the clusters: {observed!r} ({seen})")
        return Outcome(observed.answer == prediction.answer, expected,
                       actual.format(observed=_(observed.answer), seen=observed.seen))

    def case(self, points: float = 2.0) -> Case:
        """The case that grades a prediction against what the clusters then did (the learner's own lab
        here; `checks.engine.runner.run_exercise` swaps in a reference lab's observation where one is given)."""

        def check(lab: Lab, prediction: Prediction | None) -> Outcome:
            return self.grade(prediction, lambda: self.observed_on(lab))

        return Case(N_("your prediction matches what the clusters did"), check, points, needs_prediction=True)


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

    Texts: `title`, `statement`, `hint` and `stub` are English, marked with `N_()` (or a `Text`), and
    shown in the reader's language where they are shown (`render`): the notebooks' editions, results.
    """

    exercise_id: str
    notebook: str
    title: str
    cases: tuple[Case, ...]
    hint: str
    reset: Callable[[Lab], None] | None = None
    statement: str = ""
    stub: str | Text = ""
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
                    stub=Text("# Your prediction, before the experiment (the first one you record stands):\n"
                              '# predict("{exercise_id}", lab, "<copy one of the choices above>")\n',
                              exercise_id=exercise_id),
                    graded_at="check", question=question)


@dataclass(frozen=True)
class CaseResult:
    """One case as checked: `name` is the case's English key (the same in every language), `label` its
    name as the reader of this result sees it, `expected`/`actual` in that reader's language."""

    name: str
    points: float
    earned: float
    passed: bool
    expected: str
    actual: str
    hidden: bool = False
    error: str | None = None
    label: str = ""

    @property
    def shown(self) -> str:
        """The case's name for the reader (its key when no label was rendered)."""
        return self.label or self.name


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
        head = "✅ " + _("all checks pass") if self.passed else "❌ " + _("not yet")
        if self.solved_by_solution:
            head += " " + _("(solved with the reference solution: no points)")
        rows = []
        for case in self.cases:
            mark = "✅" if case.passed else "❌"
            detail = ("<br><small>" + _("seen: {actual}").format(actual=escape(case.actual)) + "</small>"
                      if case.passed else
                      "<br><small>" + _("expected: {expected}").format(expected=escape(case.expected)) + "<br>"
                      + _("actual: {actual}").format(actual=escape(case.actual)) + "</small>")
            rows.append(f"<tr><td>{mark}</td><td>{escape(case.shown)}{detail}</td>"
                        f"<td>{case.earned:g}/{case.points:g}</td></tr>")
        hint = ("<p>💡 " + _("<b>Hint</b> (after {attempts} tries): {hint}").format(
                    attempts=self.attempts, hint=escape(self.hint)) + "</p>"
                if self.show_hint and not self.passed else "")
        score = _("{earned}/{points} points").format(earned=f"{self.earned:g}", points=f"{self.points:g}")
        return (f"<div><p><b>{escape(self.exercise_id)}</b> · {escape(self.title)}: {head} — "
                f"{score}</p><table>{''.join(rows)}</table>{hint}</div>")


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
        score = _("{earned}/{points} points").format(earned=f"{self.earned:g}", points=f"{self.points:g}")
        return f"<p><b>{escape(self.notebook)}</b>: {score}</p><table>{rows}</table>"


def result_to_wire(result: ExerciseResult) -> dict[str, Any]:
    """An exercise's result as plain JSON (for the control channel)."""
    return {**{k: v for k, v in asdict(result).items() if k != "cases"},
            "cases": [asdict(case) for case in result.cases]}


def result_from_wire(data: dict[str, Any]) -> ExerciseResult:
    cases = tuple(CaseResult(**{k: case[k] for k in CASE_FIELDS if k in case}) for case in data.get("cases", []))
    return ExerciseResult(str(data["exercise_id"]), str(data["title"]), cases, bool(data.get("solved_by_solution")),
                          int(data.get("attempts", 1)), str(data.get("hint", "")), bool(data.get("show_hint")))


CASE_FIELDS = ("name", "points", "earned", "passed", "expected", "actual", "hidden", "error", "label")

