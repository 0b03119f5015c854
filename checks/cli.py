"""`geolab`, with the grader's `grade` command added to the lab runtime's commands.

This module sits above both packages: it imports `labs.cli` and `checks.engine`, and neither imports
it. The `geolab` console script points here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from checks.errors import GradingError
from labs import cli
from labs.i18n import LANGUAGES, _, language, ngettext


def cmd_grade(args: argparse.Namespace) -> int:
    from checks.engine.batch import GradeOptions, grade, self_test

    if args.cell_timeout < 1 or args.timeout < 1:
        raise GradingError(_("--cell-timeout {cell_timeout} and --timeout {timeout} must be positive numbers of "
                             "seconds; expected e.g. --cell-timeout 120 --timeout 600.").format(
                                 cell_timeout=args.cell_timeout, timeout=args.timeout))
    hidden = Path(args.hidden) if args.hidden else None
    if hidden is not None and not hidden.is_dir():
        raise GradingError(_("--hidden {folder} is not a folder; expected a folder of Python modules defining "
                             "`EXERCISES`. Check the path.").format(folder=hidden))
    from checks.engine.batch import load_roster

    roster = load_roster(Path(args.roster)) if args.roster else None
    options = GradeOptions(cell_timeout_s=args.cell_timeout, submission_timeout_s=args.timeout, hidden_dir=hidden,
                           roster=roster, jobs=args.jobs, lang=args.lang, storage_mib=args.storage_mib)
    out = Path(args.out)
    if args.self_test:
        notebooks = Path(args.notebooks) if args.notebooks else None
        ok = self_test(notebooks, out, options, lambda line: print(line, flush=True), args.only or None,
                       lang=args.lang or "en", rounds=args.rounds)  # --lang zh: the Chinese course
        print("\n" + (_("self-test passed") if ok else _("self-test FAILED")))
        return 0 if ok else 1
    if not args.submissions:
        raise GradingError(_("No submissions given; expected notebook files or folders of them. Example: `geolab "
                             "grade submissions/ --out grading/` (or --self-test)."))
    grade([Path(p) for p in args.submissions], out, options, lambda line: print(line, flush=True))
    print("\n" + _("Gradebook: {gradebook}; feedback: {feedback}/").format(gradebook=out / "gradebook.csv",
                                                                           feedback=out / "feedback"))
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
        print(_("Image ready: {name}").format(name=name))
        return code
    current = kernel_image_current(client)
    present = _("yes") if current else _("no (or out of date)")
    print(f"{kernel_image_name()}  {present}")
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
            if exercise_cells(notebook):  # built in the notebook's own language (the one copied)
                nbformat.write(build(notebook, path.stem, "graded"), path)
        print(_("Graded edition: no reference solutions in these notebooks, and `solve()` is not for graded work."))
    return code


def _warm(entries: list[str] | None) -> dict[str, int]:
    warm: dict[str, int] = {}
    for entry in entries or []:
        name, _equals, count = entry.partition("=")
        if not count.isdigit():
            raise GradingError(_("--warm {entry!r} is invalid; expected LAB=COUNT, e.g. --warm full-mesh=4.").format(
                entry=entry))
        warm[name] = int(count)
    return warm


def cmd_serve(args: argparse.Namespace) -> int:
    """`geolab serve`: the workshop host's lab server, in the foreground until SIGTERM or Ctrl-C."""
    from checks.workshop.labs import Quotas
    from checks.workshop.server import LabServer, default_state_dir
    from labs.engine import docker_client

    quotas = _quotas(args)
    assert isinstance(quotas, Quotas)
    state = Path(args.state).expanduser() if args.state else default_state_dir()
    shared = tuple(c.strip() for c in args.shared.split(",") if c.strip()) if args.shared else ()
    server = LabServer(state, quotas, _warm(args.warm), docker_client(), lambda line: print(line, flush=True),
                       shared, Path(args.shared_clusters) if args.shared_clusters else None)
    server.start()
    server.serve_forever()
    return 0


def _quotas(args: argparse.Namespace) -> object:
    from checks.workshop.labs import Quotas

    overrides: dict[str, int | float] = {"max_clusters": args.max_clusters, "faults_per_minute": args.faults_per_minute,
                                         "idle_s": args.idle_minutes * 60.0, "parallel_starts": args.parallel_starts,
                                         "storage_mib": args.storage_mib}
    if args.memory_mib is not None:
        overrides["memory_mib"] = args.memory_mib
    return Quotas.for_this_host(overrides)


