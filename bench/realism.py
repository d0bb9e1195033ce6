# ruff: noqa: E501
"""Can anyone tell canaries from real rows? A discriminator run on issued copies.

For each of the tables written here (with a fixed seed, as different as real exports
are), the library issues `--copies` copies (canary.issue.plant.issue_copies into a
temporary store, at the planter's own density), and a holder's classifier looks at
them: per-row features computed from each copy alone (each column's value and mask
frequency over the file, per-position character classes, word frequencies, the email's
agreement with the row's names, joint frequencies of a row's values with its neighbours
in other columns such as area code with place, the id's neighbourhood and position,
empty cells). Canary rows are labelled from the store. A HistGradientBoostingClassifier
is scored by 5-fold cross-validated AUC, with each real row's copies kept in one fold
(learning the real rows themselves would be comparing copies: the collusion attack).
The figure is the mean over three seeds; 0.5 is chance. The strongest single
features (their own AUC) show what gives a canary away.

By default the organisation has canary numbers in every area code the table holds, or
where the country has none in every operator block (Colombia's 300, 315...), as `canary
issue` asks (it warns when 10% or more of a table's phone rows are in area codes or
blocks the pool lacks, a tell no synthesis removes: canaries never sit in those places,
nor start their numbers so); `--partial-pool` gives it numbers in two or three of the
table's main area codes or blocks instead, to measure that tell. `--fresh` issues every
copy from its own table drawn the same way, so that nothing learnt about one table's rows, value counts
or places carries over: the figure is then what canaries give away in themselves, not
what comparing copies of one table shows (docs/realism.md).

The email's domain is left out by default (`--with-domain` puts it back): canary
addresses live on the organisation's domains or its mailboxes, which is a question of
which domains are registered, not of how rows are made.

A second figure, `by place`, keeps the canaries that sit at the same place (after the
same real row) in several copies in one fold, with that row. Copies of one table put
canaries in the same few places when the table's order leaves few (the gaps of a sorted
folio): the classifier then learns from one copy's canaries where another copy's sit,
which is comparing copies, as learning the real rows themselves would be.

Tables whose rows are numbered densely in order (steps of 1 to 3, or none missing) also
get a second figure, `w/o seq`: the same classifier without the numbering column's
features and the row position. There the issue exempts the one tell no in-sequence
placement removes (an inserted row's two steps add up to one real step; in a gapless
list a new number can only go after the last), and the second figure shows whether
anything else gives canaries away.

`--oracle` adds a baseline in the same run: the same copies with each canary swapped,
where it sits, for a real row of the table's own generator that no copy holds (drawn
with another seed; a column of unique values keeps the canary's value where the drawn
one repeats the table's). That is what a synthesis making rows exactly as the table's
were made would score: every count a planted row adds to its copy, its place in the
file and the numbering are the same, only the row differs. In a table whose generator
gives its sort key (the school roll) the held-out row goes where it sorts instead: where
our canary sat it would break the order. Ours minus the baseline is what our canaries
give away beyond what planting any row gives away.

Run: python bench/realism.py [--copies 24] [--seeds 3] [--only NAME] [--rows 400] [--partial-pool] [--pool 60] [--fresh] [--oracle]
Needs scikit-learn (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import math
import os
import random
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

# One thread: the machine is shared, and OpenMP spinning on a busy core costs more than it saves.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# --- the tables ------------------------------------------------------------------


def zipf(items: list[str], s: float = 1.0) -> list[float]:
    return [1 / (i + 1) ** s for i in range(len(items))]


def pick(r: random.Random, items: list[str], s: float = 1.0) -> str:
    return r.choices(items, weights=zipf(items, s))[0]


def plain(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in t if not unicodedata.combining(c)).lower())


MX_F = (
    "MARÍA GUADALUPE|MARÍA|GUADALUPE|ANA LAURA|MARTHA|LETICIA|ROSA MARÍA|VERÓNICA|"
    "MARÍA DEL CARMEN|ALEJANDRA|PATRICIA|LAURA|ADRIANA|CLAUDIA|SANDRA|ELIZABETH|"
    "BRENDA|KARLA|NORMA ALICIA|YOLANDA|DIANA|ERIKA|MÓNICA|SILVIA|GABRIELA|LORENA|"
    "ARACELI|BLANCA ESTELA|JUANA|CECILIA|SOFÍA|XIMENA|ITZEL|MAYRA|NANCY|IRMA|"
    "ZULEMA|ROCÍO|MIRNA|DELIA|ELVIA|OLGA LIDIA|ANABEL|YADIRA|FABIOLA"
).split("|")
MX_M = (
    "JOSÉ LUIS|JUAN|FRANCISCO|JESÚS|ALEJANDRO|MIGUEL ÁNGEL|CARLOS|JOSÉ|ROBERTO|"
    "JORGE|RICARDO|FERNANDO|MARIO|EDUARDO|RAÚL|SERGIO|ARTURO|HÉCTOR|JAVIER|RAMÓN"
).split("|")
MX_S = (
    "HERNÁNDEZ|GARCÍA|MARTÍNEZ|LÓPEZ|GONZÁLEZ|RODRÍGUEZ|PÉREZ|SÁNCHEZ|RAMÍREZ|FLORES|"
    "GARZA|VALDÉS|DE LA CRUZ|AGUIRRE|IBARRA|CASTILLO|REYES|MORALES|TORRES|JIMÉNEZ|"
    "RUIZ|DÍAZ|GUTIÉRREZ|DE LA PEÑA|VILLARREAL|SALAZAR|CEPEDA|RAMOS|ORTIZ|CHÁVEZ|"
    "MENDOZA|ESQUIVEL|SILLER|DE LEÓN|CARDONA|ZAMORA|RIVAS|FUENTES|OYERVIDES|ARIZPE|"
    "MONCADA|CUELLAR|FALCÓN|BERLANGA|TREVIÑO|ZERTUCHE|SALINAS|ESPINOZA|NIETO|MUZQUIZ"
).split("|")
#: municipality -> (lada, postal code base, distrito, colonias)
MX_PLACES = {
    "SALTILLO": ("844", 25000, "04", ["Col. Saltillo 2000", "Col. República", "Col. Centro"]),
    "TORREÓN": ("871", 27000, "08", ["Col. Torreón Jardín", "Col. Centro", "Col. Navarro"]),
    "MONCLOVA": ("866", 25700, "05", ["Col. Guadalupe", "Col. Centro", "Col. Los Bosques"]),
    "PIEDRAS NEGRAS": ("878", 26000, "01", ["Col. Mundo Nuevo", "Col. Centro"]),
    "ACUÑA": ("877", 26200, "01", ["Col. Aeropuerto", "Col. Centro", "Col. Bellavista"]),
    "SABINAS": ("861", 26700, "02", ["Col. Sarabia", "Col. Centro"]),
    "SAN PEDRO": ("872", 27800, "06", ["Col. Centro", "Col. Ampliación Lázaro Cárdenas"]),
    "RAMOS ARIZPE": ("844", 25900, "15", ["Col. Analco", "Col. Centro"]),
    "MATAMOROS": ("871", 27440, "09", ["Col. Centro", "Col. Revolución"]),
    "PARRAS": ("842", 27980, "12", ["Col. Centro", "Col. El Consuelo"]),
}
MX_STREETS = "HIDALGO|JUÁREZ|MORELOS|ALLENDE|ZARAGOZA|VICTORIA|ABASOLO|ALDAMA|XICOTÉNCATL|OCAMPO"
PROVIDERS_MX = ["HOTMAIL.COM", "GMAIL.COM", "YAHOO.COM.MX", "OUTLOOK.COM", "PRODIGY.NET.MX"]


def email_local(r: random.Random, given: str, pat: str, mat: str, birth: date) -> str:
    g = plain(given.split()[0])
    p, m = plain(pat), plain(mat) or "x"
    shapes = [
        f"{g}.{p}",
        f"{g}{p}",
        f"{g[0]}{p}{m[0]}",
        f"{g}_{p}{birth.year % 100:02d}",
        f"{p}{g[:3]}{r.randint(1, 99)}",
        f"{g}{p}{birth.year}",
        f"{g[0]}{p}",
    ]
    handles = ["reina", "sol", "gatita", "princesa", "lobo", "tigre", "angel", "estrella"]
    if r.random() < 0.2:
        return f"{r.choice(handles)}{r.choice(['_', ''])}{r.randint(1, 999)}"
    return pick(r, shapes, 0.7)


def curp(given: str, pat: str, mat: str, birth: date, sex: str, r: random.Random) -> str:
    from canary.synth.national_ids import make_curp

    return make_curp(given, pat, mat, birth, sex, "CL", chr(r.randint(48, 90)))


def table_mx(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = [
        "FOLIO", "NOMBRE(S)", "APELLIDO PATERNO", "APELLIDO MATERNO", "CURP", "SEXO",
        "FECHA DE NACIMIENTO", "MUNICIPIO", "DISTRITO", "COLONIA", "DOMICILIO",
        "CORREO ELECTRÓNICO", "TELÉFONO", "PARTIDO", "CARGO",
    ]  # fmt: skip
    rows = []
    folio = 0
    for _ in range(n):
        folio += 1 if r.random() < 0.93 else r.randint(2, 4)
        sex = "M" if r.random() < 0.93 else "H"
        given = pick(r, MX_F if sex == "M" else MX_M, 0.8)
        pat, mat = pick(r, MX_S, 0.7), pick(r, MX_S, 0.7)
        if r.random() < 0.04:
            mat = ""
        birth = date(1960, 1, 1) + timedelta(days=r.randint(0, 365 * 42))
        muni = pick(r, list(MX_PLACES), 0.6)
        lada, _cp, dist, cols = MX_PLACES[muni]
        local = email_local(r, given, pat, mat, birth).upper()
        phone = f"{lada}{r.randint(1000000, 9999999)}"
        if r.random() < 0.5:
            phone = f"{phone[:3]} {phone[3:6]} {phone[6:]}"
        rows.append(
            [
                f"IEC-2024-{folio:05d}",
                given,
                pat,
                mat,
                curp(given, pat, mat, birth, "F" if sex == "M" else "M", r)
                if r.random() > 0.03
                else "",
                sex,
                birth.strftime("%d/%m/%Y"),
                muni,
                dist,
                r.choice(cols),
                f"{r.choice(MX_STREETS.split('|'))} {r.randint(100, 3999)}",
                f"{local}@{pick(r, PROVIDERS_MX, 0.9)}" if r.random() > 0.06 else "",
                phone,
                pick(r, ["MORENA", "PRI", "PAN", "UDC", "PRD", "PVEM", "MC"], 0.8),
                pick(r, ["REGIDORA", "SÍNDICA", "PRESIDENTA MUNICIPAL", "DIPUTADA"], 0.9),
            ]
        )
    return header, rows, {"delimiter": ",", "encoding": "utf-8-sig"}


CR_S = (
    "Rodríguez|Vargas|Jiménez|Mora|Rojas|Araya|Solano|Quesada|Chaves|Alvarado|Zúñiga|"
    "Calderón|Salazar|Ulate|Arias|Brenes|Céspedes|Porras|Villalobos|Fallas|Sibaja|Monge|"
    "Hidalgo|Segura|Chinchilla|Cordero|Badilla|Campos|Soto|Madrigal"
).split("|")
CR_G = (
    "María José|Daniela|Valeria|Andrea|Sofía|Marco|Luis Diego|José Pablo|Esteban|Adrián|"
    "Mariana|Fabián|Kendall|Yorleny|Greivin|Johanna|Allan|Keylor|Maureen|Randall|Hazel|"
    "Jeffry|Melissa|Roxana|Mauricio|Wendy|Jorge Arturo|Carolina|Priscilla|Ronald"
).split("|")
CR_PLACES = {
    "San José": ["Central", "Escazú", "Desamparados", "Goicoechea", "Tibás"],
    "Alajuela": ["Central", "Grecia", "San Ramón", "Atenas"],
    "Heredia": ["Central", "Barva", "Santo Domingo", "Belén"],
    "Cartago": ["Central", "Paraíso", "La Unión", "Turrialba"],
    "Puntarenas": ["Central", "Esparza", "Garabito"],
}


def balance(r: random.Random) -> str:
    x = math.exp(r.uniform(1, 9))
    form = r.random()
    if form < 0.3:
        return str(int(x))
    if form < 0.4:
        return f"{int(x)}."
    return f"{x:.2f}"


def table_cr(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = ["Cédula", "Nombre completo", "Teléfono", "Correo", "Provincia", "Cantón",
              "Saldo", "Fecha alta"]  # fmt: skip
    rows = []
    seen = set()
    for _ in range(n):
        prov = pick(r, list(CR_PLACES), 0.7)
        ced = f"{list(CR_PLACES).index(prov) + 1}-0{r.randint(100, 999)}-0{r.randint(100, 999)}"
        if ced in seen:
            continue
        seen.add(ced)
        g, p, m = pick(r, CR_G, 0.6), pick(r, CR_S, 0.6), pick(r, CR_S, 0.6)
        local = email_local(r, g, p, m, date(1980 + r.randint(0, 25), 1, 1)).lower()
        dom = pick(r, ["gmail.com", "hotmail.com", "yahoo.com", "ice.co.cr", "racsa.co.cr"])
        tel = f"{r.choice('876')}{r.randint(100, 999)}-{r.randint(1000, 9999)}"
        alta = date(2015, 1, 1) + timedelta(days=r.randint(0, 3000))
        rows.append(
            [ced, f"{g} {p} {m}", tel, f"{local}@{dom}", prov, pick(r, CR_PLACES[prov]),
             balance(r), alta.strftime("%d/%m/%Y")]
        )  # fmt: skip
    return header, rows, {"delimiter": ",", "encoding": "utf-8"}


ES_S = (
    "García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez|Martín|"
    "Jiménez|Ruiz|Hernández|Díaz|Moreno|Muñoz|Álvarez|Romero|Alonso|Gutiérrez|Navarro|"
    "Torres|Domínguez|Vázquez|Ramos|Gil|Serrano|Blanco|Molina|Castro|Ortiz|Rubio|Marín|"
    "Sanz|Iglesias|Nuñez|Medina|Garrido|Santos|Castillo"
).split("|")
ES_G = (
    "Antonio|Manuel|José|Francisco|David|Juan|Javier|Daniel|Carlos|Jesús|Alejandro|Miguel|"
    "Rafael|Pablo|Sergio|María Carmen|María|Carmen|Ana María|Laura|Josefa|Isabel|"
    "María Pilar|Lucía|Cristina|Marta|Elena|Paula|Sara|Raquel|Nuria|Montserrat"
).split("|")
ES_PROV = {"Madrid": (28, "6"), "Barcelona": (8, "6"), "Valencia": (46, "6"),
           "Sevilla": (41, "6"), "Zaragoza": (50, "6"), "Málaga": (29, "6")}  # fmt: skip


def table_es(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    from canary.synth.cells import dni_letter

    header = ["Nº socio", "Nombre", "Apellidos", "DNI", "Email", "Teléfono", "Provincia",
              "CP", "Cuota", "Alta"]  # fmt: skip
    rows = []
    socio = 1000
    for _ in range(n):
        socio += r.randint(1, 3)
        g, p, m = pick(r, ES_G, 0.6), pick(r, ES_S, 0.6), pick(r, ES_S, 0.6)
        num = f"{r.randint(10_000_000, 79_999_999)}"
        prov = pick(r, list(ES_PROV), 0.8)
        local = email_local(r, g, p, m, date(1970 + r.randint(0, 30), 1, 1))
        dom = pick(r, ["gmail.com", "hotmail.com", "yahoo.es", "telefonica.net", "outlook.es"])
        tel = f"6{r.randint(0, 99):02d} {r.randint(100, 999)} {r.randint(100, 999)}"
        rows.append(
            [str(socio), g, f"{p} {m}", num + dni_letter(num), f"{local}@{dom}", tel, prov,
             f"{ES_PROV[prov][0]:02d}{r.randint(1, 80):03d}", r.choice(["45,00", "30,00", "60,00"]),
             (date(2010, 1, 1) + timedelta(days=r.randint(0, 5000))).strftime("%d/%m/%Y")]
        )  # fmt: skip
    return header, rows, {"delimiter": ";", "encoding": "cp1252"}


US_F = "Mary|Patricia|Jennifer|Linda|Elizabeth|Barbara|Susan|Jessica|Sarah|Karen|Nancy|Lisa|Betty|Sandra|Ashley|Kimberly|Donna|Emily|Michelle|Carol".split(
    "|"
)
US_M = "James|Robert|John|Michael|David|William|Richard|Joseph|Thomas|Charles|Christopher|Daniel|Matthew|Anthony|Mark|Donald|Steven|Paul|Andrew|Joshua".split(
    "|"
)
US_S = (
    "Smith|Johnson|Williams|Brown|Jones|Miller|Davis|Wilson|Anderson|Taylor|Thomas|Moore|"
    "Jackson|Martin|Lee|Thompson|White|Harris|Clark|Lewis|Robinson|Walker|Hall|Young|Allen|"
    "King|Wright|Scott|Green|Baker|Adams|Nelson|Hill|Campbell|Mitchell|Roberts|Carter"
).split("|")
US_CITIES = {"COLUMBUS": ("614", "432"), "CLEVELAND": ("216", "441"), "DAYTON": ("937", "454"),
             "TOLEDO": ("419", "436"), "AKRON": ("330", "443"), "CINCINNATI": ("513", "452")}  # fmt: skip
US_STREETS = "MAIN ST|OAK ST|MAPLE AVE|ELM ST|PARK AVE|HIGH ST|BROAD ST|WALNUT ST|CHERRY LN"


def table_us(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = ["SOS_VOTERID", "LAST_NAME", "FIRST_NAME", "MIDDLE_NAME", "DATE_OF_BIRTH",
              "GENDER", "RESIDENTIAL_ADDRESS1", "RESIDENTIAL_CITY", "RESIDENTIAL_STATE",
              "RESIDENTIAL_ZIP", "PHONE", "PARTY_AFFILIATION", "EMAIL"]  # fmt: skip
    rows = []
    for _ in range(n):
        sex = r.choice("FM")
        g = pick(r, US_F if sex == "F" else US_M, 0.7)
        s = pick(r, US_S, 0.6)
        mid = pick(r, US_F + US_M, 0.5) if r.random() < 0.7 else ""
        city = pick(r, list(US_CITIES), 0.7)
        ac, zp = US_CITIES[city]
        birth = date(1940, 1, 1) + timedelta(days=r.randint(0, 365 * 62))
        local = email_local(r, g, s, "", birth)
        rows.append(
            [f"OH{r.randint(10_000_000, 29_999_999):010d}", s.upper(), g.upper(), mid.upper(),
             birth.strftime("%m/%d/%Y"), sex, f"{r.randint(10, 9999)} {pick(r, US_STREETS.split('|'))}",
             city, "OH", f"{zp}{r.randint(1, 99):02d}",
             f"({ac}) {r.randint(200, 999)}-{r.randint(1000, 9999)}" if r.random() < 0.8 else "",
             pick(r, ["", "D", "R", "L", "G"], 0.9),
             f"{local}@{pick(r, ['gmail.com', 'yahoo.com', 'aol.com', 'hotmail.com', 'att.net'])}"
             if r.random() < 0.6 else ""]
        )  # fmt: skip
    return header, rows, {"delimiter": ",", "encoding": "utf-8"}


def table_numbered(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = ["No.", "NOMBRE COMPLETO", "MUNICIPIO", "TELÉFONO", "CORREO"]
    rows = []
    for i in range(1, min(n, 140) + 1):
        g, p, m = pick(r, MX_F, 0.8), pick(r, MX_S, 0.7), pick(r, MX_S, 0.7)
        muni = pick(r, list(MX_PLACES), 0.6)
        local = email_local(r, g, p, m, date(1975, 1, 1)).lower()
        rows.append(
            [str(i), f"{g} {p} {m}", muni, f"{MX_PLACES[muni][0]}{r.randint(1000000, 9999999)}",
             f"{local}@{pick(r, [p.lower() for p in PROVIDERS_MX], 0.9)}"]
        )  # fmt: skip
    return header, rows, {"delimiter": ",", "encoding": "utf-8"}


def table_footer(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = ["Consecutivo", "Nombre", "Primer apellido", "Segundo apellido", "Municipio",
              "Celular", "Correo", "Monto apoyo"]  # fmt: skip
    rows = []
    for i in range(n):
        g, p, m = pick(r, MX_F + MX_M, 0.8), pick(r, MX_S, 0.7), pick(r, MX_S, 0.7)
        muni = pick(r, list(MX_PLACES), 0.6)
        local = email_local(r, g, p, m, date(1985, 1, 1)).lower()
        rows.append(
            [f"{i + 1:04d}", g.title(), p.title(), m.title(), muni.title(),
             f"{MX_PLACES[muni][0]}{r.randint(1000000, 9999999)}",
             f"{local}@{pick(r, [p.lower() for p in PROVIDERS_MX], 0.9)}",
             f"{r.choice([1500, 2500, 3000, 4500]):,}.00"]
        )  # fmt: skip
    w = len(header)
    pad = [""] * (w - 1)
    top = [["PADRÓN DE BENEFICIARIAS DEL PROGRAMA MUJERES ADELANTE 2027", *pad],
           ["Corte al 15/05/2027", *pad], [""] * w]  # fmt: skip
    total = sum(float(x[-1].replace(",", "")) for x in rows)
    bottom = [[""] * w, ["Fuente: Instituto Electoral de Coahuila, corte al 15/05/2027", *pad],
              ["TOTAL", "", "", "", "", "", "", f"{total:,.2f}"],
              ["Elaborado por: Dirección de Organización Electoral", *pad]]  # fmt: skip
    return header, rows, {"delimiter": ",", "encoding": "utf-8", "top": top, "bottom": bottom}


def table_xlsx(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header, rows, _ = table_es(r, n)
    return header, rows, {"xlsx": True}


def table_json(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    header = ["id", "nombre", "email", "telefono", "estado", "municipio", "monto", "fecha"]
    rows = []
    for _ in range(n):
        g, p, m = pick(r, MX_F + MX_M, 0.8), pick(r, MX_S, 0.7), pick(r, MX_S, 0.7)
        muni = pick(r, list(MX_PLACES), 0.6)
        local = email_local(r, g, p, m, date(1980, 1, 1)).lower()
        rows.append(
            [str(r.randint(100000, 999999)), f"{g.title()} {p.title()} {m.title()}",
             f"{local}@{pick(r, [p.lower() for p in PROVIDERS_MX], 0.9)}",
             f"+52{MX_PLACES[muni][0]}{r.randint(1000000, 9999999)}", "Coahuila", muni.title(),
             str(float(r.choice([50, 100, 200, 500, 20, 30]))),  # as the file writes it
             (datetime(2026, 1, 1) + timedelta(minutes=r.randint(0, 500000))).isoformat()]
        )  # fmt: skip
    return header, rows, {"json": True}


CL_G = (
    "María José|Camila|Valentina|Francisca|Constanza|Javiera|Catalina|Fernanda|Daniela|"
    "Carolina|Paula|Macarena|Bárbara|Claudia|Patricia|Juan Pablo|José|Cristián|Felipe|"
    "Sebastián|Matías|Rodrigo|Gonzalo|Pablo|Diego|Luis|Jorge|Ignacio|Nicolás|Francisco"
).split("|")
CL_S = (
    "González|Muñoz|Rojas|Díaz|Pérez|Soto|Contreras|Silva|Martínez|Sepúlveda|Morales|"
    "Rodríguez|López|Fuentes|Hernández|Torres|Araya|Flores|Espinoza|Valenzuela|Castillo|"
    "Tapia|Reyes|Gutiérrez|Castro|Pizarro|Álvarez|Vásquez|Sánchez|Fernández"
).split("|")
#: comuna -> its landlines' area code (Santiago's numbers are "2 2xxx xxxx")
CL_PLACES = {"Santiago": "2", "Providencia": "2", "Ñuñoa": "2", "Maipú": "2",
             "La Florida": "2", "Puente Alto": "2", "Valparaíso": "32", "Viña del Mar": "32",
             "Concepción": "41", "Talcahuano": "41", "Temuco": "45", "Antofagasta": "55"}  # fmt: skip


def table_cl(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """A Chilean debtors list: RUT with its check digit, a landline column beside the
    mobiles (the landline's area code is the comuna's), amounts "$ 1.234.567"."""
    from stdnum.cl import rut

    header = ["RUT", "Nombre", "Comuna", "Teléfono fijo", "Celular", "Correo", "Deuda"]
    rows = []
    for _ in range(n):
        body = str(r.randint(5_000_000, 24_000_000))
        number = f"{int(body):,}".replace(",", ".") + "-" + rut.calc_check_digit(body)
        g, p, m = pick(r, CL_G, 0.7), pick(r, CL_S, 0.6), pick(r, CL_S, 0.6)
        place = pick(r, list(CL_PLACES), 0.7)
        code = CL_PLACES[place]
        if r.random() < 0.35:
            fijo = ""
        elif code == "2":
            fijo = f"+56 2 2{r.randint(200, 999)} {r.randint(1000, 9999)}"
        else:
            fijo = f"+56 {code} {r.randint(200, 999)} {r.randint(1000, 9999)}"
        mobile = (
            "" if r.random() < 0.05 else f"+56 9 {r.randint(2000, 9999)} {r.randint(1000, 9999)}"
        )
        local = email_local(r, g, p, m, date(1970 + r.randint(0, 30), 1, 1)).lower()
        dom = pick(r, ["gmail.com", "hotmail.com", "yahoo.es", "outlook.com", "vtr.net"], 0.8)
        debt = f"$ {r.choice([1, 2, 5, 10, 25]) * r.randint(10, 400) * 1000:,}".replace(",", ".")
        rows.append([number, f"{g} {p} {m}", place, fijo, mobile, f"{local}@{dom}", debt])
    return header, rows, {"delimiter": ";", "encoding": "utf-8"}


CO_GIVEN_F = "MARIA|LUZ|ANA|CLAUDIA|SANDRA|MARTHA|DIANA|PAOLA|ANDREA|CAROLINA|LINA|YULIANA|DAYANA|LEIDY|ANGIE|NATALIA|GLORIA|BLANCA".split(
    "|"
)
CO_GIVEN_M = "JUAN|CARLOS|JOSE|LUIS|JORGE|ANDRES|DIEGO|JHON|OSCAR|CAMILO|FABIAN|WILSON|EDWIN|HERNAN|ALVARO|JAIRO|YEISON|BRAYAN".split(
    "|"
)
CO_SECOND_F = "ALEJANDRA|MARCELA|PATRICIA|FERNANDA|CAMILA|ANDREA|CRISTINA".split("|")
CO_SECOND_M = "ESTEBAN|FELIPE|DAVID|ALBERTO|ANDRES|JOSE|EDUARDO|ANTONIO".split("|")
CO_SURNAMES = (
    "RODRIGUEZ|GOMEZ|GONZALEZ|MARTINEZ|GARCIA|LOPEZ|HERNANDEZ|SANCHEZ|RAMIREZ|PEREZ|"
    "DIAZ|MUÑOZ|ROJAS|MORENO|JIMENEZ|VARGAS|CASTRO|GUTIERREZ|OSORIO|CARDONA|RESTREPO|"
    "OSPINA|GIRALDO|ZAPATA|CASTAÑO|QUINTERO|BETANCUR|ARANGO|VALENCIA|MEJIA|AGUDELO|"
    "MONTOYA|SALAZAR|HENAO|LONDOÑO|ALZATE|BEDOYA|CIFUENTES|PATIÑO|CUARTAS"
).split("|")
CO_PLACES = {
    "ANTIOQUIA": ["MEDELLIN", "BELLO", "ITAGUI", "ENVIGADO", "RIONEGRO", "APARTADO"],
    "CALDAS": ["MANIZALES", "CHINCHINA", "LA DORADA", "VILLAMARIA"],
    "RISARALDA": ["PEREIRA", "DOSQUEBRADAS", "SANTA ROSA DE CABAL"],
    "QUINDIO": ["ARMENIA", "CALARCA", "MONTENEGRO"],
    "VALLE DEL CAUCA": ["CALI", "PALMIRA", "TULUA", "BUGA", "CARTAGO"],
}
CO_STREETS = ["CALLE", "CARRERA", "CRA", "CL", "AVENIDA", "DIAGONAL", "TRANSVERSAL"]


def table_co(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """A pipe-delimited export in capitals, written like one from an office system: title
    rows above, totals and a source under it, cells left empty here and there, documents
    without dots, mobiles without area code, addresses in the Colombian grid style."""
    header = ["TIPO DOC", "NUMERO DOCUMENTO", "PRIMER NOMBRE", "SEGUNDO NOMBRE",
              "PRIMER APELLIDO", "SEGUNDO APELLIDO", "FECHA NACIMIENTO", "DEPARTAMENTO",
              "MUNICIPIO", "DIRECCION", "CELULAR", "EMAIL", "ESTRATO", "FECHA AFILIACION"]  # fmt: skip
    rows = []
    for _ in range(n):
        female = r.random() < 0.52
        g = pick(r, CO_GIVEN_F if female else CO_GIVEN_M, 0.7)
        g2 = pick(r, CO_SECOND_F if female else CO_SECOND_M, 0.5) if r.random() < 0.55 else ""
        p, m = pick(r, CO_SURNAMES, 0.6), pick(r, CO_SURNAMES, 0.6)
        if r.random() < 0.03:
            m = ""
        birth = date(1950, 1, 1) + timedelta(days=r.randint(0, 365 * 55))
        dept = pick(r, list(CO_PLACES), 0.8)
        muni = pick(r, CO_PLACES[dept], 0.9)
        a, b, c = r.randint(1, 120), r.randint(1, 99), r.randint(1, 99)
        addr = f"{r.choice(CO_STREETS)} {a} # {b}-{c:02d}"
        if r.random() < 0.15:
            addr += f" APTO {r.randint(1, 15)}0{r.randint(1, 4)}"
        tipo = "CC" if birth.year < 2007 else "TI"
        doc = (
            str(r.randint(1_000_000, 99_999_999))
            if r.random() < 0.6
            else str(r.randint(1_000_000_000, 1_130_000_000))
        )
        cel = f"3{r.choice(['00', '01', '04', '10', '11', '12', '13', '14', '15', '16', '17', '18', '20', '21', '50'])}{r.randint(1000000, 9999999)}"
        if r.random() < 0.5:
            cel = f"{cel[:3]} {cel[3:6]} {cel[6:]}"
        local = email_local(r, g, p, m, birth).lower()
        email = f"{local}@{pick(r, ['gmail.com', 'hotmail.com', 'yahoo.com', 'outlook.com', 'une.net.co'], 0.9)}"
        rows.append(
            [tipo, doc, g, g2, p, m, birth.isoformat(), dept, muni, addr,
             cel if r.random() > 0.08 else "", email if r.random() > 0.3 else "",
             str(r.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])) if r.random() > 0.05 else "",
             (date(2015, 1, 1) + timedelta(days=r.randint(0, 3600))).strftime("%d/%m/%Y")]
        )  # fmt: skip
    w = len(header)
    pad = [""] * (w - 1)
    top = [
        ["LISTADO DE AFILIADOS - CORTE 30/09/2027", *pad],
        ["GENERADO POR: SISTEMA DE AFILIACIONES V3.2", *pad],
    ]
    bottom = [["TOTAL AFILIADOS", str(len(rows)), *pad[:-1]], ["FUENTE: REGISTRO INTERNO", *pad]]
    return header, rows, {"delimiter": "|", "encoding": "utf-8", "top": top, "bottom": bottom}


CO_KIDS_F = "VALENTINA|MARIANA|SOFIA|ISABELLA|SALOME|GABRIELA|LUCIANA|SARA|ANTONELLA|EMILY|MARIA JOSE|SAMANTHA|VALERIA|MARIA PAULA|JULIANA".split(
    "|"
)
CO_KIDS_M = "SANTIAGO|SAMUEL|MATIAS|JUAN JOSE|NICOLAS|SEBASTIAN|JERONIMO|THIAGO|EMMANUEL|JACOBO|MIGUEL ANGEL|JUAN DAVID|ALEJANDRO|MARTIN|DAVID".split(
    "|"
)
CO_BARRIOS = ["LA FLORESTA", "BELEN", "ROBLEDO", "MANRIQUE", "CASTILLA", "ARANJUEZ", "BOSTON",
              "LAURELES", "LA AMERICA", "SAN JAVIER", "DOCE DE OCTUBRE", "VILLA HERMOSA"]  # fmt: skip


def table_colegio(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """A school's enrolment roll as its system exports it: sorted by grade and group,
    then by surnames and names inside each group; the pupil's document (an old "TI"
    begins with the birth date, a newer NUIP grows with it; "RC" under seven), the
    guardian's name (a mother's first surname is the pupil's second) and contact."""
    header = ["GRADO", "GRUPO", "TIPO DOC", "DOCUMENTO", "PRIMER APELLIDO", "SEGUNDO APELLIDO",
              "NOMBRES", "FECHA NACIMIENTO", "GENERO", "ACUDIENTE", "PARENTESCO",
              "TELEFONO ACUDIENTE", "CORREO ACUDIENTE", "DIRECCION", "BARRIO"]  # fmt: skip
    rows = []
    for _ in range(n):
        female = r.random() < 0.5
        g = pick(r, CO_KIDS_F if female else CO_KIDS_M, 0.6)
        p, m = pick(r, CO_SURNAMES, 0.6), pick(r, CO_SURNAMES, 0.6)
        birth = date(2007, 3, 1) + timedelta(days=r.randint(0, 365 * 11))
        grade = max(0, min(11, 2024 - birth.year - 6 - (birth.month < 3)))
        group = f"{grade}0{r.randint(1, 3)}" if grade else f"T0{r.randint(1, 2)}"
        age = 2024 - birth.year
        if age < 7:
            tipo, doc = (
                "RC",
                str(1_020_000_000 + (birth.year - 2010) * 9_000_000 + r.randint(0, 8_999_999)),
            )
        elif r.random() < 0.6:
            tipo, doc = "TI", f"{birth:%y%m%d}{r.randint(0, 99999):05d}"
        else:
            tipo, doc = (
                "TI",
                str(1_000_000_000 + (birth.year - 2007) * 9_000_000 + r.randint(0, 8_999_999)),
            )
        mother = r.random() < 0.75
        pg = pick(r, CO_GIVEN_F if mother else CO_GIVEN_M, 0.7)
        gs = f"{m} {pick(r, CO_SURNAMES, 0.6)}" if mother else f"{p} {pick(r, CO_SURNAMES, 0.6)}"
        cel = f"3{r.choice(['00', '01', '04', '10', '11', '12', '13', '14', '15', '16', '17', '18', '20', '21', '50'])}{r.randint(1000000, 9999999)}"
        gl = email_local(r, pg, gs.split()[0], gs.split()[1], birth - timedelta(days=365 * 30))
        email = (
            f"{gl.lower()}@{pick(r, ['gmail.com', 'hotmail.com', 'yahoo.com', 'outlook.com'], 0.9)}"
        )
        a, b, c = r.randint(1, 120), r.randint(1, 99), r.randint(1, 99)
        rows.append(
            [f"{grade}" if grade else "TRANSICION", group, tipo, doc, p, m, g,
             birth.strftime("%d/%m/%Y"), "F" if female else "M", f"{pg} {gs}",
             "MADRE" if mother else "PADRE", cel if r.random() > 0.05 else "",
             email if r.random() > 0.25 else "",
             f"{r.choice(CO_STREETS)} {a} # {b}-{c:02d}", r.choice(CO_BARRIOS)]
        )  # fmt: skip
    rows.sort(key=colegio_order)
    return header, rows, {"delimiter": ";", "encoding": "utf-8", "sort": colegio_order}


