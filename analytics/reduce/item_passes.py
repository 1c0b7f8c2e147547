"""The per-paper passes over the responses that the item statistics, the knowledge-point rates
and the hotspots roll up, staged per connection or stored by the importers.

Three passes over the responses per paper serve the whole population at district and school
level (what a report run needs); they are staged once per connection
(:meth:`Backend.staged <analytics.warehouse.Backend.staged>`) and every level is rolled up from
them in SQL: :func:`class_answer_pass_sql` (per school × class × item × answer: n and the sums,
also read per class × item through :func:`class_item_sql`), :func:`kelley_pass_sql` (students in
the upper or lower group of their school or district, per answer) and, for the district's
sorted cross product, :func:`sorted_cross_sql`. The knowledge-point rates and the hotspots read
the same passes (:func:`unit_item_pass`).

The importers also store the three passes of every paper (tables ``item_pass_*``, migration
005): the derived family ``item_passes`` (:data:`ITEM_PASSES`, kept by
:func:`analytics.reduce.derived.keep_derived_current`), read only while
``is_current(wh, "item_passes", paper_id)`` — the paper's responses and results (with the
students' units) still give the fingerprint recorded with them, with the same Kelley share
and :data:`PASS_VERSION` — else staged as above (a change made behind the importers' back, a
warehouse from before the migration, the Spark backend, ``Warehouse(stored_passes=False)``);
tests/test_item_passes.py asserts every report is the same either way.

Kelley's groups, the total t and the unit of a student with no class: see
:mod:`analytics.reduce.item_sums`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.reduce.derived import Family, declare, is_current, params_for
from analytics.stats.items import KELLEY_SHARE, kelley_rank_sql, kelley_size_sql
from analytics.warehouse import Backend

PASS_SUMS = ("n", "sum_x", "sum_xx", "sum_p", "sum_pp", "sum_xp")


# -- the shared per-paper passes ---------------------------------------------------------------
# Three scans of the responses serve the item statistics of the district and of every school,
# the per unit × item sums of every level (knowledge-point rates, hotspots) and the wrong
# answers of every level. Each keeps few aggregates per group (the cost of a hash aggregation
# over tens of millions of rows grows with the number of aggregates more than with the number
# of groups), is keyed by school × class (the finest unit), is kept for the connection
# (Backend.staged) and rolled up to every level by SQL on its small result. Kelley's groups of
# the school and of the district are both fixed per student before the scan, so one pass holds
# the upper/lower sums of both levels.


def _present_ranked_cte() -> str:
    """``st``: present students of ``$paper_id`` with their unit ids, total ``t`` and Kelley
    group codes ``gs`` (within their school) and ``gd`` (within their district): 1 upper,
    −1 lower, 0 neither (see the module notes for the ranking and the tiebreak)."""
    gs, gd = kelley_size_sql("n_s"), kelley_size_sql("n_d")
    return f"""
        ranked AS (
            SELECT pr.student_key, pr.total AS t, s.district_id, s.school_id, s.class_id,
                   count(*) OVER (PARTITION BY s.school_id) AS n_s,
                   {kelley_rank_sql("s.school_id")} AS rk_s,
                   count(*) OVER (PARTITION BY s.district_id) AS n_d,
                   {kelley_rank_sql("s.district_id")} AS rk_d
            FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        st AS (
            SELECT student_key, t, district_id, school_id, class_id,
                   CASE WHEN rk_s <= {gs} THEN 1 WHEN rk_s > n_s - {gs} THEN -1 ELSE 0 END AS gs,
                   CASE WHEN rk_d <= {gd} THEN 1 WHEN rk_d > n_d - {gd} THEN -1 ELSE 0 END AS gd
            FROM ranked
        )"""


def _present_cte() -> str:
    """``st``: present students of ``$paper_id`` with total ``t``, school and class ids."""
    return """
        st AS (
            SELECT pr.student_key, pr.total AS t, s.school_id, s.class_id
            FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        )"""


def class_answer_pass_sql() -> str:
    """Per school × class × item × answer as given (present students; a student without a
    class has ``class_id`` NULL; ``answer`` NULL for open items and omitted choices): ``n``,
    ``n_answered`` (score not NULL), ``sx`` = Σx, ``sxx`` = Σx², ``sxt`` = Σxt, ``st`` = Σt,
    ``stt`` = Σt² (x the raw item score, NULL sums where every score is NULL; t the total).
    One pass serves both the per unit × item sums (summed over answers) and the answer counts
    with the mean total of those who gave each answer. Parameter: ``$paper_id``."""
    return f"""
        WITH {_present_cte()}
        SELECT st.school_id, st.class_id, r.item_id, r.answer, count(*) AS n,
               count(r.score) AS n_answered, sum(r.score) AS sx, sum(r.score * r.score) AS sxx,
               sum(r.score * st.t) AS sxt, sum(st.t) AS st, sum(st.t * st.t) AS stt
        FROM responses r JOIN st ON st.student_key = r.student_key
        WHERE r.paper_id = $paper_id
        GROUP BY st.school_id, st.class_id, r.item_id, r.answer
    """


def kelley_pass_sql() -> str:
    """Per district × school × item × answer × Kelley codes ``gs``, ``gd`` (see
    :func:`_present_ranked_cte`), for students in an upper or lower group of their school or
    district: ``n`` and ``sx`` (Σ item score, an omission 0). ``answer`` is as given (NULL for
    open items and omissions). Parameters: ``$paper_id``, ``$share``."""
    return f"""
        WITH {_present_ranked_cte()},
        grouped AS (SELECT * FROM st WHERE gs <> 0 OR gd <> 0)
        SELECT g.district_id, g.school_id, r.item_id, r.answer, g.gs, g.gd, count(*) AS n,
               sum(coalesce(r.score, 0.0)) AS sx
        FROM responses r JOIN grouped g ON g.student_key = r.student_key
        WHERE r.paper_id = $paper_id
        GROUP BY g.district_id, g.school_id, r.item_id, r.answer, g.gs, g.gd
    """


def sorted_ctes() -> str:
    """``xd``, ``rd``, ``sc``: from ``fine`` (uid, item_id, x, t, n), the distributions of x
    and of the rest r = t − x per unit × item with their cumulative counts, and ``sc``: per
    unit × item Σ x₍ᵢ₎ r₍ᵢ₎ (``sxr_sorted``), the sum over the overlaps of the two sorted
    rank ranges (a range join on the small distributions)."""
    return """xd AS (
            SELECT uid, item_id, x AS v, c,
                   sum(c) OVER (PARTITION BY uid, item_id ORDER BY x) - c AS lo
            FROM (SELECT uid, item_id, x, sum(n) AS c FROM fine GROUP BY uid, item_id, x) a
        ),
        rd AS (
            SELECT uid, item_id, r AS v, c,
                   sum(c) OVER (PARTITION BY uid, item_id ORDER BY r) - c AS lo
            FROM (SELECT uid, item_id, t - x AS r, sum(n) AS c FROM fine
                  GROUP BY uid, item_id, t - x) b
        ),
        sc AS (
            SELECT xd.uid, xd.item_id,
                   sum(xd.v * rd.v * (least(xd.lo + xd.c, rd.lo + rd.c)
                                      - greatest(xd.lo, rd.lo))) AS sxr_sorted
            FROM xd JOIN rd ON xd.uid = rd.uid AND xd.item_id = rd.item_id
                            AND xd.lo < rd.lo + rd.c AND rd.lo < xd.lo + xd.c
            GROUP BY xd.uid, xd.item_id
        )"""


def sorted_cross_sql() -> str:
    """Per district × item, Σ x₍ᵢ₎ r₍ᵢ₎ (``sxr_sorted``; see the module notes) from one pass
    grouped by district × item × score × total. Parameter: ``$paper_id``."""
    return f"""
        WITH st AS (
            SELECT pr.student_key, pr.total AS t, coalesce(s.district_id, -1) AS uid
            FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        raw AS (
            SELECT st.uid, r.item_id, r.score, st.t, count(*) AS n
            FROM responses r JOIN st ON st.student_key = r.student_key
            WHERE r.paper_id = $paper_id
            GROUP BY st.uid, r.item_id, r.score, st.t
        ),
        fine AS (       -- an omission counts 0 (merged after the scan, on the small result)
            SELECT uid, item_id, coalesce(score, 0.0) AS x, t, sum(n) AS n
            FROM raw GROUP BY uid, item_id, coalesce(score, 0.0), t
        ),
        {sorted_ctes()}
        SELECT uid, item_id, sxr_sorted FROM sc
    """


def _stage(wh: Backend, sql: str, params: dict[str, Any]) -> str:
    """The pass materialised once per connection (:meth:`Backend.staged
    <analytics.warehouse.Backend.staged>`), by name."""
    return wh.staged(sql, params)


# -- stored passes ------------------------------------------------------------------------------
# The importers keep the three passes of every paper in the warehouse (migration 005), so that a
# report run reads a few million stored rows instead of reducing tens of millions of responses.

#: Bumped whenever a pass's SQL changes what it stores: passes of another version are not read.
PASS_VERSION = 1
#: Stored table of each pass.
PASS_TABLES = {"ans": "item_pass_answers", "kel": "item_pass_kelley",
               "sorted": "item_pass_sorted"}


def _stored(kind: str, paper_id: int) -> str:
    """A relation reading one stored pass of a paper (spliced where a staged name goes)."""
    return (f"(SELECT * EXCLUDE (paper_id) FROM {PASS_TABLES[kind]} "
            f"WHERE paper_id = {int(paper_id)})")


def refresh_item_passes(wh: Backend, paper_ids: list[int]) -> None:
    """Rebuild the stored passes of these papers (the family's ``refresh``; its state is
    recorded by :mod:`analytics.reduce.derived`)."""
    for paper_id in map(int, paper_ids):
        prm: dict[str, Any] = {"paper_id": paper_id, "share": KELLEY_SHARE}
        for kind, sql in (("ans", class_answer_pass_sql()), ("kel", kelley_pass_sql()),
                          ("sorted", sorted_cross_sql())):
            table = PASS_TABLES[kind]
            wh.execute(f"DELETE FROM {table} WHERE paper_id = $paper_id",
                       {"paper_id": paper_id})
            wh.execute(f"INSERT INTO {table} BY NAME SELECT {paper_id} AS paper_id, * "
                       f"FROM ({sql})", params_for(sql, prm))


def drop_item_passes(wh: Backend, paper_ids: list[int]) -> None:
    """Remove the stored passes of these papers."""
    if paper_ids:
        for table in PASS_TABLES.values():
            wh.execute(f"DELETE FROM {table} WHERE list_contains($p, paper_id)",
                       {"p": [int(p) for p in paper_ids]})


#: The derived family of the stored passes: derived from the responses and the results (status,
#: total and the student's district, school and class), with Kelley's share; for every paper
#: with results.
ITEM_PASSES = declare(Family(
    name="item_passes",
    tables=tuple(PASS_TABLES.values()),
    components=("responses", "results"),
    papers_sql="SELECT DISTINCT paper_id FROM paper_results ORDER BY paper_id",
    refresh=lambda wh, papers: refresh_item_passes(wh, papers),
    drop=drop_item_passes,
    version=PASS_VERSION,
    extras=lambda wh, paper_id, component: [f"share:{KELLEY_SHARE!r}"],
))


def passes(wh: Backend, paper_id: int) -> dict[str, str]:
    """The passes of one paper, each a name or relation to splice after ``FROM``: ``ans``
    (:func:`class_answer_pass_sql`), ``cls`` (its sums per class × item,
    :func:`class_item_sql`) and ``kel`` (:func:`kelley_pass_sql`); the stored ones while
    current, else staged."""
    kel = (_stored("kel", paper_id) if is_current(wh, "item_passes", paper_id) else
           _stage(wh, kelley_pass_sql(), {"paper_id": paper_id, "share": KELLEY_SHARE}))
    return {"cls": cls_stage(wh, paper_id), "ans": ans_stage(wh, paper_id), "kel": kel}


def ans_stage(wh: Backend, paper_id: int) -> str:
    """The :func:`class_answer_pass_sql` of one paper (its name, or a relation reading the
    stored pass)."""
    if is_current(wh, "item_passes", paper_id):
        return _stored("ans", paper_id)
    return _stage(wh, class_answer_pass_sql(), {"paper_id": paper_id})


def cls_stage(wh: Backend, paper_id: int) -> str:
    """The staged :func:`class_item_sql` of one paper (its name); reads the answers pass."""
    return _stage(wh, class_item_sql(ans_stage(wh, paper_id)), {})


def sorted_cross(wh: Backend, paper_id: int) -> pd.DataFrame:
    """:func:`sorted_cross_sql`'s rows for one paper (uid, item_id, sxr_sorted), stored or
    computed."""
    if is_current(wh, "item_passes", paper_id):
        return wh.df_shared(f"SELECT uid, item_id, sxr_sorted FROM {PASS_TABLES['sorted']} "
                            "WHERE paper_id = $paper_id", {"paper_id": paper_id})
    return wh.df_shared(sorted_cross_sql(), {"paper_id": paper_id})


def class_item_sql(ans: str) -> str:
    """The staged pass ``ans`` (:func:`class_answer_pass_sql`, a trusted name) summed over
    the answers: per school × class × item, the same columns without ``answer`` (a quarter of
    the rows, for the roll-ups that do not need the answers)."""
    return f"""
        SELECT school_id, class_id, item_id, CAST(sum(n) AS BIGINT) AS n,
               CAST(sum(n_answered) AS BIGINT) AS n_answered, sum(sx) AS sx, sum(sxx) AS sxx,
               sum(sxt) AS sxt, sum(st) AS st, sum(stt) AS stt
        FROM {ans}
        GROUP BY school_id, class_id, item_id
    """


SCHOOL_TREE = """
        sch AS (
            SELECT sc.school_id, sc.name AS school_name, z.zone_id, z.name AS zone_name,
                   d.district_id, d.name AS district_name
            FROM schools sc LEFT JOIN zones z ON z.zone_id = sc.zone_id
            LEFT JOIN districts d ON d.district_id = z.district_id
        )"""


#: The levels a roll-up reaches, each with the column naming its unit (``all``: none).
ROLLUP_LEVELS: tuple[tuple[str, str], ...] = (
    ("class", "class_id"), ("school", "school_id"), ("zone", "zone_id"),
    ("district", "district_id"), ("all", "NULL"))


def level_rollup_sql(source: str, what: str, extra: str = "",
                     levels: tuple[tuple[str, str], ...] = ROLLUP_LEVELS) -> str:
    """``what`` (aggregates) of ``source`` per unit × item (× ``extra``, e.g. ``", answer"``)
    at each of ``levels``, stacked: ``level``, ``unit_id`` (NULL for ``all``), ``item_id``,
    the ``extra`` columns, ``what``. All arguments are trusted SQL."""
    return "\n        UNION ALL\n".join(
        f"        SELECT '{lv}' AS level, {col} AS unit_id, item_id{extra}, {what} "
        f"FROM {source} GROUP BY {'' if col == 'NULL' else col + ', '}item_id{extra}"
        for lv, col in levels)


def unit_item_rollup_sql(cls: str) -> str:
    """The per unit × item sums of every level (:func:`unit_item_pass`'s columns) rolled up
    from the staged class × item pass ``cls`` (a trusted name). Parameter: ``$full_score``."""
    sums = ", ".join("CAST(sum(n) AS BIGINT) AS n" if c == "n" else f"sum({c}) AS {c}"
                     for c in PASS_SUMS)
    return f"""
        WITH {SCHOOL_TREE},
        f AS (
            SELECT c.class_id, c.school_id, sch.zone_id, sch.district_id, c.item_id, c.n,
                   coalesce(c.sx, 0.0) / i.max_score AS sum_x,
                   coalesce(c.sxx, 0.0) / (i.max_score * i.max_score) AS sum_xx,
                   c.st / $full_score AS sum_p, c.stt / ($full_score * $full_score) AS sum_pp,
                   coalesce(c.sxt, 0.0) / (i.max_score * $full_score) AS sum_xp
            FROM {cls} c JOIN items i ON i.item_id = c.item_id
            LEFT JOIN sch ON sch.school_id = c.school_id
        )
{level_rollup_sql("f", sums)}
    """


def unit_item_pass(wh: Backend, paper_id: int, full_score: float) -> pd.DataFrame:
    """Per unit × item at every level (present students): ``level`` (``class``, ``school``,
    ``zone``, ``district`` per district id, or ``all``: every present student of the paper),
    ``unit_id`` (NULL for ``all`` and for students without a class at class level),
    ``item_id``, and n, Σx, Σx², Σp, Σp², Σxp (``sum_*``) of the item rate x = score /
    max_score (an omission counts 0) and the paper rate p = total / ``full_score``.

    Rolled up (:func:`unit_item_rollup_sql`) from the class × item pass
    (:func:`class_item_sql`) that the item statistics share; score rates per knowledge
    point (:func:`analytics.paper.category_rates`) and the hotspots' item sums
    (:mod:`analytics.hotspots`) read it.
    """
    return wh.df_shared(unit_item_rollup_sql(cls_stage(wh, paper_id)),
                        {"full_score": float(full_score)})
