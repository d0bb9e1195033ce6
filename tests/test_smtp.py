"""The SMTP listener end to end: real sockets, smtplib and raw clients, a real store."""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from smtp_support import (
    DOMAIN,
    IDN_DOMAIN,
    RawClient,
    Running,
    Seeded,
    add_canary,
    hit_count,
    hits,
    make_config,
    seed,
    wait_for,
)

from canary.store.engine import Store
from canary.store.models import Blob


@pytest.fixture
def seeded(sqlite_store: Store) -> Seeded:
    return seed(sqlite_store)


@pytest.fixture
def server(sqlite_store: Store, seeded: Seeded) -> Iterator[Running]:
    r = Running(sqlite_store, make_config(max_message_bytes=200_000))
    try:
        yield r
    finally:
        r.close()


def message(to: str, subject: str = "Vote for us", body: str = "Hello there") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Campaign <news@campaign.example>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@campaign.example>"
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)


def test_mail_to_a_canary_is_a_hit_traced_to_its_copy(server: Running, seeded: Seeded) -> None:
    copy_id = seeded.copies["vendor-b"]
    to = seeded.addresses[copy_id]
    raw = message(to, body="Dear Lucia Quintero1, see https://vote.example/x?id=7")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        code, _ = c.ehlo("sender.example")
        assert code == 250
        refused = c.sendmail("bounce@campaign.example", [to.upper()], raw)
        assert refused == {}
    [hit] = hits(server.store)
    assert hit.channel == "smtp"
    assert hit.identifier == to
    assert hit.classification == "evidence"
    assert [c.copy_id for c in hit.candidates] == [copy_id]
    assert hit.sender == "news@campaign.example"
    assert hit.summary == "Vote for us"
    env = hit.details["envelope"]
    assert env["mail_from"] == "bounce@campaign.example"
    assert env["helo"] == "sender.example"
    assert env["peer"].startswith("127.0.0.1:")
    assert hit.details["message"]["urls"] == ["https://vote.example/x?id=7"]
    assert hit.details["message"]["message_id"] == "<m1@campaign.example>"
    with server.store.session() as s:
        blob = s.get(Blob, hit.evidence_sha256)
        assert blob is not None
        assert blob.content_type == "message/rfc822"
        assert blob.data == raw
        assert blob.sha256 == hashlib.sha256(raw).hexdigest()


def test_unknown_local_part_is_refused_and_recorded_unattributed(
    server: Running, seeded: Seeded
) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.ehlo("cleaner.example")
        c.mail("probe@cleaner.example")
        code, text = c.rcpt(f"xkq7wz2mv9pl3rt@{DOMAIN}")
        assert code == 550
        assert text.startswith(b"5.1.1")
    [hit] = wait_for(lambda: hits(server.store))
    assert hit.channel == "smtp-probe"
    assert hit.identifier == f"xkq7wz2mv9pl3rt@{DOMAIN}"
    assert hit.classification == "unattributed"
    assert hit.candidates == []
    assert hit.details["reason"] == "unknown-recipient"
    assert hit.sender == "probe@cleaner.example"


def test_other_domains_are_never_relayed_and_leave_no_trace(
    server: Running, seeded: Seeded
) -> None:
    to = next(iter(seeded.addresses.values()))
    with RawClient(server.port) as c:
        assert c.reply().startswith(b"220 ")
        assert c.cmd(b"EHLO relay.example").startswith(b"250")
        assert c.cmd(b"MAIL FROM:<ceo@" + DOMAIN.encode() + b">").startswith(b"250")
        for target in (
            b"<victim@gmail.com>",
            b"<victim@sub." + DOMAIN.encode() + b">",
            b"<@" + DOMAIN.encode() + b":victim@gmail.com>",
            b"<victim@gmail.com@" + DOMAIN.encode() + b">",
        ):
            reply = c.cmd(b"RCPT TO:" + target)
            assert reply.startswith(b"550 5.7.1") or reply.startswith(b"5"), reply
            assert not reply.startswith(b"250")
        # Percent hack: a local part at our domain that names another: just unknown.
        assert c.cmd(b"RCPT TO:<victim%gmail.com@" + DOMAIN.encode() + b">").startswith(
            b"550 5.1.1"
        )
        # With one real canary among them, only the canary gets the message.
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert c.cmd(b"RCPT TO:<other@gmail.com>").startswith(b"550 5.7.1")
        assert c.cmd(b"DATA").startswith(b"354")
        assert c.cmd(b"Subject: relay?\r\n\r\nbody\r\n.").startswith(b"250")
        assert c.cmd(b"QUIT").startswith(b"221")
    found = wait_for(lambda: len(hits(server.store)) == 2 and hits(server.store))
    by_channel = {h.channel: h for h in found}
    assert by_channel["smtp"].identifier == to
    assert by_channel["smtp-probe"].identifier == f"victim%gmail.com@{DOMAIN}"
    assert all("gmail" not in h.identifier or h.identifier.endswith(DOMAIN) for h in found)


