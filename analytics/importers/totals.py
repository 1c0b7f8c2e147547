"""One total per student (入口成绩 and other exams without item data) → ``paper_results``.

The paper is created if needed (it then has no specification table: ``has_items`` false);
a paper that has one takes item scores (`eqm import scores`) instead. A total cell holding
缺考/缺/absent (or blank) → absent; 作弊/违纪 → void (also from a status column).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from analytics.domain.params import fill_doc
from analytics.errors import InputError, ProblemCollector
from analytics.importers.common import (
    ABSENT_MARKS,
    PRESENT_MARKS,
    PROBLEM_CAP,
    VOID_MARKS,
    ImportResult,
    cell_sql,
    finite_positive,
    header_classifier,
    new_schools_note,
    next_id,
    number_sql,
    read_table,
    run_import,
    sql_problems,
    target_extra,
)
from analytics.importers.paper import (
    ensure_exam,
    find_paper,
    paper_has_results,
    paper_target,
)
from analytics.importers.people import PERSON_SYNONYMS, create_people, person_problems, rows_sql
from analytics.warehouse import Warehouse

TOTAL_SYNONYMS: dict[str, tuple[str, ...]] = {
    **PERSON_SYNONYMS,
    "total": ("总分", "成绩", "分数", "得分", "卷面分", "原始分", "total", "score"),
    "status": ("状态", "考试状态", "考生状态"),
}
_classify_total_header = header_classifier(TOTAL_SYNONYMS)



def _quote_list(words: tuple[str, ...]) -> str:
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


def totals_sql(total_col: str, status_col: str) -> str:
    """``_status`` for a totals file: status, total and the unreadable text."""
    absent = _quote_list(ABSENT_MARKS)
    void = _quote_list(VOID_MARKS)
    present = _quote_list(PRESENT_MARKS)
    return f"""
        CREATE OR REPLACE TEMP TABLE _status AS
        SELECT _row, status, CASE WHEN status = 'present' THEN num END AS total, t AS total_text,
               num AS total_num, bad_status
        FROM (
            SELECT _row, t, num, bad_status,
                CASE WHEN upper(s) IN ({void}) OR upper(t) IN ({void}) THEN 'void'
                     WHEN upper(s) IN ({absent}) OR t IS NULL OR upper(t) IN ({absent})
                         THEN 'absent'
                     ELSE 'present' END AS status
            FROM (
                SELECT _row, {total_col} AS t, {number_sql(total_col)} AS num,
                       {status_col} AS s,
                       CASE WHEN {status_col} IS NOT NULL AND upper({status_col}) NOT IN
                           ({void}, {absent}, {present}) THEN {status_col} END AS bad_status
                FROM _raw)
        )
    """


def totals_problems_sql() -> str:
    """Problems of a totals file's ``_status`` rows (columns ``_row, col, zh, en``): a present
    student's total that is not a number, negative or above the full score ``$full``; a status
    that cannot be recognised. ``$c_total``, ``$c_status`` are the header texts as written."""
    return """
        SELECT _row, $c_total AS col,
            CASE WHEN total_num IS NULL
                     THEN '总分「' || total_text || '」不是数字(可为 缺考/作弊 或空白)'
                 WHEN total_num < 0 THEN '总分 ' || total_text || ' 为负数'
                 ELSE '总分 ' || total_text || ' 超过满分 ' || $full END,
            CASE WHEN total_num IS NULL
                     THEN 'total ' || total_text || ' is not a number (缺考/作弊 or blank allowed)'
                 WHEN total_num < 0
                     THEN 'total ' || total_text || ' is negative'
                 ELSE 'total ' || total_text || ' is above the full score ' || $full END
        FROM _status
        WHERE status = 'present' AND (total_num IS NULL OR total_num < 0 OR total_num > $full)
        UNION ALL
        SELECT _row, $c_status, '考试状态「' || bad_status || '」无法识别(正常/缺考/作弊)',
               'status ' || bad_status || ' not recognised (正常/缺考/作弊)'
        FROM _status WHERE bad_status IS NOT NULL
    """


@fill_doc
def import_totals(
    wh: Warehouse,
    path: str | Path,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    full_score: float | None = None,
    exam_date: object = None,
    level: str = "district",
    mapping: str | Path | None = None,
    sheet: str | int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import one total per student for ``exam`` × ``subject`` (× ``grade``).

    Creates the exam and a paper without items when needed (then ``grade`` and ``full_score``
    are required). Re-importing replaces the paper's results; the identical file is a no-op.

    Parameters
    ----------
    {import_wh}
    path : str or Path
        One row per student with a total (CSV or XLSX).
    exam, subject : str
        Exam (created if new) and subject.
    grade : int, optional
        Grade of the paper; required when the paper is new.
    full_score : float, optional
        Full score; required when the paper is new, updates it otherwise.
    exam_date : date or str, optional
        Date of a new exam (YYYY-MM-DD).
    level : str
        Level of a new exam: district, city, national, school or other.
    {mapping_sheet}
    {progress}

    {returns_student_rows}

    {raises_refused}
    """
    name = Path(path).name
    say = progress or (lambda _msg: None)
    target = f"{paper_target(wh, exam, subject, grade)}; full={full_score}"
    target += target_extra(sheet, mapping)

    def body() -> ImportResult:
        hit = find_paper(wh, exam, subject, grade)
        if len(hit) > 1:
            grades = ", ".join(str(x) for x in hit["grade"])
            raise InputError(f"「{exam}」{subject} 有多个年级 ({grades}),请指定 --grade / several "
                             f"grades ({grades}) have this paper; pass --grade")
        if len(hit) == 1 and bool(hit["has_items"].iloc[0]):
            raise InputError(
                f"「{exam}」{subject} 已有双向细目表,请用 `eqm import scores` 导入小题得分 / this "
                "paper has a specification table: import item scores with `eqm import scores`")
        say("读取文件 / reading the file")
        header, n, warnings = read_table(
            wh, path, sheet=sheet, mapping=mapping, classify=_classify_total_header,
            required=lambda c: "student_id" in c and "total" in c,
            what=("总分(考号、总分)", "totals (student id, total)"), names=TOTAL_SYNONYMS)
        given_full = finite_positive(full_score, "满分", "full score", name)
        if hit.empty:
            if grade is None or full_score is None:
                raise InputError(
                    f"新建试卷「{exam}」{subject} 需要 --grade 与 --full-score / creating the "
                    f"paper {exam} {subject} needs --grade and --full-score")
            full = float(full_score)
            paper_grade = int(grade)
            exam_id = ensure_exam(wh, exam, paper_grade, exam_date, level)
            paper_id = next_id(wh, "papers", "paper_id")
            wh.execute(
                "INSERT INTO papers (paper_id, exam_id, subject, grade, full_score, has_items) "
                "VALUES ($id, $e, $s, $g, $f, false)",
                {"id": paper_id, "e": exam_id, "s": subject, "g": paper_grade, "f": full},
            )
        else:
            paper_id = int(hit["paper_id"].iloc[0])
            paper_grade = int(hit["grade"].iloc[0])
            full = float(hit["full_score"].iloc[0])
            if given_full is not None and given_full != full:
                full = given_full
                wh.execute("UPDATE papers SET full_score = $f WHERE paper_id = $p",
                           {"f": full, "p": paper_id})
        say(f"校验 {n} 行 / validating {n} rows")
        problems = ProblemCollector(name, cap=PROBLEM_CAP)
        wh.execute(rows_sql(header))
        person_problems(wh, header, problems)
        t_i, s_i = header.col("total"), header.col("status")
        wh.execute(totals_sql(cell_sql(t_i), cell_sql(s_i)))
        sql_problems(wh, problems, totals_problems_sql(), {
            "c_total": header.cells[t_i] if t_i is not None else None,
            "c_status": header.cells[s_i] if s_i is not None else None, "full": full})
        problems.raise_if_any()
        say("写入数据库 / writing the warehouse")
        created, schools = create_people(wh, paper_grade)
        note_zh, note_en = new_schools_note(schools)
        old = int(wh.scalar("SELECT count(*) FROM paper_results WHERE paper_id = $p",
                            {"p": paper_id}))
        if old:
            wh.execute("DELETE FROM paper_results WHERE paper_id = $p", {"p": paper_id})
        wh.execute("""
            INSERT INTO paper_results (paper_id, student_key, status, total)
            SELECT $p, k.student_key, s.status, s.total FROM _status s JOIN _keys k USING (_row)
        """, {"p": paper_id})
        counts = wh.df("SELECT status, count(*) AS n FROM _status GROUP BY status")
        by = dict(zip(counts["status"], counts["n"], strict=True))
        for t in ("_status", "_keys", "_school_lookup"):
            wh.execute(f"DROP TABLE IF EXISTS {t}")
        outcome = "replaced" if old else "ok"
        verb, verb_en = ("已替换", "replaced") if old else ("已导入", "imported")
        msg = (f"{name}: {verb}「{exam}」{subject} 总分 {n} 人(参考 {by.get('present', 0)},缺考 "
               f"{by.get('absent', 0)},作弊/无效 {by.get('void', 0)}),新建学生 {created}"
               f"{note_zh} / "
               f"{verb_en} the totals of {exam} {subject}: {n} students "
               f"({by.get('present', 0)} present, {by.get('absent', 0)} absent, "
               f"{by.get('void', 0)} void), {created} new students"
               + (f"; replaced {old} earlier results" if old else "") + note_en)
        return ImportResult("totals", name, n, outcome, msg, warnings)

    return run_import(wh, "totals", path, target, body,
                      still_loaded=lambda: paper_has_results(wh, exam, subject, grade))
