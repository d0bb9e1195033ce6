"""The case workflow from the command line, on SQLite and PostgreSQL: an incident assigned,
annotated, closed with a resolution and reopened; a hit marked as noise and restored.
Every change is a chain link that `canary verify` checks, and an edited one fails."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from canary.cli import app
from canary.cli.common import state
from canary.hits.record import Observation, record
from canary.hits.workflow import IncidentChange, mark_noise, update_incident
from canary.store.engine import Store
from tests.case_support import XSS, mail_hit, make_copy

runner = CliRunner()


@pytest.fixture
def cli(store: Store, store_url: str, tmp_path, monkeypatch) -> Iterator[Store]:
    """`canary` in-process against `store` (through $CANARY_DB_URL)."""
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    monkeypatch.setenv("CANARY_CONFIG", str(tmp_path / "none.toml"))
    yield store


def run(*args: str) -> tuple[int, str]:
    try:
        r = runner.invoke(app, list(args))
    finally:  # each command opens the store; close it before the next one replaces it
        if state._store is not None:
            state._store.dispose()
    return r.exit_code, r.output


def doc(*args: str) -> dict[str, Any]:
    code, out = run(*args, "--json")
    assert code == 0, out
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def verified() -> bool:
    code, out = run("verify", "--json")
    ok = bool(json.loads(out)["ok"])
    assert ok == (code == 0)
    return ok


def one_incident(copy_id: str) -> int:
    [inc] = [i for i in doc("incidents")["incidents"] if i["copy"] == copy_id]
    return int(inc["id"])


def test_assign_note_close_reopen(cli: Store) -> None:
    copy_id = make_copy(cli, "Proveedor A", ["ana@canary.example"])
    hit_id = mail_hit(cli, "ana@canary.example")
    inc = one_incident(copy_id)
    fresh = doc("incident", str(inc))
    assert (fresh["status"], fresh["assignee"], fresh["resolution"]) == ("open", None, None)
    assert fresh["history"] == [] and fresh["notes"] == [] and "change" not in fresh

    got = doc(
        "incident", str(inc), "--assign", "Ivana Ruiz", "--note", f"looking {XSS}", "--by", "ivan"
    )
    assert got["assignee"] == "Ivana Ruiz" and got["status"] == "open"
    assert got["change"]["changes"] == {"assignee": [None, "Ivana Ruiz"]}
    assert got["change"]["by"] == "ivan" and got["change"]["text"] == f"looking {XSS}"
    assert [(n["by"], n["text"]) for n in got["notes"]] == [("ivan", f"looking {XSS}")]
    assert verified()

    code, out = run("incident", str(inc), "--status", "closed")
    assert code == 1 and "needs a resolution" in out and "--resolution" in out
    code, out = run("incident", str(inc), "--resolution", "a vendor's test")
    assert code == 1 and "--status closed" in out
    code, out = run("incident", str(inc), "--status", "archived")
    assert code == 1 and "open, investigating, closed" in out
    assert doc("incident", str(inc))["status"] == "open"  # refused changes left nothing

    closed = doc(
        "incident",
        str(inc),
        "--status",
        "closed",
        "--resolution",
        "Vendor A's leak; contract ended",
    )
    assert closed["status"] == "closed" and closed["closed_at"]
    assert closed["resolution"] == "Vendor A's leak; contract ended"
    assert closed["change"]["by"] == getpass.getuser()  # --by defaults to the login name
    assert closed["change"]["changes"] == {
        "status": ["open", "closed"],
        "resolution": [None, "Vendor A's leak; contract ended"],
    }
    assert [i["id"] for i in doc("incidents", "--status", "closed")["incidents"]] == [inc]
    assert doc("incidents", "--status", "open")["incidents"] == []
    assert verified()

    reopened = doc("incident", str(inc), "--status", "investigating", "--by", "ana")
    assert reopened["status"] == "investigating"
    assert reopened["resolution"] is None and reopened["closed_at"] is None
    assert reopened["change"]["changes"] == {
        "status": ["closed", "investigating"],
        "resolution": ["Vendor A's leak; contract ended", None],
    }
    same = doc("incident", str(inc), "--status", "investigating")
    assert same["change"] is None  # nothing changed, nothing recorded
    unassigned = doc("incident", str(inc), "--assign", "")
    assert unassigned["assignee"] is None
    history = unassigned["history"]
    assert [e["by"] for e in history] == ["ivan", getpass.getuser(), "ana", getpass.getuser()]
    seqs = [e["chain_seq"] for e in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4 and all(seqs)
    assert [h["id"] for h in unassigned["timeline"]] == [hit_id]
    assert verified()

    code, out = run("incident", str(inc))
    assert code == 0 and "history:" in out and "ivan" in out and "investigating" in out
    code, out = run("incident", "999", "--note", "x")
    assert code == 1 and "no incident 999" in out


def test_an_edited_case_event_breaks_the_chain(cli: Store) -> None:
    copy_id = make_copy(cli, "Proveedor A", ["ana@canary.example"])
    mail_hit(cli, "ana@canary.example")
    inc = one_incident(copy_id)
    change = update_incident(
        cli, inc, IncidentChange(status="closed", resolution="false alarm"), by="ivan"
    )
    assert change is not None
    assert verified()
    with cli.engine.begin() as c:  # someone rewrites who closed it, behind the tool's back
        c.execute(
            text("UPDATE case_events SET by = 'nobody' WHERE id = :i"), {"i": change.event_id}
        )
    code, out = run("verify")
    assert code == 1 and f"link #{change.seq} (incident {change.event_id})" in out
    assert "changed after it was recorded" in out


def test_mark_a_hit_as_noise_and_restore_it(cli: Store) -> None:
    copy_id = make_copy(cli, "Proveedor A", ["ana@canary.example"])
    hit_id = mail_hit(cli, "ana@canary.example")
    assert [c["hits"] for c in doc("copies")["copies"]] == [1]

    code, out = run("hit", str(hit_id), "--noise")
    assert code == 2 and "--reason" in out
    code, out = run("hit", str(hit_id), "--reason", "why")
    assert code == 2

    marked = doc("hit", str(hit_id), "--noise", "--reason", "our own test mail", "--by", "ivan")
    assert marked["classification"] == "noise"
    assert marked["attribution"]["strength"] == "unattributed"
    assert marked["noise"]["reason"] == "our own test mail" and marked["noise"]["by"] == "ivan"
    assert marked["change"]["changes"] == {"classification": ["evidence", "noise"]}
    assert marked["candidates"][0]["copy"] == copy_id  # still says which copy held it
    assert [(c["hits"], c["shared_hits"]) for c in doc("copies")["copies"]] == [(0, 0)]
    assert doc("copies")["noise"]["noise"] == 1
    inc = doc("incident", str(one_incident(copy_id)))
    assert (inc["hits"], inc["noise_hits"], inc["exclusive_hits"]) == (1, 1, 0)
    assert inc["timeline"][0]["noise"]["reason"] == "our own test mail"
    assert [e["kind"] for e in inc["history"]] == ["noise"]
    assert [h["id"] for h in doc("hits")["hits"]] == [hit_id]  # still in the store
    assert verified()

    code, out = run("hit", str(hit_id), "--noise", "--reason", "again")
    assert code == 1 and "noise already" in out

    restored = doc("hit", str(hit_id), "--not-noise", "--reason", "it was real after all")
    assert restored["classification"] == "evidence" and restored["noise"] is None
    assert [e["text"] for e in restored["history"]] == [
        "our own test mail",
        "it was real after all",
    ]
    assert [c["hits"] for c in doc("copies")["copies"]] == [1]
    assert verified()
    code, out = run("hit", str(hit_id))
    assert code == 0 and "classification: evidence" in out

    with cli.engine.begin() as c:
        c.execute(text("UPDATE case_events SET text = 'nothing' WHERE kind = 'noise'"))
    code, out = run("verify")
    assert code == 1 and "(noise " in out


def test_a_shared_hit_marked_noise_leaves_every_candidate(cli: Store) -> None:
    shared = "+50683123456"
    a = make_copy(cli, "Proveedor A", ["ana@canary.example"], [shared])
    b = make_copy(cli, "Proveedor B", ["beto@canary.example"], [shared])
    [rec] = record(cli, [Observation("sms", shared, sender="+50688887777", summary="hola")])
    counts = {c["id"]: (c["hits"], c["shared_hits"]) for c in doc("copies")["copies"]}
    assert counts == {a: (0, 1), b: (0, 1)}
    for copy_id in (a, b):
        timeline = doc("incident", str(one_incident(copy_id)))["timeline"]
        assert [(h["id"], h["shared"]) for h in timeline] == [(rec.hit_id, True)]

    mark_noise(cli, rec.hit_id, "a carrier's delivery test", by="ivan")
    counts = {c["id"]: (c["hits"], c["shared_hits"]) for c in doc("copies")["copies"]}
    assert counts == {a: (0, 0), b: (0, 0)}
    for copy_id in (a, b):
        inc = doc("incident", str(one_incident(copy_id)))
        assert (inc["shared_hits"], inc["noise_hits"]) == (0, 1)
        assert inc["timeline"][0]["shared"] and inc["timeline"][0]["noise"]["by"] == "ivan"
    assert verified()


def test_a_new_hit_reopens_a_closed_incident(cli: Store) -> None:
    shared = "+50683123456"
    a = make_copy(cli, "Proveedor A", ["ana@canary.example"], [shared])
    b = make_copy(cli, "Proveedor B", ["beto@canary.example"], [shared])
    mail_hit(cli, "ana@canary.example")
    mail_hit(cli, "beto@canary.example", mid="m2")
    for copy_id in (a, b):
        doc("incident", str(one_incident(copy_id)), "--status", "closed", "--resolution", "done")

    later = mail_hit(cli, "ana@canary.example", mid="m3")
    inc = doc("incident", str(one_incident(a)))
    assert (inc["status"], inc["resolution"], inc["closed_at"]) == ("open", None, None)
    last = inc["history"][-1]
    assert last["by"] == "canary" and f"#{later}" in last["text"]
    assert last["changes"] == {"status": ["closed", "open"], "resolution": ["done", None]}
    assert doc("incident", str(one_incident(b)))["status"] == "closed"

    [sms] = record(cli, [Observation("sms", shared, sender="+50688887777", summary="hola")])
    reopened = doc("incident", str(one_incident(b)))  # a shared hit reopens each candidate's
    assert reopened["status"] == "open" and f"#{sms.hit_id}" in reopened["history"][-1]["text"]
    assert verified()


def test_a_worked_case_still_makes_a_bundle_that_verifies(cli: Store, tmp_path) -> None:
    from canary.evidence.bundle import write_bundle
    from canary.evidence.verify import verify_bundle
    from tests.bundle_support import SIGNER

    copy_id = make_copy(cli, "Proveedor A", ["ana@canary.example"])
    noise = mail_hit(cli, "ana@canary.example")
    mail_hit(cli, "ana@canary.example", mid="m2")
    mark_noise(cli, noise, "our own test mail", by="ivan")
    inc = one_incident(copy_id)
    update_incident(cli, inc, IncidentChange(status="closed", resolution="x"), by="ivan")
    out = tmp_path / "case.zip"
    b = write_bundle(cli, copy_id, out, SIGNER)
    assert b.hits == 2  # the noise hit too: the bundle covers every hit naming the copy
    check = verify_bundle(out, SIGNER.public, copy=copy_id, store=cli)
    assert check.ok, check.problems


def test_case_state_changed_behind_the_tools_back_fails_verify(cli: Store) -> None:
    copy_id = make_copy(cli, "Proveedor A", ["ana@canary.example"])
    first = mail_hit(cli, "ana@canary.example")
    second = mail_hit(cli, "ana@canary.example", mid="m2")
    inc = one_incident(copy_id)
    change = update_incident(cli, inc, IncidentChange(assignee="ivan"), by="ivan")
    assert change is not None and verified()

    def sql(statement: str, **params: object) -> None:
        with cli.engine.begin() as c:
            c.execute(text(statement), params)

    def tampered(statement: str, **params: object) -> str:
        sql(statement, **params)
        code, out = run("verify")
        assert code == 1
        return out

    out = tampered("UPDATE incidents SET status = 'closed' WHERE id = :i", i=inc)
    assert f"link #{change.seq} (incident {change.event_id})" in out and "'closed'" in out
    tampered("UPDATE incidents SET status = 'open', assignee = 'mallory' WHERE id = :i", i=inc)
    sql("UPDATE incidents SET assignee = 'ivan' WHERE id = :i", i=inc)
    assert verified()

    out = tampered("UPDATE hits SET classification = 'noise' WHERE id = :i", i=first)
    assert f"hit {first}" in out and "no change marking it as noise" in out
    sql("UPDATE hits SET classification = 'evidence' WHERE id = :i", i=first)
    assert verified()
    marked = mark_noise(cli, second, "test", by="ivan")
    out = tampered("UPDATE hits SET classification = 'evidence' WHERE id = :i", i=second)
    assert f"link #{marked.seq} (noise {marked.event_id})" in out
