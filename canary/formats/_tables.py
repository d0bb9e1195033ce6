"""Copies written as tables of a database (`canary issue --out-url`), atomically.

Like `Outputs` for files: every copy is first written under a temporary table name
(`_canary_part_<hex>`), and only once all of them are whole are they renamed to their
final names (`ALTER TABLE ... RENAME TO`). A final name that exists is refused before
anything is written and checked again just before the rename; any failure drops the
temporary tables (and those already renamed), so nothing is left behind. A SQLite
database file the outputs had to create is removed again when nothing is kept in it.

A table copy's SHA-256 (`row_line` per row) is over its rows in the order written (the
source's primary-key order, canaries among them): each row one line, a compact JSON
array of its values as text (`to_text`; NULL as null), UTF-8, ending in "\\n".
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from canary.errors import InputError
from canary.formats._values import to_text

log = logging.getLogger(__name__)

TEMP_PREFIX = "_canary_part_"


def safe_url(url: str) -> str:
    """The URL with its password hidden; never the URL itself when it does not parse."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(a database URL)"


def reason(exc: BaseException) -> str:
    """One line on why a database call failed: the driver's message, never SQL or values."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{orig.__class__.__name__}: {lines[0]}" if lines else orig.__class__.__name__


def sqlite_file(source: str) -> Path | None:
    """The database file of a SQLite URL or path, resolved; None for anything else."""
    if "://" not in source:
        return Path(source).resolve()
    try:
        url = sa.engine.make_url(source)
    except Exception:
        return None
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


@dataclass(eq=False)
class DbOutput:
    """A copy written as a new table `name` of the database at `url`.

    `url` may hold a password: it is never printed or stored; `label` is what people
    and the register see.
    """

    url: str
    name: str
    #: Set when the outputs created this SQLite database file (dropped with the copy).
    created_file: Path | None = None

    @property
    def label(self) -> str:
        return f"{safe_url(self.url)}#{self.name}"

    def drop(self) -> None:
        """Remove this copy's table (a register that failed after the rename)."""
        engine = _engine(self)
        try:
            with engine.begin() as c:
                _drop(c, self.name)
            _remove_if_empty(engine, self.created_file)
        finally:
            engine.dispose()


