from __future__ import annotations

import pytest

from labs import ConfigStore, Link, Topology, TopologyError, failover, full_mesh, one_way, single


def test_full_mesh_links_every_pair_both_ways() -> None:
    topology = full_mesh("beijing", "shanghai", "guangzhou")
    assert topology.config_store is ConfigStore.SHARED
    assert len(topology.links) == 6
    assert set(topology.targets("beijing")) == {"shanghai", "guangzhou"}
    assert topology.replication_clusters("shanghai")[0] == "shanghai"


def test_one_way_replicates_forward_only() -> None:
    topology = one_way("beijing", "shanghai")
    assert topology.links == (Link("beijing", "shanghai"),)
    assert topology.replication_clusters("beijing") == ("beijing", "shanghai")
    assert topology.replication_clusters("shanghai") == ("shanghai",)
    assert topology.enforce_one_way


def test_failover_is_two_way_with_an_active_cluster() -> None:
    topology = failover(active="beijing", standby="shanghai")
    assert set(topology.links) == {Link("beijing", "shanghai"), Link("shanghai", "beijing")}
    assert topology.active == "beijing"
    assert topology.standby == ("shanghai",)
    assert topology.replicated_subscriptions


@pytest.mark.parametrize(
    "name",
    ["Beijing", "bei_jing", "bei.jing", "b", "-beijing", "beijing-", "x" * 40, "standalone", "", "北京"],
)
def test_invalid_cluster_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(TopologyError, match="Cluster name|reserved"):
        full_mesh("shanghai", name)


def test_non_string_cluster_name() -> None:
    with pytest.raises(TopologyError, match="expected a string"):
        one_way("beijing", 42)  # type: ignore[arg-type]


def test_link_to_unknown_cluster() -> None:
    with pytest.raises(TopologyError, match="'tokyo', which is not in the topology"):
        Topology(kind="custom", clusters=("beijing", "shanghai"), links=(Link("beijing", "tokyo"),))


def test_one_way_cycle_is_refused() -> None:
    with pytest.raises(TopologyError, match="cycle") as info:
        one_way("beijing", "shanghai", "beijing")
    assert "beijing -> shanghai -> beijing" in str(info.value)


def test_one_way_cycle_in_custom_links() -> None:
    links = (Link("a1", "b1"), Link("b1", "c1"), Link("c1", "a1"))
    with pytest.raises(TopologyError, match="cycle"):
        Topology(kind="one-way", clusters=("a1", "b1", "c1"), links=links)


def test_duplicate_and_self_links() -> None:
    with pytest.raises(TopologyError, match="unique"):
        full_mesh("beijing", "beijing")
    with pytest.raises(TopologyError, match="itself"):
        Topology(kind="custom", clusters=("beijing",), links=(Link("beijing", "beijing"),))


def test_shared_store_requires_full_mesh() -> None:
    with pytest.raises(TopologyError, match="shared configuration store"):
        Topology(kind="custom", clusters=("beijing", "shanghai"), links=(Link("beijing", "shanghai"),),
                 config_store=ConfigStore.SHARED)


def test_too_many_and_too_few_clusters() -> None:
    with pytest.raises(TopologyError, match="at most"):
        full_mesh("aa", "bb", "cc", "dd", "ee")
    with pytest.raises(TopologyError, match="at least two"):
        full_mesh("beijing")
    with pytest.raises(TopologyError, match="source and a target"):
        one_way("beijing")


def test_unknown_config_store() -> None:
    with pytest.raises(TopologyError, match="'shared' or 'independent'"):
        full_mesh("beijing", "shanghai", config_store="global")


def test_json_round_trip_and_fingerprint() -> None:
    for topology in (full_mesh("beijing", "shanghai", config_store="independent"), one_way("a1", "b1", "c1"),
                     failover(), single()):
        again = Topology.from_json(topology.to_json())
        assert again == topology
        assert again.fingerprint() == topology.fingerprint()
    assert full_mesh("beijing", "shanghai").fingerprint() != one_way("beijing", "shanghai").fingerprint()


def test_default_names_distinguish_store_modes() -> None:
    assert full_mesh("beijing", "shanghai").name == "full-mesh"
    assert full_mesh("beijing", "shanghai", config_store="independent").name == "full-mesh-independent"
