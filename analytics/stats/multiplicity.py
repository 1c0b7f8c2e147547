"""Multiple comparisons: Benjamini–Hochberg q-values."""

from __future__ import annotations

import numpy as np
import pandas as pd


def bh_qvalues(p: np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN entries are left out and stay NaN.

    q_(i) = min_{j ≥ i} min(1, m · p_(j) / j) over the m finite p-values sorted ascending
    (Benjamini & Hochberg 1995); equal to ``statsmodels.stats.multitest.multipletests(p,
    method="fdr_bh")[1]``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    # ties may come in any order: the backward running minimum gives tied p-values one q
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    q[ok] = out
    return q
