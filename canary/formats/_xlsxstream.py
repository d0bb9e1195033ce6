"""Copies of an .xlsx workbook with rows inserted in one sheet, streamed, all in one pass.

openpyxl loads a workbook whole and writes it back whole, once per copy: minutes for
a 200,000-row sheet. Here the sheet's XML is read once, in chunks cut at row starts,
and every copy gets each chunk with its canary rows spliced in and the row numbers
after them moved down (`<row r>` and `<c r>`); the numbers are cut out of a chunk
once, and each copy only writes them back shifted. Every other part of the package
is copied as it is, except what refers to the sheet's rows, which follows the rows
as Excel's "insert row" does: formulas in every sheet (cells, conditional formats,
data validations), defined names, merged cells, conditional formatting and data
validation ranges, hyperlinks, the autofilter, the dimension, the sheet's tables and
chart series. A range that covers the data from its top down to the row above a
canary takes the canary in (a TOTAL's =SUM(E2:E61) under the last row, a table).
calcChain.xml (Excel's cache of formula order) is dropped, as openpyxl drops it;
Excel rebuilds it.

A canary's cells take the style of the cell above and the type its column holds:
numbers as numbers, dates as serial numbers, text through the shared strings table
when the workbook has one (appended to it), else inline.

Sheets this cannot follow safely (rows or cells without their `r` reference, rows
out of order) raise `Unsupported`; the caller then takes the openpyxl path.
"""

from __future__ import annotations

import html
import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from posixpath import dirname, join, normpath
from typing import IO, Any
from xml.sax.saxutils import escape

from canary.formats._xlsxrefs import map_formula

CHUNK = 4 << 20

#: The row number in a `<row r="12">` or `<c r="AB12">`: (prefix, digits).
_REF = re.compile(rb'(<(?:row|c)\s[^>]*?\br="[A-Z]{0,3})(\d+)(?=")')
_CELL = re.compile(rb"<c\s([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_FORMULA = re.compile(rb"<f(\s[^>]*?)?(?:/>|>(.*?)</f>)", re.S)
_ROW_TAG = re.compile(rb"<row\s[^>]*>")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Unsupported(Exception):
    """The sheet's XML is not laid out as this streamer needs."""


@dataclass
class Shift:
    """Where one copy's rows go: `ats` are source rows a canary is inserted before
    (sorted, repeated for several canaries at one place); `data_from` the first data row."""

    ats: list[int]
    data_from: int

    def row(self, r: int) -> int:
        return r + bisect_right(self.ats, r)

    def grows(self, last: int) -> int:
        """Canaries inserted right under row `last`."""
        return bisect_right(self.ats, last + 1) - bisect_left(self.ats, last + 1)


@dataclass
class Package:
    """Where the parts that matter are in the zip."""

    sheet: str
    sheet_part: str
    workbook: str
    shared_strings: str | None
    calc_chain: str | None
    tables: list[str] = field(default_factory=list)


def _rels_of(part: str) -> str:
    return join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode(): html.unescape(v.decode()) for k, v in _ATTR.findall(tag)}


