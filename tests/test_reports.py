"""The reports that moved out of the dashboard service (analytics.reports): the school profile,
the score trends and the 学困生 rule. The profile and trends equal the service's output before
the move (the old code is kept below as the reference, over the service's own primitives); the
学困生 rule no longer lists an above-average student for a low growth percentile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics import summaries
from analytics.display import prepare, without_district_comparison
from analytics.domain import label
from analytics.domain.bands import LOW_GROWTH_SGP, STRUGGLING_REASONS, STRUGGLING_SHARE
from analytics.reports.students import struggling_rule
from analytics.users import User
from analytics.warehouse import Warehouse
from dashboards.service import Filters, Service
from tests.builders import build_exam

OFFICER = User("o", "officer")


def _cohort(path: Path, n_schools: int) -> Path:
    wh = Warehouse(path)
    first = build_exam(wh, n_schools=n_schools, n_zones=2, students_per_school=30,
                       exam="入口考试", exam_date="2025-09-01", seed=11)
    build_exam(wh, n_schools=n_schools, n_zones=2, students_per_school=30, exam="期末监测",
               exam_date="2026-06-20", seed=12,
               theta=first["students"].set_index("student_key")["theta"])
    wh.close()
    return path


@pytest.fixture(scope="module", params=[6, 4, 2], ids=["zones_of_3", "zones_of_2", "two"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zones of three schools (nothing hidden), of two (the zone hidden from a principal),
    a district of two schools (the district hidden too)."""
    return _cohort(tmp_path_factory.mktemp("reports") / "w.duckdb", request.param)


@pytest.fixture
def svc(db: Path) -> Iterator[Service]:
    s = Service(db)
    yield s
    s.close()


def _principal(svc: Service, school: int = 1) -> User:
    tree = svc._tree()
    zone = tree.loc[tree["school_id"] == school, "zone_id"].iloc[0]
    return User(f"p{school}", "principal", school_id=school, zone_id=int(zone))


# -- the service's code before the move, as the reference ---------------------------------------
def _frame_filter(frame: pd.DataFrame, col: str, value: Any) -> pd.DataFrame:
    return frame[frame[col] == value] if col in frame.columns else frame


def old_school_profile(svc: Service, user: User, f: Filters) -> pd.DataFrame:
    f = svc.scope(user, f)
    if f.school is None:
        return pd.DataFrame()
    tree = svc._tree()
    zone = tree.loc[tree["school_id"] == f.school, "zone_id"]
    zone_id = None if zone.empty else zone.iloc[0]
    papers = svc.papers_raw()
    subjects = papers[(papers["exam"] == f.exam) & (papers["grade"] == f.grade)]["subject"]

    def context(name: str, g: Filters) -> dict[str, pd.DataFrame]:
        return {"district": svc._analysis(name, g, level="district"),
                "zone": _frame_filter(svc._analysis(name, g, level="zone"), "zone_id", zone_id),
                "school": _frame_filter(svc._analysis(name, g, level="school"), "school_id",
                                        f.school)}

    rows = []
    for subject in subjects:
        g = replace(f, subject=str(subject))
        parts, bands, hidden = context("score_report", g), context("grade_bands", g), \
            svc.comparisons(user, g)
        d_mean = parts["district"]["mean"].iloc[0] if not parts["district"].empty \
            and hidden["district"] is None else None
        for unit, frame in parts.items():
            if hidden.get(unit) is not None:
                continue
            band = bands[unit]
            shares = ({k: band[k].iloc[0] for k in ("share_a", "share_b", "share_c", "share_d")
                       if k in band.columns} if len(band) == 1 else {})
            for _, r in frame.iterrows():
                pos = None
                if unit == "school" and d_mean is not None and r["n"] >= svc.min_n:
                    pos = ("above" if r["ci_low"] > d_mean else "below"
                           if r["ci_high"] < d_mean else "similar")
                rows.append({"subject": subject, "unit": unit,
                             "unit_name": r.get(f"{unit}_name"), "n": r["n"],
                             "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                             "excellent_rate": r["excellent_rate"],
                             "pass_rate": r["pass_rate"], "low_rate": r["low_rate"],
                             **shares, "position": pos})
    return svc._out(pd.DataFrame(rows), user)


