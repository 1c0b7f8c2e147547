"""Item statistics: a 10 × 4 analysis worked by hand, numpy on random data, Moodle's
efficiency and weight, planted wrong key and distractor, tiny groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import build_exam, build_from_matrix

from analytics.display import prepare
from analytics.items import item_stats, option_analysis

HAND_ITEMS = [
    {"label": "1", "item_type": "single", "max_score": 1, "key": "A"},
    {"label": "2", "item_type": "single", "max_score": 1, "key": "B"},
    {"label": "3", "item_type": "true_false", "max_score": 1, "key": "T"},
    {"label": "4", "item_type": "constructed", "max_score": 4},
]
#            Q1    Q2   Q3   Q4 score   total
HAND = [("A", "B", "T", 4),  # s1  1 1 1 4 = 7
        ("A", "B", "F", 3),  # s2  1 1 0 3 = 5
        ("A", "C", "T", 3),  # s3  1 0 1 3 = 5
        ("B", "B", "T", 2),  # s4  0 1 1 2 = 4
        ("A", "B", "T", 1),  # s5  1 1 1 1 = 4
        ("C", "A", "F", 2),  # s6  0 0 0 2 = 2
        ("A", "D", "T", 0),  # s7  1 0 1 0 = 2
        ("B", "C", "F", 1),  # s8  0 0 0 1 = 1
        ("D", "B", "F", 0),  # s9  0 1 0 0 = 1
        (None, "A", "F", 0)]  # s10 omitted Q1: 0 0 0 0 = 0


def _hand(wh):
    keys = ["A", "B", "T"]
    answers = [[a, b, c, None] for a, b, c, _ in HAND]
    scores = [[np.nan if a is None else float(a == keys[0]), float(b == keys[1]),
               float(c == keys[2]), float(d)] for a, b, c, d in HAND]
    build_from_matrix(wh, scores, items=HAND_ITEMS, answers=answers)
    return np.nan_to_num(np.array(scores))


def test_hand_worked_difficulty_and_discrimination(wh):
    x = _hand(wh)
    st = item_stats(wh, exam="矩阵测试", subject="数学", level="district")
    expected_cols = ["district_id", "district_name", "item_id", "item_number", "item_label",
                     "item_type", "n", "max_score", "mean_score", "sd_score", "score_rate",
                     "difficulty", "upper_rate", "lower_rate", "discrimination", "r_item_total",
                     "r_item_rest", "alpha_if_deleted", "discriminative_efficiency",
                     "effective_weight", "n_omitted", "omit_rate", "key", "top_distractor",
                     "top_distractor_share", "flags", "option_A", "option_B", "option_C",
                     "option_D", "option_F", "option_T"]
    assert list(st.columns) == expected_cols
    assert st["n"].tolist() == [10] * 4
    # P by hand: Q1 5/10, Q2 5/10, Q3 5/10, Q4 (4+3+3+2+1+2+0+1+0+0)/10/4 = 1.6/4
    np.testing.assert_allclose(st["difficulty"], [0.5, 0.5, 0.5, 0.4], atol=1e-12)
    np.testing.assert_allclose(st["mean_score"], [0.5, 0.5, 0.5, 1.6], atol=1e-12)
    # Kelley groups: g = floor(0.27 * 10 + 0.5) = 3; totals 7,5,5,4,4,2,2,1,1,0 (no tie at
    # either cut). Upper = s1, s2, s3; lower = s8, s9, s10.
    # Q1: upper 3/3, lower 0/3; Q2: 2/3 vs 1/3; Q3: 2/3 vs 0/3; Q4: (4+3+3)/12 vs (1+0+0)/12
    np.testing.assert_allclose(st["upper_rate"], [1, 2 / 3, 2 / 3, 10 / 12], atol=1e-12)
    np.testing.assert_allclose(st["lower_rate"], [0, 1 / 3, 0, 1 / 12], atol=1e-12)
    np.testing.assert_allclose(st["discrimination"], [1, 1 / 3, 2 / 3, 9 / 12], atol=1e-12)
    # correlations: numpy's corrcoef on the matrix
    t = x.sum(axis=1)
    for j in range(4):
        assert st["r_item_total"].iloc[j] == pytest.approx(np.corrcoef(x[:, j], t)[0, 1],
                                                           abs=1e-12)
        assert st["r_item_rest"].iloc[j] == pytest.approx(
            np.corrcoef(x[:, j], t - x[:, j])[0, 1], abs=1e-12)
    # options of Q1: A by s1 s2 s3 s5 s7; B by s4 s8; C by s6; D by s9; s10 omitted
    q1 = st.iloc[0]
    assert (q1["option_A"], q1["option_B"], q1["option_C"], q1["option_D"]) == (
        pytest.approx(0.5), pytest.approx(0.2), pytest.approx(0.1), pytest.approx(0.1))
    assert np.isnan(q1["option_T"])
    assert q1["n_omitted"] == 1 and q1["omit_rate"] == pytest.approx(0.1)
    assert st["option_T"].iloc[2] == pytest.approx(0.5)  # Q3: T by s1 s3 s4 s5 s7
    # D ≥ .20 everywhere; P = .4/.5 within [.2, .9]; omit rate .1 is not > .1; Q3's distractor
    # F is chosen by 5, as often as the key T, not more: no flags anywhere
    assert st["flags"].tolist() == ["", "", "", ""]
    opts = option_analysis(wh, exam="矩阵测试", subject="数学", level="district")
    q1o = opts[opts["item_label"] == "1"].set_index("option")
    assert q1o.loc["A", "is_key"] and not q1o.loc["B", "is_key"]
    assert q1o.loc["A", "n_chosen"] == 5
    assert q1o.loc["A", "share_upper"] == pytest.approx(1.0)
    assert q1o.loc["B", "share_lower"] == pytest.approx(1 / 3)  # s8 chose B
    assert q1o.loc["D", "share_lower"] == pytest.approx(1 / 3)  # s9 chose D
    assert q1o.loc["A", "mean_total"] == pytest.approx((7 + 5 + 5 + 4 + 2) / 5)
    assert q1o.loc["C", "mean_total"] == pytest.approx(2.0)


def test_ties_at_the_cut_are_broken_by_student_key(wh):
    # totals 3, 2, 2, 2, 0 (n = 5, g = floor(1.35 + .5) = 1): the upper group is s1; the
    # lower group is s5. Now 6 students with totals 2,2,2,2,1,1: g = floor(1.62+.5) = 2;
    # ranks by total then key: s1 s2 | s3 s4 | s5 s6 -> upper {s1, s2}, lower {s5, s6}.
    x = np.array([[1, 1], [0, 2], [2, 0], [1, 1], [1, 0], [0, 1]], dtype=float)
    items = [{"label": "a", "item_type": "constructed", "max_score": 2},
             {"label": "b", "item_type": "constructed", "max_score": 2}]
    build_from_matrix(wh, x, items=items)
    st = item_stats(wh, exam="矩阵测试", subject="数学", level="district")
    # item a: upper s1, s2 -> (1 + 0) / 2 / 2; lower s5, s6 -> (1 + 0) / 2 / 2
    assert st["upper_rate"].iloc[0] == pytest.approx(0.25)
    assert st["lower_rate"].iloc[0] == pytest.approx(0.25)
    # item b: upper (1 + 2) / 4, lower (0 + 1) / 4
    assert st["discrimination"].iloc[1] == pytest.approx(0.75 - 0.25)


def _numpy_item_stats(x: np.ndarray, maxes: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """A direct implementation on the matrix (the reference for the SQL path)."""
    n, k = x.shape
    t = x.sum(axis=1)
    order = np.lexsort((keys, -t))          # total descending, then student key
    g = int(np.floor(0.27 * n + 0.5))
    up, lo = order[:g], order[n - g:]
    rows = []
    for j in range(k):
        xj, rest = x[:, j], t - x[:, j]
        cov_rest = np.cov(xj, rest)[0, 1]
        cov_max = np.cov(np.sort(xj), np.sort(rest))[0, 1]
        rows.append({
            "mean_score": xj.mean(), "score_rate": xj.mean() / maxes[j],
            "discrimination": (xj[up].mean() - xj[lo].mean()) / maxes[j],
            "r_item_total": np.corrcoef(xj, t)[0, 1],
            "r_item_rest": np.corrcoef(xj, rest)[0, 1],
            "discriminative_efficiency": cov_rest / cov_max,
            "cov_t": np.cov(xj, t)[0, 1],
        })
    f = pd.DataFrame(rows)
    root = np.sqrt(f["cov_t"].clip(lower=0))
    f["effective_weight"] = np.where(f["cov_t"] >= 0, root / root.sum(), np.nan)
    return f


def test_agrees_with_numpy_on_random_data_per_school(wh):
    rng = np.random.default_rng(7)
    n, k = 300, 8
    maxes = np.array([1, 1, 1, 1, 2, 4, 6, 10], dtype=float)
    theta = rng.normal(size=n)
    p = 1 / (1 + np.exp(-1.3 * (theta[:, None] - rng.normal(size=k))))
    x = rng.binomial(maxes.astype(int), p).astype(float)
    x[:, 3] = rng.integers(0, 2, n)          # a pure-noise item (near-zero discrimination)
    school = rng.integers(0, 3, n)
    items = [{"label": f"Q{j + 1}", "item_type": "constructed", "max_score": m}
             for j, m in enumerate(maxes)]
    built = build_from_matrix(wh, x, items=items, school_of=school)
    keys = built["student_keys"]
    st = item_stats(wh, exam="矩阵测试", subject="数学", level="school", efficiency=True)
    assert item_stats(wh, exam="矩阵测试", subject="数学", level="school")[
        "discriminative_efficiency"].isna().all()  # off by default below the zone level
    cols = ["mean_score", "score_rate", "discrimination", "r_item_total", "r_item_rest",
            "discriminative_efficiency", "effective_weight"]
    for s in range(3):
        mask = school == s
        ref = _numpy_item_stats(x[mask], maxes, keys[mask])
        got = st[st["school_id"] == built["school_ids"][s]].reset_index(drop=True)
        assert got["n"].tolist() == [mask.sum()] * k
        for c in cols:
            np.testing.assert_allclose(got[c], ref[c], atol=1e-10, err_msg=c)
    # the whole district at once
    ref = _numpy_item_stats(x, maxes, keys)
    got = item_stats(wh, exam="矩阵测试", subject="数学", level="district")
    for c in cols:
        np.testing.assert_allclose(got[c], ref[c], atol=1e-10, err_msg=c)
    assert got["effective_weight"].sum() == pytest.approx(1.0)


def test_planted_wrong_key_and_attractive_distractor_are_flagged(wh):
    items = [
        {"label": "1", "key": "A", "difficulty": -1.0},
        # the paper says C but students who know the content answer D: a wrong key
        {"label": "2", "key": "C", "true_key": "D", "difficulty": -0.5},
        {"label": "3", "key": "B", "difficulty": 0.0},
        # a hard item whose distractor A draws most of those who miss it
        {"label": "4", "key": "C", "difficulty": 1.0,
         "distractor_weights": {"A": 10, "B": 1, "D": 1}},
        {"label": "5", "item_type": "constructed", "max_score": 6, "difficulty": 0.2},
        {"label": "6", "item_type": "constructed", "max_score": 8, "difficulty": 0.5},
    ]
    build_exam(wh, items=items, seed=11, n_schools=4, students_per_school=100)
    st = item_stats(wh, exam="测试监测", subject="数学", level="district").set_index("item_label")
    flagged = {lab: set(f.split(";")) - {""} for lab, f in st["flags"].items()}
    assert "possible_wrong_key" in flagged["2"]
    assert st.loc["2", "top_distractor"] == "D"
    assert "attractive_distractor" in flagged["4"]
    assert st.loc["4", "top_distractor"] == "A"
    for lab in ("1", "3", "5", "6"):
        assert not flagged[lab] & {"possible_wrong_key", "attractive_distractor"}, lab
    for lab in ("1", "3", "4", "5", "6"):
        assert st.loc[lab, "discrimination"] > 0.2, lab
    # too easy / too hard thresholds
    assert ("too_easy" in flagged["1"]) == (st.loc["1", "difficulty"] > 0.9)


def test_multiple_choice_counts_each_letter(wh):
    items = [{"label": "m", "item_type": "multiple", "key": "AC", "max_score": 2,
              "partial_score": 1},
             {"label": "c", "item_type": "constructed", "max_score": 2}]
    answers = [["AC", None], ["A", None], ["ABC", None], ["C", None], [None, None]]
    scores = [[2, 2], [1, 1], [0, 1], [1, 0], [np.nan, 0]]
    build_from_matrix(wh, scores, items=items, answers=answers)
    st = item_stats(wh, exam="矩阵测试", subject="数学", level="district").set_index("item_label")
    # A in AC, A, ABC = 3/5; B in ABC = 1/5; C in AC, ABC, C = 3/5; D none = 0
    assert st.loc["m", "option_A"] == pytest.approx(0.6)
    assert st.loc["m", "option_B"] == pytest.approx(0.2)
    assert st.loc["m", "option_C"] == pytest.approx(0.6)
    assert st.loc["m", "option_D"] == 0.0
    assert np.isnan(st.loc["c", "option_A"])


def test_groups_below_minimum_size(wh):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(21, 4)).astype(float)
    # class sizes 12, 8 and 1
    school = [0] * 20 + [1]
    klass = [0] * 12 + [1] * 8 + [0]
    items = [{"label": str(j), "item_type": "constructed", "max_score": 1} for j in range(4)]
    built = build_from_matrix(wh, x, items=items, school_of=school, class_of=klass)
    st = item_stats(wh, exam="矩阵测试", subject="数学", level="class")
    single = st[st["class_id"] == built["class_ids"][(1, 0)]]
    assert single["n"].tolist() == [1] * 4
    assert single["r_item_total"].isna().all() and single["sd_score"].isna().all()
    assert single["alpha_if_deleted"].isna().all()
    # one student: groups of floor(0.27 + .5) = 0, so D is undefined
    assert single["discrimination"].isna().all()
    assert not single["flags"].str.contains("discrimination").any()
    shown = prepare(st, min_n=5)
    small = shown["class_id"] == built["class_ids"][(1, 0)]
    assert shown.loc[small, "score_rate"].isna().all()
    assert shown.loc[~small, "score_rate"].notna().all()
