"""Building blocks shared by the pages: the page frame with its role check, the filter bar,
tables with conditional colours, graphs, messages, and :func:`guarded` for callbacks.

Shared callbacks (the filter bar ↔ URL) are registered per app by :func:`register_callbacks`;
page callbacks are global ``dash.callback`` in the page modules.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dash
import flask
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, callback, dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme

from analytics.display import text_not_formulas
from analytics.domain.bands import DEFAULT_BANDS
from analytics.errors import EqmError, InputError
from analytics.users import User
from dashboards import ids
from dashboards.auth import current_user
from dashboards.figures import FONT
from dashboards.i18n import (
    DEFAULT_LANG,
    code_label,
    column_label,
    lang_of,
    role_list,
    t,
    translate_codes,
)
from dashboards.service import AccessDenied, Filters, NotAvailable, Service

log = logging.getLogger(__name__)


def service() -> Service:
    """The app's service (one per Flask app)."""
    return flask.current_app.config["EQM_SERVICE"]


def current_lang() -> str:
    return lang_of(flask.session.get("lang", DEFAULT_LANG)) if flask.has_request_context() \
        else DEFAULT_LANG


# -- messages ----------------------------------------------------------------------------------
def refused(lang: str, key: str = "refused", roles: Sequence[str] = ()) -> html.Div:
    return html.Div(t(key, lang, roles=role_list(roles, lang)), className="eqm-refused",
                    role="alert")


def refusal(exc: AccessDenied, lang: str) -> html.Div:
    """The refusal of ``exc`` in words that say why (its ``reason``): the page is for other
    roles, another school's data, choose a school first, …"""
    return refused(lang, f"refused_{exc.reason}", exc.roles)


def not_available(what: str, lang: str) -> html.Div:
    return html.Div([html.B(t("not_available", lang)), html.Span(f" ({what})")],
                    className="eqm-not-available")


def message(text: str, cls: str = "eqm-message") -> html.Div:
    return html.Div(text, className=cls)


def totals_only(lang: str) -> html.Div:
    """The plain words of an item view on a paper with totals only (no item scores)."""
    return html.Div(t("totals_only", lang), className="eqm-message eqm-totals-only",
                    role="status")


def comparison_notes(svc: Service, user: User, f: Filters, lang: str,
                     subjects: Sequence[str] | None = None) -> list[html.Div]:
    """Why a comparison row (zone, district) is not shown to this principal, one plain note
    per group and reason (with the subjects it applies to when not all of ``subjects``)."""
    f = svc.scope(user, f)
    subjects = list(subjects) if subjects is not None else [f.subject] if f.subject else []
    found: dict[tuple[str, str], list[str]] = {}
    for subject in subjects:
        hidden = svc.comparisons(user, dataclasses.replace(f, subject=subject))
        for group, reason in hidden.items():
            if reason is not None:
                found.setdefault((group, reason), []).append(str(subject))
    notes = []
    for (group, reason), where in found.items():
        text = t(f"hidden_{group}_{reason}", lang, k=svc.min_other_schools, n=svc.min_n)
        if len(subjects) > 1 and len(where) < len(subjects):
            text += f"({'、'.join(where)})" if lang == "zh" else f" ({', '.join(where)})"
        notes.append(html.Div(text, className="eqm-message eqm-hidden-comparison",
                              role="status"))
    return notes


