"""Per-student scores by knowledge point (知识点), for studies such as "which knowledge points of
the entry exam predict the monitoring score" (the reductions, and the stored
``knowledge_results``, are in :mod:`analytics.reduce.knowledge`)."""

from __future__ import annotations

import pandas as pd

from analytics.domain.params import fill_doc
from analytics.lookup import resolve_paper
from analytics.reduce.knowledge import student_knowledge_sql
from analytics.warehouse import Backend


@fill_doc
def student_knowledge_rates(
    wh: Backend, *, exam: str, subject: str, grade: int | None = None
) -> pd.DataFrame:
    """Each present student's score rate on each knowledge point of a paper.

    ``score_rate = Σ score / Σ max_score`` over the items tagged with the knowledge point
    (得分率, see docs: domain conventions).

    Parameters
    ----------
    {paper}

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


@fill_doc
def student_totals(
    wh: Backend, *, exam: str, subject: str, grade: int | None = None
) -> pd.DataFrame:
    """Each student's status and total on a paper, with the reporting tree.

    Parameters
    ----------
    {paper}

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
