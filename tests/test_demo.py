"""The demo district: deterministic, realistic, and its planted truths visible with plain SQL.

The checks here use only the warehouse tables (no analytics module of other issues): Kelley's
upper/lower 27% groups by paper total, score rates, within-paper z scores.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

from analytics.demo import build_demo, generate
from analytics.demo.district import (
    EXAM_BY_KEY,
    make_schools,
    paper_spec,
    score_codes,
    simulate_item,
)
from analytics.warehouse import Warehouse

SEED = 7
ENTRY = EXAM_BY_KEY["entry"].name
MONITOR = EXAM_BY_KEY["monitor"].name
TABLES = ("districts", "zones", "schools", "classes", "students", "exams", "papers", "items",
          "item_knowledge", "paper_results", "responses", "surveys", "survey_answers",
          "demo_truths")


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A small demo (1,500 students, grades 5 and 9, the three subjects holding truths; 语文 is
    built by the determinism test), built once."""
    root = tmp_path_factory.mktemp("demo")
    summary = build_demo(root / "w.duckdb", students=1500, seed=SEED, out_dir=root / "files",
                         subjects=["数学", "英语", "科学"], progress=False)
    wh = Warehouse(root / "w.duckdb")
    yield wh, summary, root / "files"
    wh.close()


def paper_id(wh: Warehouse, exam: str, subject: str, grade: int) -> int:
    return int(wh.scalar(
        "SELECT p.paper_id FROM papers p JOIN exams e USING (exam_id) "
        "WHERE e.name = $e AND p.subject = $s AND p.grade = $g",
        {"e": exam, "s": subject, "g": grade}))


def truth(wh: Warehouse, kind: str) -> pd.DataFrame:
    return wh.df("SELECT * FROM demo_truths WHERE kind = $k", {"k": kind})


def kelley_groups_sql() -> str:
    """Upper / lower 27% of a paper's present students by total (Kelley 1939)."""
    return """
        WITH t AS (SELECT student_key, total FROM paper_results
                   WHERE paper_id = $p AND status = 'present'),
             q AS (SELECT quantile_cont(total, 0.27) AS lo, quantile_cont(total, 0.73) AS hi
                   FROM t)
        SELECT student_key,
               CASE WHEN total >= hi THEN 'upper' WHEN total <= lo THEN 'lower' END AS grp
        FROM t, q
    """


def table_hashes(path: Path) -> dict[str, str]:
    with Warehouse(path, read_only=True) as wh:
        return {t: wh.scalar(
            f"SELECT md5(coalesce(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR), '')) "
            f"FROM (SELECT * FROM {t}) x") for t in TABLES}


# ---------------------------------------------------------------------------------------------
# the generator alone
# ---------------------------------------------------------------------------------------------
def test_generator_is_deterministic_and_seed_sensitive():
    a = generate(800, seed=3, subjects=["数学"], grades=[9])
    b = generate(800, seed=3, subjects=["数学"], grades=[9])
    c = generate(800, seed=4, subjects=["数学"], grades=[9])
    pd.testing.assert_frame_equal(a.students, b.students)
    pd.testing.assert_frame_equal(a.truths, b.truths)
    for pa_, pb in zip(a.papers, b.papers, strict=True):
        assert np.array_equal(pa_.raw, pb.raw) and np.array_equal(pa_.status, pb.status)
    assert not a.students["name"].equals(c.students["name"])
    assert not np.array_equal(a.papers[-1].raw, c.papers[-1].raw)


def test_default_district_structure():
    d = generate(12_000, seed=2026, subjects=["数学"])
    s, u = d.schools, d.units
    assert len(s) == 40 and s["zone"].nunique() == 4
    assert (s["ownership"] == "private").sum() >= 2
    assert s["name"].is_unique and len(d.students) == 12_000
    assert set(d.students["grade"]) == {5, 9}
    # small rural schools with one class, large urban ones with 8+ classes
    assert ((u["locality"] == "rural") & (u["n_classes"] == 1)).any()
    assert ((u["locality"] == "urban") & (u["n_classes"] >= 8)).any()
    sizes = d.students.groupby("class_no").size()
    assert 15 <= sizes.median() <= 55
    assert d.students["student_id"].is_unique
    # primary schools only in grade 5, middle schools only in grade 9
    kind = s.set_index("school_no")["kind"]
    g_by_kind = d.students.groupby(d.students["school_no"].map(kind))["grade"].unique()
    assert set(g_by_kind["primary"]) == {5} and set(g_by_kind["middle"]) == {9}
    # SES is correlated with school: the between-school share of variance is substantial
    ses = d.students.groupby("school_no")["ses"]
    icc = ses.transform("mean").var() / d.students["ses"].var()
    assert 0.1 < icc < 0.7


