"""The grader's side of a graded run's control channel: it owns the submission's labs.

A sandboxed kernel may start exactly the lab its assignment uses (topology, name, configure), see
its state, kill, stop and start its clusters and cut and heal its links; nothing else. The grader
starts the lab on its own Docker engine, attaches the clusters to the sandbox's network under their
cluster names, and keeps the lab's record itself: the checks read that record afterwards, never a
label or a name a submission could forge. `lab.stop()` in the notebook leaves the lab to the grader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import docker
from checks.engine.model import Exercise, ExerciseResult, LabSpec, Prediction, result_to_wire
from checks.engine.notebook import HINT_AFTER_FAILURES
from checks.engine.runner import best_of, run_exercise
from checks.errors import GradingError
from checks.exercises import ALL
from checks.sandbox.provisioner import Freezer
from checks.sandbox.reference import ReferenceExperiments
from labs.backend import ClusterEndpoint, LabRecord
from labs.cluster import POOL_EXHAUSTED, POOLS_HINT
from labs.docker_backend import DockerBackend
from labs.errors import LabNotFoundError, UsageError
from labs.firewall import FirewallError, bridge_name, close_bridge, open_bridge
from labs.flows import FailoverDrill
from labs.forward import Forward
from labs.i18n import _
from labs.lab import Lab
from labs.settings import HTTP_PORT, LABEL_LAB, LABEL_SANDBOX
from labs.topology import Topology

Progress = Callable[[str], None]


@dataclass
class ExerciseRecord:
    """What a learner did with one exercise in a graded run, as the grader saw it."""

    tries: int = 0
    failures: int = 0
    hints_shown: int = 0
    resets: int = 0
    best: ExerciseResult | None = None  # the best check() of an exercise graded at check time, hidden cases too
    prediction: Prediction | None = None  # a predict-then-observe exercise: the first prediction, timed here
    solved_by_solution: bool = False  # the kernel applied the reference solution (a self-paced workshop)


class TrustedLabs:
    """The trusted side's lab verbs and check verbs, for one kernel (a submission, or a workshop's
    learner); a subclass decides which labs that kernel may have (`GradedLabs`, and the lab server's
    `checks.workshop.labs.WorkshopLabs`). A `labs.control.ControlHandler` once it adds start, attach
    and remove."""

    #: Whether a kernel may report that it applied a reference solution (``solved``): a self-paced
    #: workshop's kernels carry the solutions; a graded run's do not.
    accepts_solutions = False

    def __init__(self, backend: DockerBackend, notebooks: tuple[str, ...],
                 reference: ReferenceExperiments | None = None, freezer: Freezer | None = None) -> None:
        self.backend = backend
        self.notebooks = notebooks
        self.reference = reference  # predictions are graded on the trusted side's own labs
        self.freezer = freezer  # the learner's containers, frozen while a check observes
        self.records: dict[str, ExerciseRecord] = {}
        self.drill: FailoverDrill | None = None
        self.drills_started = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ what a subclass decides

    def _lab(self, name: str) -> Lab:
        """The running lab the kernel knows as `name`; LabNotFoundError if it has none of that name."""
        raise NotImplementedError

    def _lab_for(self, exercise: Exercise) -> Lab:
        """The running lab an exercise's checks run on."""
        raise NotImplementedError

    def _drill_lab(self) -> Lab:
        """The running lab a failover drill runs on."""
        raise NotImplementedError

    def _rejoin(self, lab: Lab) -> None:
        """Put a restarted cluster back where the kernel reaches it (a no-op where it stayed)."""

    def _recorded(self, exercise: Exercise, verb: str, result: ExerciseResult) -> None:
        """Called after every check and peek with the whole result (hidden cases too)."""

    def _frozen(self) -> AbstractContextManager[None]:
        """No code of the learner runs within this block: their containers are frozen (a no-op without a
        freezer)."""
        return self.freezer.frozen() if self.freezer is not None else nullcontext()

    # ------------------------------------------------------------------ what the kernel may ask

    def cluster_state(self, name: str, cluster: str) -> str:
        lab = self._lab(name)
        return lab.backend.cluster_state(lab.record, self._cluster(lab, cluster))

    def cluster_action(self, name: str, cluster: str, action: str, progress: Progress) -> float:
        lab = self._lab(name)
        cluster = self._cluster(lab, cluster)
        if action == "kill":
            lab.kill(cluster)
        elif action == "stop":
            lab.stop_cluster(cluster)
        else:
            seconds = lab.start_cluster(cluster, progress)
            self._rejoin(lab)  # a restarted container keeps its networks; this is a no-op then
            return seconds
        return 0.0

    def link_action(self, name: str, a: str, b: str, action: str) -> None:
        lab = self._lab(name)
        first, second = self._cluster(lab, a), self._cluster(lab, b)
        if first == second:
            raise UsageError(_("A link joins two different clusters; got {cluster!r} twice.").format(cluster=a))
        (lab.cut_link if action == "cut" else lab.heal_link)(first, second)

    def call(self, verb: str, body: Any) -> Any:
        """The notebook API's verbs, run here on the trusted side's own lab and recorded here:
        ``check`` (a try: counted, a hint after repeated failures), ``peek`` (progress: not a try),
        ``reset`` (the exercise's starting state), ``predict`` (a prediction: the first one stands, timed
        here), ``drill`` (a step of the failover drill, run here on the trusted lab; its report is what
        the checks grade). There is no ``solve`` here: a reference solution, where a kernel has one, runs
        in the kernel and marks the lab as solved by it."""
        if verb == "drill":  # the grader's own drill, with none of the learner's code running beside it
            with self._frozen():
                return self._drill(body if isinstance(body, dict) else {})
        if verb == "solved" and not self.accepts_solutions:
            raise UsageError(_("A graded run takes no reference solutions; expected `check`, `peek`, `reset`, "
                               "`predict` or `drill`. Solve the exercise yourself."))
        if verb not in ("check", "peek", "reset", "predict", "solved"):
            raise UsageError(_("The trusted side has no verb {verb!r}; expected `check`, `peek`, `reset`, `predict` "
                               "or `drill` (it carries no reference solutions).").format(verb=verb))
        exercise_id = body.get("exercise") if isinstance(body, dict) else None
        exercise = ALL.get(str(exercise_id))
        if exercise is None or exercise.notebook not in self.notebooks:
            raise UsageError(_("No exercise {exercise_id!r} in this assignment; expected one of {known}.").format(
                exercise_id=str(exercise_id)[:60],
                known=sorted(e.exercise_id for e in ALL.values() if e.notebook in self.notebooks)))
        record = self.records.setdefault(exercise.exercise_id, ExerciseRecord())
        if verb == "predict":
            answer = body.get("answer")
            question = exercise.question
            if question is None:
                raise UsageError(_("Exercise {exercise_id} asks for no prediction; expected the id of a "
                                   "predict-then-observe exercise.").format(exercise_id=exercise.exercise_id))
            if answer not in question.choices:  # the kernel sends a choice's English key
                raise UsageError(_("{answer!r} is not a prediction for {exercise_id}; expected one of {choices}.")
                                 .format(answer=str(answer)[:60], exercise_id=exercise.exercise_id,
                                         choices=[_(choice) for choice in question.choices]))
            if record.prediction is None:
                record.prediction = Prediction(exercise.exercise_id, str(answer), time.time())
            return {"answer": record.prediction.answer, "at": record.prediction.at}
        if verb == "solved":
            record.solved_by_solution = True  # no points for this exercise from now on, as on a laptop
            return {}
        lab = self._lab_for(exercise)
        if verb == "reset":
            if exercise.reset is None or exercise.question is not None:
                raise UsageError(_("Exercise {exercise_id} cannot be reset; expected an exercise with a starting "
                                   "state.").format(exercise_id=exercise.exercise_id))
            exercise.reset(lab)
            record.resets += 1
            return {}
        at_check = verb == "check" and exercise.graded_at == "check"
        if verb == "peek" and exercise.graded_at == "check" and record.best is not None:
            result = record.best  # progress() shows what counts: the best check()
        else:
            with self._frozen():  # what the check observes, no code of the learner's changes meanwhile
                result = run_exercise(exercise, lab, include_hidden=at_check, marks=False,
                                      prediction=record.prediction, reference=self.reference)
        if at_check:
            record.best = best_of(record.best, result)
        whole = replace(result, solved_by_solution=record.solved_by_solution)
        result = ExerciseResult(result.exercise_id, result.title, tuple(c for c in result.cases if not c.hidden))
        if verb == "check":
            record.tries += 1
            if not result.passed:
                record.failures += 1
        show_hint = verb == "check" and not result.passed and record.failures >= HINT_AFTER_FAILURES
        record.hints_shown += 1 if show_hint else 0
        self._recorded(exercise, verb, whole)
        return result_to_wire(ExerciseResult(result.exercise_id, result.title, result.cases, record.solved_by_solution,
                                             attempts=max(record.tries, 1), hint=_(exercise.hint) if show_hint else "",
                                             show_hint=show_hint))

    def _drill(self, body: dict[str, Any]) -> Any:
        """One step of `lab.failover_drill(...)`, run here with the trusted side's own clients on its
        lab (`labs.flows.FailoverDrill`); every number the kernel sends is bounded."""
        action = body.get("action")
        if action == "start":
            lab = self._drill_lab()
            topic, subscription = str(body.get("topic", "")), str(body.get("subscription", ""))
            prefix = f"persistent://{lab.topology.qualified_namespace}/"
            if not topic.startswith(prefix) or len(topic) > 200 or not 0 < len(subscription) <= 100:
                raise UsageError(_("A drill runs on a topic of {prefix}... with a subscription name of 1 to 100 "
                                   "characters; got {topic!r} and {subscription!r}.").format(
                                       prefix=prefix, topic=topic[:80], subscription=subscription[:80]))
            if self.drills_started >= MAX_DRILLS:
                raise UsageError(_("A kernel may start {most} failover drills; expected at most that many. Run the "
                                   "drill you have to its end.").format(most=MAX_DRILLS))
            if self.drill is not None:
                self.drill.close()
                self.drill = None
            interval = _bounded(body, "check_interval_ms", 100, 5000)
            self.drills_started += 1
            drill = lab.failover_drill(topic, subscription, check_interval_ms=int(interval))
            assert isinstance(drill, FailoverDrill)  # the trusted lab runs on Docker here, never remotely
            self.drill = drill
            return {}
        if self.drill is None:
            raise UsageError(_("No failover drill is running for this kernel; expected drill = "
                               "lab.failover_drill(topic, subscription) first."))
        drill = self.drill
        counts = {"produce": ("count",), "run_traffic": ("messages", "unconsumed"), "switch_back": ("messages",)}
        asked = sum(value for name in counts.get(str(action), ())
                    if isinstance(value := body.get(name), int) and not isinstance(value, bool))
        if len(drill.sent) + asked > MAX_DRILL_MESSAGES:
            raise UsageError(_("A failover drill sends at most {most} messages; it has sent {sent}, and expected no "
                               "more than that in all. Start the drill again (lab.failover_drill(...)).").format(
                most=MAX_DRILL_MESSAGES, sent=len(drill.sent)))
        if action == "produce":
            return drill.produce(int(_bounded(body, "count", 1, 100)))
        if action == "run_traffic":
            drill.run_traffic(messages=int(_bounded(body, "messages", 1, 1000)),
                              batch=int(_bounded(body, "batch", 1, 50)), pause_s=_bounded(body, "pause_s", 0, 1),
                              unconsumed=int(_bounded(body, "unconsumed", 0, 200)))
            return {}
        if action == "mark_failure":
            drill.mark_failure()
            return {}
        if action == "receive_rest":
            return drill.receive_rest(timeout_s=_bounded(body, "timeout_s", 1, 300))
        if action == "switch_back":
            return drill.switch_back(timeout_s=_bounded(body, "timeout_s", 1, 300),
                                     messages=int(_bounded(body, "messages", 1, 100)))
        if action == "report":
            return drill.report().to_wire()
        if action == "close":
            drill.close()
            self.drill = None
            return {}
        raise UsageError(_("A drill has no step {step!r}; expected `start`, `produce`, `run_traffic`, `mark_failure`, "
                           "`receive_rest`, `switch_back`, `report` or `close`.").format(step=str(action)[:40]))

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _cluster(lab: Lab, cluster: str) -> str:
        if cluster not in lab.clusters:
            raise LabNotFoundError(_("Cluster {cluster!r} is not part of this lab; expected one of {clusters}.").format(
                cluster=cluster, clusters=list(lab.clusters)))
        return cluster

    def join_network(self, lab: Lab, network_name: str) -> None:
        """Attach the lab's clusters to a kernel's network, each under its cluster name."""
        network = self.backend.docker.networks.get(network_name)
        network.reload()
        attached = {c.id for c in network.containers}
        for cluster in lab.clusters:
            container = self.backend.container(lab.record, cluster)
            if container.id not in attached:
                network.connect(container, aliases=[cluster])

    @staticmethod
    def view(lab: Lab, name: str, token: str = "") -> tuple[LabRecord, tuple[Forward, ...]]:
        """The lab as a kernel on its network reaches it, under the name the kernel knows: clusters by
        name, and the loopback address each broker advertises forwarded to it (for lookup redirects);
        on clusters with authentication on, with the kernel's own `token`."""
        endpoints: dict[str, ClusterEndpoint] = {}
        forwards: list[Forward] = []
        for cluster, endpoint in lab.record.endpoints.items():
            port = int(endpoint.service_url.rsplit(":", 1)[1])
            endpoints[cluster] = ClusterEndpoint(cluster, f"pulsar://{cluster}:{port}", f"http://{cluster}:{HTTP_PORT}",
                                                 endpoint.container, token)
            forwards.append(Forward(port, cluster, port))
        return LabRecord(name, lab.topology, endpoints, reattached=lab.reattached, configured=True), tuple(forwards)

    def close_drill(self) -> None:
        if self.drill is not None:
            self.drill.close()
            self.drill = None


