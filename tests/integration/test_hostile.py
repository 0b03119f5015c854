"""Hostile submissions, graded in one batch between two honest ones, by the grader run as a learner's
course team runs it (`geolab grade`, a process of its own, whose peak memory is measured).

Each attack is a lesson's notebook left undone with the attack in a cell after its lab starts
(tests/hostile/, one file each: its first lines say which lesson, and whether it runs alone). The
attacks that run to the end of their cell share one submission per lesson, each in a cell of its
own; those that end their kernel, time out or flood the grader run alone. Every submission must earn
no more than the untouched notebook of its lesson, change no other learner's result, and leave no
process, container, network, firewall rule, disk or file behind; the batch must finish with a row for
every submission. The attacks follow the reviews in issues 8 and 17.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import docker
from checks.editions import with_solutions
from tests.integration.conftest import HostListener, bridge_rules, lab_leftovers, loop_mounts

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
DEFAULT_ASSIGNMENT = "01_replication_basics"
SECRET = "GEOLAB-HIDDEN-CHECK-SECRET-7f3a"
ATTACKS_FOLDER = Path(__file__).resolve().parents[1] / "hostile"
#: Besides the cells: a notebook that sleeps past the submission's deadline, and another assignment's.
DEADLINE_CELLS = 8
#: Two submissions run at once (as a course team grades), so each cell gets room for a lab start under load.
CELL_TIMEOUT_S, SUBMISSION_TIMEOUT_S = 60, 150
#: What the grader may hold at its peak, while submissions stream gigabytes at it (the flood attacks
#: send 3 GiB on the control channel and 680 MB of kernel messages; unbounded, the grader held them).
GRADER_PEAK_MIB = 1536
#: What each cluster of a submission's lab may store (`geolab grade --storage-mib`, its default).
STORAGE_MIB = 512


@dataclass(frozen=True)
class Attack:
    name: str
    source: str
    assignment: str
    alone: bool


def read_attack(path: Path) -> Attack:
    """An attack file: its header comments say `# assignment: <lesson>` (default lesson 01) and `# alone`."""
    source = path.read_text()
    header = [line[1:].strip() for line in source.splitlines() if line.startswith("#")][:3]
    assignment = next((line.split(":", 1)[1].strip() for line in header if line.startswith("assignment:")),
                      DEFAULT_ASSIGNMENT)
    return Attack(path.stem, source, assignment, "alone" in header)


ATTACKS = [read_attack(path) for path in sorted(ATTACKS_FOLDER.glob("*.py"))]
ASSIGNMENTS = sorted({a.assignment for a in ATTACKS})


def hostile(base: nbformat.NotebookNode, *sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(base)
    after_start = next(i for i, c in enumerate(notebook.cells) if "Lab.start(" in c.get("source", ""))
    notebook.cells[after_start + 1:after_start + 1] = [nbformat.v4.new_code_cell(s) for s in sources]
    return notebook


HOST_SERVICE_PORT = 47999  # tests/hostile/host_services.py and host_listener_through_a_peer.py knock here


@pytest.fixture(scope="module")
def host_service() -> Iterator[HostListener]:
    service = HostListener(HOST_SERVICE_PORT)
    yield service
    service.close()


FOLDERS_BEFORE: set[Path] = set()
RULES_BEFORE: set[str] = set()


#: Runs `geolab grade` and writes its own peak memory (KiB) to the file named by its first argument.
GRADER = ("import resource, sys\n"
          "from checks.cli import main\n"
          "code = main(sys.argv[2:])\n"
          "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
          "raise SystemExit(code)\n")


@dataclass(frozen=True)
class Batch:
    rows: dict[str, dict[str, str]]
    out: Path
    peak_mib: float
    names: tuple[str, ...]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, pulsar_image: str, engine: docker.DockerClient,
          host_service: HostListener) -> Batch:
    root = tmp_path_factory.mktemp("hostile")
    names: list[str] = []

    def submit(assignment: str, name: str, notebook: nbformat.NotebookNode) -> None:
        folder = root / assignment
        folder.mkdir(exist_ok=True)
        nbformat.write(notebook, folder / f"{name}.ipynb")
        names.append(name)

    lessons = {a: nbformat.read(COURSE / f"{a}.ipynb", as_version=4) for a in ASSIGNMENTS}
    submit(DEFAULT_ASSIGNMENT, "aa_honest_first", with_solutions(lessons[DEFAULT_ASSIGNMENT]))
    for assignment, lesson in lessons.items():
        submit(assignment, f"ab_untouched_{assignment}", lesson)
        grouped = [a.source for a in ATTACKS if a.assignment == assignment and not a.alone]
        if grouped:
            submit(assignment, f"attack_group_{assignment}", hostile(lesson, *grouped))
        for attack in ATTACKS:
            if attack.assignment == assignment and attack.alone:
                submit(assignment, f"attack_{attack.name}", hostile(lesson, attack.source))
    original = lessons[DEFAULT_ASSIGNMENT]
    slow = nbformat.from_dict(original)
    slow.cells[1:1] = [nbformat.v4.new_code_cell("import time\ntime.sleep(25)") for _ in range(DEADLINE_CELLS)]
    submit(DEFAULT_ASSIGNMENT, "attack_past_the_deadline", slow)
    submit(DEFAULT_ASSIGNMENT, "attack_another_assignment",
           with_solutions(nbformat.read(COURSE / "02_full_mesh.ipynb", as_version=4)))
    submit(DEFAULT_ASSIGNMENT, "zz_honest_last", with_solutions(original))
    hidden = tmp_path_factory.mktemp("hidden")
    (hidden / "secret.py").write_text(f"# {SECRET}\nEXERCISES = []\n")
    out = tmp_path_factory.mktemp("out")
    (out / "canary.txt").write_text("the grader's own file")
    peak = tmp_path_factory.mktemp("peak") / "maxrss"
    FOLDERS_BEFORE.update(Path("/tmp").glob("geolab-grade-*"))  # a crashed earlier grader's are not ours
    RULES_BEFORE.update(bridge_rules())
    graded = subprocess.run(
        [sys.executable, "-c", GRADER, str(peak), "grade", str(root), "--out", str(out), "--hidden", str(hidden),
         "--cell-timeout", str(CELL_TIMEOUT_S), "--timeout", str(SUBMISSION_TIMEOUT_S), "--jobs", "2",
         "--storage-mib", str(STORAGE_MIB)],
        capture_output=True, text=True, timeout=3600)
    assert graded.returncode == 0, f"geolab grade failed:\n{graded.stdout[-3000:]}\n{graded.stderr[-3000:]}"
    with (out / "gradebook.csv").open(encoding="utf-8") as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    return Batch(rows, out, int(peak.read_text()) / 1024, tuple(names))


def test_every_submission_has_a_row(batch: Batch) -> None:
    assert set(batch.rows) == set(batch.names)


def test_no_attack_earns_more_than_the_untouched_notebook_of_its_lesson(batch: Batch) -> None:
    gained = {}
    for name, row in batch.rows.items():
        if not name.startswith("attack_") or name == "attack_another_assignment":
            continue
        baseline = float(batch.rows[f"ab_untouched_{row['notebook']}"]["total"])
        if float(row["total"]) > baseline:
            gained[name] = f"{row['total']} against {baseline:g} untouched"
    assert not gained, f"attacks that earned more than the untouched notebook of their lesson: {gained}"


def test_honest_learners_before_and_after_are_unaffected(batch: Batch) -> None:
    for learner in ("aa_honest_first", "zz_honest_last"):
        assert batch.rows[learner]["total"] == batch.rows[learner]["max"], batch.rows[learner]
        assert batch.rows[learner]["status"] == "ok", batch.rows[learner]


def test_the_grader_records_how_each_attack_ended(batch: Batch) -> None:
    rows = batch.rows
    assert rows["attack_infinite_loop"]["status"] == "timeout"
    assert rows["attack_past_the_deadline"]["status"] == "timeout"
    assert f"longer than {SUBMISSION_TIMEOUT_S} s" in rows["attack_past_the_deadline"]["reason"]
    assert rows["attack_memory_hog"]["status"] in ("kernel-died", "ok")  # the cell fails, or the kernel dies
    assert rows["attack_another_assignment"]["status"] == "wrong-notebook"
    assert "output cut" in rows["attack_output_flood"]["reason"]


def test_the_graders_memory_stays_bounded_while_submissions_flood_it(batch: Batch) -> None:
    """The control channel reads at most a bounded request, ZeroMQ drops a kernel's giant message before
    it is read, and no widget state is kept: the grader's peak stays far below what the floods sent."""
    assert batch.peak_mib < GRADER_PEAK_MIB, f"the grader's peak memory was {batch.peak_mib:.0f} MiB"


