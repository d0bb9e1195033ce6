"""A check digit no library names, learnt from the column's own values.

A Uruguayan cedula ("4.123.456-7"), a Guatemalan DPI and many company or member codes
carry a check digit that python-stdnum has no module for; left as drawn, a canary's
fails it nine times in ten or eleven, and one line of code finds every canary. Most
such digits are linear: the check is a constant plus a weighted sum of the other
digits, mod 11 (a 10 then not issued, written 0, or written K or X) or mod 10.

`learn` finds such a relation in a column whose values all have one number of digits:
the constant and weights are the null space of the values' digits over GF(11) (mod 10:
over GF(2) and GF(5), joined by the Chinese remainder theorem), solved on a few rows and
kept only if nearly every value of the column passes it. A column of random numbers has
no such relation; one whose digits are constant or copies of each other is not given one
(the relation must weigh several digits).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Rule", "learn"]

#: The share of a column's values a scheme must pass, named (check_digits) or learnt: a
#: random check digit passes one value in ten or eleven, so a column passing this many
#: is written with the scheme.
PASSING = 0.97
#: Digits a value may have for a rule to be looked for: fewer leave too little to check.
MIN_DIGITS, MAX_DIGITS = 6, 20
#: Distinct values needed per unknown (the constant and each varying digit's weight).
PER_UNKNOWN = 3
#: Rows solved on beyond the unknowns: a column of random digits then has no relation
#: over GF(11) or GF(5) but once in 11**8 or 5**8 draws (the full column is checked too).
EXTRA_ROWS = 8
#: Tries on other rows, in case a mistyped value was among those solved on.
ATTEMPTS = 3
#: Digits other than the check a rule must weigh: fewer is a coincidence of the column
#: (two digits always equal), not a check digit.
MIN_WEIGHTED = 3

_SEPARATORS = re.compile(r"[\s.\-/]")
_ALLOWED = re.compile(r"[0-9\s.\-/]*[0-9KXkx]?[0-9\s.\-/]*")


def _chars(value: str) -> str | None:
    """The value's digits and check letter (K or X, upper case), separators dropped, or
    None for a value with any other character."""
    if not _ALLOWED.fullmatch(value):
        return None
    return _SEPARATORS.sub("", value).upper()


@dataclass(frozen=True)
class Rule:
    """check ≡ const + Σ weights[i]·digit[i] (mod modulus), the check at `place` (an index
    into the value's `length` digits); `ten` is how a check of 10 is written ("" when no
    such value is issued, "0", "K" or "X"), for mod 11 only."""

    modulus: int
    length: int
    place: int
    const: int
    weights: tuple[int, ...]
    ten: str

    def expected(self, chars: str) -> int:
        """The check `chars` (a value's digits) should carry, 0 to modulus - 1."""
        total = self.const
        for i, (w, ch) in enumerate(zip(self.weights, chars, strict=True)):
            if w and i != self.place:
                total += w * int(ch)
        return total % self.modulus

    def valid(self, value: str) -> bool:
        """Whether `value` passes the rule: its check character is the one its digits
        give."""
        chars = _chars(value.strip())
        if chars is None or len(chars) != self.length:
            return False
        rest = chars[: self.place] + chars[self.place + 1 :]
        if not rest.isdigit():
            return False
        check = self.expected(chars)
        written = chars[self.place]
        if check < 10:
            return written == str(check)
        return bool(self.ten) and written == self.ten


def _inverse(a: int, p: int) -> int:
    return pow(a, p - 2, p)


def _null_space(rows: Sequence[Sequence[int]], p: int) -> list[list[int]]:
    """A basis of the vectors v (mod the prime p) with row · v ≡ 0 for every row.
    Eliminated downwards only, and back up only when the rows leave some vector: a
    column of random digits is of full rank, and costs half as much."""
    m = [[x % p for x in row] for row in rows]
    ncols = len(m[0])
    pivots: list[int] = []
    for c in range(ncols):
        r = len(pivots)
        pivot = next((i for i in range(r, len(m)) if m[i][c]), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        inv = _inverse(m[r][c], p)
        top = [x * inv % p for x in m[r]]
        m[r] = top
        for i in range(r + 1, len(m)):
            f = m[i][c]
            if f:
                m[i] = [(a - f * b) % p for a, b in zip(m[i], top, strict=True)]
        pivots.append(c)
        if len(pivots) == len(m):
            break
    if len(pivots) == ncols:
        return []
    for r in range(len(pivots) - 1, -1, -1):  # back up: reduced row echelon form
        c = pivots[r]
        for i in range(r):
            f = m[i][c]
            if f:
                m[i] = [(a - f * b) % p for a, b in zip(m[i], m[r], strict=True)]
    basis = []
    for free in (c for c in range(ncols) if c not in pivots):
        v = [0] * ncols
        v[free] = 1
        for i, pc in enumerate(pivots):
            v[pc] = -m[i][free] % p
        basis.append(v)
    return basis


def _relation(rows: Sequence[Sequence[int]], p: int, seed: int) -> list[int] | None:
    """The one linear relation (over GF(p)) among the columns of `rows` (the first
    column all ones, for the constant), found on a few rows at a time, or None when
    there is none or more than one. Each try is on other rows, so that a mistyped value
    among the first does not hide the relation."""
    need = len(rows[0]) + EXTRA_ROWS
    rng = random.Random(seed)
    for attempt in range(ATTEMPTS):
        picked = rows[:need] if attempt == 0 else rng.sample(list(rows), min(need, len(rows)))
        basis = _null_space(picked, p)
        if len(basis) == 1:
            return basis[0]
    return None


def _passing(rule: Rule, values: Sequence[str]) -> bool:
    return sum(map(rule.valid, values)) >= PASSING * len(values)


def _weighted_enough(weights: Sequence[int], place: int) -> bool:
    return sum(1 for i, w in enumerate(weights) if w and i != place) >= MIN_WEIGHTED


def _mod11(
    rows: list[str], active: list[int], length: int, letter_at: int | None, values: Sequence[str]
) -> Rule | None:
    """A mod 11 rule. A check of 10 written 0 breaks the relation on a tenth of the rows,
    so it is solved first on the rows without a 0 among their varying digits (or, too
    few of those, on those whose last digit is not 0), then on all of them (a 10 not
    issued, or written K or X). Its check is the last digit it can be (the letter's
    place where the column writes one) that nearly every value passes."""
    need = len(active) + 1 + EXTRA_ROWS
    no_zero = [row for row in rows if all(row[i] != "0" for i in active)]
    last = letter_at if letter_at is not None else length - 1
    first = no_zero if len(no_zero) >= need else [row for row in rows if row[last] != "0"]
    letter = next((row[last] for row in rows if row[last] in "KX"), "")
    tried: list[list[int]] = []
    for kept in (first, rows):
        if len(kept) < need:
            continue
        matrix = [[1, *(10 if row[i] in "KX" else int(row[i]) for i in active)] for row in kept]
        v = _relation(matrix, 11, len(kept))
        if v is None or v in tried:
            continue
        tried.append(v)
        places = [last] if letter_at is not None else active[::-1]
        for place in places:
            rule = _solved(v, active, place, length, 11)
            if rule is None:
                continue
            rule = Rule(11, length, place, rule.const, rule.weights, _ten(rule, rows, letter))
            if _passing(rule, values):
                return rule
    return None


def _solved(v: Sequence[int], active: list[int], place: int, length: int, p: int) -> Rule | None:
    """The rule the relation v (over GF(p), the constant first, then the varying digits'
    coefficients) gives with its check at `place`, if it weighs enough other digits."""
    at = active.index(place) + 1 if place in active else 0
    if not at or not v[at] % p:
        return None
    scale = -_inverse(v[at], p) % p  # check = -(v0 + Σ v_j d_j) / v_at
    weights = [0] * length
    for k, i in enumerate(active):
        if i != place:
            weights[i] = v[k + 1] * scale % p
    if not _weighted_enough(weights, place):
        return None
    return Rule(p, length, place, v[0] * scale % p, tuple(weights), "")


def _ten(rule: Rule, rows: list[str], letter: str) -> str:
    """How the column writes a check of 10: its letter, 0, or not at all."""
    if letter:
        return letter
    tens = [row[rule.place] for row in rows if rule.expected(row) == 10]
    return "0" if tens and tens.count("0") >= PASSING * len(tens) else ""


def _mod10(rows: list[str], active: list[int], length: int, values: Sequence[str]) -> Rule | None:
    """A mod 10 rule: a relation mod 5 and one mod 2 with the same check digit, joined."""
    matrix = [[1, *(int(row[i]) for i in active)] for row in rows]
    v5 = _relation(matrix, 5, 5)
    if v5 is None:
        return None
    v2 = _relation(matrix, 2, 2)
    if v2 is None:
        return None
    for k in range(len(active) - 1, -1, -1):
        if not (v5[k + 1] and v2[k + 1]):
            continue
        place = active[k]
        s5 = -_inverse(v5[k + 1], 5) % 5

        def joined(j: int, k: int = k, s5: int = s5) -> int:
            w5, w2 = v5[j] * s5 % 5, v2[j] % 2  # over GF(2), -1/v = 1
            return w5 + 5 * ((w2 - w5) % 2)

        weights = [0] * length
        for j, i in enumerate(active):
            if i != place:
                weights[i] = joined(j + 1)
        if not _weighted_enough(weights, place):
            return None
        rule = Rule(10, length, place, joined(0), tuple(weights), "")
        return rule if _passing(rule, values) else None
    return None


def learn(values: Sequence[str]) -> Rule | None:
    """The linear check digit nearly every one of `values` (a column's non-empty cells,
    stripped) passes, or None."""
    parsed = [_chars(v) for v in values]
    rows = [c for c in parsed if c]
    if not rows or len(rows) < PASSING * len(values):
        return None
    length, n = Counter(map(len, rows)).most_common(1)[0]
    if not MIN_DIGITS <= length <= MAX_DIGITS or n < PASSING * len(values):
        return None
    rows = [row for row in rows if len(row) == length]
    letters = {(i, ch) for row in rows for i, ch in enumerate(row) if not ch.isdigit()}
    if len(letters) > 1:
        return None  # K or X is a check of 10: one letter, at one place
    letter_at = next(iter(letters))[0] if letters else None
    # a digit the whole column writes alike is part of the constant, not a weight
    active = [i for i in range(length) if len({row[i] for row in rows}) > 1]
    if len(set(rows)) < PER_UNKNOWN * (len(active) + 1):
        return None
    found = _mod11(rows, active, length, letter_at, values)
    if found is None and letter_at is None:
        found = _mod10(rows, active, length, values)
    return found
