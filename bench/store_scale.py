"""Benchmark the store at scale (run by hand): trace, hits pages, copies, identify start-up.

Builds, with bulk inserts, a store of CANARIES canaries (default 10,000,000; each an
email, a phone and a name), COPIES copies (100,000) and HITS hits (1,000,000, each on a
canary's address or number, one candidate copy), on SQLite and PostgreSQL (a schema
`canary_scale` of $CANARY_TEST_PG_URL's database, or --schema; dropped first), then measures in
process, against the same calls on an empty store (the baseline):

- `trace` of an address, a number written in national form and a name: p50, p99;
- `hits` first page (100 newest) with no filter and with each filter: p50, p99;
- `copies` (every copy with its counts);
- identify's start-up before it reads a dump (`load_index`: the needle index kept in
  the store, and the automaton), at most --identify-max canaries; and, once, the
  rebuild of that index that the first identify after a change of the register pays.

    python bench/store_scale.py [--canaries N] [--copies N] [--hits N]
        [--backend sqlite|postgresql] [--keep DIR | --reuse] [--schema NAME]
        [--identify-max N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, create_engine, insert, text

from canary.errors import InputError
from canary.investigate import needles
from canary.investigate.identify import Scanner, load_index
from canary.investigate.queries import HitFilter, list_copies, list_hits
from canary.investigate.trace import trace
from canary.store import copy_counts, hit_tallies
from canary.store.engine import Store, open_store
from canary.store.models import (
    Canary,
    Copy,
    Dataset,
    Domain,
    Hit,
    HitCopy,
    Identifier,
    name_key,
)

DOMAIN = "correo-seguro.test"
BATCH = 20_000
START = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = ("smtp", "sms", "whatsapp", "voice")


def email(n: int) -> str:
    return f"canary{n}x{n % 7}@{DOMAIN}"


def phone(n: int) -> str:
    return f"+52{8100000000 + n:010d}"


def name(n: int) -> str:
    return f"Nombre{n} Apellido{n % 997} Segundo{n % 991}"


def copy_id(c: int) -> str:
    return f"C{c:07d}"


def build(store: Store, canaries: int, copies: int, hits: int) -> None:
    per_copy = max(1, canaries // max(copies, 1))
    with store.engine.begin() as con:
        con.execute(insert(Domain), [{"name": DOMAIN, "added_at": START}])
        con.execute(
            insert(Dataset),
            [{"id": "D1", "name": "padron.csv", "source": "x", "format": "csv", "columns": []}],
        )
    for lo in range(0, copies, BATCH):
        with store.engine.begin() as con:
            _bulk(
                con,
                Copy,
                [
                    {
                        "id": copy_id(c),
                        "dataset_id": "D1",
                        "recipient": f"Partido {c}",
                        "issued_at": START + timedelta(minutes=c),
                        "path": "x",
                        "sha256": "0" * 64,
                        "format": "csv",
                        "meta": {},
                    }
                    for c in range(lo, min(copies, lo + BATCH))
                ],
            )
    for lo in range(0, canaries, BATCH):
        hi = min(canaries, lo + BATCH)
        with store.engine.begin() as con:
            _bulk(
                con,
                Canary,
                [
                    {
                        "id": n + 1,
                        "copy_id": copy_id(min(n // per_copy, copies - 1)),
                        "dataset_id": "D1",
                        "kind": "planted",
                        "values": {},
                        "created_at": START,
                    }
                    for n in range(lo, hi)
                ],
            )
            rows: list[dict[str, Any]] = []
            for n in range(lo, hi):
                p = phone(n)
                rows.append(_ident(n, "email", email(n)))
                rows.append(_ident(n, "phone", p, (p[3:], "52", "MX")))
                rows.append(_ident(n, "name", name(n), folded=name_key(name(n))))
            _bulk(con, Identifier, rows)
    rng = random.Random(7)
    for lo in range(0, hits, BATCH):
        hi = min(hits, lo + BATCH)
        targets = [rng.randrange(canaries) for _ in range(lo, hi)]
        with store.engine.begin() as con:
            _bulk(
                con,
                Hit,
                [
                    {
                        "id": h + 1,
                        "observed_at": START + timedelta(seconds=30 * h),
                        "channel": CHANNELS[h % 4],
                        "identifier": email(n) if h % 4 == 0 else phone(n),
                        "identifier_kind": "email" if h % 4 == 0 else "phone",
                        "sender": f"sender{h % 5000}@example.net",
                        "summary": "hola",
                        "provider": "bench",
                        "provider_message_id": f"m{h}",
                        "details": {},
                        "classification": "evidence" if h % 10 else "unattributed",
                    }
                    for h, n in zip(range(lo, hi), targets, strict=True)
                ],
            )
            _bulk(
                con,
                HitCopy,
                [
                    {
                        "hit_id": h + 1,
                        "copy_id": copy_id(min(n // per_copy, copies - 1)),
                        "rank": 0,
                        "score": 1.0,
                        "reason": "",
                        "canary_id": n + 1,
                    }
                    for h, n in zip(range(lo, hi), targets, strict=True)
                ],
            )
    # The copies' kept counts, as a plant and the attribution of each hit would have left
    # them (the bulk inserts bypass both): the backfill of migration 0011.
    t = time.perf_counter()
    with store.engine.begin() as con:
        copy_counts.backfill(con)
    print(f"  copy counts backfilled in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with store.engine.begin() as con:  # and the hits per quarter of an hour (0013's)
        hit_tallies.backfill(con)
    print(f"  hit tallies backfilled in {time.perf_counter() - t:.1f} s")
    with store.engine.begin() as con:
        if store.dialect == "postgresql":  # ids were given: move the sequences past them
            for table in ("canaries", "identifiers", "hits"):
                con.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )
        con.execute(text("ANALYZE"))


def _bulk(con: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows: PostgreSQL's COPY (several times faster than INSERT), else INSERT."""
    if not rows:
        return
    if con.dialect.name != "postgresql":
        con.execute(insert(model), rows)
        return
    table = model.__table__
    # COPY applies the server's defaults only: add the model's own (Python) defaults.
    extra = {
        c.key: (c.default.arg if c.default.is_scalar else c.default.arg(None))
        for c in table.columns
        if c.key not in rows[0] and c.default is not None and c.key != "id"
    }
    rows = [{**extra, **r} for r in rows] if extra else rows
    cols = list(rows[0])
    json_cols = {c for c in cols if isinstance(table.c[c].type, JSON)}
    raw = con.connection.driver_connection
    assert raw is not None
    names = ", ".join(cols)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_cols else row[c] for c in cols])


