"""Summary tables: what refresh_summaries materialises equals the live analysis; staleness;
missing or failing analyses are reported, not fatal; the demo accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import summaries
from analytics.scores import score_report
from analytics.summaries import (
    SummarySpec,
    read_summary,
    refresh_summaries,
    reporting_tree,
    summaries_stale,
    summary,
    summary_catalog,
)
from analytics.users import authenticate, create_demo_users, is_demo_warehouse
from tests.builders import build_exam


@pytest.fixture
def two_exams(wh):
    first = build_exam(wh, n_schools=4, students_per_school=25, exam="入口", seed=3,
                       exam_date="2025-09-01")
    build_exam(wh, n_schools=4, students_per_school=25, exam="期末", seed=4,
               exam_date="2026-06-20", theta=first["students"].set_index("student_key")["theta"])
    return wh


def test_refresh_materialises_the_live_frames(two_exams) -> None:
    wh = two_exams
    assert summaries_stale(wh)
    log = refresh_summaries(wh, names=["score_report_school", "score_report_class",
                                       "value_added_school"])
    assert list(log.columns) == ["name", "paper_id", "status", "rows", "seconds", "message"]
    ok = log[log["status"] == "ok"]
    assert set(ok["name"]) >= {"score_report_school", "score_report_class"}
    # value added needs an earlier exam: the first exam is skipped, the second computed.
    va = log[log["name"] == "value_added_school"].set_index("paper_id")["status"]
    assert sorted(va) == ["ok", "skipped"]
    live = score_report(wh, exam="期末", subject="数学", level="school")
    stored = summary(wh, "score_report_school", exam="期末", subject="数学")
    pd.testing.assert_frame_equal(
        stored.sort_values("school_id").reset_index(drop=True)[live.columns].astype(
            {"rank": "int64"}),
        live.sort_values("school_id").reset_index(drop=True).astype({"rank": "int64"}),
        check_dtype=False, rtol=1e-12)
    cat = summary_catalog(wh)
    assert set(cat.columns) == {"name", "paper_id", "rows", "seconds", "refreshed_at"}
    assert (cat.merge(ok, on=["name", "paper_id"])["rows_x"]
            == cat.merge(ok, on=["name", "paper_id"])["rows_y"]).all()


def test_unrefreshed_summary_is_computed_live(two_exams) -> None:
    wh = two_exams
    paper = int(wh.scalar("SELECT min(paper_id) FROM papers"))
    assert read_summary(wh, "score_report_district", paper) is None
    live = summary(wh, "score_report_district", exam="入口", subject="数学")
    assert len(live) == 1 and live["n"].iloc[0] > 0


def test_staleness_follows_imports(two_exams) -> None:
    wh = two_exams
    refresh_summaries(wh, names=["score_report_district"])
    assert not summaries_stale(wh)
    # staleness follows the data the summaries were computed from (the fingerprint), not the
    # import log: a logged import that changed nothing leaves them current …
    wh.execute("INSERT INTO import_log (kind, file_name, sha256, outcome, finished_at) "
               "VALUES ('scores', 'x.csv', 'abc', 'ok', current_timestamp + INTERVAL 1 MINUTE)")
    assert not summaries_stale(wh)
    # … a changed total (here behind the importers' back) makes them stale
    wh.execute("UPDATE paper_results SET total = total + 1 WHERE status = 'present' "
               "AND student_key = (SELECT min(student_key) FROM paper_results "
               "WHERE status = 'present')")
    assert summaries_stale(wh)


def test_missing_and_failing_analyses_do_not_block(two_exams, monkeypatch) -> None:
    wh = two_exams
    monkeypatch.setitem(summaries.SUMMARIES, "nowhere",
                        SummarySpec("analytics.not_a_module", "f"))
    monkeypatch.setitem(summaries.SUMMARIES, "broken",
                        SummarySpec("analytics.scores", "score_report", {"level": "galaxy"}))
    log = refresh_summaries(wh, names=["nowhere", "broken", "score_report_zone"])
    status = log.groupby("name")["status"].agg(set)
    assert status["nowhere"] == {"missing"}
    assert status["broken"] == {"failed"}
    assert status["score_report_zone"] == {"ok"}
    assert log.loc[log["name"] == "broken", "message"].str.contains("galaxy").all()


def test_reporting_tree(two_exams) -> None:
    tree = reporting_tree(two_exams)
    assert list(tree.columns) == ["zone_id", "zone_name", "school_id", "school_name",
                                  "class_id", "class_name", "grade", "n"]
    # 4 schools × 2 classes, 25 students a school: n over classes sums to 100.
    assert len(tree) == 8 and int(tree["n"].sum()) == 100


def test_prior_exams() -> None:
    papers = pd.DataFrame({"exam": ["a", "b", "c", "d"], "subject": ["数学"] * 3 + ["语文"],
                           "exam_date": pd.to_datetime(["2025-01-01", "2025-06-01",
                                                        "2026-01-01", "2025-03-01"])})
    assert summaries.prior_exams(papers, "c", "数学") == ["b", "a"]
    assert summaries.prior_exams(papers, "a", "数学") == []
    assert summaries.prior_exams(papers, "zzz", "数学") == []


def test_demo_users_once_with_random_passwords(two_exams) -> None:
    wh = two_exams
    assert not is_demo_warehouse(wh)
    accounts = create_demo_users(wh, principals=2)
    assert list(accounts.columns) == ["username", "role", "school_name", "password"]
    assert sorted(accounts["role"]) == ["admin", "committee", "officer", "principal",
                                        "principal"]
    assert accounts["password"].nunique() == len(accounts)
    row = accounts.iloc[-1]
    assert authenticate(wh, row["username"], row["password"]).school_name == row["school_name"]
    assert create_demo_users(wh).empty  # never twice
    assert not np.any(wh.df("SELECT password_hash FROM users")["password_hash"].isin(
        accounts["password"]))


def test_refresh_first_stores_missing_or_stale_item_passes(two_exams) -> None:
    from analytics.reduce.derived import is_current

    wh = two_exams
    papers = [int(p) for p in wh.df("SELECT paper_id FROM papers ORDER BY 1")["paper_id"]]
    wh.execute("DELETE FROM derived_state WHERE family = 'item_passes' AND paper_id = $p",
               {"p": papers[0]})
    wh.execute("UPDATE responses SET score = 0 WHERE paper_id = $p AND score > 0 "
               "AND student_key % 4 = 0", {"p": papers[1]})
    assert not any(is_current(wh, "item_passes", p) for p in papers)
    refresh_summaries(wh, names=["score_report_school"])
    wh.forget_shared()
    assert all(is_current(wh, "item_passes", p) for p in papers)


def test_warm_reads_does_the_first_reads_currency_check_ahead(two_exams, monkeypatch) -> None:
    """After warm_reads the first summary read of the connection queries no source table for
    its currency check (a dashboard warms when it opens a snapshot: ~1 s at a million
    students), and it still reads the stored frame."""
    from analytics.reduce import derived

    wh = two_exams
    refresh_summaries(wh, names=["score_report_school"])
    paper = int(wh.scalar("SELECT max(paper_id) FROM papers"))
    want = summaries.read_summary(wh, "score_report_school", paper)
    wh.forget_shared()  # a fresh connection's memos: nothing checked yet
    summaries.warm_reads(wh)

    def no_scan(*args, **kwargs):
        raise AssertionError("a source table was scanned after warm_reads")

    monkeypatch.setattr(derived, "component_sql", no_scan)
    got = summaries.read_summary(wh, "score_report_school", paper)
    assert got is not None
    pd.testing.assert_frame_equal(got, want)
