"""Login, logout, sessions and CSRF for the Dash app (Flask routes and request guards).

* Users and password hashes live in the warehouse (:mod:`analytics.users`, scrypt).
* Sessions are Flask's signed cookies; the signing secret comes from the ``EQM_SECRET_KEY``
  environment variable, else from a secret file (``EQM_SECRET_FILE``, default
  ``.eqm_secret_key`` beside the warehouse file, git-ignored) that is generated on first use with
  :func:`secrets.token_hex` and written with mode 0600. No secret is ever in the code.
* ``/login`` is a plain Flask route (GET form, POST check) with a CSRF token bound to the
  session; the session is renewed on login (no fixation). ``/logout`` is a POST with the token.
* Sessions end for real: the cookie carries the user's ``session_token`` (replaced on a password
  reset, a role change, a removal and every re-creation, :mod:`analytics.users`) and a random
  session id that a log-out records as ended (:class:`RevokedSessions`, a small file beside the
  secret), so a copied cookie stops working at the next request.
* Failed logins back off per client address and per user name (:class:`LoginThrottle`, answer
  429 with ``Retry-After``); passwords are checked outside the service's lock, at most
  ``concurrent_checks`` at once.
* Headers: Content-Security-Policy (:func:`content_security_policy`), X-Frame-Options,
  nosniff, Referrer-Policy; the cookies' Secure flag when asked to, or whenever the request
  came over HTTPS (behind a proxy only when ``trusted_proxy`` is on).
* Every other route, including Dash's ``/_dash-layout``, ``/_dash-dependencies`` and
  ``/_dash-update-component``, requires a signed-in user (``login_required`` as a
  ``before_request`` guard, so no Dash route can be forgotten). Dash callback POSTs must also
  carry the session's CSRF token in the ``X-CSRFToken`` header: Dash's renderer copies it from
  the ``_csrf_token`` cookie that this module sets (double submit, bound to the session).
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import re
import secrets
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
from flask import g, redirect, render_template_string, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from analytics.users import User
from dashboards.i18n import lang_of, t

CSRF_COOKIE = "_csrf_token"      # the name Dash's renderer reads
CSRF_HEADER = "X-CSRFToken"      # the header Dash's renderer sends
SESSION_HOURS = 8
CLIENT_FREE = 5                  # failed logins of one client address before the back-off …
CLIENT_MAX_DELAY = 900.0         # … which doubles from 1 s up to 15 minutes
NAME_FREE = 10                   # failed logins of one user name (all clients) before …
NAME_MAX_DELAY = 60.0            # … a back-off doubling from 1 s up to 1 minute
FORGET_AFTER = 3600.0            # a key without failures for an hour is forgotten
CHECK_QUEUE_SECONDS = 15.0       # a login waits this long for a password-check slot, else 429

PUBLIC_PATHS = frozenset({"/login"})
log = logging.getLogger(__name__)


def secret_file_for(db_path: str | os.PathLike[str]) -> Path:
    """The default secret file: ``$EQM_SECRET_FILE`` or ``.eqm_secret_key`` beside the DB."""
    env = os.environ.get("EQM_SECRET_FILE")
    return Path(env) if env else Path(db_path).resolve().parent / ".eqm_secret_key"


def revoked_file_for(db_path: str | os.PathLike[str]) -> Path:
    """Where log-outs are kept (:class:`RevokedSessions`): ``.eqm_revoked_sessions`` beside the
    secret file (:func:`secret_file_for`), git-ignored."""
    return secret_file_for(db_path).with_name(".eqm_revoked_sessions")


def load_secret_key(explicit: str | None = None, *, secret_file: Path | None = None) -> str:
    """The session-signing secret: ``explicit``, else ``$EQM_SECRET_KEY``, else the secret file
    (generated on first use, mode 0600)."""
    if explicit:
        return explicit
    env = os.environ.get("EQM_SECRET_KEY")
    if env:
        return env
    if secret_file is None:
        raise ValueError("no secret: set EQM_SECRET_KEY or give a secret file")
    if secret_file.exists():
        text = secret_file.read_text(encoding="utf-8").strip()
        if len(text) >= 32:
            if secret_file.stat().st_mode & 0o077:  # readable by others: tighten it
                secret_file.chmod(0o600)
            return text
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):  # not on Windows before Python 3.13 (its ACLs decide there)
        os.fchmod(fd, 0o600)  # O_CREAT's mode applies only to a new file: fix a replaced one
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _token_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent) and isinstance(expected, str) and hmac.compare_digest(str(sent), expected)


def current_user() -> User | None:
    """The signed-in user of this request, or None.

    Re-read from the user store on every request, so that a removed user or a changed role takes
    effect at once. The session is valid only while its user token equals the user's current
    ``session_token`` (a password reset, a new role, a removal ends it) and its session id was
    not ended by a log-out (:class:`RevokedSessions`). A dead session is cleared, so that it is
    never renewed."""
    if "eqm_user" in g:
        return g.eqm_user
    user = None
    name, token, sid = session.get("username"), session.get("ut"), session.get("sid")
    if name is not None:
        if isinstance(name, str) and isinstance(token, str) and isinstance(sid, str):
            app = flask.current_app
            user = app.config["EQM_SERVICE"].get_user(name)
            if user is not None and (
                    not user.session_token
                    or not hmac.compare_digest(user.session_token.encode(), token.encode())
                    or app.extensions["eqm_auth"].revoked.revoked(sid)):
                user = None
        if user is None:
            session.clear()
    g.eqm_user = user
    return user


# What browsers' URL parsers drop before resolving a URL (WHATWG URL standard, "basic URL
# parser"): C0 controls and space at either end, ASCII tab and newlines anywhere.
_URL_STRIP = "".join(chr(c) for c in range(0x21))
_URL_REMOVED = re.compile(r"[\t\n\r]")
_MAX_DECODINGS = 4


def _path_only(s: str) -> bool:
    """A same-origin path: one leading "/", no backslash (browsers read it as "/"), no control
    character, no scheme and no authority."""
    if not s.startswith("/") or s.startswith("//") or "\\" in s:
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in s):
        return False
    parts = urllib.parse.urlsplit(s)
    return not parts.scheme and not parts.netloc


def safe_next(target: object) -> str:
    """The path to go to after login: ``target`` normalised as a browser would (controls and
    spaces stripped at the ends, tab/CR/LF removed), if it and every percent-decoding of it is
    a same-origin path (:func:`_path_only`); else ``"/"``."""
    if not isinstance(target, str) or not target or len(target) > 2000:
        return "/"
    normal = _URL_REMOVED.sub("", target.strip(_URL_STRIP))
    variant = normal
    for _ in range(_MAX_DECODINGS):
        if not _path_only(variant):
            return "/"
        decoded = _URL_REMOVED.sub("", urllib.parse.unquote(variant).strip(_URL_STRIP))
        if decoded == variant:
            return normal
        variant = decoded
    return "/"  # still changing after several decodings: not a plain path


LOGIN_TEMPLATE = """<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ login }}</title>
<style>
 body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f3f5f8;margin:0}
 form{max-width:340px;margin:12vh auto;background:#fff;padding:28px 32px;border-radius:8px;
      box-shadow:0 2px 12px rgba(0,0,0,.08)}
 h1{font-size:20px;margin:0 0 18px} label{display:block;margin:12px 0 4px;color:#444}
 input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;
      border:1px solid #ccd;border-radius:4px}
 button{margin-top:18px;width:100%;padding:9px;background:#1f5fa8;color:#fff;border:0;
      border-radius:4px;font-size:15px}
 .err{color:#b00020;margin-top:10px} .lang{float:right;font-size:13px}
</style></head><body>
<form method="post" action="/login" id="login-form">
 <a class="lang" href="/login?lang={{ 'en' if lang == 'zh' else 'zh' }}">{{ switch }}</a>
 <h1>{{ title }}</h1>
 <input type="hidden" name="csrf_token" value="{{ token }}">
 <input type="hidden" name="next" value="{{ next }}">
 <input type="hidden" name="lang" value="{{ lang }}">
 <label for="username">{{ username }}</label>
 <input type="text" id="username" name="username" autocomplete="username" required autofocus>
 <label for="password">{{ password }}</label>
 <input type="password" id="password" name="password" autocomplete="current-password" required>
 <button type="submit" id="login-submit">{{ login }}</button>
 {% if error %}<div class="err" id="login-error">{{ error }}</div>{% endif %}
</form></body></html>"""


def _render_login(lang: str, error: str | None = None, next_: str = "/", status: int = 200
                  ) -> tuple[str, int]:
    html = render_template_string(
        LOGIN_TEMPLATE, lang=lang, title=t("app_title", lang), login=t("login", lang),
        username=t("username", lang), password=t("password", lang), token=csrf_token(),
        next=safe_next(next_), error=error, switch=t("language", lang))
    return html, status


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class LoginThrottle:
    """Exponential back-off of failed logins per client address and per user name (in-process).

    Nothing is ever locked: a key (a client address, or a user name over every client) has
    ``free`` attempts, then must wait ``base · 2^(k − free)`` seconds (capped) after its k-th
    failure before the next attempt is checked at all; attempts in that wait are answered 429
    without a password check and do not count. A key is forgotten after ``forget`` quiet
    seconds. An attempt counts as a failure the moment it starts (:meth:`start`, called in the
    password-check slot, so that concurrent requests cannot slip past the count) and is taken
    back on success: for the user name the count is cleared, for the client one failure is taken
    back (so that logging in to one's own account does not reset a client's guesses at others).

    The rule (documented in docs/dashboards.md): per client 5 free attempts, then 1 s, 2 s, 4 s
    … up to 15 minutes; per user name across all clients 10 free, then 1 s … up to 60 s, so
    that guessing from one address never delays the real user on another, and guessing from
    many addresses slows a name down but never locks it out.
    """

    def __init__(self, *, client_free: int = CLIENT_FREE, client_max: float = CLIENT_MAX_DELAY,
                 name_free: int = NAME_FREE, name_max: float = NAME_MAX_DELAY,
                 base: float = 1.0, forget: float = FORGET_AFTER, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = {"client": (client_free, client_max), "name": (name_free, name_max)}
        self.base, self.forget, self.max_keys, self.clock = base, forget, max_keys, clock
        self.keys: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _wait(self, key: tuple[str, str], now: float) -> float:
        entry = self.keys.get(key)
        if entry is None:
            return 0.0
        free, cap = self.rules[key[0]]
        if now - entry.last > max(self.forget, cap):
            del self.keys[key]
            return 0.0
        if entry.count < free:
            return 0.0
        delay = min(cap, self.base * 2.0 ** min(entry.count - free, 60))
        return max(0.0, entry.last + delay - now)

    def wait(self, client: str, name: str) -> float:
        """The seconds ``client`` must wait before trying ``name`` (0: now); counts nothing."""
        with self._lock:
            now = self.clock()
            return max(self._wait(("client", client), now), self._wait(("name", name), now))

    def start(self, client: str, name: str) -> float:
        """Begin an attempt: 0 when it may be checked (it is counted as a failure until
        :meth:`succeeded`), else the seconds to wait (nothing is counted)."""
        keys = (("client", client), ("name", name))
        with self._lock:
            now = self.clock()
            wait = max(self._wait(k, now) for k in keys)
            if wait > 0:
                return wait
            if len(self.keys) + 2 > self.max_keys:
                self._prune(now)
            for k in keys:
                entry = self.keys.pop(k, None) or _Failures()
                entry.count += 1
                entry.last = now
                self.keys[k] = entry  # the most recent last (oldest first for pruning)
            return 0.0

    def succeeded(self, client: str, name: str) -> None:
        """The attempt begun by :meth:`start` was right."""
        with self._lock:
            self.keys.pop(("name", name), None)
            entry = self.keys.get(("client", client))
            if entry is not None:
                entry.count = max(0, entry.count - 1)

    def _prune(self, now: float) -> None:
        """Forget quiet keys; when still full, the least recently failed ones."""
        for k in [k for k, e in self.keys.items()
                  if now - e.last > max(self.forget, self.rules[k[0]][1])]:
            del self.keys[k]
        while self.keys and len(self.keys) + 2 > self.max_keys:
            self.keys.popitem(last=False)


class RevokedSessions:
    """Session ids ended by a log-out, kept until a cookie carrying them would have expired.

    In memory, and appended to a file (``path``; mode 0600) that is re-read whenever it
    changes (one ``stat`` per check), so that a log-out holds across restarts of the server
    and for every server process on the same warehouse. A log-out never writes the warehouse
    (that would publish a new snapshot and drop every cache). Without a file, or when it cannot
    be written, the ids are kept in memory only (logged).
    """

    def __init__(self, path: Path | None, lifetime: float) -> None:
        self.path = path
        self.lifetime = lifetime
        self._ids: dict[str, float] = {}      # session id -> expiry (epoch seconds)
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        with self._lock:
            self._reload()

    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        now = time.time()
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return
        for line in lines:
            expiry, _, sid = line.partition(" ")
            try:
                when = float(expiry)
            except ValueError:
                continue
            if sid and when > now:
                self._ids[sid] = max(when, self._ids.get(sid, 0.0))
        self._stamp = stamp
        if len(lines) > 2 * len(self._ids) + 1000:  # mostly expired: rewrite it
            self._write_all(now)

    def _write_all(self, now: float) -> None:
        assert self.path is not None
        live = "".join(f"{when:.0f} {sid}\n" for sid, when in self._ids.items() if when > now)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(live)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot rewrite %s: %s", self.path, exc)

    def revoke(self, sid: str) -> None:
        """End the session ``sid`` (for the cookie's lifetime plus a margin)."""
        expiry = time.time() + self.lifetime + 600
        with self._lock:
            self._ids[sid] = expiry
            if self.path is None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, f"{expiry:.0f} {sid}\n".encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                log.warning("log-out kept in memory only: cannot write %s: %s", self.path, exc)

    def revoked(self, sid: str) -> bool:
        with self._lock:
            self._reload()
            when = self._ids.get(sid)
            if when is not None and when <= time.time():
                del self._ids[sid]
                return False
            return when is not None


@dataclass
class AuthState:
    """What :func:`install` keeps on the Flask app (``app.extensions["eqm_auth"]``)."""

    throttle: LoginThrottle
    revoked: RevokedSessions
    #: Password checks running at once (scrypt takes ~0.1 s of a core and 32 MB each), so that
    #: a flood of logins cannot take every core from the callbacks.
    checks: threading.BoundedSemaphore


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag also whenever the request came
    over HTTPS (directly, or through a trusted proxy's ``X-Forwarded-Proto``)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            flask.has_request_context() and request.is_secure)


def content_security_policy(script_hashes: Sequence[str] = ()) -> str:
    """The Content-Security-Policy of every response: scripts only from the app itself (Dash
    serves its bundles locally) plus the listed hashes of Dash's inline scripts (the renderer's
    start and the clientside callbacks, :meth:`dash.Dash.csp_hashes`); no eval, no plug-ins, no
    framing, forms and requests to the app only. Styles allow inline (Plotly adds ``<style>``
    elements and the login page has one); images also ``data:``/``blob:`` (Plotly's PNG
    download)."""
    scripts = " ".join(dict.fromkeys(["'self'", *script_hashes]))
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            "font-src 'self' data:; "
            "connect-src 'self'; "
            "object-src 'none'; "
            "base-uri 'none'; "
            "form-action 'self'; "
            "frame-ancestors 'none'")


def client_address() -> str:
    """The client's address (the proxy's ``X-Forwarded-For`` only behind a trusted proxy)."""
    return request.remote_addr or "?"


def _too_many(lang: str, wait: float, next_: str) -> Any:
    seconds = max(1, math.ceil(wait))
    html, status = _render_login(
        lang, f"登录尝试过于频繁,请 {seconds} 秒后再试 / too many login attempts; "
              f"try again in {seconds} s", next_=next_, status=429)
    resp = flask.make_response(html, status)
    resp.headers["Retry-After"] = str(seconds)
    return resp


def install(server: flask.Flask, secret_key: str, *, secure_cookies: bool = False,
            trusted_proxy: bool = False, revoked_file: Path | None = None,
            csp: str | Callable[[], str] | None = None,
            throttle: LoginThrottle | None = None, concurrent_checks: int = 1) -> None:
    """Add sessions, ``/login``, ``/logout``, the login/CSRF guards and the security headers to
    the Flask server.

    Parameters
    ----------
    secure_cookies : bool
        Always set the cookies' Secure flag (else only for requests that came over HTTPS).
    trusted_proxy : bool
        The server is behind one reverse proxy whose ``X-Forwarded-For`` and
        ``X-Forwarded-Proto`` are to be believed (:class:`werkzeug.middleware.proxy_fix.ProxyFix`):
        the client address of the login throttle and HTTPS for the Secure flag come from them.
        Off by default: anybody can send those headers.
    revoked_file : path, optional
        Where log-outs are kept (:class:`RevokedSessions`); None: in memory only.
    csp : str or callable, optional
        The Content-Security-Policy header (or a function giving it); default
        :func:`content_security_policy` without inline scripts.
    throttle : LoginThrottle, optional
        The failed-login back-off (default: the documented rule).
    concurrent_checks : int
        Password checks (scrypt) allowed at once.
    """
    server.secret_key = secret_key
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="eqm_session",
        PERMANENT_SESSION_LIFETIME=SESSION_HOURS * 3600,
    )
    server.session_interface = _SessionInterface()
    if trusted_proxy:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    state = AuthState(throttle=throttle or LoginThrottle(),
                      revoked=RevokedSessions(revoked_file, SESSION_HOURS * 3600.0),
                      checks=threading.BoundedSemaphore(max(1, concurrent_checks)))
    server.extensions["eqm_auth"] = state
    policy = csp if csp is not None else content_security_policy()

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        lang = lang_of(request.values.get("lang"))
        if request.method == "GET":
            return _render_login(lang, next_=request.args.get("next", "/"))
        if not _token_ok(request.form.get("csrf_token")):
            return _render_login(lang, t("bad_csrf", lang), status=400)
        name = str(request.form.get("username", ""))[:100]
        password = str(request.form.get("password", ""))[:200]
        next_ = safe_next(request.form.get("next"))
        service = server.config["EQM_SERVICE"]
        client = client_address()
        wait = state.throttle.wait(client, name)  # a client in its back-off never queues
        if wait > 0:
            return _too_many(lang, wait, next_)
        if not state.checks.acquire(timeout=CHECK_QUEUE_SECONDS):
            return _too_many(lang, 1.0, next_)
        try:
            # Counted in the check slot, so that concurrent attempts see each other's failures
            # (and concurrent right logins from one address do not block each other).
            wait = state.throttle.start(client, name)
            if wait > 0:
                return _too_many(lang, wait, next_)
            # Outside every lock of the service: only the hash look-up and the user read take it.
            user = service.authenticate(name, password)
            if user is not None and user.session_token:
                state.throttle.succeeded(client, name)
        finally:
            state.checks.release()
        if user is None or not user.session_token:
            return _render_login(lang, t("bad_login", lang), next_=next_, status=401)
        session.clear()  # a fresh session (and CSRF token) on login: no session fixation
        session.permanent = True
        session["username"] = user.username
        session["ut"] = user.session_token
        session["sid"] = secrets.token_urlsafe(16)
        session["lang"] = lang
        csrf_token()
        return redirect(next_ if next_ != "/" or lang == "zh" else "/?lang=en")

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        if request.method == "POST":
            if not _token_ok(request.form.get("csrf_token")):
                return "CSRF token missing or wrong / CSRF 校验失败", 400
            sid = session.get("sid")
            if isinstance(sid, str):
                state.revoked.revoke(sid)  # a copy of this cookie is no session any more
            session.clear()
            resp = redirect("/login")
            resp.delete_cookie(CSRF_COOKIE)
            return resp
        lang = lang_of(session.get("lang"))
        return render_template_string(
            '<form method="post" action="/logout"><input type="hidden" name="csrf_token" '
            'value="{{ token }}"><button type="submit">{{ label }}</button></form>',
            token=csrf_token(), label=t("logout", lang))

    @server.before_request
    def login_required() -> Any:
        path = request.path
        if path in PUBLIC_PATHS:
            return None
        if current_user() is None:
            if path.startswith("/_") or request.method != "GET":
                return flask.jsonify({"error": "login required / 请先登录"}), 401
            target = urllib.parse.quote(request.full_path.rstrip("?"), safe="/")
            return redirect(f"/login?next={target}")
        if request.method == "POST" and path != "/logout" and not _token_ok(
                request.headers.get(CSRF_HEADER)):
            return flask.jsonify({"error": "CSRF token missing or wrong / CSRF 校验失败"}), 403
        return None

    @server.after_request
    def csrf_cookie(resp: flask.Response) -> flask.Response:
        if session.get("username") and isinstance(session.get("csrf"), str):
            resp.set_cookie(CSRF_COOKIE, session["csrf"], httponly=False, samesite="Strict",
                            secure=server.session_interface.get_cookie_secure(server))
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy",
                                policy() if callable(policy) else policy)
        return resp


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for extra Flask views (the guard above already covers every route)."""
    from functools import wraps

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect("/login")
        return view(*args, **kwargs)

    return wrapped
