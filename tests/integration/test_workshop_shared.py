"""A workshop on shared clusters (authentication on): each learner's token stops at their tenant.

The lab server starts two clusters the class shares (`geolab serve --shared beijing,shanghai`). Ada
and Bob each get a tenant and a token through their control channel, as their kernels would. The
isolation matrix uses Bob's token, as Bob's kernel holds it, against Ada's tenant, the grading
tenant and the clusters themselves; what a tenant admin may still do (hand the tenant to a
classmate) is put back by the lab server.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pulsar
import pytest

import docker
from checks.editions import with_solutions
from checks.engine.model import LabSpec
from checks.engine.runner import GRADING_NAMESPACE, GRADING_TENANT
from checks.exercises import LABS
from checks.workshop.labs import Quotas
from checks.workshop.server import LabServer
from checks.workshop.simulate import run_notebook_as_learner
from labs.admin import PulsarAdmin
from labs.backend import LabRecord
from labs.control import ChannelClient, record_from_wire
from labs.errors import AdminRefused, UsageError

COURSE = Path(__file__).resolve().parents[2] / "notebooks"
PREFIX = "it-"
ADA, BOB = "it-ada", "it-bob"
DENIED = (401, 403)


@pytest.fixture(scope="module")
def server(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    os.environ["GEOLAB_LAB_PREFIX"] = PREFIX
    lab_server = LabServer(tmp_path_factory.mktemp("shared"), Quotas(memory_mib=4 * 1100), None, engine, print,
                           shared=("beijing", "shanghai"))
    try:
        lab_server.start()
        yield lab_server
    finally:
        lab_server.stop()
        os.environ.pop("GEOLAB_LAB_PREFIX", None)


class Channel(ChannelClient):
    """A learner's control channel, asked from this host (a kernel's `ControlBackend` would also forward
    the brokers' advertised ports, which on this host are the published ports themselves)."""

    def start(self, spec: LabSpec) -> LabRecord:
        body = {"topology": spec.topology.to_json(), "name": spec.name, "base_port": None,
                "configure": spec.configure, "probe": True}
        return record_from_wire(self._call("POST", "/v1/labs", body))[0]

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        self._call("POST", f"/v1/labs/{record.name}/clusters/{cluster}/kill")


def channel(server: LabServer, learner: str) -> tuple[Channel, dict[str, str]]:
    answer = server.add_learner(learner)
    return Channel(f"{answer['folder']}/control.sock", answer["token"]), answer


@pytest.fixture(scope="module")
def labs(server: LabServer) -> Iterator[dict[str, LabRecord]]:
    """Ada's and Bob's failover lessons, started through their channels; the records their kernels see."""
    records: dict[str, LabRecord] = {}
    spec = LABS["04_failover"]
    for learner in (ADA, BOB):
        backend, _ = channel(server, learner)
        records[learner] = backend.start(spec)
        backend.close()
    yield records


def admin_as(record: LabRecord, cluster: str = "beijing") -> PulsarAdmin:
    """The learner's token, on the host port of the shared cluster (their kernel reaches the same broker)."""
    return PulsarAdmin(f"http://127.0.0.1:{host_port(record, cluster)}", cluster, token=record.endpoints[cluster].token)


SERVER: dict[str, LabServer] = {}


def host_port(record: LabRecord, cluster: str) -> int:
    shared = SERVER["server"].workshop.shared
    assert shared is not None
    return int(shared.lab.record.endpoints[cluster].admin_url.rsplit(":", 1)[1])


def service_as(record: LabRecord, cluster: str = "beijing") -> pulsar.Client:
    shared = SERVER["server"].workshop.shared
    assert shared is not None
    return pulsar.Client(shared.lab.record.endpoints[cluster].service_url, operation_timeout_seconds=10,
                         authentication=pulsar.AuthenticationToken(record.endpoints[cluster].token))


@pytest.fixture(scope="module", autouse=True)
def remember(server: LabServer) -> None:
    SERVER["server"] = server


def test_each_learner_gets_their_own_tenant_and_token(labs: dict[str, LabRecord]) -> None:
    ada, bob = labs[ADA], labs[BOB]
    assert ada.topology.tenant == "learner-it-ada" and bob.topology.tenant == "learner-it-bob"
    assert ada.endpoints["beijing"].token and ada.endpoints["beijing"].token != bob.endpoints["beijing"].token
    with admin_as(ada) as admin:
        assert admin.get_namespace_clusters(ada.topology.qualified_namespace) == ["beijing", "shanghai"]


