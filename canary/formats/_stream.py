"""Writing the same byte stream, with a few pieces spliced in, to many files at once.

The reader thread hands each block to two worker threads that update the SHA-256s
and write the pieces, window by window (a window stays in cache across outputs).
Hashing and writing release the GIL, so they run beside the reader's own scanning.
Outputs share the source's hash until their first spliced piece. Blocks are submitted in order and a
block's tasks finish before the next block's are submitted, so each output sees its
bytes in order and at most two blocks are in memory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

Piece = bytes | bytearray | memoryview


WINDOW = 1 << 20  # work on 1 MB at a time so a window stays in cache across outputs

#: One unit of work on a block: update this hash and/or write to this descriptor.
Unit = tuple["hashlib._Hash | None", "int | None"]


def _write(fd: int, data: Piece) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def _run_shared(units: list[Unit], block: Piece) -> None:
    """Every unit gets the same bytes: go window by window, all units per window.

    A lone unit takes the block in one call: each call back from a GIL-free hash or
    write must wait for the GIL, which the reader holds through long scans, so
    fewer, larger calls keep this thread busy.
    """
    if len(units) == 1:
        _run_own(units, [[block]])
        return
    mv = memoryview(block)
    for i in range(0, len(mv), WINDOW):
        win = mv[i : i + WINDOW]
        for h, fd in units:
            if h is not None:
                h.update(win)
            if fd is not None:
                _write(fd, win)


def _run_own(units: list[Unit], pieces: list[list[Piece]]) -> None:
    """Each unit has its own pieces (a block with canaries spliced in)."""
    for (h, fd), own in zip(units, pieces, strict=True):
        for p in own:
            if h is not None:
                h.update(p)
            if fd is not None:
                _write(fd, p)


class MultiWriter:
    """Ordered, parallel hashing and writing of blocks to several open files."""

    def __init__(self, paths: list[Path]) -> None:
        self.fds: list[int] = []
        try:
            for p in paths:
                self.fds.append(os.open(p, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0)))
        except OSError:
            self.close()
            raise
        #: SHA-256 of the unmodified stream (the source). An output whose bytes are still
        #: the source's (nothing spliced in yet) shares it and takes a copy of its state
        #: when it diverges: the common prefix is hashed once, not once per output.
        self.source_hash = hashlib.sha256()
        self.hashes: list[hashlib._Hash | None] = [None for _ in paths]
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future[None]] = []
        # The reader holds the GIL in long bytes.find/count calls; a worker coming back
        # from a hash or write waits the switch interval (5 ms by default) before it
        # asks for the GIL. A shorter interval while we run keeps the workers busy.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, 0.0005))

    def __enter__(self) -> MultiWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def wait(self) -> None:
        """Finish every submitted task; re-raise the first failure."""
        pending, self.pending = self.pending, []
        for f in pending:
            f.result()

    def submit(self, per_output: list[list[Piece]], source: Piece) -> None:
        """Queue one block: `per_output[i]` are the pieces for output i, in order.

        `source` is the block as it is in the source. An output whose pieces are not
        just `source` gets its own hash from here on. Work is split in two halves,
        one per worker thread.
        """
        self.wait()
        for i, pieces in enumerate(per_output):
            if self.hashes[i] is None and not (len(pieces) == 1 and pieces[0] is source):
                self.hashes[i] = self.source_hash.copy()
        units: list[tuple[Unit, list[Piece]]] = []
        for fd, h, pieces in zip(self.fds, self.hashes, per_output, strict=True):
            if h is not None and len(self.fds) == 1:
                units.append(((h, None), pieces))
                h = None
            units.append(((h, fd), pieces))
        units.append(((self.source_hash, None), [source]))
        half = (len(units) + 1) // 2
        for group in (units[:half], units[half:]):
            if not group:
                continue
            first = group[0][1]
            shared = len(first) == 1 and all(len(p) == 1 and p[0] is first[0] for _, p in group)
            if shared:
                self.pending.append(self.pool.submit(_run_shared, [u for u, _ in group], first[0]))
            else:
                self.pending.append(
                    self.pool.submit(_run_own, [u for u, _ in group], [p for _, p in group])
                )

    def close(self) -> None:
        """Wait for the tasks (errors are the caller's concern by then) and close files."""
        pool = getattr(self, "pool", None)
        if pool is not None:
            for f in self.pending:
                f.exception()
            self.pending = []
            pool.shutdown(wait=True)
            self.pool = None  # type: ignore[assignment]
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        if hasattr(self, "_interval"):
            sys.setswitchinterval(self._interval)

    def finish(self, durable: bool = True) -> list[str]:
        """Wait, flush to disk, and return each output's SHA-256."""
        self.wait()
        if durable:
            for fd in self.fds:
                os.fsync(fd)
        return [(h or self.source_hash).hexdigest() for h in self.hashes]
