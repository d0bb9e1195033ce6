"""The case report of one copy: report.html (readable offline, inline CSS, no scripts)
and report.pdf, over the copy's issuance record and its hits.

canary.evidence.bundle puts them in the signed evidence bundle with the raw evidence
and the chain proof, and checks bundles.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.evidence.pdf import render_pdf
from canary.investigate import history
from canary.investigate.queries import canary_dict
from canary.store import chain
from canary.store.models import Copy, Hit

log = logging.getLogger(__name__)

LANGS = ("es", "en")

TEXT: dict[str, dict[str, str]] = {
    "es": {
        "title": "Informe de caso: copia {copy}",
        "intro": "Este informe documenta los contactos recibidos por los registros señuelo "
        "(canarios) plantados únicamente en la copia {copy}. Cada contacto apunta a esa copia.",
        "issuance": "Emisión de la copia",
        "copy": "Copia",
        "recipient": "Destinatario",
        "purpose": "Finalidad",
        "issued_by": "Emitida por",
        "issued_at": "Fecha de emisión",
        "dataset": "Conjunto de datos",
        "sha256": "SHA-256 de la copia",
        "canaries": "Canarios plantados",
        "hits": "Contactos recibidos",
        "no_hits": "Ningún contacto registrado.",
        "when": "Fecha",
        "channel": "Canal",
        "identifier": "Identificador",
        "sender": "Remitente",
        "summary": "Resumen",
        "evidence": "Evidencia",
        "candidates": "Copias candidatas",
        "chain": "Cadena de integridad",
        "chain_text": "Cada emisión y cada contacto quedó enlazado en una cadena de hashes "
        "SHA-256 en el momento de registrarse. chain.json contiene los eslabones de esta "
        "copia; manifest.json el SHA-256 de cada archivo. Compruébelo con "
        "`canary verify <archivo.zip>`.",
        "chain_status": "Estado de la cadena del almacén al exportar",
        "chain_ok": "íntegra",
        "chain_broken": "ROTA: {what}",
        "generated": "Generado el {when}",
    },
    "en": {
        "title": "Case report: copy {copy}",
        "intro": "This report documents the contacts received by the decoy records "
        "(canaries) planted only in copy {copy}. Every contact points at that copy.",
        "issuance": "Issuance of the copy",
        "copy": "Copy",
        "recipient": "Recipient",
        "purpose": "Purpose",
        "issued_by": "Issued by",
        "issued_at": "Issued at",
        "dataset": "Dataset",
        "sha256": "SHA-256 of the copy",
        "canaries": "Planted canaries",
        "hits": "Contacts received",
        "no_hits": "No contact recorded.",
        "when": "When",
        "channel": "Channel",
        "identifier": "Identifier",
        "sender": "Sender",
        "summary": "Summary",
        "evidence": "Evidence",
        "candidates": "Candidate copies",
        "chain": "Integrity chain",
        "chain_text": "Every issuance and every contact was linked into a SHA-256 hash chain "
        "when it was recorded. chain.json holds this copy's links; manifest.json the SHA-256 "
        "of every file. Check it with `canary verify <file.zip>`.",
        "chain_status": "State of the store's chain at export",
        "chain_ok": "intact",
        "chain_broken": "BROKEN: {what}",
        "generated": "Generated on {when}",
    },
}


# Every value in the report may come from an adversary: autoescape, no scripts.
_env = Environment(autoescape=True)
_template = _env.from_string(
    (Path(__file__).parent / "templates" / "report.html").read_text(encoding="utf-8")
)


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
    hit: Hit, number: int, raw_name: str | None, content_type: str | None
) -> dict[str, Any]:
    """One hit as the report shows it and hits/NNN.json holds it."""
    detail = history.hit_detail(hit)
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
    s: Session, issuance: dict[str, Any], hit_views: list[dict[str, Any]], lang: str = "es"
) -> RenderedReport:
    """The case report (report.html and report.pdf) of a copy's issuance and hits."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:10]!r}")
    t = TEXT[lang]
    broken = chain.verify_chain(s)
    generated = datetime.now(UTC).replace(microsecond=0).isoformat()
    ctx = {
        "lang": lang,
        "t": t,
        "issuance": issuance,
        "hits": hit_views,
        "chain_broken": broken.describe() if broken else None,
        "generated": generated,
    }
    html = _template.render(**ctx).encode("utf-8")
    pdf = render_pdf(ctx)
    return RenderedReport(html, pdf, generated)
