"""Hits counted per quarter of an hour, kept in the store for the charts over time.

The dashboard's home page charts the last 30 days' hits per day, by channel and by
best candidate copy. It read every hit of the period (at most the newest 20,000) and
counted them in Python: a second at a million hits, and wrong past the cap. The
counts are now kept in `hit_tallies`, one row per (series, quarter of an hour, key):

- series "channel", key the hit's channel: every hit, counted when it is stored
  (`received`: recorded at once, or stored as pending by a listener);
- series "copy", key the copy's id: a hit counted under its best candidate copy (rank
  0), when it gets its candidates (`attributed`: recorded at once, or a pending hit
  attributed by the inbox worker);
- series "copied", key "": hits with a candidate at all (the copy chart's "other" is
  these less the copies it names).

A hit's channel, time and candidates never change once written (marking it as noise
and restoring it change its classification only, which the charts do not count by),
and hits are never deleted, so the counts only grow: one upsert per changed row, which
concurrent writers add to. A quarter of an hour because the charts count days in the
organisation's zone, and every zone's offset from UTC today is a whole number of
quarters of an hour: a local day is a whole number of slots.

`recount` derives the same numbers from the hits (the migration's backfill and the
tests compare the two).

Ranking the copies of a 30-day period sums every (quarter of an hour, copy) row of the
period: at 1 million hits over 100,000 copies about 86,000 rows, 35-80 ms of SQLite's CPU
per page load. `CopyWindow` keeps those rows' per-copy totals in memory between page
loads and brings them up to date on each read: it reads the period's "copied" rows (one
per quarter of an hour, at most 31 x 96) and re-reads the copy rows of the quarters whose
"copied" count is not the sum it holds. The counts only grow and a quarter's "copied"
count is the sum of its copy rows, so an unchanged sum means unchanged rows: a late hit,
a pending hit attributed, a new hit, each re-reads its quarter of an hour only.
"""

from __future__ import annotations

import heapq
import threading
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Table,
    and_,
    case,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from canary.store.models import HitTally

SLOT = timedelta(minutes=15)
SLOT_SECONDS = 900
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHANNEL, COPY, COPIED = "channel", "copy", "copied"
#: How many of the largest keys `largest` reads in one query before it asks for ties.
FIRST_READ = 200

_TALLIES = cast(Table, HitTally.__table__)
#: `_add`'s upsert, written for the driver (SQLite's and psycopg's parameter marks).
_SQLITE_ADD = (
    "INSERT INTO hit_tallies (series, slot, key, hits) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (series, slot, key) DO UPDATE SET hits = hit_tallies.hits + excluded.hits"
)
_DRIVER_ADD = {"sqlite": _SQLITE_ADD, "postgresql": _SQLITE_ADD.replace("?", "%s")}

#: (series, slot, key) -> hits
Tallies = dict[tuple[str, int, str], int]


