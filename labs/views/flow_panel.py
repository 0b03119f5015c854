"""Flow panel: start and stop producers and consumers per cluster, set a rate, see the counts.

Its labels are in the language of the thread that builds it, and so are its counts when a worker
thread renders them; `msg/s` and cluster names read the same in every language.
"""

from __future__ import annotations

import ipywidgets as widgets

from labs.flows import FlowCounts, Flows
from labs.i18n import _, language, using


class FlowPanel:
    def __init__(self, flows: Flows, clusters: tuple[str, ...]) -> None:
        self.flows = flows
        self.clusters = clusters
        self.language = language()
        self.produce: dict[str, widgets.ToggleButton] = {}
        self.rate: dict[str, widgets.IntSlider] = {}
        self.consume: dict[str, widgets.ToggleButton] = {}
        self.counts: dict[str, widgets.HTML] = {}
        rows = []
        for cluster in clusters:
            self.produce[cluster] = widgets.ToggleButton(description=_("produce"), icon="upload",
                                                         layout=widgets.Layout(width="110px"))
            self.rate[cluster] = widgets.IntSlider(value=10, min=1, max=200, description="msg/s",
                                                   continuous_update=False, layout=widgets.Layout(width="260px"))
            self.consume[cluster] = widgets.ToggleButton(description=_("consume"), icon="download",
                                                         layout=widgets.Layout(width="110px"))
            self.counts[cluster] = widgets.HTML()
            self.produce[cluster].observe(lambda change, c=cluster: self._toggle_producer(c, change["new"]), "value")
            self.rate[cluster].observe(lambda change, c=cluster: self.flows.set_rate(c, change["new"]), "value")
            self.consume[cluster].observe(lambda change, c=cluster: self._toggle_consumer(c, change["new"]), "value")
            rows.append(widgets.HBox([widgets.HTML(f"<b>{cluster}</b>", layout=widgets.Layout(width="90px")),
                                      self.produce[cluster], self.rate[cluster], self.consume[cluster],
                                      self.counts[cluster]]))
        self.widget = widgets.VBox(rows)

    def _toggle_producer(self, cluster: str, on: bool) -> None:
        if on:
            self.flows.start_producer(cluster, float(self.rate[cluster].value))
        else:
            self.flows.stop_producer(cluster)

    def _toggle_consumer(self, cluster: str, on: bool) -> None:
        if on:
            self.flows.start_consumer(cluster)
        else:
            self.flows.stop_consumer(cluster)

    def render(self, counts: FlowCounts) -> None:
        with using(self.language):
            for cluster in self.clusters:
                self.counts[cluster].value = _(
                    "produced {produced} · replicated in {replicated} · consumed {consumed}").format(
                    produced=f"<b>{counts.produced.get(cluster, 0)}</b>",
                    replicated=f"<b>{counts.replicated_in.get(cluster, 0)}</b>",
                    consumed=f"<b>{counts.consumed.get(cluster, 0)}</b>")
