"""Driving the dashboards in headless Chromium, shared by the page test
(tests/test_dash_pages_browser.py), the screenshots and the page benchmark
(benchmarks/pages_browser.py): serve an app in a thread, start a browser, sign in, open a page
and wait until it is drawn, read what a user sees.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analytics.domain.labels import LABELS

PASSWORD = "password1"
# user names that are no code word of the vocabulary (the badge shows them)
USERS = {"jyy": "officer", "xz": "principal", "mtz": "committee", "gly": "admin"}

SETTLED = ("!document.querySelector('[data-dash-is-loading=\"true\"]') && "
           "!document.querySelector('._dash-loading') && "
           "!document.querySelector('.dash-spinner, ._dash-loading-callback')")


def code_words() -> set[str]:
    """The code words of the vocabulary (:data:`analytics.domain.labels.LABELS`: the codes of
    every kind and the column names) that must never show in the Chinese UI: ASCII, two
    letters or more (``A``–``D``, ``M``/``F`` are read as themselves)."""
    words = set()
    for codes in LABELS.values():
        for code in codes:
            if isinstance(code, str) and code.isascii() and len(code) > 2 \
                    and re.fullmatch(r"[a-z][a-z0-9_]*", code):
                words.add(code)
    return words


SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def raw_codes(text: str, words: set[str]) -> list[str]:
    """The code words (and any snake_case word) in ``text``."""
    found = set(SNAKE.findall(text))
    found |= {w for w in re.findall(r"\b[a-z][a-z0-9_]+\b", text) if w in words}
    return sorted(found)


def binaries() -> tuple[str, str] | None:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chrome, driver) if chrome and driver else None


class ServerLog(logging.Handler):
    """Every log record of the served app: HTTP 5xx in Werkzeug's access log, tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        out = []
        for r in self.records:
            text = r.getMessage()
            if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in text \
                    or re.search(r'" 5\d\d ', text):
                out.append(text[:300])
        return out


@contextmanager
def served(db: Path, secret_key: str = "p" * 64) -> Iterator[tuple[str, ServerLog]]:
    """The app over ``db`` served by Werkzeug in a thread: (base URL, its log)."""
    from werkzeug.serving import make_server

    from dashboards.app import create_app

    log = ServerLog()
    root = logging.getLogger()
    root.addHandler(log)
    old_level = root.level
    root.setLevel(logging.INFO)
    app = create_app(db, secret_key=secret_key)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", log
    finally:
        server.shutdown()
        app.server.config["EQM_SERVICE"].close()
        root.removeHandler(log)
        root.setLevel(old_level)


@contextmanager
def chromium(profile: Path, width: int = 1366, height: int = 1000) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = binaries()
    assert found is not None
    chrome, chromedriver = found
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=zh-CN",
                "--hide-scrollbars", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(chromedriver), options=opts)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


def wait_for(drv: Any, script: str, timeout: float = 30.0) -> Any:
    """Poll a JavaScript expression until it is truthy; return its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = drv.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}\n{drv.current_url}\n"
                         f"{drv.find_element('tag name', 'body').text[:800]}")


def log_in(drv: Any, base: str, user: str, lang: str = "zh") -> None:
    from selenium.webdriver.common.by import By

    drv.delete_all_cookies()
    drv.get(f"{base}/login")
    drv.find_element(By.ID, "username").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.ID, "login-submit").click()
    wait_for(drv, "document.getElementById('eqm-user')")
    if lang != "zh":
        drv.get(f"{base}/lang/{lang}")
        wait_for(drv, "document.getElementById('eqm-user')")


def nav_paths(drv: Any) -> list[str]:
    """The pages the navigation bar offers (the home page left out)."""
    hrefs = drv.execute_script(
        "return Array.from(document.querySelectorAll('.eqm-nav a')).map(a => a.pathname)")
    return [h for h in hrefs if h != "/"]


def settle(drv: Any, timeout: float = 60.0) -> None:
    """Until the page frame is there and no callback is in flight (twice in a row, 0.3 s apart:
    a callback's output can start the next one)."""
    wait_for(drv, "document.getElementById('eqm-page')", timeout)
    end = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < end and calm < 2:
        calm = calm + 1 if drv.execute_script(f"return ({SETTLED});") else 0
        time.sleep(0.15)
    if calm < 2:
        raise AssertionError(f"{drv.current_url} did not settle")


SOFT_NAV = """
const old = document.getElementById('eqm-page');
if (!old) return false;
old.setAttribute('data-eqm-stale', '1');
window.history.pushState({}, '', arguments[0]);
window.dispatchEvent(new PopStateEvent('popstate'));
return true;
"""
FRESH_PAGE = ("(() => { const el = document.getElementById('eqm-page');"
              " return el && !el.hasAttribute('data-eqm-stale'); })()")


def open_page(drv: Any, url: str, timeout: float = 60.0, soft: bool = False) -> float:
    """Open ``url`` and wait until it settled; the seconds it took. ``soft``: navigate inside
    the running app (as a click on a link does: the router renders the page, no reload of the
    scripts) when a page is already shown."""
    start = time.perf_counter()
    if soft and drv.current_url.split("/")[:3] == url.split("/")[:3] \
            and drv.execute_script(SOFT_NAV, url):
        wait_for(drv, FRESH_PAGE, timeout)
    else:
        drv.get(url)
    settle(drv, timeout)
    return time.perf_counter() - start


def visible_text(drv: Any) -> str:
    """The page's text as a user reads it (the rendered text, the charts' SVG text too)."""
    text = drv.execute_script("return document.body.innerText")
    svg = drv.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot text'))"
        ".map(e => e.textContent).join('\\n')")
    return f"{text}\n{svg}"


def error_boxes(drv: Any) -> list[str]:
    return list(drv.execute_script(
        "return Array.from(document.querySelectorAll('.eqm-error'))"
        ".map(e => e.textContent)"))


def column_cells(drv: Any, container: str, column: str) -> list[str]:
    """The cells of ``column`` in the tables inside ``#container``, in the order shown."""
    return list(drv.execute_script(
        f"return Array.from(document.querySelectorAll('#{container} "
        f"td[data-dash-column=\"{column}\"]')).map(e => e.innerText.trim())"))


def full_page_screenshot(drv: Any, path: Path, width: int = 1366, max_height: int = 6000) -> None:
    """A PNG of the whole page (the window stretched to the page's height, then back)."""
    height = int(drv.execute_script("return document.documentElement.scrollHeight"))
    size = drv.get_window_size()
    drv.set_window_size(width, min(max(height + 40, 600), max_height))
    time.sleep(0.4)  # charts re-layout to the new size
    drv.save_screenshot(str(path))
    drv.set_window_size(size["width"], size["height"])
