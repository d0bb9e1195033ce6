"""XLSX copies written by streaming the sheet's XML: every copy in one read of the
workbook, with what refers to the sheet's rows following the inserted ones."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table

import canary.formats._xlsxstream as stream
from canary.formats import CopyTarget, Insertion, open_table

HEADER = ["folio", "nombre", "monto", "fecha"]
ROWS = 40


def maker(row: list[str]):
    return lambda prev, nxt: list(row)


def canary(i: int) -> list[str]:
    return [str(900 + i), f"Canario {i}", "12.5", "2024-02-03"]


def workbook(path: Path) -> None:
    """A sheet with shared strings, styles, a per-row formula, a TOTAL, a defined name,
    merged cells, conditional formatting, a data validation, a table and another sheet
    pointing at it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Padrón"
    ws.append([*HEADER, "doble"])
    for c in ws[1]:
        c.font = Font(bold=True)
    for i in range(ROWS):
        r = i + 2
        ws.append([i + 1, f"Persona {i}", 10.5 + i, dt.datetime(2024, 1, 1 + i % 28), f"=C{r}*2"])
        ws.cell(row=r, column=3).number_format = "#,##0.00"
        ws.cell(row=r, column=4).number_format = "dd/mm/yyyy"
        ws.cell(row=r, column=2).font = Font(italic=True)
    ws.append(["TOTAL", None, f"=SUM(C2:C{ROWS + 1})"])
    ws.append(["Notas"])
    ws.merge_cells(f"A{ROWS + 3}:E{ROWS + 3}")
    ws.conditional_formatting.add(
        f"C2:C{ROWS + 1}", CellIsRule(operator="greaterThan", formula=["30"], fill=None)
    )
    dv = DataValidation(type="whole", operator="greaterThan", formula1="0")
    dv.add(f"A2:A{ROWS + 1}")
    ws.add_data_validation(dv)
    ws.add_table(Table(displayName="Padron", ref=f"A1:E{ROWS + 1}"))
    wb.defined_names["montos"] = DefinedName("montos", attr_text=f"'Padrón'!$C$2:$C${ROWS + 1}")
    other = wb.create_sheet("Resumen")
    other["A1"] = f"='Padrón'!C{ROWS + 2}"
    other["A2"] = "=Padrón!C10"
    wb.save(path)
    wb.close()


def targets_for(out: Path, fractions: list[list[float]]) -> list[CopyTarget]:
    return [
        CopyTarget(
            out / f"c{n}.xlsx",
            [Insertion(f, maker(canary(10 * n + i))) for i, f in enumerate(fs)],
        )
        for n, fs in enumerate(fractions)
    ]


def issue(src: Path, out: Path, fractions: list[list[float]]) -> list[CopyTarget]:
    targets = targets_for(out, fractions)
    open_table(src).write_copies(targets)
    return targets


def test_ten_copies_in_one_read_follow_their_own_rows(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "t.xlsx"
    workbook(src)
    table = open_table(src)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, mode="r", *args, **kw):
        if mode == "r":
            opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, mode, *args, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    fractions = [[0.1 * (n % 9) + 0.05, 0.5, 1.0] for n in range(10)]
    targets = targets_for(tmp_path, fractions)
    table.write_copies(targets)
    monkeypatch.undo()
    assert opened.count("xl/worksheets/sheet1.xml") == 1  # one read for every copy
    assert len({t.sha256 for t in targets}) == 10
    for n, t in enumerate(targets):
        wb = openpyxl.load_workbook(t.path)
        ws = wb["Padrón"]
        at = [p + 2 for p in t.positions]  # sheet rows of the canaries
        assert len(at) == 3 and at[-1] == ROWS + 4  # after the last row, before the TOTAL
        assert sorted(row[1] for row in t.rows) == [f"Canario {10 * n + i}" for i in range(3)]
        for r, row in zip(at, t.rows, strict=True):
            assert [c.value for c in ws[r]][:4] == [
                int(row[0]),
                row[1],
                12.5,
                dt.datetime(2024, 2, 3),
            ]
            assert ws.cell(row=r, column=2).font.italic  # the style of the cell above
            assert ws.cell(row=r, column=3).number_format == "#,##0.00"
            assert ws.cell(row=r, column=4).number_format == "dd/mm/yyyy"
        kept = [
            [c.value for c in row]
            for r, row in enumerate(ws.iter_rows(min_row=2, max_row=ROWS + 4), start=2)
            if r not in at
        ]
        # Every real row is there, its own formula pointing at its own (moved) row.
        for i, row in enumerate(kept):
            assert row[1] == f"Persona {i}"
        for r in range(2, ROWS + 5):
            if r not in at:
                assert ws.cell(row=r, column=5).value == f"=C{r}*2"
        total = ROWS + 5
        assert ws.cell(row=total, column=1).value == "TOTAL"
        assert ws.cell(row=total, column=3).value == f"=SUM(C2:C{total - 1})"
        assert [str(m) for m in ws.merged_cells.ranges] == [f"A{total + 1}:E{total + 1}"]
        assert wb["Resumen"]["A1"].value == f"='Padrón'!C{total}"
        moved = 10 + sum(1 for r in at if r <= 10 + at.index(r))
        assert wb["Resumen"]["A2"].value == f"=Padrón!C{moved}"
        assert wb.defined_names["montos"].attr_text == f"'Padrón'!$C$2:$C${total - 1}"
        assert ws.tables["Padron"].ref == f"A1:E{total - 1}"
        assert [str(r.sqref) for r in ws.conditional_formatting] == [f"C2:C{total - 1}"]
        assert str(ws.data_validations.dataValidation[0].sqref) == f"A2:A{total - 1}"
        wb.close()


CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def package(path: Path, rows: str, strings: list[str] | None = None) -> None:
    """A workbook as Excel writes one (openpyxl writes inline strings only): one sheet
    "Hoja" of `rows` XML, a bold style 1, shared `strings` when given."""
    sst = strings is not None
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            f'ContentType="{CT}.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            f'sheet1.xml" ContentType="{CT}.worksheet+xml"/><Override PartName="/xl/'
            f'styles.xml" ContentType="{CT}.styles+xml"/>'
            + (
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
                if sst
                else ""
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" xmlns:r="{REL}"><sheets><sheet name="Hoja" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/styles" '
            'Target="styles.xml"/>'
            + (
                f'<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                if sst
                else ""
            )
            + "</Relationships>"
        ),
        "xl/styles.xml": (
            '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><fonts count="2"><font/><font><b/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf/>'
            '<xf fontId="1" applyFont="1"/></cellXfs><cellStyles count="1">'
            '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main"><dimension ref="A1:B11"/><sheetData>{rows}</sheetData>'
            "</worksheet>"
        ),
    }
    if strings is not None:
        items = "".join(f"<si><t>{x}</t></si>" if x else "<si/>" for x in strings)
        parts["xl/sharedStrings.xml"] = (
            '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            f'2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
        )
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)


def test_canary_text_goes_to_the_shared_strings(tmp_path: Path) -> None:
    src = tmp_path / "shared.xlsx"
    strings = ["folio", "nombre"] + [f"P{r}" for r in range(2, 12)]
    rows = "".join(
        f'<row r="{r}">'
        + (f'<c r="A{r}" t="s"><v>0</v></c>' if r == 1 else f'<c r="A{r}"><v>{r}</v></c>')
        + f'<c r="B{r}" t="s" s="1"><v>{1 if r == 1 else r}</v></c></row>'
        for r in range(1, 12)
    )
    package(src, rows, strings)
    t = CopyTarget(
        tmp_path / "c.xlsx",
        [Insertion(0.3, maker(["77", "Canario"])), Insertion(0.6, maker(["78", "P5"]))],
    )
    open_table(src).write_copies([t])
    with zipfile.ZipFile(t.path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        sst = z.read("xl/sharedStrings.xml").decode()
    assert "inlineStr" not in sheet
    # A new text is appended, one the table holds ("P5") is shared with its real cell.
    assert 'count="14" uniqueCount="13"' in sst
    assert sst.endswith("<si><t>Canario</t></si></sst>")  # as the source writes its own
    r1, r2 = (p + 2 for p in t.positions)
    assert f'<c r="B{r1}" s="1" t="s"><v>12</v></c>' in sheet
    assert f'<c r="B{r2}" s="1" t="s"><v>5</v></c>' in sheet
    ws = openpyxl.load_workbook(t.path).active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert values[r1 - 2] == [77, "Canario"] and values[r2 - 2] == [78, "P5"]
    assert ws.cell(row=r1, column=2).font.b


def test_an_empty_shared_string_keeps_the_indexes_after_it(tmp_path: Path) -> None:
    src = tmp_path / "empty.xlsx"
    strings = ["folio", "nombre", "", *(f"P{r}" for r in range(3, 12))]
    rows = "".join(
        f'<row r="{r}">'
        + (f'<c r="A{r}" t="s"><v>0</v></c>' if r == 1 else f'<c r="A{r}"><v>{r}</v></c>')
        + f'<c r="B{r}" t="s"><v>{1 if r == 1 else r}</v></c></row>'
        for r in range(1, 12)
    )
    package(src, rows, strings)
    table = open_table(src)
    assert table.sample().rows[:2] == [["2", ""], ["3", "P3"]]
    t = CopyTarget(tmp_path / "c.xlsx", [Insertion(0.5, maker(["77", "Canario"]))])
    table.write_copies([t])
    with zipfile.ZipFile(t.path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert f'<c r="B{t.positions[0] + 2}" t="s"><v>12</v></c>' in sheet
    ws = openpyxl.load_workbook(t.path).active
    assert ws.cell(row=t.positions[0] + 2, column=2).value == "Canario"


def test_a_workbook_of_inline_strings_gets_inline_canaries(tmp_path: Path) -> None:
    src = tmp_path / "inline.xlsx"
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{"folio" if r == 1 else r}</t></is></c>'
        f'<c r="B{r}" t="inlineStr" s="1"><is><t>{"nombre" if r == 1 else f"P{r}"}</t></is></c>'
        "</row>"
        for r in range(1, 12)
    )
    package(src, rows)
    table = open_table(src)
    t = CopyTarget(tmp_path / "c.xlsx", [Insertion(0.5, maker(["77", "Canario & Cía"]))])
    table.write_copies([t])
    with zipfile.ZipFile(t.path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/sharedStrings.xml" not in z.namelist()
    assert '<dimension ref="A1:B12"/>' in sheet
    r = t.positions[0] + 2
    assert f'<c r="B{r}" s="1" t="inlineStr"><is><t>Canario &amp; Cía</t>' in sheet
    ws = openpyxl.load_workbook(t.path).active
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert values.pop(r - 2) == ["77", "Canario & Cía"]  # a column of text
    assert values == [[str(i), f"P{i}"] for i in range(2, 12)]
    assert ws.cell(row=r, column=2).font.b


def test_a_sheet_without_cell_references_goes_through_openpyxl(tmp_path, monkeypatch) -> None:
    src = tmp_path / "t.xlsx"
    workbook(src)

    def refuse(*_a, **_k):
        raise stream.Unsupported("a row or cell without its r reference")

    monkeypatch.setattr(stream, "write_streamed", refuse)
    [t] = issue(src, tmp_path, [[0.5]])
    ws = openpyxl.load_workbook(t.path)["Padrón"]
    r = t.positions[0] + 2
    assert ws.cell(row=r, column=2).value == "Canario 0"
    assert ws.cell(row=ROWS + 3, column=3).value == f"=SUM(C2:C{ROWS + 2})"


def test_chunks_cut_anywhere_give_the_same_copy(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "t.xlsx"
    workbook(src)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [whole] = issue(src, tmp_path / "a", [[0.3, 0.7]])
    monkeypatch.setattr(stream, "CHUNK", 300)  # about a row at a time
    [cut] = issue(src, tmp_path / "b", [[0.3, 0.7]])
    with zipfile.ZipFile(whole.path) as a, zipfile.ZipFile(cut.path) as b:
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


@pytest.mark.parametrize("fraction", [0.0, 0.99])
def test_rows_start_and_end(tmp_path: Path, fraction: float) -> None:
    src = tmp_path / "t.xlsx"
    workbook(src)
    [t] = issue(src, tmp_path, [[fraction]])
    ws = openpyxl.load_workbook(t.path)["Padrón"]
    r = t.positions[0] + 2
    assert ws.cell(row=r, column=2).value == "Canario 0"
    assert ws.max_row == ROWS + 4


def _skeleton(row: str) -> str:
    """A row's XML without its references and values: how its cells are written."""
    return re.sub(r">[^<]+<", "><", re.sub(r' r="[A-Z]*\d+"', "", row))


def test_canary_rows_are_written_as_the_source_writes_its_rows(tmp_path: Path) -> None:
    """openpyxl writes numbers with t="n", strings without xml:space="preserve" and
    letters past ASCII as references ("MU&#209;OZ"): canary rows written with no t,
    with xml:space on every string, "43075.0" for a date and raw UTF-8 were found by a
    grep for "preserve", every one of them."""
    src = tmp_path / "nomina.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["num", "nombre", "alta", "sueldo"])
    for i in range(60):
        ws.append([5000 + 3 * i, f"Muñoz Núñez {i}", dt.datetime(2010, 1, 1 + i % 28), 1000.5 + i])
        ws.cell(row=i + 2, column=3).number_format = "dd/mm/yyyy"
    wb.save(src)
    rows = [
        ["5077", "Peña Álvarez", "2011-05-03", "1200.0"],
        ["5078", "Ibáñez Ruiz", "2012-06-04", "1300.25"],
    ]
    t = CopyTarget(
        tmp_path / "c.xlsx", [Insertion(0.3, maker(rows[0])), Insertion(0.7, maker(rows[1]))]
    )
    open_table(src).write_copies([t])
    with zipfile.ZipFile(src) as z:
        before = z.read("xl/worksheets/sheet1.xml").decode("ascii")
    with zipfile.ZipFile(t.path) as z:
        after = z.read("xl/worksheets/sheet1.xml").decode("ascii")  # no raw UTF-8 either
    real = {_skeleton(r) for r in re.findall(r"<row [^>]*>.*?</row>", before)[1:]}
    rows_after = re.findall(r"<row [^>]*>.*?</row>", after)
    added = [rows_after[p + 1] for p in t.positions]
    assert len(added) == 2 and all(_skeleton(r) in real for r in added), added
    assert "&#241;" in before and "&#193;" in added[0] and "xml:space" not in after
    assert "<v>40666</v>" in added[0] and "<v>1200</v>" in added[0]
