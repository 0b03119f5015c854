"""Producing and consuming on lab clusters: send a batch, collect what arrives before a deadline.

Owns only pulsar-client calls; never provisions. Views and checks build on these.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import pulsar


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
    deadline = time.monotonic() + timeout_s
    got: list[Received] = []
    while True:
        if wanted is not None and wanted.issubset({r.data for r in got}):
            return got
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            return got
        try:
            message = consumer.receive(timeout_millis=min(remaining_ms, 1000))
        except pulsar.Timeout:
            continue
        got.append(Received(message.data(), dict(message.properties()), message.publish_timestamp(),
                            int(time.time() * 1000)))
        if acknowledge:
            consumer.acknowledge(message)
