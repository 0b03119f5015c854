"""The live views in the Chinese edition, headless and without clusters: a dashboard built on fakes of
a lab, its clients and its admin API shows Chinese labels, states, counts, trace reasons and fault
statuses, keeps its keys (link states, trace reasons' keys, button names) in English, renders in the
language it was built in from any thread, and leaves no English sentence in any widget."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import pytest
import traitlets

from labs.errors import AdminUnreachable, LabError, WaitTimeout
from labs.flows import FlowCounts, LatencySample
from labs.i18n import Text, language, using
from labs.topology import Topology, full_mesh, one_way
from labs.views import Dashboard
from labs.views.sampler import CONNECTED, DISCONNECTED, DOWN, IDLE, STALLED, ClusterSample, LabSample, LinkSample
from labs.views.topology_map import STATE_LABELS
from tests.leaks import english_runs as line_runs
from tests.leaks import text_of_html

# ------------------------------------------------------------------------------ fakes of a lab


class FakeMessage:
    def __init__(self, data: bytes, properties: Mapping[str, str], published_ms: int) -> None:
        self._data, self._properties, self._published_ms = data, dict(properties), published_ms

    def data(self) -> bytes:
        return self._data

    def properties(self) -> dict[str, str]:
        return self._properties

    def publish_timestamp(self) -> int:
        return self._published_ms


class FakeConsumer:
    def __init__(self, listener: Callable[[Any, Any], None]) -> None:
        self.listener = listener
        self.acknowledged = 0

    def acknowledge(self, _message: object) -> None:
        self.acknowledged += 1

    def close(self) -> None:
        pass


class FakeProducer:
    """Delivers at once: to its own cluster, then, unless told otherwise, along the topology's links."""

    def __init__(self, lab: FakeLab, origin: str) -> None:
        self.lab, self.origin = lab, origin

    def send(self, data: bytes, properties: Mapping[str, str] | None = None, disable_replication: bool = False,
             replication_clusters: Sequence[str] | None = None) -> None:
        message = FakeMessage(data, properties or {}, int(time.time() * 1000) - 12)
        reached = [self.origin]
        if not disable_replication:
            reached += [t for t in self.lab.delivers.get(self.origin, self.lab.topology.targets(self.origin))
                        if not replication_clusters or t in replication_clusters]
        for cluster in reached:
            for consumer in self.lab.consumers.get(cluster, []):
                consumer.listener(consumer, message)

    def close(self) -> None:
        pass


class FakeClient:
    def __init__(self, lab: FakeLab, cluster: str) -> None:
        self.lab, self.cluster = lab, cluster

    def subscribe(self, topic: str, subscription: str, consumer_type: object = None,
                  message_listener: Callable[[Any, Any], None] | None = None) -> FakeConsumer:
        assert message_listener is not None, "the tracer listens; the fake only delivers to listeners"
        consumer = FakeConsumer(message_listener)
        self.lab.consumers.setdefault(self.cluster, []).append(consumer)
        return consumer

    def create_producer(self, topic: str) -> FakeProducer:
        return FakeProducer(self.lab, self.cluster)


class FakeAdmin:
    """The namespace policy the tracer reads (the topology's, unless a test says otherwise); topic stats
    as an unreachable cluster (the dashboard's own sampling reads every cluster as down)."""

    def __init__(self, lab: FakeLab, cluster: str) -> None:
        self.lab, self.cluster = lab, cluster

    def get_namespace_clusters(self, namespace: str) -> list[str]:
        targets = self.lab.policies.get(self.cluster, self.lab.topology.targets(self.cluster))
        return sorted({self.cluster, *targets})

    def get_topic_stats(self, topic: str) -> Any:
        raise AdminUnreachable("GET", f"http://127.0.0.1/admin/v2/{topic}/stats", 0, "connection refused")


