"""The item sums rolled up from the shared per-paper passes equal those of the single-pass
statement (:func:`analytics.reduce.item_sums.item_sums_sql`), which computes every sum directly per
unit; both are compared on a warehouse with omissions, absences, multiple-choice answers,
students without a class and a school with a missing zone, for the district and per school.
The hotspots' per-level sums and wrong answers are checked against a direct pandas
computation on the raw responses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.domain.levels import LEVEL_KEYS
from analytics.reduce.item_passes import unit_item_pass
from analytics.reduce.item_sums import (
    KELLEY_SHARE,
    item_sums,
    item_sums_sql,
    split_item_sums,
)
from analytics.warehouse import Warehouse
from tests.builders import build_exam

ITEMS = [
    {"label": "1", "key": "B"},
    {"label": "2", "key": "C", "difficulty": 1.0},
    {"label": "3", "item_type": "multiple", "key": "AC", "max_score": 2, "partial_score": 1},
    {"label": "4", "item_type": "true_false", "key": "T", "options": "TF"},
    {"label": "5", "item_type": "fill", "max_score": 2},
    {"label": "6", "item_type": "constructed", "max_score": 6, "difficulty": 0.5},
    {"label": "7", "key": "D", "true_key": "A"},
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    w = Warehouse(tmp_path_factory.mktemp("sums") / "w.duckdb")
    build_exam(w, n_schools=5, students_per_school=37, items=ITEMS, seed=7,
               classes_per_school=3, absent_rate=0.05, omit_rate=0.06)
    # students without a class, and a school outside any zone (district unknown)
    w.execute("UPDATE students SET class_id = NULL WHERE student_key % 11 = 0")
    w.execute("UPDATE schools SET zone_id = NULL WHERE school_id = (SELECT max(school_id) "
              "FROM schools)")
    w.forget_shared()
    return w


def _paper(wh: Warehouse) -> tuple[int, float]:
    row = wh.df("SELECT paper_id, full_score FROM papers").iloc[0]
    return int(row["paper_id"]), float(row["full_score"])


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize(("level", "sorted_cov"), [("district", True), ("district", False),
                                                   ("school", False)])
def test_passes_equal_the_single_statement(wh: Warehouse, level: str, sorted_cov: bool) -> None:
    paper_id, _ = _paper(wh)
    keys = list(LEVEL_KEYS[level])
    direct = split_item_sums(wh.df(item_sums_sql(level, sorted_cov), {
        "paper_id": paper_id, "school_id": None, "share": KELLEY_SHARE}), keys)
    wh.forget_shared()
    rolled = item_sums(wh, paper_id=paper_id, level=level, sorted_cov=sorted_cov)
    assert list(rolled.items.columns) == list(direct.items.columns)
    assert len(rolled.items) == len(direct.items) > 0
    if level == "district":
        assert (rolled.items["uid"] == -1).any()          # the school without a zone
    pd.testing.assert_frame_equal(_sorted(rolled.items, ["uid", "item_id"]),
                                  _sorted(direct.items, ["uid", "item_id"]),
                                  check_dtype=False, rtol=1e-12, atol=1e-9)
    assert rolled.items["n_up"].sum() > 0 and rolled.items["n_lo"].sum() > 0
    pd.testing.assert_frame_equal(_sorted(rolled.options, ["uid", "item_id", "letter"]),
                                  _sorted(direct.options, ["uid", "item_id", "letter"]),
                                  check_dtype=False, rtol=1e-12)
    # multiple-choice answers count for each of their letters
    assert (rolled.options["letter"].str.len() == 1).all()
    assert direct.answers is not None and direct.answers["answer"].str.len().max() >= 2


def test_unit_item_pass_equals_pandas_on_the_responses(wh: Warehouse) -> None:
    paper_id, full = _paper(wh)
    raw = wh.df("""
        SELECT r.item_id, coalesce(r.score, 0) / i.max_score AS x, pr.total / $full AS p,
               s.class_id, s.school_id, s.zone_id, s.district_id
        FROM responses r JOIN items i ON i.item_id = r.item_id
        JOIN paper_results pr ON pr.student_key = r.student_key AND pr.paper_id = r.paper_id
        JOIN student_tree s ON s.student_key = r.student_key
        WHERE r.paper_id = $paper_id AND pr.status = 'present'
    """, {"paper_id": paper_id, "full": full})
    raw["xx"], raw["pp"], raw["xp"] = raw["x"] ** 2, raw["p"] ** 2, raw["x"] * raw["p"]
    got = unit_item_pass(wh, paper_id, full)
    for level, col in (("class", "class_id"), ("school", "school_id"), ("zone", "zone_id"),
                       ("district", "district_id"), ("all", None)):
        keys = ["item_id"] if col is None else [col, "item_id"]
        want = raw.groupby(keys, dropna=False).agg(
            n=("x", "size"), sum_x=("x", "sum"), sum_xx=("xx", "sum"), sum_p=("p", "sum"),
            sum_pp=("pp", "sum"), sum_xp=("xp", "sum")).reset_index()
        g = got[got["level"] == level]
        assert len(g) == len(want)
        if col is None:
            g = g.drop(columns=["level", "unit_id"])
        else:
            g = g.drop(columns="level").rename(columns={"unit_id": col})
            want[col] = want[col].astype("Int64")
        pd.testing.assert_frame_equal(_sorted(g, keys), _sorted(want, keys)[g.columns.tolist()],
                                      check_dtype=False, rtol=1e-12)
    assert got.loc[got["level"] == "class", "unit_id"].isna().any()   # the class-less students
    assert np.isfinite(got["sum_xp"]).all()


def _kp_sums(wh: Warehouse, level: str) -> pd.DataFrame:
    from analytics.hotspots import _knowledge_sums

    paper_id, full = _paper(wh)
    out = _knowledge_sums(wh, level, {"paper_id": paper_id, "full_score": full})
    return _sorted(out, [out.columns[0], "knowledge_point", "is_district"])


def test_stored_knowledge_sums_equal_the_responses_and_stale_ones_are_not_used(
        tmp_path: Path) -> None:
    from analytics.hotspots import knowledge_sums_stored_sql, knowledge_sums_wide_sql
    from analytics.reduce.derived import is_current

    w = Warehouse(tmp_path / "kp.duckdb")
    items = [{**it, "knowledge_points": [kp]} for it, kp in
             zip(ITEMS, ["数", "数", "式", "式", "形", "形", "数"], strict=True)]
    items[5]["knowledge_points"] = ["形", "式"]            # an item on two points
    build_exam(w, n_schools=4, students_per_school=33, items=items, seed=3,
               absent_rate=0.05, omit_rate=0.08)
    paper_id, full = _paper(w)
    prm = {"paper_id": paper_id, "full_score": full}

    def current() -> bool:
        return is_current(w, "knowledge_results", paper_id)

    assert current()
    key = ["level", "unit_id", "knowledge_point"]
    stored = _sorted(w.df(knowledge_sums_stored_sql(), prm), key)
    wide = _sorted(w.df(knowledge_sums_wide_sql(3), prm), key)
    assert len(stored) > 3 * 4
    pd.testing.assert_frame_equal(stored, wide, check_dtype=False, rtol=1e-12)
    fresh = {lv: _kp_sums(w, lv) for lv in ("school", "class")}
    # a write that bypasses the importers leaves knowledge_results stale: it is not used
    w.execute("UPDATE responses SET score = 0 WHERE paper_id = $p AND score > 0 "
              "AND student_key % 3 = 0", {"p": paper_id})
    w.execute("UPDATE paper_results pr SET total = t.s FROM (SELECT student_key, "
              "sum(coalesce(score, 0)) AS s FROM responses GROUP BY student_key) t "
              "WHERE pr.student_key = t.student_key AND pr.status = 'present'")
    assert not current()
    for lv in ("school", "class"):
        now = _kp_sums(w, lv)
        assert not np.allclose(now["sum_x"], fresh[lv]["sum_x"])
        want = _sorted(w.df(knowledge_sums_wide_sql(3), prm), key)
        want = want[want["level"].isin([lv, "district"])]
        assert np.allclose(np.sort(now["sum_x"].to_numpy()), np.sort(want["sum_x"].to_numpy()))
    w.close()


def test_stored_knowledge_sums_missing_or_partial_are_not_current(tmp_path: Path) -> None:
    """The cases the former sum cross-check caught (a point missing, nothing stored, a sum
    off), now told by the fingerprint: a point retagged, the state gone, another version."""
    from analytics.reduce.derived import STORED, is_current, keep_derived_current

    w = Warehouse(tmp_path / "kp2.duckdb")
    items = [{**it, "knowledge_points": [kp]} for it, kp in
             zip(ITEMS, ["数", "数", "式", "式", "形", "形", "数"], strict=True)]
    build_exam(w, n_schools=2, students_per_school=15, items=items, seed=4)
    paper_id, _ = _paper(w)
    assert is_current(w, "knowledge_results", paper_id)
    # an item's knowledge point changed by hand: the stored sums are those of the old point
    w.execute("UPDATE item_knowledge SET knowledge_point = '新' WHERE item_id = "
              "(SELECT min(item_id) FROM items WHERE paper_id = $p)", {"p": paper_id})
    assert not is_current(w, "knowledge_results", paper_id)
    assert keep_derived_current(w, only=STORED).refreshed["knowledge_results"] == [paper_id]
    assert is_current(w, "knowledge_results", paper_id)
    assert "新" in set(w.df("SELECT knowledge_point FROM knowledge_results")["knowledge_point"])
    w.execute("UPDATE derived_state SET version = version + 1 "
              "WHERE family = 'knowledge_results'")
    assert not is_current(w, "knowledge_results", paper_id)
    w.execute("DELETE FROM derived_state WHERE family = 'knowledge_results'")
    assert not is_current(w, "knowledge_results", paper_id)
    w.close()