def test_no_connection_leaves_a_lab_and_the_drops_are_counted(batch: Batch, host_service: HostListener) -> None:
    """Neither a kernel (host_services) nor a broker told to replicate to the host (a peer registered at the
    host's address) reaches a service of the grading host; the firewall counted what they sent."""
    assert host_service.accepted == 0
    assert int(batch.rows[f"attack_group_{DEFAULT_ASSIGNMENT}"]["dropped_packets"]) > 0


def test_each_submissions_storage_is_capped(batch: Batch) -> None:
    """A submission that produces 1.5 GiB as fast as it can stores what its cluster's disk holds, no more;
    Pulsar refuses the rest, and the gradebook says so."""
    flood = batch.rows["attack_disk_flood"]
    assert 0.9 * STORAGE_MIB <= float(flood["disk_mib"]) <= 2 * STORAGE_MIB  # two clusters, one of them filled
    assert flood["storage_full"] == "beijing"
    for name, row in batch.rows.items():
        if row["disk_mib"]:
            assert float(row["disk_mib"]) <= 3 * STORAGE_MIB, (name, row["disk_mib"])


def test_nothing_is_left_behind(batch: Batch, engine: docker.DockerClient) -> None:
    for index in range(1, len(batch.names) + 1):
        for suffix in ("sandbox", "basics", "welcome", "failover"):
            assert lab_leftovers(engine, f"grade{index}-{suffix}") == ([], [])
    assert not [n for n in engine.networks.list() if n.name.startswith("geolab-graderef-")]
    assert not engine.containers.list(all=True, filters={"label": "org.geolab.sandbox"})
    assert not set(Path("/tmp").glob("geolab-grade-*")) - FOLDERS_BEFORE, "a submission's folder outlived it"
    assert not bridge_rules() - RULES_BEFORE, "a sandbox's or lab's firewall rule outlived its network"
    assert not loop_mounts(), "a lab's disk outlived it"
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "sleep 100000" not in processes and "sleep 600" not in processes
    assert not Path("/tmp/geolab-host-canary").exists()
    assert sorted(p.name for p in batch.out.iterdir()) == ["canary.txt", "feedback", "gradebook.csv"]
    assert (batch.out / "canary.txt").read_text() == "the grader's own file"


def test_no_secret_and_no_formula_reaches_the_gradebook(batch: Batch) -> None:
    text = (batch.out / "gradebook.csv").read_text(encoding="utf-8")
    feedback = "".join(p.read_text(encoding="utf-8") for p in (batch.out / "feedback").glob("*.md"))
    assert SECRET not in text and SECRET not in feedback
    for row in batch.rows.values():
        assert not [v for v in row.values() if v and v[0] in "=+-@" and not v[1:].replace(".", "").isdigit()]
