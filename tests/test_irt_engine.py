"""The IRT engine (analytics.stats.irt) against independent references.

* Published: R ltm's fits of LSAT-6 (Bock & Lieberman 1970; tests/reference/lsat6.csv), as printed
  in Rizopoulos (2006), J. Stat. Softw. 17(5), §3 and ltm's help pages: 2PL ``ltm(LSAT ~ z1)``
  log-lik −2466.653, (b, a) = (−3.360, 0.825), (−1.370, 0.723), (−0.280, 0.890), (−1.866, 0.689),
  (−3.124, 0.657); Rasch with a common slope ``rasch(LSAT)`` log-lik −2466.938, a = 0.755,
  b = −3.615, −1.322, −0.318, −1.730, −2.780.
* Oracle: the ``mirt`` package on PyPI (test-only dependency), fitted at equal settings
  (21 Gauss–Hermite nodes, θ ~ N(0, 1)).
* Parameter recovery on seeded simulations; closed forms for the 2PL information.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.stats.irt.calibrate import calibrate

REF = Path(__file__).parent / "reference"
LTM_2PL_B = [-3.360, -1.370, -0.280, -1.866, -3.124]
LTM_2PL_A = [0.825, 0.723, 0.890, 0.689, 0.657]
LTM_RASCH_B = [-3.615, -1.322, -0.318, -1.730, -2.780]


def lsat6() -> np.ndarray:
    return pd.read_csv(REF / "lsat6.csv").to_numpy()


def simulate_2pl(rng: np.random.Generator, n: int, a: np.ndarray, b: np.ndarray,
                 c: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    theta = rng.normal(size=n)
    p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
    if c is not None:
        p = c + (1 - c) * p
    return (rng.random(p.shape) < p).astype(int), theta


def simulate_grm(rng: np.random.Generator, theta: np.ndarray, a: float, b: list[float]
                 ) -> np.ndarray:
    star = 1 / (1 + np.exp(-a * (theta[:, None] - np.asarray(b)[None, :])))
    return (rng.random(theta.size)[:, None] < star).sum(axis=1)


def test_lsat6_2pl_matches_ltm_published() -> None:
    cal = calibrate(lsat6(), "2pl")
    items = cal.item_table()
    assert cal.fit_table().loglik[0] == pytest.approx(-2466.653, abs=2e-3)
    np.testing.assert_allclose(items.b, LTM_2PL_B, atol=2e-3)
    np.testing.assert_allclose(items.a, LTM_2PL_A, atol=2e-3)
    assert bool(cal.fit_table().converged[0])


def test_lsat6_rasch_matches_ltm_published() -> None:
    cal = calibrate(lsat6(), "rasch")
    items = cal.item_table()
    assert cal.fit_table().loglik[0] == pytest.approx(-2466.938, abs=2e-3)
    np.testing.assert_allclose(items.b, LTM_RASCH_B, atol=2e-3)
    np.testing.assert_allclose(items.a, 0.755, atol=2e-3)
    assert cal.fit_table().n_par[0] == 6            # one slope, five intercepts


def test_lsat6_2pl_and_ses_match_mirt_package() -> None:
    mirt = pytest.importorskip("mirt")
    ref = mirt.fit_mirt(lsat6(), model="2PL", tol=1e-6)
    cal = calibrate(lsat6(), "2pl", tol=1e-6)
    items = cal.item_table()
    # LSAT-6's likelihood is flat in b (SE up to 0.87): the two optima differ by < 0.005 in b,
    # and ours is not lower
    assert cal.fit_table().loglik[0] >= ref.log_likelihood - 1e-5
    np.testing.assert_allclose(items.a, ref.model.parameters["discrimination"], atol=2e-3)
    np.testing.assert_allclose(items.b, ref.model.parameters["difficulty"], atol=5e-3)
    np.testing.assert_allclose(items.a_se, ref.standard_errors["discrimination"], rtol=0.01)
    np.testing.assert_allclose(items.b_se, ref.standard_errors["difficulty"], rtol=0.01)


@pytest.fixture(scope="module")
def poly() -> np.ndarray:
    rng = np.random.default_rng(3)
    theta = rng.normal(size=2000)
    pars: list[tuple[float, list[float]]] = [(1.0, [-1, 0, 1]), (1.4, [-0.5, 0.3, 1.2]),
                                             (0.9, [-1.5, -0.5, 0.5])]
    cols = [simulate_grm(rng, theta, a, b) for a, b in pars]
    return np.column_stack(cols)


@pytest.mark.parametrize("model, name, key", [("grm", "GRM", "thresholds"),
                                               ("gpcm", "GPCM", "steps")])
def test_polytomous_match_mirt_package(poly: np.ndarray, model: str, name: str, key: str
                                       ) -> None:
    mirt = pytest.importorskip("mirt")
    ref = mirt.fit_mirt(poly, model=name, tol=1e-6)
    cal = calibrate(poly, model, tol=1e-6)
    items = cal.item_table()
    assert cal.fit_table().loglik[0] == pytest.approx(ref.log_likelihood, abs=0.05)
    np.testing.assert_allclose(items.a, ref.model.parameters["discrimination"], atol=5e-3)
    np.testing.assert_allclose(items[["b_1", "b_2", "b_3"]].to_numpy(),
                               ref.model.parameters[key], atol=0.02)


def test_2pl_recovery_with_missing_answers() -> None:
    rng = np.random.default_rng(11)
    a = rng.uniform(0.6, 2.0, 12)
    b = rng.normal(0, 1, 12)
    x, _ = simulate_2pl(rng, 6000, a, b)
    x = np.where(rng.random(x.shape) < 0.15, -1, x)      # missing at random
    items = calibrate(x, "2pl").item_table()
    assert np.abs(items.a - a).max() < 0.2
    assert np.abs(items.b - b).max() < 0.2
    # the SEs describe the spread: standardised errors of a size a normal would give
    z = np.concatenate([(items.a - a) / items.a_se, (items.b - b) / items.b_se])
    assert np.abs(z).max() < 4


def test_3pl_recovery_with_prior_on_c() -> None:
    rng = np.random.default_rng(5)
    a = np.full(10, 1.5)
    b = np.linspace(-1, 1.5, 10)
    c = np.full(10, 0.2)
    x, _ = simulate_2pl(rng, 8000, a, b, c)
    items = calibrate(x, "3pl").item_table()
    assert np.abs(items.c - 0.2).mean() < 0.05
    assert np.abs(items.b - b).mean() < 0.2
    assert items.c_se.notna().all()


def test_mixed_paper_dichotomous_and_graded() -> None:
    rng = np.random.default_rng(8)
    a = np.array([1.2, 0.8, 1.5, 1.0])
    b = np.array([-1.0, 0.0, 0.5, 1.0])
    x, theta = simulate_2pl(rng, 4000, a, b)
    g = simulate_grm(rng, theta, 1.2, [-0.5, 0.5])
    cal = calibrate(np.column_stack([x, g]), "auto")
    items = cal.item_table()
    assert list(items.model) == ["2pl"] * 4 + ["grm"]
    assert np.abs(items.a[:4] - a).max() < 0.2
    assert items.loc[4, "a"] == pytest.approx(1.2, abs=0.2)
    assert items.loc[4, ["b_1", "b_2"]].to_numpy(float) == pytest.approx([-0.5, 0.5], abs=0.15)


def test_information_and_scores() -> None:
    cal = calibrate(lsat6(), "2pl")
    items = cal.item_table()
    info = cal.information(np.array([-1.0, 0.0, 1.0]))
    p = 1 / (1 + np.exp(-items.a.to_numpy()[None] * (info.theta.to_numpy()[:, None]
                                                        - items.b.to_numpy()[None])))
    closed = (items.a.to_numpy()[None] ** 2 * p * (1 - p)).sum(axis=1)
    np.testing.assert_allclose(info["info"], closed, rtol=1e-6)
    np.testing.assert_allclose(info["sem"], 1 / np.sqrt(closed), rtol=1e-6)
    scores = cal.person_scores()
    assert len(scores) == 1000
    # all-correct scores above all-wrong; the EAP of the same pattern is the same
    x = lsat6()
    assert scores.theta[x.sum(axis=1) == 5].min() > scores.theta[x.sum(axis=1) == 0].max()
    assert (scores.se > 0).all() and (scores.se_map > 0).all()


def test_eap_matches_mirt_package() -> None:
    mirt = pytest.importorskip("mirt")
    x = lsat6()
    ref = mirt.fit_mirt(x, model="2PL", tol=1e-6)
    res = mirt.fscores(ref, x, method="EAP", n_quadpts=121)
    ours = calibrate(x, "2pl", tol=1e-6).person_scores("eap")
    theta = np.asarray(res.theta).reshape(-1)
    np.testing.assert_allclose(ours.theta, theta, atol=5e-3)


def test_crossprod_ses_match_mirt_package() -> None:
    mirt = pytest.importorskip("mirt")
    ref = mirt.fit_mirt(lsat6(), model="2PL", se_method="crossprod")
    cal = calibrate(lsat6(), "2pl", se="crossprod")
    items = cal.item_table()
    assert cal.fit_table().se_method[0] == "crossprod"
    np.testing.assert_allclose(items.a_se, ref.standard_errors["discrimination"], rtol=0.02)
    np.testing.assert_allclose(items.b_se, ref.standard_errors["difficulty"], rtol=0.02)


def test_single_precision_iterations_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.stats.irt import em
    double = calibrate(lsat6(), "2pl", se="none").item_table()
    monkeypatch.setattr(em, "SINGLE_FROM", 0)          # float32 EM iterations on LSAT-6
    single = calibrate(lsat6(), "2pl", se="none")
    np.testing.assert_allclose(single.item_table().a, double.a, atol=2e-3)
    np.testing.assert_allclose(single.item_table().b, double.b, atol=1e-2)
    assert single.fit_table().loglik[0] == pytest.approx(-2466.653, abs=2e-3)


@pytest.mark.parametrize("model, name", [("2pl", "2PL"), ("grm", "GRM")])
def test_item_fit_matches_mirt_package(poly: np.ndarray, model: str, name: str) -> None:
    mirt = pytest.importorskip("mirt")
    x = lsat6() if model == "2pl" else poly
    ref = mirt.itemfit(mirt.fit_mirt(x, model=name), x, statistics=["S_X2", "infit", "outfit"])
    ours = calibrate(x, model).item_fit()
    np.testing.assert_array_equal(ours.s_x2_df, ref["df"])
    np.testing.assert_allclose(ours.s_x2, ref["S_X2"], rtol=0.02, atol=0.01)
    if model == "2pl":
        np.testing.assert_allclose(ours.infit, ref["infit"], atol=0.01)
        np.testing.assert_allclose(ours.outfit, ref["outfit"], atol=0.01)


def test_item_curves_and_figures() -> None:
    from analytics.stats.irt.calibrate import item_curves
    from dashboards.irt_figures import icc_figure, information_figure
    cal = calibrate(lsat6(), "2pl")
    items = cal.item_table()
    curves = item_curves(items, np.array([-1.0, 0.0, 1.0]))
    first = curves[curves["item"] == "Q1"]
    a, b = float(items["a"].iloc[0]), float(items["b"].iloc[0])
    np.testing.assert_allclose(first.expected_rate, 1 / (1 + np.exp(-a * (first.theta - b))))
    np.testing.assert_allclose(first["info"], a**2 * first.expected_rate
                               * (1 - first.expected_rate), rtol=1e-6)
    fig = icc_figure(item_curves(items))
    assert len(fig.data) == 5
    assert len(information_figure(cal.information()).data) == 2


def test_wle_and_map_match_mirt_package() -> None:
    mirt = pytest.importorskip("mirt")
    x = lsat6()
    ref = mirt.fit_mirt(x, model="2PL", tol=1e-6)
    ours = calibrate(x, "2pl", tol=1e-6).person_scores()
    for method, col in (("WLE", "theta_wle"), ("MAP", "theta_map")):
        res = mirt.fscores(ref, x, method=method)
        np.testing.assert_allclose(ours[col], np.asarray(res.theta).reshape(-1), atol=0.02)
