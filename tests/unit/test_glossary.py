"""Every Chinese message uses the glossary's terms (docs/glossary.csv), never a variant to avoid, and
the glossary's two forms (the CSV and the table in docs/glossary.md) say the same. The lessons' catalogs
(notebooks/locale/*/LC_MESSAGES/*.po) are held to the same glossary by tests/unit/test_lessons.py, through
tools.lessons.glossary_slips (which also reads a text's Markdown: fenced code, HTML tags, link targets);
the last test here makes sure that check forbids every variant to avoid, as this one does."""

from __future__ import annotations

import csv
from pathlib import Path

from babel.messages.pofile import read_po

from tools.lessons import MESSAGE_CODE, glossary_slips

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = list(csv.DictReader((ROOT / "docs" / "glossary.csv").read_text(encoding="utf-8").splitlines()))
CATALOGS = sorted((ROOT / "labs" / "locale").glob("*/LC_MESSAGES/*.po"))
LESSON_CATALOGS = sorted((ROOT / "notebooks" / "locale").glob("*/LC_MESSAGES/*.po"))


def translations() -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for path in CATALOGS:
        with path.open("rb") as handle:
            for message in read_po(handle):
                if not message.id:
                    continue
                source = message.id if isinstance(message.id, str) else " ".join(message.id)
                target = message.string if isinstance(message.string, str) else " ".join(message.string)
                if target:
                    pairs.append((source, target))
    return pairs


def test_messages_use_the_glossarys_terms() -> None:
    wrong = [f"{source!r} -> {target!r}: {slip}" for source, target in translations()
             for slip in glossary_slips(source, target, MESSAGE_CODE)]
    assert not wrong, "\n".join(wrong)


def test_the_glossary_table_is_the_csv() -> None:
    table = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| English")]
    assert [r.split(" | ")[:2] for r in rows] == [[f"| {t['english']}", t["chinese"]] for t in GLOSSARY]
    assert len({t["english"] for t in GLOSSARY}) == len(GLOSSARY)


def test_the_lessons_check_forbids_every_variant_to_avoid() -> None:
    assert LESSON_CATALOGS, "no lesson catalogs under notebooks/locale: is this a checkout?"
    missed = []
    for term in GLOSSARY:
        for avoided in filter(None, term["avoid"].split("|")):
            slips = glossary_slips("A plain text.", f"一段用了{avoided}的文字。")
            if f"uses {avoided!r}: the glossary says {term['chinese']!r}" not in slips:
                missed.append(f"{avoided!r} (the glossary says {term['chinese']!r}): {slips}")
    assert not missed, "tools.lessons.glossary_slips lets variants to avoid into the lessons: " + "; ".join(missed)
