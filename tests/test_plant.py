"""Issuing copies end to end: files, register, canaries, failures that leave nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from canary.config import Config
from canary.errors import InputError
from canary.formats._values import to_text
from canary.identifiers import normalize_phone
from canary.issue.plant import IssueRequest, issue_copies
from canary.store import register as registry
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Identifier

HEADER = ["folio", "nombre", "apellido_paterno", "correo", "celular", "municipio", "monto"]
NAMES = [
    ("María", "López", "Saltillo"),
    ("José", "Hernández", "Torreón"),
    ("Guadalupe", "García", "Monclova"),
    ("Juan", "Martínez", "Saltillo"),
    ("Ana", "Rodríguez", "Piedras Negras"),
]


def make_csv(path: Path, rows: int = 300, *, crlf: bool = True, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerow(HEADER)
    w.writerows(_rows(rows, uneven=True))
    data = buf.getvalue().encode(encoding)
    path.write_bytes(data)
    return data


@pytest.fixture
def ready(store: Store) -> Store:
    registry.add_domain(store, "correo-avisos.mx")
    registry.add_domain(store, "buzon-mx.com")
    for i in range(12):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    return store


def strip_rows(copy: bytes, canary_rows: list[list[str]]) -> bytes:
    """The copy minus the lines holding the canaries' emails (all single-line records here)."""
    lines = copy.split(b"\r\n")
    keep = [ln for ln in lines if not any(r[3] and r[3].encode() in ln for r in canary_rows)]
    return b"\r\n".join(keep)


def test_issue_three_copies(ready: Store, tmp_path: Path) -> None:
    src = tmp_path / "registro.csv"
    original = make_csv(src)
    out = tmp_path / "out"
    copies = issue_copies(
        ready,
        Config(),
        IssueRequest(
            str(src), ["Ana Pérez", "Vendor SA", "Auditoría"], purpose="test", out_dir=out, seed=7
        ),
    )
    assert src.read_bytes() == original
    assert len(copies) == 3 and len({c.id for c in copies}) == 3
    real_emails = {ln.split(",")[3] for ln in original.decode().splitlines()[1:]}
    all_emails: list[str] = []
    with ready.session() as s:
        for c in copies:
            data = Path(c.path).read_bytes()
            assert c.canaries >= 3
            cans = s.scalars(select(Canary).where(Canary.copy_id == c.id)).all()
            rows = [[can.values[h] for h in HEADER] for can in cans]
            assert strip_rows(data, rows) == original
            emails = [can.values["correo"] for can in cans]
            all_emails += [e.lower() for e in emails]
            assert not set(e.lower() for e in emails) & real_emails
            assert all(e.split("@")[1] in {"correo-avisos.mx", "buzon-mx.com"} for e in emails)
            positions = sorted(can.position for can in cans if can.position is not None)
            assert positions and positions[0] < 290  # not all at the end
        assert len(all_emails) == len(set(all_emails))
        phones = s.scalars(select(Identifier.value).where(Identifier.kind == "phone")).all()
        assert phones and all(p.startswith("+52844555") for p in phones)
        controls = s.scalar(select(func.count()).where(Canary.kind == "control"))
        assert controls and controls > 0