class FakeLab:
    """What a Dashboard reads of a lab, and the fault methods its controls call (they run at once)."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.consumers: dict[str, list[FakeConsumer]] = {}
        self.policies: dict[str, tuple[str, ...]] = {}  # a cluster's namespace policy, when not the topology's
        self.delivers: dict[str, tuple[str, ...]] = {}  # where a cluster's messages go, when not the topology's
        self.calls: list[tuple[str, ...]] = []
        self.gate: threading.Event | None = None  # when set, kill waits for it (an action still running)
        self.stop_error: Callable[[], Exception] | None = None  # made on the action's own thread

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.topology.clusters

    def topic(self, name: str) -> str:
        return f"persistent://{self.topology.qualified_namespace}/{name}"

    def client(self, cluster: str) -> FakeClient:
        return FakeClient(self, cluster)

    def admins(self) -> dict[str, FakeAdmin]:
        return {c: FakeAdmin(self, c) for c in self.clusters}

    def kill(self, cluster: str) -> None:
        self.calls.append(("kill", cluster))
        if self.gate is not None:
            self.gate.wait(5)

    def stop_cluster(self, cluster: str) -> None:
        self.calls.append(("stop", cluster))
        if self.stop_error is not None:
            raise self.stop_error()

    def start_cluster(self, cluster: str) -> float:
        self.calls.append(("start", cluster))
        return 1.0

    def cut_link(self, a: str, b: str) -> None:
        self.calls.append(("cut", a, b))

    def heal_link(self, a: str, b: str) -> None:
        self.calls.append(("heal", a, b))


MESH = full_mesh("beijing", "shanghai", "guangzhou")
CHAIN = one_way("beijing", "shanghai", "guangzhou")
#: Every state a link can be drawn in, over the mesh's six links.
MESH_STATES = {("beijing", "shanghai"): CONNECTED, ("beijing", "guangzhou"): DISCONNECTED,
               ("shanghai", "beijing"): STALLED, ("shanghai", "guangzhou"): IDLE, ("guangzhou", "beijing"): DOWN,
               ("guangzhou", "shanghai"): CONNECTED}


def sample_of(topology: Topology, states: Mapping[tuple[str, str], str] | None = None,
              down: Sequence[str] = ()) -> LabSample:
    clusters = {c: ClusterSample(c, c not in down, 2.5, 1.5, 10) for c in topology.clusters}
    links = {(link.source, link.target): LinkSample(link.source, link.target,
                                                    (states or {}).get((link.source, link.target), CONNECTED),
                                                    7, 3.25, 0.5)
             for link in topology.links}
    return LabSample(time.monotonic(), clusters, links)


def counts_of(topology: Topology) -> FlowCounts:
    return FlowCounts(produced={c: 12 for c in topology.clusters}, consumed={c: 9 for c in topology.clusters},
                      replicated_in={c: 5 for c in topology.clusters},
                      latencies=(LatencySample(time.monotonic(), "beijing->shanghai", 40),),
                      producing={}, consuming=())


@pytest.fixture
def boards() -> Iterator[list[Dashboard]]:
    made: list[Dashboard] = []
    yield made
    for board in made:
        board.stop()


def dashboard(boards: list[Dashboard], lab: FakeLab, lang: str) -> Dashboard:
    with using(lang):
        board = Dashboard(lab, topic="live")  # type: ignore[arg-type]
    boards.append(board)
    board.flows.counts = lambda: counts_of(lab.topology)  # type: ignore[method-assign]
    return board


def wait_until(done: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        time.sleep(0.01)


# ------------------------------------------------------------------------------ the English-leak scanner

def english_runs(text: str) -> list[str]:
    """Runs of two or more English words in a widget's text (HTML or plain), by the one scanner every
    Chinese output is held to (tests/leaks.py): each cell, paragraph and line read on its own."""
    return [run for line in text_of_html(text).splitlines() for run in line_runs(line)]


def widget_tree(root: widgets.Widget) -> Iterator[widgets.Widget]:
    yield root
    for child in getattr(root, "children", ()):
        yield from widget_tree(child)


def figure_texts(figure: go.FigureWidget) -> Iterator[str]:
    """The texts a figure draws: titles, annotations, trace names and labels (not colours or modes)."""

    def walk(node: object, key: str = "") -> Iterator[str]:
        if isinstance(node, Mapping):
            for k, v in node.items():
                yield from walk(v, k)
        elif isinstance(node, (list, tuple)):
            for item in node:
                yield from walk(item, key)
        elif isinstance(node, str) and key in ("text", "name", "hovertext", "title"):
            yield node

    yield from walk(figure.to_plotly_json())


def shown_texts(root: widgets.Widget) -> list[str]:
    """Every public string trait (and string in a tuple trait) of every widget under `root`, and every
    figure's texts: what a learner can read."""
    texts: list[str] = []
    for widget in widget_tree(root):
        if isinstance(widget, go.FigureWidget):
            texts += figure_texts(widget)
            continue
        for name, trait in widget.traits().items():
            if name.startswith("_") or name in ("keys", "icon", "button_style", "bar_style", "orientation"):
                continue
            value = getattr(widget, name)
            if isinstance(trait, traitlets.Unicode) and isinstance(value, str):
                texts.append(value)
            elif isinstance(value, (tuple, list)):
                texts += [v for v in value if isinstance(v, str)]
    return [t for t in texts if t.strip()]


