"""`geolab`: start, inspect and stop labs from a terminal; check the machine; build the image; hand
out the notebooks.

The grader adds its `grade` command from above (`checks.cli`), so the lab runtime never imports the
grader. Every error a user can cause is a `LabError`: printed in one or two lines, exit code 2, never
a traceback (details that do not fit, such as a cluster's last log lines, go to a file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from labs.course import copy_notebooks
from labs.doctor import diagnose
from labs.engine import docker_client
from labs.errors import LabError, LabNotFoundError, UsageError
from labs.i18n import _, ngettext
from labs.image import build_image, image_status
from labs.lab import Lab, down
from labs.settings import LOCAL_IMAGE, OFFICIAL_IMAGE, load_settings
from labs.topology import MAX_CLUSTERS, Topology, failover, full_mesh, one_way, single

DEFAULT_CLUSTERS = {
    "single": ["beijing"],
    "full-mesh": ["beijing", "shanghai", "guangzhou"],
    "one-way": ["beijing", "shanghai"],
    "failover": ["beijing", "shanghai"],
}
EXIT_USER_ERROR = 2
EXIT_BUG = 70
Extend = Callable[["argparse._SubParsersAction[Parser]"], None]


def build_topology(preset: str, clusters: Sequence[str], config_store: str) -> Topology:
    names = list(clusters) or DEFAULT_CLUSTERS[preset]
    if preset == "single":
        if len(names) != 1:
            raise UsageError(f"The single preset takes one cluster; got {names}. Example: `geolab up single beijing`.")
        return single(names[0])
    if preset == "full-mesh":
        return full_mesh(*names, config_store=config_store)
    if preset == "one-way":
        return one_way(*names)
    if len(names) != 2:
        raise UsageError(f"The failover preset takes two clusters (active, standby); got {names}. "
                         "Example: `geolab up failover beijing shanghai`.")
    return failover(names[0], names[1])


def _width(text: str) -> int:
    """Columns `text` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def cmd_up(args: argparse.Namespace) -> int:
    topology = build_topology(args.preset, args.clusters, args.config_store)
    lab = Lab.start(topology, name=args.name, base_port=args.base_port)
    print_status(lab)
    lab.close()
    print(f"\nStop it with: geolab down {lab.name}")
    return 0


def print_status(lab: Lab) -> None:
    status = lab.status()
    print(f"lab {status.name}: {status.kind}, configuration store {status.config_store}, namespace {status.namespace}")
    rows = [("cluster", "state", "healthy", "service URL", "admin URL")]
    rows += [(c.name, c.state, "yes" if c.healthy else "no", c.service_url, c.admin_url) for c in status.clusters]
    print(_table(rows))


def cmd_status(args: argparse.Namespace) -> int:
    from labs.cluster import lab_names

    names = [args.name] if args.name else lab_names(docker_client())
    if not names:
        print("No lab is running. Start one with `geolab up full-mesh`.")
        return 0
    for index, name in enumerate(names):
        if index:
            print()
        lab = Lab.attach(name)
        print_status(lab)
        lab.close()
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    if not args.name and not args.all:
        raise UsageError("Say which lab to remove: `geolab down NAME`, or `geolab down --all` for every GeoLab lab.")
    down(None if args.all else args.name)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    if not 1 <= args.clusters <= MAX_CLUSTERS:
        raise UsageError(f"--clusters {args.clusters} is outside 1..{MAX_CLUSTERS}; a lab runs 1 to {MAX_CLUSTERS} "
                         "clusters. Example: `geolab doctor --clusters 3`.")
    findings = diagnose(args.clusters, args.base_port)
    marks = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
    rows = [(_("check"), _("result"), _("detail"), _("fix"))]
    rows += [(_(f.check), marks[f.level], f.detail, f.fix) for f in findings]
    print(_table(rows))
    failed = [f for f in findings if f.level == "fail"]
    print("\n" + (ngettext("{count} problem found.", "{count} problems found.", len(failed)).format(count=len(failed))
                  if failed else _("This machine is ready for a lab.")))
    return 1 if failed else 0


def cmd_image(args: argparse.Namespace) -> int:
    settings = load_settings()
    client = docker_client()
    if args.action == "build":
        name = build_image(client, settings, lambda line: print(line, flush=True))
        print(f"Image ready: {name}")
        return 0
    status = image_status(client, settings)
    print(_table([
        ("image", "present"),
        (OFFICIAL_IMAGE, "yes" if status.official else "no"),
        (LOCAL_IMAGE, "yes" if status.local else "no"),
    ]))
    return 0 if (status.official or status.local) else 1


