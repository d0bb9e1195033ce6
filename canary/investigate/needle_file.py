"""identify's needle index as a file mapped into memory, beside the store.

Reading the index back from the store copies every part into the process: about
0.7 GB at a million canaries, seven at ten million, before the dump is opened. The
file holds the same parts laid out to be mapped (`mmap`): the start-up reads its header
and the automaton, and a needle, its identifier ids or a group is read from the page
cache only when a hit looks at it.

Where it lives is never taken from input: beside a SQLite store's file
(`canary.db.needles`), else in `$XDG_CACHE_HOME/canary-trace/needles/` under a hash
of the store's address; created 0600 in a 0700 folder, written to a temporary name and
renamed, and used only when it is a regular file of ours that no other user can write.

It is trusted only as far as the store vouches for it: the store's index row (`meta`)
holds the generation, a random token drawn when the index was built, and the SHA-256
of the file's table of block digests (one SHA-256 per 16 KiB of the parts). A file whose
header names another generation or token, or whose table does not hash to the store's,
is not used (and written again). The automaton is checked whole when it is read; every
other block when it is first read (`Mapped.check`): a block that does not match raises
`IndexFileChanged`, and identify starts again without the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import stat
import struct
import sys
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from canary.files import private_dir

log = logging.getLogger(__name__)

MAGIC = b"CANARYNX"
#: Bytes hashed per digest (a block is read and checked once per process): 16 KiB, so
#: that a candidate's look-ups check a few small blocks (about 12 us each), not 64 KiB
#: (45 us) or 1 MiB per probe; the table is 2 MB per GB of index.
BLOCK_SHIFT = 14
BLOCK = 1 << BLOCK_SHIFT
_HEAD = struct.Struct("<8sQ")  # magic, header length
_ALIGN = 8


class IndexFileChanged(Exception):
    """A block of the mapped index does not hash to the digest the store vouches for."""


def digest_table(sections: Sequence[bytes]) -> bytes:
    """SHA-256 of each BLOCK of `sections` laid out as the file lays them (aligned)."""
    out = bytearray()
    for block in _blocks(sections):
        out += hashlib.sha256(block).digest()
    return bytes(out)


def _blocks(sections: Sequence[bytes]) -> Iterator[bytes]:
    pending = bytearray()
    for data in sections:
        view = memoryview(data)
        pad = -(len(pending) + len(view)) % _ALIGN
        while view:
            take = BLOCK - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) == BLOCK:
                yield bytes(pending)
                pending.clear()
        pending += b"\0" * pad
        if len(pending) >= BLOCK:
            yield bytes(pending[:BLOCK])
            del pending[:BLOCK]
    if pending:
        yield bytes(pending)


def layout(names: Sequence[str], sections: Sequence[bytes]) -> dict[str, list[int]]:
    """Each section's [offset, length] in the data area (each starts 8-byte aligned)."""
    out, at = {}, 0
    for name, data in zip(names, sections, strict=True):
        out[name] = [at, len(data)]
        at += len(data) + (-len(data) % _ALIGN)
    return out


