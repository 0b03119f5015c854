"""Numbered orders for the disaster-recovery lesson: take them in one cluster, read them in another,
and apply them once (an idempotent consumer), so that what a region's loss costs can be counted.

Each order is one unbatched message whose property ``seq`` is its number. A producer's `send`
returns when the broker has stored the message: an order `take_orders` counts as confirmed is one
the producer's application was told is safe.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html import escape

import pulsar

from labs.errors import UsageError
from labs.i18n import _, ngettext
from labs.lab import Lab

SEQ = "seq"


def _span(seqs: Iterable[int]) -> str:
    """`#1–#100, #121–#140` for a set of order numbers (`none` in the reader's language for none)."""
    runs: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    return ", ".join(f"#{a}" if a == b else f"#{a}–#{b}" for a, b in runs) or _("none")


@dataclass(frozen=True)
class OrderNumbers:
    """Order numbers, shown as runs (``#121–#140``)."""

    seqs: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.seqs)

    def __iter__(self) -> Iterator[int]:
        return iter(self.seqs)

    def __contains__(self, seq: object) -> bool:
        return seq in self.seqs

    def _repr_html_(self) -> str:
        return "<p>" + ngettext("{count} order: {numbers}", "{count} orders: {numbers}", len(self.seqs)).format(
            count=len(self.seqs), numbers=escape(_span(self.seqs))) + "</p>"


@dataclass(frozen=True)
class Orders:
    """Orders a producer in `cluster` sent and the broker confirmed."""

    cluster: str
    topic: str
    confirmed: tuple[int, ...]
    seconds: float

    def _repr_html_(self) -> str:
        return "<p>📦 " + ngettext(
            "<b>{cluster}</b> confirmed {count} order ({numbers}) on <code>{topic}</code> in {seconds:.1f} s.",
            "<b>{cluster}</b> confirmed {count} orders ({numbers}) on <code>{topic}</code> in {seconds:.1f} s.",
            len(self.confirmed)).format(cluster=escape(self.cluster), count=len(self.confirmed),
                                        numbers=escape(_span(self.confirmed)),
                                        topic=escape(self.topic.rsplit("/", 1)[-1]), seconds=self.seconds) + "</p>"


def take_orders(lab: Lab, cluster: str, topic: str, numbers: Iterable[int], pause_s: float = 0.02) -> Orders:
    """Send one order per number to `topic` in `cluster`, each confirmed before the next (`pause_s` apart).

    Raises:
        UsageError: no numbers, or a number below 1.
    """
    wanted = list(numbers)
    if not wanted or min(wanted) < 1:
        raise UsageError(_("Orders are numbered from 1; got {numbers}. Pass a range such as range(1, 121).").format(
            numbers=f"{wanted[:5]}{'...' if len(wanted) > 5 else ''}"))
    producer = lab.client(cluster).create_producer(topic, batching_enabled=False)
    started = time.monotonic()
    try:
        for seq in wanted:
            producer.send(f"order {seq}".encode(), properties={SEQ: str(seq)})
            if pause_s:
                time.sleep(pause_s)  # pacing the orders, not waiting for readiness
    finally:
        producer.close()
    return Orders(cluster, topic, tuple(wanted), time.monotonic() - started)


