"""Group commit of SMTP hits: many sessions, one transaction, each answered after it.

Sessions hand their observations to `GroupCommitter.submit` and wait. One committer
task takes everything queued (up to `max_batch` sessions: whatever arrived while the
previous commit ran, after a short wait for the sessions it has just answered),
records it with `canary.hits.record_in` in one transaction in its own worker thread,
then wakes each waiter. At low load a message commits alone
at once; under load many share one commit, which is what keeps SQLite (one writer)
fast. If a grouped commit fails, each session's observations are retried alone, so
one bad message never fails the others; a session whose own commit fails gets the
exception (the listener answers 451 and the sender retries).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError

from canary.hits import Observation, Recorded, record_in
from canary.store import Store

log = logging.getLogger(__name__)

#: Sessions committed together at most.
MAX_BATCH = 200
#: Longest wait (s) for sessions about to send again; also at most half a commit's time.
MAX_LINGER = 0.02
#: Attempts for one session's observations when the store reports a race or is busy.
ATTEMPTS = 3

_Item = tuple[list[Observation], "asyncio.Future[list[Recorded]]", object | None]
_Outcome = list[Recorded] | BaseException


class GroupCommitter:
    """Commit observations from concurrent sessions in shared transactions."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = MAX_BATCH,
        max_linger: float = MAX_LINGER,
        alive: Callable[[object], bool] = lambda _source: True,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.max_linger = max_linger
        #: Whether a source (session) is still connected, so worth waiting for.
        self.alive = alive
        self._arrived = asyncio.Event()
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-commit")
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        #: Transactions and observations committed, for logs and benchmarks.
        self.commits = 0
        self.committed = 0

    def start(self) -> None:
        """Start the committer task in the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="smtp-commit")

    async def submit(
        self, observations: list[Observation], source: object | None = None
    ) -> list[Recorded]:
        """Queue `observations` and return their results once they are committed.

        `source` (the SMTP session) lets the committer wait briefly for sessions it
        just answered, which are about to send their next message (see `_linger`).
        The commit goes ahead even if the caller is cancelled (a client that hung
        up): the message was received whole, so it is kept, just not acknowledged.
        """
        if self._closed or self._task is None:
            raise RuntimeError("the SMTP committer is not running")
        fut: asyncio.Future[list[Recorded]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((observations, fut, source))
        self._arrived.set()
        return await asyncio.shield(fut)

    async def close(self) -> None:
        """Commit everything queued, then stop the task and the worker thread."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            self._arrived.set()
            await self._task
        self._executor.shutdown(wait=True)

    def _take(self, batch: list[_Item]) -> bool:
        """Move what is queued into `batch` (up to max_batch); True when told to stop."""
        while len(batch) < self.max_batch and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return True
            batch.append(item)
        return False

    async def _linger(self, batch: list[_Item], previous: set[object], budget: float) -> bool:
        """Wait up to `budget` s for the sessions answered by the last commit to queue again.

        Without this, sessions settle into two halves that take turns (one half
        commits while the other sends), and each commit carries half of them.
        Waiting a fraction of one commit's time for the other half doubles the batch.
        Only sessions still connected and not already in the batch are waited for,
        so a lone client never waits. Returns True when told to stop.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while len(batch) < self.max_batch:
            present = {item[2] for item in batch}
            if not any(self.alive(s) and s not in present for s in previous):
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._arrived.clear()
            if self._queue.empty():
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    return False
            if self._take(batch):
                return True
        return False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = False
        previous: set[object] = set()
        last = 0.0
        while not stop:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = self._take(batch)
            if not stop and previous and self.max_linger > 0:
                stop = await self._linger(batch, previous, min(self.max_linger, last / 2))
            started = loop.time()
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self.commit, [item[0] for item in batch]
                )
            except BaseException as exc:  # the waiters get it; the task keeps running
                outcomes = [exc] * len(batch)
            last = loop.time() - started
            previous = {item[2] for item in batch if item[2] is not None}
            for (_, fut, _src), outcome in zip(batch, outcomes, strict=True):
                if fut.done():
                    continue
                if isinstance(outcome, BaseException):
                    fut.set_exception(outcome)
                else:
                    fut.set_result(outcome)

    def commit(self, groups: list[list[Observation]]) -> list[_Outcome]:
        """Record each group (blocking): one transaction for all, else one per group."""
        if len(groups) > 1:
            try:
                with self.store.session() as session:
                    results: list[_Outcome] = [record_in(session, g) for g in groups]
                self.commits += 1
                self.committed += sum(len(g) for g in groups)
                return results
            except Exception as exc:
                log.warning(
                    "grouped commit of %d sessions failed (%s); one by one", len(groups), exc
                )
        return [self._commit_one(g) for g in groups]

    def _commit_one(self, group: list[Observation]) -> _Outcome:
        last: BaseException | None = None
        for attempt in range(ATTEMPTS):
            try:
                with self.store.session() as session:
                    result = record_in(session, group)
                self.commits += 1
                self.committed += len(group)
                return result
            except DBAPIError as exc:  # busy, deadlock or a race with another process
                last = exc
                time.sleep(0.05 * (attempt + 1))
            except Exception as exc:
                log.exception("recording an SMTP hit failed")
                return exc
        log.error("recording an SMTP hit failed after %d attempts: %s", ATTEMPTS, last)
        assert last is not None
        return last
