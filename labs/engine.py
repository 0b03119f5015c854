"""The Docker engine connection (the only place a Docker client is created).

Owns: connecting to the engine with a clear error when none answers, turning engine failures in the
middle of an operation into lab errors, and turning off the Testcontainers reaper (its image cannot
be pulled on offline machines; the lab cleans up by label).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from docker.errors import APIError, DockerException
from testcontainers.core.config import testcontainers_config

import docker
from labs.errors import EngineError, LabError, ProvisioningError
from labs.i18n import N_, _

# The lab removes what it creates by label (`geolab down`), so the Ryuk reaper is never needed.
testcontainers_config.ryuk_disabled = True
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _connect_unix(where: str) -> None:
    """Connect to a Unix-socket engine address once, closing the socket whatever happens.

    Raises:
        requests.ConnectionError: nothing accepts connections there.
    """
    if not where.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(where[len("unix://"):])
        except OSError as exc:
            raise requests.ConnectionError(_("cannot connect to {address}: {error}").format(
                address=where, error=exc.strerror or exc)) from exc


def docker_client(timeout_s: int = 120) -> docker.DockerClient:
    """Return a client connected to a Docker engine that answers a ping.

    Raises:
        EngineError: no engine answers at DOCKER_HOST (or the default socket).
    """
    where = engine_address()
    client: docker.DockerClient | None = None
    try:
        _connect_unix(where)  # docker-py leaks its socket when its constructor cannot reach the engine
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except (DockerException, requests.RequestException) as exc:
        if client is not None:
            client.close()  # its socket never connected: close it rather than leave it to the collector
        raise EngineError(_("No Docker engine answers at {address}: {error}. Expected a running engine. Start Docker "
                            "Desktop, or on Linux `sudo systemctl start docker` (or `sudo dockerd &`), then run "
                            "`geolab doctor`.").format(address=where, error=str(exc).splitlines()[0][:200])) from exc
    return client


@dataclass(frozen=True)
class EngineStep:
    """What a caller was doing with the engine, as the two ways it can fail, each said in one whole
    sentence (a verb phrase glued into a shared sentence would not translate). Both are `N_()`-marked
    messages, translated when shown and formatted with `{error}` (the engine's explanation or the
    transport error), `{address}` (the engine's, for `stopped`) and the caller's own values."""

    refused: str  #: the engine refused (an API error): {error} and the caller's values
    stopped: str  #: the engine stopped answering: {address}, {error} and the caller's values


#: A lab's start on Docker (labs/docker_backend.py): its values are the lab's `name`.
LAB_START = EngineStep(
    N_("The Docker engine refused to start lab {name!r}: {error}. Run `geolab down {name}`, then start the lab "
       "again."),
    N_("The Docker engine at {address} stopped answering while starting lab {name!r} ({error}); expected it to keep "
       "running. Start it again, then run `geolab down {name}` and start the lab again."))


@contextmanager
def engine_calls(step: EngineStep, **values: object) -> Iterator[None]:
    """Turn a Docker failure inside the block into a lab error that says what was being done.

    A dropped connection becomes `EngineError` (the engine stopped answering); a refusal by the
    engine becomes `ProvisioningError` with the engine's explanation. Lab errors pass through.

    Args:
        step: what the caller is doing, as its two failures (`EngineStep`), each said in one whole
            sentence in the reader's language and formatted with `values`.
        values: the names the step's sentences show besides {error} and {address}.
    """
    try:
        yield
    except LabError:
        raise
    except APIError as exc:
        raise ProvisioningError(_(step.refused).format(error=exc.explanation or exc, **values)) from exc
    except (DockerException, requests.RequestException) as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        said = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise EngineError(_(step.stopped).format(address=engine_address(), error=said, **values)) from exc
