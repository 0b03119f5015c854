"""Work handed to another thread speaks the language of the one that handed it over.

A thread starts with a context of its own, so `using("zh")` does not reach a thread pool's workers or a
new thread by itself: a Chinese learner of a hosted workshop (whose kernel's requests the lab server
answers inside `using("zh")`) would read "[beijing] starting Pulsar ..." in the lab server's English.
`labs.i18n.in_this_language` carries the language over; these tests show it does, in a pool (submit
and map, several workers at once), in a thread, in a lab's parallel start and in a class-wide event.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from labs import docker_backend
from labs.cluster import HostPorts
from labs.docker_backend import DockerBackend
from labs.errors import LabNotFoundError
from labs.i18n import _, in_this_language, language, using
from labs.settings import LabSettings
from labs.topology import full_mesh
from tests.leaks import chinese
from tests.unit.test_workshop import start, started, workshop  # noqa: F401 (started: the fixture)


def starting_line(cluster: str) -> str:
    """A lab start's progress line, said in whichever language this thread speaks."""
    return _("[{cluster}] starting Pulsar {image} on {address} ...").format(
        cluster=cluster, image="apachepulsar/pulsar:4.0.8", address="127.0.0.1:16650")


def test_a_pool_workers_progress_line_is_in_the_callers_language() -> None:
    with using("zh"), ThreadPoolExecutor(max_workers=1) as pool:
        carried = pool.submit(in_this_language(starting_line), "beijing").result()
        lost = pool.submit(starting_line, "beijing").result()
    assert carried == "[beijing] 正在 127.0.0.1:16650 上启动 Pulsar apachepulsar/pulsar:4.0.8 ..."
    assert lost == "[beijing] starting Pulsar apachepulsar/pulsar:4.0.8 on 127.0.0.1:16650 ..."  # what it fixes


def test_many_workers_at_once_each_speak_the_callers_language() -> None:
    clusters = ["beijing", "shanghai", "guangzhou", "chengdu"]
    together = threading.Barrier(len(clusters))

    def line(cluster: str) -> tuple[str, str]:
        together.wait(timeout=10)  # every worker inside the wrapped call at the same time
        return language(), starting_line(cluster)

    with using("zh"), ThreadPoolExecutor(max_workers=len(clusters)) as pool:
        said = list(pool.map(in_this_language(line), clusters))
    assert [lang for lang, _line in said] == ["zh"] * len(clusters)
    assert all(chinese(text) and text.startswith(f"[{cluster}] ") for (_lang, text), cluster in
               zip(said, clusters, strict=True))


def test_a_new_thread_speaks_the_language_it_was_started_in_and_the_worker_keeps_its_own_after() -> None:
    heard: list[str] = []
    with using("zh"):
        runner = threading.Thread(target=in_this_language(lambda: heard.append(starting_line("beijing"))))
    runner.start()  # started outside the block: the language was taken when the work was wrapped
    runner.join(timeout=10)
    assert heard == ["[beijing] 正在 127.0.0.1:16650 上启动 Pulsar apachepulsar/pulsar:4.0.8 ..."]
    with ThreadPoolExecutor(max_workers=1) as pool:
        with using("zh"):
            pool.submit(in_this_language(starting_line), "beijing").result()
        assert pool.submit(language).result() == "en"  # the worker is not left speaking Chinese


def test_with_no_language_chosen_a_worker_follows_geolab_lang_as_the_caller_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLAB_LANG", "zh")
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert chinese(pool.submit(in_this_language(starting_line), "beijing").result())
    monkeypatch.setenv("GEOLAB_LANG", "en")
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(in_this_language(starting_line), "beijing").result().startswith("[beijing] starting")


# ------------------------------------------------------------------------------ where the lab uses threads


class FakePulsarContainer:
    """What a lab's start touches of a Testcontainers `PulsarContainer` (nothing runs)."""

    def __init__(self, image: str, cluster: str) -> None:
        self.cluster = cluster

    def with_host_ports(self, ports: HostPorts) -> FakePulsarContainer:
        return self

    def with_memory(self, memory: str, gc: str) -> FakePulsarContainer:
        return self

    def with_name(self, name: str) -> FakePulsarContainer:
        return self

    def with_kwargs(self, **kwargs: Any) -> FakePulsarContainer:
        return self

    def start(self) -> FakePulsarContainer:
        return self

    def get_wrapped_container(self) -> SimpleNamespace:
        return SimpleNamespace(name=f"geolab-basics-{self.cluster}")

    def get_admin_url(self) -> str:
        return "http://127.0.0.1:18080"


class FakeEngine:
    """A Docker client as far as a lab's start uses it once its containers are fakes."""

    api = SimpleNamespace(api_version="1.43")

    def __init__(self) -> None:
        self.networks = SimpleNamespace(get=lambda name: SimpleNamespace(connect=lambda container, aliases: None))


def test_a_labs_parallel_start_reports_its_clusters_in_the_kernels_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_backend, "PulsarContainer", FakePulsarContainer)
    monkeypatch.setattr(docker_backend, "create_network", lambda client, network, lab, **options: None)
    monkeypatch.setattr(docker_backend, "wait_healthy", lambda *args, **kwargs: 12.5)
    backend = DockerBackend(LabSettings(), client=FakeEngine())  # type: ignore[arg-type]
    topology = full_mesh("beijing", "shanghai", config_store="independent")
    ports = {"beijing": HostPorts(16650, 18080), "shanghai": HostPorts(16651, 18081)}
    lines: list[str] = []
    with using("zh"):
        record = backend._provision("basics", topology, "apachepulsar/pulsar:4.0.8", ports, lines.append)
    assert sorted(record.endpoints) == ["beijing", "shanghai"]
    assert sorted(lines) == ["[beijing] 12.5 秒后健康",
                             "[beijing] 正在 127.0.0.1:16650 上启动 Pulsar apachepulsar/pulsar:4.0.8 ...",
                             "[shanghai] 12.5 秒后健康",
                             "[shanghai] 正在 127.0.0.1:16651 上启动 Pulsar apachepulsar/pulsar:4.0.8 ..."]


@pytest.mark.usefixtures("started")
def test_a_class_wide_events_outcome_is_in_the_callers_language() -> None:
    shop, _clock, _backend = workshop()
    start(shop, "ada", "04_failover")
    start(shop, "bob", "04_failover")

    def gone(cluster: str) -> None:
        raise LabNotFoundError(_("Cluster {cluster!r} is not in this lab; expected one of {clusters}.").format(
            cluster=cluster, clusters=["shanghai"]))

    for held in shop.labs.values():
        held.lab.kill = gone  # type: ignore[method-assign]
    with using("zh"):
        outcome = shop.event("kill", ("beijing",), lambda _line: None)
    said = "集群 'beijing' 不在这个实验环境中；应为 ['shanghai'] 之一。"
    assert outcome == {"ada": said, "bob": said}
