"""Attribution: which copies a hit can have come from, best first, with a score and why.

A hit names an identifier; identifiers name canaries; canaries name copies. A copy
issued after the hit cannot be its source. An email names exactly one copy (emails
are never reused); a phone number may be shared by several copies when the pool is
small, so every holder is a candidate, weighted by what else we know:

- a canary name of that copy written in the message text (accents and case folded);
- the sender's other hits, and (more weakly) other hits within `WINDOW` of this one,
  that point at the same copy.

Scores sum to 1 over the candidates. Classification:

- ``evidence``: at least one copy issued before the hit holds the identifier;
- ``unattributed``: no canary holds it (unknown address at a canary domain, a number
  in no copy), or only copies issued after the hit do;
- ``control``: only control canaries (never planted) hold it: background noise;
- ``burn-in``: a phone number contacted before its first use in a copy plus the
  burn-in period: noise the number brought with it (candidates kept, for reading).

The burn-in period comes from `burn_in_days`, else ``session.info["burn_in_days"]``,
else the module-level `BURN_IN_DAYS` (set it once from ``config.plant.burn_in_days``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from canary.store.codes import coded_positions, coded_verdicts
from canary.store.models import Canary, Copy, Hit, HitCopy, Identifier, PhoneNumber
from canary.text import contains_words, fold

#: Default burn-in period in days when neither the caller nor the session says.
BURN_IN_DAYS = 0.0
#: Hits this close in time to another hit support the same copies (weakly).
WINDOW = timedelta(hours=24)
#: How many related hits are read to weigh candidates.
MAX_RELATED = 200
#: Weight multipliers (a candidate starts at 1).
NAME_WEIGHT = 20.0
SENDER_WEIGHT = 6.0
WINDOW_WEIGHT = 1.5


@dataclass
class Attribution:
    classification: str  # evidence | unattributed | control | burn-in
    candidates: list[HitCopy] = field(default_factory=list)


def configure(burn_in_days: float) -> None:
    """Set the process-wide default burn-in period (from ``config.plant.burn_in_days``)."""
    global BURN_IN_DAYS
    BURN_IN_DAYS = float(burn_in_days)


def attribute(
    session: Session,
    hit: Hit,
    *,
    text: str = "",
    burn_in_days: float | None = None,
    cache: dict[tuple[str, str], Any] | None = None,
) -> Attribution:
    """Candidate copies for `hit` (not yet flushed), ranked; `text` may narrow phones.

    `cache` (one dict per batch of hits) keeps the canaries found for an identifier, so
    a burst of messages to one canary looks it up once.
    """
    key = (hit.identifier_kind, hit.identifier)
    rows = cache.get(key) if cache is not None else None
    if rows is None:
        rows = session.execute(
            select(Canary, Copy)
            .join(Identifier, Identifier.canary_id == Canary.id)
            .outerjoin(Copy, Copy.id == Canary.copy_id)
            .where(Identifier.kind == hit.identifier_kind, Identifier.value == hit.identifier)
        ).all()
        if cache is not None:
            cache[key] = rows
    if not rows:
        return Attribution("unattributed")
    planted = [(c, cp) for c, cp in rows if cp is not None and c.kind != "control"]
    if not planted:
        return Attribution("control")
    by_copy: dict[str, tuple[Canary, Copy]] = {}
    for c, cp in sorted(planted, key=lambda r: r[0].id):
        if cp.issued_at <= hit.observed_at:
            by_copy.setdefault(cp.id, (c, cp))
    if not by_copy:
        return Attribution("unattributed")
    candidates = _rank(session, hit, list(by_copy.values()), text)
    candidates = _apply_code(session, hit, candidates)
    if hit.identifier_kind == "phone" and _in_burn_in(session, hit, burn_in_days, cache):
        return Attribution("burn-in", candidates)
    return Attribution("evidence", candidates)


def _in_burn_in(
    session: Session,
    hit: Hit,
    burn_in_days: float | None,
    cache: dict[tuple[str, str], Any] | None = None,
) -> bool:
    days = burn_in_days
    if days is None:
        days = float(session.info.get("burn_in_days", BURN_IN_DAYS))
    key = ("first-used", hit.identifier)
    if cache is not None and key in cache:
        first_used = cache[key]
    else:  # looked up once per batch, found or not
        number = session.get(PhoneNumber, hit.identifier)
        first_used = number.first_used_at if number is not None else None
        if cache is not None:
            cache[key] = first_used
    if first_used is None:
        return False
    return bool(hit.observed_at < first_used + timedelta(days=days))


def _rank(
    session: Session, hit: Hit, eligible: list[tuple[Canary, Copy]], text: str
) -> list[HitCopy]:
    """Score each candidate copy and explain it; a single candidate scores 1."""
    n = len(eligible)
    what = f"{hit.identifier_kind} {hit.identifier}"
    weights: dict[str, float] = {cp.id: 1.0 for _c, cp in eligible}
    notes: dict[str, list[str]] = defaultdict(list)
    if n > 1:
        names = _name_matches(session, eligible, text)
        for copy_id, name in names.items():
            weights[copy_id] *= NAME_WEIGHT
            notes[copy_id].append(f"the message names its canary '{name}'")
        sender_support, window_support = _related_support(session, hit, set(weights))
        for copy_id, (support, count) in sender_support.items():
            weights[copy_id] *= 1.0 + SENDER_WEIGHT * support
            notes[copy_id].append(f"the same sender's {count} other hit(s) point at it")
        for copy_id, (support, count) in window_support.items():
            weights[copy_id] *= 1.0 + WINDOW_WEIGHT * support
            notes[copy_id].append(f"{count} other hit(s) within 24 h point at it")
    total = sum(weights.values())
    ordered = sorted(eligible, key=lambda r: (-weights[r[1].id], r[1].issued_at, r[1].id))
    out = []
    for rank, (c, cp) in enumerate(ordered):
        reason = (
            f"{what} is canary #{c.id} of copy {cp.id} issued to {cp.recipient} "
            f"on {cp.issued_at:%Y-%m-%d}"
        )
        if n > 1:
            reason += f"; the number is shared by {n} copies"
        if notes[cp.id]:
            reason += "; " + "; ".join(notes[cp.id])
        out.append(
            HitCopy(
                copy_id=cp.id,
                rank=rank,
                score=weights[cp.id] / total,
                canary_id=c.id,
                reason=reason,
            )
        )
    return out


def _apply_code(session: Session, hit: Hit, candidates: list[HitCopy]) -> list[HitCopy]:
    """A coded canary (`issue --collusion`) is held by several copies by design: score
    the code over every coded canary contacted so far, this one included, and rank the
    candidates by the code's false-accusation bound (stated in each reason)."""
    ids = {c.canary_id for c in candidates if c.canary_id is not None}
    if not ids or not coded_positions(session, ids):
        return candidates
    earlier = session.scalars(
        select(HitCopy.canary_id)
        .join(Hit, Hit.id == HitCopy.hit_id)
        .where(Hit.classification == "evidence", HitCopy.canary_id.is_not(None))
        .limit(MAX_RELATED * 10)
    ).all()
    found = ids | {c for c in earlier if c is not None}
    verdicts = {v.copy_id: v for v in reversed(coded_verdicts(session, found))}
    for c in candidates:
        v = verdicts.get(c.copy_id)
        if v is None:
            continue
        c.reason += (
            f"; coded canary ({v.held} of {v.found} coded canaries contacted are in this "
            f"copy): the code {'names' if v.named else 'does not yet name'} it, "
            f"false-accusation probability {v.false_accusation_probability:.2g}"
        )
    ordered = sorted(
        candidates,
        key=lambda c: (
            verdicts[c.copy_id].false_accusation_probability if c.copy_id in verdicts else 1.0,
            c.rank,
        ),
    )
    for rank, c in enumerate(ordered):
        c.rank = rank
    return ordered


