"""A lab a trusted side runs for a learner (a graded submission's, a workshop learner's) is closed, on
real clusters: its brokers replicate and its ports answer on 127.0.0.1 as on a laptop, but nothing in
it opens a connection to this host or to any network but its own, no name outside it resolves, and
what each cluster stores is capped by a disk of its own; removing the lab removes its firewall rules
and disks. (tests/integration/test_hostile.py grades the attacks that need these walls.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pulsar
import pytest

import docker
from labs.cluster import closed_networks, lab_dropped
from labs.disks import ROOT, DiskUse
from labs.docker_backend import Confinement, DockerBackend
from labs.errors import WaitTimeout
from labs.i18n import Text
from labs.lab import Lab
from labs.settings import LABEL_LAB, load_settings
from labs.topology import full_mesh
from labs.waiting import wait_for
from tests.integration.conftest import HostListener, bridge_rules, loop_mounts

NAME = "it-closed"
#: The default cap: a cluster's RocksDB stores (metadata, and the bookie's ledger index) preallocate about
#: 75 MB each once written to, so a cluster that took its first messages holds about 260 MB.
STORAGE_MIB = 512


@pytest.fixture(scope="module")
def listener() -> Iterator[HostListener]:
    service = HostListener()
    yield service
    service.close()


@pytest.fixture(scope="module")
def closed(engine: docker.DockerClient, pulsar_image: str) -> Iterator[tuple[Lab, DockerBackend]]:
    backend = DockerBackend(load_settings(), engine, confinement=Confinement(storage_mib=STORAGE_MIB))
    lab = Lab.start(full_mesh("beijing", "shanghai", config_store="independent"), name=NAME, backend=backend)
    try:
        yield lab, backend
    finally:
        lab.stop(force=True)


@pytest.fixture(scope="module")
def outsider(engine: docker.DockerClient, pulsar_image: str) -> Iterator[docker.models.containers.Container]:
    """A container on a network of its own (another lab, a service on the host's bridges), serving TCP."""
    label = {LABEL_LAB: "it-closed-outsider"}
    network = engine.networks.create("geolab-it-closed-outsider", driver="bridge", labels=label)
    container = engine.containers.run(pulsar_image, ["python3", "-m", "http.server", "8000"], detach=True,
                                      network=network.name, labels=label, name="geolab-it-closed-outsider")
    try:
        yield container
    finally:
        container.remove(force=True)
        network.remove()


def dial(lab: Lab, cluster: str, host: str, port: int) -> str:
    """What a connection from `cluster`'s container to host:port does: connected, refused (an answer:
    the address is reachable) or timed out (dropped on the way)."""
    code, output = lab.exec(cluster, "bash", "-c",
                            f"timeout 3 bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>&1 && echo connected")
    if "connected" in output:
        return "connected"
    return "timeout" if code == 124 else "refused"


def address(container: docker.models.containers.Container) -> str:
    container.reload()
    return str(next(iter(container.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"])


def gateway(lab: Lab, backend: DockerBackend, cluster: str) -> str:
    """The host's own address on `cluster`'s network (its default gateway)."""
    container = backend.container(lab.record, cluster)
    networks = container.attrs["NetworkSettings"]["Networks"]
    return str(networks[f"geolab-{NAME}-cluster-{cluster}"]["Gateway"])


def test_a_closed_lab_replicates_and_answers_on_its_published_ports(closed: tuple[Lab, DockerBackend]) -> None:
    lab, _ = closed
    assert lab.last_probe is not None and set(lab.last_probe.seconds_by_link) == {"beijing->shanghai",
                                                                                   "shanghai->beijing"}
    assert all(lab.admin(cluster).healthcheck() for cluster in lab.clusters)


def test_a_broker_reaches_neither_this_host_nor_another_network(
        closed: tuple[Lab, DockerBackend], listener: HostListener, outsider: docker.models.containers.Container,
        engine: docker.DockerClient) -> None:
    lab, backend = closed
    before = lab_dropped(engine, NAME)
    other = address(outsider)
    # the walls are the firewall's, not the addresses': a container that is not closed reaches the host
    host = gateway(lab, backend, "beijing")
    knock = f"timeout 3 bash -c 'exec 3<>/dev/tcp/{host}/{listener.port}' && echo connected"
    _code, output = outsider.exec_run(["bash", "-c", knock])
    assert "connected" in output.decode(), output
    reached = listener.accepted
    for cluster in lab.clusters:
        assert dial(lab, cluster, gateway(lab, backend, cluster), listener.port) == "timeout"
        assert dial(lab, cluster, "172.17.0.1", listener.port) == "timeout"  # the host on Docker's own bridge
        assert dial(lab, cluster, other, 8000) == "timeout"
    assert dial(lab, "beijing", "shanghai", 8080) == "connected"  # its own lab it reaches
    assert listener.accepted == reached
    assert lab_dropped(engine, NAME) > before  # the firewall counted what it dropped
    assert len(closed_networks(engine, NAME)) == 3  # each cluster's own network and the link


def test_no_name_outside_the_lab_resolves(closed: tuple[Lab, DockerBackend]) -> None:
    lab, _ = closed
    code, output = lab.exec("beijing", "bash", "-c",
                            "getent hosts shanghai; timeout 3 getent hosts pypi.org || echo none")
    assert output.split()[1:] == ["shanghai", "none"], output


def test_a_full_disk_refuses_messages_and_holds_no_more_than_its_size(closed: tuple[Lab, DockerBackend]) -> None:
    """The last test of the module: it fills beijing's disk (1 MiB messages, sent without waiting, until the
    disk is full or a minute has passed); Pulsar then refuses beijing's messages, and shanghai's disk,
    its own, is untouched."""
    lab, backend = closed
    producer = lab.client("beijing").create_producer(f"persistent://public/default/fill-{uuid.uuid4().hex[:6]}",
                                                     batching_enabled=False, send_timeout_millis=5000,
                                                     block_if_queue_full=False, max_pending_messages=16)
    answers: list[pulsar.Result] = []
    refused = 0

    def beijing() -> DiskUse:
        return next(d for d in backend.storage(lab.record) if d.cluster == "beijing")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not beijing().full:
        try:
            producer.send_async(b"z" * (1 << 20), lambda result, _id: answers.append(result))
        except pulsar.PulsarException:
            refused += 1  # its queue is full: the cluster takes no more now
            time.sleep(0.05)
    use = beijing()
    assert use.full, f"beijing holds {use.used_bytes >> 20} MiB of {use.size_bytes >> 20} after a minute"
    assert use.used_bytes <= use.size_bytes <= STORAGE_MIB << 20
    last: list[pulsar.Result] = []
    try:
        producer.send_async(b"one more", lambda result, _id: last.append(result))
    except pulsar.PulsarException:
        last.append(pulsar.Result.ProducerQueueIsFull)
    try:  # watched for 15 s: a message the cluster takes is confirmed within a second otherwise
        wait_for(lambda: list(last), what=Text("No answer to the last message."), timeout_s=15, accept=bool)
    except WaitTimeout:
        pass
    assert pulsar.Result.Ok not in last, "a cluster whose disk is full took one more message"
    assert not next(d for d in backend.storage(lab.record) if d.cluster == "shanghai").full


def test_removing_a_closed_lab_removes_its_rules_and_disks(engine: docker.DockerClient, pulsar_image: str) -> None:
    rules = bridge_rules()
    backend = DockerBackend(load_settings(), engine, confinement=Confinement(storage_mib=STORAGE_MIB))
    lab = Lab.start(full_mesh("beijing", "shanghai", config_store="independent"), name=f"{NAME}-gone",
                    backend=backend, probe=False)
    assert bridge_rules() - rules and [m for m in loop_mounts() if f"{NAME}-gone" in m]
    lab.stop(force=True)
    assert bridge_rules() <= rules
    assert not [m for m in loop_mounts() if f"{NAME}-gone" in m]
    assert not (ROOT / f"{NAME}-gone").exists()
