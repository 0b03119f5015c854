"""Pulsar GeoLab: real Pulsar clusters for learning geo-replication.

Public API::

    from labs import Lab, full_mesh, one_way, failover
    lab = Lab.start(full_mesh("beijing", "shanghai", "guangzhou"))
"""

from typing import TYPE_CHECKING

from labs.doctor import doctor
from labs.errors import (
    AdminError,
    EngineError,
    ImageError,
    LabConflictError,
    LabError,
    PortInUseError,
    ProvisioningError,
    TopologyError,
)
from labs.lab import ClusterEndpoint, Lab, LabStatus, down
from labs.settings import PULSAR_VERSION
from labs.topology import ConfigStore, Link, Topology, failover, full_mesh, one_way, single

if TYPE_CHECKING:
    from labs.views import Dashboard



def dashboard(lab: Lab, topic: str = "live", refresh_hz: float = 4.0) -> "Dashboard":
    """Live map, charts, flow panel, tracer and fault controls for `lab`, refreshing in the kernel."""
    from labs.views import Dashboard

    return Dashboard(lab, topic, refresh_hz).start()


__all__ = [
    "PULSAR_VERSION",
    "AdminError",
    "ClusterEndpoint",
    "ConfigStore",
    "EngineError",
    "ImageError",
    "Lab",
    "LabConflictError",
    "LabError",
    "LabStatus",
    "Link",
    "PortInUseError",
    "ProvisioningError",
    "Topology",
    "TopologyError",
    "dashboard",
    "doctor",
    "down",
    "failover",
    "full_mesh",
    "one_way",
    "single",
]
