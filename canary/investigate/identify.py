"""Identify a found dump: which issued copies does this file (or text) come from?

The dump may be anything a leaker hands over: the copy reformatted (columns dropped
or reordered, re-encoded, XLSX, JSON), a subset of rows, several copies merged, a chat
export or a pasted list. So the file is read as text (XLSX as its cell values), in
chunks with an overlap (memory stays flat, nothing is missed at a chunk boundary), and
every canary identifier is looked for in it:

- emails, case-insensitively (strong evidence: an email belongs to one copy);
- phone numbers in any formatting: digit groups are matched against the national
  numbers of the canary phones, aligned on group boundaries, with or without country
  code, the Mexican mobile "1" or a trunk prefix (a number shared by several copies is
  listed under each of them);
- canary names and ids (weaker evidence), with accents and case folded.

Copies are ranked best evidence first: emails and numbers unique to the copy, then
the number of identifiers the copy explains. Control canaries (never planted) are
reported apart: they are noise, not evidence. Everything in the file is hostile data:
it is only matched against, never executed, never used for a path or a query.
"""

from __future__ import annotations

import bisect
import codecs
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import select

from canary.errors import InputError
from canary.identifiers import normalize_email
from canary.investigate.coded import apply_codes
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Domain, Identifier, PhoneNumber
from canary.text import fold, words

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
OVERLAP = 512
MAX_UNMATCHED = 1000
MIN_ID_LEN = 5
PHONE_RUN = r"(?<![\d+])\+?\d[\d \t\r\n().\-/\u00a0]{%d,}\d"
DIGIT_GROUP_RE = re.compile(r"\d+")
JSON_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class _Holder:
    canary_id: int
    copy_id: str | None  # None: a control canary


@dataclass
class Index:
    """The canary identifiers of the store, in memory, for scanning."""

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

    def phone_copies(self, e164: str) -> set[str]:
        return {h.copy_id for h in self.phones.get(e164, []) if h.copy_id}


def load_index(store: Store) -> Index:
    """Read every identifier, copy and canary domain once."""
    idx = Index()
    with store.session() as s:
        idx.domains = set(s.scalars(select(Domain.name)))
        for cp in s.scalars(select(Copy)):
            idx.copies[cp.id] = {"recipient": cp.recipient, "issued_at": cp.issued_at}
        rows = s.execute(
            select(Identifier.kind, Identifier.value, Canary.id, Canary.copy_id, Canary.kind).join(
                Canary, Canary.id == Identifier.canary_id
            )
        )
        for kind, value, canary_id, copy_id, canary_kind in rows:
            holder = _Holder(canary_id, None if canary_kind == "control" else copy_id)
            if kind == "email":
                idx.emails.setdefault(normalize_email(value), []).append(holder)
            elif kind == "phone":
                idx.phones.setdefault(value, []).append(holder)
            elif kind in ("name", "id"):
                words = tuple(fold(value).split())
                if not words or (kind == "name" and len(words) < 2):
                    continue  # a single word is too common to count
                if kind == "id" and (
                    len("".join(words)) < MIN_ID_LEN or not any(ch.isdigit() for ch in value)
                ):
                    continue  # ids without digits ("Garcia") would match real rows
                variants = {words}
                if (
                    kind == "name"
                ):  # also surnames first: "Hester, Richard", "Núñez Peña, María José"
                    variants.update((*words[k:], *words[:k]) for k in range(1, len(words)))
                for w in variants:
                    idx.words.setdefault(w[0], []).append((w, kind, value, holder))
        registered = list(s.scalars(select(PhoneNumber.number)))
    for e164 in {*idx.phones, *registered}:
        try:
            parsed = phonenumbers.parse(e164)
        except phonenumbers.NumberParseException:
            continue
        cc, nsn = str(parsed.country_code), phonenumbers.national_significant_number(parsed)
        if e164 in idx.phones:
            idx.national.setdefault(nsn, []).append((cc, e164))
            idx.national_lengths.add(len(nsn))
        idx.prefixes.update({cc, cc + "1", "00" + cc, "00" + cc + "1"})
    return idx


