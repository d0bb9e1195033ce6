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
- liveness sentinels (our own probe mail, see canary.ops.liveness) are recorded but
  filed in no incident and alert no one.

A closed incident that a new evidence or unattributed hit joins is reopened (a case
event by "canary", see canary.hits.workflow).

A shared hit (several candidate copies) is filed in the incident of its best
candidate (`Hit.incident_id`, where its alert goes; the alert says it is shared and
names every candidate) and joins the incident of each candidate copy, marked shared
there (`IncidentHit`); the other incidents count it as already reported, so it is
alerted once, not once per candidate.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canary.alerts.messages import first_payload
from canary.alerts.outbox import enqueue
from canary.hits.attribution import coded_canary_ids, hit_attribution
from canary.hits.sentinels import is_sentinel
from canary.hits.workflow import reopen_on_hit
from canary.store.models import Hit, Incident, IncidentHit, UTCDateTime

log = logging.getLogger(__name__)

IMMEDIATE = ("evidence", "unattributed")

_LATEST = bindparam("latest", type_=UTCDateTime())
#: One cached statement that adds a group of hits to an incident's counters.
_T = cast(Table, Incident.__table__).c
_BUMP = (
    update(cast(Table, Incident.__table__))
    .where(_T.id == bindparam("iid"))
    .values(
        hit_count=_T.hit_count + bindparam("n"),
        alerted_hit_count=_T.alerted_hit_count + bindparam("alerted"),
        last_hit_at=case((_T.last_hit_at < _LATEST, _LATEST), else_=_T.last_hit_at),
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
    """The incident for `key`, opening it if needed; safe against a concurrent opener.

    On SQLite and PostgreSQL the row is inserted with ON CONFLICT DO NOTHING: no
    savepoint (pysqlite starts its transaction only at the first INSERT, so a
    SAVEPOINT issued first would commit on its own), and a concurrent opener's row
    is simply joined.
    """
    inc = session.scalars(select(Incident).where(Incident.key == key)).first()
    if inc is not None:
        return inc, False
    values: dict[str, Any] = {
        "key": key,
        "copy_id": key[5:] if key.startswith("copy:") else None,
        "opened_at": first.observed_at,
        "last_hit_at": first.observed_at,
        "hit_count": 0,
        "alerted_hit_count": 0,
        "status": "open",
        "meta": {},
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        mod = sqlite_insert if dialect == "sqlite" else pg_insert
        table = cast(Table, Incident.__table__)
        stmt = (
            mod(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id)
        )
        opened = session.connection().execute(stmt).first() is not None
    else:
        try:
            with session.begin_nested():
                session.add(Incident(**values))
                session.flush()
            opened = True
        except IntegrityError:
            opened = False
    inc = session.scalars(select(Incident).where(Incident.key == key)).one()
    return inc, opened


@dataclass
class Plan:
    """Hits grouped by incident, before they are written (see `assign`)."""

    groups: list[tuple[Incident, bool, list[Hit]]] = field(default_factory=list)
    #: Evidence hits with several candidate copies: they also join each one's incident.
    shared: list[Hit] = field(default_factory=list)


def is_shared(hit: Hit) -> bool:
    return hit.classification == "evidence" and len(hit.candidates) > 1


def assign(session: Session, hits: list[Hit]) -> Plan:
    """Find or open each hit's incident and set `hit.incident_id`, before the hits are written.

    Liveness sentinels get no incident. `finish` (after the hits have ids) queues the
    alerts and adds the hits to the incidents' counters.
    """
    groups: OrderedDict[str, list[Hit]] = OrderedDict()
    for hit in hits:
        if is_sentinel(session, hit.identifier):
            continue
        groups.setdefault(incident_key(hit), []).append(hit)
    plan = Plan(shared=[h for g in groups.values() for h in g if is_shared(h)])
    for key, group in groups.items():
        inc, opened = _get_or_open(session, key, group[0])
        for hit in group:
            hit.incident_id = inc.id
        plan.groups.append((inc, opened, group))
    return plan


def finish(session: Session, plan: Plan) -> list[tuple[Incident, Hit, bool]]:
    """Queue the first alert of each incident opened now and count the hits in.

    Returns (incident, hit, opened_now) per hit.
    """
    out: list[tuple[Incident, Hit, bool]] = []
    for inc, opened, group in plan.groups:
        first = group[0]
        latest = max(h.observed_at for h in group)
        alerted = 0
        if opened and first.classification in IMMEDIATE:
            coded = coded_canary_ids(session, [first])
            payload = first_payload(session, inc, first, hit_attribution(first, coded).to_json())
            enqueue(session, payload["kind"], payload, incident_id=inc.id)
            alerted = 1
            inc.meta = {
                **(inc.meta or {}),
                "last_alert_at": datetime.now(UTC).isoformat(),
                "alerted_through_hit_id": first.id,
            }
        # Counters as SQL expressions: concurrent recorders never lose an increment.
        session.flush()  # the meta written above goes first
        session.connection().execute(
            _BUMP, {"iid": inc.id, "n": len(group), "alerted": alerted, "latest": latest}
        )
        session.expire(inc, ["hit_count", "alerted_hit_count", "last_hit_at"])
        out.extend((inc, hit, opened and i == 0) for i, hit in enumerate(group))
        _reopen(session, inc, group)
    _join_shared(session, plan.shared)
    return out


def _reopen(session: Session, inc: Incident, hits: list[Hit]) -> None:
    """A closed incident that new contact (evidence or unattributed) joins is open again."""
    if inc.status != "closed":
        return
    first = next((h for h in hits if h.classification in IMMEDIATE), None)
    if first is not None:
        reopen_on_hit(session, inc, first)


def _join_shared(session: Session, shared: list[Hit]) -> None:
    """File each shared hit in the incident of every candidate copy, marked shared.

    Its own incident (the best candidate's) already counted and alerted it; the others
    count it as reported (the alert named every candidate), so no digest repeats it.
    """
    if not shared:
        return
    links = []
    found: dict[str, Incident] = {}  # one lookup per copy per batch
    for hit in shared:
        for cand in hit.candidates:
            inc = found.get(cand.copy_id)
            if inc is None:
                inc, _opened = _get_or_open(session, f"copy:{cand.copy_id}", hit)
                found[cand.copy_id] = inc
            links.append({"incident_id": inc.id, "hit_id": hit.id, "shared": True})
            if inc.id != hit.incident_id:
                _reopen(session, inc, [hit])
                session.connection().execute(
                    _BUMP, {"iid": inc.id, "n": 1, "alerted": 1, "latest": hit.observed_at}
                )
                session.expire(inc, ["hit_count", "alerted_hit_count", "last_hit_at"])
    session.connection().execute(insert(cast(Table, IncidentHit.__table__)), links)
