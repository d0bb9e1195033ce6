"""Identify a found dump: which issued copies does this file (or text) come from?

The dump may be anything a leaker hands over: the copy reformatted (columns dropped
or reordered, re-encoded, XLSX, JSON), a subset of rows, several copies merged, a chat
export or a pasted list. Its format is told from its content (`sniff`), it is read as
text piece by piece by the matching reader (`readers`; table cells come out separated,
so a value never runs into its neighbour; UTF-8 text is scanned as its bytes), with an
overlap between pieces (memory stays flat, nothing is missed at a boundary), and every
canary identifier is looked for in it at once (`canary.investigate.scan`: one
Aho-Corasick automaton, each candidate checked in its window by the rules below):

- emails, case-insensitively;
- phone numbers in any formatting: digit groups are matched against the national
  numbers of the canary phones, aligned on group boundaries, with or without country
  code, the Mexican mobile "1" or a trunk prefix;
- canary names, national ids (CURP, RFC, DNI...) and other ids, accents and case folded.

Any identifier only one copy holds is exclusive evidence for that copy; copies whose
matches are all explained by copies with exclusive evidence are listed apart
(`explained`); the others share what they matched, with the probability that blaming
each is wrong (`judge`). Control canaries (never planted) are noise, not evidence.
Everything in the file is hostile data: it is only matched against, never executed,
never used for a path or a query.
"""

from __future__ import annotations

import bisect
import codecs
import json
import logging
import math
import os
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from canary.errors import InputError
from canary.identifiers import id_kind, is_sequence_id, local_forms, normalize_email, phone_parts
from canary.investigate import needles as needle_index
from canary.investigate.coded import apply_codes
from canary.investigate.datasets import DatasetAnswer, dataset_matcher
from canary.investigate.needle_file import IndexFileChanged
from canary.investigate.needles import NeedleIndex, word_orders
from canary.investigate.readers import CHUNK_BYTES, as_text, raw_blocks, read_pieces
from canary.investigate.scan import Engine, char_start
from canary.investigate.sniff import Format, Kind, detect_file_format
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Domain, Identifier, PhoneNumber
from canary.text import compact, words
from canary.vocabulary import Strength

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_UNMATCHED = 1000
PHONE_RUN = r"(?<![\d+])\+?\d[\d \t\r\n().\-/\u00a0]{%d,}\d"
DIGIT_GROUP_RE = re.compile(r"\d+")
JSON_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class _Holder:
    canary_id: int
    copy_id: str | None  # None: a control canary


