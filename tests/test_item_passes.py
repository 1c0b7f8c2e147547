"""The stored item passes (analytics.reduce.item_passes: the per-paper reductions the importers
keep): every report computed from them equals the report computed from the responses, they are
not read once the responses, results or students' classes change behind the importers' back,
and the answers pass equals a direct pandas reduction of the raw responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.hotspots import district_weak_points, error_hotspots, knowledge_matrix
from analytics.items import item_stats
from analytics.paper import category_rates, paper_quality, specification_table
from analytics.reduce.derived import STORED, is_current, keep_derived_current
from analytics.reduce.item_passes import PASS_TABLES
from analytics.warehouse import SCHEMA_VERSION, Warehouse
from tests.builders import build_exam

ITEMS = [
    {"label": "1", "key": "B", "knowledge_points": ["数"]},
    {"label": "2", "key": "C", "difficulty": 1.0, "knowledge_points": ["数"]},
    {"label": "3", "item_type": "multiple", "key": "AC", "max_score": 2, "partial_score": 1,
     "knowledge_points": ["式"]},
    {"label": "4", "item_type": "true_false", "key": "T", "options": "TF",
     "knowledge_points": ["式"]},
    {"label": "5", "item_type": "fill", "max_score": 2, "knowledge_points": ["形"]},
    {"label": "6", "item_type": "constructed", "max_score": 6, "difficulty": 0.5,
     "knowledge_points": ["形", "式"]},
    {"label": "7", "key": "D", "true_key": "A", "knowledge_points": ["数"]},
]


def _build(path: Path, seed: int = 5) -> tuple[Warehouse, dict[str, Any], int]:
    w = Warehouse(path)
    b = build_exam(w, n_schools=6, students_per_school=41, items=ITEMS, seed=seed,
                   classes_per_school=3, absent_rate=0.05, omit_rate=0.06)
    return w, {"exam": b["exam"], "subject": b["subject"], "grade": b["grade"]}, b["paper_id"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, dict[str, Any], int]:
    return _build(tmp_path_factory.mktemp("passes") / "w.duckdb")


def _reports(w: Warehouse, p: dict[str, Any], stored: bool) -> dict[str, pd.DataFrame]:
    w.stored_passes = stored
    w.forget_shared()
    try:
        return {
            "items[district]": item_stats(w, **p, level="district"),
            "items[school]": item_stats(w, **p, level="school"),
            "paper_quality": paper_quality(w, **p, level="district"),
            "kp_rates": category_rates(w, **p),
            "specification": specification_table(w, **p),
            "hotspots[school,item]": error_hotspots(w, **p),
            "hotspots[school,kp]": error_hotspots(w, **p, grain="knowledge_point"),
            "hotspots[class,item]": error_hotspots(w, **p, level="class"),
            "hotspots[class,relative]": error_hotspots(w, **p, level="class", relative=True),
            "weak_points": district_weak_points(w, **p),
            "knowledge_matrix": knowledge_matrix(w, **p, level="class"),
        }
    finally:
        w.stored_passes = True
        w.forget_shared()


def _keep(w: Warehouse) -> list[int]:
    """The papers whose stored passes the one call rebuilt."""
    return keep_derived_current(w, only=STORED).refreshed["item_passes"]


def _assert_same_reports(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) > 0, name
        # floating sums may add in another order: equal to 1e-9 relative
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False, rtol=1e-9,
                                      obj=name)


def test_importers_leave_the_passes_current(built: tuple[Warehouse, dict[str, Any], int]
                                            ) -> None:
    w, _, paper_id = built
    w.forget_shared()
    assert is_current(w, "item_passes", paper_id)
    for table in PASS_TABLES.values():
        assert w.scalar(f"SELECT count(*) FROM {table} WHERE paper_id = $p",
                        {"p": paper_id}) > 0


def test_reports_from_stored_passes_equal_those_from_the_responses(
        built: tuple[Warehouse, dict[str, Any], int]) -> None:
    w, p, _ = built
    _assert_same_reports(_reports(w, p, stored=True), _reports(w, p, stored=False))


def test_stored_answers_pass_equals_pandas_on_the_raw_responses(
        built: tuple[Warehouse, dict[str, Any], int]) -> None:
    w, _, paper_id = built
    raw = w.df("""
        SELECT s.school_id, s.class_id, r.item_id, r.answer, r.score, pr.total AS t
        FROM responses r JOIN paper_results pr ON pr.student_key = r.student_key
                                              AND pr.paper_id = r.paper_id
        JOIN students s ON s.student_key = r.student_key
        WHERE r.paper_id = $p AND pr.status = 'present'
    """, {"p": paper_id})
    raw = raw.assign(xx=raw["score"] ** 2, xt=raw["score"] * raw["t"], tt=raw["t"] ** 2)
    keys = ["school_id", "class_id", "item_id", "answer"]
    want = raw.groupby(keys, dropna=False).agg(
        n=("t", "size"), n_answered=("score", "count"), sx=("score", "sum"),
        sxx=("xx", "sum"), sxt=("xt", "sum"), st=("t", "sum"), stt=("tt", "sum")).reset_index()
    got = w.df(f"SELECT * EXCLUDE (paper_id) FROM {PASS_TABLES['ans']} WHERE paper_id = $p",
               {"p": paper_id})
    # pandas sums an all-NULL group to 0, SQL to NULL
    for c in ("sx", "sxx", "sxt"):
        got[c] = got[c].fillna(0.0)
    for c in ("school_id", "class_id", "item_id"):
        got[c] = got[c].astype("int64")
        want[c] = want[c].astype("int64")
    assert got["answer"].isna().any() and (got["answer"].str.len() >= 2).any()
    pd.testing.assert_frame_equal(
        got.sort_values(keys).reset_index(drop=True)[want.columns],
        want.sort_values(keys).reset_index(drop=True), check_dtype=False, rtol=1e-12)


def test_changes_behind_the_importers_back_are_not_read(tmp_path: Path) -> None:
    w, p, paper_id = _build(tmp_path / "stale.duckdb", seed=9)
    fresh = item_stats(w, **p, level="district")
    # scores changed by hand (and totals made to agree): the stored passes no longer match
    w.execute("UPDATE responses SET score = 0, answer = 'B' WHERE paper_id = $p "
              "AND item_id = (SELECT min(item_id) FROM items WHERE paper_id = $p) "
              "AND student_key % 2 = 0", {"p": paper_id})
    w.execute("UPDATE paper_results pr SET total = t.s FROM (SELECT student_key, "
              "sum(coalesce(score, 0)) AS s FROM responses WHERE paper_id = $p "
              "GROUP BY student_key) t WHERE pr.student_key = t.student_key "
              "AND pr.paper_id = $p AND pr.status = 'present'", {"p": paper_id})
    assert not is_current(w, "item_passes", paper_id)
    now = _reports(w, p, stored=True)
    assert not np.allclose(now["items[district]"]["mean_score"], fresh["mean_score"])
    _assert_same_reports(now, _reports(w, p, stored=False))
    with w.transaction():
        assert _keep(w) == [paper_id]
    assert is_current(w, "item_passes", paper_id)
    assert _keep(w) == []                 # nothing left to rebuild
    _assert_same_reports(_reports(w, p, stored=True), now)

    # a student moved to another class by hand
    w.execute("UPDATE students SET class_id = (SELECT max(class_id) FROM classes) "
              "WHERE student_key = (SELECT min(student_key) FROM paper_results "
              "WHERE paper_id = $p AND status = 'present')", {"p": paper_id})
    assert not is_current(w, "item_passes", paper_id)
    _assert_same_reports(_reports(w, p, stored=True), _reports(w, p, stored=False))
    _keep(w)
    # passes written by another version of the code, or with another Kelley share
    for change in ("version = version + 1",
                   "fingerprint = replace(fingerprint, 'share:0.27', 'share:0.25')"):
        w.forget_shared()
        assert is_current(w, "item_passes", paper_id)
        w.execute(f"UPDATE derived_state SET {change} WHERE family = 'item_passes'")
        assert not is_current(w, "item_passes", paper_id)
        _keep(w)
    # a warehouse that does not allow them, or a paper whose passes were never stored
    w.stored_passes = False
    assert not is_current(w, "item_passes", paper_id)
    w.stored_passes = True
    w.execute("DELETE FROM derived_state WHERE family = 'item_passes'")
    assert not is_current(w, "item_passes", paper_id)
    w.close()


def test_eqm_init_stores_the_passes_of_a_warehouse_from_before_migration_5(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eqm.cli import cli

    path = tmp_path / "old.duckdb"
    w, p, paper_id = _build(path, seed=2)
    want = _reports(w, p, stored=False)
    # the warehouse as schema 4 left it (with the later 006): no stored passes, no derived
    # state (migrations 5 and 7 not applied)
    for table in (*PASS_TABLES.values(), "derived_state"):
        w.execute(f"DROP TABLE {table}")
    w.execute("DELETE FROM schema_version WHERE version IN (5, 7)")
    w.close()
    res = CliRunner().invoke(cli, ["--db", str(path), "init"])
    assert res.exit_code == 0, res.output
    assert f"v4 → v{SCHEMA_VERSION}" in res.output and "applied 5, 7" in res.output
    assert "1 份试卷" in res.output
    w = Warehouse(path)
    assert is_current(w, "item_passes", paper_id)
    _assert_same_reports(_reports(w, p, stored=True), want)
    w.close()
