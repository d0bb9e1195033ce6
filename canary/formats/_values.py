"""Values between typed formats and text, and choosing rows for in-memory formats.

Planting speaks text; JSON, XLSX and SQL hold numbers, dates and booleans. `to_text`
gives the text a column value is sampled as, and `from_text` turns a canary's text
back into the type its column holds (decided from the column's own values), falling
back to the text itself when it does not parse.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from canary.formats.table import CopyTarget

log = logging.getLogger(__name__)

_INT = re.compile(r"[-+]?\d+")
#: A number as JSON writes one (no "+", no leading zeros, no bare point).
_JSON_FLOAT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class RawFloat(float):
    """A JSON number with a fraction or an exponent, with the text it was written as
    ("0.00", "247.40", "1e5"): parsed as a float, a JSON export's "0.00" came back
    "0.0", in every row of a JSON array's copy and in a JSON Lines copy's canaries."""

    text: str

    def __new__(cls, text: str) -> RawFloat:
        made = super().__new__(cls, text)
        made.text = text
        return made


def loads(text: str) -> Any:
    """JSON text, its numbers with a fraction or an exponent as `RawFloat`s."""
    return json.loads(text, parse_float=RawFloat)


def dumps(value: Any, **kw: Any) -> str:
    """`json.dumps`, with `RawFloat`s written as their own text."""
    raws: list[str] = []
    mark = secrets.token_hex(8)

    def swap(v: Any) -> Any:
        if isinstance(v, RawFloat):
            raws.append(v.text)
            return f"\x00{mark}:{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value), **kw)
    if not raws:
        return text
    marked = re.compile(r'"\\u0000' + mark + r':(\d+)\\u0000"')
    return marked.sub(lambda m: raws[int(m.group(1))], text)


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def to_text(value: Any) -> str:
    """How a cell or field value is shown to planting ("" for empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawFloat):
        return value.text
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def column_kind(values: list[Any]) -> str:
    """'int', 'float', 'bool', 'datetime', 'date', 'json' or 'str' from a column's values."""
    kinds = set()
    for v in values:
        if v is None or v == "":
            continue
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            kinds.add("int")
        elif isinstance(v, float | Decimal):
            kinds.add("float")
        elif isinstance(v, datetime):
            kinds.add("datetime")
        elif isinstance(v, date):
            kinds.add("date")
        elif isinstance(v, dict | list):
            kinds.add("json")
        else:
            kinds.add("str")
    if kinds == {"int", "float"}:
        return "float"
    if len(kinds) == 1:
        return kinds.pop()
    return "str"


def whole_floats(values: list[Any]) -> bool:
    """True when a column's numbers are all floats (`200.0`, never `200`): a JSON export
    writes its amounts one way, and a canary's `200` among `200.0`s would stand out."""
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return bool(nums) and all(isinstance(v, float) for v in nums)


def as_written(value: Any, floats: bool) -> Any:
    """A value from `from_text` as the column writes numbers (`floats`: as floats)."""
    if floats and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_text(text: str, kind: str, nullable: bool = True) -> Any:
    """The canary's text as a value of the column's kind (the text if it does not fit)."""
    t = text.strip()
    if t == "":
        return None if nullable else text
    try:
        if kind == "int" and _INT.fullmatch(t):
            return int(t)
        if kind == "float":
            num = _plain_number(t)
            if num is not None and _INT.fullmatch(num):
                return int(num)
            if num is not None:  # as written where JSON could write it so ("12.50")
                return RawFloat(num) if _JSON_FLOAT.fullmatch(num) else float(num)
        if kind == "bool" and t.lower() in ("true", "false", "1", "0", "yes", "no", "sí", "si"):
            return t.lower() in ("true", "1", "yes", "sí", "si")
        if kind == "datetime":
            return _parse_datetime(t)
        if kind == "date":
            d = _parse_datetime(t)
            return d.date() if isinstance(d, datetime) else d
        if kind == "json" and t[:1] in "[{":
            return json.loads(t)
    except (ValueError, InvalidOperation):
        pass
    return text