def cmd_workshop_up(args: argparse.Namespace) -> int:
    """`geolab workshop up`: images, lab server and JupyterHub, in the foreground until Ctrl-C."""
    from checks.workshop.hub import HubSettings, WorkshopHost, configurable_http_proxy, new_password
    from checks.workshop.image import build_singleuser_image
    from checks.workshop.labs import Quotas
    from labs.engine import docker_client
    from labs.image import resolve_image
    from labs.settings import load_settings

    settings = load_settings()
    folder = Path(args.folder).expanduser() if args.folder else settings.cache_dir / "workshop"
    password = args.password or new_password(12)
    instructors = tuple(args.instructor or ())
    hub = HubSettings(str(folder), "", password, instructors, args.instructor_password or new_password(40), "",
                      ip=args.ip, port=args.port, hub_port=args.hub_port, proxy_api_port=args.port + 1,
                      class_view_port=args.port + 2, idle_minutes=args.idle_minutes, server_memory=args.server_memory,
                      lang=args.lang or language())
    if os.geteuid() != 0:
        raise GradingError(_("`geolab workshop up` runs as root: it sets firewall rules on the learners' networks "
                             "and owns the Docker engine. Run it with sudo."))
    quotas = _quotas(args)
    assert isinstance(quotas, Quotas)
    warm = _warm(args.warm)
    shared = tuple(c.strip() for c in args.shared.split(",") if c.strip()) if args.shared else ()
    progress = lambda line: print(line, flush=True)  # noqa: E731
    client = docker_client()
    resolve_image(client, settings, progress)
    image = build_singleuser_image(client, settings, progress, args.edition)
    chp = configurable_http_proxy(settings, progress)
    from dataclasses import replace

    host = WorkshopHost(replace(hub, image=image, chp=chp), quotas, client, warm, shared, progress,
                        Path(args.shared_clusters) if args.shared_clusters else None).start()
    if not args.instructor_password and instructors:
        print(_("Instructors' password (keep it to yourself): {password}").format(
            password=host.settings.instructor_password), flush=True)
    host.serve_forever()
    return 0


def cmd_workshop_down(args: argparse.Namespace) -> int:
    """`geolab workshop down`: remove what a workshop left (after a crash; `up` cleans up on Ctrl-C)."""
    from checks.workshop.hub import remove_hub_network
    from checks.workshop.labs import LABEL_LEARNER
    from labs.cluster import lab_names, labelled_containers, remove_lab
    from labs.engine import docker_client

    client = docker_client()
    for container in labelled_containers(client, LABEL_LEARNER):
        container.remove(force=True)
    remove_hub_network(client)
    removed = 0
    for name in lab_names(client):
        if name.startswith("ws-"):
            containers, _networks = remove_lab(client, name)
            removed += containers
    print(ngettext("Removed the workshop's servers, labs ({count} container) and networks; learners' home volumes "
                   "stay (`docker volume ls -f name=geolab-home-`).",
                   "Removed the workshop's servers, labs ({count} containers) and networks; learners' home volumes "
                   "stay (`docker volume ls -f name=geolab-home-`).", removed).format(count=removed))
    return 0


def cmd_workshop(args: argparse.Namespace) -> int:
    """`geolab workshop learner|class|event`: ask a running lab server (its admin socket)."""
    import json

    from checks.workshop.server import LabServerClient, default_state_dir

    if args.workshop_action == "up":
        return cmd_workshop_up(args)
    if args.workshop_action == "down":
        return cmd_workshop_down(args)
    if args.workshop_action == "image":
        from checks.workshop.image import build_singleuser_image
        from labs.engine import docker_client
        from labs.settings import load_settings

        name = build_singleuser_image(docker_client(), load_settings(), lambda line: print(line, flush=True),
                                      args.edition)
        print(_("Image ready: {name}").format(name=name))
        return 0
    state = Path(args.state).expanduser() if args.state else default_state_dir()
    client = LabServerClient(state)
    try:
        if args.workshop_action == "add-learner":
            for name in args.names:
                answer = client.add_learner(name)
                print(_("{learner}: GEOLAB_CONTROL={folder}/control.sock GEOLAB_CONTROL_TOKEN={token} (network "
                        "{network})").format(learner=name, folder=answer["folder"], token=answer["token"],
                                             network=answer["network"]))
        elif args.workshop_action == "remove-learner":
            for name in args.names:
                labs = int(client.remove_learner(name)["labs"])
                print(ngettext("{learner}: removed {count} lab", "{learner}: removed {count} labs", labs).format(
                    learner=name, count=labs))
        elif args.workshop_action == "class":
            view = client.class_view()
            if args.json:
                print(json.dumps(view, indent=1))
            else:
                print(class_table(view))
        else:
            outcome = client.event(args.event, args.clusters, lambda line: print(line, flush=True))
            for learner, result in sorted(outcome.items()):  # "ok", or what went wrong (already translated)
                shown = _("done") if result == "ok" else result
                print(f"  {learner}: {shown}")
    finally:
        client.close()
    return 0


