"""English that reaches a Chinese reader: runs of English words in what a notebook, a page or a
feedback file shows, once the words the Chinese edition keeps in English are taken out.

Kept in English on purpose (docs/glossary.md): names (clusters, tenants, topics, subscriptions),
code and identifiers, URLs, units, Pulsar's untranslated words (broker, bookie, bundle), and text
Pulsar or Docker wrote (always inside a translated sentence). tests/i18n/english_allowed.txt lists
the rest, one pattern per line with its reason after `  # `.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

ALLOWED_FILE = Path(__file__).with_name("i18n") / "english_allowed.txt"
CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese(text: str) -> bool:
    """Whether `text` holds a Chinese character."""
    return CJK.search(text) is not None

#: quoted text: `spans`, strings (a payload the lesson's code sends, a name), and quotations of Pulsar
QUOTED = re.compile(r"`[^`]*`|'[^'\n]*'|\"[^\"\n]*\"|“[^”]*”")
#: code and names: URLs, paths, identifiers with _ . / : = ( ), capitals, numbers with units
CODE = re.compile(r"\S+://\S+|\S*[_./:=()<>\[\]{}@#]\S*|\b[A-Z][A-Z0-9_]+\b"
                  r"|\b\d+(?:\.\d+)?\s*(?:ms|s|MiB|GiB|KiB|MB|GB|msg/s|%)?")
NAMES = re.compile(r"\b(?:beijing|shanghai|guangzhou|geolab|broker|brokers|bookie|bookies|bundle|Pulsar|Docker|"
                   r"JupyterLab|Jupyter|TDMQ|ZooKeeper|Python|pulsar-admin|full_mesh|one_way|failover|msg/s|ok|OK)\b",
                   re.IGNORECASE)
RUN = re.compile(r"[A-Za-z]{2,}(?:[ \t,]+[A-Za-z]{2,})+")


def allowed_patterns() -> list[re.Pattern[str]]:
    if not ALLOWED_FILE.exists():
        return []
    lines = (line.split("  # ")[0].strip() for line in ALLOWED_FILE.read_text(encoding="utf-8").splitlines())
    return [re.compile(line) for line in lines if line and not line.startswith("#")]


#: tags that end a text of their own: a table's cell, a row, a paragraph, a list item, a line break
BLOCK_END = re.compile(r"</(?:td|th|tr|p|li|div|h[1-6]|caption)\s*>|<br\s*/?>", re.I)


def text_of_html(markup: str) -> str:
    """The reader's text of `markup`, one line per table cell, paragraph or list item (two cells side by
    side, a topic name in one and another topic's name in the next, are not a sentence)."""
    without_code = re.sub(r"<(code|pre|script|style)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", BLOCK_END.sub("\n", without_code)))


def english_runs(text: str) -> list[str]:
    """Runs of two or more English words left in `text` (a line of a Chinese reader's output)."""
    for pattern in allowed_patterns():
        text = pattern.sub(" ", text)
    text = NAMES.sub(" ", CODE.sub(" ", QUOTED.sub(" ", text)))
    return [m.group(0) for m in RUN.finditer(text)]


def leaks(texts: list[str]) -> list[str]:
    """Each line with English left in it, with the English it has."""
    found = []
    for text in texts:
        for line in text.splitlines():
            runs = english_runs(line)
            if runs:
                found.append(f"{runs} in {line.strip()[:200]!r}")
    return found
