"""What the tool writes is for its owner alone (0600 files, 0700 folders) whatever the umask,
and only `canary init` creates a store."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from canary.files import open_private, private_dir, readable_by_others, write_private
from canary.store.engine import open_store
from tests.case_support import mail_hit, make_copy
from tests.cli_support import canary
from tests.test_plant import make_csv


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask (files 0644 by default), for this process and the commands it runs."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_helpers_ignore_the_umask(tmp_path: Path, umask_022: None) -> None:
    d = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(d) == 0o700
    write_private(d / "x.txt", "hola")
    with open_private(d / "y.bin", "ab") as f:
        f.write(b"1")
    assert mode(d / "x.txt") == 0o600 and mode(d / "y.bin") == 0o600
    # An existing file rewritten from empty is made private too; tmp_path itself is left alone.
    loose = tmp_path / "loose.txt"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    assert readable_by_others(loose)
    write_private(loose, "y")
    assert mode(loose) == 0o600 and not readable_by_others(loose)


def test_store_files_and_their_wal_are_private(tmp_path: Path, umask_022: None) -> None:
    db = tmp_path / "new" / "canary.db"
    store = open_store(f"sqlite:///{db}")
    try:
        make_copy(store, "Proveedor A", ["ana@canary.example"])
        with store.engine.connect() as c:  # an open connection keeps -wal and -shm there
            c.execute(text("SELECT count(*) FROM copies"))
            wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
            assert wal.exists() and shm.exists()
            assert (mode(db), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
            assert mode(db.parent) == 0o700
    finally:
        store.dispose()
    # A rollback journal (another journal mode) follows the database file's mode too.
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("BEGIN")
        con.execute("UPDATE copies SET purpose = 'x'")
        journal = Path(f"{db}-journal")
        assert journal.exists() and mode(journal) == 0o600
        con.rollback()
    finally:
        con.close()


def test_every_file_the_cli_writes_is_private(tmp_path: Path, umask_022: None) -> None:
    assert canary("init", cwd=tmp_path).returncode == 0
    assert mode(tmp_path / "canary.toml") == 0o600
    assert mode(tmp_path / "canary.db") == 0o600
    assert canary("domain", "add", "avisos-canary.example.org", cwd=tmp_path).returncode == 0
    for n in ("+52 844 555 1000", "+52 844 555 1001"):
        r = canary("phone", "add", n, "--provider", "twilio", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    source = tmp_path / "registro.csv"
    make_csv(source, rows=60)
    os.chmod(source, 0o644)
    r = canary(
        "issue", str(source), "--recipient", "Proveedor A", "--recipient", "Proveedor B",
        "--out-dir", "salida/copias", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    copies = json.loads(r.stdout)["copies"]
    assert len(copies) == 2
    for c in copies:
        assert mode(Path(c["path"])) == 0o600, c["path"]
    assert mode(tmp_path / "salida") == 0o700 and mode(tmp_path / "salida" / "copias") == 0o700

    db = tmp_path / "registro.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE personas (nombre TEXT, correo TEXT, telefono TEXT)")
    con.executemany(
        "INSERT INTO personas VALUES (?, ?, ?)",
        [(f"Persona {i}", f"p{i}@correo.example.com", f"+52 55 1234 {i:04d}") for i in range(40)],
    )
    con.commit()
    con.close()
    os.chmod(db, 0o644)
    r = canary(
        "issue", str(db), "--table", "personas", "--recipient", "C", "--out-dir", "sq", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    [sq] = json.loads(r.stdout)["copies"]
    assert mode(Path(sq["path"])) == 0o600

    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor Z", ["zeta@canary.example"])
        mail_hit(store, "zeta@canary.example")
    finally:
        store.dispose()
    r = canary("report", copy_id, "--out", "casos/caso.zip", "--lang", "en", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert mode(tmp_path / "casos" / "caso.zip") == 0o600 and mode(tmp_path / "casos") == 0o700

    with (tmp_path / "canary.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[alerts.channels]]\ntype = "jsonl"\npath = "siem/alerts.jsonl"\n')
    assert canary("alerts", "test", cwd=tmp_path).returncode == 0
    assert mode(tmp_path / "siem" / "alerts.jsonl") == 0o600 and mode(tmp_path / "siem") == 0o700


def test_demo_folder_is_private(tmp_path: Path, umask_022: None) -> None:
    folder = tmp_path / "demo"
    r = canary("demo", "--keep", str(folder), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert mode(folder) == 0o700
    loose = [p for p in folder.rglob("*") if p.is_file() and readable_by_others(p)]
    assert loose == []


COMMANDS = [
    ("domain", "add", "avisos.example.org"),
    ("domain", "list"),
    ("domain", "remove", "avisos.example.org"),
    ("phone", "add", "+506 8312 3456"),
    ("phone", "list"),
    ("phone", "remove", "+506 8312 3456"),
    ("issue", "registro.csv", "--recipient", "A"),
    ("copies",),
    ("copy", "ABC"),
    ("hits",),
    ("trace", "ana@avisos.example.org"),
    ("identify", "registro.csv"),
    ("incidents",),
    ("incident", "1"),
    ("report", "ABC", "--out", "x.zip"),
    ("verify",),
    ("alerts",),
    ("alerts", "retry", "--all"),
    ("doctor", "--skip", "dns", "--skip", "listeners"),
    ("user", "list"),
    ("token", "rotate"),
    ("serve", "--only", "smtp"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_only_init_creates_a_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "registro.csv").write_text("nombre,correo\nAna,ana@x.example\n")
    r = canary(*args, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert f"no store at {tmp_path / 'canary.db'}" in line
    assert "canary init" in line and "--config" in line
    assert not (tmp_path / "canary.db").exists()


def test_a_typo_in_store_url_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    assert canary("init", cwd=tmp_path).returncode == 0
    cfg = tmp_path / "canary.toml"
    cfg.write_text(cfg.read_text().replace("sqlite:///canary.db", "sqlite:///canary-typo.db"))
    r = canary("hits", "--json", cwd=tmp_path)
    assert r.returncode == 1
    assert f"no store at {tmp_path / 'canary-typo.db'}" in r.stderr
    assert f"store.url in {cfg}" in r.stderr
    assert not (tmp_path / "canary-typo.db").exists()
    # From another folder, the store is found through --config.
    elsewhere = tmp_path / "otra"
    elsewhere.mkdir()
    cfg.write_text(cfg.read_text().replace("canary-typo.db", "canary.db"))
    r = canary("--config", str(cfg), "hits", "--json", cwd=elsewhere)
    assert r.returncode == 0, r.stderr and json.loads(r.stdout) == {"hits": []}
    assert not (elsewhere / "canary.db").exists()


@pytest.mark.postgres
def test_a_postgres_database_without_our_tables_is_not_a_store(tmp_path: Path) -> None:
    from tests.conftest import pg_schema_url

    gen = pg_schema_url()
    url = next(gen)
    try:
        r = canary("hits", cwd=tmp_path, env={"CANARY_DB_URL": url})
        assert r.returncode == 1 and "has no canary tables" in r.stderr
        assert "$CANARY_DB_URL" in r.stderr
        assert canary("init", cwd=tmp_path, env={"CANARY_DB_URL": url}).returncode == 0
        r = canary("hits", "--json", cwd=tmp_path, env={"CANARY_DB_URL": url})
        assert r.returncode == 0, r.stderr
    finally:
        gen.close()


@pytest.mark.parametrize("fmt", ["xlsx", "json", "jsonl", "tsv"])
def test_copies_of_every_format_are_private(
    sqlite_store, tmp_path: Path, umask_022: None, fmt: str
) -> None:
    import csv

    import openpyxl

    from canary.config import Config
    from canary.issue.plant import IssueRequest, issue_copies
    from canary.store import register as registry

    registry.add_domain(sqlite_store, "avisos.example.org")
    rows = [[f"Persona {i}", f"Apellido{i}", f"p{i}@correo.example.com"] for i in range(40)]
    header = ["nombre", "apellido", "correo"]
    src = tmp_path / f"registro.{fmt}"
    if fmt == "xlsx":
        wb = openpyxl.Workbook()
        wb.active.append(header)
        for r in rows:
            wb.active.append(r)
        wb.save(src)
    elif fmt == "json":
        src.write_text(json.dumps([dict(zip(header, r)) for r in rows]))
    elif fmt == "jsonl":
        src.write_text("".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows))
    else:
        with src.open("w", newline="") as f:
            csv.writer(f, delimiter="\t").writerows([header, *rows])
    os.chmod(src, 0o644)
    [copy] = issue_copies(
        sqlite_store, Config(), IssueRequest(str(src), ["A"], out_dir=tmp_path / "o" / "p")
    )
    assert mode(Path(copy.path)) == 0o600
    assert mode(tmp_path / "o") == 0o700 and mode(tmp_path / "o" / "p") == 0o700
