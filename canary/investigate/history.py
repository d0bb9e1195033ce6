"""Read side for cases: incidents with their timelines, a hit's full evidence view, a
copy's hits. (The register of copies and the hit list are in canary.investigate.queries.)

Shared by `canary incidents`, `canary incident`, the evidence bundle and the admin
API, so every view of a hit has the same shape (DESIGN's `canary hits` shape, plus
details where asked). Everything returned came from an adversary: callers escape it
wherever they show it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, selectinload

from canary.errors import InputError, NotFound
from canary.hits.attribution import coded_canary_ids
from canary.investigate.queries import copy_hits, find_copy, hit_dict, hit_dicts
from canary.store.models import CaseEvent, ChainLink, Copy, Hit, Incident, IncidentHit
from canary.vocabulary import IncidentStatus


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


def hit_case(session: Session, hit: Hit) -> dict[str, Any]:
    """`hit_detail` with the hit's case: `history` (its case events, oldest first) and
    `noise` (who marked it as noise, when and why; None unless it is marked)."""
    doc = hit_detail(hit, coded_canary_ids(session, [hit]))
    doc["history"] = hit_history(session, hit.id)
    doc["noise"] = noise_mark(doc["history"]) if hit.classification == "noise" else None
    return doc


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
    """Per incident: how many shared hits joined it (see canary.hits.incidents), leaving
    out hits marked as noise."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(IncidentHit.incident_id, func.count())
        .join(Hit, Hit.id == IncidentHit.hit_id)
        .where(IncidentHit.incident_id.in_(incident_ids), Hit.classification != "noise")
        .group_by(IncidentHit.incident_id)
    )
    return {int(i): int(n) for i, n in rows}


def noise_counts(session: Session, incident_ids: list[int]) -> dict[int, int]:
    """Per incident: how many of its hits (filed or joined) are marked as noise."""
    if not incident_ids:
        return {}
    filed = select(Hit.incident_id.label("iid"), Hit.id.label("hid")).where(
        Hit.incident_id.in_(incident_ids), Hit.classification == "noise"
    )
    joined = (
        select(IncidentHit.incident_id.label("iid"), IncidentHit.hit_id.label("hid"))
        .join(Hit, Hit.id == IncidentHit.hit_id)
        .where(IncidentHit.incident_id.in_(incident_ids), Hit.classification == "noise")
    )
    both = filed.union(joined).subquery()
    rows = session.execute(select(both.c.iid, func.count()).group_by(both.c.iid))
    return {int(i): int(n) for i, n in rows}


def incident_summary(
    session: Session,
    inc: Incident,
    shared: dict[int, int] | None = None,
    noise: dict[int, int] | None = None,
) -> dict[str, Any]:
    """An incident in brief: `hits` counts every hit filed in it, `shared_hits` those
    shared with other copies' incidents, `noise_hits` those marked as noise since; its
    case: `status`, `assignee`, `resolution`, `closed_at`."""
    copy = session.get(Copy, inc.copy_id) if inc.copy_id else None
    if shared is None:
        shared = shared_counts(session, [inc.id])
    if noise is None:
        noise = noise_counts(session, [inc.id])
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
        "noise_hits": noise.get(inc.id, 0),
        "assignee": inc.assignee,
        "resolution": inc.resolution,
        "closed_at": inc.closed_at.isoformat() if inc.closed_at else None,
    }


def parse_status(value: str) -> str:
    """An incident status as typed (any case), checked: open, investigating or closed."""
    try:
        return IncidentStatus(value.strip().lower()).value
    except ValueError:
        choices = ", ".join(s.value for s in IncidentStatus)
        raise InputError(f"status '{value[:40]}': use one of {choices}") from None


def list_incidents(
    session: Session, limit: int = 500, status: str | None = None
) -> list[dict[str, Any]]:
    """Incidents, most recently active first; only those in `status` when given."""
    q = select(Incident)
    if status is not None:
        q = q.where(Incident.status == parse_status(status))
    rows = session.scalars(
        q.order_by(Incident.last_hit_at.desc(), Incident.id.desc()).limit(limit)
    ).all()
    ids = [i.id for i in rows]
    # Their copies in one query: incident_summary's session.get finds them in the
    # session (held here: the session keeps only weak references).
    copies = session.scalars(
        select(Copy).where(Copy.id.in_({i.copy_id for i in rows if i.copy_id}))
    ).all()
    shared, noise = shared_counts(session, ids), noise_counts(session, ids)
    out = [incident_summary(session, i, shared, noise) for i in rows]
    del copies
    return out


