"""The one derived-table mechanism (analytics.reduce.derived): for each family (item passes,
knowledge results, summary tables) a change made behind the importers' back is seen (stale →
recomputed, never read stale); an import refreshes only the papers it touched; a warehouse of
schema 6 upgrades (`eqm init`); item_sums' three ways are one named rule, each tested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analytics.domain.levels import LEVEL_KEYS
from analytics.hotspots import error_hotspots
from analytics.importers import import_paper, import_scores
from analytics.items import item_stats
from analytics.reduce import item_passes
from analytics.reduce.derived import (
    STORED,
    derived_state,
    fingerprint,
    is_current,
    keep_derived_current,
    stale_papers,
)
from analytics.reduce.item_sums import (
    KELLEY_SHARE,
    item_sums,
    item_sums_path,
    item_sums_sql,
    split_item_sums,
)
from analytics.scores import score_report
from analytics.summaries import read_summary, refresh_summaries, summaries_stale, summary
from analytics.warehouse import SCHEMA_VERSION, Warehouse
from tests.builders import build_exam
from tests.test_importers import SPEC, scores_file, scores_rows, write_csv

ITEMS = [
    {"label": "1", "key": "B", "knowledge_points": ["数"]},
    {"label": "2", "key": "C", "knowledge_points": ["数"]},
    {"label": "3", "item_type": "multiple", "key": "AC", "max_score": 2, "partial_score": 1,
     "knowledge_points": ["式"]},
    {"label": "4", "item_type": "fill", "max_score": 2, "knowledge_points": ["形"]},
    {"label": "5", "item_type": "constructed", "max_score": 6, "knowledge_points": ["形", "式"]},
]


def _build(path: Path, seed: int = 3) -> tuple[Warehouse, dict[str, Any], int]:
    w = Warehouse(path)
    b = build_exam(w, n_schools=4, students_per_school=30, items=ITEMS, seed=seed,
                   classes_per_school=2, absent_rate=0.05, omit_rate=0.05)
    return w, {"exam": b["exam"], "subject": b["subject"], "grade": b["grade"]}, b["paper_id"]


def _fresh(w: Warehouse, fn: Any, **kw: Any) -> pd.DataFrame:
    """``fn`` computed from the responses only (no stored table read)."""
    w.stored_passes = False
    w.forget_shared()
    try:
        return fn(w, **kw)
    finally:
        w.stored_passes = True
        w.forget_shared()


def _change_scores_by_hand(w: Warehouse, paper_id: int) -> None:
    """Scores changed without the importers, and the totals made to agree."""
    w.execute("UPDATE responses SET score = 0, answer = 'A' WHERE paper_id = $p AND score > 0 "
              "AND student_key % 3 = 0", {"p": paper_id})
    w.execute("UPDATE paper_results pr SET total = t.s FROM (SELECT student_key, "
              "sum(coalesce(score, 0)) AS s FROM responses WHERE paper_id = $p "
              "GROUP BY student_key) t WHERE pr.student_key = t.student_key "
              "AND pr.paper_id = $p AND pr.status = 'present'", {"p": paper_id})


@pytest.mark.parametrize("name", ["item_passes", "knowledge_results"])
def test_a_stored_family_changed_behind_the_importers_back_is_never_read(
        tmp_path: Path, name: str) -> None:
    w, p, paper_id = _build(tmp_path / "w.duckdb")
    read = {"item_passes": lambda w, **kw: item_stats(w, **kw),
            "knowledge_results": lambda w, **kw: error_hotspots(w, **kw,
                                                                by="knowledge_point")}[name]
    assert is_current(w, name, paper_id)
    before = read(w, **p)
    _change_scores_by_hand(w, paper_id)
    assert not is_current(w, name, paper_id)
    assert stale_papers(w, name) == [paper_id]
    now = read(w, **p)                                  # not the stale table: the responses
    assert not now.equals(before)
    pd.testing.assert_frame_equal(now, _fresh(w, read, **p), check_dtype=False, rtol=1e-9)
    kept = keep_derived_current(w, only=STORED)
    assert kept.refreshed == {"item_passes": [paper_id], "knowledge_results": [paper_id]}
    assert is_current(w, name, paper_id)
    pd.testing.assert_frame_equal(read(w, **p), now, check_dtype=False, rtol=1e-9)
    assert keep_derived_current(w, only=STORED).refreshed == {
        "item_passes": [], "knowledge_results": []}
    w.close()


def test_summaries_changed_behind_the_importers_back_are_never_read(tmp_path: Path) -> None:
    w, p, paper_id = _build(tmp_path / "w.duckdb")
    refresh_summaries(w)
    assert not summaries_stale(w)
    assert is_current(w, "summaries", paper_id, "score_report_school")
    stored = read_summary(w, "score_report_school", paper_id)
    assert stored is not None
    w.execute("UPDATE paper_results SET total = total + 5 WHERE paper_id = $p "
              "AND status = 'present' AND student_key % 2 = 0", {"p": paper_id})
    assert summaries_stale(w)
    assert not is_current(w, "summaries", paper_id, "score_report_school")
    assert read_summary(w, "score_report_school", paper_id) is None      # never read stale
    live = score_report(w, **p, level="school")
    got = summary(w, "score_report_school", **p)
    assert got is not None
    pd.testing.assert_frame_equal(got, live)
    assert not live["mean"].equals(stored.sort_values("school_id")["mean"])
    log = refresh_summaries(w)
    assert set(log["paper_id"]) == {paper_id} and (log["status"] != "failed").all()
    again = read_summary(w, "score_report_school", paper_id)
    assert again is not None
    pd.testing.assert_frame_equal(again.sort_values("school_id").reset_index(drop=True),
                                  live.sort_values("school_id").reset_index(drop=True),
                                  check_dtype=False, rtol=1e-12)
    assert refresh_summaries(w).empty                                   # nothing stale left
    w.close()


def test_a_fresh_import_refreshes_only_the_papers_it_touched(wh, tmp_path: Path) -> None:
    for subject in ("数学", "语文"):
        import_paper(wh, write_csv(tmp_path / f"spec_{subject}.csv", SPEC), exam="监测",
                     subject=subject, grade=9)
        import_scores(wh, scores_file(tmp_path, name=f"s_{subject}.csv"), exam="监测",
                      subject=subject)
    ids = dict(zip(*wh.df("SELECT subject, paper_id FROM papers").to_dict("list").values(),
                   strict=True))
    refresh_summaries(wh)
    before = derived_state(wh)
    assert set(before["family"]) == {"item_passes", "knowledge_results", "summaries"}
    # the 语文 scores again, one answer changed
    rows = scores_rows()
    rows[0][4] = "C"
    import_scores(wh, scores_file(tmp_path, rows, name="s2.csv"), exam="监测", subject="语文")
    after = derived_state(wh)
    math, chinese = before["paper_id"] == ids["数学"], before["paper_id"] == ids["语文"]
    stored = before["family"].isin(STORED)
    # the untouched paper's state is as it was (not rebuilt); the touched one's is new
    pd.testing.assert_frame_equal(after[after["paper_id"] == ids["数学"]].reset_index(drop=True),
                                  before[math].reset_index(drop=True))
    new = after[(after["paper_id"] == ids["语文"]) & after["family"].isin(STORED)]
    old = before[chinese & stored]
    assert (new["fingerprint"].to_numpy() != old["fingerprint"].to_numpy()).all()
    assert (new["refreshed_at"].to_numpy() > old["refreshed_at"].to_numpy()).all()
    # the summaries: stale only for the touched paper, and only it is recomputed
    assert stale_papers(wh, "summaries") == [ids["语文"]]
    log = refresh_summaries(wh)
    assert set(log["paper_id"]) == {ids["语文"]}
    assert not summaries_stale(wh)


OLD_PASS_STATE = """
    CREATE TABLE item_pass_state (
        paper_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, share DOUBLE NOT NULL,
        n_responses BIGINT NOT NULL, h_responses UBIGINT, n_results BIGINT NOT NULL,
        h_results UBIGINT, refreshed_at TIMESTAMP NOT NULL DEFAULT current_timestamp);
    INSERT INTO item_pass_state (paper_id, version, share, n_responses, h_responses,
                                 n_results, h_results)
    SELECT $paper_id, 1, $share, r.n_responses, r.h_responses, p.n_results, p.h_results
    FROM (SELECT count(*) AS n_responses,
                 bit_xor(hash(student_key, item_id, score, answer)) AS h_responses
          FROM responses WHERE paper_id = $paper_id) r,
         (SELECT count(*) AS n_results,
                 bit_xor(hash(pr.student_key, pr.status, pr.total, s.district_id,
                              s.school_id, s.class_id)) AS h_results
          FROM paper_results pr LEFT JOIN student_tree s ON s.student_key = pr.student_key
          WHERE pr.paper_id = $paper_id) p
