"""Score reports (成绩分析): 三率一分, 超均率, standard scores, ranks, bands, percentiles, 临界生.

Every function takes the paper as ``exam``/``subject``/``grade`` (see
:func:`analytics.lookup.resolve_paper`) and returns a tidy frame: one row per unit at ``level``
(its :data:`analytics.domain.levels.LEVEL_KEYS` first), then ``n``, then unrounded statistics.
Only students whose status is ``present`` count in ``n`` and the statistics; ``absent`` (缺考)
and ``void`` (作弊/违纪) students are counted apart. The reference population for 超均率 and
standard scores is the district (all present students of the paper in the same district), also
when ``school`` restricts the rows returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analytics.compat import renamed
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.lookup import PaperRef, resolve_paper, school_id_of
from analytics.stats.intervals import t_half_width
from analytics.warehouse import Backend

BY_COLUMNS = ("gender", "ownership", "locality", "hukou")
DEFAULT_PERCENTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
N_BANDS = 10


def _check_by(by: str | None) -> str | None:
    if by is not None and by not in BY_COLUMNS:
        raise InputError(
            f"未知的分组「{by}」,可选 {', '.join(BY_COLUMNS)} / unknown breakdown {by!r}; "
            f"choose one of {', '.join(BY_COLUMNS)}"
        )
    return by


def _group_cols(level: str, by: str | None) -> list[str]:
    cols = list(LEVEL_KEYS[check_level(level)])
    if _check_by(by):
        cols.append(str(by))
    return cols


def _school_filter(wh: Backend, school: str | int | None, level: str = "school") -> int | None:
    """The school id to keep, or None. Only rows of school or class level can be filtered;
    ranks and references are computed before the filter."""
    if school is None:
        return None
    if level not in ("school", "class"):
        raise InputError(
            "指定学校时层级须为 school 或 class / a school filter needs level school or class"
        )
    return school_id_of(wh, school)


#: The results a report reads by default: one paper's (``$paper_id``) rows of paper_results.
PAPER_RESULTS = "SELECT student_key, status, total FROM paper_results WHERE paper_id = $paper_id"


def _unit_rows(wh: Backend, sql_of: Callable[[list[str]], str], *, exam: str, subject: str,
               grade: int | None, level: str, by: str | None, school: str | int | None,
               extra: Callable[[PaperRef], dict[str, Any]] = lambda _paper: {},
               ) -> tuple[PaperRef, list[str], pd.DataFrame]:
    """The paper, its unit columns at ``level`` (× ``by``) and the rows of ``sql_of(columns)``
    with ``$paper_id``, ``$school_id`` (the school filter) and ``extra(paper)`` bound."""
    paper = resolve_paper(wh, exam, subject, grade)
    cols = _group_cols(level, by)
    prm = {"paper_id": paper.paper_id, "school_id": _school_filter(wh, school, level),
           **extra(paper)}
    return paper, cols, wh.df(sql_of(cols), prm)


def base_sql(results: str = PAPER_RESULTS) -> str:
    """Every student with a result on the paper, with the reporting tree and the district's
    reference mean and SD (``d_mean``, ``d_sd``, over present students).

    ``results`` is a trusted SQL query with columns ``student_key``, ``status``, ``total``
    (default :data:`PAPER_RESULTS`; :mod:`analytics.scoretables` passes the exam's total across
    subjects)."""
    return f"""
        WITH base AS (
            SELECT s.*, pr.status, pr.total AS t
            FROM ({results}) pr JOIN student_tree s USING (student_key)
        ),
        ref AS (
            SELECT district_id, avg(t) AS d_mean, stddev_samp(t) AS d_sd
            FROM base WHERE status = 'present' GROUP BY district_id
        )
        SELECT base.*, ref.d_mean, ref.d_sd
        FROM base LEFT JOIN ref ON base.district_id IS NOT DISTINCT FROM ref.district_id
    """


def score_report_sql(group_cols: list[str], rank_partition: list[str],
                     results: str = PAPER_RESULTS) -> str:
    """Aggregate per unit; ``group_cols`` and ``rank_partition`` are trusted identifiers,
    ``results`` the results read (:func:`base_sql`).
    At school and class level rows can be restricted to one school (``$school_id``) after
    ranking."""
    g = ", ".join(group_cols)
    qualify = ("QUALIFY $school_id IS NULL OR school_id = $school_id"
               if "school_id" in group_cols else "")
    part = ("PARTITION BY " + ", ".join(rank_partition)) if rank_partition else ""
    return f"""
        WITH b AS ({base_sql(results)}),
        agg AS (
            SELECT {g},
                   count(t) AS n,
                   count(*) FILTER (WHERE status = 'absent') AS n_absent,
                   count(*) FILTER (WHERE status = 'void') AS n_void,
                   avg(t) AS mean, stddev_samp(t) AS sd, median(t) AS median,
                   max(t) AS max, min(t) AS min,
                   avg(CAST(t >= $excellent AS DOUBLE)) AS excellent_rate,
                   avg(CAST(t >= $pass AS DOUBLE)) AS pass_rate,
                   avg(CAST(t < $low AS DOUBLE)) AS low_rate,
                   any_value(d_mean) AS district_mean, any_value(d_sd) AS district_sd,
                   any_value(district_id) AS _did
            FROM b GROUP BY {g}
        )
        SELECT *,
               mean / district_mean - 1 AS above_mean_rate,
               (mean - district_mean) / district_sd AS z_mean,
               50 + 10 * (mean - district_mean) / district_sd AS t_mean,
               CASE WHEN n > 0 THEN rank() OVER ({part} ORDER BY mean DESC NULLS LAST) END
                   AS rank,
               count(*) FILTER (WHERE n > 0) OVER ({part}) AS n_ranked
        FROM agg
        {qualify}
        ORDER BY {g}
    """


def _params(paper: PaperRef, school_id: int | None, with_school: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {"school_id": school_id} if with_school else {}
    return {**extra, "paper_id": paper.paper_id,
            "excellent": paper.excellent_line, "pass": paper.pass_line, "low": paper.low_line}


@renamed(confidence="conf")
@fill_doc
def score_report(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """三率一分 and more per unit: the core score report (成绩分析).

    Parameters
    ----------
    {unit_report}
    conf : float
        Confidence level of the t interval of the mean (``confidence`` before 0.2.0).

    Returns
    -------
    pandas.DataFrame
        One row per unit (× ``by``): the level keys (and ``by``), ``n`` (present, 实考),
        ``n_absent`` (缺考), ``n_void`` (作弊/违纪), ``mean``, ``sd`` (n − 1), ``median``, ``max``,
        ``min``, ``excellent_rate`` (优秀率, share with total ≥ excellent line), ``pass_rate``
        (及格率, ≥ pass line), ``low_rate`` (低分率, < low line), ``district_mean``,
        ``district_sd``, ``above_mean_rate`` (超均率), ``z_mean``, ``t_mean``, ``rank``,
        ``n_ranked``, ``ci_low``, ``ci_high``, ``full_score``.

    Notes
    -----
    * Lines come from the paper; NULL lines default to 85% / 60% / 40% of the full score
      (:mod:`analytics.lookup`).
    * 超均率 = mean ÷ district mean − 1 (the district reference is all present students of the
      paper in the unit's district).
    * Standard scores: z = (x − μ_d) / σ_d with the district mean and SD (n − 1); the mean of
      a unit's z is (mean − μ_d) / σ_d; T = 50 + 10 z.
    * ``rank``: units of the level ranked by mean, highest first, ties sharing the better rank
      (SQL ``rank()``, pandas ``method='min'``: 1, 2, 2, 4), among peers in the same district
      (and the same ``by`` value). Ranks are an internal view (see the 2021 MoE rule on levels).
    * ``ci_low``/``ci_high``: mean ± t_{(1+c)/2, n−1} · sd/√n.
    """
    paper = resolve_paper(wh, exam, subject, grade)
    cols = _group_cols(level, by)
    partition = [] if level == "district" else ["_did"]
    if by:
        partition.append(str(by))
    sql = score_report_sql(cols, partition)
    out = wh.df(sql, _params(paper, _school_filter(wh, school, level), "school_id" in cols))
    return finish_report(out, paper.full_score, conf)


def finish_report(out: pd.DataFrame, full_score: float, conf: float) -> pd.DataFrame:
    """The Python part of a score report on the frame of :func:`score_report_sql`: the t
    interval of the mean (``ci_low``, ``ci_high``), ``full_score``, ranks as integers."""
    half = t_half_width(out["sd"].to_numpy(dtype=float), out["n"].to_numpy(dtype=float),
                        conf)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["full_score"] = full_score
    out = out.drop(columns="_did")
    if "rank" in out:
        out["rank"] = out["rank"].astype("Int64")
    return out.reset_index(drop=True)


def score_bands_sql(group_cols: list[str]) -> str:
    """Count the present students of paper ``$paper_id`` per group × score band.

    ``group_cols`` are trusted identifiers; ``$full`` the full score; ``$school_id`` keeps one
    school (NULL: all). The band is ``floor(total / full × 10)``, the full score in the last
    band (9). Columns: ``group_cols``, ``band`` (0..9), ``count``.
    """
    g = ", ".join(group_cols)
    return f"""
        WITH b AS ({base_sql()})
        SELECT {g},
               least(CAST(floor(t / $full * {N_BANDS}) AS INTEGER), {N_BANDS - 1}) AS band,
               count(*) AS count
        FROM b WHERE status = 'present' AND ($school_id IS NULL OR school_id = $school_id)
        GROUP BY ALL
    """


@fill_doc
def score_bands(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
) -> pd.DataFrame:
    """Score-band distribution (分数段): 10 bands of 10% of the full score.

    Parameters
    ----------
    {unit_report}

    Returns
    -------
    pandas.DataFrame
        One row per unit: keys, ``n``, then for each band ``count_L_H`` and ``share_L_H`` with
        L, H the band's bounds in percent of the full score: 0_10, 10_20, …, 90_100. A band
        holds L% · F ≤ total < H% · F; the last band is closed (it holds the full score).
        Shares are count ÷ n.
    """
    _, cols, long = _unit_rows(wh, score_bands_sql, exam=exam, subject=subject, grade=grade,
                               level=level, by=by, school=school,
                               extra=lambda paper: {"full": paper.full_score})
    names = [f"{10 * b}_{10 * (b + 1)}" for b in range(N_BANDS)]
    keys = list(cols)
    if long.empty:
        return pd.DataFrame(columns=[*keys, "n"] + [f"count_{x}" for x in names]
                            + [f"share_{x}" for x in names])
    wide = long.pivot_table(index=keys, columns="band", values="count", aggfunc="sum",
                            fill_value=0, observed=True)
    wide = wide.reindex(columns=range(N_BANDS), fill_value=0)
    counts = wide.to_numpy(dtype=float)
    n = counts.sum(axis=1)
    out = wide.index.to_frame(index=False)
    out["n"] = n.astype(int)
    for b, name in enumerate(names):
        out[f"count_{name}"] = counts[:, b].astype(int)
    for b, name in enumerate(names):
        out[f"share_{name}"] = counts[:, b] / n
    return out[out["n"] > 0].reset_index(drop=True)


def percentiles_sql(group_cols: list[str]) -> str:
    """The percentiles of the present students' totals of paper ``$paper_id`` per group.

    ``group_cols`` are trusted identifiers; ``$probs`` the list of probabilities; ``$school_id``
    keeps one school (NULL: all). Columns: ``group_cols``, ``n``, ``q`` (the list of
    ``quantile_cont`` values, one per probability: linear interpolation, R's type 7).
    """
    g = ", ".join(group_cols)
    return f"""
        WITH b AS ({base_sql()})
        SELECT {g}, count(t) AS n, quantile_cont(t, $probs) AS q
        FROM b WHERE status = 'present' AND ($school_id IS NULL OR school_id = $school_id)
        GROUP BY ALL ORDER BY ALL
    """


@fill_doc
def percentiles(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
    probs: tuple[float, ...] = DEFAULT_PERCENTILES,
) -> pd.DataFrame:
    """Percentiles of the total per unit.

    Parameters
    ----------
    {unit_report}
    probs : tuple of float
        The probabilities of the percentiles (default 0.1, 0.25, 0.5, 0.75, 0.9).

    Returns
    -------
    pandas.DataFrame
        Keys, ``n``, and ``p10``, ``p25``, ``p50`` … (one column per entry of ``probs``, named
        ``p`` + 100·prob, e.g. ``p2.5`` for 0.025).

    Notes
    -----
    DuckDB ``quantile_cont``: linear interpolation between order statistics, the same as
    R's type 7 and numpy's default ``np.percentile(..., method='linear')``.
    """
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise InputError("百分位须在 0 与 1 之间 / percentiles must lie between 0 and 1")
    _, _, raw = _unit_rows(wh, percentiles_sql, exam=exam, subject=subject, grade=grade,
                           level=level, by=by, school=school,
                           extra=lambda _paper: {"probs": list(probs)})
    out = raw.drop(columns="q")
    qs = np.array([list(v) for v in raw["q"]], dtype=float).reshape(len(raw), len(probs))
    for j, p in enumerate(probs):
        out[f"p{100 * p:g}"] = qs[:, j]
    return out


def grade_bands_sql(group_cols: list[str], results: str = PAPER_RESULTS) -> str:
    """Count the present students of paper ``$paper_id`` per group in each grade band.

    ``group_cols`` are trusted identifiers; ``$a``, ``$b``, ``$c`` the lower bounds of bands
    A, B, C in points; ``$school_id`` keeps one school (NULL: all). Columns: ``group_cols``,
    ``n``, ``n_a`` (total ≥ a), ``n_b`` (b ≤ total < a), ``n_c`` (c ≤ total < b), ``n_d``
    (total < c). ``results``: as :func:`base_sql`.
    """
    g = ", ".join(group_cols)
    return f"""
        WITH b AS ({base_sql(results)})
        SELECT {g}, count(t) AS n,
               count(*) FILTER (WHERE t >= $a) AS n_a,
               count(*) FILTER (WHERE t >= $b AND t < $a) AS n_b,
               count(*) FILTER (WHERE t >= $c AND t < $b) AS n_c,
               count(*) FILTER (WHERE t < $c) AS n_d
        FROM b WHERE status = 'present' AND ($school_id IS NULL OR school_id = $school_id)
        GROUP BY ALL ORDER BY ALL
    """


@fill_doc
def grade_bands(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
) -> pd.DataFrame:
    """Share of students in each grade band (等级评价 A/B/C/D) per unit.

    Since 2021 the Ministry of Education asks compulsory schools to report results as levels
    rather than scores or ranks, so this is a first-class report.

    Parameters
    ----------
    {unit_report}

    Returns
    -------
    pandas.DataFrame
        Keys, ``n``, ``n_a``, ``n_b``, ``n_c``, ``n_d``, ``share_a`` … ``share_d``,
        ``band_a``, ``band_b``, ``band_c`` (the lower bounds used, in points).

    Notes
    -----
    A: total ≥ band_a; B: band_b ≤ total < band_a; C: band_c ≤ total < band_b; D: below band_c.
    Bounds come from the paper; NULL bounds default to 85% / 70% / 60% of the full score.
    """
    paper, _, out = _unit_rows(wh, grade_bands_sql, exam=exam, subject=subject, grade=grade,
                               level=level, by=by, school=school,
                               extra=lambda p: {"a": p.band_a, "b": p.band_b, "c": p.band_c})
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        for x in "abcd":
            out[f"share_{x}"] = out[f"n_{x}"].to_numpy(dtype=float) / n
    out["band_a"], out["band_b"], out["band_c"] = paper.band_a, paper.band_b, paper.band_c
    return out


def borderline_sql() -> str:
    """The present students of paper ``$paper_id`` just under a line:
    ``line_score − $buffer ≤ total < line_score``.

    ``$excellent``, ``$pass`` are the lines in points; ``$which`` the list of lines to keep
    (``excellent``, ``pass``); ``$school_id`` keeps one school (NULL: all). One row per student
    × line: ``student_key``, ``student_id``, ``student_name``, ``zone_id``, ``zone_name``,
    ``school_id``, ``school_name``, ``class_id``, ``class_name``, ``gender``, ``line``,
    ``line_score``, ``total``, ``gap`` (line_score − total).
    """
    return f"""
        WITH b AS ({base_sql()}),
        lines AS (SELECT * FROM (VALUES ('excellent', $excellent), ('pass', $pass))
                  AS v(line, line_score))
        SELECT b.student_key, b.student_id, b.student_name, b.zone_id, b.zone_name,
               b.school_id, b.school_name, b.class_id, b.class_name, b.gender,
               lines.line, lines.line_score, b.t AS total, lines.line_score - b.t AS gap
        FROM b JOIN lines ON b.t >= lines.line_score - $buffer AND b.t < lines.line_score
        WHERE b.status = 'present' AND list_contains($which, lines.line)
              AND ($school_id IS NULL OR b.school_id = $school_id)
        ORDER BY lines.line, b.school_id, b.class_id, gap, b.student_key
    """


@fill_doc
def borderline_students(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    lines: tuple[str, ...] = ("excellent", "pass"),
    buffer: float | None = None,
    school: str | int | None = None,
) -> pd.DataFrame:
    """临界生: students just under a line, ``line − buffer ≤ total < line``.

    Parameters
    ----------
    {paper}
    lines : tuple of {'excellent', 'pass'}
        Which lines to list.
    buffer : float, optional
        Points below the line; default the paper's ``borderline_buffer`` (NULL: 5% of the
        full score).
    {school}

    Returns
    -------
    pandas.DataFrame
        One row per student × line: ``student_key``, ``student_id``, ``student_name``,
        ``zone_id``, ``zone_name``, ``school_id``, ``school_name``, ``class_id``,
        ``class_name``, ``gender``, ``line``, ``line_score``, ``total``, ``gap``
        (line_score − total, > 0).
    """
    bad = [x for x in lines if x not in ("excellent", "pass")]
    if bad:
        raise InputError(f"未知的分数线 {bad} / unknown lines {bad}; use excellent, pass")
    paper = resolve_paper(wh, exam, subject, grade)
    buf = paper.borderline_buffer if buffer is None else float(buffer)
    if buf < 0:
        raise InputError("临界分差不能为负 / the buffer cannot be negative")
    return wh.df(borderline_sql(), {
        "paper_id": paper.paper_id, "school_id": _school_filter(wh, school),
        "excellent": paper.excellent_line, "pass": paper.pass_line, "buffer": buf,
        "which": list(lines),
    })


def standard_scores_sql() -> str:
    """Standard scores and ranks of the present students of paper ``$paper_id``.

    One row per student: ``student_key``, ``student_id``, ``district_id``, ``zone_id``,
    ``school_id``, ``class_id``, ``gender``, ``total``, ``z`` = (total − d_mean) / d_sd (the
    district's mean and sample SD, :func:`base_sql`), ``t_score`` = 50 + 10 z,
    ``rank_district``, ``rank_school`` (``rank()``, descending total), ``percentile_rank``
    (``percent_rank()`` in the district, ascending: (rank − 1) / (n − 1)).
    """
    return f"""
        WITH b AS ({base_sql()})
        SELECT student_key, student_id, district_id, zone_id, school_id, class_id, gender,
               t AS total,
               (t - d_mean) / d_sd AS z,
               50 + 10 * (t - d_mean) / d_sd AS t_score,
               rank() OVER (PARTITION BY district_id ORDER BY t DESC) AS rank_district,
               rank() OVER (PARTITION BY school_id ORDER BY t DESC) AS rank_school,
               percent_rank() OVER (PARTITION BY district_id ORDER BY t) AS percentile_rank
        FROM b WHERE status = 'present'
        ORDER BY student_key
    """


@fill_doc
def standard_scores(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    school: str | int | None = None,
) -> pd.DataFrame:
    """Per-student standard scores and ranks (an internal view; exports to schools use levels).

    Parameters
    ----------
    {paper}
    {school}

    Returns
    -------
    pandas.DataFrame
        One row per present student: ``student_key``, ``student_id``, ``district_id``,
        ``zone_id``, ``school_id``, ``class_id``, ``gender``, ``total``, ``z``
        (= (total − district mean) / district SD), ``t_score`` (= 50 + 10 z),
        ``rank_district`` and ``rank_school`` (ties share the better rank), ``percentile_rank``
        (SQL ``percent_rank``: (rank − 1) / (n − 1), ascending).
    """
    paper = resolve_paper(wh, exam, subject, grade)
    sid = _school_filter(wh, school)
    out = wh.df(standard_scores_sql(), {"paper_id": paper.paper_id})
    if sid is not None:
        out = out[out["school_id"] == sid].reset_index(drop=True)
    return out
