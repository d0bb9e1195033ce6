"""Trace one identifier: its canaries, their copies, their hits.

The value may be any identifier `identify` knows, written any way: an address in any
case; a number with spaces, dashes, parentheses, the +52 1 mobile prefix, or in
national form (the regions of the registered canary numbers are tried, so
"844 123 4567" finds +528441234567); a CURP or other national id, or any other id, in
any case; a full name in any word order, case or accents. Only a value written like a
number is ever read as a phone number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.identifiers import (
    id_kind,
    is_national_id,
    normalize_email,
    normalize_phone,
    phone_parts,
)
from canary.investigate.queries import hit_dict
from canary.store.engine import Store
from canary.store.models import Base, name_key
from canary.text import fold

# Trace reads table rows (SQLAlchemy core), not ORM objects: a handful of queries per
# value, each answering as much as one query can, each statement built once (with bound
# parameters) and reused: building one costs more CPU than running it.
_TABLES = Base.metadata.tables
CANARIES = _TABLES["canaries"]
CODE_MARKS = _TABLES["code_marks"]
COPIES = _TABLES["copies"]
HIT_COPIES = _TABLES["hit_copies"]
HITS = _TABLES["hits"]
IDENTIFIERS = _TABLES["identifiers"]
PHONE_NUMBERS = _TABLES["phone_numbers"]

#: At most this many distinct regions of canary numbers are read (the world has ~250).
MAX_REGIONS = 300
#: A national form is looked up in this many regions per query (the pool's first):
#: usually the first query finds it; the other regions are tried only if none holds it.
REGIONS_PER_QUERY = 4


def registered_regions(db: Session | Connection) -> list[str]:
    """Regions of the canary phone numbers (for national forms): the pool's, most
    numbers first, then any other region a canary number has, in name order.

    Read from the regions stored with each number (an indexed column), in one query: the
    pool (a few rows) and the distinct regions of canary numbers by a loose index scan
    (a recursive query, one index probe per region: SQLite and PostgreSQL would
    otherwise read every row), no number parsed.
    """
    con = db.connection() if isinstance(db, Session) else db
    counts: dict[str, int] = {}
    others: set[str] = set()
    for src, number, region in con.execute(_regions_query()):
        if src == 1:
            others.add(region)
            continue
        if region is None:  # a row older than the stored regions
            parts = phone_parts(number)
            region = parts[2] if parts else ""
        if region:
            counts[region] = counts.get(region, 0) + 1
    pool = sorted(counts, key=lambda r: (-counts[r], r))
    return pool + [r for r in sorted(others) if r not in counts]


@functools.cache
def _regions_query() -> Any:
    """(0, number, region) per pool number, and (1, NULL, region) per distinct region of
    the canary numbers, the first MAX_REGIONS in name order."""
    ids = IDENTIFIERS
    regions: Any = select(
        func.min(ids.c.region).label("region"), literal_column("1").label("n")
    ).where(ids.c.region.is_not(None))
    step = regions.cte("regions", recursive=True)
    after = (
        select(func.min(ids.c.region))
        .where(ids.c.region.is_not(None), ids.c.region > step.c.region)
        .scalar_subquery()
    )
    step = step.union_all(
        select(after, step.c.n + literal_column("1")).where(
            step.c.region.is_not(None), step.c.n < literal_column(str(MAX_REGIONS))
        )
    )
    return union_all(
        select(literal_column("0"), PHONE_NUMBERS.c.number, PHONE_NUMBERS.c.region),
        select(literal_column("1"), null(), step.c.region).where(step.c.region.is_not(None)),
    )


# What `_probe` reports a value as: held by a canary as an id, as a phone number, a
# canary name (matched by its value or its key), or the identifier of a hit.
ID, PHONE, NAME, HIT = 0, 1, 2, 3


def _probe(
    con: Connection,
    *,
    ids: Iterable[str] = (),
    phones: Iterable[str] = (),
    hits: Iterable[str] = (),
    name: tuple[str, str] | None = None,
) -> set[tuple[int, str]]:
    """In one query: which of `ids` a canary holds as an id, which of `phones` as a
    phone number, which of `hits` a hit was on (an index probe each), and, for `name`
    (its folded text, its key), the stored names with that value or key."""
    forms = [list(dict.fromkeys(ids)), list(dict.fromkeys(phones)), list(dict.fromkeys(hits))]
    if not any(forms) and name is None:
        return set()
    params: dict[str, str] = {}
    for prefix, values in zip("iph", forms, strict=True):
        params.update((f"{prefix}{n}", v) for n, v in enumerate(values))
    if name is not None:
        params["folded"], params["key"] = name
    q = _probe_query(len(forms[0]), len(forms[1]), len(forms[2]), name is not None)
    return {(int(code), value) for code, value in con.execute(q, params)}


@functools.lru_cache(maxsize=64)
def _probe_query(n_ids: int, n_phones: int, n_hits: int, name: bool) -> Any:
    """`_probe`'s statement for that many values of each kind: a union of EXISTS probes
    (bound parameters i0.., p0.., h0.., folded, key)."""
    ids = IDENTIFIERS
    legs: list[Any] = []

    def held(code: int, param: str, *cond: Any) -> None:
        value = cast(bindparam(param, type_=String), String)
        legs.append(select(literal_column(str(code)), value).where(exists().where(*cond)))

    for n in range(n_ids):
        held(ID, f"i{n}", ids.c.kind == "id", ids.c.value == bindparam(f"i{n}"))
    for n in range(n_phones):
        held(PHONE, f"p{n}", ids.c.kind == "phone", ids.c.value == bindparam(f"p{n}"))
    for n in range(n_hits):
        held(HIT, f"h{n}", HITS.c.identifier == bindparam(f"h{n}"))
    if name:
        legs.append(
            select(literal_column(str(NAME)), ids.c.value).where(
                ids.c.kind == "name",
                or_(ids.c.value == bindparam("folded"), ids.c.folded == bindparam("key")),
            )
        )
    return legs[0] if len(legs) == 1 else union(*legs)


def _first_id(
    forms: Sequence[str], found: set[tuple[int, str]], numbers: Iterable[str] = ()
) -> str | None:
    """The first of `forms` a canary holds as an id, else the first a hit was on, unless
    that form is one of `numbers` (what was typed, read as a phone number: a hit on it
    is a hit on the number, not on an id)."""
    held = [f for f in forms if (ID, f) in found] or [
        f for f in forms if (HIT, f) in found and f not in numbers
    ]
    return held[0] if held else None


#: What a phone number may be written with: digits, +, spaces and the usual separators,
#: after an optional scheme. Anything with a letter in it is not a phone number.
PHONE_TEXT_RE = re.compile(r"(?i)(?:whatsapp:|tel:|sms:)?\s*\+?[\d\s().\-/\u00a0]+")


def looks_like_phone(value: str) -> bool:
    """True when `value` is written like a phone number (no letters, 7 to 17 digits)."""
    digits = sum(ch.isdigit() for ch in value)
    return bool(PHONE_TEXT_RE.fullmatch(value.strip())) and 7 <= digits <= 17


@dataclass(frozen=True)
class Resolved:
    """What the user typed, as the store keeps it: the kind reported and the stored keys."""

    kind: str  # email | phone | name | national_id | id
    value: str
    #: (stored kind, stored value) pairs that hold it (several for a name written in
    #: another word order); empty when no canary holds it.
    keys: tuple[tuple[str, str], ...] = ()


def resolve(session: Session, value: str) -> Resolved:
    """The kind and normal form of what the user typed, preferring a form the store knows.

    An address has an "@"; a number is written only with digits and separators (a
    CURP, a name or an id is never read as a phone number); a value with letters is a
    national id or another id the store holds, else a name (any word order, accents
    and case), else an id or national id no canary holds.
    """
    return _resolve(session.connection(), value)


def _resolve(con: Connection, value: str) -> Resolved:
    v = value.strip()
    if len(fold(v).replace(" ", "")) < 3:
        raise InputError(
            "give an email address, a phone number, a CURP or other id, or a full name to trace"
        )
    if "@" in v and not v.lower().startswith("whatsapp:"):
        email = normalize_email(v)
        return Resolved("email", email, (("email", email),))
    # An id typed in any case: the stored form a canary holds (or, failing that, a hit
    # was on), looked up in the query that looks up the number or the name.
    id_forms = list(dict.fromkeys((v, v.upper(), v.lower())))
    if looks_like_phone(v):
        return _phone(con, v, value, id_forms)
    folded = fold(v)
    two_words = len(folded.split()) >= 2
    found = _probe(
        con,
        ids=id_forms,
        hits=[*id_forms, folded] if two_words else id_forms,
        name=(folded, name_key(v)) if two_words else None,
    )
    as_id = _first_id(id_forms, found)
    if as_id is not None:
        return Resolved(id_kind("id", as_id), as_id, (("id", as_id),))
    names = _stored_names(folded, found) if two_words else []
    if names:
        return Resolved("name", names[0], tuple(("name", n) for n in names))
    if is_national_id(v):
        return Resolved("national_id", v.upper())
    words = fold(v).split()
    if len(words) >= 2 and not any(ch.isdigit() for ch in v):
        return Resolved("name", " ".join(words))
    return Resolved("id", v)


def _stored_names(folded: str, found: set[tuple[int, str]]) -> list[str]:
    """Stored canary names with the same folded words as what was typed, in any order:
    the name as written (or a hit on it), else those in another order ("Núñez Peña,
    María José") or kept as written, found by their indexed key."""
    rows = {value for code, value in found if code == NAME}
    if folded in rows or (HIT, folded) in found:
        return [folded]
    return sorted(rows)


def _phone(con: Connection, v: str, typed: str, id_forms: list[str]) -> Resolved:
    """An id the store holds (as `_resolve`), else the number as the store knows it: as
    written (international form), else in each registered region's national form (the
    pool's first: usually the first query), the first a canary or a hit holds; else the
    first valid form."""
    tried: list[str] = []
    ids: list[str] | None = id_forms  # until looked up

    def known(forms: list[str]) -> Resolved | None:
        nonlocal ids
        found = _probe(con, ids=ids or (), phones=forms, hits=[*(ids or ()), *forms])
        if ids is not None:
            as_id = _first_id(ids, found, tried)
            if as_id is not None:
                return Resolved(id_kind("id", as_id), as_id, (("id", as_id),))
            ids = None
        e164 = next((f for f in forms if (PHONE, f) in found or (HIT, f) in found), None)
        return Resolved("phone", e164, (("phone", e164),)) if e164 else None

    international = normalize_phone(v, None, strict=False)
    if international:
        tried.append(international)
        hit = known(tried)
        if hit is not None:
            return hit
    regions = registered_regions(con)
    for lo in range(0, max(len(regions), 1), REGIONS_PER_QUERY):
        forms = []
        for region in regions[lo : lo + REGIONS_PER_QUERY]:
            e164 = normalize_phone(v, region, strict=False)
            if e164 and e164 not in tried:
                tried.append(e164)
                forms.append(e164)
        if forms or ids is not None:
            hit = known(forms)
            if hit is not None:
                return hit
    valid = [e for e in tried if _is_valid(e)]
    if valid:
        return Resolved("phone", valid[0], (("phone", valid[0]),))
    raise InputError(
        f"'{typed}' is not a valid phone number; "
        "write the number in international form, e.g. +52 844 123 4567"
    )


@dataclass(slots=True)
class _Candidate:
    """A candidate copy of a hit, as read from its row (what attribution reads)."""

    copy_id: str
    score: float
    reason: str
    canary_id: int | None


@dataclass(slots=True)
class _Hit:
    """A hit as read from its row, with its candidates best first (what `hit_dict` reads)."""

    id: int
    observed_at: datetime
    channel: str
    identifier: str
    identifier_kind: str
    sender: str
    summary: str
    classification: str
    candidates: list[_Candidate] = field(default_factory=list)


def trace(store: Store, value: str) -> dict[str, Any]:
    """The canaries holding `value`, the copies they were planted in, and the hits.

    For an email or a phone number, the hits on it; for a name or an id, the hits on
    the contact identifiers (email, phone) of the canaries that hold it.

    Table rows in a handful of queries: resolving what was typed (none for an address,
    one for a name or an id, one or two for a number: the regions of national forms),
    the canaries with all their identifiers and their copies (one), the hits with their
    candidates and whether each candidate is a coded canary (one).
    """
    with store.engine.connect() as con:
        if con.dialect.name == "postgresql":
            # Reads only, each statement its own snapshot as in a READ COMMITTED
            # transaction: without one, no BEGIN and no ROLLBACK (two round trips of six).
            con.execution_options(isolation_level="AUTOCOMMIT")
        found = _resolve(con, value)
        canaries, copies = _canaries(con, found.keys) if found.keys else ([], [])
        if found.kind in ("email", "phone"):
            contacts = [found.value]
        else:
            contacts = sorted(
                {
                    i["value"]
                    for c in canaries
                    for i in c["identifiers"]
                    if i["kind"] in ("email", "phone")
                }
            )
        hits, coded = _hits(con, contacts) if contacts else ([], frozenset[int]())
    return {
        "identifier": found.value,
        "kind": found.kind,
        "canaries": canaries,
        "copies": copies,
        "hits": [hit_dict(h, coded) for h in hits],
    }


def _canaries(
    con: Connection, keys: Sequence[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The canaries holding any of `keys` (`canary_dict`'s shape, by id) and the copies
    they were planted in (controls aside), oldest first: one query, a row per identifier
    of each canary."""
    kinds = {k for k, _ in keys}
    if len(kinds) == 1:  # always, today: one kind (several values for a name)
        rows = con.execute(_canaries_query(), {"kind": kinds.pop(), "values": [v for _, v in keys]})
    else:
        rows = con.execute(_canaries_query(mixed=True), {"keys": list(keys)})
    canaries: dict[int, dict[str, Any]] = {}
    copies: dict[str, tuple[datetime, str, str]] = {}
    for cid, kind, copy_id, values, position, ikind, ivalue, recipient, issued_at in rows:
        doc = canaries.get(cid)
        if doc is None:
            doc = canaries[cid] = {
                "id": cid,
                "kind": kind,
                "copy": copy_id,
                "values": dict(values or {}),
                "identifiers": [],
                "position": position,
            }
            if copy_id and kind != "control" and issued_at is not None:
                copies[copy_id] = (issued_at, copy_id, recipient)
        doc["identifiers"].append({"kind": ikind, "value": ivalue})
    return list(canaries.values()), [
        {"id": cid, "recipient": recipient, "issued_at": issued_at.isoformat()}
        for issued_at, cid, recipient in sorted(copies.values())
    ]


@functools.cache
def _canaries_query(mixed: bool = False) -> Any:
    """The canaries holding identifiers of one kind (bound: kind, values) or, `mixed`,
    any of several (kind, value) pairs (bound: keys), with every identifier of each
    and its copy's recipient and issue time."""
    ids, c = IDENTIFIERS, CANARIES
    held = ids.c.value.in_(bindparam("values", expanding=True))
    holders = select(ids.c.canary_id).where(
        tuple_(ids.c.kind, ids.c.value).in_(bindparam("keys", expanding=True))
        if mixed
        else and_(ids.c.kind == bindparam("kind"), held)
    )
    return (
        select(
            c.c.id,
            c.c.kind,
            c.c.copy_id,
            c.c["values"],
            c.c.position,
            ids.c.kind,
            ids.c.value,
            COPIES.c.recipient,
            COPIES.c.issued_at,
        )
        .select_from(
            c.join(ids, ids.c.canary_id == c.c.id).outerjoin(COPIES, COPIES.c.id == c.c.copy_id)
        )
        .where(c.c.id.in_(holders))
        .order_by(c.c.id, ids.c.id)
    )


def _hits(con: Connection, contacts: list[str]) -> tuple[list[_Hit], frozenset[int]]:
    """The hits on `contacts`, newest first, with their candidates best first, and the
    coded canaries among the candidates: one query, a row per candidate."""
    hits: list[_Hit] = []
    marked: set[int] = set()
    last: _Hit | None = None
    for row in con.execute(_hits_query(), {"contacts": contacts}):
        if last is None or last.id != row[0]:
            last = _Hit(*row[:8])
            hits.append(last)
        if row[8] is not None:
            last.candidates.append(_Candidate(row[8], float(row[9]), row[10], row[11]))
            if row[12] and row[11] is not None:
                marked.add(row[11])
    return hits, frozenset(marked)


@functools.cache
def _hits_query() -> Any:
    """The hits on some identifiers (bound: contacts), a row per candidate (best first),
    with whether the candidate's canary is coded (in the code's marks)."""
    h, hc = HITS, HIT_COPIES
    coded = exists().where(CODE_MARKS.c.canary_id == hc.c.canary_id)
    return (
        select(
            h.c.id,
            h.c.observed_at,
            h.c.channel,
            h.c.identifier,
            h.c.identifier_kind,
            h.c.sender,
            h.c.summary,
            h.c.classification,
            hc.c.copy_id,
            hc.c.score,
            hc.c.reason,
            hc.c.canary_id,
            coded,
        )
        .select_from(h.outerjoin(hc, hc.c.hit_id == h.c.id))
        .where(h.c.identifier.in_(bindparam("contacts", expanding=True)))
        .order_by(h.c.observed_at.desc(), h.c.id.desc(), hc.c.rank)
    )


def _is_valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False
