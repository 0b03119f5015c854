"""Message tracer: send one message and follow it to every cluster, with the reason for each skip.

A skip is reported as observed, never as modelled: a cluster the message did not reach shows
"nothing arrived" only after its consumer watched for the whole window (`watch_s`), and the rule
that explains it comes with the live policy behind it. Until then it reads "watching". A message
that arrives where the rules predicted a skip is shown as arrived, with the prediction it broke.

A hop's reason is a `Text`: its English `key` is what code and tests compare, and it is shown in the
reader's language. The tracer view shows the language it was built in, also when a worker thread
renders it; a `TraceResult` shown in a notebook uses the language of the moment.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

import ipywidgets as widgets
import pulsar

from labs.admin import PulsarAdmin
from labs.errors import AdminError
from labs.flows import ORIGIN
from labs.i18n import Text, _, language, using
from labs.topology import Topology

TRACE = "trace"
WATCH_S = 10.0


@dataclass(frozen=True)
class TraceHop:
    cluster: str
    arrived_ms: int | None  # publish -> arrival at this cluster
    expected: bool  # what Pulsar's rules predict, from the live policies
    why: Text  # the rule behind `expected` (its key is English; shown in the reader's language)
    watched_ms: int = 0  # how long this cluster's consumer has watched for it so far
    window_ms: int = int(WATCH_S * 1000)

    @property
    def reason(self) -> str:
        """The rule behind `expected`, in the current language."""
        return self.why.render()

    @property
    def settled(self) -> bool:
        """Arrived, or watched for the whole window without arriving."""
        return self.arrived_ms is not None or self.watched_ms >= self.window_ms

    @property
    def observed_skip(self) -> bool:
        """Nothing arrived while this cluster watched for the whole window."""
        return self.arrived_ms is None and self.watched_ms >= self.window_ms


@dataclass(frozen=True)
class TraceResult:
    trace_id: str
    origin: str
    hops: tuple[TraceHop, ...]

    def hop(self, cluster: str) -> TraceHop:
        return next(h for h in self.hops if h.cluster == cluster)

    def _repr_html_(self) -> str:
        return trace_table(self)


def trace_table(result: TraceResult) -> str:
    """Where a traced message went, one row per cluster, in the current language."""
    rows = []
    for hop in result.hops:
        why = hop.reason
        if hop.arrived_ms is not None:
            status = ("✅ " + _("arrived after {ms} ms").format(ms=hop.arrived_ms) if hop.cluster != result.origin
                      else "✅ " + _("produced"))
            if not hop.expected:
                why = _("arrived although the rules predicted: {reason}").format(reason=hop.reason)
        elif hop.observed_skip:
            status = "⛔ " + _("nothing arrived in {window:g} s of watching").format(window=hop.window_ms / 1000)
        else:
            status = "⏳ " + _("watching ({watched:.0f} of {window:g} s)").format(watched=hop.watched_ms / 1000,
                                                                                window=hop.window_ms / 1000)
            why = (_("expected: {reason}") if hop.expected else _("the rules predict a skip: {reason}")).format(
                reason=hop.reason)
        rows.append(f"<tr><td><b>{escape(hop.cluster)}</b></td><td>{status}</td><td>{escape(why)}</td></tr>")
    heading = _("trace {trace_id} from {origin}").format(trace_id=f"<code>{result.trace_id}</code>",
                                                         origin=f"<b>{escape(result.origin)}</b>")
    return f"<p>{heading}</p><table>{''.join(rows)}</table>"


def targets_from(topology: Topology) -> dict[str, tuple[str, ...]]:
    """Where each cluster replicates to, as the topology declares it."""
    return {cluster: topology.targets(cluster) for cluster in topology.clusters}


def expected_path(targets: Mapping[str, Sequence[str]], origin: str, cluster: str,
                  replication_clusters: Sequence[str] | None, disable_replication: bool) -> tuple[bool, Text]:
    """Whether a message produced on `origin` should reach `cluster`, and why (Pulsar's rules).

    Each reason is one whole sentence (the policy that explains a skip, and whether the message asked
    for `cluster` in vain, are part of it), so that it reads as one in either language.

    Args:
        targets: for each cluster, the remote clusters its namespace replicates to.
    """
    if cluster == origin:
        return True, Text("produced here")
    if disable_replication:
        return False, Text("skipped: disable_replication keeps the message in its origin cluster")
    if replication_clusters and cluster not in replication_clusters:
        return False, Text("skipped: not in the message's replication_clusters {clusters}",
                           clusters=str(list(replication_clusters)))
    if cluster in targets.get(origin, ()):
        return True, Text("replicated {origin} → {cluster}", origin=origin, cluster=cluster)
    listed = list(targets.get(origin, ()))
    asked = bool(replication_clusters) and cluster in (replication_clusters or ())
    via = [hop for hop in listed if cluster in targets.get(hop, ())]
    if via:  # via is one of listed: listed is not empty
        if asked:
            return False, Text(
                "skipped: replication is one hop; {origin}'s namespace replicates to {listed} only, so {origin} "
                "has no replicator to {cluster}, and {via} does not forward messages it received by replication; "
                "naming {cluster} in the message's replication_clusters cannot add one",
                origin=origin, listed=str(listed), cluster=cluster, via=via[0])
        return False, Text(
            "skipped: replication is one hop; {origin}'s namespace replicates to {listed} only, so {origin} has no "
            "replicator to {cluster}, and {via} does not forward messages it received by replication",
            origin=origin, listed=str(listed), cluster=cluster, via=via[0])
    if origin in targets.get(cluster, ()):
        if listed and asked:
            return False, Text(
                "skipped: one-way ({cluster} replicates to {origin}, not back); {origin}'s namespace replicates to "
                "{listed} only, so {origin} has no replicator to {cluster}; naming {cluster} in the message's "
                "replication_clusters cannot add one", origin=origin, listed=str(listed), cluster=cluster)
        if listed:
            return False, Text(
                "skipped: one-way ({cluster} replicates to {origin}, not back); {origin}'s namespace replicates to "
                "{listed} only, so {origin} has no replicator to {cluster}",
                origin=origin, listed=str(listed), cluster=cluster)
        if asked:
            return False, Text(
                "skipped: one-way ({cluster} replicates to {origin}, not back); {origin}'s namespace replicates "
                "nowhere, so {origin} has no replicator at all; naming {cluster} in the message's "
                "replication_clusters cannot add one", origin=origin, cluster=cluster)
        return False, Text(
            "skipped: one-way ({cluster} replicates to {origin}, not back); {origin}'s namespace replicates "
            "nowhere, so {origin} has no replicator at all", origin=origin, cluster=cluster)
    if listed and asked:
        return False, Text(
            "skipped: {origin}'s namespace replicates to {listed} only, so {origin} has no replicator to "
            "{cluster}; naming {cluster} in the message's replication_clusters cannot add one",
            origin=origin, listed=str(listed), cluster=cluster)
    if listed:
        return False, Text(
            "skipped: {origin}'s namespace replicates to {listed} only, so {origin} has no replicator to {cluster}",
            origin=origin, listed=str(listed), cluster=cluster)
    if asked:
        return False, Text(
            "skipped: {origin}'s namespace replicates nowhere, so {origin} has no replicator at all; naming "
            "{cluster} in the message's replication_clusters cannot add one", origin=origin, cluster=cluster)
    return False, Text("skipped: {origin}'s namespace replicates nowhere, so {origin} has no replicator at all",
                       origin=origin)


@dataclass
class _Pending:
    origin: str
    sent_ms: int
    options: tuple[Sequence[str] | None, bool]
    targets: Mapping[str, Sequence[str]]
    arrivals: dict[str, int] = field(default_factory=dict)


class Tracer:
    """Keeps one consumer per cluster; `send()` stamps a trace id and records where it arrives."""

    def __init__(self, topology: Topology, clients: Mapping[str, pulsar.Client], topic: str,
                 admins: Mapping[str, PulsarAdmin] | None = None, watch_s: float = WATCH_S) -> None:
        self.topology = topology
        self.watch_s = watch_s
        self._admins = admins
        self.topic = topic
        self._clients = clients
        self._lock = threading.Lock()
        self._traces: dict[str, _Pending] = {}
        self.last_id: str | None = None
        self._consumers = [
            clients[c].subscribe(topic, f"geolab-tracer-{c}", consumer_type=pulsar.ConsumerType.Exclusive,
                                 message_listener=lambda consumer, msg, c=c: self._arrived(c, consumer, msg))
            for c in topology.clusters
        ]

    def _arrived(self, cluster: str, consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        trace_id = message.properties().get(TRACE)
        if trace_id:
            now_ms = int(time.time() * 1000)
            with self._lock:
                pending = self._traces.get(trace_id)
                if pending is not None and cluster not in pending.arrivals:
                    pending.arrivals[cluster] = now_ms - message.publish_timestamp()
        consumer.acknowledge(message)

    def send(self, origin: str, replication_clusters: Sequence[str] | None = None,
             disable_replication: bool = False) -> str:
        """Send one traced message from `origin`; returns its trace id."""
        trace_id = uuid.uuid4().hex[:8]
        producer = self._clients[origin].create_producer(self.topic)
        try:
            with self._lock:
                self._traces[trace_id] = _Pending(origin, int(time.time() * 1000),
                                                  (replication_clusters, disable_replication), self._targets())
            options: dict[str, object] = {"disable_replication": disable_replication}
            if replication_clusters:
                options["replication_clusters"] = list(replication_clusters)
            producer.send(f"trace {trace_id}".encode(), properties={TRACE: trace_id, ORIGIN: origin}, **options)
        finally:
            producer.close()
        self.last_id = trace_id
        return trace_id

    def _targets(self) -> Mapping[str, Sequence[str]]:
        """Where each cluster replicates to now: the live namespace policies when admins are known
        (a learner may have changed them), else the topology's links."""
        if self._admins is None:
            return targets_from(self.topology)
        namespace = self.topology.qualified_namespace
        live: dict[str, tuple[str, ...]] = {}
        for cluster, admin in self._admins.items():
            try:
                live[cluster] = tuple(c for c in admin.get_namespace_clusters(namespace) if c != cluster)
            except AdminError:
                live[cluster] = self.topology.targets(cluster)
        return live

    def result(self, trace_id: str | None = None) -> TraceResult | None:
        trace_id = trace_id or self.last_id
        if trace_id is None:
            return None
        with self._lock:
            pending = self._traces[trace_id]
            arrivals = dict(pending.arrivals)
        replication_clusters, disable = pending.options
        watched = max(0, int(time.time() * 1000) - pending.sent_ms)
        window = int(self.watch_s * 1000)
        hops = []
        for cluster in self.topology.clusters:
            expected, reason = expected_path(pending.targets, pending.origin, cluster, replication_clusters,
                                             disable)
            hops.append(TraceHop(cluster, arrivals.get(cluster), expected, reason, min(watched, window), window))
        return TraceResult(trace_id, pending.origin, tuple(hops))

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.close()


class TracerView:
    """Widgets: choose an origin and options, send, watch the hops fill in."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.language = language()  # render() may run on another thread: it shows this language
        clusters = tracer.topology.clusters
        self.origin = widgets.Dropdown(options=clusters, description=_("from"))
        self.only = widgets.SelectMultiple(options=clusters, description=_("only to"), rows=min(4, len(clusters)))
        self.local = widgets.Checkbox(description=_("disable replication"))
        self.button = widgets.Button(description=_("send traced message"), icon="paper-plane")
        self.table = widgets.HTML()
        self.button.on_click(lambda _b: self.tracer.send(self.origin.value, list(self.only.value) or None,
                                                          self.local.value))
        self.widget = widgets.VBox([widgets.HBox([self.origin, self.only, self.local, self.button]), self.table])

    def render(self) -> None:
        result = self.tracer.result()
        with using(self.language):
            if result is None:
                self.table.value = "<i>" + _("Send a traced message to follow it.") + "</i>"
                return
            self.table.value = trace_table(result)
