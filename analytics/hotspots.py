"""Error hotspots (主要出错点): where a school or class falls credibly below the district.

Three public functions, each returning a tidy frame:

* :func:`error_hotspots` — every unit (zone, school or class) × item (or knowledge point) with
  the unit's score rate, the district's, the gap, a test of the gap, Benjamini–Hochberg q-values
  across all the unit × item comparisons, an empirical-Bayes shrunken gap, a flag, and the
  most-chosen wrong option.
* :func:`district_weak_points` — the district's items or knowledge points with the lowest rates.
* :func:`knowledge_matrix` — unit × knowledge point score rates in long format (a heatmap's
  input).

SQL reduces the responses to per unit × item (or knowledge point) counts, sums and sums of
squares of the per-student score rate ``x = score / max_score`` (unanswered = 0, as in totals),
one scan with ``GROUPING SETS`` giving the district row too; numpy/scipy infer on that small
frame.

The test (why small schools do not dominate)
--------------------------------------------
For unit u with n_u students and mean rate m_u, the rest of the district (n_r = N − n_u,
mean m_r) is the comparison group, so the unit is not compared with a mean that contains it.
Under H0 (the unit's students score like the rest) both groups share one variance, estimated by
the district's variance s² of x (ddof = 1), and

    z = (m_u − m_r) / (s · √(1/n_u + 1/n_r)),   p = 2 · (1 − Φ(|z|)).

For 0/1 items this is the classical pooled two-proportion z-test (Fleiss, Levin & Paik 2003,
*Statistical Methods for Rates and Proportions*, 3rd ed., ch. 2); for polytomous items and
knowledge-point rates it is the large-sample two-sample z-test with a common variance. Using the
pooled null variance, not the unit's own, keeps a tiny unit whose few students all failed from
getting a near-zero standard error. A small unit thus needs a much larger gap to reach the same
p-value; with the false-discovery-rate control below, large but noisy gaps are not flagged.

Relative weakness (``relative=True``, 相对薄弱): the same test on y = x − p, a student's item
(or knowledge-point) rate minus their own paper rate p = total / full score, so that a strong
school's weak point is found and a school weak everywhere is not flagged everywhere; the gap is
then (unit rate − district rate) − (unit paper rate − district paper rate).

Multiplicity: the p-values of all unit × item (or unit × knowledge point) comparisons of the
call are adjusted together with the Benjamini–Hochberg step-up procedure (Benjamini & Hochberg
1995, *J. R. Stat. Soc. B* 57:289–300): q_(i) = min_{j ≥ i} m · p_(j) / j, capped at 1.
A row is flagged when ``q_value ≤ fdr`` **and** ``gap ≤ −min_gap`` (credible and large).

The reported ``gap`` is against the whole district, m_u − m_d = (n_r/N)(m_u − m_r); its 95 %
interval ``ci_low``/``ci_high`` is gap ± 1.96 · (n_r/N) · s · √(1/n_u + 1/n_r).

``gap_shrunk`` is an empirical-Bayes (normal–normal) posterior mean of the gap for ranking:
per item, the unit effects d_u = m_u − m_r are taken as N(0, τ²) with sampling variance v_u,
τ² = max(0, mean(d_u²) − mean(v_u)) by the method of moments, and
gap_shrunk = gap · τ² / (τ² + v_u) (Efron & Morris 1975, *JASA* 70:311–319; Morris 1983,
*JASA* 78:47–55). Small units are pulled towards 0 the most.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.domain.bands import DIFFICULTY_BANDS as _BAND_CODES
from analytics.domain.items import OBJECTIVE_TYPES as OBJECTIVE_TYPES
from analytics.domain.labels import label
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.errors import InputError
from analytics.item_sums import ans_stage, cls_stage, unit_item_pass
from analytics.lookup import resolve_paper, resolve_school
from analytics.stats.frames import pair_positions as _pair_positions
from analytics.stats.frames import sort_positions as _sort_positions
from analytics.stats.frames import take as _take
from analytics.stats.intervals import Z95 as Z95
from analytics.stats.items import difficulty_band as difficulty_band
from analytics.stats.multiplicity import bh_qvalues as bh_qvalues
from analytics.stats.unit_gaps import SUMS as SUMS
from analytics.stats.unit_gaps import compare_units as _compare
from analytics.warehouse import Warehouse, shared_df
from analytics.warehouse.db import memo

By = Literal["item", "knowledge_point"]

# Difficulty bands of 难度 P (score rate) with their Chinese names (analytics.domain)
DIFFICULTY_BANDS: tuple[tuple[str, str], ...] = tuple(
    (code, label("difficulty", code)) for code in _BAND_CODES)


# -- SQL ---------------------------------------------------------------------------------------

def _uid(level: str) -> str:
    """The id column of a level's units (trusted identifier)."""
    return LEVEL_KEYS[check_level(level)][-2]


