"""Evidence for a case: the report on a copy (HTML and PDF) and its bundle."""

from __future__ import annotations

from canary.evidence.report import build_bundle

__all__ = ["build_bundle"]
