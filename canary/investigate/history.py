"""Read side for cases: incidents with their timelines, a hit's full evidence view, a
copy's hits. (The register of copies and the hit list are in canary.investigate.queries.)

Shared by `canary incidents`, `canary incident`, the evidence bundle and the admin
API, so every view of a hit has the same shape (DESIGN's `canary hits` shape, plus
details where asked). Everything returned came from an adversary: callers escape it
wherever they show it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from canary.errors import NotFound
from canary.investigate.queries import copy_hits, find_copy, hit_dict, hit_dicts
from canary.store.models import Copy, Hit, Incident, IncidentHit


def hit_detail(hit: Hit, coded: frozenset[int] = frozenset()) -> dict[str, Any]:
    """A hit with its evidence details, classification and attribution (`hit_dict`)."""
    doc = hit_dict(hit, coded)
    doc.update(
        {
            "identifier_kind": hit.identifier_kind,
            "provider": hit.provider,
            "provider_message_id": hit.provider_message_id,
            "evidence_sha256": hit.evidence_sha256,
            "incident_id": hit.incident_id,
            "details": hit.details or {},
        }
    )
    return doc


MAX_ID = 2**62


def get_hit(session: Session, hit_id: int) -> Hit:
    hit = session.get(Hit, hit_id) if 0 < hit_id < MAX_ID else None
    if hit is None:
        raise NotFound(f"no hit {hit_id}: list them with `canary hits`")
    return hit


def get_copy(session: Session, copy_id: str) -> Copy:
    return find_copy(session, copy_id)


def hits_of_copy(session: Session, copy_id: str) -> list[Hit]:
    """Every hit naming `copy_id` among its candidates, oldest first."""
    return copy_hits(session, copy_id)


def shared_counts(session: Session, incident_ids: list[int]) -> dict[int, int]:
    """Per incident: how many shared hits joined it (see canary.hits.incidents)."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(IncidentHit.incident_id, func.count())
        .where(IncidentHit.incident_id.in_(incident_ids))
        .group_by(IncidentHit.incident_id)
    )
    return {int(i): int(n) for i, n in rows}


def incident_summary(
    session: Session, inc: Incident, shared: dict[int, int] | None = None
) -> dict[str, Any]:
    """An incident in brief: `hits` counts every hit filed in it, `shared_hits` those
    shared with other copies' incidents."""
    copy = session.get(Copy, inc.copy_id) if inc.copy_id else None
    if shared is None:
        shared = shared_counts(session, [inc.id])
    return {
        "id": inc.id,
        "key": inc.key,
        "copy": inc.copy_id,
        "recipient": copy.recipient if copy else None,
        "status": inc.status,
        "opened_at": inc.opened_at.isoformat(),
        "last_hit_at": inc.last_hit_at.isoformat(),
        "hits": inc.hit_count,
        "shared_hits": shared.get(inc.id, 0),
    }


def list_incidents(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """Incidents, most recently active first."""
    rows = session.scalars(
        select(Incident).order_by(Incident.last_hit_at.desc(), Incident.id.desc()).limit(limit)
    ).all()
    shared = shared_counts(session, [i.id for i in rows])
    return [incident_summary(session, i, shared) for i in rows]


def incident_detail(session: Session, incident_id: int) -> dict[str, Any]:
    """An incident with its hits as a timeline (oldest first) and the senders seen."""
    inc = session.get(Incident, incident_id) if 0 < incident_id < MAX_ID else None
    if inc is None:
        raise NotFound(f"no incident {incident_id}: list them with `canary incidents`")
    joined = select(IncidentHit.hit_id).where(IncidentHit.incident_id == inc.id)
    hits = session.scalars(
        select(Hit)
        .options(selectinload(Hit.candidates))
        .where(or_(Hit.incident_id == inc.id, Hit.id.in_(joined)))
        .order_by(Hit.observed_at, Hit.id)
    ).all()
    doc = incident_summary(session, inc)
    senders: dict[str, int] = {}
    channels: dict[str, int] = {}
    for h in hits:
        senders[h.sender] = senders.get(h.sender, 0) + 1
        channels[h.channel] = channels.get(h.channel, 0) + 1
    doc["timeline"] = hit_dicts(session, list(hits))
    for entry in doc["timeline"]:  # shared hits are marked as such in every incident
        entry["shared"] = entry["attribution"]["strength"] in ("shared", "coded")
    doc["exclusive_hits"] = sum(
        1 for e in doc["timeline"] if e["attribution"]["strength"] == "exclusive"
    )
    doc["senders"] = senders
    doc["channels"] = channels
    return doc
