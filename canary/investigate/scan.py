"""Every canary needle at once, over a dump's bytes: an Aho-Corasick automaton.

A found dump is searched for tens of thousands of identifiers written any way: an
address in any case, a number with any separators, a name with or without accents.
Rather than one search per needle (or a regular expression tried at every position),
each piece of the dump is projected the way `canary.text.compact` folds text (ASCII
letters and digits kept and lowered, accents dropped, everything else deleted), and
one automaton (`ahocorasick_rs`, a Rust Aho-Corasick, linear in the text whatever the
number of needles) looks for the needles' compact forms in the projection. Each hit
is only a candidate: its place in the original bytes is found again and a small
window around it is checked by the exact matchers (`identify`: addresses, phone runs,
folded words), so the projection costs no precision, only a few verifications.

The projection is one `bytes.translate` for ASCII text and for UTF-8 whose only
non-ASCII characters are Latin-1 letters (Spanish, Portuguese, French names); other
text is decoded and folded (`compact`), which gives the same bytes, slower.
"""

from __future__ import annotations

import bisect
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import ahocorasick_rs

from canary.text import compact

log = logging.getLogger(__name__)


def _load_daachorse() -> Any:
    try:
        return importlib.import_module("daachorse")
    except ImportError:
        return None


#: daachorse (a double-array Aho-Corasick): searches about three times faster than
#: ahocorasick-rs and its automaton can be kept as bytes (read back in milliseconds).
#: Without it (an install that predates the dependency) ahocorasick-rs is used.
_DAACHORSE = _load_daachorse()


def engine_name() -> str:
    """Which automaton this process uses, with its version: a kept automaton is read
    back only by the same."""
    if _DAACHORSE is None:
        return "ahocorasick-rs"
    try:
        return "daachorse-" + version("daachorse")
    except PackageNotFoundError:
        return "daachorse"


#: Needles shorter than this (projected) would hit everywhere: left out.
MIN_NEEDLE = 4
#: Candidates of one needle checked at most: a dump that repeats a value (a hostile
#: file of one canary number over and over) costs one check per occurrence otherwise.
#: Past this, the needle's value has been found, or its projection is common in this
#: dump and the checks said no that many times.
MAX_HITS_PER_NEEDLE = 10_000
#: Bytes of each needle the automaton holds (see `Engine`).
KEY_PREFIX = 16
#: Whole needles of one prefix compared with a hit, at most (the rest count as its prefix).
MAX_GROUP = 64
#: Bytes of a projection compared with the needles of a large group (longer needles
#: are not made: an address is at most 254 characters).
LONGEST = 320
#: Bytes of the original a projected position is mapped back within (see `_Piece`).
BLOCK = 4096


def _tables() -> tuple[bytes, bytes]:
    """translate() tables for ASCII and UTF-8 Latin-1 letters: (lower, delete)."""
    lower = bytearray(range(256))
    delete = bytearray()
    for c in range(128):
        if 65 <= c <= 90:
            lower[c] = c + 32
        elif not (48 <= c <= 57 or 97 <= c <= 122):
            delete.append(c)
    latin_lower, latin_delete = lower, delete
    latin_delete.append(0xC3)  # the lead byte of U+00C0..U+00FF; its second byte says which
    for cont in range(0x80, 0xC0):
        folded = compact(chr(0xC0 + cont - 0x80))
        if len(folded) == 1:
            latin_lower[cont] = ord(folded)
        elif not folded:
            latin_delete.append(cont)
        # else "ß" (two letters): left as it is, a piece holding it is decoded
    return bytes(latin_lower), bytes(latin_delete)


_LATIN_LOWER, _LATIN_DELETE = _tables()
_NEEDLE_DELETE = _LATIN_DELETE.replace(b"\n", b"")


def _project_latin(data: bytes) -> bytes:
    return data.translate(_LATIN_LOWER, _LATIN_DELETE)


def _project_text(data: bytes) -> bytes:
    return compact(data.decode("utf-8", "replace")).encode("ascii")


Projector = Callable[[bytes], bytes]


def projected(data: bytes) -> tuple[bytes, Projector]:
    """`compact` of UTF-8 bytes, as bytes, and the projection that made it.

    One translate maps ASCII and the Latin-1 letters (0xC3 and their second byte);
    anything else it leaves a byte >= 0x80 in the result, and the piece is decoded and
    folded instead. (A stray second byte without its 0xC3, invalid UTF-8, is read as
    that letter: the text would hold U+FFFD there.)
    """
    out = data.translate(_LATIN_LOWER, _LATIN_DELETE)
    if out.isascii():
        return out, _project_latin
    return _project_text(data), _project_text


def project(data: bytes) -> bytes:
    """`compact` of UTF-8 bytes, as bytes: what the automaton searches."""
    return projected(data)[0]


