"""Helpers for the SMTP tests: a store with canaries, the listener in its own loop thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select

from canary.config import Config
from canary.hits.record import pending_count
from canary.identifiers import normalize_domain
from canary.store.engine import Store, new_id
from canary.store.models import Canary, Copy, Dataset, Domain, Hit, Identifier
from listeners.smtp import SmtpListener, start_smtp

T = TypeVar("T")

DOMAIN = "canary.example"
IDN_DOMAIN = "caño.example"


@dataclass
class Seeded:
    """What `seed` planted: copy id per recipient and each copy's canary address."""

    copies: dict[str, str] = field(default_factory=dict)  # recipient -> copy id
    addresses: dict[str, str] = field(default_factory=dict)  # copy id -> email
    names: dict[str, str] = field(default_factory=dict)  # copy id -> canary name
    control: str = ""


def seed(
    store: Store, recipients: tuple[str, ...] = ("vendor-a", "vendor-b", "vendor-c")
) -> Seeded:
    """A canary domain, a dataset, one copy per recipient with one email canary each."""
    out = Seeded()
    issued = datetime.now(UTC) - timedelta(days=2)
    with store.session() as s:
        s.add(Domain(name=DOMAIN))
        s.add(Domain(name=normalize_domain(IDN_DOMAIN)))
        ds = Dataset(
            id=new_id("D"), name="voters", source="voters.csv", format="csv", columns=["n", "e"]
        )
        s.add(ds)
        firsts = ("maria", "lucia", "sofia", "elena", "carmen")
        for i, rcpt in enumerate(recipients):
            cp = Copy(
                id=new_id("C"),
                dataset_id=ds.id,
                recipient=rcpt,
                path=f"/tmp/{rcpt}.csv",
                sha256="0" * 64,
                format="csv",
                issued_at=issued,
            )
            s.add(cp)
            name = f"{firsts[i % 5].title()} Quintero{i}"
            email = f"{firsts[i % 5]}.quintero{i}@{DOMAIN}"
            can = Canary(copy=cp, dataset_id=ds.id, values={"name": name, "email": email})
            s.add(can)
            s.add(Identifier(canary=can, kind="email", value=email, raw=email))
            out.copies[rcpt] = cp.id
            out.addresses[cp.id] = email
            out.names[cp.id] = name
        control = Canary(dataset_id=ds.id, kind="control", values={})
        s.add(control)
        out.control = f"control.person@{DOMAIN}"
        s.add(Identifier(canary=control, kind="email", value=out.control))
    return out


def add_canary(store: Store, copy_id: str, email: str) -> None:
    """Another email canary in an existing copy (e.g. a non-ASCII address)."""
    with store.session() as s:
        cp = s.get(Copy, copy_id)
        assert cp is not None
        can = Canary(copy=cp, dataset_id=cp.dataset_id, values={"email": email})
        s.add(can)
        s.add(Identifier(canary=can, kind="email", value=email, raw=email))


class LoopThread:
    """An asyncio loop running in a background thread, as `canary serve` would run one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


class Running:
    """A listener on a free port with its loop; `close()` stops both."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.loop = LoopThread()
        try:
            self.listener: SmtpListener = self.loop.run(start_smtp(store, config, "127.0.0.1", 0))
        except BaseException:
            self.loop.stop()
            raise
        self.port = self.listener.port
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.loop.run(self.listener.close(grace=10))
            finally:
                self.loop.stop()


def make_config(**smtp: Any) -> Config:
    cfg = Config()
    cfg.smtp.hostname = "mx1.canary.example"
    cfg.smtp.command_timeout = 60.0
    for k, v in smtp.items():
        setattr(cfg.smtp, k, v)
    return cfg


def hits(store: Store, *, attributed: bool = True, **where: Any) -> list[Hit]:
    """The stored hits, oldest first; by default once the listener has attributed them."""
    if attributed:
        wait_for(lambda: pending(store) == 0)
    with store.session() as s:
        q = select(Hit).order_by(Hit.id)
        for k, v in where.items():
            q = q.where(getattr(Hit, k) == v)
        rows = list(s.scalars(q))
        for h in rows:
            _ = h.candidates  # load while the session is open
        return rows


def pending(store: Store) -> int:
    """Hits stored and answered for but not attributed yet (the inbox)."""
    with store.session() as s:
        return pending_count(s)


def hit_count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Hit)) or 0)


def wait_for(predicate: Callable[[], T], timeout: float = 30.0) -> T:
    """Poll until `predicate()` is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


class RawClient:
    """A plain socket speaking SMTP line by line, for what smtplib is too polite to send."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def reply(self) -> bytes:
        """A whole (possibly multi-line) reply."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
            lines.append(self.line())
        return b"\n".join(lines)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def cmd(self, data: bytes) -> bytes:
        self.send(data + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
