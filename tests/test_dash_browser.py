"""The dashboards in a real browser: Debian's headless Chromium driven by Selenium.

Each role logs in through the login form, opens each of its pages and sees a chart drawn (a
``.js-plotly-plot`` whose ``data`` holds traces) or a table; a filter changed in the UI rewrites
the URL and redraws; pages of other roles show a refusal. A PNG screenshot of each page is saved
(to ``docs/screenshots/`` when ``EQM_SCREENSHOTS=1``, else to a temporary directory).

Skipped when Chromium or chromedriver is missing, unless ``EQM_REQUIRE_BROWSER=1`` (CI), which
turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "password1"

# (role user, path, screenshot name) — every page of every role.
PAGES = {
    "officer": [("/officer/overview", "officer_overview"), ("/officer/schools", "officer_schools"),
                ("/officer/items", "officer_items"), ("/officer/hotspots", "officer_hotspots"),
                ("/officer/value-added", "officer_value_added"),
                ("/officer/green", "officer_green"), ("/officer/trends", "officer_trends")],
    "p1": [("/principal", "principal")],
    "cm": [("/committee", "committee")],
    "admin": [("/admin", "admin")],
}
REFUSED = {
    "p1": ["/officer/overview", "/committee", "/admin"],
    "cm": ["/officer/overview", "/principal", "/admin"],
    "admin": ["/officer/overview", "/principal", "/committee"],
    "officer": ["/admin"],
}


def _binaries() -> tuple[str, str] | None:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chrome, driver) if chrome and driver else None


@pytest.fixture(scope="module")
def binaries() -> tuple[str, str]:
    found = _binaries()
    if found is None:
        if os.environ.get("EQM_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium/chromedriver missing but EQM_REQUIRE_BROWSER=1")
        pytest.skip("Chromium/chromedriver not installed (apt-get install chromium "
                    "chromium-driver)")
    pytest.importorskip("selenium")
    return found


@pytest.fixture(scope="module")
def base_url(binaries: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[str]:
    """The app over a small two-exam warehouse, served by Werkzeug in a thread."""
    from werkzeug.serving import make_server

    from analytics.users import add_user
    from analytics.warehouse import Warehouse
    from dashboards.app import create_app
    from tests.builders import build_exam

    path = tmp_path_factory.mktemp("browser") / "w.duckdb"
    source = os.environ.get("EQM_SCREENSHOT_DB")
    if source:  # screenshots of the demo district: a copy of a prepared warehouse
        shutil.copy(source, path)
        wh = Warehouse(path)
    else:
        wh = Warehouse(path)
        first = build_exam(wh, n_schools=6, students_per_school=40, exam="入口考试",
                           exam_date="2025-09-01", seed=1)
        build_exam(wh, n_schools=6, students_per_school=40, exam="期末监测",
                   exam_date="2026-06-20", seed=2,
                   theta=first["students"].set_index("student_key")["theta"])
        from analytics.archive import archive_paper  # the item curve reads the archive

        archive_paper(wh, exam="期末监测", subject="数学")
    school = int(wh.scalar("SELECT min(school_id) FROM schools"))
    for name, role in (("officer", "officer"), ("p1", "principal"), ("cm", "committee"),
                       ("admin", "admin")):
        add_user(wh, name, PASSWORD, role, school=school if role == "principal" else None,
                 replace=True)
    wh.close()
    app = create_app(path, secret_key="b" * 64)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.server.config["EQM_SERVICE"].close()


@pytest.fixture(scope="module")
def driver(binaries: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, chromedriver = binaries
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1366,1000", "--lang=zh-CN",
                f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(chromedriver), options=opts)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("EQM_SCREENSHOTS") == "1":
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path_factory.mktemp("screenshots")


def wait_for(drv: Any, script: str, timeout: float = 30.0) -> Any:
    """Poll a JavaScript expression until it is truthy; return its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = drv.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}\n{drv.current_url}\n"
                         f"{drv.find_element('tag name', 'body').text[:800]}")


PLOT_DRAWN = ("Array.from(document.querySelectorAll('.js-plotly-plot'))"
              ".filter(el => el.data && el.data.length > 0 && el.data.some("
              "t => (t.x && t.x.length) || (t.y && t.y.length) || (t.z && t.z.length)"
              " || (t.r && t.r.length))).length")
SETTLED = ("!document.querySelector('[data-dash-is-loading=\"true\"]') && "
           "!document.querySelector('._dash-loading')")


def log_in(drv: Any, base: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    drv.delete_all_cookies()
    drv.get(f"{base}/login")
    drv.find_element(By.ID, "username").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.ID, "login-submit").click()
    wait_for(drv, "document.getElementById('eqm-user')")


