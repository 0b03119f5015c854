"""Full mesh with independent configuration stores: each cluster registers its peers itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.flows import collect, send_all
from labs.lab import Lab
from labs.topology import ConfigStore, full_mesh
from tests.integration.conftest import start_lab

CLUSTERS = ("beijing", "shanghai", "guangzhou")


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(full_mesh(*CLUSTERS, config_store="independent"), "it-mesh-indep")


def test_each_cluster_holds_its_own_metadata(lab: Lab, unique: str) -> None:
    assert lab.topology.config_store is ConfigStore.INDEPENDENT
    for cluster in CLUSTERS:
        admin = lab.admin(cluster)
        assert admin.list_clusters() == sorted(CLUSTERS)
        assert admin.get_namespace_clusters(lab.topology.qualified_namespace) == sorted(CLUSTERS)
    # a namespace created on one cluster stays there: the stores are not shared
    namespace = f"{lab.topology.tenant}/alone-{unique}"
    lab.admin("beijing").create_namespace(namespace)
    assert namespace in lab.admin("beijing").list_namespaces(lab.topology.tenant)
    assert namespace not in lab.admin("shanghai").list_namespaces(lab.topology.tenant)


def test_message_from_each_cluster_reaches_every_other(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"mesh-{unique}")
    consumers = {c: lab.client(c).subscribe(topic, "everyone") for c in CLUSTERS}
    sent = []
    for origin in CLUSTERS:
        producer = lab.client(origin).create_producer(topic)
        payloads = [f"{origin}-{i}-{unique}".encode() for i in range(3)]
        send_all(producer, payloads)
        producer.close()
        sent += payloads
    for cluster, consumer in consumers.items():
        got = [r.data for r in collect(consumer, sent, timeout_s=60)]
        assert sorted(got) == sorted(sent), f"{cluster} received {len(got)} of {len(sent)}"


def test_selective_replication(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"selective-{unique}")
    consumers = {c: lab.client(c).subscribe(topic, "selective") for c in CLUSTERS}
    producer = lab.client("guangzhou").create_producer(topic)
    producer.send(b"to-beijing", replication_clusters=["guangzhou", "beijing"])
    producer.send(b"everyone")
    assert [r.data for r in collect(consumers["beijing"], [b"to-beijing", b"everyone"], 60)] == [
        b"to-beijing", b"everyone"]
    assert [r.data for r in collect(consumers["shanghai"], [b"everyone"], 60)] == [b"everyone"]


def test_no_broker_port_can_meet_a_connection_of_its_own_container(lab: Lab) -> None:
    """The broker binds its host port number inside the container after its own clients connected:
    the containers' ephemeral range is moved away from every broker port."""
    from labs.cluster import CONTAINER_EPHEMERAL

    for cluster in lab.clusters:
        code, output = lab.exec(cluster, "cat", "/proc/sys/net/ipv4/ip_local_port_range")
        assert code == 0 and tuple(int(x) for x in output.split()) == CONTAINER_EPHEMERAL
        broker_port = int(lab.endpoints[cluster].service_url.rsplit(":", 1)[1])
        assert not CONTAINER_EPHEMERAL[0] <= broker_port <= CONTAINER_EPHEMERAL[1]
