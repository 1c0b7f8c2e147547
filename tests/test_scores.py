"""Score reports: 三率 with lines, 超均率, z/T, ranks with ties, bands, percentiles, grade
bands, 临界生 — all against hand-computed or numpy values."""

from __future__ import annotations

import numpy as np
import pytest
from builders import build_exam, build_from_matrix

from analytics.errors import InputError
from analytics.scores import (
    borderline_students,
    grade_bands,
    percentiles,
    score_bands,
    score_report,
    standard_scores,
)

# one 10-point item, so each student's score is their total
TOTALS = [10, 8, 8, 6, 7, 7, 4, 4, 5.5]
SCHOOL = [0, 0, 1, 1, 2, 2, 3, 3, 4]
# school means 9, 7, 7, 4, 5.5 -> ranks 1, 2, 2, 5, 4
LINES = {"excellent_line": 8.0, "pass_line": 6.0, "low_line": 5.0, "borderline_buffer": 1.0,
         "band_a": 9.0, "band_b": 7.0, "band_c": 5.0}


@pytest.fixture
def five_schools(wh):
    items = [{"label": "1", "item_type": "constructed", "max_score": 10}]
    built = build_from_matrix(wh, np.array(TOTALS)[:, None], items=items, school_of=SCHOOL,
                              gender=["M", "F", "M", "F", "M", "F", "M", "F", "M"],
                              n_absent=2, paper=LINES)
    return wh, built


def test_score_report_hand_values(five_schools):
    wh, built = five_schools
    rep = score_report(wh, exam="矩阵测试", subject="数学", level="school")
    assert list(rep.columns) == [
        "zone_id", "zone_name", "school_id", "school_name", "n", "n_absent", "n_void", "mean",
        "sd", "median", "max", "min", "excellent_rate", "pass_rate", "low_rate",
        "district_mean", "district_sd", "above_mean_rate", "z_mean", "t_mean", "rank",
        "n_ranked", "ci_low", "ci_high", "full_score"]
    rep = rep.set_index(rep["school_id"].map({v: k for k, v in built["school_ids"].items()}))
    assert rep.loc[[0, 1, 2, 3, 4], "n"].tolist() == [2, 2, 2, 2, 1]
    assert rep.loc[0, "n_absent"] == 2 and rep.loc[1, "n_absent"] == 0
    np.testing.assert_allclose(rep.loc[[0, 1, 2, 3, 4], "mean"], [9, 7, 7, 4, 5.5])
    # ranks by mean, ties share the better rank: 9 -> 1, 7 and 7 -> 2, 5.5 -> 4, 4 -> 5
    assert rep.loc[[0, 1, 2, 3, 4], "rank"].tolist() == [1, 2, 2, 5, 4]
    assert (rep["n_ranked"] == 5).all()
    # 三率 with lines 8 / 6 / 5: a score on the line counts as reaching it
    np.testing.assert_allclose(rep.loc[[0, 1, 2, 3, 4], "excellent_rate"], [1, 0.5, 0, 0, 0])
    np.testing.assert_allclose(rep.loc[[0, 1, 2, 3, 4], "pass_rate"], [1, 1, 1, 0, 0])
    np.testing.assert_allclose(rep.loc[[0, 1, 2, 3, 4], "low_rate"], [0, 0, 0, 1, 0])
    # 超均率 = mean / district mean - 1, district mean = 59.5 / 9
    dm = sum(TOTALS) / len(TOTALS)
    assert rep.loc[0, "district_mean"] == pytest.approx(dm)
    assert rep.loc[0, "above_mean_rate"] == pytest.approx(9 / dm - 1)
    assert rep.loc[3, "above_mean_rate"] == pytest.approx(4 / dm - 1)
    # z and T with the district SD (n - 1)
    sd = np.std(TOTALS, ddof=1)
    assert rep.loc[1, "z_mean"] == pytest.approx((7 - dm) / sd)
    assert rep.loc[1, "t_mean"] == pytest.approx(50 + 10 * (7 - dm) / sd)
    assert rep.loc[0, "sd"] == pytest.approx(np.std([10, 8], ddof=1))
    assert rep.loc[0, "median"] == 9 and rep.loc[0, "max"] == 10 and rep.loc[0, "min"] == 8
    # t interval of the mean; undefined for the one-student school
    half = 12.706204736174698 * np.std([10, 8], ddof=1) / np.sqrt(2)  # qt(.975, 1)
    assert rep.loc[0, "ci_low"] == pytest.approx(9 - half)
    assert np.isnan(rep.loc[4, "ci_low"]) and np.isnan(rep.loc[4, "sd"])


