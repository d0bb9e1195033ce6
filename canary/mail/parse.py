"""Defensive parsing of a raw mail message into evidence.

Whoever mails a canary is the adversary, so the message is data only: nothing in it
is executed, fetched or used as a path. Every value is bounded and stripped of
control characters and undecodable bytes, so the result can be stored as JSON and
shown anywhere (after the usual escaping). A message that breaks the parser still
gives whatever could be read: one `compat32` parse (it never interprets a value
on access) and our own decoding of encoded words, each step guarded.

This runs for every message the SMTP listener accepts, in its event loop, so the
common case is kept cheap (bench/mailparse.py): a single-part message has only its
header block parsed (`_parse`), headers are indexed once and only those kept are
decoded, values with nothing to decode or clean skip that work, and URLs are looked
for in a lower-cased copy of the text, where the regex can skip to a literal "http".

`parse_message(raw)` returns a `ParsedMail`; `.details()` is the JSON kept with the hit.
"""

from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from canary.text import printable
from canary.text import safe_text as _safe_text

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
#: Characters of a header value given to the RFC 2047 decoder, whose time grows with
#: the square of the encoded words in a value (a 2 MB Subject of them took ~30 s);
#: 16 KB take a few ms and decode to more than any value keeps.
MAX_DECODE = 16 * 1024

#: URLs, matched in the `_lowered` text (positions carry over to the original): the
#: matches of (?i)\bhttps?://[^\s"'<>()\[\]{}\\^`|]{1,2000} in the original, as the
#: lookbehind is that \b and (?i)s also matches "ſ", but searched from a literal
#: prefix; the (?i) pattern tries every character (3-10x slower).
_URL_RE = re.compile(r"""http(?<!\whttp)[sſ]?://[^\s"'<>()\[\]{}\\^`|]{1,2000}""")
#: Links in HTML (group 1), likewise for (?i)href\s*=\s*["']?\s*(https?://[^\s"'<>]{1,2000}).
_HREF_RE = re.compile(r"""href\s*=\s*["']?\s*(http[sſ]?://[^\s"'<>]{1,2000})""")
_WS_RE = re.compile(r"[ \t\r\n]+")
_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_DKIM_TAG_RE = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", re.I)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
#: A display name of words and quoted strings, without comments, escapes or specials.
_PLAIN_NAME = r'(?:"[^"\\]*"|[^()<>@,:;"\[\]\\])*'
#: A From value that `getaddresses` reads as this one address (group 1 or 2), as it
#: is: `local@domain` alone, or in angle brackets after a plain display name.
#: Anything else goes to `getaddresses` (tests/test_mailparse_equivalence.py: they agree).
_PLAIN_FROM_RE = re.compile(rf"{_PLAIN_NAME}<({_PLAIN_ADDRESS})>|({_PLAIN_ADDRESS})")

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
    """A bounded, printable one-line string (canary.text.safe_text, MAX_HEADER by default)."""
    return _safe_text(value, limit)


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


def _note(errors: list[str], where: str, exc: BaseException) -> None:
    if len(errors) < 20:
        errors.append(safe_text(f"{where}: {type(exc).__name__}: {exc}", 300))


class _Headers:
    """Header access that survives malformed headers.

    The values of one `compat32` parse, indexed by lower-cased name in one pass; a
    value is decoded (our own decoding of RFC 2047 words) only when it is asked for.
    `compat32` keeps each value as the raw text (8-bit bytes as surrogates) and never
    interprets it. `email.policy.default` reads headers more cleverly but costs about a
    millisecond per message and can raise on malformed values (a bare `IndexError` on
    `To: "`), and every message here is hostile.
    """

    def __init__(self, msg: Message | None, errors: list[str]) -> None:
        self.by_name: dict[str, list[str]] = {}
        if msg is None:
            return
        try:
            for name, value in msg.raw_items():
                self.by_name.setdefault(str(name).lower(), []).append(str(value))
        except Exception as exc:  # raw values are strings; be sure anyway
            _note(errors, "headers", exc)

    def all(self, name: str, count: int) -> list[str]:
        """The first `count` values of header `name` (lower case), decoded, in message order."""
        return [_decode_header(v) for v in self.by_name.get(name, ())[:count]]

    def first(self, name: str, limit: int = MAX_HEADER) -> str:
        values = self.by_name.get(name)
        return safe_text(_decode_header(values[0]), limit) if values else ""


