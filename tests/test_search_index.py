"""Search served by trigram indexes (names, senders, summaries, message text) gives
exactly the plain scan's results: substring, any case, LIKE metacharacters and quotes
literal, accents as the backend's lower() treats them, short texts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from canary.hits.record import Observation, record
from canary.investigate.search import SearchFilter, search
from canary.store import search_index
from canary.store.engine import Store
from tests.registry_support import DOMAIN, T0, Person, build
from tests.test_sender_index import NEEDLES, SENDERS

#: Names as older registers wrote them (case, accents) and as `canary issue` folds them.
NAMES = [
    "JOSÉ PÉREZ Gómez",
    "José Pérez Soto",
    "ÁNGEL Ruiz",
    "ángel ruiz",
    "Zoë O'Brien",
    "maria jose lopez garcia",
    "Straße 100% Real_Deal",
    'Say "hola" Díaz',
    "İstanbul Kaya",
    "Ana a_b Back\\slash",
]
EXTRA_NEEDLES = [
    "maria",
    "100 real",
    "lopez garcia",
    "real_deal",
    "100% real",
    "kaya",
    "ruiz",
    "pérez g",
]


@pytest.fixture
def searched(store: Store) -> Iterator[Store]:
    people = {
        f"Copia {i}": [Person(name, f"p{i}@{DOMAIN}", f"+52 844 555 {1000 + i:04d}")]
        for i, name in enumerate(NAMES)
    }
    build(store, people)
    observations = []
    for i, s in enumerate(SENDERS):
        observations.append(
            Observation(
                "smtp",
                f"nadie{i}@{DOMAIN}",
                sender=s,
                summary=SENDERS[-1 - i],
                text=f"mensaje {s} {NAMES[i % len(NAMES)]}",
                observed_at=T0 + timedelta(minutes=i),
                provider_message_id=f"m{i}",
            )
        )
    # Hits on the canaries: the name's rank lists them.
    for i in range(len(NAMES)):
        observations.append(
            Observation(
                "sms",
                f"+52 844 555 {1000 + i:04d}",
                sender="+5215550001111",
                summary="hola",
                observed_at=T0 + timedelta(hours=1, minutes=i),
                provider_message_id=f"n{i}",
            )
        )
    record(store, observations)
    yield store


def results(store: Store, needle: str) -> list[tuple[str, int, str]]:
    try:
        found = search(store, needle, SearchFilter(limit=200))
    except Exception as exc:  # a query too short is refused the same way either way
        return [("error", 0, type(exc).__name__)]
    return [(r.type, r.id, r.matched.value) for r in found.results]


def force_index(store: Store) -> None:
    """PostgreSQL: a handful of rows; make the planner take the trigram indexes."""

    def setup(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute("SET enable_indexscan = off")
        dbapi_conn.commit()  # session settings that a rollback keeps

    store.engine.dispose()
    event.listen(store.engine, "connect", setup)


def test_the_indexes_give_the_scans_results(searched: Store) -> None:
    store = searched
    needles = [n for n in [*NEEDLES, *EXTRA_NEEDLES] if len(n) >= 2]
    if store.dialect == "postgresql":
        force_index(store)
        with store.engine.connect() as conn:
            for index, where in (
                (search_index.SUMMARY, "lower(summary) LIKE '%real%'"),
                (search_index.TEXT, "search_text LIKE '%real%'"),
            ):
                plan = "\n".join(
                    conn.execute(text(f"EXPLAIN SELECT id FROM hits WHERE {where}")).scalars()
                )
                assert index.trgm in plan, plan
            # A handful of names: the B-tree on (kind, value) is cheaper here; without it
            # (dropped in a transaction rolled back), the trigram index serves the query.
            conn.rollback()
            conn.execute(text("DROP INDEX ix_identifiers_kind_value"))
            plan = "\n".join(
                conn.execute(
                    text(
                        "EXPLAIN SELECT id FROM identifiers WHERE kind = 'name' AND "
                        "(lower(value) LIKE '%ruiz%' OR lower(value) LIKE '%kaya%')"
                    )
                ).scalars()
            )
            conn.rollback()
            assert search_index.NAME.trgm in plan, plan
    else:
        with store.engine.connect() as conn:
            for index in search_index.SEARCH:
                assert search_index.matching_rows(conn, index, ["real"]) is not None
            assert search_index.matching_rows(conn, search_index.NAME, ["ruiz", "ab"]) is None
    indexed = {n: results(store, n) for n in needles}
    with store.engine.begin() as conn:
        search_index.drop(conn, search_index.SEARCH)
        search_index.drop(conn)
    with store.engine.connect() as conn:
        for index in search_index.SEARCH:
            assert search_index.matching_rows(conn, index, ["real"]) is None
    scanned = {n: results(store, n) for n in needles}
    assert indexed == scanned
    # Spot checks of the semantics both keep.
    assert {m for _, _, m in scanned["kaya"]} >= {"name", "text"}
    assert ("canary", 7, "name") in scanned["100% real"]
    assert all(r[2] != "name" for r in scanned["100 real"])  # % is a character
    assert [r for r in scanned["nadie-coincide"]] == []
    assert any(m == "subject" for _, _, m in scanned["o'brien"])


def test_the_name_index_follows_changes(sqlite_store: Store) -> None:
    """SQLite: the triggers keep the names' FTS table as the identifiers change."""
    store = sqlite_store
    build(store, {"Copia": [Person("Rigoberta Menchú", f"r@{DOMAIN}")]})

    def names(*needles: str) -> list[int] | None:
        with store.engine.connect() as conn:
            return search_index.matching_rows(conn, search_index.NAME, list(needles))

    assert names("rigoberta") is not None and len(names("rigoberta") or []) == 1
    assert names(f"r@{DOMAIN}") == []  # addresses are not names
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE identifiers SET value = 'Otra Persona' WHERE kind = 'name'"))
    assert names("rigoberta") == []
    assert len(names("otra persona") or []) == 1
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM identifiers WHERE kind = 'name'"))
    assert names("otra persona") == []
