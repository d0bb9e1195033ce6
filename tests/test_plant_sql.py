"""`canary issue --out-url`: copies of a SQL table written as tables of a database."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from canary.config import Config
from canary.errors import InputError
from canary.formats._values import to_text
from canary.issue.plant import IssueRequest, issue_copies
from canary.store import register as registry
from canary.store.engine import Store
from canary.store.models import Canary, Copy
from tests.cli_support import canary
from tests.conftest import pg_schema_url
from tests.test_plant import HEADER, make_csv, write_source

ROWS = 120


@pytest.fixture
def ready(sqlite_store: Store) -> Store:
    """The store the CLI finds with no config in `tmp_path`, with canary domains and phones."""
    registry.add_domain(sqlite_store, "correo-avisos.mx")
    for i in range(8):
        registry.add_phone(sqlite_store, f"+52 844 555 {1000 + i:04d}", "twilio")
    return sqlite_store


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            t = sa.Table(table, sa.MetaData(), autoload_with=c)
            return [tuple(r) for r in c.execute(sa.select(t).order_by(t.c.folio))]
    finally:
        eng.dispose()


def table_names(url: str) -> list[str]:
    eng = sa.create_engine(url)
    try:
        return sorted(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()


def rows_sha256(rows: list[tuple[Any, ...]]) -> str:
    """The documented hash of a table copy: one compact JSON array of texts per row."""
    h = hashlib.sha256()
    for r in rows:
        cells = [None if v is None else to_text(v) for v in r]
        h.update((json.dumps(cells, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    return h.hexdigest()


def canary_emails(store: Store, copy_id: str) -> set[str]:
    with store.session() as s:
        cans = s.scalars(select(Canary).where(Canary.copy_id == copy_id)).all()
        return {c.values["correo"] for c in cans}


def register_is_empty(store: Store) -> bool:
    with store.session() as s:
        return not s.scalar(select(func.count()).select_from(Copy)) and not s.scalar(
            select(func.count()).select_from(Canary)
        )


def test_one_database_per_recipient(ready: Store, tmp_path: Path) -> None:
    src, _ = write_source("sqlite", tmp_path / "registro", ROWS)
    before = src.read_bytes()
    source_rows = table_rows(f"sqlite:///{src}", "registro")
    (tmp_path / "out").mkdir()
    url = f"sqlite:///{tmp_path}/out/{{recipient}}.db"
    r = canary(
        "issue", str(src), "--table", "registro", "-r", "Ana Pérez", "-r", "Vendor SA",
        "--out-url", url, "--json", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    issued = json.loads(r.stdout)["copies"]
    assert src.read_bytes() == before
    register = json.loads(canary("copies", "--json", cwd=tmp_path).stdout)
    listed = {c["id"]: c for c in register["copies"]}
    for c, slug in zip(issued, ["ana-perez", "vendor-sa"], strict=True):
        target = f"sqlite:///{tmp_path}/out/{slug}.db"
        assert c["path"] == f"{target}#registro" == listed[c["id"]]["path"]
        assert table_names(target) == ["registro"]
        rows = table_rows(target, "registro")
        emails = canary_emails(ready, c["id"])
        assert len(emails) == c["canaries"] >= 3
        assert len(rows) == ROWS + c["canaries"]
        assert [r for r in rows if r[3] not in emails] == source_rows
        assert {r[3] for r in rows} >= emails
        assert all(isinstance(r[6], float) for r in rows)  # monto stays a number
        assert c["sha256"] == rows_sha256(rows)


def test_identify_a_dump_of_the_target_table(ready: Store, tmp_path: Path) -> None:
    from canary.investigate.identify import identify

    src, table = write_source("sqlite", tmp_path / "registro", ROWS)
    url = f"sqlite:///{tmp_path}/copias.db"
    [copy] = issue_copies(
        ready, Config(), IssueRequest(str(src), ["A"], table=table, out_url=url, seed=5)
    )
    assert copy.path == f"{url}#registro"
    dump = tmp_path / "found.csv"
    with dump.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *table_rows(url, "registro")])
    found = identify(ready, str(dump))
    assert found["copies"][0]["id"] == copy.id
    assert found["copies"][0]["matched"] >= copy.canaries


@pytest.mark.parametrize("given_as", ["file", "url"])
def test_several_recipients_share_one_database(ready: Store, tmp_path: Path, given_as: str) -> None:
    src, table = write_source("sqlite", tmp_path / "registro", ROWS)
    source = str(src) if given_as == "file" else f"sqlite:///{src}"
    url = f"sqlite:///{tmp_path}/copias.db"
    copies = issue_copies(
        ready,
        Config(),
        IssueRequest(source, ["A", "Vendor SA", "Auditoría"], table=table, out_url=url),
    )
    names = ["registro_a", "registro_vendor_sa", "registro_auditoria"]
    assert [c.path for c in copies] == [f"{url}#{n}" for n in names]
    assert table_names(url) == sorted(names)
    for c, name in zip(copies, names, strict=True):
        rows = table_rows(url, name)
        assert len(rows) == ROWS + c.canaries
        assert canary_emails(ready, c.id) <= {r[3] for r in rows}


@pytest.mark.postgres
def test_postgresql_target(ready: Store, tmp_path: Path) -> None:
    src, table = write_source("sqlite", tmp_path / "registro", ROWS)
    gen = pg_schema_url()
    url = next(gen)  # a fresh schema, dropped (with the copy) afterwards
    try:
        [copy] = issue_copies(
            ready, Config(), IssueRequest(str(src), ["Vendor SA"], table=table, out_url=url)
        )
        assert copy.path == sa.engine.make_url(url).render_as_string() + "#registro"
        assert table_names(url) == ["registro"]
        rows = table_rows(url, "registro")
        assert len(rows) == ROWS + copy.canaries
        assert copy.sha256 == rows_sha256(rows)
        eng = sa.create_engine(url)
        try:
            insp = sa.inspect(eng)
            # nothing in the copy recalls how it was written
            assert insp.get_pk_constraint("registro")["name"] == "registro_pkey"
            assert insp.get_sequence_names() == []
        finally:
            eng.dispose()
        with ready.session() as s:
            assert s.scalar(select(Copy.path)) == copy.path
    finally:
        gen.close()


def test_password_never_shown(ready: Store, tmp_path: Path) -> None:
    from canary.formats import table_output

    out = table_output("postgresql+psycopg://u:s3cret@127.0.0.1:5432/db", "t")
    assert out.label == "postgresql+psycopg://u:***@127.0.0.1:5432/db#t"
    src, table = write_source("sqlite", tmp_path / "registro", 20)
    with pytest.raises(InputError) as err:
        issue_copies(
            ready,
            Config(),
            IssueRequest(
                str(src), ["A"], table=table, out_url="postgresql+psycopg://u:s3cret@127.0.0.1:1/db"
            ),
        )
    assert "s3cret" not in str(err.value) and "u:***@127.0.0.1:1/db" in str(err.value)
    assert "\n" not in str(err.value)


def test_existing_target_table_is_refused(ready: Store, tmp_path: Path) -> None:
    src, _ = write_source("sqlite", tmp_path / "registro", ROWS)
    con = sqlite3.connect(tmp_path / "b.db")
    con.execute("create table registro (x text)")
    con.execute("insert into registro values ('ajena')")
    con.commit()
    con.close()
    url = f"sqlite:///{tmp_path}/{{recipient}}.db"
    r = canary(
        "issue", str(src), "--table", "registro", "-r", "A", "-r", "B", "--out-url", url,
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1
    assert r.stderr == f"error: sqlite:///{tmp_path}/b.db#registro already exists; " + (
        "drop it or choose another --out-url\n"
    )
    assert not (tmp_path / "a.db").exists()
    assert table_rows_raw(tmp_path / "b.db") == [("ajena",)]
    assert register_is_empty(ready)


def table_rows_raw(path: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        assert [n for (n,) in con.execute("select name from sqlite_master")] == ["registro"]
        return con.execute("select * from registro").fetchall()
    finally:
        con.close()


def test_out_url_is_only_for_database_sources(ready: Store, tmp_path: Path) -> None:
    src = tmp_path / "registro.csv"
    make_csv(src, 20)
    r = canary(
        "issue", str(src), "-r", "A", "--out-url", f"sqlite:///{tmp_path}/c.db", cwd=tmp_path
    )
    assert r.returncode == 1
    assert r.stderr.startswith("error: --out-url is only for database sources")
    assert r.stderr.count("\n") == 1
    assert not (tmp_path / "c.db").exists()
    db, table = write_source("sqlite", tmp_path / "registro", 20)
    with pytest.raises(InputError, match="--out-url and --out-dir"):
        issue_copies(
            ready,
            Config(),
            IssueRequest(
                str(db), ["A"], table=table, out_url=f"sqlite:///{tmp_path}/c.db", out_dir=tmp_path
            ),
        )
    with pytest.raises(InputError, match="source's own database file"):
        issue_copies(
            ready,
            Config(),
            IssueRequest(str(db), ["A", "B"], table=table, out_url=f"sqlite:///{db}"),
        )
    assert register_is_empty(ready)


def test_failure_while_writing_leaves_nothing(
    ready: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canary.formats import sql

    src, table = write_source("sqlite", tmp_path / "registro", ROWS)
    shared = tmp_path / "shared.db"
    sqlite3.connect(shared).close()  # an existing database: it stays, without our tables
    request = IssueRequest(
        str(src), ["A", "B"], table=table, out_url=f"sqlite:///{tmp_path}/{{recipient}}.db"
    )
    real_insert = sql._SqlSource._insert
    written: list[str] = []

    def insert_then_fail(self: Any, conn: Any, t: sa.Table, batch: Any, h: Any) -> None:
        real_insert(self, conn, t, batch, h)
        written.append(t.name)
        if len(set(written)) == 2:  # the first copy is written, the second begun
            raise RuntimeError("disk full")

    monkeypatch.setattr(sql._SqlSource, "_insert", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        issue_copies(ready, Config(), request)
    assert not (tmp_path / "a.db").exists() and not (tmp_path / "b.db").exists()
    monkeypatch.undo()

    # A register that fails once the tables are in place drops them again.
    import canary.issue.plant

    def register_fails(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("store gone")

    monkeypatch.setattr(canary.issue.plant, "_register", register_fails)
    request.out_url = f"sqlite:///{shared}"
    with pytest.raises(RuntimeError, match="store gone"):
        issue_copies(ready, Config(), request)
    assert table_names(f"sqlite:///{shared}") == []
    assert register_is_empty(ready)


def test_a_table_that_appears_meanwhile_is_kept_and_nothing_else(
    ready: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canary.formats._tables import TableOutputs

    src, table = write_source("sqlite", tmp_path / "registro", ROWS)
    url = f"sqlite:///{tmp_path}/copias.db"
    real_commit = TableOutputs.commit

    def someone_writes_then_commit(self: TableOutputs) -> None:
        for conn in self._conns.values():  # our writes are done and committed ...
            conn.commit()
        con = sqlite3.connect(tmp_path / "copias.db")  # ... when someone makes a table
        con.execute('create table "registro_b" (x text)')
        con.commit()
        con.close()
        real_commit(self)

    monkeypatch.setattr(TableOutputs, "commit", someone_writes_then_commit)
    with pytest.raises(InputError, match="registro_b appeared while the copy was written"):
        issue_copies(ready, Config(), IssueRequest(str(src), ["A", "B"], table=table, out_url=url))
    assert table_names(url) == ["registro_b"]  # registro_a was renamed, then dropped
    assert register_is_empty(ready)
