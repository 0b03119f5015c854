"""07_replication_stuck: diagnose three incidents from the stats, and fix them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pulsar
from pulsar.schema import JsonSchema

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import Copies, count_marked, delivery, replicated_copies, replicator_drains
from labs.errors import AdminError
from labs.i18n import N_, _
from labs.incidents import INCIDENT, ProfileV2, replication_metrics
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "07_replication_stuck"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "stuck")
SOURCE, TARGET = "beijing", "shanghai"
#: Where labs.incidents plants each incident: `<namespace>/<topic>` in the lab's tenant.
INVOICES, PROFILES, HISTORY = "invoices/invoices", "profiles/profiles", "history/orders"
PLANTED_INVOICES, PLANTED_PROFILES, PLANTED_HISTORY = 10, 5, 20
DRAIN_S = 30  # the schema fix drained in 17 s measured; the namespace fix in 4 s


def _namespace(lab: Lab, where: str) -> str:
    """An incident's namespace in the lab's tenant (`geolab/invoices` in a private lab)."""
    return f"{lab.topology.tenant}/{where.split('/', 1)[0]}"


def _topic(lab: Lab, where: str) -> str:
    """An incident's topic in the lab's tenant (`persistent://geolab/invoices/invoices` in a private lab)."""
    return f"persistent://{lab.topology.tenant}/{where}"


def _flows_again(where: str, incident: str, planted: int, new_one: Callable[[Lab], Outcome], name: str,
                 expected: str) -> Case:
    """The incident is over: beijing's replicator drains, the messages that waited are in shanghai,
    written there by that replicator (copies an application made in shanghai do not count), and a new
    message follows. One case: until the first holds, the second cannot.

    `name` and `expected` are the incident's own N_() texts (`expected` shows {planted}); `incident`
    is the marker labs.incidents sets on the planted messages."""

    def check(lab: Lab) -> Outcome:
        wanted = _(expected).format(planted=planted)
        topic = _topic(lab, where)
        drained = replicator_drains(lab, SOURCE, TARGET, topic, timeout_s=DRAIN_S)
        if not drained.passed:
            return Outcome(False, wanted, _("beijing's replicator to shanghai: {seen}").format(seen=drained.actual))
        copies = replicated_copies(lab, TARGET, topic, INCIDENT, incident, SOURCE, at_least=planted)
        if copies.replicated < planted:
            return Outcome(False, wanted, _not_all_replicated(copies, planted))
        follows = new_one(lab)
        return Outcome(follows.passed, wanted, _("all {planted} are in shanghai; a new one: {seen}").format(
            planted=planted, seen=follows.actual))

    return Case(name, check, points=3)


def _not_all_replicated(copies: Copies, planted: int) -> str:
    """Why the waiting messages do not count as arrived: too few, or copies that replication did not write."""
    if copies.marked > copies.replicated:
        return _("{replicated} of {planted} came from {source} by replication; {other} other copies were produced "
                 "in shanghai itself").format(replicated=copies.replicated, planted=planted, source=copies.source,
                                              other=copies.marked - copies.replicated)
    return _("{found} of {planted} are in shanghai").format(found=copies.replicated, planted=planted)


def _metrics_connected(lab: Lab) -> Outcome:
    """What an operator's alert reads: beijing's Prometheus metrics count the invoices replicator as
    connected (and none disconnected)."""
    expected = _("beijing's /metrics: pulsar_replication_connected_count 1 and disconnected_count 0 for invoices")
    found = [r for r in replication_metrics(lab, SOURCE, _namespace(lab, INVOICES)).replicators
             if r.topic == _topic(lab, INVOICES) and r.remote_cluster == TARGET]
    if not found:
        return Outcome(False, expected, _("beijing exports no replicator of invoices to shanghai"))
    return Outcome(found[0].connected == 1 and found[0].disconnected == 0, expected,
                   _("connected_count {connected}, disconnected_count {disconnected}").format(
                       connected=found[0].connected, disconnected=found[0].disconnected))


def _new_invoice(lab: Lab) -> Outcome:
    return delivery(lab, SOURCE, TARGET, _namespace(lab, INVOICES), timeout_s=20)


def _new_profile(lab: Lab) -> Outcome:
    """A profile of beijing's newer shape, sent now, arrives in shanghai."""
    expected = _("a new profile (beijing's shape) produced in beijing arrives in shanghai within 20 s")
    marker = f"check-{time.time_ns()}"
    try:
        producer = lab.client(SOURCE).create_producer(_topic(lab, PROFILES), schema=JsonSchema(ProfileV2))
        producer.send(ProfileV2(name="check"), properties={INCIDENT: marker})
        producer.close()
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, _("producing in beijing failed: {error}: {detail}").format(
            error=type(exc).__name__, detail=exc))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if count_marked(lab, TARGET, _topic(lab, PROFILES), INCIDENT, marker, quiet_s=2) >= 1:
            return Outcome(True, expected, _("it arrived"))
    return Outcome(False, expected, _("nothing arrived in shanghai"))


