"""Excel workbooks (.xlsx), through openpyxl.

The copy is the source workbook with rows inserted in one sheet (the first, or the
one named): sheet names, the other sheets, column widths and cell styles stay as they
are. Each canary cell takes the style and number format of the cell above it, and
its text is turned into the type that column holds (numbers stay numbers, dates
dates). The workbook is loaded whole, once per copy (openpyxl cannot stream edits).
"""

from __future__ import annotations

import logging
import zipfile
from copy import copy
from pathlib import Path
from typing import Any

from canary.errors import InputError
from canary.formats._files import Outputs, sha256_file
from canary.formats._needles import NeedleScanner
from canary.formats._values import (
    MAX_PREAMBLE,
    column_kind,
    footer_start,
    from_text,
    header_index,
    place_rows,
    to_text,
    typical_filled,
)
from canary.formats._xlsxrefs import shift_rows
from canary.formats.table import CopyTarget, Progress, Sample

log = logging.getLogger(__name__)


def _load(path: Path, read_only: bool = False) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=read_only, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a bad file
        raise InputError(f"{path} cannot be read as an .xlsx workbook: {exc}") from None


#: Rows at the bottom of a sheet looked at as a possible footer, at most.
MAX_FOOTER = 10


def _footer_rows(rows: list[list[Any]]) -> int:
    """How many of the last rows are a footer: a totals row (a formula, few cells) and
    any note rows (one cell) around it.

    A row of data can hold a formula too (a computed column), but then most of its
    cells are filled; a totals row has a label and a sum or two. Without a totals row
    nothing is taken for a footer.
    """
    found = 0
    for i, row in enumerate(reversed(rows[-MAX_FOOTER:]), start=1):
        filled = [v for v in row if v is not None and str(v).strip()]
        formula = any(isinstance(v, str) and v.startswith("=") for v in filled)
        if formula and len(filled) <= len(row) / 2:
            found = i
        elif len(filled) > 1:
            break
    return found if found < len(rows) else 0


