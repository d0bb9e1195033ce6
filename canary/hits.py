"""Recording hits: one observed contact in, a durable, attributed hit out.

Listeners turn what they receive into `Observation`s and call `record`, which
stores the evidence, attributes each hit to its candidate copies, files it in an
incident and queues its alert, all in one transaction. Listeners acknowledge only
after `record` returns.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import attribution, chain, incidents
from .models import Blob, Hit
from .normalize import normalize_email, normalize_phone
from .store import Store

log = logging.getLogger(__name__)

CHANNELS = ("smtp", "smtp-probe", "sms", "whatsapp", "voice", "webhook", "dns", "import")
MAX_SUMMARY = 500
MAX_SENDER = 500


@dataclass
class Observation:
    """One contact to one identifier, as a listener saw it. Everything here is hostile."""

    channel: str
    identifier: str
    sender: str = ""
    summary: str = ""
    provider: str = ""
    provider_message_id: str | None = None
    evidence: bytes | None = None
    evidence_type: str = "application/octet-stream"
    details: dict[str, Any] = field(default_factory=dict)
    observed_at: datetime | None = None
    #: Free text of the message, used to narrow shared phone numbers by canary names.
    text: str = ""


@dataclass
class Recorded:
    hit_id: int
    duplicate: bool
    copies: list[str]
    classification: str


def clip(value: str, limit: int) -> str:
    """Bound a hostile string; control characters other than newline and tab dropped."""
    v = "".join(ch for ch in value[: limit * 2] if ch in "\n\t" or ch.isprintable())
    return v if len(v) <= limit else v[: limit - 1] + "…"


def normalize_observed(obs: Observation) -> tuple[str, str]:
    """(kind, normalised identifier) of what was contacted."""
    ident = obs.identifier.strip()
    if "@" in ident and not ident.lower().startswith("whatsapp:"):
        return "email", normalize_email(ident)
    e164 = normalize_phone(ident, strict=False)
    return "phone", e164 or clip(ident, 100)


def _store_blob(session: Session, data: bytes, content_type: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha) is None:
        try:
            with session.begin_nested():
                session.add(Blob(sha256=sha, size=len(data), data=data, content_type=content_type))
        except IntegrityError:  # stored meanwhile by another process: same bytes
            pass
    return sha


def record(store: Store, observations: list[Observation]) -> list[Recorded]:
    """Commit hits for `observations` (one transaction); a repeated provider id is a duplicate."""
    with store.session() as session:
        out = record_in(session, observations)
    return out


def record_in(session: Session, observations: list[Observation]) -> list[Recorded]:
    """`record` inside the caller's session (for grouped commits)."""
    results: list[Recorded] = []
    new_hits: list[Hit] = []
    for obs in observations:
        kind, ident = normalize_observed(obs)
        provider = clip(obs.provider, 30)
        msg_id = clip(obs.provider_message_id, 300) if obs.provider_message_id else None
        if msg_id:
            existing = session.scalars(
                select(Hit).where(
                    Hit.provider == provider,
                    Hit.provider_message_id == msg_id,
                    Hit.identifier == ident,
                )
            ).first()
            if existing is not None:
                results.append(
                    Recorded(
                        existing.id,
                        True,
                        [c.copy_id for c in existing.candidates],
                        existing.classification,
                    )
                )
                continue
        observed_at = (obs.observed_at or datetime.now(UTC)).astimezone(UTC)
        sha = _store_blob(session, obs.evidence, obs.evidence_type) if obs.evidence else None
        hit = Hit(
            observed_at=observed_at,
            channel=obs.channel if obs.channel in CHANNELS else "webhook",
            identifier=ident,
            identifier_kind=kind,
            sender=clip(obs.sender, MAX_SENDER),
            summary=clip(obs.summary, MAX_SUMMARY),
            provider=provider,
            provider_message_id=msg_id,
            evidence_sha256=sha,
            details=obs.details,
        )
        result = attribution.attribute(session, hit, text=obs.text)
        hit.classification = result.classification
        hit.candidates = result.candidates
        session.add(hit)
        session.flush()
        new_hits.append(hit)
        results.append(
            Recorded(hit.id, False, [c.copy_id for c in hit.candidates], hit.classification)
        )
    if new_hits:
        incidents.attach(session, new_hits)
        for h in new_hits:
            chain.append(session, "hit", str(h.id), hit_record(h))
    return results


def hit_record(hit: Hit) -> dict[str, Any]:
    """The fields of a hit the hash chain covers."""
    return {
        "id": hit.id,
        "observed_at": hit.observed_at.isoformat(),
        "channel": hit.channel,
        "identifier": hit.identifier,
        "sender": hit.sender,
        "summary": hit.summary,
        "provider": hit.provider,
        "provider_message_id": hit.provider_message_id,
        "evidence_sha256": hit.evidence_sha256,
        "copies": [c.copy_id for c in hit.candidates],
    }
