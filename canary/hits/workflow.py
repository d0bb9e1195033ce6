"""The case workflow: incidents worked (status, assignee, notes, resolution) and hits
marked as noise, every change by whom and when, each one a link of the hash chain.

- `update_incident(store, incident_id, IncidentChange(...), by=...)`: one change of an
  incident (any of status, assignee, resolution, and a note) is one `CaseEvent` of kind
  "incident" and one chain link. Closing needs a resolution, given with the change that
  closes (`IncidentChange(status="closed", resolution="...")`); a resolution alone
  amends a closed incident's. Reopening (open or investigating) clears the resolution
  and the closing time; the history keeps them.
- A closed incident that a new hit (evidence or unattributed) joins is reopened by the
  tool itself (`reopen_on_hit`, recorded as by "canary").
- `mark_noise(store, hit_id, reason, by=...)`: the hit's classification becomes
  "noise": it stays in the store, its incident and the chain, but it is no longer
  evidence (copies' exclusive and shared counts, attribution of other hits and of
  copies leave it out). `restore_hit` undoes it (back to the classification it had).

The assignee is a free name (a dashboard user or anyone else: cases are handed to
people without a login too); "" unassigns. Names, notes and reasons are text a person
typed: bounded and stripped of control characters, never interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canary.errors import InputError, NotFound
from canary.store import chain, copy_counts
from canary.store.engine import Store
from canary.store.models import CaseEvent, Hit, Incident
from canary.text import safe_text
from canary.vocabulary import NOISE, Classification, IncidentStatus

MAX_NAME = 100
MAX_NOTE = 10000
MAX_RESOLUTION = 2000
MAX_REASON = 2000
MAX_ID = 2**62


@dataclass(frozen=True)
class IncidentChange:
    """What to change in an incident; None leaves a field as it is.

    `assignee=""` unassigns. `note` adds a note. `resolution` is required with
    `status="closed"` (unless the incident is closed already and keeps its own).
    """

    status: str | None = None
    assignee: str | None = None
    note: str | None = None
    resolution: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.status, self.assignee, self.note, self.resolution))


@dataclass(frozen=True)
class CaseChange:
    """A change made: the event's id, its chain link's seq, and the fields changed."""

    event_id: int
    seq: int
    at: datetime
    by: str
    changes: dict[str, list[Any]]
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "chain_seq": self.seq,
            "at": self.at.isoformat(),
            "by": self.by,
            "changes": self.changes,
            "text": self.text,
        }


def clean_by(by: str) -> str:
    """Who made a change, as recorded: bounded, printable, not empty."""
    name = safe_text(by, MAX_NAME)
    if not name:
        raise InputError("say who makes the change (--by NAME)")
    return name


def _text(value: str, limit: int, what: str) -> str:
    text = safe_text(value, limit, keep_lines=True).strip()
    if not text:
        raise InputError(f"{what}: empty; write some text")
    return text


def _status(value: str) -> IncidentStatus:
    try:
        return IncidentStatus(value.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in IncidentStatus)
        raise InputError(f"status '{safe_text(value, 40)}': use one of {choices}") from None


def _incident(session: Session, incident_id: int) -> Incident:
    inc = None
    if 0 < incident_id < MAX_ID:
        q = select(Incident).where(Incident.id == incident_id).with_for_update()
        inc = session.scalars(q).first()
    if inc is None:
        raise NotFound(f"no incident {incident_id}: list them with `canary incidents`")
    return inc


def _hit(session: Session, hit_id: int) -> Hit:
    hit = None
    if 0 < hit_id < MAX_ID:
        hit = session.scalars(select(Hit).where(Hit.id == hit_id).with_for_update()).first()
    if hit is None:
        raise NotFound(f"no hit {hit_id}: list them with `canary hits`")
    return hit


def _event(
    session: Session,
    kind: str,
    by: str,
    changes: dict[str, list[Any]],
    text: str,
    *,
    incident_id: int | None = None,
    hit_id: int | None = None,
    at: datetime | None = None,
) -> CaseChange:
    event = CaseEvent(
        kind=kind,
        incident_id=incident_id,
        hit_id=hit_id,
        at=(at or datetime.now(UTC)).astimezone(UTC),
        by=by,
        changes=changes,
        text=text,
    )
    session.add(event)
    session.flush()
    link = chain.append(session, kind, str(event.id), chain.case_record(event))
    return CaseChange(event.id, link.seq, event.at, by, changes, text)


def change_incident(
    session: Session, incident_id: int, change: IncidentChange, by: str
) -> CaseChange | None:
    """`update_incident` inside the caller's transaction."""
    by = clean_by(by)
    inc = _incident(session, incident_id)
    changes: dict[str, list[Any]] = {}
    note = _text(change.note, MAX_NOTE, "note") if change.note is not None else ""
    resolution = (
        _text(change.resolution, MAX_RESOLUTION, "resolution")
        if change.resolution is not None
        else None
    )
    now = datetime.now(UTC)
    status = _status(change.status if change.status is not None else inc.status)
    if status != inc.status:
        changes["status"] = [inc.status, status.value]
    if status == IncidentStatus.CLOSED:
        if resolution is None and inc.status != IncidentStatus.CLOSED:
            raise InputError(
                f"closing incident {inc.id} needs a resolution: say how it ended with "
                "--resolution TEXT"
            )
        if resolution is not None and resolution != inc.resolution:
            changes["resolution"] = [inc.resolution, resolution]
    elif resolution is not None:
        raise InputError(
            f"a resolution goes with closing: add --status closed (incident {inc.id} "
            f"would be {status.value})"
        )
    elif inc.resolution is not None:  # reopened: the resolution stays in the history
        changes["resolution"] = [inc.resolution, None]
    if change.assignee is not None:
        assignee = safe_text(change.assignee, MAX_NAME) or None
        if assignee != inc.assignee:
            changes["assignee"] = [inc.assignee, assignee]
    if not changes and not note:
        return None
    if "status" in changes:
        inc.status = status.value
        inc.closed_at = now if status == IncidentStatus.CLOSED else None
    if "resolution" in changes:
        inc.resolution = changes["resolution"][1]
    if "assignee" in changes:
        inc.assignee = changes["assignee"][1]
    return _event(session, chain.INCIDENT, by, changes, note, incident_id=inc.id, at=now)


