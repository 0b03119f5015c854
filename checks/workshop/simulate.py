"""Simulated learners: a course notebook run in a learner's container, as their server would run it.

The container is what a learner's single-user server is, less JupyterLab: the kernel image (no
Docker, no solutions), locked down as a grading sandbox is, on the learner's network, with their
control-channel folder mounted read-only at /run/geolab. nbclient runs inside it and starts the
kernel there. Used by the workshop's integration tests and by `make bench` (learners served at once).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from docker.types import Mount

import docker
from checks.sandbox.image import kernel_image_name
from checks.sandbox.provisioner import RUN_INSIDE, SandboxLimits, destroy, locked_down
from checks.workshop.labs import LABEL_LEARNER
from labs.settings import LABEL_LAB

RESULT_MARK = "GEOLAB-RESULT "
#: nbclient inside the learner's container: runs /work/notebook.ipynb, prints one result line.
RUNNER = f"""
import json, time, nbformat
from nbclient import NotebookClient
notebook = nbformat.read("/work/notebook.ipynb", as_version=4)
started = time.monotonic()
status = "ok"
try:
    NotebookClient(notebook, timeout=int(open("/work/cell_timeout").read()), kernel_name="python3",
                   allow_errors=True).execute()
except Exception as exc:
    status = (type(exc).__name__ + ": " + str(exc))[:300]
errors, start_s = [], None
for cell in notebook.cells:
    if cell.cell_type != "code":
        continue
    errors += [(o.get("ename", "") + ": " + o.get("evalue", ""))[:300] for o in cell.get("outputs", [])
               if o.get("output_type") == "error"]
    timing = cell.get("metadata", {{}}).get("execution", {{}})
    if "Lab.start(" in cell.source and "shell.execute_reply" in timing:
        from datetime import datetime
        start_s = (datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
                   - datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
print({RESULT_MARK!r} + json.dumps({{"status": status, "seconds": time.monotonic() - started, "errors": errors,
                                     "lab_start_s": start_s}}), flush=True)
"""


@dataclass(frozen=True)
class LearnerRun:
    """How one simulated learner's notebook went."""

    learner: str
    status: str
    seconds: float
    lab_start_s: float | None
    errors: tuple[str, ...]
    peak_memory_mib: float
    log_tail: str

    @property
    def passed(self) -> bool:
        return self.status == "ok" and not self.errors


def run_notebook_as_learner(client: docker.DockerClient, learner: str, folder: Path, network: str, token: str,
                            notebook: nbformat.NotebookNode, cell_timeout_s: int = 300, timeout_s: float = 900,
                            limits: SandboxLimits | None = None, lang: str = "en") -> LearnerRun:
    """Run `notebook` in a container of `learner` (see the module docstring), in the learner's language
    `lang` (their server's GEOLAB_LANG); never raises for what the notebook does."""
    work = Path(tempfile.mkdtemp(prefix=f"geolab-learner-{learner}-"))
    work.chmod(0o755)
    nbformat.write(notebook, work / "notebook.ipynb")
    (work / "cell_timeout").write_text(str(cell_timeout_s))
    for path in work.iterdir():
        path.chmod(0o644)
    limits = limits or SandboxLimits(memory="1g", cpus=1.0)
    home = "/tmp/home"
    container = client.containers.create(
        kernel_image_name(), entrypoint=["python", "-c", RUNNER], name=f"geolab-learner-{learner}-{int(time.time())}",
        **locked_down(limits), network=network,
        mounts=[Mount(target=RUN_INSIDE, source=str(folder), type="bind", read_only=True),
                Mount(target="/work", source=str(work), type="bind", read_only=True)],
        environment={"HOME": home, "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.mpl",
                     "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                     "GEOLAB_CONTROL": f"{RUN_INSIDE}/control.sock", "GEOLAB_CONTROL_TOKEN": token,
                     "GEOLAB_LANG": lang},
        labels={LABEL_LAB: f"ws-net-{learner}", LABEL_LEARNER: learner})
    peak = 0.0
    try:
        container.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            container.reload()
            if container.status not in ("running", "created", "paused"):  # paused: frozen for a check
                break
            try:
                stats = container.stats(stream=False)
                peak = max(peak, stats.get("memory_stats", {}).get("usage", 0) / 2**20)
            except docker.errors.APIError:
                pass
            time.sleep(1.0)
        logs = container.logs().decode(errors="replace")
    finally:
        destroy(container)
        shutil.rmtree(work, ignore_errors=True)
    line = next((x for x in reversed(logs.splitlines()) if x.startswith(RESULT_MARK)), None)
    if line is None:
        return LearnerRun(learner, "no-result", 0.0, None, (), peak, logs[-2000:])
    data = json.loads(line[len(RESULT_MARK):])
    return LearnerRun(learner, str(data["status"]), float(data["seconds"]), data.get("lab_start_s"),
                      tuple(data["errors"]), peak, logs[-2000:])
