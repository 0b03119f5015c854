"""05_operations: throttle the replicator; a local-only topic."""

from __future__ import annotations

import uuid

import pulsar

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import delivery, fresh_topic, replication_burst, stays_local
from labs.client import unsubscribe_or_close
from labs.errors import AdminError
from labs.flows import collect
from labs.i18n import N_, _
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "05_operations"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "operations")
BURST, BURST_WINDOW_S, HELD_BACK = 30, 3.0, 20


WAIT_AND_DRAIN = N_("sends succeed; the messages wait in beijing and reach shanghai after the heal")
SENDS_FAIL = N_("sends fail until the link is healed")
LOST = N_("sends succeed, and the messages sent during the cut never reach shanghai")
CUT_MESSAGES, CUT_WATCH_S, DRAIN_S = 10, 5.0, 60.0


def during_a_cut(lab: Lab) -> tuple[str | None, str]:
    """The experiment behind 05-ops/1, on a fresh topic: a consumer in shanghai, a producer in beijing,
    the link cut; 10 sends, a 5 s watch in shanghai and beijing's replication backlog; then the heal,
    and up to 60 s for the 10 to arrive."""
    topic = fresh_topic(lab.namespace, "cut")
    consumer = lab.client("shanghai").subscribe(topic, "geolab-check")
    producer = lab.client("beijing").create_producer(topic, send_timeout_millis=5000, batching_enabled=False)
    try:
        warm = f"warm-up {uuid.uuid4().hex[:6]}".encode()
        producer.send(warm)  # the replicator exists and delivers before the cut
        if not any(r.data == warm for r in collect(consumer, [warm], timeout_s=30)):
            return None, _("a message from beijing did not reach shanghai before the cut; run the check with both up")
        payloads = [f"during the cut {i}".encode() for i in range(CUT_MESSAGES)]
        lab.cut_link("beijing", "shanghai")
        try:
            failed = 0
            for payload in payloads:
                try:
                    producer.send(payload)
                except pulsar.PulsarException:
                    failed += 1
            during = {r.data for r in collect(consumer, payloads, timeout_s=CUT_WATCH_S)} & set(payloads)
            replicator = lab.admin("beijing").get_topic_stats(topic).replication.get("shanghai")
            waiting = replicator.replication_backlog if replicator is not None else 0
        finally:
            lab.heal_link("beijing", "shanghai")
        if failed == len(payloads):
            return SENDS_FAIL, _("all {failed} sends in beijing failed during the cut").format(failed=failed)
        if during:
            return None, _("{arrived} arrived in shanghai during the cut: was the link cut?").format(
                arrived=len(during))
        after = {r.data for r in collect(consumer, payloads, timeout_s=DRAIN_S)} & set(payloads)
        sent, total, watched = len(payloads) - failed, len(payloads), f"{CUT_WATCH_S:g}"
        if len(after) == sent:
            return WAIT_AND_DRAIN, _("{sent} of {total} sends succeeded during the cut; shanghai's reader watched "
                                     "{watched} s and got none; {waiting} waited in beijing's replication backlog; "
                                     "all arrived in shanghai after the heal").format(
                sent=sent, total=total, watched=watched, waiting=waiting)
        return LOST, _("{sent} of {total} sends succeeded during the cut; shanghai's reader watched {watched} s and "
                       "got none; {waiting} waited in beijing's replication backlog; {after} arrived within {drain} s "
                       "of the heal").format(sent=sent, total=total, watched=watched, waiting=waiting,
                                             after=len(after), drain=f"{DRAIN_S:g}")
    finally:
        producer.close()
        unsubscribe_or_close(consumer)


def throttled(lab: Lab) -> Outcome:
    rate = lab.admin("beijing").get_replicator_dispatch_rate(lab.namespace) or {}
    value = rate.get("dispatchThrottlingRateInMsg")
    return Outcome(value == 5, _("beijing's replicator dispatch rate is 5 msg/s"),
                   _("rate: {value}").format(value=value) if rate else _("rate: not set"))


