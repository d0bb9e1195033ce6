"""Provider payloads to `Observation`s, after their signature has been checked.

Pure functions: parsed request fields in, observations out. They trust nothing about
shapes or types (a verified request can still be odd), bound every string, and raise
`Malformed` for anything they cannot read, which the app answers with 400.

The canary number is always ours, the `To` side, normalised to E.164 (Mexican
`+521...` is `+52...`); the sender's number, name and ids, and the text are evidence.
A message to one of our numbers that no canary holds is still recorded: the request
is authentic (signed by our provider account), and attribution classifies it
`unattributed`, which is what an investigator wants to see (a number not yet
registered, or a probe of the pool) without it alerting as a copy's leak.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import islice
from typing import Any

from canary.hits.record import CHANNELS, Observation, clip
from canary.identifiers import normalize_phone

MAX_FIELD = 2000
MAX_FIELDS = 200
MAX_TEXT = 5000
EVIDENCE_TYPE = "message/http"
PHONE_CHARS = re.compile(r"^[+\d][\d \t().\-/]{0,40}$")


class Malformed(ValueError):
    """The payload cannot be read; the app answers 400."""


def number(value: str) -> str:
    """E.164 when `value` is a phone number in any form, else the bounded raw text."""
    v = value.strip()
    bare = v.split(":", 1)[1] if v.lower().startswith(("whatsapp:", "tel:", "sms:")) else v
    if not PHONE_CHARS.match(bare):
        return clip(v, 200)
    return normalize_phone(v, strict=False) or clip(v, 200)


def _str(value: Any, limit: int = MAX_FIELD) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Malformed("expected a string")
    return clip(str(value), limit)


def _fields(params: Mapping[str, list[str]]) -> dict[str, Any]:
    """Every received field, bounded, for `details` (one value or a list)."""
    out: dict[str, Any] = {}
    for name in islice(params, MAX_FIELDS):
        given = params[name]
        if len(given) == 1:  # the usual field: no list made
            out[clip(name, 100)] = clip(given[0], MAX_FIELD)
            continue
        values = [clip(v, MAX_FIELD) for v in given[:20]]
        out[clip(name, 100)] = values[0] if len(values) == 1 else values
    return out


def _first(params: Mapping[str, list[str]], *names: str) -> str:
    for n in names:
        vals = params.get(n)
        if vals and vals[0].strip():
            return vals[0].strip()
    return ""


def loads(body: bytes) -> Any:
    """JSON from raw bytes, or Malformed."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"body is not JSON: {exc.__class__.__name__}") from exc


# --- Twilio ------------------------------------------------------------------------


def twilio_message(params: Mapping[str, list[str]], evidence: bytes) -> list[Observation]:
    """An inbound SMS or WhatsApp message; status callbacks make no hit."""
    status = _first(params, "MessageStatus")
    if status and status.lower() != "received":
        return []
    sid = _first(params, "MessageSid", "SmsMessageSid", "SmsSid")
    to = _first(params, "To")
    if not sid or not to:
        raise Malformed("MessageSid and To are required")
    sender_raw = _first(params, "From")
    whatsapp = to.lower().startswith("whatsapp:") or sender_raw.lower().startswith("whatsapp:")
    text = clip(_first(params, "Body"), MAX_TEXT)
    name = clip(_first(params, "ProfileName"), 200)
    details = {"fields": _fields(params), "sender_name": name, "to": clip(to, 200)}
    return [
        Observation(
            channel="whatsapp" if whatsapp else "sms",
            identifier=number(to),
            sender=number(sender_raw) if sender_raw else "",
            summary=text,
            provider="twilio",
            provider_message_id=clip(sid, 300),
            evidence=evidence,
            evidence_type=EVIDENCE_TYPE,
            details=details,
            text=f"{text}\n{name}".strip(),
        )
    ]