def incident_ages(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """The most recently active incidents (any status), with only what a chart of their
    ages reads: `status`, `opened_at`, `hits`, `shared_hits` (as `list_incidents`
    counts them). Plain rows: no incident, copy or noise count loaded."""
    rows = session.execute(
        select(Incident.id, Incident.status, Incident.opened_at, Incident.hit_count)
        .order_by(Incident.last_hit_at.desc(), Incident.id.desc())
        .limit(limit)
    ).all()
    shared = shared_counts(session, [r.id for r in rows])
    return [
        {
            "id": r.id,
            "status": r.status,
            "opened_at": r.opened_at.isoformat(),
            "hits": r.hit_count,
            "shared_hits": shared.get(r.id, 0),
        }
        for r in rows
    ]


def event_dict(event: CaseEvent, seq: int | None = None) -> dict[str, Any]:
    """A case event as shown in a history: who, when, what changed ([before, after] per
    field), its text (the note, or the noise reason) and its chain link's seq."""
    return {
        "id": event.id,
        "kind": event.kind,
        "incident": event.incident_id,
        "hit": event.hit_id,
        "at": event.at.isoformat(),
        "by": event.by,
        "changes": dict(event.changes or {}),
        "text": event.text,
        "chain_seq": seq,
    }


def _events(session: Session, where: Any) -> list[dict[str, Any]]:
    rows = session.scalars(select(CaseEvent).where(where).order_by(CaseEvent.id)).all()
    seqs: dict[tuple[str, str], int] = {}
    refs = [str(e.id) for e in rows]
    for i in range(0, len(refs), 500):
        q = select(ChainLink.kind, ChainLink.ref_id, ChainLink.seq).where(
            ChainLink.kind.in_(("incident", "noise")), ChainLink.ref_id.in_(refs[i : i + 500])
        )
        seqs.update({(k, r): int(n) for k, r, n in session.execute(q)})
    return [event_dict(e, seqs.get((e.kind, str(e.id)))) for e in rows]


def hit_history(session: Session, hit_id: int) -> list[dict[str, Any]]:
    """A hit's case events (marked as noise, restored), oldest first."""
    return _events(session, CaseEvent.hit_id == hit_id)


def noise_mark(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Who marked a hit as noise, when and why (its latest noise event), or None."""
    for e in reversed(history):
        if e["kind"] == "noise":
            after = (e["changes"].get("classification") or [None, None])[1]
            if after != "noise":
                return None
            return {"reason": e["text"], "by": e["by"], "at": e["at"]}
    return None


def incident_detail(session: Session, incident_id: int) -> dict[str, Any]:
    """An incident with its hits as a timeline (oldest first) and the senders seen."""
    inc = session.get(Incident, incident_id) if 0 < incident_id < MAX_ID else None
    if inc is None:
        raise NotFound(f"no incident {incident_id}: list them with `canary incidents`")
    joined = select(IncidentHit.hit_id).where(IncidentHit.incident_id == inc.id)
    # Its hits, filed or joined: a union of two index lookups (an OR of the two made
    # PostgreSQL read every hit: 1.2 s at a million hits).
    its_ids = union(select(Hit.id).where(Hit.incident_id == inc.id), joined).subquery()
    hits = session.scalars(
        select(Hit)
        .options(selectinload(Hit.candidates))
        .where(Hit.id.in_(select(its_ids.c.id)))
        .order_by(Hit.observed_at, Hit.id)
    ).all()
    doc = incident_summary(session, inc)
    senders: dict[str, int] = {}
    channels: dict[str, int] = {}
    for h in hits:
        senders[h.sender] = senders.get(h.sender, 0) + 1
        channels[h.channel] = channels.get(h.channel, 0) + 1
    doc["timeline"] = hit_dicts(session, list(hits))
    noise_events = _events(session, CaseEvent.hit_id.in_(select(its_ids.c.id)))
    for entry in doc["timeline"]:  # shared hits are marked as such in every incident
        entry["shared"] = entry["attribution"]["strength"] in ("shared", "coded") or (
            len(entry["copies"]) > 1
        )
        entry["noise"] = noise_mark([e for e in noise_events if e["hit"] == entry["id"]])
    history = _events(session, CaseEvent.incident_id == inc.id) + noise_events
    doc["history"] = sorted(history, key=lambda e: (e["at"], e["id"]))
    doc["notes"] = [
        {"id": e["id"], "at": e["at"], "by": e["by"], "text": e["text"]}
        for e in doc["history"]
        if e["kind"] == "incident" and e["text"]
    ]
    doc["exclusive_hits"] = sum(
        1 for e in doc["timeline"] if e["attribution"]["strength"] == "exclusive"
    )
    doc["senders"] = senders
    doc["channels"] = channels
    return doc
