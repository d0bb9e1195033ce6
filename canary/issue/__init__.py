"""Issuing copies: plant canaries into each recipient's copy and register what was issued.

`issue_copies` reads the source once through canary.formats, asks canary.synth for rows,
shares scarce phone numbers with `phonepool`, writes every copy and registers the copies,
their canaries and the chain's issuance records in one transaction.
"""

from __future__ import annotations

from canary.issue.plant import IssuedCopy, IssueRequest, issue_copies

__all__ = ["IssueRequest", "IssuedCopy", "issue_copies"]