def guarded(n_outputs: int = 1) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a page callback: inject ``(user, lang, service)`` and turn refusals, missing
    analytics and user errors into messages in every output (a Div's ``children``)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapped(*args: Any) -> Any:
            lang = current_lang()
            user = current_user()
            try:
                if user is None:
                    raise AccessDenied("not signed in", reason="not_signed_in")
                return fn(user, lang, service(), *args)
            except AccessDenied as exc:
                log.info("refused %s: %s", getattr(user, "username", None), exc)
                out: Any = refusal(exc, lang)
            except NotAvailable as exc:
                out = not_available(exc.what, lang)
            except EqmError as exc:
                out = message(str(exc), "eqm-error")
            except Exception:  # show a message, log the traceback; never leak data
                log.exception("callback %s failed", fn.__name__)
                out = message(t("error", lang), "eqm-error")
            return out if n_outputs == 1 else [out] * n_outputs

        return wrapped

    return deco


def on_filters(*targets: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a page callback that fills the ``children`` of ``targets`` whenever the page's
    filters change: ``fn(user, lang, service, filters)``, guarded as by :func:`guarded` (one
    message in every target when refused or failed). Returns ``fn`` unchanged."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def from_store(user: User, lang: str, svc: Service, data: dict[str, Any]) -> Any:
            return fn(user, lang, svc, Filters.from_mapping(data))

        callback(*(Output(target, "children") for target in targets),
                 Input(ids.FILTERS, "data"))(guarded(len(targets))(from_store))
        return fn

    return deco


def browser_id(value: Any, what: str = "编号 / id") -> int:
    """A whole-number id sent back by the browser (a dropdown value), as an int.

    Callback inputs come from the client and can be anything; a value that is not a whole
    number raises :class:`InputError` (shown by :func:`guarded` as a plain message) instead of
    failing inside ``int()``.
    """
    if isinstance(value, bool):
        raise InputError(f"{what} 无效 / invalid")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    raise InputError(f"{what} 无效 / invalid")


# -- tables and graphs -------------------------------------------------------------------------
def _is_rate(col: str) -> bool:
    """A share in 0..1 shown as a percentage (rates, shares, the A–D band shares, P)."""
    return col.endswith(("_rate", "_share")) or col.startswith("share_") or col in (
        "share", "score_rate", "difficulty", "cum_share", "percentile_rank", "mean_difficulty")


SHOWN_IDS = ("student_id",)  # the ids a user reads (考号); every other *_id/_key is internal


def table(frame: pd.DataFrame | None, lang: str, *, table_id: str | None = None,
          reference: Mapping[str, float] | None = None, page_size: int = 15,
          hide: Sequence[str] = (), export: bool = True) -> Any:
    """A sortable table; internal ``*_id``/``*_key`` columns hidden (考号 ``student_id``
    shown); codes as their labels; rate columns as percentages; names left-aligned; cells of
    ``reference`` columns green above / red below the reference value (e.g. the district).

    With ``export`` (the default) the table has an 导出 Excel button: the rows shown (already
    scoped and suppressed by the service), the Chinese (or English) headers, the labels of the
    codes, rates as percentages (:func:`export_frame`)."""
    if frame is None or frame.empty:
        return message(t("no_data", lang))
    shown = translate_codes(frame, lang)
    cols = [c for c in shown.columns
            if (c in SHOWN_IDS or not c.endswith(("_id", "_key"))) and c not in hide
            and c != "suppressed"]
    columns = []
    text_cols = []
    for c in cols:
        spec: dict[str, Any] = {"name": column_label(c, lang), "id": c}
        if pd.api.types.is_numeric_dtype(shown[c]):
            spec["type"] = "numeric"
            spec["format"] = (Format(precision=1, scheme=Scheme.percentage) if _is_rate(c)
                              else Format(precision=2, scheme=Scheme.fixed)
                              if pd.api.types.is_float_dtype(shown[c]) else Format())
        else:
            text_cols.append(c)
        columns.append(spec)
    styles: list[dict[str, Any]] = []
    for col, ref in (reference or {}).items():
        if col in cols and ref == ref:
            styles.append({"if": {"filter_query": f"{{{col}}} > {ref}", "column_id": col},
                           "backgroundColor": "#e3f2e1", "color": "#1b5e20"})
            styles.append({"if": {"filter_query": f"{{{col}}} < {ref}", "column_id": col},
                           "backgroundColor": "#fbe3e3", "color": "#b71c1c"})
    if "suppressed" in shown.columns:
        styles.append({"if": {"filter_query": "{suppressed} eq true"}, "color": "#999"})
    records = shown[[*cols, *(["suppressed"] if "suppressed" in shown.columns else [])]]
    key = uuid.uuid4().hex[:12]
    grid = dash_table.DataTable(  # type: ignore[attr-defined]
        id={"type": ids.TABLE_TYPE, "index": key},
        data=records.to_dict("records"), columns=columns, sort_action="native",
        page_size=page_size, style_data_conditional=styles,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": FONT, "padding": "4px 8px", "textAlign": "right"},
        style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left"}
                                for c in text_cols],
        style_header={"fontWeight": "bold", "backgroundColor": "#f1f4f8"})
    kwargs: dict[str, Any] = {"id": table_id} if table_id else {}
    bar = [html.Button(t("export_xlsx", lang), id={"type": ids.EXPORT_TYPE, "index": key},
                       n_clicks=0, className="eqm-export")] if export else []
    return html.Div([html.Div(bar, className="eqm-export-bar"), grid], className="eqm-table",
                    **kwargs)


MAX_EXPORT_ROWS = 200_000


def export_workbook(rows: list[dict[str, Any]], columns: list[dict[str, Any]],
                    lang: str) -> bytes:
    """The .xlsx of a table as shown: its headers (Chinese in Chinese mode), its labelled
    cells, rates with Excel's percentage format, suppressed cells empty (the rows are those the
    service sent, already scoped and suppressed)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = t("export_sheet", lang)[:31]
    sheet.append([str(c.get("name", c.get("id"))) for c in columns])
    def specifier(col: dict[str, Any]) -> str:
        fmt = col.get("format") or {}
        fmt = fmt.to_plotly_json() if hasattr(fmt, "to_plotly_json") else fmt
        return str(fmt.get("specifier", "")) if isinstance(fmt, dict) else ""

    percent = [i for i, c in enumerate(columns) if "%" in specifier(c)]
    for row in rows[:MAX_EXPORT_ROWS]:
        values = []
        for c in columns:
            v = row.get(c["id"])
            values.append(v if isinstance(v, (int, float, str)) or v is None else str(v))
        sheet.append(values)
    for i in percent:
        for cell in sheet.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell[0].number_format = "0.0%"
    text_not_formulas(book)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def graph(fig: go.Figure, graph_id: str | None = None, drill: bool = False) -> dcc.Graph:
    """A chart. With ``drill``, a click on a mark whose ``customdata`` is a link (``/…``, set
    by the page: :func:`unit_link`) opens it (district → school → class; item → its history)."""
    kwargs: dict[str, Any] = {"id": graph_id} if graph_id else {}
    if drill:
        kwargs["id"] = {"type": ids.DRILL_TYPE, "index": graph_id or uuid.uuid4().hex[:12]}
        kwargs["className"] = "eqm-drill"
    return dcc.Graph(figure=fig, config={"displaylogo": False, "locale": "zh-CN",
                                         "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
                     **kwargs)


def unit_link(path: str, f: Filters, **extra: Any) -> str:
    """The link of a unit's page with the current paper (exam, grade, subject) kept."""
    query = {"exam": f.exam, "grade": f.grade, "subject": f.subject, **extra}
    return path + "?" + urllib.parse.urlencode({k: v for k, v in query.items()
                                                if v is not None})


def how_to_read(key: str, lang: str, **fmt: object) -> html.Details:
    """A short "how to read this" note (folded; the UI text ``howto_<key>``)."""
    return html.Details([html.Summary(t("how_to_read", lang)),
                         html.Div(t(f"howto_{key}", lang, **fmt))], className="eqm-howto",
                        open=True)


def section(title: str, *children_ids: str, note: str | None = None,
            howto: html.Details | None = None) -> html.Div:
    """A titled block whose content Divs (filled by callbacks) show a loading indicator."""
    return html.Div([
        html.H3(title),
        *([html.P(note, className="eqm-note")] if note else []),
        *([howto] if howto is not None else []),
        dcc.Loading(html.Div([html.Div(id=i) for i in children_ids]), type="dot",
                    delay_show=150),
    ], className="eqm-section")


# -- filter bar and page frame -------------------------------------------------------------------
def _dropdown(key: str, options: list[dict[str, Any]], value: Any, lang: str,
              disabled: bool = False, clearable: bool = True) -> html.Div:
    return html.Div([
        html.Label(t(key, lang)),
        dcc.Dropdown(id=ids.filter_id(key), options=options, value=value, disabled=disabled,
                     clearable=clearable, placeholder=t("all", lang)),
    ], className="eqm-filter")


def filter_bar(svc: Service, user: User, f: Filters, lang: str,
               keys: Sequence[str] = ids.FILTER_KEYS) -> html.Div:
    """Dropdowns for the filters in ``keys``; options come from the user's scope only."""
    papers = svc.papers(user)
    tree = svc.tree(user)
    parts = []
    if "exam" in keys:
        exams = list(dict.fromkeys(papers["exam"])) if not papers.empty else []
        parts.append(_dropdown("exam", [{"label": e, "value": e} for e in exams], f.exam, lang,
                               clearable=False))
    if "grade" in keys:
        grades = sorted(set(papers[papers["exam"] == f.exam]["grade"])) if not papers.empty \
            else []
        parts.append(_dropdown("grade", [{"label": code_label("grade", int(g), lang),
                                          "value": int(g)} for g in grades],
                               f.grade, lang, clearable=False))
    if "subject" in keys:
        subj: list[str] = list(
            papers[(papers["exam"] == f.exam) & (papers["grade"] == f.grade)]["subject"]) \
            if not papers.empty else []
        parts.append(_dropdown("subject", [{"label": s, "value": s} for s in subj], f.subject,
                               lang, clearable=False))
    fixed = user.role == "principal"
    if "zone" in keys:
        zones = tree[["zone_id", "zone_name"]].dropna().drop_duplicates()
        parts.append(_dropdown("zone", [{"label": r["zone_name"], "value": int(r["zone_id"])}
                                        for r in zones.to_dict("records")], f.zone, lang,
                               disabled=fixed))
    if "school" in keys:
        schools = tree if f.zone is None else tree[tree["zone_id"] == f.zone]
        schools = schools[["school_id", "school_name"]].drop_duplicates()
        parts.append(_dropdown("school", [{"label": r["school_name"],
                                           "value": int(r["school_id"])}
                                          for r in schools.to_dict("records")], f.school, lang,
                               disabled=fixed))
    if "class" in keys:
        classes = tree[(tree["school_id"] == f.school) & (tree["grade"] == f.grade)] \
            if f.school is not None else tree.iloc[0:0]
        classes = classes.dropna(subset=["class_id"])
        parts.append(_dropdown("class", [{"label": r["class_name"], "value": int(r["class_id"])}
                                         for r in classes.to_dict("records")], f.class_id, lang))
    return html.Div(parts, className="eqm-filters")


def page(kwargs: Mapping[str, Any], *, group: str, title: str,
         body: Callable[[User, Filters, str], list[Any]],
         keys: Sequence[str] = ids.FILTER_KEYS) -> html.Div:
    """The frame of every page: role check, scoped filters (from the URL), filter bar, body."""
    lang = current_lang()
    user = current_user()
    svc = service()
    try:
        user = svc.require(user, group)
        f = svc.scope(user, Filters.from_mapping(kwargs))
    except AccessDenied as exc:
        return html.Div([html.H2(t(title, lang)), html.P(t(f"intro_{title}", lang),
                                                          className="eqm-intro"),
                         refusal(exc, lang)], id="eqm-page")
    return html.Div([
        html.H2(t(title, lang)),
        html.P(t(f"intro_{title}", lang), className="eqm-intro"),
        filter_bar(svc, user, f, lang, keys) if keys else html.Div(),
        dcc.Store(id=ids.FILTERS, data=f.as_query()),
        html.P(t("suppressed_note", lang, n=svc.min_n), className="eqm-note"),
        *body(user, f, lang),
    ], id="eqm-page")


# a coarser filter that changed drops the finer ones it invalidates; the grade and subject
# survive a new exam (Service.default_paper keeps them when the exam has that paper)
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "exam": ("class",), "grade": ("class",),
    "zone": ("school", "class"), "school": ("class",),
}


