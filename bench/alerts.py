"""Benchmark: what incidents and the alert outbox cost, against baselines in the same run.

1. Hit path: N hits on one copy, one transaction each (as the SMTP listener commits),
   with the real incidents (`assign`/`finish`: counters, first alert queued) against the
   same `record` with those replaced by no-ops (hits, attribution, chain only).
2. Outbox: M queued alerts delivered to a JSON-lines channel by `dispatch_due` (claim,
   render, append+fsync, mark sent) against a loop that only appends+fsyncs the same
   number of lines.

Run: .venv/bin/python bench/alerts.py [--hits 1000] [--alerts 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canary.alerts.outbox import dispatch_due, enqueue
from canary.config import Config
from canary.hits import record as hits_mod
from canary.hits.incidents import Plan
from canary.hits.record import Observation, record
from canary.store.engine import open_store
from tests.alerts_support import add_copy

CANARY = "ana.perez@avisos.example.org"


def hit_path(n: int, real: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/c.db")
        try:
            add_copy(store, "Vendor", CANARY)
            noop = contextlib.ExitStack()
            if not real:  # incidents.assign/finish as no-ops: hits, attribution, chain only
                noop.enter_context(
                    mock.patch.object(hits_mod.incidents, "assign", lambda s, h: Plan())
                )
                noop.enter_context(mock.patch.object(hits_mod.incidents, "finish", lambda s, p: []))
            with noop:
                t0 = time.perf_counter()
                for i in range(n):
                    record(store, [Observation("smtp", CANARY, sender=f"s{i}@x.example")])
                return n / (time.perf_counter() - t0)
        finally:
            store.dispose()


def outbox(m: int, real: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        cfg = Config()
        cfg.path = Path(d) / "canary.toml"
        cfg.alerts.channels = [{"type": "jsonl", "path": "a.jsonl"}]
        payload = {"kind": "first", "classification": "evidence", "incident": {"id": 1},
                   "hit": {"id": 1, "summary": "x" * 200}}  # fmt: skip
        if not real:
            line = (json.dumps(payload) + "\n").encode()
            t0 = time.perf_counter()
            fd = os.open(Path(d) / "b.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                for _ in range(m):
                    os.write(fd, line)
                    os.fsync(fd)
            finally:
                os.close(fd)
            return m / (time.perf_counter() - t0)
        store = open_store(f"sqlite:///{d}/c.db")
        try:
            with store.session() as s:
                for _ in range(m):
                    enqueue(s, "first", payload, channel="jsonl#0")
            t0 = time.perf_counter()
            sent = 0
            while sent < m:
                sent += len(dispatch_due(store, cfg).sent)
            return m / (time.perf_counter() - t0)
        finally:
            store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, default=1000)
    ap.add_argument("--alerts", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    for name, fn, n in (("hit path", hit_path, a.hits), ("outbox", outbox, a.alerts)):
        base: list[float] = []
        ours: list[float] = []
        for _ in range(a.repeat):  # interleaved, so a busy moment hits both
            base.append(fn(n, False))
            ours.append(fn(n, True))
        mb, mo = statistics.median(base), statistics.median(ours)
        print(
            f"{name:9} baseline {mb:8.0f}/s (spread {min(base):.0f}-{max(base):.0f})  "
            f"ours {mo:8.0f}/s (spread {min(ours):.0f}-{max(ours):.0f})  ratio {mo / mb:.2f}"
        )


if __name__ == "__main__":
    main()