def test_district_level_and_breakdowns(five_schools):
    wh, _ = five_schools
    d = score_report(wh, exam="矩阵测试", subject="数学", level="district")
    assert d["n"].tolist() == [9] and d["n_absent"].tolist() == [2]
    assert d["above_mean_rate"].iloc[0] == pytest.approx(0.0)
    assert d["rank"].tolist() == [1]
    g = score_report(wh, exam="矩阵测试", subject="数学", level="district", by="gender")
    assert g["gender"].tolist() == ["F", "M"]
    assert g["n"].tolist() == [4, 5]  # absent students are M but not counted in n
    assert g["mean"].tolist() == pytest.approx([np.mean([8, 6, 7, 4]),
                                                np.mean([10, 8, 7, 4, 5.5])])
    assert g["rank"].tolist() == [1, 1]  # each gender ranked among its own peers only
    with pytest.raises(InputError):
        score_report(wh, exam="矩阵测试", subject="数学", by="religion")


def test_school_filter_keeps_district_ranks(five_schools):
    wh, built = five_schools
    one = score_report(wh, exam="矩阵测试", subject="数学", level="school",
                       school=built["school_ids"][2])
    assert len(one) == 1 and one["rank"].iloc[0] == 2 and one["n_ranked"].iloc[0] == 5
    with pytest.raises(InputError):
        score_report(wh, exam="矩阵测试", subject="数学", level="zone",
                     school=built["school_ids"][2])


def test_bands_percentiles_grade_bands(five_schools):
    wh, _ = five_schools
    b = score_bands(wh, exam="矩阵测试", subject="数学", level="district")
    # 10 -> 90_100 (closed top), 8, 8 -> 80_90, 7, 7 -> 70_80, 6 -> 60_70, 5.5 -> 50_60,
    # 4, 4 -> 40_50
    counts = {c: int(b[c].iloc[0]) for c in b.columns if c.startswith("count_")}
    assert counts == {"count_0_10": 0, "count_10_20": 0, "count_20_30": 0, "count_30_40": 0,
                      "count_40_50": 2, "count_50_60": 1, "count_60_70": 1, "count_70_80": 2,
                      "count_80_90": 2, "count_90_100": 1}
    assert b["share_80_90"].iloc[0] == pytest.approx(2 / 9)
    p = percentiles(wh, exam="矩阵测试", subject="数学", level="district",
                    probs=(0.1, 0.25, 0.5, 0.9))
    assert list(p.columns) == ["district_id", "district_name", "n", "p10", "p25", "p50", "p90"]
    np.testing.assert_allclose(p[["p10", "p25", "p50", "p90"]].iloc[0],
                               np.percentile(TOTALS, [10, 25, 50, 90]))
    gb = grade_bands(wh, exam="矩阵测试", subject="数学", level="district")
    # A >= 9: 10; B [7, 9): 8 8 7 7; C [5, 7): 6 5.5; D < 5: 4 4
    assert gb[["n_a", "n_b", "n_c", "n_d"]].iloc[0].tolist() == [1, 4, 2, 2]
    assert gb["share_b"].iloc[0] == pytest.approx(4 / 9)
    assert gb[["share_a", "share_b", "share_c", "share_d"]].iloc[0].sum() == pytest.approx(1)


def test_borderline_and_standard_scores(five_schools):
    wh, _ = five_schools
    bl = borderline_students(wh, exam="矩阵测试", subject="数学")
    # excellent 8, buffer 1: 7 <= t < 8 -> the two 7s; pass 6: 5 <= t < 6 -> 5.5
    assert sorted(zip(bl["line"], bl["total"], strict=True)) == [
        ("excellent", 7.0), ("excellent", 7.0), ("pass", 5.5)]
    assert bl.loc[bl["line"] == "pass", "gap"].iloc[0] == pytest.approx(0.5)
    wide = borderline_students(wh, exam="矩阵测试", subject="数学", buffer=2.0,
                               lines=("pass",))
    assert sorted(wide["total"]) == [4.0, 4.0, 5.5]
    ss = standard_scores(wh, exam="矩阵测试", subject="数学")
    assert len(ss) == 9
    z = (np.array(TOTALS) - np.mean(TOTALS)) / np.std(TOTALS, ddof=1)
    np.testing.assert_allclose(ss["z"], z)
    np.testing.assert_allclose(ss["t_score"], 50 + 10 * z)
    # district ranks with ties: 10 -> 1, 8 8 -> 2, 7 7 -> 4, 6 -> 6, 5.5 -> 7, 4 4 -> 8
    assert ss["rank_district"].tolist() == [1, 2, 2, 6, 4, 4, 8, 8, 7]


def test_default_lines_are_shares_of_full_score(wh):
    r = build_exam(wh, seed=5, n_schools=3, students_per_school=30)
    rep = score_report(wh, exam=r["exam"], subject="数学", level="school")
    res = r["paper_results"].merge(r["students"][["student_key", "school_id"]])
    res = res[res["status"] == "present"]
    full = r["items"]["max_score"].sum()
    for sid, grp in res.groupby("school_id"):
        row = rep[rep["school_id"] == sid].iloc[0]
        assert row["n"] == len(grp)
        assert row["excellent_rate"] == pytest.approx((grp["total"] >= 0.85 * full).mean())
        assert row["pass_rate"] == pytest.approx((grp["total"] >= 0.60 * full).mean())
        assert row["low_rate"] == pytest.approx((grp["total"] < 0.40 * full).mean())
        assert row["mean"] == pytest.approx(grp["total"].mean())
