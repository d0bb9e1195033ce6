"""Delimited text (.csv .tsv .txt): sampled as text, copied as raw bytes.

The copy is the source's bytes with whole records spliced in at record boundaries, so
the copy minus the inserted records is byte-identical to the source (BOM, header,
quoting, encoding, line endings, trailing newline or not). Between insertion points
the writer only moves bytes: it reads fixed-size chunks, cuts each at its last record
boundary (a quote count tells whether a line break is inside a quoted field), counts
records for the row positions, looks for the canary values, and hands the block to
the writer threads. Only the records next to an insertion point are parsed.
"""

from __future__ import annotations

import csv
import io
import logging
from bisect import bisect_right, insort
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from canary.errors import InputError
from canary.formats._dialect import (
    BOM_UTF8,
    Buf,
    Dialect,
    count_records,
    detect_delimiter,
    detect_encoding,
    detect_quoting,
    detect_terminator,
    encode_record,
    last_boundary,
    parse_record,
    quote_marks,
    quoted_terminators,
    record_end,
    split_records,
)
from canary.formats._files import Outputs, sha256_file
from canary.formats._needles import NeedleScanner
from canary.formats._stream import MultiWriter, wait_ticket
from canary.formats._values import MAX_PREAMBLE, footer_start, header_index, typical_filled
from canary.formats.table import CopyTarget, Insertion, Progress, Sample

log = logging.getLogger(__name__)

HEAD_BYTES = 1 << 20
CHUNK_BYTES = 8 << 20
#: Files up to this size are read whole for the sample: every row is checked and
#: counted, and returned (complete=True) when there are at most MAX_ROWS of them.
SMALL_BYTES = 48 << 20
MAX_ROWS = 200_000
MAX_HEADER_BYTES = 1 << 20


@dataclass
class _Pending:
    offset: int  # file offset: insert at the first record boundary strictly after it
    insertion: Insertion


class _TargetState:
    def __init__(self, target: CopyTarget, start: int, span: int) -> None:
        self.target = target
        self.pending = sorted(
            (
                _Pending(start + int(min(max(i.fraction, 0.0), 1.0) * span), i)
                for i in target.insertions
            ),
            key=lambda p: p.offset,
        )
        self.splices: list[tuple[int, bytes]] = []  # (offset in block, record bytes)
        #: file offset -> the last canary placed there (the `prev` of the next one).
        self.last_at: dict[int, list[str]] = {}
        #: (file offset, source rows before it, fields written) per canary placed.
        self.placed: list[tuple[int, int, list[str]]] = []

    def finish(self) -> None:
        """Fill the target's positions (0-based data rows of the copy) and rows, in order."""
        self.placed.sort(key=lambda p: p[0])  # stable: canaries at one offset keep their order
        self.target.positions = [index + k for k, (_, index, _) in enumerate(self.placed)]
        self.target.rows = [row for _, _, row in self.placed]


