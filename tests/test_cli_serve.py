"""Issue 15, items 3, 7 and 8: `eqm serve` on waitress (threads, a trusted proxy's
X-Forwarded-Proto making the session cookies Secure, no development-server warning), the
served mark that keeps `eqm demo` from replacing a served warehouse, `eqm demo`'s refusal to
delete anything but a demo, and the writer's lock on its Windows branch (simulated)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

import analytics.warehouse.lock as lock_mod
from analytics.users import add_user
from analytics.warehouse import Warehouse
from analytics.warehouse.lock import servers, serving, serving_path
from eqm.cli import cli
from tests.builders import build_exam

SECRET = "s" * 64


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "w.duckdb"
    wh = Warehouse(path)
    build_exam(wh, n_schools=2, students_per_school=8, seed=4)
    add_user(wh, "officer", "password-123", "officer")
    wh.close()
    return path


# -- 3. waitress, threads, the trusted proxy and the Secure flag -------------------------------
@pytest.fixture(scope="module")
def app(db: Path) -> Iterator[Any]:
    from dashboards.app import create_app

    app = create_app(db, secret_key=SECRET)
    yield app
    app.server.config["EQM_SERVICE"].close()


def _running(wsgi: Any, **kwargs: Any) -> tuple[Any, str]:
    from dashboards.app import wsgi_server

    server = wsgi_server(wsgi, host="127.0.0.1", port=0, **kwargs)
    threading.Thread(target=server.run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def _cookies(resp: requests.Response) -> list[str]:
    return [v for k, v in resp.raw.headers.items() if k.lower() == "set-cookie"]


def test_waitress_believes_x_forwarded_proto_from_the_trusted_proxy_only(app: Any) -> None:
    from waitress.server import BaseWSGIServer

    trusted, base = _running(app.server, threads=3, trusted_proxy="127.0.0.1")
    untrusted, base2 = _running(app.server, threads=2)
    elsewhere, base3 = _running(app.server, trusted_proxy="10.9.9.9")
    try:
        assert isinstance(trusted, BaseWSGIServer) and trusted.adj.threads == 3
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        r = requests.get(f"{base}/login", headers=https, timeout=30)
        assert r.status_code == 200 and r.headers["Server"] == "eqm"
        cookies = _cookies(r)
        assert cookies and all("Secure" in c for c in cookies), cookies
        plain = requests.get(f"{base}/login", timeout=30)
        assert plain.status_code == 200 and not any("Secure" in c for c in _cookies(plain))
        for other in (base2, base3):   # the same headers from a client that is not the proxy
            r = requests.get(f"{other}/login", headers=https, timeout=30)
            assert r.status_code == 200 and not any("Secure" in c for c in _cookies(r))
    finally:
        for s in (trusted, untrusted, elsewhere):
            s.close()


def test_eqm_serve_runs_waitress_marks_the_warehouse_served_and_demo_refuses(db: Path,
                                                                            tmp_path: Path
                                                                            ) -> None:
    env = dict(os.environ, EQM_SECRET_KEY=SECRET, PYTHONPATH=str(Path(__file__).parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "eqm", "--db", str(db), "serve", "--port",
                             "0", "--threads", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            url = m.group(1) if m else None
        assert url, "".join(lines)
        assert "waitress, 2 threads" in "".join(lines)
        assert requests.get(f"{url}/login", timeout=30).status_code == 200
        assert servers(db) == [proc.pid]
        r = CliRunner().invoke(cli, ["--db", str(db), "demo", "--no-serve", "--force",
                                     "--students", "100", "--out-dir", str(tmp_path / "f")])
        assert r.exit_code == 2 and f"pid {proc.pid}" in r.output and "eqm serve" in r.output
        assert db.exists()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    text = "".join(lines) + out
    assert "development server" not in text and "WARNING" not in text, text
    assert servers(db) == []        # a server that ended leaves no mark that counts


# -- 7. the served mark and eqm demo's refusals ---------------------------------------------------
def test_serving_marks_and_stale_marks(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    assert servers(db) == []
    with serving(db) as mark:
        assert mark == serving_path(db) and servers(db) == [os.getpid()]
        with serving(tmp_path / "other.duckdb"):
            assert servers(db) == [os.getpid()]
    assert servers(db) == [] and not mark.exists()
    stale = serving_path(db, 999999)
    stale.write_text("")          # a server killed before it could remove its mark
    assert servers(db) == [] and not stale.exists()


def _demo(db: Path, tmp_path: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["--db", str(db), "demo", "--no-serve", "--quiet",
                                    "--students", "100", "--subjects", "数学", "--grades", "9",
                                    "--out-dir", str(tmp_path / "files"), *extra])


def test_demo_refuses_to_replace_a_warehouse_that_is_not_a_demo(db: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:
    built: list[Path] = []

    def fake_build(path: Any, **kwargs: Any) -> dict[str, Any]:
        built.append(Path(path))
        return {k: 0 for k in ("students", "schools", "classes", "papers", "items",
                               "responses", "survey_answers", "truths", "files",
                               "seconds_generate", "seconds_write", "seconds_import",
                               "seconds_total")} | {"out_dir": "x"}

    monkeypatch.setattr("analytics.demo.build_demo", fake_build)
    before = db.read_bytes()
    r = _demo(db, tmp_path)
    assert r.exit_code == 2, r.output
    assert "--force" in r.output and "eqm demo" in r.output and "did not build" in r.output
    assert "officer" in r.output                       # the account it would delete
    assert db.read_bytes() == before and not built     # nothing changed
    with serving(db):
        r = _demo(db, tmp_path, "--force")                 # never while served, --force or not
    assert r.exit_code == 2 and "being served" in r.output and not built
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(before)
    r = _demo(copy, tmp_path, "--force")
    assert r.exit_code == 0, r.output
    assert built == [copy] and not copy.exists()       # deleted, then (fake) rebuilt


def test_demo_replaces_a_demo_but_not_one_with_own_accounts_or_imports(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert _demo(db, tmp_path).exit_code == 0
    from dashboards.app import prepare_warehouse

    prepare_warehouse(db)     # as when it was served: demo accounts, archived papers, snapshot
    r = _demo(db, tmp_path)                          # a demo over a demo: fine
    assert r.exit_code == 0, r.output
    with Warehouse(db) as wh:
        add_user(wh, "xiaozhang1", "password-123", "officer")   # a demo account name
    assert _demo(db, tmp_path).exit_code == 0
    with Warehouse(db) as wh:
        add_user(wh, "王老师", "password-123", "officer")
    r = _demo(db, tmp_path)
    assert r.exit_code == 2 and "王老师" in r.output
    assert _demo(db, tmp_path, "--force").exit_code == 0
    from analytics.importers import import_roster

    with Warehouse(db) as wh:
        import_roster(wh, Path(__file__).parents[1] / "data" / "samples" / "roster.csv")
    r = _demo(db, tmp_path)
    assert r.exit_code == 2 and "roster.csv" in r.output


# -- 8. the writer's lock on Windows (msvcrt simulated with flock) --------------------------------
class _FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` semantics on POSIX: LK_NBLCK fails at once with OSError when another
    descriptor holds the lock (as Windows' byte-range lock does), LK_UNLCK releases it."""

    LK_NBLCK = 2
    LK_UNLCK = 0

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.calls: list[tuple[int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        import fcntl

        assert nbytes == 1 and os.lseek(fd, 0, os.SEEK_CUR) == 0
        self.calls.append((fd, mode))
        if mode == self.LK_NBLCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise PermissionError(13, "Permission denied") from exc
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)


@pytest.fixture
def windows_lock(monkeypatch) -> Iterator[tuple[Any, _FakeMsvcrt]]:
    """analytics/warehouse/lock.py loaded afresh as if on Windows (a separate module object:
    the real one, in use by the other tests, is left alone)."""
    if sys.platform == "win32":
        pytest.skip("on Windows the real branch runs everywhere")
    fake = _FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(sys, "platform", "win32")
    spec = importlib.util.spec_from_file_location("lock_on_windows", lock_mod.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "platform", "linux")
    yield module, fake


def test_the_windows_branch_of_the_writers_lock(windows_lock, tmp_path: Path) -> None:
    win, fake = windows_lock
    assert not hasattr(win, "fcntl") and win._try_lock.__module__ == "lock_on_windows"
    db = tmp_path / "w.duckdb"
    key = win.acquire(db)
    assert fake.calls and fake.calls[-1][1] == fake.LK_NBLCK
    assert win.acquire(db) == key                      # re-entrant within the process
    other = os.open(win.lock_path(db), os.O_RDWR)
    try:
        assert not win._try_lock(other)                # another holder is refused at once
        win.release(key)
        assert not win._try_lock(other)                # still held once
        win.release(key)
        assert fake.calls[-1][1] == fake.LK_UNLCK
        assert win._try_lock(other)                    # free now
        win._unlock(other)
    finally:
        os.close(other)
    holder = os.open(win.lock_path(db), os.O_RDWR)     # "another process" holds it
    try:
        assert win._try_lock(holder)
        with pytest.raises(win.WarehouseBusy, match="locked by another program"):
            win.acquire(db, win.Waiter(db, 0.0))
        win._unlock(holder)
    finally:
        os.close(holder)
    with win.serving(db):
        assert win.servers(db) == [os.getpid()]
    assert win.servers(db) == []


def test_the_secret_file_is_made_without_fchmod(tmp_path: Path, monkeypatch) -> None:
    """Windows before Python 3.13 has no ``os.fchmod``: the first ``eqm serve`` must still
    create its session secret (it raised AttributeError there)."""
    from dashboards import auth

    monkeypatch.delenv("EQM_SECRET_KEY", raising=False)
    monkeypatch.delattr(os, "fchmod", raising=False)
    secret = tmp_path / "sub" / ".eqm_secret"
    key = auth.load_secret_key(None, secret_file=secret)
    assert len(key) == 64 and secret.read_text(encoding="utf-8").strip() == key
    assert auth.load_secret_key(None, secret_file=secret) == key
