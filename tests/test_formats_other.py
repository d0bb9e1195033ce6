"""JSON, JSON Lines, XLSX and SQL tables: copies keep the format, types and the rest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from canary.errors import InputError
from canary.formats import Collision, CopyTarget, Insertion, open_table
from canary.formats._values import RawFloat
from tests.conftest import pg_schema_url


def people(n: int) -> list[dict]:
    return [
        {
            "id": i + 1,
            "nombre": ["Peña", "Ñuñoa", "Ana"][i % 3],
            "monto": round(100.5 + i, 2),
            "activo": i % 2 == 0,
            "nota": None if i % 4 == 0 else f"n{i}",
        }
        for i in range(n)
    ]


def maker(row: list[str], calls: list | None = None):
    def make(prev, nxt):
        if calls is not None:
            calls.append((prev, nxt))
        return list(row)

    return make


CANARY = ["1000", "Canario Pérez", "77.25", "true", ""]


def test_json_copy_keeps_types_order_and_indentation(tmp_path):
    src = tmp_path / "t.json"
    objs = people(30)
    src.write_text(json.dumps(objs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = open_table(src)
    s = table.sample()
    assert s.header == ["id", "nombre", "monto", "activo", "nota"]
    assert s.rows[0] == ["1", "Peña", "100.5", "true", ""]
    calls: list = []
    t = CopyTarget(tmp_path / "c.json", [Insertion(0.5, maker(CANARY, calls))])
    table.write_copies([t])
    text = t.path.read_text(encoding="utf-8")
    assert text.startswith('[\n  {\n    "id": 1,') and text.endswith("]\n")
    got = json.loads(text)
    pos = t.positions[0]
    assert got[pos] == {
        "id": 1000,
        "nombre": "Canario Pérez",
        "monto": 77.25,
        "activo": True,
        "nota": None,
    }
    assert list(got[pos]) == list(objs[0])
    assert got[:pos] + got[pos + 1 :] == objs
    assert calls[0] == (s.rows[pos - 1], s.rows[pos])
    assert t.sha256 == hashlib.sha256(t.path.read_bytes()).hexdigest()


def test_jsonl_untouched_lines_are_byte_identical(tmp_path):
    src = tmp_path / "t.jsonl"
    lines = [json.dumps(o, ensure_ascii=False) for o in people(40)]
    original = ("\n".join(lines) + "\n").encode()
    src.write_bytes(original)
    table = open_table(src)
    assert table.sample().complete
    targets = [
        CopyTarget(tmp_path / f"c{k}.jsonl", [Insertion(f, maker(CANARY)) for f in (0.2, 0.6)])
        for k in range(2)
    ]
    table.write_copies(targets)
    for t in targets:
        copy = t.path.read_bytes().splitlines(keepends=True)
        inserted = [copy[p] for p in t.positions]
        assert all(
            json.loads(x)["monto"] == 77.25 and json.loads(x)["id"] == 1000 for x in inserted
        )
        kept = [x for i, x in enumerate(copy) if i not in t.positions]
        assert b"".join(kept) == original
        assert t.rows == [CANARY, CANARY]


def test_json_bad_inputs(tmp_path):
    for name, content, msg in [
        ("a.json", "", "is empty"),
        ("b.json", '{"a": 1}', "array of objects"),
        ("c.json", "[]", "empty array"),
        ("d.json", '[{"a": 1},', "invalid JSON"),
        ("e.jsonl", '{"a": 1}\n[1]\n', "line 2 is not a JSON object"),
    ]:
        p = tmp_path / name
        p.write_text(content)
        with pytest.raises(InputError, match=msg):
            open_table(p).sample()


def make_workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Padrón"
    ws.append(["folio", "nombre", "monto", "fecha"])
    for i in range(20):
        ws.append([i + 1, f"Persona {i}", 10.5 * i, dt.datetime(2024, 1, 1 + i)])
        ws.cell(row=i + 2, column=4).number_format = "dd/mm/yyyy"
        ws.cell(row=i + 2, column=3).number_format = "#,##0.00"
    ws.column_dimensions["B"].width = 33
    other = wb.create_sheet("Notas")
    other.append(["no", "tocar"])
    other.column_dimensions["A"].width = 12
    wb.save(path)
    wb.close()


def test_xlsx_copy_keeps_sheets_widths_and_types(tmp_path):
    src = tmp_path / "t.xlsx"
    make_workbook(src)
    table = open_table(src)
    s = table.sample()
    assert s.header == ["folio", "nombre", "monto", "fecha"]
    assert s.rows[1] == ["2", "Persona 1", "10.5", "2024-01-02"]
    t = CopyTarget(
        tmp_path / "c.xlsx", [Insertion(0.5, maker(["500", "Canario", "12.5", "2024-02-03"]))]
    )
    table.write_copies([t])
    wb = openpyxl.load_workbook(t.path)
    try:
        assert wb.sheetnames == ["Padrón", "Notas"]
        ws = wb["Padrón"]
        assert ws.max_row == 22
        assert ws.column_dimensions["B"].width == 33
        r = t.positions[0] + 2
        assert [c.value for c in ws[r]] == [500, "Canario", 12.5, dt.datetime(2024, 2, 3)]
        assert ws.cell(row=r, column=4).number_format == "dd/mm/yyyy"
        assert ws.cell(row=r, column=3).number_format == "#,##0.00"
        assert [c.value for c in wb["Notas"][1]] == ["no", "tocar"]
        assert wb["Notas"].column_dimensions["A"].width == 12
        kept = [
            [c.value for c in row]
            for i, row in enumerate(ws.iter_rows(min_row=2))
            if i != t.positions[0]
        ]
        assert kept[5][1] == "Persona 5" and len(kept) == 20
    finally:
        wb.close()


def test_xlsx_named_and_missing_sheet(tmp_path):
    src = tmp_path / "t.xlsx"
    make_workbook(src)
    with pytest.raises(InputError, match="no sheet 'Hoja1'.*Padrón, Notas"):
        open_table(src, sheet="Hoja1")
    with pytest.raises(InputError, match="header but no data rows"):
        open_table(src, sheet="Notas")


def make_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("create table padron (id integer primary key, nombre text, monto real, alta date)")
    con.execute("create table otra (x text)")
    con.executemany(
        "insert into padron values (?, ?, ?, ?)",
        [(i * 10, f"Persona {i}", i * 1.5, f"2024-01-{1 + i % 28:02d}") for i in range(1, 51)],
    )
    con.execute("insert into otra values ('intacta')")
    con.commit()
    con.close()


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def between(prev, nxt):
    """A canary whose id sits between its neighbours' (None when they are adjacent)."""
    lo = int(prev[0])
    hi = int(nxt[0]) if nxt else lo + 10
    if hi - lo < 2:
        return None
    return [str(lo + 1), "Canario", "3.5", "2024-05-06"]


