"""Answer first, attribute after: a hit is pending until the listener's worker attributes it,
and a listener killed in between leaves pending hits that the next start attributes."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import listeners.inbox
from canary.cli import app
from canary.hits import attribution, record
from canary.hits.record import (
    Observation,
    attribute_pending,
    pending_count,
    receive_in,
    record_in,
)
from canary.investigate.queries import list_hits
from canary.investigate.search import SearchFilter, search
from canary.store.chain import verify_chain
from canary.store.engine import Store, open_store
from canary.store.models import Alert, Hit, HitInbox
from tests.alerts_support import add_copy, wait_for
from tests.cli_support import canary
from tests.conftest import free_port
from tests.pending_support import ODD, write_pending
from tests.smtp_support import seed
from tests.webhooks_support import GENERIC_SECRET, generic_post, running, signed_config

CANARY = "+525512345678"


def message(to: str) -> bytes:
    return (
        f"From: Campaign <news@campaign.example>\r\nTo: {to}\r\nSubject: Vote\r\n"
        "Message-ID: <k1@campaign.example>\r\n\r\nHello there\r\n"
    ).encode()


def pending(store: Store) -> int:
    with store.session() as s:
        return pending_count(s)


def alerts(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Alert)) or 0)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Attribution waits until the event is set (the listener still answers)."""
    gate = threading.Event()
    real = listeners.inbox.attribute_pending

    def gated(session, limit=64, skip=()):  # type: ignore[no-untyped-def]
        gate.wait(60)
        return real(session, limit, skip)

    monkeypatch.setattr(listeners.inbox, "attribute_pending", gated)
    yield gate
    gate.set()


