"""Full mesh with a shared configuration store ("global ZooKeeper"), three real clusters."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pulsar
import pytest

import docker
from labs.admin import PulsarAdmin
from labs.errors import AdminError
from labs.flows import collect, send_all
from labs.lab import Lab
from labs.topology import ConfigStore, full_mesh
from labs.waiting import wait_for
from tests.integration.conftest import start_lab

CLUSTERS = ("beijing", "shanghai", "guangzhou")


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(full_mesh(*CLUSTERS), "it-mesh-shared")


def subscribe_all(lab: Lab, topic: str, subscription: str) -> dict[str, pulsar.Consumer]:
    return {c: lab.client(c).subscribe(topic, subscription) for c in lab.clusters}


def test_lab_uses_a_shared_store_container(lab: Lab, engine: docker.DockerClient) -> None:
    assert lab.topology.config_store is ConfigStore.SHARED
    roles = {c.labels["org.geolab.role"] for c in engine.containers.list(
        filters={"label": f"org.geolab.lab={lab.name}"})}
    assert roles == {"broker", "configuration-store"}


def test_namespace_created_through_one_cluster_appears_on_all(lab: Lab, unique: str) -> None:
    namespace = f"{lab.topology.tenant}/once-{unique}"
    lab.admin("beijing").create_namespace(namespace, list(CLUSTERS))
    for cluster in ("shanghai", "guangzhou"):
        admin = lab.admin(cluster)
        wait_for(partial(admin.list_namespaces, lab.topology.tenant), timeout_s=30,
                 what=f"namespace {namespace} visible on {cluster}", accept=lambda found: namespace in found)
        assert admin.get_namespace_clusters(namespace) == sorted(CLUSTERS)
    # the tenant exists once, with every cluster allowed, as seen from each cluster
    for cluster in CLUSTERS:
        assert lab.admin(cluster).get_tenant(lab.topology.tenant).allowed_clusters == tuple(sorted(CLUSTERS))


def test_clusters_registered_with_their_network_names(lab: Lab) -> None:
    for cluster in CLUSTERS:
        data = lab.admin("guangzhou").get_cluster(cluster)
        assert data.broker_service_url == f"pulsar://{cluster}:6650"
        assert data.service_url == f"http://{cluster}:8080"


def test_message_from_each_cluster_reaches_every_other(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"mesh-{unique}")
    consumers = subscribe_all(lab, topic, "everyone")
    sent: dict[str, bytes] = {}
    for origin in CLUSTERS:
        payload = f"from {origin} {unique}".encode()
        producer = lab.client(origin).create_producer(topic)
        send_all(producer, [payload])
        producer.close()
        sent[origin] = payload
    for cluster, consumer in consumers.items():
        got = {r.data for r in collect(consumer, sent.values(), timeout_s=60)}
        assert got == set(sent.values()), f"{cluster} received {got}"


def test_replication_clusters_reach_only_the_named_clusters(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"selective-{unique}")
    consumers = subscribe_all(lab, topic, "selective")
    producer = lab.client("beijing").create_producer(topic)
    producer.send(b"only-shanghai", replication_clusters=["beijing", "shanghai"])
    producer.send(b"everyone")  # same producer: arrives after the first wherever both are replicated
    shanghai = [r.data for r in collect(consumers["shanghai"], [b"only-shanghai", b"everyone"], 60)]
    guangzhou = [r.data for r in collect(consumers["guangzhou"], [b"everyone"], 60)]
    beijing = [r.data for r in collect(consumers["beijing"], [b"only-shanghai", b"everyone"], 60)]
    assert shanghai == [b"only-shanghai", b"everyone"]
    assert guangzhou == [b"everyone"], "guangzhou must skip the message limited to beijing and shanghai"
    assert beijing == [b"only-shanghai", b"everyone"]


def test_disable_replication_stays_local(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"local-{unique}")
    consumers = subscribe_all(lab, topic, "local")
    producer = lab.client("shanghai").create_producer(topic)
    producer.send(b"local-only", disable_replication=True)
    producer.send(b"everyone")
    assert [r.data for r in collect(consumers["shanghai"], [b"local-only", b"everyone"], 60)] == [
        b"local-only", b"everyone"]
    for remote in ("beijing", "guangzhou"):
        assert [r.data for r in collect(consumers[remote], [b"everyone"], 60)] == [b"everyone"]


def test_topic_stats_show_a_connected_replicator_per_peer(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"stats-{unique}")
    producer = lab.client("guangzhou").create_producer(topic)
    send_all(producer, [b"x"] * 5)
    admin: PulsarAdmin = lab.admin("guangzhou")

    def connected() -> bool:
        replication = admin.get_topic_stats(topic).replication
        return set(replication) == {"beijing", "shanghai"} and all(
            r.connected and r.replication_backlog == 0 for r in replication.values())

    wait_for(connected, what="replicators to beijing and shanghai connected with no backlog", timeout_s=60,
             tolerate=(AdminError,))
    cursors = admin.get_cursors(topic)
    assert {"pulsar.repl.beijing", "pulsar.repl.shanghai"} <= set(cursors)
