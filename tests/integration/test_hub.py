"""A hosted workshop, for real: `geolab workshop up`'s JupyterHub with DockerSpawner and the lab
server on this host, two learners and an instructor in Debian's Chromium.

Both learners log in with the shared password and get a JupyterLab server in a locked-down container
(no Docker socket) with the course; each runs lesson 00, whose lab comes from the lab server's warm
pool through their control channel. Ada writes her prediction, Bob leaves it undone. The instructor's
class view shows both, from the lab server's own records: Ada passed, Bob tried once. A learner gets
403 from the class view; learners' servers cannot reach each other or this host but for the hub's API;
a learner's stopped server takes their labs with it; nothing is left when the workshop stops.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

import docker
from checks.solutions import SOLUTIONS
from checks.workshop.hub import CLASS_VIEW, HUB_NETWORK, HubSettings, WorkshopHost, configurable_http_proxy
from checks.workshop.image import build_singleuser_image
from checks.workshop.labs import LABEL_LEARNER, Quotas
from labs.cluster import lab_names
from labs.firewall import bridge_name
from labs.settings import load_settings
from labs.waiting import wait_for
from tests.integration.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    accept_kernel_choice,
    notebook_state,
    run_all_cells,
)

ADA, BOB, TEACHER = "it-ada", "it-bob", "it-teacher"
PASSWORD, TEACHER_PASSWORD = "learners-secret-1", "instructors-secret-" + "x" * 20
PREDICTION_CELL = "# Your prediction, before the experiment"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def workshop(engine: docker.DockerClient, pulsar_image: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[WorkshopHost]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`).", pytrace=False)
    settings = load_settings()
    image = build_singleuser_image(engine, settings, print)
    chp = configurable_http_proxy(settings, print)
    hub = HubSettings(str(tmp_path_factory.mktemp("workshop")), image, PASSWORD, (TEACHER,), TEACHER_PASSWORD, chp,
                      port=free_port(), hub_port=free_port(), proxy_api_port=free_port(), class_view_port=free_port(),
                      lab_prefix="it-")
    os.environ["GEOLAB_LAB_PREFIX"] = "it-"
    remove_homes(engine)  # a learner of an earlier run would keep their old notebooks
    host = WorkshopHost(hub, Quotas(memory_mib=6 * 1100), engine, {"welcome": 2})
    try:
        host.start()
        wait_for(lambda: host.lab_server.workshop.class_view()["pool"] if host.lab_server else {},
                 what="the warm pool's two welcome labs", timeout_s=240, interval_s=1.0,
                 accept=lambda pool: pool == {"welcome": 2})
        yield host
    finally:
        (ARTIFACTS / "workshop-hub.log").write_text(host.hub_log(400))
        bridge = bridge_name(engine.networks.get(HUB_NETWORK).id) if engine.networks.list(names=[HUB_NETWORK]) else ""
        host.stop()
        os.environ.pop("GEOLAB_LAB_PREFIX", None)
        remove_homes(engine)
        assert not engine.containers.list(all=True, filters={"label": LABEL_LEARNER})
        assert not [n for n in lab_names(engine) if n.startswith(("it-ws-", "ws-net-it-", "ws-hub"))]
        assert not engine.networks.list(names=[HUB_NETWORK])
        if bridge:
            rules = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True).stdout
            assert bridge not in rules


def remove_homes(engine: docker.DockerClient) -> None:
    for volume in engine.volumes.list(filters={"name": "geolab-home-it-"}):
        volume.remove(force=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def log_in(browser: Browser, workshop: WorkshopHost, user: str, password: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.goto(f"{workshop.settings.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return context, page


def run_lesson_00(page: Page, workshop: WorkshopHost, user: str, solve: bool) -> None:
    accept_kernel_choice(page)
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
    page.goto(f"{workshop.settings.url}/user/{user}/lab/tree/00_welcome.ipynb")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    accept_kernel_choice(page)
    if solve:  # the learner writes their prediction into the exercise cell
        cell = page.locator(".jp-Cell", has_text=PREDICTION_CELL).first
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(SOLUTIONS["00-welcome/1"].strip())
    run_all_cells(page)
    page.wait_for_function(  # the last cell, lab.stop(), has run
        "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].slice(-1)[0]"
        ".querySelector('.jp-InputPrompt').textContent.match(/\\[\\d+\\]/)", timeout=300_000)


def test_two_learners_run_a_lesson_and_the_instructor_sees_their_checks(workshop: WorkshopHost,
                                                                        browser: Browser) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sessions = {user: log_in(browser, workshop, user, PASSWORD) for user in (ADA, BOB)}
    try:
        for user, (_, page) in sessions.items():
            try:
                run_lesson_00(page, workshop, user, solve=user == ADA)
            except Exception as failure:  # noqa: BLE001 - the notebook's state says more than a timeout
                pytest.fail(f"{user}'s lesson 00: {failure}\n{notebook_state(page)}", pytrace=False)
            finally:
                page.screenshot(path=str(ARTIFACTS / f"workshop-{user}.png"), full_page=True)
        state = {user: notebook_state(page) for user, (_, page) in sessions.items()}
        teacher, page = log_in(browser, workshop, TEACHER, TEACHER_PASSWORD)
        page.wait_for_url(f"**/user/{TEACHER}/**", timeout=120_000)
        page.goto(f"{workshop.settings.url}/services/{CLASS_VIEW}/")
        ada_cell = page.locator(f"tr[data-learner='{ADA}'] td[data-exercise='00-welcome/1']")
        bob_cell = page.locator(f"tr[data-learner='{BOB}'] td[data-exercise='00-welcome/1']")
        try:
            ada_cell.wait_for(timeout=60_000)
            page.wait_for_function(
                f"document.querySelector(\"tr[data-learner='{ADA}'] td[data-exercise='00-welcome/1']\")"
                ".textContent === '✓'", timeout=60_000)
        finally:
            page.screenshot(path=str(ARTIFACTS / "workshop-class-view.png"), full_page=True)
        assert "passed" in (ada_cell.get_attribute("class") or ""), state[ADA]
        assert bob_cell.text_content() == "1", state[BOB]  # one check, not passed: his prediction is missing
        teacher.close()
        _, bob_page = sessions[BOB]
        response = bob_page.goto(f"{workshop.settings.url}/services/{CLASS_VIEW}/")
        assert response is not None and response.status == 403  # a learner is not an instructor
    finally:
        for context, _ in sessions.values():
            context.close()


def exec_in(engine: docker.DockerClient, learner: str, code: str) -> str:
    container = engine.containers.get(f"geolab-learner-{learner}")
    result = container.exec_run(["python", "-c", code], user="10001")
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return str(result.output.decode().strip().splitlines()[-1])


def test_learners_servers_reach_neither_each_other_nor_this_host(workshop: WorkshopHost,
                                                                 engine: docker.DockerClient) -> None:
    network = engine.networks.get(HUB_NETWORK)
    network.reload()
    ada_ip = network.attrs["Containers"][engine.containers.get(f"geolab-learner-{ADA}").id]["IPv4Address"]
    gateway = workshop.settings.gateway
    probe = (
        "import os, socket\n"
        "def reach(host, port):\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=3).close(); return True\n"
        "    except OSError:\n"
        "        return False\n"
        f"print(dict(ada=reach({ada_ip.split('/')[0]!r}, 8888), hub_api=reach({gateway!r}, "
        f"{workshop.settings.hub_port}), proxy=reach({gateway!r}, {workshop.settings.port}), "
        f"proxy_api=reach({gateway!r}, {workshop.settings.proxy_api_port}), ssh=reach({gateway!r}, 22), "
        "docker=os.path.exists('/var/run/docker.sock'), mounted=sorted(os.listdir('/run/geolab')), "
        "control=bool(os.environ.get('GEOLAB_CONTROL_TOKEN'))))")
    assert exec_in(engine, BOB, probe) == str(dict(ada=False, hub_api=True, proxy=False, proxy_api=False, ssh=False,
                                                   docker=False, mounted=["control.sock"], control=True))


def test_a_learners_stopped_server_takes_their_labs_with_it(workshop: WorkshopHost,
                                                            engine: docker.DockerClient) -> None:
    assert workshop.lab_server is not None
    shop = workshop.lab_server.workshop
    exec_in(engine, BOB, "from labs import Lab, single; lab = Lab.start(single('beijing'), name='welcome'); "
                         "print(lab.name)")
    assert [h.spec.name for h in shop.learner_labs(BOB)] == ["welcome"]
    with httpx.Client(base_url=workshop.settings.url, follow_redirects=True, timeout=30) as teacher:
        teacher.get("/hub/login")
        teacher.post("/hub/login?next=", data={"username": TEACHER, "password": TEACHER_PASSWORD,
                                               "_xsrf": teacher.cookies.get("_xsrf", path="/hub/")})
        stopped = teacher.delete(f"/hub/api/users/{BOB}/server",
                                 headers={"X-XSRFToken": str(teacher.cookies.get("_xsrf", path="/hub/"))})
        assert stopped.status_code in (202, 204), stopped.text
    wait_for(lambda: shop.learner_labs(BOB), what=f"{BOB}'s labs to go with his server", timeout_s=60,
             interval_s=0.5, accept=lambda labs: labs == [])
    assert not engine.containers.list(all=True, filters={"label": f"{LABEL_LEARNER}={BOB}"})


def test_a_chinese_workshops_jupyterlab_starts_in_chinese(workshop: WorkshopHost, engine: docker.DockerClient) -> None:
    """The learner image holds JupyterLab's Chinese language pack, and JupyterLab started with the options
    its start command passes for a Chinese workshop (`python -m labs.jupyter --lang zh`) says, through its
    own settings API, that its language is zh_CN unless the learner picks another. (This workshop is
    English: the JupyterLab here is a second server in Ada's container, on its loopback only.)"""
    probe = (
        "import json, subprocess, sys, urllib.request\n"
        "from labs.waiting import wait_for\n"
        "options = subprocess.run([sys.executable, '-m', 'labs.jupyter', '--lang', 'zh'], capture_output=True,\n"
        "                         text=True, check=True).stdout.split()\n"
        "server = subprocess.Popen(['jupyter', 'lab', '--no-browser', '--ip=127.0.0.1', '--port=18899',\n"
        "                           '--IdentityProvider.token=probe', *options],\n"
        "                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "def get(path):\n"
        "    with urllib.request.urlopen(f'http://127.0.0.1:18899{path}?token=probe', timeout=5) as answer:\n"
        "        return json.load(answer)\n"
        "def exited():\n"
        "    if server.poll() is not None:\n"
        "        raise RuntimeError(f'jupyter lab exited with {server.returncode}')\n"
        "try:\n"
        "    plugin = wait_for(lambda: get('/lab/api/settings/@jupyterlab/translation-extension:plugin'),\n"
        "                      what='JupyterLab in the container answering its settings API', timeout_s=90,\n"
        "                      tolerate=(OSError,), halt=exited)\n"
        "    pack = get('/lab/api/translations/zh_CN')\n"
        "    print(json.dumps(dict(options=options, default=plugin['schema']['properties']['locale']['default'],\n"
        "                          chosen=plugin['raw'], file_menu=pack['data']['jupyterlab']['menu\\x04File'])))\n"
        "finally:\n"
        "    server.terminate(); server.wait(30)\n")
    seen = json.loads(exec_in(engine, ADA, probe))
    assert len(seen["options"]) == 1 and seen["options"][0].startswith("--LabApp.app_settings_dir="), seen
    assert seen["default"] == "zh_CN", seen  # a default: the learner's own choice still wins
    assert seen["chosen"] in ("{}", ""), seen  # nothing written into the learner's own settings
    assert seen["file_menu"] == ["文件"], seen  # the menu bar's File, from the pack
