"""One base class for the warehouse backends: the choke point and its caches, written once.

An analysis talks to a :class:`Backend` only: ``df``, ``scalar``, ``arrow``, ``execute``,
``insert_df``, ``register``/``unregister``, ``temp_view``, ``transaction``, ``staged``,
``df_shared``/``shared_hit``, ``memo``, ``forget_shared``, ``tables``, ``schema_version``,
``close``. Those methods, and the caches behind them, live here; a backend
(:class:`analytics.warehouse.Warehouse` on DuckDB, :class:`analytics.backends.spark.SparkWarehouse`
on Spark) implements only the execution primitives (the abstract ``_``-methods below): run a
query into a DataFrame, an Arrow table or one value, run a statement, append a frame, expose and
drop a temporary view, materialise a stage and drop it, an atomic block, close.

The cache policy (one policy for every backend, tested once in tests/test_backend_caches.py
against each):

* the shared reductions (:meth:`Backend.df_shared`) and memos (:meth:`Backend.memo`) share one
  store, kept until the backend next writes, at most :attr:`Backend.SHARED_MAX` entries and
  :attr:`Backend.SHARED_MAX_BYTES` bytes (least recently used go first; the newest entry is
  always kept); they are returned as shallow copies (copy-on-write);
* the staged passes (:meth:`Backend.staged`) are kept at most :attr:`Backend.STAGED_MAX`
  (least recently used go first) and rebuilt under the same name when asked for again;
* any write through the backend — ``execute``, ``insert_df``, ``register``, ``unregister``,
  entering a transaction, a transaction rolled back, a statement that is not plainly a query
  through ``df``/``scalar``/``arrow`` — and ``close`` drop both. A temporary view
  (:meth:`Backend.temp_view`) does not: no kept query can refer to its fresh name.

A backend's data change only through itself while it is open: DuckDB's file lock keeps other
processes from writing the file, and a Spark lake is a fixed Parquet export.
"""

from __future__ import annotations

import abc
import hashlib
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from typing import Self

    import pandas as pd
    import pyarrow as pa

#: What :meth:`Backend.memo` keeps: a DataFrame or a tuple of DataFrames.
Memo = TypeVar("Memo", bound="pd.DataFrame | tuple[pd.DataFrame, ...]")
Params = Mapping[str, Any] | None

_READ_START = re.compile(
    r"^\s*(\(\s*)*(SELECT|WITH|FROM|VALUES|DESCRIBE|SHOW|EXPLAIN|SUMMARIZE)\b", re.IGNORECASE)


