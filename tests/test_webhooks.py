"""The public webhook listener end to end: real uvicorn, real httpx, signed like providers."""

from __future__ import annotations

import concurrent.futures
import socket
import time
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select

from canary.store.engine import Store
from canary.store.models import Blob
from listeners.payloads import Malformed
from listeners.webhooks import MAX_FORM_FIELDS, form_params
from tests.alerts_support import add_copy
from tests.webhooks_support import (
    META_VERIFY,
    TWILIO_TOKEN,
    count,
    generic_post,
    hits,
    meta_post,
    nothing_stored,
    running,
    signed_config,
    telnyx_doc,
    telnyx_post,
    twilio_post,
    vonage_post,
    wa_text,
    whatsapp_doc,
)

CANARY = "+525512345678"  # Mexico City; WhatsApp and Twilio send it as +5215512345678
OTHER = "+525587654321"
LEAKER = "+5218441234567"


def sms_params(sid: str = "SM0001", to: str = CANARY, body: str = "Hola, ¿votarás?") -> dict:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC123",
        "From": LEAKER,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
    }


# --- Twilio --------------------------------------------------------------------------


def test_twilio_sms_makes_one_hit_traced_to_the_copy(store: Store) -> None:
    copy_id = add_copy(store, "Vendor A", phones=[CANARY])
    add_copy(store, "Vendor B", phones=[OTHER])
    with running(store, signed_config()) as client:
        r = twilio_post(client, "/hooks/twilio/sms", sms_params())
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/xml")
        assert r.text == "<Response/>"
    (hit,) = hits(store)
    assert hit.channel == "sms" and hit.identifier == CANARY
    assert [c.copy_id for c in hit.candidates] == [copy_id]
    assert hit.sender == "+528441234567"
    assert hit.summary == "Hola, ¿votarás?"
    assert hit.provider == "twilio" and hit.provider_message_id == "SM0001"
    with store.session() as s:
        blob = s.get(Blob, hit.evidence_sha256)
        assert blob is not None
        assert blob.data.startswith(b"POST /hooks/twilio/sms HTTP/1.1\r\n")
        assert b"x-twilio-signature: " in blob.data.lower()
        assert blob.data.endswith(
            b"Body=Hola%2C+%C2%BFvotar%C3%A1s%3F&NumMedia=0&SmsStatus=received"
        )


def test_twilio_whatsapp_mexican_521_reaches_the_52_canary(sqlite_store: Store) -> None:
    copy_id = add_copy(sqlite_store, "Partido X", phones=[CANARY])
    params = sms_params("SMwa1", to="whatsapp:+5215512345678")
    params.update(From="whatsapp:" + LEAKER, ProfileName="Juan Pérez", WaId="5218441234567")
    with running(sqlite_store, signed_config()) as client:
        assert twilio_post(client, "/hooks/twilio/sms", params).status_code == 200
    (hit,) = hits(sqlite_store)
    assert hit.channel == "whatsapp" and hit.identifier == CANARY
    assert [c.copy_id for c in hit.candidates] == [copy_id]
    assert hit.details["sender_name"] == "Juan Pérez"


def test_twilio_voice_rejects_busy_and_records_the_call(sqlite_store: Store) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    params = {
        "CallSid": "CA42",
        "From": LEAKER,
        "To": CANARY,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "CallerName": "CAMPAÑA",
    }
    with running(sqlite_store, signed_config()) as client:
        r = twilio_post(client, "/hooks/twilio/voice", params)
        assert r.status_code == 200
        assert r.text == '<Response><Reject reason="busy"/></Response>'
    (hit,) = hits(sqlite_store)
    assert hit.channel == "voice" and hit.provider_message_id == "CA42"
    assert [c.copy_id for c in hit.candidates] == [copy_id]
    assert "CAMPAÑA" in hit.summary


