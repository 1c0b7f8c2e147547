"""IRT figures as pure functions (for the committee page): item characteristic curves and the
test information with its conditional SEM. Frames come from ``analytics.irt_items`` (through
:func:`analytics.stats.irt.calibrate.item_curves`) and ``analytics.irt_information``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import _figure, empty


def icc_figure(curves: pd.DataFrame, *, title: str | None = None,
               no_data: str = "无数据 / no data") -> go.Figure:
    """One line per item: the expected score rate against θ (``item_curves``' long frame)."""
    if curves.empty:
        return empty(no_data)
    label = "item_label" if "item_label" in curves.columns else "item"
    data = [go.Scatter(x=g["theta"], y=g["expected_rate"], mode="lines", name=str(item),
                       hovertemplate="θ=%{x:.2f}<br>%{y:.3f}<extra>" + str(item) + "</extra>")
            for item, g in curves.groupby(label, sort=False)]
    return _figure(data, title=title, xaxis={"title": {"text": "θ"}},
                   yaxis={"title": {"text": "E(x | θ) / max"}, "range": [0, 1]})


def information_figure(info: pd.DataFrame, *, title: str | None = None,
                       no_data: str = "无数据 / no data") -> go.Figure:
    """Test information (left axis) and conditional SEM (right axis) against θ."""
    if info.empty:
        return empty(no_data)
    data = [go.Scatter(x=info["theta"], y=info["info"], mode="lines", name="I(θ)"),
            go.Scatter(x=info["theta"], y=info["sem"], mode="lines", name="SEM(θ)",
                       yaxis="y2", line={"dash": "dash"})]
    return _figure(data, title=title, xaxis={"title": {"text": "θ"}},
                   yaxis={"title": {"text": "I(θ)"}},
                   yaxis2={"title": {"text": "SEM"}, "overlaying": "y", "side": "right"})
