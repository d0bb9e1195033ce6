"""Recording hits: one observed contact in, a durable, attributed hit out.

`record` stores the evidence, attributes each hit to its candidate copies, files it
in an incident, queues its alert and links it into the hash chain, all in one
transaction.

The listeners split that in two so they can answer at the speed of a commit:
`receive_in` stores the raw evidence and the hit as ``pending`` with a `HitInbox` row
(the listener acknowledges once that is committed), and `attribute_pending` later
takes inbox rows, oldest first, and does the rest in one transaction per batch. A
crash between the two leaves the inbox rows, which the next `attribute_pending` takes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, configure_mappers

from canary.hits import attribution, incidents
from canary.identifiers import normalize_email, normalize_phone
from canary.store import chain, copy_counts, hit_tallies
from canary.store.engine import Store
from canary.store.models import Blob, Hit, HitCopy, HitInbox
from canary.text import fold, safe_text
from canary.vocabulary import Channel

log = logging.getLogger(__name__)

CHANNELS = tuple(Channel)
MAX_SUMMARY = 500
MAX_SENDER = 500
#: How much of a message's text search keeps (folded), per hit.
MAX_SEARCH_TEXT = 20000


@dataclass
class Observation:
    """One contact to one identifier, as a listener saw it. Everything here is hostile."""

    channel: str
    identifier: str
    sender: str = ""
    summary: str = ""
    provider: str = ""
    provider_message_id: str | None = None
    evidence: bytes | None = None
    evidence_type: str = "application/octet-stream"
    details: dict[str, Any] = field(default_factory=dict)
    observed_at: datetime | None = None
    #: Free text of the message, used to narrow shared phone numbers by canary names.
    text: str = ""
    #: The SHA-256 (hex) of `evidence` when the listener already has it (a whole message
    #: it hashed as it came in), so a large one is not hashed again in the commit.
    evidence_sha256: str | None = None


@dataclass
class Recorded:
    hit_id: int
    duplicate: bool
    copies: list[str]
    classification: str


def clip(value: str, limit: int) -> str:
    """Bound a hostile string for the store: canary.text.safe_text, lines and tabs kept."""
    if value.__class__ is str and len(value) <= limit and value.isascii() and value.isprintable():
        return value  # safe_text's own first test, without its call (a dozen per webhook)
    return safe_text(value, limit, keep_lines=True)


def normalize_observed(obs: Observation) -> tuple[str, str]:
    """(kind, normalised identifier) of what was contacted."""
    ident = obs.identifier.strip()
    if "@" in ident and not ident.lower().startswith("whatsapp:"):
        return "email", normalize_email(ident)
    e164 = normalize_phone(ident, strict=False)
    return "phone", e164 or clip(ident, 100)


def _store_blobs(
    session: Session, blobs: dict[str, tuple[bytes, str]], now: datetime | None = None
) -> None:
    """Insert evidence blobs not stored yet (same bytes, same key: a conflict is a no-op)."""
    if not blobs:
        return
    created = now or datetime.now(UTC)
    rows = [
        {
            "sha256": sha,
            "size": len(data),
            "data": data,
            "content_type": ctype,
            "created_at": created,
        }
        for sha, (data, ctype) in blobs.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        mod = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = mod(cast(Table, Blob.__table__)).on_conflict_do_nothing(index_elements=["sha256"])
        session.connection().execute(stmt, rows)
        return
    for row in rows:  # other backends: one savepoint each
        if session.get(Blob, row["sha256"]) is None:
            try:
                with session.begin_nested():
                    session.add(Blob(**row))
            except IntegrityError:
                pass


def record(store: Store, observations: list[Observation]) -> list[Recorded]:
    """Commit hits for `observations` (one transaction); a repeated provider id is a duplicate."""
    with store.session() as session:
        out = record_in(session, observations)
    return out


def _existing(session: Session, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Hit]:
    if not keys:
        return {}
    rows = session.scalars(select(Hit).where(_stored_keys(keys))).all()
    found = {(h.provider, h.provider_message_id or "", h.identifier): h for h in rows}
    return {k: h for k, h in found.items() if k in keys}


def _stored_keys(keys: set[tuple[str, str, str]]) -> ColumnElement[bool]:
    """Hits whose provider and message id are among `keys` (provider, message id, identifier).

    By provider, then message ids: the unique index on (provider, message id,
    identifier) is searched, where message ids alone scanned all of it on every commit.
    """
    by_provider: dict[str, set[str]] = {}
    for provider, msg_id, _ in keys:
        by_provider.setdefault(provider, set()).add(msg_id)
    h = _HITS.c
    return or_(
        *(
            and_(h.provider == provider, h.provider_message_id.in_(sorted(ids)))
            for provider, ids in sorted(by_provider.items())
        )
    )


_Prepared = tuple[Observation, str, str, str, str | None]


def _prepare(observations: list[Observation]) -> list[_Prepared]:
    """Each observation with its identifier's kind and normal form, provider and message
    id, bounded: what deduplication and the hit row are made from."""
    prepared = []
    for obs in observations:
        kind, ident = normalize_observed(obs)
        provider = clip(obs.provider, 30)
        msg_id = clip(obs.provider_message_id, 300) if obs.provider_message_id else None
        prepared.append((obs, kind, ident, provider, msg_id))
    return prepared


def _hit_values(
    obs: Observation,
    kind: str,
    ident: str,
    provider: str,
    msg_id: str | None,
    blobs: dict[str, tuple[bytes, str]],
    now: datetime,
) -> dict[str, Any]:
    """A hit row's columns for an observation, bounded; its evidence joins `blobs`."""
    sha = None
    if obs.evidence:
        sha = obs.evidence_sha256 or hashlib.sha256(obs.evidence).hexdigest()
        blobs.setdefault(sha, (obs.evidence, obs.evidence_type))
    return {
        "observed_at": (obs.observed_at or now).astimezone(UTC),
        "channel": obs.channel if obs.channel in CHANNELS else "webhook",
        "identifier": ident,
        "identifier_kind": kind,
        "sender": clip(obs.sender, MAX_SENDER),
        "summary": clip(obs.summary, MAX_SUMMARY),
        "provider": provider,
        "provider_message_id": msg_id,
        "evidence_sha256": sha,
        "details": obs.details,
    }


