"""What an alert says, built from the store inside the transaction that queues it.

A payload is plain JSON kept in `Alert.payload`, so a queued alert can be delivered
after a restart without looking anything up again. Its shape:

    {"kind": "first"|"unattributed"|"digest"|"system"|"test",
     "classification": "evidence"|"unattributed"|"control"|"burn-in",
     "incident": {"id", "key", "opened_at"}, "scope": "what was hit (no copy)",
     "copy": {"id", "recipient", "purpose", "issued_at", "issued_by", "dataset", "others"},
     "hit": {"id", "observed_at", "channel", "identifier", "sender", "summary", "provider"},
     "attribution": {"strength", "candidates": [{"copy", "score", "reason",
                     "false_accusation_probability"}], "false_accusation_probability"},
     "counts": {"new", "total", "since", "by_classification", "by_channel",   # digests
                "shared"},
     "samples": [hit, ...],                                                    # digests
     "noise": {"window_days", "evidence", "noise", "unattributed", "noise_share",
               "controls", "controls_hit"}}
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canary import vocabulary
from canary.store.models import Canary, Copy, Dataset, Hit, HitCopy, Identifier, Incident

NOISE_WINDOW_DAYS = 30
SAMPLES = 5
NOISE = tuple(vocabulary.NOISE)


def hit_dict(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.id,
        "observed_at": hit.observed_at.isoformat() if hit.observed_at else None,
        "channel": hit.channel,
        "identifier": hit.identifier,
        "sender": hit.sender,
        "summary": hit.summary,
        "provider": hit.provider,
    }


def copy_dict(session: Session, copy_id: str | None, others: list[str]) -> dict[str, Any] | None:
    if not copy_id:
        return None
    cp = session.get(Copy, copy_id)
    if cp is None:
        return {"id": copy_id, "others": others}
    ds = session.get(Dataset, cp.dataset_id)
    return {
        "id": cp.id,
        "recipient": cp.recipient,
        "purpose": cp.purpose,
        "issued_at": cp.issued_at.isoformat(),
        "issued_by": cp.issued_by,
        "dataset": ds.name if ds else "",
        "others": others,
    }


def noise_rate(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Hits of the last 30 days by class: the background against which a hit is read."""
    since = (now or datetime.now(UTC)) - timedelta(days=NOISE_WINDOW_DAYS)
    rows = session.execute(
        select(Hit.classification, func.count())
        .where(Hit.observed_at >= since)
        .group_by(Hit.classification)
    ).all()
    by = {str(c): int(n) for c, n in rows}
    total = sum(by.values())
    noise = sum(by.get(c, 0) for c in NOISE)
    controls = session.scalar(
        select(func.count()).select_from(Canary).where(Canary.kind == "control")
    )
    controls_hit = session.scalar(
        select(func.count(func.distinct(Identifier.canary_id)))
        .select_from(Hit)
        .join(
            Identifier,
            (Identifier.kind == Hit.identifier_kind) & (Identifier.value == Hit.identifier),
        )
        .join(Canary, Canary.id == Identifier.canary_id)
        .where(Canary.kind == "control", Hit.observed_at >= since)
    )
    return {
        "window_days": NOISE_WINDOW_DAYS,
        "evidence": by.get("evidence", 0),
        "noise": noise,
        "unattributed": by.get("unattributed", 0),
        "noise_share": round(noise / total, 4) if total else None,
        "controls": int(controls or 0),
        "controls_hit": int(controls_hit or 0),
    }


def scope_of(incident: Incident) -> str:
    """A human phrase for an incident without a copy, from its key."""
    cls, _, what = incident.key.partition(":")
    return f"{what} ({cls})" if what else incident.key


def incident_dict(inc: Incident) -> dict[str, Any]:
    return {"id": inc.id, "key": inc.key, "opened_at": inc.opened_at.isoformat()}


def first_payload(
    session: Session, inc: Incident, hit: Hit, attribution: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The alert for the first hit of an incident.

    `attribution` is the hit's attribution document (canary.hits.attribution, built by
    the caller: this layer sits below it); on a shared hit the alert says so and names
    every candidate with its score and false-accusation probability.
    """
    cands = [c.copy_id for c in hit.candidates]
    payload = {
        "kind": "first" if hit.classification == "evidence" else "unattributed",
        "classification": hit.classification,
        "incident": incident_dict(inc),
        "scope": scope_of(inc),
        "copy": copy_dict(session, inc.copy_id, cands[1:]),
        "hit": hit_dict(hit),
        "noise": noise_rate(session),
    }
    if attribution is not None:
        payload["attribution"] = attribution
    return payload


def digest_payload(
    session: Session, inc: Incident, new: int, since_hit_id: int, now: datetime
) -> dict[str, Any]:
    """A digest: how many hits joined `inc` since its last alert, with a breakdown."""
    recent = Hit.incident_id == inc.id, Hit.id > since_hit_id
    by_class = dict(
        session.execute(
            select(Hit.classification, func.count()).where(*recent).group_by(Hit.classification)
        ).all()
    )
    by_channel = dict(
        session.execute(
            select(Hit.channel, func.count()).where(*recent).group_by(Hit.channel)
        ).all()
    )
    per_hit = (
        select(HitCopy.hit_id, func.count().label("n"))
        .where(HitCopy.hit_id.in_(select(Hit.id).where(*recent)))
        .group_by(HitCopy.hit_id)
        .subquery()
    )
    shared = int(session.scalar(select(func.count()).where(per_hit.c.n > 1)) or 0)
    samples = list(session.scalars(select(Hit).where(*recent).order_by(Hit.id).limit(SAMPLES)))
    last = session.scalars(select(Hit).where(*recent).order_by(Hit.id.desc()).limit(1)).first()
    classes = {str(k) for k in by_class}
    cls = "evidence" if "evidence" in classes or not classes else sorted(classes)[0]
    return {
        "kind": "digest",
        "classification": cls,
        "incident": incident_dict(inc),
        "scope": scope_of(inc),
        "copy": copy_dict(session, inc.copy_id, []),
        "counts": {
            "new": new,
            "total": inc.hit_count,
            "since": (inc.meta or {}).get("last_alert_at") or inc.opened_at.isoformat(),
            "by_classification": {str(k): int(v) for k, v in by_class.items()},
            "by_channel": {str(k): int(v) for k, v in by_channel.items()},
            # hits naming several candidate copies: they do not point at this copy alone
            "shared": shared,
        },
        "samples": [hit_dict(h) for h in samples],
        "hit": hit_dict(last) if last else None,
        "noise": noise_rate(session, now),
    }
