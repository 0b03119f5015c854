"""What a grade rests on, headless: a check observes while the learner's containers are frozen, a
prediction is graded on the trusted side's own reference lab (never on the learner's), each question's
experiment runs once per language and its lab goes when nothing more needs it. Stand-ins for Docker and
the labs; no Pulsar behaviour is claimed here (tests/integration/test_hostile.py grades the attacks
on real clusters)."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import APIError, NotFound

from checks.engine.model import Case, Exercise, LabSpec, Observation, Outcome, Prediction, Question
from checks.engine.runner import run_exercise
from checks.errors import GradingError
from checks.exercises import ALL, LABS
from checks.sandbox.provisioner import Freezer
from checks.sandbox.reference import IDLE_S, ReferenceExperiments
from checks.sandbox.trusted import GradedLabs
from labs.i18n import using
from labs.topology import full_mesh, single


class Container:
    """A container's pause and unpause, counted; `gone` raises NotFound, `stopped` refuses a pause."""

    def __init__(self, gone: bool = False, stopped: bool = False) -> None:
        self.gone, self.stopped = gone, stopped
        self.paused = False
        self.pauses = self.unpauses = 0

    def pause(self) -> None:
        if self.gone:
            raise NotFound("gone")
        if self.stopped:
            raise APIError("Container abc is not running")
        self.paused, self.pauses = True, self.pauses + 1

    def unpause(self) -> None:
        self.paused, self.unpauses = False, self.unpauses + 1


def test_a_freeze_pauses_the_learners_containers_once_for_nested_checks_and_thaws_them_after() -> None:
    kernel, server, gone, stopped = Container(), Container(), Container(gone=True), Container(stopped=True)
    freezer = Freezer(lambda: [kernel, server, gone, stopped])  # type: ignore[list-item]
    with freezer.frozen():
        assert kernel.paused and server.paused
        with freezer.frozen():  # a second check the kernel asked for at the same time
            assert kernel.pauses == 1
        assert kernel.paused  # still frozen: the first check goes on
    assert not kernel.paused and not server.paused
    assert (kernel.pauses, kernel.unpauses, gone.unpauses, stopped.unpauses) == (1, 1, 0, 0)
    assert freezer.freezes == 1


def test_a_freeze_thaws_even_when_the_check_fails() -> None:
    kernel = Container()
    freezer = Freezer(lambda: [kernel])  # type: ignore[list-item]
    with pytest.raises(RuntimeError), freezer.frozen():
        raise RuntimeError("a check that broke")
    assert not kernel.paused and kernel.unpauses == 1


SPEC = LabSpec(single("beijing"), "stand-in")
WIDE = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "stand-in-wide")


class StandInLab:
    """What a lab is to the stand-in exercises: a name, and whose it is."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.clusters = ("beijing",)


def question(answers: dict[str, str | None]) -> Question:
    """A question whose experiment answers according to whose lab it runs on."""
    def observe(lab: Any) -> tuple[str | None, str]:
        answers["runs"] = str(int(answers.get("runs") or 0) + 1)
        return answers.get(lab.name), f"seen on {lab.name}"
    return Question("which?", ("right", "wrong"), observe)


@pytest.fixture
def exercises(monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str | None], list[Exercise]]:
    answers: dict[str, str | None] = {"learners-lab": "wrong", "ref-stand-in": "right", "ref-stand-in-wide": "right"}
    made = []
    for number, (notebook, spec) in enumerate((("98_stand_in", SPEC), ("98_stand_in", SPEC),
                                               ("99_stand_in", WIDE)), start=1):
        asked = question(answers)
        exercise = Exercise(f"98-stand-in/{number}", notebook, "predict", (asked.case(),), "think", graded_at="check",
                            question=asked)
        monkeypatch.setitem(ALL, exercise.exercise_id, exercise)
        monkeypatch.setitem(LABS, notebook, spec)
        made.append(exercise)
    return answers, made


class Labs:
    """The reference labs a stand-in starter makes and a stand-in remover removes."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.removed: list[str] = []

    def start(self, spec: LabSpec, name: str) -> Any:
        self.started.append(name)
        return StandInLab(name)

    def remove(self, lab: Any) -> None:
        self.removed.append(lab.name)


def test_a_prediction_is_graded_on_the_reference_lab_not_on_the_learners(
        exercises: tuple[dict[str, str | None], list[Exercise]]) -> None:
    answers, (first, _second, _third) = exercises
    labs = Labs()
    reference = ReferenceExperiments(None, "ref-", starter=labs.start, remover=labs.remove)  # type: ignore[arg-type]
    learners: Any = StandInLab("learners-lab")
    predicted = Prediction(first.exercise_id, "wrong", 0.0)
    on_their_lab = run_exercise(first, learners, marks=False, prediction=predicted)
    assert on_their_lab.passed  # what the learner's own lab showed: theirs to steer
    graded = run_exercise(first, learners, marks=False, prediction=predicted, reference=reference)
    assert not graded.passed and "grader's reference clusters" in graded.cases[0].actual
    right = Prediction(first.exercise_id, "right", 0.0)
    assert run_exercise(first, learners, marks=False, prediction=right, reference=reference).passed
    assert labs.started == ["ref-stand-in"] and answers["runs"] == "2"  # once on theirs, once on the reference


