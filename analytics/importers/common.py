"""Shared machinery of the importers: reading files, header detection, normalisation, logging.

Design
------
* Python only looks at the small part of a file: the bytes (to detect the encoding and, for
  GBK/GB18030, to transcode to UTF-8), the first rows (to find the header under any title rows)
  and the header cells (to map them to canonical names with the synonyms of
  ``docs/formats.md``). Everything per row happens in DuckDB: the file is read with
  ``read_csv(..., all_varchar=true)`` into a temporary table ``_raw`` whose columns ``c0 … cN``
  are trimmed, full-width-normalised text (NULL when blank) and ``_row`` is the row number as
  the user sees it in a spreadsheet (title and header rows counted).
* Validation is SQL that returns ``(_row, col, reason_zh, reason_en)``; :func:`sql_problems`
  counts them all and keeps the first ``cap`` for the error message.
* :func:`run_import` wraps one file in one transaction, writes the ``import_log`` row (after the
  rollback for a rejected file) and turns a repeated identical file into a logged no-op.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analytics.errors import InputError, Problem, ProblemCollector
from analytics.item_sums import keep_item_passes_current
from analytics.warehouse import Warehouse

#: Problems listed in one error message; all are counted.
PROBLEM_CAP = 50
#: Rows searched for the header under title rows.
HEADER_SEARCH_ROWS = 30

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space: exactly what NFKC does to them,
# as a translate() table usable in SQL on millions of cells.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "

ABSENT_MARKS = ("缺考", "缺", "缺席", "ABSENT", "ABS")
VOID_MARKS = ("作弊", "违纪", "舞弊", "无效", "VOID", "CHEAT")
PRESENT_MARKS = ("正常", "参考", "已考", "在考", "PRESENT", "OK")


@dataclass
class ImportResult:
    """What an import did.

    Attributes
    ----------
    kind : str
        ``roster``, ``paper``, ``scores``, ``totals`` or ``survey``.
    file : str
        The file name as given.
    rows : int
        Data rows read from the file (students, items, …).
    outcome : str
        ``ok`` (first load), ``replaced`` (earlier data of the same target replaced atomically)
        or ``noop`` (the identical file was already loaded for this target; nothing changed).
    message : str
        One line in Chinese and English, printed by the CLI.
    """

    kind: str
    file: str
    rows: int
    outcome: str
    message: str

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------

def norm_text(value: object) -> str:
    """NFKC-normalised, trimmed text with inner runs of white space collapsed ('' for None)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", " ", text).strip()


def header_key(value: object) -> str:
    """The form in which headers are compared: NFKC, lower case, no spaces or marks."""
    text = norm_text(value).lower()
    text = re.sub(r"[\s*:：]+", "", text)
    return text


