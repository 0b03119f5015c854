"""Producing and consuming on lab clusters: send a batch, collect what arrives before a deadline.

Owns only pulsar-client calls; never provisions. Views and checks build on these.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from html import escape

import pulsar

from labs.errors import LabNotFoundError, WaitTimeout
from labs.i18n import Text, _, ngettext
from labs.waiting import wait_for


@dataclass(frozen=True)
class Received:
    """One message as a consumer saw it."""

    data: bytes
    properties: dict[str, str]
    publish_time_ms: int
    received_at_ms: int

    @property
    def latency_ms(self) -> int:
        """Publish time at the origin to receipt here (same host clock in a lab)."""
        return self.received_at_ms - self.publish_time_ms


def send_all(producer: pulsar.Producer, payloads: Iterable[bytes], **send_options: object) -> int:
    """Send each payload synchronously (each send is confirmed by the broker); returns the count."""
    count = 0
    for payload in payloads:
        producer.send(payload, **send_options)
        count += 1
    return count


def collect(consumer: pulsar.Consumer, expected: Iterable[bytes] | None = None, timeout_s: float = 30.0,
            acknowledge: bool = True) -> list[Received]:
    """Receive until every `expected` payload arrived or `timeout_s` passed (all of the window when
    `expected` is None). Returns everything received, in order, duplicates included."""
    wanted = set(expected) if expected is not None else None
    got: list[Received] = []

    def receive_one() -> bool:
        if wanted is not None and wanted.issubset({r.data for r in got}):
            return True
        message = consumer.receive(timeout_millis=500)
        got.append(Received(message.data(), dict(message.properties()), message.publish_timestamp(),
                            int(time.time() * 1000)))
        if acknowledge:
            consumer.acknowledge(message)
        return wanted is not None and wanted.issubset({r.data for r in got})

    what = (Text("Not all of the {count} expected messages arrived.", count=len(wanted)) if wanted is not None
            else Text("The window for messages ended."))
    try:
        wait_for(receive_one, what=what, timeout_s=timeout_s, interval_s=0, tolerate=(pulsar.Timeout,))
    except WaitTimeout:
        pass  # what arrived in the window is the answer
    return got


# ------------------------------------------------------------------------------ live flows

ORIGIN = "origin"
SEQUENCE = "seq"


@dataclass(frozen=True)
class LatencySample:
    at: float
    link: str
    ms: int


@dataclass(frozen=True)
class FlowCounts:
    """What the flows counted so far, per cluster (a copy; safe to hand to views)."""

    produced: dict[str, int]
    consumed: dict[str, int]
    replicated_in: dict[str, int]
    latencies: tuple[LatencySample, ...]
    producing: dict[str, float]
    consuming: tuple[str, ...]


class Flows:
    """Producers and consumers a learner starts on any cluster of a lab.

    Pulsar's listener threads only increment counters under a lock; views read `counts()`.
    Messages carry their origin cluster as a property, so a consumer tells local messages from
    replicated ones and measures publish-to-receive latency per link.
    """

    def __init__(self, clients: dict[str, pulsar.Client], topic: str, subscription: str = "geolab-flow",
                 latency_window: int = 2000) -> None:
        self._clients = clients
        self.topic = topic
        self.subscription = subscription
        self._lock = threading.Lock()
        self._produced = {c: 0 for c in clients}
        self._consumed = {c: 0 for c in clients}
        self._replicated_in = {c: 0 for c in clients}
        self._latencies: deque[LatencySample] = deque(maxlen=latency_window)
        self._producers: dict[str, _ProducerLoop] = {}
        self._consumers: dict[str, pulsar.Consumer] = {}

    # ------------------------------------------------------------ producers

    def start_producer(self, cluster: str, rate_per_s: float = 10.0) -> None:
        """Produce `rate_per_s` messages a second on `cluster` until stopped."""
        self._require(cluster)
        if cluster in self._producers:
            self._producers[cluster].rate_per_s = rate_per_s
            return
        producer = self._clients[cluster].create_producer(self.topic, block_if_queue_full=True,
                                                           batching_enabled=False)
        loop = _ProducerLoop(cluster, producer, rate_per_s, self._on_sent)
        self._producers[cluster] = loop
        loop.start()

    def set_rate(self, cluster: str, rate_per_s: float) -> None:
        if cluster in self._producers:
            self._producers[cluster].rate_per_s = rate_per_s

    def stop_producer(self, cluster: str) -> None:
        loop = self._producers.pop(cluster, None)
        if loop is not None:
            loop.stop()

    def send_one(self, cluster: str, payload: bytes, **send_options: object) -> None:
        """Send a single message from `cluster` (counted like the others)."""
        self._require(cluster)
        producer = self._clients[cluster].create_producer(self.topic)
        try:
            producer.send(payload, properties={ORIGIN: cluster}, **send_options)
            self._on_sent(cluster)
        finally:
            producer.close()

    # ------------------------------------------------------------ consumers

    def start_consumer(self, cluster: str) -> None:
        """Consume on `cluster` with a listener that counts local and replicated messages."""
        self._require(cluster)
        if cluster in self._consumers:
            return
        self._consumers[cluster] = self._clients[cluster].subscribe(
            self.topic, f"{self.subscription}-{cluster}", consumer_type=pulsar.ConsumerType.Exclusive,
            message_listener=lambda consumer, message: self._on_message(cluster, consumer, message),
        )

    def stop_consumer(self, cluster: str) -> None:
        consumer = self._consumers.pop(cluster, None)
        if consumer is not None:
            consumer.close()

    # ------------------------------------------------------------ counting (listener threads)

    def _on_sent(self, cluster: str) -> None:
        with self._lock:
            self._produced[cluster] += 1

    def _on_message(self, cluster: str, consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        now_ms = int(time.time() * 1000)
        origin = message.properties().get(ORIGIN, cluster)
        with self._lock:
            self._consumed[cluster] += 1
            if origin != cluster:
                self._replicated_in[cluster] += 1
                self._latencies.append(LatencySample(time.monotonic(), f"{origin}->{cluster}",
                                                     now_ms - message.publish_timestamp()))
        consumer.acknowledge(message)

    def counts(self) -> FlowCounts:
        with self._lock:
            return FlowCounts(
                produced=dict(self._produced), consumed=dict(self._consumed),
                replicated_in=dict(self._replicated_in), latencies=tuple(self._latencies),
                producing={c: p.rate_per_s for c, p in self._producers.items()},
                consuming=tuple(self._consumers),
            )

    def close(self) -> None:
        for cluster in list(self._producers):
            self.stop_producer(cluster)
        for cluster in list(self._consumers):
            self.stop_consumer(cluster)

    def _require(self, cluster: str) -> None:
        if cluster not in self._clients:
            raise LabNotFoundError(_("Cluster {cluster!r} is not in this lab; expected one of {clusters}.").format(
                cluster=cluster, clusters=sorted(self._clients)))


class _ProducerLoop(threading.Thread):
    """Sends at a steady rate; each confirmed send is counted through `on_sent`."""

    def __init__(self, cluster: str, producer: pulsar.Producer, rate_per_s: float,
                 on_sent: Callable[[str], None]) -> None:
        super().__init__(name=f"geolab-producer-{cluster}", daemon=True)
        self.cluster = cluster
        self.rate_per_s = rate_per_s
        self._producer = producer
        self._on_sent = on_sent
        self._halt = threading.Event()

    def run(self) -> None:
        sequence = 0
        next_at = time.monotonic()
        while not self._halt.is_set():
            rate = max(self.rate_per_s, 0.1)
            self._producer.send_async(
                f"{self.cluster}-{sequence}".encode(),
                lambda result, _id: self._on_sent(self.cluster) if result == pulsar.Result.Ok else None,
                properties={ORIGIN: self.cluster, SEQUENCE: str(sequence)},
            )
            sequence += 1
            next_at += 1.0 / rate
            self._halt.wait(max(0.0, next_at - time.monotonic()))  # pacing the rate, not readiness

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
        try:
            self._producer.flush()
            self._producer.close()
        except pulsar.PulsarException:
            pass


# ------------------------------------------------------------------------------ failover drill


@dataclass(frozen=True)
class DrillReport:
    """What a failover drill measured; no loss is the goal, duplicates are expected and bounded.

    Attributes:
        failed_over: the client was on the standby when every confirmed message had arrived.
        complete: every confirmed message arrived (before the failover or after it).
        resumed_at: the earliest message the consumer got after the failover, where the standby's copy
            of the subscription stood (None: it got none).
        caught_up_s: from the failure to the last missing message (None: it never caught up).
        back_after_s: from the failure to the client using the primary cluster again, as `switch_back()`
            saw it (None: not asked, or it did not return).
        returned: messages produced and received after the client returned to the primary, each stored
            there first (the primary is their origin).
        duplicates_after_return: of the duplicates, those the primary handed over again after the
            return (its copy of the subscription stopped where it died).
    """

    sent: int
    acked_before_failover: int
    received_after_failover: int
    duplicates: int
    lost: tuple[str, ...]
    resumed_at: int | None
    caught_up_s: float | None
    service_url_after: str
    complete: bool
    failed_over: bool = False
    back_after_s: float | None = None
    returned: int = 0
    duplicates_after_return: int = 0

    def to_wire(self) -> dict[str, object]:
        return {**asdict(self), "lost": list(self.lost)}

    @classmethod
    def from_wire(cls, data: dict[str, object]) -> DrillReport:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        lost = data.get("lost")
        values["lost"] = tuple(str(k) for k in lost) if isinstance(lost, list) else ()
        return cls(**values)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        if self.lost:
            verdict = ngettext("❌ {count} message lost", "❌ {count} messages lost", len(self.lost)).format(
                count=len(self.lost))
        else:
            verdict = _("✅ no message lost")
        said = ngettext("{count} duplicate (redelivered after the switch).",
                        "{count} duplicates (redelivered after the switch).", self.duplicates).format(
            count=self.duplicates)
        items = [_("Sent and confirmed: {count}").format(count=self.sent),
                 _("Acknowledged before the failover: {count}").format(count=self.acked_before_failover),
                 _("The consumer received nothing after the failover.") if self.resumed_at is None
                 else _("The standby cluster resumed at message {number}.").format(number=self.resumed_at),
                 _("It has not caught up yet.") if self.caught_up_s is None
                 else _("It caught up {seconds:.1f} s after the active cluster died.").format(seconds=self.caught_up_s)]
        if self.back_after_s is not None:
            items.append(_("Back on the primary cluster {seconds:.1f} s after the failure.").format(
                seconds=self.back_after_s) + " " + ngettext(
                "{count} new message produced and received there.", "{count} new messages produced and received there.",
                self.returned).format(count=self.returned) + " " + ngettext(
                "{count} old message handed over again.", "{count} old messages handed over again.",
                self.duplicates_after_return).format(count=self.duplicates_after_return))
        items.append(_("The client now uses {url}.").format(url=escape(self.service_url_after)))
        return (f"<p><b>{verdict}</b> · {said}</p><ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")


#: The last report of each lab's drill, in the process that ran it (the kernel on a learner's own
#: machine, the grader in a graded run): what the checks grade.
_REPORTS: dict[str, DrillReport] = {}
_REPORTS_LOCK = threading.Lock()


def last_drill_report(lab_name: str) -> DrillReport | None:
    """The latest report of a drill run in this process on the lab `lab_name` (None: no drill ran)."""
    with _REPORTS_LOCK:
        return _REPORTS.get(lab_name)


#: The property that marks a failover drill's own messages (its value: the drill's token).
DRILL_TOKEN = "geolab-drill"


class FailoverDrill:
    """Runs an application-like flow through a failover client: produce and consume together, then
    keep consuming after the active cluster dies and count what was lost or delivered twice; then
    follow the client back to the primary cluster."""

    def __init__(self, client: pulsar.Client, topic: str, subscription: str, owns_client: bool = False,
                 lab_name: str = "", primary_url: str = "") -> None:
        self.client = client
        self._owns_client = owns_client
        self.topic = topic
        self.lab_name = lab_name
        self.primary_url = primary_url or client.get_service_info().service_url
        self.consumer = client.subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Failover,
                                         replicate_subscription_state_enabled=True, receiver_queue_size=1)
        self.producer = client.create_producer(topic, batching_enabled=False)
        # every message the drill sends carries a token only the drill knows: a message someone else put
        # on the topic (a learner's code, between the drill's steps) is not the application's, and not counted
        self._token = secrets.token_hex(8)
        self.ignored = 0
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.after: list[str] = []
        self.returned: list[str] = []
        self.again: list[str] = []
        self._failed_at: float | None = None
        self._caught_up_at: float | None = None
        self._failed_over = False
        self._back_after_s: float | None = None

    def produce(self, count: int) -> list[str]:
        """Send `count` messages; each send returns once the cluster confirmed it. Returns their keys."""
        keys = []
        for _each in range(count):
            key = f"m{len(self.sent):05d}"
            self.producer.send(key.encode(), properties={DRILL_TOKEN: self._token})
            self.sent.append(key)
            keys.append(key)
        return keys

    def _receive(self, timeout_millis: int) -> str:
        """The next message of the drill's own (acknowledged, its key returned); another's is acknowledged,
        counted in `ignored`, and skipped. Raises pulsar.Timeout when none comes in time."""
        while True:
            message = self.consumer.receive(timeout_millis=timeout_millis)
            self.consumer.acknowledge(message)
            if message.properties().get(DRILL_TOKEN) == self._token:
                return str(message.data().decode(errors="replace"))
            self.ignored += 1

    def run_traffic(self, messages: int = 200, batch: int = 5, pause_s: float = 0.1, unconsumed: int = 20) -> None:
        """Produce and consume `messages` in small batches (so subscription snapshots are taken as the
        application runs), then produce `unconsumed` more that nobody reads before the failover."""
        for _round in range(messages // batch):
            self.produce(batch)
            for _each in range(batch):
                self.acked.append(self._receive(30_000))
            time.sleep(pause_s)  # application pacing, not a readiness wait
        self.produce(unconsumed)
        self._record()

    def mark_failure(self) -> None:
        """Call right after killing the active cluster."""
        self._failed_at = time.monotonic()
        self._record()

    def receive_rest(self, timeout_s: float = 60.0) -> bool:
        """Receive until every confirmed message arrived or `timeout_s` passed; True when complete."""
        seen = set(self.acked) | set(self.after)

        def receive_one() -> bool:
            if not set(self.sent) - seen:
                return True
            key = self._receive(1_000)
            self.after.append(key)
            seen.add(key)
            return not set(self.sent) - seen

        try:
            wait_for(receive_one, what=Text("Not every confirmed message arrived on the failover consumer."),
                     timeout_s=timeout_s, interval_s=0, tolerate=(pulsar.Timeout,))
        except WaitTimeout:
            self._record()
            return False
        if self._caught_up_at is None:
            self._caught_up_at = time.monotonic()
        self._failed_over = self._failed_over or self.client.get_service_info().service_url != self.primary_url
        self._record()
        return True

    def switch_back(self, timeout_s: float = 120.0, messages: int = 10) -> bool:
        """Once the primary cluster is back: wait until the client uses it again (its probes decide
        when), then produce and receive `messages` new ones through it. True when all came back."""
        asked = time.monotonic()
        failed_at = self._failed_at if self._failed_at is not None else asked
        try:
            wait_for(lambda: self.client.get_service_info().service_url, timeout_s=timeout_s,
                     what=Text("The client did not return to the primary cluster {url}.", url=self.primary_url),
                     accept=lambda url: url == self.primary_url)
        except WaitTimeout:
            self._record()
            return False
        self._back_after_s = round(time.monotonic() - failed_at, 1)
        keys = set(self.produce(messages))
        remaining_s = max(timeout_s - (time.monotonic() - asked), 30.0)

        def receive_one() -> bool:
            key = self._receive(1_000)
            if key in keys and key not in self.returned:
                self.returned.append(key)
            else:
                self.again.append(key)  # handed over again after the return: a duplicate
            return keys <= set(self.returned)

        try:
            wait_for(receive_one, what=Text("Not every new message arrived on the primary cluster."),
                     timeout_s=remaining_s, interval_s=0, tolerate=(pulsar.Timeout,))
        except WaitTimeout:
            pass
        self._record()
        return keys <= set(self.returned)

    def report(self) -> DrillReport:
        acked = set(self.acked)
        redelivered = [k for k in self.after if k in acked]
        repeats = len(self.after) - len(set(self.after))
        seen = acked | set(self.after) | set(self.returned) | set(self.again)
        lost = tuple(sorted(set(self.sent) - seen))
        caught_up = (self._caught_up_at - self._failed_at
                     if self._caught_up_at is not None and self._failed_at is not None else None)
        return DrillReport(
            sent=len(self.sent), acked_before_failover=len(self.acked), received_after_failover=len(self.after),
            duplicates=len(redelivered) + repeats + len(self.again), lost=lost,
            resumed_at=min(int(key[1:]) for key in self.after) if self.after else None,
            caught_up_s=caught_up, service_url_after=self.client.get_service_info().service_url,
            complete=not lost, failed_over=self._failed_over, back_after_s=self._back_after_s,
            returned=len(self.returned), duplicates_after_return=len(self.again),
        )

    def _record(self) -> None:
        if self.lab_name:
            report = self.report()
            with _REPORTS_LOCK:
                _REPORTS[self.lab_name] = report

    def close(self) -> None:
        self.consumer.close()
        self.producer.close()
        if self._owns_client:
            self.client.close()