def leaks(root: widgets.Widget) -> list[str]:
    return [f"{runs} in {text!r}" for text in shown_texts(root) if (runs := english_runs(text))]


def test_the_scanner_finds_english_and_keeps_code_and_names() -> None:
    assert english_runs("produced <b>3</b> · replicated in <b>2</b>") == ["replicated in"]
    assert english_runs("✅ arrived after 12 ms") == ["arrived after"]
    assert not english_runs("已生产 <b>3</b> · 已复制入 <b>2</b> · msg/s")
    assert not english_runs("跳过：不在该消息的 replication_clusters ['beijing', 'shanghai'] 中")
    assert not english_runs("来自 <b>beijing</b> 的追踪消息 <code>ab12 cd34</code>")
    assert not english_runs("beijing→shanghai 停滞<br>3.2 msg/s · 积压 7")


# ------------------------------------------------------------------------------ the Chinese dashboard


def exercise(board: Dashboard, lab: FakeLab) -> Iterator[str]:
    """Drive a dashboard through what a learner sees: every link state, a down cluster, traces that
    arrive, are watched for and skip, fault actions done, refused while busy, and failed. Yields a
    name for each state reached (the leak scan runs at each)."""
    board.refresh(sample_of(lab.topology))
    yield "first render, no trace yet"
    board.refresh(sample_of(lab.topology, MESH_STATES if lab.topology is MESH else None,
                            down=lab.topology.clusters[-1:]))
    yield "every link state, the last cluster down"
    board.tracer.watch_s = 30.0
    board.tracer.send(lab.topology.clusters[0])
    board.refresh()
    yield "a trace arriving and watched for"
    board.tracer.watch_s = 0.0
    for origin in lab.topology.clusters:
        board.tracer.send(origin)
        board.refresh()
        yield f"a trace from {origin}, every skip observed"
    board.tracer.send(lab.topology.clusters[0], disable_replication=True)
    board.refresh()
    yield "a trace kept local"
    board.tracer.send(lab.topology.clusters[0], replication_clusters=list(lab.topology.clusters[1:]))
    board.refresh()
    yield "a trace naming its clusters"
    lab.policies[lab.topology.clusters[0]] = ()  # its namespace says nowhere; the fake delivers anyway
    board.tracer.send(lab.topology.clusters[0])
    board.refresh()
    yield "a trace arriving against the rules"
    for name in ("kill", "stop", "restart", "cut", "heal"):
        board.faults.buttons[name].click()
        wait_until(lambda: not board.faults._busy.locked(), f"the {name} action")
        board.refresh()
        yield f"the {name} action done"
    lab.gate = gate = threading.Event()
    board.faults.buttons["kill"].click()
    board.refresh()
    yield "an action running"
    board.faults.buttons["stop"].click()
    board.refresh()
    yield "an action refused while another runs"
    gate.set()
    wait_until(lambda: not board.faults._busy.locked(), "the slow kill")
    lab.gate = None
    lab.stop_error = lambda: LabError("boom")  # the error's own text is the lab's; the frame around it is ours
    board.faults.buttons["stop"].click()
    wait_until(lambda: not board.faults._busy.locked(), "the failing stop")
    board.refresh()
    yield "an action failed"