def test_twilio_forged_missing_and_wrong_url_signatures_store_nothing(store: Store) -> None:
    add_copy(store, "Vendor A", phones=[CANARY])
    with running(store, signed_config()) as client:
        assert (
            twilio_post(client, "/hooks/twilio/sms", sms_params(), token="wrong").status_code == 403
        )
        assert client.post("/hooks/twilio/sms", data=sms_params()).status_code == 403
        # Signed for the local URL instead of the public one.
        from twilio.request_validator import RequestValidator

        local = str(client.base_url) + "/hooks/twilio/sms"
        sig = RequestValidator("twilio-auth-token-0123456789abcdef").compute_signature(
            local, sms_params()
        )
        r = client.post("/hooks/twilio/sms", data=sms_params(), headers={"X-Twilio-Signature": sig})
        assert r.status_code == 403
        # A field added after signing.
        params = sms_params()
        good = RequestValidator("twilio-auth-token-0123456789abcdef").compute_signature(
            "https://hooks.example.org/hooks/twilio/sms", params
        )
        r = client.post(
            "/hooks/twilio/sms", data={**params, "Extra": "1"}, headers={"X-Twilio-Signature": good}
        )
        assert r.status_code == 403
    assert nothing_stored(store)


def test_unconfigured_secret_refuses_with_a_log_line(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = signed_config()
    cfg.providers.twilio.auth_token = ""
    with running(sqlite_store, cfg) as client:
        r = twilio_post(client, "/hooks/twilio/sms", sms_params(), token="")
        assert r.status_code == 403
    assert nothing_stored(sqlite_store)
    assert any("providers.twilio.auth_token is not configured" in m for m in caplog.messages)


def test_twilio_retry_is_acknowledged_without_a_second_hit(sqlite_store: Store) -> None:
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        for _ in range(3):
            assert twilio_post(client, "/hooks/twilio/sms", sms_params()).status_code == 200
    assert count(sqlite_store) == 1


def test_twilio_status_callback_is_not_a_hit(sqlite_store: Store) -> None:
    params = {**sms_params("SMout"), "MessageStatus": "delivered"}
    with running(sqlite_store, signed_config()) as client:
        assert twilio_post(client, "/hooks/twilio/sms", params).status_code == 200
    assert count(sqlite_store) == 0


def test_malformed_and_oversize_requests(sqlite_store: Store) -> None:
    with running(sqlite_store, signed_config(), max_body=4096) as client:
        # Signed, but without MessageSid.
        params = sms_params()
        del params["MessageSid"], params["SmsMessageSid"]
        assert twilio_post(client, "/hooks/twilio/sms", params).status_code == 400
        assert meta_post(client, {"entry": "nope"}).status_code == 400
        assert meta_post(client, [1, 2]).status_code == 400
        assert generic_post(client, {"to": CANARY}).status_code == 400
        assert telnyx_post(client, {"data": {"event_type": "message.received"}}).status_code == 400
        big = sms_params(body="x" * 5000)
        assert twilio_post(client, "/hooks/twilio/sms", big).status_code == 413

        # A body streamed without Content-Length is bounded as well.
        def chunks():
            for _ in range(10):
                yield b"a" * 1000

        r = client.post("/hooks/generic", content=chunks())
        assert r.status_code == 413
    assert nothing_stored(sqlite_store)


def test_body_larger_than_content_length_claims_is_refused(sqlite_store: Store) -> None:
    """A lying Content-Length cannot smuggle a big body past the limit."""
    with running(sqlite_store, signed_config(), max_body=4096) as client:
        host, port = client.base_url.host, client.base_url.port
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(
                b"POST /hooks/generic HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"".join(b"%x\r\n%s\r\n" % (1000, b"b" * 1000) for _ in range(8))
                + b"0\r\n\r\n"
            )
            reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413")
    assert nothing_stored(sqlite_store)


def test_concurrent_duplicate_deliveries_make_one_hit(store: Store) -> None:
    copy_id = add_copy(store, "Vendor A", phones=[CANARY])
    with running(store, signed_config()) as client:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(
                    lambda i: (
                        twilio_post(client, "/hooks/twilio/sms", sms_params("SMdup")).status_code
                    ),
                    range(32),
                )
            )
    assert codes == [200] * 32
    (hit,) = hits(store)
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_many_concurrent_distinct_messages_all_recorded(sqlite_store: Store) -> None:
    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(
                    lambda i: (
                        twilio_post(client, "/hooks/twilio/sms", sms_params(f"SM{i}")).status_code
                    ),
                    range(120),
                )
            )
    assert codes == [200] * 120
    assert sorted(h.provider_message_id for h in hits(sqlite_store)) == sorted(
        f"SM{i}" for i in range(120)
    )


# --- Meta WhatsApp ---------------------------------------------------------------------


