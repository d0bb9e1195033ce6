"""Slow HTTP clients are cut, greedy peers capped, and signed webhooks keep being answered.

The attack: hundreds of sockets from other addresses (all of 127.0.0.0/8 is loopback
on Linux) that send their headers or their body a trickle at a time, while a provider
on 127.0.0.1 posts signed webhooks. Every signed webhook must get a 2xx.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from canary.store.engine import Store
from listeners.httpguard import HttpLimits
from listeners.serve import QuietServer, bind, guarded_config
from listeners.webhooks import create_app
from tests.smtp_support import wait_for
from tests.webhooks_support import generic_post, signed_config

LIMITS = HttpLimits(header_timeout=2.0, min_body_rate=2048, body_grace=1.0, max_per_peer=20)


@contextmanager
def guarded_webhooks(store: Store, limits: HttpLimits = LIMITS) -> Iterator[tuple[str, object]]:
    app = create_app(store, signed_config())
    sock = bind("127.0.0.1", 0, "http")
    cfg = guarded_config(app, "http", limits)
    server = QuietServer(cfg)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=30)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", cfg.canary_guard  # type: ignore[attr-defined]
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()


def _slow(port: int, source: str, body: bool) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.setblocking(False)
    head = b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\n"
    if body:
        head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    s.send(head)
    return s


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_sockets_are_cut_and_signed_webhooks_all_answered(sqlite_store: Store) -> None:
    with guarded_webhooks(sqlite_store) as (url, guard):
        port = int(url.rsplit(":", 1)[1])
        slow: list[socket.socket] = []
        try:
            for i in range(300):  # 10 per address, 127.0.0.2 .. 127.0.0.31
                slow.append(_slow(port, f"127.0.0.{2 + i // 10}", body=i % 2 == 1))
            statuses: list[int] = []
            with httpx.Client(base_url=url, timeout=30) as client:
                deadline = time.monotonic() + 6
                n = 0
                while time.monotonic() < deadline and n < 60:  # bounded in count and time
                    for s in slow:  # a trickle: one byte per socket per round
                        try:
                            s.send(b"x")
                        except OSError:
                            pass
                    doc = {"id": f"g{n}", "to": "+50688887777", "from": "+1555", "body": "hola"}
                    statuses.append(generic_post(client, doc).status_code)
                    n += 1
                    time.sleep(0.1)
            assert statuses and all(200 <= s < 300 for s in statuses), statuses
            still_open = [s for s in slow if not _closed(s)]
            assert len(still_open) <= 3, f"{len(still_open)} slow sockets survived"
            assert guard.cut >= 297  # type: ignore[attr-defined]
        finally:
            for s in slow:
                s.close()


def test_one_peer_is_capped_others_still_served(sqlite_store: Store) -> None:
    with guarded_webhooks(sqlite_store) as (url, guard):
        port = int(url.rsplit(":", 1)[1])
        held = [_slow(port, "127.0.0.50", body=False) for _ in range(30)]
        try:
            time.sleep(0.3)
            refused = [s for s in held if _closed(s)]
            assert len(refused) == 10  # the 21st and later, at once
            assert guard.refused == 10  # type: ignore[attr-defined]
            with httpx.Client(base_url=url, timeout=30) as client:
                doc = {"id": "ok1", "to": "+50688887777", "from": "+1555", "body": "hola"}
                assert 200 <= generic_post(client, doc).status_code < 300
        finally:
            for s in held:
                s.close()


def test_a_client_gone_mid_body_is_no_traceback(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with guarded_webhooks(sqlite_store) as (url, _guard):
        port = int(url.rsplit(":", 1)[1])
        for i in range(5):
            s = _slow(port, f"127.0.0.{60 + i}", body=True)
            time.sleep(0.1)
            s.close()
        time.sleep(0.5)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert len([r for r in caplog.records if "went away" in r.getMessage()]) == 1
