"""Set-based summaries (analytics.summary_sets): one statement for every paper gives, paper by
paper, the frame the per-paper analysis returns (floats to 1e-9), and the refresh runs a
number of statements that does not grow with the number of papers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from analytics import summaries
from analytics.demo import build_demo
from analytics.lookup import list_papers
from analytics.summaries import SUMMARIES, read_summary, refresh_summaries
from analytics.summary_sets import set_builder
from analytics.warehouse import Warehouse

SET_BASED = [name for name, spec in SUMMARIES.items()
             if set_builder(spec.module, spec.function, spec.kwargs) is not None]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """A small demo (two grades, two subjects, three exams), one paper with its own lines."""
    root = tmp_path_factory.mktemp("sets")
    build_demo(root / "w.duckdb", students=600, seed=11, subjects=["数学", "英语"],
               out_dir=root / "files", progress=False)
    wh = Warehouse(root / "w.duckdb")
    # stored lines on one paper (the others keep NULL: the default shares of the full score)
    pid = int(wh.scalar("SELECT min(paper_id) FROM papers"))
    wh.execute("UPDATE papers SET excellent_line = 0.8 * full_score, pass_line = 0.55 * "
               "full_score, low_line = 0.3 * full_score, band_a = 0.9 * full_score, band_b = "
               "0.75 * full_score, band_c = 0.5 * full_score WHERE paper_id = $p", {"p": pid})
    yield wh
    wh.close()


def _same(stored: pd.DataFrame, live: pd.DataFrame, where: str) -> None:
    assert list(stored.columns) == list(live.columns), where
    assert len(stored) == len(live), where
    for col in live.columns:
        a, b = stored[col].reset_index(drop=True), live[col].reset_index(drop=True)
        if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
            x, y = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float,
                                                                       na_value=np.nan)
            assert np.array_equal(np.isnan(x), np.isnan(y)), (where, col)
            ok = ~np.isnan(y)
            np.testing.assert_allclose(x[ok], y[ok], rtol=1e-9, atol=1e-9,
                                       err_msg=f"{where} {col}")
        else:
            assert a.astype(object).where(a.notna(), None).tolist() == \
                b.astype(object).where(b.notna(), None).tolist(), (where, col)


def test_the_scores_summaries_are_set_based() -> None:
    assert {"score_report_district", "score_report_zone", "score_report_school",
            "score_report_class", "grade_bands_school", "grade_bands_zone",
            "grade_bands_district", "percentiles_zone", "standard_scores", "green_district",
            "green_school"} <= set(SET_BASED)


def test_set_based_tables_equal_the_per_paper_analyses(demo) -> None:
    wh = demo
    log = refresh_summaries(wh, names=SET_BASED)
    assert set(log["status"]) == {"ok"}
    papers = list_papers(wh)
    assert len(papers) >= 6
    for p in papers.to_dict("records"):
        for name in SET_BASED:
            spec = SUMMARIES[name]
            fn = summaries.analysis_function(spec.module, spec.function)
            assert fn is not None
            live = fn(wh, exam=p["exam"], subject=p["subject"], grade=int(p["grade"]),
                      **spec.kwargs)
            stored = read_summary(wh, name, int(p["paper_id"]))
            assert stored is not None, name
            _same(stored, live, f"{name} paper {p['paper_id']}")


def test_statements_do_not_grow_with_the_papers(demo, monkeypatch) -> None:
    wh = demo
    calls = []
    run = wh._df

    def counted(sql, params=None):
        calls.append(sql)
        return run(sql, params)

    monkeypatch.setattr(wh, "_df", counted)
    refresh_summaries(wh, names=["score_report_school"])
    n_papers = len(list_papers(wh))
    # one reduction for all the papers, plus bookkeeping (fingerprints, types, catalogue)
    reductions = [s for s in calls if "AS d_mean" in s]
    assert len(reductions) == 1
    # no statement runs once per paper (the per-paper path ran each reduction 12 times)
    assert max(Counter(calls).values()) < n_papers / 2


def test_no_set_builder_falls_back_on_the_demo(demo) -> None:
    # a builder that fails is silently replaced by the per-paper path: make sure none does
    pids = [int(p) for p in list_papers(demo)["paper_id"]]
    for name in SET_BASED:
        assert summaries._compute_set(demo, name, pids) is not None, name


def test_the_demo_import_leaves_the_stored_reductions_current(demo) -> None:
    # build_demo imports its files inside derived.deferred: one keep_derived_current at the end
    from analytics.reduce.derived import deferred, deferring, stale_papers

    assert not deferring(demo)
    for family in ("item_passes", "knowledge_results"):
        assert stale_papers(demo, family) == [], family
    with deferred(demo):
        assert deferring(demo)
        with deferred(demo):            # nested: the outer block keeps them
            assert deferring(demo)
        assert deferring(demo)
    assert not deferring(demo)
