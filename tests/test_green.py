"""Green indicators: level arithmetic and rules on hand cases, α against a direct computation,
SQL shares against pandas, equity against the balanced-ANOVA closed form, SES against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.green import (
    feldt_ci,
    green_indicators,
    index_level,
    light_burden,
    load_scales,
    scale_reliability,
    wilson,
)
from tests.va_fixture import add_survey, build_cohort, random_survey

COLS = ["district_id", "district_name", "indicator", "name", "n", "value", "ci_low", "ci_high",
        "index_level"]


def test_index_level_hand_cases():
    # clamp(floor(share × 10), 1, 9)
    shares = [0.0, 0.05, 0.1, 0.19, 0.7, 0.6999, 0.95, 1.0, -0.4]
    assert list(index_level(shares)) == [1, 1, 1, 1, 7, 6, 9, 9, 1]
    # attainment (issue 16) the pass share: 10% fail → 0.9 → level 9; 40% fail → 0.6 → 6
    assert list(index_level(1 - np.array([0.1, 0.04, 0.4, 0.95]))) == [9, 9, 6, 1]
    assert np.isnan(index_level(np.nan))


def test_light_burden_rule_hand_cases():
    assert light_burden(7.0, 1.5, 5.0) is True        # sleep and homework hold
    assert light_burden(6.5, 2.0, 3.5) is False       # only tutoring holds
    assert light_burden(8.0, 3.0, 4.0) is False       # only sleep
    assert light_burden(6.0, 1.0, 1.0) is True
    assert light_burden(None, 1.0, 1.0) is True       # two hold: missing sleep does not matter
    assert light_burden(None, 1.0, 6.0) is None       # one holds, one fails, one unknown
    assert light_burden(None, 3.0, 6.0) is False


def _one_school(wh, n):
    build_cohort(wh, n_schools=2, students_per_school=n // 2, seed=0)


def test_burden_share_matches_rule(wh):
    _one_school(wh, 8)
    ans = pd.DataFrame({
        "student_key": np.arange(1, 9),
        "睡眠时间": [7.0, 6.5, 8.0, 6.0, np.nan, np.nan, np.nan, 9.0],
        "作业时间": [1.5, 2.0, 3.0, 1.0, 1.0, 1.0, 3.0, 1.9],
        "校外辅导时间": [5.0, 3.5, 4.0, 1.0, 1.0, 6.0, 6.0, 3.9],
    })
    add_survey(wh, ans)
    expect = [light_burden(*(None if pd.isna(v) else v for v in r))
              for r in ans[["睡眠时间", "作业时间", "校外辅导时间"]].itertuples(index=False)]
    settled = [e for e in expect if e is not None]
    g = green_indicators(wh, level="district").set_index("indicator")
    assert g.loc["burden", "n"] == len(settled) == 7
    assert g.loc["burden", "value"] == pytest.approx(sum(settled) / len(settled))
    assert g.loc["burden", "index_level"] == int(np.clip(np.floor(10 * sum(settled) / 7), 1, 9))


def test_favourable_rule_hand_case(wh):
    """学习动力 (6 items, 学习动力4 reverse-keyed, favourable ≥ 4): a student is favourable when
    more than 60% of answered items are favourable."""
    _one_school(wh, 4)
    q = [f"学习动力{i}" for i in range(1, 7)]
    rows = [
        [5, 4, 4, 2, 3, 3],          # 4 of 6 favourable (item 4: 2 → 4) = 0.667 > 0.6 → yes
        [5, 4, 3, 3, 3, 4],          # 3 of 6 = 0.5 → no
        [5, 4, 4, np.nan, 2, np.nan],  # 3 of 4 answered = 0.75 → yes
        [5, np.nan, np.nan, np.nan, np.nan, 1],  # 2 of 6 answered < half → not scored
    ]
    ans = pd.DataFrame(rows, columns=q)
    ans.insert(0, "student_key", np.arange(1, 5))
    add_survey(wh, ans)
    g = green_indicators(wh, level="district").set_index("indicator")
    assert g.loc["motivation", "n"] == 3
    assert g.loc["motivation", "value"] == pytest.approx(2 / 3)
    assert g.loc["motivation", "index_level"] == 6


def test_alpha_matches_direct_computation(wh):
    build_cohort(wh, n_schools=4, students_per_school=50, seed=1)
    ans = random_survey(200, seed=3)
    add_survey(wh, ans)
    rel = scale_reliability(wh)
    assert list(rel.columns) == ["scale", "name", "k", "n", "alpha", "ci_low", "ci_high"]
    cfg = load_scales()
    for s in cfg.scales:
        items = ans[s["items"]].dropna()
        # reverse-keying changes α; apply it as the config says: v → 6 − v
        for r in s.get("reverse", []):
            items[r] = 6 - items[r]
        C = np.cov(items.to_numpy().T, ddof=1)
        k = len(s["items"])
        alpha = k / (k - 1) * (1 - np.trace(C) / C.sum())
        row = rel.set_index("scale").loc[s["code"]]
        assert row["n"] == len(items)
        assert row["alpha"] == pytest.approx(alpha, abs=1e-10)
        assert row["ci_low"] < row["alpha"] < row["ci_high"]


def test_feldt_interval_closed_form():
    # Feldt (1965): n = 101, k = 5, α = 0.8 → 1 − 0.2 · F(.975; 100, 400) … 1 − 0.2 · F(.025; …)
    lo, hi = feldt_ci(0.8, 101, 5)
    assert lo == pytest.approx(1 - 0.2 * stats.f.ppf(0.975, 100, 400))
    assert hi == pytest.approx(1 - 0.2 * stats.f.ppf(0.025, 100, 400))


def test_wilson_interval_known_value():
    # Wilson (1927) for 8/10: (0.4902, 0.9433) (Newcombe 1998, Table I)
    lo, hi = wilson(np.array([8]), np.array([10]))
    assert lo[0] == pytest.approx(0.4902, abs=1e-4)
    assert hi[0] == pytest.approx(0.9433, abs=1e-4)


def test_attainment_ses_and_equity(wh):
    build_cohort(wh, n_schools=6, students_per_school=40, missing_prior=0.0, seed=5)
    g = green_indicators(wh, exam="期末", subject="数学", level="district")
    assert list(g.columns) == COLS
    g = g.set_index("indicator")
    d = wh.df("SELECT s.school_id, s.ses, pr.total FROM paper_results pr JOIN students s "
              "USING (student_key) WHERE pr.paper_id = 2 AND pr.status = 'present'")
    fail = (d["total"] < 0.6 * 150).mean()
    assert g.loc["attainment", "value"] == pytest.approx(1 - fail)   # the pass share (issue 16)
    assert g.loc[["attainment_A", "attainment_B", "attainment_C", "attainment_D"],
                 "value"].sum() == pytest.approx(1)
    z = (d["total"] - d["total"].mean()) / d["total"].std(ddof=1)
    lr = stats.linregress(d["ses"], z)
    assert g.loc["ses_slope", "value"] == pytest.approx(lr.slope)
    assert g.loc["ses_r2", "value"] == pytest.approx(lr.rvalue**2)
    assert g.loc["ses_influence", "value"] == pytest.approx(1 - 2.5 * lr.rvalue**2)
    # balanced groups: the REML between-school variance equals the ANOVA estimator
    # (MSB − MSW)/n when positive (Searle, Casella & McCulloch 1992, §3.6)
    d["z"] = z
    k, m = 6, 40
    msb = m * d.groupby("school_id")["z"].mean().var(ddof=1)
    msw = d.groupby("school_id")["z"].var(ddof=1).mean()
    s2b = (msb - msw) / m
    icc = s2b / (s2b + msw)
    assert s2b > 0
    assert g.loc["equity", "value"] == pytest.approx(1 - 2.5 * icc, abs=1e-6)
    assert k == d["school_id"].nunique()


def test_school_level_has_no_equity_and_one_row_per_school_indicator(wh):
    build_cohort(wh, n_schools=3, students_per_school=30, seed=6)
    add_survey(wh, random_survey(90, seed=1))
    g = green_indicators(wh, exam="期末", subject="数学", level="school")
    assert "equity" not in set(g["indicator"])
    assert not g.duplicated(["school_id", "indicator"]).any()
    assert set(g["school_id"]) == {1, 2, 3}


def test_bad_config_is_an_input_error(tmp_path):
    from analytics.errors import InputError

    p = tmp_path / "s.toml"
    p.write_text('[[scale]]\ncode = "x"\nname = "x"\nitems = ["a"]\nthreshold = 4\n'
                 'reverse = ["b"]\n', encoding="utf-8")
    with pytest.raises(InputError):
        load_scales(p)
