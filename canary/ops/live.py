"""Drift check of live copies: read their canary rows back and alert when one is gone or changed.

A deleted or altered canary row in a live table means someone is cleaning the data,
or the system was restored from a backup older than the planting: either is worth a
look. The check connects with the read-only account of `[live] check_url` and
`check_password_env` when set, else with each live copy's registered URL and password
variable; it only reads. Each row's last state is kept (`live_rows.state`), so a
change raises one system alert, not one per run; a database that cannot be reached
raises one too (and again when it can be read once more).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from canary.alerts.outbox import enqueue
from canary.config import Config
from canary.errors import CanaryError
from canary.formats._tables import reason
from canary.issue.live import read_states
from canary.store.engine import Store
from canary.store.models import Copy, LiveCopy, LiveRow

log = logging.getLogger(__name__)


def check_live(
    store: Store, config: Config, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One round over every live copy not unplanted; returns the system alerts it queued."""
    t = now or datetime.now(UTC)
    with store.session() as s:
        ids = list(s.scalars(select(LiveCopy.copy_id).where(LiveCopy.unplanted_at.is_(None))))
    queued: list[dict[str, Any]] = []
    for copy_id in ids:
        payload = _check_one(store, config, copy_id, t)
        if payload is not None:
            queued.append(payload)
    return queued


def live_copies(store: Store) -> list[tuple[LiveCopy, list[LiveRow]]]:
    """Every live copy not unplanted, with its rows (detached)."""
    with store.session() as s:
        copies = list(s.scalars(select(LiveCopy).where(LiveCopy.unplanted_at.is_(None))))
        out = [
            (lc, list(s.scalars(select(LiveRow).where(LiveRow.copy_id == lc.copy_id))))
            for lc in copies
        ]
        s.expunge_all()
    return out


def check_credentials(config: Config, lc: LiveCopy) -> tuple[str, str]:
    """(URL, password variable) the drift check reads a live copy with: `[live]`'s
    read-only account when set, else the copy's registered ones."""
    url = config.live.check_url or lc.url
    env = config.live.check_password_env or ("" if config.live.check_url else lc.password_env)
    return url, env


def _check_one(store: Store, config: Config, copy_id: str, t: datetime) -> dict[str, Any] | None:
    with store.session() as s:
        lc = s.get(LiveCopy, copy_id)
        if lc is None:
            return None
        rows = list(s.scalars(select(LiveRow).where(LiveRow.copy_id == copy_id)))
        s.expunge_all()
    url, env = check_credentials(config, lc)
    try:
        states = {r.canary_id: r.state for r in read_states(url, env, lc.table_name, rows)}
        error = ""
    except (CanaryError, sa.exc.SQLAlchemyError) as exc:
        states = {}
        error = str(exc) if isinstance(exc, CanaryError) else reason(exc)
        log.warning("drift check of live copy %s could not read %s: %s", copy_id, url, error)
    with store.session() as s:
        record = s.get(LiveCopy, copy_id)
        copy = s.get(Copy, copy_id)
        if record is None or copy is None:
            return None
        record.checked_at = t
        facts = {"Copy": copy_id, "Holder": copy.recipient, "Table": record.table_name,
                 "Database": record.url}  # fmt: skip
        if error:
            was = record.check_state
            record.check_state, record.check_error = "unreachable", error
            if was == "unreachable":
                return None
            payload = {
                "kind": "system",
                "title": f"Live canaries of {copy.recipient} cannot be checked",
                "facts": {**facts, "Error": error},
                "fix": "Check the read-only account ([live] check_url, check_password_env) "
                "and that the database is reachable from this host.",
            }
            enqueue(s, "system", payload, now=t)
            return payload
        record.check_error = ""
        changed: dict[str, list[int]] = {"deleted": [], "altered": []}
        for row in s.scalars(select(LiveRow).where(LiveRow.copy_id == copy_id)):
            state = states.get(row.canary_id, row.state)
            if state != row.state and state in changed:
                changed[state].append(row.canary_id)
            row.state = state
        record.check_state = (
            "drift" if any(r in ("deleted", "altered") for r in states.values()) else "ok"
        )
        if not changed["deleted"] and not changed["altered"]:
            return None
        what = " and ".join(k for k in ("deleted", "altered") if changed[k])
        payload = {
            "kind": "system",
            "title": f"Live canaries {what}: {copy.recipient} ({record.table_name})",
            "facts": {
                **facts,
                "Deleted": str(len(changed["deleted"])),
                "Altered": str(len(changed["altered"])),
                "Canaries": ", ".join(str(i) for i in changed["deleted"] + changed["altered"]),
            },
            "fix": "Someone deleted or edited planted rows (cleaning the data), or the system "
            "was restored from a backup older than the planting. Ask the holder; plant again "
            "with 'canary plant' once it is understood.",
        }
        enqueue(s, "system", payload, now=t)
        log.warning("live copy %s: canaries %s", copy_id, what)
        return payload
