"""Fault controls: kill, stop and restart a cluster; cut and heal a link. Actions run off the
kernel's thread and report through a status line the dashboard renders.

The buttons' names (``kill``, ``cut`` ...) are keys; their labels, the status line and the errors an
action raises are in the language the controls were built in, also on the worker thread that runs
the action and on the thread that renders the line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import combinations
from typing import Protocol

import ipywidgets as widgets

from labs.i18n import N_, Text, _, language, using


class FaultTarget(Protocol):
    @property
    def clusters(self) -> tuple[str, ...]: ...

    def kill(self, cluster: str) -> None: ...
    def stop_cluster(self, cluster: str) -> None: ...
    def start_cluster(self, cluster: str) -> float: ...
    def cut_link(self, a: str, b: str) -> None: ...
    def heal_link(self, a: str, b: str) -> None: ...


#: Each button's label (its name is the key code and tests use: ``buttons["cut"]``).
BUTTON_LABELS = {"kill": N_("kill"), "stop": N_("stop"), "restart": N_("restart"), "cut": N_("cut"),
                 "heal": N_("heal")}
#: For a cluster's buttons: the status while the action runs, and once it is done.
CLUSTER_STATUS = {
    "kill": (N_("working: kill {cluster} …"), N_("killed {cluster}")),
    "stop": (N_("working: stop cluster {cluster} …"), N_("stopped {cluster}")),
    "restart": (N_("working: start cluster {cluster} …"), N_("{cluster} healthy again")),
}
#: For a link's buttons: the status while the action runs, and once it is done.
LINK_STATUS = {
    "cut": (N_("working: cut link {a} {b} …"), N_("cut {link}")),
    "heal": (N_("working: heal link {a} {b} …"), N_("healed {link}")),
}


class FaultControls:
    def __init__(self, target: FaultTarget) -> None:
        self.target = target
        self.language = language()  # actions and renders run on other threads: they use this language
        self.status_text = Text("no fault injected")
        self._busy = threading.Lock()
        self.cluster = widgets.Dropdown(options=target.clusters, description=_("cluster"))
        pairs = [f"{a} ↔ {b}" for a, b in combinations(target.clusters, 2)]
        self.link = widgets.Dropdown(options=pairs, description=_("link"))
        self.buttons = {name: widgets.Button(description=_(label), button_style="danger" if name in ("kill", "cut")
                                             else "") for name, label in BUTTON_LABELS.items()}
        for name in CLUSTER_STATUS:
            self.buttons[name].on_click(lambda _b, name=name: self._on_cluster(name))
        for name in LINK_STATUS:
            self.buttons[name].on_click(lambda _b, name=name: self._on_link(name))
        self.label = widgets.HTML()
        rows = [widgets.HBox([self.cluster, self.buttons["kill"], self.buttons["stop"], self.buttons["restart"]])]
        if pairs:
            rows.append(widgets.HBox([self.link, self.buttons["cut"], self.buttons["heal"]]))
        self.widget = widgets.VBox([*rows, self.label])

    @property
    def status(self) -> str:
        """The status line as the learner reads it (in the language the controls were built in)."""
        with using(self.language):
            return self.status_text.render()

    def _pair(self) -> tuple[str, str]:
        a, b = str(self.link.value).split(" ↔ ")
        return a, b

    def _on_cluster(self, name: str) -> None:
        """A cluster's button was pressed: act on the cluster chosen now."""
        actions: dict[str, Callable[[str], object]] = {
            "kill": self.target.kill, "stop": self.target.stop_cluster, "restart": self.target.start_cluster}
        cluster = str(self.cluster.value)
        working, done = CLUSTER_STATUS[name]
        self._act(Text(working, cluster=cluster), Text(done, cluster=cluster), actions[name], cluster)

    def _on_link(self, name: str) -> None:
        """A link's button was pressed: act on the link chosen now."""
        actions: dict[str, Callable[[str, str], object]] = {"cut": self.target.cut_link, "heal": self.target.heal_link}
        a, b = self._pair()
        working, done = LINK_STATUS[name]
        self._act(Text(working, a=a, b=b), Text(done, link=str(self.link.value)), actions[name], a, b)

    def _act(self, working: Text, done: Text, action: Callable[..., object], *args: str) -> None:
        if not self._busy.acquire(blocking=False):
            self.status_text = Text("busy: wait for the previous action to finish")
            return
        self.status_text = working

        def run() -> None:
            with using(self.language):  # a new thread starts in GEOLAB_LANG's language, not the learner's
                try:
                    action(*args)
                    self.status_text = done
                except Exception as exc:  # shown to the learner in the status line, never swallowed
                    self.status_text = Text("failed: {error}", error=str(exc))
                finally:
                    self._busy.release()

        threading.Thread(target=run, name="geolab-fault", daemon=True).start()

    def render(self) -> None:
        self.label.value = f"<i>{self.status}</i>"
