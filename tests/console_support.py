"""A console's worth of known, hostile data: copies whose recipients carry markup, hits
over the last weeks on several channels with markup in senders and subjects, a shared
number, incidents, alerts waiting for a channel, and users of every role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from canary.hits.record import Observation, record
from canary.store import users
from canary.store.engine import Store
from tests.case_support import XSS, mail_hit, make_copy

#: Markup an adversary would put wherever we show text; none of it may run or render.
HOSTILE_RECIPIENT = 'Proveedor <script>alert("r")</script> & "Ñandú"'
HOSTILE_NAME = '<b>Gustavo</b> <img src=x onerror=alert(5)> "Núñez"'
HOSTILE_SENDER = '"<b>Jefe</b>" <img src=x onerror=alert(3)>@evil.example'
SHARED_PHONE = "+50683123456"
PASSWORDS = {
    "vera": ("viewer", "viewer password"),
    "ivan": ("investigator", "investigator password"),
    "ana": ("admin", "admin password"),
}


@dataclass
class Console:
    store: Store
    copies: dict[str, str]  # short name -> copy id
    hits: dict[str, int]  # short name -> hit id
    #: The "fixed" hit's instant: 18:30 UTC, which is 12:30 in Mexico City (UTC-6, no
    #: daylight saving since 2022) and 13:30 in Bogotá (UTC-5), 20 days ago.
    fixed_at: datetime


def seed_console(store: Store, now: datetime | None = None) -> Console:
    """The data every console test and screenshot reads."""
    now = now or datetime.now(UTC)
    start = now - timedelta(days=40)
    fixed_at = (now - timedelta(days=20)).replace(hour=18, minute=30, second=0, microsecond=0)
    a = make_copy(
        store,
        HOSTILE_RECIPIENT,
        ["ana@canary.example", "eva@canary.example", "luz@canary.example"],
        [SHARED_PHONE],
        issued_at=start,
        names=True,
    )
    b = make_copy(
        store,
        "Otra Empresa S.A.",
        ["beto@canary.example"],
        [SHARED_PHONE],
        issued_at=start + timedelta(days=1),
        names=True,
    )
    c = make_copy(
        store,
        "Auditoría Externa",
        ["caro@canary.example", "dani@canary.example"],
        issued_at=start + timedelta(days=2),
        names=True,
        person=HOSTILE_NAME,
    )
    hits: dict[str, int] = {}
    hits["mail_a"] = mail_hit(store, "ana@canary.example")
    hits["mail_a2"] = mail_hit(store, "eva@canary.example", mid="m2")
    observations = [
        (
            "sms_shared",
            Observation(
                "sms",
                SHARED_PHONE,
                sender="+50688887777",
                summary="promo " + XSS,
                provider="twilio",
                provider_message_id="SM1",
                observed_at=now - timedelta(days=12),
            ),
        ),
        (
            "whatsapp_c",
            Observation(
                "whatsapp",
                "caro@canary.example",
                sender=HOSTILE_SENDER,
                summary="<i>hola</i> " + XSS,
                provider="generic",
                provider_message_id="W1",
                observed_at=now - timedelta(days=5, hours=3),
            ),
        ),
        (
            "probe_c",
            Observation(
                "smtp-probe",
                "dani@canary.example",
                sender="probe@list.example",
                summary="RCPT without DATA",
                provider="smtp",
                provider_message_id="P1",
                observed_at=now - timedelta(days=2),
            ),
        ),
        (
            "fixed",
            Observation(
                "sms",
                "luz@canary.example",
                sender="+5215512345678",
                summary="a fixed instant",
                provider="twilio",
                provider_message_id="SM2",
                observed_at=fixed_at,
            ),
        ),
        (
            "recent",
            Observation(
                "sms",
                "luz@canary.example",
                sender="+5215512345679",
                summary="five minutes ago",
                provider="twilio",
                provider_message_id="SM3",
                observed_at=now - timedelta(minutes=5),
            ),
        ),
    ]
    for name, obs in observations:
        [rec] = record(store, [obs])
        hits[name] = rec.hit_id
    for role_user, (role, password) in PASSWORDS.items():
        users.add_user(store, role_user, password, role)
    return Console(store, {"a": a, "b": b, "c": c}, hits, fixed_at)
