"""Marginal maximum likelihood by EM (Bock & Aitkin 1981) for unidimensional IRT models.

θ ~ N(0, 1) is integrated over fixed quadrature nodes θ_q with weights w_q (default 21
Gauss–Hermite nodes for the standard normal, as the ``mirt`` package on PyPI; a rectangular
grid on [−6, 6] weighted by the normal density as R's mirt is an option). The models and their
parameterisation (logistic, no 1.702: P = 1/(1 + exp(−a(θ − b)))) are in
:mod:`analytics.stats.irt.models`.

E-step: for every distinct response pattern p, log L_pq = Σ_j log P_j(x_pj | θ_q), computed for
all patterns at once as two matrix products (the category indicators times log P_jk − log P_j0,
plus the answered-item indicators times log P_j0); the posterior π_pq ∝ L_pq w_q. The sufficient
statistics of the M-step are the expected counts r_jkq = Σ_p n_p π_pq [x_pj = k] per item,
category and node, again one matrix product. Missing answers drop out of L_pq (missing at
random).

M-step: each item maximises Σ_kq r_jkq log P_jk(θ_q) separately — Newton–Raphson on the
closed-form gradient and Hessian for the 2PL (all items at once) and the Rasch model (one shared
slope), L-BFGS on the others (3PL with a Beta(α, β) prior on c: Bayes modal for c).
Converged when no slope–intercept parameter moves by more than ``tol`` in an iteration.

Standard errors (``se``): 'oakes' — the observed information of the marginal likelihood,
−∂g/∂η, where g is the Fisher score g(η) = Σ_jkq r_jkq(η) ∂ log P_jk(θ_q)/∂η (Louis 1982;
Oakes 1999), differentiated by central differences (each difference one E-step); 'crossprod' —
the cross-product of the patterns' scores Σ_p n_p s̄_p s̄_pᵀ (one pass; for large data);
'auto' picks 'oakes' up to :data:`OAKES_LIMIT` patterns × parameters. The delta method gives
the SEs of b and c.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from analytics.stats.irt.data import Patterns
from analytics.stats.irt.models import ItemSpec, log_probs, q_gradient, start_values

Array = NDArray[np.float64]


def quadrature(n: int = 21, kind: str = "gauss-hermite") -> tuple[Array, Array]:
    """Nodes and weights (summing to 1) for θ ~ N(0, 1)."""
    if kind == "gauss-hermite":
        x, w = special.roots_hermitenorm(n)
        return x, w / w.sum()
    if kind == "rectangular":
        x = np.linspace(-6.0, 6.0, n)
        w = np.exp(-0.5 * x**2)
        return x, w / w.sum()
    raise ValueError(f"unknown quadrature {kind!r}")


@dataclass
class Fit:
    """The result of :func:`fit_em`: slope–intercept parameters per item and the fit."""

    specs: list[ItemSpec]
    params: list[Array]
    loglik: float
    iterations: int
    converged: bool
    nodes: Array
    weights: Array
    n: int
    cov: Array | None = None           # covariance of the free parameters
    free_index: list[NDArray[np.intp]] = field(default_factory=list)  # item → free positions
    c_prior: tuple[float, float] = (5.0, 17.0)
    se_method: str = "none"

    @property
    def n_free(self) -> int:
        """Number of free parameters (the Rasch slope once)."""
        return int(max((int(ix.max()) for ix in self.free_index), default=-1) + 1)


def _free_index(specs: list[ItemSpec]) -> list[NDArray[np.intp]]:
    """Positions of each item's parameters in the free vector (Rasch items share slot 0)."""
    shared = any(s.model == "rasch" for s in specs)
    pos = 1 if shared else 0
    out = []
    for s in specs:
        if s.model == "rasch":
            out.append(np.array([0, pos], dtype=np.intp))
            pos += 1
        else:
            out.append(np.arange(pos, pos + s.n_par, dtype=np.intp))
            pos += s.n_par
    return out


def pack(params: list[Array], index: list[NDArray[np.intp]]) -> Array:
    """The free parameter vector."""
    size = int(max(int(ix.max()) for ix in index) + 1)
    vec = np.zeros(size)
    for p, ix in zip(params, index, strict=True):
        vec[ix] = p
    return vec


def unpack(vec: Array, index: list[NDArray[np.intp]]) -> list[Array]:
    """Per-item parameters from the free vector."""
    return [vec[ix].copy() for ix in index]


