"""The school profile: a school against its zone and the district on every subject of an exam."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.display import DEFAULT_MIN_N
from analytics.errors import InputError
from analytics.lookup import list_papers, school_id_of
from analytics.scores import grade_bands, score_report
from analytics.summaries import from_summary, reporting_tree
from analytics.warehouse import Warehouse

UNITS = ("district", "zone", "school")
SHARES = ("share_a", "share_b", "share_c", "share_d")
POSITIONS = ("above", "similar", "below")


def exam_grade(papers: pd.DataFrame, exam: str, grade: int | None) -> int:
    """The grade of ``exam``'s papers (``grade`` itself when given); raises when the exam spans
    several grades and none is given."""
    if grade is not None:
        return int(grade)
    grades = sorted(set(papers.loc[papers["exam"] == exam, "grade"].astype(int)))
    if len(grades) != 1:
        raise InputError(
            f"考试「{exam}」有 {len(grades)} 个年级 {grades},请指定年级 / exam {exam!r} has "
            f"{len(grades)} grades {grades}; pass a grade")
    return grades[0]


def position(ci_low: float, ci_high: float, district_mean: float) -> str:
    """``above`` / ``below`` the district mean when the unit's interval of the mean lies wholly
    above / below it, else ``similar``."""
    return "above" if ci_low > district_mean else "below" if ci_high < district_mean \
        else "similar"


def school_profile(
    wh: Warehouse,
    *,
    exam: str,
    grade: int | None = None,
    school: str | int | None = None,
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """One school (``school``; default every school) against its zone and the district on
    every subject of the exam × grade.

    Parameters
    ----------
    exam : str
        The exam; every subject with a paper in ``grade`` is profiled, in paper order.
    grade : int, optional
        Needed when the exam spans several grades.
    school : str or int, optional
        The school (id, name or code): its zone's row and its own; default every zone and
        every school.
    min_n : int
        Schools with fewer present students get no ``position`` (too few to judge).

    Returns
    -------
    pandas.DataFrame
        Per subject, the district row, then the zone row(s), then the school row(s):
        ``subject, unit`` (district | zone | school), ``zone_id, school_id`` (of zone and
        school rows), ``unit_name, n, mean, ci_low, ci_high, excellent_rate, pass_rate,
        low_rate`` (:func:`analytics.score_report`), ``share_a … share_d`` (grade bands 等级,
        :func:`analytics.grade_bands`), ``position`` (school rows: ``above`` / ``similar`` /
        ``below`` the district mean, by whether the school's 95 % interval of the mean lies
        wholly above or below it, ``None`` under ``min_n`` students; no rank).
    """
    papers = list_papers(wh)
    grade = exam_grade(papers, exam, grade)
    sid = school_id_of(wh, school)
    zone_id: Any = None
    if sid is not None:
        tree = reporting_tree(wh)
        zone = tree.loc[tree["school_id"] == sid, "zone_id"]
        zone_id = None if zone.empty else zone.iloc[0]
    subjects = papers[(papers["exam"] == exam) & (papers["grade"] == grade)]["subject"]
    rows: list[dict[str, Any]] = []
    for subject in subjects:
        subject = str(subject)
        reports = {lv: from_summary(wh, score_report, exam=exam, subject=subject, grade=grade,
                                    level=lv) for lv in UNITS}
        bands = {lv: from_summary(wh, grade_bands, exam=exam, subject=subject, grade=grade,
                                  level=lv) for lv in UNITS}
        if sid is not None:
            for frames in (reports, bands):
                frames["zone"] = _rows_of(frames["zone"], "zone_id", zone_id)
                frames["school"] = _rows_of(frames["school"], "school_id", sid)
        district = reports["district"]
        d_mean = district["mean"].iloc[0] if not district.empty else None
        for unit in UNITS:
            key = {"district": None, "zone": "zone_id", "school": "school_id"}[unit]
            for _, r in reports[unit].iterrows():
                band = bands[unit] if key is None else _rows_of(bands[unit], key, r.get(key))
                shares = ({k: band[k].iloc[0] for k in SHARES if k in band.columns}
                          if len(band) == 1 else {})
                pos = None
                if unit == "school" and d_mean is not None and r["n"] >= min_n:
                    pos = position(r["ci_low"], r["ci_high"], d_mean)
                rows.append({"subject": subject, "unit": unit,
                             "zone_id": r.get("zone_id") if unit != "district" else None,
                             "school_id": r.get("school_id") if unit == "school" else None,
                             "unit_name": r.get(f"{unit}_name"), "n": r["n"],
                             "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                             "excellent_rate": r["excellent_rate"],
                             "pass_rate": r["pass_rate"], "low_rate": r["low_rate"],
                             **shares, "position": pos})
    return pd.DataFrame(rows)


def _rows_of(frame: pd.DataFrame, col: str, value: Any) -> pd.DataFrame:
    return frame[frame[col] == value] if col in frame.columns else frame
