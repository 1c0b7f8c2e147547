"""The random-intercept linear mixed model fitted by REML from per-cell sufficient statistics.

The model (school, and optionally class within school, random intercepts)::

    y_ijk = x_ijk'β + u_j + v_jk + e_ijk,   u_j ~ N(0, σ_s²), v_jk ~ N(0, σ_c²), e ~ N(0, σ²)

is fitted from the per-cell n, Σx, Σy, Σxx', Σxy, Σy² alone (the Woodbury identity; the
derivation, the profiled REML deviance and the EBLUPs with their two standard deviations are in
:mod:`analytics.value_added`, which uses it, as :mod:`analytics.green`'s equity index does).
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from analytics.errors import InputError


# --------------------------------------------------------------------------------------------
@dataclass
class CellStats:
    """Sufficient statistics per cell (class, or school when there is no class level).

    ``group`` maps each cell to its school (0..J-1); ``sx`` (m, p) holds Σx with x_0 = 1, so
    ``sx[:, 0] == n``; ``sxx`` (m, p, p), ``sxy`` (m, p), ``sy`` and ``syy`` (m,).
    """

    n: np.ndarray
    group: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    sy: np.ndarray
    syy: np.ndarray

    @property
    def n_groups(self) -> int:
        """The number of schools J (``group`` holds 0..J-1); 0 when there is no cell."""
        return int(self.group.max()) + 1 if len(self.group) else 0

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, p: int, group: np.ndarray) -> CellStats:
        """From the output of :func:`va_cell_stats_sql` (p = number of x columns incl. 1)."""
        m = len(frame)
        n = frame["n"].to_numpy(float)
        sx = np.empty((m, p))
        sx[:, 0] = n
        sxx = np.empty((m, p, p))
        sxx[:, 0, 0] = n
        sxy = np.empty((m, p))
        sxy[:, 0] = frame["sy"].to_numpy(float)
        for i in range(1, p):
            sx[:, i] = frame[f"s_{i}"].to_numpy(float)
            sxx[:, 0, i] = sxx[:, i, 0] = sx[:, i]
            sxy[:, i] = frame[f"sxy_{i}"].to_numpy(float)
            for j in range(i, p):
                sxx[:, i, j] = sxx[:, j, i] = frame[f"ss_{i}_{j}"].to_numpy(float)
        return cls(n=n, group=np.asarray(group, dtype=np.int64), sx=sx, sxx=sxx, sxy=sxy,
                   sy=sxy[:, 0].copy(), syy=frame["syy"].to_numpy(float))

    @classmethod
    def from_arrays(cls, y: np.ndarray, X: np.ndarray, school: np.ndarray,
                    cell: np.ndarray | None = None) -> CellStats:
        """From student-level arrays (tests and benchmarks); X must include the intercept."""
        cell = school if cell is None else cell
        keys, inv = np.unique(np.column_stack([school, cell]), axis=0, return_inverse=True)
        inv = inv.ravel()
        m, p = len(keys), X.shape[1]
        n = np.bincount(inv, minlength=m).astype(float)
        sx = np.stack([np.bincount(inv, X[:, i], m) for i in range(p)], axis=1)
        sxx = np.empty((m, p, p))
        for i in range(p):
            for j in range(i, p):
                sxx[:, i, j] = sxx[:, j, i] = np.bincount(inv, X[:, i] * X[:, j], m)
        sxy = np.stack([np.bincount(inv, X[:, i] * y, m) for i in range(p)], axis=1)
        _, group = np.unique(keys[:, 0], return_inverse=True)
        return cls(n=n, group=group.ravel(), sx=sx, sxx=sxx, sxy=sxy,
                   sy=np.bincount(inv, y, m), syy=np.bincount(inv, y * y, m))


@dataclass
class REMLFit:
    """Result of :func:`reml_fit`. Variances on the scale of y; ``beta_cov`` = σ² A⁻¹."""

    beta: np.ndarray
    beta_cov: np.ndarray
    sigma2: float
    sigma2_school: float
    sigma2_class: float
    deviance: float
    n: int
    n_schools: int
    n_cells: int
    converged: bool
    school_effect: np.ndarray
    school_cond_sd: np.ndarray
    school_se: np.ndarray
    class_effect: np.ndarray = field(default_factory=lambda: np.empty(0))
    class_total: np.ndarray = field(default_factory=lambda: np.empty(0))
    class_cond_sd: np.ndarray = field(default_factory=lambda: np.empty(0))
    class_se: np.ndarray = field(default_factory=lambda: np.empty(0))
    class_effect_cond_sd: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def icc(self) -> float:
        """Share of residual variance (given x) between schools: σ_s²/(σ_s² + σ_c² + σ²)."""
        return self.sigma2_school / (self.sigma2_school + self.sigma2_class + self.sigma2)


def _profile(st: CellStats, gs: float, gc: float, reml: bool = True):
    d = 1.0 + gc * st.n
    c = gc / d
    J = st.n_groups
    m = np.bincount(st.group, st.n / d, J)
    e = 1.0 + gs * m
    H = np.stack([np.bincount(st.group, st.sx[:, i] / d, J) for i in range(st.sx.shape[1])], 1)
    G = np.bincount(st.group, st.sy / d, J)
    w = gs / e
    A = st.sxx.sum(0) - np.einsum("k,ki,kj->ij", c, st.sx, st.sx) - np.einsum(
        "j,ji,jk->ik", w, H, H)
    b = st.sxy.sum(0) - (c * st.sy) @ st.sx - (w * G) @ H
    yy = st.syy.sum() - (c * st.sy) @ st.sy - (w * G) @ G
    N = st.n.sum()
    p = A.shape[0]
    L = np.linalg.cholesky(A)
    beta = np.linalg.solve(A, b)
    rss = max(yy - b @ beta, 1e-300)
    logdet = np.log(d).sum() + np.log(e).sum()
    if reml:
        s2 = rss / (N - p)
        dev = (N - p) * math.log(s2) + logdet + 2 * np.log(np.diag(L)).sum() + (N - p) * (
            1 + math.log(2 * math.pi))
    else:
        s2 = rss / N
        dev = N * math.log(s2) + logdet + N * (1 + math.log(2 * math.pi))
    return dev, beta, s2, A, d, m, e, H


#: The last few fits by the digest of their statistics (:func:`reml_fit_kept`).
_KEPT: OrderedDict[str, REMLFit] = OrderedDict()
_KEPT_MAX = 8
_KEPT_LOCK = threading.Lock()


def reml_fit_kept(st: CellStats, *, classes: bool = False, reml: bool = True,
                  max_ratio: float = 1e4) -> REMLFit:
    """:func:`reml_fit`, kept for the same statistics and options: the school and the class
    value added of a paper fit the same class-level model, so the second asks the first's fit
    (a deep copy: callers cannot change what is kept). Exact: the key is a digest of every
    array of ``st`` and of the options."""
    h = hashlib.sha1(repr((classes, reml, max_ratio, st.sx.shape)).encode())
    for a in (st.n, st.group, st.sx, st.sxx, st.sxy, st.sy, st.syy):
        h.update(np.ascontiguousarray(a).tobytes())
    key = h.hexdigest()
    with _KEPT_LOCK:
        hit = _KEPT.get(key)
        if hit is not None:
            _KEPT.move_to_end(key)
            return copy.deepcopy(hit)
    fit = reml_fit(st, classes=classes, reml=reml, max_ratio=max_ratio)
    with _KEPT_LOCK:
        _KEPT[key] = copy.deepcopy(fit)
        while len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)
    return fit


def reml_fit(st: CellStats, *, classes: bool = False, reml: bool = True,
             max_ratio: float = 1e4) -> REMLFit:
    """Fit the random-intercept model by (RE)ML from per-cell sufficient statistics.

    Parameters
    ----------
    st : CellStats
        Per-cell sums; cells are classes when ``classes`` is true, else schools.
    classes : bool
        Fit a class-within-school random intercept as well.
    reml : bool
        REML (default) or ML.
    max_ratio : float
        Upper bound of the variance ratios σ_s²/σ² and σ_c²/σ².

    Returns
    -------
    REMLFit
    """
    N, p = int(st.n.sum()), st.sx.shape[1]
    if st.n_groups < 2 or N - p < 2:
        raise InputError("学生或学校太少,无法拟合增值模型 / too few students or schools to fit "
                         f"the value-added model (n={N}, schools={st.n_groups})")
    tmax = math.sqrt(max_ratio)
    converged = True
    if not classes:
        def f1(t: float) -> float:
            return _profile(st, t * t, 0.0, reml)[0]
        # Brent on θ = σ_s/σ (lme4's parameterisation), then the boundary θ = 0
        grid = np.concatenate([[0.0], np.geomspace(1e-3, tmax, 40)])
        vals = [f1(t) for t in grid]
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        res = optimize.minimize_scalar(f1, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12, "maxiter": 500})
        ts, tc = (float(res.x), 0.0) if res.fun <= vals[i] else (float(grid[i]), 0.0)
        converged = bool(res.success)
    else:
        def f2(t: np.ndarray) -> float:
            return _profile(st, t[0] ** 2, t[1] ** 2, reml)[0]
        best = None
        for start in ((0.5, 0.3), (0.2, 0.1), (1.0, 0.5)):
            r = optimize.minimize(f2, np.array(start), method="L-BFGS-B",
                                  bounds=[(0, tmax), (0, tmax)],
                                  options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
            if best is None or r.fun < best.fun:
                best = r
        assert best is not None
        r = optimize.minimize(f2, best.x, method="Nelder-Mead",
                              options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
        x = np.clip(r.x, 0, tmax) if r.fun < best.fun else best.x
        ts, tc = float(abs(x[0])), float(abs(x[1]))
        converged = bool(best.success or r.success)
    gs, gc = ts * ts, tc * tc
    dev, beta, s2, A, d, m, e, H = _profile(st, gs, gc, reml)
    Ainv = np.linalg.inv(A)
    # school EBLUPs and their prediction-error variances
    r = st.sy - st.sx @ beta                     # per-cell residual sums
    R = np.bincount(st.group, r / d, st.n_groups)
    u = gs * R / e
    h = H / e[:, None]
    cond_var = s2 * gs / e
    pev = cond_var + s2 * gs * gs * np.einsum("ji,ik,jk->j", h, Ainv, h)
    fit = REMLFit(beta=beta, beta_cov=s2 * Ainv, sigma2=float(s2), sigma2_school=float(s2 * gs),
                  sigma2_class=float(s2 * gc), deviance=float(dev), n=N,
                  n_schools=st.n_groups, n_cells=len(st.n), converged=converged,
                  school_effect=u, school_cond_sd=np.sqrt(cond_var), school_se=np.sqrt(pev))
    if classes:
        j = st.group
        q = st.n / d
        v = gc * (r - st.n * u[j]) / d
        ej = e[j]
        aqa = (gs * gs * m[j] / ej + 2 * gs * gc * q / ej + gc * gc * (q - gs * q * q / ej))
        cvar = s2 * (gs + gc - aqa)
        g = (gs * H[j] / ej[:, None]
             + gc * (st.sx / d[:, None] - gs * H[j] * (q / ej)[:, None]))
        fit.class_effect = v
        wvar = s2 * (gc - gc * gc * (q - gs * q * q / ej))
        fit.class_effect_cond_sd = np.sqrt(np.maximum(wvar, 0))
        fit.class_total = u[j] + v
        fit.class_cond_sd = np.sqrt(np.maximum(cvar, 0))
        fit.class_se = np.sqrt(np.maximum(cvar + s2 * np.einsum("ki,il,kl->k", g, Ainv, g), 0))
    return fit
