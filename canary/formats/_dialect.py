"""How a delimited file is written: encoding, delimiter, quoting, line ending.

Detection reads only the head of the file (plus a few windows further in for the
encoding), and every fact is one a copy must reproduce so that its untouched bytes
stay the source's bytes and its inserted records look like their neighbours.

Record boundaries are found on raw bytes: in every encoding we accept (UTF-8,
Windows-1252, Latin-1) the delimiter, quote and line-break bytes never occur inside
a multi-byte character, and a record ends at a line break outside quotes, which a
count of quote characters since a known boundary tells (doubled quotes count twice).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from canary.errors import InputError

BOM_UTF8 = codecs.BOM_UTF8
Buf = bytes | bytearray
DELIMITERS = [",", ";", "\t", "|", ":", "^", "~"]
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Dialect:
    encoding: str  # codec for canary records: "utf-8", "cp1252" or "latin-1"
    bom: bool
    delimiter: str
    quotechar: str
    quoting: str  # "minimal", "all", "nonnumeric" or "columns" (those in `quoted`)
    terminator: str  # "\r\n", "\n" or "\r"
    trailing_newline: bool
    #: With quoting "columns": the columns quoted whether they need it or not.
    quoted: frozenset[int] = frozenset()

    @property
    def q(self) -> bytes:
        return self.quotechar.encode("ascii")

    @property
    def term(self) -> bytes:
        return self.terminator.encode("ascii")

    def info(self) -> dict[str, object]:
        names = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}
        return {
            "encoding": ("utf-8-sig" if self.bom else self.encoding),
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "quoting": self.quoting,
            "line_ending": names[self.terminator],
            "trailing_newline": self.trailing_newline,
        }


def detect_encoding(head: bytes, windows: list[bytes], name: str) -> tuple[str, bool]:
    """(codec, has UTF-8 BOM) from the head and a few windows further into the file."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{name} is UTF-16; save it as UTF-8 (or CSV UTF-8 in Excel) and retry")
    bom = head.startswith(BOM_UTF8)
    parts = [head[3:] if bom else head, *windows]
    for i, part in enumerate(parts):
        nul = part.find(b"\x00")
        if nul != -1:
            where = f"byte {nul}" if i == 0 else "a later part"
            raise InputError(f"{name} holds NUL bytes ({where}): it is not a text table")
    if all(_utf8_ok(p, whole=(i == 0)) for i, p in enumerate(parts)):
        return "utf-8", bom
    if bom:
        bad = _first_bad(head[3:], "utf-8")
        raise InputError(f"{name} starts with a UTF-8 BOM but has invalid UTF-8 at byte {bad}")
    if all(_decodes(p, "cp1252") for p in parts):
        return "cp1252", False
    bad = _first_bad(head, "cp1252")
    raise InputError(
        f"{name} is neither UTF-8 nor Windows-1252 (undecodable byte near offset {bad}); "
        "save it as UTF-8 and retry"
    )


def _utf8_ok(data: bytes, whole: bool) -> bool:
    if not whole:  # a window may start inside a character: skip continuation bytes
        i = 0
        while i < min(4, len(data)) and 0x80 <= data[i] < 0xC0:
            i += 1
        data = data[i:]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _first_bad(data: bytes, encoding: str) -> int:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return int(exc.start)
    return -1


def detect_terminator(head: bytes, q: bytes) -> str:
    """The line ending of the first record (outside quotes)."""
    inside = False
    for i, b in enumerate(head):
        c = head[i : i + 1]
        if c == q:
            inside = not inside
        elif not inside and b in (10, 13):
            if b == 13:
                return "\r\n" if head[i + 1 : i + 2] == b"\n" else "\r"
            return "\n"
    return "\r\n" if b"\r\n" in head else "\n"


def detect_delimiter(text: str, preferred: str | None) -> str:
    """The candidate that splits the first lines into the same number (>1) of fields
    most often, blank lines aside; on a tie, into more fields. A title line above the
    header ("Listado de clientes activos - Sucursal Central") is one field whatever the
    delimiter: read from the first line, a semicolon file opening with one fell back to
    commas and failed on its first name with a comma in it."""
    lines = text[:65536]
    best, best_score = preferred or ",", (-1.0, 0)
    for d in DELIMITERS:
        if d not in lines:
            continue
        rows = _parse(lines, d, '"', limit=200)
        if len(rows) > 1:
            rows = rows[:-1]  # the last may be cut by the head's end
        counts = [len(r) for r in rows if any(v.strip() for v in r)]
        if not counts:
            continue
        usual = Counter(counts).most_common(1)[0][0]
        if usual < 2:
            continue
        agree = sum(1 for c in counts if c == usual) / len(counts)
        score = (agree + (0.01 if d == preferred else 0.0), usual)
        if score > best_score:
            best, best_score = d, score
    return best


def _parse(text: str, delimiter: str, quotechar: str, limit: int) -> list[list[str]]:
    out: list[list[str]] = []
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False
    )
    try:
        for row in reader:
            out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def parse_record(raw: Buf, d: Dialect) -> list[str]:
    """Fields of one raw record (its terminator may be included)."""
    text = raw.decode(d.encoding, errors="replace")
    rows = _parse(text, d.delimiter, d.quotechar, limit=2)
    return rows[0] if rows else []


