"""One submission, run in its sandbox: the kernel in its container, nbclient here, its lab owned here.

Every wait has a deadline owned by the grader: each cell (nbclient's timeout), the kernel's start,
and the whole submission, at which the container is destroyed (not a process group: everything the
kernel started goes with it). Output the kernel sends is capped. What comes back is the executed
notebook's outcome and the grader's own handle on the lab the submission started (or none).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from checks.engine.model import LabSpec
from checks.sandbox.provisioner import RUN_INSIDE, SandboxLimits, SandboxProvisioner, SandboxSpec, destroy
from checks.sandbox.trusted import GradedLabs, create_sandbox_network, remove_sandbox_network
from labs.control import ControlServer
from labs.docker_backend import DockerBackend
from labs.settings import LABEL_LAB

Progress = Callable[[str], None]
#: Output one submission may send back (stdout, displays, errors), in bytes of JSON.
MAX_OUTPUT_BYTES = 2_000_000
KERNEL_START_TIMEOUT_S = 90


@dataclass(frozen=True)
class SandboxOutcome:
    """How a sandboxed run ended (the lab it started is on `GradedLabs.lab`)."""

    status: str
    reason: str
    errors: int
    output_bytes: int
    seconds_to_kernel: float


class CappedClient(NotebookClient):
    """nbclient with a cap on the output the kernel may send back."""

    max_output_bytes = MAX_OUTPUT_BYTES
    output_bytes = 0
    capped = False

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        self.output_bytes += size
        if self.output_bytes > self.max_output_bytes:
            if not self.capped:
                self.capped = True
                outs.append(nbformat.from_dict({"output_type": "stream", "name": "stderr",
                                                "text": "[geolab: output cut: the submission's limit was reached]\n"}))
            return None
        return super().output(outs, msg, display_id, cell_index)


def kernel_environment(token: str) -> dict[str, str]:
    """The kernel's whole environment, built from nothing (the grader's is never passed on)."""
    home = "/tmp/home"
    return {
        "HOME": home, "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.mpl",
        "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "GEOLAB_CONTROL": f"{RUN_INSIDE}/control.sock", "GEOLAB_CONTROL_TOKEN": token,
    }


class Sandbox:
    """One submission's sandbox: its folder, network, control channel, kernel and lab."""

    def __init__(self, spec: LabSpec, prefix: str, image: str, backend: DockerBackend,
                 limits: SandboxLimits | None = None, notebooks: tuple[str, ...] = ()) -> None:
        self.prefix = prefix
        self.image = image
        self.backend = backend
        self.limits = limits or SandboxLimits()
        self.workdir = Path(tempfile.mkdtemp(prefix="geolab-grade-"))  # 0700: only the grader
        self.run_dir = self.workdir / "run"
        self.run_dir.mkdir()
        self.run_dir.chmod(0o777)  # the kernel's user creates its sockets here; the parent keeps others out
        try:
            self.network = create_sandbox_network(backend.docker, f"geolab-{prefix}sandbox", f"{prefix}sandbox")
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.labs = GradedLabs(spec, prefix, self.network, backend, notebooks)
        self.token = secrets.token_hex(32)
        try:
            self.server = ControlServer(self.run_dir / "control.sock", self.token, self.labs).start()
        except BaseException:
            remove_sandbox_network(backend.docker, self.network)
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.provisioner: SandboxProvisioner | None = None

    def run(self, notebook: nbformat.NotebookNode, cell_timeout_s: int, deadline_s: int) -> SandboxOutcome:
        """Execute the notebook in the sandbox; never raises for what the submission does."""
        km = AsyncKernelManager(kernel_name="python3")
        kernel_id = str(uuid.uuid4())
        provisioner = SandboxProvisioner(kernel_id=kernel_id, kernel_spec=km.kernel_spec, parent=km)
        provisioner.spec = SandboxSpec(self.image, self.run_dir, self.network, f"geolab-{self.prefix}kernel",
                                       kernel_environment(self.token), {LABEL_LAB: f"{self.prefix}sandbox"},
                                       self.limits)
        provisioner.client = self.backend.docker
        km.kernel_id = kernel_id
        km.provisioner = provisioner
        self.provisioner = provisioner
        client = CappedClient(notebook, km=km, timeout=cell_timeout_s, startup_timeout=KERNEL_START_TIMEOUT_S,
                              allow_errors=True, kernel_name="python3", record_timing=False)
        result: dict[str, Any] = {"status": "ok", "reason": ""}

        def execute() -> None:
            try:
                client.execute()
            except CellTimeoutError:
                result.update(status="timeout", reason=f"a cell ran longer than {cell_timeout_s} s")
            except DeadKernelError:
                result.update(status=result.get("deadline") or "kernel-died",
                              reason=result.get("deadline_reason") or "the kernel died (killed, or out of memory)")
            except Exception as exc:  # nbclient's own failures: recorded, never fatal
                result.update(status="error", reason=f"the notebook could not be run: {type(exc).__name__}"[:200])

        runner = threading.Thread(target=execute, name=f"geolab-{self.prefix}nbclient", daemon=True)
        runner.start()
        runner.join(timeout=deadline_s)
        if runner.is_alive():
            result.update(status="timeout", reason=f"the submission ran longer than {deadline_s} s",
                          deadline="timeout", deadline_reason=f"the submission ran longer than {deadline_s} s")
            destroy(provisioner.container)  # everything the kernel started goes with the container
            runner.join(timeout=30)
        raised = [o for c in notebook.cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if result["status"] == "ok" and raised:
            first = f"{raised[0].get('ename', '')}: {raised[0].get('evalue', '')}"[:160]
            result["reason"] = f"{len(raised)} cell(s) raised an error; the first: {first}"
        if client.capped and result["status"] == "ok":
            result["reason"] = (result["reason"] + "; " if result["reason"] else "") + "output cut at its limit"
        return SandboxOutcome(str(result["status"]), str(result["reason"]), len(raised), client.output_bytes, 0.0)

    def close(self) -> None:
        """Destroy the kernel's container, the lab, the network, the channel and the folder."""
        if self.provisioner is not None:
            destroy(self.provisioner.container)
        for container in self.backend.docker.containers.list(all=True, filters={"label": f"{LABEL_LAB}="
                                                                                          f"{self.prefix}sandbox"}):
            destroy(container)
        try:
            self.labs.close()
        finally:
            self.server.stop()
            remove_sandbox_network(self.backend.docker, self.network)
            shutil.rmtree(self.workdir, ignore_errors=True)
