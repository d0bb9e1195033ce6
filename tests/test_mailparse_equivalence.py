"""mailparse's shortcuts give what the plain stdlib calls they replace would.

Each shortcut is checked against the straightforward version on hand-picked hostile
inputs and on seeded random ones: the header-block-only parse of single-part
messages, the URL patterns searched in lower-cased text, the From address read
without `getaddresses`, and the quick paths of the text cleaning.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

import pytest

from canary.mail import parse as mailparse
from canary.mail.parse import _address, _collapse, _lowered, _parse, safe_text
from canary.text import printable as _printable

# -- parsing: only the header block of a single-part message ---------------------------


def shape(msg: Message) -> list[Any]:
    """Everything the parser decided about a message, recursively."""
    out: list[Any] = [
        list(msg.raw_items()),
        [type(d).__name__ for d in msg.defects],
        msg.preamble,
        msg.epilogue,
        msg.get_unixfrom(),
    ]
    payload = msg._payload  # get_payload() may decode, or raise on a junk charset
    if isinstance(payload, list):
        out += [shape(m) for m in payload]
    else:
        out.append(payload)
    return out


def check_parse(raw: bytes) -> None:
    assert shape(_parse(raw)) == shape(
        email.message_from_bytes(raw, policy=email.policy.compat32)
    ), raw


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"Subject: s\r\n\r\nbody\r\n",
        b"Subject: s\n\nbody\n",
        b"Subject: s\r\n\r\n",
        b"Subject: s\r\n",  # no body, no blank line
        b"\r\nbody only\r\n",
        b"\nbody only\n",
        b"Subject: s\n\r\nmixed\r\n\n",
        b"Subject: s\r\rbody after a lone CR\r\n\r\nmore\r\n",
        b"Subject: s\r\n\x0c\r\n\r\nform feed\r\n",
        b"Subject: s\r\nnot a header\r\nX: y\r\n\r\nbody\r\n",
        b" continuation first\r\nSubject: s\r\n\r\nbody\r\n",
        b"From nobody Mon Jan  1 00:00:00 2026\r\nSubject: s\r\n\r\nbody\r\n",
        b"Subject: s\r\n folded\r\n\r\n\r\n\r\nbody after blank lines\r\n",
        b'Subject: caf\xc3\xa9\r\nContent-Type: text/plain; charset="a\x00b"\r\n\r\n\xff\r\n',
        b'Content-Type: text/plain; charset="a\x00b"\r\n\xff\r\n\r\nbody\r\n',
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n",
        b"Content-Type: Message/Delivery-Status\r\n\r\nA: b\r\n\r\nC: d\r\n",
        b"Content-Type: MULTIPART/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
        b"Subject: multipart/mixed in the subject\r\n\r\nbody\r\n",
        b"Content-Type: multi\r\n part/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n",
        b"Content-Type: text/plain\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\nx\r\n",
        b"Subject: s\r\n\r\n\x00\x85\xe2\x80\xa8 body \r",
    ],
)
def test_header_block_parse_matches_the_full_parse(raw: bytes) -> None:
    check_parse(raw)


HEADER_LINES = [
    b"Subject: s",
    b"From: a@b.example",
    b"Content-Type: text/plain; charset=utf-8",
    b"Content-Type: text/html",
    b"Content-Type: multipart/alternative; boundary=b1",
    b"Content-Type: message/rfc822",
    b"Content-Transfer-Encoding: base64",
    b"X-Bytes: \xff\xfe\x00",
    b" folded continuation",
    b"\tfolded continuation",
    b"no colon here",
    b"From nobody",
    b"Bad Name: x",
    b":",
    b"",
]
LINE_ENDS = [b"\r\n", b"\n", b"\r", b"\r\n", b"\n", b"\x0c\r\n", b"\x1c\n"]
BODY_LINES = [b"text https://a.example/", b"--b1", b"--b1--", b"Subject: x", b"\xc3\xa9", b""]


def test_header_block_parse_matches_the_full_parse_on_random_messages() -> None:
    rng = random.Random(20261123)
    for _ in range(1500):
        lines = [rng.choice(HEADER_LINES) for _ in range(rng.randint(0, 8))]
        lines += [b""] * rng.randint(0, 2)
        lines += [rng.choice(BODY_LINES) for _ in range(rng.randint(0, 5))]
        raw = b"".join(line + rng.choice(LINE_ENDS) for line in lines)
        if rng.random() < 0.3:
            raw = raw[: rng.randint(0, len(raw))]
        check_parse(raw)


# -- URLs: the (?i) patterns, searched in lower-cased text -----------------------------

REF_URL = re.compile(r"""(?i)\bhttps?://[^\s"'<>()\[\]{}\\^`|]{1,2000}""")
REF_HREF = re.compile(r"""(?i)href\s*=\s*["']?\s*(https?://[^\s"'<>]{1,2000})""")


