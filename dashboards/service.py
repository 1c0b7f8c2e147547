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

The service is built in layers, one module each: :mod:`dashboards.access` (refusals, filters,
page roles), :mod:`dashboards.cached` (the snapshot, the caches and the routes to the analytics),
:mod:`dashboards.scope` (roles and scope), :mod:`dashboards.comparisons` (complementary
suppression) and this module, the methods the pages call. Everything the pages and tests import
stays importable from here.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from analytics import summaries, users
from analytics.display import DISTRICT_DERIVED, hidden_comparisons, without_district_comparison
from analytics.errors import EqmError
from analytics.scoretables import TOTAL_SUBJECT
from analytics.users import User
from dashboards.access import PAGE_ROLES as PAGE_ROLES
from dashboards.access import AccessDenied as AccessDenied
from dashboards.access import Filters as Filters
from dashboards.access import NotAvailable as NotAvailable
from dashboards.access import RankPolicy as RankPolicy
from dashboards.access import frame_filter
from dashboards.cached import ANALYSES as ANALYSES
from dashboards.cached import SUMMARY_OF as SUMMARY_OF
from dashboards.cached import SUMMARY_OF_KW as SUMMARY_OF_KW
from dashboards.cached import SUMMARY_WITH_PRIOR as SUMMARY_WITH_PRIOR
from dashboards.comparisons import Compared