@dataclass
class Index:
    """The canary identifiers of the store met so far, for checking candidates.

    The store's needle index (`canary.investigate.needles`) says which identifiers give
    each needle; `ensure` reads those of a needle from the store the first time a
    candidate is checked against it, so the dicts below hold every identifier of each
    needle looked up, and nothing else.
    """

    emails: dict[str, list[_Holder]] = field(default_factory=dict)
    phones: dict[str, list[_Holder]] = field(default_factory=dict)
    #: national significant number -> [(country code, E.164)]
    national: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    national_lengths: set[int] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=lambda: {"", "0", "1", "01", "044", "045"})
    #: first folded word -> [(folded words, kind, raw value, holder)]
    words: dict[str, list[tuple[tuple[str, ...], str, str, _Holder]]] = field(default_factory=dict)
    domains: set[str] = field(default_factory=set)
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)
    store: Store | None = None
    needles: NeedleIndex | None = None
    _looked_up: set[int] = field(default_factory=set)
    _read: set[int] = field(default_factory=set)

    def phone_copies(self, e164: str) -> set[str]:
        return {h.copy_id for h in self.phones.get(e164, []) if h.copy_id}

    def ensure(self, key: str) -> None:
        """Read the identifiers of needle `key` (compact) from the store, once."""
        if self.needles is None or self.store is None:
            return
        found = self.needles.identifiers(key.encode("ascii", "replace"))
        if found is not None:
            self.ensure_needle(found[0])

    def ensure_needle(self, k: int) -> None:
        """Read the identifiers of needle number `k` from the store, once."""
        nx, store = self.needles, self.store
        if nx is None or store is None or k in self._looked_up:
            return
        self._looked_up.add(k)
        wanted = [i for i in nx.ids[nx.starts[k] : nx.starts[k + 1]] if i not in self._read]
        for lo in range(0, len(wanted), 500):
            self._add_rows(store, wanted[lo : lo + 500])

    @property
    def looked_up(self) -> set[int]:
        return set(self._looked_up)

    def _add_rows(self, store: Store, ids: list[int]) -> None:
        query = (
            select(
                Identifier.id,
                Identifier.kind,
                Identifier.value,
                Identifier.national,
                Identifier.country_code,
                Canary.id,
                Canary.copy_id,
                Canary.kind,
            )
            .join(Canary, Canary.id == Identifier.canary_id)
            .where(Identifier.id.in_(ids))
        )
        with store.engine.connect() as conn:
            for ident, kind, value, nsn, cc, canary_id, copy_id, canary_kind in conn.execute(query):
                if ident in self._read:
                    continue
                self._read.add(ident)
                self.add(
                    kind,
                    value,
                    nsn,
                    cc,
                    _Holder(canary_id, None if canary_kind == "control" else copy_id),
                )

    def add(self, kind: str, value: str, nsn: str | None, cc: str | None, holder: _Holder) -> None:
        """One identifier of a canary (`holder`)."""
        if kind == "email":
            self.emails.setdefault(normalize_email(value), []).append(holder)
        elif kind == "phone":
            known = value in self.phones
            self.phones.setdefault(value, []).append(holder)
            parts = (nsn, cc) if nsn and cc else _parts(value)
            if not known and parts is not None:
                for form in (parts[0], *local_forms(value)):  # "351 15-478-1733" too
                    self.national.setdefault(form, []).append((parts[1], value))
        elif kind in ("name", "id"):
            for w in word_orders(kind, value):
                self.words.setdefault(w[0], []).append((w, kind, value, holder))

    def load_copies(self, copy_ids: set[str]) -> None:
        """Recipient and issue date of the copies named (read once each)."""
        wanted = sorted(c for c in copy_ids if c not in self.copies)
        if not wanted or self.store is None:
            return
        with self.store.session() as s:
            for lo in range(0, len(wanted), 500):
                query = select(Copy.id, Copy.recipient, Copy.issued_at).where(
                    Copy.id.in_(wanted[lo : lo + 500])
                )
                for cid, recipient, issued_at in s.execute(query):
                    self.copies[cid] = {"recipient": recipient, "issued_at": issued_at}


#: Chance that an identifier found in a dump came from another copy than the one that
#: leaked (a merge of several copies): the weight of a copy that does not hold it.
OTHER_SOURCE = 0.05


@dataclass
class Found:
    """One canary identifier found in the dump and every canary that holds it."""

    kind: str
    value: str
    holders: list[_Holder]

    @property
    def copies(self) -> list[str]:
        return sorted({h.copy_id for h in self.holders if h.copy_id})


@dataclass
class CopyMatch:
    id: str
    recipient: str
    issued_at: datetime | None
    identifiers: list[dict[str, Any]]
    strength: Strength = Strength.SHARED
    false_accusation_probability: float = 1.0
    exclusive: int = 0  # identifiers only this copy holds
    #: The collusion code's verdict on this copy, when it holds coded canaries found.
    code: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recipient": self.recipient,
            "matched": len(self.identifiers),
            "identifiers": self.identifiers,
            "strength": self.strength.value,
            "false_accusation_probability": round(self.false_accusation_probability, 4),
            **({"code": self.code} if self.code is not None else {}),
        }


@dataclass
class Identification:
    """What a dump says: the contract's document, plus what only people read."""

    copies: list[CopyMatch]
    explained: list[CopyMatch]
    unmatched: list[str]
    controls: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[DatasetAnswer] = field(default_factory=list)
    format: str = "text"
    #: Every identifier found with all its holders, for the collusion code's step.
    found: list[Found] = field(default_factory=list)

    def evidence_groups(self) -> list[set[int]]:
        """The holders of each strong identifier found (an address, a number, a national
        id), one set per identifier. A name or a folio is left out: a real row of the
        dump can hold it."""
        return [
            {h.canary_id for h in f.holders} for f in self.found if not _is_weak(f.kind, f.value)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "copies": [c.to_json() for c in self.copies],
            "explained": [
                {"id": c.id, "recipient": c.recipient, "identifiers": c.identifiers}
                for c in self.explained
            ],
            "datasets": [
                {"id": d.id, "name": d.name, "rows_matched": d.rows_matched, "copies": d.copies}
                for d in self.datasets
            ],
            "unmatched_canary_domain_addresses": self.unmatched,
        }


