"""Parsing hostile mail into evidence: what is read, what is bounded, what never breaks."""

from __future__ import annotations

import json
import random

import pytest

from canary.mail import parse as mailparse
from canary.mail.parse import parse_message, safe_text

CAMPAIGN = (
    b"Received: from out-12.smtp.sendgrid.net (out-12.smtp.sendgrid.net [167.89.1.2])\r\n"
    b"\tby mx1.canary.example with ESMTPS; Mon, 23 Nov 2026 10:00:02 +0000\r\n"
    b"Received: from app.campaign.example by out-12.smtp.sendgrid.net; Mon, 23 Nov 2026"
    b" 10:00:01 +0000\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=campaign.example;\r\n"
    b"\th=from:subject; s=s1; bh=abc=; b=def=\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=sendgrid.net; s=smtpapi; b=xyz=\r\n"
    b"From: =?utf-8?q?Campa=C3=B1a?= <news@campaign.example>\r\n"
    b"Reply-To: replies@campaign.example\r\n"
    b"Return-Path: <bounces+123@em.campaign.example>\r\n"
    b"To: maria.quintero0@canary.example\r\n"
    b"Subject: =?utf-8?b?Vm90YSBwb3Igbm9zb3Ryb3Mg8J+Xs++4jw==?=\r\n"
    b"Message-ID: <abc123@campaign.example>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"List-Unsubscribe: <https://campaign.example/unsub?u=1>, <mailto:u@campaign.example>\r\n"
    b"X-Mailer: CampaignMailer 4.2\r\n"
    b"X-SG-EID: abcdef\r\n"
    b"Feedback-ID: 1:campaign:sendgrid\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Hola Mar=C3=ADa Quintero, vota: https://campaign.example/vote?id=1.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b'<p>Hola <a href="https://track.example/c/1">vota</a> '
    b"https://campaign.example/vote?id=1</p>\r\n"
    b"--b1--\r\n"
)


def test_a_campaign_message_gives_its_whole_trail() -> None:
    d = parse_message(CAMPAIGN).details()
    assert d["from"] == "Campaña <news@campaign.example>"
    assert d["from_address"] == "news@campaign.example"
    assert d["reply_to"] == "replies@campaign.example"
    assert d["return_path"] == "<bounces+123@em.campaign.example>"
    assert d["subject"] == "Vota por nosotros 🗳️"
    assert d["message_id"] == "<abc123@campaign.example>"
    assert d["date"] == "Mon, 23 Nov 2026 10:00:00 +0000"
    # Newest first, as they are stacked in the message; folded lines joined.
    assert d["received"][0].startswith("from out-12.smtp.sendgrid.net")
    assert "by mx1.canary.example" in d["received"][0]
    assert d["received"][1].startswith("from app.campaign.example")
    assert d["dkim"] == [
        {"d": "campaign.example", "s": "s1"},
        {"d": "sendgrid.net", "s": "smtpapi"},
    ]
    assert d["list_unsubscribe"].startswith("<https://campaign.example/unsub?u=1>")
    assert d["x_mailer"] == "CampaignMailer 4.2"
    assert d["feedback_id"] == "1:campaign:sendgrid"
    assert d["platforms"] == ["SendGrid"]
    assert d["urls"] == ["https://campaign.example/vote?id=1", "https://track.example/c/1"]
    assert d["content_type"] == "multipart/alternative"
    assert "parse_errors" not in d
    json.dumps(d)  # storable as is


def test_encoded_words_folded_onto_a_new_line_keep_their_space() -> None:
    raw = b"From: =?utf-8?q?Campa=C3=B1a?=\r\n <news@campaign.example>\r\n\r\nx\r\n"
    parsed = parse_message(raw)
    assert parsed.from_ == "Campaña <news@campaign.example>"
    assert parsed.from_address == "news@campaign.example"


def test_plain_text_is_kept_for_attribution_by_name() -> None:
    parsed = parse_message(CAMPAIGN)
    assert "Hola María Quintero" in parsed.text


