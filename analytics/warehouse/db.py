"""Connection handling, migrations and the SQL choke point.

Design
------
* One class, :class:`Warehouse`, wraps a DuckDB connection. ``df`` returns a pandas DataFrame,
  ``execute`` runs a statement, ``transaction`` groups statements atomically. No other module
  calls ``duckdb`` directly, so a backend can be swapped in one place. Those methods and the
  caches behind them (shared reductions, memos, staged passes) are written once in
  :class:`~analytics.warehouse.base.Backend`; this module implements its execution primitives
  on DuckDB, as :mod:`analytics.backends.spark` does on Spark.
* The schema is a sequence of numbered migrations ``sql/NNN_name.sql`` applied in order and
  recorded in ``schema_version``; ``eqm init`` (or :meth:`Warehouse.migrate`) creates or upgrades.
* SQL text lives in ``.sql`` files (:func:`load_sql`) or ``*_sql`` functions, uses DuckDB's
  dialect and ``$name`` parameters.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.warehouse import lock as _lock
from analytics.warehouse.base import Backend, Params
from analytics.warehouse.base import Memo as Memo
from analytics.warehouse.base import copy_kept as copy_kept
from analytics.warehouse.base import memo as memo
from analytics.warehouse.base import shared_df as shared_df
from analytics.warehouse.paths import DEFAULT_DB_PATH as DEFAULT_DB_PATH
from analytics.warehouse.paths import default_db_path as default_db_path

_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@cache
def _migrations() -> tuple[tuple[int, str, str], ...]:
    files = resources.files("analytics.warehouse") / "sql"
    found = []
    for entry in files.iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found))


SCHEMA_VERSION = max(v for v, _, _ in _migrations())


def load_sql(package: str, name: str) -> str:
    """Read the named ``.sql`` file that sits beside the code in ``package``.

    Parameters
    ----------
    package : str
        Dotted package name, e.g. ``"analytics.sql"``.
    name : str
        File name without or with the ``.sql`` suffix.
    """
    fname = name if name.endswith(".sql") else f"{name}.sql"
    return (resources.files(package) / fname).read_text(encoding="utf-8")


class Warehouse(Backend):
    """A DuckDB warehouse: the single place where SQL is executed (the choke point and its
    caches are :class:`~analytics.warehouse.base.Backend`'s; this class runs DuckDB).

    Parameters
    ----------
    path : str or Path or None
        Database file; ``":memory:"`` for an in-memory database; ``None`` for
        :func:`default_db_path`.
    read_only : bool
        Open read-only (dashboards, snapshots).
    migrate : bool
        Apply pending migrations on open (ignored when read-only).
    threads, memory_limit : optional
        DuckDB settings.
    stored_passes : bool
        Let the analyses read the per-paper reductions the importers store (``item_pass_*``
        tables and ``knowledge_results``, used only while current; see
        :mod:`analytics.reduce.derived`).
        ``False`` makes them reduce the responses every time: same results, slower; for
        benchmarks and checks.
    wait : float
        Seconds to wait when another process is writing the file (the writer's lock,
        :mod:`analytics.warehouse.lock`, or DuckDB's own lock) before raising
        :class:`~analytics.warehouse.lock.WarehouseBusy`; 0 (the default) refuses at once.
    on_wait : callable, optional
        Told once, in words, that the open waits (the CLI prints it).
    writer_lock : bool
        Take the writer's lock when opening for writing (default). ``False`` only for a private
        file that no other process can know of (a restore's verified copy).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        migrate: bool = True,
        threads: int | None = None,
        memory_limit: str | None = None,
        stored_passes: bool = True,
        wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        writer_lock: bool = True,
    ) -> None:
        self.stored_passes = stored_passes
        self.path = str(default_db_path() if path is None else path)
        if self.path != ":memory:" and not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise FileNotFoundError(
                f"找不到数据库文件 {self.path}。请先运行 `eqm init` 或 `eqm demo`。"
                f" / Warehouse file {self.path} does not exist; run `eqm init` or `eqm demo` first."
            )
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        super().__init__()
        self.read_only = read_only
        self._lock_key: str | None = None
        self.con = self._connect(config, _lock.Waiter(self.path, wait, on_wait), writer_lock)
        if migrate and not read_only:
            try:
                self.migrate()
            except BaseException:
                self.close()
                raise

    def _connect(self, config: dict[str, Any], waiter: _lock.Waiter,
                 writer_lock: bool) -> duckdb.DuckDBPyConnection:
        """Take the writer's lock (writers), then open DuckDB, waiting while another process
        holds either (the one place where opening waits; see :mod:`analytics.warehouse.lock`)."""
        if self.path != ":memory:" and not self.read_only and writer_lock:
            self._lock_key = _lock.acquire(self.path, waiter)
        try:
            while True:
                try:
                    return duckdb.connect(self.path, read_only=self.read_only, config=config)
                except duckdb.IOException as exc:
                    holder = _lock.duckdb_lock_conflict(exc)
                    if holder is None:
                        raise
                    waiter.pause(holder or None, exc)
        except BaseException:
            self._release_lock()
            raise

    def _release_lock(self) -> None:
        key, self._lock_key = self._lock_key, None
        if key is not None:
            _lock.release(key)

    # -- execution primitives (the choke point and the caches are in Backend) -----------------
    def _df(self, sql: str, params: Params) -> pd.DataFrame:
        return _to_pandas(self.con.execute(sql, dict(params) if params else None))

    def _scalar(self, sql: str, params: Params) -> Any:
        # fetchall, not fetchone: DuckDB 2.0 refuses register() etc. while a result is unfinished
        rows = self.con.execute(sql, dict(params) if params else None).fetchall()
        return rows[0][0] if rows else None

    def _arrow(self, sql: str, params: Params) -> pa.Table:
        return _arrow_table(self.con.execute(sql, dict(params) if params else None))

    def _run(self, sql: str, params: Params) -> None:
        self.con.execute(sql, dict(params) if params else None)

    def _insert(self, table: str, frame: pd.DataFrame) -> int:
        view = f"_insert_{table}"
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self.con.register(view, frame)
        try:
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
        finally:
            self.con.unregister(view)
        return len(frame)

    def _register(self, name: str, frame: Any) -> None:
        self.con.register(name, frame)

    def _unregister(self, name: str) -> None:
        self.con.unregister(name)

    def _stage(self, name: str, sql: str, params: Params) -> None:
        """The result as an Arrow table registered on the connection (in memory; works on
        read-only connections too)."""
        # a stage is a set of groups read by name: its row order does not matter, which lets
        # DuckDB assemble the result in parallel
        self.con.execute("SET preserve_insertion_order = false")
        try:
            table = _arrow_table(self.con.execute(sql, dict(params) if params else None))
        finally:
            self.con.execute("RESET preserve_insertion_order")
        self.con.register(name, table)

    def _unstage(self, name: str) -> None:
        # a closed or failed connection has lost its temporary tables already
        with suppress(duckdb.Error):
            self.con.unregister(name)

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def _close(self) -> None:
        try:
            self.con.close()
        finally:  # DuckDB's lock first, then the writer's: the next writer finds both free
            self._release_lock()

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version of the data: the highest migration applied (0 before the first)."""
        exists = self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        )
        if not exists:
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))

    def migrate(self) -> list[int]:
        """Apply pending migrations in order, each in its own transaction. Returns those applied."""
        if self.read_only:
            raise PermissionError("cannot migrate a read-only warehouse")
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        )
        # Apply every migration not yet recorded (not only those above the maximum): numbers
        # are reserved per feature, so 002 may land after a warehouse already has 003.
        done = set(self.df("SELECT version FROM schema_version")["version"].astype(int))
        applied = []
        for version, name, text in _migrations():
            if version in done:
                continue
            with self.transaction():
                self.execute(text)
                self.execute(
                    "INSERT INTO schema_version (version, name) VALUES ($v, $n)",
                    {"v": version, "n": name},
                )
            applied.append(version)
        return applied

    def tables(self) -> list[str]:
        """Names of the tables and views the analyses may read (``main`` schema, no temp views)."""
        return list(
            self.df(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_catalog <> 'temp' ORDER BY table_name"
            )["table_name"]
        )

    def __del__(self) -> None:
        # never closed: DuckDB releases its lock when the connection is collected; so must we
        with suppress(Exception):
            self._release_lock()


#: DuckDB result types converted through Arrow (integers, floating point, text): several times
#: faster than DuckDB's own ``df()`` on large results, with the same pandas dtypes.
_ARROW_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                          "UINTEGER", "FLOAT", "DOUBLE", "VARCHAR"})


def _arrow_table(result: Any) -> pa.Table:
    """The rows of an executed DuckDB statement as a pyarrow Table. DuckDB warns that Arrow
    output of an executed statement copies the rows once; that copy is cheap next to
    ``df()``'s conversion, and ``execute()`` is what takes parameters, so the warning is
    silenced. (DuckDB 2 renamed ``fetch_arrow_table`` to ``to_arrow_table``; both work.)"""
    fetch = getattr(result, "to_arrow_table", None) or getattr(result, "fetch_arrow_table")  # noqa: B009
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output", category=UserWarning)
        return fetch()


def _to_pandas(result: Any) -> pd.DataFrame:
    """The rows of a DuckDB result as a DataFrame with the dtypes DuckDB's ``df()`` gives
    (integers without NULLs as numpy integers, with NULLs as pandas' masked integers, text as
    pandas' string dtype). Results of only integer, floating-point and text columns go through
    Arrow, which converts large results several times faster; any other result uses ``df()``."""
    desc = result.description or ()
    names = [d[0] for d in desc]
    if len(set(names)) < len(names) or not all(str(d[1]) in _ARROW_TYPES for d in desc):
        return result.df()          # df() renames repeated names; other types as it does
    table = _arrow_table(result)
    frame = table.to_pandas()
    for i, field in enumerate(table.schema):
        if pa.types.is_integer(field.type) and table.column(i).null_count:
            masked = pd.api.types.pandas_dtype(str(field.type).replace("int", "Int")
                                               .replace("uInt", "UInt"))
            frame.isetitem(i, table.column(i).to_pandas(
                types_mapper={field.type: masked}.get).array)
        elif pa.types.is_string(field.type) and len(table) == table.column(i).null_count:
            frame.isetitem(i, np.full(len(table), None, dtype=object))   # as df(): object
    return frame


def connect(path: str | Path | None = None, *, read_only: bool = False) -> Warehouse:
    """Open (and for writers, create or upgrade) the warehouse. See :class:`Warehouse`.

    Returns
    -------
    Warehouse
        The open warehouse (``path`` or :func:`default_db_path`); close it with ``wh.close()``.
    """
    return Warehouse(path, read_only=read_only)
