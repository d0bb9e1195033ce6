"""Canary domains and phone numbers: the contact points the organisation controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from canary.errors import InputError
from canary.identifiers import normalize_domain, normalize_phone
from canary.store.engine import Store
from canary.store.models import Domain, PhoneNumber
from canary.vocabulary import Provider

PROVIDERS = tuple(Provider)


@dataclass
class PhoneInfo:
    number: str
    provider: str
    added_at: datetime
    first_used_at: datetime | None


def add_domain(store: Store, domain: str) -> tuple[str, bool]:
    """Register a canary domain; returns (normalised name, True when new)."""
    name = normalize_domain(domain)
    with store.session() as s:
        if s.get(Domain, name) is not None:
            return name, False
        s.add(Domain(name=name))
    return name, True


def list_domains(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(Domain.name).order_by(Domain.name)))


def add_phone(store: Store, number: str, provider: str = "generic") -> tuple[str, bool]:
    """Register a canary phone number (any formatting, stored E.164)."""
    if provider not in PROVIDERS:
        raise InputError(f"unknown provider '{provider}'; use one of: {', '.join(PROVIDERS)}")
    e164 = normalize_phone(number)
    with store.session() as s:
        row = s.get(PhoneNumber, e164)
        if row is not None:
            return e164, False
        s.add(PhoneNumber(number=e164, provider=provider))
    return e164, True


def list_phones(store: Store) -> list[PhoneInfo]:
    with store.session() as s:
        rows = s.scalars(select(PhoneNumber).order_by(PhoneNumber.number))
        return [PhoneInfo(r.number, r.provider, r.added_at, r.first_used_at) for r in rows]
