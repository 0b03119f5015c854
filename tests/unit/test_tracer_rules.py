from __future__ import annotations

from labs.topology import failover, full_mesh, one_way
from labs.views.tracer import expected_path, targets_from


def test_full_mesh_reaches_everyone_unless_told_otherwise() -> None:
    mesh = full_mesh("beijing", "shanghai", "guangzhou")
    assert expected_path(targets_from(mesh), "beijing", "guangzhou", None, False)[0]
    reached, why = expected_path(targets_from(mesh), "beijing", "guangzhou", ["beijing", "shanghai"], False)
    assert not reached and "replication_clusters" in why
    reached, why = expected_path(targets_from(mesh), "beijing", "shanghai", None, True)
    assert not reached and "disable_replication" in why


def test_one_hop_rule_in_a_chain() -> None:
    chain = one_way("beijing", "shanghai", "guangzhou")
    assert expected_path(targets_from(chain), "beijing", "shanghai", None, False)[0]
    reached, why = expected_path(targets_from(chain), "beijing", "guangzhou", None, False)
    assert not reached and "one hop" in why and "shanghai" in why


def test_one_way_does_not_flow_back() -> None:
    reached, why = expected_path(targets_from(one_way("beijing", "shanghai")), "shanghai", "beijing", None, False)
    assert not reached and "one-way" in why
    assert expected_path(targets_from(failover()), "shanghai", "beijing", None, False)[0]


def test_a_skip_is_reported_only_after_the_whole_window() -> None:
    from labs.views.tracer import TraceHop, TraceResult, trace_table

    watching = TraceHop("guangzhou", None, False, "skipped: one hop", watched_ms=4000, window_ms=10000)
    watched = TraceHop("guangzhou", None, False, "skipped: one hop", watched_ms=10000, window_ms=10000)
    surprise = TraceHop("guangzhou", 35, False, "skipped: one hop", watched_ms=10000, window_ms=10000)
    assert not watching.settled and not watching.observed_skip
    assert watched.settled and watched.observed_skip
    assert surprise.settled and not surprise.observed_skip
    origin = TraceHop("beijing", 0, True, "produced here")
    assert "watching (4 of 10 s)" in trace_table(TraceResult("t", "beijing", (origin, watching)))
    assert "nothing arrived in 10 s" in trace_table(TraceResult("t", "beijing", (origin, watched)))
    assert "predicted" in trace_table(TraceResult("t", "beijing", (origin, surprise)))
