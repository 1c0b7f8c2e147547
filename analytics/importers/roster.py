"""The roster (名册, optional): zones, schools, classes and students.

New zones, schools, classes and students are created; students already known are updated
(name, gender, grade, class, 户籍, SES) — but never moved to another school: a student already
recorded at one school and listed at another is an error (a student in two schools). Schools
already known get their zone, 公办/民办 and 城区/乡镇 filled in or updated when the roster gives
them. All checks are SQL over the whole file.
"""

from __future__ import annotations

from pathlib import Path

from analytics.domain.params import fill_doc
from analytics.errors import InputError, ProblemCollector
from analytics.importers.common import (
    PROBLEM_CAP,
    ImportResult,
    header_classifier,
    new_schools_note,
    next_id,
    number_sql,
    read_table,
    run_import,
    sql_problems,
    target_extra,
)
from analytics.importers.people import (
    PERSON_SYNONYMS,
    col_expr,
    gender_sql,
    grade_lookup,
    max_school_id,
    new_classes_sql,
    school_lookup_sql,
    schools_after,
)
from analytics.warehouse import Warehouse

ROSTER_SYNONYMS: dict[str, tuple[str, ...]] = {
    **PERSON_SYNONYMS,
    "zone": ("片区", "学区", "联合体", "教育集团", "zone_name"),
    "ownership": ("办学性质", "公办/民办", "公民办", "学校性质"),
    "locality": ("城乡", "城乡类型", "城乡属性", "学校类型", "区域类型"),
    "hukou": ("户籍", "户籍类型", "户口"),
    "ses": ("ses", "家庭背景指数", "家庭社会经济地位", "家庭经济社会地位指数", "ses_index"),
    "school_code": ("学校代码", "学校编号", "school_code"),
}
_classify_roster_header = header_classifier(ROSTER_SYNONYMS)

DEFAULT_DISTRICT = "本区"



