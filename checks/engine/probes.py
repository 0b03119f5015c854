"""Probes the checks use: send a fresh message and see where it arrives, before a deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulsar

from checks.engine.model import Outcome
from labs.client import unsubscribe_or_close
from labs.errors import AdminError, WaitTimeout
from labs.flows import collect
from labs.i18n import Text, _
from labs.lab import Lab
from labs.waiting import wait_for


def fresh_topic(namespace: str, what: str = "") -> str:
    """A topic of `namespace` that nothing has used: a check's own, named so that a learner can tell it apart."""
    return f"persistent://{namespace}/geolab-check-{what + '-' if what else ''}{uuid.uuid4().hex[:8]}"


def _error(exc: Exception) -> str:
    """A client's failure as Pulsar's client names it: its type and message (English, Pulsar's own words)."""
    return f"{type(exc).__name__}: {exc}"


def delivery(lab: Lab, source: str, target: str, namespace: str, timeout_s: float = 30.0) -> Outcome:
    """Produce one message in `source` on a new topic of `namespace`; passed when `target` receives it."""
    topic = fresh_topic(namespace)
    payload = f"check {source}->{target}".encode()
    expected = _("a message produced in {source} on {namespace} arrives in {target} within {timeout_s:.0f} s").format(
        source=source, namespace=namespace, target=target, timeout_s=timeout_s)
    try:
        consumer = lab.client(target).subscribe(topic, "geolab-check")
        producer = lab.client(source).create_producer(topic)
        producer.send(payload)
        producer.close()
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, _("producing or subscribing failed: {error}").format(error=_error(exc)))
    try:
        got = collect(consumer, [payload], timeout_s=timeout_s)
    finally:
        unsubscribe_or_close(consumer)
    arrived = any(r.data == payload for r in got)
    return Outcome(arrived, expected,
                   _("it arrived") if arrived else _("nothing arrived in {target}").format(target=target))


def queued_for(lab: Lab, source: str, target: str, namespace: str) -> Outcome:
    """Produce one message in `source` on a new topic of `namespace` while `target` is down; passed
    when `source`'s topic keeps it in a replication backlog for `target` (sent when `target` returns)."""
    topic = fresh_topic(namespace)
    expected = _("a message produced in {source} waits in its replication backlog for {target} (down now)").format(
        source=source, target=target)
    try:
        producer = lab.client(source).create_producer(topic)
        producer.send(f"check {source}->{target}".encode())
        producer.close()
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, _("producing failed: {error}").format(error=_error(exc)))
    try:
        # a namespace policy reaches the broker's topics a moment after the admin call (CI once
        # waited more than 10 s under load)
        replicator = wait_for(lambda: lab.admin(source).get_topic_stats(topic).replication.get(target),
                              what=Text("{source}'s replicator to {target} did not show the message in its "
                                        "replication backlog.", source=source, target=target),
                              timeout_s=30, interval_s=0.5,
                              accept=lambda found: found is not None and found.replication_backlog >= 1)
    except WaitTimeout:
        replication = lab.admin(source).get_topic_stats(topic).replication
        if not replication:
            return Outcome(False, expected, _("{source} replicates this topic to no cluster").format(source=source))
        return Outcome(False, expected, _("{source} replicates this topic to {clusters}").format(
            source=source, clusters=sorted(replication)))
    waiting = replicator.replication_backlog if replicator is not None else 0
    return Outcome(True, expected, _("{waiting} message(s) wait for {target}").format(waiting=waiting, target=target))


PROBE_PROPERTY = "geolab-check"


def _position(text: str) -> tuple[int, int]:
    ledger, entry = text.split(":")[:2]
    return int(ledger), int(entry)


