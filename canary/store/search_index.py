"""Trigram indexes serving substring searches (any case) that no B-tree serves.

What they serve: `canary hits --sender/--recipient` (`lower(column) LIKE '%text%'`, the
text's LIKE metacharacters escaped), and search (`canary.investigate.search`): canary
names (`value LIKE '%folded%' OR lower(value) LIKE '%text%'`), hits' summaries
(`lower(summary) LIKE`) and message text (`search_text LIKE '%folded%'`).

- PostgreSQL: GIN indexes of pg_trgm on the expressions the queries compare
  (`lower(hits.sender)`, `lower(copies.recipient)`, `lower(hits.summary)`,
  `hits.search_text`, `lower(identifiers.value)` of names). The planner uses them for
  the same LIKE (the index is lossy; PostgreSQL rechecks every row with the LIKE
  itself), so the queries do not change (search adds, for names, a condition on
  `lower(value)` that the one it has implies). pg_trgm must be installed (`CREATE
  EXTENSION pg_trgm`, which PostgreSQL 13+ lets a database owner do); when it cannot
  be, the indexes are skipped with a warning and the searches scan, as before.
- SQLite: FTS5 tables with the trigram tokenizer (SQLite 3.34+) over `hits.sender`,
  `hits.summary`, `hits.search_text` and the names in `identifiers.value`, kept by
  triggers on their tables (every writer, bulk or not); the hits' leave out pending
  hits until attribution (`PENDING_LEFT_OUT`), which are added to the rows they name.
  A query narrows the rows to
  those holding the text's trigrams in sequence, case folded; the LIKE is still
  applied to those rows, so the result is exactly the plain scan's. (Folding is per
  character, so every row the LIKE matches, whose text differs from the pattern at
  most in ASCII case, is among them.) Text under 3 characters, which trigrams cannot
  find, and text so common that reading the rows in order finds a page sooner, scan
  as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    Integer,
    column,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigrams:
    """One column's trigram index: an FTS5 table on SQLite (None: not on SQLite), a GIN
    index on PostgreSQL over `expr`; `where`: only the rows it holds (both backends)."""

    table: str
    column: str
    fts: str | None
    trgm: str
    expr: str
    where: str | None = None
    #: SQLite only: the FTS table holds only the rows meeting this (the hits' tables:
    #: attributed hits, see PENDING_LEFT_OUT), besides `where`.
    fts_where: str | None = None
    #: The column whose change moves a row in or out of the rows indexed.
    moves: str = "kind"

    def fts_condition(self) -> str | None:
        """Which rows the FTS table holds (None: all)."""
        return self.where or self.fts_where

    def fts_objects(self) -> list[str]:
        """The tables FTS5 makes for it (the models do not declare them)."""
        if self.fts is None:
            return []
        return [
            self.fts,
            *(f"{self.fts}_{s}" for s in ("data", "idx", "docsize", "config", "content")),
        ]


#: SQLite: the hits' FTS tables leave out pending hits (migration 0015). A listener's
#: commit before its answer then writes no full-text index rows; the hit is indexed when
#: attribution sets its classification (the update trigger), and `matching_rows` adds
#: the pending hits to what the index names, so a search still finds them.
PENDING_LEFT_OUT = "classification <> 'pending'"
SENDER = Trigrams(
    "hits",
    "sender",
    "hits_sender_trigrams",
    "ix_hits_sender_trgm",
    "lower(sender)",
    fts_where=PENDING_LEFT_OUT,
    moves="classification",
)
RECIPIENT = Trigrams("copies", "recipient", None, "ix_copies_recipient_trgm", "lower(recipient)")
SUMMARY = Trigrams(
    "hits",
    "summary",
    "hits_summary_trigrams",
    "ix_hits_summary_trgm",
    "lower(summary)",
    fts_where=PENDING_LEFT_OUT,
    moves="classification",
)
TEXT = Trigrams(
    "hits",
    "search_text",
    "hits_text_trigrams",
    "ix_hits_text_trgm",
    "search_text",
    fts_where=PENDING_LEFT_OUT,
    moves="classification",
)
NAME = Trigrams(
    "identifiers",
    "value",
    "identifier_name_trigrams",
    "ix_identifiers_name_trgm",
    "lower(value)",
    "kind = 'name'",
)
#: Migration 0012's indexes (the filters of `canary hits`), and 0013's (search).
FILTERS = (SENDER, RECIPIENT)
SEARCH = (SUMMARY, TEXT, NAME)
#: The hits' FTS tables, which hold attributed hits only (migration 0015).
HITS = (SENDER, SUMMARY, TEXT)

#: PostgreSQL: the sender's GIN trigram index.
SENDER_TRGM = SENDER.trgm
#: Schema objects the models do not declare (the migrations create them when they can):
#: compare the models with a store leaving these out.
UNDECLARED = frozenset(name for t in (*FILTERS, *SEARCH) for name in (t.trgm, *t.fts_objects()))
#: Above this many rows holding the text's trigrams, the rows are read in order
#: instead (each then matches with a chance over 1 in 100, so a page of 100 comes
#: within about 10,000 * 100 / CAP rows read), under it the index's rows are read.
CAP = 10_000


def create(conn: Connection, indexes: Sequence[Trigrams] = FILTERS) -> bool:
    """Create the trigram indexes for this backend and fill them; False when not possible."""
    if conn.dialect.name == "sqlite":
        return all([_create_sqlite(conn, t) for t in indexes if t.fts is not None])
    if conn.dialect.name == "postgresql":
        return _create_postgresql(conn, indexes)
    return False


def drop(conn: Connection, indexes: Sequence[Trigrams] = FILTERS) -> None:
    for t in indexes:
        if conn.dialect.name == "sqlite" and t.fts is not None:
            for suffix in ("ai", "ad", "au"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {t.fts}_{suffix}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {t.fts}"))
        elif conn.dialect.name == "postgresql":
            conn.execute(text(f"DROP INDEX IF EXISTS {t.trgm}"))


def _create_sqlite(conn: Connection, t: Trigrams) -> bool:
    fts, col = t.fts, t.column
    try:
        conn.execute(
            text(
                f"CREATE VIRTUAL TABLE {fts} USING fts5({col}, content='{t.table}', "
                "content_rowid='id', tokenize='trigram')"
            )
        )
    except DBAPIError as exc:  # no FTS5, or SQLite before 3.34 (no trigram tokenizer)
        log.warning("no trigram index over %s.%s (searches scan): %s", t.table, col, exc.orig)
        return False

    cond = t.fts_condition()

    def when(row: str) -> str:
        return f"WHEN {row}.{cond} " if cond else ""

    add = f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col});"
    conn.execute(
        text(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {t.table} {when('new')}BEGIN {add} END")
    )
    conn.execute(
        text(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {t.table} {when('old')}BEGIN {remove} END")
    )
    if cond:  # a row may move in or out of the rows indexed: two triggers' work in one
        on = f"{t.column}, {t.moves}"
        update = (
            f"INSERT INTO {fts}({fts}, rowid, {col}) SELECT 'delete', old.id, old.{col} "
            f"WHERE old.{cond}; "
            f"INSERT INTO {fts}(rowid, {col}) SELECT new.id, new.{col} WHERE new.{cond};"
        )
    else:
        on, update = col, remove + " " + add
    conn.execute(
        text(f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {on} ON {t.table} BEGIN {update} END")
    )
    if cond:
        conn.execute(
            text(f"INSERT INTO {fts}(rowid, {col}) SELECT id, {col} FROM {t.table} WHERE {cond}")
        )
    else:
        conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
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
            "`canary hits` and search scan; a superuser can run CREATE EXTENSION pg_trgm "
            "and `canary` will index them on its next migration",
            str(exc.orig).strip().splitlines()[0],
        )
        return None
    return "public"


def _create_postgresql(conn: Connection, indexes: Sequence[Trigrams]) -> bool:
    schema = _trgm_schema(conn)
    if schema is None:
        return False
    ops = f'"{schema}".gin_trgm_ops'
    for t in indexes:
        where = f" WHERE {t.where}" if t.where else ""
        conn.execute(text(f"CREATE INDEX {t.trgm} ON {t.table} USING gin ({t.expr} {ops}){where}"))
    return True


def sqlite_has_index(conn: Connection, t: Trigrams) -> bool:
    return (
        conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
            {"n": t.fts},
        ).first()
        is not None
    )


def matching_rows(conn: Connection, t: Trigrams, needles: Sequence[str]) -> list[int] | None:
    """SQLite: the ids of the rows whose column holds the trigrams of one of `needles`
    in sequence (case folded), and for the hits' indexes the pending hits, which they
    do not hold yet: a superset of those whose column contains one of them, ignoring
    ASCII case. None when the index cannot narrow the scan usefully: no index,
    a needle under 3 characters, or more than CAP such rows. (The ids are read once:
    the phrase query, which reads the posting list of every trigram, is the cost.)"""
    if conn.dialect.name != "sqlite" or t.fts is None or not needles:
        return None
    if any(len(n) < 3 or "\x00" in n for n in needles):
        return None
    if not sqlite_has_index(conn, t):
        return None
    fts = table(t.fts, column("rowid"))
    query = " OR ".join('"' + n.replace('"', '""') + '"' for n in dict.fromkeys(needles))
    rows = (
        select(literal_column("rowid", Integer))
        .select_from(fts)
        .where(literal_column(t.fts).op("MATCH")(query))
        .limit(CAP + 1)
    )
    ids = [int(i) for i in conn.execute(rows).scalars()]
    if len(ids) > CAP:
        return None
    if t.fts_where is not None:  # (a store before 0015 holds them too: a superset still)
        left_out = pending_hits(conn, CAP + 1 - len(ids))
        if left_out is None:
            return None
        ids += left_out
    return ids


def pending_hits(conn: Connection, cap: int) -> list[int] | None:
    """The ids of the pending hits (the inbox's: few, attributed within seconds), which
    the hits' FTS tables do not hold yet; None when there are `cap` or more."""
    ids = [
        int(i)
        for i in conn.execute(
            text("SELECT id FROM hits WHERE classification = 'pending' LIMIT :n"), {"n": cap}
        ).scalars()
    ]
    return None if len(ids) >= cap else ids


def sender_rows(conn: Connection, needle: str) -> list[int] | None:
    """SQLite: the ids of the hits whose sender holds `needle`'s trigrams in sequence
    (case folded): a superset of those whose sender contains it, ignoring ASCII case.
    None when the index cannot narrow the scan usefully: no index, a needle under 3
    characters, or more than CAP such hits."""
    return matching_rows(conn, SENDER, [needle])