def test_only_foreign_recipients_store_nothing(server: Running, seeded: Seeded) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            c.sendmail("a@b.example", ["x@gmail.com", "y@example.org"], b"Subject: x\r\n\r\nx\r\n")
        codes = {code for code, _ in err.value.recipients.values()}
        assert codes == {550}
    # The session is over; a probe would have been recorded by now if any.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.noop()
    assert hit_count(server.store) == 0


@pytest.mark.parametrize("ending", ["RSET", "QUIT", "disconnect"])
def test_probe_without_data_is_an_smtp_probe_hit(
    server: Running, seeded: Seeded, ending: str
) -> None:
    copy_id = seeded.copies["vendor-c"]
    to = seeded.addresses[copy_id]
    with RawClient(server.port) as c:
        c.reply()
        c.cmd(b"EHLO verifier.example")
        c.cmd(b"MAIL FROM:<check@verifier.example>")
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")  # twice: one hit
        assert c.cmd(b"RCPT TO:<zq8rk2m4v7x1p0a@" + DOMAIN.encode() + b">").startswith(b"550")
        if ending == "RSET":
            assert c.cmd(b"RSET").startswith(b"250")
        elif ending == "QUIT":
            assert c.cmd(b"QUIT").startswith(b"221")
    found = wait_for(lambda: len(hits(server.store)) >= 2 and hits(server.store))
    assert len(found) == 2
    probe = next(h for h in found if h.identifier == to)
    assert probe.channel == "smtp-probe"
    assert probe.classification == "evidence"
    assert [c.copy_id for c in probe.candidates] == [copy_id]
    assert probe.details["ended_by"] == ending
    assert probe.details["reason"] == "rcpt-without-data"


def test_null_sender_verification_probe(server: Running, seeded: Seeded) -> None:
    """How Postfix's address verification probes: MAIL FROM:<>, RCPT, QUIT; a bounce is alike."""
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with RawClient(server.port) as c:
        c.reply()
        assert c.cmd(b"HELO verify.example").startswith(b"250")
        assert c.cmd(b"MAIL FROM:<>").startswith(b"250")
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert c.cmd(b"QUIT").startswith(b"221")
    [probe] = wait_for(lambda: hits(server.store))
    assert probe.channel == "smtp-probe"
    assert probe.sender == "<>"
    assert probe.details["envelope"]["helo"] == "verify.example"
    assert [c.copy_id for c in probe.candidates] == [seeded.copies["vendor-a"]]


def test_delivered_recipient_is_not_also_a_probe(server: Running, seeded: Seeded) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.sendmail("a@sender.example", [to], message(to))
        c.rset()
        c.sendmail("a@sender.example", [to], message(to, subject="second"))
    wait_for(lambda: hit_count(server.store) >= 2)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.noop()
    found = hits(server.store)
    assert [h.channel for h in found] == ["smtp", "smtp"]
    assert [h.summary for h in found] == ["Vote for us", "second"]


def test_control_canary_is_accepted_and_marked_control(server: Running, seeded: Seeded) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.sendmail("a@spam.example", [seeded.control], message(seeded.control))
    [hit] = hits(server.store)
    assert hit.classification == "control"


