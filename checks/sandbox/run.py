"""One submission, run in its sandbox: the kernel in its container, nbclient here, its lab owned here.

Every wait has a deadline owned by the grader: each cell (nbclient's timeout), the kernel's start,
and the whole submission, at which the container is destroyed (not a process group: everything the
kernel started goes with it). What the grader holds of a submission is bounded: each message the
kernel sends (`MAX_MESSAGE_BYTES`, enforced by ZeroMQ before a byte is kept), the output it keeps
(`MAX_OUTPUT_BYTES`; widget state is not kept at all), each control-channel request
(`labs.control.MAX_REQUEST`) and the submission's folder (a small tmpfs). What comes back is the
executed notebook's outcome and the grader's own handle on the lab the submission started (or none).
"""

from __future__ import annotations

import contextvars
import json
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from docker.models.containers import Container
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from checks.engine.model import LabSpec
from checks.errors import GradingError
from checks.sandbox.provisioner import (
    RUN_INSIDE,
    Freezer,
    SandboxLimits,
    SandboxProvisioner,
    SandboxSpec,
    destroy,
)
from checks.sandbox.reference import ReferenceExperiments
from checks.sandbox.trusted import GradedLabs, create_sandbox_network, remove_sandbox_network
from labs.backend import LabRecord
from labs.cluster import lab_dropped, labelled_containers
from labs.control import JSON, ControlHandler, ControlServer
from labs.disks import DiskUse
from labs.docker_backend import DockerBackend
from labs.forward import Forward
from labs.i18n import LANGUAGES, _, language, ngettext, using
from labs.settings import LABEL_LAB
from labs.topology import Topology

Progress = Callable[[str], None]
#: Output one submission may send back (stdout, displays, errors), in bytes of JSON.
MAX_OUTPUT_BYTES = 2_000_000
#: The largest message the grader takes from a kernel: ZeroMQ drops a larger one on arrival, before it is
#: read into memory (a plotly figure widget's state, the largest a lesson sends, is about 5 MB).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: The submission's folder on the host (its sockets, nothing else): a tmpfs of this size.
RUN_DIR_SIZE = "1m"
KERNEL_START_TIMEOUT_S = 90


@dataclass(frozen=True)
class SandboxUse:
    """What one submission's lab used of the host, measured before it was removed: what its clusters
    stored (each on a capped disk), and how many packets its kernel and clusters sent that the
    firewall dropped (towards this host, or out of the lab)."""

    disks: tuple[DiskUse, ...]
    dropped_packets: int

    @property
    def disk_bytes(self) -> int:
        return sum(d.used_bytes for d in self.disks)

    @property
    def full(self) -> tuple[str, ...]:
        """The clusters whose disk reached its cap."""
        return tuple(d.cluster for d in self.disks if d.full)


class BoundedKernelClient(AsyncKernelClient):
    """The grader's client of a sandboxed kernel: its ZeroMQ sockets refuse any message larger than
    `MAX_MESSAGE_BYTES` (the connection is dropped and made again; the message is lost, never read)."""

    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context


@dataclass(frozen=True)
class SandboxOutcome:
    """How a sandboxed run ended (the lab it started is on `GradedLabs.lab`)."""

    status: str
    reason: str
    errors: int
    output_bytes: int
    seconds_to_kernel: float