def standby_follows(lab: Lab, topic: str, subscription: str, active: str, standby: str,
                    timeout_s: float = 20.0) -> Outcome:
    """Behaviour of a replicated subscription: a probe message produced in `active` reaches `standby`;
    once it is acknowledged on `subscription` in `active`, `standby`'s copy of the subscription moves
    past it too (its mark-delete position, carried by the replicated-subscription snapshots), before
    the deadline.

    The mechanism is checked too: the subscription is a replicated one in both clusters (Pulsar flags the
    standby's copy it creates itself); a position that moved by other means (an application's own
    subscription in the standby, moved by its code) earns nothing.

    It acknowledges only probe messages (its own, earlier ones included) through a shared consumer
    that it closes afterwards, so messages the learner left unread stay unread (they would hold back
    the mark-delete position: it reports them instead). That consumer never asks for replicated
    state: on Pulsar 4.0.8 one that asks makes the subscription replicated, the very thing checked
    (measured: a non-replicated subscription on beijing "followed" once the probe had asked).
    """
    expected = _("a message acknowledged on {subscription} in {active} is acknowledged on {standby}'s copy too "
                 "(which Pulsar creates), within {timeout_s:.0f} s").format(
        subscription=subscription, active=active, standby=standby, timeout_s=timeout_s)
    found = lab.admin(active).get_topic_stats(topic).subscriptions.get(subscription)
    if found is None:
        return Outcome(False, expected, _("{subscription} is missing in {active}").format(
            subscription=subscription, active=active))
    if not found.replicated:
        return Outcome(False, expected, _("{subscription} in {active} is not a replicated subscription: Pulsar moves "
                                          "no copy of it in {standby}").format(
            subscription=subscription, active=active, standby=standby))
    payload = f"geolab-check {uuid.uuid4().hex[:8]}".encode()
    try:
        consumer = lab.client(active).subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Shared,
                                                replicate_subscription_state_enabled=False)
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, _("cannot attach to {subscription} in {active}: {error}").format(
            subscription=subscription, active=active, error=_error(exc)))
    reader = None
    try:
        producer = lab.client(active).create_producer(topic, batching_enabled=False)
        producer.send(payload, properties={PROBE_PROPERTY: "follows"})
        producer.close()
        others = [r for r in collect(consumer, [payload], timeout_s=timeout_s, acknowledge=False)
                  if PROBE_PROPERTY not in r.properties]
        if others:
            return Outcome(False, expected, _("{subscription} in {active} has {count} unread message(s) of yours; "
                                              "acknowledged in order, they let its position move (run the check "
                                              "before the drill)").format(
                subscription=subscription, active=active, count=len(others)))
        consumer.close()  # unacknowledged: redelivered below, to be acknowledged in order
        consumer = lab.client(active).subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Shared,
                                                replicate_subscription_state_enabled=False)
        if not any(r.data == payload for r in collect(consumer, [payload], timeout_s=timeout_s)):
            return Outcome(False, expected, _("the probe was not delivered on {subscription} in {active}").format(
                subscription=subscription, active=active))
        reader = lab.client(standby).create_reader(topic, pulsar.MessageId.earliest)
        probe_id = None

        def find_probe() -> bool:
            nonlocal probe_id
            message = reader.read_next(timeout_millis=500)
            if message.data() == payload:
                probe_id = message.message_id()
            return probe_id is not None

        try:
            wait_for(find_probe, what=Text("The probe message did not reach {standby}.", standby=standby),
                     timeout_s=timeout_s, interval_s=0,
                     tolerate=(pulsar.Timeout,))
        except WaitTimeout:
            return Outcome(False, expected, _("the probe never reached {standby}: is the topic replicated "
                                              "{active} → {standby}?").format(standby=standby, active=active))
        assert probe_id is not None
        target = (probe_id.ledger_id(), probe_id.entry_id())

        def standby_position() -> tuple[int, int]:
            cursor = lab.admin(standby).get_cursors(topic).get(subscription)
            return (-1, -1) if cursor is None else _position(cursor.mark_delete_position)

        try:
            wait_for(standby_position, what=Text("{standby}'s copy of {subscription} did not move past the probe "
                                                 "message.", standby=standby, subscription=subscription),
                     timeout_s=timeout_s,
                     accept=lambda position: position >= target)
        except WaitTimeout:
            position = standby_position()
            if position == (-1, -1):
                return Outcome(False, expected, _("{standby} has no copy while the probe {probe} was acknowledged in "
                                                  "{active}: it does not follow {active}'s").format(
                    standby=standby, probe=target, active=active))
            return Outcome(False, expected, _("{standby}'s copy stayed at {position} while the probe {probe} was "
                                              "acknowledged in {active}: it does not follow {active}'s").format(
                standby=standby, position=position, probe=target, active=active))
        copy = lab.admin(standby).get_topic_stats(topic).subscriptions.get(subscription)
        if copy is None or not copy.replicated:
            return Outcome(False, expected, _("{standby}'s {subscription} moved past the probe, but it is not a "
                                              "replicated subscription: Pulsar did not move it").format(
                standby=standby, subscription=subscription))
        return Outcome(True, expected, _("{standby}'s copy moved past the probe").format(standby=standby))
    finally:
        consumer.close()
        if reader is not None:
            reader.close()


