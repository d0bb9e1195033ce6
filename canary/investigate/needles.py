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

The same parts are also kept in a file mapped into memory (`canary.investigate.
needle_file`), which `load` uses when the store's `meta` row vouches for it: reading a
million canaries' parts from the store took about a second and their memory, the file
costs a header, the automaton and the pages a candidate's look-ups read. Past
ANCHOR_BUDGET distinct 16-byte prefixes the automaton holds shorter ones
(`anchor_length`), so that reading it back stays bounded whatever the register's size.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import logging
import os
import secrets
import sys
import typing
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from canary.identifiers import local_forms, normalize_email, phone_parts
from canary.investigate import needle_file
from canary.investigate.scan import KEY_PREFIX, MIN_NEEDLE, engine_name, prefix_groups, serialized
from canary.store.engine import Store, sqlite_path
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
FORMAT = 5
PARTS = ("meta", "keys", "key_ends", "starts", "ids", "prefixes", "group", "automaton")
#: The parts a mapped file holds, in its order (then the block digests).
FILE_PARTS = (
    "keys",
    "key_ends",
    "starts",
    "ids",
    "group",
    "prefixes",
    "automaton",
    "fences",
    "fence_ends",
)
#: Every FENCE-th needle is also kept apart in the file (`fences`), close together: a
#: look-up bisects them first, then FENCE needles, so it reads a few pages of the file,
#: not one per probe over millions of needles.
FENCE = 64
#: Distinct needle prefixes the automaton holds at most. Its size (and the time to read
#: it back) grows with them: about 70 bytes each, read back at about 1.5 GB/s. Past this,
#: the prefixes are cut shorter (`anchor_length`) until they fit: fewer, shorter
#: prefixes, each hit matched against the whole needles of its group by bisection.
ANCHOR_BUDGET = 4_000_000


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
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._needle(i)

    def _needle(self, i: int) -> bytes:
        """Needle `i`, a valid index."""
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


class MappedKeys(Keys):
    """`Keys` read from a mapped index file: a needle is read (and its blocks checked)
    when it is looked at."""

    __slots__ = ("_at", "_base", "_ends_at", "_ev", "_file", "_mm", "_n", "_ok", "_raw", "_whole")

    def __init__(
        self, file: needle_file.Mapped, keys: str = "keys", ends: str = "key_ends"
    ) -> None:
        super().__init__(b"", file.ints(ends))  # type: ignore[arg-type]
        self._file = file
        self._at, _ = file.section(keys)
        self._ends_at, length = file.section(ends)
        self._n = length // 8 - 1
        self._ev = file.view[self._ends_at : self._ends_at + length].cast("q")
        self._ok = file.verified
        self._mm = file.view
        self._raw, self._base = file.raw()
        self._whole = False  # every block of these needles checked (`check_all`)

    def check_all(self) -> None:
        """Check every block of these needles at once (the fences: a few MB that every
        look-up bisects), so that their probes need no check of their own."""
        if not self._whole:
            self._file.check(self._ends_at, self._ends_at + 8 * (self._n + 1))
            self._file.check(self._at, self._at + self._ev[self._n])
            self._whole = True

    def bisect(self, key: bytes, lo: int = 0, hi: int | None = None, *, right: bool = False) -> int:
        """`bisect.bisect_left` (or `_right`) of `key`, each probe read in place (the C
        bisection calling `__getitem__` costs a Python call per probe)."""
        ev, raw, ok, shift = self._ev, self._raw, self._ok, needle_file.BLOCK_SHIFT
        ends_at, at, base, whole = self._ends_at, self._at, self._base, self._whole
        hi = self._n if hi is None else hi
        while lo < hi:
            mid = (lo + hi) // 2
            e = ends_at + 8 * mid
            a, b = at + ev[mid], at + ev[mid + 1]
            last = b - 1 if b > a else a
            if not whole and not (
                ok[e >> shift] and ok[(e + 15) >> shift] and ok[a >> shift] and ok[last >> shift]
            ):
                self._file.check(e, e + 16)
                self._file.check(a, b)
            probe = raw[base + a : base + b]
            if probe < key or (right and probe == key):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def __len__(self) -> int:
        return self._n

    def _needle(self, i: int) -> bytes:
        ok, shift = self._ok, needle_file.BLOCK_SHIFT
        at = self._ends_at + 8 * i  # the two ends, then the needle: each within 2 blocks
        if not (ok[at >> shift] and ok[(at + 15) >> shift]):
            self._file.check(at, at + 16)
        lo, hi = self._at + self._ev[i], self._at + self._ev[i + 1]
        if not (ok[lo >> shift] and ok[max(lo, hi - 1) >> shift]):
            self._file.check(lo, hi)
        return self._mm[lo:hi].tobytes()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Keys):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None

    @property
    def blob(self) -> bytes:
        return self._file.read("keys")


