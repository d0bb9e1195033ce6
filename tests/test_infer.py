"""Schema inference: kinds from Spanish and English headers and from bare values, formats,
locale detection, on small hand-written tables and on the shipped demo datasets."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

import pytest
from faker import Faker

from canary.formats import Sample
from canary.synth.infer import Column, DateFormat, infer_schema, kind_from_header, phone_masks_of
from canary.synth.profiles import demo_dataset, demo_datasets, locale_profile, seeds_dir


def sample_of(header: list[str], rows: list[list[str]]) -> Sample:
    return Sample(header=header, rows=rows, complete=True, row_count=len(rows))


def load_demo(name: str) -> Sample:
    raw = demo_dataset(name).read_bytes()
    text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    return sample_of(rows[0], rows[1:])


def by_name(schema, name: str) -> Column:
    return next(c for c in schema.columns if c.name == name)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("NOMBRE(S)", "given_name"),
        ("Apellido Paterno", "paternal"),
        ("segundo apellido", "maternal"),
        ("CORREO ELECTRÓNICO", "email"),
        ("e-mail", "email"),
        ("Teléfono", "phone"),
        ("CELULAR", "phone"),
        ("WhatsApp", "phone"),
        ("Fecha de Nacimiento", "birth_date"),
        ("fecha_registro", "date"),
        ("Código Postal", "place"),
        ("MUNICIPIO", "place"),
        ("First Name", "given_name"),
        ("Last Name", "surname"),
        ("Phone Number", "phone"),
        ("ZIP", "place"),
        ("CURP", "curp"),
        ("Folio", "id"),
        ("Customer ID", "id"),
        ("Género", "sex"),
        ("edad", "age"),
        ("Monto", "number"),
        ("comentarios", None),
        ("Teléfonos", "phone"),
        ("celulares", "phone"),
        ("Phones", "phone"),
        ("correos", "email"),
        ("Emails", "email"),
        ("municipios", "place"),
        # Portuguese: a birth date read as any date had canaries' emails and ages
        # ignore it
        ("Data de Nascimento", "birth_date"),
        ("DT_NASC", "birth_date"),
        ("Nome", "given_name"),
        ("Nome completo", "full_name"),
        ("Sobrenome", "surname"),
        ("Telefone", "phone"),
        ("Data de cadastro", "date"),
        ("Idade", "age"),
        # French, Italian, German, Portuguese (Portugal) and British exports: read as
        # nothing, an Italian registry's surnames were drawn as a category and a
        # French list's canaries got emails of names not theirs
        ("Nom", "surname"),
        ("Prénom", "given_name"),
        ("Nom et prénom", "full_name"),
        ("Portable", "phone"),
        ("Date de naissance", "birth_date"),
        ("Ville", "place"),
        ("N° adhérent", "id"),
        ("COGNOME", "surname"),
        ("TELEFONO_CELLULARE", "phone"),
        ("DATA_NASCITA", "birth_date"),
        ("CAP", "place"),
        ("CODICE_FISCALE", "id"),
        ("SESSO", "sex"),
        ("Vorname", "given_name"),
        ("Nachname", "surname"),
        ("Geburtsdatum", "birth_date"),
        ("Handy", "phone"),
        ("Localidade", "place"),
        ("Apelidos", "surname"),
        ("Forename", "given_name"),
        ("NI Number", "id"),
        ("Tenancy Ref", "id"),
        ("DPI", "id"),
        ("No. de CUI", "id"),
        # a guardian's whole name, not the pupil's given name; the guardian's phone
        ("NOMBRE ACUDIENTE", "full_name"),
        ("Guardian Name", "full_name"),
        ("TELÉFONO ACUDIENTE", "phone"),
        # "ß" is "ss": "Straße" read as "stra e" was free text, its canaries' streets
        # of another town's postcode (23 of 24)
        ("Straße", "place"),
        ("Anschrift", "place"),
        ("SIN", "id"),
        ("IDENTIDAD", "id"),
    ],
)
def test_header_kinds(header: str, kind: str | None) -> None:
    assert kind_from_header(header) == kind


def test_candidate_registry_columns_and_locale() -> None:
    schema = infer_schema(load_demo("candidatas.csv"))
    assert schema.locale == "es_MX" and schema.region == "MX"
    assert schema.kinds() == {
        "FOLIO": "id",
        "NOMBRE(S)": "given_name",
        "APELLIDO PATERNO": "paternal",
        "APELLIDO MATERNO": "maternal",
        "CURP": "curp",
        "SEXO": "sex",
        "FECHA DE NACIMIENTO": "birth_date",
        "CORREO ELECTRÓNICO": "email",
        "CELULAR": "phone",
        "MUNICIPIO": "place",
        "DISTRITO": "place",
        "PARTIDO": "category",
    }
    assert schema.email_columns == [7] and schema.phone_columns == [8]
    folio = by_name(schema, "FOLIO")
    assert folio.sorted and folio.fmt["id"]["prefix"] == "COAH-" and folio.fmt["id"]["width"] == 5
    assert by_name(schema, "NOMBRE(S)").casing == "upper"
    assert by_name(schema, "CELULAR").fmt["masks"].most_common(1)[0][0] == "(###) ###-####"
    assert by_name(schema, "FECHA DE NACIMIENTO").fmt["date"] == DateFormat("dmy", "/", 4, True)
    assert 0.02 < by_name(schema, "CORREO ELECTRÓNICO").empty_rate < 0.1


def test_customer_list_columns_and_locale() -> None:
    schema = infer_schema(load_demo("clientes.csv"))
    assert schema.locale == "es_CR" and schema.region == "CR"
    kinds = schema.kinds()
    assert kinds["id_cliente"] == "id" and kinds["nombre"] == "full_name"
    assert kinds["correo"] == "email" and kinds["telefono"] == "phone"
    assert kinds["fecha_registro"] == "date" and kinds["acepta_promociones"] == "boolean"
    assert kinds["provincia"] == "place" and kinds["canton"] == "place"
    assert set(by_name(schema, "telefono").fmt["masks"]) == {"####-####", "########"}


def test_kinds_from_values_when_headers_say_nothing() -> None:
    rng = random.Random(3)
    fake = Faker("en_US")
    fake.seed_instance(3)
    rows = []
    for i in range(200):
        rows.append(
            [
                f"{1000 + i * 3}",
                f"user{i}@gmail.com" if i % 10 else "",
                f"+1 (212) 555-{1000 + i:04d}",
                f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/19{rng.randint(50, 99)}",
                rng.choice(["Gold", "Silver", "Bronze"]),
                f"{rng.uniform(10, 900):.2f}",
                rng.choice(["yes", "no"]),
                f"{fake.first_name()} {fake.last_name()}",
                "ACME",
            ]
        )
    header = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]
    schema = infer_schema(sample_of(header, rows))
    assert [c.kind for c in schema.columns] == [
        "id",
        "email",
        "phone",
        "date",
        "category",
        "number",
        "boolean",
        "full_name",
        "constant",
    ]
    assert schema.columns[0].sorted
    assert schema.columns[1].empty_rate == pytest.approx(0.1)
    assert schema.columns[3].fmt["date"].order == "mdy"  # 12/28 style: month first
    assert schema.columns[5].fmt["number"]["decimals"] == 2
    assert schema.locale == "en_US" and schema.region == "US"


def test_english_headers_give_english_locale() -> None:
    rows = [
        ["1", "Anna", "Miller", "anna.miller@yahoo.com", "(415) 555-0134", "Seattle", "WA"],
        ["2", "James", "Wilson", "jwilson@gmail.com", "(206) 555-0199", "Boston", "MA"],
    ] * 5
    schema = infer_schema(
        sample_of(["id", "first name", "last name", "email", "phone", "city", "state"], rows)
    )
    assert schema.locale == "en_US"
    assert schema.kinds()["first name"] == "given_name"
    assert schema.kinds()["last name"] == "surname"


@pytest.mark.parametrize(
    ("values", "region", "mask"),
    [
        (["(844) 123-4567", "(871) 222-3344"], "MX", "(###) ###-####"),
        (["844-123-4567", "871-222-3344"], "MX", "###-###-####"),
        (["+52 1 844 123 4567", "+52 1 871 222 3344"], "MX", "+52 1 ### ### ####"),
        (["8441234567", "8712223344"], "MX", "##########"),
        (["8312-3456", "7012-9988"], "CR", "####-####"),
        (["+506 8312 3456", "+506 7012 9988"], "CR", "+506 #### ####"),
    ],
)
def test_phone_masks(values: list[str], region: str, mask: str) -> None:
    assert phone_masks_of(values, region) == {mask: 2}


def test_date_format_round_trip() -> None:
    fmt = DateFormat("dmy", "/", 4, True)
    assert fmt.format(date(1985, 3, 7)) == "07/03/1985"
    assert fmt.parse("07/03/1985") == (date(1985, 3, 7), "")
    loose = DateFormat("mdy", "-", 2, False)
    assert loose.format(date(2001, 3, 7)) == "3-7-01"


def test_seeds_found_and_profiles_complete() -> None:
    assert (seeds_dir() / "locales").is_dir()
    assert {p.name for p in demo_datasets()} >= {"candidatas.csv", "clientes.csv"}
    for loc in ("es_MX", "es_CR", "es_ES", "en_US"):
        prof = locale_profile(loc)
        assert prof["locale"] == loc
        assert abs(sum(prof["email_providers"].values()) - 1) < 0.02
        assert all(m.count("#") >= 8 for m in prof["phone_masks"])


LOCALE_CASES = {
    "es_ES": [
        ("Lucía", "García", "612 34 56 78", "Madrid"),
        ("Pablo", "Ruiz", "655 11 22 33", "Sevilla"),
    ],
    "es_CR": [
        ("María", "Vargas", "8312-3456", "Heredia"),
        ("José", "Mora", "7012-9988", "Alajuela"),
    ],
    "es_MX": [
        ("Ana", "López", "+52 1 844 123 4567", "Saltillo"),
        ("Juan", "Cruz", "+52 1 871 222 3344", "Torreón"),
    ],
    "es_MX-national": [
        ("Ana", "López", "5512345678", "Guanajuato"),
        ("Luis", "Pérez", "3312345678", "Jalisco"),
    ],
}


@pytest.mark.parametrize("case", sorted(LOCALE_CASES))
def test_locale_from_phones_and_places(case: str) -> None:
    rows = [list(r) for r in LOCALE_CASES[case]] * 5
    schema = infer_schema(sample_of(["nombre", "apellido", "teléfono", "ciudad"], rows))
    locale = case.split("-")[0]
    assert schema.locale == locale
    assert schema.region == locale_profile(locale)["region"]


def test_seeds_found_where_a_wheel_puts_them(tmp_path, monkeypatch) -> None:
    import shutil

    from canary.synth import profiles

    pkg = tmp_path / "site-packages" / "canary"
    shutil.copytree(seeds_dir() / "locales", pkg / "_seeds" / "locales")
    monkeypatch.setattr(profiles, "__file__", str(pkg / "synth" / "profiles.py"))
    assert seeds_dir() == pkg / "_seeds"
    nowhere = tmp_path / "nowhere" / "canary" / "synth" / "profiles.py"
    monkeypatch.setattr(profiles, "__file__", str(nowhere))
    from canary.errors import ConfigError

    with pytest.raises(ConfigError, match="reinstall"):
        seeds_dir()


def test_english_headers_over_mexican_people_give_mexico() -> None:
    fake = Faker("es_MX")
    fake.seed_instance(6)
    rows = [[fake.first_name(), fake.last_name(), fake.numerify("844#######")] for _ in range(100)]
    schema = infer_schema(sample_of(["first name", "last name", "phone"], rows))
    assert schema.locale == "es_MX" and schema.region == "MX"


@pytest.mark.parametrize("header", ["Email", "c1"])
def test_numbered_addresses_with_accents_are_an_email_column_not_an_id(header: str) -> None:
    # Addresses numbered in order, half with accented local parts (as people type them
    # into forms): neither the strict address grammar nor the id sequence may win.
    names = ["josé", "maría", "núria", "íñigo", "begoña", "andrés"]
    rows = [[f"{names[i % 6]}.{i}@gmail.com", f"{i * 7}"] for i in range(300)]
    schema = infer_schema(sample_of([header, "n"], rows))
    assert schema.columns[0].kind == "email"
    assert schema.columns[0].fmt["domains"] == {"gmail.com": 300}


def test_a_header_saying_email_needs_only_half_of_the_values_to_be_addresses() -> None:
    rows = [[f"ana{i}@correo.example.es" if i % 2 else "sin correo", str(i)] for i in range(100)]
    assert infer_schema(sample_of(["correo", "n"], rows)).columns[0].kind == "email"
    assert infer_schema(sample_of(["notas", "n"], rows)).columns[0].kind != "email"


def test_several_numbers_to_a_cell_give_the_first_numbers_mask() -> None:
    rng = random.Random(2)
    rows = [
        [
            f"P{i}",
            f"844 {rng.randint(100, 999)} {rng.randint(1000, 9999)} / "
            f"871 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        ]
        for i in range(100)
    ]
    col = infer_schema(sample_of(["nombre", "teléfonos"], rows)).columns[1]
    assert col.kind == "phone" and set(col.fmt["masks"]) == {"### ### ####"}


@pytest.mark.parametrize(
    ("values", "mapping"),
    [
        (["M."] * 5 + ["Mme"] * 6 + ["Mlle"], {"M.": "M", "Mme": "F", "Mlle": "F"}),
        (
            ["Mr"] * 40 + ["Mrs"] * 30 + ["Miss"] * 10 + ["Ms"] * 9 + ["Dr"] * 3,
            {"Mr": "M", "Mrs": "F", "Miss": "F", "Ms": "F"},
        ),
        (["Sr."] * 5 + ["Sra."] * 4 + ["Srta."], {"Sr.": "M", "Sra.": "F", "Srta.": "F"}),
        (["H"] * 5 + ["M"] * 4, {"H": "M", "M": "F"}),
    ],
)
def test_a_column_of_forms_of_address_is_the_rows_sex(values, mapping) -> None:
    """ "Mme", "Mrs", "Sra." say a woman as "F" does ("M." is Monsieur beside "Mme"): drawn
    apart from the names, 11 of 24 canaries of a French and of a British list had the
    other sex's."""
    r = random.Random(3)
    rows = [[v, f"N{r.randint(0, 99)}"] for v in values * 4]
    column = by_name(infer_schema(sample_of(["Title", "Name"], rows)), "Title")
    assert column.kind == "sex"
    assert column.fmt["sex"] == mapping


