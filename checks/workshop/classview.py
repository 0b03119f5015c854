"""The instructor's live class view: a JupyterHub service (``/services/geolab-class/``).

Every learner × exercise as the lab server ran their checks (its own records, never a learner's
kernel), who is stuck (two failed checks on one exercise since their last pass), each learner's lab,
the warm pool and the host's memory budget; and the class-wide events (kill, stop or start a cluster,
cut or heal a link, in every learner's lab at once, or once on shared clusters). Only users with
access to this service (the hub's `instructors` group) get in; a learner gets 403 from the hub's
OAuth. The page asks for the class as JSON every few seconds.

Run by the hub (`checks.workshop.hub.configure`): ``python -m checks.workshop.classview``.
"""

from __future__ import annotations

import asyncio
import json
import os
from html import escape
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado.ioloop import IOLoop
from tornado.web import Application, RequestHandler, authenticated

from checks.workshop.hub import HubSettings
from checks.workshop.server import LabServerClient
from labs.errors import LabError

EVENTS = ("kill", "stop", "start", "cut", "heal")


class _Base(HubOAuthenticated, RequestHandler):  # type: ignore[misc]
    def lab_server(self) -> LabServerClient:
        settings: HubSettings = self.settings["workshop"]
        return LabServerClient(settings.labs_folder)


class PageHandler(_Base):
    @authenticated
    def get(self) -> None:
        user = self.get_current_user()
        prefix = self.settings["prefix"]
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
                                                   "script-src 'unsafe-inline'")
        self.write(PAGE.replace("{{prefix}}", escape(prefix)).replace("{{xsrf}}", escape(self.xsrf_token.decode()))
                   .replace("{{user}}", escape(str(user.get("name", "")))))


class ClassHandler(_Base):
    @authenticated
    async def get(self) -> None:
        client = self.lab_server()
        try:
            view = await asyncio.to_thread(client.class_view)
            instructors = set(self.settings["workshop"].instructors)  # their own servers are not the class
            view["learners"] = {name: row for name, row in view["learners"].items() if name not in instructors}
        except LabError as exc:
            self.set_status(503)
            view = {"error": str(exc)}
        finally:
            client.close()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(view))


class EventHandler(_Base):
    @authenticated
    async def post(self, action: str) -> None:
        if action not in EVENTS:
            self.set_status(400)
            self.write({"error": f"no class-wide event {action[:20]!r}; expected one of {list(EVENTS)}"})
            return
        try:
            clusters = json.loads(self.request.body or b"{}").get("clusters")
        except ValueError:
            clusters = None
        if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
            self.set_status(400)
            self.write({"error": "expected {\"clusters\": [...]}"})
            return
        client = self.lab_server()
        try:
            outcome = await asyncio.to_thread(client.event, action, clusters)
            self.write({"outcome": outcome, "by": self.get_current_user().get("name")})
        except LabError as exc:
            self.set_status(400)
            self.write({"error": str(exc)})
        finally:
            client.close()