def held_back(lab: Lab) -> Outcome:
    """Behaviour: a burst produced at once in beijing is held back on its way to shanghai.

    At 5 messages a second, at most about 20 of 30 can arrive within 3 s; unthrottled, all 30 arrive
    in well under a second (47 ms measured). On Pulsar 4.0.8 a throttled replicator sends its first
    second's permits and then stalls (5 of 30 arrived in 40 s at 5/s, 2 of 30 at 2/s;
    apache/pulsar#26005), so this checks that the burst is held back, not that it drains at 5 a second.
    The lesson then shows the stall and lifts the cap, so the exercise is graded at check time.
    """
    burst = replication_burst(lab, "beijing", "shanghai", lab.namespace, messages=BURST, window_s=BURST_WINDOW_S)
    expected = _("of {burst} messages produced at once in beijing, shanghai receives some but at most {held_back} "
                 "within {window} s").format(burst=BURST, held_back=HELD_BACK, window=f"{BURST_WINDOW_S:g}")
    return Outcome(1 <= burst.arrived <= HELD_BACK, expected,
                   _("{arrived} of {sent} arrived within {window} s").format(
                       arrived=burst.arrived, sent=burst.sent, window=f"{burst.window_s:g}"))


def local_only(lab: Lab) -> Outcome:
    topic = lab.topic("audit")
    try:
        clusters = lab.admin("beijing").get_topic_replication_clusters(topic, applied=False)
    except AdminError as exc:
        return Outcome(False, _("topic audit replicates to [beijing] only"),
                       _("no topic policy (HTTP {status})").format(status=exc.status))
    return Outcome(clusters == ["beijing"], _("topic audit replicates to [beijing] only"),
                   _("topic policy: {clusters}").format(clusters=clusters))


def kept_local(lab: Lab) -> Outcome:
    """Behaviour: a message on audit stays in beijing, while the namespace's other topics still reach
    shanghai (with the link cut, or shanghai down, nothing would arrive either: that earns nothing)."""
    control = delivery(lab, "beijing", "shanghai", lab.namespace, timeout_s=20)
    if not control.passed:
        return Outcome(False, _("a message on audit stays in beijing, while the namespace's other topics reach "
                                "shanghai"),
                       _("a message on another topic of the namespace did not reach shanghai either ({seen}): the "
                         "link or shanghai is down, so staying away shows nothing").format(seen=control.actual))
    return stays_local(lab, lab.topic("audit"), "beijing", "shanghai")


def reset_throttle(lab: Lab) -> None:
    lab.admin("beijing").remove_replicator_dispatch_rate(lab.namespace)


def reset_local(lab: Lab) -> None:
    try:
        lab.admin("beijing").remove_topic_replication_clusters(lab.topic("audit"))
    except AdminError as exc:
        if exc.status != 404:  # no topic yet: already the starting state
            raise


EXERCISES = [
    predict_exercise(
        "05-ops/1", NOTEBOOK, N_("predict: a producer while the link is cut"),
        Question(N_("What does beijing's producer see, and what reaches shanghai?"),
                 (WAIT_AND_DRAIN, SENDS_FAIL, LOST), during_a_cut),
        N_("Who confirms a send: the cluster the producer talks to, or the remote one? And what does the replicator "
           "read from, once it can connect again?"),
        statement=N_("In a moment you cut the network between beijing and shanghai while an application produces "
                     "in beijing. What does that application's producer see while the link is cut, and what "
                     "becomes of its messages? Record your prediction first; the check then runs the experiment on "
                     "a fresh topic (it cuts the link, sends 10 messages, watches shanghai for 5 s, heals the link "
                     "and waits up to 60 s).")),
    Exercise("05-ops/2", NOTEBOOK, N_("cap replication at 5 messages a second"),
             (Case(N_("dispatch rate 5 msg/s"), throttled), Case(N_("a burst to shanghai is held back"), held_back)),
             N_("Like `pulsar-admin namespaces set-replicator-dispatch-rate <namespace> --msg-dispatch-rate 5`."),
             reset_throttle,
             statement=N_("Set the replicator dispatch rate of the lab's namespace (`lab.namespace`, `geolab/geo` in a "
                          "private lab) on **beijing** to 5 messages per second. The check sends a burst of 30 "
                          "messages from beijing and counts what reaches shanghai within 3 s."),
             stub=N_("# on beijing: replicate lab.namespace at no more than 5 messages a second\n"),
             graded_at="check"),
    Exercise("05-ops/3", NOTEBOOK, N_("a local-only topic"),
             (Case(N_("topic policy lists beijing only"), local_only),
              Case(N_("a message on audit stays in beijing"), kept_local)),
             N_("A topic-level policy: `pulsar-admin topics set-replication-clusters`; the local cluster must stay in "
                "the list."),
             reset_local,
             statement=N_("Set the replication clusters of the topic `audit` to beijing only."),
             stub=N_("# on beijing: the topic audit stays in beijing\n"),
             givens={"audit": 'lab.topic("audit")'}),
]
