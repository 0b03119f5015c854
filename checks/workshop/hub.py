"""`geolab workshop up`: JupyterHub with DockerSpawner and the lab server, on one workshop host.

What runs where:
- on the host, as children of `geolab workshop up`: JupyterHub and its proxy (configurable-http-proxy
  from npm), the idle culler and the instructor's class view (hub services), and the lab server
  (`checks.workshop.server`, in-process);
- in Docker: each learner's JupyterLab server (`geolab/singleuser-<edition>`, made by DockerSpawner,
  locked down as a grading sandbox is, without the Docker socket), and their labs.

Networks: every learner's server is on `geolab-hub`, where containers cannot reach each other (inter-
container traffic off) and reach this host only on the hub's API port (a firewall rule on the bridge);
when a learner's lab starts, the lab server connects their server to their own network
(`geolab-ws-<learner>`), where their clusters answer under their names. JupyterHub's spawner hooks
ask the lab server for the learner's control channel (a token and a folder, mounted read-only at
/run/geolab) before the server starts, and remove the learner's labs when it stops.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

import docker
from checks.workshop.labs import LABEL_LEARNER, LEARNER, Quotas
from checks.workshop.server import LabServer, LabServerClient
from labs.cluster import labelled_containers
from labs.errors import EngineError, LabError, UsageError
from labs.firewall import bridge_name, close_bridge, open_bridge
from labs.i18n import LANGUAGES, Text, _
from labs.settings import LABEL_LAB, LABEL_SANDBOX, LabSettings
from labs.waiting import wait_for

Progress = Callable[[str], None]
HUB_NETWORK = "geolab-hub"
#: configurable-http-proxy from npm: 5.1.0 is the newest that runs on Debian 12's Node.js 18.
CHP_VERSION = "5.1.0"
HOME_INSIDE = "/home/learner"
CONTROL_INSIDE = "/run/geolab"
CLASS_VIEW = "geolab-class"


@dataclass(frozen=True)
class HubSettings:
    """Everything the hub's configuration needs (written to settings.json, 0600: it holds passwords).

    Attributes:
        folder: the workshop's folder (the hub's database and logs in hub/, the lab server's in labs/).
        image: the learners' image (`checks.workshop.image.singleuser_image_name`).
        password: the learners' shared password (at least 8 characters).
        instructors: user names that log in with `instructor_password` (at least 32 characters), see
            the class view and may start class-wide events; they are the hub's admins too.
        ip, port: where the hub's proxy listens (127.0.0.1 by default; 0.0.0.0 for a room).
        hub_port, proxy_api_port, class_view_port: the hub's API (on the hub network's gateway), the
            proxy's API and the class view (both on 127.0.0.1).
        idle_minutes: a learner's server idle this long is stopped (their labs go with it).
        server_memory: each learner's server (JupyterLab and kernels; the clusters are apart).
        lang: the learners' language (``en`` or ``zh``): their servers' GEOLAB_LANG, which picks the
            course notebooks a new learner gets and the language their kernels speak; also the class
            view's, unless its page is asked for the other (``?lang=en|zh``).
        environment: more of the learners' servers' environment (GEOLAB_LANG is `lang`'s).
    """

    folder: str
    image: str
    password: str
    instructors: tuple[str, ...]
    instructor_password: str
    chp: str
    gateway: str = ""
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    class_view_port: int = 8002
    idle_minutes: float = 60.0
    server_memory: str = "1G"
    lab_prefix: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    lang: str = "en"

    def __post_init__(self) -> None:
        if len(self.password) < 8:
            raise UsageError(_("The learners' password has fewer than 8 characters; expected at least 8 "
                               "(JupyterHub's shared-password rule). Choose a longer one."))
        if self.instructors and len(self.instructor_password) < 32:
            raise UsageError(_("The instructors' password has fewer than 32 characters; expected at least 32 "
                               "(JupyterHub's rule for admins). Leave it out to get a generated one."))
        for name in self.instructors:
            if not LEARNER.match(name):
                raise UsageError(_("Instructor name {name!r} is invalid; expected 1 to 24 lowercase letters, digits "
                                   "and '-'.").format(name=name))
        if self.lang not in LANGUAGES:
            raise UsageError(_("The workshop's language {lang!r} is not one of the course's; expected one of "
                               "{languages} (`geolab workshop up --lang`).").format(lang=self.lang,
                                                                                 languages=list(LANGUAGES)))

    @property
    def server_environment(self) -> dict[str, str]:
        """The learners' servers' environment (the control channel is added per learner when one starts)."""
        return {**self.environment, "GEOLAB_LANG": self.lang}

    @property
    def hub_folder(self) -> Path:
        return Path(self.folder) / "hub"

    @property
    def labs_folder(self) -> Path:
        return Path(self.folder) / "labs"

    @property
    def url(self) -> str:
        return f"http://{'127.0.0.1' if self.ip in ('0.0.0.0', '') else self.ip}:{self.port}"

    def save(self) -> Path:
        self.hub_folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        path = self.hub_folder / "settings.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(self), indent=1))
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, path: Path) -> HubSettings:
        data = json.loads(path.read_text())
        data["instructors"] = tuple(data["instructors"])
        return cls(**data)


# ------------------------------------------------------------------------------ the hub's configuration


def configure(c: Any, settings_path: str) -> None:
    """Configure JupyterHub (called from the generated jupyterhub_config.py)."""
    settings = HubSettings.load(Path(settings_path))
    hub = settings.hub_folder
    c.JupyterHub.ip, c.JupyterHub.port = settings.ip, settings.port
    c.JupyterHub.hub_ip, c.JupyterHub.hub_port = settings.gateway, settings.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = [settings.chp]
    c.ConfigurableHTTPProxy.auth_token = secrets.token_hex(32)
    c.JupyterHub.db_url = f"sqlite:///{hub / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True  # the hub's stop stops every learner's server (their labs go too)

    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.password
    if settings.instructors:
        c.SharedPasswordAuthenticator.admin_password = settings.instructor_password
        c.Authenticator.admin_users = set(settings.instructors)
    c.Authenticator.allow_all = True
    c.Authenticator.username_pattern = LEARNER.pattern  # it names the learner's network and folder
    c.JupyterHub.load_groups = {"instructors": {"users": list(settings.instructors)}}

    python = sys.executable
    environment = {"GEOLAB_WORKSHOP_SETTINGS": settings_path, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "GEOLAB_LANG": settings.lang}
    c.JupyterHub.services = [
        {"name": "idle-culler",
         "command": [python, "-m", "jupyterhub_idle_culler", f"--timeout={int(settings.idle_minutes * 60)}",
                     "--cull-every=60"]},
        {"name": CLASS_VIEW, "url": f"http://127.0.0.1:{settings.class_view_port}",
         "command": [python, "-m", "checks.workshop.classview"], "environment": environment,
         "oauth_no_confirm": True, "display": True},
    ]
    c.JupyterHub.load_roles = [
        {"name": "idle-culler", "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
         "services": ["idle-culler"]},
        {"name": "instructors", "scopes": [f"access:services!service={CLASS_VIEW}", "list:users", "read:users"],
         "groups": ["instructors"]},
    ]

    c.JupyterHub.spawner_class = "docker"
    c.DockerSpawner.image = settings.image
    c.DockerSpawner.pull_policy = "never"  # built here (`geolab workshop up`), never pulled
    c.DockerSpawner.remove = True
    c.DockerSpawner.network_name = HUB_NETWORK
    # user names match LEARNER (username_pattern), so they are Docker names as they are: {raw_username}, not
    # DockerSpawner's escaped {username}, in which "it-ada" becomes "it-2dada" and no longer names the learner
    c.DockerSpawner.name_template = "geolab-learner-{raw_username}"
    c.DockerSpawner.notebook_dir = HOME_INSIDE
    c.DockerSpawner.volumes = {"geolab-home-{raw_username}": HOME_INSIDE}
    c.DockerSpawner.mem_limit = settings.server_memory
    c.DockerSpawner.extra_create_kwargs = {"labels": {LABEL_LEARNER: "{raw_username}",
                                                      LABEL_LAB: "ws-net-{raw_username}"}}
    c.DockerSpawner.extra_host_config = {
        "read_only": True, "init": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
        "pids_limit": 256, "memswap_limit": settings.server_memory,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=256m,mode=1777"},
    }
    c.DockerSpawner.environment = settings.server_environment
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 60
    c.Spawner.pre_spawn_hook = _pre_spawn_hook
    c.Spawner.post_stop_hook = _post_stop_hook


def _lab_server(spawner: Any) -> LabServerClient:
    settings = HubSettings.load(Path(os.environ["GEOLAB_WORKSHOP_SETTINGS"]))
    return LabServerClient(settings.labs_folder)


async def _pre_spawn_hook(spawner: Any) -> None:
    """The learner's control channel, from the lab server: a token, and their folder mounted
    read-only where `labs` looks for the socket."""
    import asyncio

    client = _lab_server(spawner)
    try:
        answer = await asyncio.to_thread(client.add_learner, spawner.user.name)
    finally:
        client.close()
    spawner.environment = {**spawner.environment, "GEOLAB_CONTROL": f"{CONTROL_INSIDE}/control.sock",
                           "GEOLAB_CONTROL_TOKEN": answer["token"]}
    spawner.volumes = {**spawner.volumes, answer["folder"]: {"bind": CONTROL_INSIDE, "mode": "ro"}}


async def _post_stop_hook(spawner: Any) -> None:
    """The learner's server stopped (logged out, culled, or the hub stopping): their labs go."""
    import asyncio

    client = _lab_server(spawner)
    try:
        await asyncio.to_thread(client.remove_learner, spawner.user.name)
    except LabError as exc:
        spawner.log.warning(_("geolab: could not remove the labs of learner {learner}: {error}").format(
            learner=spawner.user.name, error=exc))
    finally:
        client.close()


CONFIG_FILE = '''# Written by `geolab workshop up`; the settings live in settings.json next to it.
from checks.workshop.hub import configure

configure(c, {settings!r})  # noqa: F821 (c is JupyterHub's config object)
'''


# ------------------------------------------------------------------------------ the host


def configurable_http_proxy(settings: LabSettings, progress: Progress) -> str:
    """configurable-http-proxy from npm, installed once into GEOLAB_CACHE/chp (Node.js 18 or later).

    Raises:
        UsageError: no Node.js, or npm could not install it.
    """
    from labs.image import cache_folder

    folder = cache_folder(settings, "chp")
    binary = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if binary.exists():
        return str(binary)
    node, npm = shutil.which("node") or shutil.which("nodejs"), shutil.which("npm")
    if node is None or npm is None:
        raise UsageError(_("JupyterHub's proxy needs Node.js 18 or later and npm; found none. Install them "
                           "(Debian: `apt-get install nodejs npm`), then run `geolab workshop up` again."))
    major = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    if not major.split(".")[0].isdigit() or int(major.split(".")[0]) < 18:
        raise UsageError(_("JupyterHub's proxy needs Node.js 18 or later; found {version}. Install a newer one, then "
                           "run `geolab workshop up` again.").format(version=major or _("an unknown version")))
    progress(_("Installing configurable-http-proxy {version} from npm into {folder} ...").format(
        version=CHP_VERSION, folder=folder))
    result = subprocess.run([npm, "install", "--prefix", str(folder), "--omit=dev", "--no-audit", "--no-fund",
                             f"configurable-http-proxy@{CHP_VERSION}"], capture_output=True, text=True)
    if result.returncode != 0 or not binary.exists():
        last = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise UsageError(_("npm could not install configurable-http-proxy@{version} (exit {code}); expected {binary}. "
                           "Check npm's access to its registry.\n{last}").format(
                               version=CHP_VERSION, code=result.returncode, binary=binary, last=last))
    return str(binary)


def create_hub_network(client: docker.DockerClient, hub_port: int) -> str:
    """The learners' servers' network: no traffic between containers, and of this host only the
    hub's API port answers them. Returns its gateway address (where the hub listens)."""
    try:
        network = client.networks.get(HUB_NETWORK)
    except docker.errors.NotFound:
        network = client.networks.create(HUB_NETWORK, driver="bridge", enable_ipv6=False,
                                          options={"com.docker.network.bridge.enable_icc": "false"},
                                          labels={LABEL_LAB: "ws-hub", LABEL_SANDBOX: "true"})  # down opens it
    network.reload()
    bridge = bridge_name(network.id)
    open_bridge(bridge)  # the rules of an earlier run, with its port
    close_bridge(bridge, allow_tcp=(hub_port,))
    return str(network.attrs["IPAM"]["Config"][0]["Gateway"])


def remove_hub_network(client: docker.DockerClient) -> None:
    try:
        network = client.networks.get(HUB_NETWORK)
    except docker.errors.NotFound:
        return
    network.reload()
    for container in network.containers:
        network.disconnect(container, force=True)
    open_bridge(bridge_name(network.id))
    network.remove()


class WorkshopHost:
    """The lab server and JupyterHub of one workshop host (see the module docstring)."""

    def __init__(self, settings: HubSettings, quotas: Quotas, client: docker.DockerClient,
                 warm: dict[str, int] | None = None, shared: tuple[str, ...] = (), log: Progress = print,
                 shared_file: Path | None = None) -> None:
        self.settings = settings
        self.quotas = quotas
        self.client = client
        self.warm = warm
        self.shared = shared
        self.shared_file = shared_file
        self.log = log
        self.lab_server: LabServer | None = None
        self.hub: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkshopHost:
        """Network, lab server, hub; returns once the hub answers. A failed start leaves nothing running."""
        settings = self.settings
        try:
            gateway = create_hub_network(self.client, settings.hub_port)
            settings = self.settings = HubSettings(**{**asdict(settings), "gateway": gateway,
                                                      "instructors": tuple(settings.instructors)})
            path = settings.save()
            (settings.hub_folder / "jupyterhub_config.py").write_text(CONFIG_FILE.format(settings=str(path)))
            self.lab_server = LabServer(settings.labs_folder, self.quotas, self.warm, self.client, self.log,
                                        self.shared, self.shared_file).start()
            self._start_hub(path)
        except BaseException:
            self.stop()
            raise
        if settings.instructors:
            self.log(_("Workshop ready at {url}/ (learners' password: {password}; instructors {instructors} with their "
                       "own password, class view at {url}/services/{class_view}/; learners' language: {lang}).")
                     .format(url=settings.url, password=settings.password,
                             instructors=", ".join(settings.instructors), class_view=CLASS_VIEW, lang=settings.lang))
        else:
            self.log(_("Workshop ready at {url}/ (learners' password: {password}; learners' language: {lang}).")
                     .format(url=settings.url, password=settings.password, lang=settings.lang))
        return self

    def _start_hub(self, settings_path: Path) -> None:
        hub = self.settings.hub_folder
        log = (hub / "jupyterhub.log").open("ab")
        environment = {**os.environ, "GEOLAB_WORKSHOP_SETTINGS": str(settings_path)}
        if self.settings.lab_prefix:
            environment["GEOLAB_LAB_PREFIX"] = self.settings.lab_prefix

        def default_signals() -> None:  # a background start leaves SIGINT ignored in the hub's services
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)

        self.log(_("Starting JupyterHub (log: {log}) ...").format(log=hub / "jupyterhub.log"))
        self.hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(hub / "jupyterhub_config.py")],
                                    cwd=hub, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                    preexec_fn=default_signals)
        log.close()
        hub_process = self.hub

        def answers() -> bool:
            if hub_process.poll() is not None:
                raise EngineError(_("JupyterHub exited ({code}) while starting; expected it to serve {url}. Its "
                                    "log:\n{log}").format(code=hub_process.returncode, url=self.settings.url,
                                                          log=self.hub_log(25)))
            try:
                return httpx.get(f"{self.settings.url}/hub/api/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, what=Text("JupyterHub did not answer at {url}/hub/api/.", url=self.settings.url),
                 timeout_s=60, interval_s=0.3)

    def hub_log(self, lines: int = 40) -> str:
        path = self.settings.hub_folder / "jupyterhub.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """Hub (it stops every learner's server), lab server (every lab), the hub network and its rules."""
        if self.hub is not None and self.hub.poll() is None:
            self.hub.terminate()
            try:
                self.hub.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.hub.kill()
                self.hub.wait(timeout=10)
        self.hub = None
        for container in labelled_containers(self.client, LABEL_LEARNER):
            if container.name.startswith("geolab-learner-"):
                container.remove(force=True)  # a server the hub did not stop (it was killed)
        if self.lab_server is not None:
            self.lab_server.stop()
            self.lab_server = None
        remove_hub_network(self.client)

    def serve_forever(self) -> None:
        done = {"signal": False}

        def stop(*_: object) -> None:
            done["signal"] = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        while not done["signal"]:
            if self.hub is not None and self.hub.poll() is not None:
                self.log(_("JupyterHub exited ({code}); stopping the workshop. Its log:\n{log}").format(
                    code=self.hub.returncode, log=self.hub_log()))
                break
            time.sleep(1.0)
        self.log(_("Stopping the workshop: the hub, every learner's server and lab ..."))
        self.stop()
        self.log(_("Workshop stopped."))


def new_password(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]
