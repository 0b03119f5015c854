"""The failover drill's grading, headless: the report crosses the control channel intact, the grader
refuses drill steps out of bounds before touching a cluster, and 04-failover/4 grades the report the
drill left in the process that ran it (here reports made by hand: no Pulsar behaviour is claimed;
tests/integration/test_notebooks.py runs the real drill)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from checks.engine.model import LabSpec
from checks.exercises.failover import back_on_beijing, duplicates_bounded, nothing_lost, nothing_waits
from checks.sandbox.trusted import GradedLabs
from labs import flows
from labs.errors import UsageError
from labs.flows import DrillReport, last_drill_report
from labs.topology import failover

REPORT = DrillReport(sent=230, acked_before_failover=200, received_after_failover=30, duplicates=36, lost=(),
                     resumed_at=195, caught_up_s=1.8, service_url_after="pulsar://127.0.0.1:6650", complete=True,
                     failed_over=True, back_after_s=12.5, returned=10, duplicates_after_return=26)


def lab_named(name: str) -> Any:
    return SimpleNamespace(name=name)


@pytest.fixture
def reports() -> Any:
    saved = dict(flows._REPORTS)
    flows._REPORTS.clear()
    yield flows._REPORTS
    flows._REPORTS.clear()
    flows._REPORTS.update(saved)


def test_the_report_crosses_the_channel_intact() -> None:
    wire = REPORT.to_wire()
    assert DrillReport.from_wire({**wire, "unknown": 1}) == REPORT
    assert DrillReport.from_wire({**wire, "lost": ["m00003"]}).lost == ("m00003",)


def test_a_drill_that_moved_back_and_lost_nothing_passes(reports: dict[str, DrillReport]) -> None:
    reports["lab-a"] = REPORT
    lab = lab_named("lab-a")
    assert nothing_lost(lab).passed and duplicates_bounded(lab).passed and back_on_beijing(lab).passed
    assert last_drill_report("lab-b") is None


def test_duplicates_after_the_return_are_beijings_not_the_learners(reports: dict[str, DrillReport]) -> None:
    """Seen on real clusters: beijing, SIGKILLed, resumed billing 220 messages back (its position written at
    most once every 10 s); the case grades the failover's wave, the one the replicated subscription decides."""
    reports["lab-a"] = replace(REPORT, duplicates=241, duplicates_after_return=220, resumed_at=180)
    outcome = duplicates_bounded(lab_named("lab-a"))
    assert outcome.passed and "21 duplicate(s) after the failover" in outcome.actual
    assert "220 after the return" in outcome.actual


@pytest.mark.parametrize(("change", "failing"), [
    ({"lost": ("m00007",), "complete": False}, nothing_lost),
    ({"failed_over": False}, nothing_lost),  # never on the standby: no failover was drilled
    ({"sent": 40}, nothing_lost),  # the traffic never ran
    ({"duplicates": 200, "resumed_at": 0}, duplicates_bounded),  # started over
    ({"duplicates": 226, "duplicates_after_return": 126, "resumed_at": 100}, duplicates_bounded),  # 100 after it
    ({"back_after_s": None, "returned": 0}, back_on_beijing),
    ({"back_after_s": None, "returned": 0}, nothing_waits),  # idle replicators drain too: no way back, no credit
])
def test_each_shortfall_fails_its_case(reports: dict[str, DrillReport], change: dict[str, Any],
                                       failing: Any) -> None:
    reports["lab-a"] = replace(REPORT, **change)
    assert not failing(lab_named("lab-a")).passed


def test_no_drill_fails_every_case_and_says_what_to_do(reports: dict[str, DrillReport]) -> None:
    for case in (nothing_lost, duplicates_bounded, back_on_beijing, nothing_waits):
        outcome = case(lab_named("lab-none"))
        assert not outcome.passed and "no failover drill ran" in outcome.actual


@pytest.fixture
def graded() -> GradedLabs:
    labs = GradedLabs(LabSpec(failover("beijing", "shanghai"), "failover"), "t-", "net", backend=None,  # type: ignore[arg-type]
                      notebooks=("04_failover",))
    # a lab whose drill must never start: every refusal comes before it
    labs.lab = SimpleNamespace(  # type: ignore[assignment]
        name="failover", topology=failover("beijing", "shanghai"),
        failover_drill=lambda *a, **k: pytest.fail("the drill started on input it should refuse"))
    labs.spec = LabSpec(failover("beijing", "shanghai"), "failover")
    return labs


@pytest.mark.parametrize("body", [
    {"action": "run_traffic", "messages": 200},  # before any start
    {"action": "start", "topic": "persistent://public/default/x", "subscription": "billing", "check_interval_ms": 500},
    {"action": "start", "topic": "persistent://geolab/geo/x", "subscription": "", "check_interval_ms": 500},
    {"action": "start", "topic": "persistent://geolab/geo/x", "subscription": "billing", "check_interval_ms": 10**12},
    {"action": "start", "topic": "persistent://geolab/geo/x", "subscription": "billing", "check_interval_ms": True},
    {"action": "start", "topic": "persistent://geolab/geo/" + "x" * 300, "subscription": "billing",
     "check_interval_ms": 500},
    {"action": "os.system('id')"},
])
def test_the_grader_refuses_drill_steps_out_of_bounds(graded: GradedLabs, body: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        graded.call("drill", body)


def test_numbers_are_bounded_once_a_drill_runs(graded: GradedLabs) -> None:
    calls: list[tuple[str, Any]] = []
    graded.drill = SimpleNamespace(  # type: ignore[assignment]
        sent=[], run_traffic=lambda **k: calls.append(("run_traffic", k)),
        receive_rest=lambda **k: calls.append(("receive_rest", k)) or True)
    for body in ({"action": "run_traffic", "messages": 10**9, "batch": 5, "pause_s": 0.1, "unconsumed": 20},
                 {"action": "receive_rest", "timeout_s": 1e9},
                 {"action": "receive_rest", "timeout_s": "60"}):
        with pytest.raises(UsageError):
            graded.call("drill", body)
    assert calls == []
    assert graded.call("drill", {"action": "receive_rest", "timeout_s": 60}) is True
    assert calls == [("receive_rest", {"timeout_s": 60.0})]


def test_a_kernel_cannot_make_the_grader_keep_an_endless_drill(graded: GradedLabs) -> None:
    """Each message a drill sends is kept for its report: a drill sends at most MAX_DRILL_MESSAGES, and a
    kernel starts at most MAX_DRILLS (each with a failover client of its own)."""
    from checks.sandbox.trusted import MAX_DRILL_MESSAGES, MAX_DRILLS

    produced: list[int] = []
    graded.drill = SimpleNamespace(sent=["m"] * (MAX_DRILL_MESSAGES - 50),  # type: ignore[assignment]
                                   produce=lambda count: produced.append(count) or [])
    assert graded.call("drill", {"action": "produce", "count": 50}) == []
    with pytest.raises(UsageError, match=f"at most {MAX_DRILL_MESSAGES} messages"):
        graded.call("drill", {"action": "produce", "count": 51})
    with pytest.raises(UsageError, match=f"at most {MAX_DRILL_MESSAGES} messages"):
        graded.call("drill", {"action": "run_traffic", "messages": 40, "batch": 5, "pause_s": 0, "unconsumed": 20})
    assert produced == [50]
    graded.drills_started = MAX_DRILLS
    with pytest.raises(UsageError, match=f"start {MAX_DRILLS} failover drills"):
        graded.call("drill", {"action": "start", "topic": "persistent://geolab/geo/payments", "subscription": "billing",
                              "check_interval_ms": 500})
