"""The instructor's live class view: a JupyterHub service (``/services/geolab-class/``).

Every learner × exercise as the lab server ran their checks (its own records, never a learner's
kernel), who is stuck (two failed checks on one exercise since their last pass), each learner's lab,
the warm pool and the host's memory budget; and the class-wide events (kill, stop or start a cluster,
cut or heal a link, in every learner's lab at once, or once on shared clusters). Only users with
access to this service (the hub's `instructors` group) get in; a learner gets 403 from the hub's
OAuth. The page asks for the class as JSON every few seconds.

Language: the workshop's (`geolab workshop up --lang`), or the one the page's ``?lang=en|zh`` asks
for (its header links to the other); every text is translated here, the page's script gets its own
as JSON, and the class's data (names, lab names, exercise ids, events) stay as they are.

Run by the hub (`checks.workshop.hub.configure`): ``python -m checks.workshop.classview``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from html import escape
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado.ioloop import IOLoop
from tornado.web import Application, RequestHandler, authenticated

from checks.workshop.hub import HubSettings
from checks.workshop.server import LabServerClient
from labs.errors import LabError
from labs.i18n import LANGUAGES, _, language, ngettext, using

EVENTS = ("kill", "stop", "start", "cut", "heal")


class _Base(HubOAuthenticated, RequestHandler):  # type: ignore[misc]
    def lab_server(self) -> LabServerClient:
        settings: HubSettings = self.settings["workshop"]
        return LabServerClient(settings.labs_folder)

    def lang(self) -> str:
        """The language this request is answered in: ``?lang=`` when it names one, else the workshop's."""
        asked = self.get_argument("lang", None)
        settings: HubSettings = self.settings["workshop"]
        return asked if asked in LANGUAGES else settings.lang


class PageHandler(_Base):
    @authenticated
    def get(self) -> None:
        user = self.get_current_user()
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
                                                   "script-src 'unsafe-inline'")
        with using(self.lang()):
            self.write(page(self.settings["prefix"], self.xsrf_token.decode(), str(user.get("name", ""))))


class ClassHandler(_Base):
    @authenticated
    async def get(self) -> None:
        with using(self.lang()):
            client = self.lab_server()
            try:
                view = await asyncio.to_thread(client.class_view)  # asked in this language (Accept-Language)
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
        with using(self.lang()):
            await self._post(action)

    async def _post(self, action: str) -> None:
        if action not in EVENTS:
            self.set_status(400)
            self.write({"error": _("No class-wide event {action!r}; expected one of {events}.").format(
                action=action[:20], events=list(EVENTS))})
            return
        try:
            clusters = json.loads(self.request.body or b"{}").get("clusters")
        except ValueError:
            clusters = None
        if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
            self.set_status(400)
            self.write({"error": _("A class-wide event needs {body}; e.g. {example}.").format(
                body='{"clusters": [...]}', example='{"clusters": ["beijing"]}')})
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


def texts() -> dict[str, object]:
    """The texts the page's script shows, in the current language ({placeholders} filled in there; a
    plural is its two forms, for one and for more)."""
    return {
        "learner": _("learner"), "lab": _("lab"), "passed": _("passed"), "stuck": _("stuck"),
        "checks": [ngettext("{count} check run", "{count} checks run", n) for n in (1, 2)],
        "summary": [ngettext("{count} learner; warm pool: {pool}; memory: {committed} of {budget} MiB in use.",
                             "{count} learners; warm pool: {pool}; memory: {committed} of {budget} MiB in use.", n)
                    for n in (1, 2)],
        "empty": _("empty"),
        "shared": _("Shared clusters: {clusters}."),
        "waiting_for": _("Waiting for: {events}."),
        "waiting": [ngettext("{event} ({count} learner waiting)", "{event} ({count} learners waiting)", n)
                    for n in (1, 2)],
        "updated": _("Updated {time}."),
        "done": _("done"),  # a learner's outcome "ok" of a class-wide event
    }


def _script_json(value: object) -> str:
    """`value` as JSON that cannot end the <script> it sits in."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def page(prefix: str, xsrf: str, user: str) -> str:
    """The class view's page in the current language."""
    lang = language()
    other = "en" if lang == "zh" else "zh"
    cluster_options = "".join(f'<option value="{c}">{c}</option>' for c in ("beijing", "shanghai", "guangzhou"))
    link_b_options = "".join(f'<option value="{c}">{c}</option>' for c in ("shanghai", "guangzhou", "beijing"))
    values = {
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": escape(_("Pulsar GeoLab: the class")),
        "other_lang": other,
        "other_name": "English" if other == "en" else "中文",
        "signed_in": escape(_("Signed in as {user}. From the lab server's own record of every check a learner ran; "
                              "refreshes every 3 s.").format(user=user)),
        "legend": escape(_("✓ passed · a number: checks run, not passed yet · stuck: two failed checks since the "
                           "last pass · S: solved with the reference solution (no points)")),
        "events": escape(_("Class-wide events")),
        "cluster_legend": escape(_("a cluster, in every learner's lab")),
        "link_legend": escape(_("a link between two clusters, in every learner's lab")),
        "kill": escape(_("kill")), "stop": escape(_("stop")), "start": escape(_("start")),
        "cut": escape(_("cut")), "heal": escape(_("heal")),
        "run": escape(_("Run for the class")),
        "cluster_options": cluster_options, "link_b_options": link_b_options,
        "prefix": _script_json(prefix), "xsrf": _script_json(xsrf), "lang": _script_json(lang),
        "texts": _script_json(texts()),
    }
    return re.sub(r"{{(\w+)}}", lambda match: values[match.group(1)], PAGE)  # one pass: no value is read again