def class_table(view: dict[str, object]) -> str:
    """The class view as text: a row per learner, exercises passed, stuck ones, their lab (headings in
    the reader's language; names, lab names and exercise ids as they are)."""
    learners = view.get("learners")
    exercises = view.get("exercises")
    memory = view.get("memory")
    assert isinstance(learners, dict) and isinstance(exercises, list) and isinstance(memory, dict)
    rows = [(_("learner"), _("passed"), _("tries"), _("lab"), _("stuck on"))]
    for name, data in learners.items():
        standings = data["exercises"]
        passed = sum(1 for s in standings.values() if s["passed"])
        tries = sum(int(s["tries"]) for s in standings.values())
        lab = ", ".join(lab["name"] for lab in data["labs"]) or "-"
        stuck = ", ".join(data["stuck"]) or "-"
        rows.append((name, f"{passed}/{len(exercises)}", str(tries), lab, stuck))
    pool = view.get("pool") or {}
    warm = view.get("warm") or {}
    assert isinstance(pool, dict) and isinstance(warm, dict)
    summary = _("Warm pool: {pool} (target {target}); memory: {committed} of {budget} MiB in use.").format(
        pool=", ".join(f"{lab} {count}" for lab, count in pool.items()) or _("empty"),
        target=", ".join(f"{lab} {count}" for lab, count in warm.items()) or _("none"),
        committed=memory.get("committed_mib"), budget=memory.get("budget_mib"))
    return cli._table(rows) + "\n" + summary


def _lab_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warm", action="append", metavar="LAB=COUNT",
                        help=_("keep COUNT labs of a course lab started ahead (repeatable), e.g. --warm full-mesh=4"))
    parser.add_argument("--max-clusters", type=int, default=3,
                        help=_("clusters in one learner's lab (default 3)"))
    parser.add_argument("--faults-per-minute", type=int, default=20,
                        help=_("kill/stop/start/cut/heal calls per learner per minute (default 20)"))
    parser.add_argument("--idle-minutes", type=float, default=60.0,
                        help=_("remove a lab (and stop a server) unused this long (default 60)"))
    parser.add_argument("--parallel-starts", type=int, default=2, help=_("labs starting at once (default 2)"))
    parser.add_argument("--storage-mib", type=int, default=512,
                        help=_("what each cluster of a learner's lab may store, in MiB (default 512)"))
    parser.add_argument("--memory-mib", type=int,
                        help=_("memory budget for all labs (default: this host's memory less 2 GiB); 1100 MiB a "
                               "cluster"))
    parser.add_argument("--shared", metavar="CLUSTERS",
                        help=_("run the class on clusters everyone shares, authentication on, a tenant and token per "
                               "learner, e.g. --shared beijing,shanghai,guangzhou (no private labs, no warm pool)"))
    parser.add_argument("--shared-clusters", metavar="FILE",
                        help=_("the same on clusters deployed elsewhere, named in a JSON file (URLs and token key; "
                               "see `labs/remote.py`)"))


