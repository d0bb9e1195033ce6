"""Tables of small groups: a household survey's members under one household key
("HOG-000123"), a family's, an account's holders. The rows of a group come together
under a key of their own and share some columns (the household's address and
landline); inside the group they are numbered 1..k and the first is its head
("JEFE(A) DEL HOGAR").

A canary there forms a group of its own (`find_groups` learns the structure; the factory
writes the row): a new key in the key's series, where the order puts it (between two
groups, never inside one), the group's columns drawn as a unit, member number 1 and the
head's role, and the rest of the row as the heads of groups of one hold it. Placed as
any row, 24 of 24 canaries of a household survey sat inside another household's block
with a real household's key and an address and landline none of its members had.

Runs of many rows (a school roll's group "901", a payroll's work centre) are not groups
in this sense: a canary joins its neighbours' run there (`_grouped_columns`); groups
are the small ones, of fewer rows on average than such a run's least.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from canary.synth.cells import id_format_of, id_number
from canary.synth.ids import GapModel, new_id

__all__ = ["GroupModel", "find_groups", "group_key"]

#: Groups the sample must show, at least, to read a key column as one (and groups of
#: two rows or more among them, to tell which columns the members share).
MIN_GROUPS = 20
MIN_SHARED_GROUPS = 10
#: Rows per group on average: more than this, at least (fewer: nearly every key is its
#: row's own, an id), and fewer than a run's least (`GROUP_MIN_ROWS` of the factory).
MIN_MEAN_SIZE = 1.3
#: ... and fewer than this, a run's least (`GROUP_MIN_ROWS` of the factory): a payroll
#: keyed by work centre, its rows numbered inside each, is a table of runs.
MAX_MEAN_SIZE = 5
#: Share of the keys whose rows come in one block, at least (a key seen again further
#: down is a typo or a merged export, not a grouping).
CONTIGUOUS = 0.98
#: Share of the groups of two rows or more whose members hold one value in a column, at
#: least, for the column to be the group's (an address, a landline); and the share the
#: same rows would show with the column's values shuffled, at most (a yes/no column is
#: constant in many pairs by chance).
SHARED = 0.95
SHARED_BY_CHANCE = 0.5
#: Share of the groups numbered 1..k in row order, at least, for a member number.
NUMBERED = 0.9
#: Share of the groups whose first row holds one value of a column, at least, and of the
#: other rows holding it, at most, for that value to be the head's role ("JEFE(A)").
HEAD_SHARE = 0.8
HEAD_ELSEWHERE = 0.05
#: Groups of one needed, at least, for a new group's row to be modeled on them rather
#: than on every group's head (a head living alone is single, widowed, separated: a
#: married head without a spouse in the household would stand out).
MIN_ALONE = 8
#: Share of neighbouring groups whose keys increase, at least, for the keys to be sorted.
SORTED_KEYS = 0.98


@dataclass
class GroupModel:
    """How a table's rows form groups under a key column."""

    #: the key column and its keys, in the order the groups come
    key: int
    keys: list[str]
    #: columns every member of a group holds alike (the key aside), more often than
    #: by chance: what tells the grouping
    shared: tuple[int, ...]
    #: those and any column one value throughout nearly every group, by chance or not
    #: (a state of two values): the group's, never a member's own
    steady: tuple[int, ...]
    #: the member-number column and its text at a group's first row ("1")
    member: int | None
    first: str
    #: column -> the value a group's first row (its head) holds there
    roles: dict[int, str]
    #: indexes of the rows a new group's row is modeled on: the rows of groups of one,
    #: or every group's first row where too few groups have one member
    model_rows: list[int]
    #: indexes of every group's first row (its head)
    heads: list[int]
    #: whether the keys increase group by group
    sorted: bool

    @functools.cached_property
    def key_format(self) -> tuple[dict[str, Any] | None, set[str], set[int]]:
        """The keys' id format, the keys, and their numbers: read once, not per canary."""
        numbers = {x for x in (id_number(k) for k in self.keys) if x is not None}
        return id_format_of(self.keys), set(self.keys), numbers

    def at_boundary(self, prev: Sequence[str] | None, nxt: Sequence[str] | None) -> bool:
        """Whether a row between `prev` and `nxt` starts a group of its own rather than
        splitting one (either may be None at an end of the table)."""
        if prev is None or nxt is None:
            return True
        return prev[self.key].strip() != nxt[self.key].strip()


def find_groups(
    rows: Sequence[Sequence[str]], candidates: Sequence[int], width: int
) -> GroupModel | None:
    """The table's grouping, or None: the candidate column (a code, not a name or a
    date) whose values come in blocks of a few rows each, many of them, with at least
    one other column its members share. Of several, the one with the most groups."""
    best: GroupModel | None = None
    for key in candidates:
        model = _groups_by(rows, key, width)
        if model is not None and (best is None or len(model.keys) > len(best.keys)):
            best = model
    return best


def _blocks(rows: Sequence[Sequence[str]], key: int) -> list[tuple[str, int, int]] | None:
    """(key, first row, end) of each block of rows holding one key, or None where a key
    is empty or the blocks are not the keys' own (a key in several places)."""
    blocks: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    # a key met again: too many, and no block can be the keys' own (read no further:
    # most columns of a large table stop within its first rows)
    most = (1 - CONTIGUOUS) * len(rows)
    again = 0
    start = 0
    for i in range(1, len(rows) + 1):
        if i < len(rows) and rows[i][key].strip() == rows[start][key].strip():
            continue
        value = rows[start][key].strip()
        if not value:
            return None
        if value in seen:
            again += 1
            if again > most:
                return None
        seen.add(value)
        blocks.append((value, start, i))
        start = i
    if len(seen) < CONTIGUOUS * len(blocks):
        return None
    return blocks