def is_number(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value))


def encode_fields(
    fields: list[str],
    d: Dialect,
    quoting: str | None = None,
    quoted: frozenset[int] | None = None,
) -> str:
    """One record as text, quoted the way the source quotes, with its terminator."""
    style = quoting or d.quoting
    always = d.quoted if quoted is None else quoted
    q = d.quotechar
    special = (d.delimiter, q, "\r", "\n")
    out = []
    for i, f in enumerate(fields):
        need = (
            style == "all"
            or (style == "nonnumeric" and not is_number(f))
            or (style == "columns" and i in always)
            or any(s in f for s in special)
            or (len(fields) == 1 and f == "")
        )
        out.append(q + f.replace(q, q + q) + q if need else f)
    return d.delimiter.join(out) + d.terminator


def encode_record(fields: list[str], d: Dialect) -> tuple[bytes, list[str]]:
    """Bytes of a canary record in the source's encoding, and the fields as written.

    A character the encoding cannot hold is replaced by its unaccented form (so
    "Nguyễn" becomes "Nguyen" in a Windows-1252 file); if that fails too it is an error.
    """
    try:
        return encode_fields(fields, d).encode(d.encoding), list(fields)
    except UnicodeEncodeError:
        pass
    written = [_fold(f, d.encoding) for f in fields]
    try:
        return encode_fields(written, d).encode(d.encoding), written
    except UnicodeEncodeError as exc:
        raise InputError(
            f"a canary value cannot be written in the source's encoding ({d.encoding}): {exc}"
        ) from exc


