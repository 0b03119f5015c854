"""The Docker backend: labs on this host's Docker engine, started through Testcontainers.

Owns everything Docker a lab needs beyond one container (labs/cluster.py has the containers, ports,
health waits and cleanup): the lab's networks (one per cluster pair, so one link can be cut; one per
cluster for its published ports; one for a shared configuration store), the parallel launch,
removing what an interrupted start left, reattaching, the records read back from container labels,
and the faults. Knows nothing of tenants, namespaces or lessons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

from docker.errors import NotFound
from docker.models.containers import Container
from docker.types import EndpointConfig, LogConfig
from testcontainers.core.container import DockerContainer

import docker
from labs import disks, faults
from labs.backend import ClusterEndpoint, LabRecord
from labs.cluster import (
    CONTAINER_SYSCTLS,
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
from labs.engine import LAB_START, docker_client, engine_calls
from labs.errors import LabConflictError, LabNotFoundError
from labs.i18n import _, in_this_language
from labs.image import resolve_image
from labs.settings import (
    LABEL_CLUSTER,
    LABEL_LAB,
    LABEL_PORTS,
    LABEL_ROLE,
    LABEL_TOPOLOGY,
    LOOPBACK,
    LabSettings,
)
from labs.tokens import LabAuth
from labs.topology import ConfigStore, Topology

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Confinement:
    """How a trusted side closes a lab it runs for a learner (a graded submission's, a workshop
    learner's), so that nothing the learner does with it reaches past it:
    - its networks are closed: no connection to this host, no route out of the lab
      (`labs.firewall.confine_bridge`), and its containers resolve no name outside the lab;
    - each container keeps what Pulsar stores, and its log files, on a disk of `storage_mib` MiB of its
      own (`labs.disks`), and Docker keeps at most `log_mib` MiB of its output."""

    storage_mib: int = 512
    log_mib: int = 10

    def container_options(self) -> dict[str, Any]:
        return {"dns": ["127.0.0.1"],  # the lab's own names resolve (Docker's resolver); nothing is forwarded out
                "log_config": LogConfig(type="json-file", config={"max-size": f"{self.log_mib}m", "max-file": "1"})}


def image_layout(client: docker.DockerClient, image: str) -> tuple[str, tuple[int, int]]:
    """Where Pulsar's home is in `image` (its working directory) and whose its files are (uid, gid)."""
    config = client.images.get(image).attrs.get("Config") or {}
    user, _colon, group = str(config.get("User") or "0").partition(":")
    owner = (int(user), int(group or 0)) if user.isdigit() and (group or "0").isdigit() else (0, 0)
    return str(config.get("WorkingDir") or "/pulsar"), owner


def pair_networks(lab: str, topology: Topology) -> dict[tuple[str, str], str]:
    """One network per cluster pair: the link between them, which `cut_link` removes."""
    return {(a, b): link_network(lab, a, b) for a, b in combinations(topology.clusters, 2)}


def _endpoint(client: docker.DockerClient, alias: str) -> EndpointConfig:
    return EndpointConfig(client.api.api_version, aliases=[alias])


def remove_quietly(client: docker.DockerClient, lab: str, progress: Progress) -> None:
    """Remove what a failed start made; when even that fails (the engine is gone), say how to finish it."""
    try:
        remove_lab(client, lab)
    except Exception as exc:  # the original error matters more; this one only changes the advice
        progress(_("Could not remove lab {name!r} ({error}); run `geolab down {name}` once Docker answers.").format(
            name=lab, error=type(exc).__name__))


def incomplete(client: docker.DockerClient, lab: str, topology: Topology, containers: list[Container]) -> str:
    """What is missing from a lab an interrupted start left behind ("" when nothing is, or when there
    is no lab). A lab with another topology is not judged here: reattaching refuses it."""
    if {c.labels.get(LABEL_TOPOLOGY) for c in containers} - {topology.to_json()}:
        return ""
    networks = {n.name for n in client.networks.list(filters={"label": f"{LABEL_LAB}={lab}"})}
    if not containers:
        return _("networks {networks} without containers").format(networks=sorted(networks)) if networks else ""
    clusters = {c.labels.get(LABEL_CLUSTER) for c in containers if c.labels.get(LABEL_ROLE) == ROLE_BROKER}
    missing = [c for c in topology.clusters if c not in clusters]
    if missing:
        return _("clusters {clusters} have no container").format(clusters=missing)
    stores = [c for c in containers if c.labels.get(LABEL_ROLE) == ROLE_STORE]
    if topology.config_store is ConfigStore.SHARED:
        if not stores:
            return _("the configuration store has no container")
        store_network = network_name(lab, "store")
        # a broker started without its way to the store gives up on it and exits
        cut_off = [c.labels.get(LABEL_CLUSTER) for c in containers
                   if c.labels.get(LABEL_ROLE) == ROLE_BROKER
                   and store_network not in (c.attrs.get("NetworkSettings", {}).get("Networks") or {})]
        if cut_off:
            return _("clusters {clusters} are not on the configuration store's network").format(clusters=cut_off)
    wanted = set(pair_networks(lab, topology).values()) | {network_name(lab, "cluster", c) for c in topology.clusters}
    if wanted - networks:
        return _("networks {networks} are missing").format(networks=sorted(wanted - networks))
    return ""


def record_from_containers(name: str, containers: list[Container], reattached: bool = False) -> LabRecord:
    """A lab's record read back from its containers' labels (for `Lab.attach` and reattaching)."""
    brokers = [c for c in containers if c.labels.get(LABEL_ROLE) == ROLE_BROKER]
    if not brokers:
        raise LabNotFoundError(_("Lab {name!r} has no cluster containers left; expected one per cluster. Run `geolab "
                                 "down {name}` and start it again.").format(name=name))
    endpoints = {}
    try:
        topology = Topology.from_json(brokers[0].labels[LABEL_TOPOLOGY])
        for container in brokers:
            cluster = container.labels[LABEL_CLUSTER]
            ports = json.loads(container.labels[LABEL_PORTS])
            endpoints[cluster] = ClusterEndpoint(
                cluster, f"pulsar://{LOOPBACK}:{int(ports['broker'])}", f"http://{LOOPBACK}:{int(ports['http'])}",
                container.name,
            )
    except (LookupError, TypeError, ValueError) as exc:  # labels this version cannot read
        raise LabConflictError(_("Lab {name!r} carries labels this version of geolab cannot read ({error}); expected "
                                 "the labels `geolab up` writes. Remove it with `geolab down {name}` and start it "
                                 "again.").format(name=name, error=f"{type(exc).__name__}: {exc}")) from exc
    missing = [c for c in topology.clusters if c not in endpoints]
    if missing:
        raise LabNotFoundError(_("Lab {name!r} is incomplete: clusters {clusters} have no container. Run `geolab down "
                                 "{name}` and start the lab again.").format(name=name, clusters=missing))
    return LabRecord(name, topology, endpoints, reattached=reattached)


class DockerBackend:
    """Labs on this host's Docker engine (see the module docstring)."""

    def __init__(self, settings: LabSettings, client: docker.DockerClient | None = None,
                 auth: LabAuth | None = None, confinement: Confinement | None = None) -> None:
        self.settings = settings
        self.docker = client or docker_client()
        self.auth = auth  # authentication and authorization on, for labs many learners share
        self.token = auth.superuser_token if auth else ""
        self.confinement = confinement  # a trusted side's labs for learners: closed, storage capped

    def _signed(self, record: LabRecord) -> LabRecord:
        """The record with this backend's (superuser) token on every endpoint."""
        if not self.token:
            return record
        endpoints = {c: replace(e, token=self.token) for c, e in record.endpoints.items()}
        return replace(record, endpoints=endpoints)

    # ------------------------------------------------------------------ lifecycle

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> LabRecord:
        """Provision the lab, or reattach to it; registering clusters and probing is the facade's job."""
        with engine_calls(LAB_START, name=name):
            existing = lab_containers(self.docker, name)
            leftover = incomplete(self.docker, name, topology, existing)
            if leftover:
                progress(_("Lab {name!r} was left half-made by an interrupted start ({leftover}); removing it and "
                           "starting again.").format(name=name, leftover=leftover))
                remove_lab(self.docker, name)
                existing = []
            if existing:
                return self._reattach(name, topology, existing, progress)
            if self.confinement is not None:
                disks.check_host()
            image = resolve_image(self.docker, self.settings, progress)
            ports = allocate_ports(topology.clusters, base_port)
            return self._provision(name, topology, image, ports, progress)

    def _confined(self, container: DockerContainer, name: str, member: str, image: str) -> dict[str, Any]:
        """Close one member (a cluster, the configuration store) of a closed lab: its disk's folders over
        Pulsar's own; returns its further container options (resolving only the lab's names, a capped
        log); {} for a lab that is not closed."""
        if self.confinement is None:
            return {}
        home, owner = image_layout(self.docker, image)
        mount = disks.create(name, member, self.confinement.storage_mib, owner)
        for folder in disks.FOLDERS:
            container.with_volume_mapping(str(mount / folder), f"{home}/{folder}", "rw")
        return self.confinement.container_options()

    def _provision(self, name: str, topology: Topology, image: str, ports: dict[str, HostPorts],
                   progress: Progress) -> LabRecord:
        client, settings = self.docker, self.settings
        topology_json = topology.to_json()
        networks = pair_networks(name, topology)
        closed = self.confinement is not None
        try:
            for network in networks.values():  # no published port: closed labs give them no route out at all
                create_network(client, network, name, closed=closed, internal=closed)
            store_network = None
            if topology.config_store is ConfigStore.SHARED:
                store_network = network_name(name, "store")
                create_network(client, store_network, name, closed=closed, internal=closed)
                progress(_("Starting the shared configuration store (global ZooKeeper) ..."))
                store = ConfigurationStoreContainer(image).with_name(container_name(name, STORE_ALIAS))
                store.with_kwargs(
                    labels=lab_labels(name, ROLE_STORE, topology_json), network=store_network,
                    networking_config={store_network: _endpoint(client, STORE_ALIAS)},
                    **self._confined(store, name, STORE_ALIAS, image),
                )
                store.start()  # brokers start beside it and connect once ZooKeeper listens

            def launch(cluster: str) -> float:
                # The cluster's own network carries its published ports; pair networks carry
                # replication (cutting one leaves the ports reachable); the store network, ZooKeeper.
                own = [net for pair, net in networks.items() if cluster in pair and pair[0] != pair[1]]
                if store_network:
                    own.append(store_network)
                first = network_name(name, "cluster", cluster)
                create_network(client, first, name, closed=closed)  # it publishes the ports: not internal
                container = (
                    PulsarContainer(image, cluster)
                    .with_host_ports(ports[cluster])
                    .with_memory(settings.broker_memory, settings.broker_gc)
                    .with_name(container_name(name, cluster))
                )
                if store_network:
                    container.with_configuration_store(ConfigurationStoreContainer.url())
                if self.auth is not None:
                    container.with_auth(self.auth.broker_settings())
                container.with_kwargs(
                    labels=lab_labels(name, ROLE_BROKER, topology_json, cluster, ports[cluster]),
                    network=first,
                    networking_config={first: _endpoint(client, cluster)},
                    sysctls=CONTAINER_SYSCTLS,
                    **self._confined(container, name, cluster, image),
                )
                progress(_("[{cluster}] starting Pulsar {image} on {address} ...").format(
                    cluster=cluster, image=image, address=f"{LOOPBACK}:{ports[cluster].broker}"))
                container.start()
                wrapped = container.get_wrapped_container()
                for net in own:
                    if net != first:
                        client.networks.get(net).connect(wrapped, aliases=[cluster])
                waited = wait_healthy(wrapped, cluster, container.get_admin_url(), settings.start_timeout_s, self.token)
                progress(_("[{cluster}] healthy after {seconds:.1f} s").format(cluster=cluster, seconds=waited))
                return waited

            def store_ready() -> float:
                wait_store_ready(store.get_wrapped_container(), settings.start_timeout_s)
                progress(_("Configuration store ready."))
                return 0.0

            # the workers speak the caller's language (a kernel's, on a lab server), not the process's
            with ThreadPoolExecutor(max_workers=len(topology.clusters) + 1) as pool:
                tasks = [pool.submit(in_this_language(store_ready))] if store_network else []
                tasks += [pool.submit(in_this_language(launch), c) for c in topology.clusters]
                for future in tasks:
                    future.result()
        except BaseException:
            progress(_("Start of lab {name!r} failed; removing its containers and networks.").format(name=name))
            remove_quietly(client, name, progress)
            raise
        endpoints = {
            c: ClusterEndpoint(c, f"pulsar://{LOOPBACK}:{ports[c].broker}", f"http://{LOOPBACK}:{ports[c].http}",
                               container_name(name, c), self.token)
            for c in topology.clusters
        }
        return LabRecord(name, topology, endpoints)

    def _reattach(self, name: str, topology: Topology, containers: list[Container], progress: Progress
                  ) -> LabRecord:
        found = {c.labels.get(LABEL_TOPOLOGY) for c in containers}
        if found != {topology.to_json()}:
            raise LabConflictError(_("A lab named {name!r} is already running with another topology ({found}); "
                                     "expected {wanted}. Stop it with `geolab down {name}` (or lab.stop()), or start "
                                     "this one with another name=.").format(
                name=name, found=sorted(t or "?" for t in found)[0], wanted=topology.to_json()))
        record = self._signed(record_from_containers(name, containers, reattached=True))
        for a, b in combinations(topology.clusters, 2):  # a cut link (or a start cut short) is restored
            self.heal_link(record, a, b)
        stopped = [c for c in containers if c.status != "running"]
        for container in sorted(stopped, key=lambda c: c.labels.get(LABEL_ROLE) != ROLE_STORE):
            progress(_("Restarting {container} ...").format(container=container.name))
            container.start()
        restarted = {c.labels.get(LABEL_CLUSTER) for c in stopped}
        timeout = self.settings.start_timeout_s
        for cluster, endpoint in record.endpoints.items():
            if cluster in restarted:
                wait_started(self.container(record, cluster), cluster, endpoint.admin_url, timeout, progress,
                             self.token)
            else:
                wait_healthy(self.container(record, cluster), cluster, endpoint.admin_url, timeout, self.token)
        progress(_("Reattached to running lab {name!r}.").format(name=name))
        return record

    def attach(self, name: str) -> LabRecord:
        containers = lab_containers(self.docker, name)
        if not containers:
            raise LabNotFoundError(_("No lab named {name!r} is running; expected one of those `geolab status` lists. "
                                     "Start it with `geolab up` or Lab.start(...).").format(name=name))
        return self._signed(record_from_containers(name, containers))

    def remove(self, record: LabRecord) -> tuple[int, int]:
        return remove_lab(self.docker, record.name)

    def storage(self, record: LabRecord) -> tuple[disks.DiskUse, ...]:
        """What each cluster's capped disk holds now (none for a lab whose storage is not capped)."""
        found = (disks.use(record.name, cluster) for cluster in record.topology.clusters)
        return tuple(use for use in found if use is not None)

    def close(self) -> None:
        self.docker.close()

    # ------------------------------------------------------------------ containers and faults

    def container(self, record: LabRecord, cluster: str) -> Container:
        try:
            return self.docker.containers.get(record.endpoints[cluster].container)
        except NotFound:
            said = _("The container of cluster {cluster!r} ({container}) is gone; expected it to exist, running or "
                     "stopped. Run `geolab down {name}` and start the lab again.")
            raise LabNotFoundError(said.format(cluster=cluster, container=record.endpoints[cluster].container,
                                               name=record.name)) from None

    def cluster_state(self, record: LabRecord, cluster: str) -> str:
        try:
            return str(self.container(record, cluster).status)
        except LabNotFoundError:
            return "missing"

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        faults.kill_cluster(self.container(record, cluster))

    def stop_cluster(self, record: LabRecord, cluster: str) -> None:
        faults.stop_cluster(self.container(record, cluster))

    def start_cluster(self, record: LabRecord, cluster: str, progress: Progress) -> float:
        container = self.container(record, cluster)
        faults.start_cluster(container)
        return wait_started(container, cluster, record.endpoints[cluster].admin_url, self.settings.start_timeout_s,
                            progress, self.token)

    def _ordered(self, record: LabRecord, a: str, b: str) -> tuple[str, str]:
        first, second = sorted((a, b), key=record.topology.clusters.index)
        return first, second

    def cut_link(self, record: LabRecord, a: str, b: str) -> None:
        first, second = self._ordered(record, a, b)
        faults.cut_link(self.docker, link_network(record.name, first, second), self.container(record, first),
                        self.container(record, second), (first, second))

    def heal_link(self, record: LabRecord, a: str, b: str) -> None:
        first, second = self._ordered(record, a, b)
        faults.heal_link(self.docker, link_network(record.name, first, second), self.container(record, first),
                         self.container(record, second), (first, second))

    def exec(self, record: LabRecord, cluster: str, command: tuple[str, ...]) -> tuple[int, str]:
        code, output = self.container(record, cluster).exec_run(list(command))
        return int(code), output.decode(errors="replace")
