"""Hostile submissions, graded in one batch between two honest ones.

Each attack is notebook 01 left undone, with the attack in a cell after the lab starts (or, where
the attack is the notebook itself, a whole notebook). Every one must earn no more than the untouched
notebook, change no other learner's result, and leave no process, container, network or file behind;
the batch must finish with a row for every submission. The attacks follow the review in issue 8.
"""

from __future__ import annotations

import csv
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import docker
from checks.editions import with_solutions
from checks.engine.batch import Graded, GradeOptions, grade
from tests.integration.conftest import lab_leftovers

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
ASSIGNMENT = "01_replication_basics"
SECRET = "GEOLAB-HIDDEN-CHECK-SECRET-7f3a"

ATTACKS_FOLDER = Path(__file__).resolve().parents[1] / "hostile"
#: Each attack is a cell's source, one file each in tests/hostile/ (out of the learner notebooks).
ATTACKS: dict[str, str] = {path.stem: path.read_text() for path in sorted(ATTACKS_FOLDER.glob("*.py"))}
#: Besides the cells: a notebook that sleeps past the submission's deadline, and another assignment's.
DEADLINE_CELLS = 8
#: Two submissions run at once (as a course team grades), so each cell gets room for a lab start under load.
CELL_TIMEOUT_S, SUBMISSION_TIMEOUT_S = 60, 150


def hostile(base: nbformat.NotebookNode, attack: str) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(base)
    after_start = next(i for i, c in enumerate(notebook.cells) if "Lab.start(" in c.get("source", ""))
    notebook.cells.insert(after_start + 1, nbformat.v4.new_code_cell(attack))
    return notebook


HOST_SERVICE_PORT = 47999  # tests/hostile/host_services.py knocks here


class HostService:
    """A TCP service of the grading host on all interfaces; counts who got through."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("0.0.0.0", HOST_SERVICE_PORT))
        self.server.listen(16)
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()


@pytest.fixture(scope="module")
def host_service() -> Iterator[HostService]:
    service = HostService()
    yield service
    service.server.close()


FOLDERS_BEFORE: set[Path] = set()
RULES_BEFORE: set[str] = set()


def bridge_drop_rules() -> set[str]:
    """The host's DROP rules for packets from a Docker bridge (what a grading sandbox adds)."""
    found: set[str] = set()
    for tool in ("iptables", "ip6tables"):
        listed = subprocess.run([tool, "-S", "INPUT"], capture_output=True, text=True, check=True).stdout
        found.update(f"{tool} {line}" for line in listed.splitlines() if "-i br-" in line and "-j DROP" in line)
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, pulsar_image: str, engine: docker.DockerClient,
          host_service: HostService) -> tuple[list[Graded], dict[str, dict[str, str]], Path]:
    root = tmp_path_factory.mktemp("hostile")
    folder = root / ASSIGNMENT
    folder.mkdir()
    original = nbformat.read(COURSE / f"{ASSIGNMENT}.ipynb", as_version=4)
    nbformat.write(with_solutions(original), folder / "aa_honest_first.ipynb")
    nbformat.write(original, folder / "ab_untouched.ipynb")
    for name, attack in ATTACKS.items():
        nbformat.write(hostile(original, attack), folder / f"attack_{name}.ipynb")
    slow = nbformat.from_dict(original)
    slow.cells[1:1] = [nbformat.v4.new_code_cell("import time\ntime.sleep(25)") for _ in range(DEADLINE_CELLS)]
    nbformat.write(slow, folder / "attack_past_the_deadline.ipynb")
    other = with_solutions(nbformat.read(COURSE / "02_full_mesh.ipynb", as_version=4))
    nbformat.write(other, folder / "attack_another_assignment.ipynb")
    nbformat.write(with_solutions(original), folder / "zz_honest_last.ipynb")
    hidden = tmp_path_factory.mktemp("hidden")
    (hidden / "secret.py").write_text(f"# {SECRET}\nEXERCISES = []\n")
    out = tmp_path_factory.mktemp("out")
    (out / "canary.txt").write_text("the grader's own file")
    FOLDERS_BEFORE.update(Path("/tmp").glob("geolab-grade-*"))  # a crashed earlier grader's are not ours
    RULES_BEFORE.update(bridge_drop_rules())
    graded = grade([root], out, GradeOptions(cell_timeout_s=CELL_TIMEOUT_S, submission_timeout_s=SUBMISSION_TIMEOUT_S,
                                             hidden_dir=hidden, jobs=2),
                   lambda _line: None)
    with (out / "gradebook.csv").open(encoding="utf-8") as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    return graded, rows, out