def search_text(text: str) -> str:
    """What search keeps of a message's text: folded and bounded."""
    return fold(text[: MAX_SEARCH_TEXT * 2])[:MAX_SEARCH_TEXT]


def record_in(session: Session, observations: list[Observation]) -> list[Recorded]:
    """`record` inside the caller's session: a whole batch in a few bulk statements."""
    prepared = _prepare(observations)
    existing = _existing(session, {(p, m, i) for _, _, i, p, m in prepared if m})
    blobs: dict[str, tuple[bytes, str]] = {}
    slots: list[Hit | tuple[str, str, str]] = []
    new_hits: list[Hit] = []
    batch_keys: dict[tuple[str, str, str], Hit] = {}
    lookups: dict[tuple[str, str], Any] = {}
    for obs, kind, ident, provider, msg_id in prepared:
        key = (provider, msg_id or "", ident)
        if msg_id and (key in existing or key in batch_keys):
            slots.append(key)
            continue
        hit = Hit(
            **_hit_values(obs, kind, ident, provider, msg_id, blobs, datetime.now(UTC)),
            search_text=search_text(obs.text),
        )
        result = attribution.attribute(session, hit, text=obs.text, cache=lookups)
        hit.classification = result.classification
        hit.candidates = result.candidates
        new_hits.append(hit)
        slots.append(hit)
        if msg_id:
            batch_keys[key] = hit
    _store_blobs(session, blobs)
    if new_hits:
        _insert_hits(session, new_hits)
    results: list[Recorded] = []
    for slot in slots:
        if isinstance(slot, Hit):
            results.append(
                Recorded(slot.id, False, [c.copy_id for c in slot.candidates], slot.classification)
            )
        else:
            h = existing.get(slot) or batch_keys[slot]
            results.append(
                Recorded(h.id, True, [c.copy_id for c in h.candidates], h.classification)
            )
    return results


def _insert_hits(session: Session, new_hits: list[Hit]) -> None:
    """Write new hits, their candidates, incidents and chain links with bulk statements.

    The `Hit` objects stay transient (never added to the session): they carry the
    values, and get their ids from the INSERT ... RETURNING. One statement per table
    for the whole batch instead of the unit of work's bookkeeping per object, which
    was most of the cost of a hit. Incidents are assigned before the insert so the
    hit rows are written once, complete.
    """
    plan = incidents.assign(session, new_hits)
    rows = [{c: getattr(h, c) for c in _HIT_COLUMNS} for h in new_hits]
    # Core statements on the session's connection: no ORM bookkeeping per row or statement.
    conn = session.connection()
    ids = insert_hit_rows(conn, rows)
    for hit, hit_id in zip(new_hits, ids, strict=True):
        hit.id = hit_id
    hit_tallies.received(conn, [(h.observed_at, h.channel) for h in new_hits])
    _link(session, new_hits, plan)