class GradedLabs(TrustedLabs):
    """A `labs.control.ControlHandler` for one submission (see the module docstring): one lab, the
    assignment's, which the grader removes after the checks."""

    def __init__(self, spec: LabSpec, prefix: str, sandbox_network: str, backend: DockerBackend,
                 notebooks: tuple[str, ...] = (), reference: ReferenceExperiments | None = None) -> None:
        super().__init__(backend, notebooks, reference)
        self.spec = spec
        self.prefix = prefix
        self.sandbox_network = sandbox_network
        self.lab: Lab | None = None

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> tuple[LabRecord, tuple[Forward, ...]]:
        wanted = self.spec
        if (topology.to_json(), name, configure) != (wanted.topology.to_json(), wanted.name, wanted.configure):
            raise UsageError(_(
                "A graded run starts only the lab of its assignment; expected Lab.start({kind} {clusters}, "
                "name={name!r}, configure={configure}), got {got_kind} {got_clusters}, name={got_name!r}, "
                "configure={got_configure}.").format(
                    kind=wanted.topology.kind, clusters=list(wanted.topology.clusters), name=wanted.name,
                    configure=wanted.configure, got_kind=topology.kind, got_clusters=list(topology.clusters),
                    got_name=name, got_configure=configure))
        if base_port is not None:
            raise UsageError(_("A graded run picks its own ports; expected no base_port. Remove base_port=... ."))
        with self._lock:
            if self.lab is None:
                self.lab = Lab.start(topology, name=self.prefix + name, configure=configure, probe=probe,
                                     progress=progress, backend=self.backend)
                self.join_network(self.lab, self.sandbox_network)
            else:
                progress(_("Reattached to running lab {name!r}.").format(name=name))
        return self.view(self.lab, self.spec.name)

    def attach(self, name: str) -> tuple[LabRecord, tuple[Forward, ...]]:
        return self.view(self._lab(name), self.spec.name)

    def remove(self, name: str) -> tuple[int, int]:
        self._lab(name)
        return 0, 0  # the grader removes it after the checks

    def _lab(self, name: str) -> Lab:
        if self.lab is None or name != self.spec.name:
            raise LabNotFoundError(_("No lab named {name!r} in this graded run; expected {expected!r}, started with "
                                     "Lab.start(...) first.").format(name=name, expected=self.spec.name))
        return self.lab

    def _lab_for(self, exercise: Exercise) -> Lab:
        return self._lab(self.spec.name)

    def _drill_lab(self) -> Lab:
        return self._lab(self.spec.name)

    def _rejoin(self, lab: Lab) -> None:
        self.join_network(lab, self.sandbox_network)

    def close(self) -> None:
        """Remove the lab (after the checks)."""
        self.close_drill()
        if self.lab is not None:
            self.lab.close()
            self.backend.remove(self.lab.record)
            self.lab = None


