"""Connection handling, migrations and the SQL choke point.

Design
------
* One class, :class:`Warehouse`, wraps a DuckDB connection. ``df`` returns a pandas DataFrame,
  ``execute`` runs a statement, ``transaction`` groups statements atomically. No other module
  calls ``duckdb`` directly, so a backend can be swapped in one place.
* The schema is a sequence of numbered migrations ``sql/NNN_name.sql`` applied in order and
  recorded in ``schema_version``; ``eqm init`` (or :meth:`Warehouse.migrate`) creates or upgrades.
* SQL text lives in ``.sql`` files (:func:`load_sql`) or ``*_sql`` functions, uses DuckDB's
  dialect and ``$name`` parameters.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.warehouse import lock as _lock

DEFAULT_DB_PATH = Path("data") / "warehouse.duckdb"
_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
#: What :meth:`Warehouse.memo` keeps: a DataFrame or a tuple of DataFrames.
Memo = TypeVar("Memo", bound=pd.DataFrame | tuple[pd.DataFrame, ...])


def default_db_path() -> Path:
    """The warehouse path: ``$EQM_DB`` if set, else ``data/warehouse.duckdb`` under the cwd."""
    env = os.environ.get("EQM_DB")
    return Path(env) if env else DEFAULT_DB_PATH


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


class Warehouse:
    """A DuckDB warehouse: the single place where SQL is executed.

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
        Let the item analyses read the per-paper reductions the importers store
        (``item_pass_*`` tables, used only while current; see :mod:`analytics.item_sums`).
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
        self.read_only = read_only
        self._lock_key: str | None = None
        self._in_tx = False
        self._shared: OrderedDict[Hashable, Any] = OrderedDict()
        self._staged: OrderedDict[Hashable, str] = OrderedDict()
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

    # -- the choke point -------------------------------------------------------------------
    def df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return the result as a DataFrame."""
        self._maybe_write(sql)
        return _to_pandas(self.con.execute(sql, dict(params) if params else None))

    # Reductions shared by several analyses (e.g. the per unit × item sums that item statistics,
    # reliability, the paper report and the hotspots all start from) are kept per connection
    # until this warehouse writes: another process cannot write the file while it is open here
    # (DuckDB's file lock), so only our own execute/insert_df/transaction/register can change
    # what a query returns, and each of those clears the store.
    SHARED_MAX = 32                 # reductions kept at most …
    SHARED_MAX_BYTES = 1 << 30      # … and their total size (least recently used go first)

    def df_shared(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Like :meth:`df`, for a reduction that other analyses may ask for again: the result is
        kept (keyed by the SQL text and parameters) until the warehouse next writes, and a
        shallow copy is returned (copy-on-write: callers may add or change columns freely)."""
        key = self._shared_key(sql, params)
        hit = self._shared.get(key)
        if hit is None:
            hit = self.df(sql, params)
            self._keep(key, hit)
        else:
            self._shared.move_to_end(key)
        return hit.copy(deep=False)

    def memo(self, key: Hashable, fn: Callable[[], Memo]) -> Memo:
        """``fn()``, kept under ``key`` with the shared reductions (same store, same limits,
        forgotten on the same writes), for a result derived from them that several analyses or
        calls need (e.g. the hotspots' per unit × item frame, which ``relative`` does not
        change). ``fn`` must return a DataFrame or a tuple of DataFrames, and its result must
        depend only on the warehouse's data and on ``key`` (include every parameter in it).
        Shallow copies are returned (copy-on-write), so callers cannot change what is kept."""
        skey = ("\0memo", key)
        hit = self._shared.get(skey)
        if hit is None:
            hit = fn()
            self._keep(skey, hit)
        else:
            self._shared.move_to_end(skey)
        return copy_kept(hit)

    def _keep(self, key: Hashable, value: Any) -> None:
        """Store ``value``; drop the least recently used entries beyond the count and byte
        limits (the newest entry is always kept)."""
        self._shared[key] = value
        size = sum(_kept_bytes(v) for v in self._shared.values())
        while len(self._shared) > 1 and (len(self._shared) > self.SHARED_MAX
                                         or size > self.SHARED_MAX_BYTES):
            _, old = self._shared.popitem(last=False)
            size -= _kept_bytes(old)

    @contextmanager
    def temp_view(self, frame: Any) -> Iterator[str]:
        """Expose a DataFrame / Arrow table as a temporary view for the ``with`` block; yields
        its name, fresh and unique (``_tmp_<hex>``; splice it into the SQL). Unlike
        :meth:`register`, the kept reductions are not forgotten: no kept query can refer to a
        name that did not exist before and is never used again."""
        name = f"_tmp_{uuid.uuid4().hex}"
        self.con.register(name, frame)
        try:
            yield name
        finally:
            self.con.unregister(name)

    def shared_hit(self, sql: str, params: Mapping[str, Any] | None = None
                   ) -> pd.DataFrame | None:
        """The kept result of :meth:`df_shared` for this query, or None (nothing is run)."""
        hit = self._shared.get(self._shared_key(sql, params))
        return None if hit is None else hit.copy(deep=False)

    @staticmethod
    def _shared_key(sql: str, params: Mapping[str, Any] | None
                    ) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return sql, tuple(sorted((k, repr(v)) for k, v in (params or {}).items()))

    _READ_START = re.compile(
        r"^\s*(\(\s*)*(SELECT|WITH|FROM|VALUES|DESCRIBE|SHOW|EXPLAIN|SUMMARIZE)\b", re.IGNORECASE)

    def _maybe_write(self, sql: str) -> None:
        """Forget the kept reductions unless ``sql`` is plainly a query (INSERT … RETURNING,
        UPDATE, DELETE, CREATE … may come through df/scalar too)."""
        if (self._shared or self._staged) and not self._READ_START.match(sql):
            self.forget_shared()

    def forget_shared(self) -> None:
        """Drop the kept reductions and the staged tables (called on every write through this
        warehouse)."""
        self._shared.clear()
        staged, self._staged = self._staged, OrderedDict()
        for name in staged.values():
            # a closed or failed connection has lost its temporary tables already
            with suppress(duckdb.Error):
                self.con.unregister(name)

    STAGED_MAX = 6     # staged passes kept at most (least recently used go first)

    def staged(self, sql: str, params: Mapping[str, Any] | None = None) -> str:
        """Materialise a large intermediate reduction once per connection and return a name
        that later queries read it by (splice the returned trusted name, ``_stage_`` and a
        hash of the query and parameters, into their SQL): for a pass over the responses
        whose result (about a million rows per class × item) several roll-ups need, so it is
        neither recomputed nor carried into pandas. The result is an Arrow table registered
        on the connection (in memory; works on read-only connections too). Dropped, like the
        kept reductions, when this warehouse writes, and beyond :attr:`STAGED_MAX` (least
        recently used first): call ``staged`` again right before each use, which returns the
        same name, rebuilding the table if it was dropped."""
        key = self._shared_key(sql, params)
        name = self._staged.get(key)
        if name is not None:
            self._staged.move_to_end(key)
        else:
            name = "_stage_" + hashlib.sha1(repr(key).encode()).hexdigest()[:16]
            # a stage is a set of groups read by name: its row order does not matter, which
            # lets DuckDB assemble the result in parallel
            self.con.execute("SET preserve_insertion_order = false")
            try:
                table = _arrow_table(self.con.execute(sql, dict(params) if params else None))
            finally:
                self.con.execute("RESET preserve_insertion_order")
            self.con.register(name, table)
            self._staged[key] = name
            while len(self._staged) > self.STAGED_MAX:
                _, old = self._staged.popitem(last=False)
                with suppress(duckdb.Error):
                    self.con.unregister(old)
        return name

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement (or several separated by ``;`` when ``params`` is empty)."""
        self.forget_shared()
        self.con.execute(sql, dict(params) if params else None)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run a query returning one value."""
        # fetchall, not fetchone: DuckDB 2.0 refuses register() etc. while a result is unfinished
        self._maybe_write(sql)
        rows = self.con.execute(sql, dict(params) if params else None).fetchall()
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run a query and return a pyarrow Table (for large exports)."""
        self._maybe_write(sql)
        return _arrow_table(self.con.execute(sql, dict(params) if params else None))

    def register(self, name: str, frame: Any) -> None:
        """Expose a DataFrame / Arrow table as a temporary view ``name``."""
        self.forget_shared()
        self.con.register(name, frame)

    def unregister(self, name: str) -> None:
        self.forget_shared()
        self.con.unregister(name)

    def insert_df(self, table: str, frame: pd.DataFrame) -> int:
        """Append the rows of ``frame`` to ``table``, matching columns by name."""
        if frame.empty:
            return 0
        self.forget_shared()
        view = f"_insert_{table}"
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self.con.register(view, frame)
        try:
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
        finally:
            self.con.unregister(view)
        return len(frame)

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """Atomic block: commit on success, roll back on any exception. Nested calls join."""
        if self._in_tx:
            yield self
            return
        self.forget_shared()
        self.con.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_tx = False

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
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
                self.con.execute(text)
                self.execute(
                    "INSERT INTO schema_version (version, name) VALUES ($v, $n)",
                    {"v": version, "n": name},
                )
            applied.append(version)
        return applied

    def tables(self) -> list[str]:
        return list(
            self.df(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_catalog <> 'temp' ORDER BY table_name"
            )["table_name"]
        )

    def close(self) -> None:
        try:
            self.forget_shared()
            self.con.close()
        finally:  # DuckDB's lock first, then the writer's: the next writer finds both free
            self._release_lock()

    def __del__(self) -> None:
        # never closed: DuckDB releases its lock when the connection is collected; so must we
        with suppress(Exception):
            self._release_lock()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def _kept_bytes(value: Any) -> int:
    """Bytes held by a kept DataFrame or tuple of DataFrames (the columns, not the index)."""
    frames = value if isinstance(value, tuple) else (value,)
    return sum(int(f.memory_usage(index=False).sum()) for f in frames)


def copy_kept(value: Any) -> Any:
    """Shallow (copy-on-write) copies of a kept DataFrame or tuple of DataFrames."""
    if isinstance(value, tuple):
        return tuple(f.copy(deep=False) for f in value)
    return value.copy(deep=False)


def memo(wh: Any, key: Hashable, fn: Callable[[], Memo]) -> Memo:
    """``wh.memo(key, fn)`` where the backend keeps results (:meth:`Warehouse.memo`), else
    ``fn()``."""
    keep = getattr(wh, "memo", None)
    return keep(key, fn) if keep is not None else fn()


def shared_df(wh: Any, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``wh.df_shared`` where the backend keeps reductions (:class:`Warehouse`), else ``wh.df``
    (e.g. the Spark backend)."""
    fn = getattr(wh, "df_shared", None)
    return fn(sql, params) if fn is not None else wh.df(sql, params)


def connect(path: str | Path | None = None, *, read_only: bool = False) -> Warehouse:
    """Open (and for writers, create or upgrade) the warehouse. See :class:`Warehouse`.

    Returns
    -------
    Warehouse
        The open warehouse (``path`` or :func:`default_db_path`); close it with ``wh.close()``.
    """
    return Warehouse(path, read_only=read_only)
