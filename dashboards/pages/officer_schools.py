"""Research officer: school comparison and ranking (exact ranks only if the district allows)."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import graph, message, on_filters, page, section, table, unit_link
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/schools", title="学校比较", name="officer_schools")


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [section(t("ranking", lang), ids.SC_TABLE),
                section(t("mean_by_school", lang), ids.SC_BAR)]

    return page(kwargs, group="officer", title="officer_schools", body=body,
                keys=("exam", "grade", "subject", "zone"))


@on_filters(ids.SC_TABLE, ids.SC_BAR)
def update(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    frame = svc.school_ranking(user, f)
    ref = svc.score_report(user, f, level="district")
    order = "rank" if "rank" in frame.columns else "mean"
    frame = frame.sort_values(order, ascending=order == "rank")
    cols = [c for c in ["rank", "zone_name", "school_name", "n", "mean", "ci_low", "ci_high",
                        "excellent_rate", "pass_rate", "low_rate", "above_mean_rate", "z_mean"]
            if c in frame.columns]
    note = [] if "rank" in frame.columns else [message(t("ranking_off", lang))]
    district = float(ref["mean"].iloc[0]) if not ref.empty else 0.0
    fig = figures.caterpillar(
        frame.assign(label=frame["school_name"],
                     link=[unit_link("/principal", f, school=int(s))
                           for s in frame["school_id"]]),
        "label", "mean", "ci_low", "ci_high", zero=district, y_title=t("axis_mean", lang),
        zero_label=f"{t('district_mean_line', lang)} {district:.2f}", links="link")
    return [html.Div([*note, table(frame[cols], lang, table_id="sc-datatable",
                                   reference={"mean": district} if not ref.empty else None)]),
            html.Div([html.P(t("drill_hint", lang), className="eqm-note"),
                      graph(fig, "sc-caterpillar", drill=True)])]
