"""03_one_way: deliver beijing's messages to guangzhou past the one-hop rule."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import delivery
from labs.lab import Lab
from labs.topology import one_way

NOTEBOOK = "03_one_way"
LAB = LabSpec(one_way("beijing", "shanghai", "guangzhou"), "one-way")
NAMESPACE = "geolab/geo"
ALL = ["beijing", "guangzhou", "shanghai"]


def allowed(lab: Lab) -> Outcome:
    clusters = lab.admin("beijing").get_namespace_allowed_clusters(NAMESPACE)
    return Outcome("guangzhou" in clusters, "beijing's allowed clusters include guangzhou", f"allowed: {clusters}")


def replicates(lab: Lab) -> Outcome:
    clusters = lab.admin("beijing").get_namespace_clusters(NAMESPACE)
    return Outcome("guangzhou" in clusters, "beijing's namespace replicates to guangzhou", f"replicates to {clusters}")


def still_one_way(lab: Lab) -> Outcome:
    clusters = lab.admin("shanghai").get_namespace_clusters(NAMESPACE)
    return Outcome("beijing" not in clusters, "shanghai still does not replicate back to beijing",
                   f"shanghai replicates to {clusters}")


def reset(lab: Lab) -> None:
    lab.admin("beijing").set_namespace_clusters(NAMESPACE, ["beijing", "shanghai"])
    lab.admin("beijing").set_namespace_allowed_clusters(NAMESPACE, ["beijing", "shanghai"])


EXERCISES = [
    Exercise("03-one-way/1", NOTEBOOK, "deliver beijing's messages to guangzhou",
             (Case("allowed clusters include guangzhou", allowed), Case("replication lists guangzhou", replicates),
              Case("a message goes beijing → guangzhou", lambda lab: delivery(lab, "beijing", "guangzhou", NAMESPACE)),
              Case("nothing flows back to beijing", still_one_way, hidden=True)),
             "Two lists on beijing need `guangzhou`: the clusters the namespace may use, and the clusters it "
             "replicates to. Pulsar refuses a replication list wider than the allowed one, so widen that first.",
             reset,
             statement="Change **beijing's** namespace so that its messages reach guangzhou too, and change nothing "
                       "on shanghai. Remember the allowed clusters: they must include every cluster in the "
                       "replication list. Then trace again.",
             stub="# on beijing only: let geolab/geo use guangzhou, then replicate to it\n"),
]
