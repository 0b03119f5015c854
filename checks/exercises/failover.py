"""04_failover: a subscription that survives failover."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import fresh_topic, replicator_drains, standby_follows
from labs.errors import AdminError
from labs.flows import DrillReport, last_drill_report
from labs.i18n import N_, Text, _
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
        expected = _("subscription {subscription} on payments in {cluster}, replicated").format(
            subscription=SUBSCRIPTION, cluster=cluster)
        try:
            subscriptions = lab.admin(cluster).get_topic_stats(lab.topic("payments")).subscriptions
        except AdminError as exc:
            return Outcome(False, expected, _("no topic payments in {cluster} (HTTP {status})").format(
                cluster=cluster, status=exc.status))
        found = subscriptions.get(SUBSCRIPTION)
        if found is None:
            if not subscriptions:
                return Outcome(False, expected, _("subscriptions in {cluster}: none").format(cluster=cluster))
            return Outcome(False, expected, _("subscriptions in {cluster}: {subscriptions}").format(
                cluster=cluster, subscriptions=sorted(subscriptions)))
        return Outcome(found.replicated, expected,
                       _("replicated") if found.replicated else _("exists, not replicated"))

    return Case(Text("replicated subscription in {cluster}", cluster=cluster), check)


def follows(lab: Lab) -> Outcome:
    return standby_follows(lab, lab.topic("payments"), SUBSCRIPTION, ACTIVE, STANDBY)


APPLICATION_MESSAGES = 220  # the drill's run_traffic: 200 produced and consumed, then 20 nobody read yet


def _drill(lab: Lab) -> DrillReport | str:
    """The report of the drill run on this lab (by the grader, in a graded run), or why there is none."""
    report = last_drill_report(lab.name)
    if report is None:
        return _("no failover drill ran on this lab: start it with lab.failover_drill(...) and run its traffic first")
    if report.sent < APPLICATION_MESSAGES:
        return _("the drill's application sent {sent} message(s); run its traffic first ({needed})").format(
            sent=report.sent, needed=APPLICATION_MESSAGES)
    if not report.failed_over:
        return _("the application never had every message from shanghai: kill beijing while it runs, mark the "
                 "failure, and receive the rest")
    return report


def nothing_lost(lab: Lab) -> Outcome:
    expected = _("every message the application's producer confirmed reached its consumer, through a failover")
    report = _drill(lab)
    if isinstance(report, str):
        return Outcome(False, expected, report)
    if report.caught_up_s is None:
        return Outcome(not report.lost, expected, _("{lost} of {sent} lost; moved to shanghai, and caught up never "
                                                    "after the failure").format(lost=len(report.lost),
                                                                                sent=report.sent))
    return Outcome(not report.lost, expected, _("{lost} of {sent} lost; moved to shanghai, and caught up "
                                                "{caught_up_s:.1f} s after the failure").format(
        lost=len(report.lost), sent=report.sent, caught_up_s=report.caught_up_s))


def duplicates_bounded(lab: Lab) -> Outcome:
    report = _drill(lab)
    if isinstance(report, str):
        return Outcome(False, _("shanghai resumed billing near where beijing's consumers left off"), report)
    # Only the first wave is the learner's: how near billing's position shanghai resumed (the replicated
    # subscription's snapshots). The second, after the return, is how far back beijing's own copy resumed
    # after a SIGKILL (what it had written to storage: at most once every 10 s in a standalone cluster),
    # from 1 to 220 of 230 messages on these clusters; the report shows it, the case does not count it.
    bound = report.acked_before_failover // 2
    after_failover = report.duplicates - report.duplicates_after_return
    expected = _("fewer duplicates after the failover than half the {acknowledged} messages acknowledged before "
                 "it (< {bound}): shanghai resumed near billing's position, not from the start").format(
        acknowledged=report.acked_before_failover, bound=bound)
    return Outcome(after_failover < bound, expected,
                   _("{after_failover} duplicate(s) after the failover (and {after_return} after the return, which "
                     "this case does not count); shanghai resumed at message {resumed_at}").format(
                       after_failover=after_failover, after_return=report.duplicates_after_return,
                       resumed_at=report.resumed_at))


def _returned(lab: Lab) -> DrillReport | str:
    """The drill's report once the application went there and back, or why it did not (yet)."""
    report = _drill(lab)
    if isinstance(report, str) or report.back_after_s is not None:
        return report
    return _("the application did not return to beijing (start beijing again, then let the drill switch back)")


def back_on_beijing(lab: Lab) -> Outcome:
    expected = _("the application returned to beijing once it was back, and its new messages went through it")
    report = _returned(lab)
    if isinstance(report, str):
        return Outcome(False, expected, report)
    return Outcome(report.returned >= 1, expected, _("back on beijing {back_after_s:g} s after the failure; "
                                                     "{returned} new message(s) produced and received there").format(
        back_after_s=report.back_after_s, returned=report.returned))


def nothing_waits(lab: Lab) -> Outcome:
    """After the return, neither cluster holds messages for the other: both replicators drained. Credited
    only once the drill went there and back (two idle replicators of a topic nobody failed over drain
    too: an untouched lab with the topic created earns nothing for them)."""
    expected = _("both replicators of payments connected, with no backlog")
    report = _returned(lab)
    if isinstance(report, str):
        return Outcome(False, expected, report)
    topic = lab.topic("payments")
    forth = replicator_drains(lab, ACTIVE, STANDBY, topic, timeout_s=30)
    back = replicator_drains(lab, STANDBY, ACTIVE, topic, timeout_s=30)
    return Outcome(forth.passed and back.passed, expected,
                   _("beijing → shanghai: {forth}; shanghai → beijing: {back}").format(forth=forth.actual,
                                                                                    back=back.actual))