_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


def _plain_number(t: str) -> str | None:
    """ "1,234.5" -> "1234.5", "93916,70" -> "93916.70", "12.5" as is; else None."""
    if _FLOAT.fullmatch(t):
        return t
    if _THOUSANDS.fullmatch(t):
        return t.replace(",", "")
    if _DECIMAL_COMMA.fullmatch(t):
        return t.replace(",", ".")
    return None


def _parse_datetime(t: str) -> datetime | str:
    try:
        return datetime.fromisoformat(t)
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y", "%d/%m/%Y %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(t, fmt)
        except ValueError:
            continue
    return t


def place_rows(
    target: CopyTarget, count: int, row_text: Any, taken: Any = None
) -> list[tuple[int, list[str]]]:
    """Choose where each insertion goes among `count` rows; returns (before index, row).

    Index k means "between row k-1 and row k" (k == count: after the last row); a
    canary always follows at least one real row. `row_text(i)` gives row i as text;
    `taken(row)` may refuse a made row (a key already used), like make_row's None.
    Several canaries may share a boundary (a dense sorted key leaves room only after
    the last row): each later one gets the canary placed there before it as `prev`,
    and goes after it. A fraction >= 1.0 goes straight to the end. A refused canary
    tries each boundary after its own, then each before it; it is dropped (and logged)
    only when make_row refuses at every one.
    Fills target.positions and target.rows (copy order).
    """
    #: boundary -> the last canary row placed there (the `prev` of the next one).
    last_at: dict[int, list[str]] = {}
    placed: list[tuple[int, list[str]]] = []
    for ins in sorted(target.insertions, key=lambda i: i.fraction):
        if ins.fraction >= 1.0:
            start = count
        else:
            start = min(max(1, 1 + int(max(ins.fraction, 0.0) * count)), count)
        # on from the drawn boundary to the end, then from the top down to it: a table
        # sorted by a name whose canaries fill the room after the last row has room
        # higher up (the third canary of a roll sorted by name found none at the end)
        for k in (*range(start, count + 1), *range(1, start)):
            prev = last_at[k] if k in last_at else row_text(k - 1)
            nxt = row_text(k) if k < count else None
            row = ins.make_row(prev, nxt)
            if row is not None and not (taken and taken(row)):
                text = [str(v) for v in row]
                placed.append((k, text))
                last_at[k] = text
                break
        else:
            log.warning(
                "%s: a canary found no place (make_row refused everywhere)", target.location
            )
    placed.sort(key=lambda p: p[0])  # stable: canaries sharing a boundary keep their order
    target.positions = [k + j for j, (k, _) in enumerate(placed)]
    target.rows = [r for _, r in placed]
    return placed


def share(total: int, parts: int, k: int) -> int:
    """Part k of `total` split into `parts` whole numbers that add up to `total`."""
    return total * (k + 1) // parts - total * k // parts


#: Title, note and blank rows looked past, at most, before a table's header row.
MAX_PREAMBLE = 20


def header_index(rows: list[list[str]]) -> int:
    """Which of a sheet's first rows is the header: the first with two or more cells,
    or the row of names under it where that row only groups them (`_groups_over`).

    Exports from public bodies often open with a title ("REGISTRO DE CANDIDATAS
    2024", merged across the columns), a date line and a blank row. Those rows hold
    at most their first cell; they are kept as they are and the header is the row after
    them. Payrolls group their columns under a row of labels ("DATOS PERSONALES",
    "CONTACTO", merged over their columns): kept as they are too, never sampled. A
    one-column table (every row one cell) keeps its first row as the header.
    """
    for i, row in enumerate(rows[: MAX_PREAMBLE + 1]):
        filled = [j for j, v in enumerate(row) if v.strip()]
        if len(filled) >= 2 or (filled and filled != [0]):
            # (one named column after an unnamed one, ",correo" from an index: a header)
            while i + 1 < len(rows) and _groups_over(rows[i], rows[i + 1], rows[i + 2 :]):
                i += 1
            return i
    return 0


