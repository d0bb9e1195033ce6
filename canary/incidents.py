"""Incidents: hits grouped per copy (or per canary domain when unattributed).

Called inside the transaction that records hits, so an incident and its alert are
committed together with the hit or not at all.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Hit, Incident

log = logging.getLogger(__name__)


def incident_key(hit: Hit) -> str:
    if hit.candidates:
        return f"copy:{hit.candidates[0].copy_id}"
    domain = hit.identifier.rpartition("@")[2] if "@" in hit.identifier else hit.identifier
    return f"{hit.classification}:{domain}"


def attach(session: Session, hits: list[Hit]) -> list[tuple[Incident, Hit, bool]]:
    """Put each hit in its incident; returns (incident, hit, opened_now) for each hit."""
    out: list[tuple[Incident, Hit, bool]] = []
    for hit in hits:
        key = incident_key(hit)
        inc = session.scalars(select(Incident).where(Incident.key == key)).first()
        opened = inc is None
        if inc is None:
            inc = Incident(
                key=key,
                copy_id=hit.candidates[0].copy_id if hit.candidates else None,
                opened_at=hit.observed_at,
                last_hit_at=hit.observed_at,
                hit_count=0,
            )
            session.add(inc)
            session.flush()
        inc.hit_count += 1
        if hit.observed_at > inc.last_hit_at:
            inc.last_hit_at = hit.observed_at
        hit.incident_id = inc.id
        out.append((inc, hit, opened))
    return out
