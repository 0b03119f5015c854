"""One-way replication beijing -> shanghai, enforced with allowed clusters; also reattach, Pulsar's
own CLI inside the container, and a conflicting lab name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import docker
from labs.errors import AdminError, LabConflictError
from labs.flows import collect
from labs.lab import Lab
from labs.topology import full_mesh, one_way
from labs.waiting import wait_for
from tests.integration.conftest import start_lab

NAME = "it-one-way"
NO_ARRIVAL_WINDOW_S = 15.0


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(one_way("beijing", "shanghai"), NAME)


def test_policies_are_one_way(lab: Lab) -> None:
    namespace = lab.topology.qualified_namespace
    assert lab.admin("beijing").get_namespace_clusters(namespace) == ["beijing", "shanghai"]
    assert lab.admin("shanghai").get_namespace_clusters(namespace) == ["shanghai"]
    assert lab.admin("shanghai").get_namespace_allowed_clusters(namespace) == ["shanghai"]


def test_forward_arrives_and_nothing_flows_back(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"oneway-{unique}")
    on_beijing = lab.client("beijing").subscribe(topic, "audit")
    on_shanghai = lab.client("shanghai").subscribe(topic, "audit")
    lab.client("beijing").create_producer(topic).send(b"forward")
    back = lab.client("shanghai").create_producer(topic)
    back.send(b"back")
    # even a per-message override cannot send against the link: allowed clusters forbid it
    back.send(b"back-override", replication_clusters=["shanghai", "beijing"])
    assert sorted(r.data for r in collect(on_shanghai, [b"forward", b"back", b"back-override"], 60)) == [
        b"back", b"back-override", b"forward"]
    on_beijing_data = [r.data for r in collect(on_beijing, None, NO_ARRIVAL_WINDOW_S)]
    assert on_beijing_data == [b"forward"], "nothing produced on shanghai may reach beijing"


def test_replication_cursor_exists_only_on_the_source(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"cursor-{unique}")
    lab.client("beijing").create_producer(topic).send(b"x")
    lab.client("shanghai").create_producer(topic).send(b"y")
    beijing = lab.admin("beijing")
    wait_for(lambda: "pulsar.repl.shanghai" in beijing.get_cursors(topic),
             what="replication cursor pulsar.repl.shanghai on beijing", timeout_s=30, tolerate=(AdminError,))
    shanghai_cursors = lab.admin("shanghai").get_cursors(topic)
    assert not [c for c in shanghai_cursors if c.startswith("pulsar.repl.")]
    assert set(lab.admin("shanghai").get_topic_stats(topic).replication) == set()


def test_pulsar_admin_cli_inside_the_container_reports_the_clusters(lab: Lab) -> None:
    code, output = lab.exec("beijing", "bin/pulsar-admin", "namespaces", "get-clusters",
                            lab.topology.qualified_namespace)
    assert code == 0, output
    assert set(output.split()) >= {"beijing", "shanghai"}
    code, output = lab.exec("shanghai", "bin/pulsar-admin", "namespaces", "get-clusters",
                            lab.topology.qualified_namespace)
    assert code == 0, output
    assert "beijing" not in output.split()


def test_pulsar_perf_is_in_the_image(lab: Lab) -> None:
    code, output = lab.exec("beijing", "bin/pulsar-perf", "produce", "--help")
    assert code == 0, output
    assert "--rate" in output


def test_restarting_the_same_lab_reattaches(lab: Lab, engine: docker.DockerClient) -> None:
    before = {c.id for c in engine.containers.list(filters={"label": f"org.geolab.lab={NAME}"})}
    again = Lab.start(one_way("beijing", "shanghai"), name=NAME)
    assert again.reattached
    assert again.endpoints == lab.endpoints
    after = {c.id for c in engine.containers.list(filters={"label": f"org.geolab.lab={NAME}"})}
    assert after == before


def test_same_name_with_another_topology_is_refused(lab: Lab) -> None:
    with pytest.raises(LabConflictError, match="another topology"):
        Lab.start(full_mesh("beijing", "shanghai"), name=NAME)
    assert lab.status().clusters[0].healthy
