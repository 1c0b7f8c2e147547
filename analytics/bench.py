"""Benchmark data at scale: a 40-item paper generated inside DuckDB over an existing roster.

The demo district (``eqm demo --students 1000000``) has papers of 24 items; the issues' targets
are stated for 1,000,000 students × 40 items. :func:`add_bench_paper` adds one more exam with a
40-item paper (25 single choice, 5 multiple choice, 5 fill-in, 5 constructed; 125 points) for
every student of a grade, drawn in one SQL statement so that 40 million responses never pass
through pandas.

Model (the demo's, see :mod:`analytics.demo.district`): ability θ = 0.4·N_school + 0.2·N_class +
N_student; one logistic draw per response, z = a(θ − b) + logit(u); a binary item is right when
z > 0; a polytomous item with m steps scores min(m, max(0, ⌈z/(a·w) + (m + 1)/2⌉ − 1)) (the graded
response model with step width w = 0.6); wrong single-choice answers pick one of the three
distractors uniformly; a wrong multiple-choice answer is a proper subset of the key (partial
credit) 40% of the time. 3% of students are absent, 2% of responses omitted. Every random number
is a hash of (seed, student or unit, item, purpose), so the data are identical for a seed
whatever the number of threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.items import COGNITIVE_LEVELS
from analytics.reduce.derived import STORED, keep_derived_current
from analytics.warehouse import Warehouse

BENCH_EXAM = "基准监测(40题)"
BENCH_SUBJECT = "数学"
LEVELS = COGNITIVE_LEVELS


def bench_items(n_items: int = 40, seed: int = 2026) -> pd.DataFrame:
    """The bench paper's items: number, label, item_type, max_score, answer_key, options,
    partial_score, cognitive_level, knowledge_point, a (discrimination), b (difficulty)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for j in range(n_items):
        share = j / n_items
        kind = ("single" if share < 0.625 else "multiple" if share < 0.75 else "fill"
                if share < 0.875 else "constructed")
        row: dict[str, Any] = {
            "number": j + 1, "label": str(j + 1), "item_type": kind,
            "cognitive_level": LEVELS[j % 4], "knowledge_point": f"知识点{j % 10 + 1}",
            "a": 1.2, "b": float(rng.normal(0, 0.8)), "answer_key": None, "options": None,
            "partial_score": None,
        }
        if kind == "single":
            row.update(max_score=2.0, answer_key="ABCD"[j % 4], options="ABCD")
        elif kind == "multiple":
            row.update(max_score=4.0, answer_key="AC", options="ABCD", partial_score=2.0)
        elif kind == "fill":
            row.update(max_score=3.0)
        else:
            row.update(max_score=8.0)
        rows.append(row)
    return pd.DataFrame(rows)


def _u(expr: str, salt: int) -> str:
    """A uniform (0, 1) number from a hash of ``expr`` (trusted SQL), the seed and ``salt``."""
    return f"((hash({expr}, $seed, {salt}) % 4294967296)::DOUBLE + 0.5) / 4294967296.0"


def _normal(expr: str, salt: int) -> str:
    """A standard normal number (Box–Muller) from two hashed uniforms."""
    return (f"(sqrt(-2 * ln({_u(expr, salt)})) * cos(2 * pi() * {_u(expr, salt + 1)}))")


def bench_responses_sql() -> str:
    """INSERT the responses of the bench paper (``$paper_id``, ``$grade``, ``$seed``) from the
    registered item frame ``_bench_items`` (item_id, item_type, max_score, answer_key, a, b)."""
    return f"""
        INSERT INTO responses (paper_id, item_id, student_key, score, answer)
        WITH th AS (
            SELECT student_key,
                   0.4 * {_normal("school_id", 10)} + 0.2 * {_normal("coalesce(class_id, -1)", 20)}
                   + {_normal("student_key", 30)} AS theta
            FROM students
            WHERE grade = $grade AND {_u("student_key", 40)} >= 0.03
        ),
        d AS (
            SELECT th.student_key, i.item_id, i.item_type, i.max_score, i.answer_key,
                   i.a * (th.theta - i.b)
                   + ln({_u("th.student_key * 1000 + i.item_id", 50)}
                        / (1 - {_u("th.student_key * 1000 + i.item_id", 50)})) AS z,
                   {_u("th.student_key * 1000 + i.item_id", 60)} AS u_pick,
                   {_u("th.student_key * 1000 + i.item_id", 70)} AS u_omit, i.a
            FROM th CROSS JOIN _bench_items i
        ),
        r AS (
            SELECT student_key, item_id, u_omit < 0.02 AS omitted,
                   CASE item_type
                       WHEN 'single' THEN CASE WHEN z > 0 THEN answer_key ELSE
                           substr(replace('ABCD', answer_key, ''),
                                  1 + CAST(floor(u_pick * 3) AS INTEGER), 1) END
                       WHEN 'multiple' THEN CASE WHEN z > 0 THEN answer_key
                           WHEN u_pick < 0.2 THEN 'A' WHEN u_pick < 0.4 THEN 'C'
                           WHEN u_pick < 0.6 THEN 'AB' WHEN u_pick < 0.8 THEN 'BD'
                           ELSE 'ACD' END
                   END AS answer,
                   CASE item_type
                       WHEN 'single' THEN CASE WHEN z > 0 THEN max_score ELSE 0 END
                       WHEN 'multiple' THEN CASE WHEN z > 0 THEN max_score
                           WHEN u_pick < 0.4 THEN 2.0 ELSE 0 END
                       ELSE least(max_score, greatest(0, ceil(z / (a * 0.6)
                                                             + (max_score + 1) / 2) - 1))
                   END AS score
            FROM d
        )
        SELECT $paper_id, item_id, student_key,
               CASE WHEN omitted THEN NULL ELSE score END,
               CASE WHEN omitted THEN NULL ELSE answer END
        FROM r
        ORDER BY student_key, item_id
    """


