"""What a found dump is, told from its bytes, never from its name.

A leaker renames files, drops extensions, saves an XLSX as "export" and a pipe dump
as ".txt". So `identify` looks at the content: the first bytes of the file (and, for
a ZIP archive, the names of its members) decide the reader. This module only decides;
the readers live in `canary.investigate.readers`, so limits on size, members or
decompression can wrap each reader without touching the decision.
"""

from __future__ import annotations

import enum
import logging
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Bytes read from the start of a file to decide its format.
HEAD_BYTES = 64 * 1024
#: A ZIP archive listing more members than this is not opened as an office file.
MAX_ZIP_MEMBERS = 10_000
#: Delimiters a text table may use, most usual first.
DELIMITERS = ("\t", "|", ";", ",")

SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc / .xls
ODF_MIMETYPE = b"application/vnd.oasis.opendocument."
IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"GIF87a",
    b"GIF89a",
)
#: Names of an OLE compound file's workbook stream (Excel 97+, Excel 5), UTF-16.
XLS_STREAMS = ("Workbook", "Book")
#: Header fields that open an e-mail message (at least two of them, before a blank line).
MAIL_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "content-type",
        "delivered-to",
        "reply-to",
        "x-mailer",
        "dkim-signature",
        "authentication-results",
        "x-received",
        "arc-seal",
        "sender",
    }
)
_HEADER_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]")
_HTML_RE = re.compile(r"<(?:!doctype\s+html|html|head|body|table|div|p|tr|td)[\s>]", re.I)


class Kind(enum.Enum):
    XLSX = "xlsx"
    SQLITE = "sqlite"
    JSON = "json"
    JSONL = "jsonl"
    PDF = "pdf"  # its text layer; pages without one through OCR
    WORD = "word"  # .docx (its XML read) or legacy .doc (raw bytes: the text found in them)
    XLS = "xls"  # legacy Excel workbook
    ODF = "odf"  # OpenDocument: .ods, .odt
    IMAGE = "image"  # PNG, JPEG, TIFF, GIF, WebP: through OCR
    HTML = "html"
    EMAIL = "email"  # a message (.eml), its attachments read in turn
    ZIP = "zip"  # another archive: each member read as its content says
    DELIMITED = "delimited"
    TEXT = "text"


@dataclass(frozen=True)
class Format:
    """The reader a dump needs: its kind and, for a delimited table, its delimiter."""

    kind: Kind
    delimiter: str | None = None

    def __str__(self) -> str:
        if self.delimiter is None:
            return self.kind.value
        return f"{self.kind.value} ({self.delimiter!r})"


def detect_format(head: bytes, zip_names: list[str] | None = None) -> Format:
    """The format of a file from its first bytes (and a ZIP's member names, if known).

    `head` should be the first `HEAD_BYTES` of the file. For a ZIP archive the member
    names are looked for in the local headers found in `head`; `zip_names` (the
    archive's directory, when the caller could read it) completes them.
    """
    if head.startswith(SQLITE_MAGIC):
        return Format(Kind.SQLITE)
    if head.startswith(ZIP_MAGIC):
        names = set(_local_zip_names(head)) | set(zip_names or ())
        if "xl/workbook.xml" in names:
            return Format(Kind.XLSX)
        if "word/document.xml" in names:
            return Format(Kind.WORD)
        if "content.xml" in names and (ODF_MIMETYPE in head[:200] or "mimetype" in names):
            return Format(Kind.ODF)
        return Format(Kind.ZIP)
    if head.startswith(PDF_MAGIC):
        return Format(Kind.PDF)
    if head.startswith(OLE_MAGIC):
        if any(n.encode("utf-16-le") + b"\x00\x00" in head for n in XLS_STREAMS):
            return Format(Kind.XLS)
        return Format(Kind.WORD)
    if head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return Format(Kind.IMAGE)
    text = _text_head(head)
    if text is None:
        return Format(Kind.TEXT)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return Format(_json_kind(stripped))
    if _is_mail(stripped):
        return Format(Kind.EMAIL)
    if stripped[:1] == "<" and _HTML_RE.search(stripped[:4096]):
        return Format(Kind.HTML)
    delimiter = sniff_delimiter(text)
    if delimiter is not None:
        return Format(Kind.DELIMITED, delimiter)
    return Format(Kind.TEXT)