def test_issue_json_cli(ready: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from canary.cli import app

    src = tmp_path / "clientes.csv"
    make_csv(src, 50)
    monkeypatch.setenv("CANARY_DB_URL", str(ready.engine.url.render_as_string(hide_password=False)))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["issue", str(src), "-r", "A", "-r", "B", "--json", "-o", "o"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [c["recipient"] for c in doc["copies"]] == ["A", "B"]
    assert set(doc["copies"][0]) == {"id", "recipient", "path", "canaries", "sha256"}


def test_small_phone_pool_gives_distinct_sets(store: Store, tmp_path: Path) -> None:
    registry.add_domain(store, "correo-avisos.mx")
    registry.add_phone(store, "+52 844 555 0001", "twilio")
    registry.add_phone(store, "+52 844 555 0002", "twilio")
    src = tmp_path / "r.csv"
    make_csv(src, 40)
    copies = issue_copies(
        store, Config(), IssueRequest(str(src), ["A", "B", "C"], out_dir=tmp_path / "o", seed=1)
    )
    with store.session() as s:
        sets = []
        for c in copies:
            vals = s.scalars(
                select(Identifier.value)
                .join(Canary)
                .where(Canary.copy_id == c.id, Identifier.kind == "phone")
            ).all()
            sets.append(frozenset(vals))
    assert len(set(sets)) == 3


def test_failures_leave_nothing(ready: Store, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    make_csv(src, 20)
    out = tmp_path / "o"
    out.mkdir()
    (out / "r.b.csv").write_text("already here")
    with pytest.raises(InputError, match="already exists"):
        issue_copies(ready, Config(), IssueRequest(str(src), ["A", "B"], out_dir=out))
    assert sorted(p.name for p in out.iterdir()) == ["r.b.csv"]
    with ready.session() as s:
        assert s.scalar(select(func.count()).select_from(Copy)) == 0
    with pytest.raises(InputError, match="distinct"):
        issue_copies(ready, Config(), IssueRequest(str(src), ["A", "a"], out_dir=out))


def test_missing_domain_is_a_clear_error(sqlite_store: Store, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    make_csv(src, 20)
    with pytest.raises(InputError, match="canary domain add"):
        issue_copies(sqlite_store, Config(), IssueRequest(str(src), ["A"], out_dir=tmp_path / "o"))


def _rows(n: int, *, uneven: bool = False) -> list[list[str]]:
    """Registry rows sorted by folio; `uneven` leaves gaps of 3 and 4, as real ones have."""
    rows = []
    for i in range(n):
        first, last, town = NAMES[i % len(NAMES)]
        rows.append(
            [
                f"F-{3 * i + 1 + (i % 2 if uneven else 0):05d}",
                first,
                last,
                f"{first.lower()}.{last.lower()}{i}@gmail.com".encode("ascii", "ignore").decode(),
                f"(844) {100 + i % 900:03d}-{1000 + i:04d}",
                town,
                f"{(i * 37) % 1000}.{i % 100:02d}",
            ]
        )
    return rows


def write_source(kind: str, path_base: Path, n: int = 120) -> tuple[Path, str | None]:
    """The same table as .xlsx, .json, .jsonl or a SQLite file."""
    rows = _rows(n)
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "Registro"
        ws.append(HEADER)
        for r in rows:
            ws.append([*r[:6], float(r[6])])
        wb.create_sheet("Notas").append(["no tocar"])
        p = path_base.with_suffix(".xlsx")
        wb.save(p)
        return p, None
    if kind in ("json", "jsonl"):
        docs = [dict(zip(HEADER, [*r[:6], float(r[6])], strict=True)) for r in rows]
        p = path_base.with_suffix("." + kind)
        if kind == "json":
            p.write_text(json.dumps(docs, ensure_ascii=False, indent=2), encoding="utf-8")
        else:
            p.write_text(
                "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8"
            )
        return p, None
    import sqlite3

    p = path_base.with_suffix(".sqlite")
    con = sqlite3.connect(p)
    con.execute(
        "create table registro (folio text primary key, nombre text, apellido_paterno text, "
        "correo text, celular text, municipio text, monto real)"
    )
    con.executemany(
        "insert into registro values (?,?,?,?,?,?,?)", [[*r[:6], float(r[6])] for r in rows]
    )
    con.commit()
    con.close()
    return p, "registro"


@pytest.mark.parametrize("kind", ["xlsx", "json", "jsonl", "sqlite"])
def test_issue_every_format_and_identify_the_copy(ready: Store, tmp_path: Path, kind: str) -> None:
    from canary.investigate.identify import identify

    src, table = write_source(kind, tmp_path / "registro")
    before = src.read_bytes()
    copies = issue_copies(
        ready,
        Config(),
        IssueRequest(str(src), ["A", "B"], out_dir=tmp_path / "o", table=table, seed=3),
    )
    assert src.read_bytes() == before
    assert [Path(c.path).suffix for c in copies] == [src.suffix, src.suffix]
    for c in copies:
        assert c.canaries >= 3
        found = identify(ready, c.path)
        assert found["copies"][0]["id"] == c.id
        assert found["copies"][0]["matched"] >= c.canaries


def test_gapless_sorted_folios_continue_at_the_end(ready: Store, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    original = make_csv(src, 200)
    text = original.decode().replace("\r\n", "\n").splitlines()
    dense = [text[0]] + [f"F-{i + 1:05d}," + ln.split(",", 1)[1] for i, ln in enumerate(text[1:])]
    src.write_bytes(("\r\n".join(dense) + "\r\n").encode())
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=4, out_dir=tmp_path / "o")
    )
    assert copy.canaries == 4
    lines = Path(copy.path).read_bytes().decode().splitlines()
    folios = [ln.split(",", 1)[0] for ln in lines[1:]]
    assert folios == sorted(folios) and len(set(folios)) == len(folios) == 204
    assert folios[:200] == [f"F-{i + 1:05d}" for i in range(200)]  # real rows first, in order
    assert all(f > "F-00200" for f in folios[-4:])


def test_numbered_accented_addresses_get_canaries_on_our_domains(
    ready: Store, tmp_path: Path
) -> None:
    # "núria.17@gmail.com", "íñigo.18@...": numbered in order and half with accents, as
    # form data often is; the canaries must still be addresses at the canary domains,
    # among the rows, not a continuation of the numbering at the end.
    names = ["josé", "maría", "núria", "íñigo", "begoña", "andrés"]
    lines = ["Nombre;Email"] + [
        f"{names[i % 6].title()};{names[i % 6]}.{i}@gmail.com" for i in range(300)
    ]
    src = tmp_path / "socios.csv"
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=5, out_dir=tmp_path / "o")
    )
    out = Path(copy.path).read_bytes().decode("cp1252").splitlines()
    added = [(i, ln) for i, ln in enumerate(out) if ln not in set(lines)]
    assert len(added) == 5
    domains = ("@correo-avisos.mx", "@buzon-mx.com")
    assert all(ln.split(";")[1].endswith(domains) for _, ln in added), added
    assert any(i < len(out) - 5 for i, _ in added)  # not all after the last real row


def test_places_spread_when_numbers_have_no_area_code() -> None:
    """Costa Rican mobiles carry no area code: canaries' places follow the whole table,
    not the few rows whose numbers happen to start with the same digits."""
    import random

    from canary.formats import open_table
    from canary.synth.canaries import CanaryFactory
    from canary.synth.infer import infer_schema
    from canary.synth.profiles import demo_dataset

    sample = open_table(demo_dataset("clientes.csv")).sample()
    factory = CanaryFactory(
        infer_schema(sample),
        sample,
        domains=["x.cr"],
        rng=random.Random(1),
        email_taken=lambda _a: False,
    )
    col = sample.header.index("canton")
    rows = [
        factory.make_row(factory.persona(), phone="+50683123456", prev=None, next=None)
        for _ in range(200)
    ]
    real = {r[col] for r in sample.rows}
    assert len({r[col] for r in rows if r}) >= 0.6 * len(real)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_nested_records_get_canaries_field_by_field(ready: Store, tmp_path: Path, fmt: str) -> None:
    # Objects inside records are planted field by field (an address at a canary domain
    # inside "contacto"), and a varied list is never copied from a real record.
    rng = random.Random(4)
    given = ["Ana", "Luis", "Rosa", "Iván", "Carmen", "Jorge", "Lucía", "Pedro"]
    recs = []
    for i in range(150):
        g = given[i % len(given)]
        recs.append(
            {
                "folio": f"EXP-{2000 + i * 5}",
                "persona": {
                    "nombre": g,
                    "contacto": {
                        "correo": f"{g.lower()}{rng.randint(100, 999)}@hotmail.com",
                        "celular": f"844 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    },
                },
                "otros": [f"871 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"],
            }
        )
    src = tmp_path / f"exp.{fmt}"
    if fmt == "json":
        src.write_text(json.dumps(recs, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=4, out_dir=tmp_path / "o")
    )
    text = Path(copy.path).read_text(encoding="utf-8")
    out = json.loads(text) if fmt == "json" else [json.loads(x) for x in text.splitlines()]
    added = [r for r in out if r not in recs]
    assert len(added) == 4 and len(out) == 154
    for r in added:
        assert set(r) == {"folio", "persona", "otros"} and r["otros"] == []
        contacto = r["persona"]["contacto"]
        assert contacto["correo"].endswith(("@correo-avisos.mx", "@buzon-mx.com"))
        assert normalize_phone(contacto["celular"], "MX").startswith("+52844555")


def test_blank_rows_at_the_end_do_not_stop_a_sorted_sequence(ready: Store, tmp_path: Path) -> None:
    # Excel exports end in blank rows (",,,"); a gapless folio still continues after the
    # last real row, and every canary is placed.
    lines = ["folio,correo,celular,"] + [
        f"F-{i + 1:05d},p{i}x@yahoo.com.mx,81{10000000 + i * 7919 % 89999999}," for i in range(150)
    ]
    src = tmp_path / "excel.csv"
    src.write_bytes(("\r\n".join([*lines, ",,,", ",,,"]) + "\r\n").encode("utf-8-sig"))
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=3, out_dir=tmp_path / "o")
    )
    assert copy.canaries == 3
    out = Path(copy.path).read_bytes().decode("utf-8-sig").splitlines()
    added = [ln for ln in out if ln not in set(lines) and ln != ",,,"]
    assert len(added) == 3
    assert all(ln.split(",")[0] > "F-00150" for ln in added)