class Service(Compared):
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
        frame = self._analysis("item_stats", f, level="district")  # district-wide
        return self._out(self._compared(user, f, frame, "district"), user)

    def option_analysis(self, user: User, f: Filters) -> pd.DataFrame:
        if user.role not in ("officer", "committee"):
            raise AccessDenied("option analysis is district-wide", reason="role",
                               roles=("officer", "committee"))
        f = self.scope(user, f)
        return self._out(self._analysis("option_analysis", f, level="district"), user)

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
                 grain: str = "item") -> pd.DataFrame:
        """Items (or knowledge points) where a unit falls below the district (tested), scoped."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("hotspots", reason="role",
                               roles=("officer", "principal"))
        if level not in ("school", "class") or grain not in ("item", "knowledge_point"):
            raise AccessDenied(f"unknown level {level!r} / grain {grain!r}",
                               reason="bad_request")
        kwargs: dict[str, Any] = {"level": level}
        if grain != "item":
            kwargs["grain"] = grain
        frame = self._analysis("error_hotspots", f, **kwargs)
        frame = self._restrict(user, f, frame, level)  # gaps to the district's rates:
        return self._out(self._compared(user, f, frame, "district"), user)

    def district_weak_points(self, user: User, f: Filters,
                             grain: str = "item") -> pd.DataFrame:
        """The district's weakest items or knowledge points (district-wide, no school rows)."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal", "committee"):
            raise AccessDenied("weak points", reason="role",
                               roles=("officer", "principal", "committee"))
        if grain not in ("item", "knowledge_point"):
            raise AccessDenied(f"unknown grain {grain!r}", reason="bad_request")
        frame = self._analysis("district_weak_points", f, grain=grain)
        return self._out(self._compared(user, f, frame, "district"), user)

    # -- score tables: 一分一段表 and 全科总分 (analytics.scoretables) -------------------------
    def score_distribution(self, user: User, f: Filters, level: str = "district",
                           width: float | None = None, total: bool = False) -> pd.DataFrame:
        """一分一段表 (分数段 with ``width``) of the paper, or of the exam's total, for the
        district or one school (a principal: their own; the district only while it is not
        hidden from them, :meth:`comparisons`)."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("score tables", reason="role", roles=("officer", "principal"))
        if level not in ("district", "school") or (width is not None and not width > 0):
            raise AccessDenied(f"bad level {level!r} or width {width!r}", reason="bad_request")
        kwargs: dict[str, Any] = {"level": level}
        if width is not None:
            kwargs["width"] = float(width)
        if level == "school":
            kwargs["school"] = self.school_of(user, f)
        g = replace(f, subject=TOTAL_SUBJECT) if total else f
        frame = self._analysis("score_distribution", g, **kwargs)
        if level == "district":
            hidden = self._total_hidden(user, f) if total else self.comparisons(user, f)
            frame = frame.iloc[0:0] if hidden["district"] is not None else frame
        return self._out(frame, user)

    def total_report(self, user: User, f: Filters, level: str = "school",
                     view: str = "report") -> pd.DataFrame:
        """全科总分 of the exam × grade at ``level``: the score report (``view="report"``) or
        the grade bands (``"levels"``), scoped like :meth:`score_report`."""
        f = self.scope(user, f)
        if user.role not in ("officer", "principal"):
            raise AccessDenied("score tables", reason="role", roles=("officer", "principal"))
        if level not in ("district", "zone", "school", "class") or \
                view not in ("report", "levels"):
            raise AccessDenied(f"bad level {level!r} or view {view!r}", reason="bad_request")
        if f.exam is None:
            return pd.DataFrame()
        name = "total_score_report" if view == "report" else "total_grade_bands"
        frame = self._restrict(user, f, self._report(name, exam=f.exam, grade=f.grade,
                                                     level=level), level)
        if user.role == "principal":
            hidden = self._total_hidden(user, f)
            if level in hidden and hidden[level] is not None:
                frame = frame.iloc[0:0]
            elif hidden["district"] is not None:
                frame = without_district_comparison(frame)
        return self._out(frame, user)

    def _total_hidden(self, user: User, f: Filters) -> dict[str, str | None]:
        """:meth:`comparisons` on the exam's total (its schools' complete students)."""
        if user.role != "principal" or user.school_id is None:
            return {"district": None, "zone": None}
        schools = self._report("total_score_report", exam=f.exam, grade=f.grade,
                               level="school")
        if schools.empty:
            schools = pd.DataFrame({"school_id": [], "zone_id": [], "n": []})
        return hidden_comparisons(schools, user.school_id, self._zone_of(user),
                                  min_n=self.min_n, min_schools=self.min_other_schools)

    # -- value added, growth, green --------------------------------------------------------
    def prior_exams(self, user: User, f: Filters) -> list[str]:
        """Exams before the current one with a paper of the same grade and subject (the entry
        candidates), latest first: the first is the default entry exam."""
        f = self.scope(user, f)
        if f.exam is None or f.subject is None:
            return []
        return summaries.prior_exams(self.papers_raw(), f.exam, f.subject, f.grade)

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
            schools = frame_filter(schools, "school_id", f.school)
        elif f.zone is not None:
            schools = frame_filter(schools, "zone_id", f.zone)
        district = district.assign(unit_name=district.get("district_name", "district"))
        schools = schools.assign(unit_name=schools.get("school_name", "school"))
        out = pd.concat([district, schools], ignore_index=True)
        keep = ["zone_id", "school_id", "unit_name"]
        cols = [c for c in keep if c in out.columns] + [
            c for c in out.columns if c not in keep and not c.endswith(("_id", "_name"))]
        return self._out(out[cols], user)

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

    def student_archive(self, user: User, student: str) -> pd.DataFrame:
        """One student's results across every exam (:func:`analytics.student_archive`), found
        by 考号 or a unique name: officers any student, a principal only their own school's
        (scoped here, on the server: another school's student is refused as not found)."""
        if user.role not in ("officer", "principal"):
            raise AccessDenied("the student archive", reason="role",
                               roles=("officer", "principal"))
        school = user.school_id if user.role == "principal" else None
        if user.role == "principal" and school is None:
            raise AccessDenied("a principal without a school", reason="cannot_scope")
        self.sync()
        try:
            frame = self._run(self._function("student_archive"), student=student,
                              school=school)
        except EqmError as exc:
            raise AccessDenied(str(exc), reason="bad_request") from exc
        return frame.drop(columns=["student_key"])

    def school_report_file(self, user: User, f: Filters, fmt: str = "docx") -> bytes:
        """The printed school report (:mod:`analytics.documents.school`) of the principal's own
        school on ``f``'s exam and grade, as .docx, .pdf or .html bytes (the download of the
        principal's page). Principals only: the report names the school's students."""
        from analytics.documents import render
        from analytics.documents.data import ExamData
        from analytics.documents.school import school_report

        if user.role != "principal" or user.school_id is None:
            raise AccessDenied("the school report names students: principals only",
                               reason="principal_only")
        if fmt not in render.FORMATS or f.exam is None:
            raise AccessDenied(f"unknown format {fmt!r} or no exam", reason="bad_request")

        exam, school = str(f.exam), int(user.school_id)

        def build(wh: Any) -> bytes:
            data = ExamData(wh, exam=exam, grade=f.grade, min_n=self.min_n)
            doc = school_report(data, school, user=user.display_name or user.username)
            if fmt == "pdf":
                return render.to_pdf(doc)
            if fmt == "docx":
                return render.to_docx(doc)
            return render.to_html(doc).encode("utf-8")

        self.sync()
        try:
            return bytes(self._run(build))
        except EqmError as exc:
            raise AccessDenied(str(exc), reason="bad_request") from exc

    # -- committee ------------------------------------------------------------------------------
    def paper_quality(self, user: User, f: Filters) -> pd.DataFrame:
        """The paper's quality summary (district): α, SEM, P and D band counts."""
        self.require(user, "committee")
        f = self.scope(user, f)
        return self._out(self._analysis("paper_quality", f, level="district"), user)

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

    def archive_export(self, user: User, f: Filters) -> bytes:
        """The paper's archive as an Excel workbook (:func:`analytics.archive.
        export_paper_archive`, small groups suppressed): committee only."""
        self.require(user, "committee")
        f = self.scope(user, f)
        fn = summaries.analysis_function("analytics.archive", "export_paper_archive")
        if fn is None or f.exam is None or f.subject is None:
            raise NotAvailable("analytics.archive.export_paper_archive")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "archive.xlsx"
            self._run(fn, exam=f.exam, subject=f.subject, grade=f.grade, out=out,
                      min_n=self.min_n)
            return out.read_bytes()

    def item_curve(self, user: User, f: Filters, item_number: int) -> pd.DataFrame:
        """Score rate of item ``item_number`` by total-score band (D < C < B < A): the empirical
        item curve, from the archived administration's group statistics."""
        if user.role not in ("officer", "committee"):
            raise AccessDenied("item curves are district-wide", reason="role",
                               roles=("officer", "committee"))
        f = self.scope(user, f)
        groups = self._analysis("item_groups", f)
        if groups.empty:
            return groups
        one = groups[(groups["group_kind"] == "band") & (groups["item_number"] == item_number)]
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
        # The key derivation (~0.1 s) runs outside the service lock: only the look-ups take it.
        stored = self._run(users.password_hash, username)
        if not users.check_password(stored, password):
            return None
        return self._run(users.get_user, username)

    def get_user(self, username: str) -> User | None:
        return self._run(users.get_user, username)


__all__ = ["PAGE_ROLES", "AccessDenied", "EqmError", "Filters", "NotAvailable", "Service"]
