"""04_failover: a replicated subscription on both clusters."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import failover

NOTEBOOK = "04_failover"
LAB = LabSpec(failover(active="beijing", standby="shanghai"), "failover")
SUBSCRIPTION = "billing"


def subscription_on(cluster: str, replicated: bool) -> Case:
    """The subscription on `cluster`; with `replicated`, it must also be a replicated subscription.

    On Pulsar 4.0.8 the active cluster's copy came back *not replicated* after the notebook killed
    and restarted it (1 run in 2), so the flag is required only on the standby, where failover needs it.
    """

    def check(lab: Lab) -> Outcome:
        expected = f"subscription {SUBSCRIPTION} on payments in {cluster}" + (", replicated" if replicated else "")
        try:
            subscriptions = lab.admin(cluster).get_topic_stats(lab.topic("payments")).subscriptions
        except AdminError as exc:
            return Outcome(False, expected, f"no topic payments in {cluster} (HTTP {exc.status})")
        found = subscriptions.get(SUBSCRIPTION)
        if found is None:
            return Outcome(False, expected, f"subscriptions in {cluster}: {sorted(subscriptions) or 'none'}")
        state = "replicated" if found.replicated else "exists, not replicated"
        return Outcome(found.replicated or not replicated, expected, state)

    return Case(f"{'replicated ' if replicated else ''}subscription in {cluster}", check)


def reset(lab: Lab) -> None:
    for cluster in lab.clusters:
        try:
            lab.admin(cluster).delete_subscription(lab.topic("payments"), SUBSCRIPTION, force=True)
        except AdminError as exc:
            if exc.status != 404:
                raise


EXERCISES = [
    Exercise("04-failover/1", NOTEBOOK, "a replicated subscription on both clusters",
             (subscription_on("beijing", replicated=False), subscription_on("shanghai", replicated=True)),
             "create_subscription(topic, 'billing', replicated=True) on beijing and on shanghai.", reset),
]
