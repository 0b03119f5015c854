"""The lab: start, reattach, inspect, fault and stop a set of real Pulsar clusters.

This is the public entry point notebooks and the CLI use::

    lab = Lab.start(full_mesh("beijing", "shanghai", "guangzhou"))
    lab.client("beijing").create_producer(lab.topic("orders")).send(b"hello")
    lab.stop()
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations

import pulsar
from docker.errors import NotFound
from docker.models.containers import Container
from docker.types import EndpointConfig

import docker
from labs import faults
from labs.admin import PulsarAdmin
from labs.client import new_client
from labs.cluster import (
    ROLE_BROKER,
    ROLE_STORE,
    STORE_ALIAS,
    ConfigurationStoreContainer,
    HostPorts,
    PulsarContainer,
    allocate_ports,
    container_name,
    create_network,
    lab_containers,
    lab_labels,
    link_network,
    network_name,
    remove_lab,
    wait_healthy,
    wait_started,
    wait_store_ready,
)
from labs.engine import docker_client, engine_calls
from labs.errors import (
    AdminError,
    LabConflictError,
    LabError,
    LabNotFoundError,
    PortInUseError,
    TopologyError,
    UsageError,
)
from labs.flows import FailoverDrill
from labs.image import resolve_image
from labs.replication import ProbeResult, apply_topology, create_replicated_subscription, probe_replication
from labs.settings import (
    LABEL_CLUSTER,
    LABEL_LAB,
    LABEL_PORTS,
    LABEL_ROLE,
    LABEL_TOPOLOGY,
    LabSettings,
    load_settings,
)
from labs.topology import ConfigStore, Topology

Progress = Callable[[str], None]
LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class ClusterEndpoint:
    """Where the host reaches one cluster of a lab."""

    name: str
    service_url: str
    admin_url: str
    container: str


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
        rows = "".join(
            f"<tr><td>{c.name}</td><td>{c.state}</td><td>{'yes' if c.healthy else '<b>no</b>'}</td>"
            f"<td><code>{c.service_url}</code></td><td><code>{c.admin_url}</code></td></tr>"
            for c in self.clusters
        )
        return (f"<p>Lab <b>{self.name}</b>: {self.kind}, configuration store {self.config_store}, "
                f"namespace <code>{self.namespace}</code></p><table><tr><th>cluster</th><th>state</th>"
                f"<th>healthy</th><th>service URL</th><th>admin URL</th></tr>{rows}</table>")


def _endpoint(client: docker.DockerClient, alias: str) -> EndpointConfig:
    return EndpointConfig(client.api.api_version, aliases=[alias])


def validate_lab_name(name: str) -> str:
    if not LAB_NAME.match(name):
        raise TopologyError(
            f"Lab name {name!r} is invalid: expected up to 41 lowercase letters, digits and '-'. "
            "Example: Lab.start(topology, name='workshop-1')."
        )
    return name


def check_base_port(base_port: object, clusters: int) -> None:
    """Refuse a base port that is not a usable port number, before anything starts."""
    if base_port is None:
        return
    if isinstance(base_port, bool) or not isinstance(base_port, int):
        raise PortInUseError(
            f"base_port={base_port!r} is a {type(base_port).__name__}; expected a port number such as 16650, "
            "or none to let the lab pick free ports."
        )
    highest = 65535 - 2 * clusters + 1
    if not 1024 <= base_port <= highest:
        raise PortInUseError(
            f"base_port={base_port} is outside 1024..{highest}; expected a port with room for {2 * clusters} ports "
            "after it. Pick e.g. base_port=16650, or leave it out to let the lab pick free ports."
        )


def _remove_quietly(client: docker.DockerClient, lab: str, progress: Progress) -> None:
    """Remove what a failed start made; when even that fails (the engine is gone), say how to finish it."""
    try:
        remove_lab(client, lab)
    except Exception as exc:  # the original error matters more; this one only changes the advice
        progress(f"Could not remove lab {lab!r} ({type(exc).__name__}); run `geolab down {lab}` once Docker answers.")


def _incomplete(client: docker.DockerClient, lab: str, topology: Topology, containers: list[Container]) -> str:
    """What is missing from a lab an interrupted start left behind ("" when nothing is, or when there
    is no lab). A lab with another topology is not judged here: reattaching refuses it."""
    if {c.labels.get(LABEL_TOPOLOGY) for c in containers} - {topology.to_json()}:
        return ""
    networks = {n.name for n in client.networks.list(filters={"label": f"{LABEL_LAB}={lab}"})}
    if not containers:
        return f"networks {sorted(networks)} without containers" if networks else ""
    clusters = {c.labels.get(LABEL_CLUSTER) for c in containers if c.labels.get(LABEL_ROLE) == ROLE_BROKER}
    missing = [c for c in topology.clusters if c not in clusters]
    if missing:
        return f"clusters {missing} have no container"
    stores = [c for c in containers if c.labels.get(LABEL_ROLE) == ROLE_STORE]
    if topology.config_store is ConfigStore.SHARED:
        if not stores:
            return "the configuration store has no container"
        store_network = network_name(lab, "store")
        # a broker started without its way to the store gives up on it and exits
        cut_off = [c.labels.get(LABEL_CLUSTER) for c in containers
                   if c.labels.get(LABEL_ROLE) == ROLE_BROKER
                   and store_network not in (c.attrs.get("NetworkSettings", {}).get("Networks") or {})]
        if cut_off:
            return f"clusters {cut_off} are not on the configuration store's network"
    wanted = set(_pair_networks(lab, topology).values()) | {network_name(lab, "cluster", c) for c in topology.clusters}
    if wanted - networks:
        return f"networks {sorted(wanted - networks)} are missing"
    return ""


def _pair_networks(lab: str, topology: Topology) -> dict[tuple[str, str], str]:
    """One network per cluster pair: the link between them, which `cut_link` removes."""
    return {(a, b): link_network(lab, a, b) for a, b in combinations(topology.clusters, 2)}


class Lab:
    """A running set of Pulsar clusters for one topology. Create with `Lab.start` or `Lab.attach`."""

    def __init__(self, name: str, topology: Topology, endpoints: dict[str, ClusterEndpoint],
                 settings: LabSettings, docker: docker.DockerClient) -> None:
        self.name = name
        self.topology = topology
        self.endpoints = endpoints
        self.settings = settings
        self._docker = docker
        self._admins: dict[str, PulsarAdmin] = {}
        self._clients: dict[str, pulsar.Client] = {}
        self.started_in_s = 0.0
        self.reattached = False
        self.last_probe: ProbeResult | None = None

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

        Raises:
            TopologyError, EngineError, ImageError, PortInUseError: before anything starts.
            LabConflictError: a lab of that name runs another topology.
            ProvisioningError: a cluster did not become healthy; nothing is left behind.
        """
        if not isinstance(topology, Topology):
            raise TopologyError(
                f"Lab.start got {topology!r}; expected a Topology such as full_mesh('beijing', 'shanghai')."
            )
        if name is not None and not isinstance(name, str):
            raise UsageError(f"name={name!r} is a {type(name).__name__}; expected a lab name such as 'workshop-1'.")
        check_base_port(base_port, len(topology.clusters))
        settings = load_settings()
        lab_name = validate_lab_name(settings.lab_prefix + (name or topology.name))
        client = docker_client()
        started = time.monotonic()
        with engine_calls(f"start lab {lab_name!r}", f"Run `geolab down {lab_name}`, then start the lab again."):
            existing = lab_containers(client, lab_name)
            leftover = _incomplete(client, lab_name, topology, existing)
            if leftover:
                progress(f"Lab {lab_name!r} was left half-made by an interrupted start ({leftover}); "
                         "removing it and starting again.")
                remove_lab(client, lab_name)
                existing = []
            if existing:
                lab = cls._reattach(lab_name, topology, existing, settings, client, progress)
            else:
                image = resolve_image(client, settings, progress)
                ports = allocate_ports(topology.clusters, base_port)
                lab = cls._provision(lab_name, topology, image, ports, settings, client, progress)
            try:
                if configure:
                    apply_topology(topology, lab.admins(), progress)
                if configure and probe and topology.links:
                    lab.last_probe = lab.probe()
            except BaseException:
                if not lab.reattached:
                    _remove_quietly(client, lab_name, progress)
                lab.close()
                raise
        lab.started_in_s = time.monotonic() - started
        verb = "Reattached to" if lab.reattached else "Started"
        progress(f"{verb} lab {lab_name!r} ({topology.kind}, {len(topology.clusters)} cluster(s)) "
                 f"in {lab.started_in_s:.1f} s; namespace {topology.qualified_namespace}")
        return lab

    @classmethod
    def _provision(cls, name: str, topology: Topology, image: str, ports: dict[str, HostPorts],
                   settings: LabSettings, client: docker.DockerClient, progress: Progress) -> Lab:
        topology_json = topology.to_json()
        networks = _pair_networks(name, topology)
        try:
            for network in networks.values():
                create_network(client, network, name)
            store_network = None
            if topology.config_store is ConfigStore.SHARED:
                store_network = network_name(name, "store")
                create_network(client, store_network, name)
                progress("Starting the shared configuration store (global ZooKeeper) ...")
                store = ConfigurationStoreContainer(image).with_name(container_name(name, STORE_ALIAS))
                store.with_kwargs(
                    labels=lab_labels(name, ROLE_STORE, topology_json), network=store_network,
                    networking_config={store_network: _endpoint(client, STORE_ALIAS)},
                )
                store.start()  # brokers start beside it and connect once ZooKeeper listens

            def launch(cluster: str) -> float:
                # The cluster's own network carries its published ports; pair networks carry
                # replication (cutting one leaves the ports reachable); the store network, ZooKeeper.
                own = [net for pair, net in networks.items() if cluster in pair and pair[0] != pair[1]]
                if store_network:
                    own.append(store_network)
                first = network_name(name, "cluster", cluster)
                create_network(client, first, name)
                container = (
                    PulsarContainer(image, cluster)
                    .with_host_ports(ports[cluster])
                    .with_memory(settings.broker_memory, settings.broker_gc)
                    .with_name(container_name(name, cluster))
                )
                if store_network:
                    container.with_configuration_store(ConfigurationStoreContainer.url())
                container.with_kwargs(
                    labels=lab_labels(name, ROLE_BROKER, topology_json, cluster, ports[cluster]),
                    network=first,
                    networking_config={first: _endpoint(client, cluster)},
                )
                progress(f"[{cluster}] starting Pulsar {image} on 127.0.0.1:{ports[cluster].broker} ...")
                container.start()
                wrapped = container.get_wrapped_container()
                for net in own:
                    if net != first:
                        client.networks.get(net).connect(wrapped, aliases=[cluster])
                waited = wait_healthy(wrapped, cluster, container.get_admin_url(), settings.start_timeout_s)
                progress(f"[{cluster}] healthy after {waited:.1f} s")
                return waited

            def store_ready() -> float:
                wait_store_ready(store.get_wrapped_container(), settings.start_timeout_s)
                progress("Configuration store ready.")
                return 0.0

            with ThreadPoolExecutor(max_workers=len(topology.clusters) + 1) as pool:
                tasks = [pool.submit(store_ready)] if store_network else []
                tasks += [pool.submit(launch, c) for c in topology.clusters]
                for future in tasks:
                    future.result()
        except BaseException:
            progress(f"Start of lab {name!r} failed; removing its containers and networks.")
            _remove_quietly(client, name, progress)
            raise
        endpoints = {
            c: ClusterEndpoint(c, f"pulsar://127.0.0.1:{ports[c].broker}", f"http://127.0.0.1:{ports[c].http}",
                               container_name(name, c))
            for c in topology.clusters
        }
        return cls(name, topology, endpoints, settings, client)

    @classmethod
    def _from_containers(cls, name: str, containers: list[Container], settings: LabSettings,
                         client: docker.DockerClient) -> Lab:
        brokers = [c for c in containers if c.labels.get(LABEL_ROLE) == ROLE_BROKER]
        if not brokers:
            raise LabNotFoundError(
                f"Lab {name!r} has no cluster containers left; expected one per cluster. "
                f"Run `geolab down {name}` and start it again."
            )
        endpoints = {}
        try:
            topology = Topology.from_json(brokers[0].labels[LABEL_TOPOLOGY])
            for container in brokers:
                cluster = container.labels[LABEL_CLUSTER]
                ports = json.loads(container.labels[LABEL_PORTS])
                endpoints[cluster] = ClusterEndpoint(
                    cluster, f"pulsar://127.0.0.1:{int(ports['broker'])}", f"http://127.0.0.1:{int(ports['http'])}",
                    container.name,
                )
        except (LookupError, TypeError, ValueError) as exc:  # labels this version cannot read
            raise LabConflictError(
                f"Lab {name!r} carries labels this version of geolab cannot read ({type(exc).__name__}: {exc}); "
                f"expected the labels `geolab up` writes. Remove it with `geolab down {name}` and start it again."
            ) from exc
        missing = [c for c in topology.clusters if c not in endpoints]
        if missing:
            raise LabNotFoundError(
                f"Lab {name!r} is incomplete: clusters {missing} have no container. "
                f"Run `geolab down {name}` and start the lab again."
            )
        return cls(name, topology, endpoints, settings, client)

    @classmethod
    def _reattach(cls, name: str, topology: Topology, containers: list[Container], settings: LabSettings,
                  client: docker.DockerClient, progress: Progress) -> Lab:
        found = {c.labels.get(LABEL_TOPOLOGY) for c in containers}
        if found != {topology.to_json()}:
            raise LabConflictError(
                f"A lab named {name!r} is already running with another topology "
                f"({sorted(t or '?' for t in found)[0]}); expected {topology.to_json()}. "
                f"Stop it with `geolab down {name}` (or lab.stop()), or start this one with another name=."
            )
        lab = cls._from_containers(name, containers, settings, client)
        lab.reattached = True
        for a, b in combinations(topology.clusters, 2):  # a cut link (or a start cut short) is restored
            faults.heal_link(client, link_network(name, a, b), lab._container(a), lab._container(b), (a, b))
        stopped = [c for c in containers if c.status != "running"]
        for container in sorted(stopped, key=lambda c: c.labels.get(LABEL_ROLE) != ROLE_STORE):
            progress(f"Restarting {container.name} ...")
            container.start()
        restarted = {c.labels.get(LABEL_CLUSTER) for c in stopped}
        for cluster, endpoint in lab.endpoints.items():
            if cluster in restarted:
                wait_started(lab._container(cluster), cluster, endpoint.admin_url, settings.start_timeout_s, progress)
            else:
                wait_healthy(lab._container(cluster), cluster, endpoint.admin_url, settings.start_timeout_s)
        progress(f"Reattached to running lab {name!r}.")
        return lab

    @classmethod
    def attach(cls, name: str) -> Lab:
        """Attach to a running lab without starting or changing anything (for status and grading)."""
        client = docker_client()
        containers = lab_containers(client, validate_lab_name(name))
        if not containers:
            raise LabNotFoundError(
                f"No lab named {name!r} is running; expected one of those `geolab status` lists. "
                "Start it with `geolab up` or Lab.start(...)."
            )
        return cls._from_containers(name, containers, load_settings(), client)

    def stop(self, progress: Progress = _print, force: bool = False) -> None:
        """Close clients and remove every container and network of this lab (kept when
        GEOLAB_KEEP_LABS=1, as batch grading sets it, unless `force`)."""
        self.close()
        if self.settings.keep_labs and not force:
            progress(f"Lab {self.name!r} kept running for grading (GEOLAB_KEEP_LABS=1).")
            return
        containers, networks = remove_lab(self._docker, self.name)
        progress(f"Lab {self.name!r} stopped: removed {containers} container(s) and {networks} network(s).")

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
        if cluster not in self.endpoints:
            raise LabNotFoundError(
                f"Cluster {cluster!r} is not part of lab {self.name!r}; expected one of {list(self.clusters)}."
            )
        return cluster

    def admin(self, cluster: str) -> PulsarAdmin:
        """The admin REST client of `cluster` (cached)."""
        if cluster not in self._admins:
            self._admins[cluster] = PulsarAdmin(self.endpoints[self._check(cluster)].admin_url, cluster)
        return self._admins[cluster]

    def admins(self) -> dict[str, PulsarAdmin]:
        return {c: self.admin(c) for c in self.clusters}

    def client(self, cluster: str) -> pulsar.Client:
        """A pulsar-client connected to `cluster` through its external listener (cached)."""
        if cluster not in self._clients:
            self._clients[cluster] = new_client(self.endpoints[self._check(cluster)].service_url)
        return self._clients[cluster]

    def failover_client(self, check_interval_ms: int = 1000, failover_threshold: int = 2,
                        switch_back_threshold: int = 5) -> pulsar.Client:
        """A new client that follows the active cluster and moves to the standby when it dies.

        Uses pulsar-client's `AutoClusterFailover` (a TCP-connect probe every `check_interval_ms`).
        The caller closes it.
        """
        if self.topology.active is None:
            raise UsageError(
                f"Lab {self.name!r} is a {self.topology.kind} lab; failover_client needs a failover(...) lab. "
                "Start one with Lab.start(failover('beijing', 'shanghai'))."
            )
        primary = pulsar.ServiceInfo(self.endpoints[self.topology.active].service_url)
        secondary = [pulsar.ServiceInfo(self.endpoints[c].service_url) for c in self.topology.standby]
        provider = pulsar.AutoClusterFailover(
            primary, secondary, check_interval_ms=check_interval_ms,
            failover_threshold=failover_threshold, switch_back_threshold=switch_back_threshold,
        )
        return new_client(provider)

    def failover_drill(self, topic: str, subscription: str, check_interval_ms: int = 500) -> FailoverDrill:
        """A failover drill on its own failover client, once `subscription` is a replicated
        subscription on every cluster (without that, the standby cannot resume it).

        Raises:
            LabError: the subscription is missing or not replicated on some cluster.
        """
        for cluster in self.clusters:
            try:
                found = self.admin(cluster).get_topic_stats(topic).subscriptions.get(subscription)
            except AdminError:
                found = None
            if found is None or not found.replicated:
                state = "missing" if found is None else "not replicated"
                raise LabError(
                    f"Subscription {subscription!r} on {topic} is {state} in {cluster}; expected a replicated "
                    f"subscription on every cluster {list(self.clusters)}. Create it first, e.g. "
                    f"lab.admin({cluster!r}).create_subscription(topic, {subscription!r}, replicated=True)."
                )
        client = self.failover_client(check_interval_ms=check_interval_ms)
        return FailoverDrill(client, topic, subscription, owns_client=True)

    def topic(self, name: str) -> str:
        """The full name of a topic in the lab's replicated namespace."""
        return f"persistent://{self.topology.qualified_namespace}/{name}"

    def create_replicated_subscription(self, topic: str, subscription: str) -> None:
        """Create a replicated subscription on every cluster (needed before failover can resume it)."""
        create_replicated_subscription(self.admins(), topic, subscription)

    def probe(self, timeout_s: float = 120.0) -> ProbeResult:
        """Send a message over every replication link and time its arrival."""
        return probe_replication(self.topology, {c: self.client(c) for c in self.clusters}, timeout_s)

    def _container(self, cluster: str) -> Container:
        try:
            return self._docker.containers.get(self.endpoints[self._check(cluster)].container)
        except NotFound:
            raise LabNotFoundError(
                f"The container of cluster {cluster!r} ({self.endpoints[cluster].container}) is gone; expected it "
                f"to exist, running or stopped. Run `geolab down {self.name}` and start the lab again."
            ) from None

    def status(self) -> LabStatus:
        rows = []
        for cluster in self.clusters:
            endpoint = self.endpoints[cluster]
            try:
                state = self._container(cluster).status
            except LabError:
                state = "missing"
            healthy = state == "running" and self.admin(cluster).healthcheck()
            rows.append(ClusterStatus(cluster, state, healthy, endpoint.service_url, endpoint.admin_url))
        return LabStatus(self.name, self.topology.kind, self.topology.config_store.value,
                         self.topology.qualified_namespace, tuple(rows))

    def exec(self, cluster: str, *command: str) -> tuple[int, str]:
        """Run a command inside a cluster's container, e.g. ``lab.exec("beijing", "bin/pulsar-admin", ...)``."""
        code, output = self._container(cluster).exec_run(list(command))
        return int(code), output.decode(errors="replace")

    # ------------------------------------------------------------------ faults

    def kill(self, cluster: str) -> None:
        """Crash a cluster (SIGKILL). Its clients lose their connection; data survives."""
        self._drop_client(cluster)
        faults.kill_cluster(self._container(cluster))

    def stop_cluster(self, cluster: str) -> None:
        """Stop a cluster gracefully."""
        self._drop_client(cluster)
        faults.stop_cluster(self._container(cluster))

    def start_cluster(self, cluster: str, progress: Progress = _print) -> float:
        """Start a stopped or killed cluster and wait until it is healthy and its bookie takes writes;
        returns seconds waited."""
        container = self._container(cluster)
        faults.start_cluster(container)
        return wait_started(container, cluster, self.endpoints[cluster].admin_url, self.settings.start_timeout_s,
                            progress)

    def cut_link(self, a: str, b: str) -> None:
        """Cut the network between two clusters; replication between them stops and backlog grows."""
        first, second = sorted((self._check(a), self._check(b)), key=self.clusters.index)
        faults.cut_link(self._docker, link_network(self.name, first, second), self._container(first),
                        self._container(second), (first, second))

    def heal_link(self, a: str, b: str) -> None:
        """Restore the network between two clusters; replication catches up."""
        first, second = sorted((self._check(a), self._check(b)), key=self.clusters.index)
        faults.heal_link(self._docker, link_network(self.name, first, second), self._container(first),
                         self._container(second), (first, second))

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
    progress(f"Removed {containers} container(s) and {networks} network(s)"
             + (f" of lab {name!r}." if name else " of all GeoLab labs."))
    return containers, networks
