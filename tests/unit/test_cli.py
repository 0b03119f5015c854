from __future__ import annotations

import argparse
import gettext
import re
from pathlib import Path

import pytest

from checks.cli import main as geolab
from labs import cli
from labs.cli import build_topology
from labs.course import course_notebooks
from labs.errors import ProvisioningError, UsageError
from labs.i18n import using
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


# ------------------------------------------------------------------------------ the user's language


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """`labs.cli.main(argv)`'s help (`geolab`'s, with the grader's commands, for `grade`)."""
    with pytest.raises(SystemExit) as info:
        geolab(argv) if argv[0] == "grade" else cli.main(argv)
    assert info.value.code == 0
    return capsys.readouterr().out


def test_help_is_in_chinese_with_geolab_lang_zh_whatever_the_locale(capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LANGUAGE", "en_US")
    said = help_text(["--help"], capsys)
    assert said.startswith("用法：geolab") and "位置参数" in said and "选项" in said
    assert "显示此帮助消息并退出" in said and "启动（或重新连接到）一个实验环境" in said
    assert "用真实的 Pulsar 集群学习跨地域复制。" in said and "usage:" not in said and "options" not in said
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext  # type: ignore[attr-defined]


def test_help_is_in_english_with_geolab_lang_en_whatever_the_locale(capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    said = help_text(["up", "--help"], capsys)
    assert said.startswith("usage: geolab up") and "positional arguments" in said and "options:" in said
    assert "show this help message and exit" in said and "cluster names (default: beijing shanghai" in said
    assert not re.search(r"[\u4e00-\u9fff]", said)


def test_the_locale_chooses_when_geolab_lang_is_unset(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOLAB_LANG")
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert help_text(["--help"], capsys).startswith("用法：")


def test_a_bad_command_line_is_refused_in_chinese(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    with pytest.raises(SystemExit) as info:
        geolab(["frob"])
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("geolab: 参数 command：无效的选择：'frob'（可选：") and "'grade'" in lines[0]
    assert lines[1] == "geolab: 参数应如 `geolab --help` 所示。"
    with pytest.raises(SystemExit):
        geolab(["up"])
    assert "缺少以下必需参数：preset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        geolab(["doctor", "--clusters", "x"])
    assert "参数 --clusters：无效的 int 值：'x'" in capsys.readouterr().err


def test_a_bad_command_line_is_refused_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        geolab(["frob"])
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("geolab: argument command: invalid choice: 'frob' (choose from")
    assert lines[1] == "geolab: expected arguments as in `geolab --help`."


def test_chinese_help_lines_fit_the_terminal(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    monkeypatch.setenv("COLUMNS", "62")
    for argv in (["--help"], ["up", "--help"], ["grade", "--help"]):
        said = help_text(argv, capsys)
        wide = [line for line in said.splitlines() if re.search(r"[\u4e00-\u9fff]", line)
                and not line.startswith("用法")]
        assert wide and all(cli._width(line) <= 60 for line in wide), [line for line in wide if cli._width(line) > 60]


def test_errors_and_details_are_said_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with using("zh"):
        with pytest.raises(UsageError, match="failover（故障转移）预设需要两个集群"):
            build_topology("failover", ["aa", "bb", "cc"], "shared")
        logs = "\n".join(f"log line {i}" for i in range(3))
        assert cli.main(["boom"], extend=failing(ProvisioningError(f"集群 'beijing' 没有启动。\n{logs}"))) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "geolab: 集群 'beijing' 没有启动。" and lines[1].startswith("geolab: 详情（还有 3 行")
    Path(lines[1].rsplit("：", 1)[1]).unlink()
