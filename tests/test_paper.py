"""Paper quality: α agrees with the reliability module, band counts and the specification
table by hand, knowledge-point rates at every level; the `eqm stats` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from builders import build_exam, build_from_matrix
from click.testing import CliRunner

from analytics.paper import category_rates, paper_quality, specification_table
from eqm.cli import cli

ITEMS = [
    {"label": "1", "item_type": "constructed", "max_score": 2, "knowledge_points": ["数", "式"],
     "cognitive_level": "了解"},
    {"label": "2", "item_type": "constructed", "max_score": 4, "knowledge_points": ["数"],
     "cognitive_level": "理解"},
    {"label": "3", "item_type": "constructed", "max_score": 4, "knowledge_points": ["形"],
     "cognitive_level": "理解"},
]
#        item1 item2 item3   school
X = np.array([[2, 4, 4],   # 0
              [2, 3, 2],   # 0
              [1, 2, 3],   # 0
              [2, 1, 0],   # 1
              [0, 2, 1],   # 1
              [0, 0, 2]],  # 1
             dtype=float)
SCHOOL = [0, 0, 0, 1, 1, 1]


def _numpy_alpha(x):
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_paper_quality_by_hand(wh):
    build_from_matrix(wh, X, items=ITEMS, school_of=SCHOOL)
    q = paper_quality(wh, exam="矩阵测试", subject="数学", level="district")
    assert list(q.columns)[:12] == ["district_id", "district_name", "n", "k", "full_score",
                                    "mean", "sd", "score_rate", "alpha", "sem", "ci_low",
                                    "ci_high"]
    row = q.iloc[0]
    t = X.sum(axis=1)
    assert (row["n"], row["k"], row["full_score"]) == (6, 3, 10.0)
    assert row["mean"] == pytest.approx(t.mean())
    assert row["score_rate"] == pytest.approx(t.mean() / 10)
    assert row["alpha"] == pytest.approx(_numpy_alpha(X), abs=1e-12)
    assert row["sem"] == pytest.approx(t.std(ddof=1) * np.sqrt(1 - _numpy_alpha(X)))
    # P: item1 7/6/2 = .583 medium; item2 12/6/4 = .5 medium; item3 12/6/4 = .5 medium
    assert (row["items_medium"], row["items_easy"], row["items_hard"]) == (3, 0, 0)
    # Kelley g = floor(1.62 + .5) = 2; totals 10, 7, 6, 3, 3, 2 -> upper s1 s2, lower s5 s6
    # D1 = (4/2 - 0/2)/2 = 1; D2 = (7/2 - 2/2)/4 = .625; D3 = (6/2 - 3/2)/4 = .375
    assert row["items_d_very_good"] == 2 and row["items_d_good"] == 1
    assert row["mean_discrimination"] == pytest.approx((1 + 0.625 + 0.375) / 3)
    per_school = paper_quality(wh, exam="矩阵测试", subject="数学", level="school")
    np.testing.assert_allclose(
        per_school["alpha"], [_numpy_alpha(X[:3]), _numpy_alpha(X[3:])], atol=1e-12)


def test_specification_table_by_hand(wh):
    build_from_matrix(wh, X, items=ITEMS, school_of=SCHOOL)
    spec = specification_table(wh, exam="矩阵测试", subject="数学")
    assert list(spec.columns) == ["knowledge_point", "cognitive_level", "n", "k", "items",
                                  "planned_score", "planned_share", "achieved_score",
                                  "score_rate"]
    cell = spec.set_index(["knowledge_point", "cognitive_level"])
    # 数 × 了解: item 1 (2 points, mean 7/6); 数 × 理解: item 2 (4, mean 2); 形 × 理解: item 3
    assert cell.loc[("数", "了解"), "planned_score"] == 2
    assert cell.loc[("数", "了解"), "achieved_score"] == pytest.approx(7 / 6)
    assert cell.loc[("数", "理解"), "score_rate"] == pytest.approx(2 / 4)
    assert cell.loc[("式", "了解"), "planned_share"] == pytest.approx(2 / 10)
    assert cell.loc[("形", "理解"), "items"] == "3"


def test_category_rates_every_level(wh):
    built = build_from_matrix(wh, X, items=ITEMS, school_of=SCHOOL)
    kp = category_rates(wh, exam="矩阵测试", subject="数学", grain="knowledge_point")
    assert list(kp.columns) == ["level", "unit_id", "unit_name", "grain", "category", "n", "k",
                                "planned_score", "mean_score", "score_rate",
                                "reference_rate", "rate_diff"]
    assert set(kp["level"]) == {"district", "zone", "school", "class"}
    d = kp[kp["level"] == "district"].set_index("category")
    # 数 = items 1 and 2: (7/6 + 12/6) / (2 + 4)
    assert d.loc["数", "score_rate"] == pytest.approx((7 / 6 + 2) / 6)
    s0 = kp[(kp["level"] == "school") & (kp["unit_id"] == built["school_ids"][0])]
    s0 = s0.set_index("category")
    # school 0, 数: item1 5/3, item2 9/3 over 6 points
    assert s0.loc["数", "score_rate"] == pytest.approx((5 / 3 + 3) / 6)
    assert s0.loc["数", "rate_diff"] == pytest.approx((5 / 3 + 3) / 6 - (7 / 6 + 2) / 6)
    assert s0.loc["数", "n"] == 3
    cog = category_rates(wh, exam="矩阵测试", subject="数学", grain="cognitive_level",
                         levels=("school",))
    assert set(cog["level"]) == {"school"}
    c0 = cog[cog["unit_id"] == built["school_ids"][1]].set_index("category")
    # school 1, 理解 = items 2 and 3: (3/3 + 3/3) / 8
    assert c0.loc["理解", "score_rate"] == pytest.approx(2 / 8)


def test_cli_stats_commands(wh, tmp_path):
    build_exam(wh, seed=2, n_schools=3, students_per_school=25)
    wh.close()
    db = str(wh.path)
    run = CliRunner().invoke
    args = ["--db", db, "stats"]
    common = ["--exam", "测试监测", "--subject", "数学"]
    r = run(cli, [*args, "items", *common, "--level", "district", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    for col in ("item_label", "n", "max_score", "mean_score", "score_rate", "difficulty",
                "discrimination", "r_item_total", "r_item_rest", "alpha_if_deleted", "flags",
                "option_A", "option_B"):
        assert col in rows[0]
    r = run(cli, [*args, "paper", *common, "--level", "district", "--format", "csv"])
    assert r.exit_code == 0, r.output
    header = r.output.splitlines()[0].lstrip("\ufeff").split(",")
    assert {"n", "k", "mean", "sd", "alpha", "sem"} <= set(header)
    r = run(cli, [*args, "scores", *common, "--level", "class", "--format", "csv"])
    assert r.exit_code == 0 and "rank" in r.output.splitlines()[0]
    r = run(cli, [*args, "scores", *common, "--level", "class", "--school", "测试区第1中学",
                  "--format", "csv"])
    assert r.exit_code == 0 and "rank" not in r.output.splitlines()[0]  # school export
    out = tmp_path / "items.xlsx"
    r = run(cli, [*args, "items", *common, "--level", "school", "--format", "xlsx",
                  "--out", str(out)])
    assert r.exit_code == 0 and out.exists()
    r = run(cli, [*args, "scores", "--exam", "没有", "--subject", "数学"])
    assert r.exit_code == 2 and "找不到试卷" in r.output


def test_category_rates_of_one_school_equal_its_rows_in_the_whole_run(wh):
    # the whole population is rolled up in SQL from the staged pass; one school's rates come
    # from their own query and are combined in pandas: the two paths must agree per class
    build_exam(wh, seed=5, n_schools=3, students_per_school=30, classes_per_school=2)
    sid = int(wh.scalar("SELECT max(school_id) FROM schools"))
    whole = category_rates(wh, exam="测试监测", subject="数学", levels=("class",))
    one = category_rates(wh, exam="测试监测", subject="数学", levels=("class",), school=sid)
    assert len(one) > 0
    cols = ["unit_id", "category", "n", "k", "planned_score", "mean_score", "score_rate"]
    got = whole[whole["unit_id"].isin(one["unit_id"])][cols].sort_values(cols[:2])
    pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                  one[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  check_dtype=False, rtol=1e-12)