@pytest.mark.parametrize("n", [16, 40, 400, 3334])
def test_school_names_unique_at_every_scale(n: int):
    s = make_schools(n, (5, 9), seed=1)
    assert s["name"].is_unique and s["code"].is_unique
    assert s["name"].str.endswith(("小学", "中学", "学校")).all()


def test_2pl_item_recovers_its_parameters():
    """Binary items are 2PL: logit P(right | theta) = a (theta − b); fit by ML (statsmodels)."""
    rng = np.random.default_rng(11)
    theta = rng.normal(0, 1, 40_000)
    item = {"a": 1.4, "b": 0.3, "item_type": "fill", "max_score": 2.0, "step": 2.0}
    raw = simulate_item(item, theta, rng)
    keep = raw >= 0                                  # blanks (not answered) left out
    fit = sm.Logit((raw[keep] == 1).astype(float), sm.add_constant(theta[keep])).fit(disp=0)
    a_hat, c_hat = fit.params[1], fit.params[0]
    # tolerance: ~4 standard errors at n = 40,000 (blanks, which favour the weak, bias b a bit)
    assert a_hat == pytest.approx(1.4, abs=0.08)
    assert -c_hat / a_hat == pytest.approx(0.3, abs=0.1)


def test_graded_item_has_grm_cumulative_probabilities():
    """Polytomous items follow the GRM: P(X >= k | theta) = logistic(a (theta − b_k)) with
    b_k = b + w (k − (m + 1)/2), w = spread / m (Samejima 1969)."""
    rng = np.random.default_rng(12)
    theta = rng.normal(0, 1, 40_000)
    item = {"a": 1.2, "b": 0.0, "item_type": "constructed", "max_score": 4.0, "step": 1.0,
            "spread": 4.0}
    raw = simulate_item(item, theta, rng)
    ok = raw >= 0
    for k in (1, 2, 3, 4):
        b_k = 0.0 + 1.0 * (k - 2.5)
        fit = sm.Logit((raw[ok] >= k).astype(float), sm.add_constant(theta[ok])).fit(disp=0)
        assert fit.params[1] == pytest.approx(1.2, abs=0.1)
        assert -fit.params[0] / fit.params[1] == pytest.approx(b_k, abs=0.12)


def test_multiple_choice_scoring_by_hand():
    """多选 key ACD, partial 2 of 4: ACD → 4, AC → 2 (proper subset), AB → 0, blank → NaN."""
    spec = paper_spec("数学", 9, "entry", seed=1)
    spec = spec[spec["item_type"] == "multiple"].head(1).copy()
    spec["answer_key"] = spec["true_key"] = "ACD"
    spec["max_score"], spec["partial_score"] = 4.0, 2.0
    spec["candidates"] = [("ACD", "A", "C", "AC", "AB")]
    got = score_codes(spec, np.array([[0], [3], [4], [1], [-1]], dtype=np.int16))
    assert got[:4, 0].tolist() == [4.0, 2.0, 0.0, 2.0] and np.isnan(got[4, 0])


# ---------------------------------------------------------------------------------------------
# the built warehouse
# ---------------------------------------------------------------------------------------------
def test_build_summary_and_tables(built):
    wh, summary, _ = built
    assert summary["students"] == 1500 and summary["papers"] == 3 * 3 * 2
    assert summary["responses"] == wh.scalar("SELECT count(*) FROM responses") > 0
    exams = wh.df("SELECT name, exam_date FROM exams ORDER BY exam_date")["name"].tolist()
    assert exams == [ENTRY, EXAM_BY_KEY["mid"].name, MONITOR]
    has_items = wh.df("SELECT e.name, bool_and(has_items) AS h FROM papers JOIN exams e "
                      "USING (exam_id) GROUP BY e.name").set_index("name")["h"]
    assert has_items[ENTRY] and has_items[MONITOR] and not has_items[EXAM_BY_KEY["mid"].name]
    # questions printed in parts (23(1), 23(2)) arrive with their labels: 数学 and 科学 grade 9,
    # entry and monitoring papers, two parts each
    parts = wh.scalar("SELECT count(*) FROM items WHERE regexp_matches(label, $re)",
                      {"re": r"^\d+\(\d\)$"})
    assert parts == 8
    n_q = wh.scalar("SELECT count(DISTINCT question) FROM survey_answers")
    assert 28 <= n_q <= 35
    # absentees are absent (not zero) and about 1.5% of each paper
    share = wh.df("SELECT paper_id, avg((status = 'absent')::INT) AS s FROM paper_results "
                  "GROUP BY paper_id")["s"]
    assert share.between(0.003, 0.04).all()