def _decode_header(value: str) -> str:
    """A compat32 header value as text: RFC 2047 words decoded, junk bytes replaced,
    each run of spaces, tabs and line breaks made one space."""
    if value.isascii():
        if "=?" not in value:  # no encoded word: nothing to decode
            text = value
        else:
            try:
                text = _decoded_words(email.header.decode_header(value[:MAX_DECODE]))
            except Exception:
                return safe_text(value)
            if len(value) > MAX_DECODE:
                text += "…"
    else:
        # 8-bit bytes (surrogates here) where RFC 2047 words belong: read as UTF-8.
        # compat32 hands such a value over as one unknown-8bit chunk: any encoded
        # words in it stay as they are.
        text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if "  " in text or not printable(text):  # folded, or worse
        return _collapse(text)
    return text.strip()


def _collapse(text: str) -> str:
    """`_WS_RE.sub(" ", text).strip()`, quicker for the usual folded value."""
    spaced = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if printable(spaced):  # then " " is the only whitespace left in it
        return " ".join(spaced.split())
    return _WS_RE.sub(" ", text).strip()


def _decoded_words(parts: list[tuple[bytes | str, str | None]]) -> str:
    """The text of `email.header.decode_header`'s chunks (undecodable bytes replaced)."""
    out: list[str] = []
    last_charset: str | None = None
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            try:
                text = chunk.decode(charset or "utf-8", "replace")
            except Exception:  # unknown charset (LookupError), or a codec such as
                # idna that refuses the "replace" handler (UnicodeError)
                text = chunk.decode("utf-8", "replace")
        else:
            text = chunk
        # decode_header drops the space between an encoded word and plain text.
        if out and charset != last_charset and not (out[-1][-1:].isspace() or text[:1].isspace()):
            out.append(" ")
        out.append(text)
        last_charset = charset
    return "".join(out)


def _lowered(text: str) -> str:
    """`text.lower()` one character for one, so that match positions carry over.

    U+0130 (İ) is the one character that lower-cases to two; as "i" it is as much a
    word character, and no other character's case or class changes (\\w, \\s and the
    punctuation the URL patterns stop at are the same before and after).
    """
    return text.replace("\u0130", "i").lower()


def _address(value: str) -> str:
    """The bare address of a header value such as `Name <a@b>` (lower-cased), or ""."""
    plain = _PLAIN_FROM_RE.fullmatch(value)
    if plain:  # most senders; getaddresses reads a character at a time
        return safe_text(plain.group(1) or plain.group(2), 320).lower()
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = [parseaddr(value)]
    for _name, addr in pairs:
        if "@" in addr:
            return safe_text(addr, 320).lower()
    return ""


_DKIM_KEPT = ("d", "s", "i")


def _dkim(values: list[str]) -> list[dict[str, str]]:
    out = []
    for v in values:
        tags: dict[str, str] = {}
        for k, val in _DKIM_TAG_RE.findall(v):
            k = k.lower()
            if k in _DKIM_KEPT:  # not the long b= and bh=
                tags[k] = "".join(val.split())
        item = {k: safe_text(tags[k], 253) for k in _DKIM_KEPT if tags.get(k)}
        if item:
            out.append(item)
    return out


def _platforms(header_names: Iterable[str], dkim: list[dict[str, str]], feedback: str) -> list[str]:
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
            if d.endswith(suffix) and (len(d) == len(suffix) or d[-len(suffix) - 1] == "."):
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
    kept: set[str] = set()
    seen: set[str] = set()  # URLs as found (most are found twice: href and text)

    def scan(text: str, is_html: bool) -> None:
        if len(urls) >= MAX_URLS or "://" not in text:
            return
        low = _lowered(text)
        for pattern, group in ((_HREF_RE, 1), (_URL_RE, 0)) if is_html else ((_URL_RE, 0),):
            for m in pattern.finditer(low):
                found = text[m.start(group) : m.end(group)]
                if found in seen:
                    continue
                seen.add(found)
                u = safe_text(found.rstrip(".,;:!?"), MAX_URL)
                if u and u not in kept:
                    kept.add(u)
                    urls.append(u)
                    if len(urls) >= MAX_URLS:
                        return

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
        if ctype.startswith(("multipart/", "message/")):
            # a multipart whose boundary never came, or a container left unparsed
            # (see parse_message): read it as text
            ctype = "text/plain"
        elif not ctype.startswith("text/"):
            continue
        text = _part_text(part)
        is_html = ctype == "text/html"
        (html if is_html else plain).append(text)
        scan(text, is_html)
    parsed.parts = count
    body = "\n".join(plain) if plain else _TAG_RE.sub(" ", "\n".join(html))
    # str.split() splits on exactly what \s matches; safe_text strips the ends.
    parsed.text = safe_text(" ".join(body[: MAX_TEXT * 4].split()), MAX_TEXT)
    parsed.urls = urls


