"""Checking an evidence bundle (see canary.evidence.bundle for what it holds).

`verify_bundle` rechecks a bundle from the zip alone, and against a store when asked,
and names the first problem. The zip is treated as hostile: bounded member counts and
sizes, unsafe or repeated names refused, nothing extracted, a corrupt or truncated
archive reported as such, and whatever the bundle says printed escaped on one line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from canary.evidence.bundle import (
    CHAIN,
    FORMAT,
    ISSUANCE,
    MANIFEST,
    REPORT_FILES,
    REQUIRED,
    SIGNATURE,
    VERSION,
    hit_name,
)
from canary.evidence.signing import PublicKey
from canary.store import chain
from canary.store.engine import Store
from canary.store.models import ChainLink, HitCopy

log = logging.getLogger(__name__)

# Bounds on what a bundle may hold before we look at it.
MAX_MEMBERS = 200_000
MAX_MEMBER_BYTES = 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024
MAX_JSON_BYTES = 64 * 1024 * 1024  # manifest, issuance, one hit document
MAX_LINE_BYTES = 64 * 1024 * 1024  # one link of chain.json (a copy's record lists its canaries)
MAX_SIG_BYTES = 1024
MAX_NAME = 255
BATCH = 1000
#: --against-store: a link of the copy the store held this long before a bundle's export
#: time, and that the bundle lacks, was cut from the bundle's end (not merely added later
#: than the export); the margin covers transactions still committing at export time.
EXPORT_MARGIN = timedelta(minutes=5)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HASH_ONLY_KEYS = {"seq", "prev_hash", "record_sha256", "hash"}
_RECORD_KEYS = _HASH_ONLY_KEYS | {"kind", "ref_id", "record"}


@dataclass
class BundleCheck:
    """What `verify_bundle` found: ok, or the first problem (one line)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    files: int = 0
    copy: str | None = None
    fingerprint: str | None = None
    hits: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


class _Problem(Exception):
    """The first thing wrong with a bundle, as one line."""


# What reading a damaged or hostile zip can raise.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
)


def _safe_name(name: str) -> bool:
    if not name or len(name) > MAX_NAME or name.startswith("/") or "\\" in name:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return False
    if re.match(r"[A-Za-z]:", name):
        return False
    return all(part not in ("..", ".") for part in name.split("/"))


def _shown(name: str) -> str:
    """A member name as we print it: bounded and without control characters."""
    return repr(name[:80]) if not _safe_name(name) else name


@dataclass
class _Zip:
    zf: zipfile.ZipFile
    infos: dict[str, zipfile.ZipInfo]
    order: list[str]

    def open(self, name: str) -> IO[bytes]:
        return self.zf.open(self.infos[name])

    def read(self, name: str, limit: int) -> bytes:
        info = self.infos[name]
        if info.file_size > limit:
            raise _Problem(f"{name}: too large ({info.file_size} bytes; at most {limit})")
        try:
            with self.open(name) as f:
                data = f.read(limit + 1)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable, the zip is corrupt ({_err(exc)})") from exc
        if len(data) > limit:
            raise _Problem(f"{name}: too large (more than {limit} bytes)")
        return data

    def sha256(self, name: str) -> str:
        info = self.infos[name]
        if info.file_size > MAX_MEMBER_BYTES:
            raise _Problem(f"{name}: too large ({info.file_size} bytes)")
        digest, size = hashlib.sha256(), 0
        try:
            with self.open(name) as f:
                while chunk := f.read(1024 * 1024):
                    size += len(chunk)
                    if size > MAX_MEMBER_BYTES:
                        raise _Problem(f"{name}: too large (more than {MAX_MEMBER_BYTES} bytes)")
                    digest.update(chunk)
        except _ZIP_ERRORS as exc:
            raise _Problem(f"{name}: unreadable, the zip is corrupt ({_err(exc)})") from exc
        return digest.hexdigest()