class Backend(abc.ABC):
    """The one interface every analysis reads and writes through (see the module docstring).

    Attributes
    ----------
    path : str
        Where the data are (a DuckDB file, ``":memory:"``, a Parquet export's directory).
    read_only : bool
        Whether writes are refused.
    stored_passes : bool
        Whether the analyses may read the stored reductions (the item passes ``item_pass_*`` and
        ``knowledge_results``, :mod:`analytics.reduce.derived`) while they are current; False
        where a backend does not keep them.
    """

    SHARED_MAX = 32                 #: kept reductions and memos at most …
    SHARED_MAX_BYTES = 1 << 30      #: … and their total size in bytes
    STAGED_MAX = 6                  #: staged passes kept at most

    path: str
    read_only: bool = False
    stored_passes: bool = False

    def __init__(self) -> None:
        self._shared: OrderedDict[Hashable, Any] = OrderedDict()
        self._staged: OrderedDict[Hashable, str] = OrderedDict()
        self._in_tx = False

    # -- execution primitives (each backend) ------------------------------------------------
    @abc.abstractmethod
    def _df(self, sql: str, params: Params) -> pd.DataFrame:
        """Run a query; its rows as a DataFrame."""

    @abc.abstractmethod
    def _scalar(self, sql: str, params: Params) -> Any:
        """Run a query; the first value of its first row, None without rows."""

    @abc.abstractmethod
    def _arrow(self, sql: str, params: Params) -> pa.Table:
        """Run a query; its rows as a pyarrow Table."""

    @abc.abstractmethod
    def _run(self, sql: str, params: Params) -> None:
        """Run a statement (several separated by ``;`` without parameters)."""

    @abc.abstractmethod
    def _insert(self, table: str, frame: pd.DataFrame) -> int:
        """Append the rows of a non-empty ``frame`` to ``table`` by column name."""

    @abc.abstractmethod
    def _register(self, name: str, frame: Any) -> None:
        """Expose a DataFrame (or Arrow table) as the temporary view ``name``."""

    @abc.abstractmethod
    def _unregister(self, name: str) -> None:
        """Drop the temporary view ``name``."""

    @abc.abstractmethod
    def _stage(self, name: str, sql: str, params: Params) -> None:
        """Materialise the query's result once, readable by later queries as ``name``."""

    @abc.abstractmethod
    def _unstage(self, name: str) -> None:
        """Drop a stage made by :meth:`_stage` and free what it holds; never raises for a
        stage already gone (a closed or failed connection)."""

    @abc.abstractmethod
    def _atomic(self) -> AbstractContextManager[None]:
        """An atomic block: commit on success, roll back on any exception."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release the connection or session (after the caches are dropped)."""

    # -- the choke point ---------------------------------------------------------------------
    def df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return the result as a DataFrame."""
        self._maybe_write(sql)
        return self._df(sql, params)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run a query returning one value (``None`` when it returns no row)."""
        self._maybe_write(sql)
        return self._scalar(sql, params)

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a query and return a pyarrow Table (for large exports)."""
        self._maybe_write(sql)
        return self._arrow(sql, params)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement (or several separated by ``;`` when ``params`` is empty)."""
        self.forget_shared()
        self._run(sql, params)

    def insert_df(self, table: str, frame: pd.DataFrame) -> int:
        """Append the rows of ``frame`` to ``table``, matching columns by name; returns how many."""
        if frame.empty:
            return 0
        self.forget_shared()
        return self._insert(table, frame)

    def register(self, name: str, frame: Any) -> None:
        """Expose a DataFrame / Arrow table as a temporary view ``name`` (the kept results are
        forgotten: a kept query may have read an earlier view of that name)."""
        self.forget_shared()
        self._register(name, frame)

    def unregister(self, name: str) -> None:
        """Drop the temporary view ``name`` made by :meth:`register`."""
        self.forget_shared()
        self._unregister(name)

    @contextmanager
    def temp_view(self, frame: Any) -> Iterator[str]:
        """Expose a DataFrame / Arrow table as a temporary view for the ``with`` block; yields
        its name, fresh and unique (``_tmp_<hex>``; splice it into the SQL). Unlike
        :meth:`register`, the kept reductions are not forgotten: no kept query can refer to a
        name that did not exist before and is never used again."""
        name = f"_tmp_{uuid.uuid4().hex}"
        self._register(name, frame)
        try:
            yield name
        finally:
            self._unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Atomic block: commit on success, roll back on any exception. Nested calls join.
        What was kept inside a block that rolls back is forgotten with it."""
        if self._in_tx:
            yield self
            return
        self.forget_shared()
        self._in_tx = True
        try:
            with self._atomic():
                yield self
        except BaseException:
            self.forget_shared()            # rolled back: results kept inside may be undone
            raise
        finally:
            self._in_tx = False

    # -- the caches ----------------------------------------------------------------------------
    def df_shared(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Like :meth:`df`, for a reduction that other analyses may ask for again (e.g. the per
        unit × item sums that item statistics, reliability, the paper report and the hotspots
        all start from): the result is kept (keyed by the SQL text and parameters) until the
        backend next writes, and a shallow copy is returned (copy-on-write: callers may add or
        change columns freely)."""
        key = self._shared_key(sql, params)
        hit = self._shared.get(key)
        if hit is None:
            hit = self.df(sql, params)
            self._keep(key, hit)
        else:
            self._shared.move_to_end(key)
        return cast("pd.DataFrame", hit.copy(deep=False))

    def shared_hit(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame | None:
        """The kept result of :meth:`df_shared` for this query, or None (nothing is run)."""
        hit = self._shared.get(self._shared_key(sql, params))
        return None if hit is None else cast("pd.DataFrame", hit.copy(deep=False))

    def memo(self, key: Hashable, fn: Callable[[], Memo]) -> Memo:
        """``fn()``, kept under ``key`` with the shared reductions (same store, same limits,
        forgotten on the same writes), for a result derived from them that several analyses or
        calls need (e.g. the hotspots' per unit × item frame, which ``relative`` does not
        change). ``fn`` must return a DataFrame or a tuple of DataFrames, and its result must
        depend only on the backend's data and on ``key`` (include every parameter in it).
        Shallow copies are returned (copy-on-write), so callers cannot change what is kept."""
        skey = ("\0memo", key)
        hit = self._shared.get(skey)
        if hit is None:
            hit = fn()
            self._keep(skey, hit)
        else:
            self._shared.move_to_end(skey)
        return cast(Memo, copy_kept(hit))

    def staged(self, sql: str, params: Mapping[str, Any] | None = None) -> str:
        """Materialise a large intermediate reduction once and return a name that later queries
        read it by (splice the returned trusted name, ``_stage_`` and a hash of the query and
        parameters, into their SQL): for a pass over the responses whose result (about a
        million rows per class × item) several roll-ups need, so it is neither recomputed nor
        carried into pandas. Dropped, like the kept reductions, when the backend writes, and
        beyond :attr:`STAGED_MAX` (least recently used first): call ``staged`` again right
        before each use, which returns the same name, rebuilding the stage if it was dropped."""
        key = self._shared_key(sql, params)
        name = self._staged.get(key)
        if name is not None:
            self._staged.move_to_end(key)
            return name
        name = "_stage_" + hashlib.sha1(repr(key).encode()).hexdigest()[:16]
        self._stage(name, sql, params)
        self._staged[key] = name
        while len(self._staged) > self.STAGED_MAX:
            _, old = self._staged.popitem(last=False)
            self._unstage(old)
        return name

    def forget_shared(self) -> None:
        """Drop the kept reductions, the memos and the staged passes (called on every write
        through this backend)."""
        self._shared.clear()
        staged, self._staged = self._staged, OrderedDict()
        for name in staged.values():
            self._unstage(name)

    def _keep(self, key: Hashable, value: Any) -> None:
        """Store ``value``; drop the least recently used entries beyond the count and byte
        limits (the newest entry is always kept)."""
        self._shared[key] = value
        size = sum(kept_bytes(v) for v in self._shared.values())
        while len(self._shared) > 1 and (len(self._shared) > self.SHARED_MAX
                                         or size > self.SHARED_MAX_BYTES):
            _, old = self._shared.popitem(last=False)
            size -= kept_bytes(old)

    @staticmethod
    def _shared_key(sql: str, params: Params) -> tuple[str, tuple[tuple[str, str], ...]]:
        return sql, tuple(sorted((k, repr(v)) for k, v in (params or {}).items()))

    def _maybe_write(self, sql: str) -> None:
        """Forget the kept results unless ``sql`` is plainly a query (INSERT … RETURNING,
        UPDATE, DELETE, CREATE … may come through df/scalar/arrow too)."""
        if (self._shared or self._staged) and not _READ_START.match(sql):
            self.forget_shared()

    # -- metadata (each backend) ------------------------------------------------------------
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the data (the highest migration applied or exported)."""

    @abc.abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables and views the analyses may read (not stages, not temp views)."""

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the caches, then release the connection or session."""
        try:
            self.forget_shared()
        finally:
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kept_bytes(value: Any) -> int:
    """Bytes held by a kept DataFrame or tuple of DataFrames (the columns, not the index)."""
    frames = value if isinstance(value, tuple) else (value,)
    return sum(int(f.memory_usage(index=False).sum()) for f in frames)


def copy_kept(value: Any) -> Any:
    """Shallow (copy-on-write) copies of a kept DataFrame or tuple of DataFrames."""
    if isinstance(value, tuple):
        return tuple(f.copy(deep=False) for f in value)
    return value.copy(deep=False)


def memo(wh: Backend, key: Hashable, fn: Callable[[], Memo]) -> Memo:
    """``wh.memo(key, fn)`` (:meth:`Backend.memo`)."""
    return wh.memo(key, fn)


def shared_df(wh: Backend, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``wh.df_shared(sql, params)`` (:meth:`Backend.df_shared`)."""
    return wh.df_shared(sql, params)