def test_sqlite_file_copy_inserts_into_the_table(tmp_path):
    src = tmp_path / "t.sqlite"
    make_sqlite(src)
    before = src.read_bytes()
    table = open_table(src, table="padron")
    assert table.sample().row_count == 50
    t = CopyTarget(tmp_path / "c.sqlite", [Insertion(0.3, between), Insertion(0.7, between)])
    table.write_copies([t])
    assert src.read_bytes() == before
    ids = [r[0] for r in sqlite_rows(t.path, "select id from padron order by id")]
    assert len(ids) == 52
    canaries = sqlite_rows(
        t.path, "select id, nombre, monto, alta from padron where nombre = 'Canario'"
    )
    assert len(canaries) == 2
    assert all(isinstance(c[0], int) and c[2] == 3.5 for c in canaries)
    assert [ids.index(c[0]) for c in sorted(canaries)] == t.positions
    assert sqlite_rows(t.path, "select * from otra") == [("intacta",)]


def test_sqlite_missing_table_lists_the_tables(tmp_path):
    src = tmp_path / "t.db"
    make_sqlite(src)
    with pytest.raises(InputError, match="no table 'people'.*otra, padron"):
        open_table(src, table="people")
    with pytest.raises(InputError, match="several tables: name one with --table .otra, padron"):
        open_table(src)


def test_a_sqlite_file_of_one_table_needs_no_table_named(tmp_path):
    """A customer list saved as a SQLite file of one table was refused without --table."""
    src = tmp_path / "clientes.sqlite"
    with sqlite3.connect(src) as conn:
        conn.execute("CREATE TABLE clientes (id INTEGER PRIMARY KEY, nombre TEXT)")
        conn.executemany("INSERT INTO clientes (nombre) VALUES (?)", [("Ana",), ("Luis",)])
    assert open_table(src).sample().header == ["id", "nombre"]
    empty = tmp_path / "vacia.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(InputError, match="holds no table"):
        open_table(empty)


