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

import datetime as dt
import hashlib
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analytics.errors import InputError, Problem, ProblemCollector
from analytics.importers.reader import (
    HEADER_SEARCH_ROWS,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    PROBLEM_CAP,
    Shape,
    Source,
    check_rows,
    control_problems,
    make_rectangular,
    open_source,
)
from analytics.reduce.derived import STORED, deferring, keep_derived_current
from analytics.warehouse import Warehouse

__all__ = ["HEADER_SEARCH_ROWS", "MAX_CELL_CHARS", "MAX_COLUMNS", "PROBLEM_CAP", "Source",
           "open_source"]


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
    warnings : list of str
        Notes the user should see although the file was loaded (hidden XLSX rows, …).
    """

    kind: str
    file: str
    rows: int
    outcome: str
    message: str
    warnings: list[str] = field(default_factory=list)

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


def header_classifier(synonyms: Mapping[str, Iterable[str]]) -> Callable[[str], str | None]:
    """The ``classify`` of :func:`read_table` for a file whose columns are all named by
    ``synonyms``: a header cell → its canonical name (:func:`synonym_index`), or None."""
    index = synonym_index(synonyms)

    def classify(cell: str) -> str | None:
        return index.get(header_key(cell))

    return classify


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
    def bad(key: str, zh: str, en: str) -> InputError:
        return InputError(f"{path.name}: 映射文件中的「{key}」{zh} / the mapping file's "
                          f"{key!r} {en}")

    unknown = sorted(set(data) - {"columns", "header_row", "sheet"})
    if unknown:
        raise bad(", ".join(unknown), "无法识别(可用 columns、header_row、sheet)",
                  "is not recognised (allowed: columns, header_row, sheet)")
    cols = data.get("columns", {})
    if not isinstance(cols, dict):
        raise bad("columns", "必须是表 [columns]", "must be a table [columns]")
    for k, v in cols.items():
        if not isinstance(v, str):
            raise bad(k, "的值必须是文字,如 \"student_id\"",
                      'must be text, e.g. "student_id"')
    header_row = data.get("header_row")
    if header_row is not None and (
            isinstance(header_row, bool) or not isinstance(header_row, int)
            or not 1 <= header_row <= HEADER_SEARCH_ROWS):
        raise bad("header_row", f"必须是 1 到 {HEADER_SEARCH_ROWS} 之间的整数",
                  f"must be a whole number from 1 to {HEADER_SEARCH_ROWS} ({header_row!r})")
    sheet = data.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise bad("sheet", "必须是工作表名或序号", f"must be a sheet name or number ({sheet!r})")
    return MappingFile(
        columns={header_key(k): v for k, v in cols.items()},
        header_row=header_row,
        sheet=sheet,
    )


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
            header = Header(i, [norm_text(c) for c in cells], canonical)
            duplicate_columns(src, header)
            return header
    control_problems(src).raise_if_any()
    seen = " | ".join(norm_text(c) for c in (src.head[0] if src.head else []) if norm_text(c))
    raise InputError(
        f"{src.name}: 在前 {HEADER_SEARCH_ROWS} 行中找不到{what_zh}的表头 / no header row for "
        f"{what_en} found in the first {HEADER_SEARCH_ROWS} rows (first row: {seen or 'empty'}). "
        "参见 docs/formats.md 或使用 --mapping / see docs/formats.md or use --mapping"
    )


def duplicate_columns(src: Source, header: Header) -> None:
    """Refuse two columns mapped to the same name (which one holds the data?). Item and
    question columns are checked by their importers."""
    problems = ProblemCollector(src.name, cap=PROBLEM_CAP)
    first: dict[str, int] = {}
    for i, c in enumerate(header.canonical):
        if c is None or c.startswith("item:") or c == "question":
            continue
        if c not in first:
            first[c] = i
            continue
        a, b = header.cells[first[c]], header.cells[i]
        problems.add(header.row, b,
                     f"「{a}」与「{b}」两列都是 {c},请删除一列,或在映射文件中把一列设为 ignore",
                     f"columns {a!r} and {b!r} are two columns for {c}; delete one, or map one "
                     "to \"ignore\" in a --mapping file")
    problems.raise_if_any()


#: A number as written in a cell: digits with an optional point and exponent (no ``1_2``, which
#: Python and DuckDB would read as 12, no ``inf``/``nan``, no hexadecimal).
NUMBER_RE = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_RE)


def parse_number(text: object) -> float | None:
    """The finite number written in ``text`` (NFKC, trimmed), else None."""
    t = norm_text(text)
    if not _NUMBER.fullmatch(t):
        return None
    v = float(t)
    return v if math.isfinite(v) else None


def number_sql(expr: str) -> str:
    """SQL: the finite number written in ``expr`` (trimmed), else NULL (see NUMBER_RE)."""
    t = f"trim({expr})"
    return (f"(CASE WHEN regexp_full_match({t}, '{NUMBER_RE}') "
            f"AND isfinite(try_cast({t} AS DOUBLE)) THEN try_cast({t} AS DOUBLE) END)")


def finite_positive(value: float | None, what_zh: str, what_en: str, file: str
                    ) -> float | None:
    """``value`` as a float, or an InputError unless it is a finite number > 0 (None passes)."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{file}: {what_zh}必须是大于 0 的有限数 / the {what_en} must be a "
                         f"positive finite number ({v})")
    return v


