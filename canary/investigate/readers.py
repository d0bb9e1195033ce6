"""Reading a found dump as text, piece by piece, with the reader its content calls for.

Each reader yields text in pieces of about `CHUNK_BYTES` so memory stays flat however
large the dump. Table readers (XLSX, old XLS, ODS, SQLite, delimited text, HTML and Word
tables) write the cells of a row separated by tabs and rows by newlines, so a value
never runs into its neighbour (`2205|mpugam@...` is two cells, not one address). A PDF
gives its text layer, and its pages without one go through OCR like images
(`canary.investigate.ocr`); office files and web pages are read from their markup
(`canary.investigate.office`); zip archives and e-mails are opened and each file inside
read as its own content says, within one budget for the whole dump
(`canary.investigate.containers`, `limits.nested`). JSON, legacy .doc and free text are
decoded as they are: what can be found in their bytes is found. The choice of reader is
`canary.investigate.sniff.detect_format`'s alone.

The readers of PDFs and images (extra `ocr`) and of old .xls workbooks (extra `office`)
need optional packages; without them `MissingExtra` says which extra reads the file,
rather than the dump being searched as bytes and found empty.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from canary.errors import InputError
from canary.investigate import limits
from canary.investigate.limits import Budget
from canary.investigate.sniff import Format, Kind

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
#: Rows of a SQLite table fetched at a time.
SQLITE_BATCH = 2000
CELL_SEP = "\t"

#: A reader: the file, its format, and the budget of the dump it belongs to (files
#: inside files count against the dump they were found in).
Reader = Callable[[Path, Format, Budget], Iterator[str]]


class MissingExtra(InputError):
    """The file needs a reader whose optional packages are not installed."""


def missing_extra(path: Path, what: str, extra: str) -> MissingExtra:
    return MissingExtra(
        f"{path.name} is {what}; reading it needs the optional '{extra}' packages: "
        f"pip install 'canary-trace[{extra}]'"
    )


def read_pieces(path: Path, fmt: Format, budget: Budget | None = None) -> Iterator[str]:
    """The dump at `path` as text pieces, read the way `fmt` says, within the active
    read limits (canary.investigate.limits: none in the CLI, tight on the server).
    `budget` is the enclosing dump's, for a file found inside another."""
    limits.check_file(path)
    if fmt.kind in (Kind.XLSX, Kind.WORD, Kind.ODF, Kind.ZIP) and zipfile.is_zipfile(path):
        limits.check_zip(path)  # entries, unpacked size, shared strings: before any reader
    return _readers().get(fmt.kind, raw_pieces)(path, fmt, budget or Budget())


@functools.cache
def _readers() -> dict[Kind, Reader]:
    """Every reader by kind; the form readers import this module, so they come late."""
    from canary.investigate import containers, ocr, office

    return {
        **READERS,
        Kind.PDF: ocr.pdf_pieces,
        Kind.IMAGE: ocr.image_pieces,
        Kind.WORD: office.word_pieces,
        Kind.ODF: office.odf_pieces,
        Kind.XLS: office.xls_pieces,
        Kind.HTML: office.html_pieces,
        Kind.ZIP: containers.zip_pieces,
        Kind.EMAIL: containers.email_pieces,
    }


