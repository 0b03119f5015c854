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
from labs.i18n import N_, _
from labs.tokens import SUPERUSER, LabAuth
from labs.topology import Topology, full_mesh, single

#: What a clusters file looks like, for the message that refuses one.
EXAMPLE = ('{"clusters": {"<name>": {"service_url": "pulsar://...", "admin_url": "http://..."}}, '
           '"token_key_file": "<a file of 32 or more bytes>"}')
#: What the platform does, not this backend: one whole sentence per call (values: cluster, or a and b).
ELSEWHERE = {
    "kill": N_("Killing {cluster} is for the platform these clusters run on (they are not this machine's containers); "
               "expected clusters of a lab started here. Use your platform's tools."),
    "stop": N_("Stopping {cluster} is for the platform these clusters run on (they are not this machine's "
               "containers); expected clusters of a lab started here. Use your platform's tools."),
    "start": N_("Starting {cluster} is for the platform these clusters run on (they are not this machine's "
                "containers); expected clusters of a lab started here. Use your platform's tools."),
    "cut": N_("Cutting the link {a}-{b} is for the platform these clusters run on (they are not this machine's "
              "containers); expected clusters of a lab started here. Use your platform's tools."),
    "heal": N_("Healing the link {a}-{b} is for the platform these clusters run on (they are not this machine's "
               "containers); expected clusters of a lab started here. Use your platform's tools."),
    "exec": N_("Running a command in {cluster} is for the platform these clusters run on (they are not this "
               "machine's containers); expected clusters of a lab started here. Use your platform's tools."),
}


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
                raise ValueError(_("'clusters' names no cluster"))
            key = key_file.read_bytes()
            endpoints = {}
            for name, urls in clusters.items():
                service, admin = str(urls["service_url"]), str(urls["admin_url"]).rstrip("/")
                if not service.startswith(("pulsar://", "pulsar+ssl://")) or not admin.startswith(("http://",
                                                                                                  "https://")):
                    raise ValueError(_("cluster {name!r} has service URL {service!r} and admin URL {admin!r}; "
                                       "expected pulsar:// (or pulsar+ssl://) and http:// (or https://)").format(
                        name=name, service=service, admin=admin))
                endpoints[str(name)] = ClusterEndpoint(str(name), service, admin, "", "")
            auth = LabAuth(key, superuser)
        except (OSError, ValueError, KeyError, TypeError, UsageError) as exc:
            raise SettingsError(_("The clusters file {path} cannot be used ({error}); expected JSON with {example}. "
                                  "Fix the file and start again.").format(
                path=path, error=f"{type(exc).__name__}: {exc}", example=EXAMPLE)) from exc
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
        progress(_("Clusters {clusters} run elsewhere; nothing to start.").format(
            clusters=list(self.clusters.endpoints)))
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

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        raise UsageError(_(ELSEWHERE["kill"]).format(cluster=cluster))

    def stop_cluster(self, record: LabRecord, cluster: str) -> None:
        raise UsageError(_(ELSEWHERE["stop"]).format(cluster=cluster))

    def start_cluster(self, record: LabRecord, cluster: str, progress: Progress) -> float:
        raise UsageError(_(ELSEWHERE["start"]).format(cluster=cluster))

    def cut_link(self, record: LabRecord, a: str, b: str) -> None:
        raise UsageError(_(ELSEWHERE["cut"]).format(a=a, b=b))

    def heal_link(self, record: LabRecord, a: str, b: str) -> None:
        raise UsageError(_(ELSEWHERE["heal"]).format(a=a, b=b))

    def exec(self, record: LabRecord, cluster: str, command: tuple[str, ...]) -> tuple[int, str]:
        raise UsageError(_(ELSEWHERE["exec"]).format(cluster=cluster))

    def close(self) -> None:
        return None
