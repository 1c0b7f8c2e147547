"""The Dash app: :func:`create_app` builds it, :func:`serve` runs it (``eqm serve``, ``eqm demo``).

The app is a Flask server with login (:mod:`dashboards.auth`), one :class:`Service` (the cached,
scope-enforcing layer over the analytics), and Dash ``pages`` under ``dashboards/pages``. The
shell (navigation bar, language switch, log-out form) is rebuilt for each signed-in user, showing
only the pages their role may open; every page checks the role again and the service checks it
a third time for each callback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import flask
from dash import Dash, dcc, html, page_container

import analytics
from analytics.display import DEFAULT_MIN_N
from analytics.errors import WarehouseBusy
from dashboards import auth, components, ids
from dashboards.i18n import LANGS, code_label, t
from dashboards.service import RankPolicy, Service

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)

# (path, label key, page group) in navigation order.
NAV: tuple[tuple[str, str, str], ...] = (
    ("/officer/overview", "officer_overview", "officer"),
    ("/officer/schools", "officer_schools", "officer"),
    ("/officer/items", "officer_items", "officer"),
    ("/officer/hotspots", "officer_hotspots", "officer"),
    ("/officer/value-added", "officer_value_added", "officer"),
    ("/officer/green", "officer_green", "officer"),
    ("/officer/trends", "officer_trends", "officer"),
    ("/distribution", "officer_distribution", "principal"),
    ("/principal", "principal", "principal"),
    ("/committee", "committee", "committee"),
    ("/admin", "admin", "admin"),
)


def nav_links(role: str | None) -> list[tuple[str, str]]:
    """(path, label key) of the pages a role may open."""
    from dashboards.service import PAGE_ROLES

    return [(p, k) for p, k, g in NAV if role is not None and role in PAGE_ROLES[g]]


def shell() -> html.Div:
    """The app layout: top bar (pages of the user's role, language, log out) and the page."""
    user = auth.current_user() if flask.has_request_context() else None
    lang = components.current_lang()
    if user is None:
        bar: list[Any] = [html.A(t("login", lang), href="/login")]
    else:
        token = auth.csrf_token()
        bar = [
            html.Span(t("app_title", lang), className="eqm-brand"),
            html.Nav([dcc.Link(t("home", lang), href="/")]
                     + [dcc.Link(t(key, lang), href=path) for path, key in nav_links(user.role)],
                     className="eqm-nav"),
            html.Span([
                html.Span(f"{user.display_name or user.username} · "
                          f"{code_label('role', user.role, lang)}"
                          + (f" · {user.school_name}" if user.school_name else ""),
                          id=ids.USER_BADGE),
                html.A(t("language", lang), href=f"/lang/{'en' if lang == 'zh' else 'zh'}",
                       className="eqm-lang"),
                html.Form([
                    dcc.Input(type="hidden", name="csrf_token", value=token),
                    html.Button(t("logout", lang), type="submit", id="eqm-logout"),
                ], method="POST", action="/logout", className="eqm-logout"),
            ], className="eqm-user"),
        ]
    return html.Div([
        dcc.Location(id=ids.URL, refresh="callback-nav"),
        dcc.Download(id=ids.EXPORT_DOWNLOAD),  # every table's 导出 Excel
        html.Header(bar, id=ids.NAVBAR, className="eqm-bar"),
        html.Main(page_container, className="eqm-main"),
    ])


def create_app(
    db_path: str | os.PathLike[str],
    *,
    secret_key: str | None = None,
    min_n: int = DEFAULT_MIN_N,
    rank_policy: RankPolicy = "officers",
    trusted_proxy: bool | None = None,
    secure_cookies: bool | None = None,
) -> Dash:
    """Build the dashboard app over the warehouse ``db_path``.

    Parameters
    ----------
    db_path : path
        The warehouse (opened read-write: the committee edits notes).
    secret_key : str, optional
        Session-signing secret; default ``$EQM_SECRET_KEY`` or a generated, git-ignored file
        beside the warehouse (:func:`dashboards.auth.load_secret_key`).
    min_n : int
        Groups smaller than this are suppressed in every view and export.
    rank_policy : {'officers', 'none'}
        Whether research officers see exact school ranks (principals never do).
    trusted_proxy : bool, optional
        Behind one reverse proxy whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed
        (client address of the login throttle, HTTPS for the Secure cookie flag); default
        ``$EQM_TRUSTED_PROXY == "1"``.
    secure_cookies : bool, optional
        Always the Secure cookie flag; default ``$EQM_SECURE_COOKIES == "1"``. Either way the
        flag is set on every response to a request that came over HTTPS.
    """
    service = Service(str(db_path), min_n=min_n, rank_policy=rank_policy)
    server = flask.Flask("dashboards")
    server.config["EQM_SERVICE"] = service
    key = auth.load_secret_key(secret_key, secret_file=auth.secret_file_for(db_path))
    if trusted_proxy is None:
        trusted_proxy = os.environ.get("EQM_TRUSTED_PROXY") == "1"
    if secure_cookies is None:
        secure_cookies = os.environ.get("EQM_SECURE_COOKIES") == "1"
    # Scripts from the app itself, and Dash's inline ones (the renderer's start, the clientside
    # callbacks such as the pages' title) by hash, computed per response: Dash adds the pages'
    # inline script only at the first request.
    auth.install(server, key, secure_cookies=secure_cookies, trusted_proxy=trusted_proxy,
                 revoked_file=auth.revoked_file_for(db_path),
                 csp=lambda: auth.content_security_policy(app.csp_hashes()))

    @server.route("/lang/<code>")
    def set_lang(code: str) -> Any:
        if code in LANGS:
            flask.session["lang"] = code
        return flask.redirect("/")

    app = Dash(
        "dashboards",
        server=server,  # type: ignore[arg-type]  # Dash accepts a Flask app here
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        suppress_callback_exceptions=True,
        title=t("app_title"),
        update_title=None,  # type: ignore[arg-type]  # None: keep the title while updating
        serve_locally=True,
    )
    app.layout = shell
    components.register_callbacks(app)
    # Claim the pages' global callbacks for this app now (Dash would do it on the first
    # request), so that several apps can be built in one process (tests) without mixing them.
    with server.test_request_context("/"):
        app._setup_server()
    return app


def prepare_warehouse(db_path: str | os.PathLike[str], *, refresh: bool | None = None,
                      demo_users: bool | None = None) -> None:
    """Before serving: refresh stale summary tables, and in a demo warehouse without users
    create the demo accounts and print them (with their one-time random passwords).

    ``refresh``/``demo_users``: True/False to force, None to decide (stale summaries; a
    warehouse holding the demo's planted truths and no users).

    Ends by publishing the read-only snapshot the dashboard reads
    (:class:`analytics.snapshot.SnapshotReader`). When another process is writing the warehouse
    (an import), says so and serves the snapshot published last.
    """
    from analytics import snapshot, summaries, users

    try:
        wh = analytics.connect(Path(db_path))
    except WarehouseBusy:
        if not snapshot.snapshot_path(Path(db_path)).exists():
            raise
        print("数据库正被其他进程写入(导入中),先显示上次发布的快照 / the warehouse is being "
              "written by another process; serving the snapshot published last", flush=True)
        return
    with wh:
        if refresh or (refresh is None and summaries.summaries_stale(wh)):
            print("刷新汇总表 / refreshing the summary tables …", flush=True)
            log = summaries.refresh_summaries(wh, force=bool(refresh))
            failed = log[log["status"] == "failed"]
            print(f"  {int((log['status'] == 'ok').sum())} ok, {len(failed)} failed, "
                  f"{float(log['seconds'].sum()):.1f} s")
        is_demo = users.is_demo_warehouse(wh)
        if is_demo:
            _archive_demo_papers(wh)
        if demo_users or (demo_users is None and is_demo):
            accounts = users.create_demo_users(wh)
            if not accounts.empty:
                print("演示账号 / demo accounts (密码仅显示一次 / passwords shown once):")
                for r in accounts.itertuples():
                    where = f"  {r.school_name}" if isinstance(r.school_name, str) else ""
                    print(f"  {r.username:<12} {r.password:<14} "
                          f"{code_label('role', r.role)} / {r.role}{where}")
                print("  (更改密码 / change: eqm users add NAME --role ROLE --replace)")
        snapshot.publish(wh)


def _archive_demo_papers(wh: Any) -> None:
    """In a demo warehouse whose question archive is empty, enter every itemised paper, so that
    the committee's search, item histories and the item curves have something to show."""
    from analytics import archive
    from analytics.lookup import list_papers

    if not archive.search_archive(wh).empty:
        return
    papers = list_papers(wh)
    papers = papers[papers["has_items"]]
    print(f"示例题库入档 / archiving {len(papers)} demo papers …", flush=True)
    for p in papers.to_dict("records"):
        archive.archive_paper(wh, exam=str(p["exam"]), subject=str(p["subject"]),
                              grade=int(p["grade"]))


#: X-Forwarded-* headers believed from ``--trusted-proxy`` (waitress' ``trusted_proxy_headers``)
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                           "x-forwarded-port"})
DEFAULT_THREADS = 8