def cmd_notebooks(args: argparse.Namespace) -> int:
    target = Path(args.folder).expanduser().resolve()
    copied = copy_notebooks(target, args.force)
    print(f"Copied {len(copied)} notebooks into {target}:")
    for path in copied:
        print(f"  {path.name}")
    print(f"\nOpen them with: geolab lab {args.folder}   (or: jupyter lab {args.folder})")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    target = Path(args.folder).expanduser().resolve()
    if not target.is_dir() or not any(target.glob("*.ipynb")):
        copy_notebooks(target)
        print(f"Copied the course notebooks into {target}.")
    jupyter = shutil.which("jupyter", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if jupyter is None:
        raise LabNotFoundError("JupyterLab is not installed next to geolab; expected the `jupyter` command. "
                               "Install it with `pip install pulsar-geolab` (it depends on jupyterlab).")
    sys.stdout.flush()
    root = ["--allow-root"] if os.geteuid() == 0 else []  # containers and CI machines run as root
    os.execv(jupyter, [jupyter, "lab", "--ip=127.0.0.1", f"--notebook-dir={target}", *root])
    return 0  # not reached: exec replaces this process


class Parser(argparse.ArgumentParser):
    """argparse, answering a bad command line in two lines (what was wrong, where to read more)
    instead of a usage screen."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message}\n{self.prog}: expected arguments as in "
                                   f"`{self.prog} --help`.\n")


def parser(extend: Extend | None = None) -> argparse.ArgumentParser:
    root = Parser(prog="geolab", description="Real Pulsar clusters for learning geo-replication.")
    sub = root.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start (or reattach to) a lab")
    up.add_argument("preset", choices=sorted(DEFAULT_CLUSTERS))
    up.add_argument("clusters", nargs="*", help="cluster names (default: beijing shanghai [guangzhou])")
    up.add_argument("--name", help="lab name (default: the preset's name)")
    up.add_argument("--config-store", choices=["shared", "independent"], default="shared",
                    help="full-mesh only: one global ZooKeeper, or one store per cluster")
    up.add_argument("--base-port", type=int, help="publish ports from here on 127.0.0.1 (default: free ports)")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="show running labs")
    status.add_argument("name", nargs="?")
    status.set_defaults(func=cmd_status)

    stop = sub.add_parser("down", help="remove a lab's containers and networks (by label)")
    stop.add_argument("name", nargs="?")
    stop.add_argument("--all", action="store_true", help="remove every GeoLab lab")
    stop.set_defaults(func=cmd_down)

    doctor = sub.add_parser("doctor", help="check Docker, memory, image and ports")
    doctor.add_argument("--clusters", type=int, default=3)
    doctor.add_argument("--base-port", type=int)
    doctor.set_defaults(func=cmd_doctor)

    image = sub.add_parser("image", help="build the Pulsar image offline, or show which images exist")
    image.add_argument("action", choices=["build", "status"])
    image.set_defaults(func=cmd_image)

    notebooks = sub.add_parser("notebooks", help="copy the course notebooks into a folder")
    notebooks.add_argument("folder", help="where to put them (created when missing)")
    notebooks.add_argument("--force", action="store_true", help="replace notebooks already there")
    notebooks.set_defaults(func=cmd_notebooks)

    lab = sub.add_parser("lab", help="open JupyterLab on the course notebooks (copied into FOLDER first)")
    lab.add_argument("folder", nargs="?", default="geolab-notebooks", help="default: ./geolab-notebooks")
    lab.set_defaults(func=cmd_lab)

    if extend is not None:
        extend(sub)
    return root


def report(exc: LabError) -> None:
    """Print a lab error in one or two lines; what does not fit goes to a file named in the second."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    print(f"geolab: {lines[0]}", file=sys.stderr)
    if len(lines) > 1:
        handle, path = tempfile.mkstemp(prefix="geolab-error-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(str(exc) + "\n")
        print(f"geolab: details ({len(lines) - 1} more lines, e.g. the cluster's last log lines): {path}",
              file=sys.stderr)


def main(argv: Sequence[str] | None = None, extend: Extend | None = None) -> int:
    args = parser(extend).parse_args(argv)
    try:
        return int(args.func(args))
    except LabError as exc:
        report(exc)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("GEOLAB_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"geolab: unexpected {type(exc).__name__}: {first}", file=sys.stderr)
        print("geolab: this is a bug in geolab; run again with GEOLAB_DEBUG=1 to see where, and report it.",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