def char_start(data: bytes, i: int) -> int:
    """`i` moved back to the first byte of the UTF-8 character it falls in."""
    floor = max(0, i - 3)
    while i > floor and 0x80 <= data[i] < 0xC0:
        i -= 1
    return i


#: Groups of this many BLOCKs: the first look-up in a piece projects only the groups
#: up to its position (once), then the blocks of one group.
GROUP = 16


@dataclass
class _Piece:
    """A projected piece and, built as hits ask for it, the way back to its bytes.

    The piece is cut into groups of about GROUP * BLOCK bytes, and each group into
    blocks of about BLOCK bytes (at character starts). The projected length before
    each group is known up to the furthest hit so far, and before each block only in
    the groups a hit fell in: a hit costs the groups up to it (once per piece) and a
    few small projections, not a second projection of the whole piece in 4 KB calls.
    """

    data: bytes
    project: Projector
    _starts: list[int] = field(default_factory=lambda: [0])  # byte offset of each group
    _cumulative: list[int] = field(default_factory=lambda: [0])  # projected length before it
    _blocks: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)

    def original(self, position: int) -> int:
        """The byte offset from which the projection reaches `position`."""
        starts, cumulative, n = self._starts, self._cumulative, len(self.data)
        while cumulative[-1] <= position and starts[-1] < n:
            stop = self._next(starts[-1], BLOCK * GROUP)
            cumulative.append(cumulative[-1] + len(self.project(self.data[starts[-1] : stop])))
            starts.append(stop)
        # The last start is the end of the piece or of the groups measured so far.
        g = bisect.bisect_right(cumulative, position, 0, len(cumulative) - 1) - 1
        if g < 0:
            return 0
        bstarts, bcumulative = self._group(g)
        b = bisect.bisect_right(bcumulative, position) - 1
        start = bstarts[b]
        stop = bstarts[b + 1]
        want = position - bcumulative[b]
        data, proj = self.data, self.project
        return start + bisect.bisect_left(
            range(stop - start + 1), want, key=lambda k: len(proj(data[start : start + k]))
        )

    def _next(self, start: int, size: int = BLOCK) -> int:
        """Where the block (or group) of `size` bytes starting at `start` ends: at the
        start of a character."""
        n = len(self.data)
        stop = char_start(self.data, start + size) if start + size < n else n
        return stop if stop > start else min(n, start + size)

    def _group(self, g: int) -> tuple[list[int], list[int]]:
        """(block starts and the end, projected length before each) of group `g`."""
        got = self._blocks.get(g)
        if got is None:
            start, end = self._starts[g], self._starts[g + 1]
            total = self._cumulative[g]
            starts, cumulative = [start], [total]
            while start < end:
                stop = min(self._next(start), end)
                total += len(self.project(self.data[start:stop]))
                starts.append(stop)
                cumulative.append(total)
                start = stop
            got = self._blocks[g] = (starts, cumulative[:-1])
        return got


@dataclass(frozen=True)
class Hit:
    """Where a needle's projection was found, in the piece's bytes."""

    start: int
    end: int


def double_array(prefixes: Sequence[bytes]) -> Any:
    """daachorse's automaton for `prefixes` (leftmost-longest), None without daachorse
    or when it cannot hold them (ahocorasick-rs is used instead)."""
    if _DAACHORSE is None or not prefixes:
        return None
    try:
        return _DAACHORSE.DoubleArrayAhoCorasick(
            list(prefixes), match_kind=_DAACHORSE.MATCH_KIND_LEFTMOST_LONGEST
        )
    except Exception as exc:  # past its limits (patterns, states)
        log.warning("daachorse cannot hold %d needles (%s)", len(prefixes), exc)
        return None


def serialized(prefixes: Sequence[bytes]) -> bytes | None:
    """The automaton for `prefixes` as bytes to keep (`Engine(automaton=...)`), None
    when the engine cannot be kept (no daachorse: ahocorasick-rs builds it each time)."""
    built = double_array(prefixes)
    return None if built is None else bytes(built.serialize())


def prefix_groups(keys: Sequence[bytes], length: int = KEY_PREFIX) -> tuple[list[bytes], list[int]]:
    """The automaton's needles for sorted compact `keys`: each distinct first `length`
    bytes of a key at least MIN_NEEDLE long, and where the keys of each begin in `keys`
    (the last item: where the last one's end)."""
    prefixes: list[bytes] = []
    group: list[int] = []
    last, end = b"", 0
    for i, key in enumerate(keys):
        if len(key) < MIN_NEEDLE:
            continue
        prefix = key[:length]
        if prefix != last:
            prefixes.append(prefix)
            group.append(i)
            last = prefix
        end = i + 1
    group.append(end)
    return prefixes, group


