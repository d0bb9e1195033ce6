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

A block is the source's bytes at a known offset, and an output's block is that block
with records spliced in at some offsets. The source's stretches between them go to
the output from the kernel's page cache (`sendfile`, as `shutil.copyfile` does: about
half the CPU of writing them from our buffer, measured); the buffer is only hashed
and scanned. Where the kernel cannot (not Linux, or a filesystem that refuses), they
are written from the buffer. The writer checks that the source did not change during
the pass (its size and modification time), since the hashes come from the buffer and
the copy's bytes from the file.

`submit` returns the block's futures (its *ticket*): the reader reuses a block's
buffer only once its ticket is done.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from canary.errors import InputError

Piece = bytes | bytearray | memoryview
Ticket = list["Future[None]"]
#: (offset in the block, bytes inserted there), in order of offset.
Splices = list[tuple[int, bytes]]

WINDOW = 1 << 20  # work on 1 MB at a time so a window stays in cache across outputs
#: sendfile errors that mean "not here" (nothing was copied): write from the buffer.
_NO_KERNEL_COPY = {errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP}


def _write(fd: int, data: Piece) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


class _Copier:
    """Copies stretches of the source into outputs, in the kernel where it can."""

    def __init__(self, source: Path | None) -> None:
        self.fd: int | None = None
        if source is not None and sys.platform.startswith("linux") and hasattr(os, "sendfile"):
            self.fd = os.open(source, os.O_RDONLY)

    def copy(self, out: int, at: int, data: memoryview) -> None:
        """Append the source's bytes at offset `at` (`data` holds them) to `out`."""
        done = 0
        n = len(data)
        while done < n and self.fd is not None:
            try:
                sent = os.sendfile(out, self.fd, at + done, n - done)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                self.close()  # nothing was copied by this call: the buffer from here on
                break
            if sent == 0:
                raise InputError("the source got shorter while the copies were written")
            done += sent
        if done < n:
            _write(out, data[done:])

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


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


def _pieces(block: memoryview, splices: Splices) -> list[tuple[int, Piece, bool]]:
    """(offset in the block, bytes, from the source?) of an output's block, in order."""
    out: list[tuple[int, Piece, bool]] = []
    pos = 0
    for off, rec in splices:
        if off > pos:
            out.append((pos, block[pos:off], True))
        out.append((off, rec, False))
        pos = off
    if pos < len(block) or not out:
        out.append((pos, block[pos:], True))
    return out


def _hash_block(
    out: _Out, fork: Future[hashlib._Hash] | None, block: Piece, splices: Splices
) -> None:
    h = _own(out, fork)
    if h is not None:
        for _, p, _src in _pieces(memoryview(block), splices):
            h.update(p)


def _write_block(copier: _Copier, fd: int, block: Piece, at: int, splices: Splices) -> None:
    for off, p, from_source in _pieces(memoryview(block), splices):
        if from_source:
            assert isinstance(p, memoryview)
            copier.copy(fd, at + off, p)
        else:
            _write(fd, p)


def _run_shared(
    copier: _Copier,
    outs: list[_Out],
    forks: list[Future[hashlib._Hash] | None],
    block: Piece,
    at: int,
) -> None:
    """Every output gets the block as it is: window by window, every output per window."""
    hashes = [_own(o, f) for o, f in zip(outs, forks, strict=True)]
    mv = memoryview(block)
    for i in range(0, len(mv), WINDOW):
        win = mv[i : i + WINDOW]
        for o, h in zip(outs, hashes, strict=True):
            if h is not None:
                h.update(win)
            copier.copy(o.fd, at + i, win)


def _run_own(
    copier: _Copier,
    outs: list[_Out],
    forks: list[Future[hashlib._Hash] | None],
    block: Piece,
    at: int,
    splices: list[Splices],
) -> None:
    """Each output has its own pieces (a block with canaries spliced in)."""
    mv = memoryview(block)
    for o, f, own in zip(outs, forks, splices, strict=True):
        h = _own(o, f)
        for off, p, from_source in _pieces(mv, own):
            if h is not None:
                h.update(p)
            if from_source:
                assert isinstance(p, memoryview)
                copier.copy(o.fd, at + off, p)
            else:
                _write(o.fd, p)


