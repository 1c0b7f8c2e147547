"""Student growth percentiles (SGP): the quantile-regression model of the SGP package
(Betebenner 2009), fitted on (optionally weighted) entry and current scores. The recipe, the
sources and how the warehouse feeds it: :mod:`analytics.growth`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import interpolate

from analytics.errors import InputError
from analytics.stats.quantreg import rq_many

TAUS = (np.arange(1, 101) - 0.5) / 100
KNOT_PROBS = (0.2, 0.4, 0.6, 0.8)


def bs_basis(x: np.ndarray, knots: np.ndarray, boundary: tuple[float, float]) -> np.ndarray:
    """Cubic B-spline basis without intercept, as R's ``splines::bs(x, knots, Boundary.knots)``.

    Returns an (n, len(knots) + 3) array; ``x`` must lie within ``boundary``.
    """
    t = np.r_[[boundary[0]] * 4, np.asarray(knots, float), [boundary[1]] * 4]
    B = interpolate.BSpline.design_matrix(np.asarray(x, float), t, 3).toarray()
    return B[:, 1:]


def sgp_design(x: np.ndarray, knots: np.ndarray, boundary: tuple[float, float]) -> np.ndarray:
    """Intercept plus :func:`bs_basis`: the SGP model matrix."""
    return np.column_stack([np.ones(len(x)), bs_basis(x, knots, boundary)])


@dataclass
class SGPModel:
    """Fitted SGP quantile functions: knots, boundary knots and coefficients (p × 100)."""

    knots: np.ndarray
    boundary: tuple[float, float]
    coef: np.ndarray

    def quantiles(self, x: np.ndarray) -> np.ndarray:
        """Predicted quantiles (n × 100), rounded to 5 digits and sorted along each row."""
        pred = sgp_design(x, self.knots, self.boundary) @ self.coef
        return np.sort(np.round(pred, 5), axis=1)

    def percentile(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """SGP: count of predicted quantiles strictly below y, capped to 1–99."""
        below = (self.quantiles(x) < np.asarray(y, float)[:, None]).sum(axis=1)
        return np.clip(below, 1, 99)


def knots_boundaries(x: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Knots at the type-7 quantiles 0.2/0.4/0.6/0.8 of x (repeated by weight w) and boundaries
    at the range widened by 10%. Duplicate knots (heavy ties) are dropped."""
    x = np.asarray(x, float)
    xs = np.repeat(x, np.asarray(w, np.int64)) if w is not None else x
    k = np.unique(np.quantile(xs, KNOT_PROBS))
    lo, hi = float(xs.min()), float(xs.max())
    r = hi - lo
    return k, (lo - 0.1 * r, hi + 0.1 * r)


def fit_sgp(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, *,
            knots: np.ndarray | None = None, boundary: tuple[float, float] | None = None,
            tol: float = 1e-12) -> SGPModel:
    """Fit the 100 quantile regressions of the SGP recipe on (optionally weighted) data.

    Parameters
    ----------
    x, y : arrays
        Entry and current scores (one row per student, or per distinct pair with ``w``).
    w : array, optional
        Number of students in each row.

    Returns
    -------
    SGPModel
        ``knots``, ``boundary`` and ``coef`` (p × 100); ``quantiles(x)`` predicts.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if knots is None or boundary is None:
        knots, boundary = knots_boundaries(x, w)
    if boundary[1] <= boundary[0]:
        raise InputError("入口成绩全部相同,无法计算成长百分位 / all entry scores are equal; "
                         "growth percentiles need varying entry scores")
    X = sgp_design(x, knots, boundary)
    coef = rq_many(y, X, TAUS, w, tol=tol)
    return SGPModel(knots=np.asarray(knots, float), boundary=boundary, coef=coef)