def insert_hit_rows(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert hit rows; their new ids, in the rows' order.

    On SQLite one multi-row INSERT ... RETURNING per page of rows (SQLAlchemy's
    "insertmanyvalues"), not one statement per row: SQLAlchemy can only keep the
    parameters' order on SQLite by inserting row by row, and each statement on `hits`
    flushes its full-text (trigram) indexes, which made a hit cost 0.2 ms of SQLite
    time instead of 0.05. The order comes back by sorting: SQLite gives each new row
    the largest id so far plus one, so ids grow in insertion order, which the check
    that they are consecutive confirms (the write lock keeps other writers out).
    """
    insert_hits = insert(_HITS)
    if conn.dialect.name != "sqlite":
        return list(
            conn.execute(
                insert_hits.returning(_HITS.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
    ids = sorted(conn.execute(insert_hits.returning(_HITS.c.id), rows).scalars())
    if len(ids) != len(rows) or (ids and ids[-1] - ids[0] != len(ids) - 1):
        raise RuntimeError(f"new hit ids are not consecutive: {ids[:3]}...{ids[-3:]}")
    return ids


def _link(session: Session, new_hits: list[Hit], plan: incidents.Plan) -> None:
    """Candidates, incident counters and alerts, and chain links of hits that have ids."""
    conn = session.connection()
    candidates = []
    for h in new_hits:
        for c in h.candidates:
            c.hit_id = h.id
            candidates.append({k: getattr(c, k) for k in _CANDIDATE_COLUMNS})
    if candidates:
        conn.execute(insert(_CANDIDATES), candidates)
    copy_counts.hits_changed(
        conn,
        [
            ([c.copy_id for c in h.candidates], 1)
            for h in new_hits
            if h.classification == copy_counts.EVIDENCE and h.candidates
        ],
    )
    hit_tallies.attributed(
        conn,
        [
            (h.observed_at, best)
            for h in new_hits
            if (best := next((c.copy_id for c in h.candidates if c.rank == 0), None))
        ],
    )
    incidents.finish(session, plan)
    chain.extend(session, [("hit", str(h.id), chain.hit_record(h)) for h in new_hits])


def receive_in(session: Session, observations: list[Observation]) -> list[Recorded]:
    """Store hits as pending with their evidence and inbox rows; attribute nothing.

    What a listener commits before it answers: the raw evidence and the hit, bounded
    and deduplicated as `record_in` does, without reading a canary. Plain rows and
    bulk statements (no ORM objects): this is the cost every acknowledgement pays. A
    repeated provider id is a duplicate of the stored hit, pending or attributed.
    `attribute_pending` does the rest.
    """
    now = datetime.now(UTC)
    prepared = _prepare(observations)
    keys = {(p, m, i) for _, _, i, p, m in prepared if m}
    conn = session.connection()
    pipelined = _pipelined(conn)
    reserved: list[int] = []
    if pipelined is not None:
        existing, reserved = _pg_existing_and_ids(conn, pipelined, keys, len(prepared))
    else:
        existing = _existing_ids(session, keys)
    blobs: dict[str, tuple[bytes, str]] = {}
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    slots: list[int | tuple[str, str, str]] = []
    batch_keys: dict[tuple[str, str, str], int] = {}
    for obs, kind, ident, provider, msg_id in prepared:
        key = (provider, msg_id or "", ident)
        if msg_id and (key in existing or key in batch_keys):
            slots.append(key)
            continue
        rows.append(
            {
                **_hit_values(obs, kind, ident, provider, msg_id, blobs, now),
                "classification": PENDING,
                "incident_id": None,
            }
        )
        texts.append(obs.text[:MAX_INBOX_TEXT])
        slots.append(len(rows) - 1)
        if msg_id:
            batch_keys[key] = len(rows) - 1
    if pipelined is not None:
        ids = reserved[: len(rows)]
        _write_pending_pipelined(conn, pipelined, blobs, rows, texts, ids, now)
    else:
        write = _WRITE_PENDING.get(conn.dialect.name, _write_pending)
        ids = write(session, blobs, rows, texts, now)
        if rows:
            hit_tallies.received(conn, [(r["observed_at"], r["channel"]) for r in rows])
    copies = _copies_of(session, [existing[k][0] for k in existing if existing[k][1] != PENDING])
    out: list[Recorded] = []
    for slot in slots:
        if isinstance(slot, int):
            out.append(Recorded(ids[slot], False, [], PENDING))
        elif slot in batch_keys:
            out.append(Recorded(ids[batch_keys[slot]], True, [], PENDING))
        else:
            hit_id, cls = existing[slot]
            out.append(Recorded(hit_id, True, copies.get(hit_id, []), cls))
    return out


def _write_pending(
    session: Session,
    blobs: dict[str, tuple[bytes, str]],
    rows: list[dict[str, Any]],
    texts: list[str],
    now: datetime,
) -> list[int]:
    """`receive_in`'s evidence, hits (ids returned in order) and inbox rows."""
    _store_blobs(session, blobs, now)
    if not rows:
        return []
    conn = session.connection()
    ids = insert_hit_rows(conn, rows)
    conn.execute(
        insert(_INBOX),
        [
            {"hit_id": hit_id, "text": text, "received_at": now}
            for hit_id, text in zip(ids, texts, strict=True)
        ],
    )
    return ids


def sqlite_time(at: datetime) -> str:
    """A datetime as the store keeps it on SQLite (UTC, naive text, as SQLAlchemy writes it)."""
    u = at.astimezone(UTC) if at.tzinfo is not None else at
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}"
    )


