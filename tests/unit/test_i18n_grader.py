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
    assert "可信端没有动词" in str(chinese.value) and "`check`、`peek`、`reset`、`predict` 或 `drill`" in str(chinese.value)
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
    monkeypatch.setattr(run, "ControlServer", Server)
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
