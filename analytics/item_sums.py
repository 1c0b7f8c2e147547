"""Sufficient statistics of an item analysis, reduced in one SQL pass over the responses.

Every item statistic of :mod:`analytics.items`, :mod:`analytics.reliability` and
:mod:`analytics.paper` is a function of a few sums per unit × item, which DuckDB computes in
one scan of ``responses`` (one hash aggregation, rolled up on its small result):

* per unit × item: n, omissions, Σx, Σx², Σt, Σt², Σxt (x the item score with an omission
  counted as 0, t the student's total), the Kelley upper/lower group counts and Σx in each;
* per unit × item × chosen option letter: how many chose it, in the upper and lower groups,
  and Σt of those who chose it (a multiple-choice answer such as ``AC`` counts for A and C);
* per unit × item, optionally: Σ x₍ᵢ₎ r₍ᵢ₎, the cross product of the item scores and the rest
  scores (r = t − x) each sorted ascending — the largest covariance the two margins allow
  (Moodle's ``covariancemax``); computed from the distributions of x and r with a range join.

Kelley's groups (Kelley 1939): within each unit, students are ranked by total, highest first,
ties broken by ``student_key`` (ascending) so that the groups have exactly
g = floor(0.27 · n + 0.5) students each; the upper group is ranks 1..g, the lower group ranks
n − g + 1..n. Students tied at a cut fall on either side by key, not by merit; with many ties
(short papers) D therefore varies slightly with the tiebreak, never with the order of rows.

The total t is ``paper_results.total`` (= Σ coalesce(score, 0) by convention), only students
whose status is ``present`` count, and the unit of a student with no class at class level is
the unit ``-1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.levels import LEVEL_KEYS, check_level
from analytics.warehouse import Warehouse, shared_df

KELLEY_SHARE = 0.27


def unit_id_column(level: str) -> str:
    """The id column of a level (``district_id``, ``zone_id``, ``school_id``, ``class_id``)."""
    return LEVEL_KEYS[check_level(level)][-2]


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
    sorted_ctes = """
        xd AS (
            SELECT uid, item_id, x AS v, c,
                   sum(c) OVER (PARTITION BY uid, item_id ORDER BY x) - c AS lo
            FROM (SELECT uid, item_id, x, sum(n) AS c FROM fine GROUP BY ALL)
        ),
        rd AS (
            SELECT uid, item_id, r AS v, c,
                   sum(c) OVER (PARTITION BY uid, item_id ORDER BY r) - c AS lo
            FROM (SELECT uid, item_id, t - x AS r, sum(n) AS c FROM fine GROUP BY ALL)
        ),
        sc AS (
            SELECT xd.uid, xd.item_id,
                   sum(xd.v * rd.v * (least(xd.lo + xd.c, rd.lo + rd.c)
                                      - greatest(xd.lo, rd.lo))) AS sxr_sorted
            FROM xd JOIN rd ON xd.uid = rd.uid AND xd.item_id = rd.item_id
                            AND xd.lo < rd.lo + rd.c AND rd.lo < xd.lo + xd.c
            GROUP BY xd.uid, xd.item_id
        ),""" if sorted_cov else """
        sc AS (SELECT NULL::INTEGER AS uid, NULL::INTEGER AS item_id,
                      NULL::DOUBLE AS sxr_sorted WHERE false),"""
    return f"""
        WITH st AS (
            SELECT pr.student_key, pr.total AS t, coalesce(s.{uid}, -1) AS uid, {key_sel},
                   count(*) OVER (PARTITION BY coalesce(s.{uid}, -1)) AS n_unit,
                   row_number() OVER (PARTITION BY coalesce(s.{uid}, -1)
                                      ORDER BY pr.total DESC, pr.student_key) AS rk
            FROM paper_results pr JOIN student_tree s USING (student_key)
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
              AND ($school_id IS NULL OR s.school_id = $school_id)
        ),
        g AS (
            SELECT student_key, t, uid, rk, n_unit,
                   CAST(floor($share * n_unit + 0.5) AS BIGINT) AS n_group
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
        letters AS (
            SELECT uid, item_id, unnest(string_split(answer, '')) AS letter, n, n_up, n_lo, st
            FROM fine WHERE answer IS NOT NULL
        ),
        opts AS (
            SELECT uid, item_id, letter, sum(n) AS n, sum(n_up) AS n_up, sum(n_lo) AS n_lo,
                   sum(st) AS st
            FROM letters GROUP BY uid, item_id, letter
        )
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


def unit_item_pass_sql() -> str:
    """Per unit × item at every level in one scan of the responses (present students): n, Σx,
    Σx², Σp, Σp², Σxp of the item rate x = score / max_score (an omission counts 0) and the
    paper rate p = total / ``$full_score``.

    The responses are aggregated once per school × class × item (classes nest in schools,
    schools in zones; a student without a class keeps their school) and rolled up on that small
    result to the levels: ``level`` is ``class``, ``school``, ``zone``, ``district`` (per
    district id) or ``all`` (every present student of the paper), ``unit_id`` the level's id
    (NULL for ``all``). Parameters: ``$paper_id``, ``$full_score``. Score rates per knowledge
    point (:func:`analytics.paper.category_rates`) and the hotspots' item sums
    (:mod:`analytics.hotspots`) both read this one pass.
    """
    roll = ", ".join(f"sum({c}) AS {c}" for c in PASS_SUMS)
    return f"""
        WITH st AS (
            SELECT pr.student_key, s.district_id, s.zone_id, s.school_id, s.class_id,
                   pr.total / $full_score AS p
            FROM paper_results pr JOIN student_tree s ON s.student_key = pr.student_key
            WHERE pr.paper_id = $paper_id AND pr.status = 'present'
        ),
        fine AS (
            SELECT school_id, class_id, any_value(zone_id) AS zone_id,
                   any_value(district_id) AS district_id, item_id,
                   count(*) AS n, sum(x) AS sum_x, sum(x * x) AS sum_xx, sum(p) AS sum_p,
                   sum(p * p) AS sum_pp, sum(x * p) AS sum_xp
            FROM (
                SELECT st.school_id, st.class_id, st.zone_id, st.district_id, st.p, r.item_id,
                       coalesce(r.score, 0.0) / i.max_score AS x
                FROM responses r
                JOIN st ON st.student_key = r.student_key
                JOIN items i ON i.item_id = r.item_id
                WHERE r.paper_id = $paper_id
            ) AS rx
            GROUP BY school_id, class_id, item_id
        )
        SELECT 'class' AS level, class_id AS unit_id, item_id, {roll}
        FROM fine GROUP BY class_id, item_id
        UNION ALL
        SELECT 'school', school_id, item_id, {roll} FROM fine GROUP BY school_id, item_id
        UNION ALL
        SELECT 'zone', zone_id, item_id, {roll} FROM fine GROUP BY zone_id, item_id
        UNION ALL
        SELECT 'district', district_id, item_id, {roll} FROM fine GROUP BY district_id, item_id
        UNION ALL
        SELECT 'all', NULL, item_id, {roll} FROM fine GROUP BY item_id
    """


@dataclass(frozen=True)
class ItemSums:
    """The reduced sums: ``items`` (one row per unit × item) and ``options`` (unit × item ×
    letter).

    ``items`` columns: ``uid``, the level keys, ``n_unit``, ``st_unit``, ``stt_unit`` (the
    unit's present students, Σt, Σt²), ``item_id``, ``n``, ``n_omitted``, ``sx``, ``sxx``,
    ``st``, ``stt``, ``sxt``, ``n_up``, ``sx_up``, ``n_lo``, ``sx_lo``, ``sxr_sorted``.
    ``options`` columns: ``uid``, ``item_id``, ``letter``, ``n`` (chose it), ``n_up``,
    ``n_lo``, ``st`` (Σt of those who chose it). ``keys``: the level's key columns.
    ``answers`` columns: ``uid``, ``item_id``, ``answer`` (as given, e.g. ``AC``), ``n``.
    """

    items: pd.DataFrame
    options: pd.DataFrame
    keys: tuple[str, ...] = ()
    answers: pd.DataFrame | None = None


def item_sums(
    wh: Warehouse,
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
    prm = {"paper_id": paper_id, "school_id": school_id, "share": KELLEY_SHARE}
    # One pass serves every analysis of the same units (items, reliability, paper quality,
    # options): the pass with the sorted cross product holds all the other sums too.
    hit = getattr(wh, "shared_hit", None)
    raw = None if sorted_cov or hit is None else hit(item_sums_sql(level, True), prm)
    if raw is not None:
        raw["sxr_sorted"] = float("nan")
    else:
        raw = shared_df(wh, item_sums_sql(level, sorted_cov), prm)
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