#: The hit columns `_write_pending_sqlite` writes, in its values' order (search_text
#: keeps its default, "", until attribution).
_PENDING_COLUMNS = (
    "observed_at",
    "channel",
    "identifier",
    "identifier_kind",
    "sender",
    "summary",
    "provider",
    "provider_message_id",
    "evidence_sha256",
    "details",
    "classification",
    "incident_id",
)


def _pending_values(r: dict[str, Any], observed: Any) -> tuple[Any, ...]:
    """A pending hit's row in `_PENDING_COLUMNS`' order, its time as `observed` (as the
    store's driver takes it), its details as JSON."""
    return (
        observed,
        r["channel"],
        r["identifier"],
        r["identifier_kind"],
        r["sender"],
        r["summary"],
        r["provider"],
        r["provider_message_id"],
        r["evidence_sha256"],
        json.dumps(r["details"]),
        r["classification"],
        r["incident_id"],
    )


_SQLITE_BLOBS = (
    "INSERT INTO blobs (sha256, size, data, content_type, created_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (sha256) DO NOTHING"
)
_SQLITE_INBOX = "INSERT INTO hit_inbox (hit_id, text, received_at) VALUES (?, ?, ?)"
#: Hits per INSERT statement (SQLite allows 32,766 parameters).
_SQLITE_PAGE = 1000


def _write_pending_sqlite(
    session: Session,
    blobs: dict[str, tuple[bytes, str]],
    rows: list[dict[str, Any]],
    texts: list[str],
    now: datetime,
) -> list[int]:
    """`_write_pending` on SQLite, through the driver.

    The same values SQLAlchemy would write (times as its text, details as JSON), without
    its per-value processing, which cost about as much as SQLite's own work on a hit.
    A page of hits goes in one INSERT ... RETURNING (see `insert_hit_rows`).
    """
    conn = session.connection()
    stamp = sqlite_time(now)
    if blobs:
        conn.exec_driver_sql(
            _SQLITE_BLOBS,
            [(sha, len(data), data, ctype, stamp) for sha, (data, ctype) in blobs.items()],
        )
    ids: list[int] = []
    for start in range(0, len(rows), _SQLITE_PAGE):
        page = rows[start : start + _SQLITE_PAGE]
        values: list[Any] = []
        for r in page:
            values += _pending_values(r, sqlite_time(r["observed_at"]))
        marks = "(" + ", ".join(["?"] * len(_PENDING_COLUMNS)) + ")"
        got = sorted(
            conn.exec_driver_sql(
                f"INSERT INTO hits ({', '.join(_PENDING_COLUMNS)}) VALUES "
                f"{', '.join([marks] * len(page))} RETURNING id",
                tuple(values),
            ).scalars()
        )
        if len(got) != len(page) or got[-1] - got[0] != len(got) - 1:
            raise RuntimeError(f"new hit ids are not consecutive: {got[:3]}...{got[-3:]}")
        ids += got
    if ids:
        conn.exec_driver_sql(
            _SQLITE_INBOX,
            [(hit_id, text, stamp) for hit_id, text in zip(ids, texts, strict=True)],
        )
    return ids


