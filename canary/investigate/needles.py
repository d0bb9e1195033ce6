"""identify's needle index, kept in the store.

`identify` looks for every canary identifier of the store at once. Reading them all
into Python objects on every run (SQLAlchemy rows, name folding, every word order of
a name) cost about 2.4 s of CPU per 100,000 canaries before the dump was even opened.
The index keeps what the scan needs in a few binary parts of the `needle_index` table:

- `keys`: every needle in its compact form (`canary.text.compact`: the automaton's
  alphabet), sorted, run together (`key_ends` says where each ends): an address, a
  phone's national number (and an Argentine mobile's local digits, `local_forms`),
  each word order a name is matched in, an id, a canary domain; read back as one bytes
  object, a needle sliced from it when it is looked at (splitting millions of them
  into objects was most of the start-up);
- `starts` / `ids`: for needle k, the ids of the identifiers that give it
  (`ids[starts[k]:starts[k + 1]]`); the identifiers themselves are read from the store
  only when a needle is met in a dump (`Index.ensure` in `identify`);
- `meta`: the lengths of the canary national numbers and their country codes (the
  phone matcher's rules), and the generation the index was built at.

`identify_generation` holds a counter that the store's triggers bump in the
transaction of any insert, update or delete of an identifier or a canary domain
(migration 0011). `load` uses the stored index only when it was built at the current
value, and rebuilds (and stores) it otherwise: an identifier added after the index
was built is never missed, one deleted is never matched (its row is gone when a hit
reads it), and concurrent writers cannot slip a change between the counter's read
and the identifiers' read (the counter is read first; a change after it moves it on).
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import sys
import typing
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from canary.identifiers import local_forms, normalize_email, phone_parts
from canary.investigate.scan import engine_name, prefix_groups, serialized
from canary.store.engine import Store
from canary.store.models import Domain, Identifier, IdentifyGeneration, NeedleIndexPart
from canary.text import compact, fold

log = logging.getLogger(__name__)

#: Bytes of one stored part (a row); a part larger than this is split over rows (both
#: backends take up to 1 GB in one value; a part of one row is used without a copy).
PART_BYTES = 256 << 20
#: Identifiers read per batch while the index is built.
BATCH = 50_000
#: Identifier values shorter than this (all words run together) are ids too short to
#: count: they would match real rows.
MIN_ID_LEN = 5
FORMAT = 4
PARTS = ("meta", "keys", "key_ends", "starts", "ids", "prefixes", "group", "automaton")


class Keys(Sequence[bytes]):
    """Sorted needles held in one bytes object: needle i is `blob[ends[i]:ends[i + 1]]`.

    A needle becomes an object only when it is looked at (a bisection, an automaton
    hit), not millions of them at every start."""

    __slots__ = ("_blob", "_ends")

    def __init__(self, blob: bytes, ends: array[int]) -> None:
        self._blob = blob
        self._ends = ends  # len(keys) + 1 offsets, the first 0

    @classmethod
    def of(cls, keys: Sequence[bytes]) -> Keys:
        ends = array("q", [0])
        total = 0
        for key in keys:
            total += len(key)
            ends.append(total)
        return cls(b"".join(keys), ends)

    def __len__(self) -> int:
        return len(self._ends) - 1

    @typing.overload
    def __getitem__(self, i: int) -> bytes: ...

    @typing.overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...

    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        ends = self._ends
        return self._blob[ends[i] : ends[i + 1]]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Keys):
            return self._blob == other._blob and self._ends == other._ends
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @property
    def blob(self) -> bytes:
        return self._blob

    @property
    def ends(self) -> array[int]:
        return self._ends


@dataclass
class NeedleIndex:
    """Every needle of the store, sorted, and the identifier ids behind each."""

    generation: int | None
    keys: Keys
    starts: array[int]
    ids: array[int]
    #: The lengths of the canary phones' national numbers, and their country codes.
    lengths: set[int] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    #: The longest name or id needle (its words run together).
    word_len: int = 0
    #: The automaton's needles and where each one's keys begin (`scan.prefix_groups`).
    prefix_lines: bytes = b""
    group: array[int] = field(default_factory=lambda: array("q", [0]))
    #: The automaton over `prefixes` as bytes (`scan.serialized`), None when the engine
    #: in use cannot keep one or it was made by another version.
    automaton: bytes | None = None

    @functools.cached_property
    def prefixes(self) -> list[bytes]:
        """The automaton's needles (split only when it is built, not read back)."""
        return _lines([self.prefix_lines])

    def identifiers(self, key: bytes) -> tuple[int, array[int]] | None:
        """(needle number, identifier ids) of a compact key, None when no needle is it."""
        k = bisect.bisect_left(self.keys, key)  # sorted: no dict of every key to build
        if k == len(self.keys) or self.keys[k] != key:
            return None
        return k, self.ids[self.starts[k] : self.starts[k + 1]]