def _groups_by(rows: Sequence[Sequence[str]], key: int, width: int) -> GroupModel | None:
    n = len(rows)
    blocks = _blocks(rows, key) if n else None
    if not blocks or len(blocks) < MIN_GROUPS:
        return None
    if not MIN_MEAN_SIZE * len(blocks) <= n < MAX_MEAN_SIZE * len(blocks):
        return None
    multi = [(a, b) for _k, a, b in blocks if b - a >= 2]
    if len(multi) < MIN_SHARED_GROUPS:
        return None
    steady = tuple(c for c in range(width) if c != key and _is_steady(rows, multi, c))
    shared = tuple(c for c in steady if _is_shared(rows, multi, c))
    if not shared:
        return None
    member, first = _member_number(rows, blocks, key, steady, width)
    roles = _head_roles(rows, blocks, {key, *steady, *([member] if member is not None else [])})
    alone = [a for _k, a, b in blocks if b - a == 1]
    heads = [a for _k, a, _b in blocks]
    model_rows = alone if len(alone) >= MIN_ALONE else heads
    keys = [k for k, _a, _b in blocks]
    nums = [id_number(k) for k in keys]
    rising = sum(1 for x, y in pairwise(nums) if x is not None and y is not None and x < y)
    return GroupModel(
        key=key,
        keys=keys,
        shared=shared,
        steady=steady,
        member=member,
        first=first,
        roles=roles,
        model_rows=model_rows,
        heads=heads,
        sorted=rising >= SORTED_KEYS * (len(keys) - 1),
    )


def _is_steady(rows: Sequence[Sequence[str]], multi: list[tuple[int, int]], c: int) -> bool:
    """Whether column `c` is one value throughout nearly every group of several rows."""
    values = [row[c].strip() for row in rows]
    held = sum(1 for a, b in multi if len(set(values[a:b])) == 1)
    return held >= SHARED * len(multi)


def _is_shared(rows: Sequence[Sequence[str]], multi: list[tuple[int, int]], c: int) -> bool:
    """Whether steady column `c` (`_is_steady`) is so clearly more often than its
    values shuffled would be."""
    values = [row[c].strip() for row in rows]
    if len(set(values)) < 2:
        return False  # a constant column is no group's
    shuffled = values[:]
    random.Random(0).shuffle(shuffled)
    chance = sum(1 for a, b in multi if len(set(shuffled[a:b])) == 1)
    return chance <= SHARED_BY_CHANCE * len(multi)


def _member_number(
    rows: Sequence[Sequence[str]],
    blocks: list[tuple[str, int, int]],
    key: int,
    shared: tuple[int, ...],
    width: int,
) -> tuple[int | None, str]:
    """The column numbering each group's rows 1..k (or from 0) in row order, and its
    text at a first row; (None, "") without one."""
    for c in range(width):
        if c == key or c in shared:
            continue
        starts: Counter[int] = Counter()
        numbered = 0
        for _k, a, b in blocks:
            cells = [rows[i][c].strip() for i in range(a, b)]
            if not all(v.isdigit() for v in cells):
                continue
            nums = [int(v) for v in cells]
            if nums[0] in (0, 1) and all(y == x + 1 for x, y in pairwise(nums)):
                numbered += 1
                starts[nums[0]] += 1
        if numbered >= NUMBERED * len(blocks) and any(b - a >= 2 for _k, a, b in blocks):
            texts = Counter(rows[a][c].strip() for _k, a, _b in blocks)
            return c, texts.most_common(1)[0][0]
    return None, ""


def _head_roles(
    rows: Sequence[Sequence[str]], blocks: list[tuple[str, int, int]], skip: set[int]
) -> dict[int, str]:
    """Columns whose value at a group's first row is one value nearly always, a value
    the other rows nearly never hold: the head's role."""
    roles: dict[int, str] = {}
    firsts = {a for _k, a, _b in blocks}
    others = [i for i in range(len(rows)) if i not in firsts]
    width = len(rows[0]) if rows else 0
    for c in range(width):
        if c in skip or not others:
            continue
        top = Counter(rows[a][c].strip() for a in firsts).most_common(1)
        if not top or not top[0][0] or top[0][1] < HEAD_SHARE * len(firsts):
            continue
        value = top[0][0]
        elsewhere = sum(1 for i in others if rows[i][c].strip() == value)
        if elsewhere <= HEAD_ELSEWHERE * len(others):
            roles[c] = value
    return roles


def group_key(
    model: GroupModel,
    r: random.Random,
    prev: Sequence[str] | None,
    nxt: Sequence[str] | None,
    claim: Callable[[str], bool],
    gaps: GapModel | None,
) -> str | None:
    """A key no group holds, in the keys' own format: in sorted keys, strictly between
    the neighbours' (taking a gap as a real group's steps do: `GapModel` over the keys)
    or one of the keys' steps on at an end; else a free one in the keys' range. None
    where the neighbours are one group, or leave no gap."""
    if not model.at_boundary(prev, nxt):
        return None
    fmt, held, numbers = model.key_format
    lo = prev[model.key].strip() if prev is not None else None
    hi = nxt[model.key].strip() if nxt is not None else None
    between = model.sorted and (lo is not None or hi is not None)
    return new_id(
        fmt,
        model.keys,
        numbers,
        held,
        r,
        lambda value: True if between else claim(value),
        sorted_=model.sorted,
        prev=lo,
        nxt=hi,
        between=between,
        gaps=gaps if between else None,
    )
