"""A busy warehouse answers in words (issue 13, items 9–11).

Another process holds the warehouse (an import in progress: the writer's lock and DuckDB's
file lock, an open transaction). Then writers wait up to ``eqm --wait`` and exit 2 with a
plain message, readers read the published snapshot, a restore waits for the import instead
of swapping the file under it, and a failure after a commit says the data are saved and the
next command republishes the dashboard's snapshot. Never a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from analytics import snapshot
from analytics.archive import archive_paper
from analytics.users import add_user
from analytics.warehouse import Warehouse, WarehouseBusy
from eqm.cli import cli
from tests.builders import build_exam

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ROOT / "data" / "samples" / "roster.csv"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

HOLDER = textwrap.dedent("""
    import sys
    kind, db = sys.argv[1], sys.argv[2]
    if kind == "duckdb":        # a program that takes only DuckDB's own lock
        import duckdb
        con = duckdb.connect(db)
        print("holding", flush=True)
        sys.stdin.readline()
        con.close()
    else:                       # an import in progress: the writer's lock, a transaction
        from analytics.warehouse import Warehouse
        wh = Warehouse(db)
        with wh.transaction():
            wh.execute("INSERT INTO districts VALUES (77, '导入区')")
            print("holding", flush=True)
            sys.stdin.readline()
        wh.close()
        print("committed", flush=True)
""")


@contextmanager
def holding(db: Path, kind: str = "import") -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``db`` until the block ends (then it commits and exits)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, kind, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "holding"
        yield proc
    finally:
        if proc.poll() is None and proc.stdin is not None:
            proc.stdin.write("\n")
            proc.stdin.flush()
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _districts(path: Path) -> list[str]:
    with Warehouse(path, read_only=True) as r:
        return r.df("SELECT name FROM districts ORDER BY district_id")["name"].tolist()


def eqm(db: Path, *args: str, wait: float = 0.3):
    return CliRunner().invoke(cli, ["--db", str(db), "--wait", str(wait), *args])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A small warehouse (an exam, a user, an archived paper) and a backup of it."""
    root = tmp_path_factory.mktemp("busy")
    db = root / "w.duckdb"
    with Warehouse(db) as wh:
        build_exam(wh, n_schools=3, students_per_school=20, exam="期中", seed=1)
        add_user(wh, "officer", "pw-officer-1", "officer")
        archive_paper(wh, exam="期中", subject="数学")
    bak = root / "b.duckdb"
    snapshot.backup(db, bak)
    return db, bak


@pytest.fixture
def db(tmp_path, built) -> Path:
    path = tmp_path / "w.duckdb"
    path.write_bytes(built[0].read_bytes())
    return path


def writer_commands(tmp_path: Path, bak: Path) -> dict[str, list[str]]:
    return {
        "import": ["import", "roster", str(ROSTER), "--district", "示例区"],
        "users add": ["users", "add", "bob", "--role", "officer", "--password", "pw-bob-123"],
        "users remove": ["users", "remove", "officer"],
        "backup": ["backup", str(tmp_path / "x.duckdb")],
        "publish": ["publish"],
        "init": ["init"],
        "archive note": ["archive", "note", "1", "--text", "易错", "--author", "教研员"],
        "restore": ["restore", str(bak)],
    }


READERS = {
    "stats": ["stats", "scores", "--exam", "期中", "--subject", "数学"],
    "users list": ["users", "list"],
}


def _plain_busy(res, wait: float) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert "Could not set lock" not in res.output
    assert "等待中" in res.stderr and "waiting" in res.stderr           # said it waited
    assert "数据库正被其他程序写入" in res.stderr and f"after waiting {wait:g} s" in res.stderr
    assert "nothing was changed" in res.stderr


@pytest.mark.parametrize("kind", ["import", "duckdb"])
def test_writers_wait_then_refuse_in_plain_words(tmp_path, built, db, kind):
    """Issue 13 item 10: every writer used to die with DuckDB's "Could not set lock"
    traceback (exit 1). Now it waits ``--wait`` seconds, saying so, then exits 2 in words —
    whether the other process takes the writer's lock (an eqm import) or only DuckDB's."""
    snapshot.publish(db)
    commands = writer_commands(tmp_path, built[1])
    with holding(db, kind):
        before = _sha(db)
        for name, args in commands.items():
            start = time.monotonic()
            res = eqm(db, *args, wait=0.3)
            took = time.monotonic() - start
            _plain_busy(res, 0.3)
            assert took >= 0.3, (name, took)
            assert _sha(db) == before, name             # nothing changed, restore included
        assert not (tmp_path / "x.duckdb").exists()
    if kind == "import":  # the import's rows were not lost
        assert "导入区" in _districts(db)


