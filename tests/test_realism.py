"""Canaries no one can tell apart: each tell a holder of a copy could use, as a property
over several seeds (bench/realism.py measures them together)."""

from __future__ import annotations

import csv
import io
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise
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
from canary.synth.cells import dni_letter, fold
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


def store_with(
    tmp: Path, domain: str, numbers: Sequence[str], landlines: Sequence[str] = ()
) -> Store:
    """A store of the test's own with a canary domain, mobiles and voice-only landlines."""
    from canary.store.engine import open_store

    store = open_store(f"sqlite:///{tmp / 'c.db'}")
    registry.add_domain(store, domain)
    for number in numbers:
        registry.add_phone(store, number, "twilio")
    for number in landlines:
        registry.add_phone(store, number, "generic", voice_only=True)
    return store


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


#: File numbers of a series restarted each year or kept per office, as exports write them
YEAR_FILES = {
    "exp": lambda g, n: f"EXP-{g}-{n:06d}",
    "slash": lambda g, n: f"{g}/{n:04d}",
    "plain": lambda g, n: f"{g}/{n}",
    "office": lambda g, n: f"OF-{['CDMX', 'GDL', 'MTY', 'PUE'][g - 2019]}-{n:04d}",
}


def year_files(
    r: random.Random, write: Callable[[int, int], str], *, shuffle: bool = False
) -> list[list[str]]:
    """Patients by file number (FOLIO, NOMBRE, PATERNO, MATERNO, CORREO, TELEFONO,
    INGRESO): four groups (years 2019-2022, or offices), each numbered 1..k with a few
    gaps of one to three numbers (files cancelled), admitted in the order of their
    numbers; sorted by the file number unless `shuffle`."""
    rows = []
    them = iter(people(r, 400))
    for year in range(2019, 2023):
        n, day = 0, date(year, 1, 2)
        for _ in range(r.randint(55, 80)):
            n += 1 if r.random() > 0.08 else r.randint(2, 4)
            day = min(day + timedelta(days=r.choice([0, 1, 2, 3, 5])), date(year, 12, 31))
            g, p, m, e, ph = next(them)
            rows.append([write(year, n), g, p, m, e, ph, day.strftime("%d/%m/%Y")])
    if shuffle:
        r.shuffle(rows)
    return rows


def real_order(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


YEAR_HEADER = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "CORREO", "TELEFONO", "INGRESO"]


def _file_parts(value: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.*\D)(\d+)", value)
    assert m is not None, value
    return m.group(1), int(m.group(2))


@pytest.mark.parametrize("shape", ["exp", "plain", "office"])
def test_a_file_number_restarting_each_year_takes_a_canary_inside_its_series(
    ready: Store, tmp_path: Path, shape: str
) -> None:
    """A file number whose series restarts each year ("EXP-2019-000236", then
    "EXP-2020-000001"), rows sorted by it: read as one series, every low number was
    some year's and canaries stood at a year's end with a jump (15 of 23); unpadded
    ("2019/14") they stood anywhere, out of order. A canary's number now continues or
    fills its group's series: in the file's order, steps to its neighbours no larger
    than real rows', its group's last no more often than a row is by much."""
    rows = year_files(random.Random(40), YEAR_FILES[shape])
    src = tmp_path / "f.csv"
    write_csv(src, YEAR_HEADER, rows)
    real = {row[0] for row in rows}
    groups = [_file_parts(row[0])[0] for row in rows]
    top = max(b[1] - a[1] for a, b in pairwise(map(_file_parts, real_order(rows))) if a[0] == b[0])
    year_of = {_file_parts(YEAR_FILES[shape](y, 1))[0]: y for y in range(2019, 2023)}
    canaries = ends = 0
    for seed in range(2):
        for copy in issue(ready, src, tmp_path, seed, canaries=8):
            with open(copy.path, encoding="utf-8", newline="") as f:
                got = [row[0] for row in list(csv.reader(f))[1:]]
            parts = [_file_parts(v) for v in got]
            # still group by group, each group's numbers rising
            assert [g for g, _n in parts] == sorted((g for g, _n in parts), key=groups.index)
            assert all(a[1] < b[1] for a, b in pairwise(parts) if a[0] == b[0])
            for k, value in enumerate(got):
                if value in real:
                    continue
                canaries += 1
                g, n = parts[k]
                assert g in year_of and value == YEAR_FILES[shape](year_of[g], n), value
                before = parts[k - 1] if k > 0 else None
                assert before is not None and before[0] == g and 0 < n - before[1] <= top, value
                if k + 1 == len(parts) or parts[k + 1][0] != g:
                    ends += 1
    assert canaries >= 40
    assert ends <= 0.25 * canaries


def test_a_file_number_restarting_each_year_unsorted_fills_its_years_series() -> None:
    """Rows not sorted by the file number: a canary's number was drawn over every year's
    range, where every low number is some year's, so past every year's end (and of any
    year beside its admission's). Now one of its year's gaps or a step past its end,
    padded as its year's, never a real one, of the year it was admitted."""
    rows = year_files(random.Random(41), YEAR_FILES["exp"], shuffle=True)
    real = {row[0] for row in rows}
    tops: dict[str, int] = {}
    for row in rows:
        g, n = _file_parts(row[0])
        tops[g] = max(tops.get(g, 0), n)
    for seed in range(3):
        made = canaries_of(Sample(YEAR_HEADER, rows, True, len(rows)), seed, 12)
        for row in made:
            assert re.fullmatch(r"EXP-20\d\d-\d{6}", row[0]), row[0]
            assert row[0] not in real
            g, n = _file_parts(row[0])
            assert g in tops and 1 <= n <= tops[g] + 4, row[0]
            assert g == f"EXP-{row[6][-4:]}-", row  # the year of its admission
        assert len({row[0] for row in made}) == len(made)


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


# --- names, emails, numbers ----------------------------------------------------------


FEMALE = ["Zulema", "Araceli", "Mirna", "Yadira", "Delia", "Irma", "Elvia", "Anabel"]
MALE = ["Ramón", "Héctor", "Raúl", "Arturo", "Sergio", "Mario", "Jorge", "Ricardo"]


def names_table(r: random.Random, n: int, *, upper_share: float = 0.0) -> Sample:
    """A registry whose names come from short lists Faker's locales do not weight."""
    rows = []
    for i in range(n):
        sex = "M" if r.random() < 0.7 else "H"  # M = mujer
        g = r.choice(FEMALE if sex == "M" else MALE)
        p, m = r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        plain = lambda s: s.lower().translate(str.maketrans("áéíóú", "aeiou"))  # noqa: E731
        if i % 4 == 0:
            local = f"ibarraedu{i}"
        elif i % 4 == 1:
            local = f"{plain(g)}.{plain(p)}"
        else:
            local = f"{plain(g)}{plain(p)}{r.randint(1, 99)}"
        email = f"{local}@hotmail.com"
        if r.random() < upper_share:
            email = email.upper()
        street = f"HIDALGO {r.randint(100, 3999)}"
        balance = r.choice(
            [str(r.randint(1, 99)), f"{r.randint(100, 999)}.", f"{r.uniform(100, 3999):.2f}"]
        )
        rows.append([g, p, m, sex, email, street, balance])
    header = [
        "NOMBRE",
        "APELLIDO PATERNO",
        "APELLIDO MATERNO",
        "SEXO",
        "CORREO",
        "DOMICILIO",
        "SALDO",
    ]
    return Sample(header, rows, True, n)


def canaries_of(sample: Sample, seed: int, n: int = 40) -> list[list[str]]:
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    out = []
    for _ in range(n):
        row = f.make_row(f.persona())
        assert row is not None
        out.append(row)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_names_come_from_the_columns_own_parts_with_the_rows_sex(seed: int) -> None:
    sample = names_table(random.Random(10 + seed), 300)
    real = {(r[0], r[1], r[2]) for r in sample.rows}
    rows = canaries_of(sample, seed)
    own = [row for row in rows if row[0].title() in FEMALE + MALE]
    assert len(own) >= 0.9 * len(rows)  # the column's names, not Faker's
    assert sum(row[1].title() in MX_SURNAMES for row in rows) >= 0.9 * len(rows)
    for row in own:  # a woman's name on a woman's row (SEXO M = mujer), a man's on a man's
        assert (row[0].title() in FEMALE) == (row[3] == "M"), row
    # Seven surnames for 300 rows: real rows share whole names, and canaries share a real
    # row's name about as often (rejecting every such name made canaries' names rarer).
    shared_real = Counter((r[0], r[1], r[2]) for r in sample.rows)
    real_share = sum(k for k in shared_real.values() if k > 1) / len(sample.rows)
    canary_share = sum((row[0].title(), row[1].title(), row[2].title()) in real for row in rows)
    assert real_share > 0.3
    assert canary_share > 0.1 * len(rows)


def distinct_names_table(r: random.Random, n: int) -> Sample:
    """A registry where no two rows share a whole name."""
    given = [*FEMALE, "Rosa", "Norma", "Olga", "Perla", "Silvia", "Karla", "Diana", "Nora"]
    seen: set[tuple[str, str, str]] = set()
    rows = []
    while len(rows) < n:
        g, p, m = r.choice(given), r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        if (g, p, m) in seen:
            continue
        seen.add((g, p, m))
        rows.append([g, p, m, "M", f"{g[0]}{p}{len(rows)}@hotmail.com".lower()])
    return Sample(
        ["NOMBRE", "APELLIDO PATERNO", "APELLIDO MATERNO", "SEXO", "CORREO"], rows, True, n
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_where_no_two_rows_share_a_name_no_canary_has_a_real_ones(seed: int) -> None:
    sample = distinct_names_table(random.Random(20 + seed), 300)
    real = {(r[0], r[1], r[2]) for r in sample.rows}
    rows = canaries_of(sample, seed)
    assert sum(row[0].title() in [*FEMALE, "Rosa", "Norma"] for row in rows) > 0  # own names
    assert not any((row[0].title(), row[1].title(), row[2].title()) in real for row in rows)


def _letters(local: str) -> str:
    return re.sub(r"[^a-z]", "", local.lower())


@pytest.mark.parametrize("seed", SEEDS)
def test_no_canary_address_is_a_real_rows_local_part(seed: int) -> None:
    sample = names_table(random.Random(20 + seed), 300)
    real = {_letters(r[4].split("@")[0]) for r in sample.rows}
    for row in canaries_of(sample, seed):
        local = _letters(row[4].split("@")[0])
        assert not (len(local) >= 6 and local in real), row[4]
        assert not any(len(x) >= 8 and x in local for x in real), row[4]


def test_an_uppercase_column_gets_uppercase_canaries_as_often_as_it_has_them() -> None:
    for seed in SEEDS:
        upper = canaries_of(names_table(random.Random(30 + seed), 300, upper_share=1.0), seed)
        assert all(row[4] == row[4].upper() for row in upper)
        mixed = canaries_of(names_table(random.Random(30 + seed), 300, upper_share=0.7), seed, 60)
        share = sum(row[4] == row[4].upper() for row in mixed) / len(mixed)
        assert 0.45 <= share <= 0.9, share


@pytest.mark.parametrize("seed", SEEDS)
def test_numbers_keep_the_columns_textual_form_and_range(seed: int) -> None:
    sample = names_table(random.Random(40 + seed), 300)
    forms = {re.sub(r"\d+", "9", r[6]) for r in sample.rows}
    street_top = max(int(r[5].split()[1]) for r in sample.rows)
    low, high = (f(float(r[6]) for r in sample.rows) for f in (min, max))
    for row in canaries_of(sample, seed):
        assert re.sub(r"\d+", "9", row[6]) in forms, row[6]  # 38, 527. or 2390.59
        assert low <= float(row[6]) <= high
        word, number = row[5].split()
        assert word == "HIDALGO" and 1 <= int(number) <= street_top


def test_a_middle_name_column_holds_middle_names() -> None:
    r = random.Random(7)
    rows = [
        [r.choice(MALE), r.choice(FEMALE) if r.random() < 0.7 else "", r.choice(MX_SURNAMES)]
        for _ in range(200)
    ]
    sample = Sample(["FIRST_NAME", "MIDDLE_NAME", "LAST_NAME"], rows, True, 200)
    assert infer_schema(sample).kinds()["MIDDLE_NAME"] == "text"
    for row in canaries_of(sample, 1):
        assert len(row[1].split()) <= 1


def test_footer_rows_under_an_xlsx_sheet_stay_under_it(ready: Store, tmp_path: Path) -> None:
    import openpyxl

    r = random.Random(8)
    header = ["Consecutivo", "Nombre", "Primer apellido", "Correo", "Celular", "Monto"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for i, (g, p, _m, e, ph) in enumerate(people(r, 120)):
        ws.append([i + 1, g, p, e, ph, r.choice([1500, 3000])])
    for row in FOOTER:
        ws.append([v or None for v in row])
    src = tmp_path / "p.xlsx"
    wb.save(src)
    assert open_table(str(src)).sample().row_count == 120
    for seed in SEEDS[:2]:
        for copy in issue(ready, src, tmp_path, seed):
            got = openpyxl.load_workbook(copy.path).active
            last = [[c.value for c in row] for row in got.iter_rows()][-4:]
            assert [[v or "" for v in row] for row in last] == FOOTER


# --- what pooled copies show: area codes, contact columns, gaps, postal codes ---------

MUNIS = {"SALTILLO": "844", "RAMOS ARIZPE": "844", "TORREÓN": "871", "PIEDRAS NEGRAS": "878"}


def places_table(r: random.Random, n: int) -> list[list[str]]:
    """Folio, names, municipality, phone (its municipality's area code), email: 60% of
    rows in Saltillo/Ramos Arizpe (844), 30% Torreón (871), 10% Piedras Negras (878);
    a tenth without an email, a fifth without a phone, never both."""
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, n)):
        x = r.random()
        muni = "SALTILLO" if x < 0.4 else "RAMOS ARIZPE" if x < 0.6 else "TORREÓN"
        muni = "PIEDRAS NEGRAS" if x >= 0.9 else muni
        phone = f"{MUNIS[muni]}{r.randint(2000000, 9999999)}"
        y = r.random()
        email, phone = ("", phone) if y < 0.1 else (e, "") if y < 0.3 else (e, phone)
        rows.append([f"F-{i + 1:05d}", g, p, m, muni, phone, email])
    return rows


PLACES_HEADER = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "MUNICIPIO", "TELEFONO", "CORREO"]


def pool_store(store: Store, numbers: list[str]) -> Store:
    registry.add_domain(store, "correo-avisos.mx")
    for number in numbers:
        registry.add_phone(store, number, "twilio")
    return store


