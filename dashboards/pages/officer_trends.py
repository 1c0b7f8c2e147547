"""Research officer: trends across exams (district, and a chosen school)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import graph, guarded, message, page, section, table
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/trends", title="历次趋势", name="officer_trends")


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [section(t("trends", lang), ids.TR_CHART), section("", ids.TR_TABLE)]

    return page(kwargs, group="officer", title="officer_trends", body=body,
                keys=("exam", "grade", "subject", "zone", "school"))


@callback(Output(ids.TR_CHART, "children"), Output(ids.TR_TABLE, "children"),
          Input(ids.FILTERS, "data"))
@guarded(2)
def update(user: User, lang: str, svc: Service, data: dict[str, Any]) -> list[Any]:
    svc.require(user, "officer")
    frame = svc.trends(user, Filters.from_mapping(data))
    if frame.empty:
        return [message(t("no_data", lang))] * 2
    y = "z_mean" if frame["unit"].nunique() > 1 else "mean"
    cols = [c for c in ["exam", "exam_date", "unit", "n", "mean", "z_mean", "excellent_rate",
                        "pass_rate", "low_rate"] if c in frame.columns]
    return [graph(figures.trend(frame, "exam", y, "unit")), table(frame[cols], lang)]