def sqlite_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Every value of every table of a SQLite file, opened read-only."""
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path.name}: cannot open the SQLite file ({exc})") from exc
    try:
        limits.guard_sqlite(con)
        for table, columns in list(limits.sqlite_columns(con)):
            quoted = '"' + table.replace('"', '""') + '"'
            cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            # Names come from the file itself and are quoted as identifiers; only stored
            # columns are read (no generated or virtual column is evaluated).
            cur = con.execute(f"select {cols} from {quoted}")
            while rows := cur.fetchmany(SQLITE_BATCH):
                yield "".join(row_text(r) for r in rows)
    except sqlite3.Error as exc:
        raise InputError(f"{path.name}: cannot read the SQLite file ({exc})") from exc
    finally:
        con.close()


def xlsx_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """The cell values of every sheet, row by row; the raw bytes if it will not open.

    The workbook is opened from a file object, so a name without ".xlsx" does not
    matter, and in read-only mode, so rows stream.
    """
    import openpyxl

    with path.open("rb") as f:
        try:
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Exception as exc:  # a damaged or disguised archive: scan what its bytes hold
            log.info("%s is not a readable workbook (%s); scanning its bytes", path.name, exc)
            wb = None
        if wb is None:
            yield from raw_pieces(path, fmt, budget)
            return
        try:
            for ws in wb.worksheets:
                lines: list[str] = []
                size = 0
                for row in ws.iter_rows(values_only=True):
                    line = row_text(row)
                    lines.append(line)
                    size += len(line)
                    if size >= CHUNK_BYTES:
                        yield "".join(lines)
                        lines, size = [], 0
                yield "".join(lines)
        finally:
            wb.close()


def delimited_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Decoded text with the sniffed delimiter turned into a tab between cells."""
    delimiter = fmt.delimiter or CELL_SEP
    for piece in raw_pieces(path, fmt, budget):
        yield piece.replace(delimiter, CELL_SEP) if delimiter != CELL_SEP else piece


def raw_pieces(path: Path, fmt: Format, budget: Budget | None = None) -> Iterator[str]:
    """The file's bytes decoded (encoding guessed from its start), control bytes as spaces."""
    with path.open("rb") as f:
        sample = f.read(64 * 1024)
        encoding = detect_encoding(sample)
        log.info("reading %s as %s", path.name, encoding)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        f.seek(0)
        while block := f.read(CHUNK_BYTES):
            yield printable_text(decoder.decode(block))
        tail = decoder.decode(b"", final=True)
        if tail:
            yield printable_text(tail)


#: Formats whose text is their bytes as they are (no table or archive to open).
RAW_KINDS = (Kind.TEXT, Kind.DELIMITED, Kind.JSON, Kind.JSONL)


def raw_blocks(path: Path, fmt: Format) -> Iterator[bytes] | None:
    """The dump's bytes in blocks, when it is UTF-8 text its reader would only decode
    (and, delimited, turn the separator into tabs: `as_text` does both): what
    `identify` scans without decoding it. None for any other file."""
    if fmt.kind not in RAW_KINDS:
        return None
    limits.check_file(path)
    with path.open("rb") as f:
        if detect_encoding(f.read(64 * 1024)) not in ("utf-8", "utf-8-sig"):
            return None
    return _blocks(path)


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(CHUNK_BYTES):
            yield block


def as_text(decoded: str, fmt: Format) -> str:
    """Decoded text of a raw block as its reader gives it (`raw_pieces`, `delimited_pieces`)."""
    text = printable_text(decoded)
    if fmt.kind is Kind.DELIMITED and fmt.delimiter and fmt.delimiter != CELL_SEP:
        text = text.replace(fmt.delimiter, CELL_SEP)
    return text


READERS: dict[Kind, Reader] = {
    Kind.SQLITE: sqlite_pieces,
    Kind.XLSX: xlsx_pieces,
    Kind.DELIMITED: delimited_pieces,
}


def row_text(values: tuple[object, ...] | list[object]) -> str:
    """One table row: its cells separated by tabs (none inside a cell), then a newline."""
    cells = ("" if v is None else str(v) for v in values)
    return CELL_SEP.join(c.replace(CELL_SEP, " ").replace("\n", " ") for c in cells) + "\n"


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample: a BOM, else UTF-8 if it decodes, else a guess."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            return enc
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if b"\x00" not in sample:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    if sample.count(b"\x00") > len(sample) // 4:
        odd_nuls = sample[1::2].count(b"\x00")
        return "utf-16-le" if odd_nuls > len(sample) // 4 else "utf-16-be"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            return str(best.encoding)
    except Exception as exc:  # a guess only; fall back to the usual Windows encoding
        log.info("encoding detection failed (%s); reading as cp1252", exc)
    return "cp1252"


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def printable_text(text: str) -> str:
    """Binary junk between text becomes spaces, so words do not run together."""
    return _CONTROL_RE.sub(" ", text)
