"""Figures of the score tables page (一分一段表, 全科总分) as pure functions: a tidy frame
(already scoped and suppressed) → a plotly Figure. Texts (titles, series names) come from the
caller, so the page decides the language and the tests can build frames by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import BAND_COLORS, _figure


def cumulative(frame: pd.DataFrame, *, score: str, share: str, series: str,
               x_title: str, y_title: str, count: str | None = None,
               count_series: object = None, count_title: str | None = None,
               title: str | None = None) -> go.Figure:
    """The cumulative share from the top (``share`` in 0..1, as %) against the score, one line
    per ``series`` (e.g. the district and a school); the score axis runs from high to low so
    that the curve rises left to right as the table reads. With ``count``, the students at
    each score of ``count_series`` (default the first series) as bars on a second axis."""
    data = frame.dropna(subset=[share])
    traces: list[go.BaseTraceType] = []
    groups = list(data.groupby(series, sort=False))
    dtick = 1
    if count is not None and groups:
        key = count_series if count_series is not None else groups[0][0]
        part = data[data[series] == key]
        traces.append(go.Bar(x=part[score], y=part[count], name=f"{key} · {count_title or count}",
                             yaxis="y2", marker_color="#c9d6ea", opacity=0.8))
        top = float(part[count].max()) if len(part) else 1.0
        dtick = max(1, math.ceil(top / 5))     # whole students on the count axis
    for name, part in groups:
        traces.append(go.Scatter(
            x=part[score], y=part[share] * 100, name=str(name), line={"shape": "hv"},
            mode="lines+markers" if len(part) <= 40 else "lines",
            hovertemplate="%{x}: %{y:.1f}%<extra>" + str(name) + "</extra>"))
    layout: dict[str, Any] = {
        "xaxis": {"autorange": "reversed", "title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}, "range": [0, 101], "ticksuffix": "%",
                  "automargin": True},
    }
    if count is not None:
        layout["yaxis2"] = {"title": {"text": count_title or count}, "overlaying": "y",
                            "side": "right", "showgrid": False, "rangemode": "tozero",
                            "dtick": dtick, "tickformat": "d", "automargin": True}
        layout["margin"] = {"l": 60, "r": 60, "t": 50 if title else 20, "b": 50}
    return _figure(traces, title, height=420, showlegend=True, **layout)


def band_shares(frame: pd.DataFrame, unit: str, *, names: Mapping[str, str], x_title: str,
                y_title: str, order: Sequence[str] = ("A", "B", "C", "D"),
                title: str | None = None) -> go.Figure:
    """100%-stacked bars of the grade bands per unit from the columns ``share_a`` …
    ``share_d`` (0..1); ``names`` maps a band (A–D) to its legend text."""
    data = frame.dropna(subset=[f"share_{b.lower()}" for b in order])
    traces = [go.Bar(x=data[unit].astype(str), y=data[f"share_{b.lower()}"] * 100,
                     name=names.get(b, b), marker_color=BAND_COLORS.get(b))
              for b in order]
    return _figure(traces, title, barmode="stack", height=400,
                   xaxis={"title": {"text": x_title}, "automargin": True},
                   yaxis={"title": {"text": y_title}, "ticksuffix": "%", "range": [0, 100],
                          "automargin": True},
                   legend={"orientation": "h", "y": -0.35})
