"""Rules a table's numbers keep across a row's columns: a total of its parts, a
quantity times a price, a tax at one rate, seniority pay at the rate of the row's group,
a lifetime sum never below one gift, a year or month of the row's date. `number_relations`
and `date_parts` read them off the rows; `keep_relations` and `keep_date_parts` make a
canary's numbers keep them."""

from __future__ import annotations

import bisect
import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from typing import cast

from canary.synth.cells import DateFormat, parse_number, write_number
from canary.synth.infer import Column

__all__ = [
    "DATE_JITTER",
    "DATE_ORDER_SHARE",
    "MIN_ORDERED_ROWS",
    "DateOrder",
    "DatePart",
    "NumberRelation",
    "date_orders",
    "date_parts",
    "keep_date_parts",
    "keep_relations",
    "later_date",
    "number_relations",
]

#: Two columns are in order when one is on or after the other in this share of the
#: rows holding both, of at least `MIN_ORDERED_ROWS` (dates too).
DATE_ORDER_SHARE = 0.98
MIN_ORDERED_ROWS = 20
#: A number is a sum or product of two others when it is so in this share of the rows
#: holding all three, among the first `RELATION_COLUMNS` numeric columns, on up to
#: `RELATION_ROWS` rows spread over the sample.
RELATION_SHARE = 0.95
RELATION_COLUMNS = 10
RELATION_ROWS = 400
#: rows a category's rate is read off, at least (`_rate_by`)
MIN_RATE_ROWS = 3


@dataclass(frozen=True)
class NumberRelation:
    """What a numeric column obeys in the table's rows: `target` is the sum of `parts`
    ("+", two or three: a total of a base salary, seniority and a bonus), their product
    ("*": a quantity times a price; one part times the rows' one ratio `gaps[0]`: a
    tax), one part times the rate of the row's value in column `by` ("rate": three-year
    terms of service times the pay of the employee's group, in `rates`), or at least its
    one part (">=", with the rows' positive differences in `gaps`)."""

    op: str
    target: int
    parts: tuple[int, ...]
    gaps: list[float] = field(default_factory=list)
    by: int | None = None
    rates: dict[str, float] = field(default_factory=dict)


