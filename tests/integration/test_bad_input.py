"""Bad input and failed starts: a clear error before anything starts, and nothing left behind.

Each case is something a learner, an instructor or a grader can get wrong. Every one must raise a
`LabError` (the one root of the lab's errors) whose message says what was expected, and leave no
container or network of the lab behind; through the CLI it must print one or two lines, exit 2 and
show no traceback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import docker
from checks import check, progress, reset
from checks.cli import main as geolab
from checks.engine.batch import GradeOptions, grade
from labs.cluster import allocate_ports
from labs.errors import (
    EngineError,
    ImageError,
    LabError,
    LabNotFoundError,
    PortInUseError,
    ProvisioningError,
    SettingsError,
    TopologyError,
    UsageError,
)
from labs.lab import Lab
from labs.settings import load_settings
from labs.topology import ConfigStore, Link, Topology, failover, full_mesh, one_way, single
from labs.waiting import wait_for
from tests.integration.conftest import lab_leftovers

LAB = "bad-input"  # every case that gets as far as naming a lab uses this name


def assert_nothing_left(engine: docker.DockerClient, name: str = LAB) -> None:
    assert lab_leftovers(engine, name) == ([], [])


def start(topology: object, name: object = LAB, base_port: object = None) -> Callable[[], object]:
    return lambda: Lab.start(topology, name=name, base_port=base_port)  # type: ignore[arg-type]


class FakeLab:
    """A lab handle whose clusters are named but never reached (the error comes first)."""

    clusters = ("beijing",)


# (id, the call, the error it must raise, env to set) - all refused before Docker is touched
API_CASES: list[tuple[str, Callable[[], object], type[LabError], dict[str, str]]] = [
    ("cluster name uppercase", lambda: Lab.start(full_mesh("beijing", "Shanghai"), name=LAB), TopologyError, {}),
    ("cluster name underscore", lambda: Lab.start(full_mesh("beijing", "shang_hai"), name=LAB), TopologyError, {}),
    ("cluster name reserved", lambda: Lab.start(single("standalone"), name=LAB), TopologyError, {}),
    ("cluster name not a string", lambda: single(42), TopologyError, {}),  # type: ignore[arg-type]
    ("cluster name Chinese", lambda: single("北京"), TopologyError, {}),
    ("duplicate clusters", lambda: full_mesh("beijing", "beijing"), TopologyError, {}),
    ("five clusters", lambda: full_mesh("aa", "bb", "cc", "dd", "ee"), TopologyError, {}),
    ("mesh of one", lambda: full_mesh("beijing"), TopologyError, {}),
    ("one-way cycle", lambda: one_way("beijing", "shanghai", "beijing"), TopologyError, {}),
    ("link to unknown cluster",
     lambda: Topology(kind="custom", clusters=("beijing",), links=(Link("beijing", "tokyo"),)), TopologyError, {}),
    ("link to itself",
     lambda: Topology(kind="custom", clusters=("beijing",), links=(Link("beijing", "beijing"),)), TopologyError, {}),
    ("failover to itself", lambda: failover("beijing", "beijing"), TopologyError, {}),
    ("unknown config store", lambda: full_mesh("beijing", "shanghai", config_store="global"), TopologyError, {}),
    ("bad tenant name",
     lambda: Topology(kind="single", clusters=("beijing",), links=(), tenant="my tenant"), TopologyError, {}),
    ("no clusters", lambda: Topology(kind="custom", clusters=(), links=()), TopologyError, {}),
    ("shared store, one-way links",
     lambda: Topology(kind="custom", clusters=("aa", "bb"), links=(Link("aa", "bb"),),
                      config_store=ConfigStore.SHARED), TopologyError, {}),
    ("topology is a string", start("full-mesh"), TopologyError, {}),
    ("lab name with spaces", start(single(), name="My Lab"), TopologyError, {}),
    ("lab name not a string", start(single(), name=7), UsageError, {}),
    ("base port below 1024", start(single(), base_port=80), PortInUseError, {}),
    ("base port above 65535", start(single(), base_port=70000), PortInUseError, {}),
    ("base port a string", start(single(), base_port="16650"), PortInUseError, {}),
    ("base port inside the container's ports", lambda: allocate_ports(["beijing"], 8080), PortInUseError, {}),
    ("start timeout not a number", start(single()), SettingsError, {"GEOLAB_START_TIMEOUT": "soon"}),
    ("start timeout negative", start(single()), SettingsError, {"GEOLAB_START_TIMEOUT": "-5"}),
    ("keep labs neither on nor off", start(single()), SettingsError, {"GEOLAB_KEEP_LABS": "maybe"}),
    ("image reference malformed", start(single()), SettingsError, {"GEOLAB_PULSAR_IMAGE": "not an image!"}),
    ("lab prefix invalid", start(single()), SettingsError, {"GEOLAB_LAB_PREFIX": "Grade_1"}),
    ("cache folder relative", load_settings, SettingsError, {"GEOLAB_CACHE": "cache/geolab"}),
    ("Debian mirror not a URL", load_settings, SettingsError, {"GEOLAB_DEBIAN_MIRROR": "deb.debian.org"}),
    ("JVM memory not flags", start(single()), SettingsError, {"GEOLAB_PULSAR_MEM": "384m"}),
    ("unknown exercise", lambda: check("99-nope/1", FakeLab()), LabError, {}),  # type: ignore[arg-type]
    ("unknown notebook", lambda: progress("99_nope", FakeLab()), LabError, {}),  # type: ignore[arg-type]
    ("reset without a reset", lambda: reset("02-mesh/3", FakeLab()), LabError, {}),  # type: ignore[arg-type]
    ("attach to no lab", lambda: Lab.attach("no-such-lab"), LabNotFoundError, {}),
    ("grade a missing folder",
     lambda: grade([Path("/nonexistent/submissions")], Path("/tmp/geolab-out"), GradeOptions()), LabError, {}),
]


@pytest.mark.parametrize("call,error,env", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_input_is_refused_before_anything_starts(
    call: Callable[[], object], error: type[LabError], env: dict[str, str], engine: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, LabError)
    message = str(info.value)
    assert "expected" in message.lower(), f"the message names no expectation: {message}"
    assert_nothing_left(engine)


CLI_CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("unknown preset", ["up", "star"], {}),
    ("bad cluster name", ["up", "one-way", "Beijing", "shanghai"], {}),
    ("failover with three clusters", ["up", "failover", "aa", "bb", "cc"], {}),
    ("single with two clusters", ["up", "single", "aa", "bb"], {}),
    ("base port not a number", ["up", "single", "--base-port", "abc"], {}),
    ("base port out of range", ["up", "single", "--base-port", "99999"], {}),
    ("down without a name", ["down"], {}),
    ("status of no lab", ["status", "no-such-lab"], {}),
    ("doctor for nine clusters", ["doctor", "--clusters", "9"], {}),
    ("bad setting", ["up", "single"], {"GEOLAB_START_TIMEOUT": "soon"}),
    ("grade a missing folder", ["grade", "/nonexistent/submissions"], {}),
    ("grade nothing", ["grade"], {}),
    ("grade with a missing hidden folder", ["grade", "/tmp", "--hidden", "/nonexistent/hidden"], {}),
    ("grade with a zero timeout", ["grade", "/tmp", "--timeout", "0"], {}),
    ("self-test of an unknown notebook", ["grade", "--self-test", "--only", "99_nope"], {}),
    ("self-test with a missing notebooks folder", ["grade", "--self-test", "--notebooks", "/nonexistent"], {}),
    ("notebooks into a file", ["notebooks", "/etc/hostname"], {}),
    ("image of another kind", ["image", "push"], {}),
]


@pytest.mark.parametrize("argv,env", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_answers_bad_input_in_two_lines(argv: list[str], env: dict[str, str], engine: docker.DockerClient,
                                            capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    try:
        code = geolab(argv)
    except SystemExit as exit_:  # argparse refuses unknown choices and non-numbers itself
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit code {code}; stderr: {err}"
    assert 1 <= len(lines) <= 2, f"expected one or two lines, got {len(lines)}: {err}"
    assert "Traceback" not in err
    assert_nothing_left(engine)


def test_notebook_that_is_not_json_is_recorded_not_fatal(tmp_path: Path, engine: docker.DockerClient) -> None:
    assigned = tmp_path / "01_replication_basics"
    assigned.mkdir()
    (assigned / "carol.ipynb").write_text("{ not json either")
    (tmp_path / "alice.ipynb").write_text("{ this is not json")
    (tmp_path / "bob.ipynb").write_text('{"not": "a notebook"}')
    graded = grade([tmp_path], tmp_path / "out", GradeOptions(), lambda _line: None)
    assert {g.learner: g.report.status for g in graded} == {"alice": "unknown-assignment",
                                                             "bob": "unknown-assignment",
                                                             "carol": "invalid-notebook"}
    assert (tmp_path / "out" / "gradebook.csv").exists()


def test_unreachable_engine(engine: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    with pytest.raises(EngineError, match="No Docker engine answers at tcp://127.0.0.1:1"):
        Lab.start(single("beijing"), name=LAB)
    monkeypatch.delenv("DOCKER_HOST")
    assert_nothing_left(engine)


def test_port_already_taken(engine: docker.DockerClient, pulsar_image: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{taken}"):
            Lab.start(one_way("beijing", "shanghai"), name=LAB, base_port=taken)
    assert_nothing_left(engine)


def test_missing_image(engine: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_PULSAR_IMAGE", "geolab/does-not-exist:0.0.0")
    with pytest.raises(ImageError, match="geolab/does-not-exist:0.0.0"):
        Lab.start(single("beijing"), name=LAB)
    assert_nothing_left(engine)


def test_health_deadline_removes_everything(engine: docker.DockerClient, pulsar_image: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_START_TIMEOUT", "1")
    with pytest.raises(ProvisioningError) as info:
        Lab.start(full_mesh("beijing", "shanghai"), name=LAB)
    assert "GEOLAB_START_TIMEOUT" in str(info.value).splitlines()[0]
    assert_nothing_left(engine)


class EngineProxy:
    """A TCP front for the Docker socket that can stop answering, as an engine that dies does."""

    def __init__(self, socket_path: str = "/var/run/docker.sock") -> None:
        self.socket_path = socket_path
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.open: list[socket.socket] = []
        self.dead = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.dead.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.socket_path)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def die(self) -> None:
        self.dead.set()
        self.server.close()
        for end in self.open:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass


@pytest.fixture
def proxy() -> Iterator[EngineProxy]:
    front = EngineProxy()
    yield front
    front.die()


def test_engine_that_stops_answering_mid_start(engine: docker.DockerClient, pulsar_image: str, proxy: EngineProxy,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine goes away after the lab's first container exists: a clear EngineError (not a
    requests traceback) that says how to finish the cleanup, and that cleanup works."""
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{proxy.port}")

    def kill_engine_when_a_container_exists() -> None:
        try:
            wait_for(lambda: lab_leftovers(engine, LAB)[0], what=f"the first container of lab {LAB!r}",
                     timeout_s=120, interval_s=0.1)
        finally:
            proxy.die()

    watcher = threading.Thread(target=kill_engine_when_a_container_exists, daemon=True)
    watcher.start()
    try:
        with pytest.raises(EngineError) as info:
            Lab.start(full_mesh("beijing", "shanghai", config_store="independent"), name=LAB)
        assert "stopped answering" in str(info.value) and f"geolab down {LAB}" in str(info.value)
    finally:
        watcher.join(timeout=130)
        monkeypatch.delenv("DOCKER_HOST")
        assert geolab(["down", LAB]) == 0
    assert_nothing_left(engine)


def test_down_cleans_up_after_the_starting_process_crashed(engine: docker.DockerClient, pulsar_image: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", "checks.cli", "up", "single", "--name", LAB],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        def still_running() -> None:
            assert process.poll() is None, "geolab up exited before creating its container"

        wait_for(lambda: lab_leftovers(engine, LAB)[0], what=f"the first container of lab {LAB!r}", timeout_s=120,
                 interval_s=0.2, halt=still_running)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert lab_leftovers(engine, LAB)[0], "the container outlives the crashed process"
        assert geolab(["down", LAB]) == 0
        assert_nothing_left(engine)
    finally:
        process.kill()
        geolab(["down", LAB])
