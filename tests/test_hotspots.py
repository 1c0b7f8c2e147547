"""Error hotspots: planted weaknesses found, small noisy schools not flagged, BH checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analytics.errors import InputError
from analytics.hotspots import (
    bh_qvalues,
    difficulty_band,
    district_weak_points,
    error_hotspots,
    knowledge_matrix,
)
from tests.hotspot_fixture import (
    DISTRACTOR_ITEM,
    DISTRACTOR_OPTION,
    DISTRACTOR_SCHOOL,
    DISTRACTOR_SHARE,
    EXAM,
    KPS,
    SMALL_SCHOOL,
    SUBJECT,
    WEAK_KP,
    WEAK_SCHOOL,
    build_hotspot_exam,
    planted_warehouse,
)

ITEM_COLS = [
    "zone_id", "zone_name", "school_id", "school_name", "item_id", "item_number", "item_label",
    "item_type", "knowledge_points", "n", "max_score", "unit_rate", "district_rate",
    "paper_gap", "gap", "ci_low", "ci_high", "z", "p_value", "q_value", "gap_shrunk", "flag",
    "wrong_option", "wrong_option_share", "wrong_option_district_share",
]
KP_COLS = [
    "zone_id", "zone_name", "school_id", "school_name", "knowledge_point", "n_items", "n",
    "max_score", "unit_rate", "district_rate", "paper_gap", "gap", "ci_low", "ci_high", "z",
    "p_value",
    "q_value", "gap_shrunk", "flag", "worst_item_label", "wrong_option_item_label",
    "wrong_option", "wrong_option_share",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    yield from planted_warehouse(tmp_path_factory.mktemp("hot") / "w.duckdb")


def raw_x(wh) -> pd.DataFrame:
    """Student × item rates from the raw tables, computed independently with pandas."""
    r = wh.df("SELECT r.item_id, r.student_key, r.score, r.answer, p.total / pa.full_score "
              "AS paper_rate FROM responses r JOIN paper_results p USING (paper_id, student_key) "
              "JOIN papers pa USING (paper_id) WHERE p.status = 'present'")
    items = wh.df("SELECT item_id, label, max_score, answer_key, item_type FROM items")
    st = wh.df("SELECT s.student_key, s.school_id, sc.name AS school_name, s.class_id "
               "FROM students s JOIN schools sc USING (school_id)")
    r = r.merge(items, on="item_id").merge(st, on="student_key")
    r["x"] = r["score"].fillna(0.0) / r["max_score"]
    return r


def test_columns_and_planted_distractor_found(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT)
    assert list(f.columns) == ITEM_COLS
    row = f[(f["school_name"] == DISTRACTOR_SCHOOL) & (f["item_label"] == DISTRACTOR_ITEM)]
    assert len(row) == 1
    row = row.iloc[0]
    assert bool(row["flag"])
    assert row["wrong_option"] == DISTRACTOR_OPTION
    # Planted share 0.45 plus the few who chose D anyway; binomial SE with n≈80 is ≈ 0.056.
    assert row["wrong_option_share"] == pytest.approx(DISTRACTOR_SHARE, abs=0.15)
    assert row["wrong_option_share"] > 2 * row["wrong_option_district_share"]


def test_planted_weak_knowledge_point_found_and_nothing_else(planted):
    k = error_hotspots(planted, exam=EXAM, subject=SUBJECT, grain="knowledge_point")
    assert list(k.columns) == KP_COLS
    assert set(k["knowledge_point"]) == set(KPS)
    flagged = set(zip(k.loc[k["flag"], "school_name"], k.loc[k["flag"], "knowledge_point"],
                      strict=True))
    assert (WEAK_SCHOOL, WEAK_KP) in flagged
    # The distractor lowers one of 有理数's three items at DISTRACTOR_SCHOOL; nothing else planted.
    assert flagged <= {(WEAK_SCHOOL, WEAK_KP), (DISTRACTOR_SCHOOL, "有理数")}
    # The weak school's flagged items are the weak point's items.
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT, school=WEAK_SCHOOL)
    assert set(f.loc[f["flag"], "knowledge_points"]) == {WEAK_KP}


def test_small_school_with_large_noisy_gap_not_flagged(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT)
    small = f[f["school_name"] == SMALL_SCHOOL]
    assert (small["n"] == 5).all()
    # Large gaps: 2 of 5 right against district rates near .6.
    assert small["gap"].min() < -0.2
    assert not small["flag"].any()
    # Shrinkage pulls the tiny school's gaps towards 0.
    assert (small["gap_shrunk"].abs() <= small["gap"].abs() + 1e-12).all()
    k = error_hotspots(planted, exam=EXAM, subject=SUBJECT, grain="knowledge_point")
    ks = k[k["school_name"] == SMALL_SCHOOL]
    assert ks["gap"].mean() < -0.1
    assert not ks["flag"].any()
    # The same size of gap in a school of ~80 is flagged: it is the precision that differs.
    weak = k[(k["school_name"] == WEAK_SCHOOL) & (k["knowledge_point"] == WEAK_KP)].iloc[0]
    assert weak["flag"]
    assert 0.5 <= weak["gap"] / ks["gap"].min() <= 2.0


def test_statistics_match_a_direct_numpy_computation(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT)
    r = raw_x(planted)
    for school, label in [(WEAK_SCHOOL, "7"), (SMALL_SCHOOL, "1"), (DISTRACTOR_SCHOOL, "5")]:
        x_all = r.loc[r["label"] == label, "x"].to_numpy()
        in_u = (r.loc[r["label"] == label, "school_name"] == school).to_numpy()
        xu, xr = x_all[in_u], x_all[~in_u]
        s = np.std(x_all, ddof=1)
        se = s * np.sqrt(1 / len(xu) + 1 / len(xr))
        z = (xu.mean() - xr.mean()) / se
        p = 2 * stats.norm.sf(abs(z))
        gap = xu.mean() - x_all.mean()
        got = f[(f["school_name"] == school) & (f["item_label"] == label)].iloc[0]
        assert got["n"] == len(xu)
        assert got["unit_rate"] == pytest.approx(xu.mean(), abs=1e-12)
        assert got["district_rate"] == pytest.approx(x_all.mean(), abs=1e-12)
        assert got["gap"] == pytest.approx(gap, abs=1e-12)
        assert got["z"] == pytest.approx(z, rel=1e-9)
        assert got["p_value"] == pytest.approx(p, rel=1e-9)
        half = 1.959963984540054 * se * len(xr) / len(x_all)
        assert got["ci_low"] == pytest.approx(gap - half, abs=1e-12)
        assert got["ci_high"] == pytest.approx(gap + half, abs=1e-12)
        # the most-chosen wrong answer, counted directly
        sub = r[(r["label"] == label) & (r["school_name"] == school)]
        wrong = sub[sub["answer"].notna() & (sub["answer"] != sub["answer_key"])]["answer"]
        if sub["item_type"].iloc[0] == "single" and len(wrong):
            counts = wrong.value_counts()
            best = sorted(counts[counts == counts.max()].index)[0]
            assert got["wrong_option"] == best
            assert got["wrong_option_share"] == pytest.approx(counts.max() / len(sub))


def test_relative_mode_matches_numpy_and_finds_the_planted_point(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT, relative=True)
    plain = error_hotspots(planted, exam=EXAM, subject=SUBJECT)
    r = raw_x(planted)
    r["y"] = r["x"] - r["paper_rate"]
    for school, label in [(WEAK_SCHOOL, "8"), (DISTRACTOR_SCHOOL, "1")]:
        it = r[r["label"] == label]
        in_u = (it["school_name"] == school).to_numpy()
        y = it["y"].to_numpy()
        se = np.std(y, ddof=1) * np.sqrt(1 / in_u.sum() + 1 / (~in_u).sum())
        z = (y[in_u].mean() - y[~in_u].mean()) / se
        got = f[(f["school_name"] == school) & (f["item_label"] == label)].iloc[0]
        base = plain[(plain["school_name"] == school) & (plain["item_label"] == label)].iloc[0]
        assert got["z"] == pytest.approx(z, rel=1e-9)
        assert got["gap"] == pytest.approx(y[in_u].mean() - y.mean(), abs=1e-12)
        paper_gap = it.loc[in_u, "paper_rate"].mean() - it["paper_rate"].mean()
        assert got["paper_gap"] == pytest.approx(paper_gap, abs=1e-12)
        assert got["gap"] == pytest.approx(base["gap"] - paper_gap, abs=1e-12)
        assert got["unit_rate"] == base["unit_rate"]
    k = error_hotspots(planted, exam=EXAM, subject=SUBJECT, grain="knowledge_point", relative=True)
    flagged = set(zip(k.loc[k["flag"], "school_name"], k.loc[k["flag"], "knowledge_point"],
                      strict=True))
    assert (WEAK_SCHOOL, WEAK_KP) in flagged
    assert SMALL_SCHOOL not in {s for s, _ in flagged}


def test_bh_hand_computed_and_statsmodels():
    # Sorted p: .005 .01 .03 .04 → × 4/rank: .02 .02 .04 .04 → running min from the top: same.
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = bh_qvalues(p)
    np.testing.assert_allclose(q[:4], [0.02, 0.04, 0.04, 0.02], atol=1e-15)
    assert np.isnan(q[4])
    # Step-up: .02·3/2 = .03 is lowered by the later .025·3/3 = .025.
    np.testing.assert_allclose(bh_qvalues([0.001, 0.02, 0.025]), [0.003, 0.025, 0.025])
    rng = np.random.default_rng(3)
    pr = np.concatenate([rng.uniform(size=200), rng.uniform(0, 0.01, 20)])
    np.testing.assert_allclose(bh_qvalues(pr), multipletests(pr, method="fdr_bh")[1], rtol=1e-12)


def test_q_values_are_bh_over_all_comparisons_and_school_filter_keeps_them(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    ok = f["p_value"].notna()
    np.testing.assert_allclose(f.loc[ok, "q_value"],
                               multipletests(f.loc[ok, "p_value"], method="fdr_bh")[1],
                               rtol=1e-12)
    one = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class", school=WEAK_SCHOOL)
    assert set(one["school_name"]) == {WEAK_SCHOOL}
    assert one["class_id"].nunique() == 2
    merged = one.merge(f, on=["class_id", "item_id"], suffixes=("", "_all"))
    np.testing.assert_allclose(merged["q_value"], merged["q_value_all"])


def test_no_flags_in_a_district_without_hotspots(tmp_path):
    from analytics.warehouse import Warehouse

    with Warehouse(tmp_path / "null.duckdb") as wh:
        build_hotspot_exam(wh, plant=False)
        for grain in ("item", "knowledge_point"):
            for level in ("school", "class"):
                f = error_hotspots(wh, exam=EXAM, subject=SUBJECT, grain=grain, level=level)
                assert not f["flag"].any(), (grain, level)
                # sanity: the p-values are not degenerate
                assert f["p_value"].between(0, 1).all()


def test_district_weak_points_and_matrix_match_pandas(planted):
    r = raw_x(planted)
    d = district_weak_points(planted, exam=EXAM, subject=SUBJECT)
    assert list(d.columns) == ["rank", "item_id", "item_number", "item_label", "item_type",
                               "knowledge_points", "n", "max_score", "score_rate", "ci_low",
                               "ci_high", "difficulty_band", "wrong_option",
                               "wrong_option_share"]
    direct = r.groupby("label")["x"].mean()
    assert d["score_rate"].is_monotonic_increasing
    np.testing.assert_allclose(d["score_rate"], direct.loc[d["item_label"]].to_numpy())
    assert list(d["rank"]) == list(range(1, len(d) + 1))
    assert list(d["difficulty_band"]) == list(difficulty_band(d["score_rate"]))
    assert len(district_weak_points(planted, exam=EXAM, subject=SUBJECT, top=3)) == 3

    ik = planted.df("SELECT k.item_id, k.knowledge_point FROM item_knowledge k")
    rk = r.merge(ik, on="item_id")
    per = rk.groupby(["class_id", "student_key", "knowledge_point"]).agg(
        s=("score", lambda v: v.fillna(0).sum()), m=("max_score", "sum")).reset_index()
    per["x"] = per["s"] / per["m"]
    want = per.groupby(["class_id", "knowledge_point"])["x"].mean()
    m = knowledge_matrix(planted, exam=EXAM, subject=SUBJECT, level="class")
    assert list(m.columns) == ["school_id", "school_name", "class_id", "class_name",
                               "knowledge_point", "n_items", "n", "max_score", "score_rate",
                               "district_rate", "gap"]
    got = m.set_index(["class_id", "knowledge_point"])["score_rate"]
    np.testing.assert_allclose(got.sort_index(), want.sort_index(), rtol=1e-12)
    dk = district_weak_points(planted, exam=EXAM, subject=SUBJECT, grain="knowledge_point")
    np.testing.assert_allclose(
        dk.set_index("knowledge_point")["score_rate"].sort_index(),
        per.groupby("knowledge_point")["x"].mean().sort_index(), rtol=1e-12)


def test_bad_arguments(planted):
    with pytest.raises(InputError):
        error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="district")
    with pytest.raises(InputError):
        error_hotspots(planted, exam=EXAM, subject=SUBJECT, grain="student")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="zone", school=WEAK_SCHOOL)


def test_difficulty_band_edges():
    got = list(difficulty_band([0.95, 0.9, 0.7, 0.4, 0.2, 0.1, np.nan]))
    assert got == ["very_easy", "easy", "easy", "medium", "hard", "very_hard", None]


def test_cli_flagged_only_csv(tmp_path):
    from click.testing import CliRunner

    from analytics.warehouse import Warehouse
    from eqm.cli import cli

    db = tmp_path / "cli.duckdb"
    with Warehouse(db) as wh:
        build_hotspot_exam(wh)
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", str(db), "stats", "hotspots", "--exam", EXAM,
                              "--subject", SUBJECT, "--flagged-only", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].split(",")[:4] == ["zone_id", "zone_name", "school_id", "school_name"]
    shown = {(ln.split(",")[3], ln.split(",")[6]) for ln in lines[1:]}
    assert (DISTRACTOR_SCHOOL, DISTRACTOR_ITEM) in shown
    assert all(s != SMALL_SCHOOL for s, _ in shown)
    res = runner.invoke(cli, ["--db", str(db), "stats", "hotspots", "--exam", "无此考试",
                              "--subject", SUBJECT])
    assert res.exit_code == 2
    assert "找不到试卷" in res.output