@dataclass
class Scanner:
    """Feed text in pieces; collects every canary identifier it sees."""

    index: Index
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    words: dict[tuple[str, str], list[_Holder]] = field(default_factory=dict)
    unmatched: set[str] = field(default_factory=set)
    _carry: str = ""
    _runs: re.Pattern[str] | None = None
    _domain_cache: dict[str, bool] = field(default_factory=dict)

    def feed(self, text: str, *, final: bool = False) -> None:
        buf = self._carry + text
        if "\\u" in buf:  # JSON written with ensure_ascii: "Mar\u00eda"
            buf = JSON_ESCAPE_RE.sub(lambda m: _unescape(m.group(1)), buf)
        self._scan(buf, final)
        self._carry = "" if final else buf[-OVERLAP:]

    def finish(self) -> None:
        self.feed("", final=True)

    def _scan(self, buf: str, final: bool) -> None:
        end = len(buf)
        for address, stop in emails_at(buf):
            if stop == end and not final:
                continue  # may continue in the next piece; the overlap sees it again
            if address in self.index.emails:
                self.emails.add(address)
            elif len(self.unmatched) < MAX_UNMATCHED and self._canary_domain(address):
                self.unmatched.add(address)
        if self.index.national:
            if self._runs is None:  # runs long enough to hold the shortest canary number
                shortest = min(self.index.national_lengths)
                self._runs = re.compile(PHONE_RUN % max(shortest - 2, 0))
            for m in self._runs.finditer(buf):
                if m.end() == end and not final:
                    continue
                self.phones.update(self._phones_in_run(m.group(0)))
        if self.index.words:
            self._scan_words(words(buf), final)

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
                holders = idx.national.get(digits[s:e])
                if not holders:
                    continue
                g = starts[bisect.bisect_right(starts, s) - 1]
                if s == g or digits[g:s] in idx.prefixes:
                    found.update(_pick_country(holders, digits[:s]))
        return found

    def _scan_words(self, tokens: list[str], final: bool) -> None:
        last = len(tokens)
        first = self.index.words
        for i in [i for i, tok in enumerate(tokens) if tok in first]:
            for needle, kind, value, holder in first[tokens[i]]:
                n = len(needle)
                if tuple(tokens[i : i + n]) != needle:
                    continue
                if i + n == last and not final:
                    continue
                self.words.setdefault((kind, value), [])
                if holder not in self.words[(kind, value)]:
                    self.words[(kind, value)].append(holder)

    def result(self) -> dict[str, Any]:
        """The contract's JSON document: copies best first, controls and strays apart."""
        idx = self.index
        per_copy: dict[str, list[dict[str, Any]]] = defaultdict(list)
        strong: dict[str, int] = defaultdict(int)
        contact: dict[str, int] = defaultdict(int)
        controls: list[dict[str, Any]] = []

        def add(kind: str, value: str, holders: Iterable[_Holder], shared: list[str]) -> None:
            seen: set[str] = set()
            for h in holders:
                if h.copy_id is None:
                    controls.append({"kind": kind, "value": value, "canary": h.canary_id})
                    continue
                if h.copy_id in seen:
                    continue
                seen.add(h.copy_id)
                item: dict[str, Any] = {"kind": kind, "value": value, "canary": h.canary_id}
                if shared:
                    item["shared_with"] = [c for c in shared if c != h.copy_id]
                per_copy[h.copy_id].append(item)
                if kind in ("email", "phone"):
                    contact[h.copy_id] += 1
                    if not shared:
                        strong[h.copy_id] += 1

        for address in sorted(self.emails):
            holders = idx.emails[address]
            copies = sorted({h.copy_id for h in holders if h.copy_id})
            add("email", address, holders, copies if len(copies) > 1 else [])
        for e164 in sorted(self.phones):
            holders = idx.phones[e164]
            copies = sorted(idx.phone_copies(e164))
            add("phone", e164, holders, copies if len(copies) > 1 else [])
        for (kind, value), holders in sorted(self.words.items()):
            add(kind, value, holders, [])

        def key(copy_id: str) -> tuple[Any, ...]:
            issued = idx.copies.get(copy_id, {}).get("issued_at") or datetime.min
            return (-strong[copy_id], -contact[copy_id], -len(per_copy[copy_id]), issued, copy_id)

        out = []
        for copy_id in sorted(per_copy, key=key):
            info = idx.copies.get(copy_id, {})
            items = per_copy[copy_id]
            out.append(
                {
                    "id": copy_id,
                    "recipient": info.get("recipient", ""),
                    "issued_at": info.get("issued_at"),
                    "matched": len(items),
                    "evidence": "strong"
                    if strong[copy_id]
                    else ("shared" if contact[copy_id] else "weak"),
                    "identifiers": items,
                }
            )
        return {
            "copies": out,
            "unmatched_canary_domain_addresses": sorted(self.unmatched),
            "controls": controls,
        }