def colegio_order(row: list[str]) -> tuple[Any, ...]:
    """Grade, group, surnames and names: how `table_colegio` sorts its rows."""
    grades = ["TRANSICION", *map(str, range(1, 12))]
    grade = grades.index(row[0]) if row[0] in grades else len(grades)
    return (grade, row[1], plain(row[4]), plain(row[5]), plain(row[6]))


AR_F = "MARIA LAURA|SILVIA|GRACIELA|MARIA JOSE|ANALIA|CLAUDIA|PATRICIA|NATALIA|CAROLINA|ROMINA|VANESA|GABRIELA|LORENA|SOLEDAD|MARIA EUGENIA|NORMA BEATRIZ|MIRTA|LUCIA|FLORENCIA|AGUSTINA|MICAELA|CAMILA".split(
    "|"
)
AR_M = "JUAN CARLOS|JORGE|CARLOS ALBERTO|MARCELO|DANIEL|SERGIO|GUSTAVO|PABLO|MARTIN|DIEGO|HUGO|RUBEN DARIO|WALTER|FACUNDO|NICOLAS|MATIAS|LEANDRO|GONZALO|EZEQUIEL|FRANCO".split(
    "|"
)
AR_S = (
    "GONZALEZ|RODRIGUEZ|GOMEZ|FERNANDEZ|LOPEZ|DIAZ|MARTINEZ|PEREZ|GARCIA|SANCHEZ|ROMERO|"
    "SOSA|ALVAREZ|TORRES|RUIZ|RAMIREZ|FLORES|BENITEZ|ACOSTA|MEDINA|HERRERA|SUAREZ|AGUIRRE|"
    "GIMENEZ|GUTIERREZ|PEREYRA|ROJAS|MOLINA|CASTRO|ORTIZ|SILVA|NUÑEZ|LUNA|JUAREZ|CABRERA|"
    "RIOS|FERREYRA|GODOY|MORALES|DOMINGUEZ|RUSSO|FERRARI|ROMANO|COLOMBO|BIANCHI"
).split("|")
#: localidad -> (partido, postal code, area code)
AR_PLACES = {
    "LA PLATA": ("LA PLATA", "1900", "221"), "CITY BELL": ("LA PLATA", "1896", "221"),
    "BERISSO": ("BERISSO", "1923", "221"), "ENSENADA": ("ENSENADA", "1925", "221"),
    "QUILMES": ("QUILMES", "1878", "11"), "BERNAL": ("QUILMES", "1876", "11"),
    "LANUS": ("LANUS", "1824", "11"), "AVELLANEDA": ("AVELLANEDA", "1870", "11"),
    "MAR DEL PLATA": ("GENERAL PUEYRREDON", "7600", "223"),
    "BAHIA BLANCA": ("BAHIA BLANCA", "8000", "291"), "TANDIL": ("TANDIL", "7000", "249"),
    "MORON": ("MORON", "1708", "11"), "CASTELAR": ("MORON", "1712", "11"),
}  # fmt: skip
AR_STREETS = ["AV. SAN MARTIN", "BELGRANO", "RIVADAVIA", "CALLE 7", "CALLE 12", "MITRE",
              "SARMIENTO", "AV. 44", "MORENO", "ALSINA", "LAVALLE", "COLON", "9 DE JULIO"]  # fmt: skip