MALFORMED = [
    b'From: "Evil <evil@spam.example>\r\nTo: "\r\nSubject: =?utf-8?q?broken\r\n'
    b'Content-Type: multipart/mixed; boundary="never\r\n\r\n'
    b"--nothing\r\n\xff\xfe\x00junk http://evil.example/a\r\n",
    b"no headers at all, just \xe9\xe8 8-bit text\r\nand http://x.example/\r\n",
    b"Subject: " + b"A" * 900 + b"\r\nContent-Type: text/plain; charset=no-such-charset\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
    b"From: =?x-unknown?b?////?= <a@b>\r\nSubject: \xf0\x9f\x92\xa9 caf\xc3\xa9\r\n\r\nhi\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    + b"".join(b"--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" for _ in range(300))
    + b"--b--\r\n",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_messages_still_make_a_hit(server: Running, seeded: Seeded, raw: bytes) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with RawClient(server.port) as c:
        c.reply()
        c.cmd(b"EHLO junk.example")
        assert c.cmd(b"MAIL FROM:<x@junk.example> BODY=8BITMIME").startswith(b"250")
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        assert c.cmd(raw + b".").startswith(b"250 2.0.0")
        c.cmd(b"QUIT")
    [hit] = hits(server.store)
    assert hit.channel == "smtp"
    assert [c.copy_id for c in hit.candidates] == [seeded.copies["vendor-a"]]
    assert "\x00" not in hit.summary and len(hit.summary) <= 500
    with server.store.session() as s:
        blob = s.get(Blob, hit.evidence_sha256)
        assert blob is not None and blob.data == raw


def test_message_over_the_limit_is_refused_with_552_and_no_hit(
    server: Running, seeded: Seeded
) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    big = message(to, body="x" * 300_000)
    # smtplib announces SIZE, so the refusal comes at MAIL FROM.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        with pytest.raises(smtplib.SMTPSenderRefused) as err:
            c.sendmail("a@b.example", [to], big)
        assert err.value.smtp_code == 552
    # A client that does not announce it is refused after DATA, and nothing is kept.
    with RawClient(server.port) as c:
        c.reply()
        c.cmd(b"EHLO big.example")
        c.cmd(b"MAIL FROM:<a@big.example>")
        assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        body = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 300
        assert c.cmd(body + b".").startswith(b"552")
        assert c.cmd(b"QUIT").startswith(b"221")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.noop()
    assert hit_count(server.store) == 0


def test_non_ascii_addresses_with_smtputf8(
    sqlite_store: Store, seeded: Seeded, server: Running
) -> None:
    copy_id = seeded.copies["vendor-b"]
    add_canary(sqlite_store, copy_id, f"maría.lópez@{DOMAIN}")
    idn = "ana@xn--cao-8ma.example"
    add_canary(sqlite_store, copy_id, idn)
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        c.ehlo("utf8.example")
        assert c.has_extn("smtputf8")
        refused = c.sendmail(
            "remitente@ejemplo.example",
            [f"María.López@{DOMAIN}", f"ana@{IDN_DOMAIN}"],
            "Subject: hola\r\n\r\nCuerpo con acentos: áéí\r\n".encode(),
            mail_options=["SMTPUTF8", "BODY=8BITMIME"],
        )
        assert refused == {}
    found = hits(sqlite_store)
    assert sorted(h.identifier for h in found) == sorted([f"maría.lópez@{DOMAIN}", idn])
    assert all([c.copy_id for c in h.candidates] == [copy_id] for h in found)
    # Bytes that are not UTF-8 at all: refused as unknown, no crash, session goes on.
    with RawClient(server.port) as c:
        c.reply()
        c.cmd(b"EHLO raw.example")
        c.cmd(b"MAIL FROM:<a@raw.example> SMTPUTF8")
        assert c.cmd(b"RCPT TO:<\xff\xfe\xc3@" + DOMAIN.encode() + b">").startswith(b"550 5.1.1")
        assert c.cmd(b"NOOP").startswith(b"250")
        c.cmd(b"QUIT")
    probe = wait_for(lambda: hits(sqlite_store, channel="smtp-probe"))
    assert probe[0].identifier.endswith("@" + DOMAIN)
    assert "\udcff" not in probe[0].identifier


def test_banner_and_replies_name_no_software(server: Running) -> None:
    with RawClient(server.port) as c:
        banner = c.reply()
        ehlo = c.cmd(b"EHLO x.example")
        help_ = c.cmd(b"HELP")
        vrfy = c.cmd(b"VRFY root")
        junk = c.cmd(b"XYZZY")
        c.cmd(b"QUIT")
    assert banner == b"220 mx1.canary.example ESMTP"
    everything = b"\n".join([banner, ehlo, help_, vrfy, junk]).lower()
    for word in (b"python", b"aiosmtpd", b"smtp 1.", b"postfix", b"exim"):
        assert word not in everything
    assert b"smtputf8" in ehlo.lower() and b"8bitmime" in ehlo.lower()
    assert b"size 200000" in ehlo.lower()


def test_evidence_is_bounded_by_the_store_limit(sqlite_store: Store, seeded: Seeded) -> None:
    cfg = make_config()
    cfg.store.max_evidence_bytes = 1000
    r = Running(sqlite_store, cfg)
    try:
        to = seeded.addresses[seeded.copies["vendor-a"]]
        raw = message(to, body="z" * 70 + "\r\n" * 1 + "w" * 5000)
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as c:
            assert c.sendmail("a@b.example", [to], raw) == {}
    finally:
        r.close()
    [hit] = hits(sqlite_store)
    assert hit.details["size"] == len(raw) > 5000
    assert hit.details["evidence_truncated"] is True
    assert hit.details["sha256_full"] == hashlib.sha256(raw).hexdigest()
    with sqlite_store.session() as s:
        blob = s.get(Blob, hit.evidence_sha256)
        assert blob is not None and blob.data == raw[:1000]


def test_slow_client_is_cut_off_and_its_probe_kept(sqlite_store: Store, seeded: Seeded) -> None:
    r = Running(sqlite_store, make_config(command_timeout=2.0))
    try:
        to = seeded.addresses[seeded.copies["vendor-a"]]
        with RawClient(r.port) as c:
            c.reply()
            c.cmd(b"EHLO slow.example")
            c.cmd(b"MAIL FROM:<a@slow.example>")
            assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
            # Say nothing: the server hangs up on its own.
            assert c.line() == b""
        [probe] = wait_for(lambda: hits(sqlite_store))
        assert probe.channel == "smtp-probe"
        assert probe.details["ended_by"] == "timeout"
    finally:
        r.close()


def test_a_slow_message_gets_more_than_the_command_timeout(
    sqlite_store: Store, seeded: Seeded
) -> None:
    # 1 s per command, but DATA may take 1 s + 1 MB at 64 KB/s (about 16 s).
    r = Running(sqlite_store, make_config(command_timeout=1.0, max_message_bytes=1_000_000))
    try:
        to = seeded.addresses[seeded.copies["vendor-a"]]
        with RawClient(r.port) as c:
            c.reply()
            c.cmd(b"EHLO slow.example")
            c.cmd(b"MAIL FROM:<a@slow.example>")
            assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
            assert c.cmd(b"DATA").startswith(b"354")
            for part in (b"Subject: slowly\r\n\r\n", b"first\r\n", b"second\r\n"):
                c.send(part)
                time.sleep(1.2)
            assert c.cmd(b".").startswith(b"250")
        [hit] = hits(sqlite_store, channel="smtp")
        assert hit.summary == "slowly"
    finally:
        r.close()


def test_command_limit_ends_a_flood(sqlite_store: Store, seeded: Seeded) -> None:
    r = Running(sqlite_store, make_config(max_commands=5))
    try:
        with RawClient(r.port) as c:
            c.reply()
            replies = [c.cmd(b"NOOP") for _ in range(6)]
            assert replies[:5] == [b"250 OK"] * 5
            assert replies[5].startswith(b"421")
            assert c.line() == b""
    finally:
        r.close()


def test_store_failure_answers_451_and_a_retry_is_recorded_once(
    server: Running, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    committer = server.listener.handler.committer
    real = committer.record
    assert real is not None
    calls = {"n": 0}

    def failing_once(session, observations):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk full")
        return real(session, observations)

    monkeypatch.setattr(committer, "record", failing_once)
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
        with pytest.raises(smtplib.SMTPDataError) as err:
            c.sendmail("a@b.example", [to], message(to))
        assert err.value.smtp_code == 451
        assert b"disk" not in err.value.smtp_error
        c.rset()
        assert c.sendmail("a@b.example", [to], message(to)) == {}
    assert [h.channel for h in hits(server.store)] == ["smtp"]
