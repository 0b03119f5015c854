"""Every exercise of the course reads in Chinese: its title, statement, hint, stub, question and
choices, and its cases' names, with the code the learner types kept as it is; a case's key and a
choice's key stay English (records, gradebooks and predictions are keyed by them); a check run in
Chinese says what it expected and saw in Chinese, and in English exactly what it said before.
Headless: the checks below run against fakes of a lab (no Pulsar)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pulsar
import pytest

from checks.engine.model import Exercise, Prediction, Question
from checks.engine.probes import delivery
from checks.engine.runner import run_exercise
from checks.exercises import ALL, basics, failover, full_mesh
from labs.errors import AdminError
from labs.i18n import _, render, text_key, using
from tests.leaks import chinese

BACKTICKED = re.compile(r"`[^`]*`")
#: Identifiers outside backticks that stay English in every language: dotted names and paths
#: (``lab.namespace``, ``geolab/geo``), snake_case names (``replication_clusters``) and calls.
IDENTIFIER = re.compile(r"[A-Za-z_]\w+(?:[./]\w+)+(?:\(\S*?\))?|\b[A-Za-z]\w*_\w+(?:\(\S*?\))?")




def _param(exercise_id: str, exercise: Exercise) -> Any:
    return pytest.param(exercise, id=exercise_id)


#: Every exercise of every lesson (all of checks.exercises.ALL, whoever translates it).
EXERCISES = [_param(exercise_id, exercise) for exercise_id, exercise in ALL.items()]


def texts(exercise: Exercise) -> dict[str, str]:
    """Every text of an exercise shown to the reader (N_-marked English, or a Text's key), by part."""
    found = {"title": exercise.title, "statement": exercise.statement, "hint": exercise.hint,
             "stub": text_key(exercise.stub)}
    if exercise.question is not None:
        found["prompt"] = exercise.question.prompt
        found |= {f"choice {i}": choice for i, choice in enumerate(exercise.question.choices)}
    return found


def _rendered(exercise: Exercise, part: str) -> str:
    if part == "stub":
        return render(exercise.stub)
    return _(texts(exercise)[part])


def code_of_stub(stub: str) -> list[str]:
    """A stub's code: each line without its comment (the comment is what is translated)."""
    return [line.split("#", 1)[0].rstrip() for line in stub.splitlines()]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_text_of_an_exercise_reads_in_chinese(exercise: Exercise) -> None:
    for part, english in texts(exercise).items():
        with using("zh"):
            shown = _rendered(exercise, part)
        assert shown != english and chinese(shown), f"{exercise.exercise_id} {part} is not translated: {english!r}"
        with using("en"):
            assert _rendered(exercise, part) == english, f"{exercise.exercise_id} {part} reads differently in English"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_code_in_an_exercises_texts_stays_as_the_learner_types_it(exercise: Exercise) -> None:
    for part, english in texts(exercise).items():
        with using("zh"):
            shown = _rendered(exercise, part)
        where = f"{exercise.exercise_id} {part}: {shown!r}"
        assert Counter(BACKTICKED.findall(shown)) == Counter(BACKTICKED.findall(english)), where
        assert (Counter(IDENTIFIER.findall(BACKTICKED.sub(" ", shown)))
                == Counter(IDENTIFIER.findall(BACKTICKED.sub(" ", english)))), where
        if part == "stub":
            assert code_of_stub(shown) == code_of_stub(english), where
            assert shown.endswith("\n") == english.endswith("\n") and shown.count("\n") == english.count("\n"), where


@pytest.mark.parametrize("exercise", EXERCISES)
def test_a_case_is_shown_in_chinese_and_keyed_in_english(exercise: Exercise) -> None:
    for case in exercise.cases:
        with using("en"):
            english = case.label()
        with using("zh"):
            label, key = case.label(), case.key
        assert key == english and not chinese(key), f"{exercise.exercise_id}: the key of {english!r} changed"
        assert label != key and chinese(label), f"{exercise.exercise_id}: the case {key!r} is not translated"
    assert len({case.key for case in exercise.cases}) == len(exercise.cases)


@pytest.mark.parametrize("exercise", [p for p in EXERCISES if p.values[0].question is not None])
def test_a_choice_copied_in_chinese_is_its_english_key(exercise: Exercise) -> None:
    question = exercise.question
    assert question is not None
    with using("zh"):
        shown = question.shown_choices()
        assert len(set(shown)) == len(shown), f"{exercise.exercise_id}: two choices read the same: {shown}"
        for choice, copied in zip(question.choices, shown, strict=True):
            assert question.key_of(copied) == choice
            assert question.key_of(f"  {copied} ") == choice  # copied with the spaces around it
    with using("en"):
        assert [question.key_of(choice) for choice in question.choices] == list(question.choices)


# --- checks run in Chinese, against fakes of a lab -------------------------------------------------


class Refusing:
    """A Pulsar client whose every call is refused."""

    def subscribe(self, *_args: Any, **_kwargs: Any) -> Any:
        raise pulsar.ConnectError("Connection refused")

    create_producer = subscribe


class Admin:
    """An admin that knows no cluster and no namespace, and lists what it is given."""

    def __init__(self, namespaces: list[str] | None = None) -> None:
        self.namespaces = namespaces or []

    def get_cluster(self, name: str) -> Any:
        raise AdminError("GET", f"http://beijing:8080/admin/v2/clusters/{name}", 404, "Cluster does not exist")

    def get_namespace_clusters(self, namespace: str) -> Any:
        raise AdminError("GET", f"http://beijing:8080/admin/v2/namespaces/{namespace}/replication", 404,
                         "Namespace does not exist")

    def list_namespaces(self, _tenant: str) -> list[str]:
        return self.namespaces

    def create_tenant(self, tenant: str, _clusters: list[str]) -> None:
        raise AdminError("PUT", f"http://beijing:8080/admin/v2/tenants/{tenant}", 412,
                         "Clusters do not exist")


class Lab:
    name = "i18n-fake"
    namespace = "geolab/geo"
    clusters = ("beijing", "shanghai", "guangzhou")
    backend = None

    def __init__(self, admin: Admin | None = None) -> None:
        self._admin = admin or Admin()

    def admin(self, _cluster: str) -> Admin:
        return self._admin

    def client(self, _cluster: str) -> Refusing:
        return Refusing()


def test_a_probe_that_cannot_produce_says_so_in_chinese_and_in_the_english_it_always_said() -> None:
    with using("zh"):
        outcome = delivery(Lab(), "beijing", "shanghai", "geolab/geo")  # type: ignore[arg-type]
    assert not outcome.passed
    assert outcome.expected == "在 beijing 的 geolab/geo 上生产的消息在 30 秒内到达 shanghai"
    assert outcome.actual == "生产消息或订阅失败：ConnectError: Connection refused"
    with using("en"):
        outcome = delivery(Lab(), "beijing", "shanghai", "geolab/geo")  # type: ignore[arg-type]
    assert outcome.expected == "a message produced in beijing on geolab/geo arrives in shanghai within 30 s"
    assert outcome.actual == "producing or subscribing failed: ConnectError: Connection refused"


def test_an_exercise_checked_in_chinese_reports_in_chinese_and_keeps_its_keys() -> None:
    exercise = ALL["01-basics/1"]
    with using("zh"):
        result = run_exercise(exercise, Lab(), marks=False)  # type: ignore[arg-type]
    assert chinese(result.title) and chinese(result.hint) and not result.passed
    first = result.cases[0]
    assert (first.name, first.label) == ("beijing knows shanghai", "beijing 已注册 shanghai")
    assert first.expected == ("集群 shanghai 已在 beijing 中注册，地址为 http://shanghai:8080 和 "
                              "pulsar://shanghai:6650")
    assert first.actual == "beijing 中没有注册 shanghai（HTTP 404）"
    with using("en"):
        english = run_exercise(exercise, Lab(), marks=False).cases[0]  # type: ignore[arg-type]
    assert (english.name, english.label) == ("beijing knows shanghai", "beijing knows shanghai")
    assert english.expected == ("cluster shanghai registered in beijing as http://shanghai:8080 and "
                                "pulsar://shanghai:6650")
    assert english.actual == "beijing does not know shanghai (HTTP 404)"


def test_outcomes_that_name_nothing_found_read_in_chinese() -> None:
    lab = Lab()
    with using("zh"):
        listed = full_mesh.payments_everywhere(lab)  # type: ignore[arg-type]
        replicated = full_mesh.payments_replicated(lab)  # type: ignore[arg-type]
        no_drill = failover.nothing_lost(lab)  # type: ignore[arg-type]
        both = basics.namespace_both_ways("shanghai").check(lab)
    assert listed.actual == "没有集群列出它" and listed.expected == "每个集群都列出命名空间 geolab/payments"
    assert replicated.actual == "没有命名空间 geolab/payments（HTTP 404）"
    assert no_drill.actual.startswith("这个实验环境上还没有运行过故障转移演练")
    assert "lab.failover_drill(...)" in no_drill.actual
    assert both.expected == "shanghai 上的命名空间 geolab/geo 复制到 ['beijing', 'shanghai']"
    with using("en"):
        assert full_mesh.payments_everywhere(lab).actual == "listed by none"  # type: ignore[arg-type]
        assert failover.nothing_lost(lab).actual == (  # type: ignore[arg-type]
            "no failover drill ran on this lab: start it with lab.failover_drill(...) and run its traffic first")


def test_a_prediction_graded_in_chinese_says_why_the_clusters_could_not_show_it() -> None:
    """01-basics/3's experiment cannot be set up on clusters that do not know each other: the
    question's case fails, saying so in Chinese with Pulsar's own reason."""
    question: Question | None = ALL["01-basics/3"].question
    assert question is not None
    case = question.case()
    prediction = Prediction("01-basics/3", basics.BOTH_WAYS, 0.0)
    with using("zh"):
        outcome = case.check(Lab(), prediction)
    assert not outcome.passed
    assert outcome.expected == "你的预测（'双向复制：一方列出另一方就够了'）与集群的实际行为一致"
    assert outcome.actual == ("集群无法展示结果：无法搭建实验（Clusters do not exist）；请先注册对端集群"
                              "（01-basics/1）")