def judge(index: Index, found: list[Found], unmatched: list[str]) -> Identification:
    """Label each matched copy and state the probability that blaming it is wrong.

    An identifier only one copy holds is exclusive evidence for it (P about 0: only a
    guessed value could put it there). A copy whose every identifier is also held by a
    copy with exclusive evidence is `explained`: nothing in the dump needs it. The other
    copies share what they matched; for them P comes from the identifiers no exclusive
    copy explains: each candidate copy weighs 1 per such identifier it holds and
    OTHER_SOURCE per one it does not, and P = 1 - its weight / the sum of weights (so
    1 - 1/k for k copies holding the same identifiers, lower for a copy that holds more
    of them).
    """
    per_copy: dict[str, CopyMatch] = {}
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    controls: list[dict[str, Any]] = []
    for f in _corroborated(found):
        holding = f.copies
        seen: set[str] = set()
        for h in f.holders:
            if h.copy_id is None:
                controls.append({"kind": id_kind(f.kind, f.value), "value": f.value})
                continue
            if h.copy_id in seen:
                continue
            seen.add(h.copy_id)
            info = index.copies.get(h.copy_id, {})
            match = per_copy.setdefault(
                h.copy_id,
                CopyMatch(h.copy_id, info.get("recipient", ""), info.get("issued_at"), []),
            )
            item: dict[str, Any] = {
                "kind": id_kind(f.kind, f.value),
                "value": f.value,
                "canary": h.canary_id,
            }
            if len(holding) > 1:
                item["shared_with"] = [c for c in holding if c != h.copy_id]
            elif not _is_weak(f.kind, f.value):
                # A name or a folio one copy alone holds corroborates, never proves: the
                # same name can sit in any row of a dump (a real person, a coded canary).
                match.exclusive += 1
            match.identifiers.append(item)
            held[h.copy_id].add((f.kind, f.value))
    exclusive = {c for c, m in per_copy.items() if m.exclusive}
    explained_ids = set().union(*(held[c] for c in exclusive)) if exclusive else set()
    copies: list[CopyMatch] = []
    explained: list[CopyMatch] = []
    for cid, m in per_copy.items():
        if cid in exclusive:
            m.strength, m.false_accusation_probability = Strength.EXCLUSIVE, 0.0
            copies.append(m)
        elif held[cid] <= explained_ids:
            explained.append(m)
        else:
            copies.append(m)
    shared = [m for m in copies if m.strength is Strength.SHARED]
    residual = set().union(*(held[m.id] for m in shared)) - explained_ids if shared else set()
    weights = {
        m.id: math.prod(1.0 if i in held[m.id] else OTHER_SOURCE for i in residual) for m in shared
    }
    total = sum(weights.values())
    for m in shared:
        m.false_accusation_probability = 1.0 - weights[m.id] / total if total else 1.0

    def rank(m: CopyMatch) -> tuple[Any, ...]:
        issued = m.issued_at or datetime.min.replace(tzinfo=UTC)
        return (
            m.strength is not Strength.EXCLUSIVE,
            -m.exclusive,
            m.false_accusation_probability,
            -len(m.identifiers),
            issued,
            m.id,
        )

    copies.sort(key=rank)
    explained.sort(key=rank)
    return Identification(copies, explained, unmatched, controls, found=found)


def _is_weak(kind: str, value: str) -> bool:
    """A full name or a sequence id ("F-00305"): values an unrelated table of the same
    population can hold by chance, since canaries take their names from the table's own
    name pools and continue its numbering."""
    return kind == "name" or (kind == "id" and is_sequence_id(value))