def test_blank_rows_at_the_end_never_leave_a_canary_without_a_place(
    ready: Store, tmp_path: Path
) -> None:
    # Blank rows counted as data gave the folio an empty rate: now and then a canary got
    # an empty folio, and the next one had no number to continue from and was dropped.
    lines = ["folio,correo,celular,"] + [
        f"F-{i + 1:05d},p{i}x@yahoo.com.mx,81{10000000 + i * 7919 % 89999999}," for i in range(150)
    ]
    src = tmp_path / "excel.csv"
    src.write_bytes(("\r\n".join([*lines, ",,,", ",,,"]) + "\r\n").encode("utf-8-sig"))
    for seed in range(30):
        [copy] = issue_copies(
            ready,
            Config(),
            IssueRequest(str(src), ["A"], canaries=3, out_dir=tmp_path / f"o{seed}", seed=seed),
        )
        assert copy.canaries == 3, seed
        out = Path(copy.path).read_bytes().decode("utf-8-sig").splitlines()
        assert out[-2:] == [",,,", ",,,"]  # the blank rows stay under the data
        added = [ln.split(",")[0] for ln in out if ln not in set(lines) and ln != ",,,"]
        assert added == ["F-00151", "F-00152", "F-00153"], seed


def test_a_copy_no_canary_fits_in_is_never_issued(
    ready: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canary.synth.canaries import CanaryFactory

    src = tmp_path / "r.csv"
    make_csv(src, 100)
    real = CanaryFactory.make_row

    def nowhere(self, persona, phone=None, prev=None, next=None, **kw):  # type: ignore[no-untyped-def]
        if prev is None and next is None:  # the provisional row for the collision scan
            return real(self, persona, phone=phone, **kw)
        return None

    monkeypatch.setattr(CanaryFactory, "make_row", nowhere)
    out = tmp_path / "o"
    with pytest.raises(InputError, match="no canary row fits"):
        issue_copies(ready, Config(), IssueRequest(str(src), ["A"], out_dir=out))
    assert not list(out.glob("*"))
    with ready.session() as s:
        assert s.scalar(select(func.count()).select_from(Copy)) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_title_rows_above_the_header_are_kept_and_skipped(
    ready: Store, tmp_path: Path, fmt: str
) -> None:
    # "REGISTRO DE CANDIDATAS 2024" merged over the columns, a date line, a blank row,
    # then the header: canaries get every column, the title rows stay as they are.
    header = ["FOLIO", "NOMBRE", "CORREO", "CELULAR", "MUNICIPIO"]
    rng = random.Random(6)
    data = [
        [f"C-{2000 + i * 3}", f"PERSONA {i}", f"cand{i}x@hotmail.com",
         f"844{rng.randint(1000000, 9999999)}", "SALTILLO"]
        for i in range(120)
    ]  # fmt: skip
    preamble = [["REGISTRO DE CANDIDATAS 2024"], ["Fecha de corte: 15/03/2024"], []]
    src = tmp_path / f"titulo.{fmt}"
    if fmt == "csv":
        lines = [",".join(r + [""] * (5 - len(r))) for r in preamble]
        lines += [",".join(r) for r in [header, *data]]
        src.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        for r in [*preamble, header, *data]:
            ws.append(r or [None])
        ws.merge_cells("A1:E1")
        wb.save(src)
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=3, out_dir=tmp_path / "o")
    )
    if fmt == "csv":
        out = [ln.split(",") for ln in Path(copy.path).read_text(encoding="utf-8").splitlines()]
        assert out[0][0] == "REGISTRO DE CANDIDATAS 2024" and out[3] == header
    else:
        ws = openpyxl.load_workbook(copy.path).active
        out = [[to_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
        assert out[0][0] == "REGISTRO DE CANDIDATAS 2024" and out[3] == header
        assert [str(m) for m in ws.merged_cells.ranges] == ["A1:E1"]
    added = [r for r in out[4:] if r not in data]
    assert len(added) == 3
    for r in added:
        assert all(r) and r[2].endswith(("@correo-avisos.mx", "@buzon-mx.com"))
    folios = [r[0] for r in out[4:]]
    assert folios == sorted(folios)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_of_group_labels_above_the_header_is_kept_and_skipped(
    ready: Store, tmp_path: Path, fmt: str
) -> None:
    # A payroll groups its columns under "DATOS PERSONALES | CONTACTO | NÓMINA" (merged
    # in a workbook, empty cells between in a CSV): taken as the header, 24 of 24
    # canaries had dates as text, phone numbers in the date column and no salary.
    groups = ["DATOS PERSONALES", "", "", "CONTACTO", "", "NÓMINA", ""]
    header = ["NÚM. EMPLEADO", "NOMBRE", "FECHA NAC.", "CORREO", "CELULAR", "FECHA INGRESO",
              "SUELDO"]  # fmt: skip
    rng = random.Random(8)
    data = [
        [str(1000 + i), f"PERSONA {i}", dt.date(1970 + i % 30, 1 + i % 12, 1 + i % 28),
         f"emp{i}x@hotmail.com", f"844{rng.randint(1000000, 9999999)}",
         dt.date(2010 + i % 15, 1 + i % 12, 1 + i % 27), round(rng.uniform(9000, 40000), 2)]
        for i in range(120)
    ]  # fmt: skip
    src = tmp_path / f"plantilla.{fmt}"
    if fmt == "csv":
        lines = [",".join(groups), ",".join(header)]
        lines += [",".join(v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else str(v)
                           for v in r) for r in data]  # fmt: skip
        src.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        for r in [[g or None for g in groups], header, *data]:
            ws.append(r)
        for cells in ("A1:C1", "D1:E1", "F1:G1"):
            ws.merge_cells(cells)
        ws.append(["TOTAL", None, None, None, None, None, f"=SUM(G3:G{len(data) + 2})"])
        wb.save(src)
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=3, out_dir=tmp_path / "o")
    )
    if fmt == "csv":
        out = [ln.split(",") for ln in Path(copy.path).read_text(encoding="utf-8").splitlines()]
        assert out[0] == groups and out[1] == header
        body = out[2:]
        added = [r for r in body if r[0] not in {str(d[0]) for d in data}]
        for r in added:
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", r[2]) and re.fullmatch(r"[\d.]+", r[6]), r
    else:
        ws = openpyxl.load_workbook(copy.path).active
        rows = list(ws.iter_rows(values_only=True))
        assert [to_text(v) for v in rows[0]] == groups and list(rows[1]) == header
        assert sorted(str(m) for m in ws.merged_cells.ranges) == ["A1:C1", "D1:E1", "F1:G1"]
        assert rows[-1][6] == f"=SUM(G3:G{len(data) + 5})"
        body = rows[2:-1]
        added = [r for r in body if r[0] not in {d[0] for d in data}]
        for r in added:
            assert isinstance(r[2], dt.datetime) and isinstance(r[5], dt.datetime), r
            assert isinstance(r[6], float | int), r
    assert len(added) == 3
    assert all(all(v not in ("", None) for v in r) for r in added)
    assert len(body) == len(data) + 3


