"""Trace one identifier: its canaries, their copies, their hits.

The value may be any identifier `identify` knows, written any way: an address in any
case; a number with spaces, dashes, parentheses, the +52 1 mobile prefix, or in
national form (the regions of the registered canary numbers are tried, so
"844 123 4567" finds +528441234567); a CURP or other national id, or any other id, in
any case; a full name in any word order, case or accents. Only a value written like a
number is ever read as a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import and_, func, literal, or_, select, union
from sqlalchemy.orm import Session, selectinload

from canary.errors import InputError
from canary.identifiers import (
    id_kind,
    is_national_id,
    normalize_email,
    normalize_phone,
    phone_parts,
)
from canary.investigate.queries import canary_dict, hit_dicts
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Hit, Identifier, PhoneNumber, name_key
from canary.text import fold


def registered_regions(session: Session) -> list[str]:
    """Regions of the canary phone numbers (for national forms): the pool's, most
    numbers first, then any other region a canary number has, in name order.

    Read from the regions stored with each number (an indexed column): a few index
    probes whatever the number of canaries, no number parsed.
    """
    counts: dict[str, int] = {}
    for number, region in session.execute(select(PhoneNumber.number, PhoneNumber.region)):
        if region is None:  # a row older than the stored regions
            parts = phone_parts(number)
            region = parts[2] if parts else ""
        if region:
            counts[region] = counts.get(region, 0) + 1
    pool = sorted(counts, key=lambda r: (-counts[r], r))
    return pool + [r for r in _identifier_regions(session) if r not in counts]


def _identifier_regions(session: Session) -> list[str]:
    """The distinct regions of canary phone identifiers, one index probe per region (a
    loose index scan: SQLite and PostgreSQL would otherwise read every row)."""
    out: list[str] = []
    after = ""
    while len(out) < 300:
        region = session.scalar(
            select(func.min(Identifier.region)).where(
                Identifier.region.is_not(None), Identifier.region > after
            )
        )
        if region is None:
            break
        out.append(region)
        after = region
    return out


def _known(session: Session, kind: str, value: str) -> bool:
    ident = session.scalars(
        select(Identifier.id).where(Identifier.kind == kind, Identifier.value == value).limit(1)
    ).first()
    if ident is not None:
        return True
    return (
        session.scalars(select(Hit.id).where(Hit.identifier == value).limit(1)).first() is not None
    )


def _known_forms(session: Session, kind: str, forms: list[str]) -> set[str]:
    """Those of `forms` a canary holds as `kind`; if none, those a hit was on (one
    query: the hits are read only when no identifier answers)."""
    if not forms:
        return set()
    held = select(literal(0).label("src"), Identifier.value.label("v")).where(
        Identifier.kind == kind, Identifier.value.in_(forms)
    )
    on_hits = select(literal(1).label("src"), Hit.identifier.label("v")).where(
        Hit.identifier.in_(forms),
        ~select(Identifier.id).where(Identifier.kind == kind, Identifier.value.in_(forms)).exists(),
    )
    rows = session.execute(union(held, on_hits)).all()
    return {v for _, v in rows}


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
    v = value.strip()
    if len(fold(v).replace(" ", "")) < 3:
        raise InputError(
            "give an email address, a phone number, a CURP or other id, or a full name to trace"
        )
    if "@" in v and not v.lower().startswith("whatsapp:"):
        email = normalize_email(v)
        return Resolved("email", email, (("email", email),))
    if looks_like_phone(v):
        as_id = _stored_id(session, v)
        if as_id is not None:
            return Resolved(id_kind("id", as_id), as_id, (("id", as_id),))
        return _phone(session, v, value)
    as_id = _stored_id(session, v)
    if as_id is not None:
        return Resolved(id_kind("id", as_id), as_id, (("id", as_id),))
    names = _stored_names(session, v)
    if names:
        return Resolved("name", names[0], tuple(("name", n) for n in names))
    if is_national_id(v):
        return Resolved("national_id", v.upper())
    words = fold(v).split()
    if len(words) >= 2 and not any(ch.isdigit() for ch in v):
        return Resolved("name", " ".join(words))
    return Resolved("id", v)


def _phone(session: Session, v: str, typed: str) -> Resolved:
    """The number as the store knows it: as written (international form), else in each
    registered region's national form (the pool's first: usually the first try), the
    first a canary or a hit holds; else the first valid form."""
    tried: list[str] = []
    for region in (None, *registered_regions(session)):
        e164 = normalize_phone(v, region, strict=False)
        if not e164 or e164 in tried:
            continue
        tried.append(e164)
        if _known(session, "phone", e164):
            return Resolved("phone", e164, (("phone", e164),))
    valid = [e for e in tried if _is_valid(e)]
    if valid:
        return Resolved("phone", valid[0], (("phone", valid[0]),))
    raise InputError(
        f"'{typed}' is not a valid phone number; "
        "write the number in international form, e.g. +52 844 123 4567"
    )


def _stored_id(session: Session, v: str) -> str | None:
    """The stored form of an id typed in any case, if a canary holds it (or, failing
    that, a hit was on it): one query for the three forms."""
    forms = list(dict.fromkeys((v, v.upper(), v.lower())))
    known = _known_forms(session, "id", forms)
    return next((f for f in forms if f in known), None)


def _stored_names(session: Session, v: str) -> list[str]:
    """Stored canary names with the same folded words as `v`, in any order."""
    folded = fold(v)
    words = folded.split()
    if len(words) < 2:
        return []
    # The name as written, or in another order ("Núñez Peña, María José"), or kept as
    # written: by its value and its indexed key in one query.
    rows = set(
        session.scalars(
            select(Identifier.value)
            .where(
                Identifier.kind == "name",
                or_(Identifier.value == folded, Identifier.folded == name_key(v)),
            )
            .distinct()
        )
    )
    if folded in rows:
        return [folded]
    if session.scalars(select(Hit.id).where(Hit.identifier == folded).limit(1)).first():
        return [folded]
    return sorted(rows)


def trace(store: Store, value: str) -> dict[str, Any]:
    """The canaries holding `value`, the copies they were planted in, and the hits.

    For an email or a phone number, the hits on it; for a name or an id, the hits on
    the contact identifiers (email, phone) of the canaries that hold it.
    """
    with store.session() as s:
        found = resolve(s, value)
        rows = (
            s.scalars(
                select(Canary)
                .join(Identifier, Identifier.canary_id == Canary.id)
                .where(
                    or_(*(and_(Identifier.kind == k, Identifier.value == v) for k, v in found.keys))
                )
                .options(selectinload(Canary.identifiers))
                .order_by(Canary.id)
            ).all()
            if found.keys
            else []
        )
        canaries = list({c.id: c for c in rows}.values())
        copy_ids = [c.copy_id for c in canaries if c.copy_id and c.kind != "control"]
        copies = (
            s.scalars(
                select(Copy).where(Copy.id.in_(copy_ids)).order_by(Copy.issued_at, Copy.id)
            ).all()
            if copy_ids
            else []
        )
        if found.kind in ("email", "phone"):
            contacts = [found.value]
        else:
            contacts = sorted(
                {i.value for c in canaries for i in c.identifiers if i.kind in ("email", "phone")}
            )
        ordered = (
            list(
                s.scalars(
                    select(Hit)
                    .options(selectinload(Hit.candidates))
                    .where(Hit.identifier.in_(contacts))
                    .order_by(Hit.observed_at.desc(), Hit.id.desc())
                )
            )
            if contacts
            else []
        )
        return {
            "identifier": found.value,
            "kind": found.kind,
            "canaries": [canary_dict(c) for c in canaries],
            "copies": [
                {"id": cp.id, "recipient": cp.recipient, "issued_at": cp.issued_at.isoformat()}
                for cp in copies
            ],
            "hits": hit_dicts(s, ordered),
        }


def _is_valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False