#: What one kernel's failover drills may cost the trusted side: drills started, messages in one drill
#: (the lesson's drill sends about 230; each message's key is kept for the report).
MAX_DRILLS, MAX_DRILL_MESSAGES = 20, 5000


def _bounded(body: dict[str, Any], name: str, low: float, high: float) -> float:
    """A number the kernel sent, within [low, high]."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise UsageError(_("The drill's {name} must be a number from {low} to {high}; got {value!r}.").format(
            name=name, low=f"{low:g}", high=f"{high:g}", value=str(value)[:40]))
    return float(value)


def create_sandbox_network(client: docker.DockerClient, name: str, lab_label: str) -> str:
    """An internal network (no route out) for one submission's kernel and its lab's clusters, closed
    to this host's own services too.

    An internal Docker network still gives the host an address on its bridge (Engine 28's "isolated"
    gateway mode is not on every grading host), so the kernel could reach anything the host serves
    on all interfaces. A firewall rule drops every packet from the bridge to the host; the kernel
    needs none (it talks to the grader through Unix sockets only).

    Raises:
        GradingError: the host cannot be closed off (not root, or no iptables); nothing is graded then.
    """
    try:
        network = client.networks.create(name, driver="bridge", internal=True, enable_ipv6=False,
                                         labels={LABEL_LAB: lab_label, LABEL_SANDBOX: "true"})
    except docker.errors.APIError as exc:
        if POOL_EXHAUSTED in str(exc):
            raise GradingError(_("Docker has no address left for network {name}: {error}. {hint}").format(
                name=name, error=exc.explanation or exc, hint=_(POOLS_HINT))) from exc
        raise
    try:
        close_bridge(bridge_name(network.id))
    except FirewallError as exc:
        open_bridge(bridge_name(network.id))
        network.remove()
        raise GradingError(_("{error} Nothing is graded until the sandbox's network can be closed off.").format(
            error=exc)) from exc
    return name


def remove_sandbox_network(client: docker.DockerClient, name: str) -> None:
    """Remove the sandbox's network and its firewall rules."""
    try:
        network = client.networks.get(name)
    except docker.errors.NotFound:
        return
    open_bridge(bridge_name(network.id))
    network.remove()
