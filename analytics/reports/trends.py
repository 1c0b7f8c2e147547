"""Score trends: the district's (and a school's) 三率一分 across the exams of a subject."""

from __future__ import annotations

import pandas as pd

from analytics.lookup import list_papers, school_id_of
from analytics.scores import score_report
from analytics.summaries import from_summary
from analytics.warehouse import Warehouse

KEYS = ("exam", "exam_date", "level", "unit")


def score_trends(
    wh: Warehouse,
    *,
    subject: str,
    grade: int | None = None,
    school: str | int | None = None,
) -> pd.DataFrame:
    """The district's mean and rates, and with ``school`` that school's, on every exam of the
    subject and grade (in exam order): the series of a trend chart.

    Parameters
    ----------
    subject : str
        The subject.
    grade : int, optional
        The grade; default the subject's only grade.
    school : str or int, optional
        A school (id, name or code) whose rows follow the district's on each exam.

    Returns
    -------
    pandas.DataFrame
        Per exam, the district row then the school row: ``exam, exam_date, level`` (district |
        school), ``unit`` (the district's or the school's name), then the columns of
        :func:`analytics.score_report` at that level (``n, mean, …, excellent_rate,
        pass_rate, low_rate, district_mean, above_mean_rate, z_mean, …, ci_low, ci_high``).
        Empty (no columns) when the subject has no paper in the grade.
    """
    papers = list_papers(wh)
    same = papers[papers["subject"] == subject]
    if grade is None and same["grade"].nunique() == 1:
        grade = int(same["grade"].iloc[0])
    same = same[same["grade"] == grade]
    sid = school_id_of(wh, school)
    frames = []
    for _, p in same.iterrows():
        for level in ("district", "school"):
            if level == "school" and sid is None:
                continue
            frame = from_summary(wh, score_report, exam=str(p["exam"]), subject=subject,
                                 grade=int(p["grade"]), level=level)
            if level == "school":
                frame = frame[frame["school_id"] == sid]
                frame = frame.assign(unit=frame.get("school_name", "school"))
            else:
                frame = frame.assign(unit=frame.get("district_name", "district"))
            frames.append(frame.assign(exam=p["exam"], exam_date=p.get("exam_date"),
                                       level=level))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[[*KEYS, *(c for c in out.columns if c not in KEYS)]]
