"""The learner notebooks' two editions, built from one source per exercise.

Each exercise is written once: its statement, starting stub, hint, cases and points in
checks/exercises, its reference solution in checks/solutions. The lesson around it (prose, demos,
the lab it starts) is the notebook in notebooks/. From both this module builds:

- the **self-paced** edition (the notebooks/ folder as committed, and what `geolab notebooks` copies):
  each exercise's heading and statement, the stub, `check(...)`, a collapsed hint and a collapsed
  reference solution that `solve()` can also apply;
- the **graded** edition (`geolab notebooks DIR --edition graded`): the same without the solutions.

Each edition comes in two languages. English is the source: notebooks/*.ipynb. The Chinese course,
notebooks/zh/*.ipynb (``metadata.geolab.lang = "zh"``), is built from the English lesson: its Markdown
cells and code comments from the lesson's catalog (`checks.lessons`), its exercise cells from the
exercise's texts in the runtime catalog; cells, ids, tags, metadata and code stay the English ones
(only a reference solution's `predict()` answer is shown in Chinese, which `predict()` accepts).

An exercise's cells carry ``geolab.exercise`` in their metadata; building replaces them, wherever
they are, with the cells made from the exercise's source. `python -m checks.editions` rewrites
notebooks/ and notebooks/zh/ (`make notebooks`; a Chinese lesson with a text left untranslated is
skipped, and said so); unit tests fail when they are not what the build makes.

This module reads the reference solutions, so it stays out of the grading sandbox.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from checks.engine.model import Exercise
from checks.errors import GradingError
from checks.exercises import ALL, for_notebook
from checks.solutions import SOLUTIONS
from labs.i18n import LANGUAGES, Text, _, ngettext, render, text_key, using

EDITIONS = ("self-paced", "graded")
TAGS = ("exercise-text", "exercise", "check", "hint", "solution")
#: The English lessons of a checkout (the source of both languages).
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebook_language(notebook: nbformat.NotebookNode) -> str:
    """The language a notebook is written in: its ``metadata.geolab.lang``, English when it has none.

    Raises:
        GradingError: it names no language of the course.
    """
    geolab = notebook.get("metadata", {}).get("geolab", {})
    lang = geolab.get("lang", "en") if isinstance(geolab, dict) else "en"
    if lang not in LANGUAGES:
        raise GradingError(_("The notebook's metadata says geolab.lang = {lang!r}; expected one of {languages}. "
                             "Take the notebook from `geolab notebooks` again.").format(lang=lang,
                                                                                       languages=list(LANGUAGES)))
    return str(lang)


def language_folder(folder: Path, lang: str) -> Path:
    """Where a folder of the course keeps the notebooks of `lang`: English in it, Chinese in its zh/."""
    return folder if lang == "en" else folder / lang


def exercise_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise a cell belongs to (its ``geolab.exercise`` metadata), if any."""
    geolab = cell.get("metadata", {}).get("geolab", {})
    value = geolab.get("exercise") if isinstance(geolab, dict) else None
    return str(value) if value else None


