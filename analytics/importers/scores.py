"""The wide marking export (网上阅卷): one row per student, one column per item.

Pipeline (all per-row work is SQL; Python only maps the header):

1. header → person columns, status, 总分, item columns matched to the paper's items;
2. ``_raw`` (the file) → ``_rows`` (people) and ``_scored`` (UNPIVOT of the item columns: one row
   per student × item with ``score``, ``answer`` and an error code ``err``);
3. ``_status``: present / absent (status 缺考, a 总分 of 缺考, or no item cell filled) / void;
4. every problem counted and listed (up to the cap); any problem → nothing is written;
5. unknown schools/classes/students created; the paper's old results deleted and the new ones
   inserted (``paper_results``, ``responses``) — all in the caller's one transaction.

A cell is: blank (not answered, score NULL), a 缺考 mark (treated as blank), a number (the
score; 0 ≤ score ≤ max), or for objective items letters (scored from the key; 判断 accepts
T/F, 对/错, √/×, A/B). Multiple choice: full marks for the exact key, the item's partial score
for a non-empty proper subset, 0 when any chosen letter is not in the key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analytics.domain.items import OBJECTIVE_SQL
from analytics.domain.params import fill_doc
from analytics.errors import InputError, ProblemCollector
from analytics.importers.common import (
    ABSENT_MARKS,
    PRESENT_MARKS,
    PROBLEM_CAP,
    VOID_MARKS,
    Header,
    ImportResult,
    cell_sql,
    header_key,
    item_label_key,
    new_schools_note,
    number_sql,
    read_table,
    run_import,
    sql_problems,
    synonym_index,
    target_extra,
)
from analytics.importers.paper import (
    FALSE_WORDS,
    TRUE_WORDS,
    find_paper,
    paper_has_results,
    paper_target,
    score_answer_sql,
)
from analytics.importers.people import (
    PERSON_SYNONYMS,
    create_people,
    person_problems,
    rows_sql,
)
from analytics.warehouse import Warehouse

SCORE_SYNONYMS: dict[str, tuple[str, ...]] = {
    **PERSON_SYNONYMS,
    "status": ("状态", "考试状态", "考生状态", "缺考标记", "缺考", "备注状态"),
    "total": ("总分", "卷面总分", "原始总分", "合计", "total", "总成绩"),
}
_INDEX = synonym_index(SCORE_SYNONYMS)

Progress = Callable[[str], None] | None


def classify_score_header(cell: str) -> str | None:
    """Canonical name of a marking-export header: person columns, status, total, or
    ``item:LABEL`` for anything that looks like an item (第3题, 3, T3, Q3, 小题3, 21(1))."""
    canon = _INDEX.get(header_key(cell))
    if canon is not None:
        return canon
    label = item_label_key(cell)
    return f"item:{label}" if label is not None else None


def _quote_list(words: tuple[str, ...]) -> str:
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


def scored_sql(item_cols: list[str]) -> list[str]:
    """Statements building ``_cells`` and ``_scored``.

    An item column holds few distinct texts (A/B/C/D, 0..12, 缺考, blank), so the string work
    runs once per distinct (column, text) in ``_cells`` (``cell_id, col, val, item_id, score,
    answer, mark, err``) and is joined back to the unpivoted cells: 8M cells cost a hash join,
    not 8M regex calls. ``answer`` holds the normalised letters of objective items; ``mark`` is
    0 blank, 1 缺考 mark, 2 value; ``err`` is 0 ok, 1 score above max, 2 negative score,
    3 letters in a non-objective item, 4 letter not among the options, 5 unreadable text.

    ``_scored``: one row per data row × item: ``_row, cell_id`` only (narrow is fast: the rest is
    joined from the small ``_cells`` where needed).
    """
    cols = ", ".join(item_cols)
    absent = _quote_list(ABSENT_MARKS)
    tf_true = _quote_list((*TRUE_WORDS, "A"))
    tf_false = _quote_list((*FALSE_WORDS, "B"))
    score_letters = score_answer_sql("ans", "item_type", "answer_key", "max_score",
                                     "partial_score")
    objective = OBJECTIVE_SQL
    distinct = " UNION ALL ".join(
        f"SELECT DISTINCT '{c}' AS col, coalesce({c}, '') AS val FROM _raw" for c in item_cols)
    return [
        f"""CREATE OR REPLACE TEMP TABLE _cells AS
        WITH d AS ({distinct}),
        v AS (
            SELECT d.col, d.val, c.item_id, c.item_type, c.max_score, c.answer_key,
                   c.partial_score, c.options,
                   upper(regexp_replace(d.val, '[\\s,、，]', '', 'g')) AS v,
                   {number_sql('d.val')} AS num
            FROM d JOIN _cols c USING (col)
        ), w AS (
            SELECT *,
                CASE
                    WHEN v = '' OR v IN ({absent}) OR num IS NOT NULL THEN NULL
                    WHEN item_type = 'true_false' THEN
                        CASE WHEN v IN ({tf_true}) THEN 'T' WHEN v IN ({tf_false}) THEN 'F'
                             WHEN regexp_full_match(v, '[A-Z]+') THEN v END
                    WHEN item_type = 'multiple' AND regexp_full_match(v, '[A-Z]+') THEN
                        array_to_string(list_sort(list_distinct(string_split(v, ''))), '')
                    WHEN regexp_full_match(v, '[A-Z]+') THEN v
                END AS ans
            FROM v
        )
        SELECT (row_number() OVER (ORDER BY col, val))::INTEGER AS cell_id, col, val, item_id,
            CASE WHEN num IS NOT NULL THEN num
                 WHEN ans IS NOT NULL AND item_type IN {objective} THEN {score_letters}
            END AS score,
            CASE WHEN ans IS NOT NULL AND item_type IN {objective} THEN ans END AS answer,
            CASE WHEN v = '' THEN 0 WHEN v IN ({absent}) THEN 1 ELSE 2 END::TINYINT AS mark,
            CASE
                WHEN v = '' OR v IN ({absent}) THEN 0
                WHEN num IS NOT NULL AND num > max_score THEN 1
                WHEN num IS NOT NULL AND num < 0 THEN 2
                WHEN num IS NOT NULL THEN 0
                WHEN ans IS NOT NULL AND item_type NOT IN {objective} THEN 3
                WHEN ans IS NOT NULL AND length(translate(ans, options, '')) > 0 THEN 4
                WHEN ans IS NOT NULL THEN 0
                ELSE 5
            END::TINYINT AS err
        FROM w""",
        f"""CREATE OR REPLACE TEMP TABLE _scored AS
            SELECT u._row, c.cell_id
            FROM (SELECT _row, {cols} FROM _raw)
                 UNPIVOT INCLUDE NULLS (val FOR col IN ({cols})) u
            JOIN _cells c ON c.col = u.col AND c.val = coalesce(u.val, '')""",
    ]


def cell_problems_sql() -> str:
    """Problems of item cells of present rows (columns ``_row, col, zh, en``)."""
    return """
        SELECT s._row, c.header AS col,
            CASE x.err
                WHEN 1 THEN '得分 ' || x.val || ' 超过该题分值 ' || c.max_score
                WHEN 2 THEN '得分 ' || x.val || ' 为负数'
                WHEN 3 THEN '「' || x.val || '」不是分数(该题不是选择题)'
                WHEN 4 THEN '选项「' || x.val || '」不在该题选项 ' || c.options || ' 之中'
                ELSE '无法识别「' || x.val || '」(应为分数、选项字母、缺考或空白)'
            END AS zh,
            CASE x.err
                WHEN 1 THEN 'score ' || x.val || ' is above the item''s max score ' || c.max_score
                WHEN 2 THEN 'score ' || x.val || ' is negative'
                WHEN 3 THEN x.val || ' is not a score (the item is not multiple choice)'
                WHEN 4 THEN 'letter ' || x.val || ' is not among the item''s options ' || c.options
                ELSE 'cannot read ' || x.val || ' (expected a score, option letters, 缺考 or blank)'
            END AS en
        FROM _scored s
        JOIN _cells x USING (cell_id)
        JOIN _status st USING (_row)
        JOIN _cols c ON c.col = x.col
        WHERE x.err > 0 AND st.status = 'present'
    """


def status_sql(status_col: str, total_col: str) -> str:
    """``_status``: per data row, present / absent / void (and the status text if unknown)."""
    absent = _quote_list(ABSENT_MARKS)
    void = _quote_list(VOID_MARKS)
    present = _quote_list(PRESENT_MARKS)
    return f"""
        CREATE OR REPLACE TEMP TABLE _status AS
        WITH marks AS (
            SELECT s._row, count(*) FILTER (WHERE c.mark = 2) AS filled,
                   sum(coalesce(c.score, 0)) AS total
            FROM _scored s JOIN _cells c USING (cell_id) GROUP BY s._row
        )
        SELECT r._row,
            CASE WHEN upper({status_col}) IN ({void}) THEN 'void'
                 WHEN upper({status_col}) IN ({absent}) THEN 'absent'
                 WHEN upper({total_col}) IN ({absent}) THEN 'absent'
                 WHEN coalesce(m.filled, 0) = 0 THEN 'absent'
                 ELSE 'present' END AS status,
            CASE WHEN {status_col} IS NOT NULL AND upper({status_col}) NOT IN
                      ({void}, {absent}, {present}) THEN {status_col} END AS bad_status,
            m.total,
            {total_col} AS total_text, {number_sql(total_col)} AS total_num
        FROM _raw r LEFT JOIN marks m USING (_row)
    """


def status_problems_sql() -> str:
    """Problems of a marking export's ``_status`` rows (columns ``_row, col, zh, en``): a status
    that cannot be recognised; a present student's written total that is not the sum of the item
    scores. ``$c_status``, ``$c_total`` are the header texts as written."""
    return """
        SELECT _row, $c_status AS col,
               '考试状态「' || bad_status || '」无法识别(正常/缺考/作弊)',
               'status ' || bad_status || ' not recognised (正常/缺考/作弊)'
        FROM _status WHERE bad_status IS NOT NULL
        UNION ALL
        SELECT _row, $c_total,
               '总分 ' || total_text || ' 与小题得分之和 ' || total || ' 不符',
               'total ' || total_text || ' differs from the sum of item scores ' || total
        FROM _status
        WHERE status = 'present' AND total_text IS NOT NULL
          AND (total_num IS NULL OR abs(total_num - total) > 1e-6)
    """


def insert_results_sql() -> str:
    """Insert paper ``$p``'s ``paper_results``: one row per data row (``_status`` × ``_keys``),
    its status, and the total only when present."""
    return """
        INSERT INTO paper_results (paper_id, student_key, status, total)
        SELECT $p, k.student_key, s.status,
               CASE WHEN s.status = 'present' THEN s.total END
        FROM _status s JOIN _keys k USING (_row)
    """


def insert_responses_sql() -> str:
    """Insert paper ``$p``'s ``responses`` (item, student, score, answer) from the scored cells
    of the present students (``_scored``, ``_cells``, ``_keys``, ``_status``)."""
    return """
        INSERT INTO responses (paper_id, item_id, student_key, score, answer)
        SELECT $p, c.item_id, k.student_key, c.score, c.answer
        FROM _scored s
        JOIN _cells c USING (cell_id)
        JOIN (SELECT k._row, k.student_key FROM _keys k JOIN _status st USING (_row)
              WHERE st.status = 'present') k USING (_row)
    """


def resolve_scored_paper(wh: Warehouse, exam: str, subject: str, grade: int | None,
                         *, need_items: bool) -> pd.Series:
    """The paper a scores/totals file is for, or an InputError that says what to do."""
    hit = find_paper(wh, exam, subject, grade)
    g = f" {grade}年级" if grade is not None else ""
    g_en = f" grade {grade}" if grade is not None else ""
    if len(hit) > 1:
        grades = ", ".join(str(x) for x in hit["grade"])
        raise InputError(f"「{exam}」{subject} 有多个年级 ({grades}),请指定 --grade / several "
                         f"grades ({grades}) have this paper; pass --grade")
    if hit.empty or (need_items and not bool(hit["has_items"].iloc[0])):
        raise InputError(
            f"「{exam}」{subject}{g} 还没有双向细目表,请先运行 `eqm import paper` / the paper of "
            f"{exam} {subject}{g_en} has no specification table; import it first with "
            "`eqm import paper`"
        )
    return hit.iloc[0]


def _map_items(header: Header, items: pd.DataFrame, problems: ProblemCollector
               ) -> pd.DataFrame:
    """Item columns of the header matched to the paper's items (header-level problems)."""
    by_label = {item_label_key(lbl) or header_key(lbl): i for i, lbl in enumerate(items["label"])}
    rows = []
    used: dict[int, str] = {}
    for idx, canon in enumerate(header.canonical):
        if canon is None or not canon.startswith("item:"):
            continue
        label = canon[5:]
        key = item_label_key(label) or header_key(label)
        pos = by_label.get(key)
        written = header.cells[idx]
        if pos is None:
            problems.add(header.row, written, f"细目表中没有第 {label} 题",
                         f"unknown item {label}: not in the specification table")
            continue
        if pos in used:
            problems.add(header.row, written, f"第 {label} 题有两列(另一列「{used[pos]}」)",
                         f"item {label} has two columns (the other is {used[pos]!r})")
            continue
        used[pos] = written
        it = items.iloc[pos]
        rows.append({"col": f"c{idx}", "header": written, "item_id": int(it["item_id"]),
                     "item_type": it["item_type"], "max_score": float(it["max_score"]),
                     "answer_key": it["answer_key"], "options": it["options"],
                     "partial_score": it["partial_score"]})
    for pos, lbl in enumerate(items["label"]):
        if pos not in used:
            problems.add(header.row, None, f"文件中缺少第 {lbl} 题的列",
                         f"the file has no column for item {lbl}")
    return pd.DataFrame(rows, columns=["col", "header", "item_id", "item_type", "max_score",
                                       "answer_key", "options", "partial_score"])