def _present_cte(level: str) -> str:
    """Present students of the paper with their unit id and paper rate p = total / full."""
    uid = _uid(level)
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
    uid = _uid(level)
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


def knowledge_item_totals_sql(cls: str) -> str:
    """Per knowledge point of ``$paper_id``: the Σ of its items' scores over the present
    students (``s``), from the staged class × item pass ``cls`` (a trusted name;
    :func:`analytics.item_sums.class_item_sql`)."""
    return f"""
        SELECT k.knowledge_point, sum(coalesce(c.sx, 0.0)) AS s
        FROM {cls} c JOIN item_knowledge k ON k.item_id = c.item_id
        JOIN items i ON i.item_id = c.item_id
        WHERE i.paper_id = $paper_id
        GROUP BY k.knowledge_point
    """


def stored_knowledge_current(stored: pd.DataFrame, totals: pd.DataFrame) -> bool:
    """Whether the district rows of :func:`knowledge_sums_stored_sql` (Σ score = sum_x ·
    max_score per knowledge point) equal the items' totals (:func:`knowledge_item_totals_sql`)
    for every knowledge point, to 1e-6 relative: False when ``knowledge_results`` is stale
    (e.g. responses changed without the importers) or missing."""
    d = stored[stored["level"] == "district"]
    got = pd.Series(d["sum_x"].to_numpy(float) * d["max_score"].to_numpy(float),
                    index=d["knowledge_point"].to_numpy())
    want = pd.Series(totals["s"].to_numpy(float), index=totals["knowledge_point"].to_numpy())
    if got.index.has_duplicates or set(got.index) != set(want.index):
        return False
    diff = (got - want.reindex(got.index)).abs().to_numpy()
    return bool((diff <= 1e-6 * np.maximum(1.0, want.reindex(got.index).abs().to_numpy())).all())


