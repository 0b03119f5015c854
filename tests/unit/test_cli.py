from __future__ import annotations

import pytest

from labs.cli import build_topology, main
from labs.errors import LabError
from labs.topology import ConfigStore


def test_presets_have_defaults() -> None:
    assert build_topology("full-mesh", [], "shared").clusters == ("beijing", "shanghai", "guangzhou")
    assert build_topology("full-mesh", ["aa", "bb"], "independent").config_store is ConfigStore.INDEPENDENT
    assert build_topology("failover", [], "shared").active == "beijing"


def test_failover_needs_two_clusters() -> None:
    with pytest.raises(LabError, match="two clusters"):
        build_topology("failover", ["aa", "bb", "cc"], "shared")


def test_bad_cluster_name_exits_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "one-way", "Beijing", "shanghai"]) == 2
    assert "Cluster name 'Beijing' is invalid" in capsys.readouterr().err


def test_down_needs_a_name_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["down"]) == 2
    assert "--all" in capsys.readouterr().err