def test_xlsx_formulas_and_merged_cells_follow_inserted_rows(ready: Store, tmp_path: Path) -> None:
    rng = random.Random(9)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Padrón"
    ws.append(["FOLIO", "NOMBRE", "CORREO", "CELULAR", "MONTO"])
    for i in range(60):
        folio, mail = f"P-{rng.randint(10000, 99999)}", f"c{rng.randint(10, 99)}{i}@gmail.com"
        ws.append([folio, f"N{i}", mail, f"844{rng.randint(1000000, 9999999)}", rng.randint(1, 9)])
    ws.append(["TOTAL", None, None, None, "=SUM(E2:E61)"])
    ws.append(["Notas", None, None, None, None])
    ws.merge_cells("A63:E63")
    other = wb.create_sheet("Resumen")
    other["A1"] = "='Padrón'!E62"
    src = tmp_path / "padron.xlsx"
    wb.save(src)
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], canaries=3, out_dir=tmp_path / "o")
    )
    out = openpyxl.load_workbook(copy.path)
    sheet = out["Padrón"]
    assert sheet["A65"].value == "TOTAL" and sheet["E65"].value == "=SUM(E2:E64)"
    assert [str(m) for m in sheet.merged_cells.ranges] == ["A66:E66"]
    assert out["Resumen"]["A1"].value == "='Padrón'!E65"
