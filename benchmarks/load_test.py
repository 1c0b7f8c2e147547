"""Bounded load test of the dashboards: concurrent simulated users over loopback HTTP.

Starts the dashboard (the same Flask/Werkzeug threaded server as ``eqm serve``) on
``127.0.0.1`` and a free port, over a small demo warehouse (:func:`analytics.demo.build_demo`)
or an existing one (``--db``), creates the test's own accounts (a mix of research officers and
principals, :func:`analytics.users.add_user`, removed again at the end), and lets every user,
in its own thread, behave like the browser:

* log in (``GET /login`` for the CSRF token, ``POST /login``);
* open a page: ``GET`` the page, ``GET /_dash-layout`` and ``GET /_dash-dependencies``, the
  pages router callback (``_pages_content``) for the URL, then every data callback that Dash's
  renderer fires for the new layout (inputs and states filled from the layout, as the renderer
  does; chained callbacks such as the item table → item chart follow their parent);
* change a filter: the filter bar's callback (``eqm-url.search`` from the dropdown values), the
  router callback for the new query string, then the page's data callbacks again.

The payloads are built from the app's own ``/_dash-dependencies`` and the layouts it returns,
so they are the requests the browser sends. Each user runs a fixed number of interactions
(``--requests``), all users together stop at ``--time-limit`` seconds, every HTTP request has a
timeout, and only ``127.0.0.1`` is ever contacted.

Every response is checked: status 200, JSON, the callback's output ids present, and no refusal
or error message of the app (``eqm-refused`` / ``eqm-error``) — any failure counts as an error.
Latency is reported per endpoint kind (p50 / p95 / max, ms), plus whole interactions.

Usage::

    python benchmarks/load_test.py                     # demo of 3,000 students, 20 users × 10
    python benchmarks/load_test.py --db data/warehouse.duckdb --users 20 --requests 20
    python benchmarks/load_test.py --write-docs        # also update docs/benchmarks.md
    python benchmarks/load_test.py --users 0 --flood   # only the failed-login flood scenario

``--flood`` adds a scenario (issue 13): a signed-in research officer fires a page's callbacks,
first quietly, then while 6 threads send about 10 failed logins a second (random names, wrong
passwords; :func:`login_flood`), and the two callback medians are compared.

The server runs in its own process by default (``--in-process`` runs it in a thread of this
process, as ``tests/test_load.py`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOOPBACK = "127.0.0.1"   # the only address this script ever talks to
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Load test (20 concurrent users)"
PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "officer": ("/officer/overview", "/officer/schools", "/officer/items", "/officer/hotspots",
                "/officer/value-added", "/officer/green", "/officer/trends"),
    "principal": ("/principal",),
}
FILTER_TYPE = "eqm-filter"
FILTERS_URL_OUTPUT = "eqm-url.search"
ROUTER_OUTPUT = "_pages_content.children"


# -- the server -------------------------------------------------------------------------------
@contextmanager
def serve_in_thread(db: Path, secret_key: str, *, trusted_proxy: bool = False) -> Iterator[str]:
    """Run the dashboard in a thread of this process (Werkzeug's threaded server, as
    ``app.run``); yields the base URL. ``trusted_proxy``: believe ``X-Forwarded-For`` (the
    flood's ``--flood-spread``)."""
    import logging

    from werkzeug.serving import make_server

    from dashboards.app import create_app

    app = create_app(db, secret_key=secret_key, trusted_proxy=trusted_proxy)
    server = make_server(LOOPBACK, 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dash-server", daemon=True)
    wlog = logging.getLogger("werkzeug")
    level = wlog.level
    wlog.setLevel(logging.WARNING)  # no access log line per request
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        wlog.setLevel(level)
        app.server.config["EQM_SERVICE"].close()


@contextmanager
def serve_in_process(db: Path, secret_key: str, startup_timeout: float = 120.0, *,
                     trusted_proxy: bool = False) -> Iterator[str]:
    """Run the dashboard in a child process of this script (``--serve``); yields the base URL.
    The child binds ``127.0.0.1`` on a free port and prints it."""
    env = dict(os.environ, EQM_SECRET_KEY=secret_key,
               EQM_TRUSTED_PROXY="1" if trusted_proxy else "0")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve", str(db)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + startup_timeout
        port = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("PORT "):
                port = int(line.split()[1])
                break
        if port is None:
            raise RuntimeError("the dashboard server did not start")
        yield f"http://{LOOPBACK}:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve_child(db: str) -> None:
    """The child of :func:`serve_in_process`: serve until terminated."""
    import logging

    from werkzeug.serving import make_server

    from dashboards.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(db)  # the secret from $EQM_SECRET_KEY, the proxy from $EQM_TRUSTED_PROXY
    server = make_server(LOOPBACK, 0, app.server, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


# -- one simulated browser --------------------------------------------------------------------
@dataclass
class Sample:
    """One HTTP request: its kind, latency and whether it was right."""

    kind: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    interactions: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample, interaction: bool = False) -> None:
        with self.lock:
            (self.interactions if interaction else self.samples).append(sample)


def _dep_outputs(dep: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = dep["output"]
    parts = out[2:-2].split("...") if out.startswith("..") else [out]
    return [(p.rsplit(".", 1)[0], p.rsplit(".", 1)[1]) for p in parts]


def _walk(node: Any, found: dict[str, dict[str, Any]]) -> None:
    """Collect the props of every component with a string id in a layout (JSON) tree."""
    if isinstance(node, list):
        for child in node:
            _walk(child, found)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and "type" in node:
            cid = props.get("id")
            if isinstance(cid, str):
                found[cid] = props
            elif isinstance(cid, dict):
                found[json.dumps(cid, sort_keys=True, separators=(",", ":"))] = props
            for value in props.values():
                _walk(value, found)


class Browser:
    """A user's browser: a cookie session, the app's dependencies, the current page's layout.

    Every request goes through :meth:`_send`, which times it, checks it and records it.
    """

    def __init__(self, base_url: str, recorder: Recorder, *, timeout: float = 60.0,
                 rng: random.Random | None = None) -> None:
        if not base_url.startswith(f"http://{LOOPBACK}:"):
            raise ValueError("the load test only talks to 127.0.0.1")
        self.base = base_url
        self.http = requests.Session()
        self.http.trust_env = False  # never a proxy: loopback only
        self.recorder = recorder
        self.timeout = timeout
        self.rng = rng or random.Random(0)
        self.deps: list[dict[str, Any]] = []
        self.props: dict[str, dict[str, Any]] = {}
        self.path = "/"
        self.search = ""

    # -- plumbing
    def _send(self, kind: str, method: str, path: str, check: Callable[[Any], str | None],
              **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            resp = self.http.request(method, self.base + path, timeout=self.timeout,
                                     allow_redirects=False, **kwargs)
            problem = check(resp)
        except requests.RequestException as exc:
            resp, problem = None, f"{type(exc).__name__}: {exc}"
        dt = time.perf_counter() - t0
        self.recorder.add(Sample(kind, dt, problem is None, problem or ""))
        return resp if problem is None else None

    def _csrf(self) -> str:
        return self.http.cookies.get("_csrf_token") or ""

    # -- login
    def login(self, username: str, password: str) -> bool:
        page = self._send("login form", "GET", "/login",
                          lambda r: None if r.status_code == 200 else f"status {r.status_code}")
        if page is None:
            return False
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            self.recorder.add(Sample("login", 0.0, False, "no CSRF token on the form"))
            return False
        resp = self._send(
            "login", "POST", "/login",
            lambda r: None if r.status_code == 302 and self._csrf() else
            f"status {r.status_code}",
            data={"csrf_token": token.group(1), "username": username, "password": password,
                  "next": "/"})
        return resp is not None

    # -- Dash
    def _json_check(self, expect: Sequence[str] = ()) -> Callable[[Any], str | None]:
        def check(r: Any) -> str | None:
            if r.status_code != 200:
                return f"status {r.status_code}: {r.text[:200]}"
            try:
                body = r.json()
            except ValueError:
                return "not JSON"
            if expect:
                got = set((body.get("response") or {}).keys())
                missing = set(expect) - got
                if missing:
                    return f"missing outputs {sorted(missing)}"
                text = r.text
                for marker in ("eqm-error", "eqm-refused"):
                    if marker in text:
                        return f"{marker} in the response"
            return None

        return check

    def load_shell(self, path: str, search: str = "") -> bool:
        """A full page load: the HTML, the layout and the dependencies."""
        html = self._send("page (HTML)", "GET", path + search,
                          lambda r: None if r.status_code == 200 and "_dash-config" in r.text
                          else f"status {r.status_code}")
        layout = self._send("GET /_dash-layout", "GET", "/_dash-layout", self._json_check())
        deps = self._send("GET /_dash-dependencies", "GET", "/_dash-dependencies",
                          self._json_check())
        if html is None or layout is None or deps is None:
            return False
        self.deps = deps.json()
        self.props = {}
        _walk(layout.json(), self.props)
        return True

    def _post(self, kind: str, dep: Mapping[str, Any], inputs: list[Any], state: list[Any],
              changed: list[str]) -> dict[str, Any] | None:
        outputs = [{"id": i, "property": p} for i, p in _dep_outputs(dep)]
        body = {"output": dep["output"],
                "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": inputs, "state": state, "changedPropIds": changed}
        expect = sorted({o["id"] for o in outputs})
        resp = self._send(kind, "POST", "/_dash-update-component", self._json_check(expect),
                          json=body, headers={"X-CSRFToken": self._csrf()})
        return None if resp is None else resp.json()

    def _dep(self, output: str) -> dict[str, Any]:
        return next(d for d in self.deps if d["output"] == output
                    or d["output"].startswith(f"..{output}."))

    def _value(self, cid: str, prop: str) -> Any:
        return self.props.get(cid, {}).get(prop)

    def route(self, path: str, search: str) -> bool:
        """The pages router for ``path`` + ``search``, then the page's initial callbacks."""
        router = next(d for d in self.deps if ROUTER_OUTPUT in d["output"])
        out = self._post("callback: pages router", router,
                         [{"id": "_pages_location", "property": "pathname", "value": path},
                          {"id": "_pages_location", "property": "search", "value": search}],
                         [], ["_pages_location.pathname", "_pages_location.search"])
        if out is None:
            return False
        self.path, self.search = path, search
        content = out["response"]["_pages_content"]["children"]
        page_props: dict[str, dict[str, Any]] = {}
        _walk(content, page_props)
        shell = {k: v for k, v in self.props.items() if k in ("eqm-url", "_pages_location",
                                                               "_pages_content",
                                                               "_pages_store")}
        self.props = {**shell, **page_props}
        return self.fire_initial(set(page_props))

    def fire_initial(self, new_ids: set[str]) -> bool:
        """Fire the callbacks Dash's renderer fires for a new layout: not prevented, not
        clientside, every output and input in the layout, at least one input new; callbacks
        fed by another one's output wait for it (then fire as a chain)."""
        present = set(self.props)
        todo = []
        for dep in self.deps:
            if dep.get("clientside_function") or dep.get("prevent_initial_call"):
                continue
            outs = _dep_outputs(dep)
            ins = [(i["id"], i["property"]) for i in dep["inputs"]]
            if not all(o[0] in present for o in outs) or not all(i[0] in present for i in ins):
                continue
            if not any(i[0] in new_ids for i in ins):
                continue
            todo.append(dep)
        produced = {f"{i}.{p}" for dep in todo for i, p in _dep_outputs(dep)}
        first = [d for d in todo if not any(f"{i['id']}.{i['property']}" in produced
                                            for i in d["inputs"])]
        ok = True
        for dep in first:
            ok &= self._fire(dep, [f"{i['id']}.{i['property']}" for i in dep["inputs"]],
                             depth=0)
        return ok

    def _fire(self, dep: Mapping[str, Any], changed: list[str], depth: int) -> bool:
        def fill(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"id": i["id"], "property": i["property"],
                     "value": self._value(i["id"], i["property"])} for i in items]

        name = _dep_outputs(dep)[0][0]
        out = self._post(f"callback: {name}", dep, fill(dep["inputs"]), fill(dep["state"]),
                         changed)
        if out is None:
            return False
        changed_now = []
        for cid, props in out.get("response", {}).items():
            self.props.setdefault(cid, {}).update(props)
            changed_now += [f"{cid}.{p}" for p in props if p != "children"]
        ok = True
        if depth < 3 and changed_now:
            for nxt in self.deps:
                if nxt.get("clientside_function") or nxt is dep:
                    continue
                hit = [c for c in changed_now
                       if c in {f"{i['id']}.{i['property']}" for i in nxt["inputs"]}]
                if hit and all(i["id"] in self.props for i in nxt["inputs"]):
                    ok &= self._fire(nxt, hit, depth + 1)
        return ok

    def open_page(self, path: str) -> bool:
        """A full page load of ``path`` (HTML, layout, dependencies, router, callbacks)."""
        return self.load_shell(path) and self.route(path, "")

    def filter_choices(self) -> list[tuple[str, Any]]:
        """(filter key, option value) pairs the page's filter bar offers now."""
        out = []
        for cid, props in self.props.items():
            if not cid.startswith("{") or FILTER_TYPE not in cid or props.get("disabled"):
                continue
            key = json.loads(cid)["key"]
            for opt in props.get("options") or []:
                if opt.get("value") != props.get("value"):
                    out.append((key, opt["value"]))
        return out

    def change_filter(self, key: str, value: Any) -> bool:
        """Pick ``value`` in the filter dropdown ``key``: the URL callback, then the router."""
        filters = {json.loads(c)["key"]: p for c, p in self.props.items()
                   if c.startswith("{") and FILTER_TYPE in c}
        order = [k for k in ("exam", "grade", "subject", "zone", "school", "class")
                 if k in filters]
        ids = [{"type": FILTER_TYPE, "key": k} for k in order]
        values = [value if k == key else filters[k].get("value") for k in order]
        dep = self._dep(FILTERS_URL_OUTPUT)
        # A wildcard (ALL) input or state is sent as the list of the matching components.
        inputs = [[{"id": i, "property": "value", "value": v}
                   for i, v in zip(ids, values, strict=True)]]
        state = [[{"id": i, "property": "id", "value": i} for i in ids],
                 {"id": "filters-store", "property": "data",
                  "value": self._value("filters-store", "data")}]
        changed = [json.dumps({"key": key, "type": FILTER_TYPE}, separators=(",", ":"))
                   + ".value"]
        out = self._post("callback: filter bar → URL", dep, inputs, state, changed)
        if out is None:
            return False
        search = out["response"]["eqm-url"]["search"]
        return self.route(self.path, search)


# -- the users and the run --------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str


def create_accounts(db: Path, n_users: int, *, prefix: str = "loadtest") -> list[Account]:
    """Half research officers, half principals (of different schools), random passwords."""
    from analytics.users import add_user
    from analytics.warehouse import Warehouse

    accounts = []
    with Warehouse(db) as wh:
        schools = [int(s) for s in wh.df("SELECT school_id FROM schools ORDER BY school_id")
                   ["school_id"]]
        n_principals = n_users // 2
        for i in range(n_users):
            role = "principal" if i < n_principals else "officer"
            name = f"{prefix}-{role}-{i + 1:02d}"
            password = secrets.token_urlsafe(12)
            add_user(wh, name, password, role, replace=True,
                     school=schools[i % len(schools)] if role == "principal" else None)
            accounts.append(Account(name, password, role))
    return accounts


def remove_accounts(db: Path, accounts: Sequence[Account]) -> None:
    from analytics.users import remove_user
    from analytics.warehouse import Warehouse

    with Warehouse(db) as wh:
        for a in accounts:
            remove_user(wh, a.username)


def user_session(base_url: str, account: Account, recorder: Recorder, *, requests_: int,
                 deadline: float, seed: int, timeout: float) -> None:
    """One user: log in, then ``requests_`` interactions (open a page of the role, or change a
    filter on the current page), until the deadline."""
    rng = random.Random(seed)
    browser = Browser(base_url, recorder, timeout=timeout, rng=rng)
    if not browser.login(account.username, account.password):
        return
    pages = PAGES_BY_ROLE[account.role]
    for i in range(requests_):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        choices = browser.filter_choices() if i > 0 else []
        if choices and rng.random() < 0.6:
            key, value = rng.choice(choices)
            kind, ok = "interaction: change a filter", browser.change_filter(key, value)
        else:
            kind, ok = "interaction: open a page", browser.open_page(rng.choice(pages))
        recorder.add(Sample(kind, time.perf_counter() - t0, ok), interaction=True)


def run_load(base_url: str, accounts: Sequence[Account], *, requests_per_user: int,
             time_limit: float, timeout: float = 60.0, seed: int = 1) -> tuple[Recorder, float]:
    """All users at once, one thread each; returns the recorder and the wall time."""
    recorder = Recorder()
    deadline = time.monotonic() + time_limit
    threads = [threading.Thread(target=user_session, name=a.username,
                                args=(base_url, a, recorder),
                                kwargs={"requests_": requests_per_user, "deadline": deadline,
                                        "seed": seed * 1000 + i, "timeout": timeout})
               for i, a in enumerate(accounts)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=time_limit + timeout + 30)
    return recorder, time.perf_counter() - t0


# -- a flood of failed logins ------------------------------------------------------------------
FLOOD_KIND = "flood: failed login"


def login_flood(base_url: str, recorder: Recorder, stop: threading.Event, *, threads: int = 6,
                rate: float = 10.0, max_attempts: int = 600, time_limit: float = 60.0,
                timeout: float = 30.0, spread: bool = False, seed: int = 7
                ) -> list[threading.Thread]:
    """Start ``threads`` attackers that together send about ``rate`` failed logins a second
    (random user names, wrong passwords, each from its own browser session with a valid CSRF
    token) to 127.0.0.1 until ``stop`` is set, ``max_attempts`` in all or ``time_limit``
    seconds. A 401 or 429 answer is right; a sign-in (302) or anything else is an error.
    ``spread``: every attempt claims another client address in ``X-Forwarded-For`` (what many
    machines behind a trusted proxy look like; believed only when the server trusts one).
    Returns the started threads (join them after setting ``stop``)."""
    if not base_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError("the load test only talks to 127.0.0.1")
    deadline = time.monotonic() + time_limit
    per_thread = max(1, max_attempts // threads)
    interval = threads / rate

    def attacker(k: int) -> None:
        rng = random.Random(seed * 100 + k)
        http = requests.Session()
        http.trust_env = False  # never a proxy: loopback only
        try:
            page = http.get(base_url + "/login", timeout=timeout)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        except requests.RequestException as exc:
            recorder.add(Sample(FLOOD_KIND, 0.0, False, f"login form: {exc}"))
            return
        if token is None:
            recorder.add(Sample(FLOOD_KIND, 0.0, False, "no CSRF token on the form"))
            return
        next_at = time.monotonic() + rng.random() * interval
        for _ in range(per_thread):
            pause = next_at - time.monotonic()
            if stop.wait(max(0.0, pause)) or time.monotonic() > deadline:
                return
            next_at += interval
            headers = ({"X-Forwarded-For": f"10.{rng.randrange(256)}.{rng.randrange(256)}."
                                          f"{rng.randrange(1, 255)}"} if spread else {})
            t0 = time.perf_counter()
            try:
                resp = http.post(base_url + "/login", timeout=timeout, allow_redirects=False,
                                 headers=headers,
                                 data={"csrf_token": token.group(1),
                                       "username": f"guess-{rng.randrange(10**6)}",
                                       "password": secrets.token_urlsafe(9), "next": "/"})
                code = resp.status_code
                problem = None if code in (401, 429) else f"status {code}"
            except requests.RequestException as exc:
                code, problem = 0, f"{type(exc).__name__}: {exc}"
            recorder.add(Sample(FLOOD_KIND, time.perf_counter() - t0, problem is None,
                                problem or str(code)))

    started = [threading.Thread(target=attacker, args=(k,), name=f"flood-{k}", daemon=True)
               for k in range(threads)]
    for t in started:
        t.start()
    return started


def _probe_rounds(browser: Browser, path: str, rounds: int, deadline: float,
                  go_on: Callable[[], bool] = lambda: True) -> list[float]:
    """The signed-in user's page callbacks (router + the page's data callbacks), ``rounds``
    times or until the deadline or ``go_on()`` is false; returns the callbacks' latencies in
    seconds."""
    first = len(browser.recorder.samples)
    for _ in range(rounds):
        if time.monotonic() > deadline or not go_on():
            break
        browser.route(path, "")
    with browser.recorder.lock:
        return [s.seconds for s in browser.recorder.samples[first:]
                if s.kind.startswith("callback:")]


def flood_scenario(base_url: str, account: Account, *, rounds: int = 12,
                   path: str = "/officer/overview", threads: int = 6, rate: float = 10.0,
                   max_attempts: int = 600, time_limit: float = 120.0, timeout: float = 30.0,
                   spread: bool = False, warmup: float = 2.0) -> dict[str, Any]:
    """Another user's callback latency, quiet and during a flood of failed logins.

    The user logs in and opens ``path`` (caches warm), then fires the page's callbacks
    ``rounds`` times while :func:`login_flood` runs (from ``warmup`` seconds after its start
    on), and ``rounds`` times quietly: half before
    the flood and half after it (so that a change in the machine's load during the run
    weighs on both figures alike).

    Returns
    -------
    dict
        ``quiet_p50``, ``flood_p50`` (ms), ``ratio``, ``quiet_n``, ``flood_n`` (callbacks),
        ``flood`` (attempts by answer: ``"401"``, ``"429"``, errors), ``flood_rate`` (attempts
        a second while it ran), ``errors`` (the user's and the flood's failed samples: kind,
        detail).
    """
    deadline = time.monotonic() + time_limit
    user_rec, flood_rec = Recorder(), Recorder()
    browser = Browser(base_url, user_rec, timeout=timeout)
    if not browser.login(account.username, account.password) or not browser.open_page(path):
        raise RuntimeError(f"the probe user could not open {path}: "
                           f"{[s.detail for s in user_rec.samples if not s.ok]}")
    quiet = _probe_rounds(browser, path, (rounds + 1) // 2, deadline)
    stop = threading.Event()
    t0 = time.perf_counter()
    attackers = login_flood(base_url, flood_rec, stop, threads=threads, rate=rate,
                            max_attempts=max_attempts, time_limit=time_limit, timeout=timeout,
                            spread=spread)
    try:
        time.sleep(warmup)  # every attacker has started, the flood is in its steady state
        # Only while the flood lasts (it ends at max_attempts or time_limit).
        flooded = _probe_rounds(browser, path, rounds, deadline,
                                lambda: any(t.is_alive() for t in attackers))
    finally:
        stop.set()
        for t in attackers:
            t.join(timeout + 5)
    seconds = time.perf_counter() - t0
    quiet += _probe_rounds(browser, path, rounds // 2, deadline)
    answers: dict[str, int] = {}
    for s in flood_rec.samples:
        key = s.detail if s.ok else "error"
        answers[key] = answers.get(key, 0) + 1
    q50 = percentile(quiet, .5) * 1000
    f50 = percentile(flooded, .5) * 1000
    errors = [(s.kind, s.detail) for s in user_rec.samples + flood_rec.samples if not s.ok]
    return {"quiet_p50": q50, "flood_p50": f50, "ratio": f50 / q50 if q50 else float("nan"),
            "quiet_n": len(quiet), "flood_n": len(flooded), "flood": answers,
            "flood_rate": len(flood_rec.samples) / seconds if seconds else 0.0,
            "errors": errors}


def flood_text(result: Mapping[str, Any], *, threads: int, rate: float, spread: bool) -> str:
    answers = ", ".join(f"{n} × {k}" for k, n in sorted(result["flood"].items()))
    source = "many forwarded addresses" if spread else "one address"
    return (f"failed-login flood ({threads} threads, {rate:g}/s asked, "
            f"{result['flood_rate']:.1f}/s sent, {source}"
            f"; answers {answers}): another officer's callback p50 {result['quiet_p50']:.0f} ms "
            f"quiet ({result['quiet_n']} callbacks) → {result['flood_p50']:.0f} ms during the "
            f"flood ({result['flood_n']}), ratio {result['ratio']:.2f}")


# -- report -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0–1) with linear interpolation (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarise(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """Per kind: n, errors, p50, p95, max (ms), in first-seen order."""
    kinds = list(dict.fromkeys(s.kind for s in samples))
    rows = []
    for kind in kinds:
        xs = [s.seconds * 1000 for s in samples if s.kind == kind]
        rows.append({"kind": kind, "n": len(xs),
                     "errors": sum(not s.ok for s in samples if s.kind == kind),
                     "p50": percentile(xs, .5), "p95": percentile(xs, .95), "max": max(xs)})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| endpoint kind | requests | errors | p50 | p95 | max |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['kind']} | {r['n']} | {r['errors']} | {r['p50']:.0f} | "
                     f"{r['p95']:.0f} | {r['max']:.0f} |")
    return "\n".join(lines)


def write_docs(text: str, path: Path = DOCS) -> None:
    """Replace (or append) this script's section of docs/benchmarks.md, re-reading the file
    right before writing so that the other sections are kept as they are now."""
    doc = path.read_text(encoding="utf-8")
    start = doc.find(SECTION)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n\n" + text.rstrip("\n") + "\n"
    else:
        nxt = doc.find("\n## ", start + len(SECTION))
        end = len(doc) if nxt < 0 else nxt + 1
        doc = doc[:start] + text.rstrip("\n") + "\n" + ("\n\n" if nxt >= 0 else "") + \
            doc[end:].lstrip("\n")
    path.write_text(doc, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: a new demo)")
    ap.add_argument("--students", type=int, default=3000, help="demo size (without --db)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--requests", type=int, default=10, help="interactions per user")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for all users")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request")
    ap.add_argument("--no-prepare", action="store_true",
                    help="skip prepare_warehouse (summary refresh, demo archive) before serving")
    ap.add_argument("--in-process", action="store_true", help="serve from a thread of this process")
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--flood", action="store_true",
                    help="also: another officer's callbacks quiet and during a failed-login flood")
    ap.add_argument("--flood-threads", type=int, default=6)
    ap.add_argument("--flood-rate", type=float, default=10.0, help="failed logins a second")
    ap.add_argument("--flood-rounds", type=int, default=12,
                    help="page callback rounds of the officer, quiet and flooded each")
    ap.add_argument("--flood-spread", action="store_true",
                    help="each failed login from another (forwarded) address, server trusting "
                         "the proxy header: every attempt reaches the password check")
    args = ap.parse_args(argv)
    if args.serve:
        _serve_child(args.serve)
        return 0

    from analytics.warehouse import Warehouse

    tmp = tempfile.TemporaryDirectory(prefix="eqm-load-")
    if args.db is None:
        from analytics.demo import build_demo

        db = Path(tmp.name) / "demo.duckdb"
        print(f"building the demo ({args.students:,} students) …", flush=True)
        build_demo(db, students=args.students, out_dir=Path(tmp.name) / "files",
                   progress=False)
    else:
        db = args.db
    if not args.no_prepare:
        from dashboards.app import prepare_warehouse

        t0 = time.perf_counter()
        prepare_warehouse(db, demo_users=False)
        print(f"prepare_warehouse: {time.perf_counter() - t0:.1f} s", flush=True)
    with Warehouse(db) as wh:
        size = wh.df("SELECT (SELECT count(*) FROM students) AS students, "
                     "(SELECT count(*) FROM schools) AS schools, "
                     "(SELECT count(*) FROM papers) AS papers").iloc[0]
    accounts = create_accounts(db, args.users)
    probe = create_accounts(db, 2, prefix="loadflood") if args.flood else []
    serve = serve_in_thread if args.in_process else serve_in_process
    key = secrets.token_hex(32)
    flood: dict[str, Any] | None = None
    try:
        with serve(db, key, trusted_proxy=args.flood_spread) as base:
            print(f"serving on {base}; {len(accounts)} users × {args.requests} interactions",
                  flush=True)
            load0 = os.getloadavg()[0]
            recorder, wall = run_load(base, accounts, requests_per_user=args.requests,
                                      time_limit=args.time_limit, timeout=args.timeout)
            if probe:
                flood = flood_scenario(base, next(a for a in probe if a.role == "officer"),
                                       rounds=args.flood_rounds, threads=args.flood_threads,
                                       rate=args.flood_rate, timeout=args.timeout,
                                       time_limit=args.time_limit, spread=args.flood_spread)
    finally:
        remove_accounts(db, [*accounts, *probe])
        tmp.cleanup()
    rows = summarise(recorder.samples)
    inter = summarise(recorder.interactions)
    errors = sum(r["errors"] for r in rows)
    n_req = sum(r["n"] for r in rows)
    roles = {r: sum(a.role == r for a in accounts) for r in ("officer", "principal")}
    head = (f"{len(accounts)} users ({roles['officer']} research officers, {roles['principal']} "
            f"principals) × {args.requests} interactions, {int(size['students']):,} students, "
            f"{int(size['schools'])} schools, {int(size['papers'])} papers; {n_req} HTTP "
            f"requests in {wall:.1f} s ({n_req / max(wall, 1e-9):.1f} req/s), {errors} errors; "
            f"load average at start {load0:.1f} (2 shared cores)")
    print(head)
    print(markdown(rows + inter))
    failures = [s for s in recorder.samples if not s.ok][:10]
    for s in failures:
        print(f"  error: {s.kind}: {s.detail}")
    if flood is not None:
        print(flood_text(flood, threads=args.flood_threads, rate=args.flood_rate,
                         spread=args.flood_spread))
        for kind, detail in flood["errors"][:10]:
            print(f"  error: {kind}: {detail}")
        errors += len(flood["errors"])
    if args.json:
        args.json.write_text(json.dumps({"head": head, "requests": rows, "interactions": inter,
                                         "flood": flood}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
    if args.write_docs:
        flood_line = None if flood is None else flood_text(
            flood, threads=args.flood_threads, rate=args.flood_rate, spread=args.flood_spread)
        write_docs(docs_section(head, rows, inter, args, flood_line))
        print(f"updated {DOCS}")
    return 1 if errors else 0


def docs_section(head: str, rows: list[dict[str, Any]], inter: list[dict[str, Any]],
                 args: argparse.Namespace, flood_line: str | None = None) -> str:
    cmd = "python benchmarks/load_test.py" + (f" --db {args.db}" if args.db else
                                              f" --students {args.students}") + \
        f" --users {args.users} --requests {args.requests}" + \
        (" --flood" if flood_line else "") + (" --flood-spread" if args.flood_spread else "") + \
        " --write-docs"
    flood_part = "" if flood_line is None else f"""
Then, on the same server, the {flood_line} (`--flood`, issue 13: a signed-in officer fires a
page's callbacks quietly — half before, half after — and while the flood runs).
"""
    return f"""{SECTION}

`{cmd}` (issue 7, part 4) — starts the dashboard on 127.0.0.1 (Werkzeug's threaded server, as
`eqm serve`; its own process, caches cold at the start) after `prepare_warehouse` (summary
tables), logs in the users over HTTP and runs them concurrently, one thread each, as the browser
would: page HTML, `/_dash-layout`, `/_dash-dependencies`, the pages router callback, every data
callback the renderer fires for the new layout, and for filter changes the filter bar's URL
callback first. Payloads come from the app's own dependencies and layouts. Every response is
checked (status 200, JSON, the callback's output ids, no refusal or error message); bounded by
a fixed number of interactions per user and an overall time limit.

{head}. Latency in ms:

{markdown(rows)}

Whole interactions (every request of a page load or a filter change, in sequence):

{markdown(inter)}

Reading: the service answers every callback under one lock on one DuckDB connection, so under
20 concurrent users callbacks queue behind each other; the p95 is that queue, not one callback's
cost (see the single-user figures in "Dashboards: callback latency"). `tests/test_load.py` runs
a small bounded version (20 users × 5) and asserts zero errors and well-formed responses (no
timing assertion), and the flood scenario with its one timing assertion (flooded callback p50
under twice the quiet one).
{flood_part}"""


if __name__ == "__main__":
    raise SystemExit(main())
