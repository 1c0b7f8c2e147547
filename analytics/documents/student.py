"""The student report (学生成长档案): one or two pages — the trajectory chart of percentile ranks
across every exam, the scores table, the weak knowledge points and the help records."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from analytics.documents import charts
from analytics.documents.model import Chart, Document, Heading, Paragraph, Table
from analytics.documents.school import footer
from analytics.documents.words import missing, num, pct, tr
from analytics.domain.labels import label
from analytics.help_records import find_student, help_records
from analytics.reports.archive import student_archive, student_weak_points
from analytics.warehouse import Warehouse


def student_report(wh: Warehouse, student: str | int, *, school: str | int | None = None,
                   lang: str = "zh", user: str = "eqm", when: datetime | None = None
                   ) -> Document:
    """The student report of ``student`` (考号; within ``school`` when given)."""
    s = find_student(wh, student, school)
    arch = student_archive(wh, student=str(s["student_id"]), school=int(s["school_id"]))
    doc = Document(tr("student_title", lang, name=s["student_name"]),
                   tr("student_info", lang, sid=s["student_id"], school=s["school_name"],
                      klass=s["class_name"]),
                   footer(user, "scope_student", lang, when), lang)
    exams = list(dict.fromkeys(arch["exam"]))
    series = {str(subj): [_at(arch, e, subj) for e in exams]
              for subj in dict.fromkeys(arch["subject"])}
    if exams:
        doc.add(Chart(charts.trajectory_chart([_short(e) for e in exams], series,
                                              tr("percentile", lang)),
                      tr("trajectory_caption", lang), 0.85))
    doc.add(Heading(tr("archive_head", lang)))
    rows = []
    for _, r in arch.iterrows():
        present = r["status"] == "present"
        flag = ""
        if present and not missing(r["struggling_reason"]):
            why = label("struggling_reason", r["struggling_reason"], lang)
            flag = f"{tr('struggling', lang)}:{why}"
        elif present and not missing(r["borderline_line"]):
            flag = f"{tr('borderline', lang)}:{label('line', r['borderline_line'], lang)}"
        rows.append([str(r["exam"]), str(r["subject"]),
                     num(r["total"], 0) + f"/{num(r['full_score'], 0)}" if present
                     else label("status", r["status"], lang),
                     label("grade_band", r["band"], lang) if present and r["band"] else "—",
                     num(r["percentile"], 0), num(r["sgp"], 0), flag])
    doc.add(Table([tr(c, lang) for c in ("exam", "subject", "total", "band", "percentile",
                                         "sgp", "reason")], rows,
                  [2.2, 0.7, 1.0, 0.7, 0.9, 0.9, 2.4]))
    weak = student_weak_points(wh, student=str(s["student_id"]),
                               school=int(s["school_id"]), archive=arch)
    doc.add(Heading(tr("weak_points_head", lang)))
    if weak.empty:
        doc.add(Paragraph(tr("weak_none", lang)))
    else:
        doc.add(Table([tr(c, lang) for c in ("subject", "kp", "student_rate", "drate")],
                      [[str(w["subject"]), str(w["knowledge_point"]), pct(w["score_rate"]),
                        pct(w["district_rate"])] for _, w in weak.iterrows()], [1, 2.5, 1, 1]))
    doc.add(Heading(tr("records_head", lang)))
    rec = help_records(wh, student=str(s["student_id"]), school=int(s["school_id"]))
    if rec.empty:
        doc.add(Paragraph(tr("records_none", lang)))
    else:
        doc.add(Table([tr(c, lang) for c in ("date", "teacher", "subject", "action")],
                      [[str(pd.Timestamp(r["help_date"]).date()), str(r["teacher"]),
                        "" if missing(r["subject"]) else str(r["subject"]), str(r["action"])]
                       for _, r in rec.iterrows()], [1, 1, 0.8, 4]))
    return doc


def _at(arch: pd.DataFrame, exam: str, subject: str) -> float | None:
    hit = arch[(arch["exam"] == exam) & (arch["subject"] == subject)]["percentile"]
    return None if hit.empty or missing(hit.iloc[0]) else float(hit.iloc[0])


def _short(exam: str) -> str:
    return exam if len(exam) <= 10 else exam[:10] + "…"
