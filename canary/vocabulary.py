"""The closed vocabularies of the store and the contract, one enum each.

They are `StrEnum`s: a member is its string, so rows, JSON documents and the hash chain
keep the very strings DESIGN names, and code compares and validates against one list.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a contact reached a canary (DESIGN: Hit)."""

    SMTP = "smtp"
    SMTP_PROBE = "smtp-probe"
    IMAP = "imap"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    WEBHOOK = "webhook"
    DNS = "dns"
    IMPORT = "import"


class Classification(StrEnum):
    """What a hit is worth: evidence, contact we cannot attribute, or noise."""

    EVIDENCE = "evidence"
    UNATTRIBUTED = "unattributed"
    CONTROL = "control"  # a control canary: registered, never planted
    BURN_IN = "burn-in"  # a number contacted before its first use plus the burn-in period
    NOISE = "noise"  # marked as noise by a person, with a reason (`canary hit ID --noise`)


#: Classifications that are noise, never evidence against a copy.
NOISE = frozenset({Classification.CONTROL, Classification.BURN_IN, Classification.NOISE})


class IncidentStatus(StrEnum):
    """Where an incident's case stands (`canary incident ID --status`)."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    CLOSED = "closed"  # always with a resolution


class IdentifierKind(StrEnum):
    """Kinds of canary identifiers (DESIGN: Identifier; identify's `kind`)."""

    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"
    NATIONAL_ID = "national_id"
    ID = "id"


class Provider(StrEnum):
    """Who delivers messages to a canary phone number (`canary phone add --provider`)."""

    TWILIO = "twilio"
    WHATSAPP = "whatsapp"
    VONAGE = "vonage"
    TELNYX = "telnyx"
    GENERIC = "generic"


class Role(StrEnum):
    """Dashboard roles, each one able to do what the ones before it can."""

    VIEWER = "viewer"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"

    def at_least(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class Strength(StrEnum):
    """How firmly evidence (a hit, a copy's hits, a dump) ties a contact to a copy."""

    EXCLUSIVE = "exclusive"  # only this copy held the identifier
    SHARED = "shared"  # several copies hold it: every candidate is listed with its P
    CODED = "coded"  # named by the collusion code's score (coded canaries)
    UNATTRIBUTED = "unattributed"  # no copy named (unknown address, noise, control)
    PENDING = "pending"  # raw evidence stored, attribution not run yet