class XlsxTable:
    """One sheet of an .xlsx workbook; the first row with two or more cells is the header."""

    format = "xlsx"

    def __init__(self, path: str | Path, sheet: str | None = None) -> None:
        self.path = Path(path)
        self.source = str(path)
        # Read-only for the sheet names; the values are read from the sheet's XML
        # (_xlsxstream.read_values: openpyxl's cell-by-cell parse took 40 s on 200,000
        # rows), through openpyxl where that reader cannot say the same.
        from canary.formats._xlsxstream import Unsupported, read_values, sheet_names

        values: list[list[Any]] | None = None
        try:
            names = sheet_names(self.path)
            if sheet is None or sheet in names:
                values = read_values(self.path, sheet or names[0])
        except (Unsupported, KeyError, ValueError, IndexError, OSError, zipfile.BadZipFile) as exc:
            log.info("%s: %s; reading it through openpyxl", self.path, exc)
            values = None
        if values is None:
            wb = _load(self.path, read_only=True)
            try:
                names = list(wb.sheetnames)
                if sheet is not None and sheet not in names:
                    raise InputError(
                        f"{self.path} has no sheet {sheet!r}; its sheets are: {', '.join(names)}"
                    )
                values = [list(r) for r in wb[sheet or names[0]].iter_rows(values_only=True)]
            finally:
                wb.close()
        self.sheet = sheet or names[0]
        while values and all(v is None for v in values[-1]):
            values.pop()
        if not values:
            raise InputError(f"sheet {self.sheet!r} of {self.path} is empty")
        width = max(len(r) for r in values)
        #: Sheet rows above the header (a title, a date line) stay as they are.
        self.header_row = header_index(
            [[to_text(v) for v in r] for r in values[: MAX_PREAMBLE + 1]]
        )
        values = values[self.header_row :]
        header = values[0] + [None] * (width - len(values[0]))
        while header and header[-1] is None:
            header.pop()
        if not header:
            raise InputError(
                f"sheet {self.sheet!r} of {self.path}: the first row must be the header"
            )
        self.header = [to_text(h) for h in header]
        self.values = [(r + [None] * width)[: len(header)] for r in values[1:]]
        #: Rows under the data (a TOTAL row with =SUM(...), notes) stay under it.
        self.footer = _footer_rows(self.values)
        # ...and blank rows, sources, notes and "Elaborado por" lines, as under a CSV.
        texts = [[to_text(v) for v in r] for r in self.values[-MAX_FOOTER - 10 :]]
        typical = typical_filled([[to_text(v) for v in r] for r in self.values[:300]])
        worded = len(texts) - footer_start(texts, typical)
        if worded < len(self.values):
            self.footer = max(self.footer, worded)
        if self.footer:
            self.values = self.values[: -self.footer]
        if not self.values:
            raise InputError(f"sheet {self.sheet!r} of {self.path} has a header but no data rows")
        cols = list(zip(*self.values, strict=True))
        self.kinds = [column_kind(list(c)) for c in cols]

    def size(self) -> int:
        return len(self.values)

    def source_sha256(self) -> str | None:
        return sha256_file(self.path)

    def _text(self, i: int) -> list[str]:
        return [to_text(v) for v in self.values[i]]

    def sample(self, limit: int = 20000) -> Sample:
        rows = [self._text(i) for i in range(min(limit, len(self.values)))]
        return Sample(
            header=list(self.header),
            rows=rows,
            complete=len(rows) == len(self.values),
            row_count=len(self.values),
            info={"sheet": self.sheet, "kinds": ",".join(self.kinds)},
        )

    def write_copies(self, targets: list[CopyTarget], progress: Progress | None = None) -> None:
        """Every copy in one read of the workbook, streamed (canary/formats/_xlsxstream.py);
        through openpyxl, a copy at a time, when the sheet's XML is not one it can follow."""
        from canary.formats._xlsxstream import CopyPlan, Unsupported, write_streamed

        scanner = NeedleScanner([n for t in targets for n in t.needles], "utf-8")
        scanner.scan_text("\x00".join(to_text(v) for r in self.values for v in r))
        with Outputs([t.path for t in targets], self.path) as outputs:
            placed = [place_rows(t, len(self.values), self._text) for t in targets]
            plans = [
                CopyPlan(
                    [(self.header_row + k + 2, self._cell_values(k, row)) for k, row in p], tmp
                )
                for p, tmp in zip(placed, outputs.temps, strict=True)
            ]
            try:
                write_streamed(self.path, self.sheet, self.header_row + 2, plans)
            except Unsupported as exc:
                log.info("%s: %s; copying through openpyxl", self.path, exc)
                self._write_openpyxl(placed, outputs.temps)
            for t, tmp in zip(targets, outputs.temps, strict=True):
                t.sha256 = sha256_file(tmp)
            if progress:
                progress(len(self.values))
            outputs.commit()

    def _write_openpyxl(self, placed: list[list[tuple[int, list[str]]]], temps: list[Path]) -> None:
        for rows, tmp in zip(placed, temps, strict=True):
            wb = _load(self.path)
            try:
                ws = wb[self.sheet]
                for k, row in reversed(rows):
                    self._insert(ws, k, row)
                wb.save(tmp)
            finally:
                wb.close()

    def _cell_values(self, k: int, row: list[str]) -> list[Any]:
        """A canary's cells before data row k, typed as the column (and the cell above) are."""
        above = self.values[k - 1] if k >= 1 else [None] * len(self.header)
        out: list[Any] = []
        for c, text in enumerate(row[: len(self.header)]):
            out.append(self._typed(c, text, above[c] if k >= 1 else self.header[c]))
        return out

    def _typed(self, c: int, text: str, ref: Any) -> Any:
        kind = self.kinds[c]
        if ref is not None:
            kind = column_kind([ref]) if kind == "str" else kind
        value = from_text(text, kind)
        if isinstance(value, dict | list):
            value = text
        return value

    def _insert(self, ws: Any, k: int, row: list[str]) -> None:
        """Insert a row before data row k (sheet row k + 2 below the header), styled like
        the row above."""
        at = self.header_row + k + 2
        ws.insert_rows(at)
        shift_rows(ws.parent, ws.title, at, data_from=self.header_row + 2)
        above = at - 1
        height = ws.row_dimensions[above].height
        if height is not None:
            ws.row_dimensions[at].height = height
        for c, text in enumerate(row[: len(self.header)], start=1):
            ref = ws.cell(row=above, column=c)
            cell = ws.cell(row=at, column=c)
            value = self._typed(c - 1, text, ref.value)
            cell.value = value
            if ref.has_style:
                cell._style = copy(ref._style)