def check_url_copy(url: str, tmp_path: Path) -> None:
    table = open_table(url, table="padron")
    s = table.sample()
    assert s.header == ["id", "nombre", "monto", "alta"] and s.row_count == 50
    targets = [
        CopyTarget(
            tmp_path / f"c{k}.sqlite", [Insertion(0.2 + k / 10, between), Insertion(0.8, between)]
        )
        for k in range(2)
    ]
    table.write_copies(targets)
    for t in targets:
        rows = sqlite_rows(t.path, "select id, nombre, monto from padron order by rowid")
        assert len(rows) == 52
        ids = [r[0] for r in rows]
        assert ids == sorted(ids)  # canaries sit in key order among the rows
        assert [i for i, r in enumerate(rows) if r[1] == "Canario"] == t.positions
        assert all(isinstance(r[0], int) for r in rows)
        assert t.sha256 == hashlib.sha256(t.path.read_bytes()).hexdigest()


def test_sqlalchemy_url_source_becomes_a_sqlite_copy(tmp_path):
    src = tmp_path / "src.sqlite"
    make_sqlite(src)
    check_url_copy(f"sqlite:///{src}", tmp_path)


@pytest.mark.postgres
def test_postgresql_url_source(tmp_path):
    gen = pg_schema_url()
    url = next(gen)
    try:
        eng = sa.create_engine(url)
        with eng.begin() as c:
            c.execute(
                sa.text(
                    "create table padron"
                    " (id integer primary key, nombre text, monto float, alta date)"
                )
            )
            for i in range(1, 51):
                c.execute(
                    sa.text("insert into padron values (:i, :n, :m, :a)"),
                    {
                        "i": i * 10,
                        "n": f"Persona {i}",
                        "m": i * 1.5,
                        "a": dt.date(2024, 1, 1 + i % 28),
                    },
                )
        eng.dispose()
        check_url_copy(url, tmp_path)
        alta = sqlite_rows(
            tmp_path / "c0.sqlite", "select alta from padron where nombre = 'Canario'"
        )
        assert alta[0][0] == "2024-05-06"
    finally:
        gen.close()


def test_collision_in_typed_formats_leaves_nothing(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(people(10)))
    out = tmp_path / "out"
    out.mkdir()
    t = CopyTarget(out / "c.json", [Insertion(0.5, maker(CANARY))], needles=["Ñuñoa"])
    with pytest.raises(Collision):
        open_table(src).write_copies([t])
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("12", "int", 12),
        ("1,234.50", "float", RawFloat("1234.50")),
        ("93916,70", "float", RawFloat("93916.70")),
        ("93916.70", "float", RawFloat("93916.70")),
        ("7", "float", 7),
        ("abc", "float", "abc"),
        ("true", "bool", True),
        ("", "int", None),
        ("2024-02-03", "datetime", dt.datetime(2024, 2, 3)),
        ("03/02/2024", "date", dt.date(2024, 2, 3)),
        ('{"a": 1}', "json", {"a": 1}),
        ("0012", "str", "0012"),
    ],
)
def test_canary_text_becomes_the_column_type(text, kind, value):
    from canary.formats._values import from_text

    got = from_text(text, kind)
    assert got == value and type(got) is type(value)
    if isinstance(value, RawFloat):  # written back as the column writes it
        assert got.text == value.text


def test_header_index_skips_titles_but_not_an_unnamed_first_column() -> None:
    from canary.formats._values import header_index

    title = [["REGISTRO 2024", "", ""], ["Corte: 15/03/2024", "", ""], ["", "", ""]]
    assert header_index([*title, ["folio", "nombre", "correo"], ["1", "a", "b"]]) == 3
    assert header_index([["", "correo"], ["0", "ana@x.mx"]]) == 0  # a pandas index column
    assert header_index([["correo"], ["ana@x.mx"]]) == 0  # one column
    assert header_index([["folio", "nombre"], ["1", "a"]]) == 0


def test_json_canary_amounts_are_floats_where_the_column_writes_floats(tmp_path):
    # An export that writes every amount as a float ("200.0"): a canary's "200" went in
    # as the integer 200, the one int in the column. A column mixing ints and floats
    # keeps whole numbers as ints.
    src = tmp_path / "t.json"
    objs = [
        {"id": i, "monto": float([50, 100, 200][i % 3]), "mix": [1, 2.5][i % 2]} for i in range(30)
    ]
    src.write_text(json.dumps(objs, indent=2), encoding="utf-8")
    table = open_table(src)
    t = CopyTarget(tmp_path / "c.json", [Insertion(0.5, maker(["999", "200", "3"]))])
    table.write_copies([t])
    got = json.loads(t.path.read_text(encoding="utf-8"))[t.positions[0]]
    assert got == {"id": 999, "monto": 200.0, "mix": 3}
    assert isinstance(got["monto"], float) and isinstance(got["mix"], int)
    assert '"monto": 200.0' in t.path.read_text(encoding="utf-8")

    lines = tmp_path / "t.jsonl"
    lines.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    table = open_table(lines)
    table.sample()
    t = CopyTarget(tmp_path / "c.jsonl", [Insertion(0.5, maker(["999", "200", "3"]))])
    table.write_copies([t])
    written = [json.loads(x) for x in t.path.read_text(encoding="utf-8").splitlines()]
    assert isinstance(written[t.positions[0]]["monto"], float)