def _knowledge_sums(wh: Warehouse, level: str, sp: dict[str, Any]) -> pd.DataFrame:
    """Per unit × knowledge point sums (:func:`knowledge_sums_sql`'s columns), for zones,
    schools and classes from the pass shared by those levels: over ``knowledge_results`` when
    its sums agree with the responses' (:func:`stored_knowledge_current`), else over the
    responses (:func:`knowledge_sums_wide_sql`); same result either way."""
    n_kp = int(shared_df(wh, n_knowledge_points_sql(), {"paper_id": sp["paper_id"]})
               ["n_kp"].iloc[0])
    if n_kp == 0 or level not in UNIT_LEVELS:
        return shared_df(wh, knowledge_sums_sql(level), sp)
    w = shared_df(wh, knowledge_sums_stored_sql(), sp)
    totals = shared_df(wh, knowledge_item_totals_sql(cls_stage(wh, sp["paper_id"])),
                       {"paper_id": sp["paper_id"]})
    if not stored_knowledge_current(w, totals):
        w = shared_df(wh, knowledge_sums_wide_sql(n_kp), sp)
    w = w[w["level"].isin([level, "district"])]
    out = w.drop(columns="level").rename(columns={"unit_id": _uid(level)})
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
              AND i.item_type IN ('single', 'multiple', 'true_false')
              AND a.answer <> '' AND a.answer IS DISTINCT FROM i.answer_key
        )"""


def wrong_options_sql(level: str | None, ans: str) -> str:
    """Per unit of ``level`` × objective item × wrong answer (an answer given, not empty, that
    differs from the key) how many present students gave it (``n_chose``, ``is_district`` 0),
    and the same for the whole paper (unit id NULL, ``is_district`` 1; ``level`` None gives
    only these), rolled up from the staged answers pass ``ans`` (a trusted name;
    :func:`analytics.item_sums.class_answer_pass_sql`). Parameter: ``$paper_id``."""
    whole = "SELECT NULL AS unit_id, item_id, answer, 1 AS is_district, " \
            "CAST(sum(n) AS BIGINT) AS n_chose " \
            "FROM f GROUP BY item_id, answer"
    units = "" if level is None else (
        f"SELECT {_uid(level)}, item_id, answer, 0 AS is_district, "
        f"CAST(sum(n) AS BIGINT) AS n_chose FROM f "
        f"GROUP BY {_uid(level)}, item_id, answer UNION ALL ")
    return f"""
        WITH {_wrong_answers_cte(ans)}
        {units}{whole}
    """


def _wrong_options(wh: Warehouse, sp: dict[str, Any], level: str | None) -> pd.DataFrame:
    """The wrong answers of ``level``'s units (none when ``level`` is None) and of the whole
    paper: columns ``<level id>`` (``unit_id`` when ``level`` is None), ``item_id, answer,
    is_district`` (1 for the whole paper, unit id NULL), ``n_chose``
    (:func:`wrong_options_sql`)."""
    paper_id = sp["paper_id"]
    f = shared_df(wh, wrong_options_sql(level, ans_stage(wh, paper_id)),
                  {"paper_id": paper_id})
    if level is not None:
        f = f.rename(columns={f.columns[0]: _uid(level)})
        f[_uid(level)] = f[_uid(level)].astype("Int64")
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


# -- inference on the small frames ------------------------------------------------------------



def _split(sums: pd.DataFrame, level: str, group: str,
           names: pd.DataFrame | None = None, attach: bool = True
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """District rows (renamed ``*_d``) and unit rows (with the level's key columns first when
    ``names`` is given; units without an id, e.g. students with no class, are dropped)."""
    uid = _uid(level)
    is_d = sums["is_district"].astype(int) == 1
    district = sums.loc[is_d, [group, *SUMS]].rename(
        columns={c: f"{c}_d" for c in SUMS})
    units = sums.loc[~is_d].drop(columns="is_district")
    units = units[units[uid].notna()].astype({uid: "int64"})
    if names is not None and attach:
        units = names.merge(units, on=uid, how="inner")
    elif names is not None:      # keep the units that have names; names are joined at the end
        units = units[units[uid].isin(names[uid].dropna().astype("int64"))]
    return units, district


def top_wrong_sql(level: str, ans: str) -> str:
    """Per unit × item the most-chosen wrong answer (ties to the first answer in text order,
    i.e. by code point) and how many chose it in the unit (``n_chose``) and in the district
    (``n_chose_d``), counted as in :func:`wrong_options_sql` from the staged answers pass
    ``ans`` (a trusted name). Parameter: ``$paper_id``."""
    uid = _uid(level)
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


def _top_wrong(wh: Warehouse, sp: dict[str, Any], level: str, units: pd.DataFrame,
               district_n: pd.DataFrame) -> pd.DataFrame:
    """``units`` with the most-chosen wrong answer per unit × item and its share in the unit
    and district (columns wrong_option, wrong_option_share, wrong_option_district_share)."""
    uid = _uid(level)
    paper_id = sp["paper_id"]
    top = wh.df(top_wrong_sql(level, ans_stage(wh, paper_id)), {"paper_id": paper_id})
    # looked up per unit row (a merge would copy every column of the units)
    pos = _pair_positions((top[uid].to_numpy("int64"), top["item_id"].to_numpy("int64")),
                          (units[uid].to_numpy("int64"), units["item_id"].to_numpy("int64")))
    hit = pos >= 0

    def at(c: str) -> np.ndarray:
        vals = np.append(top[c].to_numpy(float), np.nan)      # position −1: the NaN
        return vals[np.where(hit, pos, len(vals) - 1)]

    n_d = district_n.set_index("item_id")["n_d"]
    f = units.copy(deep=False)
    f["wrong_option"] = top["answer"].array.take(pos, allow_fill=True)
    f["wrong_option_share"] = at("n_chose") / f["n"].to_numpy(float)
    f["wrong_option_district_share"] = (at("n_chose_d")
                                        / f["item_id"].map(n_d).to_numpy(float))
    return f


def _resolve(wh: Warehouse, exam: str, subject: str,
             grade: int | None) -> tuple[int, dict[str, Any]]:
    """The paper id and the parameters of the sums queries."""
    paper = resolve_paper(wh, exam, subject, grade)
    return paper.paper_id, {"paper_id": paper.paper_id, "full_score": paper.full_score}


def _check_by(by: str) -> None:
    if by not in ("item", "knowledge_point"):
        raise InputError(f"--by 只能是 item 或 knowledge_point / by must be 'item' or "
                         f"'knowledge_point', not {by!r}")


def _unit_level(level: str) -> str:
    check_level(level)
    if level == "district":
        raise InputError("主要出错点按片区、学校或班级比较,不能按全区 / hotspots compare zones, "
                         "schools or classes with the district; level 'district' has no units")
    return level


def _filter_school(wh: Warehouse, frame: pd.DataFrame, level: str,
                   school: str | None) -> pd.DataFrame:
    if school is None:
        return frame
    if "school_id" not in LEVEL_KEYS[level]:
        raise InputError("--school 只能与 --level school 或 class 一起使用 / --school needs "
                         "level school or class")
    sid = resolve_school(wh, school)
    return frame[frame["school_id"] == sid].reset_index(drop=True)


def _unit_pass_sums(wh: Warehouse, sp: dict[str, Any], level: str) -> pd.DataFrame:
    """Per unit × item of ``level`` and per item of the whole paper (``is_district`` 1, unit id
    NULL): n, Σx, Σx², Σp, Σp², Σxp (``sum_*``) of the item rate x = score / max_score and the
    student's paper rate p = total / full_score; read from the one per-paper pass that serves
    every level and the knowledge-point rates (:func:`analytics.item_sums.unit_item_pass`)."""
    uid = _uid(level)
    f = unit_item_pass(wh, sp["paper_id"], sp["full_score"])
    f = f[f["level"].isin([level, "all"])]
    out = pd.DataFrame({uid: f["unit_id"].astype("Int64").to_numpy(),
                        "item_id": f["item_id"].to_numpy(),
                        "is_district": (f["level"] == "all").astype("int64").to_numpy()})
    for c in SUMS:
        out[c] = f[c].to_numpy()
    return out


def _item_frame(wh: Warehouse, sp: dict[str, Any], level: str, relative: bool,
                names: pd.DataFrame) -> pd.DataFrame:
    units, district = _item_base(wh, sp, level, names)
    return _compare(units, district, "item_id", relative)


def _item_base(wh: Warehouse, sp: dict[str, Any], level: str, names: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unit rows (sums, most-chosen wrong answer, item number and maximum attached) and
    district rows of the item comparison: what does not depend on ``relative``, kept on the
    connection (:meth:`Warehouse.memo`) per paper and level."""
    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        sums = _unit_pass_sums(wh, sp, level)
        meta = shared_df(wh, paper_items_sql(), {"paper_id": sp["paper_id"]})
        units, district = _split(sums, level, "item_id", names, attach=False)
        # numbers only: the item's text columns are attached once, to the final rows
        units = units.assign(**_take(meta, "item_id", units["item_id"],
                                     ["item_number", "max_score"]))
        # in the final order once, so that neither call (plain or relative) sorts it again
        units = _in_unit_order(units, names, level)
        return _top_wrong(wh, sp, level, units, district[["item_id", "n_d"]]), district

    return memo(wh, ("hotspots._item_base", sp["paper_id"], sp["full_score"], level), build)


