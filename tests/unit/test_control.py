"""The control channel, end to end over a real Unix socket, with a stand-in for the trusted side
(no Pulsar involved: what is tested is the channel, its verbs, errors and refusals)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labs.backend import ClusterEndpoint, LabRecord
from labs.control import ControlBackend, ControlServer
from labs.errors import LabConflictError, LabError, UsageError
from labs.forward import Forward
from labs.lab import Lab
from labs.topology import Topology, full_mesh


class TrustedSide:
    """Records every call; starts nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.forward_port = 0

    def _record(self, topology: Topology, name: str) -> LabRecord:
        endpoints = {c: ClusterEndpoint(c, f"pulsar://{c}:6650", f"http://{c}:8080", f"geolab-{name}-{c}")
                     for c in topology.clusters}
        return LabRecord(name, topology, endpoints, configured=True)

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Any) -> tuple[LabRecord, tuple[Forward, ...]]:
        self.calls.append(("start", name, configure, probe))
        if name == "taken":
            raise LabConflictError("A lab named 'taken' is already running with another topology; expected none.")
        progress("starting the clusters ...")
        progress("healthy")
        forwards = (Forward(self.forward_port, "127.0.0.1", 9),) if self.forward_port else ()
        return self._record(topology, name), forwards

    def attach(self, name: str) -> tuple[LabRecord, tuple[Forward, ...]]:
        self.calls.append(("attach", name))
        return self._record(full_mesh("beijing", "shanghai"), name), ()

    def remove(self, name: str) -> tuple[int, int]:
        self.calls.append(("remove", name))
        return 0, 0

    def cluster_state(self, name: str, cluster: str) -> str:
        return "running"

    def cluster_action(self, name: str, cluster: str, action: str, progress: Any) -> float:
        self.calls.append((action, name, cluster))
        return 1.5

    def link_action(self, name: str, a: str, b: str, action: str) -> None:
        self.calls.append((action, name, a, b))

    def call(self, verb: str, body: Any) -> Any:
        self.calls.append(("call", verb, body))
        return {"echo": body}


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[tuple[TrustedSide, ControlServer, ControlBackend]]:
    side = TrustedSide()
    token = secrets.token_hex(32)
    server = ControlServer(tmp_path / "control.sock", token, side).start()
    backend = ControlBackend(str(tmp_path / "control.sock"), token)
    yield side, server, backend
    backend.close()
    server.stop()


def test_lab_start_and_faults_go_through_the_channel(channel: tuple[TrustedSide, ControlServer, ControlBackend]
                                                     ) -> None:
    side, server, backend = channel
    lines: list[str] = []
    lab = Lab.start(full_mesh("beijing", "shanghai"), name="basics", configure=False, backend=backend,
                    progress=lines.append)
    assert lab.endpoints["beijing"].service_url == "pulsar://beijing:6650"
    assert lines[:2] == ["starting the clusters ...", "healthy"]
    lab.kill("beijing")
    assert lab.start_cluster("beijing") == 1.5
    lab.cut_link("beijing", "shanghai")
    lab.heal_link("shanghai", "beijing")
    assert [c.state for c in lab.status().clusters] == ["running", "running"]
    lab.stop(progress=lines.append)
    assert side.calls == [("start", "basics", False, True), ("kill", "basics", "beijing"),
                          ("start", "basics", "beijing"), ("cut", "basics", "beijing", "shanghai"),
                          ("heal", "basics", "shanghai", "beijing"), ("remove", "basics")]


def test_errors_keep_their_class(channel: tuple[TrustedSide, ControlServer, ControlBackend]) -> None:
    _, _, backend = channel
    with pytest.raises(LabConflictError, match="already running"):
        Lab.start(full_mesh("beijing", "shanghai"), name="taken", backend=backend)


def test_exec_is_not_a_verb(channel: tuple[TrustedSide, ControlServer, ControlBackend]) -> None:
    _, _, backend = channel
    lab = Lab.attach("basics", backend=backend)
    with pytest.raises(UsageError, match="lab.admin"):
        lab.exec("beijing", "bin/pulsar-admin", "clusters", "list")


def test_a_wrong_token_is_refused(channel: tuple[TrustedSide, ControlServer, ControlBackend], tmp_path: Path) -> None:
    side, server, _ = channel
    intruder = ControlBackend(str(tmp_path / "control.sock"), "not-the-token")
    try:
        with pytest.raises(UsageError, match="token"):
            intruder.attach("basics")
    finally:
        intruder.close()
    assert side.calls == []
    assert list(server.requests) == ["GET /v1/labs/basics"]


@pytest.mark.parametrize("path", ["/v1/labs/../../etc/passwd", "/v1/labs/Basics", "/v1/docker/containers",
                                  "/v1/labs/basics/clusters/beijing/exec"])
def test_unknown_or_malformed_verbs_are_refused(channel: tuple[TrustedSide, ControlServer, ControlBackend],
                                                path: str) -> None:
    side, _, backend = channel
    with pytest.raises(LabError):
        backend._call("POST", path, {})
    assert side.calls == []


def test_a_lab_record_brings_its_port_forwards(channel: tuple[TrustedSide, ControlServer, ControlBackend]) -> None:
    side, _, backend = channel
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        side.forward_port = probe.getsockname()[1]
    Lab.start(full_mesh("beijing", "shanghai"), name="basics", backend=backend)
    with socket.create_connection(("127.0.0.1", side.forward_port), timeout=5):
        pass  # the kernel's side listens where the trusted side said


def test_no_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="No control channel"):
        ControlBackend(str(tmp_path / "missing.sock"), "t")


def test_idle_connections_cannot_tie_up_the_trusted_side(channel: tuple[TrustedSide, ControlServer, ControlBackend],
                                                         tmp_path: Path) -> None:
    _, _, backend = channel
    idle = []
    for _ in range(20):  # more than the channel serves at once, each sending nothing
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(tmp_path / "control.sock"))
        idle.append(sock)
    try:
        refused = 0
        for sock in idle:
            sock.settimeout(0.5)
            try:
                refused += sock.recv(1) == b""
            except TimeoutError:
                pass
        assert refused >= 20 - 8, "connections beyond the limit are closed at once"
    finally:
        for sock in idle:
            sock.close()
    assert backend.attach("basics").name == "basics"  # the kernel's own requests still go through


def test_the_doctor_of_a_kernel_with_a_channel_asks_the_channel_not_docker(
        channel: tuple[TrustedSide, ControlServer, ControlBackend], monkeypatch: pytest.MonkeyPatch) -> None:
    from labs.doctor import doctor

    _, server, _ = channel
    monkeypatch.setenv("GEOLAB_CONTROL", str(server.socket_path))
    monkeypatch.setenv("GEOLAB_CONTROL_TOKEN", server.token)
    report = doctor(clusters=1)
    assert report.ok and [f.check for f in report.findings] == ["pulsar-client", "lab server"]
    monkeypatch.setenv("GEOLAB_CONTROL_TOKEN", "not-the-token")
    refused = doctor(clusters=1)
    assert not refused.ok and refused.findings[-1].check == "lab server" and "token" in refused.findings[-1].detail