def test_a_webhook_hit_is_pending_until_attributed(
    store: Store, store_url: str, held: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_id = add_copy(store, "Vendor A", phones=[CANARY])
    monkeypatch.setenv("CANARY_DB_URL", store_url)
    with running(store, signed_config()) as client:
        r = generic_post(client, {"id": "p-1", "to": CANARY, "body": "hola"})
        assert r.status_code == 200
        assert r.json()["hits"][0]["pending"] is True
        # Answered: the raw request is durable, the hit listed as pending.
        (hit,) = list_hits(store)["hits"]
        assert hit["classification"] == "pending" and hit["copies"] == []
        assert hit["attribution"]["strength"] == "pending"
        shown = CliRunner().invoke(app, ["hits", "--json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["hits"][0]["attribution"]["strength"] == "pending"
        assert pending(store) == 1 and alerts(store) == 0
        with store.session() as s:
            raw = s.get(Hit, hit["id"])
            assert raw is not None and raw.evidence_sha256
        held.set()
        wait_for(lambda: pending(store) == 0)
        (hit,) = list_hits(store)["hits"]
        assert hit["classification"] == "evidence" and hit["copies"] == [copy_id]
        assert hit["attribution"]["strength"] == "exclusive"
        assert alerts(store) == 1
    with store.session() as s:
        assert verify_chain(s) is None


def test_a_listener_hit_is_found_by_its_message_text_once_attributed(
    sqlite_store: Store, held: threading.Event
) -> None:
    """The text the listener received reaches search through the inbox, not only `record`."""
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        body = "Hola Gustavo. " + "Le escribimos por su registro. " * 30 + "Su cita en Saltillo"
        assert generic_post(client, {"id": "p-s", "to": CANARY, "body": body}).status_code == 200
        held.set()
        wait_for(lambda: pending(sqlite_store) == 0)
    with sqlite_store.session() as s:
        (hit,) = s.scalars(select(Hit)).all()
        assert "su cita en saltillo" in hit.search_text and "cita" not in hit.summary
    (found,) = search(sqlite_store, "cita en saltillo", SearchFilter()).results
    assert found.type == "hit" and found.matched == "text"


def test_a_retry_of_a_pending_hit_is_a_duplicate(
    sqlite_store: Store, held: threading.Event
) -> None:
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        first = generic_post(client, {"id": "p-2", "to": CANARY, "body": "x"}).json()["hits"][0]
        again = generic_post(client, {"id": "p-2", "to": CANARY, "body": "x"}).json()["hits"][0]
        assert again == {**first, "duplicate": True}
        held.set()
    assert len(list_hits(sqlite_store)["hits"]) == 1 and pending(sqlite_store) == 0


def test_a_hit_whose_attribution_fails_stays_pending_and_the_rest_go_on(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    real = attribution.attribute

    def fragile(session, hit, **kw):  # type: ignore[no-untyped-def]
        if "poison" in kw.get("text", ""):
            raise RuntimeError("cannot attribute this one")
        return real(session, hit, **kw)

    monkeypatch.setattr(attribution, "attribute", fragile)
    monkeypatch.setattr(listeners.inbox, "RETRY", 0.05)
    with running(sqlite_store, signed_config()) as client:
        for i, body in enumerate(["first", "poison", "third"]):
            r = generic_post(client, {"id": f"f-{i}", "to": CANARY, "body": body})
            assert r.status_code == 200
        wait_for(lambda: pending(sqlite_store) == 1)
        listed = {h["summary"]: h for h in list_hits(sqlite_store)["hits"]}
        assert listed["poison"]["attribution"]["strength"] == "pending"
        assert listed["first"]["copies"] == listed["third"]["copies"] == [copy_id]


# --- a listener killed between its answers and their attribution ----------------------------

CONFIG = """\
[listen]
public_url = "https://hooks.example.org"
[providers.generic]
secret_env = "TEST_GENERIC_SECRET"
[smtp]
hostname = "mx.canary.example"
"""

#: `canary` with attribution that never runs: every hit stays pending until the kill.
NEVER_ATTRIBUTES = """\
import threading
import listeners.inbox
listeners.inbox.attribute_pending = lambda *args: threading.Event().wait() or []
from canary.cli import app
from canary.hits import attribution
app()
"""


def serve(tmp: Path, url: str, http: int, smtp: int, *, hold: bool) -> subprocess.Popen[bytes]:
    cfg = tmp / "canary.toml"
    cfg.write_text(CONFIG)
    script = tmp / "never_attributes.py"
    script.write_text(NEVER_ATTRIBUTES)
    env = {
        **os.environ,
        "CANARY_CONFIG": str(cfg),
        "CANARY_DB_URL": url,
        "TEST_GENERIC_SECRET": GENERIC_SECRET,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    cmd = [sys.executable, str(script)] if hold else [sys.executable, "-m", "canary"]
    cmd += ["serve", "--only", "http", "--only", "smtp"]
    cmd += ["--http", f"127.0.0.1:{http}", "--smtp", f"127.0.0.1:{smtp}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        assert proc.poll() is None, "serve exited early"
        try:
            httpx.get(f"http://127.0.0.1:{http}/hooks/whatsapp", timeout=2)
            smtplib.SMTP("127.0.0.1", smtp, timeout=2).quit()
            return True
        except (OSError, httpx.HTTPError):
            return False

    wait_for(listening, timeout=60)
    return proc


def test_hits_answered_before_a_kill_are_attributed_on_the_next_start(
    tmp_path: Path, store_url: str
) -> None:
    store = open_store(store_url)
    try:
        seeded = seed(store)
        copy_a, copy_b = seeded.copies["vendor-a"], seeded.copies["vendor-b"]
        http, smtp = free_port(), free_port()
        proc = serve(tmp_path, store_url, http, smtp, hold=True)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=30) as client:
                for i in range(5):
                    to = seeded.addresses[copy_a]
                    r = generic_post(client, {"id": f"k-{i}", "to": to, "body": "hola"})
                    assert r.status_code == 200
            with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as c:
                to = seeded.addresses[copy_b]
                assert c.sendmail("a@sender.example", [to], message(to)) == {}
        finally:
            proc.send_signal(signal.SIGKILL)  # no shutdown, no drain: a crash
            proc.wait(30)
        # Everything acknowledged is stored, none of it attributed yet.
        assert pending(store) == 6 and alerts(store) == 0
        shown = canary("hits", "--json", cwd=tmp_path, env={"CANARY_DB_URL": store_url})
        assert shown.returncode == 0, shown.stderr
        listed = json.loads(shown.stdout)["hits"]
        assert len(listed) == 6
        assert {h["attribution"]["strength"] for h in listed} == {"pending"}

        proc = serve(tmp_path, store_url, free_port(), free_port(), hold=False)
        try:
            wait_for(lambda: pending(store) == 0, timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        listed = list_hits(store)["hits"]
        assert sorted(h["channel"] for h in listed) == ["smtp"] + ["webhook"] * 5
        for h in listed:
            want = copy_b if h["channel"] == "smtp" else copy_a
            assert h["copies"] == [want] and h["attribution"]["strength"] == "exclusive"
        with store.session() as s:
            assert verify_chain(s) is None
            assert s.scalar(select(func.count()).select_from(HitInbox)) == 0
        assert alerts(store) == 2  # the first hit of each copy's incident
    finally:
        store.dispose()


def _sms(n: int) -> Observation:
    return Observation(
        channel="sms",
        identifier=CANARY,
        sender="+528441234567",
        summary=f"hola {n}",
        provider="twilio",
        provider_message_id=f"SM-batch-{n}",
        evidence=f"POST /hooks/twilio/sms HTTP/1.1\r\n\r\nMessageSid=SM-batch-{n}".encode(),
        evidence_type="message/http",
        text=f"hola palabra{n}x",
    )


def test_a_batch_of_pending_hits_keeps_each_hit_its_own_row_and_text(store: Store) -> None:
    """Many hits in one commit, then one attribution batch: each request's id is its own
    row, each text its own hit's; on SQLite the hits are written in one INSERT and one
    UPDATE (a statement per hit flushed the trigram indexes each time; SQLite's trace
    repeats a statement's text at each trigger it runs, hence the sets)."""
    copy_id = add_copy(store, "Vendor A", phones=[CANARY])
    observations = [_sms(n) for n in range(40)] + [_sms(7)]
    statements: list[str] = []
    with store.session() as s:
        raw = s.connection().connection.driver_connection
        if store.engine.dialect.name == "sqlite":
            raw.set_trace_callback(statements.append)  # type: ignore[union-attr]
        try:
            recorded = receive_in(s, observations)
            inserts = {q for q in statements if q.startswith("INSERT INTO hits ")}
            done = attribute_pending(s, 64)
            updates = {q for q in statements if q.startswith("UPDATE hits ")}
        finally:
            if store.engine.dialect.name == "sqlite":
                raw.set_trace_callback(None)  # type: ignore[union-attr]
    assert [r.duplicate for r in recorded] == [False] * 40 + [True]
    assert recorded[-1].hit_id == recorded[7].hit_id
    assert sorted(r.hit_id for r in done) == sorted(r.hit_id for r in recorded[:40])
    with store.session() as s:
        rows = {h.id: h for h in s.scalars(select(Hit))}
    for n, rec in enumerate(recorded[:40]):
        hit = rows[rec.hit_id]
        assert (hit.provider_message_id, hit.summary) == (f"SM-batch-{n}", f"hola {n}")
        assert f"palabra{n}x" in hit.search_text and hit.classification != "pending"
    assert all(r.copies == [copy_id] for r in done)
    if store.engine.dialect.name == "sqlite":
        assert (len(inserts), len(updates)) == (1, 1)


def test_looking_for_an_earlier_delivery_searches_the_index(sqlite_store: Store) -> None:
    """Both ways of storing a hit ask whether its provider's message id is stored already
    through the (provider, message id, identifier) index, not by reading every hit's key
    (SQLite's plan for what they send)."""
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    statements: list[str] = []
    with sqlite_store.session() as s:
        raw = s.connection().connection.driver_connection
        raw.set_trace_callback(statements.append)  # type: ignore[union-attr]
        try:
            receive_in(s, [_sms(1)])
            record_in(s, [_sms(2)])
        finally:
            raw.set_trace_callback(None)  # type: ignore[union-attr]
        lookups = [
            q for q in statements if q.startswith("SELECT") and "provider_message_id IN" in q
        ]
        assert len(lookups) == 2
        for q in lookups:
            plan = " ".join(str(r) for r in raw.execute(f"EXPLAIN QUERY PLAN {q}"))  # type: ignore[union-attr]
            assert "SEARCH hits" in plan and "SCAN hits" not in plan, plan


def test_pending_hits_on_sqlite_are_stored_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    """The driver-level writes of pending hits on SQLite store the same values, byte for
    byte, as the SQLAlchemy statements they stand for (times, JSON, evidence, inbox)."""
    observations = [_sms(n) for n in range(3)] + [ODD]
    now = datetime(2026, 11, 30, 12, 0, 0, 5, tzinfo=UTC)
    tables = {}
    for name, write in (("core", record._write_pending), ("driver", record._write_pending_sqlite)):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        with store.session() as s:
            assert write_pending(write, s, observations, now) == [1, 2, 3, 4]
        store.dispose()
        with closing(sqlite3.connect(tmp_path / f"{name}.db")) as raw:
            tables[name] = {
                t: raw.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("blobs", "hits", "hit_inbox")
            }
    assert tables["driver"] == tables["core"]
    assert [len(rows) for rows in tables["core"].values()] == [4, 4, 4]