_PG_BLOBS = _SQLITE_BLOBS.replace("?", "%s")
_PG_INBOX = _SQLITE_INBOX.replace("?", "%s")
#: New hit ids, taken from the hits' sequence before the insert.
_PG_IDS = "SELECT nextval(pg_get_serial_sequence('hits', 'id')) FROM generate_series(1, %s)"


def _write_pending_postgresql(
    session: Session,
    blobs: dict[str, tuple[bytes, str]],
    rows: list[dict[str, Any]],
    texts: list[str],
    now: datetime,
) -> list[int]:
    """`_write_pending` on PostgreSQL, through the driver (psycopg sends a batch's rows
    of each statement together).

    The same values SQLAlchemy would write (details as JSON), without its per-value
    processing and the bookkeeping that keeps RETURNING in the parameters' order: the
    ids are taken from the hits' sequence first, so each row is written with its own.
    """
    conn = session.connection()
    ids = [int(i) for i in conn.exec_driver_sql(_PG_IDS, (len(rows),)).scalars()] if rows else []
    for sql, params in _pg_pending_statements(blobs, rows, texts, ids, now):
        conn.exec_driver_sql(sql, params)
    return ids


def _pg_pending_statements(
    blobs: dict[str, tuple[bytes, str]],
    rows: list[dict[str, Any]],
    texts: list[str],
    ids: list[int],
    now: datetime,
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements that write a batch's evidence, pending hits (with the `ids`
    taken for them) and inbox rows on PostgreSQL, each with its rows of parameters."""
    out: list[tuple[str, list[tuple[Any, ...]]]] = []
    if blobs:
        out.append(
            (
                _PG_BLOBS,
                [(sha, len(data), data, ctype, now) for sha, (data, ctype) in blobs.items()],
            )
        )
    if rows:
        marks = ", ".join(["%s"] * (len(_PENDING_COLUMNS) + 1))
        hits = [
            (hit_id, *_pending_values(r, r["observed_at"]))
            for hit_id, r in zip(ids, rows, strict=True)
        ]
        out.append((f"INSERT INTO hits (id, {', '.join(_PENDING_COLUMNS)}) VALUES ({marks})", hits))
        out.append((_PG_INBOX, [(i, text, now) for i, text in zip(ids, texts, strict=True)]))
    return out


_WRITE_PENDING = {"sqlite": _write_pending_sqlite, "postgresql": _write_pending_postgresql}

#: `_stored_key_rows`' query on PostgreSQL (a page of message ids of one provider).
_PG_STORED = (
    "SELECT id, classification, provider, provider_message_id, identifier FROM hits "
    "WHERE provider = %s AND provider_message_id = ANY(%s)"
)


def _pipelined(conn: Connection) -> Any:
    """The psycopg connection under `conn` when it can pipeline (PostgreSQL through
    psycopg 3), else None: `receive_in` then sends its statements in two batches, not
    one round trip each."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    raw = conn.connection.driver_connection
    return raw if hasattr(raw, "pipeline") else None


@contextmanager
def _driver_errors(conn: Connection) -> Iterator[None]:
    """Statements sent through `conn`'s driver: its errors come out as SQLAlchemy's
    (DBAPIError: the group committer retries a busy store or a race on it)."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc


def _pg_existing_and_ids(
    conn: Connection, raw: Any, keys: set[tuple[str, str, str]], wanted: int
) -> tuple[dict[tuple[str, str, str], tuple[int, str]], list[int]]:
    """`_existing_ids` and `wanted` new hit ids from the sequence, in one round trip.

    Ids are taken for every observation before knowing which are duplicates: a
    duplicate's id is left unused (a gap, as a rolled back insert leaves)."""
    by_provider: dict[str, list[str]] = {}
    for provider, msg_id, _ in sorted(keys):
        by_provider.setdefault(provider, []).append(msg_id)
    found: list[Any] = []
    ids: list[int] = []
    with _driver_errors(conn), raw.pipeline():
        lookups = []
        for provider, msg_ids in by_provider.items():
            cur = raw.cursor()
            cur.execute(_PG_STORED, (provider, list(dict.fromkeys(msg_ids))))
            lookups.append(cur)
        numbers = raw.cursor()
        if wanted:
            numbers.execute(_PG_IDS, (wanted,))
        for cur in lookups:
            found.extend(cur.fetchall())
        if wanted:
            ids.extend(int(row[0]) for row in numbers.fetchall())
    stored = {(p, m or "", i): (hit_id, cls) for hit_id, cls, p, m, i in found}
    return {k: v for k, v in stored.items() if k in keys}, ids


