"""Weighted linear quantile regression by the Frisch–Newton interior-point method.

Solves, for each τ, ``min_β Σ_i w_i ρ_τ(y_i − x_i'β)`` with ρ_τ(r) = r (τ − 1[r < 0]), through its
dual linear program ``max_a y'a  s.t.  X'a = (1 − τ) X'1,  0 ≤ a ≤ 1`` with the primal–dual
log-barrier method and Mehrotra's predictor–corrector steps of Portnoy & Koenker (1997), as in
``quantreg::rq.fit.fnb`` (Koenker's ``lp_fnm``). Weights scale the rows (ρ_τ(w r) = w ρ_τ(r)
for w > 0, which is how ``rq(weights = w)`` treats them), so the weighted problem is *the same*
optimisation as the data with each row repeated w_i times: grouping identical (x, y) rows into
one weighted row is exact, not an approximation.
That is what makes SGP for a million students fast: exam totals take few distinct values.

Each τ is solved to a relative duality gap below ``tol``; the result is an optimal β to that
tolerance (when the optimum is not unique — e.g. when τ·Σw is an integer — any point of the optimal
face is a solution, and the interior-point method returns a central one, whereas the simplex
``rq(method = "br")`` returns a vertex; both minimise the same objective).

References: Portnoy, S. & Koenker, R. (1997) "The Gaussian hare and the Laplacian tortoise",
Statistical Science 12(4):279–300; Koenker, R. (2005) Quantile Regression, §6.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits


def check_loss(y: np.ndarray, X: np.ndarray, beta: np.ndarray, tau: float,
               w: np.ndarray | None = None) -> float:
    """Σ w ρ_τ(y − Xβ), the quantile-regression objective."""
    r = y - X @ beta
    loss = r * (tau - (r < 0))
    return float(loss.sum() if w is None else (w * loss).sum())


def _bound(v: np.ndarray, dv: np.ndarray) -> float:
    """Largest step t with v + t dv ≥ 0 (1e20 when dv ≥ 0)."""
    neg = dv < 0
    if not neg.any():
        return 1e20
    m = float((v[neg] / -dv[neg]).min())      # the same quotients, only where dv < 0
    return m if m < 1e20 else 1e20


def rq_fnb(y: np.ndarray, X: np.ndarray, tau: float, w: np.ndarray | None = None, *,
           tol: float = 1e-12, max_iter: int = 200, beta_step: float = 0.99995) -> np.ndarray:
    """One weighted quantile regression; returns β (length p).

    Parameters
    ----------
    y : (n,) array
    X : (n, p) array, full column rank (include the intercept column yourself)
    tau : float in (0, 1)
    w : (n,) array of positive weights, optional
    tol : float
        Stop when the duality gap ≤ tol · (1 + |dual objective|).
    max_iter : int
        At most this many Newton steps (typically 15–50 are needed).
    """
    # the matrices are tiny (p × p): BLAS threads only add contention, so use one
    with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"):
        return _fnb(np.asarray(y, float), np.asarray(X, float), tau,
                    None if w is None else np.asarray(w, float), tol, max_iter, beta_step)


def _fnb(y: np.ndarray, X: np.ndarray, tau: float, w: np.ndarray | None, tol: float,
         max_iter: int, beta_step: float) -> np.ndarray:
    n, _p = X.shape
    if w is not None:                  # ρ_τ(w r) = w ρ_τ(r): scale the rows (as rq does)
        X, y = X * w[:, None], y * w
    A = np.ascontiguousarray(X.T)                      # p × n
    c = -y
    b = (1 - tau) * A.sum(axis=1)
    x = np.full(n, 1 - tau)                            # feasible dual start, 0 < x < 1
    s = 1 - x
    yv = np.linalg.lstsq(X, c, rcond=None)[0]          # initial dual point: least squares
    r = c - X @ yv
    r = r + 0.001 * (r == 0)
    z = np.maximum(r, 0.0)
    wv = z - r
    gap = c @ x - yv @ b + wv.sum()
    it = 0
    best = yv
    while it < max_iter and gap > tol * (1 + abs(yv @ b)):
        it += 1
        q = 1.0 / (z / x + wv / s)
        r = z - wv
        try:
            cf = linalg.cho_factor((A * q) @ X, check_finite=True)
        except (np.linalg.LinAlgError, ValueError):
            break                      # numerically at the optimum: keep the last iterate
        rhs = A @ (q * r)
        if not np.isfinite(rhs).all():
            break
        dy = linalg.cho_solve(cf, rhs)
        dx = q * (X @ dy - r)
        ds = -dx
        dz = -z * (dx / x + 1)
        dw = -wv * (ds / s + 1)
        fp = min(beta_step * min(_bound(x, dx), _bound(s, ds)), 1.0)
        fd = min(beta_step * min(_bound(wv, dw), _bound(z, dz)), 1.0)
        if min(fp, fd) < 1:
            mu = z @ x + wv @ s
            g = (z + fd * dz) @ (x + fp * dx) + (wv + fd * dw) @ (s + fp * ds)
            mu = mu * (g / mu) ** 3 / (2 * n)
            dxdz = dx * dz
            dsdw = ds * dw
            xinv = 1 / x
            sinv = 1 / s
            xi = mu * (xinv - sinv)
            rhs = A @ (q * (r + dxdz - dsdw - xi))
            if not np.isfinite(rhs).all():
                break
            dy = linalg.cho_solve(cf, rhs)
            dx = q * (X @ dy + xi - r - dxdz + dsdw)
            ds = -dx
            dz = mu * xinv - z - xinv * z * dx - dxdz
            dw = mu * sinv - wv - sinv * wv * ds - dsdw
            fp = min(beta_step * min(_bound(x, dx), _bound(s, ds)), 1.0)
            fd = min(beta_step * min(_bound(wv, dw), _bound(z, dz)), 1.0)
        if not (np.isfinite(fp) and np.isfinite(fd) and np.isfinite(dy).all()):
            break
        x = x + fp * dx
        s = s + fp * ds
        yv = yv + fd * dy
        wv = wv + fd * dw
        z = z + fd * dz
        best = yv
        gap = c @ x - yv @ b + wv.sum()
    return -best


def rq_many(y: np.ndarray, X: np.ndarray, taus: Sequence[float] | np.ndarray,
            w: np.ndarray | None = None, *, tol: float = 1e-12, max_iter: int = 200,
            beta_step: float = 0.99995) -> np.ndarray:
    """Coefficients for each τ: a (p, len(taus)) array (columns as in quantreg's ``coef``)."""
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    wa = None if w is None else np.asarray(w, float)
    with threadpool_limits(1, user_api="blas"), np.errstate(all="ignore"):
        return np.column_stack([_fnb(y, X, float(t), wa, tol, max_iter, beta_step)
                                for t in taus])
