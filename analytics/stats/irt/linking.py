"""Linking (链接/等值) a new form's IRT scale to the base form's through common items.

θ_base = A·θ_new + B; an item's new-form parameters on the base scale are a* = a/A,
b* = A·b + B (every b_k alike), c* = c (Kolen & Brennan 2014, ch. 6).

* mean-mean (Loyd & Hoover 1980): A = mean(a_new)/mean(a_base), B = mean(b_base) − A·mean(b_new);
* mean-sigma (Marco 1977): A = SD(b_base)/SD(b_new), same B (b over all thresholds);
* Haebara (1980): A, B minimise Σ_q w_q Σ_j Σ_k (P_jk(θ_q; base) − P_jk(θ_q; new*))²;
* Stocking–Lord (1983): A, B minimise Σ_q w_q (Σ_j E_j(θ_q; base) − Σ_j E_j(θ_q; new*))²;
  both over 61 points on [−4, 4] of the base scale with N(0, 1) weights (Nelder–Mead from
  mean-sigma).

Standard errors of A and B: a parametric bootstrap (``n_boot`` draws of every anchor's
parameters from normal distributions with their estimated SEs, both forms, independently).
Drift: the displacement b*_j − b_base,j (the mean over thresholds) of each anchor, its robust z =
(d − median d) / (0.74 · IQR d) (Huynh & Meyer 2010); an anchor drifts when |z| > 1.645, and
``drop_drifting`` links again without the drifting anchors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

from analytics.stats.irt.models import ItemSpec, log_probs

Array = NDArray[np.float64]
METHODS = ("stocking-lord", "haebara", "mean-sigma", "mean-mean")


@dataclass(frozen=True)
class Anchor:
    """One common item on one form: its model, a, c, thresholds b (one for a dichotomous item)
    and their SEs."""

    model: str
    n_cat: int
    a: float
    b: tuple[float, ...]
    c: float = 0.0
    a_se: float = np.nan
    b_se: tuple[float, ...] = ()


def _slope_intercept(anchor: Anchor, a: float, b: Array) -> tuple[ItemSpec, Array]:
    spec = ItemSpec("2pl" if anchor.model == "rasch" else anchor.model, anchor.n_cat)
    if anchor.model in ("rasch", "2pl", "3pl"):
        par = [a, -a * b[0]]
        if anchor.model == "3pl":
            cc = min(max(anchor.c, 1e-6), 1 - 1e-6)
            par.append(np.log(cc / (1 - cc)))
        return spec, np.array(par)
    return spec, np.concatenate([[a], -a * b])


def _probs(anchor: Anchor, a: float, b: Array, theta: Array) -> Array:
    spec, par = _slope_intercept(anchor, a, b)
    return np.exp(log_probs(spec, par, theta))


def _moments(base: list[Anchor], new: list[Anchor], method: str) -> tuple[float, float]:
    bb = np.concatenate([np.asarray(x.b) for x in base])
    bn = np.concatenate([np.asarray(x.b) for x in new])
    if method == "mean-mean":
        big_a = np.mean([x.a for x in new]) / np.mean([x.a for x in base])
    else:
        big_a = np.std(bb, ddof=1) / np.std(bn, ddof=1)
    return float(big_a), float(bb.mean() - big_a * bn.mean())


THETA = np.linspace(-4, 4, 61)
WEIGHT = np.exp(-0.5 * THETA**2) / np.exp(-0.5 * THETA**2).sum()


def _dichotomous_probs(a: Array, b: Array, c: Array) -> Array:
    """P(x = 1 | θ) on :data:`THETA` for arrays of items: (J, Q)."""
    return c[:, None] + (1 - c[:, None]) / (1 + np.exp(-a[:, None] * (THETA[None, :]
                                                                      - b[:, None])))


def _constants(base: list[Anchor], new: list[Anchor], method: str,
               start: tuple[float, float] | None = None) -> tuple[float, float]:
    moments = _moments(base, new, method)
    if method in ("mean-mean", "mean-sigma"):
        return moments
    dich = np.array([x.n_cat == 2 for x in new])
    nd = [x for x, d in zip(new, dich, strict=True) if d]
    bd = [x for x, d in zip(base, dich, strict=True) if d]
    a_n = np.array([x.a for x in nd])
    b_n = np.array([x.b[0] for x in nd])
    c_n = np.array([x.c for x in nd])
    target_d = _dichotomous_probs(np.array([x.a for x in bd]), np.array([x.b[0] for x in bd]),
                                  np.array([x.c for x in bd]))
    poly_new = [x for x, d in zip(new, dich, strict=True) if not d]
    poly_base = [x for x, d in zip(base, dich, strict=True) if not d]
    target_p = [_probs(x, x.a, np.asarray(x.b), THETA) for x in poly_base]
    cats = [np.arange(x.n_cat) for x in poly_base]
    tcc_base = target_d.sum(axis=0) + sum((t @ k for t, k in zip(target_p, cats, strict=True)),
                                          np.zeros_like(THETA))

    def loss(ab: Array) -> float:
        big_a, big_b = ab
        if big_a <= 0:
            return 1e10
        p_d = _dichotomous_probs(a_n / big_a, big_a * b_n + big_b, c_n)
        poly = [_probs(x, x.a / big_a, big_a * np.asarray(x.b) + big_b, THETA)
                for x in poly_new]
        if method == "haebara":
            total = float(WEIGHT @ (2 * (target_d - p_d) ** 2).sum(axis=0))
            for t, p in zip(target_p, poly, strict=True):
                total += float(WEIGHT @ ((t - p) ** 2).sum(axis=1))
            return total
        tcc_new = p_d.sum(axis=0) + sum((p @ k for p, k in zip(poly, cats, strict=True)),
                                        np.zeros_like(THETA))
        return float(WEIGHT @ (tcc_base - tcc_new) ** 2)

    res = optimize.minimize(loss, np.array(start or moments), method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-14, "maxiter": 2000})
    return float(res.x[0]), float(res.x[1])


def _draw(x: Anchor, rng: np.random.Generator) -> Anchor:
    a_se = x.a_se if np.isfinite(x.a_se) else 0.0
    b_se = np.nan_to_num(np.asarray(x.b_se if x.b_se else [0.0] * len(x.b), float))
    return Anchor(x.model, x.n_cat, max(x.a + rng.normal() * a_se, 0.05),
                  tuple(np.asarray(x.b) + rng.normal(size=len(x.b)) * b_se), x.c)


@dataclass
class Link:
    """The linking constants and the anchors' table."""

    method: str
    A: float
    B: float
    A_se: float
    B_se: float
    anchors: pd.DataFrame
    dropped: list[int]

    def constants(self) -> pd.DataFrame:
        """One row: method, A, B, A_se, B_se, n_anchors, n_dropped."""
        return pd.DataFrame([{"method": self.method, "A": self.A, "B": self.B,
                              "A_se": self.A_se, "B_se": self.B_se,
                              "n_anchors": int(len(self.anchors) - len(self.dropped)),
                              "n_dropped": len(self.dropped)}])


