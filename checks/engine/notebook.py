"""The notebook API of the grader: check, progress, solve and reset an exercise against a live lab.

Re-exported by `checks`; a hint appears after repeated failures of the same exercise. In a graded
run (a lab from the control channel) the grader runs the checks on its own side and keeps the
record of every try and hint there; the kernel only shows the result.
"""

from __future__ import annotations

import time
from collections import Counter

from checks.engine.model import Exercise, ExerciseResult, NotebookReport, Prediction, result_from_wire
from checks.engine.runner import best_of, mark_solved_by_solution, run_exercise
from checks.errors import GradingError
from checks.exercises import ALL, for_notebook
from labs.control import ControlBackend
from labs.i18n import _
from labs.lab import Lab

HINT_AFTER_FAILURES = 2
_failures: Counter[str] = Counter()
_best: dict[str, ExerciseResult] = {}  # exercises graded at check time: the best check() of this kernel
_predictions: dict[str, Prediction] = {}  # predict-then-observe exercises: the first prediction of this kernel


def _exercise(exercise_id: str) -> Exercise:
    if exercise_id not in ALL:
        raise GradingError(_("No exercise {exercise_id!r}; expected one of {known}. Copy the id from the exercise's "
                             "heading.").format(exercise_id=exercise_id, known=sorted(ALL)))
    return ALL[exercise_id]


def _trusted_side(lab: Lab) -> ControlBackend | None:
    return lab.backend if isinstance(lab.backend, ControlBackend) else None


def check(exercise_id: str, lab: Lab) -> ExerciseResult:
    """Run one exercise's visible checks; a hint appears after repeated failures."""
    exercise = _exercise(exercise_id)
    trusted = _trusted_side(lab)
    if trusted is not None:
        return result_from_wire(trusted.call("check", {"exercise": exercise_id}))
    result = run_exercise(exercise, lab, include_hidden=False, prediction=_predictions.get(exercise_id))
    if exercise.graded_at == "check":
        _best[exercise_id] = best_of(_best.get(exercise_id), result)
    if not result.passed:
        _failures[exercise_id] += 1
    attempts = _failures[exercise_id] + (1 if result.passed else 0)
    return ExerciseResult(result.exercise_id, result.title, result.cases, result.solved_by_solution,
                          attempts=max(attempts, 1), hint=_(exercise.hint),
                          show_hint=_failures[exercise_id] >= HINT_AFTER_FAILURES)


def progress(notebook: str, lab: Lab) -> NotebookReport:
    """Every exercise of a notebook (file stem, e.g. "03_one_way"), checked now; one graded at check
    time (a later lesson step changes its state on purpose) shows its best `check()`."""
    exercises = for_notebook(notebook)
    if not exercises:
        raise GradingError(_("No exercises for notebook {notebook!r}; expected one of {known}.").format(
            notebook=notebook, known=sorted({e.notebook for e in ALL.values()})))
    trusted = _trusted_side(lab)
    if trusted is not None:
        return NotebookReport(notebook, tuple(result_from_wire(trusted.call("peek", {"exercise": e.exercise_id}))
                                              for e in exercises))
    return NotebookReport(notebook, tuple(_best[e.exercise_id] if e.exercise_id in _best
                                          else run_exercise(e, lab, include_hidden=False,
                                                            prediction=_predictions.get(e.exercise_id))
                                          for e in exercises))


def predict(exercise_id: str, lab: Lab, answer: str) -> Prediction:
    """Record your prediction for a predict-then-observe exercise, before the experiment. The first
    prediction stands (a later call returns it unchanged); the check grades it against what the
    clusters then do. `answer` is one of the choices as the lesson shows them, in English or in
    Chinese; the choice is recorded as its English key, so a grade does not depend on the language.

    Raises:
        GradingError: the exercise asks for no prediction, or `answer` is not one of its choices.
    """
    exercise = _exercise(exercise_id)
    question = exercise.question
    if question is None:
        raise GradingError(_("Exercise {exercise_id} asks for no prediction; expected the id of a "
                             "predict-then-observe exercise (its heading says 'predict'). Answer this one in its "
                             "cell, then check it.").format(exercise_id=exercise_id))
    key = question.key_of(answer)
    if key is None:
        raise GradingError(_("{answer!r} is not an answer to {exercise_id}; expected one of {choices}. Copy one of "
                             "them exactly.").format(answer=answer, exercise_id=exercise_id,
                                                     choices=question.shown_choices()))
    trusted = _trusted_side(lab)
    if trusted is not None:
        recorded = trusted.call("predict", {"exercise": exercise_id, "answer": key})
        return Prediction(exercise_id, str(recorded["answer"]), float(recorded["at"]))
    return _predictions.setdefault(exercise_id, Prediction(exercise_id, key, time.time()))


def _kernel_names() -> dict[str, object]:
    """The running notebook's variables (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


def solve(exercise_id: str, lab: Lab) -> ExerciseResult:
    """Apply the reference solution and record it as solved-by-solution (it earns no points).

    The solution is the code the self-paced edition shows: it runs as it stands, with the notebook's
    names (in a kernel), `lab`, and the names the notebook defined before the exercise (the
    exercise's `givens`, evaluated from their expressions outside a kernel)."""
    exercise = _exercise(exercise_id)
    try:
        from checks.solutions import SOLUTIONS
    except ImportError:
        raise GradingError(_("solve({exercise_id!r}) is not available here: a graded run carries no reference "
                             "solutions, and expected none to be applied. Solve the exercise yourself.").format(
                                 exercise_id=exercise_id)) from None
    kernel = _kernel_names()  # the notebook's imports and variables, as its own cell would see them
    names: dict[str, object] = {**kernel, "lab": lab, "predict": predict}
    for name, expression in exercise.givens.items():
        # the notebook's own value when it has one (a given may be the result of an experiment, such
        # as the orders a consumer read); otherwise our own expression, shown in the notebook above
        names[name] = kernel[name] if name in kernel else eval(expression, names)
    exec(compile(SOLUTIONS[exercise_id], f"<reference solution of {exercise_id}>", "exec"), names)
    trusted = _trusted_side(lab)
    if trusted is not None:  # a workshop's lab server keeps the record (a graded run refuses it)
        trusted.call("solved", {"exercise": exercise_id})
        return result_from_wire(trusted.call("peek", {"exercise": exercise_id}))
    mark_solved_by_solution(lab, exercise_id)
    return run_exercise(exercise, lab, include_hidden=False, prediction=_predictions.get(exercise_id))


def reset(exercise_id: str, lab: Lab) -> None:
    """Put the clusters back to the exercise's starting state."""
    exercise = _exercise(exercise_id)
    if exercise.question is not None:
        raise GradingError(_("Exercise {exercise_id} cannot be reset: a prediction stands once made, and expected "
                             "an exercise with a starting state. Run the experiment and compare.").format(
                                 exercise_id=exercise_id))
    if exercise.reset is None:
        raise GradingError(_("Exercise {exercise_id} cannot be reset: its state is messages already sent, and "
                             "expected an exercise with a starting state. Send the message again; the check looks "
                             "at the latest one.").format(exercise_id=exercise_id))
    trusted = _trusted_side(lab)
    if trusted is not None:
        trusted.call("reset", {"exercise": exercise_id})
        return
    exercise.reset(lab)
    _failures.pop(exercise_id, None)
