"""The writer's lock: one process at a time changes a warehouse file, the others wait for it.

DuckDB itself locks its file (one writing process, or any number of read-only ones), but only
while a connection is open, and it refuses at once rather than waiting. Changing the warehouse
is more than one connection, though: a restore swaps the file, a backup checkpoints and then
copies it. So every writer (:class:`~analytics.warehouse.Warehouse` opened for writing,
:func:`analytics.snapshot.restore`) first takes this lock, an exclusive lock on a small file
beside the warehouse (``<name>.duckdb.lock``), and holds it until it is done.

* Portable: ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows, behind :func:`_try_lock`.
  ``flock`` is not the POSIX record lock DuckDB uses, and it is on another file, so taking or
  dropping it never touches DuckDB's own lock.
* Re-entrant within a process (a count per file): DuckDB shares one database instance per path
  within a process, so two ``Warehouse`` objects of one process on one file are one writer.
* The lock file is never deleted (deleting a lock file races with its next user); it holds the
  pid of the last holder, for the message another process shows while it waits.

:class:`Waiter` is the one place that waits: for this lock and for DuckDB's (a reader that has
the file open read-only, a program that does not take this lock), saying once that it waits
and raising :class:`WarehouseBusy` (exit 2, plain words) when the time is up.
"""

from __future__ import annotations

import glob
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from analytics.errors import WarehouseBusy as WarehouseBusy  # defined with the error types

#: How long command-line writers wait for a busy warehouse by default (``eqm --wait``).
DEFAULT_WAIT = 60.0

_POLL_FIRST = 0.05   # seconds between attempts at first …
_POLL_MAX = 0.5      # … growing to this


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    """The writer's lock file of ``db_path``: ``<name>.duckdb.lock`` beside it."""
    p = Path(db_path)
    return p.with_name(p.name + ".lock")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        """Take the exclusive lock on ``fd`` without blocking; False when another holds it."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        """Take the exclusive lock on ``fd`` without blocking; False when another holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Waiter:
    """Waits for a busy warehouse until a deadline: says once that it waits, then raises
    :class:`WarehouseBusy`.

    Parameters
    ----------
    db_path : path
        The warehouse (named in the messages).
    wait : float
        Seconds to wait at most; 0 refuses at once.
    say : callable, optional
        Receives the one "waiting" message (the CLI prints it on stderr).
    """

    def __init__(self, db_path: str | os.PathLike[str], wait: float = 0.0,
                 say: Callable[[str], None] | None = None) -> None:
        self.db_path = str(db_path)
        self.wait = max(0.0, float(wait))
        self.say = say
        self.deadline = time.monotonic() + self.wait
        self._said = False
        self._pause = _POLL_FIRST

    def pause(self, holder: str | None = None, cause: BaseException | None = None) -> None:
        """Sleep before the next attempt, or raise :class:`WarehouseBusy` when time is up."""
        left = self.deadline - time.monotonic()
        who = f" ({holder})" if holder else ""
        if left <= 0:
            waited = (f"等待 {self.wait:g} 秒后仍被占用" if self.wait else "正被占用")
            waited_en = (f"still busy after waiting {self.wait:g} s" if self.wait
                         else "it is busy")
            raise WarehouseBusy(
                f"{self.db_path}: 数据库正被其他程序写入{who},{waited},未做任何更改。请稍后"
                f"重试,或用 `eqm --wait 秒数` 等待更久。 / The warehouse is locked by another "
                f"program writing it{who}; {waited_en}, and nothing was changed. Try again "
                f"later, or wait longer with `eqm --wait SECONDS`."
            ) from cause
        if not self._said and self.say is not None:
            self.say(f"数据库正被其他程序写入{who},等待中…(最多 {self.wait:g} 秒) / the "
                     f"warehouse is busy{who}, waiting… (up to {self.wait:g} s)")
        self._said = True
        time.sleep(min(self._pause, left))
        self._pause = min(self._pause * 2, _POLL_MAX)


_guard = threading.RLock()   # re-entrant: a collected Warehouse releases from __del__
_held: dict[str, list[int]] = {}   # lock file → [descriptor, holders in this process]


