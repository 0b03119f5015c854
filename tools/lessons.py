"""The lessons' Chinese text, for the people who translate it (a developer tool; not shipped).

    python -m tools.lessons status                 each lesson: how many of its texts are translated
    python -m tools.lessons pending STEM           the lesson's untranslated texts, as JSON {msgid: ""}
    python -m tools.lessons apply STEM FILE.json   fill the lesson's catalog from FILE (a filled-in pending)

STEM is a lesson's file stem (``01_replication_basics``). Each lesson has its own catalog,
notebooks/locale/zh_CN/LC_MESSAGES/STEM.po, so translators of different lessons never collide. A
text is a whole Markdown cell, or the text of a full-line ``#`` comment of a code cell. `pending`
and `apply` first update the lesson's catalog from the English notebook. `apply` refuses a
translation that breaks the Markdown (its inline `code` spans, fenced code blocks, HTML tags,
heading levels, links, tables and {placeholders} must be the English text's; a comment stays one
line), reports the glossary's terms (docs/glossary.csv) a translation misses or avoids, and, once the
lesson is complete, builds its Chinese notebook notebooks/zh/STEM.ipynb: commit it with the .po.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import nbformat

from checks.lessons import (
    LOCALE,
    NOTEBOOKS,
    ROOT,
    catalog_path,
    extract,
    lesson_paths,
    locked,
    pieces,
    read_catalog,
    skeleton_problems,
    untranslated,
    write_catalog,
)

GLOSSARY = ROOT / "docs" / "glossary.csv"


#: What is code in a message (the glossary does not apply to it): `spans`, {placeholders}, calls and dotted
#: names (``Lab.start(...)``, ``lab.admin``), which keep their English in every language.
MESSAGE_CODE = (r"`[^`]*`", r"\{[^{}]*\}", r"[\w.]*\w\([^()]*\)", r"\b\w+[._=]\w[\w.=]*")
#: ... and in a lesson's Markdown, also fenced blocks, HTML tags and link targets.
MARKDOWN_CODE = (r"```.*?```", *MESSAGE_CODE, r"<[^<>]*>", r"\]\([^)]*\)")


def prose(text: str, code: Sequence[str] = MARKDOWN_CODE) -> str:
    """A text's words without its code."""
    for pattern in code:
        text = re.sub(pattern, " ", text, flags=re.S)
    return text


@cache
def glossary() -> tuple[dict[str, str], ...]:
    """docs/glossary.csv's terms (english, chinese, avoid, note), read once."""
    return tuple(csv.DictReader(GLOSSARY.read_text(encoding="utf-8").splitlines()))


def glossary_slips(msgid: str, msgstr: str, code: Sequence[str] = MARKDOWN_CODE) -> list[str]:
    """The glossary's terms `msgid` names (outside its `code`) that `msgstr` does not use, and the
    variants to avoid it uses."""
    slips: list[str] = []
    words = prose(msgid, code)
    for term in glossary():
        named = re.compile(rf"\b{re.escape(term['english'])}(?:s|es|\(s\))?\b", re.IGNORECASE)
        if named.search(words) and term["chinese"] not in msgstr:
            slips.append(f"names {term['english']!r}: the glossary says {term['chinese']!r}")
        for avoided in filter(None, term["avoid"].split("|")):
            if avoided in msgstr:
                slips.append(f"uses {avoided!r}: the glossary says {term['chinese']!r}")
    return slips


def pending(stem: str, notebooks: Path = NOTEBOOKS, locale_dir: Path = LOCALE) -> dict[str, str]:
    """The lesson's untranslated texts (its catalog updated first), in the notebook's order."""
    (path,) = lesson_paths(notebooks, [stem])
    extract([stem], notebooks=notebooks, locale_dir=locale_dir)
    return {piece.msgid: "" for piece in untranslated(nbformat.read(path, as_version=4), stem,
                                                      locale_dir=locale_dir)}


def apply(stem: str, translations: dict[str, object], notebooks: Path = NOTEBOOKS,
          locale_dir: Path = LOCALE) -> tuple[list[str], list[str]]:
    """Fill lesson `stem`'s catalog from `translations`; returns (refused, warnings)."""
    (lesson,) = lesson_paths(notebooks, [stem])
    extract([stem], notebooks=notebooks, locale_dir=locale_dir)
    kinds = {p.msgid: p.kind for p in pieces(nbformat.read(lesson, as_version=4))}
    refused: list[str] = []
    warnings: list[str] = []
    path = catalog_path(stem, locale_dir=locale_dir)
    with locked(stem):
        catalog = read_catalog(path)
        for msgid, msgstr in translations.items():
            short = " ".join(msgid.split())[:70]
            message = catalog.get(msgid)
            if message is None or msgid not in kinds:
                refused.append(f"not a text of {stem} (was the English lesson changed?): {short!r}")
                continue
            if not isinstance(msgstr, str):
                refused.append(f"{short!r}: expected a string, found {type(msgstr).__name__}")
                continue
            if not msgstr.strip():
                continue  # left for later
            problems = skeleton_problems(msgid, msgstr, kinds[msgid])
            if problems:
                refused.append(f"{short!r}: " + "; ".join(problems))
                continue
            warnings += [f"{short!r} {slip}" for slip in glossary_slips(msgid, msgstr)]
            message.string = msgstr
            message.flags.discard("fuzzy")
        write_catalog(path, catalog)
    return refused, warnings


def build_chinese(stem: str) -> Path:
    """Write notebooks/zh/STEM.ipynb from the English lesson and the catalogs."""
    from checks.editions import write_lesson

    return write_lesson(stem, "zh")


def status() -> list[tuple[str, int, int]]:
    rows = []
    for path in lesson_paths(NOTEBOOKS):
        notebook = nbformat.read(path, as_version=4)
        total = len({p.msgid for p in pieces(notebook)})
        left = len({p.msgid for p in untranslated(notebook, path.stem)})
        rows.append((path.stem, total - left, total))
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["status"] and len(argv) == 1:
        for stem, done, total in status():
            print(f"{stem:<24} {done:>3}/{total:<3} {'complete' if done == total else ''}")
        return 0
    if argv[:1] == ["pending"] and len(argv) == 2:
        print(json.dumps(pending(argv[1]), ensure_ascii=False, indent=1))
        return 0
    if argv[:1] == ["apply"] and len(argv) == 3:
        stem = argv[1]
        given = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        if not isinstance(given, dict):
            print(f"{argv[2]}: expected a JSON object {{msgid: translation}}, found {type(given).__name__}")
            return 2
        refused, warnings = apply(stem, given)
        for line in refused:
            print(f"REFUSED {line}")
        for line in warnings:
            print(f"glossary: {line}")
        left = pending(stem)
        filled = sum(1 for value in given.values() if isinstance(value, str) and value.strip())
        print(f"{stem}: {filled - len(refused)} text(s) filled in, {len(refused)} refused, "
              f"{len(left)} still untranslated ({catalog_path(stem).relative_to(ROOT)})")
        if not left:
            written = build_chinese(stem)
            print(f"{stem} is complete: wrote {written.relative_to(ROOT)}. Commit it with the .po.")
        return 1 if refused else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