def test_canary_area_codes_come_as_often_as_the_tables_and_agree_with_the_place(
    sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Ten numbers in each of 844 and 871: the rows there are 60% and 30% of the table,
    # so 844 numbers go into twice as many copies; 878 (10% of rows) has none: a warning.
    pool = [f"+52844{5550100 + i}" for i in range(10)] + [f"+52871{5550200 + i}" for i in range(10)]
    store = pool_store(sqlite_store, pool)
    src = tmp_path / "p.csv"
    write_csv(src, PLACES_HEADER, places_table(random.Random(7), 300))
    with caplog.at_level("WARNING"):
        copies = issue(store, src, tmp_path, 1, copies=30)
    assert any("no canary number has (878" in m for m in caplog.messages)
    canaries = issued_canaries(store, [c.id for c in copies])
    codes = [c["TELEFONO"][:3] for c in canaries if c["TELEFONO"]]
    assert len(codes) >= 50
    assert 0.58 <= codes.count("844") / len(codes) <= 0.8  # 60/90 of the covered rows
    for c in canaries:  # the place is one the table holds with the number's area code
        if c["TELEFONO"]:
            assert MUNIS[c["MUNICIPIO"]] == c["TELEFONO"][:3], c


#: Colombian mobile blocks and their share of the rows: a number's first three digits
#: name its operator's block, and no area code says where it is.
CO_BLOCKS = {"300": 0.45, "311": 0.25, "315": 0.15, "320": 0.1, "350": 0.05}
CO_HEADER = ["DOCUMENTO", "NOMBRE", "APELLIDO", "CELULAR", "CORREO"]


def mobiles_table(r: random.Random, n: int) -> list[list[str]]:
    """A Colombian list whose mobiles are spread over blocks as CO_BLOCKS says, written
    "300 123 4567" or "3001234567"."""
    rows = []
    blocks = list(CO_BLOCKS)
    given = ["YULIANA", "LEIDY", "JHON", "YEISON", "DAYANA", "WILSON", "BRAYAN", "ANGIE"]
    surnames = ["OSPINA", "GIRALDO", "CASTAÑO", "BETANCUR", "HENAO", "LONDOÑO", "ALZATE"]
    for i in range(n):
        g, p = r.choice(given), r.choice(surnames)
        block = r.choices(blocks, weights=list(CO_BLOCKS.values()))[0]
        cel = f"{block}{r.randint(2000000, 9999999)}"
        if i % 2:
            cel = f"{cel[:3]} {cel[3:6]} {cel[6:]}"
        local = f"{g}.{p}{i}".lower().replace("ñ", "n")
        rows.append([str(r.randint(10_000_000, 99_999_999)), g, p, cel, f"{local}@gmail.com"])
    return rows


def test_canary_mobiles_start_as_often_as_the_tables_do_where_no_area_code_says_where(
    sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Eight numbers in each block, the blocks holding 45% down to 5% of the rows:
    # canaries' numbers must start as the rows' do (they came evenly, 20% a block, when
    # only area codes were weighted), and a full pool draws no warning.
    pool = [f"+57{b}{5550100 + 13 * i}" for b in CO_BLOCKS for i in range(8)]
    store = pool_store(sqlite_store, pool)
    src = tmp_path / "co.csv"
    write_csv(src, CO_HEADER, mobiles_table(random.Random(8), 400))
    with caplog.at_level("WARNING"):
        copies = issue(store, src, tmp_path, 1, copies=40)
    assert not any("no canary number has" in m for m in caplog.messages)
    canaries = issued_canaries(store, [c.id for c in copies])
    blocks = [re.sub(r"\D", "", c["CELULAR"])[:3] for c in canaries if c["CELULAR"]]
    assert len(blocks) >= 100
    for block, share in CO_BLOCKS.items():
        got = blocks.count(block) / len(blocks)
        assert abs(got - share) <= 0.08, (block, got, share)


def test_a_pool_missing_a_tables_mobile_blocks_is_warned_of_and_its_first_digits_kept(
    tmp_path: Path,
) -> None:
    # Numbers in 300 and 350 only: 311, 315 and 320 (50% of the rows) are missing; the
    # warning names them. Their rows count for the pool's blocks sharing their "3", in
    # the ratio of those blocks' own rows (300 has 45%, 350 5%): canaries' numbers start
    # with 3 as often as the rows' do, and 300 and 350 keep the table's 9 to 1.
    rows = mobiles_table(random.Random(9), 400)
    sample = Sample(CO_HEADER, rows, True, len(rows))
    f = CanaryFactory(infer_schema(sample), sample, domains=["avisos.example.co"])
    pool = [f"+57300{5550100 + i}" for i in range(5)] + [f"+57350{5550100 + i}" for i in range(5)]
    missing = dict(f.uncovered_blocks(pool))
    assert set(missing) == {"311", "315", "320"}
    assert 0.4 <= sum(missing.values()) <= 0.6
    weights = f.phone_weights(pool)
    assert sum(weights.values()) == pytest.approx(1.0)
    in_300 = sum(w for n, w in weights.items() if n[3:6] == "300")
    assert 0.8 <= in_300 <= 0.95, in_300


@pytest.mark.parametrize("seed", SEEDS)
def test_canary_mobiles_blocks_are_as_common_once_in_as_a_real_rows_where_blocks_are_small(
    seed: int,
) -> None:
    # Spanish mobiles over a hundred 6xx blocks, about four rows each, a pool number in
    # every block. Taken as often as the rows hold it, a canary's block held, once the
    # canary was in, one row more than a real row's own (6.0 against 5.0): a count any
    # holder of copies reads off the column. Weighted as one more row drawn like the
    # table's, it is 0.4-0.5 rows more (no canary can be in a block of its own, as 1%
    # of the rows are, and the counts of a small table are smoothed).
    r = random.Random(90 + seed)
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        mobile = f"6{r.randint(0, 99):02d} {r.randint(100, 999)} {r.randint(100, 999)}"
        rows.append([f"{10_000_000 + 7 * i}", g, f"{p} {m}", mobile, e])
    header = ["DNI", "NOMBRE", "APELLIDOS", "TELEFONO", "EMAIL"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(infer_schema(sample), sample, domains=["avisos.example.es"])
    pool = [f"+346{b:02d}555{k:03d}" for b in range(100) for k in (101, 202)]
    weights = f.phone_weights(pool)
    assert sum(weights.values()) == pytest.approx(1.0)
    held = Counter(row[3][:3] for row in rows)
    real = sum(k * k for k in held.values()) / len(rows)  # a real row's block's count
    canary = sum(w * (held[n[3:6]] + 1) for n, w in weights.items())  # once it is in
    assert abs(canary - real) <= 0.6, (canary, real)


def test_issue_names_the_mobile_blocks_the_pool_lacks(
    sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = pool_store(sqlite_store, [f"+57300{5550100 + i}" for i in range(10)])
    src = tmp_path / "co.csv"
    write_csv(src, CO_HEADER, mobiles_table(random.Random(10), 300))
    with caplog.at_level("WARNING"):
        issue(store, src, tmp_path, 1, copies=3)
    warned = [m for m in caplog.messages if "no canary number has" in m]
    assert warned and all(b in warned[0] for b in ("311", "315", "320", "350")), caplog.messages


@pytest.mark.parametrize("seed", SEEDS)
def test_canaries_leave_an_email_or_a_phone_empty_as_the_rows_do_never_both(seed: int) -> None:
    rows = places_table(random.Random(50 + seed), 400)
    sample = Sample(PLACES_HEADER, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    made = [f.make_row(f.persona(), phone="+528443104721") for _ in range(300)]
    assert all(row is not None and (row[5] or row[6]) for row in made)
    no_email = sum(1 for row in made if row is not None and not row[6]) / len(made)
    no_phone = sum(1 for row in made if row is not None and not row[5]) / len(made)
    with_one = [row for row in rows if row[5] or row[6]]  # the rows canaries copy from
    real_email = sum(1 for row in with_one if not row[6]) / len(with_one)
    real_phone = sum(1 for row in with_one if not row[5]) / len(with_one)
    assert no_email > 0.03 and no_phone > 0.08  # not the old "always both"
    assert abs(no_email - real_email) <= 0.07, (no_email, real_email)
    assert abs(no_phone - real_phone) <= 0.07, (no_phone, real_phone)


@pytest.mark.parametrize("seed", SEEDS)
def test_contacts_are_left_empty_as_the_rows_with_a_contact_leave_them(
    seed: int,
) -> None:
    # A voter list: a fifth of the rows without a phone, two in five without an email,
    # independently, so 8% have neither. A canary keeps one identifier, so it cannot
    # have neither; every other pattern (both, phone only, email only) is as common
    # among canaries as among the rows with a contact. Each column empty as often as
    # among all rows instead made the pair a tell (an Italian registry: both in 34% of
    # its rows, 10% of its canaries).
    r = random.Random(60 + seed)
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        phone = f"844{r.randint(2000000, 9999999)}" if r.random() >= 0.22 else ""
        rows.append([f"F-{i + 1:05d}", g, p, m, "SALTILLO", phone, e if r.random() >= 0.4 else ""])
    sample = Sample(PLACES_HEADER, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    # 800 canaries: the share's spread over 400 (0.024) made 0.05 a two-sigma band, which
    # any change to what the factory draws first could cross by chance
    made = [f.make_row(f.persona(), phone="+528443104721") for _ in range(800)]
    assert all(row is not None and (row[5] or row[6]) for row in made)  # never neither
    reached = [row for row in rows if row[5] or row[6]]
    for pattern in ((True, True), (True, False), (False, True)):
        real = sum(1 for row in reached if (bool(row[5]), bool(row[6])) == pattern)
        canary = sum(
            1 for row in made if row is not None and (bool(row[5]), bool(row[6])) == pattern
        )
        assert abs(canary / len(made) - real / len(reached)) <= 0.05, (pattern, canary, real)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_canarys_place_and_category_are_as_common_together_as_a_real_rows(seed: int) -> None:
    # Copied from a donor row, a canary's municipality and stratum were held by two
    # rows at least (the donor and itself) where a real row's pair is often its own
    # alone. Drawn as one more row of the municipality would hold it, the canary's pair
    # is new to it about as often as a real row's is its own alone in a municipality of
    # the size the canary's is once it is in (a canary joins a real row's municipality:
    # it is never alone in one, and is more often in the large ones; that is the
    # municipality's own count, not the stratum's); the state, which the municipality
    # decides, stays the donor's.
    r = random.Random(70 + seed)
    munis = [f"MUNICIPIO {i:02d}" for i in range(40)]
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        k = r.choices(range(40), weights=[1 / (j + 1) for j in range(40)])[0]
        stratum = str(r.choices(range(1, 7), weights=[1 + (k + j) % 6 for j in range(6)])[0])
        rows.append([f"F-{i + 1:05d}", g, p, m, f"ESTADO {k % 5}", munis[k], stratum, e])
    header = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "ESTADO", "MUNICIPIO", "ESTRATO", "CORREO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    made = [f.make_row(f.persona()) for _ in range(800)]  # 300 spread about 0.026
    pairs = Counter((row[5], row[6]) for row in rows)
    real_pairs = {(row[4], row[5]) for row in rows}
    places = Counter(row[5] for row in rows)

    def size(n: int) -> int:  # municipalities of 1, 2-3, 4-7, 8-15, 16 rows or more
        return min(n.bit_length(), 5)

    by_size: dict[int, list[bool]] = {}
    for row in rows:
        by_size.setdefault(size(places[row[5]]), []).append(pairs[(row[5], row[6])] == 1)
    alone = expected = 0.0
    for row in made:
        assert row is not None and (row[4], row[5]) in real_pairs, row  # state with its own
        alone += pairs[(row[5], row[6])] == 0  # once it is in, held by itself alone
        real = by_size[size(places[row[5]] + 1)]
        expected += sum(real) / len(real)
    assert expected / len(made) > 0.05
    assert abs(alone - expected) / len(made) <= 0.05, (alone / len(made), expected / len(made))


def test_a_category_the_place_leaves_open_keeps_its_frequencies_among_canaries() -> None:
    # A fee of three values whatever the province, in provinces of every size. Taking
    # the value held by a row fewer in the donor's province (the previous way to keep
    # the pair's count) leaned canaries toward the fees rarer in small provinces: a fee
    # of 18% of the rows on 27% of the canaries. Drawn from the province's urn, the
    # canaries' fees follow the column's.
    distances = []
    for seed in SEEDS:
        r = random.Random(80 + seed)
        provinces = [f"PROVINCIA {i:02d}" for i in range(50)]
        rows = []
        for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
            k = r.choices(range(50), weights=[1 / (j + 1) for j in range(50)])[0]
            fee = r.choices(["30,00", "45,00", "60,00"], weights=[5, 3, 2])[0]
            rows.append([f"{1000 + i}", g, p, m, provinces[k], fee, e])
        header = ["SOCIO", "NOMBRE", "PATERNO", "MATERNO", "PROVINCIA", "CUOTA", "CORREO"]
        sample = Sample(header, rows, True, len(rows))
        f = CanaryFactory(
            infer_schema(sample), sample, domains=["avisos.example.es"], rng=random.Random(seed)
        )
        made = [row for row in (f.make_row(f.persona()) for _ in range(1500)) if row is not None]
        assert len(made) >= 500
        real, drawn = Counter(row[5] for row in rows), Counter(row[5] for row in made)
        distances.append(sum(abs(real[v] / len(rows) - drawn[v] / len(made)) for v in real) / 2)
    # the old way: 0.034, 0.093, 0.058, 0.045 (mean 0.057); this way 0.039, 0.010, 0.036, 0.005
    assert sum(distances) / len(distances) <= 0.045, distances


@pytest.mark.parametrize("seed", SEEDS)
def test_an_ids_digits_follow_the_donors_place_only_where_the_place_decides_them(
    seed: int,
) -> None:
    # Costa Rican cedulas: the province digit follows the province; the volume's first
    # digit (1-9) does not. Copied from the donor with the province digit, the volume
    # digit made the canary's cedula prefix and canton a pair the donor held too: never
    # one row's alone (0% of canaries), as 30% of real rows' are here. Drawn, it is new
    # 23-27% of the time: a little less, as a canary joins a canton of real rows and
    # meets one row more there than a real row does.
    r = random.Random(100 + seed)
    provinces = {f"PROV{k}": [f"CANTON {k}{j}" for j in range(6)] for k in range(1, 8)}
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        k = r.choices(range(1, 8), weights=[8, 5, 4, 3, 2, 2, 1])[0]
        cedula = f"{k}-0{r.randint(100, 999)}-0{r.randint(100, 999)}"
        canton = r.choice(provinces[f"PROV{k}"])
        rows.append([cedula, f"{g} {p} {m}", f"PROV{k}", canton, e])
    header = ["CEDULA", "NOMBRE", "PROVINCIA", "CANTON", "CORREO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.cr"], rng=random.Random(seed)
    )
    made = [row for row in (f.make_row(f.persona()) for _ in range(300)) if row is not None]
    assert len(made) >= 150
    pairs = Counter((row[0][:4], row[3]) for row in rows)
    real_alone = sum(1 for row in rows if pairs[(row[0][:4], row[3])] == 1) / len(rows)
    new = sum(1 for row in made if pairs[(row[0][:4], row[3])] == 0) / len(made)
    assert all(row[0][0] == row[2][-1] for row in made)  # the province digit agrees
    assert real_alone > 0.05
    assert 0.65 * real_alone <= new <= real_alone + 0.05, (new, real_alone)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_canarys_street_is_as_often_its_own_in_its_colonia_as_a_real_rows(seed: int) -> None:
    # Streets named as in every Mexican town (HIDALGO, JUÁREZ...) whatever the colonia.
    # Copied from the donor with new digits, a canary's street and colonia were a pair
    # the donor held too, never one row's alone (0% of canaries, 24-28% of real rows).
    r = random.Random(110 + seed)
    streets = ["HIDALGO", "JUÁREZ", "MORELOS", "ALLENDE", "ZARAGOZA", "VICTORIA", "ABASOLO"]
    streets += ["ALDAMA", "OCAMPO", "BRAVO", "GUERRERO", "MATAMOROS"]
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        k = r.choices(range(40), weights=[1 / (j + 1) for j in range(40)])[0]
        colonia = f"COL. {['CENTRO', 'REPÚBLICA', 'ANALCO', 'BELLAVISTA'][k % 4]} {k:02d}"
        street = f"{r.choices(streets, weights=range(12, 0, -1))[0]} {r.randint(1, 3999)}"
        rows.append([f"F-{i + 1:05d}", g, p, m, "SALTILLO", colonia, street, e])
    header = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "MUNICIPIO", "COLONIA", "DOMICILIO"]
    header += ["CORREO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    made = [row for row in (f.make_row(f.persona()) for _ in range(300)) if row is not None]
    assert len(made) >= 150

    def pair(row: list[str]) -> tuple[str, str]:
        return row[6].split()[0], row[5]

    pairs = Counter(pair(row) for row in rows)
    real_alone = sum(1 for row in rows if pairs[pair(row)] == 1) / len(rows)
    new = sum(1 for row in made if pairs[pair(row)] == 0) / len(made)
    assert real_alone > 0.03
    assert 0.6 * real_alone <= new <= real_alone + 0.05, (new, real_alone)


def test_a_postal_code_as_distinct_as_a_street_stays_in_its_province() -> None:
    # Spanish codes: the province's two digits, then three of the town's; most rows'
    # codes are their own. Drawn from the urn as a street address is, a member's code
    # came from another province 77 times in 200.
    provinces = {"Madrid": 28, "Barcelona": 8, "Valencia": 46, "Sevilla": 41, "Málaga": 29}
    r = random.Random(130)
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        province = r.choices(list(provinces), weights=[5, 4, 3, 2, 1])[0]
        code = f"{provinces[province]:02d}{r.randint(1, 500):03d}"
        rows.append([str(1000 + i), g, f"{p} {m}", e, province, code])
    header = ["SOCIO", "NOMBRE", "APELLIDOS", "EMAIL", "PROVINCIA", "CP"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.es"], rng=random.Random(1)
    )
    made = [row for row in (f.make_row(f.persona()) for _ in range(200)) if row is not None]
    assert len(made) >= 100
    assert all(int(row[5][:2]) == provinces[row[4]] for row in made)


def test_an_address_that_names_its_colonia_keeps_it() -> None:
    # "HIDALGO 120, COL. LOMAS ALTA": an address drawn from another colonia's row would
    # name that colonia beside the canary's own. (Digits in a colonia's name are made
    # new with the street number's: left alone here.)
    r = random.Random(140)
    streets = ["HIDALGO", "JUÁREZ", "MORELOS", "ALLENDE", "ZARAGOZA", "VICTORIA"]
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        k = r.choices(range(30), weights=range(30, 0, -1))[0]
        colonia = f"COL. {['LOMAS', 'VALLE', 'JARDINES', 'VISTA', 'PRADOS', 'REAL'][k % 6]} "
        colonia += ["DEL SOL", "ALTA", "NORTE", "DORADO", "VERDE"][k // 6]
        street = f"{r.choice(streets)} {r.randint(1, 3999)}, {colonia}"
        rows.append([f"F-{i + 1:05d}", g, p, m, colonia, street, e])
    header = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "COLONIA", "DOMICILIO", "CORREO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(2)
    )
    made = [row for row in (f.make_row(f.persona()) for _ in range(200)) if row is not None]
    assert len(made) >= 100
    assert all(row[5].endswith(row[4]) for row in made)


def test_numbers_in_an_address_are_written_as_the_columns_are() -> None:
    # Colombian grid addresses, an apartment now and then: "CALLE 45 # 12-07 APTO 1203",
    # the apartment always its floor, a 0 and its door (1-4). Made "near" a real row's
    # (within 15%), an apartment came out 1119 or 1385, which no row writes; each run of
    # digits is now another real row's there.
    r = random.Random(150)
    rows = []
    for i, (g, p, m, e, _ph) in enumerate(people(r, 400)):
        address = f"CALLE {r.randint(1, 120)} # {r.randint(1, 99)}-{r.randint(1, 99):02d}"
        if r.random() < 0.3:
            address += f" APTO {r.randint(1, 15)}0{r.randint(1, 4)}"
        rows.append([f"F-{i + 1:05d}", g, p, m, "MEDELLÍN", address, e])
    header = ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "MUNICIPIO", "DIRECCION", "CORREO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.co"], rng=random.Random(3)
    )
    made = [row for row in (f.make_row(f.persona()) for _ in range(300)) if row is not None]
    flats = [row[5].split(" APTO ")[1] for row in made if " APTO " in row[5]]
    assert len(flats) >= 30
    assert all(re.fullmatch(r"(1[0-5]|[1-9])0[1-4]", flat) for flat in flats), flats
    assert all(re.fullmatch(r"CALLE \d+ # \d+-\d\d( APTO \d+)?", row[5]) for row in made)
    assert not {row[5] for row in made} & {row[5] for row in rows}  # no real row's address


def test_sorted_folios_take_gaps_where_their_steps_look_like_a_real_rows(
    ready: Store, tmp_path: Path
) -> None:
    # Folios step by 1 mostly, by 2, 3 or 4 now and then: a canary in a gap of 2 sits
    # one from each neighbour as most real rows do; in a gap of 4 it would not.
    r = random.Random(11)
    rows, folio = [], 0
    for g, p, m, e, ph in people(r, 400):
        folio += 1 if r.random() < 0.9 else r.choice([2, 3, 4])
        rows.append([f"F-{folio:05d}", g, p, m, e, ph])
    src = tmp_path / "g.csv"
    write_csv(src, ["FOLIO", "NOMBRE", "PATERNO", "MATERNO", "CORREO", "TELEFONO"], rows)
    ones = total = 0
    for seed in SEEDS:
        for copy in issue(ready, src, tmp_path, seed, copies=5):
            mine = {c["FOLIO"] for c in issued_canaries(ready, [copy.id])}
            with open(copy.path, encoding="utf-8", newline="") as fh:
                numbers = [row[0] for row in list(csv.reader(fh))[1:]]
            for i, value in enumerate(numbers):
                if value in mine and 0 < i < len(numbers) - 1:
                    n = [int(x[2:]) for x in numbers[i - 1 : i + 2]]
                    assert n[0] < n[1] < n[2]
                    total += 1
                    ones += n[1] - n[0] == 1 and n[2] - n[1] == 1
    # real rows: 0.9 * 0.9 = 81% step by one on both sides; a canary in any gap: ~1/3
    assert total >= 40 and ones / total >= 0.7, (ones, total)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_canarys_postal_code_is_as_common_in_the_copy_as_a_real_rows(seed: int) -> None:
    # 400 rows over 200 codes: a real row's code is held by 3 rows on average. A canary
    # copying a real row's code would hold one more (itself), about 3.6.
    r = random.Random(60 + seed)
    rows = []
    for g, p, m, e, ph in people(r, 400):
        prov = r.choice(["25", "27"])
        rows.append([g, p, m, e, ph, prov and "COAHUILA", f"{prov}{r.randint(0, 99):03d}"])
    header = ["NOMBRE", "PATERNO", "MATERNO", "CORREO", "TELEFONO", "ESTADO", "CODIGO POSTAL"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(seed)
    )
    assert f.schema.columns[6].kind == "place"
    held = Counter(row[6] for row in rows)
    real = sum(held[row[6]] for row in rows) / len(rows)
    # 800 canaries: with 300 the mean's own spread (0.1) made a 0.3 bound fail on one
    # seed in ten whenever the factory's stream moved
    made = [f.make_row(f.persona(), phone="+528443104721") for _ in range(800)]
    codes = [row[6] for row in made if row is not None]
    assert all(re.fullmatch(r"2[57]\d{3}", c) for c in codes)
    canary = sum(held[c] + 1 for c in codes) / len(codes)  # the canary counts itself
    assert abs(canary - real) < 0.3, (canary, real)


def test_a_shape_whose_letters_are_a_real_persons_keeps_its_look_with_the_other_surname() -> None:
    from datetime import date

    from canary.synth.addresses import EmailMaker

    maker = EmailMaker(
        ["avisos.example.mx"],
        [1.0],
        Counter({"{first}.{last}": 10, "{first}.{last2}": 1}),  # the column swaps too
        random.Random(1),
        None,
        lambda _a: False,
        {"ana.lopez@gmail.com", "anita.lopez@gmail.com"},
    )
    # Ana Lopez is a real person here: the canary Ana Lopez Garza keeps the shape
    # "first.surname" (not a shorter or longer one) with her other surname.
    assert maker.make("Ana", "López", "Garza", date(1990, 1, 1), False) == (
        "ana.garza@avisos.example.mx"
    )


# --- tables sorted by a place ---------------------------------------------------------


def sorted_by_place(r: random.Random, n: int) -> list[list[str]]:
    """places_table sorted by municipality, its folios shuffled (no id order to keep)."""
    rows = sorted(places_table(r, n), key=lambda row: row[4])
    folios = [row[0] for row in rows]
    r.shuffle(folios)
    return [[f, *row[1:]] for f, row in zip(folios, rows, strict=True)]


@pytest.mark.parametrize("seed", SEEDS)
def test_in_a_table_sorted_by_place_each_canary_sits_in_its_own_places_run(
    ready: Store, tmp_path: Path, seed: int
) -> None:
    src = tmp_path / "sorted.csv"
    data = write_csv(src, PLACES_HEADER, sorted_by_place(random.Random(80 + seed), 400))
    real = set(data.decode().splitlines())
    placed = 0
    for copy in issue(ready, src, tmp_path, seed, copies=3):
        lines = Path(copy.path).read_bytes().decode().splitlines()[1:]
        rows = list(csv.reader(lines))
        for i, line in enumerate(lines):
            if line in real:
                continue
            placed += 1
            around = {rows[j][4] for j in (i - 1, i + 1) if 0 <= j < len(rows)}
            # Inside a run both neighbours agree; at a run's edge it takes one of them.
            assert rows[i][4] in around, (rows[i], around)
    assert placed >= 6


def test_a_place_the_sample_never_showed_is_taken_from_the_neighbour() -> None:
    # A large file sorted by state is sampled from its first rows: they show only the
    # first municipalities. A canary going after a row of another one takes its place.
    rows = [r for r in sorted_by_place(random.Random(9), 300) if r[4] != "PIEDRAS NEGRAS"]
    sample = Sample(PLACES_HEADER, rows, False, 100_000)
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(3)
    )
    last = ["F-00077", "Delia", "Garza", "Siller", "PIEDRAS NEGRAS", "8781234567", ""]
    for _ in range(10):
        row = f.make_row(f.persona(), phone="+528445550101", prev=last)
        assert row is not None and row[4] == "PIEDRAS NEGRAS"
        last = row


@pytest.mark.parametrize("seed", SEEDS)
def test_a_particle_belongs_to_the_surname_after_it(seed: int) -> None:
    # "Ana de la Cruz Pérez": surnames "de la Cruz" and "Pérez", never a given name
    # "Ana de la" or a surname "la" ("Leticia la Ramírez" came out of that once).
    r = random.Random(60 + seed)
    surnames = [*MX_SURNAMES, "de la Cruz", "de León", "del Río"]
    rows = [
        [f"{r.choice(FEMALE)} {r.choice(surnames)} {r.choice(surnames)}", f"x{i}@hotmail.com"]
        for i in range(200)
    ]
    rows = canaries_of(Sample(["Nombre completo", "Correo"], rows, True, len(rows)), seed, 60)
    particles = {"de", "la", "del", "los", "las"}
    for row in rows:
        words = row[0].split()
        assert words[0].lower() not in particles and words[-1].lower() not in particles, row
        assert words[0] in FEMALE or len(words) >= 3, row
        for i, w in enumerate(words[:-1]):  # a particle is followed by its surname
            if w.lower() in particles:
                assert i >= 1 and words[i + 1].lower() in particles | {
                    "cruz", "león", "río"
                }, row  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_birth_dates_stay_inside_the_columns_range(seed: int) -> None:
    r = random.Random(70 + seed)
    rows = []
    for i in range(300):
        g, p, m, e, _ph = people(r, 1)[0]
        birth = f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(1940, 1960)}"
        rows.append([g, p, m, birth, e.replace("@", f"{i}@")])
    sample = Sample(["NOMBRE", "PATERNO", "MATERNO", "FECHA NACIMIENTO", "CORREO"], rows, True, 300)
    low = min(int(row[3][-4:]) * 10000 + int(row[3][3:5]) * 100 + int(row[3][:2]) for row in rows)
    high = max(int(row[3][-4:]) * 10000 + int(row[3][3:5]) * 100 + int(row[3][:2]) for row in rows)
    for row in canaries_of(sample, seed, 80):
        d = row[3]
        assert low <= int(d[-4:]) * 10000 + int(d[3:5]) * 100 + int(d[:2]) <= high, d


COMMON_GIVEN = [*FEMALE, "Rosa", "Norma", "Olga", "Perla", "Silvia", "Karla", "Diana", "Nora"]
COMMON_SURNAMES = [
    *MX_SURNAMES, "Arizpe", "Cuellar", "Moncada", "Treviño", "Falcón", "Ramos", "Rivas",
    "Nieto", "Salinas", "Muzquiz", "Cardona", "Fuentes", "Esquivel", "Villarreal", "Aguirre",
    "Ibarra", "Reyes", "Morales", "Torres", "Ruiz", "Díaz", "Flores", "Pérez",
]  # fmt: skip


def _plain(s: str) -> str:
    return s.lower().translate(str.maketrans("áéíóúñ", "aeioun"))


def _zipf(r: random.Random, items: list[str]) -> str:
    return r.choices(items, weights=[1 / (k + 1) for k in range(len(items))])[0]


def common_names_table(r: random.Random, n: int) -> list[list[str]]:
    """Common names (a few given names and surnames hold most rows) whose addresses are
    mostly built from them: most common given name + surname pairs are a real row's
    address letters ("zulema.valdes", "zulemavaldes42", "zvaldes")."""
    rows = []
    for _ in range(n):
        g, p, m = _zipf(r, COMMON_GIVEN), _zipf(r, COMMON_SURNAMES), _zipf(r, COMMON_SURNAMES)
        x = r.random()
        local = (
            f"{_plain(g)}.{_plain(p)}"
            if x < 0.35
            else f"{_plain(g)}{_plain(p)}{r.randint(1, 99)}"
            if x < 0.6
            else f"{_plain(g)[0]}{_plain(p)}"
            if x < 0.75
            else f"reina_{r.randint(1, 999)}"
        )
        rows.append([g, p, m, f"{local}@hotmail.com"])
    return rows


COMMON_HEADER = ["NOMBRE", "APELLIDO PATERNO", "APELLIDO MATERNO", "CORREO"]


def test_canaries_names_are_as_common_as_the_columns_where_their_address_shapes_are_taken() -> None:
    # Names drawn until a drawn shape was free for them made common names rare among
    # canaries (their shapes are real rows'): the top surname held 27% of the rows and
    # 12% of the canaries. Over 600 canaries of four tables, the ten most common given
    # names and surnames are as common among canaries as among rows, and no canary's
    # local part has a real one's letters.
    rows_all: list[list[str]] = []
    made_all: list[list[str]] = []
    for seed in range(4):
        rows = common_names_table(random.Random(90 + seed), 400)
        made = canaries_of(Sample(COMMON_HEADER, rows, True, len(rows)), seed, 150)
        real = {_letters(row[3].split("@")[0]) for row in rows}
        for row in made:
            local = _letters(row[3].split("@")[0])
            assert not (len(local) >= 6 and local in real), row[3]
            assert not any(len(x) >= 8 and x in local for x in real), row[3]
        rows_all += rows
        made_all += made
    for col in (0, 1):
        real_counts = Counter(row[col].title() for row in rows_all)
        canary_counts = Counter(row[col].title() for row in made_all)
        top = [v for v, _n in real_counts.most_common(10)]
        real_share = sum(real_counts[v] for v in top) / len(rows_all)
        canary_share = sum(canary_counts[v] for v in top) / len(made_all)
        assert abs(canary_share - real_share) <= 0.05, (col, canary_share, real_share)
        first = top[0]
        ratio = (canary_counts[first] / len(made_all)) / (real_counts[first] / len(rows_all))
        assert ratio >= 0.8, (col, first, ratio)


def test_canaries_take_the_columns_address_shapes_where_their_names_are_free_for_them() -> None:
    # Where a shape is free for a canary's names (its letters are no real row's), the
    # canary takes it as the column's share asks: in a table where most common names'
    # "first.last" letters are a real row's, the few names free for it take it nearly
    # always. (Names keep their frequencies: the shape is as common as those names allow.)
    dotted = re.compile(r"[a-z]+\.[a-z]+@")
    free_share, canary_share = [], []
    for seed in range(4):
        r = random.Random(80 + seed)
        rows = []
        for _ in range(400):
            g, p, m = _zipf(r, COMMON_GIVEN), _zipf(r, COMMON_SURNAMES), _zipf(r, COMMON_SURNAMES)
            local = f"{_plain(g)}.{_plain(p)}" if r.random() < 0.6 else f"reina_{r.randint(1, 999)}"
            rows.append([g, p, m, f"{local}@hotmail.com"])
        real = {_letters(row[3].split("@")[0]) for row in rows}
        made = canaries_of(Sample(COMMON_HEADER, rows, True, len(rows)), seed, 60)
        free = [row for row in made if _letters(_plain(row[0]) + _plain(row[1])) not in real]
        free_share.append(len(free) / len(made))
        canary_share.append(sum(bool(dotted.match(row[3].lower())) for row in made) / len(made))
    free_mean, canary_mean = sum(free_share) / 4, sum(canary_share) / 4
    assert free_mean > 0.15
    assert canary_mean >= 0.85 * free_mean, (canary_mean, free_mean)


@pytest.mark.parametrize("seed", SEEDS)
def test_unsorted_document_numbers_keep_the_columns_digit_counts(seed: int) -> None:
    # Old documents of 7-8 digits beside new ones of 10: none of 9 exists, so a canary's
    # must not have 9 (drawn across the whole range, most did).
    r = random.Random(90 + seed)
    rows = []
    for g, p, m, e, _ph in people(r, 300):
        doc = (
            r.randint(1_000_000, 99_999_999) if r.random() < 0.6 else r.randint(10**9, 113 * 10**7)
        )
        rows.append([str(doc), g, p, m, e])
    sample = Sample(["NUMERO DOCUMENTO", "NOMBRE", "PATERNO", "MATERNO", "CORREO"], rows, True, 300)
    real = Counter(len(row[0]) for row in rows)
    made = Counter(len(row[0]) for row in canaries_of(sample, seed, 60))
    assert set(made) <= set(real), made
    assert made[10] >= 10 and made[7] + made[8] >= 20, made


def test_a_middle_name_agrees_with_the_first_name() -> None:
    # SEGUNDO NOMBRE sampled from the whole column gave "ANDRÉS CAMILA": now from rows
    # with the same first name, else of the persona's sex.
    r = random.Random(11)
    female, male = ["ANA", "LUZ", "MARTHA", "CLAUDIA"], ["JUAN", "CARLOS", "JORGE", "LUIS"]
    second_f, second_m = ["CAMILA", "PATRICIA", "FERNANDA"], ["ANDRÉS", "FELIPE", "DAVID"]
    rows = []
    for i in range(300):
        is_f = r.random() < 0.5
        g = r.choice(female if is_f else male)
        g2 = r.choice(second_f if is_f else second_m) if r.random() < 0.6 else ""
        rows.append([g, g2, r.choice(MX_SURNAMES).upper(), f"x{i}@hotmail.com"])
    sample = Sample(
        ["PRIMER NOMBRE", "SEGUNDO NOMBRE", "PRIMER APELLIDO", "EMAIL"], rows, True, 300
    )
    made = canaries_of(sample, 3, 80)
    for row in made:
        if row[1]:
            assert (row[0] in female) == (row[1] in second_f), row
    assert 0.2 <= sum(1 for row in made if not row[1]) / len(made) <= 0.6


def test_a_colombian_list_is_read_with_colombian_numbers() -> None:
    # No locale profile is Colombian: the phone column's numbers decide the country, so
    # canary numbers and the table's own are read as Colombian, not Costa Rican.
    r = random.Random(12)
    rows = [
        [
            g,
            p,
            f"3{r.choice(['00', '10', '15', '20'])} {r.randint(100, 999)} {r.randint(1000, 9999)}",
            e,
        ]
        for g, p, _m, e, _ph in people(r, 200)
    ]
    sample = Sample(["NOMBRES", "APELLIDOS", "CELULAR", "EMAIL"], rows, True, 200)
    schema = infer_schema(sample)
    assert schema.region == "CO"
    f = CanaryFactory(schema, sample, domains=["avisos.example.co"], rng=random.Random(1))
    assert f.accepts_phone("+573001234567") and not f.accepts_phone("+50683123456")
    row = f.make_row(f.persona(), phone="+573001234567")
    assert row is not None and row[2] == "300 123 4567"


def test_a_middle_name_does_not_copy_a_real_rows_pair_of_given_names() -> None:
    # Middle names independent of first names (a US voter file): a canary's pair of
    # given names is one a real row has about as often as real rows share theirs,
    # not always (taking the middle name from rows with the same first name did).
    # Four tables: one table's 100 canaries move the share by 0.1 from seed to seed.
    real_shares, canary_shares = [], []
    for seed in range(4):
        r = random.Random(13 + seed)
        firsts = [*FEMALE, *MALE]
        middles = [*FEMALE, *MALE, "ANN", "LEE", "MARIE", "RAY", "LYNN", "JAMES", "MAE", "JO"]
        rows = [
            [r.choice(firsts).upper(), r.choice(middles).upper() if r.random() < 0.7 else "",
             r.choice(MX_SURNAMES).upper(), r.choice("FM"), f"x{i}@aol.com"]
            for i in range(400)
        ]  # fmt: skip
        header = ["FIRST_NAME", "MIDDLE_NAME", "LAST_NAME", "GENDER", "EMAIL"]
        pairs = Counter((row[0], row[1]) for row in rows if row[1])
        real_shares.append(
            sum(pairs[(row[0], row[1])] > 1 for row in rows if row[1]) / sum(pairs.values())
        )
        sample = Sample(header, rows, True, 400)
        made = [row for row in canaries_of(sample, 2 + seed, 100) if row[1]]
        canary_shares.append(sum(pairs[(row[0], row[1])] > 0 for row in made) / len(made))
    real, canary = sum(real_shares) / 4, sum(canary_shares) / 4
    assert canary <= real + 0.15, (canary, real)


def test_a_canarys_amount_repeats_a_real_one_about_as_often_as_real_ones_repeat() -> None:
    # Balances mostly unique, small ones repeating: a canary's amount is a real one as
    # often as a new row's would be; a varied amount that lands on another row's (38 ->
    # 41) counted as new before and doubled the share.
    import math

    r = random.Random(14)
    rows = []
    for g, p, m, e, _ph in people(r, 400):
        x = math.exp(r.uniform(1, 9))
        amount = str(int(x)) if r.random() < 0.3 else f"{x:.2f}"
        rows.append([f"{g} {p} {m}", e, amount])
    sample = Sample(["Nombre completo", "Correo", "Saldo"], rows, True, 400)
    counts = Counter(row[2] for row in rows)
    real = sum(counts[row[2]] > 1 for row in rows) / len(rows)
    made = canaries_of(sample, 5, 300)
    canary = sum(counts[row[2]] > 0 for row in made) / len(made)
    assert canary <= real + 0.06, (canary, real)


@pytest.mark.parametrize(
    ("write", "form"),
    [
        # Chilean pesos: dots between thousands, no decimals ("$ 94.236" is 94,236 pesos)
        (lambda x: "$ " + f"{int(x):,}".replace(",", "."), r"\$ \d{1,3}(?:\.\d{3})*"),
        # euros as Spain writes them: dots between thousands, a decimal comma
        (
            lambda x: f"{x:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."),
            r"\d{1,3}(?:\.\d{3})*,\d\d",
        ),
        # a space between thousands, a decimal comma (France)
        (lambda x: f"{x:,.2f}".replace(",", " ").replace(".", ","), r"\d{1,3}(?: \d{3})*,\d\d"),
    ],
)
def test_amounts_grouped_by_thousands_keep_the_columns_marks(write, form) -> None:
    # A mark the column only writes between groups of three digits is its thousands
    # mark, even where no value has decimals: "$ 214.040" varied came out "$ 214040.144"
    # (the dot read as a decimal point, its groups as decimals).
    import math

    r = random.Random(15)
    rows = []
    for g, p, m, e, _ph in people(r, 300):
        rows.append([f"{g} {p} {m}", e, write(math.exp(r.uniform(4, 15)))])
    sample = Sample(["Nombre completo", "Correo", "Monto"], rows, True, 300)
    assert infer_schema(sample).kinds()["Monto"] == "number"
    for seed in SEEDS:
        for row in canaries_of(sample, seed, 60):
            assert re.fullmatch(form, row[2]), row[2]


def _digits(r: random.Random, k: int) -> str:
    return "".join(str(r.randint(0, 9)) for _ in range(k))


#: A value in each scheme's written form, its check characters left at zero.
UNCHECKED = {
    "cl.rut": lambda r: f"{r.randint(5_000_000, 24_999_999):,}".replace(",", ".") + "-0",
    "br.cpf": lambda r: "{}.{}.{}-00".format(*re.findall("...", _digits(r, 9))),
    "ar.cuit": lambda r: f"{r.choice(['20', '23', '27'])}-{r.randint(10_000_000, 45_000_000)}-0",
    # a German account: no check inside the national part
    "iban": lambda r: "DE00 " + " ".join(re.findall("..?.?.?", _digits(r, 18))),
    "luhn": lambda r: " ".join(re.findall("....", "4" + _digits(r, 15))),
    # a Spanish account holds its own check digits ("00" here), which the IBAN's cover
    "es.iban": lambda r: (
        "ES00 " + " ".join(re.findall("....", _digits(r, 8) + "00" + _digits(r, 10)))
    ),
    # a Spanish social security number: the last two digits are the rest's mod 97
    "mod97": lambda r: f"{r.randint(1, 52):02d}/{_digits(r, 8)}/00",
}