def cell_sql(idx: int | None, table: str = "") -> str:
    """SQL for the trimmed text of column ``c{idx}`` of ``_raw`` (NULL when blank or absent).

    ``_raw`` keeps the text as read (trimming 9M cells costs more than the rest of the
    validation); person and status columns are trimmed where used, item cells in the small
    table of distinct values."""
    if idx is None:
        return "NULL"
    return f"nullif(trim({table + '.' if table else ''}c{idx}), '')"


def load_raw_sql(ncols: int, *, max_line_size: int | None = None) -> str:
    """Read the source into ``_raw``: ``_row`` (the row as the user sees it) and ``c0 … cN``
    as read (empty cell → NULL; full-width forms were made ASCII by :func:`open_source`); rows
    whose cells are all empty dropped. The rows are all ``ncols`` wide (see
    :func:`analytics.importers.reader.make_rectangular`)."""
    names = ", ".join(f"'c{i}'" for i in range(ncols))
    nonblank = " OR ".join(f"c{i} IS NOT NULL" for i in range(ncols))
    extra = f", max_line_size = {int(max_line_size)}" if max_line_size is not None else ""
    return f"""
        CREATE OR REPLACE TEMP TABLE _raw AS
        SELECT * FROM (
            SELECT (ordinality + $skip)::INTEGER AS _row, * EXCLUDE (ordinality)
            FROM read_csv($path, header = false, skip = $skip, all_varchar = true,
                          names = [{names}], delim = $delim, quote = '"',
                          escape = '"'{extra}) WITH ORDINALITY
        ) WHERE {nonblank}
    """


#: DuckDB's default longest line (bytes).
_DUCKDB_MAX_LINE = 2_097_152


def _read_raw(wh: Warehouse, src: Source, shape: Shape, width: int, params: dict[str, Any],
              longest: int) -> None:
    if shape.pad:
        make_rectangular(src, shape)
        params = {**params, "path": str(src.csv_path)}
    try:
        wh.execute(load_raw_sql(width, max_line_size=longest if longest > _DUCKDB_MAX_LINE
                                else None), params)
    except duckdb.InvalidInputException as exc:
        raise InputError(
            f"{src.name}: 无法按 CSV 读取(行的列数多于表头或引号不配对)/ cannot read the file "
            f"as CSV (a row has more cells than the header, or unbalanced quotes): "
            f"{str(exc).splitlines()[0]}") from exc