ITEM_COLUMNS = (
    "item_id", "item_number", "item_label", "item_type", "knowledge_points", "n", "max_score",
    "unit_rate", "district_rate", "paper_gap", "gap", "ci_low", "ci_high", "z", "p_value",
    "q_value", "gap_shrunk", "flag", "wrong_option", "wrong_option_share",
    "wrong_option_district_share",
)
KP_COLUMNS = (
    "knowledge_point", "n_items", "n", "max_score", "unit_rate", "district_rate", "paper_gap",
    "gap",
    "ci_low", "ci_high", "z", "p_value", "q_value", "gap_shrunk", "flag", "worst_item_label",
    "wrong_option_item_label", "wrong_option", "wrong_option_share",
)


def error_hotspots(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    school: str | None = None,
    by: By = "item",
    fdr: float = 0.05,
    min_gap: float = 0.05,
    relative: bool = False,
) -> pd.DataFrame:
    """Items (or knowledge points) where a unit falls below the district, tested and FDR-controlled.

    Parameters
    ----------
    wh : Warehouse
    exam, subject : str
        The paper.
    grade : int, optional
        Needed when the exam has the subject for several grades.
    level : {"school", "class", "zone"}
        The units compared with the district.
    school : str, optional
        Keep only this school's rows (its classes at level ``class``). The Benjamini–Hochberg
        family is still every unit × item comparison of the level, so filtering does not make
        results look more significant.
    by : {"item", "knowledge_point"}
        Compare item score rates, or knowledge-point rates (a student's points on the
        knowledge point's items ÷ their maximum).
    fdr : float
        False-discovery rate for the flag (q-value threshold), default 0.05.
    min_gap : float
        Smallest shortfall (in score-rate units, 0.05 = 5 percentage points) that is flagged.
    relative : bool
        Relative weakness (相对薄弱): test each student's y = x − p, the item (or knowledge
        point) rate minus the student's own paper rate p = total / full score, instead of x.
        The gap is then (unit_rate − district_rate) − paper_gap: how much further below the
        district the unit is on this item than on the paper as a whole. A strong school's
        weak point, invisible in absolute terms, shows up; a school weak everywhere is not
        flagged everywhere. The same test, BH and shrinkage apply to y.

    Returns
    -------
    pandas.DataFrame
        One row per unit × item (or knowledge point), sorted by unit then item. Columns: the
        level's keys (``LEVEL_KEYS[level]``), then for ``by="item"``: item_id, item_number,
        item_label, item_type, knowledge_points (';'-joined), n, max_score, unit_rate,
        district_rate, paper_gap (the unit's paper rate − the district's, over the same
        students), gap (unit_rate − district_rate; with ``relative`` minus paper_gap), ci_low,
        ci_high (95 % for the gap), z,
        p_value (two-sided), q_value (BH), gap_shrunk (empirical Bayes), flag (q_value ≤ fdr
        and gap ≤ −min_gap), wrong_option (the unit's most-chosen wrong answer on objective
        items; ties go to the first letter), wrong_option_share (its share of the unit's
        students), wrong_option_district_share. For ``by="knowledge_point"``:
        knowledge_point, n_items, n, max_score, unit_rate, district_rate, paper_gap, gap, ci_low,
        ci_high, z, p_value, q_value, gap_shrunk, flag, worst_item_label (the point's item with
        the unit's largest shortfall), wrong_option_item_label, wrong_option,
        wrong_option_share (the point's objective item and wrong answer with the largest share
        in the unit).

    Notes
    -----
    The test, the shrinkage and the FDR procedure are described in the module docstring:
    pooled-variance two-sample z-test of the unit against the rest of the district (Fleiss,
    Levin & Paik 2003), Benjamini & Hochberg (1995) q-values over all comparisons, and
    normal–normal empirical Bayes shrinkage (Efron & Morris 1975; Morris 1983).
    """
    _check_by(by)
    level = _unit_level(level)
    keys = list(LEVEL_KEYS[level])
    paper_id, sp = _resolve(wh, exam, subject, grade)
    names = shared_df(wh, unit_names_sql(level))
    items = _item_frame(wh, sp, level, relative, names)
    if by == "item":
        f = items
        f["q_value"] = bh_qvalues(f["p_value"])
        columns = [*keys, *ITEM_COLUMNS]
        last = "item_number"
    else:
        sums = _knowledge_sums(wh, level, sp)
        meta = sums.loc[sums["is_district"].astype(int) == 1,
                        ["knowledge_point", "max_score", "n_items"]]
        units, district = _split(sums.drop(columns=["max_score", "n_items"]), level,
                                 "knowledge_point", names, attach=False)
        f = _compare(units, district, "knowledge_point", relative).merge(
            meta, on="knowledge_point")
        f["q_value"] = bh_qvalues(f["p_value"])
        uid = _uid(level)
        f = f.merge(_kp_item_details(wh, items, [uid], paper_id), on=[uid, "knowledge_point"],
                    how="left")
        columns = [*keys, *KP_COLUMNS]
        last = "knowledge_point"
    f["flag"] = (f["q_value"] <= fdr) & (f["gap"] <= -min_gap)
    text = None if by != "item" else shared_df(wh, paper_items_sql(), {"paper_id": paper_id})[
        ["item_id", "item_label", "item_type", "knowledge_points"]]
    f = _finish(f, names, level, last, text)
    return _filter_school(wh, f[columns], level, school)


