"""The student archive (学困生档案 / 学生成长档案): one student across every exam the warehouse
holds, and the school's watch list of 学困生 and 临界生 with the reason and since when.

Composed of the analyses: :func:`analytics.standard_scores` (total, z, percentile rank),
:func:`analytics.student_growth` (growth percentile), :func:`analytics.struggling_students` and
:func:`analytics.scores.borderline_students` (the lists), :func:`analytics.student_knowledge_rates`
and :func:`analytics.district_weak_points` (knowledge points). Scope: ``school`` restricts
every lookup to that school (a principal's), so another school's student is not found.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.bands import GRADE_BANDS
from analytics.errors import EqmError, InputError
from analytics.growth import student_growth
from analytics.help_records import find_student
from analytics.hotspots import district_weak_points
from analytics.knowledge import student_knowledge_rates
from analytics.lookup import list_papers, resolve_paper
from analytics.reports.students import struggling_students
from analytics.scores import borderline_students, standard_scores
from analytics.summaries import from_summary
from analytics.warehouse import Warehouse

ARCHIVE_COLUMNS = ["student_key", "student_id", "student_name", "exam", "exam_date", "subject",
                   "grade", "status", "total", "full_score", "score_rate", "band", "z",
                   "percentile", "sgp", "struggling_reason", "borderline_line"]


def student_papers_sql() -> str:
    """The papers student ``$student_key`` has a result on (sat, absent or void), by date."""
    return """
        SELECT r.paper_id, r.status, r.total FROM paper_results r
        JOIN papers p USING (paper_id) JOIN exams e USING (exam_id)
        WHERE r.student_key = $student_key
        ORDER BY e.exam_date, r.paper_id
    """


def band_of(total: float, paper: Any) -> str | None:
    """The grade band (等级 A–D) of ``total`` on ``paper`` (its resolved band lower bounds,
    :class:`analytics.lookup.PaperRef`; a boundary belongs to the better band), as
    :func:`analytics.grade_bands` counts it."""
    if total is None or np.isnan(total):
        return None
    for band, cut in zip(GRADE_BANDS, (paper.band_a, paper.band_b, paper.band_c), strict=False):
        if total >= cut:
            return band
    return GRADE_BANDS[-1]


def student_archive(wh: Warehouse, *, student: str | int,
                    school: str | int | None = None) -> pd.DataFrame:
    """One student's results on every paper of every exam, oldest first.

    Parameters
    ----------
    student : str or int
        考号 (student ID), key, or a name that is unique.
    school : str or int, optional
        Only a student of this school (id, name or code) is found (a principal's scope).

    Returns
    -------
    pandas.DataFrame
        One row per paper: ``student_key, student_id, student_name, exam, exam_date, subject,
        grade, status`` (present | absent | void), ``total, full_score, score_rate`` (total ÷
        full score), ``band`` (等级 A–D), ``z`` (against the district), ``percentile``
        (100 × percent rank in the district), ``sgp`` (growth percentile since the latest
        earlier exam, NaN without one), ``struggling_reason`` (the 学困生 reason on that paper,
        else None), ``borderline_line`` (临界生: the line just missed, else None).
    """
    s = find_student(wh, student, school)
    key, sid = int(s["student_key"]), int(s["school_id"])
    papers = list_papers(wh).set_index("paper_id")
    rows = []
    for _, r in wh.df(student_papers_sql(), {"student_key": key}).iterrows():
        p = papers.loc[int(r["paper_id"])]
        exam, subject, grade = str(p["exam"]), str(p["subject"]), int(str(p["grade"]))
        ref = resolve_paper(wh, exam, subject, grade)
        row: dict[str, Any] = {"student_key": key, "student_id": s["student_id"],
                               "student_name": s["student_name"], "exam": exam,
                               "exam_date": p["exam_date"], "subject": subject, "grade": grade,
                               "status": r["status"], "total": r["total"],
                               "full_score": ref.full_score, "z": np.nan,
                               "percentile": np.nan, "sgp": np.nan, "struggling_reason": None,
                               "borderline_line": None}
        total = float(r["total"]) if r["status"] == "present" else np.nan
        row["score_rate"] = total / ref.full_score if ref.full_score else np.nan
        row["band"] = band_of(total, ref)
        if r["status"] == "present":
            kw: dict[str, Any] = {"exam": exam, "subject": subject, "grade": grade}
            std = from_summary(wh, standard_scores, **kw, school_id=sid)
            mine = std[std["student_key"] == key]
            if len(mine):
                row["z"] = float(mine["z"].iloc[0])
                row["percentile"] = 100 * float(mine["percentile_rank"].iloc[0])
            row["sgp"] = _one(_safe(lambda kw=kw: from_summary(wh, student_growth, **kw,
                                                         school_id=sid)), key, "sgp")
            row["struggling_reason"] = _one(_safe(lambda kw=kw: struggling_students(
                wh, **kw, school=sid)), key, "reason")
            bl = _safe(lambda kw=kw: borderline_students(wh, **kw, school=sid))
            bl = bl[bl["student_key"] == key] if "student_key" in bl.columns else bl
            row["borderline_line"] = None if bl.empty else str(bl["line"].iloc[0])
        rows.append(row)
    out = pd.DataFrame(rows, columns=ARCHIVE_COLUMNS)
    out["sgp"] = pd.to_numeric(out["sgp"], errors="coerce").astype("float64")
    return out


def _safe(make: Any) -> pd.DataFrame:
    try:
        return make()
    except EqmError:
        return pd.DataFrame()


def _one(frame: pd.DataFrame, key: int, col: str) -> Any:
    if frame.empty or col not in frame.columns:
        return np.nan if col == "sgp" else None
    hit = frame.loc[frame["student_key"] == key, col]
    if hit.empty or pd.isna(hit.iloc[0]):
        return np.nan if col == "sgp" else None
    return hit.iloc[0]


def student_weak_points(wh: Warehouse, *, student: str | int, school: str | int | None = None,
                        top: int = 3, archive: pd.DataFrame | None = None) -> pd.DataFrame:
    """The student's weakest knowledge points per subject on the latest itemised paper: those
    where the student's score rate lies furthest under the district's.

    Returns
    -------
    pandas.DataFrame
        Up to ``top`` rows per subject: ``subject, exam, knowledge_point, n_items,
        score_rate`` (the student's), ``district_rate``, ``gap`` (score_rate − district_rate,
        negative), lowest gap first within the subject. ``archive``: the student's
        :func:`student_archive`, when the caller has it already.
    """
    s = find_student(wh, student, school)
    key = int(s["student_key"])
    arch = archive if archive is not None else student_archive(
        wh, student=str(s["student_id"]), school=int(s["school_id"]))
    papers = list_papers(wh)
    frames = []
    for subject in dict.fromkeys(arch["subject"]):
        sat = arch[(arch["subject"] == subject) & (arch["status"] == "present")]
        itemised = [(e, g) for e, g in zip(sat["exam"], sat["grade"], strict=True)
                    if bool(papers[(papers["exam"] == e) & (papers["subject"] == subject)
                                   & (papers["grade"] == g)]["has_items"].any())]
        if not itemised:
            continue
        exam, grade = itemised[-1]
        rates = student_knowledge_rates(wh, exam=exam, subject=subject, grade=int(grade))
        mine = rates[rates["student_key"] == key]
        district = district_weak_points(wh, exam=exam, subject=subject, grade=int(grade),
                                        grain="knowledge_point")
        f = mine.merge(district[["knowledge_point", "score_rate"]].rename(
            columns={"score_rate": "district_rate"}), on="knowledge_point")
        f = f.assign(subject=subject, exam=exam, gap=f["score_rate"] - f["district_rate"])
        frames.append(f[f["gap"] < 0].sort_values("gap").head(top))
    cols = ["subject", "exam", "knowledge_point", "n_items", "score_rate", "district_rate",
            "gap"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    return pd.concat(frames, ignore_index=True)[cols]


def watch_list(wh: Warehouse, *, school: str | int | None = None,
               grade: int | None = None) -> pd.DataFrame:
    """The school's 学困生 and 临界生 on the latest exam of each subject, with the reason and
    since when they have been listed without a break.

    Parameters
    ----------
    school : str or int
        The school (id, name or code).
    grade : int, optional
        Only this grade (default every grade of the school).

    Returns
    -------
    pandas.DataFrame
        One row per student × subject × list: ``student_key, student_id, student_name,
        class_name, grade, subject, kind`` (struggling | borderline), ``reason`` (the 学困生
        reason code, or the 临界生 line), ``exam`` (the latest), ``since`` (the first exam of
        the unbroken run of listings up to the latest), ``n_exams`` (exams in that run).
    """
    from analytics.lookup import school_id_of

    if school is None:
        raise InputError("请指定学校 / give the school")
    sid = school_id_of(wh, school)
    papers = list_papers(wh).sort_values(["exam_date", "paper_id"])
    grades = wh.df("SELECT DISTINCT grade FROM student_tree WHERE school_id = $s",
                   {"s": sid})["grade"].dropna().astype(int)
    rows: list[dict[str, Any]] = []
    for (g_, subject), ps in papers[papers["grade"].isin(grades)].groupby(["grade", "subject"],
                                                                          sort=True):
        g = int(str(g_))
        if grade is not None and g != grade:
            continue
        listed: list[dict[int, tuple[str, str, pd.Series]]] = []
        for _, p in ps.iterrows():
            kw: dict[str, Any] = {"exam": str(p["exam"]), "subject": str(subject),
                                  "grade": g}
            cur: dict[int, tuple[str, str, pd.Series]] = {}
            st = _safe(lambda kw=kw: struggling_students(wh, **kw, school=sid))
            for _, r in st.iterrows():
                cur[int(r["student_key"])] = ("struggling", str(r["reason"]), r)
            bl = _safe(lambda kw=kw: borderline_students(wh, **kw, school=sid))
            for _, r in bl.iterrows():
                cur.setdefault(int(r["student_key"]), ("borderline", str(r["line"]), r))
            listed.append(cur)
        exams = list(ps["exam"].astype(str))
        for key, (kind, reason, r) in listed[-1].items():
            i = len(listed) - 1
            while i > 0 and key in listed[i - 1]:
                i -= 1
            rows.append({"student_key": key, "student_id": r["student_id"],
                         "student_name": r.get("student_name"), "class_name": r["class_name"],
                         "grade": g, "subject": str(subject), "kind": kind,
                         "reason": reason, "exam": exams[-1], "since": exams[i],
                         "n_exams": len(listed) - i})
    cols = ["student_key", "student_id", "student_name", "class_name", "grade", "subject",
            "kind", "reason", "exam", "since", "n_exams"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["grade", "class_name", "student_id", "subject"],
                           kind="stable").reset_index(drop=True)
