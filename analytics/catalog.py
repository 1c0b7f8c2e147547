"""What the warehouse holds, for ``eqm list``: exams, papers, schools, classes, surveys and
accounts, with their names beside their ids, grades, subjects, counts and dates.

Each function returns a tidy frame (one row per exam, paper, … ; ids first, then names, then
counts ``n_…`` and dates); classes come in natural order (1班, 2班, … 10班), by school and grade.
The counts are of rows in the warehouse (no suppression: these are inventories, not statistics).
"""

from __future__ import annotations

import re

import pandas as pd

from analytics.lookup import school_id_of
from analytics.warehouse import Backend

KINDS = ("exams", "papers", "schools", "classes", "surveys", "users")


def exams_sql() -> str:
    """Exams with their grades, subjects, papers and students present (no parameters)."""
    return """
        SELECT e.exam_id, e.name AS exam, e.exam_date, e.term, e.level,
               string_agg(DISTINCT CAST(p.grade AS VARCHAR), ',' ORDER BY CAST(p.grade AS VARCHAR))
                   AS grades,
               string_agg(DISTINCT p.subject, ',' ORDER BY p.subject) AS subjects,
               count(DISTINCT p.paper_id) AS n_papers,
               (SELECT count(DISTINCT r.student_key) FROM paper_results r
                 JOIN papers q USING (paper_id)
                 WHERE q.exam_id = e.exam_id AND r.status = 'present') AS n_students
        FROM exams e LEFT JOIN papers p USING (exam_id)
        GROUP BY ALL
        ORDER BY e.exam_date NULLS LAST, e.name
    """


def papers_sql() -> str:
    """Papers with their exam, items and students present/absent (no parameters)."""
    return """
        WITH res AS (
            SELECT paper_id, count(*) FILTER (WHERE status = 'present') AS n,
                   count(*) FILTER (WHERE status = 'absent') AS n_absent
            FROM paper_results GROUP BY paper_id),
        it AS (SELECT paper_id, count(*) AS n_items FROM items GROUP BY paper_id)
        SELECT p.paper_id, p.exam_id, e.name AS exam, p.subject, p.grade, p.full_score,
               coalesce(it.n_items, 0) AS n_items, p.has_items,
               coalesce(res.n, 0) AS n, coalesce(res.n_absent, 0) AS n_absent, e.exam_date
        FROM papers p JOIN exams e USING (exam_id)
        LEFT JOIN res USING (paper_id) LEFT JOIN it USING (paper_id)
        ORDER BY e.exam_date NULLS LAST, e.name, p.grade, p.subject
    """


def schools_sql() -> str:
    """Schools with their zone, grades, classes and students (no parameters)."""
    return """
        SELECT s.school_id, s.code, s.name AS school, z.zone_id, z.name AS zone_name,
               s.ownership, s.locality,
               (SELECT string_agg(DISTINCT CAST(c.grade AS VARCHAR), ','
                                  ORDER BY CAST(c.grade AS VARCHAR))
                  FROM classes c WHERE c.school_id = s.school_id) AS grades,
               (SELECT count(*) FROM classes c WHERE c.school_id = s.school_id) AS n_classes,
               (SELECT count(*) FROM students t WHERE t.school_id = s.school_id) AS n_students
        FROM schools s LEFT JOIN zones z USING (zone_id)
        ORDER BY z.name NULLS LAST, s.code NULLS LAST, s.name
    """


def classes_sql() -> str:
    """Classes with their school and students; ``$school`` (an id or NULL) and ``$grade``
    (or NULL) filter them."""
    return """
        SELECT c.class_id, c.school_id, s.name AS school, c.grade, c.name AS class_name,
               (SELECT count(*) FROM students t WHERE t.class_id = c.class_id) AS n_students
        FROM classes c JOIN schools s USING (school_id)
        WHERE ($school IS NULL OR c.school_id = $school) AND ($grade IS NULL OR c.grade = $grade)
    """


def surveys_sql() -> str:
    """Surveys with their respondents and questions (no parameters)."""
    return """
        SELECT v.survey_id, v.name AS survey, v.grade, v.survey_date,
               (SELECT count(DISTINCT a.student_key) FROM survey_answers a
                 WHERE a.survey_id = v.survey_id) AS n_students,
               (SELECT count(DISTINCT a.question) FROM survey_answers a
                 WHERE a.survey_id = v.survey_id) AS n_questions
        FROM surveys v
        ORDER BY v.survey_date NULLS LAST, v.name
    """


def natural_key(text: object) -> tuple[tuple[int, object], ...]:
    """Sort key: digits as numbers, so 1班 < 2班 < 10班 (and 901 < 1001)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", str(text)) if part)


def list_exams(wh: Backend) -> pd.DataFrame:
    """One row per exam: ``exam_id, exam, exam_date, term, level, grades, subjects, n_papers,
    n_students`` (students present in any of its papers), by date."""
    return wh.df(exams_sql())


def list_papers(wh: Backend) -> pd.DataFrame:
    """One row per paper: ``paper_id, exam_id, exam, subject, grade, full_score, n_items,
    has_items, n`` (present), ``n_absent, exam_date``, by date, grade and subject."""
    return wh.df(papers_sql())


def list_schools(wh: Backend) -> pd.DataFrame:
    """One row per school: ``school_id, code, school, zone_id, zone_name, ownership, locality,
    grades, n_classes, n_students``, by zone and code."""
    return wh.df(schools_sql())


def list_classes(wh: Backend, *, school: str | int | None = None,
                 grade: int | None = None) -> pd.DataFrame:
    """One row per class: ``class_id, school_id, school, grade, class_name, n_students``, by
    school, grade and class in natural order (1班, 2班, … 10班); ``school`` (name, code or
    id) and ``grade`` filter."""
    frame = wh.df(classes_sql(), {"school": school_id_of(wh, school), "grade": grade})
    schools, grades = frame["school"].tolist(), frame["grade"].tolist()
    names = frame["class_name"].tolist()
    order = sorted(range(len(frame)), key=lambda i: (
        natural_key(schools[i]), int(grades[i]), natural_key(names[i])))
    return frame.iloc[order].reset_index(drop=True)


def list_surveys(wh: Backend) -> pd.DataFrame:
    """One row per survey: ``survey_id, survey, grade, survey_date, n_students,
    n_questions``, by date."""
    return wh.df(surveys_sql())
