"""Append-only hash chain over issuance records, hits, retirements and case events
(tamper evidence).

Each link hashes the previous link's hash with the SHA-256 of a canonical JSON
record, so editing a copy or hit row behind the tool's back breaks the chain there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from canary.store.models import (
    Canary,
    CaseEvent,
    ChainLink,
    Copy,
    Domain,
    Hit,
    Incident,
    LiveCopy,
    PhoneNumber,
)

GENESIS = "0" * 64
#: Link kinds. Existing kinds and their records never change (old chains verify
#: forever); a new event is a new kind.
COPY, HIT, RETIRE, UNPLANT = "copy", "hit", "retire", "unplant"
#: Case workflow (canary.hits.workflow): an incident changed or annotated, a hit marked as
#: noise or restored. The link's ref_id is the CaseEvent's id.
INCIDENT, NOISE = "incident", "noise"
CASE_KINDS = (INCIDENT, NOISE)
_LINKS = cast(Table, ChainLink.__table__)


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record is hashed as: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def link_hash(prev_hash: str, record_sha256: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{record_sha256}".encode()).hexdigest()


def append(session: Session, kind: str, ref_id: str, record: dict[str, Any]) -> ChainLink:
    """Add a link for `record` inside the caller's transaction (serialised across processes)."""
    return append_many(session, [(kind, ref_id, record)])[-1]


def append_many(
    session: Session, entries: list[tuple[str, str, dict[str, Any]]]
) -> list[ChainLink]:
    """Add one link per (kind, ref_id, record), in order, reading the chain head once."""
    return [ChainLink(**row) for row in extend(session, entries)]


