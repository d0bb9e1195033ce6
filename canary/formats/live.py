"""A live table, planted in place: its constraints as the database reports them.

`LiveTable` reflects one table of a running database (SQLite, PostgreSQL,
MySQL/MariaDB) with SQLAlchemy and says what a new row must obey:

- columns the database fills itself (autoincrement, identity, a sequence's
  `nextval` default, a default stamping the current time, generated columns) are
  left out of the INSERT and read back, so keys advance the database's own way
  (never `max()+1`) and a new row's creation time is now;
- foreign keys take a parent key that exists (the real rows' own choices first);
- NOT NULL columns without a default get a value some real row holds;
- unique constraints and unique indexes are checked against the table;
- text is cut to the column's length, and a value that does not fit the column's
  type is replaced by one a real row holds;
- CHECK constraints are the database's to evaluate: each row is inserted inside a
  savepoint and, when refused, drawn again with the checked columns taken from a
  real row (`insert` raises the driver's error for the caller to retry).

Values cross this module as typed values going in and as text (None for NULL)
coming back, which is what the register keeps and the drift check compares.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from canary.errors import InputError
from canary.formats._tables import reason, row_line
from canary.formats._values import from_text, to_text
from canary.formats.sql import _kind
from canary.formats.table import Sample

log = logging.getLogger(__name__)

#: Rows of the live table read to model the canaries on (the first ones by key).
SAMPLE_ROWS = 5000
#: Parent keys checked (the sample's own) or read (when none holds) per foreign key.
PARENT_KEYS = 1000

Texts = dict[str, str | None]

#: Server defaults that stamp the time a row is written (left to the database: a new
#: row's `created_at` is now, not a date drawn from older rows).
STAMPS = ("now(", "current_timestamp", "current_date", "localtimestamp", "getdate(", "sysdate")


class Misfit(Exception):
    """A canary value cannot be made to fit its column (draw another canary)."""


@dataclass
class ForeignKeyRule:
    columns: list[str]
    parent: str
    #: the parent table's referred columns
    remote: list[Any] = field(default_factory=list)
    #: parent keys to draw from, as tuples of typed values, as often as the real rows
    #: point at each (filled on first use, see `LiveTable._parent_pool`)
    pool: list[tuple[Any, ...]] | None = None


@dataclass
class CheckRule:
    name: str
    sqltext: str
    columns: list[str]


@dataclass
class Constraints:
    """What a new row of the table must obey."""

    key: list[str]
    assigned: list[str]
    not_null: list[str]
    unique: list[list[str]]
    checks: list[CheckRule]
    foreign: list[ForeignKeyRule]
    lengths: dict[str, int]

    def describe(self) -> list[str]:
        out = [f"primary key ({', '.join(self.key)})"]
        if self.assigned:
            out.append(f"filled by the database: {', '.join(self.assigned)}")
        out += [f"foreign key ({', '.join(f.columns)}) -> {f.parent}" for f in self.foreign]
        if self.not_null:
            out.append(f"not null: {', '.join(self.not_null)}")
        out += [f"unique ({', '.join(u)})" for u in self.unique]
        out += [f"check {c.name + ' ' if c.name else ''}({c.sqltext})" for c in self.checks]
        return out


def live_engine(url: URL) -> Engine:
    """An engine on the live database; SQLite gets real transactions with savepoints and
    foreign keys enforced on this connection (its driver's defaults allow neither)."""
    try:
        engine = sa.create_engine(url)
    except Exception as exc:
        raise InputError(f"cannot use the database URL: {reason(exc)}") from None
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


class LiveTable:
    """One table of a live database, reflected; see the module docstring."""

    def __init__(self, engine: Engine, table: str, label: str) -> None:
        self.engine = engine
        self.label = label
        try:
            inspector = sa.inspect(engine)
            names = inspector.get_table_names()
        except Exception as exc:
            raise InputError(f"cannot read {label}: {reason(exc)}") from None
        if table not in names:
            listed = ", ".join(sorted(names)[:30]) or "(none)"
            raise InputError(f"{label} has no table {table!r}; its tables are: {listed}")
        self.md = sa.MetaData()
        self.table = sa.Table(table, self.md, autoload_with=engine)
        self.header = [c.name for c in self.table.columns]
        self.kinds = {c.name: _kind(c) for c in self.table.columns}
        self.constraints = self._reflect(inspector)
        self._children: list[tuple[sa.Table, list[str], list[str]]] | None = None

    # --- reflection -----------------------------------------------------------------

    def _assigned(self, col: sa.Column[Any]) -> bool:
        if col.computed is not None or col.identity is not None:
            return True
        default = col.server_default
        arg = getattr(default, "arg", None)
        text = str(getattr(arg, "text", arg)).strip().lower() if arg is not None else ""
        if "nextval(" in text or text.startswith(STAMPS):
            return True  # a sequence, or the time the row is written: the database's to set
        if col is not self.table.autoincrement_column:
            return False
        if self.engine.dialect.name == "sqlite":  # only INTEGER PRIMARY KEY is the rowid
            return str(col.type).upper() == "INTEGER"
        return col.autoincrement is not False

    def _reflect(self, inspector: Any) -> Constraints:
        t = self.table
        key = [c.name for c in t.primary_key.columns]
        assigned = [c.name for c in t.columns if self._assigned(c)]
        if not key:
            whole = [u for u in _unique_sets(t) if all(not t.c[n].nullable for n in u)]
            if not whole:
                raise InputError(
                    f"table {t.name!r} of {self.label} has no primary key and no unique key "
                    "without NULLs: planted rows could not be found again to check or remove"
                )
            key = whole[0]
        not_null = [
            c.name
            for c in t.columns
            if not c.nullable and c.name not in assigned and c.server_default is None
        ]
        unique: list[list[str]] = [key]
        unique += [u for u in _unique_sets(t) if u != key]
        checks = []
        try:
            found = inspector.get_check_constraints(t.name)
        except NotImplementedError:
            found = []
        words = {c.lower(): c for c in self.header}
        for ck in found:
            text = str(ck.get("sqltext", ""))
            cols = sorted(
                {words[w.lower()] for w in re.findall(r"\w+", text) if w.lower() in words}
            )
            checks.append(CheckRule(str(ck.get("name") or ""), text, cols))
        foreign = [
            ForeignKeyRule(
                [c.name for c in fk.columns],
                fk.elements[0].column.table.name,
                [e.column for e in fk.elements],
            )
            for fk in t.foreign_key_constraints
        ]
        lengths = {
            c.name: c.type.length
            for c in t.columns
            if isinstance(c.type, sa.String) and c.type.length
        }
        return Constraints(key, assigned, not_null, unique, checks, foreign, lengths)

    # --- reading ----------------------------------------------------------------------

    def sample(self, limit: int = SAMPLE_ROWS) -> Sample:
        """The last `limit` rows by key, in key order, as text: the model the canaries are
        made on (new rows join the newest ones: their dates, their mix of values)."""
        keys = [self.table.c[k] for k in self.constraints.key]
        with self.engine.connect() as c:
            count = int(c.scalar(sa.select(sa.func.count()).select_from(self.table)) or 0)
            q = sa.select(*self.table.columns).order_by(*[k.desc() for k in keys]).limit(limit)
            rows = [[to_text(v) for v in r] for r in c.execute(q)][::-1]
        if not rows:
            raise InputError(
                f"table {self.table.name!r} of {self.label} has no rows: "
                "there is nothing to model canaries on"
            )
        return Sample(
            header=list(self.header),
            rows=rows,
            complete=len(rows) >= count,
            row_count=count,
            info={"table": self.table.name, "dialect": self.engine.dialect.name},
        )

    def typed_key(self, key: Texts) -> dict[str, Any]:
        """A stored key (text) as the column types hold it."""
        return {k: from_text(v or "", self.kinds[k]) for k, v in key.items()}

    def read(self, conn: Connection, key: Texts, *, lock: bool = False) -> Texts | None:
        """The row with this key as text, or None when there is none."""
        t = self.table
        q = sa.select(*t.columns).where(*[t.c[k] == v for k, v in self.typed_key(key).items()])
        if lock and self.engine.dialect.name != "sqlite":
            q = q.with_for_update()
        row = conn.execute(q).first()
        return None if row is None else texts(self.header, row)

    def read_only(self, conn: Connection) -> None:
        """Make this connection's transaction read-only, whatever the account may do."""
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect in ("mysql", "mariadb"):
            conn.commit()  # outside a transaction: it applies to the next one
            conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
        elif dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")

    def children(self) -> list[tuple[sa.Table, list[str], list[str]]]:
        """Foreign keys of other tables (or this one) pointing at this table:
        (child table, its columns, this table's columns), reflected once."""
        if self._children is None:
            inspector = sa.inspect(self.engine)
            found: list[tuple[sa.Table, list[str], list[str]]] = []
            for name in inspector.get_table_names():
                for fk in inspector.get_foreign_keys(name):
                    if fk.get("referred_table") != self.table.name or fk.get("referred_schema"):
                        continue
                    child = (
                        self.table
                        if name == self.table.name
                        else sa.Table(name, self.md, autoload_with=self.engine)
                    )
                    found.append((child, fk["constrained_columns"], fk["referred_columns"]))
            self._children = found
        return self._children

    def referenced_by(self, conn: Connection, key: Texts, row: Texts) -> str:
        """The first table with a row pointing at `row` ("" when none does); in this table,
        rows other than `row` itself."""
        for child, cols, parents in self.children():
            values = [from_text(row[p] or "", self.kinds[p]) for p in parents]
            if any(v is None for v in values):
                continue
            q = sa.select(sa.func.count()).select_from(child)
            q = q.where(*[child.c[c] == v for c, v in zip(cols, values, strict=True)])
            if child is self.table:
                mine = [child.c[k] == v for k, v in self.typed_key(key).items()]
                q = q.where(sa.not_(sa.and_(*mine)))
            if conn.scalar(q):
                return child.name
        return ""

    def delete(self, conn: Connection, key: Texts) -> int:
        t = self.table
        q = sa.delete(t).where(*[t.c[k] == v for k, v in self.typed_key(key).items()])
        return int(conn.execute(q).rowcount or 0)

    # --- shaping and writing -----------------------------------------------------------

    def shape(
        self,
        row: list[str],
        rng: random.Random,
        sample: Sample,
        *,
        protected: set[str],
        donor_columns: Collection[str] = (),
    ) -> dict[str, Any]:
        """The canary's text row as typed values the table accepts (assigned columns left out).

        `protected` columns (contacts, ids) are never replaced or cut: a value that does
        not fit raises Misfit. `donor_columns` take a real row's value (a CHECK refused
        the canary's own).
        """
        cons = self.constraints
        donor = rng.choice(sample.rows)
        values: dict[str, Any] = {}
        for i, col in enumerate(self.table.columns):
            name = col.name
            if name in cons.assigned:
                continue
            text = row[i] if i < len(row) else ""
            if name in donor_columns and name not in protected:
                text = donor[i]
            value = self._fit(col, text, rng, sample, protected=name in protected)
            if value is None and not col.nullable and col.server_default is not None:
                continue  # the database's default
            values[name] = value
        for fk in cons.foreign:
            self._fit_parent(fk, values, rng, sample)
        return values

    def _fit(
        self, col: sa.Column[Any], text: str, rng: random.Random, sample: Sample, *, protected: bool
    ) -> Any:
        kind = self.kinds[col.name]
        value = from_text(text, kind, nullable=True)
        if value is not None and not _fits_kind(value, kind):
            if protected:
                raise Misfit(f"{col.name}: {text!r} is not a {kind}")
            value = self._real_value(col, rng, sample)
        if value is None and not col.nullable and col.server_default is None:
            if protected:
                raise Misfit(f"{col.name} is empty")
            value = self._real_value(col, rng, sample)
        length = self.constraints.lengths.get(col.name)
        if isinstance(value, str) and length and len(value) > length:
            if protected:
                raise Misfit(f"{col.name}: {value!r} is longer than {length}")
            value = value[:length].rstrip() or value[:length]
        return value

    def _real_value(self, col: sa.Column[Any], rng: random.Random, sample: Sample) -> Any:
        i = self.header.index(col.name)
        seen = [r[i] for r in sample.rows if r[i] != ""]
        if not seen:
            raise InputError(
                f"column {col.name!r} of {self.table.name!r} must be filled but no real row "
                "holds a value to model it on"
            )
        return from_text(rng.choice(seen), self.kinds[col.name], nullable=True)

    def _fit_parent(
        self, fk: ForeignKeyRule, values: dict[str, Any], rng: random.Random, sample: Sample
    ) -> None:
        mine = tuple(values.get(c) for c in fk.columns)
        if all(v is None for v in mine) and all(self.table.c[c].nullable for c in fk.columns):
            return
        pool = self._parent_pool(fk, sample)
        if mine in set(pool):
            return
        if not pool:
            raise InputError(
                f"column(s) {', '.join(fk.columns)} of {self.table.name!r} must point at a row "
                f"of {fk.parent!r}, which has none"
            )
        for c, v in zip(fk.columns, rng.choice(pool), strict=True):
            values[c] = v

    def _parent_pool(self, fk: ForeignKeyRule, sample: Sample) -> list[tuple[Any, ...]]:
        """The parent keys the real rows point at, each as often as they do, checked to
        exist (a few queries by key, whatever the parent's size); else the first parents."""
        if fk.pool is not None:
            return fk.pool
        idx = [self.header.index(c) for c in fk.columns]
        real = [
            tuple(from_text(r[i], self.kinds[self.header[i]]) for i in idx)
            for r in sample.rows
            if all(r[i] != "" for i in idx)
        ]
        wanted = list(dict.fromkeys(real))[:PARENT_KEYS]
        found: set[tuple[Any, ...]] = set()
        with self.engine.connect() as c:
            for part in range(0, len(wanted), 200):
                chunk = wanted[part : part + 200]
                match = sa.or_(
                    *[sa.and_(*[r == v for r, v in zip(fk.remote, k, strict=True)]) for k in chunk]
                )
                found |= {tuple(r) for r in c.execute(sa.select(*fk.remote).where(match))}
            pool = [k for k in real if k in found]
            if not pool:
                q = sa.select(*fk.remote).where(*[r.is_not(None) for r in fk.remote])
                pool = list(dict.fromkeys(tuple(r) for r in c.execute(q.limit(PARENT_KEYS))))
        fk.pool = pool
        return pool

    def collides(
        self, conn: Connection, values: dict[str, Any], others: list[dict[str, Any]]
    ) -> str:
        """The unique column set this row would repeat ("" when none)."""
        t = self.table
        for cols in self.constraints.unique:
            if any(c not in values or values[c] is None for c in cols):
                continue
            mine = tuple(values[c] for c in cols)
            if any(tuple(o.get(c) for c in cols) == mine for o in others):
                return ", ".join(cols)
            q = (
                sa.select(sa.func.count())
                .select_from(t)
                .where(*[t.c[c] == values[c] for c in cols])
            )
            if conn.scalar(q):
                return ", ".join(cols)
        return ""

    def insert(self, conn: Connection, values: dict[str, Any]) -> tuple[Texts, Texts]:
        """Insert one row inside a savepoint; returns (key, row) as the database stored them.

        Raises the driver's error (sqlalchemy.exc.DBAPIError) when the database refuses
        the row; the savepoint is rolled back and the transaction goes on.
        """
        with conn.begin_nested():
            result = conn.execute(sa.insert(self.table).values(**values))
            pk = result.inserted_primary_key
            key: dict[str, Any] = {}
            if pk is not None and list(self.table.primary_key.columns):
                key = {c.name: v for c, v in zip(self.table.primary_key.columns, pk, strict=True)}
            else:
                key = {k: values.get(k) for k in self.constraints.key}
            key_text: Texts = {k: to_text(v) for k, v in key.items() if k in self.constraints.key}
            row = self.read(conn, key_text)
            if row is None:
                raise InputError(f"the row inserted into {self.table.name!r} cannot be read back")
        return key_text, row

    def statement(self, values: dict[str, Any]) -> str:
        """The INSERT as SQL text, for people to read (a dry run)."""
        stmt = sa.insert(self.table).values(**values)
        try:
            return str(
                stmt.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True})
            )
        except Exception:
            compiled = stmt.compile(dialect=self.engine.dialect)
            return f"{compiled} -- {compiled.params!r}"

    def row_sha256_line(self, row: Texts) -> bytes:
        return row_line(row[c] for c in self.header)


def _unique_sets(t: sa.Table) -> list[list[str]]:
    """The column sets of the table's unique constraints and unique indexes, once each."""
    out: list[list[str]] = []
    for u in t.constraints:
        if isinstance(u, sa.UniqueConstraint):
            cols = [c.name for c in u.columns]
            if cols and cols not in out:
                out.append(cols)
    for ix in t.indexes:
        cols = [c.name for c in ix.columns]
        if ix.unique and cols and cols not in out:
            out.append(cols)
    return out


def texts(header: list[str], row: Any) -> Texts:
    """A row's values as text, None for NULL."""
    return {c: None if v is None else to_text(v) for c, v in zip(header, row, strict=True)}


def _fits_kind(value: Any, kind: str) -> bool:
    import datetime as dt

    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    if kind in ("date", "datetime"):
        return isinstance(value, dt.date)
    if kind == "bool":
        return isinstance(value, bool)
    return True
