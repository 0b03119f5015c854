"""Batch grading: each submission runs in its own sandbox (a locked-down kernel container, see
checks/sandbox/) on a lab the grader starts and owns; the checks then read that lab's state from
the grader's own record; results go to a gradebook CSV and one feedback file per learner.

One bad submission never stops the batch: invalid JSON, a time-out, a dead kernel or a notebook
that wrecks its own clusters is recorded with a reason and the next submission is graded.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from checks.editions import build, notebook_language, with_solutions
from checks.engine.model import Exercise, ExerciseResult, NotebookReport, Prediction
from checks.engine.runner import run_exercise
from checks.errors import GradingError
from checks.exercises import ALL, LABS, for_notebook
from checks.sandbox.image import build_kernel_image
from checks.sandbox.provisioner import SandboxLimits
from checks.sandbox.reference import ReferenceExperiments
from checks.sandbox.run import Sandbox, SandboxUse
from checks.sandbox.trusted import ExerciseRecord
from labs.client import CLIENT_LOGGER
from labs.cluster import lab_names, remove_lab
from labs.course import course_notebooks
from labs.docker_backend import Confinement, DockerBackend
from labs.errors import LabError
from labs.i18n import LANGUAGES, _, in_this_language, ngettext, using
from labs.settings import load_settings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GradeOptions:
    cell_timeout_s: int = 120
    submission_timeout_s: int = 600
    hidden_dir: Path | None = None
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    roster: Mapping[str, str] | None = None
    jobs: int = 1  # submissions graded at once, each in its own sandbox with its own lab
    lang: str | None = None  # the feedback's language; None: each submission's own (its notebook's edition)
    storage_mib: int = 512  # what each cluster of a submission's lab may store (its own disk of this size)

    def __post_init__(self) -> None:
        if not MIN_STORAGE_MIB <= self.storage_mib <= MAX_STORAGE_MIB:
            raise GradingError(_("storage_mib={storage} is out of range; expected {least} to {most} MiB for each "
                                 "cluster of a submission's lab (one that took its first messages holds about 260). "
                                 "Try --storage-mib 512.").format(storage=self.storage_mib, least=MIN_STORAGE_MIB,
                                                                  most=MAX_STORAGE_MIB))
        if not 1 <= self.jobs <= MAX_JOBS:
            raise GradingError(_("jobs={jobs} is out of range; expected 1 to {most} submissions graded at once (each "
                                 "runs a lab of its own: about 2 GiB and one CPU). Try --jobs 2.").format(
                                     jobs=self.jobs, most=MAX_JOBS))
        if self.lang is not None and self.lang not in LANGUAGES:
            raise GradingError(_("lang={lang!r} is not a language of the course; expected one of {languages}, or none "
                                 "to follow each submission's own edition.").format(lang=self.lang,
                                                                                   languages=list(LANGUAGES)))


MAX_JOBS = 8
MAX_ROUNDS = 50
#: A cluster that took its first messages holds about 260 MB (its RocksDB stores preallocate their logs).
MIN_STORAGE_MIB, MAX_STORAGE_MIB = 384, 65536
#: The largest submission the grader reads (a notebook of that size, outputs and all, is read whole).
MAX_SUBMISSION_BYTES = 32 * 1024 * 1024
#: Every reference lab of a grading batch is named graderef-<lab> (checks.sandbox.reference).
REFERENCE_PREFIX = "graderef-"


@dataclass(frozen=True)
class Submission:
    learner: str
    path: Path


@dataclass(frozen=True)
class Graded:
    learner: str
    report: NotebookReport


def discover(paths: Iterable[Path]) -> list[Submission]:
    """Submissions from files and folders (every *.ipynb below a folder, checkpoints excluded)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise GradingError(_("Submission {path} does not exist; expected notebook files or folders of them. "
                                 "Check the path (`ls` it) and run `geolab grade` again.").format(path=path))
    return [Submission(p.stem, p) for p in found]


def assignment_for(path: Path, roster: Mapping[str, str] | None = None) -> str | None:
    """Which assignment a submission answers, from what the instructor decided, never from the notebook:
    the roster (learner -> assignment) when one is given, else a folder of the submission's path
    named after an assignment (``submissions/03_one_way/alice.ipynb``), else its file name
    (``alice-03_one_way.ipynb``)."""
    if roster is not None:
        return roster.get(path.stem)
    stems = sorted(LABS)
    for part in reversed(path.parent.parts):
        if part in stems:
            return part
    return next((stem for stem in stems if stem in path.name), None)