def exercise_cells(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """Each exercise's code cell (tagged ``exercise``): the cell a learner answers in, by exercise id."""
    return {exercise_id(cell) or "": index for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and "exercise" in cell.get("metadata", {}).get("tags", [])
            and exercise_id(cell)}


def _cell(kind: str, exercise: Exercise, tag: str, source: str) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata = {"tags": [tag], "geolab": {"exercise": exercise.exercise_id}}
    cell.id = f"{exercise.exercise_id.replace('/', '-')}-{tag}"  # stable: a rebuild changes nothing
    return cell


def _shown(text: str | Text) -> str:
    """An exercise's text in the current language ("" stays "": gettext's "" is the catalog's header)."""
    return render(text) if text_key(text) else ""


def _literal(text: str) -> str:
    """`text` as a Python string literal, in double quotes as the solutions write them."""
    return f'"{text}"' if not set(text) & {'"', "\\", "\n", "\r"} else repr(text)


def solution_for(exercise_id: str, lang: str = "en") -> str:
    """The reference solution of an exercise as the `lang` edition shows it: the same code, but for a
    `predict()` answer, shown as its translation (`predict()` takes either, and records the English key).

    Raises:
        GradingError: `lang` is not a language of the course.
    """
    code = SOLUTIONS[exercise_id]
    if lang not in LANGUAGES:
        raise GradingError(_("No language {lang!r}; expected one of {languages}.").format(
            lang=lang, languages=list(LANGUAGES)))
    if lang == "en":
        return code
    edits: list[tuple[ast.Constant, str]] = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        answer = next((k.value for k in node.keywords if k.arg == "answer"),
                      node.args[2] if len(node.args) > 2 else None)
        target = node.args[0] if node.args else None
        if (name != "predict" or not isinstance(answer, ast.Constant) or not isinstance(answer.value, str)
                or not isinstance(target, ast.Constant) or target.value not in ALL):
            continue
        question = ALL[str(target.value)].question
        if question is not None and answer.value in question.choices:
            with using(lang):
                shown = _shown(answer.value)
            if shown != answer.value:
                edits.append((answer, _literal(shown)))
    data = code.encode("utf-8")
    starts = [0]
    for line in data.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    for node, literal in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        assert node.end_lineno is not None and node.end_col_offset is not None
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        data = data[:begin] + literal.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def exercise_group(exercise: Exercise, edition: str, lang: str = "en") -> list[nbformat.NotebookNode]:
    """The cells of one exercise in an edition and a language, made from its source.

    Raises:
        GradingError: a translation of the exercise's stub changes its code (only comments may differ).
    """
    from checks.lessons import code_without_comments

    with using(lang):
        statement = _shown(exercise.statement)
        if exercise.question is not None:
            statement += ("\n\n" + _("**{prompt}** The choices:").format(prompt=_shown(exercise.question.prompt))
                          + "\n" + "\n".join(f'- `"{_shown(choice)}"`' for choice in exercise.question.choices))
        heading = _("### ✏️ Exercise {exercise_id}: {title}").format(exercise_id=exercise.exercise_id,
                                                                     title=_shown(exercise.title))
        stub = _shown(exercise.stub).rstrip("\n")
        hint = _("💡 Hint")
        solution_title = _("Reference solution")
        solve_note = _("Or apply it with `solve(\"{exercise_id}\", lab)` after `from checks import solve`: it is "
                       "recorded, and earns no points.").format(exercise_id=exercise.exercise_id)
        shown_hint = _shown(exercise.hint)
    english_stub = text_key(exercise.stub).rstrip("\n")
    if code_without_comments(stub) != code_without_comments(english_stub):
        raise GradingError(_("The {lang} stub of exercise {exercise_id} changes its code; expected only its comments "
                             "translated. Correct its translation in `labs/locale/zh_CN/LC_MESSAGES/geolab.po`."
                             ).format(lang=lang, exercise_id=exercise.exercise_id))
    cells = [
        _cell("markdown", exercise, "exercise-text", f"{heading}\n\n{statement}"),
        _cell("code", exercise, "exercise", stub),
        _cell("code", exercise, "check", f'check("{exercise.exercise_id}", lab)'),
        _cell("markdown", exercise, "hint", f"<details><summary>{hint}</summary>\n\n{shown_hint}\n\n</details>"),
    ]
    if edition == "self-paced":
        cells.append(_cell("markdown", exercise, "solution",
                           f"<details><summary>{solution_title}</summary>\n\n"
                           f"```python\n{solution_for(exercise.exercise_id, lang).rstrip()}\n```\n\n"
                           f"{solve_note}\n\n</details>"))
    return cells


def _assigned(cells: Sequence[nbformat.NotebookNode]) -> dict[str, str]:
    """`name = expression` assignments in the lesson's code cells (the last one wins)."""
    found: dict[str, str] = {}
    for cell in cells:
        if cell.cell_type != "code" or exercise_id(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                found[node.targets[0].id] = ast.unparse(node.value)
    return found


def build(notebook: nbformat.NotebookNode, stem: str, edition: str, lang: str | None = None
          ) -> nbformat.NotebookNode:
    """The notebook `stem` in `edition` and `lang`: every exercise's cells made anew from its source.

    `lang` None keeps the notebook's own language. A Chinese notebook is built from the English one
    (its lesson text from the lesson's catalog, `checks.lessons.translate`) or from a Chinese one
    (its lesson text kept: a learner's copy, turned into the graded edition).

    Raises:
        GradingError: an unknown edition or language, or a language the notebook cannot be built in
            (only English is translated); an exercise the notebook has no place for, or a place for an
            exercise that does not exist; a given the notebook does not assign before the exercise.
        checks.lessons.LessonNotTranslated: a text of the lesson has no translation in `lang`.
    """
    if edition not in EDITIONS:
        raise GradingError(_("No edition {edition!r}; expected one of {editions}.").format(
            edition=edition, editions=list(EDITIONS)))
    written_in = notebook_language(notebook)
    lang = lang or written_in
    if lang not in LANGUAGES:
        raise GradingError(_("No language {lang!r}; expected one of {languages}.").format(
            lang=lang, languages=list(LANGUAGES)))
    exercises = {e.exercise_id: e for e in for_notebook(stem)}
    placed = [exercise_id(c) for c in notebook.cells if exercise_id(c)]
    unknown = sorted({p for p in placed if p} - set(exercises))
    missing = [e for e in exercises if e not in placed]
    if unknown or missing:
        raise GradingError(_("{stem}: exercise cells {unknown} have no exercise source, and exercises {missing} have "
                             "no cells; expected one place per exercise of {stem}. Add a cell with geolab.exercise "
                             "metadata where the exercise belongs.").format(
                                 stem=stem, unknown=unknown or _("none"), missing=missing or _("none")))
    if lang != written_in:
        if written_in != "en":
            raise GradingError(_("{stem} is written in {written_in!r}; expected English to build the {lang!r} "
                                 "edition from. Build it from notebooks/{stem}.ipynb, or take the {lang!r} notebooks "
                                 "with `GEOLAB_LANG={lang} geolab notebooks DIR`.").format(
                                     stem=stem, written_in=written_in, lang=lang))
        from checks.lessons import translate

        notebook = translate(notebook, stem, lang)
    built = nbformat.from_dict(notebook)
    cells: list[nbformat.NotebookNode] = []
    done: set[str] = set()
    for cell in built.cells:
        owner = exercise_id(cell)
        if owner is None:
            cells.append(cell)
        elif owner not in done:
            done.add(owner)
            assigned = _assigned(cells)
            for name, expression in exercises[owner].givens.items():
                if assigned.get(name) != ast.unparse(ast.parse(expression, mode="eval").body):
                    raise GradingError(_("{stem}: exercise {exercise_id} expects the notebook to set `{name} = "
                                         "{expression}` before it; found {found!r}. Add that cell above the "
                                         "exercise.").format(stem=stem, exercise_id=owner, name=name,
                                                             expression=expression,
                                                             found=assigned.get(name, _("no assignment"))))
            cells.extend(exercise_group(exercises[owner], edition, lang))
    built.cells = cells
    built.metadata.setdefault("geolab", {})["edition"] = edition
    if lang != "en":
        built.metadata["geolab"]["lang"] = lang
    return built


def build_folder(source: Path, target: Path, edition: str, lang: str | None = None) -> list[Path]:
    """Build every notebook of `source` into `target` in `edition` and `lang` (None: each notebook's own)."""
    written = []
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        out = target / path.name
        nbformat.write(build(notebook, path.stem, edition, lang), out)
        written.append(out)
    return written


def write_lesson(stem: str, lang: str, source: Path = NOTEBOOKS, target: Path | None = None,
                 edition: str = "self-paced") -> Path:
    """Build the English lesson `source`/`stem`.ipynb in `lang` into `target` (default: `source` for
    English, its zh/ for Chinese), and return the file written.

    Raises:
        checks.lessons.LessonNotTranslated: a text of the lesson has no translation in `lang`.
    """
    notebook = nbformat.read(source / f"{stem}.ipynb", as_version=4)
    folder = language_folder(target or source, lang)
    built = build(notebook, stem, edition, lang)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(built, folder / f"{stem}.ipynb")
    return folder / f"{stem}.ipynb"


def with_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook (either edition, either language) whose exercise cells hold the reference
    solutions, as its language shows them (`solution_for`)."""
    solved = nbformat.from_dict(notebook)
    lang = notebook_language(notebook)
    for exercise, index in exercise_cells(notebook).items():
        solved.cells[index].source = solution_for(exercise, lang).rstrip("\n")
    return solved


def with_solve_calls(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook whose exercise cells call `solve()` (the self-paced edition's shortcut)."""
    solved = nbformat.from_dict(notebook)
    for exercise, index in exercise_cells(notebook).items():
        solved.cells[index].source = f'from checks import solve\nsolve("{exercise}", lab)'
    return solved


def main(argv: Sequence[str] | None = None) -> int:
    from checks.lessons import LessonNotTranslated

    parser = argparse.ArgumentParser(prog="python -m checks.editions",
                                     description=_("Build the course notebooks' editions from the exercises' source, "
                                                   "in English and Chinese."))
    parser.add_argument("--source", default=str(NOTEBOOKS), help=_("the English lessons (default: notebooks/)"))
    parser.add_argument("--out", help=_("target folder (default: the source folder, rewritten in place); the "
                                        "Chinese notebooks go to its zh/"))
    parser.add_argument("--edition", choices=EDITIONS, default="self-paced")
    parser.add_argument("--lang", choices=LANGUAGES, action="append",
                        help=_("only this language (repeatable; default: every language)"))
    parser.add_argument("--strict", action="store_true",
                        help=_("fail when a lesson has a text without its translation (default: skip that lesson)"))
    args = parser.parse_args(argv)
    source = Path(args.source)
    target = Path(args.out) if args.out else source
    skipped = 0
    for lang in args.lang or LANGUAGES:
        folder = language_folder(target, lang)
        for path in sorted(source.glob("*.ipynb")):
            try:
                written = write_lesson(path.stem, lang, source, target, args.edition)
            except LessonNotTranslated as exc:
                if args.strict:
                    raise
                skipped += 1
                stale = folder / path.name
                if stale.exists():
                    stale.unlink()
                    print(_("{lang}: removed {path}: its lesson changed since it was translated").format(
                        lang=lang, path=stale))
                if exc.missing:
                    print(ngettext("{lang}: skipped {stem}: {count} text without its translation (`python -m "
                                   "tools.lessons pending {stem}` lists it)",
                                   "{lang}: skipped {stem}: {count} texts without their translation (`python -m "
                                   "tools.lessons pending {stem}` lists them)", len(exc.missing)).format(
                                       lang=lang, stem=path.stem, count=len(exc.missing)))
                else:
                    print(_("{lang}: skipped {stem}: {reason}").format(lang=lang, stem=path.stem, reason=exc))
                continue
            print(f"{args.edition} ({lang}): {written}")
        if lang != "en":
            for orphan in sorted(folder.glob("*.ipynb")):
                if not (source / orphan.name).exists():
                    orphan.unlink()
                    print(_("{lang}: removed {path}: its English lesson is gone").format(lang=lang, path=orphan))
    if skipped:
        print(ngettext("{count} lesson has no complete translation yet; the others are built.",
                       "{count} lessons have no complete translation yet; the others are built.", skipped).format(
                           count=skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
