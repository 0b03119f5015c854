"""The Chinese catalog, for the people who translate it (a developer tool; not shipped).

    python -m tools.catalog pending [PATH ...]   untranslated messages, each with where it is used
    python -m tools.catalog apply FILE.json      extract, update, fill msgstrs from FILE, compile

FILE.json maps each English msgid to its Chinese text (a list of two texts for an ngettext plural).
`apply` runs what `make messages` runs, under a lock (several people may translate in one working
tree), refuses a translation whose {placeholders} differ from its msgid's, and reports glossary slips
and the messages still untranslated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

from checks.lessons import exclusive
from labs.i18n import PLACEHOLDER

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "labs" / "locale" / "zh_CN" / "LC_MESSAGES" / "geolab.po"
BUILD = ROOT / "build" / "i18n"
PYBABEL = str(Path(sys.executable).parent / "pybabel")


def locked() -> AbstractContextManager[None]:
    """One writer at a time for the runtime catalog (several translators share one working tree)."""
    return exclusive(BUILD / "catalog.lock")


def _run(*args: str) -> None:
    subprocess.run([PYBABEL, *args], cwd=ROOT, check=True, capture_output=True, text=True)


def update() -> None:
    """`make messages` without its install step: extract, update the zh catalog, compile."""
    _run("extract", "-F", "pyproject.toml", "--no-location", "--sort-output", "--project", "Pulsar GeoLab",
         "-o", str(BUILD / "geolab.pot"), "labs", "checks")
    _run("update", "-i", str(BUILD / "geolab.pot"), "-d", "labs/locale", "-D", "geolab", "-l", "zh_CN",
         "--no-fuzzy-matching", "--ignore-obsolete")
    _run("compile", "-d", "labs/locale", "-D", "geolab")


def _key(message_id: object) -> str:
    return message_id[0] if isinstance(message_id, tuple) else str(message_id)


def _done(message: Message) -> bool:
    string = message.string
    return bool(string) and all(string if isinstance(string, tuple) else [string])


def pending(paths: list[str]) -> dict[str, list[str]]:
    """Untranslated msgids and the places (file:line) that use them, only those under `paths` when given."""
    with locked():
        update()
        _run("extract", "-F", "pyproject.toml", "-o", str(BUILD / "located.pot"), "labs", "checks")
    with PO.open("rb") as handle:
        done = {_key(m.id) for m in read_po(handle) if m.id and _done(m)}
    with (BUILD / "located.pot").open("rb") as handle:
        located = {_key(m.id): [f"{f}:{n}" for f, n in m.locations] for m in read_po(handle) if m.id}
    return {k: where for k, where in located.items() if k not in done
            and (not paths or any(w.startswith(tuple(paths)) for w in where))}


def apply(translations: dict[str, str | list[str]]) -> list[str]:
    """Fill the catalog from `translations`; returns the problems (placeholders, unknown msgids)."""
    problems: list[str] = []
    with locked():
        update()
        with PO.open("rb") as handle:
            catalog = read_po(handle)
        known = set()
        for message in catalog:
            if not message.id:
                continue
            key = _key(message.id)
            known.add(key)
            if key not in translations:
                continue
            value = translations[key]
            texts = list(value) if isinstance(value, list) else [value]
            sources = list(message.id) if isinstance(message.id, tuple) else [message.id]
            wanted = set(PLACEHOLDER.findall(sources[-1]))
            if any(set(PLACEHOLDER.findall(t)) != wanted for t in texts):
                problems.append(f"placeholders differ: {key!r} -> {value!r}")
                continue
            message.string = tuple(texts) if isinstance(message.id, tuple) else texts[0]
            message.flags.discard("fuzzy")
        problems += [f"not a msgid of the catalog (was the code changed?): {k!r}" for k in translations
                     if k not in known]
        with PO.open("wb") as handle:
            write_po(handle, catalog, width=120, omit_header=False)
        _run("compile", "-d", "labs/locale", "-D", "geolab")
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["pending"]:
        for key, where in sorted(pending(argv[1:]).items()):
            print(json.dumps(key, ensure_ascii=False), " # " + " ".join(where))
        return 0
    if argv[:1] == ["apply"] and len(argv) == 2:
        problems = apply(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
        print("\n".join(problems) or "applied")
        left = pending([])
        print(f"{len(left)} message(s) of the whole catalog still untranslated")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