def _one_line(text: str, limit: int = 500) -> str:
    """What a bundle says, fit to print on one line: control and format characters escaped."""
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _err(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__


def _open_zip(path: Path) -> _Zip:
    try:
        zf = zipfile.ZipFile(path)
        infos_list = zf.infolist()
    except _ZIP_ERRORS as exc:
        raise _Problem(
            f"{path.name}: not a readable zip archive (truncated or corrupt: {_err(exc)})"
        ) from exc
    if len(infos_list) > MAX_MEMBERS:
        zf.close()
        raise _Problem(
            f"too many members ({len(infos_list)}; a bundle holds at most {MAX_MEMBERS})"
        )
    infos: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos_list:
        name = info.filename
        if not _safe_name(name):
            zf.close()
            raise _Problem(f"member {_shown(name)} has an unsafe name (absolute or '..' path)")
        if name in infos:
            zf.close()
            raise _Problem(f"{name}: twice in the zip (which one counts is ambiguous)")
        if info.flag_bits & 0x1:
            zf.close()
            raise _Problem(f"{name}: encrypted")
        total += info.file_size
        infos[name] = info
    if total > MAX_TOTAL_BYTES:
        zf.close()
        raise _Problem(f"too large: {total} bytes unpacked (at most {MAX_TOTAL_BYTES})")
    return _Zip(zf, infos, [i.filename for i in infos_list])


def _json_member(z: _Zip, name: str) -> Any:
    try:
        return json.loads(z.read(name, MAX_JSON_BYTES))
    except (ValueError, RecursionError) as exc:
        raise _Problem(f"{name}: not valid JSON") from exc


def _check_signature(z: _Zip, key: PublicKey) -> tuple[bytes, dict[str, Any]]:
    """manifest.json's bytes and document, once the signature checks with `key`."""
    for name, what in ((MANIFEST, "this is not an evidence bundle"), (SIGNATURE, "not signed")):
        if name not in z.infos:
            raise _Problem(f"{name} is missing: {what}")
    mbytes = z.read(MANIFEST, MAX_JSON_BYTES)
    sig_text = z.read(SIGNATURE, MAX_SIG_BYTES)
    try:
        sig = base64.b64decode(sig_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        sig = b""
    try:
        claimed = json.loads(mbytes)
    except (ValueError, RecursionError):
        claimed = None
    names = claimed.get("fingerprint") if isinstance(claimed, dict) else None
    if not sig or not key.verify(mbytes, sig):
        if isinstance(names, str) and names != key.fingerprint:
            raise _Problem(
                f"{SIGNATURE}: signed by another key: the manifest names key "
                f"{names[:64]!s}, checked with key {key.fingerprint}"
            )
        raise _Problem(
            f"{SIGNATURE}: the signature does not match manifest.json with key "
            f"{key.fingerprint} (the manifest was changed after signing, or another key signed it)"
        )
    if not isinstance(claimed, dict):
        raise _Problem(f"{MANIFEST}: not a manifest")
    if names != key.fingerprint:
        raise _Problem(
            f"{MANIFEST}: names key {str(names)[:64]}, but key {key.fingerprint} signed it"
        )
    return mbytes, claimed


@dataclass
class _Manifest:
    copy: str
    hits: int
    first_seq: int
    last_seq: int
    last_hash: str
    files: dict[str, str]
    exported_at: datetime


def _manifest(doc: dict[str, Any]) -> _Manifest:
    ch = doc.get("chain")
    files = doc.get("files")
    ok = (
        doc.get("format") == FORMAT
        and doc.get("version") == VERSION
        and isinstance(doc.get("copy"), str)
        and isinstance(doc.get("hits"), int)
        and isinstance(ch, dict)
        and isinstance(ch.get("first_seq"), int)
        and isinstance(ch.get("last_seq"), int)
        and isinstance(ch.get("last_hash"), str)
        and isinstance(files, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    )
    try:
        exported_at = datetime.fromisoformat(str(doc.get("generated_at")))
    except ValueError:
        ok = False
    if not ok or exported_at.tzinfo is None:
        raise _Problem(f"{MANIFEST}: not a version {VERSION} bundle manifest")
    assert isinstance(ch, dict) and isinstance(files, dict)
    return _Manifest(
        doc["copy"],
        doc["hits"],
        ch["first_seq"],
        ch["last_seq"],
        ch["last_hash"],
        dict(files),
        exported_at,
    )


def _check_members(z: _Zip, m: _Manifest) -> None:
    """Every member listed, every listed member there, each with its listed SHA-256."""
    for name in (MANIFEST, SIGNATURE):
        if name in m.files:
            raise _Problem(f"{MANIFEST}: lists {name}, which it cannot hash")
    for name in z.order:
        if name in (MANIFEST, SIGNATURE) or name in m.files:
            continue
        if name in REPORT_FILES:
            raise _Problem(f"{name}: not bound by the signed manifest")
        raise _Problem(f"{name}: added (not in the signed manifest)")
    for name in m.files:
        if name not in z.infos:
            raise _Problem(f"{_shown(name)}: missing (the signed manifest lists it)")
    for name in REQUIRED:
        if name not in m.files:
            raise _Problem(f"{name}: missing (every bundle holds it)")
    for name in z.order:
        if name in m.files and z.sha256(name) != m.files[name]:
            raise _Problem(f"{name}: changed (its SHA-256 is not the one in the signed manifest)")


@dataclass
class _Link:
    seq: int
    prev_hash: str
    record_sha256: str
    hash: str
    kind: str | None = None
    ref_id: str | None = None
    record: dict[str, Any] | None = None


def _parse_link(line: bytes, where: str) -> _Link:
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise _Problem(f"{where}: not a JSON link") from exc
    if not isinstance(doc, dict) or set(doc) not in (_HASH_ONLY_KEYS, _RECORD_KEYS):
        raise _Problem(f"{where}: not a chain link")
    seq = doc["seq"]
    hashes = [doc["prev_hash"], doc["record_sha256"], doc["hash"]]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**62:
        raise _Problem(f"{where}: not a chain link (seq)")
    if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
        raise _Problem(f"{where}: not a chain link (hashes)")
    link = _Link(seq, *hashes)
    if "record" in doc:
        if not (
            isinstance(doc["kind"], str)
            and isinstance(doc["ref_id"], str)
            and isinstance(doc["record"], dict)
        ):
            raise _Problem(f"{where}: not a chain link (record)")
        link.kind, link.ref_id, link.record = doc["kind"], doc["ref_id"], doc["record"]
    return link


def _links(z: _Zip) -> Iterator[_Link]:
    """chain.json's links, read as a stream: '[', one link a line (',' between), ']'."""
    try:
        with z.open(CHAIN) as f:
            if f.readline(16).rstrip(b"\r\n") != b"[":
                raise _Problem(f"{CHAIN}: not a chain proof (it opens with '[')")
            n, more = 0, True
            while True:
                line = f.readline(MAX_LINE_BYTES + 1)
                if len(line) > MAX_LINE_BYTES:
                    raise _Problem(f"{CHAIN}: a line is too long")
                text = line.rstrip(b"\r\n")
                if text == b"]":
                    if more and n:
                        raise _Problem(f"{CHAIN}: a ',' before the closing ']'")
                    if f.read(16).strip():
                        raise _Problem(f"{CHAIN}: something after the closing ']'")
                    return
                if not line:
                    raise _Problem(f"{CHAIN}: ends before its closing ']'")
                if not more:
                    raise _Problem(f"{CHAIN}: a ',' is missing between links")
                more = text.endswith(b",")
                n += 1
                yield _parse_link(text[:-1] if more else text, f"{CHAIN}: line {n + 1}")
    except _ZIP_ERRORS as exc:
        raise _Problem(f"{CHAIN}: unreadable, the zip is corrupt ({_err(exc)})") from exc


@dataclass
class _Proof:
    hits: list[_Link]  # this copy's hit links, in chain order
    issuance: _Link
    count: int


def _check_chain(z: _Zip, m: _Manifest, on_batch: Callable[[list[_Link]], None] | None) -> _Proof:
    """The chain proof: contiguous, from the copy's issuance, this copy's records intact."""
    prev: _Link | None = None
    issuance: _Link | None = None
    mine: list[_Link] = []
    batch: list[_Link] = []
    count = 0
    for link in _links(z):
        count += 1
        where = f"{CHAIN}: link #{link.seq}"
        if chain.link_hash(link.prev_hash, link.record_sha256) != link.hash:
            raise _Problem(f"{where}: its hash does not follow from its contents")
        if prev is None:
            if (
                link.record is None
                or link.kind != "copy"
                or link.ref_id != m.copy
                or link.record.get("id") != m.copy
            ):
                raise _Problem(f"{CHAIN}: does not start at the issuance link of copy {m.copy}")
            issuance = link
        elif link.seq != prev.seq + 1 or link.prev_hash != prev.hash:
            raise _Problem(
                f"{where}: does not follow link #{prev.seq} (a link was removed or changed "
                "between them)"
            )
        if link.record is not None:
            if chain.record_sha256(link.record) != link.record_sha256:
                raise _Problem(f"{where}: its record does not hash to its record_sha256")
            if prev is not None:
                copies = link.record.get("copies")
                if not (
                    link.kind == "hit"
                    and isinstance(copies, list)
                    and m.copy in copies
                    and str(link.record.get("id")) == link.ref_id
                ):
                    raise _Problem(f"{where}: carries a record that is not a hit of copy {m.copy}")
                mine.append(link)
        prev = link
        if on_batch is not None:
            batch.append(link)
            if len(batch) >= BATCH:
                on_batch(batch)
                batch = []
    if prev is None or issuance is None:
        raise _Problem(f"{CHAIN}: holds no link")
    if on_batch is not None and batch:
        on_batch(batch)
    if (issuance.seq, prev.seq, prev.hash) != (m.first_seq, m.last_seq, m.last_hash):
        raise _Problem(
            f"{CHAIN}: links #{issuance.seq}-#{prev.seq} are not the segment the manifest "
            f"signs (#{m.first_seq}-#{m.last_seq})"
        )
    if len(mine) != m.hits:
        raise _Problem(
            f"{CHAIN}: assigns {len(mine)} hit(s) to copy {m.copy}; the manifest counts {m.hits}"
        )
    return _Proof(mine, issuance, count)


def _same(a: Any, b: Any) -> bool:
    return chain.canonical({"v": a}) == chain.canonical({"v": b})


def _check_hits(z: _Zip, m: _Manifest, proof: _Proof) -> None:
    """A hits/NNN.json and its raw evidence for every hit link of the copy, nothing else."""
    expected = set(REQUIRED)
    for n, link in enumerate(proof.hits, 1):
        assert link.record is not None
        base = hit_name(n)
        name = f"{base}.json"
        where = f"link #{link.seq} (hit {link.ref_id})"
        if name not in m.files:
            raise _Problem(f"{name}: missing: {where} of this copy has no record in the bundle")
        expected.add(name)
        doc = _json_member(z, name)
        if not isinstance(doc, dict) or str(doc.get("id")) != link.ref_id:
            raise _Problem(f"{name}: is not the record of {where}")
        diff = [k for k in link.record if not _same(doc.get(k), link.record[k])]
        if diff:
            raise _Problem(f"{name}: differs from the record of {where} ({', '.join(diff)})")
        want = link.record.get("evidence_sha256")
        if want:
            raw = doc.get("evidence_file")
            if raw not in (f"{base}.eml", f"{base}.raw") or raw not in m.files:
                raise _Problem(f"{base}.eml: missing: the raw evidence of {where}")
            if m.files[raw] != want:
                raise _Problem(f"{raw}: is not the raw evidence {where} records")
            expected.add(raw)
    for name in m.files:
        if name not in expected:
            raise _Problem(
                f"{_shown(name)}: not part of this bundle (no link of the copy names it)"
            )


def _check_issuance(z: _Zip, m: _Manifest, proof: _Proof) -> None:
    """issuance.json says what the issuance link's record says."""
    rec = proof.issuance.record or {}
    doc = _json_member(z, ISSUANCE)
    cp = doc.get("copy") if isinstance(doc, dict) else None
    if not isinstance(cp, dict) or cp.get("id") != m.copy:
        raise _Problem(f"{ISSUANCE}: is not the issuance of copy {m.copy}")
    try:
        idents = sorted(
            [i.get("kind"), i.get("value")]
            for c in doc.get("canaries", [])
            for i in c.get("identifiers", [])
        )
        mine = {**{k: cp.get(k) for k in rec}, "identifiers": idents}
        mine["dataset_id"] = (doc.get("dataset") or {}).get("id")
    except (AttributeError, TypeError) as exc:
        raise _Problem(f"{ISSUANCE}: malformed") from exc
    diff = [k for k in rec if not _same(mine.get(k), rec[k])]
    if diff:
        raise _Problem(f"{ISSUANCE}: differs from its chain record ({', '.join(diff)})")


class _StoreCheck:
    """Each link of the segment against the store's link of the same number."""

    def __init__(self, store: Store, copy: str) -> None:
        self.store = store
        self.copy = copy
        self.problem: str | None = None

    def __call__(self, links: list[_Link]) -> None:
        if self.problem is not None:
            return
        lo, hi = links[0].seq, links[-1].seq
        with self.store.session() as s:
            rows = {
                r.seq: r
                for r in s.scalars(
                    select(ChainLink).where(ChainLink.seq >= lo, ChainLink.seq <= hi)
                )
            }
            hit_refs = [
                rows[x.seq].ref_id
                for x in links
                if x.record is None and x.seq in rows and rows[x.seq].kind == "hit"
            ]
            ids = [int(r) for r in hit_refs if r.isdigit() and len(r) < 19]
            mine = set()
            if ids:
                mine = {
                    str(h)
                    for h in s.scalars(
                        select(HitCopy.hit_id).where(
                            HitCopy.copy_id == self.copy, HitCopy.hit_id.in_(ids)
                        )
                    )
                }
        for link in links:
            row = rows.get(link.seq)
            if row is None or row.hash != link.hash:
                self.problem = f"{CHAIN}: link #{link.seq} is not the store's link #{link.seq}"
                return
            if link.record is None and row.kind == "hit" and row.ref_id in mine:
                self.problem = (
                    f"{CHAIN}: link #{link.seq} is hit {row.ref_id} of copy {self.copy} in the "
                    "store, but the bundle holds only its hashes"
                )
                return

    def tail(self, m: _Manifest) -> None:
        """No hit link of the copy, older than the export, after the bundle's last link."""
        if self.problem is not None:
            return
        cutoff = m.exported_at - EXPORT_MARGIN
        with self.store.session() as s:
            ids = [
                str(h)
                for h in s.scalars(select(HitCopy.hit_id).where(HitCopy.copy_id == self.copy))
            ]
            for i in range(0, len(ids), 500):
                row = s.scalars(
                    select(ChainLink)
                    .where(
                        ChainLink.kind == "hit",
                        ChainLink.ref_id.in_(ids[i : i + 500]),
                        ChainLink.seq > m.last_seq,
                        ChainLink.created_at < cutoff,
                    )
                    .order_by(ChainLink.seq)
                    .limit(1)
                ).first()
                if row is not None:
                    self.problem = (
                        f"{CHAIN}: the store's link #{row.seq} (hit {row.ref_id} of copy "
                        f"{self.copy}) is older than the bundle's export but not in it"
                    )
                    return


def verify_bundle(
    path: Path, key: PublicKey, copy: str | None = None, store: Store | None = None
) -> BundleCheck:
    """Check a bundle against `key` (and `copy`, and `store` when given): ok, or the first
    problem. Offline without a store."""
    z: _Zip | None = None
    try:
        z = _open_zip(path)
        _mbytes, doc = _check_signature(z, key)
        m = _manifest(doc)
        if copy is not None and copy.strip().upper() != m.copy.upper():
            raise _Problem(f"this is the bundle of copy {m.copy}, not of copy {copy[:64]}")
        _check_members(z, m)
        against = _StoreCheck(store, m.copy) if store is not None else None
        proof = _check_chain(z, m, against)
        _check_hits(z, m, proof)
        _check_issuance(z, m, proof)
        if against is not None:
            against.tail(m)
        if against is not None and against.problem is not None:
            raise _Problem(against.problem)
    except _Problem as p:
        return BundleCheck(False, [_one_line(str(p))], len(z.infos) if z else 0)
    except RecursionError:
        return BundleCheck(
            False, ["a member is nested too deeply to check"], len(z.infos) if z else 0
        )
    finally:
        if z is not None:
            z.zf.close()
    return BundleCheck(
        True,
        [],
        len(z.infos),
        _one_line(m.copy),
        key.fingerprint,
        m.hits,
        proof.issuance.seq,
        m.last_seq,
    )
