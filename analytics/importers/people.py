"""Students, schools and classes named in a file: checked and created in SQL.

Shared by the roster, scores, totals and survey importers. The rows of a file are first put into
the temporary table ``_rows`` (``_row, sid, sname, school, klass, gender, grade``); the checks
below return problems; :func:`create_people` adds unknown schools, classes and students with ids
``max + 1, …`` and fills ``_keys`` (``_row, student_key``).

Rules: a student id appears once per file; a student already in the warehouse (from the roster or
an earlier file) must be named with the same school (name or code) — otherwise the student would
be in two schools; a student not yet known needs a school.
"""

from __future__ import annotations

import pandas as pd

from analytics.errors import ProblemCollector
from analytics.importers.common import Header, cell_sql, sql_problems
from analytics.warehouse import Warehouse

PERSON_SYNONYMS: dict[str, tuple[str, ...]] = {
    "student_id": ("考号", "学号", "准考证号", "学籍号", "考生号", "考生编号", "学生编号", "id",
                   "studentid", "student_no"),
    "name": ("姓名", "学生姓名", "考生姓名", "student_name"),
    "school": ("学校", "学校名称", "学校名", "所在学校", "单位", "school_name"),
    "class": ("班级", "班别", "班", "班级名称", "klass", "class_name"),
    "gender": ("性别", "sex"),
    "grade": ("年级",),
}

_CN = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


def grade_lookup() -> pd.DataFrame:
    """Written forms of grades 1..12 → number: 5, 五, 五年级, 初一 (7), 高一 (10) …"""
    rows = []
    for n in range(1, 13):
        cn = _CN[n - 1]
        for form in (str(n), f"{n}年级", cn, f"{cn}年级", f"{n}级"):
            rows.append((form, n))
    for i, cn in enumerate(["一", "二", "三"]):
        rows += [(f"初{cn}", 7 + i), (f"高{cn}", 10 + i)]
    return pd.DataFrame(rows, columns=["form", "grade"]).drop_duplicates("form")


def gender_sql(expr: str) -> str:
    """SQL mapping 男/M/male → 'M', 女/F/female → 'F', anything else → NULL."""
    return (f"CASE WHEN upper({expr}) IN ('男', 'M', 'MALE', '男生') THEN 'M' "
            f"WHEN upper({expr}) IN ('女', 'F', 'FEMALE', '女生') THEN 'F' END")


def col_expr(header: Header, canonical: str) -> str:
    """Trimmed text of the column mapped to ``canonical`` (NULL when blank or absent)."""
    return cell_sql(header.col(canonical))


def rows_sql(header: Header) -> str:
    """``_rows`` from ``_raw``: the person columns of each data row."""
    g = col_expr(header, "gender")
    return f"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        SELECT _row, {col_expr(header, 'student_id')} AS sid, {col_expr(header, 'name')} AS sname,
               {col_expr(header, 'school')} AS school, {col_expr(header, 'class')} AS klass,
               {g} AS gender_raw, {gender_sql(g)} AS gender,
               {col_expr(header, 'grade')} AS grade_raw
        FROM _raw
    """


def id_problems_sql() -> str:
    """Rows of ``_rows`` without a student id, and repeated ids (every file with one row per
    student): columns ``_row, col, zh, en``; ``$c_sid`` is the id column's header as written."""
    return """
        SELECT _row, $c_sid AS col, '缺少考号' AS zh, 'student id is missing' AS en
        FROM _rows WHERE sid IS NULL
        UNION ALL
        SELECT _row, $c_sid,
               '考号 ' || sid || ' 重复(首次出现在第 ' || first_row || ' 行)',
               'duplicate row for student ' || sid || ' (first at row ' || first_row || ')'
        FROM (SELECT _row, sid, min(_row) OVER (PARTITION BY sid) AS first_row FROM _rows
              WHERE sid IS NOT NULL)
        WHERE _row > first_row
    """


def person_problems_sql() -> str:
    """Problems with the people of a file: columns ``_row, col, zh, en``.

    ``$c_sid``, ``$c_school``, ``$c_gender`` are the header texts as written."""
    return id_problems_sql() + """
        UNION ALL
        SELECT r._row, $c_school,
               '学生 ' || r.sid || ' 已登记在学校「' || sc.name || '」,此处为「' || r.school
                   || '」(一名学生不能属于两所学校)',
               'student ' || r.sid || ' is already recorded at school ' || sc.name
                   || ' but this row says ' || r.school || ' (a student cannot be in two schools)'
        FROM _rows r
        JOIN students s ON s.student_id = r.sid
        JOIN schools sc ON sc.school_id = s.school_id
        WHERE r.school IS NOT NULL AND r.school <> sc.name AND r.school IS DISTINCT FROM sc.code
        UNION ALL
        SELECT r._row, $c_sid,
               '学生 ' || r.sid || ' 不在名册中,且未给出学校,无法创建',
               'student ' || r.sid || ' is not in the roster and the row names no school'
        FROM _rows r ANTI JOIN students s ON s.student_id = r.sid
        WHERE r.sid IS NOT NULL AND r.school IS NULL
        UNION ALL
        SELECT _row, $c_gender,
               '性别「' || gender_raw || '」无法识别(应为 男/女/M/F)',
               'gender ' || gender_raw || ' not recognised (use 男/女/M/F)'
        FROM _rows WHERE gender_raw IS NOT NULL AND gender IS NULL
    """