def twilio_call(params: Mapping[str, list[str]], evidence: bytes) -> list[Observation]:
    """An inbound call (rejected busy by the route)."""
    sid = _first(params, "CallSid")
    to = _first(params, "To", "Called")
    if not sid or not to:
        raise Malformed("CallSid and To are required")
    sender_raw = _first(params, "From", "Caller")
    name = clip(_first(params, "CallerName"), 200)
    status = clip(_first(params, "CallStatus"), 50)
    summary = f"call from {sender_raw or 'unknown'}" + (f" ({name})" if name else "")
    return [
        Observation(
            channel="voice",
            identifier=number(to),
            sender=number(sender_raw) if sender_raw else "",
            summary=clip(summary, 500) + (f" [{status}]" if status else ""),
            provider="twilio",
            provider_message_id=clip(sid, 300),
            evidence=evidence,
            evidence_type=EVIDENCE_TYPE,
            details={"fields": _fields(params), "sender_name": name, "to": clip(to, 200)},
            text=name,
        )
    ]


def json_params(doc: Any) -> dict[str, list[str]]:
    """A flat JSON object (Twilio JSON bodies, Vonage POST-JSON) as form-like params."""
    if not isinstance(doc, dict):
        raise Malformed("expected a JSON object")
    out: dict[str, list[str]] = {}
    for k, v in list(doc.items())[:MAX_FIELDS]:
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            out[str(k)] = [str(v)]
    return out


# --- Meta WhatsApp Cloud API ----------------------------------------------------------


def _wa_text(msg: dict[str, Any]) -> str:
    kind = msg.get("type")
    for path in (
        ("text", "body"),
        ("image", "caption"),
        ("video", "caption"),
        ("document", "caption"),
        ("button", "text"),
        ("interactive", "button_reply", "title"),
        ("interactive", "list_reply", "title"),
        ("reaction", "emoji"),
        ("location", "name"),
    ):
        node: Any = msg
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return clip(node, MAX_TEXT)
    return f"[{_str(kind, 50)}]" if kind else ""


def whatsapp(doc: Any, evidence: bytes) -> list[Observation]:
    """One observation per message in a Cloud API payload; statuses make none."""
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), list):
        raise Malformed("expected {'entry': [...]}")
    out: list[Observation] = []
    for entry in doc["entry"][:100]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise Malformed("entry without changes")
        for change in changes[:100]:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise Malformed("change without value")
            messages = value.get("messages") or []
            if not messages:
                continue  # statuses, errors, other fields: acknowledged, not hits
            if not isinstance(messages, list):
                raise Malformed("messages must be a list")
            metadata = value.get("metadata")
            ours = (
                _str(metadata.get("display_phone_number"), 30) if isinstance(metadata, dict) else ""
            )
            if not ours:
                raise Malformed("metadata.display_phone_number is required")
            names = _contacts(value.get("contacts"))
            for msg in messages[:1000]:
                out.append(_wa_message(msg, ours, names, evidence))
    return out


def _contacts(contacts: Any) -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {}
    if not isinstance(contacts, list):
        return names
    for c in contacts[:1000]:
        if not isinstance(c, dict):
            continue
        profile: dict[str, Any] = c["profile"] if isinstance(c.get("profile"), dict) else {}
        info = {
            "name": _str(profile.get("name"), 200),
            "username": _str(profile.get("username"), 200),
            "wa_id": _str(c.get("wa_id"), 50),
            "user_id": _str(c.get("user_id"), 200),
        }
        for key in (info["wa_id"], info["user_id"]):
            if key:
                names[key] = info
    return names


def _wa_message(
    msg: Any, ours: str, names: dict[str, dict[str, str]], evidence: bytes
) -> Observation:
    if not isinstance(msg, dict):
        raise Malformed("message must be an object")
    wamid = _str(msg.get("id"), 300)
    if not wamid:
        raise Malformed("message without id")
    phone = _str(msg.get("from"), 50)
    user_id = _str(msg.get("from_user_id") or msg.get("user_id"), 200)
    contact = names.get(phone) or names.get(user_id) or {}
    user_id = user_id or contact.get("user_id", "")
    sender = number("+" + phone.lstrip("+")) if phone else user_id
    text = _wa_text(msg)
    name = contact.get("name", "")
    return Observation(
        channel="whatsapp",
        identifier=number("+" + ours.lstrip("+")),
        sender=sender,
        summary=text,
        provider="whatsapp",
        provider_message_id=wamid,
        evidence=evidence,
        evidence_type=EVIDENCE_TYPE,
        details={
            "sender_name": name,
            "sender_username": contact.get("username", ""),
            "sender_user_id": user_id,
            "sender_phone": phone,
            "type": _str(msg.get("type"), 50),
            "timestamp": _str(msg.get("timestamp"), 30),
        },
        text=f"{text}\n{name}".strip(),
    )


