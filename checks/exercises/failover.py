"""04_failover: a subscription that survives failover."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import fresh_topic, replicator_drains, standby_follows
from labs.errors import AdminError
from labs.flows import DrillReport, last_drill_report
from labs.lab import Lab
from labs.production import entries_for
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


APPLICATION_MESSAGES = 220  # the drill's run_traffic: 200 produced and consumed, then 20 nobody read yet


def _drill(lab: Lab) -> DrillReport | str:
    """The report of the drill run on this lab (by the grader, in a graded run), or why there is none."""
    report = last_drill_report(lab.name)
    if report is None:
        return "no failover drill ran on this lab: start it with lab.failover_drill(...) and run its traffic first"
    if report.sent < APPLICATION_MESSAGES:
        return f"the drill's application sent {report.sent} message(s); run its traffic first ({APPLICATION_MESSAGES})"
    if not report.failed_over:
        return ("the application never had every message from shanghai: kill beijing while it runs, mark the "
                "failure, and receive the rest")
    return report


def nothing_lost(lab: Lab) -> Outcome:
    expected = "every message the application's producer confirmed reached its consumer, through a failover"
    report = _drill(lab)
    if isinstance(report, str):
        return Outcome(False, expected, report)
    caught_up = f"{report.caught_up_s:.1f} s" if report.caught_up_s is not None else "never"
    return Outcome(not report.lost, expected, f"{len(report.lost)} of {report.sent} lost; moved to shanghai, and "
                   f"caught up {caught_up} after the failure")


def duplicates_bounded(lab: Lab) -> Outcome:
    report = _drill(lab)
    if isinstance(report, str):
        return Outcome(False, "shanghai resumed billing near where beijing's consumers left off", report)
    bound = report.acked_before_failover // 2
    expected = (f"fewer duplicates than half the {report.acked_before_failover} messages acknowledged before the "
                f"failover (< {bound}): shanghai resumed near billing's position, not from the start")
    return Outcome(report.duplicates < bound, expected,
                   f"{report.duplicates} duplicate(s) ({report.duplicates_after_return} of them after the return); "
                   f"shanghai resumed at message {report.resumed_at}")


def back_on_beijing(lab: Lab) -> Outcome:
    expected = "the application returned to beijing once it was back, and its new messages went through it"
    report = _drill(lab)
    if isinstance(report, str):
        return Outcome(False, expected, report)
    if report.back_after_s is None:
        return Outcome(False, expected, "the application did not return to beijing (start beijing again, then "
                       "let the drill switch back)")
    return Outcome(report.returned >= 1, expected, f"back on beijing {report.back_after_s:g} s after the failure; "
                   f"{report.returned} new message(s) produced and received there")


def nothing_waits(lab: Lab) -> Outcome:
    """After the return, neither cluster holds messages for the other: both replicators drained."""
    topic = lab.topic("payments")
    forth = replicator_drains(lab, ACTIVE, STANDBY, topic, timeout_s=30)
    back = replicator_drains(lab, STANDBY, ACTIVE, topic, timeout_s=30)
    return Outcome(forth.passed and back.passed, "both replicators of payments connected, with no backlog",
                   f"beijing → shanghai: {forth.actual}; shanghai → beijing: {back.actual}")


ONE_EACH = "exactly 10: one entry per message"
MARKERS = "more than 10: Pulsar writes markers beside the messages"
TWICE = "20: each message is stored again for shanghai"


def what_is_written(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "entries")
    written = entries_for(lab, ACTIVE, topic)
    seen = (f"{written.entries} entries in beijing's ledger for 10 messages acknowledged on a replicated "
            "subscription")
    if written.entries == 10:
        return ONE_EACH, seen
    if written.entries == 20:
        return TWICE, seen
    return (MARKERS, seen) if written.entries > 10 else (None, seen)


def refunds_fail_over(lab: Lab) -> Outcome:
    """Behaviour: shanghai's copy of billing on refunds follows beijing's acknowledgements (a probe
    acknowledged there), and beijing's billing hands none of the application's refunds over again (the
    probe's consumer would receive them first: markers are never delivered, refunds are)."""
    topic = lab.topic("refunds")
    expected = ("billing on refunds hands beijing's application nothing again, and shanghai's copy follows "
                "beijing's acknowledgements")
    try:
        found = lab.admin(ACTIVE).get_topic_stats(topic).subscriptions.get(SUBSCRIPTION)
    except AdminError as exc:
        return Outcome(False, expected, f"no topic refunds in beijing (HTTP {exc.status})")
    if found is None:
        return Outcome(False, expected, "billing is gone from refunds in beijing")
    follows = standby_follows(lab, topic, SUBSCRIPTION, ACTIVE, STANDBY, timeout_s=15)
    return Outcome(follows.passed, expected, follows.actual)


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
    predict_exercise(
        "04-failover/2", NOTEBOOK, "predict: what a replicated subscription writes",
        Question("How many entries does beijing's ledger gain?", (ONE_EACH, MARKERS, TWICE), what_is_written),
        "How does shanghai learn where beijing's consumers are? Not through the consumers: through the topic.",
        statement="An application in beijing sends 10 messages on a topic of the lab's namespace (`lab.namespace`, "
                  "`geolab/geo` in a private lab), one every 0.3 s, and acknowledges them on a **replicated** "
                  "subscription. How many entries does beijing's ledger gain for them (counted 3 s after the last "
                  "acknowledgement)? Record your prediction first; the check runs the experiment on a fresh topic."),
    Exercise("04-failover/3", NOTEBOOK, "diagnose: a subscription that will not fail over",
             (Case("refunds' billing fails over, and beijing hands nothing over again", refunds_fail_over,
                   points=3),),
             "Look at billing on refunds in each cluster: is it replicated, and does shanghai have it? Creating a "
             "subscription that already exists changes nothing (Pulsar answers 409, and the lab treats that as "
             "done). Pulsar has a REST call that turns on the replicated state of an existing subscription.",
             statement="The refunds application in beijing has run for months on its subscription `billing` of "
                       "`refunds`, and has acknowledged every refund so far. Last week's drill showed that it "
                       "would start over in shanghai. Find out why, and fix it so that shanghai's copy follows "
                       "beijing's acknowledgements, without beijing's application getting a single refund again. "
                       "The check acknowledges a probe in beijing and watches shanghai's copy move past it.",
             stub="# billing on refunds must fail over, keeping its place\n",
             givens={"refunds": "subscription_left_behind(lab)"},
             graded_at="check"),
    Exercise("04-failover/4", NOTEBOOK, "the failover drill, and the way back",
             (Case("no confirmed message lost, through a real failover", nothing_lost, points=2),
              Case("duplicates bounded: shanghai resumed near billing's position", duplicates_bounded),
              Case("the application returned to beijing", back_on_beijing),
              Case("nothing waits in either cluster for the other", nothing_waits)),
             "The drill has a step for each moment: `drill.mark_failure()` right after the kill, "
             "`drill.receive_rest(timeout_s=...)` on the standby, and `drill.switch_back(timeout_s=...)` once the "
             "primary runs again. `lab.kill(...)` and `lab.start_cluster(...)` are the kill and the return.",
             statement="The drill's application runs on beijing through its failover client. Run the failover: "
                       "kill the active cluster while the application runs, let the application finish on "
                       "shanghai, then bring beijing back and let the application return to it. Graded on what "
                       "the application and the clusters saw (in a graded run, the grader's copy of the drill): "
                       "no confirmed message lost, duplicates bounded (shanghai resumed near billing's position, "
                       "not from the start), the application back on beijing with new messages through it, and "
                       "nothing left waiting in either replicator.",
             stub="# fail over: beijing dies while the application runs; then it comes back, and so does the "
                  "application\n",
             givens={"drill": 'lab.failover_drill(topic, "billing")'},
             graded_at="check"),
]
