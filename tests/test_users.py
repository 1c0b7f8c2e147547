"""The user store: hashes in a standard KDF format, roles, school scope, the CLI."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash, generate_password_hash

from analytics.errors import InputError, NotFoundError
from analytics.users import (
    add_user,
    authenticate,
    hash_password,
    list_users,
    remove_user,
    verify_password,
)
from tests.builders import build_exam

# Small scrypt cost for speed in the format tests (the stored default is N = 2**15).
FAST = {"n": 2**10, "r": 8, "p": 1}


def test_hash_is_werkzeug_compatible_both_ways() -> None:
    h = hash_password("correct horse", **FAST)
    assert h.startswith("scrypt:1024:8:1$")
    # Werkzeug (an independent implementation) accepts our hash …
    assert check_password_hash(h, "correct horse")
    assert not check_password_hash(h, "correct hors")
    # … and we accept Werkzeug's scrypt and pbkdf2 hashes.
    assert verify_password(generate_password_hash("pw", method="scrypt"), "pw")
    assert verify_password(generate_password_hash("pw", method="pbkdf2:sha256:1000"), "pw")
    assert not verify_password(generate_password_hash("pw", method="pbkdf2:sha256:1000"), "px")


def test_hash_matches_rfc7914_scrypt_by_hand() -> None:
    h = hash_password("abc", **FAST)
    _, salt, digest = h.split("$")
    ref = hashlib.scrypt(b"abc", salt=salt.encode(), n=1024, r=8, p=1, maxmem=132 * 1024 * 8)
    assert digest == ref.hex()
    assert hash_password("abc", **FAST) != h  # fresh salt each time


def test_garbage_hash_is_refused() -> None:
    assert not verify_password("plain-text-password", "plain-text-password")
    assert not verify_password("md5$x$y", "y")


def test_users_roles_and_scope(wh) -> None:
    build_exam(wh, n_schools=2, students_per_school=5)
    u = add_user(wh, "p1", "password1", "principal", school="测试区第1中学")
    assert u.role == "principal" and u.school_id is not None and u.zone_id is not None
    with pytest.raises(InputError):
        add_user(wh, "p2", "password1", "principal")  # no school
    with pytest.raises(InputError):
        add_user(wh, "o1", "password1", "officer", school=1)  # school for a non-principal
    with pytest.raises(InputError):
        add_user(wh, "o1", "short", "officer")
    with pytest.raises(InputError):
        add_user(wh, "o1", "password1", "superuser")
    with pytest.raises(NotFoundError):
        add_user(wh, "p3", "password1", "principal", school="没有这所学校")
    add_user(wh, "o1", "password1", "officer")
    with pytest.raises(InputError):
        add_user(wh, "o1", "password2", "officer")
    add_user(wh, "o1", "password2", "committee", replace=True)
    frame = list_users(wh)
    assert list(frame.columns) == ["username", "role", "school_id", "school_name", "zone_id",
                                   "display_name", "created_at"]
    assert "password_hash" not in frame.columns
    assert set(frame["username"]) == {"p1", "o1"}
    assert authenticate(wh, "o1", "password2").role == "committee"
    assert authenticate(wh, "o1", "password1") is None
    assert authenticate(wh, "nobody", "password1") is None
    remove_user(wh, "o1")
    with pytest.raises(NotFoundError):
        remove_user(wh, "o1")


def test_cli_users(wh) -> None:
    from eqm.cli import cli

    build_exam(wh, n_schools=2, students_per_school=5)
    db = wh.path
    wh.close()
    run = CliRunner().invoke
    r = run(cli, ["--db", db, "users", "add", "zhang", "--role", "principal",
                  "--school", "测试区第2中学", "--password", "password9"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["--db", db, "users", "list", "--format", "csv"])
    assert r.exit_code == 0 and "zhang" in r.output and "scrypt" not in r.output
    r = run(cli, ["--db", db, "users", "add", "x", "--role", "officer", "--password", "short"])
    assert r.exit_code == 2
    r = run(cli, ["--db", db, "users", "remove", "zhang"])
    assert r.exit_code == 0
    r = run(cli, ["--db", db, "users", "remove", "zhang"])
    assert r.exit_code == 2


def test_cli_reset_and_end_sessions(wh) -> None:
    """`eqm users reset` sets a new password (role kept) and a new session token;
    `end-sessions` a new token only; both refuse unknown users and short passwords (exit 2)."""
    from analytics.users import get_user
    from analytics.warehouse import Warehouse
    from eqm.cli import cli

    add_user(wh, "li", "password1", "committee")
    db = wh.path
    before = get_user(wh, "li").session_token
    wh.close()
    run = CliRunner().invoke
    r = run(cli, ["--db", db, "users", "reset", "li", "--password", "password2"])
    assert r.exit_code == 0, r.output
    with Warehouse(db) as w:
        after = get_user(w, "li")
        assert after.role == "committee" and after.session_token != before
        assert authenticate(w, "li", "password2") is not None
        assert authenticate(w, "li", "password1") is None
    r = run(cli, ["--db", db, "users", "end-sessions", "li"])
    assert r.exit_code == 0, r.output
    with Warehouse(db) as w:
        assert get_user(w, "li").session_token not in (before, after.session_token)
        assert authenticate(w, "li", "password2") is not None
    assert run(cli, ["--db", db, "users", "reset", "li", "--password", "short"]).exit_code == 2
    assert run(cli, ["--db", db, "users", "reset", "nobody", "--password", "password3"]
               ).exit_code == 2
    assert run(cli, ["--db", db, "users", "end-sessions", "nobody"]).exit_code == 2
