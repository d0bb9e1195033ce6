"""Evidence for a case: the report on a copy (HTML and PDF), the signed bundle that
carries it with the raw evidence and the chain proof, and its offline verification."""

from __future__ import annotations

from canary.evidence.bundle import Bundle, write_bundle
from canary.evidence.signing import Signer, ensure_key, fingerprint, load_signer
from canary.evidence.verify import BundleCheck, verify_bundle

__all__ = [
    "Bundle",
    "BundleCheck",
    "Signer",
    "ensure_key",
    "fingerprint",
    "load_signer",
    "verify_bundle",
    "write_bundle",
]
