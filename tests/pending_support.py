"""Pending hits written by one of `record`'s writers, for tests that compare them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from canary.hits import record
from canary.hits.record import Observation

#: An observation with what a store could mangle: a tab, accents, a snowman, raw bytes,
#: nested JSON, a time not in UTC.
ODD = Observation(
    channel="email",
    identifier="Ana@Example.org",
    sender="x\ty",
    summary="ñandú ☃",
    evidence=b"\x00\xff raw",
    details={"k": ["ü", 1, None], "n": {"x": 1.5}},
    observed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-6))),
    text="t",
)


def write_pending(
    write: Callable[..., list[int]],
    session: Session,
    observations: list[Observation],
    now: datetime,
) -> list[int]:
    """The observations' pending rows as `receive_in` makes them, written by `write`
    (`record._write_pending` or a store's own); the new hits' ids."""
    blobs: dict[str, tuple[bytes, str]] = {}
    rows: list[dict[str, Any]] = []
    texts = []
    for obs, kind, ident, provider, msg_id in record._prepare(observations):
        values = record._hit_values(obs, kind, ident, provider, msg_id, blobs, now)
        rows.append({**values, "classification": record.PENDING, "incident_id": None})
        texts.append(obs.text)
    return write(session, blobs, rows, texts, now)
