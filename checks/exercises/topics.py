"""08_production_topics: partitioned topics, batches, topic-level replication, local and global topic
policies, and the names Pulsar keeps for its replicators."""

from __future__ import annotations

from collections.abc import Callable

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import fresh_topic, stays_local
from labs.errors import AdminError, WaitTimeout
from labs.i18n import N_, Text, _
from labs.lab import Lab
from labs.production import open_producers, partitions, replicate, try_subscribe
from labs.topology import full_mesh
from labs.waiting import wait_for

NOTEBOOK = "08_production_topics"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "topics")
SOURCE, TARGET = "beijing", "shanghai"


def _regional(lab: Lab) -> str:
    """The lesson's namespace local to each region, in the lab's tenant (`geolab/regional` in a private
    lab; labs.production.regional_namespace makes it)."""
    return f"{lab.topology.tenant}/regional"


def _payments(lab: Lab) -> str:
    return f"persistent://{_regional(lab)}/payments"


# ------------------------------------------------------------------------------ 08-topics/1

FOLLOWS = N_("a partitioned topic with 4 partitions, within seconds")
ON_FIRST_MESSAGE = N_("nothing until beijing sends; then a topic without partitions")
CREATE_EACH = N_("nothing: a partitioned topic must be created in each cluster")


def partitions_follow(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "parts")
    lab.admin(SOURCE).create_partitioned_topic(topic, 4)
    seen = partitions(lab, topic, watch_s=15)
    if seen.counts[TARGET] == 4:
        return FOLLOWS, _("shanghai's metadata gave the new topic 4 partitions after {watched} s").format(
            watched=f"{seen.watched_s:g}")
    if seen.counts[TARGET]:
        return None, _("shanghai's metadata gives it {count} partitions").format(count=seen.counts[TARGET])
    arrived = delivery_to(lab, topic)
    if arrived:
        return ON_FIRST_MESSAGE, _("shanghai had no partitioned topic for 15 s; a message sent then created one "
                                   "there")
    return CREATE_EACH, _("shanghai had no partitioned topic for 15 s, and a message sent then did not arrive")


def delivery_to(lab: Lab, topic: str, window_s: float = 15.0) -> bool:
    """A message produced on `topic` in beijing is received in shanghai within `window_s` (a fresh
    subscription each time)."""
    return replicate(lab, SOURCE, TARGET, topic, messages=1, window_s=window_s).received == 1


# ------------------------------------------------------------------------------ 08-topics/2

WHOLE = N_("100 messages, stored in 10 entries: each batch crosses whole")
SPLIT = N_("100 messages, stored in 100 entries: the replicator sends them one by one")
AS_BATCHES = N_("10 messages: shanghai's consumer gets each batch as one message")


def batches_cross(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "batches")
    seen = replicate(lab, SOURCE, TARGET, topic, messages=100, batch_size=10)
    stored = seen.entries[TARGET]
    said = _("shanghai's consumer received {received} messages; shanghai stored {stored} entries").format(
        received=seen.received, stored=stored)
    if seen.received == 100 and stored == 10:
        return WHOLE, said
    if seen.received == 100 and stored == 100:
        return SPLIT, said
    if seen.received == 10:
        return AS_BATCHES, said
    return None, said


# ------------------------------------------------------------------------------ 08-topics/3


def _payments_reach(lab: Lab) -> Outcome:
    arrived = delivery_to(lab, _payments(lab), window_s=20)
    return Outcome(arrived, _("a payment produced in beijing arrives in shanghai within 20 s"),
                   _("it arrived") if arrived else _("nothing arrived in shanghai in 20 s"))


def _once_payments_replicate(stays: Callable[[Lab], Outcome]) -> Callable[[Lab], Outcome]:
    """Credit for what stays in beijing only once payments replicate (beijing's payments topic has a
    replicator to shanghai): an untouched lab keeps everything in beijing, and earns nothing for it."""

    def check(lab: Lab) -> Outcome:
        try:
            replicators = lab.admin(SOURCE).get_topic_stats(_payments(lab)).replication
        except AdminError as exc:
            replicators = {}
            if exc.status != 404:
                raise
        if TARGET not in replicators:
            return Outcome(False, _("payments replicate to shanghai, and this stays in beijing"),
                           _("beijing does not replicate payments to shanghai yet"))
        return stays(lab)

    return check


def _inventory_stays(lab: Lab) -> Outcome:
    return stays_local(lab, f"persistent://{_regional(lab)}/inventory", SOURCE, TARGET, window_s=10)


