"""A jupyter_client kernel provisioner that runs the kernel in a locked-down container.

nbclient stays in the grader (it owns every timeout); only ipykernel runs in the sandbox. Kernel and
grader talk over ZMQ's ipc transport: Unix sockets in a per-submission folder, the one host path the
container sees (mounted at /run/geolab, next to the control channel's socket). The container:
- runs the kernel image as UID 10001, read-only root file system, /tmp a small tmpfs;
- has no capabilities, no new privileges, an init that reaps children, no core files;
- is limited in memory (no swap), CPU and processes; its log is capped;
- gets an environment built here from nothing (never the grader's);
- is on one internal network, its lab's, and nowhere else;
- is killed and removed at the deadline, with everything it started.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.types import LogConfig, Mount, Ulimit
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase

import docker
from labs.i18n import _
from labs.settings import LABEL_SANDBOX

#: Where the per-submission folder appears inside the container.
RUN_INSIDE = "/run/geolab"
SANDBOX_UID = 10001
PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}


@dataclass(frozen=True)
class SandboxLimits:
    """What one submission's kernel may use."""

    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 256
    tmp_size: str = "256m"
    log_size: str = "1m"


@dataclass(frozen=True)
class SandboxSpec:
    """Everything the provisioner needs for one submission's container."""

    image: str
    run_dir: Path
    network: str
    name: str
    environment: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    limits: SandboxLimits = SandboxLimits()


def locked_down(limits: SandboxLimits) -> dict[str, Any]:
    """The container settings of a kernel that runs untrusted code (a submission, a workshop
    learner's): docker-py `containers.create` arguments."""
    return {
        "user": f"{SANDBOX_UID}:{SANDBOX_UID}",
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmp_size},mode=1777"},
        "dns": ["127.0.0.1"],  # the lab's names resolve; nothing else is forwarded upstream
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "init": True,
        "ipc_mode": "private",
        "ulimits": [Ulimit(name="core", soft=0, hard=0)],
        "log_config": LogConfig(type="json-file", config={"max-size": limits.log_size, "max-file": "1"}),
    }


class SandboxProvisioner(KernelProvisionerBase):
    """Launches the kernel in the container described by `spec` (set before the kernel starts)."""

    spec: SandboxSpec | None = None
    client: docker.DockerClient | None = None
    container: Container | None = None
    exit_code: int | None = None

    @property
    def has_process(self) -> bool:
        return self.container is not None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        spec = self._spec()
        km: Any = self.parent
        if km is None:
            raise RuntimeError(_("SandboxProvisioner needs its KernelManager as parent; expected "
                                 "SandboxProvisioner(parent=kernel_manager). This is a bug in geolab."))
        km.transport = "ipc"
        km.ip = str(spec.run_dir / "kernel")
        for name, number in PORTS.items():
            setattr(km, name, number)
        inside: dict[str, Any] = {"transport": "ipc", "ip": f"{RUN_INSIDE}/kernel",
                                  "key": km.session.key.decode(), "signature_scheme": km.session.signature_scheme,
                                  "kernel_name": "python3", **PORTS}
        connection = spec.run_dir / "kernel.json"
        connection.write_text(json.dumps(inside))
        connection.chmod(0o644)
        info: Any = {**inside, "ip": km.ip, "key": km.session.key}
        self.connection_info = info
        return {"cmd": [], **{k: v for k, v in kwargs.items() if k not in ("env", "extra_arguments", "cwd")}}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        spec = self._spec()
        self.client = self.client or docker.from_env(timeout=60)
        create = {
            "image": spec.image,
            "name": spec.name,
            **locked_down(spec.limits),
            "mounts": [Mount(target=RUN_INSIDE, source=str(spec.run_dir), type="bind", read_only=False)],
            "environment": dict(spec.environment),
            "network": spec.network,
            "labels": {LABEL_SANDBOX: spec.name, **spec.labels},
        }
        container = await asyncio.to_thread(self.client.containers.create, **create)
        self.container = container
        await asyncio.to_thread(container.start)
        return self.connection_info

    def _spec(self) -> SandboxSpec:
        if self.spec is None:
            raise RuntimeError(_("SandboxProvisioner.spec is not set; expected it set before the kernel starts. "
                                 "This is a bug in geolab."))
        return self.spec

    async def poll(self) -> int | None:
        if self.container is None:
            return self.exit_code
        try:
            await asyncio.to_thread(self.container.reload)
        except NotFound:
            return self.exit_code if self.exit_code is not None else -1
        if self.container.status in ("running", "created", "restarting", "paused"):  # paused: frozen for a check
            return None
        self.exit_code = int(self.container.attrs["State"].get("ExitCode", -1))
        return self.exit_code

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.2)
        return code

    async def send_signal(self, signum: int) -> None:
        if self.container is not None:
            try:
                await asyncio.to_thread(self.container.kill, signal=signum)
            except (APIError, NotFound):
                pass

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        destroy(self.container)
        self.container = None

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return 2.0

    async def get_provisioner_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await super().get_provisioner_info()
        return info


def destroy(container: Container | None) -> None:
    """Kill and remove a sandbox container, whatever state it is in (the deadline's way)."""
    if container is None:
        return
    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "removal of container" not in str(exc) and "already in progress" not in str(exc):
            raise


class Freezer:
    """Freezes a learner's containers (their kernel's, their JupyterLab server's) for the length of a
    check, with Docker's pause (the cgroup freezer): while a check observes the clusters, no code of the
    learner runs, not even a thread they left running. Holds nest: checks the kernel asked for at once
    share one freeze, and the containers thaw when the last of them ends. A container that is gone or
    stopped is left as it is."""

    def __init__(self, containers: Callable[[], list[Container]]) -> None:
        self._containers = containers
        self._lock = threading.Lock()
        self._holds = 0
        self._paused: list[Container] = []
        self.freezes = 0  # how many times the containers were frozen (for the grader's records)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        with self._lock:
            if self._holds == 0:
                self._paused = [c for c in self._containers() if _pause(c)]
                self.freezes += 1
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                if self._holds == 0:
                    for container in self._paused:
                        _unpause(container)
                    self._paused = []


def _pause(container: Container) -> bool:
    try:
        container.pause()
        return True
    except NotFound:
        return False
    except APIError as exc:
        if "is not running" in str(exc) or "already paused" in str(exc):
            return False
        raise


def _unpause(container: Container) -> None:
    try:
        container.unpause()
    except (NotFound, APIError):
        pass  # removed (the deadline's way) or no longer paused: nothing to thaw
