"""Our own liveness sentinels: addresses we mail ourselves, recognised so their hits alert no one.

The scheduler's liveness job (canary.ops.liveness) mints them and keeps the recent ones in
`settings` under `liveness:<domain>`; recording a hit asks `is_sentinel` here.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from canary.store.models import Setting

PREFIX = "canary-liveness-"


def sentinel_key(domain: str) -> str:
    """The settings key that holds the sentinel state of `domain`."""
    return f"liveness:{domain}"


def is_sentinel(session: Session, identifier: str) -> bool:
    """True when `identifier` is one of our own recent liveness addresses."""
    if not identifier.startswith(PREFIX) or "@" not in identifier:
        return False
    row = session.get(Setting, sentinel_key(identifier.rpartition("@")[2]))
    if row is None:
        return False
    try:
        state = json.loads(row.value)
    except ValueError:
        return False
    return identifier in state.get("addresses", [])
