"""Probes the checks use: send a fresh message and see where it arrives, before a deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulsar

from checks.engine.model import Outcome
from labs.errors import WaitTimeout
from labs.flows import collect
from labs.lab import Lab
from labs.waiting import wait_for


def delivery(lab: Lab, source: str, target: str, namespace: str, timeout_s: float = 30.0) -> Outcome:
    """Produce one message in `source` on a new topic of `namespace`; passed when `target` receives it."""
    topic = f"persistent://{namespace}/geolab-check-{uuid.uuid4().hex[:8]}"
    payload = f"check {source}->{target}".encode()
    expected = f"a message produced in {source} on {namespace} arrives in {target} within {timeout_s:.0f} s"
    try:
        consumer = lab.client(target).subscribe(topic, "geolab-check")
        producer = lab.client(source).create_producer(topic)
        producer.send(payload)
        producer.close()
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, f"producing or subscribing failed: {type(exc).__name__}: {exc}")
    try:
        got = collect(consumer, [payload], timeout_s=timeout_s)
    finally:
        consumer.unsubscribe()
    arrived = any(r.data == payload for r in got)
    return Outcome(arrived, expected, "it arrived" if arrived else f"nothing arrived in {target}")


def standby_follows(lab: Lab, topic: str, subscription: str, active: str, standby: str,
                    timeout_s: float = 30.0) -> Outcome:
    """Behaviour of a replicated subscription: a probe message produced in `active` reaches `standby`'s
    copy of `subscription`; once it is acknowledged in `active`, `standby`'s copy moves past it too
    (through the replicated-subscription snapshots) before the deadline.

    The probe is the only message it acknowledges (a shared consumer, closed afterwards), so messages
    the learner left unread stay unread; it needs the subscription's backlog in `active` to be empty,
    as it is before the lesson's drill.
    """
    expected = (f"a message acknowledged on {subscription} in {active} is acknowledged on {standby}'s copy too, "
                f"within {timeout_s:.0f} s")

    def backlog(cluster: str) -> int | None:
        found = lab.admin(cluster).get_topic_stats(topic).subscriptions.get(subscription)
        return None if found is None else found.backlog

    before = backlog(active)
    if before is None or backlog(standby) is None:
        return Outcome(False, expected, f"{subscription} is missing in {active if before is None else standby}")
    if before:
        return Outcome(False, expected, f"{subscription} has {before} unread messages in {active}; the probe needs "
                       "an empty backlog (run the check before the drill)")
    payload = f"geolab-check {uuid.uuid4().hex[:8]}".encode()
    try:
        consumer = lab.client(active).subscribe(topic, subscription, consumer_type=pulsar.ConsumerType.Shared,
                                                replicate_subscription_state_enabled=True)
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, f"cannot attach to {subscription} in {active}: {type(exc).__name__}: {exc}")
    try:
        producer = lab.client(active).create_producer(topic, batching_enabled=False)
        producer.send(payload)
        producer.close()
        try:
            wait_for(lambda: backlog(standby), what=f"the probe in {standby}'s copy of {subscription}",
                     timeout_s=timeout_s, accept=lambda n: bool(n))
        except WaitTimeout:
            return Outcome(False, expected, f"the probe never reached {standby}'s {subscription}: is the topic "
                           f"replicated {active} → {standby}?")
        if not any(r.data == payload for r in collect(consumer, [payload], timeout_s=timeout_s)):
            return Outcome(False, expected, f"the probe was not delivered on {subscription} in {active}")
        try:
            wait_for(lambda: backlog(standby), what=f"{standby}'s copy of {subscription} to follow",
                     timeout_s=timeout_s, accept=lambda n: n == 0)
        except WaitTimeout:
            return Outcome(False, expected, f"{standby}'s copy still has {backlog(standby)} unread message(s) "
                           f"after {timeout_s:.0f} s: it does not follow {active}'s")
        return Outcome(True, expected, f"{standby}'s copy followed")
    finally:
        consumer.close()


@dataclass(frozen=True)
class Paced:
    """How a burst of messages produced at once in one cluster arrived in another."""

    sent: int
    arrived: int
    spread_s: float  # first arrival to last

    @property
    def rate_per_s(self) -> float:
        return (self.arrived - 1) / self.spread_s if self.arrived > 1 and self.spread_s > 0 else float("inf")


def replication_pace(lab: Lab, source: str, target: str, namespace: str, messages: int = 30,
                     timeout_s: float = 40.0) -> Paced:
    """Produce `messages` at once (unbatched) on a new topic in `source`; time their arrival in `target`."""
    topic = f"persistent://{namespace}/geolab-check-pace-{uuid.uuid4().hex[:8]}"
    payloads = [f"pace {i}".encode() for i in range(messages)]
    consumer = lab.client(target).subscribe(topic, "geolab-check")
    try:
        producer = lab.client(source).create_producer(topic, batching_enabled=False)
        for payload in payloads:
            producer.send_async(payload, None)
        producer.flush()
        producer.close()
        got = collect(consumer, payloads, timeout_s=timeout_s)
    finally:
        consumer.unsubscribe()
    arrivals = sorted(r.received_at_ms for r in got if r.data in set(payloads))
    spread = (arrivals[-1] - arrivals[0]) / 1000 if arrivals else 0.0
    return Paced(messages, len(arrivals), spread)


def stays_local(lab: Lab, topic: str, source: str, target: str, window_s: float = 5.0) -> Outcome:
    """Produce a message on `topic` in `source`; passed when `target`, subscribed first, saw nothing
    of it for the whole window."""
    payload = f"geolab-check local {uuid.uuid4().hex[:8]}".encode()
    expected = f"a message produced on {topic.rsplit('/', 1)[-1]} in {source} is not in {target} after {window_s:g} s"
    consumer = lab.client(target).subscribe(topic, f"geolab-check-{uuid.uuid4().hex[:6]}")
    try:
        producer = lab.client(source).create_producer(topic)
        producer.send(payload)
        producer.close()
        got = collect(consumer, [payload], timeout_s=window_s)
    finally:
        consumer.unsubscribe()
    arrived = any(r.data == payload for r in got)
    return Outcome(not arrived, expected, f"it arrived in {target}" if arrived
                   else f"{target} received nothing of it in {window_s:g} s")
