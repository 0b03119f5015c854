"""Pulsar GeoLab: real Pulsar clusters for learning geo-replication.

Public API::

    from labs import Lab, full_mesh, one_way, failover
    lab = Lab.start(full_mesh("beijing", "shanghai", "guangzhou"))
"""

import typing as _typing

from labs.backend import ClusterEndpoint
from labs.doctor import doctor
from labs.errors import (
    AdminError,
    AdminRefused,
    AdminUnreachable,
    EngineError,
    ImageError,
    LabConflictError,
    LabError,
    LabNotFoundError,
    PortInUseError,
    ProvisioningError,
    SettingsError,
    TopologyError,
    UsageError,
    WaitTimeout,
)
from labs.lab import Lab, LabStatus, down
from labs.settings import PULSAR_VERSION
from labs.topology import ConfigStore, Link, Topology, failover, full_mesh, one_way, single

if _typing.TYPE_CHECKING:
    from labs.views import Dashboard


def dashboard(lab: Lab, topic: str = "live", refresh_hz: float = 4.0) -> "Dashboard":
    """Live map, charts, flow panel, tracer and fault controls for `lab`, refreshing in the kernel."""
    from labs.views import Dashboard

    return Dashboard(lab, topic, refresh_hz).start()


__all__ = [
    "AdminError",
    "AdminRefused",
    "AdminUnreachable",
    "ClusterEndpoint",
    "ConfigStore",
    "dashboard",
    "doctor",
    "down",
    "EngineError",
    "failover",
    "full_mesh",
    "ImageError",
    "Lab",
    "LabConflictError",
    "LabError",
    "LabNotFoundError",
    "LabStatus",
    "Link",
    "one_way",
    "PortInUseError",
    "ProvisioningError",
    "PULSAR_VERSION",
    "SettingsError",
    "single",
    "Topology",
    "TopologyError",
    "UsageError",
    "WaitTimeout",
]
