"""`geolab`: start, inspect and stop labs from a terminal; check the machine; build the image; hand
out the notebooks.

The grader adds its `grade` command from above (`checks.cli`), so the lab runtime never imports the
grader. Every error a user can cause is a `LabError`: printed in one or two lines, exit code 2, never
a traceback (details that do not fit, such as a cluster's last log lines, go to a file).

Everything it says, argparse's own words included (see `localize_argparse`), is in the user's
language: GEOLAB_LANG, else the locale (`labs.i18n`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from labs import argparse_zh
from labs.course import copy_notebooks
from labs.doctor import diagnose
from labs.engine import docker_client
from labs.errors import LabError, LabNotFoundError, UsageError
from labs.i18n import _, ngettext
from labs.image import build_image, image_status
from labs.jupyter import lab_options
from labs.lab import Lab, down
from labs.settings import LOCAL_IMAGE, OFFICIAL_IMAGE, load_settings
from labs.topology import MAX_CLUSTERS, Topology, failover, full_mesh, one_way, single

PROG = "geolab"  #: the command's name, before each line it writes to stderr
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
            raise UsageError(_("The single preset takes one cluster; got {clusters}. Example: `geolab up single "
                               "beijing`.").format(clusters=names))
        return single(names[0])
    if preset == "full-mesh":
        return full_mesh(*names, config_store=config_store)
    if preset == "one-way":
        return one_way(*names)
    if len(names) != 2:
        raise UsageError(_("The failover preset takes two clusters (active, standby); got {clusters}. Example: "
                           "`geolab up failover beijing shanghai`.").format(clusters=names))
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
    print("\n" + _("Stop it with: geolab down {name}").format(name=lab.name))
    return 0


def print_status(lab: Lab) -> None:
    status = lab.status()
    print(_("Lab {name}: {kind}, configuration store {store}, namespace {namespace}").format(
        name=status.name, kind=status.kind, store=status.config_store, namespace=status.namespace))
    rows = [(_("cluster"), _("state"), _("healthy"), _("service URL"), _("admin URL"))]
    rows += [(c.name, c.state, _("yes") if c.healthy else _("no"), c.service_url, c.admin_url)
             for c in status.clusters]
    print(_table(rows))


def cmd_status(args: argparse.Namespace) -> int:
    from labs.cluster import lab_names

    names = [args.name] if args.name else lab_names(docker_client())
    if not names:
        print(_("No lab is running. Start one with `geolab up full-mesh`."))
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
        raise UsageError(_("Say which lab to remove: `geolab down NAME`, or `geolab down --all` for every GeoLab "
                           "lab."))
    down(None if args.all else args.name)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    if not 1 <= args.clusters <= MAX_CLUSTERS:
        raise UsageError(_("--clusters {count} is outside 1..{most}; a lab runs 1 to {most} clusters. Example: "
                           "`geolab doctor --clusters 3`.").format(count=args.clusters, most=MAX_CLUSTERS))
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
        print(_("Image ready: {name}").format(name=name))
        return 0
    status = image_status(client, settings)
    print(_table([
        (_("image"), _("present")),
        (OFFICIAL_IMAGE, _("yes") if status.official else _("no")),
        (LOCAL_IMAGE, _("yes") if status.local else _("no")),
    ]))
    return 0 if (status.official or status.local) else 1


def cmd_notebooks(args: argparse.Namespace) -> int:
    target = Path(args.folder).expanduser().resolve()
    copied = copy_notebooks(target, args.force)
    print(ngettext("Copied {count} notebook into {folder}:", "Copied {count} notebooks into {folder}:",
                   len(copied)).format(count=len(copied), folder=target))
    for path in copied:
        print(f"  {path.name}")
    print("\n" + _("Open them with: `geolab lab {folder}` (or: `jupyter lab {folder}`)").format(folder=args.folder))
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    target = Path(args.folder).expanduser().resolve()
    if not target.is_dir() or not any(target.glob("*.ipynb")):
        copy_notebooks(target)
        print(_("Copied the course notebooks into {folder}.").format(folder=target))
    jupyter = shutil.which("jupyter", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if jupyter is None:
        raise LabNotFoundError(_("JupyterLab is not installed next to geolab; expected the `jupyter` command. "
                                 "Install it with `pip install pulsar-geolab` (it depends on jupyterlab)."))
    sys.stdout.flush()
    root = ["--allow-root"] if os.geteuid() == 0 else []  # containers and CI machines run as root
    # JupyterLab's own menus in the course's language (a default; the learner's own setting wins)
    os.execv(jupyter, [jupyter, "lab", "--ip=127.0.0.1", f"--notebook-dir={target}", *root, *lab_options()])
    return 0  # not reached: exec replaces this process


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, its lines wrapped by the columns a terminal gives them (Chinese characters take
    two), so that Chinese help texts fit the width as English ones do."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        if all(_width(c) == 1 for c in text):
            return super()._split_lines(text, width)
        lines: list[str] = []
        line = ""
        for unit in _units(" ".join(text.split())):
            if line and _width(line + unit.rstrip()) > width:
                lines.append(line.rstrip())
                line = unit.lstrip()
            else:
                line += unit
        return [*lines, line.rstrip()] if line.strip() else lines


def _units(text: str) -> list[str]:
    """`text` as the pieces a line may break between: a word with the space after it, or a wide
    character with the punctuation that closes on it (a line never starts with "，" or "）")."""
    units: list[str] = []
    for char in text:
        closing = _width(char) == 2 and unicodedata.category(char) in ("Po", "Pe", "Pf")
        in_word = _width(char) == 1 and bool(units) and not units[-1].endswith(" ") and _width(units[-1][-1]) == 1
        if units and (char == " " or closing or in_word):
            units[-1] += char
        else:
            units.append(char)
    return units


class Parser(argparse.ArgumentParser):
    """argparse, answering a bad command line in two lines (what was wrong, where to read more)
    instead of a usage screen, with help lines that fit a terminal in Chinese too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message}\n"
                                   + _("{prog}: expected arguments as in `{prog} --help`.").format(prog=self.prog)
                                   + "\n")


