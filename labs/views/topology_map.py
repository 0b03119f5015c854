"""Topology map: clusters as nodes, replication links as arrows with live rate, backlog and state.

Link states stay the sampler's English keys (`CONNECTED` ...) and are shown through `STATE_LABELS`;
labels and annotations are in the language the map was built in, also when a worker renders it.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from labs.flows import FlowCounts
from labs.i18n import N_, _, language, using
from labs.topology import Topology
from labs.views.sampler import CONNECTED, DISCONNECTED, DOWN, IDLE, STALLED, LabSample

RED = "#cf222e"
LINK_COLOURS = {CONNECTED: "#1a7f37", DISCONNECTED: RED, STALLED: RED, DOWN: RED, IDLE: "#8c959f"}
NODE_UP, NODE_DOWN = "#0969da", "#cf222e"
#: How a link's state (a key the code compares) reads on the map.
STATE_LABELS = {CONNECTED: N_("connected"), DISCONNECTED: N_("disconnected"), STALLED: N_("stalled"),
                IDLE: N_("idle"), DOWN: N_("down")}
#: How a topology's kind (a key of `Topology`) reads in the map's title.
KIND_LABELS = {"single": N_("single"), "full-mesh": N_("full-mesh"), "one-way": N_("one-way"),
               "failover": N_("failover"), "custom": N_("custom")}


def state_label(state: str) -> str:
    """A link state as the learner reads it, in the current language (an unknown state as it is)."""
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state


def node_positions(clusters: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    if len(clusters) == 1:
        return {clusters[0]: (0.0, 0.0)}
    return {
        name: (math.cos(math.pi / 2 + 2 * math.pi * i / len(clusters)),
               math.sin(math.pi / 2 + 2 * math.pi * i / len(clusters)))
        for i, name in enumerate(clusters)
    }


def _offset(a: tuple[float, float], b: tuple[float, float], amount: float) -> tuple[float, float]:
    """A small shift perpendicular to a->b, so a->b and b->a arrows do not overlap."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    return -dy / length * amount, dx / length * amount


class TopologyMap:
    """A plotly FigureWidget; `render()` updates it in place from a sample and the flow counts."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.language = language()  # render() may run on another thread: it shows this language
        self.positions = node_positions(topology.clusters)
        self.links = tuple((link.source, link.target) for link in topology.links)
        self.figure = go.FigureWidget()
        xs = [self.positions[c][0] for c in topology.clusters]
        ys = [self.positions[c][1] for c in topology.clusters]
        self.figure.add_scatter(
            x=xs, y=ys, mode="markers+text", text=list(topology.clusters), textposition="middle center",
            marker={"size": 70, "color": [NODE_UP] * len(xs)}, textfont={"color": "white", "size": 13},
            hoverinfo="text", name=_("clusters"),
        )
        annotations = []
        for source, target in self.links:
            a, b = self.positions[source], self.positions[target]
            ox, oy = _offset(a, b, 0.06)
            annotations.append({  # the arrow, shortened so it stops at the node's edge
                "x": a[0] + (b[0] - a[0]) * 0.78 + ox, "y": a[1] + (b[1] - a[1]) * 0.78 + oy,
                "ax": a[0] + (b[0] - a[0]) * 0.22 + ox, "ay": a[1] + (b[1] - a[1]) * 0.22 + oy,
                "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "text": "",
                "showarrow": True, "arrowhead": 3, "arrowwidth": 3, "arrowcolor": LINK_COLOURS["idle"],
            })
        for source, target in self.links:
            a, b = self.positions[source], self.positions[target]
            ox, oy = _offset(a, b, 0.12)
            # each label sits on its own arrow's side, a third of the way from the source
            annotations.append({
                "x": a[0] + (b[0] - a[0]) * 0.36 + ox, "y": a[1] + (b[1] - a[1]) * 0.36 + oy,
                "xanchor": "left" if ox >= 0 else "right", "xref": "x", "yref": "y",
                "text": f"{source}→{target}<br>{state_label(IDLE)}", "showarrow": False, "font": {"size": 11},
            })
        for cluster in topology.clusters:
            x, y = self.positions[cluster]
            annotations.append({"x": x, "y": y - 0.32, "xref": "x", "yref": "y", "showarrow": False,
                                "text": "", "font": {"size": 11}})
        kind = _(KIND_LABELS[topology.kind]) if topology.kind in KIND_LABELS else topology.kind
        self.figure.update_layout(
            annotations=annotations, showlegend=False, height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10},
            title={"text": f"{kind} · {topology.qualified_namespace}", "x": 0.5},
            xaxis={"visible": False, "range": [-1.6, 1.6]}, yaxis={"visible": False, "range": [-1.5, 1.5]},
            plot_bgcolor="white",
        )

    def link_state(self, source: str, target: str) -> tuple[str, str]:
        """(colour, label) currently drawn for a link; read by tests and the browser check."""
        index = self.links.index((source, target))
        arrow = self.figure.layout.annotations[index]
        label = self.figure.layout.annotations[len(self.links) + index]
        return str(arrow.arrowcolor), str(label.text)

    def render(self, sample: LabSample, counts: FlowCounts | None = None) -> None:
        n = len(self.links)
        with using(self.language), self.figure.batch_update():
            colours = [NODE_UP if sample.clusters[c].up else NODE_DOWN for c in self.topology.clusters]
            self.figure.data[0].marker.color = colours
            for index, (source, target) in enumerate(self.links):
                link = sample.links[(source, target)]
                self.figure.layout.annotations[index].arrowcolor = LINK_COLOURS.get(link.state, "#8c959f")
                self.figure.layout.annotations[n + index].text = (
                    f"{source}→{target} {state_label(link.state)}<br>"
                    + _("{rate:.1f} msg/s · backlog {backlog}").format(rate=link.rate_out, backlog=link.backlog)
                )
            for offset, cluster in enumerate(self.topology.clusters):
                stats = sample.clusters[cluster]
                text = (_("in {rate_in:.1f}/s · out {rate_out:.1f}/s").format(rate_in=stats.rate_in,
                                                                             rate_out=stats.rate_out)
                        if stats.up else _("DOWN"))
                if counts is not None:
                    text += "<br>" + _("produced {produced} · consumed {consumed}").format(
                        produced=counts.produced.get(cluster, 0), consumed=counts.consumed.get(cluster, 0))
                self.figure.layout.annotations[2 * n + offset].text = text
