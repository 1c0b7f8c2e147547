"""The school report (学校质量分析报告): a one-page summary in plain words, then per subject the
grade bands and classes against the district (charts), the items and knowledge points where the
school is credibly below the district with the archive's error cause and teaching advice, the
学困生 and 临界生 by class, and how to read the numbers.

Privacy: the report holds the school's own students only (every student frame is sliced to the
school and checked); classes under ``min_n`` students are not shown; the district and zone
comparison rows follow the principal's complementary suppression
(:func:`analytics.display.hidden_comparisons`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from analytics.documents import charts
from analytics.documents.data import ExamData
from analytics.documents.model import Chart, Document, Heading, PageBreak, Paragraph, Table
from analytics.documents.words import missing, num, pct, points, signed_pp, tr
from analytics.domain.labels import label
from analytics.errors import InputError
from analytics.reports.profile import position

MAX_ITEMS = 8          # credibly-below items listed per subject
MAX_STUDENTS = 80      # students listed by name (those flagged in most subjects first)
BANDS = ("A", "B", "C", "D")


def footer(user: str, scope: str, lang: str, when: datetime | None = None) -> str:
    """The footer line: who generated the report, when, and for whom it is."""
    when = when or datetime.now()
    return tr("footer", lang, user=user, when=when.strftime("%Y-%m-%d %H:%M"),
              scope=tr(scope, lang))


def school_report(data: ExamData, school: str | int, *, lang: str = "zh",
                  user: str = "eqm", when: datetime | None = None) -> Document:
    """The school report of ``school`` on ``data``'s exam × grade.

    Parameters
    ----------
    data : ExamData
        The exam's frames (shared by the reports of a batch).
    school : str or int
        The school (id, name or code).
    lang : {'zh', 'en'}
        The report's language.
    user, when
        Who generated it and when (the footer).

    Returns
    -------
    Document
        Ready for :func:`analytics.documents.render.write`.
    """
    row = data.school_row(school)
    sid, zid, name = int(row["school_id"]), row["zone_id"], str(row["school_name"])
    prof = data.profile
    mine = prof[(prof["unit"] == "school") & (prof["school_id"] == sid)]
    if mine.empty:
        raise InputError(f"学校「{name}」没有参加「{data.exam}」{data.grade}年级 / school "
                         f"{name!r} has no students in {data.exam!r} grade {data.grade}")
    doc = Document(tr("school_title", lang, school=name),
                   tr("subtitle", lang, exam=data.exam, grade=data.grade),
                   footer(user, "scope_school", lang, when), lang)
    subjects = [s for s in data.subjects if (mine["subject"] == s).any()]
    _summary(doc, data, subjects, sid, zid, lang)
    fig = [0]
    for subject in subjects:
        doc.add(PageBreak(), Heading(tr("subject_head", lang, subject=subject)))
        _subject(doc, data, subject, sid, zid, lang, fig)
    doc.add(PageBreak())
    students_table(doc, data, subjects, sid, lang)
    doc.add(Heading(tr("howto_head", lang), 2),
            Paragraph(tr("howto", lang, min_n=data.min_n), "note"))
    return doc


# -- the summary page ------------------------------------------------------------------------
def _rows(data: ExamData, subject: str, sid: int, zid: Any) -> dict[str, pd.Series | None]:
    prof = data.profile
    p = prof[prof["subject"] == subject]
    hidden = data.hidden(subject, sid, zid)
    school = p[(p["unit"] == "school") & (p["school_id"] == sid)]
    zone = p[(p["unit"] == "zone") & (p["zone_id"] == zid)]
    district = p[p["unit"] == "district"]
    return {"school": school.iloc[0] if len(school) else None,
            "zone": zone.iloc[0] if len(zone) and hidden["zone"] is None else None,
            "district": district.iloc[0] if len(district) and hidden["district"] is None
            else None}


def _summary(doc: Document, data: ExamData, subjects: list[str], sid: int, zid: Any,
             lang: str) -> None:
    doc.add(Heading(tr("summary", lang)))
    for subject in subjects:
        r = _rows(data, subject, sid, zid)
        s, z, d = r["school"], r["zone"], r["district"]
        assert s is not None
        if s["n"] < data.min_n or d is None:
            doc.add(Paragraph(tr("too_few", lang, subject=subject, min_n=data.min_n)))
            continue
        pos_z = ""
        if z is not None:
            zpos = position(s["ci_low"], s["ci_high"], z["mean"])
            pos_z = tr("vs_zone", lang, pos=label("zone_position", zpos, lang))
        doc.add(Paragraph(tr("summary_vs", lang, subject=subject,
                             pos_d=label("position", s["position"], lang), pos_z=pos_z,
                             a=pct(s.get("share_a")), da=pct(d.get("share_a")),
                             d=pct(s.get("share_d")), dd=pct(d.get("share_d"))), "bullet"))
    # value added
    doc.add(Heading(tr("va_head", lang), 2))
    said = False
    for subject in subjects:
        va = data.value_added(subject)
        if va.empty or "school_id" not in va.columns:
            continue
        v = va[va["school_id"] == sid]
        if v.empty or v["n"].iloc[0] < data.min_n:
            continue
        v0 = v.iloc[0]
        doc.add(Paragraph(tr("va_line", lang, subject=subject,
                             cat=label("va_category", v0["category"], lang),
                             va=num(v0["va"], 2, True), lo=num(v0["ci_low"], 2, True),
                             hi=num(v0["ci_high"], 2, True), prior=data.prior(subject)),
                          "bullet"))
        said = True
    if not said:
        doc.add(Paragraph(tr("va_none", lang)))
    # the three weaknesses
    doc.add(Heading(tr("weak_head", lang), 2))
    weak = _weaknesses(data, subjects, sid, lang)
    for w in weak[:3]:
        doc.add(Paragraph(tr("weak_line", lang, subject=w["subject"], what=w["what"],
                             rate=pct(w["unit_rate"]), drate=pct(w["district_rate"]),
                             gap=points(w["gap"], lang), lo=signed_pp(w["ci_low"]),
                             hi=signed_pp(w["ci_high"])), "bullet"))
    if not weak:
        doc.add(Paragraph(tr("weak_none", lang)))
    # what changed
    doc.add(Heading(tr("change_head", lang), 2))
    said = False
    for subject in subjects:
        prior = data.prior(subject)
        if prior is None:
            continue
        pp = data.prior_profile(prior)
        if pp.empty:
            continue
        then = pp[(pp["unit"] == "school") & (pp["school_id"] == sid)
                  & (pp["subject"] == subject)]
        now = _rows(data, subject, sid, zid)["school"]
        if then.empty or now is None or missing(then["position"].iloc[0]) \
                or missing(now["position"]):
            continue
        doc.add(Paragraph(tr("change_line", lang, subject=subject, prior=prior,
                             then=label("position", then["position"].iloc[0], lang),
                             now=label("position", now["position"], lang)), "bullet"))
        said = True
    if not said:
        doc.add(Paragraph(tr("change_none", lang)))


def _weaknesses(data: ExamData, subjects: list[str], sid: int,
                lang: str = "zh") -> list[dict[str, Any]]:
    """Flagged knowledge points (else items) of the school, largest gap first."""
    out: list[dict[str, Any]] = []
    for grain, what in (("knowledge_point", "knowledge_point"), ("item", "item_label")):
        for subject in subjects:
            h = data.hotspots(subject, grain)
            if h.empty or "flag" not in h.columns:
                continue
            h = h[(h["school_id"] == sid) & h["flag"].fillna(False).astype(bool)]
            for _, r in h.iterrows():
                name = str(r[what]) if grain == "knowledge_point" else \
                    tr("item_named", lang, label=r[what])
                out.append({**{str(k): v for k, v in r.items()}, "subject": subject,
                            "what": name})
        if len(out) >= 3:
            break
    return sorted(out, key=lambda w: float(w["gap"]))


# -- per subject -------------------------------------------------------------------------
def _subject(doc: Document, data: ExamData, subject: str, sid: int, zid: Any, lang: str,
             fig: list[int]) -> None:
    r = _rows(data, subject, sid, zid)
    units = [(k, v) for k, v in r.items() if v is not None]
    cols = [tr(c, lang) for c in ("unit", "n", "mean", "excellent_rate", "pass_rate",
                                  "low_rate")] + [label("grade_band", b, lang) for b in BANDS]
    rows = []
    for _, u in units:
        rows.append([str(u["unit_name"]), f"{int(u['n'])}", num(u["mean"]),
                     pct(u["excellent_rate"], 1), pct(u["pass_rate"], 1), pct(u["low_rate"], 1),
                     *[pct(u.get(f"share_{b.lower()}"), 1) for b in BANDS]])
    doc.add(Table(cols, rows, [2.2, 1, 1.1, 1.1, 1.1, 1.1, 0.9, 0.9, 0.9, 0.9]))
    for k in ("zone", "district"):
        if r[k] is None:
            doc.add(Paragraph(tr("hidden_note", lang, what=tr(k if k == "zone" else "unit",
                                                              lang)), "note"))
    if all(not missing(u.get("share_a")) for _, u in units) and units:
        fig[0] += 1
        doc.add(Chart(charts.bands_chart(
            [str(u["unit_name"]) for _, u in units],
            [[float(u[f"share_{b.lower()}"]) for b in BANDS] for _, u in units],
            [label("grade_band", b, lang) for b in BANDS], tr("share", lang)),
            tr("bands_caption", lang, no=fig[0], subject=subject), 0.7))
    cls = data.report(subject, "class")
    if not cls.empty:
        cls = cls[(cls["school_id"] == sid) & (cls["n"] >= data.min_n)]
        cls = cls.sort_values("class_name", key=lambda c: c.str.len() * 1000 + 0, kind="stable")
    if not cls.empty:
        fig[0] += 1
        ref = r["district"]["mean"] if r["district"] is not None else None
        doc.add(Chart(charts.means_chart(
            list(cls["class_name"].astype(str)), list(cls["mean"]), list(cls["ci_low"]),
            list(cls["ci_high"]), ref, tr("district_mean", lang), tr("mean", lang)),
            tr("classes_caption", lang, no=fig[0], subject=subject), 0.8),
            Paragraph(tr("classes_small", lang, min_n=data.min_n), "note"))
    _items(doc, data, subject, sid, lang)


def _archive_notes(data: ExamData, subject: str) -> dict[int, tuple[str, str]]:
    a = data.archive(subject)
    if a.empty or "item_number" not in a.columns:
        return {}
    return {int(r["item_number"]): ("" if missing(r.get("cause_text")) else str(r["cause_text"]),
                                    "" if missing(r.get("advice")) else str(r["advice"]))
            for _, r in a.iterrows()}


def _items(doc: Document, data: ExamData, subject: str, sid: int, lang: str) -> None:
    doc.add(Heading(tr("items_head", lang), 2))
    h = data.hotspots(subject, "item")
    if h.empty or "flag" not in h.columns:
        doc.add(Paragraph(tr("items_none", lang)))
        return
    h = h[(h["school_id"] == sid) & h["flag"].fillna(False).astype(bool)].sort_values("gap")
    if h.empty:
        doc.add(Paragraph(tr("items_none", lang)))
    else:
        notes = _archive_notes(data, subject)
        rows = []
        for _, x in h.head(MAX_ITEMS).iterrows():
            wrong = "" if missing(x.get("wrong_option")) else \
                f"{x['wrong_option']}({pct(x.get('wrong_option_share'))})"
            cause, advice = notes.get(int(x["item_number"]), ("", ""))
            rows.append([str(x["item_label"]), str(x.get("knowledge_points") or ""),
                         pct(x["unit_rate"]), pct(x["district_rate"]),
                         f"{signed_pp(x['gap'])}({signed_pp(x['ci_low'])}, "
                         f"{signed_pp(x['ci_high'])})", wrong, cause, advice])
        doc.add(Table([tr(c, lang) for c in ("item_no", "kp", "rate", "drate", "gap_ci",
                                             "wrong", "cause", "advice")],
                      rows, [0.6, 1.3, 0.8, 0.8, 1.5, 0.9, 2.0, 2.0]))
    k = data.hotspots(subject, "knowledge_point")
    if not k.empty and "flag" in k.columns:
        k = k[(k["school_id"] == sid) & k["flag"].fillna(False).astype(bool)].sort_values("gap")
        if not k.empty:
            doc.add(Heading(tr("kps_head", lang), 2), Table(
                [tr(c, lang) for c in ("kp", "rate", "drate", "gap_ci")],
                [[str(x["knowledge_point"]), pct(x["unit_rate"]), pct(x["district_rate"]),
                  f"{signed_pp(x['gap'])}({signed_pp(x['ci_low'])}, "
                  f"{signed_pp(x['ci_high'])})"] for _, x in k.iterrows()], [2, 1, 1, 1.6]))


def students_table(doc: Document, data: ExamData, subjects: list[str], sid: int, lang: str,
                   class_id: Any = None) -> None:
    """学困生 and 临界生 of the school (or of one class), one row per student: class, 考号, 姓名,
    the subjects where the student is 学困生 (with the reason) and 临界生 (with the line)."""
    doc.add(Heading(tr("students_head", lang)))
    rows: dict[Any, dict[str, Any]] = {}
    sep = "、" if lang == "zh" else "; "
    for subject in subjects:
        for kind, frame in (("struggling", data.struggling(subject)),
                            ("borderline", data.borderline(subject))):
            if frame.empty or "school_id" not in frame.columns:
                continue
            frame = frame[frame["school_id"] == sid]
            if class_id is not None:
                frame = frame[frame["class_id"] == class_id]
            assert set(frame["school_id"]) <= {sid}  # never another school's students
            for _, r in frame.iterrows():
                row = rows.setdefault(r["student_key"], {
                    "class": str(r["class_name"]), "id": str(r["student_id"]),
                    "name": str(r["student_name"]), "struggling": [], "borderline": []})
                why = label("struggling_reason", r["reason"], lang) if kind == "struggling" \
                    else tr("borderline_reason", lang, line=label("line", r["line"], lang),
                            gap=num(r["gap"]))
                row[kind].append(f"{subject}:{why}" if lang == "zh" else f"{subject}: {why}")
    if not rows:
        doc.add(Paragraph(tr("students_none", lang)))
        return
    listed = sorted(rows.values(), key=lambda r: (-len(r["struggling"]) - len(r["borderline"]),
                                                  r["class"], r["id"]))
    shown = sorted(listed[:MAX_STUDENTS], key=lambda r: (len(r["class"]), r["class"], r["id"]))
    doc.add(Table([tr(c, lang) for c in ("klass", "student_no", "student_name", "struggling",
                                         "borderline")],
                  [[r["class"], r["id"], r["name"], sep.join(r["struggling"]),
                    sep.join(r["borderline"])] for r in shown], [0.7, 1.1, 0.8, 3.2, 2.4]))
    if len(listed) > MAX_STUDENTS:
        doc.add(Paragraph(tr("students_more", lang, shown=MAX_STUDENTS, n=len(listed)),
                          "note"))
