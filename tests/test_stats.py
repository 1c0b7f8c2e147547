"""The pure statistics package: each shared definition is checked against its source once."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analytics.stats.intervals import Z95, feldt_interval, normal_interval, t_half_width, wilson
from analytics.stats.items import (
    DIFFICULTY_BANDS,
    KELLEY_SHARE,
    difficulty_band,
    difficulty_band_sql,
    discrimination_band,
    kelley_group_size,
    kelley_rank_sql,
    kelley_size_sql,
)
from analytics.stats.reliability import alpha_from_variances


def test_z95_is_the_normal_quantile():
    assert float(sps.norm.ppf(0.975)) == Z95
    lo, hi = normal_interval(np.array([1.0]), np.array([0.5]))
    assert lo[0] == 1.0 - Z95 * 0.5 and hi[0] == 1.0 + Z95 * 0.5


def test_kelley_size_python_and_sql_agree_with_round_half_up():
    n = np.arange(0, 5001)
    con = duckdb.connect()
    sql = con.execute(
        f"SELECT n, {kelley_size_sql('n')} AS g, "
        f"{kelley_size_sql('n', share=repr(KELLEY_SHARE), at_least=1)} AS g1, "
        "CAST(round(0.27 * n) AS BIGINT) AS r FROM range(0, 5001) t(n) ORDER BY n",
        {"share": KELLEY_SHARE}).df()
    assert (sql["g"].to_numpy() == kelley_group_size(n)).all()
    assert (sql["g"].to_numpy() == sql["r"].to_numpy()).all()      # round half up
    assert (sql["g1"].to_numpy() == kelley_group_size(n, at_least=1)).all()
    assert kelley_group_size(1) == 0 and kelley_group_size(1, at_least=1) == 1
    assert kelley_group_size(100) == 27 and kelley_group_size(50) == 14


def test_kelley_rank_breaks_ties_by_student_key():
    con = duckdb.connect()
    df = con.execute(f"""
        SELECT student_key, {kelley_rank_sql()} AS rk
        FROM (VALUES (3, 10.0), (1, 10.0), (2, 12.0), (4, 5.0)) pr(student_key, total)
        ORDER BY rk""").df()
    assert df["student_key"].tolist() == [2, 1, 3, 4]


def test_difficulty_band_sql_equals_python():
    rates = np.array([np.nan, 0.0, 0.19999, 0.2, 0.39, 0.4, 0.6999, 0.7, 0.9, 0.90001, 1.0])
    py = difficulty_band(rates).tolist()
    con = duckdb.connect()
    con.register("r", pd.DataFrame({"i": range(len(rates)), "x": rates}))
    sql = con.execute(f"SELECT {difficulty_band_sql('x')} AS b FROM r ORDER BY i").df()
    got = [None if v is None or v != v else v for v in sql["b"].tolist()]
    assert got == py
    assert py[1:] == ["very_hard", "very_hard", "hard", "hard", "medium", "medium", "easy",
                      "easy", "very_easy", "very_easy"]
    assert set(py[1:]) == set(DIFFICULTY_BANDS)
    # a Series keeps its index
    s = pd.Series([0.95, np.nan], index=[7, 9])
    assert difficulty_band(s).index.tolist() == [7, 9]
    assert discrimination_band(pd.Series([0.4, 0.3, 0.2, 0.1, np.nan])).tolist() == [
        "very_good", "good", "acceptable", "poor", None]


def test_feldt_interval_and_alpha():
    # Feldt (1965) with F quantiles, as psych::alpha.ci
    a, n, k = 0.8, 200, 10
    lo, hi = feldt_interval(a, n, k)
    d1, d2 = n - 1, (n - 1) * (k - 1)
    assert float(lo) == pytest.approx(1 - (1 - a) * sps.f.ppf(0.975, d1, d2), abs=1e-15)
    assert float(hi) == pytest.approx(1 - (1 - a) * sps.f.ppf(0.025, d1, d2), abs=1e-15)
    lo, hi = feldt_interval(np.array([0.5, 0.5]), np.array([1, 10]), np.array([5, 1]))
    assert np.isnan(lo).all() and np.isnan(hi).all()
    assert float(alpha_from_variances(4, 2.0, 5.0)) == pytest.approx(4 / 3 * (1 - 2 / 5))
    assert np.isnan(alpha_from_variances(1, 2.0, 5.0))
    assert np.isnan(alpha_from_variances(3, 0.0, 0.0))


def test_wilson_and_t_interval():
    lo, hi = wilson(np.array([0, 5]), np.array([10, 10]))
    assert lo[0] == pytest.approx(0.0, abs=1e-15) and 0 < hi[0] < 0.35
    assert lo[1] < 0.5 < hi[1] and lo[1] + hi[1] == pytest.approx(1.0)
    half = t_half_width(np.array([2.0, 1.0]), np.array([16, 1]))
    assert half[0] == pytest.approx(sps.t.ppf(0.975, 15) * 2.0 / 4.0)
    assert np.isnan(half[1])


def test_domain_labels_cover_every_code_in_both_languages():
    from analytics.domain import label
    from analytics.domain.bands import DIFFICULTY_BANDS as BANDS
    from analytics.domain.bands import DISCRIMINATION_BANDS, GRADE_BANDS, LINES
    from analytics.domain.items import ITEM_TYPES, OBJECTIVE_TYPES
    from analytics.domain.labels import LABELS
    from analytics.stats.items import FLAG_CODES

    assert BANDS == DIFFICULTY_BANDS and set(OBJECTIVE_TYPES) < set(ITEM_TYPES)
    for kind, codes in (("item_type", ITEM_TYPES), ("difficulty", BANDS),
                        ("discrimination", DISCRIMINATION_BANDS), ("grade_band", GRADE_BANDS),
                        ("line", LINES), ("flag", tuple(FLAG_CODES))):
        assert tuple(LABELS[kind]) == tuple(codes), kind
    for kind, codes in LABELS.items():
        for code, (zh, en) in codes.items():
            assert label(kind, code) == zh and label(kind, code, "en") == en
            assert (zh and en and zh != en) or kind == "grade_band"
    assert label("item_type", "single") == "单选"
    assert label("flag", "possible_wrong_key", "en").startswith("a distractor attracts")
    assert label("gender", "X") == "X"                      # unknown codes pass through
    with pytest.raises(KeyError):
        label("no_such_kind", "x")
    with pytest.raises(ValueError):
        label("gender", "M", "fr")
    assert FLAG_CODES["too_easy"] == "过易 / too easy (P > .90)"