def test_each_experiment_runs_once_per_language_and_its_lab_goes_when_no_question_needs_it(
        exercises: tuple[dict[str, str | None], list[Exercise]]) -> None:
    answers, (first, second, third) = exercises
    labs = Labs()
    reference = ReferenceExperiments(None, "ref-", notebooks=("98_stand_in", "99_stand_in"),  # type: ignore[arg-type]
                                     starter=labs.start, remover=labs.remove)
    seen = [reference.observe(first), reference.observe(first)]
    assert seen[0] == seen[1] == Observation("right", "seen on ref-stand-in", reference=True)
    assert answers["runs"] == "1" and labs.removed == []  # 98-stand-in/2 still needs the lab
    with using("zh"):
        reference.observe(first)  # what it saw is said in this reader's language: its own run
    assert answers["runs"] == "2"
    reference.observe(second)
    with using("zh"):
        reference.observe(second)
    assert labs.removed == ["ref-stand-in"]  # every question of that topology answered, in both languages
    reference.observe(third)
    assert labs.started == ["ref-stand-in", "ref-stand-in-wide"]
    assert labs.removed == ["ref-stand-in"]  # a reader in Chinese may still ask the wide question
    reference.close()
    assert labs.removed == labs.started


def test_a_failed_experiment_is_not_kept_and_an_idle_lab_goes(
        exercises: tuple[dict[str, str | None], list[Exercise]], monkeypatch: pytest.MonkeyPatch) -> None:
    _answers, (first, second, third) = exercises
    labs = Labs()
    now = [0.0]
    reference = ReferenceExperiments(None, "ref-", starter=labs.start, remover=labs.remove,  # type: ignore[arg-type]
                                     clock=lambda: now[0])
    broken = Question("which?", ("right", "wrong"), lambda lab: (_ for _ in ()).throw(TimeoutError("no answer")))
    monkeypatch.setitem(ALL, first.exercise_id, Exercise(first.exercise_id, first.notebook, "predict",
                                                        (broken.case(),), "think", question=broken))
    with pytest.raises(TimeoutError):
        reference.observe(ALL[first.exercise_id])
    monkeypatch.setitem(ALL, first.exercise_id, first)
    assert reference.observe(first).answer == "right"  # the failure was not kept
    now[0] = IDLE_S + 1
    reference.observe(third)  # another topology: the first lab, unused since, goes
    assert "ref-stand-in" in labs.removed
    reference.close()
    assert sorted(labs.removed) == sorted(labs.started)


def test_a_graded_check_observes_with_the_kernel_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = Container()
    seen: list[bool] = []

    def observes(lab: Any) -> Outcome:
        seen.append(kernel.paused)
        return Outcome(True, "frozen", "frozen")

    exercise = Exercise("97-frozen/1", "97_frozen", "frozen", (Case("observed", observes),), "-",
                        graded_at="check")
    monkeypatch.setitem(ALL, exercise.exercise_id, exercise)
    labs = GradedLabs(SPEC, "t-", "net", backend=None, notebooks=("97_frozen",))  # type: ignore[arg-type]
    labs.lab = StandInLab("t-stand-in")  # type: ignore[assignment]
    labs.freezer = Freezer(lambda: [kernel])  # type: ignore[list-item]
    labs.call("check", {"exercise": exercise.exercise_id})
    labs.call("peek", {"exercise": exercise.exercise_id})  # progress() shows the best check: no new run
    assert seen == [True] and not kernel.paused


def test_a_batch_runs_its_experiments_ahead_in_each_language_and_none_after_close(
        exercises: tuple[dict[str, str | None], list[Exercise]]) -> None:
    answers, (first, second, third) = exercises
    labs = Labs()
    reference = ReferenceExperiments(None, "ref-", notebooks=("98_stand_in",),  # type: ignore[arg-type]
                                     starter=labs.start, remover=labs.remove)
    reference.prepare({("98_stand_in", "en"), ("98_stand_in", "zh")}).join(timeout=30)
    assert answers["runs"] == "4"  # two questions, two languages
    with using("zh"):
        assert reference.observe(second).reference and answers["runs"] == "4"  # ready: nothing runs again
    assert labs.removed == labs.started  # both questions of its topology answered: the lab went
    reference.close()
    with pytest.raises(GradingError, match="closed"):
        reference.observe(third)
    assert labs.started == ["ref-stand-in"]  # one lab for both languages; none after close
