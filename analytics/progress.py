"""Cross-year progress (跨年度进步指数): a school's standardised standing on the same grade's
monitoring, compared across years (and hence cohorts).

Each exam's totals are standardised over all its takers (z = (x − mean)/SD within the paper),
so a school's *standing* in a year is its students' mean z — comparable across years even when
the papers differ in difficulty. Progress between consecutive exams is the change in standing,
``change_t = mean_z_t − mean_z_{t−1}``, with ``change_se = sqrt(se_t² + se_{t−1}²)`` (the cohorts
are different students, so the two means are independent), a 95% interval and a category
(``above`` = significant rise, ``below`` = significant fall, else ``as_expected``). This is the
Shanghai Green Indicators' 跨年度进步 index in its simplest form: it says whether a school's
relative position rose, not why — different cohorts differ in intake; for progress of the same
students use :mod:`analytics.value_added`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.domain.levels import LEVEL_KEYS, key_list
from analytics.errors import InputError
from analytics.lookup import resolve_paper
from analytics.stats.intervals import Z95
from analytics.value_added import categorise
from analytics.warehouse import Backend


def standing_sql(level: str) -> str:
    """Per paper (of the list ``$papers``) × unit: n, mean and variance of z within the paper."""
    return f"""
        WITH z AS (
            SELECT paper_id, student_key,
                   (total - avg(total) OVER w) / nullif(stddev_samp(total) OVER w, 0) AS z
            FROM paper_results
            WHERE list_contains($papers, paper_id) AND status = 'present'
            WINDOW w AS (PARTITION BY paper_id)
        )
        SELECT z.paper_id, {key_list(level)}, count(*) AS n, avg(z.z) AS mean_z,
               var_samp(z.z) AS var_z
        FROM z JOIN student_tree t USING (student_key)
        GROUP BY ALL
    """


def _irt_standing(wh: Backend, exams: Sequence[str], subject: str, grade: int | None,
                  level: str, papers: list[Any]) -> pd.DataFrame:
    """Per paper × unit: n, mean and variance of the students' θ (EAP, 2PL/GRM) on the first
    exam's scale (each later exam linked to it by Stocking–Lord through the common items)."""
    from analytics.irt import irt_scores
    tree = wh.df(f"SELECT student_key, {key_list(level)} FROM student_tree")
    keys = list(LEVEL_KEYS[level])
    parts = []
    for i, (exam, paper) in enumerate(zip(exams, papers, strict=True)):
        th = irt_scores(wh, exam=exam, subject=subject, grade=grade, model="auto",
                        base_exam=None if i == 0 else exams[0])
        g = th[["student_key", "theta"]].merge(tree, on="student_key")
        agg = g.groupby(keys, dropna=False)["theta"].agg(["count", "mean", "var"]).reset_index()
        agg = agg.rename(columns={"count": "n", "mean": "mean_z", "var": "var_z"})
        agg["paper_id"] = paper.paper_id
        parts.append(agg)
    return pd.concat(parts, ignore_index=True)


def progress_index(wh: Backend, *, exams: Sequence[str], subject: str,
                   grade: int | None = None, level: str = "school", scale: str = "z"
                   ) -> pd.DataFrame:
    """Standing (mean z) of each unit on each exam, and its change from the previous exam.

    Parameters
    ----------
    exams : sequence of str
        The same grade's monitoring exams in chronological order (at least two).
    subject : str
    grade : int, optional
    level : {"zone", "school", "class"}
    scale : {"z", "irt"}
        ``z`` (default): totals standardised within each exam. ``irt``: the students' θ (EAP;
        2PL, GRM for polytomous items) with every later exam linked to the first exam's scale
        through the common items (Stocking–Lord, :func:`analytics.irt_link`); ``mean_z`` is
        then the mean θ on that scale, and a change is a change in attainment, not only in
        standing.

    Returns
    -------
    pandas.DataFrame
        One row per unit × exam: the level's key columns, ``exam``, ``n``, ``mean_z``, ``se``
        (SD/√n), ``ci_low``, ``ci_high``, ``change`` (vs the previous exam; NaN for the first),
        ``change_se``, ``change_ci_low``, ``change_ci_high``, ``category``
        (above | as_expected | below, from the change interval; None for the first exam).
    """
    if len(exams) < 2:
        raise InputError("跨年度进步需要至少两次考试 / cross-year progress needs two exams or more")
    if level not in ("zone", "school", "class"):
        raise InputError(f"层级只能是 zone、school 或 class / level must be zone, school or "
                         f"class, not {level!r}")
    if scale not in ("z", "irt"):
        raise InputError(f"量尺只能是 z 或 irt / scale must be z or irt, not {scale!r}")
    papers = [resolve_paper(wh, e, subject, grade) for e in exams]
    order = {p.paper_id: i for i, p in enumerate(papers)}
    if scale == "irt":
        g = _irt_standing(wh, exams, subject, grade, level, papers)
    else:
        g = wh.df(standing_sql(level), {"papers": [p.paper_id for p in papers]})
    keys = list(LEVEL_KEYS[level])
    g["t"] = g["paper_id"].map(order)
    g["exam"] = g["t"].map(dict(enumerate(exams)))
    g["se"] = np.sqrt(g["var_z"] / g["n"])
    g["ci_low"], g["ci_high"] = g["mean_z"] - Z95 * g["se"], g["mean_z"] + Z95 * g["se"]
    idcol = keys[-2]
    g = g.sort_values([idcol, "t"]).reset_index(drop=True)
    prev = g.groupby(idcol)[["t", "mean_z", "se"]].shift(1)
    consecutive = prev["t"] == g["t"] - 1
    g["change"] = np.where(consecutive, g["mean_z"] - prev["mean_z"], np.nan)
    g["change_se"] = np.where(consecutive, np.sqrt(g["se"] ** 2 + prev["se"] ** 2), np.nan)
    g["change_ci_low"] = g["change"] - Z95 * g["change_se"]
    g["change_ci_high"] = g["change"] + Z95 * g["change_se"]
    cat = categorise(g["change"], g["change_ci_low"], g["change_ci_high"])
    g["category"] = pd.Series(cat, index=g.index).where(g["change"].notna(), None)
    return g[[*keys, "exam", "n", "mean_z", "se", "ci_low", "ci_high", "change", "change_se",
              "change_ci_low", "change_ci_high", "category"]]
