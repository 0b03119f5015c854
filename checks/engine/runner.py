"""Running an exercise's cases against a lab; a case that raises fails with the error as its actual."""

from __future__ import annotations

from typing import Protocol

from checks.engine.model import Case, CaseResult, Exercise, ExerciseResult, Observation, Outcome, Prediction
from labs.errors import LabError
from labs.i18n import _
from labs.lab import Lab

GRADING_TENANT = "geolab-grading"
GRADING_NAMESPACE = f"{GRADING_TENANT}/marks"


class Reference(Protocol):
    """Where a trusted side runs the experiments of predict-then-observe exercises: on labs of its own
    (`checks.sandbox.reference.ReferenceExperiments`)."""

    def observe(self, exercise: Exercise) -> Observation: ...


def run_exercise(exercise: Exercise, lab: Lab, include_hidden: bool = True, marks: bool = True,
                 prediction: Prediction | None = None, reference: Reference | None = None) -> ExerciseResult:
    """Run an exercise's cases on `lab`. `marks`: read the reference-solution record a learner's own
    machine keeps in the lab (never in grading: a submission could write or delete it). `prediction`:
    the learner's recorded prediction, for the cases that grade one. `reference`: grade a prediction
    against the experiment on the trusted side's own lab, not on `lab` (graded runs, workshops)."""
    results = []
    for case in exercise.cases:
        if case.hidden and not include_hidden:
            continue
        try:
            outcome = _outcome(exercise, case, lab, prediction, reference)
            results.append(CaseResult(case.key, case.points, case.points if outcome.passed else 0.0,
                                      outcome.passed, outcome.expected, outcome.actual, case.hidden,
                                      label=case.label()))
        except Exception as exc:  # a broken cluster or missing object fails the case, not the grader
            results.append(CaseResult(case.key, case.points, 0.0, False, _("the check to run"),
                                      f"{type(exc).__name__}: {exc}"[:400], case.hidden, error=str(exc),
                                      label=case.label()))
    solved = solution_marks(lab) if marks else set()
    return ExerciseResult(exercise.exercise_id, _(exercise.title), tuple(results),
                          solved_by_solution=exercise.exercise_id in solved, hint=_(exercise.hint))


def _outcome(exercise: Exercise, case: Case, lab: Lab, prediction: Prediction | None,
             reference: Reference | None) -> Outcome:
    if not case.needs_prediction:
        return case.check(lab)
    if reference is None or exercise.question is None:
        return case.check(lab, prediction)
    return exercise.question.grade(prediction, lambda: reference.observe(exercise))


def best_of(best: ExerciseResult | None, result: ExerciseResult) -> ExerciseResult:
    """The result that counts for an exercise graded at check time: the best `check()` so far."""
    return result if best is None or result.earned > best.earned else best


def _marks_key(exercise_id: str) -> str:
    return "solved." + exercise_id.replace("/", ".")


def mark_solved_by_solution(lab: Lab, exercise_id: str) -> None:
    """Record that the reference solution was applied (no points), on the first cluster that answers
    (a lesson may have killed the first one)."""
    failures: list[str] = []
    for cluster in lab.clusters:
        admin = lab.admin(cluster)
        try:
            admin.create_tenant(GRADING_TENANT, [cluster])
            admin.create_namespace(GRADING_NAMESPACE, [cluster])
            admin.set_namespace_properties(GRADING_NAMESPACE, {_marks_key(exercise_id): "reference-solution"})
            return
        except LabError as exc:
            failures.append(f"{cluster}: {exc}")
    raise LabError(_("Cannot record that {exercise_id} was solved with the reference solution: no cluster answered "
                     "({failures}). Start a cluster (lab.start_cluster(...)), then solve again.").format(
                         exercise_id=exercise_id, failures="; ".join(failures)))


def solution_marks(lab: Lab) -> set[str]:
    """Exercises solved with the reference solution in this lab (recorded on any of its clusters)."""
    marked: set[str] = set()
    for cluster in lab.clusters:
        try:
            properties = lab.admin(cluster).get_namespace_properties(GRADING_NAMESPACE)
        except LabError:
            continue
        marked |= {key[len("solved."):].replace(".", "/", 1) for key in properties if key.startswith("solved.")}
    return marked
