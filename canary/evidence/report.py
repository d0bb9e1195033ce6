"""The case report of one copy, as files: report.html (readable offline, inline CSS, no
scripts) and report.pdf, the issuance record and each hit's JSON.

What the report says lives in canary.evidence.case; canary.evidence.bundle puts these
files in the signed evidence bundle with the raw evidence and the chain proof.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.evidence.case import LANGS, build_case, local_time, render_html
from canary.evidence.pdf import render_pdf
from canary.investigate import history
from canary.investigate.queries import canary_dict
from canary.store import chain
from canary.store.models import Copy, Hit

log = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(doc: Any) -> bytes:
    return (
        json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    ).encode()


def evidence_suffix(content_type: str, channel: str) -> str:
    return ".eml" if content_type == "message/rfc822" or channel == "smtp" else ".raw"


def issuance_record(session: Session, copy: Copy) -> dict[str, Any]:
    """Who issued the copy to whom, when, for what, its SHA-256 and its canaries."""
    ds = copy.dataset
    return {
        "copy": {
            "id": copy.id,
            "recipient": copy.recipient,
            "purpose": copy.purpose,
            "issued_by": copy.issued_by,
            "issued_at": copy.issued_at.isoformat(),
            "path": copy.path,
            "sha256": copy.sha256,
            "format": copy.format,
        },
        "dataset": {
            "id": ds.id,
            "name": ds.name,
            "columns": ds.columns,
            "row_count": ds.row_count,
            "sha256": ds.sha256,
        }
        if ds
        else {"id": copy.dataset_id},
        "canaries": [canary_dict(c) for c in copy.canaries],
    }


def hit_view(
    hit: Hit,
    number: int,
    raw_name: str | None,
    content_type: str | None,
    coded: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """One hit as hits/NNN.json holds it (with its attribution)."""
    detail = history.hit_detail(hit, coded)
    if raw_name is not None:
        detail["evidence_file"] = raw_name
        detail["evidence_content_type"] = content_type
    return {"number": number, "hit": detail, "raw": raw_name}


@dataclass
class RenderedReport:
    html: bytes
    pdf: bytes
    generated: str


def render_report(
    s: Session,
    copy: Copy,
    hits: list[Hit],
    raw_names: dict[int, str],
    lang: str = "es",
    tz: tzinfo = UTC,
) -> RenderedReport:
    """The case report (report.html and report.pdf) of a copy and the hits naming it;
    `raw_names`: hit id -> the bundle member holding its raw evidence; times written in
    the organisation's zone `tz`."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:10]!r}")
    broken = chain.verify_chain(s)
    now = datetime.now(UTC).replace(microsecond=0)
    generated = now.isoformat()
    view = build_case(
        s,
        copy,
        hits,
        raw_names=raw_names,
        lang=lang,
        chain_broken=broken.describe() if broken else None,
        generated=local_time(now, tz),
        tz=tz,
    )
    return RenderedReport(render_html(view).encode("utf-8"), render_pdf(view), generated)
