"""Declarative lab topologies: which clusters, how they share configuration, who replicates to whom.

Owns validation of cluster names and links, done before anything starts. Knows nothing of Docker
or HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import Enum

from labs.errors import TopologyError
from labs.i18n import N_, _

#: Cluster names double as Docker network aliases and appear in replicator names
#: (`pulsar.repl.<cluster>`, split on "."), so: lowercase letters, digits and hyphens.
CLUSTER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
RESERVED_NAMES = frozenset({"standalone", "global", "configuration-store", "localhost"})
TENANT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
MAX_CLUSTERS = 4


class ConfigStore(str, Enum):
    """Where clusters keep tenants, namespaces and cluster registrations."""

    INDEPENDENT = "independent"  # each cluster its own store; peers registered on each side
    SHARED = "shared"  # one "global ZooKeeper" shared by every cluster


@dataclass(frozen=True, order=True)
class Link:
    """Messages produced in `source` are replicated to `target`."""

    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass(frozen=True)
class Topology:
    """A lab's clusters and replication links.

    Attributes:
        kind: "single", "full-mesh", "one-way", "failover" or "custom".
        clusters: cluster names, in display order.
        links: directed replication links.
        config_store: independent stores, or one shared configuration store.
        tenant: the lab's tenant, created on every cluster.
        namespace: the lab's replicated namespace inside `tenant`.
        enforce_one_way: restrict each namespace's allowed clusters to where it replicates, so
            producers cannot send messages back against the links.
        replicated_subscriptions: brokers take subscription snapshots (failover).
        active: the cluster clients use first (failover only).
    """

    kind: str
    clusters: tuple[str, ...]
    links: tuple[Link, ...]
    config_store: ConfigStore = ConfigStore.INDEPENDENT
    tenant: str = "geolab"
    namespace: str = "geo"
    enforce_one_way: bool = False
    replicated_subscriptions: bool = True
    active: str | None = None
    default_name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def name(self) -> str:
        """The lab name used when none is given."""
        return self.default_name or self.kind

    @property
    def qualified_namespace(self) -> str:
        return f"{self.tenant}/{self.namespace}"

    def targets(self, cluster: str) -> tuple[str, ...]:
        """Clusters that messages produced in `cluster` are replicated to."""
        return tuple(link.target for link in self.links if link.source == cluster)

    def sources(self, cluster: str) -> tuple[str, ...]:
        """Clusters that replicate into `cluster`."""
        return tuple(link.source for link in self.links if link.target == cluster)

    def replication_clusters(self, cluster: str) -> tuple[str, ...]:
        """The namespace `replication_clusters` policy as seen on `cluster` (itself first)."""
        return (cluster, *self.targets(cluster))

    @property
    def standby(self) -> tuple[str, ...]:
        return tuple(c for c in self.clusters if c != self.active) if self.active else ()

    def fingerprint(self) -> str:
        """A stable digest used to recognise a running lab of the same topology."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "clusters": list(self.clusters),
                "links": [[link.source, link.target] for link in sorted(self.links)],
                "config_store": self.config_store.value,
                "tenant": self.tenant,
                "namespace": self.namespace,
                "enforce_one_way": self.enforce_one_way,
                "replicated_subscriptions": self.replicated_subscriptions,
                "active": self.active,
                "default_name": self.default_name,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Topology:
        data = json.loads(text)
        return cls(
            kind=data["kind"],
            clusters=tuple(data["clusters"]),
            links=tuple(Link(a, b) for a, b in data["links"]),
            config_store=ConfigStore(data["config_store"]),
            tenant=data["tenant"],
            namespace=data["namespace"],
            enforce_one_way=data["enforce_one_way"],
            replicated_subscriptions=data["replicated_subscriptions"],
            active=data["active"],
            default_name=data.get("default_name", ""),
        )


def validate_cluster_name(name: object) -> str:
    """Return `name` if it can name a cluster, else raise TopologyError saying why."""
    if not isinstance(name, str):
        raise TopologyError(_("Cluster name {name!r} is a {kind}; expected a string such as 'beijing'.").format(
            name=name, kind=type(name).__name__))
    if name in RESERVED_NAMES:
        raise TopologyError(_("Cluster name {name!r} is reserved by Pulsar or the lab; expected a region name such "
                              "as 'beijing'.").format(name=name))
    if not CLUSTER_NAME.match(name):
        raise TopologyError(_(
            "Cluster name {name!r} is invalid: expected 2-32 characters of lowercase letters, digits "
            "and '-', starting with a letter and not ending with '-' (it becomes a network host name "
            "and part of the replicator name pulsar.repl.<cluster>). Example: 'beijing', 'us-east'."
        ).format(name=name))
    return name


def _find_cycle(clusters: tuple[str, ...], links: tuple[Link, ...]) -> list[str] | None:
    graph: dict[str, list[str]] = {c: [] for c in clusters}
    for link in links:
        graph[link.source].append(link.target)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for cluster in clusters:
        if cluster not in state:
            found = visit(cluster)
            if found:
                return found
    return None


