"""An exercise's reset puts real clusters back to its starting state, also when the learner's namespace
replicates to several clusters: Pulsar 4.0.8 refuses to delete such a namespace (HTTP 412, "Cannot
delete the global namespace ... more than one replication clusters"), so a reset that only deleted it
failed where a learner needs it most. Lesson 01's lab: bare clusters, independent stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks import check, reset, solve
from checks.exercises import basics
from labs.lab import Lab


@pytest.fixture
def bare_lab(pulsar_image: str) -> Iterator[Lab]:
    lab = Lab.start(basics.LAB.topology, name="it-resets", configure=basics.LAB.configure)
    try:
        yield lab
    finally:
        lab.stop()


def test_resetting_a_namespace_replicated_both_ways_starts_the_exercise_over(bare_lab: Lab) -> None:
    assert solve("01-basics/1", bare_lab).passed and solve("01-basics/2", bare_lab).passed
    assert sorted(bare_lab.admin("beijing").get_namespace_clusters(basics.NAMESPACE)) == ["beijing", "shanghai"]
    reset("01-basics/2", bare_lab)
    for cluster in basics.PAIR:  # no tenant left on either side: the exercise's starting state
        assert "geolab" not in bare_lab.admin(cluster).list_tenants()
    assert not any(case.passed for case in check("01-basics/2", bare_lab).cases)
    assert solve("01-basics/2", bare_lab).passed  # and it can be done again
    reset("01-basics/1", bare_lab)
    assert bare_lab.admin("beijing").list_clusters() == ["beijing"]