def _in_unit_order(f: pd.DataFrame, names: pd.DataFrame, level: str,
                   last: str = "item_number") -> pd.DataFrame:
    """``f`` (unit rows of units that all have names) in the order of the final frames: by the
    level's id columns (a unit's parents' ids looked up in ``names``), then ``last``; with a
    fresh index."""
    uid = _uid(level)
    nm = names.drop_duplicates(uid).reset_index(drop=True)
    unit_pos = pd.Index(nm[uid]).get_indexer(f[uid])
    ids = [k for k in LEVEL_KEYS[level] if k.endswith("_id")]
    keys = pd.DataFrame({k: f[k].array if k == uid else nm[k].array.take(unit_pos)
                         for k in ids})
    keys[last] = f[last].array
    pos = _sort_positions(keys, list(keys.columns))
    return f.reset_index(drop=True) if pos is None else f.take(pos).reset_index(drop=True)


def _finish(f: pd.DataFrame, names: pd.DataFrame, level: str, last: str,
            text: pd.DataFrame | None) -> pd.DataFrame:
    """The units that have names, sorted by the level's ids then ``last``
    (:func:`_in_unit_order`; names follow their ids, so the id columns sort), with the level's
    key columns and, when given, the item text columns (``text``, keyed by item_id) attached:
    the frames before carry ids and numbers only, so the sort moves no text and the text is
    built once, for the final rows. The class frames come in order already (kept sorted by
    :func:`_item_base`), so nothing is moved for them."""
    uid = _uid(level)
    nm = names.drop_duplicates(uid).reset_index(drop=True)
    named = f[uid].isin(nm[uid])
    if not named.all():         # (a filter copies every column; usually every unit has a name)
        f = f[named]
    f = _in_unit_order(f, nm, level, last)
    unit_pos = pd.Index(nm[uid]).get_indexer(f[uid])
    f = f.assign(**{k: nm[k].array.take(unit_pos) for k in LEVEL_KEYS[level] if k != uid})
    if text is not None:
        f = f.assign(**_take(text, "item_id", f["item_id"], [c for c in text.columns
                                                             if c != "item_id"]))
    return f


