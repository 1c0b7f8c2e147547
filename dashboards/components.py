"""Building blocks shared by the pages: the page frame with its role check, the filter bar,
tables with conditional colours, graphs, messages, and :func:`guarded` for callbacks.

Shared callbacks (the filter bar ↔ URL) are registered per app by :func:`register_callbacks`;
page callbacks are global ``dash.callback`` in the page modules.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flask
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, callback, dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme

from analytics.errors import EqmError, InputError
from analytics.users import User
from dashboards import ids
from dashboards.auth import current_user
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
    return col.endswith(("_rate", "_share")) or col in ("share", "score_rate", "difficulty")


def table(frame: pd.DataFrame | None, lang: str, *, table_id: str | None = None,
          reference: Mapping[str, float] | None = None, page_size: int = 15,
          hide: Sequence[str] = ()) -> Any:
    """A sortable table; ``*_id`` columns hidden; rate columns as percentages; cells of
    ``reference`` columns green above / red below the reference value (e.g. the district)."""
    if frame is None or frame.empty:
        return message(t("no_data", lang))
    shown = translate_codes(frame, lang)
    cols = [c for c in shown.columns if not c.endswith(("_id", "_key")) and c not in hide
            and c != "suppressed"]
    columns = []
    for c in cols:
        spec: dict[str, Any] = {"name": column_label(c, lang), "id": c}
        if pd.api.types.is_numeric_dtype(shown[c]):
            spec["type"] = "numeric"
            spec["format"] = (Format(precision=1, scheme=Scheme.percentage) if _is_rate(c)
                              else Format(precision=2, scheme=Scheme.fixed)
                              if pd.api.types.is_float_dtype(shown[c]) else Format())
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
    kwargs: dict[str, Any] = {"id": table_id} if table_id else {}
    return dash_table.DataTable(  # type: ignore[attr-defined]
        data=records.to_dict("records"), columns=columns, sort_action="native",
        page_size=page_size, style_data_conditional=styles,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "padding": "4px 8px", "textAlign": "right"},
        style_header={"fontWeight": "bold", "backgroundColor": "#f1f4f8"}, **kwargs)


def graph(fig: go.Figure, graph_id: str | None = None) -> dcc.Graph:
    kwargs: dict[str, Any] = {"id": graph_id} if graph_id else {}
    return dcc.Graph(figure=fig, config={"displaylogo": False, "locale": "zh-CN"}, **kwargs)


def section(title: str, *children_ids: str, note: str | None = None) -> html.Div:
    """A titled block whose content Divs (filled by callbacks) show a loading indicator."""
    return html.Div([
        html.H3(title),
        *([html.P(note, className="eqm-note")] if note else []),
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
        parts.append(_dropdown("grade", [{"label": str(g), "value": int(g)} for g in grades],
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
        return html.Div([html.H2(t(title, lang)), refusal(exc, lang)], id="eqm-page")
    return html.Div([
        html.H2(t(title, lang)),
        filter_bar(svc, user, f, lang, keys) if keys else html.Div(),
        dcc.Store(id=ids.FILTERS, data=f.as_query()),
        html.P(t("suppressed_note", lang, n=svc.min_n), className="eqm-note"),
        *body(user, f, lang),
    ], id="eqm-page")


DEPENDENTS: dict[str, tuple[str, ...]] = {
    "exam": ("grade", "subject", "class"), "grade": ("subject", "class"),
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


def code(kind: str, value: object, lang: str) -> str:
    return code_label(kind, value, lang)
