"""Mail parsing, shared by the SMTP listener and mailbox readers: bounded and defensive."""

from __future__ import annotations

from canary.mail.parse import ParsedMail, parse_message, safe_text

__all__ = ["ParsedMail", "parse_message", "safe_text"]