#: A group row fills at most this share of the cells the row of names under it fills.
GROUP_SHARE = 0.5
#: Column names, at least, in the row under a group row.
MIN_GROUPED_NAMES = 3
#: Data rows under the names looked at to tell the names from a row of data.
GROUP_LOOKAHEAD = 20
#: A cell that reads as a number, an amount or a date: never a column's name.
_VALUE_CELL = re.compile(r"^[-+$€£]?\s*[\d.,:/\s%()-]*\d[\d.,:/\s%()-]*(?:[ T][\d:.]+)?$")


def _groups_over(row: list[str], names: list[str], data: list[list[str]]) -> bool:
    """Whether `row` groups the columns `names` names ("DATOS PERSONALES | CONTACTO |
    DOMICILIO", each label merged across its columns) rather than being the header.

    A group row fills few cells (each label stands over several columns, the rest
    empty), every one of them over a named column; the row under it names at least
    `MIN_GROUPED_NAMES` columns, none of them a number or a date, and at least one of
    them stands over a column of numbers or dates (a data row would not). Taken as the
    header, the group row made every canary of a payroll garbage: 24 of 24 had dates
    written as text, phone numbers in the date columns and no salary.
    """
    top = {j for j, v in enumerate(row) if v.strip()}
    under = {j for j, v in enumerate(names) if v.strip()}
    if len(under) < MIN_GROUPED_NAMES or len(top) > GROUP_SHARE * len(under) or not top <= under:
        return False
    if any(_VALUE_CELL.match(row[j].strip()) for j in top):
        return False
    if any(_VALUE_CELL.match(names[j].strip()) for j in under):
        return False
    below = [r for r in data[:GROUP_LOOKAHEAD] if any(v.strip() for v in r)]
    for j in under:
        cells = [r[j].strip() for r in below if j < len(r) and r[j].strip()]
        if cells and sum(1 for v in cells if _VALUE_CELL.match(v)) > len(cells) / 2:
            return True
    return False


#: Words a footer row under a table opens with: a source, a total, a note, who made it.
FOOTER_WORDS = (
    "fuente", "elaborado", "elaboro", "total", "totales", "suma", "nota", "notas", "source",
    "prepared", "generated", "generado", "corte", "fecha de corte", "observaciones",
    "validado", "reviso", "revisado", "autorizo", "*",
)  # fmt: skip
#: Footer rows looked past, at most, at the end of a table.
MAX_FOOTER = 20


def footer_start(rows: list[list[str]], typical: float) -> int:
    """Index of the first footer row of `rows` (the table's last rows; len(rows) if none).

    Exports end in blank rows, a "Fuente: ..." line, totals, "Elaborado por": rows that
    are not data. A row at the end is one when it is blank, when it opens with a footer
    word and fills fewer cells than data rows do (`typical`, their usual count), or when
    it fills a single cell where data rows fill three or more. They are kept as they are
    and never sampled or placed among.
    """
    i = len(rows)
    while i > 0 and len(rows) - i < MAX_FOOTER:
        cells = [v.strip() for v in rows[i - 1]]
        filled = [v for v in cells if v]
        if filled:
            first = _fold_word(filled[0])
            worded = any(first == w or first.startswith(w + " ") or first.startswith(w + ":")
                         for w in FOOTER_WORDS) or first.startswith("*")  # fmt: skip
            sparse = len(filled) <= 1 and typical >= 3
            if not ((worded and len(filled) < max(typical * 0.6, 2)) or sparse):
                break
        i -= 1
    return i


def typical_filled(rows: list[list[str]]) -> float:
    """The median number of filled cells in `rows` (0 for none)."""
    counts = sorted(sum(1 for v in r if v.strip()) for r in rows)
    return float(counts[len(counts) // 2]) if counts else 0.0


def _fold_word(text: str) -> str:
    t = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in t if not unicodedata.combining(c))
