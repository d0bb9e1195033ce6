"""Orders a table's rows keep inside runs: a school roll sorted by grade and group, then
by both surnames and the given name. A canary placed in such a run takes names that sort
between its neighbours', as a sibling's or a namesake's would.

`run_order` finds the order from the rows; `fit_key` picks the names. `tie_orders` finds
the columns a sorted column's ties are sorted by (appointments by date, then by the hour
in a column of its own); `fit_tied` picks a value for one."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from canary.synth.cells import fold

__all__ = ["RunOrder", "TieOrder", "fit_key", "fit_tied", "run_order", "tie_orders"]

#: Share of neighbouring rows of a run whose names sort in order, at least, for the run
#: to count as sorted by them (a mistyped name breaks it now and then; rows in no order
#: keep about half).
IN_ORDER = 0.97
#: Neighbouring rows of a run needed to tell, and rows tied on the keys before a further
#: key needed to add it (else it orders nothing that could be seen).
MIN_PAIRS = 20
MIN_TIES = 5


@dataclass(frozen=True)
class RunOrder:
    """Rows with the same values in `runs` (none: the whole table) come sorted by the
    columns `keys`, the first first."""

    runs: tuple[int, ...]
    keys: tuple[int, ...]

    def same_run(self, a: Sequence[str], b: Sequence[str]) -> bool:
        return all(a[c] == b[c] for c in self.runs)


def run_order(
    rows: Sequence[Sequence[str]], runs: Sequence[int], candidates: Sequence[int]
) -> RunOrder | None:
    """The order of `candidates` (name columns) the rows keep inside their runs: the
    column most rows sort by first, then, among rows it ties, the next, while each keeps
    `IN_ORDER` of them in order. None when no column does."""
    pairs = [(a, b) for a, b in pairwise(rows) if all(a[c] == b[c] for c in runs)]
    if len(pairs) < MIN_PAIRS:
        return None
    keys: list[int] = []
    left = list(candidates)
    while left:
        tied = [(a, b) for a, b in pairs if all(fold(a[k]) == fold(b[k]) for k in keys)]
        if len(tied) < (MIN_PAIRS if not keys else MIN_TIES):
            break

        def share(c: int, tied: list[tuple[Sequence[str], Sequence[str]]] = tied) -> float:
            return sum(1 for a, b in tied if fold(a[c]) <= fold(b[c])) / len(tied)

        best = max(left, key=share)
        if share(best) < IN_ORDER or all(fold(a[best]) == fold(b[best]) for a, b in tied):
            break
        keys.append(best)
        left.remove(best)
    return RunOrder(tuple(runs), tuple(keys)) if keys else None


def fit_key(
    own: Sequence[str],
    lo: Sequence[str] | None,
    hi: Sequence[str] | None,
    pools: Sequence[Mapping[str, int]],
    r: random.Random,
) -> list[str]:
    """Values for the key columns that sort between the rows above and below (`lo` and
    `hi`, their key values as written; None for no bound): `own` where they already do;
    else, key by key, one of the column's own values (`pools`, value -> rows holding
    it) drawn by how common it is among those strictly between the bounds, the later
    keys left as they were; where none lies between, the bounding row's value (a tie,
    as a sibling's surname) and on to the next key."""
    key = [fold(v) for v in own]
    low = [fold(v) for v in lo] if lo is not None else None
    high = [fold(v) for v in hi] if hi is not None else None
    if (low is None or low <= key) and (high is None or key <= high):
        return list(own)
    out = list(own)
    for j, pool in enumerate(pools):
        a = low[j] if low is not None else None
        b = high[j] if high is not None else None
        if a is None and b is None:
            return out  # no bound is left on this key: as it was

        def strictly_between(v: str, a: str | None = a, b: str | None = b) -> bool:
            return (a is None or a < fold(v)) and (b is None or fold(v) < b)

        got = _drawn_between(pool, strictly_between, r)
        if got is not None:
            out[j] = got
            return out
        if lo is not None and a is not None:
            out[j] = lo[j]
        else:
            assert hi is not None
            out[j] = hi[j]
        # a bound whose value this key no longer equals bounds the later keys no more
        if a is not None and fold(out[j]) != a:
            low = None
        if b is not None and fold(out[j]) != b:
            high = None
    return out


@dataclass(frozen=True)
class TieOrder:
    """Rows the sorted column `outer` ties come sorted by column `inner` (`natural_key`);
    `unique`: no two rows hold the same pair (one appointment to a slot)."""

    outer: int
    inner: int
    unique: bool


def natural_key(value: str) -> tuple[tuple[int, int | str], ...]:
    """A value's sort key with its numbers as numbers ("9:45" before "10:00")."""
    parts = re.split(r"(\d+)", fold(value.strip()))
    return tuple((0, int(x)) if x.isdigit() else (1, x) for x in parts if x)


def tie_orders(
    rows: Sequence[Sequence[str]], outer: Sequence[int], candidates: Sequence[int]
) -> list[TieOrder]:
    """For each sorted column of `outer`, the first of `candidates` its ties keep in
    order (`IN_ORDER` of `MIN_PAIRS` neighbouring rows at least, not all equal)."""
    out = []
    for o in outer:
        tied = [(a, b) for a, b in pairwise(rows) if a[o].strip() and a[o] == b[o]]
        if len(tied) < MIN_PAIRS:
            continue
        for c in candidates:
            if c == o:
                continue
            pairs = [(natural_key(a[c]), natural_key(b[c])) for a, b in tied]
            if all(x == y for x, y in pairs):
                continue
            if sum(1 for x, y in pairs if x <= y) >= IN_ORDER * len(pairs):
                held = Counter((row[o], natural_key(row[c])) for row in rows if row[c].strip())
                unique = sum(k - 1 for k in held.values()) <= (1 - IN_ORDER) * len(rows)
                out.append(TieOrder(o, c, unique))
                break
    return out


def fit_tied(
    own: str,
    lo: str | None,
    hi: str | None,
    pool: Mapping[str, int],
    unique: bool,
    r: random.Random,
) -> str | None:
    """A value for a tie-sorted column between the values of the rows above and below
    that share the canary's value in the sorted column (`lo`, `hi`; None: no bound):
    `own` where it fits, else one of the column's values (`pool`, value -> rows) drawn
    by how common it is among those that fit; strictly between where no two rows hold
    the same pair. None where none fits."""
    a = natural_key(lo) if lo is not None else None
    b = natural_key(hi) if hi is not None else None

    def fits(v: str) -> bool:
        k = natural_key(v)
        if unique:
            return (a is None or a < k) and (b is None or k < b)
        return (a is None or a <= k) and (b is None or k <= b)

    if fits(own):
        return own
    return _drawn_between(pool, fits, r)


def _drawn_between(
    pool: Mapping[str, int], fits: Callable[[str], bool], r: random.Random
) -> str | None:
    """One of `pool`'s values (value -> rows holding it) that `fits`, drawn by how
    common it is; None where none fits."""
    between = [(v, n) for v, n in sorted(pool.items()) if fits(v)]
    if not between:
        return None
    return r.choices([v for v, _n in between], [n for _v, n in between])[0]
