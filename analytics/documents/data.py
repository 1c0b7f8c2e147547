"""The analyses one exam × grade's reports read, computed once and shared by every school's
report of a batch (a batch of forty reports reads the district-wide frames once, then slices).

Every frame here comes from a public analysis or report (:mod:`analytics.reports`,
:mod:`analytics.scores`, :mod:`analytics.hotspots`, :mod:`analytics.value_added`, the question
archive); nothing is computed here but selections.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import pandas as pd

from analytics.display import DEFAULT_MIN_N, MIN_OTHER_SCHOOLS, hidden_comparisons
from analytics.errors import EqmError, InputError
from analytics.hotspots import error_hotspots
from analytics.lookup import list_papers
from analytics.reports.profile import exam_grade, school_profile
from analytics.reports.students import struggling_students
from analytics.scores import borderline_students, score_report
from analytics.summaries import from_summary, prior_exams, reporting_tree
from analytics.value_added import value_added
from analytics.warehouse import Warehouse


class ExamData:
    """Lazily computed, cached frames of one exam × grade (every school's rows).

    Parameters
    ----------
    wh : Warehouse
        The warehouse (or its snapshot).
    exam : str
        The exam.
    grade : int, optional
        Needed when the exam spans several grades.
    prior_exam : str, optional
        The exam compared with ("what changed", value added); default the latest earlier exam
        with a paper in the subject.
    min_n : int
        Groups under ``min_n`` students are not reported.
    """

    def __init__(self, wh: Warehouse, *, exam: str, grade: int | None = None,
                 prior_exam: str | None = None, min_n: int = DEFAULT_MIN_N,
                 min_schools: int = MIN_OTHER_SCHOOLS) -> None:
        self.wh, self.exam, self.min_n, self.min_schools = wh, exam, min_n, min_schools
        self.papers = list_papers(wh)
        if exam not in set(self.papers["exam"]):
            raise InputError(f"没有考试「{exam}」/ no exam {exam!r}")
        self.grade = exam_grade(self.papers, exam, grade)
        self.prior_exam = prior_exam
        if prior_exam is not None and prior_exam not in set(self.papers["exam"]):
            raise InputError(f"没有考试「{prior_exam}」/ no exam {prior_exam!r}")
        self._cache: dict[tuple[Any, ...], pd.DataFrame] = {}
        if not self.subjects:
            raise InputError(f"考试「{exam}」没有{self.grade}年级的试卷 / exam {exam!r} has no "
                             f"paper in grade {self.grade}")

    # -- the paper ------------------------------------------------------------------------
    @cached_property
    def subjects(self) -> list[str]:
        """The exam's subjects in the grade, in paper order."""
        p = self.papers
        return [str(s) for s in p[(p["exam"] == self.exam) & (p["grade"] == self.grade)]
                ["subject"]]

    def paper(self, subject: str) -> pd.Series:
        """The paper's row of :func:`analytics.lookup.list_papers`."""
        p = self.papers
        return p[(p["exam"] == self.exam) & (p["grade"] == self.grade)
                 & (p["subject"] == subject)].iloc[0]

    def prior(self, subject: str) -> str | None:
        """The exam compared with on ``subject`` (in the same grade), or None."""
        priors = [e for e in prior_exams(self.papers, self.exam, subject)
                  if ((self.papers["exam"] == e) & (self.papers["grade"] == self.grade)
                      & (self.papers["subject"] == subject)).any()]
        if self.prior_exam is not None:
            return self.prior_exam if self.prior_exam in priors else None
        return priors[0] if priors else None

    @cached_property
    def tree(self) -> pd.DataFrame:
        """Zones, schools and classes (:func:`analytics.summaries.reporting_tree`)."""
        return reporting_tree(self.wh)

    def school_row(self, school: str | int) -> pd.Series:
        """The school's row (id, name or code) of the reporting tree; refuses an unknown one."""
        from analytics.lookup import school_id_of

        text = str(school).strip()
        sid = int(text) if text.isdigit() and not text.startswith("0") \
            else school_id_of(self.wh, text)
        hit = self.tree[self.tree["school_id"] == sid].drop_duplicates("school_id")
        if hit.empty:
            raise InputError(f"没有学校「{school}」/ no school {school!r}")
        return hit.iloc[0]

    def schools(self) -> pd.DataFrame:
        """The schools with students in the exam × grade (id, name, zone), in tree order."""
        prof = self.profile
        ids = list(dict.fromkeys(prof.loc[prof["unit"] == "school", "school_id"].dropna()))
        t = self.tree.drop_duplicates("school_id").set_index("school_id")
        return t.loc[[i for i in ids if i in t.index]].reset_index()

    # -- the frames -----------------------------------------------------------------------
    def _get(self, key: tuple[Any, ...], make: Any) -> pd.DataFrame:
        if key not in self._cache:
            try:
                self._cache[key] = make()
            except EqmError:
                self._cache[key] = pd.DataFrame()  # e.g. no items, no archive, no entry exam
        return self._cache[key]

    @cached_property
    def profile(self) -> pd.DataFrame:
        """:func:`analytics.school_profile` of every school."""
        return school_profile(self.wh, exam=self.exam, grade=self.grade, min_n=self.min_n)

    def prior_profile(self, exam: str) -> pd.DataFrame:
        """:func:`analytics.school_profile` of an earlier exam, every school."""
        return self._get(("profile", exam), lambda: school_profile(
            self.wh, exam=exam, grade=self.grade, min_n=self.min_n))

    def report(self, subject: str, level: str) -> pd.DataFrame:
        """:func:`analytics.score_report` at ``level`` (``class``, ``school``, …)."""
        return self._get(("report", subject, level), lambda: from_summary(
            self.wh, score_report, exam=self.exam, subject=subject, grade=self.grade,
            level=level))

    def hotspots(self, subject: str, grain: str = "item", level: str = "school") -> pd.DataFrame:
        """:func:`analytics.error_hotspots` (items or knowledge points below the district)."""
        kw: dict[str, Any] = {"level": level}
        if grain != "item":
            kw["grain"] = grain
        return self._get(("hot", subject, grain, level), lambda: from_summary(
            self.wh, error_hotspots, exam=self.exam, subject=subject, grade=self.grade, **kw))

    def archive(self, subject: str) -> pd.DataFrame:
        """The question archive of the paper (error-cause notes and teaching advice)."""
        from analytics.archive import paper_archive

        return self._get(("archive", subject), lambda: paper_archive(
            self.wh, exam=self.exam, subject=subject, grade=self.grade))

    def value_added(self, subject: str) -> pd.DataFrame:
        """:func:`analytics.value_added` of the schools since :meth:`prior`."""
        prior = self.prior(subject)
        if prior is None:
            return pd.DataFrame()
        if self.prior_exam is None:  # the summary's entry exam: the latest earlier one
            return self._get(("va", subject, prior), lambda: from_summary(
                self.wh, value_added, exam=self.exam, subject=subject, grade=self.grade,
                level="school"))
        return self._get(("va", subject, prior), lambda: value_added(
            self.wh, exam=self.exam, subject=subject, grade=self.grade, level="school",
            prior_exam=prior))

    def struggling(self, subject: str) -> pd.DataFrame:
        """:func:`analytics.struggling_students` of the whole district (sliced per school)."""
        prior = None if self.prior_exam is None else self.prior(subject)  # None: the summary's
        return self._get(("struggling", subject, prior), lambda: struggling_students(
            self.wh, exam=self.exam, subject=subject, grade=self.grade, prior_exam=prior))

    def borderline(self, subject: str) -> pd.DataFrame:
        """:func:`analytics.borderline_students` of the whole district (sliced per school)."""
        return self._get(("borderline", subject), lambda: from_summary(
            self.wh, borderline_students, exam=self.exam, subject=subject, grade=self.grade))

    def hidden(self, subject: str, school_id: int, zone_id: Any) -> dict[str, str | None]:
        """Which comparison rows (district, zone) the school's report may not show
        (:func:`analytics.display.hidden_comparisons`, complementary suppression)."""
        rep = self.report(subject, "school")
        if rep.empty:
            return {"district": None, "zone": None}
        return hidden_comparisons(rep[["school_id", "zone_id", "n"]], int(school_id),
                                  None if pd.isna(zone_id) else int(zone_id),
                                  min_n=self.min_n, min_schools=self.min_schools)
