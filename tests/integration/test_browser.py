"""A real browser: JupyterLab served on 127.0.0.1, Debian's Chromium driven by Playwright, runs a
notebook with the live dashboard and sees the topology map and the charts render and change; in the
Chinese edition (GEOLAB_LANG=zh) it sees the dashboard and a check's result in Chinese, drawn with a
CJK font (not boxes), and English nowhere a reader's text is, JupyterLab's own menus included."""

from __future__ import annotations

import gettext
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from labs.i18n import catalog
from labs.jupyter import LOCALES, lab_options
from labs.lab import down
from labs.waiting import wait_for
from tests.leaks import chinese, leaks

CHROMIUM = "/usr/bin/chromium"
# Flags that work on an offline machine (no background networking, no component updates).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
LAB_NAME = "it-ui"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ui_notebook(path: Path) -> None:
    cells = [
        "from labs import Lab, dashboard, full_mesh",
        f'lab = Lab.start(full_mesh("beijing", "shanghai", config_store="independent"), name="{LAB_NAME}")',
        'board = dashboard(lab, topic="ui")',
        "board",
        'board.flows.start_consumer("shanghai")',
        'board.flows.start_producer("beijing", rate_per_s=20)',
        "from checks import check",
        'check("01-basics/1", lab)',  # the lab registered both peers: a check's result, all passed
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(notebook, path)


def has_cjk_font() -> bool:
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@pytest.fixture(params=["en", "zh"])
def jupyter(request: pytest.FixtureRequest, tmp_path: Path, pulsar_image: str) -> Iterator[str]:
    """JupyterLab whose kernels speak the parameter's language (GEOLAB_LANG in the server's environment)."""
    lang = str(request.param)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`).", pytrace=False)
    if lang == "zh" and not has_cjk_font():
        pytest.fail("No Chinese font is installed (`fc-list :lang=zh` lists none), so Chromium would draw boxes: "
                    "install one from Debian (`apt-get install fonts-wqy-microhei`).", pytrace=False)
    ui_notebook(tmp_path / "ui_dashboard.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "jupyter-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--allow-root",
         *lab_options(lang)],  # as `geolab lab` starts it: JupyterLab's own menus in the course's language
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GEOLAB_LANG": lang},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def server_alive() -> None:
            assert server.poll() is None, "JupyterLab exited while starting"

        wait_for(lambda: httpx.get(f"{base}/api/status", params={"token": token}, timeout=2).status_code,
                 what="JupyterLab's /api/status", timeout_s=90, tolerate=(httpx.HTTPError,),
                 accept=lambda status: status == 200, halt=server_alive)
        yield f"{base}/lab/tree/ui_dashboard.ipynb?token={token}#{lang}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        down(LAB_NAME, progress=lambda _m: None)
        shutil.rmtree(tmp_path / ".ipynb_checkpoints", ignore_errors=True)


def notebook_state(page: Page) -> str:
    """What the notebook shows: each cell's prompt and the first lines of its outputs, and the kernel's status
    (for a failure message; the screenshot beside it shows the rest)."""
    cells = page.evaluate(
        "[...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => ["
        "(c.querySelector('.jp-InputPrompt') || {}).textContent || '',"
        "[...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText.slice(0, 400)).join(' | ')])")
    status = page.evaluate(
        "(document.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status")
    lines = [f"  {prompt.strip() or '[ ]'} {output}" for prompt, output in cells]
    return f"kernel status {status!r}; cells:\n" + "\n".join(lines)


def jupyterlab_words(lang: str, text: str) -> str:
    """`text` of JupyterLab's own interface as it reads in `lang` (its language pack's catalog)."""
    if lang not in LOCALES:
        return text
    import jupyterlab_language_pack_zh_CN as pack  # the one pack so far; LOCALES names its locale

    return gettext.translation("jupyterlab", localedir=Path(pack.__file__).parent / "locale",
                               languages=[LOCALES[lang]]).gettext(text)


def accept_kernel_choice(page: Page, lang: str = "en") -> None:
    """JupyterLab sometimes asks which kernel to start ("Select Kernel", with the notebook's own kernel
    chosen), also after the page looked idle; its dialog then takes every click. Whenever it appears
    before an action of the test, the choice is accepted (Playwright's locator handler)."""
    dialog = page.locator(".jp-Dialog", has_text=jupyterlab_words(lang, "Select Kernel"))
    if getattr(page, "_geolab_kernel_choice", False):
        return
    select = jupyterlab_words(lang, "Select")
    page.add_locator_handler(dialog, lambda found: found.get_by_role("button", name=select, exact=True).click())
    page._geolab_kernel_choice = True  # type: ignore[attr-defined]


def run_all_cells(page: Page, lang: str = "en") -> None:
    """Run > Run All Cells, and see the first cell start (a prompt of [*] or a number) within 30 s; a click
    the page swallowed (a menu that closed under a toast) is tried once more."""
    started = ("[...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
               ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))")
    for attempt in (1, 2):
        accept_kernel_choice(page, lang)
        page.click(".jp-Notebook")
        page.get_by_role("menuitem", name=jupyterlab_words(lang, "Run"), exact=True).click()
        page.get_by_role("menuitem", name=jupyterlab_words(lang, "Run All Cells"), exact=True).click()
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def zh(message: str) -> str:
    """A message of the catalog as a Chinese reader sees it (its text before the first placeholder)."""
    return catalog("zh").gettext(message).split("{")[0].strip()


def fonts_drawing(page: Page, selector: str) -> list[str]:
    """The font families Chromium drew the nodes matching `selector` with (DevTools' CSS domain; the
    first ten nodes, each with the glyphs it drew)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root["root"]["nodeId"], "selector": selector})["nodeIds"]
    found: list[str] = []
    for node in nodes[:10]:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            found.append(f"{font['familyName']} ({font['glyphCount']} glyphs)")
    return found




def test_dashboard_renders_and_moves_in_a_real_browser(jupyter: str) -> None:
    from playwright.sync_api import sync_playwright

    lang = jupyter.rsplit("#", 1)[1]
    produced = "produced" if lang == "en" else zh("produced {produced} · consumed {consumed}")
    shot = "dashboard" if lang == "en" else "dashboard-zh"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        try:
            accept_kernel_choice(page, lang)
            page.goto(jupyter)
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            # JupyterLab's own menus speak the course's language (its language pack, labs/jupyter.py)
            menus = page.locator(".lm-MenuBar-itemLabel").all_text_contents()
            assert jupyterlab_words(lang, "Run") in menus and (lang == "en") == ("Run" in menus), menus
            run_all_cells(page, lang)
            # two plotly figures: the topology map and the charts
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=240_000)
            annotation = page.locator(".js-plotly-plot .annotation-text", has_text=produced).first
            annotation.wait_for(timeout=120_000)
            page.wait_for_function(
                "([word]) => [...document.querySelectorAll('.js-plotly-plot .annotation-text')]"
                ".some(e => new RegExp(word + ' ?[1-9]').test(e.textContent))", arg=[produced], timeout=120_000)
            first = page.locator(".js-plotly-plot .annotation-text").all_text_contents()
            page.screenshot(path=str(ARTIFACTS / f"{shot}-1.png"), full_page=True)
            later = wait_for(lambda: page.locator(".js-plotly-plot .annotation-text").all_text_contents(),
                             what="the map's numbers to change", timeout_s=60,
                             accept=lambda texts: texts != first)
            # the check's result (the last cell): all passed, in the reader's language
            passed = "all checks pass" if lang == "en" else zh("all checks pass")
            result = page.locator(".jp-OutputArea-output", has_text=passed).first
            result.wait_for(timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / (f"{shot}.png" if lang == "zh" else f"{shot}-2.png")), full_page=True)
            result.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / ("check-zh.png" if lang == "zh" else "check.png")), full_page=True)
            if lang == "zh":
                chinese_in_browser(page, produced, passed)
            link_labels = [t for t in later if "beijing→shanghai" in t]
            assert link_labels and "msg/s" in link_labels[0]
            traces = page.locator(".js-plotly-plot .scatterlayer .trace").count()
            assert traces >= 4, f"expected the charts' line traces, found {traces}"
            # nothing the views send may be refused by the comm layer: a NaN or an infinity shows up
            # in red as "Message serialization failed with: Out of range float values ..."
            errors = page.locator("[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText[data-mime-type"
                                  "='application/vnd.jupyter.error']").all_text_contents()
            refused = [text for text in errors if "serialization failed" in text or "not JSON compliant" in text]
            assert not refused, f"the kernel refused widget messages: {refused}"
            assert not [text for text in errors if "Traceback" in text or "Error" in text], errors
        except Exception as failure:  # noqa: BLE001 - every failure gets the screenshot and the notebook's state
            page.screenshot(path=str(ARTIFACTS / f"{shot}-failed.png"), full_page=True)
            pytest.fail(f"{failure}\nthe notebook showed ({ARTIFACTS / f'{shot}-failed.png'}, server log "
                        f"{ARTIFACTS / 'jupyter-server.log'}):\n{notebook_state(page)}", pytrace=False)
        finally:
            browser.close()


def chinese_in_browser(page: Page, produced: str, passed: str) -> None:
    """The Chinese dashboard and check output: Chinese text, drawn by a CJK font, and no English sentence."""
    # the dashboard's own words (its headings and the flow panel's counts are HTML widgets) and the check's
    # result table; the map's SVG text is drawn by the same fonts, but DevTools reports none for SVG
    board_fonts = fonts_drawing(page, ".jp-OutputArea-output .widget-html-content")
    result_fonts = fonts_drawing(page, ".jp-OutputArea-output td")
    for where, fonts in (("the dashboard", board_fonts), ("the check's result", result_fonts)):
        assert fonts, f"Chromium reports no font for {where}"
        assert any(re.search(r"WenQuanYi|Noto Sans CJK|Droid Sans Fallback|AR PL|Source Han|Micro Hei", f, re.I)
                   for f in fonts), f"{where} is drawn without a CJK font (boxes): {fonts}"
    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
    assert any(produced in text for text in page.locator(".js-plotly-plot .annotation-text").all_text_contents())
    assert any(passed in text for text in outputs)
    assert any(chinese(text) for text in outputs), outputs
    english = leaks(outputs)
    assert not english, "English reached a Chinese reader:\n" + "\n".join(english)