def test_whatsapp_verification_handshake(sqlite_store: Store) -> None:
    with running(sqlite_store, signed_config()) as client:
        ok = client.get(
            "/hooks/whatsapp",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": META_VERIFY,
                "hub.challenge": "1158201444",
            },
        )
        assert ok.status_code == 200 and ok.text == "1158201444"
        bad = client.get(
            "/hooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        )
        assert bad.status_code == 403 and "1" not in bad.text.replace("403", "")
        wrong_mode = client.get(
            "/hooks/whatsapp",
            params={
                "hub.mode": "unsubscribe",
                "hub.verify_token": META_VERIFY,
                "hub.challenge": "1",
            },
        )
        assert wrong_mode.status_code == 403


def test_whatsapp_several_messages_one_hit_each(store: Store) -> None:
    a = add_copy(store, "Vendor A", phones=[CANARY])
    b = add_copy(store, "Vendor B", phones=[OTHER])
    doc = whatsapp_doc(
        "5215512345678",
        [
            wa_text("wamid.A1", "5218441234567", "¡Únete a la campaña!"),
            wa_text("wamid.A2", "5218441234567", "segundo"),
        ],
        contacts=[{"profile": {"name": "Campaña Azul"}, "wa_id": "5218441234567"}],
    )
    doc_b = whatsapp_doc("525587654321", [wa_text("wamid.B1", "5218441234567", "hola")])
    with running(store, signed_config()) as client:
        assert meta_post(client, doc).status_code == 200
        assert meta_post(client, doc_b).status_code == 200
        assert meta_post(client, doc).status_code == 200  # Meta retries: no new hits
    got = {h.provider_message_id: h for h in hits(store)}
    assert set(got) == {"wamid.A1", "wamid.A2", "wamid.B1"}
    assert [c.copy_id for c in got["wamid.A1"].candidates] == [a]
    assert [c.copy_id for c in got["wamid.B1"].candidates] == [b]
    assert got["wamid.A1"].identifier == CANARY
    assert got["wamid.A1"].sender == "+528441234567"
    assert got["wamid.A1"].details["sender_name"] == "Campaña Azul"
    assert got["wamid.A1"].summary == "¡Únete a la campaña!"
    with store.session() as s:
        assert len(list(s.scalars(select(Blob)))) == 2  # one raw request each, shared by its hits


def test_whatsapp_statuses_are_not_hits(sqlite_store: Store) -> None:
    doc = whatsapp_doc("5215512345678", [])
    value = doc["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {
            "id": "wamid.S",
            "status": "delivered",
            "recipient_id": "5218441234567",
            "timestamp": str(int(time.time())),
        }
    ]
    with running(sqlite_store, signed_config()) as client:
        assert meta_post(client, doc).status_code == 200
    assert nothing_stored(sqlite_store)


def test_whatsapp_business_scoped_user_without_phone_still_hits(sqlite_store: Store) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    bsuid = "MX.1502938475610293"
    doc = whatsapp_doc(
        "525512345678",
        [wa_text("wamid.U1", None, "te vi en la lista", from_user_id=bsuid)],
        contacts=[{"profile": {"name": "Anónimo", "username": "@anon"}, "user_id": bsuid}],
    )
    with running(sqlite_store, signed_config()) as client:
        assert meta_post(client, doc).status_code == 200
    (hit,) = hits(sqlite_store)
    assert hit.sender == bsuid
    assert hit.details["sender_username"] == "@anon"
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_whatsapp_forged_signature_stores_nothing(sqlite_store: Store) -> None:
    doc = whatsapp_doc("5215512345678", [wa_text("wamid.F", "5218441234567", "x")])
    with running(sqlite_store, signed_config()) as client:
        assert meta_post(client, doc, secret="not-the-secret").status_code == 403
        r = client.post("/hooks/whatsapp", json=doc)
        assert r.status_code == 403
    assert nothing_stored(sqlite_store)


# --- Vonage -------------------------------------------------------------------------------


def vonage_params(msg_id: str = "0A00000012345678", **extra: str) -> dict[str, str]:
    return {
        "msisdn": "5218441234567",
        "to": "525512345678",
        "messageId": msg_id,
        "text": "Vota & gana = premio",
        "type": "text",
        "keyword": "VOTA",
        "message-timestamp": "2026-11-23 12:00:00",
        **extra,
    }


