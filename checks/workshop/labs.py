"""A workshop's labs on one host: each learner's lab, a warm pool, quotas, idle removal, records.

`Workshop` owns the host's labs; `WorkshopLabs` is one learner's `labs.control.ControlHandler`:
- a learner starts only the course's labs (each notebook's `LAB`), one at a time: starting another
  notebook's lab removes the previous one (its records stay);
- a lab comes from the **warm pool** when one of that lesson waits there (started before anyone
  asked, with the same topology, configuration and probe), else it is started cold, at most
  `Quotas.parallel_starts` at once, learners before pool refills;
- **quotas**: clusters per learner, faults (kill, stop, start, cut, heal) per minute, and a memory
  budget for the host that every running, starting and pooled cluster counts against;
- a lab unused for `Quotas.idle_s` is removed, and the learner is told why on their next call;
- every check a learner runs is recorded here (`CheckEvent`), never taken from their kernel: the
  instructor's class view reads these.

With `SharedClusters` (clusters with authentication on that the whole class shares, for classes
larger than private labs allow), a learner gets no clusters of their own: a tenant,
``learner-<name>``, on every cluster, which only their token administers; each lesson's namespace
is set up in it as their private lab would have it. What needs a superuser (killing a cluster,
cutting a link, a failover drill) is a class-wide event the instructor starts for everyone.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from checks.engine.model import Exercise, ExerciseResult, LabSpec
from checks.exercises import ALL, LABS
from checks.sandbox.provisioner import Freezer
from checks.sandbox.reference import ReferenceExperiments
from checks.sandbox.trusted import TrustedLabs
from labs.backend import LabRecord
from labs.cluster import labelled_containers
from labs.docker_backend import DockerBackend
from labs.errors import LabError, LabNotFoundError, QuotaError, SettingsError, UsageError
from labs.forward import Forward
from labs.i18n import _, in_this_language, ngettext
from labs.lab import Lab
from labs.remote import RemoteBackend, RemoteClusters
from labs.replication import apply_topology
from labs.settings import LabSettings
from labs.tokens import LabAuth
from labs.topology import ConfigStore, Topology

Progress = Callable[[str], None]
#: A learner's name: it names their network and folder (JupyterHub's names are escaped to this).
LEARNER = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
#: Every lab the lab server starts is named ws-<hex>: learners' and the pool's alike.
LAB_PREFIX = "ws-"
#: The course's labs by name: what a learner may start.
COURSE: dict[str, LabSpec] = {spec.name: spec for spec in LABS.values()}
#: Which notebook starts each lab (for messages).
NOTEBOOK_OF: dict[str, str] = {spec.name: notebook for notebook, spec in LABS.items()}
STUCK_AFTER = 2  # failed checks on one exercise, none passed since
#: The label of a learner's own containers (their JupyterLab server, a simulated learner).
LABEL_LEARNER = "org.geolab.learner"


def event_name(action: str, clusters: tuple[str, ...]) -> str:
    """``kill beijing``, ``cut beijing shanghai`` (a link's clusters in name order)."""
    return " ".join((action, *(sorted(clusters) if len(clusters) == 2 else clusters)))


def opposite_events(action: str, clusters: tuple[str, ...]) -> tuple[str, ...]:
    """The events a class-wide event undoes (a start undoes a kill or a stop, and so on)."""
    opposite = {"kill": ("start",), "stop": ("start",), "start": ("kill", "stop"), "cut": ("heal",),
                "heal": ("cut",)}[action]
    return tuple(event_name(other, clusters) for other in opposite)


def validate_learner(name: str) -> str:
    if not isinstance(name, str) or not LEARNER.match(name):
        raise UsageError(_("Learner name {name!r} is invalid; expected 1 to 24 lowercase letters, digits and '-', "
                           "starting with a letter or digit (e.g. 'ada' or 'team-3').").format(name=str(name)[:40]))
    return name


def host_memory_mib() -> tuple[int, int]:
    """This host's total and available memory in MiB (from /proc/meminfo)."""
    values: dict[str, int] = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _colon, rest = line.partition(":")
        values[key] = int(rest.split()[0]) // 1024
    return values["MemTotal"], values.get("MemAvailable", values.get("MemFree", 0))


@dataclass(frozen=True)
class Quotas:
    """What one learner and the whole host may use.

    Attributes:
        max_clusters: clusters in one learner's lab (the course's largest lab has 3).
        faults_per_minute: kill, stop, start, cut and heal calls one learner may make in a minute.
        idle_s: a learner's lab unused this long is removed (its records stay).
        event_wait_s: on shared clusters, how long a learner's kill, stop, start, cut or heal waits for
            the instructor's class-wide event before it gives up.
        memory_mib: the memory budget for every lab on the host; each cluster counts `cluster_mib`.
        cluster_mib: what one cluster (broker, bookie and metadata store in one JVM) takes, measured
            at about 1 GiB (README, "Requirements").
        parallel_starts: labs starting at once (cold starts use the CPU for about 20 s each).
        storage_mib: what each cluster of a learner's lab may store, on a disk of its own of this size
            (`labs.disks`).
    """

    max_clusters: int = 3
    faults_per_minute: int = 20
    idle_s: float = 3600.0
    event_wait_s: float = 1200.0
    memory_mib: int = 16 * 1024
    cluster_mib: int = 1100
    parallel_starts: int = 2
    storage_mib: int = 512

    def __post_init__(self) -> None:
        for name in ("max_clusters", "faults_per_minute", "memory_mib", "cluster_mib", "parallel_starts",
                     "storage_mib"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(_("Workshop quota {name}={value!r} is invalid; expected a whole number of at least "
                                   "1.").format(name=name, value=value))
        if not self.idle_s > 0:
            raise UsageError(_("Workshop quota idle_s={value!r} is invalid; expected seconds above 0.").format(
                value=self.idle_s))

    @classmethod
    def for_this_host(cls, overrides: Mapping[str, int | float], reserve_mib: int = 2048) -> Quotas:
        """Quotas whose memory budget is this host's memory less `reserve_mib` (for the hub, the
        learners' servers and the system), unless `overrides` sets memory_mib."""
        total, _available = host_memory_mib()
        values = {"memory_mib": max(total - reserve_mib, 1), **overrides}
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class Held:
    """A lab the lab server runs: a learner's (`learner` set) or waiting in the pool; or, with shared
    clusters, a learner's lesson set up in their tenant (`shared`: no clusters of its own)."""

    lab: Lab
    spec: LabSpec
    learner: str | None
    last_used: float
    shared: bool = False

    @property
    def clusters(self) -> int:
        return 0 if self.shared else len(self.spec.topology.clusters)


@dataclass(frozen=True)
class SharedClusters:
    """Clusters the whole class shares, authentication on: `lab` is the lab server's own handle on
    them (superuser), `auth` mints each learner's token."""

    lab: Lab
    auth: LabAuth
    remote: bool = False  # deployed elsewhere (a clusters file): learners reach them by their own URLs

    @classmethod
    def from_file(cls, path: Path, settings: LabSettings) -> SharedClusters:
        """Clusters deployed elsewhere, named in a clusters file (`labs.remote`); each must know the
        others (registered as peers by whoever deployed them).

        Raises:
            SettingsError: the file is unusable, or a cluster does not answer or lacks a peer.
        """
        clusters = RemoteClusters.from_file(path)
        backend = RemoteBackend(clusters, "ws-shared")
        lab = Lab(backend.record, backend, settings)
        for name, admin in lab.admins().items():
            try:
                known = set(admin.list_clusters())
            except LabError as exc:
                raise SettingsError(_("Cluster {name} of {path} does not answer its admin API as the superuser "
                                      "({error}); expected it to. Check the URLs and that the token key is the "
                                      "clusters' tokenSecretKey.").format(name=name, path=path, error=exc)) from exc
            missing = set(lab.clusters) - known
            if missing:
                raise SettingsError(_("Cluster {name} does not know {missing}; expected every cluster of {path} "
                                      "registered on every other. Register them (`pulsar-admin clusters create <peer> "
                                      "--url ... --broker-url ...` on each), then start again.").format(
                                          name=name, missing=sorted(missing), path=path))
        return cls(lab, clusters.auth, remote=True)

    @staticmethod
    def role(learner: str) -> str:
        return f"learner-{learner}"

    def serves(self, spec: LabSpec) -> str:
        """Why this course lab cannot run on the shared clusters, one sentence ("" when it can)."""
        topology = spec.topology
        if not spec.configure:
            return _("Lab {name!r} runs in a private lab only: its learner registers the clusters, which only a "
                     "superuser may do.").format(name=spec.name)
        if topology.config_store is not ConfigStore.INDEPENDENT:
            return _("Lab {name!r} runs in a private lab only: it teaches a shared configuration store, and these "
                     "clusters each keep their own.").format(name=spec.name)
        missing = sorted(set(topology.clusters) - set(self.lab.clusters))
        if missing:
            return ngettext("Lab {name!r} runs in a private lab only: it needs cluster {missing}, which these shared "
                            "clusters do not have.",
                            "Lab {name!r} runs in a private lab only: it needs clusters {missing}, which these shared "
                            "clusters do not have.", len(missing)).format(name=spec.name, missing=missing)
        return ""

    def provision(self, learner: str) -> None:
        """The learner's tenant on every cluster, administered by their role only."""
        for admin in self.lab.admins().values():
            admin.create_tenant(self.role(learner), list(self.lab.clusters), [self.role(learner)])

    def lesson(self, spec: LabSpec, learner: str, progress: Progress) -> Lab:
        """The lesson's namespace in the learner's tenant, set up as their private lab would have it;
        returns the lab server's handle on it (superuser)."""
        topology = replace(spec.topology, tenant=self.role(learner))
        record = replace(self.lab.record, name=f"{self.lab.name}-{learner}", topology=topology,
                         endpoints={c: self.lab.record.endpoints[c] for c in topology.clusters})
        lab = Lab(record, self.lab.backend, self.lab.settings)
        apply_topology(topology, lab.admins(), progress, [self.role(learner)])
        if topology.links:
            lab.probe()
        return lab

    def clear(self, lab: Lab) -> None:
        """Delete a lesson's namespace (and its topics) in the learner's tenant."""
        namespace = lab.topology.qualified_namespace
        for cluster, admin in lab.admins().items():
            try:
                admin.set_namespace_clusters(namespace, [cluster])
                admin.delete_namespace(namespace, force=True)
            except LabError:
                continue  # gone already, or the cluster is down: the next lesson's set-up starts over

    def drift(self, learner: str) -> list[str]:
        """Undo a learner's change to who administers their tenant (a tenant admin may add roles: hand
        it to a classmate); returns what was put back."""
        role, fixed = self.role(learner), []
        for cluster, admin in self.lab.admins().items():
            try:
                info = admin.get_tenant(role)
            except LabError:
                continue
            if info.admin_roles != (role,):
                admin.update_tenant(role, list(info.allowed_clusters), [role])
                fixed.append(_("{cluster}: tenant {tenant} had admin roles {roles}; put back to [{role!r}]").format(
                    cluster=cluster, tenant=role, roles=list(info.admin_roles), role=role))
        return fixed


@dataclass(frozen=True)
class CheckEvent:
    """One `check()` a learner ran, as the lab server ran it on their lab."""

    at: float
    learner: str
    exercise: str
    passed: bool
    earned: float
    points: float
    solved_by_solution: bool

    def to_wire(self) -> dict[str, object]:
        return {"at": self.at, "learner": self.learner, "exercise": self.exercise, "passed": self.passed,
                "earned": self.earned, "points": self.points, "solved_by_solution": self.solved_by_solution}


@dataclass
class ExerciseStanding:
    """One learner's standing on one exercise, for the class view."""

    tries: int = 0
    failures_since_pass: int = 0
    passed: bool = False
    earned: float = 0.0
    points: float = 0.0
    solved_by_solution: bool = False
    last_at: float = 0.0

    @property
    def stuck(self) -> bool:
        return not self.passed and self.failures_since_pass >= STUCK_AFTER

    def to_wire(self) -> dict[str, object]:
        return {"tries": self.tries, "passed": self.passed, "earned": self.earned, "points": self.points,
                "stuck": self.stuck, "solved_by_solution": self.solved_by_solution, "last_at": self.last_at}


@dataclass
class Learner:
    """What the lab server keeps of one learner."""

    name: str
    network: str
    handler: WorkshopLabs
    standings: dict[str, ExerciseStanding] = field(default_factory=dict)
    idle_removed: dict[str, float] = field(default_factory=dict)  # lab name -> when it went for idleness
    last_activity: float = 0.0


def course_spec(topology: Topology, name: str, configure: bool) -> LabSpec:
    """The course lab a kernel asked for; anything else is refused before anything starts."""
    spec = COURSE.get(name)
    if spec is None or (topology.to_json(), configure) != (spec.topology.to_json(), spec.configure):
        raise UsageError(_("This workshop starts the course's labs only; expected one of {labs} as its notebook "
                           "starts it, got Lab.start({kind} {clusters}, name={name!r}, configure={configure}). Run the "
                           "notebook's own Lab.start cell.").format(labs=sorted(COURSE), kind=topology.kind,
                                                                    clusters=list(topology.clusters), name=name,
                                                                    configure=configure))
    return spec


class Workshop:
    """Every lab on the workshop host, the warm pool, the quotas and the class's records."""

    def __init__(self, backend: DockerBackend, quotas: Quotas, warm: Mapping[str, int] | None = None,
                 clock: Callable[[], float] = time.time, on_check: Callable[[CheckEvent], None] | None = None,
                 log: Progress = lambda _line: None, shared: SharedClusters | None = None, lab_tag: str = "") -> None:
        if shared is not None and warm:
            raise UsageError(_("A workshop on shared clusters starts no labs, so it keeps no warm pool; expected no "
                               "--warm with --shared."))
        for name, count in (warm or {}).items():
            if name not in COURSE or not isinstance(count, int) or count < 0:
                raise UsageError(_("Warm pool entry {name}={count!r} is invalid; expected a course lab ({labs}) and a "
                                   "count of 0 or more, e.g. full-mesh=4.").format(
                                       name=name, count=count, labs=", ".join(sorted(COURSE))))
        self.backend = backend
        self.quotas = quotas
        self.warm = dict(warm or {})
        self.clock = clock
        self.on_check = on_check
        self.log = log
        self.labs: dict[str, Held] = {}  # by the lab's own name (ws-<hex>)
        self.learners: dict[str, Learner] = {}
        self.shared = shared
        self.lab_tag = lab_tag  # in every lab's name: ws-<tag><hex> (a lab server's own, among others)
        self.drifts: list[str] = []  # what learners changed of their tenants and was put back
        self.events_done: dict[str, tuple[float, float]] = {}  # shared clusters: event -> (when, seconds it took)
        self.waiting: dict[str, set[str]] = {}  # shared clusters: event -> learners whose cell waits for it
        self._drift_checked = 0.0
        self.starting_mib = 0  # memory of labs being started now
        self.reference_mib = 0  # memory of the reference labs the predictions are graded on
        # predictions are graded on labs of the server's own (ws-<tag>ref-<lab>), which no learner touches
        self.reference = ReferenceExperiments(backend, f"{LAB_PREFIX}{lab_tag}ref-", None, log,
                                              starter=self._start_reference, remover=self._remove_reference)
        self.closed = False  # a lab started after close() (a pool refill under way) is removed at once
        self._lock = threading.RLock()
        self._event_happened = threading.Condition(self._lock)
        self._slots = threading.Semaphore(quotas.parallel_starts)
        self._waiting = 0  # learners waiting for a start slot (the pool waits behind them)

    # ------------------------------------------------------------------ learners

    def add_learner(self, name: str, network: str) -> Learner:
        validate_learner(name)
        with self._lock:
            learner = self.learners.get(name)
            if learner is None:
                learner = Learner(name, network, WorkshopLabs(self, name, network))
                self.learners[name] = learner
        if self.shared is not None:
            self.shared.provision(name)
        return learner

    def learner_labs(self, name: str) -> list[Held]:
        with self._lock:
            return [h for h in self.labs.values() if h.learner == name]

    def touch(self, name: str) -> None:
        """A learner's kernel called: their labs are in use."""
        now = self.clock()
        with self._lock:
            learner = self.learners.get(name)
            if learner is not None:
                learner.last_activity = now
            for held in self.labs.values():
                if held.learner == name:
                    held.last_used = now

    def remove_learner_labs(self, name: str, progress: Progress) -> int:
        removed = 0
        for held in self.learner_labs(name):
            self.remove(held, progress)
            removed += 1
        return removed

    # ------------------------------------------------------------------ labs

    def committed_mib(self) -> int:
        with self._lock:
            return (sum(h.clusters for h in self.labs.values()) * self.quotas.cluster_mib + self.starting_mib
                    + self.reference_mib)

    def _start_reference(self, spec: LabSpec, name: str) -> Lab:
        """A reference lab for the predictions (`checks.sandbox.reference`): counted against the memory
        budget, started in a start slot like a learner's, configured as the course configures it."""
        needed = self._reserve(spec, True, self.log)
        try:
            with self._start_slot(True, self.log):
                lab = Lab.start(spec.topology, name=name, configure=True, probe=True, progress=lambda _line: None,
                                backend=self.backend)
            with self._lock:
                self.reference_mib += needed
            return lab
        finally:
            with self._lock:
                self.starting_mib -= needed

    def _remove_reference(self, lab: Lab) -> None:
        lab.close()
        try:
            self.backend.remove(lab.record)
        finally:
            with self._lock:
                self.reference_mib -= len(lab.clusters) * self.quotas.cluster_mib

    def _reserve(self, spec: LabSpec, for_learner: bool, progress: Progress) -> int:
        """Count a new lab against the memory budget (making room from the pool for a learner)."""
        needed = len(spec.topology.clusters) * self.quotas.cluster_mib
        with self._lock:
            while self.committed_mib() + needed > self.quotas.memory_mib and for_learner:
                pooled = [h for h in self.labs.values() if h.learner is None]
                if not pooled:
                    break
                victim = min(pooled, key=lambda h: (h.spec.name == spec.name, h.last_used))
                self.labs.pop(victim.lab.name, None)
                threading.Thread(target=in_this_language(self._discard), args=(victim,), daemon=True).start()
            used = self.committed_mib()
            if used + needed > self.quotas.memory_mib:
                raise QuotaError(_(
                    "The workshop host has no memory left for lab {name!r}: it needs about {needed} MiB, and {used} of "
                    "its {budget} MiB are in use by the class's labs. Try again in a few minutes (idle labs are "
                    "removed), or ask your instructor.").format(name=spec.name, needed=needed, used=used,
                                                                 budget=self.quotas.memory_mib))
            self.starting_mib += needed
        return needed

    @contextmanager
    def _start_slot(self, for_learner: bool, progress: Progress) -> Iterator[bool]:
        """One of the `parallel_starts` slots; learners wait (with progress), the pool does not."""
        if not for_learner:
            with self._lock:
                got = self._waiting == 0 and self._slots.acquire(blocking=False)
            try:
                yield got
            finally:
                if got:
                    self._slots.release()
            return
        with self._lock:
            self._waiting += 1
        try:
            waited = 0
            while not self._slots.acquire(timeout=10):
                waited += 10
                with self._lock:
                    ahead = self._waiting - 1
                progress(ngettext(
                    "Waiting for a free start slot ({waited} s so far; {ahead} other learner waiting, {parallel} labs "
                    "start at once on this host).",
                    "Waiting for a free start slot ({waited} s so far; {ahead} other learners waiting, {parallel} labs "
                    "start at once on this host).", ahead).format(waited=waited, ahead=ahead,
                                                                   parallel=self.quotas.parallel_starts))
        finally:
            with self._lock:
                self._waiting -= 1
        try:
            yield True
        finally:
            self._slots.release()

    def start_lab(self, spec: LabSpec, learner: str | None, probe: bool, progress: Progress) -> Held | None:
        """Start a lab cold for a learner (or for the pool: None when no slot is free now)."""
        needed = self._reserve(spec, learner is not None, progress)
        try:
            with self._start_slot(learner is not None, progress) as got:
                if not got:
                    return None
                lab = Lab.start(spec.topology, name=f"{LAB_PREFIX}{self.lab_tag}{secrets.token_hex(4)}",
                                configure=spec.configure,
                                probe=probe, progress=progress, backend=self.backend)
            held = Held(lab, spec, learner, self.clock())
            with self._lock:
                if not self.closed:
                    self.labs[lab.name] = held
                    return held
            self._discard(held)
            raise QuotaError(_("The workshop's lab server is stopping; expected it to run. Try again when it is "
                               "back."))
        finally:
            with self._lock:
                self.starting_mib -= needed

    def take_from_pool(self, spec: LabSpec, learner: str) -> Held | None:
        with self._lock:
            for held in self.labs.values():
                if held.learner is None and held.spec.name == spec.name:
                    held.learner = learner
                    held.last_used = self.clock()
                    return held
        return None

    def remove(self, held: Held, progress: Progress = lambda _line: None) -> tuple[int, int]:
        with self._lock:
            self.labs.pop(held.lab.name, None)
        return self._discard(held)

    def _discard(self, held: Held) -> tuple[int, int]:
        try:
            if held.shared and self.shared is not None:
                self.shared.clear(held.lab)
                held.lab.close()
                return 0, 0
            held.lab.close()
            return self.backend.remove(held.lab.record)
        except LabError as exc:
            self.log(_("Could not remove lab {name} ({error}); `geolab down {name}` removes it.").format(
                name=held.lab.name, error=exc))
            return 0, 0

    def refill_pool(self) -> str | None:
        """Start one pool lab where the pool is short (none while learners wait); its spec's name."""
        if self.shared is not None:
            return None
        with self._lock:
            pooled = {name: 0 for name in self.warm}
            for each in self.labs.values():
                if each.learner is None:
                    pooled[each.spec.name] = pooled.get(each.spec.name, 0) + 1
            short = [name for name, count in self.warm.items() if pooled.get(name, 0) < count]
            if not short or self._waiting:
                return None
        spec = COURSE[min(short, key=lambda name: pooled.get(name, 0))]
        try:
            held = self.start_lab(spec, None, True, lambda _line: None)
        except QuotaError:
            return None
        except LabError as exc:
            self.log(_("The warm pool could not start lab {name!r}: {error}").format(name=spec.name, error=exc))
            return None
        if held is None:
            return None
        self.log(_("Warm pool: lab {name!r} ready ({lab}, {seconds} s).").format(
            name=spec.name, lab=held.lab.name, seconds=f"{held.lab.started_in_s:.0f}"))
        return spec.name

    def remove_idle(self) -> list[str]:
        """Remove learners' labs unused for `idle_s`; returns the learners whose lab went."""
        now = self.clock()
        with self._lock:
            idle = [h for h in self.labs.values() if h.learner is not None and now - h.last_used >= self.quotas.idle_s]
            for held in idle:
                self.labs.pop(held.lab.name, None)
                learner = self.learners.get(str(held.learner))
                if learner is not None:
                    learner.idle_removed[held.spec.name] = now
        for held in idle:
            self._discard(held)
            self.log(_("Removed the lab {name!r} of learner {learner} ({lab}): unused for {minutes} min.").format(
                name=held.spec.name, learner=held.learner, lab=held.lab.name,
                minutes=f"{(now - held.last_used) / 60:.0f}"))
        return [str(h.learner) for h in idle]

    def maintain(self, stop: threading.Event, interval_s: float = 5.0) -> None:
        """Until `stop`: remove idle labs and refill the pool, one lab at a time."""
        while not stop.is_set():
            try:
                self.remove_idle()
                self.undo_drift()
                if self.refill_pool() is not None:
                    continue
            except Exception as exc:  # the lab server outlives any one failure of its housekeeping
                self.log(_("Workshop housekeeping failed: {error}").format(error=f"{type(exc).__name__}: {exc}"))
            stop.wait(interval_s)

    def undo_drift(self, every_s: float = 30.0) -> list[str]:
        """With shared clusters: put back what learners changed of their tenants (every `every_s`)."""
        now = self.clock()
        if self.shared is None or now - self._drift_checked < every_s:
            return []
        self._drift_checked = now
        fixed: list[str] = []
        for name in list(self.learners):
            fixed += [f"{name}: {line}" for line in self.shared.drift(name)]
        for line in fixed:
            self.log(_("Put back: {change}").format(change=line))
        with self._lock:
            self.drifts = (self.drifts + fixed)[-100:]
        return fixed

    # ------------------------------------------------------------------ records and events

    def record_check(self, learner: str, exercise: Exercise, result: ExerciseResult) -> None:
        event = CheckEvent(self.clock(), learner, exercise.exercise_id, result.passed, result.earned,
                           result.points, result.solved_by_solution)
        self.apply(event)
        if self.on_check is not None:
            self.on_check(event)

    def apply(self, event: CheckEvent) -> None:
        """Count one check into the learner's standing (also when replaying the records)."""
        with self._lock:
            learner = self.learners.get(event.learner)
            if learner is None:
                return
            standing = learner.standings.setdefault(event.exercise, ExerciseStanding())
            standing.tries += 1
            standing.last_at = event.at
            standing.points = event.points
            standing.solved_by_solution = event.solved_by_solution
            if event.passed:
                standing.passed = True
                standing.failures_since_pass = 0
            else:
                standing.failures_since_pass += 1
            standing.earned = max(standing.earned, event.earned)

    def class_view(self) -> dict[str, object]:
        """Every learner × exercise, their labs and the pool, from the lab server's own records."""
        with self._lock:
            learners = {}
            for name, learner in sorted(self.learners.items()):
                labs = [{"name": h.spec.name, "lab": h.lab.name, "clusters": list(h.spec.topology.clusters),
                         "idle_s": round(self.clock() - h.last_used)} for h in self.labs.values() if h.learner == name]
                learners[name] = {"labs": labs, "last_activity": learner.last_activity,
                                  "exercises": {e: s.to_wire() for e, s in learner.standings.items()},
                                  "stuck": sorted(e for e, s in learner.standings.items() if s.stuck)}
            pool: dict[str, int] = {}
            for held in self.labs.values():
                if held.learner is None:
                    pool[held.spec.name] = pool.get(held.spec.name, 0) + 1
            return {
                "exercises": [{"id": e.exercise_id, "notebook": e.notebook, "title": _(e.title), "points": e.points}
                              for e in ALL.values()],
                "learners": learners, "pool": pool, "warm": dict(self.warm),
                "shared": ({"clusters": list(self.shared.lab.clusters), "put_back": list(self.drifts),
                            "waiting": {event: sorted(names) for event, names in self.waiting.items() if names},
                            "done": sorted(self.events_done)}
                           if self.shared is not None else None),
                "memory": {"budget_mib": self.quotas.memory_mib, "committed_mib": self.committed_mib()},
            }

    def event(self, action: str, clusters: tuple[str, ...], progress: Progress) -> dict[str, str]:
        """A class-wide event: the same fault in every learner's lab that has those clusters (a drill
        for the whole room). Returns, per learner, "ok" or what went wrong."""
        if action not in ("kill", "stop", "start", "cut", "heal"):
            raise UsageError(_("A class-wide event is `kill`, `stop`, `start`, `cut` or `heal`; got {action!r}.")
                             .format(action=action[:40]))
        wanted = 2 if action in ("cut", "heal") else 1
        if len(clusters) != wanted:
            raise UsageError(ngettext("A class-wide `{action}` names {count} cluster; got {clusters}.",
                                      "A class-wide `{action}` names {count} clusters; got {clusters}.", wanted).format(
                                          action=action, count=wanted, clusters=list(clusters)))
        with self._lock:
            targets = [h for h in self.labs.values() if h.learner is not None
                       and set(clusters) <= set(h.spec.topology.clusters)]
        if self.shared is not None:
            return self._shared_event(action, clusters, [str(h.learner) for h in targets], progress)

        def one(held: Held) -> tuple[str, str]:
            try:
                if action in ("cut", "heal"):
                    (held.lab.cut_link if action == "cut" else held.lab.heal_link)(*clusters)
                elif action == "kill":
                    held.lab.kill(clusters[0])
                elif action == "stop":
                    held.lab.stop_cluster(clusters[0])
                else:
                    held.lab.start_cluster(clusters[0], lambda _line: None)
                    learner = self.learners.get(str(held.learner))
                    if learner is not None:
                        learner.handler.join_network(held.lab, learner.network)
                return str(held.learner), "ok"
            except LabError as exc:
                return str(held.learner), str(exc)

        with ThreadPoolExecutor(max_workers=max(1, self.quotas.parallel_starts * 2)) as pool:
            outcome = dict(pool.map(in_this_language(one), targets))  # said in the caller's language
        progress(ngettext("Class-wide `{action} {clusters}`: done in {done} of {count} learner's lab.",
                          "Class-wide `{action} {clusters}`: done in {done} of {count} learners' labs.",
                          len(outcome)).format(action=action, clusters="-".join(clusters),
                                               done=sum(v == "ok" for v in outcome.values()), count=len(outcome)))
        return outcome

    def _shared_event(self, action: str, clusters: tuple[str, ...], learners: list[str],
                      progress: Progress) -> dict[str, str]:
        """A class-wide event on shared clusters happens once, for everyone."""
        assert self.shared is not None
        lab = self.shared.lab
        missing = set(clusters) - set(lab.clusters)
        if missing:
            raise UsageError(_("The shared clusters are {clusters}; got {missing}.").format(
                clusters=list(lab.clusters), missing=sorted(missing)))
        started = time.monotonic()
        try:
            if action in ("cut", "heal"):
                (lab.cut_link if action == "cut" else lab.heal_link)(*clusters)
            elif action == "kill":
                lab.kill(clusters[0])
            elif action == "stop":
                lab.stop_cluster(clusters[0])
            else:
                lab.start_cluster(clusters[0], progress)
            outcome = "ok"
            with self._lock:
                self.events_done[event_name(action, clusters)] = (self.clock(), time.monotonic() - started)
                for undone in opposite_events(action, clusters):
                    self.events_done.pop(undone, None)
                self._event_happened.notify_all()
        except LabError as exc:
            outcome = str(exc)
        progress(_("Class-wide `{action} {clusters}` on the shared clusters: {outcome}.").format(
            action=action, clusters="-".join(clusters), outcome=outcome))
        return {name: outcome for name in learners} or {"class": outcome}

    def close(self) -> None:
        with self._lock:
            self.closed = True
            held = list(self.labs.values())
            self.labs.clear()
        for each in held:
            self._discard(each)
        self.reference.close()


class WorkshopLabs(TrustedLabs):
    """One learner's `labs.control.ControlHandler` on the lab server (see the module docstring)."""

    accepts_solutions = True  # a self-paced workshop: solve() is reported, and earns nothing

    def __init__(self, workshop: Workshop, learner: str, network: str) -> None:
        # the learner's own JupyterLab server (and every kernel in it) is frozen while a check observes
        freezer = Freezer(lambda: labelled_containers(workshop.backend.docker, f"{LABEL_LEARNER}={learner}",
                                                      stopped=False))
        super().__init__(workshop.backend, tuple(LABS), workshop.reference, freezer)
        self.workshop = workshop
        self.learner = learner
        self.network = network
        self._faults: deque[float] = deque()

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> tuple[LabRecord, tuple[Forward, ...]]:
        spec = course_spec(topology, name, configure)
        if base_port is not None:
            raise UsageError(_("The workshop's lab server picks the ports; expected no base_port. Remove "
                               "base_port=... ."))
        quotas = self.workshop.quotas
        if len(topology.clusters) > quotas.max_clusters:
            raise QuotaError(_("Lab {name!r} has {count} clusters and this workshop gives each learner at most "
                               "{most}; ask your instructor which lessons this workshop runs.").format(
                                   name=name, count=len(topology.clusters), most=quotas.max_clusters))
        shared = self.workshop.shared
        if shared is not None and (reason := shared.serves(spec)):
            raise UsageError(_("{reason} This workshop's clusters are shared by the class; ask your instructor which "
                               "lessons it runs.").format(reason=reason))
        with self._lock:
            mine = self.workshop.learner_labs(self.learner)
            current = next((h for h in mine if h.spec.name == name), None)
            if current is not None:
                self.workshop.touch(self.learner)
                self._connect_server()
                progress(_("Reattached to running lab {name!r}.").format(name=name))
                return self._seen(current.lab, name)
            for other in mine:
                progress(_("Removing your lab {name!r} first: a learner has one lab at a time here (its exercise "
                           "records stay).").format(name=other.spec.name))
                self.workshop.remove(other)
            if shared is not None:
                progress(_("Setting up lesson {name!r} in your tenant {tenant!r} on the class's shared clusters "
                           "{clusters} ...").format(name=name, tenant=shared.role(self.learner),
                                                    clusters=list(topology.clusters)))
                held = Held(shared.lesson(spec, self.learner, progress), spec, self.learner, self.workshop.clock(),
                            shared=True)
                with self.workshop._lock:
                    self.workshop.labs[held.lab.name] = held
                if not shared.remote:
                    self.join_network(held.lab, self.network)
                    self._connect_server()
                self.workshop.learners[self.learner].idle_removed.pop(name, None)
                return self._seen(held.lab, name)
            pooled = self.workshop.take_from_pool(spec, self.learner)
            if pooled is not None:
                progress(ngettext("Lab {name!r} was ready in the warm pool ({count} cluster, replication probed).",
                                  "Lab {name!r} was ready in the warm pool ({count} clusters, replication probed).",
                                  len(topology.clusters)).format(name=name, count=len(topology.clusters)))
                held = pooled
            else:
                started = self.workshop.start_lab(spec, self.learner, probe, progress)
                assert started is not None  # a learner's start waits for its slot
                held = started
            try:
                self.join_network(held.lab, self.network)
                self._connect_server()
            except Exception:
                self.workshop.remove(held)
                raise
            self.workshop.learners[self.learner].idle_removed.pop(name, None)
        return self.view(held.lab, name)

    def attach(self, name: str) -> tuple[LabRecord, tuple[Forward, ...]]:
        lab = self._lab(name)
        self._connect_server()
        return self._seen(lab, name)

    def _seen(self, lab: Lab, name: str) -> tuple[LabRecord, tuple[Forward, ...]]:
        """The lab as the learner's kernel reaches it: on its network by cluster name; clusters deployed
        elsewhere by their own URLs, with the learner's token."""
        shared = self.workshop.shared
        if shared is None or not shared.remote:
            return self.view(lab, name, self._token())
        token = self._token()
        endpoints = {c: replace(e, token=token) for c, e in lab.record.endpoints.items()}
        return LabRecord(name, lab.topology, endpoints, reattached=lab.reattached, configured=True), ()

    def _connect_server(self) -> None:
        """Put the learner's own containers (their JupyterLab server, made by the hub on its network) on
        their network, where their clusters answer; a restarted server is a new container."""
        shared = self.workshop.shared
        if shared is not None and shared.remote:
            return  # the learner's server reaches clusters deployed elsewhere by their own addresses
        client = self.backend.docker
        network = client.networks.get(self.network)
        network.reload()
        attached = {c.id for c in network.containers}
        for container in labelled_containers(client, f"{LABEL_LEARNER}={self.learner}", stopped=False):
            if container.id not in attached:
                network.connect(container)

    def _token(self) -> str:
        """The learner's own token on shared clusters ("" on a private lab: no authentication)."""
        shared = self.workshop.shared
        return shared.auth.token(shared.role(self.learner)) if shared is not None else ""

    def remove(self, name: str) -> tuple[int, int]:
        held = self._held(name)
        return self.workshop.remove(held)

    def cluster_action(self, name: str, cluster: str, action: str, progress: Progress) -> float:
        if self._held(name).shared:
            self._cluster(self._lab(name), cluster)
            return self._await_event(action, (cluster,), progress)
        self._count_fault()
        return super().cluster_action(name, cluster, action, progress)

    def link_action(self, name: str, a: str, b: str, action: str) -> None:
        if self._held(name).shared:
            lab = self._lab(name)
            self._cluster(lab, a), self._cluster(lab, b)
            self._await_event(action, tuple(sorted((a, b))), progress=lambda _line: None)
            return
        self._count_fault()
        super().link_action(name, a, b, action)

    def _await_event(self, action: str, clusters: tuple[str, ...], progress: Progress) -> float:
        """On shared clusters a learner's kill, stop, start, cut or heal is the instructor's class-wide
        event: the cell waits until it has happened (at once if it already has), with progress, and
        returns what a start took."""
        shop, event = self.workshop, event_name(action, clusters)
        if shop.shared is not None and shop.shared.remote:
            raise UsageError(_("`{event}` would change clusters deployed elsewhere for the whole class, which this "
                               "workshop's lab server cannot do; expected clusters it started (`geolab serve "
                               "--shared`) or a private lab. Skip this step, or ask your instructor.").format(
                                   event=event))
        deadline = time.monotonic() + shop.quotas.event_wait_s
        try:
            while True:
                with shop._lock:
                    done = shop.events_done.get(event)
                    if done is not None:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise QuotaError(_("Waited {minutes} min for the class-wide `{event}`; expected your "
                                           "instructor to start it (`geolab workshop event {event}`). Run the cell "
                                           "again when they do.").format(
                                               minutes=f"{shop.quotas.event_wait_s / 60:.0f}", event=event))
                    shop.waiting.setdefault(event, set()).add(self.learner)
                    ready = len(shop.waiting[event])
                progress(ngettext(  # outside the lock: it may block
                    "The clusters are shared by the class: `{event}` is an event your instructor starts for everyone. "
                    "Waiting for it ({ready} learner ready) ...",
                    "The clusters are shared by the class: `{event}` is an event your instructor starts for everyone. "
                    "Waiting for it ({ready} learners ready) ...", ready).format(event=event, ready=ready))
                with shop._event_happened:
                    if event not in shop.events_done:
                        shop._event_happened.wait(timeout=min(15.0, left))
        finally:
            with shop._lock:
                shop.waiting.get(event, set()).discard(self.learner)
        progress(_("The class-wide `{event}` happened: the clusters are shared, so it changed them for everyone.")
                 .format(event=event))
        return done[1]

    def _count_fault(self) -> None:
        now = self.workshop.clock()
        limit = self.workshop.quotas.faults_per_minute
        with self._lock:
            while self._faults and now - self._faults[0] >= 60:
                self._faults.popleft()
            if len(self._faults) >= limit:
                raise QuotaError(_("You made {limit} cluster and link changes in the last minute, this workshop's "
                                   "limit; wait {seconds} s and run the cell again.").format(
                                       limit=limit, seconds=f"{60 - (now - self._faults[0]):.0f}"))
            self._faults.append(now)

    def _held(self, name: str) -> Held:
        for held in self.workshop.learner_labs(self.learner):
            if held.spec.name == name:
                return held
        learner = self.workshop.learners.get(self.learner)
        gone = learner.idle_removed.get(name) if learner else None
        if gone is not None:
            raise LabNotFoundError(_("Your lab {name!r} was removed after {minutes} min without use; expected a "
                                     "running lab. Run the notebook's Lab.start cell again.").format(
                                         name=name, minutes=f"{self.workshop.quotas.idle_s / 60:.0f}"))
        raise LabNotFoundError(_("You have no lab named {name!r} running; expected one started with the notebook's "
                                 "Lab.start cell. Run that cell first.").format(name=name))

    def _lab(self, name: str) -> Lab:
        return self._held(name).lab

    def _lab_for(self, exercise: Exercise) -> Lab:
        return self._lab(LABS[exercise.notebook].name)

    def _drill_lab(self) -> Lab:
        mine = self.workshop.learner_labs(self.learner)
        if not mine:
            raise LabNotFoundError(_("You have no lab running for a failover drill; expected the notebook's "
                                     "Lab.start cell first."))
        return max(mine, key=lambda h: h.last_used).lab

    def _rejoin(self, lab: Lab) -> None:
        self.join_network(lab, self.network)

    def _recorded(self, exercise: Exercise, verb: str, result: ExerciseResult) -> None:
        if verb == "check":
            self.workshop.record_check(self.learner, exercise, result)
