"""Group commit of hits for the asyncio listeners: many callers, one transaction each round.

The SMTP sessions and the webhook requests hand their observations to
`GroupCommitter.submit` and wait. One committer task takes everything queued (up to
`max_batch` callers: whatever arrived while the previous commit ran, after a short
wait for the SMTP sessions it has just answered, see `_linger`), records it with one
`canary.hits.record.record_in` call (or `receive_in`, see listeners.inbox) in one
transaction in its own worker thread, then wakes
each waiter with its own results. At low load a caller commits alone at once; under
load many share one commit, which is what keeps SQLite (one writer) fast, while every
caller still answers only after its hits are durable.

On PostgreSQL a committer may keep several commits in flight (`concurrent`, the
webhooks' 3): the next batch is taken as soon as a commit slot is free and committed in
another worker thread while the one before waits for its flush. SQLite has one writer:
one commit at a time there.

If a grouped commit fails, each caller's observations are committed alone, so one bad
message or request never fails the others. Races with other processes sharing the
store (the unique provider-message constraint, PostgreSQL deadlocks, a busy SQLite)
are retried a few times: the next attempt sees the committed row and reports a
duplicate. A caller whose own commit still fails gets the exception (the listener
answers 451/503 and the sender retries).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from canary.hits.record import Observation, Recorded, record_in
from canary.store.engine import Store

log = logging.getLogger(__name__)

#: Callers (sessions, requests) committed together at most.
MAX_BATCH = 256
#: Longest wait (s) for sessions about to send again; also at most half a commit's time.
MAX_LINGER = 0.02
#: Evidence bytes from which a caller is committed alone, after the small ones.
LARGE = 1024 * 1024
#: Attempts for one caller's observations when the store reports a race or is busy.
ATTEMPTS = 5
#: Pause before the next attempt, times the attempt number (s).
BACKOFF = 0.02
#: Commits in flight at once by default: one (each batch waits for the last). A caller
#: may allow more on a store whose writers do not wait for each other (PostgreSQL): while
#: one waits for its flush, the next batch is written. SQLite has one writer, so one
#: commit at a time there whatever is asked.
CONCURRENT = 1

Record = Callable[[Session, list[Observation]], list[Recorded]]


def _size(observations: list[Observation]) -> int:
    """Evidence bytes a caller's observations carry (shared evidence counted once)."""
    seen: dict[int, int] = {}
    for obs in observations:
        if obs.evidence:
            seen[id(obs.evidence)] = len(obs.evidence)
    return sum(seen.values())


#: (observations, the caller's future, its source, bytes it received)
_Item = tuple[list[Observation], "asyncio.Future[list[Recorded]]", object | None, int]
Outcome = list[Recorded] | BaseException


