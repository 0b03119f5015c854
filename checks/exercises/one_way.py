"""03_one_way: design a delivery to guangzhou past the one-hop rule, keeping the topology one-way."""

from __future__ import annotations

from checks.engine.model import Case, Exercise, LabSpec, Outcome
from checks.engine.probes import delivery
from labs.i18n import N_, _
from labs.lab import Lab
from labs.topology import one_way

NOTEBOOK = "03_one_way"
LAB = LabSpec(one_way("beijing", "shanghai", "guangzhou"), "one-way")
ALL = ["beijing", "guangzhou", "shanghai"]


def reaches_both(lab: Lab) -> Outcome:
    """Behaviour: a message from beijing arrives in shanghai and in guangzhou."""
    to_shanghai = delivery(lab, "beijing", "shanghai", lab.namespace, timeout_s=20)
    to_guangzhou = delivery(lab, "beijing", "guangzhou", lab.namespace, timeout_s=20)
    return Outcome(to_shanghai.passed and to_guangzhou.passed,
                   _("a message produced in beijing arrives in shanghai and in guangzhou"),
                   _("shanghai: {shanghai}; guangzhou: {guangzhou}").format(shanghai=to_shanghai.actual,
                                                                          guangzhou=to_guangzhou.actual))


def still_one_way(lab: Lab) -> Outcome:
    """Behaviour, once guangzhou is reached: nothing produced in shanghai or guangzhou reaches beijing."""
    expected = _("guangzhou is reached, and a message produced in shanghai or guangzhou does not reach beijing "
                 "in 5 s")
    if not delivery(lab, "beijing", "guangzhou", lab.namespace, timeout_s=20).passed:
        return Outcome(False, expected, _("beijing's messages do not reach guangzhou yet"))
    back = {source: delivery(lab, source, "beijing", lab.namespace, timeout_s=5)
            for source in ("shanghai", "guangzhou")}
    flowed = [source for source, outcome in back.items() if outcome.passed]
    return Outcome(not flowed, expected, _("reached beijing from {sources}").format(sources=flowed) if flowed
                   else _("nothing reached beijing from shanghai or guangzhou in 5 s"))


def reset(lab: Lab) -> None:
    lab.admin("beijing").set_namespace_clusters(lab.namespace, ["beijing", "shanghai"])
    lab.admin("beijing").set_namespace_allowed_clusters(lab.namespace, ["beijing", "shanghai"])


EXERCISES = [
    Exercise("03-one-way/1", NOTEBOOK, N_("deliver beijing's messages to guangzhou"),
             (Case(N_("a message from beijing reaches shanghai and guangzhou"), reaches_both, points=2),
              Case(N_("still one-way: nothing flows back to beijing"), still_one_way, points=2, hidden=True)),
             N_("Replication is one hop, so guangzhou has to be one of the clusters beijing itself sends to; each "
                "cluster's copy of the policy says where its own messages go. And mind the allowed clusters: "
                "Pulsar refuses a replication list wider than them."),
             reset,
             statement=N_("Requirement: beijing's messages reach **guangzhou** as well as shanghai, and the "
                          "topology stays one-way: nothing produced in shanghai or guangzhou may reach beijing. "
                          "Choose what to change and where; the check produces messages and watches where they "
                          "arrive (not which setting you changed). Then trace again."),
             stub=N_("# on beijing only: let lab.namespace use guangzhou, then replicate to it\n")),
]
