"""00_welcome: how checks work, on a predict-then-observe exercise about where a new subscription starts."""

from __future__ import annotations

from checks.engine.model import LabSpec, Question, predict_exercise
from checks.engine.probes import fresh_topic
from labs.client import unsubscribe_or_close
from labs.flows import collect
from labs.i18n import N_, _
from labs.lab import Lab
from labs.topology import single

NOTEBOOK = "00_welcome"
LAB = LabSpec(single("beijing"), "welcome")
GETS_IT = N_("yes: a new subscription starts at the earliest message")
MISSES_IT = N_("no: a new subscription starts after the latest message")
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
        return GETS_IT, _("a new subscription received the message sent before it ({count} message)").format(
            count=len(got))
    return MISSES_IT, _("a new subscription received nothing in {window_s:g} s of a message sent before it").format(
        window_s=WINDOW_S)


QUESTION = Question(N_("Does a new subscription get a message sent before it existed?"), (GETS_IT, MISSES_IT),
                    new_subscription_sees_old_message)

EXERCISES = [
    predict_exercise(
        "00-welcome/1", NOTEBOOK, N_("predict: does a new subscription see the past?"), QUESTION,
        N_("Look at the subscribe call above: it had to say where to start. What would it have done without "
           "that argument?"),
        statement=N_("The subscription `welcome` above was told to start at the earliest message. Suppose a new "
                     "subscription is made *without* `initial_position`, after a message was sent. Does it "
                     "receive that message? Record your prediction with `predict(...)`; then `check(...)` runs "
                     "the experiment (on your cluster here; in a graded run or a workshop, on the grader's "
                     "own), grades your first prediction and shows what it saw.")),
]
