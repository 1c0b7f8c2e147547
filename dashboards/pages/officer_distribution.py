"""一分一段表 and 全科总分: the score table (score → students, cumulated from the top) of a paper
or of the exam's total, for the district and a school, and the total's rates and grade bands
per school (or class). Research officers see the district and any school; a principal sees
their own school, and the district only while it cannot be differenced back to another school
(scoped by the service, on the server)."""

from __future__ import annotations

import re
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from analytics.domain import label
from analytics.users import User
from dashboards import ids
from dashboards.components import graph, guarded, message, page, section, table
from dashboards.figures_scoretables import band_shares, cumulative
from dashboards.i18n import column_label, t
from dashboards.service import Filters, Service

dash.register_page(__name__, path="/distribution", title="一分一段与全科总分",
                   name="officer_distribution")

WIDTHS = (1, 5, 10, 20)     # 1: one row per score (一分一段); else the band width in points
TABLE_COLS = ["score_band", "count", "cum_count", "cum_share"]
LEVEL_COLS = ["unit_name", "n", "n_absent", "n_void", "mean", "excellent_rate", "pass_rate",
              "low_rate", "a_share", "b_share", "c_share", "d_share"]


def layout(**kwargs: Any) -> html.Div:
    def body(user: User, f: Filters, lang: str) -> list[Any]:
        width_opts = [{"label": t("ds_one_point", lang) if w == 1 else t("ds_band", lang, w=w),
                       "value": w} for w in WIDTHS]
        legend = [html.Li(label("grade_band_legend", b, lang)) for b in "ABCD"]
        return [
            html.P(t("ds_intro", lang), className="eqm-note"),
            html.Div([
                html.Div([html.Label(t("ds_source", lang)),
                          dcc.RadioItems(id=ids.DS_SOURCE, value="subject", inline=True,
                                         options=[{"label": t("ds_subject", lang),
                                                   "value": "subject"},
                                                  {"label": t("ds_total", lang),
                                                   "value": "total"}])],
                         className="eqm-filter"),
                html.Div([html.Label(t("ds_width", lang)),
                          dcc.Dropdown(id=ids.DS_WIDTH, options=width_opts, value=1,
                                       clearable=False)], className="eqm-filter"),
            ], className="eqm-filters"),
            section(t("ds_chart", lang), ids.DS_NOTE, ids.DS_CHART),
            section(t("ds_table", lang), ids.DS_TABLE),
            section(t("ds_levels", lang), ids.DS_LEVELS_CHART, ids.DS_LEVELS_TABLE,
                    note=label("legend", "grade_bands", lang)),
            html.Ul(legend, className="eqm-note"),
        ]

    return page(kwargs, group="principal", title="officer_distribution", body=body,
                keys=("exam", "grade", "subject", "zone", "school"))


def _width(value: Any) -> float | None:
    """The band width chosen (None: one row per score); anything unexpected → None."""
    return float(value) if isinstance(value, int | float) and value in WIDTHS[1:] else None


def _shown_school(user: User, f: Filters) -> bool:
    return user.role == "principal" or f.school is not None


def band_text(frame: pd.DataFrame, width: float | None) -> pd.Series:
    """The 分数 column as shown: the score, or the band ``low–high``."""
    if width is None:
        return frame["score"].map(lambda v: f"{v:g}")
    return pd.Series([f"{lo:g}–{hi:g}" for lo, hi in zip(frame["score"], frame["score_high"],
                                                          strict=True)], index=frame.index)


def _rule_note(svc: Service, user: User, f: Filters, lang: str) -> html.P | None:
    """Who the total leaves out (the district's, or for a principal their school's, row)."""
    level = "school" if user.role == "principal" else "district"
    rep = svc.total_report(user, f, level=level)
    if rep.empty or "n_absent" not in rep.columns:
        return None
    r = rep.iloc[0]
    return html.P(t("ds_total_rule", lang, absent=int(rep["n_absent"].sum()),
                    void=int(rep["n_void"].sum()), subjects=str(r["subjects"]).replace(
                        "+", "、" if lang == "zh" else ", "),
                    full=float(r["full_score"])), className="eqm-note")


@callback(Output(ids.DS_NOTE, "children"), Output(ids.DS_CHART, "children"),
          Output(ids.DS_TABLE, "children"),
          Input(ids.FILTERS, "data"), Input(ids.DS_SOURCE, "value"),
          Input(ids.DS_WIDTH, "value"))