def notebook_exercises(notebook: nbformat.NotebookNode) -> set[str]:
    """The exercise ids a notebook's cells name (learner-controlled: only ever compared, never trusted)."""
    found = set()
    for cell in notebook.cells:
        geolab = cell.get("metadata", {}).get("geolab")
        if isinstance(geolab, dict) and isinstance(geolab.get("exercise"), str):
            found.add(geolab["exercise"])
    return found


def submission_language(notebook: nbformat.NotebookNode | None, forced: str | None = None) -> str:
    """The language a submission is graded and answered in: `forced` (``geolab grade --lang``), else the
    edition its notebook says (``metadata.geolab.lang``; learner-controlled, so anything but a language
    of the course is English: it only picks the words of the feedback), else English."""
    if forced is not None:
        return forced
    if notebook is None:
        return "en"
    try:
        return notebook_language(notebook)
    except GradingError:
        return "en"


def peek_language(path: Path) -> str:
    """The language a submission will be graded in, read ahead (English for one that cannot be read)."""
    try:
        if path.stat().st_size > MAX_SUBMISSION_BYTES:
            return "en"
        return submission_language(nbformat.read(path, as_version=4))
    except Exception:  # grade_one records why it cannot be read
        return "en"


def load_roster(path: Path) -> dict[str, str]:
    """A roster CSV with the columns learner and assignment.

    Raises:
        GradingError: the file is missing, malformed, or names an assignment that does not exist.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GradingError(_("Cannot read the roster {path}: {error}; expected a CSV file with the columns "
                             "learner,assignment.").format(path=path, error=exc)) from exc
    roster: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        learner, assignment = (row.get("learner") or "").strip(), (row.get("assignment") or "").strip()
        if not learner or assignment not in LABS:
            raise GradingError(_("Roster {path}, line {number}: learner {learner!r}, assignment {assignment!r}; "
                                 "expected a learner name and one of {assignments}.").format(
                                     path=path, number=number, learner=learner, assignment=assignment,
                                     assignments=sorted(LABS)))
        roster[learner] = assignment
    return roster


def load_hidden(folder: Path) -> list[Exercise]:
    """Extra exercises (or extra cases for known ids) from an instructor's folder of modules."""
    extra: list[Exercise] = []
    for module_path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"geolab_hidden_{module_path.stem}", module_path)
        if spec is None or spec.loader is None:
            raise GradingError(_("Cannot load hidden checks from {path}; expected a Python module.").format(
                path=module_path))
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # an instructor's module with any error: named, nothing graded
            raise GradingError(_(
                "Hidden checks {path} failed to load: {error}; expected a module that defines EXERCISES. Fix it "
                "(`python {path}` shows where) and grade again.").format(
                    path=module_path, error=f"{type(exc).__name__}: {exc}")) from exc
        found = getattr(module, "EXERCISES", None)
        if not isinstance(found, (list, tuple)) or not all(isinstance(e, Exercise) for e in found):
            raise GradingError(_("Hidden checks {path} define no EXERCISES list of Exercise objects; expected "
                                 "EXERCISES = [Exercise(...), ...].").format(path=module_path))
        extra += list(found)
    return extra


def exercises_for(notebook: str, hidden: list[Exercise]) -> list[Exercise]:
    merged = {e.exercise_id: e for e in for_notebook(notebook)}
    for extra in hidden:
        if extra.notebook != notebook:
            continue
        if extra.exercise_id in merged:
            base = merged[extra.exercise_id]
            merged[extra.exercise_id] = replace(base, cases=base.cases + tuple(extra.cases))
        else:
            merged[extra.exercise_id] = extra
    return list(merged.values())


def graded(exercise: Exercise, end: ExerciseResult, record: ExerciseRecord | None) -> ExerciseResult:
    """The result that counts: the lab's state after the notebook ran or, for an exercise graded at
    check time, each case as the best `check()` the grader ran found it, when that passed."""
    best = record.best if record is not None and exercise.graded_at == "check" else None
    if best is None:
        return end
    passed = {case.name: case for case in best.cases if case.passed}  # names are the cases' English keys
    return ExerciseResult(end.exercise_id, end.title, tuple(passed.get(case.name, case) for case in end.cases),
                          end.solved_by_solution, end.attempts, end.hint, end.show_hint)