def test_all_planted_truths_present(built):
    wh, _, _ = built
    kinds = wh.df("SELECT kind, count(*) AS n FROM demo_truths GROUP BY kind")
    n = dict(zip(kinds["kind"], kinds["n"], strict=True))
    assert n["school_effect"] == 6 * 3          # six school × grade units, every subject
    assert n["weak_knowledge_point"] == 3
    assert n["wrong_key"] == 1 and n["attractive_distractor"] == 1
    assert n["gender_gap"] == 2 and n["other"] == 1
    va = truth(wh, "school_effect")
    assert va["value"].abs().between(0.3, 0.5).all()
    assert (va["value"] > 0).any() and (va["value"] < 0).any()
    schools = set(wh.df("SELECT name FROM schools")["name"])
    assert set(va["school"]) <= schools
    assert set(truth(wh, "weak_knowledge_point")["school"]) <= schools


def test_wrong_key_item_discriminates_negatively(built):
    wh, _, _ = built
    t = truth(wh, "wrong_key").iloc[0]
    p = paper_id(wh, t["exam"], t["subject"], int(t["grade"]))
    listed = wh.scalar("SELECT answer_key FROM items WHERE paper_id = $p AND label = $l",
                       {"p": p, "l": t["item_label"]})
    assert listed == t["option"]
    rates = wh.df(f"""
        WITH g AS ({kelley_groups_sql()})
        SELECT grp, avg(coalesce(r.score, 0)) / any_value(i.max_score) AS rate
        FROM responses r JOIN g USING (student_key) JOIN items i USING (item_id)
        WHERE r.paper_id = $p AND i.label = $l AND grp IS NOT NULL GROUP BY grp
    """, {"p": p, "l": t["item_label"]}).set_index("grp")["rate"]
    assert rates["upper"] < rates["lower"] - 0.2
    # every other objective item of the paper discriminates positively
    d = wh.df(f"""
        WITH g AS ({kelley_groups_sql()})
        SELECT i.label,
               avg(coalesce(r.score, 0)) FILTER (WHERE grp = 'upper') / any_value(i.max_score)
             - avg(coalesce(r.score, 0)) FILTER (WHERE grp = 'lower') / any_value(i.max_score)
               AS d
        FROM responses r JOIN g USING (student_key) JOIN items i USING (item_id)
        WHERE r.paper_id = $p AND grp IS NOT NULL GROUP BY i.label
    """, {"p": p}).set_index("label")["d"]
    assert (d.drop(t["item_label"]) > 0.1).all()


def test_attractive_distractor_pulls_the_upper_group(built):
    wh, _, _ = built
    t = truth(wh, "attractive_distractor").iloc[0]
    p = paper_id(wh, t["exam"], t["subject"], int(t["grade"]))
    share = wh.df(f"""
        WITH g AS ({kelley_groups_sql()})
        SELECT grp, avg((coalesce(r.answer, '') = $o)::INT) AS s
        FROM responses r JOIN g USING (student_key) JOIN items i USING (item_id)
        WHERE r.paper_id = $p AND i.label = $l AND grp IS NOT NULL GROUP BY grp
    """, {"p": p, "l": t["item_label"], "o": t["option"]}).set_index("grp")["s"]
    assert share["upper"] > share["lower"] + 0.05


def test_weak_knowledge_point_lower_in_planted_schools(built):
    wh, _, _ = built
    t = truth(wh, "weak_knowledge_point")
    kp, first = t["knowledge_point"].iloc[0], t.iloc[0]
    p = paper_id(wh, first["exam"], first["subject"], int(first["grade"]))
    rates = wh.df("""
        SELECT st.school_name AS school,
               EXISTS (SELECT 1 FROM item_knowledge k
                       WHERE k.item_id = r.item_id AND k.knowledge_point = $kp) AS on_kp,
               sum(coalesce(r.score, 0)) / sum(i.max_score) AS rate
        FROM responses r JOIN items i USING (item_id) JOIN student_tree st USING (student_key)
        WHERE r.paper_id = $p GROUP BY ALL
    """, {"p": p, "kp": kp}).pivot(index="school", columns="on_kp", values="rate")
    assert rates.shape[1] == 2
    gap = rates[True] - rates[False]                # KP score rate relative to the rest
    planted = gap[gap.index.isin(t["school"])]
    others = gap[~gap.index.isin(t["school"])]
    assert len(planted) == 3
    assert planted.mean() < others.mean() - 0.08
    assert (planted < others.median()).all()


