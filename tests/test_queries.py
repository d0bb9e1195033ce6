"""Investigator queries: the register of copies, hit history with filters, CSV, trace."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from canary.cli import app
from canary.config import Config
from canary.errors import InputError, NotFound
from canary.hits.record import Observation, record
from canary.investigate.queries import (
    HitFilter,
    copy_detail,
    hits_csv,
    list_copies,
    list_hits,
    safe_cell,
)
from canary.investigate.trace import trace
from canary.store.engine import Store, open_store
from tests.registry_support import DOMAIN, T0, Person, Register, build

SHARED = "+52 844 123 4567"
PERSONS = {
    "Partido Azul": [
        Person("María José López García", f"mjlopez@{DOMAIN}", SHARED, "F-1001"),
        Person("Ana Ruiz Ortega", f"ana.ruiz@{DOMAIN}", "+52 844 987 6543"),
    ],
    "Partido Verde": [Person("Rocío Hernández Soto", f"rocio.h@{DOMAIN}", SHARED)],
    "Consultora XYZ": [Person("Lucía Fernández Mora", f"lfmora@{DOMAIN}", "+52 844 222 3344")],
}
CONTROL = Person("Julia Control Vega", f"julia.cv@{DOMAIN}")


def populate(store: Store) -> Register:
    """Three copies, then hits: two on Azul's email, one on the shared number, noise."""
    reg = build(store, PERSONS, controls=[CONTROL])
    t = T0 + timedelta(days=10)
    record(
        store,
        [
            Observation("smtp", f"mjlopez@{DOMAIN}", sender="promo@campana.example", observed_at=t),
            Observation(
                "smtp",
                f"MJLopez@{DOMAIN}",
                sender='=HYPERLINK("http://evil.example","click")',
                summary="+cmd|' /C calc'!A0",
                observed_at=t + timedelta(days=1),
            ),
            Observation(
                "whatsapp",
                "whatsapp:+5218441234567",
                sender="@evil",
                summary="-2+3 hola Rocío Hernández",
                text="hola Rocío Hernández Soto",
                observed_at=t + timedelta(days=2),
            ),
            Observation("smtp", f"julia.cv@{DOMAIN}", sender="\tx", observed_at=t),
            Observation("smtp", f"nadie@{DOMAIN}", sender="\rspam", observed_at=t),
        ],
    )
    return reg


def test_copies_counts_canaries_evidence_hits_and_noise(store: Store) -> None:
    reg = populate(store)
    doc = list_copies(store)
    by_recipient = {c["recipient"]: c for c in doc["copies"]}
    assert list(by_recipient) == ["Partido Azul", "Partido Verde", "Consultora XYZ"]
    azul = by_recipient["Partido Azul"]
    assert set(azul) == {
        "id",
        "recipient",
        "purpose",
        "issued_at",
        "dataset",
        "path",
        "canaries",
        "hits",
        "shared_hits",
    }
    # Two hits on Azul's own email (exclusive), one on the number Azul shares with Verde.
    assert (azul["id"], azul["canaries"], azul["hits"], azul["shared_hits"]) == (
        reg.copies["Partido Azul"],
        2,
        2,
        1,
    )
    assert azul["dataset"] == "candidatas.csv"
    verde = by_recipient["Partido Verde"]
    assert (verde["hits"], verde["shared_hits"]) == (0, 1)  # named only as one of two
    xyz = by_recipient["Consultora XYZ"]
    assert (xyz["hits"], xyz["shared_hits"]) == (0, 0)
    assert doc["noise"] == {"control": 1, "burn-in": 0, "noise": 0, "unattributed": 1}


def test_copy_detail_lists_canaries(store: Store) -> None:
    reg = populate(store)
    doc = copy_detail(store, reg.copies["Partido Azul"])
    assert doc["sha256"] == "ab" * 32 and (doc["hits"], doc["shared_hits"]) == (2, 1)
    attr = doc["attribution"]
    assert (attr["strength"], attr["exclusive_hits"], attr["shared_hits"]) == ("exclusive", 2, 1)
    # Its own email twice (about 5e-6 by chance); the shared hit names Verde's canary,
    # which, if Azul alone leaked, is unexpected: P rises, still small.
    assert 0 < attr["false_accusation_probability"] < 1e-3
    first = doc["canaries"][0]
    assert {"id", "values", "identifiers", "position"} <= set(first)
    assert first["values"]["nombre"] == "María José López García"
    assert {"kind": "phone", "value": "+528441234567"} in first["identifiers"]
    assert {"kind": "email", "value": f"mjlopez@{DOMAIN}"} in first["identifiers"]
    with pytest.raises(NotFound, match="canary copies"):
        copy_detail(store, "C-nope")