def test_html_only_message_gives_text_without_tags() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: text/html\r\n\r\n"
        b"<html><body><b>Estimada Elena</b><script>alert(1)</script></body></html>\r\n"
    )
    parsed = parse_message(raw)
    assert "Estimada Elena" in parsed.text
    assert "<b>" not in parsed.text


@pytest.mark.parametrize(
    ("header", "platform"),
    [
        (b"X-MC-User: 1a2b", "Mailchimp"),
        (b"X-SES-Outgoing: 2026.11.23-54.240.1.1", "Amazon SES"),
        (b"X-Mailgun-Sid: WyI1", "Mailgun"),
        (b"X-Mandrill-User: md_1", "Mandrill"),
        (b"X-PM-Message-Id: 1-2-3", "Postmark"),
        (b"X-Roving-ID: 123.456", "Constant Contact"),
        (b"X-MarketoID: 123-ABC-456", "Marketo"),
        (b"X-SFDC-User: 005x", "Salesforce"),
        (b"DKIM-Signature: v=1; d=news.example; s=mailjet; b=x", "Mailjet"),
        (b"Feedback-ID: 1.eu-west-1.abc:AmazonSES", "Amazon SES"),
    ],
)
def test_sending_platform_from_its_headers(header: bytes, platform: str) -> None:
    raw = b"From: a@b.example\r\n" + header + b"\r\nSubject: s\r\n\r\nbody\r\n"
    assert parse_message(raw).platforms == [platform]


def test_no_platform_claimed_without_a_marker() -> None:
    raw = b"From: a@b.example\r\nX-Mailer: Outlook\r\nSubject: s\r\n\r\nbody\r\n"
    assert parse_message(raw).platforms == []


def test_header_that_breaks_the_modern_parser_is_still_read() -> None:
    # email.policy.default raises a bare IndexError on this To: header.
    raw = b'From: a@b.example\r\nTo: "\r\nSubject: still read\r\n\r\nbody\r\n'
    parsed = parse_message(raw)
    assert parsed.to == '"'
    assert parsed.subject == "still read"
    assert parsed.from_address == "a@b.example"


def test_urls_are_bounded_and_deduplicated() -> None:
    links = "".join(f"https://spam.example/{i % 80} " for i in range(500))
    raw = b"Subject: links\r\n\r\n" + links.encode() + b"\r\n"
    urls = parse_message(raw).urls
    assert len(urls) == mailparse.MAX_URLS
    assert len(set(urls)) == len(urls)
    long = b"Subject: long\r\n\r\nhttps://x.example/" + b"a" * 5000 + b"\r\n"
    [u] = parse_message(long).urls
    assert len(u) <= mailparse.MAX_URL


def test_values_are_bounded_and_printable() -> None:
    raw = (
        b"Subject: " + b"S" * 5000 + b"\r\n"
        b"From: evil\x1b[31m\x07 <e@x.example>\r\n"
        b"X-Mailer: \xff\xfe bad bytes \xc3\r\n"
        + b"".join(b"Received: from hop%d\r\n" % i for i in range(100))
        + b"\r\nbody\r\n"
    )
    d = parse_message(raw).details()
    assert len(d["subject"]) <= 1000
    assert "\x1b" not in d["from"] and "\x07" not in d["from"]
    assert "\udcff" not in d["x_mailer"]
    assert len(d["received"]) == mailparse.MAX_RECEIVED
    assert d["received"][0] == "from hop0"
    json.dumps(d).encode("utf-8")


def test_unknown_charset_and_bad_transfer_encoding_do_not_lose_the_body() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: text/plain; charset=x-no-such\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"SG9sYSBDYXJtZW4gaHR0cHM6Ly9hLmV4YW1wbGUv\r\n"
    )
    parsed = parse_message(raw)
    assert "Hola Carmen" in parsed.text
    assert parsed.urls == ["https://a.example/"]


