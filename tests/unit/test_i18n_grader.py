"""The grader's and the workshop's languages, without Docker: a submission is graded in its own
language (its kernel's GEOLAB_LANG, the trusted side's answers), a workshop's learners get the
language the instructor chose, and what the grader and the workshop show a person is translated
while their machine keys stay English."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from checks.engine.model import LabSpec
from checks.errors import GradingError
from checks.sandbox import run
from checks.sandbox.run import InLanguage, Sandbox, kernel_environment
from checks.sandbox.trusted import GradedLabs
from labs.errors import UsageError
from labs.i18n import language, using
from labs.topology import one_way


def graded_labs() -> GradedLabs:
    return GradedLabs(LabSpec(one_way("beijing", "shanghai"), "one-way"), "t-", "net", backend=None,  # type: ignore[arg-type]
                      notebooks=("03_one_way",))


# ------------------------------------------------------------------------------ the grading sandbox


def test_the_kernel_is_told_the_submissions_language_and_nothing_of_the_graders() -> None:
    environment = kernel_environment("token", "zh")
    assert environment["GEOLAB_LANG"] == "zh"
    assert environment["GEOLAB_CONTROL_TOKEN"] == "token"
    assert "PATH" not in environment and "GEOLAB_CACHE" not in environment
    assert kernel_environment("token", "en")["GEOLAB_LANG"] == "en"


class Recorder:
    """A control handler that notes the language each verb ran in."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def _note(self, verb: str) -> None:
        self.seen.append((verb, language()))

    def start(self, *args: Any) -> Any:
        self._note("start")
        return None

    def attach(self, name: str) -> Any:
        self._note("attach")
        return None

    def remove(self, name: str) -> tuple[int, int]:
        self._note("remove")
        return 0, 0

    def cluster_state(self, name: str, cluster: str) -> str:
        self._note("cluster_state")
        return "running"

    def cluster_action(self, name: str, cluster: str, action: str, progress: Any) -> float:
        self._note("cluster_action")
        return 0.0

    def link_action(self, name: str, a: str, b: str, action: str) -> None:
        self._note("link_action")

    def call(self, verb: str, body: Any) -> Any:
        self._note("call")
        return {}


def test_every_verb_of_a_submissions_channel_runs_in_its_language() -> None:
    recorder = Recorder()
    handler = InLanguage(recorder, "zh")

    def serve() -> None:  # a channel thread: started with no language of its own
        handler.start(one_way("beijing", "shanghai"), "one-way", None, True, False, lambda _line: None)
        handler.attach("one-way")
        handler.remove("one-way")
        handler.cluster_state("one-way", "beijing")
        handler.cluster_action("one-way", "beijing", "kill", lambda _line: None)
        handler.link_action("one-way", "beijing", "shanghai", "cut")
        handler.call("peek", {})

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    assert [lang for _, lang in recorder.seen] == ["zh"] * 7
    assert language() == "en"  # the caller's own language is untouched


