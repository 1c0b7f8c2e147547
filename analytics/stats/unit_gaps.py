"""A unit against the rest of its district: the pooled two-sample z-test, the gap's interval
and the empirical-Bayes shrunken gap (formulas and sources: :mod:`analytics.hotspots`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.stats.intervals import Z95

SUMS = ("n", "sum_x", "sum_xx", "sum_p", "sum_pp", "sum_xp")


def compare_units(units: pd.DataFrame, district: pd.DataFrame, group: str,
             relative: bool = False) -> pd.DataFrame:
    """Add unit_rate, district_rate, paper_gap, gap, ci, z, p_value, gap_shrunk (q and flag
    are added later). ``relative``: test y = x − p (rate minus own paper rate) instead of x."""
    from scipy import stats  # on first use: importing it costs 0.7 s

    # the district's sums looked up per row (a merge would copy every column of the units)
    pos = pd.Index(district[group]).get_indexer(units[group])
    dist = {c: np.where(pos >= 0, district[c].to_numpy(float)[pos], np.nan)
            for c in district.columns if c != group}
    f = units.copy(deep=False)

    def col(name: str) -> np.ndarray:
        return dist[name] if name in dist else f[name].to_numpy(float)

    n_u, n_d = col("n"), col("n_d")
    n_r = n_d - n_u
    f["unit_rate"] = col("sum_x") / n_u
    f["district_rate"] = col("sum_x_d") / n_d
    f["paper_gap"] = col("sum_p") / n_u - col("sum_p_d") / n_d
    if relative:  # Σy = Σx − Σp, Σy² = Σx² − 2Σxp + Σp²
        sy, sy_d = col("sum_x") - col("sum_p"), col("sum_x_d") - col("sum_p_d")
        syy_d = col("sum_xx_d") - 2 * col("sum_xp_d") + col("sum_pp_d")
    else:
        sy, sy_d, syy_d = col("sum_x"), col("sum_x_d"), col("sum_xx_d")
    m_u = sy / n_u
    m_d = sy_d / n_d
    with np.errstate(divide="ignore", invalid="ignore"):
        m_r = (sy_d - sy) / n_r
        var_d = (syy_d - sy_d ** 2 / n_d) / (n_d - 1)
        var_d = np.clip(var_d, 0.0, None)
        se = np.sqrt(var_d * (1.0 / n_u + 1.0 / n_r))
        se = np.where((se > 0) & (n_r > 0), se, np.nan)
        d = m_u - m_r
        z = d / se
    p = 2.0 * stats.norm.sf(np.abs(z))
    gap = m_u - m_d
    se_gap = se * n_r / n_d
    f["gap"] = gap
    f["ci_low"] = gap - Z95 * se_gap
    f["ci_high"] = gap + Z95 * se_gap
    f["z"] = z
    f["p_value"] = p
    # Empirical-Bayes shrinkage per item / knowledge point (method-of-moments τ²).
    work = pd.DataFrame({"g": f[group].to_numpy(), "d2": d ** 2, "v": se ** 2})
    ok = np.isfinite(work["d2"]) & np.isfinite(work["v"])
    mom = work[ok].groupby("g").agg(d2=("d2", "mean"), v=("v", "mean"))
    tau2 = (mom["d2"] - mom["v"]).clip(lower=0.0)
    t2 = f[group].map(tau2).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(t2 + se ** 2 > 0, t2 / (t2 + se ** 2), 0.0)
    f["gap_shrunk"] = np.where(np.isfinite(se), gap * shrink, np.nan)
    return f.drop(columns=list(SUMS[1:]))
