"""Append-only hash chain over issuance records and hits (tamper evidence).

Each link hashes the previous link's hash with the SHA-256 of a canonical JSON
record, so editing a copy or hit row behind the tool's back breaks the chain there.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import ChainLink

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record is hashed as: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def link_hash(prev_hash: str, record_sha256: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{record_sha256}".encode()).hexdigest()


def append(session: Session, kind: str, ref_id: str, record: dict[str, Any]) -> ChainLink:
    """Add a link for `record` inside the caller's transaction (serialised across processes)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(724312)"))
    last = session.scalars(select(ChainLink).order_by(ChainLink.seq.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    seq = (last.seq + 1) if last else 1
    rsha = hashlib.sha256(canonical(record)).hexdigest()
    link = ChainLink(
        seq=seq, kind=kind, ref_id=str(ref_id), record_sha256=rsha, prev_hash=prev,
        hash=link_hash(prev, rsha),
    )
    session.add(link)
    session.flush()
    return link
