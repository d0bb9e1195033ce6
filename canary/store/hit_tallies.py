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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
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
