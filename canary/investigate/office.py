"""Office documents and web pages, read from their markup: a table stays a table.

A list retyped from paper or pasted into a report turns up as a Word document (.docx),
an OpenDocument text or spreadsheet (.odt, .ods), an old Excel workbook (.xls) or a
web page. Each is read for its text, with a table's cells separated by tabs and its
rows by newlines (so a name never runs into the next cell), paragraphs by newlines.

The XML of .docx and OpenDocument files is streamed through expat, with any document
type or entity declaration refused (no office file has one; a hostile one would use
them to expand text without bound). Web pages go through the standard library's HTML
parser, scripts and styles left out, `mailto:` and `tel:` links kept. Old .xls
workbooks need xlrd (`pip install 'canary-trace[office]'`); the others only the
standard library.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO
from xml.parsers import expat

from canary.errors import InputError
from canary.investigate.limits import Budget
from canary.investigate.readers import (
    CELL_SEP,
    CHUNK_BYTES,
    missing_extra,
    printable_text,
    raw_pieces,
    row_text,
)
from canary.investigate.sniff import Format

log = logging.getLogger(__name__)

#: Parts of a .docx holding text, the body first.
DOCX_PARTS = ("word/document.xml",)
DOCX_EXTRA_PREFIXES = ("word/header", "word/footer", "word/footnotes", "word/endnotes")
#: Repeated empty cells or spaces written out at most this many times.
MAX_REPEAT = 64
XML_BLOCK = 1 << 20


class _Text:
    """Text accumulated by a markup handler, handed out in pieces of about CHUNK_BYTES."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.cells = 0  # depth of table cells we are in

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def end_paragraph(self) -> None:
        self.add(" " if self.cells else "\n")

    def take(self, force: bool = False) -> str | None:
        if not self.parts or (self.size < CHUNK_BYTES and not force):
            return None
        text = printable_text("".join(self.parts))
        self.parts, self.size = [], 0
        return text


# --- Word (.docx) ---------------------------------------------------------------------------


class _Docx(_Text):
    """WordprocessingML: text in w:t, tabs and breaks inside runs, tables as rows."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(name)
        if parent == "r" and name == "tab":
            self.add(CELL_SEP if not self.cells else " ")
        elif parent == "r" and name in ("br", "cr"):
            self.add("\n" if not self.cells else " ")
        elif name == "tc":
            self.cells += 1

    def end(self, name: str) -> None:
        if self.stack:
            self.stack.pop()
        if name == "p":
            self.end_paragraph()
        elif name == "tc":
            self.cells -= 1
            self.add(CELL_SEP)
        elif name == "tr":
            self.add("\n")

    def data(self, text: str) -> None:
        if self.stack and self.stack[-1] in ("t", "delText"):
            self.add(text)


def word_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """A .docx's body, headers, footers and notes; a legacy .doc as its raw bytes."""
    if not zipfile.is_zipfile(path):
        yield from raw_pieces(path, fmt, budget)  # Word 97: its text sits in the bytes
        return
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        parts = [n for n in DOCX_PARTS if n in names]
        parts += sorted(n for n in names if n.startswith(DOCX_EXTRA_PREFIXES))
        for part in parts:
            with zf.open(part) as f:
                yield from _xml_pieces(f, _Docx(), path)


# --- OpenDocument (.odt, .ods) --------------------------------------------------------------


class _Odf(_Text):
    """OpenDocument content: paragraphs, spaces and tabs as elements, tables as rows."""

    def __init__(self) -> None:
        super().__init__()
        self.body = 0
        self.repeat: list[int] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "body":
            self.body += 1
        elif name == "s":
            self.add(" " * min(_int(attrs.get("c"), 1), MAX_REPEAT))
        elif name == "tab":
            self.add(CELL_SEP if not self.cells else " ")
        elif name == "line-break":
            self.add("\n" if not self.cells else " ")
        elif name in ("table-cell", "covered-table-cell"):
            self.cells += 1
            self.repeat.append(_int(attrs.get("number-columns-repeated"), 1))

    def end(self, name: str) -> None:
        if name == "body":
            self.body -= 1
        elif name in ("p", "h"):
            self.end_paragraph()
        elif name in ("table-cell", "covered-table-cell"):
            self.cells -= 1
            self.add(CELL_SEP * min(self.repeat.pop() if self.repeat else 1, MAX_REPEAT))
        elif name == "table-row":
            self.add("\n")

    def data(self, text: str) -> None:
        if self.body:
            self.add(text)