_NO_DECOMPOSITION = {"Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "Ħ": "H", "ħ": "h", "ı": "i"}


def _fold(value: str, encoding: str) -> str:
    try:
        value.encode(encoding)
        return value
    except UnicodeEncodeError:
        pass
    out = []
    for ch in value:
        try:
            ch.encode(encoding)
            out.append(ch)
        except UnicodeEncodeError:
            if ch in _NO_DECOMPOSITION:
                out.append(_NO_DECOMPOSITION[ch])
                continue
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out.append(base)
    return "".join(out)


def detect_quoting(records: list[tuple[Buf, list[str]]], d: Dialect) -> tuple[str, frozenset[int]]:
    """The style that reproduces most sample records byte for byte, and for the style
    "columns" (some columns always quoted, others only when needed) which columns."""
    columns = _always_quoted(records, d)
    best, best_n = "minimal", -1
    for style in ("minimal", "all", "nonnumeric", "columns"):
        if style == "columns" and not columns:
            continue
        n = 0
        for raw, fields in records:
            try:
                enc = encode_fields(fields, d, style, columns).encode(d.encoding)
            except UnicodeEncodeError:
                continue
            n += enc == raw or (not raw.endswith(d.term) and enc == raw + d.term)
        if n > best_n:
            best, best_n = style, n
    return best, (columns if best == "columns" else frozenset())


def _always_quoted(records: list[tuple[Buf, list[str]]], d: Dialect) -> frozenset[int]:
    """Columns whose fields are quoted in most records although few need it."""
    quoted: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    for raw, _fields in records:
        try:
            text = bytes(raw).decode(d.encoding)
        except UnicodeDecodeError:
            continue
        for i, flag in enumerate(_quoted_flags(text, d.delimiter, d.quotechar)):
            seen[i] += 1
            quoted[i] += flag
    return frozenset(i for i, n in seen.items() if quoted[i] > 0.5 * n)


def _quoted_flags(text: str, delimiter: str, q: str) -> list[bool]:
    """For each field of one record, whether it is written in quotes."""
    flags: list[bool] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == q:
            flags.append(True)
            i += 1
            while i < n:
                if text[i] == q:
                    if i + 1 < n and text[i + 1] == q:
                        i += 2
                        continue
                    i += 1
                    break
                i += 1
        else:
            flags.append(False)
        j = text.find(delimiter, i)
        if j < 0:
            return flags
        i = j + 1


# -- quote-aware scanning on bytes ---------------------------------------------------


def record_end(buf: Buf, pos: int, term: bytes, q: bytes, inside: bool = False) -> int:
    """Index just past the first record terminator at or after `pos` outside quotes.

    `inside` says whether `pos` is inside a quoted field. Returns -1 if `buf` ends first.
    """
    while True:
        t = buf.find(term, pos)
        if t == -1:
            return -1
        if buf.count(q, pos, t) & 1:
            inside = not inside
        if not inside:
            return t + len(term)
        pos = t + 1


def last_boundary(buf: Buf, term: bytes, q: bytes, quotes_total: int, end: int = -1) -> int:
    """Index just past the last terminator outside quotes (buf starts at a boundary), or -1.

    `quotes_total` is buf.count(q) (the caller usually has it already).
    """
    stop = len(buf) if end < 0 else end
    after = 0  # quotes in buf[t:] for the candidate t
    while True:
        t = buf.rfind(term, 0, stop)
        if t == -1:
            return -1
        after += buf.count(q, t, stop)
        if (quotes_total - after) & 1 == 0:
            return t + len(term)
        stop = t


def split_records(buf: Buf, term: bytes, q: bytes) -> list[Buf]:
    """Raw records (each with its terminator; the last may lack one). For tests and samples."""
    out = []
    pos = 0
    while pos < len(buf):
        e = record_end(buf, pos, term, q)
        if e == -1:
            out.append(buf[pos:])
            break
        out.append(buf[pos:e])
        pos = e
    return out


def quoted_terminators(buf: Buf, tb: bytes, q: bytes, inside: bool = False) -> int:
    """How many `tb` bytes lie inside quoted fields of buf (starting outside quotes)."""
    if buf.find(q) == -1:
        return buf.count(tb) if inside else 0
    parts = buf.split(q)
    inner = parts[0::2] if inside else parts[1::2]
    return b"".join(inner).count(tb)


@functools.lru_cache(maxsize=8)
def _others(keep: bytes) -> bytes:
    """Every byte value except those in `keep` (a `bytes.translate` delete set)."""
    return bytes(b for b in range(256) if b not in keep)


#: Quotes up to one per this many bytes are walked with `find` (memchr) rather than
#: projected by `translate`: below it the walk costs less (measured on 8 MB blocks).
SPARSE_QUOTES = 400
#: Stretches (at four places of a buffer) whose quotes decide which of the two ways the
#: buffer is counted.
_PROBE = 1 << 14


def quote_marks(buf: Buf, tb: bytes, q: bytes, inside: bool = False) -> tuple[int, int, int]:
    """(quote bytes, terminator bytes, terminator bytes inside quotes) of a buffer.

    `inside` is the quote state at the buffer's start. Two ways, the same counts:

    - few quotes (most exports quote only the fields that need it; judged on 16 KB at
      four places of the buffer, and given up past twice that rate): the terminators
      are counted by `replace` (memchr, about half the CPU of `count`'s byte loop) and
      the quotes are walked pair by pair with `find`; a pair's terminators are counted
      only when the line's end falls inside it;
    - many quotes: one `translate` keeps only the quote and terminator bytes; runs
      of quotes then shrink to their parity, so a line whose quotes pair up vanishes
      and what is left to split is tiny.
    """
    n = len(buf)
    if n >= 4 * _PROBE:
        probes = [(k * (n // 4), k * (n // 4) + _PROBE) for k in range(4)]
    else:
        probes = [(0, n)]
    seen = sum(buf.count(q, lo, hi) for lo, hi in probes)
    if n and seen * SPARSE_QUOTES <= sum(hi - lo for lo, hi in probes):
        walked = _walk_quotes(buf, tb, q, inside, n // SPARSE_QUOTES * 2 + 2)
        if walked is not None:
            nq, inq = walked
            return nq, n - len(buf.replace(tb, b"")), inq
    return _translated_marks(buf, tb, q, inside)


def _walk_quotes(
    buf: Buf, tb: bytes, q: bytes, inside: bool, budget: int
) -> tuple[int, int] | None:
    """(quote bytes, terminator bytes inside quotes) by `find`; None past `budget` quotes."""
    find, count = buf.find, buf.count
    nq = inq = pos = 0
    if inside:
        j = find(q)
        if j == -1:
            return 0, count(tb)
        nq, inq, pos = 1, count(tb, 0, j), j + 1
    nl = -1  # the first terminator after the last opening quote (len(buf) if none)
    while True:
        i = find(q, pos)
        if i == -1:
            return nq, inq
        j = find(q, i + 1)
        if j == -1:
            return nq + 1, inq + count(tb, i + 1)
        nq += 2
        if nq > budget:
            return None
        if nl < i:
            nl = find(tb, i + 1)
            if nl == -1:
                nl = len(buf)
        if nl < j:
            inq += count(tb, i + 1, j)
        pos = j + 1


def _translated_marks(buf: Buf, tb: bytes, q: bytes, inside: bool) -> tuple[int, int, int]:
    delete = _others(q + tb)
    # One call over the whole block: slice by slice (to hand the GIL to the hashing and
    # writing threads sooner) copied every slice first and cost half as much again.
    marks = buf.translate(None, delete)
    nq = marks.count(q)
    nt = len(marks) - nq
    if nq == 0:
        return 0, nt, nt if inside else 0
    odd = marks.replace(q + q, b"")
    if odd.find(q) == -1:
        return nq, nt, nt if inside else 0
    parts = odd.split(q)
    return nq, nt, b"".join(parts[0::2] if inside else parts[1::2]).count(tb)


def count_records(buf: Buf, tb: bytes, q: bytes, inside: bool) -> tuple[int, bool]:
    """(terminators outside quotes, inside quotes at the end) of a chunk cut anywhere.

    `inside` is the quote state at the chunk's start; a record's terminator is its
    last byte `tb`, so terminators cut by a chunk's end are still counted once.
    """
    nq, nt, inq = quote_marks(buf, tb, q, inside)
    return nt - inq, inside ^ bool(nq & 1)
