"""Keeping a workbook's formulas and merged cells right when rows are inserted.

openpyxl's `insert_rows` moves cells but not what refers to them: `=SUM(E2:E61)` in a
totals row would still sum E2:E61 after rows were added above it, and a merged range
below the insertion would stay where it was. Excel shifts both; so does this, for
cell and range references to the sheet in every formula of the workbook and for the
sheet's merged ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: A1-style reference part: "$E$2", "E2", "E:E" (whole columns) or "3:5" (whole rows).
_CELL = re.compile(r"^(\$?[A-Za-z]{1,3})?(\$?)(\d+)$")


def shift_rows(wb: Any, sheet: str, at: int, n: int = 1, data_from: int | None = None) -> None:
    """After inserting `n` rows before row `at` of `sheet`: references to rows >= at move down.

    With `data_from` (the sheet's first data row), a range that covers the data from its
    start down to the row just above the insertion also takes in the new rows: a canary
    added after the last row is counted by the TOTAL below, like every other row.
    """
    for ws in wb.worksheets:
        same = ws.title == sheet
        for cell in list(ws._cells.values()):  # only the cells that exist
            v = cell.value
            if isinstance(v, str) and v.startswith("=") and len(v) > 1:
                cell.value = _shift_formula(v, sheet, same, at, n, data_from)
    ws = wb[sheet]
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= at:
            rng.shift(0, n)
        elif rng.max_row >= at:  # the insertion falls inside: the range grows
            rng.expand(down=n)


def _shift_formula(
    formula: str, sheet: str, same: bool, at: int, n: int, data_from: int | None = None
) -> str:
    """`map_formula` for one insertion of `n` rows before row `at`."""
    return map_formula(
        formula,
        sheet,
        same,
        row=lambda r: r + n if r >= at else r,
        grows=lambda last: n if data_from is not None and last == at - 1 else 0,
        data_from=data_from if data_from is not None else 0,
    )


def _row_of(part: str) -> int | None:
    m = _CELL.match(part)
    return int(m.group(3)) if m else None


def map_formula(
    formula: str,
    sheet: str,
    same: bool,
    row: Callable[[int], int],
    grows: Callable[[int], int],
    data_from: int,
) -> str:
    """`formula` ("=...") with its references to `sheet`'s rows moved as `row` maps them,
    all of a copy's inserted rows at once (the streamed writer) or one insertion
    (`_shift_formula`, openpyxl's path).

    `grows(last)` is how many rows were inserted right under row `last`: a range from
    the data's top (row <= data_from) down to `last` takes them in.
    """
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        tokenizer = Tokenizer(formula)
    except Exception:  # a formula openpyxl cannot read is left as it was
        return formula
    changed = False
    for tok in tokenizer.items:
        if tok.type != Token.OPERAND or tok.subtype != Token.RANGE:
            continue
        prefix, _, ref = tok.value.rpartition("!")
        if prefix:
            name = prefix.strip("'").replace("''", "'")
            if name != sheet:
                continue
        elif not same:
            continue
        parts = ref.split(":")
        extra = 0
        if len(parts) == 2:
            first, last = _row_of(parts[0]), _row_of(parts[1])
            if first is not None and last is not None and first <= data_from:
                extra = grows(last)
        mapped = [_map_part(p, row, extra if i == 1 else 0) for i, p in enumerate(parts)]
        new = ":".join(mapped)
        if new != ref:
            tok.value = f"{prefix}!{new}" if prefix else new
            changed = True
    return str(tokenizer.render()) if changed else formula


def _map_part(part: str, row: Callable[[int], int], extra: int) -> str:
    m = _CELL.match(part)
    if not m:
        return part
    col, dollar, r = m.group(1) or "", m.group(2), int(m.group(3))
    return f"{col}{dollar}{row(r) + extra}"