class GroupCommitter:
    """Commit observations from concurrent callers in shared transactions.

    Use it inside one running loop and `close` it when done: close commits whatever
    is queued first. The committer task runs only while there is work, so a loop
    closed without cancelling its tasks leaves nothing pending. `alive(source)` says
    whether a caller that gave a `source` (an SMTP session) is still connected, so
    worth a short wait; callers without a source are never waited for.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = MAX_BATCH,
        max_linger: float = MAX_LINGER,
        alive: Callable[[object], bool] = lambda _source: True,
        name: str = "hit-commit",
        record: Record | None = None,
        large: int = LARGE,
        concurrent: int = CONCURRENT,
    ) -> None:
        self.store = store
        #: What each transaction does with the observations: `record_in` (None: attribute
        #: too) or `canary.hits.record.receive_in` (store pending hits for the inbox).
        self.record = record
        self.max_batch = max_batch
        self.max_linger = max_linger
        self.alive = alive
        self.name = name
        self.large = large
        self.concurrent = concurrent
        #: Free commit slots (None: one commit at a time, awaited in turn).
        self._slots: asyncio.Semaphore | None = None
        self._arrived = asyncio.Event()
        self._queue: deque[_Item] = deque()
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        #: Large messages commit here, beside the small ones, when the store allows it.
        self._side: ThreadPoolExecutor | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        #: Sources in the last commit and how long it took (s), for `_linger`.
        self._previous: set[object] = set()
        self._last = 0.0
        #: Transactions and observations committed, for logs and benchmarks.
        self.commits = 0
        self.committed = 0
        #: time.monotonic() of the last commit (the attribution worker yields to it).
        self.last_commit = float("-inf")

    def start(self) -> None:
        """Get ready to commit (the worker thread); `submit` calls it too."""
        if self._closed:
            raise RuntimeError(f"the {self.name} committer is not running")
        if self._executor is None:
            parallel = self.store.engine.dialect.name != "sqlite" and self.concurrent > 1
            self._executor = ThreadPoolExecutor(
                max_workers=self.concurrent if parallel else 1, thread_name_prefix=self.name
            )
            if parallel:  # writers do not wait for each other
                self._slots = asyncio.Semaphore(self.concurrent)
            if self.store.engine.dialect.name != "sqlite":
                self._side = ThreadPoolExecutor(max_workers=2, thread_name_prefix=self.name)

    async def submit(
        self, observations: list[Observation], source: object | None = None, size: int = 0
    ) -> list[Recorded]:
        """Queue `observations` and return their results once they are committed.

        `source` (the SMTP session) lets the committer wait briefly for sessions it
        just answered, which are about to send their next message (see `_linger`),
        unless the caller received `size` bytes or more than `large` (a sender of
        large messages is not back within a commit's time: waiting for it would only
        delay the others). The commit goes ahead even if the caller is cancelled (a
        client that hung up): what was received whole is kept, just not acknowledged.
        """
        self.start()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Recorded]] = loop.create_future()
        self._queue.append((observations, fut, source, size))
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=self.name)
        return await asyncio.shield(fut)

    async def close(self) -> None:
        """Commit everything queued, then stop the worker thread; later submits fail."""
        if self._closed:
            return
        self._closed = True
        self._arrived.set()  # no more lingering
        if self._task is not None and not self._task.done():
            await self._task
        if self._side_tasks:
            await asyncio.wait(set(self._side_tasks))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._side is not None:
            self._side.shutdown(wait=True)

    def _take(self, batch: list[_Item]) -> None:
        """Move what is queued into `batch`, up to max_batch."""
        while self._queue and len(batch) < self.max_batch:
            batch.append(self._queue.popleft())

    async def _linger(self, batch: list[_Item], budget: float) -> None:
        """Wait up to `budget` s for the sessions answered by the last commit to queue again.

        Without this, sessions settle into two halves that take turns (one half
        commits while the other sends), and each commit carries half of them.
        Waiting a fraction of one commit's time for the other half doubles the batch.
        Only sessions still connected and not already in the batch are waited for,
        and not those whose last message was large (they are not back within a
        commit's time), so a lone client never waits; closing stops the wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while len(batch) < self.max_batch and not self._closed:
            present = {item[2] for item in batch}
            if not any(self.alive(s) and s not in present for s in self._previous):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            if not self._queue:
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    return
            self._take(batch)

    async def _run(self) -> None:
        """Commit batches until the queue is empty (a new submit starts the task again)."""
        loop = asyncio.get_running_loop()
        batch: list[_Item] = []
        try:
            while self._queue:
                batch = []
                if self._slots is not None:
                    # A free slot first, so what queues meanwhile joins this batch.
                    await self._slots.acquire()
                    if not self._queue:
                        self._slots.release()
                        break
                self._take(batch)
                if self._previous and self.max_linger > 0:
                    await self._linger(batch, min(self.max_linger, self._last / 2))
                # Small callers first, in one commit; then one large message alone (the
                # rest go back to the front of the queue), so a small message waits for
                # one large commit at most, never for a commit carrying several.
                small = [item for item in batch if _size(item[0]) < self.large]
                large = [item for item in batch if _size(item[0]) >= self.large]
                if large and self._side is not None:  # a store with concurrent writers
                    for item in large:
                        task = loop.create_task(self._commit_part(loop, [item], self._side))
                        self._side_tasks.add(task)
                        task.add_done_callback(self._side_tasks.discard)
                    large = []
                self._queue.extendleft(reversed(large[1:]))
                self._previous = {
                    item[2] for item in small if item[2] is not None and item[3] < self.large
                }
                if self._slots is not None:
                    self._dispatch(loop, small, large[:1])
                    continue
                for part in (small, large[:1]):
                    if not part:
                        continue
                    started = loop.time()
                    await self._commit_part(loop, part)
                    if part is small:
                        self._last = loop.time() - started
        except asyncio.CancelledError:  # the loop is going away: nothing more will commit
            self._closed = True
            for item in [*batch, *self._queue]:
                item[1].cancel()
            self._queue.clear()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            if self._side is not None:
                self._side.shutdown(wait=False)
            raise

    def _dispatch(
        self, loop: asyncio.AbstractEventLoop, small: list[_Item], large: list[_Item]
    ) -> None:
        """Commit `small`, then `large`, in a task holding the slot `_run` took, so the
        next batch can commit beside it (stores with concurrent writers)."""

        async def commit() -> None:
            try:
                for part in (small, large):
                    if part:
                        started = loop.time()
                        await self._commit_part(loop, part)
                        if part is small:
                            self._last = loop.time() - started
            finally:
                assert self._slots is not None
                self._slots.release()

        task = loop.create_task(commit())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _commit_part(
        self,
        loop: asyncio.AbstractEventLoop,
        part: list[_Item],
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        """Commit `part` in a worker thread and wake its callers with their results."""
        try:
            outcomes = await loop.run_in_executor(
                executor or self._executor, self.commit, [item[0] for item in part]
            )
        except Exception as exc:  # the waiters get it; the task keeps running
            outcomes = [exc] * len(part)
        for (_, fut, _src, _size), outcome in zip(part, outcomes, strict=True):
            if fut.done():
                continue
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

    def commit(self, groups: Sequence[list[Observation]]) -> list[Outcome]:
        """Record each group (blocking): one transaction for all, else one per group."""
        if len(groups) > 1:
            try:
                with self.store.session() as session:
                    # One call for the whole batch: one duplicate query, flush and chain read.
                    flat = self._record(session, [obs for g in groups for obs in g])
                self.last_commit = time.monotonic()
                self.commits += 1
                self.committed += len(flat)
                out: list[Outcome] = []
                start = 0
                for g in groups:
                    out.append(flat[start : start + len(g)])
                    start += len(g)
                return out
            except Exception as exc:
                log.warning(
                    "grouped commit of %d callers failed (%s); one by one", len(groups), exc
                )
        return [self._commit_one(g) for g in groups]

    def _record(self, session: Session, observations: list[Observation]) -> list[Recorded]:
        return (self.record or record_in)(session, observations)

    def _commit_one(self, group: list[Observation]) -> Outcome:
        last: BaseException | None = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.store.session() as session:
                    result = self._record(session, group)
                self.last_commit = time.monotonic()
                self.commits += 1
                self.committed += len(group)
                return result
            except DBAPIError as exc:  # busy, deadlock or a race with another process
                last = exc
                if attempt < ATTEMPTS:
                    time.sleep(BACKOFF * attempt)
            except Exception as exc:
                log.exception("recording a hit failed")
                return exc
        log.error("recording a hit failed after %d attempts: %s", ATTEMPTS, last)
        assert last is not None
        return last
