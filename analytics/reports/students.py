"""学困生 (struggling students): who needs help on a paper, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.domain.bands import (
    LOW_GROWTH_SGP,
    STRUGGLING_BELOW_MEAN,
    STRUGGLING_LINE,
    STRUGGLING_REASONS,
    STRUGGLING_SHARE,
)
from analytics.domain.params import fill_doc
from analytics.errors import InputError
from analytics.growth import student_growth
from analytics.lookup import resolve_paper, school_id_of
from analytics.scores import standard_scores
from analytics.summaries import from_summary
from analytics.warehouse import Warehouse

COLUMNS = ["student_key", "student_id", "student_name", "school_id", "class_id", "class_name",
           "total", "z", "percentile_rank", "sgp", "reason"]


def student_names_sql() -> str:
    """The students of school ``$school_id`` (NULL: all) with their names and classes.

    Columns: ``student_key``, ``student_name``, ``class_name``.
    """
    return """
        SELECT student_key, student_name, class_name FROM student_tree
        WHERE $school_id IS NULL OR school_id = $school_id
    """


def struggling_rule(
    scores: pd.DataFrame,
    growth: pd.DataFrame | None,
    *,
    line_score: float | None,
    line: str = STRUGGLING_LINE,
    share: float = STRUGGLING_SHARE,
    low_sgp: float = LOW_GROWTH_SGP,
    below_mean: bool = STRUGGLING_BELOW_MEAN,
) -> pd.DataFrame:
    """The 学困生 rule on frames (see :func:`struggling_students`).

    ``scores`` has ``student_key, total, z, percentile_rank`` (those of
    :func:`analytics.scores.standard_scores`); ``growth`` ``student_key, sgp`` or None;
    ``line_score`` the points of ``line`` (``low`` or ``pass``; None: no line criterion).
    Returns the rows of ``scores`` listed, with ``sgp`` and ``reason``, lowest total first.
    """
    if line not in ("low", "pass"):
        raise ValueError(f"line must be 'low' or 'pass', not {line!r}")
    out = scores.copy()
    if growth is not None and not growth.empty:
        out = out.merge(growth[["student_key", "sgp"]], on="student_key", how="left")
    else:
        out["sgp"] = pd.Series(np.nan, index=out.index, dtype="float64")
    sgp = pd.to_numeric(out["sgp"], errors="coerce").astype("float64")
    total = out["total"].astype("float64")
    under_mean = (out["z"] < 0).to_numpy() if below_mean else np.ones(len(out), dtype=bool)
    met = {
        "bottom_share": (out["percentile_rank"] < share).to_numpy(),
        f"below_{line}": (total < line_score).to_numpy() & under_mean if line_score is not None
        else np.zeros(len(out), dtype=bool),
        "low_growth": (sgp <= low_sgp).to_numpy() & under_mean,
    }
    codes = [r for r in STRUGGLING_REASONS if r in met]
    reason = np.select([met[r] for r in codes], codes, default="")
    out["reason"] = reason
    out = out[reason != ""]
    return out.sort_values(["total", "student_key"], kind="stable").reset_index(drop=True)


@fill_doc
def struggling_students(
    wh: Warehouse,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    school: str | int | None = None,
    prior_exam: str | None = None,
    share: float = STRUGGLING_SHARE,
    line: str | None = STRUGGLING_LINE,
    low_sgp: float = LOW_GROWTH_SGP,
    below_mean: bool = STRUGGLING_BELOW_MEAN,
) -> pd.DataFrame:
    """学困生: the students of the paper who need help, each with the reason.

    A present student is listed when any of these holds (``reason``: the first that does):

    1. ``bottom_share`` — in the district's bottom ``share`` of the paper:
       ``percentile_rank`` < ``share`` (SQL ``percent_rank``, :func:`analytics.standard_scores`;
       :data:`~analytics.domain.bands.STRUGGLING_SHARE` = 0.10);
    2. ``below_low`` — the total is under the paper's low line (低分线, in points; default 40 %
       of the full score; :data:`~analytics.domain.bands.STRUGGLING_LINE`), or with
       ``line='pass'`` ``below_pass``, under the pass line (及格线, default 60 %);
    3. ``low_growth`` — a growth percentile ≤ ``low_sgp``
       (:data:`~analytics.domain.bands.LOW_GROWTH_SGP` = 20, the bottom fifth) since
       ``prior_exam`` (:func:`analytics.student_growth`).

    With ``below_mean`` (:data:`~analytics.domain.bands.STRUGGLING_BELOW_MEAN`, the default)
    criteria 2 and 3 count only for a total below the district mean (z < 0): an
    above-average student is never 学困生, neither on a hard paper whose pass line lies above
    the mean nor for a low growth percentile. The reasons are labelled by
    :func:`analytics.domain.label` (kind ``struggling_reason``).

    Parameters
    ----------
    {paper}
    school : str or int, optional
        Only this school's students (id, name or code); the rule is the district's either way.
    prior_exam : str, optional
        The earlier exam of the growth percentiles; default the latest earlier exam with a
        paper in the subject (no growth criterion when there is none).
    share, low_sgp, below_mean
        The other thresholds of the rule (defaults in :mod:`analytics.domain.bands`).
    line : {'low', 'pass'} or None
        The line of criterion 2 (None: no line criterion). The pass line is not the default:
        on a paper whose mean lies under it (the demo's: pass rates of 40–50 %) criterion 2
        would list every student below the mean.

    Returns
    -------
    pandas.DataFrame
        One row per listed student, lowest total first: ``student_key, student_id`` (考号),
        ``student_name, school_id, class_id, class_name, total, z`` (against the district),
        ``percentile_rank, sgp`` (NaN without a growth percentile), ``reason``
        (``bottom_share`` | ``below_low`` | ``below_pass`` | ``low_growth``).
    """
    if not 0 <= share <= 1:
        raise InputError(f"比例须在 0 到 1 之间 / share must lie in [0, 1], not {share!r}")
    if line not in ("low", "pass", None):
        raise InputError(f"未知的分数线「{line}」,可选 low、pass / unknown line {line!r}; "
                         "use low or pass")
    paper = resolve_paper(wh, exam, subject, grade)
    sid = school_id_of(wh, school)
    scores = from_summary(wh, standard_scores, exam=exam, subject=subject, grade=paper.grade,
                          school_id=sid)
    prior = {} if prior_exam is None else {"prior_exam": prior_exam}  # default: the summary's
    growth = from_summary(wh, student_growth, exam=exam, subject=subject, grade=paper.grade,
                          school_id=sid, **prior)
    keep = ["student_key", "student_id", "school_id", "class_id", "total", "z",
            "percentile_rank"]
    if scores.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    listed = struggling_rule(scores[keep], growth if "sgp" in growth.columns else None,
                             line_score=None if line is None else
                             paper.low_line if line == "low" else paper.pass_line,
                             line=line or STRUGGLING_LINE, share=share,
                             low_sgp=low_sgp, below_mean=below_mean)
    names = wh.df(student_names_sql(), {"school_id": sid})
    listed = listed.merge(names, on="student_key", how="left")
    return listed[COLUMNS]