class CappedClient(NotebookClient):
    """nbclient with a cap on the output the kernel may send back; it keeps no widget state (what a
    kernel's widgets send would otherwise pile up in the grader, uncounted), and it counts the messages
    ZeroMQ dropped for being over `MAX_MESSAGE_BYTES` (each drop closes the connection: a socket
    monitor sees it, and the outcome says the output was cut)."""

    max_output_bytes = MAX_OUTPUT_BYTES
    output_bytes = 0
    capped = False
    noted = False  # the note that the output was cut is in the notebook
    dropped = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, store_widget_state=False, **kwargs)
        self._monitors: dict[str, Any] = {}

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self._monitors = {name: getattr(kc, f"{name}_channel").socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                          for name in ("iopub", "shell")}
        return kc

    async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> Any:
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            for name, monitor in list(self._monitors.items()):  # each disconnection: a message over the limit
                dropped = 0
                while await monitor.poll(0):
                    await monitor.recv_multipart()
                    dropped += 1
                self.dropped += dropped
                self.capped = self.capped or bool(dropped)
                if dropped and name == "iopub":
                    self._reconnect_iopub()

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        self.output_bytes += size
        if self.output_bytes > self.max_output_bytes:
            if not self.noted:
                self.capped = self.noted = True
                note = _("[geolab: output cut: the submission's limit was reached]")
                outs.append(nbformat.from_dict({"output_type": "stream", "name": "stderr", "text": note + "\n"}))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _reconnect_iopub(self) -> None:
        """A subscriber whose connection ZeroMQ dropped for an oversized message never hears again: the
        next cells' outputs and their end would be lost (each cell then waits out `iopub_timeout`). A new
        channel subscribes afresh."""
        kc = self.kc
        if kc is None:
            return
        old = kc._iopub_channel
        kc._iopub_channel = None
        if old is not None:
            old.close()
        self._monitors["iopub"].close()
        self._monitors["iopub"] = kc.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        kc.iopub_channel.start()


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
                 limits: SandboxLimits | None = None, notebooks: tuple[str, ...] = (), lang: str | None = None,
                 reference: ReferenceExperiments | None = None) -> None:
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
        try:
            # the one host folder the kernel can write: a tmpfs of its own, so it cannot fill the host's disk
            _mount_run_dir(self.run_dir)
            self.network = create_sandbox_network(backend.docker, f"geolab-{prefix}sandbox", f"{prefix}sandbox")
        except BaseException:
            _remove_workdir(self.workdir, self.run_dir)
            raise
        self.provisioner: SandboxProvisioner | None = None
        self.labs = GradedLabs(spec, prefix, self.network, backend, notebooks, reference)
        self.labs.freezer = Freezer(self._kernel)  # no code of the submission runs while a check observes
        self.token = secrets.token_hex(32)
        try:
            self.server = ControlServer(self.run_dir / "control.sock", self.token,
                                        InLanguage(self.labs, self.lang)).start()
        except BaseException:
            remove_sandbox_network(backend.docker, self.network)
            _remove_workdir(self.workdir, self.run_dir)
            raise

    def _kernel(self) -> list[Container]:
        """The submission's kernel container, while it exists (what a check freezes)."""
        container = self.provisioner.container if self.provisioner is not None else None
        return [container] if container is not None else []

    def run(self, notebook: nbformat.NotebookNode, cell_timeout_s: int, deadline_s: int) -> SandboxOutcome:
        """Execute the notebook in the sandbox; never raises for what the submission does. The outcome's
        reason is in the submission's language."""
        with using(self.lang):
            return self._run(notebook, cell_timeout_s, deadline_s)

    def _run(self, notebook: nbformat.NotebookNode, cell_timeout_s: int, deadline_s: int) -> SandboxOutcome:
        km = AsyncKernelManager(kernel_name="python3")
        km.client_factory = BoundedKernelClient
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
        # the notebook is done: its kernel goes now, with every thread and process it left running, so
        # that no code of the submission runs while the grader reads the lab (nbclient, given this
        # kernel's manager, leaves the kernel running; before, it lived on through the final checks)
        destroy(provisioner.container)
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

    def use(self) -> SandboxUse:
        """What the submission used of the host so far (call before `close`): its lab's disks, and the
        packets the firewall dropped from its sandbox's network and its lab's networks."""
        lab = self.labs.lab
        disks = self.backend.storage(lab.record) if lab is not None else ()
        dropped = lab_dropped(self.backend.docker, f"{self.prefix}sandbox")
        if lab is not None:
            dropped += lab_dropped(self.backend.docker, lab.name)
        return SandboxUse(disks, dropped)

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
            _remove_workdir(self.workdir, self.run_dir)


def _mount_run_dir(run_dir: Path) -> None:
    """Mount a small tmpfs on the submission's folder, writable by the kernel's user (its sockets).

    Raises:
        GradingError: it cannot be mounted (not root); nothing is graded then.
    """
    command = ["mount", "-t", "tmpfs", "-o", f"size={RUN_DIR_SIZE},nr_inodes=256,mode=0777,nosuid,nodev,noexec",
               "tmpfs", str(run_dir)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GradingError(_("Cannot give the submission its folder: `{command}` failed ({error}); expected it to "
                             "run. Run the grader as root.").format(command=" ".join(command), error=exc)) from exc
    if result.returncode != 0:
        raise GradingError(_("Cannot give the submission its folder: `{command}` exited {code} ({error}); expected "
                             "0. Run the grader as root.").format(command=" ".join(command), code=result.returncode,
                                                                 error=result.stderr.strip()[:200]))


def _remove_workdir(workdir: Path, run_dir: Path) -> None:
    subprocess.run(["umount", "-l", str(run_dir)], capture_output=True, timeout=30)  # mounted or not: best effort
    shutil.rmtree(workdir, ignore_errors=True)
