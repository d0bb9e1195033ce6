"""The evidence bundle: a self-contained case file for one copy, and its offline check.

`build_bundle` writes a zip with the case report (report.html, readable offline with
inline CSS and no scripts; report.pdf), the issuance record, every hit with its raw
message or payload exactly as received, the hash-chain links covering them and a
manifest with the SHA-256 of every file. `verify_bundle` rechecks all of it from the
zip alone, so the bundle can be handed to someone who has no access to the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.evidence.pdf import render_pdf
from canary.files import open_private, private_dir
from canary.investigate import history
from canary.investigate.queries import canary_dict
from canary.store import chain
from canary.store.engine import Store
from canary.store.models import Blob, ChainLink, Copy, Hit

log = logging.getLogger(__name__)

LANGS = ("es", "en")
MANIFEST = "manifest.json"
MAX_BUNDLE_MEMBER = 512 * 1024 * 1024

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


@dataclass
class Bundle:
    path: Path
    files: dict[str, str]  # name -> sha256
    manifest_sha256: str
    hits: int


@dataclass
class BundleCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    files: int = 0


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


def chain_links(session: Session, copy: Copy, hits: list[Hit]) -> list[dict[str, Any]]:
    """The links covering the copy and its hits, each with the record it hashes."""
    records: dict[tuple[str, str], dict[str, Any]] = {("copy", copy.id): chain.copy_record(copy)}
    records.update({("hit", str(h.id)): chain.hit_record(h) for h in hits})
    refs = list(records)
    links: list[ChainLink] = []
    for i in range(0, len(refs), 500):
        part = refs[i : i + 500]
        for kind in ("copy", "hit"):
            ids = [r for k, r in part if k == kind]
            if ids:
                links += session.scalars(
                    select(ChainLink).where(ChainLink.kind == kind, ChainLink.ref_id.in_(ids))
                ).all()
    links.sort(key=lambda x: x.seq)
    return [
        {
            "seq": link.seq,
            "kind": link.kind,
            "ref_id": link.ref_id,
            "prev_hash": link.prev_hash,
            "record_sha256": link.record_sha256,
            "hash": link.hash,
            "record": records[(link.kind, link.ref_id)],
        }
        for link in links
    ]


def build_bundle(store: Store, copy_id: str, out: Path, lang: str = "es") -> Bundle:
    """Write the evidence bundle for `copy_id` to `out` (a .zip)."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:10]!r}")
    t = TEXT[lang]
    files: dict[str, bytes] = {}
    with store.session() as s:
        copy = history.get_copy(s, copy_id)
        issuance = issuance_record(s, copy)
        files["issuance.json"] = _json(issuance)
        hits = history.hits_of_copy(s, copy.id)
        hit_views = []
        for n, hit in enumerate(hits, 1):
            detail = history.hit_detail(hit)
            raw_name = None
            if hit.evidence_sha256:
                blob = s.get(Blob, hit.evidence_sha256)
                if blob is not None:
                    raw_name = f"hits/{n:03d}{evidence_suffix(blob.content_type, hit.channel)}"
                    files[raw_name] = bytes(blob.data)
                    detail["evidence_file"] = raw_name
                    detail["evidence_content_type"] = blob.content_type
            files[f"hits/{n:03d}.json"] = _json(detail)
            hit_views.append({"number": n, "hit": detail, "raw": raw_name})
        head = s.scalars(select(ChainLink).order_by(ChainLink.seq.desc()).limit(1)).first()
        files["chain.json"] = _json(
            {
                "store_head": {"seq": head.seq, "hash": head.hash} if head else None,
                "algorithm": "link = sha256(prev_hash + ':' + record_sha256); record_sha256 = "
                "sha256(JSON of record, sorted keys, separators ',' ':', UTF-8)",
                "links": chain_links(s, copy, hits),
            }
        )
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
        files["report.html"] = _template.render(**ctx).encode("utf-8")
        files["report.pdf"] = render_pdf(ctx)
    digests = {name: sha256(data) for name, data in sorted(files.items())}
    manifest = {"copy": copy_id, "generated_at": generated, "files": digests}
    mbytes = _json(manifest)
    private_dir(out.parent)
    tmp = out.with_name(out.name + ".part")
    with (
        open_private(tmp, "wb") as raw,
        zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
        zf.writestr(MANIFEST, mbytes)
    tmp.replace(out)
    log.info("wrote bundle %s (%d hits)", out, len(hits))
    return Bundle(out, digests, sha256(mbytes), len(hits))


def _check_chain(doc: Any, problems: list[str]) -> None:
    links = doc.get("links") if isinstance(doc, dict) else None
    if not isinstance(links, list):
        problems.append("chain.json: no links")
        return
    for link in links:
        try:
            seq = link["seq"]
            if chain.record_sha256(link["record"]) != link["record_sha256"]:
                problems.append(f"chain.json: link #{seq} record does not hash to record_sha256")
            elif chain.link_hash(link["prev_hash"], link["record_sha256"]) != link["hash"]:
                problems.append(f"chain.json: link #{seq} hash does not follow from its contents")
        except (KeyError, TypeError):
            problems.append("chain.json: malformed link")


def _check_hit_evidence(
    zf: zipfile.ZipFile, name: str, data: bytes, listed: dict[str, str], problems: list[str]
) -> None:
    """The raw evidence file of a hit must hash to the SHA-256 the store recorded."""
    try:
        doc = json.loads(data)
        raw_name, want = doc.get("evidence_file"), doc.get("evidence_sha256")
    except (ValueError, AttributeError):
        problems.append(f"{name}: not valid JSON")
        return
    if raw_name and want and listed.get(raw_name) != want:
        problems.append(f"{raw_name}: does not match the evidence SHA-256 recorded in {name}")


def _chain_records(doc: Any) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for link in doc.get("links", []) if isinstance(doc, dict) else []:
        if isinstance(link, dict) and isinstance(link.get("record"), dict):
            out[(str(link.get("kind")), str(link.get("ref_id")))] = link["record"]
    return out


def _same(a: Any, b: Any) -> bool:
    return chain.canonical({"v": a}) == chain.canonical({"v": b})


def _cross_check(docs: dict[str, Any], problems: list[str]) -> None:
    """Each hit file and the issuance record must say what their chain records say.

    So changing a hit or the issuance, even with the manifest recomputed, also needs
    chain.json changed, which breaks its link hashes (and the store's chain).
    """
    records = _chain_records(docs.get("chain.json"))
    for name, doc in docs.items():
        if name.startswith("hits/") and isinstance(doc, dict):
            rec = records.get(("hit", str(doc.get("id"))))
            if rec is None:
                problems.append(f"{name}: no chain link covers this hit")
                continue
            diff = [k for k in rec if not _same(doc.get(k), rec[k])]
            if diff:
                problems.append(f"{name}: differs from its chain record ({', '.join(diff)})")
    iss = docs.get("issuance.json")
    if isinstance(iss, dict) and isinstance(iss.get("copy"), dict):
        cp = iss["copy"]
        rec = records.get(("copy", str(cp.get("id"))))
        if rec is None:
            problems.append("issuance.json: no chain link covers this copy")
            return
        idents = sorted(
            [i.get("kind"), i.get("value")]
            for c in iss.get("canaries", [])
            for i in c.get("identifiers", [])
        )
        mine = {**{k: cp.get(k) for k in rec}, "identifiers": idents}
        mine["dataset_id"] = (iss.get("dataset") or {}).get("id")
        diff = [k for k in rec if not _same(mine.get(k), rec[k])]
        if diff:
            problems.append(f"issuance.json: differs from its chain record ({', '.join(diff)})")


def _check_against_store(store: Store, doc: Any, problems: list[str]) -> None:
    """Every link in chain.json must be the store's link of the same number."""
    with store.session() as s:
        for link in doc.get("links", []) if isinstance(doc, dict) else []:
            seq = link.get("seq") if isinstance(link, dict) else None
            row = s.get(ChainLink, seq) if isinstance(seq, int) and 0 < seq < 2**62 else None
            if row is None or row.hash != link.get("hash"):
                problems.append(f"chain.json: link #{seq} is not the store's link #{seq}")


def verify_bundle(path: Path, store: Store | None = None) -> BundleCheck:
    """Check a bundle: every file against the manifest, the chain links, and the hit and
    issuance files against their chain records; with `store`, the links against the
    store's own chain too. Offline without a store."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable evidence bundle ({exc})") from exc
    docs: dict[str, Any] = {}
    with zf:
        names = [i.filename for i in zf.infolist()]
        if MANIFEST not in names:
            return BundleCheck(False, [f"{MANIFEST} is missing"], len(names))
        try:
            manifest = json.loads(zf.read(MANIFEST))
            listed: dict[str, str] = dict(manifest["files"])
        except (ValueError, KeyError, TypeError):
            return BundleCheck(False, [f"{MANIFEST} is not a valid manifest"], len(names))
        for info in zf.infolist():
            name = info.filename
            if name == MANIFEST:
                continue
            if name not in listed:
                problems.append(f"{name}: not in the manifest (added)")
                continue
            if info.file_size > MAX_BUNDLE_MEMBER:
                problems.append(f"{name}: too large to check")
                continue
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:  # bytes changed
                problems.append(f"{name}: changed (unreadable: {exc})")
                continue
            if sha256(data) != listed[name]:
                problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
                continue
            if name.endswith(".json"):
                try:
                    docs[name] = json.loads(data)
                except ValueError:
                    problems.append(f"{name}: not valid JSON")
                    continue
            if name.startswith("hits/") and name.endswith(".json"):
                _check_hit_evidence(zf, name, data, listed, problems)
            elif name == "chain.json":
                _check_chain(docs[name], problems)
        for name in listed:
            if name not in names:
                problems.append(f"{name}: missing")
    if not problems:
        _cross_check(docs, problems)
        if store is not None:
            _check_against_store(store, docs.get("chain.json"), problems)
    return BundleCheck(not problems, problems, len(names))