def identifier_keys(kind: str, value: str, national: str | None) -> list[str]:
    """The compact needles of one identifier (none for values too common to count).

    An address as it is normalised; a phone's national number (`national`, or parsed
    from the value for rows stored before it was kept); a name in each word order it is
    matched in (as written, and surnames first: "Hester, Richard"), at least two words;
    an id of at least MIN_ID_LEN letters and digits holding a digit.
    """
    if kind == "email":
        return [compact(normalize_email(value))]
    if kind == "phone":
        nsn = national or (phone_parts(value) or ("",))[0]
        return [nsn, *local_forms(value)] if nsn else []
    if kind not in ("name", "id"):
        return []
    words = word_orders(kind, value)
    return ["".join(w) for w in words]


def word_orders(kind: str, value: str) -> list[tuple[str, ...]]:
    """The folded word sequences a name or an id is matched as, [] when it is not."""
    words = tuple(fold(value).split())
    if not words or (kind == "name" and len(words) < 2):
        return []  # a single word is too common to count
    if kind == "id":
        if len("".join(words)) < MIN_ID_LEN or not any(ch.isdigit() for ch in value):
            return []  # ids without digits ("Garcia") would match real rows
        return [words]
    # also surnames first: "Hester, Richard", "Núñez Peña, María José"
    return list(dict.fromkeys([words, *((*words[k:], *words[:k]) for k in range(1, len(words)))]))


def generation(conn: Connection) -> int | None:
    """The register's generation now (None in a store without the counter)."""
    try:
        return conn.execute(
            select(IdentifyGeneration.value).where(IdentifyGeneration.id == 1)
        ).scalar_one_or_none()
    except SQLAlchemyError:
        return None


def build(conn: Connection) -> NeedleIndex:
    """The index of every identifier and canary domain, read through `conn`."""
    gen = generation(conn)  # first: anything committed after it moves the counter on
    table: dict[str, list[int]] = {}
    lengths: set[int] = set()
    codes: set[str] = set()
    word_len = 0
    for rows in _identifier_batches(conn):
        for ident, kind, value, national, cc in rows:
            if kind == "phone":
                parts = (national, cc) if national and cc else phone_parts(value)
                if parts is None:
                    continue
                national = parts[0]
                lengths.update(len(form) for form in (parts[0], *local_forms(value)))
                codes.add(parts[1])
            for key in identifier_keys(kind, value, national):
                table.setdefault(key, []).append(ident)
                if kind in ("name", "id"):
                    word_len = max(word_len, len(key))
    for (name,) in conn.execute(select(Domain.name)):
        table.setdefault(compact(name), [])
    keys = sorted(table)
    starts, ids = array("q", [0]), array("q")
    for key in keys:
        ids.extend(table[key])
        starts.append(len(ids))
    encoded = [k.encode("ascii") for k in keys]
    prefixes, group = prefix_groups(encoded)
    return NeedleIndex(
        gen,
        Keys.of(encoded),
        starts,
        ids,
        lengths,
        codes - {""},
        word_len,
        b"\n".join(prefixes),
        array("q", group),
        serialized(prefixes),
    )


