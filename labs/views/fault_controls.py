"""Fault controls: kill, stop and restart a cluster; cut and heal a link. Actions run off the
kernel's thread and report through a status line the dashboard renders."""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import combinations
from typing import Protocol

import ipywidgets as widgets


class FaultTarget(Protocol):
    @property
    def clusters(self) -> tuple[str, ...]: ...

    def kill(self, cluster: str) -> None: ...
    def stop_cluster(self, cluster: str) -> None: ...
    def start_cluster(self, cluster: str) -> float: ...
    def cut_link(self, a: str, b: str) -> None: ...
    def heal_link(self, a: str, b: str) -> None: ...


class FaultControls:
    def __init__(self, target: FaultTarget) -> None:
        self.target = target
        self.status = "no fault injected"
        self._busy = threading.Lock()
        self.cluster = widgets.Dropdown(options=target.clusters, description="cluster")
        pairs = [f"{a} ↔ {b}" for a, b in combinations(target.clusters, 2)]
        self.link = widgets.Dropdown(options=pairs, description="link")
        buttons = {
            "kill": (lambda: self._act(f"killed {self.cluster.value}", target.kill, self.cluster.value)),
            "stop": (lambda: self._act(f"stopped {self.cluster.value}", target.stop_cluster, self.cluster.value)),
            "restart": (lambda: self._act(f"{self.cluster.value} healthy again", target.start_cluster,
                                          self.cluster.value)),
            "cut": (lambda: self._act(f"cut {self.link.value}", target.cut_link, *self._pair())),
            "heal": (lambda: self._act(f"healed {self.link.value}", target.heal_link, *self._pair())),
        }
        self.buttons = {name: widgets.Button(description=name, button_style="danger" if name in ("kill", "cut")
                                             else "") for name in buttons}
        for name, action in buttons.items():
            self.buttons[name].on_click(lambda _b, action=action: action())
        self.label = widgets.HTML()
        rows = [widgets.HBox([self.cluster, self.buttons["kill"], self.buttons["stop"], self.buttons["restart"]])]
        if pairs:
            rows.append(widgets.HBox([self.link, self.buttons["cut"], self.buttons["heal"]]))
        self.widget = widgets.VBox([*rows, self.label])

    def _pair(self) -> tuple[str, str]:
        a, b = str(self.link.value).split(" ↔ ")
        return a, b

    def _act(self, done: str, action: Callable[..., object], *args: str) -> None:
        if not self._busy.acquire(blocking=False):
            self.status = "busy: wait for the previous action to finish"
            return
        self.status = f"working: {action.__name__.replace('_', ' ')} {' '.join(args)} …"

        def run() -> None:
            try:
                action(*args)
                self.status = done
            except Exception as exc:  # shown to the learner in the status line, never swallowed
                self.status = f"failed: {exc}"
            finally:
                self._busy.release()

        threading.Thread(target=run, name="geolab-fault", daemon=True).start()

    def render(self) -> None:
        self.label.value = f"<i>{self.status}</i>"
