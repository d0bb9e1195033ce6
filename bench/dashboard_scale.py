"""Benchmark the dashboard's pages on a store built by bench/store_scale.py (run by hand).

Opens the store store_scale.py kept (SQLite: --keep's folder; PostgreSQL: the schema
`canary_scale`, built without dropping it afterwards), adds what that build leaves out
(an admin user; incidents: one per copy named by an evidence hit among the newest
20,000 hits, those hits filed in it), and times each page in process (Starlette's test
client: routing, the queries and the template, no server or network), as of a minute
after the newest hit (so the home page's 30-day charts hold hits):

- home (incidents, newest hits, charts), home filtered by status, home with a hit
  recorded before each load (not timed; at the newest hit's time, or 20 days before);
- copies (the register), one copy's page (a copy with hits), an incident's page;
- a hit's page; search (an address, a sender's text, a canary's name); alerts.

    python bench/dashboard_scale.py --url sqlite:////path/scale.db [--repeat N]
    python bench/dashboard_scale.py --backend postgresql [--schema NAME] [--repeat N]
        [--only TEXT] [--parts] [--cold]

`--parts` also times the home page's parts alone (incidents, the ages chart's rows,
the newest hits, the charts over time, the alerts' state). The app is started as
`canary serve` starts it (listeners.admin_pages.warm, listeners.serve.settle_heap) unless
`--cold`, or the tree has neither.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select, text
from starlette.testclient import TestClient

import listeners.admin_pages
import listeners.serve
from canary.hits.record import Observation, record
from canary.investigate import history, queries
from canary.store import users
from canary.store.engine import Store, open_store
from canary.store.models import Hit, Identifier, Incident, User
from listeners import admin_alerts
from listeners.admin import create_app

RECENT = 20_000


def prepare(store: Store) -> None:
    with store.session() as s:
        if s.scalar(select(User).where(User.username == "bench")) is None:
            users.add_user(store, "bench", "bench password", "admin")
        if s.scalar(select(func.count()).select_from(Incident)):
            return
        top = int(s.scalar(select(func.max(Hit.id))) or 0)
    t = time.perf_counter()
    with store.engine.begin() as con:
        con.execute(
            text(
                "INSERT INTO incidents (copy_id, key, opened_at, last_hit_at, hit_count, "
                "alerted_hit_count, status, meta) "
                "SELECT hc.copy_id, 'copy:' || hc.copy_id, min(h.observed_at), "
                "max(h.observed_at), count(*), 1, 'open', '{}' FROM hit_copies hc "
                "JOIN hits h ON h.id = hc.hit_id "
                "WHERE h.id > :lo AND h.classification = 'evidence' GROUP BY hc.copy_id"
            ),
            {"lo": top - RECENT},
        )
        con.execute(
            text(
                "UPDATE hits SET incident_id = (SELECT i.id FROM incidents i "
                "JOIN hit_copies hc ON hc.copy_id = i.copy_id WHERE hc.hit_id = hits.id) "
                "WHERE id > :lo AND classification = 'evidence'"
            ),
            {"lo": top - RECENT},
        )
        con.execute(text("ANALYZE"))
    print(f"  incidents for the newest {RECENT:,} hits filed in {time.perf_counter() - t:.1f} s")


T = TypeVar("T")


def clocked(fn: Callable[[], T]) -> tuple[T, float, float]:
    """`fn()`'s result, its wall time and this process's CPU time, in ms."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000


def timings(
    client: TestClient, path: str, repeat: int, before: Callable[[int], None] | None = None
) -> tuple[float, float, float, float, float, float]:
    """(p50, p99, p50 of this process's CPU time, p99 of it, the first load's wall and
    CPU) in ms. The p50s and p99s include the first load (the process's first page
    compiles its templates; the home page's first also reads the copy totals it keeps)."""
    times, cpu = [], []
    for i in range(repeat):
        if before is not None:
            before(i)
        r, wall, used = clocked(lambda: client.get(path))
        times.append(wall)
        cpu.append(used)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    first = (times[0], cpu[0])
    times.sort()
    cpu.sort()
    p99 = min(len(times) - 1, int(len(times) * 0.99))
    return (
        statistics.median(times),
        times[p99],
        statistics.median(cpu),
        cpu[p99],
        *first,
    )


def hit_before(store: Store, newest: datetime) -> Callable[[int], None]:
    """Before each load, a hit recorded (not timed): at the newest hit's time, or every
    other one late (seen 20 days before it), on a random canary's address."""
    rng = random.Random(3)
    tag = uuid.uuid4().hex[:8]

    def one(i: int) -> None:
        at = newest - (timedelta(days=20) if i % 2 else timedelta())
        n = rng.randrange(1000)
        ident = f"canary{n}x{n % 7}@correo-seguro.test"  # store_scale.py's addresses
        msg = f"bench-{tag}-{i}"
        record(
            store,
            [Observation("smtp", ident, "s@x.example", observed_at=at, provider_message_id=msg)],
        )

    return one