@dataclass(frozen=True)
class OrdersRead:
    """What a consumer on `subscription` in `cluster` received, in order (duplicates included).

    `watched_s`: how long it kept watching after the last order arrived and saw nothing more; a
    number absent from `seqs` was not there for that long.
    """

    cluster: str
    subscription: str
    seqs: tuple[int, ...]
    published_ms: Mapping[int, int] = field(repr=False)
    watched_s: float

    @property
    def first(self) -> int | None:
        return self.seqs[0] if self.seqs else None

    @property
    def duplicates(self) -> OrderNumbers:
        """Numbers received more than once in this read."""
        return OrderNumbers(tuple(sorted(seq for seq, n in Counter(self.seqs).items() if n > 1)))

    def missing(self, *taken: Orders) -> OrderNumbers:
        """Confirmed orders that this read never received."""
        return OrderNumbers(tuple(sorted({seq for orders in taken for seq in orders.confirmed} - set(self.seqs))))

    def _repr_html_(self) -> str:
        where = f"📥 <b>{escape(self.cluster)}</b> · <code>{escape(self.subscription)}</code>: "
        if self.first is None:
            said = _("received no order; watched {seconds:.0f} s and saw nothing.").format(seconds=self.watched_s)
        else:
            said = ngettext(
                "received {count} order ({numbers}); first: order #{first}; {twice} received twice; then watched "
                "{seconds:.0f} s and saw nothing more.",
                "received {count} orders ({numbers}); first: order #{first}; {twice} received twice; then watched "
                "{seconds:.0f} s and saw nothing more.", len(self.seqs)).format(
                count=len(self.seqs), numbers=escape(_span(self.seqs)), first=self.first,
                twice=len(self.duplicates), seconds=self.watched_s)
        return f"<p>{where}{said}</p>"


def read_orders(lab: Lab, cluster: str, topic: str, subscription: str, up_to: int | None = None,
                quiet_s: float = 10.0, replicated: bool = False, timeout_s: float = 120.0) -> OrdersRead:
    """Consume orders on `subscription` in `cluster` (from the earliest message when the subscription
    is new there), acknowledging each one, until order `up_to` was acknowledged or nothing more arrived
    for `quiet_s` (`timeout_s` at most). Orders after `up_to` that the consumer had already been handed are left
    unacknowledged, so the subscription stops exactly after `up_to`.

    `replicated`: ask for the subscription's state to be replicated (a replicated subscription).
    """
    consumer = lab.client(cluster).subscribe(
        topic, subscription, consumer_type=pulsar.ConsumerType.Failover,
        initial_position=pulsar.InitialPosition.Earliest, replicate_subscription_state_enabled=replicated)
    seqs: list[int] = []
    published: dict[int, int] = {}
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            try:
                message = consumer.receive(timeout_millis=500)
            except pulsar.Timeout:
                if time.monotonic() - last >= quiet_s:
                    break
                continue
            seq = int(message.properties().get(SEQ, "0"))
            if up_to is not None and seq > up_to:
                continue  # handed over early by the broker; left for the next consumer
            consumer.acknowledge(message)
            seqs.append(seq)
            published.setdefault(seq, message.publish_timestamp())
            last = time.monotonic()
            if up_to is not None and seq == up_to:
                break
    finally:
        consumer.close()
    watched = 0.0 if up_to is not None and up_to in seqs else time.monotonic() - last
    return OrdersRead(cluster, subscription, tuple(seqs), published, watched)


@dataclass(frozen=True)
class Applied:
    """What an idempotent consumer did with one read: orders applied, and duplicates it ignored."""

    applied: tuple[int, ...]
    ignored: tuple[int, ...]

    def _repr_html_(self) -> str:
        applied = ngettext("Applied {count} order ({numbers}).", "Applied {count} orders ({numbers}).",
                           len(self.applied)).format(count=len(self.applied), numbers=escape(_span(self.applied)))
        ignored = ngettext("Ignored {count} duplicate ({numbers}).", "Ignored {count} duplicates ({numbers}).",
                           len(self.ignored)).format(count=len(self.ignored), numbers=escape(_span(self.ignored)))
        return f"<p>🧾 {applied} {ignored}</p>"


class OrderLedger:
    """An idempotent consumer's memory: the numbers of the orders it has applied, so that an order
    delivered again (after a failover, a failback or a replicator that re-sent) is applied once."""

    def __init__(self) -> None:
        self._done: set[int] = set()

    def apply(self, read: OrdersRead) -> Applied:
        applied: list[int] = []
        ignored: list[int] = []
        for seq in read.seqs:
            (ignored if seq in self._done else applied).append(seq)
            self._done.add(seq)
        return Applied(tuple(applied), tuple(ignored))
