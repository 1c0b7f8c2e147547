"""Item response functions of the unidimensional IRT models, as R's mirt reports them.

Every model is logistic **without** the scaling constant 1.702 (D = 1):

* Rasch / 2PL: P(x = 1 | θ) = 1 / (1 + exp(−a(θ − b))); the Rasch model shares one slope a
  across the items (θ ~ N(0, 1) fixes the scale, so a plays the part of the SD of θ in the
  a = 1 parameterisation; b is the same in both).
* 3PL: P = c + (1 − c) / (1 + exp(−a(θ − b))), with a Beta(α, β) prior on c.
* GRM (Samejima 1969): P(x ≥ k | θ) = 1 / (1 + exp(−a(θ − b_k))), k = 1 … K − 1,
  b_1 < … < b_{K−1}; P(x = k) = P(x ≥ k) − P(x ≥ k + 1).
* GPCM (Muraki 1992): P(x = k | θ) ∝ exp(Σ_{v=1}^{k} a(θ − b_v)), the empty sum for k = 0.

Internally each item is held in slope–intercept form (mirt's ``a1, d``): 2PL/3PL
η = aθ + d with b = −d/a; GRM η_k = aθ + d_k; GPCM exp(k·aθ + Σ_{v≤k} d_v) with b_v = −d_v/a.
The 3PL's c is held as its logit g. Sources: Baker & Kim (2004) *Item Response Theory:
Parameter Estimation Techniques*, ch. 6–9; Chalmers (2012) mirt, J. Stat. Softw. 48(6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
MODELS = ("rasch", "2pl", "3pl", "grm", "gpcm")
EPS = 1e-12


@dataclass(frozen=True)
class ItemSpec:
    """One item: its model and number of score categories K (0 … K − 1)."""

    model: str
    n_cat: int

    @property
    def n_par(self) -> int:
        """Number of free parameters held for the item (the Rasch slope counted per item)."""
        if self.model in ("rasch", "2pl"):
            return 2
        if self.model == "3pl":
            return 3
        return self.n_cat  # a and K − 1 intercepts


def _sigmoid(x: Array) -> Array:
    out: Array = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def start_values(spec: ItemSpec, props: Array) -> Array:
    """Starting slope–intercept values from the observed category proportions ``props``."""
    cum = np.clip(1.0 - np.cumsum(props)[:-1], 0.02, 0.98)  # P(x >= k), k = 1 … K − 1
    d = np.log(cum / (1.0 - cum))
    if spec.model in ("rasch", "2pl"):
        return np.array([1.0, d[0]])
    if spec.model == "3pl":
        return np.array([1.0, d[0], np.log(0.2 / 0.8)])
    if spec.model == "grm":
        return np.concatenate([[1.0], np.sort(d)[::-1] + 1e-3 * np.arange(d.size)[::-1]])
    pk = np.clip(props, 0.01, None)
    steps = np.log(pk[1:] / pk[:-1])  # log P_k / P_{k-1} at theta = 0
    return np.concatenate([[1.0], np.clip(steps, -4, 4)])


def log_probs(spec: ItemSpec, par: Array, theta: Array) -> Array:
    """log P(x = k | θ_q): an array (Q, K) for the item's slope–intercept parameters ``par``."""
    a = par[0]
    if spec.model in ("rasch", "2pl", "3pl"):
        eta = a * theta + par[1]
        if spec.model == "3pl":
            c = _sigmoid(np.asarray(par[2]))
            p1 = c + (1.0 - c) * _sigmoid(eta)
            p1 = np.clip(p1, EPS, 1.0 - EPS)
            return np.column_stack([np.log1p(-p1), np.log(p1)])
        lp1 = -np.logaddexp(0.0, -eta)
        lp0 = -np.logaddexp(0.0, eta)
        return np.column_stack([lp0, lp1])
    if spec.model == "grm":
        star = _sigmoid(a * theta[:, None] + par[None, 1:])       # P(x >= k), (Q, K − 1)
        bounds = np.column_stack([np.ones_like(theta), star, np.zeros_like(theta)])
        p = np.clip(bounds[:, :-1] - bounds[:, 1:], EPS, None)
        return np.log(p)
    # gpcm
    k = np.arange(spec.n_cat)
    z = a * theta[:, None] * k[None, :] + np.concatenate([[0.0], np.cumsum(par[1:])])[None, :]
    return z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def irt_parameters(spec: ItemSpec, par: Array) -> dict[str, float]:
    """The reported parameters (a, b or b_1 …, c) from slope–intercept ``par``."""
    a = float(par[0])
    if spec.model in ("rasch", "2pl", "3pl"):
        out = {"a": a, "b": -float(par[1]) / a}
        out["c"] = float(_sigmoid(np.asarray(par[2]))) if spec.model == "3pl" else 0.0
        return out
    out = {"a": a}
    for i, d in enumerate(par[1:], start=1):
        out[f"b_{i}"] = -float(d) / a
    return out


