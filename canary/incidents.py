"""Incidents: hits grouped per copy (or per target when they name no copy), and their alerts.

Called inside the transaction that records hits, so an incident and its alert are
committed together with the hit or not at all.

Alert policy:

- evidence: the first hit on a copy opens the incident `copy:ID` and queues an
  alert at once; later hits on the copy only raise `hit_count` and go out in digests
  (`canary.alerts.outbox.run_digests`, every `alerts.digest_minutes`).
- unattributed (an unknown address at a canary domain, a probe, a number no copy
  holds yet): reported too, marked as such: the first hit per target opens
  `unattributed:TARGET` with an immediate alert, later ones go to digests.
- noise (`control` canaries, numbers in `burn-in`): digest-only. They open
  `control:TARGET` / `burn-in:TARGET` and appear in the next digest, marked noise, so
  background contact is visible without paging anyone.
- liveness sentinels (our own probe mail, see canary.liveness) are recorded but
  filed in no incident and alert no one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .alerts.outbox import enqueue
from .alerts.payloads import first_payload
from .liveness import is_sentinel
from .models import Hit, Incident, UTCDateTime

log = logging.getLogger(__name__)

IMMEDIATE = ("evidence", "unattributed")

_LATEST = bindparam("latest", type_=UTCDateTime())
#: One cached statement that adds a group of hits to an incident's counters.
_BUMP = (
    update(Incident)
    .where(Incident.id == bindparam("iid"))
    .values(
        hit_count=Incident.hit_count + bindparam("n"),
        alerted_hit_count=Incident.alerted_hit_count + bindparam("alerted"),
        last_hit_at=case((Incident.last_hit_at < _LATEST, _LATEST), else_=Incident.last_hit_at),
    )
)


def incident_key(hit: Hit) -> str:
    """`copy:ID` for evidence, else `<classification>:<domain or number>`."""
    if hit.classification == "evidence" and hit.candidates:
        return f"copy:{hit.candidates[0].copy_id}"
    ident = hit.identifier
    target = ident.rpartition("@")[2] if "@" in ident else ident
    return f"{hit.classification}:{target}"[:300]


def _get_or_open(session: Session, key: str, first: Hit) -> tuple[Incident, bool]:
    """The incident for `key`, opening it if needed; safe against a concurrent opener."""
    inc = session.scalars(select(Incident).where(Incident.key == key)).first()
    if inc is not None:
        return inc, False
    copy_id = first.candidates[0].copy_id if key.startswith("copy:") else None
    try:
        with session.begin_nested():
            inc = Incident(
                key=key,
                copy_id=copy_id,
                opened_at=first.observed_at,
                last_hit_at=first.observed_at,
                hit_count=0,
                alerted_hit_count=0,
                meta={},
            )
            session.add(inc)
            session.flush()
        return inc, True
    except IntegrityError:  # opened meanwhile by another process: join it
        inc = session.scalars(select(Incident).where(Incident.key == key)).one()
        return inc, False


def attach(session: Session, hits: list[Hit]) -> list[tuple[Incident, Hit, bool]]:
    """Put each hit in its incident and queue alerts; returns (incident, hit, opened_now)."""
    groups: OrderedDict[str, list[Hit]] = OrderedDict()
    for hit in hits:
        if is_sentinel(session, hit.identifier):
            continue
        groups.setdefault(incident_key(hit), []).append(hit)
    out: list[tuple[Incident, Hit, bool]] = []
    for key, group in groups.items():
        first = group[0]
        inc, opened = _get_or_open(session, key, first)
        latest = max(h.observed_at for h in group)
        alerted = 0
        if opened and first.classification in IMMEDIATE:
            payload = first_payload(session, inc, first)
            enqueue(session, payload["kind"], payload, incident_id=inc.id)
            alerted = 1
            inc.meta = {
                **(inc.meta or {}),
                "last_alert_at": datetime.now(UTC).isoformat(),
                "alerted_through_hit_id": first.id,
            }
        # Counters as SQL expressions: concurrent recorders never lose an increment.
        session.execute(
            _BUMP,
            {"iid": inc.id, "n": len(group), "alerted": alerted, "latest": latest},
            execution_options={"synchronize_session": False},
        )
        session.expire(inc, ["hit_count", "alerted_hit_count", "last_hit_at"])
        for i, hit in enumerate(group):
            hit.incident_id = inc.id
            out.append((inc, hit, opened and i == 0))
    return out