def across(beijing: pulsar.Client, shanghai: pulsar.Client, topic: str, payload: bytes) -> bytes:
    """Send `payload` in beijing; what shanghai's new subscription receives (the clients are closed)."""
    try:
        consumer = shanghai.subscribe(topic, "audit", initial_position=pulsar.InitialPosition.Earliest)
        beijing.create_producer(topic).send(payload)
        return bytes(consumer.receive(timeout_millis=30_000).data())
    finally:
        beijing.close()
        shanghai.close()


def test_a_learners_messages_replicate_in_their_tenant(labs: dict[str, LabRecord]) -> None:
    ada = labs[ADA]
    topic = f"persistent://{ada.topology.qualified_namespace}/orders"
    assert across(service_as(ada, "beijing"), service_as(ada, "shanghai"), topic, b"ada's order") == b"ada's order"


def test_another_learners_token_cannot_read_produce_consume_or_administer(labs: dict[str, LabRecord]) -> None:
    ada, bob = labs[ADA], labs[BOB]
    namespace = ada.topology.qualified_namespace
    topic = f"persistent://{namespace}/orders"
    with admin_as(bob) as admin:
        for attempt in (lambda: admin.list_namespaces(ada.topology.tenant),
                        lambda: admin.get_namespace_clusters(namespace),
                        lambda: admin.set_namespace_clusters(namespace, ["beijing"]),
                        lambda: admin.get_topic_stats(topic),
                        lambda: admin.delete_namespace(namespace, force=True)):
            with pytest.raises(AdminRefused) as refused:
                attempt()
            assert refused.value.status in DENIED
    client = service_as(bob)
    try:
        with pytest.raises(pulsar.PulsarException, match="AuthorizationError"):
            client.create_producer(topic)
        with pytest.raises(pulsar.PulsarException, match="AuthorizationError"):
            client.subscribe(topic, "bob-reads-ada")
    finally:
        client.close()


def test_a_learners_token_has_no_power_over_the_clusters_or_the_grading_records(labs: dict[str, LabRecord]) -> None:
    bob = labs[BOB]
    with admin_as(bob) as admin:
        for attempt in (lambda: admin.list_tenants(),
                        lambda: admin.create_tenant("bobs-own", ["beijing"]),
                        lambda: admin.create_cluster("rogue", "http://rogue:8080", "pulsar://rogue:6650"),
                        lambda: admin.delete_cluster("shanghai"),
                        lambda: admin.create_namespace(GRADING_NAMESPACE, ["beijing"]),
                        lambda: admin.get_tenant(GRADING_TENANT),
                        lambda: admin.unload_namespace(bob.topology.qualified_namespace)):
            with pytest.raises(AdminRefused) as refused:
                attempt()
            assert refused.value.status in DENIED + (404,)


def test_metrics_need_a_token_and_name_no_topic(labs: dict[str, LabRecord], server: LabServer) -> None:
    url = f"http://127.0.0.1:{host_port(labs[BOB], 'beijing')}/metrics/"
    assert httpx.get(url, timeout=10).status_code == 401
    text = httpx.get(url, headers={"Authorization": f"Bearer {labs[BOB].endpoints['beijing'].token}"},
                     timeout=10).text
    assert "pulsar_" in text and "/orders" not in text  # Ada's topic above


def test_a_tenant_handed_to_a_classmate_is_taken_back(labs: dict[str, LabRecord], server: LabServer) -> None:
    ada, bob = labs[ADA], labs[BOB]
    tenant = ada.topology.tenant
    with admin_as(ada) as admin:
        admin.update_tenant(tenant, ["beijing", "shanghai"], [tenant, bob.topology.tenant])
    fixed = server.workshop.undo_drift(every_s=0)
    assert any("learner-it-bob" in line for line in fixed)
    with admin_as(bob) as admin, pytest.raises(AdminRefused):
        admin.get_namespace_clusters(ada.topology.qualified_namespace)
    assert server.workshop.class_view()["shared"]["put_back"]  # type: ignore[index]


