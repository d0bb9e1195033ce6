"""Defensive parsing of a raw mail message into evidence.

Whoever mails a canary is the adversary, so the message is data only: nothing in it
is executed, fetched or used as a path. Every value is bounded and stripped of
control characters and undecodable bytes, so the result can be stored as JSON and
shown anywhere (after the usual escaping). A message that breaks the parser still
gives whatever could be read: one `compat32` parse (it never interprets a value
on access) and our own decoding of encoded words, each step guarded.

`parse_message(raw)` returns a `ParsedMail`; `.details()` is the JSON kept with the hit.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

log = logging.getLogger(__name__)

#: Longest header value kept (characters).
MAX_HEADER = 2000
#: Received headers kept (newest first).
MAX_RECEIVED = 30
#: URLs kept from the body.
MAX_URLS = 50
MAX_URL = 2000
#: Plain text kept from the body (used to narrow attribution by canary names).
MAX_TEXT = 4000
#: MIME parts looked at, and bytes of each part scanned for URLs.
MAX_PARTS = 100
MAX_SCAN = 1_000_000
#: Bytes of a message given to the parser: headers and the start of the body are
#: what evidence needs; parsing all of a 10 MB message costs a third of a second.
MAX_PARSE = 2 * 1024 * 1024
#: DKIM signatures kept.
MAX_DKIM = 10

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_URL_RE = re.compile(r"""(?i)\bhttps?://[^\s"'<>()\[\]{}\\^`|]{1,2000}""")
_HREF_RE = re.compile(r"""(?i)href\s*=\s*["']?\s*(https?://[^\s"'<>]{1,2000})""")
_WS_RE = re.compile(r"[ \t\r\n]+")
_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_DKIM_TAG_RE = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", re.I)

#: Header markers of sending platforms (PROTOCOLS.md), checked case-insensitively.
PLATFORM_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-mc-user", "Mailchimp"),
    ("x-mandrill-user", "Mandrill"),
    ("x-sg-eid", "SendGrid"),
    ("x-sg-id", "SendGrid"),
    ("x-ses-outgoing", "Amazon SES"),
    ("x-mailgun-sid", "Mailgun"),
    ("x-mailgun-variables", "Mailgun"),
    ("x-pm-message-id", "Postmark"),
    ("x-mj-mid", "Mailjet"),
    ("x-mailjet-campaign", "Mailjet"),
    ("x-roving-id", "Constant Contact"),
    ("x-marketoid", "Marketo"),
    ("x-mktmaildkim", "Marketo"),
    ("x-sfdc-user", "Salesforce"),
    ("x-sfdc-lk", "Salesforce"),
    ("x-mailin-eid", "Brevo"),
    ("x-sib-id", "Brevo"),
)
#: DKIM signing domains (suffixes) and selectors that name a platform.
PLATFORM_DKIM_DOMAINS: tuple[tuple[str, str], ...] = (
    ("mcsv.net", "Mailchimp"),
    ("mcdlv.net", "Mailchimp"),
    ("mandrillapp.com", "Mandrill"),
    ("sendgrid.net", "SendGrid"),
    ("sendgrid.info", "SendGrid"),
    ("amazonses.com", "Amazon SES"),
    ("mailgun.org", "Mailgun"),
    ("mailgun.net", "Mailgun"),
    ("pm.mtasv.net", "Postmark"),
    ("mailjet.com", "Mailjet"),
    ("constantcontact.com", "Constant Contact"),
    ("mktdns.com", "Marketo"),
    ("salesforce.com", "Salesforce"),
    ("exacttarget.com", "Salesforce"),
    ("sendinblue.com", "Brevo"),
)
PLATFORM_DKIM_SELECTORS: tuple[tuple[str, str], ...] = (("mailjet", "Mailjet"),)