def synonym_index(synonyms: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{canonical: [synonyms]}`` → ``{header_key: canonical}`` (canonical names match too)."""
    index: dict[str, str] = {}
    for canonical, words in synonyms.items():
        index[header_key(canonical)] = canonical
        for w in words:
            index[header_key(w)] = canonical
    return index


_ITEM_RE = re.compile(
    r"^(?:第|小题|题|t|q|item|no\.?)?\s*(\d+)\s*(?:[(\[](\d+)[)\]]|[-_.](\d+))?\s*(?:小题|题|分)?$"
)


def item_label_key(text: object) -> str | None:
    """Canonical form of an item label or item header: ``第3题``/``T3``/``Q3``/``小题3`` → ``3``,
    ``21（1）``/``21-1``/``21.1`` → ``21(1)``; None when the text does not look like an item."""
    t = header_key(text)
    m = _ITEM_RE.match(t)
    if not m:
        return None
    main = str(int(m.group(1)))
    sub = m.group(2) or m.group(3)
    return f"{main}({int(sub)})" if sub else main


# --------------------------------------------------------------------------------------------
# Mapping files
# --------------------------------------------------------------------------------------------

@dataclass
class MappingFile:
    """An optional TOML mapping file: ``[columns]`` "header as written" = "canonical" (or
    ``"ignore"``, or ``"item:LABEL"`` for an item column), ``header_row`` (1-based) and
    ``sheet``."""

    columns: dict[str, str] = field(default_factory=dict)
    header_row: int | None = None
    sheet: str | int | None = None


def load_mapping(mapping: str | Path | None) -> MappingFile:
    """Read a TOML mapping file (None → empty mapping)."""
    if mapping is None:
        return MappingFile()
    path = Path(mapping)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path.name}: 映射文件不是有效的 TOML / the mapping file is not valid TOML: {exc}"
        ) from exc
    cols = data.get("columns", {})
    if not isinstance(cols, dict):
        raise InputError(f"{path.name}: [columns] 必须是表 / [columns] must be a table")
    header_row = data.get("header_row")
    return MappingFile(
        columns={header_key(k): str(v) for k, v in cols.items()},
        header_row=int(header_row) if header_row is not None else None,
        sheet=data.get("sheet"),
    )


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------

@dataclass
class Source:
    """A file made readable by DuckDB.

    ``csv_path`` is UTF-8 CSV (the file itself or a transcoded/converted copy); ``head`` the
    first rows as lists of cells (for header detection); ``encoding`` what was detected.
    """

    name: str
    csv_path: Path
    delim: str
    encoding: str
    head: list[list[str]]
    tmpdir: Path | None = None
    #: delimiters per line (None: unknown, e.g. quoted fields may hold delimiters or newlines)
    delims_per_line: list[int] | None = None

    def ragged_after(self, header_row: int) -> bool:
        """Whether some row under the header has fewer cells than the header (then DuckDB
        must pad rows: slower). True when unknown."""
        counts = self.delims_per_line
        if counts is None:
            return True
        below = counts[header_row:]
        return bool(below) and min(below) < counts[header_row - 1]

    def cleanup(self) -> None:
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


_BLANK_LINE = re.compile(r"(?<=\n)[ \t]*\r?\n")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode
    text"), else GBK/GB18030."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8"), "utf-8-sig"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError:
        pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise InputError(
        f"{name}: 无法识别文件编码(支持 UTF-8、带 BOM 的 UTF-8、UTF-16、GBK/GB18030)/ cannot "
        "decode the file: supported encodings are UTF-8, UTF-8 with BOM, UTF-16 and GBK/GB18030"
    )


def _full_width_re(delim: str) -> re.Pattern[str]:
    """Full-width ASCII forms and the ideographic space, except those of ``delim`` and '"'."""
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


def _open_csv(path: Path) -> Source:
    data = path.read_bytes()
    text, encoding = _decode(data, path.name)
    first = text[:200_000].splitlines()[:HEADER_SEARCH_ROWS]
    delim = _sniff_delim(first)
    head = [list(r) for r in csv.reader(io.StringIO("\n".join(first)), delimiter=delim)]
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
    # Short rows need DuckDB's null_padding, which is slower: only ask for it when needed. A
    # failed read cannot be retried (it aborts the transaction), so decide here (~50 ms).
    counts = None if '"' in text else [ln.count(delim) for ln in text.splitlines()]
    return Source(path.name, csv_path, delim, encoding, head, tmpdir, counts)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return half_width(str(value), "\t")


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
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()):
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
        tmpdir = Path(tempfile.mkdtemp(prefix="eqm_import_"))
        csv_path = tmpdir / "source.csv"
        head: list[list[str]] = []
        with csv_path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for row in ws.iter_rows(values_only=True):
                cells = [_cell(v) for v in row]
                if not any(c.strip() for c in cells):
                    cells = [""] * max(len(cells), 2)   # keep numbering; filtered later
                writer.writerow(cells)
                if len(head) < HEADER_SEARCH_ROWS:
                    head.append(cells)
    finally:
        wb.close()
    return Source(path.name, csv_path, ",", "xlsx", head, tmpdir)


def open_source(path: str | Path, sheet: str | int | None = None) -> Source:
    """Open a CSV (UTF-8, UTF-8-BOM, GBK/GB18030) or XLSX file for reading by DuckDB."""
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


@dataclass
class Header:
    """The detected header: its 1-based row, the cells as written and their canonical names."""

    row: int
    cells: list[str]
    canonical: list[str | None]

    def col(self, canonical: str) -> int | None:
        """Index of the first column mapped to ``canonical``."""
        for i, c in enumerate(self.canonical):
            if c == canonical:
                return i
        return None

    def written(self, idx: int) -> str:
        return self.cells[idx]


def detect_header(
    src: Source,
    classify: Callable[[str], str | None],
    required: Callable[[list[str | None]], bool],
    mapping: MappingFile,
    what_zh: str,
    what_en: str,
    names: Iterable[str] = (),
) -> Header:
    """Find the header row: the first row whose classified cells satisfy ``required``.

    ``classify`` maps a header cell (as written) to a canonical name or None; the mapping
    file's ``[columns]`` take precedence and ``header_row`` fixes the row. ``names`` are the
    canonical names a mapping file may use (besides ``ignore``; ``item:`` prefixes allowed
    when ``item:`` is among them).
    """
    allowed = set(names)
    if allowed:
        bad = sorted({v for v in mapping.columns.values() if v != "ignore" and v not in allowed
                      and not ("item:" in allowed and v.startswith("item:"))})
        if bad:
            raise InputError(
                f"{src.name}: 映射文件中的列名 {', '.join(bad)} 无效 / the mapping file names "
                f"unknown columns {', '.join(bad)}; allowed: "
                + ", ".join(sorted(allowed | {"ignore"})))

    def canon(cell: str) -> str | None:
        key = header_key(cell)
        if not key:
            return None
        if key in mapping.columns:
            target = mapping.columns[key]
            return None if target == "ignore" else target
        return classify(cell)

    rows = list(enumerate(src.head, start=1))
    if mapping.header_row is not None:
        rows = [(i, r) for i, r in rows if i == mapping.header_row]
    for i, cells in rows:
        canonical = [canon(c) for c in cells]
        if required(canonical):
            return Header(i, [norm_text(c) for c in cells], canonical)
    seen = " | ".join(norm_text(c) for c in (src.head[0] if src.head else []) if norm_text(c))
    raise InputError(
        f"{src.name}: 在前 {HEADER_SEARCH_ROWS} 行中找不到{what_zh}的表头 / no header row for "
        f"{what_en} found in the first {HEADER_SEARCH_ROWS} rows (first row: {seen or 'empty'}). "
        "参见 docs/formats.md 或使用 --mapping / see docs/formats.md or use --mapping"
    )


def cell_sql(idx: int | None, table: str = "") -> str:
    """SQL for the trimmed text of column ``c{idx}`` of ``_raw`` (NULL when blank or absent).

    ``_raw`` keeps the text as read (trimming 9M cells costs more than the rest of the
    validation); person and status columns are trimmed where used, item cells in the small
    table of distinct values."""
    if idx is None:
        return "NULL"
    return f"nullif(trim({table + '.' if table else ''}c{idx}), '')"


def load_raw_sql(ncols: int, *, null_padding: bool = False) -> str:
    """Read the source into ``_raw``: ``_row`` (the row as the user sees it) and ``c0 … cN``
    as read (empty cell → NULL; full-width forms were made ASCII by :func:`open_source`); rows
    whose cells are all empty dropped. ``null_padding`` (slower) accepts short rows."""
    names = ", ".join(f"'c{i}'" for i in range(ncols))
    nonblank = " OR ".join(f"c{i} IS NOT NULL" for i in range(ncols))
    return f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT * FROM (
            SELECT (ordinality + $skip)::INTEGER AS _row, * EXCLUDE (ordinality)
            FROM read_csv($path, header = false, skip = $skip, all_varchar = true,
                          names = [{names}], null_padding = {str(null_padding).lower()},
                          delim = $delim, quote = '"', escape = '"') WITH ORDINALITY
        ) WHERE {nonblank}
    """


def load_raw(wh: Warehouse, src: Source, header: Header) -> int:
    """Create ``_raw`` from the rows under the header; returns the number of data rows."""
    ncols = max(len(header.cells), 1)
    params = {"path": str(src.csv_path), "skip": header.row, "delim": src.delim}
    try:
        wh.execute(load_raw_sql(ncols, null_padding=src.ragged_after(header.row)), params)
    except duckdb.InvalidInputException as exc:
        raise InputError(
            f"{src.name}: 无法按 CSV 读取(行的列数多于表头或引号不配对)/ cannot read the file "
            f"as CSV (a row has more cells than the header, or unbalanced quotes): "
            f"{str(exc).splitlines()[0]}") from exc
    extra = [c for c in wh.df("DESCRIBE _raw")["column_name"]
             if c != "_row" and c not in {f"c{i}" for i in range(ncols)}]
    if extra:
        problems = ProblemCollector(src.name, cap=PROBLEM_CAP)
        sql_problems(wh, problems, f"""
            SELECT _row, NULL, '此行的单元格多于表头', 'the row has more cells than the header'
            FROM _raw WHERE {' OR '.join(f'"{c}" IS NOT NULL' for c in extra)}""")
        problems.raise_if_any()
        for c in extra:   # empty trailing cells
            wh.execute(f'ALTER TABLE _raw DROP COLUMN "{c}"')
    return int(wh.scalar("SELECT count(*) FROM _raw"))


# --------------------------------------------------------------------------------------------
# Problems found by SQL
# --------------------------------------------------------------------------------------------

def sql_problems(wh: Warehouse, problems: ProblemCollector, sql: str,
                 params: Mapping[str, Any] | None = None) -> None:
    """Add the problems returned by ``sql`` (columns ``_row, col, zh, en``): all counted, the
    first ones (by row) kept up to the collector's cap."""
    room = problems.cap - len(problems.problems)
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _problems AS SELECT * FROM ({sql}) AS p(_row, col, zh, en)",
        params)
    n = int(wh.scalar("SELECT count(*) FROM _problems"))
    if n == 0:
        return
    first = wh.df(
        "SELECT _row, col, zh, en FROM _problems ORDER BY _row NULLS FIRST, col LIMIT $k",
        {"k": max(room, 0)},
    )
    for r in first.to_dict("records"):
        row, col = r["_row"], r["col"]
        problems.problems.append(Problem(
            problems.file,
            None if row is None or row != row else int(row),
            None if col is None or col != col else str(col),
            str(r["zh"]), str(r["en"]),
        ))
    problems.total += n


