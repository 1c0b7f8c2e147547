"""Per student × knowledge point sums of a paper: the stored ``knowledge_results`` (migration
004, the derived family ``knowledge_results``) and the reduction of the responses it replaces.

``knowledge_results`` holds, per paper × student × knowledge point, Σ of the student's item
scores on the point's items (an omission 0), for every student with response rows; an item
tagged with several points counts in full toward each. It is derived from the paper's
responses and its items' knowledge points (the fingerprint's ``responses`` and ``knowledge``
components), rebuilt by :func:`analytics.reduce.derived.keep_derived_current` (the importers,
in their transaction), and read (:mod:`analytics.reduce.hotspots`) only while
``is_current(wh, "knowledge_results", paper_id)``; else the readers reduce the responses.
"""

from __future__ import annotations

from analytics.reduce.derived import Family, declare
from analytics.warehouse import Backend

#: Bumped whenever the table's content changes meaning: state of another version is not read.
KNOWLEDGE_VERSION = 1


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


def refresh_knowledge_results(wh: Backend, paper_ids: list[int]) -> None:
    """Rebuild the per student × knowledge point sums of these papers (the family's
    ``refresh``; its state is recorded by :mod:`analytics.reduce.derived`)."""
    delete, insert = refresh_knowledge_results_sql().split(";")
    for paper_id in map(int, paper_ids):
        wh.execute(delete, {"p": paper_id})
        wh.execute(insert, {"p": paper_id})


def drop_knowledge_results(wh: Backend, paper_ids: list[int]) -> None:
    """Remove the rows of these papers."""
    if paper_ids:
        wh.execute("DELETE FROM knowledge_results WHERE list_contains($p, paper_id)",
                   {"p": [int(p) for p in paper_ids]})


#: The derived family of ``knowledge_results``: from the responses and the items' knowledge
#: points, for every paper.
KNOWLEDGE_RESULTS = declare(Family(
    name="knowledge_results",
    tables=("knowledge_results",),
    components=("responses", "knowledge"),
    papers_sql="SELECT paper_id FROM papers ORDER BY paper_id",
    refresh=refresh_knowledge_results,
    drop=drop_knowledge_results,
    version=KNOWLEDGE_VERSION,
))


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
