"""Replication incidents for lesson 07: each puts a lab into a state in which replication is stuck (as
operators meet it), and `replication_health` shows what the broker reports about it.

Each incident lives in its own namespace of the lab's tenant, replicated both ways like the lab's
own, so that one left unfixed does not hide the next. The clusters must have independent
configuration stores (each keeps its own copy of a namespace's policies): that is where these
incidents happen.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html import escape

from pulsar.schema import Integer, JsonSchema, Record, String

from labs.cluster import container_name
from labs.errors import AdminError, AdminRefused, UsageError
from labs.i18n import N_, Text, _
from labs.lab import Lab
from labs.topology import ConfigStore
from labs.waiting import wait_for

INCIDENT = "incident"  # the property every planted message carries
#: A cluster's schema when it reports none, or has no such topic (a key, shown in the reader's language).
NO_SCHEMA = N_("none")
NO_TOPIC = N_("no topic")
#: What a delete that went through answered.
DELETED = N_("the topic was deleted")


class ProfileV1(Record):  # type: ignore[misc]  # pulsar-client ships no type hints
    """A profile as shanghai's application first registered it."""

    id = Integer()


class ProfileV2(Record):  # type: ignore[misc]
    """beijing's newer profile: a different shape, not compatible with version 1."""

    name = String()


@dataclass(frozen=True)
class ReplicatorHealth:
    """One replicator, as `topics stats` and `topics stats-internal` of its source cluster show it."""

    source: str
    target: str
    connected: bool
    backlog: int
    cursor_mark_delete: str
    cursor_read: str


@dataclass(frozen=True)
class ReplicationHealth:
    """Every replicator of one topic, and the topic's schema in each cluster."""

    topic: str
    replicators: tuple[ReplicatorHealth, ...]
    schema_versions: dict[str, str]

    def _repr_html_(self) -> str:
        connected, apart = "✅ " + _("connected"), "❌ " + _("not connected")
        none = _("no replicator on this topic in any cluster")
        rows = "".join(
            f"<tr><td>{escape(r.source)} → {escape(r.target)}</td><td>{connected if r.connected else apart}</td>"
            f"<td>{r.backlog}</td><td><code>{escape(r.cursor_mark_delete)}</code> / "
            f"<code>{escape(r.cursor_read)}</code></td></tr>"
            for r in self.replicators) or f"<tr><td colspan=4>{none}</td></tr>"
        head = "".join(f"<th>{title}</th>" for title in (
            _("replicator"), _("state"), _("replication backlog"),
            _("cursor pulsar.repl.&lt;target&gt; mark-delete / read")))
        schemas = ", ".join(f"{escape(c)}: {escape(_(v))}" for c, v in self.schema_versions.items())
        return (f"<p><b>{escape(self.topic)}</b></p><table><tr>{head}</tr>{rows}</table><p>"
                + _("schema version: {versions}").format(versions=schemas) + "</p>")


def replication_health(lab: Lab, topic: str) -> ReplicationHealth:
    """What each cluster reports about the replicators of `topic` (a cluster that does not answer, or
    has no such topic, reports none)."""
    replicators = []
    schemas: dict[str, str] = {}
    for cluster in lab.clusters:
        admin = lab.admin(cluster)
        try:
            stats = admin.get_topic_stats(topic)
            cursors = admin.get_cursors(topic)
        except AdminError:
            schemas[cluster] = NO_TOPIC
            continue
        for target, replicator in sorted(stats.replication.items()):
            cursor = cursors.get(f"pulsar.repl.{target}")
            replicators.append(ReplicatorHealth(cluster, target, replicator.connected, replicator.replication_backlog,
                                                cursor.mark_delete_position if cursor else "-",
                                                cursor.read_position if cursor else "-"))
        try:
            schema = admin.get_schema(topic)
        except AdminError:
            schema = None
        schemas[cluster] = NO_SCHEMA if schema is None else f"{schema.get('version')} ({schema.get('type')})"
    return ReplicationHealth(topic, tuple(replicators), schemas)


def _require_independent(lab: Lab) -> tuple[str, str]:
    if lab.topology.config_store is not ConfigStore.INDEPENDENT or len(lab.clusters) != 2:
        raise UsageError(_("Lesson 07's incidents need two clusters with independent configuration stores; lab "
                           "{name!r} has {clusters} with configuration store {store!r}. Start it with "
                           "full_mesh('beijing', 'shanghai', config_store='independent').").format(
            name=lab.name, clusters=list(lab.clusters), store=lab.topology.config_store.value))
    return lab.clusters[0], lab.clusters[1]


def _namespace_both_ways(lab: Lab, name: str) -> str:
    namespace = f"{lab.topology.tenant}/{name}"
    a, b = lab.clusters
    for cluster, other in ((a, b), (b, a)):
        admin = lab.admin(cluster)
        admin.create_namespace(namespace, [cluster, other])
        admin.set_namespace_clusters(namespace, [cluster, other])
    return namespace