def wsgi_server(wsgi_app: Any, *, host: str = "127.0.0.1", port: int = 8050,
                threads: int = DEFAULT_THREADS, trusted_proxy: str | None = None) -> Any:
    """The production WSGI server (waitress: pure Python, the same on Windows and Linux) for
    ``wsgi_app``, bound but not yet running (``.run()``; ``.effective_port`` for port 0).

    Parameters
    ----------
    threads : int
        Worker threads: requests handled at once (DuckDB releases the GIL while it queries).
    trusted_proxy : str, optional
        The reverse proxy's address (``127.0.0.1`` for nginx or IIS on the same machine, ``*``
        for any): from it, and only from it, ``X-Forwarded-For`` gives the client's address
        (the login throttle) and ``X-Forwarded-Proto: https`` makes the request secure (the
        session cookie's Secure flag, :meth:`dashboards.auth._SessionInterface.get_cookie_secure`);
        the same headers from anybody else are removed.
    """
    from waitress import create_server

    proxy: dict[str, Any] = {}
    if trusted_proxy:
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": set(PROXY_HEADERS),
                 "clear_untrusted_proxy_headers": True}
    return create_server(wsgi_app, host=host, port=port, threads=max(1, int(threads)),
                         ident="eqm", **proxy)


def serve(db_path: str | os.PathLike[str], port: int = 8050, host: str = "127.0.0.1", *,
          threads: int = DEFAULT_THREADS, trusted_proxy: str | None = None,
          **kwargs: Any) -> None:
    """Prepare the warehouse (:func:`prepare_warehouse`) and run the dashboard on waitress
    (:func:`wsgi_server`) until interrupted. ``kwargs`` go to :func:`create_app`
    (``secret_key``, ``min_n``, ``rank_policy``, ``secure_cookies``)."""
    prepare_warehouse(db_path)
    app = create_app(db_path, **kwargs)
    server = wsgi_server(app.server, host=host, port=port, threads=threads,
                         trusted_proxy=trusted_proxy)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    print(f"仪表盘 / dashboard: http://{shown}:{server.effective_port}/  "
          f"(waitress, {threads} threads; Ctrl-C 退出 / to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.server.config["EQM_SERVICE"].close()
