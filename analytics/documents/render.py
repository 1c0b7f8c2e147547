"""Renderers of a :class:`~analytics.documents.model.Document`: Word (.docx, python-docx),
PDF (fpdf2, the CJK font subset and embedded) and a self-contained HTML page, all A4.

:func:`write` picks the renderer by the file's suffix; :func:`write_all` renders many documents
of one format, sharing one font subset between the PDFs (a batch of forty reports subsets the
font once).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from analytics.documents.fonts import FAMILY, subset_font
from analytics.documents.model import Chart, Document, Heading, PageBreak, Paragraph, Table
from analytics.errors import InputError

FORMATS = ("pdf", "docx", "html")
A4_W, MARGIN = 210.0, 16.0  # mm
PDF_FIXED = "第页共 page of •"  # the PDF renderer's own characters (page numbers, bullets)


def format_of(path: str | Path) -> str:
    """``pdf``, ``docx`` or ``html`` from the file's suffix; anything else is refused."""
    fmt = Path(path).suffix.lower().lstrip(".")
    fmt = "html" if fmt == "htm" else fmt
    if fmt not in FORMATS:
        raise InputError(f"不支持的报告格式「{Path(path).suffix}」,可选 .pdf、.docx、.html / "
                         f"unsupported report format {Path(path).suffix!r}: use .pdf, .docx "
                         "or .html")
    return fmt


def write(doc: Document, path: str | Path) -> Path:
    """Render ``doc`` to ``path`` in the format its suffix names."""
    return write_all([doc], [path])[0]


