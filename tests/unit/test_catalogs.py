"""The Chinese catalog keeps up with the code: every marked message has a translation, with the same
{placeholders}, and the compiled catalog the package reads is the one the .po says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from labs.i18n import PLACEHOLDER

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "labs" / "locale" / "zh_CN" / "LC_MESSAGES" / "geolab.po"
MO = PO.with_suffix(".mo")


def extracted(tmp_path: Path) -> set[str]:
    """The messages `make messages` would extract now."""
    pot = tmp_path / "geolab.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "pyproject.toml",
                    "--no-location", "-o", str(pot), "labs", "checks"], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_every_marked_message_has_a_chinese_translation(tmp_path: Path) -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    missing = sorted(extracted(tmp_path) - {k for k, m in translated.items()
                                            if m.string and all(m.string if isinstance(m.string, tuple)
                                                                else [m.string]) and not m.fuzzy})
    assert not missing, (f"{len(missing)} message(s) lack a translation; run `make messages` and translate them: "
                         f"{missing[:5]}")
    assert not catalog.obsolete, "obsolete entries: run `make messages` (it drops them)"


def test_translations_keep_their_placeholders() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[-1]
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            if text:
                assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(source)), (source, text)


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_the_compiled_catalog_is_the_po() -> None:
    with PO.open("rb") as handle:
        po = {_key(m.id): _key(m.string) for m in read_po(handle) if m.id and m.string and not m.fuzzy}
    with MO.open("rb") as handle:
        mo = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    assert mo == po, "labs/locale/zh_CN/LC_MESSAGES/geolab.mo is stale: run `make messages` and commit it"
