"""Identify reads a dump by its content and states what each match proves.

Pipe dumps, workbooks without an extension, national ids and names unique to one copy,
a full copy among 25 that share numbers, and copies that nothing tells apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.investigate.identify import identify
from canary.investigate.sniff import Kind, detect_file_format, detect_format
from canary.store.admin_token import rotate_admin_token
from canary.store.engine import Store, dispose_all
from tests.admin_support import live_admin
from tests.registry_support import DOMAIN, Person, Register, build

SHARED_1 = "+52 844 555 0101"
SHARED_2 = "+52 844 555 0202"

#: One copy's canaries carry CURPs and full names only it holds, and a shared phone.
WITH_CURPS = {
    "Consultora Norte": [
        Person("Guadalupe Aguilar Moreno", f"mpugam@{DOMAIN}", SHARED_1, "AUMG600826HCLGRS76"),
        Person("Rosa Elena Treviño Garza", f"rosa.tg@{DOMAIN}", SHARED_2, "TEGR851103MCLRRS02"),
        Person("Karla Ibarra Solís", f"kis@{DOMAIN}", "+52 844 777 1234", "IASK900512MCLBLR09"),
    ],
    "Consultora Sur": [
        Person("Beatriz Luna Cano", f"blc@{DOMAIN}", SHARED_1, "LUCB750304MCLNNT04"),
        Person("Irma Salas Vera", f"isv@{DOMAIN}", SHARED_2, "SAVI680921MCLLRR01"),
    ],
}


def ids(doc: dict) -> list[str]:
    return [c["id"] for c in doc["copies"]]


def pipe_dump(persons: list[Person], extra_rows: int = 30) -> str:
    lines = ["id|nombre|correo|telefono|curp"]
    for i in range(extra_rows):
        lines.append(f"{2000 + i}|Persona{i} Real|persona{i}@gmail.com|81{1000000 + i}|")
    for i, p in enumerate(persons):
        digits = "".join(ch for ch in p.phone or "" if ch.isdigit())[-10:]
        lines.append(f"{2205 + i}|{p.name}|{p.email}|{digits}|{p.ident}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def curps(store: Store) -> Register:
    return build(store, WITH_CURPS)


def test_pipe_dump_finds_addresses_exactly(store: Store, curps: Register, tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text(pipe_dump(WITH_CURPS["Consultora Norte"]), encoding="utf-8")
    assert detect_file_format(path).delimiter == "|"
    doc = identify(store, path)
    norte = curps.copies["Consultora Norte"]
    assert ids(doc) == [norte]
    emails = {i["value"] for i in doc["copies"][0]["identifiers"] if i["kind"] == "email"}
    assert emails == {f"mpugam@{DOMAIN}", f"rosa.tg@{DOMAIN}", f"kis@{DOMAIN}"}
    assert doc["unmatched_canary_domain_addresses"] == []


def test_pipe_dump_of_an_unknown_address_keeps_it_whole(store: Store, tmp_path: Path) -> None:
    build(store, WITH_CURPS)
    path = tmp_path / "dump"
    path.write_text(f"a|b|c\n2205|nadie@{DOMAIN}|x\n2206|otro@{DOMAIN}|y\n", encoding="utf-8")
    doc = identify(store, path)
    assert doc["unmatched_canary_domain_addresses"] == [f"nadie@{DOMAIN}", f"otro@{DOMAIN}"]


def test_unique_curps_and_names_are_exclusive(
    store: Store, curps: Register, tmp_path: Path
) -> None:
    """Three CURPs and two full names of one copy, no contact at all: exclusive."""
    norte = WITH_CURPS["Consultora Norte"]
    path = tmp_path / "curps.psv"
    rows = ["curp|nombre"] + [f"{p.ident}|{p.name.upper()}" for p in norte[:2]] + [norte[2].ident]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    doc = identify(store, path)
    [c] = doc["copies"]
    assert c["id"] == curps.copies["Consultora Norte"]
    assert c["strength"] == "exclusive" and c["false_accusation_probability"] == 0
    kinds = sorted((i["kind"], i["value"]) for i in c["identifiers"])
    assert kinds == sorted(
        [("national_id", p.ident or "") for p in norte]
        + [("name", norte[0].name), ("name", norte[1].name)]
    )
    assert doc["explained"] == []


def test_a_copy_sharing_only_numbers_with_the_leaker_is_explained(
    store: Store, curps: Register, tmp_path: Path
) -> None:
    path = tmp_path / "leak.txt"
    path.write_text(pipe_dump(WITH_CURPS["Consultora Norte"]), encoding="utf-8")
    doc = identify(store, path)
    [sur] = doc["explained"]
    assert sur["id"] == curps.copies["Consultora Sur"]
    assert sur["recipient"] == "Consultora Sur"
    assert sorted(i["value"] for i in sur["identifiers"]) == ["+528445550101", "+528445550202"]


def _xlsx(path: Path, persons: list[Person]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["nombre", "telefono", "correo"])
    for i in range(20):
        ws.append([f"Persona{i} Real", 8110000000 + i, f"persona{i}@gmail.com"])
    for p in persons:
        ws.append([p.name, p.phone, p.email])
    with path.open("wb") as f:  # no extension: saved through a file object
        wb.save(f)
    return path


def test_xlsx_without_extension_in_the_cli(
    store: Store, store_url: str, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = build(store, WITH_CURPS)
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    path = _xlsx(tmp_path / "export", WITH_CURPS["Consultora Sur"])
    assert detect_file_format(path).kind is Kind.XLSX
    result = CliRunner().invoke(app, ["identify", str(path), "--json"])
    dispose_all()  # the in-process CLI's engine, before the next opens
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert ids(doc) == [reg.copies["Consultora Sur"]]
    assert doc["copies"][0]["strength"] == "exclusive"
    assert [c["id"] for c in doc["explained"]] == [reg.copies["Consultora Norte"]]


@pytest.fixture
def site(store: Store, port: int) -> Iterator[tuple[Register, str, str]]:
    reg = build(store, WITH_CURPS)
    token = rotate_admin_token(store)
    with live_admin(store, port) as url:
        yield reg, url, token


def test_xlsx_without_extension_uploaded_to_the_api(
    site: tuple[Register, str, str], tmp_path: Path
) -> None:
    reg, url, token = site
    data = _xlsx(tmp_path / "export", WITH_CURPS["Consultora Norte"]).read_bytes()
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post(
            "/api/identify",
            files={"file": ("export", data)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert ids(doc) == [reg.copies["Consultora Norte"]]
    assert {i["value"] for i in doc["copies"][0]["identifiers"] if i["kind"] == "email"} == {
        f"mpugam@{DOMAIN}",
        f"rosa.tg@{DOMAIN}",
        f"kis@{DOMAIN}",
    }


def test_full_copy_among_25_names_one_copy(
    store: Store,
    store_url: str,
    tmp_path: Path,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """25 copies share three numbers; a full copy of one names it alone, 24 explained."""
    phones = [SHARED_1, SHARED_2, "+52 844 555 0303"]
    copies = {
        f"Proveedor {n:02d}": [
            Person(
                f"Nombre{n}x{k} Apellido{n} Segundo{k}",
                f"c{n}.{k}@{DOMAIN}",
                phones[k],
                f"F-{n:03d}{k:03d}",
            )
            for k in range(3)
        ]
        for n in range(25)
    }
    reg = build(store, copies)
    path = tmp_path / "full.csv"
    path.write_text(pipe_dump(copies["Proveedor 07"]).replace("|", ","), encoding="utf-8")
    doc = identify(store, path)
    assert ids(doc) == [reg.copies["Proveedor 07"]]
    assert doc["copies"][0]["matched"] == 12
    assert len(doc["explained"]) == 24
    assert reg.copies["Proveedor 07"] not in {c["id"] for c in doc["explained"]}

    # The CLI says so in one line, not 24.
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    human = CliRunner().invoke(app, ["identify", str(path)])
    dispose_all()  # the in-process CLI's engine, before the next opens
    assert human.exit_code == 0, human.output
    lines = human.stdout.splitlines()
    explained = [ln for ln in lines if "explained" in ln]
    assert len(explained) == 1 and explained[0].startswith("24 other copies")
    assert not any(reg.copies["Proveedor 08"] in ln for ln in lines if "explained" not in ln)


def test_copies_with_the_same_shared_matches_all_stay(store: Store) -> None:
    """No exclusive evidence: every copy holding what was found stays, P = 1 - 1/k."""
    reg = build(
        store,
        {
            "A": [
                Person("Ana Uno Dos", f"a@{DOMAIN}", SHARED_1),
                Person("Al Tres", phone=SHARED_2),
            ],
            "B": [Person("Bea Uno Dos", f"b@{DOMAIN}", SHARED_1)],
            "C": [Person("Cruz Uno Dos", f"c@{DOMAIN}", SHARED_1), Person("Ce T", phone=SHARED_2)],
        },
    )
    from canary.investigate.identify import identify_text

    one = identify_text(store, "el 844 555 0101")
    assert sorted(ids(one)) == sorted(reg.copies.values())
    assert {c["strength"] for c in one["copies"]} == {"shared"}
    assert [c["false_accusation_probability"] for c in one["copies"]] == pytest.approx(
        [2 / 3] * 3, abs=1e-3
    )

    # A second number held by A and C only: they stay, equal and likelier; B is less likely.
    two = identify_text(store, "el 844 555 0101 y el 844 555 0202")
    p = {c["id"]: c["false_accusation_probability"] for c in two["copies"]}
    a, b, c = reg.copies["A"], reg.copies["B"], reg.copies["C"]
    assert set(p) == {a, b, c} and two["explained"] == []
    assert p[a] == pytest.approx(p[c], abs=1e-3) and p[a] < 2 / 3 < p[b]
    assert ids(two)[2] == b


def test_detect_format_reads_content_not_names() -> None:
    assert detect_format(b"SQLite format 3\x00rest").kind is Kind.SQLITE
    assert detect_format(b"%PDF-1.7\n...").kind is Kind.PDF
    assert detect_format(b'[{"a": 1}]').kind is Kind.JSON
    assert detect_format(b'{"a": 1}\n{"a": 2}\n').kind is Kind.JSONL
    assert detect_format(b"a|b|c\n1|2|3\n4|5|6\n") == detect_format(b"a|b|c\n1|2|3\n")
    assert detect_format(b"a|b|c\n1|2|3\n").delimiter == "|"
    assert detect_format(b"a;b\n1;2\n").delimiter == ";"
    assert detect_format(b"a\tb\n1\t2\n").delimiter == "\t"
    assert detect_format(b"Hola, te paso el dato.").kind is Kind.TEXT
    assert detect_format(b"PK\x03\x04" + b"\x00" * 40).kind is Kind.ZIP


def test_a_lone_sequence_id_is_no_evidence(store: Store) -> None:
    """Canary folios continue the table's numbering: a stranger's table holds them too."""
    from canary.investigate.identify import identify_text

    reg = build(store, {"A": [Person("Ana Uno Dos", f"a@{DOMAIN}", None, "F-000301")]})
    assert identify_text(store, "folios F-000299 F-000300 F-000301 F-000302")["copies"] == []
    # A folio and a name together are still weak: an unrelated registry of the same
    # people numbered the same way holds both. Beside the canary's address they count.
    assert identify_text(store, "F-000301 | Ana Uno Dos")["copies"] == []
    doc = identify_text(store, f"F-000301 | Ana Uno Dos | a@{DOMAIN}")
    assert ids(doc) == [reg.copies["A"]]
    assert sorted(i["kind"] for i in doc["copies"][0]["identifiers"]) == ["email", "id", "name"]


def test_dashboard_upload_shows_strength_and_explained(site: tuple[Register, str, str]) -> None:
    import re

    from canary.store import users
    from tests.admin_support import csrf_of, login

    reg, url, _token = site
    dump = pipe_dump(WITH_CURPS["Consultora Norte"]).encode()
    users.add_user(reg.store, "ivan", "investigator pw", "investigator")
    with httpx.Client(base_url=url, timeout=60) as c:
        login(c, "ivan", "investigator pw")
        token = csrf_of(c.get("/identify").text)
        r = c.post("/identify", data={"csrf": token}, files={"file": ("volcado", dump)})
    assert r.status_code == 200
    norte, sur = reg.copies["Consultora Norte"], reg.copies["Consultora Sur"]
    row = re.search(rf'<tr class="identify-copy" data-copy="{norte}">(.*?)</tr>', r.text, re.S)
    assert row is not None
    strength = re.search(r'<td class="strength">(.*?)</td>', row.group(1), re.S)
    assert strength is not None
    assert re.sub(r"<[^>]+>", "", strength.group(1)).strip() == "exclusiva"
    assert 'class="badge strength-exclusive"' in strength.group(1)
    p = re.search(r'<td class="p"><data class="p" value="([^"]+)">', row.group(1))
    assert p is not None and float(p.group(1)) == 0.0
    assert f'data-copy="{sur}"' not in r.text
    explained = re.search(r'<p id="identify-explained"[^>]*>(.*?)</p>', r.text, re.S)
    assert explained is not None and explained.group(1).startswith("1 copias")
    assert "{'kind'" not in r.text and "<built-in method" not in r.text


def test_a_zip_announcing_too_many_members_is_not_listed(tmp_path: Path) -> None:
    import struct
    import zipfile

    from canary.investigate.sniff import zip_member_names

    ok = tmp_path / "ok.zip"
    with zipfile.ZipFile(ok, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert zip_member_names(ok) == ["xl/workbook.xml"]
    data = bytearray(ok.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60000, 60000)  # entries announced
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    assert zip_member_names(bad) == []
    assert detect_file_format(bad).kind is Kind.XLSX  # its local header says so