# --- Vonage, Telnyx, generic ------------------------------------------------------------


def vonage(params: Mapping[str, str], evidence: bytes) -> list[Observation]:
    """A Vonage SMS API inbound message (`msisdn` sends to our `to`)."""
    to, msg_id = params.get("to", "").strip(), params.get("messageId", "").strip()
    if not to or not msg_id:
        raise Malformed("to and messageId are required")
    text = clip(params.get("text", ""), MAX_TEXT)
    sender = params.get("msisdn", "").strip()
    return [
        Observation(
            channel="sms",
            identifier=number("+" + to.lstrip("+")),
            sender=number("+" + sender.lstrip("+")) if sender else "",
            summary=text,
            provider="vonage",
            provider_message_id=clip(msg_id, 300),
            evidence=evidence,
            evidence_type=EVIDENCE_TYPE,
            details={"fields": _fields({k: [v] for k, v in params.items()})},
            text=text,
        )
    ]


def telnyx(doc: Any, evidence: bytes) -> list[Observation]:
    """A `message.received` event, one observation per `to` number; other events none."""
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        raise Malformed("expected {'data': {...}}")
    if data.get("event_type") != "message.received":
        return []
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise Malformed("message.received without payload")
    msg_id = _str(payload.get("id"), 300)
    recipients = payload.get("to")
    if isinstance(recipients, dict):
        recipients = [recipients]
    if not msg_id or not isinstance(recipients, list) or not recipients:
        raise Malformed("payload.id and payload.to are required")
    sender_node: dict[str, Any] = payload["from"] if isinstance(payload.get("from"), dict) else {}
    sender = _str(sender_node.get("phone_number"), 50)
    text = _str(payload.get("text"), MAX_TEXT)
    seen: set[str] = set()
    out = []
    for r in recipients[:50]:
        to = _str(r.get("phone_number"), 50) if isinstance(r, dict) else _str(r, 50)
        ident = number(to) if to else ""
        if not ident or ident in seen:
            continue
        seen.add(ident)
        out.append(
            Observation(
                channel="sms",
                identifier=ident,
                sender=number(sender) if sender else "",
                summary=text,
                provider="telnyx",
                provider_message_id=msg_id,
                evidence=evidence,
                evidence_type=EVIDENCE_TYPE,
                details={
                    "event_id": _str(data.get("id"), 100),
                    "type": _str(payload.get("type"), 20),
                    "carrier": _str(sender_node.get("carrier"), 100),
                    "received_at": _str(payload.get("received_at"), 50),
                },
                text=text,
            )
        )
    if not out:
        raise Malformed("payload.to holds no number")
    return out


GENERIC_CHANNELS = frozenset(CHANNELS) - {"import", "dns"}


def generic(doc: Any, evidence: bytes) -> list[Observation]:
    """`{"id", "to", "from", "channel", "body"}` from any relay we sign for."""
    if not isinstance(doc, dict):
        raise Malformed("expected a JSON object")
    msg_id, to = _str(doc.get("id"), 300), _str(doc.get("to"), 500)
    if not msg_id or not to:
        raise Malformed("id and to are required")
    channel = _str(doc.get("channel"), 30) or "webhook"
    sender = _str(doc.get("from"), 500)
    text = _str(doc.get("body"), MAX_TEXT)
    return [
        Observation(
            channel=channel if channel in GENERIC_CHANNELS else "webhook",
            identifier=to if "@" in to else number(to),
            sender=(sender if "@" in sender else number(sender)) if sender else "",
            summary=text,
            provider="generic",
            provider_message_id=msg_id,
            evidence=evidence,
            evidence_type=EVIDENCE_TYPE,
            details={"channel": channel},
            text=text,
        )
    ]
