"""`geolab serve`: the lab server of a workshop host.

It owns the host's Docker engine and serves each learner's kernel through the control channel the
grading sandbox uses (`labs.control`): one Unix socket per learner, in a folder of its own that only
that learner's server container sees (mounted at /run/geolab), with a token of its own. Whoever
provisions learners (JupyterHub's spawner hook, or an instructor by hand) uses the admin socket,
which only root can open:

    POST   /v1/learners/{name}            add a learner (or give them a new token): {token, folder, network}
    DELETE /v1/learners/{name}            remove their labs and network (their records stay)
    GET    /v1/class                      every learner x exercise, their labs, the pool, the memory budget
    POST   /v1/events/{action}            a class-wide kill|stop|start {cluster} or cut|heal {a, b}
    POST   /v1/activity/{name}            the hub saw the learner active (their labs are not idle)

Its folder (`--state`, 0700) keeps: `state.json` (0600: the admin token and each learner's token, so
a restarted lab server still answers running containers), `checks.jsonl` (every check a learner ran,
as the lab server ran it: the class view's record, replayed at start-up), `audit.log` (every request),
and `learners/<name>/control.sock`.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from checks.sandbox.trusted import create_sandbox_network, remove_sandbox_network
from checks.workshop.labs import LAB_PREFIX, CheckEvent, Quotas, SharedClusters, Workshop, validate_learner
from labs.cluster import lab_names, remove_lab
from labs.control import JSON, ChannelClient, ChannelServer, ControlServer
from labs.docker_backend import Confinement, DockerBackend
from labs.errors import LabError, UsageError
from labs.i18n import N_, _, in_this_language, ngettext
from labs.lab import Lab
from labs.tokens import LabAuth, new_secret_key
from labs.topology import full_mesh, single

Progress = Callable[[str], None]
#: Learner networks are geolab-ws-<learner>; their lab label ws-net-<learner> (never a lab's ws-<hex>).
NETWORK_PREFIX = "geolab-ws-"


def learner_network(name: str) -> str:
    return f"{NETWORK_PREFIX}{name}"


def default_state_dir() -> Path:
    from labs.settings import load_settings

    return load_settings().cache_dir / "workshop" / "labs"


class AdminServer(ChannelServer):
    """The lab server's admin socket (0600)."""

    refusal = N_("The lab server's admin socket refused a request without its admin token; expected the token in the "
                 "lab server's state.json.")

    def __init__(self, socket_path: Path, token: str, server: LabServer) -> None:
        self.server = server
        super().__init__(socket_path, token, 0o600)

    def _route(self, method: str, path: str, body: JSON, progress: Progress) -> JSON:
        parts = [p for p in path.split("?")[0].split("/") if p]
        server = self.server
        if parts == ["v1", "class"] and method == "GET":
            return server.workshop.class_view()
        if len(parts) == 3 and parts[:2] == ["v1", "learners"]:
            if method == "POST":
                return server.add_learner(parts[2], progress)
            if method == "DELETE":
                return server.remove_learner(parts[2], progress)
        if len(parts) == 3 and parts[:2] == ["v1", "activity"] and method == "POST":
            server.workshop.touch(validate_learner(parts[2]))
            return {}
        if len(parts) == 3 and parts[:2] == ["v1", "events"] and method == "POST":
            clusters = body.get("clusters") if isinstance(body, dict) else None
            if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
                raise UsageError(_("A class-wide event needs {body}; e.g. {example}.").format(
                    body='{"clusters": [...]}', example='{"clusters": ["beijing"]}'))
            return server.workshop.event(parts[2], tuple(clusters), progress)
        raise UsageError(_("The lab server's admin socket has no {method} {path}; expected `learners`, `class`, "
                           "`events` or `activity`.").format(method=method, path=path))


#: What each of a class's shared clusters may store (sparse: only what is stored takes space).
SHARED_STORAGE_MIB = 8192


