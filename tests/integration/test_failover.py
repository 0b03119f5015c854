"""Active/standby failover: replicated subscriptions, AutoClusterFailover, kill/stop/restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.errors import AdminError
from labs.flows import FailoverDrill
from labs.lab import Lab
from labs.topology import failover
from labs.waiting import wait_for
from tests.integration.conftest import start_lab

ACTIVE, STANDBY = "beijing", "shanghai"


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(failover(ACTIVE, STANDBY), "it-failover")


def test_namespace_is_replicated_both_ways(lab: Lab) -> None:
    for cluster in (ACTIVE, STANDBY):
        assert lab.admin(cluster).get_namespace_clusters(lab.topology.qualified_namespace) == [ACTIVE, STANDBY]


def test_consumer_resumes_on_standby_without_loss(lab: Lab, unique: str) -> None:
    """Kill the active cluster and keep it dead: every confirmed message must come from the standby,
    through the same failover client, resuming near the acknowledged position. If the standby never
    takes over, nothing arrives and the test fails (the active cluster is restarted only afterwards)."""
    topic = lab.topic(f"orders-{unique}")
    subscription = "billing"
    lab.create_replicated_subscription(topic, subscription)
    active_admin, standby_admin = lab.admin(ACTIVE), lab.admin(STANDBY)
    initial_mark = standby_admin.get_cursors(topic)[subscription].mark_delete_position

    client = lab.failover_client(check_interval_ms=500)
    drill = FailoverDrill(client, topic, subscription)
    try:
        # a live application: produce and consume at ~50 msg/s, so snapshots are taken as it runs,
        # then 20 more messages nobody has read when the active cluster dies
        drill.run_traffic(messages=200, unconsumed=20)
        # a message put on the topic by someone else, under a key the drill would use: never counted
        forged = f"m{len(drill.sent) + 5:05d}"
        lab.client(ACTIVE).create_producer(topic).send(forged.encode())

        def standby_position_moved() -> bool:
            drill.produce(1)  # snapshots are only taken while messages arrive
            return standby_admin.get_cursors(topic)[subscription].mark_delete_position != initial_mark

        wait_for(standby_position_moved, what="the standby's copy of the subscription to advance", timeout_s=60,
                 tolerate=(AdminError, KeyError))
        # every confirmed message is on the standby before the crash, so none may need the active back
        wait_for(lambda: active_admin.get_topic_stats(topic).replication[STANDBY].replication_backlog,
                 what=f"{ACTIVE}'s replication backlog to {STANDBY} to drain", timeout_s=60,
                 accept=lambda backlog: backlog == 0, tolerate=(AdminError, KeyError))
        lab.kill(ACTIVE)
        drill.mark_failure()
        complete = drill.receive_rest(timeout_s=90)
        report = drill.report()
        assert drill.ignored >= 1 and forged not in drill.after
        print(f"failover: {report}")

        assert complete and report.complete, f"{len(report.lost)} confirmed messages never arrived: {report.lost[:10]}"
        assert report.service_url_after == lab.endpoints[STANDBY].service_url, "the client never moved to the standby"
        assert report.received_after_failover >= 20 - 1  # the unread messages (one may sit in the receiver queue)
        # the standby resumed near the acknowledged position, not from the start of the topic
        assert report.resumed_at is not None and 0 < report.resumed_at <= report.acked_before_failover
        assert report.duplicates < report.acked_before_failover
        assert report.caught_up_s is not None
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


def test_a_killed_cluster_takes_new_topics_once_started_again(lab: Lab, unique: str) -> None:
    """After a SIGKILL, a restarted standalone bookie can flap for good (half of the restarts in one
    experiment) while the health check passes; `start_cluster` must hand back a cluster that writes."""
    for attempt in range(3):
        lab.kill(STANDBY)
        lab.start_cluster(STANDBY)
        topic = lab.topic(f"after-kill-{unique}-{attempt}")
        producer = lab.client(STANDBY).create_producer(topic)  # a new topic needs a new ledger: a bookie
        producer.send(b"written")
        producer.close()
        assert lab.admin(STANDBY).get_topic_stats(topic).msg_in_counter == 1