def write_all(docs: Sequence[Document], paths: Sequence[str | Path],
              progress: Callable[[], object] | None = None) -> list[Path]:
    """Render each document to its path (suffixes name the formats); the PDFs share one font
    subset holding every character of every document. ``progress`` is called after each."""
    out = [Path(p) for p in paths]
    fmts = [format_of(p) for p in out]
    font = None
    if "pdf" in fmts:
        font = subset_font([PDF_FIXED, *(t for d, f in zip(docs, fmts, strict=True)
                                         if f == "pdf" for t in d.texts())])
    for doc, path, fmt in zip(docs, out, fmts, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "pdf":
            assert font is not None
            path.write_bytes(to_pdf(doc, font))
        elif fmt == "docx":
            path.write_bytes(to_docx(doc))
        else:
            path.write_text(to_html(doc), encoding="utf-8")
        if progress is not None:
            progress()
    return out


# -- PDF ---------------------------------------------------------------------------------------
def to_pdf(doc: Document, font: Path | None = None) -> bytes:
    """The PDF bytes: A4 portrait, the CJK font embedded (subset), page numbers and the footer
    on every page."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = font or subset_font([PDF_FIXED, *doc.texts()])
    page_word = ("第 {} 页 / 共 {} 页" if doc.lang == "zh" else "page {} of {}")

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-11)
            self.set_font("cjk", size=7.5)
            self.set_text_color(110)
            self.cell(0, 4, doc.footer, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 4, page_word.format(self.page_no(), "{nb}"), align="R")
            self.set_text_color(0)

    pdf = _PDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, 14, MARGIN)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("cjk", "", str(font))
    pdf.set_title(doc.title)
    pdf.set_creator("eqm")
    pdf.add_page()
    width = A4_W - 2 * MARGIN
    pdf.set_font("cjk", size=17)
    pdf.multi_cell(width, 9, doc.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(80)
    pdf.multi_cell(width, 6, doc.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(2)
    for block in doc.blocks:
        if isinstance(block, PageBreak):
            pdf.add_page()
        elif isinstance(block, Heading):
            if pdf.get_y() > 250:
                pdf.add_page()
            size = 13 if block.level == 1 else 11
            pdf.ln(2)
            pdf.set_font("cjk", size=size)
            pdf.set_text_color(20, 60, 120)
            pdf.multi_cell(width, size * 0.55, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.ln(1)
        elif isinstance(block, Paragraph):
            note = block.style == "note"
            pdf.set_font("cjk", size=8 if note else 9.5)
            pdf.set_text_color(90 if note else 0)
            text = ("• " + block.text) if block.style == "bullet" else block.text
            pdf.multi_cell(width, 4.2 if note else 5.2, text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.ln(0.8)
        elif isinstance(block, Table):
            pdf.set_font("cjk", size=8)
            widths = block.widths or [1.0] * len(block.columns)
            with pdf.table(col_widths=tuple(widths), width=width, line_height=4.6,
                           text_align="LEFT", headings_style=FontFace(fill_color=(232, 238, 247)),
                           repeat_headings=1, padding=0.8) as table:
                table.row(block.columns)
                for row in block.rows:
                    table.row(row)
            pdf.ln(2)
        elif isinstance(block, Chart):
            from PIL import Image

            img = Image.open(io.BytesIO(block.png))
            w = width * block.width
            h = w * img.height / img.width
            if pdf.get_y() + h + 8 > pdf.h - 16:
                pdf.add_page()
            pdf.image(io.BytesIO(block.png), x=MARGIN + (width - w) / 2, w=w)
            pdf.set_font("cjk", size=8)
            pdf.set_text_color(90)
            pdf.multi_cell(width, 4, block.caption, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0)
            pdf.ln(1.5)
    return bytes(pdf.output())


# -- Word --------------------------------------------------------------------------------------
def _east_asian(run_or_style: object) -> None:
    from docx.oxml.ns import qn

    el = run_or_style.element  # type: ignore[attr-defined]
    rpr = el.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FAMILY)


def to_docx(doc: Document) -> bytes:
    """The Word document: A4, styles set to the CJK font (Word substitutes a local Chinese font
    when it is missing), tables in the ``Table Grid`` style, charts as pictures, the footer."""
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    d = Docx()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Mm(MARGIN))
    sec.top_margin, sec.bottom_margin = Mm(14), Mm(16)
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "List Bullet", "Caption"):
        style = d.styles[name]
        style.font.name = FAMILY
        _east_asian(style)
    d.styles["Normal"].font.size = Pt(10)
    title = d.add_paragraph(doc.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = d.add_paragraph(doc.subtitle)
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = sec.footer.paragraphs[0]
    footer.text = doc.footer
    footer.runs[0].font.size = Pt(8)
    text_width = Mm(A4_W - 2 * MARGIN)
    for block in doc.blocks:
        if isinstance(block, PageBreak):
            d.add_page_break()
        elif isinstance(block, Heading):
            d.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            style = "List Bullet" if block.style == "bullet" else None
            p = d.add_paragraph(block.text, style=style)
            if block.style == "note":
                for run in p.runs:
                    run.font.size = Pt(8)
                    run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        elif isinstance(block, Table):
            t = d.add_table(rows=1, cols=len(block.columns))
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, block.columns, strict=True):
                cell.text = text
                cell.paragraphs[0].runs[0].font.bold = True
            for row in block.rows:
                cells = t.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
            for row in t.rows:
                for cell in row.cells:
                    for run in cell.paragraphs[0].runs:
                        run.font.size = Pt(8.5)
            d.add_paragraph()
        elif isinstance(block, Chart):
            d.add_picture(io.BytesIO(block.png), width=int(text_width * block.width))
            d.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = d.add_paragraph(block.caption, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# -- HTML --------------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 16mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       font-size: 10.5pt; max-width: 178mm; margin: auto; }
h1.title { text-align: center; font-size: 18pt; margin-bottom: 2px; }
p.subtitle { text-align: center; color: #555; }
h2 { font-size: 13pt; color: #143c78; border-bottom: 1px solid #bbb; }
h3 { font-size: 11pt; color: #143c78; }
table { border-collapse: collapse; margin: 4px 0 12px; font-size: 8.5pt; width: 100%; }
td, th { border: 1px solid #bbb; padding: 2px 5px; text-align: left; }
th { background: #e8eef7; } .note { color: #555; font-size: 8.5pt; }
figure { text-align: center; margin: 6px 0; } figcaption { color: #555; font-size: 8.5pt; }
.pb { break-after: page; } footer { color: #666; font-size: 8pt; margin-top: 16px; }
"""


def to_html(doc: Document) -> str:
    """A self-contained printable page (charts as data URIs)."""
    e = html.escape
    parts = [f"<!doctype html><html lang='{'zh-CN' if doc.lang == 'zh' else 'en'}'><head>"
             f"<meta charset='utf-8'><title>{e(doc.title)}</title><style>{CSS}</style></head>"
             f"<body><h1 class='title'>{e(doc.title)}</h1><p class='subtitle'>{e(doc.subtitle)}"
             "</p>"]
    in_list = False
    for block in doc.blocks:
        bullet = isinstance(block, Paragraph) and block.style == "bullet"
        if in_list and not bullet:
            parts.append("</ul>")
            in_list = False
        if isinstance(block, PageBreak):
            parts.append("<div class='pb'></div>")
        elif isinstance(block, Heading):
            parts.append(f"<h{block.level + 1}>{e(block.text)}</h{block.level + 1}>")
        elif isinstance(block, Paragraph):
            if bullet:
                if not in_list:
                    parts.append("<ul>")
                    in_list = True
                parts.append(f"<li>{e(block.text)}</li>")
            else:
                cls = " class='note'" if block.style == "note" else ""
                parts.append(f"<p{cls}>{e(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{e(c)}</th>" for c in block.columns)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Chart):
            src = base64.b64encode(block.png).decode()
            parts.append(f"<figure><img alt='{e(block.caption)}' style='width:"
                         f"{block.width:.0%}' src='data:image/png;base64,{src}'><figcaption>"
                         f"{e(block.caption)}</figcaption></figure>")
    if in_list:
        parts.append("</ul>")
    parts.append(f"<footer>{e(doc.footer)}</footer></body></html>")
    return "".join(parts)
