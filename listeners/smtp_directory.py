"""Which recipients the SMTP listener accepts: canary addresses and domains, cached briefly.

Canary domains and email identifiers live in the store, so several listeners sharing
it agree. Answers are cached for `ttl` seconds (a new copy is seen within that), the
queries run in a worker thread so the event loop never waits on the database, and
concurrent lookups of the same address share one query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from typing import Literal

from sqlalchemy import select

from canary.identifiers import normalize_email
from canary.store.engine import Store
from canary.store.models import Domain, Identifier

log = logging.getLogger(__name__)

Verdict = Literal["canary", "unknown", "foreign"]

#: Seconds an answer is trusted.
TTL = 3.0
#: Addresses cached at most (the cache is emptied when full).
MAX_ENTRIES = 50_000


def split_address(address: str) -> tuple[str, str]:
    """(normalised address, its domain) of an envelope address; ("", "") if it has none."""
    a = address.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if "@" not in a or len(a) > 512:
        return "", ""
    norm = normalize_email(a)
    return norm, norm.rpartition("@")[2]


class Directory:
    """Classify recipients: a canary address, an unknown address at a canary domain, foreign."""

    def __init__(self, store: Store, executor: Executor, *, ttl: float = TTL) -> None:
        self.store = store
        self.executor = executor
        self.ttl = ttl
        self._domains: frozenset[str] = frozenset()
        self._domains_until = 0.0
        self._domains_task: asyncio.Future[frozenset[str]] | None = None
        self._known: dict[str, tuple[bool, float]] = {}
        self._inflight: dict[str, asyncio.Future[bool]] = {}

    async def classify(self, address: str) -> tuple[Verdict, str]:
        """(verdict, normalised address) for an envelope recipient."""
        norm, domain = split_address(address)
        if not norm:
            return "foreign", norm
        if domain not in await self.domains():
            return "foreign", norm
        return ("canary" if await self.is_canary(norm) else "unknown"), norm

    async def domains(self) -> frozenset[str]:
        """The canary domains (cached)."""
        now = time.monotonic()
        if now < self._domains_until:
            return self._domains
        if self._domains_task is None:
            loop = asyncio.get_running_loop()
            self._domains_task = loop.run_in_executor(self.executor, self._load_domains)
        task = self._domains_task
        try:
            self._domains = await asyncio.shield(task)
            self._domains_until = time.monotonic() + self.ttl
        finally:
            if self._domains_task is task and task.done():
                self._domains_task = None
        return self._domains

    async def is_canary(self, norm: str) -> bool:
        """True when some canary (planted or control) has this email address."""
        now = time.monotonic()
        hit = self._known.get(norm)
        if hit is not None and now < hit[1]:
            return hit[0]
        fut = self._inflight.get(norm)
        if fut is None:
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(self.executor, self._load_address, norm)
            self._inflight[norm] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(norm, None))
        known = await asyncio.shield(fut)
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()
        self._known[norm] = (known, time.monotonic() + self.ttl)
        return known

    def _load_domains(self) -> frozenset[str]:
        with self.store.session() as s:
            return frozenset(s.scalars(select(Domain.name)))

    def _load_address(self, norm: str) -> bool:
        with self.store.session() as s:
            row = s.scalars(
                select(Identifier.id)
                .where(Identifier.kind == "email", Identifier.value == norm)
                .limit(1)
            ).first()
        return row is not None