def slot_of(at: datetime) -> int:
    """The quarter of an hour (since 1970-01-01 UTC) that `at` falls in."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - EPOCH) // SLOT


def received(conn: Connection, hits: Iterable[tuple[datetime, str]]) -> None:
    """Count newly stored hits, (observed_at, channel) each."""
    _add(conn, Counter((CHANNEL, slot_of(at), channel) for at, channel in hits))


def received_upsert(
    dialect: str, hits: Iterable[tuple[datetime, str]]
) -> tuple[str, list[tuple[str, int, str, int]]]:
    """`received`'s upsert for the driver of `dialect` ("sqlite", "postgresql") and its
    rows, in `_add`'s key order: for a caller that sends it along with other statements
    (a PostgreSQL pipeline)."""
    counts = Counter((CHANNEL, slot_of(at), channel) for at, channel in hits)
    rows = [(s, slot, k, n) for (s, slot, k), n in sorted(counts.items()) if n]
    return _DRIVER_ADD[dialect], rows


def attributed(conn: Connection, hits: Iterable[tuple[datetime, str]]) -> None:
    """Count hits that got their candidates, (observed_at, best candidate copy id) each."""
    counts: Counter[tuple[str, int, str]] = Counter()
    for at, copy_id in hits:
        slot = slot_of(at)
        counts[(COPY, slot, copy_id)] += 1
        counts[(COPIED, slot, "")] += 1
    _add(conn, counts)


def _add(conn: Connection, counts: Counter[tuple[str, int, str]]) -> None:
    """Add to the rows (creating those missing), in key order: concurrent writers on
    PostgreSQL take the rows' locks in the same order."""
    rows = [
        {"series": s, "slot": slot, "key": k, "hits": n}
        for (s, slot, k), n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    t = _TALLIES
    dialect = conn.dialect.name
    if dialect in _DRIVER_ADD:  # through the driver: building the statement cost more
        conn.exec_driver_sql(
            _DRIVER_ADD[dialect], [(r["series"], r["slot"], r["key"], r["hits"]) for r in rows]
        )
        return
    if dialect in ("sqlite", "postgresql"):
        stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(t)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.series, t.c.slot, t.c.key],
                set_={"hits": t.c.hits + stmt.excluded.hits},
            ),
            rows,
        )
        return
    for row in rows:  # other backends: update, or insert when there was no row
        done = conn.execute(
            update(t)
            .where(t.c.series == row["series"], t.c.slot == row["slot"], t.c.key == row["key"])
            .values(hits=t.c.hits + row["hits"])
        )
        if not done.rowcount:
            conn.execute(t.insert(), row)


def _slot_sql(conn: Connection) -> str:
    """SQL for the slot of `h.observed_at` (UTC, naive text on SQLite)."""
    if conn.dialect.name == "sqlite":  # the seconds' fraction cut: strftime rounds it
        return f"CAST(strftime('%s', substr(h.observed_at, 1, 19)) AS INTEGER) / {SLOT_SECONDS}"
    return f"CAST(floor(extract(epoch FROM h.observed_at) / {SLOT_SECONDS}) AS INTEGER)"


def _recount_sql(conn: Connection) -> str:
    slot = _slot_sql(conn)
    return (
        f"SELECT '{CHANNEL}', {slot}, h.channel, count(*) FROM hits h GROUP BY 2, 3 "
        f"UNION ALL SELECT '{COPY}', {slot}, hc.copy_id, count(*) FROM hits h "
        "JOIN hit_copies hc ON hc.hit_id = h.id AND hc.rank = 0 GROUP BY 2, 3 "
        f"UNION ALL SELECT '{COPIED}', {slot}, '', count(*) FROM hits h "
        "WHERE EXISTS (SELECT 1 FROM hit_copies hc WHERE hc.hit_id = h.id AND hc.rank = 0) "
        "GROUP BY 2"
    )


def recount(conn: Connection) -> Tallies:
    """The counts derived from the hits and their best candidates."""
    return {
        (str(s), int(t), str(k)): int(n) for s, t, k, n in conn.execute(text(_recount_sql(conn)))
    }


def stored(conn: Connection) -> Tallies:
    """The counts kept (rows of zero left out)."""
    t = _TALLIES.c
    q = select(t.series, t.slot, t.key, t.hits).where(t.hits != 0)
    return {(str(s), int(sl), str(k)): int(n) for s, sl, k, n in conn.execute(q)}


def mismatches(conn: Connection) -> dict[tuple[str, int, str], tuple[int, int]]:
    """Rows whose kept count differs from a recount: key -> (kept, recounted)."""
    kept, actual = stored(conn), recount(conn)
    return {
        k: (kept.get(k, 0), actual.get(k, 0))
        for k in set(kept) | set(actual)
        if kept.get(k, 0) != actual.get(k, 0)
    }


def backfill(conn: Connection) -> None:
    """Replace the kept counts with a recount of the hits (one INSERT ... SELECT)."""
    conn.execute(delete(_TALLIES))
    conn.execute(text(f"INSERT INTO hit_tallies (series, slot, key, hits) {_recount_sql(conn)}"))


