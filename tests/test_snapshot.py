"""Backups, restores and reads during writes (published read-only snapshots)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from analytics import snapshot
from analytics.errors import InputError
from analytics.warehouse import Warehouse
from eqm.cli import cli


def _districts(path) -> list[str]:
    with Warehouse(path, read_only=True) as r:
        return r.df("SELECT name FROM districts ORDER BY district_id")["name"].tolist()


def test_backup_restore_round_trip(tmp_path):
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.execute("INSERT INTO districts VALUES (1, '甲区')")
    runner = CliRunner()
    res = runner.invoke(cli, ["--db", str(db), "backup", str(tmp_path / "b.duckdb")])
    assert res.exit_code == 0, res.output
    with Warehouse(db) as wh:  # change after the backup
        wh.execute("INSERT INTO districts VALUES (2, '乙区')")
    assert _districts(db) == ["甲区", "乙区"]
    res = runner.invoke(cli, ["--db", str(db), "restore", str(tmp_path / "b.duckdb")])
    assert res.exit_code == 0, res.output
    assert _districts(db) == ["甲区"]
    # the state before the restore is kept, not lost
    assert _districts(tmp_path / "w.before-restore.duckdb") == ["甲区", "乙区"]


def test_restore_refuses_a_file_that_is_not_a_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.execute("INSERT INTO districts VALUES (1, '甲区')")
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="not a valid warehouse backup"):
        snapshot.restore(junk, db)
    assert _districts(db) == ["甲区"]
    res = CliRunner().invoke(cli, ["--db", str(db), "restore", str(junk)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_readers_keep_reading_while_a_writer_holds_the_file(tmp_path):
    db = tmp_path / "w.duckdb"
    writer = Warehouse(db)
    writer.execute("INSERT INTO districts VALUES (1, '甲区')")
    snapshot.publish(writer)
    # another process cannot open the writer's file at all ...
    probe = textwrap.dedent(f"""
        import duckdb, sys
        try:
            duckdb.connect({str(db)!r}, read_only=True)
        except Exception as exc:
            print("locked", type(exc).__name__)
            sys.exit(0)
        print("opened")
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("locked")
    # ... but it can read the published snapshot, during an open write transaction
    reader_code = textwrap.dedent(f"""
        from analytics.snapshot import open_snapshot
        with open_snapshot({str(db)!r}) as r:
            print(",".join(r.df("SELECT name FROM districts ORDER BY district_id")["name"]))
    """)
    with writer.transaction():
        writer.execute("INSERT INTO districts VALUES (2, '乙区')")
        out = subprocess.run([sys.executable, "-c", reader_code], capture_output=True,
                             text=True, check=True)
        assert out.stdout.strip() == "甲区"
    old_reader = snapshot.open_snapshot(db)  # holds the old snapshot open across the swap
    snapshot.publish(writer)
    out = subprocess.run([sys.executable, "-c", reader_code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "甲区,乙区"
    assert old_reader.df("SELECT count(*) AS n FROM districts")["n"].iloc[0] == 1
    old_reader.close()
    writer.close()
