"""`canary copies` prints the register exactly as the store's datetimes read back: issue
times in UTC as `datetime.isoformat()` writes them (a fraction only when there is one),
whatever offset a copy was issued with, oldest first, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from canary.cli import app
from canary.cli.common import emit_json, emit_json_rows
from canary.config import Config
from canary.investigate.queries import CopyFilter, copies_page, list_copies
from canary.store.engine import Store, dispose_all
from canary.store.models import Copy, Dataset

MEXICO = timezone(timedelta(hours=-6))
COPIES = [
    # id, recipient, purpose, issued at, dataset, canaries, exclusive hits, shared hits
    (
        "C1",
        "Partido Azul",
        "campaña 2026",
        datetime(2026, 5, 1, 13, 0, tzinfo=MEXICO),
        "D1",
        3,
        2,
        1,
    ),
    (
        "C2",
        'Consultora "XYZ", S.C.',
        "",
        datetime(2026, 5, 1, 19, 0, 0, 250000, UTC),
        "D1",
        1,
        0,
        4,
    ),
    (
        "C0",
        "Ñandú & Cía\tLtda",
        "auditoría\nanual",
        datetime(2026, 5, 1, 19, 0, tzinfo=UTC),
        "D2",
        0,
        0,
        0,
    ),
    ("C3", "Partido Verde", "x", datetime(2025, 12, 31, 23, 59, 59, 999999, UTC), "D2", 7, 1, 0),
    ("C4", "Rocío\u202e\x85", "", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=MEXICO), "D1", 2, 0, 0),
]
EXPECTED = [
    # oldest first; a tie in time (C0 and C1 at 19:00 UTC) by id
    ("C3", "2025-12-31T23:59:59.999999+00:00", "clientes.xlsx", 7, 1, 0),
    ("C4", "2026-01-02T09:04:05.000006+00:00", "padron.csv", 2, 0, 0),
    ("C0", "2026-05-01T19:00:00+00:00", "clientes.xlsx", 0, 0, 0),
    ("C1", "2026-05-01T19:00:00+00:00", "padron.csv", 3, 2, 1),
    ("C2", "2026-05-01T19:00:00.250000+00:00", "padron.csv", 1, 0, 4),
]


@pytest.fixture
def register(store: Store) -> Store:
    with store.session() as s:
        s.add_all(
            [
                Dataset(id="D1", name="padron.csv", source="padron.csv", format="csv", columns=[]),
                Dataset(id="D2", name="clientes.xlsx", source="c.xlsx", format="xlsx", columns=[]),
            ]
        )
        s.flush()
        for cid, recipient, purpose, at, ds, canaries, excl, shared in COPIES:
            s.add(
                Copy(
                    id=cid,
                    dataset_id=ds,
                    recipient=recipient,
                    purpose=purpose,
                    issued_at=at,
                    path=f"/out/{cid}.csv",
                    sha256="0" * 64,
                    format="csv",
                    canary_count=canaries,
                    exclusive_hits=excl,
                    shared_hits=shared,
                )
            )
    return store


def orm_view(store: Store) -> dict[str, str]:
    """Each copy's issue time as the ORM reads it back, in the document's format."""
    with store.session() as s:
        return {c.id: c.issued_at.isoformat() for c in s.scalars(select(Copy))}


def test_the_register_lists_every_copy_in_utc_oldest_first(register: Store) -> None:
    doc = list_copies(register)
    assert [
        (c["id"], c["issued_at"], c["dataset"], c["canaries"], c["hits"], c["shared_hits"])
        for c in doc["copies"]
    ] == EXPECTED
    assert {c["id"]: c["issued_at"] for c in doc["copies"]} == orm_view(register)
    first = doc["copies"][2]
    assert first == {
        "id": "C0",
        "recipient": "Ñandú & Cía\tLtda",
        "purpose": "auditoría\nanual",
        "issued_at": "2026-05-01T19:00:00+00:00",
        "dataset": "clientes.xlsx",
        "path": "/out/C0.csv",
        "canaries": 0,
        "hits": 0,
        "shared_hits": 0,
    }
    # The dashboard's pages are the same rows.
    page = copies_page(register, CopyFilter(), page=2, size=2)
    assert page["copies"] == doc["copies"][2:4]


def test_cli_prints_the_register_byte_for_byte(
    register: Store, store_url: str, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    as_json = CliRunner().invoke(app, ["copies", "--json"])
    dispose_all()  # the in-process CLI's engine, before the next opens
    table = CliRunner().invoke(app, ["copies"])
    dispose_all()
    assert as_json.exit_code == 0 and table.exit_code == 0, as_json.output + table.output
    doc = json.loads(as_json.stdout)
    assert (
        as_json.stdout
        == json.dumps(doc, ensure_ascii=False, indent=2).replace("\u202e\x85", "\\u202e\\u0085")
        + "\n"
    )
    assert '"recipient": "Rocío\\u202e\\u0085",' in as_json.stdout  # inert on a terminal
    assert [(c["id"], c["issued_at"]) for c in doc["copies"]] == [e[:2] for e in EXPECTED]
    assert '"recipient": "Consultora \\"XYZ\\", S.C.",' in as_json.stdout
    lines = table.stdout.splitlines()
    assert lines[0] == "id\trecipient\tissued_at\tdataset\tcanaries\thits\tshared_hits\tpath"
    assert lines[1] == "C3\tPartido Verde\t2025-12-31T23:59:59\tclientes.xlsx\t7\t1\t0\t/out/C3.csv"
    assert (
        lines[3] == "C0\tÑandú & Cía Ltda\t2026-05-01T19:00:00\tclientes.xlsx\t0\t0\t0\t/out/C0.csv"
    )


def test_sqlite_issue_times_stored_in_another_form_read_as_before(
    register: Store, store_url: str
) -> None:
    """Text SQLAlchemy did not write (an older version, a hand edit) is read by the
    column's type, as before: the same document as the ORM's."""
    if not store_url.startswith("sqlite"):
        pytest.skip("SQLite stores datetimes as text")
    with register.engine.begin() as con:
        con.execute(text("UPDATE copies SET issued_at = '2026-05-01 19:00:00' WHERE id = 'C1'"))
        con.execute(
            text("UPDATE copies SET issued_at = '2026-01-02T03:04:05.5-06:00' WHERE id = 'C4'")
        )
    listed = {c["id"]: c["issued_at"] for c in list_copies(register)["copies"]}
    assert listed == orm_view(register)
    assert (listed["C1"], listed["C4"]) == (
        "2026-05-01T19:00:00+00:00",
        "2026-01-02T09:04:05.500000+00:00",
    )


@pytest.mark.parametrize(
    "doc",
    [
        {"copies": [], "noise": {"control": 0, "unattributed": 2}},
        {"copies": [{}, {"a": 1}], "noise": {}},
        {
            "copies": [
                {"id": "C\u2066", "n": -3, "f": 0.1, "t": True, "x": None, "l": [1, {"b": []}]},
                {"nested": {"k": ["v", 2.5e-9]}, "when": datetime(2026, 5, 1, tzinfo=UTC)},
            ]
            * 3000,
            "noise": {"control": 1},
            "after": "ok",
        },
        {
            "copies": [
                {
                    "id": f"C{n}",
                    "s": 'a "q" },\n      {\\ \u2028\x9b',
                    "i": n,
                    "f": 1 / 3,
                    "b": False,
                }
                for n in range(4500)
            ]
            + [{"z": None}],
            "noise": {"control": 0},
        },
        {"copies": [{"id": "a\x7fb", "n": 1}], "noise": {"c\x7f": "\x7f"}},
        {"before": [1, 2], "copies": "not a list"},
        {},
    ],
)
def test_rows_written_one_by_one_are_emit_json_byte_for_byte(
    doc: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    emit_json(doc)
    whole = capsys.readouterr().out
    emit_json_rows(doc, "copies")
    assert capsys.readouterr().out == whole