def _in_window(series: str, bounds: Sequence[int]) -> ColumnElement[bool]:
    t = _TALLIES.c
    return and_(t.series == series, t.slot >= bounds[0], t.slot < bounds[-1])


def per_bucket(
    conn: Connection, series: str, bounds: Sequence[int], keys: Collection[str] | None = None
) -> dict[str, list[int]]:
    """Hits per key and bucket: bucket i holds the slots from bounds[i] up to (not
    including) bounds[i + 1]. Only `keys` when given; keys without hits are left out."""
    n = len(bounds) - 1
    if n < 1:
        return {}
    t = _TALLIES.c
    # The bounds are ints of ours, written into the SQL: a GROUP BY over an expression
    # of bound parameters is not recognised by PostgreSQL as the selected one.
    whens = [(t.slot < literal_column(str(int(b))), i) for i, b in enumerate(bounds[1:-1])]
    bucket: ColumnElement[Any] = (
        case(*whens, else_=n - 1) if whens else literal_column("0", Integer)
    )
    q = (
        select(t.key, bucket.label("bucket"), func.sum(t.hits))
        .where(_in_window(series, bounds))
        .group_by(t.key, literal_column("bucket"))
    )
    if keys is not None:
        if not keys:
            return {}
        q = q.where(t.key.in_(sorted(keys)))
    out: dict[str, list[int]] = {}
    for key, b, hits in conn.execute(q):
        out.setdefault(str(key), [0] * n)[int(b)] += int(hits)
    return out


def largest(
    conn: Connection, series: str, bounds: Sequence[int], n: int
) -> tuple[list[tuple[str, int]], bool]:
    """The keys with the most hits between bounds[0] and bounds[-1], most first: the
    first `n` and every key tied with the n-th (for the caller to break ties its own
    way); and whether any key was left out."""
    t = _TALLIES.c
    total = func.sum(t.hits)
    grouped = select(t.key, total.label("total")).where(_in_window(series, bounds)).group_by(t.key)
    read = max(n, FIRST_READ)
    rows = [
        (str(k), int(v))
        for k, v in conn.execute(grouped.order_by(total.desc(), t.key).limit(read + 1))
    ]
    if len(rows) <= n:
        return rows, False
    last = rows[n - 1][1]
    kept = [r for r in rows if r[1] >= last]
    if len(rows) > read and rows[read - 1][1] == last:  # the ties go on past what was read
        tied = conn.execute(grouped.having(total == last).order_by(t.key))
        kept = [r for r in rows if r[1] > last] + [(str(k), int(v)) for k, v in tied]
    return kept, True


def bucketed(per_slot: Mapping[int, int], bounds: Sequence[int]) -> list[int]:
    """Counts per slot summed per bucket (bucket i: bounds[i] up to bounds[i + 1])."""
    out = [0] * max(len(bounds) - 1, 0)
    for slot, hits in per_slot.items():
        if bounds[0] <= slot < bounds[-1]:
            out[bisect_right(bounds, slot) - 1] += hits
    return out


@dataclass(frozen=True)
class Ranked:
    """`largest`'s answer for the copy series, and the period's "copied" counts per slot."""

    top: list[tuple[str, int]]
    more: bool
    copied: dict[int, int]


