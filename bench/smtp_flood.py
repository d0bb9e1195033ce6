"""SMTP flood benchmark: memory held by unfinished messages, with and without our caps.

    python bench/smtp_flood.py [--sessions 200] [--mb 10] [--peers 20] [--legit 20]

The attack: SESSIONS sessions (from PEERS loopback addresses, 127.0.1.x) each send
MB megabytes of a message they never finish, and hold on. Meanwhile a legitimate
sender on 127.0.0.200 delivers LEGIT small messages to a canary. Three servers, each
in its own process, same attack:

- bare: aiosmtpd with a handler that stores nothing (the baseline: aiosmtpd keeps
  each unfinished message in memory);
- nocaps: our listener with the caps off (sessions unlimited, no spooling, no cap on
  bytes in flight), i.e. the listener as the attack found it;
- canary: our listener with its default caps.

Printed per server: resident memory before, at its peak during the flood and after;
megabytes the flood got the server to accept; legitimate messages answered 250; and
the ratio of each peak growth to the bare baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

LINE = b"x" * 998 + b"\r\n"
CHUNK = LINE * 1024  # ~1 MB


# -- servers (each in a child process) -----------------------------------------------


async def serve(kind: str, port_file: Path, db: str) -> None:
    loop = asyncio.get_running_loop()
    if kind == "bare":
        from aiosmtpd.smtp import SMTP

        class Bare:
            async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
                envelope.rcpt_tos.append(address)
                return "250 2.1.5 OK"

            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                return "250 2.0.0 Ok"

        srv = await loop.create_server(
            lambda: SMTP(Bare(), data_size_limit=64 << 20, hostname="mx.bench", loop=loop),
            "127.0.0.1",
            0,
        )
        port = srv.sockets[0].getsockname()[1]
    else:
        from smtp_support import make_config, seed

        from canary.store.engine import open_store
        from listeners.smtp import start_smtp

        store = open_store(db)
        seed(store)
        cfg = make_config(command_timeout=300.0)
        if kind == "nocaps":
            cfg.smtp.max_sessions = 0
            cfg.smtp.max_sessions_per_peer = 0
            cfg.smtp.spool_memory_bytes = 1 << 40
            cfg.smtp.max_inflight_bytes = 0
        listener = await start_smtp(store, cfg, "127.0.0.1", 0)
        port = listener.port
    port_file.write_text(str(port))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


def rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.split()[0] if v.split() else "0"
    return int(fields.get("VmRSS", 0)) // 1024, int(fields.get("VmHWM", 0)) // 1024


# -- the attack and the legitimate sender -----------------------------------------------


async def flood_session(
    port: int, source: str, mb: int, sent: list[int]
) -> asyncio.StreamWriter | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError:
        return None
    try:
        banner = await asyncio.wait_for(reader.readline(), 30)
        if not banner.startswith(b"220"):
            writer.close()
            return None
        for cmd in (
            b"EHLO f.example",
            b"MAIL FROM:<f@f.example>",
            b"RCPT TO:<maria.quintero0@canary.example>",
            b"DATA",
        ):
            writer.write(cmd + b"\r\n")
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if line[3:4] != b"-":
                    break
        for _ in range(mb):
            writer.write(CHUNK)
            await asyncio.wait_for(writer.drain(), 60)
            sent[0] += len(CHUNK)
    except (TimeoutError, OSError):
        pass
    return writer


def legit(port: int, n: int) -> int:
    ok = 0
    for i in range(n):
        try:
            with smtplib.SMTP(
                "127.0.0.1", port, timeout=20, source_address=("127.0.0.200", 0)
            ) as s:
                s.sendmail(
                    "a@b.example",
                    ["maria.quintero0@canary.example"],
                    b"Subject: legit %d\r\n\r\nhi\r\n" % i,
                )
                ok += 1
        except (OSError, smtplib.SMTPException):
            pass
    return ok


async def attack(
    pid: int, port: int, sessions: int, mb: int, peers: int, n_legit: int
) -> dict[str, float]:
    before = rss(pid)[0]
    sent = [0]
    peak = before
    tasks = [
        asyncio.ensure_future(flood_session(port, f"127.0.1.{1 + i % peers}", mb, sent))
        for i in range(sessions)
    ]
    legit_task = asyncio.ensure_future(asyncio.to_thread(legit, port, n_legit))
    deadline = time.monotonic() + 300
    while not all(t.done() for t in tasks) and time.monotonic() < deadline:
        peak = max(peak, rss(pid)[0])
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)  # let the server read what the kernel still buffers
    delivered = await legit_task
    peak = max(peak, *rss(pid))
    writers = [
        t.result() for t in tasks if t.done() and not t.cancelled() and t.exception() is None
    ]
    for w in writers:
        if w is not None:
            with contextlib.suppress(Exception):
                w.close()
    for t in tasks:
        t.cancel()
    await asyncio.sleep(3)
    after, hwm = rss(pid)
    peak = max(peak, hwm)
    return {
        "before": before,
        "peak": peak,
        "after": after,
        "sent_mb": sent[0] / (1 << 20),
        "legit": delivered,
    }


def run(kind: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        port_file = Path(d) / "port"
        db = f"sqlite:///{Path(d) / 'flood.db'}"
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port-file", str(port_file), "--db", db]
        )
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"{kind} server did not start")
                time.sleep(0.05)
            port = int(port_file.read_text())
            return asyncio.run(
                attack(proc.pid, port, args.sessions, args.mb, args.peers, args.legit)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--mb", type=int, default=10)
    ap.add_argument("--peers", type=int, default=20)
    ap.add_argument("--legit", type=int, default=20)
    ap.add_argument("--serve")
    ap.add_argument("--port-file")
    ap.add_argument("--db")
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, Path(args.port_file), args.db))
        return
    print(
        f"flood: {args.sessions} sessions x {args.mb} MB unfinished DATA from {args.peers} "
        f"addresses; {args.legit} legitimate messages from another address"
    )
    results = {kind: run(kind, args) for kind in ("bare", "nocaps", "canary")}
    base = max(1.0, results["bare"]["peak"] - results["bare"]["before"])
    cols = ("server", "RSS before", "peak", "after", "flood sent", "legit 250", "growth/bare")
    print("{:8} {:>10} {:>8} {:>8} {:>15} {:>10} {:>12}".format(*cols))
    for kind, r in results.items():
        grown = r["peak"] - r["before"]
        print(
            f"{kind:8} {r['before']:>8.0f}MB {r['peak']:>6.0f}MB {r['after']:>6.0f}MB "
            f"{r['sent_mb']:>13.0f}MB {r['legit']:>5.0f}/{args.legit:<4} {grown / base:>11.2f}x"
        )


if __name__ == "__main__":
    main()
