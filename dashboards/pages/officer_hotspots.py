"""Research officer: error-hotspot heatmap (school or class × knowledge point) and the flagged
items (below the district, FDR-controlled)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    graph,
    guarded,
    message,
    page,
    section,
    table,
    totals_only,
    unit_link,
)
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/hotspots", title="错误热点", name="officer_hotspots")

HEATMAP_UNITS = 60  # rows of the heatmap at most: the units furthest below the district
TABLE_ROWS = 300    # flagged hotspots listed at most (largest gaps first)

FLAG_COLS = ["school_name", "class_name", "item_label", "knowledge_points", "n", "unit_rate",
             "district_rate", "gap", "q_value", "wrong_option", "wrong_option_share"]


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            html.Div([html.Label(t("level", lang)),
                      dcc.RadioItems(id=ids.HS_LEVEL, value="school", inline=True,
                                     options=[{"label": t("school", lang), "value": "school"},
                                              {"label": t("class", lang), "value": "class"}])]),
            section(t("hotspot_heatmap", lang), ids.HS_HEATMAP),
            section(t("weak_items", lang), ids.HS_TABLE),
        ]

    return page(kwargs, group="officer", title="officer_hotspots", body=body,
                keys=("exam", "grade", "subject", "zone", "school"))


@callback(Output(ids.HS_HEATMAP, "children"), Output(ids.HS_TABLE, "children"),
          Input(ids.FILTERS, "data"), Input(ids.HS_LEVEL, "value"))
@guarded(2)
def update(user: User, lang: str, svc: Service, data: dict[str, Any], level: str) -> list[Any]:
    svc.require(user, "officer")
    f = Filters.from_mapping(data)
    if svc.totals_only(user, f):
        return [totals_only(lang), html.Div()]
    level = "class" if level == "class" else "school"
    matrix = svc.knowledge_matrix(user, f, level=level)
    unit = f"{level}_name"
    if level == "class" and "school_name" in matrix.columns:
        matrix = matrix.assign(class_name=matrix["school_name"] + " " + matrix["class_name"])
    total = int(matrix[unit].nunique()) if unit in matrix.columns else 0
    if total > HEATMAP_UNITS:
        matrix = figures.worst_units(matrix, unit, "gap", HEATMAP_UNITS)
    if "school_id" in matrix.columns:
        matrix = matrix.assign(link=[unit_link("/principal", f, school=int(s))
                                     for s in matrix["school_id"]])
    fig = figures.heatmap(matrix, "knowledge_point", unit, "gap", zmid=0.0,
                          title=t("heatmap_top", lang, total=total, shown=HEATMAP_UNITS)
                          if total > HEATMAP_UNITS else None,
                          colorbar_title=t("gap_colorbar", lang), percent=True,
                          links="link" if "link" in matrix.columns else None) \
        if {"knowledge_point", unit, "gap"} <= set(matrix.columns) \
        else figures.empty(t("no_data", lang))  # e.g. no knowledge points on the paper
    flagged = svc.hotspots(user, f, level=level)
    if "flag" in flagged.columns:
        flagged = flagged[flagged["flag"].fillna(False).astype(bool)].sort_values("gap")
    shown = table(flagged.head(TABLE_ROWS)[[c for c in FLAG_COLS if c in flagged.columns]], lang)
    if len(flagged) > TABLE_ROWS:  # a city has tens of thousands: the largest gaps first
        shown = html.Div([message(t("rows_top", lang, total=len(flagged), shown=TABLE_ROWS)),
                          shown])
    return [html.Div([html.P(t("drill_hint", lang), className="eqm-note"),
                      graph(fig, "hs-heatmap-graph", drill=True)]), shown]
