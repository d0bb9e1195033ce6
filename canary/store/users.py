"""Dashboard users: argon2 password hashes and roles (viewer < investigator < admin).

Managed with `canary user add|passwd|remove|list`; checked by the admin listener's
login. `authenticate` spends the same argon2 work whether or not the user exists, so
timing does not tell which names are valid.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from canary.errors import InputError, NotFound
from canary.store.engine import Store
from canary.store.models import Setting, User
from canary.vocabulary import Role

ROLES = tuple(Role)
NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1000

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (made on first use, not import)."""
    return _hasher.hash("not a real password, equalises timing")


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: str
    created_at: datetime


def role_at_least(role: str, needed: str) -> bool:
    """True when `role` includes the rights of `needed`."""
    if role not in ROLES or needed not in ROLES:
        return False
    return Role(role).at_least(Role(needed))


def _check_name(username: str) -> str:
    if not NAME_RE.match(username):
        raise InputError(
            f"user names are 1-100 letters, digits or . _ @ - (no spaces), not {username[:40]!r}"
        )
    return username


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password too long: at most {MAX_PASSWORD} characters")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role[:20]!r}")
    return role


def add_user(store: Store, username: str, password: str, role: str = "viewer") -> UserInfo:
    """Create a user; an existing name is an error (use `canary user passwd`)."""
    _check_name(username)
    _check_password(password)
    _check_role(role)
    with store.session() as s:
        if s.scalars(select(User).where(User.username == username)).first():
            raise InputError(
                f"user {username} exists: change the password with `canary user passwd`"
            )
        u = User(username=username, password_hash=_hasher.hash(password), role=role)
        s.add(u)
        s.flush()
        return UserInfo(u.username, u.role, u.created_at)


def set_password(store: Store, username: str, password: str) -> None:
    _check_password(password)
    with store.session() as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        if u is None:
            raise NotFound(f"no user {username[:100]!r}: add one with `canary user add`")
        u.password_hash = _hasher.hash(password)
    end_sessions(store, username)  # a new password ends every session of the old one


def remove_user(store: Store, username: str) -> None:
    with store.session() as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        if u is None:
            raise NotFound(f"no user {username[:100]!r}: list them with `canary user list`")
        s.delete(u)
    end_sessions(store, username)


def list_users(store: Store) -> list[UserInfo]:
    with store.session() as s:
        return [
            UserInfo(u.username, u.role, u.created_at)
            for u in s.scalars(select(User).order_by(User.username)).all()
        ]


def get_user(store: Store, username: str) -> UserInfo | None:
    with store.session() as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        return UserInfo(u.username, u.role, u.created_at) if u else None


def authenticate(store: Store, username: str, password: str) -> UserInfo | None:
    """The user when the password is right, else None (same cost either way)."""
    if not username or len(username) > 100 or len(password) > MAX_PASSWORD:
        return None
    with store.session() as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        stored = u.password_hash if u else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if u is None:
            return None
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        return UserInfo(u.username, u.role, u.created_at)


# --- dashboard sessions, kept server-side ---------------------------------------------
#
# The session cookie is signed, but a signature alone cannot be taken back: a cookie
# stolen or left on a shared machine would work until it expires. So every login gets
# a random session id kept in the store (a settings row "admin_session:<id>" holding
# the user and the expiry), the cookie carries that id, and logout, a new password,
# removing the user or `canary token rotate --sessions` delete the rows: the cookie
# then names no session and is refused, at once, in every process sharing the store.

SESSION_PREFIX = "admin_session:"
SESSION_SECRET_SETTING = "admin_session_secret"  # noqa: S105 (a settings key)


def open_session(store: Store, username: str, max_age: float) -> str:
    """A new server-side session for `username`; its id (for the cookie)."""
    sid = secrets.token_urlsafe(24)
    now = time.time()
    with store.session() as s:
        # Sessions past their expiry are dropped as new ones are made (bounded table).
        for row in s.scalars(select(Setting).where(Setting.key.like(SESSION_PREFIX + "%"))):
            _, _, expires = row.value.rpartition("\t")
            if not expires.replace(".", "", 1).isdigit() or float(expires) < now:
                s.delete(row)
        s.add(Setting(key=SESSION_PREFIX + sid, value=f"{username}\t{now + max_age:.0f}"))
    return sid


def session_user(store: Store, sid: object) -> str | None:
    """The user of live session `sid`, or None (unknown, ended or expired)."""
    if not isinstance(sid, str) or not 20 <= len(sid) <= 64:
        return None
    value = store.get_setting(SESSION_PREFIX + sid)
    if not value:
        return None
    username, _, expires = value.rpartition("\t")
    try:
        live = float(expires) >= time.time()
    except ValueError:
        return None
    return username if live else None


def end_session(store: Store, sid: object) -> None:
    if isinstance(sid, str) and sid:
        with store.session() as s:
            s.execute(delete(Setting).where(Setting.key == SESSION_PREFIX + sid[:64]))


def end_sessions(store: Store, username: str | None = None) -> int:
    """End every session (of `username`, or of everyone); how many were ended."""
    with store.session() as s:
        rows = list(s.scalars(select(Setting).where(Setting.key.like(SESSION_PREFIX + "%"))))
        ended = 0
        for row in rows:
            if username is None or row.value.rpartition("\t")[0] == username:
                s.delete(row)
                ended += 1
        return ended


def session_secret(store: Store) -> str:
    """The key that signs session cookies, created once and kept in the store."""
    value = store.get_setting(SESSION_SECRET_SETTING)
    if not value:
        value = secrets.token_urlsafe(48)
        store.set_setting(SESSION_SECRET_SETTING, value)
        value = store.get_setting(SESSION_SECRET_SETTING) or value  # another process won
    return value


def rotate_sessions(store: Store) -> int:
    """A new cookie-signing key and every session ended; how many sessions were ended."""
    store.set_setting(SESSION_SECRET_SETTING, secrets.token_urlsafe(48))
    return end_sessions(store)
