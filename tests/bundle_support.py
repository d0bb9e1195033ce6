"""Signing keys and zip surgery for the bundle tests: what a forger would do to a bundle."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from canary.evidence.signing import Signer

#: The installation's key in tests, and a forger's.
SIGNER = Signer(bytes(range(32)))
OTHER_SIGNER = Signer(bytes(range(1, 33)))


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def resign(files: dict[str, bytes], signer: Signer | None) -> dict[str, bytes]:
    """Recompute manifest.json over the other members (a careful forger), and sign it with
    `signer`, or keep the old signature when None (a forger without any key)."""
    doc = json.loads(files["manifest.json"])
    doc["files"] = {
        n: hashlib.sha256(d).hexdigest()
        for n, d in sorted(files.items())
        if n not in ("manifest.json", "manifest.sig")
    }
    if signer is not None:
        doc["fingerprint"] = signer.public.fingerprint
    out = dict(files)
    out["manifest.json"] = json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"
    if signer is not None:
        out["manifest.sig"] = base64.b64encode(signer.sign(out["manifest.json"])) + b"\n"
    return out


def chain_lines(data: bytes) -> list[dict[str, object]]:
    return list(json.loads(data))


def chain_bytes(links: list[dict[str, object]]) -> bytes:
    """chain.json as the tool writes it: '[', one link a line, ']'."""
    lines = [
        json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for x in links
    ]
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode()


def edit(path: Path, dst: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    return write_zip(dst, change(members(path)))
