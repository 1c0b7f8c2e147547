"""Figures as pure functions: a tidy frame (already scoped and suppressed) → a plotly Figure.

No function here reads data or knows about users; each takes the columns to plot by name, so
the pages decide what to show and the tests can build frames by hand. Rows whose value is NaN
(suppressed small groups) are left out of the marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
COLORS = {"above": "#2e7d32", "as_expected": "#757575", "expected": "#757575",
          "below": "#c62828", "district": "#1f5fa8", "school": "#ef6c00", "zone": "#7b1fa2",
          "upper": "#1f5fa8", "lower": "#ef6c00"}
BAND_COLORS = {"A": "#2e7d32", "B": "#1f5fa8", "C": "#f9a825", "D": "#c62828"}
Z_95 = 1.959963984540054     # two-sided 95%: Φ⁻¹(0.975)
Z_998 = 3.090232306167813    # two-sided 99.8%: Φ⁻¹(0.999)


COLORWAY = ["#1f5fa8", "#ef6c00", "#2e7d32", "#7b1fa2", "#c62828", "#00838f", "#6d4c41",
            "#9e9d24", "#5c6bc0", "#ad1457"]
GRID = {"gridcolor": "#e6eaf0", "zerolinecolor": "#c9d1dc", "linecolor": "#c9d1dc"}


LEGEND: dict[str, Any] = {"orientation": "h", "y": -0.3, "yanchor": "top"}
BASE_LAYOUT = {
    "font": {"family": FONT, "size": 13}, "template": "none", "colorway": COLORWAY,
    "paper_bgcolor": "white", "plot_bgcolor": "white", "xaxis": GRID, "yaxis": GRID,
    "legend": LEGEND,
}


def _figure(data: list[Any], title: str | None = None, height: int = 380,
            shapes: list[dict[str, Any]] | None = None,
            annotations: list[dict[str, Any]] | None = None, **layout: Any) -> go.Figure:
    """One construction with the whole layout. Building a figure and then calling
    ``update_layout``/``add_hline`` re-validates the layout each time (several times slower),
    and a named template is deep-copied on every figure; a callback draws several figures."""
    lay: dict[str, Any] = {
        **BASE_LAYOUT, "height": height,
        "margin": {"l": 60, "r": 20, "t": 50 if title else 30, "b": 60},
        "shapes": shapes or [], "annotations": annotations or [], **layout,
    }
    if title:
        lay["title"] = {"text": title}
    for axis in ("xaxis", "yaxis"):
        lay[axis] = {**GRID, **layout.get(axis, {})}
    return go.Figure(data=data, layout=lay)


def _hline(y: float, dash: str = "dash", color: str = "#444") -> dict[str, Any]:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
            "line": {"dash": dash, "color": color, "width": 1.5}}


def _vline(x: float, dash: str = "dash", color: str = "#444") -> dict[str, Any]:
    return {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "xref": "x", "x0": x, "x1": x,
            "line": {"dash": dash, "color": color, "width": 1.5}}


def _legend_line(name: str, dash: str = "dash", color: str = "#444") -> go.Scatter:
    """A legend entry for a reference line drawn as a shape (shapes have no legend)."""
    return go.Scatter(x=[None], y=[None], mode="lines", name=name, hoverinfo="skip",
                      line={"dash": dash, "color": color, "width": 1.5})


def _title(text: str | None) -> dict[str, Any]:
    return {"title": {"text": text}} if text else {}


def empty(message: str) -> go.Figure:
    """A blank figure carrying a message (no data, not available, refused)."""
    return _figure([], None, height=220, annotations=[
        {"text": message, "showarrow": False, "font": {"size": 15, "color": "#777"},
         "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}],
        xaxis={"visible": False}, yaxis={"visible": False})


def bar(frame: pd.DataFrame, x: str, y: str, *, color: str | None = None,
        title: str | None = None, reference: float | None = None,
        reference_label: str | None = None, horizontal: bool = False,
        x_title: str | None = None, y_title: str | None = None,
        links: str | None = None) -> go.Figure:
    """Bars of ``y`` by ``x`` (optionally grouped by ``color``), with a dashed reference line
    named in the legend (``reference_label`` and its value). ``x_title``/``y_title`` name the
    category and value axes; ``links`` a column of page links (a click opens them)."""
    data = frame.dropna(subset=[y])
    groups = [(None, data)] if color is None else list(data.groupby(color, sort=False))
    traces: list[Any] = []
    for name, part in groups:
        xs, ys = part[x].astype(str), part[y]
        traces.append(go.Bar(x=ys if horizontal else xs, y=xs if horizontal else ys,
                             orientation="h" if horizontal else "v",
                             name=None if name is None else str(name),
                             showlegend=name is not None,
                             customdata=None if links is None else list(part[links]),
                             hovertemplate=("%{y}: %{x:.2f}" if horizontal else
                                            "%{x}: %{y:.2f}") + "<extra></extra>"))
    shapes = []
    if reference is not None and np.isfinite(reference):
        shapes.append(_vline(reference) if horizontal else _hline(reference))
        if reference_label:
            traces.append(_legend_line(f"{reference_label} {reference:.2f}"))
    cat_axis = {"automargin": True, "type": "category", **_title(x_title)}
    val_axis = {"automargin": True, **_title(y_title)}
    return _figure(traces, title,
                   height=max(380, 24 * len(data) + 120) if horizontal else 380,
                   shapes=shapes, barmode="group",
                   showlegend=color is not None or bool(shapes and reference_label),
                   xaxis=val_axis if horizontal else cat_axis,
                   yaxis=cat_axis if horizontal else val_axis)


def stacked_shares(frame: pd.DataFrame, group: str, category: str, share: str, *,
                   title: str | None = None, order: Sequence[str] | None = None,
                   names: dict[str, str] | None = None, y_title: str = "%",
                   x_title: str | None = None) -> go.Figure:
    """100%-stacked bars: the distribution of ``category`` (e.g. grade band) within each group
    (e.g. zone). ``share`` in 0..1; ``names`` the legend text of each category (A → "A等
    (≥85%)"), listed in ``order``."""
    data = frame.dropna(subset=[share])
    cats = list(order) if order is not None else list(dict.fromkeys(data[category]))
    traces = []
    for cat in cats:
        part = data[data[category] == cat]
        traces.append(go.Bar(x=part[group].astype(str), y=part[share] * 100,
                             name=(names or {}).get(str(cat), str(cat)),
                             marker_color=BAND_COLORS.get(str(cat)),
                             hovertemplate="%{x}: %{y:.1f}%<extra>%{fullData.name}</extra>"))
    return _figure(traces, title, barmode="stack", legend={**LEGEND, "traceorder": "normal"},
                   yaxis={"title": {"text": y_title}, "range": [0, 100]},
                   xaxis={"automargin": True, **_title(x_title)})


def box_from_quantiles(frame: pd.DataFrame, group: str, *, q1: str, median: str, q3: str,
                       low: str, high: str, mean: str | None = None,
                       title: str | None = None, x_title: str | None = None,
                       y_title: str | None = None) -> go.Figure:
    """Box plots drawn from precomputed quantiles (no student rows reach the browser)."""
    data = frame.dropna(subset=[median])
    return _figure([go.Box(
        x=data[group].astype(str), q1=data[q1], median=data[median], q3=data[q3],
        lowerfence=data[low], upperfence=data[high],
        mean=None if mean is None else data[mean], boxpoints=False)], title,
        xaxis=_title(x_title), yaxis=_title(y_title))


def caterpillar(frame: pd.DataFrame, label: str, estimate: str, ci_low: str, ci_high: str, *,
                category: str | None = None, title: str | None = None,
                zero: float = 0.0, category_names: dict[str, str] | None = None,
                y_title: str | None = None, zero_label: str | None = None,
                links: str | None = None) -> go.Figure:
    """Estimates sorted, each with its interval (the caterpillar plot of value added); colours
    by ``category`` with a legend (``category_names``), the reference line at ``zero`` named
    ``zero_label``; ``links`` a column of page links (a click opens them)."""
    data = frame.dropna(subset=[estimate]).sort_values(estimate).reset_index(drop=True)
    positions = list(range(1, len(data) + 1))
    colors = ([COLORS.get(str(c), "#555") for c in data[category]] if category
              else ["#1f5fa8"] * len(data))
    traces: list[Any] = [go.Scatter(
        x=positions, y=data[estimate], mode="markers", showlegend=False,
        marker={"color": colors, "size": 8}, text=data[label].astype(str),
        customdata=None if links is None else list(data[links]),
        error_y={"type": "data", "symmetric": False,
                 "array": data[ci_high] - data[estimate],
                 "arrayminus": data[estimate] - data[ci_low], "color": "#999"},
        hovertemplate="%{text}: %{y:.2f}<extra></extra>")]
    if category:  # the colours' legend (entries only: the points are the first trace)
        for cat in dict.fromkeys(str(c) for c in data[category]):
            traces.append(go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip",
                                     name=(category_names or {}).get(cat, cat),
                                     marker={"color": COLORS.get(cat, "#555"), "size": 8}))
    if zero_label:
        traces.append(_legend_line(zero_label))
    few = len(data) <= 30
    return _figure(traces, title, height=460 if few else 420, shapes=[_hline(zero)],
                   margin={"l": 60, "r": 40, "t": 30, "b": 110 if few else 40},
                   xaxis={"showticklabels": few, "tickmode": "array", "tickangle": -35,
                          "tickvals": positions, "ticktext": list(data[label].astype(str)),
                          "automargin": True, "range": [0.3, len(data) + 0.7]},
                   yaxis={"automargin": True, **_title(y_title)})


