"""Student questionnaires (绿色指标问卷): one row per student, one column per question →
``surveys`` and ``survey_answers`` (long: student × question, text and number).

Every column that is not a person column (考号, 姓名, 学校, 班级, 性别, 年级) is a question,
kept under its header as written (NFKC-normalised). Students must already be in the warehouse
(from the roster or a scores/totals file). Blank cells are not stored.
"""

from __future__ import annotations

from pathlib import Path

from analytics.domain.params import fill_doc
from analytics.errors import ProblemCollector
from analytics.importers.common import (
    PROBLEM_CAP,
    ImportResult,
    cell_sql,
    header_key,
    next_id,
    number_sql,
    read_table,
    run_import,
    sql_problems,
    synonym_index,
    target_extra,
)
from analytics.importers.people import PERSON_SYNONYMS, id_problems_sql
from analytics.warehouse import Warehouse

_INDEX = synonym_index(PERSON_SYNONYMS)


def classify_survey_header(cell: str) -> str | None:
    """Person columns by synonym; any other non-empty header is ``question``."""
    key = header_key(cell)
    if not key:
        return None
    return _INDEX.get(key, "question")


def survey_problems_sql() -> str:
    """Missing and repeated ids (:func:`id_problems_sql`) and students not in the warehouse."""
    return id_problems_sql() + """
        UNION ALL
        SELECT r._row, $c_sid,
               '学生 ' || r.sid || ' 不在数据库中(请先导入名册或成绩)',
               'student ' || r.sid || ' is not in the warehouse (import the roster or scores first)'
        FROM _rows r ANTI JOIN students s ON s.student_id = r.sid
        WHERE r.sid IS NOT NULL
    """


def answers_sql(cols: list[str]) -> str:
    """Long answers: one row per student × question with a non-blank value."""
    clist = ", ".join(cols)
    return f"""
        INSERT INTO survey_answers (survey_id, student_key, question, value_text, value_num)
        SELECT $sv, s.student_key, q.question, trim(u.val), {number_sql('u.val')}
        FROM (SELECT _row, {clist} FROM _raw) UNPIVOT (val FOR col IN ({clist})) u
        JOIN _qcols q USING (col)
        JOIN _rows r USING (_row)
        JOIN students s ON s.student_id = r.sid
        WHERE trim(u.val) <> ''
    """


@fill_doc
def import_survey(
    wh: Warehouse,
    path: str | Path,
    *,
    survey: str,
    grade: int | None = None,
    mapping: str | Path | None = None,
    sheet: str | int | None = None,
) -> ImportResult:
    """Import the answers of questionnaire ``survey``.

    Parameters
    ----------
    {import_wh}
    path : str or Path
        One row per student, one column per question (CSV or XLSX).
    survey : str
        Questionnaire name (created if new; re-importing replaces its answers).
    grade : int, optional
        Grade the questionnaire was given to.
    {mapping_sheet}

    {returns_student_rows}

    Raises
    ------
    InputError
        Every problem (unknown or duplicate students, duplicate questions), up to a cap.
    """
    name = Path(path).name
    target = f"survey={survey}; grade={grade}"
    target += target_extra(sheet, mapping)

    def body() -> ImportResult:
        header, n, warnings = read_table(
            wh, path, sheet=sheet, mapping=mapping, classify=classify_survey_header,
            required=lambda c: "student_id" in c and "question" in c,
            what=("问卷(考号与题目列)", "a questionnaire (student id, questions)"),
            names=[*PERSON_SYNONYMS, "question"])
        problems = ProblemCollector(name, cap=PROBLEM_CAP)
        q_cols: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for i, canon in enumerate(header.canonical):
            if canon != "question":
                continue
            q = header.cells[i]
            if q in seen:
                problems.add(header.row, q, f"题目「{q}」出现两次", f"question {q!r} appears twice")
                continue
            seen[q] = q
            q_cols.append((f"c{i}", q))
        sid = header.col("student_id")
        assert sid is not None  # detect_header required it
        wh.execute("CREATE OR REPLACE TEMP TABLE _rows AS "
                   f"SELECT _row, {cell_sql(sid)} AS sid FROM _raw")
        sql_problems(wh, problems, survey_problems_sql(), {"c_sid": header.cells[sid]})
        problems.raise_if_any()
        old = wh.df("SELECT survey_id FROM surveys WHERE name = $n", {"n": survey})
        if old.empty:
            survey_id = next_id(wh, "surveys", "survey_id")
            wh.execute("INSERT INTO surveys (survey_id, name, grade) VALUES ($id, $n, $g)",
                       {"id": survey_id, "n": survey, "g": grade})
            replaced = 0
        else:
            survey_id = int(old["survey_id"].iloc[0])
            replaced = int(wh.scalar("SELECT count(DISTINCT student_key) FROM survey_answers "
                                     "WHERE survey_id = $s", {"s": survey_id}))
            wh.execute("DELETE FROM survey_answers WHERE survey_id = $s", {"s": survey_id})
            wh.execute("UPDATE surveys SET grade = coalesce($g, grade) WHERE survey_id = $s",
                       {"g": grade, "s": survey_id})
        wh.execute("CREATE OR REPLACE TEMP TABLE _qcols (col VARCHAR, question VARCHAR)")
        for col, q in q_cols:
            wh.execute("INSERT INTO _qcols VALUES ($c, $q)", {"c": col, "q": q})
        wh.execute(answers_sql([c for c, _ in q_cols]), {"sv": survey_id})
        n_ans = int(wh.scalar("SELECT count(*) FROM survey_answers WHERE survey_id = $s",
                              {"s": survey_id}))
        wh.execute("DROP TABLE IF EXISTS _qcols")
        outcome = "replaced" if replaced else "ok"
        verb, verb_en = ("已替换", "replaced") if replaced else ("已导入", "imported")
        msg = (f"{name}: {verb}问卷「{survey}」{n} 名学生,{len(q_cols)} 题,{n_ans} 个回答 / "
               f"{verb_en} questionnaire {survey}: {n} students, {len(q_cols)} questions, "
               f"{n_ans} answers")
        return ImportResult("survey", name, n, outcome, msg, warnings)

    return run_import(
        wh, "survey", path, target, body,
        still_loaded=lambda: bool(wh.scalar(
            "SELECT count(*) > 0 FROM survey_answers a JOIN surveys s USING (survey_id) "
            "WHERE s.name = $n", {"n": survey})),
    )
