"""05_operations: throttle the replicator; a local-only topic."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import replication_burst, stays_local
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "05_operations"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "operations")
NAMESPACE = "geolab/geo"
BURST, BURST_WINDOW_S, HELD_BACK = 30, 3.0, 20


def throttled(lab: Lab) -> Outcome:
    rate = lab.admin("beijing").get_replicator_dispatch_rate(NAMESPACE) or {}
    value = rate.get("dispatchThrottlingRateInMsg")
    return Outcome(value == 5, "beijing's replicator dispatch rate is 5 msg/s", f"rate: {value if rate else 'not set'}")


def held_back(lab: Lab) -> Outcome:
    """Behaviour: a burst produced at once in beijing is held back on its way to shanghai.

    At 5 messages a second, at most about 20 of 30 can arrive within 3 s; unthrottled, all 30 arrive
    in well under a second (47 ms measured). On Pulsar 4.0.8 a throttled replicator sends its first
    second's permits and then stalls (5 of 30 arrived in 40 s at 5/s, 2 of 30 at 2/s;
    apache/pulsar#26005), so this checks that the burst is held back, not that it drains at 5 a second.
    The lesson then shows the stall and lifts the cap, so the exercise is graded at check time.
    """
    burst = replication_burst(lab, "beijing", "shanghai", NAMESPACE, messages=BURST, window_s=BURST_WINDOW_S)
    expected = (f"of {BURST} messages produced at once in beijing, shanghai receives some but at most {HELD_BACK} "
                f"within {BURST_WINDOW_S:g} s")
    return Outcome(1 <= burst.arrived <= HELD_BACK, expected,
                   f"{burst.arrived} of {burst.sent} arrived within {burst.window_s:g} s")


def local_only(lab: Lab) -> Outcome:
    topic = lab.topic("audit")
    try:
        clusters = lab.admin("beijing").get_topic_replication_clusters(topic, applied=False)
    except AdminError as exc:
        return Outcome(False, "topic audit replicates to [beijing] only", f"no topic policy (HTTP {exc.status})")
    return Outcome(clusters == ["beijing"], "topic audit replicates to [beijing] only",
                   f"topic policy: {clusters}")


def kept_local(lab: Lab) -> Outcome:
    return stays_local(lab, lab.topic("audit"), "beijing", "shanghai")


def reset_throttle(lab: Lab) -> None:
    lab.admin("beijing").remove_replicator_dispatch_rate(NAMESPACE)


def reset_local(lab: Lab) -> None:
    try:
        lab.admin("beijing").remove_topic_replication_clusters(lab.topic("audit"))
    except AdminError as exc:
        if exc.status != 404:  # no topic yet: already the starting state
            raise


EXERCISES = [
    Exercise("05-ops/1", NOTEBOOK, "cap replication at 5 messages a second",
             (Case("dispatch rate 5 msg/s", throttled), Case("a burst to shanghai is held back", held_back)),
             "Like `pulsar-admin namespaces set-replicator-dispatch-rate geolab/geo --msg-dispatch-rate 5`.",
             reset_throttle,
             statement="Set the replicator dispatch rate of `geolab/geo` on **beijing** to 5 messages per second. "
                       "The check sends a burst of 30 messages from beijing and counts what reaches shanghai "
                       "within 3 s.",
             stub="# on beijing: replicate geolab/geo at no more than 5 messages a second\n",
             graded_at="check"),
    Exercise("05-ops/2", NOTEBOOK, "a local-only topic", (Case("topic policy lists beijing only", local_only),
                                                     Case("a message on audit stays in beijing", kept_local)),
             "A topic-level policy: `pulsar-admin topics set-replication-clusters`; the local cluster must stay in "
             "the list.",
             reset_local,
             statement="Set the replication clusters of the topic `audit` to beijing only.",
             stub="# on beijing: the topic audit stays in beijing\n",
             givens={"audit": 'lab.topic("audit")'}),
]
