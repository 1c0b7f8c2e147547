"""Research officer: item analysis (item table, options in upper/lower groups, item curve)."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from analytics.domain.items import OBJECTIVE_TYPES
from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    browser_id,
    graph,
    guarded,
    message,
    page,
    section,
    table,
    totals_only,
)
from dashboards.i18n import code_label, t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/items", title="试题分析", name="officer_items")

ITEM_COLS = ["item_number", "item_label", "item_type", "n", "max_score", "mean_score", "difficulty",
             "discrimination", "r_item_rest", "omit_rate", "key", "top_distractor",
             "top_distractor_share", "flags"]


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            section(t("item_table", lang), ids.IT_TABLE),
            html.Div([html.Label(t("item", lang)),
                      dcc.Dropdown(id=ids.IT_ITEM, clearable=False, style={"width": "200px"})]),
            html.Div([section(t("option_chart", lang), ids.IT_OPTIONS),
                      section(t("item_curve", lang), ids.IT_CURVE)], className="eqm-grid"),
        ]

    return page(kwargs, group="officer", title="officer_items", body=body,
                keys=("exam", "grade", "subject"))


@callback(Output(ids.IT_TABLE, "children"), Output(ids.IT_ITEM, "options"),
          Output(ids.IT_ITEM, "value"), Input(ids.FILTERS, "data"))
def update_table(data: dict[str, Any]) -> tuple[Any, list[dict[str, Any]], Any]:
    @guarded(1)
    def inner(user: User, lang: str, svc: Service) -> Any:
        svc.require(user, "officer")
        f = Filters.from_mapping(data)
        if svc.totals_only(user, f):
            return totals_only(lang)
        stats = svc.item_stats(user, f)
        cols = [c for c in ITEM_COLS if c in stats.columns]
        return stats, table(stats[cols], lang, table_id="it-datatable", page_size=12)

    out = inner()
    if not isinstance(out, tuple):
        return out, [], None
    stats, tab = out
    if not {"item_label", "item_number", "item_type"} <= set(stats.columns):  # no items
        return tab, [], None
    options = [{"label": str(r.item_label), "value": int(r.item_number)}
               for r in stats.itertuples()]
    objective = stats[stats["item_type"].isin(OBJECTIVE_TYPES)]
    first = int(objective["item_number"].iloc[0]) if not objective.empty else (
        options[0]["value"] if options else None)
    return tab, options, first


@callback(Output(ids.IT_OPTIONS, "children"), Output(ids.IT_CURVE, "children"),
          Input(ids.IT_ITEM, "value"), Input(ids.FILTERS, "data"))
@guarded(2)
def update_item(user: User, lang: str, svc: Service, number: Any,
                data: dict[str, Any]) -> list[Any]:
    svc.require(user, "officer")
    f = Filters.from_mapping(data)
    if svc.totals_only(user, f):
        return [totals_only(lang)] * 2
    if number is None:
        return [message(t("no_data", lang))] * 2
    number = browser_id(number, "题号 / item number")
    opts = svc.option_analysis(user, f)
    one = (opts[opts["item_number"] == number] if "item_number" in opts.columns
           else opts.iloc[0:0])
    if one.empty:
        options_fig: Any = message(t("no_data", lang))
    else:
        long = pd.concat([
            one.assign(group="upper", value=one["share_upper"]),
            one.assign(group="lower", value=one["share_lower"]),
        ])
        key = "".join(one.loc[one["is_key"].astype(bool), "option"].astype(str))
        options_fig = graph(figures.option_chart(
            long, "option", "group", "value", key=key,
            names={g: code_label("group", g, lang) for g in ("upper", "lower")},
            x_title=t("axis_option", lang), y_title=t("axis_share", lang)))
    curve = svc.item_curve(user, f, item_number=number)
    curve_fig = graph(figures.item_curve(curve, "group", "score_rate",
                                         x_title=t("axis_total_group", lang),
                                         y_title=t("axis_rate", lang))) if not curve.empty \
        else message(t("needs_archive", lang))
    return [options_fig, curve_fig]
