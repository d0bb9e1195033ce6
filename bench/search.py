"""Search over a large hit history: `canary.investigate.search.search` against the one
LIKE scan `canary hits --sender` does (queries.query_hits), same store, same run.

    python bench/search.py                 # 100k hits, SQLite, 5 repetitions
    python bench/search.py --hits 20000 --url postgresql+psycopg://postgres@127.0.0.1/test

Hits are written straight into the tables (attribution is not what is measured). Printed,
each a median: the baseline, a search with few matches, one matching most tiers, and one
with a filter; ratios against the baseline. Target: a search costs at most 10x the one
scan (it runs up to seven bounded queries, four of them LIKE scans).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from canary.investigate.queries import HitFilter, query_hits
from canary.investigate.search import SearchFilter, search
from canary.store.engine import Store, open_store
from canary.store.models import Hit
from canary.text import fold

WORDS = "hola promo oferta reunion vota campana lunes martes datos lista cliente".split()


def fill(store: Store, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        text = " ".join(rnd.choice(WORDS) for _ in range(40))
        if i % 1000 == 0:
            text += " gustavo"
        rows.append(
            {
                "observed_at": t0 + timedelta(seconds=i * 30),
                "channel": rnd.choice(["smtp", "sms", "whatsapp"]),
                "identifier": f"p{rnd.randrange(5000)}@canary.example",
                "identifier_kind": "email",
                "sender": f"sender{rnd.randrange(20000)}@spam.example",
                "summary": " ".join(rnd.choice(WORDS) for _ in range(6)),
                "provider": "bench",
                "provider_message_id": f"m{i}",
                "evidence_sha256": None,
                "details": {},
                "classification": "unattributed",
                "incident_id": None,
                "search_text": fold(text),
            }
        )
    with store.session() as s:
        for i in range(0, n, 5000):
            s.execute(insert(Hit), rows[i : i + 5000])


def timed(fn: object, reps: int) -> float:
    assert callable(fn)
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--url", default="")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        store = open_store(a.url or f"sqlite:///{Path(d) / 'bench.db'}")
        t = time.perf_counter()
        fill(store, a.hits)
        print(f"{a.hits} hits written in {time.perf_counter() - t:.1f} s")

        def baseline() -> None:
            with store.session() as s:
                query_hits(s, HitFilter(sender="nobody-at-all", limit=50))

        base = timed(baseline, a.reps)
        print(f"baseline: one LIKE scan (hits --sender)  {base * 1000:8.1f} ms")
        cases = {
            "search 'nobody-at-all' (no match)": ("nobody-at-all", SearchFilter()),
            "search 'gustavo' (text tier)": ("gustavo", SearchFilter()),
            "search 'spam.example' (many senders)": ("spam.example", SearchFilter()),
            "search 'gustavo' --channel sms": ("gustavo", SearchFilter(channel="sms")),
        }
        for label, (q, flt) in cases.items():
            took = timed(lambda q=q, flt=flt: search(store, q, flt), a.reps)
            print(f"{label:<40} {took * 1000:8.1f} ms  ratio {took / base:5.2f}x (target <= 10x)")
        store.dispose()


if __name__ == "__main__":
    main()
