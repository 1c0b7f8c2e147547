"""Research officer: district overview (三率一分 by school, means, grade bands by zone)."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    band_names,
    bands_long,
    graph,
    on_filters,
    page,
    section,
    table,
    unit_link,
)
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/overview", title="区域概览", name="officer_overview")

RATE_COLS = ["n", "mean", "sd", "excellent_rate", "pass_rate", "low_rate", "above_mean_rate"]


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [
            section(t("overview_table", lang), ids.OV_TABLE),
            html.Div([section(t("mean_by_school", lang), ids.OV_BAR),
                      html.Div([section(t("dist_by_zone", lang), ids.OV_DIST),
                                section(t("bands_by_zone", lang), ids.OV_ZONES)])],
                     className="eqm-grid"),
        ]

    return page(kwargs, group="officer", title="officer_overview", body=body,
                keys=("exam", "grade", "subject", "zone"))


def district_reference(svc: Service, user: User, f: Filters) -> pd.Series:
    d = svc.score_report(user, f, level="district")
    return d.iloc[0] if not d.empty else pd.Series(dtype=float)


@on_filters(ids.OV_TABLE, ids.OV_BAR, ids.OV_ZONES, ids.OV_DIST)
def update(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    svc.require(user, "officer")
    schools = svc.score_report(user, f, level="school")
    ref = district_reference(svc, user, f)
    cols = [c for c in ["zone_id", "zone_name", "school_id", "school_name", *RATE_COLS]
            if c in schools.columns]
    tab = table(schools[cols], lang, table_id="ov-datatable",
                reference={c: float(ref[c]) for c in ("mean", "excellent_rate", "pass_rate")
                           if c in ref.index})
    links = schools.assign(link=[unit_link("/principal", f, school=int(s))
                                 for s in schools["school_id"]]) \
        if "school_id" in schools.columns else schools.assign(link=None)
    bar = html.Div([
        html.P(t("drill_hint", lang), className="eqm-note"),
        graph(figures.bar(links.sort_values("mean"), "school_name", "mean",
                          horizontal=True, reference=float(ref.get("mean", float("nan"))),
                          reference_label=t("district_mean_line", lang),
                          x_title=t("axis_school", lang), y_title=t("axis_mean", lang),
                          links="link"), graph_id="ov-bar-graph", drill=True)])
    bands = svc.grade_bands(user, f, level="zone")
    zones = graph(figures.stacked_shares(bands_long(bands, "zone_name"), "zone_name", "band",
                                         "share", order=["A", "B", "C", "D"],
                                         names=band_names(lang), y_title=t("axis_share", lang),
                                         x_title=t("axis_zone", lang)))
    pct = svc.zone_percentiles(user, f)
    dist = graph(figures.box_from_quantiles(pct, "zone_name", q1="p25", median="p50", q3="p75",
                                            low="p10", high="p90",
                                            x_title=t("axis_zone", lang),
                                            y_title=t("axis_total", lang)))
    return [tab, bar, zones, dist]
