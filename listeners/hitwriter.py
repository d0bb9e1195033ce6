"""Group commit of hits for the asyncio listeners.

A request hands its observations to `HitWriter.record` and waits. One drain task per
writer takes everything queued, records it in one transaction in a worker thread
(`canary.hits.record_in`), commits, then wakes each waiter with its own results.
Under load many requests share one commit, so throughput stays high while every
caller still answers only after its hits are durable.

A failed batch is retried one request at a time, so one bad request never fails the
others. Races with other processes sharing the store (the unique provider-message
constraint, PostgreSQL deadlocks) are retried: the second attempt sees the committed
row and reports a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from canary.hits import Observation, Recorded, record_in
from canary.store import Store

log = logging.getLogger(__name__)

#: Requests committed together at most.
MAX_BATCH = 256
#: Attempts for one request when the store reports a race.
ATTEMPTS = 5

Outcome = list[Recorded] | BaseException


class HitWriter:
    """Queue observations from many requests and commit them in shared transactions."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: list[tuple[list[Observation], asyncio.Future[list[Recorded]]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def record(self, observations: list[Observation]) -> list[Recorded]:
        """Commit `observations` (one request's worth); returns once they are durable."""
        fut: asyncio.Future[list[Recorded]] = asyncio.get_running_loop().create_future()
        self._queue.append((observations, fut))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.ensure_future(self._drain())
        return await asyncio.shield(fut)

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                outcomes = await run_in_threadpool(self.commit, [obs for obs, _ in batch])
            except asyncio.CancelledError:
                for _, fut in batch:
                    fut.cancel()
                raise
            except Exception as exc:  # the waiters get it
                outcomes = [exc] * len(batch)
            for (_, fut), outcome in zip(batch, outcomes, strict=True):
                if fut.done():
                    continue
                if isinstance(outcome, BaseException):
                    fut.set_exception(outcome)
                else:
                    fut.set_result(outcome)

    def commit(self, groups: Sequence[list[Observation]]) -> list[Outcome]:
        """Record each group (blocking); one transaction for all, else one per group."""
        if len(groups) > 1:
            try:
                with self.store.session() as session:
                    # One call for the whole batch: incidents are filed once per batch.
                    flat = record_in(session, [obs for g in groups for obs in g])
                out: list[Outcome] = []
                start = 0
                for g in groups:
                    out.append(flat[start : start + len(g)])
                    start += len(g)
                return out
            except DBAPIError as exc:
                log.info("grouped commit of %d requests failed (%s); one by one", len(groups), exc)
        return [self._commit_one(g) for g in groups]

    def _commit_one(self, group: list[Observation]) -> Outcome:
        last: BaseException | None = None
        for attempt in range(ATTEMPTS):
            try:
                with self.store.session() as session:
                    return record_in(session, group)
            except DBAPIError as exc:  # a race with another process: look again
                last = exc
                time.sleep(0.02 * (attempt + 1))
            except Exception as exc:
                log.exception("recording a hit failed")
                return exc
        log.error("recording a hit failed after %d attempts: %s", ATTEMPTS, last)
        assert last is not None
        return last