@dataclass
class NeedleIndex:
    """Every needle of the store, sorted, and the identifier ids behind each."""

    generation: int | None
    keys: Keys
    starts: Sequence[int]
    ids: Sequence[int]
    #: The lengths of the canary phones' national numbers, and their country codes.
    lengths: set[int] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    #: The longest name or id needle (its words run together).
    word_len: int = 0
    #: The automaton's needles and where each one's keys begin (`scan.prefix_groups`).
    prefix_lines: bytes = b""
    group: Sequence[int] = field(default_factory=lambda: array("q", [0]))
    #: The automaton over `prefixes` as bytes (`scan.serialized`), None when the engine
    #: in use cannot keep one, it was made by another version, or it is in `file`
    #: (`kept_automaton` gives it either way).
    automaton: bytes | None = None
    #: Bytes of each needle the automaton holds (KEY_PREFIX unless there are too many).
    anchor: int = KEY_PREFIX
    #: Drawn when the index was built: names it in its mapped file's header.
    token: str = ""
    #: The mapped file the parts are read from (None: held in memory).
    file: needle_file.Mapped | None = None
    #: keys[0], keys[FENCE], keys[2 * FENCE]... kept together (a mapped index's).
    fences: Keys | None = None

    @functools.cached_property
    def prefixes(self) -> list[bytes]:
        """The automaton's needles (split only when it is built, not read back)."""
        return _lines([self.file.read("prefixes") if self.file else self.prefix_lines])

    def kept_automaton(self) -> bytes | None:
        """The kept automaton's bytes (read from the mapped file each time: the caller
        lets go of them once its engine is made)."""
        if self.file is not None:
            return self.file.read("automaton") or None
        return self.automaton

    def identifiers(self, key: bytes) -> tuple[int, Sequence[int]] | None:
        """(needle number, identifier ids) of a compact key, None when no needle is it."""
        keys, fences = self.keys, self.fences
        if not isinstance(fences, MappedKeys) or not isinstance(keys, MappedKeys):
            k = bisect.bisect_left(keys, key)  # sorted: no dict of every key to build
        else:  # keys[f * FENCE] <= key < keys[(f + 1) * FENCE]: bisect those FENCE only
            fences.check_all()
            f = fences.bisect(key, right=True) - 1
            k = keys.bisect(key, max(f, 0) * FENCE, min(len(keys), (f + 1) * FENCE))
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
                codes.add(parts[1])
            for key in identifier_keys(kind, value, national):
                table.setdefault(key, []).append(ident)
                if kind == "phone":  # the national number and its local forms
                    lengths.add(len(key))
                elif kind in ("name", "id"):
                    word_len = max(word_len, len(key))
    for (name,) in conn.execute(select(Domain.name)):
        table.setdefault(compact(name), [])
    keys = sorted(table)
    starts, ids = array("q", [0]), array("q")
    for key in keys:
        ids.extend(table[key])
        starts.append(len(ids))
    encoded = [k.encode("ascii") for k in keys]
    del keys, table
    anchor = anchor_length(encoded)
    prefixes, group = prefix_groups(encoded, anchor)
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
        anchor,
        secrets.token_hex(16),
    )


