"""Canary ids: a new value in an id/folio column's own format that collides with nothing.

Numbered ids keep their prefix (or the mix of prefixes), zero padding and suffix; in
a column sorted by its id the value falls strictly between its neighbours', or there
is no value (None) when they leave no gap. Ids without a number keep their shape:
digits and capitals replaced at random.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from canary.synth.cells import id_number


def new_id(
    fmt: dict[str, Any] | None,
    values: list[str],
    taken: set[int],
    taken_text: set[str],
    r: random.Random,
    claim: Callable[[str], bool],
    *,
    sorted_: bool = False,
    prev: str | None = None,
    nxt: str | None = None,
    between: bool = False,
) -> str | None:
    """A free id. `claim(value)` reserves it (False if another canary holds it);
    `between` asks for a value strictly between `prev` and `nxt` (either may be None
    at the ends of the table)."""
    if not fmt:
        for _ in range(50):
            v = "".join(
                str(r.randint(0, 9))
                if ch.isdigit()
                else (r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") if ch.isupper() else ch)
                for ch in r.choice(values)
            )
            if v not in taken_text and claim(v):
                return v
        return None
    lo, hi = int(fmt["min"]), int(fmt["max"])
    prefix = str(fmt.get("prefix", ""))
    prefixes: dict[str, int] = fmt.get("prefixes") or {}
    if len(prefixes) > 1 and not (sorted_ and between):
        prefix = r.choices(list(prefixes), weights=list(prefixes.values()))[0]
    elif sorted_ and prev is not None:
        prefix = _id_prefix(prev, prefix)
    cap = 10 ** int(fmt["width"]) - 1 if fmt.get("width") else None
    if between:
        a = id_number(prev) if prev is not None else None
        b = id_number(nxt) if nxt is not None else None
        if (prev is not None and a is None) or (nxt is not None and b is None):
            return None
        gap = max(1, (hi - lo) // max(len(taken), 1))
        floor = 1 if lo >= 1 else 0  # a table numbered from 1 never shows a 0
        low = (a + 1) if a is not None else max(floor, (b or 0) - 3 * gap)
        high = (b - 1) if b is not None else (a or 0) + max(3 * gap, 10)
        candidates = _free_numbers(low, high, taken, r)
    else:
        span = max(hi - lo, len(taken), 10)
        high = hi + max(span // 20, 1000)
        start = hi + 1 if sorted_ else lo
        candidates = _free_numbers(start, high, taken, r)
    for n in candidates:
        if cap is not None and n > cap:
            continue  # zero-padded ids keep their width
        text = _format_id(n, fmt, prefix)
        if text not in taken_text and claim(text):
            return text
    return None


def _free_numbers(
    low: int, high: int, taken: set[int], r: random.Random, k: int = 200
) -> list[int]:
    """Up to `k` numbers in [low, high] not in `taken`, in random order, found by random
    probing so that a wide range is never enumerated."""
    if high < low:
        return []
    if high - low < 4 * k:
        free = [n for n in range(low, high + 1) if n not in taken]
        r.shuffle(free)
        return free
    picks: list[int] = []
    seen: set[int] = set()
    for _ in range(8 * k):
        n = r.randint(low, high)
        if n not in taken and n not in seen:
            seen.add(n)
            picks.append(n)
            if len(picks) >= k:
                break
    if picks:
        return picks
    free = [n for n in range(low, min(high, low + 100_000) + 1) if n not in taken]
    return r.sample(free, min(len(free), k))


def _format_id(n: int, fmt: dict[str, Any], prefix: str | None = None) -> str:
    width = int(fmt.get("width") or 0)
    lead = fmt.get("prefix", "") if prefix is None else prefix
    return f"{lead}{n:0{width}d}{fmt.get('suffix', '')}"


def _id_prefix(value: str, default: str) -> str:
    """The non-digit prefix of an id as written ("F-" of "F-00012")."""
    m = re.match(r"^(\D*)", value)
    return m.group(1) if m and m.group(1) else default
