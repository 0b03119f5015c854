"""Predictions graded against Pulsar, on labs of the trusted side's own.

A predict-then-observe exercise asks what Pulsar does. On a learner's laptop its check runs the
experiment on the learner's own lab. Where a grade counts (a graded run, a workshop), that lab is
the learner's to change: their code, or a setting they made (a peer registered at a wrong address, a
broker setting), could make the experiment show whatever they predicted. So there the experiment runs
on a reference lab the trusted side starts for itself: the assignment's topology, set up as the
course sets it up, on networks no learner's container is attached to, where no learner's code runs.

Each question's experiment runs once per trusted side (a grading batch, a lab server) and language
(what it saw is said in the learner's language), and its observation grades every learner's
prediction: a prediction is about Pulsar, so one honest run of the experiment answers it for everyone.
A reference lab is removed as soon as every question that needs it has been observed (or, on a lab
server, after `IDLE_S` unused), so it costs a lab start per topology. A grading batch runs its
experiments ahead (`prepare`), beside the first submissions, so that a kernel's check finds its
observation ready instead of waiting for a lab to start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from checks.engine.model import Exercise, LabSpec, Observation
from checks.errors import GradingError
from checks.exercises import ALL, LABS
from labs.docker_backend import DockerBackend
from labs.i18n import _, language, using
from labs.lab import Lab

Progress = Callable[[str], None]
#: Starts a reference lab: the lab spec whose topology it has, and its name.
Starter = Callable[[LabSpec, str], Lab]
#: A reference lab unused this long is removed (a lab server: some questions may never be asked).
IDLE_S = 600.0


@dataclass
class _Held:
    lab: Lab
    used: float


class ReferenceExperiments:
    """The experiments of predict-then-observe exercises, on the trusted side's own labs (see the module
    docstring). `notebooks`: the notebooks whose questions may be asked (None: every notebook); a lab
    goes once each of their questions that needs it has been observed. Thread-safe: one experiment at
    a time (some cut links or kill clusters of their lab)."""

    def __init__(self, backend: DockerBackend, prefix: str, notebooks: Iterable[str] | None = None,
                 progress: Progress = lambda _line: None, clock: Callable[[], float] = time.monotonic,
                 starter: Starter | None = None, remover: Callable[[Lab], None] | None = None) -> None:
        """`starter` and `remover` start and remove a reference lab (default: on `backend`, configured as the
        course configures it, replication probed); a lab server passes its own, which count the lab against
        its memory budget and start slots."""
        self.backend = backend
        self.starter = starter or self._start
        self.remover = remover or self._stop
        self.prefix = prefix
        self.notebooks = None if notebooks is None else frozenset(notebooks)
        self.progress = progress
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], Observation] = {}  # by exercise and language
        self._labs: dict[str, _Held] = {}
        self.started: list[str] = []  # the reference labs started, in order (for the grader's report)
        self.languages: set[str] = set()  # the languages observations are wanted in (prepared, or asked)
        self.closed = False

    def observe(self, exercise: Exercise) -> Observation:
        """The observation that grades `exercise`'s predictions: its experiment, run once on the reference
        lab of its notebook's topology.

        Raises:
            GradingError: the exercise asks for no prediction.
            LabError: the reference lab could not start, or the experiment failed (nothing is kept: the
                next prediction runs it again).
        """
        question = exercise.question
        if question is None:
            raise GradingError(_("Exercise {exercise_id} asks for no prediction; expected the id of a "
                                 "predict-then-observe exercise.").format(exercise_id=exercise.exercise_id))
        key = (exercise.exercise_id, language())
        with self._lock:
            self.languages.add(key[1])
            seen = self._seen.get(key)
            if seen is None:
                if self.closed:
                    raise GradingError(_("The grader's reference labs are closed; expected them open while "
                                         "submissions are graded."))
                held = self._lab(LABS[exercise.notebook])
                self.progress(_("Running the experiment of {exercise_id} on the grader's own reference lab {name} "
                                "...").format(exercise_id=exercise.exercise_id, name=held.lab.name))
                answer, said = question.observe(held.lab)
                held.used = self.clock()
                seen = self._seen[key] = Observation(answer, said, reference=True)
                self._release_finished()
            self._release_idle()
            return seen

    def prepare(self, wanted: Iterable[tuple[str, str]]) -> threading.Thread:
        """Observe now, in a thread of its own (returned, started), every question of each notebook in the
        language `wanted` pairs it with (notebook stem, language), in notebook order; a failure is left for
        the check that needs it."""
        pairs = sorted(set(wanted))
        with self._lock:
            self.languages |= {lang for _stem, lang in pairs}

        def run() -> None:
            for stem, lang in pairs:
                with using(lang):
                    for exercise in [e for e in ALL.values() if e.question is not None and e.notebook == stem]:
                        try:
                            self.observe(exercise)
                        except Exception as exc:  # the check that needs it runs it again, and says why
                            self.progress(_("The experiment of {exercise_id} failed ahead of the checks: "
                                            "{error}").format(exercise_id=exercise.exercise_id,
                                                              error=f"{type(exc).__name__}: {exc}"[:300]))

        thread = threading.Thread(target=run, name="geolab-reference", daemon=True)
        thread.start()
        return thread

    def _key(self, spec: LabSpec) -> str:
        return spec.topology.to_json()

    def _lab(self, spec: LabSpec) -> _Held:
        key = self._key(spec)
        held = self._labs.get(key)
        if held is None:
            name = f"{self.prefix}{spec.name}"
            self.progress(_("Starting the grader's own reference lab {name} for the predictions of {notebook} "
                            "...").format(name=name, notebook=spec.name))
            held = self._labs[key] = _Held(self.starter(spec, name), self.clock())
            self.started.append(name)
        return held

    def _wanted(self, key: str) -> set[tuple[str, str]]:
        """The questions still to observe on the lab of topology `key`, in each language wanted."""
        return {(e.exercise_id, lang) for e in ALL.values() for lang in self.languages
                if e.question is not None and self._key(LABS[e.notebook]) == key
                and (self.notebooks is None or e.notebook in self.notebooks)} - set(self._seen)

    def _release_finished(self) -> None:
        for key in [key for key in self._labs if not self._wanted(key)]:
            self._remove(key)

    def _release_idle(self) -> None:
        now = self.clock()
        for key in [key for key, held in self._labs.items() if now - held.used >= IDLE_S]:
            self._remove(key)

    def _remove(self, key: str) -> None:
        self.remover(self._labs.pop(key).lab)

    def _start(self, spec: LabSpec, name: str) -> Lab:
        return Lab.start(spec.topology, name=name, configure=True, probe=True, progress=self.progress,
                         backend=self.backend)

    def _stop(self, lab: Lab) -> None:
        lab.close()
        self.backend.remove(lab.record)

    def close(self) -> None:
        """Remove every reference lab (the observations stay); no lab starts after this."""
        with self._lock:
            self.closed = True
            for key in list(self._labs):
                self._remove(key)
