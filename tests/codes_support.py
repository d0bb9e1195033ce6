"""Coalition strategies against a canary code, simulated on the code itself."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from canary.codes import accuse, draw, spec_for

Strategy = Callable[[list[frozenset[int]], list[int], random.Random], set[int]]


def intersection(
    holders: list[frozenset[int]], coalition: list[int], rng: random.Random
) -> set[int]:
    """Keep only the rows every colluder's copy holds."""
    return {j for j, h in enumerate(holders) if all(u in h for u in coalition)}


def union(holders: list[frozenset[int]], coalition: list[int], rng: random.Random) -> set[int]:
    """Merge the copies: every row any colluder holds."""
    return {j for j, h in enumerate(holders) if any(u in h for u in coalition)}


def choice(holders: list[frozenset[int]], coalition: list[int], rng: random.Random) -> set[int]:
    """Per row, follow one colluder's copy chosen at random."""
    return {j for j, h in enumerate(holders) if rng.choice(coalition) in h}


def majority(holders: list[frozenset[int]], coalition: list[int], rng: random.Random) -> set[int]:
    """Keep a row when most colluders hold it."""
    return {j for j, h in enumerate(holders) if 2 * sum(u in h for u in coalition) > len(coalition)}


def dropping(strategy: Strategy, share: float = 0.5) -> Strategy:
    """`strategy`, then drop `share` of the kept rows at random."""

    def run(holders: list[frozenset[int]], coalition: list[int], rng: random.Random) -> set[int]:
        kept = sorted(strategy(holders, coalition, rng))
        return set(rng.sample(kept, len(kept) - int(len(kept) * share)))

    run.__name__ = f"{strategy.__name__}+drop{int(share * 100)}"
    return run


@dataclass
class Outcome:
    trials: int = 0
    named_one: int = 0  # at least one colluder named
    named_all: int = 0  # every colluder named
    innocent_named: int = 0  # trials in which an innocent copy was named
    stated_innocent: float = 0.0  # sum over trials of the best innocent's stated bound


def simulate(copies: int, coalition: int, strategy: Strategy, trials: int, seed: int) -> Outcome:
    rng = random.Random(seed)
    spec = spec_for(coalition, copies)
    out = Outcome()
    for _ in range(trials):
        holders = draw(spec, rng)
        biases = [spec.bias] * len(holders)
        colluders = rng.sample(range(copies), coalition)
        present = strategy(holders, colluders, rng)
        accs = accuse(biases, holders, present, copies, spec.eps)
        named = {a.member for a in accs if a.named}
        out.trials += 1
        out.named_one += bool(named & set(colluders))
        out.named_all += set(colluders) <= named
        out.innocent_named += bool(named - set(colluders))
        innocents = [a.false_accusation_probability for a in accs if a.member not in colluders]
        out.stated_innocent += min(innocents, default=1.0)
    return out