def safe_text(value: object, limit: int = MAX_HEADER) -> str:
    """A bounded, printable string: undecodable bytes replaced, control characters dropped."""
    if value is None:
        return ""
    try:
        s = value if isinstance(value, str) else str(value)
    except Exception:
        return ""
    s = s[: limit * 4]
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    s = _CONTROL_RE.sub("", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass
class ParsedMail:
    """What a message says about itself. Every value is hostile and only bounded here."""

    from_: str = ""
    from_address: str = ""
    reply_to: str = ""
    return_path: str = ""
    to: str = ""
    subject: str = ""
    message_id: str = ""
    date: str = ""
    received: list[str] = field(default_factory=list)
    dkim: list[dict[str, str]] = field(default_factory=list)
    list_unsubscribe: str = ""
    x_mailer: str = ""
    feedback_id: str = ""
    platforms: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    text: str = ""
    content_type: str = ""
    parts: int = 0
    defects: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def details(self) -> dict[str, Any]:
        """The JSON-ready evidence summary (empty values left out)."""
        out: dict[str, Any] = {
            "from": self.from_,
            "from_address": self.from_address,
            "reply_to": self.reply_to,
            "return_path": self.return_path,
            "to": self.to,
            "subject": self.subject,
            "message_id": self.message_id,
            "date": self.date,
            "received": self.received,
            "dkim": self.dkim,
            "list_unsubscribe": self.list_unsubscribe,
            "x_mailer": self.x_mailer,
            "feedback_id": self.feedback_id,
            "platforms": self.platforms,
            "urls": self.urls,
            "content_type": self.content_type,
            "parts": self.parts,
            "defects": self.defects,
            "parse_errors": self.errors,
        }
        return {k: v for k, v in out.items() if v not in ("", [], 0)}


class _Reader:
    """Header access that survives malformed headers.

    One parse with `compat32`, whose header access never interprets the value, and
    our own decoding of RFC 2047 words. `email.policy.default` reads headers more
    cleverly but costs about a millisecond per message and can raise on malformed
    values (a bare `IndexError` on `To: "`), and every message here is hostile.
    """

    def __init__(self, raw: bytes, errors: list[str]) -> None:
        self.errors = errors
        self.msg: Message | None = None
        try:
            self.msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        except Exception as exc:  # the parser itself should not raise, but be sure
            self._note("parse", exc)

    def _note(self, where: str, exc: BaseException) -> None:
        if len(self.errors) < 20:
            self.errors.append(safe_text(f"{where}: {type(exc).__name__}: {exc}", 300))

    def all(self, name: str) -> list[str]:
        """Every value of header `name`, decoded where possible, in message order."""
        if self.msg is None:
            return []
        try:
            return [_decode_legacy(v) for v in self.msg.get_all(name) or []]
        except Exception as exc:
            self._note(f"header {name}", exc)
            return []

    def first(self, name: str, limit: int = MAX_HEADER) -> str:
        values = self.all(name)
        return safe_text(values[0], limit) if values else ""

    def names(self) -> list[str]:
        if self.msg is None:
            return []
        try:
            return [str(k).lower() for k in self.msg.keys()]
        except Exception:
            return []


def _decode_legacy(value: Any) -> str:
    """A compat32 header value as text: RFC 2047 words decoded, junk bytes replaced."""
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return safe_text(value)
    out: list[str] = []
    last_charset: str | None = None
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            try:
                text = chunk.decode(charset or "utf-8", "replace")
            except LookupError:
                text = chunk.decode("utf-8", "replace")
        else:
            text = chunk
        # decode_header drops the space between an encoded word and plain text.
        if out and charset != last_charset and not (out[-1][-1:].isspace() or text[:1].isspace()):
            out.append(" ")
        out.append(text)
        last_charset = charset
    return _WS_RE.sub(" ", "".join(out)).strip()


def _address(value: str) -> str:
    """The bare address of a header value such as `Name <a@b>` (lower-cased), or ""."""
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = [parseaddr(value)]
    for _name, addr in pairs:
        if "@" in addr:
            return safe_text(addr, 320).lower()
    return ""


def _dkim(values: list[str]) -> list[dict[str, str]]:
    out = []
    for v in values[:MAX_DKIM]:
        tags = {k.lower(): re.sub(r"\s+", "", val) for k, val in _DKIM_TAG_RE.findall(v)}
        item = {k: safe_text(tags[k], 253) for k in ("d", "s", "i") if tags.get(k)}
        if item:
            out.append(item)
    return out


def _platforms(header_names: list[str], dkim: list[dict[str, str]], feedback: str) -> list[str]:
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)

    present = set(header_names)
    for header, name in PLATFORM_HEADERS:
        if header in present:
            add(name)
    for sig in dkim:
        d = sig.get("d", "").lower()
        s = sig.get("s", "").lower()
        for suffix, name in PLATFORM_DKIM_DOMAINS:
            if d == suffix or d.endswith("." + suffix):
                add(name)
        for selector, name in PLATFORM_DKIM_SELECTORS:
            if s == selector:
                add(name)
    if "amazonses" in feedback.lower():
        add("Amazon SES")
    return found


