"""Login, logout, sessions and CSRF for the Dash app (Flask routes and request guards).

* Users and password hashes live in the warehouse (:mod:`analytics.users`, scrypt).
* Sessions are Flask's signed cookies; the signing secret comes from the ``EQM_SECRET_KEY``
  environment variable, else from a secret file (``EQM_SECRET_FILE``, default
  ``.eqm_secret_key`` beside the warehouse file, git-ignored) that is generated on first use with
  :func:`secrets.token_hex` and written with mode 0600. No secret is ever in the code.
* ``/login`` is a plain Flask route (GET form, POST check) with a CSRF token bound to the
  session; the session is renewed on login (no fixation). ``/logout`` is a POST with the token.
* Every other route, including Dash's ``/_dash-layout``, ``/_dash-dependencies`` and
  ``/_dash-update-component``, requires a signed-in user (``login_required`` as a
  ``before_request`` guard, so no Dash route can be forgotten). Dash callback POSTs must also
  carry the session's CSRF token in the ``X-CSRFToken`` header: Dash's renderer copies it from
  the ``_csrf_token`` cookie that this module sets (double submit, bound to the session).
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
from flask import g, redirect, render_template_string, request, session

from analytics.users import User
from dashboards.i18n import lang_of, t

CSRF_COOKIE = "_csrf_token"      # the name Dash's renderer reads
CSRF_HEADER = "X-CSRFToken"      # the header Dash's renderer sends
SESSION_HOURS = 8
MAX_FAILURES = 5                 # failed logins per user name …
FAILURE_WINDOW = 300.0           # … within this many seconds lock the name for that long

PUBLIC_PATHS = frozenset({"/login"})


def secret_file_for(db_path: str | os.PathLike[str]) -> Path:
    """The default secret file: ``$EQM_SECRET_FILE`` or ``.eqm_secret_key`` beside the DB."""
    env = os.environ.get("EQM_SECRET_FILE")
    return Path(env) if env else Path(db_path).resolve().parent / ".eqm_secret_key"


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
    """The signed-in user of this request (re-read from the user store, so a removed user or a
    changed role takes effect at once), or None."""
    if "eqm_user" in g:
        return g.eqm_user
    user = None
    name = session.get("username")
    if isinstance(name, str):
        service = flask.current_app.config["EQM_SERVICE"]
        user = service.get_user(name)
    g.eqm_user = user
    return user


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


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
        next=_safe_next(next_), error=error, switch=t("language", lang))
    return html, status


class LoginThrottle:
    """Refuse a user name for a while after too many failed logins (in-process)."""

    def __init__(self) -> None:
        self.failures: dict[str, list[float]] = {}

    def locked(self, name: str) -> bool:
        now = time.monotonic()
        recent = [x for x in self.failures.get(name, []) if now - x < FAILURE_WINDOW]
        self.failures[name] = recent
        return len(recent) >= MAX_FAILURES

    def fail(self, name: str) -> None:
        self.failures.setdefault(name, []).append(time.monotonic())

    def clear(self, name: str) -> None:
        self.failures.pop(name, None)


def install(server: flask.Flask, secret_key: str, *, secure_cookies: bool = False) -> None:
    """Add sessions, ``/login``, ``/logout`` and the login/CSRF guards to the Flask server."""
    server.secret_key = secret_key
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="eqm_session",
        PERMANENT_SESSION_LIFETIME=SESSION_HOURS * 3600,
    )
    throttle = LoginThrottle()

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        lang = lang_of(request.values.get("lang"))
        if request.method == "GET":
            return _render_login(lang, next_=request.args.get("next", "/"))
        if not _token_ok(request.form.get("csrf_token")):
            return _render_login(lang, t("bad_csrf", lang), status=400)
        name = str(request.form.get("username", ""))[:100]
        password = str(request.form.get("password", ""))[:200]
        next_ = _safe_next(request.form.get("next"))
        service = server.config["EQM_SERVICE"]
        user = None if throttle.locked(name) else service.authenticate(name, password)
        if user is None:
            throttle.fail(name)
            return _render_login(lang, t("bad_login", lang), next_=next_, status=401)
        throttle.clear(name)
        session.clear()  # a fresh session (and CSRF token) on login: no session fixation
        session.permanent = True
        session["username"] = user.username
        session["lang"] = lang
        csrf_token()
        return redirect(next_ if next_ != "/" or lang == "zh" else "/?lang=en")

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        if request.method == "POST":
            if not _token_ok(request.form.get("csrf_token")):
                return "CSRF token missing or wrong / CSRF 校验失败", 400
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
            return redirect(f"/login?next={flask.request.full_path.rstrip('?')}")
        if request.method == "POST" and path != "/logout" and not _token_ok(
                request.headers.get(CSRF_HEADER)):
            return flask.jsonify({"error": "CSRF token missing or wrong / CSRF 校验失败"}), 403
        return None

    @server.after_request
    def csrf_cookie(resp: flask.Response) -> flask.Response:
        if session.get("username") and isinstance(session.get("csrf"), str):
            resp.set_cookie(CSRF_COOKIE, session["csrf"], httponly=False, samesite="Strict",
                            secure=secure_cookies)
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
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
