"""DIF (analytics.stats.irt.dif): Mantel–Haenszel against statsmodels' StratifiedTable (an
independent implementation of α_MH, the Robins–Breslow–Greenland SE and the corrected χ²), a
hand-computed standardised mean difference, and simulations: a planted item is found, null
items are not flagged beyond the nominal rate."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.stats.irt.dif import dif, ets_class, mantel_haenszel, standardised_mean_difference


def simulate(rng: np.random.Generator, n: int, k: int = 20, shift: float = 0.0,
             item: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """2PL responses; the focal group (half) finds ``item`` harder by ``shift`` in b."""
    a = np.linspace(0.8, 1.8, k)
    b = np.linspace(-1.5, 1.5, k)
    group = (np.arange(n) % 2).astype(float)
    theta = rng.normal(size=n)
    bb = np.tile(b, (n, 1))
    bb[group == 1, item] += shift
    p = 1 / (1 + np.exp(-a * (theta[:, None] - bb)))
    return (rng.random(p.shape) < p).astype(float), group


def test_mantel_haenszel_matches_statsmodels() -> None:
    ct = pytest.importorskip("statsmodels.stats.contingency_tables")
    rng = np.random.default_rng(1)
    x, g = simulate(rng, 3000, shift=0.6)
    total = x.sum(axis=1)
    y = x[:, 4]
    tables = []
    for s in np.unique(total):
        m = total == s
        t = np.array([[((g == 0) & (y == 1) & m).sum(), ((g == 0) & (y == 0) & m).sum()],
                      [((g == 1) & (y == 1) & m).sum(), ((g == 1) & (y == 0) & m).sum()]])
        if (t.sum(axis=1) > 0).all():
            tables.append(t)
    ref = ct.StratifiedTable(np.dstack(tables).astype(float))
    ours = mantel_haenszel(y, g, total)
    assert ours["alpha_mh"] == pytest.approx(ref.oddsratio_pooled, rel=1e-10)
    assert ours["se"] == pytest.approx(2.35 * ref.logodds_pooled_se, rel=1e-10)
    assert ours["chi2"] == pytest.approx(ref.test_null_odds(correction=True).statistic, rel=1e-10)
    assert ours["mh_d_dif"] == pytest.approx(-2.35 * np.log(ref.oddsratio_pooled))


def test_smd_hand_computed() -> None:
    # stratum 1: ref scores 0, 2 (mean 1), focal 1 (mean 1); stratum 2: ref 2 (2), focal 0, 2 (1)
    y = np.array([0, 2, 1, 2, 0, 2], float)
    g = np.array([0, 0, 1, 0, 1, 1], float)
    t = np.array([1, 1, 1, 2, 2, 2], float)
    res = standardised_mean_difference(y, g, t)
    # weights n_F per stratum: 1/3, 2/3; differences 0 and −1
    assert res["smd"] == pytest.approx(-2 / 3)


def test_ets_classes() -> None:
    assert ets_class(0.9, 0.1, 0.001) == "A"
    assert ets_class(-2.0, 0.2, 0.5) == "A"          # not significant
    assert ets_class(-1.6, 0.2, 0.001) == "C"
    assert ets_class(1.6, 0.5, 0.001) == "B"          # |D| ≥ 1.5 but not significantly above 1
    assert ets_class(1.2, 0.1, 0.001) == "B"


@pytest.mark.parametrize("method", ["mh", "logistic"])
def test_planted_dif_item_found(method: str) -> None:
    rng = np.random.default_rng(2)
    x, g = simulate(rng, 4000, shift=1.0)
    res = dif(x, g, method=method)
    planted = res.loc[4]
    assert planted["ets_class"] in ("B", "C")
    assert planted["favours"] == "reference"          # harder for the focal group
    assert planted["q"] < 0.01
    assert planted["mh_d_dif"] < -1 and planted["se"] > 0
    if method == "logistic":
        assert planted["delta_r2"] > 0 and res["se"].notna().all()
    others = res.drop(index=4)
    assert (others["ets_class"] == "A").mean() >= 0.9
    assert bool(res["purified"].all())


@pytest.mark.parametrize("method", ["mh", "logistic"])
def test_null_items_at_nominal_rate(method: str) -> None:
    rng = np.random.default_rng(3)
    hits, tests = 0, 0
    for _ in range(8):
        x, g = simulate(rng, 1500)
        res = dif(x, g, method=method, purify=False)
        hits += int((res["p"] < 0.05).sum())
        tests += len(res)
    rate = hits / tests
    # 160 tests: 0.05 + 2.5 binomial SDs
    assert rate <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / tests)


def test_polytomous_item_by_smd() -> None:
    rng = np.random.default_rng(4)
    x, g = simulate(rng, 4000, k=15)
    theta_proxy = x.sum(axis=1)
    # a 0–3 item harder for the focal group by about one point in four
    latent = (theta_proxy - theta_proxy.mean()) / theta_proxy.std() + rng.normal(size=4000)
    latent = latent - 0.8 * g
    poly = np.digitize(latent, [-1.0, 0.0, 1.0]).astype(float)
    res = dif(np.column_stack([x, poly]), g)
    row = res.iloc[-1]
    assert row["ets_class"] in ("BB", "CC")
    assert row["smd"] < 0 and row["favours"] == "reference"
    assert np.isnan(row["mh_d_dif"])
