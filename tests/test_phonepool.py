from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from canary.errors import InputError
from canary.issue.phonepool import assign_phone_sets

POOL = [f"+5284412345{i:02d}" for i in range(40)]


def test_large_pool_gives_each_copy_its_own_numbers() -> None:
    sets = assign_phone_sets(POOL[:30], copies=10, per_copy=3, rng=random.Random(1))
    flat = [n for s in sets for n in s]
    assert all(len(s) == 3 for s in sets)
    assert len(flat) == len(set(flat))


def test_small_pool_sets_are_distinct_and_spread() -> None:
    sets = assign_phone_sets(POOL[:4], copies=4, per_copy=3, rng=random.Random(2))
    assert len({frozenset(s) for s in sets}) == 4
    usage = Counter(n for s in sets for n in s)
    assert max(usage.values()) - min(usage.values()) <= 1


def test_pairs_pin_a_single_copy_when_pool_allows() -> None:
    pool = POOL[:6]
    sets = assign_phone_sets(pool, copies=15, per_copy=2, rng=random.Random(3))
    assert {frozenset(s) for s in sets} == {frozenset(c) for c in itertools.combinations(pool, 2)}


def test_new_sets_avoid_existing_ones_and_least_used_numbers_first() -> None:
    existing = [frozenset(POOL[:2]), frozenset(POOL[2:4])]
    sets = assign_phone_sets(POOL[:6], copies=1, per_copy=2, existing=existing)
    assert set(sets[0]) == set(POOL[4:6])


def test_leak_narrowing_with_shared_numbers() -> None:
    pool = POOL[:5]
    sets = assign_phone_sets(pool, copies=8, per_copy=3, rng=random.Random(4))
    # Every copy's full set identifies it alone.
    for s in sets:
        assert sum(1 for t in sets if set(s) <= set(t)) == 1


def test_pool_too_small_is_a_clear_error() -> None:
    # Two numbers make three distinct sets ({a}, {b}, {a, b}): four copies cannot fit.
    with pytest.raises(InputError, match=r"make only 3 distinct set.*4 copies.*phone add"):
        assign_phone_sets(POOL[:2], copies=4, per_copy=2)
    issued = [frozenset(POOL[:1]), frozenset(POOL[1:2])]
    with pytest.raises(InputError, match=r"\(2 issued before, 2 now\)"):
        assign_phone_sets(POOL[:2], copies=2, per_copy=2, existing=issued)
    assert len(assign_phone_sets(POOL[:2], copies=1, per_copy=2, existing=issued)) == 1
    # Sets on other numbers (another country's copies) leave this pool's capacity alone.
    elsewhere = [frozenset({f"+1212555{i:04d}"}) for i in range(10)]
    assert len(assign_phone_sets(POOL[:2], copies=3, per_copy=2, existing=elsewhere)) == 3
    with pytest.raises(InputError, match="phone add"):
        assign_phone_sets([], copies=1, per_copy=1)


def test_weights_hold_when_the_copies_need_fewer_numbers_than_the_pool_has() -> None:
    # 60 numbers over six area codes, 12 copies of 3: each number used about once at
    # most, yet area codes must come as often as the table's rows hold them.
    shares = {"844": 0.4, "871": 0.2, "866": 0.15, "878": 0.1, "877": 0.1, "861": 0.05}
    pool = [f"+52{code}{i:07d}" for code in shares for i in range(10)]
    weights = {n: shares[n[3:6]] / 10 for n in pool}
    picks: Counter[str] = Counter()
    for seed in range(20):
        sets = assign_phone_sets(pool, 12, 3, rng=random.Random(seed), weights=weights)
        assert len({frozenset(s) for s in sets}) == 12
        picks.update(n[3:6] for s in sets for n in s)
    total = sum(picks.values())
    for code, share in shares.items():
        assert abs(picks[code] / total - share) <= 0.05, (code, picks[code] / total, share)


def test_an_earlier_copy_with_landlines_still_takes_its_mobiles_set() -> None:
    # A copy of a table with a landline column holds mobiles and landlines; its set is
    # no subset of the mobiles' pool, and was ignored: a later copy could get its mobiles.
    pool = ["+56971000001", "+56971000002", "+56971000003"]
    earlier = frozenset({pool[0], pool[1], "+56227100000"})
    for seed in range(5):
        sets = assign_phone_sets(pool, 5, 2, existing=[earlier], rng=random.Random(seed))
        assert all(frozenset(s) != frozenset(pool[:2]) for s in sets), sets
