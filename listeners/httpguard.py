"""Slow and greedy HTTP clients cut, so signed webhooks keep being answered.

uvicorn closes an idle keep-alive connection, but a client that sends its request
headers a byte at a time, or its body at a trickle, or never reads the answer, holds
its connection (and a task) for as long as it likes; a few hundred such sockets starve
the listener. `guarded(protocol, guard)` wraps uvicorn's HTTP protocol class so each
connection is checked once a second:

- waiting for a request (a new connection, or after an answer): the request's headers
  must be complete within `header_timeout` seconds;
- reading a body: after `body_grace` seconds, at least `min_body_rate` bytes/s on
  average (while the app is not the one holding it back);
- writing an answer the client does not read: cut after `header_timeout` seconds;
- at most `max_per_peer` connections per client address (closed at once beyond);
- with more than `busy_connections` open, the header timeout and the body's grace
  shrink to `busy_header_timeout` and `busy_body_grace`.

A cut is logged at most once a minute per listener, with a count.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from listeners.guards import PeerSlots, QuietLog

log = logging.getLogger(__name__)


@dataclass
class HttpLimits:
    header_timeout: float = 10.0
    min_body_rate: int = 4096
    body_grace: float = 5.0
    max_per_peer: int = 64
    check_every: float = 1.0
    #: Past this many open connections the listener is under pressure: headers get
    #: `busy_header_timeout` seconds and bodies `busy_body_grace` (a provider's request
    #: arrives in milliseconds; a slowloris wants every second it is given).
    busy_connections: int = 256
    busy_header_timeout: float = 2.0
    busy_body_grace: float = 1.0


class HttpGuard:
    """The state one listener's connections share: per-peer slots, counts, the log."""

    def __init__(self, name: str, limits: HttpLimits) -> None:
        self.name = name
        self.limits = limits
        self.slots = PeerSlots(0, limits.max_per_peer)
        self.quiet = QuietLog(log)
        self.refused = 0
        self.cut = 0

    def note_cut(self, peer: str, why: str) -> None:
        self.cut += 1
        self.quiet.warning(
            "cut", "%s listener: cut a connection from %s (%s)", self.name, peer, why
        )

    def note_refused(self, peer: str) -> None:
        self.refused += 1
        self.quiet.warning(
            "refused",
            "%s listener: refused a connection from %s (%d open from it: the per-peer cap)",
            self.name,
            peer,
            self.slots.by_peer[peer],
        )


def _host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "?")


def guarded(base: type, guard: HttpGuard) -> type:
    """A subclass of uvicorn's protocol class `base` that enforces `guard`'s limits."""

    class Guarded(base):  # type: ignore[misc]
        _g_refused = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._g_peer = _host(transport)
            if guard.slots.take(self._g_peer) is not None:
                self._g_refused = True
                guard.note_refused(self._g_peer)
                transport.close()
                return
            super().connection_made(transport)
            now = self.loop.time()
            self._g_cycle: Any = None
            self._g_body = 0
            self._g_state = "headers"
            self._g_since = now
            self._g_timer: asyncio.TimerHandle | None = self.loop.call_later(
                guard.limits.check_every, self._g_check
            )

        def connection_lost(self, exc: Exception | None) -> None:
            if self._g_refused:
                return
            guard.slots.give(self._g_peer)
            if self._g_timer is not None:
                self._g_timer.cancel()
                self._g_timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._g_refused:
                return
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._g_cycle:
                self._g_cycle = self.cycle  # a new request: its headers are in
                self._g_body = 0
                self._g_state = "body"
                self._g_since = self.loop.time()
            elif self._g_state == "body":
                self._g_body += len(data)

        def _g_check(self) -> None:
            self._g_timer = None
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            lim = guard.limits
            busy = guard.slots.count > lim.busy_connections
            header_timeout = (
                min(lim.header_timeout, lim.busy_header_timeout) if busy else lim.header_timeout
            )
            grace = min(lim.body_grace, lim.busy_body_grace) if busy else lim.body_grace
            now = self.loop.time()
            cycle = self.cycle
            why = ""
            if cycle is None or cycle.response_complete:
                if self._g_state != "headers":
                    self._g_state, self._g_since = "headers", now
                elif now - self._g_since > header_timeout:
                    why = f"request headers not complete in {header_timeout:g} s"
            elif getattr(cycle, "more_body", False) and not self.flow.read_paused:
                elapsed = now - self._g_since - grace
                if elapsed > 0 and self._g_body < lim.min_body_rate * elapsed:
                    why = f"request body slower than {lim.min_body_rate} bytes/s"
            elif self.flow.write_paused:
                if self._g_state != "write":
                    self._g_state, self._g_since = "write", now
                elif now - self._g_since > header_timeout:
                    why = f"answer not read in {header_timeout:g} s"
            elif self._g_state == "write":
                self._g_state, self._g_since = "body", now
            if why:
                guard.note_cut(self._g_peer, why)
                if cycle is not None and not cycle.response_complete:
                    cycle.disconnected = True
                transport.close()
                return
            self._g_timer = self.loop.call_later(lim.check_every, self._g_check)

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded
