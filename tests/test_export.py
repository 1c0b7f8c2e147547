"""`eqm export parquet`: every table to Parquet with a manifest (no Spark needed)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from analytics.errors import InputError
from analytics.export import EXCLUDED_BY_DEFAULT, MANIFEST_NAME, export_parquet, read_manifest
from analytics.users import add_user
from analytics.warehouse import SCHEMA_VERSION, Warehouse
from eqm.cli import cli
from tests.builders import build_exam


def _tables(wh: Warehouse) -> list[str]:
    return list(wh.df("SELECT table_name FROM information_schema.tables "
                      "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
                      "ORDER BY table_name")["table_name"])


def test_every_table_round_trips_through_parquet(wh, tmp_path):
    build_exam(wh, n_schools=3, students_per_school=10, seed=3)
    out = export_parquet(wh, tmp_path / "lake")
    assert list(out.columns) == ["table", "rows", "path"]
    expected = [t for t in _tables(wh) if t not in EXCLUDED_BY_DEFAULT]
    assert sorted(out["table"]) == expected
    for row in out.itertuples():
        # read the file back with DuckDB and compare it with the table, row for row
        back = wh.df("SELECT * FROM read_parquet($p)", {"p": row.path})
        orig = wh.df(f'SELECT * FROM "{row.table}"')
        assert len(back) == len(orig) == row.rows
        cols = list(orig.columns)
        assert list(back.columns) == cols
        if cols:
            pd.testing.assert_frame_equal(
                back.sort_values(cols, ignore_index=True),
                orig.sort_values(cols, ignore_index=True))
    assert (out.set_index("table").loc["responses", "rows"]
            == wh.scalar("SELECT count(*) FROM responses") > 0)


def test_manifest_records_schema_version_rows_and_columns(wh, tmp_path):
    build_exam(wh, n_schools=2, students_per_school=5, seed=1)
    out = export_parquet(wh, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest == read_manifest(tmp_path)
    assert manifest["schema_version"] == wh.schema_version() == SCHEMA_VERSION
    by_name = {e["table"]: e for e in manifest["tables"]}
    assert {t: e["rows"] for t, e in by_name.items()} == dict(zip(out["table"], out["rows"],
                                                                  strict=True))
    cols = wh.df("SELECT column_name, data_type FROM information_schema.columns "
                 "WHERE table_name = 'students' ORDER BY ordinal_position")
    assert [(c["name"], c["type"]) for c in by_name["students"]["columns"]] == list(
        zip(cols["column_name"], cols["data_type"], strict=True))
    assert not list(tmp_path.glob(".*.tmp"))


def test_credentials_stay_behind_unless_named(wh, tmp_path):
    add_user(wh, "admin1", "s3cret-pass", role="admin")
    out = export_parquet(wh, tmp_path / "a")
    assert "users" not in set(out["table"])
    assert not (tmp_path / "a" / "users.parquet").exists()
    named = export_parquet(wh, tmp_path / "b", tables=["users"])
    assert list(named["table"]) == ["users"] and named["rows"].iloc[0] == 1


def test_unknown_table_is_an_input_error(wh, tmp_path):
    with pytest.raises(InputError, match="nope"):
        export_parquet(wh, tmp_path, tables=["nope"])


def test_read_manifest_rejects_a_plain_directory(tmp_path):
    with pytest.raises(InputError, match="manifest"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match="not an eqm"):
        read_manifest(tmp_path)


def test_cli_exports_from_a_read_only_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as w:
        build_exam(w, n_schools=2, students_per_school=5, seed=2)
        n_resp = w.scalar("SELECT count(*) FROM responses")
    res = CliRunner().invoke(cli, ["--db", str(db), "export", "parquet", str(tmp_path / "lake"),
                                   "--format", "csv"])
    assert res.exit_code == 0, res.output
    manifest = read_manifest(tmp_path / "lake")
    assert {e["table"]: e["rows"] for e in manifest["tables"]}["responses"] == n_resp
    assert "responses" in res.output