def row_line(values: Iterable[Any]) -> bytes:
    """One row as a table copy's SHA-256 takes it (see the module docstring)."""
    cells = [None if v is None else to_text(v) for v in values]
    return (json.dumps(cells, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _engine(out: DbOutput) -> Engine:
    try:
        return sa.create_engine(out.url)
    except Exception as exc:
        raise InputError(
            f"cannot use the target database {safe_url(out.url)}: {reason(exc)}"
        ) from None


def _key(out: DbOutput) -> str:
    """Which database an output goes to: outputs with one key share one connection."""
    path = sqlite_file(out.url) if out.url.startswith("sqlite") else None
    return f"sqlite:{path}" if path is not None else out.url


def _quote(conn: Any, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _drop(conn: Any, name: str) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {_quote(conn, name)}"))


def _remove_if_empty(engine: Engine, path: Path | None) -> None:
    if path is None or not path.exists():
        return
    try:
        empty = not sa.inspect(engine).get_table_names()
    except Exception:
        return
    engine.dispose()
    if empty:
        for p in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)


class TableOutputs:
    """The temporary tables of one write; `commit` renames them, anything else drops them."""

    def __init__(self, outs: Sequence[DbOutput], source: str | None = None) -> None:
        self.outs = list(outs)
        self.temps = [TEMP_PREFIX + secrets.token_hex(8) for _ in self.outs]
        self.engines: dict[str, Engine] = {}
        self._conns: dict[str, Connection] = {}
        self._started = False
        self._done = False
        try:
            self._check(source)
        except BaseException:
            self.abort()
            raise

    def __enter__(self) -> TableOutputs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.abort()

    def engine(self, i: int) -> Engine:
        return self.engines[_key(self.outs[i])]

    def connect(self) -> list[Connection]:
        """A connection for each output (one per database, shared), to write the temps in.

        `commit` commits and closes them; `abort` rolls them back and drops the temps.
        """
        self._started = True
        for out in self.outs:
            key = _key(out)
            if key not in self._conns:
                self._conns[key] = self.engines[key].connect()
        return [self._conns[_key(out)] for out in self.outs]

    def _check(self, source: str | None) -> None:
        """Refuse outputs that repeat, are the source's own file, or whose table exists."""
        src_file = sqlite_file(source) if source else None
        seen: set[tuple[str, str]] = set()
        for out in self.outs:
            key = _key(out)
            if (key, out.name) in seen:
                raise InputError(f"{out.label} is named twice as an output; use {{recipient}}")
            seen.add((key, out.name))
            out.created_file = None
            db_file = sqlite_file(out.url) if out.url.startswith("sqlite") else None
            if db_file is None and out.url.startswith("sqlite"):
                raise InputError("--out-url names an in-memory SQLite database; name a file")
            if db_file is not None and src_file is not None and db_file == src_file:
                raise InputError(
                    f"--out-url names the source's own database file {db_file}; "
                    "write the copies to another database"
                )
            if db_file is not None and not db_file.exists():
                if not db_file.parent.is_dir():
                    raise InputError(f"{db_file.parent} is not a directory; create it first")
                out.created_file = db_file
            if key not in self.engines:
                self.engines[key] = _engine(out)
            engine = self.engines[key]
            if len(out.name) > engine.dialect.max_identifier_length:
                raise InputError(
                    f"table name {out.name!r} is longer than {engine.dialect.name} allows "
                    f"({engine.dialect.max_identifier_length}); use {{recipient}} in --out-url"
                )
            if out.created_file is None and self._exists(engine, out.name):
                raise InputError(f"{out.label} already exists; drop it or choose another --out-url")

    @staticmethod
    def _exists(engine: Engine, name: str) -> bool:
        try:
            return bool(sa.inspect(engine).has_table(name))
        except Exception as exc:
            raise InputError(
                f"cannot reach the target database {safe_url(str(engine.url))}: {reason(exc)}"
            ) from None

    def abort(self) -> None:
        """Roll back, drop every temporary table (once any was begun), close the engines."""
        for conn in self._conns.values():
            try:
                conn.rollback()
                conn.close()
            except Exception as exc:
                log.warning("could not roll back a target connection: %s", reason(exc))
        self._conns.clear()
        for i, out in enumerate(self.outs):
            engine = self.engines.get(_key(out))
            if engine is None or not self._started:
                continue
            try:
                with engine.begin() as c:
                    _drop(c, self.temps[i])
            except Exception as exc:
                log.warning("could not drop %s in %s: %s", self.temps[i], out.label, reason(exc))
        self._close(remove_created=True)
        self._done = True

    def commit(self) -> None:
        """Rename every temporary table to its final name; never onto a table that exists."""
        placed: list[int] = []
        try:
            for conn in self._conns.values():
                conn.commit()
            for conn in self._conns.values():
                conn.close()
            self._conns.clear()
            for i, out in enumerate(self.outs):
                engine = self.engine(i)
                if self._exists(engine, out.name):
                    raise InputError(
                        f"{out.label} appeared while the copy was written; nothing was kept"
                    )
                with engine.begin() as c:
                    temp, final = _quote(c, self.temps[i]), _quote(c, out.name)
                    c.execute(sa.text(f"ALTER TABLE {temp} RENAME TO {final}"))
                placed.append(i)
        except BaseException:
            for i in placed:
                try:
                    with self.engine(i).begin() as c:
                        _drop(c, self.outs[i].name)
                except Exception as exc:
                    log.warning("could not drop %s: %s", self.outs[i].label, reason(exc))
            self.abort()
            raise
        self._close(remove_created=False)
        self._done = True

    def _close(self, *, remove_created: bool) -> None:
        done: set[Path] = set()
        for out in self.outs:
            engine = self.engines.get(_key(out))
            if engine is None:
                continue
            if remove_created and out.created_file and out.created_file not in done:
                done.add(out.created_file)
                _remove_if_empty(engine, out.created_file)
            engine.dispose()


def check_outputs(outs: Sequence[DbOutput], source: str | None = None) -> None:
    """The checks `TableOutputs` makes, up front, writing nothing."""
    TableOutputs(outs, source).abort()