def zero(exercises: list[Exercise], reason: str) -> tuple[ExerciseResult, ...]:
    from checks.engine.model import CaseResult

    return tuple(
        ExerciseResult(e.exercise_id, _(e.title), tuple(
            CaseResult(c.key, c.points, 0.0, False, _("a lab to check"), reason, c.hidden, label=c.label())
            for c in e.cases))
        for e in exercises
    )


def _remove_prefixed(backend: DockerBackend, prefix: str) -> None:
    """Remove what an earlier, crashed grader left under this prefix (labs and sandboxes alike)."""
    for name in lab_names(backend.docker):
        if name.startswith(prefix):
            remove_lab(backend.docker, name)


@dataclass
class Grader:
    """What a batch shares: the Docker backend the grader owns labs on (closed labs, capped storage),
    the kernel image, and the reference labs that the predictions are graded on."""

    backend: DockerBackend
    image: str
    reference: ReferenceExperiments | None = None


def _prediction(records: Mapping[str, ExerciseRecord], exercise: Exercise) -> Prediction | None:
    record = records.get(exercise.exercise_id)
    return record.prediction if record is not None else None


def grade_one(submission: Submission, index: int, options: GradeOptions, hidden: list[Exercise],
              grader: Grader) -> NotebookReport:
    """Grade one submission in its own sandbox, on a lab the grader owns; never raises for what the
    submission does (every failure is recorded with a reason). Its results and reasons are in its
    language (`submission_language`), which its report keeps (``extra["lang"]``) for its feedback."""
    read_error: Exception | None = None
    try:
        size = submission.path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise GradingError(_("it holds {size} MiB; expected at most {most} MiB (clear its outputs: Edit → Clear "
                                 "Outputs of All Cells, then save)").format(size=f"{size / 2**20:.0f}",
                                                                            most=MAX_SUBMISSION_BYTES // 2**20))
        notebook: nbformat.NotebookNode | None = nbformat.read(submission.path, as_version=4)
    except Exception as exc:  # broken JSON, not a notebook, too large: recorded, never fatal
        notebook, read_error = None, exc
    lang = submission_language(notebook, options.lang)
    with using(lang):
        report = _grade_one(submission, notebook, read_error, index, options, hidden, grader, lang)
    return replace(report, extra={**report.extra, "lang": lang})


def _grade_one(submission: Submission, notebook: nbformat.NotebookNode | None, read_failure: Exception | None,
               index: int, options: GradeOptions, hidden: list[Exercise], grader: Grader,
               lang: str) -> NotebookReport:
    started = time.monotonic()
    prefix = f"grade{index}-"
    read_error = "" if read_failure is None else _("not a readable notebook: {error}").format(
        error=f"{type(read_failure).__name__}: {read_failure}")[:300]
    stem = assignment_for(submission.path, options.roster)
    if stem is None:
        return NotebookReport("unknown", (), "unknown-assignment",
                              _("no assignment for this submission: put it in a folder named after its assignment, "
                                "name the assignment in its file name, or list it in the roster"),
                              time.monotonic() - started)
    exercises = exercises_for(stem, hidden)
    if notebook is None:
        return NotebookReport(stem, zero(exercises, read_error), "invalid-notebook", read_error,
                              time.monotonic() - started)
    named = notebook_exercises(notebook)
    ours = {e.exercise_id for e in exercises}
    if named and not named & ours:
        reason = _("this notebook holds the exercises of another assignment, not those of {stem}").format(stem=stem)
        return NotebookReport(stem, zero(exercises, reason), "wrong-notebook", reason, time.monotonic() - started)
    spec = LABS.get(stem)
    if spec is None:
        no_lab = _("this assignment names no lab")
        return NotebookReport(stem, zero(exercises, no_lab), "error", no_lab, time.monotonic() - started)
    _remove_prefixed(grader.backend, prefix)
    sandbox = Sandbox(spec, prefix, grader.image, grader.backend, options.limits, notebooks=(stem,),
                      reference=grader.reference)
    try:
        outcome = sandbox.run(notebook, options.cell_timeout_s, options.submission_timeout_s)
        status, reason = outcome.status, outcome.reason
        lab = sandbox.labs.lab
        if lab is None:
            never = _("the notebook never started its lab")
            results = zero(exercises, never)
            reason = reason or never
        else:
            try:
                records = sandbox.labs.records
                results = tuple(graded(e, run_exercise(e, lab, marks=False, prediction=_prediction(records, e),
                                                       reference=grader.reference),
                                       records.get(e.exercise_id)) for e in exercises)
            except LabError as exc:
                results = zero(exercises, _("the lab could not be read: {error}").format(error=exc)[:300])
        hints = sorted(e for e, record in sandbox.labs.records.items() if record.hints_shown)
        use = sandbox.use()
    finally:
        sandbox.close()
    if use.full:
        full = _("storage cap reached: the disk of {clusters} is full ({cap} MiB each); Pulsar refused further "
                 "messages there").format(clusters=", ".join(use.full), cap=options.storage_mib)
        reason = _("{reason}; {more}").format(reason=reason, more=full) if reason else full
    return NotebookReport(stem, results, status, reason, time.monotonic() - started,
                          extra={"hints": " ".join(hints), **usage_columns(use)})


def usage_columns(use: SandboxUse) -> dict[str, str]:
    """A submission's use of the host, as the gradebook's columns: MiB its clusters stored, the clusters
    whose disk is full, packets the firewall dropped."""
    return {"disk_mib": f"{use.disk_bytes / 2**20:.0f}", "storage_full": " ".join(use.full),
            "dropped_packets": str(use.dropped_packets)}


MAX_TEXT = 300
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def cell(text: str) -> str:
    """A gradebook cell: one line, at most MAX_TEXT characters, never a spreadsheet formula."""
    flat = " ".join(str(text).split())[:MAX_TEXT]
    return "'" + flat if flat.startswith(FORMULA_STARTS) else flat


def md(text: str) -> str:
    """Text shown in Markdown feedback: one line, cut, with Markdown and HTML characters escaped."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split())[:MAX_TEXT])


def safe_learner(name: str) -> str:
    """A learner's name from a file name, safe as a file name and a CSV cell."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:80]
    return cleaned or "learner"


def feedback(learner: str, report: NotebookReport) -> str:
    """A learner's feedback file, in the language their submission was graded in (``extra["lang"]``)."""
    lang = report.extra.get("lang", "en")
    with using(lang if lang in LANGUAGES else "en"):
        return _feedback(learner, report)


def _feedback(learner: str, report: NotebookReport) -> str:
    score = _("**Score: {earned} / {points}** · status: {status}").format(
        earned=f"{report.earned:g}", points=f"{report.points:g}", status=md(report.status))
    lines = [_("# Feedback for {learner}: {notebook}").format(learner=md(learner), notebook=md(report.notebook)), "",
             score + (f" ({md(report.reason)})" if report.reason else ""), ""]
    hints = report.extra.get("hints", "").split()
    for result in report.results:
        lines.append(f"## {md(result.exercise_id)}: {md(result.title)} — {result.earned:g}/{result.points:g}"
                     + (" " + _("(reference solution applied: no points)") if result.solved_by_solution else "")
                     + (" " + _("(a hint was shown)") if result.exercise_id in hints else ""))
        for case in result.cases:
            mark = "✅" if case.passed else "❌"
            if case.hidden:  # learners see that a hidden check passed or not, never what it checks
                lines.append(f"- {mark} " + _("a hidden check ({earned}/{points})").format(
                    earned=f"{case.earned:g}", points=f"{case.points:g}"))
            elif case.passed:
                lines.append(f"- ✅ {md(case.shown)}")
            else:
                lines.append("- ❌ " + _("{case}: expected {expected}; found {actual}").format(
                    case=md(case.shown), expected=md(case.expected), actual=md(case.actual)))
        lines.append("")
    return "\n".join(lines)


def _write_atomically(path: Path, text: str) -> None:
    """Write `path` so that a reader sees the old file or the new one, never half of one."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    os.replace(temporary, path)


def write_gradebook(out: Path, graded: list[Graded]) -> Path:
    """The gradebook and the feedback files, written by the grader alone, each atomically."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    exercise_ids = sorted({r.exercise_id for g in graded for r in g.report.results})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["learner", "notebook", *exercise_ids, "total", "max", "status", "reason", "hints", "seconds",
                     "disk_mib", "storage_full", "dropped_packets"])
    for g in graded:
        by_id = {r.exercise_id: r for r in g.report.results}
        writer.writerow([cell(g.learner), cell(g.report.notebook),
                         *[f"{by_id[e].earned:g}" if e in by_id else "" for e in exercise_ids],
                         f"{g.report.earned:g}", f"{g.report.points:g}", cell(g.report.status), cell(g.report.reason),
                         cell(g.report.extra.get("hints", "")), f"{g.report.seconds:.1f}",
                         *[cell(g.report.extra.get(column, "")) for column in ("disk_mib", "storage_full",
                                                                                 "dropped_packets")]])
    path = out / "gradebook.csv"
    _write_atomically(path, buffer.getvalue())
    for g in graded:
        _write_atomically(out / "feedback" / f"{g.learner}.md", feedback(g.learner, g.report))
    return path


