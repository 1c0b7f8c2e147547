"""The specification table (双向细目表): one row per item → ``exams``, ``papers``, ``items``,
``item_knowledge``.

The table has tens of rows, so it is read from ``_raw`` into a small frame and checked here;
the million-row work (rescoring stored answers when a key changes) is SQL.

Re-importing the table of a paper that already has one:

* same items (labels and numbers) → the items are updated in place, objective answers already
  stored are rescored from the new keys (a corrected key takes effect at once), totals are
  recomputed, and a stored score above a lowered maximum is an error;
* different items → the old items are replaced; scores already loaded for the paper no longer
  fit and are removed in the same transaction (the message says so: import the scores again).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.domain.items import ITEM_TYPE_ALIASES, OBJECTIVE_SQL
from analytics.domain.items import ITEM_TYPES as TYPE_CODES
from analytics.domain.labels import label as code_label
from analytics.domain.params import fill_doc
from analytics.errors import InputError, ProblemCollector
from analytics.importers.common import (
    PROBLEM_CAP,
    ImportResult,
    finite_positive,
    header_classifier,
    header_key,
    item_label_key,
    next_id,
    norm_text,
    parse_number,
    read_table,
    run_import,
    target_extra,
)
from analytics.lookup import DEFAULT_EXCELLENT, DEFAULT_LOW, DEFAULT_PASS
from analytics.warehouse import Warehouse

SPEC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "item": ("题号", "小题", "题目", "小题号", "题次", "序号", "item_no", "label"),
    "item_type": ("题型", "题目类型", "类型", "type"),
    "max_score": ("分值", "满分", "分数", "小题分", "score", "max"),
    "key": ("答案", "标准答案", "参考答案", "正确答案", "answer", "answer_key"),
    "options": ("选项", "选项数", "option", "choices"),
    "knowledge_point": ("知识点", "考点", "知识模块", "knowledge", "kp"),
    "cognitive_level": ("认知层次", "能力层次", "认知水平", "能力要求", "层次", "cognitive"),
    "partial_score": ("部分得分", "少选得分", "部分分", "partial"),
}
_classify_spec = header_classifier(SPEC_SYNONYMS)

# 题型 as written (header_key form) → code: every alias of analytics.domain
ITEM_TYPES: dict[str, str] = {header_key(w): code for w, code in ITEM_TYPE_ALIASES.items()}
_TYPE_NAMES = "/".join(code_label("item_type", code) for code in TYPE_CODES)
TRUE_WORDS = ("T", "对", "√", "✓", "Y", "正确", "是", "TRUE")
FALSE_WORDS = ("F", "错", "×", "✗", "X", "N", "错误", "否", "FALSE")
_KP_SPLIT = re.compile(r"[;；、,，/|]+")



def tf_letter(text: str) -> str | None:
    """判断 answers: 对/√/T/A → 'T', 错/×/F/B → 'F'."""
    t = norm_text(text).upper()
    if t in TRUE_WORDS or t == "A":
        return "T"
    if t in FALSE_WORDS or t == "B":
        return "F"
    return None


def parse_options(text: str) -> str | None:
    """'ABCD', 'A-D', 'A~E', '4' → the letters offered; None if unreadable."""
    t = re.sub(r"[\s,，、]", "", norm_text(text).upper())
    if not t:
        return None
    if t.isdigit() and 1 <= int(t) <= 26:
        return "".join(chr(65 + i) for i in range(int(t)))
    m = re.fullmatch(r"([A-Z])[-~～至到]([A-Z])", t)
    if m and m.group(1) <= m.group(2):
        return "".join(chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1))
    if re.fullmatch(r"[A-Z]+", t) and len(set(t)) == len(t):
        return "".join(sorted(t))
    return None


def _num(text: str) -> float | None:
    """A finite number as written (no ``1_2``, ``inf``, ``nan``), else None."""
    return parse_number(text)


def parse_spec(frame: pd.DataFrame, cols: dict[str, str], problems: ProblemCollector
               ) -> pd.DataFrame:
    """Check and normalise the rows of a specification table (a few dozen rows).

    ``frame`` holds ``_row`` and one text column per canonical name; ``cols`` maps canonical
    name → header as written. Returns one row per item: number, label, item_type, max_score,
    answer_key, options, partial_score, cognitive_level, knowledge (list).
    """
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for rec in frame.to_dict("records"):
        row = int(rec["_row"])

        def get(name: str, rec: dict[Hashable, Any] = rec) -> str:
            v = rec.get(name)
            return "" if v is None or v != v else norm_text(v)

        label = get("item")
        if not label:
            problems.add(row, cols["item"], "缺少题号", "item label is missing")
            continue
        label_key = item_label_key(label) or label
        if label_key in seen:
            problems.add(row, cols["item"], f"题号 {label} 重复(首次在第 {seen[label_key]} 行)",
                         f"duplicate item {label} (first at row {seen[label_key]})")
            continue
        seen[label_key] = row
        mx = _num(get("max_score"))
        if mx is None or mx <= 0:
            problems.add(row, cols["max_score"], f"分值「{get('max_score')}」不是正数",
                         f"max score {get('max_score')!r} is not a positive number")
            continue
        key_raw = get("key").upper().replace(" ", "").replace(",", "").replace("，", "")
        kind_raw = get("item_type")
        if kind_raw:
            kind = ITEM_TYPES.get(header_key(kind_raw))
            if kind is None:
                problems.add(row, cols.get("item_type"), f"题型「{kind_raw}」无法识别",
                             f"item type {kind_raw!r} not recognised ({_TYPE_NAMES})")
                continue
        elif key_raw:
            kind = "single" if len(key_raw) == 1 else "multiple"
        else:
            kind = "constructed"
        options: str | None = None
        key: str | None = None
        if kind == "true_false":
            options = "TF"
            key = tf_letter(key_raw) if key_raw else None
            if key is None:
                problems.add(row, cols.get("key", "答案"), f"判断题答案「{key_raw}」无法识别",
                             f"true/false key {key_raw!r} not recognised (对/错, T/F, A/B)")
                continue
        elif kind in ("single", "multiple"):
            opt_raw = get("options")
            options = parse_options(opt_raw) if opt_raw else "ABCD"
            if options is None:
                problems.add(row, cols.get("options"), f"选项「{opt_raw}」无法识别",
                             f"options {opt_raw!r} not recognised (e.g. ABCD, A-E, 4)")
                continue
            key = "".join(sorted(set(key_raw)))
            if not key or not re.fullmatch(r"[A-Z]+", key):
                problems.add(row, cols.get("key", "答案"), f"选择题答案「{key_raw}」无效",
                             f"choice key {key_raw!r} is missing or not letters")
                continue
            if set(key) - set(options):
                problems.add(row, cols.get("key", "答案"),
                             f"答案 {key} 含有选项 {options} 以外的字母",
                             f"key {key} has letters outside the options {options}")
                continue
            if kind == "single" and len(key) != 1:
                problems.add(row, cols.get("key", "答案"), f"单选题答案 {key} 不止一个字母",
                             f"single-choice key {key} has more than one letter")
                continue
        elif key_raw:
            key = get("key")
        partial: float | None = None
        p_raw = get("partial_score")
        if p_raw:
            partial = _num(p_raw)
            if partial is None or partial < 0 or partial > mx:
                problems.add(row, cols.get("partial_score"), f"部分得分「{p_raw}」无效",
                             f"partial score {p_raw!r} must be between 0 and the max score")
                continue
        kps = [k.strip() for k in _KP_SPLIT.split(get("knowledge_point")) if k.strip()]
        out.append({
            "_row": row, "label": label, "label_key": label_key, "item_type": kind,
            "max_score": mx, "answer_key": key, "options": options,
            "partial_score": partial if kind == "multiple" else None,
            "cognitive_level": get("cognitive_level") or None,
            "knowledge": list(dict.fromkeys(kps)),
        })
    items = pd.DataFrame(out, columns=[
        "_row", "label", "label_key", "item_type", "max_score", "answer_key", "options",
        "partial_score", "cognitive_level", "knowledge"])
    items["number"] = range(1, len(items) + 1)
    return items


# --------------------------------------------------------------------------------------------
# Exams and papers
# --------------------------------------------------------------------------------------------

LEVELS = ("district", "city", "national", "school", "other")


def _date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(f"日期「{value}」格式应为 YYYY-MM-DD / date {value!r}: use YYYY-MM-DD"
                         ) from exc


def ensure_exam(wh: Warehouse, exam: str, grade: int, exam_date: object = None,
                level: str | None = "district", term: str | None = None) -> int:
    """The id of exam ``exam``, creating it (or filling in date/term/level when given).

    An exam found with papers of another grade gets grade NULL (it spans grades)."""
    if level is not None and level not in LEVELS:
        raise InputError(f"考试级别「{level}」无效 / level {level!r} must be one of "
                         + ", ".join(LEVELS))
    d = _date(exam_date)
    row = wh.df("SELECT exam_id FROM exams WHERE name = $n", {"n": exam})
    if row.empty:
        exam_id = next_id(wh, "exams", "exam_id")
        wh.execute(
            "INSERT INTO exams (exam_id, name, exam_date, term, grade, level) "
            "VALUES ($id, $n, $d, $t, $g, $l)",
            {"id": exam_id, "n": exam, "d": d, "t": term, "g": grade, "l": level},
        )
        return exam_id
    exam_id = int(row["exam_id"].iloc[0])
    wh.execute(
        "UPDATE exams SET exam_date = coalesce($d, exam_date), term = coalesce($t, term), "
        "level = coalesce($l, level), "
        "grade = CASE WHEN grade = $g THEN grade ELSE NULL END WHERE exam_id = $id",
        {"d": d, "t": term, "l": level, "g": grade, "id": exam_id},
    )
    return exam_id


def find_paper(wh: Warehouse, exam: str, subject: str, grade: int | None) -> pd.DataFrame:
    """Papers of exam × subject (× grade): paper_id, exam_id, grade, full_score, has_items."""
    return wh.df(
        "SELECT p.paper_id, p.exam_id, p.grade, p.full_score, p.has_items FROM papers p "
        "JOIN exams e USING (exam_id) WHERE e.name = $e AND p.subject = $s "
        "AND ($g IS NULL OR p.grade = $g) ORDER BY p.grade",
        {"e": exam, "s": subject, "g": grade},
    )


def paper_grade(wh: Warehouse, exam: str, subject: str, grade: int | None) -> int | None:
    """The grade of the one paper of exam × subject (× grade); ``grade`` when not unique.

    Used to name an import's target the same way with or without ``--grade``."""
    hit = find_paper(wh, exam, subject, grade)
    return int(hit["grade"].iloc[0]) if len(hit) == 1 else grade


