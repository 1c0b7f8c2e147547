"""Research officer: green indicators (绿色指标) — radar of a school against the district."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from analytics.users import User
from dashboards import figures, ids
from dashboards.components import (
    graph,
    how_to_read,
    message,
    on_filters,
    page,
    section,
    table,
)
from dashboards.i18n import t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/officer/green", title="绿色指标", name="officer_green")


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        return [section(t("radar", lang), ids.GR_RADAR, howto=how_to_read("green", lang)),
                section("", ids.GR_TABLE)]

    return page(kwargs, group="officer", title="officer_green", body=body,
                keys=("exam", "grade", "zone", "school"))


@on_filters(ids.GR_RADAR, ids.GR_TABLE)
def update(user: User, lang: str, svc: Service, f: Filters) -> list[Any]:
    svc.require(user, "officer")
    green = svc.green(user, f)
    if green.empty:
        return [message(t("no_data", lang))] * 2
    if f.school is None:  # one school at a time on the radar: the first listed by default
        first = green["school_id"].dropna()
        shown = green[green["school_id"].isna() | (green["school_id"] == first.iloc[0])] \
            if not first.empty else green
    else:
        shown = green
    fig = figures.radar(shown.dropna(subset=["index_level"]), "name", "index_level",
                        "unit_name", range_=(0, 9))
    if f.school is not None or "index_level" not in green.columns:
        cols = [c for c in ["unit_name", "name", "n", "value", "ci_low", "ci_high",
                            "index_level"] if c in green.columns]
        return [graph(fig), table(green[cols], lang, page_size=20)]
    # many schools (a city has thousands): one row per unit, one column per indicator's level,
    # so the browser gets units × indicators cells once, not a long table 10× as large
    return [graph(fig), table(figures.levels_by_unit(green), lang, page_size=20)]