def grade(paths: list[Path], out: Path, options: GradeOptions, progress: Progress = print) -> list[Graded]:
    CLIENT_LOGGER.setLevel(logging.CRITICAL)  # probing broken submissions logs expected client errors
    submissions = discover(paths)
    if not submissions:
        raise GradingError(_("No notebooks (*.ipynb) in {paths}; expected submitted notebooks. Check the folder, "
                             "then run `geolab grade` again.").format(paths=[str(p) for p in paths]))
    hidden = load_hidden(options.hidden_dir) if options.hidden_dir else []
    # a submission's lab is closed like its sandbox: no route out, no reach to this host, storage capped
    backend = DockerBackend(load_settings(), confinement=Confinement(storage_mib=options.storage_mib))
    progress(_("Preparing the sandbox's kernel image ..."))
    image = build_kernel_image(backend.docker, backend.settings, progress)
    _remove_prefixed(backend, REFERENCE_PREFIX)  # a crashed earlier grader's
    assignments = {assignment_for(s.path, options.roster) for s in submissions}
    reference = ReferenceExperiments(backend, REFERENCE_PREFIX, {a for a in assignments if a}, progress)
    # the predictions' experiments run ahead, beside the first submissions, for the lessons and languages graded
    reference.prepare({(stem, options.lang or peek_language(s.path)) for s in submissions
                       if (stem := assignment_for(s.path, options.roster))})
    grader = Grader(backend, image, reference)
    try:
        return _grade_all(submissions, out, options, hidden, grader, progress)
    finally:
        reference.close()


