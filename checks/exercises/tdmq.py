"""09_managed_tdmq: what TDMQ for Pulsar's cross-region replication does for you, in open-source
Pulsar's own terms. Design its "global data archiving" (several regions' same-named topics merged
into one topic of a central region) as Pulsar's aggregation pattern on bare clusters; predict where
a message produced in the centre goes once the centre lists the regions too."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import pulsar

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import drop_namespace, fresh_topic
from labs.client import unsubscribe_or_close
from labs.errors import AdminError, LabError
from labs.flows import collect
from labs.i18n import N_, Text, _, ngettext
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "09_managed_tdmq"
LAB = LabSpec(full_mesh("beijing", "shanghai", "guangzhou", config_store="independent"), "tdmq", configure=False)
TENANT = "geolab"
NAMESPACE = "geolab/orders"
REGIONS = ("beijing", "shanghai")
CENTRE = "guangzhou"
#: Where each cluster's own copy of the namespace sends its messages in the aggregation design.
DESIGN = {"beijing": ("beijing", "guangzhou"), "shanghai": ("shanghai", "guangzhou"), "guangzhou": ("guangzhou",)}
MARK = "geolab-check"
CHECK_TENANT = "geolab-check"


def _url(cluster: str) -> tuple[str, str]:
    return f"http://{cluster}:8080", f"pulsar://{cluster}:6650"


# ------------------------------------------------------------------------------ probes


def _send(lab: Lab, source: str, topic: str, payload: bytes) -> None:
    """One message produced on `topic` in `source`, tagged as the check's."""
    producer = lab.client(source).create_producer(topic)
    try:
        producer.send(payload, properties={MARK: source})
    finally:
        producer.close()


def _watch(lab: Lab, source: str, topic: str, targets: Sequence[str], window_s: float) -> dict[str, bool]:
    """Subscribe in every target first, produce one tagged message on `topic` in `source`, and see which
    targets receive it before `window_s` has passed (every target is watched for the whole window when
    the message does not come)."""
    payload = f"geolab-check {source} {uuid.uuid4().hex[:8]}".encode()
    consumers = {t: lab.client(t).subscribe(topic, f"geolab-check-{uuid.uuid4().hex[:6]}") for t in targets}
    try:
        _send(lab, source, topic, payload)
        deadline = time.monotonic() + window_s
        return {t: any(r.data == payload
                       for r in collect(c, [payload], timeout_s=max(0.5, deadline - time.monotonic())))
                for t, c in consumers.items()}
    finally:
        for consumer in consumers.values():
            unsubscribe_or_close(consumer)


def _copies(lab: Lab, cluster: str, topic: str, payload: bytes, quiet_s: float = 3.0) -> int:
    """How many copies of `payload` `cluster` stored on `topic` (a reader from the earliest message,
    until nothing more arrives for `quiet_s`; duplicates counted, nothing acknowledged)."""
    reader = lab.client(cluster).create_reader(topic, pulsar.MessageId.earliest)
    found = 0
    try:
        while True:
            try:
                message = reader.read_next(timeout_millis=int(quiet_s * 1000))
            except pulsar.Timeout:
                return found
            found += message.data() == payload
    finally:
        reader.close()


def _lists(lab: Lab, cluster: str) -> list[str] | None:
    """`cluster`'s copy of the namespace's replication clusters; None when it has no such namespace."""
    try:
        return sorted(lab.admin(cluster).get_namespace_clusters(NAMESPACE))
    except AdminError:
        return None


# ------------------------------------------------------------------------------ 09-tdmq/1 aggregation


def policy(cluster: str) -> Case:
    def check(lab: Lab) -> Outcome:
        wanted = sorted(DESIGN[cluster])
        expected = _("{cluster}'s copy of {namespace} replicates to {clusters}").format(
            cluster=cluster, namespace=NAMESPACE, clusters=wanted)
        found = _lists(lab, cluster)
        if found is None:
            return Outcome(False, expected, _("{cluster} has no namespace {namespace}").format(
                cluster=cluster, namespace=NAMESPACE))
        return Outcome(found == wanted, expected, _("it replicates to {clusters}").format(clusters=found))

    return Case(Text("{cluster}'s copy of the namespace", cluster=cluster), check)