PAGE = """<!doctype html>
<html lang="{{html_lang}}"><head><meta charset="utf-8"><title>{{title}}</title>
<style>
 body { font: 14px system-ui, sans-serif; margin: 1.2em; color: #1d2330; }
 h1 { font-size: 1.3em; margin: 0 0 .3em; } .muted { color: #667; } .lang { float: right; }
 table { border-collapse: collapse; margin: .8em 0; } th, td { border: 1px solid #d5d9e2; padding: 3px 6px; }
 th.ex { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; font-size: 12px; }
 td.cell { text-align: center; min-width: 1.6em; } .passed { background: #d8f3dc; } .tried { background: #fff3bf; }
 .stuck { background: #ffc9c9; font-weight: bold; } .solution { background: #e7e7ff; }
 fieldset { display: inline-block; border: 1px solid #d5d9e2; margin-right: 1em; }
 #status { margin-left: 1em; }
</style></head><body>
<a class="lang" href="?lang={{other_lang}}">{{other_name}}</a>
<h1>{{title}}</h1>
<div class="muted">{{signed_in}} <span id="updated"></span></div>
<div id="summary"></div>
<table id="grid"><thead></thead><tbody></tbody></table>
<div class="muted">{{legend}}</div>
<h2>{{events}}</h2>
<fieldset><legend>{{cluster_legend}}</legend>
 <select id="cluster-action"><option value="kill">{{kill}}</option><option value="stop">{{stop}}</option><option
  value="start">{{start}}</option></select>
 <select id="cluster">{{cluster_options}}</select>
 <button id="cluster-go">{{run}}</button></fieldset>
<fieldset><legend>{{link_legend}}</legend>
 <select id="link-action"><option value="cut">{{cut}}</option><option value="heal">{{heal}}</option></select>
 <select id="link-a">{{cluster_options}}</select> –
 <select id="link-b">{{link_b_options}}</select>
 <button id="link-go">{{run}}</button></fieldset>
<span id="status"></span>
<script>
const prefix = {{prefix}}, xsrf = {{xsrf}}, lang = {{lang}}, T = {{texts}};
const fill = (template, values) => template.replace(/\\{(\\w+)\\}/g,
  (all, name) => name in values ? values[name] : all);
const count = (forms, n, values) => fill(forms[n === 1 ? 0 : 1], Object.assign({count: n}, values || {}));
const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value;
  if (cls) e.className = cls; return e; };
async function refresh() {
  const response = await fetch(prefix + "api/class?lang=" + lang, {headers: {"X-XSRFToken": xsrf}});
  const view = await response.json();
  if (view.error) { document.getElementById("summary").textContent = view.error; return; }
  const head = document.querySelector("#grid thead"), body = document.querySelector("#grid tbody");
  const row = document.createElement("tr");
  row.append(text("th", T.learner), text("th", T.lab));
  for (const e of view.exercises) { const th = text("th", e.id, "ex"); th.title = e.title; row.append(th); }
  row.append(text("th", T.passed));
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
        else if (s.stuck) { td.textContent = T.stuck; td.className += " stuck"; td.title = count(T.checks, s.tries); }
        else { td.textContent = s.tries; td.className += " tried"; }
      }
      tr.append(td);
    }
    tr.append(text("td", passed + " / " + view.exercises.length));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  const pool = Object.entries(view.pool).map(([k, v]) => k + " " + v).join(", ") || T.empty;
  let summary = count(T.summary, Object.keys(view.learners).length, {pool: pool,
    committed: view.memory.committed_mib, budget: view.memory.budget_mib});
  if (view.shared) {
    summary += " " + fill(T.shared, {clusters: view.shared.clusters.join(", ")});
    const waiting = Object.entries(view.shared.waiting).map(([e, who]) => count(T.waiting, who.length, {event: e}));
    if (waiting.length) summary += " " + fill(T.waiting_for, {events: waiting.join(", ")});
  }
  document.getElementById("summary").textContent = summary;
  document.getElementById("updated").textContent = fill(T.updated, {time: new Date().toLocaleTimeString()});
}
async function event(action, clusters) {
  const status = document.getElementById("status");
  status.textContent = action + " " + clusters.join("-") + " ...";
  const response = await fetch(prefix + "api/events/" + action + "?lang=" + lang, {method: "POST",
    headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf}, body: JSON.stringify({clusters})});
  const answer = await response.json();
  status.textContent = answer.error ? answer.error : action + " " + clusters.join("-") + ": " +
    Object.entries(answer.outcome).map(([who, what]) => who + " " + (what === "ok" ? T.done : what)).join("; ");
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