# --------------------------------------------------------------------------------------------
# Ids, logging and the transaction around one file
# --------------------------------------------------------------------------------------------

def next_id(wh: Warehouse, table: str, column: str) -> int:
    """max(id) + 1 (1 for an empty table). ``table``/``column`` are trusted identifiers."""
    return int(wh.scalar(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"))


def target_extra(sheet: object, mapping: str | Path | None) -> str:
    """Suffix naming the sheet and mapping file in an import's target, so that another sheet
    of the same workbook or another mapping is not mistaken for the identical import."""
    out = ""
    if sheet is not None:
        out += f"; sheet={sheet}"
    if mapping is not None:
        out += f"; mapping={file_sha256(mapping)[:12]}"
    return out


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log_sql() -> str:
    return """
        INSERT INTO import_log (kind, file_name, sha256, target, rows, started_at, finished_at,
                                outcome, message)
        VALUES ($kind, $file, $sha, $target, $rows, $started, $finished, $outcome, $msg)
    """


def last_success_sql() -> str:
    return """
        SELECT sha256 FROM import_log
        WHERE kind = $kind AND target = $target AND outcome IN ('ok', 'replaced')
        ORDER BY import_id DESC LIMIT 1
    """


def _log(wh: Warehouse, kind: str, file: str, sha: str, target: str, rows: int | None,
         started: Any, outcome: str, msg: str) -> None:
    # wall-clock times from Python: DuckDB's current_timestamp is the transaction's start
    wh.execute(log_sql(), {"kind": kind, "file": file, "sha": sha, "target": target,
                           "rows": rows, "started": started, "finished": dt.datetime.now(),
                           "outcome": outcome, "msg": msg[:4000]})


def run_import(
    wh: Warehouse,
    kind: str,
    path: str | Path,
    target: str,
    body: Callable[[], ImportResult],
    *,
    still_loaded: Callable[[], bool] = lambda: True,
) -> ImportResult:
    """Run ``body`` (which reads the file and writes the warehouse) in one transaction.

    * Identical file (same sha256) as the last successful import of the same ``kind`` and
      ``target`` — and ``still_loaded()`` — → a logged ``noop``; nothing else happens.
    * Success → the log row is written inside the transaction (``ok``/``replaced``).
    * :class:`InputError` → rolled back, then logged ``rejected`` and re-raised.
    * Any other exception → rolled back, logged ``failed``, re-raised.
    """
    name = Path(path).name
    if not Path(path).exists():
        raise FileNotFoundError(str(path))
    sha = file_sha256(path)
    started = dt.datetime.now()
    last = wh.scalar(last_success_sql(), {"kind": kind, "target": target})
    if last == sha and still_loaded():
        msg = (f"{name}: 与上次导入的文件完全相同,未做任何改动 / identical to the file already "
               f"imported for {target}; nothing changed (noop)")
        _log(wh, kind, name, sha, target, 0, started, "noop", msg)
        return ImportResult(kind, name, 0, "noop", msg)
    try:
        with wh.transaction():
            result = body()
            if kind in PASS_KINDS:       # the stored item passes follow what was written
                keep_item_passes_current(wh)
            _log(wh, kind, name, sha, target, result.rows, started, result.outcome,
                 result.message)
    except InputError as exc:
        _log(wh, kind, name, sha, target, None, started, "rejected", str(exc))
        raise
    except Exception as exc:
        _log(wh, kind, name, sha, target, None, started, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        drop_temp(wh, *TEMP_TABLES)
    return result


#: Imports that can change what the stored item passes were computed from (responses, results,
#: students' classes): each ends by :func:`analytics.item_sums.keep_item_passes_current`.
PASS_KINDS = ("roster", "scores", "paper", "totals")

#: Temporary tables the importers create (dropped after every import).
TEMP_TABLES = ("_raw", "_problems", "_rows", "_cols", "_cells", "_scored", "_status", "_keys",
               "_new", "_school_lookup", "_grades", "_resolved", "_qcols")


def drop_temp(wh: Warehouse, *tables: str) -> None:
    """Drop the named temporary tables if they exist (trusted identifiers)."""
    for t in tables:
        wh.execute(f"DROP TABLE IF EXISTS {t}")