def test_the_trusted_side_refuses_in_the_submissions_language_with_english_verbs() -> None:
    with pytest.raises(UsageError) as chinese:
        InLanguage(graded_labs(), "zh").call("solve", {})
    said = str(chinese.value)
    assert "可信端没有动词" in said and "`check`、`peek`、`reset`、`predict` 或 `drill`" in said
    with pytest.raises(UsageError) as english:
        InLanguage(graded_labs(), "en").call("solve", {})
    assert str(english.value).startswith("The trusted side has no verb 'solve'")
    with pytest.raises(UsageError, match="这个作业中没有练习 'nope'"):
        InLanguage(graded_labs(), "zh").call("check", {"exercise": "nope"})
    with pytest.raises(UsageError, match="评分运行自行选择端口"):
        InLanguage(graded_labs(), "zh").start(one_way("beijing", "shanghai"), "one-way", 16650, True, False,
                                              lambda _line: None)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Sandboxes made without Docker: no network, and a control server that only keeps its handler."""
    servers: list[Any] = []

    class Server:
        def __init__(self, path: Path, token: str, handler: Any) -> None:
            self.handler = handler
            servers.append(self)

        def start(self) -> Server:
            return self

    monkeypatch.setattr(run, "create_sandbox_network", lambda docker, name, label: name)
    monkeypatch.setattr(run, "_mount_run_dir", lambda folder: None)
    monkeypatch.setattr(run, "ControlServer", Server)
    monkeypatch.setattr(Sandbox, "use", lambda self: run.SandboxUse((), 0))
    return servers


class NoDocker:
    docker = None


def test_a_sandbox_speaks_the_language_it_is_made_in(made: list[Any]) -> None:
    spec = LabSpec(one_way("beijing", "shanghai"), "one-way")
    with using("zh"):  # the grader grades each submission under using(its language)
        sandbox = Sandbox(spec, "t-", "image", NoDocker(), notebooks=("03_one_way",))  # type: ignore[arg-type]
    try:
        assert sandbox.lang == "zh"
        assert isinstance(made[0].handler, InLanguage) and made[0].handler.lang == "zh"
        assert made[0].handler.handler is sandbox.labs
    finally:
        shutil.rmtree(sandbox.workdir)
    forced = Sandbox(spec, "t-", "image", NoDocker(), lang="en")  # type: ignore[arg-type]
    shutil.rmtree(forced.workdir)
    assert forced.lang == "en"


def test_a_sandbox_refuses_a_language_of_no_course_before_it_makes_anything(made: list[Any]) -> None:
    with pytest.raises(GradingError, match="'fr'"):
        Sandbox(LabSpec(one_way("beijing", "shanghai"), "one-way"), "t-", "image", NoDocker(),  # type: ignore[arg-type]
                lang="fr")
    assert not made


def test_each_submission_gets_a_sandbox_in_its_own_language(made: list[Any], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The grader grades each submission under using(its language); its sandbox, kernel and channel follow."""
    import json

    from checks.engine import batch

    sandboxes: list[Sandbox] = []

    def run_nothing(self: Sandbox, notebook: Any, cell_timeout_s: int, deadline_s: int) -> run.SandboxOutcome:
        sandboxes.append(self)
        return run.SandboxOutcome("ok", "", 0, 0, 0.0)

    monkeypatch.setattr(Sandbox, "run", run_nothing)
    monkeypatch.setattr(Sandbox, "close", lambda self: shutil.rmtree(self.workdir))
    monkeypatch.setattr(batch, "_remove_prefixed", lambda backend, prefix: None)
    folder = tmp_path / "03_one_way"
    folder.mkdir()
    for learner, lang in (("ada", "zh"), ("bob", "fr"), ("cyd", None)):
        geolab = {"geolab": {"lang": lang}} if lang else {}
        notebook = {"cells": [], "metadata": geolab, "nbformat": 4, "nbformat_minor": 5}
        (folder / f"{learner}.ipynb").write_text(json.dumps(notebook))
    grader = batch.Grader(NoDocker(), "image")  # type: ignore[arg-type]
    for forced in (None, "zh"):
        for index, learner in enumerate(("ada", "bob", "cyd"), start=1):
            report = batch.grade_one(batch.Submission(learner, folder / f"{learner}.ipynb"), index,
                                     batch.GradeOptions(lang=forced), [], grader)
            assert report.extra["lang"] == sandboxes[-1].lang
    assert [s.lang for s in sandboxes] == ["zh", "en", "en", "zh", "zh", "zh"]
    assert [server.handler.lang for server in made] == ["zh", "en", "en", "zh", "zh", "zh"]
    assert language() == "en"


# ------------------------------------------------------------------------------ geolab grade and the CLI