def register_callbacks(app: Dash) -> None:
    """Shared callbacks of the shell: a filter change rewrites the URL query string (so links
    can be shared), which re-renders the page from the URL."""

    @app.callback(
        Output(ids.URL, "search"),
        Input({"type": ids.FILTER_TYPE, "key": ALL}, "value"),
        State({"type": ids.FILTER_TYPE, "key": ALL}, "id"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def filters_to_url(values: list[Any], id_list: list[dict[str, str]],
                       shown: dict[str, Any] | None) -> str:
        # Compare with the filters the page was rendered with (defaults filled in).
        current = {k: str(v) for k, v in (shown or {}).items() if v is not None}
        chosen = {d["key"]: v for d, v in zip(id_list, values, strict=False)}
        for key in ids.FILTER_KEYS:  # a coarser filter that changed resets the finer ones
            new = "" if chosen.get(key) is None else str(chosen[key])
            if key in chosen and new != current.get(key, ""):
                for finer in DEPENDENTS.get(key, ()):
                    chosen.pop(finer, None)
                break
        query = {k: v for k, v in chosen.items() if v is not None and v != ""}
        return "?" + urllib.parse.urlencode(query) if query else ""

    @app.callback(
        Output(ids.URL, "href", allow_duplicate=True),
        Input({"type": ids.DRILL_TYPE, "index": ALL}, "clickData"),
        prevent_initial_call=True,
    )
    def drill_down(clicks: list[Any]) -> Any:
        """A click on a chart's mark opens the page its ``customdata`` links (a local path
        only: never another site)."""
        trigger = dash.ctx.triggered_id
        if not isinstance(trigger, dict):
            return dash.no_update
        for click, item in zip(clicks, dash.ctx.inputs_list[0], strict=False):
            if item.get("id") != trigger or not isinstance(click, dict):
                continue
            points = click.get("points") or [{}]
            link = points[0].get("customdata")
            if isinstance(link, list):
                link = link[0] if link else None
            if isinstance(link, str) and link.startswith("/") and not link.startswith("//"):
                return link
        return dash.no_update

    @app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Input({"type": ids.EXPORT_TYPE, "index": ALL}, "n_clicks"),
        State({"type": ids.TABLE_TYPE, "index": ALL}, "data"),
        State({"type": ids.TABLE_TYPE, "index": ALL}, "columns"),
        prevent_initial_call=True,
    )
    def export_table(clicks: Any, rows: Any, columns: Any) -> Any:
        """导出 Excel of the table whose button was clicked: signed-in users only; the rows
        are those the table holds (sent by the service, scoped and suppressed)."""
        trigger = dash.ctx.triggered_id
        if current_user() is None or not isinstance(trigger, dict) or "index" not in trigger:
            return dash.no_update
        tables = dash.ctx.states_list[0] if dash.ctx.states_list else []
        specs = dash.ctx.states_list[1] if len(dash.ctx.states_list) > 1 else []
        for held, spec in zip(tables, specs, strict=False):
            if not isinstance(held, dict) or not isinstance(spec, dict):
                continue
            if (held.get("id") or {}).get("index") != trigger["index"]:
                continue
            data, cols = held.get("value"), spec.get("value")
            if not isinstance(data, list) or not isinstance(cols, list):
                return dash.no_update
            lang = current_lang()
            page = (flask.request.referrer or "").rsplit("/", 1)[-1].split("?")[0] or "table"
            return dcc.send_bytes(export_workbook(data, cols, lang), f"{page}.xlsx")
        return dash.no_update


def band_names(lang: str) -> dict[str, str]:
    """The legend of the A–D grade bands: "A等(≥85%)" … "D等(<60%)" (the default cuts, as
    shares of the full score: :data:`analytics.domain.bands.DEFAULT_BANDS`)."""
    cuts = dict(zip("ABC", DEFAULT_BANDS, strict=True))
    out = {b: t("band_legend", lang, band=code_label("band", b, lang), cut=f"{cuts[b]:.0%}")
           for b in "ABC"}
    out["D"] = t("band_legend_d", lang, band=code_label("band", "D", lang),
                 cut=f"{DEFAULT_BANDS[-1]:.0%}")
    return out


def bands_long(frame: pd.DataFrame, group: str) -> pd.DataFrame:
    """``share_a`` … ``share_d`` columns as rows (``band`` A–D, ``share``) for a stacked chart."""
    cols = [c for c in ("share_a", "share_b", "share_c", "share_d") if c in frame.columns]
    long = frame.melt(id_vars=[group], value_vars=cols, var_name="band", value_name="share")
    return long.assign(band=long["band"].str[-1].str.upper())


def code(kind: str, value: object, lang: str) -> str:
    return code_label(kind, value, lang)