def _part_text(part: Message) -> str:
    """The decoded text of a leaf part, bounded; never raises."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw[:MAX_SCAN] if isinstance(raw, str) else ""
    payload = payload[:MAX_SCAN]
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:
        charset = "utf-8"
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def _walk_body(msg: Message, parsed: ParsedMail) -> None:
    plain: list[str] = []
    html: list[str] = []
    urls: list[str] = []
    seen: set[str] = set()

    def add_url(u: str) -> None:
        u = safe_text(u.rstrip(".,;:!?"), MAX_URL)
        if u and u not in seen and len(urls) < MAX_URLS:
            seen.add(u)
            urls.append(u)

    count = 0
    for part in msg.walk():
        count += 1
        if count > MAX_PARTS:
            parsed.errors.append(f"more than {MAX_PARTS} MIME parts; the rest not read")
            break
        try:
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
        except Exception:
            ctype = "text/plain"
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # a multipart whose boundary never came: read it as text
        elif not ctype.startswith("text/"):
            continue
        text = _part_text(part)
        if ctype == "text/html":
            for m in _HREF_RE.finditer(text):
                add_url(m.group(1))
            html.append(text)
        else:
            plain.append(text)
        for m in _URL_RE.finditer(text):
            add_url(m.group(0))
    parsed.parts = count
    body = "\n".join(plain) if plain else _TAG_RE.sub(" ", "\n".join(html))
    parsed.text = safe_text(re.sub(r"\s+", " ", body[: MAX_TEXT * 4]), MAX_TEXT)
    parsed.urls = urls


def parse_message(raw: bytes) -> ParsedMail:
    """Parse `raw` (the message exactly as received) into bounded evidence; never raises."""
    parsed = ParsedMail()
    if len(raw) > MAX_PARSE:
        parsed.errors.append(f"only the first {MAX_PARSE} bytes were parsed")
        raw = raw[:MAX_PARSE]
    reader = _Reader(raw, parsed.errors)
    try:
        parsed.from_ = reader.first("From")
        parsed.from_address = _address(parsed.from_)
        parsed.reply_to = reader.first("Reply-To")
        parsed.return_path = reader.first("Return-Path", 500)
        parsed.to = reader.first("To")
        parsed.subject = reader.first("Subject", 1000)
        parsed.message_id = reader.first("Message-ID", 500)
        parsed.date = reader.first("Date", 200)
        parsed.received = [safe_text(v) for v in reader.all("Received")[:MAX_RECEIVED]]
        parsed.dkim = _dkim(reader.all("DKIM-Signature"))
        parsed.list_unsubscribe = reader.first("List-Unsubscribe")
        parsed.x_mailer = reader.first("X-Mailer", 500) or reader.first("User-Agent", 500)
        parsed.feedback_id = reader.first("Feedback-ID", 500)
        parsed.platforms = _platforms(reader.names(), parsed.dkim, parsed.feedback_id)
    except Exception as exc:  # a parser bug must not lose the hit
        reader._note("headers", exc)
    body_msg = reader.msg
    if body_msg is not None:
        try:
            parsed.content_type = safe_text(body_msg.get_content_type(), 200)
            defects = [type(d).__name__ for d in getattr(body_msg, "defects", [])]
            parsed.defects = defects[:20]
            _walk_body(body_msg, parsed)
        except Exception as exc:
            reader._note("body", exc)
    return parsed