def _kp_item_details(wh: Warehouse, items: pd.DataFrame, keys: list[str],
                     paper_id: int) -> pd.DataFrame:
    """Per unit × knowledge point: the item with the largest shortfall and the wrong answer with
    the largest share among the point's objective items."""
    ik = wh.df("SELECT k.item_id, k.knowledge_point FROM item_knowledge k JOIN items i "
               "ON i.item_id = k.item_id WHERE i.paper_id = $paper_id", {"paper_id": paper_id})
    labels = shared_df(wh, paper_items_sql(), {"paper_id": paper_id})[["item_id", "item_label"]]
    f = items.merge(ik, on="item_id").merge(labels, on="item_id")
    ids = [k for k in keys if k.endswith("_id")]       # names follow their ids
    worst = (f.sort_values([*ids, "knowledge_point", "gap", "item_number"])
             .drop_duplicates([*ids, "knowledge_point"])
             [[*keys, "knowledge_point", "item_label"]]
             .rename(columns={"item_label": "worst_item_label"}))
    w = f[f["wrong_option"].notna()]
    w = (w.sort_values([*ids, "knowledge_point", "wrong_option_share", "item_number"],
                       ascending=[True] * (len(ids) + 1) + [False, True])
         .drop_duplicates([*ids, "knowledge_point"])
         [[*keys, "knowledge_point", "item_label", "wrong_option", "wrong_option_share"]]
         .rename(columns={"item_label": "wrong_option_item_label"}))
    return worst.merge(w, on=[*keys, "knowledge_point"], how="left")


