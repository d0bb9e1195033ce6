"""SQL tables: a table of a SQLite file, or of any database reachable by SQLAlchemy URL.

A SQLite file's copy is the whole database (taken with SQLite's backup API) with
the canary rows inserted into that table (the other tables untouched). A URL's copy
is a new SQLite file holding that one table, same columns and types, rows streamed
in primary-key order (`yield_per`) with the canaries among them. Rows are ordered by
the primary key when there is one, else by SQLite's rowid (for a file) or as the
database returns them.

Either source can instead write each copy as a new table of a database
(`CopyTarget.db`, `canary issue --out-url`): built and streamed the same way as a URL's
SQLite file, through the temporary tables of `TableOutputs` (see `_tables`).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from canary.errors import InputError
from canary.formats._files import Outputs, sha256_file
from canary.formats._needles import NeedleScanner
from canary.formats._tables import TableOutputs, reason, row_line
from canary.formats._tables import safe_url as _safe_url
from canary.formats._values import from_text, place_rows, share, to_text
from canary.formats.table import CopyTarget, Progress, Sample

log = logging.getLogger(__name__)

BATCH = 5000


def _kind(col: sa.Column[Any]) -> str:
    t = col.type
    try:
        py = t.python_type
    except NotImplementedError:
        return "str"
    import datetime as dt
    import decimal

    if py is bool:
        return "bool"
    if py is int:
        return "int"
    if py in (float, decimal.Decimal):
        return "float"
    if py is dt.datetime:
        return "datetime"
    if py is dt.date:
        return "date"
    if py in (dict, list):
        return "json"
    return "str"


class _SqlSource:
    """Reading one table: reflection, order, sample, rows around a position."""

    format = "sql"
    source: str

    def __init__(self, engine: Engine, table: str, label: str) -> None:
        self.engine = engine
        self.label = label
        try:
            names = sa.inspect(engine).get_table_names()
        except Exception as exc:
            engine.dispose()
            raise InputError(f"cannot read {label}: {exc.__class__.__name__}: {exc}") from None
        if table not in names:
            engine.dispose()
            listed = ", ".join(names) or "(none)"
            raise InputError(f"{label} has no table {table!r}; its tables are: {listed}")
        md = sa.MetaData()
        self.table = sa.Table(table, md, autoload_with=engine)
        self.header = [c.name for c in self.table.columns]
        self.kinds = {c.name: _kind(c) for c in self.table.columns}
        pk: list[Any] = list(self.table.primary_key.columns)
        self.order: list[Any] = pk or ([sa.literal_column("rowid")] if self._is_sqlite() else [])
        with engine.connect() as c:
            self.count = int(c.scalar(sa.select(sa.func.count()).select_from(self.table)) or 0)
        if self.count == 0:
            engine.dispose()
            raise InputError(f"table {table!r} of {label} has no rows")

    def _is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def size(self) -> int:
        return self.count

    def _select(self) -> Any:
        q = sa.select(*self.table.columns)
        return q.order_by(*self.order) if self.order else q

    def _text(self, row: Any) -> list[str]:
        return [to_text(v) for v in row]

    def sample(self, limit: int = 20000) -> Sample:
        with self.engine.connect() as c:
            rows = [self._text(r) for r in c.execute(self._select().limit(limit))]
        return Sample(
            header=list(self.header),
            rows=rows,
            complete=len(rows) >= self.count,
            row_count=self.count,
            info={"table": self.table.name, "dialect": self.engine.dialect.name},
        )

    def row_at(self, conn: Any, i: int) -> list[str]:
        r = conn.execute(self._select().offset(i).limit(1)).first()
        return self._text(r) if r is not None else []

    def scan_needles(self, targets: list[CopyTarget]) -> None:
        scanner = NeedleScanner([n for t in targets for n in t.needles], "utf-8")
        if scanner.empty:
            return
        with self.engine.connect() as c:
            result = c.execution_options(stream_results=True, yield_per=BATCH).execute(
                self._select()
            )
            for part in result.partitions():
                scanner.scan_text("\x00".join(to_text(v) for r in part for v in r))

    def typed(self, row: list[str]) -> dict[str, Any]:
        out = {}
        for col, text in zip(self.table.columns, row, strict=False):
            out[col.name] = from_text(text, self.kinds[col.name], nullable=bool(col.nullable))
        return out

    def key_taken(self, conn: Any, values: dict[str, Any]) -> bool:
        """True when the canary's primary key is already a source row's."""
        pk = list(self.table.primary_key.columns)
        if not pk:
            return False
        cond = sa.and_(*[c == values[c.name] for c in pk])
        return bool(conn.scalar(sa.select(sa.func.count()).select_from(self.table).where(cond)))

    def source_sha256(self) -> str | None:
        return None

    def _plans(self, targets: list[CopyTarget]) -> list[dict[int, list[list[str]]]]:
        """For each target, the canary rows to insert before each source row index."""
        plans: list[dict[int, list[list[str]]]] = []
        with self.engine.connect() as src:
            for t in targets:

                def taken(row: list[str], src: Any = src) -> bool:
                    return self.key_taken(src, self.typed(row))

                placed = place_rows(t, self.count, lambda i, s=src: self.row_at(s, i), taken)
                plan: dict[int, list[list[str]]] = {}
                for k, row in placed:
                    plan.setdefault(k, []).append(row)
                plans.append(plan)
        return plans

    def write_tables(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        """Write every target as a new table of its `db` database, renamed into place at the end.

        Each `sha256` is over the rows as written (see `_tables`).
        """
        outs = [t.db for t in targets]
        if any(o is None for o in outs):
            raise InputError("all copies of one issue go either to files or to a database")
        self.scan_needles(targets)
        with TableOutputs([o for o in outs if o is not None], self.source) as outputs:
            plans = self._plans(targets)
            conns = outputs.connect()
            hashes = [hashlib.sha256() for _ in targets]
            try:
                tables = [
                    self._create(c, tmp, final=o.name)
                    for c, tmp, o in zip(conns, outputs.temps, outputs.outs, strict=True)
                ]
                self._stream(conns, tables, plans, progress, hashes)
            except sa.exc.SQLAlchemyError as exc:
                raise InputError(f"writing the copies failed: {reason(exc)}") from None
            for t, h in zip(targets, hashes, strict=True):
                t.sha256 = h.hexdigest()
            try:
                outputs.commit()
            except sa.exc.SQLAlchemyError as exc:
                raise InputError(f"placing the copies failed, none kept: {reason(exc)}") from None
        self.engine.dispose()

    def _create(self, dest: Engine | Connection, name: str, final: str | None = None) -> sa.Table:
        """A new table `name` in `dest` with the source's columns in generic types.

        No column gets a sequence or default. Written under a temporary name, the
        primary key constraint is named for the `final` table (PostgreSQL's own
        `<table>_pkey`), so nothing in the copy recalls the temporary name.
        """
        md = sa.MetaData()
        cols = []
        for c in self.table.columns:
            try:
                typ = c.type.as_generic()
            except NotImplementedError:
                typ = sa.Text()
            cols.append(
                sa.Column(
                    c.name, typ, primary_key=c.primary_key, nullable=c.nullable, autoincrement=False
                )
            )
        t = sa.Table(name, md, *cols)
        if final is not None and dest.dialect.name != "sqlite" and t.primary_key.columns:
            t.primary_key.name = f"{final}_pkey"
        md.create_all(dest)
        return t

    def _stream(
        self,
        conns: list[Any],
        tables: list[sa.Table],
        plans: list[dict[int, list[list[str]]]],
        progress: Progress | None,
        hashes: list[Any] | None = None,
    ) -> None:
        """Every source row in order, each plan's canaries among them, into each table."""
        digests: list[Any] = hashes if hashes is not None else [None] * len(tables)
        i = 0
        with self.engine.connect() as src:
            result = src.execution_options(stream_results=True, yield_per=BATCH).execute(
                self._select()
            )
            for part in result.partitions():
                for conn, table, plan, h in zip(conns, tables, plans, digests, strict=True):
                    batch: list[dict[str, Any]] = []
                    for j, r in enumerate(part):
                        for row in plan.get(i + j, []):
                            batch.append(self.typed(row))
                        batch.append(dict(zip(self.header, r, strict=True)))
                    # Canaries after the last source row of this part come with the next part.
                    self._insert(conn, table, batch, h)
                i += len(part)
                if progress:
                    progress(len(part))
            for conn, table, plan, h in zip(conns, tables, plans, digests, strict=True):
                self._insert(conn, table, [self.typed(row) for row in plan.get(i, [])], h)

    def _insert(self, conn: Any, table: sa.Table, batch: list[dict[str, Any]], h: Any) -> None:
        if not batch:
            return
        conn.execute(sa.insert(table), batch)
        if h is not None:
            for values in batch:
                h.update(row_line(values[c] for c in self.header))