def paper_target(wh: Warehouse, exam: str, subject: str, grade: int | None) -> str:
    """The import-log target of a file of paper exam × subject (× grade), named by the paper's
    grade with or without ``--grade``."""
    return f"exam={exam}; subject={subject}; grade={paper_grade(wh, exam, subject, grade)}"


def paper_has_results(wh: Warehouse, exam: str, subject: str, grade: int | None) -> bool:
    """Whether the one paper of exam × subject (× grade) holds student results.

    An import of scores or totals whose file was imported before is a ``noop`` only while this
    holds (the results may have been deleted since)."""
    hit = find_paper(wh, exam, subject, grade)
    return len(hit) == 1 and bool(wh.scalar(
        "SELECT count(*) > 0 FROM paper_results WHERE paper_id = $p",
        {"p": int(hit["paper_id"].iloc[0])}))


LINE_NAMES = {"excellent": ("优秀线", DEFAULT_EXCELLENT), "pass": ("及格线", DEFAULT_PASS),
              "low": ("低分线", DEFAULT_LOW)}


def check_lines(full: float, lines: dict[str, float | None], file: str = "") -> None:
    """Each line given lies in [0, full]; and low ≤ pass ≤ excellent, a line not given counting
    at its default share of the full score (an excellent line below the pass line would make
    every excellent student fail)."""
    where = f"{file}: " if file else ""
    for name, v in lines.items():
        if v is not None and not (math.isfinite(v) and 0 <= v <= full):
            raise InputError(f"{where}分数线 {name}={v} 不在 0 与满分 {full} 之间 / line "
                             f"{name}={v} is not between 0 and the full score {full}")

    def value(k: str) -> tuple[float, str]:
        v = lines.get(k)
        if v is None:
            return LINE_NAMES[k][1] * full, f"{LINE_NAMES[k][1] * full:g} (default)"
        return v, f"{v:g}"

    for hi, lo in (("excellent", "pass"), ("pass", "low")):
        (vh, sh), (vl, sl) = value(hi), value(lo)
        if vh < vl - 1e-9:
            raise InputError(
                f"{where}{LINE_NAMES[hi][0]} {sh} 低于{LINE_NAMES[lo][0]} {sl} / the {hi} line "
                f"{sh} is below the {lo} line {sl}; lines must be low ≤ pass ≤ excellent")


