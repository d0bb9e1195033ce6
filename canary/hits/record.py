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
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canary.hits import attribution, incidents
from canary.identifiers import normalize_email, normalize_phone
from canary.store import chain
from canary.store.engine import Store
from canary.store.models import Blob, Hit, HitCopy
from canary.text import fold, safe_text
from canary.vocabulary import Channel

log = logging.getLogger(__name__)

CHANNELS = tuple(Channel)
MAX_SUMMARY = 500
MAX_SENDER = 500
#: How much of a message's text search keeps (folded), per hit.
MAX_SEARCH_TEXT = 20000


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
    """Bound a hostile string for the store: canary.text.safe_text, lines and tabs kept."""
    return safe_text(value, limit, keep_lines=True)


def normalize_observed(obs: Observation) -> tuple[str, str]:
    """(kind, normalised identifier) of what was contacted."""
    ident = obs.identifier.strip()
    if "@" in ident and not ident.lower().startswith("whatsapp:"):
        return "email", normalize_email(ident)
    e164 = normalize_phone(ident, strict=False)
    return "phone", e164 or clip(ident, 100)


def _store_blobs(session: Session, blobs: dict[str, tuple[bytes, str]]) -> None:
    """Insert evidence blobs not stored yet (same bytes, same key: a conflict is a no-op)."""
    if not blobs:
        return
    rows = [
        {
            "sha256": sha,
            "size": len(data),
            "data": data,
            "content_type": ctype,
            "created_at": datetime.now(UTC),
        }
        for sha, (data, ctype) in blobs.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        mod = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = mod(cast(Table, Blob.__table__)).on_conflict_do_nothing(index_elements=["sha256"])
        session.connection().execute(stmt, rows)
        return
    for row in rows:  # other backends: one savepoint each
        if session.get(Blob, row["sha256"]) is None:
            try:
                with session.begin_nested():
                    session.add(Blob(**row))
            except IntegrityError:
                pass


def record(store: Store, observations: list[Observation]) -> list[Recorded]:
    """Commit hits for `observations` (one transaction); a repeated provider id is a duplicate."""
    with store.session() as session:
        out = record_in(session, observations)
    return out


def _existing(session: Session, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Hit]:
    if not keys:
        return {}
    rows = session.scalars(
        select(Hit).where(Hit.provider_message_id.in_({k[1] for k in keys}))
    ).all()
    found = {(h.provider, h.provider_message_id or "", h.identifier): h for h in rows}
    return {k: h for k, h in found.items() if k in keys}


def record_in(session: Session, observations: list[Observation]) -> list[Recorded]:
    """`record` inside the caller's session: a whole batch in a few bulk statements."""
    prepared = []
    for obs in observations:
        kind, ident = normalize_observed(obs)
        provider = clip(obs.provider, 30)
        msg_id = clip(obs.provider_message_id, 300) if obs.provider_message_id else None
        prepared.append((obs, kind, ident, provider, msg_id))
    existing = _existing(session, {(p, m, i) for _, _, i, p, m in prepared if m})
    blobs: dict[str, tuple[bytes, str]] = {}
    slots: list[Hit | tuple[str, str, str]] = []
    new_hits: list[Hit] = []
    batch_keys: dict[tuple[str, str, str], Hit] = {}
    lookups: dict[tuple[str, str], Any] = {}
    for obs, kind, ident, provider, msg_id in prepared:
        key = (provider, msg_id or "", ident)
        if msg_id and (key in existing or key in batch_keys):
            slots.append(key)
            continue
        sha = None
        if obs.evidence:
            sha = hashlib.sha256(obs.evidence).hexdigest()
            blobs.setdefault(sha, (obs.evidence, obs.evidence_type))
        hit = Hit(
            observed_at=(obs.observed_at or datetime.now(UTC)).astimezone(UTC),
            channel=obs.channel if obs.channel in CHANNELS else "webhook",
            identifier=ident,
            identifier_kind=kind,
            sender=clip(obs.sender, MAX_SENDER),
            summary=clip(obs.summary, MAX_SUMMARY),
            provider=provider,
            provider_message_id=msg_id,
            evidence_sha256=sha,
            details=obs.details,
            search_text=fold(obs.text[: MAX_SEARCH_TEXT * 2])[:MAX_SEARCH_TEXT],
        )
        result = attribution.attribute(session, hit, text=obs.text, cache=lookups)
        hit.classification = result.classification
        hit.candidates = result.candidates
        new_hits.append(hit)
        slots.append(hit)
        if msg_id:
            batch_keys[key] = hit
    _store_blobs(session, blobs)
    if new_hits:
        _insert_hits(session, new_hits)
    results: list[Recorded] = []
    for slot in slots:
        if isinstance(slot, Hit):
            results.append(
                Recorded(slot.id, False, [c.copy_id for c in slot.candidates], slot.classification)
            )
        else:
            h = existing.get(slot) or batch_keys[slot]
            results.append(
                Recorded(h.id, True, [c.copy_id for c in h.candidates], h.classification)
            )
    return results


def _insert_hits(session: Session, new_hits: list[Hit]) -> None:
    """Write new hits, their candidates, incidents and chain links with bulk statements.

    The `Hit` objects stay transient (never added to the session): they carry the
    values, and get their ids from the INSERT ... RETURNING. One statement per table
    for the whole batch instead of the unit of work's bookkeeping per object, which
    was most of the cost of a hit. Incidents are assigned before the insert so the
    hit rows are written once, complete.
    """
    plan = incidents.assign(session, new_hits)
    rows = [{c: getattr(h, c) for c in _HIT_COLUMNS} for h in new_hits]
    # Core statements on the session's connection: no ORM bookkeeping per row or statement.
    conn = session.connection()
    ids = conn.execute(
        insert(_HITS).returning(_HITS.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for hit, hit_id in zip(new_hits, ids, strict=True):
        hit.id = hit_id
    candidates = []
    for h in new_hits:
        for c in h.candidates:
            c.hit_id = h.id
            candidates.append({k: getattr(c, k) for k in _CANDIDATE_COLUMNS})
    if candidates:
        conn.execute(insert(_CANDIDATES), candidates)
    incidents.finish(session, plan)
    chain.append_many(session, [("hit", str(h.id), chain.hit_record(h)) for h in new_hits])


_HITS = cast(Table, Hit.__table__)
_CANDIDATES = cast(Table, HitCopy.__table__)
_HIT_COLUMNS = [c.key for c in _HITS.columns if c.key != "id"]
_CANDIDATE_COLUMNS = [c.key for c in _CANDIDATES.columns]
