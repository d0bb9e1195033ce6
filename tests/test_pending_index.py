"""Pending hits and search: on SQLite the hits' full-text indexes hold attributed hits only
(migration 0015), written when attribution sets the classification, while a search or a
`canary hits --sender` still finds a pending hit by its sender and summary, and by its
message text once attributed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from canary.hits import record
from canary.hits.record import Observation, attribute_pending, pending_count, receive_in
from canary.investigate.queries import HitFilter, list_hits
from canary.investigate.search import SearchFilter, search
from canary.store import search_index
from canary.store.engine import Store, alembic_config, make_engine, open_store
from canary.store.models import Hit
from listeners.inbox import Attributor
from tests.alerts_support import add_copy, wait_for
from tests.conftest import pg_schema_url
from tests.pending_support import ODD, write_pending

CANARY = "+525512345678"


def _sms(n: int, sender: str = "+528441234567 Gustavo Peña") -> Observation:
    return Observation(
        channel="sms",
        identifier=CANARY,
        sender=sender,
        summary=f"cita en saltillo {n}",
        provider="twilio",
        provider_message_id=f"SM-index-{n}",
        evidence=f"POST /hooks/twilio/sms HTTP/1.1\r\n\r\nMessageSid=SM-index-{n}".encode(),
        evidence_type="message/http",
        text=f"Le escribimos por su registro en Monclova {n}",
    )


def indexed(store: Store) -> dict[str, set[int]]:
    """The hit ids each of the hits' FTS tables holds (SQLite)."""
    with store.engine.connect() as c:
        return {
            t.column: {int(i) for i in c.execute(text(f"SELECT id FROM {t.fts}_docsize")).scalars()}
            for t in search_index.HITS
        }


def found(store: Store, needle: str) -> set[tuple[int, str]]:
    return {(int(r.id), str(r.matched)) for r in search(store, needle, SearchFilter()).results}


def test_a_pending_hit_is_indexed_when_attributed_and_found_before(sqlite_store: Store) -> None:
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with sqlite_store.session() as s:
        (rec,) = receive_in(s, [_sms(1)])
    hit_id = rec.hit_id
    # The commit before the answer wrote no full-text index rows.
    assert indexed(sqlite_store) == {"sender": set(), "summary": set(), "search_text": set()}
    # Pending, it is still found by its sender and summary (the inbox's hits are added
    # to what the indexes name), and listed by `canary hits --sender`.
    assert found(sqlite_store, "gustavo peña") == {(hit_id, "sender")}
    assert found(sqlite_store, "saltillo") == {(hit_id, "subject")}
    assert found(sqlite_store, "monclova") == set()  # its text is searchable once attributed
    (listed,) = list_hits(sqlite_store, HitFilter(sender="Gustavo"))["hits"]
    assert listed["id"] == hit_id and listed["attribution"]["strength"] == "pending"
    with sqlite_store.session() as s:
        assert [r.hit_id for r in attribute_pending(s)] == [hit_id]
    every = {"sender": {hit_id}, "summary": {hit_id}, "search_text": {hit_id}}
    assert indexed(sqlite_store) == every
    with sqlite_store.engine.connect() as c:
        for t, needle in zip(search_index.HITS, ["gustavo", "saltillo", "monclova"], strict=True):
            assert search_index.matching_rows(c, t, [needle]) == [hit_id]
    assert found(sqlite_store, "monclova") == {(hit_id, "text")}
    assert found(sqlite_store, "saltillo") == {(hit_id, "subject")}
    # Marking it as noise (a classification change) keeps it indexed, once.
    with sqlite_store.engine.begin() as c:
        c.execute(text("UPDATE hits SET classification = 'noise' WHERE id = :i"), {"i": hit_id})
    assert indexed(sqlite_store) == every
    assert found(sqlite_store, "saltillo") == {(hit_id, "subject")}