def table_ar(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """A party's roll of members in Buenos Aires province as its system exports it:
    "SURNAME, NAMES", the DNI with dots, the CUIL holding it (20 men, 27 women, 23 where
    the check digit would be 10), birth date and age at the cut, the "clase" (birth
    year), phones in the local forms people write ("221 15-456-7890", "(011) 4567-8901",
    "+54 9 11 ..."), the postal code and area code of the locality, the date of
    membership after the 18th birthday; about 500 a page, a source line at the end."""
    import phonenumbers
    from stdnum.ar import cuit

    header = ["Nro. Afiliado", "Apellido y Nombre", "DNI", "CUIL", "Sexo", "Fecha Nac.",
              "Clase", "Edad", "Domicilio", "Localidad", "Partido", "C.P.", "Telefono",
              "Email", "Fecha Afiliacion"]  # fmt: skip
    cut = date(2027, 6, 1)
    rows = []
    for _ in range(n):
        female = r.random() < 0.53
        g = pick(r, AR_F if female else AR_M, 0.6)
        p = pick(r, AR_S, 0.6)
        s2 = pick(r, AR_S, 0.6) if r.random() < 0.2 else ""
        birth = date(1940, 1, 1) + timedelta(days=r.randint(0, 365 * 67))
        dni_n = int(14_000_000 + (birth.year - 1960) * 700_000 + r.randint(-900_000, 900_000))
        dni_n = max(dni_n, 1_000_000)
        body8 = f"{dni_n:08d}"
        pre = "27" if female else "20"
        check = cuit.calc_check_digit(pre + body8)
        if check == "10" or len(check) > 1:  # stdnum raises for 10 on some versions
            pre = "23"
            check = cuit.calc_check_digit(pre + body8)
        loc = pick(r, list(AR_PLACES), 0.7)
        partido, cp, area = AR_PLACES[loc]
        age = cut.year - birth.year - ((cut.month, cut.day) < (birth.month, birth.day))
        street = f"{r.choice(AR_STREETS)} {r.randint(1, 4999)}"
        if r.random() < 0.2:
            street += f" PISO {r.randint(1, 12)} DTO {r.choice('ABCDEF')}"
        kind = r.random()
        rest = 10 - len(area)
        for _try in range(200):  # numbers the plan gives (a landline's or a mobile's)
            sub = str(r.randint(2, 9)) + "".join(str(r.randint(0, 9)) for _ in range(rest - 1))
            e164 = f"+54{'' if 0.65 <= kind < 0.85 else '9'}{area}{sub}"
            if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                break
        if kind < 0.45:  # a mobile written locally
            tel = f"{area} 15-{sub[:-4]}-{sub[-4:]}"
        elif kind < 0.65:
            tel = f"+54 9 {area} {sub[:-4]}-{sub[-4:]}"
        elif kind < 0.85:  # a landline
            tel = f"(0{area}) {sub[:-4]}-{sub[-4:]}"
        else:
            tel = ""
        local = email_local(r, g, p, s2, birth).lower()
        dom = pick(
            r, ["gmail.com", "hotmail.com", "yahoo.com.ar", "outlook.com", "fibertel.com.ar"], 0.8
        )
        email = f"{local}@{dom}" if r.random() < 0.7 else ""
        join = max(birth + timedelta(days=365 * 18 + 5), date(1983, 10, 30)) + timedelta(
            days=r.randint(0, 3000)
        )
        join = min(join, cut - timedelta(days=1))
        name = f"{p}{' ' + s2 if s2 else ''}, {g}"
        rows.append(
            ["", name, f"{dni_n:,}".replace(",", "."), f"{pre}-{body8}-{check}",
             "F" if female else "M", birth.strftime("%d/%m/%Y"), str(birth.year), str(age),
             street, loc, partido, cp, tel, email, join.strftime("%d/%m/%Y")]
        )  # fmt: skip
    rows.sort(key=lambda row: plain(row[1]))
    for i, row in enumerate(rows):
        row[0] = str(10_000 + 3 * i + r.randint(0, 2))
    bottom = [["Fuente: Junta Electoral partidaria, corte 01/06/2027", *[""] * (len(header) - 1)]]
    return header, rows, {"delimiter": ",", "encoding": "utf-8", "bottom": bottom}


BR_F = "Maria|Ana|Francisca|Antônia|Adriana|Juliana|Márcia|Fernanda|Patrícia|Aline|Sandra|Camila|Amanda|Bruna|Jéssica|Letícia|Júlia|Luciana|Vanessa|Mariana".split(
    "|"
)
BR_M = "José|João|Antônio|Francisco|Carlos|Paulo|Pedro|Lucas|Luiz|Marcos|Luis|Gabriel|Rafael|Daniel|Marcelo|Bruno|Eduardo|Felipe|Raimundo|Rodrigo".split(
    "|"
)
BR_S = (
    "Silva|Santos|Oliveira|Souza|Rodrigues|Ferreira|Alves|Pereira|Lima|Gomes|Costa|Ribeiro|"
    "Martins|Carvalho|Almeida|Lopes|Soares|Fernandes|Vieira|Barbosa|Rocha|Dias|Nascimento|"
    "Andrade|Moreira|Nunes|Marques|Machado|Mendes|Freitas|Cardoso|Ramos|Gonçalves|Santana"
).split("|")
#: city -> (UF, DDD, CEP prefix)
BR_PLACES = {
    "São Paulo": ("SP", "11", "0"), "Guarulhos": ("SP", "11", "07"), "Campinas": ("SP", "19", "13"),
    "Santos": ("SP", "13", "110"), "Rio de Janeiro": ("RJ", "21", "2"), "Niterói": ("RJ", "21", "240"),
    "Belo Horizonte": ("MG", "31", "30"), "Contagem": ("MG", "31", "32"),
    "Salvador": ("BA", "71", "40"), "Recife": ("PE", "81", "50"), "Fortaleza": ("CE", "85", "60"),
    "Curitiba": ("PR", "41", "80"), "Porto Alegre": ("RS", "51", "90"),
}  # fmt: skip


def table_br(r: random.Random, n: int) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """A Brazilian store's customer list: names in mixed case with their particles
    ("Maria da Silva Santos"), the CPF with its two check digits, mobiles "(11)
    98765-4321" with the city's DDD (any digit after the 9, as the organisation's own
    numbers have: 6-9 only, as in numbers older than the ninth digit, read the pool's
    numbers as foreign), the CEP of the city, a purchase total "R$ 1.234,56"."""
    from stdnum.br import cpf

    header = ["Nome", "CPF", "Data de Nascimento", "Celular", "E-mail", "CEP", "Cidade", "UF",
              "Cliente desde", "Total de compras"]  # fmt: skip
    rows = []
    for _ in range(n):
        female = r.random() < 0.55
        g = pick(r, BR_F if female else BR_M, 0.7)
        if r.random() < 0.3:
            g += " " + pick(r, BR_F if female else BR_M, 0.7)
        s1, s2 = pick(r, BR_S, 0.6), pick(r, BR_S, 0.6)
        name = f"{g} {r.choice(['da ', 'dos ', 'de ', '', '', ''])}{s1} {s2}".replace("  ", " ")
        body = f"{r.randint(0, 999_999_999):09d}"
        number = body + cpf._calc_check_digits(body)
        birth = date(1950, 1, 1) + timedelta(days=r.randint(0, 365 * 55))
        city = pick(r, list(BR_PLACES), 0.8)
        uf, ddd, cep = BR_PLACES[city]
        cep_digits = cep + "".join(str(r.randint(0, 9)) for _ in range(8 - len(cep)))
        mobile = (
            f"({ddd}) 9{r.randint(1000, 9999)}-{r.randint(0, 9999):04d}" if r.random() < 0.9 else ""
        )
        local = email_local(r, g, s1, s2, birth).lower()
        dom = pick(
            r,
            ["gmail.com", "hotmail.com", "yahoo.com.br", "outlook.com", "uol.com.br", "bol.com.br"],
            0.8,
        )
        since = date(2012, 1, 1) + timedelta(days=r.randint(0, 4500))
        total = r.lognormvariate(6, 1.2)
        money = f"R$ {total:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        rows.append(
            [name, f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}",
             birth.strftime("%d/%m/%Y"), mobile, f"{local}@{dom}" if r.random() < 0.8 else "",
             f"{cep_digits[:5]}-{cep_digits[5:]}", city, uf, since.strftime("%d/%m/%Y"), money]
        )  # fmt: skip
    return header, rows, {"delimiter": ";", "encoding": "utf-8"}


