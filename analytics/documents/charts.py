"""Static charts of the printed reports: matplotlib (Agg, no display) to PNG bytes.

Every function takes display strings (already in the report's language) and numbers, and
returns PNG bytes; the same picture goes into the .docx, the .pdf and the .html. The CJK font is
the one the PDF embeds (:func:`analytics.documents.fonts.cjk_font_path`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

BAND_COLOURS = ("#2b8a3e", "#74b816", "#fab005", "#e8590c")  # A, B, C, D
DPI = 130


@lru_cache(maxsize=1)
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    from analytics.documents.fonts import cjk_font_path

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams.update({"font.family": [name, "DejaVu Sans"], "axes.unicode_minus": False,
                         "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _png(fig: Any) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bands_chart(units: Sequence[str], shares: Sequence[Sequence[float]],
                bands: Sequence[str], xlabel: str) -> bytes:
    """100 % stacked horizontal bars: one bar per unit (school, zone, district), one segment per
    grade band (A–D), the share printed inside segments of 6 % or more."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(units) + 0.9))
    for i, unit_shares in enumerate(shares):
        left = 0.0
        for j, s in enumerate(unit_shares):
            s = 0.0 if s is None or (isinstance(s, float) and math.isnan(s)) else float(s)
            ax.barh(i, s, left=left, color=BAND_COLOURS[j % 4], height=0.62,
                    label=bands[j] if i == 0 else None)
            if s >= 0.06:
                ax.text(left + s / 2, i, f"{s:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if j in (0, 3) else "black")
            left += s
    ax.set_yticks(range(len(units)), list(units))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(xlabel)
    ax.legend(ncol=len(bands), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False,
              fontsize=8)
    return _png(fig)


def means_chart(names: Sequence[str], means: Sequence[float], lows: Sequence[float],
                highs: Sequence[float], reference: float | None, reference_label: str,
                xlabel: str) -> bytes:
    """Dots with 95 % interval bars (one per class or school) and a dashed reference line
    (the district mean)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.2 * len(names) + 1.0))
    y = list(range(len(names)))
    err = [[m - lo for m, lo in zip(means, lows, strict=True)],
           [hi - m for m, hi in zip(means, highs, strict=True)]]
    ax.errorbar(means, y, xerr=err, fmt="o", color="#1c7ed6", ecolor="#74c0fc", capsize=3,
                markersize=5)
    if reference is not None:
        ax.axvline(reference, color="#868e96", linestyle="--", linewidth=1)
        ax.text(reference, -0.7, reference_label, ha="center", va="bottom", fontsize=8,
                color="#495057")
    ax.set_yticks(y, list(names))
    ax.set_ylim(len(names) - 0.5, -1.0)
    ax.set_xlabel(xlabel)
    return _png(fig)


def gaps_chart(names: Sequence[str], gaps: Sequence[float], lows: Sequence[float],
               highs: Sequence[float], xlabel: str) -> bytes:
    """Horizontal bars of gaps to the district (negative: below) with their 95 % intervals."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 0.34 * len(names) + 0.9))
    y = list(range(len(names)))
    colours = ["#e8590c" if g < 0 else "#2b8a3e" for g in gaps]
    err = [[g - lo for g, lo in zip(gaps, lows, strict=True)],
           [hi - g for g, hi in zip(gaps, highs, strict=True)]]
    ax.barh(y, gaps, color=colours, height=0.55, xerr=err, ecolor="#495057", capsize=2)
    ax.axvline(0, color="#495057", linewidth=0.8)
    ax.set_yticks(y, list(names))
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_xlabel(xlabel)
    return _png(fig)


def trajectory_chart(exams: Sequence[str], series: Mapping[str, Sequence[float | None]],
                     ylabel: str) -> bytes:
    """One line per subject across the exams (a student's percentile ranks, 0–100)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    x = list(range(len(exams)))
    for name, values in series.items():
        ys = [math.nan if v is None else float(v) for v in values]
        ax.plot(x, ys, marker="o", label=name)
    ax.set_xticks(x, list(exams))
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.axhspan(0, 20, color="#fff4e6", zorder=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    return _png(fig)
