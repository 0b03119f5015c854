from __future__ import annotations

import json

import httpx
import pytest

from labs.admin import PulsarAdmin, topic_path
from labs.errors import AdminRefused, AdminUnreachable, UsageError


def admin_with(handler: httpx.MockTransport) -> PulsarAdmin:
    return PulsarAdmin("http://127.0.0.1:18080", cluster="beijing", transport=handler)


def test_error_carries_method_url_status_and_pulsar_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(412, json={"reason": "Clusters do not exist"})

    with pytest.raises(AdminRefused) as info:
        admin_with(httpx.MockTransport(handler)).create_tenant("geolab", ["tokyo"])
    error = info.value
    assert error.status == 412
    assert error.method == "PUT"
    assert error.url == "http://127.0.0.1:18080/admin/v2/tenants/geolab"
    assert error.reason == "Clusters do not exist"
    assert "registered on this cluster first" in str(error)


def test_connection_failure_names_the_cluster() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(AdminUnreachable) as info:
        admin_with(httpx.MockTransport(handler)).list_clusters()
    assert info.value.status == 0
    assert "'beijing'" in str(info.value)


def test_a_timeout_is_unreachable_not_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(AdminUnreachable):
        admin_with(httpx.MockTransport(handler)).list_tenants()


@pytest.mark.parametrize("status", [401, 403, 404, 409, 412, 500, 503])
def test_every_error_status_is_refused_with_pulsars_reason(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"reason": f"reason {status}"})

    with pytest.raises(AdminRefused) as info:
        admin_with(httpx.MockTransport(handler)).get_namespace_clusters("geolab/geo")
    assert (info.value.status, info.value.reason) == (status, f"reason {status}")


def test_non_json_error_body_is_kept_as_the_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="<html>HTTP ERROR 401 Unauthorized</html>")

    with pytest.raises(AdminRefused, match="HTTP ERROR 401"):
        admin_with(httpx.MockTransport(handler)).list_clusters()


def test_create_cluster_updates_when_it_exists() -> None:
    calls: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, json.loads(request.content)))
        if request.method == "PUT":
            return httpx.Response(409, json={"reason": "Cluster already exists"})
        return httpx.Response(204)

    created = admin_with(httpx.MockTransport(handler)).create_cluster(
        "shanghai", "http://shanghai:8080", "pulsar://shanghai:6650")
    assert created is False
    assert [c[0] for c in calls] == ["PUT", "POST"]
    assert calls[1][2] == {"serviceUrl": "http://shanghai:8080", "brokerServiceUrl": "pulsar://shanghai:6650"}


def test_topic_stats_parse_replication_section() -> None:
    body = {
        "msgInCounter": 7, "msgRateIn": 1.5, "msgRateOut": 0.0,
        "publishers": [{"producerName": "beijing-0-1"}],
        "subscriptions": {"billing": {"msgBacklog": 3, "isReplicated": True, "consumers": [{}]}},
        "replication": {"shanghai": {"connected": True, "replicationBacklog": 4, "msgRateOut": 2.0,
                                     "replicationDelayInSeconds": 0, "outboundConnection": "x"}},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/admin/v2/persistent/geolab/geo/orders/stats"
        return httpx.Response(200, json=body)

    stats = admin_with(httpx.MockTransport(handler)).get_topic_stats("persistent://geolab/geo/orders")
    assert stats.msg_in_counter == 7
    assert stats.publishers == ("beijing-0-1",)
    assert stats.subscriptions["billing"].backlog == 3
    assert stats.subscriptions["billing"].replicated is True
    link = stats.replication["shanghai"]
    assert link.connected and link.replication_backlog == 4 and link.msg_rate_out == 2.0


def test_topic_path_rejects_short_names() -> None:
    assert topic_path("persistent://geolab/geo/orders") == "persistent/geolab/geo/orders"
    with pytest.raises(UsageError, match="full topic name"):
        topic_path("orders")


def test_healthcheck_is_false_when_broker_does_not_answer_ok() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="not ready")

    assert admin_with(httpx.MockTransport(handler)).healthcheck() is False
