"""Webhook throughput: durable hits vs a bare Starlette endpoint, same server, same load.

Run by hand:  python bench/webhooks.py [--runs 3] [--duration 10] [--connections 64]
                                      [--db sqlite|postgresql+psycopg://...]

Both servers are the same uvicorn settings (listeners.serve.uvicorn_config, plain
asyncio loop, httptools) in a subprocess pinned to CPU 0; wrk (Debian's `wrk`)
runs pinned to CPU 1 and posts signed Twilio SMS webhooks, each with its own
MessageSid (pre-signed with the twilio library, so every request makes a new hit).

- bare: a Starlette route that reads the body and answers `<Response/>`, nothing stored;
- canary: listeners.webhooks.create_app over a fresh store (SQLite file, or a fresh
  schema on the PostgreSQL server given by --db): signature check, parse, the raw
  request committed as a pending hit (group commit), then 200; attribution, incident,
  alert and hash chain after the answer (listeners.inbox).

Prints the median requests/second of each over the runs and the ratio; the server
process's CPU time per request of each (a ratio that holds when other work shares
the machine); checks that the canary store holds one hit per 2xx answer; and how long
the inbox took to drain after the load stopped (every hit attributed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import drop_schemas, scratch_schema  # noqa: E402

PUBLIC_URL = "https://hooks.example.org"
TOKEN = "bench-token-0123456789abcdef0123"
CANARY = "+525512345678"
LUA = r"""
local reqs = {}
local n = 0
local i = 0
init = function(args)
  for line in io.lines(args[1]) do
    local sig, body = line:match("^([^\t]+)\t(.*)$")
    n = n + 1
    reqs[n] = wrk.format("POST", "/hooks/twilio/sms",
      {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = sig},
      body)
  end
  i = math.random(n)
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
"""


def serve(mode: str, port: int, db: str) -> None:
    """The server process: `bare` or `canary` under the shared uvicorn settings."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from canary.config import Config
    from canary.store.engine import open_store, sqlite_path
    from listeners.serve import (
        QuietServer,
        bind,
        settle_heap,
        share_the_interpreter,
        uvicorn_config,
    )
    from listeners.webhooks import create_app

    if mode == "bare":

        async def hook(request: Request) -> Response:
            await request.body()
            return Response("<Response/>", media_type="text/xml")

        app = Starlette(routes=[Route("/hooks/twilio/sms", hook, methods=["POST"])])
    else:
        cfg = Config()
        cfg.listen.public_url = PUBLIC_URL
        cfg.providers.twilio.auth_token = TOKEN
        store = open_store(db, create=sqlite_path(db) is not None)
        app = create_app(store, cfg)
    share_the_interpreter()  # as `canary serve` does (both modes)
    settle_heap()  # likewise: start-up's objects out of the collector's passes
    server = QuietServer(uvicorn_config(app))
    asyncio.run(server.serve(sockets=[bind("127.0.0.1", port, "http")]))


def _plant(store: object) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.alerts_support import add_copy

    add_copy(store, "Vendor A", phones=[CANARY])  # type: ignore[arg-type]
    add_copy(store, "Vendor B", phones=["+525587654321"])  # type: ignore[arg-type]