def extend(
    session: Session, entries: list[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """`append_many` giving the links' rows (no objects: the hits' batches add many)."""
    if not entries:
        return []
    session.flush()  # whatever the caller added goes before the link that covers it
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(724312)"))
    t = _LINKS.c
    last = conn.execute(select(t.seq, t.hash).order_by(t.seq.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    seq = last.seq if last else 0
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for kind, ref_id, record in entries:
        seq += 1
        rsha = record_sha256(record)
        prev_hash, prev = prev, link_hash(prev, rsha)
        rows.append(
            {
                "seq": seq,
                "kind": kind,
                "ref_id": str(ref_id),
                "record_sha256": rsha,
                "prev_hash": prev_hash,
                "hash": prev,
                "created_at": now,
            }
        )
    # One bulk INSERT: the links are values, not objects the session tracks.
    conn.execute(insert(_LINKS), rows)
    return rows


def copy_record(copy: Copy, identifiers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The fields of an issued copy the hash chain covers.

    `identifiers` are the (kind, value) pairs planted in the copy; when omitted they
    are read back from the copy's canaries, which is how `verify_chain` re-derives the
    record from the current rows.
    """
    if identifiers is None:
        identifiers = [(i.kind, i.value) for c in copy.canaries for i in c.identifiers]
    return {
        "id": copy.id,
        "dataset_id": copy.dataset_id,
        "recipient": copy.recipient,
        "purpose": copy.purpose,
        "issued_by": copy.issued_by,
        "issued_at": copy.issued_at.isoformat(),
        "path": copy.path,
        "sha256": copy.sha256,
        "identifiers": sorted(identifiers),
    }


def hit_record(hit: Hit) -> dict[str, Any]:
    """The fields of a hit the hash chain covers (frozen: existing chains must verify)."""
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


def retire_record(row: Domain | PhoneNumber) -> dict[str, Any]:
    """The fields of a retired canary domain or phone number the chain covers.

    Its link's ref_id is "domain:NAME" or "phone:+E164".
    """
    what = "domain" if isinstance(row, Domain) else "phone"
    value = row.name if isinstance(row, Domain) else row.number
    retired = row.retired_at
    return {
        "what": what,
        "value": value,
        "retired_at": retired.astimezone(UTC).isoformat() if retired else None,
    }


def case_record(event: CaseEvent) -> dict[str, Any]:
    """The fields of a case event (an incident change or a noise marking) the chain covers.

    `changes` maps each changed field to [before, after]; `text` is the note (incident)
    or the reason (noise).
    """
    return {
        "id": event.id,
        "kind": event.kind,
        "incident": event.incident_id,
        "hit": event.hit_id,
        "at": event.at.astimezone(UTC).isoformat(),
        "by": event.by,
        "changes": event.changes,
        "text": event.text,
    }


def unplant_record(row: LiveCopy) -> dict[str, Any]:
    """The fields of an unplanted live copy the chain covers (its link's ref_id is the copy id).

    `removed` are the canary rows deleted from the live table, `changed` those found
    altered and left in place, `missing` those already gone, `referenced` those other
    rows pointed at (left in place).
    """
    done = row.unplant or {}
    when = row.unplanted_at
    return {
        "copy": row.copy_id,
        "unplanted_at": when.astimezone(UTC).isoformat() if when else None,
        "removed": sorted(done.get("removed", [])),
        "changed": sorted(done.get("changed", [])),
        "missing": sorted(done.get("missing", [])),
        "referenced": sorted(done.get("referenced", [])),
    }


def record_sha256(record: dict[str, Any]) -> str:
    """SHA-256 (hex) of a record's canonical bytes."""
    return hashlib.sha256(canonical(record)).hexdigest()


@dataclass
class BrokenLink:
    """The first link that does not check, and why."""

    seq: int
    kind: str
    ref_id: str
    reason: str

    def describe(self) -> str:
        return f"link #{self.seq} ({self.kind} {self.ref_id}): {self.reason}"


def _check(link: ChainLink, prev_hash: str, rec: dict[str, Any] | None) -> str | None:
    if link.prev_hash != prev_hash:
        return "previous hash does not match the link before it (a link was removed or edited)"
    if link.hash != link_hash(link.prev_hash, link.record_sha256):
        return "link hash does not match its contents (the link was edited)"
    if rec is None:
        return f"the {link.kind} row {link.ref_id} is missing"
    if record_sha256(rec) != link.record_sha256:
        return f"the {link.kind} row {link.ref_id} was changed after it was recorded"
    return None


def _load_batch(session: Session, links: list[ChainLink]) -> dict[tuple[str, str], Any]:
    """The copy and hit rows a batch of links covers, loaded in a few queries."""
    from sqlalchemy.orm import selectinload

    hit_ids = [int(x.ref_id) for x in links if x.kind == "hit" and x.ref_id.isdigit()]
    copy_ids = [x.ref_id for x in links if x.kind == "copy"]
    rows: dict[tuple[str, str], Any] = {}
    if hit_ids:
        q = select(Hit).where(Hit.id.in_(hit_ids)).options(selectinload(Hit.candidates))
        rows.update({("hit", str(h.id)): h for h in session.scalars(q)})
    if copy_ids:
        q2 = (
            select(Copy)
            .where(Copy.id.in_(copy_ids))
            .options(selectinload(Copy.canaries).selectinload(Canary.identifiers))
        )
        rows.update({("copy", c.id): c for c in session.scalars(q2)})
    retired = [x.ref_id.partition(":") for x in links if x.kind == RETIRE]
    names = [v for what, _, v in retired if what == "domain"]
    numbers = [v for what, _, v in retired if what == "phone"]
    if names:
        q3 = select(Domain).where(Domain.name.in_(names))
        rows.update({(RETIRE, f"domain:{d.name}"): d for d in session.scalars(q3)})
    if numbers:
        q4 = select(PhoneNumber).where(PhoneNumber.number.in_(numbers))
        rows.update({(RETIRE, f"phone:{p.number}"): p for p in session.scalars(q4)})
    events = [int(x.ref_id) for x in links if x.kind in CASE_KINDS and x.ref_id.isdigit()]
    if events:
        q5 = select(CaseEvent).where(CaseEvent.id.in_(events))
        rows.update({(e.kind, str(e.id)): e for e in session.scalars(q5)})
    unplanted = [x.ref_id for x in links if x.kind == UNPLANT]
    if unplanted:
        q6 = select(LiveCopy).where(LiveCopy.copy_id.in_(unplanted))
        rows.update({(UNPLANT, r.copy_id): r for r in session.scalars(q6)})
    return rows


def _record(kind: str, row: Any) -> dict[str, Any]:
    if kind == HIT:
        return hit_record(row)
    if kind == RETIRE:
        return retire_record(row)
    if kind in CASE_KINDS:
        return case_record(row)
    if kind == UNPLANT:
        return unplant_record(row)
    return copy_record(row)


def verify_chain(session: Session, batch: int = 500) -> BrokenLink | None:
    """Recheck every link and re-derive every record from its row: the first broken link or None.

    A link is broken when its hash does not follow from the link before it, or when
    the copy or hit row it covers no longer hashes to what was recorded (a row edited
    or deleted behind the tool's back). Links are read in batches, with the rows they
    cover, so a long chain neither fills memory nor costs a query per link. Last, the
    case state of incidents and hits is checked against their recorded changes
    (`verify_case_state`).
    """
    prev = GENESIS
    expected_seq = 1
    while True:
        links = list(
            session.scalars(
                select(ChainLink)
                .where(ChainLink.seq >= expected_seq)
                .order_by(ChainLink.seq)
                .limit(batch)
            )
        )
        if not links:
            return verify_case_state(session)
        rows = _load_batch(session, links)
        for link in links:
            if link.seq != expected_seq:
                return BrokenLink(
                    expected_seq, "?", "", f"link #{expected_seq} is missing (next is #{link.seq})"
                )
            row = rows.get((link.kind, link.ref_id))
            rec: dict[str, Any] | None = None
            if row is not None:
                rec = _record(link.kind, row)
            reason = _check(link, prev, rec)
            if reason:
                return BrokenLink(link.seq, link.kind, link.ref_id, reason)
            prev = link.hash
            expected_seq += 1
        session.expunge_all()


#: An incident's case fields as the workflow leaves them when nothing was ever recorded.
_CASE_FIELDS = ("status", "assignee", "resolution")
_CASE_DEFAULT: dict[str, Any] = {"status": "open", "assignee": None, "resolution": None}


def verify_case_state(session: Session) -> BrokenLink | None:
    """The incidents' and hits' case state must be what their last recorded change left.

    The chain covers the case events; this checks the rows they changed: an incident's
    status, assignee and resolution, and a hit's classification once marked as noise
    (a hit never marked must not be "noise"). The first mismatch names the link of the
    last change recorded for that row (#0 when none was).
    """
    want_inc: dict[int, dict[str, Any]] = {}
    want_hit: dict[int, str] = {}
    last: dict[tuple[str, int], int] = {}
    rows = session.execute(
        select(
            CaseEvent.id, CaseEvent.kind, CaseEvent.incident_id, CaseEvent.hit_id, CaseEvent.changes
        ).order_by(CaseEvent.id)
    )
    for eid, kind, incident_id, hit_id, changes in rows:
        changes = changes or {}
        if kind == INCIDENT and incident_id is not None:
            state = want_inc.setdefault(incident_id, dict(_CASE_DEFAULT))
            for f in _CASE_FIELDS:
                if isinstance(changes.get(f), list) and len(changes[f]) == 2:
                    state[f] = changes[f][1]
            last[(INCIDENT, incident_id)] = eid
        elif kind == NOISE and hit_id is not None:
            after = changes.get("classification")
            if isinstance(after, list) and len(after) == 2:
                want_hit[hit_id] = str(after[1])
            last[(NOISE, hit_id)] = eid
    t = cast(Table, Incident.__table__).c
    incidents = session.execute(
        select(t.id, t.status, t.assignee, t.resolution).where(
            (t.status != "open") | t.assignee.is_not(None) | t.resolution.is_not(None)
        )
    ).all()
    seen = {int(r.id): dict(zip(_CASE_FIELDS, r[1:], strict=True)) for r in incidents}
    for iid in sorted(set(seen) | set(want_inc)):
        want = want_inc.get(iid, _CASE_DEFAULT)
        now = seen.get(iid, _CASE_DEFAULT)
        for f in _CASE_FIELDS:
            if now[f] != want[f]:
                return _state_broken(
                    session,
                    INCIDENT,
                    last.get((INCIDENT, iid)),
                    f"incident {iid}",
                    f"its {f} is {now[f]!r} but the last recorded change left {want[f]!r} "
                    "(changed behind the tool's back)",
                )
    h = cast(Table, Hit.__table__).c
    marked = session.execute(
        select(h.id, h.classification).where((h.classification == NOISE) | h.id.in_(list(want_hit)))
    ).all()
    for hid, classification in marked:
        want_cls = want_hit.get(int(hid))
        if want_cls is None or classification != want_cls:
            return _state_broken(
                session,
                NOISE,
                last.get((NOISE, int(hid))),
                f"hit {hid}",
                f"its classification is {classification!r} but "
                + (
                    f"the last recorded change left {want_cls!r}"
                    if want_cls
                    else "no change marking it as noise was recorded"
                )
                + " (changed behind the tool's back)",
            )
    return None


def _state_broken(
    session: Session, kind: str, event_id: int | None, what: str, reason: str
) -> BrokenLink:
    seq = 0
    if event_id is not None:
        found = session.scalar(
            select(ChainLink.seq).where(ChainLink.kind == kind, ChainLink.ref_id == str(event_id))
        )
        seq = int(found or 0)
    return BrokenLink(seq, kind, str(event_id or ""), f"{what}: {reason}")


def count_links(session: Session) -> int:
    """How many links the chain has."""
    return int(session.scalar(select(func.count()).select_from(ChainLink)) or 0)
