from __future__ import annotations

import duckdb
import pytest

from analytics.warehouse import SCHEMA_VERSION, Warehouse


def test_migrate_is_idempotent(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        assert wh.schema_version() == SCHEMA_VERSION
        assert {"students", "items", "responses", "paper_results", "import_log"} <= set(wh.tables())
    with Warehouse(path) as wh:
        assert wh.migrate() == []


def test_transaction_rolls_back(wh):
    wh.execute("INSERT INTO districts VALUES (1, '示例区')")
    with pytest.raises(RuntimeError), wh.transaction():
        wh.execute("INSERT INTO districts VALUES (2, '另一区')")
        raise RuntimeError("boom")
    assert wh.df("SELECT name FROM districts")["name"].tolist() == ["示例区"]


def test_check_constraints(wh):
    wh.execute("INSERT INTO districts VALUES (1, 'd')")
    with pytest.raises(duckdb.ConstraintException):
        wh.execute("INSERT INTO schools (school_id, name, ownership) VALUES (1, 's', 'other')")
    wh.execute("INSERT INTO exams (exam_id, name) VALUES (1, 'e')")
    with pytest.raises(duckdb.ConstraintException):
        wh.execute("INSERT INTO papers (paper_id, exam_id, subject, grade, full_score) "
                   "VALUES (1, 1, '数学', 9, 0)")


def test_read_only_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="eqm init"):
        Warehouse(tmp_path / "nope.duckdb", read_only=True)


FETCH_CASES = [
    "SELECT 1::INTEGER a, NULL::INTEGER b, 'x' s, NULL::VARCHAR t, 2.5::DOUBLE d, 3::BIGINT e,"
    " 4::UTINYINT u",
    "SELECT * FROM (VALUES (1::INTEGER, NULL::BIGINT, 'a', NULL::UTINYINT),"
    " (NULL, 5, NULL, 3::UTINYINT)) t(a, b, c, u)",
    "SELECT 1::INTEGER a, 'x' b WHERE false",
    "SELECT 1.5::DECIMAL(5, 2) x, true b, DATE '2026-06-20' d",
    "SELECT 1 a, 2 a",
    "SELECT NULL::VARCHAR a FROM range(3)",
    "SELECT NULL::INTEGER a, NULL::DOUBLE b FROM range(2)",
    "SELECT 'é中' a, NULL b",
    "SELECT 'nan'::DOUBLE a, 'inf'::FLOAT b, -7::SMALLINT c",
    "SELECT range::INTEGER AS i, CASE WHEN range % 3 = 0 THEN NULL ELSE range END AS j,"
    " CASE WHEN range % 5 = 0 THEN NULL ELSE 'v' || range END AS s FROM range(100000)",
]


@pytest.mark.parametrize("sql", FETCH_CASES)
def test_df_gives_what_duckdb_df_gives(sql):
    # Warehouse.df converts through Arrow for speed; the frame must be exactly DuckDB's own
    # df() (dtypes included: masked integers where NULLs occur, object for all-NULL text).
    import pandas as pd

    wh = Warehouse(":memory:")
    want = duckdb.connect().execute(sql).df()
    got = wh.df(sql)
    assert got.dtypes.to_dict() == want.dtypes.to_dict()
    pd.testing.assert_frame_equal(got, want)


def test_staged_tables_live_until_the_warehouse_writes(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as w:
        w.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    with Warehouse(path, read_only=True) as ro:           # temporary tables work read-only
        name = ro.staged("SELECT sum(x) AS s FROM t WHERE x < $k", {"k": 5})
        assert ro.staged("SELECT sum(x) AS s FROM t WHERE x < $k", {"k": 5}) == name
        assert ro.df(f"SELECT s FROM {name}")["s"].iloc[0] == 10
        assert "t" in ro.tables() and name not in ro.tables()
    w = Warehouse(path)
    name = w.staged("SELECT sum(x) AS s FROM t")
    assert w.scalar(f"SELECT s FROM {name}") == 45
    w.execute("INSERT INTO t VALUES (100)")                 # a write drops the stage …
    with pytest.raises(duckdb.CatalogException):
        w.scalar(f"SELECT s FROM {name}")
    assert w.scalar(f"SELECT s FROM {w.staged('SELECT sum(x) AS s FROM t')}") == 145  # … anew
    w.close()


def test_staged_tables_are_bounded_and_rebuilt_on_demand():
    w = Warehouse(":memory:")
    names = [w.staged("SELECT $k AS k", {"k": k}) for k in range(w.STAGED_MAX + 2)]
    with pytest.raises(duckdb.CatalogException):        # the least recently used went first
        w.scalar(f"SELECT k FROM {names[0]}")
    assert w.scalar(f"SELECT k FROM {names[-1]}") == w.STAGED_MAX + 1
    again = w.staged("SELECT $k AS k", {"k": 0})          # asked for again: rebuilt, same name
    assert again == names[0] and w.scalar(f"SELECT k FROM {again}") == 0
    w.close()


def _other_process_can_write(path) -> bool:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "from analytics.warehouse import WarehouseBusy, writer_lock\n"
            "try:\n"
            "    with writer_lock(sys.argv[1]):\n"
            "        print('free')\n"
            "except WarehouseBusy:\n"
            "    print('busy')\n")
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": root})
    return out.stdout.strip() == "free"


def test_the_writers_lock_is_held_while_open_shared_in_process_and_released(tmp_path):
    """Issue 13: every writer takes the writer's lock beside the file (``w.duckdb.lock``);
    two writers of one process share it (as DuckDB shares the database instance); it is free
    again once the last is closed, and also after an open that failed."""
    from analytics.warehouse.lock import lock_path

    path = tmp_path / "w.duckdb"
    first = Warehouse(path)
    assert lock_path(path) == tmp_path / "w.duckdb.lock" and lock_path(path).exists()
    second = Warehouse(path)                       # same process: no wait, no refusal
    first.close()
    assert not _other_process_can_write(path)      # still held by `second`
    second.close()
    assert _other_process_can_write(path)
    with Warehouse(path, read_only=True):          # readers take no writer's lock
        pass
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a database" * 1000)
    with pytest.raises(duckdb.Error):
        Warehouse(bad)
    assert _other_process_can_write(bad)           # a failed open does not keep the lock