def bench_results_sql() -> str:
    """INSERT paper_results of the bench paper: present students' totals (omission = 0), the
    others of the grade absent."""
    return """
        INSERT INTO paper_results (paper_id, student_key, status, total)
        SELECT $paper_id, s.student_key,
               CASE WHEN t.total IS NULL THEN 'absent' ELSE 'present' END, t.total
        FROM students s
        LEFT JOIN (SELECT student_key, sum(coalesce(score, 0)) AS total FROM responses
                   WHERE paper_id = $paper_id GROUP BY student_key) t USING (student_key)
        WHERE s.grade = $grade
    """


def add_bench_paper(wh: Warehouse, *, grade: int | None = None, n_items: int = 40,
                    seed: int = 2026, exam: str = BENCH_EXAM,
                    subject: str = BENCH_SUBJECT) -> dict[str, Any]:
    """Add the bench exam and its ``n_items``-item paper for every student of ``grade``.

    Parameters
    ----------
    wh : Warehouse
        A writable warehouse with a roster (students, schools, classes).
    grade : int, optional
        Default: the grade with the most students.
    n_items, seed : int
    exam, subject : str
        Names of the new exam (must not exist yet) and the paper's subject.

    Returns
    -------
    dict
        ``exam``, ``subject``, ``grade``, ``paper_id``, ``items``, ``students`` (present),
        ``responses``.
    """
    if grade is None:
        grade = int(wh.scalar("SELECT grade FROM students GROUP BY grade "
                              "ORDER BY count(*) DESC LIMIT 1"))
    items = bench_items(n_items, seed)
    with wh.transaction():
        exam_id = int(wh.scalar("SELECT coalesce(max(exam_id), 0) + 1 FROM exams"))
        paper_id = int(wh.scalar("SELECT coalesce(max(paper_id), 0) + 1 FROM papers"))
        item0 = int(wh.scalar("SELECT coalesce(max(item_id), 0) + 1 FROM items"))
        items["item_id"] = item0 + np.arange(len(items))
        items["paper_id"] = paper_id
        wh.insert_df("exams", pd.DataFrame({"exam_id": [exam_id], "name": [exam],
                                            "grade": [grade], "level": ["district"]}))
        wh.insert_df("papers", pd.DataFrame({
            "paper_id": [paper_id], "exam_id": [exam_id], "subject": [subject],
            "grade": [grade], "full_score": [float(items["max_score"].sum())],
            "has_items": [True]}))
        wh.insert_df("items", items[["item_id", "paper_id", "number", "label", "item_type",
                                     "max_score", "answer_key", "options", "partial_score",
                                     "cognitive_level"]])
        wh.insert_df("item_knowledge", items[["item_id", "knowledge_point"]])
        wh.register("_bench_items", items[["item_id", "item_type", "max_score", "answer_key",
                                           "a", "b"]])
        try:
            prm = {"paper_id": paper_id, "grade": grade, "seed": seed}
            wh.execute(bench_responses_sql(), prm)
        finally:
            wh.unregister("_bench_items")
        wh.execute(bench_results_sql(), {"paper_id": paper_id, "grade": grade})
        keep_derived_current(wh, [paper_id], only=STORED)   # as the importers keep them
    counts = wh.df("SELECT (SELECT count(*) FROM responses WHERE paper_id = $p) AS responses, "
                   "(SELECT count(*) FROM paper_results WHERE paper_id = $p "
                   "AND status = 'present') AS students", {"p": paper_id}).iloc[0]
    return {"exam": exam, "subject": subject, "grade": grade, "paper_id": paper_id,
            "items": len(items), "students": int(counts["students"]),
            "responses": int(counts["responses"])}
