"""Cronbach's α, SEM, Feldt interval and α if deleted: against R psych and a direct numpy
implementation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import build_from_matrix
from scipy import stats as sps

from analytics.items import item_stats
from analytics.reliability import cronbach_alpha

REF = Path(__file__).parent / "reference"


def _load(wh, name: str, max_score: float):
    data = pd.read_csv(REF / f"{name}.csv")
    items = [{"label": c, "item_type": "constructed", "max_score": max_score}
             for c in data.columns]
    build_from_matrix(wh, data.to_numpy(dtype=float), items=items, exam=name,
                      district=f"{name}区")
    return data


@pytest.mark.parametrize(("name", "max_score"), [("lsat6", 1.0), ("bfi_a2_a5", 6.0)])
def test_alpha_matches_psych(wh, name, max_score):
    data = _load(wh, name, max_score)
    total = pd.read_csv(REF / "psych_alpha_total.csv").set_index("dataset").loc[name]
    items = pd.read_csv(REF / "psych_alpha_items.csv").query("dataset == @name")
    res = cronbach_alpha(wh, exam=name, subject="数学", level="district")
    assert list(res.columns) == ["district_id", "district_name", "n", "k", "mean", "sd",
                                 "alpha", "sem", "ci_low", "ci_high", "sum_item_var"]
    row = res.iloc[0]
    # psych::alpha(x, check.keys = FALSE)$total$raw_alpha
    assert row["alpha"] == pytest.approx(total["raw_alpha"], abs=1e-10)
    assert row["n"] == total["n"] and row["k"] == total["k"]
    # psych reports the scale as the item mean: sum-score mean / k and sd / k
    assert row["mean"] / row["k"] == pytest.approx(total["scale_mean"], abs=1e-10)
    assert row["sd"] / row["k"] == pytest.approx(total["scale_sd"], abs=1e-10)
    # psych::alpha(...)$feldt (alpha.ci: Feldt 1965)
    assert row["ci_low"] == pytest.approx(total["feldt_lower"], abs=1e-8)
    assert row["ci_high"] == pytest.approx(total["feldt_upper"], abs=1e-8)
    # SEM = sd * sqrt(1 - alpha)
    assert row["sem"] == pytest.approx(row["sd"] * np.sqrt(1 - total["raw_alpha"]), rel=1e-12)
    st = item_stats(wh, exam=name, subject="数学", level="district")
    assert list(st["item_label"]) == list(data.columns)
    # psych: item.stats$raw.r, item.stats$r.drop, alpha.drop$raw_alpha, item.stats$mean
    np.testing.assert_allclose(st["r_item_total"], items["raw_r"], atol=1e-10)
    np.testing.assert_allclose(st["r_item_rest"], items["r_drop"], atol=1e-10)
    np.testing.assert_allclose(st["alpha_if_deleted"], items["alpha_if_deleted"], atol=1e-10)
    np.testing.assert_allclose(st["mean_score"], items["mean"], atol=1e-10)
    np.testing.assert_allclose(st["sd_score"], items["sd"], atol=1e-10)


def _numpy_alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_alpha_per_school_matches_numpy(wh):
    rng = np.random.default_rng(42)
    n, k = 240, 7
    theta = rng.normal(size=n)
    maxes = np.array([1, 1, 1, 2, 3, 5, 10], dtype=float)
    p = 1 / (1 + np.exp(-(theta[:, None] - rng.normal(size=k))))
    x = rng.binomial(maxes.astype(int), p).astype(float)
    omit = rng.random((n, k)) < 0.05
    x_stored = np.where(omit, np.nan, x)
    school = rng.integers(0, 4, n)
    items = [{"label": f"Q{j + 1}", "item_type": "constructed", "max_score": m}
             for j, m in enumerate(maxes)]
    built = build_from_matrix(wh, x_stored, items=items, school_of=school)
    res = cronbach_alpha(wh, exam="矩阵测试", subject="数学", level="school")
    x0 = np.where(omit, 0.0, x)  # omissions score 0
    for s in range(4):
        xs = x0[school == s]
        row = res[res["school_id"] == built["school_ids"][s]].iloc[0]
        a = _numpy_alpha(xs)
        assert row["n"] == len(xs)
        assert row["alpha"] == pytest.approx(a, abs=1e-10)
        sd = xs.sum(axis=1).std(ddof=1)
        assert row["sd"] == pytest.approx(sd, rel=1e-10)
        assert row["sem"] == pytest.approx(sd * np.sqrt(1 - a), rel=1e-9)
        m = len(xs)
        f_hi = sps.f.ppf(0.975, m - 1, (m - 1) * (k - 1))
        assert row["ci_low"] == pytest.approx(1 - (1 - a) * f_hi, abs=1e-9)
        # alpha if deleted: numpy on the matrix without column j
        st = item_stats(wh, exam="矩阵测试", subject="数学", level="school",
                        school=built["school_ids"][s])
        expect = [_numpy_alpha(np.delete(xs, j, axis=1)) for j in range(k)]
        np.testing.assert_allclose(st["alpha_if_deleted"], expect, atol=1e-10)


def test_alpha_undefined_for_tiny_units(wh):
    # a school of one student: no variance, alpha NaN, no exception
    x = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=float)
    items = [{"label": str(j), "item_type": "constructed", "max_score": 1} for j in range(3)]
    build_from_matrix(wh, x, items=items, school_of=[0, 0, 0, 1])
    res = cronbach_alpha(wh, exam="矩阵测试", subject="数学", level="school")
    assert res["n"].tolist() == [3, 1]
    assert np.isnan(res["alpha"].iloc[1]) and np.isnan(res["sem"].iloc[1])
    assert res["alpha"].iloc[0] == pytest.approx(_numpy_alpha(x[:3]), abs=1e-12)