def test_value_added_schools_gain_in_the_planted_direction(built):
    wh, _, _ = built
    va = truth(wh, "school_effect")
    gains = wh.df("""
        WITH z AS (
            SELECT e.name AS exam, p.subject, p.grade, r.student_key,
                   (r.total - avg(r.total) OVER w) / stddev_samp(r.total) OVER w AS z
            FROM paper_results r JOIN papers p USING (paper_id) JOIN exams e USING (exam_id)
            WHERE r.status = 'present' AND e.name IN ($entry, $monitor)
            WINDOW w AS (PARTITION BY r.paper_id)
        ), s AS (
            SELECT student_key, subject, grade,
                   max(z) FILTER (WHERE exam = $monitor) - max(z) FILTER (WHERE exam = $entry)
                       AS gain
            FROM z GROUP BY ALL
        )
        SELECT st.school_name AS school, s.grade, avg(gain) AS gain, count(gain) AS n
        FROM s JOIN student_tree st USING (student_key) GROUP BY ALL
    """, {"entry": ENTRY, "monitor": MONITOR})
    planted = va.groupby(["school", "grade"], as_index=False)["value"].mean()
    m = planted.merge(gains, on=["school", "grade"])
    assert len(m) == 6
    assert (np.sign(m["gain"]) == np.sign(m["value"])).all()
    assert (m["gain"] * np.sign(m["value"])).min() > 0.1
    others = gains.merge(planted, on=["school", "grade"], how="left", indicator=True)
    others = others[(others["_merge"] == "left_only") & (others["n"] >= 30)]
    assert others["gain"].abs().mean() < (m["gain"].abs().mean()) / 2


def test_gender_gap_in_english(built):
    wh, _, _ = built
    gap = wh.df("""
        WITH z AS (
            SELECT p.grade, st.gender,
                   (r.total - avg(r.total) OVER w) / stddev_samp(r.total) OVER w AS z
            FROM paper_results r JOIN papers p USING (paper_id) JOIN exams e USING (exam_id)
                 JOIN student_tree st USING (student_key)
            WHERE r.status = 'present' AND e.name = $monitor AND p.subject = $s
            WINDOW w AS (PARTITION BY r.paper_id)
        )
        SELECT grade, avg(z) FILTER (WHERE gender = 'F') - avg(z) FILTER (WHERE gender = 'M')
               AS gap FROM z GROUP BY grade
    """, {"monitor": MONITOR, "s": "英语"})
    assert len(gap) == 2 and (gap["gap"] > 0.1).all()


def test_one_void_paper(built):
    wh, _, _ = built
    t = truth(wh, "other").iloc[0]
    p = paper_id(wh, t["exam"], t["subject"], int(t["grade"]))
    void = wh.df("SELECT s.student_id FROM paper_results r JOIN students s USING (student_key) "
                 "WHERE r.status = 'void'")
    assert len(void) == 1 and void["student_id"].iloc[0] in t["note"]
    assert wh.scalar("SELECT count(*) FROM paper_results WHERE status = 'void' AND paper_id = $p",
                     {"p": p}) == 1


def test_entry_predicts_monitoring(built):
    """Ability persists: entry and monitoring totals correlate (r between .6 and .95)."""
    wh, _, _ = built
    r = wh.df("""
        SELECT p.subject, p.grade,
               corr(a.total, b.total) AS r
        FROM paper_results a JOIN papers pa ON pa.paper_id = a.paper_id
             JOIN exams ea ON ea.exam_id = pa.exam_id AND ea.name = $entry
             JOIN paper_results b ON b.student_key = a.student_key
             JOIN papers p ON p.paper_id = b.paper_id AND p.subject = pa.subject
                          AND p.grade = pa.grade
             JOIN exams eb ON eb.exam_id = p.exam_id AND eb.name = $monitor
        WHERE a.status = 'present' AND b.status = 'present' GROUP BY ALL
    """, {"entry": ENTRY, "monitor": MONITOR})
    assert len(r) == 6 and r["r"].between(0.6, 0.95).all()


def test_survey_is_plausible(built):
    wh, _, _ = built
    s = wh.df("""
        SELECT sv.grade, a.question, avg(a.value_num) AS m, count(a.value_num) AS n
        FROM survey_answers a JOIN surveys sv USING (survey_id) GROUP BY ALL
    """).pivot(index="question", columns="grade", values="m")
    assert s.loc["睡眠时间", 9] < s.loc["睡眠时间", 5]
    assert s.loc["作业时间", 9] > s.loc["作业时间", 5]
    likert = s.drop(index=["睡眠时间", "作业时间", "校外辅导时间"])
    assert likert.stack().between(1.5, 4.5).all()


