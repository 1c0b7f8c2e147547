"""Item fit: Orlando & Thissen's S-X² and the infit/outfit mean squares.

S-X² (Orlando & Thissen 2000, 2003 for polytomous items): students are grouped by their summed
score S (in categories, all items); the model's expected share of category k of item j at S is

    E_jk(S) = Σ_q w_q P_jk(θ_q) f_{−j}(S − k | θ_q) / Σ_q w_q f(S | θ_q),

with f and f_{−j} the summed-score distributions with and without item j (Lord & Wingersky
1984 recursion) over the calibration's quadrature. S-X² = Σ_S N_S Σ_k (O_jk(S) − E_jk(S))² /
E_jk(S) over the score groups 1 … max − 1, adjacent groups merged from both ends until every
expected count N_S·E_jk(S) is at least 1 (as ``min_expected`` in the mirt packages);
df = (groups)(K − 1) − (free parameters of the item). Only complete response patterns count.

Infit and outfit (Wright & Masters 1982), with the EAP θ̂ of each student: z = (x − E)/√V,
outfit = mean z², infit = Σ (x − E)² / Σ V; about 1 when the item fits. Meant for the Rasch
model; reported for every model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from analytics.stats.irt.data import Patterns
from analytics.stats.irt.em import Fit
from analytics.stats.irt.models import log_probs
from analytics.stats.irt.scoring import eap

Array = NDArray[np.float64]


def _summed(probs: list[Array]) -> Array:
    """Lord–Wingersky: the summed-score distribution per node, (Q, max + 1)."""
    q = probs[0].shape[0] if probs else 1
    f = np.ones((q, 1))
    for p in probs:
        k = p.shape[1]
        g = np.zeros((q, f.shape[1] + k - 1))
        for c in range(k):
            g[:, c:c + f.shape[1]] += f * p[:, [c]]
        f = g
    return f


def _groups(expected: Array, n_s: Array, min_expected: float) -> list[list[int]]:
    """Merge adjacent score groups until each expected count n_S E_k(S) ≥ ``min_expected``."""
    groups: list[list[int]] = []
    current: list[int] = []
    for s in range(expected.shape[0]):
        current.append(s)
        counts = (n_s[current, None] * expected[current]).sum(axis=0)
        if (counts >= min_expected).all():
            groups.append(current)
            current = []
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def s_x2(pat: Patterns, fit: Fit, min_expected: float = 1.0) -> pd.DataFrame:
    """S-X², df and p per item (NaN where too few groups remain)."""
    complete = (pat.x >= 0).all(axis=1)
    x, w = pat.x[complete].astype(np.intp), pat.w[complete]
    probs = [np.exp(log_probs(s, p, fit.nodes)) for s, p in zip(fit.specs, fit.params,
                                                                 strict=True)]
    full = _summed(probs)                      # (Q, S + 1)
    total = x.sum(axis=1)
    smax = full.shape[1] - 1
    n_s: Array = np.bincount(total, weights=w, minlength=smax + 1).astype(np.float64)
    denom = fit.weights @ full                 # P(S)
    rows = []
    for j, spec in enumerate(fit.specs):
        rest = _summed([p for i, p in enumerate(probs) if i != j])
        k = spec.n_cat
        exp = np.zeros((smax + 1, k))
        for c in range(k):
            shifted = np.zeros_like(full)
            shifted[:, c:c + rest.shape[1]] = rest
            exp[:, c] = (fit.weights * probs[j][:, c]) @ shifted
        exp /= np.where(denom > 0, denom, np.nan)[:, None]
        obs = np.zeros((smax + 1, k))
        np.add.at(obs, (total, x[:, j]), w)
        inner = slice(1, smax)                 # drop the extreme scores
        e, o, n = exp[inner], obs[inner], n_s[inner]
        keep = n > 0
        e, o, n = e[keep], o[keep], n[keep]
        groups = _groups(e, n, min_expected)
        chi2 = 0.0
        for g in groups:
            ng = n[g].sum()
            eg = (n[g, None] * e[g]).sum(axis=0)
            og = o[g].sum(axis=0)
            ok = eg > 0
            chi2 += float(((og[ok] - eg[ok]) ** 2 / eg[ok]).sum()) if ng > 0 else 0.0
        n_par = spec.n_par - (1 if spec.model == "rasch" else 0)
        df = len(groups) * (k - 1) - n_par
        rows.append({"s_x2": chi2 if df > 0 else np.nan, "s_x2_df": df if df > 0 else np.nan,
                     "s_x2_p": float(stats.chi2.sf(chi2, df)) if df > 0 else np.nan})
    return pd.DataFrame(rows)


def infit_outfit(pat: Patterns, fit: Fit) -> pd.DataFrame:
    """Infit and outfit mean squares per item with the students' EAP θ̂."""
    theta, _ = eap(pat, fit.specs, fit.params)
    rows = []
    for j, (s, p) in enumerate(zip(fit.specs, fit.params, strict=True)):
        seen = pat.x[:, j] >= 0
        pr = np.exp(log_probs(s, p, theta[seen]))          # (P, K)
        k = np.arange(s.n_cat)
        e = pr @ k
        v = pr @ k**2 - e**2
        resid2 = (pat.x[seen, j] - e) ** 2
        w = pat.w[seen]
        rows.append({"infit": float(w @ resid2 / (w @ v)),
                     "outfit": float(w @ (resid2 / np.maximum(v, 1e-12)) / w.sum())})
    return pd.DataFrame(rows)