@pytest.mark.parametrize("topology", [MESH, CHAIN], ids=["full-mesh", "one-way chain"])
def test_no_english_sentence_reaches_a_chinese_learner(boards: list[Dashboard], topology: Topology) -> None:
    lab = FakeLab(topology)
    board = dashboard(boards, lab, "zh")
    found = {state: leak for state in exercise(board, lab) if (leak := leaks(board.widget))}
    assert not found, found
    assert board.faults.label.value == "<i>失败：boom</i>"  # an error's own text inside the Chinese frame


def test_the_scanner_would_see_the_english_dashboard(boards: list[Dashboard]) -> None:
    lab = FakeLab(MESH)
    board = dashboard(boards, lab, "en")
    board.refresh(sample_of(MESH, MESH_STATES))
    found = " ".join(leaks(board.widget))
    for english in ("Message tracer", "replication rate", "send traced message", "replicated in", "no fault"):
        assert english in found


def test_labels_and_headings_are_chinese(boards: list[Dashboard]) -> None:
    board = dashboard(boards, FakeLab(MESH), "zh")
    headings = [w.value for w in board.widget.children if isinstance(w, widgets.HTML)]
    assert headings == [f"<h3>{h}</h3>" for h in ("拓扑", "流量面板", "图表", "消息追踪器", "故障控制")]
    assert (board.panel.produce["beijing"].description, board.panel.consume["beijing"].description) == ("生产", "消费")
    assert board.panel.rate["beijing"].description == "msg/s"  # a unit, the same in both languages
    view = board.tracer_view
    assert (view.origin.description, view.only.description, view.local.description, view.button.description) == (
        "源集群", "仅发往", "禁用复制", "发送追踪消息")
    assert {name: b.description for name, b in board.faults.buttons.items()} == {
        "kill": "强制终止", "stop": "停止", "restart": "重启", "cut": "断开", "heal": "恢复"}
    assert (board.faults.cluster.description, board.faults.link.description) == ("集群", "复制链路")
    assert board.faults.link.options == ("beijing ↔ shanghai", "beijing ↔ guangzhou", "shanghai ↔ guangzhou")


def test_figures_are_chinese_and_legends_keep_names(boards: list[Dashboard]) -> None:
    board = dashboard(boards, FakeLab(MESH), "zh")
    board.refresh(sample_of(MESH, MESH_STATES, down=("guangzhou",)))
    layout = board.charts.figure.layout
    assert [a.text for a in layout.annotations] == ["生产速率（msg/s）", "复制速率（msg/s）", "复制积压（条消息）",
                                                    "复制延迟 p50（ms）"]
    assert layout.xaxis4.title.text == "秒"
    assert {trace.name for trace in board.charts.figure.data} == {*MESH.clusters, *board.charts.links}
    assert board.map.figure.layout.title.text == "全网状复制 · geolab/geo"
    assert board.map.link_state("beijing", "shanghai")[1] == "beijing→shanghai 已连接<br>3.2 msg/s · 积压 7"
    drawn = {pair: board.map.link_state(*pair)[1].split("<br>")[0].split(" ", 1)[1] for pair in MESH_STATES}
    assert drawn == {pair: {CONNECTED: "已连接", DISCONNECTED: "连接断开", STALLED: "停滞", IDLE: "空闲",
                            DOWN: "宕机"}[state] for pair, state in MESH_STATES.items()}
    clusters = [a.text for a in board.map.figure.layout.annotations[-3:]]
    assert clusters == ["流入 2.5/s · 流出 1.5/s<br>已生产 12 · 已消费 9"] * 2 + ["宕机<br>已生产 12 · 已消费 9"]
    assert board.panel.counts["shanghai"].value == "已生产 <b>12</b> · 已复制入 <b>5</b> · 已消费 <b>9</b>"


