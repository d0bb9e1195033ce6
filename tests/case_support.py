"""Helpers for the case, chain, report and admin tests: copies inserted as `canary issue` would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from canary.hits.record import Observation, record
from canary.mail.parse import parse_message
from canary.store import chain
from canary.store.engine import Store, new_id
from canary.store.models import Canary, Copy, Dataset, Identifier
from canary.text import fold

XSS = "<img src=x onerror=alert(1)>"


def make_copy(
    store: Store,
    recipient: str,
    emails: list[str],
    phones: list[str] | None = None,
    *,
    issued_at: datetime | None = None,
    names: bool = False,
    person: str = "Lucía Pérez",
) -> str:
    """Insert a dataset, a copy with one canary per email, and its chain link; the copy id.
    `names`: register each canary's name too (folded, as `canary issue` does); the
    canaries are named `person` and their number."""
    issued_at = issued_at or datetime.now(UTC) - timedelta(days=2)
    phones = phones or []
    with store.session() as s:
        ds = Dataset(
            id=new_id("D"),
            name="candidatas.csv",
            source="candidatas.csv",
            format="csv",
            columns=["nombre", "email", "telefono"],
            row_count=1800,
            sha256="a" * 64,
        )
        s.add(ds)
        copy = Copy(
            id=new_id("C"),
            dataset_id=ds.id,
            recipient=recipient,
            purpose="auditoría",
            issued_by="custodio",
            issued_at=issued_at,
            path=f"/srv/out/{recipient}.csv",
            sha256="b" * 64,
            format="csv",
            meta={},
        )
        s.add(copy)
        s.flush()
        idents: list[tuple[str, str]] = []
        for i, email in enumerate(emails):
            phone = phones[i] if i < len(phones) else None
            can = Canary(
                copy_id=copy.id,
                dataset_id=ds.id,
                kind="planted",
                position=10 + i,
                values={"nombre": f"{person} {i}", "email": email, "telefono": phone or ""},
            )
            s.add(can)
            s.flush()
            s.add(Identifier(canary_id=can.id, kind="email", value=email, raw=email))
            idents.append(("email", email))
            if names:
                name = str(can.values["nombre"])
                s.add(Identifier(canary_id=can.id, kind="name", value=fold(name), raw=name))
                idents.append(("name", fold(name)))
            if phone:
                s.add(Identifier(canary_id=can.id, kind="phone", value=phone, raw=phone))
                idents.append(("phone", phone))
        s.flush()
        chain.append(s, "copy", copy.id, chain.copy_record(copy, idents))
        return copy.id


RAW_MAIL = (
    b"From: Campa\xc3\xb1a <news@campaign.example>\r\n"
    b"To: lucia@canary.example\r\n"
    b"Subject: " + XSS.encode() + b"\r\n"
    b"Message-ID: <1@campaign.example>\r\n"
    b"X-Mailer: <b>bulk</b>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Vote por nosotros <script>alert(2)</script>\r\n\x00\xff end\r\n"
)


def mail_hit(
    store: Store, to: str, raw: bytes = RAW_MAIL, subject: str = XSS, mid: str = "m1"
) -> int:
    """Record an SMTP hit as the listener would; its id."""
    [rec] = record(
        store,
        [
            Observation(
                channel="smtp",
                identifier=to,
                sender="news@campaign.example",
                summary=subject,
                provider="smtp",
                provider_message_id=mid,
                evidence=raw,
                evidence_type="message/rfc822",
                details=parse_message(raw).details(),
            )
        ],
    )
    return rec.hit_id
