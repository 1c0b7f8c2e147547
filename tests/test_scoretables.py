"""一分一段表 / 分数段 and 全科总分 against hand-worked values and an independent pandas
computation on the raw frames the test writes (never the code's own output)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import build_exam, build_from_matrix

from analytics.errors import InputError, NotFoundError
from analytics.scoretables import score_distribution, total_grade_bands, total_score_report

TOTALS = [10, 8, 8, 6, 7, 7, 4, 4, 5.5]
SCHOOL = [0, 0, 1, 1, 2, 2, 3, 3, 4]
ITEM10 = [{"label": "1", "item_type": "constructed", "max_score": 10}]


@pytest.fixture
def matrix(wh):
    built = build_from_matrix(wh, np.array(TOTALS)[:, None], items=ITEM10, school_of=SCHOOL,
                              n_absent=2)
    return wh, built


def test_one_point_table_by_hand(matrix):
    wh, _ = matrix
    d = score_distribution(wh, exam="矩阵测试", subject="数学", level="district")
    # 分数 人数 累计人数 from the top: 10:1/1, 8:2/3, 7:2/5, 6:1/6, 5.5:1/7, 4:2/9
    assert d["score"].tolist() == [10, 8, 7, 6, 5.5, 4]
    assert d["count"].tolist() == [1, 2, 2, 1, 1, 2]
    assert d["cum_count"].tolist() == [1, 3, 5, 6, 7, 9]
    np.testing.assert_allclose(d["cum_share"], np.array([1, 3, 5, 6, 7, 9]) / 9)
    assert (d["n"] == 9).all()      # the two absent students are not counted
    assert d["score_high"].tolist() == d["score"].tolist()


def test_bands_by_hand_full_score_in_the_top_band(matrix):
    wh, _ = matrix
    d = score_distribution(wh, exam="矩阵测试", subject="数学", level="district", width=5)
    # [5, 10] holds 10, 8, 8, 6, 7, 7, 5.5 (the full score 10 joins the top band); [0, 5) 4, 4
    assert d["score"].tolist() == [5, 0]
    assert d["score_high"].tolist() == [10, 5]
    assert d["count"].tolist() == [7, 2]
    assert d["cum_count"].tolist() == [7, 9]
    d3 = score_distribution(wh, exam="矩阵测试", subject="数学", level="district", width=3)
    # bands of 3 on a full score of 10: 9-10 (10), 6-9 (8,8,6,7,7), 3-6 (4,4,5.5)
    assert d3["score"].tolist() == [9, 6, 3]
    assert d3["count"].tolist() == [1, 5, 3]
    with pytest.raises(InputError):
        score_distribution(wh, exam="矩阵测试", subject="数学", width=0)


def _raw(built: dict) -> pd.DataFrame:
    pr = built["paper_results"]
    st = built["students"][["student_key", "school_id"]]
    return pr.merge(st, on="student_key")


def test_distribution_matches_pandas_per_school_and_scoping(wh):
    built = build_exam(wh, n_schools=4, students_per_school=60, seed=3)
    raw = _raw(built)
    raw = raw[raw["status"] == "present"]
    d = score_distribution(wh, exam=built["exam"], subject=built["subject"], level="school")
    for sid, grp in raw.groupby("school_id"):
        counts = grp["total"].value_counts().sort_index(ascending=False)
        mine = d[d["school_id"] == sid]
        np.testing.assert_allclose(mine["score"], counts.index.to_numpy(dtype=float))
        assert mine["count"].tolist() == counts.tolist()
        assert (mine["n"] == len(grp)).all()
        cum = np.array([(grp["total"] >= x).sum() for x in counts.index])
        assert mine["cum_count"].tolist() == cum.tolist()
        np.testing.assert_allclose(mine["cum_share"], cum / len(grp))
    one = int(raw["school_id"].iloc[0])
    scoped = score_distribution(wh, exam=built["exam"], subject=built["subject"], school=one)
    assert set(scoped["school_id"]) == {one}
    pd.testing.assert_frame_equal(scoped, d[d["school_id"] == one].reset_index(drop=True))
    # bands of 2 points against numpy's histogram of the same edges
    full = float(built["items"]["max_score"].sum())
    b = score_distribution(wh, exam=built["exam"], subject=built["subject"], level="district",
                           width=2)
    edges = np.arange(0, np.ceil(full / 2) * 2 + 2, 2.0)
    hist, _ = np.histogram(raw["total"], bins=edges)   # numpy's last bin is closed
    hist = dict(zip(edges[:-1], hist, strict=True))
    got = dict(zip(b["score"], b["count"], strict=True))
    assert got == {k: v for k, v in hist.items() if v}


# --------------------------------------------------------------------------------- 全科总分
def _second_paper(wh, built: dict, totals: dict[int, float | None], void: set[int],
                  full: float = 100.0, pass_line: float | None = None) -> None:
    """Add a 语文 paper to the built exam with the given totals (None: absent)."""
    pid = int(wh.scalar("SELECT max(paper_id) + 1 FROM papers"))
    wh.execute("INSERT INTO papers (paper_id, exam_id, subject, grade, full_score, pass_line) "
               "VALUES ($p, $e, '语文', $g, $f, $pl)",
               {"p": pid, "e": built["exam_id"], "g": built["grade"], "f": full,
                "pl": pass_line})
    rows = pd.DataFrame({
        "paper_id": pid, "student_key": list(totals),
        "status": ["void" if k in void else ("absent" if v is None else "present")
                   for k, v in totals.items()],
        "total": [None if (v is None or k in void) else v for k, v in totals.items()]})
    wh.insert_df("paper_results", rows)


@pytest.fixture
def two_subjects(wh):
    built = build_exam(wh, n_schools=3, students_per_school=40, seed=11,
                       paper={"pass_line": 5.0})
    rng = np.random.default_rng(5)
    keys = built["students"]["student_key"].tolist()
    planted_absent = set(keys[:4])            # absent on 语文
    planted_void = {keys[5]}                   # void on 语文
    missing = set(keys[6:8])                   # no 语文 row at all
    totals = {k: (None if k in planted_absent else float(rng.integers(20, 101)))
              for k in keys if k not in missing}
    _second_paper(wh, built, totals, planted_void, pass_line=60.0)
    chinese = pd.DataFrame({"student_key": list(totals), "t2": list(totals.values())})
    chinese.loc[chinese["student_key"].isin(planted_void), "t2"] = np.nan
    return wh, built, chinese, planted_absent | missing, planted_void


def test_total_report_against_pandas(two_subjects):
    wh, built, chinese, absent, void = two_subjects
    raw = _raw(built).merge(chinese, on="student_key", how="left")
    complete = raw[(raw["status"] == "present") & raw["t2"].notna()].copy()
    complete["sum"] = complete["total"] + complete["t2"]
    rep = total_score_report(wh, exam=built["exam"], level="school")
    full1 = float(built["items"]["max_score"].sum())
    assert (rep["full_score"] == full1 + 100).all()
    assert set(rep["subjects"]) == {"数学+语文"} and (rep["n_subjects"] == 2).all()
    dist = rep.iloc[0]["district_mean"]
    assert dist == pytest.approx(complete["sum"].mean())
    assert rep.iloc[0]["district_sd"] == pytest.approx(complete["sum"].std(ddof=1))
    pass_total = 5.0 + 60.0                    # the lines of the total: the sums of the papers'
    for sid, grp in complete.groupby("school_id"):
        r = rep[rep["school_id"] == sid].iloc[0]
        assert r["n"] == len(grp)
        assert r["mean"] == pytest.approx(grp["sum"].mean())
        assert r["pass_rate"] == pytest.approx((grp["sum"] >= pass_total).mean())
        assert r["above_mean_rate"] == pytest.approx(grp["sum"].mean() / dist - 1)
    # left out: every student of the exam not complete is counted as absent or void
    first = raw[raw["status"] != "present"]["student_key"]
    n_void = len(void | set(raw.loc[raw["status"] == "void", "student_key"]))
    assert int(rep["n_void"].sum()) == n_void
    assert int(rep["n"].sum() + rep["n_absent"].sum() + rep["n_void"].sum()) == len(raw)
    assert int(rep["n_absent"].sum()) >= len(absent - set(first))
    d = total_score_report(wh, exam=built["exam"], level="district").iloc[0]
    assert d["n"] == len(complete)


def test_total_levels_and_distribution_against_pandas(two_subjects):
    wh, built, chinese, _, _ = two_subjects
    raw = _raw(built).merge(chinese, on="student_key", how="left")
    complete = raw[(raw["status"] == "present") & raw["t2"].notna()].copy()
    s = complete["total"] + complete["t2"]
    full = float(built["items"]["max_score"].sum()) + 100
    lv = total_grade_bands(wh, exam=built["exam"], level="district").iloc[0]
    a, b, c = 0.85 * full, 0.70 * full, 0.60 * full     # the default bounds, summed
    assert lv["band_a"] == pytest.approx(a) and lv["band_c"] == pytest.approx(c)
    assert lv["n"] == len(s)
    assert lv["n_a"] == (s >= a).sum() and lv["n_d"] == (s < c).sum()
    assert lv["n_b"] == ((s >= b) & (s < a)).sum()
    d = score_distribution(wh, exam=built["exam"], subject="总分", level="district")
    counts = s.value_counts().sort_index(ascending=False)
    assert d["count"].tolist() == counts.tolist()
    assert d["cum_count"].iloc[-1] == len(s) and (d["n"] == len(s)).all()
    assert (d["full_score"] == full).all()


def test_total_refuses_unknown_subject(two_subjects):
    wh, built, *_ = two_subjects
    with pytest.raises(NotFoundError):
        total_score_report(wh, exam=built["exam"], subjects=["物理"])
    one = total_score_report(wh, exam=built["exam"], subjects=["数学"], level="district")
    assert one.iloc[0]["subjects"] == "数学"


# --------------------------------------------------------------------------------- the CLI
def test_cli_distribution_and_total(tmp_path):
    import io

    from click.testing import CliRunner

    from analytics.warehouse import Warehouse
    from eqm.cli import cli

    path = tmp_path / "w.duckdb"
    with Warehouse(path) as w:
        build_from_matrix(w, np.array(TOTALS)[:, None], items=ITEM10, school_of=SCHOOL)
    run = CliRunner()
    res = run.invoke(cli, ["--db", str(path), "stats", "distribution", "--exam", "矩阵测试",
                           "--subject", "数学", "--format", "csv", "--min-n", "1"])
    assert res.exit_code == 0, res.output
    d = pd.read_csv(io.StringIO(res.output))
    assert d["count"].tolist() == [1, 2, 2, 1, 1, 2]
    assert d["cum_count"].tolist() == [1, 3, 5, 6, 7, 9]
    res = run.invoke(cli, ["--db", str(path), "stats", "distribution", "--exam", "矩阵测试",
                           "--subject", "总分", "--width", "5", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(io.StringIO(res.output))["count"].tolist() == [7, 2]
    res = run.invoke(cli, ["--db", str(path), "stats", "total", "--exam", "矩阵测试",
                           "--level", "district", "--format", "csv", "--min-n", "1"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(io.StringIO(res.output))
    assert t["mean"].iloc[0] == pytest.approx(sum(TOTALS) / len(TOTALS), abs=0.01)
    res = run.invoke(cli, ["--db", str(path), "stats", "total", "--exam", "矩阵测试",
                           "--subjects", "物理"])
    assert res.exit_code == 2 and "物理" in res.output