def test_trace_reasons_and_statuses_are_chinese_and_keep_english_keys(boards: list[Dashboard]) -> None:
    lab = FakeLab(CHAIN)
    board = dashboard(boards, lab, "zh")
    board.refresh(sample_of(CHAIN))
    assert board.tracer_view.table.value == "<i>发送一条追踪消息，跟踪它的去向。</i>"
    board.tracer.watch_s = 30.0
    trace = board.tracer.send("beijing")
    board.refresh()
    table = board.tracer_view.table.value
    assert f"来自 <b>beijing</b> 的追踪消息 <code>{trace}</code>" in table
    assert "✅ 已生产" in table and re.search(r"✅ \d+ ms 后到达", table)
    assert "⏳ 观察中（0 / 30 s）" in table
    assert "规则预测：跳过：复制只有一跳" in table
    board.tracer.watch_s = 0.0
    board.refresh()
    table = board.tracer_view.table.value
    assert "⛔ 观察了 0 s，未收到任何消息" in table
    result = board.tracer.result(trace)
    assert result is not None
    skipped = result.hop("guangzhou")
    assert skipped.observed_skip and skipped.why.key.startswith("skipped: replication is one hop; beijing's namespace")
    assert result.hop("shanghai").why.key == "replicated beijing → shanghai"
    assert result.hop("beijing").why == Text("produced here")
    lab.policies["beijing"] = ()
    board.tracer.send("beijing")
    board.refresh()
    assert "规则预测为“跳过：beijing 的命名空间不复制到任何集群，所以 beijing 根本没有复制器”，但消息仍然到达了" in \
        html.unescape(board.tracer_view.table.value)


def test_fault_statuses_are_chinese_and_buttons_keep_their_names(boards: list[Dashboard]) -> None:
    lab = FakeLab(MESH)
    board = dashboard(boards, lab, "zh")
    board.refresh(sample_of(MESH))
    assert board.faults.label.value == "<i>未注入故障</i>"
    board.faults.link.value = "shanghai ↔ guangzhou"
    board.faults.buttons["cut"].click()
    wait_until(lambda: lab.calls[-1:] == [("cut", "shanghai", "guangzhou")] and not board.faults._busy.locked(),
               "the cut")
    board.refresh()
    assert board.faults.label.value == "<i>已断开复制链路 shanghai ↔ guangzhou</i>"
    assert board.faults.status_text.key == "cut shanghai ↔ guangzhou"  # the English identity, in every language
    board.faults.cluster.value = "shanghai"
    board.faults.buttons["restart"].click()
    wait_until(lambda: not board.faults._busy.locked(), "the restart")
    assert board.faults.status == "shanghai 已恢复健康"


def test_a_worker_thread_renders_in_the_language_the_dashboard_was_built_in(boards: list[Dashboard]) -> None:
    lab = FakeLab(MESH)
    board = dashboard(boards, lab, "zh")  # built in a thread's using("zh"), as the trusted side would
    board.tracer.watch_s = 30.0
    lab.delivers["beijing"] = ("shanghai",)  # guangzhou's copy is late: the tracer still watches for it
    board.tracer.send("beijing")
    seen: dict[str, str] = {}

    def render_on_a_worker() -> None:
        seen["language"] = language()  # a new thread: GEOLAB_LANG (en in the tests), not the builder's using()
        board.refresh(sample_of(MESH, MESH_STATES))

    worker = threading.Thread(target=render_on_a_worker)
    worker.start()
    worker.join()
    assert seen["language"] == "en"
    assert board.map.link_state("beijing", "guangzhou")[1].startswith("beijing→guangzhou 连接断开")
    assert board.panel.counts["beijing"].value.startswith("已生产")
    assert "<td>⏳ 观察中（0 / 30 s）</td><td>预期：由 beijing 复制到 guangzhou</td>" in board.tracer_view.table.value
    assert board.faults.label.value == "<i>未注入故障</i>"
    assert not leaks(board.widget)


