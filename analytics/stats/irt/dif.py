"""Differential item functioning (项目功能差异): Mantel–Haenszel, standardised mean
difference, logistic regression, with two-stage purification.

Students are matched on the total score (the sum over the matching items, the studied item
included; Holland & Thayer 1988). Group 0 is the reference group, 1 the focal group.

Dichotomous items — Mantel–Haenszel (Holland & Thayer 1988; Dorans & Holland 1993). In
stratum k with A_k, B_k (reference right, wrong), C_k, D_k (focal right, wrong), T_k:

* α_MH = Σ A_k D_k / T_k ÷ Σ B_k C_k / T_k; MH D-DIF = −2.35 ln α_MH (negative: the item is
  harder for the focal group, it favours the reference group);
* SE(ln α_MH) by Robins, Breslow & Greenland (1986) (the Phillips–Holland 1987 form), SE(D) =
  2.35 · SE(ln α_MH);
* MH χ² = (|Σ A_k − Σ E A_k| − ½)² / Σ Var A_k with E A_k = n_Rk m_1k / T_k and
  Var A_k = n_Rk n_Fk m_1k m_0k / (T_k² (T_k − 1)) (continuity-corrected, 1 df);
* ETS classes (Zwick 2012): A if |D| < 1 or the χ² is not significant at ``alpha``; C if
  |D| ≥ 1.5 and |D| is significantly greater than 1 ((|D| − 1)/SE > z_{1−alpha}, one-sided);
  B otherwise.

Polytomous items — the standardised mean difference SMD = Σ_k (n_Fk / n_F)(m̄_Fk − m̄_Rk)
(Dorans & Schmitt 1991) with Mantel's (1963) ordinal χ² (1 df), ETS classes AA / BB / CC
(Zwick, Thayer & Mazzeo 1997): AA if p ≥ alpha or |SMD|/SD ≤ .17, CC if p < alpha and
|SMD|/SD > .25, BB otherwise (SD: the item's SD in both groups together).

Logistic regression (Swaminathan & Rogers 1990; Zumbo 1999): logit P = β0 + β1 T (M0),
+ β2 G (M1), + β3 T·G (M2); χ² = 2(ℓ_2 − ℓ_0) on 2 df (uniform and non-uniform DIF), Nagelkerke
ΔR² = R²_N(M2) − R²_N(M0); bands of Jodoin & Gierl (2001): A below .035, B .035–.070, C from
.070, each only when the χ² is significant.

Two-stage purification: items not in class A (AA) at the first stage leave the matching score
of the second stage (except as the studied item).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from analytics.stats.multiplicity import bh_qvalues

Array = NDArray[np.float64]


def _strata(total: Array, valid: NDArray[np.bool_]) -> tuple[NDArray[np.intp], int]:
    codes, uniq = pd.factorize(total[valid], sort=True)
    return np.asarray(codes, dtype=np.intp), len(uniq)


def mantel_haenszel(y: Array, group: Array, total: Array) -> dict[str, float]:
    """MH statistics of one dichotomous item (0/1 ``y``, NaN missing) given the matching total."""
    ok = np.isfinite(y) & np.isfinite(group) & np.isfinite(total)
    s, k = _strata(total, ok)
    yy, gg = y[ok], group[ok]
    a = np.bincount(s, (gg == 0) & (yy == 1), k)
    b = np.bincount(s, (gg == 0) & (yy == 0), k)
    c = np.bincount(s, (gg == 1) & (yy == 1), k)
    d = np.bincount(s, (gg == 1) & (yy == 0), k)
    t = a + b + c + d
    use = (t > 1) & (a + b > 0) & (c + d > 0)
    a, b, c, d, t = a[use], b[use], c[use], d[use], t[use]
    r, q_ = a * d / t, b * c / t
    out = {"n_ref": float((gg == 0).sum()), "n_focal": float((gg == 1).sum())}
    sr, ss = r.sum(), q_.sum()
    if sr <= 0 or ss <= 0:
        return out | {"alpha_mh": np.nan, "mh_d_dif": np.nan, "se": np.nan, "chi2": np.nan,
                      "p": np.nan}
    alpha = sr / ss
    p_, qq = (a + d) / t, (b + c) / t
    var_ln = ((p_ * r).sum() / (2 * sr**2) + (p_ * q_ + qq * r).sum() / (2 * sr * ss)
              + (qq * q_).sum() / (2 * ss**2))
    nr, nf, m1, m0 = a + b, c + d, a + c, b + d
    ea = nr * m1 / t
    va = nr * nf * m1 * m0 / (t**2 * (t - 1))
    chi2 = (abs(a.sum() - ea.sum()) - 0.5) ** 2 / va.sum() if va.sum() > 0 else np.nan
    return out | {"alpha_mh": alpha, "mh_d_dif": -2.35 * np.log(alpha),
                  "se": 2.35 * np.sqrt(var_ln), "chi2": chi2,
                  "p": float(stats.chi2.sf(chi2, 1))}


def standardised_mean_difference(y: Array, group: Array, total: Array) -> dict[str, float]:
    """SMD and Mantel's ordinal χ² of one polytomous item."""
    ok = np.isfinite(y) & np.isfinite(group) & np.isfinite(total)
    s, k = _strata(total, ok)
    yy, gg = y[ok], group[ok]
    f = gg == 1
    nf = np.bincount(s, f, k)
    nr = np.bincount(s, ~f, k)
    sf = np.bincount(s, np.where(f, yy, 0.0), k)
    sr = np.bincount(s, np.where(~f, yy, 0.0), k)
    n = nf + nr
    use = (nf > 0) & (nr > 0)
    smd = float(((nf[use] / nf[use].sum()) * (sf[use] / nf[use] - sr[use] / nr[use])).sum())
    sy = sf + sr
    syy = np.bincount(s, yy**2, k)
    use2 = use & (n > 1)
    ef = nf[use2] * sy[use2] / n[use2]
    vf = nr[use2] * nf[use2] * (n[use2] * syy[use2] - sy[use2] ** 2) / (n[use2] ** 2
                                                                        * (n[use2] - 1))
    chi2 = float((sf[use2].sum() - ef.sum()) ** 2 / vf.sum()) if vf.sum() > 0 else np.nan
    return {"n_ref": float((~f).sum()), "n_focal": float(f.sum()), "smd": smd,
            "sd": float(np.std(yy, ddof=1)), "chi2": chi2, "p": float(stats.chi2.sf(chi2, 1))}


