"""parse_message micro benchmark: ours against a bare compat32 parse, same run.

    python bench/mailparse.py [--seconds 0.25] [--reps 9] [--compare OLD.py ...]

The inputs are a mix of what the SMTP listener sees:

- plain: a 2 KB message as `smtp-source -l 2048` sends (bench/smtp.py's load);
- campaign: a multipart/alternative marketing message (~9 KB): a Received chain,
  two DKIM signatures, platform headers, encoded-word From and Subject, a
  quoted-printable text part and an HTML part with many links;
- malformed: broken headers (a lone quote, 8-bit bytes, an unterminated encoded
  word), a multipart whose boundary never comes, a bad base64 part.

The baseline is `email.message_from_bytes(raw, policy=email.policy.compat32)`: the
floor, a parse that extracts nothing. For each input and for the mix (equal counts
of each) it prints messages per CPU second of the floor and of ours, each the median of
`--reps` timed runs, and ours/floor. `--compare` loads another implementation of
`canary/mailparse.py` from a file (e.g. `git show REV:canary/mailparse.py > old.py`)
and times it in the same run, so before/after need not be compared across runs.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from canary.mail.parse import parse_message  # noqa: E402


def plain_message(size: int = 2048) -> bytes:
    """What smtp-source sends: a few headers and `size` bytes of 'X' lines."""
    head = (
        b"From: <a@b.example>\r\n"
        b"To: <maria.quintero0@canary.example>\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000 (UTC)\r\n"
        b"Message-Id: <1a2b.3c4d.5e6f@load.example>\r\n"
        b"Subject: La de da de da 1.\r\n"
        b"\r\n"
    )
    line = b"X" * 78 + b"\r\n"
    return head + line * (size // len(line))


def campaign_message() -> bytes:
    received = b"".join(
        b"Received: from relay%d.campaign.example (relay%d.campaign.example [10.0.%d.1])\r\n"
        b"\tby relay%d.campaign.example (Postfix) with ESMTPS id 4Zx%dQ;\r\n"
        b"\tMon, 23 Nov 2026 10:00:%02d +0000 (UTC)\r\n" % (i, i, i, i + 1, i, 10 - i)
        for i in range(6)
    )
    head = (
        received + b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=campaign.example;\r\n"
        b"\th=from:to:subject:date:message-id:list-unsubscribe; s=s1;\r\n"
        b"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
        b"\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sendgrid.net;\r\n"
        b"\th=from:subject; s=smtpapi; bh=abc=; b=def=\r\n"
        b"From: =?utf-8?q?Campa=C3=B1a_Ciudadana?= <news@campaign.example>\r\n"
        b'Reply-To: "Equipo, Campa\xc3\xb1a" <replies@campaign.example>\r\n'
        b"Return-Path: <bounces+123-abc=canary.example@em.campaign.example>\r\n"
        b"To: maria.quintero0@canary.example\r\n"
        b"Subject: =?utf-8?b?Vm90YSBwb3Igbm9zb3Ryb3Mg8J+Xs++4jw==?=\r\n"
        b"Message-ID: <abc123.20261123100000@campaign.example>\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        b"List-Unsubscribe: <https://campaign.example/unsub?u=1>, <mailto:u@campaign.example>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"X-Mailer: CampaignMailer 4.2\r\n"
        b"X-SG-EID: u001.abcdefghijklmnopqrstuvwxyz\r\n"
        b"X-SG-ID: u001.zyxwvutsrqponmlkjihgfedcba\r\n"
        b"Feedback-ID: 1:campaign:sendgrid\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="----=_Part_1_2"\r\n'
        b"\r\n"
    )
    text_lines = b"".join(
        b"Punto %d: lea m=C3=A1s en https://campaign.example/news/%d?utm_source=3Dmail\r\n" % (i, i)
        for i in range(20)
    )
    links = b"".join(
        b'<tr><td><a href="https://track.campaign.example/c/%d?u=abc&amp;l=%d" '
        b'style="color:#333">Noticia %d</a> &middot; m\xc3\xa1s</td></tr>\r\n' % (i, i, i)
        for i in range(40)
    )
    body = (
        b"------=_Part_1_2\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"Hola Mar=C3=ADa Quintero,\r\n" + text_lines + b"------=_Part_1_2\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"<html><head><style>td{font-family:Arial}</style></head><body><table>\r\n"
        + links
        + b"</table><p>Hola Mar\xc3\xada, https://campaign.example/vote?id=1</p></body></html>\r\n"
        b"------=_Part_1_2--\r\n"
    )
    return head + body


def malformed_message() -> bytes:
    return (
        b"Received: from [10.0.0.1]\r\n"
        b'From: "evil \xff\xfe" <e@x.example>, ,, "unterminated\r\n'
        b"From: second@x.example\r\n"
        b'To: "\r\n'
        b"Subject: =?utf-8?q?broken_word\r\n"
        b"\t=?no-such-charset?b?SGk=?= tail\r\n"
        b"X-Mailer: \x1b[31mbad\x07\r\n"
        b"DKIM-Signature: d=; s\r\n"
        b"Bad header line without colon\r\n"
        b"Content-Type: multipart/mixed; boundary=never\r\n"
        b"\r\n"
        b"preamble https://pre.example/a\r\n"
        b"--nope\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"SG9sYSBDYXJtZW4gaHR0cHM6Ly9hLmV4YW1wbGUv!!!\r\n" + b"junk \x00\x01 line\r\n" * 20
    )


INPUTS: dict[str, bytes] = {
    "plain": plain_message(),
    "campaign": campaign_message(),
    "malformed": malformed_message(),
}


def floor(raw: bytes) -> Any:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def rate(fn: Callable[[bytes], Any], raws: list[bytes], seconds: float) -> float:
    """Messages per CPU second of `fn` over `raws` (cycled), timed for about `seconds`.

    CPU time of this process, not wall time: on a shared machine the other
    processes then cost us cache and memory bandwidth, not whole time slices.
    """
    n = 0
    t0 = time.process_time()
    deadline = t0 + seconds
    while True:
        for raw in raws:
            fn(raw)
        n += len(raws)
        now = time.process_time()
        if now >= deadline:
            return n / (now - t0)


def load_impl(path: str) -> Callable[[bytes], Any]:
    name = f"compare_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    fn: Callable[[bytes], Any] = module.parse_message
    return fn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=0.25, help="per timed run")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--compare", action="append", default=[], metavar="FILE")
    args = ap.parse_args()

    impls: dict[str, Callable[[bytes], Any]] = {"floor": floor, "ours": parse_message}
    for path in args.compare:
        impls[Path(path).stem] = load_impl(path)
    for name, raw in INPUTS.items():
        print(f"{name}: {len(raw)} bytes")
    cases = {name: [raw] for name, raw in INPUTS.items()}
    cases["mix"] = list(INPUTS.values())

    print(f"\n{'input':<10}" + "".join(f"{k:>14}" for k in impls) + "   ours/floor")
    for case, raws in cases.items():
        for fn in impls.values():  # warm up
            rate(fn, raws, 0.05)
        runs: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(args.reps):
            for name, fn in impls.items():  # interleaved, so load drifts hit all alike
                runs[name].append(rate(fn, raws, args.seconds))
        med = {k: statistics.median(v) for k, v in runs.items()}
        spread = (
            max((max(v) - min(v)) / statistics.median(v) for v in runs.values() if len(v) > 1)
            if args.reps > 1
            else 0.0
        )
        cells = "".join(f"{med[k]:>10,.0f} m/s" for k in impls)
        others = "".join(
            f"   ours/{k} {med['ours'] / med[k]:.2f}x" for k in impls if k not in ("floor", "ours")
        )
        print(
            f"{case:<10}{cells}   {med['ours'] / med['floor']:.2f}x{others}   (spread {spread:.0%})"
        )


if __name__ == "__main__":
    main()
