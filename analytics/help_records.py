"""Help records (帮教记录) of the student archive: what a principal or teacher did for a
student — the date, the teacher, what was done — kept with their history.

Records are append-only (migration ``008_help_records.sql``): :func:`add_help_record` starts a
record, :func:`edit_help_record` adds a version (a correction), :func:`withdraw_help_record` a
version marking it withdrawn; no version is ever changed or deleted. :func:`help_records` lists
the current version of each record, :func:`help_record_history` every version.

Scope (a principal only writes and reads their own school's students): every function takes
``school`` (the CLI and the dashboard service pass the user's school): a student of
another school is refused as if unknown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from analytics.errors import InputError
from analytics.lookup import school_id_of
from analytics.warehouse import Warehouse

COLUMNS = ["record_id", "version", "student_key", "student_id", "student_name", "school_id",
           "class_name", "help_date", "teacher", "action", "subject", "author", "withdrawn",
           "created_at"]


def student_sql() -> str:
    """The student whose 考号 or key is ``$student`` (a string) or whose name is ``$student``
    (one row per match), within school ``$school_id`` (NULL: any)."""
    return """
        SELECT student_key, student_id, student_name, school_id, school_name, class_id,
               class_name, grade
        FROM student_tree
        WHERE (student_id = $student OR student_name = $student
               OR CAST(student_key AS VARCHAR) = $student)
          AND ($school_id IS NULL OR school_id = $school_id)
        ORDER BY student_id
    """


def find_student(wh: Warehouse, student: str | int, school: str | int | None = None) -> pd.Series:
    """The one student named by 考号 (or key, or a name that is unique), within ``school``.

    Raises
    ------
    InputError
        When there is no such student (in that school) or the name is shared.
    """
    school_id = school_id_of(wh, school)
    hits = wh.df(student_sql(), {"student": str(student).strip(), "school_id": school_id})
    if hits.empty:
        raise InputError(f"没有学生「{student}」" + ("(或不在本校)" if school_id is not None
                                                    else "") +
                         f" / no student {student!r}" +
                         (" in your school" if school_id is not None else ""))
    if len(hits) > 1:
        ids = ", ".join(hits["student_id"].astype(str).head(8))
        raise InputError(f"有 {len(hits)} 名学生叫「{student}」,请用考号:{ids} / "
                         f"{len(hits)} students are called {student!r}; use the ID: {ids}")
    return hits.iloc[0]


def _text(value: Any, what_zh: str, what_en: str) -> str:
    if value is None or not str(value).strip():
        raise InputError(f"{what_zh}不能为空 / {what_en} is empty")
    return str(value).strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InputError(f"日期「{value}」不是 YYYY-MM-DD / date {value!r} is not YYYY-MM-DD") \
            from exc


def add_help_record(wh: Warehouse, *, student: str | int, date: Any, teacher: str, action: str,
                    author: str, subject: str | None = None,
                    school: str | int | None = None) -> int:
    """Start a help record for ``student`` (考号; within ``school`` when given).

    Returns
    -------
    int
        The new record's id (its first version is 1).
    """
    s = find_student(wh, student, school)
    day = _date(date)
    params = {"k": int(s["student_key"]), "d": day, "t": _text(teacher, "教师", "the teacher"),
              "a": _text(action, "帮教内容", "what was done"),
              "u": _text(author, "作者", "the author"), "s": subject or None}
    with wh.transaction():
        rid = int(wh.scalar("SELECT nextval('help_record_ids')"))
        wh.execute("INSERT INTO help_records (record_id, version, student_key, help_date, "
                   "teacher, action, subject, author) VALUES ($r, 1, $k, $d, $t, $a, $s, $u)",
                   {"r": rid, **params})
    return rid


def _current(wh: Warehouse, record_id: int, school: str | int | None) -> pd.Series:
    school_id = school_id_of(wh, school)
    cur = wh.df("""
        SELECT h.*, t.school_id FROM help_records h JOIN student_tree t USING (student_key)
        WHERE h.record_id = $r AND ($school_id IS NULL OR t.school_id = $school_id)
        ORDER BY h.version DESC LIMIT 1
    """, {"r": int(record_id), "school_id": school_id})
    if cur.empty:
        raise InputError(f"没有帮教记录 {record_id} / no help record {record_id}")
    return cur.iloc[0]


def edit_help_record(wh: Warehouse, record_id: int, *, author: str, date: Any = None,
                     teacher: str | None = None, action: str | None = None,
                     subject: str | None = None, school: str | int | None = None) -> int:
    """Add a version of record ``record_id`` with the given fields changed (the others kept).

    Returns
    -------
    int
        The new version number.
    """
    return _new_version(wh, record_id, author=author, school=school, date=date,
                        teacher=teacher, action=action, subject=subject, withdrawn=False)


def withdraw_help_record(wh: Warehouse, record_id: int, *, author: str,
                         school: str | int | None = None) -> int:
    """Add a version marking record ``record_id`` withdrawn (its history stays).

    Returns
    -------
    int
        The new version number.
    """
    return _new_version(wh, record_id, author=author, school=school, withdrawn=True)


def _new_version(wh: Warehouse, record_id: int, *, author: str, school: str | int | None,
                 withdrawn: bool, date: Any = None, teacher: str | None = None,
                 action: str | None = None, subject: str | None = None) -> int:
    with wh.transaction():
        cur = _current(wh, record_id, school)
        version = int(cur["version"]) + 1
        wh.execute("INSERT INTO help_records (record_id, version, student_key, help_date, "
                   "teacher, action, subject, author, withdrawn) "
                   "VALUES ($r, $v, $k, $d, $t, $a, $s, $u, $w)",
                   {"r": int(record_id), "v": version, "k": int(cur["student_key"]),
                    "d": cur["help_date"] if date is None else _date(date),
                    "t": cur["teacher"] if teacher is None else _text(teacher, "教师",
                                                                      "the teacher"),
                    "a": cur["action"] if action is None else _text(action, "帮教内容",
                                                                    "what was done"),
                    "s": cur["subject"] if subject is None else subject,
                    "u": _text(author, "作者", "the author"), "w": withdrawn})
    return version


def help_table_sql() -> str:
    """1 when the warehouse has the help-record table (migration 008), else 0: a read-only
    snapshot of an older warehouse has none until a writer opens it."""
    return ("SELECT count(*) FROM information_schema.tables "
            "WHERE table_name = 'help_records'")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def help_records_sql(current: bool) -> str:
    """Help records of student ``$student_key`` (NULL: every student of school ``$school_id``;
    both NULL: all), the current version of each (``current``) or every version."""
    latest = ("QUALIFY h.version = max(h.version) OVER (PARTITION BY h.record_id)"
              if current else "")
    return f"""
        SELECT h.record_id, h.version, h.student_key, t.student_id, t.student_name,
               t.school_id, t.class_name, h.help_date, h.teacher, h.action, h.subject,
               h.author, h.withdrawn, h.created_at
        FROM help_records h JOIN student_tree t USING (student_key)
        WHERE ($student_key IS NULL OR h.student_key = $student_key)
          AND ($school_id IS NULL OR t.school_id = $school_id)
        {latest}
        ORDER BY h.help_date, h.record_id, h.version
    """


def help_records(wh: Warehouse, *, student: str | int | None = None,
                 school: str | int | None = None, include_withdrawn: bool = False
                 ) -> pd.DataFrame:
    """The current version of each help record of ``student`` (or of every student of
    ``school``), oldest date first.

    Returns
    -------
    pandas.DataFrame
        record_id, version, student_key, student_id (考号), student_name, school_id, class_name,
        help_date, teacher, action, subject, author (of this version), withdrawn, created_at.
    """
    school_id = school_id_of(wh, school)
    key = None if student is None else int(find_student(wh, student, school_id)["student_key"])
    if not int(wh.scalar(help_table_sql())):
        return _empty()
    out = wh.df(help_records_sql(True), {"student_key": key, "school_id": school_id})
    if not include_withdrawn:
        out = out[~out["withdrawn"].astype(bool)]
    return out[COLUMNS].reset_index(drop=True)


def help_record_history(wh: Warehouse, *, student: str | int,
                        school: str | int | None = None) -> pd.DataFrame:
    """Every version of every help record of ``student``, by date, record and version.

    Returns
    -------
    pandas.DataFrame
        One row per version: record_id, version, student_key, student_id, student_name,
        school_id, class_name, help_date, teacher, action, subject, author, withdrawn,
        created_at (as :func:`help_records`).
    """
    school_id = school_id_of(wh, school)
    key = int(find_student(wh, student, school_id)["student_key"])
    if not int(wh.scalar(help_table_sql())):
        return _empty()
    return wh.df(help_records_sql(False), {"student_key": key, "school_id": school_id})[COLUMNS]