def _tables(specs: list[ItemSpec], params: list[Array], nodes: Array) -> tuple[Array, Array]:
    """(log P_jk − log P_j0 for k ≥ 1 stacked by design column, log P_j0): (Σ(K−1), Q), (J, Q)."""
    diff, base = [], []
    for s, p in zip(specs, params, strict=True):
        lp = log_probs(s, p, nodes)
        base.append(lp[:, 0])
        diff.append((lp[:, 1:] - lp[:, :1]).T)
    return np.vstack(diff), np.vstack(base)


def e_step(pat: Patterns, specs: list[ItemSpec], params: list[Array], nodes: Array,
           weights: Array, dtype: type = np.float64, totals: Array | None = None
           ) -> tuple[Array, Array, float]:
    """Expected counts (r for k ≥ 1 per design column, answered counts per item), loglik.

    ``dtype=np.float32`` runs the products in single precision (the EM iterations on large
    data; the counts are summed in double precision, the final log-likelihood and the SEs
    always use float64). ``totals``, when given, receives Σ_p n_p π_pq per node (added)."""
    diff, base = _tables(specs, params, nodes)
    diff, base = diff.astype(dtype), base.astype(dtype)
    logw: NDArray[np.floating] = np.log(weights).astype(dtype)
    r1 = np.zeros((diff.shape[0], nodes.size))
    nj = np.zeros((len(specs), nodes.size))
    loglik = 0.0
    for rows, design, answered in pat.blocks(dtype=dtype):
        ll = design @ diff
        if answered is None:
            ll += base.sum(axis=0) + logw
        else:
            ll += answered @ base + logw
        m = ll.max(axis=1, keepdims=True)
        np.subtract(ll, m, out=ll)
        np.exp(ll, out=ll)
        s = ll.sum(axis=1)
        w = pat.w[rows]
        loglik += float(w @ (np.log(s.astype(np.float64)) + m[:, 0]))
        ll *= (w / s).astype(dtype)[:, None]
        r1 += design.T @ ll
        if totals is not None:
            totals += ll.sum(axis=0)
        if answered is None:
            nj += ll.sum(axis=0)[None, :]
        else:
            nj += answered.T @ ll
    return r1, nj, loglik


def item_counts(pat: Patterns, r1: Array, nj: Array) -> list[Array]:
    """Per item the (K, Q) expected counts r_jkq."""
    out, start = [], 0
    for j, k in enumerate(pat.n_cat):
        upper = r1[start:start + k - 1]
        start += k - 1
        out.append(np.vstack([nj[j] - upper.sum(axis=0), upper]))
    return out


def _newton_2pl(a: Array, d: Array, r1: Array, n: Array, nodes: Array, steps: int = 2
                ) -> tuple[Array, Array]:
    """Newton–Raphson for all 2PL items at once: max Σ_q r1 log P + (n − r1) log(1 − P)."""
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a[:, None] * nodes[None, :] + d[:, None])))
        res = r1 - n * p
        v = n * p * (1.0 - p)
        ga, gd = res @ nodes, res.sum(axis=1)
        haa, had, hdd = v @ nodes**2, v @ nodes, v.sum(axis=1)
        det = haa * hdd - had**2
        da = (hdd * ga - had * gd) / det
        dd = (haa * gd - had * ga) / det
        scale = np.minimum(1.0, 1.0 / np.maximum(np.abs(da), np.abs(dd)))
        a, d = a + scale * da, d + scale * dd
    return a, d


def _newton_rasch(a: float, d: Array, r1: Array, n: Array, nodes: Array, steps: int = 2
                  ) -> tuple[float, Array]:
    """Newton–Raphson for Rasch items sharing the slope a."""
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a * nodes[None, :] + d[:, None])))
        res, v = r1 - n * p, n * p * (1.0 - p)
        g = np.concatenate([[float((res @ nodes).sum())], res.sum(axis=1)])
        h = np.diag(np.concatenate([[float((v @ nodes**2).sum())], v.sum(axis=1)]))
        h[0, 1:] = h[1:, 0] = v @ nodes
        step = np.linalg.solve(h, g)
        step *= min(1.0, 1.0 / float(np.abs(step).max()))
        a, d = a + float(step[0]), d + step[1:]
    return a, d