def district_weak_points(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    by: By = "item",
    top: int | None = None,
) -> pd.DataFrame:
    """The district's items (or knowledge points) ordered from the lowest score rate up.

    Parameters
    ----------
    wh : Warehouse
    exam, subject : str
    grade : int, optional
    by : {"item", "knowledge_point"}
    top : int, optional
        Keep the ``top`` weakest rows (all when None).

    Returns
    -------
    pandas.DataFrame
        One row per item: rank (1 = lowest rate), item_id, item_number, item_label, item_type,
        knowledge_points, n, max_score, score_rate, ci_low, ci_high, difficulty_band,
        wrong_option, wrong_option_share (the district's most-chosen wrong answer). By knowledge
        point: rank, knowledge_point, n_items, n, max_score, score_rate, ci_low, ci_high,
        difficulty_band. score_rate = mean(x) with x = score / max (得分率, 难度 P); the 95 %
        interval is the normal one, mean ± 1.96 · s / √n.
    """
    _check_by(by)
    paper_id, sp = _resolve(wh, exam, subject, grade)
    params = {"paper_id": paper_id}
    if by == "item":
        sums = _unit_pass_sums(wh, sp, "school")
        wrong = _wrong_options(wh, sp, None)
        group = "item_id"
    else:
        sums = _knowledge_sums(wh, "school", sp)
        group = "knowledge_point"
    d = sums[sums["is_district"].astype(int) == 1].copy()
    n = d["n"].to_numpy(float)
    m = d["sum_x"].to_numpy(float) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.clip((d["sum_xx"].to_numpy(float) - n * m ** 2) / (n - 1), 0.0, None)
        half = Z95 * np.sqrt(var / n)
    d["score_rate"] = m
    d["ci_low"] = m - half
    d["ci_high"] = m + half
    d["difficulty_band"] = difficulty_band(m).to_numpy()
    if by == "item":
        meta = shared_df(wh, paper_items_sql(), params).drop(columns="answer_key")
        d = meta.merge(d.drop(columns=["max_score"], errors="ignore"), on="item_id")
        wrong = wrong[wrong["is_district"].astype(int) == 1]
        wrong = (wrong.sort_values(["item_id", "n_chose", "answer"], ascending=[True, False, True])
                 .drop_duplicates("item_id")[["item_id", "answer", "n_chose"]])
        d = d.merge(wrong, on="item_id", how="left")
        d["wrong_option"] = d["answer"]
        d["wrong_option_share"] = d["n_chose"] / d["n"]
        cols = ["item_id", "item_number", "item_label", "item_type", "knowledge_points", "n",
                "max_score", "score_rate", "ci_low", "ci_high", "difficulty_band",
                "wrong_option", "wrong_option_share"]
        tie = "item_number"
    else:
        cols = ["knowledge_point", "n_items", "n", "max_score", "score_rate", "ci_low",
                "ci_high", "difficulty_band"]
        tie = group
    d = d.sort_values(["score_rate", tie], kind="mergesort").reset_index(drop=True)
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    d = d[["rank", *cols]]
    return d if top is None else d.head(top)


def knowledge_matrix(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "class",
    school: str | None = None,
) -> pd.DataFrame:
    """Unit × knowledge point score rates in long format, ready for a heatmap.

    Parameters
    ----------
    wh : Warehouse
    exam, subject : str
    grade : int, optional
    level : {"class", "school", "zone"}
    school : str, optional
        Keep only this school (its classes at level ``class``).

    Returns
    -------
    pandas.DataFrame
        One row per unit × knowledge point: the level's keys, knowledge_point, n_items, n,
        max_score, score_rate (mean over the unit's present students of their points on the
        knowledge point's items ÷ the maximum), district_rate, gap (score_rate − district_rate).
    """
    level = _unit_level(level)
    keys = list(LEVEL_KEYS[level])
    _, sp = _resolve(wh, exam, subject, grade)
    sums = _knowledge_sums(wh, level, sp)
    units, district = _split(sums, level, "knowledge_point", shared_df(wh, unit_names_sql(level)))
    f = units.merge(district[["knowledge_point", "n_d", "sum_x_d"]], on="knowledge_point")
    f["score_rate"] = f["sum_x"] / f["n"]
    f["district_rate"] = f["sum_x_d"] / f["n_d"]
    f["gap"] = f["score_rate"] - f["district_rate"]
    ids = [k for k in keys if k.endswith("_id")]       # names follow their ids
    f = f.sort_values([*ids, "knowledge_point"], kind="mergesort").reset_index(drop=True)
    cols = [*keys, "knowledge_point", "n_items", "n", "max_score", "score_rate",
            "district_rate", "gap"]
    return _filter_school(wh, f[cols], level, school)