def _send(lab: Lab, cluster: str, topic: str, incident: str, count: int) -> None:
    producer = lab.client(cluster).create_producer(topic, batching_enabled=False)
    try:
        for index in range(count):
            producer.send(f"{incident} {index + 1}".encode(), properties={INCIDENT: incident})
    finally:
        producer.close()


def namespace_without_its_cluster(lab: Lab, messages: int = 10) -> str:
    """Incident 1: `invoices`, whose namespace in the second cluster no longer lists that cluster (an
    operator "moved" it); the first cluster's messages wait. Returns the topic."""
    first, second = _require_independent(lab)
    namespace = _namespace_both_ways(lab, "invoices")
    topic = f"persistent://{namespace}/invoices"
    lab.admin(first).create_topic(topic)
    lab.admin(second).set_namespace_clusters(namespace, [first])
    _send(lab, first, topic, "invoices", messages)
    return topic


def incompatible_schema(lab: Lab, messages: int = 5) -> str:
    """Incident 2: `profiles`, where the second cluster's application registered a schema that the
    first cluster's newer one is not compatible with (compatibility FULL there). Returns the topic.

    The first cluster's producer (its schema registered there) opens before the second cluster's
    old-shape profile is sent. The other order raced with replication: when the old profile reached
    the first cluster first, its schema was registered there, and the first cluster then refused its
    own newer producer (`IncompatibleSchema`; the reference solution of 07-stuck/2 lost its points
    that way in one of four gradings). In this order every run is the same: the old profile reaches
    the first cluster after the newer schema and is refused there (the lesson's other stuck row)."""
    first, second = _require_independent(lab)
    namespace = _namespace_both_ways(lab, "profiles")
    topic = f"persistent://{namespace}/profiles"
    lab.admin(second).set_schema_compatibility_strategy(namespace, "FULL")
    new = lab.client(first).create_producer(topic, schema=JsonSchema(ProfileV2))  # registers beijing's shape there
    try:
        old = lab.client(second).create_producer(topic, schema=JsonSchema(ProfileV1))
        old.send(ProfileV1(id=1), properties={INCIDENT: "profiles-v1"})
        old.close()
        for index in range(messages):
            new.send(ProfileV2(name=f"profile {index + 1}"), properties={INCIDENT: "profiles"})
    finally:
        new.close()
    return topic


def topic_to_retire(lab: Lab, messages: int = 3) -> str:
    """Incident 3: `old-orders` in the lab's namespace, replicated both ways, with messages from
    each cluster; the team wants it gone. Returns the topic."""
    first, second = _require_independent(lab)
    topic = lab.topic("old-orders")
    for cluster in (first, second):
        _send(lab, cluster, topic, "old-orders", messages)
    return topic


@dataclass(frozen=True)
class DeleteAttempt:
    """What `topics delete` answered in one cluster."""

    cluster: str
    topic: str
    deleted: bool
    answer: str

    def _repr_html_(self) -> str:
        said = (_("🗑️ deleted in <b>{cluster}</b>: {answer}") if self.deleted else
                _("⛔ refused in <b>{cluster}</b>: {answer}"))
        return "<p>" + said.format(cluster=escape(self.cluster), answer=escape(_(self.answer))) + "</p>"


