"""The SMTP listener under concurrency, over STARTTLS, and while it shuts down."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from smtp_support import RawClient, Running, hits, make_config, seed, wait_for

from canary.store.chain import verify_chain
from canary.store.engine import Store, open_store
from canary.store.models import Blob

THREADS = 8
PER_THREAD = 25


def test_concurrent_senders_lose_and_double_nothing(store: Store) -> None:
    seeded = seed(store)
    targets = list(seeded.addresses.items())
    r = Running(store, make_config())
    errors: list[BaseException] = []

    def sender(n: int) -> None:
        try:
            copy_id, to = targets[n % len(targets)]
            with smtplib.SMTP("127.0.0.1", r.port, timeout=60) as c:
                for i in range(PER_THREAD):
                    body = f"Subject: msg {n}-{i}\r\n\r\nmessage {n}-{i} for {copy_id}\r\n"
                    assert c.sendmail(f"s{n}@load.example", [to], body.encode()) == {}
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not errors, errors
        stats = r.listener.stats
    finally:
        r.close()
    found = hits(store, channel="smtp")
    # Every acknowledged message is there exactly once, traced to the copy it was sent to.
    counts = Counter(h.summary for h in found)
    expected = {f"msg {n}-{i}" for n in range(THREADS) for i in range(PER_THREAD)}
    assert set(counts) == expected
    assert max(counts.values()) == 1
    for h in found:
        n = int(h.summary.split()[1].split("-")[0])
        assert [c.copy_id for c in h.candidates] == [targets[n % len(targets)][0]]
    assert hits(store, channel="smtp-probe") == []
    assert stats.messages == THREADS * PER_THREAD
    with store.session() as s:
        assert s.query(Blob).count() == THREADS * PER_THREAD
        assert verify_chain(s) is None


def test_two_listeners_share_one_store(store_url: str) -> None:
    """Like two `canary serve` processes: each with its own engine, one database."""
    stores = [open_store(store_url), open_store(store_url)]
    seeded = seed(stores[0])
    to = next(iter(seeded.addresses.values()))
    servers = [Running(s, make_config()) for s in stores]
    errors: list[BaseException] = []

    def sender(n: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", servers[n % 2].port, timeout=60) as c:
                for i in range(15):
                    body = f"Subject: two {n}-{i}\r\n\r\nx\r\n".encode()
                    assert c.sendmail("a@two.example", [to], body) == {}
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not errors, errors
    finally:
        for r in servers:
            r.close()
    try:
        found = hits(stores[1], channel="smtp")
        assert sorted(h.summary for h in found) == sorted(
            f"two {n}-{i}" for n in range(6) for i in range(15)
        )
        with stores[1].session() as s:
            assert verify_chain(s) is None
    finally:
        for st in stores:
            st.dispose()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for mx1.canary.example, made with the openssl tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key_path),
            "-out",
            str(cert_path),
            "-days",
            "30",
            "-subj",
            "/CN=mx1.canary.example",
            "-addext",
            "subjectAltName=DNS:mx1.canary.example,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert_path, key_path


def test_starttls_with_a_self_signed_certificate(sqlite_store: Store, tmp_path: Path) -> None:
    seeded = seed(sqlite_store)
    cert, key = self_signed(tmp_path)
    r = Running(sqlite_store, make_config(tls_cert=str(cert), tls_key=str(key)))
    try:
        to = next(iter(seeded.addresses.values()))
        ctx = ssl.create_default_context(cafile=str(cert))
        with smtplib.SMTP("127.0.0.1", r.port, timeout=30) as c:
            c.ehlo("tls.example")
            assert c.has_extn("starttls")
            code, _ = c.starttls(context=ctx)
            assert code == 220
            c.ehlo("tls.example")
            assert not c.has_extn("starttls")
            assert c.sendmail("a@tls.example", [to], b"Subject: over tls\r\n\r\nhi\r\n") == {}
    finally:
        r.close()
    [hit] = hits(sqlite_store)
    tls = hit.details["envelope"]["tls"]
    assert tls["version"] in ("TLSv1.2", "TLSv1.3")
    assert tls["cipher"]
    assert hit.details["envelope"]["helo"] == "tls.example"


def test_half_configured_tls_is_a_clear_error(sqlite_store: Store) -> None:
    from canary.errors import ConfigError

    with pytest.raises(ConfigError, match="tls_key"):
        Running(sqlite_store, make_config(tls_cert="/nonexistent.pem"))


def test_close_mid_session_acknowledges_only_what_it_kept(sqlite_store: Store) -> None:
    seeded = seed(sqlite_store)
    to_a, to_b = list(seeded.addresses.values())[:2]
    r = Running(sqlite_store, make_config())
    try:
        idle = RawClient(r.port)
        sending = RawClient(r.port)
        for c, to in ((idle, to_a), (sending, to_b)):
            c.reply()
            c.cmd(b"EHLO closing.example")
            c.cmd(b"MAIL FROM:<a@closing.example>")
            assert c.cmd(b"RCPT TO:<" + to.encode() + b">").startswith(b"250")
        assert sending.cmd(b"DATA").startswith(b"354")
        sending.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        # Shut down while the second session is inside DATA and the first one idles.
        wait_for(lambda: sorted(s.busy for s in r.listener.handler.sessions) == [0, 1])
        closing = r.loop.submit(r.listener.close(grace=30))
        # The idle session is told at once; the one in DATA may finish its message.
        assert idle.reply().startswith(b"421")
        assert idle.line() == b""
        sending.send(b"second half\r\n.\r\n")
        assert sending.reply().startswith(b"250 2.0.0")
        assert sending.reply().startswith(b"421")
        assert sending.line() == b""
        closing.result(60)
        with pytest.raises(OSError):
            RawClient(r.port, timeout=5).close()
        idle.close()
        sending.close()
    finally:
        r.close()
    found = {h.identifier: h for h in hits(sqlite_store)}
    assert found[to_b].channel == "smtp" and found[to_b].summary == "in flight"
    assert found[to_a].channel == "smtp-probe"
    assert found[to_a].details["ended_by"] == "shutdown"
    assert len(found) == 2


def test_one_bad_message_in_a_group_fails_alone(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import listeners.batching as commit_mod
    from canary.hits.record import Observation

    seeded = seed(sqlite_store)
    to = next(iter(seeded.addresses.values()))
    real = commit_mod.record_in

    def picky(session, observations):  # type: ignore[no-untyped-def]
        if any(o.summary == "poison" for o in observations):
            raise ValueError("cannot store this one")
        return real(session, observations)

    monkeypatch.setattr(commit_mod, "record_in", picky)

    def obs(summary: str) -> list[Observation]:
        return [Observation(channel="smtp", identifier=to, summary=summary, provider="smtp")]

    async def main() -> tuple[list[object], int]:
        committer = commit_mod.GroupCommitter(sqlite_store)
        committer.start()
        try:
            names = ["a", "b", "poison", "c", "d"]
            results = await asyncio.gather(
                *(committer.submit(obs(n), source=n) for n in names), return_exceptions=True
            )
        finally:
            await committer.close()
        return list(results), committer.commits

    results, commits = asyncio.run(main())
    assert isinstance(results[2], ValueError)
    assert all(isinstance(r, list) and len(r) == 1 for i, r in enumerate(results) if i != 2)
    assert sorted(h.summary for h in hits(sqlite_store)) == ["a", "b", "c", "d"]
    assert commits == 4  # the group failed as a whole, then each good one alone
