"""The reductions of the error hotspots: per unit × item and per unit × knowledge point sums of
the score rate and the paper rate, and the wrong answers, each from the per-paper passes of
:mod:`analytics.reduce.item_passes` or the stored ``knowledge_results`` where they are current (the
analyses on these sums: :mod:`analytics.hotspots`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.domain.items import OBJECTIVE_SQL
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.reduce.derived import is_current
from analytics.reduce.item_passes import ans_stage, unit_item_pass
from analytics.stats.unit_gaps import SUMS
from analytics.warehouse import Backend

# -- SQL ---------------------------------------------------------------------------------------

def unit_id_column(level: str) -> str:
    """The id column of a level's units (trusted identifier)."""
    return LEVEL_KEYS[check_level(level)][-2]


def _present_cte(level: str) -> str:
    """Present students of the paper with their unit id and paper rate p = total / full."""
    uid = unit_id_column(level)
    return f"""
        st AS (
            SELECT pr.student_key, t.{uid}, pr.total / $full_score AS p
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        )"""


def unit_names_sql(level: str) -> str:
    """The level's key columns (ids and names) of every unit, one row per unit."""
    return {
        "zone": "SELECT z.zone_id, z.name AS zone_name FROM zones z",
        "school": "SELECT z.zone_id, z.name AS zone_name, s.school_id, s.name AS school_name "
                  "FROM schools s LEFT JOIN zones z ON z.zone_id = s.zone_id",
        "class": "SELECT s.school_id, s.name AS school_name, c.class_id, c.name AS class_name "
                 "FROM classes c JOIN schools s ON s.school_id = c.school_id",
    }[level]


#: Per knowledge point of the paper: the Σ of its items' maximum scores and how many items.
_KMAX_CTE = """kmax AS (
            SELECT k.knowledge_point, sum(i.max_score) AS kp_max, count(*) AS n_items
            FROM items i JOIN item_knowledge k ON k.item_id = i.item_id
            WHERE i.paper_id = $paper_id
            GROUP BY k.knowledge_point
        )"""


def _present_units_cte() -> str:
    """``st``: present students of the paper with zone, school and class ids and paper rate
    p = total / full score."""
    return """st AS (
            SELECT pr.student_key, t.zone_id, t.school_id, t.class_id,
                   pr.total / $full_score AS p
            FROM paper_results pr JOIN student_tree t ON t.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        )"""


def knowledge_sums_sql(level: str) -> str:
    """Per unit × knowledge point and per knowledge point: n, Σx, Σx², Σp, Σp², Σxp of a
    student's knowledge-point rate x = (Σ scores on the point's items) / (Σ their max scores)
    and paper rate p = total / full_score."""
    uid = unit_id_column(level)
    return f"""
        WITH {_present_cte(level)},
        {_KMAX_CTE},
        s AS (
            SELECT r.student_key, k.knowledge_point, sum(coalesce(r.score, 0)) AS score
            FROM responses r
            JOIN item_knowledge k ON k.item_id = r.item_id
            WHERE r.paper_id = $paper_id
            GROUP BY r.student_key, k.knowledge_point
        ),
        u AS (
            SELECT st.{uid}, st.p, s.knowledge_point, s.score / m.kp_max AS x,
                   m.kp_max, m.n_items
            FROM s
            JOIN st ON st.student_key = s.student_key
            JOIN kmax m ON m.knowledge_point = s.knowledge_point
        )
        SELECT {uid}, knowledge_point, GROUPING({uid}) AS is_district,
               count(*) AS n, sum(x) AS sum_x, sum(x * x) AS sum_xx,
               sum(p) AS sum_p, sum(p * p) AS sum_pp, sum(x * p) AS sum_xp,
               any_value(kp_max) AS max_score, any_value(n_items) AS n_items
        FROM u
        GROUP BY GROUPING SETS (({uid}, knowledge_point), (knowledge_point))
    """


def n_knowledge_points_sql() -> str:
    """How many distinct knowledge points the paper's items are tagged with."""
    return """
        SELECT count(DISTINCT k.knowledge_point) AS n_kp
        FROM items i JOIN item_knowledge k ON k.item_id = i.item_id
        WHERE i.paper_id = $paper_id
    """


UNIT_LEVELS = ("zone", "school", "class")


