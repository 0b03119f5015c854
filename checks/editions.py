"""The learner notebooks' two editions, built from one source per exercise.

Each exercise is written once: its statement, starting stub, hint, cases and points in
checks/exercises, its reference solution in checks/solutions. The lesson around it (prose, demos,
the lab it starts) is the notebook in notebooks/. From both this module builds:

- the **self-paced** edition (the notebooks/ folder as committed, and what `geolab notebooks` copies):
  each exercise's heading and statement, the stub, `check(...)`, a collapsed hint and a collapsed
  reference solution that `solve()` can also apply;
- the **graded** edition (`geolab notebooks DIR --edition graded`): the same without the solutions.

An exercise's cells carry ``geolab.exercise`` in their metadata; building replaces them, wherever
they are, with the cells made from the exercise's source. `python -m checks.editions` rewrites
notebooks/ (`make notebooks`); a unit test fails when notebooks/ is not what the build makes.

This module reads the reference solutions, so it stays out of the grading sandbox.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from checks.engine.model import Exercise
from checks.errors import GradingError
from checks.exercises import for_notebook
from checks.solutions import SOLUTIONS

EDITIONS = ("self-paced", "graded")
TAGS = ("exercise-text", "exercise", "check", "hint", "solution")


def exercise_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise a cell belongs to (its ``geolab.exercise`` metadata), if any."""
    geolab = cell.get("metadata", {}).get("geolab", {})
    value = geolab.get("exercise") if isinstance(geolab, dict) else None
    return str(value) if value else None


def exercise_cells(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """Each exercise's code cell (tagged ``exercise``): the cell a learner answers in, by exercise id."""
    return {exercise_id(cell) or "": index for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and "exercise" in cell.get("metadata", {}).get("tags", [])
            and exercise_id(cell)}


def _cell(kind: str, exercise: Exercise, tag: str, source: str) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata = {"tags": [tag], "geolab": {"exercise": exercise.exercise_id}}
    cell.id = f"{exercise.exercise_id.replace('/', '-')}-{tag}"  # stable: a rebuild changes nothing
    return cell


def exercise_group(exercise: Exercise, edition: str) -> list[nbformat.NotebookNode]:
    """The cells of one exercise in an edition, made from its source."""
    statement = exercise.statement
    if exercise.question is not None:
        statement += (f"\n\n**{exercise.question.prompt}** The choices:\n"
                      + "\n".join(f'- `"{choice}"`' for choice in exercise.question.choices))
    cells = [
        _cell("markdown", exercise, "exercise-text",
              f"### ✏️ Exercise {exercise.exercise_id}: {exercise.title}\n\n{statement}"),
        _cell("code", exercise, "exercise", exercise.stub.rstrip("\n")),
        _cell("code", exercise, "check", f'check("{exercise.exercise_id}", lab)'),
        _cell("markdown", exercise, "hint", f"<details><summary>💡 Hint</summary>\n\n{exercise.hint}\n\n</details>"),
    ]
    if edition == "self-paced":
        cells.append(_cell("markdown", exercise, "solution",
                           "<details><summary>Reference solution</summary>\n\n"
                           f"```python\n{SOLUTIONS[exercise.exercise_id].rstrip()}\n```\n\n"
                           f'Or apply it with `solve("{exercise.exercise_id}", lab)` after '
                           "`from checks import solve`: it is recorded, and earns no points.\n\n</details>"))
    return cells


def _assigned(cells: Sequence[nbformat.NotebookNode]) -> dict[str, str]:
    """`name = expression` assignments in the lesson's code cells (the last one wins)."""
    found: dict[str, str] = {}
    for cell in cells:
        if cell.cell_type != "code" or exercise_id(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                found[node.targets[0].id] = ast.unparse(node.value)
    return found


def build(notebook: nbformat.NotebookNode, stem: str, edition: str) -> nbformat.NotebookNode:
    """The notebook `stem` in `edition`: every exercise's cells made anew from its source.

    Raises:
        GradingError: an unknown edition; an exercise the notebook has no place for, or a place for an
            exercise that does not exist; a given the notebook does not assign before the exercise.
    """
    if edition not in EDITIONS:
        raise GradingError(f"No edition {edition!r}; expected one of {list(EDITIONS)}.")
    exercises = {e.exercise_id: e for e in for_notebook(stem)}
    placed = [exercise_id(c) for c in notebook.cells if exercise_id(c)]
    unknown = sorted({p for p in placed if p} - set(exercises))
    missing = [e for e in exercises if e not in placed]
    if unknown or missing:
        raise GradingError(f"{stem}: exercise cells {unknown or 'none'} have no exercise source, and exercises "
                           f"{missing or 'none'} have no cells; expected one place per exercise of {stem}. "
                           "Add a cell with geolab.exercise metadata where the exercise belongs.")
    built = nbformat.from_dict(notebook)
    cells: list[nbformat.NotebookNode] = []
    done: set[str] = set()
    for cell in built.cells:
        owner = exercise_id(cell)
        if owner is None:
            cells.append(cell)
        elif owner not in done:
            done.add(owner)
            assigned = _assigned(cells)
            for name, expression in exercises[owner].givens.items():
                if assigned.get(name) != ast.unparse(ast.parse(expression, mode="eval").body):
                    raise GradingError(f"{stem}: exercise {owner} expects the notebook to set "
                                       f"`{name} = {expression}` before it; found "
                                       f"{assigned.get(name, 'no assignment')!r}. Add that cell above the exercise.")
            cells.extend(exercise_group(exercises[owner], edition))
    built.cells = cells
    built.metadata.setdefault("geolab", {})["edition"] = edition
    return built


def build_folder(source: Path, target: Path, edition: str) -> list[Path]:
    """Build every notebook of `source` into `target` in `edition` (notebooks without exercises are copied)."""
    written = []
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        out = target / path.name
        nbformat.write(build(notebook, path.stem, edition), out)
        written.append(out)
    return written


def with_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook (either edition) whose exercise cells hold the reference solutions."""
    solved = nbformat.from_dict(notebook)
    for exercise, index in exercise_cells(notebook).items():
        solved.cells[index].source = SOLUTIONS[exercise].rstrip("\n")
    return solved


def with_solve_calls(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the notebook whose exercise cells call `solve()` (the self-paced edition's shortcut)."""
    solved = nbformat.from_dict(notebook)
    for exercise, index in exercise_cells(notebook).items():
        solved.cells[index].source = f'from checks import solve\nsolve("{exercise}", lab)'
    return solved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.editions",
                                     description="Build the course notebooks' editions from the exercises' source.")
    parser.add_argument("--source", default="notebooks", help="the lesson notebooks (default: notebooks/)")
    parser.add_argument("--out", help="target folder (default: the source folder, rewritten in place)")
    parser.add_argument("--edition", choices=EDITIONS, default="self-paced")
    args = parser.parse_args(argv)
    source = Path(args.source)
    for path in build_folder(source, Path(args.out) if args.out else source, args.edition):
        print(f"{args.edition}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
