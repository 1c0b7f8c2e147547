"""The archive's SQL: an administration's band and demographic rates, the bank's overview and
search (its item statistics come from :func:`analytics.items.paper_population_stats`)."""

from __future__ import annotations

from analytics.stats.items import difficulty_band_sql

# -- SQL ----------------------------------------------------------------------------------------
# An administration's item statistics and option shares (Kelley's groups of the whole paper) are
# not computed here: :func:`analytics.items.paper_population_stats` gives them, from the same
# sums and formulas as :func:`analytics.items.item_stats`.

def _groups_cte() -> str:
    """``g``: the present students of paper ``$paper_id`` with their grade band (from
    ``$band_a``, ``$band_b``, ``$band_c`` on the total) and demographics."""
    return """
        WITH g AS (
            SELECT pr.student_key, t.gender, t.ownership, t.locality,
                   CASE WHEN pr.total >= $band_a THEN 'A' WHEN pr.total >= $band_b THEN 'B'
                        WHEN pr.total >= $band_c THEN 'C' ELSE 'D' END AS band
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        )
    """


def admin_groups_sql() -> str:
    """Per item × grade band / gender / ownership / locality: n and score rate."""
    return _groups_cte() + """
        SELECT r.item_id,
               CASE WHEN GROUPING(g.band) = 0 THEN 'band'
                    WHEN GROUPING(g.gender) = 0 THEN 'gender'
                    WHEN GROUPING(g.ownership) = 0 THEN 'ownership'
                    ELSE 'locality' END AS group_kind,
               coalesce(g.band, g.gender, g.ownership, g.locality) AS group_value,
               count(*) AS n,
               avg(coalesce(r.score, 0) / i.max_score) AS score_rate
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id
        GROUP BY GROUPING SETS ((r.item_id, g.band), (r.item_id, g.gender),
                                (r.item_id, g.ownership), (r.item_id, g.locality))
    """


def paper_items_sql() -> str:
    """The paper's items with their knowledge points as a list."""
    return """
        SELECT i.item_id, i.number, i.label, i.item_type, i.max_score, i.answer_key, i.options,
               i.cognitive_level,
               list(k.knowledge_point ORDER BY k.knowledge_point)
                   FILTER (WHERE k.knowledge_point IS NOT NULL) AS knowledge_points
        FROM items i LEFT JOIN item_knowledge k ON k.item_id = i.item_id
        WHERE i.paper_id = $paper_id
        GROUP BY ALL
        ORDER BY i.number
    """


def bank_overview_sql() -> str:
    """One row per bank item with its knowledge points, latest administration and note."""
    return f"""
        WITH kp AS (
            SELECT bank_item_id, string_agg(knowledge_point, ';' ORDER BY knowledge_point)
                       AS knowledge_points
            FROM bank_item_knowledge GROUP BY bank_item_id
        ),
        adm AS (
            SELECT bank_item_id, count(*) AS n_administrations,
                   arg_max(exam, (exam_date, recorded_at, paper_id)) AS last_exam,
                   arg_max(n, (exam_date, recorded_at, paper_id)) AS n,
                   arg_max(score_rate, (exam_date, recorded_at, paper_id)) AS score_rate,
                   arg_max(discrimination, (exam_date, recorded_at, paper_id)) AS discrimination
            FROM bank_administrations GROUP BY bank_item_id
        ),
        note AS (
            SELECT bank_item_id, max(version) AS note_version,
                   arg_max(cause_text, version) AS cause_text,
                   arg_max(advice, version) AS advice
            FROM bank_notes GROUP BY bank_item_id
        ),
        base AS (
            SELECT b.bank_item_id, b.subject, b.grade, b.item_type, b.label,
                   kp.knowledge_points, b.cognitive_level, b.max_score, b.answer_key,
                   b.stem_text, b.option_texts, b.solution_notes, b.intended_difficulty,
                   b.source_exam,
                   coalesce(adm.n_administrations, 0) AS n_administrations, adm.last_exam,
                   adm.n, adm.score_rate, adm.discrimination,
                   coalesce(note.note_version, 0) AS note_version, note.cause_text, note.advice,
                   coalesce(adm.score_rate, b.intended_difficulty) AS rate_for_band
            FROM bank_items b
            LEFT JOIN kp ON kp.bank_item_id = b.bank_item_id
            LEFT JOIN adm ON adm.bank_item_id = b.bank_item_id
            LEFT JOIN note ON note.bank_item_id = b.bank_item_id
        )
        SELECT * EXCLUDE (rate_for_band), {difficulty_band_sql("rate_for_band")} AS difficulty_band
        FROM base
    """


def search_sql() -> str:
    """Bank items filtered by optional parameters (NULL = no filter)."""
    return f"""
        SELECT * FROM ({bank_overview_sql()}) o
        WHERE ($subject IS NULL OR o.subject = $subject)
          AND ($grade IS NULL OR o.grade = $grade)
          AND ($item_type IS NULL OR o.item_type = $item_type)
          AND ($difficulty IS NULL OR o.difficulty_band = $difficulty)
          AND ($kp IS NULL OR EXISTS (
                SELECT 1 FROM bank_item_knowledge k
                WHERE k.bank_item_id = o.bank_item_id AND contains(k.knowledge_point, $kp)))
          AND ($text IS NULL OR contains(lower(concat_ws(' ', o.label, o.stem_text,
                o.option_texts, o.solution_notes, o.knowledge_points, o.cause_text, o.advice)),
                lower($text)))
        ORDER BY o.subject, o.grade, o.bank_item_id
    """