def test_a_fault_action_runs_and_fails_in_the_language_the_controls_were_built_in(boards: list[Dashboard]) -> None:
    lab = FakeLab(MESH)
    board = dashboard(boards, lab, "zh")
    # the lab raises its own error on the action's worker thread: it must read in the learner's language
    lab.stop_error = lambda: WaitTimeout(Text(
        "The link {source}->{target} did not reach one of the states {states} with a backlog of at least "
        "{min_backlog}.", source="beijing", target="shanghai", states="['connected']", min_backlog=0), 0.5, None)
    board.faults.buttons["stop"].click()  # the click arrives outside any using(), as a comm message does
    wait_until(lambda: not board.faults._busy.locked(), "the failing stop")
    board.refresh()
    assert board.faults.label.value.startswith("<i>失败：复制链路 beijing->shanghai 未达到预期")
    assert board.faults.status_text.key.startswith("failed: 复制链路")


def test_link_states_stay_english_keys() -> None:
    assert set(STATE_LABELS) == {CONNECTED, DISCONNECTED, STALLED, IDLE, DOWN}
    assert (CONNECTED, DISCONNECTED, STALLED, IDLE, DOWN) == ("connected", "disconnected", "stalled", "idle", "down")


def test_english_is_unchanged(boards: list[Dashboard]) -> None:
    lab = FakeLab(MESH)
    board = dashboard(boards, lab, "en")
    board.refresh(sample_of(MESH, MESH_STATES, down=("guangzhou",)))
    headings = [w.value for w in board.widget.children if isinstance(w, widgets.HTML)]
    assert headings == ["<h3>Topology</h3>", "<h3>Flows</h3>", "<h3>Charts</h3>", "<h3>Message tracer</h3>",
                        "<h3>Faults</h3>"]
    assert board.map.figure.layout.title.text == "full-mesh · geolab/geo"
    assert board.map.link_state("beijing", "guangzhou")[1] == "beijing→guangzhou disconnected<br>3.2 msg/s · backlog 7"
    assert [a.text for a in board.map.figure.layout.annotations[-2:]] == [
        "in 2.5/s · out 1.5/s<br>produced 12 · consumed 9", "DOWN<br>produced 12 · consumed 9"]
    assert board.panel.counts["beijing"].value == "produced <b>12</b> · replicated in <b>5</b> · consumed <b>9</b>"
    assert [b.description for b in board.faults.buttons.values()] == ["kill", "stop", "restart", "cut", "heal"]
    assert board.tracer_view.table.value == "<i>Send a traced message to follow it.</i>"
    assert board.faults.status == "no fault injected"
    board.faults.link.value = "beijing ↔ shanghai"
    board.faults.buttons["cut"].click()
    wait_until(lambda: board.faults.status == "cut beijing ↔ shanghai", "the cut")
    board.faults.buttons["kill"].click()
    wait_until(lambda: board.faults.status == "killed beijing", "the kill")
    with pytest.raises(LabError, match=r"refresh_hz=99 is out of range; expected 0.5 to 10"):
        Dashboard(lab, refresh_hz=99)  # type: ignore[arg-type]


def test_the_dashboards_errors_are_said_in_the_callers_language(boards: list[Dashboard]) -> None:
    board = dashboard(boards, FakeLab(MESH), "zh")  # every cluster answers nothing: each link reads down
    with using("zh"):
        with pytest.raises(WaitTimeout) as late:
            board.wait_link("beijing", "shanghai", (CONNECTED,), timeout_s=0.1, max_backlog=0)
        with pytest.raises(LabError) as early:
            board.wait_trace()
    assert str(late.value).startswith(
        "复制链路 beijing->shanghai 未达到预期：状态为 ['connected'] 之一，且积压在 0 到 0 条之间。")
    assert late.value.what.key == ("The link beijing->shanghai did not reach one of the states ['connected'] with a "
                                   "backlog of at least 0 and at most 0.")  # type: ignore[union-attr]
    assert str(early.value) == "还没有追踪消息。请先调用 board.tracer.send(cluster) 发送一条。"
    english = (r"^The link beijing->shanghai did not reach one of the states \['stalled', 'disconnected'\] with a "
               r"backlog of at least 50\. Waited 0\.1 s")
    with pytest.raises(WaitTimeout, match=english):
        board.wait_link("beijing", "shanghai", (STALLED, DISCONNECTED), timeout_s=0.1, min_backlog=50)
