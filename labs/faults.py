"""Faults a lab can inject: kill, stop and start a cluster; cut and heal the link between two.

Owns only Docker actions on the lab's own containers and networks; waiting for health after a
start is the caller's business (see `Lab.start_cluster`).
"""

from __future__ import annotations

from docker.errors import APIError
from docker.models.containers import Container

import docker
from labs.errors import LabError
from labs.i18n import _


def kill_cluster(container: Container) -> None:
    """SIGKILL the cluster's container: the broker dies without closing anything (a crash)."""
    container.reload()
    if container.status == "running":
        container.kill(signal="SIGKILL")
    container.wait(condition="not-running", timeout=60)


def stop_cluster(container: Container, timeout_s: int = 30) -> None:
    """Stop the cluster gracefully (SIGTERM, then SIGKILL after `timeout_s`)."""
    container.stop(timeout=timeout_s)


def start_cluster(container: Container) -> None:
    """Start a stopped or killed cluster again; its data and host ports are kept."""
    container.reload()
    if container.status != "running":
        container.start()


def _pair_network(client: docker.DockerClient, network: str, a: str, b: str) -> docker.models.networks.Network:
    try:
        return client.networks.get(network)
    except docker.errors.NotFound:
        raise LabError(_("There is no link network between {a!r} and {b!r} ({network}); expected one per cluster "
                         "pair. Check the cluster names with `geolab status`.").format(a=a, b=b, network=network)
                       ) from None


def cut_link(client: docker.DockerClient, network: str, a: Container, b: Container, names: tuple[str, str]) -> None:
    """Disconnect both clusters from their pair network: neither can reach the other any more."""
    net = _pair_network(client, network, *names)
    for container in (a, b):
        try:
            net.disconnect(container, force=True)
        except APIError as exc:
            if "is not connected" not in str(exc):
                raise


def heal_link(client: docker.DockerClient, network: str, a: Container, b: Container, names: tuple[str, str]) -> None:
    """Reconnect both clusters to their pair network under their cluster names."""
    net = _pair_network(client, network, *names)
    net.reload()
    attached = {c.id for c in net.containers}
    for container, alias in ((a, names[0]), (b, names[1])):
        if container.id not in attached:
            net.connect(container, aliases=[alias])
