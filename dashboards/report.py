"""The principal's printable school report (HTML, A4) and Excel workbook, from frames that the
service has already scoped and suppressed."""

from __future__ import annotations

import html
import io
from collections.abc import Mapping

import pandas as pd

from analytics.display import text_not_formulas
from dashboards.i18n import column_label, t, translate_codes

CSS = """
@page { size: A4; margin: 16mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 11pt; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 6px 0 14px; }
td, th { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th { background: #eef2f7; } .note { color: #555; font-size: 9pt; }
"""


def _display(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    shown = translate_codes(frame, lang)
    shown = shown[[c for c in shown.columns if (c == "student_id" or  # 考号 is read
                   not c.endswith(("_id", "_key"))) and c != "suppressed"]]
    return shown.rename(columns={c: column_label(c, lang) for c in shown.columns})


def school_report_html(title: str, sections: Mapping[str, pd.DataFrame], lang: str,
                       notes: Mapping[str, str] | None = None, min_n: int = 5) -> str:
    """A self-contained printable HTML page: one titled table per section."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='note'>{html.escape(t('suppressed_note', lang, n=min_n))}</p>"]
    for name, frame in sections.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if notes and name in notes:
            parts.append(f"<p>{html.escape(notes[name])}</p>")
        if frame is None or frame.empty:
            parts.append(f"<p>{html.escape(t('no_data', lang))}</p>")
        else:
            parts.append(_display(frame, lang).to_html(index=False, escape=True, na_rep="—",
                                                       float_format=lambda x: f"{x:.3g}"))
    parts.append("</body></html>")
    return "".join(parts)


def workbook(sections: Mapping[str, pd.DataFrame], lang: str) -> bytes:
    """An .xlsx workbook with one sheet per section (names cut to Excel's 31 characters)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for i, (name, frame) in enumerate(sections.items()):
            sheet = f"{i + 1}-{name}"[:31].replace("/", "-")
            data = _display(frame, lang) if frame is not None and not frame.empty \
                else pd.DataFrame({t("no_data", lang): []})
            data.to_excel(xl, sheet_name=sheet, index=False)
        text_not_formulas(xl.book)  # imported names starting with '=' stay text
    return buf.getvalue()
