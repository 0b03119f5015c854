"""The control channel, end to end over a real Unix socket, with a stand-in for the trusted side
(no Pulsar involved: what is tested is the channel, its verbs, errors and refusals)."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labs.backend import ClusterEndpoint, LabRecord
from labs.control import ControlBackend, ControlServer, error_from_wire, wire_language
from labs.errors import LabConflictError, LabError, UsageError, WaitTimeout
from labs.forward import Forward
from labs.i18n import _, using
from labs.lab import Lab
from labs.topology import Topology, full_mesh
from tests.channel import head, raw_request


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


# ------------------------------------------------------------------------------ the kernel's language


class SpeakingSide(TrustedSide):
    """Says its progress and its refusal in whichever language the request is handled in."""

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Any) -> tuple[LabRecord, tuple[Forward, ...]]:
        progress(_("Clusters {clusters} run elsewhere; nothing to start.").format(clusters=list(topology.clusters)))
        raise UsageError(_("Role {role!r} is not a token subject; expected one word such as 'learner-ada'.").format(
            role=name))


@pytest.mark.parametrize(("lang", "refusal", "progress"), [
    ("zh", "角色 'basics' 不能作为令牌的主体", "运行在别处"),
    ("en", "Role 'basics' is not a token subject", "run elsewhere; nothing to start"),
])
def test_the_trusted_side_answers_in_the_kernels_language(tmp_path: Path, lang: str, refusal: str,
                                                          progress: str) -> None:
    token = secrets.token_hex(32)
    server = ControlServer(tmp_path / "control.sock", token, SpeakingSide()).start()
    backend = ControlBackend(str(tmp_path / "control.sock"), token)
    lines: list[str] = []
    try:
        with using(lang), pytest.raises(UsageError) as info:
            backend.start(full_mesh("beijing", "shanghai"), "basics", None, True, True, lines.append)
    finally:
        backend.close()
        server.stop()
    assert refusal in str(info.value) and len(lines) == 1 and progress in lines[0]
    assert "['beijing', 'shanghai']" in lines[0]


def test_one_server_answers_a_chinese_and_an_english_kernel_at_once(
        channel: tuple[TrustedSide, ControlServer, ControlBackend], tmp_path: Path) -> None:
    _side, server, english = channel
    chinese = ControlBackend(str(tmp_path / "control.sock"), server.token)
    said: dict[str, list[str]] = {"zh": [], "en": []}

    def ask(lang: str, backend: ControlBackend) -> None:
        with using(lang):
            for _ in range(10):
                try:
                    backend.attach("Basics")  # refused by the trusted side, in the asker's language
                except UsageError as exc:
                    said[lang].append(str(exc))

    threads = [threading.Thread(target=ask, args=("zh", chinese)), threading.Thread(target=ask, args=("en", english))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        chinese.close()
    assert set(said["zh"]) == {"'Basics' 不是实验环境、集群或操作的名称；应为小写字母、数字和 '-'。"}
    assert set(said["en"]) == {"'Basics' is not a lab, cluster or verb name; expected lowercase letters, digits and "
                               "'-'."}


@pytest.mark.parametrize(("header", "lang"), [("zh", "zh"), ("en", "en"), ("ZH", "zh"), ("zh, en;q=0.5", "zh"),
                                              ("fr", "en"), ("zh-CN", "en"), ("", "en"), (None, "en"),
                                              (";;,,", "en"), ("\x00zh", "en")])
def test_only_en_and_zh_are_languages_of_the_channel(header: str | None, lang: str) -> None:
    assert wire_language(header) == lang


def test_a_request_in_another_or_a_malformed_language_is_answered_in_english(
        channel: tuple[TrustedSide, ControlServer, ControlBackend], tmp_path: Path) -> None:
    _side, server, _backend = channel
    transport = httpx.HTTPTransport(uds=str(tmp_path / "control.sock"))
    with httpx.Client(transport=transport, base_url="http://geolab") as client:
        for header in ("fr-FR", ";zh", "*", "a" * 500):
            answer = client.get("/v1/labs/Basics", headers={"Authorization": f"Bearer {server.token}",
                                                            "Accept-Language": header})
            assert "is not a lab, cluster or verb name" in answer.text, header


def test_an_error_whose_class_takes_more_than_a_message_keeps_its_class_across_the_channel() -> None:
    error = error_from_wire({"type": "WaitTimeout", "message": "等待超时。"})
    assert isinstance(error, WaitTimeout) and str(error) == "等待超时。" and error.timeout_s == 0.0
    assert "without a message" in str(error_from_wire({"type": "LabError"}))


# ------------------------------------------------------------------------------ bounded reads


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[tuple[TrustedSide, Path, str]]:
    side = TrustedSide()
    token = secrets.token_hex(32)
    server = ControlServer(tmp_path / "control.sock", token, side).start()
    yield side, tmp_path / "control.sock", token
    server.stop()


@pytest.mark.parametrize("length", ["-1", "-9999999999", "0x10", "1e6", " 12 34", "99999999999999999999"])
def test_a_length_that_is_no_byte_count_is_refused_before_the_body_is_read(raw: tuple[TrustedSide, Path, str],
                                                                          length: str) -> None:
    """A negative Content-Length used to pass the size check; the server then read until the kernel closed
    the connection, holding everything it sent (the grader reached 2.4 GiB from one such request)."""
    side, path, token = raw
    answer, taken = raw_request(str(path), head(token, f"Content-Length: {length}"), stream=64 << 20)
    assert b"Content-Length" in answer or b"bytes" in answer, answer[-300:]
    assert taken < 8 << 20, f"the server read on: {taken} bytes of the stream were taken"
    assert side.calls == []


def test_a_post_without_a_length_is_refused(raw: tuple[TrustedSide, Path, str]) -> None:
    side, path, token = raw
    answer, _ = raw_request(str(path), head(token), body=b'{"exercise": "01-basics/1"}')
    assert b"without Content-Length" in answer
    assert side.calls == []


def test_a_chunked_body_is_refused(raw: tuple[TrustedSide, Path, str]) -> None:
    side, path, token = raw
    answer, _ = raw_request(str(path), head(token, "Transfer-Encoding: chunked"), body=b"5\r\nhello\r\n0\r\n\r\n")
    assert b"Transfer-Encoding" in answer
    assert side.calls == []


def test_a_body_that_stalls_is_refused_at_the_requests_deadline(raw: tuple[TrustedSide, Path, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from labs import control

    monkeypatch.setattr(control, "REQUEST_DEADLINE_S", 1.0)
    side, path, token = raw
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(path))
    sock.settimeout(10)
    sock.sendall(head(token, "Content-Length: 100") + b'{"exer')  # 6 of 100 bytes, then nothing
    answer = b""
    while data := sock.recv(1 << 16):  # the server answers and closes; no sleep: recv waits for it
        answer += data
    sock.close()
    assert b"did not arrive within 1 s" in answer
    assert side.calls == []


def test_headers_past_the_requests_budget_are_not_read(raw: tuple[TrustedSide, Path, str]) -> None:
    from labs.control import MAX_REQUEST

    side, path, token = raw
    many = [f"X-Filler-{number}: {'f' * 4000}" for number in range(90)]  # 360 KB of headers
    answer, taken = raw_request(str(path), head(token, *many), stream=64 << 20)
    assert b"refused a request of more than" in answer, answer[-300:]
    assert taken < 8 << 20
    assert MAX_REQUEST < 360_000 and side.calls == []


def test_a_well_formed_request_within_the_bounds_still_goes_through(raw: tuple[TrustedSide, Path, str]) -> None:
    side, path, token = raw
    body = json.dumps({"exercise": "01-basics/1", "pad": "p" * 30_000}).encode()
    answer, _ = raw_request(str(path), head(token, f"Content-Length: {len(body)}"), body=body)
    assert b'"result"' in answer
    assert side.calls[0][:2] == ("call", "check")
