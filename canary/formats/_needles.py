"""Finding canary values that already occur in a source, fast enough for gigabytes.

Aho-Corasick automata (ahocorasick-rs, Rust, GIL released while it searches) find
every needle in a pass over each buffer, whatever their number: a separate
`bytes.find` per needle cost about 0.05 s per needle per GB (58,391 calls, 2.8 s, for
20 pool numbers and one copy's ids over 400 MB). Usually one automaton; where the
patterns' prefilters defeat each other, one per kind of first byte, or one per pattern
when they are a few (see `_plan`).

Needles other than emails are matched exactly as written, as whole values: an id
"1813" inside a DNI "18134567X" or a longer number is not a collision. Emails are
matched case-insensitively (ASCII) where it is cheap: canary emails share their domain
or other substrings, so the automaton searches a few *anchors* (substrings shared by
many addresses, rare or absent in the head of the source), in lower case and in
capitals, and an anchor's hit is confirmed on the lower-cased window around it. An
address whose anchor part (usually the domain) is written in mixed case in the source
is not seen. Addresses in capitals as needles of their own were five times slower:
patterns starting with common capitals defeat the automaton's prefilter. Exact needles
that share a substring rare in the head (a pool's phones: "844 555 ") are searched
under it the same way, and confirmed as whole values in the window of a hit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ahocorasick_rs import BytesAhoCorasick, Implementation

from canary.formats.table import Collision

log = logging.getLogger(__name__)

ANCHOR_LEN = 8
#: An anchor may occur this often in the head (256 KB) and still be worth searching.
RARE = 2
MIN_NEEDLE = 4
#: Buffers are searched this much at a time (with an overlap of the longest pattern),
#: so the list of hits one call returns stays small whatever the buffer.
SLICE = 8 << 20
#: A head shorter than this is too little to time the automata on or to choose the
#: exact needles' anchors by: one automaton of every needle, as written.
SAMPLE_MIN = 64 << 10
#: At most this many patterns are tried as one automaton each.
EACH_MAX = 8
#: Shared substrings of the exact needles looked up in the head, at most.
CANDIDATES = 64


class _Group:
    def __init__(self, anchor: bytes, fold: bool) -> None:
        self.anchor = anchor
        self.fold = fold
        self.needles: list[tuple[bytes, str]] = []


class _ExactGroup:
    """Exact needles sharing a substring (the anchor) that is rare in the head."""

    def __init__(self, anchor: bytes) -> None:
        self.anchor = anchor
        self.needles: list[tuple[bytes, tuple[str, bool]]] = []


#: What a pattern stands for: an email group under its anchor, exact needles under
#: theirs, or (needle, whole).
_What = _Group | _ExactGroup | tuple[str, bool]
Automata = list[tuple[BytesAhoCorasick, list[_What]]]


class NeedleScanner:
    """Raise `Collision` when any needle occurs in the scanned bytes."""

    def __init__(
        self, needles: Iterable[str], encoding: str, head: bytes = b"", plan: str | None = None
    ) -> None:
        """`head`: the source's first bytes (anchors are chosen rare there, and the
        automata timed on it); `plan`: "one", "kinds" or "each" forces that way of
        searching (see `_plan`) instead of timing them."""
        folded: dict[bytes, tuple[str, bool]] = {}
        #: needle bytes -> (needle, whole: matched only as a whole value)
        exact: dict[bytes, tuple[str, bool]] = {}
        for n in needles:
            text = (n or "").strip()
            if len(text) < MIN_NEEDLE:
                continue
            fold = "@" in text
            try:
                if fold:
                    folded.setdefault(text.lower().encode(encoding), (text, True))
                else:
                    exact.setdefault(text.encode(encoding), (text, True))
            except UnicodeEncodeError:
                continue  # cannot occur in a source written in this encoding
        #: Email groups under their anchors (see the module docstring).
        self.groups = _choose_anchors(folded, head)
        patterns: list[bytes] = []
        #: per pattern: the group whose anchor it is, or the needle it is (exact match)
        self._what: list[_What] = []
        for g in self.groups:
            patterns.append(g.anchor)
            self._what.append(g)
            # All capitals (registries written in upper case): the anchor in capitals
            # too, or, where that is common in the head, each address in capitals.
            upper = g.anchor.upper()
            if upper == g.anchor:
                continue
            if head.count(upper) <= RARE:
                patterns.append(upper)
                self._what.append(g)
            else:
                for key, text in g.needles:
                    exact.setdefault(key.upper(), (text, False))
        #: Exact needles under shared anchors (each found in the window of a hit).
        self.exact_groups, alone = (
            _exact_anchors(exact, head) if len(head) >= SAMPLE_MIN else ([], list(exact))
        )
        for eg in self.exact_groups:
            patterns.append(eg.anchor)
            self._what.append(eg)
        for key in alone:
            patterns.append(key)
            self._what.append(exact[key])
        self._exact = exact
        self.longest = max((len(k) for k in (*folded, *exact)), default=0)
        self.empty = not patterns
        #: (automaton, what each of its patterns is), searched one after the other.
        self._automata = _plan(patterns, self._what, head, plan)

    def scan(self, data: bytes | bytearray) -> None:
        """Check one buffer; needles spanning two buffers are the caller's concern.

        Each occurrence of an email anchor is confirmed in a small window around it, so
        an anchor that does occur now and then in the source stays cheap.
        """
        n = len(data)
        mv = memoryview(data)
        reach = self.longest - 1
        for automaton, whats in self._automata:
            start = 0
            while start < n:
                end = min(start + SLICE, n)
                hits = automaton.find_matches_as_indexes(
                    mv[start : min(end + reach, n)], overlapping=True
                )
                for index, lo, hi in hits:
                    self._confirm(data, whats[index], start + lo, start + hi)
                start = end

    def _confirm(self, data: bytes | bytearray, what: _What, lo: int, hi: int) -> None:
        if isinstance(what, tuple):
            text, whole = what
            if not whole or _bounded_at(data, lo, hi):
                raise Collision(text)
            return
        if isinstance(what, _ExactGroup):
            # Every occurrence of a needle holds its anchor, so lies in this window; a
            # byte more each side tells a whole value from part of a longer one.
            lo0 = max(0, lo - self.longest - 1)
            window = data[lo0 : hi + self.longest + 1]
            for key, (text, whole) in what.needles:
                pos = window.find(key)
                while pos != -1:
                    if not whole or _bounded_at(window, pos, pos + len(key)):
                        raise Collision(text)
                    pos = window.find(key, pos + 1)
            return
        window = data[max(0, lo - self.longest) : hi + self.longest].lower()
        for key, text in what.needles:
            if window.find(key) != -1:
                raise Collision(text)

    def scan_text(self, text: str) -> None:
        """Check decoded text (for formats read as values rather than bytes)."""
        low = text.lower()
        for g in self.groups:
            for _key, original in g.needles:
                if original.lower() in low:
                    raise Collision(original)
        for original, whole in self._exact.values():
            if whole and _bounded(text, original):
                raise Collision(original)


def _bounded_at(hay: Any, pos: int, end: int) -> bool:
    """hay[pos:end] (a needle's occurrence) stands as a whole value (see `_bounded`)."""
    key = hay[pos:end]
    before = hay[pos - 1 : pos] if pos else hay[:0]
    after = hay[end : end + 1]
    return not (_alnum(before) and _alnum(key[:1])) and not (_alnum(after) and _alnum(key[-1:]))


def _bounded(hay: Any, key: Any) -> bool:
    """`key` occurs in `hay` as a whole value: not inside a longer run of letters and
    digits ("1813" inside a DNI "18134567X" or a phone is no collision). Addresses are
    matched anywhere (a longer one holding it is near enough to count)."""
    pos = hay.find(key)
    while pos != -1:
        end = pos + len(key)
        before = hay[pos - 1 : pos] if pos else hay[:0]
        after = hay[end : end + 1]
        if not (_alnum(before) and _alnum(key[:1])) and not (_alnum(after) and _alnum(key[-1:])):
            return True
        pos = hay.find(key, pos + 1)
    return False


def _alnum(ch: Any) -> bool:
    return bool(ch) and ch.isalnum()


def _choose_anchors(items: dict[bytes, tuple[str, bool]], head: bytes) -> list[_Group]:
    """Anchors for the email needles (lower case), each rare or absent in the head.

    An address's "@domain" when that is rare (canary domains: one anchor for every
    address on it); else the first of its 8-byte substrings the head does not hold;
    else the whole address. Linear in the needles, whatever their number.
    """
    head_low = head.lower()
    # The head's 8-byte substrings, only once an address needs them (0.2 s for 256 KB
    # under load; canary addresses usually share a rare domain and never do).
    grams: set[bytes] | None = None
    domain_seen: dict[bytes, bool] = {}
    groups: dict[bytes, _Group] = {}
    for key, (text, fold) in items.items():
        at = key.rfind(b"@")
        anchor = key
        if at != -1:
            domain = key[at:]
            if domain not in domain_seen:
                domain_seen[domain] = len(domain) >= MIN_NEEDLE and head_low.count(domain) <= RARE
            if domain_seen[domain]:
                anchor = domain
        if anchor is key and len(key) > ANCHOR_LEN:
            if grams is None:
                grams = {
                    head_low[i : i + ANCHOR_LEN] for i in range(len(head_low) - ANCHOR_LEN + 1)
                }
            for i in range(len(key) - ANCHOR_LEN + 1):
                gram = key[i : i + ANCHOR_LEN]
                if gram not in grams:
                    anchor = gram
                    break
        grp = groups.get(anchor)
        if grp is None:
            grp = groups[anchor] = _Group(anchor, fold)
        grp.needles.append((key, text))
    if groups:
        log.debug("%d email needles under %d anchors", len(items), len(groups))
    return list(groups.values())


def _first_kind(pattern: bytes) -> int:
    """The kind of a pattern's first byte: a digit, an ASCII letter, or itself."""
    b = pattern[0]
    if 0x30 <= b <= 0x39:
        return -1
    if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A:
        return -2
    return b


def _build(patterns: list[bytes], whats: list[_What]) -> tuple[BytesAhoCorasick, list[_What]]:
    # A full DFA: a fifth to a half faster than the default NFA where no prefilter
    # helps (thousands of digit ids: about 290 against 230 MB/s under load).
    return BytesAhoCorasick(patterns, implementation=Implementation.DFA), whats


def _plan(patterns: list[bytes], whats: list[_What], head: bytes, plan: str | None) -> Automata:
    """The automata to search: one for every pattern, one per kind of first byte, or
    (a few patterns) one per pattern, whichever searches `head` fastest (or `plan`).

    The automaton's prefilter looks for at most three bytes that its patterns hold
    (rare in text, by a fixed table): one set of needles can defeat another's. The
    bench's phones in two forms, "(844) 555-1018" and "844 555 1018", with the emails'
    "@canary-mail.mx", searched 9 s per GB in one automaton (the prefilter stopped at
    nearly every digit of the file) against 0.3-0.9 s each alone, 1.3-1.4 s in all;
    an automaton of a single pattern searches it as a substring (memmem: 0.1 s per GB
    here). Where one automaton's prefilter holds, it stays one, as it does without a
    head to time them on (the formats that scan line by line call it per line).
    """
    if not patterns:
        return []
    kinds: dict[int, list[int]] = {}
    for i, p in enumerate(patterns):
        kinds.setdefault(_first_kind(p), []).append(i)
    ways: dict[str, Callable[[], Automata]] = {
        "one": lambda: [_build(patterns, whats)],
        "kinds": lambda: [
            _build([patterns[i] for i in ix], [whats[i] for i in ix]) for ix in kinds.values()
        ],
    }
    if len(patterns) <= EACH_MAX:
        ways["each"] = lambda: [_build([p], [w]) for p, w in zip(patterns, whats, strict=True)]
    if plan is not None:
        return ways[plan]()
    if len(head) < SAMPLE_MIN:
        return ways["one"]()
    built = {name: make() for name, make in ways.items()}
    sample = memoryview(head)
    best = dict.fromkeys(built, float("inf"))
    for _ in range(3):  # alternated, the least of three each: the machine's load varies
        for name, automata in built.items():
            best[name] = min(best[name], _timed(automata, sample))
    return built[min(best, key=lambda name: best[name])]


def _exact_anchors(
    exact: dict[bytes, tuple[str, bool]], head: bytes
) -> tuple[list[_ExactGroup], list[bytes]]:
    """Anchors shared by exact needles (pool phones, ids of one shape): an 8-byte
    substring that several needles hold and the head does not (at most RARE times).

    Greedy: the substrings held by the most needles first; the head is searched for
    at most CANDIDATES of them. Needles that share no rare substring stay patterns of
    their own. Returns the groups and those needles.
    """
    holders: dict[bytes, list[bytes]] = {}
    for key in exact:
        # In order of position (not a set's): the same anchors in every run.
        for gram in dict.fromkeys(
            key[i : i + ANCHOR_LEN] for i in range(len(key) - ANCHOR_LEN + 1)
        ):
            holders.setdefault(gram, []).append(key)
    ranked = sorted((g for g, ks in holders.items() if len(ks) > 1), key=lambda g: -len(holders[g]))
    placed: set[bytes] = set()
    groups: list[_ExactGroup] = []
    for gram in ranked[:CANDIDATES]:
        keys = [k for k in holders[gram] if k not in placed]
        if len(keys) < 2 or head.count(gram) > RARE:
            continue
        group = _ExactGroup(gram)
        group.needles = [(k, exact[k]) for k in keys]
        placed.update(keys)
        groups.append(group)
    return groups, [k for k in exact if k not in placed]


def _timed(automata: Automata, sample: memoryview) -> float:
    t = time.perf_counter()
    for automaton, _whats in automata:
        automaton.find_matches_as_indexes(sample, overlapping=True)
    return time.perf_counter() - t
