"""Check digits an adversary verified on tables the tool had not seen: an Italian codice
fiscale, a Portuguese NIF (python-stdnum names them), a Uruguayan cedula and a Guatemalan
DPI (no library does: the column's own values show the rule). Each algorithm is written
out here, apart from the code under test, so that a canary is checked as anyone would."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from canary.formats import Sample
from canary.synth.canaries import CanaryFactory
from canary.synth.check_digits import scheme_of, with_check
from canary.synth.infer import infer_schema

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: A codice fiscale's odd places' values: a digit's as the letter's in its place (0 as A)
_ODD = [
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
]
CF_ODD = {**dict(zip("0123456789", _ODD, strict=False)), **dict(zip(_LETTERS, _ODD, strict=True))}


def cf_check(body: str) -> str:
    """An Italian codice fiscale's check letter over its first 15 characters."""
    total = 0
    for i, ch in enumerate(body):
        if i % 2 == 0:  # odd places, counted from 1
            total += CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - ord("A")
    return chr(ord("A") + total % 26)


def cf_ok(value: str) -> bool:
    return len(value) == 16 and cf_check(value[:15]) == value[15]


def nif_check(body: str) -> int:
    """A Portuguese NIF's check digit over its first eight digits."""
    rest = sum(int(d) * w for d, w in zip(body, range(9, 1, -1), strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def nif_ok(value: str) -> bool:
    return bool(re.fullmatch(r"\d{9}", value)) and nif_check(value[:8]) == int(value[8])


def uy_check(body: str) -> int:
    """A Uruguayan cedula's check digit over its seven digits."""
    total = sum(int(d) * w for d, w in zip(body, (2, 9, 8, 7, 6, 3, 4), strict=True))
    return (10 - total % 10) % 10


def uy_ok(value: str) -> bool:
    m = re.fullmatch(r"(\d)\.(\d{3})\.(\d{3})-(\d)", value)
    return bool(m) and uy_check("".join(m.groups()[:3])) == int(m.group(4))


def dpi_check(serial: str) -> int:
    """A Guatemalan DPI's check digit over its 8-digit serial (10: never issued)."""
    return sum(int(d) * w for d, w in zip(serial, range(2, 10), strict=True)) % 11


def dpi_ok(value: str) -> bool:
    return bool(re.fullmatch(r"\d{13}", value)) and dpi_check(value[:8]) == int(value[8])


def _digits(r: random.Random, k: int) -> str:
    return "".join(str(r.randint(0, 9)) for _ in range(k))


def cf_value(r: random.Random) -> str:
    letters = "".join(r.choice("BCDFGLMNPRSTVZ") for _ in range(6))
    day = r.randint(1, 28) + r.choice([0, 40])
    body = f"{letters}{r.randint(40, 99)}{r.choice('ABCDEHLMPRST')}{day:02d}"
    body += r.choice("AFHL") + _digits(r, 3)
    return body + cf_check(body)


def nif_value(r: random.Random) -> str:
    body = r.choice("123") + _digits(r, 7)
    return body + str(nif_check(body))


def uy_value(r: random.Random) -> str:
    body = str(r.randint(1, 6)) + _digits(r, 6)
    return f"{body[0]}.{body[1:4]}.{body[4:]}-{uy_check(body)}"


def dpi_value(r: random.Random) -> str:
    while True:
        serial = str(r.randint(1, 3)) + _digits(r, 7)
        check = dpi_check(serial)
        if check < 10:
            return f"{serial}{check}{r.randint(1, 22):02d}{r.randint(1, 17):02d}"


#: (a valid value, the real check, the check character's place, its alphabet)
KINDS: dict[str, tuple[Callable[[random.Random], str], Callable[[str], bool], int, str]] = {
    "it.codicefiscale": (cf_value, cf_ok, 15, _LETTERS),
    "pt.nif": (nif_value, nif_ok, 8, "0123456789"),
    "uy.cedula": (uy_value, uy_ok, 10, "0123456789"),
    "gt.dpi": (dpi_value, dpi_ok, 8, "0123456789"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_columns_check_digit_is_found_and_kept_right_on_new_values(kind: str) -> None:
    # Each of these caught 23 or 24 of 24 canaries with no real row: the column's check
    # character was not one any scheme named, and a canary's was drawn like any digit.
    make, ok, at, alphabet = KINDS[kind]
    r = random.Random(21)
    column = [make(r) for _ in range(300)]
    assert all(map(ok, column))
    scheme = scheme_of(column)
    assert scheme is not None
    fixed = 0
    for value in (make(r) for _ in range(200)):
        wrong = value[:at] + r.choice(alphabet.replace(value[at], "")) + value[at + 1 :]
        assert not ok(wrong)
        made = with_check(wrong, scheme)
        if made is None:
            continue  # its other characters take no check (a DPI serial giving 10)
        assert ok(made), (wrong, made)
        assert made[:at] + made[at + 1 :] == value[:at] + value[at + 1 :]
        fixed += 1
    assert fixed >= 180


@pytest.mark.parametrize("length", range(6, 21))
def test_a_column_of_random_digits_has_no_check_digit(length: int) -> None:
    # A rule learnt from a column's values must not be one its values fit by chance:
    # given to a column of plain numbers, it would rewrite a digit nothing checks.
    for seed in range(4):
        r = random.Random(100 * length + seed)
        for n in (80, 400):
            column = [_digits(r, length) for _ in range(n)]
            if seed % 2:  # written in groups, with a separator
                column = [f"{v[:3]}.{v[3:-1]}-{v[-1]}" for v in column]
            assert scheme_of(column) is None, (length, seed, n)


def test_learning_a_columns_check_digit_is_quick() -> None:
    # scheme_of runs for each column when a copy is issued, on up to 400 values.
    r = random.Random(22)
    columns = [[_digits(r, k) for _ in range(400)] for k in (8, 13, 20)]
    columns.append([uy_value(r) for _ in range(400)])
    for column in columns:
        start = time.perf_counter()
        scheme_of(column)
        assert time.perf_counter() - start < 0.25


def test_a_tables_uruguayan_cedulas_give_canaries_passing_their_check() -> None:
    # A cedula "4.123.456-7" carries a check digit no library names: drawn digit by
    # digit, a canary's passed it one time in ten.
    r = random.Random(23)
    given = ["María", "Lucía", "Florencia", "Juan", "Martín", "Diego", "Sofía", "Andrés"]
    surnames = ["Rodríguez", "González", "Pereira", "Fernández", "Silva", "Sosa", "Núñez"]
    rows = []
    for i in range(300):
        name = f"{r.choice(given)} {r.choice(surnames)} {r.choice(surnames)}"
        rows.append([uy_value(r), name, f"persona{i}@adinet.com.uy"])
    sample = Sample(["Cédula", "Nombre completo", "Correo"], rows, True, 300)
    for seed in range(3):
        f = CanaryFactory(
            infer_schema(sample), sample, domains=["avisos.example.uy"], rng=random.Random(seed)
        )
        for _ in range(30):
            row = f.make_row(f.persona())
            assert row is not None
            assert uy_ok(row[0]), row[0]