@guarded(3)
def update_table(user: User, lang: str, svc: Service, data: dict[str, Any], source: Any,
                 width_value: Any) -> list[Any]:
    svc.require(user, "principal")
    f = Filters.from_mapping(data)
    total = source == "total"
    width = _width(width_value)
    district = svc.score_distribution(user, f, level="district", width=width, total=total)
    frames, notes = [], []
    if not district.empty:
        frames.append(district.assign(unit_name=t("district_ref", lang)))
    elif user.role == "principal":
        notes.append(html.P(t("ds_district_hidden", lang), className="eqm-note"))
    school = pd.DataFrame()
    if _shown_school(user, f):
        school = svc.score_distribution(user, f, level="school", width=width, total=total)
        if not school.empty:
            frames.append(school.assign(unit_name=school["school_name"]))
    else:
        notes.append(html.P(t("ds_school_needed", lang), className="eqm-note"))
    if total:
        rule = _rule_note(svc, user, f, lang)
        if rule is not None:
            notes.insert(0, rule)
    if not frames:
        return [html.Div(notes), message(t("no_data", lang)), html.Div()]
    both = pd.concat(frames, ignore_index=True)
    fig = cumulative(both, score="score", share="cum_share", series="unit_name",
                     count="count", count_series=frames[-1]["unit_name"].iloc[0],
                     count_title=t("count_axis", lang), x_title=t("score_axis", lang),
                     y_title=t("cum_share_axis", lang))
    shown = frames[-1].copy()     # the school's table when one is shown, else the district's
    shown["score_band"] = band_text(shown, width)
    return [html.Div(notes), graph(fig, ids.DS_CHART + "-graph"),
            table(shown[TABLE_COLS], lang, page_size=25)]


def _natural(text: Any) -> tuple[Any, ...]:
    """Sort key: 2班 before 10班."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(text)))


def _units(svc: Service, user: User, f: Filters, lang: str) -> pd.DataFrame:
    """The total's report and grade-band shares of the district row (when shown), then the
    schools (an officer: all, or the chosen school and its classes; a principal: their school
    and its classes), with ``unit_name``."""
    parts = []
    levels = ["district", "school", "class"] if _shown_school(user, f) else ["district",
                                                                                "school"]
    keys = {"district": ["district_id"], "school": ["school_id"], "class": ["class_id"]}
    for level in levels:
        rep = svc.total_report(user, f, level=level, view="report")
        bands = svc.total_report(user, f, level=level, view="levels")
        if rep.empty:
            continue
        on = [k for k in keys[level] if k in rep.columns and k in bands.columns]
        shares = [c for c in ("share_a", "share_b", "share_c", "share_d") if c in bands.columns]
        if on and shares:
            rep = rep.merge(bands[on + shares], on=on, how="left")
        if level == "school" and f.school is not None and "school_id" in rep.columns:
            rep = rep[rep["school_id"] == f.school]
        if level == "district":
            rep = rep.assign(unit_name=t("district_ref", lang))
        else:
            rep = rep.assign(unit_name=rep[f"{level}_name"])
        if level == "class":
            rep = rep.sort_values("class_name", key=lambda s: s.map(_natural))
        parts.append(rep)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@callback(Output(ids.DS_LEVELS_CHART, "children"), Output(ids.DS_LEVELS_TABLE, "children"),
          Input(ids.FILTERS, "data"))
@guarded(2)
def update_levels(user: User, lang: str, svc: Service, data: dict[str, Any]) -> list[Any]:
    svc.require(user, "principal")
    f = Filters.from_mapping(data)
    merged = _units(svc, user, f, lang)
    if merged.empty or "share_a" not in merged.columns:
        return [message(t("no_data", lang)), html.Div()]
    names = {b: label("grade_band", b, lang) for b in "ABCD"}
    fig = band_shares(merged, "unit_name", names=names, x_title=column_label("unit_name", lang),
                      y_title=t("band_share_axis", lang))
    # the table shows shares as percentages by their *_share names
    merged = merged.rename(columns={f"share_{b}": f"{b}_share" for b in "abcd"})
    cols = [c for c in LEVEL_COLS if c in merged.columns]
    return [graph(fig, ids.DS_LEVELS_CHART + "-graph"), table(merged[cols], lang, page_size=20)]
