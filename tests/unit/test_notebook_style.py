"""Notebooks stay thin: no def/class/try, committed without outputs (the English course and the Chinese
one built from it, notebooks/zh)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb")) + sorted((FOLDER / "zh").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(FOLDER).with_suffix("").as_posix())
def test_notebook_is_thin_and_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    name = path.relative_to(FOLDER)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs") and cell.get("execution_count") is None, f"{name}: outputs committed"
        tree = ast.parse(cell.source)
        banned = [type(n).__name__ for n in ast.walk(tree)
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try))]
        assert not banned, f"{name}: logic belongs in labs/, found {banned} in:\n{cell.source}"
