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

How they are computed: :func:`item_sums` takes one of three ways, chosen by one named rule,
:func:`item_sums_path` (tests/test_item_sums.py runs each and asserts they agree):

* ``stored`` — the whole population at district level (or at school level without the sorted
  cross product) while the paper's stored passes are current: rolled up
  (:func:`item_sums_rollup_sql`) from the passes the importers keep
  (:mod:`analytics.reduce.item_passes`);
* ``staged`` — the same population and levels when the stored passes are not current (or not
  allowed): rolled up from the same passes, staged once per connection;
* ``statement`` — any other unit (zone, class, the whole paper), one school's own population,
  or school level with the sorted cross product (the sorted pass is per district):
  :func:`item_sums_sql` computes every sum directly in one statement.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.reduce.derived import is_current
from analytics.reduce.item_passes import SCHOOL_TREE, passes, sorted_cross, sorted_ctes

# KELLEY_SHARE and ItemSums are re-exported (tests, benchmarks and the analyses import them here)
from analytics.stats.items import KELLEY_SHARE as KELLEY_SHARE
from analytics.stats.items import kelley_rank_sql, kelley_size_sql
from analytics.stats.sums import ItemSums as ItemSums
from analytics.warehouse import Backend

#: :func:`item_sums`'s unit for the paper's whole population (one unit, ``uid`` 0, no keys):
#: Kelley's groups of the whole paper, as the question archive records an administration.
#: Not a reporting level (the analyses take :data:`analytics.domain.levels.LEVELS`).
PAPER = "paper"


def unit_id_column(level: str) -> str:
    """The id column of a level (``district_id``, ``zone_id``, ``school_id``, ``class_id``)."""
    return LEVEL_KEYS[check_level(level)][-2]


def _unit_keys(level: str) -> tuple[str, ...]:
    """The key columns of :func:`item_sums`' units: a level's, none for :data:`PAPER`."""
    return () if level == PAPER else LEVEL_KEYS[check_level(level)]


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


def item_sums_sql(level: str, sorted_cov: bool = True) -> str:
    """One statement: item rows (``kind = 'item'``), option rows (``kind = 'option'``, one per
    letter) and answer rows (``kind = 'answer'``, one per answer as given, e.g. ``AC``).

    The responses are aggregated once, by unit × item × answer × score (and × total when
    ``sorted_cov``); since the score is constant within a group, Σx, Σx², Σxt and the group sums
    follow as x·count, x²·count, x·Σt, and every roll-up (per unit × item, per option letter, the
    distributions of x and of the rest score) runs on that small result.

    ``level`` (a reporting level or :data:`PAPER`) selects trusted identifiers only.
    Parameters: ``$paper_id``, ``$school_id`` (NULL = all), ``$share`` (Kelley's 0.27).
    """
    keys = _unit_keys(level)
    unit = "0" if level == PAPER else f"coalesce(s.{unit_id_column(level)}, -1)"
    # each key list starts with ", " so that the paper's (empty) list leaves no gap
    key_sel = "".join(f", s.{k}" for k in keys)
    key_any = "".join(f", any_value({k}) AS {k}" for k in keys)
    key_out = "".join(f", u.{k}" for k in keys)
    key_nulls = "".join(f", NULL AS {k}" for k in keys)
    # fine groups: with the total t among the keys when the sorted cross product is wanted
    fine_keys = "uid, item_id, answer, x" + (", t" if sorted_cov else "")
    fine_t = ("t * count(*) AS st, t * t * count(*) AS stt" if sorted_cov
              else "sum(t) AS st, sum(t * t) AS stt")
    sorted_part = f"""
        {sorted_ctes()},""" if sorted_cov else """
        sc AS (SELECT NULL::INTEGER AS uid, NULL::INTEGER AS item_id,
                      NULL::DOUBLE AS sxr_sorted WHERE false),"""
    return f"""
        WITH st AS (
            SELECT pr.student_key, pr.total AS t, {unit} AS uid{key_sel},
                   count(*) OVER (PARTITION BY {unit}) AS n_unit,
                   {kelley_rank_sql(unit)} AS rk
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
            SELECT uid{key_any}, count(*) AS n_unit, sum(t) AS st_unit,
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
        ),{sorted_part}
        {_option_ctes('fine WHERE answer IS NOT NULL')}
        SELECT 'item' AS kind, a.uid{key_out}, u.n_unit, u.st_unit, u.stt_unit,
               a.item_id, NULL::VARCHAR AS letter,
               a.n, a.n_omitted, a.sx, a.sxx, a.st, a.stt, a.sxt,
               a.n_up, a.sx_up, a.n_lo, a.sx_lo, sc.sxr_sorted
        FROM agg a JOIN units u ON a.uid = u.uid
        LEFT JOIN sc ON sc.uid = a.uid AND sc.item_id = a.item_id
        UNION ALL
        SELECT 'option', o.uid{key_nulls}, NULL, NULL, NULL,
               o.item_id, o.letter, o.n, NULL, NULL, NULL, o.st, NULL, NULL,
               o.n_up, NULL, o.n_lo, NULL, NULL
        FROM opts o
        UNION ALL
        SELECT 'answer', f.uid{key_nulls}, NULL, NULL, NULL,
               f.item_id, f.answer, sum(f.n), NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL
        FROM fine f WHERE f.answer IS NOT NULL
        GROUP BY f.uid, f.item_id, f.answer
    """


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


#: The three ways :func:`item_sums` reduces (see the module notes).
ItemSumsPath = Literal["stored", "staged", "statement"]


def item_sums_path(wh: Backend, paper_id: int, level: str, school_id: int | None,
                   sorted_cov: bool) -> ItemSumsPath:
    """Which way :func:`item_sums` reduces for these arguments.

    The shared per-paper passes hold the whole population's sums per school × class (so
    district and school units roll up from them) and the sorted cross product per district
    only. Hence: one school's own population (``school_id``), zone or class units, or school
    units with ``sorted_cov`` → ``statement`` (:func:`item_sums_sql`); otherwise ``stored``
    when ``is_current(wh, "item_passes", paper_id)``, else ``staged``.
    """
    _unit_keys(level)
    rolls_up = school_id is None and (level == "district"
                                      or (level == "school" and not sorted_cov))
    if not rolls_up:
        return "statement"
    return "stored" if is_current(wh, "item_passes", paper_id) else "staged"


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
    level : {'district', 'zone', 'school', 'class', 'paper'}
        Units; Kelley's groups are formed within each unit (``'paper'``, :data:`PAPER`: the
        whole population as one unit).
    school_id : int, optional
        Restrict the population to one school.
    sorted_cov : bool
        Also compute Σ x₍ᵢ₎ r₍ᵢ₎ for Moodle's discriminative efficiency (an extra grouping set
        per unit × item × distinct value; costly at class level on very large data).
    """
    keys = list(_unit_keys(level))
    if item_sums_path(wh, paper_id, level, school_id, sorted_cov) != "statement":
        # stored or staged: passes() reads the stored passes while current, else stages them
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
    ps = passes(wh, paper_id)
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