def _merge(lab: Lab) -> Outcome:
    """One new topic: a subscription in the centre, one tagged order produced in each region; both
    arrive on that one subscription."""
    expected = _("an order produced in beijing and one produced in shanghai, on the same new topic, both arrive on "
                 "one subscription in guangzhou within 30 s")
    without = [cluster for cluster in (*REGIONS, CENTRE) if _lists(lab, cluster) is None]
    if without:
        return Outcome(False, expected, _("no namespace {namespace} in {clusters}").format(
            namespace=NAMESPACE, clusters=", ".join(without)))
    topic = fresh_topic(NAMESPACE, "merge")
    payloads = {region: f"geolab-check order from {region} {uuid.uuid4().hex[:8]}".encode() for region in REGIONS}
    consumer = lab.client(CENTRE).subscribe(topic, "geolab-check-archive")
    try:
        for region, payload in payloads.items():
            _send(lab, region, topic, payload)
        got = {r.data for r in collect(consumer, list(payloads.values()), timeout_s=30)}
    except pulsar.PulsarException as exc:
        return Outcome(False, expected, _("producing failed: {error}").format(error=f"{type(exc).__name__}: {exc}"))
    finally:
        unsubscribe_or_close(consumer)
    arrived = {region: payload in got for region, payload in payloads.items()}
    if all(arrived.values()):
        return Outcome(True, expected, _("both arrived on the one subscription"))
    missing = sorted(region for region, seen in arrived.items() if not seen)
    return Outcome(False, expected, _("nothing from {regions} arrived in guangzhou in 30 s").format(
        regions=", ".join(missing)))


def _once_regions_send(what: str, check: Callable[[Lab], Outcome]) -> Callable[[Lab], Outcome]:
    """Credit for what does not move only once beijing's and shanghai's copies send to guangzhou: bare
    clusters, or namespaces that replicate nowhere, move nothing either, and earn nothing for it."""

    def guarded(lab: Lab) -> Outcome:
        sending = [region for region in REGIONS if CENTRE in (_lists(lab, region) or [])]
        expected = _("beijing and shanghai send their orders to guangzhou, and {what}").format(what=_(what))
        if not sending:
            return Outcome(False, expected, _("neither beijing nor shanghai sends to guangzhou yet"))
        if len(sending) < len(REGIONS):
            return Outcome(False, expected, _("only {region} sends to guangzhou so far").format(region=sending[0]))
        return check(lab)

    return guarded


def _centre_keeps_its_own(lab: Lab) -> Outcome:
    expected = _("an order produced in guangzhou is in neither beijing nor shanghai after 5 s")
    seen = _watch(lab, CENTRE, fresh_topic(NAMESPACE, "centre"), REGIONS, window_s=5)
    left = sorted(region for region, arrived in seen.items() if arrived)
    if left:
        return Outcome(False, expected, _("it arrived in {regions}").format(regions=", ".join(left)))
    return Outcome(True, expected, _("beijing and shanghai received nothing of it in 5 s"))


def _regions_apart(lab: Lab) -> Outcome:
    expected = _("an order produced in beijing is not in shanghai after 5 s, nor one produced in shanghai in beijing")
    crossed = []
    for source, target in (REGIONS, REGIONS[::-1]):
        if _watch(lab, source, fresh_topic(NAMESPACE, "apart"), (target,), window_s=5)[target]:
            crossed.append(f"{source} → {target}")
    if crossed:
        return Outcome(False, expected, _("orders crossed: {links}").format(links=", ".join(crossed)))
    return Outcome(True, expected, _("neither region received the other's order in 5 s"))