class DelimitedTable:
    """A delimited text file; see the module docstring for how copies are written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.format = self.path.suffix.lower().lstrip(".") or "csv"
        if not self.path.is_file():
            raise InputError(f"{self.path} does not exist or is not a file")
        self._size = self.path.stat().st_size
        if self._size == 0:
            raise InputError(f"{self.path} is empty: there is no header and no row")
        self._sha: str | None = None
        #: fsync copies before renaming them (off only in benchmarks).
        self.durable = True
        self._detect()

    # -- detection ---------------------------------------------------------------

    def _detect(self) -> None:
        name = self.path.name
        windows: list[bytes] = []
        with self.path.open("rb") as f:
            head = f.read(HEAD_BYTES)
            if self._size > HEAD_BYTES:
                for frac in (0.2, 0.4, 0.6, 0.8):
                    f.seek(int(self._size * frac))
                    windows.append(f.read(65536))
                f.seek(max(self._size - 65536, HEAD_BYTES))
                windows.append(f.read(65536))
        encoding, bom = detect_encoding(head, windows, name)
        start = len(BOM_UTF8) if bom else 0
        body = head[start:]
        if not body.strip():
            raise InputError(f"{self.path} is empty: there is no header and no row")
        text = body.decode(encoding, errors="replace")
        preferred = "\t" if self.format == "tsv" else None
        delimiter = detect_delimiter(text, preferred)
        q = b'"'
        terminator = detect_terminator(body[:MAX_HEADER_BYTES], q)
        with self.path.open("rb") as f:
            f.seek(self._size - 1)
            last = f.read(1)
        trailing = last in (b"\n", b"\r")
        d = Dialect(encoding, bom, delimiter, '"', "minimal", terminator, trailing)
        hend = record_end(body, 0, d.term, q)
        if hend == -1:
            if len(head) < self._size:
                raise InputError(f"{self.path}: the header is longer than 1 MB; is it a table?")
            raise InputError(f"{self.path} has a header but no data rows")
        # Title, date and blank lines above the header are copied as they are.
        firsts: list[list[str]] = []
        ends: list[int] = []
        pos = 0
        while len(firsts) <= MAX_PREAMBLE:
            end = record_end(body, pos, d.term, q)
            if end == -1:
                break
            firsts.append(parse_record(body[pos:end], d))
            ends.append(end)
            pos = end
        at = header_index(firsts)
        if at:
            hend = ends[at]
        self.header_end = start + hend
        self.header = parse_record(body[ends[at - 1] if at else 0 : hend], d)
        if len(self.header) < 1 or not any(h.strip() for h in self.header):
            raise InputError(f"{self.path}: the first line is empty; it must be the header")
        records = split_records(body[hend:], d.term, q)
        if len(head) < self._size and records:
            records = records[:-1]  # may be cut by the head's end
        sample = [(r, parse_record(r, d)) for r in records[:300]]
        quoting, quoted = detect_quoting(sample, d)
        self.dialect = Dialect(encoding, bom, delimiter, '"', quoting, terminator, trailing, quoted)
        #: Where the data ends: blank rows, sources, totals and notes under it are kept as
        #: they are, never sampled, and no canary goes among or after them.
        self.data_end = self._footer_offset(typical_filled([r for _raw, r in sample]))

    def _footer_offset(self, typical: float) -> int:
        """File offset of the first footer record at the end of the file (its size if none)."""
        d = self.dialect
        window = min(self._size - self.header_end, 1 << 16)
        if window <= 0:
            return self._size
        with self.path.open("rb") as f:
            f.seek(self._size - window)
            buf = f.read(window)
        start = 0
        if self._size - window > self.header_end:
            # The window may open mid-record: from its first line break outside quotes on.
            start = record_end(buf, 0, d.term, d.q)
            if start == -1:
                return self._size
        records = split_records(buf[start:], d.term, d.q)
        rows = [parse_record(r, d) for r in records]
        first = footer_start(rows, typical)
        if first >= len(rows) or (first == 0 and start == 0):
            return self._size  # no footer, or nothing but "footer" (then it is data)
        return self._size - window + start + sum(len(r) for r in records[:first])

    # -- Table interface ---------------------------------------------------------

    def size(self) -> int:
        return self._size

    def source_sha256(self) -> str | None:
        if self._sha is None:
            self._sha = sha256_file(self.path)
        return self._sha

    def sample(self, limit: int = 20000) -> Sample:
        """Every row of a small file; else the first `limit` rows and an estimated count."""
        d = self.dialect
        complete = self._size <= SMALL_BYTES
        with self.path.open("rb") as f:
            f.seek(self.header_end)
            if complete:
                raw = f.read(self.data_end - self.header_end)
            else:
                raw = b""
                while raw.count(d.term) <= limit + 1 and len(raw) < SMALL_BYTES:
                    more = f.read(CHUNK_BYTES)
                    if not more:
                        break
                    raw += more
                cut = last_boundary(raw, d.term, d.q, raw.count(d.q))
                raw = raw[:cut] if cut > 0 else raw
        try:
            text = raw.decode(d.encoding)
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 2
            raise InputError(
                f"{self.path}: line {line} has bytes that are not {d.encoding} "
                f"(byte {self.header_end + exc.start}); save the file as UTF-8 and retry"
            ) from None
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=d.delimiter, quotechar=d.quotechar
        )
        rows: list[list[str]] = []
        seen = 0
        width = len(self.header)
        try:
            for row in reader:
                if not any(v.strip() for v in row):
                    continue  # a blank line, or a row of empty cells
                if len(row) != width:
                    raise InputError(
                        f"{self.path}: line {reader.line_num + 1} has {len(row)} fields but the "
                        f"header has {width}; fix that row (or its quoting) and retry"
                    )
                seen += 1
                if seen <= max(limit, MAX_ROWS):
                    rows.append(row)
                if not complete and seen >= limit:
                    break
        except csv.Error as exc:
            raise InputError(f"{self.path}: line {reader.line_num + 1}: {exc}") from None
        if not rows:
            raise InputError(f"{self.path} has a header but no data rows")
        if complete:
            count: int | None = seen
            if seen > len(rows):
                complete, rows = False, rows[:limit]
        else:
            per_row = max(len(raw) / max(raw.count(d.term), 1), 1.0)
            count = int((self._size - self.header_end) / per_row)
        info = dict(self.dialect.info())
        info["bytes"] = self._size
        return Sample(
            header=list(self.header), rows=rows, complete=complete, row_count=count, info=info
        )

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        """One pass over the source writes every target; see the module docstring."""
        outputs = Outputs([t.path for t in targets], self.path)
        with outputs:
            self._write(targets, outputs.temps, progress)
            outputs.commit(self.durable)

    # -- the pass ----------------------------------------------------------------

    def _write(
        self, targets: list[CopyTarget], temps: list[Path], progress: Progress | None
    ) -> None:
        d = self.dialect
        term = d.term
        span = self.data_end - self.header_end
        states = [_TargetState(t, self.header_end, span) for t in targets]
        if self.data_end < self._size:
            # Canaries go among the data: "after the last row" is before the footer.
            last = self.data_end - len(term)
            for st in states:
                for p in st.pending:
                    p.offset = min(p.offset, last)
        needles = [n for t in targets for n in t.needles]
        with self.path.open("rb", buffering=0) as src:
            head = src.read(min(self._size, HEAD_BYTES))
            scanner = NeedleScanner(
                needles, d.encoding, head[self.header_end : self.header_end + (256 << 10)]
            )
            del head
            scan = None if scanner.empty else scanner.scan
            with MultiWriter(temps, self.path, scan) as out:
                self._pass(src, states, out, scanner, progress)
                shas = out.finish(durable=False)  # Outputs.commit fsyncs
                self._sha = out.source_hash.hexdigest()
        for st, sha in zip(states, shas, strict=True):
            st.target.sha256 = sha
            st.finish()

    def _pass(
        self,
        src: io.RawIOBase,
        states: list[_TargetState],
        out: MultiWriter,
        scanner: NeedleScanner,
        progress: Progress | None,
    ) -> None:
        """Read the source once: count, place, and queue every block on `out`'s lanes.

        The needle check of a block runs on its lane while the block's records are
        counted here; a block where a canary is made waits for the checks up to its
        end first, so `make_row` is called exactly as often as when the check ran
        here, before the block's canaries (a collision stops the pass at the same
        block).
        """
        d = self.dialect
        term, q, tb = d.term, d.q, d.term[-1:]
        targets = [st.target for st in states]
        src.seek(0)
        header = src.read(self.header_end) or b""
        out.scan(header)
        out.submit(header, 0, [[] for _ in targets])
        if progress:
            progress(len(header))
        file_pos = self.header_end  # file offset of data[0]
        rows_before = 0
        carry: bytes | bytearray = b""
        prev_last: Buf | None = None  # last record of the previous block
        seam: Buf = b""
        reader = _Reader(src)
        #: Blocks start at record boundaries while insertions before the end remain.
        #: After that, blocks are plain chunks: records are only counted (for the
        #: positions of canaries at the end), with the quote parity carried across.
        aligned = True
        inside = False  # chunk mode: does the block start inside a quoted field?
        while True:
            data, final = reader.next(carry)
            if not scanner.empty:
                # A needle across the seam with the previous block's uncarried bytes.
                reader.hold([out.scan(data), out.scan(seam + data[: scanner.longest])])
            placing = aligned and any(
                p.offset < self._size for st in states for p in st.pending[:1]
            )
            counting = not placing and any(st.pending for st in states)
            counts: _Prefix | None = None
            if not placing:
                aligned = aligned and final
            if final or not placing:
                # Past the last insertion no boundary is needed: blocks are chunks.
                lb = len(data)
            else:
                counts = _Prefix(data, tb, q)
                # Quote and record counts where this block's insertions are due, in
                # order, then at its end: each from the one before, one pass in all.
                end = file_pos + len(data)
                for off in sorted(
                    {p.offset - file_pos for st in states for p in st.pending if p.offset < end}
                ):
                    if off > 0:
                        counts.at(off)
                lb = last_boundary(data, term, q, counts.at(len(data))[0])
                if lb <= 0:
                    carry = data
                    continue
            seam = data[max(lb - scanner.longest, 0) : lb]
            if placing or (aligned and final):
                out.scanned()  # make_row only once the bytes up to here are checked
                counts = counts or _Prefix(data, tb, q)
                for st in states:
                    self._place(st, data, lb, file_pos, final, prev_last, rows_before, counts)
            elif counting:
                n, inside = count_records(data, tb, q, inside)
                rows_before += n
                if final:
                    tail_record = self._tail_record(src, inside)
                    out.scanned()
                    for st in states:
                        self._place_end(st, len(data), rows_before, tail_record)
            block = memoryview(data)[:lb] if lb < len(data) else data
            splices = [st.splices for st in states]
            for st in states:
                st.splices = []
            reader.hold(out.submit(block, file_pos, splices))
            out.check()
            if progress and lb:
                progress(lb)
            if final:
                break
            if placing:
                assert counts is not None
                # Records in this block, for the positions of later insertions: those
                # of the whole block less the carried tail's (it starts at a boundary).
                qt, records = counts.at(len(data))
                tail = data[lb:]
                rows_before += records - (tail.count(tb) - quoted_terminators(tail, tb, q))
                prev_last = _last_record(data, lb, term, q, qt)
            carry = data[lb:]
            file_pos += lb
        for st in states:
            if st.pending:
                log.warning(
                    "%s: %d canaries found no place (every later boundary refused)",
                    st.target.path,
                    len(st.pending),
                )

    def _place(
        self,
        st: _TargetState,
        data: Buf,
        lb: int,
        file_pos: int,
        final: bool,
        prev_last: Buf | None,
        rows_before: int,
        counts: _Prefix,
    ) -> None:
        """Choose boundaries in data[:lb] for the target's due insertions and make the rows."""
        d = self.dialect
        term, q = d.term, d.q
        while st.pending and (final or st.pending[0].offset < file_pos + lb):
            p = st.pending[0]
            off = max(p.offset - file_pos, 0)
            if off >= lb and not final:
                break
            inside = bool(counts.at(off)[0] & 1) if off else False
            b = record_end(data, off, term, q, inside) if off < len(data) else -1
            if b == -1 or b > lb:
                b = lb  # end of file
            at_eof = final and b >= lb
            # The end of the data, before a footer: the last place a canary can go.
            data_end = self.data_end < self._size and file_pos + b >= self.data_end
            if data_end and self.data_end - file_pos <= lb:
                b, at_eof = self.data_end - file_pos, False
            else:
                data_end = False
            if b == lb and not final:
                p.offset = file_pos + lb  # continue in the next block
                break
            prev = st.last_at.get(file_pos + b)  # a canary already placed here
            if prev is None:
                # The record ending at b.
                end_prev = b - (len(term) if data[b - len(term) : b] == term else 0)
                if end_prev > 0:
                    ps = last_boundary(data, term, q, counts.at(end_prev)[0], end=end_prev)
                    prev_raw: Buf | None = data[max(ps, 0) : b]
                else:
                    prev_raw = prev_last
                prev = parse_record(prev_raw, d) if prev_raw else None
            if at_eof or data_end:
                nxt = None
            else:
                ne = record_end(data, b, term, q)
                nxt = parse_record(data[b : ne if ne != -1 else len(data)], d)
            row = p.insertion.make_row(prev, nxt)
            if row is None:
                if at_eof or data_end:
                    _dropped(st)
                else:
                    p.offset = file_pos + b
                continue
            rec, written = encode_record([str(v) for v in row], d)
            if at_eof and not d.trailing_newline and b > 0:
                rec = term + rec[: -len(term)]
            index = rows_before + counts.at(b)[1]
            if at_eof and not d.trailing_newline:
                index += 1
            st.splices.append((b, rec))
            st.splices.sort(key=lambda s: s[0])  # stable: after earlier canaries at b
            st.last_at[file_pos + b] = written
            st.placed.append((file_pos + b, index, written))
            st.pending.pop(0)

    def _place_end(
        self, st: _TargetState, at: int, rows: int, tail_record: list[str] | None
    ) -> None:
        """Place every pending insertion of `st` at the end of the table, in order.

        `at` is the end's offset in the final block, `rows` the source's data records,
        `tail_record` its last one. Used when blocks are chunks (nothing was due
        earlier), so no record before the end is parsed.
        """
        d = self.dialect
        index = rows if d.trailing_newline else rows + 1
        while st.pending:
            prev = st.last_at.get(self._size, tail_record)
            row = st.pending[0].insertion.make_row(prev, None)
            if row is None:
                _dropped(st)
                continue
            rec, written = encode_record([str(v) for v in row], d)
            if not d.trailing_newline:
                rec = d.term + rec[: -len(d.term)]
            st.splices.append((at, rec))
            st.last_at[self._size] = written
            st.placed.append((self._size, index, written))
            st.pending.pop(0)

    def _tail_record(self, src: io.RawIOBase, inside_at_eof: bool) -> list[str] | None:
        """The last data record of the source that is not blank, read backwards from its end.

        Spreadsheet exports often end in blank rows (",,,,"): the row a canary at the end
        follows (and continues an id sequence from) is the last one with data.
        """
        d = self.dialect
        term, q = d.term, d.q
        window = 1 << 16
        while True:
            start = max(self._size - window, self.header_end)
            src.seek(start)
            buf = src.read(self._size - start) or b""
            stop = len(buf) - (len(term) if buf.endswith(term) else 0)
            # Quote parity at `start`, from the parity at the end of the file.
            inside = inside_at_eof ^ bool(buf.count(q) & 1)
            while stop > 0:
                ps = last_boundary(buf, term, q, buf.count(q, 0, stop) + inside, end=stop)
                if ps == -1 and start > self.header_end:
                    break  # the record starts before the window: read more
                record = parse_record(buf[max(ps, 0) : stop], d)
                if any(f.strip() for f in record):
                    return record
                if ps <= 0:
                    return None
                stop = ps - len(term)
            else:
                return None
            if start <= self.header_end:
                return None
            window *= 4


