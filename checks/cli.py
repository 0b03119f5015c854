"""`geolab`, with the grader's `grade` command added to the lab runtime's commands.

This module sits above both packages: it imports `labs.cli` and `checks.engine`, and neither imports
it. The `geolab` console script points here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from checks.errors import GradingError
from labs import cli


def cmd_grade(args: argparse.Namespace) -> int:
    from checks.engine.batch import GradeOptions, grade, self_test

    if args.cell_timeout < 1 or args.timeout < 1:
        raise GradingError(f"--cell-timeout {args.cell_timeout} and --timeout {args.timeout} must be positive "
                           "numbers of seconds; expected e.g. --cell-timeout 120 --timeout 600.")
    hidden = Path(args.hidden) if args.hidden else None
    if hidden is not None and not hidden.is_dir():
        raise GradingError(f"--hidden {hidden} is not a folder; expected a folder of Python modules defining "
                           "EXERCISES. Check the path.")
    from checks.engine.batch import load_roster

    roster = load_roster(Path(args.roster)) if args.roster else None
    options = GradeOptions(cell_timeout_s=args.cell_timeout, submission_timeout_s=args.timeout, hidden_dir=hidden,
                           roster=roster, jobs=args.jobs)
    out = Path(args.out)
    if args.self_test:
        notebooks = Path(args.notebooks) if args.notebooks else None
        ok = self_test(notebooks, out, options, lambda line: print(line, flush=True), args.only or None)
        print("\nself-test passed" if ok else "\nself-test FAILED")
        return 0 if ok else 1
    if not args.submissions:
        raise GradingError("No submissions given; expected notebook files or folders of them. "
                           "Example: `geolab grade submissions/ --out grading/` (or --self-test).")
    grade([Path(p) for p in args.submissions], out, options, lambda line: print(line, flush=True))
    print(f"\ngradebook: {out / 'gradebook.csv'}; feedback: {out / 'feedback'}/")
    return 0


def cmd_image(args: argparse.Namespace) -> int:
    """`geolab image build|status`: the Pulsar image and, for grading, the sandbox's kernel image."""
    from checks.sandbox.image import build_kernel_image, kernel_image_current, kernel_image_name
    from labs.engine import docker_client
    from labs.settings import load_settings

    code = cli.cmd_image(args)
    client = docker_client()
    if args.action == "build":
        name = build_kernel_image(client, load_settings(), lambda line: print(line, flush=True))
        print(f"Image ready: {name}")
        return code
    current = kernel_image_current(client)
    print(f"{kernel_image_name()}  {'yes' if current else 'no (or out of date)'}")
    return code if current else 1


def cmd_notebooks(args: argparse.Namespace) -> int:
    """`geolab notebooks DIR [--edition self-paced|graded]`: the graded edition carries no solutions."""
    code = cli.cmd_notebooks(args)
    if args.edition == "graded":
        import nbformat

        from checks.editions import build, exercise_cells

        target = Path(args.folder).expanduser().resolve()
        for path in sorted(target.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            if exercise_cells(notebook):
                nbformat.write(build(notebook, path.stem, "graded"), path)
        print("Graded edition: no reference solutions in these notebooks, and `solve()` is not for graded work.")
    return code


def add_grade(sub: argparse._SubParsersAction[cli.Parser]) -> None:
    sub.choices["image"].set_defaults(func=cmd_image)
    notebooks = sub.choices["notebooks"]
    notebooks.add_argument("--edition", choices=("self-paced", "graded"), default="self-paced",
                           help="self-paced (default): with collapsed reference solutions; graded: without them, "
                                "for work an instructor grades")
    notebooks.set_defaults(func=cmd_notebooks)
    grade = sub.add_parser("grade", help="grade submitted notebooks against their own labs")
    grade.add_argument("submissions", nargs="*", help="notebook files or folders of them")
    grade.add_argument("--out", default="grading", help="folder for gradebook.csv and feedback/")
    grade.add_argument("--hidden", help="folder of extra check modules learners never saw")
    grade.add_argument("--roster", help="CSV with columns learner,assignment (default: the submission's folder "
                                        "or file name names its assignment)")
    grade.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run")
    grade.add_argument("--timeout", type=int, default=600, help="seconds one submission may run")
    grade.add_argument("--jobs", type=int, default=1,
                       help="submissions graded at once, each with its own lab (about 2 GiB and a CPU each)")
    grade.add_argument("--self-test", action="store_true",
                       help="prove solutions score full marks and untouched notebooks do not")
    grade.add_argument("--notebooks", help="with --self-test: the course notebooks (default: the packaged ones)")
    grade.add_argument("--only", action="append", help="with --self-test: only this notebook stem (repeatable)")
    grade.set_defaults(func=cmd_grade)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, extend=add_grade)


if __name__ == "__main__":
    sys.exit(main())
