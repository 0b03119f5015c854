"""The Docker engine connection (the only place a Docker client is created).

Owns: connecting to the engine with a clear error when none answers, and turning off the
Testcontainers reaper (its image cannot be pulled on offline machines; the lab cleans up by label).
"""

from __future__ import annotations

import os

from docker.errors import DockerException
from testcontainers.core.config import testcontainers_config

import docker
from labs.errors import EngineError

# The lab removes what it creates by label (`geolab down`), so the Ryuk reaper is never needed.
testcontainers_config.ryuk_disabled = True
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def docker_client(timeout_s: int = 120) -> docker.DockerClient:
    """Return a client connected to a Docker engine that answers a ping.

    Raises:
        EngineError: no engine answers at DOCKER_HOST (or the default socket).
    """
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except DockerException as exc:
        raise EngineError(
            f"No Docker engine answers at {where}: {exc}. Expected a running engine. "
            "Start Docker Desktop, or on Linux `sudo systemctl start docker` (or `sudo dockerd &`), "
            "then run `geolab doctor`."
        ) from exc
    return client
