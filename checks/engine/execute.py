"""Execute one submitted notebook in its own kernel (run by the batch grader in a subprocess).

Usage: python -m checks.engine.execute NOTEBOOK --cell-timeout SECONDS --out EXECUTED.ipynb
Exit codes: 0 ran to the end (cells may have raised: counted), 3 a cell hit the time limit,
4 the kernel died, 5 the notebook could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        notebook = nbformat.read(args.notebook, as_version=4)
    except Exception as exc:  # any unreadable file is reported, whatever the parser raised
        print(json.dumps({"status": "invalid-notebook", "reason": f"{type(exc).__name__}: {exc}"[:300]}))
        return 5
    client = NotebookClient(notebook, timeout=args.cell_timeout, kernel_name="python3", allow_errors=True)
    code = 0
    status, reason = "ok", ""
    try:
        client.execute()
    except CellTimeoutError:
        code, status, reason = 3, "timeout", f"a cell ran longer than {args.cell_timeout} s"
    except DeadKernelError as exc:
        code, status, reason = 4, "kernel-died", str(exc)[:300]
    errors = sum(1 for c in notebook.cells if c.cell_type == "code"
                 for o in c.get("outputs", []) if o.get("output_type") == "error")
    if status == "ok" and errors:
        reason = f"{errors} cell(s) raised an error"
    nbformat.write(notebook, args.out)
    print(json.dumps({"status": status, "reason": reason, "errors": errors}))
    return code


if __name__ == "__main__":
    sys.exit(main())