class LabServer:
    """The workshop host's lab server (see the module docstring)."""

    def __init__(self, state_dir: Path, quotas: Quotas, warm: dict[str, int] | None = None,
                 client: docker.DockerClient | None = None, log: Progress = print,
                 shared: tuple[str, ...] = (), shared_file: Path | None = None) -> None:
        from labs.settings import load_settings

        self.state_dir = state_dir
        self.log = log
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir.chmod(0o700)
        (state_dir / "learners").mkdir(exist_ok=True)
        (state_dir / "learners").chmod(0o711)  # a container sees its own folder only; root opens any
        if (shared or shared_file) and warm:
            raise UsageError(_("A workshop on shared clusters starts no labs, so it keeps no warm pool; expected no "
                               "--warm with --shared or --shared-clusters."))
        if shared and shared_file:
            raise UsageError(_("--shared starts the class's clusters here and --shared-clusters names clusters "
                               "deployed elsewhere; expected one of them."))
        self.shared_clusters = shared
        self.shared_file = shared_file
        # learners' labs are closed like their servers: no route out, no reach to this host, storage capped
        self.backend = DockerBackend(load_settings(), client, confinement=Confinement(storage_mib=quotas.storage_mib))
        self.state = self._load_state()
        # every lab this lab server starts is ws-<id>-...: at start-up it removes what it left, nobody else's
        self.labs_named = f"{LAB_PREFIX}{self.state['id']}-"
        self.workshop = Workshop(self.backend, quotas, warm, on_check=self._write_check, log=log,
                                 lab_tag=f"{self.state['id']}-")
        self.servers: dict[str, ControlServer] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._audit = (state_dir / "audit.log").open("a", encoding="utf-8")
        self.admin: AdminServer | None = None
        self._maintainer: threading.Thread | None = None

    # ------------------------------------------------------------------ state

    @property
    def shared_name(self) -> str:
        """The class's shared clusters (`geolab serve --shared ...`): one name for every restart."""
        return f"{self.labs_named}shared"

    @property
    def admin_socket(self) -> Path:
        return self.state_dir / "admin.sock"

    def _load_state(self) -> dict[str, Any]:
        path = self.state_dir / "state.json"
        if path.exists():
            state: dict[str, Any] = json.loads(path.read_text())
        else:
            state = {"admin_token": secrets.token_hex(32), "learners": {}}
        state.setdefault("id", secrets.token_hex(3))
        self._save(state)
        return state

    def _save(self, state: dict[str, Any] | None = None) -> None:
        path = self.state_dir / "state.json"
        temporary = path.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.write_text(json.dumps(state if state is not None else self.state, indent=1))
        temporary.chmod(0o600)
        temporary.replace(path)

    def _write_check(self, event: CheckEvent) -> None:
        with (self.state_dir / "checks.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event.to_wire()) + "\n")

    def _audit_line(self, learner: str, method: str, path: str) -> None:
        self.workshop.touch(learner)
        with self._lock:
            self._audit.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {learner} {method} {path}\n")
            self._audit.flush()

    # ------------------------------------------------------------------ learners

    def add_learner(self, name: str, progress: Progress = lambda _line: None) -> dict[str, str]:
        """Add a learner, or give a returning one a new token (a new server container gets it)."""
        validate_learner(name)
        token = secrets.token_hex(32)
        with self._lock:
            self.state["learners"][name] = token
            self._save()
        self._serve_learner(name, token)
        folder = self.state_dir / "learners" / name
        progress(_("Learner {name!r}: control channel at {socket}.").format(name=name, socket=folder / "control.sock"))
        return {"token": token, "folder": str(folder), "network": learner_network(name)}

    def _serve_learner(self, name: str, token: str) -> None:
        network = learner_network(name)
        client = self.backend.docker
        try:
            client.networks.get(network)
        except docker.errors.NotFound:
            create_sandbox_network(client, network, f"ws-net-{name}")
        self.workshop.add_learner(name, network)
        folder = self.state_dir / "learners" / name
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
        with self._lock:
            server = self.servers.get(name)
            if server is not None:
                server.token = token
                return
            handler = self.workshop.learners[name].handler
            self.servers[name] = ControlServer(folder / "control.sock", token, handler,
                                               on_request=lambda method, path: self._audit_line(name, method, path)
                                               ).start()

    def remove_learner(self, name: str, progress: Progress = lambda _line: None) -> dict[str, int]:
        """Remove a learner's labs, channel and network (when their server stopped); records stay."""
        validate_learner(name)
        labs = self.workshop.remove_learner_labs(name, progress)
        with self._lock:
            server = self.servers.pop(name, None)
            self.state["learners"].pop(name, None)
            self._save()
        if server is not None:
            server.stop()
        self.remove_learner_network(name)
        progress(ngettext("Learner {name!r}: removed {count} lab, the channel and the network.",
                          "Learner {name!r}: removed {count} labs, the channel and the network.", labs).format(
                              name=name, count=labs))
        return {"labs": labs}

    # ------------------------------------------------------------------ run

    def start(self) -> LabServer:
        """Clear what a crashed lab server left, serve every known learner again, start housekeeping."""
        client = self.backend.docker
        ours = self.backend.settings.lab_prefix + self.labs_named
        shared_name = self.backend.settings.lab_prefix + self.shared_name
        for name in lab_names(client):
            if name.startswith(ours) and not (name == shared_name and self.shared_clusters):
                containers, networks = remove_lab(client, name)
                self.log(ngettext("Removed lab {name} left by an earlier lab server ({count} container).",
                                  "Removed lab {name} left by an earlier lab server ({count} containers).",
                                  containers).format(name=name, count=containers))
        if self.shared_clusters:
            self.workshop.shared = self._start_shared()
        elif self.shared_file is not None:
            self.workshop.shared = SharedClusters.from_file(self.shared_file, self.backend.settings)
            self.log(_("Shared clusters from {file}: {clusters} (deployed elsewhere; every one knows the others).")
                     .format(file=self.shared_file, clusters=list(self.workshop.shared.lab.clusters)))
        for name, token in sorted(self.state["learners"].items()):
            self._serve_learner(name, token)
        checks = self.state_dir / "checks.jsonl"
        if checks.exists():
            for line in checks.read_text(encoding="utf-8").splitlines():
                try:
                    data = json.loads(line)
                    self.workshop.apply(CheckEvent(**data))
                except (ValueError, TypeError):
                    continue
        self.admin = AdminServer(self.admin_socket, self.state["admin_token"], self)
        self.admin.start()
        self._maintainer = threading.Thread(target=in_this_language(self.workshop.maintain), args=(self._stop,),
                                            name="geolab-workshop", daemon=True)
        self._maintainer.start()
        warm = ", ".join(f"{lab} {count}" for lab, count in self.workshop.warm.items()) or _("off")
        self.log(ngettext("Lab server ready: admin socket {socket}; {count} learner; warm pool {warm}; memory budget "
                          "{budget} MiB.",
                          "Lab server ready: admin socket {socket}; {count} learners; warm pool {warm}; memory budget "
                          "{budget} MiB.", len(self.servers)).format(
                              socket=self.admin_socket, count=len(self.servers), warm=warm,
                              budget=self.workshop.quotas.memory_mib))
        return self

    def _start_shared(self) -> SharedClusters:
        """The class's shared clusters: a full mesh with independent stores and authentication on, with
        a key kept in state.json (a restarted lab server reattaches to them)."""
        if "shared_key" not in self.state:
            with self._lock:
                self.state["shared_key"] = base64.b64encode(new_secret_key()).decode()
                self._save()
        auth = LabAuth(base64.b64decode(self.state["shared_key"]))
        # closed like a learner's lab; the whole class stores its messages there, hence a class-sized disk
        backend = DockerBackend(self.backend.settings, self.backend.docker, auth,
                                Confinement(storage_mib=SHARED_STORAGE_MIB))
        self.log(_("Starting the class's shared clusters {clusters} (authentication on) ...").format(
            clusters=list(self.shared_clusters)))
        clusters = self.shared_clusters
        topology = single(clusters[0]) if len(clusters) == 1 else full_mesh(*clusters, config_store="independent")
        lab = Lab.start(topology, name=self.shared_name,
                        backend=backend, progress=self.log)
        return SharedClusters(lab, auth)

    def stop(self, remove_everything: bool = True) -> None:
        """Stop serving; with `remove_everything`, remove every lab and learner network too. Once."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self.admin is not None:
            self.admin.stop()
        with self._lock:
            servers = dict(self.servers)
            self.servers.clear()
        for server in servers.values():
            server.stop()
        if self._maintainer is not None:  # a pool lab it is starting now is in the workshop's list after this
            self._maintainer.join(timeout=self.backend.settings.start_timeout_s + 60)
        if remove_everything:
            self.workshop.close()
            if self.workshop.shared is not None and not self.workshop.shared.remote:
                self.workshop.shared.lab.stop(progress=self.log, force=True)
            for name in servers:
                try:
                    self.remove_learner_network(name)
                except LabError as exc:
                    self.log(str(exc))
        self._audit.close()

    def remove_learner_network(self, name: str) -> None:
        client = self.backend.docker
        try:
            network = client.networks.get(learner_network(name))
            network.reload()
            for container in network.containers:
                network.disconnect(container, force=True)
        except docker.errors.NotFound:
            return
        remove_sandbox_network(client, learner_network(name))

    def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then remove every lab and learner network."""
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: done.set())
        done.wait()
        self.log(_("Lab server stopping: removing the learners' labs and networks ..."))
        self.stop()
        self.log(_("Lab server stopped."))


