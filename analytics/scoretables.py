"""Score tables: 一分一段表 / 分数段 and the exam's total across subjects (全科总分).

* :func:`score_distribution` — score → count, cumulative count and cumulative share counted
  from the top (分数, 人数, 累计人数, 累计百分比, as exam offices print them), per unit; with
  ``width`` the scores are grouped in bands (分数段) of that many points.
* :func:`total_score_report` and :func:`total_grade_bands` — the score report (三率一分) and the
  grade bands (等级 A–D) of the exam's total across its subjects, computed by the same SQL as
  :func:`analytics.score_report` and :func:`analytics.grade_bands` (:mod:`analytics.scores`)
  over the per-student total (:func:`exam_total_sql`).

The total's rule (全科总分)
---------------------------
A student's total is the sum of their totals on every paper of the exam (× grade; or of the
``subjects`` given) and is counted only when they are present on every one of them. The others
are counted apart, like the absent students of a paper: ``n_void`` those void (作弊/违纪) on at
least one paper, ``n_absent`` the others with a result row on at least one paper (absent on
one, or no row for one: 缺考或缺科). The lines (优秀/及格/低分) and the bounds of the grade bands
of the total are the sums of the papers' (so with every paper on the default shares, 85% / 60% /
40% and 85% / 70% / 60% of the summed full score).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.domain.params import fill_doc
from analytics.errors import InputError, NotFoundError
from analytics.lookup import PaperRef, list_papers, resolve_paper
from analytics.scores import (
    PAPER_RESULTS,
    _group_cols,
    _school_filter,
    base_sql,
    finish_report,
    grade_bands_sql,
    score_report_sql,
)
from analytics.warehouse import Backend

#: The ``subject`` that asks :func:`score_distribution` for the exam's total (also ``"total"``).
TOTAL_SUBJECT = "总分"
_TOTAL_NAMES = (TOTAL_SUBJECT, "total", "全科总分")


def is_total(subject: str | None) -> bool:
    """Whether ``subject`` names the total across subjects (总分 / total / 全科总分)."""
    return subject is not None and subject.strip().lower() in _TOTAL_NAMES


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------
def exam_total_sql() -> str:
    """One row per student with a result on any paper of ``$paper_ids`` (a list):
    ``student_key``, ``status`` (``present`` when present on all ``$n_papers`` papers, else
    ``void`` when void on one, else ``absent``) and ``total`` (the sum, only when present)."""
    return """
        SELECT student_key,
               CASE WHEN count(*) FILTER (WHERE status = 'present') = $n_papers THEN 'present'
                    WHEN count(*) FILTER (WHERE status = 'void') > 0 THEN 'void'
                    ELSE 'absent' END AS status,
               CASE WHEN count(*) FILTER (WHERE status = 'present') = $n_papers
                    THEN sum(total) END AS total
        FROM paper_results WHERE list_contains($paper_ids, paper_id)
        GROUP BY student_key
    """


def distribution_sql(group_cols: list[str], results: str = PAPER_RESULTS) -> str:
    """一分一段: per unit × score (or band), the present students, cumulated from the top.

    ``group_cols`` are trusted identifiers; ``results`` the results read
    (:func:`analytics.scores.base_sql`); ``$width`` the band width in points (NULL: each
    distinct total is its own row); ``$full`` the full score; ``$school_id`` keeps one school
    (NULL: all). A band holds ``low ≤ total < low + width`` with ``low = floor(total / width) ·
    width``, except that the full score falls in the band below it when it is a band's lower
    bound (the top band is closed). Columns: ``group_cols``, ``score`` (the total, or the band's
    lower bound), ``count``, ``cum_count`` (students with this score or higher), ``n`` (the
    unit's present students).
    """
    g = ", ".join(group_cols)
    return f"""
        WITH b AS ({base_sql(results)}),
        s AS (
            SELECT {g},
                   CASE WHEN $width IS NULL THEN t
                        ELSE least(floor(t / $width) * $width,
                                   ceil($full / $width) * $width - $width) END AS score
            FROM b WHERE status = 'present' AND ($school_id IS NULL OR school_id = $school_id)
        ),
        c AS (SELECT {g}, score, count(*) AS count FROM s GROUP BY ALL)
        SELECT *,
               sum(count) OVER (PARTITION BY {g} ORDER BY score DESC
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_count,
               sum(count) OVER (PARTITION BY {g}) AS n
        FROM c
        ORDER BY {g}, score DESC
    """


# --------------------------------------------------------------------------------------------
# the exam's papers
# --------------------------------------------------------------------------------------------
class ExamTotal:
    """The papers summed into an exam's total, with the summed full score, lines and bounds."""

    def __init__(self, papers: list[PaperRef]):
        self.papers = papers
        self.subjects = tuple(p.subject for p in papers)
        self.grade = papers[0].grade

    def total(self, attr: str) -> float:
        """The sum of attribute ``attr`` (``full_score``, ``pass_line``, ``band_a`` …)."""
        return float(sum(getattr(p, attr) for p in self.papers))

    def params(self) -> dict[str, Any]:
        """The parameters of :func:`exam_total_sql`."""
        return {"paper_ids": [p.paper_id for p in self.papers], "n_papers": len(self.papers)}


def exam_papers(wh: Backend, exam: str, grade: int | None = None,
                subjects: tuple[str, ...] | list[str] | None = None) -> ExamTotal:
    """The papers of ``exam`` (× ``grade``) summed into its total: every subject of the exam at
    that grade, or ``subjects``.

    Raises
    ------
    NotFoundError
        No paper of the exam, or several grades and no ``grade``; an unknown subject.
    """
    papers = list_papers(wh)
    hit = papers[papers["exam"] == exam]
    if grade is not None:
        hit = hit[hit["grade"] == grade]
    if hit.empty:
        raise NotFoundError(f"找不到考试「{exam}」的试卷 / no papers for exam {exam!r}"
                            + (f", grade {grade}" if grade is not None else ""))
    grades = sorted(set(hit["grade"].astype(int)))
    if len(grades) > 1:
        g = ", ".join(map(str, grades))
        raise NotFoundError(f"考试「{exam}」有多个年级 ({g}),请用 --grade 指定 / exam {exam!r} "
                            f"spans several grades ({g}); pass a grade")
    have = list(dict.fromkeys(hit["subject"]))
    chosen = have if subjects is None else list(subjects)
    missing = [s for s in chosen if s not in have]
    if missing or not chosen:
        raise NotFoundError(f"考试「{exam}」没有科目 {missing} / exam {exam!r} has no subject "
                            f"{missing}; 现有 / available: {', '.join(have)}")
    return ExamTotal([resolve_paper(wh, exam, s, grades[0]) for s in chosen])


# --------------------------------------------------------------------------------------------
# the analyses
# --------------------------------------------------------------------------------------------
@fill_doc
def score_distribution(
    wh: Backend,
    *,
    exam: str,
    subject: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
    width: float | None = None,
) -> pd.DataFrame:
    """一分一段表 (or 分数段 with ``width``): score → count and cumulative share from the top.

    Parameters
    ----------
    {unit_report}
        ``subject="总分"`` (or ``"total"``) reads the exam's total across its subjects
        (students present on every paper; see the module notes).
    width : float, optional
        Band width in points (分数段, e.g. 10); default None: one row per distinct total
        (一分一段).

    Returns
    -------
    pandas.DataFrame
        One row per unit × score, highest score first: the level keys (and ``by``), ``n``
        (the unit's present students, 实考, as in every unit frame), ``score`` (分数: the
        total, or the band's lower bound), ``score_high`` (the band's upper bound, exclusive
        except for the top band; = score without ``width``), ``count`` (人数, students with
        that score or in that band), ``cum_count`` (累计人数: with that score or higher),
        ``cum_share`` (累计百分比 as a share, = cum_count / n), ``full_score``.

    Notes
    -----
    Counting from the top as Chinese exam offices do: ``cum_count`` at score x =
    #{{total ≥ x}}, so ``cum_count − count + 1`` is the best 位次 (rank) a student at x holds.
    Small-group suppression (:func:`analytics.display.prepare`) reads ``n``, the unit's size.
    Only scores that occur get a row (no empty rows). Bands: ``low ≤ total < low + width``
    with ``low`` a multiple of ``width``; the full score joins the top band when it is a
    multiple of the width (so 150 is in 140–150).
    """
    if width is not None and not width > 0:
        raise InputError("分数段宽度须为正数 / the band width must be positive")
    cols = _group_cols(level, by)
    if is_total(subject):
        tot = exam_papers(wh, exam, grade)
        results, full, params = exam_total_sql(), tot.total("full_score"), tot.params()
    else:
        paper = resolve_paper(wh, exam, subject, grade)
        results, full, params = PAPER_RESULTS, paper.full_score, {"paper_id": paper.paper_id}
    out = wh.df(distribution_sql(cols, results), {
        **params, "width": None if width is None else float(width), "full": full,
        "school_id": _school_filter(wh, school, level)})
    score = out["score"].astype(float)
    out["score"] = score
    out["score_high"] = score if width is None else (score + float(width)).clip(upper=full)
    for c in ("n", "count", "cum_count"):
        out[c] = out[c].astype("int64")
    out["cum_share"] = out["cum_count"] / out["n"]
    out["full_score"] = full
    return out[[*cols, "n", "score", "score_high", "count", "cum_count", "cum_share",
                "full_score"]].reset_index(drop=True)


@fill_doc
def total_score_report(
    wh: Backend,
    *,
    exam: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
    subjects: tuple[str, ...] | list[str] | None = None,
    conf: float = 0.95,
) -> pd.DataFrame:
    """全科总分: the score report (三率一分) of the exam's total across subjects, per unit.

    Parameters
    ----------
    {wh}
    exam : str
        The exam (考试); its papers of one grade are summed.
    grade : int, optional
        Needed only when the exam spans grades.
    {level}
    {by}
    {school}
    subjects : sequence of str, optional
        The subjects summed (default: every subject of the exam at that grade).
    conf : float
        Confidence level of the t interval of the mean.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`analytics.score_report` (keys, ``n``, ``n_absent``, ``n_void``,
        ``mean`` … ``ci_high``, ``full_score``), ``full_score`` the summed full score, then
        ``subjects`` (the subjects summed, joined by ``+``) and ``n_subjects``.

    Notes
    -----
    ``n`` counts the students present on every paper; ``n_void``: void on at least one;
    ``n_absent``: the others with a result on at least one paper (absent or missing on one).
    Lines (优秀/及格/低分) are the sums of the papers' lines in points; every statistic and
    its formula are those of :func:`analytics.score_report` (the district reference is the
    district's complete students).
    """
    tot = exam_papers(wh, exam, grade, subjects)
    cols = _group_cols(level, by)
    partition = [] if level == "district" else ["_did"]
    if by:
        partition.append(str(by))
    sid = _school_filter(wh, school, level)
    params: dict[str, Any] = {**tot.params(), "excellent": tot.total("excellent_line"),
                              "pass": tot.total("pass_line"), "low": tot.total("low_line")}
    if "school_id" in cols:
        params["school_id"] = sid
    out = wh.df(score_report_sql(cols, partition, exam_total_sql()), params)
    out = finish_report(out, tot.total("full_score"), conf)
    out["subjects"] = "+".join(tot.subjects)
    out["n_subjects"] = len(tot.subjects)
    return out


@fill_doc
def total_grade_bands(
    wh: Backend,
    *,
    exam: str,
    grade: int | None = None,
    level: str = "school",
    by: str | None = None,
    school: str | int | None = None,
    subjects: tuple[str, ...] | list[str] | None = None,
) -> pd.DataFrame:
    """全科总分等级: the shares of the exam's total in grade bands A–D, per unit.

    Parameters
    ----------
    {wh}
    exam : str
        The exam (考试); its papers of one grade are summed.
    grade : int, optional
        Needed only when the exam spans grades.
    {level}
    {by}
    {school}
    subjects : sequence of str, optional
        The subjects summed (default: every subject of the exam at that grade).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`analytics.grade_bands` (keys, ``n``, ``n_a`` … ``n_d``,
        ``share_a`` … ``share_d``, ``band_a``/``band_b``/``band_c`` the bounds used, in
        points), then ``subjects`` and ``n_subjects``.

    Notes
    -----
    The bounds are the sums of the papers' bounds (default 85% / 70% / 60% of the summed full
    score); students count as in :func:`total_score_report` (present on every paper).
    """
    tot = exam_papers(wh, exam, grade, subjects)
    cols = _group_cols(level, by)
    a, b, c = tot.total("band_a"), tot.total("band_b"), tot.total("band_c")
    out = wh.df(grade_bands_sql(cols, exam_total_sql()), {
        **tot.params(), "a": a, "b": b, "c": c,
        "school_id": _school_filter(wh, school, level)})
    n = out["n"].to_numpy(dtype=float)
    for x in "abcd":
        out[f"share_{x}"] = out[f"n_{x}"].to_numpy(dtype=float) / n
    out["band_a"], out["band_b"], out["band_c"] = a, b, c
    out["subjects"] = "+".join(tot.subjects)
    out["n_subjects"] = len(tot.subjects)
    return out