def check_urls(text: str) -> None:
    low = _lowered(text)
    assert len(low) == len(text)
    found = [text[m.start() : m.end()] for m in mailparse._URL_RE.finditer(low)]
    assert found == [m.group(0) for m in REF_URL.finditer(text)], text
    found = [text[m.start(1) : m.end(1)] for m in mailparse._HREF_RE.finditer(low)]
    assert found == [m.group(1) for m in REF_HREF.finditer(text)], text


@pytest.mark.parametrize(
    "text",
    [
        "HTTPS://A.example/X and hTtP://b.example/",
        "httpſ://long-s.example/ HTTPſ://x/",  # (?i)s matches U+017F
        "İhttps://after-dotted-I.example/ İİ http://x/ İ",  # U+0130 lower-cases to two
        "xhttps://glued.example/ _http://u/ éhttp://e/ 1http://d/ -http://ok.example/",
        "ftp://f/https://inner.example/ http://a/http://b/",
        "https://" + "a" * 2500 + " http://after-a-long-one/",
        "https://" + "a" * 1996 + "http://split.example/",
        "HREF = 'HTTP://h.example/(x)' href=\"https://q.example/\" href= https://s/ hreF=x",
        "href='httpſ://long-s.example/' href=HTTPſ://x/",
        "ﬀhttp://ligature/ ǅhttp://titlecase/ Khttp://kelvin/",
        "",
    ],
)
def test_url_patterns_match_the_case_insensitive_ones(text: str) -> None:
    check_urls(text)


def test_url_patterns_match_the_case_insensitive_ones_on_random_text() -> None:
    pieces = ["http", "HTTP", "hTtPs", "s", "S", "ſ", "İ", "K", "://", ":", "/", "x", "_"]
    pieces += ["é", " ", "\n", '"', "'", "<", ">", "(", "href", "HrEf", "=", "\x00", "\xa0"]
    rng = random.Random(7)
    for _ in range(3000):
        check_urls("".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))))


# -- the From address without getaddresses ---------------------------------------------


def reference_address(value: str) -> str:
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = [parseaddr(value)]
    for _name, addr in pairs:
        if "@" in addr:
            return safe_text(addr, 320).lower()
    return ""


@pytest.mark.parametrize(
    "value",
    [
        "a@b.example",
        "<A@B.example>",
        "Name <a@b.example>",
        "J. Smith-O'Brien <j.smith@x.example>",
        '"Doe, John" <j@x.example>',
        '"a@b" <c@d.example>',
        '"unterminated <a@b.example>',
        "Campaña Ciudadana <news@campaign.example>",
        "a@b.example (comment)",
        "Name a@b.example",
        "a..b@c.example",
        "a@b..example",
        "<a@b.example",
        "a@b.example>",
        "x <a@b.example> y",
        "<a@[10.0.0.1]>",
        "a@b.example, c@d.example",
        "@b.example",
        "a@",
    ],
)
def test_plain_from_values_give_the_address_getaddresses_gives(value: str) -> None:
    assert _address(value) == reference_address(value)


def test_plain_from_values_agree_with_getaddresses_on_random_values() -> None:
    pieces = [*"aZ09._-+'\"<>@,;:()[]\\ !#$%&*/=?^`{|}~ñ", "x.y", "@b.example", " "]
    rng = random.Random(11)
    for _ in range(20000):
        value = safe_text("".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))))
        assert _address(value) == reference_address(value), value


# -- text cleaning: quick paths ----------------------------------------------------------

CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
BREAKS = re.compile("\r\n|[\n\r\t\x0b\x0c\x85\u2028\u2029]")


def reference_safe_text(s: str, limit: int) -> str:
    s = s[: limit * 4]
    s = BREAKS.sub(" ", s)
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    s = CONTROL.sub("", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def test_text_cleaning_matches_its_plain_definition() -> None:
    rng = random.Random(3)
    chars = [chr(c) for c in range(0x2100)] + ["\udcff", "\u200b", "\u202e", "\U0001f5f3"]
    chars += [" ", "  ", "\r\n", "\t", "a", "b"] * 50
    for _ in range(20000):
        s = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
        assert _printable(s) == s.isprintable(), repr(s)
        assert _collapse(s) == re.sub(r"[ \t\r\n]+", " ", s).strip(), repr(s)
        limit = rng.choice([3, 6, 2000])
        assert safe_text(s, limit) == reference_safe_text(s, limit), repr(s)