def _drift(base: list[Anchor], new: list[Anchor], big_a: float, big_b: float,
           threshold: float) -> pd.DataFrame:
    disp = np.array([np.mean(big_a * np.asarray(n.b) + big_b) - np.mean(b.b)
                     for b, n in zip(base, new, strict=True)])
    q1, med, q3 = np.percentile(disp, [25, 50, 75])
    scale = 0.74 * (q3 - q1)
    z = (disp - med) / scale if scale > 0 else np.zeros_like(disp)
    return pd.DataFrame({
        "a_base": [b.a for b in base], "b_base": [float(np.mean(b.b)) for b in base],
        "a_new": [n.a / big_a for n in new],
        "b_new": [float(np.mean(big_a * np.asarray(n.b) + big_b)) for n in new],
        "displacement": disp, "robust_z": z, "drift": np.abs(z) > threshold})


def link(base: list[Anchor], new: list[Anchor], method: str = "stocking-lord", *,
         n_boot: int = 200, drop_drifting: bool = False, drift_z: float = 1.645,
         seed: int = 20261202) -> Link:
    """Link the new form to the base form through the common items (same order in both)."""
    if method not in METHODS:
        raise ValueError(f"unknown linking method {method!r}; one of {', '.join(METHODS)}")
    if len(base) != len(new) or len(base) < 2:
        raise ValueError("linking needs at least two common items, paired base → new")
    big_a, big_b = _constants(base, new, method)
    table = _drift(base, new, big_a, big_b, drift_z)
    dropped: list[int] = []
    use = np.ones(len(base), dtype=bool)
    if drop_drifting and table["drift"].any() and (~table["drift"]).sum() >= 2:
        use = ~table["drift"].to_numpy()
        dropped = [int(i) for i in np.flatnonzero(~use)]
        base_u = [x for x, u in zip(base, use, strict=True) if u]
        new_u = [x for x, u in zip(new, use, strict=True) if u]
        big_a, big_b = _constants(base_u, new_u, method)
        table = _drift(base, new, big_a, big_b, drift_z)
    else:
        base_u, new_u = base, new
    rng = np.random.default_rng(seed)
    boot = np.array([_constants([_draw(x, rng) for x in base_u], [_draw(x, rng) for x in new_u],
                                method, (big_a, big_b)) for _ in range(n_boot)]
                    ) if n_boot else np.full((1, 2), np.nan)
    table["used"] = use
    return Link(method=method, A=big_a, B=big_b, A_se=float(np.std(boot[:, 0], ddof=1))
                if n_boot > 1 else np.nan, B_se=float(np.std(boot[:, 1], ddof=1))
                if n_boot > 1 else np.nan, anchors=table, dropped=dropped)


def anchors_from_items(items: pd.DataFrame) -> list[Anchor]:
    """Anchors from rows of :meth:`Calibration.item_table` (model, n_cat, a, b or b_1 …, c and
    the ``*_se`` columns)."""
    out = []
    for _, row in items.iterrows():
        k = int(row["n_cat"])
        b: tuple[float, ...]
        b_se: tuple[float, ...]
        if k == 2:
            b, b_se = (float(row["b"]),), (float(row.get("b_se", np.nan)),)
        else:
            b = tuple(float(row[f"b_{i}"]) for i in range(1, k))
            b_se = tuple(float(row.get(f"b_{i}_se", np.nan)) for i in range(1, k))
        c = row.get("c", 0.0)
        out.append(Anchor(str(row["model"]), k, float(row["a"]), b,
                          0.0 if pd.isna(c) else float(c), float(row.get("a_se", np.nan)), b_se))
    return out
