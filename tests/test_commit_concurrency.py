"""The webhook committer's commits in flight at once: several on PostgreSQL (a batch is
written while the one before waits for its flush), one at a time on SQLite (one writer);
each caller still gets its own hits, committed, before its answer."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canary.hits.record import Observation, Recorded, receive_in
from canary.store.engine import Store
from canary.store.models import Hit
from listeners.batching import GroupCommitter
from listeners.webhooks import CONCURRENT_COMMITS


def _obs(n: int) -> list[Observation]:
    return [
        Observation(
            channel="sms",
            identifier="+525512345678",
            summary=f"hola {n}",
            provider="twilio",
            provider_message_id=f"SM-conc-{n}",
            evidence=f"raw {n}".encode(),
        )
    ]


def test_commits_overlap_on_postgresql_and_not_on_sqlite(store: Store) -> None:
    inside = 0
    most = 0
    lock = threading.Lock()

    def slow(session: Session, observations: list[Observation]) -> list[Recorded]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            time.sleep(0.05)  # a flush that takes a while
            return receive_in(session, observations)
        finally:
            with lock:
                inside -= 1

    async def main() -> list[list[Recorded]]:
        committer = GroupCommitter(store, record=slow, concurrent=CONCURRENT_COMMITS, max_batch=2)
        try:
            return list(await asyncio.gather(*(committer.submit(_obs(n)) for n in range(12))))
        finally:
            await committer.close()

    results = asyncio.run(main())
    ids = [r.hit_id for (r,) in results]
    assert len(set(ids)) == 12 and not any(r.duplicate for (r,) in results)
    with store.session() as s:
        rows = {int(i): str(m) for i, m in s.execute(select(Hit.id, Hit.summary))}
        assert s.scalar(select(func.count()).select_from(Hit)) == 12
    # Each caller got its own hit, committed.
    assert [rows[i] for i in ids] == [f"hola {n}" for n in range(12)]
    if store.engine.dialect.name == "sqlite":
        assert most == 1
    else:
        assert CONCURRENT_COMMITS > 1 and most == CONCURRENT_COMMITS


def test_a_retry_racing_its_first_delivery_in_another_commit_is_a_duplicate(
    store: Store,
) -> None:
    """The same message id in two commits in flight at once: one hit, and the other caller
    is told it is a duplicate of it."""

    async def main() -> list[list[Recorded]]:
        committer = GroupCommitter(
            store, record=receive_in, concurrent=CONCURRENT_COMMITS, max_batch=1
        )
        try:
            return list(await asyncio.gather(*(committer.submit(_obs(7)) for _ in range(4))))
        finally:
            await committer.close()

    results = asyncio.run(main())
    assert len({r.hit_id for (r,) in results}) == 1
    assert sorted(r.duplicate for (r,) in results) == [False, True, True, True]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Hit)) == 1