def application(settings: HubSettings, prefix: str) -> Application:
    return Application([
        (prefix, PageHandler),
        (url_path_join(prefix, "api/class"), ClassHandler),
        (url_path_join(prefix, r"api/events/([a-z]+)"), EventHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32), workshop=settings, prefix=prefix)


def main() -> None:
    settings = HubSettings.load(Path(os.environ["GEOLAB_WORKSHOP_SETTINGS"]))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/geolab-class/")
    application(settings, prefix).listen(settings.class_view_port, address="127.0.0.1")
    IOLoop.current().start()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pulsar GeoLab: the class</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 1.2em; color: #1d2330; }
 h1 { font-size: 1.3em; margin: 0 0 .3em; } .muted { color: #667; }
 table { border-collapse: collapse; margin: .8em 0; } th, td { border: 1px solid #d5d9e2; padding: 3px 6px; }
 th.ex { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; font-size: 12px; }
 td.cell { text-align: center; min-width: 1.6em; } .passed { background: #d8f3dc; } .tried { background: #fff3bf; }
 .stuck { background: #ffc9c9; font-weight: bold; } .solution { background: #e7e7ff; }
 fieldset { display: inline-block; border: 1px solid #d5d9e2; margin-right: 1em; }
 #status { margin-left: 1em; }
</style></head><body>
<h1>Pulsar GeoLab: the class</h1>
<div class="muted">Signed in as {{user}}. From the lab server's own record of every check a learner ran;
refreshes every 3 s. <span id="updated"></span></div>
<div id="summary"></div>
<table id="grid"><thead></thead><tbody></tbody></table>
<div class="muted">✓ passed · a number: checks run, not passed yet · <b>stuck</b>: two failed checks since the last
pass · S: solved with the reference solution (no points)</div>
<h2>Class-wide events</h2>
<fieldset><legend>a cluster, in every learner's lab</legend>
 <select id="cluster-action"><option>kill</option><option>stop</option><option>start</option></select>
 <select id="cluster"><option>beijing</option><option>shanghai</option><option>guangzhou</option></select>
 <button id="cluster-go">Run for the class</button></fieldset>
<fieldset><legend>a link</legend>
 <select id="link-action"><option>cut</option><option>heal</option></select>
 <select id="link-a"><option>beijing</option><option>shanghai</option><option>guangzhou</option></select> –
 <select id="link-b"><option>shanghai</option><option>guangzhou</option><option>beijing</option></select>
 <button id="link-go">Run for the class</button></fieldset>
<span id="status"></span>
<script>
const prefix = "{{prefix}}", xsrf = "{{xsrf}}";
const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value;
  if (cls) e.className = cls; return e; };
async function refresh() {
  const response = await fetch(prefix + "api/class", {headers: {"X-XSRFToken": xsrf}});
  const view = await response.json();
  if (view.error) { document.getElementById("summary").textContent = view.error; return; }
  const head = document.querySelector("#grid thead"), body = document.querySelector("#grid tbody");
  const row = document.createElement("tr");
  row.append(text("th", "learner"), text("th", "lab"));
  for (const e of view.exercises) { const th = text("th", e.id, "ex"); th.title = e.title; row.append(th); }
  row.append(text("th", "passed"));
  head.replaceChildren(row);
  const rows = [];
  for (const [name, learner] of Object.entries(view.learners)) {
    const tr = document.createElement("tr"); tr.dataset.learner = name;
    tr.append(text("td", name), text("td", learner.labs.map(l => l.name).join(", ") || "–"));
    let passed = 0;
    for (const e of view.exercises) {
      const s = learner.exercises[e.id]; const td = text("td", "", "cell"); td.dataset.exercise = e.id;
      if (s) {
        if (s.passed) { passed++; td.textContent = s.solved_by_solution ? "S" : "✓";
          td.className += s.solved_by_solution ? " solution" : " passed"; }
        else if (s.stuck) { td.textContent = "stuck"; td.className += " stuck"; td.title = s.tries + " checks"; }
        else { td.textContent = s.tries; td.className += " tried"; }
      }
      tr.append(td);
    }
    tr.append(text("td", passed + " / " + view.exercises.length));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  const pool = Object.entries(view.pool).map(([k, v]) => k + " " + v).join(", ") || "empty";
  let summary = Object.keys(view.learners).length + " learner(s); warm pool: " + pool + "; memory: " +
    view.memory.committed_mib + " of " + view.memory.budget_mib + " MiB in use";
  if (view.shared) {
    const waiting = Object.entries(view.shared.waiting).map(([e, who]) => e + " (" + who.length + " waiting)");
    summary += "; shared clusters " + view.shared.clusters.join(", ") + (waiting.length ? "; waiting for: " +
      waiting.join(", ") : "");
  }
  document.getElementById("summary").textContent = summary;
  document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
}
async function event(action, clusters) {
  const status = document.getElementById("status");
  status.textContent = action + " " + clusters.join("-") + " ...";
  const response = await fetch(prefix + "api/events/" + action, {method: "POST",
    headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf}, body: JSON.stringify({clusters})});
  const answer = await response.json();
  status.textContent = answer.error ? answer.error : action + " " + clusters.join("-") + ": " +
    Object.entries(answer.outcome).map(([who, what]) => who + " " + what).join("; ");
  refresh();
}
document.getElementById("cluster-go").onclick = () => event(
  document.getElementById("cluster-action").value, [document.getElementById("cluster").value]);
document.getElementById("link-go").onclick = () => event(document.getElementById("link-action").value,
  [document.getElementById("link-a").value, document.getElementById("link-b").value]);
refresh(); setInterval(refresh, 3000);
</script></body></html>
"""

if __name__ == "__main__":
    main()