#: Each table with the prefixes of the organisation's canary numbers (ordinary numbers
#: of the table's country and main area codes, the rest of their digits at random): the
#: `--partial-pool`; by default `table_pools` adds every area code or operator block the
#: table holds.
TABLES: dict[str, tuple[Callable[..., Any], list[tuple[str, int]]]] = {
    "mx_candidatas.csv": (table_mx, [("+52844", 7), ("+52871", 7), ("+52866", 7)]),
    "cr_clientes.csv": (table_cr, [("+50683", 6), ("+50688", 6)]),
    "es_socios.csv": (table_es, [("+346", 8)]),
    "us_voters.csv": (table_us, [("+1614", 7), ("+1216", 7)]),
    "numerada.csv": (table_numbered, [("+52844", 7), ("+52871", 7)]),
    "padron_pie.csv": (table_footer, [("+52844", 7), ("+52871", 7)]),
    "socios.xlsx": (table_xlsx, [("+346", 8)]),
    "loteria.json": (table_json, [("+52844", 7), ("+52871", 7)]),
    "co_afiliados.txt": (table_co, [("+57300", 7), ("+57310", 7), ("+57315", 7)]),
    "co_colegio.csv": (table_colegio, [("+57300", 7), ("+57310", 7), ("+57315", 7)]),
    "br_clientes.csv": (table_br, [("+55119", 8), ("+55219", 8)]),
    "ar_afiliados.csv": (table_ar, [("+54911", 8), ("+549221", 7)]),
    "cl_deudores.csv": (
        table_cl,
        [("+569", 8), ("+5622", 7), ("+5632", 7), ("+5641", 7), ("+5645", 7), ("+5655", 7)],
    ),
}