def _write_pending_pipelined(
    conn: Connection,
    raw: Any,
    blobs: dict[str, tuple[bytes, str]],
    rows: list[dict[str, Any]],
    texts: list[str],
    ids: list[int],
    now: datetime,
) -> None:
    """`_write_pending_postgresql` and the channel tallies, sent in one round trip (the
    ids were taken beforehand, `_pg_existing_and_ids`)."""
    if not blobs and not rows:
        return
    tally_sql, tally_rows = hit_tallies.received_upsert(
        "postgresql", [(r["observed_at"], r["channel"]) for r in rows]
    )
    with _driver_errors(conn), raw.pipeline():
        cur = raw.cursor()
        for sql, params in _pg_pending_statements(blobs, rows, texts, ids, now):
            cur.executemany(sql, params)
        if rows:
            cur.executemany(tally_sql, tally_rows)


def _existing_ids(
    session: Session, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(id, classification) of the stored hits with these (provider, message id, identifier)."""
    if not keys:
        return {}
    conn = session.connection()
    if conn.dialect.name in _MARK:  # through the driver: building the statement cost more
        rows: Any = _stored_key_rows(conn, keys)
    else:
        h = _HITS.c
        rows = conn.execute(
            select(h.id, h.classification, h.provider, h.provider_message_id, h.identifier).where(
                _stored_keys(keys)
            )
        )
    found = {
        (r.provider, r.provider_message_id or "", r.identifier): (r.id, r.classification)
        for r in rows
    }
    return {k: v for k, v in found.items() if k in keys}


#: The driver's parameter mark, for the stores whose hits are written through it.
_MARK = {"sqlite": "?", "postgresql": "%s"}


def _stored_key_rows(conn: Connection, keys: set[tuple[str, str, str]]) -> list[Any]:
    """`_existing_ids`' rows through the driver: one query per provider, searching the
    unique index on (provider, message id, identifier) as `_stored_keys` does, its ids a
    page at a time."""
    mark = _MARK[conn.dialect.name]
    by_provider: dict[str, list[str]] = {}
    for provider, msg_id, _ in sorted(keys):
        by_provider.setdefault(provider, []).append(msg_id)
    out: list[Any] = []
    for provider, ids in by_provider.items():
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), _SQLITE_PAGE):
            page = ids[start : start + _SQLITE_PAGE]
            out += conn.exec_driver_sql(
                "SELECT id, classification, provider, provider_message_id, identifier "
                f"FROM hits WHERE provider = {mark} AND provider_message_id IN "
                f"({', '.join([mark] * len(page))})",
                (provider, *page),
            ).all()
    return out


def _copies_of(session: Session, hit_ids: list[int]) -> dict[int, list[str]]:
    """Candidate copies of these hits, best first."""
    if not hit_ids:
        return {}
    c = _CANDIDATES.c
    out: dict[int, list[str]] = {}
    for hit_id, copy_id in session.connection().execute(
        select(c.hit_id, c.copy_id).where(c.hit_id.in_(hit_ids)).order_by(c.hit_id, c.rank)
    ):
        out.setdefault(hit_id, []).append(copy_id)
    return out


def attribute_pending(
    session: Session, limit: int = 64, skip: Collection[int] = ()
) -> list[Recorded]:
    """Attribute up to `limit` inbox hits, oldest first, in the caller's transaction.

    Claims the rows by deleting them first (another worker, in this process or
    another, cannot take them too: on PostgreSQL it skips rows already claimed; on
    SQLite the delete takes the write lock), then classifies each hit, writes its
    candidates, files its incident and queues its alert, and links it into the chain,
    as `record_in` does in one go. Returns one `Recorded` per hit attributed. Hits in
    `skip` (whose attribution failed alone) are left in the inbox.
    """
    conn = session.connection()
    t = _INBOX.c
    oldest = select(t.hit_id).order_by(t.hit_id).limit(limit)
    if skip:
        oldest = oldest.where(t.hit_id.not_in(list(skip)))
    if conn.dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = conn.execute(
        delete(_INBOX).where(t.hit_id.in_(oldest.scalar_subquery())).returning(t.hit_id, t.text)
    ).all()
    if not claimed:
        return []
    texts = {hit_id: text for hit_id, text in claimed}
    rows = conn.execute(
        select(_HITS).where(_HITS.c.id.in_(list(texts))).order_by(_HITS.c.id)
    ).mappings()
    hits = [_hit_from_row(dict(row)) for row in rows]
    lookups: dict[tuple[str, str], Any] = {}
    for hit in hits:
        result = attribution.attribute(session, hit, text=texts[hit.id], cache=lookups)
        hit.classification = result.classification
        hit.candidates = result.candidates
    plan = incidents.assign(session, hits)
    _set_attributed(
        conn, [(h.id, h.classification, h.incident_id, search_text(texts[h.id])) for h in hits]
    )
    _link(session, hits, plan)
    return [
        Recorded(h.id, False, [c.copy_id for c in h.candidates], h.classification) for h in hits
    ]


def _hit_from_row(row: Mapping[str, Any]) -> Hit:
    """A transient Hit holding a stored row's values, put in its dict as the ORM's
    loading does: `Hit(**row)` fired an attribute event per column, a sixth of the
    attribution's time. Never added to a session: the batch writes it with statements."""
    configure_mappers()  # what Hit() does first (at once once done): a fresh process
    hit = _new_hit()
    hit.__dict__.update(row)
    return hit


#: Rows per UPDATE ... FROM (VALUES ...) statement on SQLite (4 parameters each).
_UPDATE_PAGE = 500


def _set_attributed(conn: Connection, rows: list[tuple[int, str, int | None, str]]) -> None:
    """Set (hit id, classification, incident id, search text) of attributed hits.

    On SQLite one UPDATE ... FROM (VALUES ...) statement per page of rows rather than
    one per hit: each statement that changes `search_text` flushes the hits' trigram
    index (its trigger), which per hit cost more than the rest of the attribution.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(
            update(_HITS)
            .where(_HITS.c.id == bindparam("hid"))
            .values(
                classification=bindparam("cls"),
                incident_id=bindparam("iid"),
                search_text=bindparam("text"),
            ),
            [{"hid": h, "cls": c, "iid": i, "text": t} for h, c, i, t in rows],
        )
        return
    for start in range(0, len(rows), _UPDATE_PAGE):
        page = rows[start : start + _UPDATE_PAGE]
        values = ", ".join(["(?, ?, ?, ?)"] * len(page))
        conn.exec_driver_sql(
            "UPDATE hits SET classification = v.column2, incident_id = v.column3, "
            f"search_text = v.column4 FROM (VALUES {values}) AS v WHERE hits.id = v.column1",
            tuple(x for row in page for x in row),
        )


def oldest_pending(session: Session, skip: Collection[int] = ()) -> int | None:
    """The id of the oldest hit waiting in the inbox (not in `skip`), if any."""
    q = select(_INBOX.c.hit_id).order_by(_INBOX.c.hit_id).limit(1)
    if skip:
        q = q.where(_INBOX.c.hit_id.not_in(list(skip)))
    return session.scalar(q)


def pending_count(session: Session) -> int:
    """How many hits wait in the inbox for attribution."""
    return int(session.scalar(select(func.count()).select_from(_INBOX)) or 0)


PENDING = "pending"
#: Message text kept for attribution (as much as `attribution` reads of it).
MAX_INBOX_TEXT = attribution.MAX_TEXT
_INBOX = cast(Table, HitInbox.__table__)
_HITS = cast(Table, Hit.__table__)
_CANDIDATES = cast(Table, HitCopy.__table__)
_HIT_COLUMNS = [c.key for c in _HITS.columns if c.key != "id"]
_new_hit = cast(Callable[[], Hit], Hit.__mapper__.class_manager.new_instance)
_CANDIDATE_COLUMNS = [c.key for c in _CANDIDATES.columns]
