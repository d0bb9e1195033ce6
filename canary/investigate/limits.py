"""Limits on reading a found dump: a hostile file must not take the reader down.

A dump handed to `identify` came from the adversary. Small files can unfold into
huge work: an .xlsx whose few megabytes hold gigabytes of shared strings, a zip of
millions of entries, a SQLite file whose generated column or virtual table runs an
expensive expression for every row read. The readers in `identify` call the checks
here before they parse:

- `check_file`: the file's size;
- `check_zip`: entry count and total unpacked size (declared sizes are a true bound:
  Python's zipfile never unpacks past them), for a workbook the number of shared
  strings, counted while streaming, and each large entry's compression ratio;
- `nested`: files inside files (a zip in a zip, an e-mail's attachments) are read
  within one budget for the whole dump: nesting depth, members read, bytes unpacked;
- OCR (`canary.investigate.ocr`): pages rasterised per dump, image pixels, seconds per
  page for the OCR engine, which runs as its own process under a timeout;
- `guard_sqlite` / `sqlite_columns`: read-only and query-only, untrusted schema, a
  statement time limit, a heap limit where the process is ours alone, and only plain
  stored columns of ordinary tables read (virtual tables and generated columns are
  skipped, never evaluated).

The admin listener goes further with `bounded_identify`: the file is read in a child
process under an address-space and CPU limit and a wall-clock deadline, streaming
its text back; the scan against the canaries stays in the server. Whatever the file
does to the child, the server answers with one clear error.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from canary.errors import InputError
from canary.store.engine import Store

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """What reading one dump may cost (0 = no limit)."""

    max_file_bytes: int = 0
    max_zip_entries: int = 100_000
    max_unzipped_bytes: int = 4096 * MB
    max_shared_strings: int = 20_000_000
    sqlite_seconds: float = 0.0
    #: SQLite's heap limit is process-wide: only set in a process that reads nothing else.
    sqlite_heap_bytes: int = 0
    #: Child process only: address space (bytes), CPU seconds, wall-clock seconds.
    worker_memory_bytes: int = 0
    worker_cpu_seconds: int = 0
    worker_seconds: float = 0.0
    #: Characters of text the child may send back.
    max_text_chars: int = 0
    #: Files inside files (zip in zip, e-mail attachments): levels below the dump.
    max_depth: int = 8
    #: Unpacked / packed size of one zip entry past which it is a bomb (entries over 1 MB).
    max_ratio: int = 1000
    #: Pages or images put through OCR for one dump; pixels of one image; seconds per page.
    max_ocr_pages: int = 500
    max_image_pixels: int = 80_000_000
    ocr_seconds: float = 180.0


#: The command line's limits: generous, the investigator's own machine and file.
CLI_LIMITS = ReadLimits()
#: The admin listener's: an upload read in a child process that cannot take it down.
SERVER_LIMITS = ReadLimits(
    max_file_bytes=50 * MB,
    max_zip_entries=5_000,
    max_unzipped_bytes=256 * MB,
    max_shared_strings=1_000_000,
    sqlite_seconds=20.0,
    sqlite_heap_bytes=128 * MB,
    worker_memory_bytes=1536 * MB,
    worker_cpu_seconds=60,
    worker_seconds=90.0,
    max_text_chars=512 * MB,
    max_depth=4,
    max_ratio=200,
    max_ocr_pages=12,
    max_image_pixels=40_000_000,
    ocr_seconds=60.0,
)

_active = CLI_LIMITS


def active() -> ReadLimits:
    return _active


def use(limits: ReadLimits) -> None:
    """Make `limits` the ones the readers apply in this process."""
    global _active
    _active = limits


class LimitExceeded(InputError):
    """The file is past one of the reading limits."""


def _too_big(path: Path, what: str, limit: int, unit: str = "") -> LimitExceeded:
    return LimitExceeded(
        f"{path.name}: {what} is over the limit of {limit:,}{unit}; the file was not read "
        "(a compression bomb, or a dump too large for this listener: run `canary identify` "
        "on it where it is)"
    )


def check_file(path: Path) -> None:
    lim = _active
    if lim.max_file_bytes and path.stat().st_size > lim.max_file_bytes:
        raise _too_big(path, "its size", lim.max_file_bytes, " bytes")


_SI_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def check_zip(path: Path) -> None:
    """Entry count, total unpacked size and (a workbook's) shared-string count in bounds."""
    lim = _active
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip after all: read as bytes, which costs its size only
    with zf:
        infos = zf.infolist()
        if lim.max_zip_entries and len(infos) > lim.max_zip_entries:
            raise _too_big(path, "its number of zip entries", lim.max_zip_entries)
        unzipped = sum(i.file_size for i in infos)
        if lim.max_unzipped_bytes and unzipped > lim.max_unzipped_bytes:
            raise _too_big(path, "its unpacked size", lim.max_unzipped_bytes, " bytes")
        if lim.max_shared_strings:
            for info in infos:
                if info.filename.lower().endswith("sharedstrings.xml"):
                    if _count_shared_strings(zf, info) > lim.max_shared_strings:
                        raise _too_big(path, "its number of shared strings", lim.max_shared_strings)
        if lim.max_ratio:
            for info in infos:
                packed = max(info.compress_size, 1)
                if info.file_size > MB and info.file_size > lim.max_ratio * packed:
                    raise _too_big(
                        path, "the compression ratio of one of its entries", lim.max_ratio
                    )


@dataclass
class Budget:
    """What reading one dump and everything inside it has spent so far."""

    depth: int = 0
    members: int = 0
    unpacked: int = 0
    ocr_pages: int = 0


@contextmanager
def nested(budget: Budget, outer: Path, size: int) -> Iterator[None]:
    """Reading a file of `size` bytes found inside `outer` (an archive member, an
    attachment): one level deeper, one member more, `size` more bytes unpacked, all
    within the active limits for the whole dump."""
    lim = _active
    if lim.max_depth and budget.depth >= lim.max_depth:
        raise LimitExceeded(
            f"{outer.name}: files nested more than {lim.max_depth} levels deep (an archive "
            "in an archive...); the file was not read (a nesting bomb?)"
        )
    budget.members += 1
    budget.unpacked += size
    if lim.max_zip_entries and budget.members > lim.max_zip_entries:
        raise _too_big(outer, "the number of files inside it", lim.max_zip_entries)
    if lim.max_unzipped_bytes and budget.unpacked > lim.max_unzipped_bytes:
        raise _too_big(
            outer, "the unpacked size of the files inside it", lim.max_unzipped_bytes, " bytes"
        )
    budget.depth += 1
    try:
        yield
    finally:
        budget.depth -= 1


def _count_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """`<si>` elements in a sharedStrings part, counted while streaming it."""
    count, tail = 0, b""
    with zf.open(info) as f:
        while block := f.read(MB):
            data = tail + block
            # A tag cut by the block boundary is counted once, in the block it ends in.
            count += sum(1 for m in _SI_RE.finditer(data) if m.end() > len(tail))
            tail = data[-64:]
    return count


def guard_sqlite(con: Any) -> None:
    """A connection to a hostile SQLite file: query-only, untrusted schema, time-limited."""
    lim = _active
    con.execute("PRAGMA query_only = 1")
    con.execute("PRAGMA trusted_schema = 0")
    if lim.sqlite_heap_bytes:
        con.execute(f"PRAGMA hard_heap_limit = {int(lim.sqlite_heap_bytes)}")
    if lim.sqlite_seconds:
        deadline = time.monotonic() + lim.sqlite_seconds
        con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)