def test_readers_read_the_published_snapshot_meanwhile(db):
    snapshot.publish(db)
    with holding(db):
        for name, args in READERS.items():
            res = eqm(db, *args)
            assert res.exit_code == 0, (name, res.output)
            assert "Traceback" not in res.output
            assert "快照" in res.stderr and "snapshot published at" in res.stderr, name
        assert "officer" in eqm(db, *READERS["users list"]).stdout


def test_readers_without_a_snapshot_wait_then_refuse_in_plain_words(db):
    assert not snapshot.snapshot_path(db).exists()
    with holding(db):
        for name, args in READERS.items():
            res = eqm(db, *args, wait=0.3)
            _plain_busy(res, 0.3)
            assert not snapshot.snapshot_path(db).exists(), name


def test_a_writer_proceeds_when_the_other_process_finishes_within_the_wait(db):
    with holding(db) as proc:
        # release the holder shortly after the command started waiting
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        res = eqm(db, "users", "add", "bob", "--role", "officer", "--password", "pw-bob-123",
                  wait=30)
    assert res.exit_code == 0, res.output
    with Warehouse(db, read_only=True) as r:
        assert set(r.df("SELECT username FROM users")["username"]) >= {"bob"}
    assert "导入区" in _districts(db)


def test_the_wait_is_the_global_option_or_eqm_wait(db, monkeypatch):
    with holding(db):
        monkeypatch.setenv("EQM_WAIT", "0.2")
        res = CliRunner().invoke(cli, ["--db", str(db), "init"])
        _plain_busy(res, 0.2)
        res = CliRunner().invoke(cli, ["--db", str(db), "--wait", "0", "init"])
        assert res.exit_code == 2 and "Traceback" not in res.output
        assert "nothing was changed" in res.stderr
    res = CliRunner().invoke(cli, ["--db", str(db), "--wait", "-1", "init"])
    assert res.exit_code == 2 and "--wait" in res.output          # a usage error


def test_library_opens_refuse_at_once_with_warehouse_busy(db):
    with holding(db):
        start = time.monotonic()
        with pytest.raises(WarehouseBusy, match="nothing was changed"):
            Warehouse(db)
        with pytest.raises(WarehouseBusy):
            Warehouse(db, read_only=True)
        assert time.monotonic() - start < 5