class LabServerClient(ChannelClient):
    """The admin socket's client (`geolab workshop ...`, JupyterHub's spawner hook, the class view)."""

    def __init__(self, state_dir: Path, timeout_s: float = 600.0) -> None:
        state = state_dir / "state.json"
        try:
            token = json.loads(state.read_text())["admin_token"]
        except (OSError, ValueError, KeyError) as exc:
            raise LabError(_("Cannot read the lab server's admin token from {state} ({error}); expected `geolab serve "
                             "--state {folder}` to have started (as root). Start it first.").format(
                                 state=state, error=type(exc).__name__, folder=state_dir)) from exc
        super().__init__(str(state_dir / "admin.sock"), str(token), timeout_s, serves="`geolab serve`")

    def add_learner(self, name: str) -> dict[str, str]:
        return dict(self._call("POST", f"/v1/learners/{name}"))

    def remove_learner(self, name: str) -> dict[str, int]:
        return dict(self._call("DELETE", f"/v1/learners/{name}"))

    def class_view(self) -> dict[str, Any]:
        return dict(self._call("GET", "/v1/class"))

    def event(self, action: str, clusters: list[str], progress: Progress | None = None) -> dict[str, str]:
        return dict(self._call("POST", f"/v1/events/{action}", {"clusters": clusters}, progress))

    def activity(self, name: str) -> None:
        self._call("POST", f"/v1/activity/{name}")