def update_incident(
    store: Store, incident_id: int, change: IncidentChange, by: str
) -> CaseChange | None:
    """Change an incident's status, assignee or resolution and/or add a note, as `by`.

    One transaction: the incident, a `CaseEvent` and its chain link. Returns the change
    made, or None when nothing would change (same status, same assignee, no note).
    Raises InputError for a bad status, closing without a resolution or a resolution
    without closing, and NotFound for an unknown incident.
    """
    if change.is_empty():
        raise InputError("nothing to change: give a status, an assignee, a note or a resolution")
    with store.session() as s:
        return change_incident(s, incident_id, change, by)


#: Who the tool records as the author of the changes it makes itself.
SYSTEM = "canary"


def reopen_on_hit(session: Session, inc: Incident, hit: Hit) -> CaseChange:
    """Reopen a closed incident that a new hit joined (inside the recording transaction):
    new contact after closing is a new fact to look at. The closing resolution stays in
    the history; the change is recorded as made by "canary"."""
    changes: dict[str, list[Any]] = {"status": [inc.status, IncidentStatus.OPEN.value]}
    if inc.resolution is not None:
        changes["resolution"] = [inc.resolution, None]
    inc.status = IncidentStatus.OPEN.value
    inc.resolution = None
    inc.closed_at = None
    text = f"reopened: hit #{hit.id} arrived after the incident was closed"
    return _event(session, chain.INCIDENT, SYSTEM, changes, text, incident_id=inc.id)


def _reclassify(session: Session, hit: Hit, classification: str) -> None:
    """Change a hit's classification, and its candidates' kept hit counts with it."""
    copy_counts.reclassified(
        session.connection(),
        [c.copy_id for c in hit.candidates],
        hit.classification,
        classification,
    )
    hit.classification = classification


def mark_hit_noise(session: Session, hit_id: int, reason: str, by: str) -> CaseChange:
    """`mark_noise` inside the caller's transaction."""
    by = clean_by(by)
    why = _text(reason, MAX_REASON, "reason")
    hit = _hit(session, hit_id)
    if hit.classification in NOISE:
        raise InputError(f"hit {hit.id} is noise already ({hit.classification})")
    if hit.classification == "pending":
        raise InputError(f"hit {hit.id} is not attributed yet: mark it once attribution has run")
    changes: dict[str, list[Any]] = {
        "classification": [hit.classification, Classification.NOISE.value]
    }
    _reclassify(session, hit, Classification.NOISE.value)
    return _event(session, chain.NOISE, by, changes, why, hit_id=hit.id, incident_id=None)


def mark_noise(store: Store, hit_id: int, reason: str, by: str) -> CaseChange:
    """Mark a hit as noise, with the reason, as `by` (a `CaseEvent` of kind "noise" and its
    chain link, in one transaction).

    The hit keeps its candidates, incident and chain link; its classification becomes
    "noise", so it no longer counts as evidence against any copy. A hit that is noise
    already (control, burn-in, marked) or not attributed yet is refused (InputError).
    """
    with store.session() as s:
        return mark_hit_noise(s, hit_id, reason, by)


def restore_hit_in(session: Session, hit_id: int, reason: str, by: str) -> CaseChange:
    """`restore_hit` inside the caller's transaction."""
    by = clean_by(by)
    why = _text(reason, MAX_REASON, "reason")
    hit = _hit(session, hit_id)
    if hit.classification != Classification.NOISE:
        raise InputError(f"hit {hit.id} is not marked as noise ({hit.classification})")
    last = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.kind == chain.NOISE, CaseEvent.hit_id == hit.id)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    before = (last.changes or {}).get("classification", [None])[0] if last else None
    previous = str(before) if before and before != Classification.NOISE else "evidence"
    changes: dict[str, list[Any]] = {"classification": [hit.classification, previous]}
    _reclassify(session, hit, previous)
    return _event(session, chain.NOISE, by, changes, why, hit_id=hit.id)


def restore_hit(store: Store, hit_id: int, reason: str, by: str) -> CaseChange:
    """Undo `mark_noise`: the hit gets back the classification it had, with the reason
    and who restored it (its own `CaseEvent` and chain link)."""
    with store.session() as s:
        return restore_hit_in(s, hit_id, reason, by)