def _retired(lab: Lab) -> Outcome:
    """Gone in both clusters, and still gone after a 10 s watch (replication recreates a topic it still serves);
    and the lab's namespace still replicates both ways in each cluster (the requirement: the rest of the
    namespace replicates as before, which a namespace narrowed to one cluster to let the delete through
    would not)."""
    topic = lab.topic("old-orders")
    expected = _("old-orders is gone in beijing and shanghai, and still gone 10 s later; the rest of the namespace "
                 "replicates as before")
    for cluster in lab.clusters:
        try:
            listed = sorted(lab.admin(cluster).get_namespace_clusters(lab.namespace))
        except AdminError as exc:
            return Outcome(False, expected, _("cannot read {cluster}'s copy of the namespace (HTTP {status})").format(
                cluster=cluster, status=exc.status))
        if listed != sorted(lab.clusters):
            return Outcome(False, expected, _("{cluster}'s copy of {namespace} now replicates to {clusters}, not to "
                                              "both").format(cluster=cluster, namespace=lab.namespace,
                                                             clusters=listed))
    found: dict[str, bool] = {}
    for look in range(2):
        for cluster in lab.clusters:
            try:
                found[cluster] = topic in lab.admin(cluster).list_topics(lab.namespace)
            except AdminError as exc:
                return Outcome(False, expected, _("cannot list {cluster}'s topics (HTTP {status})").format(
                    cluster=cluster, status=exc.status))
        if any(found.values()):
            where = [c for c, present in found.items() if present]
            return Outcome(False, expected, (_("it exists in {where} again after 10 s") if look
                                             else _("it exists in {where}")).format(where=where))
        if look == 0:
            time.sleep(10)  # the watch window of an observed absence, not a readiness wait
    return Outcome(True, expected, _("gone in both, and nothing recreated it in 10 s"))


def _history_arrives(lab: Lab) -> Outcome:
    """All 20 orders beijing held before replication began are in shanghai (a reader from the earliest
    message, until 3 s pass without one), and a new order follows."""
    expected = _("the {planted} orders beijing held before replication began are in shanghai, and a new one "
                 "follows").format(planted=PLANTED_HISTORY)
    copies = replicated_copies(lab, TARGET, _topic(lab, HISTORY), INCIDENT, "history", SOURCE,
                               at_least=PLANTED_HISTORY)
    if copies.replicated < PLANTED_HISTORY:
        return Outcome(False, expected, _not_all_replicated(copies, PLANTED_HISTORY))
    follows = delivery(lab, SOURCE, TARGET, _namespace(lab, HISTORY), timeout_s=20)
    return Outcome(follows.passed, expected, _("all {planted} are in shanghai; a new one: {seen}").format(
        planted=PLANTED_HISTORY, seen=follows.actual))


def reset_history(lab: Lab) -> None:
    """Back to a namespace in beijing only: no replicator, the broker's default start, no copy in shanghai."""
    lab.admin(SOURCE).set_namespace_clusters(_namespace(lab, HISTORY), [SOURCE])
    lab.admin(SOURCE).update_dynamic_config("replicationStartAt", "latest")
    try:
        lab.admin(SOURCE).delete_subscription(_topic(lab, HISTORY), "pulsar.repl.shanghai", force=True)
    except AdminError:
        pass  # no such cursor (Pulsar removes a replicator's with it): nothing to undo
    try:
        lab.admin(TARGET).delete_topic(_topic(lab, HISTORY), force=True)
    except AdminError as exc:
        if exc.status != 404:
            raise


