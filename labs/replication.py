"""Apply a topology to running clusters: register clusters, create the tenant and namespace, set
replication and allowed clusters; then prove it with a probe message.

Owns the order Pulsar needs (clusters -> tenant -> namespace, on each cluster with independent
stores; once with a shared store). Talks to Pulsar only through `labs.admin`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import pulsar

from labs.admin import PulsarAdmin
from labs.client import unsubscribe_or_close
from labs.errors import AdminError, ProvisioningError, WaitTimeout
from labs.i18n import Text, _
from labs.settings import BROKER_PORT, HTTP_PORT
from labs.topology import ConfigStore, Topology
from labs.waiting import wait_for

Progress = Callable[[str], None]
PROBE_TOPIC = "geolab-probe"


def internal_urls(cluster: str) -> tuple[str, str]:
    """URLs under which peers reach `cluster` on the lab's private networks."""
    return f"http://{cluster}:{HTTP_PORT}", f"pulsar://{cluster}:{BROKER_PORT}"


def register_clusters(topology: Topology, admins: Mapping[str, PulsarAdmin]) -> None:
    """Register every cluster of the topology (with its internal URLs) where it is not yet known."""
    writers = [topology.clusters[0]] if topology.config_store is ConfigStore.SHARED else list(topology.clusters)
    for writer in writers:
        admin = admins[writer]
        known = set(admin.list_clusters())
        for cluster in topology.clusters:
            service_url, broker_url = internal_urls(cluster)
            if cluster not in known:
                admin.create_cluster(cluster, service_url, broker_url)
                continue
            current = admin.get_cluster(cluster)
            if (current.service_url, current.broker_service_url) != (service_url, broker_url):
                admin.update_cluster(cluster, service_url, broker_url)


def apply_topology(topology: Topology, admins: Mapping[str, PulsarAdmin], progress: Progress,
                   admin_roles: Sequence[str] = ()) -> None:
    """Make the clusters' metadata match the topology (idempotent: safe on a reattached lab);
    `admin_roles` administer its tenant (a learner's role, on clusters a class shares)."""
    register_clusters(topology, admins)
    namespace = topology.qualified_namespace
    allowed = sorted(topology.clusters)
    if topology.config_store is ConfigStore.SHARED:
        admin = admins[topology.clusters[0]]
        admin.create_tenant(topology.tenant, allowed, admin_roles)
        admin.create_namespace(namespace, list(topology.clusters))
        admin.set_namespace_clusters(namespace, list(topology.clusters))
        progress(_("Tenant {tenant!r} and namespace {namespace!r} created once in the shared configuration store; "
                   "replication clusters {clusters}").format(tenant=topology.tenant, namespace=namespace,
                                                            clusters=list(topology.clusters)))
    else:
        for cluster in topology.clusters:
            admin = admins[cluster]
            admin.create_tenant(topology.tenant, allowed, admin_roles)
            clusters = list(topology.replication_clusters(cluster))
            admin.create_namespace(namespace, clusters)
            admin.set_namespace_clusters(namespace, clusters)
            if topology.enforce_one_way:
                admin.set_namespace_allowed_clusters(namespace, clusters)
            if clusters[1:]:
                progress(_("[{cluster}] namespace {namespace!r} replicates to {peers}").format(
                    cluster=cluster, namespace=namespace, peers=clusters[1:]))
            else:
                progress(_("[{cluster}] namespace {namespace!r} replicates to no peer").format(
                    cluster=cluster, namespace=namespace))
    wait_policies_visible(topology, admins)


