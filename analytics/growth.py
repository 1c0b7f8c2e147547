"""Student growth percentiles (SGP, 学生成长百分位), as in the Colorado growth model.

A student's SGP is the percentile of their current score among students with similar entry
scores. The recipe is the SGP package's (Betebenner 2009; R package ``SGP``,
``studentGrowthPercentiles``):

1. τ = (1, 2, …, 100 − 0.5)/100, i.e. 0.005, 0.015, …, 0.995.
2. For each τ a linear quantile regression of the current score on an intercept and a cubic
   B-spline of the entry score (``splines::bs``, no intercept: 7 columns) with interior knots
   at the entry score's 20/40/60/80th percentiles (R's ``quantile`` type 7) and boundary knots
   at its range widened by 10% on each side (``extendrange(x, f = 0.1)``).
3. The 100 predicted quantiles of each student are rounded to 5 digits and sorted so that they
   never cross (``.smooth.isotonize.row``); the SGP is how many of them lie strictly below the
   current score, with 0 → 1 and 100 → 99 (``convert.0and100``).

Speed without approximation: the quantile-regression objective Σ ρ_τ(y − x'β) over students
equals Σ over distinct (entry, current) pairs of count × ρ_τ(…), so DuckDB groups the students by
their two totals and :func:`analytics.stats.quantreg.rq_fnb` solves each τ on the weighted pairs
(exam totals in points or half points give at most tens of thousands of pairs, whatever the
number of students). The solution is exact to the interior-point tolerance (duality gap
≤ 1e-12 relative), not fitted on a sample.

School summaries: the median SGP with a distribution-free 95% interval from order statistics
(Conover 1999, §3.2: ranks l and n − l + 1 with l the 2.5% quantile of Binomial(n, ½)); the
SGP literature reports medians only for groups of 20 students or more (:data:`MIN_N_REPORT`),
which the display layer enforces (``min_n``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import resolve_paper
from analytics.stats.intervals import median_ci as median_ci
from analytics.stats.sgp import KNOT_PROBS as KNOT_PROBS
from analytics.stats.sgp import TAUS as TAUS
from analytics.stats.sgp import SGPModel as SGPModel
from analytics.stats.sgp import bs_basis as bs_basis
from analytics.stats.sgp import fit_sgp as fit_sgp
from analytics.stats.sgp import knots_boundaries as knots_boundaries
from analytics.stats.sgp import sgp_design as sgp_design
from analytics.warehouse import Backend

MIN_N_REPORT = 20

# --------------------------------------------------------------------------------------------
# From the warehouse
# --------------------------------------------------------------------------------------------
def sgp_pairs_sql() -> str:
    """Distinct (entry, current) totals with their number of students (``$paper``, ``$prior``)."""
    return """
        SELECT p.total AS x, c.total AS y, count(*) AS w
        FROM paper_results c
        JOIN paper_results p ON p.student_key = c.student_key
        WHERE c.paper_id = $paper AND c.status = 'present'
          AND p.paper_id = $prior AND p.status = 'present'
        GROUP BY ALL ORDER BY x, y
    """


def sgp_knots_sql() -> str:
    """Type-7 quantiles of the entry score of matched students, and its range."""
    return """
        SELECT quantile_cont(p.total, [0.2, 0.4, 0.6, 0.8]) AS knots,
               min(p.total) AS lo, max(p.total) AS hi
        FROM paper_results c
        JOIN paper_results p ON p.student_key = c.student_key
        WHERE c.paper_id = $paper AND c.status = 'present'
          AND p.paper_id = $prior AND p.status = 'present'
    """


def sgp_students_sql() -> str:
    """Every student present on ``$paper`` with the entry score and the SGP of their pair
    (view ``sgp_cells``: x, y, sgp); NULL SGP when there is no entry score."""
    return """
        SELECT t.zone_id, t.zone_name, t.school_id, t.school_name, t.class_id, t.class_name,
               t.student_key, t.student_id, p.total AS prior_score, c.total AS score, g.sgp
        FROM paper_results c
        JOIN student_tree t USING (student_key)
        LEFT JOIN paper_results p
               ON p.student_key = c.student_key AND p.paper_id = $prior AND p.status = 'present'
        LEFT JOIN sgp_cells g ON g.x = p.total AND g.y = c.total
        WHERE c.paper_id = $paper AND c.status = 'present'
    """


def sgp_counts_sql(keys: str) -> str:
    """Per unit × SGP value: number of students (from the ``sgp_students`` view)."""
    return f"""
        SELECT {keys}, sgp, count(*) AS k, count(*) FILTER (WHERE sgp IS NULL) AS n_missing
        FROM sgp_students GROUP BY ALL ORDER BY ALL
    """


def _papers(wh: Backend, exam: str, prior_exam: str, subject: str,
            grade: int | None) -> dict[str, int]:
    cur = resolve_paper(wh, exam, subject, grade)
    try:
        pri = resolve_paper(wh, prior_exam, subject, cur.grade)
    except NotFoundError:
        pri = resolve_paper(wh, prior_exam, subject, None)
    return {"paper": cur.paper_id, "prior": pri.paper_id}


def fit_sgp_warehouse(wh: Backend, *, exam: str, prior_exam: str, subject: str,
                      grade: int | None = None) -> tuple[SGPModel, pd.DataFrame]:
    """Fit the SGP model on the matched students; returns it and the pair table x, y, w, sgp."""
    params = _papers(wh, exam, prior_exam, subject, grade)
    pairs = wh.df(sgp_pairs_sql(), params)
    if len(pairs) < 2:
        raise InputError(f"考试「{exam}」与入口考试「{prior_exam}」没有足够的共同学生 / too few "
                         f"students sat both {exam!r} and {prior_exam!r} in {subject}")
    kb = wh.df(sgp_knots_sql(), params).iloc[0]
    lo, hi = float(kb["lo"]), float(kb["hi"])
    knots = np.unique(np.asarray(kb["knots"], float))
    boundary = (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    model = fit_sgp(pairs["x"].to_numpy(float), pairs["y"].to_numpy(float),
                    pairs["w"].to_numpy(float), knots=knots,
                    boundary=boundary)
    pairs["sgp"] = model.percentile(pairs["x"].to_numpy(float), pairs["y"].to_numpy(float))
    return model, pairs


@fill_doc
def student_growth(wh: Backend, *, exam: str, prior_exam: str, subject: str,
                   grade: int | None = None) -> pd.DataFrame:
    """Each student's growth percentile.

    Parameters
    ----------
    {growth_paper}

    Returns
    -------
    pandas.DataFrame
        One row per student present on the current paper: ``zone_id, zone_name, school_id,
        school_name, class_id, class_name, student_key, student_id, prior_score, score, sgp``
        (1–99; NULL without an entry score).
    """
    params = _papers(wh, exam, prior_exam, subject, grade)
    _, pairs = fit_sgp_warehouse(wh, exam=exam, prior_exam=prior_exam, subject=subject,
                                 grade=grade)
    wh.register("sgp_cells", pairs[["x", "y", "sgp"]])
    try:
        out = wh.df(sgp_students_sql() + " ORDER BY t.school_id, t.class_id, t.student_key",
                    params)
    finally:
        wh.unregister("sgp_cells")
    out["sgp"] = out["sgp"].astype("Int64")
    return out


@fill_doc
def growth_summary(wh: Backend, *, exam: str, prior_exam: str, subject: str,
                   grade: int | None = None, level: str = "school") -> pd.DataFrame:
    """Median growth percentile (MGP) per school or class, with a 95% interval.

    Parameters
    ----------
    {growth_paper}
    level : {'school', 'class', 'district'}
        The units of the median (default ``'school'``).

    Returns
    -------
    pandas.DataFrame
        The level's key columns, ``n`` (students with an SGP), ``n_missing_prior``,
        ``median_sgp``, ``ci_low``, ``ci_high`` (order-statistic interval of the median),
        ``mean_sgp``. Show only units with n ≥ :data:`MIN_N_REPORT` (display ``min_n``).
    """
    keys = {"school": "zone_id, zone_name, school_id, school_name",
            "class": "school_id, school_name, class_id, class_name",
            "district": "1 AS district"}.get(level)
    if keys is None:
        raise InputError(f"成长百分位的层级只能是 school、class 或 district / level must be "
                         f"school, class or district, not {level!r}")
    students = student_growth(wh, exam=exam, prior_exam=prior_exam, subject=subject,
                              grade=grade)
    wh.register("sgp_students", students)
    try:
        counts = wh.df(sgp_counts_sql(keys))
    finally:
        wh.unregister("sgp_students")
    key_cols = list(counts.columns[:-3])
    rows = []
    for key, g in counts.groupby(key_cols, sort=True, dropna=False):
        have = g.dropna(subset=["sgp"])
        n, med, lo, hi = median_ci(have["sgp"].to_numpy(float), have["k"].to_numpy(float))
        mean = float((have["sgp"] * have["k"]).sum() / n) if n else np.nan
        kt = key if isinstance(key, tuple) else (key,)
        rows.append((*kt, n, int(g["n_missing"].sum()), med, lo, hi, mean))
    return pd.DataFrame(rows, columns=[*key_cols, "n", "n_missing_prior", "median_sgp",
                                       "ci_low", "ci_high", "mean_sgp"])
