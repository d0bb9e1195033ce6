"""Trace one email address or phone number: its canaries, their copies, its hits.

The value may be written any way: an address in any case, a number with spaces,
dashes, parentheses, the +52 1 mobile prefix, or in national form (the regions of
the registered canary numbers are tried, so "844 123 4567" finds +528441234567).
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from canary.errors import InputError
from canary.identifiers import normalize_email, normalize_phone
from canary.investigate.queries import HitFilter, canary_dict, hit_dicts, query_hits
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Hit, Identifier, PhoneNumber


def registered_regions(session: Session) -> list[str]:
    """Regions of the canary phone numbers, most common first (for national forms)."""
    counts: dict[str, int] = {}
    numbers = set(session.scalars(select(PhoneNumber.number)))
    numbers |= set(session.scalars(select(Identifier.value).where(Identifier.kind == "phone")))
    for number in numbers:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
        except phonenumbers.NumberParseException:
            continue
        if region:
            counts[region] = counts.get(region, 0) + 1
    return sorted(counts, key=lambda r: (-counts[r], r))


def _known(session: Session, kind: str, value: str) -> bool:
    ident = session.scalars(
        select(Identifier.id).where(Identifier.kind == kind, Identifier.value == value).limit(1)
    ).first()
    if ident is not None:
        return True
    return (
        session.scalars(select(Hit.id).where(Hit.identifier == value).limit(1)).first() is not None
    )


def resolve(session: Session, value: str) -> tuple[str, str]:
    """(kind, normalised value) of what the user typed, preferring a form the store knows."""
    v = value.strip()
    if not v:
        raise InputError("give an email address or a phone number to trace")
    if "@" in v and not v.lower().startswith("whatsapp:"):
        return "email", normalize_email(v)
    tried: list[str] = []
    for region in (None, *registered_regions(session)):
        e164 = normalize_phone(v, region, strict=False)
        if not e164 or e164 in tried:
            continue
        tried.append(e164)
        if _known(session, "phone", e164):
            return "phone", e164
    valid = [e for e in tried if _is_valid(e)]
    if valid:
        return "phone", valid[0]
    raise InputError(
        f"'{value}' is neither an email address nor a phone number; "
        "write the number in international form, e.g. +52 844 123 4567"
    )


def _is_valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False


def trace(store: Store, value: str) -> dict[str, Any]:
    """The canaries holding `value`, the copies they were planted in, and every hit on it."""
    with store.session() as s:
        kind, ident = resolve(s, value)
        canaries = s.scalars(
            select(Canary)
            .join(Identifier, Identifier.canary_id == Canary.id)
            .where(Identifier.kind == kind, Identifier.value == ident)
            .options(selectinload(Canary.identifiers))
            .order_by(Canary.id)
        ).all()
        copy_ids = [c.copy_id for c in canaries if c.copy_id and c.kind != "control"]
        copies = (
            s.scalars(
                select(Copy).where(Copy.id.in_(copy_ids)).order_by(Copy.issued_at, Copy.id)
            ).all()
            if copy_ids
            else []
        )
        hits = query_hits(s, HitFilter(identifier=ident))
        return {
            "identifier": ident,
            "kind": kind,
            "canaries": [canary_dict(c) for c in canaries],
            "copies": [
                {"id": cp.id, "recipient": cp.recipient, "issued_at": cp.issued_at.isoformat()}
                for cp in copies
            ],
            "hits": hit_dicts(s, hits),
        }