def number_relations(
    cols: Sequence[Column], rows: Sequence[Sequence[str]], groups: Sequence[Column] = ()
) -> list[NumberRelation]:
    """What the rows' numbers obey (`NumberRelation`): a sum of two or three others or a
    product of two in `RELATION_SHARE` of the rows holding them all, or one other times
    a fixed ratio, or times a rate of the row's value in one of `groups` (category
    columns), in that share of the rows holding both, else at least others in
    `DATE_ORDER_SHARE` of the rows holding both (and above them in half: not a copy)."""
    numeric = [
        c
        for c in cols
        if (c.kind in ("number", "category") and c.fmt.get("number"))
        or (c.kind == "constant" and parse_number(c.values[0]) is not None)
    ][:RELATION_COLUMNS]
    rows = rows[:: max(1, len(rows) // RELATION_ROWS)][:RELATION_ROWS]
    nums = {c.index: [parse_number(row[c.index]) for row in rows] for c in numeric}
    cats = {c.index: [row[c.index].strip() for row in rows] for c in groups}
    out: list[NumberRelation] = []
    for t in numeric:
        out.extend(_made_of(t.index, [c.index for c in numeric], nums, cats))
    return out


def keep_relations(
    row: list[str],
    relations: Sequence[NumberRelation],
    cols: Sequence[Column],
    seed: int,
    skip: Sequence[int] = (),
) -> None:
    """Make `row`'s numbers keep `relations`, written as each column writes numbers
    (columns in `skip` left as they are): a number never below another that is below it
    becomes the other plus a real row's difference."""
    # in a second pass, what a first made of numbers it made later (a tax made of a
    # subtotal made of a quantity and a price, in any order of columns)
    for rel in list(relations) * 2:
        if rel.target in skip:
            continue
        t = parse_number(row[rel.target]) if row[rel.target].strip() else None
        parts = [parse_number(row[k]) for k in rel.parts]
        if t is None or None in parts:
            continue
        xs = cast(list[float], parts)
        if rel.op == "+":
            value = sum(xs)
        elif rel.op == "*":
            value = math.prod(xs) * (rel.gaps[0] if len(xs) == 1 else 1.0)
        elif rel.op == "rate":
            assert rel.by is not None
            rate = rel.rates.get(row[rel.by].strip())
            if rate is None:
                continue
            value = xs[0] * rate
        elif t < xs[0]:
            value = xs[0] + random.Random(f"{seed}:above:{rel.target}").choice(rel.gaps)
        else:
            continue
        c = cols[rel.target]
        row[rel.target] = write_number(value, row[rel.target], c.fmt.get("number") or {})


def _made_of(
    t: int,
    cols: list[int],
    nums: dict[int, list[float | None]],
    cats: Mapping[int, list[str]] | None = None,
) -> list[NumberRelation]:
    """`number_relations` for one target column: a sum or product, one
    other times a fixed ratio or a rate by category (`cats`: category columns' values),
    else every column it is never below (raising it above each keeps it above the
    others)."""
    others = [c for c in cols if c != t]
    tries = [("+", combo) for k in (2, 3) for combo in combinations(others, k)]
    tries += [("*", combo) for combo in combinations(others, 2)]
    for op, combo in tries:
        held = [
            (z, xs)
            for z, *xs in zip(nums[t], *(nums[c] for c in combo), strict=True)
            if z is not None and None not in xs
        ]
        if len(held) < MIN_ORDERED_ROWS or all(
            len({xs[i] for _z, xs in held}) < 2 for i in range(len(combo))
        ):
            continue  # (a part may be the same in every row: a bonus all are paid)

        def fits(z: float, xs: list[float | None], op: str = op) -> bool:
            made = sum(cast(list[float], xs)) if op == "+" else math.prod(cast(list[float], xs))
            return abs(z - made) <= max(0.01, 0.005 * abs(z))

        if (
            sum(fits(z, xs) for z, xs in held[:MIN_ORDERED_ROWS])
            < RELATION_SHARE * MIN_ORDERED_ROWS
        ):
            continue  # most combinations fail on the first rows: the rest is not read
        if sum(fits(z, xs) for z, xs in held) >= RELATION_SHARE * len(held):
            return [NumberRelation(op, t, combo)]
    for a in others:
        pairs = [(x, z) for x, z in zip(nums[a], nums[t], strict=True) if x and z is not None]
        if len(pairs) < MIN_ORDERED_ROWS:
            continue
        k = statistics.median(z / x for x, z in pairs)
        hits = sum(abs(z - k * x) <= max(0.01, 0.005 * abs(z)) for x, z in pairs)
        if k != 1 and hits >= RELATION_SHARE * len(pairs):
            return [NumberRelation("*", t, (a,), [k])]
    for a in others:
        for by, values in (cats or {}).items():
            if (rel := _rate_by(t, a, by, nums, values)) is not None:
                return [rel]
    out = []
    for a in others:
        pairs = [
            (x, z) for x, z in zip(nums[a], nums[t], strict=True) if x is not None and z is not None
        ]
        if len(pairs) < MIN_ORDERED_ROWS:
            continue
        gaps = [z - x for x, z in pairs]
        if sum(g >= 0 for g in gaps) >= DATE_ORDER_SHARE * len(gaps) and sum(
            g > 0 for g in gaps
        ) >= 0.5 * len(gaps):
            out.append(NumberRelation(">=", t, (a,), [g for g in gaps if g > 0]))
    return out


def _rate_by(
    t: int, a: int, by: int, nums: dict[int, list[float | None]], values: list[str]
) -> NumberRelation | None:
    """Column `t` as `a` times a rate of the row's value in `by`, in `RELATION_SHARE` of
    the rows holding both numbers (`a` not zero), with two rates or more (one is a
    fixed ratio) and each value's rate read off `MIN_RATE_ROWS` rows at least."""
    ratios: dict[str, list[float]] = {}
    pairs = []
    for x, z, v in zip(nums[a], nums[t], values, strict=True):
        if x and z is not None and v:
            ratios.setdefault(v, []).append(z / x)
            pairs.append((x, z, v))
    if len(pairs) < MIN_ORDERED_ROWS:
        return None
    rates = {v: statistics.median(rs) for v, rs in ratios.items() if len(rs) >= MIN_RATE_ROWS}
    if len({round(k, 6) for k in rates.values()}) < 2:
        return None
    hits = sum(
        v in rates and abs(z - rates[v] * x) <= max(0.01, 0.005 * abs(z)) for x, z, v in pairs
    )
    if hits < RELATION_SHARE * len(pairs):
        return None
    return NumberRelation("rate", t, (a,), by=by, rates=rates)


#: What of a date a number column may hold (`DatePart.part`), and how to read it.
DATE_PARTS: dict[str, Callable[[date], int]] = {
    "year": lambda d: d.year,
    "yy": lambda d: d.year % 100,
    "month": lambda d: d.month,
}


@dataclass(frozen=True)
class DatePart:
    """A column holding a part (`DATE_PARTS`) of the row's date in column `source`: a
    voter's "clase" is the year of birth, a "mes" the month of a payment; `width` the
    digits its values are padded to ("03"), 0 where they are not."""

    target: int
    source: int
    part: str
    width: int = 0


def date_parts(
    cols: Sequence[Column],
    rows: Sequence[Sequence[str]],
    dates: Mapping[int, Sequence[date | None]],
) -> list[DatePart]:
    """The columns of whole numbers that hold a part of a date column's value (`dates`:
    each date column's rows, read) in `RELATION_SHARE` of the rows holding both (of
    `MIN_ORDERED_ROWS` at least, on up to `RELATION_ROWS` rows spread over the sample):
    each with its first such date."""
    if not dates:
        return []
    step = max(1, len(rows) // RELATION_ROWS)
    rows = rows[::step][:RELATION_ROWS]
    days = {k: list(v[::step][:RELATION_ROWS]) for k, v in dates.items()}
    dated = [cols[k] for k in days]
    out: list[DatePart] = []
    for t in cols:
        if t.kind in ("date", "birth_date", "email", "phone"):
            continue
        cells = [row[t.index].strip() for row in rows]
        filled = [v for v in cells if v]
        if len(filled) < MIN_ORDERED_ROWS or not all(v.isdigit() and len(v) <= 4 for v in filled):
            continue
        part = _part_of(cells, dated, days)
        if part is not None:
            source, name = part
            padded = any(len(v) > 1 and v[0] == "0" for v in filled)
            width = max(len(v) for v in filled) if padded else 0
            out.append(DatePart(t.index, source, name, width))
    return out


def _parsed(fmt: DateFormat, text: str) -> date | None:
    got = fmt.parse(text) if text.strip() else None
    return got[0] if got else None


def _part_of(
    cells: list[str], dated: Sequence[Column], days: Mapping[int, Sequence[date | None]]
) -> tuple[int, str] | None:
    """(date column, part) whose value `cells` hold in `RELATION_SHARE` of the rows."""
    for c in dated:
        pairs = [(int(v), d) for v, d in zip(cells, days[c.index], strict=True) if v and d]
        if len(pairs) < MIN_ORDERED_ROWS:
            continue
        for name, of in DATE_PARTS.items():
            if sum(v == of(d) for v, d in pairs) >= RELATION_SHARE * len(pairs):
                return c.index, name
    return None


def keep_date_parts(
    row: list[str], parts: Sequence[DatePart], cols: Sequence[Column], skip: Sequence[int] = ()
) -> None:
    """Make `row`'s columns hold the parts of its dates the table's rows hold (an empty
    cell stays empty, as a date it cannot read leaves it); columns in `skip` are left
    as they are. Drawn apart, a roll's "clase" was the year of birth of no canary."""
    for dp in parts:
        if dp.target in skip or not row[dp.target].strip():
            continue
        d = _parsed(cols[dp.source].fmt["date"], row[dp.source])
        if d is not None:
            row[dp.target] = str(DATE_PARTS[dp.part](d)).zfill(dp.width)


#: the rows nearest a canary's earlier date its later one is drawn from (`later_date`)
NEAREST_ROWS = 10
#: days a date drawn from a row's is moved by, at most, either way
DATE_JITTER = 10


@dataclass(frozen=True)
class DateOrder:
    """Column `later` is on or after column `earlier` in nearly every row holding both
    (`DATE_ORDER_SHARE`): joining after birth, leaving after hiring. `pairs` are the
    rows' (earlier, later) days as ordinals, sorted; `gaps` their differences of zero
    days or more; `shift` whether a row's later date follows from its earlier one (an
    expiry ten years after the issue: the later date moves with the earlier) rather
    than being drawn apart from it (a payment in 2024 whoever was born when)."""

    earlier: int
    later: int
    gaps: list[int]
    pairs: list[tuple[int, int]]
    shift: bool


def date_orders(dates: Mapping[int, Sequence[date | None]]) -> list[DateOrder]:
    """The pairs of date columns (`dates`: each one's rows, read) in order in
    `DATE_ORDER_SHARE` of the rows holding both (of `MIN_ORDERED_ROWS` at least), each
    pair once."""
    out: list[DateOrder] = []
    for a in dates:
        for b in dates:
            if a == b or any((o.earlier, o.later) == (b, a) for o in out):
                continue
            pairs = sorted(
                (x.toordinal(), y.toordinal())
                for x, y in zip(dates[a], dates[b], strict=True)
                if x is not None and y is not None
            )
            if len(pairs) < MIN_ORDERED_ROWS:
                continue
            gaps = [y - x for x, y in pairs]
            if sum(g >= 0 for g in gaps) >= DATE_ORDER_SHARE * len(gaps):
                shift = _moves_with(pairs)
                out.append(DateOrder(a, b, [g for g in gaps if g >= 0], pairs, shift))
    return out


def _moves_with(pairs: list[tuple[int, int]]) -> bool:
    """Whether a row's later day is told better by its nearest row's (by the earlier
    day) gap than by its nearest row's later day: the mean error of each, each row
    against the `NEAREST_ROWS` nearest others."""
    step = max(1, len(pairs) // RELATION_ROWS)
    moved = kept = 0.0
    for i in range(0, len(pairs), step):
        x, y = pairs[i]
        near = _nearest(pairs, x, NEAREST_ROWS + 1)
        near = [k for k in near if k != i][:NEAREST_ROWS]
        moved += sum(abs(x + (pairs[k][1] - pairs[k][0]) - y) for k in near) / len(near)
        kept += sum(abs(pairs[k][1] - y) for k in near) / len(near)
    return moved < kept


def _nearest(pairs: list[tuple[int, int]], day: int, k: int) -> list[int]:
    """The indices of the `k` pairs whose earlier day is nearest `day` (pairs sorted)."""
    at = bisect.bisect_left(pairs, (day, -(10**9)))
    lo, hi = at, at
    while hi - lo < k and (lo > 0 or hi < len(pairs)):
        left = day - pairs[lo - 1][0] if lo > 0 else None
        right = pairs[hi][0] - day if hi < len(pairs) else None
        if right is None or (left is not None and left <= right):
            lo -= 1
        else:
            hi += 1
    return list(range(lo, hi))


def later_date(order: DateOrder, earlier: date, span: tuple[date, date], r: random.Random) -> date:
    """A later date for a canary whose earlier one is `earlier`, as a row with an
    earlier date near it has: that row's gap added (`shift`) or its later date moved by
    up to `DATE_JITTER` days, kept inside the column's `span` and never nearer the
    earlier date than any row's gap.
    Drawn apart and moved only where it broke the order, an Argentine party roll's
    canaries joined the party in years no member their age had (the join year alone
    told them apart with AUC 0.71)."""
    x0, y0 = order.pairs[r.choice(_nearest(order.pairs, earlier.toordinal(), NEAREST_ROWS))]
    if order.shift:
        day = earlier + timedelta(days=y0 - x0)
    else:  # jittered as a drawn date is: copied whole, the row's date was held twice
        day = date.fromordinal(y0) + timedelta(days=r.randint(-DATE_JITTER, DATE_JITTER))
    low = max(span[0], earlier + timedelta(days=min(order.gaps)))
    return max(min(day, span[1]), min(low, span[1]))
