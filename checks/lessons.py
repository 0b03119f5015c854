"""The lessons' Chinese text: one gettext catalog per English lesson, and the lesson made from them.

The English notebooks (notebooks/NN_*.ipynb) stay the source. Each lesson's texts have their Chinese
twins in ``notebooks/locale/zh_CN/LC_MESSAGES/<stem>.po``:

- one msgid per Markdown cell of the lesson (the cell's whole source);
- one msgid per full-line ``#`` comment of a code cell (the text after ``# ``: the indentation and
  the ``#`` stay out of it, so nothing of the code can change).

An exercise's cells (``geolab.exercise`` metadata) are not the lesson's: `checks.editions` makes them
from the exercise's own texts, translated in the runtime catalog (labs/locale/zh_CN/.../geolab.po).

`python -m checks.lessons extract` updates every lesson catalog from the English notebooks (keeping
the translations of the texts that are still there, dropping the others); `python -m checks.lessons
status` counts what is left; `python -m tools.lessons pending|apply STEM` is the translators' tool.
`translate()` makes a lesson's Chinese text and refuses a lesson with a text left untranslated or a
translation whose Markdown skeleton (code spans, fenced code, HTML tags, headings, links, tables,
{placeholders}) is not its English text's.

This is a build tool of a checkout: the catalogs are not package data.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import re
import sys
import tokenize
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from checks.errors import GradingError
from labs.i18n import LOCALES, PLACEHOLDER, _, ngettext

ROOT = Path(__file__).resolve().parents[1]
#: The English lessons (a checkout's notebooks/ folder).
NOTEBOOKS = ROOT / "notebooks"
#: The lessons' catalogs: LOCALE/<zh_CN>/LC_MESSAGES/<stem>.po.
LOCALE = NOTEBOOKS / "locale"
LOCKS = ROOT / "build" / "i18n"
PROJECT = "Pulsar GeoLab"
HEADER = """\
# Simplified Chinese text of the lesson {stem} (notebooks/{stem}.ipynb).
# One msgid per Markdown cell (the whole cell) and per full-line `#` comment of a code cell (its text);
# the exercises' texts are translated in labs/locale/zh_CN/LC_MESSAGES/geolab.po.
# `python -m checks.lessons extract` updates this file from the English notebook;
# `python -m tools.lessons pending {stem}` lists what is left, `apply {stem} FILE.json` fills it in."""

