"""Calibration of a paper's items: models per item, the EM fit and its tidy frames.

Parameterisation as R's mirt reports it (``IRTpars = TRUE``): logistic **without** the 1.702,
P(x = 1 | θ) = 1 / (1 + exp(−a(θ − b))) (plus c for the 3PL; b_1 … for GRM/GPCM items), θ ~ N(0, 1).
See :mod:`analytics.stats.irt.models` for the models and :mod:`analytics.stats.irt.em` for the
estimation and the standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analytics.stats.irt.data import Patterns, reduce_patterns
from analytics.stats.irt.em import Fit, fit_em
from analytics.stats.irt.models import ItemSpec, irt_jacobian, irt_parameters
from analytics.stats.irt.scoring import (
    eap,
    expected_score,
    item_information,
    map_scores,
    wle_scores,
)

CHOICES = ("rasch", "2pl", "3pl", "grm", "gpcm", "auto")
# the model of a dichotomous / polytomous item under each choice
_DICHOTOMOUS = {"rasch": "rasch", "2pl": "2pl", "3pl": "3pl", "grm": "2pl", "gpcm": "2pl",
                "auto": "2pl"}
_POLYTOMOUS = {"rasch": "gpcm", "2pl": "grm", "3pl": "grm", "grm": "grm", "gpcm": "gpcm",
               "auto": "grm"}


def item_specs(n_cat: NDArray[np.integer], model: str) -> list[ItemSpec]:
    """Each item's model: ``model`` for dichotomous items; polytomous items (K > 2) get GRM
    under '2pl', '3pl', 'grm' and 'auto', GPCM under 'gpcm' and 'rasch'."""
    if model not in CHOICES:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(CHOICES)}")
    return [ItemSpec(_DICHOTOMOUS[model] if k == 2 else _POLYTOMOUS[model], int(k))
            for k in n_cat]


@dataclass
class Calibration:
    """A fitted paper: the reduced patterns, the fit and the item labels."""

    patterns: Patterns
    fit: Fit
    items: list[str]

    def item_table(self) -> pd.DataFrame:
        """One row per item: item, model, n_cat, n (answered), a, b, c, b_1 …, and ``*_se``.

        b is the 2PL/3PL/Rasch difficulty (NaN for polytomous items, whose steps or thresholds
        are b_1 …); c is 0 except for the 3PL. SEs by the delta method from the observed
        information; NaN when the information could not be inverted.
        """
        rows = []
        answered = (self.patterns.x >= 0).T.astype(float) @ self.patterns.w
        for j, (s, p, ix) in enumerate(zip(self.fit.specs, self.fit.params,
                                           self.fit.free_index, strict=True)):
            pars = irt_parameters(s, p)
            names = list(pars)
            if self.fit.cov is not None:
                jac = irt_jacobian(s, p)
                cov = jac @ self.fit.cov[np.ix_(ix, ix)] @ jac.T
                ses = np.sqrt(np.maximum(np.diag(cov), 0.0))
            else:
                ses = np.full(len(names), np.nan)
            row: dict[str, object] = {"item": self.items[j], "model": s.model,
                                      "n_cat": s.n_cat, "n": int(answered[j])}
            row.update({"a": pars["a"], "b": pars.get("b", np.nan), "c": pars.get("c", 0.0)})
            for name, val in pars.items():
                if name.startswith("b_"):
                    row[name] = val
            for name, se in zip(names, ses, strict=True):
                if not (name == "c" and s.model != "3pl"):
                    row[f"{name}_se"] = se
            rows.append(row)
        frame = pd.DataFrame(rows)
        steps = sorted((c for c in frame.columns if c.startswith("b_") and not c.endswith("_se")),
                       key=lambda c: int(c[2:]))
        cols = ["item", "model", "n_cat", "n", "a", "b", "c", *steps, "a_se", "b_se", "c_se",
                *[f"{c}_se" for c in steps]]
        return frame.reindex(columns=cols)

    def item_fit(self) -> pd.DataFrame:
        """Per item: s_x2, s_x2_df, s_x2_p (Orlando & Thissen), infit, outfit
        (:mod:`analytics.stats.irt.fit`)."""
        from analytics.stats.irt.fit import infit_outfit, s_x2
        out = pd.concat([s_x2(self.patterns, self.fit), infit_outfit(self.patterns, self.fit)],
                        axis=1)
        out.insert(0, "item", self.items)
        return out

    def fit_table(self) -> pd.DataFrame:
        """One row: n (persons), k (items), n_par, n_patterns, loglik, aic, bic, iterations,
        converged, se_method."""
        k = self.fit.n_free
        n = self.fit.n
        ll = self.fit.loglik
        return pd.DataFrame([{
            "n": n, "k": len(self.fit.specs), "n_par": k, "n_patterns": self.patterns.x.shape[0],
            "loglik": ll, "aic": -2 * ll + 2 * k, "bic": -2 * ll + k * np.log(n),
            "iterations": self.fit.iterations, "converged": self.fit.converged,
            "se_method": self.fit.se_method,
        }])

    def person_scores(self, method: str = "all") -> pd.DataFrame:
        """Per person (in input order): theta (EAP), se (posterior SD), and with ``'all'``
        theta_map, se_map (MAP, N(0, 1) prior) and theta_wle, se_wle (Warm's WLE);
        ``'eap'`` gives the first two only."""
        m, sd = eap(self.patterns, self.fit.specs, self.fit.params)
        inv = self.patterns.inverse
        out = {"theta": m[inv], "se": sd[inv]}
        if method != "eap":
            t, se = map_scores(self.patterns, self.fit.specs, self.fit.params, m)
            out["theta_map"], out["se_map"] = t[inv], se[inv]
            t, se = wle_scores(self.patterns, self.fit.specs, self.fit.params, m)
            out["theta_wle"], out["se_wle"] = t[inv], se[inv]
        return pd.DataFrame(out)

    def information(self, theta: NDArray[np.float64] | None = None) -> pd.DataFrame:
        """Per θ: test information, conditional SEM = 1/√I(θ), expected total score."""
        grid = np.linspace(-4.0, 4.0, 81) if theta is None else np.asarray(theta, float)
        info = sum((item_information(s, p, grid)
                    for s, p in zip(self.fit.specs, self.fit.params, strict=True)),
                   np.zeros_like(grid))
        tcc = sum((expected_score(s, p, grid)
                   for s, p in zip(self.fit.specs, self.fit.params, strict=True)),
                  np.zeros_like(grid))
        return pd.DataFrame({"theta": grid, "info": info, "sem": 1.0 / np.sqrt(info),
                             "expected_score": tcc})


def calibrate(responses: NDArray[np.integer] | pd.DataFrame, model: str = "2pl", *,
              items: list[str] | None = None, n_nodes: int = 21, quad: str = "gauss-hermite",
              tol: float = 1e-4, max_iter: int = 500, se: str = "auto",
              c_prior: tuple[float, float] = (5.0, 17.0),
              weights: NDArray[np.floating] | None = None,
              n_cat: NDArray[np.integer] | None = None) -> Calibration:
    """Fit an IRT model to a persons × items matrix of scores 0 … K − 1 (−1 or NaN = missing).

    Parameters
    ----------
    responses
        Integer scores per person and item; a missing answer is −1 (or NaN in a frame) and
        drops out of the likelihood (missing at random).
    model
        'rasch', '2pl', '3pl', 'grm', 'gpcm' or 'auto' (see :func:`item_specs`).
    n_nodes, quad
        Quadrature: 21 Gauss–Hermite nodes by default (θ ~ N(0, 1)); ``'rectangular'`` on
        [−6, 6].
    tol, max_iter
        Converged when no slope–intercept parameter moves more than ``tol``.
    se
        'auto', 'oakes', 'crossprod' or 'none' (see :mod:`analytics.stats.irt.em`): 'oakes' is
        the observed information (2 E-steps per free parameter), 'crossprod' the cross-product
        of the patterns' scores (one pass); 'auto' uses 'oakes' on small data.
    c_prior
        Beta(α, β) prior on the 3PL's c (default Beta(5, 17), mean ≈ 0.23).
    weights, n_cat
        Counts of the rows when they are distinct patterns already; the number of categories
        of each item (default: the largest observed category + 1).

    Returns
    -------
    Calibration
        With :meth:`~Calibration.item_table`, :meth:`~Calibration.fit_table`,
        :meth:`~Calibration.person_scores` and :meth:`~Calibration.information`.
    """
    if isinstance(responses, pd.DataFrame):
        items = items or [str(c) for c in responses.columns]
        arr = responses.to_numpy(dtype=float)
    else:
        arr = np.asarray(responses, dtype=float)
    arr = np.where(np.isnan(arr), -1, arr)
    if (arr < -1).any() or (arr != np.round(arr)).any():
        raise ValueError("scores must be integers 0 … K − 1 (−1 for missing)")
    pat = reduce_patterns(arr.astype(np.int64), n_cat, weights)
    specs = item_specs(pat.n_cat, model)
    fit = fit_em(pat, specs, n_nodes=n_nodes, quad=quad, tol=tol, max_iter=max_iter, se=se,
                 c_prior=c_prior)
    names = items or [f"item_{j + 1}" for j in range(arr.shape[1])]
    return Calibration(patterns=pat, fit=fit, items=names)


def item_curves(items: pd.DataFrame, theta: NDArray[np.float64] | None = None) -> pd.DataFrame:
    """Item characteristic curves from an item table (:meth:`Calibration.item_table` or
    ``analytics.irt_items``): per item × θ the expected score rate E(x | θ)/(K − 1) — P(x = 1 | θ)
    for a dichotomous item — and the item information.

    Returns
    -------
    pandas.DataFrame
        Long: item_label (or item), theta, expected_rate, info.
    """
    from analytics.stats.irt.linking import _slope_intercept, anchors_from_items
    grid = np.linspace(-4.0, 4.0, 81) if theta is None else np.asarray(theta, float)
    rows = items.dropna(subset=["model"]).reset_index(drop=True)
    label = "item_label" if "item_label" in rows.columns else "item"
    parts = []
    for (_, row), anchor in zip(rows.iterrows(), anchors_from_items(rows), strict=True):
        spec, par = _slope_intercept(anchor, anchor.a, np.asarray(anchor.b))
        if anchor.model == "rasch":
            spec = ItemSpec("rasch", 2)
        parts.append(pd.DataFrame({
            label: row[label], "theta": grid,
            "expected_rate": expected_score(spec, par, grid) / (spec.n_cat - 1),
            "info": item_information(spec, par, grid)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[label, "theta", "expected_rate", "info"])
