"""Issue 13, items 12–14 and 17 (in part): sessions that end, redirects that stay on the site,
failed logins that back off instead of locking accounts, and the security headers.

* 12: a copied session cookie stops working after a log-out (also after a restart of the
  server), a password reset, a role change, ``end-sessions``, and a removal followed by a
  re-creation under the same name — the account changes made with the CLI (``eqm users …``)
  while the dashboard runs, as an administrator would.
* 13: ``next`` after the login is normalised as a browser would before it is checked.
* 14: the back-off per client address and per user name (429 + Retry-After), the real user
  signing in from another address, the password check outside the service's lock and bounded.
* 17: Content-Security-Policy on every response (covering Dash's inline scripts by hash), the
  Secure cookie flag over HTTPS and behind a trusted proxy only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analytics import users
from analytics.users import add_user
from analytics.warehouse import Warehouse
from dashboards import auth
from dashboards.auth import LoginThrottle, safe_next
from tests.builders import build_exam
from tests.dash_client import PASSWORD, csrf, login

SECRET = "h" * 64
VICTIMS = ("v-logout", "v-reset", "v-role", "v-remove", "v-end", "v-restart")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "w.duckdb"
    wh = Warehouse(path)
    build_exam(wh, n_schools=2, students_per_school=6, seed=3)
    add_user(wh, "officer", PASSWORD, "officer")
    add_user(wh, "admin", PASSWORD, "admin")
    add_user(wh, "p1", PASSWORD, "principal", school=1)
    for name in VICTIMS:
        add_user(wh, name, PASSWORD, "officer")
    wh.close()
    return path


@pytest.fixture(scope="module")
def app(db: Path) -> Iterator[Any]:
    from dashboards.app import create_app

    app = create_app(db, secret_key=SECRET)
    yield app
    app.server.config["EQM_SERVICE"].close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_throttle(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """Each test starts with an empty back-off table and a clock of its own."""
    clock = Clock()
    if "app" in request.fixturenames:
        state = request.getfixturevalue("app").server.extensions["eqm_auth"]
        state.throttle.keys.clear()
        state.throttle.clock = clock
    yield clock


# -- helpers ------------------------------------------------------------------------------------
def attempt(app: Any, username: str, password: str, *, addr: str = "127.0.0.1",
            next_: str = "/", headers: dict[str, str] | None = None,
            base_url: str = "http://localhost") -> Any:
    """One login from a fresh browser at ``addr``: GET the form, POST it."""
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    page = client.get("/login", base_url=base_url, headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    resp = client.post("/login", base_url=base_url, headers=headers,
                       data={"csrf_token": token.group(1), "username": username,
                             "password": password, "next": next_})
    resp.client = client
    return resp


def stolen(client: Any) -> str:
    """The value of the session cookie, as an attacker would copy it."""
    cookie = client.get_cookie("eqm_session")
    assert cookie is not None
    return str(cookie.value)


def works(app: Any, cookie: str) -> bool:
    """Whether a fresh browser holding only ``cookie`` is signed in."""
    client = app.server.test_client()
    client.set_cookie("eqm_session", cookie)
    return bool(client.get("/_dash-layout").status_code == 200)


def eqm(db: Path, *args: str) -> None:
    from eqm.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output


# == 12. Sessions that end =======================================================================
def test_a_copied_cookie_dies_with_the_log_out_also_after_a_restart(app: Any, db: Path) -> None:
    client = login(app, "v-logout")
    cookie = stolen(client)
    other = login(app, "v-logout")  # the same user in another browser
    assert works(app, cookie)
    resp = client.post("/logout", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert not works(app, cookie)
    assert other.get("/_dash-layout").status_code == 200  # only that session ended
    # A new server process on the same warehouse (same secret) refuses it too.
    from dashboards.app import create_app

    again = create_app(db, secret_key=SECRET)
    try:
        assert not works(again, cookie)
        assert works(again, stolen(other))
    finally:
        again.server.config["EQM_SERVICE"].close()


def test_a_refused_cookie_is_cleared_not_renewed(app: Any) -> None:
    client = login(app, "v-restart")
    cookie = stolen(client)
    client.post("/logout", data={"csrf_token": csrf(client)})
    thief = app.server.test_client()
    thief.set_cookie("eqm_session", cookie)
    assert thief.get("/_dash-layout").status_code == 401
    now = thief.get_cookie("eqm_session")
    assert now is None or now.value != cookie  # the server never re-signs the dead session


@pytest.mark.parametrize(("name", "command"), [
    ("v-reset", ("users", "reset", "v-reset", "--password", "new-password-1")),
    ("v-role", ("users", "add", "v-role", "--role", "committee", "--password", PASSWORD,
                "--replace")),
    ("v-end", ("users", "end-sessions", "v-end")),
])
def test_a_copied_cookie_dies_when_the_cli_changes_the_account(app: Any, db: Path, name: str,
                                                               command: tuple[str, ...]) -> None:
    """The dashboard runs (it reads its published snapshot) while ``eqm users …`` writes the
    warehouse file: the very next request with the old cookie is refused."""
    cookie = stolen(login(app, name))
    assert works(app, cookie)
    eqm(db, *command)
    assert not works(app, cookie)
    new_password = "new-password-1" if "reset" in command else PASSWORD
    assert works(app, stolen(login(app, name, new_password)))  # a new login works
    if "reset" in command:
        assert attempt(app, name, PASSWORD, addr="192.0.2.77").status_code == 401


def test_a_copied_cookie_dies_when_the_user_is_removed_and_created_again(app: Any,
                                                                         db: Path) -> None:
    cookie = stolen(login(app, "v-remove"))
    eqm(db, "users", "remove", "v-remove")
    assert not works(app, cookie)
    eqm(db, "users", "add", "v-remove", "--role", "officer", "--password", PASSWORD)
    assert not works(app, cookie)  # same name, same password: still not the old session
    assert works(app, stolen(login(app, "v-remove")))


def test_a_cookie_without_the_users_token_is_refused(app: Any) -> None:
    """A session signed before the upgrade (name only), or forged with another token."""
    signer = app.server.session_interface.get_signing_serializer(app.server)
    for data in ({"username": "officer", "csrf": "x"},
                 {"username": "officer", "csrf": "x", "sid": "s", "ut": "not-the-token"}):
        assert not works(app, signer.dumps(data))
    real = app.server.config["EQM_SERVICE"].get_user("officer").session_token
    assert works(app, signer.dumps({"username": "officer", "csrf": "x", "sid": "s", "ut": real}))


def test_every_account_change_gives_a_fresh_token(wh: Warehouse) -> None:
    first = add_user(wh, "a", PASSWORD, "officer")
    b = add_user(wh, "b", PASSWORD, "officer")
    tokens = [first.session_token, b.session_token]
    tokens.append(add_user(wh, "a", PASSWORD, "committee", replace=True).session_token)
    tokens.append(users.reset_password(wh, "a", "password-2").session_token)
    users.end_sessions(wh, "a")
    tokens.append(users.get_user(wh, "a").session_token)  # type: ignore[union-attr]
    users.remove_user(wh, "a")
    tokens.append(add_user(wh, "a", PASSWORD, "officer").session_token)
    assert all(isinstance(t, str) and len(t) >= 40 for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert "session_token" not in list(users.list_users(wh).columns)
    assert first.session_token is not None and first.session_token not in repr(first)


def test_upgrade_gives_existing_users_distinct_tokens(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Warehouse(path) as wh:  # back to a warehouse of schema 5, with two users
        wh.execute("ALTER TABLE users DROP COLUMN session_token")
        wh.execute("DELETE FROM schema_version WHERE version = 6")
        wh.execute("INSERT INTO users (username, password_hash, role) "
                   "VALUES ('a', 'x', 'officer'), ('b', 'x', 'admin')")
    with Warehouse(path) as wh:  # opening it applies migration 006
        assert 6 in set(wh.df("SELECT version FROM schema_version")["version"])
        tokens = list(wh.df("SELECT session_token FROM users")["session_token"])
    assert len(set(tokens)) == 2 and all(isinstance(t, str) and len(t) >= 32 for t in tokens)


# == 13. Redirect after login ====================================================================
NASTY_NEXT = [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example",
    " //evil.example", "\x00//evil.example", "/\x00/evil.example", "//evil.example",
    "///evil.example", "/\\evil.example", "\\/evil.example", "\\\\evil.example",
    "/\t\\evil.example", "https://evil.example", "http:evil.example", "javascript:alert(1)",
    "evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "%2F%2Fevil.example",
    "/%5Cevil.example", "/%252F/evil.example", "/%25252F%25252Fevil.example", "/%09/evil.example",
    "/\x7f/evil.example", "/\x85/evil.example", "", "/" + "a" * 3000,
]
GOOD_NEXT = ["/", "/officer/overview", "/officer/items?exam=期末监测&grade=8&subject=数学",
             "/principal?lang=en", "/a b", "/officer/overview#top"]


@pytest.mark.parametrize("target", NASTY_NEXT)
def test_nasty_next_goes_home(app: Any, target: str) -> None:
    assert safe_next(target) == "/"
    resp = attempt(app, "officer", PASSWORD, next_=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/", (target, resp.headers["Location"])
    # nor does the form echo it back
    page = app.server.test_client().get("/login?next=" + urllib.parse.quote(target))
    assert 'name="next" value="/"' in page.get_data(as_text=True)


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_plain_paths_are_kept(app: Any, target: str) -> None:
    assert safe_next(target) == target
    resp = attempt(app, "officer", PASSWORD, next_=target)
    assert urllib.parse.unquote(resp.headers["Location"]) == target


def test_normalised_like_a_browser() -> None:
    assert safe_next("  /officer/overview\t") == "/officer/overview"
    assert safe_next("/officer/\tover\nview") == "/officer/overview"
    assert safe_next(None) == "/" and safe_next(["/x"]) == "/"


def test_login_redirect_carries_the_path_quoted(app: Any) -> None:
    resp = app.server.test_client().get("/officer/items?exam=a&grade=8")
    assert resp.status_code == 302
    query = urllib.parse.urlsplit(resp.headers["Location"]).query
    assert urllib.parse.parse_qs(query)["next"] == ["/officer/items?exam=a&grade=8"]


# == 14. Failed logins ===========================================================================
def test_guessing_one_name_backs_off_the_client_not_the_account(app: Any) -> None:
    for _ in range(auth.CLIENT_FREE):
        assert attempt(app, "admin", "guess-guess", addr="198.51.100.7").status_code == 401
    resp = attempt(app, "admin", PASSWORD, addr="198.51.100.7")  # not even checked
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    text = resp.get_data(as_text=True)
    assert "秒后再试" in text and "try again" in text
    assert resp.client.get("/_dash-layout").status_code == 401
    # the administrator, from their own computer, signs in at once
    assert attempt(app, "admin", PASSWORD, addr="198.51.100.8").status_code == 302


def test_spraying_names_from_one_client_backs_off(app: Any) -> None:
    for i in range(auth.CLIENT_FREE):
        assert attempt(app, f"nobody{i}", "guess-guess", addr="203.0.113.5").status_code == 401
    assert attempt(app, "nobody-else", "guess-guess", addr="203.0.113.5").status_code == 429
    assert attempt(app, "nobody-else", "guess-guess", addr="203.0.113.6").status_code == 401


def test_one_name_from_many_clients_slows_down_and_recovers(app: Any,
                                                            fresh_throttle: Clock) -> None:
    for i in range(auth.NAME_FREE):
        assert attempt(app, "officer", "guess-guess", addr=f"10.1.0.{i}").status_code == 401
    resp = attempt(app, "officer", PASSWORD, addr="10.1.1.1")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert attempt(app, "p1", "guess-guess", addr="10.1.1.1").status_code == 401  # other names
    fresh_throttle.now += 1.01  # after the wait the right password works and clears the name
    assert attempt(app, "officer", PASSWORD, addr="10.1.1.1").status_code == 302
    assert attempt(app, "officer", "guess-guess", addr="10.1.1.2").status_code == 401


def test_concurrent_right_logins_from_one_address_all_succeed(app: Any) -> None:
    """A school behind one address: many people signing in at once are not throttled (attempts
    are counted inside the password-check slot, not before it)."""
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(
        attempt(app, "officer", PASSWORD, addr="198.51.100.50").status_code))
        for _ in range(auth.CLIENT_FREE + 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [302] * (auth.CLIENT_FREE + 3)


def test_back_off_doubles_caps_and_is_forgotten() -> None:
    clock = Clock()
    th = LoginThrottle(client_free=3, client_max=8.0, name_free=100, name_max=60.0,
                       forget=100.0, clock=clock)
    for _ in range(3):
        assert th.start("c", "n") == 0
    waits = []
    for _ in range(6):
        wait = th.start("c", "n")
        assert wait > 0
        waits.append(round(wait, 6))
        clock.now += wait
        assert th.start("c", "n") == 0  # the attempt after the wait is checked (and counted)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert th.start("c", "n") == 8.0  # blocked attempts do not count
    assert th.start("c", "n") == 8.0
    th.succeeded("c", "n")  # success takes back one count only, for the client
    assert th.start("c", "other") == 8.0
    clock.now += 101
    assert th.start("c", "n") == 0  # a quiet hour (here 100 s) forgets


def test_throttle_memory_is_bounded() -> None:
    th = LoginThrottle(max_keys=100, clock=Clock())
    for i in range(1000):
        th.start(f"10.0.{i // 250}.{i % 250}", f"name{i}")
    assert len(th.keys) <= 100


def test_password_check_runs_outside_the_service_lock(app: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The scrypt check used to run inside the service's lock, so every callback of every
    user waited for a flood of failed logins."""
    svc = app.server.config["EQM_SERVICE"]
    checking, release = threading.Event(), threading.Event()
    real = users.verify_password

    def slow(stored: str, password: str) -> bool:
        checking.set()
        release.wait(10)
        return real(stored, password)

    monkeypatch.setattr(users, "verify_password", slow)
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(
        attempt(app, "officer", "guess-guess", addr="192.0.2.200").status_code))
    thread.start()
    try:
        assert checking.wait(10)
        free = svc._lock.acquire(timeout=2)  # what a callback needs meanwhile
        assert free, "the password check holds the service lock"
        svc._lock.release()
    finally:
        release.set()
        thread.join(20)
    assert result == [401]


