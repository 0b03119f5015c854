"""Live charts: produce rate per cluster, replication rate and backlog per link, replication latency."""

from __future__ import annotations

import math
import statistics
import time
from collections import deque

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labs.flows import FlowCounts
from labs.i18n import _
from labs.topology import Topology
from labs.views.sampler import LabSample

WINDOW_POINTS = 120  # at 4 Hz: the last 30 seconds
LATENCY_WINDOW_S = 10.0
PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#e16f24", "#6e7781",
           "#a475f9", "#57ab5a", "#d4a72c", "#539bf5")


def finite(value: float) -> float | None:
    """The value, or None (a gap in the chart) for NaN and infinity, which JSON cannot carry."""
    return value if math.isfinite(value) else None


class LiveCharts:
    """Four stacked time series in one FigureWidget, updated in place (no new figures).

    Its titles are in the language of the thread that builds it; legend names are cluster names and
    links (``beijing->shanghai``), the same in every language.
    """

    def __init__(self, topology: Topology, window: int = WINDOW_POINTS) -> None:
        self.topology = topology
        self.links = tuple(f"{link.source}->{link.target}" for link in topology.links)
        self.figure = go.FigureWidget(make_subplots(
            rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.06,
            subplot_titles=(_("produce rate (msg/s)"), _("replication rate (msg/s)"),
                            _("replication backlog (msgs)"), _("replication latency p50 (ms)")),
        ))
        self.series: dict[tuple[int, str], deque[float | None]] = {}
        self.times: deque[float] = deque(maxlen=window)
        self.trace_index: dict[tuple[int, str], int] = {}
        names_in_order = (*topology.clusters, *self.links)
        colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names_in_order)}
        for row, names in ((1, topology.clusters), (2, self.links), (3, self.links), (4, self.links)):
            for name in names:
                self.trace_index[(row, name)] = len(self.figure.data)
                self.series[(row, name)] = deque(maxlen=window)
                self.figure.add_scatter(x=[], y=[], mode="lines", name=name, legendgroup=name,
                                        line={"color": colour[name]}, showlegend=row in (1, 2), row=row, col=1)
        self.figure.update_layout(height=640, margin={"l": 40, "r": 10, "t": 40, "b": 30})
        self.figure.update_xaxes(title_text=_("seconds"), row=4, col=1)
        self._t0 = time.monotonic()
        self._last_produced: dict[str, int] = {c: 0 for c in topology.clusters}
        self._last_at = self._t0

    def values(self, row: int, name: str) -> tuple[float | None, ...]:
        """The y values drawn for one series (for tests)."""
        return tuple(self.figure.data[self.trace_index[(row, name)]].y or ())

    def render(self, sample: LabSample, counts: FlowCounts) -> None:
        now = time.monotonic()  # counts move between samples, so rates use the render time
        elapsed = now - self._last_at
        self.times.append(round(now - self._t0, 2))
        for cluster in self.topology.clusters:
            produced = counts.produced.get(cluster, 0)
            delta = produced - self._last_produced[cluster]
            self.series[(1, cluster)].append(finite(delta / elapsed) if elapsed > 0 else 0.0)
            self._last_produced[cluster] = produced
        self._last_at = now
        recent = [s for s in counts.latencies if s.at >= now - LATENCY_WINDOW_S]
        for link in self.topology.links:
            key = f"{link.source}->{link.target}"
            stats = sample.links[(link.source, link.target)]
            self.series[(2, key)].append(finite(stats.rate_out))
            self.series[(3, key)].append(finite(float(stats.backlog)))
            latencies = [s.ms for s in recent if s.link == key]
            # no sample: a gap in the line (None is JSON null; NaN would break the comm message)
            self.series[(4, key)].append(finite(float(statistics.median(latencies))) if latencies else None)
        x = list(self.times)
        with self.figure.batch_update():
            for (row, name), index in self.trace_index.items():
                self.figure.data[index].x = x
                self.figure.data[index].y = list(self.series[(row, name)])
