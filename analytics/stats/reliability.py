"""Reliability (信度): Cronbach's α, its Feldt interval, SEM and α if an item is deleted.

Everything is computed from the sufficient statistics of :mod:`analytics.reduce.item_sums` (per
unit × item Σx, Σx², Σxt; per unit Σt, Σt²), so no student-level data reaches Python.

Formulas (sample variances with n − 1; the choice cancels in α):

* Cronbach (1951): α = k/(k − 1) · (1 − Σᵢ s²ᵢ / s²_T), T = Σᵢ xᵢ the total.
* SEM = s_T · √(1 − α) (classical test theory; Lord & Novick 1968).
* Feldt (1965) interval: 1 − (1 − α) · F_{1−p/2}(n − 1, (n − 1)(k − 1)) ≤ α ≤
  1 − (1 − α) · F_{p/2}(n − 1, (n − 1)(k − 1)), as in R ``psych::alpha.ci``.
* α if item i is deleted: k' = k − 1, Σ s²ⱼ (j ≠ i) = Σ s² − s²ᵢ and
  s²_{T−xᵢ} = s²_T − 2 cov(xᵢ, T) + s²ᵢ, in Cronbach's formula.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.stats.intervals import feldt_interval
from analytics.stats.sums import ItemSums


def _var(n: np.ndarray, s: np.ndarray, ss: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, (ss - s * s / n) / (n - 1), np.nan)


def alpha_from_variances(k: npt.ArrayLike, sum_item_var: npt.ArrayLike,
                   var_total: npt.ArrayLike) -> np.ndarray:
    """Cronbach (1951): α = k/(k − 1) · (1 − Σᵢ s²ᵢ / s²_T); NaN where k ≤ 1 or s²_T ≤ 0."""
    k = np.asarray(k, dtype=float)
    var_total = np.asarray(var_total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((k > 1) & (var_total > 0),
                        k / (k - 1) * (1 - np.asarray(sum_item_var, dtype=float) / var_total),
                        np.nan)


def item_moments(sums: ItemSums) -> pd.DataFrame:
    """Means, variances and covariances per unit × item from the sums.

    Returns
    -------
    pandas.DataFrame
        The ``items`` frame of ``sums`` plus ``mean_x``, ``var_x``, ``var_t``, ``cov_xt``,
        ``var_rest`` (of T − x), ``cov_x_rest``, ``mean_t`` — sample (n − 1) moments over the
        students with a response row for the item.
    """
    f = sums.items.copy()
    n = f["n"].to_numpy(dtype=float)
    sx, sxx = f["sx"].to_numpy(dtype=float), f["sxx"].to_numpy(dtype=float)
    st, stt = f["st"].to_numpy(dtype=float), f["stt"].to_numpy(dtype=float)
    sxt = f["sxt"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["mean_x"] = sx / n
        f["mean_t"] = st / n
        f["var_x"] = _var(n, sx, sxx)
        f["var_t"] = _var(n, st, stt)
        f["cov_xt"] = np.where(n > 1, (sxt - sx * st / n) / (n - 1), np.nan)
    f["cov_x_rest"] = f["cov_xt"] - f["var_x"]
    f["var_rest"] = f["var_t"] - 2 * f["cov_xt"] + f["var_x"]
    return f


def alpha_from_sums(sums: ItemSums, conf: float = 0.95) -> pd.DataFrame:
    """Cronbach's α per unit (pure Python on the reduced sums; see the module notes).

    Returns
    -------
    pandas.DataFrame
        ``uid``, level keys, ``n``, ``k``, ``mean``, ``sd``, ``alpha``, ``sem``, ``ci_low``,
        ``ci_high`` (Feldt), ``sum_item_var``.
    """
    m = item_moments(sums)
    if m.empty:
        return pd.DataFrame(columns=["uid", "n", "k", "mean", "sd", "alpha", "sem", "ci_low",
                                     "ci_high", "sum_item_var"])
    key_cols = list(sums.keys)
    g = m.groupby("uid", sort=True)
    out = g[[*key_cols, "n_unit", "st_unit", "stt_unit"]].first()
    out["k"] = g["item_id"].count()
    out["sum_item_var"] = g["var_x"].sum(min_count=1)
    n = out["n_unit"].to_numpy(dtype=float)
    var_t = _var(n, out["st_unit"].to_numpy(dtype=float), out["stt_unit"].to_numpy(dtype=float))
    k = out["k"].to_numpy(dtype=float)
    alpha = alpha_from_variances(k, out["sum_item_var"].to_numpy(dtype=float), var_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(var_t)
        sem = sd * np.sqrt(1 - alpha)
    lo, hi = feldt_interval(alpha, n, k, conf)
    res = out[key_cols].reset_index()
    res["n"] = out["n_unit"].to_numpy()
    res["k"] = out["k"].to_numpy()
    res["mean"] = out["st_unit"].to_numpy(dtype=float) / n
    res["sd"] = sd
    res["alpha"] = alpha
    res["sem"] = sem
    res["ci_low"] = lo
    res["ci_high"] = hi
    res["sum_item_var"] = out["sum_item_var"].to_numpy()
    return res


def alpha_if_deleted_from_sums(sums: ItemSums) -> pd.DataFrame:
    """α of the remaining k − 1 items when each item is deleted, per unit × item.

    Returns
    -------
    pandas.DataFrame
        ``uid``, ``item_id``, ``alpha_if_deleted`` (NaN when fewer than 3 items or no variance).
    """
    m = item_moments(sums)
    g = m.groupby("uid")
    k = g["item_id"].transform("count").to_numpy(dtype=float)
    sum_var = g["var_x"].transform("sum").to_numpy(dtype=float)
    n = m["n_unit"].to_numpy(dtype=float)
    var_t = _var(n, m["st_unit"].to_numpy(dtype=float), m["stt_unit"].to_numpy(dtype=float))
    # cov(x_i, T) over the unit's students (equal to the item-row moment when rows are complete)
    vx = m["var_x"].to_numpy(dtype=float)
    cxt = m["cov_xt"].to_numpy(dtype=float)
    var_rest = var_t - 2 * cxt + vx
    kk = k - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where((kk > 1) & (var_rest > 0),
                     kk / (kk - 1) * (1 - (sum_var - vx) / var_rest), np.nan)
    return pd.DataFrame({"uid": m["uid"], "item_id": m["item_id"], "alpha_if_deleted": a})