def _item_objective(spec: ItemSpec, r: Array, nodes: Array, c_prior: tuple[float, float]
                    ) -> Callable[[Array], tuple[float, Array]]:
    """−(Σ_kq r_kq log P_k(θ_q) + log prior) and its gradient, for the L-BFGS M-step."""
    def f(par: Array) -> tuple[float, Array]:
        val = float((r.T * log_probs(spec, par, nodes)).sum())
        grad = q_gradient(spec, par, r, nodes)
        if spec.model == "3pl":
            al, be = c_prior
            g = par[2]
            c = 1.0 / (1.0 + np.exp(-g))
            # Beta(α, β) on c = logistic(g): (α − 1) log c + (β − 1) log(1 − c)
            val += (al - 1) * -np.logaddexp(0.0, -g) + (be - 1) * -np.logaddexp(0.0, g)
            grad[2] += (al - 1) * (1 - c) - (be - 1) * c
        return -val, -grad
    return f


def m_step(specs: list[ItemSpec], params: list[Array], counts: list[Array], nodes: Array,
           c_prior: tuple[float, float]) -> list[Array]:
    """New parameters per item given the expected counts."""
    new = [p.copy() for p in params]
    two = [j for j, s in enumerate(specs) if s.model == "2pl"]
    if two:
        a = np.array([params[j][0] for j in two])
        d = np.array([params[j][1] for j in two])
        r1 = np.vstack([counts[j][1] for j in two])
        n = np.vstack([counts[j].sum(axis=0) for j in two])
        a, d = _newton_2pl(a, d, r1, n, nodes)
        for i, j in enumerate(two):
            new[j] = np.array([a[i], d[i]])
    ras = [j for j, s in enumerate(specs) if s.model == "rasch"]
    if ras:
        d = np.array([params[j][1] for j in ras])
        r1 = np.vstack([counts[j][1] for j in ras])
        n = np.vstack([counts[j].sum(axis=0) for j in ras])
        a1, d = _newton_rasch(float(params[ras[0]][0]), d, r1, n, nodes)
        for i, j in enumerate(ras):
            new[j] = np.array([a1, d[i]])
    for j, s in enumerate(specs):
        if s.model in ("2pl", "rasch"):
            continue
        res = optimize.minimize(_item_objective(s, counts[j], nodes, c_prior), params[j],
                                jac=True, method="L-BFGS-B", options={"maxiter": 30})
        new[j] = res.x
    return new


def fit_em(pat: Patterns, specs: list[ItemSpec], *, n_nodes: int = 21,
           quad: str = "gauss-hermite", tol: float = 1e-4, max_iter: int = 500,
           c_prior: tuple[float, float] = (5.0, 17.0), se: str = "auto") -> Fit:
    """Fit the items ``specs`` to the reduced responses ``pat`` by MML-EM."""
    nodes, weights = quadrature(n_nodes, quad)
    params = []
    for j, s in enumerate(specs):
        col = pat.x[:, j]
        seen = col >= 0
        props = np.bincount(col[seen], weights=pat.w[seen], minlength=s.n_cat)[:s.n_cat]
        params.append(start_values(s, props / max(props.sum(), 1.0)))
    if any(s.model == "rasch" for s in specs):
        for j, s in enumerate(specs):
            if s.model == "rasch":
                params[j][0] = 1.0
    converged, it, loglik = False, 0, -np.inf
    # single precision for the iterations on large data (see e_step)
    dtype = np.float32 if pat.x.shape[0] >= SINGLE_FROM else np.float64
    while it < max_iter:
        it += 1
        r1, nj, loglik = e_step(pat, specs, params, nodes, weights, dtype)
        new = m_step(specs, params, item_counts(pat, r1, nj), nodes, c_prior)
        change = max(float(np.abs(n - p).max()) for n, p in zip(new, params, strict=True))
        params = new
        if change < tol:
            converged = True
            break
    _, _, loglik = e_step(pat, specs, params, nodes, weights)
    fit = Fit(specs=specs, params=params, loglik=loglik, iterations=it, converged=converged,
              nodes=nodes, weights=weights, n=int(pat.w.sum()), free_index=_free_index(specs),
              c_prior=c_prior)
    fit.se_method = choose_se(se, pat, fit)
    if fit.se_method == "oakes":
        fit.cov = observed_cov(pat, fit)
    elif fit.se_method == "crossprod":
        fit.cov = crossprod_cov(pat, fit)
    return fit


