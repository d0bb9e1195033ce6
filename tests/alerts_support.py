"""Helpers for the alert, job and doctor tests: real receivers on loopback and a tiny registry."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiosmtpd.controller import Controller

from canary.store.engine import Store, new_id
from canary.store.models import Canary, Copy, Dataset, Identifier


def add_copy(
    store: Store,
    recipient: str,
    email: str | None = None,
    phones: list[str] = (),  # type: ignore[assignment]
    *,
    kind: str = "planted",
    issued_at: datetime | None = None,
    purpose: str = "quarterly audit",
) -> str:
    """A dataset, one copy and one canary with `email`/`phones`; returns the copy id."""
    with store.session() as s:
        ds = Dataset(id=new_id("D"), name="candidates.csv", source="x", format="csv", columns=[])
        cp = Copy(
            id=new_id("C"),
            dataset_id=ds.id,
            recipient=recipient,
            purpose=purpose,
            issued_by="custodian",
            issued_at=issued_at or datetime.now(UTC) - timedelta(days=3),
            path="/tmp/x.csv",
            sha256="0" * 64,
            format="csv",
        )
        s.add_all([ds, cp])
        s.flush()
        can = Canary(copy_id=cp.id if kind == "planted" else None, dataset_id=ds.id, kind=kind)
        s.add(can)
        s.flush()
        if email:
            s.add(Identifier(canary_id=can.id, kind="email", value=email, raw=email))
        for p in phones:
            s.add(Identifier(canary_id=can.id, kind="phone", value=p, raw=p))
        return cp.id


def wait_for(pred: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `pred` until it returns something truthy (robust on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """An HTTP server on loopback that records POSTs; `status` may be changed any time."""

    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    holder: dict[str, HttpReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = holder["r"]
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            status = rec.status
            if 200 <= status < 300:
                rec.requests.append(Request(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = HttpReceiver(server)
    holder["r"] = rec
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        t.join(10)


class MailSink:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK"


@contextmanager
def smtp_receiver(port: int, handler: Any = None, **smtp_kwargs: Any) -> Iterator[Any]:
    h = handler or MailSink()
    ctl = Controller(h, hostname="127.0.0.1", port=port, ready_timeout=30, **smtp_kwargs)
    ctl.start()
    try:
        yield h
    finally:
        ctl.stop()


@contextmanager
def udp_receiver() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(20)
    try:
        yield s
    finally:
        s.close()


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: dict[tuple[str, str], list[str]]) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        qname = q.question[0].name.to_text()
        rdtype = dns.rdatatype.to_text(q.question[0].rdtype)
        names = {n for n, _ in self.zone}
        records = self.zone.get((qname.lower(), rdtype))
        if records:
            r.answer.append(dns.rrset.from_text_list(qname, 300, "IN", rdtype, records))
        elif qname.lower() not in names:
            r.set_rcode(dns.rcode.NXDOMAIN)
        assert self.transport is not None
        self.transport.sendto(r.to_wire(), addr)


@contextmanager
def dns_server(zone: dict[tuple[str, str], list[str]]) -> Iterator[int]:
    """An authoritative DNS server on 127.0.0.1 answering from `zone`; yields its port.

    Keys are (fully qualified lower-case name with trailing dot, type).
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _DnsProtocol(zone), local_addr=("127.0.0.1", 0)
        )
        holder["t"] = transport
        holder["port"] = transport.get_extra_info("sockname")[1]
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(20)
    try:
        yield int(holder["port"])
    finally:

        async def stop() -> None:
            holder["t"].close()
            for _ in range(3):  # let the transport finish closing its socket
                await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        loop.close()
