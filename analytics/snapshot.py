"""Published read-only snapshots, backups and restores of the warehouse file.

DuckDB allows one writing process per file. To let the dashboard keep serving while an import
or a recompute runs, readers never open the writer's file: they open a *snapshot*, a complete
copy that the writer publishes after each successful change and swaps in atomically with
:func:`os.replace` (a rename within one directory is atomic on POSIX). A reader that already has
the old snapshot open keeps reading it (the old inode lives until closed); the next open sees
the new one. Backups use the same copy: checkpoint, copy to a temporary name, fsync, rename.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from analytics.errors import EqmError, InputError
from analytics.warehouse import SCHEMA_VERSION, Warehouse, WarehouseBusy, writer_lock


def snapshot_path(db_path: str | Path) -> Path:
    """Where the published snapshot of ``db_path`` lives: ``<name>.snapshot.duckdb`` beside it."""
    p = Path(db_path)
    return p.with_name(p.stem + ".snapshot" + p.suffix)


def _copy_bytes(src: Path, dest: str | Path) -> None:
    """Copy the bytes of ``src`` to ``dest``.

    On POSIX by a child process (``cp``): DuckDB guards its file with a POSIX ``fcntl`` lock,
    and POSIX drops every such lock a process holds on a file as soon as that process closes
    *any* descriptor of the file, so copying in-process would silently release the writer's
    lock. Windows locks per handle (no such trap, and no ``cp``): copied in-process there.
    """
    if os.name == "nt":
        shutil.copyfile(src, dest)
    else:
        subprocess.run(["cp", "--", str(src), str(dest)], check=True, capture_output=True)


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync there; NTFS journals renames
        return
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _temp_beside(dest: Path, tag: str = "") -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + dest.name + "." + tag, suffix=".tmp",
                               dir=dest.parent)
    os.close(fd)
    return Path(tmp)


def _copy_atomic(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary file beside it, fsync and an atomic
    rename (:func:`os.replace`): ``dest`` is either the old file or the complete copy."""
    tmp = _temp_beside(dest)
    try:
        _copy_bytes(src, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_leftovers(dest: Path) -> None:
    """Delete the temporary copies of ``dest`` that a killed publish left behind. Called while
    holding the writer's lock, which every publisher of ``dest`` holds, so none is in use."""
    for left in dest.parent.glob("." + dest.name + ".*.tmp"):
        with suppress(OSError):
            left.unlink()


def _checkpointed_copy(wh_or_path: Warehouse | str | Path, dest: Path, *, wait: float = 0.0,
                       say: Callable[[str], None] | None = None) -> Path:
    if isinstance(wh_or_path, Warehouse):
        wh_or_path.execute("CHECKPOINT")
        src = Path(wh_or_path.path)
        _copy_atomic(src, dest)
    else:
        src = Path(wh_or_path)
        with Warehouse(src, migrate=False, wait=wait, on_wait=say) as wh:
            wh.execute("CHECKPOINT")
            _copy_atomic(src, dest)
    return dest


def publish(wh_or_path: Warehouse | str | Path, *, wait: float = 0.0,
            say: Callable[[str], None] | None = None) -> Path:
    """Publish a read-only snapshot of the warehouse for readers (the dashboard).

    Call it from the writing process after a successful import or recompute. Given a path, it
    opens the warehouse for writing (the checkpoint), waiting up to ``wait`` seconds for a busy
    one (:class:`~analytics.warehouse.WarehouseBusy` after that).

    Returns
    -------
    Path
        The snapshot's path (:func:`snapshot_path`).
    """
    src = wh_or_path.path if isinstance(wh_or_path, Warehouse) else wh_or_path
    dest = snapshot_path(src)
    if isinstance(wh_or_path, Warehouse):
        _remove_leftovers(dest)
        return _checkpointed_copy(wh_or_path, dest)
    with Warehouse(src, migrate=False, wait=wait, on_wait=say) as wh:
        _remove_leftovers(dest)
        return _checkpointed_copy(wh, dest)


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
        except WarehouseBusy:  # the writer's file is locked by an import: use the last one
            if not snap.exists():
                raise
    return Warehouse(snap, read_only=True)


class PublishFailed(EqmError):
    """A change was committed, but refreshing the summaries or publishing the snapshot after
    it failed (a full disk, …). The data are saved; the next ``eqm`` command or ``eqm serve``
    republishes (:func:`republish_if_stale`). Exit code 3."""

    exit_code = 3


def publish_if_served(wh: Warehouse, say: Callable[[str], None] | None = None) -> Path | None:
    """After a change by a command-line writer: when a dashboard reads this warehouse (a snapshot
    has been published), refresh stale summary tables and publish a new snapshot, so that the
    running dashboard shows the change on its next click. Returns the snapshot path, or None
    when nothing reads a snapshot of this warehouse.

    Raises
    ------
    PublishFailed
        When the refresh or the publish fails: the change itself is committed (saved) already,
        and the message says so; the next command republishes the stale snapshot.
    """
    if wh.path == ":memory:" or not snapshot_path(wh.path).exists():
        return None
    from analytics import summaries

    try:
        if summaries.summaries_stale(wh):
            if say is not None:
                say("刷新汇总表 / refreshing the summary tables")
            summaries.refresh_summaries(wh)
        if say is not None:
            say("发布快照供仪表盘读取 / publishing the snapshot the dashboard reads")
        return publish(wh)
    except Exception as exc:
        raise PublishFailed(
            f"数据已保存,但刷新汇总表或发布仪表盘快照失败({type(exc).__name__}: {exc}),仪表盘"
            f"暂时仍显示旧数据;下一个 eqm 命令或 `eqm serve` 启动时会自动重新发布。 / The data "
            f"are saved, but refreshing the summaries or publishing the dashboard's snapshot "
            f"failed ({type(exc).__name__}: {exc}), so the dashboard still shows the old data; "
            f"the next eqm command, or `eqm serve` when it starts, republishes it."
        ) from exc


def republish_if_stale(db_path: str | Path, say: Callable[[str], None] | None = None
                       ) -> Path | None:
    """Bring a stale published snapshot up to date (summaries refreshed, snapshot published),
    e.g. after a writer that committed was killed, or failed, before publishing. Does nothing
    when no snapshot is published (nothing reads one), when it is current, or when another
    process is writing the warehouse (that writer publishes when it is done).

    Returns
    -------
    Path or None
        The snapshot's path when it was republished, else None.
    """
    db = Path(db_path)
    if not db.is_file() or not snapshot_path(db).exists() or not snapshot_stale(db):
        return None
    try:
        wh = Warehouse(db, migrate=False)
    except WarehouseBusy:
        return None
    with wh:
        if say is not None:
            say("仪表盘快照已过期,重新发布 / the dashboard's snapshot is out of date: "
                "republishing it")
        return publish_if_served(wh, say)


def open_reader(db_path: str | Path, *, wait: float = 0.0,
                say: Callable[[str], None] | None = None) -> Warehouse:
    """Open the warehouse for reading, also while another process writes it.

    DuckDB cannot open a file read-only while another process has it open for writing. Then
    the latest published snapshot is read instead (saying so, with its time); without a
    snapshot, the open waits up to ``wait`` seconds for the writer
    (:class:`~analytics.warehouse.WarehouseBusy` after that).

    Returns
    -------
    Warehouse
        Read-only: the warehouse itself, or its published snapshot.
    """
    try:
        return Warehouse(db_path, read_only=True)
    except WarehouseBusy:
        snap = snapshot_path(db_path)
        if not snap.exists():
            return Warehouse(db_path, read_only=True, wait=wait, on_wait=say)
    when = dt.datetime.fromtimestamp(snap.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    if say is not None:
        say(f"数据库正被其他程序写入,读取 {when} 发布的快照(不含正在写入的更改) / the warehouse "
            f"is being written by another program: reading the snapshot published at {when} "
            f"(without the changes being written)")
    return Warehouse(snap, read_only=True)


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
            except WarehouseBusy as exc:  # held by an import or a recompute in another process
                raise InputError(
                    "正在导入或重算数据,暂时不能保存,请稍后再试 / the warehouse is being "
                    "written by another process (an import or a recompute); try again shortly"
                ) from exc
            with writer:
                yield writer
                publish(writer)
            self.current()

    def close(self) -> None:
        """Close the warehouse currently open on the snapshot."""
        with self._lock:
            self._wh.close()


def _sha256(path: Path) -> str:
    # Only ever called on a backup or on a private copy, never on a file DuckDB holds open in
    # this process (see _copy_bytes).
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum_path(backup_file: str | Path) -> Path:
    """Where :func:`backup` records the sha256 of a backup: ``FILE.sha256`` beside it, in the
    format of ``sha256sum`` (``sha256sum -c FILE.sha256`` checks it too)."""
    p = Path(backup_file)
    return p.with_name(p.name + ".sha256")


def _read_checksum(backup_file: Path) -> str | None:
    side = checksum_path(backup_file)
    if not side.exists():
        return None
    try:
        text = side.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{side}: 无法读取校验文件 / cannot read the checksum file ({exc})"
                         ) from exc
    digest = text.split()[0].lower() if text else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputError(
            f"{side}: 校验文件格式不对(应为 sha256sum 的输出:64 位十六进制摘要 + 文件名),未恢复"
            f"任何数据 / the checksum file is not in sha256sum's format (a 64-digit hex digest "
            f"and the file name); nothing was restored")
    return digest


def backup(db_path: str | Path, dest: str | Path, *, wait: float = 0.0,
           say: Callable[[str], None] | None = None) -> dict[str, object]:
    """Write a consistent copy of the warehouse to ``dest``, and its sha256 to
    ``dest.sha256`` (:func:`checksum_path`), which :func:`restore` checks.

    Takes the writer's lock for the checkpoint and the copy, waiting up to ``wait`` seconds
    while another process writes (:class:`~analytics.warehouse.WarehouseBusy` after that).

    Returns
    -------
    dict
        ``path`` (of the copy), ``bytes`` (its size), ``sha256`` (its hex digest),
        ``checksum_file`` (where the digest is recorded).
    """
    src = Path(db_path)
    if not src.exists():
        raise InputError(f"找不到数据库文件 {src} / no warehouse at {src}")
    out = Path(dest)
    if out.resolve() in {src.resolve(), snapshot_path(src).resolve()}:
        raise InputError(f"{out}: 备份不能覆盖数据库本身 / a backup cannot overwrite the "
                         f"warehouse itself or its snapshot")
    _checkpointed_copy(src, out, wait=wait, say=say)
    digest = _sha256(out)
    side = checksum_path(out)
    tmp = _temp_beside(side)
    try:
        tmp.write_text(f"{digest}  {out.name}\n", encoding="utf-8")
        os.replace(tmp, side)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"path": str(out), "bytes": out.stat().st_size, "sha256": digest,
            "checksum_file": str(side)}


