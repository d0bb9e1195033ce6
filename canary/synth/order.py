"""Orders a table's rows keep inside runs: a school roll sorted by grade and group, then
by both surnames and the given name. A canary placed in such a run takes names that sort
between its neighbours', as a sibling's or a namesake's would.

`run_order` finds the order from the rows; `fit_key` picks the names."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from canary.synth.cells import fold

__all__ = ["RunOrder", "fit_key", "run_order"]

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
        between = [
            (v, n)
            for v, n in sorted(pool.items())
            if (a is None or a < fold(v)) and (b is None or fold(v) < b)
        ]
        if between:
            out[j] = r.choices([v for v, _n in between], [n for _v, n in between])[0]
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
