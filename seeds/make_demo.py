"""Generate the two SYNTHETIC demo datasets in seeds/demo (deterministic: same bytes every run).

- candidatas.csv: a registry of 1,800 women candidates in Coahuila, like the electoral
  case (Spanish headers, UPPER CASE names, CURP, "(844) 123-4567" mobiles whose area
  code matches the municipality, sorted folios with gaps). cp1252 with CRLF, as Excel
  writes "CSV (delimitado por comas)" on a Spanish Windows.
- clientes.csv: 2,000 customers of a lottery in Costa Rica, like the lottery case
  (customer id, full name, email, "8312-3456" phones, province and canton, registration
  date, amount, opt-in). UTF-8 with BOM, as Excel writes "CSV UTF-8".

Every person is made up with Faker; any resemblance to a real person is chance.
Run: python seeds/make_demo.py
"""

from __future__ import annotations

import csv
import io
import random
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from canary.synth.national_ids import make_curp
from canary.synth.profiles import locale_profile

OUT = Path(__file__).resolve().parent / "demo"

# Municipality -> (local district, area code), Coahuila; shares roughly follow population.
COAHUILA = {
    "SALTILLO": (["01", "02", "03", "04"], "844", 28),
    "RAMOS ARIZPE": (["05"], "844", 4),
    "ARTEAGA": (["05"], "844", 1),
    "TORREÓN": (["06", "07", "08", "09"], "871", 24),
    "MATAMOROS": (["10"], "871", 3),
    "FRANCISCO I. MADERO": (["10"], "872", 2),
    "SAN PEDRO": (["11"], "872", 3),
    "MONCLOVA": (["12"], "866", 8),
    "FRONTERA": (["12"], "866", 3),
    "CASTAÑOS": (["12"], "866", 1),
    "PIEDRAS NEGRAS": (["13"], "878", 6),
    "ACUÑA": (["14"], "877", 5),
    "SABINAS": (["15"], "861", 2),
    "SAN JUAN DE SABINAS": (["15"], "861", 1),
    "MÚZQUIZ": (["15"], "864", 2),
    "NAVA": (["16"], "862", 1),
    "ALLENDE": (["16"], "862", 1),
    "PARRAS": (["09"], "842", 2),
    "CUATRO CIÉNEGAS": (["12"], "869", 1),
}
PARTIES = {
    "MORENA": 22,
    "PRI": 20,
    "PAN": 16,
    "UDC": 8,
    "PT": 8,
    "PVEM": 7,
    "MC": 9,
    "INDEPENDIENTE": 4,
    "PRD": 6,
}
PROVIDERS_MX = {
    "gmail.com": 55, "hotmail.com": 24, "yahoo.com.mx": 6, "outlook.com": 8, "live.com.mx": 3,
    "icloud.com": 4,
}  # fmt: skip
PROVIDERS_CR = {
    "gmail.com": 58, "hotmail.com": 22, "yahoo.com": 7, "outlook.com": 6, "icloud.com": 4,
    "racsa.co.cr": 3,
}  # fmt: skip
COSTA_RICA = {
    "San José": (
        [
            "San José",
            "Desamparados",
            "Escazú",
            "Goicoechea",
            "Tibás",
            "Curridabat",
            "Moravia",
            "Pérez Zeledón",
            "Montes de Oca",
            "Santa Ana",
        ],
        33,
    ),
    "Alajuela": (["Alajuela", "San Carlos", "Grecia", "San Ramón", "Naranjo", "Atenas"], 22),
    "Cartago": (["Cartago", "Turrialba", "La Unión", "Paraíso", "Oreamuno"], 11),
    "Heredia": (["Heredia", "Santo Domingo", "Barva", "San Rafael", "Belén"], 10),
    "Guanacaste": (["Liberia", "Nicoya", "Santa Cruz", "Cañas"], 7),
    "Puntarenas": (["Puntarenas", "Osa", "Quepos", "Corredores", "Garabito"], 9),
    "Limón": (["Limón", "Pococí", "Siquirres", "Talamanca"], 8),
}


