"""The lab server's policy without Docker: course labs only, one lab per learner, the warm pool,
quotas (clusters, memory, faults), idle removal and the class's records.

Labs here are stand-ins (no clusters): these tests cover who gets which lab and when; the real-cluster
tests in tests/integration/test_workshop.py cover what the labs do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from checks.engine.model import CaseResult, ExerciseResult
from checks.exercises import ALL, LABS
from checks.sandbox.trusted import TrustedLabs
from checks.workshop.labs import COURSE, Quotas, Workshop, WorkshopLabs, course_spec, validate_learner
from labs.backend import ClusterEndpoint, LabRecord
from labs.errors import LabNotFoundError, QuotaError, UsageError
from labs.lab import Lab
from labs.topology import Topology, full_mesh, single


@dataclass
class FakeLab:
    """What the workshop touches of a `Lab`."""

    name: str
    topology: Topology
    started_in_s: float = 1.0
    reattached: bool = False
    closed: bool = False
    faults: list[str] = field(default_factory=list)

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.topology.clusters

    @property
    def record(self) -> LabRecord:
        return LabRecord(self.name, self.topology, {c: ClusterEndpoint(c, f"pulsar://127.0.0.1:{16650 + i}",
                                                                         f"http://127.0.0.1:{18080 + i}", f"geolab-{c}")
                                                   for i, c in enumerate(self.topology.clusters)})

    def close(self) -> None:
        self.closed = True

    def kill(self, cluster: str) -> None:
        self.faults.append(f"kill {cluster}")


class FakeBackend:
    def __init__(self) -> None:
        self.removed: list[str] = []

    def remove(self, record: LabRecord) -> tuple[int, int]:
        self.removed.append(record.name)
        return len(record.topology.clusters), 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeLab]]:
    """Every lab the workshop starts cold, in order; joining a network does nothing here."""
    labs: list[FakeLab] = []

    def start(topology: Topology, name: str, **_: Any) -> FakeLab:
        lab = FakeLab(name, topology)
        labs.append(lab)
        return lab

    monkeypatch.setattr(Lab, "start", staticmethod(start))
    monkeypatch.setattr(TrustedLabs, "join_network", lambda self, lab, network: None)
    monkeypatch.setattr(WorkshopLabs, "_connect_server", lambda self: None)
    yield labs


def workshop(quotas: Quotas | None = None, warm: dict[str, int] | None = None) -> tuple[Workshop, Clock, FakeBackend]:
    clock, backend = Clock(), FakeBackend()
    return Workshop(backend, quotas or Quotas(), warm, clock=clock), clock, backend  # type: ignore[arg-type]


def start(shop: Workshop, learner: str, notebook: str, lines: list[str] | None = None) -> LabRecord:
    spec = LABS[notebook]
    handler = shop.add_learner(learner, f"geolab-ws-{learner}").handler
    record, _ = handler.start(spec.topology, spec.name, None, spec.configure, True,
                              (lines if lines is not None else []).append)
    return record


def test_learner_names_become_network_and_folder_names() -> None:
    assert validate_learner("team-3") == "team-3"
    for bad in ("", "Ada", "../bob", "a" * 25, "-x", "ada bob"):
        with pytest.raises(UsageError, match="expected 1 to 24 lowercase letters"):
            validate_learner(bad)


def test_only_the_course_labs_start() -> None:
    spec = LABS["02_full_mesh"]
    assert course_spec(spec.topology, spec.name, spec.configure) == spec
    with pytest.raises(UsageError, match="course's labs only"):
        course_spec(single("beijing"), "mine", True)
    with pytest.raises(UsageError, match="course's labs only"):
        course_spec(single("shanghai"), COURSE["welcome"].name, True)  # the name of one, the topology of another


def test_a_learner_sees_their_lab_under_its_course_name(started: list[FakeLab]) -> None:
    shop, _, _ = workshop()
    record = start(shop, "ada", "02_full_mesh")
    assert record.name == "full-mesh" and started[0].name.startswith("ws-")
    assert set(record.endpoints) == {"beijing", "shanghai", "guangzhou"}
    assert record.endpoints["beijing"].service_url == "pulsar://beijing:16650"  # by cluster name on their network


def test_starting_again_reattaches_and_another_lesson_replaces_the_lab(started: list[FakeLab]) -> None:
    shop, _, backend = workshop()
    start(shop, "ada", "02_full_mesh")
    lines: list[str] = []
    start(shop, "ada", "02_full_mesh", lines)
    assert len(started) == 1 and any("Reattached" in line for line in lines)
    start(shop, "ada", "04_failover", lines)
    assert backend.removed == [started[0].name]
    assert [h.spec.name for h in shop.learner_labs("ada")] == ["failover"]


def test_a_lab_too_large_for_the_learners_quota_is_refused_before_it_starts(started: list[FakeLab]) -> None:
    shop, _, _ = workshop(Quotas(max_clusters=2))
    with pytest.raises(QuotaError, match="at most 2"):
        start(shop, "ada", "02_full_mesh")
    assert not started


def test_the_memory_budget_counts_every_cluster_and_says_what_is_in_use(started: list[FakeLab]) -> None:
    shop, _, _ = workshop(Quotas(memory_mib=5000, cluster_mib=1000))
    start(shop, "ada", "02_full_mesh")  # 3 clusters: 3000 MiB
    with pytest.raises(QuotaError, match="needs about 3000 MiB, and 3000 of its 5000 MiB are in use"):
        start(shop, "bob", "02_full_mesh")
    start(shop, "bob", "01_replication_basics")  # 2 clusters fit
    assert shop.committed_mib() == 5000


def test_the_warm_pool_fills_ahead_and_a_learner_takes_from_it(started: list[FakeLab]) -> None:
    shop, _, _ = workshop(warm={"full-mesh": 1})
    assert shop.refill_pool() == "full-mesh"
    assert shop.refill_pool() is None  # full
    lines: list[str] = []
    record = start(shop, "ada", "02_full_mesh", lines)
    assert len(started) == 1 and record.name == "full-mesh"
    assert any("warm pool" in line for line in lines)
    assert shop.refill_pool() == "full-mesh" and len(started) == 2


def test_a_learner_gets_memory_the_pool_was_holding(started: list[FakeLab]) -> None:
    shop, _, backend = workshop(Quotas(memory_mib=4000, cluster_mib=1000), warm={"full-mesh": 1})
    shop.refill_pool()
    start(shop, "ada", "01_replication_basics")  # needs 2000: the pool's 3000 makes way
    assert [h.spec.name for h in shop.labs.values()] == ["basics"]
    assert shop.refill_pool() is None  # no room for the pool now


def test_faults_per_minute_are_limited_per_learner(started: list[FakeLab]) -> None:
    shop, clock, _ = workshop(Quotas(faults_per_minute=2))
    start(shop, "ada", "04_failover")
    handler = shop.learners["ada"].handler
    handler.cluster_action("failover", "beijing", "kill", print)
    handler.cluster_action("failover", "beijing", "kill", print)
    with pytest.raises(QuotaError, match="2 cluster and link changes in the last minute"):
        handler.cluster_action("failover", "beijing", "kill", print)
    clock.now += 61
    handler.cluster_action("failover", "beijing", "kill", print)
    assert len(started[0].faults) == 3


def test_an_idle_lab_goes_and_the_learner_is_told_why(started: list[FakeLab]) -> None:
    shop, clock, backend = workshop(Quotas(idle_s=600))
    start(shop, "ada", "00_welcome")
    start(shop, "bob", "00_welcome")
    clock.now += 300
    shop.touch("bob")
    clock.now += 400
    assert shop.remove_idle() == ["ada"]
    assert backend.removed == [started[0].name]
    with pytest.raises(LabNotFoundError, match="removed after 10 min without use"):
        shop.learners["ada"].handler.attach("welcome")
    assert shop.learners["bob"].handler.attach("welcome")[0].name == "welcome"


def test_another_learners_lab_is_not_found_by_its_name(started: list[FakeLab]) -> None:
    shop, _, _ = workshop()
    start(shop, "ada", "00_welcome")
    bob = shop.add_learner("bob", "geolab-ws-bob").handler
    with pytest.raises(LabNotFoundError, match="no lab named 'welcome'"):
        bob.attach("welcome")
    with pytest.raises(LabNotFoundError):
        bob.cluster_action("welcome", "beijing", "kill", print)


def test_the_class_view_counts_checks_and_shows_who_is_stuck(started: list[FakeLab]) -> None:
    shop, clock, _ = workshop()
    start(shop, "ada", "01_replication_basics")
    exercise = ALL["01-basics/1"]

    def result(passed: bool) -> ExerciseResult:
        return ExerciseResult(exercise.exercise_id, exercise.title,
                              (CaseResult("case", 2.0, 2.0 if passed else 0.0, passed, "", ""),))

    shop.record_check("ada", exercise, result(False))
    shop.record_check("ada", exercise, result(False))
    view = shop.class_view()
    ada = view["learners"]["ada"]  # type: ignore[index]
    assert ada["stuck"] == ["01-basics/1"] and ada["exercises"]["01-basics/1"]["tries"] == 2
    clock.now += 5
    shop.record_check("ada", exercise, result(True))
    ada = shop.class_view()["learners"]["ada"]  # type: ignore[index]
    assert ada["stuck"] == [] and ada["exercises"]["01-basics/1"]["passed"] is True
    assert ada["labs"][0]["name"] == "basics"


def test_a_class_wide_event_reaches_every_lab_that_has_the_cluster(started: list[FakeLab]) -> None:
    shop, _, _ = workshop()
    start(shop, "ada", "04_failover")
    start(shop, "bob", "04_failover")
    outcome = shop.event("kill", ("beijing",), print)
    assert outcome == {"ada": "ok", "bob": "ok"}
    assert all(lab.faults == ["kill beijing"] for lab in started)
    with pytest.raises(UsageError, match="names 2 cluster"):
        shop.event("cut", ("beijing",), print)


def test_quotas_are_checked() -> None:
    with pytest.raises(UsageError, match="parallel_starts=0"):
        Quotas(parallel_starts=0)
    with pytest.raises(UsageError, match="Warm pool entry nope=1"):
        Workshop(FakeBackend(), Quotas(), {"nope": 1})  # type: ignore[arg-type]
    assert full_mesh("beijing", "shanghai").clusters == ("beijing", "shanghai")
