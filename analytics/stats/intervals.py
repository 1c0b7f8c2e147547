"""Confidence intervals: normal, t, Wilson, Feldt (Cronbach's α) and the median's.

``Z95`` is the one 95 % normal quantile of the code base (Φ⁻¹(0.975), the value of
``scipy.stats.norm.ppf(0.975)``, asserted in tests/test_stats.py). scipy.stats (0.7 s to import)
is imported by the functions that need it, not with the module, so that importing the
definitions (e.g. for the archive's SQL, or ``eqm --help``) stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054


def normal_interval(estimate: Any, se: Any, z: float = Z95) -> tuple[Any, Any]:
    """estimate ∓ z · se (elementwise; ``z`` defaults to the 95 % quantile)."""
    return estimate - z * se, estimate + z * se


def t_half_width(sd: npt.ArrayLike, n: npt.ArrayLike, conf: float = 0.95) -> np.ndarray:
    """Half width t_{(1+c)/2, n−1} · sd / √n of the t interval of a mean (NaN for n < 2).

    The quantile is ``scipy.special.stdtrit`` — what ``scipy.stats.t.ppf`` evaluates — so that a
    score report does not import scipy.stats (0.7 s; ``eqm stats scores`` starts in < 1 s).
    """
    from scipy.special import stdtrit

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stdtrit(n - 1, (1 + conf) / 2)
        return q * np.asarray(sd, dtype=float) / np.sqrt(n)


def wilson(k: npt.ArrayLike, n: npt.ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes of n (95 % by default; NaN when n = 0).

    Wilson (1927), *JASA* 22:209–212: (p + z²/2n ∓ z √(p(1−p)/n + z²/4n²)) / (1 + z²/n).
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        mid = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n * n)) / den
    return mid - half, mid + half


def feldt_interval(alpha: npt.ArrayLike, n: npt.ArrayLike, k: npt.ArrayLike,
                   conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Feldt (1965) interval of Cronbach's α from n students and k items.

    1 − (1 − α) · F_{1−p/2}(n − 1, (n − 1)(k − 1)) ≤ α ≤ 1 − (1 − α) · F_{p/2}(…), p = 1 − c,
    as in R ``psych::alpha.ci``; NaN where a degree of freedom is not positive.
    """
    from scipy import stats as sps

    alpha = np.asarray(alpha, dtype=float)
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    p = 1 - conf
    df1, df2 = n - 1, (n - 1) * (k - 1)
    ok = (df1 > 0) & (df2 > 0)
    d1, d2 = np.where(ok, df1, 1), np.where(ok, df2, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(ok, 1 - (1 - alpha) * sps.f.ppf(1 - p / 2, d1, d2), np.nan)
        hi = np.where(ok, 1 - (1 - alpha) * sps.f.ppf(p / 2, d1, d2), np.nan)
    return lo, hi


def median_ci(values: np.ndarray, counts: np.ndarray, conf: float = 0.95) -> tuple:
    """Median (R's ``median``) and distribution-free interval of a sorted discrete sample given
    as distinct values with counts. Returns (n, median, ci_low, ci_high).

    Conover (1999, §3.2): order statistics l and n − l + 1 with l the (1 − c)/2 quantile of
    Binomial(n, ½) (at least 1).
    """
    from scipy import stats as sps

    n = int(counts.sum())
    if n == 0:
        return 0, np.nan, np.nan, np.nan
    cum = np.cumsum(counts)

    def order_stat(k: int) -> float:                  # k-th smallest, 1-based
        return float(values[np.searchsorted(cum, k)])

    med = (order_stat((n + 1) // 2) + order_stat(n // 2 + 1)) / 2
    lo_k = int(sps.binom.ppf((1 - conf) / 2, n, 0.5))
    lo_k = max(lo_k, 1)
    return n, med, order_stat(lo_k), order_stat(n - lo_k + 1)
