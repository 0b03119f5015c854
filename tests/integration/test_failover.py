"""Active/standby failover: replicated subscriptions, AutoClusterFailover, kill/stop/restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.flows import FailoverDrill
from labs.lab import Lab
from labs.topology import failover
from tests.integration.conftest import start_lab

ACTIVE, STANDBY = "beijing", "shanghai"


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(failover(ACTIVE, STANDBY), "it-failover")


def test_namespace_is_replicated_both_ways(lab: Lab) -> None:
    for cluster in (ACTIVE, STANDBY):
        assert lab.admin(cluster).get_namespace_clusters(lab.topology.qualified_namespace) == [ACTIVE, STANDBY]


def test_consumer_resumes_on_standby_without_loss(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"orders-{unique}")
    subscription = "billing"
    lab.create_replicated_subscription(topic, subscription)
    standby_admin = lab.admin(STANDBY)
    initial_mark = standby_admin.get_cursors(topic)[subscription].mark_delete_position

    client = lab.failover_client(check_interval_ms=500)
    drill = FailoverDrill(client, topic, subscription)
    try:
        # a live application: produce and consume at ~50 msg/s, so snapshots are taken as it runs,
        # then 20 more messages nobody has read when the active cluster dies
        drill.run_traffic(messages=200, unconsumed=20)

        def standby_position_moved() -> bool:
            drill.produce(1)  # snapshots are only taken while messages arrive
            return standby_admin.get_cursors(topic)[subscription].mark_delete_position != initial_mark

        standby_admin.wait_until(standby_position_moved, 60, "the standby's copy of the subscription to advance",
                                 interval_s=0.5)
        lab.kill(ACTIVE)
        drill.mark_failure()
        complete = drill.receive_rest(timeout_s=45)
        if not complete:
            # messages confirmed by the active cluster but not yet replicated wait in its storage:
            # they arrive once it is back and its replicator catches up
            lab.start_cluster(ACTIVE)
            drill.receive_rest(timeout_s=120)
        report = drill.report()
        print(f"failover: {report}, active restarted: {not complete}")

        assert not report.lost, f"{len(report.lost)} confirmed messages never arrived: {report.lost[:10]}"
        if complete:
            assert report.service_url_after == lab.endpoints[STANDBY].service_url
        # the standby resumed near the acknowledged position, not from the start of the topic
        assert 0 < report.resumed_at <= report.acked_before_failover
        assert report.duplicates < report.acked_before_failover
    finally:
        drill.close()
        client.close()
        lab.start_cluster(ACTIVE)


def test_stopped_cluster_keeps_its_data_and_ports(lab: Lab, unique: str) -> None:
    topic = lab.topic(f"durable-{unique}")
    lab.client(STANDBY).subscribe(topic, "keep").close()
    lab.client(STANDBY).create_producer(topic).send(b"before-stop")
    endpoint = lab.endpoints[STANDBY]
    lab.stop_cluster(STANDBY)
    assert lab.status().clusters[1].state == "exited"
    lab.start_cluster(STANDBY)
    assert lab.endpoints[STANDBY] == endpoint
    consumer = lab.client(STANDBY).subscribe(topic, "keep")
    assert consumer.receive(timeout_millis=30_000).data() == b"before-stop"