def irt_jacobian(spec: ItemSpec, par: Array) -> Array:
    """∂(reported parameters)/∂(slope–intercept parameters), rows in :func:`irt_parameters`
    order (the delta method for their standard errors)."""
    a = float(par[0])
    names = list(irt_parameters(spec, par))
    jac = np.zeros((len(names), par.size))
    jac[0, 0] = 1.0
    for row in range(1, par.size if spec.model not in ("3pl",) else 2):
        jac[row, 0] = par[row] / a**2
        jac[row, row] = -1.0 / a
    if spec.model == "3pl":
        c = float(_sigmoid(np.asarray(par[2])))
        jac[2, 2] = c * (1.0 - c)
    return jac


def q_gradient(spec: ItemSpec, par: Array, r: Array, theta: Array) -> Array:
    """∂/∂par of Q = Σ_kq r_kq log P_k(θ_q) in closed form; ``r`` is (K, Q).

    2PL: (Σ (r_1 − nP)θ, Σ (r_1 − nP)). GRM with S_k = σ(aθ + d_k), s_k = S_k(1 − S_k):
    ∂Q/∂d_m = Σ s_m (r_m/P_m − r_{m−1}/P_{m−1}), ∂Q/∂a = Σ θ Σ_k r_k (s_k − s_{k+1})/P_k.
    GPCM with z_k = k·aθ + Σ_{v≤k} d_v: ∂Q/∂a = Σ θ (Σ_k k r_k − n Σ_k k P_k),
    ∂Q/∂d_v = Σ (Σ_{k≥v} r_k − n Σ_{k≥v} P_k). 3PL: the chain rule through P = c + (1 − c)σ.
    """
    a = par[0]
    n = r.sum(axis=0)
    if spec.model in ("rasch", "2pl"):
        p = _sigmoid(a * theta + par[1])
        res = r[1] - n * p
        return np.array([float(res @ theta), float(res.sum())])
    if spec.model == "3pl":
        s = _sigmoid(a * theta + par[1])
        c = float(_sigmoid(np.asarray(par[2])))
        p = np.clip(c + (1 - c) * s, EPS, 1 - EPS)
        dq = r[1] / p - r[0] / (1 - p)
        ds = (1 - c) * s * (1 - s)
        return np.array([float((dq * ds) @ theta), float((dq * ds).sum()),
                         float((dq * c * (1 - c) * (1 - s)).sum())])
    if spec.model == "grm":
        star = _sigmoid(a * theta[:, None] + par[None, 1:])           # (Q, K − 1)
        bounds = np.column_stack([np.ones_like(theta), star, np.zeros_like(theta)])
        p = np.clip(bounds[:, :-1] - bounds[:, 1:], EPS, None)       # (Q, K)
        sd = bounds * (1 - bounds)                                      # (Q, K + 1)
        ratio = r.T / p                                                 # (Q, K)
        ga = float(theta @ (ratio * (sd[:, :-1] - sd[:, 1:])).sum(axis=1))
        gd = (sd[:, 1:-1] * (ratio[:, 1:] - ratio[:, :-1])).sum(axis=0)
        return np.concatenate([[ga], gd])
    k = np.arange(spec.n_cat)
    z = a * theta[:, None] * k[None, :] + np.concatenate([[0.0], np.cumsum(par[1:])])[None, :]
    p = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))   # (Q, K)
    ga = float(theta @ (r.T @ k - n * (p @ k)))
    upper_r = np.cumsum(r[::-1], axis=0)[::-1][1:]                    # Σ_{k≥v} r_k, v = 1 …
    upper_p = np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:]
    gd = upper_r.sum(axis=1) - (n[:, None] * upper_p).sum(axis=0)
    return np.concatenate([[ga], gd])