def plain(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    return "".join(c for c in t if not unicodedata.combining(c)).lower().replace(" ", "")


def weighted(rng: random.Random, table: dict[str, float]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def local_part(rng: random.Random, first: str, last: str, last2: str, birth: date) -> str:
    f, la, lb = plain(first.split()[0]), plain(last), plain(last2)
    shapes = [
        (f"{f}.{la}", 18),
        (f"{f}{la}{rng.randint(10, 99)}", 14),
        (f"{f[0]}{la}{rng.randint(10, 99)}", 10),
        (f"{f}_{la}", 6),
        (f"{f}{la}", 10),
        (f"{f}.{la}{rng.randint(1, 99)}", 9),
        (f"{f}{rng.randint(1000, 9999)}", 6),
        (f"{f}{la}{lb}", 5),
        (f"{f[0]}{la}{lb}", 6),
        (f"{f}{birth:%y}", 8),
        (f"{la}.{f}", 4),
        (rng.choice(["sol", "luna", "estrella", "reina", "flor"]) + str(rng.randint(1, 999)), 4),
    ]  # fmt: skip
    return rng.choices([s for s, _ in shapes], weights=[w for _, w in shapes])[0]


def candidatas(rng: random.Random, fake: Faker) -> list[list[str]]:
    prof = locale_profile("es_MX")
    header = ["FOLIO", "NOMBRE(S)", "APELLIDO PATERNO", "APELLIDO MATERNO", "CURP", "SEXO",
              "FECHA DE NACIMIENTO", "CORREO ELECTRÓNICO", "CELULAR", "MUNICIPIO", "DISTRITO",
              "PARTIDO"]  # fmt: skip
    rows = [header]
    towns = {k: v[2] for k, v in COAHUILA.items()}
    folio = 0
    used_phones: set[str] = set()
    used_mail: set[str] = set()
    for _ in range(1800):
        folio += 1 if rng.random() < 0.9 else rng.randint(2, 4)  # withdrawn records leave gaps
        given = (
            weighted(rng, prof["given_female"]) if rng.random() < 0.5 else fake.first_name_female()
        )
        if len(given.split()) == 1 and rng.random() < 0.35:
            given += " " + fake.first_name_female()
        sur = [
            weighted(rng, prof["surnames"]) if rng.random() < 0.55 else fake.last_name()
            for _ in range(2)
        ]
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 365 * 42))
        town = weighted(rng, towns)
        districts, lada, _w = COAHUILA[town]
        state = "CL" if rng.random() < 0.85 else rng.choice(["NL", "DG", "ZS", "TS", "DF", "SP"])
        curp = make_curp(given, sur[0], sur[1], birth, "F", state, chr(rng.randint(33, 126)))
        while True:
            rest = f"{rng.randint(1000000, 9999999):07d}"[: 10 - len(lada)]
            phone = lada + rest
            if phone not in used_phones:
                used_phones.add(phone)
                break
        cel = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
        mail = ""
        if rng.random() > 0.06:
            mail = f"{local_part(rng, given, sur[0], sur[1], birth)}@{weighted(rng, PROVIDERS_MX)}"
            if mail in used_mail:
                mail = ""
            used_mail.add(mail)
        rows.append(
            [
                f"COAH-{folio:05d}",
                given.upper(),
                sur[0].upper(),
                sur[1].upper() if rng.random() > 0.02 else "",
                curp,
                "MUJER",
                birth.strftime("%d/%m/%Y"),
                mail,
                cel,
                town,
                rng.choice(districts),
                weighted(rng, PARTIES),
            ]
        )
    return rows


def clientes(rng: random.Random, fake: Faker) -> list[list[str]]:
    prof = locale_profile("es_CR")
    header = ["id_cliente", "nombre", "correo", "telefono", "provincia", "canton",
              "fecha_registro", "monto", "acepta_promociones"]  # fmt: skip
    rows = [header]
    provinces = {k: v[1] for k, v in COSTA_RICA.items()}
    used: set[str] = set()
    ids = rng.sample(range(10000, 99999), 2000)
    for cid in sorted(ids):
        female = rng.random() < 0.52
        table = prof["given_female" if female else "given_male"]
        given = (
            weighted(rng, table)
            if rng.random() < 0.6
            else (fake.first_name_female() if female else fake.first_name_male())
        )
        sur = [
            weighted(rng, prof["surnames"]) if rng.random() < 0.7 else fake.last_name()
            for _ in range(2)
        ]
        birth = date(1955, 1, 1) + timedelta(days=rng.randint(0, 365 * 50))
        prov = weighted(rng, provinces)
        canton = rng.choice(COSTA_RICA[prov][0])
        while True:
            num = f"{rng.choice('678')}{rng.randint(0, 9999999):07d}"
            if num not in used:
                used.add(num)
                break
        phone = f"{num[:4]}-{num[4:]}" if rng.random() < 0.85 else num
        mail = f"{local_part(rng, given, sur[0], sur[1], birth)}@{weighted(rng, PROVIDERS_CR)}"
        if mail in used:
            mail = f"{plain(given.split()[0])}{rng.randint(100, 999)}@gmail.com"
        used.add(mail)
        reg = date(2019, 1, 1) + timedelta(days=rng.randint(0, 365 * 5))
        amount = rng.choice([1000, 2000, 2500, 5000, 10000, 15000, 20000]) * rng.randint(1, 6)
        rows.append(
            [
                f"CL-{cid:06d}",
                f"{given} {sur[0]} {sur[1]}",
                mail if rng.random() > 0.03 else "",
                phone,
                prov,
                canton,
                reg.isoformat(),
                f"{amount:.2f}",
                "Sí" if rng.random() < 0.64 else "No",
            ]
        )
    return rows


def write_csv(rows: list[list[str]], path: Path, encoding: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    fake = Faker("es_MX")
    fake.seed_instance(20240601)
    write_csv(candidatas(random.Random(1800), fake), OUT / "candidatas.csv", "cp1252")
    fake.seed_instance(20240602)
    write_csv(clientes(random.Random(2000), fake), OUT / "clientes.csv", "utf-8-sig")
    print(f"wrote {OUT / 'candidatas.csv'} and {OUT / 'clientes.csv'}")


if __name__ == "__main__":
    main()
