"""Value-added (增值评价): how far a school (or class) moved its students beyond its intake.

The model
---------
A linear mixed model with a random intercept for the school (and optionally for the class within
the school), fitted by restricted maximum likelihood (REML)::

    y_ijk = x_ijk'β + u_j + v_jk + e_ijk,   u_j ~ N(0, σ_s²), v_jk ~ N(0, σ_c²), e ~ N(0, σ²)

``y`` is the current (exit, 出口) score, ``x`` = (1, entry score [, female] [, SES]). Scores are
standardised within exam × subject (× grade, i.e. within the paper) by default (``scale="z"``).

Why sufficient statistics suffice
---------------------------------
With γ_s = σ_s²/σ², γ_c = σ_c²/σ², d_k = 1 + γ_c n_k (class k), m_j = Σ_k n_k/d_k and
e_j = 1 + γ_s m_j (school j), the Woodbury identity gives, for any two columns a, b of the data,
``σ² a'V⁻¹b = Σ_k (S_ab,k − γ_c/d_k · s_a,k s_b,k) − Σ_j γ_s/e_j · (Σ_k s_a,k/d_k)(Σ_k s_b,k/d_k)``
and ``log|V/σ²| = Σ_k log d_k + Σ_j log e_j``, where ``s`` are per-class sums and ``S`` sums of
cross-products. So the REML criterion needs only the per-cell n, Σx, Σy, Σxx', Σxy, Σy², which
DuckDB aggregates (:func:`va_cell_stats_sql`); β and σ² are profiled out in closed form and the
variance ratios optimised with scipy (Brent for one ratio, L-BFGS-B for two). With no class level
every cell is a school and γ_c = 0. The profiled REML deviance is (Harville 1977; Bates et al.
2015, eq. 41)::

    −2ℓ_R(γ) = (N − p) log σ̂²(γ) + log|V/σ²| + log|X'(V/σ²)⁻¹X| + (N − p)(1 + log 2π)

Effects
-------
The school effect is the EBLUP (conditional mode) ``û_j = γ_s R_j / e_j`` with
``R_j = Σ_k r_k/d_k``, ``r_k`` the class's sum of residuals y − x'β̂; the class effect is
``v̂_k = γ_c (r_k − n_k û_j)/d_k``. Two standard deviations are returned:

* ``cond_sd`` — the conditional SD given β̂ and the variance components (what lme4's ``condVar``
  and statsmodels' ``random_effects_cov`` report): ``σ² γ_s / e_j`` for a school;
* ``se`` — the prediction-error SD ``sqrt(Var(û − u))`` that also carries the uncertainty of
  β̂ (Henderson 1975: the random-effect block of the inverse mixed-model-equations matrix,
  ``G − G Z'PZ G``); the uncertainty of the variance components is not included.

The 95% interval is ``va ± 1.96 se``; the category is ``above`` (显著高于预期) when the interval
lies above 0 (and ``va ≥ min_effect``), ``below`` (显著低于预期) when it lies below 0 (and
``va ≤ −min_effect``), else ``as_expected`` (符合预期) — the minimum effect mirrors England's
Progress 8, where "well above average" also needs a score of at least +0.5.

Simpler methods districts use (side by side, :func:`value_added_simple`)
-----------------------------------------------------------------------
* ``residual`` 入口定出口: pooled OLS of exit on entry; a school's VA is its students' mean
  residual (actual − predicted); SE ``s·sqrt(1/n_j − x̄_j'(X'X)⁻¹x̄_j)``, the exact SD of a
  group mean of OLS residuals under independent errors (it ignores clustering, which is why it
  looks more certain than the multilevel model).
* ``zchange``: mean z (exit) − mean z (entry) of the school's matched students; SE = SD of the
  differences / √n.
* ``rankchange``: mean change of the students' percentile rank (0–100, DuckDB ``percent_rank``
  × 100 over all takers of each paper); SE as for zchange.

References: Goldstein (1997) "Methods in school effectiveness research"; Raudenbush & Willms
(1995) "The estimation of school effects", J. Educ. Behav. Stat. 20(4); Henderson (1975)
Biometrics 31:423–447; DfE (2023) Secondary accountability measures guide (Progress 8 bands).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analytics.domain.labels import LABELS, labels_of
from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import resolve_paper
from analytics.stats.intervals import Z95 as Z95
from analytics.stats.intervals import normal_interval
from analytics.stats.mixed import CellStats as CellStats
from analytics.stats.mixed import REMLFit as REMLFit
from analytics.stats.mixed import reml_fit as reml_fit
from analytics.stats.mixed import reml_fit_kept
from analytics.warehouse import Backend

COVARIATES = {"gender": "female", "ses": "ses"}
# the labels of :func:`analytics.domain.label` ``("va_category", code)``
CATEGORY_LABELS = labels_of("va_category", "zh")
CATEGORY_LABELS_EN = labels_of("va_category", "en")
METHODS = tuple(str(m) for m in LABELS["va_method"])   # mlm, residual, zchange, rankchange

Scale = Literal["z", "raw"]


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------
def va_students_sql() -> str:
    """One row per student present on the current paper ``$paper``, with the entry score from
    ``$prior`` (NULL when absent), both raw and standardised within their paper, and the
    percentile rank (0–100) among each paper's takers."""
    return """
        WITH cur AS (
            SELECT student_key, total,
                   (total - avg(total) OVER ()) / nullif(stddev_samp(total) OVER (), 0) AS z,
                   100 * percent_rank() OVER (ORDER BY total) AS pr
            FROM paper_results WHERE paper_id = $paper AND status = 'present'
        ), pri AS (
            SELECT student_key, total,
                   (total - avg(total) OVER ()) / nullif(stddev_samp(total) OVER (), 0) AS z,
                   100 * percent_rank() OVER (ORDER BY total) AS pr
            FROM paper_results WHERE paper_id = $prior AND status = 'present'
        )
        SELECT t.student_key, t.zone_id, t.zone_name, t.school_id, t.school_name,
               t.class_id, t.class_name,
               CASE t.gender WHEN 'F' THEN 1.0 WHEN 'M' THEN 0.0 END AS female, t.ses,
               c.total AS y_raw, c.z AS y_z, c.pr AS y_pr,
               p.total AS x_raw, p.z AS x_z, p.pr AS x_pr
        FROM cur c
        JOIN student_tree t USING (student_key)
        LEFT JOIN pri p USING (student_key)
    """


