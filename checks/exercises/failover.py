"""04_failover: a subscription that survives failover."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import standby_follows
from labs.errors import AdminError
from labs.lab import Lab
from labs.topology import failover

NOTEBOOK = "04_failover"
LAB = LabSpec(failover(active="beijing", standby="shanghai"), "failover")
SUBSCRIPTION = "billing"
ACTIVE, STANDBY = "beijing", "shanghai"


def subscription_on(cluster: str) -> Case:
    """The subscription exists on `cluster` and is a replicated subscription."""

    def check(lab: Lab) -> Outcome:
        expected = f"subscription {SUBSCRIPTION} on payments in {cluster}, replicated"
        try:
            subscriptions = lab.admin(cluster).get_topic_stats(lab.topic("payments")).subscriptions
        except AdminError as exc:
            return Outcome(False, expected, f"no topic payments in {cluster} (HTTP {exc.status})")
        found = subscriptions.get(SUBSCRIPTION)
        if found is None:
            return Outcome(False, expected, f"subscriptions in {cluster}: {sorted(subscriptions) or 'none'}")
        return Outcome(found.replicated, expected, "replicated" if found.replicated else "exists, not replicated")

    return Case(f"replicated subscription in {cluster}", check)


def follows(lab: Lab) -> Outcome:
    return standby_follows(lab, lab.topic("payments"), SUBSCRIPTION, ACTIVE, STANDBY)


def reset(lab: Lab) -> None:
    for cluster in lab.clusters:
        try:
            lab.admin(cluster).delete_subscription(lab.topic("payments"), SUBSCRIPTION, force=True)
        except AdminError as exc:
            if exc.status != 404:
                raise


EXERCISES = [
    Exercise("04-failover/1", NOTEBOOK, "a subscription that survives failover",
             (subscription_on(ACTIVE),
              Case(f"{STANDBY} has a copy that follows {ACTIVE}'s acknowledgements", follows, points=2)),
             "`pulsar-admin topics create-subscription` has a `--replicated` flag; a plain subscription is local to "
             "its cluster, and the standby would resume it from its own start. Pulsar makes the standby's copy "
             "itself.",
             reset,
             statement="Create the subscription `billing` on `topic` in beijing so that, when beijing dies, shanghai "
                       "resumes it where beijing's consumers left off. One call on beijing is enough if it is the "
                       "right one: the check acknowledges a probe message on beijing and watches shanghai's copy "
                       "appear and follow.",
             stub="# the subscription billing on topic, in beijing, kept in step with shanghai\n",
             givens={"topic": 'lab.topic("payments")'},
             graded_at="check"),
]