def _grade_all(submissions: list[Submission], out: Path, options: GradeOptions, hidden: list[Exercise],
               grader: Grader, progress: Progress) -> list[Graded]:
    learners: list[str] = []
    for submission in submissions:
        learner = safe_learner(submission.learner)
        while learner in learners:
            learner += "_"
        learners.append(learner)
    done: dict[int, Graded] = {}
    lock = threading.Lock()
    total = len(submissions)

    def grade_numbered(index: int) -> None:
        submission, learner = submissions[index - 1], learners[index - 1]
        with lock:
            bar = "#" * (20 * (len(done) + 1) // total)
            progress(f"[{bar:<20}] {index}/{total} {learner} ...")
        started = time.monotonic()
        try:
            report = grade_one(submission, index, options, hidden, grader)
        except Exception as exc:  # one submission's failure, even the grader's, never stops the batch
            report = NotebookReport("unknown", (), "grader-error",
                                    _("the grader failed on this submission: {error}").format(
                                        error=type(exc).__name__),
                                    time.monotonic() - started)
        with lock:
            done[index] = Graded(learner, report)
            progress("    " + _("{learner}: {earned}/{points} ({status}) in {seconds} s").format(
                learner=learner, earned=f"{report.earned:g}", points=f"{report.points:g}",
                status=report.status + (f": {report.reason}" if report.reason else ""),
                seconds=f"{report.seconds:.0f}"))
            # written after every submission, in submission order: a crash loses nothing graded
            write_gradebook(out, [done[i] for i in sorted(done)])

    if options.jobs == 1:
        for index in range(1, total + 1):
            grade_numbered(index)
    else:  # each submission has its own sandbox, lab (prefix grade<index>-) and kernel thread
        with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="geolab-grade") as pool:
            list(pool.map(in_this_language(grade_numbered), range(1, total + 1)))  # its lines in the grader's
    graded = [done[i] for i in sorted(done)]
    width = max(len(g.learner) for g in graded)
    width = max(width, len(_("learner")))
    progress("\n" + _("learner").ljust(width) + "  " + _("notebook").ljust(22) + "  " + _("score").ljust(7) + " "
             + _("status"))
    for g in graded:
        score = f"{g.report.earned:g}/{g.report.points:g}"
        progress(f"{g.learner.ljust(width)}  {g.report.notebook:<22}  {score:<7} {g.report.status}")
    return graded