"""


def test_eqm_init_upgrades_a_warehouse_of_schema_6(tmp_path: Path) -> None:
    """Schema 6 recorded the stored passes' fingerprint in item_pass_state (as the code of
    that schema wrote it, :data:`OLD_PASS_STATE`) and knew no other: migration 7 carries it
    over, so the passes are current without a rebuild; knowledge_results is rebuilt once."""
    from click.testing import CliRunner

    from eqm.cli import cli

    path = tmp_path / "v6.duckdb"
    w, p, paper_id = _build(path, seed=8)
    want = {"items": _fresh(w, item_stats, **p),
            "kp": _fresh(w, error_hotspots, **p, by="knowledge_point")}
    passes_before = w.df("SELECT * FROM item_pass_kelley ORDER BY ALL")
    w.execute("DROP TABLE derived_state")
    w.execute(OLD_PASS_STATE, {"paper_id": paper_id, "share": KELLEY_SHARE})
    # a file of schema 6 has none of the later migrations (007; 008, the help records, creates
    # its tables if missing; 009, the IRT parameters, since issue 18)
    w.execute("DELETE FROM schema_version WHERE version >= 7")
    w.execute("DROP TABLE irt_parameters")   # 009
    assert w.schema_version() == 6
    w.close()
    res = CliRunner().invoke(cli, ["--db", str(path), "init"])
    assert res.exit_code == 0, res.output
    assert f"v6 → v{SCHEMA_VERSION}" in res.output and "applied 7" in res.output
    assert "生成题目汇总" not in res.output                # the passes were not rebuilt
    w = Warehouse(path)
    assert "item_pass_state" not in w.tables()
    state = derived_state(w).set_index("family")
    assert state.loc["item_passes", "fingerprint"] == fingerprint(w, "item_passes", paper_id)
    assert is_current(w, "item_passes", paper_id)
    assert is_current(w, "knowledge_results", paper_id)        # rebuilt by init
    assert summaries_stale(w)                                   # refreshed at serve/publish
    pd.testing.assert_frame_equal(w.df("SELECT * FROM item_pass_kelley ORDER BY ALL"),
                                  passes_before)
    pd.testing.assert_frame_equal(item_stats(w, **p), want["items"], check_dtype=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(error_hotspots(w, **p, by="knowledge_point"), want["kp"],
                                  check_dtype=False, rtol=1e-9)
    w.close()


def test_item_sums_path_each_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, _, paper_id = _build(tmp_path / "w.duckdb", seed=4)
    staged: list[str] = []
    real_stage = item_passes._stage

    def spy(wh: Any, sql: str, params: dict[str, Any]) -> str:
        staged.append(sql)
        return real_stage(wh, sql, params)

    monkeypatch.setattr(item_passes, "_stage", spy)

    def run(level: str, sorted_cov: bool, school_id: int | None = None) -> pd.DataFrame:
        staged.clear()
        w.forget_shared()
        s = item_sums(w, paper_id=paper_id, level=level, school_id=school_id,
                      sorted_cov=sorted_cov)
        return s.items.sort_values(["uid", "item_id"]).reset_index(drop=True)

    def direct(level: str, sorted_cov: bool) -> pd.DataFrame:
        raw = w.df(item_sums_sql(level, sorted_cov),
                   {"paper_id": paper_id, "school_id": None, "share": KELLEY_SHARE})
        s = split_item_sums(raw, list(LEVEL_KEYS[level]))
        return s.items.sort_values(["uid", "item_id"]).reset_index(drop=True)

    def reads_responses() -> bool:
        return any("FROM responses" in sql for sql in staged)

    # stored: the passes the importers keep are read, no pass over the responses is staged
    for level, sc in (("district", True), ("district", False), ("school", False)):
        assert item_sums_path(w, paper_id, level, None, sc) == "stored"
        got = run(level, sc)
        assert not reads_responses()
        pd.testing.assert_frame_equal(got, direct(level, sc), check_dtype=False, rtol=1e-12,
                                      atol=1e-9)
    stored = run("district", True)
    # staged: the same roll-up over passes staged from the responses — when the stored ones
    # are not current, or not allowed
    w.stored_passes = False
    assert item_sums_path(w, paper_id, "district", None, True) == "staged"
    pd.testing.assert_frame_equal(run("district", True), stored, check_dtype=False,
                                  rtol=1e-12)
    assert reads_responses()
    w.stored_passes = True
    w.execute("UPDATE students SET class_id = NULL WHERE student_key % 7 = 0")
    assert item_sums_path(w, paper_id, "school", None, False) == "staged"
    got = run("school", False)
    assert reads_responses()
    pd.testing.assert_frame_equal(got, direct("school", False), check_dtype=False,
                                  rtol=1e-12, atol=1e-9)
    # statement: other units, one school's own population, school units with the sorted
    # cross product — one statement, nothing staged
    school = int(w.scalar("SELECT min(school_id) FROM schools"))
    for args in (("zone", False, None), ("class", True, None), ("school", True, None),
                 ("district", True, school), ("school", False, school)):
        assert item_sums_path(w, paper_id, args[0], args[2], args[1]) == "statement"
        assert len(run(*args)) > 0
        assert staged == []
    with pytest.raises(Exception, match="galaxy"):
        item_sums_path(w, paper_id, "galaxy", None, True)
    w.close()
