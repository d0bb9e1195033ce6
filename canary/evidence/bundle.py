"""The signed evidence bundle of one copy, and its check.

A bundle is a zip holding:

- `issuance.json`: who was given the copy, when, for what, and its canaries;
- `report.html`, `report.pdf`: the case report;
- `chain.json`: the chain proof, the contiguous segment of the store's hash chain from
  the copy's issuance link to the chain's head at export. This copy's links carry the
  record they hash (the issuance, and each hit that names the copy); every other link
  is there as hashes only (seq, prev_hash, record_sha256, hash), so the segment can be
  rechecked link by link without showing anything of the other copies;
- `hits/NNN.json` and the raw evidence `hits/NNN.eml` or `hits/NNN.raw` exactly as
  received, for every hit the chain proof assigns to the copy, numbered in chain order;
- `manifest.json`: the copy id, the signing key's fingerprint, the count of this copy's
  hits, the segment's bounds and the SHA-256 of every other member;
- `manifest.sig`: the base64 Ed25519 signature of manifest.json's exact bytes.

`write_bundle` streams members to disk one at a time; canary.evidence.verify checks
bundles.

chain.json is one JSON array with one link per line, so it can be checked as a stream.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canary.errors import InputError, StoreError
from canary.evidence import report
from canary.evidence.case import LANGS
from canary.evidence.signing import Signer
from canary.files import open_private_fd, private_dir
from canary.hits.attribution import coded_canary_ids
from canary.investigate import history
from canary.store import chain
from canary.store.engine import Store
from canary.store.models import Blob, ChainLink, Copy, Hit

log = logging.getLogger(__name__)

FORMAT = "canary-trace evidence bundle"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CHAIN = "chain.json"
ISSUANCE = "issuance.json"
REPORT_FILES = ("report.html", "report.pdf")
REQUIRED = (CHAIN, ISSUANCE, *REPORT_FILES)
CHAIN_ALGORITHM = (
    "hash = sha256(prev_hash + ':' + record_sha256); record_sha256 = "
    "sha256(JSON of record, sorted keys, separators ',' ':', UTF-8)"
)

BATCH = 1000


@dataclass
class Bundle:
    path: Path
    copy: str
    files: dict[str, str]  # name -> sha256
    manifest_sha256: str
    fingerprint: str
    hits: int
    first_seq: int
    last_seq: int


def _canonical_line(doc: dict[str, Any]) -> bytes:
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def hit_name(number: int) -> str:
    return f"hits/{number:03d}"


# --------------------------------------------------------------------------- writing


class _Members:
    """Writes zip members one at a time, keeping each member's SHA-256."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.digests: dict[str, str] = {}
        self.when = datetime.now().timetuple()[:6]

    def info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o100600 << 16  # unzipped, the files are the owner's alone
        return info

    def write(self, name: str, data: bytes) -> None:
        with self.stream(name) as put:
            put(data)

    @contextlib.contextmanager
    def stream(self, name: str) -> Iterator[Callable[[bytes], None]]:
        digest = hashlib.sha256()
        with self.zf.open(self.info(name), "w", force_zip64=True) as out:

            def put(data: bytes) -> None:
                digest.update(data)
                out.write(data)

            yield put
        self.digests[name] = digest.hexdigest()


def _segment(s: Session, copy: Copy) -> tuple[ChainLink, int]:
    """The copy's issuance link and the chain's head seq now (the end of the segment)."""
    first = s.scalars(
        select(ChainLink)
        .where(ChainLink.kind == "copy", ChainLink.ref_id == copy.id)
        .order_by(ChainLink.seq)
        .limit(1)
    ).first()
    if first is None:
        raise StoreError(f"copy {copy.id} has no issuance link in the hash chain")
    head = s.scalar(select(ChainLink.seq).order_by(ChainLink.seq.desc()).limit(1))
    return first, int(head or first.seq)


def _hits_in_chain(s: Session, copy: Copy, first: int, last: int) -> list[tuple[int, Hit]]:
    """The copy's hits with their link's seq inside the segment, in chain order."""
    hits = {str(h.id): h for h in history.hits_of_copy(s, copy.id)}
    refs = list(hits)
    found: list[tuple[int, Hit]] = []
    for i in range(0, len(refs), 500):
        part = refs[i : i + 500]
        for link in s.scalars(
            select(ChainLink).where(
                ChainLink.kind == "hit",
                ChainLink.ref_id.in_(part),
                ChainLink.seq >= first,
                ChainLink.seq <= last,
            )
        ):
            hit = hits[link.ref_id]
            if chain.record_sha256(chain.hit_record(hit)) != link.record_sha256:
                raise StoreError(
                    f"the store's chain is broken at link #{link.seq} (hit {hit.id} changed "
                    "after it was recorded): a bundle would not verify; see `canary verify`"
                )
            found.append((link.seq, hit))
    left_out = len(hits) - len(found)
    if left_out:
        log.warning("%d hit(s) of copy %s have no link in the exported segment", left_out, copy.id)
    found.sort(key=lambda x: x[0])
    return found


