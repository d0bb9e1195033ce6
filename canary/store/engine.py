"""Opening the store: engine, sessions and Alembic migrations.

SQLite (WAL) is the embedded default; PostgreSQL runs the same code. The schema is
migrated on first use, so every command works on an empty database.
"""

from __future__ import annotations

import logging
import re
import secrets
import select as io_select
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from canary.errors import StoreError
from canary.files import create_private, private_dir
from canary.store.models import Setting, declare_postgresql

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

#: Every engine this process opened, so a host (a test run, a server) can close them all.
ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all() -> None:
    """Close the pooled connections of every engine still alive."""
    for engine in list(ENGINES):
        engine.dispose()


def new_id(prefix: str = "", nbytes: int = 5) -> str:
    """A short random id that reads well aloud: base32, no padding, upper case."""
    import base64

    raw = base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=")
    return f"{prefix}{raw}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed transaction survives power loss too, not only a crashed process
    # (WAL with NORMAL may lose the last commits). Hits are acknowledged only after
    # commit, so this is the promise; group commit keeps the fsyncs few.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


#: A pooled PostgreSQL connection back in the pool for longer than this is pinged (a
#: round trip) before it is handed out; one used more recently only has its socket
#: polled (no round trip). See `_pg_checkout`.
PING_AFTER_IDLE = 10.0


def _pg_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["returned"] = time.monotonic()


def _readable(fd: int) -> bool:
    """Whether the socket has bytes (or an end of file) waiting, without waiting."""
    if hasattr(io_select, "poll"):
        poller = io_select.poll()
        poller.register(fd, io_select.POLLIN | io_select.POLLERR | io_select.POLLHUP)
        return bool(poller.poll(0))
    ready, _, _ = io_select.select([fd], [], [], 0)
    return bool(ready)


def _pg_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has dropped, so the pool makes a new one.

    This is what `pool_pre_ping` guarded, without its round trip (`SELECT 1`) on every
    checkout: one of four round trips of a `trace`. Between two of our statements the
    server sends nothing unless it is closing the connection (a restart, an idle or
    `pg_terminate_backend` ending: a FATAL message, then the end of the stream; we do not
    LISTEN), so a socket with bytes waiting is a dropped connection, seen by a poll with
    no wait. A connection idle in the pool for longer than `PING_AFTER_IDLE` is pinged
    as before: a peer that vanished without closing (a host gone, a NAT that forgot the
    flow) shows nothing to a poll, and happens after idle time.
    """
    # (`broken` is not on every psycopg release; a broken connection is also `closed`)
    if dbapi_conn.closed or getattr(dbapi_conn, "broken", False):
        raise DisconnectionError("the connection is closed")
    try:
        if _readable(dbapi_conn.fileno()):
            raise DisconnectionError("the server closed the connection")
    except (OSError, ValueError) as exc:
        raise DisconnectionError(f"the connection's socket: {exc}") from exc
    returned = record.info.get("returned")
    if returned is None or time.monotonic() - returned <= PING_AFTER_IDLE:
        return  # just made (never returned: the pre-ping skipped those too), or busy
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1")
        if not dbapi_conn.autocommit:
            dbapi_conn.rollback()
    except Exception as exc:  # the driver's error for a dead connection, whatever its class
        raise DisconnectionError(f"ping failed: {exc}") from exc


def make_engine(url: str) -> Engine:
    """An engine for `url`, with WAL and a busy timeout on SQLite."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            if url.startswith("postgresql"):
                declare_postgresql()
            from sqlalchemy.engine import make_url

            # psycopg: its socket polled at checkout (`_pg_checkout`); another driver:
            # SQLAlchemy's ping on every checkout.
            ours = make_url(url).get_driver_name() == "psycopg"
            engine = create_engine(url, pool_pre_ping=not ours, pool_size=10, max_overflow=20)
            if ours:
                event.listen(engine, "checkout", _pg_checkout)
                event.listen(engine, "checkin", _pg_checkin)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open store {safe_url(url)}: {exc}") from exc
    ENGINES.add(engine)
    return engine


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable: it might still hold a password
        return "(a database URL)"


