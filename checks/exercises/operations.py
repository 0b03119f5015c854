"""05_operations: throttle the replicator; a local-only topic."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "05_operations"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "operations")
NAMESPACE = "geolab/geo"


def throttled(lab: Lab) -> Outcome:
    rate = lab.admin("beijing").get_replicator_dispatch_rate(NAMESPACE) or {}
    value = rate.get("dispatchThrottlingRateInMsg")
    return Outcome(value == 5, "beijing's replicator dispatch rate is 5 msg/s", f"rate: {value if rate else 'not set'}")


def local_only(lab: Lab) -> Outcome:
    topic = lab.topic("audit-local")
    try:
        clusters = lab.admin("beijing").get_topic_replication_clusters(topic, applied=False)
    except AdminError as exc:
        return Outcome(False, "topic audit-local replicates to [beijing] only", f"no topic policy (HTTP {exc.status})")
    return Outcome(clusters == ["beijing"], "topic audit-local replicates to [beijing] only",
                   f"topic policy: {clusters}")


def reset_throttle(lab: Lab) -> None:
    lab.admin("beijing").remove_replicator_dispatch_rate(NAMESPACE)


def reset_local(lab: Lab) -> None:
    lab.admin("beijing").remove_topic_replication_clusters(lab.topic("audit-local"))


EXERCISES = [
    Exercise("05-ops/1", NOTEBOOK, "cap replication at 5 messages a second",
             (Case("dispatch rate 5 msg/s", throttled),),
             "set_replicator_dispatch_rate('geolab/geo', 5) on beijing.", reset_throttle),
    Exercise("05-ops/2", NOTEBOOK, "a local-only topic", (Case("topic policy lists beijing only", local_only),),
             "set_topic_replication_clusters(topic, ['beijing']) on beijing.", reset_local),
]