class _Prefix:
    """Quote bytes and record ends (terminators outside quotes) in data[:x] of a block,
    each computed from the nearest point already known: every target's insertions in a
    block cost about one pass over it (counting from the block's start for each of 160
    canaries took 5 of 10 s for ten copies of 216 MB)."""

    def __init__(self, data: Buf, tb: bytes, q: bytes) -> None:
        self.data, self.tb, self.q = data, tb, q
        self.points = [0]
        self.known: dict[int, tuple[int, int]] = {0: (0, 0)}

    def at(self, x: int) -> tuple[int, int]:
        got = self.known.get(x)
        if got is not None:
            return got
        base = self.points[bisect_right(self.points, x) - 1]
        nq0, nr0 = self.known[base]
        part = self.data if base == 0 and x == len(self.data) else self.data[base:x]
        nq, nt, inq = quote_marks(part, self.tb, self.q, bool(nq0 & 1))
        got = self.known[x] = (nq0 + nq, nr0 + nt - inq)
        insort(self.points, x)
        return got


def _dropped(st: _TargetState) -> None:
    """make_row refused even at the end of the table: the canary has no place."""
    st.pending.pop(0)
    log.warning("%s: a canary found no place (make_row refused up to the end)", st.target.path)


#: Blocks in flight: one being read and counted, the others on the lanes.
RING = 4


