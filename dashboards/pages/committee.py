"""Exam committee (命题组): the paper quality report, archive search, each item's history
across exams, and editing of the error-cause notes (出错原因分析, kept as versions)."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    browser_id,
    graph,
    guarded,
    message,
    on_filters,
    page,
    section,
    table,
    totals_only,
)
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/committee", title="命题组", name="committee")

NOTE_SAVED = "cm-note-saved"        # bumped by a save: the history and versions reload
ARCHIVE_BTN = "cm-archive-export"
ARCHIVE_DOWNLOAD = "cm-archive-download"
ARCHIVE_STATUS = "cm-archive-status"
QUALITY_GRAPH = "cm-quality-graph"  # a click on an item's bar opens its history

QUALITY_COLS = ["n", "k", "full_score", "mean", "sd", "score_rate", "alpha", "sem", "ci_low",
                "ci_high", "mean_difficulty", "mean_discrimination"]
ITEM_COLS = ["item_number", "item_label", "item_type", "max_score", "difficulty", "discrimination",
             "r_item_rest", "key", "top_distractor", "top_distractor_share", "flags"]
SEARCH_COLS = ["bank_item_id", "label", "item_type", "knowledge_points", "max_score",
               "answer_key", "n_administrations", "last_exam", "score_rate", "discrimination",
               "difficulty_band", "note_version", "cause_text"]


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            section(t("paper_quality", lang), ids.CM_QUALITY, ids.CM_QUALITY_TABLE),
            html.Div([
                html.H3(t("archive_search", lang)),
                html.Div([html.Button(t("archive_export", lang), id=ARCHIVE_BTN, n_clicks=0),
                          dcc.Download(id=ARCHIVE_DOWNLOAD),
                          html.Span(id=ARCHIVE_STATUS, style={"marginLeft": "8px"})],
                         style={"margin": "4px 0 8px"}),
                dcc.Input(id=ids.CM_QUERY, type="text", debounce=True,
                          placeholder=t("search_placeholder", lang), style={"width": "280px"}),
                html.Button(t("search", lang), id=ids.CM_SEARCH_BTN, n_clicks=0),
                dcc.Loading(html.Div(id=ids.CM_RESULTS), type="dot"),
            ], className="eqm-section"),
            html.Div([
                html.H3(t("item_history", lang)),
                dcc.Dropdown(id=ids.CM_HISTORY_ITEM, placeholder=t("choose_item", lang),
                             style={"width": "360px"}),
                dcc.Store(id=NOTE_SAVED, data=0),
                dcc.Loading(html.Div(id=ids.CM_HISTORY), type="dot"),
                html.H4(t("notes", lang)),
                dcc.Textarea(id=ids.CM_NOTE_TEXT, style={"width": "100%", "height": "80px"}),
                html.Button(t("save", lang), id=ids.CM_NOTE_SAVE, n_clicks=0),
                html.Span(id=ids.CM_NOTE_STATUS, style={"marginLeft": "10px"}),
            ], className="eqm-section"),
        ]

    return page(kwargs, group="committee", title="committee", body=body,
                keys=("exam", "grade", "subject"))


@on_filters(ids.CM_QUALITY, ids.CM_QUALITY_TABLE)
def update_quality(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    quality = svc.paper_quality(user, f)
    if svc.totals_only(user, f):
        return [totals_only(lang), html.Div()]
    items = svc.committee_items(user, f)
    if not {"item_label", "difficulty", "discrimination"} <= set(items.columns):
        return [table(quality[[c for c in QUALITY_COLS if c in quality.columns]], lang),
                message(t("no_data", lang))]
    labels = items.assign(label=items["item_label"].astype(str))
    long = pd.concat([labels.assign(series=t("difficulty_p", lang), value=labels["difficulty"]),
                      labels.assign(series=t("discrimination_d", lang),
                                    value=labels["discrimination"])])
    fig = figures.bar(long, "label", "value", color="series", x_title=t("axis_item", lang),
                      y_title=t("axis_value", lang))
    return [table(quality[[c for c in QUALITY_COLS if c in quality.columns]], lang,
                  table_id="cm-quality-datatable"),
            html.Div([html.P(t("item_drill_hint", lang), className="eqm-note"),
                      graph(fig, QUALITY_GRAPH),
                      table(items[[c for c in ITEM_COLS if c in items.columns]], lang,
                            page_size=12)])]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@callback(Output(ids.CM_RESULTS, "children"), Output(ids.CM_HISTORY_ITEM, "options"),
          Input(ids.CM_SEARCH_BTN, "n_clicks"), Input(ids.CM_QUERY, "value"),
          Input(ids.FILTERS, "data"))
def search(n: int, text: str | None, data: dict[str, Any]) -> tuple[Any, list[Any]]:
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        hits = svc.archive_search(user, Filters.from_mapping(data), text)
        options = [{"label": f"{r['label']} · {_text(r['knowledge_points'])}"
                             f" (#{r['bank_item_id']})",
                    "value": int(r["bank_item_id"])} for r in hits.to_dict("records")]
        cols = [c for c in SEARCH_COLS if c in hits.columns]
        if hits.empty and not text:
            return message(t("needs_archive", lang)), options
        return table(hits[cols], lang, table_id="cm-search-datatable", page_size=10), options

    out = inner()
    return out if isinstance(out, tuple) else (out, [])


@callback(Output(ids.CM_HISTORY, "children"), Output(ids.CM_NOTE_TEXT, "value"),
          Input(ids.CM_HISTORY_ITEM, "value"), Input(NOTE_SAVED, "data"),
          prevent_initial_call=True)
def history(bank_item_id: Any, saved: Any = None) -> tuple[Any, str]:
    """The item's history and its note versions (again after a save: the new version)."""
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        if bank_item_id is None:
            return message(t("no_data", lang)), ""
        parts = svc.archive_item(user, browser_id(bank_item_id, "题目 / item"))
        adm = parts.get("administrations")
        notes = parts.get("notes")
        current = "" if notes is None or notes.empty else str(notes["cause_text"].iloc[-1])
        fig = figures.trend(adm.assign(series=t("difficulty_p", lang)), "exam", "score_rate",
                            "series", y_title=t("axis_rate", lang),
                            x_title=t("axis_exam", lang)) \
            if adm is not None and not adm.empty else None
        return html.Div([graph(fig) if fig is not None else html.Div(),
                         table(adm, lang), html.H4(t("versions", lang)),
                         table(notes, lang, table_id="cm-versions")]), current

    out = inner()
    return out if isinstance(out, tuple) else (out, "")


