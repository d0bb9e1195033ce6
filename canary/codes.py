"""Collusion-resistant canary codes: which copies share which coded canary, and who is named.

Colluders who compare copies can only *delete* canary rows (keep the rows their copies
share, keep one copy's version of each row, keep what most of them hold, drop rows
at random); they cannot invent a canary they never received. So the channel is
one-sided: a coded canary found in a dump proves that at least one of its holders
leaked, and a coded canary missing from a dump proves nothing.

The construction is a Tardos-style random code: position j of the code is one
synthetic person, planted in each copy independently with probability ``p_j`` (the
bias). The accusation is Tardos's one-sided score over the positions found in the
dump only (Škorić's symmetric score restricted to what is present)::

    S_u = sum over present j of  sqrt((1-p_j)/p_j)  if copy u holds j
                                -sqrt(p_j/(1-p_j))  otherwise

An innocent copy's holdings are independent of what the colluders could see, so its
score over any set of present positions is a sum of independent two-valued variables
with mean 0: `false_accusation_probability` is a Chernoff bound on an innocent copy
scoring at least that high, computed exactly for the positions found, times the number
of copies in the code (a union bound over every copy that could be blamed). A copy is
named when that bound is at most the code's ``eps``.

A constant bias chosen per coalition size (rather than Tardos's arcsine spread) is what
this one-sided channel wants: a low bias makes the union of copies informative, a high
one makes their intersection survive; 0.3 balances both for C = 2 and 3. Biases are stored per
position, so the scoring accepts any bias profile.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

#: The construction's name as stored with each code.
CONSTRUCTION = "tardos-one-sided"
#: Default bound on naming any innocent copy, per identification.
DEFAULT_EPS = 1e-3
#: Coalition sizes a code can be made for.
MIN_COALITION, MAX_COALITION = 2, 3
#: Bias per coalition size, and the length factor: length = K * ln(copies / eps).
#: Measured (tests/test_codes.py) so that every coalition strategy, followed by dropping
#: half of the rows, still names a colluder in at least 99% of trials.
#: (Larger coalitions are not offered: their cost has not been measured.)
BIAS = {2: 0.30, 3: 0.30}
LENGTH_FACTOR = {2: 45.0, 3: 110.0}
#: A coded canary costs each copy this share of its rows at most, by default, when
#: `canary issue` says which coalition size the table affords.
AFFORDABLE_SHARE = 0.02


@dataclass(frozen=True)
class CodeSpec:
    """The shape of a code for `copies` copies resisting coalitions of `coalition`."""

    coalition: int
    copies: int
    length: int
    bias: float
    eps: float = DEFAULT_EPS

    @property
    def rows_per_copy(self) -> float:
        """Expected coded rows each copy carries."""
        return self.length * self.bias


def spec_for(coalition: int, copies: int, eps: float = DEFAULT_EPS) -> CodeSpec:
    """The code `canary issue --collusion` draws for this many copies."""
    if not MIN_COALITION <= coalition <= MAX_COALITION:
        raise ValueError(f"coalition size must be {MIN_COALITION}..{MAX_COALITION}")
    if copies < 1:
        raise ValueError("a code needs at least one copy")
    if not 0 < eps < 1:
        raise ValueError("eps must be between 0 and 1")
    length = math.ceil(LENGTH_FACTOR[coalition] * math.log(max(copies, 2) / eps))
    return CodeSpec(coalition, copies, length, BIAS[coalition], eps)


def affordable_coalition(rows: int, copies: int, share: float = AFFORDABLE_SHARE) -> int:
    """The largest coalition size whose coded rows stay within `share` of a `rows`-row
    table for each copy (0 when not even two colluders are affordable)."""
    best = 0
    for c in range(MIN_COALITION, MAX_COALITION + 1):
        if spec_for(c, copies).rows_per_copy <= share * rows:
            best = c
    return best


def draw(spec: CodeSpec, rng: random.Random) -> list[frozenset[int]]:
    """The holders (copy indexes 0..copies-1) of each position; a position that no copy
    drew is left out (it would be planted nowhere), so the result may be shorter."""
    out = []
    for _ in range(spec.length):
        holders = frozenset(u for u in range(spec.copies) if rng.random() < spec.bias)
        if holders:
            out.append(holders)
    return out


@dataclass(frozen=True)
class Accusation:
    """One copy's score against a dump, and the bound on blaming it wrongly."""

    member: int
    score: float
    false_accusation_probability: float
    named: bool


