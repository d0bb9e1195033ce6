"""Assigning canary phone numbers to copies when the pool may be small.

Numbers we control are few and cost money; copies can be many. Each copy gets a
set of numbers; when the pool cannot give every copy its own numbers, sets are
shared so that no two copies carry the same set and the numbers a leak reveals
narrow it to as few copies as the pool allows: each number is spread over as few
copies as possible, and numbers that already appear together are kept apart.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from math import comb

from canary.errors import InputError


def assign_phone_sets(
    pool: Sequence[str],
    copies: int,
    per_copy: int,
    *,
    existing: Iterable[frozenset[str]] = (),
    rng: random.Random | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[list[str]]:
    """A list of numbers for each of `copies` new copies, `per_copy` each where possible.

    `existing` holds the number sets of copies already issued: new sets differ from
    them too, and their usage counts steer new choices toward the least-used numbers.
    `weights` (number -> how often it should be used, relative) make numbers used in
    proportion: a table with twice as many rows in one area code gets twice as many
    canaries with that area code. Without them every number is used equally.
    """
    rng = rng or random.Random()
    if copies <= 0 or per_copy <= 0:
        return [[] for _ in range(copies)]
    if not pool:
        raise InputError("no canary phone numbers: add some with 'canary phone add NUMBER'")
    numbers = sorted(set(pool))
    size = min(per_copy, len(numbers))
    # Only the numbers of a set drawn from this pool can clash with a new one: copies of
    # another country's table take nothing from this pool's capacity, and a copy whose
    # canaries also hold landlines (another column's numbers) clashes by its mobiles.
    pool_set = set(numbers)
    taken: set[frozenset[str]] = {s & pool_set for s in existing if s & pool_set}
    usage: Counter[str] = Counter()
    together: Counter[frozenset[str]] = Counter()
    for s in taken:
        usage.update(s)
        together.update(frozenset(p) for p in itertools.combinations(sorted(s), 2))
    # Distinct sets of one size may run out; smaller sets are distinct too.
    capacity = sum(comb(len(numbers), k) for k in range(1, size + 1))
    if copies + len(taken) > capacity:
        before = f" ({len(taken)} issued before, {copies} now)" if taken else ""
        raise InputError(
            f"{len(numbers)} canary phone number(s) make only {capacity} distinct set(s) of "
            f"numbers, and {copies + len(taken)} copies{before} each need their own; "
            "add numbers with 'canary phone add NUMBER --provider PROVIDER'"
        )
    scale = _scales(numbers, weights)
    result: list[list[str]] = []
    for _ in range(copies):
        chosen = _choose(numbers, size, usage, together, taken, rng, scale)
        taken.add(frozenset(chosen))
        usage.update(chosen)
        together.update(frozenset(p) for p in itertools.combinations(sorted(chosen), 2))
        result.append(chosen)
    return result


def _choose(
    numbers: list[str],
    size: int,
    usage: Counter[str],
    together: Counter[frozenset[str]],
    taken: set[frozenset[str]],
    rng: random.Random,
    scale: dict[str, float] | None = None,
) -> list[str]:
    scale = scale or {}
    total = sum(scale.get(n, 1.0) for n in numbers)
    weight_count = Counter(scale.get(n, 1.0) for n in numbers)
    for k in range(size, 0, -1):
        for _attempt in range(50):
            chosen: list[str] = []
            for _ in range(k):
                rest = [n for n in numbers if n not in chosen]
                jitter = {n: rng.random() for n in rest}
                if scale:
                    # Numbers of equal weight (an area code's) form a class; the class
                    # furthest behind its share of the picks so far gives its least-used
                    # number. Area codes then come as often as the weights say from the
                    # first copies on, even when the copies need fewer numbers than the
                    # pool holds (whole units of usage per weight, as below, left every
                    # number at 0 there: canaries spread evenly over area codes).
                    picks = sum(usage.values()) + len(chosen) + 1
                    classes: dict[float, list[str]] = {}
                    for n in rest:
                        classes.setdefault(scale.get(n, 1.0), []).append(n)
                    used = Counter({w: 0 for w in classes})
                    for n in numbers:
                        used[scale.get(n, 1.0)] += usage[n] + (n in chosen)
                    group = max(
                        classes,
                        key=lambda w: (
                            picks * w * weight_count[w] / total
                            - used[w]
                            + 0.3 * jitter[classes[w][0]]
                        ),
                    )
                    best = min(
                        classes[group],
                        key=lambda n: (
                            usage[n],
                            sum(together[frozenset((n, c))] for c in chosen),
                            jitter[n],
                        ),
                    )
                    chosen.append(best)
                    continue
                best = min(
                    rest,
                    key=lambda n: (
                        # equal weights: the plain least-used order, jitter breaking ties
                        int(usage[n] + jitter[n]),
                        sum(together[frozenset((n, c))] for c in chosen),
                        jitter[n],
                    ),
                )
                chosen.append(best)
            if frozenset(chosen) not in taken:
                return chosen
            # Same set as another copy: perturb the least-used choice order and retry.
            usage_snapshot = Counter(usage)
            for n in chosen:
                usage_snapshot[n] += 1
            usage = usage_snapshot
        if comb(len(numbers), k) > 100_000:
            continue
        # Exhaustive fallback for this size: any unused combination, least used first.
        combos = sorted(
            itertools.combinations(numbers, k),
            key=lambda c: (sum(usage[n] / scale.get(n, 1.0) for n in c), rng.random()),
        )
        for c in combos:
            if frozenset(c) not in taken:
                return list(c)
    raise InputError("phone pool exhausted: add numbers with 'canary phone add NUMBER'")


def _scales(numbers: list[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    """Each number's weight relative to the mean (1.0 each when all are equal); a
    number weighted 0 gets a tiny share, used only when no other will do."""
    if not weights:
        return {}
    raw = [max(float(weights.get(n, 0.0)), 0.0) for n in numbers]
    mean = sum(raw) / len(raw) if raw else 0.0
    if mean <= 0:
        return {}
    return {n: max(w / mean, 1e-3) for n, w in zip(numbers, raw, strict=True)}
