"""Canary ids: a new value in an id/folio column's own format that collides with nothing.

Numbered ids keep their prefix (digits in it too: "IEC-2024-00062"), zero padding (or
none) and suffix. In a column sorted by its id the value falls strictly between its
neighbours', or there is no value (None) when they leave no gap; after the last row
(or before the first) it continues the numbering by a step the column itself takes
(+1 in a gapless list). Unsorted ids fall inside the column's own range. Ids without a
number (cedulas "1-0234-0567", codes) are drawn character by character from what the
column holds at each position; positions with few distinct characters (a province
digit, a fixed "0") are copied from a real row (`donor`) so they agree with its place.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from canary.synth.cells import ID_RE, SERIES_RE, id_number
from canary.synth.national_ids import name_letters, name_word


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
    donor: str | None = None,
    positions: PositionModel | None = None,
    gaps: GapModel | None = None,
    near: NearNumbers | None = None,
) -> str | None:
    """A free id. `claim(value)` reserves it (False if another canary holds it);
    `between` asks for a value strictly between `prev` and `nxt` (either may be None
    at the ends of the table); `gaps` (a sorted column's steps) chooses which gaps a
    canary takes and where inside them; `near`, the real ids' numbers an unsorted one's
    is drawn near (`NearNumbers`)."""
    if not fmt:
        model = positions or PositionModel(values)
        drawn: list[str] = []
        for _ in range(POSITION_DRAWS):
            v = model.draw(r, donor)
            if v and v not in taken_text and claim(v):
                return v
            if v:
                drawn.append(v)
        return _renumbered(drawn, r, taken_text, claim)
    lo, hi = int(fmt["min"]), int(fmt["max"])
    prefix = str(fmt.get("prefix", ""))
    prefixes: dict[str, int] = fmt.get("prefixes") or {}
    if len(prefixes) > 1 and not (sorted_ and between):
        prefix = r.choices(list(prefixes), weights=list(prefixes.values()))[0]
    elif sorted_ and prev is not None:
        prefix = id_prefix(prev, prefix)
    elif sorted_ and nxt is not None:
        prefix = id_prefix(nxt, prefix)
    suffixes: dict[str, int] = fmt.get("suffixes") or {}
    if len(suffixes) > 1:  # each at its own frequency: one for all was 22 of 24 "B"s
        fmt = {**fmt, "suffix": r.choices(list(suffixes), weights=list(suffixes.values()))[0]}
    cap = 10 ** int(fmt["width"]) - 1 if fmt.get("width") else None
    steps: dict[int, int] = {int(k): v for k, v in (fmt.get("steps") or {}).items()}
    if between:
        a = id_number(prev) if prev is not None else None
        b = id_number(nxt) if nxt is not None else None
        if (prev is not None and a is None) or (nxt is not None and b is None):
            return None
        if a is not None and b is not None and gaps is not None and gaps.pairs:
            candidates = gaps.split(a, b, r)
        elif a is not None and b is not None:
            candidates = _free_numbers(a + 1, b - 1, taken, r)
        else:
            # At an end of the table: one of the column's own steps on from the last id.
            step_list = _step_order(steps, r)
            floor = 1 if lo >= 1 else 0  # a table numbered from 1 never shows a 0
            base = a if a is not None else b
            assert base is not None
            sign = 1 if a is not None else -1
            candidates = [
                n for n in (base + sign * k for k in step_list) if n >= floor and n not in taken
            ]
    else:
        start, high = lo, hi
        lengths: dict[str, list[int]] = fmt.get("lengths") or {}
        if not sorted_ and len(lengths) > 1 and not fmt.get("width"):
            # As many digits as a real id has, as often, inside that length's own range.
            span = r.choices(list(lengths.values()), weights=[v[2] for v in lengths.values()])[0]
            start, high = span[0], span[1]
        if sorted_:
            start, high = hi + 1, hi + max((hi - lo) // 20, 1000)
        elif (high - start + 1) - len(taken) < 20:
            high = high + max((high - start) // 20, 20)
        # Once every number of the window is held (a gapless list of 400 customers gave
        # its 1401..1420 to the canaries of seven copies, and an issue to twelve failed),
        # the next block on, as long as the first step past the range.
        block = max((hi - lo) // 20, 20)
        if not sorted_ and near is not None and near.keep:
            # near a real number: "64558192" in a Peruvian roll whose DNIs start 0, 40
            # to 48 and 70 to 77 (19 of 24 canaries drawn over the whole range)
            got = _claimed(near.draw(taken, lo, hi, r), fmt, prefix, cap, taken_text, claim)
            if got is not None:
                return got
        for _ in range(MORE_BLOCKS + 1):
            got = _claimed(
                _free_numbers(start, high, taken, r), fmt, prefix, cap, taken_text, claim
            )
            if got is not None or sorted_ or (cap is not None and high >= cap):
                return got
            start, high = max(high, hi) + 1, max(high, hi) + block
        return None
    return _claimed(candidates, fmt, prefix, cap, taken_text, claim)


#: Blocks past a full window an unsorted id column's canaries may move on to.
MORE_BLOCKS = 50

#: Draws of an id without a number (`PositionModel`) before its last digits are redrawn.
POSITION_DRAWS = 50
#: Tries at a drawn value's last digits redrawn (`_renumbered`), half at their own
#: length, half a digit longer.
RENUMBER_TRIES = 60
#: The last run of digits in a value ("838" of "NICOLAS BRAVO 838").
LAST_DIGITS_RE = re.compile(r"(\d+)(?=\D*$)")


def _renumbered(
    drawn: list[str], r: random.Random, taken_text: set[str], claim: Callable[[str], bool]
) -> str | None:
    """One of the `drawn` values, all held by rows (or other canaries), with its last
    digits redrawn until no row holds it. A column the position model gives back whole
    (a street and its number, "ALDAMA 37", read as an id of no one format: a value's
    first `PositionModel.LEAD` digits are drawn together with what comes before them,
    so a two-digit number comes back as a real row's) left 13 of 30 canaries of a
    payroll with no value at all, and a canary with no value is dropped from the copy
    (12 of 24 placed)."""
    numbered = [v for v in drawn if LAST_DIGITS_RE.search(v)]
    for k in range(RENUMBER_TRIES if numbered else 0):
        v = r.choice(numbered)
        m = LAST_DIGITS_RE.search(v)
        assert m is not None
        width = len(m.group(1)) + (k >= RENUMBER_TRIES // 2)
        lead_zero = m.group(1).startswith("0") and len(m.group(1)) > 1
        low = 0 if lead_zero or width == 1 else 10 ** (width - 1)
        digits = str(r.randrange(low, 10**width)).zfill(width)
        got = v[: m.start(1)] + digits + v[m.end(1) :]
        if got not in taken_text and claim(got):
            return got
    return None


def _claimed(
    candidates: list[int],
    fmt: dict[str, Any],
    prefix: str,
    cap: int | None,
    taken_text: set[str],
    claim: Callable[[str], bool],
) -> str | None:
    """The first candidate, as written, that no row holds and `claim` grants."""
    for n in candidates:
        if cap is not None and n > cap:
            continue  # zero-padded ids keep their width
        text = _format_id(n, fmt, prefix)
        if text not in taken_text and claim(text):
            return text
    return None


def _step_order(steps: dict[int, int], r: random.Random) -> list[int]:
    """Steps to try, the first drawn by the column's own frequencies (1 without any)."""
    if not steps:
        return [1, 2, 3]
    first = r.choices(list(steps), weights=list(steps.values()))[0]
    rest = sorted(set(steps) | {1}, key=lambda k: -steps.get(k, 0))
    return [first, *[k for k in rest if k != first]]


class GapModel:
    """Where in a sorted numbering a canary goes, so that its steps to the rows above
    and below look like a real row's.

    A real row's two steps (`pairs`: how often the column shows step a then step b) are
    what a holder compares a canary with; a canary inside a gap of g takes k and g - k.
    Gaps are accepted as often as real rows' two steps add up to them, relative to how
    often the column has such gaps (in a list numbered mostly by ones, gaps of 2 take
    nearly every canary: it sits at 1 and 1 from its neighbours like most real rows);
    the split follows the real pairs. Gaps whose size no real pair adds up to are
    taken only when the column has no better one.
    """

    def __init__(self, numbers: list[int], series: Sequence[Sequence[int]] | None = None) -> None:
        runs = [[b - a for a, b in itertools.pairwise(ns) if b > a] for ns in (series or [numbers])]
        steps = [k for run in runs for k in run]
        #: the step every step is a multiple of (3 for a census numbered 2, 5, 8...):
        #: numbers off it would be no row's
        self.unit = math.gcd(*steps) if steps else 1
        self.pairs: Counter[tuple[int, int]] = Counter(
            pair for run in runs for pair in itertools.pairwise(run)
        )
        self.gaps: Counter[int] = Counter(steps)
        sums: Counter[int] = Counter()
        for (x, y), n in self.pairs.items():
            sums[x + y] += n
        total_pairs = sum(self.pairs.values()) or 1
        wide = sum(n for g, n in self.gaps.items() if g >= 2) or 1
        #: gap size -> how often a canary meeting such a gap takes it
        self.accept: dict[int, float] = {}
        ratios = {g: (sums[g] / total_pairs) / (n / wide) for g, n in self.gaps.items() if g >= 2}
        top = max(ratios.values(), default=0.0)
        if top > 0:
            self.accept = {g: x / top for g, x in ratios.items()}

    @classmethod
    def of_series(cls, series: Sequence[Sequence[int]]) -> GapModel:
        """The model of several series at once (one per year of a file numbered afresh
        each year): steps and pairs of steps within each, none across them."""
        return cls([], series)

    def chance(self, g: int) -> float:
        """How often a canary meeting a gap of `g` takes it."""
        if g < 2 or g <= self.unit:
            return 0.0
        if not self.accept:
            return 1.0
        chance = self.accept.get(g)
        if chance is None:  # a gap size the sample never showed: by its pairs alone
            chance = 1.0 if any(self.pairs[(k, g - k)] for k in range(1, g)) else 0.0
        return chance

    def split(self, a: int, b: int, r: random.Random) -> list[int]:
        """Numbers to try strictly between `a` and `b` (none: this gap is passed by)."""
        g = b - a
        if g < 2 or g <= self.unit:
            return []
        if self.accept and r.random() >= self.chance(g):
            return []
        return self.within(a, b, r)

    def within(self, a: int, b: int, r: random.Random) -> list[int]:
        """Numbers to try strictly between `a` and `b`, split as real rows' steps are."""
        g = b - a
        ks = [k for k in range(1, g) if self.pairs[(k, g - k)] and k % self.unit == 0]
        if not ks:
            ks = [k for k in range(1, min(g, 400)) if k % self.unit == 0]
            r.shuffle(ks)
            return [a + k for k in ks]
        first = r.choices(ks, weights=[self.pairs[(k, g - k)] for k in ks])[0]
        return [a + first, *(a + k for k in ks if k != first)]


class PositionModel:
    """Per-position characters of an id column without a number (cedulas, codes).

    Values are grouped by their mask (digit, letter, other kept literally); a new value
    takes a mask as often as the column does, then at each position a character drawn
    from those the column holds there, with their frequencies. Positions holding at most
    `FEW` distinct characters are copied from `donor` (a real row's value) when it has
    the same mask, so a province digit agrees with the row's place.

    With `places` (each value's row's place columns, in the same order as `values`),
    only the positions the place decides are copied: those a row's place predicts far
    better than the column's commonest character does (`follows_place`). The others
    are drawn: copied, a canary's first digits and place were a pair one more row held
    than the donor's own (a Costa Rican cedula's province digit, with the first digit
    of its volume, which the province leaves open).

    A value's first `LEAD` digits (with what lies between them) are drawn together, as
    one real value of the mask has them: national numbers are handed out in order, so
    their leading digits are a magnitude, not independent characters. Drawn one by one,
    a Chilean RUT of the column's 5 to 24 millions came out "29.956.832-6".
    """

    FEW = 9
    LEAD = 2

    def __init__(self, values: list[str], places: list[tuple[str, ...]] | None = None) -> None:
        values = values[:20000]
        #: the masks: digit and letter apart, or where that leaves nearly a mask per
        #: value (random hexadecimal: a UUID, a database's object id), one class for both
        self.mask_of = _mask
        if len({_mask(v) for v in values}) > max(COARSE_MASKS, COARSE_SHARE * len(values)):
            self.mask_of = _coarse_mask
        by_mask: dict[str, list[int]] = {}
        for k, v in enumerate(values):
            by_mask.setdefault(self.mask_of(v), []).append(k)
        self.masks = {m: len(ks) for m, ks in by_mask.items()}
        self.chars: dict[str, list[Counter[str]]] = {}
        #: mask -> the positions copied from a donor of that mask
        self.copied: dict[str, set[int]] = {}
        #: mask -> its values' leads (through the LEAD-th digit), with counts
        self.leads: dict[str, Counter[str]] = {}
        #: mask -> runs of positions drawn together (`_segments`), with their values
        self.segments: dict[str, list[tuple[tuple[int, int], Counter[str]]]] = {}
        for m, ks in by_mask.items():
            end = _lead_end(m, self.LEAD, "X" if self.mask_of is _coarse_mask else "9")
            self.leads[m] = Counter(values[k][:end] for k in ks) if end else Counter()
            cols: list[Counter[str]] = [Counter() for _ in m]
            for k in ks:
                for i, ch in enumerate(values[k]):
                    cols[i][ch] += 1
            self.chars[m] = cols
            few = {i for i, counts in enumerate(cols) if len(counts) <= self.FEW}
            if places is not None:
                few = {
                    i
                    for i in few
                    if len(cols[i]) > 1
                    and follows_place([values[k][i] for k in ks], [places[k] for k in ks])
                }
            self.copied[m] = few
            self.segments[m] = _segments([values[k] for k in ks[:SEGMENT_ROWS]], cols)

    def draw(self, r: random.Random, donor: str | None = None) -> str:
        if not self.masks:
            return ""
        mask = r.choices(list(self.masks), weights=list(self.masks.values()))[0]
        if donor is not None and self.mask_of(donor) in self.masks:
            mask = self.mask_of(donor)
        out = []
        copied = self.copied[mask] if donor is not None and self.mask_of(donor) == mask else set()
        leads = self.leads[mask]
        lead = r.choices(list(leads), weights=list(leads.values()))[0] if leads else ""
        for i, counts in enumerate(self.chars[mask]):
            if donor is not None and i in copied:
                out.append(donor[i])
            elif i < len(lead):
                out.append(lead[i])
            else:
                out.append(r.choices(list(counts), weights=list(counts.values()))[0])
        for (a, b), held in self.segments[mask]:
            if a < len(lead):
                continue
            if donor is not None and copied & set(range(a, b)):
                out[a:b] = donor[a:b]  # the place decides part of it: the donor's whole
            else:
                out[a:b] = r.choices(list(held), weights=list(held.values()))[0]
        return "".join(out)


def _segments(
    values: Sequence[str], cols: Sequence[Counter[str]]
) -> list[tuple[tuple[int, int], Counter[str]]]:
    """Runs of two or more positions whose characters come together: they hold few
    values (`SEGMENT_FEW`, or a fiftieth of the values) where their characters one by
    one could make many more (an IBAN's bank code, four digits of which a list holds a
    dozen: drawn digit by digit, every canary had a bank no row has)."""
    few = max(SEGMENT_FEW, len(values) // 50)
    out: list[tuple[tuple[int, int], Counter[str]]] = []
    a, width = 0, len(cols)
    while a < width - 1:
        b, best = a + 1, None
        while b < width:
            held = Counter(v[a : b + 1] for v in values)
            if len(held) > few:
                break
            if math.prod(len(cols[i]) for i in range(a, b + 1)) >= SEGMENT_SPREAD * len(held):
                best = (b + 1, held)
            b += 1
        if best is not None:
            out.append(((a, best[0]), best[1]))
            a = best[0]
        else:
            a += 1
    return out


#: A run of positions holding at most this many values (or a fiftieth of the values)
#: is drawn whole (`_segments`), where its characters one by one could make this many
#: times more.
SEGMENT_FEW = 12
SEGMENT_SPREAD = 4
#: Values a mask's segments are read from, at most.
SEGMENT_ROWS = 2000


#: A position follows the place when a row's place predicts its character this much
#: more often than the column's commonest character does (`follows_place`).
PLACE_GAIN = 0.3


def follows_place(chars: Sequence[str], places: Sequence[tuple[str, ...]]) -> bool:
    """Whether some place column decides these characters: predicted for each row by the
    commonest among the other rows of its place, they come out right `PLACE_GAIN` more
    often (as a share of rows) than predicted by the commonest of all the other rows (a
    province digit: nearly always against a third; a volume's first digit: neither)."""
    if not chars or not places or not places[0]:
        return False
    base = _left_out_hits(chars, [""] * len(chars))
    best = max(_left_out_hits(chars, [p[j] for p in places]) for j in range(len(places[0])))
    return (best - base) / len(chars) >= PLACE_GAIN


def prediction_gain(
    values: Sequence[str], groups: Sequence[str], *, of_misses: bool = False
) -> float:
    """How much better each value is predicted by the commonest among the other rows of
    its group than by the commonest of all the other rows, as a share of the rows
    (0 when the groups tell nothing; near 1 when they decide the value); `of_misses`:
    as a share of the rows the commonest value misses (near 1 when the groups decide
    the value, however rare its other values are)."""
    if not values:
        return 0.0
    base = _left_out_hits(values, [""] * len(values))
    room = len(values) - base if of_misses else len(values)
    return (_left_out_hits(values, groups) - base) / room if room else 0.0


def share_gain(values: Sequence[str], groups: Sequence[str]) -> float:
    """How much more often a row's value is held by the other rows of its group than by
    the other rows at large, as a share of what the latter leave: near 1 when the
    groups decide the value, 0 when they tell nothing, and in between where a group
    narrows it to a few (a Dominican municipality's cedulas start with its office's
    code or the national "402"; `prediction_gain` of the commonest saw half of that)."""
    n = len(values)
    if n < 2:
        return 0.0
    total = Counter(values)
    sizes = Counter(groups)
    by: dict[str, Counter[str]] = {}
    for v, g in zip(values, groups, strict=True):
        by.setdefault(g, Counter())[v] += 1
    at_large = sum((total[v] - 1) / (n - 1) for v in values) / n
    in_group = (
        sum(
            (by[g][v] - 1) / (sizes[g] - 1)
            for v, g in zip(values, groups, strict=True)
            if sizes[g] > 1
        )
        / n
    )
    return (in_group - at_large) / (1 - at_large) if at_large < 1 else 0.0


def explained_share(values: Sequence[float], groups: Sequence[str]) -> float:
    """The share of the values' spread (sum of squares about their mean) that their
    groups' means explain, less what as many groups would explain by chance ((k - 1) /
    (n - 1), so that a category telling nothing scores about 0)."""
    n = len(values)
    if n < 3:
        return 0.0
    mean = sum(values) / n
    total = sum((x - mean) ** 2 for x in values)
    if total <= 0:
        return 0.0
    sums: dict[str, list[float]] = {}
    for x, g in zip(values, groups, strict=True):
        sums.setdefault(g, []).append(x)
    between = sum(len(xs) * (sum(xs) / len(xs) - mean) ** 2 for xs in sums.values())
    chance = (len(sums) - 1) / (n - 1)
    return (between / total - chance) / (1 - chance) if chance < 1 else 0.0


def _left_out_hits(chars: Sequence[str], groups: Sequence[str]) -> int:
    """Rows whose character is the commonest (ties counting) among the other rows of
    their group."""
    counts: dict[str, Counter[str]] = {}
    for ch, g in zip(chars, groups, strict=True):
        counts.setdefault(g, Counter())[ch] += 1
    hits = 0
    for ch, g in zip(chars, groups, strict=True):
        held = counts[g]
        own = held[ch] - 1
        if own > 0 and all(own >= n for other, n in held.items() if other != ch):
            hits += 1
    return hits


def text_between(
    draw: Callable[[], str],
    prev: str | None,
    nxt: str | None,
    r: random.Random,
    taken: set[str],
    claim: Callable[[str], bool],
) -> str | None:
    """A new value of a column sorted as text (upper case) that falls strictly between
    `prev` and `nxt` (None at an end): a value `draw` gives, with the neighbours' shared
    start (and, every other try, the character after it too) of the one beside it.
    Object ids sorted by their time stamps had canaries before the first row."""
    lo = (prev or "").strip()
    hi = (nxt or "").strip()
    near = lo or hi
    if not near:
        return None
    shared = _shared_start(lo.upper(), hi.upper()) if lo and hi else None
    for k in range(BETWEEN_TRIES):
        value = draw()
        if len(value) == len(near):
            cut = shared if shared is not None else r.randrange(len(near) // 2, len(near))
            keep = min(cut + k % 2, len(near))
            value = near[:keep] + value[keep:]
        key = value.upper()
        if (
            value
            and (not lo or lo.upper() < key)
            and (not hi or key < hi.upper())
            and value not in taken
            and claim(value)
        ):
            return value
    return None


@dataclass(frozen=True)
class IdPart:
    """A stretch of an id that another column may decide: its start (`end` False) or
    its end, `digits` digits of it. A start is the letters and signs before the first
    digit where there are some ("TOR-" of "TOR-01986"), else the first `digits` digits
    (a bank account's bank code, an Ecuadorian cedula's province, the municipality's
    office "036" of a Dominican cedula "036-2297113-7", whatever separators lie
    between); an end is the letters and signs after the last digit where there are
    some (" LP" of a Bolivian identity card "4567891 LP", its department), else the
    last `digits` digits (a Guatemalan DPI's department and municipality, "0701" of
    Solola). An id of no more digits than that has none: the part would be the whole
    id."""

    end: bool
    digits: int

    def spots(self, value: str) -> list[int]:
        """Where in `value` this part's characters are (none: it has no such part)."""
        if not self.end and (lead := re.match(r"\D+", value)) is not None:
            return list(range(lead.end()))
        if self.end and (trail := re.search(r"\D+$", value)) and re.search(r"[^\W\d_]", trail[0]):
            return list(range(trail.start(), len(value)))
        at = [i for i, ch in enumerate(value) if ch.isdigit()]
        if len(at) <= self.digits:
            return []
        return at[-self.digits :] if self.end else at[: self.digits]

    def of(self, value: str) -> str:
        """This part of `value` ("" for none)."""
        return "".join(value[i] for i in self.spots(value))

    def put(self, value: str, want: str) -> str:
        """`value` with `want` for this part, its other characters (separators too) as
        they were; as it is where it has no such part."""
        at = self.spots(value)
        if not at:
            return value
        if len(want) == len(at):
            out = list(value)
            for i, ch in zip(at, want, strict=True):
                out[i] = ch
            return "".join(out)
        return value[: at[0]] + want + value[at[-1] + 1 :]  # a lead of another length


#: The parts of an id column read for a column deciding them: its start by four
#: digits, else three, two, one; its end by four, else two (`IdPart`). The longer
#: first: a Guatemalan DPI's last four digits are its department and municipality
#: together.
ID_PARTS = (
    (
        IdPart(end=False, digits=4),  # a Honduran identity's department and municipality
        IdPart(end=False, digits=3),
        IdPart(end=False, digits=2),
        IdPart(end=False, digits=1),  # a Canadian SIN's province
    ),
    (IdPart(end=True, digits=4), IdPart(end=True, digits=2)),
)


@dataclass(frozen=True)
class DecidedPart:
    """A part (`IdPart`) of the ids of column `column` that column `parent` (a category
    or a place) decides or narrows, with the parts each of the parent's values holds
    and how often."""

    column: int
    part: IdPart
    parent: int
    held: Mapping[str, Counter[str]]

    def draw(self, group: str, r: random.Random) -> str | None:
        """A part of `group`'s, at the frequency its rows hold it (None: no such rows)."""
        parts = self.held.get(group)
        if not parts:
            return None
        return r.choices(list(parts), weights=list(parts.values()))[0]


def _shared_start(a: str, b: str) -> int:
    """How many leading characters `a` and `b` share."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


#: Draws `text_between` tries.
BETWEEN_TRIES = 60


def _lead_end(mask: str, digits: int, digit: str = "9") -> int:
    """Where a mask's first `digits` digits (or characters of class `digit`) end (0
    when it has fewer)."""
    seen = 0
    for i, ch in enumerate(mask):
        if ch == digit:
            seen += 1
            if seen == digits:
                return i + 1
    return 0


def _mask(value: str) -> str:
    return "".join("9" if c.isdigit() else ("A" if c.isalpha() else c) for c in value)


def _coarse_mask(value: str) -> str:
    """A mask with digits and letters in one class ("3f2a-9c" -> "XXXX-XX")."""
    return "".join("X" if c.isalnum() else c for c in value)


#: A column of more masks than this, and than this share of its values, is masked
#: coarsely (`_coarse_mask`): each value its own mask left no value to draw but itself.
COARSE_MASKS = 20
COARSE_SHARE = 0.3


#: Numbers a column of unsorted ids holds, at least, for a new one to be drawn near one
#: of them (`_near_numbers`); numbers tried, and draws per number tried.
NEAR_IDS = 50
NEAR_TRIES = 100
NEAR_DRAWS = 4
#: Share of real numbers a start may be held by alone and still be kept (`near_prefix`).
NEAR_ALONE = 0.05


@dataclass(frozen=True)
class NearNumbers:
    """A column's real id numbers, for a new one drawn near one of them: `keep` leading
    digits (of numbers written `width` digits wide, zeros in front) of a real one, the
    rest drawn. Numbers handed out in blocks (a country's identity numbers by office and
    period) then keep the blocks' leading digits, as often as the rows hold them: drawn
    over the column's whole range, 19 of 24 Peruvian DNIs started as no real one does."""

    numbers: tuple[int, ...]
    keep: int
    width: int

    @classmethod
    def of(cls, numbers: Sequence[int]) -> NearNumbers:
        """`keep`: the most leading digits the real numbers still share, few of them
        (`NEAR_ALONE`) holding such a start alone; 0 (no drawing near) for fewer than
        `NEAR_IDS` numbers. Kept longer (half the digits), a canary's start was another
        row's where real rows' are their own: a Colombian list's document start with the
        row's names told canaries at 0.70."""
        held = tuple(numbers)
        if len(held) < NEAR_IDS:
            return cls(held, 0, 0)
        width = max(len(str(n)) for n in held)  # "0xxxxxxx" is read as a shorter number
        keep = 0
        for length in range(1, width):
            starts = Counter(str(n).zfill(width)[:length] for n in held)
            if sum(1 for k in starts.values() if k == 1) > NEAR_ALONE * len(held):
                break
            keep = length
        return cls(held, keep, width)

    def draw(
        self, taken: set[int], low: int, high: int, r: random.Random, k: int = NEAR_TRIES
    ) -> list[int]:
        """Up to `k` numbers in [low, high] near real ones that no one holds (`taken`)."""
        out: list[int] = []
        for _ in range(NEAR_DRAWS * k):
            digits = str(r.choice(self.numbers)).zfill(self.width)
            tail = "".join(str(r.randint(0, 9)) for _ in range(self.width - self.keep))
            n = int(digits[: self.keep] + tail)
            if low <= n <= high and n not in taken and n not in out:
                out.append(n)
                if len(out) >= k:
                    break
        return out


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


def id_prefix(value: str, default: str) -> str:
    """The prefix of an id as written ("F-" of "F-00012", "IEC-2024-" of "IEC-2024-00061")."""
    m = ID_RE.match(value) or SERIES_RE.match(value)
    return m.group(1) if m and m.group(1) else default


class BirthOrder:
    """An id column whose numbers follow the holder's birth: national numbers handed out
    in order (an Argentine DNI of 1962 is near 10 millions, of 2004 near 45; a Chilean
    RUN, a Colombian document). Drawn from the whole column, a canary born in 1990
    with a DNI of 12 millions stands out to anyone who looks at the two columns.

    Built from the rows' birth dates (as day ordinals) and values; `follows` says
    whether the numbers of rows born close together are far nearer each other than
    those of rows drawn at random (`FOLLOW_RATIO`, on the logarithm of the number: a
    magnitude, whatever the column's range). `draw` gives a real row of a birth near
    the canary's and values to try: numbers within those of its `NEAR` nearest rows by
    birth, written over that row's value, digit for digit.
    """

    NEAR = 4
    FOLLOW_RATIO = 0.5
    MIN_ROWS = 30
    SPREAD = 0.2

    def __init__(self, births: Sequence[int | None], values: Sequence[str]) -> None:
        held = [
            (b, n, k)
            for k, (b, v) in enumerate(zip(births, values, strict=True))
            if b is not None and (n := _number_of(v)) is not None
        ]
        # Rows born the same day (or of the same age) in no particular order: sorting
        # them by their numbers too would make neighbours look alike by construction.
        random.Random(0).shuffle(held)
        held.sort(key=lambda t: t[0])
        self.births = [b for b, _n, _k in held]
        #: the newest day the column holds
        self.latest = max(self.births, default=0)
        self.numbers = [n for _b, n, _k in held]
        #: the sample row each entry comes from
        self.rows = [k for _b, _n, k in held]
        self.values = values
        self.follows = len(held) >= self.MIN_ROWS and self._ratio() <= self.FOLLOW_RATIO

    def _ratio(self) -> float:
        logs = [math.log10(n + 1) for n in self.numbers]
        near = statistics.median(abs(a - b) for a, b in itertools.pairwise(logs))
        shuffled = logs[:]
        random.Random(1).shuffle(shuffled)
        far = statistics.median(abs(a - b) for a, b in zip(logs, shuffled, strict=True))
        return near / far if far else 1.0

    def draw(self, birth: int, r: random.Random, tries: int = 30) -> tuple[int, list[str]]:
        """(the sample row drawn, values to try in order) for a holder born `birth`: a
        real row among the `NEAR` born nearest, and numbers between those of the rows
        born nearest that are written with as many digits and within `SPREAD` of its
        (a foreigner's 92 millions among Argentine DNIs of 30 stretched the range to
        them, and canaries got DNIs of 70 millions no one holds)."""
        at = bisect.bisect_left(self.births, birth)
        half = self.NEAR // 2
        window = range(max(0, at - half), min(len(self.births), at + half))
        pick = r.choice(window)
        text = self.values[self.rows[pick]]
        width = len(re.sub(r"\D", "", text))
        own = self.numbers[pick]
        near = [
            self.numbers[i]
            for i in window
            if len(re.sub(r"\D", "", self.values[self.rows[i]])) == width
            and abs(self.numbers[i] - own) <= self.SPREAD * own
        ]
        lo, hi = min(near), max(near)
        # where the rows' numbers leave little room (a customer number among those of
        # customers who joined the same week), later tries reach a little further out,
        # up to half the tries either way: the first free one is taken
        room = hi - lo < tries
        # no fewer digits than the row's, unless it is written with leading zeros
        # (customer 999 of a list from 1001 came out "0999")
        floor = 0 if re.sub(r"\D", "", text).startswith("0") else 10 ** (width - 1)
        out = []
        for t in range(tries):
            pad = t // 2 if room else 0
            # digits a value of this width can hold (a zero-padded "001920912" among
            # eight-digit DNIs is 9 digits wide and under 10^8)
            n = r.randint(max(lo - pad, floor), min(hi + pad, 10**width - 1))
            digits = iter(f"{n:0{width}d}")
            out.append("".join(next(digits) if ch.isdigit() else ch for ch in text))
        return self.rows[pick], out

    @functools.cached_property
    def _by_number(self) -> list[int]:
        """The entries' indexes, lowest number first (read once: each canary asks)."""
        return sorted(range(len(self.numbers)), key=lambda i: self.numbers[i])

    def outside(self, value: str) -> int:
        """1 where `value`'s number is above every row's, -1 where below, else 0."""
        n = _number_of(value)
        if n is None or not self.numbers:
            return 0
        low, high = self.numbers[self._by_number[0]], self.numbers[self._by_number[-1]]
        return 1 if n > high else -1 if n < low else 0

    def beyond(self, side: int, r: random.Random, last: int = 30) -> int:
        """A day for a holder whose number lies past every row's on `side` (1: above):
        the day of the row with the highest number (the lowest, for -1) moved on (back)
        by one of the steps between the days of the `last` numbers at that end, taken
        in order (customers who joined the same day, the next, a week on)."""
        ends = self._by_number[-last:] if side > 0 else self._by_number[:last][::-1]
        days = [self.births[i] for i in ends]
        steps = [abs(b - a) for a, b in itertools.pairwise(days)] or [0]
        edge = max(days) if side > 0 else min(days)
        if side > 0:  # never past the newest day the table holds, its export's at the latest
            return min(edge + r.choice(steps), self.latest)
        return edge - r.choice(steps)


def _number_of(value: str) -> int | None:
    """The number a value's digits spell, where they are most of it (3 to 15 digits, at
    most two letters: "23.456.789", "12.345.678-K", "1.023.456.789", a customer's
    "1042"), else None."""
    digits = re.sub(r"\D", "", value)
    letters = sum(ch.isalpha() for ch in value)
    if not 3 <= len(digits) <= 15 or letters > 2:
        return None
    return int(digits)


#: How a birth date is written inside a document number: year, month and day in the
#: orders national numbers use (an old Colombian "TI" and a South African id begin
#: with YYMMDD; a Danish CPR and a Norwegian number with DDMMYY), or the year alone (a
#: Mexican social security number's digits 5 and 6).
DATE_FORMS = ("%y%m%d", "%d%m%y", "%Y%m%d", "%d%m%Y", "%Y", "%y")


@dataclass(frozen=True)
class BirthInId:
    """Ids of `width` digits whose holder's birth date is written at digit `at` in
    `form` (a strftime format): `births_in_ids` finds them, `write` puts a date in."""

    width: int
    at: int
    form: str

    #: share of a width's rows holding their date at one place, and rows needed
    SHARE = 0.9
    MIN_ROWS = 20

    def fits(self, value: str) -> bool:
        return sum(ch.isdigit() for ch in value) == self.width

    def write(self, value: str, born: date, r: random.Random, vary: bool = False) -> str:
        """`value` with `born` written at its place, every other character as it was;
        `vary` draws the digits after the date again (a serial another holder has)."""
        stamp = born.strftime(self.form)
        out, k = [], 0
        end = self.at + len(stamp)
        for ch in value:
            if ch.isdigit():
                if self.at <= k < end:
                    ch = stamp[k - self.at]
                elif vary and k >= end:
                    ch = str(r.randrange(10))
                k += 1
            out.append(ch)
        return "".join(out)


def date_stamps(births: Sequence[date | None]) -> list[tuple[str, ...] | None]:
    """Each birth written in every form of `DATE_FORMS`, in that order: written once,
    for every column `births_in_ids` looks at."""
    return [None if b is None else tuple(b.strftime(f) for f in DATE_FORMS) for b in births]


def births_in_ids(
    stamps: Sequence[tuple[str, ...] | None], values: Sequence[str]
) -> list[BirthInId]:
    """Where a column's numbers hold their rows' birth dates (`stamps`, from
    `date_stamps`): per count of digits, the place and form at least `BirthInId.SHARE`
    of its rows (with a birth) hold theirs in. A date of six digits falls in a random
    number of ten about once in 10^5 rows."""
    rows: Counter[int] = Counter()
    found: Counter[tuple[int, int, str]] = Counter()
    for written, value in zip(stamps, values, strict=True):
        digits = re.sub(r"\D", "", value)
        if written is None or len(digits) < 6:
            continue
        rows[len(digits)] += 1
        for form, stamp in zip(DATE_FORMS, written, strict=True):
            at = digits.find(stamp)
            while at != -1:
                found[(len(digits), at, form)] += 1
                at = digits.find(stamp, at + 1)
    out: list[BirthInId] = []
    # the longest form first where two hold as often ("%y%m%d" holds "%y" too)
    for (width, at, form), n in sorted(found.items(), key=lambda f: (-f[1], -len(f[0][2]))):
        if rows[width] >= BirthInId.MIN_ROWS and n >= BirthInId.SHARE * rows[width]:
            if all(b.width != width for b in out):
                out.append(BirthInId(width, at, form))
    return out


#: How a letter of an id follows a name (`LetterInId`): the name's k-th letter, or its
#: first "vowel" or "consonant" after the first letter.
NAME_RULES = ("0", "1", "2", "3", "vowel", "consonant")


def name_char(name: str, rule: str, word: bool) -> str:
    """The letter `rule` (`NAME_RULES`) reads from `name` (upper case, accents dropped;
    of its first significant word when `word`, else of all its letters); "" for none."""
    return _read(_name_text(name, word), rule)


@functools.lru_cache(maxsize=1 << 14)
def _name_text(name: str, word: bool) -> str:
    return name_word(name) if word else name_letters(name)


def _read(text: str, rule: str) -> str:
    """The letter `rule` reads from a name already made plain (`_name_text`)."""
    if rule.isdigit():
        k = int(rule)
        return text[k] if k < len(text) else ""
    vowels = rule == "vowel"
    return next((c for c in text[1:] if (c in "AEIOU") == vowels), "")


@dataclass(frozen=True)
class LetterInId:
    """A character of ids `width` long that its holder's name or sex decides: at `at`,
    the name part `part` (0 given, 1 paternal, 2 maternal) read by `rule` (`name_char`),
    or with `part` -1 the letter `sexes` gives the holder's sex ("F"/"M"), unless the
    rows of the holder's given name hold another there (`given`: "ROSARIO" a woman's
    name in a list where a name list says a man's)."""

    width: int
    at: int
    part: int
    rule: str = ""
    word: bool = False
    sexes: tuple[tuple[str, str], ...] = ()
    given: tuple[tuple[str, str], ...] = ()

    #: share of a width's rows (with names) whose character the rule gives, at least;
    #: and by how much of them more than the position's commonest character
    SHARE = 0.85
    GAIN = 0.3
    MIN_ROWS = 20

    def char(self, names: tuple[str, str, str], sex: str | None) -> str:
        if self.part < 0:
            held = dict(self.given).get(_name_text(names[0], False))
            return held or dict(self.sexes).get(sex or "", "")
        return name_char(names[self.part], self.rule, self.word)


def write_letters(
    value: str, rules: Sequence[LetterInId], names: tuple[str, str, str], sex: str | None
) -> str:
    """`value` with the characters `rules` decide written from `names` and `sex`, in
    the case the value has there; the rest as it was."""
    out = list(value)
    for rule in rules:
        if rule.width != len(value):
            continue
        ch = rule.char(names, sex)
        if ch:
            out[rule.at] = ch.lower() if value[rule.at].islower() else ch
    return "".join(out)


#: Rows read for `letters_in_ids`, at most.
LETTER_ROWS = 1000


def letters_in_ids(
    people: Sequence[tuple[tuple[str, str, str], str | None] | None], values: Sequence[str]
) -> list[LetterInId]:
    """Where a column's values hold letters of their rows' names, or a character for
    their sex (a Mexican voter's key "GOCAAL74092405M634": two letters of each surname
    and of the given name, H or M for the sex; an Argentine CUIT's 20 or 27): per
    length of value, each position at least
    `LetterInId.SHARE` of its rows follow one rule at, far more than its commonest
    character (`GAIN`). `people`: each row's ((given, paternal, maternal), sex) or None."""
    by_width: dict[int, list[int]] = {}
    for k, (who, value) in enumerate(zip(people[:LETTER_ROWS], values[:LETTER_ROWS], strict=False)):
        if who is not None and value:
            by_width.setdefault(len(value), []).append(k)
    keys = [
        (part, rule, word) for part in range(3) for rule in NAME_RULES for word in (False, True)
    ]
    out: list[LetterInId] = []
    for width, ks in by_width.items():
        if len(ks) < LetterInId.MIN_ROWS:
            continue
        holders = [people[k] for k in ks]
        names = [h[0] for h in holders if h is not None]
        sexes = [h[1] for h in holders if h is not None]
        givens = [_name_text(n[0], False) for n in names]
        reads: dict[tuple[int, str, bool], list[str]] = {}
        for at in range(width):
            chars = [values[k][at].upper() for k in ks]
            if sum(ch.isalnum() for ch in chars) < LetterInId.SHARE * len(ks):
                continue
            if sum(ch.isalpha() for ch in chars) >= LetterInId.SHARE * len(ks):
                if not reads:  # read once, for the widths with letters only
                    texts = {
                        (part, word): [_name_text(n[part], word) for n in names]
                        for part in range(3)
                        for word in (False, True)
                    }
                    reads = {
                        key: [_read(t, key[1]) for t in texts[(key[0], key[2])]] for key in keys
                    }
                common = Counter(chars).most_common(1)[0][1]
                hits, key = max((sum(map(str.__eq__, chars, reads[key])), key) for key in keys)
                if hits >= LetterInId.SHARE * len(ks) and hits - common >= LetterInId.GAIN * len(
                    ks
                ):
                    out.append(LetterInId(width, at, key[0], key[1], key[2]))
                    continue
            rule = _sex_letter(width, at, chars, sexes, givens)
            if rule is not None:
                out.append(rule)
    return out


def _sex_letter(
    width: int, at: int, chars: Sequence[str], sexes: Sequence[str | None], givens: Sequence[str]
) -> LetterInId | None:
    """The sex rule at `at` (`letters_in_ids`): each sex's commonest letter there, when
    they differ and hold `SHARE` of the rows whose sex is known; with each given name's
    commonest letter there."""
    by_sex: dict[str, Counter[str]] = {"F": Counter(), "M": Counter()}
    for ch, sex in zip(chars, sexes, strict=True):
        if sex in by_sex and ch.isalnum():
            by_sex[sex][ch] += 1
    if not by_sex["F"] or not by_sex["M"]:
        return None
    (f, nf), (m, nm) = by_sex["F"].most_common(1)[0], by_sex["M"].most_common(1)[0]
    known = sum(by_sex["F"].values()) + sum(by_sex["M"].values())
    common = (by_sex["F"] + by_sex["M"]).most_common(1)[0][1]
    if f == m or known < LetterInId.MIN_ROWS or nf + nm < LetterInId.SHARE * known:
        return None
    if nf + nm - common < LetterInId.GAIN * known:
        return None
    held: dict[str, Counter[str]] = {}
    for ch, given in zip(chars, givens, strict=True):
        if given and ch in (f, m):
            held.setdefault(given, Counter())[ch] += 1
    by_given = tuple(sorted((g, c.most_common(1)[0][0]) for g, c in held.items()))
    return LetterInId(width, at, -1, sexes=(("F", f), ("M", m)), given=by_given)


#: The median step between a group's numbers, at most, for a series.
SERIES_STEP = 5


def series_step(groups: Mapping[str, Sequence[int]]) -> float:
    """The median step between the numbers of each group, lowest first (1 in a list
    numbered without gaps)."""
    steps = [b - a for ns in groups.values() for a, b in itertools.pairwise(sorted(set(ns)))]
    return statistics.median(steps) if steps else math.inf


#: Rows a group holds on average, at least, in a column numbered per group.
GROUP_ROWS = 4
#: Share of the rows outside an id column's largest group whose number another group
#: holds too, at least, for the column to be read as one series per group
#: (`GroupedSeries`): files numbered afresh each year repeat their numbers year after
#: year (January's few files, all of them); one counter shared by prefixes ("A-0001",
#: "B-0002") never does.
REPEAT_SHARE = 0.5


def _series_parts(value: str) -> tuple[str, str, str] | None:
    """(fixed part, number as written, suffix) of an id ("EXP-2019-", "000236", "")."""
    m = ID_RE.match(value) or SERIES_RE.match(value)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def _width(digits: str) -> int:
    """The width a number is zero-padded to ("000236": 6), 0 for none ("236")."""
    return len(digits) if digits.startswith("0") and len(digits) > 1 else 0


@dataclass
class SeriesGroup:
    """One group of a `GroupedSeries`: its ids' numbers (lowest first), how its numbers
    are written (zero-padded to a width, or 0: as they come) and its suffixes."""

    prefix: str
    numbers: list[int]
    widths: Counter[int]
    suffixes: Counter[str]

    def write(self, n: int, r: random.Random) -> str | None:
        """`n` written as this group's ids are (None: wider than its padding)."""
        width = r.choices(list(self.widths), weights=list(self.widths.values()))[0]
        if width and n >= 10**width:
            return None
        suffix = r.choices(list(self.suffixes), weights=list(self.suffixes.values()))[0]
        return f"{self.prefix}{n:0{width}d}{suffix}"


class GroupedSeries:
    """An id column numbered as one series per group, the group being the id's fixed
    part: a year ("EXP-2019-000236", "2023/0457", "IEC-2024-00061"), an office
    ("OF-CDMX-0012"). Read as one series, a canary's number was one no group held
    (every low number is some year's), past every group's end: 15 of 23 canaries of a
    Mexican hospital's file numbers stood at a year's end with a jump.

    A canary's id (`draw`) takes a place in one group's series: a gap of it, each as
    often as `GapModel` (of the steps inside every group) takes a gap of its size,
    split as real rows' steps are; or a group's end, one of that group's own steps on,
    each end as often as a place in a gap on average, so that canaries are their
    group's last as often as rows are (where no gap takes one, an end always). Written
    with the group's padding and suffix. `ordered`: the rows come group by group, each
    group's numbers rising, so that a canary goes where its id sorts (`key`).
    """

    def __init__(self, groups: dict[str, SeriesGroup], order: list[str], ordered: bool) -> None:
        self.groups = groups
        #: the groups in the order the rows first show them
        self.rank = {g: k for k, g in enumerate(order)}
        self.ordered = ordered
        self.model = GapModel.of_series([s.numbers for s in groups.values()])
        #: (group, number before the gap, number after it) with how often a canary
        #: meeting it takes it
        self.slots: list[tuple[str, int, int]] = []
        self.chances: list[float] = []
        for g, group in groups.items():
            for a, b in itertools.pairwise(group.numbers):
                if (chance := self.model.chance(b - a)) > 0:
                    self.slots.append((g, a, b))
                    self.chances.append(chance)
        rows = sum(len(group.numbers) for group in groups.values())
        inside = rows - len(groups)
        #: how often a canary meeting a group's end takes it: as a place of a gap on
        #: average (the ends alone where no gap takes one)
        self.end = sum(self.chances) / inside if self.chances and inside > 0 else 1.0

    @classmethod
    def of(cls, values: Sequence[str]) -> GroupedSeries | None:
        """The series of `values` (in row order, blanks left out), or None where they
        are not one series per group: a single group, groups of few rows (`GROUP_ROWS`),
        a value of no number, or numbers the groups do not share (`REPEAT_SHARE`)."""
        parts = [_series_parts(v.strip()) for v in values if v.strip()]
        if len(parts) < 2 or any(p is None for p in parts):
            return None
        held: dict[str, list[tuple[int, int, str]]] = {}
        order: list[str] = []
        ordered = True
        last: tuple[str, int] | None = None
        for p in parts:
            assert p is not None
            prefix, digits, suffix = p
            n = int(digits)
            if prefix not in held:
                order.append(prefix)
                held[prefix] = []
            elif last is not None and (last[0] != prefix or n <= last[1]):
                ordered = False  # a group again after another, or its numbers not rising
            held[prefix].append((n, _width(digits), suffix))
            last = (prefix, n)
        if len(held) < 2 or len(held) * GROUP_ROWS > len(parts):
            return None  # one group, or groups of a row or two: a cedula "036-2297113-7"
        # the rows outside the largest group: their numbers are another group's too
        groups_of = Counter(n for rows in held.values() for n in {n for n, _w, _s in rows})
        largest = max(held, key=lambda g: len(held[g]))
        others = [n for g, rows in held.items() if g != largest for n, _w, _s in rows]
        if sum(1 for n in others if groups_of[n] > 1) < REPEAT_SHARE * len(others):
            return None
        if series_step({g: [n for n, _w, _s in rows] for g, rows in held.items()}) > SERIES_STEP:
            return None  # numbers scattered inside each group: codes, not a series
        groups = {}
        for prefix, rows in held.items():
            nums = sorted({n for n, _w, _s in rows})
            # zero-padded ("0457"): every number to the group's commonest width
            padded = Counter(w for _n, w, _s in rows if w)
            widths = Counter({padded.most_common(1)[0][0] if padded else 0: 1})
            groups[prefix] = SeriesGroup(prefix, nums, widths, Counter(s for _n, _w, s in rows))
        return cls(groups, order, ordered)

    def key(self, value: str) -> tuple[int, int] | None:
        """Where `value` sorts among the rows of an ordered column: its group's place,
        then its number (None: no group of the column's)."""
        p = _series_parts(value.strip())
        if p is None or p[0] not in self.rank:
            return None
        return (self.rank[p[0]], int(p[1]))

    def group_of(self, value: str) -> str | None:
        """The group of `value` (None: none of the column's)."""
        p = _series_parts(value.strip())
        return p[0] if p is not None and p[0] in self.groups else None

    def draw(
        self,
        r: random.Random,
        taken_text: set[str],
        claim: Callable[[str], bool],
        group: str | None = None,
    ) -> str | None:
        """A new id (`GroupedSeries`), in `group` where given; None when none is free.
        A place another canary holds (`claim` False) is passed by and another drawn."""
        mine = [k for k, sl in enumerate(self.slots) if group in (None, sl[0])]
        slots = [self.slots[k] for k in mine]
        ends = [g for g in self.groups if group in (None, g)]
        weights = [self.chances[k] for k in mine] + [self.end] * len(ends)
        for _ in range(DRAWS):
            if sum(weights) <= 0:
                break
            pick = r.choices(range(len(weights)), weights=weights)[0]
            if pick < len(slots):
                g, a, b = slots[pick]
                numbers = self.model.within(a, b, r)
            else:
                g = ends[pick - len(slots)]
                numbers = self._after(self.groups[g], r)
            got = self._first(self.groups[g], numbers, r, taken_text, claim)
            if got is not None:
                return got
            weights[pick] = 0.0  # full: every number of it is another canary's
        for g in ends:  # what is left: any end, one step on or more
            s = self.groups[g]
            top = s.numbers[-1] if s.numbers else 0
            got = self._first(s, range(top + 1, top + TRIES), r, taken_text, claim)
            if got is not None:
                return got
        return None

    def _first(
        self,
        s: SeriesGroup,
        numbers: Iterable[int],
        r: random.Random,
        taken_text: set[str],
        claim: Callable[[str], bool],
    ) -> str | None:
        """The first of `numbers`, written in group `s`, that no row holds and `claim`
        grants."""
        held = set(s.numbers)
        for n in numbers:
            text = s.write(n, r) if n not in held else None
            if text is not None and text not in taken_text and claim(text):
                return text
        return None

    def between(
        self, prev: str | None, nxt: str | None, r: random.Random, taken_text: set[str]
    ) -> str | None:
        """A new id strictly between `prev` and `nxt` of an ordered column (either None
        at an end of the table): in a gap of their group, as `GapModel` takes one; after
        the last of a group as often as an end is taken (`end`), after the table's last
        row always (where a canary that found no place goes); None where there is no
        room or the place is passed by."""
        low = _series_parts(prev.strip()) if prev is not None else None
        high = _series_parts(nxt.strip()) if nxt is not None else None
        if low is None:
            return None  # before the first row: no row's number comes before it
        s = self.groups.get(low[0]) or SeriesGroup(
            low[0], [int(low[1])], Counter({_width(low[1]): 1}), Counter({low[2]: 1})
        )
        a = int(low[1])
        if high is not None and high[0] == low[0]:
            numbers = self.model.split(a, int(high[1]), r)
        elif high is None or r.random() < self.end:  # the table's end: the last group's
            numbers = [a + k for k in self._steps(s, r)]
        else:
            return None
        for n in numbers:
            text = s.write(n, r)
            if text is not None and text not in taken_text:
                return text
        return None

    def _steps(self, s: SeriesGroup, r: random.Random) -> list[int]:
        """Steps to try on from group `s`'s last number: its own, else every group's."""
        steps = Counter(b - a for a, b in itertools.pairwise(s.numbers))
        if not steps:
            steps = self.model.gaps
        return [k for k in _step_order(dict(steps), r) if k % self.model.unit == 0] or [1]

    def _after(self, s: SeriesGroup, r: random.Random) -> list[int]:
        """Numbers to try after group `s`'s last."""
        top = s.numbers[-1] if s.numbers else 0
        return [top + k for k in self._steps(s, r)]


#: Places a canary's id in a `GroupedSeries` is drawn at, at most, and numbers tried
#: after a group's end where every place drawn is full.
DRAWS = 40
TRIES = 400
