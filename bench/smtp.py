"""SMTP ingestion benchmark: durable hits against a bare aiosmtpd handler, same run.

    python bench/smtp.py [--messages 5000] [--sessions 8] [--size 2048] [--reps 3]
                         [--db sqlite|postgresql+psycopg://...] [--load auto|smtp-source|python]

Each repetition starts a server process (pinned to core 0 when taskset exists) and
drives it with the same load (Postfix's smtp-source when installed, else a
multi-process smtplib generator, pinned to core 1):

- bare: aiosmtpd with a handler that answers 250 and stores nothing (the baseline);
- canary: `listeners.smtp.start_smtp` on a fresh store; every message becomes a hit
  committed before its 250 (checked: the hit count must equal the messages sent).

Prints messages/second for each, the medians and the ratio. Then the latency of
small messages (p50/p99), alone and while several 10 MB messages stream in: one
smtplib client for the small ones (pinned to core 1), and `--big` client processes
(also on core 1) sending 10 MB messages already dot-stuffed over a plain socket, so
what is measured is the server, not the clients (smtplib's dot-stuffing of 10 MB holds
its process's GIL about 50 ms: in one process with the small client, as the figures
before 2026-11-30 were taken, the small client waited for it). `--keep-whole` lifts the
per-sender evidence quota so every 10 MB message is stored whole (the store's worst
case; by default all come from 127.0.0.1, so after the first ten only 4 KB of each is
kept). The server's CPU time (user+sys) is printed after each run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scratch import drop_schemas, scratch_schema  # noqa: E402

CANARY_TO = "maria.quintero0@canary.example"
BIG = 10 * 1024 * 1024


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() else []


# -- server side (runs in a child process) ------------------------------------------


async def serve_bare(port_file: Path, max_bytes: int) -> None:
    from aiosmtpd.smtp import SMTP

    class Bare:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 2.0.0 Ok"

    loop = asyncio.get_running_loop()
    handler = Bare()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="mx.bench",
            ident="ESMTP",
            loop=loop,
        ),
        "127.0.0.1",
        0,
    )
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    _cpu_line("bare")


def _cpu_line(kind: str) -> None:
    user, system = os.times()[:2]
    print(f"  ({kind} server CPU {user:.1f}+{system:.1f} s user+sys)", file=sys.stderr)


async def serve_canary(port_file: Path, max_bytes: int, db: str, keep_whole: bool) -> None:
    from smtp_support import make_config

    from canary.store.engine import open_store
    from listeners.serve import share_the_interpreter
    from listeners.smtp import start_smtp

    share_the_interpreter()  # as `canary serve` does
    store = open_store(db)
    cfg = make_config(max_message_bytes=max_bytes, command_timeout=300.0, max_commands=10**9)
    cfg.store.max_evidence_bytes = max_bytes
    if keep_whole:
        cfg.smtp.evidence_quota_per_sender = cfg.smtp.evidence_quota_per_day = 2**62
    listener = await start_smtp(store, cfg, "127.0.0.1", 0)
    port_file.write_text(str(listener.port))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    committer = listener.handler.committer
    await listener.close()
    store.dispose()
    _cpu_line("canary")
    if committer.commits:
        print(
            f"  ({committer.committed} hits in {committer.commits} transactions, "
            f"{committer.committed / committer.commits:.1f} per commit)",
            file=sys.stderr,
        )


class Server:
    """A server child process; `port` once it listens."""

    def __init__(self, kind: str, db: str, max_bytes: int, keep_whole: bool = False) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.port_file = Path(self.dir.name) / "port"
        cmd = [*pin(0), sys.executable, __file__, "--serve", kind, "--port-file"]
        cmd += [str(self.port_file), "--db", db, "--max-bytes", str(max_bytes)]
        cmd += ["--keep-whole"] if keep_whole else []
        self.proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 60
        while not self.port_file.exists() or not self.port_file.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"{kind} server did not start")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.dir.cleanup()


# -- load side ----------------------------------------------------------------------


def _py_sender(port: int, count: int, size: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    body = b"Subject: bench\r\n\r\n" + (b"x" * 76 + b"\r\n") * max(1, size // 78)
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as c:
        for _ in range(count):
            c.sendmail("a@b.example", [CANARY_TO], body)
    out.put(count)


def _big_sender(port: int, payload: bytes, stop: Any, sent: Any) -> None:  # type: ignore[misc]
    """Send `payload` (a dot-stuffed message and its final dot) until `stop` is set."""
    if shutil.which("taskset"):
        os.sched_setaffinity(0, {1})
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        replies = s.makefile("rb")

        def reply() -> bytes:
            while True:
                line = replies.readline()
                if line[3:4] != b"-":
                    return line

        reply()
        s.sendall(b"EHLO big.bench\r\n")
        reply()
        envelope = f"MAIL FROM:<a@b.example>\r\nRCPT TO:<{CANARY_TO}>\r\nDATA\r\n".encode()
        while not stop.is_set():
            s.sendall(envelope)
            for _ in range(3):
                reply()
            s.sendall(payload)
            answer = reply()
            if not answer.startswith(b"250"):
                raise SystemExit(f"big message answered {answer!r}")
            with sent.get_lock():
                sent.value += 1
        s.sendall(b"QUIT\r\n")
        reply()


def run_load(port: int, messages: int, sessions: int, size: int, load: str) -> float:
    """Seconds to push `messages` through `sessions` connections."""
    if load == "smtp-source":
        cmd = [*pin(1), "smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size)]
        cmd += ["-d", "-c", "-f", "a@b.example", "-t", CANARY_TO, f"127.0.0.1:{port}"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0
    per = messages // sessions
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [mp.Process(target=_py_sender, args=(port, per, size, q)) for _ in range(sessions)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
        if shutil.which("taskset"):
            subprocess.run(["taskset", "-p", "-c", "1", str(p.pid)], stdout=subprocess.DEVNULL)
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    q.close()
    return elapsed


def fresh_db(kind: str, workdir: Path, rep: int) -> str:
    from smtp_support import seed

    from canary.store.engine import open_store

    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{rep}.db'}"
    else:  # a fresh schema on the server, so nobody else's tables are touched
        url = scratch_schema(kind, f"bench_{os.getpid()}_{rep}")
    store = open_store(url)
    seed(store)
    store.dispose()
    return url


def count_hits(url: str) -> int:
    from smtp_support import hit_count

    from canary.store.engine import open_store

    store = open_store(url)
    try:
        return hit_count(store)
    finally:
        store.dispose()


def throughput(args: argparse.Namespace, load: str, workdir: Path) -> None:
    bare: list[float] = []
    ours: list[float] = []
    n = args.messages - args.messages % args.sessions
    for rep in range(args.reps):
        for kind in ("bare", "canary"):
            db = fresh_db(args.db, workdir, rep) if kind == "canary" else "sqlite://"
            server = Server(kind, db, args.max_bytes)
            try:
                secs = run_load(server.port, n, args.sessions, args.size, load)
            finally:
                server.stop()
            rate = n / secs
            if kind == "canary":
                got = count_hits(db)
                if got != n:
                    raise SystemExit(f"canary server recorded {got} hits for {n} messages")
                ours.append(rate)
            else:
                bare.append(rate)
            print(f"rep {rep} {kind:7s} {rate:8.0f} msg/s", flush=True)
    mb, mo = statistics.median(bare), statistics.median(ours)
    print(f"bare aiosmtpd: median {mb:.0f} msg/s (spread {min(bare):.0f}-{max(bare):.0f})")
    print(f"canary (durable hits): median {mo:.0f} msg/s (spread {min(ours):.0f}-{max(ours):.0f})")
    print(f"ratio canary/bare: {mo / mb:.2f}")


def latency(args: argparse.Namespace, workdir: Path) -> None:
    """p50/p99 of small messages alone, then while `--big` 10 MB messages stream in."""
    db = fresh_db(args.db, workdir, 99)
    server = Server("canary", db, BIG + 1024 * 1024, args.keep_whole)
    small = b"Subject: small\r\n\r\n" + (b"x" * 98 + b"\r\n") * 10
    big = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * (BIG // 1000) + b".\r\n"
    if shutil.which("taskset"):
        os.sched_setaffinity(0, {1})  # the small client, as the load: core 1

    def measure(count: int) -> list[float]:
        lat = []
        with smtplib.SMTP("127.0.0.1", server.port, timeout=300) as c:
            for _ in range(count):
                t0 = time.perf_counter()
                c.sendmail("a@b.example", [CANARY_TO], small)
                lat.append(time.perf_counter() - t0)
        return lat

    def pct(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000

    try:
        alone = measure(args.latency_messages)
        stop = mp.Event()
        sent = mp.Value("i", 0)
        procs = [
            mp.Process(target=_big_sender, args=(server.port, big, stop, sent))
            for _ in range(args.big)
        ]
        for p in procs:
            p.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        loaded = measure(args.latency_messages)
        secs = time.perf_counter() - t0
        stop.set()
        for p in procs:
            p.join()
    finally:
        server.stop()
    print(f"small messages alone: p50 {pct(alone, 0.5):.1f} ms, p99 {pct(alone, 0.99):.1f} ms")
    kept = "whole" if args.keep_whole else "to the quota"
    print(
        f"with {args.big} senders of 10 MB messages ({sent.value} sent meanwhile, "
        f"{sent.value * 10 / secs:.0f} MB/s, kept {kept}): p50 {pct(loaded, 0.5):.1f} ms, "
        f"p99 {pct(loaded, 0.99):.1f} ms, max {max(loaded) * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--db", default="sqlite")
    ap.add_argument("--load", default="auto", choices=["auto", "smtp-source", "python"])
    ap.add_argument("--max-bytes", type=int, default=10 * 1024 * 1024)
    ap.add_argument("--big", type=int, default=3, help="concurrent 10 MB senders")
    ap.add_argument("--latency-messages", type=int, default=300)
    ap.add_argument("--keep-whole", action="store_true", help="store every 10 MB message whole")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--serve", choices=["bare", "canary"], help=argparse.SUPPRESS)
    ap.add_argument("--port-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        pf = Path(args.port_file)
        if args.serve == "bare":
            asyncio.run(serve_bare(pf, args.max_bytes))
        else:
            asyncio.run(serve_canary(pf, args.max_bytes, args.db, args.keep_whole))
        return
    load = args.load
    if load == "auto":
        load = "smtp-source" if shutil.which("smtp-source") else "python"
    print(
        f"load: {load}, {args.messages} messages of {args.size} bytes over {args.sessions} "
        f"sessions, {args.reps} repetitions, store {args.db.split('://')[0]}"
    )
    try:
        with tempfile.TemporaryDirectory() as d:
            if not args.skip_throughput:
                throughput(args, load, Path(d))
            if not args.skip_latency:
                latency(args, Path(d))
    finally:
        drop_schemas()


if __name__ == "__main__":
    main()
