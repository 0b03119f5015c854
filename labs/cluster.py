"""Pulsar clusters in Docker through Testcontainers: containers, private networks, ports, cleanup.

Owns everything Docker: the `PulsarContainer` and `ConfigurationStoreContainer` builders, the lab's
private networks (one per cluster pair, so a single link can be cut; one more for a shared
configuration store), host ports published on 127.0.0.1 only, health waits with a deadline, and
cleanup by label. Knows nothing of tenants, namespaces or lessons.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import httpx
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from testcontainers.core.container import DockerContainer
from typing_extensions import Self

import docker
from labs import disks
from labs.errors import PortInUseError, ProvisioningError, WaitTimeout
from labs.firewall import FirewallError, bridge_name, confine_bridge, dropped, open_bridge
from labs.i18n import N_, Text, _
from labs.settings import (
    BROKER_PORT,
    HTTP_PORT,
    LABEL_CLOSED,
    LABEL_CLUSTER,
    LABEL_LAB,
    LABEL_PORTS,
    LABEL_ROLE,
    LABEL_SANDBOX,
    LABEL_TOPOLOGY,
    LOOPBACK,
    ZOOKEEPER_PORT,
)
from labs.waiting import wait_for

Progress = Callable[[str], None]

ROLE_BROKER = "broker"
ROLE_STORE = "configuration-store"
STORE_ALIAS = "configuration-store"
#: The broker's one advertised listener (named, so clients that pass listener_name="external" work too).
LISTENER = "external"
#: Ports the standalone container uses itself; a cluster's broker port on the host must avoid them,
#: since the broker listens on that port number inside its container too.
CONTAINER_PORTS = frozenset({2181, 3181, 4181, 6750, 8000, 8001, HTTP_PORT})
#: The ports a container's own outgoing connections use (its ephemeral range). The broker binds the
#: host's port number inside the container late in its start, after the bookie and metadata clients
#: have connected; with Linux's default range (32768-60999, where free host ports come from too) one
#: of those connections once held that very port (CI: "Failed to bind Pulsar broker on
#: /0.0.0.0:46863"). Moved out of the way, no broker port can meet one.
CONTAINER_EPHEMERAL = (61000, 65535)
CONTAINER_SYSCTLS = {"net.ipv4.ip_local_port_range": f"{CONTAINER_EPHEMERAL[0]} {CONTAINER_EPHEMERAL[1]}"}
LOG_TAIL = 40

START_COMMAND = "bin/apply-config-from-env.py conf/standalone.conf && exec bin/pulsar standalone -nfw -nss"
STORE_COMMAND = "bin/apply-config-from-env.py conf/zookeeper.conf && exec bin/pulsar zookeeper"


@dataclass(frozen=True)
class HostPorts:
    """Ports a cluster publishes on 127.0.0.1."""

    broker: int
    http: int


def container_name(lab: str, member: str) -> str:
    return f"geolab-{lab}-{member}"


def network_name(lab: str, *members: str) -> str:
    return "geolab-" + "-".join((lab, *members))


def link_network(lab: str, a: str, b: str) -> str:
    """The network that joins clusters `a` and `b` ('_' cannot occur in cluster names)."""
    return network_name(lab, "link", f"{a}_{b}")


class PulsarContainer(DockerContainer):
    """A Pulsar standalone cluster (broker, bookie and local metadata store in one container).

    How any client finds the broker: the broker advertises one address, ``pulsar://127.0.0.1:<port>``,
    and listens on that port inside its container as well as on 6650. The host port is published to
    the same container port, so the advertised address works from the host (any client, with or
    without ``listener_name``) and inside the container (the broker's own client). Peers reach the
    broker as ``pulsar://<cluster>:6650`` on the lab's networks; lookup answers to them are loopback
    addresses, which a standalone broker tells clients to reach through the URL they dialled.

    Why: Pulsar 4.0.8 answers concurrent lookups of one bundle with the first request's listener
    (apache/pulsar#26244, fixed in 4.0.13), and answers redirects without that "stay on your URL"
    flag. With one advertised address, reachable on both sides, neither can send a client anywhere
    it cannot connect (measured: 0 failed lookups of 1,500 under unloads and replication traffic;
    the earlier alias listener failed 179 of 300).
    """

    def __init__(self, image: str, cluster: str) -> None:
        super().__init__(image)
        self.cluster = cluster
        self.host_ports = HostPorts(0, 0)
        self.with_command(["bash", "-c", START_COMMAND])
        self.with_env("clusterName", cluster)
        self.with_env("advertisedAddress", cluster)
        self.with_config("internalListenerName", LISTENER)
        # Lab-friendly broker settings (what Pulsar's own replication tests use).
        self.with_config("brokerDeleteInactiveTopicsEnabled", "false")
        self.with_config("defaultNumberOfNamespaceBundles", "1")
        self.with_config("forceDeleteNamespaceAllowed", "true")
        self.with_config("allowAutoTopicCreationType", "non-partitioned")
        self.with_config("enableReplicatedSubscriptions", "true")
        self.with_config("replicatedSubscriptionsSnapshotFrequencyMillis", "1000")
        # topic stats (rates, replication section) refresh every second, so live views move
        self.with_config("statsUpdateFrequencyInSecs", "1")
        self.with_config("statsUpdateInitialDelayInSecs", "1")
        # a cut link shows as a disconnected replicator within seconds, not the default 30-60 s
        self.with_config("keepAliveIntervalSeconds", "5")
        # One bookie per cluster: the BookKeeper client's health check quarantines a bookie for 30 minutes
        # after five write errors in a minute, and with one bookie that would leave none to write to.
        self.with_config("bookkeeperClientHealthCheckEnabled", "false")

    def with_config(self, key: str, value: str) -> Self:
        """Set a broker setting (``PULSAR_PREFIX_<key>``, applied to conf/standalone.conf at start)."""
        self.with_env(f"PULSAR_PREFIX_{key}", value)
        return self

    def with_auth(self, settings: Mapping[str, str]) -> Self:
        """Authentication and authorization on (`labs.tokens.LabAuth.broker_settings`)."""
        for key, value in settings.items():
            self.with_config(key, value)
        return self

    def with_memory(self, jvm_flags: str, gc_flags: str) -> Self:
        """JVM heap/direct memory (PULSAR_MEM) and garbage collector (PULSAR_GC) flags."""
        self.with_env("PULSAR_MEM", jvm_flags)
        self.with_env("PULSAR_GC", gc_flags)
        return self

    def with_host_ports(self, ports: HostPorts) -> Self:
        """Publish 6650 and 8080 on 127.0.0.1 at fixed ports (they survive a stop/start of the cluster)."""
        self.host_ports = ports
        # testcontainers types host ports as int, but docker-py (and the engine) take (address, port),
        # which is how the ports stay on the loopback address only
        self.ports[f"{ports.broker}/tcp"] = (LOOPBACK, ports.broker)  # type: ignore[assignment]
        self.ports[f"{HTTP_PORT}/tcp"] = (LOOPBACK, ports.http)  # type: ignore[assignment]
        self.with_config("advertisedListeners", f"{LISTENER}:pulsar://{LOOPBACK}:{ports.broker}")
        if ports.broker != BROKER_PORT:
            # PIP-95: also listen on the host's port number inside the container
            self.with_config("bindAddresses", f"{LISTENER}:pulsar://0.0.0.0:{ports.broker}")
        return self

    def with_configuration_store(self, url: str) -> Self:
        """Keep tenants, namespaces and cluster registrations in a shared store (``zk:host:2181``)."""
        self.with_config("configurationMetadataStoreUrl", url)
        return self

    def get_service_url(self) -> str:
        return f"pulsar://{LOOPBACK}:{self.host_ports.broker}"

    def get_admin_url(self) -> str:
        return f"http://{LOOPBACK}:{self.host_ports.http}"


class ConfigurationStoreContainer(DockerContainer):
    """The shared configuration store ("global ZooKeeper"), run from the same Pulsar image."""

    def __init__(self, image: str) -> None:
        super().__init__(image)
        self.with_command(["bash", "-c", STORE_COMMAND])
        self.with_env("PULSAR_MEM", "-Xms64m -Xmx128m")
        self.with_env("PULSAR_GC", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        self.with_env("PULSAR_PREFIX_admin.enableServer", "false")

    @staticmethod
    def url() -> str:
        return f"zk:{STORE_ALIAS}:{ZOOKEEPER_PORT}"


# ------------------------------------------------------------------------------ ports


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def in_container_range(port: int) -> bool:
    """Whether `port` lies in the containers' ephemeral range (a broker port there could be taken)."""
    return CONTAINER_EPHEMERAL[0] <= port <= CONTAINER_EPHEMERAL[1]


def allocate_ports(clusters: Iterable[str], base_port: int | None) -> dict[str, HostPorts]:
    """Choose host ports: `base_port`, `base_port+1`, ... when given (checked free), else free ones.

    Raises:
        PortInUseError: a port at or after `base_port` is taken.
    """
    names = list(clusters)
    if base_port is None:
        chosen: dict[str, HostPorts] = {}
        sockets = []
        try:
            for name in names:
                pair: list[int] = []
                while len(pair) < 2:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.bind((LOOPBACK, 0))
                    sockets.append(sock)  # held until all are chosen: no port is chosen twice
                    port = sock.getsockname()[1]
                    if not in_container_range(port) and port not in CONTAINER_PORTS:
                        pair.append(port)
                chosen[name] = HostPorts(pair[0], pair[1])
        finally:
            for sock in sockets:
                sock.close()
        return chosen
    # one message per kind of port: a kind's name is not glued into another sentence
    taken = (_("Port {host}:{port} (the broker port of cluster {name!r}) is already taken; expected ports "
               "{first}..{last} to be free. Stop what uses it (`ss -ltnp | grep {port}`), run `geolab down` if "
               "an old lab holds it, or choose another base_port (or none, to let the lab pick free ports)."),
             _("Port {host}:{port} (the admin HTTP port of cluster {name!r}) is already taken; expected ports "
               "{first}..{last} to be free. Stop what uses it (`ss -ltnp | grep {port}`), run `geolab down` if "
               "an old lab holds it, or choose another base_port (or none, to let the lab pick free ports)."))
    result = {}
    for index, name in enumerate(names):
        ports = HostPorts(base_port + 2 * index, base_port + 2 * index + 1)
        if ports.broker in CONTAINER_PORTS or in_container_range(ports.broker):
            raise PortInUseError(_("base_port={base_port} gives cluster {name!r} the broker port {port}, which "
                                   "Pulsar uses inside its container ({ports} and {low}-{high} for its own "
                                   "connections); expected another port. Choose another base_port, e.g. 16650, or "
                                   "none to let the lab pick free ports.").format(
                base_port=base_port, name=name, port=ports.broker, ports=sorted(CONTAINER_PORTS),
                low=CONTAINER_EPHEMERAL[0], high=CONTAINER_EPHEMERAL[1]))
        for said, port in zip(taken, (ports.broker, ports.http), strict=True):
            if not port_is_free(port):
                raise PortInUseError(said.format(host=LOOPBACK, port=port, name=name, first=base_port,
                                                 last=base_port + 2 * len(names) - 1))
        result[name] = ports
    return result


# ------------------------------------------------------------------------------ health


def last_logs(container: Container, lines: int = LOG_TAIL) -> str:
    try:
        return str(container.logs(tail=lines).decode(errors="replace"))
    except (APIError, NotFound):
        return _("(no logs: the container is gone)")


def _halt_if_exited(container: Container, cluster: str | None) -> Callable[[], None]:
    """A `wait_for` halt that gives up when the container exits: a cluster's, or the configuration
    store's when `cluster` is None (one full sentence each, for the translation)."""
    def halt() -> None:
        container.reload()
        if container.status in ("exited", "dead"):
            if cluster is None:
                said = _("The configuration store ({container}) stopped while starting (exit code {code}); expected "
                         "it to keep running. Check memory with `geolab doctor`.\nLast log lines of {container}:\n"
                         "{logs}")
            else:
                said = _("Cluster {cluster!r} ({container}) stopped while starting (exit code {code}); expected it to "
                         "keep running. Check memory with `geolab doctor`.\nLast log lines of {container}:\n{logs}")
            raise ProvisioningError(said.format(cluster=cluster, container=container.name,
                                                code=container.attrs["State"].get("ExitCode"),
                                                logs=last_logs(container)))
    return halt


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def wait_healthy(container: Container, cluster: str, admin_url: str, timeout_s: float, token: str = "") -> float:
    """Poll the broker's health check (a produce/read round trip) until it answers `ok`.

    Returns:
        seconds waited.

    Raises:
        ProvisioningError: the container exited or the deadline passed; carries the last log lines.
    """
    started = time.monotonic()
    with httpx.Client(base_url=admin_url, timeout=5.0, headers=_auth(token)) as http:
        def health() -> str:
            response = http.get("/admin/v2/brokers/health", params={"topicVersion": "V2"})
            return f"HTTP {response.status_code} {response.text.strip()[:80]}"

        try:
            wait_for(health,
                     what=Text("Cluster {cluster!r} did not pass its health check at {url}.", cluster=cluster,
                               url=f"{admin_url}/admin/v2/brokers/health"),
                     timeout_s=timeout_s, tolerate=(httpx.HTTPError,), accept=lambda answer: answer == "HTTP 200 ok",
                     halt=_halt_if_exited(container, cluster))
        except WaitTimeout as exc:
            raise ProvisioningError(_("{error} A slow machine may need GEOLAB_START_TIMEOUT=400; `geolab doctor` "
                                      "checks memory and CPU.\nLast log lines of {container}:\n{logs}").format(
                error=exc, container=container.name, logs=last_logs(container))) from exc
    return time.monotonic() - started


#: What a standalone broker logs while its bookie's registration flaps (see `wait_started`).
FLAP_SIGNATURE = "Lock on resource /ledgers/available/"
FLAP_WINDOW_S = 3.0
FLAP_THRESHOLD = 20
WRITE_PROBE_S = 20.0
WRITE_PROBE_TOPIC = "persistent/public/default/geolab-write-probe"


def takes_writes(admin_url: str, token: str = "") -> bool:
    """Whether the bookie takes writes: creating a topic opens a new ledger (the probe topic, in the
    standalone's own `public/default`, is deleted again)."""
    url = f"{admin_url}/admin/v2/{WRITE_PROBE_TOPIC}"
    try:
        created = httpx.put(url, timeout=10.0, headers=_auth(token)).status_code in (200, 204, 404, 409)  # 404: no
        httpx.delete(url, params={"force": "true"}, timeout=10.0, headers=_auth(token))  # public/default to probe in
    except httpx.HTTPError:
        return False
    return created


def registration_flaps(container: Container, since: float) -> int:
    """How often the bookie's registration lock was invalidated since `since` (epoch seconds)."""
    try:
        text = container.logs(since=int(since)).decode(errors="replace")
    except (APIError, NotFound):
        return 0
    return int(text.count(FLAP_SIGNATURE))


def wait_started(container: Container, cluster: str, admin_url: str, timeout_s: float,
                 progress: Callable[[str], None] = lambda _line: None, token: str = "") -> float:
    """Wait until a (re)started cluster is healthy and its bookie takes writes; returns seconds waited.

    Seen on Pulsar 4.0.8 standalone after a SIGKILL (3 of 6 kill-restarts in one experiment): the
    restarted bookie's registration in the local metadata store flaps, 150 to 580 times a second and
    for good, while the broker's health check still passes; every new ledger then fails with "Not
    enough non-faulty bookies available". A graceful restart cleared it every time. So after the
    health check the broker's log is watched for a few seconds, and a flapping cluster is restarted
    once.

    Raises:
        ProvisioningError: it did not become healthy, or its bookie still flapped after a restart.
    """
    started = time.monotonic()
    for attempt in (1, 2):
        wait_healthy(container, cluster, admin_url, timeout_s, token)
        healthy_at = time.time()  # only this process's log: the one before a restart flapped too
        try:
            flaps = wait_for(partial(registration_flaps, container, healthy_at), timeout_s=FLAP_WINDOW_S,
                             what=Text("The bookie registration of cluster {cluster!r} did not flap {count} times "
                                       "or more.", cluster=cluster, count=FLAP_THRESHOLD), interval_s=1.0,
                             accept=lambda count: count >= FLAP_THRESHOLD)
        except WaitTimeout:
            # a quiet window; and a new ledger must be possible (CI once saw a restarted cluster refuse
            # writes although its log stayed quiet for the window)
            try:
                wait_for(partial(takes_writes, admin_url, token),
                         what=Text("The bookie of cluster {cluster!r} did not take a new ledger.", cluster=cluster),
                         timeout_s=WRITE_PROBE_S, interval_s=1.0)
                return time.monotonic() - started
            except WaitTimeout:
                flaps = registration_flaps(container, healthy_at)
        if attempt == 2:
            raise ProvisioningError(_("Cluster {cluster!r} ({container}) is healthy but its bookie does not take "
                                      "writes (its registration flapped {flaps} times since it started), even after "
                                      "a restart; expected it to settle. Restart it with lab.stop_cluster({cluster!r}) "
                                      "and lab.start_cluster({cluster!r}).").format(
                cluster=cluster, container=container.name, flaps=flaps))
        progress(_("[{cluster}] its bookie does not take writes after the crash (registration flapped {flaps} times, "
                   "a Pulsar standalone quirk); restarting it once more, gracefully ...").format(
            cluster=cluster, flaps=flaps))
        container.restart(timeout=30)
    return time.monotonic() - started  # not reached


def wait_store_ready(container: Container, timeout_s: float) -> None:
    """Wait until ZooKeeper accepts connections inside the configuration-store container."""
    probe = ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{ZOOKEEPER_PORT} && echo ruok >&3 && head -c 4 <&3"]

    def answer() -> str:
        code, output = container.exec_run(probe)
        return output.decode(errors="replace").strip()[:80] if code == 0 else f"exit {code}"

    try:
        wait_for(answer, what=Text("The configuration store ({container}) did not answer ZooKeeper's ruok with imok.",
                                   container=container.name),
                 timeout_s=timeout_s, tolerate=(APIError,), accept=lambda text: text == "imok",
                 halt=_halt_if_exited(container, None))
    except WaitTimeout as exc:
        raise ProvisioningError(_("{error} A slow machine may need GEOLAB_START_TIMEOUT=400; `geolab doctor` checks "
                                  "memory and CPU.\nLast log lines of {container}:\n{logs}").format(
            error=exc, container=container.name, logs=last_logs(container))) from exc


# ------------------------------------------------------------------------------ lookup and cleanup


def lab_labels(lab: str, role: str, topology_json: str, cluster: str = "", ports: HostPorts | None = None
               ) -> dict[str, str]:
    labels = {LABEL_LAB: lab, LABEL_ROLE: role, LABEL_TOPOLOGY: topology_json}
    if cluster:
        labels[LABEL_CLUSTER] = cluster
    if ports:
        labels[LABEL_PORTS] = json.dumps({"broker": ports.broker, "http": ports.http})
    return labels


def labelled_containers(client: docker.DockerClient, label: str, *, stopped: bool = True) -> list[Container]:
    """The containers carrying `label` ("key" or "key=value"), stopped ones too unless `stopped` is False.

    Docker lists them, then docker-py inspects each: a container removed in between (a failed start's
    cleanup still running in the engine, a server the hub is stopping) is gone, not an error."""
    found: list[Container] = []
    for container in client.containers.list(all=stopped, sparse=True, filters={"label": label}):
        try:
            container.reload()
        except NotFound:
            continue
        found.append(container)
    return found


def lab_containers(client: docker.DockerClient, lab: str | None = None) -> list[Container]:
    """Every container (running or not) that belongs to `lab`, or to any lab."""
    return labelled_containers(client, f"{LABEL_LAB}={lab}" if lab else LABEL_LAB)


def lab_names(client: docker.DockerClient) -> list[str]:
    names = {c.labels[LABEL_LAB] for c in lab_containers(client)}
    names |= {n.attrs["Labels"][LABEL_LAB] for n in client.networks.list(filters={"label": LABEL_LAB})}
    return sorted(names)


def closed_networks(client: docker.DockerClient, lab: str) -> list[str]:
    """The bridges of `lab`'s networks that carry firewall rules (a sandbox's, a closed lab's)."""
    networks = client.networks.list(filters={"label": f"{LABEL_LAB}={lab}"})
    return [bridge_name(n.id) for n in networks if {LABEL_SANDBOX, LABEL_CLOSED} & set(n.attrs.get("Labels") or {})]


def lab_dropped(client: docker.DockerClient, lab: str) -> int:
    """Packets from `lab`'s closed networks that the firewall dropped so far: what its containers tried to
    send to this host or out of the lab (0 for a lab whose networks are not closed)."""
    return sum(dropped(bridge) for bridge in closed_networks(client, lab))


def remove_lab(client: docker.DockerClient, lab: str | None = None) -> tuple[int, int]:
    """Remove the containers, networks, firewall rules and disks of `lab` (every lab when None).
    Returns the counts of containers and networks removed."""
    containers = lab_containers(client, lab)
    for container in containers:
        try:
            container.remove(force=True, v=True)
        except NotFound:
            pass
    label = f"{LABEL_LAB}={lab}" if lab else LABEL_LAB
    networks = client.networks.list(filters={"label": label})
    for network in networks:
        if {LABEL_SANDBOX, LABEL_CLOSED} & set(network.attrs.get("Labels") or {}):
            open_bridge(bridge_name(network.id))  # a killed grader's rules go with its networks
        try:
            network.remove()
        except NotFound:
            pass
    disks.remove(lab)  # after the containers: nothing uses them any more
    return len(containers), len(networks)


#: What Docker says when its address pools have no subnet left for another network.
POOL_EXHAUSTED = "non-overlapping IPv4 address pool"
POOLS_HINT = N_('Each lab takes a network per cluster and per link; Docker\'s default address pools hold about 30 '
                 'networks in all. Give it more in /etc/docker/daemon.json, e.g. {"default-address-pools": '
                 '[{"base": "10.200.0.0/16", "size": 24}]} (256 networks), restart dockerd, and try again; or stop '
                 'labs you no longer need (`geolab status`, `geolab down NAME`).')


def create_network(client: docker.DockerClient, name: str, lab: str, closed: bool = False,
                   internal: bool = False) -> None:
    """A lab network. `closed`: a learner's lab on a trusted side: nothing on it reaches this host or
    leaves the lab (`labs.firewall.confine_bridge`); `internal`: Docker gives it no route out either (a
    network that publishes no port)."""
    labels = {LABEL_LAB: lab, "org.testcontainers": "true", **({LABEL_CLOSED: "true"} if closed else {})}
    try:
        network = client.networks.create(name, driver="bridge", internal=internal, labels=labels)
    except APIError as exc:
        if POOL_EXHAUSTED in str(exc):
            raise ProvisioningError(_("Docker has no address left for network {name}: {error}. {hint}").format(
                name=name, error=exc.explanation or exc, hint=_(POOLS_HINT))) from exc
        raise
    if closed:
        try:
            confine_bridge(bridge_name(network.id))
        except FirewallError as exc:
            open_bridge(bridge_name(network.id))
            network.remove()
            raise ProvisioningError(_("{error} A learner's lab starts only once its networks are closed.").format(
                error=exc)) from exc