def alembic_config(engine: Engine) -> Any:
    """An Alembic configuration pointing at our migrations and `engine`."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


#: A migration file's `revision = "..."` or `down_revision = "..."` line.
_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:None|"([^"\n]*)"|'([^'\n]*)')\s*$""",
    re.M,
)


def script_head() -> str | None:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` lines without running them, as Alembic does (importing Alembic and
    every migration costs about 0.2 s on each start of a command).

    None, and `migrate` asks Alembic, when any file does not state both plainly as one
    string (or None), or the revisions do not form one line of history."""
    parents: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found: dict[str, str | None] = {}
        for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
            if m.group(1) in found:
                return None
            found[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
        revision = found.get("revision")
        if revision is None or "down_revision" not in found or revision in parents:
            return None
        parents[revision] = found["down_revision"]
    heads = set(parents) - set(parents.values())
    roots = [r for r, parent in parents.items() if parent is None]
    if len(heads) != 1 or len(roots) != 1:
        return None
    if any(p is not None and p not in parents for p in parents.values()):
        return None
    (head,) = heads
    return head


def _stored_revisions(engine: Engine) -> list[str] | None:
    """The revisions the store's `alembic_version` table holds; None when it cannot be read
    (no such table yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return [str(r[0]) for r in rows]


def migrate(engine: Engine) -> bool:
    """Bring the schema to the newest revision; True when anything was applied."""
    head = script_head()
    if head is not None and _stored_revisions(engine) == [head]:
        return False  # up to date: Alembic is not imported
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return False
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Several processes may start at once against one server: one migrates.
                conn.execute(text("SELECT pg_advisory_xact_lock(724311)"))
                current = MigrationContext.configure(conn).get_current_revision()
                if current == head:
                    return False
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate store {safe_url(str(engine.url))}: {exc}") from exc
    log.info("store migrated to %s", head)
    return True


@dataclass
class Store:
    """An open store: the engine and a session factory."""

    engine: Engine
    sessionmaker: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def get_setting(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(Setting, key)
            return row.value if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.session() as s:
            s.merge(Setting(key=key, value=value))

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another backend or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path.startswith(":"):
        return None
    return Path(path)


class StoreMissing(StoreError):
    """There is no store where the configuration says (only `canary init` creates one)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no store at {where}")
        self.where = where


def _has_schema(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(engine).has_table("alembic_version"))


def open_store(
    url: str, *, migrate_schema: bool = True, create: bool = True, burn_in_days: float = 0.0
) -> Store:
    """Open (and by default migrate) the store at `url`.

    With `create` false a store that does not exist yet (no SQLite file, or a database
    without our tables) raises `StoreMissing` instead of being made: a typo in the
    URL must not silently start an empty store. A SQLite file is created 0600 (its
    folder 0700) before SQLite opens it, so its -wal, -shm and -journal files get the
    same private mode whatever the umask. `burn_in_days`: hits on a phone number within
    this many days of its first use are noise (config `plant.burn_in_days`); every session
    of this store carries it, so whoever records hits through it gets the configured
    period, with no process-wide state.
    """
    file = sqlite_path(url)
    if file is not None and not file.exists():
        if not create:
            raise StoreMissing(str(file))
        try:
            private_dir(file.parent)
            create_private(file)
        except OSError as exc:
            raise StoreError(f"cannot create store {file}: {exc.strerror}") from exc
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot connect to store {safe_url(url)}: {exc.__cause__ or exc}"
        ) from exc
    if not create and file is None and not _has_schema(engine):
        engine.dispose()
        raise StoreMissing(safe_url(url) + " (the database has no canary tables)")
    if migrate_schema:
        migrate(engine)
    factory = sessionmaker(engine, expire_on_commit=False, info={"burn_in_days": burn_in_days})
    return Store(engine=engine, sessionmaker=factory)