def test_hits_filters(store: Store) -> None:
    reg = populate(store)
    azul, verde = reg.copies["Partido Azul"], reg.copies["Partido Verde"]
    every = list_hits(store)["hits"]
    assert len(every) == 5
    assert [h["observed_at"] for h in every] == sorted(
        (h["observed_at"] for h in every), reverse=True
    )
    assert set(every[0]) >= {
        "id",
        "observed_at",
        "channel",
        "identifier",
        "sender",
        "summary",
        "copies",
    }

    on_azul = list_hits(store, HitFilter(copy=azul))["hits"]
    assert len(on_azul) == 3
    shared = next(h for h in on_azul if h["channel"] == "whatsapp")
    assert shared["copies"] == [verde, azul]  # the message names Verde's canary: best first
    assert shared["identifier"] == "+528441234567"

    assert [h["channel"] for h in list_hits(store, HitFilter(channel="whatsapp"))["hits"]] == [
        "whatsapp"
    ]
    later = list_hits(store, HitFilter(since=T0 + timedelta(days=10, hours=12)))["hits"]
    assert {h["channel"] for h in later} == {"smtp", "whatsapp"} and len(later) == 2
    early = list_hits(store, HitFilter(until=T0 + timedelta(days=10, hours=12)))["hits"]
    assert len(early) == 3
    assert len(list_hits(store, HitFilter(recipient="verde"))["hits"]) == 1
    assert [h["sender"] for h in list_hits(store, HitFilter(sender="CAMPANA"))["hits"]] == [
        "promo@campana.example"
    ]
    assert list_hits(store, HitFilter(sender="%"))["hits"] == []  # a literal, not a wildcard


