"""Bad input and failed starts: a clear error, and no container or network left behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

import docker
from labs.cli import main as geolab
from labs.errors import EngineError, ImageError, PortInUseError, ProvisioningError, TopologyError
from labs.lab import Lab
from labs.topology import Link, Topology, full_mesh, one_way, single
from tests.integration.conftest import lab_leftovers


def assert_nothing_left(engine: docker.DockerClient, name: str) -> None:
    assert lab_leftovers(engine, name) == ([], [])


def test_invalid_topologies_fail_before_docker(engine: docker.DockerClient) -> None:
    with pytest.raises(TopologyError, match="invalid"):
        Lab.start(full_mesh("beijing", "Shang_hai"), name="bad-names")
    with pytest.raises(TopologyError, match="not in the topology"):
        Lab.start(Topology(kind="custom", clusters=("beijing",), links=(Link("beijing", "tokyo"),)), name="bad-link")
    with pytest.raises(TopologyError, match="cycle"):
        Lab.start(one_way("beijing", "shanghai", "beijing"), name="bad-cycle")
    for name in ("bad-names", "bad-link", "bad-cycle"):
        assert_nothing_left(engine, name)


def test_unreachable_engine(engine: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    with pytest.raises(EngineError, match="No Docker engine answers at tcp://127.0.0.1:1"):
        Lab.start(single("beijing"), name="no-engine")
    monkeypatch.delenv("DOCKER_HOST")
    assert_nothing_left(engine, "no-engine")


def test_port_already_taken(engine: docker.DockerClient, pulsar_image: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{taken}"):
            Lab.start(one_way("beijing", "shanghai"), name="port-taken", base_port=taken)
    assert_nothing_left(engine, "port-taken")


def test_missing_image(engine: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_PULSAR_IMAGE", "geolab/does-not-exist:0.0.0")
    with pytest.raises(ImageError, match="geolab/does-not-exist:0.0.0"):
        Lab.start(single("beijing"), name="no-image")
    assert_nothing_left(engine, "no-image")


def test_health_deadline_removes_everything(engine: docker.DockerClient, pulsar_image: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_START_TIMEOUT", "2")
    with pytest.raises(ProvisioningError) as info:
        Lab.start(full_mesh("beijing", "shanghai"), name="too-slow")
    assert "did not" in str(info.value) and "GEOLAB_START_TIMEOUT" in str(info.value)
    assert_nothing_left(engine, "too-slow")


def test_down_cleans_up_after_the_starting_process_crashed(engine: docker.DockerClient, pulsar_image: str) -> None:
    name = "crashed"
    process = subprocess.Popen([sys.executable, "-m", "labs.cli", "up", "single", "--name", name],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not lab_leftovers(engine, name)[0]:
            assert time.monotonic() < deadline, "the lab's container never appeared"
            assert process.poll() is None, "geolab up exited before creating its container"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert lab_leftovers(engine, name)[0], "the container outlives the crashed process"
        assert geolab(["down", name]) == 0
        assert_nothing_left(engine, name)
    finally:
        process.kill()
        geolab(["down", name])
