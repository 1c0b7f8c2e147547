"""Reading an input file: decoding, XLSX conversion and the checks of its structure.

Everything here happens before any SQL: the bytes are decoded (UTF-8, UTF-8-BOM, UTF-16,
GBK/GB18030; a file mixing encodings is refused naming the lines), XLSX sheets are converted to
CSV (formula cells without a stored result refused, hidden rows and columns reported), and the
rows under the header are checked in one pass of Python's C ``csv`` reader (~0.3 s for
200,000 × 48 cells): a row with fewer cells than the header, a non-empty cell beyond it,
unbalanced quotes, a cell over :data:`MAX_CELL_CHARS` characters, more than :data:`MAX_COLUMNS`
columns and control characters (NUL …) are refused with their row and column, so DuckDB is
only ever given a well-formed file.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.errors import InputError, ProblemCollector

#: Problems listed in one error message; all are counted.
PROBLEM_CAP = 50
#: Rows searched for the header under title rows.
HEADER_SEARCH_ROWS = 30
#: The longest cell accepted, in characters (Excel's own limit for a cell).
MAX_CELL_CHARS = 32_767
#: The most columns a file may have (a marking export of 200 items with answer and score
#: columns, or a questionnaire of 1,000 questions, fits many times over).
MAX_COLUMNS = 2_000

# csv's own per-field limit (131,072) would raise before our clearer check of MAX_CELL_CHARS.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space: exactly what NFKC does to them.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "

#: C0 controls but tab, CR and LF; DEL; C1 controls; the Unicode line/paragraph separators.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def col_letter(idx: int) -> str:
    """Spreadsheet column letter of a 0-based index: 0 → A, 26 → AA."""
    out = ""
    n = idx + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _control_name(ch: str) -> str:
    return f"U+{ord(ch):04X}" + (" (NUL)" if ch == "\x00" else "")


@dataclass
class Source:
    """A file made readable by DuckDB.

    ``csv_path`` is UTF-8 CSV (the file itself or a transcoded/converted copy); ``head`` the
    first rows as lists of cells (for header detection); ``encoding`` what was detected;
    ``text`` the CSV text (None: read ``csv_path``); ``controls`` (row, 0-based column, char)
    of control characters found; ``warnings`` notes for the user (hidden XLSX rows …);
    ``max_line`` the longest line in characters; ``short_ok`` whether rows may be shorter
    than the header (XLSX rows lose their trailing empty cells).
    """

    name: str
    csv_path: Path
    delim: str
    encoding: str
    head: list[list[str]]
    tmpdir: Path | None = None
    text: str | None = None
    controls: list[tuple[int, int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    max_line: int = 0
    short_ok: bool = False

    def body_text(self) -> str:
        """The CSV text: ``text`` if kept in memory, else ``csv_path`` read (BOM dropped)."""
        if self.text is not None:
            return self.text
        return self.csv_path.read_text(encoding="utf-8-sig")

    def cleanup(self) -> None:
        """Remove the temporary directory of a transcoded or converted copy, if any (idempotent)."""
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


@dataclass
class Shape:
    """What the row check found: the widest row, whether some rows are narrower, whether the
    text has quotes, the number of rows under the header and where they start in the text."""

    width: int
    pad: bool
    quoted: bool
    rows: int
    body_start: int


def control_problems(src: Source, header_cells: list[str] | None = None) -> ProblemCollector:
    """The control characters of ``src`` as problems (columns by header text or letter)."""
    problems = ProblemCollector(src.name, cap=PROBLEM_CAP)
    for row, idx, ch in src.controls:
        col = (header_cells[idx] if header_cells and idx < len(header_cells)
               and header_cells[idx] else col_letter(idx))
        problems.add(row, col, f"含有控制字符 {_control_name(ch)}(不可见字符,如 NUL),请删除",
                     f"contains a control character {_control_name(ch)} (invisible, e.g. NUL); "
                     "remove it")
    return problems


def check_rows(src: Source, header_row: int, header_cells: list[str]) -> Shape:
    """Check every row under the header; raise :class:`InputError` naming each bad one.

    Refused: control characters, a non-empty row with fewer cells than the header (CSV), a
    non-empty cell beyond the header, unbalanced quotes, a cell longer than
    :data:`MAX_CELL_CHARS`, a row of more than :data:`MAX_COLUMNS` cells."""
    problems = control_problems(src, header_cells)
    text = src.body_text()
    pos = 0
    for _ in range(header_row):
        m = _LINE_BREAK.search(text, pos)
        if m is None:
            pos = len(text)
            break
        pos = m.end()
    ncols = len(header_cells)
    need = max((i + 1 for i, c in enumerate(header_cells) if c), default=1)

    def colname(i: int) -> str:
        return header_cells[i] if i < ncols and header_cells[i] else col_letter(i)

    width, shortest = ncols, ncols
    row = header_row
    check_cells = src.max_line > MAX_CELL_CHARS
    reader = csv.reader(io.StringIO(text[pos:]), delimiter=src.delim, strict=True)
    try:
        for rec in reader:
            row += 1
            n = len(rec)
            if n != ncols:
                shortest = min(shortest, n)
                if n < need and not src.short_ok and any(c.strip() for c in rec):
                    problems.add(row, colname(n),
                                 f"此行只有 {n} 个单元格,少于表头的 {need} 个(缺少「{colname(n)}」"
                                 "及其后各列)",
                                 f"the row has {n} cells, fewer cells than the header's {need} "
                                 f"(missing {colname(n)!r} and after)")
                if n > ncols:
                    if n > MAX_COLUMNS:
                        problems.add(row, None, f"此行有 {n} 列,超过上限 {MAX_COLUMNS} 列",
                                     f"the row has {n} columns, more than the limit of "
                                     f"{MAX_COLUMNS} columns")
                        break
                    extra = next((j for j in range(ncols, n) if rec[j].strip()), None)
                    if extra is not None:
                        problems.add(row, col_letter(extra),
                                     f"此行的单元格多于表头(第 {extra + 1} 列「{rec[extra][:20]}」"
                                     "在表头之外)",
                                     f"the row has more cells than the header (column "
                                     f"{extra + 1}, {rec[extra][:20]!r}, is beyond it)")
                    width = max(width, n)
            if check_cells:
                for j, c in enumerate(rec):
                    if len(c) > MAX_CELL_CHARS:
                        problems.add(row, colname(j),
                                     f"单元格有 {len(c)} 个字符,超过上限 {MAX_CELL_CHARS}",
                                     f"the cell has {len(c)} characters, more than the limit "
                                     f"of {MAX_CELL_CHARS} characters")
    except csv.Error as exc:
        problems.add(row + 1, None,
                     f"引号不配对或引号后还有文字,无法读取此行及其后的内容({exc})",
                     f"unbalanced quote, or text after a closing quote: this row and what "
                     f"follows cannot be read ({exc})")
    problems.raise_if_any()
    return Shape(width, shortest < width, '"' in text, row - header_row, pos)


def make_rectangular(src: Source, shape: Shape) -> None:
    """Rewrite the rows under the header with ``shape.width`` cells each (empty cells added):
    DuckDB's sniffer cannot be trusted with rows of several widths (blank rows, trailing empty
    cells, XLSX rows without their trailing empty cells). One pass of csv (~0.6 s for 200,000
    rows); only for files whose rows differ in width."""
    text = src.body_text()
    if src.tmpdir is None:
        src.tmpdir = Path(tempfile.mkdtemp(prefix="eqm_import_"))
    out_path = src.tmpdir / "rectangular.csv"
    with out_path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text[:shape.body_start])
        writer = csv.writer(fh, delimiter=src.delim, lineterminator="\n")
        pad = [""] * shape.width
        for rec in csv.reader(io.StringIO(text[shape.body_start:]), delimiter=src.delim,
                              strict=True):
            writer.writerow(rec + pad[len(rec):] if len(rec) < shape.width else rec)
    src.csv_path = out_path
    src.text = None


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

_BLANK_LINE = re.compile(r"(?<=\n)[ \t]*\r?\n")


def _mixed_lines(data: bytes, name: str) -> None:
    """Raise naming the lines of another encoding when UTF-8 and GBK lines are mixed."""
    utf8, other = [], []
    for i, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other.append(i)
            continue
        if _CJK.search(text):
            utf8.append(i)
    if not utf8 or not other:
        return
    problems = ProblemCollector(name, cap=PROBLEM_CAP)
    if len(other) <= len(utf8):
        for i in other:
            problems.add(i, None, "此行不是 UTF-8 编码(可能是 GBK),而文件其余部分是 UTF-8",
                         "this line is not UTF-8 (GBK?) while the rest of the file is UTF-8")
    else:
        for i in utf8:
            problems.add(i, None, "此行是 UTF-8 编码,而文件其余部分是 GBK",
                         "this line is UTF-8 while the rest of the file is GBK")
    problems.raise_if_any("文件混用了两种编码,请统一另存为 UTF-8",
                          "the file mixes two encodings; save it again as UTF-8")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode
    text"), else GBK/GB18030; a file mixing UTF-8 and GBK lines is refused naming them."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError:
        pass
    else:
        bom = data.startswith(b"\xef\xbb\xbf")
        try:
            return data[3 if bom else 0:].decode("utf-8"), "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError:
            pass
        _mixed_lines(data, name)
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise InputError(
        f"{name}: 无法识别文件编码(支持 UTF-8、带 BOM 的 UTF-8、UTF-16、GBK/GB18030)/ cannot "
        "decode the file: supported encodings are UTF-8, UTF-8 with BOM, UTF-16 and GBK/GB18030"
    )


@functools.lru_cache(maxsize=16)
def _full_width_re(delim: str) -> re.Pattern[str]:
    """Full-width ASCII forms and the ideographic space, except those of ``delim`` and '"'
    (compiled once per delimiter: it is asked for every cell of a workbook)."""
    keep = {chr(ord(delim) + 0xFEE0), "\uff02"} if delim.isascii() and delim.strip() else {
        "\uff02"}
    chars = "".join(c for c in FULL_WIDTH if c not in keep)
    return re.compile("[" + re.escape(chars) + "]")


def _half(m: re.Match[str]) -> str:
    c = m.group(0)
    return " " if c == "\u3000" else chr(ord(c) - 0xFEE0)


def half_width(value: str, delim: str = ",") -> str:
    """Full-width ASCII forms → ASCII (as NFKC does), keeping the delimiter's and quote's."""
    return _full_width_re(delim).sub(_half, value)


def _sniff_delim(lines: list[str]) -> str:
    best, score = ",", -1
    for d in (",", "\t", ";", "|"):
        n = max((ln.count(d) for ln in lines), default=0)
        if n > score:
            best, score = d, n
    return best


def _parse_line(line: str, delim: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:
        return line.split(delim)


def _controls_in(text: str, delim: str) -> list[tuple[int, int, str]]:
    """(line, 0-based cell, char) of the first control characters of ``text``."""
    out: list[tuple[int, int, str]] = []
    line, last = 1, 0
    for m in CONTROL.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        cells = _parse_line(text[start:end if end >= 0 else len(text)], delim)
        idx = next((i for i, c in enumerate(cells) if m.group(0) in c), 0)
        if (line, idx) not in {(r, c) for r, c, _ in out}:
            out.append((line, idx, m.group(0)))
        if len(out) >= PROBLEM_CAP:
            break
    return out


def _too_wide(name: str, row: int, n: int) -> InputError:
    return InputError(
        f"{name}: 第{row}行 (row {row}) 有 {n} 列,超过上限 {MAX_COLUMNS} 列,未导入 / the row has "
        f"{n} columns, more than the limit of {MAX_COLUMNS} columns (docs/formats.md); "
        "nothing was imported")


def _open_csv(path: Path) -> Source:
    data = path.read_bytes()
    text, encoding = _decode(data, path.name)
    first = text[:200_000].splitlines()[:HEADER_SEARCH_ROWS]
    delim = _sniff_delim(first)
    for i, ln in enumerate(first, start=1):     # refuse a very wide file at once
        if ln.count(delim) >= MAX_COLUMNS:
            whole = text.split("\n", i)[i - 1]    # ``first`` may have cut the line short
            if (n := len(_parse_line(whole, delim))) > MAX_COLUMNS:
                raise _too_wide(path.name, i, n)
    head = [_parse_line(ln, delim) for ln in first]
    controls = _controls_in(text, delim) if CONTROL.search(text) else []
    tmpdir: Path | None = None
    csv_path = path
    # DuckDB drops blank lines, which would shift the row numbers we report: make them rows of
    # empty cells (filtered later). Non-UTF-8 input is transcoded (DuckDB reads UTF-8 only here).
    # Full-width letters, digits and signs become ASCII here, on the text, because DuckDB's
    # translate() costs ~9 µs a cell (80 s for 200,000 × 44 cells); the scan is ~50 ms when there
    # are none. The delimiter's and the quote's full-width forms are kept so the CSV structure
    # cannot change (a ， inside a cell stays a ，).
    needs_blank_fix = (("\n\n" in text or "\n\r\n" in text or "\n " in text or "\n\t" in text)
                       and _BLANK_LINE.search(text) is not None)   # substring tests are ~10x faster
    fw = _full_width_re(delim)
    needs_fw = fw.search(text) is not None
    if encoding in ("gb18030", "utf-16") or needs_blank_fix or needs_fw:
        tmpdir = Path(tempfile.mkdtemp(prefix="eqm_import_"))
        csv_path = tmpdir / "source.csv"
        if needs_blank_fix:
            width = max((ln.count(delim) for ln in first), default=1)
            text = _BLANK_LINE.sub(delim * max(width, 1) + "\n", text)
        if needs_fw:
            text = fw.sub(_half, text)
        csv_path.write_text(text, encoding="utf-8")
    max_line = max(map(len, text.split("\n")), default=0)
    return Source(path.name, csv_path, delim, encoding, head, tmpdir, text, controls,
                  max_line=max_line)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return half_width(str(value), "\t")


_FORMULA_OR_HIDDEN = re.compile(rb"<(?:\w+:)?f[\s>/]|hidden=")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _cell_ref_row(ref: str) -> int | None:
    m = re.search(r"\d+$", ref)
    return int(m.group(0)) if m else None


def _sheet_markers(wb: Any, ws: Any) -> tuple[list[str], list[int], list[tuple[int, int]]]:
    """Formula cells without a stored result, hidden rows holding values and hidden column
    ranges of a read-only worksheet, from its XML (a quick byte scan first: usually none)."""
    archive, member = getattr(wb, "_archive", None), getattr(ws, "_worksheet_path", None)
    if archive is None or not member:
        return [], [], []
    with archive.open(member) as fh:
        tail, found = b"", False
        while chunk := fh.read(1 << 20):
            if _FORMULA_OR_HIDDEN.search(tail + chunk):
                found = True
                break
            tail = chunk[-16:]
    if not found:
        return [], [], []
    uncached: list[str] = []
    hidden_rows: list[int] = []
    hidden_cols: list[tuple[int, int]] = []
    row_hidden, row_has, row_no, col_no = False, False, 0, 0
    with archive.open(member) as fh:
        for event, el in ET.iterparse(fh, events=("start", "end")):
            tag = _local(el.tag)
            if event == "start":
                if tag == "row":
                    row_hidden = el.get("hidden") in ("1", "true")
                    row_has, col_no = False, 0
                    row_no = int(el.get("r") or row_no + 1)
                continue
            if tag == "c":
                col_no += 1
                kids = {_local(k.tag): k for k in el}
                f, v = kids.get("f"), kids.get("v")
                has_value = bool(v is not None and v.text) or "is" in kids
                row_has = row_has or has_value
                if f is not None and not has_value and el.get("t") not in ("str", "s"):
                    uncached.append(el.get("r") or f"{col_letter(col_no - 1)}{row_no}")
                el.clear()
            elif tag == "row":
                if row_hidden and row_has:
                    hidden_rows.append(row_no)
                el.clear()
            elif tag == "col" and el.get("hidden") in ("1", "true"):
                hidden_cols.append((int(el.get("min") or 1), int(el.get("max") or 1)))
    return uncached, hidden_rows, hidden_cols


def _listing(items: list[str], cap: int = 20) -> str:
    return ", ".join(items[:cap]) + (f" … ({len(items)})" if len(items) > cap else "")


def _open_xlsx(path: Path, sheet: str | int | None) -> Source:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, …
        raise InputError(
            f"{path.name}: 无法读取 XLSX 文件 / cannot read the XLSX file: {exc}") from exc
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isascii()
                                        and sheet.isdigit()):
            idx = int(sheet)
            if not 1 <= idx <= len(wb.worksheets):
                raise InputError(f"{path.name}: 没有第 {idx} 个工作表 / no sheet number {idx}")
            ws = wb.worksheets[idx - 1]
        else:
            if sheet not in wb.sheetnames:
                raise InputError(
                    f"{path.name}: 没有工作表「{sheet}」/ no sheet named {sheet!r}; "
                    f"现有 / available: {', '.join(wb.sheetnames)}"
                )
            ws = wb[sheet]
        try:
            uncached, hidden_rows, hidden_cols = _sheet_markers(wb, ws)
        except (ET.ParseError, KeyError, ValueError) as exc:
            raise InputError(
                f"{path.name}: 无法读取 XLSX 文件 / cannot read the XLSX file: {exc}") from exc
        if uncached:
            problems = ProblemCollector(path.name, cap=PROBLEM_CAP)
            for ref in uncached:
                problems.add(_cell_ref_row(ref), None,
                             f"单元格 {ref} 是公式,但文件中没有保存计算结果",
                             f"cell {ref} holds a formula without a stored result")
            problems.raise_if_any(
                "含有未计算的公式,请在 Excel/WPS 中打开并保存,或复制后选择性粘贴为数值",
                "formulas without stored results: open and save the file in Excel or WPS, "
                "or copy the cells and paste them as values")
        tmpdir = Path(tempfile.mkdtemp(prefix="eqm_import_"))
        csv_path = tmpdir / "source.csv"
        head: list[list[str]] = []
        controls: list[tuple[int, int, str]] = []
        long_cells = ProblemCollector(path.name, cap=PROBLEM_CAP)
        widest, max_line = 0, 0
        with csv_path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell(v) for v in row]
                while cells and not cells[-1].strip():
                    cells.pop()
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(path.name, r, len(cells))
                for j, c in enumerate(cells):
                    if len(c) > MAX_CELL_CHARS:
                        long_cells.add(r, col_letter(j), f"单元格有 {len(c)} 个字符,超过上限 "
                                       f"{MAX_CELL_CHARS}", f"the cell has {len(c)} characters, "
                                       f"more than the limit of {MAX_CELL_CHARS} characters")
                    if len(controls) < PROBLEM_CAP and (m := CONTROL.search(c)):
                        controls.append((r, j, m.group(0)))
                widest = max(widest, len(cells))
                max_line = max(max_line, sum(map(len, cells)) + len(cells))
                if not cells:
                    cells = ["", ""]   # keep numbering; filtered later
                writer.writerow(cells)
                if len(head) < HEADER_SEARCH_ROWS:
                    head.append(cells)
        long_cells.raise_if_any()
    finally:
        wb.close()
    src = Source(path.name, csv_path, ",", "xlsx", head, tmpdir, None, controls,
                 max_line=max_line, short_ok=True)
    if hidden_rows:
        rows = _listing([str(r) for r in hidden_rows])
        src.warnings.append(f"{path.name}: 工作表中有隐藏的行 {rows},已照常导入 / the sheet has "
                            f"hidden rows {rows}, imported as usual")
    cols = sorted({c for lo, hi in hidden_cols for c in range(lo, min(hi, widest) + 1)})
    if cols:
        letters = _listing([col_letter(c - 1) for c in cols])
        src.warnings.append(
            f"{path.name}: 工作表中有隐藏的列 {letters},已照常导入 / the sheet has hidden "
            f"columns {letters}, imported as usual")
    return src


def open_source(path: str | Path, sheet: str | int | None = None) -> Source:
    """Open a CSV (UTF-8, UTF-8-BOM, GBK/GB18030, UTF-16) or XLSX file for reading by DuckDB."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(str(p))
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return _open_xlsx(p, sheet)
    if p.suffix.lower() == ".xls":
        raise InputError(
            f"{p.name}: 不支持旧版 .xls,请另存为 .xlsx 或 CSV / legacy .xls is not supported; "
            "save it as .xlsx or CSV"
        )
    return _open_csv(p)
