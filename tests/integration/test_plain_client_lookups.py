"""Any Pulsar client works on the service URL the lab shows.

The plain pulsar-client, exactly as the README shows it (`pulsar.Client(service_url)`, no
`listener_name`), and a client that names the listener, create producers on new topics on every
cluster of a running lab: hundreds of lookups, concurrent with each other, with replication traffic
in every direction, and with namespace unloads that force the bundle to be acquired again (the
moment Pulsar 4.0.8's lookup race, apache/pulsar#26244, and its redirects happen). Zero may fail.

A wrong address fails every try the same way (the old alias wiring failed 179 of 300); a lookup
that only timed out (CI saw 2 of 300 once, on a 2-core machine running three clusters and twelve
lookups at a time) is tried once more and must then succeed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pulsar
import pytest

from labs.flows import Flows
from labs.lab import Lab
from labs.topology import full_mesh
from labs.waiting import wait_for
from tests.integration.conftest import start_lab

ROUNDS = 10
LOOKUPS_PER_ROUND = 30


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(full_mesh("beijing", "shanghai", "guangzhou", config_store="independent"), "it-lookups")


def test_plain_clients_make_hundreds_of_lookups_without_an_error(lab: Lab) -> None:
    namespace = lab.topology.qualified_namespace
    traffic = Flows({c: lab.client(c) for c in lab.clusters}, lab.topic(f"traffic-{uuid.uuid4().hex[:6]}"))
    # one plain client per cluster as the README shows it, and one that names the listener
    plain = {c: pulsar.Client(lab.endpoints[c].service_url) for c in lab.clusters}
    named = {c: pulsar.Client(lab.endpoints[c].service_url, listener_name="external") for c in lab.clusters}
    failures: list[str] = []
    timeouts: list[str] = []
    done: list[str] = []

    def lookup(index: int) -> None:
        cluster = lab.clusters[index % len(lab.clusters)]
        client = (plain if index % 2 == 0 else named)[cluster]
        topic = f"persistent://{namespace}/lookup-{uuid.uuid4().hex[:10]}"
        for attempt in (1, 2):
            try:
                producer = client.create_producer(topic)
                producer.send(b"x")
                producer.close()
                done.append(topic)
                return
            except pulsar.Timeout as exc:  # slow, not wrong: a lookup on a starved broker; the next try must work
                timeouts.append(f"{cluster} {topic} (try {attempt}): {exc!r}")
            except pulsar.PulsarException as exc:
                failures.append(f"{cluster} {'plain' if index % 2 == 0 else 'named'} {topic}: {exc!r}")
                return
        failures.append(f"{cluster} {'plain' if index % 2 == 0 else 'named'} {topic}: timed out twice")

    try:
        for cluster in lab.clusters:
            traffic.start_consumer(cluster)
            traffic.start_producer(cluster, rate_per_s=20)
        wait_for(lambda: min(traffic.counts().replicated_in.values()), what="replication traffic in every cluster",
                 timeout_s=60, accept=lambda least: least > 0)
        with ThreadPoolExecutor(max_workers=12) as pool:
            for round_ in range(ROUNDS):
                for cluster in lab.clusters:  # the next lookups race the bundle's acquisition
                    lab.admin(cluster).unload_namespace(namespace)
                first = round_ * LOOKUPS_PER_ROUND
                list(pool.map(lookup, range(first, first + LOOKUPS_PER_ROUND)))
        replicated = traffic.counts().replicated_in
    finally:
        traffic.close()
        for client in (*plain.values(), *named.values()):
            client.close()
    print(f"lookups: {len(done)} succeeded, {len(failures)} failed, {len(timeouts)} timed out once and were "
          f"tried again {timeouts[:3]}; replicated in during the run: {replicated}")
    assert not failures, f"{len(failures)} of {ROUNDS * LOOKUPS_PER_ROUND} lookups failed: {failures[:5]}"
    assert len(done) == ROUNDS * LOOKUPS_PER_ROUND
    assert min(replicated.values()) > 100, "replication traffic stalled during the lookups"
