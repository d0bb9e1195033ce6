from __future__ import annotations

from sqlalchemy import text

from canary.store import chain
from canary.store.engine import Store
from tests.case_support import mail_hit, make_copy


def verify(store: Store) -> chain.BrokenLink | None:
    with store.session() as s:
        return chain.verify_chain(s)


def test_untouched_chain_verifies(store: Store) -> None:
    make_copy(store, "Vendor A", ["lucia@canary.example"])
    mail_hit(store, "lucia@canary.example")
    mail_hit(store, "LUCIA@canary.example", mid="m2")
    with store.session() as s:
        assert chain.count_links(s) == 3
    assert verify(store) is None


def test_edited_hit_row_breaks_the_chain_at_that_hit(store: Store) -> None:
    make_copy(store, "Vendor A", ["lucia@canary.example"])
    first = mail_hit(store, "lucia@canary.example")
    second = mail_hit(store, "lucia@canary.example", mid="m2")
    with store.engine.begin() as c:
        c.execute(
            text("UPDATE hits SET sender = 'someone-else@x.example' WHERE id = :i"), {"i": second}
        )
    broken = verify(store)
    assert broken is not None
    assert (broken.kind, broken.ref_id, broken.seq) == ("hit", str(second), 3)
    assert f"hit row {second}" in broken.describe()
    assert str(first) != broken.ref_id


def test_edited_copy_row_breaks_the_chain_at_that_copy(store: Store) -> None:
    a = make_copy(store, "Vendor A", ["a@canary.example"])
    b = make_copy(store, "Vendor B", ["b@canary.example"])
    mail_hit(store, "b@canary.example")
    with store.engine.begin() as c:
        c.execute(text("UPDATE copies SET recipient = 'Nobody' WHERE id = :i"), {"i": b})
    broken = verify(store)
    assert broken is not None and (broken.kind, broken.ref_id) == ("copy", b)
    assert broken.ref_id != a


def test_swapped_canary_identifier_breaks_the_copy_link(store: Store) -> None:
    cid = make_copy(store, "Vendor A", ["a@canary.example"])
    with store.engine.begin() as c:
        c.execute(text("UPDATE identifiers SET value = 'z@canary.example'"))
    broken = verify(store)
    assert broken is not None and broken.ref_id == cid


def test_deleted_link_is_named(store: Store) -> None:
    make_copy(store, "Vendor A", ["a@canary.example"])
    mail_hit(store, "a@canary.example")
    mail_hit(store, "a@canary.example", mid="m2")
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM chain WHERE seq = 2"))
    broken = verify(store)
    assert broken is not None and broken.seq == 2 and "missing" in broken.reason