def test_geolab_grade_lang_overrides_every_submissions_language(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from checks.cli import main as geolab
    from checks.engine import batch

    given: list[batch.GradeOptions] = []

    def grade(paths: Any, out: Any, options: batch.GradeOptions, progress: Any) -> list[Any]:
        given.append(options)
        return []

    monkeypatch.setattr(batch, "grade", grade)
    assert geolab(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--lang", "zh"]) == 0
    assert geolab(["grade", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert [options.lang for options in given] == ["zh", None]  # None: each notebook's own
    with pytest.raises(SystemExit) as refused:  # argparse: en or zh only
        geolab(["grade", str(tmp_path), "--lang", "fr"])
    assert refused.value.code == 2 and "'fr'" in capsys.readouterr().err


def test_the_graders_commands_speak_the_readers_language(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from checks.cli import main as geolab

    monkeypatch.setenv("GEOLAB_LANG", "zh")
    monkeypatch.setenv("COLUMNS", "300")  # no help text wrapped inside what is looked for
    assert geolab(["grade"]) == 2
    assert "没有给出提交" in capsys.readouterr().err
    assert geolab(["serve", "--warm", "full-mesh"]) == 2
    assert "--warm 'full-mesh' 无效" in capsys.readouterr().err
    for command, said in ((["--help"], "在各自的实验环境上为提交的 notebook 评分"),
                          (["grade", "--help"], "每份提交评分和反馈所用的语言"),
                          (["workshop", "up", "--help"], "学员的语言")):
        with pytest.raises(SystemExit):
            geolab(command)
        helped = capsys.readouterr().out
        assert said in helped, command
    assert "--lang {en,zh}" in helped


def test_the_class_table_translates_its_headings_not_the_class() -> None:
    from checks.cli import class_table

    view: dict[str, object] = {
        "exercises": [{"id": "01-basics/1"}, {"id": "01-basics/2"}],
        "learners": {"ada": {"exercises": {"01-basics/1": {"passed": True, "tries": 2}},
                             "labs": [{"name": "basics"}], "stuck": ["01-basics/2"]}},
        "pool": {"full-mesh": 1}, "warm": {}, "memory": {"committed_mib": 3300, "budget_mib": 14000}}
    with using("zh"):
        table = class_table(view)
    heading, row, summary = table.splitlines()
    assert heading.split() == ["学员", "已通过", "尝试次数", "实验环境", "卡在"]
    assert row.split() == ["ada", "1/2", "2", "basics", "01-basics/2"]
    assert summary == "预热池：full-mesh 1（目标 无）；内存：已用 3300 / 14000 MiB。"
    assert class_table(view).splitlines()[0].split()[:2] == ["learner", "passed"]


# ------------------------------------------------------------------------------ the workshop


def hub_settings(tmp_path: Path, **values: Any) -> Any:
    from checks.workshop.hub import HubSettings

    return HubSettings(str(tmp_path / "workshop"), "geolab/singleuser-self-paced:0", "learners-pw", ("teach",),
                       "i" * 40, "/usr/bin/chp", **values)


def test_the_hub_gives_every_learners_server_the_workshops_language(tmp_path: Path) -> None:
    from traitlets.config import Config

    from checks.workshop.hub import CLASS_VIEW, HubSettings, configure

    settings = hub_settings(tmp_path, lang="zh", environment={"TZ": "Asia/Shanghai"})
    path = settings.save()
    assert HubSettings.load(path).lang == "zh"
    config = Config()
    configure(config, str(path))
    assert config.DockerSpawner.environment == {"TZ": "Asia/Shanghai", "GEOLAB_LANG": "zh"}
    class_view = next(s for s in config.JupyterHub.services if s["name"] == CLASS_VIEW)
    assert class_view["environment"]["GEOLAB_LANG"] == "zh"
    assert hub_settings(tmp_path).server_environment == {"GEOLAB_LANG": "en"}


def test_a_workshop_in_no_language_of_the_course_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'fr'"):
        hub_settings(tmp_path, lang="fr")
    with using("zh"), pytest.raises(UsageError, match="工作坊的语言 'fr' 不是本课程的语言"):
        hub_settings(tmp_path, lang="fr")


def test_geolab_workshop_up_takes_the_learners_language() -> None:
    from checks.cli import add_grade
    from labs import cli

    assert cli.parser(add_grade).parse_args(["workshop", "up", "--lang", "zh"]).lang == "zh"
    assert cli.parser(add_grade).parse_args(["workshop", "up"]).lang is None  # then this shell's language


def test_the_workshops_refusals_reach_a_learner_in_their_language() -> None:
    from checks.workshop.labs import Quotas, validate_learner
    from labs.errors import QuotaError

    with using("zh"):
        with pytest.raises(UsageError, match="学员名 'Ada' 无效"):
            validate_learner("Ada")
        with pytest.raises(UsageError, match="工作坊配额 max_clusters=0 无效"):
            Quotas(max_clusters=0)
    with pytest.raises(UsageError, match="Learner name 'Ada' is invalid"):
        validate_learner("Ada")
    assert issubclass(QuotaError, Exception)


def test_the_class_view_page_is_in_the_workshops_language_with_english_keys() -> None:
    import json
    import re

    from checks.workshop.classview import page

    with using("zh"):
        html = page("/services/geolab-class/", "xsrf", "<teach>")
    assert '<html lang="zh-CN">' in html and "<title>Pulsar GeoLab：全班</title>" in html
    assert "已登录为 &lt;teach&gt;" in html  # the user's name is escaped
    assert '<option value="kill">强制终止</option>' in html and '<a class="lang" href="?lang=en">English</a>' in html
    texts = json.loads(re.search(r"T = (\{.*\});", html).group(1))  # type: ignore[union-attr]
    assert texts["learner"] == "学员" and texts["summary"][0].startswith("{count} 个学员")
    assert re.search(r"const prefix = \"/services/geolab-class/\", xsrf = \"xsrf\", lang = \"zh\"", html)
    english = page("/p/", "x", "teach")
    assert '<html lang="en">' in english and '<option value="kill">kill</option>' in english
    assert "{{" not in english and not re.search(r"[\u4e00-\u9fff]", english.replace("中文", ""))


@pytest.mark.parametrize("edition", ["self-paced", "graded"])
def test_the_learner_image_carries_a_whole_course_in_each_language(edition: str) -> None:
    import json

    from checks.workshop.image import _course
    from labs.course import course_notebooks

    course = dict(_course(edition))
    english = sorted(path.name for path in course_notebooks("en"))
    assert sorted(name for name in course if name.startswith("en/")) == [f"en/{name}" for name in english]
    assert sorted(name for name in course if name.startswith("zh/")) == [f"zh/{name}" for name in english]
    translated = {path.name for path in course_notebooks("zh")}
    for name in english:  # a lesson not translated yet is the English one
        lang = json.loads(course[f"zh/{name}"])["metadata"].get("geolab", {}).get("lang", "en")
        assert lang == ("zh" if name in translated else "en"), name
        assert json.loads(course[f"en/{name}"])["metadata"].get("geolab", {}).get("lang", "en") == "en"
    assert "00_welcome.ipynb" in translated


DOCKERFILE = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile.singleuser"


@pytest.mark.parametrize(("environment", "folders", "copied"), [
    ({"GEOLAB_LANG": "zh"}, ("en", "zh"), "zh"),
    ({"GEOLAB_LANG": "en"}, ("en", "zh"), "en"),
    ({"GEOLAB_LANG": "zh"}, ("en",), "en"),  # an image without Chinese notebooks
    ({"GEOLAB_LANG": "fr"}, ("en", "zh"), "en"),
    ({"LANG": "zh_CN.UTF-8"}, ("en", "zh"), "zh"),
    ({}, ("en", "zh"), "en"),
])
def test_a_new_learners_home_gets_the_notebooks_of_their_language(environment: dict[str, str],
                                                                   folders: tuple[str, ...], copied: str,
                                                                   tmp_path: Path) -> None:
    """The learner image's start command, run here with the course in a temporary folder."""
    import json
    import os
    import re
    import subprocess
    import sys

    command = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.M).group(1))  # type: ignore[union-attr]
    start = '; exec jupyterhub-singleuser $(python -m labs.jupyter --lang "$lang")'
    assert command[:2] == ["sh", "-c"] and command[2].endswith(start)
    course = tmp_path / "opt"
    for lang in folders:
        (course / lang).mkdir(parents=True)
        (course / lang / "00_welcome.ipynb").write_text(lang)
    home = tmp_path / "home"
    home.mkdir()
    script = command[2].replace("/opt/geolab-notebooks", str(course)).replace("exec jupyterhub-singleuser", "echo")
    path = f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"
    started = subprocess.run(["sh", "-c", script], env={"PATH": path, "HOME": str(home), **environment},
                             check=True, timeout=60, capture_output=True, text=True)
    assert (home / "00_welcome.ipynb").read_text() == copied
    assert sorted(p.name for p in home.iterdir() if p.name != ".cache") == ["00_welcome.ipynb"]
    # JupyterLab's own menus in the same language: its settings folder in the learner's cache, nothing else
    options = started.stdout.split()
    if copied == "zh":
        assert options == [f"--LabApp.app_settings_dir={home / '.cache' / 'geolab' / 'jupyterlab-settings' / 'zh'}"]
    else:
        assert options == [] and not (home / ".cache").exists()