def add_grade(sub: argparse._SubParsersAction[cli.Parser]) -> None:
    """The grader's and the workshop's commands (help texts in the reader's language; the parser is built
    on each run, so they follow GEOLAB_LANG)."""
    sub.choices["image"].set_defaults(func=cmd_image)
    notebooks = sub.choices["notebooks"]
    notebooks.add_argument("--edition", choices=("self-paced", "graded"), default="self-paced",
                           help=_("self-paced (default): with collapsed reference solutions; graded: without them, "
                                  "for work an instructor grades"))
    notebooks.set_defaults(func=cmd_notebooks)
    grade = sub.add_parser("grade", help=_("grade submitted notebooks against their own labs"))
    grade.add_argument("submissions", nargs="*", help=_("notebook files or folders of them"))
    grade.add_argument("--out", default="grading", help=_("folder for gradebook.csv and feedback/"))
    grade.add_argument("--hidden", help=_("folder of extra check modules learners never saw"))
    grade.add_argument("--roster", help=_("CSV with the columns `learner,assignment` (default: the submission's "
                                          "folder or file name names its assignment)"))
    grade.add_argument("--cell-timeout", type=int, default=120, help=_("seconds one cell may run"))
    grade.add_argument("--timeout", type=int, default=600, help=_("seconds one submission may run"))
    grade.add_argument("--jobs", type=int, default=1,
                       help=_("submissions graded at once, each with its own lab (about 2 GiB and a CPU each)"))
    grade.add_argument("--lang", choices=LANGUAGES,
                       help=_("the language of every submission's grading and feedback (default: each notebook's "
                              "own, from its metadata geolab.lang); with --self-test, the course's language "
                              "(default en)"))
    grade.add_argument("--self-test", action="store_true",
                       help=_("prove solutions score full marks and untouched notebooks do not"))
    grade.add_argument("--notebooks", help=_("with --self-test: the course notebooks (default: the packaged ones)"))
    grade.add_argument("--only", action="append", help=_("with --self-test: only this notebook stem (repeatable)"))
    grade.add_argument("--rounds", type=int, default=1,
                       help=_("with --self-test: grade each notebook's solutions this many times (default 1)"))
    grade.add_argument("--storage-mib", type=int, default=512,
                       help=_("what each cluster of a submission's lab may store, in MiB (default 512)"))
    grade.set_defaults(func=cmd_grade)
    serve = sub.add_parser("serve", help=_("run a workshop host's lab server: labs for learners' kernels (as root)"))
    serve.add_argument("--state",
                       help=_("its folder: tokens, records, sockets (default: `GEOLAB_CACHE/workshop/labs`)"))
    _lab_server_options(serve)
    serve.set_defaults(func=cmd_serve)
    workshop = sub.add_parser("workshop", help=_("a hosted workshop: JupyterHub, the lab server, the class view"))
    workshop.add_argument("--state", help=_("the lab server's folder (default: `GEOLAB_CACHE/workshop/labs`)"))
    actions = workshop.add_subparsers(dest="workshop_action", required=True)
    up = actions.add_parser("up", help=_("build the images, start the lab server and JupyterHub (foreground; Ctrl-C "
                                         "stops everything)"))
    up.add_argument("--folder", help=_("the workshop's folder (default: `GEOLAB_CACHE/workshop`)"))
    up.add_argument("--ip", default="127.0.0.1",
                    help=_("where learners reach the hub (0.0.0.0 for a room; default 127.0.0.1)"))
    up.add_argument("--port", type=int, default=8000,
                    help=_("the hub's port (default 8000; it also uses the next two)"))
    up.add_argument("--hub-port", type=int, default=8081, help=_("the hub's API, for the learners' servers only"))
    up.add_argument("--password", help=_("the learners' shared password (default: generated and printed)"))
    up.add_argument("--instructor", action="append", metavar="NAME",
                    help=_("an instructor's user name (repeatable): sees the class view, runs class-wide events"))
    up.add_argument("--instructor-password",
                    help=_("the instructors' password, 32 characters or more (default: generated and printed)"))
    up.add_argument("--edition", choices=("self-paced", "graded"), default="self-paced",
                    help=_("self-paced (default): notebooks with collapsed solutions and solve(); graded: without"))
    up.add_argument("--lang", choices=LANGUAGES,
                    help=_("the learners' language: their notebooks and messages (default: this shell's, from "
                           "GEOLAB_LANG or the locale)"))
    up.add_argument("--server-memory", default="1G", help=_("each learner's JupyterLab server (default 1G)"))
    _lab_server_options(up)
    down = actions.add_parser("down", help=_("remove what a crashed workshop left (servers, labs, networks)"))
    down.set_defaults(workshop_action="down")
    image = actions.add_parser("image", help=_("build the learners' image (JupyterLab and the course on the kernel "
                                               "image)"))
    image.add_argument("--edition", choices=("self-paced", "graded"), default="self-paced",
                       help=_("self-paced (default): notebooks with collapsed solutions and solve(); graded: without"))
    add = actions.add_parser("add-learner", help=_("add learners; prints each one's GEOLAB_CONTROL and token"))
    add.add_argument("names", nargs="+", help=_("learner names: 1 to 24 lowercase letters, digits and '-'"))
    remove = actions.add_parser("remove-learner", help=_("remove learners' labs and networks (records stay)"))
    remove.add_argument("names", nargs="+", help=_("learner names"))
    view = actions.add_parser("class", help=_("every learner's progress, from the lab server's own records"))
    view.add_argument("--json", action="store_true", help=_("the class as JSON (keys stay English)"))
    event = actions.add_parser("event", help=_("a class-wide fault: kill|stop|start CLUSTER, cut|heal A B"))
    event.add_argument("event", choices=("kill", "stop", "start", "cut", "heal"))
    event.add_argument("clusters", nargs="+", help=_("one cluster (kill, stop, start) or the two ends of a link "
                                                     "(cut, heal)"))
    workshop.set_defaults(func=cmd_workshop)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, extend=add_grade)


if __name__ == "__main__":
    sys.exit(main())
