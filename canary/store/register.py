"""Canary domains and phone numbers: the contact points the organisation controls.

Neither is ever deleted: `retire_domain` and `retire_phone` stop new canaries from
using one (copies already issued keep resolving to it), and each retirement is a
`retire` link in the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers
from sqlalchemy import select

from canary.errors import InputError, NotFound
from canary.identifiers import normalize_domain, normalize_phone
from canary.store import chain
from canary.store.engine import Store
from canary.store.models import Domain, PhoneNumber
from canary.vocabulary import Provider

PROVIDERS = tuple(Provider)


@dataclass
class DomainInfo:
    name: str
    added_at: datetime
    retired_at: datetime | None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass
class PhoneInfo:
    number: str
    provider: str
    added_at: datetime
    first_used_at: datetime | None
    retired_at: datetime | None = None
    voice_only: bool = False

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


def add_domain(store: Store, domain: str) -> tuple[str, bool]:
    """Register a canary domain; returns (normalised name, True when new).

    A retired domain stays retired (copies issued with it keep resolving to it).
    Public mail providers are refused one layer up (canary.ops.contacts), where the
    list of them lives.
    """
    name = normalize_domain(domain)
    with store.session() as s:
        row = s.get(Domain, name)
        if row is not None:
            if row.retired_at is not None:
                raise InputError(
                    f"{name} was retired on {row.retired_at:%Y-%m-%d}; a retired domain is not "
                    "used again (copies issued with it still point at it)"
                )
            return name, False
        s.add(Domain(name=name))
    return name, True


def list_domains(store: Store) -> list[str]:
    """The domains new canaries may use (retired ones left out)."""
    with store.session() as s:
        q = select(Domain.name).where(Domain.retired_at.is_(None)).order_by(Domain.name)
        return list(s.scalars(q))


def all_domains(store: Store) -> list[DomainInfo]:
    """Every domain ever registered, retired ones too."""
    with store.session() as s:
        rows = s.scalars(select(Domain).order_by(Domain.name))
        return [DomainInfo(r.name, r.added_at, r.retired_at) for r in rows]


def line_type(e164: str) -> str:
    """What phonenumbers says the number is: "fixed_line", "mobile", "fixed_line_or_mobile"..."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    names = {v: k.lower() for k, v in vars(phonenumbers.PhoneNumberType).items() if k.isupper()}
    return names.get(kind, "unknown")


def add_phone(
    store: Store, number: str, provider: str = "generic", *, voice_only: bool = False
) -> tuple[str, bool]:
    """Register a canary phone number (any formatting, stored E.164).

    A fixed line cannot receive SMS or WhatsApp: it is refused unless `voice_only`
    (calls to it still reach a voice webhook).
    """
    if provider not in PROVIDERS:
        raise InputError(f"unknown provider '{provider}'; use one of: {', '.join(PROVIDERS)}")
    e164 = normalize_phone(number)
    if line_type(e164) == "fixed_line" and not voice_only:
        raise InputError(
            f"{e164} is a fixed line (a landline): it cannot receive SMS or WhatsApp, so an "
            f"SMS or WhatsApp canary on it would never be heard; use a mobile number, or "
            f"pass --voice-only to register it for calls only"
        )
    with store.session() as s:
        row = s.get(PhoneNumber, e164)
        if row is not None:
            if row.retired_at is not None:
                raise InputError(
                    f"{e164} was retired on {row.retired_at:%Y-%m-%d}; a retired number is not "
                    "used again (copies issued with it still point at it)"
                )
            return e164, False
        s.add(PhoneNumber(number=e164, provider=provider, voice_only=voice_only))
    return e164, True


def list_phones(store: Store, *, include_retired: bool = False) -> list[PhoneInfo]:
    """The phone numbers new canaries may use (with `include_retired`, every one)."""
    with store.session() as s:
        q = select(PhoneNumber).order_by(PhoneNumber.number)
        if not include_retired:
            q = q.where(PhoneNumber.retired_at.is_(None))
        return [
            PhoneInfo(r.number, r.provider, r.added_at, r.first_used_at, r.retired_at, r.voice_only)
            for r in s.scalars(q)
        ]


def retire_domain(store: Store, domain: str) -> DomainInfo:
    """Stop new canaries from using `domain`; issued ones keep resolving. A chain link."""
    name = normalize_domain(domain)
    with store.session() as s:
        row = s.get(Domain, name)
        if row is None:
            raise NotFound(f"{name} is not a registered canary domain")
        if row.retired_at is None:
            row.retired_at = datetime.now(UTC)
            s.flush()
            chain.append(s, chain.RETIRE, f"domain:{name}", chain.retire_record(row))
        return DomainInfo(row.name, row.added_at, row.retired_at)


def retire_phone(store: Store, number: str) -> PhoneInfo:
    """Stop new canaries from using `number`; issued ones keep resolving. A chain link."""
    e164 = normalize_phone(number)
    with store.session() as s:
        row = s.get(PhoneNumber, e164)
        if row is None:
            raise NotFound(f"{e164} is not a registered canary phone number")
        if row.retired_at is None:
            row.retired_at = datetime.now(UTC)
            s.flush()
            chain.append(s, chain.RETIRE, f"phone:{e164}", chain.retire_record(row))
        return PhoneInfo(
            row.number, row.provider, row.added_at, row.first_used_at, row.retired_at,
            row.voice_only,
        )  # fmt: skip