@callback(Output(ids.CM_NOTE_STATUS, "children"), Output(NOTE_SAVED, "data"),
          Input(ids.CM_NOTE_SAVE, "n_clicks"),
          State(ids.CM_HISTORY_ITEM, "value"), State(ids.CM_NOTE_TEXT, "value"),
          State(NOTE_SAVED, "data"), prevent_initial_call=True)
def save(n: int, bank_item_id: Any, text: str | None, saved: Any) -> tuple[Any, Any]:
    """Save a note version; the history (and its versions table) then reloads."""
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        if bank_item_id is None or not text:
            return message(t("no_data", lang))
        version = svc.save_note(user, browser_id(bank_item_id, "题目 / item"), str(text))
        return f"{t('saved', lang)} (v{version})"

    out = inner()
    ok = isinstance(out, str)
    count = saved if isinstance(saved, int) and not isinstance(saved, bool) else 0
    return out, count + 1 if ok else dash.no_update


@callback(Output(ids.CM_HISTORY_ITEM, "value"), Input(QUALITY_GRAPH, "clickData"),
          State(ids.CM_HISTORY_ITEM, "options"), prevent_initial_call=True)
def item_clicked(click: Any, options: Any) -> Any:
    """A click on an item of the difficulty chart opens that item's history (the archive's
    item of the same label among the search results)."""
    points = click.get("points") if isinstance(click, dict) else None
    label = points[0].get("x") if points and isinstance(points[0], dict) else None
    for opt in options if isinstance(options, list) else []:
        if isinstance(opt, dict) and str(opt.get("label", "")).startswith(f"{label} · "):
            return opt.get("value")
    return dash.no_update


@callback(Output(ARCHIVE_DOWNLOAD, "data"), Output(ARCHIVE_STATUS, "children"),
          Input(ARCHIVE_BTN, "n_clicks"), State(ids.FILTERS, "data"),
          prevent_initial_call=True)
def export_archive(n: int, data: dict[str, Any]) -> tuple[Any, Any]:
    """The paper's archive as an Excel download (as ``eqm archive export``)."""
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        f = svc.scope(user, Filters.from_mapping(data))
        content = svc.archive_export(user, f)
        return dcc.send_bytes(content, f"{f.exam} {f.subject} 命题档案.xlsx")

    out = inner()
    return (out, "") if isinstance(out, dict) else (dash.no_update, out)
