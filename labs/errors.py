"""Errors raised by the lab runtime.

Every message says what failed, where, what was expected against what was found, and the next
step. The tree::

    LabError
    ├── TopologyError       bad cluster names, links or presets (raised before anything starts)
    ├── EngineError         no Docker engine answers
    ├── ImageError          no Pulsar image can be found, pulled or built
    ├── PortInUseError      a requested host port on 127.0.0.1 is taken
    ├── LabConflictError    a lab of that name runs with another topology
    ├── ProvisioningError   a container did not become healthy in time (carries its last log lines)
    └── AdminError          the Pulsar admin REST API refused a call (carries method, url, status, reason)
"""

from __future__ import annotations


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class TopologyError(LabError, ValueError):
    """A topology is invalid; raised before any container or network is created."""


class EngineError(LabError):
    """The Docker engine cannot be reached."""


class ImageError(LabError):
    """The Pulsar image is missing and could not be pulled or built."""


class PortInUseError(LabError):
    """A host port the lab was asked to publish on 127.0.0.1 is already taken."""


class LabConflictError(LabError):
    """A lab with the same name is running with a different topology."""


class ProvisioningError(LabError):
    """A cluster or the configuration store did not start or become healthy."""


class AdminError(LabError):
    """A call to the Pulsar admin REST API failed.

    Attributes:
        method: HTTP method of the call.
        url: full URL that was called.
        status: HTTP status code (0 when no response arrived).
        reason: Pulsar's own ``reason`` text, or the response body.
    """

    def __init__(self, method: str, url: str, status: int, reason: str, hint: str = "") -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        where = f"{method} {url}"
        what = f"HTTP {status}" if status else "no response"
        text = f"Pulsar admin call {where} failed: {what}: {reason}"
        if hint:
            text += f". {hint}"
        super().__init__(text)
