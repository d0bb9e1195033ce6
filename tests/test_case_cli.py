"""The case commands through the real `canary` entry point (subprocess)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from sqlalchemy import text

from canary.store.engine import open_store
from tests.case_support import mail_hit, make_copy
from tests.cli_support import canary


def test_incidents_report_and_verify(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        copy_id = make_copy(store, "Proveedor A", ["ana@canary.example"])
        hit_id = mail_hit(store, "ana@canary.example")
        mail_hit(store, "ana@canary.example", mid="m2")
    finally:
        store.dispose()

    inc = json.loads(canary("incidents", "--json", cwd=tmp_path).stdout)["incidents"]
    assert [(i["copy"], i["hits"]) for i in inc] == [(copy_id, 2)]
    detail = json.loads(canary("incident", str(inc[0]["id"]), "--json", cwd=tmp_path).stdout)
    assert [h["id"] for h in detail["timeline"]] == [hit_id, hit_id + 1]
    assert canary("incident", "999", cwd=tmp_path).returncode == 1

    r = canary("verify", cwd=tmp_path)
    assert r.returncode == 0 and "3 links" in r.stdout, r.stderr

    r = canary("report", copy_id, "--out", "case.zip", "--lang", "en", cwd=tmp_path)
    assert r.returncode == 1 and "no signing key" in r.stderr and "canary init" in r.stderr
    assert canary("init", cwd=tmp_path).returncode == 0  # keeps the store, makes the key
    r = canary("report", copy_id, "--out", "case.zip", "--lang", "en", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert canary("verify", "case.zip", cwd=tmp_path).returncode == 0
    assert canary("verify", "case.zip", "--against-store", cwd=tmp_path).returncode == 0

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(tmp_path / "case.zip") as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "report.html":
                data = data.replace(b"Proveedor A", b"Proveedor B")
            zout.writestr(info.filename, data)
    r = canary("verify", "bad.zip", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("not verified: report.html: changed")

    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        with store.engine.begin() as c:
            c.execute(text("UPDATE hits SET summary = 'nothing here' WHERE id = :i"), {"i": hit_id})
    finally:
        store.dispose()
    r = canary("verify", cwd=tmp_path)
    assert r.returncode == 1 and f"hit {hit_id}" in r.stderr and "link #2" in r.stderr


def test_user_commands(tmp_path: Path) -> None:
    assert canary("init", cwd=tmp_path).returncode == 0
    r = canary(
        "user",
        "add",
        "ana",
        "--role",
        "admin",
        "--password-stdin",
        cwd=tmp_path,
        stdin="a long password\n",
    )
    assert r.returncode == 0, r.stderr
    r = canary("user", "add", "ana", "--password-stdin", cwd=tmp_path, stdin="a long password\n")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    users = json.loads(canary("user", "list", "--json", cwd=tmp_path).stdout)["users"]
    assert [(u["username"], u["role"]) for u in users] == [("ana", "admin")]
    r = canary("user", "passwd", "ana", "--password-stdin", cwd=tmp_path, stdin="new long pass\n")
    assert r.returncode == 0
    assert canary("user", "remove", "ana", cwd=tmp_path).returncode == 0
    assert json.loads(canary("user", "list", "--json", cwd=tmp_path).stdout)["users"] == []
    r = canary("token", "rotate", cwd=tmp_path)
    assert r.returncode == 0 and "token" in r.stdout