def _centre_has_no_replicator(lab: Lab) -> Outcome:
    """The stats, not the arrivals: a replicator whose link is down delivers nothing yet keeps a backlog
    that leaves as soon as the link heals."""
    expected = _("guangzhou's topics keep no replicator (no replication backlog towards any region)")
    topic = fresh_topic(NAMESPACE, "outbound")
    _send(lab, CENTRE, topic, b"geolab-check outbound")
    time.sleep(2)  # a new topic's replicators start a moment after its first message
    replicators = sorted(lab.admin(CENTRE).get_topic_stats(topic).replication)
    if replicators:
        return Outcome(False, expected, _("guangzhou's new topic has replicators to {clusters}").format(
            clusters=", ".join(replicators)))
    return Outcome(True, expected, _("guangzhou's new topic has none"))


def reset_aggregation(lab: Lab) -> None:
    """Back to bare clusters: no tenant `geolab` (nor the checks' own), no peer registered anywhere."""
    for cluster in lab.clusters:
        admin = lab.admin(cluster)
        for tenant in (TENANT, CHECK_TENANT):
            if tenant not in admin.list_tenants():
                continue
            for namespace in admin.list_namespaces(tenant):
                drop_namespace(lab, cluster, namespace)
            admin.delete_tenant(tenant)
    for cluster in lab.clusters:
        for peer in set(lab.admin(cluster).list_clusters()) & set(lab.clusters) - {cluster}:
            lab.admin(cluster).delete_cluster(peer)


# ------------------------------------------------------------------------------ 09-tdmq/2 predict

NOWHERE = N_("nowhere: guangzhou only receives")
ONCE = N_("to beijing and shanghai, once each")
ECHO = N_("to beijing and shanghai, and back again to guangzhou")


def centre_lists_the_regions(lab: Lab) -> tuple[str | None, str]:
    """A namespace of the check's own (tenant `geolab-check`) set up as the aggregation, except that
    guangzhou's copy lists beijing and shanghai too; one message produced in guangzhou, watched in the
    regions, and its copies counted in guangzhou."""
    needed = {CENTRE: REGIONS, "beijing": (CENTRE,), "shanghai": (CENTRE,)}
    missing = {local: [peer for peer in peers if peer not in lab.admin(local).list_clusters()]
               for local, peers in needed.items()}
    if any(missing.values()):
        said = "; ".join(f"{local}: {', '.join(peers)}" for local, peers in missing.items() if peers)
        return None, _("a cluster does not know a peer it must send to (cluster: the peers it lacks): {missing}; "
                       "register them first (the cells above the exercise)").format(missing=said)
    namespace = f"{CHECK_TENANT}/centre-{uuid.uuid4().hex[:6]}"
    lists = {**DESIGN, CENTRE: (CENTRE, *REGIONS)}
    try:
        for cluster, clusters in lists.items():
            lab.admin(cluster).create_tenant(CHECK_TENANT, list(clusters))
            lab.admin(cluster).create_namespace(namespace, list(clusters))
    except AdminError as exc:
        return None, _("cannot set the experiment up: {reason}").format(reason=exc.reason)
    topic = fresh_topic(namespace, "centre")
    payload = f"geolab-check from guangzhou {uuid.uuid4().hex[:8]}".encode()
    consumers = {r: lab.client(r).subscribe(topic, "geolab-check") for r in REGIONS}
    try:
        _send(lab, CENTRE, topic, payload)
        deadline = time.monotonic() + 30
        arrived = {r: any(m.data == payload
                          for m in collect(c, [payload], timeout_s=max(0.5, deadline - time.monotonic())))
                   for r, c in consumers.items()}
        copies = _copies(lab, CENTRE, topic, payload)
    finally:
        for consumer in consumers.values():
            unsubscribe_or_close(consumer)
        for cluster in lists:
            try:
                drop_namespace(lab, cluster, namespace)
            except LabError:
                pass  # the experiment's namespace; left behind, it changes nothing the lesson uses
    reached = sorted(r for r, seen in arrived.items() if seen)
    if reached:
        seen = ngettext("it reached {regions} (watched up to 30 s); guangzhou stores {copies} copy of it",
                        "it reached {regions} (watched up to 30 s); guangzhou stores {copies} copies of it",
                        copies).format(regions=", ".join(reached), copies=copies)
    else:
        seen = ngettext("it reached neither beijing nor shanghai in 30 s; guangzhou stores {copies} copy of it",
                        "it reached neither beijing nor shanghai in 30 s; guangzhou stores {copies} copies of it",
                        copies).format(copies=copies)
    if not reached:
        return NOWHERE, seen
    if len(reached) < len(REGIONS):
        return None, seen
    if copies < 1:
        return None, seen
    return (ONCE if copies == 1 else ECHO), seen


