"""The live views, headless, on real clusters: counters and figure data follow what happened."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from labs.lab import Lab
from labs.topology import full_mesh
from labs.views import Dashboard
from labs.views.sampler import CONNECTED, DISCONNECTED, STALLED
from labs.views.topology_map import LINK_COLOURS, RED
from labs.waiting import wait_for
from tests.integration.conftest import start_lab

N = 25


@pytest.fixture(scope="module")
def lab(pulsar_image: str) -> Iterator[Lab]:
    yield from start_lab(full_mesh("beijing", "shanghai", config_store="independent"), "it-views")


@pytest.fixture
def board(lab: Lab, unique: str) -> Iterator[Dashboard]:
    dashboard = Dashboard(lab, topic=f"live-{unique}")
    try:
        yield dashboard
    finally:
        dashboard.stop()


def refresh_until(board: Dashboard, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    def refreshed() -> bool:
        board.refresh(board.sample_now())
        return done()

    wait_for(refreshed, what=what, timeout_s=timeout_s, interval_s=0.25)


def test_counts_and_figures_show_the_messages_produced(board: Dashboard) -> None:
    board.flows.start_consumer("beijing")
    board.flows.start_consumer("shanghai")
    for i in range(N):
        board.flows.send_one("beijing", f"m{i}".encode())
    refresh_until(board, lambda: board.flows.counts().replicated_in["shanghai"] == N, 60,
                  f"{N} messages replicated into shanghai")
    counts = board.flows.counts()
    assert counts.produced == {"beijing": N, "shanghai": 0}
    assert counts.consumed == {"beijing": N, "shanghai": N}
    assert f"replicated in <b>{N}</b>" in board.panel.counts["shanghai"].value
    refresh_until(board, lambda: board.sampler.sample().clusters["beijing"].messages_in >= N, 30,
                  "beijing's topic stats to count the messages")
    colour, label = board.map.link_state("beijing", "shanghai")
    assert colour == LINK_COLOURS[CONNECTED]
    assert "connected" in label
    assert f"produced {N}" in board.map.figure.layout.annotations[-2].text
    produce_rates = [v for v in board.charts.values(1, "beijing") if v is not None]
    assert sum(produce_rates) > 0, "the produce-rate chart never moved"
    latency = [v for v in board.charts.values(4, "beijing->shanghai") if v is not None]
    assert latency and all(v >= 0 for v in latency)
    assert_json_compliant(board)


def assert_json_compliant(board: Dashboard) -> None:
    """What the widgets send to the browser must be strict JSON: a NaN or infinity makes the kernel
    print "Message serialization failed ... Out of range float values are not JSON compliant"."""
    for figure in (board.map.figure, board.charts.figure):
        json.dumps(figure.to_plotly_json(), allow_nan=False, default=list)


def test_a_fresh_dashboard_sends_no_nan(board: Dashboard) -> None:
    board.refresh(board.sample_now())  # no message yet: no latency, no rates
    board.refresh(board.sample_now())
    assert board.charts.values(4, "beijing->shanghai")[-1] is None
    assert_json_compliant(board)


def test_cut_link_turns_red_and_backlog_grows_then_drains(lab: Lab, board: Dashboard) -> None:
    board.flows.start_consumer("shanghai")
    board.flows.start_producer("beijing", 20)
    refresh_until(board, lambda: board.sampler.sample().links[("beijing", "shanghai")].state == CONNECTED
                  and board.flows.counts().replicated_in["shanghai"] > 0, 60, "a live replicated flow")
    # through the fault controls, as a learner would press "cut"
    board.faults.link.value = "beijing ↔ shanghai"
    board.faults.buttons["cut"].click()
    refresh_until(board, lambda: board.faults.status == "cut beijing ↔ shanghai", 30, "the cut to be done")
    assert "cut beijing" in board.faults.label.value
    try:
        refresh_until(board, lambda: board.map.link_state("beijing", "shanghai")[0] == RED, 60,
                      "the link drawn red after the cut")
        first = board.sampler.sample().links[("beijing", "shanghai")]
        assert first.state in (STALLED, DISCONNECTED)
        refresh_until(board, lambda: board.sampler.sample().links[("beijing", "shanghai")].state == DISCONNECTED,
                      150, "the replicator reported disconnected")
        later = board.sampler.sample().links[("beijing", "shanghai")]
        assert later.backlog > first.backlog > 0
        assert max(board.charts.values(3, "beijing->shanghai")) >= first.backlog
    finally:
        board.faults.buttons["heal"].click()
        refresh_until(board, lambda: board.faults.status.startswith(("healed", "failed")), 30, "the heal")
    assert board.faults.status == "healed beijing ↔ shanghai"
    board.flows.stop_producer("beijing")
    refresh_until(board, lambda: (lambda s: s.state == CONNECTED and s.backlog == 0)(
        board.sampler.sample().links[("beijing", "shanghai")]), 120, "the backlog drained after healing")
    counts = board.flows.counts()
    refresh_until(board, lambda: board.flows.counts().replicated_in["shanghai"] >= counts.produced["beijing"], 60,
                  "every produced message replicated")


def test_tracer_follows_a_message_and_explains_skips(board: Dashboard) -> None:
    board.refresh()
    trace = board.tracer.send("shanghai")
    refresh_until(board, lambda: board.tracer.result(trace).hop("beijing").arrived_ms is not None, 30,
                  "the traced message on beijing")
    assert f"trace <code>{trace}</code>" in board.tracer_view.table.value
    local = board.tracer.send("beijing", disable_replication=True)
    refresh_until(board, lambda: board.tracer.result(local).hop("beijing").arrived_ms is not None, 30,
                  "the local traced message on beijing")
    hop = board.tracer.result(local).hop("shanghai")
    assert not hop.expected and "disable_replication" in hop.reason
    assert not hop.observed_skip  # no skip is claimed before shanghai watched for the whole window
    skipped = board.wait_trace(local, timeout_s=30).hop("shanghai")
    assert skipped.observed_skip and skipped.arrived_ms is None and skipped.watched_ms >= skipped.window_ms