def _identifier_batches(
    conn: Connection,
) -> Iterator[list[tuple[int, str, str, str | None, str | None]]]:
    last = 0
    columns = (
        Identifier.id,
        Identifier.kind,
        Identifier.value,
        Identifier.national,
        Identifier.country_code,
    )
    while True:
        rows = conn.execute(
            select(*columns).where(Identifier.id > last).order_by(Identifier.id).limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [tuple(r) for r in rows]  # type: ignore[misc]


def load(store: Store) -> NeedleIndex:
    """The store's needle index: the stored one when it is current, else rebuilt and
    stored (a store that cannot take the write, read-only or busy, still gets it)."""
    with store.engine.connect() as conn:
        if not watched(conn):  # nothing says when a kept index goes stale: built each run
            log.warning("the register's change triggers are missing: needle index not kept")
            index = build(conn)
            index.generation = None
            return index
        gen = generation(conn)
        if gen is not None:
            stored = _read(conn, gen)
            if stored is not None:
                return stored
        index = build(conn)
    if index.generation is not None:
        _write(store, index)
    return index


def watched(conn: Connection) -> bool:
    """Whether every trigger that moves the generation is there (SQLite loses a table's
    triggers when a migration rebuilds the table)."""
    try:
        if conn.dialect.name == "sqlite":
            found = conn.execute(
                text(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                    "AND name LIKE '%identify_generation%'"
                )
            ).scalar()
            return found == 6
        if conn.dialect.name == "postgresql":
            found = conn.execute(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%identify_generation' "
                    "AND tgrelid IN ('identifiers'::regclass, 'domains'::regclass)"
                )
            ).scalar()
            return found == 2
    except SQLAlchemyError:
        return False
    return False


def _read(conn: Connection, gen: int) -> NeedleIndex | None:
    t = NeedleIndexPart
    head = conn.execute(select(t.generation).where(t.part == "meta", t.seq == 0)).scalar()
    if head != gen:
        return None
    parts: dict[str, list[bytes]] = {name: [] for name in PARTS}
    rows = conn.execute(select(t.part, t.generation, t.data).order_by(t.part, t.seq))
    for part, row_gen, data in rows:
        if row_gen != gen or part not in parts:
            return None  # rebuilt by another process while this one read
        parts[part].append(data)
    meta = json.loads(b"".join(parts["meta"]))
    if meta.get("format") != FORMAT or meta.get("engine") != engine_name():
        return None  # made by another version: rebuilt (and kept) for this one
    starts, ids, group, ends = (
        _numbers(parts[name], meta) for name in ("starts", "ids", "group", "key_ends")
    )
    keys = Keys(b"".join(parts["keys"]), ends)  # one row: that row, no copy
    if (
        len(keys) != meta.get("keys")
        or len(starts) != len(keys) + 1
        or not ends
        or ends[0] != 0
        or ends[-1] != len(keys.blob)
    ):
        return None
    prefix_lines = b"".join(parts["prefixes"])
    if len(group) - 1 != (prefix_lines.count(b"\n") + 1 if prefix_lines else 0):
        return None
    automaton = b"".join(parts["automaton"]) or None
    return NeedleIndex(
        gen,
        keys,
        starts,
        ids,
        set(meta["lengths"]),
        set(meta["codes"]),
        meta["word_len"],
        prefix_lines,
        group,
        automaton,
    )


def _numbers(chunks: list[bytes], meta: dict[str, Any]) -> array[int]:
    out = array("q")
    out.frombytes(b"".join(chunks))
    if meta.get("byteorder") != sys.byteorder:
        out.byteswap()
    return out


def _lines(chunks: list[bytes]) -> list[bytes]:
    blob = b"".join(chunks)
    return blob.split(b"\n") if blob else []


def _chunks(data: bytes) -> Iterator[bytes]:
    yield data[:PART_BYTES]
    for i in range(PART_BYTES, len(data), PART_BYTES):
        yield data[i : i + PART_BYTES]


def _write(store: Store, index: NeedleIndex) -> None:
    meta = {
        "format": FORMAT,
        "keys": len(index.keys),
        "lengths": sorted(index.lengths),
        "codes": sorted(index.codes),
        "word_len": index.word_len,
        "engine": engine_name(),
        "byteorder": sys.byteorder,
    }
    parts = {
        "meta": json.dumps(meta).encode(),
        "keys": index.keys.blob,
        "key_ends": index.keys.ends.tobytes(),
        "starts": index.starts.tobytes(),
        "ids": index.ids.tobytes(),
        "prefixes": index.prefix_lines,
        "group": index.group.tobytes(),
        "automaton": index.automaton or b"",
    }
    rows = [
        {"part": part, "seq": seq, "generation": index.generation, "data": chunk}
        for part, data in parts.items()
        for seq, chunk in enumerate(_chunks(data))
    ]
    try:
        with store.engine.begin() as conn:
            conn.execute(delete(NeedleIndexPart))
            for row in rows:  # one statement a part: a driver may copy a batch at once
                conn.execute(insert(NeedleIndexPart), row)
    except SQLAlchemyError as exc:  # another process stored one first, or no write access
        log.info("needle index not stored: %s", exc.__class__.__name__)
    else:
        log.info("needle index rebuilt: %d needles", len(index.keys))