def _update(h: hashlib._Hash, data: Piece) -> None:
    h.update(data)


class MultiWriter:
    """Ordered, parallel hashing and writing of blocks to several open files."""

    def __init__(
        self,
        paths: list[Path],
        source: Path | None = None,
        scan: Callable[[bytes | bytearray], None] | None = None,
    ) -> None:
        """`source`: the file the blocks come from (its stretches are copied by the
        kernel); None to write every byte from the blocks."""
        self.outs: list[_Out] = []
        self._lanes: list[ThreadPoolExecutor] = []
        self._copier = _Copier(None)
        self._source = source
        try:
            for p in paths:
                # Not O_TRUNC: ext4 takes a truncated file for one being replaced and
                # flushes it when it is closed (auto_da_alloc): 0.34-0.71 s of the
                # bench's 1 GB copy waited in close(). The paths are fresh temps; one
                # that is not empty is truncated here.
                fd = os.open(p, os.O_WRONLY | getattr(os, "O_BINARY", 0))
                self.outs.append(_Out(fd))
                if os.fstat(fd).st_size:
                    os.ftruncate(fd, 0)
            self._copier = _Copier(source)
            self._stat = _identity(source)
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
        # One look at each task: one that ends between a check and a filter would
        # be dropped with its failure unseen (a collision missed under load).
        self._scans = _unfinished(self._scans)
        self.pending = _unfinished(self.pending)

    # -- blocks ----------------------------------------------------------------------

    def submit(self, block: Piece, at: int, splices: list[Splices]) -> Ticket:
        """Queue one block: the source's bytes at file offset `at`; output i gets them
        with `splices[i]` inserted. Returns the block's ticket."""
        ticket: Ticket = []
        forks: list[Future[hashlib._Hash] | None] = []
        for o, own in zip(self.outs, splices, strict=True):
            fork = None
            if not o.diverged and own:
                o.diverged = True
                fork = self._source_lane.submit(self.source_hash.copy)
            forks.append(fork)
        ticket.append(self._source_lane.submit(_update, self.source_hash, block))
        cp = self._copier
        if len(self.outs) == 1:
            o, own = self.outs[0], splices[0]
            if o.diverged:
                ticket.append(self._out_lanes[0].submit(_hash_block, o, forks[0], block, own))
            ticket.append(self._out_lanes[1].submit(_write_block, cp, o.fd, block, at, own))
        elif self.outs:
            half = (len(self.outs) + 1) // 2
            for lane, lo, hi in ((0, 0, half), (1, half, len(self.outs))):
                outs, sp, fks = self.outs[lo:hi], splices[lo:hi], forks[lo:hi]
                if not outs:
                    continue
                lane_ = self._out_lanes[lane]
                if not any(sp):
                    ticket.append(lane_.submit(_run_shared, cp, outs, fks, block, at))
                else:
                    ticket.append(lane_.submit(_run_own, cp, outs, fks, block, at, sp))
        self.pending.extend(ticket)
        if len(self.pending) > 64:
            self.pending = _unfinished(self.pending)
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
        self._copier.close()
        if hasattr(self, "_interval"):
            sys.setswitchinterval(self._interval)

    def finish(self, durable: bool = True) -> list[str]:
        """Wait, flush to disk, and return each output's SHA-256."""
        self.wait()
        if _identity(self._source) != self._stat:
            raise InputError(
                f"{self._source} changed while the copies were written; nothing was kept"
            )
        if durable:
            for o in self.outs:
                os.fsync(o.fd)
        return [(o.hash or self.source_hash).hexdigest() for o in self.outs]


def _unfinished(tasks: list[Future[None]]) -> list[Future[None]]:
    """The tasks still running; raise the first failure among those that ended."""
    running: list[Future[None]] = []
    for f in tasks:
        if not f.done():
            running.append(f)
        elif f.exception() is not None:
            f.result()
    return running


def _identity(path: Path | None) -> tuple[int, int, int] | None:
    """What tells a changed file: its inode, size and modification time."""
    if path is None:
        return None
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def wait_ticket(ticket: Ticket | None) -> None:
    """Block until a block's tasks are done (failures surface through `MultiWriter`)."""
    for f in ticket or ():
        f.exception()