def _italian_mobile(r: random.Random) -> str:
    return f"3{r.choice('2348')}{r.randint(0, 9)}{r.randint(1000000, 9999999)}"


@pytest.mark.parametrize(
    ("header", "phone", "domains", "region"),
    [
        # valid Mexican numbers too: the emails' domains say where the rows are
        ("TELEFONO_CELLULARE", _italian_mobile, ["libero.it", "gmail.com", "alice.it"], "IT"),
        # "Portable" was not read as a phone column: the list read as American
        (
            "Portable",
            lambda r: "06 " + " ".join(str(r.randint(10, 99)) for _ in range(4)),
            ["orange.fr", "gmail.com", "free.fr"],
            "FR",
        ),
    ],
)
def test_the_phones_country_is_the_one_the_emails_name_when_two_plans_hold_them(
    header, phone, domains, region
) -> None:
    r = random.Random(5)
    rows = [[f"COGNOME{i}", f"NOME{i}", phone(r), f"n{i}@{r.choice(domains)}"] for i in range(200)]
    schema = infer_schema(sample_of(["COGNOME", "NOME", header, "EMAIL"], rows))
    assert schema.region == region


def test_the_organisations_own_numbers_decide_between_two_plans_that_hold_the_table() -> None:
    """A Panamanian list's "6688-7214" is a valid Salvadoran number too, and nothing
    else in it named the country: its canaries got the organisation's Salvadoran
    numbers (more of them, starting 7 where the table's start 6), none of its Panamanian
    ones. The pool's numbers decide, by country and by how they start."""
    r = random.Random(9)
    rows = [
        [f"N{i}", f"6{r.randint(100, 999)}-{r.randint(1000, 9999)}", f"n{i}@gmail.com"]
        for i in range(200)
    ]
    sample = sample_of(["nombre", "celular", "email"], rows)
    panama = [f"+507 6{k}12 34{k}5" for k in range(8)]
    salvador = [f"+503 7{k}12 34{k}5" for k in range(9)] + ["+503 2212 3456"]
    honduras = [f"+504 9{k}12 34{k}5" for k in range(5)]
    assert infer_schema(sample, pool=panama + salvador + honduras).region == "PA"
    assert infer_schema(sample, pool=salvador).region == "SV"


