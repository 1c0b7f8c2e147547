"""Dashboard users: roles, hashed passwords, the school a principal may see.

The user store lives in the warehouse (table ``users``, migration 003) so that the CLI
(``eqm users add|list|remove``) and the dashboards share it. Passwords are hashed with scrypt
(:func:`hashlib.scrypt`, RFC 7914; N = 2**15, r = 8, p = 1, 16-character random salt) in the
string format of Werkzeug's ``generate_password_hash`` (``scrypt:N:r:p$salt$hex``), so either
library can check a stored hash; PBKDF2-SHA256 strings in Werkzeug's format are also accepted.

Sessions
--------
Each user has a random ``session_token`` (migration 006) that the dashboard puts in every signed
session cookie and compares on each request. It is replaced by a fresh random value
(:func:`secrets.token_urlsafe`) whenever the user's sessions must end: :func:`end_sessions`
(log-out), :func:`reset_password`, and every :func:`add_user` (creation, or ``replace`` = new
password, role or school); :func:`remove_user` deletes it with the row. A user removed and
created again under the same name therefore never matches a cookie of the old account.

Roles
-----
``officer``   教研员: the whole district, every page.
``principal`` 校长: one school (``school_id``), its own rows only.
``committee`` 命题组: paper quality and the question archive.
``admin``     管理员: users and imports.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass, field

import pandas as pd

from analytics.errors import InputError
from analytics.lookup import not_found, resolve_school
from analytics.warehouse import Warehouse

ROLES: dict[str, tuple[str, str]] = {
    "officer": ("教研员", "research officer"),
    "principal": ("校长", "principal"),
    "committee": ("命题组", "exam committee"),
    "admin": ("管理员", "administrator"),
}

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SALT_CHARS = string.ascii_letters + string.digits
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class User:
    """An authenticated user as the dashboards see it (never carries the hash)."""

    username: str
    role: str
    school_id: int | None = None
    school_name: str | None = None
    zone_id: int | None = None
    display_name: str | None = None
    #: The user's current session token (compared with the one in the session cookie).
    session_token: str | None = field(default=None, repr=False, compare=False)


def new_session_token() -> str:
    """A fresh random session token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Hash ``password`` with scrypt and a fresh random salt.

    Returns
    -------
    str
        ``"scrypt:N:r:p$salt$hexdigest"`` (64-byte key), the format of Werkzeug's
        ``generate_password_hash(password, method="scrypt")``.
    """
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                            maxmem=132 * n * r * p).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${digest}"


def verify_password(stored: str, password: str) -> bool:
    """Check ``password`` against a stored ``scrypt:…`` or ``pbkdf2:…`` hash (constant time)."""
    try:
        method, salt, digest = stored.split("$", 2)
        name, *args = method.split(":")
        if name == "scrypt":
            n, r, p = (int(a) for a in args) if args else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
            got = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                                 maxmem=132 * n * r * p).hex()
        elif name == "pbkdf2":
            hash_name = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) > 1 else 1_000_000
            got = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(),
                                      iterations).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, digest)


# A hash to check against when the user does not exist, so that timing does not reveal names.
_DUMMY_HASH = "scrypt:32768:8:1$AAAAAAAAAAAAAAAA$" + "0" * 128


def users_sql() -> str:
    """Every dashboard account without its hash (no parameters), by role, then username.

    Columns: ``username``, ``role``, ``school_id``, ``school_name``, ``zone_id``,
    ``display_name``, ``created_at``.
    """
    return """
        SELECT u.username, u.role, u.school_id, s.name AS school_name, s.zone_id,
               u.display_name, u.created_at
        FROM users u LEFT JOIN schools s ON s.school_id = u.school_id
        ORDER BY u.role, u.username
    """


def list_users(wh: Warehouse) -> pd.DataFrame:
    """All users, without their hashes.

    Returns
    -------
    pandas.DataFrame
        ``username, role, school_id, school_name, zone_id, display_name, created_at``.
    """
    return wh.df(users_sql())


def add_user(
    wh: Warehouse,
    username: str,
    password: str,
    role: str,
    *,
    school: str | int | None = None,
    display_name: str | None = None,
    replace: bool = False,
) -> User:
    """Create (or with ``replace=True`` overwrite) a user. Either way the user gets a fresh
    session token, so every session of an overwritten user ends.

    Parameters
    ----------
    username, password : str
        The password must have at least :data:`MIN_PASSWORD_LENGTH` characters.
    role : {'officer', 'principal', 'committee', 'admin'}
    school : str or int, optional
        Required for principals (name, code or id), refused for the other roles.

    Returns
    -------
    User
        The stored user (username, role, school_id, school_name, zone_id, display_name).

    Raises
    ------
    InputError
        Unknown role, short password, missing/needless school, or an existing user.
    NotFoundError
        Unknown school.
    """
    username = username.strip()
    if not username:
        raise InputError("用户名不能为空 / the user name is empty")
    if role not in ROLES:
        raise InputError(f"未知角色「{role}」,可选 {', '.join(ROLES)} / unknown role {role!r}; "
                         f"choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / the password needs at least "
                         f"{MIN_PASSWORD_LENGTH} characters")
    school_id: int | None = None
    if role == "principal":
        if school is None:
            raise InputError("校长账号必须指定学校 (--school) / "
                             "a principal needs a school (--school)")
        school_id = _school_id(wh, school)
    elif school is not None:
        raise InputError(f"只有校长账号关联学校 / only principals belong to a school (role {role})")
    exists = wh.scalar("SELECT count(*) FROM users WHERE username = $u", {"u": username})
    if exists and not replace:
        raise InputError(f"用户「{username}」已存在 / user {username!r} already exists")
    with wh.transaction():
        wh.execute("DELETE FROM users WHERE username = $u", {"u": username})
        wh.execute(
            "INSERT INTO users (username, password_hash, role, school_id, display_name, "
            "session_token) VALUES ($u, $h, $r, $s, $d, $t)",
            {"u": username, "h": hash_password(password), "r": role, "s": school_id,
             "d": display_name, "t": new_session_token()},
        )
    user = get_user(wh, username)
    assert user is not None
    return user


def _school_id(wh: Warehouse, school: str | int) -> int:
    if isinstance(school, int) or str(school).isdigit():
        hit = wh.scalar("SELECT school_id FROM schools WHERE school_id = $i", {"i": int(school)})
        if hit is not None:
            return int(hit)
    return resolve_school(wh, str(school))


def _require_user(wh: Warehouse, username: str) -> None:
    if not wh.scalar("SELECT count(*) FROM users WHERE username = $u", {"u": username}):
        known = wh.df("SELECT username FROM users ORDER BY username")["username"]
        raise not_found("用户", "user", username, known)


def remove_user(wh: Warehouse, username: str) -> None:
    """Delete a user (and with the row its session token: every session ends). Raises
    :class:`NotFoundError` when there is none."""
    _require_user(wh, username)
    wh.execute("DELETE FROM users WHERE username = $u", {"u": username})


def end_sessions(wh: Warehouse, username: str) -> None:
    """End every session of ``username`` (log-out): a fresh session token. Raises
    :class:`NotFoundError` when there is no such user."""
    _require_user(wh, username)
    wh.execute("UPDATE users SET session_token = $t WHERE username = $u",
               {"u": username, "t": new_session_token()})


def reset_password(wh: Warehouse, username: str, password: str) -> User:
    """Give ``username`` a new password (role and school kept) and end their sessions.

    Raises
    ------
    InputError
        A password shorter than :data:`MIN_PASSWORD_LENGTH`.
    NotFoundError
        No such user.
    """
    _require_user(wh, username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / the password needs at least "
                         f"{MIN_PASSWORD_LENGTH} characters")
    wh.execute("UPDATE users SET password_hash = $h, session_token = $t WHERE username = $u",
               {"u": username, "h": hash_password(password), "t": new_session_token()})
    user = get_user(wh, username)
    assert user is not None
    return user


def get_user(wh: Warehouse, username: str) -> User | None:
    """The user named ``username`` (without the hash, with the session token), or None."""
    row = wh.df(
        "SELECT u.username, u.role, u.school_id, s.name AS school_name, s.zone_id, "
        "u.display_name, u.session_token "
        "FROM users u LEFT JOIN schools s ON s.school_id = u.school_id WHERE u.username = $u",
        {"u": username},
    )
    if row.empty:
        return None
    r = row.iloc[0]

    def opt_int(v: object) -> int | None:
        return None if pd.isna(v) else int(v)  # type: ignore[call-overload]

    return User(
        username=str(r["username"]), role=str(r["role"]),
        school_id=opt_int(r["school_id"]),
        school_name=None if pd.isna(r["school_name"]) else str(r["school_name"]),
        zone_id=opt_int(r["zone_id"]),
        display_name=None if pd.isna(r["display_name"]) else str(r["display_name"]),
        session_token=None if pd.isna(r["session_token"]) else str(r["session_token"]),
    )


def password_hash(wh: Warehouse, username: str) -> str | None:
    """The stored hash of ``username``, or None (for :func:`check_password`, which a server
    runs outside any lock on the warehouse: the key derivation takes tens of milliseconds)."""
    stored = wh.scalar("SELECT password_hash FROM users WHERE username = $u", {"u": username})
    return None if stored is None else str(stored)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a hash from :func:`password_hash`); the same
    work when there is no user (``stored`` None), so that timing does not reveal names."""
    ok = verify_password(stored if stored is not None else _DUMMY_HASH, password)
    return stored is not None and ok


