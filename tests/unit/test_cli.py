from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from checks.cli import main as geolab
from labs import cli
from labs.cli import build_topology
from labs.course import course_notebooks
from labs.errors import ProvisioningError, UsageError
from labs.topology import ConfigStore


def test_presets_have_defaults() -> None:
    assert build_topology("full-mesh", [], "shared").clusters == ("beijing", "shanghai", "guangzhou")
    assert build_topology("full-mesh", ["aa", "bb"], "independent").config_store is ConfigStore.INDEPENDENT
    assert build_topology("failover", [], "shared").active == "beijing"


def test_failover_needs_two_clusters() -> None:
    with pytest.raises(UsageError, match="two clusters"):
        build_topology("failover", ["aa", "bb", "cc"], "shared")


def test_bad_cluster_name_exits_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert geolab(["up", "one-way", "Beijing", "shanghai"]) == 2
    assert "Cluster name 'Beijing' is invalid" in capsys.readouterr().err


def test_down_needs_a_name_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert geolab(["down"]) == 2
    assert "--all" in capsys.readouterr().err


def failing(error: Exception) -> cli.Extend:
    def extend(sub: argparse._SubParsersAction[cli.Parser]) -> None:
        def run(_args: argparse.Namespace) -> int:
            raise error

        sub.add_parser("boom").set_defaults(func=run)

    return extend


def test_long_errors_print_two_lines_and_keep_the_rest_in_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    logs = "\n".join(f"log line {i}" for i in range(40))
    error = ProvisioningError(f"Cluster 'beijing' did not start; expected a healthy broker. Fix it.\n{logs}")
    assert cli.main(["boom"], extend=failing(error)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("geolab: Cluster 'beijing' did not start")
    details = Path(lines[1].rsplit(": ", 1)[1])
    assert details.read_text().count("log line") == 40
    details.unlink()


def test_unexpected_errors_are_one_line_plus_how_to_see_more(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOLAB_DEBUG", raising=False)
    assert cli.main(["boom"], extend=failing(RuntimeError("surprise"))) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 2 and "GEOLAB_DEBUG=1" in err
    monkeypatch.setenv("GEOLAB_DEBUG", "1")
    with pytest.raises(RuntimeError, match="surprise"):
        cli.main(["boom"], extend=failing(RuntimeError("surprise")))


def test_notebooks_are_copied_and_never_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert geolab(["notebooks", str(tmp_path / "course")]) == 0
    copied = sorted(p.name for p in (tmp_path / "course").glob("*.ipynb"))
    assert copied and copied == sorted(p.name for p in course_notebooks())
    (tmp_path / "course" / copied[0]).write_text("my work")
    assert geolab(["notebooks", str(tmp_path / "course")]) == 2
    assert (tmp_path / "course" / copied[0]).read_text() == "my work"
    assert geolab(["notebooks", str(tmp_path / "course"), "--force"]) == 0
    assert (tmp_path / "course" / copied[0]).read_text() != "my work"


@pytest.mark.parametrize("jobs", ["0", "9"])
def test_grading_jobs_out_of_range_are_refused_before_anything_starts(jobs: str, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert geolab(["grade", str(tmp_path), "--jobs", jobs]) == 2
    assert f"jobs={jobs} is out of range; expected 1 to 8" in capsys.readouterr().err
