"""The district report (区级质量监测分析报告): per subject the zones and the schools in levels
(above / close to / below the district by the 95 % interval, grade bands; no ranks, as the
Ministry asks for compulsory schools), the paper's quality and the district's main error
points."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from analytics.documents import charts
from analytics.documents.data import ExamData
from analytics.documents.model import Chart, Document, Heading, PageBreak, Paragraph, Table
from analytics.documents.school import BANDS, footer
from analytics.documents.words import missing, num, pct, tr
from analytics.domain.labels import label
from analytics.errors import EqmError
from analytics.hotspots import district_weak_points
from analytics.paper import paper_quality
from analytics.summaries import from_summary

TOP_ERRORS = 6


def district_report(data: ExamData, *, lang: str = "zh", user: str = "eqm",
                    when: datetime | None = None) -> Document:
    """The district report of ``data``'s exam × grade (every zone and school, levels only)."""
    prof = data.profile
    dname = str(prof.loc[prof["unit"] == "district", "unit_name"].iloc[0]) if len(prof) else ""
    doc = Document(tr("district_title", lang, district=dname),
                   tr("subtitle", lang, exam=data.exam, grade=data.grade),
                   footer(user, "scope_district", lang, when), lang)
    doc.add(Heading(tr("summary", lang)))
    fig = 0
    for subject in data.subjects:
        p = prof[prof["subject"] == subject]
        schools = p[p["unit"] == "school"]
        counts = schools["position"].value_counts()
        doc.add(Paragraph(f"{subject}:" + ("、" if lang == "zh" else ", ").join(
            f"{label('position', k, lang)} {int(counts.get(k, 0))}"
            for k in ("above", "similar", "below")), "bullet"))
    for subject in data.subjects:
        p = prof[prof["subject"] == subject]
        doc.add(PageBreak(), Heading(tr("subject_head", lang, subject=subject)))
        units = p[p["unit"].isin(["district", "zone"])]
        doc.add(Heading(tr("zones_head", lang), 2), _table(units, lang))
        if len(units) and units[[f"share_{b.lower()}" for b in BANDS]].notna().all().all():
            fig += 1
            doc.add(Chart(charts.bands_chart(
                list(units["unit_name"].astype(str)),
                [[float(r[f"share_{b.lower()}"]) for b in BANDS] for _, r in units.iterrows()],
                [label("grade_band", b, lang) for b in BANDS], tr("share", lang)),
                tr("bands_caption", lang, no=fig, subject=subject), 0.8))
        schools = p[(p["unit"] == "school") & (p["n"] >= data.min_n)]
        doc.add(Heading(tr("schools_head", lang), 2))
        rows = [[str(r["unit_name"]), str(int(r["n"])),
                 label("position", r["position"], lang) if not missing(r["position"]) else "—",
                 *[pct(r.get(f"share_{b.lower()}"), 1) for b in BANDS]]
                for _, r in schools.iterrows()]
        doc.add(Table([tr("school", lang), tr("n", lang), tr("position", lang),
                       *[label("grade_band", b, lang) for b in BANDS]], rows,
                      [2.4, 0.8, 1.4, 0.9, 0.9, 0.9, 0.9]))
        doc.add(Heading(tr("paper_head", lang), 2))
        try:
            q = from_summary(data.wh, paper_quality, exam=data.exam, subject=subject,
                             grade=data.grade, level="district")
        except EqmError:
            q = None
        if q is not None and len(q):
            r = q.iloc[0]
            bad = sum(int(r.get(c, 0) or 0) for c in ("items_d_poor",))
            doc.add(Paragraph(tr("paper_line", lang, subject=subject, alpha=num(r["alpha"], 2),
                                 p=num(r["mean_difficulty"], 2), bad=bad)))
        else:
            doc.add(Paragraph(tr("no_data", lang)))
        doc.add(Heading(tr("errors_head", lang), 2))
        try:
            w = district_weak_points(data.wh, exam=data.exam, subject=subject,
                                     grade=data.grade, top=TOP_ERRORS)
        except EqmError:
            w = None
        if w is None or w.empty:
            doc.add(Paragraph(tr("no_data", lang)))
        else:
            doc.add(Table([tr(c, lang) for c in ("item_no", "kp", "drate", "wrong")],
                          [[str(r["item_label"]), str(r.get("knowledge_points") or ""),
                            pct(r["score_rate"]),
                            "" if missing(r.get("wrong_option")) else
                            f"{r['wrong_option']}({pct(r.get('wrong_option_share'))})"]
                           for _, r in w.iterrows()], [0.7, 2.5, 1, 1.3]))
    doc.add(Heading(tr("howto_head", lang), 2),
            Paragraph(tr("howto", lang, min_n=data.min_n), "note"))
    return doc


def _table(units: pd.DataFrame, lang: str) -> Table:
    cols = [tr(c, lang) for c in ("unit", "n", "mean", "excellent_rate", "pass_rate",
                                  "low_rate")] + [label("grade_band", b, lang) for b in BANDS]
    return Table(cols, [[str(u["unit_name"]), str(int(u["n"])), num(u["mean"]),
                         pct(u["excellent_rate"], 1), pct(u["pass_rate"], 1),
                         pct(u["low_rate"], 1),
                         *[pct(u.get(f"share_{b.lower()}"), 1) for b in BANDS]]
                        for _, u in units.iterrows()],
                 [2.2, 1, 1.1, 1.1, 1.1, 1.1, 0.9, 0.9, 0.9, 0.9])