def test_a_learners_kill_waits_for_the_instructors_class_wide_event(labs: dict[str, LabRecord],
                                                                   server: LabServer) -> None:
    backend, _ = channel(server, BOB)
    shop = server.workshop
    finished: list[object] = []
    try:
        waiter = threading.Thread(target=lambda: finished.append(backend.kill_cluster(labs[BOB], "shanghai")))
        waiter.start()
        for _ in range(100):  # Bob's cell is waiting: the class view says so
            if shop.class_view()["shared"]["waiting"].get("kill shanghai"):  # type: ignore[index]
                break
            waiter.join(timeout=0.1)
        assert shop.class_view()["shared"]["waiting"] == {"kill shanghai": [BOB]}  # type: ignore[index]
        assert not finished and waiter.is_alive()
        shared = shop.shared
        assert shared is not None and shared.lab.backend.cluster_state(shared.lab.record, "shanghai") == "running"
        outcome = shop.event("kill", ("shanghai",), print)  # the instructor
        assert set(outcome.values()) == {"ok"} and set(outcome) == {ADA, BOB}
        waiter.join(timeout=30)
        assert finished == [None] and not waiter.is_alive()
        assert shared.lab.backend.cluster_state(shared.lab.record, "shanghai") != "running"
        backend.kill_cluster(labs[BOB], "shanghai")  # it happened already: returns at once
        assert shop.event("start", ("shanghai",), print) == {ADA: "ok", BOB: "ok"}
        assert shared.lab.backend.cluster_state(shared.lab.record, "shanghai") == "running"
        assert shop.class_view()["shared"]["waiting"] == {}  # type: ignore[index]
    finally:
        backend.close()


def test_a_lesson_that_needs_superuser_power_is_private_only(server: LabServer) -> None:
    backend, _ = channel(server, BOB)
    try:
        with pytest.raises(UsageError, match="private lab only: its learner registers the clusters"):
            backend.start(LABS["01_replication_basics"])
        with pytest.raises(UsageError, match="private lab only: it needs cluster"):
            backend.start(LABS["03_one_way"])
    finally:
        backend.close()


def test_a_learner_runs_a_lesson_on_the_shared_clusters(server: LabServer, engine: docker.DockerClient,
                                                        labs: dict[str, LabRecord]) -> None:
    answer = server.add_learner(ADA)
    notebook = with_solutions(nbformat.read(COURSE / "00_welcome.ipynb", as_version=4))
    run = run_notebook_as_learner(engine, ADA, Path(answer["folder"]), answer["network"], answer["token"], notebook)
    assert run.passed, f"{run.status} {run.errors}\n{run.log_tail}"
    standing = server.workshop.class_view()["learners"][ADA]["exercises"]["00-welcome/1"]  # type: ignore[index]
    assert standing["passed"] is True


def test_clusters_deployed_elsewhere_are_named_in_a_file(server: LabServer, engine: docker.DockerClient,
                                                         tmp_path: Path, labs: dict[str, LabRecord]) -> None:
    """A second lab server takes this module's clusters as a platform's: by URL and token key only."""
    shared = server.workshop.shared
    assert shared is not None
    (tmp_path / "token.key").write_bytes(shared.auth.secret_key)
    clusters = {c: {"service_url": e.service_url, "admin_url": e.admin_url}
                for c, e in shared.lab.record.endpoints.items()}
    (tmp_path / "clusters.json").write_text(json.dumps({"clusters": clusters,
                                                        "token_key_file": str(tmp_path / "token.key")}))
    elsewhere = LabServer(tmp_path / "state", Quotas(memory_mib=1100), None, engine, print,
                          shared_file=tmp_path / "clusters.json").start()
    try:
        containers = {c.name for c in engine.containers.list()}
        backend, _ = channel(elsewhere, "it-cyd")
        record = backend.start(LABS["04_failover"])
        assert {c: e.service_url for c, e in record.endpoints.items()} == {c: u["service_url"]
                                                                           for c, u in clusters.items()}
        assert record.topology.tenant == "learner-it-cyd" and record.endpoints["beijing"].token
        topic = f"persistent://{record.topology.qualified_namespace}/orders"
        beijing, shanghai = (pulsar.Client(record.endpoints[c].service_url, operation_timeout_seconds=10,
                                           authentication=pulsar.AuthenticationToken(record.endpoints[c].token))
                             for c in ("beijing", "shanghai"))
        assert across(beijing, shanghai, topic, b"from elsewhere") == b"from elsewhere"
        with pytest.raises(UsageError, match="deployed elsewhere"):
            backend.kill_cluster(record, "beijing")
        with admin_as(labs[ADA]) as admin, pytest.raises(AdminRefused):  # a learner of the other server
            admin.get_namespace_clusters(record.topology.qualified_namespace)
        backend.close()
        assert {c.name for c in engine.containers.list()} == containers  # it started no container
    finally:
        elsewhere.stop()
    assert shared.lab.backend.cluster_state(shared.lab.record, "beijing") == "running"  # and stopped none
