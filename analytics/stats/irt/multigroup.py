"""Concurrent calibration of two forms (or groups): one EM over all students, the common items
sharing their parameters, each group with its own normal ability distribution.

Group 0 (the base form's students) has θ ~ N(0, 1), fixing the scale; every other group g has
θ ~ N(μ_g, σ_g²), estimated in each M-step from its posterior moments over the nodes
(μ_g = Σ_q T_gq θ_q / Σ_q T_gq, σ_g² likewise; Bock & Zimowski 1997). Items a group did not take
are missing for it. Quadrature: 61 rectangular nodes on [−6, 6] (the group distributions move
along them). The linking constants of a new form calibrated alone with θ ~ N(0, 1) are then
A = σ_new, B = μ_new (θ_base = A·θ_new + B). No standard errors (see the separate calibration's
bootstrap in :mod:`analytics.stats.irt.linking`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analytics.stats.irt.data import Patterns
from analytics.stats.irt.em import e_step, item_counts, m_step, quadrature
from analytics.stats.irt.models import ItemSpec, start_values

Array = NDArray[np.float64]


@dataclass
class GroupFit:
    """Item parameters (slope–intercept, as :class:`~analytics.stats.irt.em.Fit`) and the
    groups' means and SDs on the base scale."""

    specs: list[ItemSpec]
    params: list[Array]
    mean: list[float]
    sd: list[float]
    loglik: float
    iterations: int
    converged: bool


def fit_multigroup(pats: list[Patterns], specs: list[ItemSpec], *, n_nodes: int = 61,
                   tol: float = 1e-4, max_iter: int = 1000,
                   c_prior: tuple[float, float] = (5.0, 17.0)) -> GroupFit:
    """Fit ``specs`` to the groups' reduced responses (same items in the same columns)."""
    nodes, _ = quadrature(n_nodes, "rectangular")
    params = []
    for j, s in enumerate(specs):
        props = np.zeros(s.n_cat)
        for pat in pats:
            col = pat.x[:, j]
            seen = col >= 0
            props += np.bincount(col[seen], weights=pat.w[seen], minlength=s.n_cat)[:s.n_cat]
        params.append(start_values(s, props / max(props.sum(), 1.0)))
    mean, sd = [0.0] * len(pats), [1.0] * len(pats)
    converged, it, loglik = False, 0, -np.inf
    while it < max_iter:
        it += 1
        counts: list[Array] | None = None
        new_mean, new_sd = [0.0], [1.0]
        loglik = 0.0
        for g, pat in enumerate(pats):
            w = np.exp(-0.5 * ((nodes - mean[g]) / sd[g]) ** 2)
            w /= w.sum()
            totals = np.zeros(nodes.size)
            r1, nj, ll = e_step(pat, specs, params, nodes, w, totals=totals)
            loglik += ll
            c = item_counts(pat, r1, nj)
            counts = c if counts is None else [a + b for a, b in zip(counts, c, strict=True)]
            if g > 0:
                m = float(totals @ nodes / totals.sum())
                new_mean.append(m)
                new_sd.append(float(np.sqrt(totals @ (nodes - m) ** 2 / totals.sum())))
        assert counts is not None
        new = m_step(specs, params, counts, nodes, c_prior)
        change = max(max(float(np.abs(n - p).max()) for n, p in zip(new, params, strict=True)),
                     max(abs(a - b) for a, b in zip(new_mean + new_sd, mean + sd, strict=True)))
        params, mean, sd = new, new_mean, new_sd
        if change < tol:
            converged = True
            break
    return GroupFit(specs=specs, params=params, mean=mean, sd=sd, loglik=loglik, iterations=it,
                    converged=converged)