def test_every_submission_has_a_row(batch: tuple[list[Graded], dict[str, dict[str, str]], Path]) -> None:
    graded, rows, _ = batch
    assert len(graded) == len(ATTACKS) + 5
    assert set(rows) == {g.learner for g in graded}


def test_no_attack_earns_more_than_the_untouched_notebook(
        batch: tuple[list[Graded], dict[str, dict[str, str]], Path]) -> None:
    _, rows, _ = batch
    baseline = float(rows["ab_untouched"]["total"])
    gained = {name: row["total"] for name, row in rows.items() if name.startswith("attack_")
              and float(row["total"]) > baseline}
    assert not gained, f"attacks that earned more than the untouched notebook ({baseline}): {gained}"


def test_honest_learners_before_and_after_are_unaffected(
        batch: tuple[list[Graded], dict[str, dict[str, str]], Path]) -> None:
    _, rows, _ = batch
    for learner in ("aa_honest_first", "zz_honest_last"):
        assert rows[learner]["total"] == rows[learner]["max"], rows[learner]
        assert rows[learner]["status"] == "ok", rows[learner]


def test_the_grader_records_how_each_attack_ended(batch: tuple[list[Graded], dict[str, dict[str, str]], Path]
                                                  ) -> None:
    graded, _, _ = batch
    report = {g.learner: g.report for g in graded}
    assert report["attack_infinite_loop"].status == "timeout"
    assert report["attack_past_the_deadline"].status == "timeout"
    assert f"longer than {SUBMISSION_TIMEOUT_S} s" in report["attack_past_the_deadline"].reason
    assert report["attack_memory_hog"].status in ("kernel-died", "ok")  # the cell fails, or the kernel dies
    assert report["attack_another_assignment"].status == "wrong-notebook"
    assert "output cut" in report["attack_output_flood"].reason


def test_the_sandbox_cannot_reach_the_hosts_services(batch: tuple[list[Graded], dict[str, dict[str, str]], Path],
                                                      host_service: HostService) -> None:
    assert host_service.accepted == 0


def test_nothing_is_left_behind(batch: tuple[list[Graded], dict[str, dict[str, str]], Path],
                                engine: docker.DockerClient) -> None:
    _, _, out = batch
    for index in range(1, len(ATTACKS) + 6):
        assert lab_leftovers(engine, f"grade{index}-basics") == ([], [])
        assert lab_leftovers(engine, f"grade{index}-sandbox") == ([], [])
    assert not engine.containers.list(all=True, filters={"label": "org.geolab.sandbox"})
    assert not set(Path("/tmp").glob("geolab-grade-*")) - FOLDERS_BEFORE, "a submission's folder outlived it"
    assert not bridge_drop_rules() - RULES_BEFORE, "a sandbox's firewall rule outlived its network"
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "sleep 100000" not in processes and "sleep 600" not in processes
    assert not Path("/tmp/geolab-host-canary").exists()
    assert sorted(p.name for p in out.iterdir()) == ["canary.txt", "feedback", "gradebook.csv"]
    assert (out / "canary.txt").read_text() == "the grader's own file"


def test_no_secret_and_no_formula_reaches_the_gradebook(
        batch: tuple[list[Graded], dict[str, dict[str, str]], Path]) -> None:
    _, rows, out = batch
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    feedback = "".join(p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.md"))
    assert SECRET not in text and SECRET not in feedback
    for row in rows.values():
        assert not [v for v in row.values() if v and v[0] in "=+-@" and not v[1:].replace(".", "").isdigit()]
