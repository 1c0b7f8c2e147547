"""Published read-only snapshots, backups and restores of the warehouse file.

DuckDB allows one writing process per file. To let the dashboard keep serving while an import
or a recompute runs, readers never open the writer's file: they open a *snapshot*, a complete
copy that the writer publishes after each successful change and swaps in atomically with
:func:`os.replace` (a rename within one directory is atomic on POSIX). A reader that already has
the old snapshot open keeps reading it (the old inode lives until closed); the next open sees
the new one. Backups use the same copy: checkpoint, copy to a temporary name, fsync, rename.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.errors import InputError
from analytics.warehouse import SCHEMA_VERSION, Warehouse


def snapshot_path(db_path: str | Path) -> Path:
    """Where the published snapshot of ``db_path`` lives: ``<name>.snapshot.duckdb`` beside it."""
    p = Path(db_path)
    return p.with_name(p.stem + ".snapshot" + p.suffix)


def _copy_atomic(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary file and an atomic rename.

    The bytes are copied by a child process (``cp``): DuckDB guards its file with a POSIX
    ``fcntl`` lock, and POSIX drops every such lock a process holds on a file as soon as that
    process closes *any* descriptor of the file, so copying in-process would silently release
    the writer's lock.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + dest.name + ".", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        subprocess.run(["cp", "--", str(src), tmp], check=True, capture_output=True)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        dir_fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _checkpointed_copy(wh_or_path: Warehouse | str | Path, dest: Path) -> Path:
    if isinstance(wh_or_path, Warehouse):
        wh_or_path.execute("CHECKPOINT")
        src = Path(wh_or_path.path)
        _copy_atomic(src, dest)
    else:
        src = Path(wh_or_path)
        with Warehouse(src, migrate=False) as wh:
            wh.execute("CHECKPOINT")
            _copy_atomic(src, dest)
    return dest


def publish(wh_or_path: Warehouse | str | Path) -> Path:
    """Publish a read-only snapshot of the warehouse for readers (the dashboard).

    Call it from the writing process after a successful import or recompute.

    Returns
    -------
    Path
        The snapshot's path (:func:`snapshot_path`).
    """
    src = wh_or_path.path if isinstance(wh_or_path, Warehouse) else wh_or_path
    return _checkpointed_copy(wh_or_path, snapshot_path(src))


def snapshot_stale(db_path: str | Path) -> bool:
    """True when there is no snapshot, or the warehouse file (or its write-ahead log) changed
    after the snapshot was published."""
    snap = snapshot_path(db_path)
    if not snap.exists():
        return True
    db = Path(db_path)
    wal = db.with_name(db.name + ".wal")
    changed = max((p.stat().st_mtime_ns for p in (db, wal) if p.exists()), default=0)
    return changed > snap.stat().st_mtime_ns


def open_snapshot(db_path: str | Path) -> Warehouse:
    """Open the latest published snapshot read-only, publishing one first when there is none or
    the warehouse changed since (unless another process is writing it: then the last one).

    Returns
    -------
    Warehouse
        The snapshot, opened read-only.
    """
    snap = snapshot_path(db_path)
    if not Path(db_path).exists():
        raise FileNotFoundError(
            f"找不到数据库文件 {db_path}。请先运行 `eqm init` 或 `eqm demo`。"
            f" / Warehouse file {db_path} does not exist; run `eqm init` or `eqm demo` first."
        )
    if snapshot_stale(db_path):
        try:
            publish(db_path)
        except Exception as exc:  # the writer's file is locked by an import: use the last one
            if "lock" not in str(exc).lower() or not snap.exists():
                raise
    return Warehouse(snap, read_only=True)


def publish_if_served(wh: Warehouse, say: Callable[[str], None] | None = None) -> Path | None:
    """After a change by a command-line writer: when a dashboard reads this warehouse (a snapshot
    has been published), refresh stale summary tables and publish a new snapshot, so that the
    running dashboard shows the change on its next click. Returns the snapshot path, or None
    when nothing reads a snapshot of this warehouse."""
    if wh.path == ":memory:" or not snapshot_path(wh.path).exists():
        return None
    from analytics import summaries

    if summaries.summaries_stale(wh):
        if say is not None:
            say("刷新汇总表 / refreshing the summary tables")
        summaries.refresh_summaries(wh)
    if say is not None:
        say("发布快照供仪表盘读取 / publishing the snapshot the dashboard reads")
    return publish(wh)


class SnapshotReader:
    """The published snapshot of a warehouse for a long-running reader (the dashboard server).

    :meth:`current` returns a read-only :class:`Warehouse` on the latest published snapshot and
    reopens it when a writer (``eqm import``, ``eqm publish``, :meth:`write`) has swapped in a
    new one since the last call, calling ``on_change`` (the reader's cache must be dropped then).
    The check is one ``stat`` of the snapshot path. Queries never wait for an import: the writer
    holds its own file, readers hold a copy.

    :meth:`write` is for the reader's rare own writes (a committee note): it opens the writer's
    file for the duration of ``fn``, publishes a new snapshot and switches to it. While another
    process writes (an import runs) the file is locked and :meth:`write` raises
    :class:`~analytics.errors.InputError` with a plain message; reading goes on.

    Parameters
    ----------
    db_path : path
        The warehouse file (the writer's); the snapshot lives beside it (:func:`snapshot_path`).
    on_change : callable, optional
        Called (without arguments) after a newer snapshot was opened.
    """

    def __init__(self, db_path: str | Path, on_change: Callable[[], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.path = snapshot_path(self.db_path)
        self.on_change = on_change
        self._lock = threading.RLock()
        self._wh = open_snapshot(self.db_path)
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:  # mid-swap or removed: keep the open one
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> Warehouse:
        """The read-only warehouse on the latest published snapshot."""
        with self._lock:
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                # Close first: DuckDB shares one database instance per path within a process,
                # so a connect while the old one is open would return the old file's instance.
                self._wh.close()
                self._wh = Warehouse(self.path, read_only=True)
                self._stamp = stamp
                if self.on_change is not None:
                    self.on_change()
            return self._wh

    @contextmanager
    def write(self) -> Iterator[Warehouse]:
        """Open the writer's file, yield it, publish a new snapshot and switch to it."""
        with self._lock:
            try:
                writer = Warehouse(self.db_path)
            except Exception as exc:  # held by an import or a recompute in another process
                if "lock" not in str(exc).lower():
                    raise
                raise InputError(
                    "正在导入或重算数据,暂时不能保存,请稍后再试 / the warehouse is being "
                    "written by another process (an import or a recompute); try again shortly"
                ) from exc
            with writer:
                yield writer
                publish(writer)
            self.current()

    def close(self) -> None:
        with self._lock:
            self._wh.close()


def _sha256(path: Path) -> str:
    # Only ever called on a backup copy, never on a file DuckDB holds open (see _copy_atomic).
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup(db_path: str | Path, dest: str | Path) -> dict[str, object]:
    """Write a consistent copy of the warehouse to ``dest``.

    Returns
    -------
    dict
        ``path`` (of the copy), ``bytes`` (its size), ``sha256`` (its hex digest).
    """
    src = Path(db_path)
    if not src.exists():
        raise InputError(f"找不到数据库文件 {src} / no warehouse at {src}")
    out = _checkpointed_copy(src, Path(dest))
    return {"path": str(out), "bytes": out.stat().st_size, "sha256": _sha256(out)}


def restore(backup_file: str | Path, db_path: str | Path) -> dict[str, object]:
    """Replace the warehouse with ``backup_file`` after checking that it is a warehouse.

    The check opens the backup read-only and reads its schema version; a file that is not a
    DuckDB warehouse, or is from a newer schema, is refused and nothing changes. The current
    warehouse is kept beside it as ``<name>.before-restore.duckdb``.

    Returns
    -------
    dict
        ``path`` (the restored warehouse), ``schema_version`` (of the backup), ``previous``
        (where the replaced warehouse was kept, or None when there was none).
    """
    src = Path(backup_file)
    if not src.exists():
        raise InputError(f"找不到备份文件 {src} / backup file {src} not found")
    try:
        with Warehouse(src, read_only=True, migrate=False) as probe:
            version = probe.schema_version()
    except Exception as exc:  # not a DuckDB file, or corrupt
        raise InputError(
            f"{src}: 不是有效的数据库备份 / not a valid warehouse backup ({exc})"
        ) from exc
    if version == 0 or version > SCHEMA_VERSION:
        raise InputError(
            f"{src}: 备份的结构版本 {version} 不受支持 (当前 {SCHEMA_VERSION}) / "
            f"backup schema version {version} is not supported (this program: {SCHEMA_VERSION})"
        )
    dest = Path(db_path)
    kept = None
    if dest.exists():
        kept = dest.with_name(dest.stem + ".before-restore" + dest.suffix)
        _copy_atomic(dest, kept)
    _copy_atomic(src, dest)
    wal = dest.with_name(dest.name + ".wal")
    wal.unlink(missing_ok=True)
    with Warehouse(dest) as wh:  # upgrade an older backup's schema
        wh.migrate()
    publish(dest)
    return {"path": str(dest), "schema_version": version, "previous": str(kept) if kept else None}