def _targets(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, part) of each internal relationship of `part` (read with a regular
    expression: no XML parser on the source's parts, see ruff S314)."""
    rels = _rels_of(part)
    if rels not in zf.NameToInfo:
        return []
    out = []
    for tag in re.findall(rb"<Relationship\s[^>]*>", zf.read(rels)):
        a = _attrs(tag)
        target = a.get("Target", "")
        if a.get("TargetMode") == "External":
            continue
        path = (
            target.lstrip("/") if target.startswith("/") else normpath(join(dirname(part), target))
        )
        out.append((a.get("Id", ""), a.get("Type", ""), path))
    return out


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, in order."""
    with zipfile.ZipFile(path) as zf:
        workbook = next(
            (p for _i, t, p in _targets(zf, "") if t.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        tags = re.findall(rb"<(?:\w+:)?sheet\s[^>]*>", zf.read(workbook))
    names = [_attrs(t).get("name", "") for t in tags]
    if not names:
        raise Unsupported("no sheets")
    return names


def locate(zf: zipfile.ZipFile, sheet: str) -> Package:
    """The sheet's part and the parts that refer to it."""
    workbook = next(
        (p for _i, t, p in _targets(zf, "") if t.endswith("/officeDocument")), "xl/workbook.xml"
    )
    rels = {rid: (typ, path) for rid, typ, path in _targets(zf, workbook)}
    part = None
    for tag in re.findall(rb"<(?:\w+:)?sheet\s[^>]*>", zf.read(workbook)):
        a = _attrs(tag)
        if a.get("name") == sheet:
            rid = next((v for k, v in a.items() if k.endswith(":id")), "")
            part = rels.get(rid, ("", ""))[1]
    if not part or part not in zf.NameToInfo:
        raise Unsupported(f"sheet {sheet!r} has no part")
    shared = next((p for t, p in rels.values() if t.endswith("/sharedStrings")), None)
    calc = next((p for t, p in rels.values() if t.endswith("/calcChain")), None)
    tables = [p for _i, t, p in _targets(zf, part) if t.endswith("/table")]
    return Package(sheet, part, workbook, shared, calc, tables)


# --- references ---------------------------------------------------------------------

_PART = re.compile(r"^(\$?[A-Za-z]{1,3})?(\$?)(\d+)$")


def _part(p: str, shift: Shift, extra: int = 0) -> str:
    m = _PART.match(p)
    if not m:
        return p
    return f"{m.group(1) or ''}{m.group(2)}{shift.row(int(m.group(3))) + extra}"


def map_ref(ref: str, shift: Shift, grow: bool = True) -> str:
    """A1 or A1:B5 in the source's rows, in the copy's (a range over the data from its
    top down to the row above a canary takes the canary in)."""
    parts = ref.split(":")
    if len(parts) == 2:
        a, b = _PART.match(parts[0]), _PART.match(parts[1])
        extra = 0
        if grow and a and b and int(a.group(3)) <= shift.data_from:
            extra = shift.grows(int(b.group(3)))
        return f"{_part(parts[0], shift)}:{_part(parts[1], shift, extra)}"
    return ":".join(_part(p, shift) for p in parts)


def _map_attr(xml: bytes, names: tuple[bytes, ...], shift: Shift, grow: bool = True) -> bytes:
    pattern = re.compile(rb"\b(" + b"|".join(names) + rb')="([^"]*)"')

    def sub(m: re.Match[bytes]) -> bytes:
        refs = m.group(2).decode().split()
        new = " ".join(map_ref(r, shift, grow) for r in refs)
        return m.group(1) + b'="' + new.encode() + b'"'

    return pattern.sub(sub, xml)


_TAG_REFS = re.compile(rb'<[^>]*\b(?:sq)?ref="[^"]*"[^>]*>')


def _map_tags(xml: bytes, shift: Shift) -> bytes:
    """The ranges in a sheet's tags after its rows (merged cells, conditional formats,
    data validations, hyperlinks, the autofilter): a merged range only moves."""

    def sub(m: re.Match[bytes]) -> bytes:
        tag = m.group(0)
        return _map_attr(tag, (b"sqref", b"ref"), shift, grow=not tag.startswith(b"<mergeCell"))

    return _TAG_REFS.sub(sub, xml)


def _formula_text(text: bytes, sheet: str, same: bool, shift: Shift) -> bytes:
    plain = html.unescape(text.decode())
    mapped = map_formula("=" + plain, sheet, same, shift.row, shift.grows, shift.data_from)
    if mapped == "=" + plain:
        return text
    return escape(mapped[1:]).encode()


def map_formulas(xml: bytes, sheet: str, same: bool, shift: Shift, tag: bytes = b"f") -> bytes:
    """Every <f> (or `tag`) formula in `xml`, and the ranges of shared formulas."""
    pattern = (
        _FORMULA
        if tag == b"f"
        else re.compile(rb"<" + tag + rb"(\s[^>]*?)?(?:/>|>(.*?)</" + tag + rb">)", re.S)
    )

    def sub(m: re.Match[bytes]) -> bytes:
        attrs, text = m.group(1) or b"", m.group(2)
        if same and attrs and b"ref=" in attrs:
            attrs = _map_attr(attrs, (b"ref",), shift)
        if text is None:
            return b"<" + tag + attrs + b"/>"
        return (
            b"<" + tag + attrs + b">" + _formula_text(text, sheet, same, shift) + b"</" + tag + b">"
        )

    return pattern.sub(sub, xml)


def _map_defined_names(xml: bytes, sheet: str, shift: Shift) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        return m.group(1) + _formula_text(m.group(2), sheet, False, shift) + m.group(3)

    return re.sub(rb"(<definedName\b[^>]*>)(.*?)(</definedName>)", sub, xml, flags=re.S)


# --- the sheet, chunk by chunk --------------------------------------------------------


@dataclass
class Chunk:
    """Rows of the sheet XML, cut around their row numbers (shared by every copy)."""

    raw: bytes
    lits: list[bytes]  # L0..Ln: the bytes between numbers (the Ln after the last)
    pres: list[bytes]  # P1..Pn: "<row ... r=\"" / "<c ... r=\"AB"
    nums: list[int]  # N1..Nn
    row_tok: list[int]  # index into pres/nums of each row's own number
    row_nums: list[int]
    formulas: bool

    @classmethod
    def cut(cls, raw: bytes, last_row: int) -> Chunk:
        parts = _REF.split(raw)
        lits, pres = parts[0::3], parts[1::3]
        nums = [int(d) for d in parts[2::3]]
        row_tok = [i for i, p in enumerate(pres) if p[:4] == b"<row"]
        rows = raw.count(b"<row ") + raw.count(b"<row>")
        cells = raw.count(b"<c ") + raw.count(b"<c>")
        if len(row_tok) != rows or len(pres) - len(row_tok) != cells:
            raise Unsupported("a row or cell without its r reference")
        row_nums = [nums[i] for i in row_tok]
        prev = last_row
        for n in row_nums:
            if n <= prev:
                raise Unsupported("rows out of order")
            prev = n
        return cls(raw, lits, pres, nums, row_tok, row_nums, b"<f" in raw)

    def row_xml(self, j: int) -> bytes:
        """The source XML of row j of this chunk (rarely called: a canary's neighbour)."""
        start = self.row_tok[j]
        end = self.row_tok[j + 1] if j + 1 < len(self.row_tok) else len(self.pres)
        return b"".join(self.segment(start, end, 0))

    def segment(self, a: int, b: int, k: int) -> list[bytes]:
        """Tokens a..b-1 (a number with the bytes around it) with their numbers moved
        down k rows; a token is pres[i], nums[i], lits[i + 1]."""
        n = b - a
        if n <= 0:
            return []
        out: list[bytes] = [b""] * (3 * n)
        out[0::3] = self.pres[a:b]
        out[1::3] = [b"%d" % (x + k) for x in self.nums[a:b]]
        out[2::3] = self.lits[a + 1 : b + 1]
        return out


def read_sheet(f: IO[bytes]) -> tuple[bytes, Iterator[bytes], Callable[[], bytes]]:
    """(prefix through <sheetData>, row chunks cut at row starts, and a function giving
    the suffix from </sheetData> on, once the chunks are consumed)."""
    buf = b""
    while True:
        start = buf.find(b"<sheetData")
        if start != -1 and buf.find(b">", start) != -1:
            break
        more = f.read(CHUNK)
        if not more:
            raise Unsupported("no sheetData")
        buf += more
    end = buf.index(b">", start) + 1
    if buf[end - 2 : end] == b"/>":
        raise Unsupported("empty sheetData")
    prefix, buf = buf[:end], buf[end:]
    suffix: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        nonlocal buf
        while True:
            stop = buf.find(b"</sheetData>")
            if stop != -1:
                if buf[:stop].strip():
                    yield buf[:stop]
                    suffix.append(buf[stop:] + f.read())
                else:
                    suffix.append(buf + f.read())
                return
            cut = buf.rfind(b"<row ")
            if cut > 0 and len(buf) >= CHUNK:
                out, buf = buf[:cut], buf[cut:]
                yield out
            more = f.read(CHUNK)
            if not more:
                raise Unsupported("no </sheetData>")
            buf += more

    return prefix, chunks(), lambda: suffix[0]


# --- a canary row ---------------------------------------------------------------------


def _col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def above_cells(row_xml: bytes) -> tuple[bytes, dict[str, dict[str, str]]]:
    """The attributes of a source row (without r/hidden) and its cells' s/t by column."""
    tag = _ROW_TAG.match(row_xml)
    attrs = b""
    if tag:
        for m in _ATTR.finditer(tag.group(0)):
            if m.group(1) not in (b"r", b"hidden", b"collapsed", b"outlineLevel"):
                attrs += b" " + m.group(0)
    cells: dict[str, dict[str, str]] = {}
    for m in _CELL.finditer(row_xml):
        a = {k.decode(): v.decode() for k, v in _ATTR.findall(m.group(1))}
        col = re.sub(r"\d", "", a.get("r", ""))
        if m.group(2) and b'xml:space="preserve"' in m.group(2):
            a[PRESERVE] = "1"
        cells[col] = a
    return attrs, cells


#: Marks, among a source cell's attributes (`above_cells`), that its text is written
#: with xml:space="preserve".
PRESERVE = "_preserve"


@dataclass
class Strings:
    """A copy's shared strings: the source's, and the new ones appended."""

    index: dict[str, int]
    base: int
    new: list[str] = field(default_factory=list)
    refs: int = 0

    def get(self, text: str) -> int:
        self.refs += 1
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = self.base + len(self.new)
            self.new.append(text)
        return i


def read_strings(xml: bytes) -> dict[str, int]:
    """Plain shared strings (one <t>, no rich text) by text -> index."""
    out: dict[str, int] = {}
    for i, m in enumerate(re.finditer(rb"<si>(.*?)</si>|<si/>", xml, re.S)):
        t = re.fullmatch(rb"\s*<t(?:\s[^>]*)?>(.*?)</t>\s*", m.group(1) or b"", re.S)
        if t:
            out.setdefault(html.unescape(t.group(1).decode()), i)
    return out


def strings_xml(xml: bytes, strings: Strings) -> bytes:
    """The shared strings with the new ones appended, written as the source writes its
    own (xml:space="preserve" where it always has it, or where a text needs it;
    characters past ASCII as references where it writes them so)."""
    if not strings.new:
        return xml
    every = xml.count(b"<t>") == 0 and b'<t xml:space="preserve">' in xml
    refs = char_refs(xml)
    added = "".join(f"<si>{_t_xml(s, every, refs)}</si>" for s in strings.new)
    head = re.search(rb"<sst\b[^>]*>", xml)
    if head is None:
        raise Unsupported("sharedStrings without <sst>")
    tag = head.group(0)
    for name, more in ((b"uniqueCount", len(strings.new)), (b"count", strings.refs)):
        m = re.search(rb"\b" + name + rb'="(\d+)"', tag)
        if m:
            tag = tag[: m.start(1)] + str(int(m.group(1)) + more).encode() + tag[m.end(1) :]
    end = xml.rindex(b"</sst>")
    return xml[: head.start()] + tag + xml[head.end() : end] + added.encode() + xml[end:]


def char_refs(xml: bytes) -> bool:
    """Whether XML writes characters past ASCII as references ("MU&#209;OZ") only."""
    return re.search(rb"&#x?[0-9A-Fa-f]+;", xml) is not None and not re.search(rb"[\x80-\xff]", xml)


def _t_xml(text: str, preserve: bool, refs: bool) -> str:
    """A `<t>` element of `text`: with xml:space="preserve" when asked or needed (spaces
    at an end), characters past ASCII as references when `refs`."""
    body = escape(text)
    if refs:
        body = body.encode("ascii", "xmlcharrefreplace").decode("ascii")
    if preserve or text != text.strip():
        return f'<t xml:space="preserve">{body}</t>'
    return f"<t>{body}</t>"


def _number(value: float) -> str:
    """A number as a workbook writes it: 43075, not 43075.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)


def cell_xml(
    ref: str,
    value: Any,
    style: str | None,
    strings: Strings | None,
    like: dict[str, str] | None = None,
    refs: bool = False,
) -> str:
    """A canary's cell written as the cell above it in the source is (`like`, its
    attributes: an explicit t="n", xml:space="preserve") and as the sheet writes its
    characters (`refs`): written otherwise, every canary row of an openpyxl workbook was
    found by grep."""
    like = like or {}
    s = f' s="{style}"' if style is not None else ""
    if value is None:
        return f'<c r="{ref}"{s}/>' if s else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    n = ' t="n"' if like.get("t") == "n" else ""
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}{n}><v>{_number(value)}</v></c>'
    if isinstance(value, datetime | date):
        from openpyxl.utils.datetime import to_excel

        return f'<c r="{ref}"{s}{n}><v>{_number(to_excel(value))}</v></c>'
    text = _XML_BAD.sub("", str(value))
    if strings is not None:
        return f'<c r="{ref}"{s} t="s"><v>{strings.get(text)}</v></c>'
    t_xml = _t_xml(text, PRESERVE in like, refs)
    return f'<c r="{ref}"{s} t="inlineStr"><is>{t_xml}</is></c>'


def row_xml(r: int, attrs: bytes, cells: list[str]) -> bytes:
    return f'<row r="{r}"'.encode() + attrs + b">" + "".join(cells).encode() + b"</row>"


# --- the copies -----------------------------------------------------------------------


@dataclass
class CopyPlan:
    """One copy: its canary rows as (source row they go before, cell values), in order."""

    rows: list[tuple[int, list[Any]]]
    path: Path
    shift: Shift = field(init=False)
    strings: Strings | None = None
    zout: zipfile.ZipFile | None = None
    #: the sheet writes characters past ASCII as references (`char_refs`)
    refs: bool = False

    def __post_init__(self) -> None:
        self.shift = Shift([at for at, _ in self.rows], 0)


def write_streamed(
    src: Path, sheet: str, data_from: int, plans: list[CopyPlan], level: int = 1
) -> None:
    """Write every plan's copy of `src` in one read of it (see the module docstring).

    Deflate level 1: a third of level 6's time (the largest cost of ten copies), for
    parts about a quarter larger."""
    with zipfile.ZipFile(src) as zin:
        pkg = locate(zin, sheet)
        index = read_strings(zin.read(pkg.shared_strings)) if pkg.shared_strings else None
        for plan in plans:
            plan.shift.data_from = data_from
            if index is not None:
                plan.strings = Strings(dict(index), len(index) if index else 0)
                plan.strings.base = _count_si(zin.read(pkg.shared_strings or ""))
                for _at, values in plan.rows:
                    for v in values:
                        if isinstance(v, str) and v != "" and not isinstance(v, bool):
                            plan.strings.get(_XML_BAD.sub("", v))
                plan.strings.refs = 0
            plan.zout = zipfile.ZipFile(plan.path, "w", zipfile.ZIP_DEFLATED, compresslevel=level)
        try:
            for info in zin.infolist():
                name = info.filename
                if name == pkg.calc_chain:
                    continue
                if name == pkg.sheet_part:
                    _stream_sheet(zin, info, pkg, plans)
                    continue
                data = zin.read(name)
                for plan in plans:
                    assert plan.zout is not None
                    plan.zout.writestr(name, _part_for(name, data, pkg, plan))
        finally:
            for plan in plans:
                if plan.zout is not None:
                    plan.zout.close()


def _count_si(xml: bytes) -> int:
    return xml.count(b"<si>") + xml.count(b"<si/>")


def _part_for(name: str, data: bytes, pkg: Package, plan: CopyPlan) -> bytes:
    """A part of the package as this copy has it."""
    shift, sheet = plan.shift, pkg.sheet
    if pkg.calc_chain and name == "[Content_Types].xml":
        return re.sub(
            rb'<Override[^>]*PartName="/' + re.escape(pkg.calc_chain.encode()) + rb'"[^>]*/>',
            b"",
            data,
        )
    if pkg.calc_chain and name == _rels_of(pkg.workbook):
        return re.sub(rb"<Relationship[^>]*Target=\"[^\"]*calcChain\.xml\"[^>]*/>", b"", data)
    if name == pkg.shared_strings and plan.strings is not None:
        return strings_xml(data, plan.strings)
    if name == pkg.workbook:
        return _map_defined_names(data, sheet, shift)
    if name in pkg.tables:
        return _map_attr(data, (b"ref",), shift)
    if not name.endswith(".xml"):
        return data
    if name.startswith("xl/worksheets/") and b"<f" in data:
        for tag in (b"f", b"formula", b"formula1", b"formula2"):
            data = map_formulas(data, sheet, False, shift, tag)
        return data
    if name.startswith("xl/charts/") and b"<c:f>" in data:
        return map_formulas(data, sheet, False, shift, b"c:f")
    return data


def _stream_sheet(
    zin: zipfile.ZipFile, info: zipfile.ZipInfo, pkg: Package, plans: list[CopyPlan]
) -> None:
    writers = []
    for plan in plans:
        assert plan.zout is not None
        writers.append(plan.zout.open(info.filename, "w", force_zip64=info.file_size > (1 << 30)))
    try:
        with zin.open(info) as f:
            prefix, chunks, suffix = read_sheet(f)
            for plan, w in zip(plans, writers, strict=True):
                w.write(_map_attr(prefix, (b"ref",), plan.shift))
            pending = [0] * len(plans)  # next canary row of each plan
            last_num = 0
            last_xml = b""
            for k, raw in enumerate(chunks):
                if k == 0:
                    for plan in plans:
                        plan.refs = char_refs(raw)
                chunk = Chunk.cut(raw, last_num)
                for p, (plan, w) in enumerate(zip(plans, writers, strict=True)):
                    pending[p] = _write_chunk(
                        chunk, plan, w, pending[p], last_num, last_xml, pkg.sheet
                    )
                if chunk.row_nums:
                    last_num = chunk.row_nums[-1]
                    last_xml = chunk.row_xml(len(chunk.row_nums) - 1)
            tail = suffix()
            for p, (plan, w) in enumerate(zip(plans, writers, strict=True)):
                rows = plan.rows[pending[p] :]
                w.write(_canaries(rows, plan, last_num, last_xml, len(plan.rows) - len(rows)))
                out = tail
                for tag in (b"f", b"formula", b"formula1", b"formula2"):
                    out = map_formulas(out, pkg.sheet, True, plan.shift, tag)
                w.write(_map_tags(out, plan.shift))
    finally:
        for w in writers:
            w.close()


def _write_chunk(
    chunk: Chunk, plan: CopyPlan, w: IO[bytes], i: int, last_num: int, last_xml: bytes, sheet: str
) -> int:
    """Write one chunk to one copy; returns the index of its next canary row."""
    rows = plan.rows
    first = i
    out: list[bytes] = [chunk.lits[0]]
    tok = 0
    while i < len(rows):
        at = rows[i][0]
        j = bisect_left(chunk.row_nums, at)
        if j >= len(chunk.row_nums):
            break  # goes further down
        t = chunk.row_tok[j]
        out += chunk.segment(tok, t, i)
        tok = t
        above_num = chunk.row_nums[j - 1] if j else last_num
        above_xml = chunk.row_xml(j - 1) if j else last_xml
        n = i
        while n < len(rows) and rows[n][0] == at:
            n += 1
        out.append(_canaries(rows[i:n], plan, above_num, above_xml, i))
        i = n
    if i == 0 and first == 0:
        data = chunk.raw  # nothing above this chunk moved: its bytes as they are
    else:
        out += chunk.segment(tok, len(chunk.pres), i)
        data = b"".join(out)
    if chunk.formulas and rows:
        data = map_formulas(data, sheet, True, plan.shift)
    w.write(data)
    return i


def _canaries(
    rows: list[tuple[int, list[Any]]], plan: CopyPlan, above_num: int, above_xml: bytes, before: int
) -> bytes:
    """The XML of canary rows going before source row rows[0][0]; `before` canaries
    precede them in the copy."""
    if not rows:
        return b""
    at = rows[0][0]
    attrs, cells = above_cells(above_xml) if above_num == at - 1 and above_xml else (b"", {})
    out = []
    for n, (_at, values) in enumerate(rows):
        r = at + before + n
        xml = []
        for c, v in enumerate(values, start=1):
            col = _col_letters(c)
            like = cells.get(col, {})
            xml.append(cell_xml(f"{col}{r}", v, like.get("s"), plan.strings, like, plan.refs))
        out.append(row_xml(r, attrs, xml))
    return b"".join(out)


# --- reading the values -----------------------------------------------------------------

_ROW_EL = re.compile(rb"<row\s([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL_EL = re.compile(rb"<c\s([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_R_ATTR = re.compile(rb'\br="(\d+)"')
_C_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_T_ATTR = re.compile(rb'\bt="(\w+)"')
_S_ATTR = re.compile(rb'\bs="(\d+)"')
_V = re.compile(rb"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_F = re.compile(rb"<f(\s[^>]*?)?(?:/>|>(.*?)</f>)", re.S)
_T_TEXT = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.S)


@dataclass
class _Styles:
    dates: set[int]
    timedeltas: set[int]
    epoch: datetime


def _styles(zf: zipfile.ZipFile, workbook: str) -> _Styles:
    """Which cell styles show dates (and durations), as openpyxl's stylesheet reads them."""
    from openpyxl.styles.numbers import (
        builtin_format_code,
        is_date_format,
        is_timedelta_format,
    )
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    rels = {t: p for _i, t, p in _targets(zf, workbook)}
    part = next((p for t, p in rels.items() if t.endswith("/styles")), None)
    dates: set[int] = set()
    timedeltas: set[int] = set()
    if part and part in zf.NameToInfo:
        xml = zf.read(part)
        custom = {
            int(a["numFmtId"]): a.get("formatCode", "")
            for a in (_attrs(t) for t in re.findall(rb"<numFmt\s[^>]*>", xml))
            if a.get("numFmtId", "").isdigit()
        }
        xfs = re.search(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", xml, re.S)
        for idx, tag in enumerate(re.findall(rb"<xf\b[^>]*>", xfs.group(1) if xfs else b"")):
            fid = int(_attrs(tag).get("numFmtId", "0") or 0)
            fmt = custom.get(fid) or builtin_format_code(fid) or ""
            if is_date_format(fmt):
                dates.add(idx)
            if is_timedelta_format(fmt):
                timedeltas.add(idx)
    wb = zf.read(workbook)
    pr = re.search(rb"<workbookPr\b[^>]*>", wb)
    mac = bool(pr and re.search(rb'date1904="(1|true)"', pr.group(0)))
    return _Styles(dates, timedeltas, CALENDAR_MAC_1904 if mac else CALENDAR_WINDOWS_1900)


def _shared_texts(xml: bytes) -> list[str]:
    """Every shared string's text (rich runs joined), in order (an empty <si/> too)."""
    return [
        _text(b"".join(_T_TEXT.findall(m.group(1) or b"")))
        for m in re.finditer(rb"<si>(.*?)</si>|<si/>", xml, re.S)
    ]


def read_values(path: Path, sheet: str, limit: int | None = None) -> list[list[Any]]:
    """The sheet's cell values by row from row 1, as openpyxl's read-only, formula-keeping
    load gives them (numbers, dates by the cell's style, shared and inline text, "=..."
    formulas), read with regular expressions: several times faster on large sheets.
    Raises `Unsupported` where it cannot say the same (cells without references)."""
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.datetime import from_excel

    with zipfile.ZipFile(path) as zf:
        pkg = locate(zf, sheet)
        styles = _styles(zf, pkg.workbook)
        shared = _shared_texts(zf.read(pkg.shared_strings)) if pkg.shared_strings else []
        with zf.open(pkg.sheet_part) as f:
            _prefix, chunks, _suffix = read_sheet(f)
            rows: list[list[Any]] = []
            cols: dict[bytes, int] = {}
            formulas: dict[bytes, Any] = {}
            for raw in chunks:
                for rm in _ROW_EL.finditer(raw):
                    r = _R_ATTR.search(rm.group(1))
                    if r is None:
                        raise Unsupported("a row without its r reference")
                    number = int(r.group(1))
                    while len(rows) < number - 1:
                        rows.append([])
                    row: list[Any] = []
                    for cm in _CELL_EL.finditer(rm.group(2) or b""):
                        attrs, body = cm.group(1), cm.group(2) or b""
                        ref = _C_REF.search(attrs)
                        if ref is None:
                            raise Unsupported("a cell without its r reference")
                        letters = ref.group(1)
                        col = cols.get(letters)
                        if col is None:
                            col = cols[letters] = _col_index(letters)
                        t = _T_ATTR.search(attrs)
                        kind = t.group(1) if t else b"n"
                        value: Any = None
                        fm = _F.search(body) if b"<f" in body else None
                        if fm is not None:
                            value = _formula_value(
                                fm, ref.group(0)[3:-1].decode(), formulas, Translator
                            )
                        elif kind == b"inlineStr":
                            isv = _IS.search(body)
                            if isv is not None:
                                value = _text(b"".join(_T_TEXT.findall(isv.group(1))))
                        else:
                            v = _V.search(body)
                            text = v.group(1) if v else b""
                            if text:
                                value = _typed_value(kind, text, attrs, shared, styles, from_excel)
                        while len(row) < col - 1:
                            row.append(None)
                        if len(row) == col - 1:
                            row.append(value)
                        else:
                            raise Unsupported("cells out of order")
                    rows.append(row)
                if limit is not None and len(rows) >= limit:
                    break
    return rows


_IS = re.compile(rb"<is>(.*?)</is>", re.S)


def _text(raw: bytes) -> str:
    text = raw.decode()
    return html.unescape(text) if "&" in text else text


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _formula_value(
    fm: re.Match[bytes], coord: str, shared: dict[bytes, Any], translator: Any
) -> Any:
    attrs = fm.group(1) or b""
    text = "=" + html.unescape((fm.group(2) or b"").decode())
    t = _T_ATTR.search(attrs)
    if t and t.group(1) == b"shared":
        si = re.search(rb'\bsi="(\d+)"', attrs)
        key = si.group(1) if si else b""
        if key in shared:
            return shared[key].translate_formula(coord)
        if text != "=":
            shared[key] = translator(text, coord)
    elif t and t.group(1) == b"array":
        raise Unsupported("an array formula")  # openpyxl gives an ArrayFormula object
    elif t and t.group(1) == b"dataTable":
        raise Unsupported("a data table formula")
    return text


def _typed_value(
    kind: bytes, text: bytes, attrs: bytes, shared: list[str], styles: _Styles, from_excel: Any
) -> Any:
    if kind == b"n":
        s = text.decode()
        number: Any = float(s) if ("." in s or "E" in s or "e" in s) else int(s)
        sm = _S_ATTR.search(attrs)
        style = int(sm.group(1)) if sm else 0
        if style in styles.dates:
            try:
                return from_excel(number, styles.epoch, timedelta=style in styles.timedeltas)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == b"s":
        return shared[int(text)]
    if kind == b"b":
        return bool(int(text))
    if kind == b"d":
        raise Unsupported("an ISO 8601 date cell")
    return _text(text)  # str, e (errors)
