"""Real-cluster fixtures: a Docker engine and the Pulsar image are required; nothing here skips.

Each test module starts the lab it needs once (module scope) and removes it at the end; tests
isolate themselves by topic and subscription names.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import docker
from labs.cluster import lab_containers, lab_names, remove_lab
from labs.engine import docker_client
from labs.errors import EngineError, ImageError
from labs.image import resolve_image
from labs.lab import Lab
from labs.settings import load_settings
from labs.topology import Topology


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        return docker_client()
    except EngineError as exc:
        pytest.fail(f"Real-cluster tests need a Docker engine: {exc}", pytrace=False)


#: Lab names the tests create; leftovers from an interrupted earlier run are removed first, so a
#: test never reattaches to a stale lab.
TEST_LAB_PREFIXES = ("it-", "grade", "nb0", "bad-input", "crash-", "lookups", "ws-net-it-")


@pytest.fixture(scope="session", autouse=True)
def no_stale_test_labs(engine: docker.DockerClient) -> None:
    for name in lab_names(engine):
        if name.startswith(TEST_LAB_PREFIXES):
            remove_lab(engine, name)


@pytest.fixture(scope="session")
def pulsar_image(engine: docker.DockerClient) -> str:
    try:
        return resolve_image(engine, load_settings(), print, pull=False)
    except ImageError as exc:
        pytest.fail(f"Real-cluster tests need the Pulsar image: {exc}", pytrace=False)


def start_lab(topology: Topology, name: str) -> Iterator[Lab]:
    lab = Lab.start(topology, name=name)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


def lab_leftovers(engine: docker.DockerClient, name: str) -> tuple[list[str], list[str]]:
    containers = [c.name for c in lab_containers(engine, name)]
    networks = [n.name for n in engine.networks.list(filters={"label": f"org.geolab.lab={name}"})]
    return containers, networks


def bridge_rules() -> set[str]:
    """The host's firewall rules for packets from a Docker bridge that a grading run or a workshop adds (a
    sandbox's, a closed lab's)."""
    found: set[str] = set()
    for tool in ("iptables", "ip6tables"):
        for chain in ("INPUT", "FORWARD", "DOCKER-USER"):
            listed = subprocess.run([tool, "-S", chain], capture_output=True, text=True).stdout
            found.update(f"{tool} {line}" for line in listed.splitlines() if "-i br-" in line and "-j DROP" in line)
    return found


def loop_mounts() -> list[str]:
    """The mounted disks of closed labs (labs.disks)."""
    return [line for line in Path("/proc/mounts").read_text().splitlines() if "/var/lib/geolab/disks" in line]


class HostListener:
    """A TCP service of this host on all interfaces (port 0: any free one); counts who got through."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("0.0.0.0", port))
        self.port = int(self.server.getsockname()[1])
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

    def close(self) -> None:
        self.server.close()
