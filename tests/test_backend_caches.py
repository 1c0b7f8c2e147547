"""The cache policy of :class:`analytics.warehouse.Backend`, tested once against every backend.

One policy (analytics/warehouse/base.py): shared reductions and memos in one store bounded by
a count and a byte cap (least recently used first, the newest always kept), staged passes bounded
by an LRU of ``STAGED_MAX``, results returned as copy-on-write copies, everything dropped on any
write (execute, insert_df, register, unregister, a transaction entered or rolled back, a statement
through ``df``) and on close, nothing dropped by a temporary view. Each test runs on DuckDB and,
where pyspark and Java are available, on Spark over a Parquet export (marker ``spark``; without
them the Spark cases skip unless ``EQM_REQUIRE_SPARK=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
import pytest

from analytics.warehouse import Backend, Warehouse
from analytics.warehouse.base import kept_bytes
from tests.spark_env import local_spark, require_spark, spark_warehouse


@dataclass
class Case:
    """A backend under test: the warehouse, the error of reading a view that is gone, and the
    writes it allows (each must make it forget what it kept)."""

    wh: Backend
    missing: type[BaseException]
    writes: dict[str, Callable[[Backend], Any]] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)      # the SQL of every query executed


def _transaction(wh: Backend) -> None:
    with wh.transaction():
        pass


def _rollback(wh: Backend) -> None:
    with pytest.raises(RuntimeError), wh.transaction():
        wh.df_shared("SELECT 41 AS k")
        raise RuntimeError("boom")


COMMON_WRITES: dict[str, Callable[[Backend], Any]] = {
    "register": lambda wh: wh.register("_w", pd.DataFrame({"x": [1]})),
    "unregister": lambda wh: (wh.register("_w", pd.DataFrame({"x": [1]})),
                              wh.df_shared("SELECT 7 AS k"), wh.unregister("_w")),
    "transaction": _transaction,
    "rolled back": _rollback,
}


def _duckdb() -> Iterator[Case]:
    wh = Warehouse(":memory:", migrate=False)
    wh.execute("CREATE TABLE t (x INTEGER)")
    writes = {**COMMON_WRITES,
              "execute": lambda w: w.execute("INSERT INTO t VALUES (1)"),
              "insert_df": lambda w: w.insert_df("t", pd.DataFrame({"x": [2]})),
              "statement through df": lambda w: w.df("INSERT INTO t VALUES (3) RETURNING x")}
    try:
        yield Case(wh, duckdb.CatalogException, writes)
    finally:
        wh.close()


@pytest.fixture(scope="module")
def spark_lake(tmp_path_factory) -> Iterator[tuple[Any, Any]]:
    """One local Spark session and a Parquet export of a small warehouse for the module."""
    require_spark(("pyspark", "sqlglot"))
    from analytics.export import export_parquet

    root = tmp_path_factory.mktemp("lake")
    with Warehouse(root / "w.duckdb") as duck:
        duck.execute("INSERT INTO districts VALUES (1, '示例区')")
        export_parquet(duck, root / "lake")
    session = local_spark("eqm-cache-tests")
    try:
        with spark_warehouse(root / "lake", session) as sw:
            yield sw, session
    finally:
        session.stop()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def case(request, monkeypatch) -> Iterator[Case]:
    if request.param == "duckdb":
        gen = _duckdb()
        c = next(gen)
    else:
        from pyspark.errors import AnalysisException

        sw, _ = request.getfixturevalue("spark_lake")
        sw.forget_shared()
        c = Case(sw, AnalysisException, dict(COMMON_WRITES))
    real = c.wh._df

    def counted(sql: str, params: Any) -> pd.DataFrame:
        c.runs.append(sql)
        return real(sql, params)

    monkeypatch.setattr(c.wh, "_df", counted)
    yield c
    if request.param == "duckdb":
        gen.close()
    else:
        c.wh.forget_shared()


def test_a_shared_reduction_is_run_once_and_copied(case):
    wh = case.wh
    a = wh.df_shared("SELECT $k AS k, 'x' AS s", {"k": 1})
    a["k"] = 99                                  # copy-on-write: what is kept is untouched
    a["extra"] = 1
    b = wh.df_shared("SELECT $k AS k, 'x' AS s", {"k": 1})
    assert case.runs == ["SELECT $k AS k, 'x' AS s"]
    assert list(b.columns) == ["k", "s"] and b["k"].tolist() == [1]
    hit = wh.shared_hit("SELECT $k AS k, 'x' AS s", {"k": 1})
    assert hit is not None and hit["k"].tolist() == [1]
    assert wh.shared_hit("SELECT $k AS k, 'x' AS s", {"k": 2}) is None   # parameters count
    assert len(case.runs) == 1                   # shared_hit runs nothing


def test_kept_results_are_bounded_by_count_least_recently_used_first(case, monkeypatch):
    wh = case.wh
    monkeypatch.setattr(wh, "SHARED_MAX", 3)
    for k in range(3):
        wh.df_shared("SELECT $k AS k", {"k": k})
    wh.df_shared("SELECT $k AS k", {"k": 0})     # used again: now the most recent
    wh.memo(("m", 3), lambda: pd.DataFrame({"m": [3]}))   # memos share the store
    assert wh.shared_hit("SELECT $k AS k", {"k": 1}) is None
    assert wh.shared_hit("SELECT $k AS k", {"k": 0}) is not None
    assert wh.shared_hit("SELECT $k AS k", {"k": 2}) is not None
    assert len(case.runs) == 3


def test_kept_results_are_bounded_by_bytes_the_newest_always_kept(case, monkeypatch):
    wh = case.wh
    frame = pd.DataFrame({"x": range(1000)}, dtype="int64")
    size = kept_bytes(frame)
    assert size == 8000
    monkeypatch.setattr(wh, "SHARED_MAX_BYTES", 2 * size + size // 2)
    calls: list[int] = []

    def build(i: int) -> Callable[[], pd.DataFrame]:
        return lambda: (calls.append(i), frame + i)[1]

    for i in range(3):
        wh.memo(("big", i), build(i))
    wh.memo(("big", 1), build(1))                # kept (the cap holds two): not rebuilt
    assert calls == [0, 1, 2]
    wh.memo(("big", 0), build(0))                # the oldest went when the third came
    assert calls == [0, 1, 2, 0]
    monkeypatch.setattr(wh, "SHARED_MAX_BYTES", size // 2)
    wh.memo(("big", 5), build(5))                # larger than the cap alone: still kept
    wh.memo(("big", 5), build(5))
    assert calls == [0, 1, 2, 0, 5]
    assert wh.memo(("big", 5), build(5))["x"].iloc[-1] == 1004


def test_staged_passes_are_an_lru_of_staged_max_rebuilt_on_demand(case):
    wh = case.wh
    assert wh.STAGED_MAX == 6
    names = [wh.staged("SELECT $k AS k", {"k": k}) for k in range(wh.STAGED_MAX)]
    assert len(set(names)) == wh.STAGED_MAX and all(n.startswith("_stage_") for n in names)
    assert wh.staged("SELECT $k AS k", {"k": 0}) == names[0]       # used again, most recent
    extra = wh.staged("SELECT $k AS k", {"k": 100})
    with pytest.raises(case.missing):            # the least recently used went first
        wh.scalar(f"SELECT k FROM {names[1]}")
    for k in (0, *range(2, wh.STAGED_MAX)):
        assert wh.scalar(f"SELECT k FROM {names[k]}") == k
    assert wh.scalar(f"SELECT k FROM {extra}") == 100
    again = wh.staged("SELECT $k AS k", {"k": 1})                  # rebuilt, same name
    assert again == names[1] and wh.scalar(f"SELECT k FROM {again}") == 1
    assert not any(n.startswith("_stage_") for n in wh.tables())


def _keep_some(wh: Backend) -> str:
    wh.df_shared("SELECT 1 AS k")
    wh.memo("m", lambda: pd.DataFrame({"m": [1]}))
    return wh.staged("SELECT 2 AS k")


def test_every_write_forgets_what_was_kept(case):
    wh = case.wh
    assert case.writes
    for what, write in case.writes.items():
        stage = _keep_some(wh)
        assert wh.shared_hit("SELECT 1 AS k") is not None
        write(wh)
        assert wh.shared_hit("SELECT 1 AS k") is None, what
        assert wh.shared_hit("SELECT 7 AS k") is None, what
        assert wh.shared_hit("SELECT 41 AS k") is None, what
        with pytest.raises(case.missing):
            wh.scalar(f"SELECT k FROM {stage}")
        calls: list[int] = []
        wh.memo("m", lambda calls=calls: (calls.append(1), pd.DataFrame({"m": [1]}))[1])
        assert calls == [1], what


def test_a_temporary_view_and_plain_queries_forget_nothing(case):
    wh = case.wh
    stage = _keep_some(wh)
    with wh.temp_view(pd.DataFrame({"x": [1, 2, 3]})) as view:
        assert view.startswith("_tmp_") and wh.scalar(f"SELECT sum(x) FROM {view}") == 6
    wh.df("WITH a AS (SELECT 1 AS x) SELECT x FROM a")
    wh.arrow("SELECT 3 AS k")
    assert wh.shared_hit("SELECT 1 AS k") is not None
    assert wh.scalar(f"SELECT k FROM {stage}") == 2
    with pytest.raises(case.missing):
        wh.scalar(f"SELECT sum(x) FROM {view}")


def test_close_forgets_and_drops_the_stages():
    wh = Warehouse(":memory:", migrate=False)
    _keep_some(wh)
    staged = list(wh._staged.values())
    wh.close()
    assert not wh._shared and not wh._staged and staged


@pytest.mark.spark
def test_a_dropped_spark_stage_is_unpersisted(spark_lake):
    sw, _ = spark_lake
    sw.forget_shared()
    name = sw.staged("SELECT 5 AS k")
    frame = sw._stages[name]
    assert frame.is_cached and sw.scalar(f"SELECT k FROM {name}") == 5
    for k in range(sw.STAGED_MAX):
        sw.staged("SELECT $k AS k", {"k": k})
    assert name not in sw._stages and not frame.is_cached
    sw.forget_shared()
    assert not sw._stages


def test_a_rolled_back_transaction_forgets_what_it_read_inside(wh):
    """A reduction kept inside a transaction that rolls back saw rows that are gone: it must not
    be returned afterwards (before the base class it was, until the next write)."""
    wh.execute("INSERT INTO districts VALUES (1, 'a')")
    count = "SELECT count(*) AS n FROM districts"
    assert wh.df_shared(count)["n"].tolist() == [1]
    with pytest.raises(RuntimeError), wh.transaction():
        wh.execute("INSERT INTO districts VALUES (2, 'b')")
        assert wh.df_shared(count)["n"].tolist() == [2]
        raise RuntimeError("boom")
    assert wh.df_shared(count)["n"].tolist() == [1]
