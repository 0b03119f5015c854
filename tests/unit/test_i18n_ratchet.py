"""No new English-only message: the messages a learner reads that are not marked for translation yet
are counted per module, and a module's count may only go down (tests/unit/i18n_ratchet.json).

A message is a string (or f-string) given to an exception a module raises, or to `progress(...)`,
`print(...)` or `self.log(...)`, that is not wrapped in `_()`. Marking one lowers its module's count;
the baseline must follow (`python -m tests.unit.test_i18n_ratchet` rewrites it), so the Chinese
edition's remaining work is always this file's total.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("i18n_ratchet.json")
SINKS = {"progress", "print", "log"}
#: Not the learner's: the image build files, the reference solutions (code), the i18n module itself.
SKIPPED = ("labs/dockerfiles/", "checks/solutions/", "labs/i18n.py")


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                               and bool(node.value.strip()))


def _unmarked(arguments: list[ast.expr]) -> int:
    return sum(1 for argument in arguments if _is_text(argument))


def unmarked_messages(path: Path) -> int:
    count = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            count += _unmarked(node.exc.args)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in SINKS:
                count += _unmarked(node.args)
    return count


def counts() -> dict[str, int]:
    found: dict[str, int] = {}
    for package in ("labs", "checks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(SKIPPED) or relative in SKIPPED:
                continue
            count = unmarked_messages(path)
            if count:
                found[relative] = count
    return found


def test_no_module_adds_an_english_only_message() -> None:
    baseline = json.loads(BASELINE.read_text())
    now = counts()
    grew = {m: (baseline.get(m, 0), c) for m, c in now.items() if c > baseline.get(m, 0)}
    assert not grew, (f"English-only messages added (module: before, now): {grew}. Wrap them in _() from "
                      "labs.i18n, run `make messages` and translate them in labs/locale/zh_CN.")
    shrank = {m: (b, now.get(m, 0)) for m, b in baseline.items() if now.get(m, 0) < b}
    assert not shrank, (f"Fewer English-only messages than the baseline says (module: before, now): {shrank}; "
                        "lower it: python -m tests.unit.test_i18n_ratchet")


if __name__ == "__main__":
    BASELINE.write_text(json.dumps(counts(), indent=1, sort_keys=True) + "\n")
    print(f"{BASELINE}: {sum(counts().values())} English-only messages", file=sys.stderr)
