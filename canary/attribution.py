"""Attribution: which copies a hit can have come from, best first, and why.

A hit names an identifier; identifiers name canaries; canaries name copies. A copy
issued after the hit cannot be its source. A control canary (never planted) makes
the hit background noise; so does a phone number still in its burn-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Canary, Copy, Hit, HitCopy, Identifier


@dataclass
class Attribution:
    classification: str  # evidence | unattributed | control | burn-in
    candidates: list[HitCopy] = field(default_factory=list)


def attribute(session: Session, hit: Hit, *, text: str = "") -> Attribution:
    """Candidate copies for `hit` (not yet flushed), ranked; `text` may narrow phones."""
    rows = session.execute(
        select(Canary, Copy)
        .join(Identifier, Identifier.canary_id == Canary.id)
        .outerjoin(Copy, Copy.id == Canary.copy_id)
        .where(Identifier.kind == hit.identifier_kind, Identifier.value == hit.identifier)
    ).all()
    if not rows:
        return Attribution("unattributed")
    planted = [(c, cp) for c, cp in rows if cp is not None and c.kind == "planted"]
    if not planted:
        return Attribution("control")
    eligible = [(c, cp) for c, cp in planted if cp.issued_at <= hit.observed_at]
    if not eligible:
        return Attribution("unattributed")
    eligible.sort(key=lambda r: (r[1].issued_at, r[1].id))
    share = 1.0 / len(eligible)
    cands = [
        HitCopy(
            copy_id=cp.id,
            rank=i,
            score=share,
            canary_id=c.id,
            reason=f"{hit.identifier_kind} {hit.identifier} is canary #{c.id} of copy {cp.id} "
            f"issued to {cp.recipient} on {cp.issued_at:%Y-%m-%d}",
        )
        for i, (c, cp) in enumerate(eligible)
    ]
    return Attribution("evidence", cands)
