"""The lab runtime's own messages in Chinese: the Pulsar admin client's errors, waits, the Docker engine's
failures, the control channel, the notebook outputs and the `geolab` command line. Each test reads a
message in Chinese (`using("zh")`) and checks that its values (names, numbers, code) are still there
and in English where they are identities; the English tests of each module keep the English path."""

from __future__ import annotations

import re

import httpx
import pytest
import requests
from docker.errors import APIError

from labs.admin import PulsarAdmin, topic_path
from labs.engine import LAB_START, EngineStep, engine_calls
from labs.errors import AdminRefused, AdminUnreachable, EngineError, ProvisioningError, UsageError, WaitTimeout
from labs.i18n import Text, using
from labs.waiting import wait_for

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def chinese(text: str) -> bool:
    return CHINESE.search(text) is not None


def admin_answering(status: int | None) -> PulsarAdmin:
    def handler(request: httpx.Request) -> httpx.Response:
        if status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status, json={"reason": "Clusters do not exist"})

    return PulsarAdmin("http://127.0.0.1:18080", cluster="beijing", transport=httpx.MockTransport(handler))


# ------------------------------------------------------------------------------ the admin client


def test_a_refused_admin_call_is_said_in_chinese_with_pulsars_own_reason() -> None:
    with using("zh"), pytest.raises(AdminRefused) as info:
        admin_answering(412).create_tenant("geolab", ["tokyo"])
    said = str(info.value)
    assert said.startswith("Pulsar 管理接口调用 PUT http://127.0.0.1:18080/admin/v2/tenants/geolab 失败：HTTP 412")
    assert "Clusters do not exist" in said and "允许的集群必须先在这个集群上注册" in said


def test_an_unreachable_broker_is_said_in_chinese_and_names_its_cluster() -> None:
    with using("zh"), pytest.raises(AdminUnreachable) as info:
        admin_answering(None).list_clusters()
    said = str(info.value)
    assert "没有响应" in said and "集群 'beijing' 的 broker" in said and "`geolab status`" in said
    with pytest.raises(AdminUnreachable) as english:
        admin_answering(None).list_clusters()
    assert "no response" in str(english.value) and "broker of cluster 'beijing'" in str(english.value)


def test_a_bad_topic_name_is_said_in_chinese() -> None:
    with using("zh"), pytest.raises(UsageError) as info:
        topic_path("orders")
    assert chinese(str(info.value)) and "'orders'" in str(info.value) and "lab.topic('orders')" in str(info.value)


# ------------------------------------------------------------------------------ waits


def test_a_wait_says_in_one_sentence_what_did_not_happen_in_the_readers_language() -> None:
    what = Text("Cluster {cluster!r} did not answer its health check with ok.", cluster="beijing")
    with using("zh"), pytest.raises(WaitTimeout) as info:
        wait_for(lambda: "HTTP 503", what=what, timeout_s=0.1, interval_s=0.05, accept=lambda v: v == "ok",
                 hint="下一步。")
    said = str(info.value)
    assert "已等待 0.1 秒" in said and "'HTTP 503'" in said and said.endswith("下一步。")
    with pytest.raises(WaitTimeout) as english:
        wait_for(lambda: "HTTP 503", what=what, timeout_s=0.1, interval_s=0.05, accept=lambda v: v == "ok")
    assert str(english.value) == ("Cluster 'beijing' did not answer its health check with ok. Waited 0.1 s; last seen: "
                                  "'HTTP 503'.")
    assert english.value.what == what and english.value.last == "HTTP 503"


def test_an_older_callers_phrase_still_reads_as_an_english_sentence() -> None:
    with using("zh"), pytest.raises(WaitTimeout) as info:
        wait_for(lambda: False, what="beijing's health check", timeout_s=0.05, interval_s=0.05)
    assert str(info.value) == "Waited 0.05 s for beijing's health check; last seen: False"


# ------------------------------------------------------------------------------ the Docker engine


def test_an_engine_refusal_in_a_step_is_one_chinese_sentence_with_the_engines_explanation() -> None:
    with using("zh"), pytest.raises(ProvisioningError) as info, engine_calls(LAB_START, name="basics"):
        raise APIError("409 Client Error", explanation="network geolab-basics already exists")
    said = str(info.value)
    assert said.startswith("Docker 引擎拒绝启动实验环境 'basics'：network geolab-basics already exists")
    assert "`geolab down basics`" in said


def test_an_engine_that_stops_answering_in_a_step_is_said_in_chinese_with_its_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/docker-test.sock")
    with using("zh"), pytest.raises(EngineError) as info, engine_calls(LAB_START, name="basics"):
        raise requests.ConnectionError("Connection aborted")
    said = str(info.value)
    assert "unix:///tmp/docker-test.sock" in said and "停止了响应" in said
    assert "ConnectionError: Connection aborted" in said
    with pytest.raises(EngineError) as english, engine_calls(LAB_START, name="basics"):
        raise requests.ConnectionError("Connection aborted")
    assert str(english.value).startswith("The Docker engine at unix:///tmp/docker-test.sock stopped answering while "
                                         "starting lab 'basics' (ConnectionError: Connection aborted)")


def test_an_older_callers_engine_phrase_keeps_its_english_sentences() -> None:
    with pytest.raises(ProvisioningError, match="refused to start lab 'x': gone. Run it again."):
        with engine_calls("start lab 'x'", "Run it again."):
            raise APIError("500", explanation="gone")
    step = EngineStep("Refused: {error} ({thing}).", "Stopped at {address}: {error} ({thing}).")
    with pytest.raises(ProvisioningError, match=r"^Refused: gone \(box\)\.$"), engine_calls(step, thing="box"):
        raise APIError("500", explanation="gone")