def _other_topics_stay(lab: Lab) -> Outcome:
    """A topic of the namespace that nobody named, created now, stays in beijing: the namespace itself
    still does not replicate."""
    return stays_local(lab, fresh_topic(_regional(lab)), SOURCE, TARGET, window_s=10)


def reset_payments(lab: Lab) -> None:
    for cluster in lab.clusters:
        try:
            lab.admin(cluster).remove_topic_replication_clusters(_payments(lab))
        except AdminError:
            pass  # no such topic in that cluster: nothing to reset there


# ------------------------------------------------------------------------------ 08-topics/4

REFUSED = N_("refused: the global policy holds in shanghai too")
ACCEPTED = N_("accepted: a topic policy stays in the cluster that set it")


def global_policy_applies(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "policy")
    lab.admin(SOURCE).create_topic(topic)
    lab.admin(SOURCE).set_max_producers(topic, 1, is_global=True)
    watch_s = 15.0
    shown = _global_policy_seen(lab, topic, watch_s)
    seen = open_producers(lab, TARGET, topic)
    if seen.accepted == 0:
        return None, _("shanghai refused even the first producer: {answer}").format(answer=seen.opened[0].answer)
    if shown is None:
        said = _("shanghai reported no global max-producers policy in {watch} s; shanghai accepted {accepted} of 2 "
                 "producers").format(watch=f"{watch_s:g}", accepted=seen.accepted)
    else:
        said = _("shanghai reported the global max-producers policy {found}; shanghai accepted {accepted} of 2 "
                 "producers").format(found=shown, accepted=seen.accepted)
    return (REFUSED if seen.accepted == 1 else ACCEPTED), said


def _global_policy_seen(lab: Lab, topic: str, watch_s: float) -> int | None:
    """Watch up to `watch_s` for shanghai to report the global policy; the limit it reported (None: none)."""
    def reported() -> int | None:
        try:
            return lab.admin(TARGET).get_max_producers(topic, is_global=True)
        except AdminError:
            return None

    try:
        return wait_for(reported, what=Text("shanghai did not report the global max-producers policy of {topic}.",
                                            topic=topic),
                        timeout_s=watch_s, interval_s=0.5, accept=lambda value: value is not None)
    except WaitTimeout:
        return None


# ------------------------------------------------------------------------------ 08-topics/5

RESERVED = N_("refused: names starting with pulsar.repl belong to replicators")
ANY_NAME = N_("accepted, like any other name")
TAKEN_OVER = N_("accepted in beijing, refused in shanghai where beijing's replicator writes")


def reserved_name(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "names")
    in_source = try_subscribe(lab, SOURCE, topic, "pulsar.repl.audit").opened[0]
    if not in_source.accepted:
        return RESERVED, _("beijing refused the subscription pulsar.repl.audit ({answer})").format(
            answer=in_source.answer)
    in_target = try_subscribe(lab, TARGET, topic, "pulsar.repl.audit").opened[0]
    if in_target.accepted:
        return ANY_NAME, _("both clusters accepted the subscription pulsar.repl.audit")
    return TAKEN_OVER, _("beijing accepted it; shanghai refused it ({answer})").format(answer=in_target.answer)


REFUSED_TOO = N_("refused: the name is reserved, as for subscriptions")
LISTED = N_("accepted, and listed among the publishers like any other")
HIDDEN = N_("accepted, and left out of the publishers, as the replicators are")


def replicator_named_producer(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "producer")
    seen = open_producers(lab, SOURCE, topic, names=("app", "pulsar.repl.tool"))
    tool = next(o for o in seen.opened if o.name == "pulsar.repl.tool")
    if not tool.accepted:
        return REFUSED_TOO, _("beijing refused the producer pulsar.repl.tool ({answer})").format(answer=tool.answer)
    said = (_("beijing accepted it; its topic stats listed as publishers: {publishers}").format(
                publishers=", ".join(seen.listed)) if seen.listed
            else _("beijing accepted it; its topic stats listed as publishers: none"))
    if "app" not in seen.listed:
        return None, said
    return (LISTED if "pulsar.repl.tool" in seen.listed else HIDDEN), said


