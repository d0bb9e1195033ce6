from __future__ import annotations

import pytest

from canary.errors import InputError, NotFound
from canary.store import users
from canary.store.engine import Store


def test_add_authenticate_passwd_remove(store: Store) -> None:
    users.add_user(store, "ana", "correct horse battery", "investigator")
    assert users.authenticate(store, "ana", "correct horse battery").role == "investigator"
    assert users.authenticate(store, "ana", "wrong password!!") is None
    assert users.authenticate(store, "nobody", "correct horse battery") is None
    users.set_password(store, "ana", "another long secret")
    assert users.authenticate(store, "ana", "correct horse battery") is None
    assert users.authenticate(store, "ana", "another long secret") is not None
    assert [u.username for u in users.list_users(store)] == ["ana"]
    users.remove_user(store, "ana")
    assert users.authenticate(store, "ana", "another long secret") is None
    with pytest.raises(NotFound):
        users.remove_user(store, "ana")


def test_hash_is_argon2_not_the_password(sqlite_store: Store) -> None:
    from sqlalchemy import select

    from canary.store.models import User

    users.add_user(sqlite_store, "bo", "a long enough pw", "viewer")
    with sqlite_store.session() as s:
        h = s.scalars(select(User.password_hash)).one()
    assert h.startswith("$argon2id$") and "a long enough pw" not in h


@pytest.mark.parametrize(
    ("name", "pw", "role"),
    [("a b", "x" * 12, "viewer"), ("ok", "short", "viewer"), ("ok", "x" * 12, "root")],
)
def test_bad_input_is_refused_with_advice(sqlite_store: Store, name, pw, role) -> None:
    with pytest.raises(InputError):
        users.add_user(sqlite_store, name, pw, role)


def test_duplicate_name_is_refused(sqlite_store: Store) -> None:
    users.add_user(sqlite_store, "ana", "x" * 12)
    with pytest.raises(InputError, match="user passwd"):
        users.add_user(sqlite_store, "ana", "y" * 12)


def test_roles_are_ordered() -> None:
    assert users.role_at_least("admin", "investigator")
    assert users.role_at_least("investigator", "viewer")
    assert not users.role_at_least("viewer", "investigator")
    assert not users.role_at_least("bogus", "viewer")
