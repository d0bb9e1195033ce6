"""Slow-HTTP benchmark: signed webhooks answered while slow sockets hold the listener.

    python bench/slow_http.py [--slow 300 2500] [--seconds 20] [--timeout 5]

A provider on 127.0.0.1 posts signed generic webhooks back to back for SECONDS, each
with a TIMEOUT-second client timeout (providers give up after a few seconds). At the
same time N slow clients from 127.0.0.2 and up (all of 127.0.0.0/8 is loopback on
Linux) open connections and send their headers, or their body, a byte a second, and
reconnect when cut. The webhook listener runs in its own process:

- plain: uvicorn as `canary serve` ran it before (no slow-client cuts, 503 past
  2000 connections);
- guarded: as `canary serve` runs it now (listeners.httpguard, 503 past 10000).

The slow clients run in a process of their own.

Printed for each listener and each N (N = 0 is the baseline: no attack): webhooks
sent, the share answered 2xx, their median and p99 latency, and the ratio of the
2xx share to the same listener's without the attack.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SECRET = "bench-generic-secret"


def serve(kind: str, port_file: Path, db: str) -> None:
    from canary.config import Config
    from canary.store.engine import open_store
    from listeners.serve import QuietServer, bind, guarded_config, http_limits, uvicorn_config
    from listeners.webhooks import create_app

    cfg = Config()
    cfg.providers.generic.secret = SECRET
    store = open_store(db)
    app = create_app(store, cfg)
    sock = bind("127.0.0.1", 0, "http")
    if kind == "guarded":
        ucfg = guarded_config(app, "http", http_limits(cfg))
    else:
        ucfg = uvicorn_config(app, limit_concurrency=2000)
    server = QuietServer(ucfg)
    port_file.write_text(str(sock.getsockname()[1]))
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    server.run(sockets=[sock])


async def slow_client(port: int, source: str, body: bool, until: float) -> None:
    """Send a request a byte a second; reconnect when cut, until `until`."""
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        try:
            head = b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\n"
            if body:
                head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            w.write(head)
            while loop.time() < until and not r.at_eof():
                await asyncio.sleep(1)
                w.write(b"x")
                await asyncio.wait_for(w.drain(), 5)
        except (TimeoutError, OSError):
            pass
        finally:
            w.close()
        await asyncio.sleep(1)  # cut: come back a second later, as a slowloris does


def signed(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"id": f"b{n}-{time.time_ns()}", "to": "+50688887777", "from": "+1555", "body": "hola"}
    ).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {
        "X-Canary-Timestamp": stamp,
        "X-Canary-Signature": "sha256=" + mac,
        "Content-Type": "application/json",
    }


async def provider(port: int, until: float, timeout: float) -> list[tuple[int, float]]:
    import httpx

    out: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()
    n = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as c:
        while loop.time() < until:
            body, headers = signed(n)
            n += 1
            t = time.perf_counter()
            try:
                status = (await c.post("/hooks/generic", content=body, headers=headers)).status_code
            except httpx.HTTPError:
                status = 0
            out.append((status, time.perf_counter() - t))
    return out


async def slow_clients(port: int, n_slow: int, seconds: float) -> None:
    until = asyncio.get_running_loop().time() + seconds
    slow = [
        slow_client(port, f"127.0.{2 + i // 2500}.{2 + (i // 10) % 250}", i % 2 == 1, until)
        for i in range(n_slow)
    ]
    await asyncio.gather(*slow, return_exceptions=True)


async def attack(port: int, n_slow: int, seconds: float, timeout: float) -> list[tuple[int, float]]:
    """The slow clients in a process of their own (so they do not slow the provider)."""
    attacker = None
    if n_slow:
        cmd = [sys.executable, __file__, "--attack", str(n_slow), "--port", str(port)]
        attacker = subprocess.Popen([*cmd, "--seconds", str(seconds + 5)])
        await asyncio.sleep(3)  # the attack is in place first
    try:
        until = asyncio.get_running_loop().time() + seconds
        return await provider(port, until, timeout)
    finally:
        if attacker is not None:
            attacker.kill()
            attacker.wait()


def run(kind: str, n_slow: int, args: argparse.Namespace) -> list[tuple[int, float]]:
    with tempfile.TemporaryDirectory() as d:
        port_file = Path(d) / "port"
        db = f"sqlite:///{Path(d) / 'hooks.db'}"
        from canary.store.engine import open_store

        open_store(db).dispose()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--port-file", str(port_file), "--db", db]
        )
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"{kind} server did not start")
                time.sleep(0.05)
            time.sleep(0.5)
            return asyncio.run(
                attack(int(port_file.read_text()), n_slow, args.seconds, args.timeout)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slow", type=int, nargs="+", default=[300, 2500])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--serve")
    ap.add_argument("--attack", type=int)
    ap.add_argument("--port", type=int)
    ap.add_argument("--port-file")
    ap.add_argument("--db")
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.serve:
        serve(args.serve, Path(args.port_file), args.db)
        return
    if args.attack:
        asyncio.run(slow_clients(args.port, args.attack, args.seconds))
        return
    print(f"signed webhooks for {args.seconds:g} s each run, client timeout {args.timeout:g} s")
    cols = ("listener", "slow", "sent", "2xx", "p50 ms", "p99 ms", "2xx vs no attack")
    print("{:8} {:>5} {:>6} {:>7} {:>8} {:>8} {:>17}".format(*cols))
    for kind in ("plain", "guarded"):
        base_share = 0.0
        for n_slow in [0, *args.slow]:
            res = run(kind, n_slow, args)
            ok = [lat for status, lat in res if 200 <= status < 300]
            share = len(ok) / max(1, len(res))
            base_share = share if n_slow == 0 else base_share
            lats = sorted(lat for _, lat in res)
            p50 = statistics.median(lats) * 1000 if lats else 0.0
            p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1000 if lats else 0.0
            print(
                f"{kind:8} {n_slow:>5} {len(res):>6} {share:>6.1%} {p50:>8.1f} {p99:>8.1f} "
                f"{share / base_share if base_share else 0:>16.2f}x"
            )


if __name__ == "__main__":
    main()