def try_delete(lab: Lab, cluster: str, topic: str, within_s: float = 0.0) -> DeleteAttempt:
    """`pulsar-admin topics delete` in `cluster`, reporting a refusal instead of raising it; with
    `within_s`, asked again every second until it is deleted or that time has passed (a policy change
    reaches the topic's replicators a moment after the admin call returns)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            lab.admin(cluster).delete_topic(topic)
        except AdminError as exc:
            if time.monotonic() >= deadline or exc.status not in (409, 412, 422):
                return DeleteAttempt(cluster, topic, False, f"HTTP {exc.status}: {exc.reason}")
            time.sleep(1.0)  # asking again, not waiting for readiness: the answer is the refusal or the delete
            continue
        return DeleteAttempt(cluster, topic, True, DELETED)


def history_to_bring(lab: Lab, messages: int = 20) -> str:
    """Incident 4: `history`, a namespace that so far lives in the first cluster only (its copy there lists
    only that cluster; the second cluster's copy lists the second and allows the first), with `messages`
    orders that an application there reads on `app`. Returns the topic."""
    first, second = _require_independent(lab)
    namespace = f"{lab.topology.tenant}/history"
    lab.admin(first).create_namespace(namespace, [first])
    lab.admin(first).set_namespace_clusters(namespace, [first])
    lab.admin(second).create_namespace(namespace, [second, first])
    lab.admin(second).set_namespace_clusters(namespace, [second])
    topic = f"persistent://{namespace}/orders"
    lab.admin(first).create_subscription(topic, "app")  # the application keeps what it has not read yet
    _send(lab, first, topic, "history", messages)
    return topic


def subscription_left_behind(lab: Lab, messages: int = 40) -> str:
    """A failover lab's `refunds`: the application's subscription `billing` on the active cluster was
    created before anyone thought of failover (a plain subscription), and it has read and acknowledged
    all `messages` refunds. Returns the topic."""
    active = lab.topology.active or lab.clusters[0]
    topic = lab.topic("refunds")
    lab.admin(active).create_subscription(topic, "billing", replicated=False)
    _send(lab, active, topic, "refunds", messages)
    consumer = lab.client(active).subscribe(topic, "billing", replicate_subscription_state_enabled=False)
    try:
        for _each in range(messages):
            consumer.acknowledge(consumer.receive(timeout_millis=30_000))
    finally:
        consumer.close()
    return topic


@dataclass(frozen=True)
class ReplicatorMetrics:
    """One replicator as the source broker's Prometheus metrics count it."""

    topic: str
    remote_cluster: str
    connected: int
    disconnected: int
    backlog: int


@dataclass(frozen=True)
class ReplicationMetrics:
    """`pulsar_replication_*` of one broker, for the topics of one namespace."""

    cluster: str
    namespace: str
    replicators: tuple[ReplicatorMetrics, ...]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(r.topic.rsplit('/', 1)[-1])}</td><td>{escape(r.remote_cluster)}</td>"
            f"<td>{r.connected}</td><td>{r.disconnected}</td><td>{r.backlog}</td></tr>" for r in self.replicators)
        none, topic = _("no replicator of this namespace in the metrics"), _("topic")
        rows = rows or f"<tr><td colspan=5>{none}</td></tr>"
        title = _("<b>{cluster}</b>'s <code>/metrics</code> for <b>{namespace}</b>:").format(
            cluster=escape(self.cluster), namespace=escape(self.namespace))
        return (f"<p>{title}</p><table><tr><th>{topic}</th><th>remote_cluster</th>"
                "<th>pulsar_replication_connected_count</th><th>pulsar_replication_disconnected_count</th>"
                f"<th>pulsar_replication_backlog</th></tr>{rows}</table>")


_METRIC = re.compile(r'^(pulsar_replication_(?:connected_count|disconnected_count|backlog))\{([^}]*)\}\s+(\S+)')
_LABEL = re.compile(r'(\w+)="([^"]*)"')


#: How long a scrape of `/metrics` is tried again while the broker answers it with a server error.
SCRAPE_RETRY_S = 20.0


def scrape(lab: Lab, cluster: str, timeout_s: float = SCRAPE_RETRY_S) -> str:
    """`cluster`'s broker's `/metrics`, as Prometheus scrapes it: a scrape the broker answers with a server
    error (HTTP 5xx: its metrics generation failed this time) is tried again each second, as Prometheus
    tries at its next interval, until `timeout_s` has passed. A refusal of another kind is raised at once."""
    admin = lab.admin(cluster)

    def once() -> str | AdminRefused:
        try:
            return admin.get_metrics()
        except AdminRefused as refused:
            if refused.status >= 500:
                return refused  # not yet: the next scrape (and, at the deadline, the last answer seen)
            raise

    answer = wait_for(once, timeout_s=timeout_s, interval_s=1.0, accept=lambda seen: isinstance(seen, str),
                    what=Text("Cluster {cluster!r}'s broker answered every scrape of /metrics with a server "
                              "error.", cluster=cluster),
                    hint=_("The broker's log says why: `docker logs {container}`, on the machine that runs "
                           "the lab.").format(container=container_name(lab.name, cluster)))
    assert isinstance(answer, str)  # wait_for returns only an answer `accept` took
    return answer


def replication_metrics(lab: Lab, cluster: str, namespace: str) -> ReplicationMetrics:
    """What `cluster`'s broker exports to Prometheus about the replicators of `namespace`'s topics (what
    an operator's alert on `pulsar_replication_disconnected_count` would see)."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for line in scrape(lab, cluster).splitlines():
        match = _METRIC.match(line)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match.group(2)))
        if labels.get("namespace") != namespace:
            continue
        key = (labels.get("topic", ""), labels.get("remote_cluster", ""))
        found.setdefault(key, {})[match.group(1)] = int(float(match.group(3)))
    replicators = tuple(
        ReplicatorMetrics(topic, remote, values.get("pulsar_replication_connected_count", 0),
                          values.get("pulsar_replication_disconnected_count", 0),
                          values.get("pulsar_replication_backlog", 0))
        for (topic, remote), values in sorted(found.items()))
    return ReplicationMetrics(cluster, namespace, replicators)
