"""02_full_mesh: a namespace created once; predict where a message for one cluster is stored; a
message for shanghai only."""

from __future__ import annotations

from functools import partial

import pulsar

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import delivery, drop_namespace, fresh_topic
from labs.admin import ExaminedMessage
from labs.client import unsubscribe_or_close
from labs.errors import AdminError, WaitTimeout
from labs.flows import collect
from labs.i18n import N_, Text, _
from labs.lab import Lab
from labs.topology import full_mesh as mesh
from labs.waiting import wait_for

NOTEBOOK = "02_full_mesh"
LAB = LabSpec(mesh("beijing", "shanghai", "guangzhou"), "full-mesh")
CLUSTERS = ("beijing", "shanghai", "guangzhou")
PAYMENTS = "geolab/payments"
SELECTIVE = b"for shanghai"
SEARCH_DEPTH = 50


def payments_everywhere(lab: Lab) -> Outcome:
    expected = _("namespace {namespace} listed by every cluster").format(namespace=PAYMENTS)
    seen = {c: PAYMENTS in lab.admin(c).list_namespaces("geolab") for c in CLUSTERS}
    listing = [c for c, ok in seen.items() if ok]
    return Outcome(all(seen.values()), expected, _("listed by {clusters}").format(clusters=listing) if listing
                   else _("listed by none"))


def payments_replicated(lab: Lab) -> Outcome:
    expected = _("{namespace} replicates to {clusters}").format(namespace=PAYMENTS, clusters=sorted(CLUSTERS))
    try:
        clusters = lab.admin("beijing").get_namespace_clusters(PAYMENTS)
    except AdminError as exc:
        return Outcome(False, expected, _("no namespace {namespace} (HTTP {status})").format(
            namespace=PAYMENTS, status=exc.status))
    return Outcome(sorted(clusters) == sorted(CLUSTERS), expected,
                   _("replicates to {clusters}").format(clusters=clusters))


def payments_flow_everywhere(lab: Lab) -> Outcome:
    """Behaviour of a full mesh: a message produced in each cluster on a new topic of geolab/payments
    arrives in each of the other two. A namespace created a moment ago reaches another broker's cache
    a moment later, so each delivery is tried again, until 30 s after the first try."""
    expected = _("a message produced in each cluster on {namespace} arrives in the other two").format(
        namespace=PAYMENTS)
    if PAYMENTS not in lab.admin("guangzhou").list_namespaces("geolab"):
        return Outcome(False, expected, _("guangzhou has no namespace {namespace}").format(namespace=PAYMENTS))
    missing = []
    for source in CLUSTERS:
        for target in CLUSTERS:
            if source == target:
                continue
            try:
                wait_for(partial(delivery, lab, source, target, PAYMENTS, timeout_s=10), timeout_s=30,
                         what=Text("A message produced in {source} did not arrive in {target}.", source=source,
                                   target=target), accept=lambda outcome: outcome.passed)
            except WaitTimeout:
                missing.append(f"{source} → {target}")
    return Outcome(not missing, expected, _("not delivered: {missing}").format(missing=", ".join(missing)) if missing
                   else _("all 6 deliveries arrived"))


def last_selective(lab: Lab, cluster: str = "beijing") -> ExaminedMessage | None:
    """The latest b'for shanghai' message stored in `cluster`'s greetings topic."""
    topic = lab.topic("greetings")
    for position in range(1, SEARCH_DEPTH + 1):
        message = lab.admin(cluster).examine_message(topic, position)
        if message is None:
            return None
        if message.payload == SELECTIVE:
            return message
    return None


def limited_to_shanghai(lab: Lab) -> Outcome:
    expected = _("the latest 'for shanghai' message sent from beijing with replication_clusters "
                 "[beijing, shanghai]")
    message = last_selective(lab)
    if message is None:
        return Outcome(False, expected, _("no 'for shanghai' message in beijing's greetings topic"))
    targets = message.replicated_to
    ok = bool(targets) and "guangzhou" not in targets and "shanghai" in targets
    return Outcome(ok, expected, _("replication_clusters {clusters}").format(clusters=list(targets)) if targets
                   else _("replication_clusters not set (all clusters)"))


def held_by(lab: Lab, cluster: str, window_s: float) -> list[bytes]:
    """What `cluster` holds of the greetings topic, read from the start until a 'for shanghai' message
    shows up or the window ends."""
    reader = lab.client(cluster).create_reader(lab.topic("greetings"), pulsar.MessageId.earliest)
    payloads: list[bytes] = []

    def read_one() -> bool:
        payloads.append(reader.read_next(timeout_millis=500).data())
        return SELECTIVE in payloads

    try:
        wait_for(read_one, what=Text("No 'for shanghai' message showed up in {cluster}.", cluster=cluster),
                 timeout_s=window_s, interval_s=0,
                 tolerate=(pulsar.Timeout,))
    except WaitTimeout:
        pass  # what the cluster holds after the whole window is the outcome
    finally:
        reader.close()
    return payloads


def _holding(cluster: str, payloads: list[bytes]) -> str:
    if SELECTIVE in payloads:
        return _("{cluster} holds {count} messages, including 'for shanghai'").format(cluster=cluster,
                                                                                      count=len(payloads))
    return _("{cluster} holds {count} messages, none of them 'for shanghai'").format(cluster=cluster,
                                                                                     count=len(payloads))