def _xcols(covariates: Sequence[str]) -> list[str]:
    return ["1.0", "x", *[COVARIATES[c] for c in covariates]]


def va_cell_stats_sql(source: str, covariates: Sequence[str] = (), cell: str = "class") -> str:
    """Per-cell sufficient statistics of the random-intercept model, from relation ``source``
    with columns school_id, class_id, y, x, female, ses (trusted identifiers only).

    ``cell="class"`` groups by school × class (NULL class = one pseudo-class per school),
    ``cell="school"`` by school. Output: school_id, class_id, n, s_i = Σx_i, ss_i_j = Σx_i x_j
    (i ≤ j), sxy_i = Σx_i y, sy, syy, for x_0 = 1, x_1 = entry, then the covariates.
    """
    cols = _xcols(covariates)
    p = len(cols)
    parts = ["count(*) AS n"]
    parts += [f"sum({cols[i]}) AS s_{i}" for i in range(1, p)]
    parts += [f"sum({cols[i]} * {cols[j]}) AS ss_{i}_{j}" for i in range(1, p) for j in range(i, p)]
    parts += [f"sum({cols[i]} * y) AS sxy_{i}" for i in range(1, p)]
    parts += ["sum(y) AS sy", "sum(y * y) AS syy"]
    complete = " AND ".join(["y IS NOT NULL", "x IS NOT NULL",
                             *[f"{COVARIATES[c]} IS NOT NULL" for c in covariates]])
    cls = "class_id" if cell == "class" else "NULL::INTEGER AS class_id"
    group = "school_id, class_id" if cell == "class" else "school_id"
    return f"""
        SELECT school_id, {cls}, {", ".join(parts)}
        FROM {source}
        WHERE {complete}
        GROUP BY {group}
        ORDER BY school_id{", class_id" if cell == "class" else ""}
    """


