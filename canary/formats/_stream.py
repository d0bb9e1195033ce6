"""Writing the same byte stream, with a few pieces spliced in, to many files at once.

The work on each block runs on *lanes*: threads that each run their own tasks in the
order they were submitted, so every hash and every file sees its bytes in order while
the lanes run beside each other and beside the reader. One lane checks the needles
(`scan`), one hashes the source, and the outputs' hashing and writing go on one lane
each for a single output (its hash, its writes) or on two lanes sharing the outputs
for several (window by window: a window stays in cache across outputs). Hashing,
writing and the needle automaton release the GIL, so two cores run them while the
reader counts records. An output's bytes are the source's until its first spliced
piece: it shares the source's hash until then and takes a copy of that hash's state,
made on the source's lane between the blocks, when it diverges (the common prefix is
hashed once, not once per output).

`submit` returns the block's futures (its *ticket*): the reader reuses a block's
buffer only once its ticket is done.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

Piece = bytes | bytearray | memoryview
Ticket = list["Future[None]"]

WINDOW = 1 << 20  # work on 1 MB at a time so a window stays in cache across outputs


def _write(fd: int, data: Piece) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


class _Out:
    """One output: its file, and its own hash once its bytes differ from the source's."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        #: Set by the reader when it queues the fork; `hash` is set on the output's lane.
        self.diverged = False
        self.hash: hashlib._Hash | None = None


def _own(out: _Out, fork: Future[hashlib._Hash] | None) -> hashlib._Hash | None:
    """The output's hash for this block (None while its bytes are the source's).

    `fork`, given to the task of the block where the output diverges (never to an
    earlier block's task, which may still be queued), is the source hash's state
    there, copied on the source's lane between the two blocks.
    """
    if fork is not None:
        out.hash = fork.result()
    return out.hash


def _hash_pieces(out: _Out, fork: Future[hashlib._Hash] | None, pieces: list[Piece]) -> None:
    h = _own(out, fork)
    if h is not None:
        for p in pieces:
            h.update(p)


def _write_pieces(fd: int, pieces: list[Piece]) -> None:
    for p in pieces:
        _write(fd, p)


def _run_shared(outs: list[_Out], forks: list[Future[hashlib._Hash] | None], block: Piece) -> None:
    """Every output gets the same bytes: window by window, every output per window."""
    hashes = [_own(o, f) for o, f in zip(outs, forks, strict=True)]
    mv = memoryview(block)
    for i in range(0, len(mv), WINDOW):
        win = mv[i : i + WINDOW]
        for o, h in zip(outs, hashes, strict=True):
            if h is not None:
                h.update(win)
            _write(o.fd, win)


def _run_own(
    outs: list[_Out], forks: list[Future[hashlib._Hash] | None], pieces: list[list[Piece]]
) -> None:
    """Each output has its own pieces (a block with canaries spliced in)."""
    for o, f, own in zip(outs, forks, pieces, strict=True):
        h = _own(o, f)
        for p in own:
            if h is not None:
                h.update(p)
            _write(o.fd, p)


def _update(h: hashlib._Hash, data: Piece) -> None:
    h.update(data)