@pytest.mark.parametrize("method", ["md5hash", "sha256", "sha512"])
def test_vonage_sms_signed_each_way(sqlite_store: Store, method: str) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    cfg = signed_config(vonage_method=method)
    with running(sqlite_store, cfg) as client:
        p = vonage_params(timestamp=str(int(time.time())), nonce="abc")
        assert vonage_post(client, p, method=method).status_code in (200, 204)
        assert (
            vonage_post(client, vonage_params("0B1"), as_query=True, method=method).status_code
            == 204
        )
        assert vonage_post(client, p, method=method).status_code == 204  # retry
    got = hits(sqlite_store)
    assert len(got) == 2
    assert all([c.copy_id for c in h.candidates] == [copy_id] for h in got)
    assert got[0].summary == "Vota & gana = premio"


def test_vonage_forged_and_stale(sqlite_store: Store) -> None:
    with running(sqlite_store, signed_config()) as client:
        assert vonage_post(client, vonage_params(), secret="nope").status_code == 403
        assert client.post("/hooks/vonage/sms", data=vonage_params()).status_code == 403
        stale = vonage_params(timestamp=str(int(time.time()) - 3600))
        assert vonage_post(client, stale).status_code == 403
    assert nothing_stored(sqlite_store)


# --- Telnyx ---------------------------------------------------------------------------------


def test_telnyx_message_received(sqlite_store: Store) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    with running(sqlite_store, signed_config()) as client:
        doc = telnyx_doc("tx-1", "+5218441234567", "+525512345678", "hola desde telnyx")
        assert telnyx_post(client, doc).status_code == 200
        assert telnyx_post(client, doc).status_code == 200
        other = telnyx_doc("tx-2", "+5218441234567", "+525512345678", "", event="message.finalized")
        assert telnyx_post(client, other).status_code == 200
    (hit,) = hits(sqlite_store)
    assert hit.provider == "telnyx" and hit.provider_message_id == "tx-1"
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_telnyx_forged_and_stale(sqlite_store: Store) -> None:
    from nacl.signing import SigningKey

    doc = telnyx_doc("tx-9", "+5218441234567", "+525512345678", "x")
    with running(sqlite_store, signed_config()) as client:
        assert telnyx_post(client, doc, key=SigningKey.generate()).status_code == 403
        assert telnyx_post(client, doc, ts=int(time.time()) - 301).status_code == 403
        assert client.post("/hooks/telnyx", json=doc).status_code == 403
    assert nothing_stored(sqlite_store)


# --- generic ---------------------------------------------------------------------------------


def test_generic_hook(sqlite_store: Store) -> None:
    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    msg = {
        "id": "g-1",
        "to": "+52 55 1234 5678",
        "from": "+52 1 844 123 4567",
        "channel": "sms",
        "body": "<script>alert(1)</script>",
    }
    with running(sqlite_store, signed_config()) as client:
        r = generic_post(client, msg)
        assert r.status_code == 200
        first = r.json()["hits"][0]
        # Answered once the raw request is durable: attributed after the answer.
        assert first == {"id": first["id"], "duplicate": False, "copies": [], "pending": True}
        again = generic_post(client, msg).json()["hits"][0]
        assert again["id"] == first["id"] and again["duplicate"] is True
    (hit,) = hits(sqlite_store)
    assert hit.channel == "sms" and hit.summary == "<script>alert(1)</script>"
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_generic_forged_stale_and_future(sqlite_store: Store) -> None:
    msg = {"id": "g-2", "to": CANARY, "body": "x"}
    with running(sqlite_store, signed_config()) as client:
        assert generic_post(client, msg, secret="nope").status_code == 403
        assert generic_post(client, msg, ts=int(time.time()) - 301).status_code == 403
        assert generic_post(client, msg, ts=int(time.time()) + 3600).status_code == 403
        assert client.post("/hooks/generic", json=msg).status_code == 403
    assert nothing_stored(sqlite_store)


def test_message_to_a_number_no_canary_holds_is_recorded_unattributed(sqlite_store: Store) -> None:
    with running(sqlite_store, signed_config()) as client:
        assert twilio_post(client, "/hooks/twilio/sms", sms_params(to=OTHER)).status_code == 200
    (hit,) = hits(sqlite_store)
    assert hit.classification == "unattributed" and hit.candidates == []