class SqliteFileTable(_SqlSource):
    """A table inside a SQLite file; the copy is the whole file plus the canary rows."""

    format = "sqlite"

    def __init__(self, path: str | Path, table: str) -> None:
        self.path = Path(path)
        self.source = str(path)
        with self.path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise InputError(f"{self.path} is not a SQLite database file")
        uri = f"file:{self.path.resolve()}?mode=ro"
        engine = sa.create_engine(
            "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
        )
        super().__init__(engine, table, str(self.path))

    def source_sha256(self) -> str | None:
        return sha256_file(self.path)

    def _backup(self, dest: Path) -> None:
        """A consistent copy of the whole database (pages still in a WAL file included)."""
        src = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True)
        try:
            out = sqlite3.connect(dest)
            try:
                src.backup(out)
            finally:
                out.close()
        finally:
            src.close()

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        if any(t.db is not None for t in targets):
            self.write_tables(targets, progress)
            return
        self.scan_needles(targets)
        with Outputs([t.path for t in targets], self.path) as outputs:
            for k, (t, tmp) in enumerate(zip(targets, outputs.temps, strict=True)):
                with self.engine.connect() as src:

                    def taken(row: list[str], src: Any = src) -> bool:
                        return self.key_taken(src, self.typed(row))

                    placed = place_rows(t, self.count, lambda i, s=src: self.row_at(s, i), taken)
                self._backup(tmp)
                dest = sa.create_engine(f"sqlite:///{tmp}")
                try:
                    with dest.begin() as c:
                        for _k, row in placed:
                            c.execute(sa.insert(self.table).values(**self.typed(row)))
                finally:
                    dest.dispose()
                t.sha256 = sha256_file(tmp)
                if progress:
                    progress(share(self.count, len(targets), k))
            outputs.commit()
        self.engine.dispose()


class SqlUrlTable(_SqlSource):
    """A table of any SQLAlchemy URL; the copy is a new SQLite file with that table."""

    format = "sqlite"

    def __init__(self, url: str, table: str) -> None:
        self.source = url
        try:
            engine = sa.create_engine(url)
        except Exception as exc:
            raise InputError(f"cannot use the database URL {_safe_url(url)}: {exc}") from None
        super().__init__(engine, table, _safe_url(url))

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        if any(t.db is not None for t in targets):
            self.write_tables(targets, progress)
            return
        self.scan_needles(targets)
        with Outputs([t.path for t in targets]) as outputs:
            plans = self._plans(targets)
            dests = [sa.create_engine(f"sqlite:///{tmp}") for tmp in outputs.temps]
            try:
                tables = [self._create(d, self.table.name) for d in dests]
                conns = [d.connect() for d in dests]
                try:
                    self._stream(conns, tables, plans, progress)
                    for c in conns:
                        c.commit()
                finally:
                    for c in conns:
                        c.close()
            finally:
                for d in dests:
                    d.dispose()
            for t, tmp in zip(targets, outputs.temps, strict=True):
                t.sha256 = sha256_file(tmp)
            outputs.commit()
        self.engine.dispose()
