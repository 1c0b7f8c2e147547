"""Export the warehouse to Parquet files: the hand-over to a data lake (Spark, see docs/scale.md).

Every base table becomes ``<dir>/<table>.parquet`` written by DuckDB's ``COPY … TO … (FORMAT
parquet)`` through the :class:`~analytics.warehouse.Warehouse` choke point, all inside one
transaction so the files are one consistent snapshot. A ``manifest.json`` beside them records the
schema version, each table's row count, file and column types; :class:`analytics.backends.spark.
SparkWarehouse` reads it. Views (``student_tree``) are not exported: they are definitions, and the
reader recreates them from the migration that defines them.

Credentials never leave the warehouse: the ``users`` table (password hashes) is skipped unless
asked for by name.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.errors import InputError
from analytics.warehouse import Warehouse

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "eqm-parquet"
MANIFEST_VERSION = 1
#: Tables left out unless named in ``tables``: they hold credentials, not monitoring data.
EXCLUDED_BY_DEFAULT: tuple[str, ...] = ("users",)


def base_tables_sql() -> str:
    """Base tables (not views) of the main schema, in name order."""
    return """
        SELECT table_name
        FROM information_schema.tables
        WHERE table_schema = 'main' AND table_type = 'BASE TABLE' AND table_catalog <> 'temp'
        ORDER BY table_name
    """


def table_columns_sql() -> str:
    """Column names and DuckDB types of one table, in their declared order."""
    return """
        SELECT column_name, data_type
        FROM information_schema.columns
        WHERE table_schema = 'main' AND table_name = $table
        ORDER BY ordinal_position
    """


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_parquet(
    wh: Warehouse, out_dir: str | Path, *, tables: Iterable[str] | None = None
) -> pd.DataFrame:
    """Write warehouse tables to ``out_dir/<table>.parquet`` plus ``out_dir/manifest.json``.

    Parameters
    ----------
    wh : Warehouse
        The source warehouse (may be read-only).
    out_dir : str or Path
        Target directory, created if missing. Existing files of the same names are replaced
        (each through a temporary name and an atomic rename); the manifest is written last, so a
        directory with a manifest is always complete.
    tables : iterable of str, optional
        Only these tables. Default: every base table except :data:`EXCLUDED_BY_DEFAULT`.

    Returns
    -------
    DataFrame
        One row per exported table: ``table``, ``rows`` (row count in the snapshot), ``path``
        (absolute path of the Parquet file).

    Raises
    ------
    InputError
        When a requested table does not exist.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    existing = list(wh.df(base_tables_sql())["table_name"])
    if tables is None:
        chosen = [t for t in existing if t not in EXCLUDED_BY_DEFAULT]
    else:
        chosen = list(tables)
        missing = sorted(set(chosen) - set(existing))
        if missing:
            raise InputError(
                f"数据库中没有这些表: {', '.join(missing)} / no such tables: {', '.join(missing)}"
                f". 现有 / available: {', '.join(existing)}"
            )
    entries: list[dict[str, Any]] = []
    # One transaction: every file is read from the same snapshot of the warehouse.
    with wh.transaction():
        schema_version = wh.schema_version()
        for table in chosen:
            final = out / f"{table}.parquet"
            tmp = out / f".{table}.parquet.tmp"
            ident = _quote_ident(table)
            rows = int(wh.scalar(f"SELECT count(*) FROM {ident}"))
            wh.execute(f"COPY {ident} TO $path (FORMAT parquet)", {"path": str(tmp)})
            os.replace(tmp, final)
            cols = wh.df(table_columns_sql(), {"table": table})
            entries.append({
                "table": table,
                "rows": rows,
                "path": final.name,
                "columns": [{"name": str(n), "type": str(t)}
                            for n, t in zip(cols["column_name"], cols["data_type"], strict=True)],
            })
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "schema_version": schema_version,
        "exported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "source": str(wh.path),
        "tables": entries,
    }
    tmp_manifest = out / f".{MANIFEST_NAME}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp_manifest, out / MANIFEST_NAME)
    return pd.DataFrame(
        {
            "table": [e["table"] for e in entries],
            "rows": pd.Series([e["rows"] for e in entries], dtype="int64"),
            "path": [str(out / e["path"]) for e in entries],
        }
    )


def read_manifest(parquet_dir: str | Path) -> dict[str, Any]:
    """The manifest written by :func:`export_parquet`, checked for format.

    Returns
    -------
    dict
        The parsed ``manifest.json`` (schema version, and per table its file, rows, columns).

    Raises
    ------
    InputError
        When the directory has no manifest or it is not an eqm Parquet export.
    """
    path = Path(parquet_dir) / MANIFEST_NAME
    if not path.exists():
        raise InputError(
            f"{path}: 找不到导出清单,请先运行 `eqm export parquet DIR` / no manifest; "
            "run `eqm export parquet DIR` first"
        )
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise InputError(
            f"{path}: 不是 eqm 的 Parquet 导出清单 / not an eqm Parquet export manifest"
        )
    if int(manifest.get("format_version", 0)) > MANIFEST_VERSION:
        raise InputError(
            f"{path}: 清单版本 {manifest.get('format_version')} 比本程序新,请升级 eqm / manifest "
            f"format {manifest.get('format_version')} is newer than this eqm; upgrade eqm"
        )
    return manifest
