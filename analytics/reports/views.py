"""Small rules the dashboard pages display, kept out of ``dashboards`` ("Dash only displays"):
the funnel plot's student-level SD, the attainment third of the status × change grid, whether
a class-level value added is only its school's.

Each takes a tidy frame of an analysis (already scoped) and returns a number or a column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ATTAINMENT_CUT = 0.2  # |mean z| beyond this: high / low attainment on the status × change grid


def funnel_sigma(va: pd.DataFrame) -> float:
    """The student-level SD implied by the intervals of a value-added frame: the median of
    ``se · √n`` (the SE of a mean of n students is σ/√n; Spiegelhalter 2005, *Funnel plots for
    comparing institutional performance*). NaN without rows."""
    ok = va.dropna(subset=["se", "n"])
    return float(np.median(ok["se"] * np.sqrt(ok["n"]))) if not ok.empty else float("nan")


def attainment_band(z_mean: pd.Series, cut: float = ATTAINMENT_CUT) -> pd.Series:
    """``high`` (mean z > ``cut``), ``low`` (< −``cut``) or ``middle``: the attainment of a
    unit on the status × change grid (label kind ``attainment``)."""
    z = pd.to_numeric(z_mean, errors="coerce")
    return pd.Series(np.where(z > cut, "high", np.where(z < -cut, "low", "middle")),
                     index=z_mean.index)


def classes_equal_school(va: pd.DataFrame, tol: float = 1e-9) -> bool:
    """Whether a class-level value added (``va_within_school``) is its school's for every
    class: the class variance was estimated as 0 (REML at the boundary), so the model cannot
    tell the classes of a school apart."""
    if "va_within_school" not in va.columns or va.empty:
        return False
    within = pd.to_numeric(va["va_within_school"], errors="coerce").dropna()
    return bool(not within.empty and (within.abs() <= tol).all())


def z_interval(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (rows of :func:`analytics.score_report` / :func:`analytics.score_trends`) with
    ``z_ci_low, z_ci_high``: the mean's interval on the scale of ``z_mean``,
    ``(ci − district_mean) / district_sd`` (the paper's district mean and SD taken as known),
    the scale on which papers of different difficulty can be compared. Unchanged without
    those columns."""
    if not {"ci_low", "ci_high", "district_mean", "district_sd"} <= set(frame.columns):
        return frame
    sd = frame["district_sd"].where(frame["district_sd"] > 0)
    return frame.assign(z_ci_low=(frame["ci_low"] - frame["district_mean"]) / sd,
                        z_ci_high=(frame["ci_high"] - frame["district_mean"]) / sd)