@pytest.mark.parametrize("years", [4, 10])
def test_a_file_number_of_a_years_series_is_an_id(years: int) -> None:
    """A file number "2023/0457" (a year, then the year's series) is an id: read as a
    Mexican phone number of eight digits, every canary's folio was a phone number. Over
    ten years (ten prefixes in 300 rows) it was no numbering at all."""
    r = random.Random(years)
    rows = []
    for year in range(2019, 2019 + years):
        n = 0
        for _ in range(300 // years):
            n += 1 if r.random() > 0.08 else 2
            rows.append([f"{year}/{n:04d}", "Ana López", f"844{r.randint(1000000, 9999999)}"])
    schema = infer_schema(sample_of(["EXPEDIENTE", "NOMBRE", "TELEFONO"], rows))
    assert [c.kind for c in schema.columns][::2] == ["id", "phone"]


def test_a_code_with_a_hyphen_is_no_negative_number_and_a_civil_status_no_place() -> None:
    # "HOG-000002" read as -2 (a sign after the code's letters), "ESTADO CIVIL" as a
    # place by its word "ESTADO" (a household survey's)
    from canary.synth.cells import parse_number

    assert parse_number("HOG-000002") is None
    assert parse_number("$ -1.250") == -1250
    rows = [
        [f"HOG-{i // 3:06d}", ["CASADO(A)", "SOLTERO(A)", "VIUDO(A)"][i % 3]] for i in range(90)
    ]
    columns = infer_schema(Sample(["FOLIO_HOGAR", "ESTADO_CIVIL"], rows, True, 90)).columns
    assert columns[0].kind != "number"
    assert columns[1].kind == "category"
