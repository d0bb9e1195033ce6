"""The attribution worker: hits the listeners stored as pending, attributed after the answer.

The listeners commit each hit's raw evidence as a pending hit with an inbox row
(`canary.hits.record.receive_in`, through the group committer) and answer at once.
An `Attributor` thread in the same process then takes the inbox oldest first, in
batches (`canary.hits.record.attribute_pending`: candidates, incident, alert, chain
link, the inbox row deleted, one transaction per batch).

It starts by taking whatever an earlier run left in the inbox (a crash between an
answer and its attribution loses nothing), then works when nudged after a commit.
While the listener is committing (a flood), it gives the listener the CPU and the
store's write lock: after each batch it waits until the listener has gone `QUIET`
seconds without a commit (a commit that waited for the batch's lock counts), or
`max_delay` seconds at most, so the backlog goes at full speed once the flood ends.
`close` drains the inbox for up to `drain` seconds; what is left waits for the next
start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from canary.hits.record import Recorded, attribute_pending, oldest_pending
from canary.store.engine import Store

log = logging.getLogger(__name__)

#: Hits attributed per transaction.
BATCH = 64
#: Hits per transaction while the listener is busy (a short hold of the write lock).
BUSY_BATCH = 16
#: While the listener commits, at most this long (s) between two batches.
MAX_DELAY = 1.0
#: The listener counts as busy this long (s) after its last commit.
QUIET = 0.25
#: Seconds `close` keeps attributing before it leaves the rest for the next start.
DRAIN = 30.0
#: Pause (s) after a failed batch before the next try.
RETRY = 1.0


def _never() -> float:
    return float("-inf")


class Attributor:
    """One worker thread attributing the store's inbox; `nudge` after each commit."""

    def __init__(
        self,
        store: Store,
        *,
        batch: int = BATCH,
        max_delay: float = MAX_DELAY,
        last_commit: Callable[[], float] = _never,
        name: str = "attribute",
    ) -> None:
        self.store = store
        self.batch = batch
        self.max_delay = max_delay
        self.last_commit = last_commit
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drain_until = float("inf")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Hits attributed, for logs and benchmarks.
        self.attributed = 0
        #: Hits whose attribution fails on its own: left pending, so the rest go on.
        self.failed: set[int] = set()

    def start(self) -> None:
        """Start the worker, which first takes what the inbox holds (a resume)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        self._wake.set()

    def nudge(self) -> None:
        """Hits were committed to the inbox: attribute them (starts the worker if need be)."""
        if self._thread is None:
            self.start()
        if not self._wake.is_set():  # set() takes the event's lock: skip it when already set
            self._wake.set()

    def close(self, drain: float = DRAIN) -> None:
        """Attribute what the inbox holds for up to `drain` s, then stop the worker."""
        with self._lock:
            thread = self._thread
            self._drain_until = time.monotonic() + drain
            self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        last_batch = time.monotonic()
        batch_start = batch_end = float("-inf")
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                stopping = self._stop.is_set()
                if stopping and time.monotonic() > self._drain_until:
                    return
                now = time.monotonic()
                # A commit during our last batch likely waited for its lock: count the
                # listener busy from the batch's end.
                active = self.last_commit()
                if active >= batch_start:
                    active = max(active, batch_end)
                busy = not stopping and now - active < QUIET
                if busy and now - last_batch < self.max_delay:
                    time.sleep(QUIET / 5)  # the listener is busy: let it answer first
                    continue
                last_batch = batch_start = time.monotonic()
                try:
                    done = self.attribute_batch(BUSY_BATCH if busy else self.batch)
                    batch_end = time.monotonic()
                except Exception:
                    log.exception("attributing pending hits failed; retrying")
                    self._isolate()
                    if self._stop.wait(RETRY):
                        return
                    continue
                if not done:
                    break
            if self._stop.is_set():
                return

    def _isolate(self) -> None:
        """After a failed batch, try the oldest pending hit alone; if it fails again, leave
        it pending (its evidence is kept) so the hits after it are attributed."""
        oldest = None
        try:
            with self.store.session() as session:
                oldest = oldest_pending(session, self.failed)
            if oldest is not None:
                self.attribute_batch(1)
        except Exception as exc:
            if oldest is None:
                return
            self.failed.add(oldest)
            log.error(
                "hit %d stays pending: attributing it fails (%s); its evidence is kept and "
                "the next start tries again",
                oldest,
                exc,
            )

    def attribute_batch(self, limit: int | None = None) -> list[Recorded]:
        """Attribute one batch from the inbox (blocking); [] when it is empty."""
        with self.store.session() as session:
            done = attribute_pending(session, limit or self.batch, self.failed)
        self.attributed += len(done)
        for rec in done:
            log.info(
                "hit %d attributed: copies=%s (%s)",
                rec.hit_id,
                ",".join(rec.copies) or "-",
                rec.classification,
                extra={
                    "event": "attributed",
                    "hit_id": rec.hit_id,
                    "copies": rec.copies,
                    "classification": rec.classification,
                },
            )
        return done