@contextmanager
def localize_argparse() -> Iterator[None]:
    """argparse's own words ("usage: ", "options", "invalid choice: ...", labs/argparse_zh.py) in the
    user's language while the block builds, parses or prints a command line.

    argparse looks up its module-level `_` and `ngettext` on every call. They are gettext's, whose
    language follows only the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) and whose domain is one for
    the whole process (`gettext.textdomain`); neither knows GEOLAB_LANG nor `labs.i18n.using`. Within
    the block they are `labs.i18n`'s (geolab's catalog, in `labs.i18n.language()`), and after it
    argparse's own again, whatever happened in it (`--help` and errors exit through SystemExit).
    `geolab`'s main runs in it; a command line is parsed once, in one thread.
    """
    saved = (getattr(argparse, "_"), getattr(argparse, "ngettext"))  # noqa: B009 (not in argparse's stubs)
    setattr(argparse, "_", argparse_zh.translate)  # noqa: B010
    setattr(argparse, "ngettext", ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010


def parser(extend: Extend | None = None) -> argparse.ArgumentParser:
    """`geolab`'s command line; its help texts in the user's language (build it inside `localize_argparse`
    for argparse's own words too)."""
    root = Parser(prog=PROG, description=_("Real Pulsar clusters for learning geo-replication."))
    sub = root.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help=_("start (or reattach to) a lab"))
    up.add_argument("preset", choices=sorted(DEFAULT_CLUSTERS))
    up.add_argument("clusters", nargs="*", help=_("cluster names (default: beijing shanghai [guangzhou])"))
    up.add_argument("--name", help=_("lab name (default: the preset's name)"))
    up.add_argument("--config-store", choices=["shared", "independent"], default="shared",
                    help=_("full-mesh only: one global ZooKeeper, or one store per cluster"))
    up.add_argument("--base-port", type=int, help=_("publish ports from here on 127.0.0.1 (default: free ports)"))
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help=_("show running labs"))
    status.add_argument("name", nargs="?", help=_("a lab's name (default: every running lab)"))
    status.set_defaults(func=cmd_status)

    stop = sub.add_parser("down", help=_("remove a lab's containers and networks (by label)"))
    stop.add_argument("name", nargs="?", help=_("the lab's name"))
    stop.add_argument("--all", action="store_true", help=_("remove every GeoLab lab"))
    stop.set_defaults(func=cmd_down)

    doctor = sub.add_parser("doctor", help=_("check Docker, memory, image and ports"))
    doctor.add_argument("--clusters", type=int, default=3, help=_("clusters the lab will run (default 3)"))
    doctor.add_argument("--base-port", type=int, help=_("the first port the lab will publish (default: free ports)"))
    doctor.set_defaults(func=cmd_doctor)

    image = sub.add_parser("image", help=_("build the Pulsar image offline, or show which images exist"))
    image.add_argument("action", choices=["build", "status"])
    image.set_defaults(func=cmd_image)

    notebooks = sub.add_parser("notebooks", help=_("copy the course notebooks into a folder"))
    notebooks.add_argument("folder", help=_("where to put them (created when missing)"))
    notebooks.add_argument("--force", action="store_true", help=_("replace notebooks already there"))
    notebooks.set_defaults(func=cmd_notebooks)

    lab = sub.add_parser("lab", help=_("open JupyterLab on the course notebooks (copied into FOLDER first)"))
    lab.add_argument("folder", nargs="?", default="geolab-notebooks", help=_("default: ./geolab-notebooks"))
    lab.set_defaults(func=cmd_lab)

    if extend is not None:
        extend(sub)
    return root


def report(exc: LabError) -> None:
    """Print a lab error in one or two lines; what does not fit goes to a file named in the second."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    print(f"{PROG}: {lines[0]}", file=sys.stderr)
    if len(lines) > 1:
        handle, path = tempfile.mkstemp(prefix="geolab-error-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(str(exc) + "\n")
        more = len(lines) - 1
        details = ngettext("details ({count} more line, e.g. the cluster's last log lines): {path}",
                           "details ({count} more lines, e.g. the cluster's last log lines): {path}", more)
        print(f"{PROG}: {details.format(count=more, path=path)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, extend: Extend | None = None) -> int:
    """`geolab`: `extend` adds commands (the grader's, `checks.cli`); argparse speaks the user's language."""
    with localize_argparse():
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
        unexpected = _("unexpected {error}: {first}").format(error=type(exc).__name__, first=first)
        print(f"{PROG}: {unexpected}", file=sys.stderr)
        print(f"{PROG}: " + _("this is a bug in geolab; run again with GEOLAB_DEBUG=1 to see where, and report it."),
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