def _ident(
    n: int,
    kind: str,
    value: str,
    parts: tuple[str, str, str] | None = None,
    folded: str | None = None,
) -> dict[str, Any]:
    """An identifier row with the forms the store's insert hooks would add."""
    national, cc, region = parts or (None, None, None)
    return {
        "canary_id": n + 1,
        "kind": kind,
        "value": value,
        "raw": value,
        "national": national,
        "country_code": cc,
        "region": region,
        "folded": folded,
    }


def tolerant(fn: Callable[[], Any]) -> Callable[[], Any]:
    """On the empty store a national form has no region to be read in: an error, timed."""

    def run() -> Any:
        try:
            return fn()
        except InputError:
            return None

    return run


def timings(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """(p50, p99, p50 of this process's CPU time) in ms: on a loaded machine the wall
    time is mostly waiting for a core."""
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    times.sort()
    return (
        statistics.median(times),
        times[min(len(times) - 1, int(len(times) * 0.99))],
        statistics.median(cpu),
    )


def measure(
    store: Store,
    canaries: int,
    copies: int,
    hits: int,
    repeat: int,
    identify_max: int,
    only_identify: bool = False,
) -> dict[str, tuple[float, float, float]]:
    rng = random.Random(11)
    out: dict[str, tuple[float, float, float]] = {}
    if canaries <= identify_max:
        # the first identify after the register changed rebuilds the stored needle index;
        # the others read it (start-up: load the index, build the automaton)
        with store.engine.begin() as con:
            con.execute(text("DELETE FROM needle_index"))
        out["index rebuild (register changed)"] = timings(lambda: needles.load(store), 1)
        out["identify start-up"] = timings(lambda: Scanner(load_index(store)).engine, 3)
    if only_identify:
        return out

    def n_of() -> int:
        return rng.randrange(max(canaries, 1))

    out["trace email"] = timings(lambda: trace(store, email(n_of())), repeat)
    out["trace phone (national form)"] = timings(
        tolerant(lambda: trace(store, (lambda p: f"{p[3:6]} {p[6:9]} {p[9:]}")(phone(n_of())))),
        repeat,
    )
    out["trace name"] = timings(lambda: trace(store, name(n_of()).upper()), repeat)
    since = START + timedelta(seconds=30 * hits // 2)
    filters = {
        "none": HitFilter(),
        "copy": HitFilter(copy=copy_id(rng.randrange(max(copies, 1)))),
        "channel": HitFilter(channel="sms"),
        "since": HitFilter(since=since),
        "until": HitFilter(until=since),
        "recipient": HitFilter(recipient=f"Partido {rng.randrange(max(copies, 1))}"),
        "sender": HitFilter(sender="sender42@"),
        "sender, common text": HitFilter(sender="@EXAMPLE.net"),
        "sender, 2 characters": HitFilter(sender="r4"),
        "classification": HitFilter(classification="unattributed"),
        "identifier": HitFilter(identifier=phone(1)),
    }
    for label, flt in filters.items():
        flt.limit = 100
        out[f"hits first page, {label}"] = timings(lambda f=flt: list_hits(store, f), repeat)
    out["copies"] = timings(lambda: list_copies(store), 3)
    return out


def pg_url(schema: str, *, drop: bool = True) -> str:
    base = os.environ.get("CANARY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(base)
    with admin.begin() as con:
        if drop:
            con.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        con.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--canaries", type=int, default=10_000_000)
    ap.add_argument("--copies", type=int, default=100_000)
    ap.add_argument("--hits", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--identify-max", type=int, default=1_000_000)
    ap.add_argument("--only-identify", action="store_true", help="identify's start-up only")
    ap.add_argument("--keep", help="SQLite: build the store in this folder, reuse it if there")
    ap.add_argument("--reuse", action="store_true", help="PostgreSQL: reuse the schema")
    ap.add_argument(
        "--schema", default="canary_scale", help="PostgreSQL: the store's schema (and SCHEMA_empty)"
    )
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        keep = Path(a.keep) if a.keep else None
        reuse = keep is not None and (keep / "scale.db").exists()
        if a.backend == "sqlite":
            where = keep or Path(tmp)
            where.mkdir(parents=True, exist_ok=True)
            urls = (f"sqlite:///{tmp}/empty.db", f"sqlite:///{where}/scale.db")
        else:
            reuse = a.reuse
            urls = (pg_url(f"{a.schema}_empty"), pg_url(a.schema, drop=not reuse))
        empty, big = open_store(urls[0]), open_store(urls[1])
        build(empty, 0, 0, 0)
        if not reuse:
            t = time.perf_counter()
            build(big, a.canaries, a.copies, a.hits)
            print(
                f"{a.backend}: {a.canaries:,} canaries, {a.copies:,} copies, {a.hits:,} hits "
                f"built in {time.perf_counter() - t:.0f} s"
            )
        base = measure(empty, 0, 0, 0, a.repeat, a.identify_max, a.only_identify)
        scale = measure(
            big, a.canaries, a.copies, a.hits, a.repeat, a.identify_max, a.only_identify
        )
        targets = {
            "trace": 5.0,
            "hits": 100.0,
            "copies": 1000.0,
            "identify": 2000.0,
            "index": float("inf"),
        }
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for key, (p50, p99, cpu) in scale.items():
            b99 = base.get(key, (0.0, 0.0, 0.0))[1]
            target = next(v for k, v in targets.items() if key.startswith(k))
            mark = "ok" if p99 <= target else "OVER"
            print(
                f"  {key:37} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  cpu p50 {cpu:7.1f} ms"
                f"  (empty store p99 "
                f"{b99:6.1f} ms; target {target:,.0f} ms: {mark})"
            )
        if "identify start-up" not in scale:
            print(f"  identify start-up not measured above {a.identify_max:,} canaries")
        empty.dispose()
        big.dispose()


if __name__ == "__main__":
    main()