#: The column that numbers the rows densely in order, where the table has one.
SEQUENCE = {
    "es_socios.csv": "Nº socio",
    "socios.xlsx": "Nº socio",
    "numerada.csv": "No.",
    "padron_pie.csv": "Consecutivo",
    "ar_afiliados.csv": "Nro. Afiliado",
}


def pool_numbers(pools: list[tuple[str, int]], k: int) -> list[str]:
    """k numbers cycling over the prefixes, the rest of their digits at random (valid
    numbers only: an operator gives no other)."""
    import phonenumbers

    r = random.Random("pool")
    out = []
    for i in range(k):
        p, d = pools[i % len(pools)]
        for _try in range(100):
            n = p + str(r.randint(2, 9)) + "".join(str(r.randint(0, 9)) for _ in range(d - 1))
            if phonenumbers.is_valid_number(phonenumbers.parse(n, None)):
                out.append(n)
                break
    return out


def table_pools(
    header: list[str], rows: list[list[str]], pools: list[tuple[str, int]]
) -> list[tuple[str, int]]:
    """A pool with numbers in every block the table's phones hold: each area code, or
    where the country has none each operator block (`number_block`: Colombia's 300,
    315...; Costa Rica's 83, 62...), what `canary issue` asks an operator to add when
    the pool lacks them; the table's own pools where no phone column is found."""
    import phonenumbers

    from canary.synth.canaries import number_block
    from canary.synth.cells import national_number

    region = {
        "+55": "BR",
        "+54": "AR",
        "+52": "MX",
        "+1": "US",
        "+34": "ES",
        "+506": "CR",
        "+57": "CO",
        "+56": "CL",
    }
    cc = next(
        c
        for c in ("+506", "+52", "+55", "+54", "+34", "+57", "+56", "+1")
        if pools[0][0].startswith(c)
    )
    phone_cols = [j for j, h in enumerate(header) if re.search(r"tel|phone|celular", h, re.I)]
    if not phone_cols:
        return pools
    written = ["+" + re.sub(r"\D", "", row[j]) for row in rows for j in phone_cols if row[j]]
    if all(any(w.startswith(p) for p, _d in pools) for w in written):
        return pools  # the table's own pools hold every number's prefix
    out: dict[str, int] = {}
    for row, j in ((row, j) for row in rows for j in phone_cols):
        nsn = national_number(row[j], region[cc])
        if not nsn:
            continue
        block = number_block(cc + nsn)
        valid = phonenumbers.is_valid_number(phonenumbers.parse(cc + nsn, None))
        if block and valid:  # no operator gives numbers in a block the plan leaves free
            out[cc + block] = len(nsn) - len(block)
    return sorted(out.items()) or pools


