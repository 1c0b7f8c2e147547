"""The fast hotspots path (kept per-unit base, wrong answers chosen in SQL) against a
straightforward pandas computation, and the warehouse's memo / temp_view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.hotspots import _pair_positions, _sort_positions, error_hotspots
from analytics.warehouse import Warehouse
from tests.hotspot_fixture import EXAM, SUBJECT, planted_warehouse


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    yield from planted_warehouse(tmp_path_factory.mktemp("hotfast") / "w.duckdb")


def straight_wrong_options(wh) -> pd.DataFrame:
    """Per class × objective item: the most-chosen wrong answer (ties to the first in Python's
    string order), its share of the class's present students with the item, and the share of
    the district's who chose that answer; counted from the raw rows with plain pandas."""
    r = wh.df("SELECT r.item_id, r.student_key, r.answer, i.answer_key, i.item_type, s.class_id "
              "FROM responses r JOIN paper_results p USING (paper_id, student_key) "
              "JOIN items i USING (item_id) JOIN students s USING (student_key) "
              "WHERE p.status = 'present'")
    r["answer"] = r["answer"].astype(object)
    r["answer_key"] = r["answer_key"].astype(object)
    n = r.groupby(["class_id", "item_id"]).size().rename("n")
    n_d = r.groupby("item_id").size().rename("n_d")
    ans, key = r["answer"], r["answer_key"]
    wrong = r[r["item_type"].isin(["single", "multiple", "true_false"]) & ans.notna()
              & (ans != "") & ((ans != key) | key.isna())]
    rows = []
    for (cid, item), g in wrong.groupby(["class_id", "item_id"]):
        counts = g["answer"].value_counts()
        best = min(a for a, c in counts.items() if c == counts.max())
        d = int((wrong["item_id"].eq(item) & wrong["answer"].eq(best)).sum())
        rows.append({"class_id": cid, "item_id": item, "best": best,
                     "share": counts.max() / n[(cid, item)], "d_share": d / n_d[item],
                     "tied": int((counts == counts.max()).sum()) > 1})
    return pd.DataFrame(rows)


def test_wrong_options_of_every_class_and_item_match_pandas(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    want = straight_wrong_options(planted)
    assert want["tied"].sum() >= 5             # the tie rule is exercised
    got = f.merge(want, on=["class_id", "item_id"], how="left", indicator=True)
    objective = got["item_type"] == "single"
    # every class × objective item with a wrong answer has one, and no other row has one
    assert (got.loc[got["wrong_option"].notna(), "_merge"] == "both").all()
    assert got["wrong_option"].notna().sum() == len(want)
    both = got[got["_merge"] == "both"]
    assert objective[both.index].all()
    assert (both["wrong_option"] == both["best"]).all()
    np.testing.assert_allclose(both["wrong_option_share"], both["share"], rtol=1e-14)
    np.testing.assert_allclose(both["wrong_option_district_share"], both["d_share"],
                               rtol=1e-14)


def test_relative_call_reuses_the_base_and_equals_a_fresh_computation(planted):
    plain = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    plain["wrong_option"] = "Z"               # callers cannot change what is kept
    plain["n"] = 0
    rel = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class", relative=True)
    again = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    planted.forget_shared()                   # now everything is computed from scratch
    rel_fresh = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class",
                               relative=True)
    plain_fresh = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    pd.testing.assert_frame_equal(rel, rel_fresh, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(again, plain_fresh, check_exact=False, rtol=1e-12)
    assert (again["wrong_option"] != "Z").any() and (again["n"] > 0).all()


def test_memo_is_kept_copied_and_forgotten_on_writes(tmp_path):
    wh = Warehouse(tmp_path / "m.duckdb")
    calls = []

    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        calls.append(1)
        return pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"b": [3.0]})

    a, _ = wh.memo(("k", 1), build)
    a["a"] = [9, 9]                           # copy-on-write: the kept frame is untouched
    a2, _ = wh.memo(("k", 1), build)
    assert calls == [1] and list(a2["a"]) == [1, 2]
    wh.memo(("k", 2), build)                  # another key is computed
    assert len(calls) == 2
    with wh.temp_view(pd.DataFrame({"x": [1, 2, 3]})) as view:
        assert wh.scalar(f"SELECT sum(x) FROM {view}") == 6
    wh.memo(("k", 1), build)                  # a temporary view does not forget
    assert len(calls) == 2
    wh.execute("CREATE TABLE t (x INTEGER)")  # a write does
    wh.memo(("k", 1), build)
    assert len(calls) == 3
    wh.close()