@pytest.mark.parametrize("name", sorted(UNCHECKED))
def test_a_canarys_national_id_or_account_passes_its_check_digit(name: str) -> None:
    # A RUT, CPF, CUIT, IBAN or card number carries check characters anyone verifies
    # in a line of code: drawn digit by digit like the column's, a canary's failed it
    # ten times in eleven ("17.663.987-K" where the digits give 3). A Spanish IBAN's
    # account check and a social security number's mod 97 failed on every canary.
    from canary.synth.check_digits import SCHEMES, scheme_of, with_check

    scheme = next(s for s in SCHEMES if s.name == name)
    r = random.Random(16)
    ids = [with_check(UNCHECKED[name](r), scheme) for _ in range(300)]
    assert all(ids) and getattr(scheme_of([v or "" for v in ids]), "name", None) == name
    rows = [[f"{g} {p} {m}", e, ids[i] or ""] for i, (g, p, m, e, _ph) in enumerate(people(r, 300))]
    sample = Sample(["Nombre completo", "Correo", "Documento"], rows, True, 300)
    masks = {re.sub(r"\d", "9", v or "") for v in ids}
    for seed in SEEDS:
        for row in canaries_of(sample, seed, 30):
            assert scheme.valid(row[2]), row[2]
            assert re.sub(r"\d", "9", row[2]) in masks or name == "cl.rut", row[2]  # K


AR_GIVEN = ["MARIA LAURA", "JUAN CARLOS", "SILVIA", "DANIEL", "GRACIELA", "LUCAS", "NATALIA"]
AR_SURNAMES = ["GONZALEZ", "RODRIGUEZ", "GOMEZ", "FERNANDEZ", "LOPEZ", "SOSA", "TORRES"]


def ar_padron(r: random.Random, n: int, numbered: bool = False) -> Sample:
    """An Argentine roll: "SURNAMES, GIVEN NAMES" under "APELLIDO Y NOMBRE", sorted by
    it, mobiles written locally with the "15" after the area code."""
    people = sorted(
        f"{r.choice(AR_SURNAMES)} {r.choice(AR_SURNAMES)}, {r.choice(AR_GIVEN)}" for _ in range(n)
    )
    rows = [
        [name, f"351 15{r.randint(400, 699)}-{r.randint(1000, 9999)}", f"x{i}@gmail.com"]
        for i, name in enumerate(people)
    ]
    header = ["APELLIDO Y NOMBRE", "TELEFONO", "MAIL"]
    if numbered:
        header, rows = ["ORDEN", *header], [[str(i + 1), *row] for i, row in enumerate(rows)]
    return Sample(header, rows, True, n)


def test_a_local_argentine_mobile_is_written_as_the_canarys_own_number() -> None:
    # "351 15478-1733" is +54 9 351 478 1733: the digits written are not the national
    # number's. Poured into the column's mask, a canary's number came out "393 51806-1021",
    # which is no one's (or someone else's): a call to it would never reach us.
    from canary.identifiers import normalize_phone

    sample = ar_padron(random.Random(17), 200)
    f = CanaryFactory(infer_schema(sample), sample, domains=["a.example"], rng=random.Random(1))
    for k in range(20):
        number = f"+549351{4000000 + 37 * k}"
        row = f.make_row(f.persona(), phone=number)
        assert row is not None
        assert re.fullmatch(r"351 15\d{3}-\d{4}", row[1]), row[1]
        assert normalize_phone(row[1], "AR") == number, row[1]


def test_surnames_comma_given_names_stay_in_that_form_and_order() -> None:
    # "APELLIDO Y NOMBRE" named a surname first, and canaries got "LOPEZ LOPEZ": no
    # comma, no given name, in a column where every row has both.
    sample = ar_padron(random.Random(18), 300)
    schema = infer_schema(sample)
    assert schema.kinds()["APELLIDO Y NOMBRE"] == "full_name"
    for row in canaries_of(sample, 3, 30):
        surnames, comma, given = row[0].partition(", ")
        assert comma and surnames.split()[0] in AR_SURNAMES and given in AR_GIVEN, row[0]


def test_a_roll_sorted_by_name_and_numbered_without_gaps_takes_canaries_at_its_end(
    tmp_path: Path,
) -> None:
    # Sorted by "SURNAMES, GIVEN NAMES" and numbered 1..n: a canary can only follow the
    # last row, and only with a name that sorts after it. Taking the last row's first
    # surname alone left no canary that fits ("no canary row fits anywhere"): the
    # second surname and a given name of the column's that sorts there are taken too.
    from sqlalchemy import select

    store = store_with(
        tmp_path, "avisos.example.ar", [f"+549351{5000000 + 7919 * i}" for i in range(12)]
    )
    sample = ar_padron(random.Random(19), 150, numbered=True)
    src = tmp_path / "padron.csv"
    write_csv(src, sample.header, sample.rows)
    copies = issue(store, src, tmp_path, 1)
    with store.session() as s:
        made = [dict(c.values) for c in s.scalars(select(Canary).where(Canary.kind == "planted"))]
    assert len(copies) == 3 and all(copy.canaries >= 2 for copy in copies)
    last = fold_name(sample.rows[-1][1])
    for values in made:
        assert fold_name(values["APELLIDO Y NOMBRE"]) >= last
        assert int(values["ORDEN"]) > 150
    store.dispose()


def fold_name(text: str) -> str:
    from canary.text import fold

    return fold(text)


def test_a_brazilian_cep_is_a_postal_code_not_a_phone() -> None:
    # "24855-546" has a landline's eight digits: read as a second phone column, a canary's
    # mobile was written in it, and its place was taken by the CEP's "area code".
    r = random.Random(20)
    cities = {"Niterói": ("21", "24"), "Campinas": ("19", "13"), "Belo Horizonte": ("31", "30")}
    rows = []
    for g, p, m, _e, _ph in people(r, 200):
        city = r.choice(list(cities))
        ddd, cep = cities[city]
        rows.append(
            [f"{g} {p} {m}", city, f"{cep}{r.randint(0, 999):03d}-{r.randint(0, 999):03d}",
             f"({ddd}) 9{r.randint(6000, 9999)}-{r.randint(0, 9999):04d}"]
        )  # fmt: skip
    sample = Sample(["Nome", "Cidade", "CEP", "Celular"], rows, True, 200)
    assert infer_schema(sample).kinds()["CEP"] == "place"
    f = CanaryFactory(infer_schema(sample), sample, domains=["a.example"], rng=random.Random(2))
    for k in range(20):
        row = f.make_row(f.persona(), phone=f"+55{r.choice(['21', '19', '31'])}9{71000000 + k}")
        assert row is not None and re.fullmatch(r"\d{5}-\d{3}", row[2]), row
        ddd, cep = cities[row[1]]
        assert row[2].startswith(cep) and row[3].startswith(f"({ddd})"), row


def test_mobiles_written_with_mexicos_old_044_prefix_keep_it() -> None:
    # "044 844 123 4567" (the prefix once dialed before a mobile) was read as a 13-digit
    # number, so no mask of the column fit a canary's ten digits and canaries were the
    # column's only numbers without it.
    r = random.Random(21)
    rows = [
        [f"{g} {p} {m}", f"044 844 {r.randint(200, 999)} {r.randint(1000, 9999)}", e]
        for g, p, m, e, _ph in people(r, 200)
    ]
    sample = Sample(["Nombre", "Celular", "Correo"], rows, True, 200)
    f = CanaryFactory(infer_schema(sample), sample, domains=["a.example"], rng=random.Random(3))
    for k in range(10):
        number = f"+52844{3100000 + 91 * k}"
        row = f.make_row(f.persona(), phone=number)
        assert row is not None and row[1] == f"044 844 {number[6:9]} {number[9:]}", row[1]


CL_PLACES = {"Santiago": "2", "Providencia": "2", "Valparaíso": "32", "Concepción": "41"}


def cl_contacts(r: random.Random, n: int) -> Sample:
    """A Chilean list with a landline column ("+56 2 2345 6789" in Santiago, "+56 32 234
    5678" in Valparaíso: nine digits both, grouped by area code) beside the mobiles."""
    rows = []
    for g, p, m, _e, _ph in people(r, n):
        place = r.choice(list(CL_PLACES))
        code = CL_PLACES[place]
        tail = f"2{r.randint(100, 999)} {r.randint(1000, 9999)}"
        if code != "2":
            tail = f"{r.randint(200, 299)} {r.randint(1000, 9999)}"
        fijo = "" if r.random() < 0.3 else f"+56 {code} {tail}"
        mobile = f"+56 9 {r.randint(5000, 9999)} {r.randint(1000, 9999)}"
        rows.append([f"{g} {p} {m}", place, fijo, mobile])
    return Sample(["Nombre", "Comuna", "Teléfono fijo", "Celular"], rows, True, n)


@pytest.mark.parametrize("landlines", [True, False])
def test_a_landline_column_beside_the_mobiles_gets_a_landline_of_ours_or_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, landlines: bool
) -> None:
    # "Teléfono fijo" came first, so canaries' numbers went in it and "Celular" held the
    # same number again: every canary with both had one number twice, and with landlines
    # in the pool Santiago landlines were written in the mobile column.
    from sqlalchemy import select

    from canary.store.models import Identifier

    mobiles = [f"+569{71000000 + 7919 * i}" for i in range(8)]
    fixed = [f"+5622{7100000 + 7919 * i}" for i in range(4)]
    fixed += [f"+5632{2100000 + 7919 * i}" for i in range(2)]
    fixed += [f"+5641{2100000 + 7919 * i}" for i in range(2)]
    store = store_with(tmp_path, "avisos.example.cl", mobiles, fixed if landlines else [])
    sample = cl_contacts(random.Random(22), 300)
    src = tmp_path / "contactos.csv"
    write_csv(src, sample.header, sample.rows)
    with caplog.at_level("WARNING"):
        copies = issue(store, src, tmp_path, 2, copies=4)
    with store.session() as s:
        made = s.scalars(select(Canary).where(Canary.kind == "planted")).all()
        holders: dict[str, set[str | None]] = {}
        for c in made:
            for i in s.scalars(select(Identifier).where(Identifier.canary_id == c.id)):
                holders.setdefault(i.value, set()).add(c.copy_id)
        rows = [(c.copy_id, dict(c.values)) for c in made]
    assert len(copies) == 4 and len(rows) >= 8
    with_landline = 0
    for copy_id, values in rows:
        mobile = "+" + re.sub(r"\D", "", values["Celular"])
        assert mobile in mobiles, values
        landline = values["Teléfono fijo"]
        if not landline:
            continue
        with_landline += 1
        number = "+" + re.sub(r"\D", "", landline)
        assert number in fixed and number != mobile, values
        # its place's area code, written as the column writes that area code's numbers
        code = CL_PLACES[values["Comuna"]]
        assert landline.startswith(f"+56 {code} "), values
        assert len(landline.split()[2]) == (4 if code == "2" else 3), values
        # registered as the canary's: a call to it traces to its copy (among the copies
        # sharing that number where the pool is smaller than the copies need)
        assert copy_id in holders[number]
    if landlines:
        assert with_landline >= len(rows) // 2
    else:
        assert with_landline == 0
        assert any("no canary number fits the phone column" in m for m in caplog.messages)
    store.dispose()


def test_numbers_are_grouped_as_the_column_groups_their_area_code() -> None:
    # Mexico City's "55 1234 5678" and Saltillo's "844 123 4567" have ten digits both: a
    # Saltillo canary written "84 4123 4567" has its area code cut where no row's is.
    r = random.Random(23)
    rows = []
    for g, p, m, e, _ph in people(r, 300):
        if r.random() < 0.5:
            phone = f"55 {r.randint(2000, 9999)} {r.randint(1000, 9999)}"
        else:
            phone = f"844 {r.randint(200, 999)} {r.randint(1000, 9999)}"
        rows.append([f"{g} {p} {m}", phone, e])
    sample = Sample(["Nombre", "Teléfono", "Correo"], rows, True, 300)
    f = CanaryFactory(infer_schema(sample), sample, domains=["a.example"], rng=random.Random(4))
    for k in range(20):
        number = f"+52844{3100000 + 91 * k}" if k % 2 else f"+5255{31000000 + 91 * k}"
        row = f.make_row(f.persona(), phone=number)
        assert row is not None
        head = "844 " if k % 2 else "55 "
        assert row[1].startswith(head) and len(row[1]) == 12, row[1]


def test_a_second_column_of_like_numbers_takes_another_of_the_copys_numbers(
    tmp_path: Path,
) -> None:
    # A Mexican list with "Tel. casa" and "Celular", both Saltillo numbers a reader cannot
    # tell apart: each canary's second number is another of its copy's own, never its
    # first again.
    from sqlalchemy import select

    store = store_with(
        tmp_path, "avisos.example.mx", [f"+52844{3100000 + 7919 * i}" for i in range(12)]
    )
    r = random.Random(24)
    rows = [
        [f"{g} {p} {m}", f"844 {r.randint(200, 999)} {r.randint(1000, 9999)}",
         f"844 {r.randint(200, 999)} {r.randint(1000, 9999)}", e]
        for g, p, m, e, _ph in people(r, 300)
    ]  # fmt: skip
    src = tmp_path / "casa.csv"
    write_csv(src, ["Nombre", "Tel. casa", "Celular", "Correo"], rows)
    issue(store, src, tmp_path, 3, copies=3)
    with store.session() as s:
        made = [
            (c.copy_id, dict(c.values))
            for c in s.scalars(select(Canary).where(Canary.kind == "planted"))
        ]
    numbers: dict[str, set[str]] = {}
    for copy_id, values in made:
        numbers.setdefault(copy_id, set()).add(values["Celular"])
    pairs = 0
    for copy_id, values in made:
        if values["Tel. casa"]:
            pairs += 1
            assert values["Tel. casa"] != values["Celular"], values
            assert values["Tel. casa"] in numbers[copy_id], values
    assert pairs >= len(made) // 2
    store.dispose()


def test_coded_canaries_get_a_landline_of_their_holders_too(tmp_path: Path) -> None:
    # A coded canary (`--collusion`) is one row written into several copies: its second
    # number comes from the same copy's numbers its first does, never its first again.
    from sqlalchemy import select

    store = store_with(
        tmp_path,
        "avisos.example.cl",
        [f"+569{71000000 + 7919 * i}" for i in range(12)],
        [f"+5622{7100000 + 7919 * i}" for i in range(12)],
    )
    sample = cl_contacts(random.Random(25), 400)
    src = tmp_path / "contactos.csv"
    write_csv(src, sample.header, sample.rows)
    issue(store, src, tmp_path, 4, copies=6, collusion=2)
    with store.session() as s:
        made = [dict(c.values) for c in s.scalars(select(Canary).where(Canary.kind == "planted"))]
    seen = Counter(tuple(v.values()) for v in made)
    coded = [dict(zip(made[0], k, strict=True)) for k, n in seen.items() if n > 1]
    assert coded
    filled = [v for v in coded if v["Teléfono fijo"]]
    assert filled
    for values in filled:
        assert values["Teléfono fijo"].startswith("+56 2 2"), values
        assert values["Celular"].startswith("+56 9 "), values
    store.dispose()


def cl_debtors(r: random.Random, n: int) -> Sample:
    """RUTs of 5 to 24 millions with their check digit, debts in whole thousands."""
    from stdnum.cl import rut

    rows = []
    for g, p, m, _e, _ph in people(r, n):
        body = str(r.randint(5_000_000, 24_000_000))
        number = f"{int(body):,}".replace(",", ".") + "-" + rut.calc_check_digit(body)
        debt = f"$ {r.choice([1, 2, 5, 10, 25]) * r.randint(10, 400) * 1000:,}".replace(",", ".")
        rows.append([number, f"{g} {p} {m}", debt])
    return Sample(["RUT", "Nombre", "Deuda"], rows, True, n)


def test_a_rut_is_an_id_drawn_within_the_columns_magnitudes() -> None:
    # "RUT" was read as free text and varied character by character ("19.90.880-1");
    # as an id, its digits drawn one by one gave "29.956.832-6" in a column of 5 to 24
    # millions (numbers handed out in order: the leading digits are a magnitude).
    sample = cl_debtors(random.Random(26), 400)
    assert infer_schema(sample).kinds()["RUT"] == "id"
    for row in canaries_of(sample, 5, 60):
        assert re.fullmatch(r"\d{1,2}\.\d{3}\.\d{3}-[\dK]", row[0]), row[0]
        assert 5_000_000 <= int(re.sub(r"\D", "", row[0][:-2])) <= 24_999_999, row[0]


def test_amounts_keep_the_roundness_of_the_columns() -> None:
    # Debts in whole thousands ("$ 1.460.000") got canaries "$ 2.793.510": rounded to
    # tens only.
    sample = cl_debtors(random.Random(27), 400)
    made = [row[2] for row in canaries_of(sample, 6, 80)]
    assert all(int(re.sub(r"\D", "", v)) % 1000 == 0 for v in made), made


def school_roll(r: random.Random, n: int) -> Sample:
    """Pupils with two given-name columns and a guardian whose first surname is the
    pupil's second (a mother's), or first (a father's)."""
    girls = "VALENTINA MARIANA SOFIA ISABELLA SALOME GABRIELA LAURA SARA ANTONELLA EMILY"
    boys = "JUAN SANTIAGO JACOBO SAMUEL MATIAS NICOLAS SEBASTIAN DAVID THIAGO EMMANUEL"
    girls, boys = girls.split(), boys.split()
    seconds = {
        "F": ["ALEJANDRA", "SOFIA", "LUCIA", "", ""],
        "M": ["ESTEBAN", "CAMILO", "DAVID", ""],
    }
    mothers, fathers = ["SANDRA", "LUZ MARY", "DIANA", "MARIA"], ["JORGE", "EDWIN", "CARLOS"]
    surnames = ["GARCIA", "CASTRO", "HENAO", "OSORIO", "PARRA", "CUARTAS", "MARTINEZ", "DIAZ"]
    rows = []
    for _ in range(n):
        sex = r.choice("FM")
        first = r.choice(girls if sex == "F" else boys)
        second = r.choice([x for x in seconds[sex] if x != first])
        s1, s2, s3 = r.choice(surnames), r.choice(surnames), r.choice(surnames)
        mother = r.random() < 0.7
        guardian = f"{r.choice(mothers)} {s2} {s3}" if mother else f"{r.choice(fathers)} {s1} {s3}"
        rows.append([s1, s2, first, second, sex, guardian, "MADRE" if mother else "PADRE"])
    return Sample(
        ["APELLIDO1", "APELLIDO2", "NOMBRE1", "NOMBRE2", "GENERO", "ACUDIENTE", "PARENTESCO"],
        rows,
        True,
        n,
    )


def test_a_second_given_name_column_and_a_guardian_are_not_the_canarys_own_name() -> None:
    # "NOMBRE2" was a second given-name column, so it got the canary's first name again
    # ("NICOLAS | NICOLAS"), and "ACUDIENTE" got the canary's whole name: every canary
    # was its own guardian.
    sample = school_roll(random.Random(28), 400)
    guardians_given = {" ".join(r[5].split()[:-2]) for r in sample.rows}
    shares = 0
    made = canaries_of(sample, 7, 60)
    for row in made:
        s1, s2, first, second, _sex, guardian = row[:6]
        assert second != first, row
        assert " ".join(guardian.split()[:-2]) in guardians_given, row  # a parent's name
        shares += s1 in guardian.split() or s2 in guardian.split()
    assert shares >= len(made) // 2  # sharing a surname, as real guardians mostly do


def test_a_spouse_column_holds_another_first_name() -> None:
    # "Spouse/Partner" beside "First Name" held the canary's own first name in every
    # filled cell ("Carol Hall, spouse Carol").
    r = random.Random(29)
    women = "Mary Linda Karen Susan Carol Nancy Lisa Betty Sandra Donna Ruth Sharon".split()
    men = "John David Michael Peter James Robert William Richard Thomas Daniel Paul Mark".split()
    rows = []
    for _ in range(400):
        woman = r.random() < 0.5
        first = r.choice(women if woman else men)
        spouse = "" if r.random() < 0.6 else r.choice(men if woman else women)
        rows.append([first, r.choice(["Smith", "Hall", "Moore", "Nelson", "Lee"]), spouse])
    sample = Sample(["First Name", "Last Name", "Spouse/Partner"], rows, True, 400)
    made = canaries_of(sample, 8, 60)
    assert any(row[2] for row in made)
    for row in made:
        assert row[2] != row[0], row
        if row[2]:  # the other sex's name, as the column's rows of the canary's sex hold
            assert (row[0] in women) == (row[2] in men), row


def test_fecha_nac_is_a_birth_date() -> None:
    from canary.synth.headers import kind_from_header

    assert kind_from_header("FECHA NAC.") == "birth_date"
    assert kind_from_header("Fecha de Nac.") == "birth_date"


def test_dates_in_order_in_every_row_stay_in_order_in_canaries() -> None:
    # "Joined" and "Last Gift Date" were drawn apart: 22% of a donor list's canaries gave
    # their last gift before they joined, which no member does.
    r = random.Random(30)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        joined = date(2005, 1, 1) + timedelta(days=r.randint(0, 6000))
        last = joined + timedelta(days=r.randint(0, 1500))
        rows.append([g, p, e, f"{joined:%m/%d/%Y}", f"{last:%m/%d/%Y}", f"{r.randint(1, 40)}.00"])
    header = ["First Name", "Last Name", "Email", "Joined", "Last Gift Date", "Gift"]
    sample = Sample(header, rows, True, 400)
    for row in canaries_of(sample, 9, 80):
        joined, last = (datetime.strptime(v, "%m/%d/%Y") for v in row[3:5])
        assert last >= joined, row
        assert row[5].endswith(".00"), row  # whole amounts stay whole


def test_a_category_tied_to_another_takes_a_value_of_rows_like_the_canary() -> None:
    # Dues were drawn apart from the membership level (69% of a donor list's canaries
    # paid another level's), a class group apart from its grade ("GRADO 9", "GRUPO 102").
    r = random.Random(31)
    dues = {"Individual": "35.00", "Family": "85.00", "Patron": "250.00", "Student": "15.00"}
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        level = r.choice(list(dues))
        grade = r.randint(1, 11)
        rows.append([g, p, e, level, dues[level], str(grade), f"{grade}0{r.randint(1, 3)}"])
    header = ["Nombre", "Apellido", "Correo", "Nivel", "Cuota", "GRADO", "GRUPO"]
    sample = Sample(header, rows, True, 400)
    for row in canaries_of(sample, 10, 60):
        assert row[4] == dues[row[3]], row
        assert row[6].startswith(row[5]) and len(row[6]) == len(row[5]) + 2, row


def test_a_postal_code_stays_in_its_town() -> None:
    # A code held by k rows is replaced by one held by k - 1 sharing its leading digits:
    # across the whole column, a third of a donor list's canaries got a neighbouring
    # town's code ("Eugene OR 97302", a Salem code).
    r = random.Random(32)
    towns = {
        "Portland": [f"972{i:02d}" for i in range(1, 21)],
        "Salem": [f"973{i:02d}" for i in range(1, 7)],
        "Eugene": [f"974{i:02d}" for i in range(1, 5)],
        "Beaverton": [f"970{i:02d}" for i in range(5, 9)],
    }
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        town = r.choice(list(towns))
        code = r.choice(towns[town])
        rows.append([g, p, e, f"{r.randint(100, 9999)} SW Main St", town, "OR", code])
    header = ["First Name", "Last Name", "Email", "Address", "City", "State", "ZIP"]
    sample = Sample(header, rows, True, 400)
    for row in canaries_of(sample, 11, 80):
        assert row[6] in towns[row[4]], row


def test_a_cuil_holds_the_canarys_own_dni() -> None:
    # Drawn apart, no canary's CUIL held its DNI, as every real row's does, and half
    # had the other sex's prefix (20 a man, 27 a woman).
    from stdnum.ar import cuit

    r = random.Random(33)
    rows = []
    for g, p, _m, _e, _ph in people(r, 400):
        sex = r.choice("FM")
        dni = str(r.randint(10_000_000, 45_000_000))
        body = ("27" if sex == "F" else "20") + dni
        number = f"{body[:2]}-{dni}-{cuit.calc_check_digit(body)}"
        rows.append([f"{p.upper()}, {g.upper()}", dni, number, sex])
    sample = Sample(["APELLIDO Y NOMBRE", "DNI", "CUIL", "SEXO"], rows, True, 400)
    for row in canaries_of(sample, 12, 60):
        prefix, dni, _check = row[2].split("-")
        assert dni == row[1], row
        assert prefix == ("27" if row[3] == "F" else "20"), row
        assert cuit.is_valid(row[2]), row


def test_whole_names_have_one_surname_as_often_as_the_columns() -> None:
    # "GONZALEZ, CAMILA" in four rows of five: every canary of an Argentine roll had
    # two surnames ("TORRES DIAZ, GABRIELA").
    r = random.Random(34)
    rows = []
    for g, p, m, _e, _ph in people(r, 400):
        surnames = f"{p} {m}" if r.random() < 0.2 else p
        rows.append([f"{surnames}, {g}".upper(), str(r.randint(10_000_000, 45_000_000))])
    sample = Sample(["APELLIDO Y NOMBRE", "DNI"], rows, True, 400)
    made = canaries_of(sample, 13, 100)
    two = sum(len(row[0].partition(",")[0].split()) >= 2 for row in made)
    assert 5 <= two <= 40, two


