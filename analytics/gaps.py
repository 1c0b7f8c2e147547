"""Gaps between groups of students within each unit (e.g. the gender gap by school).

SQL reduces the students to per unit × group counts, means and variances; the Welch interval is
computed on that small frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analytics.compat import renamed
from analytics.domain.levels import LEVEL_KEYS, check_level
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.lookup import resolve_paper
from analytics.warehouse import Backend

GROUPINGS = {
    "gender": ("F", "M"),
    "hukou": ("local", "nonlocal"),
    "ownership": ("public", "private"),
    "locality": ("urban", "rural"),
}


def group_moments_sql(keys: str, group_col: str) -> str:
    """Per unit × group: n, mean and sample variance of the paper total (present students)."""
    return f"""
        SELECT {keys}, t.{group_col} AS grp,
               count(*) AS n, avg(r.total) AS mean, var_samp(r.total) AS var
        FROM paper_results r
        JOIN student_tree t USING (student_key)
        WHERE r.paper_id = $paper_id AND r.status = 'present' AND t.{group_col} IS NOT NULL
        GROUP BY ALL
    """


@renamed(confidence="conf")
@fill_doc
def group_gap(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str = "gender",
    conf: float = 0.95,
) -> pd.DataFrame:
    """Difference in mean total between two groups within each unit, with a Welch interval.

    For unit *u* with groups *a* and *b* (for ``by="gender"``: *a* = F, *b* = M)::

        gap = mean_a − mean_b
        se  = sqrt(s_a² / n_a + s_b² / n_b)
        df  = se⁴ / ((s_a²/n_a)² / (n_a − 1) + (s_b²/n_b)² / (n_b − 1))   (Welch–Satterthwaite)
        ci  = gap ± t_{(1+conf)/2, df} · se

    ``gap_sd`` is the gap divided by the district standard deviation of the total (a
    standardised effect size comparable across subjects).

    Sources: Welch, B. L. (1947), *Biometrika* 34, 28–35; Satterthwaite (1946).

    Parameters
    ----------
    {paper}
    {level}
    by : str
        The two groups compared (a key of ``GROUPINGS``; default ``'gender'``: F − M).
    conf : float
        Confidence level of the Welch interval (``confidence`` before 0.2.0).

    Returns
    -------
    DataFrame
        The level's key columns, then ``n``, ``n_a``, ``n_b``, ``mean_a``, ``mean_b``, ``gap``,
        ``se``, ``df``, ``ci_low``, ``ci_high``, ``p_value``, ``gap_sd``, ``group_a``,
        ``group_b``. Units where either group has fewer than 2 students get NaN statistics.
    """
    check_level(level)
    if by not in GROUPINGS:
        raise InputError(f"未知的分组「{by}」/ unknown grouping {by!r}; choose {sorted(GROUPINGS)}")
    paper = resolve_paper(wh, exam, subject, grade)
    keys = ", ".join(f"t.{k}" for k in LEVEL_KEYS[level])
    m = wh.df(group_moments_sql(keys, by), {"paper_id": paper.paper_id})
    sd_all = wh.scalar(
        "SELECT stddev_samp(total) FROM paper_results WHERE paper_id = $p AND status = 'present'",
        {"p": paper.paper_id},
    )
    key_cols = list(LEVEL_KEYS[level])
    a, b = GROUPINGS[by]
    wide = m.set_index([*key_cols, "grp"])[["n", "mean", "var"]].unstack("grp")
    out = pd.DataFrame(index=wide.index)

    def col(stat: str, g: str) -> pd.Series:
        return wide[(stat, g)] if (stat, g) in wide.columns else pd.Series(np.nan, index=wide.index)

    out["n_a"] = col("n", a).fillna(0).astype("int64")
    out["n_b"] = col("n", b).fillna(0).astype("int64")
    out["n"] = out["n_a"] + out["n_b"]
    out["mean_a"] = col("mean", a)
    out["mean_b"] = col("mean", b)
    va = col("var", a) / out["n_a"].where(out["n_a"] > 1)
    vb = col("var", b) / out["n_b"].where(out["n_b"] > 1)
    out["gap"] = out["mean_a"] - out["mean_b"]
    out["se"] = np.sqrt(va + vb)
    out["df"] = (va + vb) ** 2 / (va**2 / (out["n_a"] - 1) + vb**2 / (out["n_b"] - 1))
    tcrit = stats.t.ppf(0.5 + conf / 2, out["df"])
    out["ci_low"] = out["gap"] - tcrit * out["se"]
    out["ci_high"] = out["gap"] + tcrit * out["se"]
    out["p_value"] = 2 * stats.t.sf(np.abs(out["gap"] / out["se"]), out["df"])
    out["gap_sd"] = out["gap"] / sd_all if sd_all else np.nan
    out["group_a"], out["group_b"] = a, b
    out = out.reset_index()
    cols = [*key_cols, "n", "n_a", "n_b", "mean_a", "mean_b", "gap", "se", "df",
            "ci_low", "ci_high", "p_value", "gap_sd", "group_a", "group_b"]
    return out[cols].sort_values(key_cols[-2:] if len(key_cols) > 1 else key_cols,
                                 ignore_index=True)