def va_counts_sql(source: str, covariates: Sequence[str] = (), cell: str = "school") -> str:
    """Per school (or class): students on the current paper, those without an entry score and
    those without a requested covariate."""
    cov = " OR ".join(f"{COVARIATES[c]} IS NULL" for c in covariates) or "false"
    keys = ("zone_id, zone_name, school_id, school_name" if cell == "school"
            else "school_id, school_name, class_id, class_name")
    return f"""
        SELECT {keys}, count(*) AS n_current,
               count(*) FILTER (WHERE x IS NULL) AS n_missing_prior,
               count(*) FILTER (WHERE x IS NOT NULL AND ({cov})) AS n_missing_covariates
        FROM {source}
        GROUP BY ALL
    """


def categorise(va: npt.ArrayLike, ci_low: npt.ArrayLike, ci_high: npt.ArrayLike,
               min_effect: float = 0.0) -> np.ndarray:
    """``above`` when ci_low > 0 and va ≥ min_effect, ``below`` when ci_high < 0 and
    va ≤ −min_effect, else ``as_expected``; NaN intervals give ``as_expected``."""
    va, lo, hi = (np.asarray(a, float) for a in (va, ci_low, ci_high))
    out = np.full(va.shape, "as_expected", dtype=object)
    out[(lo > 0) & (va >= min_effect)] = "above"
    out[(hi < 0) & (va <= -min_effect)] = "below"
    return out


def with_category(frame: pd.DataFrame, min_effect: float = 0.0) -> pd.DataFrame:
    """Add ``ci_low``, ``ci_high`` (va ∓ 1.96 se) and ``category`` (:func:`categorise`) to a
    frame with ``va`` and ``se`` (in place; returns the frame)."""
    frame["ci_low"], frame["ci_high"] = normal_interval(frame["va"], frame["se"])
    frame["category"] = categorise(frame["va"], frame["ci_low"], frame["ci_high"], min_effect)
    return frame


# --------------------------------------------------------------------------------------------
# From the warehouse
# --------------------------------------------------------------------------------------------
@dataclass
class VAResult:
    """A fitted value-added model: ``effects`` (the tidy frame), ``fixed`` (β with SE and
    interval), the variance components and the fit itself."""

    effects: pd.DataFrame
    fixed: pd.DataFrame
    fit: REMLFit
    n_missing_prior: int
    n_missing_covariates: int


def _check_scale(scale: str) -> None:
    if scale not in ("z", "raw"):
        raise InputError(f"未知的分数尺度「{scale}」,可选 z、raw / unknown scale {scale!r}; "
                         "choose z or raw")


def _check_covariates(covariates: Sequence[str]) -> tuple[str, ...]:
    bad = [c for c in covariates if c not in COVARIATES]
    if bad:
        raise InputError(f"未知的协变量 {', '.join(bad)},可选 gender、ses / unknown covariates "
                         f"{', '.join(bad)}; choose from gender, ses")
    return tuple(dict.fromkeys(covariates))


def _students_view(wh: Backend, exam: str, prior_exam: str, subject: str,
                   grade: int | None, scale: str) -> tuple[str, dict[str, int]]:
    cur = resolve_paper(wh, exam, subject, grade)
    try:  # the same grade's paper of the entry exam, else its only paper in the subject
        pri = resolve_paper(wh, prior_exam, subject, cur.grade)
    except NotFoundError:
        pri = resolve_paper(wh, prior_exam, subject, None)
    sfx = "z" if scale == "z" else "raw"
    sql = (f"(SELECT *, y_{sfx} AS y, x_{sfx} AS x FROM ({va_students_sql()}))")
    return sql, {"paper": cur.paper_id, "prior": pri.paper_id}