def ar_births(r: random.Random, n: int) -> Sample:
    """An Argentine roll whose DNIs were handed out in order of birth (about 650,000 a
    year from 4 millions in 1940), written "23.456.789", with birth date and age."""
    rows = []
    for g, p, _m, _e, _ph in people(r, n):
        born = date(1945, 1, 1) + timedelta(days=r.randint(0, 60 * 365))
        number = 4_000_000 + int((born.year - 1940 + r.random()) * 650_000)
        dni = f"{number:,}".replace(",", ".")
        age = 2024 - born.year - ((born.month, born.day) > (6, 1))
        rows.append([f"{p}, {g}".upper(), dni, f"{born:%d/%m/%Y}", str(age)])
    return Sample(["APELLIDO Y NOMBRE", "DNI", "FECHA NAC.", "EDAD"], rows, True, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_dni_handed_out_by_birth_is_one_of_the_canarys_year(seed: int) -> None:
    # Drawn from the whole column (as an amount, or digit by digit), 88% of an Argentine
    # roll's canaries had a DNI no one born within two years of them holds.
    sample = ar_births(random.Random(40 + seed), 400)
    by_year: dict[int, list[int]] = {}
    for row in sample.rows:
        by_year.setdefault(int(row[2][-4:]), []).append(int(row[1].replace(".", "")))
    real = {row[1] for row in sample.rows}
    for row in canaries_of(sample, seed, 60):
        year = int(row[2][-4:])
        near = [n for y in range(year - 2, year + 3) for n in by_year.get(y, [])]
        assert re.fullmatch(r"\d{1,2}\.\d{3}\.\d{3}", row[1]), row
        assert row[1] not in real, row
        assert min(near) <= int(row[1].replace(".", "")) <= max(near), row


def test_a_document_type_agrees_with_the_number_and_the_birth() -> None:
    # A Colombian roll: a civil registry number ("RC", ten digits from 1.1 billions)
    # under 7, an identity card ("TI", from 1.0 billions) under 18, a citizen's card
    # ("CC", eight digits) after. A canary's number follows its birth and its type
    # its number.
    r = random.Random(41)
    rows = []
    for g, p, _m, _e, _ph in people(r, 400):
        born = date(1975, 1, 1) + timedelta(days=r.randint(0, 45 * 365))
        age = 2024 - born.year
        kind = "RC" if age < 7 else "TI" if age < 18 else "CC"
        if kind == "CC":
            number = 30_000_000 + (born.year - 1975) * 900_000 + r.randint(0, 900_000)
        else:
            base = 1_100_000_000 if kind == "RC" else 1_000_000_000
            number = base + (born.year - 2000) * 2_000_000 + r.randint(0, 2_000_000)
        rows.append([g, p, kind, str(number), f"{born:%Y-%m-%d}"])
    sample = Sample(
        ["NOMBRE", "APELLIDO", "TIPO DOC", "NUMERO DOC", "FECHA NACIMIENTO"], rows, True, 400
    )
    for row in canaries_of(sample, 14, 80):
        age = 2024 - int(row[4][:4])
        number = int(row[3])
        kind = "CC" if number < 1_000_000_000 else "RC" if number >= 1_100_000_000 else "TI"
        assert row[2] == kind, row
        by_age = "RC" if age < 7 else "TI" if age < 18 else "CC"
        assert kind == by_age or min(abs(age - 7), abs(age - 18)) <= 1, row


def test_a_guardian_is_who_the_relationship_column_says() -> None:
    # A mother's first surname is the child's second, a father's the child's first; drawn
    # apart from "PARENTESCO", a canary's "MADRE" was named "JORGE" or carried the
    # child's first surname.
    sample = school_roll(random.Random(42), 400)
    mothers, fathers = {"SANDRA", "LUZ MARY", "DIANA", "MARIA"}, {"JORGE", "EDWIN", "CARLOS"}
    made = canaries_of(sample, 15, 80)
    assert {row[6] for row in made} == {"MADRE", "PADRE"}
    for row in made:
        s1, s2, guardian, relation = row[0], row[1], row[5].split(), row[6]
        given = " ".join(guardian[:-2])
        if relation == "MADRE":
            assert given in mothers and guardian[-2] == s2, row
        else:
            assert given in fathers and guardian[-2] == s1, row


def test_a_grade_follows_the_year_of_birth() -> None:
    # Pupils are in the grade of the year they were born (give or take one); with only a
    # birth date beside it, a canary's grade was drawn from the whole column: 67% of a
    # school roll's canaries sat in a grade no pupil of their age was in.
    r = random.Random(43)
    rows = []
    for g, p, _m, _e, _ph in people(r, 400):
        born = date(2008, 1, 1) + timedelta(days=r.randint(0, 11 * 365))
        grade = max(0, 2018 - born.year - (r.random() < 0.1))
        shift = "MAÑANA" if grade >= 6 else "TARDE"
        rows.append([g, p, f"{born:%d/%m/%Y}", str(grade), shift])
    sample = Sample(["NOMBRE", "APELLIDO", "FECHA NACIMIENTO", "GRADO", "JORNADA"], rows, True, 400)
    grades: dict[str, set[str]] = {}
    for row in sample.rows:
        grades.setdefault(row[2][-4:], set()).add(row[3])
    for row in canaries_of(sample, 16, 80):
        assert row[3] in grades[row[2][-4:]], row
        assert row[4] == ("MAÑANA" if int(row[3]) >= 6 else "TARDE"), row


def test_numbers_the_rows_make_of_others_are_made_so_in_canaries() -> None:
    # A subtotal of a quantity times a price, a tax of 16%, a total of the two, lifetime
    # giving never below the last gift: drawn apart, 39% of a donor list's canaries had
    # given less in all their years than one gift.
    r = random.Random(44)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        qty, price = r.randint(1, 12), r.choice([35.0, 85.0, 250.0, 15.5])
        subtotal = qty * price
        tax = round(subtotal * 0.16, 2)
        last = r.choice([25, 50, 100, 250, 500])
        lifetime = last + r.randint(0, 40) * 25
        rows.append(
            [g, p, e, str(qty), f"{price:,.2f}", f"{subtotal:,.2f}", f"{tax:,.2f}",
             f"{subtotal + tax:,.2f}", f"${last:,}", f"${lifetime:,}"]
        )  # fmt: skip
    header = ["Nombre", "Apellido", "Correo", "Cantidad", "Precio", "Subtotal", "IVA", "Total",
              "Last Gift", "Lifetime"]  # fmt: skip
    sample = Sample(header, rows, True, 400)

    def num(text: str) -> float:
        return float(text.replace("$", "").replace(",", ""))

    for row in canaries_of(sample, 17, 60):
        qty, price, subtotal, tax, total = (num(v) for v in row[3:8])
        assert subtotal == pytest.approx(qty * price), row
        assert total == pytest.approx(subtotal + tax), row
        assert tax == pytest.approx(subtotal * 0.16, abs=0.01), row
        assert num(row[9]) >= num(row[8]), row
        for v in row[4:8]:
            assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", v), row
        assert re.fullmatch(r"\$\d{1,3}(,\d{3})*", row[9]), row


def test_a_number_in_a_streets_name_is_kept() -> None:
    # "19 DE ABRIL 455" came out "2219 DE ABRIL 455": the street's own number was varied
    # as a house number is. Streets named for dates and numbered streets keep theirs.
    r = random.Random(45)
    streets = ["25 DE MAYO", "9 DE JULIO", "19 DE ABRIL", "SAN MARTIN", "BELGRANO", "CALLE 10"]
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        floor = f" PISO {r.randint(1, 9)}" if r.random() < 0.2 else ""
        rows.append([g, p, e, f"{r.choice(streets)} {r.randint(10, 3999)}{floor}", "CORDOBA"])
    sample = Sample(["Nombre", "Apellido", "Correo", "DOMICILIO", "LOCALIDAD"], rows, True, 400)
    held = {row[3] for row in sample.rows}
    made = canaries_of(sample, 18, 80)
    for row in made:
        street = re.sub(r" \d+( PISO \d)?$", "", row[3])
        assert street in streets, row
        assert row[3] not in held, row


def test_a_guardian_is_the_same_every_time_a_row_is_made() -> None:
    # make_row is repeatable: the provisional row checked against the source and the row
    # written are one. A table too small for its own names drew the guardian's from the
    # factory's stream, so each call named another guardian.
    sample = school_roll(random.Random(46), 12)
    f = CanaryFactory(infer_schema(sample), sample, domains=["a.example.mx"], rng=random.Random(3))
    for persona in [f.persona() for _ in range(10)]:
        first = f.make_row(persona)
        f.persona()  # the factory's stream moves on between the two
        assert f.make_row(persona) == first


@pytest.mark.parametrize("seed", SEEDS)
def test_an_age_is_the_one_the_tables_rule_gives_the_birth_date(seed: int) -> None:
    # The day ages were computed on was estimated from the median of birth plus age, a
    # few weeks off: canaries born in those weeks were a year off the table's own rule.
    sample = ar_births(random.Random(40 + seed), 400)
    for row in canaries_of(sample, seed, 120):
        d, m, y = (int(x) for x in row[2].split("/"))
        assert row[3] == str(2024 - y - ((m, d) > (6, 1))), row


def test_in_a_roll_sorted_by_grade_a_canary_sits_among_pupils_of_its_year(
    tmp_path: Path,
) -> None:
    # Sorted by grade, a canary takes its neighbours' grade while its birth is its own:
    # placed at random, 67% of a school roll's canaries sat in a grade no pupil of their
    # age was in. It now goes where pupils born in its year are.
    from sqlalchemy import select

    r = random.Random(47)
    rows = []
    for g, p, _m, e, _ph in people(r, 300):
        born = date(2008, 2, 1) + timedelta(days=r.randint(0, 10 * 365))
        grade = 2023 - born.year - (born.month == 1)
        rows.append([str(grade), f"{grade}0{r.randint(1, 2)}", p, g, f"{born:%d/%m/%Y}", e])
    rows.sort(key=lambda x: (int(x[0]), x[1], x[2]))
    header = ["GRADO", "GRUPO", "APELLIDO", "NOMBRE", "FECHA NACIMIENTO", "CORREO"]
    src = tmp_path / "matricula.csv"
    write_csv(src, header, rows)
    store = store_with(
        tmp_path, "avisos.example.mx", [f"+52844{3100000 + 37 * i}" for i in range(12)]
    )
    grades: dict[str, set[str]] = {}
    for row in rows:
        grades.setdefault(row[4][-4:], set()).add(row[0])
    copies = issue(store, src, tmp_path, 5, copies=4)
    with store.session() as s:
        made = [dict(c.values) for c in s.scalars(select(Canary).where(Canary.kind == "planted"))]
    assert len(made) >= 8 and all(copy.canaries >= 2 for copy in copies)
    for values in made:
        assert values["GRADO"] in grades[values["FECHA NACIMIENTO"][-4:]], values
        assert values["GRUPO"].startswith(values["GRADO"]), values
    store.dispose()


def test_a_rare_category_tied_to_age_follows_it() -> None:
    # "TI" in most rows of a school roll, "RC" under 7, "CC" from 18: a gain of a tenth
    # of the rows, under the bar of a third, so a 15-year-old canary held an "RC".
    r = random.Random(48)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        age = r.choice([5, 6] + list(range(7, 18)) * 4 + [18, 19])
        kind = "RC" if age < 7 else "TI" if age < 18 else "CC"
        rows.append([kind, g, p, e, str(age)])
    sample = Sample(["TIPO DOC", "NOMBRE", "APELLIDO", "CORREO", "EDAD"], rows, True, 400)
    for row in canaries_of(sample, 19, 80):
        age = int(row[4])
        assert row[0] == ("RC" if age < 7 else "TI" if age < 18 else "CC"), row


def test_a_guardian_follows_a_relationship_column_that_tells_less() -> None:
    # Grandmothers carry either surname, and names no list knows ("LEIDY JOHANA", "JHON
    # JAIRO") have no sex: the relationship column removed less than the 60% of misses
    # asked of it, so a canary's "MADRE" could be named "JHON JAIRO".
    r = random.Random(49)
    mothers, fathers = ["LEIDY JOHANA", "YULIETH", "SANDRA MILENA"], ["JHON JAIRO", "EDWIN"]
    grannies = ["MARIA DOLORES", "BLANCA NIDIA"]
    surnames = ["GARCIA", "CASTRO", "HENAO", "OSORIO", "PARRA", "CUARTAS", "MARTINEZ", "DIAZ"]
    rows = []
    for g, _p, _m, e, _ph in people(r, 400):
        s1, s2, s3 = r.sample(surnames, 3)
        relation = r.choices(["MADRE", "PADRE", "ABUELA"], [6, 3, 1])[0]
        given = r.choice({"MADRE": mothers, "PADRE": fathers, "ABUELA": grannies}[relation])
        first = {"MADRE": s2, "PADRE": s1, "ABUELA": r.choice([s1, s2])}[relation]
        rows.append([s1, s2, g, e, f"{given} {first} {s3}", relation])
    header = ["APELLIDO1", "APELLIDO2", "NOMBRE1", "CORREO", "ACUDIENTE", "PARENTESCO"]
    sample = Sample(header, rows, True, 400)
    for row in canaries_of(sample, 20, 80):
        given = " ".join(row[4].split()[:-2])
        held = {"MADRE": mothers, "PADRE": fathers, "ABUELA": grannies}[row[5]]
        assert given in held, row


def test_a_number_by_birth_keeps_away_from_other_series_and_zero_padding() -> None:
    # A foreigner's card ("001920912", nine digits, zero-padded) among eight-digit DNIs
    # made an empty range and failed the issue; foreigners' 92 millions among DNIs of
    # 30 stretched the range, and canaries got DNIs of 70 millions no one holds.
    from canary.synth.ids import BirthOrder

    r = random.Random(50)
    births, values = [], []
    for k in range(400):
        born = date(1950, 1, 1).toordinal() + r.randint(0, 50 * 365)
        year = date.fromordinal(born).year
        if k % 10 == 0:
            values.append(f"{r.randint(1_000_000, 2_000_000):09d}")  # a foreigner's card
        elif k % 10 == 1:
            values.append(str(r.randint(92_000_000, 95_000_000)))  # a newcomer's DNI
        else:
            values.append(str(4_000_000 + int((year - 1940 + r.random()) * 650_000)))
        births.append(born)
    order = BirthOrder(births, values)
    assert order.follows
    for k in range(300):
        born = date(1950, 1, 1).toordinal() + r.randint(0, 50 * 365)
        row, texts = order.draw(born, random.Random(k))
        source = int(values[row])
        for text in texts:
            assert len(text) == len(values[row]), (values[row], text)
            assert abs(int(text) - source) <= 0.25 * source + 1000, (values[row], text)


@pytest.mark.parametrize("bonuses", [[0.0, 95.4, 120.4], [95.4]])
def test_a_total_of_three_parts_is_their_sum(bonuses: list[float]) -> None:
    # A payroll's "Total devengado" is the base salary, seniority and a bonus (the same
    # for all, or not): drawn apart, 99% of its canaries' totals were not the sum
    # ("1.571,76" where every real total ends in ",40").
    r = random.Random(51)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        base = r.choice([1184.0, 1350.0, 1735.0, 2210.0])
        seniority = 31.0 * r.randint(0, 8)
        bonus = r.choice(bonuses)
        amounts = (base, seniority, bonus, base + seniority + bonus)
        spanish = [
            f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") for x in amounts
        ]
        rows.append([g, p, e, *spanish])
    header = [
        "Nombre",
        "Apellidos",
        "Email",
        "Salario base",
        "Antigüedad",
        "Plus",
        "Total devengado",
    ]
    sample = Sample(header, rows, True, 400)

    def num(text: str) -> float:
        return float(text.replace(".", "").replace(",", "."))

    for row in canaries_of(sample, 21, 60):
        assert num(row[6]) == pytest.approx(sum(num(v) for v in row[3:6])), row
        assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d", row[6]), row


@pytest.mark.parametrize("every", [10, 100])
def test_an_address_whose_shape_is_taken_ends_in_digits_as_the_columns_do(every: int) -> None:
    # Few names, all written "given.surname" (a collision's one digit in one address of
    # ten): canaries whose shapes were taken got three digits ("mmsanchez547"), and 47%
    # of a payroll's canaries ended in two digits or more where no real address did.
    r = random.Random(52)
    given = ["antonio", "maria", "jose", "carmen", "david", "laura"]
    surnames = ["garcia", "lopez", "sanchez", "martin", "perez"]
    rows = []
    for k in range(400):
        g, p = r.choice(given), r.choice(surnames)
        digit = str(r.randint(2, 9)) if k % every == 0 else ""  # (four: too few to draw from)
        rows.append([g.upper(), p.upper(), f"{g}.{p}{digit}@empresa.es"])
    sample = Sample(["Nombre", "Apellido", "Email"], rows, True, 400)
    made = canaries_of(sample, 22, 60)
    assert not [row[2] for row in made if re.search(r"\d\d@", row[2])]


def test_a_date_stays_as_far_from_another_as_every_rows_is() -> None:
    # Hired at 16 at the youngest: in order alone, 17% of a payroll's canaries were hired
    # younger.
    r = random.Random(53)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        born = date(1960, 1, 1) + timedelta(days=r.randint(0, 40 * 365))
        hired = born + timedelta(days=int(365.25 * 16) + r.randint(0, 20 * 365))
        rows.append([g, p, e, f"{born:%d/%m/%Y}", f"{min(hired, date(2024, 12, 31)):%d/%m/%Y}"])
    sample = Sample(["Nombre", "Apellidos", "Email", "F. Nacimiento", "F. Alta"], rows, True, 400)
    for row in canaries_of(sample, 23, 80):
        born, hired = (datetime.strptime(v, "%d/%m/%Y") for v in row[3:5])
        assert (hired - born).days >= int(365.25 * 16), row


def test_a_given_name_is_of_the_canarys_generation() -> None:
    # "NORMA" and "RAUL" born in the forties, "MICAELA" and "LAUTARO" in the 2000s: drawn
    # from the whole column, 35% of an Argentine roll's canaries had a name no one of
    # their generation holds ("RAMIREZ, MARTA" born in 1999).
    r = random.Random(54)
    names = {
        "old": (["NORMA", "MIRTA", "ELSA"], ["RAUL", "OSVALDO", "HECTOR"]),
        "mid": (["SILVIA", "CLAUDIA", "MARCELA"], ["GUSTAVO", "DIEGO", "SERGIO"]),
        "young": (["MICAELA", "CAMILA", "JULIETA"], ["LAUTARO", "FACUNDO", "TOMAS"]),
    }
    rows = []
    for _g, p, _m, _e, _ph in people(r, 400):
        born = date(1940, 1, 1) + timedelta(days=r.randint(0, 65 * 365))
        era = "old" if born.year < 1962 else "mid" if born.year < 1984 else "young"
        sex = r.choice("FM")
        given = r.choice(names[era][sex == "M"])
        rows.append([f"{p.upper()}, {given}", sex, f"{born:%d/%m/%Y}"])
    sample = Sample(["APELLIDO Y NOMBRE", "SEXO", "FECHA NAC."], rows, True, 400)
    era_of = {n: era for era, pair in names.items() for group in pair for n in group}
    made = canaries_of(sample, 24, 120)
    off = 0
    for row in made:
        year = int(row[2][-4:])
        given = row[0].partition(", ")[2]
        era = era_of.get(given)
        expected = "old" if year < 1962 else "mid" if year < 1984 else "young"
        near_edge = min(abs(year - 1962), abs(year - 1984)) <= 6
        off += era is not None and era != expected and not near_edge
    assert off <= len(made) // 10, off


def test_a_repeating_text_tied_to_the_place_stays_with_it() -> None:
    # A health post's name (32 of them in 400 rows, too many for a category) was drawn
    # from the whole column: 93% of a Peruvian list's canaries were registered at a post
    # in another city.
    r = random.Random(55)
    posts = {f"DISTRITO {d}": [f"C.S. {d}-{k}" for k in range(4)] for d in "ABCDEFGH"}
    rows = []
    for g, p, m, e, _ph in people(r, 400):
        district = r.choice(list(posts))
        rows.append([g, p, m, e, district, r.choice(posts[district])])
    sample = Sample(
        ["NOMBRES", "PATERNO", "MATERNO", "CORREO", "DISTRITO", "EESS"], rows, True, 400
    )
    for row in canaries_of(sample, 25, 80):
        assert row[5] in posts[row[4]], row


def roll_by_group(r: random.Random, n: int) -> list[list[str]]:
    """A school roll sorted by grade, group, both surnames and the given name, as an
    export from a school's enrolment system comes."""
    rows = []
    for g, p, m, e, _ph in people(r, n):
        born = date(2008, 2, 1) + timedelta(days=r.randint(0, 10 * 365))
        grade = 2023 - born.year - (born.month == 1)
        group = f"{grade}0{r.randint(1, 2)}"
        rows.append([str(grade), group, p.upper(), m.upper(), g.upper(), f"{born:%d/%m/%Y}", e])
    rows.sort(key=lambda x: (int(x[0]), x[1], fold_name(x[2]), fold_name(x[3]), fold_name(x[4])))
    return rows


def pairs_in_runs(
    copies: Sequence[object], mine: set[str], contact: int, same_run: Callable[..., bool]
) -> list[tuple[list[str], list[str]]]:
    """(row above, row below) around each canary of the copies (its value in column
    `contact` among `mine`) where both rows are of one run (`same_run`)."""
    pairs = []
    for copy in copies:
        with open(copy.path, encoding="utf-8", newline="") as fh:  # type: ignore[attr-defined]
            table = list(csv.reader(fh))[1:]
        for k, row in enumerate(table):
            if row[contact] not in mine:
                continue
            if k and same_run(table[k - 1], row):
                pairs.append((table[k - 1], row))
            if k + 1 < len(table) and same_run(row, table[k + 1]):
                pairs.append((row, table[k + 1]))
    return pairs


@pytest.mark.parametrize("seed", SEEDS)
def test_in_a_roll_sorted_by_name_inside_each_group_a_canary_keeps_the_order(
    tmp_path: Path, seed: int
) -> None:
    # Sorted by grade and group, then by surnames and given name: placed at random inside
    # its group, 93% of a school roll's canaries broke the alphabetical order there (0.7%
    # of real rows did, where a name was mistyped).
    rows = roll_by_group(random.Random(seed), 360)
    header = ["GRADO", "GRUPO", "APELLIDO1", "APELLIDO2", "NOMBRE", "FECHA NACIMIENTO", "CORREO"]
    src = tmp_path / "matricula.csv"
    write_csv(src, header, rows)
    store = store_with(
        tmp_path, "avisos.example.mx", [f"+52844{3100000 + 37 * i}" for i in range(12)]
    )
    copies = issue(store, src, tmp_path, seed, copies=4)
    ours = {c["CORREO"] for c in issued_canaries(store, [x.id for x in copies])}
    pairs = pairs_in_runs(copies, ours, 6, lambda a, b: a[:2] == b[:2])
    assert len(pairs) >= 10
    for above, below in pairs:
        key = [fold_name(v) for v in above[2:5]], [fold_name(v) for v in below[2:5]]
        assert key[0] <= key[1], (above, below)
    store.dispose()


def test_a_roll_in_no_order_inside_its_groups_has_no_run_order() -> None:
    from canary.synth.order import run_order

    rows = roll_by_group(random.Random(5), 360)
    assert run_order(rows, (0, 1), (2, 3, 4)) is not None
    assert run_order(rows, (0, 1), (2, 3, 4)).keys == (2, 3, 4)  # type: ignore[union-attr]
    shuffled = sorted(rows, key=lambda x: (int(x[0]), x[1], random.Random(x[6]).random()))
    assert run_order(shuffled, (0, 1), (2, 3, 4)) is None


def birth_coded(r: random.Random, n: int, form: str) -> Sample:
    """A roll whose document numbers hold the holder's birth date: a Colombian "tarjeta
    de identidad" of the old kind (YYMMDD and five digits), a Danish CPR (DDMMYY-NNNN)."""
    rows = []
    for g, p, m, _e, _ph in people(r, n):
        born = date(2006, 1, 1) + timedelta(days=r.randint(0, 10 * 365))
        serial = r.randint(0, 99999 if form == "ti" else 9999)
        doc = f"{born:%y%m%d}{serial:05d}" if form == "ti" else f"{born:%d%m%y}-{serial:04d}"
        rows.append([doc, f"{p} {m}".upper(), g.upper(), f"{born:%d/%m/%Y}"])
    return Sample(["DOCUMENTO", "APELLIDOS", "NOMBRES", "FECHA DE NACIMIENTO"], rows, True, n)


@pytest.mark.parametrize("form", ["ti", "cpr"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_document_that_holds_the_birth_date_holds_the_canarys(form: str, seed: int) -> None:
    # A Colombian school roll's old "TI" numbers begin with the pupil's birth date: 95%
    # of its canaries' numbers held another date than their birth column's.
    sample = birth_coded(random.Random(60 + seed), 300, form)
    real = {row[0] for row in sample.rows}
    made = canaries_of(sample, seed, 40)
    for row in made:
        born = datetime.strptime(row[3], "%d/%m/%Y")
        assert row[0] not in real, row
        if form == "ti":
            assert re.fullmatch(rf"{born:%y%m%d}\d{{5}}", row[0]), row
        else:
            assert re.fullmatch(rf"{born:%d%m%y}-\d{{4}}", row[0]), row
    assert len({row[0] for row in made}) == len(made)


def test_seniority_is_the_count_of_three_year_terms_times_the_rate_of_the_group() -> None:
    # A Spanish payroll pays each "trienio" at its group's rate ("A1" 51,83; "C2" 19,37):
    # drawn apart, 91% of its canaries' seniority pay was no count of terms at their rate.
    rates = {"A1": 51.83, "A2": 42.09, "C1": 31.69, "C2": 19.37, "E": 14.58}
    r = random.Random(52)
    rows = []
    for g, p, _m, e, _ph in people(r, 400):
        group, terms = r.choice(list(rates)), r.randint(0, 12)
        pay = f"{terms * rates[group]:.2f}".replace(".", ",")
        rows.append([g, p, e, group, str(terms), pay])
    header = ["Nombre", "Apellidos", "Email", "Grupo", "Trienios", "Antigüedad"]
    sample = Sample(header, rows, True, 400)
    for row in canaries_of(sample, 22, 60):
        pay = float(row[5].replace(",", "."))
        assert pay == pytest.approx(int(row[4]) * rates[row[3]], abs=0.006), row
        assert re.fullmatch(r"\d+,\d\d", row[5]), row


def test_a_neighbourhood_the_groups_share_at_random_is_not_taken_from_the_group(
    tmp_path: Path,
) -> None:
    # A school roll's neighbourhoods fall across its groups at random. Copied from a
    # pupil of the canary's group, every canary's (group, neighbourhood) pair was held
    # by another row of the copy, where a third of real pupils' pairs were (AUC 0.76).
    barrios = [f"BARRIO {name}" for name in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + ["CENTRO", "BOSTON"]
    header = ["GRADO", "GRUPO", "APELLIDO1", "APELLIDO2", "NOMBRE", "FECHA NACIMIENTO"]
    header += ["CORREO", "BARRIO"]
    store = store_with(
        tmp_path, "avisos.example.mx", [f"+52844{3100000 + 37 * i}" for i in range(12)]
    )
    shared = real = 0
    ours_shared = ours = 0
    for seed in SEEDS:
        r = random.Random(70 + seed)
        rows = [[*row, r.choice(barrios)] for row in roll_by_group(r, 360)]
        src = tmp_path / f"matricula{seed}.csv"
        write_csv(src, header, rows)
        copies = issue(store, src, tmp_path, seed, copies=4)
        mine = {c["CORREO"] for c in issued_canaries(store, [x.id for x in copies])}
        for copy in copies:
            with open(copy.path, encoding="utf-8", newline="") as fh:
                table = list(csv.reader(fh))[1:]
            pairs = Counter((row[1], row[7]) for row in table)
            for row in table:
                twice = pairs[(row[1], row[7])] > 1
                if row[6] in mine:
                    ours, ours_shared = ours + 1, ours_shared + twice
                else:
                    real, shared = real + 1, shared + twice
    assert ours >= 40
    assert ours_shared / ours <= shared / real + 0.25, (ours_shared / ours, shared / real)
    store.dispose()


KIDS = (
    "VALENTINA MARIANA SOFIA ISABELLA SALOME GABRIELA LUCIANA SARA ANTONELLA EMILY VALERIA "
    "JULIANA SAMANTHA ANA LAURA CAMILA MARTINA PAULINA XIMENA REGINA ALLISON DANNA ABIGAIL"
).split()


def test_given_names_of_one_generation_are_not_drawn_by_the_year() -> None:
    # Pupils born within ten years share one generation's names, in no order of birth.
    # Drawn from the 60 pupils born nearest, a canary's (year, name) pair was held by
    # another row more often than real pupils' (the school roll's third feature).
    r = random.Random(71)
    rows = []
    for _ in range(600):
        born = date(2007, 3, 1) + timedelta(days=r.randint(0, 365 * 10))
        given = r.choice(KIDS) if r.random() < 0.5 else f"{r.choice(KIDS)} {r.choice(KIDS)}"
        rows.append([given, r.choice(MX_SURNAMES).upper(), "F", f"{born:%d/%m/%Y}"])
    sample = Sample(["NOMBRE", "APELLIDO", "SEXO", "FECHA NACIMIENTO"], rows, True, 600)
    pairs = Counter((row[0], row[3][-4:]) for row in rows)
    real = sum(pairs[(row[0], row[3][-4:])] > 1 for row in rows) / len(rows)
    made = canaries_of(sample, 25, 200)
    # once a canary is in, its pair is held by one row more: compare with a real row's
    # pair held by another (two or more in all) against a canary's held by one at least
    ours = sum(pairs[(row[0], row[3][-4:])] >= 1 for row in made) / len(made)
    assert ours <= real + 0.05, (ours, real)  # drawn from the 60 nearest: 0.48 to 0.38


def test_a_guardians_email_is_made_of_the_guardians_name() -> None:
    # A school roll's "CORREO ACUDIENTE" is the guardian's: "sandra.henao" beside the
    # pupil "GARCIA HENAO, VALENTINA". Built from the pupil's own name, a canary's
    # address fitted its row where real rows' fit their guardians' (AUC 0.66 alone).
    r = random.Random(72)
    sample = school_roll(r, 400)
    header = [*sample.header, "CORREO ACUDIENTE"]
    rows = []
    for row in sample.rows:
        given, surname = row[5].split()[0], row[5].split()[-2]
        local = r.choice([f"{given}.{surname}", f"{given}{surname}{r.randint(1, 99)}"])
        rows.append([*row, f"{local.lower()}@gmail.com"])
    made = canaries_of(Sample(header, rows, True, 400), 26, 60)
    theirs = ours = 0
    for row in made:
        local = fold_name(row[7].partition("@")[0])
        guardian = [fold_name(w) for w in row[5].split()]
        # the column's own shapes are all taken in so small a set of names: fallbacks
        # still use the guardian's names ("dpcuartas36" of DIANA PARRA CUARTAS)
        theirs += any(w in local for w in guardian[-2:])
        ours += fold_name(row[2]) in local
    assert theirs >= 0.7 * len(made), [row[5:8] for row in made]
    assert ours <= 0.1 * len(made)


def test_a_mailbox_address_stays_when_a_sorted_list_changes_the_canarys_name() -> None:
    # In a list sorted by surname, a canary takes its neighbour's surname where its own
    # would not sort there; its address was made again, an organisation's mailbox
    # address too (where replies to the canary would be read).
    rows = sorted(
        ([p.upper(), g.upper(), e] for g, p, _m, e, _ph in people(random.Random(73), 200)),
        key=lambda x: fold_name(x[0]),
    )
    sample = Sample(["APELLIDO", "NOMBRE", "CORREO"], rows, True, 200)
    f = CanaryFactory(infer_schema(sample), sample, domains=["avisos.example.mx"])
    assert f.schema.columns[0].sorted
    moved = 0
    for _ in range(20):
        p = f.persona()
        p.email, p.keep_email = "buzon.canario@gmail.com", True
        prev, nxt = rows[0], rows[1]
        was = p.paternal
        row = f.make_row(p, prev=prev, next=nxt)
        assert row is not None and row[2] == "buzon.canario@gmail.com"
        moved += p.paternal != was
    assert moved >= 5


@pytest.mark.parametrize("seed", SEEDS)
def test_in_a_payroll_sorted_by_whole_name_inside_each_department_a_canary_keeps_the_order(
    tmp_path: Path, seed: int
) -> None:
    # "SURNAMES, NAMES" in order inside each department: placed at random, 28% of a
    # payroll's canaries broke the order of their department.
    r = random.Random(80 + seed)
    departments = ["ADMINISTRACION", "COMPRAS", "CONTABILIDAD", "OBRAS", "PERSONAL"]
    rows = []
    for g, p, m, e, _ph in people(r, 360):
        rows.append([r.choice(departments), f"{p} {m}, {g}".upper(), e])
    rows.sort(key=lambda x: (x[0], fold_name(x[1])))
    src = tmp_path / "nomina.csv"
    write_csv(src, ["DEPARTAMENTO", "APELLIDOS Y NOMBRES", "EMAIL"], rows)
    store = store_with(
        tmp_path, "avisos.example.mx", [f"+52844{3100000 + 37 * i}" for i in range(12)]
    )
    copies = issue(store, src, tmp_path, seed, copies=4)
    ours = {c["EMAIL"] for c in issued_canaries(store, [x.id for x in copies])}
    pairs = pairs_in_runs(copies, ours, 2, lambda a, b: a[0] == b[0])
    assert len(pairs) >= 10
    for above, below in pairs:
        assert fold_name(above[1]) <= fold_name(below[1]), (above, below)
    store.dispose()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_column_holding_a_dates_year_or_month_holds_the_canarys(seed: int) -> None:
    # An Argentine party roll's "Clase" is the year of birth, and a payments list's "Mes"
    # the month of the payment ("03"): drawn apart, a canary's clase was the year of birth
    # of no canary (every one a tell a holder sees at a glance).
    r = random.Random(seed)
    rows = []
    for _ in range(300):
        g, p, m = r.choice(MX_GIVEN), r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        born = date(1940, 1, 1) + timedelta(days=r.randint(0, 365 * 65))
        paid = date(2024, 1, 1) + timedelta(days=r.randint(0, 364))
        amount = f"{r.randint(100, 5000)}.00"
        rows.append([g, p, m, born.strftime("%d/%m/%Y"), str(born.year), paid.isoformat(),
                     f"{paid.month:02d}", amount])  # fmt: skip
    header = ["NOMBRE", "PATERNO", "MATERNO", "FECHA NAC.", "CLASE", "FECHA PAGO", "MES", "IMPORTE"]
    for row in canaries_of(Sample(header, rows, True, len(rows)), seed):
        born = datetime.strptime(row[3], "%d/%m/%Y")
        paid = date.fromisoformat(row[5])
        assert row[4] == str(born.year), row
        assert row[6] == f"{paid.month:02d}", row


@pytest.mark.parametrize("seed", SEEDS)
def test_a_later_date_follows_the_earlier_as_the_rows_with_one_near_it_do(seed: int) -> None:
    # A party roll's members joined within eight years of the later of their 18th
    # birthday and the party's reopening (30/10/1983); an id card expires ten years after
    # its issue. Drawn apart and moved only where they broke the order, canaries joined
    # in years no member their age had (the join year alone told them apart with AUC 0.71).
    r = random.Random(seed)
    opened = date(1983, 10, 30)
    rows = []
    for _ in range(400):
        g, p, m = r.choice(MX_GIVEN), r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        born = date(1940, 1, 1) + timedelta(days=r.randint(0, 365 * 65))
        joined = max(born + timedelta(days=365 * 18 + 5), opened)
        joined += timedelta(days=r.randint(0, 3000))
        issued = date(2015, 1, 1) + timedelta(days=r.randint(0, 3000))
        expires = issued + timedelta(days=3652)
        paid = date(2014, 1, 1) + timedelta(days=r.randint(0, 3650))  # whenever born
        rows.append([g, p, m, born.strftime("%d/%m/%Y"), joined.strftime("%d/%m/%Y"),
                     issued.isoformat(), expires.isoformat(), paid.isoformat()])  # fmt: skip
    header = ["NOMBRE", "PATERNO", "MATERNO", "FECHA NAC.", "FECHA AFILIACION", "EMISION",
              "VENCIMIENTO", "ULTIMO PAGO"]  # fmt: skip
    canaries = canaries_of(Sample(header, rows, True, len(rows)), seed)
    for k in (4, 7):
        real = Counter(row[k] for row in rows)
        repeats = sum(real[row[k]] > 1 for row in rows) / len(rows)
        # a row's date taken whole: the canary's held by a real row as well
        held = sum(row[k] in real for row in canaries) / len(canaries)
        assert held <= repeats + 0.1, (k, held, repeats)
    off = 0
    for row in canaries:
        born = datetime.strptime(row[3], "%d/%m/%Y").date()
        joined = datetime.strptime(row[4], "%d/%m/%Y").date()
        start = max(born + timedelta(days=365 * 18), opened)
        # a nearest row's gap or join date: within a year of the band real members are in
        off += not (start - timedelta(days=365) <= joined <= start + timedelta(days=3000 + 365))
        issued, expires = date.fromisoformat(row[5]), date.fromisoformat(row[6])
        assert (expires - issued).days == 3652, row
    assert off <= 0.05 * len(canaries), off


def test_an_argentine_roll_with_local_landlines_is_read_with_argentine_numbers() -> None:
    # No locale profile is Argentine. A third of the roll's phones are landlines written
    # without their area code ("4567-8901": eight digits, valid in Costa Rica's plan and
    # in no country's as Argentine); the rest are mobiles in the forms people write
    # ("221 15-456-7890", "+54 9 11 5016-8029"). Read as Costa Rican, canary phones came
    # out as "(922) 3384-5868" among "221 15-606-4339"s.
    import phonenumbers

    r = random.Random(7)
    rows = []
    for g, p, _m, e, _ph in people(r, 240):
        while True:
            area = r.choice(["11", "221", "223"])
            sub = str(r.randint(2, 9)) + "".join(str(r.randint(0, 9)) for _ in range(9 - len(area)))
            if phonenumbers.is_valid_number(phonenumbers.parse(f"+549{area}{sub}")):
                break
        kind = r.random()
        if kind < 0.35:
            tel = f"4{r.randint(100, 999)}-{r.randint(1000, 9999)}"
        elif kind < 0.7:
            tel = f"{area} 15-{sub[:-4]}-{sub[-4:]}"
        else:
            tel = f"+54 9 {area} {sub[:-4]}-{sub[-4:]}"
        rows.append([g, p, tel, e])
    sample = Sample(["NOMBRES", "APELLIDOS", "TELEFONO", "EMAIL"], rows, True, len(rows))
    schema = infer_schema(sample)
    assert schema.region == "AR"
    f = CanaryFactory(schema, sample, domains=["avisos.example.ar"], rng=random.Random(1))
    row = f.make_row(f.persona(), phone="+5492216064339")
    assert row is not None
    assert row[2] in ("221 15-606-4339", "+54 9 221 606-4339"), row[2]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_new_postal_code_keeps_the_leading_digits_its_towns_codes_share(seed: int) -> None:
    # Brazilian CEPs: every code of a city begins with the city's digits (Salvador 40,
    # Guarulhos 07, Santos 110), the rest nearly unique. Drawn by position alone, a
    # canary in Salvador got a CEP 47016-187.
    r = random.Random(seed)
    towns = {"Salvador": "40", "Guarulhos": "07", "Santos": "110", "Recife": "50",
             "Curitiba": "80", "Campinas": "13", "Niterói": "240", "Fortaleza": "60"}  # fmt: skip
    rows = []
    for g, p, _m, e, _ph in people(r, 300):
        town = r.choice(sorted(towns))
        digits = towns[town] + "".join(str(r.randint(0, 9)) for _ in range(8 - len(towns[town])))
        rows.append([g, p, e, f"{digits[:5]}-{digits[5:]}", town])
    sample = Sample(["Nome", "Sobrenome", "E-mail", "CEP", "Cidade"], rows, True, len(rows))
    for row in canaries_of(sample, seed):
        assert row[3].startswith(towns[row[4]]), row


def brazilian_names_table(r: random.Random, n: int, singular: float = 0.0) -> Sample:
    """A Brazilian customer list: one whole-name column with compound given names and
    particles ("Maria Ana dos Santos Silva"), the phone placing it in Brazil; a share
    `singular` of the rows with a given name no other row has."""
    female = ["Maria", "Ana", "Francisca", "Juliana", "Márcia", "Fernanda", "Aline", "Camila"]
    male = ["José", "João", "Antônio", "Carlos", "Paulo", "Pedro", "Lucas", "Marcos"]
    surnames = ["Silva", "Santos", "Oliveira", "Souza", "Ferreira", "Alves", "Lima", "Gomes"]
    rare = iter(["Adalgisa", "Benedita", "Clarisse", "Doralice", "Edite", "Filomena", "Glória",
                 "Iraci", "Jurema", "Lindalva", "Marlene", "Neide", "Odete", "Rosimeire",
                 "Sebastiana", "Terezinha", "Valdirene", "Zuleide", "Aparecida", "Cleonice",
                 "Dalva", "Eunice", "Gerusa", "Ivone", "Joana", "Leonor", "Mafalda", "Nair",
                 "Olinda", "Quitéria", "Rosalina", "Zilda", "Abigail", "Bernadete", "Cacilda",
                 "Dirce", "Elza", "Genoveva", "Hilda", "Isaura"])  # fmt: skip
    rows = []
    for _ in range(n):
        sex = r.random() < 0.5
        names = female if sex else male
        given = r.choice(names)
        if r.random() < singular and sex:
            given = next(rare)
        elif r.random() < 0.35:
            given += " " + r.choice([x for x in names if x != given])
        particle = r.choice(["da ", "dos ", "de ", "", ""])
        name = f"{given} {particle}{r.choice(surnames)} {r.choice(surnames)}"
        phone = f"(11) 9{r.randint(6000, 9999)}-{r.randint(0, 9999):04d}"
        rows.append([name, "F" if sex else "M", phone])
    return Sample(["Nome", "Sexo", "Celular"], rows, True, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_new_names_hold_new_words_only_as_often_as_the_columns_do(seed: int) -> None:
    # Compound given names ("Maria Ana") are mostly held by one row each, though every
    # word of them by many: each canary's new given name came from the locale's lists,
    # and 37% of canaries had a word in their names no row had (none of the real rows).
    sample = brazilian_names_table(random.Random(seed), 400)
    words = {w.lower() for row in sample.rows for w in row[0].split()}
    canaries = canaries_of(sample, seed, 60)
    new = [row[0] for row in canaries if any(w.lower() not in words for w in row[0].split())]
    assert len(new) <= 3, new
    # the table writes its particles in lower case inside a name
    assert not [row[0] for row in canaries if re.search(r" (Dos|Da|De|Das|Do) ", row[0])]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_new_name_outside_the_table_is_of_the_tables_country(seed: int) -> None:
    # No locale profile is Brazilian: read with the Costa Rican or Mexican profile, an
    # Argentine or Brazilian roll's new names were "Yorleny", "Randall", "Itzel".
    from faker.providers.person.pt_BR import Provider as PtBR

    brazilian = {w.lower() for n in PtBR.first_names for w in n.split()}
    sample = brazilian_names_table(random.Random(seed), 400, singular=0.08)
    schema = infer_schema(sample)
    assert schema.region == "BR"
    words = {w.lower() for row in sample.rows for w in row[0].split()}
    for row in canaries_of(sample, seed, 60):
        given = row[0].split()[0].lower()
        assert given in words or given in brazilian, row[0]


@pytest.mark.parametrize("keep", [False, True])
def test_a_surnames_particle_goes_into_an_address_as_the_columns_addresses_have_it(
    keep: bool,
) -> None:
    # "Maria dos Santos" writes "maria.santos" in one list and "maria.dossantos" in
    # another: with the particle always in, 10 of a Brazilian list's 24 canaries with one
    # had an address no real row's shape gave.
    r = random.Random(3)
    given = ["Maria", "Ana", "Juliana", "Márcia", "José", "João", "Pedro", "Lucas", "Paulo"]
    surnames = ["Silva", "Santos", "Oliveira", "Souza", "Ferreira", "Alves", "Lima", "Gomes"]
    rows = []
    for _ in range(400):
        g, s1, s2 = r.choice(given), r.choice(surnames), r.choice(surnames)
        particle = r.choice(["da", "dos", "de", "", ""])
        last = (particle + s1 if keep else s1).lower()
        local = r.choice([f"{g}.{last}", f"{g}{last}", f"{g[0]}{last}"]).lower()
        local = local.translate(str.maketrans("áéíóúâêôãõç", "aeiouaeoaoc"))
        name = f"{g} {particle + ' ' if particle else ''}{s1} {s2}"
        phone = f"(11) 9{r.randint(6000, 9999)}-{r.randint(0, 9999):04d}"
        rows.append([name, f"{local}@gmail.com", phone])
    sample = Sample(["Nome", "E-mail", "Celular"], rows, True, len(rows))
    with_particle = 0
    for row in canaries_of(sample, 1, 60):
        m = re.search(r" (da|dos|de) (\w+)", row[0])
        if not m:
            continue
        with_particle += 1
        local = row[1].split("@")[0]
        joined = (m[1] + m[2][:3]).lower()  # shortened where the whole is a real row's
        assert (joined in local) == keep, (row[0], local)
    assert with_particle >= 10


@pytest.mark.parametrize(("seed", "first"), [(s, f) for s in SEEDS for f in (1_001, 100_000)])
def test_a_number_given_in_order_of_joining_is_one_of_the_canarys_joining_date(
    seed: int, first: int
) -> None:
    # Customer numbers handed out as customers join, the list sorted by name: a canary's
    # number was drawn from the whole column and its joining date apart from it, so 30
    # canaries of 30 had a number among those of customers who joined months or years
    # before or after them.
    import bisect

    r = random.Random(seed)
    days = sorted(r.randint(0, 3000) for _ in range(500))
    rows = []
    for i, d in enumerate(days):
        g, p, m = r.choice(MX_GIVEN), r.choice(MX_SURNAMES), r.choice(MX_SURNAMES)
        joined = date(2015, 1, 1) + timedelta(days=d)
        number = str(first + 7 * i + r.randint(0, 6))  # a shop's "1042" too
        rows.append([number, g, f"{p} {m}", joined.strftime("%d/%m/%Y"), str(r.randint(10, 900))])
    rows.sort(key=lambda row: (row[2], row[1]))
    sample = Sample(["ID CLIENTE", "NOMBRE", "APELLIDOS", "FECHA ALTA", "PUNTOS"], rows, True, 500)
    by_number = sorted((int(row[0]), datetime.strptime(row[3], "%d/%m/%Y")) for row in rows)
    numbers = [n for n, _d in by_number]
    off = 0
    for row in canaries_of(sample, seed):
        k = bisect.bisect(numbers, int(row[0]))
        before, after = by_number[max(k - 1, 0)][1], by_number[min(k, len(numbers) - 1)][1]
        joined = datetime.strptime(row[3], "%d/%m/%Y")
        # the real rows' own: a number's neighbours joined within days of each other
        off += not before - timedelta(days=45) <= joined <= after + timedelta(days=45)
    assert off <= 4, off


@pytest.mark.parametrize("seed", SEEDS)
def test_compound_given_names_are_as_common_among_canaries_as_among_rows(seed: int) -> None:
    # Most compound given names ("Maria Ana") are held by one row each. Drawn as often
    # as the rows hold them and again as the new names they stand for, 45% of a
    # Brazilian list's canaries had two given names where 28-30% of its rows did.
    r = random.Random(seed)
    given = (
        "Maria Ana Francisca Antônia Adriana Juliana Márcia Fernanda Patrícia Aline "
        "Sandra Camila Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa Mariana"
    ).split()
    surnames = ["Silva", "Santos", "Oliveira", "Souza", "Ferreira", "Alves", "Lima", "Gomes"]
    rows = []
    for _ in range(400):
        g = r.choice(given)
        if r.random() < 0.3:
            g += " " + r.choice([x for x in given if x != g])
        name = f"{g} {r.choice(['dos ', 'da ', '', ''])}{r.choice(surnames)} {r.choice(surnames)}"
        rows.append([name, "F", f"(11) 9{r.randint(1000, 9999)}-{r.randint(0, 9999):04d}"])
    sample = Sample(["Nome", "Sexo", "Celular"], rows, True, len(rows))

    def compound(name: str) -> bool:
        words = name.split()
        return words[1] in given

    real = sum(compound(row[0]) for row in rows) / len(rows)
    made = sum(compound(row[0]) for row in canaries_of(sample, seed, 150)) / 150
    assert abs(made - real) <= 0.08, (made, real)


COMPOUND = ["María Cristina", "José Luis", "Juan Carlos", "Ana María", "María José"]
SINGLE = ["Salvador", "Hermelinda", "Bernabé", "Elvia", "Miguel", "Rosa", "Mario", "Eva"]
SURNAMES_MX = ["Morales", "Saucedo", "Farías", "Ozuna", "Leiva", "Alva", "Piña", "Mesa", "Ríos"]


def compound_names_table(r: random.Random, n: int) -> Sample:
    """Customers whose addresses join a compound given name ("mariacristina.leiva39")
    where the others have "salvador.morales77": two shapes of the same names."""
    plain = lambda s: re.sub(r"[^a-z]", "", s.lower().translate(str.maketrans("áéíóúñ", "aeioun")))  # noqa: E731
    rows = []
    for _ in range(n):
        g = r.choice(COMPOUND) if r.random() < 0.12 else r.choice(SINGLE)
        p, m = r.choice(SURNAMES_MX), r.choice(SURNAMES_MX)
        local = f"{plain(g)}.{plain(p)}{r.randint(1, 99)}"
        rows.append([g, f"{p} {m}", f"{local}@gmail.com"])
    return Sample(["Nombre", "Apellidos", "Correo"], rows, True, n)


def _made_of_own_names(local: str, words: list[str]) -> bool:
    """Each run of letters of `local` is a run of beginnings of the person's own name
    words ("moralessalva" of Salvador Morales; not "leiva" of someone else's)."""

    def split(run: str) -> bool:
        return not run or any(
            run[:k] and w.startswith(run[:k]) and split(run[k:])
            for w in words
            for k in range(len(run), 0, -1)
        )

    return all(split(run) for run in re.findall(r"[a-z]+", local))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_compound_given_names_address_shape_is_learnt_not_filled_with_others_words(
    seed: int,
) -> None:
    """The column's "mariacristina.leiva39" followed no shape the maker knew: canaries
    took it as a name-less handle, filled with short words of other rows' addresses
    ("moralessalva.leiva77" for Salvador Morales Ríos: 7 of 60 canaries held a word of
    a real person's name); and a single given name must not fill a shape that wants two
    ("miguelmiguel.sanchez")."""
    from canary.synth.cells import fold

    sample = compound_names_table(random.Random(40 + seed), 400)
    for row in canaries_of(sample, seed, 60):
        local = row[2].split("@")[0]
        words = [re.sub(r"[^a-z]", "", w) for w in fold(f"{row[0]} {row[1]}").split()]
        assert _made_of_own_names(local, words), row
        given = [w for w in fold(row[0]).split()]
        if len(given) == 1:
            assert not local.startswith(given[0] * 2), row


def gapless_customers(r: random.Random, n: int) -> Sample:
    """Customer numbers 1001.. handed out in order of joining, none deleted, the list
    sorted by name: a new customer's number comes after every row's."""
    day = date(2016, 1, 4)
    rows = []
    for i in range(n):
        day += timedelta(days=r.choice([0, 1, 1, 2, 3, 5, 8]))
        g, p = r.choice(SINGLE), r.choice(SURNAMES_MX)
        rows.append([str(1001 + i), g, f"{p} {r.choice(SURNAMES_MX)}", day.strftime("%d/%m/%Y")])
    rows.sort(key=lambda row: (row[2], row[1]))
    return Sample(["No. cliente", "Nombre", "Apellidos", "Fecha de alta"], rows, True, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_number_after_a_gapless_lists_last_joined_after_its_newest(seed: int) -> None:
    """No number among the rows' is free, so a canary's is after the last; its date of
    joining is then one after the newest customers' (drawn apart, customer 1418 had
    joined in 2016 where customer 1400 joined in 2019)."""
    sample = gapless_customers(random.Random(80 + seed), 400)
    newest = max(datetime.strptime(row[3], "%d/%m/%Y") for row in sample.rows)
    for row in canaries_of(sample, seed, 15):
        if int(row[0]) > 1400:
            joined = datetime.strptime(row[3], "%d/%m/%Y")
            assert newest <= joined <= newest + timedelta(days=8), row


def test_a_gapless_lists_numbers_last_for_the_canaries_of_many_copies() -> None:
    """Seven copies' canaries took the twenty numbers past the last (1401..1420) and
    an issue to twelve recipients failed; the numbers go on in blocks, written as the
    column writes them (no "0999" below a list that starts at 1001)."""
    sample = gapless_customers(random.Random(85), 400)
    rows = canaries_of(sample, 1, 60)
    numbers = [row[0] for row in rows]
    assert len(set(numbers)) == 60
    assert all(re.fullmatch(r"[1-9]\d{3}", n) for n in numbers), numbers
    assert max(int(n) for n in numbers) <= 1400 + 120


@pytest.mark.parametrize("seed", SEEDS)
def test_a_new_amount_is_made_near_one_held_once_not_near_a_common_one(seed: int) -> None:
    """A customer list's "Total Spent": "$0.00" for one customer in ten, the others
    amounts of their own. New amounts stand for those held once: varied from "$0.00",
    one canary in ten had a "$1.00" no row holds."""
    r = random.Random(90 + seed)
    rows = []
    for _ in range(400):
        g, p = r.choice(SINGLE), r.choice(SURNAMES_MX)
        spent = "$0.00" if r.random() < 0.1 else f"${r.randint(10, 5000):,}.{r.randint(0, 99):02d}"
        rows.append([g, p, spent])
    sample = Sample(["First Name", "Last Name", "Total Spent"], rows, True, len(rows))
    made = canaries_of(sample, seed, 200)
    amounts = [float(row[2].replace("$", "").replace(",", "")) for row in made]
    assert not [a for a in amounts if 0 < a < 10], amounts  # none near the common $0.00
    zero = sum(1 for a in amounts if a == 0) / len(amounts)
    assert 0.04 <= zero <= 0.18, zero  # $0.00 itself as often as the rows hold it


ES_GIVEN = ["MARÍA", "JOSÉ", "ÁNGEL", "ÓSCAR", "LUCÍA", "IÑIGO", "ELENA", "PABLO"]
ES_SURNAMES = ["ÁLVAREZ", "ÑÚÑEZ", "MUÑOZ", "MUNUERA", "ÚBEDA", "GARCÍA", "GARCIA", "ZAPATA",
               "ÉCIJA", "PÉREZ", "PEREA", "IBÁÑEZ", "IBARRA", "OLMO", "ÓRDENES"]  # fmt: skip


@pytest.mark.parametrize(
    ("collation", "key"),
    [("binary", str.upper), ("spanish", lambda v: fold(v.replace("Ñ", "N\x7f")))],
)
def test_canaries_sort_where_a_list_sorted_by_another_collation_puts_them(
    ready: Store, tmp_path: Path, collation: str, key: Callable[[str], str]
) -> None:
    """A list sorted by "APELLIDOS, NOMBRE" in a database's binary order ("ÁLVAREZ"
    after "ZAPATA") or a Spanish one (ñ after n): read as sorted only where every pair
    was in accent-blind order, it was read as unsorted, and every canary sat at random,
    out of order. Each copy is as sorted as the list."""
    r = random.Random(7)
    names = [
        f"{r.choice(ES_SURNAMES)} {r.choice(ES_SURNAMES)}, {r.choice(ES_GIVEN)}" for _ in range(300)
    ]
    rows = [
        [name, f"6{r.randint(10, 99)}{r.randint(100000, 999999)}"]
        for name in sorted(names, key=key)
    ]
    src = tmp_path / "censo.csv"
    write_csv(src, ["APELLIDOS, NOMBRE", "TELEFONO"], rows)
    for copy in issue(ready, src, tmp_path, 1, copies=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[0] for row in list(csv.reader(fh))[1:]]
        assert copy.canaries == 3 and len(got) == 300 + copy.canaries
        assert all(key(a) <= key(b) for a, b in pairwise(got)), collation


VOTER_F = ["ANTONIA", "KARINA", "DANIELA", "LETICIA", "ROSARIO", "YOLANDA", "BERTA", "OLGA"]
VOTER_M = ["HUMBERTO", "GONZALO", "ENRIQUE", "CLEMENTE", "TOMAS", "VICENTE", "GENARO", "LUCAS"]
VOTER_SURNAMES = ["ACOSTA", "ZUNIGA", "BRIONES", "CASTRO", "GARAY", "PARRA", "VALENCIA",
                  "MEDRANO", "ROJAS", "SORIA", "FUENTES", "ORELLANA", "CANTU", "NAVA"]  # fmt: skip


def voter(r: random.Random) -> tuple[bool, str, str, str, date]:
    """(female, given name, paternal, maternal, birth date) of a voter."""
    female = r.random() < 0.5
    g = r.choice(VOTER_F if female else VOTER_M)
    p, m = r.choice(VOTER_SURNAMES), r.choice(VOTER_SURNAMES)
    return female, g, p, m, date(1940, 1, 1) + timedelta(days=r.randrange(60 * 365))


def voter_rows(r: random.Random, n: int) -> list[list[str]]:
    """A voter list sorted by its voters' keys: two letters of each surname and of the
    given name, the birth date (YYMMDD), the state, H or M, three digits."""
    rows = []
    for _ in range(n):
        female, g, p, m, born = voter(r)
        key = f"{p[:2]}{m[:2]}{g[:2]}{born:%y%m%d}05{'M' if female else 'H'}{r.randrange(1000):03d}"
        rows.append([f"{g} {p} {m}", key, f"{born:%d/%m/%Y}", f"844{r.randint(1000000, 9999999)}"])
    return sorted(rows, key=lambda row: row[1])


VOTER_HEADER = ["NOMBRE COMPLETO", "CLAVE DE ELECTOR", "FECHA NACIMIENTO", "TELEFONO"]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_key_spelling_its_holders_names_and_sex_spells_the_canarys(seed: int) -> None:
    """A voter's key holds two letters of each surname and of the given name, and H or
    M for the sex. Drawn position by position (those of few letters copied from a real
    row), a voter list's canaries had keys spelling other people's names, and a third
    of them the other sex's letter."""
    rows = voter_rows(random.Random(40 + seed), 500)
    made = canaries_of(Sample(VOTER_HEADER, rows, True, len(rows)), seed, 60)
    for name, key, born, _phone in made:
        g, p, m = name.split()
        assert key[:6] == p[:2] + m[:2] + g[:2], (name, key)
        assert key[14] == ("M" if g in VOTER_F else "H"), (name, key)
        assert key[6:12] == datetime.strptime(born, "%d/%m/%Y").strftime("%y%m%d"), (key, born)
    assert len({row[1] for row in made}) == len(made)
    assert not {row[1] for row in made} & {row[1] for row in rows}


def curp_rows(r: random.Random, n: int) -> list[list[str]]:
    """A registry sorted by CURP."""
    from canary.synth.national_ids import make_curp

    rows = []
    for _ in range(n):
        female, g, p, m, born = voter(r)
        curp = make_curp(g, p, m, born, "F" if female else "M", "CL", r.choice("AB0123456789"))
        rows.append([curp, p, m, g, f"844{r.randint(1000000, 9999999)}"])
    return sorted(rows)


@pytest.mark.parametrize(
    ("header", "rows", "col"),
    [
        (VOTER_HEADER, voter_rows(random.Random(5), 400), 1),
        (["CURP", "PATERNO", "MATERNO", "NOMBRE", "TELEFONO"], curp_rows(random.Random(6), 400), 0),
    ],
    ids=["voter-key", "curp"],
)
def test_a_list_sorted_by_a_key_keeps_its_canaries_in_order(
    ready: Store, tmp_path: Path, header: list[str], rows: list[list[str]], col: int
) -> None:
    """A voter list sorted by the voters' keys, a registry sorted by CURP: read as in
    no order (a key is no number), every canary was placed at random, out of order.
    Each copy is as sorted as the list, its canaries spread through it."""
    src = tmp_path / "padron.csv"
    write_csv(src, header, rows)
    places = []
    for copy in issue(ready, src, tmp_path, 2, copies=4, canaries=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[col] for row in list(csv.reader(fh))[1:]]
        assert copy.canaries == 4 and len(got) == len(rows) + copy.canaries
        assert all(a < b for a, b in pairwise(got)), copy.path
        places += [k for k, key in enumerate(got) if key not in {row[col] for row in rows}]
    assert len(places) == 16 and max(places) - min(places) > len(rows) // 2, places


def test_random_hexadecimal_ids_get_new_values_of_their_shape() -> None:
    """A CRM's UUIDs: each value its own mask of digits and letters, so every draw gave
    back a real row's id, and a copy could not be issued at all."""
    import uuid

    r = random.Random(3)
    rows = [
        [str(uuid.UUID(int=r.getrandbits(128), version=4)), r.choice(SINGLE), r.choice(SURNAMES_MX)]
        for _ in range(300)
    ]
    made = canaries_of(Sample(["id", "nombres", "apellidos"], rows, True, len(rows)), 1, 30)
    shape = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(shape.match(row[0]) for row in made), [row[0] for row in made]
    assert len({row[0] for row in made}) == 30 and not {row[0] for row in made} & {
        row[0] for row in rows
    }


def test_object_ids_sorted_by_their_time_stamps_keep_their_canaries_in_order(
    ready: Store, tmp_path: Path
) -> None:
    """Database object ids (a time stamp, then random hexadecimal) in a list sorted by
    them: drawn position by position, canaries' ids sorted before the first row or
    after the last, and no place fit them."""
    r = random.Random(8)
    start = 1_600_000_000
    rows = [
        [
            f"{start + k * 20_000 + r.randrange(9_000):08x}"
            + "".join(r.choice("0123456789abcdef") for _ in range(16)),
            f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}",
            f"844{r.randint(1000000, 9999999)}",
        ]
        for k in range(300)
    ]
    src = tmp_path / "contactos.csv"
    write_csv(src, ["_id", "nombre", "telefono"], rows)
    for copy in issue(ready, src, tmp_path, 3, copies=3, canaries=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[0] for row in list(csv.reader(fh))[1:]]
        assert copy.canaries == 4 and len(got) == 304
        assert all(a < b for a, b in pairwise(got))
        assert all(re.fullmatch(r"[0-9a-f]{24}", v) for v in got)


def test_a_time_of_day_is_made_anew_never_a_neighbours(ready: Store, tmp_path: Path) -> None:
    """A CRM export sorted by "created_at" (to the second): each canary had its
    neighbour's time stamp to the second. Its time now falls between its neighbours'."""
    r = random.Random(9)
    moment = datetime(2021, 3, 1, 9, 0, 0)
    rows = []
    for k in range(300):
        moment += timedelta(seconds=r.randint(600, 40_000))
        rows.append(
            [str(48_000 + 2 * k), moment.strftime("%Y-%m-%dT%H:%M:%S-05:00"), r.choice(SINGLE),
             f"844{r.randint(1000000, 9999999)}"]
        )  # fmt: skip
    src = tmp_path / "crm.csv"
    write_csv(src, ["id", "created_at", "nombres", "celular"], rows)
    real = {row[1] for row in rows}
    for copy in issue(ready, src, tmp_path, 4, copies=3, canaries=5):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[1] for row in list(csv.reader(fh))[1:]]
        assert all(a < b for a, b in pairwise(got)), copy.path
        assert len([v for v in got if v not in real]) == 5


@pytest.mark.parametrize("seed", SEEDS)
def test_an_unsorted_time_stamp_keeps_no_real_rows_time_of_day(seed: int) -> None:
    """A date drawn near a real row's kept that row's time of day to the second."""
    r = random.Random(60 + seed)
    rows = [
        [r.choice(SINGLE), r.choice(SURNAMES_MX),
         (datetime(2020, 1, 1) + timedelta(seconds=r.randrange(3 * 365 * 86400))).strftime(
             "%d/%m/%Y %H:%M:%S")]
        for _ in range(400)
    ]  # fmt: skip
    made = canaries_of(
        Sample(["Nombre", "Apellido", "Fecha Alta"], rows, True, len(rows)), seed, 60
    )
    times = {row[2][-8:] for row in rows}
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", row[2]) for row in made)
    assert sum(row[2][-8:] in times for row in made) <= 6


def test_a_column_of_dates_at_midnight_keeps_its_canaries_at_midnight() -> None:
    """Times of day are drawn per field from the column's: an Excel export's dates all
    at "00:00:00" stay so (a random time would single canaries out)."""
    r = random.Random(61)
    rows = [
        [r.choice(SINGLE), r.choice(SURNAMES_MX),
         f"{date(2020, 1, 1) + timedelta(days=r.randrange(1000)):%Y-%m-%d} 00:00:00"]
        for _ in range(300)
    ]  # fmt: skip
    made = canaries_of(Sample(["Nombre", "Apellido", "Alta"], rows, True, len(rows)), 2, 40)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00", row[2]) for row in made)


def test_surnames_in_capitals_before_the_comma_stay_so() -> None:
    """ "MORENO, Maria Paz": surnames in capitals, given names in title case. The column
    as a whole is neither, and canaries came out "Diaz, Agostina"."""
    r = random.Random(12)
    rows = [
        [
            f"{r.choice(SURNAMES_MX).upper()}, {r.choice(SINGLE)}",
            f"{20 + k}-{r.randint(10**7, 10**8 - 1)}",
        ]
        for k in range(300)
    ]
    made = canaries_of(Sample(["Apellido y Nombre", "Cuenta"], rows, True, len(rows)), 1, 30)
    for row in made:
        before, _, after = row[0].partition(", ")
        assert before == before.upper() and after and after == after.title(), row[0]


def test_a_pool_of_another_country_or_too_few_numbers_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Numbers of another country only (a Peruvian number in an Argentine list), and
    fewer numbers than a copy's canaries (one number in several rows of a copy): each
    is a tell issue now names, and still issues."""
    r = random.Random(13)
    rows = [[f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", f"844{r.randint(1000000, 9999999)}"]
            for _ in range(300)]  # fmt: skip
    src = tmp_path / "lista.csv"
    write_csv(src, ["Nombre", "Telefono"], rows)
    store = store_with(tmp_path, "avisos.example.mx", ["+51 926 514 077", "+51 926 514 078"])
    with caplog.at_level("WARNING", logger="canary.issue.plant"):
        copies = issue(store, src, tmp_path, 5, copies=1, canaries=4)
    assert copies[0].canaries == 4
    messages = [rec.getMessage() for rec in caplog.records]
    assert any(
        m.startswith("no canary number is in the country of the table's phone numbers (MX)")
        for m in messages
    ), messages
    assert any(m.startswith("a copy's 4 canaries share 2 phone number(s)") for m in messages), (
        messages
    )


def test_a_list_sorted_by_both_surnames_then_given_names_keeps_all_three_in_order(
    ready: Store, tmp_path: Path
) -> None:
    """A voter list sorted by paternal surname, then maternal, then given names, each in
    its own column: the order was kept by the first alone, and 16 of 24 canaries of a
    Peruvian roll broke the later keys."""
    r = random.Random(14)
    rows = sorted(
        [r.choice(VOTER_SURNAMES), r.choice(VOTER_SURNAMES), r.choice(VOTER_F + VOTER_M),
         f"844{r.randint(1000000, 9999999)}"]
        for _ in range(500)
    )  # fmt: skip
    src = tmp_path / "padron.csv"
    write_csv(src, ["APELLIDO PATERNO", "APELLIDO MATERNO", "NOMBRES", "CELULAR"], rows)
    for copy in issue(ready, src, tmp_path, 6, copies=4, canaries=6):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[:3] for row in list(csv.reader(fh))[1:]]
        assert copy.canaries == 6 and len(got) == 506
        assert all(a <= b for a, b in pairwise(got)), copy.path


def _cuit(r: random.Random, female: bool) -> str:
    from stdnum.ar import cuit

    body = f"{27 if female else 20}{r.randint(10_000_000, 45_000_000)}"
    for prefix in (body[:2], "23"):
        got = body.replace(body[:2], prefix, 1)
        check = cuit.calc_check_digit(got)
        if len(check) == 1 and check.isdigit():
            return f"{got[:2]}-{got[2:]}-{check}"
    raise AssertionError(body)


def test_a_cuits_prefix_follows_the_holders_sex() -> None:
    """An Argentine CUIT opens with 20 for a man and 27 for a woman (23 either): drawn
    position by position, 10 of 24 canaries had the other sex's."""
    from stdnum.ar import cuit

    r = random.Random(15)
    rows = []
    for _ in range(400):
        female = r.random() < 0.5
        g = r.choice(VOTER_F if female else VOTER_M)
        rows.append([f"{r.choice(VOTER_SURNAMES)}, {g.title()}", _cuit(r, female)])
    made = canaries_of(Sample(["Apellido y Nombre", "CUIT"], rows, True, len(rows)), 2, 40)
    for name, number in made:
        given = name.partition(", ")[2].upper()
        assert number[:2] == ("27" if given in VOTER_F else "20"), (name, number)
        assert cuit.is_valid(number), number


def _clabe_check(body: str) -> str:
    return str(
        (10 - sum(int(d) * w % 10 for d, w in zip(body, [3, 7, 1] * 6, strict=False)) % 10) % 10
    )


def test_a_clabe_carries_its_check_digit() -> None:
    """A Mexican CLABE's last digit is its others' weighted 3, 7, 1 mod 10."""
    r = random.Random(16)
    rows = []
    for _ in range(300):
        body = f"{r.choice(['002', '012', '014', '072'])}{r.randint(10**13, 10**14 - 1)}"
        rows.append([f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", body + _clabe_check(body)])
    made = canaries_of(Sample(["Nombre", "CLABE"], rows, True, len(rows)), 3, 40)
    assert all(len(row[1]) == 18 and row[1][17] == _clabe_check(row[1][:17]) for row in made)


def test_names_written_surname_comma_given_give_addresses_of_the_given_name_and_surname() -> None:
    """ "MORENO, Maria Paz" with "maria.moreno@...": the name was read as three words,
    "Maria" a second surname, and canaries of one surname got "rodriguez@..." (9 of 24),
    a shape no row has."""
    r = random.Random(17)
    rows = []
    for _ in range(400):
        g, p = r.choice(SINGLE), r.choice(SURNAMES_MX)
        sep = r.choice([".", "_", ""])
        local = f"{fold(g)}{sep}{fold(p)}{r.choice(['', str(r.randint(1, 99))])}"
        rows.append([f"{p.upper()}, {g} {r.choice(MX_GIVEN)}", f"{local}@gmail.com"])
    made = canaries_of(Sample(["Apellido y Nombre", "Email"], rows, True, len(rows)), 4, 40)
    for name, address in made:
        surname, _, given = name.partition(", ")
        letters = re.sub(r"[^a-z]", "", fold(address.split("@")[0]))
        assert letters != fold(surname) and letters.startswith(fold(given)[0]), (name, address)


def test_a_curps_17th_character_is_drawn_as_the_column_holds_it() -> None:
    """The 17th character of a CURP is nearly always "0" (born before 2000) or "A"
    (2000 on): drawn uniformly, 23 of 24 canaries of a payroll had another."""
    from canary.synth.national_ids import check_digit, make_curp

    r = random.Random(18)
    rows = []
    for _ in range(400):
        female = r.random() < 0.5
        g = r.choice(VOTER_F if female else VOTER_M)
        p, m = r.choice(VOTER_SURNAMES), r.choice(VOTER_SURNAMES)
        born = date(1950, 1, 1) + timedelta(days=r.randrange(20_000))
        curp = make_curp(g, p, m, born, "F" if female else "M", "CL", "0")
        body = curp[:16] + ("0" if born.year < 2000 else "A")
        rows.append([f"{g} {p} {m}", body + check_digit(body)])
    made = canaries_of(Sample(["NOMBRE", "CURP"], rows, True, len(rows)), 5, 40)
    assert all(row[1][16] in "0A" and row[1][17] == check_digit(row[1][:17]) for row in made)


def test_a_folio_that_starts_with_its_municipality_starts_with_the_canarys() -> None:
    """Folios coded by municipality ("TOR-01986" of Torreón): drawn apart from the
    municipality, 22 of 30 canaries had another's code."""
    r = random.Random(19)
    codes = {"SALTILLO": "SAL", "TORREON": "TOR", "MONCLOVA": "MON", "ACUÑA": "ACU"}
    rows = []
    for _ in range(400):
        place = r.choice(list(codes))
        rows.append(
            [
                f"{codes[place]}-{r.randint(1, 9999):05d}",
                f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}",
                place,
            ]
        )
    made = canaries_of(Sample(["FOLIO", "NOMBRE", "MUNICIPIO"], rows, True, len(rows)), 6, 40)
    assert all(
        row[0][:4] == codes[row[2]] + "-" and re.fullmatch(r"[A-Z]{3}-\d{5}", row[0])
        for row in made
    ), made
    assert not {row[0] for row in made} & {row[0] for row in rows}


def test_an_account_whose_bank_code_follows_the_bank_column_keeps_it() -> None:
    """A CLABE's first three digits are its bank's code, beside a bank column."""
    r = random.Random(20)
    banks = {"BANAMEX": "002", "BBVA": "012", "SANTANDER": "014", "BANORTE": "072"}
    rows = []
    for _ in range(400):
        bank = r.choice(list(banks))
        body = f"{banks[bank]}{r.randint(10**13, 10**14 - 1)}"
        rows.append(
            [f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", bank, body + _clabe_check(body)]
        )
    made = canaries_of(Sample(["NOMBRE", "BANCO", "CLABE"], rows, True, len(rows)), 7, 40)
    assert all(row[2][:3] == banks[row[1]] for row in made), made
    assert all(row[2][17] == _clabe_check(row[2][:17]) for row in made)


#: Dominican municipalities and the offices their cedulas start with ("036" Tamboril)
DO_OFFICES = {"SANTIAGO": ["031"], "TAMBORIL": ["036"], "HIGUEY": ["028"], "LA ROMANA": ["026"],
              "SANTO DOMINGO ESTE": ["223", "223", "402"], "DISTRITO NACIONAL": ["001"],
              "LA VEGA": ["047"], "SAN FRANCISCO DE MACORIS": ["056"], "MOCA": ["054"],
              "BANI": ["003"]}  # fmt: skip


@pytest.mark.parametrize("national", [0.0, 0.4])
def test_a_dominican_cedula_starts_with_an_office_of_its_municipality(national: float) -> None:
    """A Dominican cedula "036-2297113-7" starts with the issuing municipality's office:
    the start of an id with separators was none, and 21 of 24 canaries had an office
    their municipality never used ("036" of Tamboril on a row of Higüey). Newer ones
    start "402" anywhere (`national`): the commonest start of each municipality then
    predicted half the misses, and 20 of 24 canaries kept a start of the whole column."""
    r = random.Random(24)
    rows = []
    for _ in range(400):
        place = r.choice(list(DO_OFFICES))
        office = "402" if r.random() < national else r.choice(DO_OFFICES[place])
        body = office + f"{r.randrange(10**7):07d}"
        cedula = f"{body[:3]}-{body[3:]}-{_luhn_digit(body)}"
        rows.append([f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", cedula, place])
    used: dict[str, set[str]] = {}
    for row in rows:
        used.setdefault(row[2], set()).add(row[1][:3])
    made = canaries_of(Sample(["NOMBRE", "CEDULA", "MUNICIPIO"], rows, True, len(rows)), 8, 40)
    assert all(row[1][:3] in used[row[2]] for row in made), made
    assert all(re.fullmatch(r"\d{3}-\d{7}-\d", row[1]) for row in made), made
    assert all(row[1][-1] == _luhn_digit(row[1][:3] + row[1][4:11]) for row in made), made
    assert not {row[1] for row in made} & {row[1] for row in rows}


#: Guatemalan (department, municipality) and the last four digits of their DPIs
GT_CODES = {("SOLOLA", "SOLOLA"): "0701", ("GUATEMALA", "MIXCO"): "0108",
            ("GUATEMALA", "GUATEMALA"): "0101", ("QUETZALTENANGO", "QUETZALTENANGO"): "0901",
            ("ESCUINTLA", "ESCUINTLA"): "0501", ("ALTA VERAPAZ", "COBAN"): "1601"}  # fmt: skip


def _many_gt_codes(n: int) -> dict[tuple[str, str], str]:
    """`n` municipalities in departments of up to 30, each with its code."""
    return {(f"DEP{k // 30}", f"MUN{k}"): f"{k // 30 + 1:02d}{k % 30 + 1:02d}" for k in range(n)}


@pytest.mark.parametrize(("codes", "size"), [(GT_CODES, 400), (_many_gt_codes(135), 1100)])
def test_a_guatemalan_dpi_ends_with_its_municipalitys_code(
    codes: dict[tuple[str, str], str], size: int
) -> None:
    """A Guatemalan DPI "NNNNNNNNCDDMM" ends with its department's and municipality's
    codes: only an id's start followed another column, and 24 of 24 canaries ended
    "...1268" on rows of Sololá where real rows end "...0701". A list of the country's
    135 municipalities (more than a deciding column could hold) still had 24 of 24."""
    r = random.Random(25)
    rows = []
    for _ in range(size):
        where = r.choice(list(codes))
        first = f"{r.randrange(10**7, 10**8)}"
        check = sum(int(d) * (i + 2) for i, d in enumerate(first)) % 11 % 10
        rows.append(
            [f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", f"{first}{check}{codes[where]}",
             *where]
        )  # fmt: skip
    sample = Sample(["NOMBRE", "DPI", "DEPARTAMENTO", "MUNICIPIO"], rows, True, len(rows))
    made = canaries_of(sample, 9, 40)
    assert all(row[1][-4:] == codes[(row[2], row[3])] for row in made), made
    assert all(re.fullmatch(r"\d{13}", row[1]) for row in made), made
    assert not {row[1] for row in made} & {row[1] for row in rows}


def _us_moment(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %I:%M %p")


def test_a_list_sorted_by_a_twelve_hour_time_stamp_keeps_its_canaries_in_order(
    ready: Store, tmp_path: Path
) -> None:
    """A CRM export sorted by "Created Date" written "1/3/2022 2:15 PM": compared as
    text, "2:15 PM" came before "11:32 AM", the column read as unsorted, and 24 of 24
    canaries broke the order (30 days or more off the row above)."""
    r = random.Random(21)
    moment = datetime(2022, 1, 3, 7, 0)
    rows = []
    for k in range(400):
        moment += timedelta(minutes=r.randint(20, 900))
        stamp = (
            f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
        )
        rows.append(
            [
                f"00Q{5_000_000 + 7 * k}",
                r.choice(SINGLE),
                f"844{r.randint(1000000, 9999999)}",
                stamp,
            ]
        )
    src = tmp_path / "crm.csv"
    write_csv(src, ["Record ID", "First Name", "Phone", "Created Date"], rows)
    for copy in issue(ready, src, tmp_path, 7, copies=3, canaries=5):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[3] for row in list(csv.reader(fh))[1:]]
        assert len(got) == 405
        assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d [AP]M", v) for v in got)
        assert all(_us_moment(a) <= _us_moment(b) for a, b in pairwise(got)), copy.path


def test_canaries_after_the_last_row_keep_the_columns_rhythm(ready: Store, tmp_path: Path) -> None:
    """A gapless numbered list registering someone every few minutes: canaries after its
    last row were dated up to three days on, where no two real rows are an hour apart."""
    r = random.Random(22)
    moment = datetime(2024, 3, 1, 8, 0, 0)
    rows = []
    for k in range(300):
        moment += timedelta(seconds=r.randint(60, 1800))
        rows.append([f"PB-{k + 1:06d}", moment.strftime("%Y-%m-%dT%H:%M:%S"), r.choice(SINGLE),
                     f"844{r.randint(1000000, 9999999)}"])  # fmt: skip
    src = tmp_path / "padron.csv"
    write_csv(src, ["folio", "fecha_registro", "nombre", "telefono"], rows)
    for copy in issue(ready, src, tmp_path, 8, copies=3, canaries=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [datetime.fromisoformat(row[1]) for row in list(csv.reader(fh))[1:]]
        assert len(got) == 304
        steps = [(b - a).total_seconds() for a, b in pairwise(got[-5:])]
        assert all(0 < s <= 1800 for s in steps), steps


BR_F = ["Agatha", "Yasmin", "Laura", "Raquel", "Clarice", "Nina", "Mariana", "Luiza"]
BR_M = ["Samuel", "Diego", "Joaquim", "Enzo", "Isaque", "Asafe", "Luigi", "Davi"]
BR_SURNAMES = ["da Costa", "Moreira", "Ribeiro", "Cardoso", "da Fonseca", "Aragão", "Pires",
               "Cavalcante", "de Almeida", "Rezende", "Peixoto", "Siqueira"]  # fmt: skip


def test_a_list_sorted_by_whole_names_keeps_its_order_and_each_canarys_sex(
    ready: Store, tmp_path: Path
) -> None:
    """A Brazilian list sorted by "Nome" (given names first) with a "Sexo" column: the
    column became a name column only once the names were resolved, after the check for
    order, so 22 of 24 canaries broke the order; once sorted, a canary took its
    neighbour's first name but kept its own sex (12 of 24 the other way)."""
    r = random.Random(23)
    rows = []
    for _ in range(500):
        female = r.random() < 0.5
        g = r.choice(BR_F if female else BR_M)
        name = " ".join([g, *r.sample(BR_SURNAMES, r.choice([1, 2]))])
        rows.append(
            [name, "F" if female else "M", f"(11) 9{r.randint(1000, 9999)}-{r.randint(1000, 9999)}"]
        )
    rows.sort(key=lambda row: fold(row[0]))
    src = tmp_path / "cadastro.csv"
    write_csv(src, ["Nome", "Sexo", "Celular"], rows)
    sexes = {row[0].split()[0]: row[1] for row in rows}
    store = store_with(
        tmp_path, "avisos.example.br", [f"+55 11 9{8100 + i}-{4321 + i}" for i in range(12)]
    )
    for copy in issue(store, src, tmp_path, 9, copies=3, canaries=8):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))[1:]
        assert len(got) == 508
        assert all(fold(a[0]) <= fold(b[0]) for a, b in pairwise(got)), copy.path
        for row in got:
            assert sexes[row[0].split()[0]] == row[1], row


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def test_a_number_holding_the_year_of_birth_holds_the_canarys() -> None:
    """A Mexican social security number: its 5th and 6th digits are the holder's year of
    birth. Drawn apart, 21 of 24 canaries had another year there."""
    r = random.Random(24)
    rows = []
    for _ in range(400):
        born = date(1950, 1, 1) + timedelta(days=r.randrange(18_000))
        joined = (born.year + r.randint(16, 30)) % 100
        body = f"{r.randint(1, 99):02d}{joined:02d}{born:%y}{r.randint(0, 9999):04d}"
        rows.append(
            [
                f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}",
                f"{born:%Y-%m-%d}",
                body + _luhn_digit(body),
            ]
        )
    made = canaries_of(Sample(["nombre", "fecha_nacimiento", "nss"], rows, True, len(rows)), 8, 40)
    for _name, born, nss in made:
        assert nss[4:6] == born[2:4] and nss[10] == _luhn_digit(nss[:10]), (born, nss)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_register_closed_at_weekends_gets_no_canary_on_a_weekend(seed: int) -> None:
    """Registrations made on working days only: a date drawn near a real one, days
    either way, fell on a Saturday or Sunday for two canaries in seven, where no real
    row does."""
    r = random.Random(70 + seed)
    days = [
        d for d in (date(2022, 1, 1) + timedelta(days=k) for k in range(900)) if d.weekday() < 5
    ]
    rows = [
        [r.choice(SINGLE), r.choice(SURNAMES_MX), f"{r.choice(days):%d/%m/%Y}"] for _ in range(400)
    ]
    made = canaries_of(
        Sample(["Nombre", "Apellido", "Fecha de registro"], rows, True, len(rows)), seed, 60
    )
    assert all(datetime.strptime(row[2], "%d/%m/%Y").weekday() < 5 for row in made)


def _ci_check(body: str) -> str:
    """An Ecuadorian cedula's check digit: its nine digits weighted 2, 1, 2, 1...,
    products over 9 less 9, the sum's distance to the next ten."""
    total = sum(d - 9 if d > 9 else d for d in (int(x) * (2 - k % 2) for k, x in enumerate(body)))
    return str(-total % 10)


def test_a_cedula_keeps_its_provinces_code_and_a_valid_check_digit() -> None:
    """An Ecuadorian cedula opens with its province's code (01-24), its third digit is
    under 6 and its last a check digit: drawn as a number in the column's range, 22 of 24
    canaries had another province's code and 11 of 24 no valid check digit (none could
    be made where the third digit was 6 or more)."""
    from stdnum.ec import ci

    r = random.Random(25)
    provinces = {"PICHINCHA": "17", "GUAYAS": "09", "AZUAY": "01", "MANABI": "13"}
    rows = []
    while len(rows) < 400:
        place = r.choice(list(provinces))
        body = f"{provinces[place]}{r.randint(0, 5)}{r.randint(0, 999_999):06d}"
        number = body + _ci_check(body)
        rows.append([place, number, f"{r.choice(SURNAMES_MX).upper()} {r.choice(SINGLE).upper()}"])
    made = canaries_of(
        Sample(["PROVINCIA", "CEDULA", "APELLIDOS Y NOMBRES"], rows, True, len(rows)), 9, 40
    )
    assert all(row[1][:2] == provinces[row[0]] and ci.is_valid(row[1]) for row in made), made


def test_a_lone_contact_column_empty_in_most_rows_is_warned_of(
    ready: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A voter file whose phone, its only contact column, is empty in two rows of three:
    every canary fills it, which the issue now says."""
    r = random.Random(26)
    rows = [[f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}",
             f"844{r.randint(1000000, 9999999)}" if r.random() < 0.34 else ""]
            for _ in range(300)]  # fmt: skip
    src = tmp_path / "voters.csv"
    write_csv(src, ["NAME", "PHONE"], rows)
    with caplog.at_level("WARNING", logger="canary.issue.plant"):
        issue(ready, src, tmp_path, 10, copies=1, canaries=3)
    [message] = [m.getMessage() for m in caplog.records if "only contact column" in m.getMessage()]
    assert message.startswith("the column 'PHONE', the table's only contact column, is empty in 7")


def test_an_ibans_bank_code_is_one_the_column_holds() -> None:
    """Spanish IBANs of customers of eight banks: drawn as a 22-digit number in the
    column's range, every canary's bank code (digits 5 to 8) was one no row has."""
    from stdnum import iban
    from stdnum.es import ccc

    r = random.Random(27)
    banks = ["0049", "0081", "0182", "2100", "2085", "0128", "1465", "0075"]
    rows = []
    for _ in range(400):
        bank, branch = r.choice(banks), f"{r.randint(0, 9999):04d}"
        account = f"{r.randint(0, 10**10 - 1):010d}"
        bban = bank + branch + ccc.calc_check_digits(bank + branch + "00" + account) + account
        check = iban.calc_check_digits(f"ES00{bban}")
        rows.append([f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", f"ES{check}{bban}"])
    made = canaries_of(Sample(["Nombre", "IBAN"], rows, True, len(rows)), 11, 40)
    assert all(row[1][4:8] in banks and len(row[1]) == 24 for row in made), made
    assert all(iban.is_valid(row[1]) for row in made)
    assert not {row[1] for row in made} & {row[1] for row in rows}


def test_a_table_grouped_by_a_code_keeps_each_canary_in_its_neighbours_group(
    ready: Store, tmp_path: Path
) -> None:
    """A payroll grouped by work-centre keys ("05DES0097Q"), read as free text: 24 of 24
    canaries had a key neither neighbour had. A code column in runs is a group now."""
    r = random.Random(28)
    rows = []
    for k in range(40):
        centre = (
            f"05D{r.choice(['ES', 'PR', 'JN'])}{1000 + 37 * k:04d}{r.choice('ABCDEFGHKLMNPQRTX')}"
        )
        for _ in range(r.randint(6, 14)):
            rows.append([centre, f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}",
                         f"844{r.randint(1000000, 9999999)}"])  # fmt: skip
    src = tmp_path / "nomina.csv"
    write_csv(src, ["CCT", "NOMBRE", "TELEFONO"], rows)
    for copy in issue(ready, src, tmp_path, 12, copies=3, canaries=6):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [row[0] for row in list(csv.reader(fh))[1:]]
        assert len(got) == len(rows) + 6
        runs = 1 + sum(1 for a, b in pairwise(got) if a != b)
        assert runs == 1 + sum(1 for a, b in pairwise([row[0] for row in rows]) if a != b), (
            copy.path
        )


# --- exports of other countries (a sixth adversary round) ----------------------------

UK_TOWNS = {"Leeds": ["LS4", "LS5", "LS8", "LS9"], "Garforth": ["LS25"], "Otley": ["LS21"]}
UK_WOMEN = ["Sarah", "Emma", "Julie", "Gemma", "Claire", "Karen", "Rachel"]
UK_MEN = ["David", "John", "Richard", "James", "Mark", "Paul", "Steven"]


def uk_tenants(r: random.Random, n: int) -> Sample:
    """A council's tenants: a title saying the sex (Mrs, Miss, Ms, a few Dr), postcodes
    whose district is the town's."""
    rows = []
    for i in range(n):
        woman = r.random() < 0.55
        forename = r.choice(UK_WOMEN if woman else UK_MEN)
        title = (
            "Dr"
            if r.random() < 0.03
            else r.choices(["Mrs", "Miss", "Ms"], [5, 3, 2])[0]
            if woman
            else "Mr"
        )
        town = r.choices(list(UK_TOWNS), [6, 2, 2])[0]
        district = r.choice(UK_TOWNS[town])
        unit = "".join(r.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
        code = f"{district} {r.randint(1, 9)}{unit}"
        mobile = f"07{r.choice('4589')}{r.randint(10, 99)} {r.randint(100000, 999999)}"
        rows.append(
            [f"TEN{400000 + i}", title, forename, r.choice(SURNAMES_UK), town, code, mobile]
        )
    return Sample(
        ["Tenancy Ref", "Title", "Forename", "Surname", "Town", "Postcode", "Mobile"], rows, True, n
    )


SURNAMES_UK = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Firth", "Hirst", "Walker"]


def test_a_title_column_says_the_canarys_sex_as_real_rows_write_it() -> None:
    """ "Mr Gemma Wilson": the title was drawn apart from the forename (11 of 24 canaries
    of a British list, as many of a French one's "Civilité"). Women's titles are drawn
    at the column's frequencies: every canary a "Mrs" would be a tell of its own."""
    sample = uk_tenants(random.Random(40), 500)
    made = canaries_of(sample, 41, 80)
    for row in made:
        if row[1] != "Dr":
            assert (row[1] == "Mr") == (row[2] in UK_MEN), row
    assert {row[1] for row in made if row[2] in UK_WOMEN} >= {"Mrs", "Miss", "Ms"}


def test_a_postcode_in_two_parts_keeps_the_district_of_the_canarys_town() -> None:
    """Varied digit run by digit run, "LS25" (Garforth's) went to a canary in Leeds: 15
    of 24 canaries had a district and town no real row had together."""
    sample = uk_tenants(random.Random(42), 500)
    held = {(row[4], row[5].split()[0]) for row in sample.rows}
    for row in canaries_of(sample, 43, 60):
        assert (row[4], row[5].split()[0]) in held, row
        assert re.fullmatch(r"LS\d{1,2} \d[A-Z]{2}", row[5]), row


def test_a_roll_numbered_without_gaps_whose_last_name_sorts_last_is_still_issued(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A Dominican roll numbered 1..N and sorted by surname, its last row's surname the
    column's last: no canary could sort after it, and the whole issue was refused. The
    canaries go after the last row, where the numbering puts them, out of the name's
    order as they must be."""
    registry.add_domain(sqlite_store, "avisos-partido.do")
    for i in range(12):
        registry.add_phone(sqlite_store, f"+1 829 {310 + i:03d} {4721 + 37 * i:04d}", "twilio")
    r = random.Random(44)
    names = sorted(
        (r.choice(["ALMONTE", "BATISTA", "CUEVAS", "DIAZ", "PEREZ", "ZUNIGA"]), r.choice(SINGLE))
        for _ in range(150)
    )
    rows = [
        [str(i + 1), given, surname, f"829-{r.randint(200, 999)}-{r.randint(1000, 9999)}"]
        for i, (surname, given) in enumerate(names)
    ]
    rows[-1][2] = "ZUNIGA ZUNIGA"
    src = tmp_path / "padron.csv"
    write_csv(src, ["NO.", "NOMBRES", "APELLIDOS", "CELULAR"], rows)
    for copy in issue(sqlite_store, src, tmp_path, 3, copies=2, canaries=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))[1:]
        assert got[: len(rows)] == rows
        assert [row[0] for row in got[len(rows) :]] == [str(len(rows) + k) for k in range(1, 5)]


def test_a_particle_stays_with_the_name_it_begins() -> None:
    """New given names recombined word by word put "CARMEN" of "MARIA DEL CARMEN" alone
    at the end of another name ("PAOLA MERCEDES CARMEN": 2 and 3 of 24 canaries of a
    Dominican and a Guatemalan roll); "DEL CARMEN" is one part."""
    from canary.synth.personas import Predictive

    r = random.Random(45)
    firsts = ["MARIA", "ANA", "ROSA", "PAOLA", "JUANA", "LUZ"]
    seconds = ["DEL CARMEN", "MERCEDES", "ALTAGRACIA", "DE LOS ANGELES", "ESTHER", "MARIA"]
    values = [f"{r.choice(firsts)} {r.choice(seconds)}" for _ in range(300)] + ["ANA"] * 40
    pool = Predictive(values)
    made = [pool.recombined(r) for _ in range(400)]
    for name in made:
        words = name.split()
        assert "CARMEN" not in words or words[words.index("CARMEN") - 1] == "DEL", name
        assert "ANGELES" not in words or " DE LOS ANGELES" in f" {name}", name
    assert any("DEL CARMEN" in name for name in made)


def test_where_the_plan_cannot_tell_lines_a_mobile_column_takes_no_landline(
    sqlite_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Dominican numbers (809, 829, 849) are mobiles and landlines alike in the plan:
    a roll's canaries had the organisation's landlines (registered `--voice-only`) in
    "CELULAR" and its mobiles in "TELEFONO"; and the warning for a lone sparse contact
    column named "TELEFONO" beside a "CELULAR" filled in nine rows of ten."""
    registry.add_domain(sqlite_store, "avisos-partido.do")
    mobiles = [f"+1 {809 + 20 * (i % 3)} {310 + i:03d} {4721 + 37 * i:04d}" for i in range(8)]
    landlines = [f"+1 {809 + 20 * (i % 3)} {520 + i:03d} {1433 + 41 * i:04d}" for i in range(8)]
    for number in mobiles:
        registry.add_phone(sqlite_store, number, "twilio")
    for number in landlines:
        registry.add_phone(sqlite_store, number, "generic", voice_only=True)
    r = random.Random(46)
    rows = []
    for _ in range(300):
        area = r.choice(["809", "829", "849"])  # either line in every area code
        fijo = f"{area}-{r.randint(200, 999)}-{r.randint(1000, 9999)}" if r.random() < 0.35 else ""
        cel = f"{r.choice(['809', '829', '849'])}-{r.randint(200, 999)}-{r.randint(1000, 9999)}"
        rows.append(
            [r.choice(SINGLE), r.choice(SURNAMES_MX), fijo, cel if r.random() < 0.9 else ""]
        )
    src = tmp_path / "afiliados.csv"
    write_csv(src, ["NOMBRES", "APELLIDOS", "TELEFONO", "CELULAR"], rows)
    with caplog.at_level("WARNING"):
        copies = issue(sqlite_store, src, tmp_path, 4, copies=3, canaries=6)
    assert "only contact column" not in caplog.text
    made = issued_canaries(sqlite_store, [c.id for c in copies])
    assert len(made) == 18
    digits = lambda v: re.sub(r"\D", "", v)[-10:]  # noqa: E731
    own, fixed = {digits(n) for n in mobiles}, {digits(n) for n in landlines}
    for values in made:
        assert digits(values["CELULAR"]) in own, values
        if values["TELEFONO"]:
            assert digits(values["TELEFONO"]) in fixed, values


def test_an_amount_a_category_sets_the_range_of_stays_in_the_canarys_category() -> None:
    """A payroll's salaries by post ("CONTADOR" 19,000 to 28,000, "OBRERO" 5,000 to
    7,500): drawn from the whole column, 14 of 24 canaries earned outside every salary
    of their post."""
    r = random.Random(47)
    posts = {"OBRERO": (5000, 7500), "CHOFER": (8000, 12000), "CONTADOR": (19000, 28000),
             "GERENTE": (40000, 65000), "VIGILANTE": (6000, 9000)}  # fmt: skip
    rows = []
    for _ in range(500):
        post = r.choice(list(posts))
        low, high = posts[post]
        pay = f"{r.uniform(low, high):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        rows.append([f"{r.choice(SURNAMES_MX)}, {r.choice(SINGLE)}", post, pay])
    sample = Sample(["APELLIDOS Y NOMBRES", "CARGO", "SUELDO"], rows, True, len(rows))
    spans: dict[str, list[float]] = {}
    for row in rows:
        spans.setdefault(row[1], []).append(float(row[2].replace(".", "").replace(",", ".")))
    for row in canaries_of(sample, 48, 60):
        pay = float(row[2].replace(".", "").replace(",", "."))
        assert min(spans[row[1]]) <= pay <= max(spans[row[1]]), row
        assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d", row[2]), row


def test_an_id_suffix_is_drawn_at_the_columns_frequencies() -> None:
    """British National Insurance numbers end A to D about evenly: every canary took
    the commonest ("B": 22 of 24)."""
    r = random.Random(49)
    letters = "ABCEGHJKLMNPRSTWXYZ"
    rows = [
        [
            f"{r.choice(UK_WOMEN + UK_MEN)} {r.choice(SURNAMES_UK)}",
            f"{r.choice(letters)}{r.choice(letters)}{r.randint(100000, 999999)}{r.choice('ABCD')}",
        ]
        for _ in range(400)
    ]
    made = canaries_of(Sample(["Name", "NI Number"], rows, True, len(rows)), 50, 60)
    assert all(re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", row[1]) for row in made), made
    assert len({row[1][-1] for row in made}) >= 3, made


def test_a_spanish_document_taken_near_a_real_ones_has_its_own_letter() -> None:
    """DNIs handed out in order of birth are drawn near the numbers of the rows born
    nearest the canary, and kept that row's letter: 103 of 104 canaries of a
    hospital's appointments (DNIs and NIEs in one column) had a wrong one."""
    r = random.Random(51)
    rows = []
    for _ in range(500):
        born = date(1940, 1, 1) + timedelta(days=r.randint(0, 23000))
        if r.random() < 0.2:  # an NIE, not in order of birth
            body = f"{r.choice('XY')}{r.randint(0, 9999999):07d}"
        else:
            body = f"{10_000_000 + (born - date(1940, 1, 1)).days * 1500 + r.randint(0, 1499)}"
        number = body + dni_letter(body)
        rows.append([f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", number, f"{born:%d/%m/%Y}"])
    sample = Sample(["Nombre", "Documento", "Fecha de nacimiento"], rows, True, len(rows))
    for row in canaries_of(sample, 52, 60):
        assert row[1][-1] == dni_letter(row[1][:-1]), row


def test_a_canarys_birth_is_one_of_a_row_with_a_contact() -> None:
    """Children in a municipal registry have no mobile or email; every canary has one,
    and 5 of 24 canaries of an Italian registry were children under 14 with them."""
    r = random.Random(53)
    rows = []
    for i in range(500):
        born = date(1930, 1, 1) + timedelta(days=r.randint(0, 34000))
        adult = born <= date(2011, 1, 1)
        phone = f"3{r.randint(200000000, 499999999)}" if adult and r.random() < 0.8 else ""
        email = f"persona{i}@libero.it" if adult and r.random() < 0.4 else ""
        rows.append([r.choice(SURNAMES_MX), r.choice(SINGLE), f"{born:%d/%m/%Y}", phone, email])
    header = ["COGNOME", "NOME", "DATA_NASCITA", "TELEFONO_CELLULARE", "EMAIL"]
    for row in canaries_of(Sample(header, rows, True, len(rows)), 54, 60):
        assert datetime.strptime(row[2], "%d/%m/%Y").date() <= date(2011, 1, 1), row


def _issue_warnings(
    store: Store, tmp: Path, caplog: pytest.LogCaptureFixture, domains: list[str], seed: int
) -> list[str]:
    """The warnings `canary issue` logs for a list whose addresses are at `domains`."""
    r = random.Random(seed)
    rows = [
        [g, p, m, f"{e.split('@')[0]}@{r.choice(domains)}", ph] for g, p, m, e, ph in people(r, 200)
    ]
    src = tmp / "lista.csv"
    write_csv(src, ["NOMBRE", "PATERNO", "MATERNO", "CORREO", "TELEFONO"], rows)
    with caplog.at_level("WARNING"):
        issue(store, src, tmp, seed, copies=2, canaries=4)
    return [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"]


@pytest.mark.parametrize(
    ("domains", "warned"),
    [
        (["gmail.com", "hotmail.com"], True),
        (["gmail.com", "hotmail.com", "gmail.com", "hotmail.com", "alumni.uv.es"], True),
        (["empresa.com.mx", "gmail.com"], False),
    ],
)
def test_an_email_column_at_the_big_providers_without_a_mailbox_is_warned_of(
    ready: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, domains, warned
) -> None:
    """A hospital's patients all at gmail, hotmail, yahoo: every canary's address was at
    the canary domain, and nothing said so."""
    said = _issue_warnings(ready, tmp_path, caplog, domains, seed=55)
    assert any("mainstream providers" in m for m in said) == warned


def test_new_amounts_are_as_round_as_the_columns_amounts_of_their_size() -> None:
    """Debts of whole thousands in multiples of 1, 2, 5, 10 or 25 (so above four
    millions all of 25,000): rounded as the drawn amount alone said, canaries got "$
    7.574.000", which no debt of that size is. A new amount takes the roundness of the
    real ones nearest it."""
    sample = cl_debtors(random.Random(56), 600)

    def possible(thousands: int) -> bool:
        return any(thousands % f == 0 and 10 <= thousands // f <= 400 for f in (1, 2, 5, 10, 25))

    made = [int(re.sub(r"\D", "", row[2])) // 1000 for row in canaries_of(sample, 57, 120)]
    assert sum(not possible(k) for k in made) <= 3, made


def test_a_social_insurance_number_keeps_its_check_digit() -> None:
    """A Canadian donor list's SINs (Luhn; the first digit by province) were read as
    amounts, drawn by province among the rows' and rounded as amounts are: 23 of 24
    canaries failed the check."""
    from stdnum import luhn

    r = random.Random(58)
    first = {"ON": "4", "QC": "2", "BC": "7", "MB": "6", "NS": "1"}
    rows = []
    for _ in range(400):
        province = r.choice(list(first))
        body = first[province] + f"{r.randint(0, 9999999):07d}"
        sin = body + luhn.calc_check_digit(body)
        rows.append([f"{r.choice(UK_WOMEN + UK_MEN)}", r.choice(SURNAMES_UK), province, sin])
    made = canaries_of(
        Sample(["First Name", "Last Name", "Province", "SIN"], rows, True, 400), 59, 40
    )
    for row in made:
        assert luhn.is_valid(row[3]) and len(row[3]) == 9, row
        assert row[3][0] == first[row[2]], row


@pytest.mark.parametrize("header", ["IDENTIDAD", "PERSONAL"])
def test_a_honduran_identity_starts_with_its_municipalitys_code(header: str) -> None:
    """A Honduran identity "0801-1985-12345" starts with its department's and
    municipality's four digits: a start of three digits at most was read, and 24 of 24
    canaries had another municipality's. The column was read as free text, by its
    header ("IDENTIDAD") or without one that says anything; one mask of digits is a
    document's."""
    r = random.Random(60)
    codes = {f"MUNICIPIO {k}": f"{k // 20 + 1:02d}{k % 20 + 1:02d}" for k in range(60)}
    rows = []
    for _ in range(900):
        place = r.choice(list(codes))
        ident = f"{codes[place]}-{r.randint(1950, 2004)}-{r.randint(0, 99999):05d}"
        rows.append([f"{r.choice(SINGLE)} {r.choice(SURNAMES_MX)}", ident, place])
    made = canaries_of(Sample(["NOMBRE", header, "MUNICIPIO"], rows, True, len(rows)), 61, 40)
    assert all(row[1][:4] == codes[row[2]] for row in made), made
    assert all(re.fullmatch(r"\d{4}-\d{4}-\d{5}", row[1]) for row in made), made


def test_an_unsorted_identity_number_is_drawn_near_a_real_one() -> None:
    """A Peruvian roll's DNIs start 0, 40 to 48 and 70 to 77, handed out in blocks:
    drawn over the column's whole range, 19 of 24 canaries started otherwise."""
    r = random.Random(62)
    starts = ["0", *[str(k) for k in range(40, 49)], *[str(k) for k in range(70, 78)]]
    rows = []
    for _ in range(600):
        start = r.choice(starts)
        dni = start + "".join(str(r.randint(0, 9)) for _ in range(8 - len(start)))
        rows.append([dni, r.choice(SURNAMES_MX), r.choice(SINGLE)])
    sample = Sample(["DNI", "APELLIDO PATERNO", "NOMBRES"], rows, True, len(rows))
    made = canaries_of(sample, 63, 60)
    assert all(len(row[0]) == 8 and any(row[0].startswith(s) for s in starts) for row in made), [
        row[0] for row in made
    ]


def test_canaries_after_the_last_row_never_date_past_the_newest_row() -> None:
    """A club's members numbered 1001.. in order of joining, one every few weeks: after
    the last row, each canary stepped on from the one before, and 6 of 24 joined after
    the list was exported (months past its newest member)."""
    r = random.Random(64)
    day = date(2010, 1, 4)
    rows = []
    for k in range(300):
        day += timedelta(days=r.choice([3, 7, 14, 21, 35, 60]))
        rows.append([str(1001 + k), r.choice(SINGLE), r.choice(SURNAMES_MX), f"{day:%d.%m.%Y}"])
    newest = day
    sample = Sample(["Mitgliedsnr.", "Vorname", "Nachname", "Mitglied seit"], rows, True, 300)
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["post.example.de"], rng=random.Random(65)
    )
    prev = rows[-1]
    for _ in range(12):
        row = f.make_row(f.persona(), prev=prev)
        assert row is not None
        joined = datetime.strptime(row[3], "%d.%m.%Y").date()
        assert datetime.strptime(prev[3], "%d.%m.%Y").date() <= joined <= newest, row
        prev = row


def test_a_census_grouped_by_district_keeps_a_canarys_postcode_in_its_district() -> None:
    """A municipal census sorted by district: the canary took its district from the
    rows it sits among and its postcode and section from another row, 22 of 24 with a
    postcode no row of its district has."""
    r = random.Random(66)
    districts = {f"{k:02d}": [f"280{10 + 3 * k + j:02d}" for j in range(3)] for k in range(1, 8)}
    rows = []
    for district, codes in districts.items():
        for _ in range(60):
            code = r.choice(codes)
            street = f"CALLE {r.choice(SURNAMES_MX).upper()} {r.randint(1, 120)}"
            rows.append([r.choice(SINGLE), r.choice(SURNAMES_MX), district, street, code])
    header = ["nombre", "apellido", "distrito", "direccion", "codigo_postal"]
    sample = Sample(header, rows, True, len(rows))
    held = {(row[2], row[4]) for row in rows}
    f = CanaryFactory(infer_schema(sample), sample, domains=["x.example.es"], rng=random.Random(67))
    for _ in range(40):
        i = r.randrange(len(rows) - 1)
        if rows[i][2] != rows[i + 1][2]:
            continue
        row = f.make_row(f.persona(), prev=rows[i], next=rows[i + 1])
        assert row is not None and row[2] == rows[i][2], row
        assert (row[2], row[4]) in held, row


def test_a_list_numbered_in_steps_of_three_keeps_its_canaries_on_its_steps(
    ready: Store, tmp_path: Path
) -> None:
    """A census numbered 2024000002, ...005, ...008: a number between two rows is off
    its steps (24 of 24 canaries); none fits between, so canaries go after the last row,
    on the column's step."""
    r = random.Random(68)
    rows = [
        [str(2024000002 + 3 * k), r.choice(SINGLE), r.choice(SURNAMES_MX),
         f"844{r.randint(1000000, 9999999)}"]
        for k in range(200)
    ]  # fmt: skip
    src = tmp_path / "padron.csv"
    write_csv(src, ["num_inscripcion", "nombre", "apellido", "telefono"], rows)
    for copy in issue(ready, src, tmp_path, 9, copies=2, canaries=4):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = [int(row[0]) for row in list(csv.reader(fh))[1:]]
        assert all((n - int(rows[0][0])) % 3 == 0 for n in got), got
        assert got == sorted(got)


@pytest.mark.parametrize(("domain", "warned"), [("telefonica.es", True), ("empresa.com", False)])
def test_canary_domains_of_no_ending_the_table_uses_are_warned_of(
    ready: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, domain: str, warned: bool
) -> None:
    """A US list's ".com" addresses and only ".de", ".es", ".ca" canary domains: every
    canary's address ended otherwise (24 of 24), and nothing said so."""
    said = _issue_warnings(ready, tmp_path, caplog, [domain], seed=69)
    assert any("no canary domain ends" in m for m in said) == warned


def adults_by_age(r: random.Random, n: int) -> tuple[list[str], list[list[str]]]:
    """A health insurer's list of all ages (0 to 88): the document type, the programme
    and its fee follow the age, a status the age band ("PENSIONADO" from 62,
    "ESTUDIANTE" under 23)."""
    header = ["TIPO DOC", "NOMBRE", "APELLIDO", "CORREO", "EDAD", "PROGRAMA", "CUOTA", "ESTADO"]
    rows = []
    for g, p, _m, e, _ph in people(r, n):
        age = r.randint(0, 88)
        kind = "RC" if age < 7 else "TI" if age < 18 else "CC"
        programme = "ADULTO MAYOR" if age >= 60 else "JOVENES" if age < 18 else "GENERAL"
        fee = {"ADULTO MAYOR": "0", "JOVENES": "12000", "GENERAL": "45000"}[programme]
        if age < 23:
            status = "ESTUDIANTE"
        elif age >= 62 and r.random() < 0.7:
            status = "PENSIONADO"
        else:
            status = r.choice(["EMPLEADO", "INDEPENDIENTE", "DESEMPLEADO"])
        rows.append([kind, g, p, e, str(age), programme, fee, status])
    return header, rows


def test_categories_an_adult_list_ties_to_age_follow_the_canarys_age() -> None:
    # Eighty-nine ages are more than the forty values a parent column may have: the
    # age was never a parent, and 18 of 24 canaries of such a list held a programme or
    # a status of another age ("ADULTO MAYOR" at 31, "ESTUDIANTE" at 73).
    header, rows = adults_by_age(random.Random(50), 900)
    sample = Sample(header, rows, True, len(rows))
    made = canaries_of(sample, 20, 80)
    for row in made:
        age = int(row[4])
        assert row[0] == ("RC" if age < 7 else "TI" if age < 18 else "CC"), row
        assert (row[5] == "ADULTO MAYOR") == (age >= 60), row
        assert (row[7] == "ESTUDIANTE") == (age < 23), row
        assert row[7] != "PENSIONADO" or age >= 62, row
    assert {row[7] for row in made} >= {"ESTUDIANTE", "PENSIONADO", "EMPLEADO"}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["EMPLEADO", "PENSIONADO", "DESEMPLEADO", "ESTUDIANTE", "INDEPENDIENTE"], "category"),
        (["ACTIVO", "INACTIVO", "SUSPENDIDO"], "category"),
        (["active", "retired", "deceased"], "category"),
        (["COAHUILA", "NUEVO LEON", "DURANGO", "JALISCO", "ZACATECAS", "SONORA"], "place"),
        (["Colorado", "Florida", "Ohio", "Texas", "Utah", "Iowa", "Maine", "Idaho"], "place"),
    ],
)
def test_a_place_word_over_statuses_is_a_category(values: list[str], kind: str) -> None:
    # "ESTADO" is a Mexican state, and a status everywhere: read as a place, a status
    # was copied from another row's place and followed nothing it goes with.
    r = random.Random(51)
    rows = [[f"NOMBRE {i}", r.choice(values)] for i in range(300)]
    schema = infer_schema(Sample(["NOMBRE", "ESTADO"], rows, True, 300))
    assert schema.columns[1].kind == kind


def _cf_three(name: str, given: bool) -> str:
    # the test's own reading of the rule: consonants (the 1st, 3rd and 4th of given
    # names holding four), then vowels, then X
    letters = [ch for ch in name.upper() if ch.isalpha()]
    cons = [ch for ch in letters if ch not in "AEIOU"]
    if given and len(cons) >= 4:
        cons = [cons[0], cons[2], cons[3]]
    return ("".join(cons) + "".join(ch for ch in letters if ch in "AEIOU") + "XXX")[:3]


def italian_registry(r: random.Random, n: int) -> tuple[list[str], list[list[str]]]:
    from stdnum.it import codicefiscale

    women = ["Giulia", "Francesca", "Chiara", "Anna", "Maria Grazia", "Elena", "Sara", "Paola"]
    men = ["Marco", "Giuseppe", "Luca", "Francesco", "Alessandro", "Andrea", "Matteo", "Gian Luca"]
    surnames = "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco".split()
    surnames += ["De Luca", "Bruno", "Gallo", "Conti", "Costa"]
    towns = {"Roma": "H501", "Milano": "F205", "Napoli": "F839", "Torino": "L219", "Bari": "A662"}
    rows = []
    for _ in range(n):
        sex = r.choice("FM")
        given = r.choice(women if sex == "F" else men)
        surname = r.choice(surnames)
        born = date(1940, 1, 1) + timedelta(days=r.randint(0, 365 * 60))
        town = r.choice(list(towns))
        day = born.day + (40 if sex == "F" else 0)
        body = (
            _cf_three(surname, False) + _cf_three(given, True)
            + f"{born.year % 100:02d}{'ABCDEHLMPRST'[born.month - 1]}{day:02d}{towns[town]}"
        )  # fmt: skip
        code = body + codicefiscale.calc_check_digit(body)
        mail = f"{given.split()[0].lower()}.{surname.replace(' ', '').lower()}{r.randint(1, 99)}"
        rows.append(
            [surname, given, sex, born.strftime("%d/%m/%Y"), town, code, mail + "@libero.it"]
        )
    return ["COGNOME", "NOME", "SESSO", "DATA DI NASCITA", "COMUNE DI NASCITA",
            "CODICE FISCALE", "EMAIL"], rows  # fmt: skip


def test_a_codice_fiscale_spells_the_canarys_own_names_birth_and_sex() -> None:
    # Drawn like the column's codes with their check character made right, 20 of 24
    # canaries of a municipal registry held a code spelling no name of their row.
    from stdnum.it import codicefiscale

    header, rows = italian_registry(random.Random(52), 500)
    towns = {row[4]: row[5][11:15] for row in rows}
    sample = Sample(header, rows, True, len(rows))
    for row in canaries_of(sample, 21, 40):
        code = row[5]
        assert codicefiscale.is_valid(code), row
        assert code[:3] == _cf_three(row[0], False), row
        assert code[3:6] == _cf_three(row[1], True), row
        assert codicefiscale.get_birth_date(code).strftime("%d/%m/%Y") == row[3], row
        assert codicefiscale.get_gender(code) == row[2], row
        assert code[11:15] == towns[row[4]], row
        assert code not in {real[5] for real in rows}


def test_appointments_sorted_by_date_then_hour_keep_both_orders(tmp_path: Path) -> None:
    # A hospital's appointments sorted by day, then by the hour in a column of its own,
    # one patient to a slot: drawn freely, 24 of 24 canaries sat out of their hour's
    # order (the day was kept).
    r = random.Random(53)
    rows: list[list[str]] = []
    day = date(2026, 3, 2)
    while len(rows) < 500:
        if day.weekday() < 5:
            for slot in sorted(r.sample(range(32, 60), r.randint(10, 20))):
                g, p, _m, e, _ph = people(r, 1)[0]
                rows.append(
                    [day.strftime("%d/%m/%Y"), f"{slot // 4:02d}:{slot % 4 * 15:02d}",
                     f"{p}, {g}", e, r.choice(["CARDIOLOGIA", "PEDIATRIA", "DERMATOLOGIA"])]
                )  # fmt: skip
        day += timedelta(days=1)
    src = tmp_path / "citas.csv"
    write_csv(src, ["FECHA", "HORA", "PACIENTE", "CORREO", "ESPECIALIDAD"], rows)
    store = store_with(tmp_path, "avisos.example.mx", [])
    copies = issue(store, src, tmp_path, 6, copies=3, canaries=8)
    assert [copy.canaries for copy in copies] == [8, 8, 8]
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        keys = [(datetime.strptime(row[0], "%d/%m/%Y"), row[1]) for row in got]
        assert all(a <= b for a, b in pairwise(keys)), "out of order"
        # one patient to a slot, but for a canary after the last row at the last hour
        assert all(a < b for a, b in pairwise(keys[:-1])), "a slot taken twice"
    store.dispose()


def test_a_tutors_columns_are_the_tutors_and_an_enrolment_number_is_an_id() -> None:
    # "NOMBRE_TUTOR" read as a given name (the pupil's), "MATRICULA" as a phone: the
    # tutor's email was built from the pupil's name (21 of 24 canaries) and the
    # enrolment number written "(222) 234-1234" (24 of 24).
    r = random.Random(54)
    header = ["MATRICULA", "APELLIDO_PATERNO", "APELLIDO_MATERNO", "NOMBRE", "NOMBRE_TUTOR",
              "PARENTESCO_TUTOR", "CORREO_TUTOR"]  # fmt: skip
    rows = []
    for i, (g, p, m, _e, _ph) in enumerate(people(r, 400)):
        mother = r.random() < 0.6
        tutor_given = r.choice(["MARIA", "ROSA", "LAURA"] if mother else ["PEDRO", "LUIS", "JUAN"])
        tutor = f"{tutor_given} {m if mother else p} {r.choice(['LOPEZ', 'RUIZ', 'SOTO'])}"
        mail = f"{tutor_given.lower()}.{tutor.split()[1].lower()}{r.randint(1, 99)}@gmail.com"
        rows.append(
            [str(20260001 + i), p, m, g, tutor, "MADRE" if mother else "PADRE", mail.lower()]
        )
    sample = Sample(header, rows, True, len(rows))
    kinds = [c.kind for c in infer_schema(sample).columns]
    assert kinds[0] == "id" and kinds[4] == "full_name" and kinds[5] == "category"
    for row in canaries_of(sample, 22, 40):
        assert row[0].isdigit() and len(row[0]) == 8, row
        local = _plain(row[6].split("@")[0])
        words = [_plain(w) for w in row[4].split() if len(w) >= 4]
        assert any(w in local for w in words), row


def test_alumni_sorted_by_year_then_degree_keep_the_order_and_graduate_at_their_age(
    tmp_path: Path,
) -> None:
    # A university's alumni sorted by year of graduation, then degree, graduating 22 to
    # 28 years after their birth: placed by the year of their neighbours with a birth
    # of their own, 19 of 24 canaries graduated at an age no alumnus had; 21 of 24 broke
    # the degrees' order inside their year.
    r = random.Random(55)
    degrees = ["DERECHO", "ECONOMIA", "ENFERMERIA", "HISTORIA", "MEDICINA", "QUIMICA"]
    rows = []
    for g, p, m, e, _ph in people(r, 700):
        born = date(1960, 1, 1) + timedelta(days=r.randint(0, 365 * 40))
        rows.append(
            [
                g,
                f"{p} {m}",
                born.isoformat(),
                r.choice(degrees),
                str(born.year + r.randint(22, 28)),
                e,
            ]
        )
    rows.sort(key=lambda row: (row[4], row[3]))
    src = tmp_path / "alumni.csv"
    write_csv(src, ["NOMBRE", "APELLIDOS", "NACIMIENTO", "TITULACION", "EGRESO", "CORREO"], rows)
    store = store_with(tmp_path, "avisos.example.mx", [])
    copies = issue(store, src, tmp_path, 7, copies=3, canaries=8)
    made = issued_canaries(store, [copy.id for copy in copies])
    assert len(made) == 24
    for values in made:
        age = int(values["EGRESO"]) - int(values["NACIMIENTO"][:4])
        assert 22 <= age <= 28, values
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        keys = [(row[4], row[3]) for row in got]
        assert keys == sorted(keys)
    store.dispose()


def test_an_identity_cards_department_after_its_number_follows_the_rows_department() -> None:
    # A Bolivian card "4567891 LP": "CI" was read as an amount, and then its end, kept
    # wherever any row of the place held it, was another department's in 14 of 24
    # canaries where 8% of real rows' are.
    r = random.Random(56)
    codes = {"La Paz": "LP", "Santa Cruz": "SC", "Cochabamba": "CB", "Oruro": "OR", "Tarija": "TJ"}
    rows = []
    for g, p, m, _e, ph in people(r, 600):
        dep = r.choice(list(codes))
        ext = codes[dep] if r.random() < 0.92 else r.choice(list(codes.values()))
        rows.append([f"{r.randint(1_000_000, 13_999_999)} {ext}", g, p, m, dep, ph])
    sample = Sample(
        ["CI", "NOMBRES", "PATERNO", "MATERNO", "DEPARTAMENTO", "CELULAR"], rows, True, 600
    )
    assert infer_schema(sample).columns[0].kind == "id"
    made = canaries_of(sample, 23, 80)
    same = sum(row[0].split()[-1] == codes[row[4]] for row in made)
    assert same >= 0.8 * len(made), same


def test_a_roll_sorted_by_parish_then_surnames_first_names_keeps_the_order(
    tmp_path: Path,
) -> None:
    # "ZAMBRANO VERA CARLOS LUIS" between "ZAMBRANO CEVALLOS ..." and "ZAMBRANO PAREDES
    # ...": the canary took its neighbour's first surname and kept its own second, and
    # 17 of 24 canaries of an Ecuadorian roll broke the order inside their parish.
    r = random.Random(57)
    parishes = ["CHONE", "MANTA", "PORTOVIEJO", "TOSAGUA"]
    surnames = (
        "ZAMBRANO VERA CEVALLOS PAREDES MOREIRA LOOR ALAVA MENDOZA INTRIAGO BRAVO CEDEÑO "
        "GARCIA MACIAS PINARGOTE VELEZ DELGADO ANCHUNDIA CHAVEZ ZAMORA ARTEAGA MERA PICO "
        "SANTANA SALTOS QUIJIJE PONCE ROLDAN VILLAVICENCIO BARRE ALCIVAR"
    ).split()
    women, men = ["MARIA JOSE", "ANA LUCIA", "MARTHA CECILIA"], ["CARLOS LUIS", "JOSE LUIS"]
    rows = []
    for i in range(600):
        female = r.random() < 0.5
        given = r.choice(women if female else men)
        name = f"{r.choice(surnames)} {r.choice(surnames)} {given}"
        parish = r.choice(parishes)
        canton = "CHONE" if parish in ("CHONE", "TOSAGUA") else "PORTOVIEJO"
        rows.append(
            ["MANABI", canton, parish, name, "MUJER" if female else "HOMBRE", f"{i}@correo.ec"]
        )
    rows.sort(key=lambda row: (row[0], row[1], row[2], row[3]))
    src = tmp_path / "padron.csv"
    header = ["PROVINCIA", "CANTON", "PARROQUIA", "APELLIDOS NOMBRES", "SEXO", "CORREO"]
    write_csv(src, header, rows)
    store = store_with(tmp_path, "avisos.example.mx", [])
    copies = issue(store, src, tmp_path, 8, copies=3, canaries=8)
    assert [copy.canaries for copy in copies] == [8, 8, 8]
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        keys = [(row[0], row[1], row[2], row[3]) for row in got]
        assert keys == sorted(keys)
    store.dispose()


def test_excel_serial_dates_in_a_csv_are_read_and_written_as_dates(
    ready: Store, tmp_path: Path
) -> None:
    # A CSV exported from Excel writes its dates as serials (FECHA_REGISTRO 44713,
    # sorted by it). Read as numbers, 24 of 24 canaries held a registration serial out of
    # its neighbours' order, and 5 of 24 a last purchase after the export date.
    r = random.Random(54)
    epoch = date(1899, 12, 30)
    rows: list[list[str]] = []
    for i, (g, p, m, e, ph) in enumerate(people(r, 400)):
        born = date(1960, 1, 1) + timedelta(days=r.randint(0, 16000))
        reg = date(2016, 1, 1) + timedelta(days=r.randint(0, 3800))
        last = reg + timedelta(days=r.randint(0, (date(2026, 11, 28) - reg).days))
        serials = [str((d - epoch).days) for d in (born, reg, last)]
        rows.append([str(5000 + i), f"{g} {p} {m}", serials[0], serials[1], e, ph, serials[2]])
    rows.sort(key=lambda row: int(row[3]))
    header = ["ID_CLIENTE", "NOMBRE_COMPLETO", "FECHA_NACIMIENTO", "FECHA_REGISTRO", "CORREO",
              "CELULAR", "ULTIMA_COMPRA"]  # fmt: skip
    src = tmp_path / "clientes.csv"
    write_csv(src, header, rows)
    newest = max(int(row[6]) for row in rows)
    copies = issue(ready, src, tmp_path, 7, copies=3, canaries=8)
    assert [copy.canaries for copy in copies] == [8, 8, 8]
    real = {tuple(row) for row in rows}
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        regs = [int(row[3]) for row in got]
        assert regs == sorted(regs), "a registration serial out of order"
        for row in (row for row in got if tuple(row) not in real):
            born = epoch + timedelta(days=int(row[2]))
            assert 1940 <= born.year <= 2008, row
            assert int(row[6]) <= newest, row  # never after the export


HOUSEHOLD_MOBILES = [
    f"+52 {a} {310 + i:03d} {4721 + 37 * i:04d}" for a in ("844", "871") for i in range(15)
]
HOUSEHOLD_LANDLINES = ["+52 844 412 3456", "+52 844 415 8821", "+52 844 430 1177",
                       "+52 871 712 4410", "+52 871 716 9032"]  # fmt: skip


def households_table(r: random.Random) -> tuple[list[str], list[list[str]]]:
    """A household survey: households keyed "HOG-000123" (a few numbers skipped), sorted
    by key and member; members numbered 1..k, the first the head, sharing the address
    and the landline (empty in about half the households)."""
    header = ["FOLIO", "NUM", "NOMBRE", "PATERNO", "MATERNO", "PARENTESCO", "EDAD",
              "ESTADO_CIVIL", "TEL_FIJO", "CELULAR", "CALLE", "COLONIA", "MUNICIPIO"]  # fmt: skip
    places = [("CENTRO", "SALTILLO", "844"), ("BELLAVISTA", "SALTILLO", "844"),
              ("LOS PINOS", "TORREON", "871"), ("GUADALUPE", "TORREON", "871")]  # fmt: skip
    rows: list[list[str]] = []
    folio = 0
    while len(rows) < 600:
        folio += r.choice([1, 1, 1, 2])
        colonia, town, area = r.choice(places)
        street = f"{r.choice(['HIDALGO', 'MORELOS', 'JUAREZ', 'ALLENDE'])} {r.randint(1, 900)}"
        fijo = f"{area}{r.randint(1000000, 9999999)}" if r.random() < 0.5 else ""
        head_age = r.randint(24, 80)
        paternal = r.choice(MX_SURNAMES)
        spouse = r.random() < 0.7
        members = [("JEFE(A)", head_age, paternal, "CASADO(A)" if spouse else "SOLTERO(A)")]
        if spouse:
            members.append(
                (
                    "ESPOSO(A)",
                    max(20, head_age + r.randint(-5, 5)),
                    r.choice(MX_SURNAMES),
                    "CASADO(A)",
                )
            )
        for _ in range(r.choice([0, 1, 2, 3])):
            members.append(("HIJO(A)", r.randint(0, max(0, head_age - 18)), paternal, "SOLTERO(A)"))
        for k, (role, age, p1, civil) in enumerate(members, 1):
            cel = f"{area}{r.randint(1000000, 9999999)}" if age >= 15 and r.random() < 0.8 else ""
            rows.append([f"HOG-{folio:06d}", str(k), r.choice(MX_GIVEN), p1, r.choice(MX_SURNAMES),
                         role, str(age), civil, fijo, cel, street, colonia, town])  # fmt: skip
    return header, rows


def test_a_canary_of_a_household_list_forms_a_household_of_its_own(tmp_path: Path) -> None:
    # A household survey, members under the household's key sharing its address and
    # landline: drawn as any row, 24 of 24 canaries held a real household's key with an
    # address and landline none of its members had, inside another household's block,
    # 19 repeating a member number, 13 a child or spouse of the wrong age.
    header, rows = households_table(random.Random(61))
    src = tmp_path / "hogares.csv"
    write_csv(src, header, rows)
    heads = [row for row in rows if row[1] == "1"]
    store = store_with(tmp_path, "avisos.example.mx", HOUSEHOLD_MOBILES)
    copies = issue(store, src, tmp_path, 7, copies=3, canaries=8)
    assert [copy.canaries for copy in copies] == [8, 8, 8]
    real = Counter(tuple(row) for row in rows)
    real_keys = {row[0] for row in rows}
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        left = real.copy()
        canaries = []
        for row in got:
            if left[tuple(row)]:
                left[tuple(row)] -= 1
            else:
                canaries.append(row)
        assert len(canaries) == 8
        keys = [int(row[0][4:]) for row in got]
        assert all(a <= b for a, b in pairwise(keys)), "out of the keys' order"
        blocks = [k for k, _rows in itertools.groupby(row[0] for row in got)]
        assert len(blocks) == len(set(blocks)), "a household split"
        for row in canaries:
            assert re.fullmatch(r"HOG-\d{6}", row[0]), row
            assert row[0] not in real_keys, row
            assert sum(1 for other in got if other[0] == row[0]) == 1, row
            assert row[1] == "1" and row[5] == "JEFE(A)", row
            assert min(int(h[6]) for h in heads) - 1 <= int(row[6]) <= 81, row
            assert row[7] == "SOLTERO(A)", row  # a head living alone
    store.dispose()


def test_a_copys_landlines_stand_in_one_household_each_of_the_canarys_city(
    tmp_path: Path,
) -> None:
    # Five pool landlines handed round 24 canaries: a copy's three stood in two
    # households each (8 of 24 canaries of a household survey) and some in another
    # city than the canary's mobile and address (5 of 24). Short of numbers, a canary
    # leaves the landline empty, as half the households do.
    header, rows = households_table(random.Random(62))
    src = tmp_path / "hogares.csv"
    write_csv(src, header, rows)
    store = store_with(tmp_path, "avisos.example.mx", HOUSEHOLD_MOBILES, HOUSEHOLD_LANDLINES)
    copies = issue(store, src, tmp_path, 8, copies=3, canaries=8)
    assert [copy.canaries for copy in copies] == [8, 8, 8]
    pool = {re.sub(r"\D", "", n)[2:] for n in HOUSEHOLD_LANDLINES}
    filled = 0
    for copy in copies:
        got = list(csv.reader(io.StringIO(Path(copy.path).read_text(encoding="utf-8"))))[1:]
        ours = [row for row in got if row[8] in pool]
        filled += len(ours)
        assert len({row[8] for row in ours}) == len(ours), "a landline in two households"
        for row in ours:
            assert row[8][:3] == row[9][:3] == {"SALTILLO": "844", "TORREON": "871"}[row[12]], row
    assert filled  # the pool's landlines are used where they fit
    store.dispose()


def test_a_new_household_sits_at_an_address_no_household_has() -> None:
    # Streets and house numbers drawn apart from the household's: 1 of 24 canaries of
    # a household survey sat at a real household's address, which no two share.
    r = random.Random(63)
    header = ["FOLIO", "NUM", "NOMBRE", "PATERNO", "PARENTESCO", "EDAD", "CALLE", "NUM_EXT",
              "COLONIA", "CELULAR"]  # fmt: skip
    taken: set[tuple[str, str, str]] = set()
    rows: list[list[str]] = []
    folio = 0
    for _ in range(160):
        folio += r.choice([1, 1, 2])
        while True:
            home = (
                r.choice(["HIDALGO", "MORELOS"]),
                str(r.randint(1, 90)),
                r.choice(["CENTRO", "ROMA"]),
            )
            if home not in taken:
                taken.add(home)
                break
        for k in range(1, r.choice([2, 3, 4]) + 1):
            role = "JEFE(A)" if k == 1 else "HIJO(A)"
            age = r.randint(30, 70) if k == 1 else r.randint(1, 25)
            cel = f"844{r.randint(1000000, 9999999)}"
            rows.append([f"F{folio:05d}", str(k), r.choice(MX_GIVEN), r.choice(MX_SURNAMES),
                         role, str(age), home[0], home[1], home[2], cel])  # fmt: skip
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(4)
    )
    assert f._group_model() is not None
    starts = [i for i in range(1, len(rows)) if rows[i][1] == "1"]
    made = 0
    for i in starts[:40]:
        row = f.make_row(f.persona(), "+52 844 310 4721", prev=rows[i - 1], next=rows[i])
        if row is None:
            continue
        made += 1
        assert (row[6], row[7], row[8]) not in taken, row
        assert row[1] == "1" and row[4] == "JEFE(A)", row
    assert made >= 8


def test_small_runs_of_a_code_without_members_are_no_households() -> None:
    # A payroll sorted by department code, two to four employees each, sharing the
    # department's name: no member number, no head's role, so no new department.
    r = random.Random(64)
    rows = []
    for d in range(1, 90):
        name = f"DEPTO {r.choice(['NORTE', 'SUR', 'CENTRO'])} {d}"
        for _ in range(r.randint(2, 4)):
            g, p, m, e, ph = people(r, 1)[0]
            rows.append(
                [f"D{d:03d}", name, g, p, m, e, ph, r.choice(["ANALISTA", "JEFE", "AUXILIAR"])]
            )
    header = ["CLAVE", "DEPARTAMENTO", "NOMBRE", "PATERNO", "MATERNO", "CORREO", "TEL", "PUESTO"]
    sample = Sample(header, rows, True, len(rows))
    f = CanaryFactory(
        infer_schema(sample), sample, domains=["avisos.example.mx"], rng=random.Random(5)
    )
    assert f._group_model() is None


# --- payrolls sorted by their hierarchy (issue 10) -----------------------------------

MX_STREETS = ["AV. JUÁREZ", "CALLE HIDALGO", "ALDAMA", "FRESNO", "LAS ROSAS", "ROBLE", "ZARAGOZA",
              "ALLENDE", "GUERRERO", "MATAMOROS", "LOS PINOS", "PINO SUÁREZ", "AV. UNIVERSIDAD",
              "NICOLÁS BRAVO", "5 DE MAYO", "16 DE SEPTIEMBRE"]  # fmt: skip
MX_AREAS = {
    "DIRECCIÓN COMERCIAL": ["MERCADOTECNIA", "VENTAS", "ATENCIÓN A CLIENTES"],
    "DIRECCIÓN DE FINANZAS": ["CONTABILIDAD", "TESORERÍA", "NÓMINA"],
    "DIRECCIÓN DE OPERACIONES": ["LOGÍSTICA", "ALMACÉN", "MANTENIMIENTO", "CALIDAD"],
}
MX_RUNS = [(direction, area) for direction, areas in MX_AREAS.items() for area in areas]


def test_a_payroll_whose_street_and_number_reads_as_an_id_places_every_canary(
    ready: Store, tmp_path: Path
) -> None:
    """A payroll sorted by directorate, department and surnames, with the street and
    its number in one column ("ALDAMA 37", "5 DE MAYO 12": an id of no one format):
    drawn by position from a donor's "ALDAMA 37", whose first two digits are drawn
    whole from real values, every draw was a real row's, and 12 of 24 canaries found no
    place. Every canary is placed, in its run's directorate and department."""
    r = random.Random(61)
    rows = []
    for direction, areas in MX_AREAS.items():
        for area in areas:
            staff = []
            for _ in range(r.randint(30, 45)):
                p, m = r.choice(SURNAMES_MX), r.choice(SURNAMES_MX)
                staff.append([p.upper(), m.upper(), r.choice(SINGLE).upper(), direction, area,
                              r.choice(["ANALISTA", "AUXILIAR", "JEFE DE ÁREA"]),
                              f"844{r.randint(1000000, 9999999)}",
                              f"{r.choice(MX_STREETS)} {r.randint(1, r.choice([99, 999]))}",
                              r.choice(["CENTRO", "OBISPADO", "CONTRY"])])  # fmt: skip
            rows.extend(sorted(staff, key=lambda s: (s[0], s[1], s[2])))
    assert [k for k, _ in itertools.groupby((row[3], row[4]) for row in rows)] == list(MX_RUNS)
    src = tmp_path / "plantilla.csv"
    header = ["APELLIDO_PATERNO", "APELLIDO_MATERNO", "NOMBRE", "DIRECCION", "DEPARTAMENTO",
              "PUESTO", "CELULAR", "CALLE_NUMERO", "COLONIA"]  # fmt: skip
    write_csv(src, header, rows)
    for copy in issue(ready, src, tmp_path, 62, copies=3, canaries=8):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))[1:]
        assert len(got) == len(rows) + 8, copy.path
        runs = [(row[3], row[4]) for row in got]
        assert [k for k, _ in itertools.groupby(runs)] == list(MX_RUNS), copy.path
        for _run, members in itertools.groupby(got, key=lambda row: (row[3], row[4])):
            names = [(row[0], row[1]) for row in members]
            assert names == sorted(names), copy.path


def test_a_payroll_with_folios_per_directorate_keeps_each_canary_in_its_series(
    ready: Store, tmp_path: Path
) -> None:
    """A payroll sorted by directorate, each numbering its folios ("DFI-0219") apart, its
    areas each of one directorate: a canary's folio prefix was drawn at the column's
    frequencies (10 of 17 named another directorate than its run's; 2 of 24 canaries
    fitted their neighbours nowhere), its area from any row (14 of 17 under another
    directorate), its date of joining from the whole column (17 of 24 out of order with
    their folio's neighbours'). Every canary is placed, its folio of its run's series,
    in order, its area one of its directorate's, its date of joining in the series'."""
    r = random.Random(63)
    rows = []
    prefixes = {"DIRECCIÓN COMERCIAL": "DCO-", "DIRECCIÓN DE FINANZAS": "DFI-",
                "DIRECCIÓN DE OPERACIONES": "DOP-"}  # fmt: skip
    for direction, areas in MX_AREAS.items():
        folio, joined = 0, date(1990, 1, 8)
        for _ in range(r.randint(120, 160)):
            folio += r.choices([1, 2, 3], [6, 2, 1])[0]
            joined += timedelta(days=r.randint(10, 90))
            rows.append([f"{prefixes[direction]}{folio:04d}", r.choice(SINGLE),
                         r.choice(SURNAMES_MX), direction, r.choice(areas),
                         joined.strftime("%d/%m/%Y"),
                         f"844{r.randint(1000000, 9999999)}"])  # fmt: skip
    src = tmp_path / "nomina.csv"
    header = ["No. de empleado", "Nombre", "Apellido", "Dirección", "Área", "Fecha de ingreso",
              "Celular"]  # fmt: skip
    write_csv(src, header, rows)
    held = {(row[3], row[4]) for row in rows}
    for copy in issue(ready, src, tmp_path, 64, copies=3, canaries=8):
        with open(copy.path, encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))[1:]
        assert len(got) == len(rows) + 8, copy.path
        assert [row[0] for row in got] == sorted(row[0] for row in got), copy.path
        for row in got:
            assert row[0].startswith(prefixes[row[3]]), row
            assert (row[3], row[4]) in held, row
        for _direction, series in itertools.groupby(got, key=lambda row: row[3]):
            joined = [datetime.strptime(row[5], "%d/%m/%Y") for row in series]
            assert joined == sorted(joined), copy.path


def test_an_employee_number_given_in_order_of_joining_follows_the_canarys_date() -> None:
    """Employee numbers given in order of joining, in a payroll sorted by department and
    surnames, beside the years of service (a category that narrows the number's start
    only as the date's shadow): the number drawn near those of the rows joined nearest
    the canary was drawn again with a start of the years of service's, and 22 of 24
    canaries of a payroll had a number out of order with the dates of the rows numbered
    nearest theirs."""
    r = random.Random(65)
    joined = sorted(date(2000, 1, 3) + timedelta(days=r.randint(0, 9000)) for _ in range(500))
    staff, number = [], 10000
    for day in joined:
        number += r.choices([1, 2, 3], [6, 2, 1])[0]
        staff.append([str(number), r.choice(SURNAMES_MX).upper(), r.choice(SINGLE).upper(),
                      r.choice(["VENTAS", "NÓMINA", "ALMACÉN"]), day.strftime("%d/%m/%Y"),
                      f"{(date(2026, 6, 1) - day).days // 365} AÑOS",
                      f"844{r.randint(1000000, 9999999)}"])  # fmt: skip
    staff.sort(key=lambda row: (row[3], row[1], row[2]))
    header = ["NUM_EMPLEADO", "APELLIDO", "NOMBRE", "DEPARTAMENTO", "FECHA_INGRESO",
              "ANTIGUEDAD", "CELULAR"]  # fmt: skip
    sample = Sample(header, staff, True, len(staff))
    schema = infer_schema(sample)
    schema.columns[5].kind = "category"  # as a payroll's bare "0".."26" are read
    f = CanaryFactory(schema, sample, domains=["avisos.example.mx"], rng=random.Random(66))
    by_day = sorted((datetime.strptime(row[4], "%d/%m/%Y"), int(row[0])) for row in staff)
    for _ in range(30):
        row = f.make_row(f.persona(), phone="+528443101234")
        assert row is not None
        day = datetime.strptime(row[4], "%d/%m/%Y")
        nearest = min(by_day, key=lambda d: abs((d[0] - day).days))[1]
        assert abs(int(row[0]) - nearest) <= 12, row


def test_a_table_in_runs_of_many_rows_is_no_table_of_households() -> None:
    # a payroll keyed by work centre (ten to twenty people each, numbered inside it,
    # sharing the centre's address) is a table of runs: read as households, each
    # canary would have been a new work centre of one
    from canary.synth.groups import find_groups

    r = random.Random(58)
    rows = []
    for centre in range(30):
        street = f"AV. {r.choice(['JUAREZ', 'HIDALGO', 'MORELOS'])} {r.randint(1, 900)}"
        for member in range(1, r.randint(10, 20) + 1):
            rows.append([f"CT-{centre:04d}", str(member), street, r.choice(["A", "B", "C"])])
    assert find_groups(rows, [0], 4) is None
    small = [row for row in rows if int(row[1]) <= 3]  # the same in threes: households
    assert find_groups(small, [0], 4) is not None


@pytest.mark.parametrize(
    ("given", "paternal", "maternal", "rfc"),
    [
        # the homoclaves an independent implementation of the SAT's algorithm (an
        # adversary's scorer) gave these names; the check digit is stdnum's
        ("JUAN CARLOS", "GARCIA", "LOPEZ", "GALJ800101KX"),
        ("ANA", "DE LA CRUZ", "ORTIZ", "CUOA950615GH"),
    ],
)
def test_an_rfc_homoclave_is_the_one_the_sat_computes_from_the_name(
    given: str, paternal: str, maternal: str, rfc: str
) -> None:
    # drawn at random, 24 of 24 canaries of a payroll had a homoclave no validator
    # following the SAT's algorithm gives their name
    from stdnum.mx import rfc as mx_rfc

    from canary.synth.national_ids import make_rfc

    born = date(int("19" + rfc[4:6]), int(rfc[6:8]), int(rfc[8:10]))
    made = make_rfc(given, paternal, maternal, born)
    assert made[:12] == rfc
    assert mx_rfc.is_valid(made)
