"""Resolving what users name (exam, subject, grade, school) to warehouse ids, with clear errors.

A name that is not found is answered with the closest known ones (:func:`did_you_mean`:
difflib's ratio, plus names that contain the one typed or are contained in it), in the
bilingual :class:`~analytics.errors.NotFoundError` (exit 2).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
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


def closest(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.4) -> list[str]:
    """Up to ``n`` of ``known`` closest to ``name``: those containing it or contained in it
    first (shortest first), then by :func:`difflib.get_close_matches` (ratio ≥ ``cutoff``)."""
    names = list(dict.fromkeys(str(k) for k in known))
    typed = str(name).strip()
    if not typed:
        return []
    inside = sorted((k for k in names if typed in k or k in typed), key=len)
    near = difflib.get_close_matches(typed, names, n=n, cutoff=cutoff)
    return list(dict.fromkeys([*inside, *near]))[:n]


def did_you_mean(name: str, known: Iterable[str], n: int = 3) -> str:
    """``" 您是否要找:「A」、「B」? / did you mean 'A', 'B'?"`` for the closest known names (empty
    when none is close)."""
    hits = closest(name, known, n)
    if not hits:
        return ""
    return (" 您是否要找:" + "、".join(f"「{h}」" for h in hits) + "? / did you mean "
            + ", ".join(repr(h) for h in hits) + "?")


def not_found(kind_zh: str, kind_en: str, name: str, known: Iterable[str],
              limit: int = 12, what: tuple[str, str] | None = None) -> NotFoundError:
    """The error for an unknown name of a kind (``"考试"``, ``"exam"``): the closest known
    names, then (up to ``limit``) every known one. ``what``: (zh, en) of what was looked for,
    when that is more than the name (``("试卷", "paper")``)."""
    names = list(dict.fromkeys(str(k) for k in known))
    shown = "、".join(names[:limit]) + (f" …(共 {len(names)} / {len(names)} in all)"
                                        if len(names) > limit else "")
    head = (f"找不到{kind_zh}「{name}」/ no {kind_en} named {name!r}." if what is None else
            f"找不到{what[0]}:没有{kind_zh}「{name}」/ no {what[1]}: no {kind_en} named {name!r}.")
    return NotFoundError(
        head + did_you_mean(name, names)
        + (f" 现有 / available: {shown}" if names else f" 数据库中还没有{kind_zh} / the "
           f"warehouse holds no {kind_en} yet"))


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
    if not (papers["exam"] == exam).any():
        raise not_found("考试", "exam", exam, papers["exam"], what=("试卷", "paper"))
    of_exam = papers[papers["exam"] == exam]
    if not (of_exam["subject"] == subject).any():
        raise not_found(f"考试「{exam}」的科目", f"subject in exam {exam!r}", subject,
                        of_exam["subject"], what=("试卷", "paper"))
    hit = papers[(papers["exam"] == exam) & (papers["subject"] == subject)]
    if grade is not None:
        hit = hit[hit["grade"] == grade]
    if hit.empty:
        have = sorted({int(g) for g in of_exam.loc[of_exam["subject"] == subject, "grade"]})
        listed = "、".join(f"{g}年级" for g in have)
        raise NotFoundError(
            f"找不到试卷: 考试「{exam}」科目「{subject}」 {grade}年级 / no paper for exam "
            f"{exam!r}, subject {subject!r}, grade {grade}. 现有年级 / grades available: {listed}"
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
        known = wh.df(school_names_sql())
        raise not_found("学校", "school", school, known["name"])
    return int(hit["school_id"].iloc[0])


def school_names_sql() -> str:
    """Every school's name (no parameters), by zone and code."""
    return "SELECT name FROM schools ORDER BY zone_id NULLS LAST, code NULLS LAST, name"


def school_id_of(wh: Backend, school: str | int | None) -> int | None:
    """A school filter (id, or name or code) as the school's id; None stays None."""
    if school is None or isinstance(school, int):
        return school
    return resolve_school(wh, school)