@dataclass(frozen=True)
class Burst:
    """How many of a burst produced at once in one cluster arrived in another within a window."""

    sent: int
    arrived: int
    window_s: float


def replication_burst(lab: Lab, source: str, target: str, namespace: str, messages: int = 30,
                      window_s: float = 3.0) -> Burst:
    """Produce `messages` at once (unbatched) on a new topic in `source`; count what `target` received
    within `window_s` of the last send (the window ends early when all arrived). The burst starts once
    `source`'s replicator of the new topic is connected (up to 30 s), so that the window measures the
    replicator's pace, not how long a new topic's replicator takes to connect (CI once saw 0 of 30
    arrive in 3 s on a loaded machine); no message is sent before it, so no throttle permit is used."""
    topic = fresh_topic(namespace, "burst")
    payloads = [f"burst {i}".encode() for i in range(messages)]
    consumer = lab.client(target).subscribe(topic, "geolab-check")
    try:
        producer = lab.client(source).create_producer(topic, batching_enabled=False)

        def connected() -> bool:
            replicator = lab.admin(source).get_topic_stats(topic).replication.get(target)
            return replicator is not None and replicator.connected

        try:
            wait_for(connected, what=Text("{source}'s replicator of the burst topic to {target} did not connect.",
                                          source=source, target=target), timeout_s=30)
        except WaitTimeout:
            pass  # the burst then shows what the replicator does: the outcome reports the count
        for payload in payloads:
            producer.send_async(payload, None)
        producer.flush()
        producer.close()
        got = collect(consumer, payloads, timeout_s=window_s)
    finally:
        unsubscribe_or_close(consumer)
    return Burst(messages, len({r.data for r in got} & set(payloads)), window_s)


def stays_local(lab: Lab, topic: str, source: str, target: str, window_s: float = 5.0) -> Outcome:
    """Produce a message on `topic` in `source`; passed when `target`, subscribed first, saw nothing
    of it for the whole window."""
    payload = f"geolab-check local {uuid.uuid4().hex[:8]}".encode()
    expected = _("a message produced on {topic} in {source} is not in {target} after {window_s:g} s").format(
        topic=topic.rsplit("/", 1)[-1], source=source, target=target, window_s=window_s)
    consumer = lab.client(target).subscribe(topic, f"geolab-check-{uuid.uuid4().hex[:6]}")
    try:
        producer = lab.client(source).create_producer(topic)
        producer.send(payload)
        producer.close()
        got = collect(consumer, [payload], timeout_s=window_s)
    finally:
        unsubscribe_or_close(consumer)
    arrived = any(r.data == payload for r in got)
    return Outcome(not arrived, expected, _("it arrived in {target}").format(target=target) if arrived
                   else _("{target} received nothing of it in {window_s:g} s").format(target=target, window_s=window_s))


def count_marked(lab: Lab, cluster: str, topic: str, key: str, value: str, quiet_s: float = 3.0) -> int:
    """How many messages of `topic` in `cluster` carry the property `key=value` (a reader from the
    earliest message, until nothing more arrives for `quiet_s`); it acknowledges nothing."""
    reader = lab.client(cluster).create_reader(topic, pulsar.MessageId.earliest)
    found: set[bytes] = set()
    try:
        while True:
            try:
                message = reader.read_next(timeout_millis=int(quiet_s * 1000))
            except pulsar.Timeout:
                return len(found)
            if message.properties().get(key) == value:
                found.add(message.data())
    finally:
        reader.close()


@dataclass(frozen=True)
class Copies:
    """The messages of a topic in one cluster that carry a marker: how many, and how many of them the
    replicator of `source` wrote (Pulsar sets `replicated_from` on those; an application's own copy,
    produced in that cluster, has none)."""

    marked: int
    replicated: int
    source: str


