"""Alerts end to end: hits in, real receivers out (HTTP, SMTP, UDP/TCP syslog, JSON lines)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import func, select, text

from canary.alerts import dispatch_due, list_alerts, parse_channels, retry, run_digests, send_test
from canary.config import Config
from canary.errors import ConfigError
from canary.hits.record import Observation, record, record_in
from canary.store.engine import Store, open_store
from canary.store.models import Alert, Hit, Incident
from tests.alerts_support import (
    add_copy,
    http_receiver,
    smtp_receiver,
    udp_receiver,
    wait_for,
)

CANARY = "ana.perez@avisos.example.org"
HOSTILE = "<img src=x onerror=alert(1)> <!channel> & *bold* [x](http://evil.example)"


def make_config(tmp_path: Path, channels: list[dict[str, Any]], **alerts: Any) -> Config:
    cfg = Config()
    cfg.path = tmp_path / "canary.toml"
    cfg.alerts.channels = channels
    for k, v in alerts.items():
        setattr(cfg.alerts, k, v)
    return cfg


class Clock:
    """An injectable clock for the outbox and digest functions."""

    def __init__(self) -> None:
        self.t = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t += timedelta(**kw)
        return self.t


def count(store: Store, model: Any, *where: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_first_hit_reaches_every_channel_as_escaped_text(
    sqlite_store: Store, tmp_path: Path, port: int
) -> None:
    store = sqlite_store
    with http_receiver() as web, smtp_receiver(port) as mail, udp_receiver() as udp:
        cfg = make_config(
            tmp_path,
            [
                {"type": "webhook", "url": web.url + "/siem", "secret": "s3cret"},
                {"type": "slack", "url": web.url + "/slack"},
                {"type": "teams", "url": web.url + "/teams"},
                {
                    "type": "email",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "starttls": False,
                    "from": "canary@org.example",
                    "to": ["soc@org.example"],
                },
                {"type": "syslog", "address": f"udp://127.0.0.1:{udp.getsockname()[1]}"},
                {"type": "jsonl", "path": "out/alerts.jsonl"},
            ],
        )
        cfg.listen.admin = "10.0.0.5:8026"
        copy_id = add_copy(store, "Vendor <b>Acme</b>", CANARY)
        [rec] = record(
            store,
            [
                Observation(
                    "smtp", CANARY, sender="Spam\r\nBcc: x@y <spam@bad.example>", summary=HOSTILE
                )
            ],
        )
        report = dispatch_due(store, cfg)
        assert len(report.sent) == 6 and not report.retrying

        by_path = {r.path: r for r in web.requests}
        hook = by_path["/siem"]
        ts = hook.headers["X-Canary-Timestamp"]
        expected = hmac.new(b"s3cret", ts.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
        assert hook.headers["X-Canary-Signature"] == f"sha256={expected}"
        doc = hook.json()
        assert doc["kind"] == "first" and doc["payload"]["copy"]["id"] == copy_id
        assert doc["payload"]["copy"]["recipient"] == "Vendor <b>Acme</b>"
        assert doc["link"] == f"http://10.0.0.5:8026/hits/{rec.hit_id}"
        assert "LEAK" in doc["subject"] and "noise" in doc["payload"]

        slack = json.dumps(by_path["/slack"].json())
        assert "<!channel>" not in slack and "<img" not in slack and "<b>" not in slack
        assert "&lt;!channel&gt;" in slack and "&lt;img src=x onerror=alert(1)&gt;" in slack

        teams = by_path["/teams"].json()
        card = teams["attachments"][0]["content"]
        values = json.dumps(card)
        assert card["type"] == "AdaptiveCard" and "<img" not in values and "<b>" not in values
        assert "&lt;img src=x onerror=alert\\\\(1\\\\)&gt;" in values

        [(mail_from, rcpts, raw)] = mail.messages
        assert mail_from == "canary@org.example" and rcpts == ["soc@org.example"]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert "Bcc" not in msg and "LEAK" in msg["Subject"] and copy_id in msg["Subject"]
        plain_part = msg.get_body(("plain",)).get_content()
        html_part = msg.get_body(("html",)).get_content()
        assert "<img src=x onerror=alert(1)>" in plain_part  # plain text shows it as it was
        assert "Vendor <b>Acme</b>" in plain_part
        assert "<img" not in html_part and "&lt;img src=x onerror=alert(1)&gt;" in html_part
        assert "<b>Acme" not in html_part

        datagram = udp.recv(65535)
        assert datagram.startswith(b"<129>1 ")  # local0.alert, RFC 5424 version 1
        assert f'copy="{copy_id}"'.encode() in datagram and b"\xef\xbb\xbf[canary] LEAK" in datagram
        assert b"\r" not in datagram and b"\n" not in datagram

        [line] = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
        assert json.loads(line)["payload"]["hit"]["id"] == rec.hit_id

        again = dispatch_due(store, cfg)
        assert again.sent == [] and len(web.requests) == 3 and len(mail.messages) == 1


def test_alert_is_committed_with_its_hit_or_not_at_all(sqlite_store: Store) -> None:
    store = sqlite_store
    add_copy(store, "Vendor", CANARY)
    with pytest.raises(RuntimeError), store.session() as s:
        record_in(s, [Observation("smtp", CANARY, sender="a@b.example")])
        raise RuntimeError("crash before commit")
    assert count(store, Hit) == 0 and count(store, Alert) == 0 and count(store, Incident) == 0
    record(store, [Observation("smtp", CANARY, sender="a@b.example")])
    assert count(store, Hit) == 1 and count(store, Alert) == 1


def test_channel_down_for_an_hour_loses_nothing_and_sends_nothing_twice(
    store: Store, tmp_path: Path
) -> None:
    with http_receiver() as web:
        web.status = 503
        cfg = make_config(tmp_path, [{"type": "webhook", "url": web.url + "/h"}])
        for i in range(3):
            addr = f"canary{i}@avisos.example.org"
            add_copy(store, f"Vendor {i}", addr)
            record(store, [Observation("smtp", addr, sender="x@spam.example")])
        clock = Clock()
        start = clock.t
        while clock.t < start + timedelta(hours=1):
            r = dispatch_due(store, cfg, now=clock)
            assert r.sent == [] and r.failed == []
            clock.advance(minutes=1)
        with store.session() as s:
            rows = list(s.scalars(select(Alert).where(Alert.channel == "webhook#0")))
        assert len(rows) == 3 and all(a.state == "pending" for a in rows)
        # Exponential backoff: a handful of attempts in an hour, not sixty; the channel
        # is probed with its oldest alert while the others wait their turn.
        assert 4 <= sum(a.attempts for a in rows) <= 9, [a.attempts for a in rows]
        assert all("HTTP 503" in a.last_error for a in rows)

        web.status = 200
        clock.advance(hours=1)
        r = dispatch_due(store, cfg, now=clock)
        assert len(r.sent) == 3
        clock.advance(hours=2)
        assert dispatch_due(store, cfg, now=clock).sent == []
        ids = [req.json()["alert_id"] for req in web.requests]
        assert sorted(ids) == sorted(a.id for a in rows)


def test_failed_alerts_are_listed_and_can_be_retried(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    with http_receiver() as web:
        web.status = 500
        cfg = make_config(tmp_path, [{"type": "webhook", "url": web.url}])
        add_copy(store, "Vendor", CANARY)
        record(store, [Observation("smtp", CANARY)])
        clock = Clock()
        dispatch_due(store, cfg, now=clock)
        clock.advance(hours=49)
        r = dispatch_due(store, cfg, now=clock)
        [failed] = list_alerts(store, failed_only=True)
        assert r.failed == [failed.id] and "HTTP 500" in failed.last_error
        assert failed.channel == "webhook#0" and "LEAK" in failed.subject

        web.status = 200
        assert retry(store) == 1
        assert list_alerts(store, failed_only=True) == []
        r = dispatch_due(store, cfg, now=clock)
        assert r.sent == [failed.id] and len(web.requests) == 1


def test_pending_alerts_survive_a_restart(store_url: str, tmp_path: Path) -> None:
    first = open_store(store_url)
    try:
        add_copy(first, "Vendor", CANARY)
        record(first, [Observation("smtp", CANARY)])
    finally:
        first.dispose()
    with http_receiver() as web:
        cfg = make_config(tmp_path, [{"type": "webhook", "url": web.url}])
        second = open_store(store_url)
        try:
            assert len(dispatch_due(second, cfg).sent) == 1
        finally:
            second.dispose()
        assert web.requests[0].json()["kind"] == "first"


def test_alerts_wait_for_a_channel_to_be_configured(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    add_copy(store, "Vendor", CANARY)
    record(store, [Observation("smtp", CANARY)])
    assert dispatch_due(store, make_config(tmp_path, [])).sent == []
    with http_receiver() as web:
        cfg = make_config(tmp_path, [{"type": "webhook", "url": web.url}])
        assert len(dispatch_due(store, cfg).sent) == 1


def test_burst_of_1000_hits_is_one_alert_and_digests_counting_all(
    store: Store, tmp_path: Path
) -> None:
    cfg = make_config(tmp_path, [{"type": "jsonl", "path": "siem.jsonl"}], digest_minutes=15)
    copy_id = add_copy(store, "Vendor", CANARY)
    clock = Clock()
    for batch in range(100):
        obs = [
            Observation(
                "smtp", CANARY, sender=f"bot{batch}@spam.example", summary=f"spam {batch}.{i}"
            )
            for i in range(10)
        ]
        record(store, obs)
        clock.advance(minutes=1)
        run_digests(store, cfg, now=clock)
        dispatch_due(store, cfg, now=clock)
    clock.advance(minutes=16)
    run_digests(store, cfg, now=clock)
    dispatch_due(store, cfg, now=clock)
    # Nothing left to report, however often the digest job runs.
    clock.advance(hours=1)
    assert run_digests(store, cfg, now=clock) == []

    lines = [json.loads(x) for x in (tmp_path / "siem.jsonl").read_text().splitlines()]
    kinds = [x["kind"] for x in lines]
    assert kinds[0] == "first" and kinds.count("first") == 1
    digests = [x["payload"] for x in lines if x["kind"] == "digest"]
    assert 1 <= len(digests) <= 8
    assert 1 + sum(d["counts"]["new"] for d in digests) == 1000
    assert digests[-1]["counts"]["total"] == 1000
    assert all(d["copy"]["id"] == copy_id for d in digests)
    assert sum(sum(d["counts"]["by_channel"].values()) for d in digests) == 999
    with store.session() as s:
        inc = s.scalars(select(Incident)).one()
    assert inc.hit_count == inc.alerted_hit_count == 1000


def test_noise_is_digest_only_and_unattributed_is_reported_at_once(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    cfg = make_config(tmp_path, [{"type": "jsonl", "path": "a.jsonl"}], digest_minutes=15)
    add_copy(store, "nobody", "control.one@avisos.example.org", kind="control")
    [ctl] = record(store, [Observation("smtp", "control.one@avisos.example.org")])
    [una] = record(store, [Observation("smtp-probe", "random123@avisos.example.org")])
    assert (ctl.classification, una.classification) == ("control", "unattributed")
    clock = Clock()
    dispatch_due(store, cfg, now=clock)
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["unattributed"]
    assert "Unattributed" in lines[0]["subject"]

    clock.advance(minutes=16)
    run_digests(store, cfg, now=clock)
    dispatch_due(store, cfg, now=clock)
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    [noise] = [x for x in lines if x["kind"] == "digest"]
    assert noise["payload"]["classification"] == "control"
    assert noise["subject"].startswith("[canary] Digest") and "NOISE" in noise["text"]
    assert noise["payload"]["noise"]["noise"] == 1
    assert "1 of 1 control canaries contacted" in noise["text"]
    assert "1 of 1 control canaries contacted" in lines[0]["text"]  # the probe's alert too


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_two_processes_opening_one_incident_both_keep_their_hit(store_url: str) -> None:
    a, b = open_store(store_url), open_store(store_url)
    try:
        add_copy(a, "Vendor", CANARY)
        errors: list[BaseException] = []

        def second() -> None:
            try:
                record(b, [Observation("smtp", CANARY, sender="second@x.example")])
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=second)
        with a.session() as s:
            record_in(s, [Observation("smtp", CANARY, sender="first@x.example")])
            t.start()
            # Commit only once the other transaction is blocked on our new incident row.
            with a.engine.connect() as c:
                wait_for(
                    lambda: c.execute(
                        text("select count(*) from pg_locks where not granted")
                    ).scalar()
                )
        t.join(60)
        assert not errors, errors
        assert count(a, Hit) == 2 and count(a, Alert) == 1
        with a.session() as s:
            inc = s.scalars(select(Incident)).one()
            assert inc.hit_count == 2 and inc.alerted_hit_count == 1
    finally:
        a.dispose()
        b.dispose()


def test_syslog_over_tcp_uses_octet_counting(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(20)
        cfg = make_config(
            tmp_path, [{"type": "syslog", "address": f"tcp://127.0.0.1:{srv.getsockname()[1]}"}]
        )
        got: list[bytes] = []

        def serve() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(20)
                while chunk := conn.recv(65536):
                    got.append(chunk)

        t = threading.Thread(target=serve)
        t.start()
        [res] = send_test(cfg)
        t.join(30)
    assert res.ok, res.detail
    data = b"".join(got)
    length, _, frame = data.partition(b" ")
    assert int(length) == len(frame) and frame.startswith(b"<134>1 ")
    assert b"Test alert" in frame


def test_alerts_test_reports_each_channel(tmp_path: Path) -> None:
    with http_receiver() as web:
        cfg = make_config(
            tmp_path,
            [
                {"type": "slack", "url": web.url + "/ok"},
                {"type": "webhook", "url": "http://127.0.0.1:9/refused", "name": "dead"},
            ],
        )
        results = {r.channel: r for r in send_test(cfg)}
        assert results["slack#0"].ok and results["slack#0"].detail == "HTTP 200"
        assert not results["dead"].ok and "Connect" in results["dead"].detail
        assert "Test alert" in web.requests[0].json()["text"]


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ({"type": "webhook", "url": "http://x", "secrett": "s"}, "alerts.channels[0].secrett"),
        ({"type": "pager"}, "type must be one of"),
        ({"type": "slack"}, "needs 'url'"),
        ({"type": "teams", "url": "file:///etc/passwd"}, "url must start with https://"),
        ({"type": "syslog", "address": "udp:/nohost"}, "udp://HOST:PORT"),
        ({"type": "email", "smtp_host": "h", "to": "a@b", "starttls": True, "ssl": False,
          "tls": True}, "'alerts.channels[0].tls'"),
    ],
)  # fmt: skip
def test_channel_config_errors_name_the_problem(
    tmp_path: Path, channel: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_channels(make_config(tmp_path, [channel]))


def test_channel_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "from-env")
    with http_receiver() as web:
        cfg = make_config(
            tmp_path, [{"type": "webhook", "url": web.url, "secret_env": "HOOK_SECRET"}]
        )
        assert send_test(cfg)[0].ok
        req = web.requests[0]
        ts = req.headers["X-Canary-Timestamp"]
        mac = hmac.new(b"from-env", ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
        assert req.headers["X-Canary-Signature"] == "sha256=" + mac


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_email_through_a_relay_with_starttls_and_auth(
    sqlite_store: Store, tmp_path: Path, port: int
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        logins.append((auth_data.login, auth_data.password, session.ssl is not None))
        return AuthResult(success=auth_data.password == b"relay-pass")

    store = sqlite_store
    channel = {
        "type": "email", "smtp_host": "127.0.0.1", "smtp_port": port, "starttls": True,
        "username": "canary", "password_env": "RELAY_PASS", "ca_file": "cert.pem",
        "from": "canary@org.example", "to": "soc@org.example",
    }  # fmt: skip
    cfg = make_config(tmp_path, [channel])
    add_copy(store, "Vendor", CANARY)
    record(store, [Observation("smtp", CANARY, summary="hello")])
    os.environ["RELAY_PASS"] = "relay-pass"
    try:
        r = dispatch_due(store, cfg)  # relay not up yet: kept for retry
        assert r.retrying and "ConnectionRefused" in list_alerts(store)[0].last_error
        with smtp_receiver(
            port, tls_context=tls, require_starttls=True, auth_required=True,
            authenticator=authenticator,
        ) as mail:  # fmt: skip
            r = dispatch_due(store, cfg, now=lambda: datetime.now(UTC) + timedelta(minutes=1))
            assert len(r.sent) == 1 and len(mail.messages) == 1
    finally:
        del os.environ["RELAY_PASS"]
    assert logins[-1] == (b"canary", b"relay-pass", True)


def test_two_dispatchers_never_send_one_alert_twice(store_url: str, tmp_path: Path) -> None:
    stores = [open_store(store_url), open_store(store_url)]
    try:
        for i in range(20):
            addr = f"c{i}@avisos.example.org"
            add_copy(stores[0], f"Vendor {i}", addr)
            record(stores[0], [Observation("smtp", addr)])
        with http_receiver() as web:
            cfg = make_config(
                tmp_path,
                [{"type": "webhook", "url": web.url + "/a"}, {"type": "slack", "url": web.url}],
            )
            barrier = threading.Barrier(2)
            reports: list[Any] = []

            def run(st: Store) -> None:
                barrier.wait(30)
                reports.append(dispatch_due(st, cfg))

            threads = [threading.Thread(target=run, args=(st,)) for st in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            dispatch_due(stores[0], cfg)  # whatever a loser of a race left behind
            ids = [r.json()["alert_id"] for r in web.requests if r.path == "/a"]
        assert len(ids) == len(set(ids)) == 20
        assert len(web.requests) == 40
        assert sum(len(r.sent) for r in reports) <= 40
    finally:
        for st in stores:
            st.dispose()


@pytest.mark.parametrize(
    ("raw", "slack", "teams"),
    [
        ("<!channel> hi", "&lt;!channel&gt; hi", "&lt;!channel&gt; hi"),
        ("<https://evil.example|click>", "&lt;https[:]//evil[.]example|click&gt;",
         "&lt;https://evil.example|click&gt;"),
        ("a & b", "a &amp; b", "a &amp; b"),
        ("**b** [x](http://e) {{DATE(1)}}", "**b** [x](http[:]//e) {{DATE(1)}}",
         r"\*\*b\*\* \[x\]\(http://e\) \{\{DATE\(1\)\}\}"),
        ("- item", "- item", r"\- item"),
        ("12. item on 2026-11-23", "12. item on 2026-11-23", r"12\. item on 2026-11-23"),
    ],
)  # fmt: skip
def test_escaping_per_medium(raw: str, slack: str, teams: str) -> None:
    from canary.alerts.format import escape_html, escape_slack, escape_teams, plain

    assert escape_slack(raw) == slack
    assert escape_teams(raw) == teams
    assert "<" not in escape_html(raw) and ">" not in escape_html(raw)
    assert plain("a\r\nb\x1b[31m\u202eevil\u0000") == "a b[31mevil"


def test_attacker_urls_never_auto_link_in_slack() -> None:
    from canary.alerts.format import Rendered, slack_message

    r = Rendered(
        subject="[canary] hit from www.evil.example",
        facts=[
            ("Sender", "phish@evil.example"),
            ("Message", "click https://evil.example/login?x=1 or evil.example or mailto:a@b.co"),
            ("Observed at", "2026-03-12T12:00:00.123+00:00"),
        ],
        link="http://127.0.0.1:8026/hits/7",
    )
    msg = slack_message(r)
    section = msg["blocks"][1]["text"]["text"]
    for shown in (msg["text"], msg["blocks"][0]["text"]["text"], section):
        assert "evil.example" not in shown and "://evil" not in shown
        assert "b.co" not in shown and "mailto:" not in shown
    assert "https[:]//evil[.]example/login" in section and "phish@evil[.]example" in section
    assert "2026-03-12T12:00:00.123+00:00" in section  # times stay readable
    assert "<http://127.0.0.1:8026/hits/7|Open the hit>" in section  # our own link works


def test_two_digest_runs_at_once_count_each_hit_once(store_url: str, tmp_path: Path) -> None:
    stores = [open_store(store_url), open_store(store_url)]
    try:
        cfg = make_config(tmp_path, [], digest_minutes=15)
        add_copy(stores[0], "Vendor", CANARY)
        for i in range(30):
            record(stores[0], [Observation("smtp", CANARY, sender=f"s{i}@spam.example")])
        later = datetime.now(UTC) + timedelta(minutes=20)
        barrier = threading.Barrier(2)
        done: list[list[int]] = []

        def run(st: Store) -> None:
            barrier.wait(30)
            done.append(run_digests(st, cfg, now=lambda: later))

        threads = [threading.Thread(target=run, args=(st,)) for st in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(done) == 2 and sum(len(d) for d in done) == 1
        with stores[0].session() as s:
            digests = list(s.scalars(select(Alert).where(Alert.kind == "digest")))
        assert [d.payload["counts"]["new"] for d in digests] == [29]
    finally:
        for st in stores:
            st.dispose()
