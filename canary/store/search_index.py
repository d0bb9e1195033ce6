"""Trigram indexes serving `canary hits --sender/--recipient` (substring, any case).

The filters are `lower(column) LIKE '%text%'` with the text's LIKE metacharacters
escaped: a substring match no B-tree serves. What serves it:

- PostgreSQL: GIN indexes of pg_trgm on `lower(hits.sender)` and `lower(copies.recipient)`.
  The planner uses them for the same LIKE (the index is lossy; PostgreSQL rechecks
  every row with the LIKE itself), so the query does not change. pg_trgm must be
  installed (`CREATE EXTENSION pg_trgm`, which PostgreSQL 13+ lets a database owner do);
  when it cannot be, the indexes are skipped with a warning and the filters scan, as
  before.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+) over `hits.sender`,
  kept by triggers on `hits` (every writer, bulk or not). It narrows the hits to the
  rows holding the text's trigrams in sequence, case folded; the LIKE is still applied
  to those rows, so the result is exactly the plain scan's. (Folding is per character,
  so every row the LIKE matches, whose text differs from the pattern at most in ASCII
  case, is among them.) Text under 3 characters, which trigrams cannot find, and text
  so common that reading the newest hits finds a page sooner, scan as before.
"""

from __future__ import annotations

import logging

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

#: SQLite: the FTS5 table over hits.sender (external content: it stores only the index).
SENDER_FTS = "hits_sender_trigrams"
#: PostgreSQL: the GIN trigram indexes.
SENDER_TRGM = "ix_hits_sender_trgm"
RECIPIENT_TRGM = "ix_copies_recipient_trgm"
#: Schema objects the models do not declare (the migration creates them when it can):
#: compare the models with a store leaving these out.
UNDECLARED = frozenset(
    {
        SENDER_TRGM,
        RECIPIENT_TRGM,
        SENDER_FTS,
        *(f"{SENDER_FTS}_{s}" for s in ("data", "idx", "docsize", "config", "content")),
    }
)
#: Above this many rows holding the text's trigrams, the newest hits are read in order
#: instead (each hit then matches with a chance over 1 in 100, so a page of 100 comes
#: within about 10,000 * 100 / CAP rows read), under it the index's rows are read.
CAP = 10_000


def create(conn: Connection) -> bool:
    """Create the trigram indexes for this backend and fill them; False when not possible."""
    if conn.dialect.name == "sqlite":
        return _create_sqlite(conn)
    if conn.dialect.name == "postgresql":
        return _create_postgresql(conn)
    return False


def drop(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for suffix in ("ai", "ad", "au"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {SENDER_FTS}_{suffix}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {SENDER_FTS}"))
    elif conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP INDEX IF EXISTS {SENDER_TRGM}"))
        conn.execute(text(f"DROP INDEX IF EXISTS {RECIPIENT_TRGM}"))


def _create_sqlite(conn: Connection) -> bool:
    try:
        conn.execute(
            text(
                f"CREATE VIRTUAL TABLE {SENDER_FTS} USING fts5(sender, content='hits', "
                "content_rowid='id', tokenize='trigram')"
            )
        )
    except DBAPIError as exc:  # no FTS5, or SQLite before 3.34 (no trigram tokenizer)
        log.warning("no trigram index for the sender filter (it scans): %s", exc.orig)
        return False
    t = SENDER_FTS
    conn.execute(
        text(
            f"CREATE TRIGGER {t}_ai AFTER INSERT ON hits BEGIN "
            f"INSERT INTO {t}(rowid, sender) VALUES (new.id, new.sender); END"
        )
    )
    conn.execute(
        text(
            f"CREATE TRIGGER {t}_ad AFTER DELETE ON hits BEGIN "
            f"INSERT INTO {t}({t}, rowid, sender) VALUES ('delete', old.id, old.sender); END"
        )
    )
    conn.execute(
        text(
            f"CREATE TRIGGER {t}_au AFTER UPDATE OF sender ON hits BEGIN "
            f"INSERT INTO {t}({t}, rowid, sender) VALUES ('delete', old.id, old.sender); "
            f"INSERT INTO {t}(rowid, sender) VALUES (new.id, new.sender); END"
        )
    )
    conn.execute(text(f"INSERT INTO {t}({t}) VALUES ('rebuild')"))
    return True


def _trgm_schema(conn: Connection) -> str | None:
    """The schema pg_trgm is installed in, installing it in `public` if it is not."""
    found = conn.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except DBAPIError as exc:
        log.warning(
            "pg_trgm cannot be installed (%s): the sender and recipient filters of "
            "`canary hits` scan; a superuser can run CREATE EXTENSION pg_trgm and "
            "`canary` will index them on its next migration",
            str(exc.orig).strip().splitlines()[0],
        )
        return None
    return "public"


def _create_postgresql(conn: Connection) -> bool:
    schema = _trgm_schema(conn)
    if schema is None:
        return False
    ops = f'"{schema}".gin_trgm_ops'
    conn.execute(text(f"CREATE INDEX {SENDER_TRGM} ON hits USING gin (lower(sender) {ops})"))
    conn.execute(
        text(f"CREATE INDEX {RECIPIENT_TRGM} ON copies USING gin (lower(recipient) {ops})")
    )
    return True


def sqlite_has_sender_index(conn: Connection) -> bool:
    return (
        conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
            {"n": SENDER_FTS},
        ).first()
        is not None
    )


def sender_rows(conn: Connection, needle: str) -> Select[int] | None:
    """SQLite: a query of the ids of the hits whose sender holds `needle`'s trigrams in
    sequence (case folded): a superset of those whose sender contains it, ignoring ASCII
    case. None when the index cannot narrow the scan usefully: no index, a needle under
    3 characters, or more than CAP such hits."""
    if conn.dialect.name != "sqlite" or len(needle) < 3 or "\x00" in needle:
        return None
    if not sqlite_has_sender_index(conn):
        return None
    fts = table(SENDER_FTS, column("rowid"))
    phrase = '"' + needle.replace('"', '""') + '"'
    rows = (
        select(literal_column("rowid", Integer).label("id"))
        .select_from(fts)
        .where(literal_column(SENDER_FTS).op("MATCH")(phrase))
    )
    n = conn.execute(select(func.count()).select_from(rows.limit(CAP + 1).subquery())).scalar()
    if n is None or n > CAP:
        return None
    return rows