class CopyWindow:
    """The copy series' totals per copy over one period of slots, kept in memory between
    reads (the module's docstring says why they stay right). Thread-safe; one per engine
    (`copy_window`)."""

    #: Up to this many changed slots are re-read by name, more as one range.
    BY_NAME = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lo = self._hi = 0
        #: slot -> copy id -> hits, for the slots of [lo, hi) with copy rows
        self._slots: dict[int, dict[str, int]] = {}
        #: slot -> the sum of its copy rows (what its "copied" row should hold)
        self._sums: dict[int, int] = {}
        self._totals: dict[str, int] = {}
        self._ranked: dict[int, tuple[list[tuple[str, int]], bool]] = {}

    def largest(self, conn: Connection, bounds: Sequence[int], n: int) -> Ranked:
        """What `largest(conn, COPY, bounds, n)` answers, from the kept totals brought up
        to date; with the "copied" counts per slot of the period read to check them."""
        lo, hi = bounds[0], bounds[-1]
        t = _TALLIES.c
        with self._lock:
            copied = {
                int(slot): int(hits)
                for slot, hits in conn.execute(
                    select(t.slot, t.hits).where(_in_window(COPIED, bounds), t.key == "")
                )
            }
            self._move(lo, hi)
            changed = {s for s, c in copied.items() if self._sums.get(s, 0) != c}
            changed.update(s for s in self._sums if s not in copied)  # (never: counts grow)
            if changed:
                self._reload(conn, changed)
            top, more = self._rank(n)
            return Ranked(list(top), more, copied)

    def totals(self) -> dict[str, int]:
        """The kept totals per copy of the period last read (for the tests)."""
        with self._lock:
            return dict(self._totals)

    def _move(self, lo: int, hi: int) -> None:
        """Keep only the slots of [lo, hi): the others' rows leave the totals."""
        if (lo, hi) == (self._lo, self._hi):
            return
        if hi <= self._lo or lo >= self._hi:
            self._slots, self._sums, self._totals, self._ranked = {}, {}, {}, {}
        else:
            for slot in [s for s in self._slots if not lo <= s < hi]:
                self._drop(slot)
        self._lo, self._hi = lo, hi

    def _drop(self, slot: int) -> None:
        self._sums.pop(slot, None)
        rows = self._slots.pop(slot, None)
        if not rows:
            return
        totals = self._totals
        for key, hits in rows.items():
            left = totals[key] - hits
            if left:
                totals[key] = left
            else:
                del totals[key]
        self._ranked = {}

    def _reload(self, conn: Connection, changed: set[int]) -> None:
        """Read the copy rows of the changed slots again."""
        for slot in changed:
            self._drop(slot)
        t = _TALLIES.c
        q = select(t.slot, t.key, t.hits).where(t.series == COPY)
        if len(changed) <= self.BY_NAME:
            q = q.where(t.slot.in_(sorted(changed)))
        else:
            q = q.where(t.slot >= min(changed), t.slot <= max(changed))
        slots, sums, totals = self._slots, self._sums, self._totals
        for slot, key, hits in conn.execute(q):
            if slot not in changed or not hits:
                continue
            key = str(key)
            slots.setdefault(slot, {})[key] = hits
            sums[slot] = sums.get(slot, 0) + hits
            totals[key] = totals.get(key, 0) + hits
        self._ranked = {}

    def _rank(self, n: int) -> tuple[list[tuple[str, int]], bool]:
        """The first n keys by total and every key tied with the n-th, most first (ties
        by key); and whether any key was left out (as `largest`)."""
        if n in self._ranked:
            return self._ranked[n]
        totals = self._totals
        rows: list[tuple[str, int]]
        if len(totals) <= n or n < 1:
            rows, more = list(totals.items()), len(totals) > n
        else:
            last = heapq.nlargest(n, totals.values())[-1]
            rows = [(k, v) for k, v in totals.items() if v >= last]
            more = True
        done = (sorted(rows, key=lambda kv: (-kv[1], kv[0])), more)
        self._ranked[n] = done
        return done


_WINDOWS: weakref.WeakKeyDictionary[Engine, CopyWindow] = weakref.WeakKeyDictionary()
_WINDOWS_LOCK = threading.Lock()


def copy_window(engine: Engine) -> CopyWindow:
    """The kept copy totals of the store behind `engine` (one per engine)."""
    with _WINDOWS_LOCK:
        window = _WINDOWS.get(engine)
        if window is None:
            window = _WINDOWS[engine] = CopyWindow()
        return window
