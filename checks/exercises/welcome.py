"""00_welcome: how checks work, on a predict-then-observe exercise about where a new subscription starts."""

from __future__ import annotations

from checks.engine.model import LabSpec, Question, predict_exercise
from checks.engine.probes import fresh_topic
from labs.client import unsubscribe_or_close
from labs.flows import collect
from labs.lab import Lab
from labs.topology import single

NOTEBOOK = "00_welcome"
LAB = LabSpec(single("beijing"), "welcome")
GETS_IT = "yes: a new subscription starts at the earliest message"
MISSES_IT = "no: a new subscription starts after the latest message"
WINDOW_S = 5.0


def new_subscription_sees_old_message(lab: Lab) -> tuple[str | None, str]:
    """On a fresh topic: one message sent, then a new subscription with the client's defaults, watched
    for `WINDOW_S`."""
    topic = fresh_topic(lab.namespace, "welcome")
    producer = lab.client("beijing").create_producer(topic)
    producer.send(b"sent before anyone subscribed")
    producer.close()
    consumer = lab.client("beijing").subscribe(topic, "geolab-check")
    try:
        got = collect(consumer, [b"sent before anyone subscribed"], timeout_s=WINDOW_S)
    finally:
        unsubscribe_or_close(consumer)
    if got:
        return GETS_IT, f"a new subscription received the message sent before it ({len(got)} message)"
    return MISSES_IT, f"a new subscription received nothing in {WINDOW_S:g} s of a message sent before it"


QUESTION = Question("Does a new subscription get a message sent before it existed?", (GETS_IT, MISSES_IT),
                    new_subscription_sees_old_message)

EXERCISES = [
    predict_exercise(
        "00-welcome/1", NOTEBOOK, "predict: does a new subscription see the past?", QUESTION,
        "Look at the subscribe call above: it had to say where to start. What would it have done without "
        "that argument?",
        statement="The subscription `welcome` above was told to start at the earliest message. Suppose a new "
                  "subscription is made *without* `initial_position`, after a message was sent. Does it "
                  "receive that message? Record your prediction with `predict(...)`; then `check(...)` runs "
                  "the experiment on your cluster, grades your first prediction and shows what it saw."),
]