def parts(store: Store, repeat: int) -> None:
    """The home page's parts timed alone (wall p50, CPU p50 of the process), as the page
    calls them: where its time goes."""
    from datetime import UTC

    from listeners import admin_charts
    from listeners.admin_text import TEXT

    now = listeners.admin_pages._now()
    span = admin_charts.Span(now - timedelta(days=29), now, UTC, "en", TEXT["en"])

    def incidents() -> None:
        with store.session() as s:
            history.list_incidents(s, limit=100)

    def ages() -> None:
        with store.session() as s:
            history.incident_ages(s, limit=500)

    calls = {
        "100 incidents": incidents,
        "500 incidents' ages (status filter)": ages,
        "50 newest hits": lambda: queries.list_hits(store, queries.HitFilter(limit=50)),
        "charts over time": lambda: listeners.admin_pages.hits_over_time(store, span),
        "alerts' state": lambda: admin_alerts.overview(store, None),
    }
    for label, fn in calls.items():
        runs = [clocked(fn) for _ in range(repeat)]
        times, cpu = [wall for _, wall, _ in runs], [used for _, _, used in runs]
        print(
            f"  part: {label:36} wall p50 {statistics.median(times):7.1f} ms"
            f"  cpu p50 {statistics.median(cpu):7.1f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="the store's URL (SQLite)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--schema", default="canary_scale", help="PostgreSQL: the schema")
    ap.add_argument("--only", help="only the pages whose label contains this text")
    ap.add_argument("--parts", action="store_true", help="also time the home page's parts")
    ap.add_argument(
        "--cold", action="store_true", help="no warm-up or settled heap before the first page"
    )
    a = ap.parse_args()
    if a.backend == "postgresql":
        base = os.environ.get(
            "CANARY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{a.schema}"
    else:
        url = a.url
    store = open_store(url)
    prepare(store)
    with store.session() as s:
        newest = s.scalar(select(func.max(Hit.observed_at)))
        hit = s.scalar(select(func.max(Hit.id)))
        inc = s.scalar(select(Incident).order_by(Incident.last_hit_at.desc()).limit(1))
        sender = s.scalar(select(Hit.sender).where(Hit.id == hit))
        ident = s.scalar(select(Hit.identifier).where(Hit.id == hit))
        name = s.scalar(
            select(Identifier.value)
            .where(Identifier.kind == "name")
            .order_by(Identifier.id.desc())
            .limit(1)
        )
    assert newest is not None and inc is not None and inc.copy_id is not None
    listeners.admin_pages._now = lambda: newest + timedelta(minutes=1)
    pages = {
        "home": "/",
        "home, open incidents": "/?status=open",
        "home, hit before each load": "/",
        "copies": "/copies",
        "copies, recipient filter": "/copies?recipient=partido%20123",
        "copy (with hits)": f"/copies/{inc.copy_id}",
        "incident": f"/incidents/{inc.id}",
        "hit": f"/hits/{hit}",
        "search form": "/search",
        "search, identifier": f"/search?q={ident}",
        "search, sender text": f"/search?q={sender}",
        "search, a name": f"/search?q={name}",
        "alerts": "/alerts",
    }
    app = create_app(store)
    if not a.cold:  # as `canary serve` starts the dashboard (trees that have these)
        warm = getattr(listeners.admin_pages, "warm", None)
        settle = getattr(listeners.serve, "settle_heap", None)
        if warm is not None and settle is not None:
            _, wall, used = clocked(lambda: (warm(store, None), settle()))
            print(f"  warm-up and heap settled: {wall:.0f} ms (cpu {used:.0f} ms)")
    if a.parts:
        parts(store, a.repeat)
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        token = client.get("/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = client.post(
            "/login",
            data={"csrf": token, "username": "bench", "password": "bench password"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.status_code
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for label, path in pages.items():
            if a.only and a.only not in label:
                continue
            before = hit_before(store, newest) if "hit before" in label else None
            p50, p99, cpu, cpu99, first, first_cpu = timings(client, path, a.repeat, before)
            mark = "ok" if p99 <= 100 else "OVER"
            print(
                f"  {label:28} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  cpu p50 {cpu:7.1f} ms"
                f"  cpu p99 {cpu99:7.1f} ms  first {first:7.1f} ms (cpu {first_cpu:6.1f})"
                f"  (target 100 ms: {mark})"
            )
    store.dispose()


if __name__ == "__main__":
    main()