def open_page(driver: Any, base_url: str, user: str, path: str) -> None:
    """Open ``path`` and wait until it is drawn: the admin's user table, or at least one plot
    on every other page, then no callback in flight."""
    driver.get(base_url + path)
    wait_for(driver, "document.getElementById('eqm-page')")
    if user == "admin":
        wait_for(driver, "document.querySelector('#ad-users-table .dash-cell')")
    else:
        assert wait_for(driver, PLOT_DRAWN) >= 1, path
    wait_for(driver, SETTLED)


@pytest.mark.parametrize("user", list(PAGES))
def test_each_role_opens_its_pages(driver: Any, base_url: str, shots: Path, user: str) -> None:
    log_in(driver, base_url, user)
    for path, name in PAGES[user]:
        open_page(driver, base_url, user, path)
        time.sleep(0.5)  # let the last charts finish their transitions
        body = driver.find_element("tag name", "body").text
        assert "无权访问" not in body, (path, body[:400])
        errors = driver.execute_script(
            "return Array.from(document.querySelectorAll('.eqm-error, .eqm-refused'))"
            ".map(e => e.textContent)")
        assert not errors, (path, errors)
        driver.save_screenshot(str(shots / f"{name}.png"))
        assert (shots / f"{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("user", list(REFUSED))
def test_roles_are_refused_elsewhere(driver: Any, base_url: str, user: str) -> None:
    log_in(driver, base_url, user)
    for path in REFUSED[user]:
        driver.get(base_url + path)
        wait_for(driver, "document.querySelector('#eqm-page .eqm-refused')")
        assert wait_for(driver, PLOT_DRAWN + " === 0 || true") is not None
        assert not driver.execute_script(PLOT_DRAWN)


def test_principal_cannot_open_another_school_by_url(driver: Any, base_url: str) -> None:
    log_in(driver, base_url, "p1")
    driver.get(base_url + "/principal?school=2")
    wait_for(driver, "document.querySelector('#eqm-page .eqm-refused')")
    assert not driver.execute_script(PLOT_DRAWN)


def test_filter_change_updates_url_and_chart(driver: Any, base_url: str) -> None:
    """Choose another exam in the filter bar: the URL carries it and the charts redraw."""
    from selenium.webdriver.common.by import By

    log_in(driver, base_url, "officer")
    driver.get(base_url + "/officer/overview")
    wait_for(driver, PLOT_DRAWN)
    before = driver.execute_script(
        "return JSON.stringify(document.querySelector('.js-plotly-plot').data[0].x)")
    box = driver.execute_script(
        """return document.getElementById('{"key":"exam","type":"eqm-filter"}')""")
    box.click()
    current = driver.execute_script(
        "return document.querySelector('.dash-dropdown-value').textContent")
    option = wait_for(driver, "Array.from(document.querySelectorAll('[role=option]'))"
                              f".find(el => !el.textContent.includes('{current}'))")
    target = option.text.strip()
    option.click()
    wait_for(driver, f"decodeURIComponent(location.search).includes('exam={target}')")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)
    assert query["exam"] == [target]
    # The page router swaps the layout after the URL changes, so the old chart can still be
    # there (or none at all) for a moment: wait until a drawn chart shows other data (other
    # exam, other school means); times out, failing, if it never does.
    after = wait_for(driver, "(() => { const el = document.querySelector('.js-plotly-plot');"
                             " if (!el || !el.data || !el.data.length) return null;"
                             " const x = JSON.stringify(el.data[0].x);"
                             f" return x !== {json.dumps(before)} ? x : null; }})()")
    assert after and after != before
    wait_for(driver, SETTLED)
    # The shared link reproduces the state in a fresh page load.
    driver.get(driver.current_url)
    wait_for(driver, PLOT_DRAWN)
    assert target in driver.find_element(By.CLASS_NAME, "eqm-filters").text


CSP_LISTENER = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' "
                "+ e.sourceFile + ':' + e.lineNumber));")


def test_pages_work_under_the_content_security_policy(driver: Any, base_url: str) -> None:
    """Every page of every role loads, draws and settles with no Content-Security-Policy
    violation (the policy allows no inline script but Dash's own, by hash, and no eval). The
    listener is installed through the DevTools protocol, which the policy does not cover."""
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                   {"source": CSP_LISTENER})
    try:
        for user, pages in PAGES.items():
            log_in(driver, base_url, user)
            assert driver.execute_script("return window.__csp") == [], user
            for path, _name in pages:
                open_page(driver, base_url, user, path)
                assert driver.execute_script("return window.__csp") == [], path
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                               {"identifier": added["identifier"]})
