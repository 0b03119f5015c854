"""The lab: start, reattach, inspect, fault and stop a set of real Pulsar clusters.

This is the public entry point notebooks and the CLI use::

    lab = Lab.start(full_mesh("beijing", "shanghai", "guangzhou"))
    lab.client("beijing").create_producer(lab.topic("orders")).send(b"hello")
    lab.stop()
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulsar

from labs.admin import PulsarAdmin
from labs.backend import Backend, ClusterEndpoint, LabRecord
from labs.client import new_client
from labs.cluster import remove_lab
from labs.docker_backend import DockerBackend
from labs.engine import docker_client
from labs.errors import AdminError, LabError, LabNotFoundError, PortInUseError, TopologyError, UsageError
from labs.flows import FailoverDrill
from labs.i18n import _
from labs.replication import ProbeResult, apply_topology, create_replicated_subscription, probe_replication
from labs.settings import LabSettings, load_settings
from labs.topology import Topology

if TYPE_CHECKING:
    from labs.control import RemoteDrill

Progress = Callable[[str], None]
LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    state: str
    healthy: bool
    service_url: str
    admin_url: str


@dataclass(frozen=True)
class LabStatus:
    name: str
    kind: str
    config_store: str
    namespace: str
    clusters: tuple[ClusterStatus, ...]

    def _repr_html_(self) -> str:
        yes, no = _("yes"), "<b>" + _("no") + "</b>"
        rows = "".join(
            f"<tr><td>{c.name}</td><td>{c.state}</td><td>{yes if c.healthy else no}</td>"
            f"<td><code>{c.service_url}</code></td><td><code>{c.admin_url}</code></td></tr>"
            for c in self.clusters
        )
        head = "".join(f"<th>{title}</th>" for title in (_("cluster"), _("state"), _("healthy"), _("service URL"),
                                                         _("admin URL")))
        summary = _("Lab <b>{name}</b>: {kind}, configuration store {store}, namespace "
                    "<code>{namespace}</code>").format(name=self.name, kind=self.kind, store=self.config_store,
                                                       namespace=self.namespace)
        return f"<p>{summary}</p><table><tr>{head}</tr>{rows}</table>"


def validate_lab_name(name: str) -> str:
    if not LAB_NAME.match(name):
        raise TopologyError(_("Lab name {name!r} is invalid: expected up to 41 lowercase letters, digits and '-'. "
                              "Example: Lab.start(topology, name='workshop-1').").format(name=name))
    return name


def check_base_port(base_port: object, clusters: int) -> None:
    """Refuse a base port that is not a usable port number, before anything starts."""
    if base_port is None:
        return
    if isinstance(base_port, bool) or not isinstance(base_port, int):
        raise PortInUseError(_("base_port={value!r} is a {kind}; expected a port number such as 16650, or none to "
                               "let the lab pick free ports.").format(value=base_port, kind=type(base_port).__name__))
    highest = 65535 - 2 * clusters + 1
    if not 1024 <= base_port <= highest:
        raise PortInUseError(_("base_port={value} is outside 1024..{highest}; expected a port with room for {ports} "
                               "ports after it. Pick e.g. base_port=16650, or leave it out to let the lab pick free "
                               "ports.").format(value=base_port, highest=highest, ports=2 * clusters))


def backend_for(settings: LabSettings) -> Backend:
    """The backend this process gets: the control channel when a trusted side gave it one (a graded
    submission, a hosted workshop), else Docker on this host (a learner's laptop, the grader itself)."""
    if settings.control_socket:
        from labs.control import ControlBackend

        return ControlBackend(settings.control_socket, settings.control_token)
    return DockerBackend(settings)


class Lab:
    """A running set of Pulsar clusters for one topology. Create with `Lab.start` or `Lab.attach`.

    A small facade over a `Backend` (labs/backend.py), which runs the clusters; the facade hands out
    clients and admin handles, registers the clusters and probes the links.
    """

    def __init__(self, record: LabRecord, backend: Backend, settings: LabSettings) -> None:
        self.record = record
        self.backend = backend
        self.settings = settings
        self._admins: dict[str, PulsarAdmin] = {}
        self._clients: dict[str, pulsar.Client] = {}
        self.started_in_s = 0.0
        self.last_probe: ProbeResult | None = None

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def topology(self) -> Topology:
        return self.record.topology

    @property
    def endpoints(self) -> dict[str, ClusterEndpoint]:
        return dict(self.record.endpoints)

    @property
    def reattached(self) -> bool:
        return self.record.reattached

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(
        cls,
        topology: Topology,
        name: str | None = None,
        base_port: int | None = None,
        progress: Progress = _print,
        probe: bool = True,
        configure: bool = True,
        backend: Backend | None = None,
    ) -> Lab:
        """Start (or reattach to) the clusters of `topology` and return when replication works.

        Args:
            topology: e.g. ``full_mesh("beijing", "shanghai", "guangzhou")``.
            name: lab name (containers are ``geolab-<name>-<cluster>``); defaults to the preset's name.
            base_port: publish cluster ports from here on 127.0.0.1; default: free ports.
            progress: receives one line per step.
            probe: send a message over every link before returning.
            configure: register peers and create the tenant and namespace; False leaves bare clusters
                for a learner to configure by hand (replication basics).
            backend: who runs the clusters (default: this host's Docker engine).

        Raises:
            TopologyError, SettingsError, UsageError, EngineError, ImageError, PortInUseError: before
                anything starts.
            LabConflictError: a lab of that name runs another topology.
            ProvisioningError: a cluster did not become healthy; nothing is left behind.
        """
        if not isinstance(topology, Topology):
            raise TopologyError(_("Lab.start got {value!r}; expected a Topology such as full_mesh('beijing', "
                                  "'shanghai').").format(value=topology))
        if name is not None and not isinstance(name, str):
            raise UsageError(_("name={value!r} is a {kind}; expected a lab name such as 'workshop-1'.").format(
                value=name, kind=type(name).__name__))
        check_base_port(base_port, len(topology.clusters))
        settings = load_settings()
        lab_name = validate_lab_name(settings.lab_prefix + (name or topology.name))
        runner = backend or backend_for(settings)
        started = time.monotonic()
        record = runner.start(topology, lab_name, base_port, configure, probe, progress)
        lab = cls(record, runner, settings)
        if not record.configured:
            try:
                if configure:
                    apply_topology(topology, lab.admins(), progress)
                if configure and probe and topology.links:
                    lab.last_probe = lab.probe()
            except BaseException:
                lab.close()
                if not record.reattached:
                    try:
                        runner.remove(record)
                    except Exception as exc:  # the original error matters more; this only changes the advice
                        progress(_("Could not remove lab {name!r} ({error}); run `geolab down {name}` once Docker "
                                   "answers.").format(name=lab_name, error=type(exc).__name__))
                raise
        lab.started_in_s = time.monotonic() - started
        said = (_("Reattached to lab {name!r} ({kind}, {count} cluster(s)) in {seconds:.1f} s; namespace {namespace}")
                if record.reattached else
                _("Started lab {name!r} ({kind}, {count} cluster(s)) in {seconds:.1f} s; namespace {namespace}"))
        progress(said.format(name=lab_name, kind=topology.kind, count=len(topology.clusters),
                             seconds=lab.started_in_s, namespace=topology.qualified_namespace))
        return lab

    @classmethod
    def attach(cls, name: str, backend: Backend | None = None) -> Lab:
        """Attach to a running lab without starting or changing anything (for status and grading)."""
        settings = load_settings()
        runner = backend or backend_for(settings)
        return cls(runner.attach(validate_lab_name(name)), runner, settings)

    def stop(self, progress: Progress = _print, force: bool = False) -> None:
        """Close clients and remove every container and network of this lab (kept when
        GEOLAB_KEEP_LABS=1, as batch grading sets it, unless `force`)."""
        self.close()
        if self.settings.keep_labs and not force:
            progress(_("Lab {name!r} kept running for grading (GEOLAB_KEEP_LABS=1).").format(name=self.name))
            return
        containers, networks = self.backend.remove(self.record)
        progress(_("Lab {name!r} stopped: removed {containers} container(s) and {networks} network(s).").format(
            name=self.name, containers=containers, networks=networks))

    def close(self) -> None:
        """Close this handle's clients and admin connections; the clusters keep running."""
        for client in self._clients.values():
            try:
                client.close()
            except pulsar.PulsarException:
                pass
        self._clients.clear()
        for admin in self._admins.values():
            admin.close()
        self._admins.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ handles

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.topology.clusters

    def _check(self, cluster: str) -> str:
        if cluster not in self.record.endpoints:
            said = _("Cluster {cluster!r} is not part of lab {name!r}; expected one of {clusters}.")
            raise LabNotFoundError(said.format(cluster=cluster, name=self.name, clusters=list(self.clusters)))
        return cluster

    def admin(self, cluster: str) -> PulsarAdmin:
        """The admin REST client of `cluster` (cached)."""
        if cluster not in self._admins:
            endpoint = self.record.endpoints[self._check(cluster)]
            self._admins[cluster] = PulsarAdmin(endpoint.admin_url, cluster, token=endpoint.token)
        return self._admins[cluster]

    def admins(self) -> dict[str, PulsarAdmin]:
        return {c: self.admin(c) for c in self.clusters}

    def client(self, cluster: str) -> pulsar.Client:
        """A plain pulsar-client on the cluster's service URL (cached)."""
        if cluster not in self._clients:
            endpoint = self.record.endpoints[self._check(cluster)]
            self._clients[cluster] = new_client(endpoint.service_url, endpoint.token)
        return self._clients[cluster]

    def failover_client(self, check_interval_ms: int = 1000, failover_threshold: int = 2,
                        switch_back_threshold: int = 5) -> pulsar.Client:
        """A new client that follows the active cluster and moves to the standby when it dies.

        Uses pulsar-client's `AutoClusterFailover` (a TCP-connect probe every `check_interval_ms`).
        The caller closes it.
        """
        if self.topology.active is None:
            raise UsageError(_("Lab {name!r} is a {kind} lab; failover_client needs a failover(...) lab. Start one "
                               "with Lab.start(failover('beijing', 'shanghai')).").format(name=self.name,
                                                                                          kind=self.topology.kind))
        def service(cluster: str) -> pulsar.ServiceInfo:
            endpoint = self.record.endpoints[cluster]
            return pulsar.ServiceInfo(endpoint.service_url,
                                      pulsar.AuthenticationToken(endpoint.token) if endpoint.token else None)

        primary = service(self.topology.active)
        secondary = [service(c) for c in self.topology.standby]
        provider = pulsar.AutoClusterFailover(
            primary, secondary, check_interval_ms=check_interval_ms,
            failover_threshold=failover_threshold, switch_back_threshold=switch_back_threshold,
        )
        return new_client(provider)  # each ServiceInfo carries its cluster's token

    def failover_drill(self, topic: str, subscription: str,
                       check_interval_ms: int = 500) -> FailoverDrill | RemoteDrill:
        """A failover drill on its own failover client, once `subscription` is a replicated
        subscription on the active cluster (Pulsar creates and moves the standby's copy itself,
        from the snapshots taken while the drill's traffic flows). In a graded run the trusted side
        runs the drill on its own lab, step by step as the notebook asks, and keeps its report.

        Raises:
            LabError: the subscription is missing or not replicated on the active cluster.
        """
        from labs.control import ControlBackend, RemoteDrill

        if isinstance(self.backend, ControlBackend):
            return RemoteDrill(self.backend, topic, subscription, check_interval_ms)
        active = self.topology.active or self.clusters[0]
        try:
            found = self.admin(active).get_topic_stats(topic).subscriptions.get(subscription)
        except AdminError:
            found = None
        if found is None or not found.replicated:
            said = (_("Subscription {subscription!r} on {topic} is missing in the active cluster {active}; expected a "
                      "replicated subscription there, or the standby cannot resume it. Create it first, e.g. "
                      "lab.admin({active!r}).create_subscription(topic, {subscription!r}, replicated=True).")
                    if found is None else
                    _("Subscription {subscription!r} on {topic} is not replicated in the active cluster {active}; "
                      "expected a replicated subscription there, or the standby cannot resume it. Create it first, "
                      "e.g. lab.admin({active!r}).create_subscription(topic, {subscription!r}, replicated=True)."))
            raise LabError(said.format(subscription=subscription, topic=topic, active=active))
        client = self.failover_client(check_interval_ms=check_interval_ms)
        return FailoverDrill(client, topic, subscription, owns_client=True, lab_name=self.name,
                             primary_url=self.record.endpoints[active].service_url)

    @property
    def namespace(self) -> str:
        """The lab's replicated namespace, ``<tenant>/<namespace>``: "geolab/geo" in a private lab, the
        learner's own tenant (``learner-<name>/geo``) on clusters a workshop shares."""
        return self.topology.qualified_namespace

    def topic(self, name: str) -> str:
        """The full name of a topic in the lab's replicated namespace."""
        return f"persistent://{self.topology.qualified_namespace}/{name}"

    def create_replicated_subscription(self, topic: str, subscription: str) -> None:
        """Create a replicated subscription on every cluster (the active one alone would do: Pulsar
        creates the standby's copy from its snapshots; created everywhere, it exists before any traffic)."""
        create_replicated_subscription(self.admins(), topic, subscription)

    def probe(self, timeout_s: float = 120.0) -> ProbeResult:
        """Send a message over every replication link and time its arrival."""
        return probe_replication(self.topology, {c: self.client(c) for c in self.clusters}, timeout_s)

    def status(self) -> LabStatus:
        rows = []
        for cluster in self.clusters:
            endpoint = self.record.endpoints[cluster]
            state = self.backend.cluster_state(self.record, cluster)
            healthy = state == "running" and self.admin(cluster).healthcheck()
            rows.append(ClusterStatus(cluster, state, healthy, endpoint.service_url, endpoint.admin_url))
        return LabStatus(self.name, self.topology.kind, self.topology.config_store.value,
                         self.topology.qualified_namespace, tuple(rows))

    def exec(self, cluster: str, *command: str) -> tuple[int, str]:
        """Run a command inside a cluster's container, e.g. ``lab.exec("beijing", "bin/pulsar-admin", ...)``."""
        return self.backend.exec(self.record, self._check(cluster), tuple(command))

    # ------------------------------------------------------------------ faults

    def kill(self, cluster: str) -> None:
        """Crash a cluster (SIGKILL). Its clients lose their connection; data survives."""
        self._drop_client(self._check(cluster))
        self.backend.kill_cluster(self.record, cluster)

    def stop_cluster(self, cluster: str) -> None:
        """Stop a cluster gracefully."""
        self._drop_client(self._check(cluster))
        self.backend.stop_cluster(self.record, cluster)

    def start_cluster(self, cluster: str, progress: Progress = _print) -> float:
        """Start a stopped or killed cluster and wait until it is healthy and its bookie takes writes;
        returns seconds waited."""
        return self.backend.start_cluster(self.record, self._check(cluster), progress)

    def cut_link(self, a: str, b: str) -> None:
        """Cut the network between two clusters; replication between them stops and backlog grows."""
        self.backend.cut_link(self.record, self._check(a), self._check(b))

    def heal_link(self, a: str, b: str) -> None:
        """Restore the network between two clusters; replication catches up."""
        self.backend.heal_link(self.record, self._check(a), self._check(b))

    def _drop_client(self, cluster: str) -> None:
        client = self._clients.pop(cluster, None)
        if client is not None:
            try:
                client.close()
            except pulsar.PulsarException:
                pass


def down(name: str | None = None, progress: Progress = _print) -> tuple[int, int]:
    """Remove a lab's containers and networks by label (all labs when `name` is None)."""
    client = docker_client()
    containers, networks = remove_lab(client, name)
    said = (_("Removed {containers} container(s) and {networks} network(s) of lab {name!r}.") if name else
            _("Removed {containers} container(s) and {networks} network(s) of all GeoLab labs."))
    progress(said.format(containers=containers, networks=networks, name=name))
    return containers, networks
