"""PostgreSQL connections out of the pool: a dropped one is replaced without a round
trip per checkout (canary/store/engine.py `_pg_checkout`, in place of pool_pre_ping)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DisconnectionError

from canary.investigate.trace import trace
from canary.store import engine as engine_mod
from canary.store import register as registry
from canary.store.engine import Store, open_store
from tests.conftest import PG_URL, pg_schema_url


@pytest.fixture
def pg_store() -> Iterator[Store]:
    for url in pg_schema_url():
        s = open_store(url)
        try:
            yield s
        finally:
            s.dispose()


def _backend_pid(store: Store) -> int:
    with store.engine.connect() as con:
        return int(con.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            assert con.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        # the backend's FATAL message and end of stream reach our socket
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with admin.connect() as con:
                alive = con.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                ).scalar()
            if not alive:
                break
            time.sleep(0.02)
    finally:
        admin.dispose()


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    from sqlalchemy import event

    @event.listens_for(store.engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
        seen.append(args[2])

    return seen


@pytest.mark.postgres
def test_a_terminated_connection_is_replaced_without_error(pg_store: Store) -> None:
    registry.add_domain(pg_store, "canary.example.org")
    pid = _backend_pid(pg_store)
    assert _backend_pid(pg_store) == pid  # the pool hands the same connection back
    _terminate(pid)
    # recently used, so not pinged: the poll sees the server's goodbye
    assert registry.list_domains(pg_store) == ["canary.example.org"]
    assert _backend_pid(pg_store) != pid
    assert trace(pg_store, "nobody@canary.example.org")["canaries"] == []


@pytest.mark.postgres
def test_every_pooled_connection_killed_at_once(pg_store: Store) -> None:
    """A server restart ends every connection: each is replaced as it is checked out."""
    cons = [pg_store.engine.connect() for _ in range(3)]
    pids = [int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in cons]
    for c in cons:
        c.close()
    for pid in pids:
        _terminate(pid)
    for _ in range(4):
        assert _backend_pid(pg_store) not in pids


@pytest.mark.postgres
def test_a_busy_connection_is_not_pinged_an_idle_one_is(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _backend_pid(pg_store)
    pings: list[int] = []
    real = engine_mod._pg_checkout

    def counting(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        class Spy:
            def __getattr__(self, name: str) -> Any:
                return getattr(dbapi_conn, name)

            def cursor(self) -> Any:
                pings.append(1)
                return dbapi_conn.cursor()

        real(Spy(), record, proxy)

    from sqlalchemy import event

    event.remove(pg_store.engine, "checkout", engine_mod._pg_checkout)
    event.listen(pg_store.engine, "checkout", counting)
    for _ in range(5):
        _backend_pid(pg_store)
    assert pings == []  # returned a moment ago: a poll, no round trip
    monkeypatch.setattr(engine_mod, "PING_AFTER_IDLE", 0.0)
    time.sleep(0.01)
    _backend_pid(pg_store)
    assert pings == [1]  # idle past the limit: pinged as pool_pre_ping did


class _FakeConn:
    def __init__(self, sock: socket.socket, *, ping_fails: bool = False) -> None:
        self.sock = sock
        self.closed = False
        self.broken = False
        self.autocommit = True
        self.ping_fails = ping_fails
        self.pinged = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def cursor(self) -> Any:
        conn = self

        class Cur:
            def __enter__(self) -> Cur:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def execute(self, sql: str) -> None:
                conn.pinged += 1
                if conn.ping_fails:
                    raise OSError("server closed the connection unexpectedly")

        return Cur()


class _Record:
    def __init__(self, returned: float | None) -> None:
        self.info: dict[str, Any] = {} if returned is None else {"returned": returned}


def test_checkout_guard_without_a_server() -> None:
    a, b = socket.socketpair()
    try:
        recent = _Record(time.monotonic())
        conn = _FakeConn(a)
        engine_mod._pg_checkout(conn, recent, None)  # quiet socket, recent: nothing sent
        assert conn.pinged == 0
        engine_mod._pg_checkout(conn, _Record(None), None)  # just connected: not pinged
        assert conn.pinged == 0
        engine_mod._pg_checkout(
            conn, _Record(time.monotonic() - engine_mod.PING_AFTER_IDLE - 1), None
        )
        assert conn.pinged == 1
        old = _Record(time.monotonic() - engine_mod.PING_AFTER_IDLE - 1)
        with pytest.raises(DisconnectionError):  # idle, and the ping fails
            engine_mod._pg_checkout(_FakeConn(a, ping_fails=True), old, None)
        b.sendall(b"E")  # the server speaks unasked: it is closing the connection
        with pytest.raises(DisconnectionError):
            engine_mod._pg_checkout(_FakeConn(a), recent, None)
        b.close()  # end of stream
        a.recv(1)
        with pytest.raises(DisconnectionError):
            engine_mod._pg_checkout(_FakeConn(a), recent, None)
        broken = _FakeConn(a)
        broken.broken = True
        with pytest.raises(DisconnectionError):
            engine_mod._pg_checkout(broken, recent, None)
    finally:
        a.close()
        b.close()


def test_other_drivers_keep_the_pre_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}

    def fake_create_engine(url: str, **kw: Any) -> Any:
        captured.update(kw)
        raise ValueError("stop here")

    monkeypatch.setattr(engine_mod, "create_engine", fake_create_engine)
    with pytest.raises(Exception, match="stop here"):
        engine_mod.make_engine("postgresql+pg8000://u@localhost/db")
    assert captured["pool_pre_ping"] is True
    with pytest.raises(Exception, match="stop here"):
        engine_mod.make_engine("postgresql://u@localhost/db")
    assert captured["pool_pre_ping"] is False