def _corroborated(found: list[Found]) -> list[Found]:
    """`found` without weak identifiers (names, sequence ids) that no strong identifier
    of their canary (an email, a phone, a national id, another id) backs.

    An unrelated registry of the same people (same name pools, same folio series) holds
    such values: a name and a folio of one canary were found in different rows of a
    table that had never seen a copy. Alone they would blame a copy on chance; beside the
    canary's address, number or national id they are corroboration.
    """
    strong: set[int] = set()
    for f in found:
        if not _is_weak(f.kind, f.value):
            strong.update(h.canary_id for h in f.holders)
    out = []
    for f in found:
        if _is_weak(f.kind, f.value):
            holders = [h for h in f.holders if h.canary_id in strong]
            if not holders:
                continue
            f = Found(f.kind, f.value, holders)
        out.append(f)
    return out


def load_index(store: Store) -> Index:
    """The store's needle index (kept in the store, rebuilt when the register changed),
    its canary domains and the phone rules; identifiers are read as needles are met."""
    nx = needle_index.load(store)
    idx = Index(store=store, needles=nx, national_lengths=set(nx.lengths))
    with store.session() as s:
        idx.domains = set(s.scalars(select(Domain.name)))
        codes = {
            cc or (_parts(n) or ("", ""))[1]
            for n, cc in s.execute(select(PhoneNumber.number, PhoneNumber.country_code))
        }
    for cc in (codes | nx.codes) - {""}:
        idx.prefixes.update({cc, cc + "1", "00" + cc, "00" + cc + "1"})
    return idx


#: Bytes of context read around a candidate hit before it is checked: an address's
#: local part (64) before it, its domain after it, a phone number's prefixes.
BEFORE = 128
AFTER = 320
#: Bytes of a piece scanned again with the next one, so a value cut by the piece
#: boundary is whole in one of them: more than BEFORE + AFTER + a needle's spread.
OVERLAP = 2048