def old_trends(svc: Service, user: User, f: Filters) -> pd.DataFrame:
    f = svc.scope(user, f)
    papers = svc.papers_raw()
    same = papers[(papers["subject"] == f.subject) & (papers["grade"] == f.grade)]
    rows = []
    for _, p in same.iterrows():
        g = replace(f, exam=str(p["exam"]))
        hidden = svc.comparisons(user, g)
        for level in ("district", "school"):
            if level == "school" and user.role != "principal" and f.school is None:
                continue
            frame = svc._analysis("score_report", g, level=level)
            if level == "school":
                frame = frame[frame["school_id"] == (f.school if user.role != "principal"
                                                     else user.school_id)]
                frame = frame.assign(unit=frame.get("school_name", "school"))
            else:
                frame = frame.assign(unit=frame.get("district_name", "district"))
            if hidden["district"] is not None:
                frame = (frame.iloc[0:0] if level == "district"
                         else without_district_comparison(frame))
            rows.append(frame.assign(exam=p["exam"], exam_date=p.get("exam_date"), level=level))
    if not rows:
        return pd.DataFrame()
    keep = ["exam", "exam_date", "level", "unit"]
    out = pd.concat(rows, ignore_index=True)
    cols = keep + [c for c in out.columns if c not in keep and not c.endswith(("_id", "_name"))]
    return svc._out(out[cols], user)


# -- the profile and the trends are unchanged ---------------------------------------------------
@pytest.mark.parametrize("who", ["officer", "principal"])
def test_school_profile_equals_the_services_old_output(svc: Service, who: str) -> None:
    user = OFFICER if who == "officer" else _principal(svc)
    f = Filters(school=1) if who == "officer" else Filters()
    new, old = svc.school_profile(user, f), old_school_profile(svc, user, f)
    assert not new.empty and {"district", "school"} <= set(new["unit"]) | {"district"}
    pd.testing.assert_frame_equal(new.reset_index(drop=True), old.reset_index(drop=True))


@pytest.mark.parametrize("who", ["officer", "officer_school", "principal"])
def test_trends_equal_the_services_old_output(svc: Service, who: str) -> None:
    user = _principal(svc) if who == "principal" else OFFICER
    f = Filters(school=1) if who == "officer_school" else Filters()
    new, old = svc.trends(user, f), old_trends(svc, user, f)
    assert len(set(new["exam"])) == 2
    pd.testing.assert_frame_equal(new.reset_index(drop=True), old.reset_index(drop=True),
                                  check_dtype=False)


def test_the_analyses_are_public_and_equal_what_the_service_shows(svc: Service) -> None:
    f = svc.scope(OFFICER, Filters(school=1))
    wh = svc.wh
    profile = analytics.school_profile(wh, exam=f.exam, grade=f.grade, school=1)
    pd.testing.assert_frame_equal(prepare(profile.drop(columns=["zone_id", "school_id"])),
                                  svc.school_profile(OFFICER, f))
    every = analytics.school_profile(wh, exam=f.exam, grade=f.grade)  # every school
    assert set(every.loc[every["unit"] == "school", "school_id"]) == set(svc._tree()["school_id"])
    assert every.loc[every["unit"] == "school", "position"].isin(["above", "similar",
                                                                 "below"]).all()
    trends = analytics.score_trends(wh, subject=f.subject, grade=f.grade, school=1)
    assert list(trends[["exam", "level"]].itertuples(index=False, name=None)) == [
        ("入口考试", "district"), ("入口考试", "school"), ("期末监测", "district"),
        ("期末监测", "school")]
    assert (trends.loc[trends["level"] == "school", "school_id"] == 1).all()