def test_random_bytes_never_raise() -> None:
    rng = random.Random(1234)
    pieces = [
        b"Subject: ",
        b"From: ",
        b'To: "',
        b"Content-Type: multipart/mixed; boundary=",
        b"--",
        b"\r\n",
        b"\r\n\r\n",
        b"=?utf-8?b?",
        b"?=",
        b"\xff",
        b"\x00",
        b"http://",
        b"<a href='",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
    ]
    for _ in range(300):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        d = parse_message(raw).details()
        json.dumps(d).encode("utf-8")


def test_safe_text() -> None:
    assert safe_text("a\r\nb\tc\x00d") == "a b cd"
    assert safe_text("x" * 50, 10) == "x" * 9 + "…"
    assert safe_text(None) == ""
    assert safe_text("\udcffok") == "\ufffdok"


def test_only_the_start_of_a_huge_message_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailparse, "MAX_PARSE", 10_000)
    raw = (
        b"Subject: huge\r\n\r\nhttps://early.example/\r\n"
        + (b"z" * 98 + b"\r\n") * 1000
        + b"https://late.example/\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "huge"
    assert parsed.urls == ["https://early.example/"]
    assert any("first 10000 bytes" in e for e in parsed.errors)


def test_encoded_word_subjects() -> None:
    # Adjacent encoded words join without the whitespace between them (RFC 2047 6.2);
    # q-encoding's "_" is a space; charsets may change from word to word.
    raw = (
        b"Subject: =?utf-8?q?Hola_Mar=C3=ADa?= =?iso-8859-1?b?cXVlIHRhbA==?= =?utf-8?q?!?=\r\n"
        b"\r\nbody\r\n"
    )
    assert parse_message(raw).subject == "Hola María que tal !"
    # Plain text around encoded words keeps a space; unknown charsets read as UTF-8.
    raw = b"Subject: Re: =?utf-8?b?w6k=?=tail =?x-no-such?q?abc?=\r\n\r\nbody\r\n"
    assert parse_message(raw).subject == "Re: é tail abc"


def test_a_codec_that_refuses_replacement_does_not_lose_the_header() -> None:
    # bytes.decode("idna", "replace") raises UnicodeError, not LookupError.
    raw = b"Subject: =?idna?q?xn--bcher-kva?= news\r\nFrom: a@b.example\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == "xn--bcher-kva news"
    assert parsed.from_address == "a@b.example"
    assert parsed.errors == []


@pytest.mark.parametrize(
    ("value", "address"),
    [
        (b'"Doe, John" <J.Doe@Example.COM>', "j.doe@example.com"),
        (b'"a@b.example" <c@d.example>', "c@d.example"),
        (b"c@d.example (Doe, John)", "c@d.example"),
        (b'"Esc \\" quote" <q@x.example>, other@y.example', "q@x.example"),
        (b"Campa\xc3\xb1a <n@c.example>", "n@c.example"),
        (b"=?utf-8?q?Campa=C3=B1a?= <N@C.example>", "n@c.example"),
        (b"no address here", ""),
        (b"<>", ""),
    ],
)
def test_sender_address_from_display_names_with_commas_and_quotes(
    value: bytes, address: str
) -> None:
    raw = b"From: " + value + b"\r\nSubject: s\r\n\r\nbody\r\n"
    assert parse_message(raw).from_address == address


def test_the_first_of_several_from_headers_is_kept() -> None:
    raw = b"From: first@a.example\r\nFrom: second@b.example\r\nSubject: s\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.from_ == "first@a.example"
    assert parsed.from_address == "first@a.example"


def test_8bit_headers_are_read_as_utf8() -> None:
    raw = (
        b"From: Campa\xc3\xb1a <n@c.example>\r\n"
        b"Subject: caf\xc3\xa9 \xff end\r\n"
        b"X-Mailer: =?utf-8?q?x?= \xc3\xb1\r\n"
        b"\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_ == "Campaña <n@c.example>"
    assert parsed.from_address == "n@c.example"
    assert parsed.subject == "café \ufffd end"
    # compat32 gives an 8-bit value as one chunk: encoded words in it stay as they are.
    assert parsed.x_mailer == "=?utf-8?q?x?= ñ"


def test_folded_values_are_one_line() -> None:
    raw = b"From: Name\r\n  <n@x.example>\r\nSubject: a\r\n\t b  c\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.from_ == "Name <n@x.example>"
    assert parsed.subject == "a b c"


def test_a_long_received_chain_and_huge_headers_stay_bounded() -> None:
    hops = b"".join(
        b"Received: from hop%d\r\n\tby hop%d; Mon, 23 Nov 2026 10:00:00 +0000\r\n" % (i, i + 1)
        for i in range(10_000)
    )
    raw = hops + b"Subject: " + b"=?utf-8?q?a?= " * 50_000 + b"\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert len(parsed.received) == mailparse.MAX_RECEIVED
    assert parsed.received[0] == "from hop0 by hop1; Mon, 23 Nov 2026 10:00:00 +0000"
    assert parsed.received[-1].startswith("from hop29 ")
    # Only the first MAX_DECODE characters are decoded (the decoder's time grows with
    # the square of the number of words), and the cut is marked.
    assert parsed.subject == "a" * 999 + "…"
    raw = b"Subject: " + b"=?utf-8?q?ab?= " * 2000 + b"\r\n\r\nbody\r\n"
    assert parse_message(raw).subject == ("ab" * 1000)[:999] + "…"
    raw = b"To: " + b"=?utf-8?q?Mar=C3=ADa?= <m@x.example>, " * 5000 + b"\r\n\r\nbody\r\n"
    to = parse_message(raw).to
    assert to.startswith("María <m@x.example>, María") and len(to) == mailparse.MAX_HEADER


def test_dkim_domains_name_a_platform_only_as_a_whole_label() -> None:
    raw = (
        b"DKIM-Signature: d=news.mcsv.net; s=k1\r\n"
        b"DKIM-Signature: d=notmcsv.net; s=k2\r\n"
        b"DKIM-Signature: d =\r\n\tSendGrid.NET ; s = x\r\n"
        b"\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.dkim == [
        {"d": "news.mcsv.net", "s": "k1"},
        {"d": "notmcsv.net", "s": "k2"},
        {"d": "SendGrid.NET", "s": "x"},
    ]
    assert parsed.platforms == ["Mailchimp", "SendGrid"]


def test_urls_in_any_case_and_only_at_a_word_start() -> None:
    raw = (
        b"Subject: s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<a HREF = 'HTTPS://Up.example/A(1)'>x</a> Http://Mixed.example/p. "
        b"xhttps://glued.example/ \xc3\xa9https://accent.example/ "
        b"ftp://f.example/https://inner.example/q\r\n"
    )
    assert parse_message(raw).urls == [
        "HTTPS://Up.example/A(1)",
        "HTTPS://Up.example/A",
        "Http://Mixed.example/p",
        "https://inner.example/q",
    ]


def test_a_large_single_part_body_is_read_to_its_end() -> None:
    raw = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 900 + b"https://late.example/\r\n"
    parsed = parse_message(raw)
    assert parsed.urls == ["https://late.example/"]
    assert parsed.text.startswith("x" * 100)
    assert len(parsed.text) <= mailparse.MAX_TEXT


def test_a_message_too_deep_for_the_parser_still_gives_its_headers() -> None:
    raw = (
        b"From: deep@x.example\r\nSubject: nested\r\n"
        + b"Content-Type: message/rfc822\r\n\r\n" * 5000
        + b"Subject: inner\r\n\r\nhttps://inner.example/\r\n"
    )
    parsed = parse_message(raw)
    assert any("RecursionError" in e for e in parsed.errors)
    assert parsed.from_address == "deep@x.example"
    assert parsed.subject == "nested"
    assert parsed.urls == ["https://inner.example/"]