ONE_EACH = N_("exactly 10: one entry per message")
MARKERS = N_("more than 10: Pulsar writes markers beside the messages")
TWICE = N_("20: each message is stored again for shanghai")


def what_is_written(lab: Lab) -> tuple[str | None, str]:
    topic = fresh_topic(lab.namespace, "entries")
    written = entries_for(lab, ACTIVE, topic)
    seen = _("{entries} entries in beijing's ledger for 10 messages acknowledged on a replicated "
             "subscription").format(entries=written.entries)
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
    expected = _("billing on refunds hands beijing's application nothing again, and shanghai's copy follows "
                 "beijing's acknowledgements")
    try:
        found = lab.admin(ACTIVE).get_topic_stats(topic).subscriptions.get(SUBSCRIPTION)
    except AdminError as exc:
        return Outcome(False, expected, _("no topic refunds in beijing (HTTP {status})").format(status=exc.status))
    if found is None:
        return Outcome(False, expected, _("billing is gone from refunds in beijing"))
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
    Exercise("04-failover/1", NOTEBOOK, N_("a subscription that survives failover"),
             (subscription_on(ACTIVE),
              Case(Text("{standby} has a copy that follows {active}'s acknowledgements", standby=STANDBY,
                        active=ACTIVE), follows, points=2)),
             N_("`pulsar-admin topics create-subscription` has a `--replicated` flag; a plain subscription is local "
                "to its cluster, and the standby would resume it from its own start. Pulsar makes the standby's "
                "copy itself."),
             reset,
             statement=N_("Create the subscription `billing` on `topic` in beijing so that, when beijing dies, "
                          "shanghai resumes it where beijing's consumers left off. One call on beijing is enough if "
                          "it is the right one: the check acknowledges a probe message on beijing and watches "
                          "shanghai's copy appear and follow."),
             stub=N_("# the subscription billing on topic, in beijing, kept in step with shanghai\n"),
             givens={"topic": 'lab.topic("payments")'},
             graded_at="check"),
    predict_exercise(
        "04-failover/2", NOTEBOOK, N_("predict: what a replicated subscription writes"),
        Question(N_("How many entries does beijing's ledger gain?"), (ONE_EACH, MARKERS, TWICE), what_is_written),
        N_("How does shanghai learn where beijing's consumers are? Not through the consumers: through the topic."),
        statement=N_("An application in beijing sends 10 messages on a topic of the lab's namespace "
                     "(`lab.namespace`, `geolab/geo` in a private lab), one every 0.3 s, and acknowledges them on a "
                     "**replicated** subscription. How many entries does beijing's ledger gain for them (counted "
                     "3 s after the last acknowledgement)? Record your prediction first; the check runs the "
                     "experiment on a fresh topic.")),
    Exercise("04-failover/3", NOTEBOOK, N_("diagnose: a subscription that will not fail over"),
             (Case(N_("refunds' billing fails over, and beijing hands nothing over again"), refunds_fail_over,
                   points=3),),
             N_("Look at billing on refunds in each cluster: is it replicated, and does shanghai have it? Creating "
                "a subscription that already exists changes nothing (Pulsar answers 409, and the lab treats that "
                "as done). Pulsar has a REST call that turns on the replicated state of an existing subscription."),
             statement=N_("The refunds application in beijing has run for months on its subscription `billing` of "
                          "`refunds`, and has acknowledged every refund so far. Last week's drill showed that it "
                          "would start over in shanghai. Find out why, and fix it so that shanghai's copy follows "
                          "beijing's acknowledgements, without beijing's application getting a single refund "
                          "again. The check acknowledges a probe in beijing and watches shanghai's copy move past "
                          "it."),
             stub=N_("# billing on refunds must fail over, keeping its place\n"),
             givens={"refunds": "subscription_left_behind(lab)"},
             graded_at="check"),
    Exercise("04-failover/4", NOTEBOOK, N_("the failover drill, and the way back"),
             (Case(N_("no confirmed message lost, through a real failover"), nothing_lost, points=2),
              Case(N_("duplicates bounded: shanghai resumed near billing's position"), duplicates_bounded),
              Case(N_("the application returned to beijing"), back_on_beijing),
              Case(N_("nothing waits in either cluster for the other"), nothing_waits)),
             N_("The drill has a step for each moment: `drill.mark_failure()` right after the kill, "
                "`drill.receive_rest(timeout_s=...)` on the standby, and `drill.switch_back(timeout_s=...)` once "
                "the primary runs again. `lab.kill(...)` and `lab.start_cluster(...)` are the kill and the "
                "return."),
             statement=N_("The drill's application runs on beijing through its failover client. Run the failover: "
                          "kill the active cluster while the application runs, let the application finish on "
                          "shanghai, then bring beijing back and let the application return to it. Graded on what "
                          "the application and the clusters saw (in a graded run, the grader's copy of the "
                          "drill): no confirmed message lost, duplicates bounded (shanghai resumed near billing's "
                          "position, not from the start), the application back on beijing with new messages "
                          "through it, and nothing left waiting in either replicator."),
             stub=N_("# fail over: beijing dies while the application runs; then it comes back, and so does the "
                     "application\n"),
             givens={"drill": 'lab.failover_drill(topic, "billing")'},
             graded_at="check"),
]