def funnel_limits(sigma: float, n: np.ndarray, z: float, center: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Control limits of a funnel plot for a mean of ``n`` students: center ± z·σ/√n
    (Spiegelhalter 2005, *Funnel plots for comparing institutional performance*)."""
    half = z * sigma / np.sqrt(np.asarray(n, dtype=float))
    return center - half, center + half


def funnel(frame: pd.DataFrame, size: str, estimate: str, label: str, *, sigma: float,
           center: float = 0.0, title: str | None = None,
           limit_names: tuple[str, str] = ("95%", "99.8%"), x_title: str = "n",
           y_title: str | None = None, links: str | None = None) -> go.Figure:
    """Value added against school size with 95% and 99.8% control limits."""
    data = frame.dropna(subset=[estimate, size])
    traces: list[Any] = []
    if not data.empty and np.isfinite(sigma) and sigma > 0:
        lo_n = max(1.0, float(data[size].min()) * 0.8)
        grid_n = np.linspace(lo_n, float(data[size].max()) * 1.1, 200)
        for z, name, dash in ((Z_95, limit_names[0], "dash"), (Z_998, limit_names[1], "dot")):
            lo, hi = funnel_limits(sigma, grid_n, z, center)
            for ys, show in ((hi, True), (lo, False)):
                traces.append(go.Scatter(x=grid_n, y=ys, mode="lines", name=name,
                                         showlegend=show, hoverinfo="skip",
                                         line={"color": "#888", "dash": dash}))
    traces.append(go.Scatter(x=data[size], y=data[estimate], mode="markers", name="",
                             text=data[label].astype(str), showlegend=False,
                             customdata=None if links is None else list(data[links]),
                             marker={"color": "#1f5fa8", "size": 8},
                             hovertemplate="%{text}: n=%{x}, %{y:.2f}<extra></extra>"))
    return _figure(traces, title, height=420, shapes=[_hline(center, "solid")],
                   xaxis={"title": {"text": x_title}}, yaxis=_title(y_title))


def quadrant(frame: pd.DataFrame, x: str, y: str, label: str, *, x_ref: float,
             y_ref: float = 0.0, title: str | None = None,
             x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Attainment (x) against value added (y), split at the district reference lines."""
    data = frame.dropna(subset=[x, y]).sort_values(x).reset_index(drop=True)
    # labels alternate above and below (sorted along x) so that neighbours do not overlap;
    # with many units only the hover names them
    positions = ["top center" if i % 2 == 0 else "bottom center" for i in range(len(data))]
    trace = go.Scatter(x=data[x], y=data[y], mode="markers+text" if len(data) <= 25
                       else "markers", text=data[label].astype(str),
                       textposition=positions, textfont={"size": 11}, cliponaxis=False,
                       hovertemplate="%{text}: %{x:.2f}, %{y:.2f}<extra></extra>",
                       marker={"size": 9, "color": "#1f5fa8"})
    return _figure([trace], title, height=440, shapes=[_vline(x_ref), _hline(y_ref)],
                   margin={"l": 70, "r": 60, "t": 30, "b": 60},
                   xaxis={"title": {"text": x_title or x}},
                   yaxis={"title": {"text": y_title or y}})


def heatmap(frame: pd.DataFrame, x: str, y: str, z: str, *, title: str | None = None,
            zmid: float | None = None, colorscale: str = "RdYlGn",
            colorbar_title: str | None = None, percent: bool = False,
            links: str | None = None) -> go.Figure:
    """A heatmap of ``z`` over ``x`` × ``y`` from a long frame (missing cells stay blank), its
    colour bar titled ``colorbar_title``; ``percent``: z in 0..1 shown as percentage points;
    ``links`` a column with one link per row of ``y`` (a click on a cell opens it)."""
    data = frame.dropna(subset=[z])
    wide = data.pivot_table(index=y, columns=x, values=z, aggfunc="mean", sort=False)
    values = wide.to_numpy() * (100 if percent else 1)
    custom = None
    if links is not None:
        link_of = data.drop_duplicates(y).set_index(y)[links]
        custom = [[link_of.get(i)] * len(wide.columns) for i in wide.index]
    trace = go.Heatmap(z=values, x=[str(c) for c in wide.columns],
                       y=[str(i) for i in wide.index], colorscale=colorscale,
                       zmid=None if zmid is None else zmid * (100 if percent else 1),
                       hoverongaps=False, customdata=custom,
                       colorbar={"title": {"text": colorbar_title or ""}},
                       hovertemplate="%{y} · %{x}: %{z:.1f}"
                       + (" 个百分点" if percent else "") + "<extra></extra>")
    return _figure([trace], title, height=max(320, 28 * len(wide) + 140),
                   yaxis={"automargin": True}, xaxis={"automargin": True, "tickangle": -30})


def option_chart(frame: pd.DataFrame, option: str, group: str, share: str, *,
                 key: str | None = None, title: str | None = None,
                 names: dict[str, str] | None = None, x_title: str | None = None,
                 y_title: str = "%") -> go.Figure:
    """Share choosing each option in the upper and lower groups; the key's label is marked."""
    traces = []
    for name, part in frame.dropna(subset=[share]).groupby(group, sort=False):
        traces.append(go.Bar(x=[f"{o}{' ✓' if key and o in key else ''}" for o in part[option]],
                             y=part[share] * 100, name=(names or {}).get(str(name), str(name)),
                             marker_color=COLORS.get(str(name))))
    return _figure(traces, title, barmode="group", yaxis={"title": {"text": y_title}},
                   xaxis=_title(x_title))


def item_curve(frame: pd.DataFrame, group: str, rate: str, *, series: str | None = None,
               title: str | None = None, x_title: str | None = None,
               y_title: str | None = None) -> go.Figure:
    """Score rate by total-score group (the empirical item characteristic curve)."""
    data = frame.dropna(subset=[rate])
    parts = [(None, data)] if series is None else list(data.groupby(series, sort=False))
    traces = [go.Scatter(x=part[group].astype(str), y=part[rate], mode="lines+markers",
                         name=None if name is None else str(name)) for name, part in parts]
    return _figure(traces, title, yaxis={"range": [0, 1.05], "tickformat": ".0%",
                                         **_title(y_title)}, xaxis=_title(x_title))


def radar(frame: pd.DataFrame, dimension: str, value: str, series: str, *,
          title: str | None = None, range_: tuple[float, float] | None = None,
          axis_title: str | None = None) -> go.Figure:
    """One closed polygon per series (e.g. school and district) over the dimensions, a legend
    naming the series."""
    traces = []
    for name, part in frame.dropna(subset=[value]).groupby(series, sort=False):
        theta = [*part[dimension].astype(str), str(part[dimension].iloc[0])]
        r = [*part[value], part[value].iloc[0]]
        traces.append(go.Scatterpolar(r=r, theta=theta, fill="toself", name=str(name),
                                      opacity=0.6))
    polar: dict[str, Any] = {"radialaxis": {"range": list(range_), "dtick": 1}} \
        if range_ is not None else {}
    if axis_title:
        polar.setdefault("radialaxis", {})["title"] = {"text": axis_title}
    return _figure(traces, title, height=460, polar=polar, showlegend=True)


def trend(frame: pd.DataFrame, x: str, y: str, series: str, *,
          title: str | None = None, ci_low: str | None = None, ci_high: str | None = None,
          y_title: str | None = None, x_title: str | None = None,
          reference: float | None = None, reference_label: str | None = None) -> go.Figure:
    """A line per series across exams, with interval bars when ``ci_low``/``ci_high`` are
    given, and a dashed reference line (e.g. 0, the district's mean z)."""
    traces: list[Any] = []
    for name, part in frame.dropna(subset=[y]).groupby(series, sort=False):
        err = None
        if ci_low and ci_high and {ci_low, ci_high} <= set(part.columns):
            err = {"type": "data", "symmetric": False, "array": part[ci_high] - part[y],
                   "arrayminus": part[y] - part[ci_low], "color": "#999"}
        traces.append(go.Scatter(x=part[x].astype(str), y=part[y], mode="lines+markers",
                                 name=str(name), error_y=err))
    shapes = []
    if reference is not None:
        shapes.append(_hline(reference))
        if reference_label:
            traces.append(_legend_line(reference_label))
    return _figure(traces, title, shapes=shapes, yaxis=_title(y_title),
                   xaxis={"automargin": True, **_title(x_title)})


def grid(frame: pd.DataFrame, row: str, col: str, count: str, *,
         title: str | None = None, x_title: str | None = None,
         y_title: str | None = None) -> go.Figure:
    """A small cross-tab heatmap with counts written in the cells (status × change)."""
    wide = frame.pivot_table(index=row, columns=col, values=count, aggfunc="sum",
                             fill_value=0, sort=False)
    trace = go.Heatmap(z=wide.to_numpy(), x=[str(c) for c in wide.columns],
                       y=[str(i) for i in wide.index], colorscale="Blues",
                       text=wide.to_numpy(), texttemplate="%{text}", showscale=False)
    return _figure([trace], title, height=320, xaxis=_title(x_title),
                   yaxis={"automargin": True, **_title(y_title)})


def levels_by_unit(green: pd.DataFrame) -> pd.DataFrame:
    """Green indicators (long) → a table of one row per unit (the district first) with ``n``
    (the most students behind any indicator) and each indicator's index level as a column."""
    order = list(dict.fromkeys(green["name"]))
    keyed = green.assign(_unit=green["school_id"].fillna(-1))
    wide = keyed.pivot_table(index=["_unit", "unit_name"], columns="name",
                             values="index_level", aggfunc="first", sort=False)
    n = keyed.groupby(["_unit", "unit_name"], sort=False)["n"].max()
    out = pd.concat([n, wide[[c for c in order if c in wide.columns]]], axis=1)
    return out.reset_index().drop(columns="_unit")


def worst_units(frame: pd.DataFrame, unit: str, gap: str, limit: int) -> pd.DataFrame:
    """The rows of the ``limit`` units with the lowest mean ``gap`` (all rows when there are
    no more units than that): a heatmap of thousands of schools cannot be read, nor sent."""
    means = frame.groupby(unit, sort=False)[gap].mean()
    if len(means) <= limit:
        return frame
    keep = set(means.nsmallest(limit).index)
    return frame[frame[unit].isin(keep)]