def test_restore_waits_for_an_import_instead_of_losing_its_rows(db, built):
    """Issue 13 item 9: a restore during an import swapped the file under it; the import then
    committed into the replaced file and reported success, and its rows were lost. Now the
    restore waits for the import's commit, and keeps the state it replaces (with the import's
    rows) as ``<name>.before-restore.duckdb``."""
    with holding(db) as holder:
        restore = subprocess.Popen(
            [sys.executable, "-m", "eqm", "--db", str(db), "--wait", "60", "restore",
             str(built[1])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            assert restore.stderr is not None
            seen = ""
            while "waiting" not in seen:            # the restore checked the backup, then waits
                line = restore.stderr.readline()
                assert line, f"restore ended without waiting: {seen}"
                seen += line
            assert restore.poll() is None
            assert holder.stdin is not None and holder.stdout is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "committed"   # the import succeeded …
            _, err = restore.communicate(timeout=120)
        finally:
            if restore.poll() is None:
                restore.kill()
                restore.wait()
    assert restore.returncode == 0, seen + err
    assert "Traceback" not in seen + err
    assert "导入区" not in _districts(db)                              # … the restore followed
    assert "导入区" in _districts(db.with_name("w.before-restore.duckdb"))  # … its rows kept


def test_a_publish_failure_after_the_commit_says_the_data_are_saved(db, monkeypatch):
    """Issue 13 item 11: a full disk in the publish step after an import had committed printed
    a traceback. Now: the data are saved (said in both languages), exit 3, no traceback; the
    next command republishes the stale snapshot, so the dashboard shows the import."""
    snapshot.publish(db)                       # a dashboard reads this warehouse

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as m:
        m.setattr(snapshot, "publish", disk_full)
        res = eqm(db, "import", "roster", str(ROSTER), "--district", "示例区")
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert "数据已保存" in res.output and "data are saved" in res.output
    assert "No space left" in res.output
    assert "示例区" in _districts(db)           # saved …
    assert snapshot.snapshot_stale(db)         # … not yet published

    res = eqm(db, *READERS["users list"])      # the next command, a reader
    assert res.exit_code == 0, res.output
    assert "republishing" in res.stderr
    assert not snapshot.snapshot_stale(db)
    with Warehouse(snapshot.snapshot_path(db), read_only=True) as snap:
        assert "示例区" in snap.df("SELECT name FROM districts")["name"].tolist()


KILLERS = {
    # the copy is written, not yet swapped in
    "publish": """
        replace = os.replace
        def die(src, dest):
            if str(dest).endswith(".snapshot.duckdb"):
                os.kill(os.getpid(), signal.SIGKILL)
            replace(src, dest)
        os.replace = die
    """,
    "summary refresh": """
        import analytics.summaries
        def die(wh, names=None):
            os.kill(os.getpid(), signal.SIGKILL)
        analytics.summaries.refresh_summaries = die
    """,
}


@pytest.mark.parametrize("where", list(KILLERS))
def test_a_kill_after_the_commit_is_repaired_by_the_next_command(db, where):
    """kill -9 in the summary refresh or the publish after an import committed: the next
    command refreshes the summaries, republishes, and removes the half-written copy a killed
    publish leaves behind."""
    from analytics.summaries import summaries_stale

    snapshot.publish(db)
    code = "import os, signal\n" + textwrap.dedent(KILLERS[where]) + textwrap.dedent(f"""
        from eqm.cli import cli
        cli(["--db", {str(db)!r}, "import", "roster", {str(ROSTER)!r}, "--district", "示例区"])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "示例区" in _districts(db)                       # committed before the kill
    assert snapshot.snapshot_stale(db)
    if where == "publish":
        assert [p for p in db.parent.iterdir() if p.name.endswith(".tmp")]
    res = eqm(db, *READERS["stats"])
    assert res.exit_code == 0, res.output
    assert "republishing" in res.stderr
    assert not snapshot.snapshot_stale(db)
    with Warehouse(snapshot.snapshot_path(db), read_only=True) as snap:
        assert "示例区" in snap.df("SELECT name FROM districts")["name"].tolist()
        assert not summaries_stale(snap)
    assert [p for p in db.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_serve_start_republishes_a_stale_snapshot(db, monkeypatch):
    from dashboards.app import prepare_warehouse

    snapshot.publish(db)
    with monkeypatch.context() as m:
        m.setattr(snapshot, "publish", lambda *a, **k: (_ for _ in ()).throw(
            OSError(errno.ENOSPC, "No space left on device")))
        res = eqm(db, "import", "roster", str(ROSTER), "--district", "示例区")
    assert res.exit_code == 3
    assert snapshot.snapshot_stale(db)
    prepare_warehouse(db, refresh=False, demo_users=False)
    assert not snapshot.snapshot_stale(db)
    with Warehouse(snapshot.snapshot_path(db), read_only=True) as snap:
        assert "示例区" in snap.df("SELECT name FROM districts")["name"].tolist()


@pytest.mark.parametrize("command", ["backup", "publish"])
def test_a_full_disk_in_backup_or_publish_is_said_in_words(tmp_path, db, monkeypatch, command):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    before = _sha(db)
    monkeypatch.setattr(snapshot, "_copy_bytes", disk_full)
    args = ["backup", str(tmp_path / "x.duckdb")] if command == "backup" else ["publish"]
    res = eqm(db, *args)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert "No space left" in res.output and "the warehouse is unchanged" in res.output
    assert _sha(db) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize("kind", ["import", "duckdb"])
def test_serve_start_on_a_busy_warehouse_serves_the_last_snapshot(db, kind, capsys):
    """`eqm serve` while an import (or a bare DuckDB writer) holds the file: the dashboard
    starts on the snapshot published last and says so, instead of failing."""
    from dashboards.app import prepare_warehouse

    snapshot.publish(db)
    with holding(db, kind):
        prepare_warehouse(db, refresh=False, demo_users=False)
    assert "serving the snapshot published last" in capsys.readouterr().out
