"""No new English-only message: the messages a learner reads that are not marked for translation yet
are counted per module, and a module's count may only go down (tests/unit/i18n_ratchet.json).

A message is a string (or f-string) given to an exception a module raises, to `progress(...)`,
`print(...)` or `self.log(...)`, or as a reader's text to an exercise's parts (`Exercise`,
`predict_exercise`, `Question`, `Case`, `Outcome`, `CaseResult`), that is not wrapped in `_()`,
`N_()` or `Text()`. Marking one lowers its module's count;
the baseline must follow (`python -m tests.unit.test_i18n_ratchet` rewrites it), so the Chinese
edition's remaining work is always this file's total.
"""

from __future__ import annotations

import ast
import json
import re
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("i18n_ratchet.json")
SINKS = {"progress", "print", "log"}
#: An exercise's parts: the positions and keywords that hold a reader's text.
PARTS = {"Outcome": (1, 2), "Case": (0,), "Question": (0, 1), "Exercise": (2, 4), "predict_exercise": (2, 4, 5),
         "CaseResult": (4, 5)}
WORD = re.compile(r"[A-Za-z]{2,}")  # a text with a word in it (not a bare "[####] 3/8" frame)
PART_KEYWORDS = {"title", "hint", "statement", "stub", "prompt", "expected", "actual"}
#: Not the learner's: the image build files, the reference solutions (code), the i18n module itself.
SKIPPED = ("labs/dockerfiles/", "checks/solutions/", "labs/i18n.py")


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.JoinedStr):
        return any(_is_text(part) for part in node.values)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and WORD.search(node.value) is not None


def _unmarked(arguments: list[ast.expr]) -> int:
    count = 0
    for argument in arguments:
        if isinstance(argument, (ast.Tuple, ast.List)):
            count += _unmarked(list(argument.elts))
        elif _is_text(argument):
            count += 1
    return count


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
            elif name in PARTS:
                count += _unmarked([node.args[i] for i in PARTS[name] if i < len(node.args)])
                count += _unmarked([k.value for k in node.keywords if k.arg in PART_KEYWORDS])
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


def _format_calls(path: Path) -> list[tuple[int, set[str], set[str]]]:
    """Every ``_("...").format(...)`` (or ``ngettext(...).format``): the message's placeholders and the names given."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Text"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            call = node  # Text("...", name=value): the values are the call's own keywords
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id in ("_", "ngettext")):
            call = node.func.value
        else:
            continue
        texts = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not texts:
            continue  # _(a_variable): the text was marked with N_() elsewhere
        wanted = {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}
        given = {k.arg for k in node.keywords if k.arg}
        found.append((node.lineno, {w.split(".")[0].split("[")[0] for w in wanted}, given))
    return found


def test_every_translated_message_gets_the_names_it_shows() -> None:
    wrong = []
    for package in ("labs", "checks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, wanted, given in _format_calls(path):
                if wanted != given:
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: shows {sorted(wanted)}, given {sorted(given)}")
    assert not wrong, "\n".join(wrong)
