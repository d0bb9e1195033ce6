"""Upload bombs handed to identify are refused or bounded, and never take the server down.

Each test builds the hostile file: a SQLite file whose virtual generated column would
allocate hundreds of megabytes per row, an .xlsx of millions of tiny shared strings,
a zip of too many entries or too many unpacked bytes, a workbook whose one shared
string is larger than the reader's memory.
"""

from __future__ import annotations

import sqlite3
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from canary.errors import InputError
from canary.investigate.identify import identify
from canary.investigate.limits import SERVER_LIMITS, ReadLimits, bounded_identify
from canary.store.admin_token import rotate_admin_token
from canary.store.engine import Store, open_store
from tests.admin_support import live_admin
from tests.case_support import make_copy

CANARY = "ana.perez.77@canary.example"


def sqlite_bomb(path: Path) -> Path:
    """8 KB on disk; reading column b of each row would allocate 400 MB."""
    con = sqlite3.connect(path)
    con.execute(
        "create table t (a text, b blob generated always as (zeroblob(400000000) || a) virtual)"
    )
    con.executemany("insert into t (a) values (?)", [(CANARY,), ("x@y.example",)] * 5)
    con.execute("create table u (c text)")
    con.execute("insert into u values ('otro')")
    con.commit()
    con.close()
    return path


def test_sqlite_generated_columns_are_never_evaluated(sqlite_store: Store, tmp_path: Path) -> None:
    copy_id = make_copy(sqlite_store, "Proveedor A", [CANARY])
    bomb = sqlite_bomb(tmp_path / "dump.db")
    assert bomb.stat().st_size < 64 * 1024
    started = time.monotonic()
    for result in (identify(sqlite_store, bomb), bounded_identify(sqlite_store, bomb)):
        assert [c["id"] for c in result["copies"]] == [copy_id]
    assert time.monotonic() - started < 30


def test_sqlite_virtual_tables_are_skipped(sqlite_store: Store, tmp_path: Path) -> None:
    copy_id = make_copy(sqlite_store, "Proveedor A", [CANARY])
    path = tmp_path / "fts.db"
    con = sqlite3.connect(path)
    con.execute("create table plain (e text)")
    con.execute("insert into plain values (?)", (CANARY,))
    try:
        con.execute("create virtual table v using fts5(body)")
        con.execute("insert into v values ('beto@canary.example')")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no fts5")
    con.commit()
    con.close()
    result = bounded_identify(sqlite_store, path)
    assert [c["id"] for c in result["copies"]] == [copy_id]


def _zip(path: Path, members: dict[str, bytes | int]) -> Path:
    """A zip; an int member is that many bytes of "0", streamed (a bomb)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        for name, data in members.items():
            if isinstance(data, int):
                with zf.open(name, "w", force_zip64=True) as f:
                    block = b"0" * (1 << 20)
                    for _ in range(data >> 20):
                        f.write(block)
            else:
                zf.writestr(name, data)
    return path


def test_xlsx_shared_string_bomb_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    strings = b"<sst>" + b"<si><t>a</t></si>" * 1_200_000 + b"</sst>"
    bomb = _zip(tmp_path / "bomb.xlsx", {"xl/sharedStrings.xml": strings})
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(InputError, match="shared strings"):
        bounded_identify(sqlite_store, bomb)


def test_zip_unpacked_size_and_entry_count_are_bounded(sqlite_store: Store, tmp_path: Path) -> None:
    big = _zip(tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": 300 << 20})
    assert big.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(InputError, match="unpacked size"):
        bounded_identify(sqlite_store, big)
    many = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(6000)})
    with pytest.raises(InputError, match="zip entries"):
        bounded_identify(sqlite_store, many)


def test_a_reader_out_of_memory_is_an_error_not_a_dead_server(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A reader that runs out of memory (here: a worker allowed less than Python needs to
    start) fails in its own process; the caller gets one clear error and carries on."""
    copy_id = make_copy(sqlite_store, "Proveedor A", [CANARY])
    path = tmp_path / "ok.txt"
    path.write_text(f"lista: {CANARY}\n")
    starved = replace(SERVER_LIMITS, worker_memory_bytes=24 << 20)
    # Where the worker runs out (starting, or reading) decides which of the two it says.
    with pytest.raises(InputError, match="within this listener's limits|more memory than allowed"):
        bounded_identify(sqlite_store, path, starved)
    result = bounded_identify(sqlite_store, path)  # the next upload is read as usual
    assert [c["id"] for c in result["copies"]] == [copy_id]


def test_worker_deadline(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("x " * 1000)
    limits = ReadLimits(worker_seconds=0.001)
    with pytest.raises(InputError, match="limits"):
        bounded_identify(sqlite_store, path, limits)


def test_upload_bombs_over_the_admin_api(tmp_path: Path, port: int) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor A", [CANARY])
        token = rotate_admin_token(store)
        strings = b"<sst>" + b"<si><t>a</t></si>" * 1_200_000 + b"</sst>"
        bomb = _zip(tmp_path / "bomb.xlsx", {"xl/sharedStrings.xml": strings})
        db = sqlite_bomb(tmp_path / "dump.db")
        with live_admin(store, port) as url, httpx.Client(base_url=url, timeout=120) as c:
            auth = {"Authorization": f"Bearer {token}"}
            r = c.post("/api/identify", files={"file": ("b.xlsx", bomb.read_bytes())}, headers=auth)
            assert r.status_code == 400 and "shared strings" in r.json()["error"]
            r = c.post("/api/identify", files={"file": ("d.db", db.read_bytes())}, headers=auth)
            assert r.status_code == 200 and r.json()["copies"][0]["id"] == copy_id
    finally:
        store.dispose()
