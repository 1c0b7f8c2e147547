"""Value-added: the sufficient-statistics REML fit against statsmodels MixedLM, lme4 (reference
CSVs), dense matrix algebra; recovery of planted school effects; interval coverage; the simple
methods against direct numpy computations."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.errors import InputError
from analytics.value_added import (
    CATEGORY_LABELS,
    CellStats,
    categorise,
    reml_fit,
    value_added,
    value_added_compare,
    value_added_model,
    value_added_pooled,
    value_added_simple,
    value_added_stability,
)
from tests.va_fixture import build_cohort

REF = Path(__file__).parent / "reference"
SCHOOL_COLS = ["zone_id", "zone_name", "school_id", "school_name", "n", "n_missing_prior",
               "n_missing_covariates", "va", "se", "ci_low", "ci_high", "category", "cond_sd"]


def _sim(seed: int, J: int = 30, sd_u: float = 0.4):
    rng = np.random.default_rng(seed)
    nj = rng.integers(5, 40, J)
    school = np.repeat(np.arange(J), nj)
    N = len(school)
    x = rng.normal(size=N)
    u = rng.normal(0, sd_u, J)
    y = 0.3 + 0.7 * x + u[school] + rng.normal(size=N)
    return y, x, school, u


def test_matches_statsmodels_mixedlm():
    import statsmodels.formula.api as smf

    y, x, school, _ = _sim(1)
    fit = reml_fit(CellStats.from_arrays(y, np.column_stack([np.ones_like(x), x]), school))
    frame = pd.DataFrame({"y": y, "x": x, "g": school})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # smf.mixedlm("y ~ x", frame, groups="g").fit(reml=True)
        m = smf.mixedlm("y ~ x", frame, groups="g").fit(reml=True)
    np.testing.assert_allclose(fit.beta, m.fe_params.to_numpy(), atol=1e-4)
    assert fit.sigma2 == pytest.approx(m.scale, abs=1e-4)
    assert fit.sigma2_school == pytest.approx(float(m.cov_re.iloc[0, 0]), abs=1e-4)
    keys = sorted(m.random_effects)
    re = np.array([m.random_effects[k].iloc[0] for k in keys])
    np.testing.assert_allclose(fit.school_effect, re, atol=1e-4)
    cv = np.array([m.random_effects_cov[k].iloc[0, 0] for k in keys])
    np.testing.assert_allclose(fit.school_cond_sd, np.sqrt(cv), atol=1e-4)
    # our optimum is at least as good as statsmodels' (same REML criterion, -2 llf)
    assert fit.deviance <= -2 * m.llf + 1e-6


@pytest.mark.parametrize("model", ["school", "school_cov", "nested"])
def test_matches_lme4_reference(model):
    d = pd.read_csv(REF / "va_data.csv")
    cols = {"school": ["x"], "school_cov": ["x", "female", "ses"], "nested": ["x"]}[model]
    X = np.column_stack([np.ones(len(d)), *[d[c].to_numpy() for c in cols]])
    nested = model == "nested"
    st = CellStats.from_arrays(d["y"].to_numpy(), X, d["school"].to_numpy(),
                               d["class"].to_numpy() if nested else None)
    fit = reml_fit(st, classes=nested)
    fe = pd.read_csv(REF / "va_lme4_fixed.csv").query("model == @model")
    vc = pd.read_csv(REF / "va_lme4_varcomp.csv").query("model == @model")
    sch = pd.read_csv(REF / "va_lme4_school.csv").query("model == @model")
    # lmer(y ~ x [+ female + ses] + (1 | school) [+ (1 | school:class)], REML = TRUE)
    np.testing.assert_allclose(fit.beta, fe["estimate"], atol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.beta_cov)), fe["se"], atol=1e-5)
    var = dict(zip(vc["component"], vc["variance"], strict=True))
    assert fit.sigma2 == pytest.approx(var["Residual"], abs=1e-5)
    assert fit.sigma2_school == pytest.approx(var["school"], abs=1e-5)
    # REMLcrit(m)
    assert fit.deviance == pytest.approx(vc["reml_deviance"].iloc[0], abs=1e-6)
    # ranef(m, condVar = TRUE)$school and sqrt(attr(., "postVar"))
    np.testing.assert_allclose(fit.school_effect, sch["effect"], atol=1e-5)
    np.testing.assert_allclose(fit.school_cond_sd, sch["cond_sd"], atol=1e-5)
    if nested:
        assert fit.sigma2_class == pytest.approx(var["school:class"], abs=1e-5)
        cls = pd.read_csv(REF / "va_lme4_class.csv")
        # lme4 orders school:class levels as strings "1:11", ...; ours by (school, class)
        sc = cls["school_class"].str.split(":", expand=True).astype(int)
        cls = cls.assign(s=sc[0], c=sc[1]).sort_values(["s", "c"])
        np.testing.assert_allclose(fit.class_effect, cls["effect"], atol=1e-5)
        np.testing.assert_allclose(fit.class_effect_cond_sd, cls["cond_sd"], atol=1e-5)


def test_effects_and_pev_match_dense_mixed_model_algebra():
    """BLUP = G Z'P y and PEV = G − G Z'PZ G (Henderson 1975) with dense matrices."""
    rng = np.random.default_rng(3)
    J, K = 8, 3
    nj = rng.integers(4, 15, J)
    school = np.repeat(np.arange(J), nj)
    N = len(school)
    cell = school * K + rng.integers(0, K, N)
    x = rng.normal(size=N)
    y = 0.5 * x + rng.normal(0, 0.5, J)[school] + rng.normal(0, 0.3, J * K)[cell] \
        + rng.normal(size=N)
    X = np.column_stack([np.ones(N), x])
    fit = reml_fit(CellStats.from_arrays(y, X, school, cell), classes=True)
    cells = np.unique(np.column_stack([school, cell]), axis=0)
    ci = {tuple(k): i for i, k in enumerate(cells)}
    Z = np.zeros((N, J + len(cells)))
    Z[np.arange(N), school] = 1
    Z[np.arange(N), J + np.array([ci[(s, c)] for s, c in zip(school, cell, strict=True)])] = 1
    G = np.diag(np.r_[np.full(J, fit.sigma2_school), np.full(len(cells), fit.sigma2_class)])
    V = fit.sigma2 * np.eye(N) + Z @ G @ Z.T
    Vi = np.linalg.inv(V)
    P = Vi - Vi @ X @ np.linalg.inv(X.T @ Vi @ X) @ X.T @ Vi
    blup = G @ Z.T @ P @ y
    np.testing.assert_allclose(fit.school_effect, blup[:J], atol=1e-10)
    np.testing.assert_allclose(fit.class_effect, blup[J:], atol=1e-10)
    L = np.zeros((len(cells), J + len(cells)))
    L[np.arange(len(cells)), cells[:, 0]] = 1
    L[np.arange(len(cells)), J + np.arange(len(cells))] = 1
    pev = G - G @ Z.T @ P @ Z @ G
    cvar = G - G @ Z.T @ Vi @ Z @ G
    np.testing.assert_allclose(fit.school_se, np.sqrt(np.diag(pev)[:J]), atol=1e-10)
    np.testing.assert_allclose(fit.class_se, np.sqrt(np.diag(L @ pev @ L.T)), atol=1e-10)
    np.testing.assert_allclose(fit.class_cond_sd, np.sqrt(np.diag(L @ cvar @ L.T)), atol=1e-10)
    np.testing.assert_allclose(fit.class_total, L @ blup, atol=1e-10)


def test_interval_coverage_close_to_95_percent():
    """200 seeded replications of 40 schools: the share of intervals va ± 1.96 se covering the
    true school effect is 95% within 3 standard errors of the mean of replication coverages
    (replications are independent; schools within one replication are not)."""
    rng = np.random.default_rng(11)
    cover = []
    for _ in range(200):
        J = 40
        nj = rng.integers(10, 40, J)
        school = np.repeat(np.arange(J), nj)
        N = len(school)
        x = rng.normal(size=N)
        u = rng.normal(0, 0.3, J)
        y = 0.7 * x + u[school] + rng.normal(size=N)
        f = reml_fit(CellStats.from_arrays(y, np.column_stack([np.ones(N), x]), school))
        cover.append(np.mean(np.abs(f.school_effect - u) <= 1.96 * f.school_se))
    cover = np.array(cover)
    half = 3 * cover.std(ddof=1) / np.sqrt(len(cover))
    assert abs(cover.mean() - 0.95) < half + 0.005, (cover.mean(), half)


def test_recovers_planted_school_effects(wh):
    c = build_cohort(wh, n_schools=30, students_per_school=80, effect_sd=0.3, seed=7)
    va = value_added(wh, exam="期末", prior_exam="入口", subject="数学")
    assert list(va.columns) == SCHOOL_COLS
    truth = c.school_effects["期末"][va["school_id"].to_numpy() - 1]
    rho = stats.spearmanr(va["va"], truth)[0]
    assert rho > 0.8
    # a planted effect well above zero is flagged above, well below flagged below
    cat = dict(zip(va["school_id"], va["category"], strict=True))
    top, bottom = int(np.argmax(truth)), int(np.argmin(truth))
    assert cat[va["school_id"].iloc[top]] == "above"
    assert cat[va["school_id"].iloc[bottom]] == "below"
    assert set(va["category"]) <= set(CATEGORY_LABELS)


def test_missing_entry_scores_are_counted_not_dropped(wh):
    c = build_cohort(wh, n_schools=6, students_per_school=40, missing_prior=0.1, seed=2)
    va = value_added(wh, exam="期末", prior_exam="入口", subject="数学")
    assert va["n_missing_prior"].sum() == c.n_missing_prior > 0
    assert ((va["n"] + va["n_missing_prior"]) == 40).all()
    res = value_added_model(wh, exam="期末", prior_exam="入口", subject="数学")
    assert res.n_missing_prior == c.n_missing_prior
    assert res.fit.n == 240 - c.n_missing_prior


def test_raw_scale_is_z_scale_times_sd(wh):
    """REML is equivariant under y → a + b y and x → c + d x: va_raw = SD(exit) · va_z."""
    build_cohort(wh, n_schools=8, students_per_school=40, seed=4)
    z = value_added(wh, exam="期末", prior_exam="入口", subject="数学", classes=False)
    raw = value_added(wh, exam="期末", prior_exam="入口", subject="数学", scale="raw",
                      classes=False)
    sd = wh.scalar("SELECT stddev_samp(total) FROM paper_results WHERE paper_id = 2 "
                   "AND status = 'present'")
    np.testing.assert_allclose(raw["va"], sd * z["va"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(raw["se"], sd * z["se"], rtol=1e-5, atol=1e-8)


def test_class_level_total_is_school_plus_within(wh):
    build_cohort(wh, n_schools=6, students_per_school=60, classes_per_school=3, class_sd=0.2,
                 seed=5)
    va = value_added(wh, exam="期末", prior_exam="入口", subject="数学", level="class",
                     covariates=["gender", "ses"])
    assert list(va.columns[:4]) == ["school_id", "school_name", "class_id", "class_name"]
    assert len(va) == 18
    np.testing.assert_allclose(va["va"], va["va_school"] + va["va_within_school"])
    assert (va["ci_low"] < va["va"]).all() and (va["va"] < va["ci_high"]).all()


def _students(wh):
    return wh.df("""
        SELECT s.student_key, s.school_id, c.total AS y, p.total AS x
        FROM students s JOIN paper_results c ON c.student_key = s.student_key AND c.paper_id = 2
        JOIN paper_results p ON p.student_key = s.student_key AND p.paper_id = 1
        WHERE c.status = 'present' AND p.status = 'present' ORDER BY s.student_key""")


def test_residual_method_matches_direct_ols(wh):
    build_cohort(wh, n_schools=5, students_per_school=30, seed=6)
    out = value_added_simple(wh, exam="期末", prior_exam="入口", subject="数学",
                             method="residual", scale="raw")
    d = _students(wh)
    X = np.column_stack([np.ones(len(d)), d["x"]])
    beta, *_ = np.linalg.lstsq(X, d["y"].to_numpy(), rcond=None)
    d["res"] = d["y"] - X @ beta
    s2 = (d["res"] ** 2).sum() / (len(d) - 2)
    # Var(mean residual of school j) = s² · (H_j' (I − X(X'X)⁻¹X') H_j), H_j = 1_j / n_j
    M = np.eye(len(d)) - X @ np.linalg.inv(X.T @ X) @ X.T
    for sid, grp in d.groupby("school_id"):
        h = (d["school_id"] == sid).to_numpy(float) / len(grp)
        row = out.set_index("school_id").loc[sid]
        assert row["va"] == pytest.approx(grp["res"].mean(), abs=1e-9)
        assert row["se"] == pytest.approx(np.sqrt(s2 * h @ M @ h), rel=1e-9)


def test_zchange_and_rankchange_match_pandas(wh):
    build_cohort(wh, n_schools=5, students_per_school=30, seed=8)
    all_scores = wh.df("SELECT paper_id, student_key, total FROM paper_results "
                       "WHERE status = 'present'")
    all_scores["z"] = all_scores.groupby("paper_id")["total"].transform(
        lambda s: (s - s.mean()) / s.std(ddof=1))
    all_scores["pr"] = all_scores.groupby("paper_id")["total"].transform(
        lambda s: 100 * (s.rank(method="min") - 1) / (len(s) - 1))
    w = all_scores.pivot(index="student_key", columns="paper_id", values=["z", "pr"]).dropna()
    w.columns = [f"{a}{b}" for a, b in w.columns]
    d = _students(wh).set_index("student_key").join(w)
    dz = (d["z2"] - d["z1"]).groupby(d["school_id"]).mean()
    dr = (d["pr2"] - d["pr1"]).groupby(d["school_id"]).mean()
    z = value_added_simple(wh, exam="期末", prior_exam="入口", subject="数学", method="zchange")
    r = value_added_simple(wh, exam="期末", prior_exam="入口", subject="数学",
                           method="rankchange")
    np.testing.assert_allclose(z.set_index("school_id")["va"], dz, atol=1e-9)
    np.testing.assert_allclose(r.set_index("school_id")["va"], dr, atol=1e-9)


def test_compare_has_every_method(wh):
    build_cohort(wh, n_schools=6, students_per_school=30, seed=9)
    out = value_added_compare(wh, exam="期末", prior_exam="入口", subject="数学")
    assert set(out["method"]) == {"mlm", "residual", "zchange", "rankchange"}
    assert len(out) == 24
    assert out.groupby("method")["rank"].min().eq(1).all()


def test_pooled_is_precision_weighted(wh):
    build_cohort(wh, n_schools=8, students_per_school=40, exams=("入口", "期中", "期末"),
                 seed=10)
    pairs = [("期中", "入口"), ("期末", "入口")]
    pooled = value_added_pooled(wh, pairs=pairs, subject="数学")
    a, b = (value_added(wh, exam=e, prior_exam=p, subject="数学", classes=False)
            for e, p in pairs)
    wa, wb = 1 / a["se"] ** 2, 1 / b["se"] ** 2
    np.testing.assert_allclose(pooled["va"], (wa * a["va"] + wb * b["va"]) / (wa + wb))
    np.testing.assert_allclose(pooled["se"], 1 / np.sqrt(wa + wb))
    assert (pooled["n_pairs"] == 2).all()
    stab = value_added_stability(wh, pairs=pairs, subject="数学")
    assert stab.loc[0, "r"] == pytest.approx(np.corrcoef(a["va"], b["va"])[0, 1])
    assert stab.loc[0, "ci_low"] < stab.loc[0, "r"] < stab.loc[0, "ci_high"]


def test_categorise_hand_cases():
    va = np.array([0.3, 0.3, -0.3, 0.1, -0.6])
    lo = np.array([0.1, 0.1, -0.5, -0.1, -0.8])
    hi = np.array([0.5, 0.5, -0.1, 0.3, -0.4])
    assert list(categorise(va, lo, hi)) == ["above", "above", "below", "as_expected", "below"]
    assert list(categorise(va, lo, hi, min_effect=0.5)) == [
        "as_expected", "as_expected", "as_expected", "as_expected", "below"]


def test_bad_arguments_raise_input_error(wh):
    build_cohort(wh, n_schools=3, students_per_school=10, seed=1)
    with pytest.raises(InputError):
        value_added(wh, exam="期末", prior_exam="入口", subject="数学", scale="t")
    with pytest.raises(InputError):
        value_added(wh, exam="期末", prior_exam="入口", subject="数学", covariates=["iq"])
