"""Clusters deployed elsewhere (a Kubernetes release per region, a team's staging clusters), named in
a file: a `Backend` that runs nothing, so a workshop's lab server can hand their tenants to learners.

The file (JSON) names each cluster's service and admin URL as the lab server and the learners' kernels
reach them, and the token key the clusters trust (the superuser's token is made from it)::

    {"clusters": {"beijing": {"service_url": "pulsar://pulsar-beijing:6650",
                              "admin_url": "http://pulsar-beijing:8080"}, ...},
     "token_key_file": "/etc/geolab/token.key",   # 32+ raw bytes (`pulsar tokens create-secret-key`)
     "superuser": "geolab-admin"}                      # optional: a role in the clusters' superUserRoles

Killing, stopping or starting such a cluster and cutting its links are the platform's business, not
this backend's: those calls say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from labs.backend import ClusterEndpoint, LabRecord, Progress
from labs.errors import SettingsError, UsageError
from labs.tokens import SUPERUSER, LabAuth
from labs.topology import Topology, full_mesh, single


@dataclass(frozen=True)
class RemoteClusters:
    """What a clusters file names."""

    endpoints: dict[str, ClusterEndpoint]
    auth: LabAuth

    @classmethod
    def from_file(cls, path: Path) -> RemoteClusters:
        """Read and check a clusters file; a `SettingsError` says what is wrong before anything starts."""
        try:
            data = json.loads(path.read_text())
            clusters = data["clusters"]
            key_file = Path(data["token_key_file"])
            superuser = str(data.get("superuser", SUPERUSER))
            if not isinstance(clusters, dict) or not clusters:
                raise ValueError("'clusters' names no cluster")
            key = key_file.read_bytes()
            endpoints = {}
            for name, urls in clusters.items():
                service, admin = str(urls["service_url"]), str(urls["admin_url"]).rstrip("/")
                if not service.startswith(("pulsar://", "pulsar+ssl://")) or not admin.startswith(("http://",
                                                                                                  "https://")):
                    raise ValueError(f"cluster {name!r} has service URL {service!r} and admin URL {admin!r}")
                endpoints[str(name)] = ClusterEndpoint(str(name), service, admin, "", "")
            auth = LabAuth(key, superuser)
        except (OSError, ValueError, KeyError, TypeError, UsageError) as exc:
            raise SettingsError(
                f"The clusters file {path} cannot be used ({type(exc).__name__}: {exc}); expected JSON with "
                '{"clusters": {"<name>": {"service_url": "pulsar://...", "admin_url": "http://..."}}, '
                '"token_key_file": "<a file of 32 or more bytes>"}. Fix the file and start again.') from exc
        token = auth.superuser_token
        clusters_file = cls({n: ClusterEndpoint(n, e.service_url, e.admin_url, "", token)
                             for n, e in endpoints.items()}, auth)
        clusters_file.topology()  # the names must be cluster names (a TopologyError says which is not)
        return clusters_file

    def topology(self) -> Topology:
        names = tuple(self.endpoints)
        return single(names[0]) if len(names) == 1 else full_mesh(*names, config_store="independent")


class RemoteBackend:
    """A `Backend` over clusters it does not run (see the module docstring)."""

    def __init__(self, clusters: RemoteClusters, name: str) -> None:
        self.clusters = clusters
        self.record = LabRecord(name, clusters.topology(), clusters.endpoints, reattached=True, configured=True)

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> LabRecord:
        progress(f"Clusters {list(self.clusters.endpoints)} run elsewhere; nothing to start.")
        return self.record

    def attach(self, name: str) -> LabRecord:
        return self.record

    def remove(self, record: LabRecord) -> tuple[int, int]:
        return 0, 0

    def cluster_state(self, record: LabRecord, cluster: str) -> str:
        endpoint = record.endpoints[cluster]
        try:
            answer = httpx.get(f"{endpoint.admin_url}/admin/v2/brokers/health", timeout=5,
                               headers={"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else None)
        except httpx.HTTPError:
            return "unreachable"
        return "running" if answer.status_code == 200 else f"unhealthy (HTTP {answer.status_code})"

    def _elsewhere(self, what: str) -> UsageError:
        return UsageError(f"{what} is for the platform these clusters run on (they are not this machine's "
                          "containers); expected clusters of a lab started here. Use your platform's tools.")

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        raise self._elsewhere(f"Killing {cluster}")

    def stop_cluster(self, record: LabRecord, cluster: str) -> None:
        raise self._elsewhere(f"Stopping {cluster}")

    def start_cluster(self, record: LabRecord, cluster: str, progress: Progress) -> float:
        raise self._elsewhere(f"Starting {cluster}")

    def cut_link(self, record: LabRecord, a: str, b: str) -> None:
        raise self._elsewhere(f"Cutting the link {a}-{b}")

    def heal_link(self, record: LabRecord, a: str, b: str) -> None:
        raise self._elsewhere(f"Healing the link {a}-{b}")

    def exec(self, record: LabRecord, cluster: str, command: tuple[str, ...]) -> tuple[int, str]:
        raise self._elsewhere(f"Running a command in {cluster}")

    def close(self) -> None:
        return None
