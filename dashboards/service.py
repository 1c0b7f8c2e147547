"""The one service layer between the Dash pages and the analytics functions.

Every public method takes the current :class:`~analytics.users.User` and **enforces scope here,
on the server** (never in the layout): a principal only ever receives their own school's rows
(and the district's and their own zone's reference rows, each only while it cannot be
differenced back to another school: :meth:`Service.comparisons`), a committee member only papers and
the archive, an admin only users and imports. A request outside the user's scope raises
:class:`AccessDenied`; pages turn that into a refusal message, so a crafted POST to
``/_dash-update-component`` gets a refusal, never data.

Results of the analysis functions are cached per process (:func:`functools.lru_cache`, keyed
by the function and the paper, never by the user: scope is applied to the cached frame on every
call) and read from the precomputed summary tables where those exist
(:func:`analytics.summaries.summary`). Every frame leaves through
:func:`analytics.display.prepare` (small groups suppressed, numbers rounded), so no view or
export can show a group smaller than ``min_n``.

Dashboards never write SQL and never import the warehouse module or DuckDB: the warehouse is
opened with :func:`analytics.connect` and read through public analytics functions only.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from analytics import registry, snapshot, summaries, users
from analytics.display import (
    DEFAULT_MIN_N,
    DISTRICT_DERIVED,
    MIN_OTHER_SCHOOLS,
    hidden_comparisons,
    prepare,
    without_district_comparison,
)
from analytics.errors import EqmError
from analytics.lookup import list_papers
from analytics.users import User

RankPolicy = Literal["officers", "none"]

# Which roles may use which page (the layout refuses, and the service refuses again).
PAGE_ROLES: dict[str, frozenset[str]] = {
    "home": frozenset({"officer", "principal", "committee", "admin"}),
    "officer": frozenset({"officer"}),
    "principal": frozenset({"principal", "officer"}),
    "committee": frozenset({"committee", "officer"}),
    "admin": frozenset({"admin"}),
}

# Public analytics functions the pages display, by the name the service uses, and the summary
# tables that answer them: generated from the one table of public names (analytics.registry).
ANALYSES: dict[str, tuple[str, str]] = registry.routes()
_SUMMARY_ROUTES = registry.summary_routes()
# (route, level or None) → summary, for calls with no keyword but ``level``
SUMMARY_OF: dict[tuple[str, str | None], str] = _SUMMARY_ROUTES.by_level
# (route, sorted keywords) → summary
SUMMARY_OF_KW: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = _SUMMARY_ROUTES.by_kwargs
# (route, sorted keywords but prior_exam) → summary, when prior_exam is the latest earlier exam
SUMMARY_WITH_PRIOR: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = \
    _SUMMARY_ROUTES.with_prior


class AccessDenied(PermissionError):
    """The current user may not see what was asked for.

    ``reason`` says why, so that the page shows the right words (``dashboards.i18n`` has a
    ``refused_<reason>`` text for each): ``role`` (the page or feature is for ``roles``
    only), ``other_school`` (another school's or class's data), ``choose_school`` (an
    officer must choose a school first), ``no_school`` (a principal account without a
    school), ``principal_only`` (student lists), ``cannot_scope`` (a frame that cannot be
    limited to the user's school: fail closed), ``bad_request`` (a value no page sends),
    ``not_signed_in``; ``denied`` when nothing more precise applies.
    """

    REASONS = ("role", "other_school", "choose_school", "no_school", "principal_only",
               "cannot_scope", "bad_request", "not_signed_in", "denied")

    def __init__(self, detail: str, *, reason: str = "denied",
                 roles: Iterable[str] = ()) -> None:
        super().__init__(detail)
        self.reason = reason if reason in self.REASONS else "denied"
        self.roles = tuple(roles)


class NotAvailable(LookupError):
    """An analytics function the page needs has not been provided yet."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Filters:
    """The filter state of a page (from the URL query string or a callback payload).

    Every field is validated: anything that is not of the right type becomes None, so a
    crafted payload cannot smuggle in other types.
    """

    exam: str | None = None
    grade: int | None = None
    subject: str | None = None
    zone: int | None = None
    school: int | None = None
    class_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Filters:
        data = data or {}

        def text(v: Any) -> str | None:
            return v if isinstance(v, str) and v.strip() and len(v) < 200 else None

        def integer(v: Any) -> int | None:
            if isinstance(v, bool):
                return None
            if isinstance(v, int):
                return v
            if isinstance(v, str) and v.strip().lstrip("-").isdigit():
                return int(v)
            return None

        return cls(exam=text(data.get("exam")), grade=integer(data.get("grade")),
                   subject=text(data.get("subject")), zone=integer(data.get("zone")),
                   school=integer(data.get("school")),
                   class_id=integer(data.get("class", data.get("class_id"))))

    def as_query(self) -> dict[str, Any]:
        """The non-empty fields under their URL names."""
        pairs = {"exam": self.exam, "grade": self.grade, "subject": self.subject,
                 "zone": self.zone, "school": self.school, "class": self.class_id}
        return {k: v for k, v in pairs.items() if v is not None}


def _frame_filter(frame: pd.DataFrame, col: str, value: Any) -> pd.DataFrame:
    return frame[frame[col] == value] if col in frame.columns else frame


class Service:
    """Cached, scope-enforcing access to the analytics for the dashboards.

    Parameters
    ----------
    db_path : str
        The warehouse file.
    min_n : int
        Groups with fewer students are suppressed in every frame returned.
    min_other_schools : int
        A principal sees the district or zone row only while it holds at least this many
        other schools (and ``min_n`` other students): :meth:`comparisons`.
    rank_policy : {'officers', 'none'}
        ``officers``: research officers see exact ranks; ``none``: nobody does (district policy).
        Principals never see a league table.
    """

    def __init__(self, db_path: str, *, min_n: int = DEFAULT_MIN_N,
                 rank_policy: RankPolicy = "officers", cache_size: int = 1024,
                 min_other_schools: int = MIN_OTHER_SCHOOLS) -> None:
        if rank_policy not in ("officers", "none"):
            raise ValueError(f"rank_policy must be 'officers' or 'none', not {rank_policy!r}")
        self.db_path = str(db_path)
        self.min_n = int(min_n)
        self.min_other_schools = int(min_other_schools)
        self.rank_policy: RankPolicy = rank_policy
        # Reads come from the published read-only snapshot, so the dashboard keeps serving
        # while `eqm import` holds the warehouse file; a newer snapshot drops the caches.
        self.reader = snapshot.SnapshotReader(self.db_path, on_change=self.clear_cache)
        self._lock = threading.RLock()
        self._cached = functools.lru_cache(maxsize=cache_size)(self._compute)
        self._cached_reports = functools.lru_cache(maxsize=256)(self._report_compute)
        self.timings: deque[tuple[str, float]] = deque(maxlen=2000)

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def wh(self) -> Any:
        """The read-only warehouse on the latest published snapshot."""
        return self.reader.current()

    def close(self) -> None:
        with self._lock:
            self.reader.close()

    def clear_cache(self) -> None:
        """Forget cached results (after an import or a note edit)."""
        Service._papers_cached.cache_clear()
        Service._tree_cached.cache_clear()
        self._cached.cache_clear()
        self._cached_reports.cache_clear()

    def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self.reader.current(), *args, **kwargs)

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the writer's file, then publish and read the new snapshot."""
        with self._lock, self.reader.write() as wh:
            return fn(wh, *args, **kwargs)

    def _compute(self, name: str, exam: str, subject: str, grade: int | None,
                 extra: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
        kwargs = dict(extra)
        start = time.perf_counter()
        try:
            summary_name = SUMMARY_OF_KW.get((name, extra))
            if summary_name is None and "prior_exam" in kwargs and \
                    kwargs["prior_exam"] == next(iter(summaries.prior_exams(
                        self.papers_raw(), exam, subject)), None):
                summary_name = SUMMARY_WITH_PRIOR.get(
                    (name, tuple(kv for kv in extra if kv[0] != "prior_exam")))
            if summary_name is None and set(kwargs) <= {"level"}:
                summary_name = SUMMARY_OF.get((name, kwargs.get("level")))
            if summary_name is not None:
                frame = self._run(summaries.summary, summary_name, exam=exam, subject=subject,
                                  grade=grade)
                if frame is None:
                    raise NotAvailable(".".join(ANALYSES[name]))
                return frame
            fn = self._function(name)
            return self._run(fn, exam=exam, subject=subject, grade=grade, **kwargs)
        finally:
            self.timings.append((name, time.perf_counter() - start))

    def _report(self, name: str, **kwargs: Any) -> pd.DataFrame:
        """``name``'s analysis called with ``kwargs`` only (a report across papers), cached."""
        self.sync()
        return self._cached_reports(name, tuple(sorted(kwargs.items()))).copy()

    def _report_compute(self, name: str, extra: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
        start = time.perf_counter()
        try:
            return self._run(self._function(name), **dict(extra))
        finally:
            self.timings.append((name, time.perf_counter() - start))

    def _function(self, name: str) -> Callable[..., Any]:
        module, function = ANALYSES[name]
        fn = summaries.analysis_function(module, function)
        if fn is None:
            raise NotAvailable(f"{module}.{function}")
        return fn

    def _analysis(self, name: str, f: Filters, **kwargs: Any) -> pd.DataFrame:
        if f.exam is None or f.subject is None:
            return pd.DataFrame()
        self.sync()
        frame = self._cached(name, f.exam, f.subject, f.grade, tuple(sorted(kwargs.items())))
        return frame.copy()

    def _out(self, frame: pd.DataFrame, user: User) -> pd.DataFrame:
        """Every frame leaves here: ranks per policy, small groups suppressed, rounded."""
        if not self.may_rank(user):
            frame = frame.drop(columns=[c for c in frame.columns if "rank" in c])
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
        hit = papers
        if f.exam is not None:
            hit = hit[hit["exam"] == f.exam]
        if f.grade is not None:
            hit = hit[hit["grade"] == f.grade]
        if f.subject is not None:
            hit = hit[hit["subject"] == f.subject]
        if hit.empty:  # unknown combination: fall back to the exam, then to the latest paper
            hit = papers[papers["exam"] == f.exam] if f.exam in set(papers["exam"]) else papers
        row = hit.iloc[-1]
        return replace(f, exam=str(row["exam"]), grade=int(row["grade"]),
                       subject=str(row["subject"]))

    # -- complementary suppression for principals ---------------------------------------------
    def comparisons(self, user: User, f: Filters) -> dict[str, str | None]:
        """Which comparison groups (``district``, ``zone``) the user may not see on the paper.

        Officers see every group (all ``None``). For a principal the rule of
        :func:`analytics.display.hidden_comparisons` is applied to the paper's schools: a group
        is hidden (its reason given) when it holds fewer than
        :data:`~analytics.display.MIN_OTHER_SCHOOLS` other schools or ``min_n`` other
        students, so that the group minus the principal's school never isolates another
        school. Every principal-facing method applies it here, on the server.
        """
        f = self.scope(user, f)
        if user.role != "principal" or user.school_id is None:
            return {"district": None, "zone": None}
        schools = self._analysis("score_report", f, level="school")
        if schools.empty or "school_id" not in schools.columns:
            # no results on this paper (or nothing to count): nothing to compare with
            schools = pd.DataFrame({"school_id": [], "zone_id": [], "n": []})
        return hidden_comparisons(schools, user.school_id, self._zone_of(user),
                                  min_n=self.min_n, min_schools=self.min_other_schools)

    def _zone_of(self, user: User) -> int | None:
        if user.zone_id is not None:
            return int(user.zone_id)
        tree = self._tree()
        zone = tree.loc[tree["school_id"] == user.school_id, "zone_id"].dropna()
        return None if zone.empty else int(zone.iloc[0])

    def _compared(self, user: User, f: Filters, frame: pd.DataFrame,
                  level: str) -> pd.DataFrame:
        """A principal's frame after complementary suppression: a hidden group's rows are
        dropped (``level`` district or zone; an analysis made against the district, such as
        hotspots, passes ``district``), and with the district hidden so are the columns of the
        own rows computed against it. Others' frames are returned unchanged."""
        if user.role != "principal":
            return frame
        hidden = self.comparisons(user, f)
        if level in hidden and hidden[level] is not None:
            return frame.iloc[0:0]
        if hidden["district"] is not None:
            return without_district_comparison(frame)
        return frame

    # -- reference data ------------------------------------------------------------------------
    def sync(self) -> None:
        """Switch to a newer published snapshot if a writer swapped one in (one ``stat``);
        the switch drops every cache. Called before each cache lookup."""
        with self._lock:
            self.reader.current()

    def papers_raw(self) -> pd.DataFrame:
        self.sync()
        return self._papers_cached()

    def _tree(self) -> pd.DataFrame:
        self.sync()
        return self._tree_cached()

    @functools.cache  # noqa: B019 - one Service per app; the tree changes only on import
    def _papers_cached(self) -> pd.DataFrame:
        return self._run(list_papers)

    @functools.cache  # noqa: B019
    def _tree_cached(self) -> pd.DataFrame:
        return self._run(summaries.reporting_tree)

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

    # -- score reports ------------------------------------------------------------------------
    def score_report(self, user: User, f: Filters, level: str = "school") -> pd.DataFrame:
        """三率一分 at ``level``, scoped: a principal gets the district row, their zone's row,
        their school's row, or their school's classes."""
        f = self.scope(user, f)
        if level not in ("district", "zone", "school", "class"):
            raise AccessDenied(f"unknown level {level!r}", reason="bad_request")
        if user.role not in ("officer", "principal"):
            raise AccessDenied("score reports are for officers and principals", reason="role",
                               roles=("officer", "principal"))
        frame = self._analysis("score_report", f, level=level)
        frame = self._restrict(user, f, frame, level)
        return self._out(self._compared(user, f, frame, level), user)

    def grade_bands(self, user: User, f: Filters, level: str = "school") -> pd.DataFrame:
        """Grade-band shares (等级) at ``level``, scoped like :meth:`score_report`."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("grade bands are for officers and principals", reason="role",
                               roles=("officer", "principal"))
        frame = self._analysis("grade_bands", f, level=level)
        frame = self._restrict(user, f, frame, level)
        return self._out(self._compared(user, f, frame, level), user)

    def zone_percentiles(self, user: User, f: Filters) -> pd.DataFrame:
        """Percentiles of the total per zone (the distributions by zone): officers only."""
        self.require(user, "officer")
        f = self.scope(user, f)
        return self._out(self._analysis("percentiles", f, level="zone"), user)

    def school_ranking(self, user: User, f: Filters) -> pd.DataFrame:
        """The league table of schools: research officers only (principals never)."""
        self.require(user, "officer")
        return self.score_report(user, f, level="school")

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
            frame = _frame_filter(frame, "zone_id", f.zone) if f.zone is not None else frame
            frame = _frame_filter(frame, "school_id", f.school) if (
                f.school is not None and level == "class") else frame
        return frame

    def school_profile(self, user: User, f: Filters) -> pd.DataFrame:
        """One school against its zone and the district on every subject of the exam × grade
        (:func:`analytics.school_profile`), with the groups hidden from a principal left out
        (:meth:`comparisons`; with the district hidden, no ``position``).

        Returns
        -------
        pandas.DataFrame
            ``subject, unit`` (district | zone | school), ``unit_name, n, mean, ci_low,
            ci_high, excellent_rate, pass_rate, low_rate, share_a … share_d``, ``position``.
        """
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("school profile", reason="role",
                               roles=("officer", "principal"))
        if f.school is None:
            return pd.DataFrame()
        frame = self._report("school_profile", exam=f.exam, grade=f.grade, school=f.school,
                             min_n=self.min_n)
        if frame.empty:
            return self._out(frame, user)
        keep = pd.Series(True, index=frame.index)
        unjudged = pd.Series(False, index=frame.index)  # no district to judge against
        for subject in dict.fromkeys(frame["subject"]):
            hidden = self.comparisons(user, replace(f, subject=str(subject)))
            rows = frame["subject"] == subject
            for unit, why in hidden.items():
                if why is not None:
                    keep &= ~(rows & (frame["unit"] == unit))
            if hidden["district"] is not None:
                unjudged |= rows
        frame["position"] = pd.Series([None if u or pd.isna(p) else p for u, p in
                                       zip(unjudged, frame["position"], strict=True)],
                                      index=frame.index)
        frame = frame[keep].drop(columns=["zone_id", "school_id"]).reset_index(drop=True)
        return self._out(frame, user)

    # -- items and hotspots ------------------------------------------------------------------
    def item_stats(self, user: User, f: Filters) -> pd.DataFrame:
        if user.role not in ("officer", "committee", "principal"):
            raise AccessDenied("item statistics", reason="role",
                               roles=("officer", "committee", "principal"))
        f = self.scope(user, f)
        frame = self._analysis("item_stats", f)  # district-wide
        return self._out(self._compared(user, f, frame, "district"), user)

    def option_analysis(self, user: User, f: Filters) -> pd.DataFrame:
        if user.role not in ("officer", "committee"):
            raise AccessDenied("option analysis is district-wide", reason="role",
                               roles=("officer", "committee"))
        f = self.scope(user, f)
        return self._out(self._analysis("option_analysis", f), user)

    def knowledge_matrix(self, user: User, f: Filters, level: str = "school") -> pd.DataFrame:
        """Unit × knowledge point score rates (for the heatmap), scoped."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("hotspots", reason="role",
                               roles=("officer", "principal"))
        if level not in ("school", "class"):
            raise AccessDenied(f"unknown level {level!r}", reason="bad_request")
        frame = self._analysis("knowledge_matrix", f, level=level)
        frame = self._restrict(user, f, frame, level)  # rates against the district's:
        return self._out(self._compared(user, f, frame, "district"), user)

    def hotspots(self, user: User, f: Filters, level: str = "school",
                 by: str = "item") -> pd.DataFrame:
        """Items (or knowledge points) where a unit falls below the district (tested), scoped."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("hotspots", reason="role",
                               roles=("officer", "principal"))
        if level not in ("school", "class") or by not in ("item", "knowledge_point"):
            raise AccessDenied(f"unknown level {level!r} / by {by!r}", reason="bad_request")
        kwargs: dict[str, Any] = {"level": level}
        if by != "item":
            kwargs["by"] = by
        frame = self._analysis("error_hotspots", f, **kwargs)
        frame = self._restrict(user, f, frame, level)  # gaps to the district's rates:
        return self._out(self._compared(user, f, frame, "district"), user)

    def district_weak_points(self, user: User, f: Filters, by: str = "item") -> pd.DataFrame:
        """The district's weakest items or knowledge points (district-wide, no school rows)."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal", "committee"):
            raise AccessDenied("weak points", reason="role",
                               roles=("officer", "principal", "committee"))
        if by not in ("item", "knowledge_point"):
            raise AccessDenied(f"unknown by {by!r}", reason="bad_request")
        frame = self._analysis("district_weak_points", f, by=by)
        return self._out(self._compared(user, f, frame, "district"), user)

    # -- value added, growth, green --------------------------------------------------------
    def prior_exams(self, user: User, f: Filters) -> list[str]:
        """Exams before the current one with the same subject (entry candidates), latest first."""
        f = self.scope(user, f)
        if f.exam is None or f.subject is None:
            return []
        return summaries.prior_exams(self.papers_raw(), f.exam, f.subject)

    def value_added(self, user: User, f: Filters, level: str = "school",
                    prior_exam: str | None = None) -> pd.DataFrame:
        """Multilevel value added with 95% intervals and category, scoped."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("value added", reason="role",
                               roles=("officer", "principal"))
        if level not in ("school", "class"):
            raise AccessDenied(f"unknown level {level!r}", reason="bad_request")
        priors = self.prior_exams(user, f)
        if prior_exam is None or prior_exam not in priors:
            if not priors:
                return pd.DataFrame()
            prior_exam = priors[0]
        frame = self._analysis("value_added", f, level=level, prior_exam=prior_exam)
        return self._out(self._restrict(user, f, frame, level), user)

    def green(self, user: User, f: Filters) -> pd.DataFrame:
        """Green indicators (long) of the district and of the schools the user may see:
        the district rows (``school_id`` NaN, ``unit_name`` the district) plus school rows."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("green indicators", reason="role",
                               roles=("officer", "principal"))
        district = self._analysis("green_indicators", f, level="district")
        schools = self._analysis("green_indicators", f, level="school")
        if user.role == "principal":
            if "school_id" not in schools.columns:
                raise AccessDenied("cannot scope green indicators", reason="cannot_scope")
            if self._green_district_hidden(user, schools):
                district = district.iloc[0:0]
            schools = schools[schools["school_id"] == user.school_id]
        elif f.school is not None:
            schools = _frame_filter(schools, "school_id", f.school)
        elif f.zone is not None:
            schools = _frame_filter(schools, "zone_id", f.zone)
        district = district.assign(unit_name=district.get("district_name", "district"))
        schools = schools.assign(unit_name=schools.get("school_name", "school"))
        out = pd.concat([district, schools], ignore_index=True)
        keep = ["zone_id", "school_id", "unit_name"]
        cols = [c for c in keep if c in out.columns] + [
            c for c in out.columns if c not in keep and not c.endswith(("_id", "_name"))]
        return self._out(out[cols], user)

    def _green_district_hidden(self, user: User, schools: pd.DataFrame) -> bool:
        """The district rows of the green indicators are hidden from a principal when, on any
        indicator, the other schools' respondents fail :func:`hidden_comparisons`."""
        assert user.school_id is not None
        if schools.empty or "n" not in schools.columns:
            return True
        by = "indicator" if "indicator" in schools.columns else None
        groups = [g for _, g in schools.groupby(by)] if by else [schools]
        return any(hidden_comparisons(g, user.school_id, None, min_n=self.min_n,
                                      min_schools=self.min_other_schools)["district"]
                   is not None for g in groups)

    def trends(self, user: User, f: Filters) -> pd.DataFrame:
        """District (and for a principal, own-school) mean and rates across exams of the same
        subject and grade (:func:`analytics.score_trends`): ``exam, exam_date, level, unit, n,
        mean, …``; on an exam whose district comparison is hidden from a principal, no
        district row and none of the school row's columns computed against the district."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("trends", reason="role",
                               roles=("officer", "principal"))
        out = self._report("score_trends", subject=f.subject, grade=f.grade, school=f.school)
        if "exam" not in out.columns:
            return pd.DataFrame()
        keep = pd.Series(True, index=out.index)
        derived = [c for c in DISTRICT_DERIVED if c in out.columns]
        for exam in dict.fromkeys(out["exam"]):
            if self.comparisons(user, replace(f, exam=str(exam)))["district"] is None:
                continue  # principals: complementary suppression
            rows = out["exam"] == exam
            keep &= ~(rows & (out["level"] == "district"))
            school = rows & (out["level"] == "school")
            for col in derived:
                out[col] = out[col].where(~school)
        out = out[keep].reset_index(drop=True)
        keys = ["exam", "exam_date", "level", "unit"]
        cols = keys + [c for c in out.columns if c not in keys and not c.endswith(("_id",
                                                                                  "_name"))]
        return self._out(out[cols], user)

    # -- students (principal of the school only) ----------------------------------------------
    def students(self, user: User, f: Filters, kind: str) -> pd.DataFrame:
        """学困生 (``kind='struggling'``) or 临界生 (``'borderline'``) of the user's own school.

        Student lists are visible to that school alone: principals only, own school only.
        学困生: the rule of :func:`analytics.struggling_students` (under the pass line, the
        district's bottom 10 %, or low growth while below the district mean; ``reason`` says
        which). 临界生: :func:`analytics.scores.borderline_students` (just under the excellent
        or pass line). Both carry ``student_id`` (考号), ``student_name`` and ``class_name``.
        """
        if user.role != "principal":
            raise AccessDenied("student lists are visible to the school's principal only",
                               reason="principal_only")
        f = self.scope(user, f)
        if kind == "borderline":
            frame = self._analysis("borderline_students", f, school=user.school_id)
        elif kind == "struggling":
            frame = self._analysis("struggling_students", f, school=user.school_id)
        else:
            raise AccessDenied(f"unknown list {kind!r}", reason="bad_request")
        if "school_id" not in frame.columns:
            raise AccessDenied("cannot scope a student list without school_id",
                               reason="cannot_scope")
        frame = frame[frame["school_id"] == user.school_id]
        if f.class_id is not None:
            frame = frame[frame["class_id"] == f.class_id]
        return self._out(self._compared(user, f, frame, "school"), user)

    # -- committee ------------------------------------------------------------------------------
    def paper_quality(self, user: User, f: Filters) -> pd.DataFrame:
        """The paper's quality summary (district): α, SEM, P and D band counts."""
        self.require(user, "committee")
        f = self.scope(user, f)
        return self._out(self._analysis("paper_quality", f), user)

    def committee_items(self, user: User, f: Filters) -> pd.DataFrame:
        """District item statistics for the committee's paper report."""
        self.require(user, "committee")
        return self.item_stats(user, f)

    def archive_search(self, user: User, f: Filters, text: str | None) -> pd.DataFrame:
        """Bank items of the filter's subject and grade whose text, label, knowledge points or
        note contain ``text``."""
        self.require(user, "committee")
        fn = self._function("archive_search")
        text = (str(text).strip()[:200] or None) if text else None
        return self._out(self._run(fn, subject=f.subject, grade=f.grade, text=text), user)

    def archive_item(self, user: User, bank_item_id: int) -> dict[str, pd.DataFrame]:
        """An item's history across exams (administrations, options, groups, notes)."""
        self.require(user, "committee")
        fn = self._function("archive_item")
        parts = self._run(fn, int(bank_item_id))
        return {k: self._out(v, user) for k, v in parts.items()}

    def save_note(self, user: User, bank_item_id: int, text: str,
                  advice: str | None = None) -> int:
        """Append a version of the item's error-cause note (committee only)."""
        if user.role != "committee":
            raise AccessDenied("only the exam committee edits notes", reason="role",
                               roles=("committee",))
        fn = self._function("add_note")
        version = self._write(fn, bank_item_id=int(bank_item_id), text=str(text)[:5000],
                            author=user.username, advice=advice)
        self.clear_cache()
        return int(version)

    def item_curve(self, user: User, f: Filters, number: int) -> pd.DataFrame:
        """Score rate of item ``number`` by total-score band (D < C < B < A): the empirical item
        curve, from the archived administration's group statistics."""
        if user.role not in ("officer", "committee"):
            raise AccessDenied("item curves are district-wide", reason="role",
                               roles=("officer", "committee"))
        f = self.scope(user, f)
        groups = self._analysis("item_groups", f)
        if groups.empty:
            return groups
        one = groups[(groups["group_kind"] == "band") & (groups["item_number"] == number)]
        one = one.assign(group=pd.Categorical(one["group_value"], ["D", "C", "B", "A"],
                                              ordered=True)).sort_values("group")
        return self._out(one.assign(group=one["group"].astype(str)), user)

    # -- admin ---------------------------------------------------------------------------------
    def users(self, user: User) -> pd.DataFrame:
        self.require(user, "admin")
        return self._run(users.list_users)

    def school_choices(self, user: User) -> pd.DataFrame:
        """``school_id, school_name`` of every school, for the administrator's user form."""
        self.require(user, "admin")
        tree = self._tree()
        return (tree[["school_id", "school_name"]].drop_duplicates("school_id")
                .sort_values("school_id").reset_index(drop=True))

    def add_user(self, user: User, username: str, password: str, role: str,
                 school_id: int | None = None, display_name: str | None = None,
                 replace: bool = False) -> User:
        """Create a user, or with ``replace`` reset an existing user's password, role and
        school (administrators only; the rules of :func:`analytics.users.add_user`)."""
        self.require(user, "admin")
        if replace and username == user.username and role != "admin":
            raise EqmError("不能取消自己的管理员角色 / you cannot take away your own admin role")
        added = self._write(users.add_user, str(username), str(password), str(role),
                            school=school_id, display_name=display_name or None,
                            replace=replace)
        self.clear_cache()
        return added

    def remove_user(self, user: User, username: str) -> None:
        """Delete a user (administrators only); never yourself, so an administrator remains."""
        self.require(user, "admin")
        if username == user.username:
            raise EqmError("不能删除自己的账号 / you cannot remove your own account")
        self._write(users.remove_user, str(username))
        self.clear_cache()

    def imports(self, user: User) -> pd.DataFrame:
        self.require(user, "admin")
        return self._run(summaries.import_history)

    def summary_catalog(self, user: User) -> pd.DataFrame:
        self.require(user, "admin")
        return self._run(summaries.summary_catalog)

    # -- auth support --------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User | None:
        return self._run(users.authenticate, username, password)

    def get_user(self, username: str) -> User | None:
        return self._run(users.get_user, username)


__all__ = ["PAGE_ROLES", "AccessDenied", "EqmError", "Filters", "NotAvailable", "Service"]