def test_csv_neutralises_formulas(sqlite_store: Store) -> None:
    populate(sqlite_store)
    text = hits_csv(list_hits(sqlite_store)["hits"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    senders = {r["sender"] for r in rows}
    assert '\'=HYPERLINK("http://evil.example","click")' in senders
    assert "'@evil" in senders
    summaries = {r["summary"] for r in rows}
    assert "'+cmd|' /C calc'!A0" in summaries and "'-2+3 hola Rocío Hernández" in summaries
    assert safe_cell("ok") == "ok" and safe_cell(None) == ""


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_csv_is_safe_whatever_separator_the_spreadsheet_splits_on(separator: str) -> None:
    """Excel in Spain and Latin America splits on ";": `hola;=1+1` must not become a formula."""
    hostile = f"hola{separator}=1+1{separator} @SUM(A1){separator}-2{separator}\uff1dcmd"
    text = hits_csv([{"id": 1, "sender": hostile, "summary": "ok", "copies": []}])
    data_line = text.splitlines()[1]
    # Split the raw line the way a spreadsheet using this separator (ignoring quotes) would:
    # no piece may start a formula.
    for piece in data_line.replace('"', "").split(separator):
        assert not piece.lstrip(" ").startswith(("=", "+", "-", "@", "\uff1d")), piece
    # Every field is quoted, so a spreadsheet that honours quotes keeps it one cell.
    assert f"\"{hostile.split(separator)[0]}{separator}'=1+1" in data_line
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["sender"] == (
        f"hola{separator}'=1+1{separator} '@SUM(A1){separator}'-2{separator}'\uff1dcmd"
    )


@pytest.mark.parametrize(
    "typed",
    [
        "+52 844 123 4567",
        "+52 1 (844) 123-4567",
        "whatsapp:+5218441234567",
        "844 123 4567",
        "8441234567",
    ],
)
def test_trace_any_phone_format(sqlite_store: Store, typed: str) -> None:
    reg = populate(sqlite_store)
    doc = trace(sqlite_store, typed)
    assert doc["identifier"] == "+528441234567"
    assert {c["id"] for c in doc["copies"]} == {
        reg.copies["Partido Azul"],
        reg.copies["Partido Verde"],
    }
    assert set(doc["copies"][0]) == {"id", "recipient", "issued_at"}
    assert len(doc["canaries"]) == 2
    [hit] = doc["hits"]
    assert hit["channel"] == "whatsapp"


def test_trace_email_any_case_and_controls(store: Store) -> None:
    reg = populate(store)
    doc = trace(store, f"  MJLOPEZ@{DOMAIN.upper()} ")
    assert doc["identifier"] == f"mjlopez@{DOMAIN}"
    assert doc["copies"] == [
        {
            "id": reg.copies["Partido Azul"],
            "recipient": "Partido Azul",
            "issued_at": T0.isoformat(),
        }
    ]
    assert len(doc["hits"]) == 2
    assert all(h["copies"] == [reg.copies["Partido Azul"]] for h in doc["hits"])
    control = trace(store, f"julia.cv@{DOMAIN}")
    assert control["copies"] == [] and control["canaries"][0]["kind"] == "control"
    assert [h["classification"] for h in control["hits"]] == ["control"]
    with pytest.raises(InputError):
        trace(store, " - ")


def test_cli_json_documents(config: Config) -> None:
    store = open_store(config.store_url)
    try:
        reg = populate(store)
    finally:
        store.dispose()
    runner = CliRunner()
    copies = json.loads(runner.invoke(app, ["copies", "--json"]).stdout)
    assert [c["recipient"] for c in copies["copies"]] == list(PERSONS)
    hits = json.loads(
        runner.invoke(app, ["hits", "--copy", reg.copies["Partido Verde"], "--json"]).stdout
    )
    assert [h["channel"] for h in hits["hits"]] == ["whatsapp"]
    since = json.loads(
        runner.invoke(app, ["hits", "--since", "2026-03-12T12:00Z", "--json"]).stdout
    )
    assert [h["channel"] for h in since["hits"]] == ["whatsapp"]
    csv_out = runner.invoke(app, ["hits", "--csv"]).stdout
    assert csv_out.startswith('"id","observed_at","channel"')
    traced = json.loads(runner.invoke(app, ["trace", "(844) 987-6543", "--json"]).stdout)
    assert traced["identifier"] == "+528449876543"
    assert set(traced) >= {"identifier", "canaries", "copies", "hits"}
    detail = json.loads(runner.invoke(app, ["copy", reg.copies["Consultora XYZ"], "--json"]).stdout)
    assert detail["canaries"][0]["values"]["nombre"] == "Lucía Fernández Mora"
    table = runner.invoke(app, ["copies"])
    assert table.exit_code == 0 and "Partido Azul" in table.stdout and "noise:" in table.stdout


def test_cli_errors_are_one_line(config: Config) -> None:
    env = dict(os.environ, CANARY_CONFIG=str(config.path))
    for args in (["copy", "C-nope", "--json"], ["hits", "--since", "yesterday"]):
        proc = subprocess.run(
            [sys.executable, "-m", "canary", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


def test_copy_and_report_find_a_copy_by_the_same_rules(store: Store, tmp_path) -> None:
    """`canary copy` and `canary report` once disagreed on a lower-case id."""
    from canary.investigate import history

    reg = build(store, PERSONS)
    cid = reg.copies["Partido Verde"]
    typed = f"  {cid.lower()} "
    assert copy_detail(store, typed)["id"] == cid
    with store.session() as s:  # the lookup `canary report` and the bundle use
        assert history.get_copy(s, typed).id == cid
    with pytest.raises(NotFound, match="canary copies"):
        copy_detail(store, "NOSUCHCOPY")


def test_copies_page_is_the_register_filtered_and_cut_in_pages(store: Store) -> None:
    """The dashboard's register reads one page from the store; what it shows is what
    filtering every copy in Python (casefold, as the page always did) and slicing gives."""
    from datetime import date

    from canary.investigate.queries import CopyFilter, copies_page

    recipients = {
        "Straße Daten GmbH": [Person("Uno Dos Tres", f"u1@{DOMAIN}")],
        "STRASSE Logística": [Person("Cuatro Cinco", f"u2@{DOMAIN}")],
        "Ñandú Consultores": [Person("Seis Siete", f"u3@{DOMAIN}")],
        "Otra_empresa 100%": [Person("Ocho Nueve", f"u4@{DOMAIN}")],
        "otraXempresa": [Person("Diez Once", f"u5@{DOMAIN}")],
    }
    issued = {r: T0 + timedelta(days=i) for i, r in enumerate(recipients)}
    build(store, recipients, issued=issued)
    every = list_copies(store)["copies"]

    def expected(flt: CopyFilter) -> list[dict]:
        return [
            c
            for c in every
            if (not flt.dataset or c["dataset"] == flt.dataset)
            and flt.recipient.casefold() in c["recipient"].casefold()
            and (not flt.since or c["issued_at"][:10] >= flt.since.isoformat())
            and (not flt.until or c["issued_at"][:10] <= flt.until.isoformat())
        ]

    day = T0.date()
    filters = [
        CopyFilter(),
        CopyFilter(recipient="ss"),  # "Straße" casefolds to "strasse"
        CopyFilter(recipient="STRASSE"),
        CopyFilter(recipient="ñandú"),
        CopyFilter(recipient="_empresa 100%"),
        CopyFilter(recipient="%"),
        CopyFilter(dataset="candidatas.csv", since=day + timedelta(days=1)),
        CopyFilter(until=day + timedelta(days=2)),
        CopyFilter(dataset="otro.csv"),
        CopyFilter(since=date(2030, 1, 1)),
    ]
    for flt in filters:
        want = expected(flt)
        doc = copies_page(store, flt, 1, size=2)
        assert (doc["matched"], doc["total"], doc["pages"]) == (
            len(want),
            5,
            max(1, -(-len(want) // 2)),
        ), flt
        shown = doc["copies"] + copies_page(store, flt, 2, 2)["copies"]
        shown += copies_page(store, flt, 3, 2)["copies"]
        assert shown == want, flt
    assert [c["recipient"] for c in expected(CopyFilter(recipient="ss"))] == [
        "Straße Daten GmbH",
        "STRASSE Logística",
    ]
    assert copies_page(store, CopyFilter())["datasets"] == ["candidatas.csv"]


def test_copy_choices_lists_copies_up_to_a_bound(store: Store) -> None:
    from canary.investigate.queries import copy_choices

    reg = populate(store)
    assert copy_choices(store, 3) == [
        {"id": reg.copies[r], "recipient": r}
        for r in ("Partido Azul", "Partido Verde", "Consultora XYZ")
    ]
    assert copy_choices(store, 2) is None  # the search form asks for the id instead
