"""The DATA phase read in blocks: the stored message is exactly what was sent, unstuffed,
however the bytes are cut, and the session goes on right after the final dot."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

from canary.store.engine import Store
from canary.store.models import Blob
from tests.smtp_support import RawClient, Running, Seeded, hits, make_config, seed


@pytest.fixture
def seeded(sqlite_store: Store) -> Seeded:
    return seed(sqlite_store)


@pytest.fixture
def server(sqlite_store: Store, seeded: Seeded) -> Iterator[Running]:
    r = Running(sqlite_store, make_config())
    try:
        yield r
    finally:
        r.close()


def evidence(store: Store) -> list[bytes]:
    """The raw message kept for each hit, oldest first (b"" for an empty message)."""
    out = []
    for hit in hits(store):
        if hit.evidence_sha256 is None:
            out.append(b"")
            continue
        with store.session() as s:
            blob = s.get(Blob, hit.evidence_sha256)
            assert blob is not None
            out.append(blob.data)
    return out


def stuffed(message: bytes) -> bytes:
    """The message as it travels: every line starting with a dot gets another, then the end."""
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines) + b".\r\n"


def start_data(c: RawClient, to: str) -> None:
    assert c.reply().startswith(b"220")
    assert c.cmd(b"EHLO sender.example").startswith(b"250")
    assert c.cmd(b"MAIL FROM:<a@sender.example>").startswith(b"250")
    assert c.cmd(f"RCPT TO:<{to}>".encode()).startswith(b"250")
    assert c.cmd(b"DATA").startswith(b"354")


MESSAGE = (
    b"Subject: dots\r\n\r\n"
    b".a line that starts with a dot\r\n"
    b"..two dots\r\n"
    b".\tdot and tab\r\n"
    b"line with a dot . inside\r\n" + b"x" * 998 + b"\r\n"
)


def send_a_fine_message(c: RawClient, to: str) -> None:
    """After a refused DATA the session goes on: the next message is taken."""
    assert c.cmd(b"MAIL FROM:<a@sender.example>").startswith(b"250")
    assert c.cmd(f"RCPT TO:<{to}>".encode()).startswith(b"250")
    assert c.cmd(b"DATA").startswith(b"354")
    c.send(b"Subject: fine\r\n\r\nok\r\n.\r\n")
    assert c.reply().startswith(b"250")


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_a_message_cut_anywhere_is_stored_byte_for_byte(
    server: Running, seeded: Seeded, piece: int
) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    body = MESSAGE + b"".join(b"%06d " % i + b"y" * 70 + b"\r\n" for i in range(20_000))
    wire = stuffed(body)
    with RawClient(server.port) as c:
        start_data(c, to)
        for i in range(0, len(wire), piece):
            c.send(wire[i : i + piece])
            if piece < 16 and i < 400:
                time.sleep(0.001)  # the end marker and the dots arrive split
        assert c.reply().startswith(b"250")
        assert c.cmd(b"QUIT").startswith(b"221")
    (data,) = evidence(server.store)
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(body).hexdigest()


def test_commands_pipelined_after_the_final_dot_are_answered(
    server: Running, seeded: Seeded
) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with RawClient(server.port) as c:
        start_data(c, to)
        c.send(
            b"Subject: one\r\n\r\nfirst\r\n.\r\n"
            b"MAIL FROM:<b@sender.example>\r\n" + f"RCPT TO:<{to}>\r\n".encode() + b"DATA\r\n"
        )
        assert c.reply().startswith(b"250")  # the first message
        assert c.reply().startswith(b"250")  # MAIL
        assert c.reply().startswith(b"250")  # RCPT
        assert c.reply().startswith(b"354")
        c.send(b".\r\n")  # an empty message
        assert c.reply().startswith(b"250")
        assert c.cmd(b"QUIT").startswith(b"221")
    assert evidence(server.store) == [b"Subject: one\r\n\r\nfirst\r\n", b""]


def test_an_overlong_line_is_refused_and_the_session_goes_on(
    server: Running, seeded: Seeded
) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    with RawClient(server.port) as c:
        start_data(c, to)
        c.send(b"Subject: long\r\n\r\n" + b"z" * 300_000 + b"\r\nafter\r\n.\r\n")
        assert c.reply().startswith(b"500")
        send_a_fine_message(c, to)
    assert evidence(server.store) == [b"Subject: fine\r\n\r\nok\r\n"]


def test_a_large_message_taken_in_worker_threads_is_stored_byte_for_byte(
    server: Running, seeded: Seeded
) -> None:
    """Past the inline size the blocks are unstuffed and hashed in worker threads: dots
    anywhere, two recipients (one blob, keyed by the hash taken as the message came in)."""
    to = [seeded.addresses[seeded.copies[r]] for r in ("vendor-a", "vendor-b")]
    lines = [b".%07d dot" % i if i % 5 == 0 else b"%07d " % i + b"w" * 60 for i in range(40_000)]
    body = b"Subject: large\r\n\r\n" + b"\r\n".join(lines) + b"\r\n..\r\n.\tend\r\n"
    assert len(body) > 2 * 1024 * 1024
    with RawClient(server.port) as c:
        assert c.reply().startswith(b"220")
        assert c.cmd(b"EHLO sender.example").startswith(b"250")
        assert c.cmd(b"MAIL FROM:<a@sender.example>").startswith(b"250")
        for address in to:
            assert c.cmd(f"RCPT TO:<{address}>".encode()).startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        c.send(stuffed(body))
        assert c.reply().startswith(b"250")
        assert c.cmd(b"QUIT").startswith(b"221")
    stored = hits(server.store)
    assert len(stored) == 2 and len({h.evidence_sha256 for h in stored}) == 1
    (data,) = set(evidence(server.store))
    assert data == body
    assert stored[0].evidence_sha256 == hashlib.sha256(body).hexdigest()


def test_an_overlong_line_deep_in_a_large_message_is_refused(
    server: Running, seeded: Seeded
) -> None:
    to = seeded.addresses[seeded.copies["vendor-a"]]
    head = b"Subject: deep\r\n\r\n" + (b"v" * 78 + b"\r\n") * 20_000  # 1.6 MB of fine lines
    with RawClient(server.port) as c:
        start_data(c, to)
        c.send(stuffed(head + b"z" * 5000 + b"\r\nafter\r\n"))
        assert c.reply().startswith(b"500")
        send_a_fine_message(c, to)
    assert evidence(server.store) == [b"Subject: fine\r\n\r\nok\r\n"]
    assert server.listener.handler.inflight.used == 0
