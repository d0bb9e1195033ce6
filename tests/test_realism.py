"""Canaries no one can tell apart: each tell a holder of a copy could use, as a property
over several seeds (bench/realism.py measures them together)."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path

import pytest

from canary.config import Config
from canary.formats import Sample, open_table
from canary.formats._needles import NeedleScanner
from canary.formats.table import Collision
from canary.issue.plant import IssueRequest, issue_copies
from canary.store import register as registry
from canary.store.engine import Store
from canary.store.models import Canary
from canary.synth.canaries import CanaryFactory
from canary.synth.cells import dni_letter
from canary.synth.infer import infer_schema

SEEDS = range(4)
MX_GIVEN = ["María Guadalupe", "Leticia", "Zulema", "Araceli", "Mirna", "Yadira", "Delia"]
MX_SURNAMES = ["Valdés", "Garza", "Cepeda", "Siller", "Oyervides", "Zertuche", "Berlanga"]


@pytest.fixture
def ready(sqlite_store: Store) -> Store:
    registry.add_domain(sqlite_store, "correo-avisos.mx")
    registry.add_domain(sqlite_store, "buzon-mx.com")
    for i in range(40):
        registry.add_phone(sqlite_store, f"+52 844 {310 + i:03d} {4721 + 37 * i:04d}", "twilio")
    return sqlite_store


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bottom=()) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    w.writerows(bottom)
    data = buf.getvalue().encode("utf-8")
    path.write_bytes(data)
    return data


def people(r: random.Random, n: int) -> list[tuple[str, str, str, str, str]]:
    """(given, paternal, maternal, email, phone) with names from the lists above."""
    out = []
    for i in range(n):
        g, p, m = r.choice(MX_GIVEN), r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        local = f"{g.split()[0]}{p}".lower().replace("í", "i").replace("é", "e")
        if i % 5 == 0:
            local = f"ibarraedu{i}" if i % 2 else f"reina_{i}"
        out.append((g, p, m, f"{local}@hotmail.com", f"844{r.randint(1000000, 9999999)}"))
    return out


def issued_canaries(store: Store, copy_ids: list[str]) -> list[dict[str, str]]:
    from sqlalchemy import select

    with store.session() as s:
        rows = s.scalars(select(Canary).where(Canary.copy_id.in_(copy_ids))).all()
        return [dict(c.values) for c in rows]


def issue(store: Store, src: Path, tmp: Path, seed: int, copies: int = 3, **kw):
    return issue_copies(
        store,
        Config(),
        IssueRequest(
            str(src), [f"R{i}" for i in range(copies)], out_dir=tmp / f"o{seed}", seed=seed, **kw
        ),
    )


# --- ids -----------------------------------------------------------------------------


def test_a_folio_series_keeps_the_digits_of_its_prefix(ready: Store, tmp_path: Path) -> None:
    r = random.Random(1)
    rows, folio = [], 0
    for g, p, m, e, ph in people(r, 120):
        folio += 1 if r.random() < 0.9 else 3
        rows.append([f"IEC-2024-{folio:05d}", g, p, m, e, ph])
    src = tmp_path / "c.csv"
    write_csv(src, ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "CORREO", "TELEFONO"], rows)
    for seed in SEEDS:
        copies = issue(ready, src, tmp_path, seed)
        for c in issued_canaries(ready, [x.id for x in copies]):
            assert re.fullmatch(r"IEC-2024-\d{5}", c["FOLIO"]), c["FOLIO"]


def test_a_gapless_unpadded_list_continues_by_one_without_padding(
    ready: Store, tmp_path: Path
) -> None:
    r = random.Random(2)
    rows = [[str(i + 1), g, p, e, ph] for i, (g, p, _m, e, ph) in enumerate(people(r, 140))]
    src = tmp_path / "n.csv"
    write_csv(src, ["No.", "NOMBRE", "APELLIDO PATERNO", "CORREO", "TELEFONO"], rows)
    for seed in SEEDS:
        for copy in issue(ready, src, tmp_path, seed):
            assert copy.canaries == 3
            with open(copy.path, encoding="utf-8", newline="") as f:
                numbers = [row[0] for row in list(csv.reader(f))[1:]]
            # every number unpadded, the sequence still gapless: 1..143
            assert numbers == [str(i) for i in range(1, 144)]


def test_unsorted_ids_stay_inside_the_columns_range(tmp_path: Path) -> None:
    r = random.Random(3)
    rows = [[f"{r.randint(100000, 999999)}", g, p, e, ph] for g, p, _m, e, ph in people(r, 200)]
    sample = Sample(["id", "nombre", "apellido paterno", "correo", "telefono"], rows, True, 200)
    schema = infer_schema(sample)
    lo, hi = min(int(x[0]) for x in rows), max(int(x[0]) for x in rows)
    for seed in SEEDS:
        f = CanaryFactory(schema, sample, domains=["avisos.example.mx"], rng=random.Random(seed))
        for _ in range(20):
            row = f.make_row(f.persona(), phone="+528443104721")
            assert row is not None and lo <= int(row[0]) <= hi


def test_masked_ids_keep_each_positions_characters(tmp_path: Path) -> None:
    # Costa Rican cedulas N-0NNN-0NNN: the zeros stay, the province digit is the row's.
    r = random.Random(4)
    provinces = ["San José", "Alajuela", "Cartago", "Heredia"]
    rows = []
    for g, p, m, e, _ph in people(r, 200):
        k = r.randrange(4)
        ced = f"{k + 1}-0{r.randint(100, 999)}-0{r.randint(100, 999)}"
        rows.append([ced, f"{g} {p} {m}", e, provinces[k]])
    sample = Sample(["Cédula", "Nombre completo", "Correo", "Provincia"], rows, True, 200)
    schema = infer_schema(sample)
    for seed in SEEDS:
        f = CanaryFactory(schema, sample, domains=["avisos.example.cr"], rng=random.Random(seed))
        for _ in range(20):
            row = f.make_row(f.persona())
            assert row is not None
            assert re.fullmatch(r"[1-4]-0\d{3}-0\d{3}", row[0]), row[0]
            assert int(row[0][0]) == provinces.index(row[3]) + 1


def test_a_dni_canary_carries_its_check_letter(tmp_path: Path) -> None:
    r = random.Random(5)
    rows = []
    for g, p, m, e, _ph in people(r, 100):
        num = str(r.randint(10_000_000, 79_999_999))
        rows.append([g, f"{p} {m}", num + dni_letter(num), e])
    sample = Sample(["Nombre", "Apellidos", "DNI", "Email"], rows, True, 100)
    f = CanaryFactory(infer_schema(sample), sample, domains=["x.example.es"], rng=random.Random(1))
    for _ in range(20):
        dni = f.make_row(f.persona())[2]  # type: ignore[index]
        assert dni[-1] == dni_letter(dni[:-1])


def test_a_short_id_inside_a_longer_value_is_no_collision() -> None:
    scanner = NeedleScanner(["1813"], "utf-8", b"")
    scanner.scan(b"1815,18134567X,611 813 222\r\n")  # inside a DNI: not the id
    with pytest.raises(Collision):
        scanner.scan(b"1812,x\r\n1813,y\r\n")


# --- structure around the table ------------------------------------------------------


FOOTER = [
    ["", "", "", "", "", ""],
    ["Fuente: Instituto Electoral de Coahuila, corte al 15/05/2027", "", "", "", "", ""],
    ["TOTAL", "", "", "", "", "12,500.00"],
    ["Elaborado por: Dirección de Organización Electoral", "", "", "", "", ""],
]


def test_footer_rows_are_kept_byte_for_byte_and_never_sampled(ready: Store, tmp_path: Path) -> None:
    r = random.Random(6)
    rows = [
        [f"{i + 1:04d}", g, p, e, ph, f"{r.choice([1500, 3000]):,}.00"]
        for i, (g, p, _m, e, ph) in enumerate(people(r, 150))
    ]
    header = ["Consecutivo", "Nombre", "Primer apellido", "Correo", "Celular", "Monto"]
    src = tmp_path / "p.csv"
    data = write_csv(src, header, rows, bottom=FOOTER)
    footer_bytes = data[data.index(b'\r\n,,,,,\r\n"Fuente') + 2 :]
    sample = open_table(str(src)).sample()
    assert sample.rows == rows and sample.row_count == 150  # the footer is not data
    for seed in SEEDS:
        for copy in issue(ready, src, tmp_path, seed):
            out = Path(copy.path).read_bytes()
            assert out.endswith(footer_bytes)  # nothing among or after the footer
            assert copy.canaries == 3
        for c in issued_canaries(ready, [x.id for x in issue(ready, src, tmp_path / "b", seed)]):
            assert re.fullmatch(r"\d{4}", c["Consecutivo"])
            assert not any("uente" in v or "laborado" in v for v in c.values())
            assert all(c[h] for h in ("Nombre", "Primer apellido", "Correo"))