def knowledge_sums_wide_sql(n_kp: int) -> str:
    """The result of :func:`knowledge_sums_sql` for zones, schools and classes at once (column
    ``level``: zone | school | class | district, ``unit_id``), computed without a student ×
    knowledge point aggregation: one row per student with a column per knowledge point
    (numbered 1..n_kp in name order; ``n_kp`` is a trusted integer), the per-unit sums of those
    columns per class (the finest unit) rolled up to schools, zones and the district (the sums
    are additive), then one row per unit × knowledge point. A student counts for a
    knowledge point when they have a response row on one of its items, as in
    :func:`knowledge_sums_sql`; the expensive per-student pass is shared by the levels."""
    ks = range(1, n_kp + 1)
    per_student = ",\n".join(
        f"sum(coalesce(r.score, 0)) FILTER (WHERE ik.kpi = {k}) AS s{k}" for k in ks)
    per_unit = ",\n".join(
        f"count(s{k}) AS n{k}, sum(s{k}) AS a{k}, sum(s{k} * s{k}) AS b{k}, "
        f"sum(p) FILTER (WHERE s{k} IS NOT NULL) AS c{k}, "
        f"sum(p * p) FILTER (WHERE s{k} IS NOT NULL) AS d{k}, sum(s{k} * p) AS e{k}"
        for k in ks)
    roll = ", ".join(f"sum({c}{k}) AS {c}{k}" for k in ks for c in "nabcde")
    long = "\n            UNION ALL ".join(
        f"SELECT level, unit_id, {k} AS kpi, n{k} AS n, a{k} AS a, b{k} AS b, c{k} AS c, "
        f"d{k} AS d, e{k} AS e FROM agg" for k in ks)
    return f"""
        WITH {_present_units_cte()},
        kmax AS (
            SELECT knowledge_point, kp_max, n_items,
                   CAST(row_number() OVER (ORDER BY knowledge_point) AS INTEGER) AS kpi
            FROM (SELECT k.knowledge_point, sum(i.max_score) AS kp_max, count(*) AS n_items
                  FROM items i JOIN item_knowledge k ON k.item_id = i.item_id
                  WHERE i.paper_id = $paper_id
                  GROUP BY k.knowledge_point) AS km
        ),
        ik AS (
            SELECT k.item_id, m.kpi
            FROM item_knowledge k
            JOIN items i ON i.item_id = k.item_id
            JOIN kmax m ON m.knowledge_point = k.knowledge_point
            WHERE i.paper_id = $paper_id
        ),
        s AS (
            SELECT r.student_key, {per_student}
            FROM responses r JOIN ik ON ik.item_id = r.item_id
            WHERE r.paper_id = $paper_id
            GROUP BY r.student_key
        ),
        fine AS (
            SELECT st.zone_id, st.school_id, st.class_id, {per_unit}
            FROM s JOIN st ON st.student_key = s.student_key
            GROUP BY st.zone_id, st.school_id, st.class_id
        ),
        agg AS (
            SELECT 'zone' AS level, zone_id AS unit_id, {roll} FROM fine GROUP BY zone_id
            UNION ALL
            SELECT 'school', school_id, {roll} FROM fine GROUP BY school_id
            UNION ALL
            SELECT 'class', class_id, {roll} FROM fine GROUP BY class_id
            UNION ALL
            SELECT 'district', NULL, {roll} FROM fine
        ),
        long AS (
            {long}
        )
        SELECT l.level, l.unit_id, m.knowledge_point, CAST(l.n AS BIGINT) AS n,
               l.a / m.kp_max AS sum_x, l.b / (m.kp_max * m.kp_max) AS sum_xx,
               l.c AS sum_p, l.d AS sum_pp, l.e / m.kp_max AS sum_xp,
               m.kp_max AS max_score, m.n_items
        FROM long l JOIN kmax m ON m.kpi = l.kpi
        WHERE l.n > 0
    """


