"""The live dashboard: map, charts, flow panel, tracer and fault controls over one topic.

A sampler thread reads topic stats twice a second; Pulsar listener threads only bump counters;
one asyncio task renders everything at `refresh_hz` inside `batch_update()`, so the kernel stays
responsive. Without a running event loop (tests, scripts) call `refresh()` yourself.

Every view shows the language of the thread that builds the dashboard (`labs.i18n.language()`), also
when the refresh task or a worker thread renders it: a new thread starts without that thread's
`using()`. Link states, trace reasons' keys and the fault buttons' names stay English keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import ipywidgets as widgets

from labs.errors import UsageError, WaitTimeout
from labs.flows import Flows
from labs.i18n import Text, _, language
from labs.lab import Lab
from labs.views.charts import LiveCharts
from labs.views.fault_controls import FaultControls
from labs.views.flow_panel import FlowPanel
from labs.views.sampler import LabSample, LabSampler, LinkSample
from labs.views.topology_map import TopologyMap
from labs.views.tracer import Tracer, TraceResult, TracerView
from labs.waiting import wait_for

SAMPLE_INTERVAL_S = 0.5


class Dashboard:
    def __init__(self, lab: Lab, topic: str = "live", refresh_hz: float = 4.0) -> None:
        if not 0.5 <= refresh_hz <= 10:
            raise UsageError(_("refresh_hz={refresh_hz} is out of range; expected 0.5 to 10 (views refresh 2-5 Hz).")
                             .format(refresh_hz=refresh_hz))
        self.lab = lab
        self.language = language()  # every view below is built in it and renders in it
        self.topic = lab.topic(topic)
        self.refresh_hz = refresh_hz
        clients = {c: lab.client(c) for c in lab.clusters}
        self.flows = Flows(clients, self.topic)
        self.sampler = LabSampler(lab.topology, lab.admins(), self.topic)
        self.map = TopologyMap(lab.topology)
        self.charts = LiveCharts(lab.topology)
        self.panel = FlowPanel(self.flows, lab.clusters)
        self.tracer = Tracer(lab.topology, clients, self.topic, lab.admins())
        self.tracer_view = TracerView(self.tracer)
        self.faults = FaultControls(lab)
        self.renders = 0
        self._latest: LabSample | None = None
        self._stop = threading.Event()
        self._sampler_thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self.widget = widgets.VBox([
            _heading(_("Topology")), self.map.figure,
            _heading(_("Flows")), self.panel.widget,
            _heading(_("Charts")), self.charts.figure,
            _heading(_("Message tracer")), self.tracer_view.widget,
            _heading(_("Faults")), self.faults.widget,
        ])

    # ------------------------------------------------------------ rendering

    def sample_now(self) -> LabSample:
        self._latest = self.sampler.sample()
        return self._latest

    def refresh(self, sample: LabSample | None = None) -> None:
        """Render every view once from the latest (or a fresh) sample."""
        current = sample or self._latest or self.sample_now()
        counts = self.flows.counts()
        self.map.render(current, counts)
        self.charts.render(current, counts)
        self.panel.render(counts)
        self.tracer_view.render()
        self.faults.render()
        self.renders += 1

    def wait_link(self, source: str, target: str, states: tuple[str, ...], timeout_s: float = 120.0,
                  min_backlog: int = 0, max_backlog: int | None = None) -> LinkSample:
        """Block until the link source->target is in one of `states` with a backlog of at least
        `min_backlog` (and at most `max_backlog`, when given: 0 waits for it to drain).

        Raises:
            WaitTimeout: naming the link, the states expected and the last one seen.
        """
        if max_backlog is None:
            what = Text("The link {source}->{target} did not reach one of the states {states} with a backlog of at "
                        "least {min_backlog}.", source=source, target=target, states=str(list(states)),
                        min_backlog=min_backlog)
        else:
            what = Text("The link {source}->{target} did not reach one of the states {states} with a backlog of at "
                        "least {min_backlog} and at most {max_backlog}.", source=source, target=target,
                        states=str(list(states)), min_backlog=min_backlog, max_backlog=max_backlog)
        link = wait_for(lambda: self.sample_now().links[(source, target)], what=what, timeout_s=timeout_s,
                        accept=lambda seen: seen.state in states and seen.backlog >= min_backlog
                        and (max_backlog is None or seen.backlog <= max_backlog))
        self.refresh(self._latest)
        return link

    def wait_trace(self, trace_id: str | None = None, timeout_s: float = 30.0) -> TraceResult:
        """Wait until every cluster either received the traced message or watched for the tracer's
        whole window without it (or the time is up), and return where it went. A skip is reported
        only once its cluster watched and saw nothing, with the policy that explains it."""
        first = self.tracer.result(trace_id)
        if first is None:
            raise UsageError(_("No traced message yet; expected one. Call board.tracer.send(cluster) first."))

        def current() -> TraceResult:
            return self.tracer.result(trace_id) or first

        try:
            result = wait_for(current, what=Text("Not every cluster received the traced message or watched for its "
                                                 "whole window."), timeout_s=timeout_s, interval_s=0.2,
                              accept=lambda r: all(h.settled for h in r.hops))
        except WaitTimeout:
            result = current()  # the hops still missing are part of the answer, not an error
        self.refresh()
        return result

    # ------------------------------------------------------------ background

    def start(self) -> Dashboard:
        """Start sampling and, inside a kernel, the refresh task."""
        if self._sampler_thread is None:
            self._stop.clear()
            self._sampler_thread = threading.Thread(target=self._sample_loop, name="geolab-sampler", daemon=True)
            self._sampler_thread.start()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_event_loop()
        if loop is not None and self._task is None:
            self._task = loop.create_task(self._refresh_loop())
        return self

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a dead cluster shows as DOWN in the sample itself
                self._latest = self.sampler.sample()
            self._stop.wait(SAMPLE_INTERVAL_S)

    async def _refresh_loop(self) -> None:
        interval = 1.0 / self.refresh_hz
        while not self._stop.is_set():
            started = time.monotonic()
            if self._latest is not None:
                self.refresh(self._latest)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def stop(self) -> None:
        """Stop refreshing, producers, consumers and the tracer."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._sampler_thread is not None:
            self._sampler_thread.join(timeout=5)
            self._sampler_thread = None
        self.flows.close()
        self.tracer.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _heading(text: str) -> widgets.HTML:
    """A section's heading (`text` already in the dashboard's language)."""
    return widgets.HTML(f"<h3>{text}</h3>")
