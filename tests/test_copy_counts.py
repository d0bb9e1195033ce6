"""The counts kept on each copy (canaries, exclusive and shared evidence hits) equal a
recount of the rows after every kind of change, and `canary copies` reads them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect, update

from canary.hits.record import Observation, receive_in, record
from canary.hits.workflow import mark_noise, restore_hit
from canary.investigate.queries import copy_detail, list_copies
from canary.store import copy_counts
from canary.store.engine import Store, open_store
from canary.store.models import Copy
from listeners.inbox import Attributor
from tests.registry_support import (
    COUNTED,
    COUNTED_CONTROL,
    DOMAIN,
    SHARED,
    T0,
    back_and_forth,
    build,
)


def kept(store: Store) -> dict[str, tuple[int, int, int]]:
    """Each copy's kept counts, after checking they equal a recount of the rows."""
    with store.engine.connect() as conn:
        assert copy_counts.mismatches(conn) == {}
        return copy_counts.stored(conn)


def obs(ident: str, n: int, **kw: str) -> Observation:
    return Observation(
        "smtp" if "@" in ident else "sms",
        ident,
        sender=f"s{n}@x.example",
        observed_at=T0 + timedelta(days=1, minutes=n),
        provider_message_id=f"m{n}",
        **kw,
    )


def test_kept_counts_follow_every_change(store: Store) -> None:
    reg = build(store, COUNTED, controls=[COUNTED_CONTROL])
    azul, verde, xyz = (reg.copies[r] for r in COUNTED)
    # Planted: the canaries each copy holds.
    assert kept(store) == {azul: (2, 0, 0), verde: (1, 0, 0), xyz: (1, 0, 0)}

    # Exclusive (Azul's own address), shared (the number Azul and Verde both hold),
    # control and unattributed hits: only evidence counts.
    [excl, shared, control, unknown] = record(
        store,
        [
            obs(f"mjlopez@{DOMAIN}", 1),
            obs(SHARED, 2),
            obs(f"julia.cv@{DOMAIN}", 3),
            obs(f"nadie@{DOMAIN}", 4),
        ],
    )
    assert (excl.copies, sorted(shared.copies)) == ([azul], sorted([azul, verde]))
    assert (control.classification, unknown.classification) == ("control", "unattributed")
    assert kept(store) == {azul: (2, 1, 1), verde: (1, 0, 1), xyz: (1, 0, 0)}
    # A duplicate (same provider message) changes nothing.
    assert record(store, [obs(f"mjlopez@{DOMAIN}", 1)])[0].duplicate
    assert kept(store)[azul] == (2, 1, 1)

    # Marked as noise and restored, exclusive and shared.
    mark_noise(store, excl.hit_id, "prueba interna", "ana")
    assert kept(store)[azul] == (2, 0, 1)
    mark_noise(store, shared.hit_id, "prueba interna", "ana")
    assert kept(store) == {azul: (2, 0, 0), verde: (1, 0, 0), xyz: (1, 0, 0)}
    restore_hit(store, shared.hit_id, "no era prueba", "ana")
    assert kept(store) == {azul: (2, 0, 1), verde: (1, 0, 1), xyz: (1, 0, 0)}
    restore_hit(store, excl.hit_id, "no era prueba", "ana")
    assert kept(store)[azul] == (2, 1, 1)
    # An unattributed hit marked as noise and restored was never evidence: no change.
    mark_noise(store, unknown.hit_id, "x", "ana")
    restore_hit(store, unknown.hit_id, "x", "ana")
    assert kept(store)[azul] == (2, 1, 1)

    # A listener's hit: pending (counted nowhere) until the inbox worker attributes it.
    with store.session() as s:
        [pending] = receive_in(s, [obs(f"lfmora@{DOMAIN}", 5), obs(SHARED, 6)])[:1]
    assert pending.classification == "pending"
    assert kept(store)[xyz] == (1, 0, 0)
    done = Attributor(store).attribute_batch()
    assert len(done) == 2
    assert kept(store) == {azul: (2, 1, 2), verde: (1, 0, 2), xyz: (1, 1, 0)}

    # `canary copies` and `canary copy` report the kept counts.
    doc = {c["id"]: c for c in list_copies(store)["copies"]}
    assert (doc[azul]["canaries"], doc[azul]["hits"], doc[azul]["shared_hits"]) == (2, 1, 2)
    assert (doc[xyz]["canaries"], doc[xyz]["hits"], doc[xyz]["shared_hits"]) == (1, 1, 0)
    detail = copy_detail(store, verde)
    assert (detail["hits"], detail["shared_hits"]) == (0, 2)


def test_list_copies_reads_the_kept_counts_and_a_recount_finds_drift(store: Store) -> None:
    reg = build(store, COUNTED)
    azul = reg.copies["Partido Azul"]
    record(store, [obs(f"ana.ruiz@{DOMAIN}", 1)])
    with store.engine.begin() as conn:
        conn.execute(update(Copy).where(Copy.id == azul).values(exclusive_hits=7))
    listed = {c["id"]: c for c in list_copies(store)["copies"]}
    assert listed[azul]["hits"] == 7  # read from the copy, not counted
    with store.engine.begin() as conn:
        assert copy_counts.mismatches(conn) == {azul: ((2, 7, 0), (2, 1, 0))}
        assert copy_counts.backfill(conn) == 1
        assert copy_counts.mismatches(conn) == {}
    assert {c["id"]: c["hits"] for c in list_copies(store)["copies"]}[azul] == 1


def test_the_migration_backfills_the_counts(store_url: str) -> None:
    store = open_store(store_url)
    reg = build(store, COUNTED, controls=[COUNTED_CONTROL])
    record(store, [obs(f"mjlopez@{DOMAIN}", 1), obs(SHARED, 2), obs(f"julia.cv@{DOMAIN}", 3)])
    mark_noise(store, record(store, [obs(f"ana.ruiz@{DOMAIN}", 4)])[0].hit_id, "x", "ana")
    store.dispose()
    back_and_forth(
        store_url,
        "0011_needle_index",
        lambda con: "canary_count" not in {c["name"] for c in inspect(con).get_columns("copies")},
    )
    azul, verde, xyz = (reg.copies[r] for r in COUNTED)
    assert kept(open_store(store_url)) == {azul: (2, 1, 1), verde: (1, 0, 1), xyz: (1, 0, 0)}