# --------------------------------------------------------------------------------------------
# Rescoring stored answers (SQL)
# --------------------------------------------------------------------------------------------

def score_answer_sql(ans: str, kind: str, key: str, mx: str, partial: str) -> str:
    """SQL expression scoring a normalised answer (letters) against the key.

    single / true_false: ``mx`` if the answer equals the key, else 0. multiple: ``mx`` for the
    exact key; ``partial`` (0 when NULL) for a non-empty proper subset of the key; 0 if any
    chosen letter is not in the key. (``translate(a, b, '')`` deletes the letters of b from a.)
    """
    return f"""CASE
        WHEN {kind} = 'multiple' THEN
            CASE WHEN length(translate({ans}, {key}, '')) > 0 THEN 0.0
                 WHEN length(translate({key}, {ans}, '')) = 0 THEN {mx}
                 ELSE coalesce({partial}, 0.0) END
        WHEN {ans} = {key} THEN {mx}
        ELSE 0.0 END"""


def rescore_sql() -> str:
    """Rescore the answered objective items of paper ``$p`` from their answers under the items'
    current key, full and partial scores (:func:`score_answer_sql`); an UPDATE of ``responses``."""
    return f"""
        UPDATE responses r SET score = {score_answer_sql('r.answer', 'i.item_type',
                                                         'i.answer_key', 'i.max_score',
                                                         'i.partial_score')}
        FROM items i
        WHERE r.item_id = i.item_id AND r.paper_id = $p AND r.answer IS NOT NULL
          AND i.item_type IN {OBJECTIVE_SQL}
    """


