"""The collusion code on its own: detection and false accusations, simulated.

Each trial draws a fresh code, picks random colluders, lets them build a dump by a
strategy (intersection, union, per-row choice, majority; each also followed by dropping
half of the rows) and scores it with `canary.codes.accuse`, using only the canaries
present in the dump.
"""

from __future__ import annotations

import math
import random
from math import comb

import pytest

from canary.codes import DEFAULT_EPS, _log_tail, _weights, accuse, draw, spec_for
from tests.codes_support import (
    choice,
    dropping,
    intersection,
    majority,
    simulate,
    union,
)

STRATEGIES = [intersection, union, choice]
CASES = [
    (2, 10, [*STRATEGIES, *map(dropping, STRATEGIES)], 300),
    (2, 50, [*STRATEGIES, *map(dropping, STRATEGIES)], 150),
    (3, 10, [*STRATEGIES, majority, *map(dropping, [*STRATEGIES, majority])], 250),
]
PARAMS = [
    pytest.param(c, n, s, t, id=f"C{c}-n{n}-{s.__name__}") for c, n, ss, t in CASES for s in ss
]


@pytest.mark.parametrize(("coalition", "copies", "strategy", "trials"), PARAMS)
def test_coalitions_are_named(coalition: int, copies: int, strategy, trials: int) -> None:
    out = simulate(copies, coalition, strategy, trials, seed=copies * 100 + coalition)
    assert out.named_one >= 0.99 * trials, out
    if strategy is intersection:  # every colluder holds every canary that survives
        assert out.named_all >= 0.99 * trials, out
    # an innocent copy is named with probability at most eps per dump; allow for chance
    assert out.innocent_named <= 3, out


def test_stated_bound_holds_for_innocent_copies() -> None:
    """However the dump comes about, an innocent copy's stated P is a valid bound: the
    share of trials where the best innocent's P falls under x stays under x."""
    rng = random.Random(5)
    spec = spec_for(2, 10)
    stated: list[float] = []
    for _ in range(400):
        holders = draw(spec, rng)
        colluders = rng.sample(range(10), 2)
        # a weak leak: a random fifth of what either colluder holds
        present = {j for j, h in enumerate(holders) if set(colluders) & h and rng.random() < 0.2}
        accs = accuse([spec.bias] * len(holders), holders, present, 10)
        stated.append(
            min(
                (a.false_accusation_probability for a in accs if a.member not in colluders),
                default=1.0,
            )
        )
    for x in (0.02, 0.1, 0.3):
        assert sum(p <= x for p in stated) / len(stated) <= x


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_chernoff_bound_is_above_the_exact_tail(p: float) -> None:
    a, b = _weights(p)
    for k in (1, 5, 30):
        for h in range(k + 1):
            exact = sum(comb(k, i) * p**i * (1 - p) ** (k - i) for i in range(h, k + 1))
            bound = math.exp(_log_tail({p: k}, h * a - (k - h) * b))
            assert bound >= exact * (1 - 1e-9)


def test_nothing_found_names_nobody_and_a_lone_leaker_is_named() -> None:
    rng = random.Random(1)
    spec = spec_for(2, 10)
    holders = draw(spec, rng)
    biases = [spec.bias] * len(holders)
    assert accuse(biases, holders, [], 10) == []
    leaked = {j for j, h in enumerate(holders) if 4 in h}
    [first, *rest] = accuse(biases, holders, leaked, 10)
    assert first.member == 4 and first.named
    assert first.false_accusation_probability <= DEFAULT_EPS
    assert not any(a.named for a in rest)


def test_bad_bias_is_refused() -> None:
    with pytest.raises(ValueError, match="bias"):
        accuse([1.0], [{0}], [0], 2)
    with pytest.raises(ValueError, match="coalition"):
        spec_for(7, 10)