def roster_rows_sql(header_cols: dict[str, str]) -> str:
    """``_rows`` for a roster: every column mapped to codes, the raw text kept for messages."""
    c = header_cols
    return f"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        SELECT r._row, {c['student_id']} AS sid, {c['name']} AS sname, {c['school']} AS school,
               {c['school_code']} AS school_code, {c['class']} AS klass, {c['zone']} AS zone,
               {c['gender']} AS gender_raw, {gender_sql(c['gender'])} AS gender,
               {c['grade']} AS grade_raw, g.grade,
               {c['ownership']} AS ownership_raw,
               CASE WHEN {c['ownership']} IN ('公办', '公立', 'public') THEN 'public'
                    WHEN {c['ownership']} IN ('民办', '私立', 'private') THEN 'private' END
                   AS ownership,
               {c['locality']} AS locality_raw,
               CASE WHEN {c['locality']} IN ('城区', '城市', '城镇', '城', 'urban') THEN 'urban'
                    WHEN {c['locality']} IN ('乡镇', '农村', '乡村', '乡', 'rural') THEN 'rural' END
                   AS locality,
               {c['hukou']} AS hukou_raw,
               CASE WHEN {c['hukou']} IN ('本地', '本区', '本市', '户籍', 'local') THEN 'local'
                    WHEN {c['hukou']} IN ('外地', '非本地', '外来', '随迁', '非户籍', 'nonlocal')
                        THEN 'nonlocal' END AS hukou,
               {c['ses']} AS ses_raw, {number_sql(c['ses'])} AS ses
        FROM _raw r LEFT JOIN _grades g ON g.form = replace({c['grade']}, ' ', '')
    """


def roster_problems_sql() -> str:
    """Problems of a roster's ``_rows`` (columns ``_row, col, zh, en``): missing or repeated
    ids, a missing school, a student already at another school, a school given two zones or two
    codes, a class without a grade, and codes that cannot be recognised (gender, grade,
    ownership, locality, hukou, SES).

    ``$c_sid``, ``$c_school``, ``$c_zone``, ``$c_class``, ``$c_gender``, ``$c_grade``,
    ``$c_ownership``, ``$c_locality``, ``$c_hukou``, ``$c_ses``, ``$c_code`` are the header texts
    as written."""
    def bad(raw: str, code: str, col: str, zh: str, en: str) -> str:
        return (f"SELECT _row, ${col} AS col, '{zh}「' || {raw} || '」无法识别', "
                f"'{en} ' || {raw} || ' not recognised' FROM _rows "
                f"WHERE {raw} IS NOT NULL AND {code} IS NULL")

    return "\nUNION ALL\n".join([
        "SELECT _row, $c_sid AS col, '缺少考号' AS zh, 'student id is missing' AS en "
        "FROM _rows WHERE sid IS NULL",
        """SELECT _row, $c_sid, '考号 ' || sid || ' 重复(首次出现在第 ' || first_row || ' 行)',
               'duplicate row for student ' || sid || ' (first at row ' || first_row || ')'
           FROM (SELECT _row, sid, min(_row) OVER (PARTITION BY sid) AS first_row FROM _rows
                 WHERE sid IS NOT NULL) WHERE _row > first_row""",
        "SELECT _row, $c_school, '缺少学校', 'school is missing' FROM _rows WHERE school IS NULL",
        """SELECT r._row, $c_school,
               '学生 ' || r.sid || ' 已登记在学校「' || sc.name || '」,此处为「' || r.school
                   || '」(一名学生不能属于两所学校)',
               'student ' || r.sid || ' is already recorded at school ' || sc.name
                   || ' but this row says ' || r.school || ' (a student cannot be in two schools)'
           FROM _rows r JOIN students s ON s.student_id = r.sid
           JOIN schools sc ON sc.school_id = s.school_id
           WHERE r.school IS NOT NULL AND r.school <> sc.name
             AND r.school IS DISTINCT FROM sc.code""",
        """SELECT _row, $c_zone, '学校「' || school || '」在本文件中属于多个片区',
               'school ' || school || ' is given more than one zone in this file'
           FROM (SELECT _row, school, zone,
                        min(_row) OVER (PARTITION BY school) AS first_row,
                        count(DISTINCT zone) OVER (PARTITION BY school) AS k
                 FROM _rows WHERE school IS NOT NULL AND zone IS NOT NULL)
           WHERE k > 1 AND _row > first_row""",
        """SELECT _row, $c_class, '有班级但缺少年级,无法建班',
               'a class is given without a grade; the class cannot be created'
           FROM _rows WHERE klass IS NOT NULL AND grade IS NULL AND grade_raw IS NULL""",
        bad("gender_raw", "gender", "c_gender", "性别", "gender"),
        bad("grade_raw", "grade", "c_grade", "年级", "grade"),
        bad("ownership_raw", "ownership", "c_ownership", "办学性质(公办/民办)",
            "ownership (公办/民办)"),
        bad("locality_raw", "locality", "c_locality", "城乡类型(城区/乡镇)",
            "locality (城区/乡镇)"),
        bad("hukou_raw", "hukou", "c_hukou", "户籍(本地/外地)", "hukou (本地/外地)"),
        bad("ses_raw", "ses", "c_ses", "SES 数值", "SES number"),
        """SELECT _row, $c_code, '学校「' || school || '」在本文件中有两个学校代码('
                   || first_code || '、' || school_code || ')',
               'school ' || school || ' is given two codes in this file (' || first_code
                   || ', ' || school_code || ')'
           FROM (SELECT _row, school, school_code,
                        first_value(school_code) OVER (PARTITION BY school ORDER BY _row)
                            AS first_code
                 FROM _rows WHERE school IS NOT NULL AND school_code IS NOT NULL)
           WHERE school_code <> first_code""",
        """SELECT _row, $c_code, '学校代码 ' || school_code || ' 在本文件中给了两所学校(「'
                   || first_school || '」与「' || school || '」)',
               'school code ' || school_code || ' is given to two schools in this file ('
                   || first_school || ', ' || school || ')'
           FROM (SELECT _row, school, school_code,
                        first_value(school) OVER (PARTITION BY school_code ORDER BY _row)
                            AS first_school
                 FROM _rows WHERE school IS NOT NULL AND school_code IS NOT NULL)
           WHERE school <> first_school""",
        """SELECT r._row, $c_code, '学校「' || sc.name || '」在数据库中的代码是 ' || sc.code
                   || ',此处为 ' || r.school_code,
               'school ' || sc.name || ' has the code ' || sc.code
                   || ' in the warehouse, but this row gives ' || r.school_code
           FROM _rows r JOIN schools sc ON sc.name = r.school OR sc.code = r.school
           WHERE r.school_code IS NOT NULL AND sc.code IS NOT NULL
             AND sc.code <> r.school_code""",
        """SELECT r._row, $c_code, '学校代码 ' || r.school_code || ' 已属于学校「' || sc.name
                   || '」,此处为「' || r.school || '」',
               'school code ' || r.school_code || ' already belongs to school ' || sc.name
                   || ', but this row gives ' || r.school
           FROM _rows r JOIN schools sc ON sc.code = r.school_code
           WHERE r.school IS NOT NULL AND r.school <> sc.name
             AND r.school IS DISTINCT FROM sc.code""",
    ])


def write_roster_sql() -> list[str]:
    """Statements creating zones, schools, classes, students and updating known ones."""
    return [
        """INSERT INTO zones (zone_id, district_id, name)
           SELECT (SELECT coalesce(max(zone_id), 0) FROM zones) + row_number() OVER (ORDER BY z),
                  $d, z
           FROM (SELECT DISTINCT zone AS z FROM _rows WHERE zone IS NOT NULL) n
           ANTI JOIN zones x ON x.district_id = $d AND x.name = n.z""",
        school_lookup_sql(),
        """INSERT INTO schools (school_id, name, code)
           SELECT (SELECT coalesce(max(school_id), 0) FROM schools)
                      + row_number() OVER (ORDER BY school), school, code
           FROM (SELECT school, min(school_code) AS code FROM _rows GROUP BY school) n
           ANTI JOIN _school_lookup l ON l.key = n.school""",
        school_lookup_sql(),
        """UPDATE schools sc SET zone_id = coalesce(a.zone_id, sc.zone_id),
               ownership = coalesce(a.ownership, sc.ownership),
               locality = coalesce(a.locality, sc.locality)
           FROM (SELECT l.school_id, max(z.zone_id) AS zone_id, max(r.ownership) AS ownership,
                        max(r.locality) AS locality
                 FROM _rows r JOIN _school_lookup l ON l.key = r.school
                 LEFT JOIN zones z ON z.district_id = $d AND z.name = r.zone
                 GROUP BY l.school_id) a
           WHERE sc.school_id = a.school_id""",
        new_classes_sql("_rows"),
        """CREATE OR REPLACE TEMP TABLE _resolved AS
           SELECT r.*, l.school_id, c.class_id FROM _rows r
           JOIN _school_lookup l ON l.key = r.school
           LEFT JOIN classes c ON c.school_id = l.school_id AND c.grade = r.grade
                              AND c.name = r.klass""",
        """UPDATE students s SET name = coalesce(r.sname, s.name),
               gender = coalesce(r.gender, s.gender), grade = coalesce(r.grade, s.grade),
               class_id = coalesce(r.class_id, s.class_id), hukou = coalesce(r.hukou, s.hukou),
               ses = coalesce(r.ses, s.ses)
           FROM _resolved r WHERE s.student_id = r.sid""",
        """INSERT INTO students (student_key, student_id, name, gender, grade, school_id,
                                 class_id, hukou, ses)
           SELECT (SELECT coalesce(max(student_key), 0) FROM students)
                      + row_number() OVER (ORDER BY r._row),
                  r.sid, r.sname, r.gender, r.grade, r.school_id, r.class_id, r.hukou, r.ses
           FROM _resolved r ANTI JOIN students s ON s.student_id = r.sid""",
    ]


def ensure_district(wh: Warehouse, district: str | None) -> int:
    """The district's id: the named one (created if new), else the only one, else 本区."""
    if district is None:
        ids = wh.df("SELECT district_id FROM districts ORDER BY district_id")
        if len(ids) == 1:
            return int(ids["district_id"].iloc[0])
        if len(ids) > 1:
            raise InputError("数据库中有多个区,请用 --district 指定 / several districts exist; "
                             "pass --district")
        district = DEFAULT_DISTRICT
    hit = wh.scalar("SELECT district_id FROM districts WHERE name = $n", {"n": district})
    if hit is not None:
        return int(hit)
    new_id = next_id(wh, "districts", "district_id")
    wh.execute("INSERT INTO districts (district_id, name) VALUES ($i, $n)",
               {"i": new_id, "n": district})
    return new_id


