"""`geolab`: start, inspect and stop labs from a terminal; check the machine; build the image."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from labs.doctor import diagnose
from labs.engine import docker_client
from labs.errors import LabError
from labs.image import build_image, image_status
from labs.lab import Lab, down
from labs.settings import LOCAL_IMAGE, OFFICIAL_IMAGE, load_settings
from labs.topology import Topology, failover, full_mesh, one_way, single

DEFAULT_CLUSTERS = {
    "single": ["beijing"],
    "full-mesh": ["beijing", "shanghai", "guangzhou"],
    "one-way": ["beijing", "shanghai"],
    "failover": ["beijing", "shanghai"],
}


def build_topology(preset: str, clusters: Sequence[str], config_store: str) -> Topology:
    names = list(clusters) or DEFAULT_CLUSTERS[preset]
    if preset == "single":
        if len(names) != 1:
            raise LabError(f"The single preset takes one cluster; got {names}.")
        return single(names[0])
    if preset == "full-mesh":
        return full_mesh(*names, config_store=config_store)
    if preset == "one-way":
        return one_way(*names)
    if len(names) != 2:
        raise LabError(f"The failover preset takes two clusters (active, standby); got {names}.")
    return failover(names[0], names[1])


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


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
    rows = [("cluster", "state", "healthy", "service URL (listener 'external')", "admin URL")]
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
        raise LabError("Say which lab to remove: `geolab down NAME`, or `geolab down --all` for every GeoLab lab.")
    down(None if args.all else args.name)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    findings = diagnose(args.clusters, args.base_port)
    marks = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
    rows = [("check", "result", "detail", "fix")]
    rows += [(f.check, marks[f.level], f.detail, f.fix) for f in findings]
    print(_table(rows))
    failed = [f for f in findings if f.level == "fail"]
    print(f"\n{len(failed)} problem(s) found." if failed else "\nThis machine is ready for a lab.")
    return 1 if failed else 0


def cmd_image(args: argparse.Namespace) -> int:
    client = docker_client()
    settings = load_settings()
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


def cmd_grade(args: argparse.Namespace) -> int:
    # the grader sits above the lab runtime; imported here so `geolab up` does not load it
    from pathlib import Path

    from checks.engine.batch import GradeOptions, grade, self_test

    options = GradeOptions(cell_timeout_s=args.cell_timeout, submission_timeout_s=args.timeout,
                           hidden_dir=Path(args.hidden) if args.hidden else None)
    out = Path(args.out)
    if args.self_test:
        notebooks = Path(args.notebooks)
        ok = self_test(notebooks, out, options, lambda line: print(line, flush=True), args.only or None)
        print("\nself-test passed" if ok else "\nself-test FAILED")
        return 0 if ok else 1
    if not args.submissions:
        raise LabError("Give submission notebooks or folders to grade (or --self-test).")
    grade([Path(p) for p in args.submissions], out, options, lambda line: print(line, flush=True))
    print(f"\ngradebook: {out / 'gradebook.csv'}; feedback: {out / 'feedback'}/")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="geolab", description="Real Pulsar clusters for learning geo-replication.")
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

    grade = sub.add_parser("grade", help="grade submitted notebooks against their own labs")
    grade.add_argument("submissions", nargs="*", help="notebook files or folders of them")
    grade.add_argument("--out", default="grading", help="folder for gradebook.csv and feedback/")
    grade.add_argument("--hidden", help="folder of extra check modules learners never saw")
    grade.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run")
    grade.add_argument("--timeout", type=int, default=600, help="seconds one submission may run")
    grade.add_argument("--self-test", action="store_true",
                       help="prove solutions score full marks and untouched notebooks do not")
    grade.add_argument("--notebooks", default="notebooks", help="with --self-test: the course notebooks")
    grade.add_argument("--only", action="append", help="with --self-test: only this notebook stem (repeatable)")
    grade.set_defaults(func=cmd_grade)

    image = sub.add_parser("image", help="build the Pulsar image offline, or show which images exist")
    image.add_argument("action", choices=["build", "status"])
    image.set_defaults(func=cmd_image)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except LabError as exc:
        print(f"geolab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
