"""The SMTP listener holds bounded memory and sockets whatever its clients do.

Each test reproduces an attack on a live listener (too many sessions, unfinished
messages, a flood of evidence, a client vanishing mid-body, terminal escapes in what
it sends, the file-descriptor limit) and shows it bounded or refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from canary.store.engine import Store
from tests.cli_support import canary
from tests.smtp_support import RawClient, Running, hits, make_config, seed, wait_for


def _connect(port: int, source: str = "127.0.0.1") -> RawClient:
    c = RawClient.__new__(RawClient)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    c.buf = b""
    return c


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_session_caps_per_peer_and_in_all_answer_421(sqlite_store: Store) -> None:
    seed(sqlite_store)
    r = Running(sqlite_store, make_config(max_sessions=5, max_sessions_per_peer=3))
    held: list[RawClient] = []
    try:
        for _ in range(3):
            held.append(_connect(r.port))
            assert held[-1].reply().startswith(b"220 ")
        over = _connect(r.port)
        held.append(over)
        assert over.reply().startswith(b"421 4.7.0")
        assert over.line() == b""  # and closed
        other = _connect(r.port, "127.0.0.2")  # another peer still gets in
        assert other.reply().startswith(b"220 ")
        held.append(other)
        held.append(_connect(r.port, "127.0.0.3"))
        assert held[-1].reply().startswith(b"220 ")
        full = _connect(r.port, "127.0.0.4")  # five sessions: the total cap
        held.append(full)
        assert full.reply().startswith(b"421 4.7.0")
        for c in held[:2]:
            c.sock.close()
        wait_for(lambda: r.listener.handler.slots.count == 3)
        again = _connect(r.port)  # slots are given back when sessions end
        assert again.reply().startswith(b"220 ")
        held.append(again)
        assert r.listener.stats.refused == 2
    finally:
        for c in held:
            c.sock.close()
        r.close()


def _start_data(port: int, to: str, source: str = "127.0.0.1") -> RawClient:
    c = _connect(port, source)
    assert c.reply().startswith(b"220")
    for cmd in (b"EHLO flood.example", b"MAIL FROM:<f@flood.example>", f"RCPT TO:<{to}>".encode()):
        c.sock.sendall(cmd + b"\r\n")
        assert c.reply()[:1] == b"2", cmd
    c.sock.sendall(b"DATA\r\n")
    assert c.reply().startswith(b"354")
    return c


def test_unfinished_messages_are_spooled_not_held_in_memory(sqlite_store: Store) -> None:
    """20 sessions each 4 MB into a message they never finish: memory barely moves."""
    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    r = Running(sqlite_store, make_config(spool_memory_bytes=64 * 1024, max_sessions_per_peer=50))
    clients: list[RawClient] = []
    line = b"x" * 998 + b"\r\n"
    chunk = line * 1024  # ~1 MB
    try:
        before = _rss()
        for i in range(20):
            clients.append(_start_data(r.port, to, f"127.0.1.{i + 1}"))
        for _ in range(4):
            for c in clients:
                c.sock.sendall(chunk)
        sent = 20 * 4 * len(chunk)
        wait_for(lambda: r.listener.handler.inflight.used >= sent, timeout=60)
        grown = _rss() - before
        assert grown < sent // 3, f"RSS grew {grown >> 20} MB for {sent >> 20} MB unfinished"
    finally:
        for c in clients:
            c.sock.close()
        r.close()
    assert r.listener.handler.inflight.used == 0  # every byte given back
    assert [h.channel for h in hits(sqlite_store)] == ["smtp-probe"] * 20  # probes, no message


def test_bytes_in_flight_cap_closes_with_421_and_recovers(sqlite_store: Store) -> None:
    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    r = Running(sqlite_store, make_config(max_inflight_bytes=1024 * 1024))
    try:
        c = _start_data(r.port, to)
        c.sock.sendall((b"y" * 998 + b"\r\n") * 2048)  # 2 MB: over the 1 MB in flight
        reply = c.reply()
        assert reply.startswith(b"421 4.3.1"), reply
        with pytest.raises(OSError):  # closed: the unread rest of the message resets it
            for _ in range(100):
                c.sock.sendall(b"y" * 65536)
        c.sock.close()
        wait_for(lambda: r.listener.handler.inflight.used == 0)
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as s:
            assert s.sendmail("a@x.example", [to], b"Subject: after\r\n\r\nhi\r\n") == {}
    finally:
        r.close()
    assert [h.summary for h in hits(sqlite_store, channel="smtp")] == ["after"]


def test_evidence_over_the_quota_is_a_hit_with_a_truncated_body(sqlite_store: Store) -> None:
    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    r = Running(sqlite_store, make_config(evidence_quota_per_sender=12_000))
    bodies = [b"Subject: m%d\r\n\r\n" % i + (b"z" * 76 + b"\r\n") * 100 for i in range(2)]
    try:
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as s:
            for b in bodies:
                assert s.sendmail("a@x.example", [to], b) == {}
    finally:
        r.close()
    first, second = hits(sqlite_store, channel="smtp")
    assert "evidence_truncated" not in first.details
    assert second.details["evidence_over_quota"] is True
    assert second.details["evidence_truncated"] is True
    assert second.details["sha256_full"] == hashlib.sha256(bodies[1]).hexdigest()
    assert second.details["size"] == len(bodies[1])
    with sqlite_store.session() as s:
        from canary.store.models import Blob

        blob = s.get(Blob, second.evidence_sha256)
        assert blob is not None and len(blob.data) == 4096


def test_auth_is_never_advertised_nor_accepted(sqlite_store: Store, tmp_path: Path) -> None:
    from tests.test_smtp_sessions import self_signed

    seed(sqlite_store)
    cert, key = self_signed(tmp_path)
    r = Running(sqlite_store, make_config(tls_cert=str(cert), tls_key=str(key)))
    try:
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as c:
            c.ehlo("tls.example")
            assert not c.has_extn("auth")
            c.starttls(context=ssl.create_default_context(cafile=str(cert)))
            c.ehlo("tls.example")
            assert not c.has_extn("auth")  # not after STARTTLS either
            code, _ = c.docmd("AUTH", "PLAIN AGFkbWluAHNlY3JldA==")
            assert code == 502
    finally:
        r.close()


def test_client_gone_mid_body_is_one_line_without_traceback(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    caplog.set_level(logging.INFO)
    r = Running(sqlite_store, make_config())
    try:
        c = _start_data(r.port, to)
        c.sock.sendall(b"Subject: half\r\n\r\n" + b"q" * 5000)
        time.sleep(0.2)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sock.close()  # RST mid-body
        wait_for(lambda: r.listener.handler.slots.count == 0)
        wait_for(lambda: hits(sqlite_store))  # the probe is recorded
        time.sleep(0.3)
    finally:
        r.close()
    assert not [rec for rec in caplog.records if rec.exc_info or "Traceback" in rec.getMessage()]
    gone = [rec for rec in caplog.records if "went away" in rec.getMessage()]
    assert len(gone) <= 1
    assert [h.channel for h in hits(sqlite_store)] == ["smtp-probe"]  # no message, a probe


def test_terminal_escapes_from_a_sender_never_reach_terminal_or_log(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    evil = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"
    r = Running(sqlite_store, make_config())
    try:
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as s:
            s.ehlo("helo\x1b[31m.example")
            msg = (
                f"Subject: {evil}\r\nFrom: =?utf-8?q?a=1B=5B2J?= <x\x1b@evil.example>\r\n\r\nhi\r\n"
            )
            assert s.sendmail("a\x1b@x.example", [to], msg.encode("utf-8")) == {}
    finally:
        r.close()
    [hit] = hits(sqlite_store, channel="smtp")
    (tmp_path / "canary.toml").write_text(
        f'[store]\nurl = "{sqlite_store.engine.url.render_as_string(hide_password=False)}"\n'
    )
    with sqlite_store.session() as s:
        from canary.store.models import Incident

        incident_id = s.query(Incident.id).first()[0]  # type: ignore[index]
    outs = [
        canary("hits", cwd=tmp_path),
        canary("incident", str(incident_id), cwd=tmp_path),
        canary("hits", "--json", cwd=tmp_path),
    ]
    for out in outs:
        assert out.returncode == 0, out.stderr
        for ch in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert ch not in out.stdout and ch not in out.stderr
    assert "evil" in outs[0].stdout and "evil" in outs[1].stdout
    assert hit.summary.startswith("]0;pwned[2J")


def test_the_log_never_carries_control_characters() -> None:
    from listeners.serve import SafeMessages

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "helo %s", ("\x1b[2Jevil\r\n",), None
    )
    assert SafeMessages().filter(record)
    assert record.getMessage() == "helo [2Jevil"


FD_SERVER = textwrap.dedent(
    """
    import asyncio, logging, resource, sys
    from canary.config import Config
    from canary.store.engine import open_store
    from listeners.serve import configure_logging
    from listeners.smtp import start_smtp

    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    configure_logging()
    cfg = Config()
    cfg.smtp.max_sessions = 10000
    cfg.smtp.max_sessions_per_peer = 10000
    store = open_store(sys.argv[1])

    async def main():
        lst = await start_smtp(store, cfg, "127.0.0.1", 0)
        print(lst.port, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_file_descriptor_exhaustion_pauses_accepts_with_one_log_line(tmp_path: Path) -> None:
    from canary.store.engine import open_store

    url = f"sqlite:///{tmp_path / 'fd.db'}"
    open_store(url).dispose()
    server = subprocess.Popen(
        [sys.executable, "-c", FD_SERVER, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    socks: list[socket.socket] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        deadline = time.monotonic() + 6
        while len(socks) < 150 and time.monotonic() < deadline:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(4)  # accepts fail at the limit, over and over
        for s in socks:
            s.close()
        socks.clear()
        ok = False
        for _ in range(50):  # accepting resumes once descriptors are free
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as c:
                    ok = c.noop()[0] == 250
                    break
            except (OSError, smtplib.SMTPException):
                time.sleep(0.2)
        assert ok
    finally:
        for s in socks:
            s.close()
        server.terminate()
        _, err = server.communicate(timeout=30)
    lines = err.decode("utf-8", "replace").splitlines()
    exhausted = [x for x in lines if "out of file descriptors" in x]
    assert 1 <= len(exhausted) <= 2, lines[:20]
    assert len(err) < 20_000
    assert "Traceback" not in err.decode("utf-8", "replace")