@fill_doc
def import_roster(
    wh: Warehouse,
    path: str | Path,
    *,
    district: str | None = None,
    mapping: str | Path | None = None,
    sheet: str | int | None = None,
) -> ImportResult:
    """Import a roster: zones, schools, classes and students (created or updated).

    Parameters
    ----------
    {import_wh}
    path : str or Path
        The roster (CSV or XLSX), one row per student.
    district : str, optional
        District name (created if new); default the only district, else 本区.
    {mapping_sheet}

    Returns
    -------
    ImportResult
        ``rows`` = students in the file; ``replaced`` when earlier students were updated.

    {raises_refused}
    """
    name = Path(path).name
    target = f"district={district}"
    target += target_extra(sheet, mapping)

    def body() -> ImportResult:
        header, n, warnings = read_table(
            wh, path, sheet=sheet, mapping=mapping, classify=_classify_roster_header,
            required=lambda c: "student_id" in c and "school" in c,
            what=("名册(考号、学校)", "a roster (student id, school)"), names=ROSTER_SYNONYMS,
            empty_ok=True)
        if n == 0:
            msg = (f"{name}: 名册中没有学生(0 名学生),未做任何改动 / the roster lists no students "
                   "(0 students); nothing was changed")
            return ImportResult("roster", name, 0, "noop", msg, warnings)
        exprs = {c: col_expr(header, c) for c in ROSTER_SYNONYMS}
        wh.register("_grades_df", grade_lookup())
        try:
            wh.execute("CREATE OR REPLACE TEMP TABLE _grades AS SELECT * FROM _grades_df")
        finally:
            wh.unregister("_grades_df")
        wh.execute(roster_rows_sql(exprs))
        problems = ProblemCollector(name, cap=PROBLEM_CAP)

        def written(c: str) -> str | None:
            i = header.col(c)
            return header.cells[i] if i is not None else None

        sql_problems(wh, problems, roster_problems_sql(), {
            f"c_{k}": written(v) for k, v in {
                "sid": "student_id", "school": "school", "zone": "zone", "class": "class",
                "gender": "gender", "grade": "grade", "ownership": "ownership",
                "locality": "locality", "hukou": "hukou", "ses": "ses",
                "code": "school_code"}.items()})
        problems.raise_if_any()
        district_id = ensure_district(wh, district)
        known = int(wh.scalar("SELECT count(*) FROM _rows r SEMI JOIN students s "
                              "ON s.student_id = r.sid"))
        before = max_school_id(wh)
        for stmt in write_roster_sql():
            wh.execute(stmt, {"d": district_id} if "$d" in stmt else None)
        schools = schools_after(wh, before)
        note_zh, note_en = new_schools_note(schools)
        for t in ("_grades", "_resolved", "_school_lookup"):
            wh.execute(f"DROP TABLE IF EXISTS {t}")
        outcome = "replaced" if known else "ok"
        msg = (f"{name}: 名册 {n} 名学生(新建 {n - known},更新 {known}),新建学校 {len(schools)}"
               f"{note_zh} / roster: {n} students ({n - known} new, {known} updated), "
               f"{len(schools)} new schools{note_en}")
        return ImportResult("roster", name, n, outcome, msg, warnings)

    return run_import(wh, "roster", path, target, body)
