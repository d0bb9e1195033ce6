"""Mailbox canaries against a real IMAP server (Dovecot, started by the tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from canary.config import Config
from canary.errors import InputError
from canary.ops import mailboxes as reader
from canary.ops.doctor import Report, check_mailboxes
from canary.store import mailboxes as boxes
from canary.store.engine import Store
from canary.store.models import Alert, Hit, MailboxFolder
from tests.cli_support import canary
from tests.imap_support import Dovecot, Proxy, dovecot_server
from tests.registry_support import Person, build

ACCOUNT = "anagarcia87@gmail.com"
VARIANT = "a.na.garcia87@gmail.com"
PASSWORD = "app-pass-7f3k"


def message(
    to: str, subject: str, *, cc: str = "", sender: str = "promo@campaign.example"
) -> bytes:
    cc_line = f"Cc: {cc}\r\n" if cc else ""
    return (
        f"From: Campaign <{sender}>\r\nTo: {to}\r\n{cc_line}Subject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@campaign.example>\r\n"
        "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nVote for us.\r\n"
    ).encode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Dovecot]:
    srv = dovecot_server(tmp_path / "dovecot", {"ana": PASSWORD})
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def mailbox(store: Store, server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> boxes.MailboxInfo:
    monkeypatch.setenv("ANA_IMAP_PASSWORD", PASSWORD)
    boxes.add_mailbox(store, ACCOUNT, f"imap://127.0.0.1:{server.port}", "ana", "ANA_IMAP_PASSWORD")
    reg = build(store, {"Vendor SA": [Person("Ana Garcia Ruiz", email=VARIANT)]})
    with store.session() as s:
        boxes.reserve_variant(s, ACCOUNT, VARIANT)
    [info] = boxes.list_mailboxes(store)
    info.copy_id = reg.copies["Vendor SA"]  # type: ignore[attr-defined]
    return info


def hits(store: Store) -> list[Hit]:
    with store.session() as s:
        return list(s.scalars(select(Hit).options(selectinload(Hit.candidates)).order_by(Hit.id)))


def test_dotted_variant_in_inbox_and_spam_are_hits(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo
) -> None:
    server.deliver("ana", message(VARIANT, "inbox one"))
    server.deliver("ana", message(f"Ana <{VARIANT.upper()}>", "spam one"), folder="Spam")
    server.deliver("ana", message(ACCOUNT, "to the account itself"))
    [result] = reader.poll_all(store, Config())
    assert set(result.folders) == {"INBOX", "Spam"} and result.messages == 3
    got = hits(store)
    by_subject = {h.summary: h for h in got}
    for subject, folder in (("inbox one", "INBOX"), ("spam one", "Spam")):
        h = by_subject[subject]
        assert (h.channel, h.identifier, h.classification) == ("imap", VARIANT, "evidence")
        assert h.details["folder"] == folder
        assert [c.copy_id for c in h.candidates] == [mailbox.copy_id]  # type: ignore[attr-defined]
        assert h.evidence_sha256
    stray = by_subject["to the account itself"]
    assert (stray.identifier, stray.classification) == (ACCOUNT, "unattributed")
    # marked seen, never deleted
    assert all(b"\\Seen" in f for f in server.flags("ana")) and len(server.flags("ana")) == 2
    assert len(server.flags("ana", "Spam")) == 1
    # a second round finds nothing new
    assert reader.poll_all(store, Config())[0].messages == 0
    assert len(hits(store)) == 3
    [info] = boxes.list_mailboxes(store)
    assert info.state == "ok"


def test_crash_between_fetch_and_commit_loses_and_doubles_nothing(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        server.deliver("ana", message(VARIANT, f"m{i}"))
    real = reader.record_in
    calls = {"n": 0}

    def crashing(session, observations):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("process killed")
        return real(session, observations)

    monkeypatch.setattr(reader, "record_in", crashing)
    with pytest.raises(RuntimeError, match="process killed"):
        reader.poll_mailbox(store, mailbox, PASSWORD, Config())
    assert sorted(h.summary for h in hits(store)) == ["m0", "m1"]
    monkeypatch.setattr(reader, "record_in", real)
    # the flag was never set on the message whose hit was not committed; the restart reads it
    reader.poll_mailbox(store, mailbox, PASSWORD, Config())
    assert sorted(h.summary for h in hits(store)) == ["m0", "m1", "m2", "m3"]


def test_lost_progress_replays_without_doubling(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo
) -> None:
    """Committed hits but the progress row lost (or UIDVALIDITY changed): no second hit."""
    server.deliver("ana", message(VARIANT, "once"))
    reader.poll_mailbox(store, mailbox, PASSWORD, Config())
    with store.session() as s:
        for row in s.scalars(select(MailboxFolder)):
            row.uidvalidity = 1
    reader.poll_mailbox(store, mailbox, PASSWORD, Config())
    assert [h.summary for h in hits(store)] == ["once"]


def test_dropped_connection_then_recovery(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Proxy(server.port)
    try:
        boxes.add_mailbox(
            store, ACCOUNT, f"imap://127.0.0.1:{proxy.port}", "ana", "ANA_IMAP_PASSWORD"
        )
        for i in range(3):
            server.deliver("ana", message(VARIANT, f"d{i}"))
        real = reader.record_in

        def drop_after_first(session, observations):  # type: ignore[no-untyped-def]
            out = real(session, observations)
            proxy.drop()  # the connection goes away mid-poll
            return out

        monkeypatch.setattr(reader, "record_in", drop_after_first)
        assert reader.poll_all(store, Config()) == []
        [info] = boxes.list_mailboxes(store)
        assert info.state == "failing" and "connection lost" in info.last_error
        assert [h.summary for h in hits(store)] == ["d0"]
        monkeypatch.setattr(reader, "record_in", real)
        [result] = reader.poll_all(store, Config())
        assert sorted(h.summary for h in hits(store)) == ["d0", "d1", "d2"]
        assert result.messages == 2
        assert boxes.list_mailboxes(store)[0].state == "ok"
    finally:
        proxy.close()


def test_server_restart_between_polls(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo
) -> None:
    server.deliver("ana", message(VARIANT, "before"))
    reader.poll_all(store, Config())
    server.stop()
    assert reader.poll_all(store, Config()) == []
    assert boxes.list_mailboxes(store)[0].state == "failing"
    server.start()
    server.deliver("ana", message(VARIANT, "after"))
    reader.poll_all(store, Config())
    assert [h.summary for h in hits(store)] == ["before", "after"]


def test_wrong_password_is_reported_never_printed(
    store: Store, server: Dovecot, mailbox: boxes.MailboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANA_IMAP_PASSWORD", "wrong-secret-xyz")
    config = Config()
    config.mailbox.alert_after_minutes = 0
    assert reader.poll_all(store, config) == []
    [info] = boxes.list_mailboxes(store)
    assert info.state == "failing" and "login as ana refused" in info.last_error
    assert "wrong-secret-xyz" not in info.last_error
    with store.session() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert alert.kind == "system" and ACCOUNT in alert.payload["title"]
        assert "wrong-secret-xyz" not in json.dumps(alert.payload)
    report = Report()
    check_mailboxes(report, store, timeout=30)
    [finding] = report.findings
    assert finding.level == "error" and "refused" in finding.message
    assert "wrong-secret-xyz" not in finding.message + finding.fix
    # a second failing round does not alert again
    reader.poll_all(store, config)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_doctor_logs_in(store: Store, server: Dovecot, mailbox: boxes.MailboxInfo) -> None:
    report = Report()
    check_mailboxes(report, store, timeout=5)
    [finding] = report.findings
    assert finding.level == "ok" and "Spam" in finding.message


def test_register_rules(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only for a server on this machine"):
        boxes.add_mailbox(store, ACCOUNT, "imap://imap.gmail.com", "ana", "PW")
    with pytest.raises(InputError, match="environment variable name"):
        boxes.add_mailbox(store, ACCOUNT, "imaps://imap.gmail.com", "ana", "hunter2!")
    with pytest.raises(InputError, match="plus-addresses"):
        boxes.add_mailbox(store, "ana+tag@gmail.com", "imaps://imap.gmail.com", "ana", "PW")
    with pytest.raises(InputError, match="--password-env"):
        boxes.add_mailbox(store, ACCOUNT, "imaps://ana:pw@imap.gmail.com", "ana", "PW")
    addr, new = boxes.add_mailbox(
        store, "Ana.Out@outlook.com", "imaps://outlook.office365.com", "a", "PW"
    )
    assert (addr, new) == ("ana.out@outlook.com", True)
    assert boxes.add_alias(store, addr, "ana.ventas@outlook.com") == (
        "ana.ventas@outlook.com",
        True,
    )
    with pytest.raises(InputError, match="no mailbox"):
        boxes.add_alias(store, "nobody@outlook.com", "x.y@outlook.com")
    assert boxes.remove_mailbox(store, addr) is True
    [info] = boxes.list_mailboxes(store)
    assert info.retired and info.aliases == ["ana.ventas@outlook.com"]
    assert info.imap == "imaps://outlook.office365.com:993"


def test_cli_mailbox_commands(tmp_path: Path) -> None:
    env = {"CANARY_CONFIG": str(tmp_path / "canary.toml"), "GMAIL_PW": "s3cr3t-never-shown"}
    assert canary("init", cwd=tmp_path, env=env).returncode == 0
    r = canary(
        "mailbox",
        "add",
        ACCOUNT,
        "--imap",
        "imaps://imap.gmail.com",
        "--user",
        ACCOUNT,
        "--password-env",
        "GMAIL_PW",
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    r = canary("mailbox", "alias", "add", ACCOUNT, "ana.g87@gmail.com", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    r = canary("mailbox", "list", "--json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    [m] = json.loads(r.stdout)["mailboxes"]
    assert m == {
        "address": ACCOUNT,
        "imap": "imaps://imap.gmail.com:993",
        "user": ACCOUNT,
        "aliases": ["ana.g87@gmail.com"],
        "variants_used": 0,
        "state": "new",
        "retired": False,
    }
    assert "s3cr3t" not in r.stdout + r.stderr
    r = canary(
        "mailbox",
        "add",
        ACCOUNT,
        "--imap",
        "imap://imap.gmail.com",
        "--user",
        "a",
        "--password-env",
        "GMAIL_PW",
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 1 and "loopback" not in r.stdout
    assert r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr
    r = canary("mailbox", "remove", ACCOUNT, cwd=tmp_path, env=env)
    assert r.returncode == 0
    r = canary("mailbox", "list", "--json", cwd=tmp_path, env=env)
    assert json.loads(r.stdout)["mailboxes"][0]["retired"] is True


def _issue_with_mailbox(store: Store, tmp_path: Path, imap: str) -> list:  # type: ignore[type-arg]
    from canary.issue.plant import IssueRequest, issue_copies
    from canary.store import register as registry
    from tests.test_plant import make_csv

    registry.add_domain(store, "correo-avisos.mx")
    for i in range(6):
        registry.add_phone(store, f"+52 844 555 {1000 + i:04d}", "twilio")
    boxes.add_mailbox(store, ACCOUNT, imap, "ana", "ANA_IMAP_PASSWORD")
    src = tmp_path / "registro.csv"
    make_csv(src, 300)  # every real address is at gmail.com
    return issue_copies(
        store,
        Config(),
        IssueRequest(str(src), ["A", "B", "C"], canaries=5, out_dir=tmp_path / "o", seed=4),
    )


def test_planting_gives_gmail_canaries_dot_variants_never_reused(
    store: Store, tmp_path: Path
) -> None:
    from canary.investigate.identify import identify
    from canary.store.models import Canary, Identifier

    copies = _issue_with_mailbox(store, tmp_path, "imap://127.0.0.1:1")
    seen: set[str] = set()
    with store.session() as s:
        for c in copies:
            emails = s.scalars(
                select(Identifier.value)
                .join(Canary)
                .where(Canary.copy_id == c.id, Identifier.kind == "email")
            ).all()
            at_mailbox = [e for e in emails if e.endswith("@gmail.com")]
            assert at_mailbox, "a table all at gmail.com gets canaries at the Gmail mailbox"
            for e in at_mailbox:
                local = e.partition("@")[0]
                assert local.replace(".", "") == "anagarcia87" and "." in local and "+" not in e
                assert e not in seen
                seen.add(e)
    [info] = boxes.list_mailboxes(store)
    assert info.variants_used == len(seen)
    # the leaker keeps only the rows at the big providers: the copy is still named
    target = copies[1]
    lines = Path(target.path).read_bytes().split(b"\r\n")
    kept = [lines[0]] + [ln for ln in lines[1:] if b"@gmail.com" in ln or b"@hotmail" in ln]
    dump = tmp_path / "filtered.csv"
    dump.write_bytes(b"\r\n".join(kept))
    result = identify(store, dump)
    assert result["copies"][0]["id"] == target.id
    assert result["copies"][0]["strength"] == "exclusive"
    assert all(
        i["value"].endswith("@gmail.com")
        for i in result["copies"][0]["identifiers"]
        if i["kind"] == "email"
    )


def test_mail_to_a_planted_variant_names_its_copy(
    store: Store, server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canary.store.models import Canary, Identifier

    monkeypatch.setenv("ANA_IMAP_PASSWORD", PASSWORD)
    copies = _issue_with_mailbox(store, tmp_path, f"imap://127.0.0.1:{server.port}")
    with store.session() as s:
        variant = s.scalars(
            select(Identifier.value)
            .join(Canary)
            .where(Canary.copy_id == copies[2].id, Identifier.value.like("%@gmail.com"))
        ).first()
    assert variant
    server.deliver("ana", message(variant, "bulk campaign"), folder="Spam")
    reader.poll_all(store, Config())
    [h] = hits(store)
    assert (h.channel, h.identifier) == ("imap", variant)
    assert [c.copy_id for c in h.candidates] == [copies[2].id]


def test_imaps_with_a_private_ca(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS with certificate checks: refused without the CA, read with --ca."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificates")
    from tests.imap_support import make_ca_and_cert

    certs = tmp_path / "certs"
    ca, cert, key = make_ca_and_cert(certs)
    srv = dovecot_server(tmp_path / "dovecot", {"ana": PASSWORD}, tls=(cert, key))
    try:
        monkeypatch.setenv("ANA_IMAP_PASSWORD", PASSWORD)
        url = f"imaps://127.0.0.1:{srv.port}"
        boxes.add_mailbox(store, ACCOUNT, url, "ana", "ANA_IMAP_PASSWORD")
        build(store, {"Vendor SA": [Person("Ana Garcia Ruiz", email=VARIANT)]})
        with store.session() as s:
            boxes.reserve_variant(s, ACCOUNT, VARIANT)
        assert reader.poll_all(store, Config()) == []
        [info] = boxes.list_mailboxes(store)
        assert info.state == "failing" and "TLS" in info.last_error
        boxes.add_mailbox(store, ACCOUNT, url, "ana", "ANA_IMAP_PASSWORD", str(ca))
        [result] = reader.poll_all(store, Config())
        assert result.folders == ["INBOX", "Spam"]
        assert boxes.list_mailboxes(store)[0].state == "ok"
    finally:
        srv.close()