def _one_per_line(objs: list[dict]) -> str:
    return "[\n  " + ",\n  ".join(json.dumps(o, ensure_ascii=False) for o in objs) + "\n]\n"


@pytest.mark.parametrize(
    "write",
    [
        _one_per_line,  # an export of one object per line: reformatted whole before
        lambda objs: json.dumps(objs),
        lambda objs: (
            "[\n\t" + ",\n\t".join(json.dumps(o, separators=(",", ":")) for o in objs) + "\n]"
        ),
        lambda objs: json.dumps(objs, indent=4, ensure_ascii=False) + "\n",
    ],
)
def test_a_json_arrays_elements_are_kept_as_written(tmp_path, write):
    """Written back whole in a style guessed from the start of the file, an array of one
    object per line came out indented over several lines: every real row changed, which
    the copy's contract forbids. Each element is now kept byte for byte, canaries
    written in their neighbour's style."""
    objs = people(30)
    text = write(objs)
    src = tmp_path / "t.json"
    src.write_text(text, encoding="utf-8")
    table = open_table(src)
    table.sample()
    t = CopyTarget(tmp_path / "c.json", [Insertion(f, maker(CANARY)) for f in (0.0, 0.5, 1.0)])
    table.write_copies([t])
    copy = t.path.read_text(encoding="utf-8")
    got = json.loads(copy)
    assert [o for i, o in enumerate(got) if i not in t.positions] == objs
    assert all(got[k]["nombre"] == "Canario Pérez" for k in t.positions)
    at = 0
    decoder = json.JSONDecoder()
    for _ in objs:  # each element's own text, as the source writes it
        start = text.index("{", at)
        _obj, end = decoder.raw_decode(text, start)
        assert text[start:end] in copy, text[start:end]
        at = end
    if "\n" not in text.strip():
        assert "\n" not in copy.strip()


def test_json_numbers_keep_the_decimals_they_are_written_with(tmp_path):
    """Parsed as floats, a JSON export's "saldo": 0.00 came back 0.0 in every row of an
    array's copy, and a JSON Lines copy's canaries had 0.0 and 247.4 among 0.00s."""
    lines = [
        f'{{"id": {i}, "saldo": {["0.00", "12.50", "-131.32", "1000.00"][i % 4]}}}'
        for i in range(40)
    ]
    array = tmp_path / "t.json"
    array.write_text("[\n  " + ",\n  ".join(lines) + "\n]\n", encoding="utf-8")
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for src in (array, jsonl):
        table = open_table(src)
        assert table.sample().rows[0] == ["0", "0.00"]
        t = CopyTarget(tmp_path / f"c{src.suffix}", [Insertion(0.5, maker(["999", "247.40"]))])
        table.write_copies([t])
        copy = t.path.read_text(encoding="utf-8")
        assert copy.count('"saldo": 0.00') == 10
        assert '"saldo": 247.40' in copy


def test_header_index_passes_a_row_of_group_labels_above_the_names() -> None:
    from canary.formats._values import header_index

    groups = ["DATOS PERSONALES", "", "", "CONTACTO", "", "NÓMINA"]
    names = ["NÚM. EMPLEADO", "NOMBRE", "FECHA NAC.", "CORREO", "CELULAR", "SUELDO"]
    data = [[str(1000 + i), f"Persona {i}", f"0{1 + i % 9}/03/1990", f"p{i}@x.mx",
             f"84412345{i:02d}", "15600.50"] for i in range(10)]  # fmt: skip
    assert header_index([groups, names, *data]) == 1
    assert header_index([["REPORTE DE NÓMINA"], [], groups, names, *data]) == 3
    # a header naming a few of its columns stays the header of its data rows
    assert header_index([["ID", "", "NOMBRE", "", "", ""], *data]) == 0
    assert header_index([names, *data]) == 0