def knowledge_sums_stored_sql() -> str:
    """:func:`knowledge_sums_wide_sql`'s result read from ``knowledge_results`` (the per
    student × knowledge point sums the importers keep) instead of the responses: ten rows per
    student instead of forty, and no per-student grouping. Parameters: ``$paper_id``,
    ``$full_score``."""
    sums = "CAST(sum(n) AS BIGINT) AS n, sum(a) AS a, sum(b) AS b, sum(c) AS c, " \
           "sum(d) AS d, sum(e) AS e"
    return f"""
        WITH {_present_units_cte()},
        {_KMAX_CTE},
        fine AS (
            SELECT st.zone_id, st.school_id, st.class_id, kr.knowledge_point, count(*) AS n,
                   sum(kr.score) AS a, sum(kr.score * kr.score) AS b, sum(st.p) AS c,
                   sum(st.p * st.p) AS d, sum(kr.score * st.p) AS e
            FROM knowledge_results kr JOIN st ON st.student_key = kr.student_key
            WHERE kr.paper_id = $paper_id
            GROUP BY st.zone_id, st.school_id, st.class_id, kr.knowledge_point
        ),
        agg AS (
            SELECT 'zone' AS level, zone_id AS unit_id, knowledge_point, {sums}
            FROM fine GROUP BY zone_id, knowledge_point
            UNION ALL
            SELECT 'school', school_id, knowledge_point, {sums}
            FROM fine GROUP BY school_id, knowledge_point
            UNION ALL
            SELECT 'class', class_id, knowledge_point, {sums}
            FROM fine GROUP BY class_id, knowledge_point
            UNION ALL
            SELECT 'district', NULL, knowledge_point, {sums} FROM fine GROUP BY knowledge_point
        )
        SELECT l.level, l.unit_id, m.knowledge_point, l.n,
               l.a / m.kp_max AS sum_x, l.b / (m.kp_max * m.kp_max) AS sum_xx,
               l.c AS sum_p, l.d AS sum_pp, l.e / m.kp_max AS sum_xp,
               m.kp_max AS max_score, m.n_items
        FROM agg l JOIN kmax m ON m.knowledge_point = l.knowledge_point
        WHERE l.n > 0
    """


def knowledge_sums(wh: Backend, level: str, sp: dict[str, Any]) -> pd.DataFrame:
    """Per unit × knowledge point sums (:func:`knowledge_sums_sql`'s columns), for zones,
    schools and classes from the pass shared by those levels: over ``knowledge_results`` while
    it is current (``is_current(wh, "knowledge_results", paper_id)``,
    :mod:`analytics.reduce.derived`), else over the responses (:func:`knowledge_sums_wide_sql`);
    same result either way."""
    n_kp = int(wh.df_shared(n_knowledge_points_sql(), {"paper_id": sp["paper_id"]})
               ["n_kp"].iloc[0])
    if n_kp == 0 or level not in UNIT_LEVELS:
        return wh.df_shared(knowledge_sums_sql(level), sp)
    if is_current(wh, "knowledge_results", sp["paper_id"]):
        w = wh.df_shared(knowledge_sums_stored_sql(), sp)
    else:
        w = wh.df_shared(knowledge_sums_wide_sql(n_kp), sp)
    w = w[w["level"].isin([level, "district"])]
    out = w.drop(columns="level").rename(columns={"unit_id": unit_id_column(level)})
    out.insert(2, "is_district", (w["level"] == "district").astype("int64").to_numpy())
    return out.reset_index(drop=True)


def _wrong_answers_cte(ans: str) -> str:
    """CTE ``f``: the rows of the staged answers pass ``ans`` (a trusted name) that are wrong
    answers to an objective item of ``$paper_id`` (an answer given, not empty, that differs
    from the key), with the unit ids of every level."""
    return f"""
        f AS (
            SELECT a.school_id, a.class_id, sc.zone_id, a.item_id, a.answer, a.n
            FROM {ans} a JOIN items i ON i.item_id = a.item_id
            LEFT JOIN schools sc ON sc.school_id = a.school_id
            WHERE i.paper_id = $paper_id
              AND i.item_type IN {OBJECTIVE_SQL}
              AND a.answer <> '' AND a.answer IS DISTINCT FROM i.answer_key
        )"""