def authenticate(wh: Warehouse, username: str, password: str) -> User | None:
    """Check a password (the same work whether or not the user exists).

    Returns
    -------
    User or None
        The user if ``password`` is right, else None.
    """
    if not check_password(password_hash(wh, username), password):
        return None
    return get_user(wh, username)


DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("jiaoyan", "officer", "教研员(演示)"),
    ("mingti", "committee", "命题组(演示)"),
    ("admin", "admin", "管理员(演示)"),
)


def create_demo_users(wh: Warehouse, *, principals: int = 2) -> pd.DataFrame:
    """Create the demo's accounts with fresh random passwords (only where no user exists).

    One research officer, one committee member, one administrator and a principal for each of
    the first ``principals`` schools (``xiaozhang1`` …). Passwords are random
    (:func:`secrets.token_urlsafe`), returned once so that the caller can print them, and
    stored only as hashes.

    Returns
    -------
    pandas.DataFrame
        ``username, role, school_name, password``; empty when users already exist.
    """
    if wh.scalar("SELECT count(*) FROM users"):
        return pd.DataFrame(columns=["username", "role", "school_name", "password"])
    schools = wh.df("SELECT school_id, name FROM schools ORDER BY school_id LIMIT $n",
                    {"n": principals})
    rows = []
    plan: list[tuple[str, str, int | None, str]] = [(u, r, None, d) for u, r, d in DEMO_ACCOUNTS]
    plan += [(f"xiaozhang{i + 1}", "principal", int(s["school_id"]), f"{s['name']}校长(演示)")
             for i, s in enumerate(schools.to_dict("records"))]
    for username, role, school, display in plan:
        password = secrets.token_urlsafe(9)
        user = add_user(wh, username, password, role, school=school, display_name=display)
        rows.append({"username": username, "role": role, "school_name": user.school_name,
                     "password": password})
    return pd.DataFrame(rows)


def is_demo_warehouse(wh: Warehouse) -> bool:
    """Whether the warehouse was built by ``eqm demo`` (it holds planted truths)."""
    return bool(wh.scalar("SELECT count(*) FROM demo_truths"))