def test_paper_without_objective_items_has_no_wrong_options(tmp_path):
    from tests.builders import build_exam

    wh = Warehouse(tmp_path / "open.duckdb")
    build_exam(wh, n_schools=3, students_per_school=20, seed=4, exam="开放题",
               items=[{"label": str(i), "item_type": "constructed", "max_score": 4,
                       "knowledge_points": ["数"]} for i in range(1, 5)])
    f = error_hotspots(wh, exam="开放题", subject="数学", level="class")
    assert len(f) > 0 and f["wrong_option"].isna().all()
    assert f["wrong_option_share"].isna().all() and f["unit_rate"].notna().all()
    wh.close()


# -- the lookup and ordering helpers of the class-level frames -----------------------------------


@settings(max_examples=200, deadline=None)
@given(pairs=st.sets(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=80),
       query=st.lists(st.tuples(st.integers(0, 70), st.integers(0, 14)), max_size=80),
       far=st.booleans())
def test_pair_positions_equal_a_merge(pairs, query, far):
    # far: unit ids beyond the dense grid's limit take the hash-index path
    scale = 10**9 if far else 1
    table = sorted(pairs, key=lambda p: (p[1], -p[0]))          # any order
    t = pd.DataFrame(table, columns=["u", "i"], dtype="int64")
    q = pd.DataFrame(query, columns=["u", "i"], dtype="int64")
    t["u"] *= scale
    q["u"] *= scale
    got = _pair_positions((t["u"].to_numpy(), t["i"].to_numpy()),
                          (q["u"].to_numpy(), q["i"].to_numpy()))
    want = q.merge(t.reset_index(), on=["u", "i"], how="left")["index"]
    assert got.tolist() == want.fillna(-1).astype("int64").tolist()


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(-3, 5),
                                         st.one_of(st.integers(0, 50), st.integers(0, 2**61)),
                                         st.integers(0, 4)),
                     max_size=60),
       presort=st.booleans(), missing=st.booleans())
def test_sort_positions_equal_a_stable_sort(rows, presort, missing):
    f = pd.DataFrame(rows, columns=["a", "b", "c"], dtype="int64")
    f["tag"] = np.arange(len(f))                 # shows whether ties keep their order
    if presort:
        f = f.sort_values(["a", "b", "c"], kind="mergesort").reset_index(drop=True)
    if missing and len(f):
        f["a"] = f["a"].astype("Int64")
        f.loc[0, "a"] = pd.NA
    pos = _sort_positions(f, ["a", "b", "c"])
    want = f.sort_values(["a", "b", "c"], kind="mergesort")["tag"].tolist()
    got = f["tag"].tolist() if pos is None else f["tag"].to_numpy()[pos].tolist()
    assert got == want
    if presort and not missing:
        assert pos is None                        # in order already: nothing to take


def test_class_hotspots_are_ordered_by_school_class_item(planted):
    f = error_hotspots(planted, exam=EXAM, subject=SUBJECT, level="class")
    want = f.sort_values(["school_id", "class_id", "item_number"], kind="mergesort")
    assert f.index.equals(pd.RangeIndex(len(f)))
    assert f[["school_id", "class_id", "item_number"]].equals(
        want[["school_id", "class_id", "item_number"]].reset_index(drop=True))
