"""Research officer: value added — caterpillar with 95% intervals, funnel plot against school
size (95% / 99.8% limits), attainment × value-added quadrant and the status × change grid."""

from __future__ import annotations

from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, callback, dcc, html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import graph, guarded, message, page, section, table
from dashboards.i18n import code_label, t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/value-added", title="增值评价",
                   name="officer_value_added")

VA_COLS = ["zone_name", "school_name", "class_name", "n", "n_missing_prior", "va", "se",
           "ci_low", "ci_high", "category"]
PRIOR = "va-prior"


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        from dashboards.components import service

        priors = service().prior_exams(user, f)
        return [
            html.Div([
                html.Label(t("level", lang)),
                dcc.RadioItems(id=ids.VA_LEVEL, value="school", inline=True,
                               options=[{"label": t("school", lang), "value": "school"},
                                        {"label": t("class", lang), "value": "class"}]),
                html.Label("入口考试 / entry exam", style={"marginLeft": "16px"}),
                dcc.Dropdown(id=PRIOR, options=priors, value=priors[0] if priors else None,
                             clearable=False, style={"width": "280px"}),
            ], className="eqm-filters"),
            section(t("caterpillar", lang), ids.VA_CATERPILLAR),
            html.Div([section(t("funnel", lang), ids.VA_FUNNEL),
                      section(t("quadrant", lang), ids.VA_QUADRANT)], className="eqm-grid"),
            html.Div([section(t("status_change", lang), ids.VA_GRID),
                      section("", ids.VA_TABLE)], className="eqm-grid"),
        ]

    return page(kwargs, group="officer", title="officer_value_added", body=body,
                keys=("exam", "grade", "subject", "zone"))


def funnel_sigma(va: pd.DataFrame) -> float:
    """Student-level SD implied by the intervals: median of se·√n (se of a mean ≈ σ/√n)."""
    ok = va.dropna(subset=["se", "n"])
    return float(np.median(ok["se"] * np.sqrt(ok["n"]))) if not ok.empty else float("nan")


@callback(Output(ids.VA_CATERPILLAR, "children"), Output(ids.VA_FUNNEL, "children"),
          Output(ids.VA_QUADRANT, "children"), Output(ids.VA_GRID, "children"),
          Output(ids.VA_TABLE, "children"),
          Input(ids.FILTERS, "data"), Input(ids.VA_LEVEL, "value"), Input(PRIOR, "value"))
@guarded(5)
def update(user: User, lang: str, svc: Service, data: dict[str, Any], level: str,
           prior: str | None) -> list[Any]:
    svc.require(user, "officer")
    f = Filters.from_mapping(data)
    level = "class" if level == "class" else "school"
    va = svc.value_added(user, f, level=level, prior_exam=prior)
    if va.empty:
        return [message(t("no_data", lang))] * 5
    name = f"{level}_name"
    label = va[name] if level == "school" else va["school_name"] + " " + va["class_name"]
    va = va.assign(label=label, category_label=[code_label("category", c, lang)
                                                for c in va["category"]])
    cat = graph(figures.caterpillar(va, "label", "va", "ci_low", "ci_high",
                                    category="category"))
    fun = graph(figures.funnel(va, "n", "va", "label", sigma=funnel_sigma(va)))
    attain = svc.score_report(user, f, level=level)
    id_col = f"{level}_id"
    both = va.merge(attain[[id_col, "z_mean", "mean"]], on=id_col, how="left")
    quad = graph(figures.quadrant(both, "z_mean", "va", "label", x_ref=0.0,
                                  x_title="成绩 (z) / attainment", y_title="增值 / value added"))
    status = np.where(both["z_mean"] > 0.2, "high", np.where(both["z_mean"] < -0.2, "low",
                                                              "middle"))
    grid_frame = both.assign(status=status, change=both["category_label"], count=1)
    grid = graph(figures.grid(grid_frame, "status", "change", "count"))
    cols = [c for c in VA_COLS if c in va.columns]
    return [cat, fun, quad, grid,
            table(va[cols].assign(category=va["category"]), lang, table_id="va-datatable")]