def longest_at(full: Sequence[bytes], lo: int, hi: int, text: bytes, start: int) -> int | None:
    """The longest of the sorted needles `full[lo:hi]` that `text` holds at `start`, by
    bisection (a group too large to try each one)."""
    probe = text[start : start + LONGEST]
    j = bisect.bisect_right(full, probe, lo, hi) - 1
    while j >= lo:
        key = full[j]
        if probe.startswith(key):
            return j  # the largest needle <= probe that is a prefix of it is the longest
        # A shorter needle that is a prefix of the probe sorts before `key` and is a
        # prefix of what `key` and the probe share.
        n = 0
        for a, b in zip(key, probe, strict=False):
            if a != b:
                break
            n += 1
        probe = probe[:n]
        j = bisect.bisect_right(full, probe, lo, j) - 1
    return None


class Engine:
    """One automaton for every needle; `scan` gives the candidate hits of a piece.

    The automaton holds each needle's first KEY_PREFIX bytes only (sorted, each once):
    building it is about linear in the bytes it holds, and 16 bytes of letters and
    digits say as much as the whole value about where to look. Each hit is matched
    against the whole needles of its prefix in the projection, so a value met many
    times in a dump is counted (and capped) as that value, not as its prefix.
    """

    def __init__(
        self,
        keys: Sequence[bytes],
        prefixes: Sequence[bytes] | None = None,
        group: Sequence[int] | None = None,
        automaton: bytes | None = None,
        anchor: int = KEY_PREFIX,
    ) -> None:
        """`keys`: needles in compact form (`canary.text.compact`), sorted, each once;
        `prefixes` and `group` as `prefix_groups` gives them (computed when not given;
        the prefixes are needed only when there is no `automaton`, what `serialized` gave
        for them)."""
        if group is None:
            prefixes, group = prefix_groups(keys, anchor)
        self._full = keys
        self._group = group
        self._size = len(group) - 1
        # Candidates counted per whole needle or prefix met (few: not a slot per needle).
        self._hits: dict[int, int] = {}
        self._misses: dict[int, int] = {}
        self._double_array: Any = None
        self._automaton: ahocorasick_rs.BytesAhoCorasick | None = None
        if not self._size:
            return
        if automaton is not None and _DAACHORSE is not None:
            try:
                self._double_array = _DAACHORSE.DoubleArrayAhoCorasick.deserialize(automaton)
                return
            except Exception:  # another version's bytes: built again below
                log.info("stored automaton not readable by this daachorse; building it")
        if prefixes is None:
            prefixes = prefix_groups(keys, anchor)[0]
        self._double_array = double_array(prefixes)
        if self._double_array is None:
            # Leftmost-longest, contiguous: 2.5x faster to search than every overlapping
            # match, for about the same build. Sorted needles build twice as fast.
            self._automaton = ahocorasick_rs.BytesAhoCorasick(
                prefixes,
                matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST,
                implementation=ahocorasick_rs.Implementation.ContiguousNFA,
            )

    def _find(self, text: bytes) -> list[tuple[int, int, int]]:
        """(needle, start, end) of each leftmost-longest match in `text`.

        A needle hidden inside a longer match that overlaps it lies in that match's
        window, which the caller checks for every kind."""
        if self._double_array is not None:
            return [(i, start, end) for start, end, i in self._double_array.find(text)]
        if self._automaton is not None:
            return self._automaton.find_matches_as_indexes(text)
        return []

    def __len__(self) -> int:
        """Needles (distinct prefixes) the automaton holds."""
        return self._size

    def scan(self, data: bytes) -> Iterator[Hit]:
        """Candidate hits in `data` (UTF-8), in the order they end."""
        if self._double_array is None and self._automaton is None:
            return
        text, fn = projected(data)
        matches = self._find(text)
        if not matches:
            return
        piece = _Piece(data, fn)
        full, group, hits, misses = self._full, self._group, self._hits, self._misses
        for index, start, end in matches:
            lo, hi = group[index], group[index + 1]
            whole = None  # the longest whole needle of this prefix that is there
            if hi - lo > MAX_GROUP:  # short prefixes (`needles.anchor_length`): bisect
                whole = longest_at(full, lo, hi, text, start)
            for k in range(lo, hi if hi - lo <= MAX_GROUP else lo):
                if text.startswith(full[k], start) and (
                    whole is None or len(full[k]) > len(full[whole])
                ):
                    whole = k
            # A prefix whose whole needles are not there is still a candidate: a needle
            # it overlaps (hidden by the leftmost-longest search) lies in its window.
            counts, at = (hits, whole) if whole is not None else (misses, index)
            seen = counts.get(at, 0)
            if seen >= MAX_HITS_PER_NEEDLE:
                continue
            counts[at] = seen + 1
            if whole is not None:
                end = start + len(full[whole])
            yield Hit(piece.original(start), piece.original(end))