def _parse(raw: bytes) -> Message:
    """`email.message_from_bytes(raw, policy=compat32)`, sparing single-part bodies
    the feed parser's line-at-a-time loop.

    Only the header block (up to the first empty line) goes to the parser when it
    names no multipart or message/* type: the body of any other message is the rest
    of the input as it is. If the parser does not end the headers where we did (a
    line that is no header, a lone CR, a form feed: it then leaves a body), the
    whole message is parsed after all.
    """
    lf_crlf = raw.find(b"\n\r\n")
    lf_lf = raw.find(b"\n\n", 0, len(raw) if lf_crlf < 0 else lf_crlf + 1)
    end = lf_lf + 2 if lf_lf >= 0 else lf_crlf + 3 if lf_crlf >= 0 else 0
    if end:
        head = raw[:end]
        lowered = head.lower()
        if b"multipart/" not in lowered and b"message/" not in lowered:
            msg = _HEADER_PARSER.parsebytes(head)
            try:  # get_payload decodes 8-bit text with the charset, which can be junk
                single = msg.get_payload() == "" and msg.get_content_maintype() not in _NESTED
            except Exception:
                single = False
            if single:
                msg.set_payload(raw[end:].decode("ascii", "surrogateescape"))
                return msg
    return email.message_from_bytes(raw, policy=email.policy.compat32)


_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_NESTED = ("multipart", "message")


def parse_message(raw: bytes) -> ParsedMail:
    """Parse `raw` (the message exactly as received) into bounded evidence; never raises."""
    parsed = ParsedMail()
    if len(raw) > MAX_PARSE:
        parsed.errors.append(f"only the first {MAX_PARSE} bytes were parsed")
        raw = raw[:MAX_PARSE]
    msg: Message | None = None
    try:
        msg = _parse(raw)
    except Exception as exc:  # RecursionError on thousands of nested parts
        _note(parsed.errors, "parse", exc)
        try:  # the top-level headers at least, and the body as text
            msg = _HEADER_PARSER.parsebytes(raw)
        except Exception:
            msg = None
    headers = _Headers(msg, parsed.errors)
    try:
        parsed.from_ = headers.first("from")
        parsed.from_address = _address(parsed.from_)
        parsed.reply_to = headers.first("reply-to")
        parsed.return_path = headers.first("return-path", 500)
        parsed.to = headers.first("to")
        parsed.subject = headers.first("subject", 1000)
        parsed.message_id = headers.first("message-id", 500)
        parsed.date = headers.first("date", 200)
        parsed.received = [safe_text(v) for v in headers.all("received", MAX_RECEIVED)]
        parsed.dkim = _dkim(headers.all("dkim-signature", MAX_DKIM))
        parsed.list_unsubscribe = headers.first("list-unsubscribe")
        parsed.x_mailer = headers.first("x-mailer", 500) or headers.first("user-agent", 500)
        parsed.feedback_id = headers.first("feedback-id", 500)
        parsed.platforms = _platforms(headers.by_name, parsed.dkim, parsed.feedback_id)
    except Exception as exc:  # a parser bug must not lose the hit
        _note(parsed.errors, "headers", exc)
    if msg is not None:
        try:
            parsed.content_type = safe_text(msg.get_content_type(), 200)
            defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
            parsed.defects = defects[:20]
            _walk_body(msg, parsed)
        except Exception as exc:
            _note(parsed.errors, "body", exc)
    return parsed