def wait_policies_visible(topology: Topology, admins: Mapping[str, PulsarAdmin], timeout_s: float = 60.0) -> None:
    """Wait until every cluster serves the namespace with the replication clusters it should have.

    With a shared store, a broker sees a namespace created through another broker only after its
    metadata cache catches up; lookups made before that fail.
    """
    namespace = topology.qualified_namespace
    for cluster in topology.clusters:
        expected = sorted(
            topology.clusters if topology.config_store is ConfigStore.SHARED
            else topology.replication_clusters(cluster)
        )
        try:
            wait_for(partial(admins[cluster].get_namespace_clusters, namespace),
                     what=Text("Namespace {namespace} on {cluster} did not list the replication clusters {expected}.",
                               namespace=namespace, cluster=cluster, expected=str(expected)), timeout_s=timeout_s,
                     interval_s=0.25, tolerate=(AdminError,), accept=expected.__eq__)
        except WaitTimeout as exc:
            raise ProvisioningError(_("{error} Run `geolab status` and check the broker logs.").format(
                error=exc)) from exc


@dataclass(frozen=True)
class ProbeResult:
    """One probe message per link: how long each took to arrive."""

    seconds_by_link: Mapping[str, float]

    @property
    def slowest_s(self) -> float:
        return max(self.seconds_by_link.values(), default=0.0)


def probe_replication(
    topology: Topology,
    clients: Mapping[str, pulsar.Client],
    timeout_s: float = 120.0,
) -> ProbeResult:
    """Send one message from each cluster that has links and wait for it on every target.

    Raises:
        ProvisioningError: a probe did not arrive within `timeout_s`.
    """
    topic = f"persistent://{topology.qualified_namespace}/{PROBE_TOPIC}"
    run = uuid.uuid4().hex[:8]
    subscription = f"geolab-probe-{run}"
    consumers: dict[str, pulsar.Consumer] = {
        cluster: clients[cluster].subscribe(topic, subscription)
        for cluster in topology.clusters if topology.sources(cluster)
    }
    results: dict[str, float] = {}
    try:
        for source in topology.clusters:
            targets = topology.targets(source)
            if not targets:
                continue
            started = time.monotonic()
            producer = clients[source].create_producer(topic)
            payload = f"probe {run} from {source}".encode()
            producer.send(payload, properties={"origin": source})
            producer.close()
            for target in targets:
                consumer = consumers[target]

                def arrived(consumer: pulsar.Consumer = consumer, payload: bytes = payload) -> bool:
                    message = consumer.receive(timeout_millis=500)
                    consumer.acknowledge(message)
                    return bool(message.data() == payload)

                try:
                    wait_for(arrived, what=Text("The replication probe from {source} did not arrive on {target} "
                                                "({topic}).", source=source, target=target, topic=topic),
                             timeout_s=max(1.0, timeout_s - (time.monotonic() - started)), interval_s=0,
                             tolerate=(pulsar.Timeout,))
                except WaitTimeout as exc:
                    raise ProvisioningError(_("{error} Check the link with `geolab status` and the topic stats' "
                                              "replication section on {source}.").format(error=exc, source=source)
                                            ) from exc
                results[f"{source}->{target}"] = time.monotonic() - started
    finally:
        for consumer in consumers.values():
            unsubscribe_or_close(consumer)
    return ProbeResult(results)


def create_replicated_subscription(admins: Mapping[str, PulsarAdmin], topic: str, subscription: str) -> None:
    """Create `subscription` as a replicated subscription, from the earliest message, on each of `admins`.

    One cluster is enough: measured on Pulsar 4.0.8, a replicated subscription created on beijing only
    (by the admin API or by a consumer asking for replicated state) appeared on shanghai as a
    replicated subscription within 2 s of its first acknowledgements, in 5 of 5 timings (paced or
    burst traffic, acknowledged at once or 3 s later), its mark-delete position moving with
    beijing's. Pulsar's replicated-subscriptions controller creates the remote copy from the update
    markers it writes when an acknowledgement passes a completed snapshot; snapshots are taken only
    while messages flow. Creating it everywhere is harmless and makes the copy exist before any
    traffic.
    """
    for admin in admins.values():
        admin.create_subscription(topic, subscription, replicated=True, position="earliest")
