"""Research officer: value added — caterpillar with 95% intervals, funnel plot against school
size (95% / 99.8% limits), attainment × value-added quadrant and the status × change grid."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from analytics.reports.views import attainment_band, classes_equal_school, funnel_sigma
from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    graph,
    guarded,
    how_to_read,
    message,
    page,
    section,
    table,
    unit_link,
)
from dashboards.i18n import code_label, t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/value-added", title="增值评价",
                   name="officer_value_added")

VA_COLS = ["zone_name", "school_name", "class_name", "n", "n_missing_prior", "va", "se",
           "ci_low", "ci_high", "category"]
PRIOR = "va-prior"
ENTRY_NOTE = "va-entry-note"


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
                html.Label(t("entry_exam", lang), style={"marginLeft": "16px"}),
                dcc.Dropdown(id=PRIOR, options=priors, value=priors[0] if priors else None,
                             clearable=False, style={"width": "280px"}),
            ], className="eqm-filters"),
            html.P(t("entry_default", lang, exam=priors[0]) if priors
                   else t("no_entry_exam", lang), className="eqm-note", id=ENTRY_NOTE),
            section(t("caterpillar", lang), ids.VA_CATERPILLAR,
                    howto=how_to_read("value_added", lang)),
            html.Div([section(t("funnel", lang), ids.VA_FUNNEL,
                              howto=how_to_read("funnel", lang)),
                      section(t("quadrant", lang), ids.VA_QUADRANT)], className="eqm-grid"),
            html.Div([section(t("status_change", lang), ids.VA_GRID),
                      section("", ids.VA_TABLE)], className="eqm-grid"),
        ]

    return page(kwargs, group="officer", title="officer_value_added", body=body,
                keys=("exam", "grade", "subject", "zone"))


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
        text = t("no_entry_exam", lang) if not svc.prior_exams(user, f) else t("no_data", lang)
        return [message(text)] * 5
    name = f"{level}_name"
    label = va[name] if level == "school" else va["school_name"] + " " + va["class_name"]
    links = [unit_link("/principal", f, school=int(s)) if level == "school"
             else unit_link("/principal", f, school=int(s), **{"class": int(c)})
             for s, c in zip(va["school_id"], va.get("class_id", va["school_id"]),
                             strict=True)]
    va = va.assign(label=label, link=links,
                   category_label=[code_label("category", c, lang) for c in va["category"]])
    notes: list[Any] = [html.P(t("va_unit", lang) + " " + t("drill_hint", lang),
                               className="eqm-note")]
    if level == "class" and classes_equal_school(va):
        notes.append(message(t("va_classes_equal", lang), "eqm-message eqm-va-equal"))
    cat = html.Div([*notes, graph(figures.caterpillar(
        va, "label", "va", "ci_low", "ci_high", category="category",
        category_names={c: code_label("category", c, lang)
                        for c in ("above", "as_expected", "below")},
        y_title=t("axis_va", lang), zero_label=t("expected_line", lang), links="link"),
        "va-caterpillar", drill=True)])
    fun = graph(figures.funnel(va, "n", "va", "label", sigma=funnel_sigma(va),
                               limit_names=(t("limit_95", lang), t("limit_998", lang)),
                               x_title=t("axis_n", lang), y_title=t("axis_va", lang),
                               links="link"), "va-funnel", drill=True)
    attain = svc.score_report(user, f, level=level)
    id_col = f"{level}_id"
    both = va.merge(attain[[id_col, "z_mean", "mean"]], on=id_col, how="left")
    quad = graph(figures.quadrant(both, "z_mean", "va", "label", x_ref=0.0,
                                  x_title=t("axis_attainment", lang),
                                  y_title=t("axis_va", lang)))
    status = attainment_band(both["z_mean"])
    grid_frame = both.assign(status=[code_label("attainment", s, lang) for s in status],
                             change=both["category_label"], count=1)
    grid = graph(figures.grid(grid_frame, "status", "change", "count",
                              x_title=t("axis_change", lang), y_title=t("axis_status", lang)))
    cols = [c for c in VA_COLS if c in va.columns]
    return [cat, fun, quad, grid,
            table(va[cols].assign(category=va["category"]), lang, table_id="va-datatable")]


@callback(Output(ENTRY_NOTE, "children"), Input(PRIOR, "value"), State(ids.FILTERS, "data"),
          prevent_initial_call=True)
@guarded(1)
def entry_note(user: User, lang: str, svc: Service, prior: Any, data: Any) -> str:
    """Which entry exam the value added uses: the default (the latest earlier exam of the
    grade and subject) or the one chosen — only ever an exam of the service's list (never an
    echo of what the browser sent)."""
    svc.require(user, "officer")
    priors = svc.prior_exams(user, Filters.from_mapping(data))
    if not priors:
        return t("no_entry_exam", lang)
    if prior in priors and prior != priors[0]:
        return t("entry_chosen", lang, exam=str(priors[priors.index(prior)]))
    return t("entry_default", lang, exam=priors[0])