def detect_file_format(path: Path) -> Format:
    """`detect_format` for a file: its head, and a ZIP's directory when the head is not enough."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    fmt = detect_format(head)
    if fmt.kind is Kind.ZIP:
        fmt = detect_format(head, zip_member_names(path))
    elif head.startswith(OLE_MAGIC) and (names := ole_stream_names(path)):
        # The directory's names settle what the head's bytes could only suggest.
        fmt = Format(Kind.XLS if any(n in XLS_STREAMS for n in names) else Kind.WORD)
    log.info("%s read as %s", path.name, fmt)
    return fmt


def zip_member_names(path: Path) -> list[str]:
    """Member names from a ZIP's central directory; [] when it is not a readable archive.

    The count of members is read from the archive's end record first: a directory of
    millions of entries (a hostile archive) is never loaded.
    """
    count = _zip_member_count(path)
    if count is None or count > MAX_ZIP_MEMBERS:
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            return [i.filename for i in zf.infolist()[:MAX_ZIP_MEMBERS]]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        log.info("%s: not a readable ZIP archive (%s)", path.name, exc)
        return []


def ole_stream_names(path: Path) -> list[str]:
    """Names in the first sector of an OLE compound file's directory (a few entries: where
    Excel and Word put their main stream); [] when it cannot be read."""
    try:
        with path.open("rb") as f:
            header = f.read(512)
            if len(header) < 512 or not header.startswith(OLE_MAGIC):
                return []
            shift = struct.unpack_from("<H", header, 30)[0]
            first = struct.unpack_from("<I", header, 48)[0]
            if not 9 <= shift <= 12 or first >= 0xFFFFFFFA:
                return []
            f.seek((first + 1) << shift)
            sector = f.read(1 << shift)
    except OSError:
        return []
    names = []
    for at in range(0, len(sector) - 127, 128):
        size = struct.unpack_from("<H", sector, at + 64)[0]
        if 2 <= size <= 64:
            names.append(sector[at : at + size - 2].decode("utf-16-le", "replace"))
    return names


def _is_mail(text: str) -> bool:
    """Text that opens with e-mail header lines: at least two known fields among the
    first lines, each line a header or its continuation, up to a blank line."""
    known = 0
    for n, line in enumerate(text.splitlines()[:60]):
        if not line.strip():
            return known >= 2 and n >= 2
        if line[:1] in (" ", "\t"):
            continue  # a folded header
        if line.startswith("From ") and n == 0:
            continue  # an mbox separator
        m = _HEADER_RE.match(line)
        if m is None:
            return False
        known += m.group(1).lower() in MAIL_HEADERS
    return known >= 3


def _zip_member_count(path: Path) -> int | None:
    """Entries the ZIP's end-of-central-directory record announces; None without one."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - (22 + 0xFFFF)))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at == -1 or at + 22 > len(tail):
        return None
    count = int(struct.unpack_from("<H", tail, at + 10)[0])
    return MAX_ZIP_MEMBERS + 1 if count == 0xFFFF else count  # ZIP64: far too many for us


def _local_zip_names(head: bytes) -> list[str]:
    """Names of the ZIP members whose local headers lie in `head` (sizes permitting)."""
    names: list[str] = []
    pos = 0
    while head.startswith(ZIP_MAGIC, pos) and pos + 30 <= len(head):
        flags, size, name_len, extra_len = (
            struct.unpack_from("<H", head, pos + 6)[0],
            struct.unpack_from("<I", head, pos + 18)[0],
            struct.unpack_from("<H", head, pos + 26)[0],
            struct.unpack_from("<H", head, pos + 28)[0],
        )
        name = head[pos + 30 : pos + 30 + name_len]
        names.append(name.decode("utf-8", "replace"))
        if flags & 0x08:  # sizes follow the data: the next header cannot be found here
            break
        pos += 30 + name_len + extra_len + size
    return names


def _text_head(head: bytes) -> str | None:
    """The head decoded as text, or None when it looks binary."""
    if not head:
        return ""
    for bom, enc in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(enc, "replace")
    nuls = head.count(b"\x00")
    if nuls > len(head) // 4:
        odd = head[1::2].count(b"\x00")
        return head.decode("utf-16-le" if odd > len(head) // 4 else "utf-16-be", "replace")
    if nuls:
        return None
    text = head.decode("utf-8", "replace")
    if text.count("\ufffd") > len(text) // 20:
        text = head.decode("cp1252", "replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return None if controls > len(text) // 50 else text


def _json_kind(text: str) -> Kind:
    """JSON lines when the first two lines are each a whole object, else one JSON document."""
    lines = [ln.strip() for ln in text.splitlines()[:3] if ln.strip()]
    if len(lines) >= 2 and all(ln.startswith("{") and ln.endswith("}") for ln in lines[:2]):
        return Kind.JSONL
    return Kind.JSON


def sniff_delimiter(text: str) -> str | None:
    """The delimiter splitting most of the first lines into the same number (>1) of fields.

    Quotes are respected only loosely (a quoted field holding the delimiter is rare in
    dumps and costs one line's agreement, not the answer). None for free text.
    """
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if len(text) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last may be cut by the head's end
    if not lines:
        return None
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for rank, d in enumerate(DELIMITERS):
        counts = [_fields(ln, d) for ln in lines]
        first = counts[0]
        if first < 2:
            continue
        agree = sum(1 for c in counts if c == first) / len(counts)
        if agree < 0.8 or (len(lines) == 1 and d == ","):
            continue  # a comma in one line of prose is not a table
        score = (agree, first, -rank)
        if best is None or score > best:
            best, chosen = score, d
    return chosen


def _fields(line: str, delimiter: str) -> int:
    """Fields of a line, delimiters inside double quotes not counted."""
    if '"' not in line:
        return line.count(delimiter) + 1
    n, inside = 1, False
    for ch in line:
        if ch == '"':
            inside = not inside
        elif ch == delimiter and not inside:
            n += 1
    return n