def anchor_length(keys: Sequence[bytes], budget: int | None = None) -> int:
    """The longest prefix length, at most KEY_PREFIX, whose distinct prefixes of the
    sorted `keys` (those of MIN_NEEDLE bytes or more) number at most `budget`."""
    budget = ANCHOR_BUDGET if budget is None else budget
    shared = [0] * (KEY_PREFIX + 1)  # keys sharing their first n bytes with the one before
    last = None
    for key in keys:
        if len(key) < MIN_NEEDLE:
            continue
        if last is not None:
            lo, hi = 0, min(KEY_PREFIX, len(key), len(last))  # common prefix, by bisection
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if key[:mid] == last[:mid]:
                    lo = mid
                else:
                    hi = mid - 1
            shared[lo] += 1
        last = key
    if last is None:
        return KEY_PREFIX
    distinct = 1  # prefixes of length n: the first key, and each key sharing fewer bytes
    counts = {}
    for n in range(1, KEY_PREFIX + 1):
        distinct += shared[n - 1]
        counts[n] = distinct
    for n in range(KEY_PREFIX, MIN_NEEDLE - 1, -1):
        if counts[n] <= budget:
            return n
    return MIN_NEEDLE


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
    """The store's needle index: the stored one when it is current (mapped from its file
    when the file is there and the store vouches for it, else read from the store and
    the file written), else rebuilt and stored (a store that cannot take the write,
    read-only or busy, still gets it)."""
    with store.engine.connect() as conn:
        if not watched(conn):  # nothing says when a kept index goes stale: built each run
            log.warning("the register's change triggers are missing: needle index not kept")
            index = build(conn)
            index.generation = None
            return index
        gen = generation(conn)
        meta = _meta(conn, gen) if gen is not None else None
        if gen is not None and meta is not None:
            mapped = _mapped(index_path(store), meta, gen)
            if mapped is not None:
                return mapped
            stored = _read(conn, gen)
            if stored is not None:
                return _keep_file(store, stored, meta)
        index = build(conn)
    if index.generation is not None:
        sections = _sections(index)
        table = needle_file.digest_table(sections)
        meta = _write(store, index, sections, table)
        if meta is not None:
            return _keep_file(store, index, meta, sections, table)
    return index


def index_path(store: Store) -> Path:
    """Where the store's index file is kept: beside a SQLite store's file, else in the
    user's cache folder under a hash of the store's address (never from input)."""
    url = store.engine.url.render_as_string(hide_password=True)
    db = sqlite_path(url)
    if db is not None:
        return db.with_name(db.name + ".needles")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha256(url.encode()).hexdigest()[:32]
    return Path(cache) / "canary-trace" / "needles" / f"{name}.needles"


def discard_file(store: Store) -> None:
    """Remove the store's index file (one whose blocks did not match: written again
    from the store by the next `load`)."""
    path = index_path(store)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove needle index file %s: %s", path, exc.strerror)


def _expect(meta: dict[str, Any], gen: int) -> dict[str, Any]:
    """What a file's header must say for the store's `meta` at generation `gen`."""
    return {
        "format": FORMAT,
        "engine": engine_name(),
        "generation": gen,
        "token": meta.get("token"),
        "keys": meta.get("keys"),
        "table_sha256": meta.get("table_sha256"),
    }


