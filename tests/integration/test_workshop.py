"""The workshop's lab server on real clusters: learners' kernels without Docker get course labs
through it, from the warm pool or cold; what one learner holds is out of another's reach; its
records survive a restart; class-wide events reach every lab; idle labs go; nothing is left behind.

Learners are simulated: a course notebook runs in a container of the kernel image on the learner's
network, with their control-channel folder mounted read-only (`checks.workshop.simulate`), as their
JupyterLab server would run it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import docker
from checks.editions import with_solutions
from checks.workshop.labs import Quotas
from checks.workshop.server import LabServer, LabServerClient, learner_network
from checks.workshop.simulate import LearnerRun, run_notebook_as_learner
from labs.cluster import closed_networks, lab_dropped, lab_names
from labs.control import ControlBackend
from labs.errors import LabError, LabNotFoundError, UsageError
from labs.topology import single
from tests.channel import head, raw_request

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
PREFIX = "it-"  # GEOLAB_LAB_PREFIX of this module's lab server: its labs are it-ws-<hex>
ADA, BOB = "it-ada", "it-bob"


def script(source: str) -> nbformat.NotebookNode:
    """A one-cell notebook (a learner typing into a fresh notebook)."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    return notebook


@pytest.fixture(scope="module")
def server(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    os.environ["GEOLAB_LAB_PREFIX"] = PREFIX
    state = tmp_path_factory.mktemp("workshop")
    lines: list[str] = []
    lab_server = LabServer(state, Quotas(memory_mib=8 * 1100, idle_s=3600), {"welcome": 1}, engine, lines.append)
    try:
        lab_server.start()
        for _ in range(180):  # the warm pool's first lab: polled, with a deadline
            if lab_server.workshop.class_view()["pool"]:
                break
            lab_server._stop.wait(1.0)
        assert lab_server.workshop.class_view()["pool"] == {"welcome": 1}, lines
        yield lab_server
    finally:
        lab_server.stop()
        os.environ.pop("GEOLAB_LAB_PREFIX", None)


@pytest.fixture(scope="module")
def ada_run(server: LabServer, engine: docker.DockerClient) -> LearnerRun:
    """Ada runs lesson 00 with its solutions in her container: her lab comes from the warm pool."""
    ada = server.add_learner(ADA)
    notebook = with_solutions(nbformat.read(COURSE / "00_welcome.ipynb", as_version=4))
    return run_notebook_as_learner(engine, ADA, Path(ada["folder"]), ada["network"], ada["token"], notebook)


def test_a_learner_runs_a_lesson_through_the_lab_server(ada_run: LearnerRun, server: LabServer) -> None:
    assert ada_run.passed, f"{ada_run.status} {ada_run.errors}\n{ada_run.log_tail}"
    view = server.workshop.class_view()
    standing = view["learners"][ADA]["exercises"]["00-welcome/1"]  # type: ignore[index]
    assert standing["passed"] is True and standing["tries"] >= 1  # from the lab server's own run of the check
    assert view["learners"][ADA]["labs"] == []  # type: ignore[index]  # lab.stop() at the end removed it
    assert ada_run.lab_start_s is not None


def test_the_check_record_is_written_for_the_class_view(ada_run: LearnerRun, server: LabServer) -> None:
    lines = (server.state_dir / "checks.jsonl").read_text().splitlines()
    assert any(f'"learner": "{ADA}"' in line and '"passed": true' in line for line in lines)


def test_the_pool_refills_after_a_learner_took_its_lab(ada_run: LearnerRun, server: LabServer) -> None:
    for _ in range(180):
        if server.workshop.class_view()["pool"] == {"welcome": 1}:
            break
        server._stop.wait(1.0)
    assert server.workshop.class_view()["pool"] == {"welcome": 1}


@pytest.fixture(scope="module")
def bob(server: LabServer, engine: docker.DockerClient, ada_run: LearnerRun) -> dict[str, str]:
    """Bob has a failover lab running (started from his container, left running); Ada has welcome."""
    answer = server.add_learner(BOB)
    run = run_notebook_as_learner(engine, BOB, Path(answer["folder"]), answer["network"], answer["token"], script(
        "from labs import Lab, failover\nlab = Lab.start(failover(active='beijing', standby='shanghai'), "
        "name='failover')"))
    assert run.passed, f"{run.status} {run.errors}\n{run.log_tail}"
    ada = server.add_learner(ADA)  # a new token, as a respawned server gets
    run = run_notebook_as_learner(engine, ADA, Path(ada["folder"]), ada["network"], ada["token"], script(
        "from labs import Lab, single\nlab = Lab.start(single('beijing'), name='welcome')"))
    assert run.passed, f"{run.status} {run.errors}\n{run.log_tail}"
    return {**answer, "ada_token": ada["token"], "ada_folder": ada["folder"]}


def test_another_learners_token_is_refused(server: LabServer, bob: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="refused a request without this kernel's token"):
        ControlBackend(f"{bob['folder']}/control.sock", bob["ada_token"]).attach("failover")
    with pytest.raises(LabNotFoundError, match="no lab named 'welcome'"):
        ControlBackend(f"{bob['folder']}/control.sock", bob["token"]).attach("welcome")  # Ada's lab


def test_a_non_course_lab_is_refused_before_anything_starts(server: LabServer, bob: dict[str, str],
                                                            engine: docker.DockerClient) -> None:
    before = lab_names(engine)
    with pytest.raises(UsageError, match="course's labs only"):
        ControlBackend(f"{bob['folder']}/control.sock", bob["token"]).start(single("beijing"), "mine", None, True,
                                                                              True, print)
    assert lab_names(engine) == before


def test_a_learners_container_reaches_only_their_own_lab(server: LabServer, bob: dict[str, str],
                                                         engine: docker.DockerClient) -> None:
    ada_lab = next(h.lab for h in server.workshop.learner_labs(ADA))
    ada_ip = engine.containers.get(ada_lab.record.endpoints["beijing"].container).attrs["NetworkSettings"][
        "Networks"][learner_network(ADA)]["IPAddress"]
    probe = (
        "import socket, os, json\n"
        "def reach(host, port):\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=3).close(); return True\n"
        "    except OSError:\n"
        "        return False\n"
        f"found = {{'ada_ip': reach({ada_ip!r}, 8080), 'own_beijing': reach('beijing', 8080),\n"
        "         'own_shanghai': reach('shanghai', 8080), 'docker_sock': os.path.exists('/var/run/docker.sock'),\n"
        "         'mounted': sorted(os.listdir('/run/geolab'))}\n"
        "assert found == {'ada_ip': False, 'own_beijing': True, 'own_shanghai': True, 'docker_sock': False,\n"
        "                 'mounted': ['control.sock']}, found\n")
    run = run_notebook_as_learner(engine, BOB, Path(bob["folder"]), bob["network"], bob["token"], script(probe))
    assert run.passed, f"{run.status} {run.errors}\n{run.log_tail}"


def test_a_check_freezes_the_learners_server_and_grades_a_prediction_on_the_servers_own_lab(
        ada_run: LearnerRun, server: LabServer, engine: docker.DockerClient) -> None:
    """Ada's check of 00-welcome/1 ran with her container frozen, and her prediction was graded on a
    reference lab of the lab server's own, removed once its question was answered."""
    assert server.workshop.learners[ADA].handler.freezer is not None
    assert server.workshop.learners[ADA].handler.freezer.freezes >= 1
    started = server.workshop.reference.started
    assert [name for name in started if name.endswith("ref-welcome")], started
    assert not set(started) & set(lab_names(engine))  # gone once every question of its topology was answered
    assert server.workshop.reference_mib == 0


def test_a_learners_lab_is_closed_and_its_storage_capped(server: LabServer, bob: dict[str, str],
                                                         engine: docker.DockerClient) -> None:
    bob_lab = next(h.lab for h in server.workshop.learner_labs(BOB))
    disks = server.backend.storage(bob_lab.record)
    assert [d.cluster for d in disks] == ["beijing", "shanghai"]
    assert all(d.size_bytes <= server.workshop.quotas.storage_mib << 20 for d in disks)
    assert len(closed_networks(engine, bob_lab.name)) == 3  # each cluster's own, and their link
    before = lab_dropped(engine, bob_lab.name)
    code, output = bob_lab.exec("beijing", "bash", "-c", "timeout 3 bash -c 'exec 3<>/dev/tcp/172.17.0.1/22'")
    assert code == 124, output  # dropped on the way (a reachable host would answer, or refuse, at once)
    assert lab_dropped(engine, bob_lab.name) > before


def test_the_lab_servers_channel_reads_a_bounded_request(server: LabServer, bob: dict[str, str]) -> None:
    """A learner's kernel shares the grader's control channel: a negative Content-Length followed by 64 MiB
    is refused after at most a bounded read, and the channel still answers Bob's next request."""
    answer, sent = raw_request(f"{bob['folder']}/control.sock", head(bob["token"], "Content-Length: -1"),
                               stream=64 << 20)
    assert b"Content-Length" in answer and sent < 8 << 20, (sent, answer[-300:])
    with pytest.raises(LabNotFoundError):
        ControlBackend(f"{bob['folder']}/control.sock", bob["token"]).attach("welcome")  # still answers


def test_a_class_wide_event_reaches_every_lab_with_that_cluster(server: LabServer, bob: dict[str, str],
                                                                engine: docker.DockerClient) -> None:
    client = LabServerClient(server.state_dir)
    try:
        lines: list[str] = []
        outcome = client.event("kill", ["shanghai"], lines.append)
        assert outcome == {BOB: "ok"}  # Ada's lab has no shanghai
        bob_lab = next(h.lab for h in server.workshop.learner_labs(BOB))
        assert bob_lab.backend.cluster_state(bob_lab.record, "shanghai") != "running"
        assert client.event("start", ["shanghai"]) == {BOB: "ok"}
        assert bob_lab.backend.cluster_state(bob_lab.record, "shanghai") == "running"
    finally:
        client.close()


def test_the_admin_socket_is_root_only_and_wants_its_token(server: LabServer) -> None:
    assert server.admin_socket.stat().st_mode & 0o777 == 0o600
    assert (server.state_dir / "state.json").stat().st_mode & 0o777 == 0o600
    knock = f"import socket; socket.socket(socket.AF_UNIX).connect({str(server.admin_socket)!r})"
    as_learner = ["setpriv", "--reuid", "10001", "--regid", "10001", "--clear-groups"]
    result = subprocess.run([*as_learner, "python3", "-c", knock], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "Permission denied" in result.stderr


def test_an_idle_lab_is_removed_and_the_learner_is_told(server: LabServer, bob: dict[str, str],
                                                        engine: docker.DockerClient) -> None:
    held = next(h for h in server.workshop.learner_labs(ADA))
    held.last_used -= server.workshop.quotas.idle_s + 1
    assert server.workshop.remove_idle() == [ADA]
    assert held.lab.name not in lab_names(engine)
    with pytest.raises(LabNotFoundError, match="removed after 60 min without use"):
        ControlBackend(f"{bob['ada_folder']}/control.sock", bob["ada_token"]).attach("welcome")


def test_a_restarted_lab_server_keeps_tokens_and_records(server: LabServer, bob: dict[str, str],
                                                         engine: docker.DockerClient) -> None:
    state = server.state_dir
    server.stop(remove_everything=False)  # as if it crashed: labs and networks stay
    again = LabServer(state, server.workshop.quotas, None, engine, print).start()
    try:
        assert not [n for n in lab_names(engine) if n.startswith(f"{PREFIX}ws-")]  # the old labs were cleared
        with pytest.raises(LabNotFoundError):  # the old token still opens Bob's channel
            ControlBackend(f"{bob['folder']}/control.sock", bob["token"]).attach("failover")
        assert again.workshop.class_view()["learners"][ADA]["exercises"]["00-welcome/1"]["passed"]  # type: ignore[index]
    finally:
        again.stop()
    assert not [n for n in lab_names(engine) if n.startswith((f"{PREFIX}ws-", "ws-net-it-"))]
    assert not [n.name for n in engine.networks.list() if n.name.startswith("geolab-ws-it-")]


def test_nothing_of_a_stopped_lab_server_answers(server: LabServer, bob: dict[str, str]) -> None:
    with pytest.raises(LabError):
        ControlBackend(f"{bob['folder']}/control.sock", bob["token"]).attach("failover")