MARKDOWN = "markdown"
COMMENT = "comment"
_FULL_LINE_COMMENT = re.compile(r"^(?P<prefix>[ \t]*#+[ \t]*)(?P<text>.*?)(?P<suffix>[ \t]*)$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Piece:
    """One text of a lesson to translate: a Markdown cell, or a comment line (1-based) of a code cell."""

    msgid: str
    cell_id: str
    kind: str
    line: int | None = None

    @property
    def note(self) -> str:
        """Where the text is, for the catalog's comment (English: the catalog is the same for everyone)."""
        return f"cell {self.cell_id} (Markdown)" if self.kind == MARKDOWN else f"cell {self.cell_id}, line {self.line}"

    def where(self) -> str:
        """Where the text is, for a reader."""
        if self.kind == MARKDOWN:
            return _("cell {cell_id} (Markdown)").format(cell_id=self.cell_id)
        return _("cell {cell_id}, comment on line {line}").format(cell_id=self.cell_id, line=self.line)


class LessonNotTranslated(GradingError):
    """A lesson's Chinese edition cannot be made: a text has no translation, or a translation breaks
    its Markdown; `missing` are the texts without one."""

    def __init__(self, message: str, missing: Sequence[Piece] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


def _read(path: Path) -> nbformat.NotebookNode:
    notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def is_exercise_cell(cell: nbformat.NotebookNode) -> bool:
    """A cell an exercise owns (``geolab.exercise`` metadata): built from the exercise, not the lesson."""
    geolab = cell.get("metadata", {}).get("geolab", {})
    return isinstance(geolab, dict) and bool(geolab.get("exercise"))


def comment_lines(source: str) -> dict[int, tuple[str, str, str]]:
    """The full-line comments of a code cell worth translating: 0-based line -> (prefix, text, suffix),
    where the prefix is the indentation, the ``#`` and the space after it. A ``#`` inside a string
    is not a comment; a comment without a letter (``# ---``) is kept as it is."""
    lines = source.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        commented = {t.start[0] - 1 for t in tokens
                     if t.type == tokenize.COMMENT and not t.line[:t.start[1]].strip()}
    except (tokenize.TokenError, SyntaxError):  # not Python (a magic, half-typed code): by its lines
        commented = {index for index, line in enumerate(lines) if line.lstrip().startswith("#")}
    found: dict[int, tuple[str, str, str]] = {}
    for index in sorted(commented):
        if index >= len(lines):
            continue
        match = _FULL_LINE_COMMENT.match(lines[index])
        if match and _LETTER.search(match["text"]):
            found[index] = (match["prefix"], match["text"], match["suffix"])
    return found


def pieces(notebook: nbformat.NotebookNode) -> list[Piece]:
    """The texts of a lesson to translate, in the notebook's order (exercise cells left out)."""
    found: list[Piece] = []
    for cell in notebook.cells:
        if is_exercise_cell(cell):
            continue
        cell_id = str(cell.get("id", ""))
        if cell.cell_type == "markdown" and cell.source.strip():
            found.append(Piece(cell.source, cell_id, MARKDOWN))
        elif cell.cell_type == "code":
            for index, (_prefix, text, _suffix) in comment_lines(cell.source).items():
                found.append(Piece(text, cell_id, COMMENT, index + 1))
    return found


def catalog_path(stem: str, lang: str = "zh", locale_dir: Path = LOCALE) -> Path:
    """The catalog of lesson `stem` in `lang`."""
    return locale_dir / LOCALES[lang] / "LC_MESSAGES" / f"{stem}.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parents[1].name, domain=path.stem)


def _done(string: object) -> bool:
    return isinstance(string, str) and bool(string.strip())


def translations(stem: str, lang: str = "zh", locale_dir: Path = LOCALE) -> dict[str, str]:
    """The translated texts of lesson `stem` (msgid -> msgstr; untranslated and fuzzy ones left out)."""
    path = catalog_path(stem, lang, locale_dir)
    if not path.exists():
        return {}
    return {str(m.id): str(m.string) for m in read_catalog(path)
            if m.id and _done(m.string) and not m.fuzzy}


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """One writer at a time, across processes, for what the file `lock` guards."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def locked(stem: str) -> AbstractContextManager[None]:
    """One writer at a time for a lesson's catalog (translators of different lessons do not wait)."""
    return exclusive(LOCKS / f"lesson-{stem}.lock")


def _catalog_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, omit_header=False)
    return out.getvalue()


def write_catalog(path: Path, catalog: Catalog) -> bool:
    """Write `catalog` to `path` when its text changed; True when it did."""
    data = _catalog_bytes(catalog)
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


@dataclass(frozen=True)
class Extracted:
    """What extracting one lesson did to its catalog."""

    stem: str
    total: int
    translated: int
    added: int
    dropped: int
    written: bool


def new_catalog(stem: str, lang: str, creation_date: datetime | None = None) -> Catalog:
    catalog = Catalog(locale=LOCALES[lang], domain=stem, project=PROJECT, version="0.1.0", charset="utf-8",
                      fuzzy=False, header_comment=HEADER.format(stem=stem),
                      creation_date=creation_date or datetime.now(timezone.utc).replace(second=0, microsecond=0),
                      language_team="Pulsar GeoLab <zh_CN>")
    return catalog


def update_catalog(notebook: nbformat.NotebookNode, stem: str, lang: str = "zh",
                   locale_dir: Path = LOCALE) -> Extracted:
    """Make lesson `stem`'s catalog hold exactly the notebook's texts, keeping their translations."""
    path = catalog_path(stem, lang, locale_dir)
    old = read_catalog(path) if path.exists() else None
    kept = {str(m.id): m for m in old if m.id} if old is not None else {}
    created = old.creation_date if old is not None else None
    catalog = new_catalog(stem, lang, created if isinstance(created, datetime) else None)
    for piece in pieces(notebook):
        note = piece.note
        message = catalog.get(piece.msgid)
        if message is not None:
            message.auto_comments.append(note)
            continue
        previous = kept.get(piece.msgid)
        message = catalog.add(piece.msgid, previous.string if previous is not None else "",
                              auto_comments=[note],
                              user_comments=previous.user_comments if previous is not None else ())
        assert message is not None
        message.flags.clear()  # lesson texts are not format strings, whatever Babel guesses from their braces
        if previous is not None and previous.fuzzy:
            message.flags.add("fuzzy")
    texts = {str(m.id) for m in catalog if m.id}
    written = write_catalog(path, catalog)
    return Extracted(stem, len(texts), sum(1 for m in catalog if m.id and _done(m.string) and not m.fuzzy),
                     len(texts - set(kept)), len(set(kept) - texts), written)


def lesson_paths(notebooks: Path = NOTEBOOKS, stems: Sequence[str] = ()) -> list[Path]:
    """The English lessons (all of them, or those of `stems`).

    Raises:
        GradingError: a stem names no lesson.
    """
    found = {p.stem: p for p in sorted(notebooks.glob("*.ipynb"))}
    unknown = [s for s in stems if s not in found]
    if unknown:
        raise GradingError(_("No lesson {unknown} in {folder}; expected one of {stems}.").format(
            unknown=unknown, folder=notebooks, stems=sorted(found)))
    return [found[s] for s in stems] if stems else list(found.values())


def extract(stems: Sequence[str] = (), lang: str = "zh", notebooks: Path = NOTEBOOKS,
            locale_dir: Path = LOCALE) -> list[Extracted]:
    """Update the catalogs of the lessons `stems` (default: all) from their English notebooks; with
    every lesson, a catalog whose lesson is gone is removed."""
    results = []
    for path in lesson_paths(notebooks, stems):
        with locked(path.stem):
            results.append(update_catalog(_read(path), path.stem, lang, locale_dir))
    if not stems:
        folder = catalog_path("x", lang, locale_dir).parent
        lessons = {p.stem for p in notebooks.glob("*.ipynb")}
        for stale in sorted(folder.glob("*.po")) if folder.is_dir() else []:
            if stale.stem not in lessons:
                stale.unlink()
                results.append(Extracted(stale.stem, 0, 0, 0, -1, True))
    return results


def untranslated(notebook: nbformat.NotebookNode, stem: str, lang: str = "zh",
                 locale_dir: Path = LOCALE) -> list[Piece]:
    """The lesson's texts that have no translation in its catalog."""
    done = translations(stem, lang, locale_dir)
    return [p for p in pieces(notebook) if p.msgid not in done]


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def translate(notebook: nbformat.NotebookNode, stem: str, lang: str = "zh",
              locale_dir: Path = LOCALE) -> nbformat.NotebookNode:
    """The lesson in `lang`: its Markdown cells and code comments from the lesson's catalog, all else
    (cells, ids, metadata, code, exercise cells) as it is; ``metadata.geolab.lang`` set to `lang`.

    Raises:
        LessonNotTranslated: a text of the lesson has no translation, or a translation's Markdown
            skeleton is not its English text's.
    """
    path = catalog_path(stem, lang, locale_dir)
    if not path.exists():
        raise LessonNotTranslated(
            _("Lesson {stem} has no {lang!r} catalog ({catalog}): its {lang!r} edition is built from the English "
              "lesson in a checkout of the course. There, run `python -m checks.lessons extract` and translate it "
              "(`python -m tools.lessons pending {stem}`); elsewhere, take the {lang!r} notebooks as shipped: "
              "`GEOLAB_LANG={lang} geolab notebooks DIR`.").format(stem=stem, lang=lang, catalog=_relative(path)),
            pieces(notebook))
    done = translations(stem, lang, locale_dir)
    fix = _("Translate it in {catalog}: `python -m tools.lessons pending {stem}` lists the texts left, "
            "`python -m tools.lessons apply {stem} FILE.json` fills them in (after a change to the English "
            "lesson, `python -m checks.lessons extract` first).").format(catalog=_relative(path), stem=stem)
    missing = [p for p in pieces(notebook) if p.msgid not in done]
    if missing:
        first = missing[0]
        raise LessonNotTranslated(
            ngettext("notebooks/{stem}.ipynb has {count} text without its translation; the first: {where}: "
                     "{msgid!r}. {fix}",
                     "notebooks/{stem}.ipynb has {count} texts without their translation; the first: {where}: "
                     "{msgid!r}. {fix}", len(missing)).format(
                stem=stem, count=len(missing), where=first.where(), msgid=_short(first.msgid), fix=fix),
            missing)
    for piece in pieces(notebook):
        problems = skeleton_problems(piece.msgid, done[piece.msgid], piece.kind)
        if problems:
            raise LessonNotTranslated(
                _("notebooks/{stem}.ipynb, {where}: the translation of {msgid!r} breaks the lesson: {problems}. "
                  "Correct it in {catalog} (`python -m tools.lessons apply {stem} FILE.json` checks it).").format(
                    stem=stem, where=piece.where(), msgid=_short(piece.msgid), problems="; ".join(problems),
                    catalog=_relative(path)))
    translated: nbformat.NotebookNode = nbformat.from_dict(notebook)  # type: ignore[no-untyped-call]
    for cell in translated.cells:
        if is_exercise_cell(cell):
            continue
        if cell.cell_type == "markdown" and cell.source.strip():
            cell.source = done[cell.source]
        elif cell.cell_type == "code":
            lines = cell.source.split("\n")
            for index, (prefix, text, suffix) in comment_lines(cell.source).items():
                lines[index] = f"{prefix}{done[text]}{suffix}"
            cell.source = "\n".join(lines)
    translated.metadata.setdefault("geolab", {})["lang"] = lang
    return translated


def _relative(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


# --- the Markdown skeleton a translation keeps ---------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
_AUTOLINK = re.compile(r"<(?:https?|mailto):[^>\s]*>")
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*>")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)", re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")
_TABLE_ROW = re.compile(r"^ {0,3}\|.*$", re.M)


def split_code(text: str) -> tuple[list[str], str]:
    """A Markdown text's fenced code blocks (whole, in order) and the rest without them."""
    blocks: list[str] = []
    rest: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            rest.append(lines[index])
            index += 1
            continue
        fence = opening.group(1)
        end = index + 1
        while end < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$",
                                                 lines[end]):
            end += 1
        blocks.append("\n".join(lines[index:end + 1]))
        rest.append("")
        index = end + 1
    return blocks, "\n".join(rest)


@dataclass(frozen=True)
class Skeleton:
    """What a translation of a Markdown text keeps: its code, tags, headings, links, tables, placeholders."""

    fenced: tuple[str, ...]
    code_spans: tuple[tuple[str, int], ...]
    tags: tuple[str, ...]
    headings: tuple[tuple[int, int], ...]
    links: int
    table_rows: tuple[int, ...]
    placeholders: tuple[tuple[str, int], ...]


def skeleton(text: str) -> Skeleton:
    fenced, rest = split_code(text)
    spans = [m.group(0) for m in _CODE_SPAN.finditer(rest)]
    prose = _CODE_SPAN.sub(" ", rest)
    links = len(_LINK.findall(prose)) + len(_AUTOLINK.findall(prose))
    prose = _AUTOLINK.sub(" ", prose)
    return Skeleton(
        fenced=tuple(fenced),
        code_spans=tuple(sorted(Counter(spans).items())),
        tags=tuple(f"<{m.group(1)}{m.group(2).lower()}>" for m in _HTML_TAG.finditer(prose)),
        headings=tuple(sorted(Counter(len(m.group(1)) for m in _HEADING.finditer(prose)).items())),
        links=links,
        table_rows=tuple(row.replace("\\|", "").count("|") for row in _TABLE_ROW.findall(prose)),
        placeholders=tuple(sorted(Counter(PLACEHOLDER.findall(prose)).items())),
    )


def _counted(items: tuple[tuple[str, int], ...]) -> Counter[str]:
    return Counter(dict(items))


def skeleton_problems(msgid: str, msgstr: str, kind: str = MARKDOWN) -> list[str]:
    """Why `msgstr` cannot stand for `msgid` (empty: it can): it must keep the English text's inline
    `code` spans, fenced code blocks, HTML tags, heading levels, link count, table shape and
    {placeholders}; a code comment's translation stays one line."""
    if not msgstr.strip():
        return [_("the translation is empty")]
    problems: list[str] = []
    if kind == COMMENT and "\n" in msgstr:
        problems.append(_("a code comment's translation must stay on one line"))
    source, target = skeleton(msgid), skeleton(msgstr)
    if source.fenced != target.fenced:
        problems.append(_("the fenced code blocks differ (expected them unchanged: {expected})").format(
            expected=list(source.fenced)))
    if source.code_spans != target.code_spans:
        lost = sorted((_counted(source.code_spans) - _counted(target.code_spans)).elements())
        added = sorted((_counted(target.code_spans) - _counted(source.code_spans)).elements())
        problems.append(_("the inline code spans differ (missing {lost}, added {added}); keep every `code` span "
                          "exactly as in English").format(lost=lost, added=added))
    if source.tags != target.tags:
        problems.append(_("the HTML tags differ (expected {expected}, found {actual})").format(
            expected=list(source.tags), actual=list(target.tags)))
    if source.headings != target.headings:
        problems.append(_("the headings differ (expected levels {expected}, found {actual})").format(
            expected=dict(source.headings), actual=dict(target.headings)))
    if source.links != target.links:
        problems.append(_("the number of hyperlinks differs (expected {expected}, found {actual})").format(
            expected=source.links, actual=target.links))
    if source.table_rows != target.table_rows:
        problems.append(_("the table's shape differs (expected rows with {expected} `|` each, found {actual})").format(
            expected=list(source.table_rows), actual=list(target.table_rows)))
    if source.placeholders != target.placeholders:
        problems.append(_("the placeholders in braces differ (expected {expected}, found {actual})").format(
            expected=sorted(_counted(source.placeholders).elements()),
            actual=sorted(_counted(target.placeholders).elements())))
    return problems


def code_without_comments(source: str) -> str:
    """A code cell's code with its comments taken out (full-line comments and trailing ones): what two
    editions of a cell must share."""
    lines = source.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    dropped: set[int] = set()
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        row, column = token.start[0] - 1, token.start[1]
        if not lines[row][:column].strip():
            dropped.add(row)
        else:
            lines[row] = lines[row][:column].rstrip()
    return "\n".join(line for index, line in enumerate(lines) if index not in dropped)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.lessons",
                                     description=_("The lessons' Chinese catalogs (notebooks/locale)."))
    sub = parser.add_subparsers(dest="action", required=True)
    extracting = sub.add_parser("extract", help=_("update every lesson catalog from the English notebooks"))
    extracting.add_argument("stems", nargs="*", help=_("only these lessons (file stems, e.g. 01_replication_basics)"))
    status = sub.add_parser("status", help=_("how many texts of each lesson are translated"))
    status.add_argument("stems", nargs="*", help=_("only these lessons"))
    args = parser.parse_args(argv)
    if args.action == "extract":
        for result in extract(args.stems):
            if result.dropped < 0:
                print(_("{stem}: its lesson is gone; catalog removed").format(stem=result.stem))
                continue
            message = (_("{stem}: {translated}/{total} translated (+{added} new, -{dropped} dropped); catalog updated")
                       if result.written else _("{stem}: {translated}/{total} translated (unchanged)"))
            print(message.format(stem=result.stem, translated=result.translated, total=result.total,
                                 added=result.added, dropped=result.dropped))
        return 0
    incomplete = 0
    for path in lesson_paths(NOTEBOOKS, args.stems):
        notebook = _read(path)
        total = len({p.msgid for p in pieces(notebook)})
        left = len({p.msgid for p in untranslated(notebook, path.stem)})
        incomplete += bool(left)
        print(_("{stem}: {translated}/{total} translated").format(stem=path.stem, translated=total - left,
                                                                  total=total))
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())