def sqlite_columns(con: Any) -> Iterator[tuple[str, list[str]]]:
    """(table, plain columns) to read: ordinary tables only, generated and hidden
    columns left out, so no expression of the file's is evaluated while reading."""
    rows = con.execute("select name, sql from sqlite_master where type = 'table'").fetchall()
    for name, sql in rows:
        if str(sql or "").lstrip().upper().startswith("CREATE VIRTUAL"):
            log.info("skipping virtual table %r of a SQLite dump", str(name)[:100])
            continue
        quoted = '"' + str(name).replace('"', '""') + '"'
        cols = [
            str(r[1])
            for r in con.execute(f"PRAGMA table_xinfo({quoted})").fetchall()
            if r[6] == 0  # hidden: 1 virtual-table column, 2/3 generated (virtual/stored)
        ]
        if cols:
            yield str(name), cols


# --- the server's worker ------------------------------------------------------------------


def bounded_identify(
    store: Store, path: Path, limits: ReadLimits = SERVER_LIMITS
) -> dict[str, Any]:
    """`identify` with the file read in a child process under `limits`."""
    from canary.investigate.identify import checked_index

    return checked_index(store, lambda: _bounded_identify(store, path, limits))


def _bounded_identify(store: Store, path: Path, limits: ReadLimits) -> dict[str, Any]:
    from canary.investigate.datasets import dataset_matcher
    from canary.investigate.identify import Scanner, load_index
    from canary.investigate.sniff import detect_file_format

    if limits.max_file_bytes and path.stat().st_size > limits.max_file_bytes:
        raise _too_big(path, "its size", limits.max_file_bytes, " bytes")
    fmt = detect_file_format(path)  # reads the head only; the child reads the rest
    scanner = Scanner(load_index(store))
    matcher = dataset_matcher(store, fmt)
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(  # noqa: S603 (our own module, a path we wrote)
        [
            sys.executable,
            "-m",
            "canary.investigate.limits",
            str(path),
            json.dumps(asdict(limits)),
            json.dumps({"kind": fmt.kind.name, "delimiter": fmt.delimiter}),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    timer = threading.Timer(limits.worker_seconds or 3600, proc.kill)
    timer.start()
    started = time.monotonic()
    error: str | None = None
    chars = 0
    try:
        assert proc.stdout is not None
        for kind, text in _frames(proc.stdout):
            if kind == b"E":
                error = text
                break
            chars += len(text)
            if limits.max_text_chars and chars > limits.max_text_chars:
                proc.kill()
                raise _too_big(path, "its text", limits.max_text_chars, " characters")
            scanner.feed(text)
            matcher.feed(text)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)
    if error is not None:
        raise InputError(error)
    if proc.returncode != 0:
        elapsed = time.monotonic() - started
        why = (
            "time"
            if limits.worker_seconds and elapsed >= limits.worker_seconds
            else "memory or time"
        )
        log.warning(
            "identify worker for %s ended with %s: %s",
            path.name,
            proc.returncode,
            err.decode("utf-8", "replace")[-300:].strip(),
        )
        raise InputError(
            f"{path.name} could not be read within this listener's limits ({why}); "
            "run `canary identify` on it where it is"
        )
    scanner.finish()
    matcher.finish()
    result = scanner.result()
    result.datasets = matcher.result(store)
    result.format = str(fmt)
    return result.to_json()


def _frames(stream: IO[bytes]) -> Iterator[tuple[bytes, str]]:
    while True:
        head = stream.read(5)
        if len(head) < 5:
            return
        kind, size = head[:1], struct.unpack(">I", head[1:])[0]
        yield kind, stream.read(size).decode("utf-8", "replace")


def _send(out: IO[bytes], kind: bytes, text: str) -> None:
    data = text.encode("utf-8", "replace")
    for i in range(0, max(len(data), 1), 1 << 24):
        part = data[i : i + (1 << 24)]
        out.write(kind + struct.pack(">I", len(part)) + part)


def _worker(path: str, limits_json: str, format_json: str) -> int:
    """Child process: read `path` under the limits, text frames on stdout."""
    limits = ReadLimits(**json.loads(limits_json))
    try:
        import resource

        if limits.worker_memory_bytes:
            m = limits.worker_memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (m, m))
        if limits.worker_cpu_seconds:
            c = limits.worker_cpu_seconds
            resource.setrlimit(resource.RLIMIT_CPU, (c, c + 5))
    except (ImportError, ValueError, OSError):  # not on this platform: the deadline still holds
        pass
    # Run as __main__, this module is not the `canary.investigate.limits` the readers
    # import: set the limits on that one.
    from canary.investigate import limits as module
    from canary.investigate.readers import read_pieces
    from canary.investigate.sniff import Format, Kind

    module.use(limits)

    out = sys.stdout.buffer
    try:
        spec = json.loads(format_json)
        fmt = Format(Kind[spec["kind"]], spec["delimiter"])
        for piece in read_pieces(Path(path), fmt):
            _send(out, b"T", piece)
    except InputError as exc:
        _send(out, b"E", str(exc))
    except MemoryError:
        _send(out, b"E", f"{Path(path).name}: reading it needs more memory than allowed")
        return 0
    out.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover (run as the worker)
    sys.exit(_worker(sys.argv[1], sys.argv[2], sys.argv[3]))