def fresh_store(kind: str, tmp: Path, tag: str) -> str:
    """A new store with the two copies planted: a SQLite file, or a new PostgreSQL schema."""
    from canary.store.engine import open_store

    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{tag}.db'}"
    else:
        url = scratch_schema(kind, f"bench_webhooks_{os.getpid()}_{tag}")
    store = open_store(url)
    _plant(store)
    store.dispose()
    return url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_counts(url: str) -> tuple[int, int]:
    """(hits, hits still pending in the inbox) of a store."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as c:
            hits = int(c.execute(text("select count(*) from hits")).scalar() or 0)
            pending = int(c.execute(text("select count(*) from hit_inbox")).scalar() or 0)
    finally:
        eng.dispose()
    return hits, pending


def make_requests(path: Path, count: int, tag: str) -> None:
    from twilio.request_validator import RequestValidator

    v = RequestValidator(TOKEN)
    url = PUBLIC_URL + "/hooks/twilio/sms"
    with path.open("w") as f:
        for i in range(count):
            params = {
                "MessageSid": f"SM{tag}{i:09d}",
                "AccountSid": "AC0123456789",
                "From": "+5218441234567",
                "To": CANARY,
                "Body": "Hola, te escribimos de la campaña para invitarte al evento del sábado",
                "NumMedia": "0",
                "SmsStatus": "received",
            }
            f.write(v.compute_signature(url, params) + "\t" + urlencode(params) + "\n")


def wrk_run(
    port: int, script: Path, reqs: Path, duration: int, conns: int
) -> tuple[float, int, int, str]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{duration}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
            "--",
            str(reqs),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = re.search(r"Latency\s+(\S+)", out)
    return rps, total, int(m.group(1)) if m else 0, lat.group(1) if lat else "?"


def one(
    mode: str, tmp: Path, script: Path, reqs: Path, args: argparse.Namespace
) -> tuple[float, float]:
    """(requests/s, server CPU ms per request) of one run of `mode`."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = fresh_store(args.db, tmp, f"{mode}{time.monotonic_ns()}") if mode == "canary" else "-"
    proc = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, __file__, "--serve", mode, str(port), db]
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        time.sleep(0.5)
        cpu0 = cpu_seconds(proc.pid)
        rps, total, bad, latency = wrk_run(port, script, reqs, args.duration, args.connections)
        cpu = cpu_seconds(proc.pid) - cpu0
        load_cpu = cpu
        note = ""
        if mode == "canary":
            stopped = time.monotonic()
            hits, pending = store_counts(db)
            while pending:
                time.sleep(0.2)
                hits, pending = store_counts(db)
            drain = time.monotonic() - stopped
            # Requests still in flight when wrk stops are committed but not counted by wrk.
            note = (
                f"\n        hits stored {hits} (2xx answers {total - bad}); inbox drained"
                f" {drain:.1f} s after the load stopped"
            )
            if hits < total - bad:
                note += "  MISSING HITS"
            cpu = cpu_seconds(proc.pid) - cpu0  # attribution included
            note += (
                f"; server CPU {1000 * load_cpu / max(total, 1):.3f} ms/request during the"
                " load, the rest attributing"
            )
    finally:
        proc.terminate()
        proc.wait(60)
    per = 1000 * cpu / max(total, 1)
    print(
        f"{mode:7s} {rps:9.0f} req/s  mean latency {latency}  ({total} requests, {bad} non-2xx)"
        f"  server CPU {per:.3f} ms/request{note}",
        flush=True,
    )
    return rps, per


def core_ceiling(kind: str, tmp: Path, batches: int = 10, size: int = 64) -> float:
    """Hits/s of canary.hits.record.record_in alone, batches of `size` (the durable-hit ceiling)."""
    from canary.hits.record import Observation, record_in
    from canary.store.engine import open_store

    store = open_store(fresh_store(kind, tmp, f"core{time.monotonic_ns()}"))
    n = 0
    start = time.perf_counter()
    for _ in range(batches):
        obs = []
        for _ in range(size):
            n += 1
            obs.append(
                Observation(
                    channel="sms",
                    identifier=CANARY,
                    sender="+528441234567",
                    summary="hola",
                    provider="twilio",
                    provider_message_id=f"SMcore{n}",
                    evidence=b"POST /hooks/twilio/sms HTTP/1.1\r\n" + b"x" * 600 + str(n).encode(),
                    evidence_type="message/http",
                    text="hola",
                )
            )
        with store.session() as session:
            record_in(session, obs)
    rate = n / (time.perf_counter() - start)
    store.dispose()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--requests", type=int, default=200_000, help="distinct signed requests")
    ap.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL")
    ap.add_argument("--serve", nargs=3, metavar=("MODE", "PORT", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    try:
        script = tmp / "post.lua"
        script.write_text(LUA)
        results: dict[str, list[float]] = {"bare": [], "canary": []}
        cpu: dict[str, list[float]] = {"bare": [], "canary": []}
        for run in range(args.runs):
            reqs = tmp / f"reqs-{run}.tsv"
            make_requests(reqs, args.requests, f"r{run}x")
            for mode in ("bare", "canary"):
                rps, per = one(mode, tmp, script, reqs, args)
                results[mode].append(rps)
                cpu[mode].append(per)
            reqs.unlink()
        ceiling = [core_ceiling(args.db, tmp) for _ in range(args.runs)]
        bare, ours = statistics.median(results["bare"]), statistics.median(results["canary"])
        spread = {k: f"{min(v):.0f}-{max(v):.0f}" for k, v in results.items()}
        cpu_bare, cpu_ours = statistics.median(cpu["bare"]), statistics.median(cpu["canary"])
        print(f"\nstore: {args.db.split('://')[0]}")
        print(f"median bare Starlette: {bare:.0f} req/s (spread {spread['bare']})")
        print(f"median durable hits:   {ours:.0f} req/s (spread {spread['canary']})")
        print(f"ratio: {ours / bare:.2f} (target >= 0.50); cpu count {os.cpu_count()}")
        print(
            f"server CPU per request: bare {cpu_bare:.3f} ms, ours {cpu_ours:.3f} ms with"
            f" attribution; ratio {cpu_bare / cpu_ours:.2f}"
        )
        print(
            f"canary.hits.record.record_in alone, batches of 64, same store kind: "
            f"{statistics.median(ceiling):.0f} hits/s (attribution and all in one transaction)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        drop_schemas()


if __name__ == "__main__":
    main()
