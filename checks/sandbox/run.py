"""One submission, run in its sandbox: the kernel in its container, nbclient here, its lab owned here.

Every wait has a deadline owned by the grader: each cell (nbclient's timeout), the kernel's start,
and the whole submission, at which the container is destroyed (not a process group: everything the
kernel started goes with it). Output the kernel sends is capped. What comes back is the executed
notebook's outcome and the grader's own handle on the lab the submission started (or none).
"""

from __future__ import annotations

import contextvars
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
from checks.errors import GradingError
from checks.sandbox.provisioner import RUN_INSIDE, SandboxLimits, SandboxProvisioner, SandboxSpec, destroy
from checks.sandbox.trusted import GradedLabs, create_sandbox_network, remove_sandbox_network
from labs.backend import LabRecord
from labs.cluster import labelled_containers
from labs.control import JSON, ControlHandler, ControlServer
from labs.docker_backend import DockerBackend
from labs.forward import Forward
from labs.i18n import LANGUAGES, _, language, ngettext, using
from labs.settings import LABEL_LAB
from labs.topology import Topology

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
                note = _("[geolab: output cut: the submission's limit was reached]")
                outs.append(nbformat.from_dict({"output_type": "stream", "name": "stderr", "text": note + "\n"}))
            return None
        return super().output(outs, msg, display_id, cell_index)


def kernel_environment(token: str, lang: str) -> dict[str, str]:
    """The kernel's whole environment, built from nothing (the grader's is never passed on); the
    kernel shows its messages in `lang` (the submission's language, ``en`` or ``zh``)."""
    home = "/tmp/home"
    return {
        "HOME": home, "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.mpl",
        "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "GEOLAB_CONTROL": f"{RUN_INSIDE}/control.sock", "GEOLAB_CONTROL_TOKEN": token, "GEOLAB_LANG": lang,
    }


class InLanguage:
    """A `labs.control.ControlHandler` that answers one kernel in one language: every verb of `handler`
    (its errors, the progress lines it sends, the results it returns) runs under `using(lang)`, on
    whichever of the channel's threads serves the request."""

    def __init__(self, handler: ControlHandler, lang: str) -> None:
        self.handler = handler
        self.lang = lang

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> tuple[LabRecord, tuple[Forward, ...]]:
        with using(self.lang):
            return self.handler.start(topology, name, base_port, configure, probe, progress)

    def attach(self, name: str) -> tuple[LabRecord, tuple[Forward, ...]]:
        with using(self.lang):
            return self.handler.attach(name)

    def remove(self, name: str) -> tuple[int, int]:
        with using(self.lang):
            return self.handler.remove(name)

    def cluster_state(self, name: str, cluster: str) -> str:
        with using(self.lang):
            return self.handler.cluster_state(name, cluster)

    def cluster_action(self, name: str, cluster: str, action: str, progress: Progress) -> float:
        with using(self.lang):
            return self.handler.cluster_action(name, cluster, action, progress)

    def link_action(self, name: str, a: str, b: str, action: str) -> None:
        with using(self.lang):
            self.handler.link_action(name, a, b, action)

    def call(self, verb: str, body: JSON) -> JSON:
        with using(self.lang):
            return self.handler.call(verb, body)


class Sandbox:
    """One submission's sandbox: its folder, network, control channel, kernel and lab, in the
    submission's language `lang` (default: the current one, which the grader sets for each submission
    with `labs.i18n.using`): the kernel's GEOLAB_LANG, and what the trusted side says and returns to it."""

    def __init__(self, spec: LabSpec, prefix: str, image: str, backend: DockerBackend,
                 limits: SandboxLimits | None = None, notebooks: tuple[str, ...] = (), lang: str | None = None) -> None:
        self.lang = lang or language()
        if self.lang not in LANGUAGES:  # refused before anything is made
            raise GradingError(_("Language {lang!r} is not one of the course's; expected one of {languages}.").format(
                lang=self.lang, languages=list(LANGUAGES)))
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
            self.server = ControlServer(self.run_dir / "control.sock", self.token,
                                        InLanguage(self.labs, self.lang)).start()
        except BaseException:
            remove_sandbox_network(backend.docker, self.network)
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.provisioner: SandboxProvisioner | None = None

    def run(self, notebook: nbformat.NotebookNode, cell_timeout_s: int, deadline_s: int) -> SandboxOutcome:
        """Execute the notebook in the sandbox; never raises for what the submission does. The outcome's
        reason is in the submission's language."""
        with using(self.lang):
            return self._run(notebook, cell_timeout_s, deadline_s)

    def _run(self, notebook: nbformat.NotebookNode, cell_timeout_s: int, deadline_s: int) -> SandboxOutcome:
        km = AsyncKernelManager(kernel_name="python3")
        kernel_id = str(uuid.uuid4())
        provisioner = SandboxProvisioner(kernel_id=kernel_id, kernel_spec=km.kernel_spec, parent=km)
        provisioner.spec = SandboxSpec(self.image, self.run_dir, self.network, f"geolab-{self.prefix}kernel",
                                       kernel_environment(self.token, self.lang), {LABEL_LAB: f"{self.prefix}sandbox"},
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
                result.update(status="timeout", reason=_("a cell ran longer than {seconds} s").format(
                    seconds=cell_timeout_s))
            except DeadKernelError:
                result.update(status=result.get("deadline") or "kernel-died",
                              reason=result.get("deadline_reason") or _("the kernel died (killed, or out of memory)"))
            except Exception as exc:  # nbclient's own failures: recorded, never fatal
                result.update(status="error", reason=_("the notebook could not be run: {error}").format(
                    error=type(exc).__name__)[:200])

        # the runner thread speaks the submission's language too (a thread starts with no using())
        runner = threading.Thread(target=contextvars.copy_context().run, args=(execute,),
                                  name=f"geolab-{self.prefix}nbclient", daemon=True)
        runner.start()
        runner.join(timeout=deadline_s)
        if runner.is_alive():
            too_long = _("the submission ran longer than {seconds} s").format(seconds=deadline_s)
            result.update(status="timeout", reason=too_long, deadline="timeout", deadline_reason=too_long)
            destroy(provisioner.container)  # everything the kernel started goes with the container
            runner.join(timeout=30)
        raised = [o for c in notebook.cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if result["status"] == "ok" and raised:
            first = f"{raised[0].get('ename', '')}: {raised[0].get('evalue', '')}"[:160]
            result["reason"] = ngettext("{count} cell raised an error; the first: {first}",
                                        "{count} cells raised an error; the first: {first}",
                                        len(raised)).format(count=len(raised), first=first)
        if client.capped and result["status"] == "ok":
            cut = _("output cut at its limit")
            result["reason"] = _("{reason}; {more}").format(reason=result["reason"], more=cut) if result["reason"] \
                else cut
        return SandboxOutcome(str(result["status"]), str(result["reason"]), len(raised), client.output_bytes, 0.0)

    def close(self) -> None:
        """Destroy the kernel's container, the lab, the network, the channel and the folder."""
        if self.provisioner is not None:
            destroy(self.provisioner.container)
        for container in labelled_containers(self.backend.docker, f"{LABEL_LAB}={self.prefix}sandbox"):
            destroy(container)
        try:
            self.labs.close()
        finally:
            self.server.stop()
            remove_sandbox_network(self.backend.docker, self.network)
            shutil.rmtree(self.workdir, ignore_errors=True)