def arrived_in_shanghai(lab: Lab, timeout_s: float = 15.0) -> Outcome:
    """Credited once the message was narrowed (the stub as given already reaches shanghai, and every
    other cluster with it: that earns nothing), and only for a copy that beijing's replicator wrote: a
    'for shanghai' message produced in shanghai itself is not replication."""
    expected = _("shanghai holds the 'for shanghai' message that leaves out guangzhou")
    if not limited_to_shanghai(lab).passed:
        return Outcome(False, expected, _("the latest 'for shanghai' message does not leave out guangzhou yet"))
    payloads = held_by(lab, "shanghai", timeout_s)
    if SELECTIVE not in payloads:
        return Outcome(False, expected, _holding("shanghai", payloads))
    copy = last_selective(lab, "shanghai")
    source = copy.replicated_from if copy is not None else None
    if source != "beijing":
        return Outcome(False, expected, _("shanghai's latest 'for shanghai' message was not replicated from beijing "
                                          "(replicated from: {source})").format(source=source or _("none")))
    return Outcome(True, expected, _holding("shanghai", payloads))


def reset_payments(lab: Lab) -> None:
    if PAYMENTS in lab.admin("beijing").list_namespaces("geolab"):
        drop_namespace(lab, "beijing", PAYMENTS)  # one copy: the store is shared


ONLY_BEIJING = N_("beijing only")
ORIGIN_AND_BEIJING = N_("guangzhou and beijing")
ALL_THREE = N_("all three clusters")
WATCH_S = 10.0


def where_a_narrowed_message_lands(lab: Lab) -> tuple[str | None, str]:
    """On a fresh topic: a consumer in every cluster first, then one message from guangzhou with
    `replication_clusters=["beijing"]`, watched for `WATCH_S`."""
    topic = fresh_topic(lab.namespace, "narrow")
    payload = b"from guangzhou, for beijing"
    consumers = {c: lab.client(c).subscribe(topic, "geolab-check") for c in CLUSTERS}
    try:
        producer = lab.client("guangzhou").create_producer(topic)
        producer.send(payload, replication_clusters=["beijing"])
        producer.close()
        landed = {c for c, consumer in consumers.items()
                  if any(r.data == payload for r in collect(consumer, [payload], timeout_s=WATCH_S))}
    finally:
        for consumer in consumers.values():
            unsubscribe_or_close(consumer)
    seen = (_("received in {clusters} (each watched up to {watch_s:g} s)").format(clusters=sorted(landed),
                                                                                   watch_s=WATCH_S) if landed
            else _("received in no cluster (each watched up to {watch_s:g} s)").format(watch_s=WATCH_S))
    answers = {frozenset({"beijing"}): ONLY_BEIJING, frozenset({"guangzhou", "beijing"}): ORIGIN_AND_BEIJING,
               frozenset(CLUSTERS): ALL_THREE}
    return answers.get(frozenset(landed)), seen


QUESTION = Question(N_("Where can a message for beijing, sent from guangzhou, be consumed?"),
                    (ONLY_BEIJING, ORIGIN_AND_BEIJING, ALL_THREE), where_a_narrowed_message_lands)


EXERCISES = [
    Exercise("02-mesh/1", NOTEBOOK, N_("create a namespace once, see it everywhere"),
             (Case(N_("visible on every cluster"), payments_everywhere),
              Case(N_("replicated to all three"), payments_replicated),
              Case(N_("a message from each cluster arrives in the other two"), payments_flow_everywhere, points=2)),
             N_("Like `pulsar-admin namespaces create geolab/payments --clusters beijing,shanghai,guangzhou`; the "
                "clusters are `lab.clusters`."),
             reset_payments,
             statement=N_("Through **guangzhou only**, create the namespace `geolab/payments` replicating to all "
                          "three clusters. Then run the next cell: it lists the namespaces as each cluster sees "
                          "them. The check also sends a message from each cluster and watches the other two "
                          "receive it."),
             stub=N_("# through guangzhou's admin only: geolab/payments, replicating to all three clusters\n")),
    Exercise("02-mesh/3", NOTEBOOK, N_("a message for shanghai only"),
             (Case(N_("sent with replication_clusters that leave out guangzhou"), limited_to_shanghai),
              Case(N_("arrived in shanghai"), arrived_in_shanghai)),
             N_("A message can carry its own list of clusters, narrower than the namespace's. The cluster it is "
                "sent from may stay out of that list: a message is always stored where it was produced."),
             statement=N_("Send `b\"for shanghai\"` from beijing on `topic` so that it reaches shanghai but "
                          "**not** guangzhou. `producer` is beijing's producer from the cell above. The following "
                          "cells send a normal message after it and show what each cluster received."),
             stub=N_("producer.send(b\"for shanghai\")  # ... and only as far as shanghai\n"),
             givens={"topic": 'lab.topic("greetings")', "producer": 'lab.client("beijing").create_producer(topic)'}),
    predict_exercise(
        "02-mesh/2", NOTEBOOK, N_("predict: a message for beijing, sent from guangzhou"), QUESTION,
        N_("Where does a producer's broker store a message before any replicator reads it?"),
        statement=N_("A producer in **guangzhou** sends one message with `replication_clusters=[\"beijing\"]`. "
                     "Consumers in all three clusters were subscribed before it was sent. Which of them receive "
                     "it? Record your prediction; the check then sends exactly that message and watches every "
                     "cluster.")),
]