@fill_doc
def import_scores(
    wh: Warehouse,
    path: str | Path,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    mapping: str | Path | None = None,
    sheet: str | int | None = None,
    progress: Progress = None,
) -> ImportResult:
    """Import a wide marking export for the paper ``exam`` × ``subject`` (× ``grade``).

    The paper's specification table must have been imported. Students and schools not yet in
    the warehouse are created from the file (school, class, name columns). Re-importing the
    same paper replaces its results atomically; the identical file again is a no-op.

    Parameters
    ----------
    {import_wh}
    path : str or Path
        The marking export (CSV or XLSX), one row per student, one column per item.
    exam, subject : str
        The paper's exam and subject.
    grade : int, optional
        Needed only when the exam has this subject for several grades.
    {mapping_sheet}
    {progress}

    {returns_student_rows}

    {raises_refused}
    """
    name = Path(path).name
    say = progress or (lambda _msg: None)
    target = paper_target(wh, exam, subject, grade)
    target += target_extra(sheet, mapping)

    def body() -> ImportResult:
        paper = resolve_scored_paper(wh, exam, subject, grade, need_items=True)
        paper_id = int(paper["paper_id"])
        items = wh.df(
            "SELECT item_id, number, label, item_type, max_score, answer_key, options, "
            "partial_score FROM items WHERE paper_id = $p ORDER BY number", {"p": paper_id})
        say("读取文件 / reading the file")
        header, n, warnings = read_table(
            wh, path, sheet=sheet, mapping=mapping, classify=classify_score_header,
            required=lambda c: "student_id" in c and any(x and x.startswith("item:") for x in c),
            what=("成绩(考号与小题列)", "a marking export (student id and item columns)"),
            names=[*SCORE_SYNONYMS, "item:"])
        problems = ProblemCollector(name, cap=PROBLEM_CAP)
        cols = _map_items(header, items, problems)
        if cols.empty:
            problems.raise_if_any()
        say(f"校验 {n} 行 / validating {n} rows")
        wh.register("_cols_df", cols)
        try:
            # typed explicitly: a column holding only missing values (no keyed item) would
            # otherwise come through pandas as DOUBLE
            wh.execute("CREATE OR REPLACE TEMP TABLE _cols AS SELECT * REPLACE ("
                       "header::VARCHAR AS header, item_type::VARCHAR AS item_type, "
                       "answer_key::VARCHAR AS answer_key, options::VARCHAR AS options, "
                       "partial_score::DOUBLE AS partial_score) FROM _cols_df")
        finally:
            wh.unregister("_cols_df")
        wh.execute(rows_sql(header))
        person_problems(wh, header, problems)
        for stmt in scored_sql(list(cols["col"])):
            wh.execute(stmt)
        st_i, tot_i = header.col("status"), header.col("total")
        wh.execute(status_sql(cell_sql(st_i, "r"), cell_sql(tot_i, "r")))
        sql_problems(wh, problems, status_problems_sql(), {
            "c_status": header.cells[st_i] if st_i is not None else None,
            "c_total": header.cells[tot_i] if tot_i is not None else None,
        })
        if wh.scalar("SELECT count(*) FROM _cells WHERE err > 0"):   # the small table first
            sql_problems(wh, problems, cell_problems_sql())
        problems.raise_if_any()
        say("写入数据库 / writing the warehouse")
        created, schools = create_people(wh, int(paper["grade"]))
        old = int(wh.scalar("SELECT count(*) FROM paper_results WHERE paper_id = $p",
                            {"p": paper_id}))
        if old:
            wh.execute("DELETE FROM responses WHERE paper_id = $p", {"p": paper_id})
            wh.execute("DELETE FROM paper_results WHERE paper_id = $p", {"p": paper_id})
        wh.execute(insert_results_sql(), {"p": paper_id})
        wh.execute(insert_responses_sql(), {"p": paper_id})
        counts = wh.df("SELECT status, count(*) AS n FROM _status GROUP BY status")
        by = dict(zip(counts["status"], counts["n"], strict=True))
        for t in ("_status", "_keys", "_cells", "_school_lookup"):
            wh.execute(f"DROP TABLE IF EXISTS {t}")
        outcome = "replaced" if old else "ok"
        note_zh, note_en = new_schools_note(schools)
        verb = "已替换" if old else "已导入"
        verb_en = "replaced" if old else "imported"
        msg = (f"{name}: {verb}「{exam}」{subject} 成绩 {n} 人(参考 {by.get('present', 0)},缺考 "
               f"{by.get('absent', 0)},作弊/无效 {by.get('void', 0)}),{len(cols)} 题,新建学生 "
               f"{created}{note_zh} / {verb_en} the scores of {exam} {subject}: {n} students "
               f"({by.get('present', 0)} present, {by.get('absent', 0)} absent, "
               f"{by.get('void', 0)} void), {len(cols)} items, {created} new students"
               + (f"; replaced {old} earlier results" if old else "") + note_en)
        return ImportResult("scores", name, n, outcome, msg, warnings)

    return run_import(wh, "scores", path, target, body,
                      still_loaded=lambda: paper_has_results(wh, exam, subject, grade))
