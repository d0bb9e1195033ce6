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

Piece = bytes | memoryview


def _write_all(fd: int, pieces: list[Piece]) -> None:
    for p in pieces:
        mv = memoryview(p)
        while mv:
            n = os.write(fd, mv)
            mv = mv[n:]


def _hash_all(h: hashlib._Hash, pieces: list[Piece]) -> None:
    for p in pieces:
        h.update(p)


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
        self.pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
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

    def submit(self, per_output: list[list[Piece]], source: list[Piece] | None = None) -> None:
        """Queue one block: `per_output[i]` are the pieces for output i, in order."""
        self.wait()
        for fd, h, pieces in zip(self.fds, self.hashes, per_output, strict=True):
            self.pending.append(self.pool.submit(_hash_all, h, pieces))
            self.pending.append(self.pool.submit(_write_all, fd, pieces))
        if source is not None and self.source_hash is not None:
            self.pending.append(self.pool.submit(_hash_all, self.source_hash, source))

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