def retotal_sql() -> str:
    """Recompute the totals of paper ``$p``'s present students, ``sum(coalesce(score, 0))`` over
    their responses; an UPDATE of ``paper_results``."""
    return """
        UPDATE paper_results pr SET total = t.total
        FROM (SELECT student_key, sum(coalesce(score, 0)) AS total FROM responses
              WHERE paper_id = $p GROUP BY student_key) t
        WHERE pr.paper_id = $p AND pr.student_key = t.student_key AND pr.status = 'present'
    """


def over_max_sql() -> str:
    """The number of paper ``$p``'s responses scored above their item's ``max_score`` (one
    column, one row)."""
    return """
        SELECT count(*) FROM responses r JOIN items i USING (item_id)
        WHERE r.paper_id = $p AND r.score > i.max_score
    """


# --------------------------------------------------------------------------------------------
# The importer
# --------------------------------------------------------------------------------------------

def _write_items(wh: Warehouse, paper_id: int, items: pd.DataFrame) -> str:
    """Insert or update the items of ``paper_id``; returns a note for the message."""
    old = wh.df("SELECT item_id, number, label FROM items WHERE paper_id = $p ORDER BY number",
                {"p": paper_id})
    n_resp = int(wh.scalar("SELECT count(*) FROM responses WHERE paper_id = $p", {"p": paper_id}))
    n_res = int(wh.scalar("SELECT count(*) FROM paper_results WHERE paper_id = $p",
                          {"p": paper_id}))
    same = (len(old) == len(items)
            and list(old["label"]) == list(items["label"])
            and list(old["number"]) == list(items["number"]))
    note = ""
    frame = items[["number", "label", "item_type", "max_score", "answer_key", "options",
                   "partial_score", "cognitive_level"]].copy()
    if same:
        frame["item_id"] = old["item_id"].to_numpy()
        wh.register("_spec", frame)
        try:
            wh.execute("""
                UPDATE items i SET item_type = s.item_type, max_score = s.max_score,
                    answer_key = s.answer_key, options = s.options,
                    partial_score = s.partial_score, cognitive_level = s.cognitive_level
                FROM _spec s WHERE i.item_id = s.item_id
            """)
        finally:
            wh.unregister("_spec")
        wh.execute("DELETE FROM item_knowledge WHERE item_id IN "
                   "(SELECT item_id FROM items WHERE paper_id = $p)", {"p": paper_id})
        if n_resp:
            wh.execute(rescore_sql(), {"p": paper_id})
            over = int(wh.scalar(over_max_sql(), {"p": paper_id}))
            if over:
                raise InputError(
                    f"已导入的成绩中有 {over} 个小题得分超过新的分值;请先重新导入成绩 / {over} "
                    "stored item scores exceed the new max scores; re-import the scores first"
                )
            wh.execute(retotal_sql(), {"p": paper_id})
            note = " 已按新答案重新评分 / stored answers rescored with the new keys."
    else:
        if n_resp or n_res:
            wh.execute("DELETE FROM responses WHERE paper_id = $p", {"p": paper_id})
            wh.execute("DELETE FROM paper_results WHERE paper_id = $p", {"p": paper_id})
            note = (f" 小题已变化,原有 {n_res} 名学生的成绩已删除,请重新导入成绩 / the items "
                    f"changed: the scores of {n_res} students were removed; import them again.")
        if len(old):
            wh.execute("DELETE FROM item_knowledge WHERE item_id IN "
                       "(SELECT item_id FROM items WHERE paper_id = $p)", {"p": paper_id})
            wh.execute("DELETE FROM items WHERE paper_id = $p", {"p": paper_id})
        base = next_id(wh, "items", "item_id")
        frame["item_id"] = range(base, base + len(frame))
        frame["paper_id"] = paper_id
        wh.insert_df("items", frame)
    kn = pd.DataFrame(
        [(iid, kp) for iid, kps in zip(frame["item_id"], items["knowledge"], strict=True)
         for kp in kps],
        columns=["item_id", "knowledge_point"],
    )
    wh.insert_df("item_knowledge", kn)
    return note