def test_reports_read_only_declared_summaries(svc: Service, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Every summary table the reports and the service read is declared (the registry)."""
    read: list[str] = []
    real = summaries.summary

    def spy(wh: Any, name: str, **kw: Any) -> Any:
        read.append(name)
        return real(wh, name, **kw)

    monkeypatch.setattr(summaries, "summary", spy)
    monkeypatch.setattr("analytics.summaries.summary", spy)
    principal = _principal(svc)
    svc.school_profile(principal, Filters())
    svc.trends(principal, Filters())
    svc.students(principal, Filters(), "struggling")
    svc.value_added(principal, Filters())
    svc.hotspots(principal, Filters())
    assert {"score_report_school", "grade_bands_zone", "standard_scores", "student_growth",
            "value_added_school", "hotspots_school"} <= set(read)
    assert set(read) <= set(summaries.SUMMARIES)


# -- 学困生 ----------------------------------------------------------------------------------------
def _crafted() -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = pd.DataFrame({
        "student_key": [1, 2, 3, 4, 5],
        "total": [107.0, 40.0, 85.0, 70.0, 20.0],
        "z": [0.34, -1.2, -0.1, -0.4, -2.0],
        "percentile_rank": [0.63, 0.12, 0.45, 0.30, 0.02],
    })
    growth = pd.DataFrame({"student_key": [1, 2, 3, 4, 5], "sgp": [5, 50, 60, 12, 3]})
    return scores, growth


def test_rule_on_a_crafted_frame() -> None:
    scores, growth = _crafted()
    out = struggling_rule(scores, growth, line="pass", line_score=72.0)
    reasons = dict(zip(out["student_key"], out["reason"], strict=True))
    # 1: above the district mean (total 107, z +0.34) with SGP 5: not struggling
    # 2: under the pass line (40 < 72), not in the bottom 10 %
    # 3: above the pass line, z < 0 but a growth percentile of 60: not listed
    # 4: under the pass line (70 < 72) and low growth below the mean: the first reason
    # 5: the district's bottom 10 % (percent_rank .02)
    assert reasons == {5: "bottom_share", 2: "below_pass", 4: "below_pass"}
    assert list(out["student_key"]) == [5, 2, 4]                    # lowest total first
    assert list(out["sgp"]) == [3, 50, 12]
    # a hard paper (the pass line above the mean): still not the above-average student
    out = struggling_rule(scores, growth, line="pass", line_score=110.0)
    assert 1 not in set(out["student_key"]) and 3 in set(out["student_key"])
    # ... unless the mean guard is switched off
    out = struggling_rule(scores, growth, line="pass", line_score=110.0, below_mean=False)
    assert dict(zip(out["student_key"], out["reason"], strict=True))[1] == "below_pass"
    # a low growth percentile counts only below the mean
    out = struggling_rule(scores, growth, line="pass", line_score=60.0)
    assert dict(zip(out["student_key"], out["reason"], strict=True)) == {
        5: "bottom_share", 2: "below_pass", 4: "low_growth"}
    # the thresholds are parameters: no pass line criterion, a wider bottom share
    out = struggling_rule(scores, growth, line_score=None, share=0.2,
                          low_sgp=3)
    assert dict(zip(out["student_key"], out["reason"], strict=True)) == {
        5: "bottom_share", 2: "bottom_share"}
    # the low line (the default line): its own reason code
    out = struggling_rule(scores, growth, line_score=45.0)
    assert dict(zip(out["student_key"], out["reason"], strict=True)) == {
        5: "bottom_share", 2: "below_low", 4: "low_growth"}
    # without growth percentiles (no earlier exam) only attainment counts
    out = struggling_rule(scores, None, line="pass", line_score=72.0)
    assert set(out["reason"]) <= {"bottom_share", "below_pass"} and out["sgp"].isna().all()


def test_every_reason_is_labelled() -> None:
    for code in STRUGGLING_REASONS:
        assert label("struggling_reason", code) != code
        assert label("struggling_reason", code, "en") != code
    assert "10%" in label("struggling_reason", "bottom_share")
    assert str(LOW_GROWTH_SGP) in label("struggling_reason", "low_growth", "en")


def test_above_average_student_with_low_growth_is_not_struggling(svc: Service) -> None:
    """The product's bug: an above-average student (total 107, z +0.34 in the field) was
    listed as 学困生 for a growth percentile ≤ 20."""
    f = svc.scope(OFFICER, Filters())
    wh = svc.wh
    scores = analytics.standard_scores(wh, exam=f.exam, subject=f.subject, grade=f.grade)
    growth = analytics.student_growth(wh, exam=f.exam, prior_exam="入口考试",
                                      subject=f.subject, grade=f.grade)
    both = scores.merge(growth[["student_key", "sgp"]], on="student_key")
    above_low = both[(both["z"] > 0) & (both["sgp"] <= LOW_GROWTH_SGP)]
    assert not above_low.empty, "the warehouse needs such a student for this test"
    school = int(above_low["school_id"].iloc[0])
    listed = svc.students(_principal(svc, school), Filters(), "struggling")
    assert not set(above_low["student_id"]) & set(listed["student_id"])
    # what is listed follows the rule, and carries the student and the class
    assert {"student_id", "student_name", "class_name", "reason"} <= set(listed.columns)
    assert listed["student_name"].notna().all() and listed["class_name"].notna().all()
    assert set(listed["reason"]) <= set(STRUGGLING_REASONS)
    assert "z" not in listed.columns or (listed["z"] < 0).all()  # z: hidden with the district


def test_the_bottom_share_is_the_old_low_attainment_list(svc: Service) -> None:
    """Unchanged part of the rule: the district's bottom 10 % (the old ``low_attainment``)."""
    f = svc.scope(OFFICER, Filters())
    wh = svc.wh
    scores = analytics.standard_scores(wh, exam=f.exam, subject=f.subject, grade=f.grade)
    out = analytics.struggling_students(wh, exam=f.exam, subject=f.subject, grade=f.grade)
    old = scores[scores["percentile_rank"] < STRUGGLING_SHARE]
    new = out[out["reason"] == "bottom_share"]
    assert not old.empty
    pd.testing.assert_frame_equal(
        new.set_index("student_key")[["student_id", "total", "z"]].sort_index(),
        old.set_index("student_key")[["student_id", "total", "z"]].sort_index())
    below = out[out["reason"].isin(["below_low", "low_growth"])]
    assert not below.empty and (below["percentile_rank"] >= STRUGGLING_SHARE).all()
    assert (below["z"] < 0).all()
    # with the pass line instead: a longer list, the bottom share unchanged
    by_pass = analytics.struggling_students(wh, exam=f.exam, subject=f.subject,
                                            grade=f.grade, line="pass")
    assert set(out["student_key"]) <= set(by_pass["student_key"])
    assert (by_pass["reason"] == "bottom_share").sum() == len(new)
    # one school's list is the district list's rows of that school
    one = analytics.struggling_students(wh, exam=f.exam, subject=f.subject, grade=f.grade,
                                        school=1)
    pd.testing.assert_frame_equal(one, out[out["school_id"] == 1].reset_index(drop=True))
    assert np.isin(one["reason"], STRUGGLING_REASONS).all()


def test_school_id_of_takes_an_id_a_name_or_a_code(wh):
    from analytics.errors import NotFoundError
    from analytics.lookup import school_id_of
    from tests.builders import build_exam

    build_exam(wh, n_schools=2, students_per_school=5, seed=3)
    row = wh.df("SELECT school_id, name, code FROM schools ORDER BY school_id").iloc[1]
    sid = int(row["school_id"])
    assert school_id_of(wh, None) is None
    assert school_id_of(wh, sid) == sid
    assert school_id_of(wh, str(row["name"])) == sid
    assert school_id_of(wh, str(row["code"])) == sid
    with pytest.raises(NotFoundError):
        school_id_of(wh, "no such school")
