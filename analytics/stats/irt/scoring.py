"""Person scores (EAP, MAP) with their SE, item and test information, conditional SEM.

* EAP (Bock & Mislevy 1982): θ̂ = Σ_q θ_q L(x | θ_q) φ_q / Σ_q L φ_q on a fine rectangular grid
  (121 nodes on [−6, 6], weighted by the N(0, 1) density), SE = posterior SD.
* MAP: the mode of log L(x | θ) − θ²/2 by Newton's method from the EAP, SE = (−∂²/∂θ²)^(−1/2).
* Item information I_j(θ) = Σ_k (∂P_jk/∂θ)² / P_jk (Samejima 1969; for the 2PL a²P(1 − P)),
  test information I(θ) = Σ_j I_j(θ), conditional SEM(θ) = 1/√I(θ).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.stats.irt.data import Patterns
from analytics.stats.irt.models import ItemSpec, log_probs

Array = NDArray[np.float64]


def _loglik_grid(pat: Patterns, specs: list[ItemSpec], params: list[Array], grid: Array
                 ) -> Array:
    """log L(x_p | θ) for every pattern p and grid point: (P, G)."""
    out = np.zeros((pat.x.shape[0], grid.size))
    for j, (s, p) in enumerate(zip(specs, params, strict=True)):
        lp = log_probs(s, p, grid)               # (G, K)
        col = pat.x[:, j].astype(np.intp)
        seen = col >= 0
        out[seen] += lp[:, col[seen]].T
    return out


def eap(pat: Patterns, specs: list[ItemSpec], params: list[Array], n_grid: int = 121
        ) -> tuple[Array, Array]:
    """EAP estimate and posterior SD per pattern."""
    grid = np.linspace(-6.0, 6.0, n_grid)
    ll = _loglik_grid(pat, specs, params, grid) - 0.5 * grid**2
    ll -= ll.max(axis=1, keepdims=True)
    post = np.exp(ll)
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ grid
    sd = np.sqrt(np.maximum(post @ grid**2 - mean**2, 0.0))
    return mean, sd


def _loglik_at(pat: Patterns, specs: list[ItemSpec], params: list[Array], theta: Array
               ) -> Array:
    """log L(x_p | θ_p), one θ per pattern."""
    out = np.zeros(theta.size)
    rows = np.arange(theta.size)
    for j, (s, p) in enumerate(zip(specs, params, strict=True)):
        lp = log_probs(s, p, theta)              # (P, K)
        col = pat.x[:, j].astype(np.intp)
        seen = col >= 0
        out[seen] += lp[rows[seen], col[seen]]
    return out


def map_scores(pat: Patterns, specs: list[ItemSpec], params: list[Array], start: Array,
               iters: int = 30, h: float = 1e-4) -> tuple[Array, Array]:
    """MAP estimate (N(0, 1) prior) and its SE per pattern, Newton from ``start``."""
    theta = start.copy()

    def f(t: Array) -> Array:
        return _loglik_at(pat, specs, params, t) - 0.5 * t**2

    for _ in range(iters):
        f0, fp, fm = f(theta), f(theta + h), f(theta - h)
        g = (fp - fm) / (2 * h)
        d2 = (fp - 2 * f0 + fm) / h**2
        step = np.clip(-g / np.minimum(d2, -1e-6), -1.0, 1.0)
        theta = np.clip(theta + step, -6.0, 6.0)
        if np.abs(step).max() < 1e-6:
            break
    f0, fp, fm = f(theta), f(theta + h), f(theta - h)
    d2 = (fp - 2 * f0 + fm) / h**2
    return theta, 1.0 / np.sqrt(np.maximum(-d2, 1e-12))


def item_information(spec: ItemSpec, par: Array, theta: Array, h: float = 1e-5) -> Array:
    """I_j(θ) = Σ_k (∂P_k/∂θ)² / P_k (central differences in θ)."""
    p = np.exp(log_probs(spec, par, theta))
    up, down = log_probs(spec, par, theta + h), log_probs(spec, par, theta - h)
    dp = (np.exp(up) - np.exp(down)) / (2 * h)
    info: Array = (dp**2 / np.maximum(p, 1e-300)).sum(axis=1)
    return info


def expected_score(spec: ItemSpec, par: Array, theta: Array) -> Array:
    """E(x_j | θ) = Σ_k k P_k(θ)."""
    out: Array = np.exp(log_probs(spec, par, theta)) @ np.arange(spec.n_cat)
    return out


def _answered_information(pat: Patterns, specs: list[ItemSpec], params: list[Array],
                          theta: Array) -> Array:
    """Σ over each pattern's answered items of I_j(θ_p)."""
    out = np.zeros(theta.size)
    for j, (s, p) in enumerate(zip(specs, params, strict=True)):
        seen = pat.x[:, j] >= 0
        out[seen] += item_information(s, p, theta[seen])
    return out


def wle_scores(pat: Patterns, specs: list[ItemSpec], params: list[Array], start: Array,
               iters: int = 40, h: float = 1e-4) -> tuple[Array, Array]:
    """Warm's (1989) weighted likelihood estimate: the root of ∂ log L/∂θ + I′(θ)/(2I(θ)) = 0,
    i.e. the maximum of log L(x | θ) + ½ log I(θ) (I over the answered items), by Newton's
    method from ``start`` within [−6, 6]; SE = I(θ̂)^(−1/2)."""
    theta = start.copy()

    def f(t: Array) -> Array:
        return _loglik_at(pat, specs, params, t) + 0.5 * np.log(
            np.maximum(_answered_information(pat, specs, params, t), 1e-300))

    for _ in range(iters):
        f0, fp, fm = f(theta), f(theta + h), f(theta - h)
        g = (fp - fm) / (2 * h)
        d2 = (fp - 2 * f0 + fm) / h**2
        step = np.where(d2 < 0, -g / np.minimum(d2, -1e-6), np.sign(g) * 0.5)
        step = np.clip(step, -0.5, 0.5)
        theta = np.clip(theta + step, -6.0, 6.0)
        if np.abs(step).max() < 1e-7:
            break
    info = _answered_information(pat, specs, params, theta)
    return theta, 1.0 / np.sqrt(np.maximum(info, 1e-12))