def test_hits_left_pending_by_a_crash_are_indexed_by_the_next_start(sqlite_store: Store) -> None:
    """Committed as the listener commits before its answer, then the process is gone
    before attributing (test_inbox kills a real one): the next start's worker attributes
    the hits, and search finds them by their text."""
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with sqlite_store.session() as s:
        ids = [r.hit_id for r in receive_in(s, [_sms(1), _sms(2)])]
    assert indexed(sqlite_store)["summary"] == set()
    assert found(sqlite_store, "saltillo") == {(i, "subject") for i in ids}
    url = str(sqlite_store.engine.url)
    sqlite_store.dispose()
    again = open_store(url)
    try:
        assert pending_count_of(again) == 2
        worker = Attributor(again)
        worker.start()  # a start first takes what the inbox holds
        wait_for(lambda: pending_count_of(again) == 0)
        worker.close(drain=1)
        assert indexed(again)["search_text"] == set(ids)
        assert found(again, "monclova") == {(i, "text") for i in ids}
        strengths = {h["attribution"]["strength"] for h in list_hits(again)["hits"]}
        assert strengths == {"exclusive"}
    finally:
        again.dispose()


def pending_count_of(store: Store) -> int:
    with store.session() as s:
        return pending_count(s)


def test_a_flood_of_pending_hits_makes_search_scan(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More pending hits than the index's cap: the index gives up (None) and the search
    reads the rows, finding the same hits."""
    monkeypatch.setattr(search_index, "CAP", 3)
    with sqlite_store.session() as s:
        recs = receive_in(s, [_sms(n) for n in range(5)])
    with sqlite_store.engine.connect() as c:
        assert search_index.matching_rows(c, search_index.SUMMARY, ["saltillo"]) is None
    assert found(sqlite_store, "saltillo") == {(r.hit_id, "subject") for r in recs}


def test_the_migration_keeps_every_hit_and_indexes_attributed_ones(store_url: str) -> None:
    """A store at 0014 (pending hits indexed on receipt) upgraded to the head: every hit
    and inbox row kept; on SQLite the indexes hold the attributed hits only, a pending one
    is indexed when it is attributed, and search finds all of them throughout."""
    store = open_store(store_url)
    add_copy(store, "Vendor A", phones=[CANARY])
    store.dispose()
    engine = make_engine(store_url)
    cfg = alembic_config(engine)
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        command.downgrade(cfg, "0014_blob_lz4")
    engine.dispose()
    old = open_store(store_url, migrate_schema=False)
    with old.session() as s:
        attributed = [r.hit_id for r in receive_in(s, [_sms(1), _sms(2)])]
    with old.session() as s:
        assert sorted(r.hit_id for r in attribute_pending(s)) == attributed
    with old.session() as s:
        (waiting,) = [r.hit_id for r in receive_in(s, [_sms(3)])]
    sqlite = old.engine.dialect.name == "sqlite"
    if sqlite:  # before 0015 the pending hit was indexed on receipt
        assert indexed(old)["summary"] == {*attributed, waiting}
    with old.session() as s:
        before = s.execute(select(Hit.id, Hit.classification, Hit.summary).order_by(Hit.id)).all()
    old.dispose()
    store = open_store(store_url)  # migrates to the head
    try:
        with store.session() as s:
            after = s.execute(select(Hit.id, Hit.classification, Hit.summary).order_by(Hit.id))
            assert after.all() == before
            assert pending_count(s) == 1
            assert s.scalar(select(func.count()).select_from(Hit)) == 3
        if sqlite:
            assert indexed(store) == {
                "sender": set(attributed),
                "summary": set(attributed),
                "search_text": set(attributed),
            }
        everyone = {(i, "subject") for i in [*attributed, waiting]}
        assert found(store, "saltillo") == everyone
        with store.session() as s:
            assert [r.hit_id for r in attribute_pending(s)] == [waiting]
        if sqlite:
            assert indexed(store)["search_text"] == {*attributed, waiting}
        assert found(store, "saltillo") == everyone
        assert {i for i, m in found(store, "monclova") if m == "text"} == {*attributed, waiting}
    finally:
        store.dispose()


@pytest.mark.postgres
def test_pending_hits_on_postgresql_are_stored_as_sqlalchemy_stores_them() -> None:
    """The driver-level writes of pending hits on PostgreSQL (ids from the sequence first)
    store the same values as the SQLAlchemy statements they stand for, and the tallies'
    and the earlier-delivery lookup's driver statements agree with theirs."""
    observations = [_sms(n) for n in range(3)] + [ODD]
    now = datetime(2026, 11, 30, 12, 0, 0, 5, tzinfo=UTC)
    tables = {}
    for name, write in (
        ("core", record._write_pending),
        ("driver", record._write_pending_postgresql),
    ):
        urls = pg_schema_url()
        url = next(urls)
        store = open_store(url)
        try:
            with store.session() as s:
                assert write_pending(write, s, observations, now) == [1, 2, 3, 4]
            with store.engine.connect() as c:
                tables[name] = {
                    t: c.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()
                    for t in ("blobs", "hits", "hit_inbox")
                }
            with store.session() as s:  # the next hit gets the next id
                (rec,) = receive_in(s, [_sms(9)])
                assert rec.hit_id == 5
                again = receive_in(s, [_sms(9), _sms(1)])
                assert [(r.hit_id, r.duplicate) for r in again] == [(5, True), (2, True)]
        finally:
            store.dispose()
            urls.close()
    assert tables["driver"] == tables["core"]
    assert [len(rows) for rows in tables["core"].values()] == [4, 4, 4]


@pytest.mark.postgres
def test_receive_in_pipelined_on_postgresql_writes_what_one_statement_at_a_time_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through psycopg, `receive_in` sends its lookups and ids, then its writes and tallies,
    in two pipelines: the same rows and duplicates as its statements one at a time; an id
    taken for a duplicate stays unused; a driver error comes out as SQLAlchemy's (which the
    group committer retries)."""
    at = datetime(2026, 11, 30, 12, 0, 0, 5, tzinfo=UTC)
    batches = [
        [replace(_sms(n), observed_at=at) for n in (1, 2, 1)] + [ODD],
        [replace(_sms(n), observed_at=at) for n in (2, 3)],
    ]
    kept: dict[str, dict[str, list]] = {}
    answers: dict[str, list] = {}
    for name in ("pipelined", "one at a time"):
        if name != "pipelined":
            monkeypatch.setattr(record, "_pipelined", lambda _conn: None)
        urls = pg_schema_url()
        store = open_store(next(urls))
        try:
            with store.session() as s:
                pipelined = record._pipelined(s.connection()) is not None
                assert pipelined == (name == "pipelined")
                answers[name] = [
                    [(r.hit_id, r.duplicate) for r in receive_in(s, batch)] for batch in batches
                ]
            with store.engine.connect() as c:
                kept[name] = {
                    t: c.execute(text(f"SELECT {cols} FROM {t} ORDER BY 1, 2")).all()
                    for t, cols in (
                        ("blobs", "sha256, size, data, content_type"),
                        ("hits", "*"),
                        ("hit_inbox", "hit_id, text"),
                        ("hit_tallies", "*"),
                    )
                }
            if pipelined:
                with store.session() as s, pytest.raises(DBAPIError):
                    conn = s.connection()
                    raw = record._pipelined(conn)
                    with record._driver_errors(conn), raw.pipeline():
                        raw.cursor().execute("SELECT nope")
        finally:
            store.dispose()
            urls.close()
    assert kept["pipelined"]["hit_tallies"] == kept["one at a time"]["hit_tallies"]
    assert [len(rows) for rows in kept["pipelined"].values()] == [4, 4, 4, 2]  # sms, email
    assert answers["one at a time"] == [
        [(1, False), (2, False), (1, True), (3, False)],
        [(2, True), (4, False)],
    ]
    # Ids were taken for the duplicates too: the next new hit comes after them.
    assert answers["pipelined"] == [
        [(1, False), (2, False), (1, True), (3, False)],
        [(2, True), (5, False)],
    ]
    renumbered = [(4 if row[0] == 5 else row[0], *row[1:]) for row in kept["pipelined"]["hits"]]
    assert renumbered == kept["one at a time"]["hits"]
    inbox = [(4 if i == 5 else i, t) for i, t in kept["pipelined"]["hit_inbox"]]
    assert inbox == kept["one at a time"]["hit_inbox"]
    assert kept["pipelined"]["blobs"] == kept["one at a time"]["blobs"]
