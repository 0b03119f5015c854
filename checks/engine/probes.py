"""Probes the checks use: send a fresh message and see where it arrives, before a deadline."""

from __future__ import annotations

import uuid

import pulsar

from checks.engine.model import Outcome
from labs.flows import collect
from labs.lab import Lab


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
