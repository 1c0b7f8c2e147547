"""Resolving what users name (exam, subject, grade, school) to warehouse ids, with clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.domain.bands import DEFAULT_BANDS as DEFAULT_BANDS
from analytics.domain.bands import DEFAULT_BORDERLINE
from analytics.domain.bands import DEFAULT_EXCELLENT as DEFAULT_EXCELLENT
from analytics.domain.bands import DEFAULT_LOW as DEFAULT_LOW
from analytics.domain.bands import DEFAULT_PASS as DEFAULT_PASS
from analytics.errors import NotFoundError
from analytics.warehouse import Backend


@dataclass(frozen=True)
class PaperRef:
    """A paper (exam × subject × grade) with its lines resolved to points."""

    paper_id: int
    exam_id: int
    exam: str
    subject: str
    grade: int
    full_score: float
    excellent_line: float
    pass_line: float
    low_line: float
    borderline_buffer: float
    band_a: float
    band_b: float
    band_c: float
    has_items: bool


def papers_sql() -> str:
    """Every paper with its exam (no parameters), in exam-date order, then exam, grade, subject.

    Columns: ``paper_id``, ``exam_id``, ``exam`` (its name), ``subject``, ``grade``,
    ``full_score``, the stored lines (``excellent_line``, ``pass_line``, ``low_line``,
    ``borderline_buffer``, ``band_a``/``band_b``/``band_c``; NULL = the default share),
    ``has_items``, ``exam_date``.
    """
    return """
        SELECT p.paper_id, p.exam_id, e.name AS exam, p.subject, p.grade, p.full_score,
               p.excellent_line, p.pass_line, p.low_line, p.borderline_buffer,
               p.band_a, p.band_b, p.band_c, p.has_items, e.exam_date
        FROM papers p JOIN exams e USING (exam_id)
        ORDER BY e.exam_date NULLS LAST, e.name, p.grade, p.subject
    """


def resolve_paper(wh: Backend, exam: str, subject: str, grade: int | None = None) -> PaperRef:
    """Find the paper of ``exam`` × ``subject`` (× ``grade`` when the exam spans grades).

    Raises
    ------
    NotFoundError
        When there is no such paper, or the grade is ambiguous; the message lists what exists.
    """
    # kept until the next write: every analysis of a report resolves its paper first
    papers = wh.df_shared(papers_sql())
    if papers.empty:
        raise NotFoundError("数据库中还没有试卷 / the warehouse holds no papers yet")
    hit = papers[(papers["exam"] == exam) & (papers["subject"] == subject)]
    if grade is not None:
        hit = hit[hit["grade"] == grade]
    if hit.empty:
        choices = "; ".join(
            f"{r.exam} / {r.subject} / {r.grade}年级" for r in papers.itertuples()
        )
        raise NotFoundError(
            f"找不到试卷: 考试「{exam}」科目「{subject}」"
            + (f" {grade}年级" if grade is not None else "")
            + f" / no paper for exam {exam!r}, subject {subject!r}"
            + (f", grade {grade}" if grade is not None else "")
            + f". 现有 / available: {choices}"
        )
    if len(hit) > 1:
        grades = ", ".join(str(g) for g in sorted(hit["grade"]))
        raise NotFoundError(
            f"考试「{exam}」的「{subject}」有多个年级 ({grades}),请用 --grade 指定 / "
            f"exam {exam!r} has {subject!r} papers for several grades ({grades}); pass a grade"
        )
    return paper_ref(hit.iloc[0].to_dict())


def paper_ref(r: Mapping[Any, Any]) -> PaperRef:
    """A row of :func:`papers_sql` as a :class:`PaperRef`, its NULL lines resolved to the
    default shares of the full score."""
    full = float(r["full_score"])

    def line(value: Any, share: float) -> float:
        return float(value) if value is not None and value == value else share * full

    return PaperRef(
        paper_id=int(r["paper_id"]), exam_id=int(r["exam_id"]), exam=str(r["exam"]),
        subject=str(r["subject"]), grade=int(r["grade"]), full_score=full,
        excellent_line=line(r["excellent_line"], DEFAULT_EXCELLENT),
        pass_line=line(r["pass_line"], DEFAULT_PASS),
        low_line=line(r["low_line"], DEFAULT_LOW),
        borderline_buffer=line(r["borderline_buffer"], DEFAULT_BORDERLINE),
        band_a=line(r["band_a"], DEFAULT_BANDS[0]),
        band_b=line(r["band_b"], DEFAULT_BANDS[1]),
        band_c=line(r["band_c"], DEFAULT_BANDS[2]),
        has_items=bool(r["has_items"]),
    )


def list_papers(wh: Backend) -> pd.DataFrame:
    """All papers with their exam.

    Returns
    -------
    pandas.DataFrame
        One row per paper, by exam date: ``paper_id``, ``exam_id``, ``exam``, ``subject``,
        ``grade``, ``full_score``, ``excellent_line``, ``pass_line``, ``low_line``,
        ``borderline_buffer``, ``band_a``, ``band_b``, ``band_c`` (NULL = default share),
        ``has_items``, ``exam_date``.
    """
    return wh.df(papers_sql())


def resolve_school(wh: Backend, school: str) -> int:
    """School id from its name or code."""
    hit = wh.df(
        "SELECT school_id FROM schools WHERE name = $s OR code = $s", {"s": school}
    )
    if hit.empty:
        raise NotFoundError(f"找不到学校「{school}」/ no school named {school!r}")
    return int(hit["school_id"].iloc[0])


def school_id_of(wh: Backend, school: str | int | None) -> int | None:
    """A school filter (id, or name or code) as the school's id; None stays None."""
    if school is None or isinstance(school, int):
        return school
    return resolve_school(wh, school)
