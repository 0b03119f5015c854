"""What a lab is made of, whoever runs it: the record of a running lab, and the backend protocol.

`Lab` (labs/lab.py) is a small facade over a `Backend`:
- `DockerBackend` (labs/docker_backend.py) owns the Docker engine of this host: containers,
  networks, ports, the parallel launch, reattaching, faults;
- `ControlBackend` (labs/control.py) asks a trusted side for the same things through a narrow
  control channel, for a kernel that has no Docker (a graded submission, a hosted workshop).

A notebook never knows which one it got. Nothing here imports Docker or HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from labs.topology import Topology

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ClusterEndpoint:
    """Where a client reaches one cluster of a lab."""

    name: str
    service_url: str
    admin_url: str
    container: str
    token: str = ""  # a lab with authentication on: the token this client uses (a learner's, or the superuser's)


@dataclass(frozen=True)
class LabRecord:
    """A running lab as its backend knows it.

    Attributes:
        name: the lab's name (containers are ``geolab-<name>-<cluster>``).
        topology: its clusters and replication links.
        endpoints: per cluster, its service and admin URLs.
        reattached: the lab already ran; nothing new was started.
        configured: the backend already registered the clusters, tenant and namespace and probed the
            links (a trusted side does that itself); otherwise the facade does.
    """

    name: str
    topology: Topology
    endpoints: Mapping[str, ClusterEndpoint]
    reattached: bool = False
    configured: bool = False


class Backend(Protocol):
    """What `Lab` needs from whoever runs the clusters; every method names the lab by its record."""

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> LabRecord:
        """Start the lab's clusters, or reattach to them when they run."""

    def attach(self, name: str) -> LabRecord:
        """The record of a running lab; changes nothing."""

    def remove(self, record: LabRecord) -> tuple[int, int]:
        """Remove the lab; returns how many containers and networks went."""

    def cluster_state(self, record: LabRecord, cluster: str) -> str:
        """``running``, ``exited``, ``missing`` ..."""

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        """SIGKILL a cluster."""

    def stop_cluster(self, record: LabRecord, cluster: str) -> None:
        """Stop a cluster gracefully."""

    def start_cluster(self, record: LabRecord, cluster: str, progress: Progress) -> float:
        """Start a stopped or killed cluster; returns the seconds until it took writes again."""

    def cut_link(self, record: LabRecord, a: str, b: str) -> None:
        """Cut the network between two clusters."""

    def heal_link(self, record: LabRecord, a: str, b: str) -> None:
        """Restore the network between two clusters."""

    def exec(self, record: LabRecord, cluster: str, command: tuple[str, ...]) -> tuple[int, str]:
        """Run a command inside a cluster's container."""

    def close(self) -> None:
        """Release connections to the engine or the trusted side."""