def test_twilio_public_url_with_explicit_port_accepts_either_form(sqlite_store: Store) -> None:
    from twilio.request_validator import RequestValidator

    cfg = signed_config()
    cfg.listen.public_url = "https://hooks.example.org:443"
    with running(sqlite_store, cfg) as client:
        for i, url in enumerate(
            [
                "https://hooks.example.org/hooks/twilio/sms",
                "https://hooks.example.org:443/hooks/twilio/sms",
            ]
        ):
            params = sms_params(f"SMport{i}")
            sig = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
            r = client.post("/hooks/twilio/sms", data=params, headers={"X-Twilio-Signature": sig})
            assert r.status_code == 200
    assert count(sqlite_store) == 2


def test_vonage_json_body(sqlite_store: Store) -> None:
    from tests.webhooks_support import vonage_sig

    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    params = vonage_params("0J1", timestamp=str(int(time.time())))
    doc = {**params, "sig": vonage_sig(params)}
    with running(sqlite_store, signed_config()) as client:
        assert client.post("/hooks/vonage/sms", json=doc).status_code == 204
        forged = {**doc, "text": "otra cosa"}
        assert client.post("/hooks/vonage/sms", json=forged).status_code == 403
    (hit,) = hits(sqlite_store)
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_twilio_json_body_signed_with_body_sha256(sqlite_store: Store) -> None:
    import hashlib
    import json as _json

    from twilio.request_validator import RequestValidator

    copy_id = add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    body = _json.dumps(sms_params("SMjson"), ensure_ascii=False)
    path = "/hooks/twilio/sms?bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()
    sig = RequestValidator(TWILIO_TOKEN).compute_signature("https://hooks.example.org" + path, {})
    headers = {"X-Twilio-Signature": sig, "Content-Type": "application/json"}
    with running(sqlite_store, signed_config()) as client:
        assert client.post(path, content=body.encode() + b" ", headers=headers).status_code == 403
        assert client.post(path, content=body.encode(), headers=headers).status_code == 200
    (hit,) = hits(sqlite_store)
    assert hit.provider_message_id == "SMjson"
    assert [c.copy_id for c in hit.candidates] == [copy_id]


def test_twilio_empty_body_sha256_is_refused_on_the_wire(sqlite_store: Store) -> None:
    import json as _json

    from twilio.request_validator import RequestValidator

    add_copy(sqlite_store, "Vendor A", phones=[CANARY])
    path = "/hooks/twilio/sms?bodySHA256="
    sig = RequestValidator(TWILIO_TOKEN).compute_signature("https://hooks.example.org" + path, {})
    headers = {"X-Twilio-Signature": sig, "Content-Type": "application/json"}
    with running(sqlite_store, signed_config()) as client:
        body = _json.dumps(sms_params("SMforged")).encode()
        assert client.post(path, content=body, headers=headers).status_code == 403
    assert hits(sqlite_store) == []


def test_whatsapp_handshake_refused_while_no_verify_token_is_configured(
    sqlite_store: Store,
) -> None:
    cfg = signed_config()
    cfg.providers.whatsapp.verify_token = ""
    with running(sqlite_store, cfg) as client:
        r = client.get(
            "/hooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"},
        )
        assert r.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"a=1&b=2&a=3",
        b"Body=Hola+mundo%21&From=%2B5218441234567",
        b"x&=y&&z=&k==v",
        b"n%C3%A1me=%C3%B1and%C3%BA&%zz=%2&plus=a+b%2Bc",
        b"caf\xe9=ol\xe9&bad=%FF%FE",
        b"semi;colon=1;2&a=%3B",
        b"a%26b=c%3Dd&e=%C3&f=%A9",
        b"k=%3d&x%3D=1+2",
        b"a=%C3&b=%A9&c=%E2%82&=%AC&d=%F0%9F%98",
        b"%C3=%A9&%C3%A9=+&%=%%&+=+",
    ],
)
def test_form_fields_read_as_the_standard_query_parser_reads_them(body: bytes) -> None:
    """Twilio signs the fields as parsed: the quick reader must agree with parse_qsl."""
    expected: dict[str, list[str]] = {}
    for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        expected.setdefault(k, []).append(v)
    assert form_params(body) == expected


def test_a_form_of_too_many_fields_is_malformed() -> None:
    with pytest.raises(Malformed):
        form_params(b"&".join(b"f%d=1" % i for i in range(MAX_FORM_FIELDS + 1)))
    fields = form_params(b"&".join(b"f%d=1" % i for i in range(MAX_FORM_FIELDS)))
    assert len(fields) == MAX_FORM_FIELDS