@fill_doc
def value_added_model(
    wh: Backend,
    *,
    exam: str,
    prior_exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    scale: Scale = "z",
    covariates: Sequence[str] = (),
    classes: bool | None = None,
    min_effect: float = 0.0,
    reml: bool = True,
) -> VAResult:
    """Fit the multilevel value-added model and return effects, fixed effects and the fit.

    See :func:`value_added` for the columns of ``effects``.

    Parameters
    ----------
    {va_model}
    reml : bool
        Fit the variance components by REML (default) rather than maximum likelihood.

    Returns
    -------
    VAResult
        ``effects`` (the frame :func:`value_added` returns), ``fixed`` (β̂ with SE and
        interval), ``fit`` (the REML fit: variance components), ``n_missing_prior``,
        ``n_missing_covariates``.
    """
    if level not in ("school", "class"):
        raise InputError(f"增值评价的层级只能是 school 或 class / value-added level must be "
                         f"school or class, not {level!r}")
    _check_scale(scale)
    covs = _check_covariates(covariates)
    src, params = _students_view(wh, exam, prior_exam, subject, grade, scale)
    cells = wh.df(va_cell_stats_sql(src, covs, "class"), params)
    if cells.empty:
        raise InputError(f"考试「{exam}」与入口考试「{prior_exam}」没有共同的学生 / no student sat "
                         f"both {exam!r} and the entry exam {prior_exam!r} in {subject}")
    n_classes = cells["class_id"].nunique(dropna=False)
    n_schools = cells["school_id"].nunique()
    use_classes = (level == "class" or n_classes > n_schools) if classes is None else classes
    if level == "class" and not use_classes:
        raise InputError("按班级报告需要班级层模型 / --level class needs the class level")
    p = 2 + len(covs)
    if use_classes:
        group = pd.factorize(cells["school_id"], sort=True)[0]
        st = CellStats.from_frame(cells, p, group)
    else:
        by_school = cells.drop(columns="class_id").groupby("school_id", sort=True).sum()
        by_school = by_school.reset_index()
        cells = by_school.assign(class_id=pd.Series(pd.NA, index=by_school.index, dtype=object))
        st = CellStats.from_frame(by_school, p, np.arange(len(by_school)))
    fit = reml_fit_kept(st, classes=use_classes, reml=reml)

    counts = wh.df(va_counts_sql(src, covs, level), params)
    if level == "school":
        est = pd.DataFrame({"school_id": np.sort(cells["school_id"].unique()),
                            "n": np.bincount(st.group, st.n, st.n_groups).astype(int),
                            "va": fit.school_effect, "se": fit.school_se,
                            "cond_sd": fit.school_cond_sd})
        keys = ["zone_id", "zone_name", "school_id", "school_name"]
        out = counts.merge(est, on="school_id", how="left")
    else:
        est = pd.DataFrame({"school_id": cells["school_id"].to_numpy(),
                            "class_id": cells["class_id"].to_numpy(),
                            "n": st.n.astype(int), "va": fit.class_total, "se": fit.class_se,
                            "cond_sd": fit.class_cond_sd, "va_within_school": fit.class_effect,
                            "va_school": fit.school_effect[st.group]})
        keys = ["school_id", "school_name", "class_id", "class_name"]
        counts["class_id"] = counts["class_id"].astype("Int64")
        est["class_id"] = est["class_id"].astype("Int64")
        out = counts.merge(est, on=["school_id", "class_id"], how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    with_category(out, min_effect)
    out.loc[out["va"].isna(), "category"] = None
    cols = [*keys, "n", "n_missing_prior", "n_missing_covariates", "va", "se", "ci_low",
            "ci_high", "category", "cond_sd"]
    if level == "class":
        cols += ["va_school", "va_within_school"]
    sort = ["school_id"] if level == "school" else ["school_id", "class_id"]
    out = out[cols].sort_values(sort).reset_index(drop=True)

    names = ["intercept", "prior", *[COVARIATES[c] for c in covs]]
    se_b = np.sqrt(np.diag(fit.beta_cov))
    lo, hi = normal_interval(fit.beta, se_b)
    fixed = pd.DataFrame({"term": names, "estimate": fit.beta, "se": se_b, "ci_low": lo,
                          "ci_high": hi})
    return VAResult(effects=out, fixed=fixed, fit=fit,
                    n_missing_prior=int(counts["n_missing_prior"].sum()),
                    n_missing_covariates=int(counts["n_missing_covariates"].sum()))


@fill_doc
def value_added(
    wh: Backend,
    *,
    exam: str,
    prior_exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    scale: Scale = "z",
    covariates: Sequence[str] = (),
    classes: bool | None = None,
    min_effect: float = 0.0,
) -> pd.DataFrame:
    """Multilevel value-added (增值) of each school or class, with 95% intervals and category.

    Parameters
    ----------
    {va_model}

    Returns
    -------
    pandas.DataFrame
        One row per school (``zone_id, zone_name, school_id, school_name``) or class
        (``school_id, school_name, class_id, class_name``), then ``n`` (students in the model),
        ``n_missing_prior`` (sat the current paper, no entry score: counted, not modelled),
        ``n_missing_covariates``, ``va`` (EBLUP), ``se`` (prediction-error SD incl. the
        uncertainty of β̂), ``ci_low``, ``ci_high`` (va ± 1.96 se), ``category``
        (above | as_expected | below; see :data:`CATEGORY_LABELS`), ``cond_sd`` (conditional SD
        given β̂, as lme4's condVar); for classes also ``va_school`` and ``va_within_school``
        (va = va_school + va_within_school).

    Notes
    -----
    Model, formulas and sources in the module docstring.
    """
    return value_added_model(wh, exam=exam, prior_exam=prior_exam, subject=subject, grade=grade,
                             level=level, scale=scale, covariates=covariates, classes=classes,
                             min_effect=min_effect).effects


# --------------------------------------------------------------------------------------------
# Simple methods side by side
# --------------------------------------------------------------------------------------------
def va_simple_sql(source: str, level: str) -> str:
    """Per school (or class) sums for the simple methods over students with both scores."""
    keys = ("zone_id, zone_name, school_id, school_name" if level == "school"
            else "school_id, school_name, class_id, class_name")
    return f"""
        SELECT {keys},
               count(*) FILTER (WHERE x IS NULL) AS n_missing_prior,
               count(x) AS n, sum(x) AS sx, sum(x * x) AS sxx, sum(y) FILTER (WHERE x IS NOT NULL)
               AS sy, sum(x * y) AS sxy, sum(y * y) FILTER (WHERE x IS NOT NULL) AS syy,
               avg(y_z - x_z) AS dz, stddev_samp(y_z - x_z) AS dz_sd,
               avg(y_pr - x_pr) AS dr, stddev_samp(y_pr - x_pr) AS dr_sd
        FROM {source}
        GROUP BY ALL
    """


@fill_doc
def value_added_simple(
    wh: Backend,
    *,
    exam: str,
    prior_exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    scale: Scale = "z",
    method: str = "residual",
    min_effect: float = 0.0,
) -> pd.DataFrame:
    """The simpler value-added methods districts use (see the module docstring for formulas).

    Parameters
    ----------
    {growth_paper}
    {growth_level}
    {scale}
    method : {"residual", "zchange", "rankchange"}
        入口定出口 mean residual of a pooled OLS; change in mean z; change in mean percentile
        rank (0–100). ``scale`` applies to ``residual`` only.
    {min_effect}

    Returns
    -------
    pandas.DataFrame
        The key columns of ``level``, ``n``, ``n_missing_prior``, ``va``, ``se``, ``ci_low``,
        ``ci_high``, ``category`` (above | as_expected | below).
    """
    if method not in METHODS[1:]:
        raise InputError(f"未知的方法「{method}」/ unknown method {method!r}; choose from "
                         f"{', '.join(METHODS)}")
    _check_scale(scale)
    src, params = _students_view(wh, exam, prior_exam, subject, grade, scale)
    g = wh.df(va_simple_sql(src, level), params)
    keys = list(g.columns[:4])
    n = g["n"].to_numpy(float)
    if method == "residual":
        XtX = np.array([[n.sum(), g["sx"].sum()], [g["sx"].sum(), g["sxx"].sum()]])
        Xty = np.array([g["sy"].sum(), g["sxy"].sum()])
        beta = np.linalg.solve(XtX, Xty)
        rss = g["syy"].sum() - Xty @ beta
        s2 = rss / (n.sum() - 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            va = (g["sy"].to_numpy(float) - beta[0] * n - beta[1] * g["sx"].to_numpy(float)) / n
            xbar = np.column_stack([np.ones_like(n), g["sx"].to_numpy(float) / n])
            lev = np.einsum("ji,ik,jk->j", xbar, np.linalg.inv(XtX), xbar)
            se = np.sqrt(s2 * np.maximum(1 / n - lev, 0))
    elif method == "zchange":
        va = g["dz"].to_numpy(float)
        se = g["dz_sd"].to_numpy(float) / np.sqrt(n)
    else:
        va = g["dr"].to_numpy(float)
        se = g["dr_sd"].to_numpy(float) / np.sqrt(n)
    out = g[keys].copy()
    out["n"] = g["n"].astype(int)
    out["n_missing_prior"] = g["n_missing_prior"].astype(int)
    out["va"], out["se"] = va, se
    with_category(out, min_effect)
    sort = ["school_id"] if level == "school" else ["school_id", "class_id"]
    return out.sort_values(sort).reset_index(drop=True)


@fill_doc
def value_added_compare(
    wh: Backend,
    *,
    exam: str,
    prior_exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    scale: Scale = "z",
    covariates: Sequence[str] = (),
    methods: Sequence[str] = METHODS,
    min_effect: float = 0.0,
) -> pd.DataFrame:
    """All methods side by side, long format: one row per unit × method.

    Parameters
    ----------
    {growth_paper}
    {growth_level}
    {scale}
    {covariates}
    methods : sequence of {"mlm", "residual", "zchange", "rankchange"}
        The methods compared (default all four); ``covariates`` apply to ``mlm`` only.
    {min_effect}

    Returns
    -------
    pandas.DataFrame
        The key columns, ``method`` (mlm | residual | zchange | rankchange), ``n``,
        ``n_missing_prior``, ``va``, ``se``, ``ci_low``, ``ci_high``, ``category``, ``rank``
        (1 = highest va within the method; ties share the better rank).
    """
    frames = []
    for m in methods:
        if m == "mlm":
            f = value_added(wh, exam=exam, prior_exam=prior_exam, subject=subject, grade=grade,
                            level=level, scale=scale, covariates=covariates,
                            min_effect=min_effect)
        else:
            f = value_added_simple(wh, exam=exam, prior_exam=prior_exam, subject=subject,
                                   grade=grade, level=level, scale=scale, method=m,
                                   min_effect=min_effect)
        keys = list(f.columns[:4])
        f = f[[*keys, "n", "n_missing_prior", "va", "se", "ci_low", "ci_high", "category"]]
        f.insert(4, "method", m)
        f["rank"] = f["va"].rank(ascending=False, method="min").astype("Int64")
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Several years: pooled estimate and stability
# --------------------------------------------------------------------------------------------
def value_added_pooled(
    wh: Backend,
    *,
    pairs: Sequence[tuple[str, str]],
    subject: str,
    grade: int | None = None,
    scale: Scale = "z",
    covariates: Sequence[str] = (),
    min_effect: float = 0.0,
) -> pd.DataFrame:
    """Multi-year pooled school VA: precision-weighted mean over several (exam, prior) pairs.

    ``va = Σ_t w_t va_t / Σ_t w_t`` with ``w_t = 1/se_t²`` and ``se = 1/sqrt(Σ_t w_t)``
    (fixed-effect meta-analysis; it treats the years' estimates as independent estimates of one
    stable effect — the year-to-year correlation from :func:`value_added_stability` shows how
    far that holds).

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, school_id, school_name, n_pairs, n`` (students over all pairs),
        ``n_missing_prior``, ``va``, ``se``, ``ci_low``, ``ci_high``, ``category``.
    """
    if not pairs:
        raise InputError("至少需要一对考试 / give at least one (exam, prior exam) pair")
    frames = []
    for t, (exam, prior) in enumerate(pairs):
        f = value_added(wh, exam=exam, prior_exam=prior, subject=subject, grade=grade,
                        scale=scale, covariates=covariates, classes=False)
        frames.append(f.assign(pair=t))
    a = pd.concat(frames, ignore_index=True).dropna(subset=["va", "se"])
    a["w"] = 1.0 / a["se"] ** 2
    a["wva"] = a["w"] * a["va"]
    keys = ["zone_id", "zone_name", "school_id", "school_name"]
    g = a.groupby(keys, dropna=False).agg(
        n_pairs=("pair", "nunique"), n=("n", "sum"), n_missing_prior=("n_missing_prior", "sum"),
        w=("w", "sum"), wva=("wva", "sum")).reset_index()
    g["va"] = g["wva"] / g["w"]
    g["se"] = 1.0 / np.sqrt(g["w"])
    g = with_category(g, min_effect).sort_values("school_id").reset_index(drop=True)
    return g[[*keys, "n_pairs", "n", "n_missing_prior", "va", "se", "ci_low", "ci_high",
              "category"]]


def value_added_stability(
    wh: Backend,
    *,
    pairs: Sequence[tuple[str, str]],
    subject: str,
    grade: int | None = None,
    scale: Scale = "z",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Year-to-year correlation of school VA between consecutive (exam, prior) pairs.

    Returns
    -------
    pandas.DataFrame
        One row per consecutive pair: ``exam_a``, ``exam_b``, ``n`` (schools in both),
        ``r`` (Pearson), ``ci_low``, ``ci_high`` (Fisher z: atanh r ± 1.96/√(n−3)),
        ``rho`` (Spearman).
    """
    fits = [value_added(wh, exam=e, prior_exam=p, subject=subject, grade=grade, scale=scale,
                        covariates=covariates, classes=False)[["school_id", "va"]]
            for e, p in pairs]
    rows = []
    for t in range(1, len(pairs)):
        m = fits[t - 1].merge(fits[t], on="school_id", suffixes=("_a", "_b")).dropna()
        n = len(m)
        r = float(np.corrcoef(m["va_a"], m["va_b"])[0, 1]) if n >= 3 else float("nan")
        rho = float(stats.spearmanr(m["va_a"], m["va_b"])[0]) if n >= 3 else float("nan")
        half = Z95 / math.sqrt(n - 3) if n > 3 else float("nan")
        z = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15)) if r == r else float("nan")
        rows.append({"exam_a": pairs[t - 1][0], "exam_b": pairs[t][0], "n": n, "r": r,
                     "ci_low": math.tanh(z - half), "ci_high": math.tanh(z + half), "rho": rho})
    return pd.DataFrame(rows, columns=["exam_a", "exam_b", "n", "r", "ci_low", "ci_high", "rho"])