#: DuckDB's file header: three 4 KiB headers before the first block (storage format ≥ 1.0).
_DUCKDB_HEADER_BYTES = 3 * 4096


def _damaged(src: Path, why_zh: str, why_en: str) -> InputError:
    return InputError(
        f"{src}: 备份文件不完整或已损坏(可能被截断或复制未完成):{why_zh}。未恢复任何数据,现有"
        f"数据库原样未动。 / The backup is incomplete or damaged (truncated, or an unfinished "
        f"copy): {why_en}. Nothing was restored; the current warehouse is untouched.")


def _verify_copy(copy: Path, src: Path) -> int:
    """Check a private copy of a backup completely: it opens as a DuckDB file, its blocks all
    lie within the file, its schema version is one this program knows, and every row of every
    table reads (each block's checksum is verified on the way). Returns the schema version;
    raises :class:`InputError` naming the first problem."""
    try:
        probe = Warehouse(copy, read_only=True, migrate=False)
    except Exception as exc:  # not a DuckDB file, or its header is damaged
        raise InputError(
            f"{src}: 不是有效的数据库备份,未恢复任何数据 / not a valid warehouse backup; nothing "
            f"was restored ({type(exc).__name__}: {exc})") from exc
    with probe:
        try:
            row = probe.df("SELECT block_size, total_blocks FROM pragma_database_size()")
            need = _DUCKDB_HEADER_BYTES + int(row["block_size"].iloc[0]) * int(
                row["total_blocks"].iloc[0])
            size = copy.stat().st_size
            if size < need:
                raise _damaged(src, f"文件只有 {size} 字节,其数据块需要 {need} 字节",
                               f"the file has {size} bytes where its blocks need {need}")
            version = probe.schema_version()
            if version == 0 or version > SCHEMA_VERSION:
                raise InputError(
                    f"{src}: 备份的结构版本 {version} 不受支持 (当前 {SCHEMA_VERSION}),未恢复任何"
                    f"数据 / backup schema version {version} is not supported (this program: "
                    f"{SCHEMA_VERSION}); nothing was restored")
            tables = probe.df(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name")["table_name"].tolist()
        except InputError:
            raise
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise _damaged(src, why, why) from exc
        for table in tables:
            # every column of every row: hash() cannot be answered from the block statistics
            ident = '"' + str(table).replace('"', '""') + '"'
            try:
                probe.scalar(f"SELECT count(*), max(hash(COLUMNS(*))) FROM {ident}")
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
                raise _damaged(src, f"表 {table} 读不出({why})",
                               f"table {table} does not read ({why})") from exc
    return version


def restore(backup_file: str | Path, db_path: str | Path, *, wait: float = 0.0,
            say: Callable[[str], None] | None = None) -> dict[str, object]:
    """Replace the warehouse with ``backup_file``, after checking the backup completely.

    1. The backup is copied to a private file beside the warehouse, and only that copy is
       checked and installed (what was checked is what is installed).
    2. Its sha256 is compared with the one :func:`backup` recorded (``FILE.sha256``), when
       there is one.
    3. The copy is opened read-only: its schema version must be one this program knows, its
       blocks must lie within the file, and every row of every table must read.
    4. A backup from an older schema is upgraded on the copy.
    5. With the writer's lock held (waiting up to ``wait`` seconds for an import or another
       writer to finish; :class:`~analytics.warehouse.WarehouseBusy` after that), the current
       warehouse is checkpointed and kept beside it as ``<name>.before-restore.duckdb``, and
       the copy is swapped in with :func:`os.replace` (atomic). A published snapshot is
       republished.

    Any doubt raises :class:`InputError` (exit 2) before step 5; the current warehouse is then
    untouched, byte for byte.

    Returns
    -------
    dict
        ``path`` (the restored warehouse), ``schema_version`` (of the backup), ``previous``
        (where the replaced warehouse was kept, or None when there was none), ``checksum``
        (``"ok"`` when the recorded sha256 matched, ``"none"`` when there was none).
    """
    src = Path(backup_file)
    dest = Path(db_path)
    if not src.is_file():
        raise InputError(f"找不到备份文件 {src} / backup file {src} not found")
    if dest.exists() and src.resolve() == dest.resolve():
        raise InputError(f"{src}: 这就是数据库本身,不是备份 / this is the warehouse itself, "
                         f"not a backup")
    expected = _read_checksum(src)
    copy = _temp_beside(dest, "restore-")
    copy_wal = copy.with_name(copy.name + ".wal")
    try:
        _copy_bytes(src, copy)
        if expected is not None:
            actual = _sha256(copy)
            if actual != expected:
                raise InputError(
                    f"{src}: sha256 与备份时记录的不符(记录 {expected},实际 {actual}),备份已"
                    f"损坏或被改动,未恢复任何数据 / its sha256 does not match the one recorded "
                    f"when it was made ({checksum_path(src).name}: {expected}, the file: "
                    f"{actual}): the backup is damaged or was changed; nothing was restored")
        version = _verify_copy(copy, src)
        if version < SCHEMA_VERSION:
            try:
                with Warehouse(copy, migrate=False, writer_lock=False) as up:
                    up.migrate()
                    up.execute("CHECKPOINT")
            except Exception as exc:
                raise InputError(
                    f"{src}: 无法把备份从结构版本 {version} 升级到 {SCHEMA_VERSION},未恢复任何数据 "
                    f"/ the backup cannot be upgraded from schema version {version} to "
                    f"{SCHEMA_VERSION}; nothing was restored ({type(exc).__name__}: {exc})"
                ) from exc
        with open(copy, "rb+") as fh:
            os.fsync(fh.fileno())
        with suppress(OSError):  # the permissions of the file it replaces, or the default
            if dest.exists():
                shutil.copymode(dest, copy)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(copy, 0o666 & ~umask)
        with writer_lock(dest, wait=wait, say=say):
            kept = _keep_current(dest, wait=wait, say=say)
            os.replace(copy, dest)
            with suppress(OSError):  # swapped in already: what follows must not say otherwise
                _fsync_dir(dest.parent)
            if snapshot_path(dest).exists():  # a dashboard reads it: give it the restored data
                with Warehouse(dest, migrate=False) as wh:
                    publish_if_served(wh, say)
    finally:
        copy.unlink(missing_ok=True)
        copy_wal.unlink(missing_ok=True)
    return {"path": str(dest), "schema_version": version,
            "previous": str(kept) if kept else None,
            "checksum": "ok" if expected is not None else "none"}


def _keep_current(dest: Path, *, wait: float, say: Callable[[str], None] | None) -> Path | None:
    """Keep the current warehouse as ``<name>.before-restore.duckdb`` (checkpointed, so that
    the copy holds every committed change), called with the writer's lock held. Opening it for
    the checkpoint also waits out any other process that has it open (a reader)."""
    if not dest.exists():
        return None
    kept = dest.with_name(dest.stem + ".before-restore" + dest.suffix)
    wal = dest.with_name(dest.name + ".wal")
    try:
        _checkpointed_copy(dest, kept, wait=wait, say=say)
    except WarehouseBusy:
        raise
    except Exception:  # the current file does not open (why one restores): keep it as it is
        _copy_atomic(dest, kept)
        if wal.exists():
            _copy_atomic(wal, kept.with_name(kept.name + ".wal"))
    wal.unlink(missing_ok=True)  # after the checkpoint it holds nothing; never replay it
    return kept
