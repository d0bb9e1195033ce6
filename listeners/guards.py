"""Bounds a listener keeps whatever its clients do: connection counts, bytes in flight,
evidence quotas, and log lines that cannot flood.

Everything here is in memory and per process (a restart forgets the counts); the
numbers come from the config (`[smtp]`, `[listen]`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


class QuietLog:
    """One log line per `interval` seconds per key; what was held back is counted in it."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def warning(self, key: str, message: str, *args: Any) -> bool:
        """Log `message` unless `key` was logged less than `interval` ago; True if logged."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._held[key] += 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        suffix = f" ({held} more like it in the last {self.interval:.0f} s)" if held else ""
        self.logger.warning(message + suffix, *args)
        return True


class PeerSlots:
    """Concurrent connections, in all and per peer address, each under a cap."""

    def __init__(self, total: int, per_peer: int) -> None:
        self.total = total
        self.per_peer = per_peer
        self.count = 0
        self.by_peer: Counter[str] = Counter()

    def take(self, peer: str) -> str | None:
        """Take a slot for `peer`; None when taken, else which cap refused ("total"/"peer")."""
        if self.total and self.count >= self.total:
            return "total"
        if self.per_peer and self.by_peer[peer] >= self.per_peer:
            return "peer"
        self.count += 1
        self.by_peer[peer] += 1
        return None

    def give(self, peer: str) -> None:
        self.count -= 1
        self.by_peer[peer] -= 1
        if self.by_peer[peer] <= 0:
            del self.by_peer[peer]


class ByteBudget:
    """Bytes held across all sessions (received and not yet committed or dropped)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0

    def take(self, n: int) -> bool:
        """Reserve `n` bytes; False (nothing reserved) when that would pass the limit."""
        if self.limit and self.used + n > self.limit:
            return False
        self.used += n
        self.peak = max(self.peak, self.used)
        return True

    def give(self, n: int) -> None:
        self.used = max(0, self.used - n)


@dataclass
class EvidenceQuota:
    """Evidence bytes stored per sender and in all, per UTC day.

    Over either quota a message is still a hit, but only its first `over_quota_bytes`
    are kept as evidence (with the SHA-256 of the whole, as for an oversized message).
    """

    per_sender: int
    per_day: int
    over_quota_bytes: int = 4096
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _day: str = ""
    _total: int = 0
    _senders: Counter[str] = field(default_factory=Counter)

    def grant(self, sender: str, wanted: int) -> int:
        """How many of `wanted` evidence bytes `sender` may store now (and count them)."""
        day = self.clock().strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._total, self._senders = day, 0, Counter()
        room = wanted
        if self.per_sender:
            room = min(room, self.per_sender - self._senders[sender])
        if self.per_day:
            room = min(room, self.per_day - self._total)
        granted = wanted if room >= wanted else min(wanted, self.over_quota_bytes)
        self._senders[sender] += granted
        self._total += granted
        if len(self._senders) > 100_000:  # bounded: forget the smallest senders
            for k, _ in self._senders.most_common()[50_000:]:
                del self._senders[k]
        return granted


#: errno values of an accept() that failed for want of resources.
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def quiet_resource_errors(loop: asyncio.AbstractEventLoop, interval: float = 60.0) -> None:
    """Make accept() failures at the file-descriptor limit one log line per interval.

    asyncio already pauses accepting on that listener for a second after such a
    failure; what it also does is log the error with a traceback every time. This
    handler keeps every other error as it was.
    """
    previous = loop.get_exception_handler()
    if getattr(previous, "canary_quiet", False):
        return
    quiet = QuietLog(log, interval)

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            quiet.warning(
                "accept",
                "out of file descriptors or memory (%s): accepting paused; "
                "raise the open-files limit or lower smtp.max_sessions",
                exc.strerror or exc,
            )
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    handler.canary_quiet = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to its hard limit; the new soft limit."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = max(soft, 65536)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, ValueError, OSError):
        return 0
