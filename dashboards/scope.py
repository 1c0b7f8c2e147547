"""Roles and scope of the dashboard service, enforced on the server: which pages a role may
open, the filters a user may use (a principal is pinned to their school), the rows of a frame a
user may see (fail closed), and the one exit of every frame (ranks by policy, small groups
suppressed, rounded)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from analytics.display import natural_sort, prepare
from analytics.users import User
from dashboards.access import PAGE_ROLES, AccessDenied, Filters, frame_filter
from dashboards.cached import CachedAnalytics


class Scoped(CachedAnalytics):
    """Roles and scope over the cached analytics."""

    def _out(self, frame: pd.DataFrame, user: User) -> pd.DataFrame:
        """Every frame leaves here: ranks per policy, small groups suppressed, rounded."""
        if not self.may_rank(user):
            frame = frame.drop(columns=[c for c in frame.columns if "rank" in c])
        if "class_name" in frame.columns and "student_key" not in frame.columns:
            # classes in natural order (2班 before 10班), within their school as they came
            frame = natural_sort(frame, ["school_id", "class_name"])
        return prepare(frame, min_n=self.min_n)

    # -- roles and scope -----------------------------------------------------------------------
    @staticmethod
    def may_open(user: User | None, page: str) -> bool:
        """Whether ``user`` may open the page group ``page`` (officer, principal, …)."""
        return user is not None and user.role in PAGE_ROLES.get(page, frozenset())

    def require(self, user: User | None, page: str) -> User:
        if user is None or not self.may_open(user, page):
            raise AccessDenied(f"role {getattr(user, 'role', None)!r} may not use {page!r}",
                               reason="role" if user is not None else "not_signed_in",
                               roles=PAGE_ROLES.get(page, ()))
        return user

    def school_of(self, user: User, f: Filters) -> int:
        """The school a school-level view shows: a principal's own, an officer's chosen one;
        none chosen raises :class:`AccessDenied` (``choose_school``)."""
        school = self.scope(user, f).school
        if school is None:
            raise AccessDenied("no school chosen", reason="choose_school")
        return school

    def may_rank(self, user: User) -> bool:
        """Exact ranks: research officers only, and only when the district's policy allows."""
        return user.role == "officer" and self.rank_policy == "officers"

    def scope(self, user: User, f: Filters) -> Filters:
        """The filters the user may use, with defaults filled in.

        A principal is pinned to their school and its zone; asking for another school (or a
        class of another school) raises :class:`AccessDenied`. The paper defaults to the latest.
        """
        f = self.default_paper(f)
        if user.role == "principal":
            if user.school_id is None:
                raise AccessDenied("principal without a school", reason="no_school")
            if f.school is not None and f.school != user.school_id:
                raise AccessDenied(f"school {f.school} is not the user's school",
                                   reason="other_school")
            if f.class_id is not None and f.class_id not in set(
                    self._tree()["class_id"][self._tree()["school_id"] == user.school_id]):
                raise AccessDenied(f"class {f.class_id} is not in the user's school",
                                   reason="other_school")
            f = replace(f, school=user.school_id, zone=user.zone_id)
        return f

    def default_paper(self, f: Filters) -> Filters:
        papers = self.papers_raw()
        if papers.empty:
            return f
        # the exam first, then the subject and the grade asked for when the exam has them (a
        # new exam keeps the subject shown), the latest paper of what is left
        hit = papers[papers["exam"] == f.exam] if f.exam in set(papers["exam"]) else papers
        for wanted in ({"grade": f.grade, "subject": f.subject}, {"subject": f.subject},
                       {"grade": f.grade}):
            narrowed = hit
            for col, value in wanted.items():
                if value is not None:
                    narrowed = narrowed[narrowed[col] == value]
            if not narrowed.empty and any(v is not None for v in wanted.values()):
                hit = narrowed
                break
        row = hit.iloc[-1]
        return replace(f, exam=str(row["exam"]), grade=int(row["grade"]),
                       subject=str(row["subject"]))

    def papers(self, user: User) -> pd.DataFrame:
        """Papers (exam × subject × grade); everyone signed in may list them."""
        return self.papers_raw().copy()

    def totals_only(self, user: User, f: Filters) -> bool:
        """Whether the (scoped) paper of ``f`` has totals only: imported with ``eqm import
        totals``, no items and no item scores, so there is nothing for the item analyses
        (试题分析, 错误热点, 试卷质量, weak items and knowledge points). Pages say so in plain
        words instead of showing empty tables. False when there is no such paper."""
        f = self.scope(user, f)
        papers = self.papers_raw()
        if papers.empty or "has_items" not in papers.columns:
            return False
        hit = papers[(papers["exam"] == f.exam) & (papers["subject"] == f.subject)
                     & (papers["grade"] == f.grade)]
        return bool(not hit.empty and not hit["has_items"].fillna(False).astype(bool).any())

    def tree(self, user: User) -> pd.DataFrame:
        """Zones, schools and classes the user may see (a principal: their school only)."""
        tree = self._tree()
        if user.role == "principal":
            tree = tree[tree["school_id"] == user.school_id]
        elif user.role not in ("officer",):
            tree = tree.iloc[0:0]
        return tree.copy()

    def _restrict(self, user: User, f: Filters, frame: pd.DataFrame, level: str) -> pd.DataFrame:
        """Keep the rows the user may see (fail closed when a frame lacks the id columns)."""
        if user.role == "principal":
            if level == "district":
                return frame
            col = "zone_id" if level == "zone" else "school_id"
            if frame.empty:  # nothing to scope (e.g. no items on a totals-only exam)
                return frame
            if col not in frame.columns:
                raise AccessDenied(f"cannot scope a {level} frame without {col}",
                                   reason="cannot_scope")
            return frame[frame[col] == (user.zone_id if level == "zone" else user.school_id)]
        if level in ("school", "class"):
            frame = frame_filter(frame, "zone_id", f.zone) if f.zone is not None else frame
            frame = frame_filter(frame, "school_id", f.school) if (
                f.school is not None and level == "class") else frame
        return frame