def test_password_checks_are_bounded(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most one scrypt at a time; a login that cannot get a slot soon is answered 429."""
    running, most = [0], [0]
    lock = threading.Lock()
    real = users.verify_password

    def counted(stored: str, password: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real(stored, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(users, "verify_password", counted)
    codes: list[int] = []
    threads = [threading.Thread(target=lambda i=i: codes.append(
        attempt(app, f"nobody{i}", "guess-guess", addr=f"192.0.2.{100 + i}").status_code))
        for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [401] * 4 and most[0] == 1
    state = app.server.extensions["eqm_auth"]
    monkeypatch.setattr(auth, "CHECK_QUEUE_SECONDS", 0.05)
    assert state.checks.acquire(timeout=1)
    try:
        resp = attempt(app, "officer", PASSWORD, addr="192.0.2.150")
    finally:
        state.checks.release()
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"


# == 17. Headers and cookies =====================================================================
def _inline_script_hashes(html: str) -> set[str]:
    found = set()
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)  # (Dash's IE notice is a comment)
    for m in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S):
        if "application/json" in m.group(1):
            continue  # data, never executed
        found.add("'sha256-" + base64.b64encode(hashlib.sha256(m.group(2).encode()).digest())
                  .decode() + "'")
    return found


def test_content_security_policy_on_every_response(app: Any) -> None:
    client = login(app, "officer")
    for path in ("/", "/officer/overview", "/_dash-layout", "/_dash-dependencies"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        policy = resp.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        script = directives["script-src"].split()
        assert "'self'" in script
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        if path in ("/", "/officer/overview"):  # the page's inline scripts are allowed by hash
            hashes = _inline_script_hashes(resp.get_data(as_text=True))
            assert hashes and hashes <= set(script), (hashes, script)
    login_page = app.server.test_client().get("/login")
    assert "script-src 'self'" in login_page.headers["Content-Security-Policy"]


def _cookie_flags(resp: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}


def test_secure_cookies_over_https_only(app: Any) -> None:
    plain = _cookie_flags(attempt(app, "officer", PASSWORD, addr="192.0.2.10"))
    assert "Secure" not in plain["eqm_session"] and "Secure" not in plain["_csrf_token"]
    tls = _cookie_flags(attempt(app, "officer", PASSWORD, addr="192.0.2.10",
                                base_url="https://localhost"))
    assert "Secure" in tls["eqm_session"] and "Secure" in tls["_csrf_token"]
    # Anybody can send X-Forwarded-Proto: believed only behind a trusted proxy.
    spoof = _cookie_flags(attempt(app, "officer", PASSWORD, addr="192.0.2.10",
                                  headers={"X-Forwarded-Proto": "https"}))
    assert "Secure" not in spoof["eqm_session"]


def test_trusted_proxy_gives_https_and_the_client_address(db: Path) -> None:
    from dashboards.app import create_app

    proxied = create_app(db, secret_key=SECRET, trusted_proxy=True)
    plain = create_app(db, secret_key=SECRET)
    try:
        resp = attempt(proxied, "officer", PASSWORD, addr="127.0.0.1",
                       headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.9"})
        assert resp.status_code == 302
        assert "Secure" in _cookie_flags(resp)["eqm_session"]
        for app_, throttled in ((proxied, False), (plain, True)):
            # one proxy address, many clients: each client backs off on its own …
            for i in range(auth.CLIENT_FREE):
                attempt(app_, "nobody", "guess-guess", addr="127.0.0.1",
                        headers={"X-Forwarded-For": f"192.0.2.{20 + i}"})
            # … while without the trusted proxy the forwarded address is not believed
            code = attempt(app_, "officer", PASSWORD, addr="127.0.0.1",
                           headers={"X-Forwarded-For": "192.0.2.99"}).status_code
            assert code == (429 if throttled else 302)
    finally:
        proxied.server.config["EQM_SERVICE"].close()
        plain.server.config["EQM_SERVICE"].close()