def reset_invoices(lab: Lab) -> None:
    lab.admin(TARGET).set_namespace_clusters(_namespace(lab, INVOICES), [SOURCE])


EXERCISES = [
    Exercise("07-stuck/1", NOTEBOOK, N_("diagnose: invoices do not reach shanghai"),
             (_flows_again(INVOICES, "invoices", PLANTED_INVOICES, _new_invoice,
                           N_("the waiting invoices reach shanghai, and new ones follow"),
                           N_("the {planted} invoices beijing confirmed while replication was stuck are in shanghai, "
                              "and a new one follows")),
              Case(N_("beijing's metrics count the invoices replicator as connected"), _metrics_connected)),
             N_("The replicator is not connected, so look at what it connects to: which clusters does the namespace "
                "of `invoices` (`geolab/invoices` in a private lab) list, in each cluster? A cluster only serves a "
                "namespace that lists it."),
             reset_invoices,
             statement=N_("beijing's invoices stopped reaching shanghai. Find out why from what the clusters report "
                          "(`replication_health` above, the namespace's policies in each cluster), then fix it, so "
                          "that the invoices waiting in beijing arrive and new ones follow. The check waits up to "
                          "30 s for beijing's replicator to drain."),
             stub=N_("# find the cause in what each cluster reports, then fix it\n"),
             givens={"invoices": "namespace_without_its_cluster(lab)"}),
    Exercise("07-stuck/2", NOTEBOOK, N_("diagnose: profiles stuck behind a schema"),
             (_flows_again(PROFILES, "profiles", PLANTED_PROFILES, _new_profile,
                           N_("the waiting profiles reach shanghai, and new ones follow"),
                           N_("the {planted} profiles beijing confirmed while replication was stuck are in shanghai, "
                              "and a new one follows")),),
             N_("The replicator is connected and still sends nothing: compare the schema in each cluster, and the "
                "namespace's schema compatibility strategy in shanghai. A replicator that was refused keeps its old "
                "producers until the topic is unloaded, in both clusters."),
             statement=N_("beijing's profiles stopped reaching shanghai, with the replicator connected. Find the cause "
                          "and fix it without losing a profile: the 5 waiting in beijing must arrive, and new ones "
                          "in beijing's shape must follow. (shanghai's application reads profiles by name; its old "
                          "`id` shape is retired.)"),
             stub=N_("# find what shanghai refuses, let it in, and get the replicator going again\n"),
             givens={"profiles": "incompatible_schema(lab)"}),
    Exercise("07-stuck/3", NOTEBOOK, N_("retire a replicated topic"),
             (Case(N_("old-orders is gone in both clusters and stays gone"), _retired, points=2),),
             N_("The refusal names the clusters the topic is replicated to. A topic-level policy can make a topic "
                "local to one cluster, in each cluster, without touching the namespace."),
             statement=N_("The team retires the topic `old-orders`. Delete it in **both** clusters so that it stays "
                          "deleted (the check looks twice, 10 s apart), without changing how the rest of the lab's "
                          "namespace (`lab.namespace`, `geolab/geo` in a private lab) replicates."),
             stub=N_("# delete old-orders in beijing and shanghai for good\n"),
             givens={"old_orders": "topic_to_retire(lab)"}),
    Exercise("07-stuck/4", NOTEBOOK, N_("design: replicate a namespace with its history"),
             (Case(N_("the 20 orders from before, and new ones, reach shanghai"), _history_arrives, points=3),),
             N_("A new replicator is a cursor, `pulsar.repl.<remote>`, and where a new cursor starts is the broker "
                "setting `replicationStartAt` (`latest` unless changed; it is a dynamic setting). Pulsar's migration "
                "guide also creates that cursor itself, at the earliest message, before enabling replication."),
             reset_history,
             statement=N_("The namespace of `history` (`geolab/history` in a private lab) has lived in beijing only; "
                          "its topic `orders` holds 20 orders that shanghai's team needs too. Requirement: replicate "
                          "the namespace to shanghai so that all 20 existing orders **and** every new one reach "
                          "shanghai. (If your first try loses the old ones, `reset(\"07-stuck/4\", lab)` puts the "
                          "namespace back as it was.)"),
             stub=N_("# replicate the namespace of `history` to shanghai, history included\n"),
             givens={"history": "history_to_bring(lab)"}),
]
