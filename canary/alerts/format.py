"""Turning an alert payload into text, and escaping that text for each medium.

Everything in a payload that came from a hit (sender, subject, message text, the
contacted address) was written by the adversary. It is shown as plain text only:
control characters are dropped, lengths are bounded, and each medium gets its own
escaping (Slack mrkdwn, Teams card markdown, HTML mail), so nothing an attacker
wrote can become a mention, a link, an image or a script.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from canary.text import safe_text

MAX_FIELD = 300
MAX_SUMMARY = 400


def plain(value: Any, limit: int = MAX_FIELD) -> str:
    """One line of plain text: control and bidi characters become spaces, bounded."""
    text = re.sub(r" {2,}", " ", safe_text(value, limit * 4))
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What Slack turns into a link by itself: a scheme's "://", a dot before a letter in
#: a host name or an address ("evil.example", "a@b.example"), "www." and the like.
_SLACK_SCHEME = re.compile(r"(?i)([a-z][a-z0-9+.-]*):(/*)")
_SLACK_DOT = re.compile(r"(?<=[\w-])\.(?=[^\W\d_])")


def escape_slack(text: str) -> str:
    """Slack mrkdwn: &, < and > escaped (mentions, links), and anything Slack would
    auto-link defanged: "https://evil.example/x" shows as "https[:]//evil[.]example/x"."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SLACK_SCHEME.sub(
        lambda m: (
            f"{m[1]}[:]{m[2]}"
            if m[2]
            or m[1].lower() in ("mailto", "tel", "sms", "slack", "javascript", "data", "file")
            else m[0]
        ),
        text,
    )
    return _SLACK_DOT.sub("[.]", text)


def _slack_url(url: str) -> str:
    """Our own link (to the dashboard), as Slack's <url|label> wants it."""
    return url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()~])")
_MD_LIST = re.compile(r"^(\s*)(?:([-+])|(\d+)\.)(?=\s)")


def escape_teams(text: str) -> str:
    """Adaptive Card text: HTML entities for & < >, a backslash before the marks of its
    markdown subset (emphasis, links, `{{...}}` functions) and before a leading list mark."""
    out = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _MD_LIST.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\.", out, count=1)