def validate(topology: Topology) -> None:
    """Check a topology completely; raise TopologyError naming the first problem and the fix."""
    clusters = topology.clusters
    if not clusters:
        raise TopologyError(_("A topology needs at least one cluster; got none, expected 1 to {most}. Example: "
                              "full_mesh('beijing', 'shanghai').").format(most=MAX_CLUSTERS))
    if len(clusters) > MAX_CLUSTERS:
        raise TopologyError(_("A lab runs at most {most} clusters on one machine (each needs about 700 MiB); got "
                              "{count}: {clusters}; expected 1 to {most}. Leave some out.").format(
            most=MAX_CLUSTERS, count=len(clusters), clusters=list(clusters)))
    for name in clusters:
        validate_cluster_name(name)
    duplicates = sorted({c for c in clusters if clusters.count(c) > 1})
    if duplicates:
        raise TopologyError(_("Cluster names must be unique; {duplicates} appear more than once in {clusters}; "
                              "expected each name once. Rename or remove the repeats.").format(
            duplicates=duplicates, clusters=list(clusters)))
    for message, value in ((N_("The tenant name {value!r} is invalid: expected letters, digits, '_', '-' or '.', "
                               "starting with a letter or digit."), topology.tenant),
                           (N_("The namespace name {value!r} is invalid: expected letters, digits, '_', '-' or "
                               "'.', starting with a letter or digit."), topology.namespace)):
        if not TENANT_NAME.match(value):
            raise TopologyError(_(message).format(value=value))
    for link in topology.links:
        for end in (link.source, link.target):
            if end not in clusters:
                raise TopologyError(_("Link {link} names cluster {end!r}, which is not in the topology; expected one "
                                      "of {clusters}. Add the cluster or fix the link.").format(
                    link=link, end=end, clusters=list(clusters)))
        if link.source == link.target:
            raise TopologyError(_("Link {link} replicates a cluster to itself; expected two different "
                                  "clusters.").format(link=link))
    if len(set(topology.links)) != len(topology.links):
        raise TopologyError(_("Links appear twice in {links}; expected each once.").format(
            links=[str(link) for link in topology.links]))
    if topology.kind == "one-way":
        cycle = _find_cycle(clusters, topology.links)
        if cycle:
            raise TopologyError(_("A one-way topology must not replicate back: the links {cycle} form a cycle; "
                                  "expected no way back. Remove a link, or use full_mesh() for two-way "
                                  "replication.").format(cycle=" -> ".join(cycle)))
    if topology.config_store is ConfigStore.SHARED:
        expected = {Link(a, b) for a in clusters for b in clusters if a != b}
        if set(topology.links) != expected:
            raise TopologyError(_(
                "With a shared configuration store every cluster sees the same namespace policy, so "
                "replication is always full mesh; expected every cluster linked to every other. Use "
                "config_store='independent' for one-way links."
            ))
    if topology.active is not None and topology.active not in clusters:
        raise TopologyError(_("Active cluster {active!r} is not in the topology; expected one of {clusters}.").format(
            active=topology.active, clusters=list(clusters)))


def _mesh(clusters: tuple[str, ...]) -> tuple[Link, ...]:
    return tuple(Link(a, b) for a in clusters for b in clusters if a != b)


def single(cluster: str = "beijing") -> Topology:
    """One cluster, no replication (the welcome notebook)."""
    return Topology(kind="single", clusters=(cluster,), links=(), default_name="single")


def full_mesh(*clusters: str, config_store: str | ConfigStore = ConfigStore.SHARED) -> Topology:
    """Every cluster replicates to every other.

    Args:
        clusters: two to four cluster names, e.g. ``"beijing", "shanghai", "guangzhou"``.
        config_store: ``"shared"`` (one global ZooKeeper, metadata created once) or ``"independent"``
            (each cluster registers its peers and gets the tenant and namespace itself).
    """
    try:
        store = ConfigStore(config_store)
    except ValueError:
        raise TopologyError(_("config_store={value!r} is not known; expected 'shared' or 'independent'.").format(
            value=config_store)) from None
    if len(clusters) < 2:
        raise TopologyError(_("A full mesh needs at least two clusters; got {clusters}, expected 2 to {most}. "
                              "Example: full_mesh('beijing', 'shanghai').").format(clusters=list(clusters),
                                                                                    most=MAX_CLUSTERS))
    suffix = "" if store is ConfigStore.SHARED else "-independent"
    return Topology(
        kind="full-mesh", clusters=tuple(clusters), links=_mesh(tuple(clusters)), config_store=store,
        default_name=f"full-mesh{suffix}",
    )


def one_way(*clusters: str) -> Topology:
    """Replication along a chain, one direction only: ``one_way("beijing", "shanghai")``.

    Each namespace may only send to the next cluster (allowed clusters are enforced), so nothing
    flows back. A longer chain ``one_way("a", "b", "c")`` shows that replication is one hop: a's
    messages reach b but not c.
    """
    if len(clusters) < 2:
        raise TopologyError(_("One-way replication needs a source and a target; got {clusters}, expected at least "
                              "two. Example: one_way('beijing', 'shanghai').").format(clusters=list(clusters)))
    links = tuple(Link(a, b) for a, b in zip(clusters, clusters[1:], strict=False))
    return Topology(
        kind="one-way", clusters=tuple(dict.fromkeys(clusters)) if len(set(clusters)) != len(clusters)
        else tuple(clusters), links=links, enforce_one_way=True, default_name="one-way",
    )


def failover(active: str = "beijing", standby: str = "shanghai") -> Topology:
    """Active/standby pair: replicated both ways (subscription snapshots need it), clients on `active`."""
    if active == standby:
        raise TopologyError(_("Failover needs two different clusters; got active={active!r}, standby={standby!r}, "
                              "expected two names. Example: failover('beijing', 'shanghai').").format(
            active=active, standby=standby))
    return Topology(
        kind="failover", clusters=(active, standby), links=_mesh((active, standby)),
        replicated_subscriptions=True, active=active, default_name="failover",
    )


PRESETS = {"single": single, "full-mesh": full_mesh, "one-way": one_way, "failover": failover}
