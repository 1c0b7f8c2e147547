"""Research officer: trends across exams (district, and a chosen school)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from analytics.reports.views import z_interval
from analytics.users import User
from dashboards import figures, ids
from dashboards.components import graph, guarded, how_to_read, message, page, section, table
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/trends", title="历次趋势", name="officer_trends")


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [section(t("trends", lang), ids.TR_CHART, howto=how_to_read("trends", lang)),
                section("", ids.TR_TABLE)]

    return page(kwargs, group="officer", title="officer_trends", body=body,
                keys=("exam", "grade", "subject", "zone", "school"))


@callback(Output(ids.TR_CHART, "children"), Output(ids.TR_TABLE, "children"),
          Input(ids.FILTERS, "data"))
@guarded(2)
def update(user: User, lang: str, svc: Service, data: dict[str, Any]) -> list[Any]:
    svc.require(user, "officer")
    frame = z_interval(svc.trends(user, Filters.from_mapping(data)))
    if frame.empty:
        return [message(t("no_data", lang))] * 2
    cols = [c for c in ["exam", "exam_date", "unit", "n", "mean", "z_mean", "z_ci_low",
                        "z_ci_high", "excellent_rate", "pass_rate", "low_rate"]
            if c in frame.columns]
    schools = frame[frame["level"] == "school"] if "level" in frame.columns else frame.iloc[0:0]
    if not schools.empty and "z_mean" in schools.columns and schools["z_mean"].notna().any():
        # mean z: comparable across papers of different difficulty (raw means are not)
        fig = figures.trend(frame, "exam", "z_mean", "unit",
                            ci_low="z_ci_low" if "z_ci_low" in frame.columns else None,
                            ci_high="z_ci_high" if "z_ci_high" in frame.columns else None,
                            y_title=t("axis_mean_z", lang), x_title=t("axis_exam", lang),
                            reference=0.0, reference_label=t("district_z_line", lang))
        head = html.P(t("trend_scale", lang), className="eqm-note")
    else:
        fig = figures.trend(frame, "exam", "mean", "unit", y_title=t("axis_mean", lang),
                            x_title=t("axis_exam", lang), ci_low="ci_low", ci_high="ci_high")
        head = html.P(t("trend_raw", lang), className="eqm-note")
    return [html.Div([head, graph(fig)]), table(frame[cols], lang)]
