"""Set-based summaries: one statement over every paper instead of one analysis call per paper.

:func:`analytics.summaries.refresh_summaries` materialises a summary table per declared
analysis call (``summary_<name>``: the analysis's frame for each paper, prefixed by
``paper_id``). For the analyses that are one SQL reduction of the paper's results — the score
report (三率一分) at each level, the grade bands, the zone percentiles, the students' standard
scores — running the reduction once per paper costs a statement, a round trip and a frame per
paper and kind, whatever the data. The builders here run the *same* reduction once for all the
papers asked for (``paper_id`` added to every grouping and window partition), and compute the
same derived columns in Python, so that each paper's rows equal what the per-paper analysis
returns (``tests/test_summary_sets.py`` compares them, floats to 1e-9):

* :func:`score_report_all` — :func:`analytics.scores.score_report` (``level``);
* :func:`grade_bands_all` — :func:`analytics.scores.grade_bands` (``level``);
* :func:`percentiles_all` — :func:`analytics.scores.percentiles` (``level``, default probs);
* :func:`standard_scores_all` — :func:`analytics.scores.standard_scores`;
* :func:`green_all` — :func:`analytics.green.green_indicators` (its questionnaire rows once
  per grade instead of once per paper: they do not depend on the paper).

Each paper's lines (excellent, pass, low, bands; NULL = the default share of the full score)
are resolved in Python exactly as :func:`analytics.lookup.resolve_paper` does
(:func:`analytics.lookup.paper_ref`) and joined as a small view, so the comparisons use the
same numbers.

:data:`SET_BUILDERS` maps (analysis function, its summary arguments) to a builder
``builder(wh, paper_ids, **kwargs) -> DataFrame`` (``paper_id`` first, then the analysis's
columns, rows ordered by paper then as the analysis orders them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.lookup import list_papers, paper_ref
from analytics.scores import DEFAULT_PERCENTILES
from analytics.stats.intervals import t_half_width
from analytics.warehouse import Backend

LINE_COLUMNS = ("excellent_line", "pass_line", "low_line", "band_a", "band_b", "band_c",
                "full_score")


def paper_lines(wh: Backend, paper_ids: list[int]) -> pd.DataFrame:
    """``paper_id`` and the resolved lines of these papers (:data:`LINE_COLUMNS`, in points)."""
    papers = list_papers(wh)
    rows = []
    for r in papers.to_dict("records"):
        if int(r["paper_id"]) in set(paper_ids):
            ref = paper_ref(r)
            rows.append({"paper_id": ref.paper_id,
                         **{c: float(getattr(ref, c)) for c in LINE_COLUMNS}})
    return pd.DataFrame(rows, columns=["paper_id", *LINE_COLUMNS])


def base_all_sql(lines: str) -> str:
    """:func:`analytics.scores.base_sql` for every paper of the view ``lines`` (a trusted
    name): each student with a result, ``paper_id``, the paper's lines, and the district's
    reference mean and SD on that paper (``d_mean``, ``d_sd``, present students)."""
    return f"""
        WITH base AS (
            SELECT s.*, pr.paper_id, pr.status, pr.total AS t,
                   l.excellent_line, l.pass_line, l.low_line, l.band_a, l.band_b, l.band_c
            FROM paper_results pr JOIN {lines} l ON l.paper_id = pr.paper_id
            JOIN student_tree s ON s.student_key = pr.student_key
        ),
        ref AS (
            SELECT paper_id, district_id, avg(t) AS d_mean, stddev_samp(t) AS d_sd
            FROM base WHERE status = 'present' GROUP BY paper_id, district_id
        )
        SELECT base.*, ref.d_mean, ref.d_sd
        FROM base LEFT JOIN ref ON base.paper_id = ref.paper_id
             AND base.district_id IS NOT DISTINCT FROM ref.district_id
    """


def score_report_all_sql(lines: str, group_cols: list[str], rank_partition: list[str]) -> str:
    """:func:`analytics.scores.score_report_sql` for every paper: ``paper_id`` leads the
    grouping and every rank partition (trusted identifiers)."""
    g = ", ".join(["paper_id", *group_cols])
    part = "PARTITION BY " + ", ".join(["paper_id", *rank_partition])
    return f"""
        WITH b AS ({base_all_sql(lines)}),
        agg AS (
            SELECT {g},
                   count(t) AS n,
                   count(*) FILTER (WHERE status = 'absent') AS n_absent,
                   count(*) FILTER (WHERE status = 'void') AS n_void,
                   avg(t) AS mean, stddev_samp(t) AS sd, median(t) AS median,
                   max(t) AS max, min(t) AS min,
                   avg(CAST(t >= excellent_line AS DOUBLE)) AS excellent_rate,
                   avg(CAST(t >= pass_line AS DOUBLE)) AS pass_rate,
                   avg(CAST(t < low_line AS DOUBLE)) AS low_rate,
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
        ORDER BY {g}
    """


def grade_bands_all_sql(lines: str, group_cols: list[str]) -> str:
    """:func:`analytics.scores.grade_bands_sql` for every paper (``paper_id`` first)."""
    g = ", ".join(["paper_id", *group_cols])
    return f"""
        WITH b AS ({base_all_sql(lines)})
        SELECT {g}, count(t) AS n,
               count(*) FILTER (WHERE t >= band_a) AS n_a,
               count(*) FILTER (WHERE t >= band_b AND t < band_a) AS n_b,
               count(*) FILTER (WHERE t >= band_c AND t < band_b) AS n_c,
               count(*) FILTER (WHERE t < band_c) AS n_d
        FROM b WHERE status = 'present'
        GROUP BY {g} ORDER BY {g}
    """


def percentiles_all_sql(lines: str, group_cols: list[str]) -> str:
    """:func:`analytics.scores.percentiles_sql` for every paper (``paper_id`` first;
    ``$probs`` the probabilities)."""
    g = ", ".join(["paper_id", *group_cols])
    return f"""
        WITH b AS ({base_all_sql(lines)})
        SELECT {g}, count(t) AS n, quantile_cont(t, $probs) AS q
        FROM b WHERE status = 'present'
        GROUP BY {g} ORDER BY {g}
    """


def standard_scores_all_sql(lines: str) -> str:
    """:func:`analytics.scores.standard_scores_sql` for every paper (``paper_id`` first and in
    every window partition)."""
    return f"""
        WITH b AS ({base_all_sql(lines)})
        SELECT paper_id, student_key, student_id, district_id, zone_id, school_id, class_id,
               gender, t AS total,
               (t - d_mean) / d_sd AS z,
               50 + 10 * (t - d_mean) / d_sd AS t_score,
               rank() OVER (PARTITION BY paper_id, district_id ORDER BY t DESC)
                   AS rank_district,
               rank() OVER (PARTITION BY paper_id, school_id ORDER BY t DESC) AS rank_school,
               percent_rank() OVER (PARTITION BY paper_id, district_id ORDER BY t)
                   AS percentile_rank
        FROM b WHERE status = 'present'
        ORDER BY paper_id, student_key
    """


def _run(wh: Backend, paper_ids: list[int], sql: Callable[[str], str],
         params: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = paper_lines(wh, paper_ids)
    with wh.temp_view(lines) as view:
        return wh.df(sql(view), params), lines


def score_report_all(wh: Backend, paper_ids: list[int], *, level: str = "school",
                     conf: float = 0.95) -> pd.DataFrame:
    """:func:`analytics.scores.score_report` (``level``, no ``by``, no school filter) of every
    paper of ``paper_ids``, ``paper_id`` first."""
    cols = list(LEVEL_KEYS[check_level(level)])
    partition = [] if level == "district" else ["_did"]
    out, lines = _run(wh, paper_ids, lambda v: score_report_all_sql(v, cols, partition))
    half = t_half_width(out["sd"].to_numpy(dtype=float), out["n"].to_numpy(dtype=float), conf)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["full_score"] = out["paper_id"].map(lines.set_index("paper_id")["full_score"])
    out = out.drop(columns="_did")
    out["rank"] = out["rank"].astype("Int64")
    return out.reset_index(drop=True)


def grade_bands_all(wh: Backend, paper_ids: list[int], *, level: str = "school") -> pd.DataFrame:
    """:func:`analytics.scores.grade_bands` (``level``) of every paper, ``paper_id`` first."""
    cols = list(LEVEL_KEYS[check_level(level)])
    out, lines = _run(wh, paper_ids, lambda v: grade_bands_all_sql(v, cols))
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        for x in "abcd":
            out[f"share_{x}"] = out[f"n_{x}"].to_numpy(dtype=float) / n
    by_paper = lines.set_index("paper_id")
    for x in "abc":
        out[f"band_{x}"] = out["paper_id"].map(by_paper[f"band_{x}"])
    return out


def percentiles_all(wh: Backend, paper_ids: list[int], *, level: str = "school",
                    probs: tuple[float, ...] = DEFAULT_PERCENTILES) -> pd.DataFrame:
    """:func:`analytics.scores.percentiles` (``level``, ``probs``) of every paper."""
    cols = list(LEVEL_KEYS[check_level(level)])
    raw, _ = _run(wh, paper_ids, lambda v: percentiles_all_sql(v, cols),
                  {"probs": list(probs)})
    out = raw.drop(columns="q")
    qs = np.array([list(v) for v in raw["q"]], dtype=float).reshape(len(raw), len(probs))
    for j, p in enumerate(probs):
        out[f"p{100 * p:g}"] = qs[:, j]
    return out


def standard_scores_all(wh: Backend, paper_ids: list[int]) -> pd.DataFrame:
    """:func:`analytics.scores.standard_scores` of every paper, ``paper_id`` first."""
    out, _ = _run(wh, paper_ids, standard_scores_all_sql)
    return out


def green_all(wh: Backend, paper_ids: list[int], *, level: str = "school") -> pd.DataFrame:
    """:func:`analytics.green.green_indicators` (``level``, the default survey and scales) of
    every paper, ``paper_id`` first: the questionnaire's rows do not depend on the paper, so
    they are computed once per grade (not once per paper) and combined with each paper's
    exam rows as the analysis combines them."""
    from analytics import green

    cfg = green.load_scales()
    keys = list(LEVEL_KEYS[check_level(level)])
    survey: dict[int, list[pd.DataFrame]] = {}
    out = []
    for p in list_papers(wh).to_dict("records"):
        if int(p["paper_id"]) not in set(paper_ids):
            continue
        grade = int(p["grade"])
        if grade not in survey:
            survey[grade] = green.survey_indices(wh, survey=None, grade=grade, level=level,
                                                 config=cfg)
        frames = [*survey[grade], *green.exam_indices(wh, str(p["exam"]), str(p["subject"]),
                                                     grade, level, keys, cfg)]
        frame = green.combine(frames, keys)
        frame.insert(0, "paper_id", int(p["paper_id"]))
        out.append(frame)
    return pd.concat(out, ignore_index=True)


#: (analysis function, its summary kwargs without ``level``) → the set-based builder.
SET_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "score_report": score_report_all,
    "grade_bands": grade_bands_all,
    "percentiles": percentiles_all,
    "standard_scores": standard_scores_all,
    "green_indicators": green_all,
}

#: The arguments each builder accepts besides ``wh`` and ``paper_ids``.
BUILDER_KWARGS: dict[str, frozenset[str]] = {
    "score_report": frozenset({"level", "conf"}),
    "grade_bands": frozenset({"level"}),
    "percentiles": frozenset({"level", "probs"}),
    "standard_scores": frozenset(),
    "green_indicators": frozenset({"level"}),
}


def set_builder(module: str, function: str,
                kwargs: dict[str, Any]) -> Callable[[Backend, list[int]], pd.DataFrame] | None:
    """The set-based builder of the summary ``module.function(**kwargs)``, or None when it
    has none (it is computed paper by paper)."""
    if module not in ("analytics.scores", "analytics.green") or function not in SET_BUILDERS:
        return None
    if not set(kwargs) <= BUILDER_KWARGS[function]:
        return None
    fn = SET_BUILDERS[function]
    return lambda wh, paper_ids: fn(wh, paper_ids, **kwargs)