def wrong_options_sql(level: str | None, ans: str) -> str:
    """Per unit of ``level`` × objective item × wrong answer (an answer given, not empty, that
    differs from the key) how many present students gave it (``n_chose``, ``is_district`` 0),
    and the same for the whole paper (unit id NULL, ``is_district`` 1; ``level`` None gives
    only these), rolled up from the staged answers pass ``ans`` (a trusted name;
    :func:`analytics.reduce.item_passes.class_answer_pass_sql`). Parameter: ``$paper_id``."""
    whole = "SELECT NULL AS unit_id, item_id, answer, 1 AS is_district, " \
            "CAST(sum(n) AS BIGINT) AS n_chose " \
            "FROM f GROUP BY item_id, answer"
    units = "" if level is None else (
        f"SELECT {unit_id_column(level)}, item_id, answer, 0 AS is_district, "
        f"CAST(sum(n) AS BIGINT) AS n_chose FROM f "
        f"GROUP BY {unit_id_column(level)}, item_id, answer UNION ALL ")
    return f"""
        WITH {_wrong_answers_cte(ans)}
        {units}{whole}
    """


def wrong_options(wh: Backend, sp: dict[str, Any], level: str | None) -> pd.DataFrame:
    """The wrong answers of ``level``'s units (none when ``level`` is None) and of the whole
    paper: columns ``<level id>`` (``unit_id`` when ``level`` is None), ``item_id, answer,
    is_district`` (1 for the whole paper, unit id NULL), ``n_chose``
    (:func:`wrong_options_sql`)."""
    paper_id = sp["paper_id"]
    f = wh.df_shared(wrong_options_sql(level, ans_stage(wh, paper_id)),
                     {"paper_id": paper_id})
    if level is not None:
        f = f.rename(columns={f.columns[0]: unit_id_column(level)})
        f[unit_id_column(level)] = f[unit_id_column(level)].astype("Int64")
    f["is_district"] = f["is_district"].astype("int64")
    f["n_chose"] = f["n_chose"].astype("int64")
    return f


def paper_items_sql() -> str:
    """The paper's items with their knowledge points joined by ';'."""
    return """
        SELECT i.item_id, i.number AS item_number, i.label AS item_label, i.item_type,
               i.max_score, i.answer_key,
               string_agg(k.knowledge_point, ';' ORDER BY k.knowledge_point) AS knowledge_points
        FROM items i LEFT JOIN item_knowledge k ON k.item_id = i.item_id
        WHERE i.paper_id = $paper_id
        GROUP BY ALL
        ORDER BY i.number
    """


def top_wrong_sql(level: str, ans: str) -> str:
    """Per unit × item the most-chosen wrong answer (ties to the first answer in text order,
    i.e. by code point) and how many chose it in the unit (``n_chose``) and in the district
    (``n_chose_d``), counted as in :func:`wrong_options_sql` from the staged answers pass
    ``ans`` (a trusted name). Parameter: ``$paper_id``."""
    uid = unit_id_column(level)
    return f"""
        WITH {_wrong_answers_cte(ans)},
        u AS (
            SELECT {uid}, item_id, answer, CAST(sum(n) AS BIGINT) AS n_chose
            FROM f WHERE {uid} IS NOT NULL
            GROUP BY {uid}, item_id, answer
        ),
        top AS (
            SELECT {uid}, item_id, first(answer ORDER BY n_chose DESC, answer) AS answer,
                   max(n_chose) AS n_chose
            FROM u GROUP BY {uid}, item_id
        ),
        d AS (
            SELECT item_id, answer, CAST(sum(n) AS BIGINT) AS n_chose FROM f
            GROUP BY item_id, answer
        )
        SELECT t.{uid}, t.item_id, t.answer, t.n_chose, d.n_chose AS n_chose_d
        FROM top t LEFT JOIN d ON d.item_id = t.item_id AND d.answer = t.answer
    """


def unit_pass_sums(wh: Backend, sp: dict[str, Any], level: str) -> pd.DataFrame:
    """Per unit × item of ``level`` and per item of the whole paper (``is_district`` 1, unit id
    NULL): n, Σx, Σx², Σp, Σp², Σxp (``sum_*``) of the item rate x = score / max_score and the
    student's paper rate p = total / full_score; read from the one per-paper pass that serves
    every level and the knowledge-point rates
    (:func:`analytics.reduce.item_passes.unit_item_pass`)."""
    uid = unit_id_column(level)
    f = unit_item_pass(wh, sp["paper_id"], sp["full_score"])
    f = f[f["level"].isin([level, "all"])]
    out = pd.DataFrame({uid: f["unit_id"].astype("Int64").to_numpy(),
                        "item_id": f["item_id"].to_numpy(),
                        "is_district": (f["level"] == "all").astype("int64").to_numpy()})
    for c in SUMS:
        out[c] = f[c].to_numpy()
    return out
