"""The archive's SQL: an administration's statistics, the bank's overview and search."""

from __future__ import annotations

from analytics.domain.items import OBJECTIVE_SQL
from analytics.stats.items import (
    KELLEY_SHARE,
    difficulty_band_sql,
    kelley_rank_sql,
    kelley_size_sql,
)

# -- SQL ----------------------------------------------------------------------------------------

def _groups_cte() -> str:
    """Present students with band, demographics and their rank by total (upper/lower 27 %:
    Kelley's groups of the whole paper, :func:`analytics.stats.items.kelley_size_sql`, with at
    least one student each)."""
    size = kelley_size_sql("n_all", share=repr(KELLEY_SHARE), at_least=1, sql_type="INTEGER")
    return f"""
        WITH pres AS (
            SELECT pr.student_key, pr.total, t.gender, t.ownership, t.locality,
                   CASE WHEN pr.total >= $band_a THEN 'A' WHEN pr.total >= $band_b THEN 'B'
                        WHEN pr.total >= $band_c THEN 'C' ELSE 'D' END AS band,
                   {kelley_rank_sql()} AS rk,
                   count(*) OVER () AS n_all
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        g AS (
            SELECT *, {size} AS n_g, rk <= {size} AS is_upper, rk > n_all - {size} AS is_lower
            FROM pres
        )
    """


def admin_items_sql() -> str:
    """Per item: n, mean score, score rate, omission rate, upper/lower 27 % rates."""
    return _groups_cte() + """
        SELECT r.item_id, count(*) AS n,
               avg(coalesce(r.score, 0)) AS mean_score,
               avg(coalesce(r.score, 0)) / any_value(i.max_score) AS score_rate,
               avg(CASE WHEN r.score IS NULL THEN 1.0 ELSE 0.0 END) AS omit_rate,
               any_value(g.n_g) AS n_group,
               avg(coalesce(r.score, 0)) FILTER (WHERE g.is_upper) / any_value(i.max_score)
                   AS upper_rate,
               avg(coalesce(r.score, 0)) FILTER (WHERE g.is_lower) / any_value(i.max_score)
                   AS lower_rate,
               count(*) FILTER (WHERE g.is_upper) AS n_upper,
               count(*) FILTER (WHERE g.is_lower) AS n_lower
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id
        GROUP BY r.item_id
    """


def admin_options_sql() -> str:
    """Per objective item × chosen answer: counts overall and in the upper/lower groups."""
    return _groups_cte() + f"""
        SELECT r.item_id, r.answer AS option, count(*) AS n_chose,
               count(*) FILTER (WHERE g.is_upper) AS n_upper_chose,
               count(*) FILTER (WHERE g.is_lower) AS n_lower_chose
        FROM responses r
        JOIN g ON g.student_key = r.student_key
        JOIN items i ON i.item_id = r.item_id
        WHERE r.paper_id = $paper_id AND i.item_type IN {OBJECTIVE_SQL}
          AND r.answer IS NOT NULL AND r.answer <> ''
        GROUP BY r.item_id, r.answer
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