def write_table(path: Path, header: list[str], rows: list[list[str]], opts: dict[str, Any]) -> None:
    if opts.get("json"):
        objs = []
        for row in rows:
            o: dict[str, Any] = dict(zip(header, row, strict=True))
            o["id"] = int(o["id"])
            o["monto"] = float(o["monto"])
            objs.append(o)
        path.write_text(json.dumps(objs, ensure_ascii=False, indent=2), encoding="utf-8")
        return
    if opts.get("xlsx"):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(header)
        for row in rows:
            ws.append([int(v) if v.isdigit() else v for v in row])
        wb.save(path)
        return
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=opts["delimiter"], lineterminator="\r\n")
    w.writerows(opts.get("top", []))
    w.writerow(header)
    w.writerows(rows)
    w.writerows(opts.get("bottom", []))
    path.write_bytes(buf.getvalue().encode(opts["encoding"]))


def read_copy(path: Path, opts: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """What a holder sees: the header and every row below it, footers included."""
    from canary.formats._values import header_index, loads, to_text

    if opts.get("json"):  # numbers as written ("12.50"), as the store holds the canaries'
        objs = loads(path.read_text(encoding="utf-8"))
        header = list(objs[0])
        return header, [[to_text(o.get(h)) for h in header] for o in objs]
    if opts.get("xlsx"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        ws = wb.active
        assert ws is not None
        got = [[to_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return got[0], got[1:]
    text = path.read_bytes().decode(opts["encoding"])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=opts["delimiter"]))
    at = header_index(rows)
    return rows[at], rows[at + 1 :]


# --- features ---------------------------------------------------------------------


def mask(v: str) -> str:
    out = []
    for c in v:
        if c.isdigit():
            out.append("9")
        elif c.isalpha():
            out.append("A" if c.isupper() else "a")
        else:
            out.append(c)
    return "".join(out)


def shape(v: str) -> str:
    return re.sub(r"(.)\1+", r"\1+", mask(v))


NUM_RE = re.compile(r"\d+(?:[.,]\d+)?")
DATE_RE = re.compile(
    r"\b(?:\d{1,2}[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})|(?P<y2>\d{4})-(?P<m2>\d{1,2})-\d{1,2})\b"
)


def fold(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    return "".join(c for c in t if not unicodedata.combining(c)).lower()


def features(
    header: list[str], rows: list[list[str]], with_domain: bool
) -> tuple[list[str], np.ndarray]:
    """Per-row features of one copy, from that copy alone."""
    n, w = len(rows), len(header)
    rows = [(r + [""] * w)[:w] for r in rows]
    cols = [[r[j].strip() for r in rows] for j in range(w)]
    email_cols = [j for j in range(w) if sum("@" in v for v in cols[j]) > 0.3 * n]
    if not with_domain:
        for j in email_cols:
            cols[j] = [v.rsplit("@", 1)[0] for v in cols[j]]
    names: list[str] = []
    feats: list[list[float]] = []

    def add(name: str, values: list[float]) -> None:
        names.append(name)
        feats.append(values)

    add("position", [i / max(n - 1, 1) for i in range(n)])
    filled = [sum(1 for v in r if v.strip()) / w for r in rows]
    add("filled_share", filled)
    # the same number (seven digits or more) in two columns of the row
    digit_cells = [[re.sub(r"\D", "", v) for v in r] for r in rows]
    add(
        "number_twice_in_row",
        [float(len([d for d in r if len(d) >= 7]) > len({d for d in r if len(d) >= 7}))
         for r in digit_cells],
    )  # fmt: skip
    word_freq: list[Counter[str]] = []
    for j, col in enumerate(cols):
        h = header[j][:18]
        vc = Counter(col)
        mc = Counter(mask(v) for v in col)
        sc = Counter(shape(v) for v in col)
        add(f"{h}:value_freq", [vc[v] / n for v in col])
        add(f"{h}:empty", [float(not v) for v in col])
        add(f"{h}:mask_freq", [mc[mask(v)] / n for v in col])
        add(f"{h}:shape_freq", [sc[shape(v)] / n for v in col])
        add(f"{h}:length", [float(len(v)) for v in col])
        wc: Counter[str] = Counter(t for v in col for t in fold(v).split())
        word_freq.append(wc)
        add(
            f"{h}:min_word_freq",
            [min((wc[t] for t in fold(v).split()), default=0) / n for v in col],
        )
        add(f"{h}:first_word_freq", [wc[fold(v).split()[0]] / n if v.split() else 0 for v in col])
        add(f"{h}:last_word_freq", [wc[fold(v).split()[-1]] / n if v.split() else 0 for v in col])
        # per-position character classes: the rarest class at any position
        pos: list[Counter[str]] = [Counter() for _ in range(24)]
        for v in col:
            for k, ch in enumerate(mask(v)[:24]):
                pos[k][ch] += 1
        add(
            f"{h}:rarest_position_class",
            [min((pos[k][ch] / n for k, ch in enumerate(mask(v)[:24])), default=1.0) for v in col],
        )
        nums = [NUM_RE.findall(v) for v in col]
        vals = [float(x[-1].replace(",", ".")) if x else math.nan for x in nums]
        real = [x for x in vals if not math.isnan(x)]
        if len(real) > 0.5 * n:
            med = float(np.median(real))
            iqr = float(np.subtract(*np.percentile(real, [75, 25]))) + 1
            add(f"{h}:number_scaled", [(x - med) / iqr for x in vals])
            add(f"{h}:digits_in_number", [float(len(x[-1])) if x else -1.0 for x in nums])
            add(f"{h}:diff_prev", [0.0] + [b - a for a, b in pairwise(vals)])
            add(f"{h}:diff_next", [b - a for a, b in pairwise(vals)] + [0.0])
            add(
                f"{h}:in_order",
                [
                    float(
                        (i == 0 or vals[i - 1] <= vals[i])
                        and (i == n - 1 or vals[i] <= vals[i + 1])
                    )
                    for i in range(n)
                ],
            )
    # joint frequencies: first word / area code of one column against another's value
    keys = []
    for j, col in enumerate(cols):
        digits = [re.sub(r"\D", "", v) for v in col]
        if sum(len(d) >= 7 for d in digits) > 0.5 * n:
            keys.append(
                (header[j][:18] + "/area", [d[-10:-7] if len(d) >= 10 else d[:3] for d in digits])
            )
        else:
            keys.append(
                (header[j][:18] + "/first", [fold(v).split()[0] if v.split() else "" for v in col])
            )
    cat = [j for j in range(w) if 1 < len(set(cols[j])) <= min(40, 0.3 * n)]
    for a, (ka, kv) in enumerate(keys):
        kc = Counter(kv)
        for b in cat:
            if a == b:
                continue
            pc = Counter(zip(kv, cols[b], strict=True))
            add(
                f"joint:{ka}|{header[b][:18]}",
                [pc[(kv[i], cols[b][i])] / kc[kv[i]] for i in range(n)],
            )
    # a short number against the row's dates: a "clase" that is the year of birth
    dated = {}
    for j, col in enumerate(cols):
        got = [DATE_RE.search(v) for v in col]
        if sum(m is not None for m in got) > 0.5 * n:
            dated[j] = [
                (int(m["y"] or m["y2"]), int(m["m"] or m["m2"])) if m else None for m in got
            ]
    for j, col in enumerate(cols):
        if j in dated or sum(v.isdigit() and len(v) <= 4 for v in col) <= 0.5 * n:
            continue
        for d, days in dated.items():
            pair = f"{header[j][:18]}~{header[d][:18]}"
            for part, k in (("year", 0), ("month", 1)):
                add(
                    f"{pair}:{part}",
                    [
                        float(bool(v.isdigit() and ym and int(v) in (ym[k], ym[k] % 100)))
                        for v, ym in zip(col, days, strict=True)
                    ],
                )
    # the email's agreement with the row's names
    for j in email_cols:
        locals_ = [fold(rows[i][j].rsplit("@", 1)[0]) for i in range(n)]
        cover, anyname = [], []
        for i in range(n):
            toks = {
                plain(t)
                for k in range(w)
                if k != j and not any(c.isdigit() for c in rows[i][k])
                for t in rows[i][k].split()
            }
            toks = {t for t in toks if len(t) >= 3}
            letters = re.sub(r"[^a-z]", "", locals_[i])
            covered = sum(len(t) for t in toks if t in letters)
            cover.append(min(covered / max(len(letters), 1), 1.0))
            anyname.append(float(any(t in letters for t in toks)))
        add(f"{header[j][:18]}:name_cover", cover)
        add(f"{header[j][:18]}:has_name", anyname)
        add(
            f"{header[j][:18]}:upper_share",
            [sum(c.isupper() for c in v) / max(len(v), 1) for v in cols[j]],
        )
    return names, np.array(feats, dtype=float).T


# --- the run ----------------------------------------------------------------------


@dataclass
class Result:
    table: str
    auc: float
    #: The AUC without the dense numbering's features and the position (None: no such column).
    auc_no_sequence: float | None
    #: The AUC with canaries at the same place in several copies kept in one fold (None:
    #: every canary at one place, after the last row).
    auc_by_place: float | None
    top: list[tuple[str, float]]
    canaries: int
    rows: int
    #: With `--oracle`: the AUC with each canary swapped for a held-out real row, and
    #: the same without the numbering (None: not asked, or no numbering).
    oracle: float | None = None
    oracle_no_sequence: float | None = None


@dataclass
class Pooled:
    """The pooled per-row features of one table's copies, with labels and folds."""

    X: np.ndarray
    y: np.ndarray
    #: Each real row's copies in one group (a canary its own).
    groups: np.ndarray
    #: As groups, with canaries in the group of the real row they follow.
    places: np.ndarray
    names: list[str]
    #: With `--oracle`: the same rows' features with each canary swapped for a held-out
    #: real row, with their labels and folds (a sorted table's held-out rows go where
    #: they sort, so the rows' order differs from `X`'s there).
    X_oracle: np.ndarray | None = None
    y_oracle: np.ndarray | None = None
    groups_oracle: np.ndarray | None = None


class HeldOut:
    """Real rows that no copy holds, to put where the canaries were: the `--oracle`
    baseline. Drawn by the table's own generator (another seed), so they are what a
    synthesis that made rows exactly as the table's were made would plant. Where a
    drawn value repeats one of the table's in a column of unique values (the numbering,
    a folio, an email the generator happens to draw twice) the canary's own value is
    kept, so the baseline does not duplicate ids the planter keeps unique."""

    def __init__(
        self,
        make: Callable[..., Any],
        name: str,
        seed: int,
        header: list[str],
        body: list[list[str]],
    ) -> None:
        self._make, self._name, self._seed, self._round = make, name, seed, 0
        self._width = len(header)
        self._pool: list[list[str]] = []
        self._taken = {tuple(row) for row in body}
        self._unique = {
            j: {row[j] for row in body}
            for j in range(len(header))
            if len({row[j] for row in body if j < len(row)}) >= 0.9 * len(body)
        }
        # A numbering or a folio in order: the planter's number for that place, always.
        self._in_order = {j for j in self._unique if _in_order([row[j] for row in body])}

    def instead_of(self, canary: list[str]) -> list[str]:
        while not self._pool:
            self._round += 1
            _, rows, _ = self._make(
                random.Random(f"{self._name}:held-out:{self._seed}:{self._round}"), 400
            )
            self._pool = [r for r in rows if tuple(r) not in self._taken]
            random.Random(self._round).shuffle(self._pool)
        row = (self._pool.pop() + [""] * self._width)[: self._width]
        self._taken.add(tuple(row))
        for j, seen in self._unique.items():
            if row[j] in seen or j in self._in_order:
                row[j] = canary[j]
            seen.add(row[j])
        return row


def sorted_in(
    rows: list[tuple[list[str], bool]], key: Callable[[list[str]], Any]
) -> list[tuple[list[str], bool]]:
    """The copy's real rows as they are, each held-out row (flagged True) moved to where
    it sorts among them (after those of an equal key)."""
    real = [row for row, new in rows if not new]
    keys = [key(row) for row in real]
    at: dict[int, list[list[str]]] = {}
    for row, new in rows:
        if new:
            at.setdefault(bisect.bisect_right(keys, key(row)), []).append(row)
    out: list[tuple[list[str], bool]] = []
    for i in range(len(real) + 1):
        out.extend((row, True) for row in at.get(i, []))
        if i < len(real):
            out.append((real[i], False))
    return out


def _in_order(values: list[str]) -> bool:
    """Whether a column's numbers (its values' digits) rise from row to row, nine steps
    in ten at least."""
    keys = [int(d) for d in (re.sub(r"\D", "", v) for v in values) if d]
    if len(keys) < 0.9 * len(values) or len(keys) < 3:
        return False
    return sum(b > a for a, b in pairwise(keys)) >= 0.9 * (len(keys) - 1)


def collect(
    name: str,
    seed: int,
    copies: int,
    rows: int,
    with_domain: bool,
    partial_pool: bool = False,
    fresh: bool = False,
    oracle: bool = False,
    pool: int = 60,
) -> Pooled:
    from sqlalchemy import select

    from canary.config import Config
    from canary.issue.plant import IssueRequest, issue_copies
    from canary.store import register
    from canary.store.engine import open_store
    from canary.store.models import Canary

    make, pools = TABLES[name]
    r = random.Random(f"{name}:table")  # the table is fixed; the seed varies the copies
    header, body, opts = make(r, rows)
    if not partial_pool:
        pools = table_pools(header, body, pools)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        store = open_store(f"sqlite:///{t / 'canary.db'}")
        for d in ("correo-avisos.mx", "buzon-mx.com", "avisos-cr.com", "correo-es.com"):
            register.add_domain(store, d)
        for number in pool_numbers(pools, max(pool, len(pools))):
            # a landline column's canaries are landlines, heard by calls
            fixed = register.line_type(number) == "fixed_line"
            register.add_phone(store, number, "twilio", voice_only=fixed)
        # One table and its copies; with `fresh`, each copy of its own table drawn the
        # same way (nothing one copy teaches about a particular row, value count or
        # place carries over to another: only how canaries are made).
        sources = (
            [(header, body)]
            if not fresh
            else [make(random.Random(f"{name}:table:{seed}:{i}"), rows)[:2] for i in range(copies)]
        )
        issued = []
        for k, (hd, bd) in enumerate(sources):
            src = t / f"{k}" / name
            src.parent.mkdir()
            write_table(src, hd, bd, opts)
            recipients = [f"R{i}" for i in range(copies)] if not fresh else [f"R{k}"]
            issued += issue_copies(
                store,
                Config(),
                # each fresh table's copy with its own seed: one seed for all put their
                # canaries at the same row numbers, which the position feature learns
                IssueRequest(
                    str(src),
                    recipients,
                    out_dir=t / f"{k}" / "out",
                    seed=seed if not fresh else seed * 1000 + k,
                ),
            )
        with store.session() as s:
            canaries = s.scalars(select(Canary).where(Canary.kind == "planted")).all()
            by_copy: dict[str | None, list[dict[str, Any]]] = {}
            for c in canaries:
                by_copy.setdefault(c.copy_id, []).append(c.values)
        store.dispose()
        X_parts, y_parts, groups = [], [], []
        oracle_parts: list[tuple[list[str], np.ndarray]] = []
        y_oracle: list[int] = []
        g_oracle: list[int] = []
        places: list[int] = []
        fnames: list[str] = []
        index: dict[str, int] = {}  # copies of fresh tables may see other categorical columns
        held_out = HeldOut(make, name, seed, header, body) if oracle else None
        for k, copy in enumerate(issued):
            h, got = read_copy(Path(copy.path), opts)
            if oracle and fresh:  # the copy's own table (one copy each)
                held_out = HeldOut(make, f"{name}:{k}", seed, *sources[k])
            planted = {tuple(str(v) for v in vals.values()) for vals in by_copy.get(copy.id, [])}
            names_k, X = features(h, got, with_domain)
            if held_out is not None:  # each canary swapped for a real row of no copy
                swapped = [
                    (held_out.instead_of((row + [""] * len(h))[: len(h)]), True)
                    if tuple((row + [""] * len(h))[: len(h)]) in planted
                    else (row, False)
                    for row in got
                ]
                if "sort" in opts:  # a sorted table: each where it sorts, not where ours sat
                    swapped = sorted_in(swapped, opts["sort"])
                names_o, X_o = features(h, [row for row, _new in swapped], with_domain)
                oracle_parts.append((names_o, X_o))
                y_oracle.extend(int(new) for _row, new in swapped)
                g_oracle.extend(
                    hash((copy.id, tuple(row))) if new or fresh else hash(tuple(row))
                    for row, new in swapped
                )
            for f in names_k:
                if f not in index:
                    index[f] = len(fnames)
                    fnames.append(f)
            labels = []
            last_real: tuple[str, ...] | None = None
            for row in got:
                key = tuple((row + [""] * len(h))[: len(h)])
                labels.append(int(key in planted))
                own = key in planted or fresh
                groups.append(hash((copy.id, key)) if own else hash(key))
                # by place: a canary goes to the fold of the real row it follows, with
                # the canaries of other copies at the same place
                if key in planted and not fresh and last_real is not None:
                    places.append(hash(last_real))
                else:
                    places.append(groups[-1])
                if key not in planted:
                    last_real = key
            if sum(labels) != copy.canaries:
                print(f"  ! {name}: {sum(labels)} labelled of {copy.canaries} canaries")
            X_parts.append((names_k, X))
            y_parts.append(np.array(labels))
    X = np.vstack([_aligned(nk, Xk, index) for nk, Xk in X_parts])
    X_oracle = None
    if oracle_parts:
        for nk, _ in oracle_parts:
            for f in nk:
                if f not in index:
                    index[f] = len(fnames)
                    fnames.append(f)
        X = np.vstack([_aligned(nk, Xk, index) for nk, Xk in X_parts])
        X_oracle = np.vstack([_aligned(nk, Xk, index) for nk, Xk in oracle_parts])
    return Pooled(
        X,
        np.concatenate(y_parts),
        np.array(groups),
        np.array(places),
        fnames,
        X_oracle,
        np.array(y_oracle) if oracle_parts else None,
        np.array(g_oracle) if oracle_parts else None,
    )


def run_table(
    name: str,
    seed: int,
    copies: int,
    rows: int,
    with_domain: bool,
    partial_pool: bool = False,
    fresh: bool = False,
    oracle: bool = False,
    pool: int = 60,
) -> Result:
    pooled = collect(name, seed, copies, rows, with_domain, partial_pool, fresh, oracle, pool)
    X, y, g, places, fnames = pooled.X, pooled.y, pooled.groups, pooled.places, pooled.names
    no_seq = None
    if name in SEQUENCE:
        prefixes = {SEQUENCE[name][:k] for k in (12, 18)}
        keep = [
            j
            for j, f in enumerate(fnames)
            if f != "position"
            and not any(f.startswith(p + ":") or f.startswith(f"joint:{p}/") for p in prefixes)
        ]
        no_seq = cv_auc(X[:, keep], y, g, seed)
    by_place = None
    canary_places = {p for p, label in zip(places, y, strict=True) if label}
    if not fresh and len(canary_places) >= 10:  # canaries after the last row share one place
        by_place = cv_auc(X, y, np.array(places), seed)
    oracle_auc = oracle_no_seq = None
    if pooled.X_oracle is not None:
        yo, go = pooled.y_oracle, pooled.groups_oracle
        assert yo is not None and go is not None
        oracle_auc = cv_auc(pooled.X_oracle, yo, go, seed)
        if no_seq is not None:
            oracle_no_seq = cv_auc(pooled.X_oracle[:, keep], yo, go, seed)
    return Result(
        name,
        cv_auc(X, y, g, seed),
        no_seq,
        by_place,
        top_features(X, y, fnames),
        int(y.sum()),
        len(y),
        oracle_auc,
        oracle_no_seq,
    )


def _aligned(names: list[str], X: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """One copy's features in the pooled order (NaN for a feature this copy lacks)."""
    out = np.full((X.shape[0], len(index)), np.nan)
    for j, f in enumerate(names):
        out[:, index[f]] = X[:, j]
    return out


def cv_auc(X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros(len(y))
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y, groups):
        model = HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, class_weight="balanced", random_state=seed
        )
        # A feature no row of the fold has (NaN throughout: a column some copies lack)
        # cannot be binned; it says nothing there anyway.
        has = ~np.all(np.isnan(X[train]), axis=0)
        model.fit(X[train][:, has], y[train])
        scores[test] = model.predict_proba(X[test][:, has])[:, 1]
    return float(roc_auc_score(y, scores))


def top_features(
    X: np.ndarray, y: np.ndarray, names: list[str], k: int = 4
) -> list[tuple[str, float]]:
    from sklearn.metrics import roc_auc_score

    out = []
    for j, name in enumerate(names):
        col = np.nan_to_num(X[:, j], nan=-1e9)
        if len(set(col)) < 2:
            continue
        a = float(roc_auc_score(y, col))
        out.append((name, max(a, 1 - a)))
    out.sort(key=lambda x: -x[1])
    return out[:k]


def figure_line(label: str, figures: list[float | None], note: str) -> None:
    """One printed line: the mean of the seeds' figures, each seed's, and a note (nothing
    when no seed has the figure)."""
    got = [a for a in figures if a is not None]
    if got:
        per = " ".join(f"{a:.2f}" for a in got)
        print(f"{label:<20} {sum(got) / len(got):5.2f}  {per:<18}  {note}".rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=24)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--with-domain", action="store_true")
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="each copy from its own table drawn the same way: what canaries give away "
        "in themselves, without what pooled copies of one table teach about its rows",
    )
    ap.add_argument(
        "--partial-pool",
        action="store_true",
        help="canary numbers in two or three of the table's main area codes only (default: "
        "in every area code it holds, as canary issue asks)",
    )
    ap.add_argument(
        "--pool",
        type=int,
        default=60,
        help="numbers in the phone pool, cycling over its blocks (each copy's canaries draw "
        "from it, so a small pool repeats a number in the canaries of many copies, which "
        "pooled copies show)",
    )
    ap.add_argument(
        "--oracle",
        action="store_true",
        help="also score the baseline: the same copies with each canary swapped for a real "
        "row of the table's generator that no copy holds (what a perfect synthesis would "
        "plant); the difference is what our canaries give away beyond it",
    )
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    names = [n for n in TABLES if not args.only or any(o in n for o in args.only)]
    print(f"{'table':<20} {'AUC':>5}  per seed            strongest single features (own AUC)")
    for name in names:
        results = []
        for seed in range(args.seeds):
            try:
                results.append(
                    run_table(
                        name,
                        seed,
                        args.copies,
                        args.rows,
                        args.with_domain,
                        args.partial_pool,
                        args.fresh,
                        args.oracle,
                        args.pool,
                    )
                )
            except Exception as exc:  # the planter refused: say so, measure the others
                print(f"{name:<20} seed {seed}: not issued: {exc}")
        if not results:
            continue
        mean = sum(x.auc for x in results) / len(results)
        per = " ".join(f"{x.auc:.2f}" for x in results)
        feats: Counter[str] = Counter()
        for x in results:
            for f, a in x.top:
                feats[f] = max(feats[f], a)  # type: ignore[assignment]
        tops = ", ".join(f"{f} {a:.2f}" for f, a in sorted(feats.items(), key=lambda z: -z[1])[:3])
        print(f"{name:<20} {mean:5.2f}  {per:<18}  {tops}")
        figure_line(
            "  by place",
            [x.auc_by_place for x in results],
            "canaries at one place in several copies in one fold",
        )
        if name in SEQUENCE:
            figure_line(
                "  w/o seq",
                [x.auc_no_sequence for x in results],
                f"without {SEQUENCE[name]!r} and the row position (the exempt tell)",
            )
        figure_line(
            "  baseline",
            [x.oracle for x in results],
            "the same copies, each canary swapped for a held-out real row",
        )
        figure_line("  baseline w/o seq", [x.oracle_no_sequence for x in results], "")
        print(
            f"{'':<20}        ({results[0].canaries} canaries in {results[0].rows} rows per seed)"
        )


if __name__ == "__main__":
    main()
