"""Sufficient statistics of an item analysis, reduced by SQL passes over the responses.

Every item statistic of :mod:`analytics.items`, :mod:`analytics.reliability` and
:mod:`analytics.paper` is a function of a few sums per unit × item:

* per unit × item: n, omissions, Σx, Σx², Σt, Σt², Σxt (x the item score with an omission
  counted as 0, t the student's total), the Kelley upper/lower group counts and Σx in each;
* per unit × item × chosen option letter: how many chose it, in the upper and lower groups,
  and Σt of those who chose it (a multiple-choice answer such as ``AC`` counts for A and C);
* per unit × item, optionally: Σ x₍ᵢ₎ r₍ᵢ₎, the cross product of the item scores and the rest
  scores (r = t − x) each sorted ascending — the largest covariance the two margins allow
  (Moodle's ``covariancemax``); computed from the distributions of x and r with a range join.

Kelley's groups (Kelley 1939; defined once, :func:`analytics.stats.items.kelley_size_sql`):
within each unit, students are ranked by total, highest first, ties broken by ``student_key``
(ascending) so that the groups have exactly g = floor(0.27 · n + 0.5) students each; the
upper group is ranks 1..g, the lower group ranks n − g + 1..n. Students tied at a cut fall on
either side by key, not by merit; with many ties (short papers) D therefore varies slightly
with the tiebreak, never with the order of rows.

The total t is ``paper_results.total`` (= Σ coalesce(score, 0) by convention), only students
whose status is ``present`` count, and the unit of a student with no class at class level is
the unit ``-1``.

How they are computed. For the whole population at district and school level (what a report
run needs), three passes over the responses per paper are staged once per connection
(:meth:`Backend.staged <analytics.warehouse.Backend.staged>`) and every level is rolled up
from them in SQL: :func:`class_answer_pass_sql` (per school × class × item × answer: n and the
sums, also read per class × item through :func:`class_item_sql`), :func:`kelley_pass_sql`
(students in the upper or lower group of their school or district, per answer) and, for the
district's sorted cross product, :func:`sorted_cross_sql`. The knowledge-point rates and the
hotspots read the same staged passes (:func:`unit_item_pass`). For other units (zone, class)
or one school's own population, :func:`item_sums_sql` computes every sum directly in one
statement; tests/test_item_sums.py asserts the two ways agree.

The importers also store the three passes of every paper (tables ``item_pass_*``, migration
005; :func:`refresh_item_passes`, :func:`keep_item_passes_current`), as they store the totals:
then a report run reads them instead of reducing the responses. They are read only while the
paper's responses and results still give the fingerprint recorded with them
(:func:`stored_passes_current`), so a change made behind the importers' back is not missed
(barring a 64-bit hash collision) — the passes are then computed as above;
tests/test_item_passes.py asserts every report is the same either way.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, check_level

# KELLEY_SHARE and ItemSums are re-exported (tests, benchmarks and the analyses import them here)
from analytics.stats.items import KELLEY_SHARE as KELLEY_SHARE
from analytics.stats.items import kelley_rank_sql, kelley_size_sql
from analytics.stats.sums import ItemSums as ItemSums
from analytics.warehouse import Backend


def unit_id_column(level: str) -> str:
    """The id column of a level (``district_id``, ``zone_id``, ``school_id``, ``class_id``)."""
    return LEVEL_KEYS[check_level(level)][-2]


def _option_ctes(source: str) -> str:
    """``letters`` and ``opts``: the rows of ``source`` (uid, item_id, answer, n, n_up, n_lo,
    st; trusted SQL) split into option letters (``AC`` counts for A and C) and summed per
    unit × item × letter."""
    return f"""letters AS (
            SELECT uid, item_id, unnest(string_split(answer, '')) AS letter, n, n_up, n_lo, st
            FROM {source}
        ),
        opts AS (
            SELECT uid, item_id, letter, CAST(sum(n) AS BIGINT) AS n,
                   CAST(sum(n_up) AS BIGINT) AS n_up, CAST(sum(n_lo) AS BIGINT) AS n_lo,
                   sum(st) AS st
            FROM letters GROUP BY uid, item_id, letter
        )"""


def _sorted_ctes() -> str:
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


def item_sums_sql(level: str, sorted_cov: bool = True) -> str:
    """One statement: item rows (``kind = 'item'``), option rows (``kind = 'option'``, one per
    letter) and answer rows (``kind = 'answer'``, one per answer as given, e.g. ``AC``).

    The responses are aggregated once, by unit × item × answer × score (and × total when
    ``sorted_cov``); since the score is constant within a group, Σx, Σx², Σxt and the group sums
    follow as x·count, x²·count, x·Σt, and every roll-up (per unit × item, per option letter, the
    distributions of x and of the rest score) runs on that small result.

    ``level`` selects trusted identifiers only. Parameters: ``$paper_id``, ``$school_id``
    (NULL = all), ``$share`` (Kelley's 0.27).
    """
    keys = LEVEL_KEYS[check_level(level)]
    uid = unit_id_column(level)
    key_sel = ", ".join(f"s.{k}" for k in keys)
    key_any = ", ".join(f"any_value({k}) AS {k}" for k in keys)
    key_out = ", ".join(f"u.{k}" for k in keys)
    # fine groups: with the total t among the keys when the sorted cross product is wanted
    fine_keys = "uid, item_id, answer, x" + (", t" if sorted_cov else "")
    fine_t = ("t * count(*) AS st, t * t * count(*) AS stt" if sorted_cov
              else "sum(t) AS st, sum(t * t) AS stt")
    sorted_ctes = f"""
        {_sorted_ctes()},""" if sorted_cov else """
        sc AS (SELECT NULL::INTEGER AS uid, NULL::INTEGER AS item_id,
                      NULL::DOUBLE AS sxr_sorted WHERE false),"""
    return f"""
        WITH st AS (
            SELECT pr.student_key, pr.total AS t, coalesce(s.{uid}, -1) AS uid, {key_sel},
                   count(*) OVER (PARTITION BY coalesce(s.{uid}, -1)) AS n_unit,
                   {kelley_rank_sql(f"coalesce(s.{uid}, -1)")} AS rk
            FROM paper_results pr JOIN student_tree s USING (student_key)
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
              AND ($school_id IS NULL OR s.school_id = $school_id)
        ),
        g AS (
            SELECT student_key, t, uid, rk, n_unit,
                   {kelley_size_sql("n_unit")} AS n_group
            FROM st
        ),
        units AS (
            SELECT uid, {key_any}, count(*) AS n_unit, sum(t) AS st_unit,
                   sum(t * t) AS stt_unit
            FROM st GROUP BY uid
        ),
        fine AS (
            SELECT {fine_keys},
                   count(*) AS n, count(*) FILTER (WHERE omitted) AS n_omitted, {fine_t},
                   count(*) FILTER (WHERE up) AS n_up, count(*) FILTER (WHERE lo) AS n_lo
            FROM (
                SELECT g.uid, r.item_id, r.answer, coalesce(r.score, 0.0) AS x,
                       r.score IS NULL AS omitted, g.t,
                       g.rk <= g.n_group AS up, g.rk > g.n_unit - g.n_group AS lo
                FROM responses r JOIN g ON g.student_key = r.student_key
                WHERE r.paper_id = $paper_id
            )
            GROUP BY {fine_keys}
        ),
        agg AS (
            SELECT uid, item_id, sum(n) AS n, sum(n_omitted) AS n_omitted,
                   sum(x * n) AS sx, sum(x * x * n) AS sxx, sum(st) AS st, sum(stt) AS stt,
                   sum(x * st) AS sxt, sum(n_up) AS n_up, sum(x * n_up) AS sx_up,
                   sum(n_lo) AS n_lo, sum(x * n_lo) AS sx_lo
            FROM fine GROUP BY uid, item_id
        ),{sorted_ctes}
        {_option_ctes('fine WHERE answer IS NOT NULL')}
        SELECT 'item' AS kind, a.uid, {key_out}, u.n_unit, u.st_unit, u.stt_unit,
               a.item_id, NULL::VARCHAR AS letter,
               a.n, a.n_omitted, a.sx, a.sxx, a.st, a.stt, a.sxt,
               a.n_up, a.sx_up, a.n_lo, a.sx_lo, sc.sxr_sorted
        FROM agg a JOIN units u ON a.uid = u.uid
        LEFT JOIN sc ON sc.uid = a.uid AND sc.item_id = a.item_id
        UNION ALL
        SELECT 'option', o.uid, {", ".join(f"NULL AS {k}" for k in keys)}, NULL, NULL, NULL,
               o.item_id, o.letter, o.n, NULL, NULL, NULL, o.st, NULL, NULL,
               o.n_up, NULL, o.n_lo, NULL, NULL
        FROM opts o
        UNION ALL
        SELECT 'answer', f.uid, {", ".join(f"NULL AS {k}" for k in keys)}, NULL, NULL, NULL,
               f.item_id, f.answer, sum(f.n), NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL
        FROM fine f WHERE f.answer IS NOT NULL
        GROUP BY f.uid, f.item_id, f.answer
    """


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
        {_sorted_ctes()}
        SELECT uid, item_id, sxr_sorted FROM sc
    """


def _stage(wh: Backend, sql: str, params: dict[str, Any]) -> str:
    """The pass materialised once per connection (:meth:`Backend.staged
    <analytics.warehouse.Backend.staged>`), by name."""
    return wh.staged(sql, params)


# -- stored passes ------------------------------------------------------------------------------
# The importers keep the three passes of every paper in the warehouse (migration 005), so that a
# report run reads a few million stored rows instead of reducing tens of millions of responses.
# They are read only while the paper's responses and results give the fingerprint recorded when
# they were written (:func:`pass_fingerprint_sql`), with the same Kelley share and pass version;
# anything else (responses changed behind the importers' back, a warehouse from before the
# migration, the Spark backend, ``Warehouse(stored_passes=False)``) reduces the responses as
# above. tests/test_item_passes.py asserts both ways give the same results.

#: Bumped whenever a pass's SQL changes what it stores: passes of another version are not read.
PASS_VERSION = 1
#: Stored table of each pass.
PASS_TABLES = {"ans": "item_pass_answers", "kel": "item_pass_kelley",
               "sorted": "item_pass_sorted"}


def pass_fingerprint_sql() -> str:
    """What the stored passes of ``$paper_id`` depend on, summarised: the number of response
    rows and the XOR of their hashes (student, item, score, answer), and the same for the
    paper's results joined to the students' district, school and class (status, total). Any
    change of a score, an answer, a total, a status or a student's class gives another value
    (barring a 64-bit hash collision)."""
    return """
        SELECT r.n_responses, r.h_responses, p.n_results, p.h_results
        FROM (SELECT count(*) AS n_responses,
                     bit_xor(hash(student_key, item_id, score, answer)) AS h_responses
              FROM responses WHERE paper_id = $paper_id) r,
             (SELECT count(*) AS n_results,
                     bit_xor(hash(pr.student_key, pr.status, pr.total, s.district_id,
                                  s.school_id, s.class_id)) AS h_results
              FROM paper_results pr LEFT JOIN student_tree s ON s.student_key = pr.student_key
              WHERE pr.paper_id = $paper_id) p
    """


def pass_state_sql() -> str:
    """The recorded fingerprint, share and version of ``$paper_id``'s stored passes."""
    return """
        SELECT version, share, n_responses, h_responses, n_results, h_results
        FROM item_pass_state WHERE paper_id = $paper_id
    """


def _has_pass_tables(wh: Backend) -> bool:
    n = wh.df_shared("SELECT count(*) AS n FROM information_schema.tables "
                     "WHERE table_name = 'item_pass_state' AND table_catalog <> 'temp'")
    return int(n["n"].iloc[0]) == 1


def _fingerprint_matches(wh: Backend, paper_id: int) -> bool:
    state = wh.df_shared(pass_state_sql(), {"paper_id": paper_id})
    if len(state) != 1:
        return False
    now = wh.df_shared(pass_fingerprint_sql(), {"paper_id": paper_id}).iloc[0]
    st = state.iloc[0]
    same = [int(st["version"]) == PASS_VERSION, float(st["share"]) == KELLEY_SHARE]
    same += [(pd.isna(st[c]) and pd.isna(now[c])) or
             (not pd.isna(st[c]) and not pd.isna(now[c]) and int(st[c]) == int(now[c]))
             for c in ("n_responses", "h_responses", "n_results", "h_results")]
    return all(same)


def stored_passes_current(wh: Backend, paper_id: int) -> bool:
    """Whether the analyses may read ``paper_id``'s stored passes: the warehouse allows it
    (``stored_passes``; DuckDB only), has the tables, and the paper's responses and results
    still match the recorded fingerprint, Kelley share and :data:`PASS_VERSION`."""
    if not wh.stored_passes or not _has_pass_tables(wh):
        return False
    return _fingerprint_matches(wh, paper_id)


def _stored(kind: str, paper_id: int) -> str:
    """A relation reading one stored pass of a paper (spliced where a staged name goes)."""
    return (f"(SELECT * EXCLUDE (paper_id) FROM {PASS_TABLES[kind]} "
            f"WHERE paper_id = {int(paper_id)})")


def refresh_item_passes(wh: Backend, paper_id: int) -> None:
    """Rebuild the stored passes of one paper and record their fingerprint (call inside the
    writer's transaction)."""
    prm: dict[str, Any] = {"paper_id": paper_id, "share": KELLEY_SHARE}
    for kind, sql in (("ans", class_answer_pass_sql()), ("kel", kelley_pass_sql()),
                      ("sorted", sorted_cross_sql())):
        table = PASS_TABLES[kind]
        wh.execute(f"DELETE FROM {table} WHERE paper_id = $paper_id", {"paper_id": paper_id})
        used = {k: v for k, v in prm.items() if f"${k}" in sql}
        wh.execute(f"INSERT INTO {table} BY NAME SELECT {int(paper_id)} AS paper_id, * "
                   f"FROM ({sql})",
                   used)
    wh.execute("DELETE FROM item_pass_state WHERE paper_id = $paper_id", {"paper_id": paper_id})
    wh.execute(f"""
        INSERT INTO item_pass_state (paper_id, version, share, n_responses, h_responses,
                                     n_results, h_results)
        SELECT $paper_id, $version, $share, f.* FROM ({pass_fingerprint_sql()}) f
    """, {"paper_id": paper_id, "version": PASS_VERSION, "share": KELLEY_SHARE})


def keep_item_passes_current(wh: Backend) -> list[int]:
    """Rebuild the stored passes of every paper with results whose passes are missing or no
    longer match its responses and results (after an import of scores, of a specification
    table that rescored, or of a roster that moved students); drop those of papers without
    results. Returns the paper ids rebuilt."""
    if not _has_pass_tables(wh):
        return []
    for table in (*PASS_TABLES.values(), "item_pass_state"):
        wh.execute(f"DELETE FROM {table} WHERE paper_id NOT IN "
                   f"(SELECT DISTINCT paper_id FROM paper_results)")
    papers = wh.df("SELECT DISTINCT paper_id FROM paper_results ORDER BY paper_id")
    rebuilt = []
    for pid in papers["paper_id"].astype(int):
        if not _fingerprint_matches(wh, pid):
            refresh_item_passes(wh, pid)
            rebuilt.append(pid)
    return rebuilt


def _passes(wh: Backend, paper_id: int) -> dict[str, str]:
    """The passes of one paper, each a name or relation to splice after ``FROM``: ``ans``
    (:func:`class_answer_pass_sql`), ``cls`` (its sums per class × item,
    :func:`class_item_sql`) and ``kel`` (:func:`kelley_pass_sql`); the stored ones while
    current, else staged."""
    kel = (_stored("kel", paper_id) if stored_passes_current(wh, paper_id) else
           _stage(wh, kelley_pass_sql(), {"paper_id": paper_id, "share": KELLEY_SHARE}))
    return {"cls": cls_stage(wh, paper_id), "ans": ans_stage(wh, paper_id), "kel": kel}


def ans_stage(wh: Backend, paper_id: int) -> str:
    """The :func:`class_answer_pass_sql` of one paper (its name, or a relation reading the
    stored pass)."""
    if stored_passes_current(wh, paper_id):
        return _stored("ans", paper_id)
    return _stage(wh, class_answer_pass_sql(), {"paper_id": paper_id})


def cls_stage(wh: Backend, paper_id: int) -> str:
    """The staged :func:`class_item_sql` of one paper (its name); reads the answers pass."""
    return _stage(wh, class_item_sql(ans_stage(wh, paper_id)), {})


def sorted_cross(wh: Backend, paper_id: int) -> pd.DataFrame:
    """:func:`sorted_cross_sql`'s rows for one paper (uid, item_id, sxr_sorted), stored or
    computed."""
    if stored_passes_current(wh, paper_id):
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
        SELECT 'class' AS level, class_id AS unit_id, item_id, {sums}
        FROM f GROUP BY class_id, item_id
        UNION ALL
        SELECT 'school', school_id, item_id, {sums} FROM f GROUP BY school_id, item_id
        UNION ALL
        SELECT 'zone', zone_id, item_id, {sums} FROM f GROUP BY zone_id, item_id
        UNION ALL
        SELECT 'district', district_id, item_id, {sums} FROM f GROUP BY district_id, item_id
        UNION ALL
        SELECT 'all', NULL, item_id, {sums} FROM f GROUP BY item_id
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


def item_sums_rollup_sql(level: str, cls: str, kel: str, ans: str) -> str:
    """:func:`item_sums_sql`'s item and option rows (without ``sxr_sorted``; the answers as
    given are not repeated, the hotspots read them from the pass) for the whole population
    at ``level`` district or school, rolled up from the staged passes ``cls``
    (:func:`class_item_sql`), ``ans`` (:func:`class_answer_pass_sql`) and ``kel``
    (:func:`kelley_pass_sql`); trusted names.
    Parameter: ``$paper_id``."""
    keys = LEVEL_KEYS[level]
    if level == "district":
        uid, g = "coalesce(sch.district_id, -1)", "gd"
    elif level == "school":
        uid, g = "sch.school_id", "gs"
    else:
        raise ValueError(level)
    key_any = ", ".join(f"any_value(sch.{k}) AS {k}" for k in keys)
    key_out = ", ".join(f"u.{k}" for k in keys)
    nulls = ", ".join(f"NULL AS {k}" for k in keys)
    return f"""
        WITH {SCHOOL_TREE},
        units AS (
            SELECT {uid} AS uid, {key_any}, count(*) AS n_unit, sum(pr.total) AS st_unit,
                   sum(pr.total * pr.total) AS stt_unit
            FROM paper_results pr JOIN students s ON s.student_key = pr.student_key
            JOIN sch ON sch.school_id = s.school_id
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
            GROUP BY {uid}
        ),
        agg AS (
            SELECT {uid} AS uid, c.item_id, CAST(sum(c.n) AS BIGINT) AS n,
                   CAST(sum(c.n) - sum(c.n_answered) AS BIGINT) AS n_omitted,
                   coalesce(sum(c.sx), 0.0) AS sx,
                   coalesce(sum(c.sxx), 0.0) AS sxx, sum(c.st) AS st, sum(c.stt) AS stt,
                   coalesce(sum(c.sxt), 0.0) AS sxt
            FROM {cls} c JOIN sch ON sch.school_id = c.school_id
            GROUP BY {uid}, c.item_id
        ),
        k AS (
            SELECT {uid} AS uid, k.item_id, k.answer, k.{g} AS g, k.n, k.sx
            FROM {kel} k JOIN sch ON sch.school_id = k.school_id
            WHERE k.{g} <> 0
        ),
        kg AS (
            SELECT uid, item_id,
                   CAST(sum(CASE WHEN g = 1 THEN n ELSE 0 END) AS BIGINT) AS n_up,
                   sum(CASE WHEN g = 1 THEN sx ELSE 0.0 END) AS sx_up,
                   CAST(sum(CASE WHEN g = -1 THEN n ELSE 0 END) AS BIGINT) AS n_lo,
                   sum(CASE WHEN g = -1 THEN sx ELSE 0.0 END) AS sx_lo
            FROM k GROUP BY uid, item_id
        ),
        given AS (
            SELECT {uid} AS uid, a.item_id, a.answer, CAST(sum(a.n) AS BIGINT) AS n,
                   sum(a.st) AS st
            FROM {ans} a JOIN sch ON sch.school_id = a.school_id
            WHERE a.answer IS NOT NULL
            GROUP BY {uid}, a.item_id, a.answer
        ),
        kgiven AS (
            SELECT uid, item_id, answer,
                   CAST(sum(CASE WHEN g = 1 THEN n ELSE 0 END) AS BIGINT) AS n_up,
                   CAST(sum(CASE WHEN g = -1 THEN n ELSE 0 END) AS BIGINT) AS n_lo
            FROM k WHERE answer IS NOT NULL
            GROUP BY uid, item_id, answer
        ),
        both_ AS (
            SELECT gv.uid, gv.item_id, gv.answer, gv.n, gv.st, coalesce(kv.n_up, 0) AS n_up,
                   coalesce(kv.n_lo, 0) AS n_lo
            FROM given gv LEFT JOIN kgiven kv
              ON kv.uid = gv.uid AND kv.item_id = gv.item_id AND kv.answer = gv.answer
        ),
        {_option_ctes('both_')}
        SELECT 'item' AS kind, a.uid, {key_out}, u.n_unit, u.st_unit, u.stt_unit,
               a.item_id, NULL::VARCHAR AS letter,
               a.n, a.n_omitted, a.sx, a.sxx, a.st, a.stt, a.sxt,
               coalesce(kg.n_up, 0) AS n_up, coalesce(kg.sx_up, 0.0) AS sx_up,
               coalesce(kg.n_lo, 0) AS n_lo, coalesce(kg.sx_lo, 0.0) AS sx_lo,
               NULL::DOUBLE AS sxr_sorted
        FROM agg a JOIN units u ON a.uid = u.uid
        LEFT JOIN kg ON kg.uid = a.uid AND kg.item_id = a.item_id
        UNION ALL
        SELECT 'option', o.uid, {nulls}, NULL, NULL, NULL, o.item_id, o.letter, o.n, NULL, NULL,
               NULL, o.st, NULL, NULL, o.n_up, NULL, o.n_lo, NULL, NULL
        FROM opts o
    """


def item_sums(
    wh: Backend,
    *,
    paper_id: int,
    level: str = "district",
    school_id: int | None = None,
    sorted_cov: bool = True,
) -> ItemSums:
    """Run :func:`item_sums_sql` for one paper and split its two kinds of rows.

    Parameters
    ----------
    paper_id : int
    level : {'district', 'zone', 'school', 'class'}
        Units; Kelley's groups are formed within each unit.
    school_id : int, optional
        Restrict the population to one school.
    sorted_cov : bool
        Also compute Σ x₍ᵢ₎ r₍ᵢ₎ for Moodle's discriminative efficiency (an extra grouping set
        per unit × item × distinct value; costly at class level on very large data).
    """
    keys = list(LEVEL_KEYS[check_level(level)])
    if school_id is None and (level == "district" or (level == "school" and not sorted_cov)):
        return _item_sums_from_passes(wh, paper_id, level, sorted_cov)
    prm = {"paper_id": paper_id, "school_id": school_id, "share": KELLEY_SHARE}
    # One pass serves every analysis of the same units (items, reliability, paper quality,
    # options): the pass with the sorted cross product holds all the other sums too.
    raw = None if sorted_cov else wh.shared_hit(item_sums_sql(level, True), prm)
    if raw is not None:
        raw["sxr_sorted"] = float("nan")
    else:
        raw = wh.df_shared(item_sums_sql(level, sorted_cov), prm)
    return split_item_sums(raw, keys)


def split_item_sums(raw: pd.DataFrame, keys: list[str]) -> ItemSums:
    """:func:`item_sums_sql`'s rows split into an :class:`ItemSums` (``keys``: the level's key
    columns)."""
    is_item = raw["kind"] == "item"
    is_option = raw["kind"] == "option"
    is_answer = raw["kind"] == "answer"
    items = (raw[is_item].drop(columns=["kind", "letter"])
             .sort_values(["uid", "item_id"]).reset_index(drop=True))
    options = (raw.loc[is_option, ["uid", "item_id", "letter", "n", "n_up", "n_lo", "st"]]
               .sort_values(["uid", "item_id", "letter"]).reset_index(drop=True))
    answers = (raw.loc[is_answer, ["uid", "item_id", "letter", "n"]]
               .rename(columns={"letter": "answer"}).astype({"n": "int64"})
               .reset_index(drop=True))
    for c in ("n", "n_up", "n_lo"):
        options[c] = options[c].astype("int64")
    for c in ("n_unit", "n", "n_omitted", "n_up", "n_lo"):
        items[c] = items[c].astype("int64")
    items = items[["uid", *keys] + [c for c in items.columns if c not in keys and c != "uid"]]
    return ItemSums(items=items, options=options, keys=tuple(keys), answers=answers)


def _item_sums_from_passes(wh: Backend, paper_id: int, level: str,
                           sorted_cov: bool) -> ItemSums:
    """:func:`item_sums` of the whole population at district or school level, rolled up from
    the shared passes (:func:`item_sums_rollup_sql`) instead of a pass of its own, plus
    :func:`sorted_cross_sql` for the district when ``sorted_cov``; the same sums as
    :func:`item_sums_sql` (asserted in tests/test_item_sums.py)."""
    ps = _passes(wh, paper_id)
    raw = wh.df_shared(item_sums_rollup_sql(level, ps["cls"], ps["kel"], ps["ans"]),
                       {"paper_id": paper_id})
    sums = split_item_sums(raw, list(LEVEL_KEYS[level]))
    if sorted_cov:
        sc = sorted_cross(wh, paper_id)
        items = sums.items.drop(columns="sxr_sorted").merge(sc, on=["uid", "item_id"],
                                                             how="left")
        sums = ItemSums(items=items, options=sums.options, keys=sums.keys,
                        answers=sums.answers)
    return sums