def odf_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """An OpenDocument text or spreadsheet's content, tables row by row."""
    with zipfile.ZipFile(path) as zf:
        if "content.xml" not in zf.namelist():
            raise InputError(f"{path.name}: an OpenDocument file without its content.xml")
        with zf.open("content.xml") as f:
            yield from _xml_pieces(f, _Odf(), path)


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value or default), 1)
    except ValueError:
        return default


# --- streaming XML --------------------------------------------------------------------------


def _xml_pieces(stream: IO[bytes], handler: _Docx | _Odf, path: Path) -> Iterator[str]:
    """Stream one XML part through `handler`; names and attributes by their local name."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def refuse(*_: object) -> None:
        raise InputError(
            f"{path.name}: its XML declares a document type or entities, which no office "
            "file does; the file was not read"
        )

    def start(name: str, attrs: dict[str, str]) -> None:
        handler.start(_local(name), {_local(k): v for k, v in attrs.items()})

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: handler.end(_local(name))
    parser.CharacterDataHandler = handler.data
    try:
        while block := stream.read(XML_BLOCK):
            parser.Parse(block, False)
            if (text := handler.take()) is not None:
                yield text
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        log.warning("%s: damaged XML (%s); keeping the text read so far", path.name, exc)
    if (text := handler.take(force=True)) is not None:
        yield text + "\n"


def _local(name: str) -> str:
    return name.rpartition("}")[2]


# --- old Excel (.xls) -----------------------------------------------------------------------


def xls_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """Every sheet of an Excel 97-2003 workbook, row by row (whole numbers without ".0")."""
    try:
        import xlrd
    except ImportError as exc:
        raise missing_extra(path, "an old Excel workbook (.xls)", "office") from exc
    try:
        book = xlrd.open_workbook(file_contents=path.read_bytes(), on_demand=True)
    except Exception as exc:  # damaged, or not a workbook after all: search its bytes
        log.warning("%s is not a readable .xls workbook (%s); scanning its bytes", path.name, exc)
        yield from raw_pieces(path, fmt, budget)
        return
    try:
        for index in range(book.nsheets):
            sheet = book.get_sheet(index)
            lines: list[str] = []
            size = 0
            for r in range(sheet.nrows):
                line = row_text([_cell(v) for v in sheet.row_values(r)])
                lines.append(line)
                size += len(line)
                if size >= CHUNK_BYTES:
                    yield "".join(lines)
                    lines, size = [], 0
            yield "".join(lines)
            book.unload_sheet(index)
    finally:
        book.release_resources()


def _cell(value: object) -> object:
    """A number cell as it was typed: 8441234567, not 8441234567.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return int(value)
    return value


# --- web pages ------------------------------------------------------------------------------

#: Elements that end a line of text.
_BLOCKS = frozenset(
    "address article aside blockquote br caption dd div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody "
    "thead tfoot title ul".split()
)
#: Elements whose content is not text a reader sees.
_HIDDEN = frozenset({"script", "style", "template", "noscript", "svg", "object"})


class _Html(HTMLParser):
    """Text of a page: table cells apart, blocks on their own lines, links' addresses kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = _Text()
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.text.add("\n")
        elif tag == "a":
            for key, value in attrs:
                if key == "href" and value and value.lower().startswith(("mailto:", "tel:")):
                    self.text.add(f" {value.partition(':')[2].partition('?')[0]} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in ("td", "th"):
            self.text.add(CELL_SEP)
        elif tag == "tr" or tag in _BLOCKS:
            self.text.add("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.add(data)


def html_pieces(path: Path, fmt: Format, budget: Budget) -> Iterator[str]:
    """A web page's visible text, its tables row by row."""
    yield from html_text(raw_pieces(path, fmt, budget))


def html_text(pieces: Iterator[str] | list[str]) -> Iterator[str]:
    """The visible text of HTML given in pieces (a file's, an e-mail part's)."""
    parser = _Html()
    for piece in pieces:
        parser.feed(piece)
        if (text := parser.text.take()) is not None:
            yield text
    parser.close()
    if (text := parser.text.take(force=True)) is not None:
        yield text + "\n"
