"""Dashboard users: argon2 password hashes and roles (viewer < investigator < admin).

Managed with `canary user add|passwd|remove|list`; checked by the admin listener's
login. `authenticate` spends the same argon2 work whether or not the user exists, so
timing does not tell which names are valid.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from canary.errors import InputError, NotFound
from canary.store.engine import Store
from canary.store.models import User
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


def remove_user(store: Store, username: str) -> None:
    with store.session() as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        if u is None:
            raise NotFound(f"no user {username[:100]!r}: list them with `canary user list`")
        s.delete(u)


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
