"""A listener killed while large and small messages stream in: every message it answered
250 for is stored whole, no hit is half-written, and the next start attributes the rest.

`canary serve` runs as a subprocess and is killed with SIGKILL (no shutdown, no drain) at
whatever point it is in: reading a large message in its worker threads, committing a batch
of small ones, committing a large one alone, attributing."""

from __future__ import annotations

import hashlib
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from canary.store.chain import verify_chain
from canary.store.engine import Store, open_store
from canary.store.models import Blob, Hit, HitInbox
from tests.conftest import free_port
from tests.smtp_support import seed, wait_for

CONFIG = """\
[smtp]
hostname = "mx.canary.example"
"""

#: Large messages: past the listener's inline size, so their blocks go to worker threads,
#: and past the committer's `LARGE`, so each commits alone.
BIG_LINES = 2 * 1024 * 1024 // 80


def serve(tmp: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    cfg = tmp / "canary.toml"
    cfg.write_text(CONFIG)
    env = {
        **os.environ,
        "CANARY_CONFIG": str(cfg),
        "CANARY_DB_URL": url,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    cmd = [sys.executable, "-m", "canary", "serve", "--only", "smtp"]
    cmd += ["--smtp", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        assert proc.poll() is None, "serve exited early"
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
            return True
        except OSError:
            return False

    wait_for(listening, timeout=60)
    return proc


def big_message(to: str, name: str) -> bytes:
    """About 2 MB, different bytes for each name, with lines that travel dot-stuffed."""
    seed_line = hashlib.sha256(name.encode()).hexdigest().encode()
    lines = [
        b"." + seed_line + b"%06d" % i if i % 97 == 0 else seed_line + b"%07d" % i
        for i in range(BIG_LINES)
    ]
    body = b"\r\n".join(lines) + b"\r\n"
    return f"To: {to}\r\nSubject: {name}\r\n\r\n".encode() + body


def small_message(to: str, name: str) -> bytes:
    return f"To: {to}\r\nSubject: {name}\r\n\r\nhola {name}\r\n".encode()


class Senders:
    """Threads sending until told to stop or the server goes away; what got a 250, kept."""

    def __init__(self, port: int, to: str, round_: int) -> None:
        self.port, self.to, self.round = port, to, round_
        self.acknowledged: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._send, args=(kind, n), daemon=True)
            for kind, n in (("big", 0), ("big", 1), ("small", 0))
        ]

    def _send(self, kind: str, n: int) -> None:
        i = 0
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as c:
                while not self.stop.is_set():
                    name = f"r{self.round}-{kind}{n}-{i}"
                    make = big_message if kind == "big" else small_message
                    raw = make(self.to, name)
                    c.sendmail("a@sender.example", [self.to], raw)  # returns only after 250
                    with self.lock:
                        self.acknowledged[name] = raw
                    i += 1
        except (OSError, smtplib.SMTPException):
            return  # the server was killed: whatever was not answered is not ours to keep

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for k in self.acknowledged if f"-{prefix}" in k)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def check_store(store: Store, acknowledged: dict[str, bytes]) -> None:
    """Every acknowledged message is a hit with its message kept whole; no hit is half-written."""
    with store.session() as s:
        inbox = set(s.scalars(select(HitInbox.hit_id)))
        stored: dict[str, Hit] = {}
        for hit in s.scalars(select(Hit).where(Hit.channel == "smtp")):
            # A hit is whole: its evidence is stored and is what its key says, and it is
            # either waiting in the inbox or attributed.
            assert hit.evidence_sha256 is not None
            blob = s.get(Blob, hit.evidence_sha256)
            assert blob is not None, f"hit {hit.id} without its evidence"
            assert hashlib.sha256(blob.data).hexdigest() == blob.sha256
            assert blob.size == len(blob.data) == hit.details["size"]
            assert (hit.classification == "pending") == (hit.id in inbox)
            stored[hit.summary] = hit
            got = blob.data
            want = acknowledged.get(hit.summary)
            if want is not None:
                assert got == want, f"{hit.summary} stored with other bytes"
        missing = set(acknowledged) - set(stored)
        assert not missing, f"acknowledged and lost: {sorted(missing)[:5]}"
        assert inbox <= {h.id for h in stored.values()}


def test_kills_while_large_and_small_messages_stream_lose_nothing_acknowledged(
    tmp_path: Path, store_url: str
) -> None:
    store = open_store(store_url)
    try:
        seeded = seed(store)
        to = seeded.addresses[seeded.copies["vendor-a"]]
        acknowledged: dict[str, bytes] = {}
        # Killed at different points: early in the first large messages, then later.
        for round_, (bigs, smalls) in enumerate(((1, 5), (3, 30))):
            port = free_port()
            proc = serve(tmp_path, store_url, port)
            senders = Senders(port, to, round_)
            try:
                senders.start()
                wait_for(
                    lambda: senders.count("big") >= bigs and senders.count("small") >= smalls,
                    timeout=120,
                )
                time.sleep(0.05 * round_)
            finally:
                proc.send_signal(signal.SIGKILL)  # no shutdown, no drain: a crash
                proc.wait(30)
                senders.join()
            acknowledged.update(senders.acknowledged)
            check_store(store, acknowledged)
        # The next start attributes what the kills left pending; the chain holds.
        proc = serve(tmp_path, store_url, free_port())
        try:

            def drained() -> bool:
                with store.session() as s:
                    return s.scalar(select(func.count()).select_from(HitInbox)) == 0

            wait_for(drained, timeout=120)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        check_store(store, acknowledged)
        with store.session() as s:
            assert verify_chain(s) is None
            stored = s.scalar(select(func.count()).select_from(Hit).where(Hit.channel == "smtp"))
        # Answered or not, a message stored is stored once (a sender that got no answer
        # would retry; these do not).
        assert stored is not None and stored >= len(acknowledged)
    finally:
        store.dispose()
