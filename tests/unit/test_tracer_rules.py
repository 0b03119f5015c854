from __future__ import annotations

from labs.i18n import Text, using
from labs.topology import failover, full_mesh, one_way
from labs.views.tracer import expected_path, targets_from


def test_full_mesh_reaches_everyone_unless_told_otherwise() -> None:
    mesh = full_mesh("beijing", "shanghai", "guangzhou")
    assert expected_path(targets_from(mesh), "beijing", "guangzhou", None, False)[0]
    reached, why = expected_path(targets_from(mesh), "beijing", "guangzhou", ["beijing", "shanghai"], False)
    assert not reached and "replication_clusters" in why.key
    reached, why = expected_path(targets_from(mesh), "beijing", "shanghai", None, True)
    assert not reached and "disable_replication" in why.key


def test_one_hop_rule_in_a_chain() -> None:
    chain = one_way("beijing", "shanghai", "guangzhou")
    assert expected_path(targets_from(chain), "beijing", "shanghai", None, False)[0]
    reached, why = expected_path(targets_from(chain), "beijing", "guangzhou", None, False)
    assert not reached and "one hop" in why.key and "shanghai" in why.key


def test_one_way_does_not_flow_back() -> None:
    reached, why = expected_path(targets_from(one_way("beijing", "shanghai")), "shanghai", "beijing", None, False)
    assert not reached and "one-way" in why.key
    assert expected_path(targets_from(failover()), "shanghai", "beijing", None, False)[0]


def test_asking_for_a_cluster_without_a_replicator_is_one_sentence() -> None:
    chain = one_way("beijing", "shanghai", "guangzhou")
    _, why = expected_path(targets_from(chain), "beijing", "guangzhou", ["beijing", "guangzhou"], False)
    assert why.key == ("skipped: replication is one hop; beijing's namespace replicates to ['shanghai'] only, so "
                       "beijing has no replicator to guangzhou, and shanghai does not forward messages it received by "
                       "replication; naming guangzhou in the message's replication_clusters cannot add one")
    with using("zh"):
        said = why.render()
    assert said.startswith("跳过：复制只有一跳") and "replication_clusters" in said and "guangzhou" in said


def test_a_reason_is_compared_in_english_and_shown_in_the_readers_language() -> None:
    chain = one_way("beijing", "shanghai", "guangzhou")
    _, why = expected_path(targets_from(chain), "shanghai", "beijing", None, False)
    assert why.key.startswith("skipped: one-way (beijing replicates to shanghai, not back)")
    with using("zh"):
        assert why.render().startswith("跳过：单向复制（beijing 复制到 shanghai，不会反向复制）")
        assert why.key.startswith("skipped: one-way")  # the key is the same in every language


def test_a_skip_is_reported_only_after_the_whole_window() -> None:
    from labs.views.tracer import TraceHop, TraceResult, trace_table

    skip = Text("skipped: {origin}'s namespace replicates nowhere, so {origin} has no replicator at all",
                origin="beijing")
    watching = TraceHop("guangzhou", None, False, skip, watched_ms=4000, window_ms=10000)
    watched = TraceHop("guangzhou", None, False, skip, watched_ms=10000, window_ms=10000)
    surprise = TraceHop("guangzhou", 35, False, skip, watched_ms=10000, window_ms=10000)
    assert not watching.settled and not watching.observed_skip
    assert watched.settled and watched.observed_skip
    assert surprise.settled and not surprise.observed_skip
    origin = TraceHop("beijing", 0, True, Text("produced here"))
    assert "watching (4 of 10 s)" in trace_table(TraceResult("t", "beijing", (origin, watching)))
    assert "nothing arrived in 10 s" in trace_table(TraceResult("t", "beijing", (origin, watched)))
    assert "predicted" in trace_table(TraceResult("t", "beijing", (origin, surprise)))
    with using("zh"):
        assert "观察中（4 / 10 s）" in trace_table(TraceResult("t", "beijing", (origin, watching)))
        assert "观察了 10 s，未收到任何消息" in trace_table(TraceResult("t", "beijing", (origin, watched)))
        assert "但消息仍然到达了" in trace_table(TraceResult("t", "beijing", (origin, surprise)))
        assert "来自 <b>beijing</b> 的追踪消息 <code>t</code>" in TraceResult("t", "beijing", (origin,))._repr_html_()