def _write_chain(
    s: Session,
    put: Callable[[bytes], None],
    first: int,
    last: int,
    records: dict[int, dict[str, Any]],
) -> str:
    """Stream the segment [first, last] as chain.json; the last link's hash."""
    put(b"[\n")
    seq, last_hash = first, ""
    while seq <= last:
        batch = list(
            s.scalars(
                select(ChainLink)
                .where(ChainLink.seq >= seq, ChainLink.seq <= last)
                .order_by(ChainLink.seq)
                .limit(BATCH)
            )
        )
        if not batch:
            break
        for link in batch:
            if link.seq != seq:
                raise StoreError(f"the store's chain is missing link #{seq}: see `canary verify`")
            doc: dict[str, Any] = {
                "seq": link.seq,
                "prev_hash": link.prev_hash,
                "record_sha256": link.record_sha256,
                "hash": link.hash,
            }
            rec = records.get(link.seq)
            if rec is not None:
                doc.update({"kind": link.kind, "ref_id": link.ref_id, "record": rec})
            put(_canonical_line(doc) + (b",\n" if link.seq < last else b"\n"))
            last_hash = link.hash
            seq += 1
        s.expunge_all()
    put(b"]\n")
    return last_hash


@contextlib.contextmanager
def _private_zip(out: Path) -> Iterator[zipfile.ZipFile]:
    """A zip written to a 0600 temporary file beside `out`, moved into place when complete."""
    if out.is_dir():
        raise InputError(f"{out} is a folder: give the bundle's file name (.zip)")
    private_dir(out.parent)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.part")
    fd = open_private_fd(tmp, os.O_WRONLY | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0))
    try:
        with os.fdopen(fd, "wb") as f:
            fd = -1
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                yield zf
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_bundle(
    store: Store, copy_id: str, out: Path, signer: Signer, lang: str = "es", tz: tzinfo = UTC
) -> Bundle:
    """Write the signed evidence bundle of `copy_id` to `out` (a .zip, 0600); the report
    writes times in the organisation's zone `tz` (the JSON members keep UTC ISO 8601)."""
    if lang not in LANGS:
        raise InputError(f"--lang must be one of {', '.join(LANGS)}, not {lang[:10]!r}")
    with store.session() as s, _private_zip(out) as zf:
        copy = history.get_copy(s, copy_id)
        exported_at = datetime.now(UTC).replace(microsecond=0)  # before the head is read
        issuance_link, head = _segment(s, copy)
        first = issuance_link.seq
        copy_rec = chain.copy_record(copy)
        if chain.record_sha256(copy_rec) != issuance_link.record_sha256:
            raise StoreError(
                f"the store's chain is broken at link #{first} (copy {copy.id} changed after "
                "it was issued): a bundle would not verify; see `canary verify`"
            )
        members = _Members(zf)
        issuance = report.issuance_record(s, copy)
        members.write(ISSUANCE, report._json(issuance))
        hits = _hits_in_chain(s, copy, first, head)
        records: dict[int, dict[str, Any]] = {first: copy_rec}
        coded = coded_canary_ids(s, [hit for _seq, hit in hits])
        raw_names: dict[int, str] = {}
        for n, (seq, hit) in enumerate(hits, 1):
            records[seq] = chain.hit_record(hit)
            raw_name = content_type = None
            if hit.evidence_sha256:
                blob = s.get(Blob, hit.evidence_sha256)
                if blob is None:
                    raise StoreError(f"the raw evidence of hit {hit.id} is missing from the store")
                raw_name = hit_name(n) + report.evidence_suffix(blob.content_type, hit.channel)
                content_type = blob.content_type
                members.write(raw_name, bytes(blob.data))
                raw_names[hit.id] = raw_name
                s.expunge(blob)  # one raw message in memory at a time
            view = report.hit_view(hit, n, raw_name, content_type, coded)
            members.write(f"{hit_name(n)}.json", report._json(view["hit"]))
        rendered = report.render_report(s, copy, [hit for _seq, hit in hits], raw_names, lang, tz)
        members.write("report.html", rendered.html)
        members.write("report.pdf", rendered.pdf)
        del rendered
        with members.stream(CHAIN) as put:
            last_hash = _write_chain(s, put, first, head, records)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "copy": copy.id,
            "fingerprint": signer.public.fingerprint,
            "generated_at": exported_at.isoformat(),
            "hits": len(hits),
            "chain": {
                "first_seq": first,
                "last_seq": head,
                "last_hash": last_hash,
                "algorithm": CHAIN_ALGORITHM,
            },
            "files": dict(sorted(members.digests.items())),
        }
        mbytes = report._json(manifest)
        zf.writestr(members.info(MANIFEST), mbytes)
        zf.writestr(members.info(SIGNATURE), base64.b64encode(signer.sign(mbytes)) + b"\n")
        copy_key = copy.id
    log.info("wrote bundle %s (%d hits, links #%d-#%d)", out, len(hits), first, head)
    return Bundle(
        out,
        copy_key,
        dict(members.digests),
        hashlib.sha256(mbytes).hexdigest(),
        signer.public.fingerprint,
        len(hits),
        first,
        head,
    )
