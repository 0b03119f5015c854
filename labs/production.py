"""Production-shaped topics for lesson 08: partitioned topics, batches, topic-level policies (local and
global) and the names Pulsar keeps for its replicators, each shown as the clusters report it.

Every function here observes: it produces, subscribes or asks the admin API of each cluster, and where
it reports that something did not happen, a reader on that cluster watched for a stated window first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pulsar

from labs.client import unsubscribe_or_close
from labs.errors import AdminError, UsageError
from labs.flows import collect
from labs.i18n import N_, _, ngettext
from labs.lab import Lab
from labs.topology import ConfigStore

MARK = "geolab-mark"  # the property that tells this module's messages apart
#: What a cluster answered to a producer or a subscription it accepted (keys, shown in the reader's language).
OPEN = N_("open")
SUBSCRIBED = N_("subscribed")


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """An HTML table; `headers` are shown as given (already in the reader's language), cells escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _short(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------ partitions


@dataclass(frozen=True)
class PartitionCounts:
    """How many partitions each cluster's metadata gives a topic (0: not a partitioned topic there), after
    watching up to `watched_s` for the clusters to agree."""

    topic: str
    counts: dict[str, int]
    watched_s: float

    @property
    def agree(self) -> bool:
        return len(set(self.counts.values())) == 1

    def _repr_html_(self) -> str:
        rows = [(c, str(n) if n else _("no partitioned topic")) for c, n in self.counts.items()]
        verdict = (_("the clusters agree") if self.agree else
                   _("the clusters still differ after watching {seconds:g} s").format(seconds=self.watched_s))
        return (f"<p><b>{escape(_short(self.topic))}</b>: {verdict}</p>"
                + _table((_("cluster"), _("partitions")), rows))


def _partitions(lab: Lab, cluster: str, topic: str) -> int:
    try:
        return lab.admin(cluster).get_partitioned_topic_metadata(topic)
    except AdminError:
        return 0


def partitions(lab: Lab, topic: str, watch_s: float = 10.0) -> PartitionCounts:
    """The partition count of `topic` in every cluster, read until they agree on a partitioned topic or
    `watch_s` passed."""
    deadline = time.monotonic() + watch_s
    started = time.monotonic()
    while True:
        counts = {cluster: _partitions(lab, cluster, topic) for cluster in lab.clusters}
        if (len(set(counts.values())) == 1 and 0 not in counts.values()) or time.monotonic() >= deadline:
            return PartitionCounts(topic, counts, round(time.monotonic() - started, 1))
        time.sleep(0.5)  # the interval of a watch with a deadline


# ------------------------------------------------------------------------------ messages and entries


@dataclass(frozen=True)
class Replicated:
    """Messages produced in `source` and what `target` received, with the entries each cluster's
    ledger stored for them (a batch is one entry)."""

    topic: str
    source: str
    target: str
    sent: int
    batch_size: int
    received: int
    entries: dict[str, int]
    per_partition: dict[str, tuple[int, ...]]
    window_s: float

    def _repr_html_(self) -> str:
        values = {"count": self.sent, "source": escape(self.source), "size": self.batch_size,
                  "target": escape(self.target), "received": self.received, "seconds": self.window_s}
        if self.batch_size > 1:
            said = ngettext("{count} message produced in {source} in batches of {size}; a consumer in {target} "
                            "received <b>{received}</b> (watched up to {seconds:g} s).",
                            "{count} messages produced in {source} in batches of {size}; a consumer in {target} "
                            "received <b>{received}</b> (watched up to {seconds:g} s).", self.sent)
        else:
            said = ngettext("{count} message produced in {source} one by one (no batching); a consumer in {target} "
                            "received <b>{received}</b> (watched up to {seconds:g} s).",
                            "{count} messages produced in {source} one by one (no batching); a consumer in {target} "
                            "received <b>{received}</b> (watched up to {seconds:g} s).", self.sent)
        rows = [(c, str(n), ", ".join(map(str, self.per_partition.get(c, ()))) or "-")
                for c, n in self.entries.items()]
        return (f"<p><b>{escape(_short(self.topic))}</b>: {said.format(**values)}</p>"
                + _table((_("cluster"), _("entries stored"), _("entries per partition")), rows))


def _entries(lab: Lab, cluster: str, topic: str) -> tuple[int, tuple[int, ...]]:
    admin = lab.admin(cluster)
    count = _partitions(lab, cluster, topic)
    names = [f"{topic}-partition-{i}" for i in range(count)] if count else [topic]
    found = []
    for name in names:
        try:
            found.append(admin.get_internal_stats(name).entries_added)
        except AdminError:
            found.append(0)
    return sum(found), tuple(found) if count else ()


def replicate(lab: Lab, source: str, target: str, topic: str, messages: int = 60, batch_size: int = 1,
              keys: int = 0, window_s: float = 30.0) -> Replicated:
    """Subscribe in `target`, produce `messages` in `source` (in batches of `batch_size`; keyed over
    `keys` keys when above 0), count what `target` receives within `window_s`, and read the entries each
    cluster stored."""
    for cluster in (source, target):
        lab.admin(cluster)  # an unknown cluster is named before anything is produced
    if messages < 1 or batch_size < 1:
        raise UsageError(_("replicate() needs messages >= 1 and batch_size >= 1, got {messages} and {size}.").format(
            messages=messages, size=batch_size))
    mark = uuid.uuid4().hex[:8]
    consumer = lab.client(target).subscribe(topic, f"geolab-count-{mark}",
                                            initial_position=pulsar.InitialPosition.Earliest)
    try:
        producer = lab.client(source).create_producer(
            topic, batching_enabled=batch_size > 1, batching_max_messages=max(batch_size, 2),
            batching_max_publish_delay_ms=2000)
        payloads = [f"{mark} {i}".encode() for i in range(messages)]
        for index, payload in enumerate(payloads):
            producer.send_async(payload, None, properties={MARK: mark},
                                partition_key=f"customer-{index % keys}" if keys else None)
        producer.flush()
        producer.close()
        got = collect(consumer, payloads, timeout_s=window_s)
    finally:
        unsubscribe_or_close(consumer)
    received = len({r.data for r in got} & set(payloads))
    entries, per_partition = {}, {}
    for cluster in (source, target):
        entries[cluster], per_partition[cluster] = _entries(lab, cluster, topic)
    return Replicated(topic, source, target, messages, batch_size, received, entries, per_partition, window_s)


# ------------------------------------------------------------------------------ where a message arrives


@dataclass(frozen=True)
class Arrivals:
    """Where a message produced in `source` arrived, each other cluster's reader having watched up to
    `watch_s` (None: nothing arrived in the window)."""

    topic: str
    source: str
    after_s: dict[str, float | None]
    watch_s: float

    def _repr_html_(self) -> str:
        rows = [(c, "✅ " + _("arrived after {seconds:.1f} s").format(seconds=s) if s is not None
                 else "— " + _("nothing in {seconds:g} s watched").format(seconds=self.watch_s))
                for c, s in self.after_s.items()]
        title = _("A message produced on <b>{topic}</b> in <b>{source}</b>:").format(
            topic=escape(_short(self.topic)), source=escape(self.source))
        return f"<p>{title}</p>" + _table((_("cluster"), _("what its reader saw")), rows)


def where_it_arrives(lab: Lab, source: str, topic: str, watch_s: float = 10.0) -> Arrivals:
    """Produce one marked message on `topic` in `source`; a reader in every other cluster, opened first
    at the latest message, watches until it arrives or `watch_s` passed."""
    lab.admin(source)
    mark = uuid.uuid4().hex[:8]
    readers = {c: lab.client(c).create_reader(topic, pulsar.MessageId.latest)
               for c in lab.clusters if c != source}
    try:
        producer = lab.client(source).create_producer(topic)
        producer.send(f"where {mark}".encode(), properties={MARK: mark})
        producer.close()
        sent = time.monotonic()
        after: dict[str, float | None] = {c: None for c in readers}
        while time.monotonic() - sent < watch_s and any(v is None for v in after.values()):
            for cluster, reader in readers.items():
                if after[cluster] is not None:
                    continue
                try:
                    message = reader.read_next(timeout_millis=200)
                except pulsar.Timeout:
                    continue
                if message.properties().get(MARK) == mark:
                    after[cluster] = round(time.monotonic() - sent, 1)
    finally:
        for reader in readers.values():
            reader.close()
    return Arrivals(topic, source, after, watch_s)


def regional_namespace(lab: Lab) -> str:
    """Lesson 08's regional namespace: `<tenant>/regional`, local to each cluster (each cluster's copy of
    its policy lists only that cluster), with the topics `payments` and `inventory` in the first cluster."""
    if lab.topology.config_store is not ConfigStore.INDEPENDENT:
        raise UsageError(_("A namespace local to each cluster needs independent configuration stores; lab {name!r} "
                           "shares one. Start it with config_store='independent'.").format(name=lab.name))
    namespace = f"{lab.topology.tenant}/regional"
    for cluster in lab.clusters:
        admin = lab.admin(cluster)
        admin.create_namespace(namespace, [cluster])
        admin.set_namespace_clusters(namespace, [cluster])
    for name in ("payments", "inventory"):
        lab.admin(lab.clusters[0]).create_topic(f"persistent://{namespace}/{name}")
    return namespace


# ------------------------------------------------------------------------------ producers and subscriptions


@dataclass(frozen=True)
class Opened:
    """One producer or consumer that a cluster accepted or refused."""

    name: str
    accepted: bool
    answer: str


@dataclass(frozen=True)
class Attempts:
    """What `cluster` answered to each producer or subscription opened on `topic`, and the producers its
    topic stats then listed as publishers."""

    cluster: str
    topic: str
    kind: str
    opened: tuple[Opened, ...]
    listed: tuple[str, ...]

    @property
    def accepted(self) -> int:
        return sum(o.accepted for o in self.opened)

    def _repr_html_(self) -> str:
        rows = [(o.name, "✅ " + _("accepted") if o.accepted else "⛔ " + _("refused"), _(o.answer))
                for o in self.opened]
        topic, cluster = escape(_short(self.topic)), escape(self.cluster)
        if self.kind == "producer":
            title = _("Producers on <b>{topic}</b> in <b>{cluster}</b>:").format(topic=topic, cluster=cluster)
            listed = "<p>" + _("{cluster}'s topic stats list as publishers: <b>{names}</b>").format(
                cluster=cluster, names=escape(", ".join(self.listed) or _("none"))) + "</p>"
            kind = _("producer")
        else:
            title = _("Subscriptions on <b>{topic}</b> in <b>{cluster}</b>:").format(topic=topic, cluster=cluster)
            listed, kind = "", _("subscription")
        return f"<p>{title}</p>" + _table((kind, _("answer"), _("details")), rows) + listed


def _refusal(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def open_producers(lab: Lab, cluster: str, topic: str, names: tuple[str, ...] = ("app-1", "app-2")) -> Attempts:
    """Open one producer per name on `topic` in `cluster` at the same time, read which producers the
    topic's stats list as publishers while they are open, then close them."""
    client = lab.client(cluster)
    producers: list[pulsar.Producer] = []
    opened = []
    try:
        for name in names:
            try:
                producers.append(client.create_producer(topic, producer_name=name))
                opened.append(Opened(name, True, OPEN))
            except pulsar.PulsarException as exc:
                opened.append(Opened(name, False, _refusal(exc)))
        listed = lab.admin(cluster).get_topic_stats(topic).publishers if producers else ()
    finally:
        for producer in producers:
            producer.close()
    return Attempts(cluster, topic, "producer", tuple(opened), tuple(listed))


def try_subscribe(lab: Lab, cluster: str, topic: str, subscription: str) -> Attempts:
    """Subscribe to `topic` in `cluster` with the name `subscription`; report the broker's answer (and
    remove the subscription again when it was accepted)."""
    try:
        consumer = lab.client(cluster).subscribe(topic, subscription)
    except pulsar.PulsarException as exc:
        return Attempts(cluster, topic, "subscription", (Opened(subscription, False, _refusal(exc)),), ())
    unsubscribe_or_close(consumer)
    return Attempts(cluster, topic, "subscription", (Opened(subscription, True, SUBSCRIBED),), ())


# ------------------------------------------------------------------------------ markers


@dataclass(frozen=True)
class EntriesWritten:
    """The entries a cluster's ledger gained for `messages` produced and acknowledged on one topic."""

    cluster: str
    topic: str
    messages: int
    replicated_subscription: bool
    entries: int
    settled_s: float

    def _repr_html_(self) -> str:
        values = {"topic": escape(_short(self.topic)), "cluster": escape(self.cluster), "messages": self.messages,
                  "entries": self.entries, "extra": self.entries - self.messages, "seconds": self.settled_s}
        if self.replicated_subscription:
            said = ngettext(
                "<b>{topic}</b> in <b>{cluster}</b>, with a replicated subscription: {messages} message produced and "
                "acknowledged, <b>{entries}</b> entries in the ledger ({extra} more than the messages; read "
                "{seconds:g} s after the last acknowledgement)",
                "<b>{topic}</b> in <b>{cluster}</b>, with a replicated subscription: {messages} messages produced and "
                "acknowledged, <b>{entries}</b> entries in the ledger ({extra} more than the messages; read "
                "{seconds:g} s after the last acknowledgement)", self.messages)
        else:
            said = ngettext(
                "<b>{topic}</b> in <b>{cluster}</b>, with a plain subscription: {messages} message produced and "
                "acknowledged, <b>{entries}</b> entries in the ledger ({extra} more than the messages; read "
                "{seconds:g} s after the last acknowledgement)",
                "<b>{topic}</b> in <b>{cluster}</b>, with a plain subscription: {messages} messages produced and "
                "acknowledged, <b>{entries}</b> entries in the ledger ({extra} more than the messages; read "
                "{seconds:g} s after the last acknowledgement)", self.messages)
        return f"<p>{said.format(**values)}</p>"


def entries_for(lab: Lab, cluster: str, topic: str, messages: int = 10, replicated_subscription: bool = True,
                pace_s: float = 0.3, settle_s: float = 3.0) -> EntriesWritten:
    """Produce `messages` on `topic` in `cluster`, one every `pace_s` (as an application would), consume and
    acknowledge them on a subscription (replicated or not), and count the entries the topic's ledger added,
    `settle_s` after the last acknowledgement (the watch window for entries that nobody produced)."""
    if messages < 1:
        raise UsageError(_("entries_for() needs messages >= 1, got {messages}.").format(messages=messages))
    consumer = lab.client(cluster).subscribe(topic, f"geolab-entries-{uuid.uuid4().hex[:6]}",
                                             replicate_subscription_state_enabled=replicated_subscription)
    try:
        producer = lab.client(cluster).create_producer(topic, batching_enabled=False)
        for index in range(messages):
            producer.send(f"entry {index}".encode())
            time.sleep(pace_s)  # an application's pace: markers are written while messages flow
        producer.close()
        for _each in range(messages):
            consumer.acknowledge(consumer.receive(timeout_millis=10_000))
        time.sleep(settle_s)  # the watch window: entries written after the messages are counted too
        entries = lab.admin(cluster).get_internal_stats(topic).entries_added
    finally:
        unsubscribe_or_close(consumer)
    return EntriesWritten(cluster, topic, messages, replicated_subscription, entries, settle_s)
