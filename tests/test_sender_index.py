"""`canary hits --sender` served by a trigram index gives exactly the plain scan's hits:
substring, any case, LIKE metacharacters and quotes literal, accents as the backend's
lower() treats them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from canary.hits.record import Observation, record
from canary.investigate.queries import HitFilter, query_hits
from canary.store import search_index
from canary.store.engine import Store
from tests.registry_support import DOMAIN, T0

SENDERS = [
    "100% real <promo@tienda.example>",
    "100 real <otro@tienda.example>",
    "a_b@x.example",
    "axb@x.example",
    "a/b@x.example",
    "O'Brien <ob@x.example>",
    'Say "hola" <q@x.example>',
    "JOSÉ PÉREZ <jp@x.example>",
    "José Pérez <jp2@x.example>",
    "ÁNGEL <a@x.example>",
    "ángel <a2@x.example>",
    "back\\slash@x.example",
    "pct%%double",
    "Zoë ZOË",
    "İstanbul",
    "straße STRASSE",
    "[brackets]*?^$ (x)",
    "",
]
NEEDLES = [
    "100%",
    "%",
    "%%",
    "_",
    "a_b",
    "a/b",
    "/",
    "o'brien",
    "O'BRIEN",
    "'",
    '"hola"',
    '"',
    "josé",
    "JOSÉ",
    "pérez",
    "Ángel",
    "ÁNGEL",
    "ángel",
    "\\",
    "back\\s",
    "zoë",
    "ZOË",
    "istanbul",
    "stanbul",
    "straße",
    "ss",
    "[brackets]*",
    "?^$",
    "x.example",
    "X.EXAMPLE",
    "ab",
    "é",
    "nadie-coincide",
]


def ids(store: Store, needle: str, *, index: bool) -> list[int]:
    with store.session() as s:
        if store.dialect == "postgresql" and index:
            # A handful of rows: make the planner take the trigram index (bitmap scan).
            s.execute(text("SET LOCAL enable_seqscan = off"))
            s.execute(text("SET LOCAL enable_indexscan = off"))
            plan = "\n".join(
                s.execute(
                    text("EXPLAIN SELECT id FROM hits WHERE lower(sender) LIKE :p"),
                    {"p": f"%{needle.lower()}%"},
                ).scalars()
            )
            assert search_index.SENDER_TRGM in plan
        return [h.id for h in query_hits(s, HitFilter(sender=needle, limit=100))]


def test_the_index_gives_the_scans_hits(store: Store) -> None:
    record(
        store,
        [
            Observation(
                "smtp",
                f"nadie{i}@{DOMAIN}",
                sender=sender,
                observed_at=T0 + timedelta(minutes=i),
                provider_message_id=f"m{i}",
            )
            for i, sender in enumerate(SENDERS)
        ],
    )
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            assert search_index.sender_rows(conn, "x.example") is not None
            assert search_index.sender_rows(conn, "ab") is None  # under 3 characters
    indexed = {n: ids(store, n, index=True) for n in NEEDLES}
    with store.engine.begin() as conn:
        search_index.drop(conn)
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            assert search_index.sender_rows(conn, "x.example") is None
    scanned = {n: ids(store, n, index=False) for n in NEEDLES}
    assert indexed == scanned
    # Spot checks of the semantics both keep: metacharacters and quotes are literal.
    by_sender = {i + 1: s for i, s in enumerate(SENDERS)}
    assert [by_sender[i] for i in scanned["100%"]] == ["100% real <promo@tienda.example>"]
    assert [by_sender[i] for i in scanned["a_b"]] == ["a_b@x.example"]
    assert [by_sender[i] for i in scanned["o'brien"]] == ["O'Brien <ob@x.example>"]
    assert [by_sender[i] for i in scanned["X.EXAMPLE"]] == [
        s for s in reversed(SENDERS) if "x.example" in s
    ]
    assert scanned["nadie-coincide"] == []


@pytest.mark.parametrize("needle", ["sender42@", "SENDER42@EXAMPLE"])
def test_common_and_rare_text_take_the_index_or_the_scan(
    sqlite_store: Store, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: over CAP rows holding the trigrams, the newest hits are read instead;
    the page is the same either way."""
    record(
        sqlite_store,
        [
            Observation(
                "smtp",
                f"nadie{i}@{DOMAIN}",
                sender=f"sender{i % 7}@example.net" if i % 3 else f"Sender42@Example.net {i}",
                observed_at=T0 + timedelta(minutes=i),
                provider_message_id=f"m{i}",
            )
            for i in range(60)
        ],
    )
    with sqlite_store.engine.connect() as conn:
        assert search_index.sender_rows(conn, needle.lower()) is not None
        monkeypatch.setattr(search_index, "CAP", 5)
        assert search_index.sender_rows(conn, needle.lower()) is None
    capped = ids(sqlite_store, needle, index=True)
    monkeypatch.setattr(search_index, "CAP", 10_000)
    assert ids(sqlite_store, needle, index=True) == capped
    assert len(capped) == 20


def test_without_pg_trgm_the_store_works_and_the_filter_scans(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL where the extension may not be installed: no index, same results."""
    if store.dialect != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    record(store, [Observation("smtp", f"x@{DOMAIN}", sender="100% Real_Deal <a@b.example>")])
    monkeypatch.setattr(search_index, "_trgm_schema", lambda conn: None)
    with store.engine.begin() as conn:
        search_index.drop(conn)
        assert search_index.create(conn) is False
    with store.engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT indexname FROM pg_indexes "
                "WHERE tablename = 'hits' AND schemaname = current_schema()"
            )
        )
        assert search_index.SENDER_TRGM not in set(names.scalars())
    assert len(ids(store, "real_deal", index=False)) == 1
    assert ids(store, "real%deal", index=False) == []
