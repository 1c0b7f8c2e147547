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