EXERCISES = [
    predict_exercise(
        "08-topics/1", NOTEBOOK, N_("predict: a partitioned topic in one region"),
        Question(N_("What does shanghai have?"), (FOLLOWS, ON_FIRST_MESSAGE, CREATE_EACH), partitions_follow),
        N_("Replication sends messages, but a partitioned topic is also metadata: which store holds it here, and "
           "what does a broker do for a replicated namespace when you create one?"),
        statement=N_("The two clusters of this lab keep **independent** configuration stores: each has its own "
                     "copy of every tenant, namespace and partitioned topic's metadata. The lab's namespace "
                     "(`lab.namespace`, `geolab/geo` in a private lab) replicates both ways. You create `orders` in "
                     "**beijing** as a partitioned topic with 4 partitions, and send nothing yet. What does shanghai "
                     "have? Record your prediction with `predict(...)` *before* the experiment below; the check runs "
                     "it again on a fresh topic and grades your first prediction.")),
    predict_exercise(
        "08-topics/2", NOTEBOOK, N_("predict: batches across regions"),
        Question(N_("What does shanghai get, and store?"), (WHOLE, SPLIT, AS_BATCHES), batches_cross),
        N_("A broker stores what a producer sends as entries of a ledger: one batch, one entry. What does a "
           "replicator read from that ledger, and what does it send?"),
        statement=N_("beijing's producer batches: it sends 100 orders in batches of 10. A consumer in shanghai "
                     "reads them. How many messages does it receive, and how many entries does shanghai's ledger "
                     "hold for them? Record your prediction first; the check runs the experiment on a fresh topic.")),
    Exercise("08-topics/3", NOTEBOOK, N_("design: one topic leaves the region"),
             (Case(N_("a payment produced in beijing arrives in shanghai"), _payments_reach, points=2),
              Case(N_("inventory produced in beijing stays in beijing"), _once_payments_replicate(_inventory_stays)),
              Case(N_("a new topic of regional stays in beijing"), _once_payments_replicate(_other_topics_stay),
                   hidden=True)),
             N_("The namespace decides for all its topics; a topic can decide for itself. Which clusters must "
                "the policy name, and in which cluster do you set it?"),
             reset_payments,
             statement=N_("The namespace `regional` (`geolab/regional` in a private lab) is local to each region: "
                          "beijing's copy of its policy lists only beijing, shanghai's only shanghai. Requirement: "
                          "**payments** produced in beijing must reach shanghai; **inventory**, and every other topic "
                          "of the namespace, stays in beijing. Do not change the namespace. The check sends a payment "
                          "and watches shanghai for it, sends inventory and watches shanghai for 10 s to see nothing "
                          "arrive; the grade also checks a topic created later."),
             stub=N_("# payments must reach shanghai; everything else in regional stays where it is\n"),
             givens={"regional": "regional_namespace(lab)"}),
    predict_exercise(
        "08-topics/4", NOTEBOOK, N_("predict: a global topic policy"),
        Question(N_("What happens to shanghai's second producer?"), (REFUSED, ACCEPTED), global_policy_applies),
        N_("Topic policies live in a system topic of the namespace, `__change_events`. Which of them does a "
           "replicated namespace replicate?"),
        statement=N_("In **beijing** you limit the topic `ledger` to one producer with a **global** topic policy: "
                     "`lab.admin(\"beijing\").set_max_producers(ledger, 1, is_global=True)`. Then shanghai's "
                     "application opens two producers on `ledger` in **shanghai**. What happens to the second? "
                     "Record your prediction first; the check runs the experiment on a fresh topic.")),
    predict_exercise(
        "08-topics/5", NOTEBOOK, N_("predict: a subscription named like a replicator"),
        Question(N_("What happens to the subscription pulsar.repl.audit?"), (RESERVED, ANY_NAME, TAKEN_OVER),
                 reserved_name),
        N_("Look at the cursors of a replicated topic's internal stats in lesson 07: what is a replicator's "
           "cursor called?"),
        statement=N_("An audit team names its subscription `pulsar.repl.audit` on a topic of the lab's namespace "
                     "(`lab.namespace`, `geolab/geo` in a private lab) in beijing. What happens? Record your "
                     "prediction first; the check runs the experiment.")),
    predict_exercise(
        "08-topics/6", NOTEBOOK, N_("predict: a producer named like a replicator"),
        Question(N_("What happens to the producer pulsar.repl.tool?"), (REFUSED_TOO, LISTED, HIDDEN),
                 replicator_named_producer),
        N_("How would a broker tell a replicator's producer from an application's? It has only the name to go by."),
        statement=N_("A monitoring tool in beijing opens its producer with the name `pulsar.repl.tool`, next to "
                     "an application's producer named `app`. What happens to it, and what do the topic's stats "
                     "list as publishers? Record your prediction first; the check runs the experiment.")),
]