def _key(db_path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(lock_path(db_path)))


def _holder(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            pid = fh.read(32).strip()
    except OSError:  # Windows: the locked byte cannot be read
        return None
    return f"pid {pid}" if pid.isdigit() else None


def acquire(db_path: str | os.PathLike[str], waiter: Waiter | None = None) -> str:
    """Take the writer's lock of ``db_path`` (waiting as ``waiter`` says; by default not at
    all). Returns the key to pass to :func:`release`."""
    waiter = waiter or Waiter(db_path)
    key = _key(db_path)
    while True:
        with _guard:
            entry = _held.get(key)
            if entry is not None:       # this process holds it already
                entry[1] += 1
                return key
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o666)   # the umask applies
            except PermissionError:  # made by another user (a shared server): lock read-only
                fd = os.open(key, os.O_RDONLY)
            if _try_lock(fd):
                try:
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.write(fd, str(os.getpid()).encode("ascii"))
                except OSError:  # the pid is only for messages
                    pass
                _held[key] = [fd, 1]
                return key
            os.close(fd)
        waiter.pause(_holder(key))


def release(key: str) -> None:
    """Give back one hold of the lock taken by :func:`acquire`."""
    with _guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        fd = entry[0]
        try:
            _unlock(fd)
        finally:
            os.close(fd)


@contextmanager
def writer_lock(db_path: str | os.PathLike[str], *, wait: float = 0.0,
                say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer's lock of ``db_path`` for the ``with`` block (see :func:`acquire`)."""
    key = acquire(db_path, Waiter(db_path, wait, say))
    try:
        yield
    finally:
        release(key)


_DUCKDB_PID = re.compile(r"\(PID (\d+)\)")


def duckdb_lock_conflict(exc: BaseException) -> str | None:
    """For DuckDB's "Could not set lock on file" error: the holder (``"pid N"``, or ``""`` when
    not named); None for any other error."""
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    m = _DUCKDB_PID.search(text)
    return f"pid {m.group(1)}" if m else ""


# -- the server's mark: "this warehouse is being served" -------------------------------------------
def _serving_glob(db_path: str | os.PathLike[str]) -> tuple[Path, str]:
    p = Path(db_path)
    return p.parent, glob.escape(p.name) + ".serving-*.lock"


def serving_path(db_path: str | os.PathLike[str], pid: int | None = None) -> Path:
    """The mark of a process serving ``db_path``: ``<name>.duckdb.serving-<pid>.lock``."""
    p = Path(db_path)
    return p.with_name(f"{p.name}.serving-{os.getpid() if pid is None else pid}.lock")


@contextmanager
def serving(db_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Mark ``db_path`` as served by this process for the ``with`` block (``eqm serve``).

    The mark is an exclusive lock (:func:`_try_lock`, portable) on a file of its own per
    server process, so several servers may serve one warehouse, and a server that was killed
    leaves no mark that counts: the operating system drops its lock. :func:`servers` lists
    the live ones (``eqm demo`` refuses to replace a served warehouse).
    """
    path = serving_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    locked = _try_lock(fd)
    try:
        yield path
    finally:
        if locked:
            _unlock(fd)
        os.close(fd)
        with suppress(OSError):
            path.unlink()


def servers(db_path: str | os.PathLike[str]) -> list[int]:
    """The process ids of the servers serving ``db_path`` now (their marks are locked); marks
    left by servers that ended are removed on the way."""
    directory, pattern = _serving_glob(db_path)
    live = []
    for mark in sorted(directory.glob(pattern)):
        tail = mark.name.rsplit("-", 1)[-1].removesuffix(".lock")
        pid = int(tail) if tail.isdigit() else -1
        try:
            fd = os.open(mark, os.O_RDWR)
        except FileNotFoundError:   # removed meanwhile: its server ended
            continue
        except OSError:             # cannot even open it: count it as held
            live.append(pid)
            continue
        try:
            free = _try_lock(fd)
            if free:
                _unlock(fd)
        finally:
            os.close(fd)
        if free:
            with suppress(OSError):
                mark.unlink()
        else:
            live.append(pid)
    return live
