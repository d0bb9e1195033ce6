"""Writing the same byte stream, with a few pieces spliced in, to many files at once.

The reader thread hands each block to a small thread pool: per output one task that
updates its SHA-256 and one that writes the pieces. Both release the GIL, so hashing
and writing run beside the reader's own scanning. Blocks are submitted in order and a
block's tasks finish before the next block's are submitted, so each output sees its
bytes in order and at most two blocks are in memory.
"""

from __future__ import annotations

import hashlib
import os
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
    """Every unit gets the same bytes: go window by window, all units per window."""
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

    def __init__(self, paths: list[Path], extra_hash: bool = False) -> None:
        self.fds: list[int] = []
        try:
            for p in paths:
                self.fds.append(os.open(p, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0)))
        except OSError:
            self.close()
            raise
        self.hashes = [hashlib.sha256() for _ in paths]
        #: SHA-256 of the unmodified stream (the source), when asked for.
        self.source_hash = hashlib.sha256() if extra_hash else None
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future[None]] = []

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

    def submit(self, per_output: list[list[Piece]], source: Piece | None = None) -> None:
        """Queue one block: `per_output[i]` are the pieces for output i, in order.

        Work is split in two halves (one per worker): with one output, its hashing
        and its writing; with more, half the outputs each.
        """
        self.wait()
        units: list[tuple[Unit, list[Piece]]] = []
        if len(self.fds) == 1:
            units.append(((self.hashes[0], None), per_output[0]))
            units.append(((None, self.fds[0]), per_output[0]))
        else:
            for fd, h, pieces in zip(self.fds, self.hashes, per_output, strict=True):
                units.append(((h, fd), pieces))
        if source is not None and self.source_hash is not None:
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

    def finish(self) -> list[str]:
        """Wait, flush to disk, and return each output's SHA-256."""
        self.wait()
        for fd in self.fds:
            os.fsync(fd)
        return [h.hexdigest() for h in self.hashes]