@dataclass
class Scanner:
    """Feed a dump in pieces (text or UTF-8 bytes); collects every canary identifier seen.

    Every needle is looked for at once by `canary.investigate.scan.Engine` in the
    piece's compact projection; each candidate is checked in a window of the piece
    by the matcher of its kind (addresses, phone runs, folded words), so a needle is
    only found where the whole-text rules would find it.
    """

    index: Index
    #: How the dump is read (`readers.as_text` makes a window's text as its reader would).
    fmt: Format = field(default_factory=lambda: Format(Kind.TEXT))
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    words: dict[tuple[str, str], list[_Holder]] = field(default_factory=dict)
    unmatched: set[str] = field(default_factory=set)
    _carry: bytes = b""
    #: Whether the carried bytes begin the dump (nothing before them was cut off).
    _at_start: bool = True
    _engine: Engine | None = None
    _runs: re.Pattern[str] | None = None
    _domain_cache: dict[str, bool] = field(default_factory=dict)
    _finished: bool = False

    def feed(self, text: str, *, final: bool = False) -> None:
        self.feed_bytes(text.encode("utf-8", "replace"), final=final)

    def feed_bytes(self, data: bytes, *, final: bool = False) -> None:
        """A piece of the dump as UTF-8 bytes (a piece may end inside a character)."""
        buf = self._carry + data
        # JSON written with ensure_ascii: "Mar\u00eda" (a backslash looked for first:
        # one memchr, where `in` with two bytes costs about 2 ms per MB)
        if buf.find(b"\\") != -1 and b"\\u" in buf:
            text = buf.decode("utf-8", "replace")
            buf = JSON_ESCAPE_RE.sub(lambda m: _unescape(m.group(1)), text).encode("utf-8")
        pending = b""
        if not final:  # keep a character cut at the end for the next piece
            cut = char_start(buf, len(buf) - 1) if buf else 0
            if buf and buf[cut] >= 0xC0 and cut + _utf8_length(buf[cut]) > len(buf):
                buf, pending = buf[:cut], buf[cut:]
        self._scan(buf, final)
        if final:
            self._carry = b""
        else:
            keep = char_start(buf, max(0, len(buf) - OVERLAP))
            self._carry = buf[keep:] + pending
            self._at_start = self._at_start and keep == 0

    def finish(self) -> None:
        self.feed_bytes(b"", final=True)
        self._finished = True

    @property
    def unfinished(self) -> bool:
        return not self._finished

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            nx = self.index.needles
            automaton = nx.kept_automaton() if nx is not None else None
            self._engine = (
                Engine(
                    nx.keys,
                    None if automaton else nx.prefixes,
                    nx.group,
                    automaton,
                    nx.anchor,
                )
                if nx is not None
                else Engine([])
            )
        return self._engine

    def _scan(self, buf: bytes, final: bool) -> None:
        end = len(buf)
        first = self._at_start
        for hit in self.engine.scan(buf):
            if hit.start < BEFORE and not first:
                continue  # the previous piece saw it whole
            if hit.end + AFTER > end and not final:
                continue  # the next piece sees it whole
            lo, hi = max(0, hit.start - BEFORE), min(end, hit.end + AFTER)
            text = self._text(buf[lo:hi])
            at_start = lo == 0 and first
            at_end = hi == end and final
            # Every kind, whatever the needle: a needle overlapped by this match (the
            # engine reports the longest of overlapping ones) is in the window too.
            self._emails(text, at_start, at_end)
            self._phones(text, at_start, at_end)
            self._scan_words(words(text), at_start, at_end)

    def _text(self, window: bytes) -> str:
        """A window of the dump as the readers would give it."""
        return as_text(window.decode("utf-8", "replace"), self.fmt)

    def _emails(self, text: str, at_start: bool, at_end: bool) -> None:
        limit = len(text) - 64
        for address, at, stop in addresses_at(text):
            if (at < 64 and not at_start) or (stop > limit and not at_end):
                continue  # the window may cut it: another hit's window holds it whole
            self.index.ensure(compact(address))
            if address in self.index.emails:
                self.emails.add(address)
            elif len(self.unmatched) < MAX_UNMATCHED and self._canary_domain(address):
                self.unmatched.add(address)

    def _phones(self, text: str, at_start: bool, at_end: bool) -> None:
        if not self.index.national_lengths:
            return
        if self._runs is None:  # runs long enough to hold the shortest canary number
            shortest = min(self.index.national_lengths)
            self._runs = re.compile(PHONE_RUN % max(shortest - 2, 0))
        for m in self._runs.finditer(text):
            if (m.start() == 0 and not at_start) or (m.end() == len(text) and not at_end):
                continue  # may run on past the window
            self.phones.update(self._phones_in_run(m.group(0)))

    def _canary_domain(self, address: str) -> bool:
        domain = address.rpartition("@")[2]
        known = self._domain_cache.get(domain)
        if known is None:
            known = any(domain == d or domain.endswith("." + d) for d in self.index.domains)
            if len(self._domain_cache) < 10_000:
                self._domain_cache[domain] = known
        return known

    def _phones_in_run(self, run: str) -> set[str]:
        idx = self.index
        groups = DIGIT_GROUP_RE.findall(run)
        digits = "".join(groups)
        starts, ends, pos = [], [], 0
        for g in groups:
            starts.append(pos)
            pos += len(g)
            ends.append(pos)
        found: set[str] = set()
        for e in ends:
            for length in idx.national_lengths:
                s = e - length
                if s < 0:
                    continue
                idx.ensure(digits[s:e])
                holders = idx.national.get(digits[s:e])
                if not holders:
                    continue
                g = starts[bisect.bisect_right(starts, s) - 1]
                if s == g or digits[g:s] in idx.prefixes:
                    found.update(_pick_country(holders, digits[:s]))
        return found

    def _scan_words(self, tokens: list[str], at_start: bool, at_end: bool) -> None:
        last = len(tokens)
        self._look_up_words(tokens)
        first = self.index.words
        for i in [i for i, tok in enumerate(tokens) if tok in first]:
            if i == 0 and not at_start:
                continue  # the window may have cut this word
            for needle, kind, value, holder in first[tokens[i]]:
                n = len(needle)
                if tuple(tokens[i : i + n]) != needle:
                    continue
                if i + n == last and not at_end:
                    continue
                self.words.setdefault((kind, value), [])
                if holder not in self.words[(kind, value)]:
                    self.words[(kind, value)].append(holder)

    def _look_up_words(self, tokens: list[str]) -> None:
        """Read the names and ids any run of `tokens` could be (`Index.ensure`)."""
        nx = self.index.needles
        longest = nx.word_len if nx is not None else 0
        for i in range(len(tokens)):
            key = ""
            for tok in tokens[i:]:
                key += tok
                if len(key) > longest:
                    break
                self.index.ensure(key)

    def found_state(self) -> dict[str, Any]:
        """What this scanner found, as JSON (`merge` takes it)."""
        return {
            "emails": sorted(self.emails),
            "phones": sorted(self.phones),
            "words": [
                [kind, value, [[h.canary_id, h.copy_id] for h in holders]]
                for (kind, value), holders in self.words.items()
            ],
            "unmatched": sorted(self.unmatched),
            "needles": sorted(self.index.looked_up),
        }

    def merge(self, state: dict[str, Any]) -> None:
        """Add what another scanner of the same dump found (`found_state`)."""
        for k in state["needles"]:
            self.index.ensure_needle(k)  # its holders, for `result`
        self.emails.update(state["emails"])
        self.phones.update(state["phones"])
        for kind, value, holders in state["words"]:
            mine = self.words.setdefault((kind, value), [])
            for canary_id, copy_id in holders:
                holder = _Holder(canary_id, copy_id)
                if holder not in mine:
                    mine.append(holder)
        for address in state["unmatched"]:
            if len(self.unmatched) >= MAX_UNMATCHED:
                break
            self.unmatched.add(address)

    def result(self) -> Identification:
        """Copies best first, with their strength; explained copies and controls apart."""
        found: list[Found] = []
        for address in sorted(self.emails):
            found.append(Found("email", address, self.index.emails[address]))
        for e164 in sorted(self.phones):
            found.append(Found("phone", e164, self.index.phones[e164]))
        for (kind, value), holders in sorted(self.words.items()):
            found.append(Found(kind, value, holders))
        self.index.load_copies({h.copy_id for f in found for h in f.holders if h.copy_id})
        return judge(self.index, found, sorted(self.unmatched))