def self_test(notebooks_dir: Path | None, out: Path, options: GradeOptions, progress: Progress = print,
              only: Iterable[str] | None = None, self_paced: Iterable[str] | None = None,
              untouched: Iterable[str] | None = None, lang: str = "en", rounds: int = 1) -> bool:
    """Each notebook with its reference solutions must score full marks, in both editions (the graded
    edition built from the shipped self-paced one); the graded edition untouched must not.

    Args:
        notebooks_dir: the course notebooks (English; the Chinese ones in its zh/); None: the ones shipped
            in the package.
        only: these notebooks (file stems) only; None: every notebook with exercises.
        self_paced: the notebooks whose self-paced edition is graded too; None: all of them. (The two
            editions share every code cell; the self-paced one adds collapsed solutions in Markdown.)
        untouched: the notebooks whose untouched graded edition must score less; None: all of them.
        lang: the course's language: its notebooks, graded (and answered) in that language.
        rounds: how many times each notebook's graded edition with its solutions is graded (a right answer
            must earn full marks every time; the other submissions are graded once).
    """
    if not 1 <= rounds <= MAX_ROUNDS:
        raise GradingError(_("--rounds {rounds} is out of range; expected 1 to {most}.").format(rounds=rounds,
                                                                                           most=MAX_ROUNDS))
    wanted = set(only) if only else None
    paced = set(self_paced) if self_paced is not None else None
    bare = set(untouched) if untouched is not None else None
    if notebooks_dir is None:
        sources = course_notebooks(lang)
    elif notebooks_dir.is_dir():
        sources = sorted((notebooks_dir if lang == "en" else notebooks_dir / lang).glob("*.ipynb"))
    else:
        raise GradingError(_("--notebooks {folder} is not a folder; expected the course notebooks. Leave it out to "
                             "use the notebooks shipped with geolab.").format(folder=notebooks_dir))
    unknown = sorted(set(wanted or ()) - {e.notebook for e in ALL.values()})
    if unknown:
        raise GradingError(_("--only {unknown} names no notebook with exercises; expected some of {known}.").format(
            unknown=unknown, known=sorted({e.notebook for e in ALL.values()})))
    work = out / "self-test-submissions"
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for path in sources:
        if not for_notebook(path.stem) or (wanted and path.stem not in wanted):
            continue
        self_paced_edition = nbformat.read(path, as_version=4)
        graded_edition = build(self_paced_edition, path.stem, "graded")
        label = path.stem if lang == "en" else f"{path.stem}__{lang}"
        rows = [(f"{label}__graded__solutions", with_solutions(graded_edition))]
        rows += [(f"{label}__graded__round{number}__solutions", with_solutions(graded_edition))
                 for number in range(2, rounds + 1)]
        if bare is None or path.stem in bare:
            rows.append((f"{label}__graded__untouched", graded_edition))
        if paced is None or path.stem in paced:
            rows.append((f"{label}__self-paced__solutions", with_solutions(self_paced_edition)))
        for name, notebook in rows:
            nbformat.write(notebook, work / f"{name}.ipynb")
            paths.append(work / f"{name}.ipynb")
    graded = grade(paths, out, options, progress)
    ok = True
    misses: list[str] = []
    solved = 0
    for g in graded:
        solved_case = g.learner.endswith("__solutions")
        good = (g.report.earned == g.report.points) if solved_case else (g.report.earned < g.report.points)
        ok &= good
        solved += solved_case
        if solved_case and not good:
            misses.append(g.learner)
        wanted_score = _("expected full marks") if solved_case else _("expected less than full marks")
        mark = _("ok") + "  " if good else _("FAIL")
        progress(f"{mark} {g.learner}: {g.report.earned:g}/{g.report.points:g} ({wanted_score})")
    progress(ngettext("Reference solutions: {misses} miss in {gradings} gradings.",
                      "Reference solutions: {misses} misses in {gradings} gradings.", len(misses)).format(
        misses=len(misses), gradings=solved))
    if misses:
        progress(_("Missed full marks: {learners}").format(learners=", ".join(misses)))
    return ok