def _name_matches(
    session: Session, eligible: list[tuple[Canary, Copy]], text: str
) -> dict[str, str]:
    """Copies whose canary (the one holding the number) is named in `text`."""
    folded = fold(text[:200_000]) if text else ""
    if not folded:
        return {}
    canary_copy = {c.id: cp.id for c, cp in eligible}
    rows = session.execute(
        select(Identifier.canary_id, Identifier.value).where(
            Identifier.kind == "name", Identifier.canary_id.in_(list(canary_copy))
        )
    ).all()
    found: dict[str, str] = {}
    for canary_id, value in rows:
        name = fold(value)
        parts = name.split()
        # As registered (given names first) or surnames first ("Núñez Peña, María José").
        orders = [" ".join([*parts[k:], *parts[:k]]) for k in range(len(parts))]
        if len(parts) >= 2 and any(contains_words(folded, o) for o in orders):
            found.setdefault(canary_copy[canary_id], value)
        else:  # the first name plus any one surname is enough ("hola Maria Lopez")
            parts = name.split()
            if len(parts) >= 3 and any(
                contains_words(folded, f"{parts[0]} {p}") for p in parts[1:]
            ):
                found.setdefault(canary_copy[canary_id], value)
    return found


def _related_support(
    session: Session, hit: Hit, copies: set[str]
) -> tuple[dict[str, tuple[float, int]], dict[str, tuple[float, int]]]:
    """Per candidate copy: (summed score, hit count) from the sender's other hits and
    from other hits within `WINDOW`, counting only evidence hits."""
    observed: datetime = hit.observed_at
    conds: list[ColumnElement[bool]] = [
        Hit.observed_at.between(observed - WINDOW, observed + WINDOW)
    ]
    if hit.sender:
        conds.append(Hit.sender == hit.sender)
    q = (
        select(Hit.id, Hit.sender, HitCopy.copy_id, HitCopy.score)
        .join(HitCopy, HitCopy.hit_id == Hit.id)
        .where(or_(*conds), Hit.classification == "evidence", HitCopy.copy_id.in_(list(copies)))
        .order_by(Hit.observed_at.desc())
        .limit(MAX_RELATED)
    )
    if hit.id is not None:
        q = q.where(Hit.id != hit.id)
    sender: dict[str, tuple[float, int]] = {}
    window: dict[str, tuple[float, int]] = {}
    for _hit_id, hit_sender, copy_id, score in session.execute(q):
        target = sender if hit.sender and hit_sender == hit.sender else window
        s, k = target.get(copy_id, (0.0, 0))
        target[copy_id] = (s + float(score), k + 1)
    return sender, window