def person_problems(wh: Warehouse, header: Header, problems: ProblemCollector) -> None:
    """Add the problems of :func:`person_problems_sql` to ``problems``."""

    def written(canonical: str) -> str | None:
        idx = header.col(canonical)
        return header.written(idx) if idx is not None else None

    sql_problems(wh, problems, person_problems_sql(), {
        "c_sid": written("student_id"), "c_school": written("school"),
        "c_gender": written("gender"),
    })


def school_lookup_sql() -> str:
    """Every name and code of every school → school_id."""
    return """
        CREATE OR REPLACE TEMP TABLE _school_lookup AS
        SELECT name AS key, min(school_id) AS school_id FROM schools GROUP BY name
        UNION ALL
        SELECT code, min(school_id) FROM schools WHERE code IS NOT NULL
            AND code NOT IN (SELECT name FROM schools) GROUP BY code
    """


def new_schools_sql() -> str:
    """Schools named by new students and not known by name or code."""
    return """
        INSERT INTO schools (school_id, name)
        SELECT (SELECT coalesce(max(school_id), 0) FROM schools)
                   + row_number() OVER (ORDER BY school), school
        FROM (SELECT DISTINCT r.school FROM _rows r
              ANTI JOIN students s ON s.student_id = r.sid
              ANTI JOIN _school_lookup l ON l.key = r.school
              WHERE r.school IS NOT NULL)
    """


def new_classes_sql(rows: str = "_new") -> str:
    """The classes (school × grade × class name) of the rows of ``rows`` (a trusted temp-table
    name: ``_new``, the new students of a results file, or ``_rows``, a roster) not yet known."""
    return f"""
        INSERT INTO classes (class_id, school_id, grade, name)
        SELECT (SELECT coalesce(max(class_id), 0) FROM classes)
                   + row_number() OVER (ORDER BY school_id, grade, klass),
               school_id, grade, klass
        FROM (SELECT DISTINCT l.school_id, r.grade, r.klass FROM {rows} r
              JOIN _school_lookup l ON l.key = r.school
              WHERE r.klass IS NOT NULL AND r.grade IS NOT NULL) n
        ANTI JOIN classes c ON c.school_id = n.school_id AND c.grade = n.grade
                           AND c.name = n.klass
    """


def new_students_sql() -> str:
    """Insert the students of ``_new`` (the file's unknown ids): ``student_key`` numbered on from
    the highest existing one in row order, the school through ``_school_lookup``, the class
    (when the school has it for the grade)."""
    return """
        INSERT INTO students (student_key, student_id, name, gender, grade, school_id, class_id)
        SELECT (SELECT coalesce(max(student_key), 0) FROM students)
                   + row_number() OVER (ORDER BY r._row),
               r.sid, r.sname, r.gender, r.grade, l.school_id, c.class_id
        FROM _new r
        JOIN _school_lookup l ON l.key = r.school
        LEFT JOIN classes c ON c.school_id = l.school_id AND c.grade = r.grade
                           AND c.name = r.klass
    """


def schools_after(wh: Warehouse, school_id: int) -> list[str]:
    """Names of the schools whose id is above ``school_id`` (the ones an import created)."""
    return [str(n) for n in wh.df("SELECT name FROM schools WHERE school_id > $i "
                                  "ORDER BY school_id", {"i": school_id})["name"]]


def max_school_id(wh: Warehouse) -> int:
    """The highest ``school_id`` so far (0 when there is no school)."""
    return int(wh.scalar("SELECT coalesce(max(school_id), 0) FROM schools"))


def create_people(wh: Warehouse, grade: int | None) -> tuple[int, list[str]]:
    """Create the unknown schools, classes and students of ``_rows`` and fill ``_keys``.

    ``grade`` is the paper's grade, used for new students and classes. Returns the number of
    students created and the names of the schools created. Assumes :func:`person_problems`
    found nothing.
    """
    wh.execute(school_lookup_sql())
    before = max_school_id(wh)
    wh.execute(new_schools_sql())
    wh.execute(school_lookup_sql())
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _new AS "
        "SELECT r.*, $grade::INTEGER AS grade FROM _rows r "
        "ANTI JOIN students s ON s.student_id = r.sid",
        {"grade": grade},
    )
    wh.execute(new_classes_sql())
    created = int(wh.scalar("SELECT count(*) FROM _new"))
    wh.execute(new_students_sql())
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _keys AS "
        "SELECT r._row, s.student_key FROM _rows r JOIN students s ON s.student_id = r.sid"
    )
    wh.execute("DROP TABLE IF EXISTS _new")
    return created, schools_after(wh, before)
