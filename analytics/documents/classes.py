"""The class report (班级质量分析报告) for the 班主任 and the subject teachers: per subject the
class against its school and the district (levels and bands), the items where the class is
credibly below the district with the most-chosen wrong answer and the archive's advice, and the
class's 学困生 and 临界生 (that class's students only)."""

from __future__ import annotations

from datetime import datetime

from analytics.documents.data import ExamData
from analytics.documents.model import Document, Heading, Paragraph, Table
from analytics.documents.school import _archive_notes, footer, students_table
from analytics.documents.words import missing, num, pct, signed_pp, tr
from analytics.domain.labels import label
from analytics.errors import InputError
from analytics.reports.profile import position


def class_report(data: ExamData, school: str | int, klass: str, *, lang: str = "zh",
                 user: str = "eqm", when: datetime | None = None) -> Document:
    """The report of class ``klass`` (its name, e.g. ``3班``) of ``school``."""
    row = data.school_row(school)
    sid, name = int(row["school_id"]), str(row["school_name"])
    tree = data.tree
    hit = tree[(tree["school_id"] == sid) & (tree["class_name"].astype(str) == str(klass))
               & (tree["grade"] == data.grade)]
    if hit.empty:
        raise InputError(f"「{name}」{data.grade}年级没有班级「{klass}」/ {name!r} has no class "
                         f"{klass!r} in grade {data.grade}")
    cid = int(hit["class_id"].iloc[0])
    doc = Document(tr("class_title", lang, school=name, klass=klass),
                   tr("subtitle", lang, exam=data.exam, grade=data.grade),
                   footer(user, "scope_class", lang, when), lang)
    doc.add(Heading(tr("summary", lang)))
    rows = []
    for subject in data.subjects:
        cls = data.report(subject, "class")
        mine = cls[cls["class_id"] == cid] if "class_id" in cls.columns else cls.iloc[0:0]
        if mine.empty:
            continue
        c = mine.iloc[0]
        if c["n"] < data.min_n:
            doc.add(Paragraph(tr("too_few", lang, subject=subject, min_n=data.min_n)))
            continue
        prof = data.profile
        d = prof[(prof["subject"] == subject) & (prof["unit"] == "district")]
        s = prof[(prof["subject"] == subject) & (prof["unit"] == "school")
                 & (prof["school_id"] == sid)]
        pos = position(c["ci_low"], c["ci_high"], float(d["mean"].iloc[0])) if len(d) else None
        rows.append([subject, str(int(c["n"])), num(c["mean"]),
                     num(s["mean"].iloc[0]) if len(s) else "—",
                     num(d["mean"].iloc[0]) if len(d) else "—",
                     label("position", pos, lang) if pos else "—",
                     pct(c["excellent_rate"], 1), pct(c["pass_rate"], 1)])
    doc.add(Table([tr("subject", lang), tr("n", lang), tr("mean", lang),
                   tr("school", lang) + tr("mean", lang), tr("unit", lang) + "·" +
                   tr("district_mean", lang), tr("position", lang), tr("excellent_rate", lang),
                   tr("pass_rate", lang)], rows, [0.8, 0.6, 0.8, 1, 1, 1.2, 0.9, 0.9]))
    for subject in data.subjects:
        doc.add(Heading(f"{subject} · {tr('items_head', lang)}", 2))
        h = data.hotspots(subject, "item", level="class")
        if h.empty or "class_id" not in h.columns:
            doc.add(Paragraph(tr("items_none", lang)))
            continue
        h = h[(h["class_id"] == cid) & h["flag"].fillna(False).astype(bool)].sort_values("gap")
        if h.empty:
            doc.add(Paragraph(tr("items_none", lang)))
            continue
        notes = _archive_notes(data, subject)
        doc.add(Table([tr(c, lang) for c in ("item_no", "kp", "rate", "drate", "gap_ci",
                                             "wrong", "advice")],
                      [[str(x["item_label"]), str(x.get("knowledge_points") or ""),
                        pct(x["unit_rate"]), pct(x["district_rate"]),
                        f"{signed_pp(x['gap'])}({signed_pp(x['ci_low'])}, "
                        f"{signed_pp(x['ci_high'])})",
                        "" if missing(x.get("wrong_option")) else str(x["wrong_option"]),
                        notes.get(int(x["item_number"]), ("", ""))[1]]
                       for _, x in h.head(8).iterrows()], [0.6, 1.4, 0.8, 0.8, 1.5, 0.8, 2.6]))
    students_table(doc, data, data.subjects, sid, lang, class_id=cid)
    doc.add(Heading(tr("howto_head", lang), 2),
            Paragraph(tr("howto", lang, min_n=data.min_n), "note"))
    return doc