def load_raw(wh: Warehouse, src: Source, header: Header, *, empty_ok: bool = False) -> int:
    """Create ``_raw`` from the rows under the header; returns the number of data rows.

    Every row is checked first (:func:`analytics.importers.reader.check_rows`). A file without
    data rows is refused (it would replace the target's data with nothing) unless
    ``empty_ok``."""
    ncols = max(len(header.cells), 1)
    shape = check_rows(src, header.row, header.cells)
    width = max(shape.width, ncols)
    params = {"path": str(src.csv_path), "skip": header.row, "delim": src.delim}
    longest = src.max_line * 4 + 1024      # bytes, at worst 4 a character
    if shape.rows == 0:      # nothing under the header (DuckDB cannot sniff an empty file)
        cols = ", ".join(f"NULL::VARCHAR AS c{i}" for i in range(ncols))
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT 0::INTEGER AS _row, {cols} LIMIT 0")
    else:
        _read_raw(wh, src, shape, width, params, longest)
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
    n = int(wh.scalar("SELECT count(*) FROM _raw"))
    if n == 0 and not empty_ok:
        raise InputError(
            f"{src.name}: 没有数据行,未做任何改动 / no data rows; nothing was changed",
            [Problem(src.name, header.row, None,
                     "表头下没有数据行(只有表头、空行或空单元格);没有数据的文件不会替换已导入的数据",
                     "no data rows under the header (only blank lines or empty cells): a file "
                     "without data never replaces data already imported")])
    return n


def read_table(
    wh: Warehouse,
    path: str | Path,
    *,
    sheet: str | int | None,
    mapping: str | Path | None,
    classify: Callable[[str], str | None],
    required: Callable[[list[str | None]], bool],
    what: tuple[str, str],
    names: Iterable[str] = (),
    empty_ok: bool = False,
) -> tuple[Header, int, list[str]]:
    """Every importer's reading step: the mapping file, the file (``sheet``, else the mapping's
    sheet), its header row (:func:`detect_header`; ``what`` names the table in Chinese and
    English for the message when none is found) and its rows into ``_raw`` (:func:`load_raw`).

    Returns the header, the number of data rows and the reader's warnings; the converted copy
    of the file is removed whatever happens.
    """
    maps = load_mapping(mapping)
    src = open_source(path, sheet if sheet is not None else maps.sheet)
    try:
        header = detect_header(src, classify, required, maps, *what, names=names)
        n = load_raw(wh, src, header, empty_ok=empty_ok)
        return header, n, src.warnings
    finally:
        src.cleanup()


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

def new_schools_note(names: list[str]) -> tuple[str, str]:
    """Chinese and English notes listing the schools an import created (a misspelt school
    name creates one: the user must see it)."""
    if not names:
        return "", ""
    shown = names[:20]
    more = f" … ({len(names)})" if len(names) > 20 else ""
    return ("。新建学校 " + str(len(names)) + " 所:" + "、".join(f"「{n}」" for n in shown) + more,
            f"; {len(names)} new schools: " + ", ".join(repr(n) for n in shown) + more)


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
            # the stored derived tables follow what was written (at the end of a batch of
            # imports instead, when the caller defers them: analytics.reduce.derived.deferred)
            if kind in PASS_KINDS and not deferring(wh):
                keep_derived_current(wh, only=STORED)
            _log(wh, kind, name, sha, target, result.rows, started, result.outcome,
                 "\n".join([result.message, *result.warnings]))
    except InputError as exc:
        _log(wh, kind, name, sha, target, None, started, "rejected", str(exc))
        raise
    except Exception as exc:
        _log(wh, kind, name, sha, target, None, started, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        drop_temp(wh, *TEMP_TABLES)
    return result


#: Imports that can change what the stored derived tables were computed from (responses,
#: results, students' classes, items and their knowledge points): each ends by
#: :func:`analytics.reduce.derived.keep_derived_current`.
PASS_KINDS = ("roster", "scores", "paper", "totals")

#: Temporary tables the importers create (dropped after every import).
TEMP_TABLES = ("_raw", "_problems", "_rows", "_cols", "_cells", "_scored", "_status", "_keys",
               "_new", "_school_lookup", "_grades", "_resolved", "_qcols")


def drop_temp(wh: Warehouse, *tables: str) -> None:
    """Drop the named temporary tables if they exist (trusted identifiers)."""
    for t in tables:
        wh.execute(f"DROP TABLE IF EXISTS {t}")
