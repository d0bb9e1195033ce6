"""The counts kept on each copy: canaries planted, evidence hits naming it alone or shared.

`canary copies` lists every copy with these counts. Counting them on each call (every
copy's canaries, and every evidence hit's candidates grouped twice) took seconds at
100,000 copies and a million hits, so they are kept on the copy and changed where
what they count changes:

- `Copy.canary_count`: set when the copy is issued or planted (canaries are never
  deleted; unplanting keeps them).
- `Copy.exclusive_hits` / `Copy.shared_hits`: an evidence hit naming one copy counts in
  that copy's `exclusive_hits`, one naming several counts in each one's `shared_hits`.
  `hits_changed` is called by the one place candidates are written
  (`canary.hits.record._link`, for hits recorded at once and for pending hits
  attributed by the inbox worker) and by the case workflow when a hit's
  classification moves in or out of "evidence" (marked as noise, restored).

`recount` derives the same numbers from the rows (the migration's backfill, `verify`'s
check and the tests compare the two).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Connection, Table, bindparam, case, func, select, update

from canary.store.models import Canary, Copy, Hit, HitCopy

EVIDENCE = "evidence"
_COPIES = cast(Table, Copy.__table__)

#: (canary_count, exclusive_hits, shared_hits)
Counts = tuple[int, int, int]


def hits_changed(conn: Connection, hits: Iterable[tuple[Iterable[str], int]]) -> None:
    """Apply evidence hits entering (+1) or leaving (-1) the counts.

    `hits`: (candidate copy ids, +1 or -1) per evidence hit whose classification became
    or stopped being "evidence", or that got its candidates while "evidence". One
    UPDATE ... SET n = n + delta per changed copy: concurrent writers add, never
    overwrite.
    """
    exclusive: Counter[str] = Counter()
    shared: Counter[str] = Counter()
    for copies, sign in hits:
        ids = list(dict.fromkeys(copies))
        if len(ids) == 1:
            exclusive[ids[0]] += sign
        else:
            for cid in ids:
                shared[cid] += sign
    rows = [
        {"cid": cid, "dx": exclusive[cid], "ds": shared[cid]}
        for cid in sorted(set(exclusive) | set(shared))
        if exclusive[cid] or shared[cid]
    ]
    if not rows:
        return
    c = _COPIES.c
    conn.execute(
        update(_COPIES)
        .where(c.id == bindparam("cid"))
        .values(
            exclusive_hits=c.exclusive_hits + bindparam("dx"),
            shared_hits=c.shared_hits + bindparam("ds"),
        ),
        rows,
    )


def reclassified(conn: Connection, copies: Iterable[str], before: str, after: str) -> None:
    """A hit with these candidates changed classification from `before` to `after`."""
    if (before == EVIDENCE) == (after == EVIDENCE):
        return
    hits_changed(conn, [(list(copies), 1 if after == EVIDENCE else -1)])


def recount(conn: Connection, copy_id: str | None = None) -> dict[str, Counts]:
    """Every copy's counts derived from the rows (or one copy's), for copies that have any."""
    canaries = select(Canary.copy_id, func.count()).where(Canary.copy_id.is_not(None))
    if copy_id is not None:
        canaries = canaries.where(Canary.copy_id == copy_id)
    out: dict[str, list[int]] = {}
    for cid, n in conn.execute(canaries.group_by(Canary.copy_id)):
        if cid is not None:
            out.setdefault(cid, [0, 0, 0])[0] = int(n)
    per_hit = (
        select(HitCopy.hit_id, func.count().label("n"))
        .join(Hit, Hit.id == HitCopy.hit_id)
        .where(Hit.classification == EVIDENCE)
        .group_by(HitCopy.hit_id)
        .subquery()
    )
    alone = case((per_hit.c.n == 1, 1), else_=0).label("alone")
    q = (
        select(HitCopy.copy_id, alone, func.count())
        .join(per_hit, per_hit.c.hit_id == HitCopy.hit_id)
        .group_by(HitCopy.copy_id, alone)
    )
    if copy_id is not None:
        q = q.where(HitCopy.copy_id == copy_id)
    for cid, is_alone, n in conn.execute(q):
        out.setdefault(cid, [0, 0, 0])[1 if is_alone else 2] += int(n)
    return {cid: (v[0], v[1], v[2]) for cid, v in out.items()}


def stored(conn: Connection, copy_id: str | None = None) -> dict[str, Counts]:
    """The counts kept on the copies (or one copy), for copies that have any."""
    c = _COPIES.c
    q = select(c.id, c.canary_count, c.exclusive_hits, c.shared_hits).where(
        (c.canary_count != 0) | (c.exclusive_hits != 0) | (c.shared_hits != 0)
    )
    if copy_id is not None:
        q = q.where(c.id == copy_id)
    return {cid: (int(a), int(b), int(d)) for cid, a, b, d in conn.execute(q)}


def mismatches(conn: Connection) -> dict[str, tuple[Counts, Counts]]:
    """Copies whose kept counts differ from a recount: id -> (kept, recounted)."""
    kept, actual = stored(conn), recount(conn)
    zero = (0, 0, 0)
    return {
        cid: (kept.get(cid, zero), actual.get(cid, zero))
        for cid in set(kept) | set(actual)
        if kept.get(cid, zero) != actual.get(cid, zero)
    }


def backfill(conn: Connection) -> int:
    """Write the recounted counts on every copy (zero where none); returns copies changed."""
    actual = recount(conn)
    kept = stored(conn)
    zero = (0, 0, 0)
    rows = [
        {"cid": cid, "a": v[0], "b": v[1], "d": v[2]}
        for cid in set(kept) | set(actual)
        if (v := actual.get(cid, zero)) != kept.get(cid, zero)
    ]
    c = _COPIES.c
    for lo in range(0, len(rows), 5000):
        conn.execute(
            update(_COPIES)
            .where(c.id == bindparam("cid"))
            .values(
                canary_count=bindparam("a"),
                exclusive_hits=bindparam("b"),
                shared_hits=bindparam("d"),
            ),
            rows[lo : lo + 5000],
        )
    return len(rows)
