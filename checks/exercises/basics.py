"""01_replication_basics: register the peers; replicate the namespace both ways; predict which way
messages flow when only one side lists the other."""

from __future__ import annotations

import uuid

from checks.engine.model import Case, Exercise, LabSpec, Outcome, Question, predict_exercise
from checks.engine.probes import delivery, drop_namespace
from labs.errors import AdminError, WaitTimeout
from labs.i18n import N_, Text, _
from labs.lab import Lab
from labs.topology import full_mesh

NOTEBOOK = "01_replication_basics"
LAB = LabSpec(full_mesh("beijing", "shanghai", config_store="independent"), "basics", configure=False)
NAMESPACE = "geolab/geo"
PAIR = ("beijing", "shanghai")


def registered(local: str, peer: str) -> Case:
    def check(lab: Lab) -> Outcome:
        expected = _("cluster {peer} registered in {local} as http://{peer}:8080 and pulsar://{peer}:6650").format(
            peer=peer, local=local)
        try:
            data = lab.admin(local).get_cluster(peer)
        except AdminError as exc:
            return Outcome(False, expected, _("{local} does not know {peer} (HTTP {status})").format(
                local=local, peer=peer, status=exc.status))
        actual = _("registered as {service_url} and {broker_service_url}").format(
            service_url=data.service_url, broker_service_url=data.broker_service_url)
        return Outcome((data.service_url, data.broker_service_url) == (f"http://{peer}:8080", f"pulsar://{peer}:6650"),
                       expected, actual)

    return Case(Text("{local} knows {peer}", local=local, peer=peer), check)


def namespace_both_ways(cluster: str) -> Case:
    def check(lab: Lab) -> Outcome:
        expected = _("namespace {namespace} on {cluster} replicates to {clusters}").format(
            namespace=NAMESPACE, cluster=cluster, clusters=list(PAIR))
        try:
            clusters = lab.admin(cluster).get_namespace_clusters(NAMESPACE)
        except AdminError as exc:
            return Outcome(False, expected, _("no namespace {namespace} on {cluster} (HTTP {status})").format(
                namespace=NAMESPACE, cluster=cluster, status=exc.status))
        return Outcome(sorted(clusters) == sorted(PAIR), expected,
                       _("replicates to {clusters}").format(clusters=clusters))

    return Case(Text("namespace replicated on {cluster}", cluster=cluster), check)


def delivered(source: str, target: str) -> Case:
    return Case(Text("a message goes {source} → {target}", source=source, target=target),
                lambda lab: delivery(lab, source, target, NAMESPACE))


def reset_namespace(lab: Lab) -> None:
    for cluster in PAIR:
        admin = lab.admin(cluster)
        if "geolab" in admin.list_tenants():
            if NAMESPACE in admin.list_namespaces("geolab"):
                drop_namespace(lab, cluster, NAMESPACE)
            for namespace in admin.list_namespaces("geolab"):  # any other the learner made
                drop_namespace(lab, cluster, namespace)
            admin.delete_tenant("geolab")


def reset_register(lab: Lab) -> None:
    reset_namespace(lab)
    for local, peer in (PAIR, PAIR[::-1]):
        if peer in lab.admin(local).list_clusters():
            lab.admin(local).delete_cluster(peer)


BOTH_WAYS = N_("both ways: one side listing the other is enough")
FORWARD_ONLY = N_("beijing → shanghai only")
NEITHER = N_("neither way: both sides must list each other")
CHECK_TENANT = "geolab-check"


def one_side_lists_the_other(lab: Lab) -> tuple[str | None, str]:
    """A namespace of the check's own (tenant `geolab-check`): beijing's copy lists both clusters,
    shanghai's lists shanghai only; one message each way, watched."""
    namespace = f"{CHECK_TENANT}/oneside-{uuid.uuid4().hex[:6]}"
    try:
        for cluster, clusters in (("beijing", ["beijing", "shanghai"]), ("shanghai", ["shanghai"])):
            lab.admin(cluster).create_tenant(CHECK_TENANT, list(PAIR))
            lab.admin(cluster).create_namespace(namespace, clusters)
    except AdminError as exc:
        return None, _("cannot set the experiment up ({reason}); register the peers first (01-basics/1)").format(
            reason=exc.reason)
    try:
        forth = delivery(lab, "beijing", "shanghai", namespace, timeout_s=15)
        back = delivery(lab, "shanghai", "beijing", namespace, timeout_s=5)
    finally:
        for cluster in PAIR:
            try:
                drop_namespace(lab, cluster, namespace)
            except (AdminError, WaitTimeout):
                pass  # the experiment's namespace; left behind, it changes nothing the lesson uses
    seen = _("beijing → shanghai: {forth}; shanghai → beijing: {back} (watched 5 s)").format(
        forth=forth.actual, back=back.actual)
    if forth.passed and back.passed:
        return BOTH_WAYS, seen
    if forth.passed:
        return FORWARD_ONLY, seen
    return NEITHER if not back.passed else None, seen


QUESTION = Question(N_("Which way do messages flow?"), (BOTH_WAYS, FORWARD_ONLY, NEITHER), one_side_lists_the_other)


EXERCISES = [
    Exercise("01-basics/1", NOTEBOOK, N_("register the peers"),
             (registered("beijing", "shanghai"), registered("shanghai", "beijing")),
             N_("The same verb as `pulsar-admin clusters create shanghai --url http://shanghai:8080 "
                "--broker-url pulsar://shanghai:6650`, once on each cluster."),
             reset_register,
             # one text with the sentence on `lab.admin` (a translation is made of whole texts)
             statement=N_("Register `shanghai` in beijing's metadata and `beijing` in shanghai's, with the URLs "
                          "above. `lab.admin(cluster)` speaks `pulsar-admin`'s verbs "
                          "(`help(lab.admin(\"beijing\"))` lists them), in Python's spelling."),
             stub=N_("# register shanghai in beijing's metadata\n# register beijing in shanghai's metadata\n")),
    Exercise("01-basics/2", NOTEBOOK, N_("replicate the namespace both ways"),
             (namespace_both_ways("beijing"), namespace_both_ways("shanghai"),
              delivered("beijing", "shanghai"), delivered("shanghai", "beijing")),
             N_("Independent stores: what you create on beijing does not exist on shanghai until you create it "
                "there too. `pulsar-admin tenants create` and `namespaces create --clusters` have Python twins."),
             reset_namespace,
             statement=N_("On **each** cluster create the tenant `geolab` allowed on both clusters, and the "
                          "namespace `geolab/geo` replicating to both."),
             stub=N_("# beijing: the tenant geolab, then the namespace geolab/geo replicating to both clusters\n"
                     "# shanghai: the same\n")),
    predict_exercise(
        "01-basics/3", NOTEBOOK, N_("predict: one side lists the other"), QUESTION,
        N_("Who sends a replicated message: the cluster where it was produced, or the one it goes to? Whose "
           "copy of the policy does that cluster read?"),
        statement=N_("With independent stores each cluster has its own copy of a namespace's policy; you listed "
                     "both clusters in each. Suppose **beijing's** copy lists beijing and shanghai but "
                     "**shanghai's** lists only shanghai. Which way do messages flow? Record your prediction; the "
                     "check then sets exactly that up in a namespace of its own and sends a message each way.")),
]