def replicated_copies(lab: Lab, cluster: str, topic: str, key: str, value: str, source: str,
                      at_least: int = 0, timeout_s: float = 30.0, limit: int = 500) -> Copies:
    """The messages of `topic` stored in `cluster` whose property `key` is `value` (read one by one from
    the earliest, as `topics examine-message -i earliest` shows each with its metadata, the topic's
    entries at most, `limit` at most), and how many of them came from `source` by replication: the
    mechanism, not only the effect. (Past the last entry, Pulsar 4.0.8 answers with the last one again:
    the stats-internal count of entries bounds the walk.) With `at_least`, read again until that many
    replicated copies are there or `timeout_s` has passed (replication takes its time to deliver)."""
    def look() -> Copies:
        return _replicated_copies(lab, cluster, topic, key, value, source, limit)

    if not at_least:
        return look()
    try:
        return wait_for(look, what=Text("{cluster} did not hold {count} copies replicated from {source}.",
                                         cluster=cluster, count=at_least, source=source),
                        timeout_s=timeout_s, interval_s=1.0, accept=lambda copies: copies.replicated >= at_least)
    except WaitTimeout:
        return look()


def _replicated_copies(lab: Lab, cluster: str, topic: str, key: str, value: str, source: str,
                       limit: int) -> Copies:
    admin = lab.admin(cluster)
    try:
        entries = admin.get_internal_stats(topic).entries
    except AdminError as exc:
        if exc.status == 404:
            return Copies(0, 0, source)  # no such topic in that cluster: nothing arrived
        raise
    marked = replicated = 0
    for position in range(1, min(entries, limit) + 1):
        message = admin.examine_message(topic, position, initial="earliest")
        if message is None:
            break
        if message.properties.get(key) == value:
            marked += 1
            replicated += message.replicated_from == source
    return Copies(marked, replicated, source)


def replicator_drains(lab: Lab, source: str, target: str, topic: str, timeout_s: float = 60.0) -> Outcome:
    """`source`'s replicator of `topic` to `target` is connected and its backlog is 0 before the deadline."""
    expected = _("{source}'s replicator to {target} connected, with no backlog, within {timeout_s:.0f} s").format(
        source=source, target=target, timeout_s=timeout_s)

    def state() -> tuple[bool, int]:
        found = lab.admin(source).get_topic_stats(topic).replication.get(target)
        return (found.connected, found.replication_backlog) if found is not None else (False, -1)

    try:
        wait_for(state, what=Text("{source}'s replicator to {target} did not connect and drain its backlog.",
                                  source=source, target=target), timeout_s=timeout_s, interval_s=1.0,
                 accept=lambda s: s[0] and s[1] == 0)
    except WaitTimeout:
        connected, backlog = state()
        if backlog < 0:
            return Outcome(False, expected, _("{source} has no replicator to {target} on this topic").format(
                source=source, target=target))
        if connected:
            return Outcome(False, expected, _("connected, backlog {backlog}").format(backlog=backlog))
        return Outcome(False, expected, _("not connected, backlog {backlog}").format(backlog=backlog))
    return Outcome(True, expected, _("connected, backlog {backlog}").format(backlog=0))


def drop_namespace(lab: Lab, cluster: str, namespace: str) -> None:
    """Delete `cluster`'s copy of `namespace` and its topics (an exercise's reset, a check's cleanup).

    Pulsar refuses to delete a namespace that still lists other clusters (HTTP 412, "Cannot delete the
    global namespace ... more than one replication clusters", Pulsar 4.0.8), so its list becomes
    `cluster` alone first; the deletion then waits until its topics have closed their replicators
    (deleting at once raced with that closing and left topics fenced, "Topic is already fenced")."""
    admin = lab.admin(cluster)
    if admin.get_namespace_clusters(namespace) != [cluster]:
        admin.set_namespace_clusters(namespace, [cluster])

    def replicating() -> list[str]:
        return [topic for topic in admin.list_topics(namespace) if admin.get_topic_stats(topic).replication]

    wait_for(replicating, what=Text("The topics of {namespace} in {cluster} did not close their replicators.",
                                    namespace=namespace, cluster=cluster),
             timeout_s=30, interval_s=0.5, tolerate=(AdminError,), accept=lambda left: not left)
    admin.delete_namespace(namespace, force=True)