def _unescape(hex4: str) -> str:
    ch = chr(int(hex4, 16))
    return ch if ch.isprintable() else " "


_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])"
)


def emails_at(text: str) -> Iterator[tuple[str, int]]:
    """(normalised address, end offset) of each email address in `text`.

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
                yield f"{part}@{domain.group(0)}".lower(), domain.end()  # ASCII: lower is normal
        at = text.find("@", at + 1)


def _pick_country(holders: list[tuple[str, str]], before: str) -> list[str]:
    """The E.164 numbers a national number found in text can be: the one whose country
    code is written just before it, else every canary number with that national part."""
    if len(holders) == 1:
        return [holders[0][1]]
    chosen = [e for cc, e in holders if before.endswith(cc) or before.endswith(cc + "1")]
    return chosen or [e for _, e in holders]


def identify_text(store: Store, text: str) -> dict[str, Any]:
    """`identify` for text already in memory (pasted lists, messages)."""
    scanner = Scanner(load_index(store))
    scanner.feed(text, final=True)
    result = scanner.result()
    apply_codes(store, result)
    return result


def identify(store: Store, path: str | Path) -> dict[str, Any]:
    """Scan the file at `path` for canaries of every issued copy."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path} is a folder; give the path of the found file itself")
    if not p.is_file():
        raise InputError(f"{path}: no such file; give the path of the found dump")
    scanner = Scanner(load_index(store))
    for piece in read_text_pieces(p):
        scanner.feed(piece)
    scanner.finish()
    result = scanner.result()
    apply_codes(store, result)
    log.info("identify %s: %d copies matched", p.name, len(result["copies"]))
    return result


def read_text_pieces(path: Path) -> Iterator[str]:
    """The file as text, piece by piece: XLSX cell values, anything else decoded."""
    with path.open("rb") as f:
        head = f.read(16)
    if head == b"SQLite format 3\x00":
        yield from _sqlite_pieces(path)
        return
    if head[:4] == b"PK\x03\x04":
        pieces = _xlsx_pieces(path)
        if pieces is not None:
            yield from pieces
            return
    yield from _decoded_pieces(path)


def _sqlite_pieces(path: Path) -> Iterator[str]:
    """Every text value of every table of a SQLite file, opened read-only."""
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open the SQLite file ({exc})") from exc
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            # The table name comes from the file itself and is quoted as an identifier.
            cur = con.execute(f"select * from {quoted}")
            while rows := cur.fetchmany(2000):
                yield "\n".join("\t".join("" if v is None else str(v) for v in r) for r in rows)
                yield "\n"
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot read the SQLite file ({exc})") from exc
    finally:
        con.close()


def _xlsx_pieces(path: Path) -> Iterator[str] | None:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # not a workbook after all (a zip, a docx): scan the bytes
        log.info("%s is not a readable workbook (%s); scanning it as text", path.name, exc)
        return None

    def gen() -> Iterator[str]:
        try:
            for ws in wb.worksheets:
                lines: list[str] = []
                size = 0
                for row in ws.iter_rows(values_only=True):
                    line = " | ".join(str(v) for v in row if v is not None)
                    lines.append(line)
                    size += len(line) + 1
                    if size >= CHUNK_BYTES:
                        yield "\n".join(lines) + "\n"
                        lines, size = [], 0
                yield "\n".join(lines) + "\n"
        finally:
            wb.close()

    return gen()


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample: a BOM, else UTF-8 if it decodes, else a guess."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            return enc
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if b"\x00" not in sample:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    if sample.count(b"\x00") > len(sample) // 4:
        odd_nuls = sample[1::2].count(b"\x00")
        return "utf-16-le" if odd_nuls > len(sample) // 4 else "utf-16-be"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            return str(best.encoding)
    except Exception as exc:  # a guess only; fall back to the usual Windows encoding
        log.info("encoding detection failed (%s); reading as cp1252", exc)
    return "cp1252"


def _decoded_pieces(path: Path) -> Iterator[str]:
    with path.open("rb") as f:
        sample = f.read(64 * 1024)
        encoding = detect_encoding(sample)
        log.info("reading %s as %s", path.name, encoding)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        f.seek(0)
        while True:
            block = f.read(CHUNK_BYTES)
            if not block:
                break
            yield _printable(decoder.decode(block))
        tail = decoder.decode(b"", final=True)
        if tail:
            yield _printable(tail)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _printable(text: str) -> str:
    """Binary junk between text becomes spaces, so words do not run together."""
    return _CONTROL_RE.sub(" ", text)