def test_green_attainment_levels_spread_over_the_planted_schools(built):
    """The schools differ by planted intake (0.45 × school SES) and value added, so their 学业水平
    levels must spread (issue 16: ``1 − 2.5 × fail rate`` gave level 1 to nearly every school of
    the demo, whose papers fail 20–53% of the students at the 60% line)."""
    from analytics.green import green_indicators

    wh, _, _ = built
    for grade in (5, 9):
        g = green_indicators(wh, exam=MONITOR, subject="数学", grade=grade, level="school")
        a = g[g["indicator"] == "attainment"].set_index("school_id")
        raw = wh.df("""
            SELECT s.school_id, avg(CAST(pr.total >= 0.6 * p.full_score AS DOUBLE)) AS pass
            FROM paper_results pr JOIN papers p USING (paper_id) JOIN exams e USING (exam_id)
                 JOIN students s USING (student_key)
            WHERE e.name = $m AND p.subject = '数学' AND p.grade = $g AND pr.status = 'present'
            GROUP BY s.school_id
        """, {"m": MONITOR, "g": grade}).set_index("school_id").loc[a.index]
        np.testing.assert_allclose(a["value"], raw["pass"])     # 达标率, the pass share
        levels = a["index_level"].astype(int)
        assert (levels == 1).mean() < 0.5, levels.tolist()
        assert levels.max() - levels.min() >= 2, levels.tolist()


def test_files_vary_like_real_offices(built):
    _, _, out = built
    scores = sorted(out.glob("成绩_*"))
    raw = {f.name: f.read_bytes() for f in scores if f.suffix == ".csv"}

    def utf8(b: bytes) -> bool:
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    assert any(not utf8(b) and b.decode("gbk") for b in raw.values())          # GBK
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())           # BOM
    text = {k: b.decode("utf-8-sig") for k, b in raw.items() if utf8(b)}
    assert any(t.split("\n", 1)[0].startswith(MONITOR) or t.split("\n", 1)[0].startswith(ENTRY)
               for t in text.values())                                          # title row
    assert any("１" in t or "２" in t for t in text.values())                   # full width
    assert any(",缺考,缺考," in t and "状态" not in t for t in text.values())     # no status col
    xlsx = [f for f in scores if f.suffix == ".xlsx"]
    assert len(xlsx) == 1
    import openpyxl

    wb = openpyxl.load_workbook(xlsx[0])
    assert wb.active.merged_cells.ranges                                        # merged title
    assert list(out.glob("细目表_*.xlsx")) and list(out.glob("总分_*.csv"))


def test_same_seed_same_warehouse_and_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two builds with one seed give identical tables; `eqm demo` deletes the old file first,
    then serves through dashboards.app.serve when it exists."""
    from eqm.cli import cli

    args = {"students": 300, "seed": 5, "subjects": ["语文"], "grades": [9]}
    build_demo(tmp_path / "a.duckdb", out_dir=tmp_path / "fa", progress=False, **args)
    shutil.copy(tmp_path / "a.duckdb", tmp_path / "b.duckdb")
    served: list[tuple[str, int]] = []
    fake = types.ModuleType("dashboards.app")
    fake.serve = lambda db, port=8050: served.append((db, port))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dashboards.app", fake)
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "b.duckdb"), "demo", "--students",
                                   "300", "--seed", "5", "--subjects", "语文", "--grades", "9",
                                   "--out-dir", str(tmp_path / "fb"), "--quiet",
                                   "--port", "8123"], obj={})
    assert res.exit_code == 0, res.output
    assert "已删除旧数据库" in res.output and "deleted the old warehouse" in res.output
    assert served == [(str(tmp_path / "b.duckdb"), 8123)]
    assert table_hashes(tmp_path / "a.duckdb") == table_hashes(tmp_path / "b.duckdb")
    sha = {d: {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
               for f in (tmp_path / d).iterdir()} for d in ("fa", "fb")}
    assert sha["fa"] == sha["fb"]
    # with 语文 alone the wrong key falls back to the 语文 paper and stays visible
    with Warehouse(tmp_path / "b.duckdb", read_only=True) as wh:
        assert set(wh.df("SELECT kind FROM demo_truths")["kind"]) >= {
            "school_effect", "weak_knowledge_point", "wrong_key", "attractive_distractor"}


def test_cli_rejects_unknown_subject(tmp_path: Path):
    from eqm.cli import cli

    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.duckdb"), "demo", "--subjects",
                                   "物理", "--no-serve"], obj={})
    assert res.exit_code == 2 and "未知学科" in res.output