@fill_doc
def import_paper(
    wh: Warehouse,
    path: str | Path,
    *,
    exam: str,
    subject: str,
    grade: int,
    full_score: float | None = None,
    excellent_line: float | None = None,
    pass_line: float | None = None,
    low_line: float | None = None,
    exam_date: object = None,
    level: str = "district",
    term: str | None = None,
    mapping: str | Path | None = None,
    sheet: str | int | None = None,
) -> ImportResult:
    """Import a specification table (双向细目表) for ``exam`` × ``subject`` × ``grade``.

    Creates the exam and the paper if needed. ``full_score`` defaults to the sum of the items'
    max scores; lines are in points (None = the default share of the full score).

    Parameters
    ----------
    {import_wh}
    path : str or Path
        The specification table (CSV or XLSX).
    exam, subject : str
        Exam name (created if new) and subject.
    grade : int
        Grade of the paper (1–12).
    full_score : float, optional
        Full score; default the sum of the items' max scores.
    excellent_line, pass_line, low_line : float, optional
        Lines in points; None = 85% / 60% / 40% of the full score.
    exam_date : date or str, optional
        Date of the exam (YYYY-MM-DD).
    level : str
        district, city, national, school or other.
    term : str, optional
        Term, e.g. 2025-2026-2.
    {mapping_sheet}

    Returns
    -------
    ImportResult
        ``rows`` = number of items; ``outcome`` ok / replaced / noop.

    {raises_refused}
    """
    target = (f"exam={exam}; subject={subject}; grade={grade}; full={full_score}; "
              f"lines={excellent_line}/{pass_line}/{low_line}; date={exam_date}; "
              f"level={level}; term={term}")
    target += target_extra(sheet, mapping)
    name = Path(path).name

    def body() -> ImportResult:
        header, _, warnings = read_table(
            wh, path, sheet=sheet, mapping=mapping, classify=_classify_spec,
            required=lambda c: "item" in c and "max_score" in c,
            what=("双向细目表(题号、分值)", "a specification table (item, max score)"),
            names=SPEC_SYNONYMS)
        cols = {c: header.cells[i] for i, c in enumerate(header.canonical) if c is not None}
        picks = ", ".join(
            f"c{header.col(c)} AS {c}" for c in SPEC_SYNONYMS if header.col(c) is not None
        )
        frame = wh.df(f"SELECT _row, {picks} FROM _raw ORDER BY _row")
        problems = ProblemCollector(name, cap=PROBLEM_CAP)
        items = parse_spec(frame, cols, problems)
        if items.empty and not problems.total:
            problems.add(None, None, "细目表中没有小题", "the specification table has no items")
        problems.raise_if_any()
        total_max = float(items["max_score"].sum())
        full = finite_positive(full_score if full_score is not None else total_max, "满分",
                               "full score", name)
        assert full is not None
        check_lines(full, {"excellent": excellent_line, "pass": pass_line, "low": low_line}, name)
        exam_id = ensure_exam(wh, exam, grade, exam_date, level, term)
        existing = find_paper(wh, exam, subject, grade)
        lines = {"full": full, "ex": excellent_line, "pa": pass_line, "lo": low_line}
        if existing.empty:
            paper_id = next_id(wh, "papers", "paper_id")
            wh.execute(
                "INSERT INTO papers (paper_id, exam_id, subject, grade, full_score, "
                "excellent_line, pass_line, low_line, has_items) "
                "VALUES ($id, $exam, $s, $g, $full, $ex, $pa, $lo, true)",
                {"id": paper_id, "exam": exam_id, "s": subject, "g": grade, **lines},
            )
            outcome = "ok"
        else:
            paper_id = int(existing["paper_id"].iloc[0])
            wh.execute(
                "UPDATE papers SET full_score = $full, excellent_line = $ex, pass_line = $pa, "
                "low_line = $lo, has_items = true WHERE paper_id = $id",
                {"id": paper_id, **lines},
            )
            outcome = "replaced" if bool(existing["has_items"].iloc[0]) else "ok"
        note = _write_items(wh, paper_id, items)
        if note and outcome == "ok":
            outcome = "replaced"
        verb = "已替换" if outcome == "replaced" else "已导入"
        verb_en = "replaced" if outcome == "replaced" else "imported"
        extra = ""
        if abs(total_max - full) > 1e-9:
            extra = f" 注意:小题分值合计 {total_max:g} ≠ 满分 {full:g} / note: item max scores " \
                    f"sum to {total_max:g}, full score {full:g}."
        msg = (f"{name}: {verb}「{exam}」{subject} {grade}年级 细目表 {len(items)} 题,满分 "
               f"{full:g} / {verb_en} the specification table of {exam} {subject} grade {grade}: "
               f"{len(items)} items, full score {full:g}.{note}{extra}")
        return ImportResult("paper", name, len(items), outcome, msg, warnings)

    return run_import(wh, "paper", path, target, body)
