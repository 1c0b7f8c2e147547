"""SGP: the B-spline basis and the quantile regressions against R (splines::bs, quantreg::rq,
reference CSVs from tests/reference/sgp_quantreg.R), weighted = expanded data, SGP uniform when
the current score does not depend on the entry score, school medians and their intervals."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.growth import (
    TAUS,
    bs_basis,
    fit_sgp,
    growth_summary,
    knots_boundaries,
    median_ci,
    sgp_design,
    student_growth,
)
from analytics.stats.quantreg import check_loss, rq_fnb, rq_many
from tests.va_fixture import build_cohort

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "sgp_data.csv")


def test_bs_basis_matches_r(data):
    x = data["x"].to_numpy()
    knots, bnd = knots_boundaries(x)
    # bs(x, knots = quantile(x, c(.2, .4, .6, .8)), Boundary.knots = extendrange(x, f = .1))
    ref = pd.read_csv(REF / "sgp_bs_basis.csv").to_numpy()
    np.testing.assert_allclose(bs_basis(x, knots, bnd), ref, atol=1e-12)


def test_quantile_fits_match_r_quantreg(data):
    ref = pd.read_csv(REF / "sgp_rq_coef.csv")
    obj = pd.read_csv(REF / "sgp_rq_objective.csv")
    x, y = data["x"].to_numpy(), data["y"].to_numpy()
    knots, bnd = knots_boundaries(x)
    X = sgp_design(x, knots, bnd)
    taus = obj["tau"].to_numpy()
    # coef(rq(y ~ bs(x, knots, Boundary.knots = bnd), tau = taus, method = "br"))
    coef = rq_many(y, X, taus)
    want = ref.pivot(index="term", columns="tau", values="coef").to_numpy()
    np.testing.assert_allclose(coef, want, rtol=1e-6, atol=1e-6)
    for j, t in enumerate(taus):
        assert check_loss(y, X, coef[:, j], t) == pytest.approx(obj["objective"][j], rel=1e-9)


def test_weighted_pairs_reach_r_objective(data):
    """Integer scores grouped into weighted pairs (rq(..., weights = w)): the optimum may not be
    unique, so compare the minimised objective."""
    d = data.groupby(["xi", "yi"]).size().reset_index(name="w")
    obj = pd.read_csv(REF / "sgp_rq_objective.csv")
    knots, bnd = knots_boundaries(d["xi"].to_numpy(float), d["w"].to_numpy())
    X = sgp_design(d["xi"].to_numpy(float), knots, bnd)
    for t, want in zip(obj["tau"], obj["objective_weighted"], strict=True):
        b = rq_fnb(d["yi"].to_numpy(float), X, t, d["w"].to_numpy(float))
        got = check_loss(d["yi"].to_numpy(float), X, b, t, d["w"].to_numpy(float))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_weighted_equals_expanded():
    rng = np.random.default_rng(1)
    xi = rng.integers(0, 30, 3000).astype(float)
    yi = np.round(0.5 * xi + rng.normal(0, 4, 3000))
    pairs = pd.DataFrame({"x": xi, "y": yi}).value_counts().reset_index()
    knots, bnd = knots_boundaries(xi)
    Xe = sgp_design(xi, knots, bnd)
    Xw = sgp_design(pairs["x"].to_numpy(float), knots, bnd)
    for t in (0.015, 0.5, 0.905):
        bw = rq_fnb(pairs["y"].to_numpy(float), Xw, t, pairs["count"].to_numpy(float))
        be = rq_fnb(yi, Xe, t)
        assert check_loss(yi, Xe, bw, t) == pytest.approx(check_loss(yi, Xe, be, t), rel=1e-9)


def test_sgp_uniform_when_scores_do_not_depend_on_entry():
    """P(SGP = 1) = P(SGP = 99) = 1.5%, else 1% (counts 0 and 100 are capped); chi-square over
    ten bins of SGP at the 0.1% level, seeded."""
    rng = np.random.default_rng(42)
    n = 6000
    x = np.round(rng.normal(100, 15, n))
    y = np.round(rng.normal(90, 20, n))
    pairs = pd.DataFrame({"x": x, "y": y}).value_counts().reset_index()
    model = fit_sgp(pairs["x"], pairs["y"], pairs["count"].to_numpy(float))
    sgp = model.percentile(x, y)
    assert sgp.min() >= 1 and sgp.max() <= 99
    # ties in integer y: a student tied with a quantile is not "below" it, so use continuous y
    yc = rng.normal(90, 20, n)
    mc = fit_sgp(x, yc)
    s = mc.percentile(x, yc)
    p = np.full(99, 0.01)
    p[0] = p[-1] = 0.015
    bins = np.r_[np.arange(0, 99, 10), 99]
    expected = np.array([p[a:b].sum() for a, b in itertools.pairwise(bins)]) * n
    observed = np.array([((s > a) & (s <= b)).sum() for a, b in itertools.pairwise(bins)])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(expected) - 1) > 0.001, (observed, expected)
    assert abs(np.median(s) - 50) <= 2


def test_predicted_quantiles_never_cross():
    rng = np.random.default_rng(3)
    x = rng.normal(size=500)
    y = x + rng.standard_t(2, 500)
    m = fit_sgp(x, y)
    q = m.quantiles(np.linspace(x.min(), x.max(), 50))
    assert (np.diff(q, axis=1) >= 0).all()
    assert m.coef.shape == (8, len(TAUS))


def test_median_ci_order_statistics():
    # n = 20: ranks 6 and 15 (Conover 1999, Table A3, 95%: P(6 ≤ rank ≤ 15) = 0.9586)
    vals = np.arange(1, 21, dtype=float) * 3
    n, med, lo, hi = median_ci(vals, np.ones(20))
    assert (n, med, lo, hi) == (20, np.median(vals), vals[5], vals[14])
    v = np.array([10.0, 20.0, 30.0])
    c = np.array([3.0, 4.0, 2.0])                       # 10 10 10 20 20 20 20 30 30
    assert median_ci(v, c)[1] == np.median(np.repeat(v, c.astype(int)))


def test_student_growth_and_school_medians(wh):
    c = build_cohort(wh, n_schools=10, students_per_school=80, effect_sd=0.4, seed=12,
                     missing_prior=0.05)
    sg = student_growth(wh, exam="期末", prior_exam="入口", subject="数学")
    assert list(sg.columns) == ["zone_id", "zone_name", "school_id", "school_name", "class_id",
                                "class_name", "student_key", "student_id", "prior_score",
                                "score", "sgp"]
    assert len(sg) == 800
    assert sg["sgp"].isna().sum() == c.n_missing_prior
    assert sg["sgp"].dropna().between(1, 99).all()
    summ = growth_summary(wh, exam="期末", prior_exam="入口", subject="数学")
    assert list(summ.columns) == ["zone_id", "zone_name", "school_id", "school_name", "n",
                                  "n_missing_prior", "median_sgp", "ci_low", "ci_high",
                                  "mean_sgp"]
    assert summ["n_missing_prior"].sum() == c.n_missing_prior
    assert (summ["ci_low"] <= summ["median_sgp"]).all()
    assert (summ["median_sgp"] <= summ["ci_high"]).all()
    truth = c.school_effects["期末"][summ["school_id"].to_numpy() - 1]
    assert stats.spearmanr(summ["median_sgp"], truth)[0] > 0.7
    one = sg[sg["school_id"] == 1]["sgp"].dropna().to_numpy(float)
    assert summ.loc[summ["school_id"] == 1, "median_sgp"].iloc[0] == np.median(one)
