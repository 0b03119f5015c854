"""`labs.incidents.scrape`: a scrape of `/metrics` the broker answers with a server error is tried again, as
Prometheus does at its next interval (lesson 07 failed in CI on one HTTP 500 from a busy broker); any other
refusal is raised at once. An HTTP stand-in plays the broker: no Pulsar behaviour is claimed here."""

from __future__ import annotations

import httpx
import pytest

from labs.admin import PulsarAdmin
from labs.errors import AdminRefused, WaitTimeout
from labs.i18n import using
from labs.incidents import replication_metrics, scrape

METRICS = (
    '# TYPE pulsar_replication_backlog gauge\n'
    'pulsar_replication_backlog{cluster="beijing",namespace="geolab/invoices",'
    'topic="persistent://geolab/invoices/invoices",remote_cluster="shanghai"} 10\n'
    'pulsar_replication_connected_count{cluster="beijing",namespace="geolab/invoices",'
    'topic="persistent://geolab/invoices/invoices",remote_cluster="shanghai"} 0\n'
)


class StandInLab:
    """What `scrape` uses of a lab: its name and one cluster's admin client (over the stand-in)."""

    def __init__(self, answers: list[httpx.Response]) -> None:
        self.name = "stuck"
        self.asked = 0

        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.path == "/metrics/"
            self.asked += 1
            return answers[min(self.asked, len(answers)) - 1]

        self._admin = PulsarAdmin("http://127.0.0.1:18080", cluster="beijing", transport=httpx.MockTransport(handler))

    def admin(self, cluster: str) -> PulsarAdmin:
        assert cluster == "beijing"
        return self._admin


def test_a_server_error_is_scraped_again_until_the_metrics_come() -> None:
    lab = StandInLab([httpx.Response(500, text="Server Error"), httpx.Response(503, text="busy"),
                      httpx.Response(200, text=METRICS)])
    metrics = replication_metrics(lab, "beijing", "geolab/invoices")  # type: ignore[arg-type]
    assert lab.asked == 3
    assert [(r.remote_cluster, r.connected, r.backlog) for r in metrics.replicators] == [("shanghai", 0, 10)]


def test_a_refusal_that_is_not_a_server_error_is_raised_at_once() -> None:
    lab = StandInLab([httpx.Response(401, json={"reason": "Unauthorized"}), httpx.Response(200, text=METRICS)])
    with pytest.raises(AdminRefused) as info:
        scrape(lab, "beijing")  # type: ignore[arg-type]
    assert (info.value.status, lab.asked) == (401, 1)


def test_a_broker_that_fails_every_scrape_is_a_timeout_that_names_it_and_its_log() -> None:
    lab = StandInLab([httpx.Response(500, text="Server Error")])
    with using("zh"), pytest.raises(WaitTimeout) as info:
        scrape(lab, "beijing", timeout_s=1.5)  # type: ignore[arg-type]
    said = str(info.value)
    assert lab.asked >= 2
    assert "beijing" in said and "docker logs geolab-stuck-beijing" in said and "HTTP 500" in said
    assert "/metrics" in said and "服务器错误" in said