def _weights(p: float) -> tuple[float, float]:
    return math.sqrt((1 - p) / p), math.sqrt(p / (1 - p))


def _log_tail(groups: dict[float, int], s: float) -> float:
    """log of a Chernoff bound on P(innocent score >= s) over the present positions,
    grouped as {bias: count}."""
    if s <= 0:
        return 0.0
    terms = [(p, k, *_weights(p)) for p, k in groups.items()]
    top = sum(k * a for p, k, a, _b in terms)
    if s > top * (1 + 1e-12):
        return -math.inf  # no copy can score more than holding every present position
    if s >= top * (1 - 1e-12):
        return sum(k * math.log(p) for p, k, _a, _b in terms)

    def f(lam: float) -> float:
        total = -lam * s
        for p, k, a, b in terms:
            x, y = math.log(p) + lam * a, math.log1p(-p) - lam * b
            m = max(x, y)
            total += k * (m + math.log(math.exp(x - m) + math.exp(y - m)))
        return total

    def slope(lam: float) -> float:
        d = -s
        for p, k, a, b in terms:
            x, y = math.log(p) + lam * a, math.log1p(-p) - lam * b
            m = max(x, y)
            ex, ey = math.exp(x - m), math.exp(y - m)
            d += k * (a * ex - b * ey) / (ex + ey)
        return d

    lo, hi = 0.0, 1.0
    while slope(hi) < 0 and hi < 1e4:
        lo, hi = hi, hi * 2
    for _ in range(80):
        mid = (lo + hi) / 2
        if slope(mid) < 0:
            lo = mid
        else:
            hi = mid
    return min(0.0, f((lo + hi) / 2))


def false_accusation_bound(
    biases: Sequence[float], present: Iterable[int], score: float, members: int
) -> float:
    """The bound stated for a copy that scored `score` on the `present` positions."""
    groups: dict[float, int] = {}
    for j in present:
        groups[biases[j]] = groups.get(biases[j], 0) + 1
    return min(1.0, math.exp(_log_tail(groups, score)) * max(members, 1))


def accuse(
    biases: Sequence[float],
    holders: Sequence[Collection[int]],
    present: Iterable[int],
    members: int,
    eps: float = DEFAULT_EPS,
) -> list[Accusation]:
    """Score every copy (0..members-1) against the positions found in a dump.

    `biases[j]` and `holders[j]` describe position j; `present` lists the positions
    found. Only copies holding at least one present position are returned, best
    (lowest bound) first; `named` marks those whose bound is at most `eps`.
    """
    found = sorted({j for j in present if 0 <= j < len(biases)})
    if not found:
        return []
    groups: dict[float, int] = {}
    base = 0.0
    gain: dict[int, float] = {}
    for j in found:
        p = biases[j]
        if not 0 < p < 1:
            raise ValueError(f"position {j} has bias {p}; biases lie strictly between 0 and 1")
        a, b = _weights(p)
        groups[p] = groups.get(p, 0) + 1
        base += b
        for u in holders[j]:
            gain[u] = gain.get(u, 0.0) + a + b
    out = []
    for u, g in gain.items():
        score = g - base
        bound = min(1.0, math.exp(_log_tail(groups, score)) * max(members, 1))
        out.append(Accusation(u, score, bound, bound <= eps))
    out.sort(key=lambda acc: (acc.false_accusation_probability, -acc.score, acc.member))
    return out