def _parts(e164: str) -> tuple[str, str] | None:
    """(national number, country code) of a number stored before they were kept."""
    parts = phone_parts(e164)
    return None if parts is None else (parts[0], parts[1])


def _utf8_length(lead: int) -> int:
    return 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _unescape(hex4: str) -> str:
    ch = chr(int(hex4, 16))
    return ch if ch.isprintable() else " "


#: The characters of a local part as addresses are written in practice. RFC 5322 also
#: allows |, /, =, ' and the like, but in a dump those are field separators and quoting:
#: "2205|ana@x.mx" is the address ana@x.mx after another field.
_LOCAL_RE = re.compile(r"[A-Za-z0-9_+.-]{1,64}$")
_DOMAIN_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])"
)


def emails_at(text: str) -> Iterator[tuple[str, int]]:
    """(normalised address, end offset) of each email address in `text`."""
    for address, _, stop in addresses_at(text):
        yield address, stop


def addresses_at(text: str) -> Iterator[tuple[str, int, int]]:
    """(normalised address, offset of its "@", end offset) of each address in `text`.

    Found from each "@" outwards, which is many times faster on large dumps than a
    regular expression tried at every position.
    """
    at = text.find("@")
    while at != -1:
        local = _LOCAL_RE.search(text, max(0, at - 64), at)
        domain = _DOMAIN_RE.match(text, at + 1)
        if local and domain:
            part = local.group(0).lstrip(".")
            if part and not part.endswith(".") and ".." not in part:
                yield f"{part}@{domain.group(0)}".lower(), at, domain.end()  # ASCII: lower
        at = text.find("@", at + 1)


def _pick_country(holders: list[tuple[str, str]], before: str) -> list[str]:
    """The E.164 numbers a national number found in text can be: the one whose country
    code is written just before it, else every canary number with that national part."""
    if len(holders) == 1:
        return [holders[0][1]]
    chosen = [e for cc, e in holders if before.endswith(cc) or before.endswith(cc + "1")]
    return chosen or [e for _, e in holders]


#: A UTF-8 dump at least this large is scanned by two processes, each over half of its
#: bytes: the automaton's search and the projection hold the GIL, threads would not help.
PARALLEL_BYTES = 64 << 20


