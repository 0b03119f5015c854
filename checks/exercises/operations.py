"""05_operations: throttle the replicator; a local-only topic."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import replication_pace, stays_local
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "05_operations"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "operations")
NAMESPACE = "geolab/geo"
PACE_MESSAGES = 30
PACE_LOW, PACE_HIGH = 3.0, 8.0  # measured: see replication_pace in the issue note


def throttled(lab: Lab) -> Outcome:
    rate = lab.admin("beijing").get_replicator_dispatch_rate(NAMESPACE) or {}
    value = rate.get("dispatchThrottlingRateInMsg")
    return Outcome(value == 5, "beijing's replicator dispatch rate is 5 msg/s", f"rate: {value if rate else 'not set'}")


def paced(lab: Lab) -> Outcome:
    """Behaviour: a burst produced at once in beijing reaches shanghai at about the capped rate."""
    result = replication_pace(lab, "beijing", "shanghai", NAMESPACE, messages=PACE_MESSAGES)
    expected = (f"{PACE_MESSAGES} messages produced at once in beijing reach shanghai at {PACE_LOW:g}-{PACE_HIGH:g} "
                "a second")
    if result.arrived < result.sent:
        return Outcome(False, expected, f"{result.arrived} of {result.sent} arrived within the window")
    return Outcome(PACE_LOW <= result.rate_per_s <= PACE_HIGH, expected,
                   f"they arrived over {result.spread_s:.1f} s: {result.rate_per_s:.1f} a second")


def local_only(lab: Lab) -> Outcome:
    topic = lab.topic("audit-local")
    try:
        clusters = lab.admin("beijing").get_topic_replication_clusters(topic, applied=False)
    except AdminError as exc:
        return Outcome(False, "topic audit-local replicates to [beijing] only", f"no topic policy (HTTP {exc.status})")
    return Outcome(clusters == ["beijing"], "topic audit-local replicates to [beijing] only",
                   f"topic policy: {clusters}")


def kept_local(lab: Lab) -> Outcome:
    return stays_local(lab, lab.topic("audit-local"), "beijing", "shanghai")


def reset_throttle(lab: Lab) -> None:
    lab.admin("beijing").remove_replicator_dispatch_rate(NAMESPACE)


def reset_local(lab: Lab) -> None:
    lab.admin("beijing").remove_topic_replication_clusters(lab.topic("audit-local"))


EXERCISES = [
    Exercise("05-ops/1", NOTEBOOK, "cap replication at 5 messages a second",
             (Case("dispatch rate 5 msg/s", throttled), Case("replication runs at about 5 a second", paced)),
             "Like `pulsar-admin namespaces set-replicator-dispatch-rate geolab/geo --msg-dispatch-rate 5`.",
             reset_throttle,
             statement="Set the replicator dispatch rate of `geolab/geo` on **beijing** to 5 messages per second. "
                       "The check sends a burst from beijing and times its arrival in shanghai.",
             stub="# on beijing: replicate geolab/geo at no more than 5 messages a second\n"),
    Exercise("05-ops/2", NOTEBOOK, "a local-only topic", (Case("topic policy lists beijing only", local_only),
                                                     Case("a message on audit stays in beijing", kept_local)),
             "A topic-level policy: `pulsar-admin topics set-replication-clusters`; the local cluster must stay in "
             "the list.",
             reset_local,
             statement="Set the replication clusters of the topic `audit` to beijing only.",
             stub="# on beijing: the topic audit stays in beijing\n",
             givens={"audit": 'lab.topic("audit-local")'}),
]
