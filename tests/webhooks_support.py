"""Helpers for the webhook tests: a real uvicorn server in a thread, signed requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from nacl.signing import SigningKey
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from canary.config import Config
from canary.store.engine import Store
from canary.store.models import Blob, Hit
from listeners.webhooks import create_app
from tests.alerts_support import wait_for
from tests.conftest import free_port

PUBLIC_URL = "https://hooks.example.org"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
META_SECRET = "meta-app-secret"
META_VERIFY = "verify-me-please"
VONAGE_SECRET = "vonage-signature-secret"
GENERIC_SECRET = "generic-shared-secret"
TELNYX_KEY = SigningKey(bytes(range(32)))


def signed_config(**overrides: Any) -> Config:
    """A config with every provider's secret set and a public URL unlike the local one."""
    cfg = Config()
    cfg.listen.public_url = PUBLIC_URL
    p = cfg.providers
    p.twilio.auth_token = TWILIO_TOKEN
    p.whatsapp.app_secret = META_SECRET
    p.whatsapp.verify_token = META_VERIFY
    p.vonage.signature_secret = VONAGE_SECRET
    p.vonage.signature_method = overrides.get("vonage_method", "md5hash")
    p.telnyx.public_key = base64.b64encode(bytes(TELNYX_KEY.verify_key)).decode()
    p.generic.secret = GENERIC_SECRET
    return cfg


@contextmanager
def running(store: Store, config: Config, **kwargs: Any) -> Iterator[httpx.Client]:
    """The webhook app under a real uvicorn server on a free port; yields a client for it."""
    port = free_port()
    app = create_app(store, config, **kwargs)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(60)
        app.state.webhooks.attributor.close()  # attribute what the requests left pending


def count(store: Store, model: type = Hit) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def hits(store: Store) -> list[Hit]:
    with store.session() as s:
        rows = list(s.scalars(select(Hit).order_by(Hit.id)))
        for h in rows:
            _ = [c.copy_id for c in h.candidates]
        return rows


def nothing_stored(store: Store) -> bool:
    return count(store, Hit) == 0 and count(store, Blob) == 0


# --- signed requests, computed with the providers' references -------------------------


def twilio_post(
    client: httpx.Client, path: str, params: dict[str, str], token: str = TWILIO_TOKEN
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def meta_post(client: httpx.Client, doc: Any, secret: str = META_SECRET) -> httpx.Response:
    body = json.dumps(doc, ensure_ascii=False).encode()
    header = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/whatsapp",
        content=body,
        headers={"X-Hub-Signature-256": header, "Content-Type": "application/json"},
    )


def vonage_sig(params: dict[str, str], secret: str = VONAGE_SECRET, method: str = "md5hash") -> str:
    s = "".join(f"&{k}={v.replace('&', '_').replace('=', '_')}" for k, v in sorted(params.items()))
    if method == "md5hash":
        return hashlib.md5((s + secret).encode()).hexdigest()
    return hmac.new(secret.encode(), s.encode(), method).hexdigest()


def vonage_post(
    client: httpx.Client, params: dict[str, str], *, as_query: bool = False, **kw: Any
) -> httpx.Response:
    signed = {**params, "sig": vonage_sig(params, **kw)}
    if as_query:
        return client.post("/hooks/vonage/sms?" + urlencode(signed))
    return client.post("/hooks/vonage/sms", data=signed)


def telnyx_post(
    client: httpx.Client, doc: Any, *, ts: int | None = None, key: SigningKey = TELNYX_KEY
) -> httpx.Response:
    body = json.dumps(doc).encode()
    stamp = str(int(time.time()) if ts is None else ts)
    signature = base64.b64encode(key.sign(stamp.encode() + b"|" + body).signature).decode()
    return client.post(
        "/hooks/telnyx",
        content=body,
        headers={
            "telnyx-signature-ed25519": signature,
            "telnyx-timestamp": stamp,
            "Content-Type": "application/json",
        },
    )


def generic_post(
    client: httpx.Client, doc: Any, *, ts: int | None = None, secret: str = GENERIC_SECRET
) -> httpx.Response:
    body = json.dumps(doc).encode()
    stamp = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return client.post(
        "/hooks/generic",
        content=body,
        headers={
            "X-Canary-Timestamp": stamp,
            "X-Canary-Signature": "sha256=" + mac,
            "Content-Type": "application/json",
        },
    )


def whatsapp_doc(
    ours: str, messages: list[dict[str, Any]], contacts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": ours,
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": contacts or [],
                            "messages": messages,
                        },
                    }
                ],
            }
        ],
    }


def wa_text(wamid: str, sender: str | None, body: str, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
        **extra,
    }
    if sender is not None:
        msg["from"] = sender
    return msg


def telnyx_doc(
    msg_id: str, sender: str, to: str, text: str, event: str = "message.received"
) -> Any:
    return {
        "data": {
            "event_type": event,
            "id": "evt-" + msg_id,
            "occurred_at": "2026-11-23T12:00:00Z",
            "payload": {
                "id": msg_id,
                "from": {"phone_number": sender, "carrier": "Telcel"},
                "to": [{"phone_number": to, "status": "webhook_delivered"}],
                "text": text,
                "type": "SMS",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1},
    }