def write(
    path: Path, header: Mapping[str, Any], names: Sequence[str], sections: Sequence[bytes]
) -> None:
    """Write the file (a temporary name, fsynced, renamed over `path`)."""
    head = dict(header)
    head["sections"] = layout(names, sections)
    head["byteorder"] = sys.byteorder
    head["block"] = BLOCK
    encoded = json.dumps(head, sort_keys=True).encode()
    start = _HEAD.size + len(encoded)
    start += -start % mmap.ALLOCATIONGRANULARITY  # the data area maps from a page
    head_bytes = _HEAD.pack(MAGIC, len(encoded)) + encoded
    private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(head_bytes + b"\0" * (start - len(head_bytes)))
            for data in sections:
                f.write(data)
                f.write(b"\0" * (-len(data) % _ALIGN))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Mapped:
    """An index file mapped read-only; `check` verifies blocks as they are first read."""

    def __init__(
        self, path: Path, header: dict[str, Any], mm: mmap.mmap, start: int, table: bytes
    ) -> None:
        self.path = path
        self.header = header
        self._mm = mm
        self._start = start
        self._table = table
        #: 1 for each block checked (read as `ok[offset >> BLOCK_SHIFT]` on a hot path).
        self.verified = bytearray(len(table) // 32)
        self.view = memoryview(mm)[start:]
        self._covered = self.sections["digests"][0]  # the digests cover what is before them

    @property
    def sections(self) -> dict[str, list[int]]:
        return typing.cast(dict[str, list[int]], self.header["sections"])

    def check(self, lo: int, hi: int, copy: bytes | None = None) -> None:
        """Verify the blocks holding data bytes [lo, hi) (offsets in the data area);
        with `copy` (those bytes, already read), the blocks it holds whole are hashed
        from it, not from the mapping."""
        ok = self.verified
        first, last = lo >> BLOCK_SHIFT, (max(hi, lo + 1) - 1) >> BLOCK_SHIFT
        hashed = False
        for b in range(first, last + 1):
            if ok[b]:
                continue
            hashed = True
            start, end = b << BLOCK_SHIFT, min((b + 1) << BLOCK_SHIFT, self._covered)
            if copy is not None and lo <= start and end <= hi:
                block: bytes | memoryview = memoryview(copy)[start - lo : end - lo]
            else:
                block = self.view[start:end]
            if hashlib.sha256(block).digest() != self._table[32 * b : 32 * b + 32]:
                raise IndexFileChanged(f"{self.path}: block {b} does not match the store's")
            ok[b] = 1
        if hashed:
            self._let_go(first << BLOCK_SHIFT, (last + 1) << BLOCK_SHIFT)

    def _let_go(self, lo: int, hi: int) -> None:
        """Unmap the pages of data bytes [lo, hi) from this process (they stay in the
        page cache): only the pages a look-up then reads count in its memory."""
        if hasattr(mmap, "MADV_DONTNEED"):
            lo += self._start
            n = min(hi + self._start, len(self._mm)) - lo
            try:
                if n > 0:
                    self._mm.madvise(mmap.MADV_DONTNEED, lo, n)
            except (OSError, ValueError):
                pass

    def section(self, name: str) -> tuple[int, int]:
        at, length = self.sections[name]
        return at, length

    def read(self, name: str) -> bytes:
        """A whole section as bytes, checked."""
        at, length = self.section(name)
        data = bytes(self.view[at : at + length])  # read once, then checked from the copy
        self.check(at, at + length, data)
        return data

    def ints(self, name: str) -> Ints:
        at, length = self.section(name)
        return Ints(self, at, length // 8)

    def raw(self) -> tuple[mmap.mmap, int]:
        """The mapping and where the data area starts in it (for reads whose blocks the
        caller checks)."""
        return self._mm, self._start

    def bytes_at(self, lo: int, hi: int) -> bytes:
        self.check(lo, hi)
        return self._mm[self._start + lo : self._start + hi]


class Ints(Sequence[int]):
    """A section of int64s in the file, read (and checked) where it is indexed."""

    __slots__ = ("_at", "_file", "_n", "_ok", "_view")

    def __init__(self, file: Mapped, at: int, n: int) -> None:
        self._file = file
        self._at = at
        self._n = n
        self._view = file.view[at : at + 8 * n].cast("q")
        self._ok = file.verified

    def __len__(self) -> int:
        return self._n

    @typing.overload
    def __getitem__(self, i: int) -> int: ...

    @typing.overload
    def __getitem__(self, i: slice) -> Sequence[int]: ...

    def __getitem__(self, i: int | slice) -> int | Sequence[int]:
        if isinstance(i, slice):
            lo, hi, step = i.indices(self._n)
            if hi > lo:
                self._file.check(self._at + 8 * lo, self._at + 8 * hi)
            return self._view[lo:hi:step].tolist()
        if i < 0:
            i += self._n
        if not self._ok[(self._at + 8 * i) >> BLOCK_SHIFT]:
            self._file.check(self._at + 8 * i, self._at + 8 * i + 8)
        return int(self._view[i])

    def tobytes(self) -> bytes:
        self._file.check(self._at, self._at + 8 * self._n)
        return self._view.tobytes()


def open_file(path: Path, expect: Mapping[str, Any]) -> Mapped | None:
    """The file at `path` mapped, when it is ours and says what the store says (`expect`:
    generation, token, format, engine and the digest of its block table); None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.geteuid()
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            or st.st_size < _HEAD.size
        ):
            log.warning("needle index file %s is not a private file of ours: not used", path)
            return None
        mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    try:
        return _validated(path, mm, expect)
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        log.info("needle index file %s not used: %s", path, exc)
        mm.close()
        return None


def _validated(path: Path, mm: mmap.mmap, expect: Mapping[str, Any]) -> Mapped | None:
    magic, length = _HEAD.unpack_from(mm, 0)
    if magic != MAGIC or length > len(mm):
        raise ValueError("not an index file")
    header = json.loads(mm[_HEAD.size : _HEAD.size + length])
    for key, value in expect.items():
        if key != "table_sha256" and header.get(key) != value:
            raise ValueError(f"{key} is not the store's")
    if header.get("byteorder") != sys.byteorder or header.get("block") != BLOCK:
        raise ValueError("another byte order or block size")
    start = _HEAD.size + length
    start += -start % mmap.ALLOCATIONGRANULARITY
    sections = header["sections"]
    end = max((at + n for at, n in sections.values()), default=0)
    if start + end + (-end % _ALIGN) > len(mm) or "digests" not in sections:
        raise ValueError("shorter than its sections")
    at, n = sections["digests"]
    table = bytes(mm[start + at : start + at + n])
    if hashlib.sha256(table).hexdigest() != expect.get("table_sha256"):
        raise ValueError("its block digests are not the store's")
    if len(table) != 32 * -(-at // BLOCK):
        raise ValueError("its block table does not cover it")
    return Mapped(path, header, mm, start, table)
