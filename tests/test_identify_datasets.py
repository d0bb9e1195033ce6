"""identify names the dataset a dump's rows come from, even with every canary stripped."""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.investigate.identify import identify
from canary.issue.plant import IssuedCopy, IssueRequest, issue_copies
from canary.store import register as registry
from canary.store.engine import Store, dispose_all
from canary.store.fingerprints import cell_key
from canary.store.models import DatasetFingerprint, DatasetFingerprintKey

CANARY_DOMAIN = "correo-avisos.mx"
GIVEN = ["María", "José", "Ana", "Juan", "Luis", "Rosa", "Carmen", "Jorge", "Lucía", "Pedro"]
SURNAMES = ["López", "García", "Hernández", "Martínez", "Pérez", "González", "Rodríguez", "Ruiz"]
HEADER = ["folio", "nombre", "correo", "celular", "fecha_nacimiento", "municipio"]


def registry_rows(n: int, seed: int) -> list[list[str]]:
    """A registry of real-looking people; two seeds share name pools, city and ids."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        given, pat, mat = rng.choice(GIVEN), rng.choice(SURNAMES), rng.choice(SURNAMES)
        handle = unicodedata.normalize("NFKD", f"{given}.{pat}").encode("ascii", "ignore")
        rows.append(
            [
                f"F-{i + 1:05d}",
                f"{given} {pat} {mat}",
                f"{handle.decode().lower()}{rng.randint(1, 999)}@gmail.com",
                f"(844) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(["Saltillo", "Torreón", "Monclova"]),
            ]
        )
    return rows


def write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def issue(store: Store, tmp_path: Path) -> tuple[list[IssuedCopy], list[list[str]]]:
    registry.add_domain(store, CANARY_DOMAIN)
    for i in range(6):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    rows = registry_rows(300, seed=1)
    src = write(tmp_path / "registro.csv", HEADER, rows)
    issued = issue_copies(
        store,
        Config(),
        IssueRequest(str(src), ["Azul", "Verde", "XYZ"], out_dir=tmp_path / "out", seed=3),
    )
    return issued, rows


def stripped_and_reshaped(copy: IssuedCopy, out: Path, keep: slice) -> Path:
    """The copy without its canaries, upper-cased, accents dropped, columns reversed,
    as a semicolon dump: nothing of the copy's own bytes survives."""
    with open(copy.path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    real = [r for r in rows if not r[2].endswith("@" + CANARY_DOMAIN)]
    assert len(real) == len(rows) - copy.canaries

    def plain(v: str) -> str:
        return unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().upper()

    reshaped = [[plain(v) for v in reversed(r)] for r in real[keep]]
    return write(out, list(reversed(HEADER)), reshaped, delimiter=";")


def test_a_dump_without_canaries_names_its_dataset(store: Store, tmp_path: Path) -> None:
    issued, _rows = issue(store, tmp_path)
    verde = next(c for c in issued if c.recipient == "Verde")
    dump = stripped_and_reshaped(verde, tmp_path / "sin_canarios.csv", slice(100, 160))
    doc = identify(store, dump)
    assert doc["copies"] == [] and doc["explained"] == []
    [ds] = doc["datasets"]
    assert ds["name"] == "registro.csv"
    assert ds["rows_matched"] >= 40  # of the 60 rows in the dump
    assert sorted((c["id"], c["recipient"]) for c in ds["copies"]) == sorted(
        (c.id, c.recipient) for c in issued
    )
    assert all(c["issued_at"] for c in ds["copies"])


def test_an_unrelated_table_matches_no_dataset(store: Store, tmp_path: Path) -> None:
    issue(store, tmp_path)
    # Same columns, name pools, city and folio series; other people.
    other = write(tmp_path / "otro.csv", HEADER, registry_rows(2000, seed=99))
    doc = identify(store, other)
    assert doc["datasets"] == []
    assert doc["copies"] == []


def test_fingerprints_keep_no_value(store: Store, tmp_path: Path) -> None:
    _issued, rows = issue(store, tmp_path)
    with store.session() as s:
        [key] = s.scalars(select(DatasetFingerprintKey)).all()
        prints = s.scalars(select(DatasetFingerprint)).all()
    assert 0 < key.rows_sampled <= 300
    assert len(bytes.fromhex(key.salt)) == 32
    stored = {p.digest for p in prints}
    assert all(len(d) == 16 and int(d, 16) >= 0 for d in stored)
    values = {cell_key(v) for r in rows for v in r} - {None}
    assert not stored & values  # no value, normalised or not, is stored as such
    assert not stored & {v for r in rows for v in r}


def test_cli_says_whose_rows_these_are(
    store: Store, store_url: str, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued, _rows = issue(store, tmp_path)
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    xyz = next(c for c in issued if c.recipient == "XYZ")
    dump = stripped_and_reshaped(xyz, tmp_path / "dump", slice(0, 30))
    result = CliRunner().invoke(app, ["identify", str(dump), "--json"])
    dispose_all()  # the in-process CLI's engine, before the next opens
    assert result.exit_code == 0, result.output
    [ds] = json.loads(result.stdout)["datasets"]
    assert ds["rows_matched"] >= 15
    human = CliRunner().invoke(app, ["identify", str(dump)])
    dispose_all()  # the in-process CLI's engine, before the next opens
    line = next(ln for ln in human.stdout.splitlines() if ln.startswith("rows of dataset"))
    assert ds["id"] in line and "issued to 3 recipient(s)" in line


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("María José Núñez-Peña", "MARIA  JOSE NUNEZ PENA"),
        ("+52 1 (844) 123-4567", "8441234567"),
        ("Ana.Ruiz@Correo.MX", "ana.ruiz@correo.mx"),
    ],
)
def test_normal_form_survives_reformatting(a: str, b: str) -> None:
    assert cell_key(a) == cell_key(b) is not None


@pytest.mark.parametrize("common", ["F-00017", "1985-03-12", "25000", "Saltillo", "sí"])
def test_common_cells_are_not_fingerprinted(common: str) -> None:
    assert cell_key(common) is None or cell_key(common) == "saltillo"
