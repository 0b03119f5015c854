"""Reads the lab's state for the views: topic stats per cluster, turned into per-link samples.

Read-only: it calls admin GET endpoints and never changes a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from labs.admin import PulsarAdmin
from labs.errors import AdminError
from labs.topology import Topology

CONNECTED = "connected"
DISCONNECTED = "disconnected"
STALLED = "stalled"  # connected as far as the broker knows, but the oldest message waits too long
STALL_AFTER_S = 5.0  # the broker notices a dead peer connection only after ~60 s; the delay shows it at once
IDLE = "idle"  # no replicator yet: nothing produced on the topic at the source
DOWN = "down"  # the source cluster does not answer


@dataclass(frozen=True)
class LinkSample:
    source: str
    target: str
    state: str
    backlog: int
    rate_out: float
    delay_s: float


@dataclass(frozen=True)
class ClusterSample:
    name: str
    up: bool
    rate_in: float
    rate_out: float
    messages_in: int


@dataclass(frozen=True)
class LabSample:
    at: float
    clusters: Mapping[str, ClusterSample]
    links: Mapping[tuple[str, str], LinkSample]


class LabSampler:
    """Samples one topic on every cluster of a topology."""

    def __init__(self, topology: Topology, admins: Mapping[str, PulsarAdmin], topic: str) -> None:
        self.topology = topology
        self.admins = admins
        self.topic = topic

    def sample(self) -> LabSample:
        clusters: dict[str, ClusterSample] = {}
        links: dict[tuple[str, str], LinkSample] = {}
        for cluster in self.topology.clusters:
            targets = self.topology.targets(cluster)
            try:
                stats = self.admins[cluster].get_topic_stats(self.topic)
            except AdminError as error:
                up = error.status != 0 and error.status < 500
                clusters[cluster] = ClusterSample(cluster, up, 0.0, 0.0, 0)
                for target in targets:
                    links[(cluster, target)] = LinkSample(cluster, target, IDLE if up else DOWN, 0, 0.0, 0.0)
                continue
            clusters[cluster] = ClusterSample(cluster, True, stats.msg_rate_in, stats.msg_rate_out,
                                              stats.msg_in_counter)
            for target in targets:
                replicator = stats.replication.get(target)
                if replicator is None:
                    links[(cluster, target)] = LinkSample(cluster, target, IDLE, 0, 0.0, 0.0)
                    continue
                if not replicator.connected:
                    state = DISCONNECTED
                elif replicator.replication_backlog > 0 and replicator.replication_delay_s >= STALL_AFTER_S:
                    state = STALLED
                else:
                    state = CONNECTED
                links[(cluster, target)] = LinkSample(
                    cluster, target, state,
                    replicator.replication_backlog, replicator.msg_rate_out, replicator.replication_delay_s,
                )
        return LabSample(time.monotonic(), clusters, links)