class MultiWriter:
    """Ordered, parallel hashing and writing of blocks to several open files."""

    def __init__(
        self, paths: list[Path], scan: Callable[[bytes | bytearray], None] | None = None
    ) -> None:
        self.outs: list[_Out] = []
        self._lanes: list[ThreadPoolExecutor] = []
        try:
            for p in paths:
                fd = os.open(p, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
                self.outs.append(_Out(fd))
        except OSError:
            self.close()
            raise
        #: SHA-256 of the unmodified stream (the source).
        self.source_hash = hashlib.sha256()
        self._scan = scan
        self._scan_lane = self._lane("scan") if scan is not None else None
        self._source_lane = self._lane("source-hash")
        if len(paths) == 1:
            # Its hash and its writes on lanes of their own (three streams of work, two
            # cores: the one that is free takes the next).
            self._out_lanes = [self._lane("copy-hash"), self._lane("copy-write")]
        else:
            self._out_lanes = [self._lane("copies-a"), self._lane("copies-b")]
        self.pending: list[Future[None]] = []
        self._scans: list[Future[None]] = []
        # A lane coming back from a hash or write waits for the GIL, which the reader
        # holds through its record counts; a worker waits the switch interval (5 ms
        # by default) before it asks. A shorter interval keeps the lanes busy.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, 0.0005))

    def _lane(self, name: str) -> ThreadPoolExecutor:
        lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"canary-{name}")
        self._lanes.append(lane)
        return lane

    def __enter__(self) -> MultiWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the needle check ------------------------------------------------------------

    def scan(self, data: bytes | bytearray) -> Future[None] | None:
        """Queue a needle check of `data` (kept unchanged until `scanned` says so)."""
        if self._scan_lane is None or self._scan is None:
            return None
        fut = self._scan_lane.submit(self._scan, data)
        self._scans.append(fut)
        return fut

    def scanned(self) -> None:
        """Wait for every queued needle check; raise the first failure (a collision)."""
        scans, self._scans = self._scans, []
        for f in scans:
            f.result()

    def check(self) -> None:
        """Raise the failure of any finished task, without waiting for the others."""
        for f in (*self._scans, *self.pending):
            if f.done() and f.exception() is not None:
                f.result()
        self._scans = [f for f in self._scans if not f.done()]
        self.pending = [f for f in self.pending if not f.done()]

    # -- blocks ----------------------------------------------------------------------

    def submit(self, per_output: list[list[Piece]], source: Piece) -> Ticket:
        """Queue one block: `per_output[i]` are the pieces for output i, in order.

        `source` is the block as it is in the source; an output whose pieces are just
        `source` (the same object) shares it. Returns the block's ticket.
        """
        ticket: Ticket = []
        forks: list[Future[hashlib._Hash] | None] = []
        for o, pieces in zip(self.outs, per_output, strict=True):
            fork = None
            if not o.diverged and not _plain(pieces, source):
                o.diverged = True
                fork = self._source_lane.submit(self.source_hash.copy)
            forks.append(fork)
        ticket.append(self._source_lane.submit(_update, self.source_hash, source))
        if len(self.outs) == 1:
            o, pieces = self.outs[0], per_output[0]
            if o.diverged:
                ticket.append(self._out_lanes[0].submit(_hash_pieces, o, forks[0], pieces))
            ticket.append(self._out_lanes[1].submit(_write_pieces, o.fd, pieces))
        elif self.outs:
            half = (len(self.outs) + 1) // 2
            for lane, lo, hi in ((0, 0, half), (1, half, len(self.outs))):
                outs, pieces_of, fks = self.outs[lo:hi], per_output[lo:hi], forks[lo:hi]
                if not outs:
                    continue
                lane_ = self._out_lanes[lane]
                if all(_plain(p, source) for p in pieces_of):
                    ticket.append(lane_.submit(_run_shared, outs, fks, source))
                else:
                    ticket.append(lane_.submit(_run_own, outs, fks, pieces_of))
        self.pending.extend(ticket)
        if self.pending and len(self.pending) > 64:
            self.pending = [f for f in self.pending if not f.done()]
        return ticket

    def wait(self) -> None:
        """Finish every submitted task; re-raise the first failure."""
        self.scanned()
        pending, self.pending = self.pending, []
        for f in pending:
            f.result()

    def close(self) -> None:
        """Wait for the tasks (errors are the caller's concern by then) and close files."""
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        self._lanes = []
        self.pending, self._scans = [], []
        for o in self.outs:
            try:
                os.close(o.fd)
            except OSError:
                pass
        self.outs = []
        if hasattr(self, "_interval"):
            sys.setswitchinterval(self._interval)

    def finish(self, durable: bool = True) -> list[str]:
        """Wait, flush to disk, and return each output's SHA-256."""
        self.wait()
        if durable:
            for o in self.outs:
                os.fsync(o.fd)
        return [(o.hash or self.source_hash).hexdigest() for o in self.outs]


def _plain(pieces: list[Piece], source: Piece) -> bool:
    return len(pieces) == 1 and pieces[0] is source


def wait_ticket(ticket: Ticket | None) -> None:
    """Block until a block's tasks are done (failures surface through `MultiWriter`)."""
    for f in ticket or ():
        f.exception()
