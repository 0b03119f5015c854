"""Printing a benchmark's table and saving its figures (shared by every benchmark)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def print_table(rows: Sequence[tuple[str, float, str, str]]) -> None:
    """Rows of (measure, value, unit, target)."""
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>9}  {'unit':<6}  target")
    for name, value, unit, target in rows:
        print(f"{name.ljust(width)}  {value:9.2f}  {unit:<6}  {target}")


def save(name: str, figures: object) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2))
    return path
