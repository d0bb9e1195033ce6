"""Finding canary values that already occur in a source, fast enough for gigabytes.

A separate `bytes.find` per needle over a 1 GB file costs about 0.4 s each, and a
regex alternation of many literals is far slower still. Needles are rarely
independent, though: canary emails share their domain, a copy's ids share a prefix.
So the scanner picks a few *anchors*, substrings shared by many needles that are
rare or absent in the head of the source, searches only for those in every chunk,
and looks for the needles themselves only in a small window around each anchor hit.

Emails are matched case-insensitively (ASCII) where it is cheap: the anchor is
searched in lower case and a hit is confirmed on the lower-cased chunk, so an
address whose anchor part (usually the domain) is written in upper case in the
source is not seen. Other needles are matched exactly as written, as whole values:
an id "1813" inside a DNI "18134567X" or a longer number is not a collision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from canary.formats.table import Collision

log = logging.getLogger(__name__)

ANCHOR_LEN = 8
#: An anchor may occur this often in the head (256 KB) and still be worth searching.
RARE = 2
MIN_NEEDLE = 4
SLICE = 1 << 20


class _Group:
    def __init__(self, anchor: bytes, fold: bool) -> None:
        self.anchor = anchor
        self.fold = fold
        self.needles: list[tuple[bytes, str]] = []


class NeedleScanner:
    """Raise `Collision` when any needle occurs in the scanned bytes."""

    def __init__(self, needles: Iterable[str], encoding: str, head: bytes = b"") -> None:
        items: dict[bytes, tuple[str, bool]] = {}
        for n in needles:
            text = (n or "").strip()
            if len(text) < MIN_NEEDLE:
                continue
            fold = "@" in text
            key_text = text.lower() if fold else text
            try:
                key = key_text.encode(encoding)
            except UnicodeEncodeError:
                continue  # cannot occur in a source written in this encoding
            items.setdefault(key, (text, fold))
        self.groups = _choose_anchors(items, head)
        self.longest = max((len(k) for k in items), default=0)
        self.empty = not self.groups

    def scan(self, data: bytes | bytearray) -> None:
        """Check one buffer; needles spanning two buffers are the caller's concern.

        Each occurrence of an anchor is confirmed in a small window around it, so an
        anchor that does occur now and then in the source stays cheap.
        """
        for g in self.groups:
            pos = _find(data, g.anchor, 0)
            while pos != -1:
                lo = max(0, pos - self.longest)
                window = data[lo : pos + len(g.anchor) + self.longest]
                if g.fold:
                    window = window.lower()
                for key, text in g.needles:
                    if window.find(key) != -1 if g.fold else _bounded(window, key):
                        raise Collision(text)
                pos = _find(data, g.anchor, pos + 1)

    def scan_text(self, text: str) -> None:
        """Check decoded text (for formats read as values rather than bytes)."""
        low = text.lower()
        for g in self.groups:
            hay = low if g.fold else text
            for _key, original in g.needles:
                if original.lower() in hay if g.fold else _bounded(hay, original):
                    raise Collision(original)


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


def _find(data: bytes | bytearray, sub: bytes, start: int) -> int:
    """data.find(sub, start), slice by slice.

    The GIL is held through one `find`; 1 MB at a time lets the hashing and writing
    threads, which wait for it after each call, get back to work sooner.
    """
    n = len(data)
    reach = len(sub) - 1
    while start < n:
        end = min(start + SLICE, n)
        pos = data.find(sub, start, min(end + reach, n))
        if pos != -1:
            return pos
        start = end
    return -1


def _widen(anchor: bytes, keys: set[bytes]) -> bytes:
    """Extend an anchor while every needle of its group shares the longer string.

    A longer pattern lets `bytes.find` skip further: it is markedly faster.
    """
    first = min(keys)
    i = first.find(anchor)
    lo, hi = i, i + len(anchor)
    while lo > 0 and all(first[lo - 1 : hi] in k for k in keys):
        lo -= 1
    while hi < len(first) and all(first[lo : hi + 1] in k for k in keys):
        hi += 1
    return first[lo:hi]


def _choose_anchors(items: dict[bytes, tuple[str, bool]], head: bytes) -> list[_Group]:
    """Greedy cover of the needles by shared substrings absent from the source's head."""
    head_low = head.lower()
    grams: dict[tuple[bytes, bool], set[bytes]] = {}
    for key, (_text, fold) in items.items():
        size = min(ANCHOR_LEN, len(key))
        for i in range(len(key) - size + 1):
            grams.setdefault((key[i : i + size], fold), set()).add(key)
    usable: dict[tuple[bytes, bool], tuple[set[bytes], int]] = {}
    for g, keys in grams.items():
        seen = (head_low if g[1] else head).count(g[0])
        if seen <= RARE:
            usable[g] = (keys, seen)
    uncovered = set(items)
    groups: list[_Group] = []
    while uncovered:
        scored = []
        for g, (keys, seen) in usable.items():
            cover = keys & uncovered
            if cover:
                scored.append((len(cover), -seen, g, cover))
        if not scored:
            # Every substring of these needles is common in the source: search them whole.
            for key in sorted(uncovered):
                grp = _Group(key, items[key][1])
                grp.needles.append((key, items[key][0]))
                groups.append(grp)
            break
        top = max(s[:2] for s in scored)
        # Among the best covers, the one that widens to the longest anchor (faster find).
        ties = [s for s in scored if s[:2] == top][:64]
        anchor, fold, best_keys = max(
            ((_widen(g[0], cover), g[1], cover) for _, _, g, cover in ties),
            key=lambda t: len(t[0]),
        )
        grp = _Group(anchor, fold)
        grp.needles = [(k, items[k][0]) for k in sorted(best_keys)]
        groups.append(grp)
        uncovered -= best_keys
    if groups:
        log.debug("%d needles under %d anchors", len(items), len(groups))
    return groups