def _can_fork() -> bool:
    """Two cores, fork, and no other thread (a thread's locks would stay held in the child)."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


def _range_blocks(path: Path, lo: int, hi: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(lo)
        while lo < hi and (block := f.read(min(CHUNK_BYTES, hi - lo))):
            lo += len(block)
            yield block


def scan_halves(scanner: Scanner, path: Path, size: int) -> None:
    """Scan a UTF-8 dump in two processes: this one the first half, a forked child the
    second, from OVERLAP bytes before the middle, as one process would read its next
    piece (a value the middle cuts is whole in the child's first piece; what the first
    half saw whole near the middle, the child leaves). The child sends back what it
    found and which needles it read; if it fails, this process scans its half too."""
    middle = size // 2
    engine = scanner.engine  # built once, before the fork: the child shares it
    index = scanner.index
    second = Scanner(index, scanner.fmt, _engine=engine, _at_start=False)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.close(read)
            if index.store is not None:  # the parent's pooled connections are its own
                index.store.engine.dispose(close=False)
            for block in _range_blocks(path, max(0, middle - OVERLAP), size):
                second.feed_bytes(block)
            second.finish()
            with os.fdopen(write, "wb") as out:
                out.write(json.dumps(second.found_state()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    for block in _range_blocks(path, 0, middle):
        scanner.feed_bytes(block)  # never final: the child reads on past the middle
    with os.fdopen(read, "rb") as inp:
        payload = inp.read()
    _, status = os.waitpid(pid, 0)
    if status == 0 and payload:
        scanner.merge(json.loads(payload))
    else:
        log.warning("identify: the second half's process failed; scanning it here")
        second = Scanner(index, scanner.fmt, _engine=engine, _at_start=False)
        for block in _range_blocks(path, max(0, middle - OVERLAP), size):
            second.feed_bytes(block)
        second.finish()
        scanner.merge(second.found_state())
    scanner._carry, scanner._finished = b"", True


def checked_index(store: Store, run: Callable[[], _T]) -> _T:
    """`run()`, and once more if a block of the mapped needle index turned out not to be
    what the store vouches for (the file is removed first: written again from the
    store's parts, which are checked against the same digests)."""
    try:
        return run()
    except IndexFileChanged as exc:
        log.warning("identify: %s; the index is read from the store again", exc)
        needle_index.discard_file(store)
        return run()


def identify_text(store: Store, text: str) -> dict[str, Any]:
    """`identify` for text already in memory (pasted lists, messages)."""
    return checked_index(store, lambda: _identify_text(store, text))


def _identify_text(store: Store, text: str) -> dict[str, Any]:
    scanner = Scanner(load_index(store))
    scanner.feed(text, final=True)
    matcher = dataset_matcher(store)
    matcher.feed(text, final=True)
    result = scanner.result()
    apply_codes(store, result)
    result.datasets = matcher.result(store)
    return result.to_json()


def identify(store: Store, path: str | Path) -> dict[str, Any]:
    """Scan the file at `path` for canaries of every issued copy: the contract's document."""
    return identify_dump(store, path).to_json()


def identify_dump(store: Store, path: str | Path) -> Identification:
    """Scan the file at `path`, read as its content says, for every copy's canaries."""
    return checked_index(store, lambda: _identify_dump(store, path))


def _identify_dump(store: Store, path: str | Path) -> Identification:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path} is a folder; give the path of the found file itself")
    if not p.is_file():
        raise InputError(f"{path}: no such file; give the path of the found dump")
    fmt = detect_file_format(p)
    scanner = Scanner(load_index(store))
    matcher = dataset_matcher(store, fmt)
    blocks = raw_blocks(p, fmt)
    size = p.stat().st_size
    if blocks is not None and matcher.empty and size >= PARALLEL_BYTES and _can_fork():
        scanner.fmt = fmt
        scan_halves(scanner, p, size)
    elif blocks is not None:  # UTF-8 text: its bytes are scanned, decoded only for datasets
        scanner.fmt = fmt
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for block in blocks:
            scanner.feed_bytes(block)
            if not matcher.empty:
                matcher.feed(as_text(decoder.decode(block), fmt))
        if not matcher.empty:
            matcher.feed(as_text(decoder.decode(b"", final=True), fmt))
    else:
        for piece in read_pieces(p, fmt):
            scanner.feed(piece)
            matcher.feed(piece)
    if scanner.unfinished:
        scanner.finish()
    matcher.finish()
    result = scanner.result()
    apply_codes(store, result)
    result.datasets = matcher.result(store)
    result.format = str(fmt)
    log.info("identify %s (%s): %d copies matched", p.name, fmt, len(result.copies))
    return result