def _mapped(path: Path, meta: dict[str, Any], gen: int) -> NeedleIndex | None:
    """The index mapped from its file, when the file is the one the store vouches for."""
    if not meta.get("token") or not meta.get("table_sha256"):
        return None
    file = needle_file.open_file(path, _expect(meta, gen))
    if file is None:
        return None
    try:
        keys = MappedKeys(file)
        fences = MappedKeys(file, "fences", "fence_ends")
        starts, ids, group = file.ints("starts"), file.ints("ids"), file.ints("group")
        if (
            len(keys) != meta.get("keys")
            or len(starts) != len(keys) + 1
            or keys.ends[0] != 0
            or keys.ends[-1] != file.section("keys")[1]
            or len(group) != meta.get("groups", -1) + 1
            or len(fences) != -(-len(keys) // FENCE)
        ):
            raise ValueError("its parts do not fit together")
    except (ValueError, KeyError, needle_file.IndexFileChanged) as exc:
        log.info("needle index file %s not used: %s", path, exc)
        return None
    return NeedleIndex(
        gen,
        keys,
        starts,
        ids,
        set(meta["lengths"]),
        set(meta["codes"]),
        meta["word_len"],
        b"",
        group,
        None,  # read from the file (and checked) when the engine is made: `kept_automaton`
        meta.get("anchor", KEY_PREFIX),
        meta["token"],
        file,
        fences,
    )


def _sections(index: NeedleIndex) -> list[bytes]:
    numbers = (index.keys.ends, index.starts, index.ids, index.group)
    ends, starts, ids, group = (
        n.tobytes() if isinstance(n, array | needle_file.Ints) else array("q", n).tobytes()
        for n in numbers
    )
    keys = index.keys
    fences = Keys.of([keys[i] for i in range(0, len(keys), FENCE)])
    return [
        keys.blob,
        ends,
        starts,
        ids,
        group,
        index.prefix_lines,
        index.kept_automaton() or b"",
        fences.blob,
        fences.ends.tobytes(),
    ]


def _keep_file(
    store: Store,
    index: NeedleIndex,
    meta: dict[str, Any],
    sections: list[bytes] | None = None,
    table: bytes | None = None,
) -> NeedleIndex:
    """Write `index`'s file and map it (the in-memory index when it cannot be)."""
    path = index_path(store)
    sections = sections if sections is not None else _sections(index)
    table = table if table is not None else needle_file.digest_table(sections)
    if hashlib.sha256(table).hexdigest() != meta.get("table_sha256"):
        return index  # parts kept by a machine of the other byte order: read, not mapped
    header = {**_expect(meta, index.generation or 0), **_header_meta(index)}
    header.pop("table_sha256")
    try:
        needle_file.write(path, header, [*FILE_PARTS, "digests"], [*sections, table])
    except OSError as exc:
        log.warning("needle index file %s not written: %s", path, exc.strerror)
        return index
    mapped = _mapped(path, meta, index.generation or 0)
    return mapped if mapped is not None else index


def _header_meta(index: NeedleIndex) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "keys": len(index.keys),
        "groups": len(index.group) - 1,
        "lengths": sorted(index.lengths),
        "codes": sorted(index.codes),
        "word_len": index.word_len,
        "engine": engine_name(),
        "byteorder": sys.byteorder,
        "anchor": index.anchor,
        "token": index.token,
        "layout": _layout(),
    }


def _layout() -> list[Any]:
    """What the file made from the stored parts depends on besides them: an index kept
    with another layout is rebuilt (its file could never be vouched for)."""
    return [needle_file.BLOCK, FENCE, *FILE_PARTS]


def _meta(conn: Connection, gen: int) -> dict[str, Any] | None:
    """The stored index's meta part, when it was built at `gen` by this version."""
    t = NeedleIndexPart
    rows = conn.execute(select(t.generation, t.data).where(t.part == "meta").order_by(t.seq)).all()
    if not rows or any(g != gen for g, _ in rows):
        return None
    try:
        meta = json.loads(b"".join(data for _, data in rows))
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    if (
        meta.get("format") != FORMAT
        or meta.get("engine") != engine_name()
        or meta.get("layout") != _layout()
    ):
        return None  # made by another version: rebuilt (and kept) for this one
    return meta


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
        meta.get("anchor", KEY_PREFIX),
        meta.get("token", ""),
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


def _write(
    store: Store, index: NeedleIndex, sections: list[bytes], table: bytes
) -> dict[str, Any] | None:
    """Store `index`'s parts (`sections`, as `_sections` gives them, with `table`, their
    block digests); its meta (with the digest of that table) when stored."""
    meta = _header_meta(index)
    meta["table_sha256"] = hashlib.sha256(table).hexdigest()
    parts = {"meta": json.dumps(meta).encode(), **dict(zip(FILE_PARTS, sections, strict=True))}
    parts = {name: parts[name] for name in PARTS}
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
        return None
    log.info("needle index rebuilt: %d needles", len(index.keys))
    return meta
