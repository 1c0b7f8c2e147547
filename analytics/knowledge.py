"""Per-student scores by knowledge point (知识点), for studies such as "which knowledge points of
the entry exam predict the monitoring score"."""

from __future__ import annotations

import pandas as pd

from analytics.lookup import resolve_paper
from analytics.warehouse import Backend


def refresh_knowledge_results_sql() -> str:
    """Rebuild ``knowledge_results`` of paper ``$p`` from its responses (two statements)."""
    return """
        DELETE FROM knowledge_results WHERE paper_id = $p;
        INSERT INTO knowledge_results (paper_id, student_key, knowledge_point, score)
        SELECT r.paper_id, r.student_key, k.knowledge_point, sum(coalesce(r.score, 0))
        FROM responses r JOIN item_knowledge k ON k.item_id = r.item_id
        WHERE r.paper_id = $p
        GROUP BY r.paper_id, r.student_key, k.knowledge_point
    """


def refresh_knowledge_results(wh: Backend, paper_id: int) -> None:
    """Rebuild the per student × knowledge point sums of one paper (``knowledge_results``);
    every writer of a paper's responses, items or knowledge points calls it, in its
    transaction."""
    delete, insert = refresh_knowledge_results_sql().split(";")
    wh.execute(delete, {"p": paper_id})
    wh.execute(insert, {"p": paper_id})


def student_knowledge_sql() -> str:
    """Per student × knowledge point: points scored and points possible (unanswered = 0).

    An item tagged with several knowledge points counts in full toward each of them.
    """
    return """
        SELECT r.student_key, k.knowledge_point,
               count(*) AS n_items,
               sum(coalesce(r.score, 0)) AS score,
               sum(i.max_score) AS max_score
        FROM responses r
        JOIN items i ON i.item_id = r.item_id
        JOIN item_knowledge k ON k.item_id = r.item_id
        JOIN paper_results pr ON pr.paper_id = r.paper_id AND pr.student_key = r.student_key
        WHERE r.paper_id = $paper_id AND pr.status = 'present'
        GROUP BY ALL
        ORDER BY r.student_key, k.knowledge_point
    """


def student_knowledge_rates(
    wh: Backend, *, exam: str, subject: str, grade: int | None = None
) -> pd.DataFrame:
    """Each present student's score rate on each knowledge point of a paper.

    ``score_rate = Σ score / Σ max_score`` over the items tagged with the knowledge point
    (得分率, see docs: domain conventions).

    Returns
    -------
    DataFrame
        ``student_key``, ``knowledge_point``, ``n_items``, ``score``, ``max_score``,
        ``score_rate``; one row per student × knowledge point. (``n_items`` is the unit count.)
    """
    paper = resolve_paper(wh, exam, subject, grade)
    out = wh.df(student_knowledge_sql(), {"paper_id": paper.paper_id})
    out["score_rate"] = out["score"] / out["max_score"]
    return out


def student_totals(
    wh: Backend, *, exam: str, subject: str, grade: int | None = None
) -> pd.DataFrame:
    """Each student's status and total on a paper, with the reporting tree.

    Returns
    -------
    DataFrame
        ``student_key``, ``student_id``, ``school_id``, ``school_name``, ``class_id``,
        ``class_name``, ``gender``, ``status``, ``total`` (NaN unless present), ``n`` (= 1,
        so that per-student frames follow the tidy contract).
    """
    paper = resolve_paper(wh, exam, subject, grade)
    return wh.df(
        """
        SELECT t.student_key, t.student_id, t.school_id, t.school_name, t.class_id,
               t.class_name, t.gender, r.status, r.total, 1 AS n
        FROM paper_results r JOIN student_tree t USING (student_key)
        WHERE r.paper_id = $paper_id
        ORDER BY t.student_key
        """,
        {"paper_id": paper.paper_id},
    )