QUESTION = Question(N_("Where does a message produced in guangzhou go?"), (NOWHERE, ONCE, ECHO),
                    centre_lists_the_regions)


EXERCISES = [
    Exercise("09-tdmq/1", NOTEBOOK, N_("design: aggregate beijing and shanghai into guangzhou"),
             (policy("beijing"), policy("shanghai"), policy("guangzhou"),
              Case(N_("orders from beijing and shanghai merge in one topic in guangzhou"), _merge, points=2),
              Case(N_("nothing produced in guangzhou leaves it"),
                   _once_regions_send(N_("nothing produced in guangzhou leaves it"), _centre_keeps_its_own)),
              Case(N_("beijing and shanghai stay apart"),
                   _once_regions_send(N_("the two regions stay apart"), _regions_apart), points=2),
              Case(N_("guangzhou keeps no replicator"),
                   _once_regions_send(N_("guangzhou keeps no replicator"), _centre_has_no_replicator),
                   hidden=True)),
             N_("With independent stores each cluster has its own copy of the tenant and of the namespace, and "
                "the cluster where a message is produced sends it where its **own** copy says (01-basics/3). "
                "A copy must list its own cluster; a tenant may only allow clusters its cluster knows, and a "
                "cluster only needs to know the clusters it sends to."),
             reset_aggregation,
             statement=N_("Build TDMQ's global data archiving with Pulsar's own verbs on these bare clusters. "
                          "Orders produced in **beijing** and in **shanghai** on any topic of the namespace "
                          "`geolab/orders` (tenant `geolab`) must arrive in **guangzhou**, on the topic of the same "
                          "name; nothing produced in guangzhou may leave it; and beijing and shanghai stay apart: "
                          "neither receives the other's orders. Peers reach each other as "
                          "`http://<cluster>:8080` and `pulsar://<cluster>:6650`. The check reads each cluster's "
                          "copy of the namespace, sends an order from each region on one new topic and waits up to "
                          "30 s for both on one subscription in guangzhou, then sends from each cluster and "
                          "watches the others for 5 s to see nothing arrive; the grade also reads guangzhou's "
                          "replicators."),
             stub=N_("# beijing and shanghai send to guangzhou: each must know where guangzhou is\n"
                     "# on each of the three clusters: the tenant geolab and the namespace geolab/orders, each "
                     "copy listing where that cluster's own messages go\n")),
    predict_exercise(
        "09-tdmq/2", NOTEBOOK, N_("predict: the centre lists the regions"), QUESTION,
        N_("Which cluster's replicator would send guangzhou's message, and what does a replicator do with a "
           "message that reached its cluster by replication (lesson 03)?"),
        statement=N_("Your archive works. Now suppose **guangzhou's** copy of the namespace also lists beijing "
                     "and shanghai (guangzhou knows both, and its tenant allows them), while beijing's and "
                     "shanghai's copies stay as you made them. Where does a message produced in guangzhou go? "
                     "Record your prediction; the check then sets exactly that up in a namespace of its own, "
                     "sends one message from guangzhou, watches beijing and shanghai for up to 30 s and counts the "
                     "copies guangzhou stores.")),
]
