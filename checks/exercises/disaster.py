"""06_disaster_recovery: a region lost, the seed article's one-way plan, manual failover by time,
failback by reverse replication."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import delivery, fresh_topic, queued_for, standby_follows
from labs.errors import AdminError
from labs.i18n import N_, Text, _
from labs.lab import Lab
from labs.topology import one_way

NOTEBOOK = "06_disaster_recovery"
LAB = LabSpec(one_way("beijing", "shanghai"), "dr")
ACTIVE, STANDBY = "beijing", "shanghai"
SUBSCRIPTION = "billing"
RESUMES = N_("order 101: shanghai resumes where beijing's consumers left off")
STARTS_OVER = N_("order 1: shanghai starts over from the first order")
NOTHING = N_("nothing: shanghai has no orders to give")
RESUME_AT = 101


def resumes_or_starts_over(lab: Lab) -> tuple[str | None, str]:
    """The experiment behind 06-dr/1, on a fresh topic: a replicated subscription in beijing, a probe
    acknowledged there, and whether shanghai's copy of the subscription follows it."""
    topic = fresh_topic(lab.namespace, "dr")
    reach = delivery(lab, ACTIVE, STANDBY, lab.namespace, timeout_s=30)
    if not reach.passed:
        return None, _("a message from beijing does not reach shanghai ({seen}); run the check while both run").format(
            seen=reach.actual)
    lab.admin(ACTIVE).create_subscription(topic, SUBSCRIPTION, replicated=True)
    follows = standby_follows(lab, topic, SUBSCRIPTION, ACTIVE, STANDBY, timeout_s=15)
    if follows.passed:
        return RESUMES, _("a probe acknowledged on a replicated subscription in beijing was acknowledged in shanghai "
                          "too")
    return STARTS_OVER, _("a replicated subscription in beijing, a probe acknowledged there: {seen}, so a consumer "
                          "there would start from the first order").format(seen=follows.actual)


QUESTION = Question(N_("Where does shanghai resume?"), (RESUMES, STARTS_OVER, NOTHING), resumes_or_starts_over)


def _next_order(lab: Lab) -> Outcome:
    expected = _("the next message of {subscription} on orders in {standby} is order #{order}").format(
        subscription=SUBSCRIPTION, standby=STANDBY, order=RESUME_AT)
    try:
        peeked = lab.admin(STANDBY).peek_messages(lab.topic("orders"), SUBSCRIPTION, 1)
    except AdminError as exc:
        return Outcome(False, expected, _("no subscription {subscription} on orders in {standby} (HTTP {status})")
                       .format(subscription=SUBSCRIPTION, standby=STANDBY, status=exc.status))
    if not peeked:
        return Outcome(False, expected, _("{subscription} has nothing left to deliver in {standby}").format(
            subscription=SUBSCRIPTION, standby=STANDBY))
    seq = peeked[0].properties.get("seq")
    if seq is None:
        return Outcome(False, expected, _("its next message has no order number"))
    return Outcome(seq == str(RESUME_AT), expected, _("its next message is order #{seq}").format(seq=seq))


def _reaches_or_waits(lab: Lab) -> Outcome:
    """A message produced in shanghai arrives in beijing; while beijing is down, it waits in shanghai's
    replication backlog for beijing (it is sent when beijing returns)."""
    if lab.admin(ACTIVE).healthcheck():
        return delivery(lab, STANDBY, ACTIVE, lab.namespace, timeout_s=30)
    return queued_for(lab, STANDBY, ACTIVE, lab.namespace)


def _both_ways(lab: Lab) -> Outcome:
    """Once beijing is back: shanghai's messages reach beijing and beijing's still reach shanghai."""
    back = delivery(lab, STANDBY, ACTIVE, lab.namespace, timeout_s=30)
    forth = delivery(lab, ACTIVE, STANDBY, lab.namespace, timeout_s=30)
    return Outcome(back.passed and forth.passed, _("messages flow both ways once beijing is back"),
                   _("shanghai → beijing: {back}; beijing → shanghai: {forth}").format(back=back.actual,
                                                                                     forth=forth.actual))


def reset_failback(lab: Lab) -> None:
    admin = lab.admin(STANDBY)
    admin.set_namespace_clusters(lab.namespace, [STANDBY])
    admin.set_namespace_allowed_clusters(lab.namespace, [STANDBY])


EXERCISES = [
    predict_exercise(
        "06-dr/1", NOTEBOOK, N_("predict: where does shanghai resume?"), QUESTION,
        N_("What carries a replicated subscription's position to the other cluster, and which way must the "
           "namespace replicate for that to come back? Lesson 04 had both ways."),
        statement=N_("The seed article's disaster-recovery plan replicates **one way**, beijing → shanghai. "
                     "beijing's consumers acknowledge orders #1–#100 of 120 on `billing`, a **replicated** "
                     "subscription. Then beijing is lost, and the same application subscribes to `billing` in "
                     "shanghai (from the earliest order if the subscription is new there). What does it get "
                     "first? Record your prediction with `predict(...)` *before* you run the experiment below; "
                     "the check then runs the experiment in small and grades your first prediction.")),
    Exercise("06-dr/2", NOTEBOOK, N_("manual failover: reset the subscription by time"),
             (Case(Text("{subscription}'s next message in {standby} is order #{order}", subscription=SUBSCRIPTION,
                        standby=STANDBY, order=RESUME_AT), _next_order, points=2),),
             N_("`pulsar-admin topics reset-cursor` takes a subscription and a time; the publish time of each order "
                "shanghai received is in `seen.published_ms`. Replicated messages keep the publish time of their "
                "origin."),
             reset=lambda lab: lab.admin(STANDBY).reset_cursor(lab.topic("orders"), SUBSCRIPTION, 4_102_444_800_000),
             statement=N_("Without replicated state, shanghai's `billing` handed the application every order again. "
                          "beijing's application log says it had processed up to order #100. Do a manual failover: "
                          "move `billing` in shanghai so that its next message is order #101 — not #100 (a duplicate), "
                          "not #102 (a lost order) — using a time, as an operator would who knows when things went "
                          "wrong."),
             stub=N_("# in shanghai: billing's next order is #101 (the orders shanghai read are in `seen`)\n"),
             givens={"orders": 'lab.topic("orders")',
                     "seen": 'read_orders(lab, "shanghai", orders, "billing")'}),
    Exercise("06-dr/3", NOTEBOOK, N_("design the failback"),
             (Case(N_("a message produced in shanghai reaches beijing (or waits for it while it is down)"),
                   _reaches_or_waits, points=2),
              Case(N_("messages flow both ways once beijing is back"), _both_ways, hidden=True)),
             N_("Two settings of shanghai's namespace stand in the way: the clusters it replicates to, and the "
                "clusters it is allowed to use. beijing's side already sends to shanghai."),
             reset_failback,
             statement=N_("Requirement: the orders shanghai takes while beijing is down must reach beijing when it "
                          "returns, and beijing's own orders must keep reaching shanghai. Change the clusters' "
                          "settings (beijing is down: only shanghai answers now). The check produces a message in "
                          "shanghai and watches it arrive in beijing (while beijing is down, it looks for the message "
                          "waiting in shanghai's backlog for beijing); the grade also checks, once beijing is back, "
                          "that beijing's messages still reach shanghai."),
             stub=N_("# in shanghai (beijing is down): orders taken here must reach beijing when it returns\n")),
]