SINGLE_FROM = 50_000  # patterns from which the EM iterations run in float32
OAKES_LIMIT = 2_000_000  # patterns × free parameters up to which 'auto' means 'oakes'


def choose_se(se: str, pat: Patterns, fit: Fit) -> str:
    """The SE method: 'oakes' (observed information, 2 E-steps per free parameter),
    'crossprod' (one pass) or 'none'; 'auto' is 'oakes' while patterns × free parameters ≤
    :data:`OAKES_LIMIT`, else 'crossprod'."""
    if se not in ("auto", "oakes", "crossprod", "none"):
        raise ValueError(f"unknown SE method {se!r}")
    if se == "auto":
        return "oakes" if pat.x.shape[0] * fit.n_free <= OAKES_LIMIT else "crossprod"
    return se


def _item_gradient(spec: ItemSpec, par: Array, r: Array, nodes: Array,
                   c_prior: tuple[float, float]) -> Array:
    """∂/∂par of Σ_kq r_kq log P_k(θ_q) (+ the log prior of c)."""
    return -_item_objective(spec, r, nodes, c_prior)(par)[1]


def score(pat: Patterns, fit: Fit, vec: Array) -> Array:
    """The Fisher score of the marginal log-likelihood at the free vector ``vec``."""
    params = unpack(vec, fit.free_index)
    r1, nj, _ = e_step(pat, fit.specs, params, fit.nodes, fit.weights)
    counts = item_counts(pat, r1, nj)
    g = np.zeros(vec.size)
    for s, p, r, ix in zip(fit.specs, params, counts, fit.free_index, strict=True):
        np.add.at(g, ix, _item_gradient(s, p, r, fit.nodes, fit.c_prior))
    return g


def _invert(info: Array) -> Array:
    info = 0.5 * (info + info.T)
    try:
        return np.asarray(np.linalg.inv(info))
    except np.linalg.LinAlgError:
        return np.full_like(info, np.nan)


def crossprod_cov(pat: Patterns, fit: Fit, h: float = 1e-5) -> Array:
    """Inverse of the cross-product information Σ_p n_p s̄_p s̄_pᵀ, s̄_p = ∂ log L(x_p)/∂η the
    score of pattern p's marginal likelihood, s̄_p = Σ_q π_pq ∂ log P(x_p | θ_q)/∂η (one pass).
    Consistent for the Fisher information; less accurate than :func:`observed_cov` in small
    samples."""
    diff, base = _tables(fit.specs, fit.params, fit.nodes)
    logw = np.log(fit.weights)
    # ∂ log P_jk(θ_q)/∂η_ji by central differences: per item (npar, Q, K)
    grads = []
    for spec, par in zip(fit.specs, fit.params, strict=True):
        g = np.empty((par.size, fit.nodes.size, spec.n_cat))
        for i in range(par.size):
            e = np.zeros(par.size)
            e[i] = h
            g[i] = (log_probs(spec, par + e, fit.nodes) - log_probs(spec, par - e, fit.nodes)
                    ) / (2 * h)
        grads.append(g)
    size = fit.n_free
    info = np.zeros((size, size))
    for rows, design, answered in pat.blocks():
        ll = design @ diff + (base.sum(axis=0) if answered is None else answered @ base) + logw
        ll = np.exp(ll - ll.max(axis=1, keepdims=True))
        ll /= ll.sum(axis=1, keepdims=True)
        xb = pat.x[rows]
        sbar = np.zeros((xb.shape[0], size))
        for j, (g, ix) in enumerate(zip(grads, fit.free_index, strict=True)):
            col = xb[:, j]
            for k in range(g.shape[2]):
                hit = col == k
                if hit.any():
                    sbar[np.ix_(hit, ix)] += ll[hit] @ g[:, :, k].T
        info += sbar.T @ (sbar * pat.w[rows, None])
    return _invert(info)


def observed_cov(pat: Patterns, fit: Fit, h: float = 1e-4) -> Array:
    """Inverse of the observed information −∂g/∂η (central differences of the Fisher score)."""
    vec = pack(fit.params, fit.free_index)
    info = np.zeros((vec.size, vec.size))
    for i in range(vec.size):
        e = np.zeros(vec.size)
        e[i] = h
        info[:, i] = -(score(pat, fit, vec + e) - score(pat, fit, vec - e)) / (2 * h)
    return _invert(info)