def _logit_loglik(x: Array, y: Array, iters: int = 25) -> float:
    """Maximised log-likelihood of a logistic regression of 0/1 ``y`` on ``x`` (IRLS)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iters):
        eta = x @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        w = np.maximum(p * (1 - p), 1e-10)
        step = np.linalg.lstsq(x.T @ (x * w[:, None]), x.T @ (y - p), rcond=None)[0]
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    eta = x @ beta
    return float((y * eta - np.logaddexp(0.0, eta)).sum())


def logistic_dif(y: Array, group: Array, total: Array) -> dict[str, float]:
    """Logistic-regression DIF of one dichotomous item: χ²(2 df), p, Nagelkerke ΔR²."""
    ok = np.isfinite(y) & np.isfinite(group) & np.isfinite(total)
    yy, gg, tt = y[ok], group[ok], total[ok]
    tt = (tt - tt.mean()) / (tt.std() or 1.0)
    one = np.ones_like(tt)
    n = yy.size
    pbar = yy.mean()
    ll_null = n * (pbar * np.log(pbar) + (1 - pbar) * np.log(1 - pbar)) if 0 < pbar < 1 else 0.0
    ll0 = _logit_loglik(np.column_stack([one, tt]), yy)
    ll2 = _logit_loglik(np.column_stack([one, tt, gg, tt * gg]), yy)

    def r2(ll: float) -> float:
        return float((1 - np.exp(2 * (ll_null - ll) / n)) / (1 - np.exp(2 * ll_null / n)))

    chi2 = 2 * (ll2 - ll0)
    return {"n_ref": float((gg == 0).sum()), "n_focal": float((gg == 1).sum()),
            "chi2": chi2, "p": float(stats.chi2.sf(chi2, 2)), "delta_r2": r2(ll2) - r2(ll0)}


def ets_class(d: float, se: float, p: float, alpha: float = 0.05) -> str | None:
    """ETS class A/B/C of an MH D-DIF (see the module docstring)."""
    if not np.isfinite(d):
        return None
    if abs(d) < 1 or not p < alpha:
        return "A"
    if abs(d) >= 1.5 and (abs(d) - 1) / se > stats.norm.ppf(1 - alpha):
        return "C"
    return "B"


def smd_class(smd: float, sd: float, p: float, alpha: float = 0.05) -> str | None:
    """ETS class AA/BB/CC of a standardised mean difference."""
    if not np.isfinite(smd) or not sd > 0:
        return None
    ratio = abs(smd) / sd
    if not p < alpha or ratio <= 0.17:
        return "AA"
    return "CC" if ratio > 0.25 else "BB"


def logistic_class(delta_r2: float, p: float, alpha: float = 0.05) -> str | None:
    """Jodoin & Gierl (2001) band of a Nagelkerke ΔR²."""
    if not np.isfinite(delta_r2):
        return None
    if not p < alpha or delta_r2 < 0.035:
        return "A"
    return "C" if delta_r2 >= 0.070 else "B"


def _one_stage(x: Array, group: Array, max_score: Array, method: str, match: NDArray[np.bool_],
               alpha: float) -> pd.DataFrame:
    rows = []
    filled = np.where(np.isnan(x), 0.0, x)
    base_total = filled[:, match].sum(axis=1)
    for j in range(x.shape[1]):
        total = base_total + (0.0 if match[j] else filled[:, j])
        y = x[:, j]
        poly = max_score[j] > 1
        if method == "logistic" and not poly:
            res = logistic_dif(y, group, total)
            cls = logistic_class(res["delta_r2"], res["p"], alpha)
        elif poly:
            res = standardised_mean_difference(y, group, total)
            cls = smd_class(res["smd"], res["sd"], res["p"], alpha)
        else:
            res = mantel_haenszel(y, group, total)
            cls = ets_class(res["mh_d_dif"], res["se"], res["p"], alpha)
        if method == "logistic" and not poly:
            # the size and direction beside the ΔR² band: MH D-DIF and its SE
            mh = mantel_haenszel(y, group, total)
            res |= {k: mh[k] for k in ("alpha_mh", "mh_d_dif", "se") if k in mh}
        sign = res.get("smd", res.get("mh_d_dif", np.nan))
        favours = None if not np.isfinite(sign) or sign == 0 else (
            "focal" if sign > 0 else "reference")
        rows.append({"item": j, **res, "ets_class": cls, "favours": favours})
    frame = pd.DataFrame(rows)
    frame["q"] = bh_qvalues(frame["p"].to_numpy())
    return frame


def dif(x: Array, group: Array, *, max_score: Array | None = None, method: str = "mh",
        purify: bool = True, alpha: float = 0.05) -> pd.DataFrame:
    """DIF of every item of ``x`` (persons × items scores, NaN missing) between ``group`` 0
    (reference) and 1 (focal; NaN: left out).

    Returns one row per item (``item`` is its column position): n_ref, n_focal, mh_d_dif,
    alpha_mh, se, chi2, p, q (BH over the items), ets_class, favours ('reference' or 'focal'),
    smd and sd for polytomous items, delta_r2 for ``method='logistic'``, and ``purified``
    (whether the matching score left out the first stage's flagged items).
    """
    x = np.asarray(x, dtype=float)
    group = np.asarray(group, dtype=float)
    if max_score is None:
        max_score = np.nanmax(x, axis=0)
    if method not in ("mh", "logistic"):
        raise ValueError(f"unknown DIF method {method!r}")
    match = np.ones(x.shape[1], dtype=bool)
    first = _one_stage(x, group, max_score, method, match, alpha)
    if not purify:
        return first.assign(purified=False)
    flagged = ~first["ets_class"].isin(["A", "AA"]).to_numpy()
    if not flagged.any() or flagged.all():
        return first.assign(purified=False)
    second = _one_stage(x, group, max_score, method, ~flagged, alpha)
    return second.assign(purified=True)
