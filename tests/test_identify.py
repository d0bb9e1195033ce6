"""Identify: a found dump, in whatever shape the leaker left it, names the copies it came from."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.investigate import readers
from canary.investigate.identify import Scanner, identify, identify_text, load_index
from canary.store.engine import Store, open_store
from tests.registry_support import DOMAIN, Person, Register, build

SHARED = "+52 844 555 0101"
COLUMNS = ["folio", "nombre", "correo", "telefono", "municipio"]

CANARIES = {
    "Partido Azul": [
        Person("María José Núñez Peña", f"mj.nunez@{DOMAIN}", "+52 844 123 4567", "F-009871"),
        Person("Ana Ruiz Ortega", f"ana.ruiz@{DOMAIN}", SHARED, "F-009872"),
    ],
    "Partido Verde": [
        Person("Rocío Hernández Soto", f"rocio.hs@{DOMAIN}", "+52 844 987 6543", "F-009873"),
        Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}", SHARED, "F-009874"),
    ],
    "Consultora XYZ": [
        Person("Sofía Ramírez Luna", f"sofi.rl@{DOMAIN}", "+52 844 222 3344", "F-009875"),
    ],
}
CONTROL = Person("Julia Control Vega", f"julia.cv@{DOMAIN}", None, None)


def real_rows(n: int = 40) -> list[list[str]]:
    return [
        [
            f"F-00{1000 + i}",
            f"Persona{i} Apellido{i} Real",
            f"persona{i}@gmail.com",
            f"81 {1000 + i} {2000 + i}",
            "Saltillo",
        ]
        for i in range(n)
    ]


def canary_row(p: Person, phone_mask: str = "({a}) {b}-{c}") -> list[str]:
    digits = "".join(ch for ch in (p.phone or "") if ch.isdigit())[-10:]
    phone = phone_mask.format(a=digits[:3], b=digits[3:6], c=digits[6:]) if digits else ""
    return [p.ident or "", p.name, p.email or "", phone, "Saltillo"]


def copy_rows(recipient: str) -> list[list[str]]:
    rows = real_rows()
    for k, p in enumerate(CANARIES[recipient]):
        rows.insert(5 + 11 * k, canary_row(p))
    return rows


@pytest.fixture
def reg(store: Store) -> Register:
    return build(store, CANARIES, controls=[CONTROL])


def write_csv(path: Path, rows: list[list[str]], header: list[str] = COLUMNS, **kw: str) -> Path:
    with path.open("w", newline="", encoding=kw.pop("encoding", "utf-8")) as f:
        w = csv.writer(f, **kw)  # type: ignore[arg-type]
        w.writerow(header)
        w.writerows(rows)
    return path


def ids(result: dict) -> list[str]:
    return [c["id"] for c in result["copies"]]


def values(result: dict, copy_id: str) -> set[str]:
    [c] = [c for c in result["copies"] if c["id"] == copy_id]
    return {i["value"] for i in c["identifiers"]}


def test_verbatim_copy_names_its_copy_first(store: Store, reg: Register, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leak.csv", copy_rows("Partido Verde"))
    result = identify(store, path)
    verde = reg.copies["Partido Verde"]
    assert ids(result)[0] == verde
    first = result["copies"][0]
    assert first["recipient"] == "Partido Verde"
    assert first["matched"] == len(first["identifiers"]) == 8  # 2 x (email, phone, name, id)
    assert {f"rocio.hs@{DOMAIN}", "+528449876543", "F-009873"} <= values(result, verde)
    assert (first["strength"], first["false_accusation_probability"]) == ("exclusive", 0)
    # The shared number also points at Partido Azul, but Verde holds it too: explained.
    assert ids(result) == [verde]
    [azul] = result["explained"]
    assert (azul["id"], azul["recipient"]) == (reg.copies["Partido Azul"], "Partido Azul")
    assert [(i["value"], i["shared_with"]) for i in azul["identifiers"]] == [
        ("+528445550101", [verde])
    ]


def test_xlsx_with_columns_dropped_and_reordered(
    store: Store, reg: Register, tmp_path: Path
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["telefono", "nombre"])
    for row in copy_rows("Partido Azul"):
        ws.append([row[3], row[1]])
    path = tmp_path / "base.xlsx"
    wb.save(path)
    result = identify(store, path)
    azul = reg.copies["Partido Azul"]
    assert ids(result)[0] == azul
    assert values(result, azul) == {
        "+528441234567",
        "+528445550101",
        "María José Núñez Peña",
        "Ana Ruiz Ortega",
    }
    assert result["copies"][0]["strength"] == "exclusive"


def test_json_subset_with_escaped_accents(store: Store, reg: Register, tmp_path: Path) -> None:
    rows = copy_rows("Partido Azul")[:10]  # only the first canary survives
    docs = [dict(zip(COLUMNS, r, strict=True)) for r in rows]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(docs))  # ensure_ascii: "Mar\u00eda"
    result = identify(store, path)
    azul = reg.copies["Partido Azul"]
    assert ids(result) == [azul]
    assert values(result, azul) == {
        f"mj.nunez@{DOMAIN}",
        "+528441234567",
        "María José Núñez Peña",
        "F-009871",
    }


def test_jsonl_re_encoded_as_cp1252_without_emails(
    store: Store, reg: Register, tmp_path: Path
) -> None:
    path = tmp_path / "dump.jsonl"
    with path.open("w", encoding="cp1252") as f:
        for r in copy_rows("Consultora XYZ"):
            f.write(json.dumps({"nombre": r[1], "tel": r[3]}, ensure_ascii=False) + "\n")
    result = identify(store, path)
    xyz = reg.copies["Consultora XYZ"]
    assert ids(result) == [xyz]
    assert values(result, xyz) == {"Sofía Ramírez Luna", "+528442223344"}


def test_merged_copies_are_all_reported(store: Store, reg: Register, tmp_path: Path) -> None:
    merged = copy_rows("Partido Verde")[:12] + copy_rows("Consultora XYZ")
    path = write_csv(tmp_path / "merged.tsv", merged, delimiter="\t")
    result = identify(store, path)
    verde, xyz = reg.copies["Partido Verde"], reg.copies["Consultora XYZ"]
    assert set(ids(result)[:2]) == {verde, xyz}
    assert values(result, verde) == {
        f"rocio.hs@{DOMAIN}",
        "+528449876543",
        "Rocío Hernández Soto",
        "F-009873",
    }


def test_whatsapp_chat_export(store: Store, reg: Register, tmp_path: Path) -> None:
    chat = (
        "12/03/26, 10:14 - Coordinación: Les paso los contactos de las candidatas\n"
        "12/03/26, 10:15 - Coordinación: ROCIO HERNANDEZ SOTO +52 1 844 987 6543\n"
        "12/03/26, 10:15 - Coordinación: y a la de +52 1 844 555 0101 tambien\n"
        f"12/03/26, 10:16 - Luis: mándenle correo a LFMORA@{DOMAIN.upper()} y a "
        f"quien-sea@{DOMAIN}\n"
        "12/03/26, 10:17 - Luis: 👍\n"
    )
    path = tmp_path / "Chat de WhatsApp con Equipo.txt"
    path.write_text(chat, encoding="utf-8")
    result = identify(store, path)
    verde = reg.copies["Partido Verde"]
    assert ids(result) == [verde]
    assert [c["id"] for c in result["explained"]] == [reg.copies["Partido Azul"]]
    assert values(result, verde) == {
        "+528449876543",
        "+528445550101",
        f"lfmora@{DOMAIN}",
        "Rocío Hernández Soto",
    }
    assert result["unmatched_canary_domain_addresses"] == [f"quien-sea@{DOMAIN}"]


def test_the_copy_that_explains_a_shared_number_is_named_alone(store: Store, reg: Register) -> None:
    text = "Lista: 844-555-0101, 8441234567, otro 55 1234 5678 y nadie@gmail.com"
    result = identify_text(store, text)
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    assert ids(result) == [azul]
    assert result["copies"][0]["matched"] == 2
    assert result["copies"][0]["strength"] == "exclusive"
    assert [c["id"] for c in result["explained"]] == [verde]


def test_a_shared_number_alone_accuses_neither_copy(store: Store, reg: Register) -> None:
    result = identify_text(store, "llamar al 844 555 0101")
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    assert sorted(ids(result)) == sorted([azul, verde]) and result["explained"] == []
    for c in result["copies"]:
        assert c["strength"] == "shared"
        assert c["false_accusation_probability"] == pytest.approx(0.5)


def test_controls_are_reported_apart(store: Store, reg: Register) -> None:
    scanner = Scanner(load_index(store))
    scanner.feed(f"julia.cv@{DOMAIN} Julia Control Vega", final=True)
    result = scanner.result()
    assert result.copies == [] and result.explained == []
    assert {c["kind"] for c in result.controls} == {"email", "name"}
    assert result.to_json() == {
        "copies": [],
        "explained": [],
        "datasets": [],
        "unmatched_canary_domain_addresses": [],
    }


def test_nothing_found_in_an_unrelated_file(store: Store, reg: Register, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "other.csv", real_rows(200))
    assert identify(store, path) == {
        "copies": [],
        "explained": [],
        "datasets": [],
        "unmatched_canary_domain_addresses": [],
    }


def test_identifiers_across_chunk_boundaries(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = build(sqlite_store, CANARIES)
    monkeypatch.setattr(readers, "CHUNK_BYTES", 64)
    text = "x" * 50 + f" mj.nunez@{DOMAIN} " + "y" * 55 + " +52 1 844 987 6543 " + "z" * 40
    text += " Sofía Ramírez Luna " + "w" * 45 + " +52 844 222 3344\n"
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    result = identify(sqlite_store, path)
    found = {i["value"] for c in result["copies"] for i in c["identifiers"]}
    assert found == {
        f"mj.nunez@{DOMAIN}",
        "+528449876543",
        "Sofía Ramírez Luna",
        "+528442223344",
    }
    assert reg.copies["Partido Azul"] in ids(result)


def test_binary_junk_and_utf16(sqlite_store: Store, tmp_path: Path) -> None:
    reg = build(sqlite_store, CANARIES)
    junk = bytes(range(256)) * 4 + f"\x00contacto: sofi.rl@{DOMAIN}\x00".encode() + b"\xff\xfe\x00"
    (tmp_path / "blob.bin").write_bytes(junk)
    assert ids(identify(sqlite_store, tmp_path / "blob.bin")) == [reg.copies["Consultora XYZ"]]
    (tmp_path / "u16.txt").write_text(f"Tel: (844) 123-4567 {DOMAIN}", encoding="utf-16")
    assert ids(identify(sqlite_store, tmp_path / "u16.txt")) == [reg.copies["Partido Azul"]]


def test_phone_digits_inside_longer_numbers_do_not_match(sqlite_store: Store) -> None:
    build(sqlite_store, CANARIES)
    text = "cuenta 98441234567123 referencia 0008449876543000 folio F-0098710"
    assert identify_text(sqlite_store, text)["copies"] == []


def test_missing_file_is_a_clear_error(sqlite_store: Store, tmp_path: Path) -> None:
    from canary.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        identify(sqlite_store, tmp_path / "nope.csv")


def test_cli_identify_json_shape(config: Config, tmp_path: Path) -> None:
    store = open_store(config.store_url)
    try:
        reg = build(store, CANARIES, controls=[CONTROL])
    finally:
        store.dispose()
    buf = io.StringIO()
    csv.writer(buf).writerows(copy_rows("Consultora XYZ"))
    path = tmp_path / "found.csv"
    path.write_text(buf.getvalue() + f"julia.cv@{DOMAIN}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["identify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"copies", "explained", "datasets", "unmatched_canary_domain_addresses"}
    [c] = doc["copies"]
    assert set(c) == {
        "id",
        "recipient",
        "matched",
        "identifiers",
        "strength",
        "false_accusation_probability",
    }
    assert (c["id"], c["recipient"], c["matched"], c["strength"]) == (
        reg.copies["Consultora XYZ"],
        "Consultora XYZ",
        4,
        "exclusive",
    )
    assert all({"kind", "value"} <= set(i) for i in c["identifiers"])
    human = CliRunner().invoke(app, ["identify", str(path)])
    assert human.exit_code == 0, human.output
    assert "1 control canary match(es)" in human.stdout

    missing = CliRunner().invoke(app, ["identify", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert (
        missing.stderr
        == f"error: {tmp_path / 'nope.csv'}: no such file; give the path of the found dump\n"
    )


def test_copies_issued_by_planting_are_identified(store: Store, tmp_path: Path) -> None:
    """End to end: issue real copies, leak one reshaped and two merged, identify them."""
    from canary.issue.plant import IssueRequest, issue_copies
    from canary.store import register as registry

    registry.add_domain(store, "correo-avisos.mx")
    for i in range(8):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    src = tmp_path / "registro.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["folio", "nombre", "apellido_paterno", "correo", "celular", "municipio"])
        for i in range(300):
            w.writerow(
                [
                    f"F-{i + 1:05d}",
                    ["María", "José", "Ana", "Juan"][i % 4],
                    ["López", "García", "Hernández"][i % 3],
                    f"persona{i}@gmail.com",
                    f"(844) {100 + i % 900:03d}-{1000 + i:04d}",
                    "Saltillo",
                ]
            )
    issued = issue_copies(
        store,
        Config(),
        IssueRequest(str(src), ["Azul", "Verde", "XYZ"], out_dir=tmp_path / "out", seed=3),
    )
    by_recipient = {c.recipient: c for c in issued}

    # One copy, emails dropped, columns reordered, saved as XLSX.
    with open(by_recipient["Verde"].path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append([r[4], r[1], r[2]])
    wb.save(tmp_path / "leak.xlsx")
    result = identify(store, tmp_path / "leak.xlsx")
    assert ids(result)[0] == by_recipient["Verde"].id
    assert any(i["kind"] == "phone" for i in result["copies"][0]["identifiers"])

    # Two copies merged: both found, each with its own emails.
    merged = tmp_path / "merged.csv"
    merged.write_bytes(
        Path(by_recipient["Azul"].path).read_bytes() + Path(by_recipient["XYZ"].path).read_bytes()
    )
    result = identify(store, merged)
    strong = {c["id"] for c in result["copies"] if c["strength"] == "exclusive"}
    assert strong == {by_recipient["Azul"].id, by_recipient["XYZ"].id}
    for c in result["copies"]:
        if c["id"] in strong:
            assert any(i["kind"] == "email" for i in c["identifiers"])


def test_names_written_surnames_first_are_found(store: Store, reg: Register) -> None:
    # Rosters often read "Apellidos, Nombre": the canary's name still counts.
    # A name is corroboration, not evidence alone (an unrelated roster of the same
    # people can hold it): beside the canary's number it counts, in either order.
    text = "Asistentes: Núñez Peña, María José; Hernández Soto, Rocío; Pérez, Juan"
    assert identify_text(store, text)["copies"] == []
    text += "\nTeléfonos: 844 123 4567, 844 987 6543"
    result = identify_text(store, text)
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    assert set(ids(result)) == {azul, verde}
    assert {i["kind"] for c in result["copies"] for i in c["identifiers"]} == {"name", "phone"}


@pytest.mark.parametrize("block", [7, 4099])
def test_every_identifier_is_found_wherever_a_read_block_cuts_it(
    store: Store, reg: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # The dump is read in blocks of `block` bytes: every value below is cut by a block
    # boundary somewhere (7 bytes cuts each one, and the accents' two bytes, many times).
    monkeypatch.setattr(readers, "CHUNK_BYTES", block)
    filler = "".join(
        f"Persona{i} Real, persona{i}@gmail.com, 81 {1000 + i} {2000 + i}\n" for i in range(90)
    )
    text = (
        filler
        + "NÚÑEZ PEÑA, María José: +52 1 (844) 123-4567\n"
        + filler
        + f"MJ.Nunez@{DOMAIN.upper()}\tF-009871\n"
        + filler
        + "tel. 844.555.0101 / Ana Ruiz Ortega\n"
        + filler
    )
    path = tmp_path / "dump.txt"
    path.write_text(text, encoding="utf-8")
    result = identify(store, path)
    azul = reg.copies["Partido Azul"]
    assert ids(result) == [azul]
    assert values(result, azul) == {
        "+528441234567",
        "+528445550101",
        f"mj.nunez@{DOMAIN}",
        "F-009871",
        "María José Núñez Peña",
        "Ana Ruiz Ortega",
    }


def test_a_canary_value_inside_a_longer_value_is_not_found(
    store: Store, reg: Register, tmp_path: Path
) -> None:
    # The engine finds "8441234567" and "mjnunez..." inside these; the checks refuse them.
    text = (
        f"99984412345670 x{'mj.nunez'}@{DOMAIN}.evil.example 8441234567123\n"
        "MaríaJosé Núñez Peñas F-0098711\n"
    )
    path = tmp_path / "dump.txt"
    path.write_text(text, encoding="utf-8")
    assert identify(store, path)["copies"] == []


def test_a_dump_repeating_one_value_costs_a_bounded_number_of_checks(
    store: Store, reg: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canary.investigate import scan

    monkeypatch.setattr(scan, "MAX_HITS_PER_NEEDLE", 50)
    checked: list[int] = []
    real = Scanner._phones

    def counting(self: Scanner, text: str, at_start: bool, at_end: bool) -> None:
        checked.append(1)
        real(self, text, at_start, at_end)

    monkeypatch.setattr(Scanner, "_phones", counting)
    path = tmp_path / "flood.txt"
    path.write_text("tel 844 123 4567\n" * 5000 + f"mj.nunez@{DOMAIN}\n", encoding="utf-8")
    result = identify(store, path)
    azul = reg.copies["Partido Azul"]
    assert values(result, azul) == {"+528441234567", f"mj.nunez@{DOMAIN}"}
    assert len(checked) < 200  # 50 for the number (with the piece overlaps), 1 for the address