class _Reader:
    """Fixed-size blocks (carry + new bytes) read into a ring of reused buffers.

    Reusing buffers avoids a fresh 8 MB allocation (and its page faults) per block.
    A buffer is refilled only once the tasks that read its last block (`hold`) are
    done, so the lanes may run a few blocks behind the reader.
    """

    def __init__(self, src: io.RawIOBase) -> None:
        self.src = src
        #: Allocated on first use: a small file needs one (the pass reads it in one go).
        self.bufs: list[bytearray | None] = [None] * RING
        self.tickets: list[list[Future[None]]] = [[] for _ in range(RING)]
        self.turn = 0
        self.current: int | None = None  # the ring buffer `next` returned last, if any
        self.eof = False

    def hold(self, futures: Sequence[Future[None] | None]) -> None:
        """Keep the last block's buffer until these tasks (which read it) are done."""
        if self.current is not None:
            self.tickets[self.current].extend(f for f in futures if f is not None)

    def next(self, carry: bytes | bytearray) -> tuple[bytes | bytearray, bool]:
        """(data, final): data starts with `carry`; final when the source is exhausted."""
        self.current = None
        if self.eof:
            return carry, True
        if len(carry) > CHUNK_BYTES // 2:  # a huge record: plain allocation
            more = self.src.read(CHUNK_BYTES) or b""
            if not more:
                self.eof = True
                return carry, True
            return bytes(carry) + more, False
        i = self.turn
        self.turn = (i + 1) % RING
        wait_ticket(self.tickets[i])
        self.tickets[i] = []
        buf = self.bufs[i]
        if buf is None:
            buf = self.bufs[i] = bytearray(CHUNK_BYTES)
        lc = len(carry)
        buf[:lc] = carry
        view = memoryview(buf)
        got = lc
        while got < CHUNK_BYTES:
            n = self.src.readinto(view[got:])
            if not n:
                self.eof = True
                break
            got += n
        view.release()
        if got == CHUNK_BYTES:
            self.current = i
            return buf, False
        if got == lc:
            return carry, True
        return bytes(buf[:got]), False


def _last_record(data: Buf, lb: int, term: bytes, q: bytes, qt: int) -> Buf:
    """The last complete record of data[:lb] (cheap: scans back from the end only)."""
    end = lb - len(term)
    if end <= 0:
        return data[:lb]
    quotes = qt - data.count(q, end)
    ps = last_boundary(data, term, q, quotes, end=end)
    return data[max(ps, 0) : lb]