def escape_html(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class Rendered:
    """An alert as text: a subject line, labelled facts, an optional link."""

    subject: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str = ""
    note: str = ""

    def text(self) -> str:
        """The plain-text body (mail, syslog, JSON lines)."""
        lines = [self.subject, ""]
        width = max((len(k) for k, _ in self.facts), default=0)
        lines += [f"{k.ljust(width)}  {v}" for k, v in self.facts]
        if self.link:
            lines += ["", f"Details: {self.link}"]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def one_line(self) -> str:
        """Subject and facts on a single line (syslog)."""
        parts = [self.subject] + [f"{k}: {v}" for k, v in self.facts]
        if self.link:
            parts.append(f"details: {self.link}")
        return " | ".join(parts)


def hit_link(admin: str, hit_id: Any) -> str:
    """Link to a hit on the admin listener (listen.admin is HOST:PORT or a URL)."""
    if hit_id in (None, ""):
        return ""
    base = admin if "://" in admin else f"http://{admin}"
    return f"{base.rstrip('/')}/hits/{int(hit_id)}"


def _noise_line(noise: dict[str, Any] | None) -> str:
    if not noise:
        return ""
    days = noise.get("window_days", 30)
    ev = int(noise.get("evidence", 0))
    nz = int(noise.get("noise", 0))
    un = int(noise.get("unattributed", 0))
    share = noise.get("noise_share")
    pct = f"{share * 100:.0f}%" if isinstance(share, int | float) else "n/a"
    line = (
        f"last {days} days: {ev} evidence, {nz} noise (control/burn-in), "
        f"{un} unattributed hits; noise share {pct}"
    )
    if noise.get("controls"):
        line += (
            f"; {int(noise.get('controls_hit', 0))} of {int(noise['controls'])} "
            "control canaries contacted"
        )
    return line


CLASS_LABEL = {
    "evidence": "EVIDENCE",
    "unattributed": "UNATTRIBUTED (no copy named)",
    "control": "NOISE (control canary, never planted)",
    "burn-in": "NOISE (number in burn-in)",
    "noise": "NOISE (marked as noise by the security team)",
}


def render(payload: dict[str, Any], admin: str = "127.0.0.1:8026") -> Rendered:
    """The text of an alert payload (see canary.alerts.messages for its shape)."""
    kind = payload.get("kind", "")
    cls = payload.get("classification", "")
    copy = payload.get("copy") or {}
    hit = payload.get("hit") or {}
    facts: list[tuple[str, str]] = []
    if kind == "test":
        return Rendered(
            subject="[canary] Test alert",
            facts=[("Sent at", plain(payload.get("sent_at")))],
            note="This is a test of the alert channel; no hit was observed.",
        )
    if kind == "system":
        return Rendered(
            subject=f"[canary] {plain(payload.get('title'), 200)}",
            facts=[(plain(k, 40), plain(v)) for k, v in (payload.get("facts") or {}).items()],
            note=plain(payload.get("fix"), 500),
        )
    if copy:
        who = f"copy {plain(copy.get('id'), 40)} (issued to {plain(copy.get('recipient'), 120)})"
    else:
        who = f"{plain(payload.get('scope'), 200) or 'a canary domain'}"
    attr = payload.get("attribution") or {}
    cands = [c for c in attr.get("candidates") or [] if isinstance(c, dict)]
    shared = attr.get("strength") in ("shared", "coded") and len(cands) > 1
    if kind == "digest":
        counts = payload.get("counts") or {}
        subject = f"[canary] Digest: {int(counts.get('new', 0))} more hits on {who}"
    elif cls == "evidence" and shared:
        names = ", ".join(plain(c.get("copy"), 40) for c in cands[:10])
        subject = (
            f"[canary] SHARED contact: a canary held by {len(cands)} copies ({names}); "
            "no single copy is proven"
        )
    elif cls == "evidence":
        subject = f"[canary] LEAK: first hit on {who}"
    elif cls == "unattributed":
        subject = f"[canary] Unattributed contact: {who}"
    else:
        subject = f"[canary] Noise: {who}"
    facts.append(("Classification", CLASS_LABEL.get(cls, plain(cls, 30))))
    if shared:
        facts.append(
            (
                "Attribution",
                f"SHARED: {len(cands)} candidate copies hold what was contacted; "
                "each is listed with its false-accusation probability",
            )
        )
        for i, c in enumerate(cands[:10], 1):
            p = c.get("false_accusation_probability")
            facts.append(
                (
                    f"Candidate {i}",
                    f"{plain(c.get('copy'), 40)} score {_num(c.get('score'))}, "
                    f"false-accusation probability {_num(p)}: {plain(c.get('reason'), 300)}",
                )
            )
    elif attr.get("strength") == "exclusive" and cands:
        facts.append(
            (
                "Attribution",
                "EXCLUSIVE: only this copy held what was contacted; false-accusation "
                f"probability {_num(cands[0].get('false_accusation_probability'))}",
            )
        )
    if copy and shared:
        facts += [
            ("Best candidate", plain(copy.get("id"), 40)),
            ("Issued to", plain(copy.get("recipient"))),
        ]
    elif copy:
        facts += [
            ("Copy", plain(copy.get("id"), 40)),
            ("Issued to", plain(copy.get("recipient"))),
            ("Issued at", plain(copy.get("issued_at"), 40)),
            ("Issued by", plain(copy.get("issued_by")) or "-"),
            ("Purpose", plain(copy.get("purpose")) or "-"),
            ("Dataset", plain(copy.get("dataset")) or "-"),
        ]
        if copy.get("others"):
            facts.append(("Also possible", plain(", ".join(copy["others"]), 200)))
    if kind == "digest":
        counts = payload.get("counts") or {}
        facts += [
            ("New hits", str(int(counts.get("new", 0)))),
            ("Total hits", str(int(counts.get("total", 0)))),
            ("Since", plain(counts.get("since"), 40)),
        ]
        if int(counts.get("shared") or 0):
            facts.append(
                (
                    "Shared hits",
                    f"{int(counts['shared'])} of the new hits reached a canary other copies "
                    "hold too: they do not point at this copy alone",
                )
            )
        for label, key in (("By class", "by_classification"), ("By channel", "by_channel")):
            part = counts.get(key) or {}
            if part:
                facts.append(
                    (label, ", ".join(f"{plain(k, 20)} {int(v)}" for k, v in part.items()))
                )
        for i, s in enumerate(payload.get("samples") or [], 1):
            facts.append(
                (
                    f"Sample {i}",
                    f"{plain(s.get('observed_at'), 40)} {plain(s.get('channel'), 20)} "
                    f"from {plain(s.get('sender'), 120) or '?'}: "
                    f"{plain(s.get('summary'), 160) or '-'}",
                )
            )
    if hit:
        facts += [
            ("Channel", plain(hit.get("channel"), 20)),
            ("Observed at", plain(hit.get("observed_at"), 40)),
            ("Contacted", plain(hit.get("identifier"), 200)),
            ("Sender", plain(hit.get("sender")) or "-"),
            ("Message", plain(hit.get("summary"), MAX_SUMMARY) or "-"),
        ]
    noise = _noise_line(payload.get("noise"))
    if noise:
        facts.append(("Noise rate", noise))
    facts.append(("Incident", plain(payload.get("incident", {}).get("id"), 20)))
    return Rendered(subject=plain(subject, 250), facts=facts, link=hit_link(admin, hit.get("id")))


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else "?"


def html_body(r: Rendered) -> str:
    """An HTML alternative for mail: every value escaped."""
    rows = "".join(
        f"<tr><th align='left'>{escape_html(k)}</th><td>{escape_html(v)}</td></tr>"
        for k, v in r.facts
    )
    link = f'<p><a href="{escape_html(r.link)}">{escape_html(r.link)}</a></p>' if r.link else ""
    note = f"<p>{escape_html(r.note)}</p>" if r.note else ""
    return (
        f"<html><body><h3>{escape_html(r.subject)}</h3>"
        f"<table>{rows}</table>{link}{note}</body></html>"
    )


def slack_message(r: Rendered) -> dict[str, Any]:
    """Slack incoming-webhook body: blocks with mrkdwn, every value escaped."""
    facts = "\n".join(f"*{escape_slack(k)}:* {escape_slack(v)}" for k, v in r.facts)
    if r.link:
        facts += f"\n<{_slack_url(r.link)}|Open the hit>"
    if r.note:
        facts += f"\n{escape_slack(r.note)}"
    return {
        "text": escape_slack(r.subject),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": escape_slack(r.subject[:150])},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": facts[:2900]}},
        ],
    }


def teams_message(r: Rendered) -> dict[str, Any]:
    """Teams incoming-webhook body: an Adaptive Card with escaped text blocks and facts."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": escape_teams(r.subject), "weight": "Bolder", "wrap": True},
        {
            "type": "FactSet",
            "facts": [{"title": escape_teams(k), "value": escape_teams(v)} for k, v in r.facts],
        },
    ]
    if r.note:
        body.append({"type": "TextBlock", "text": escape_teams(r.note), "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if r.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the hit", "url": r.link}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
