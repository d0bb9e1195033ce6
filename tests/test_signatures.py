"""Signature checks against the providers' reference computations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time

import pytest
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from canary import signatures as sig

KNOWN_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
KNOWN_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def as_lists(params: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in params.items()}


def test_twilio_known_vector_from_protocols() -> None:
    assert sig.twilio_signature("12345", KNOWN_URL, as_lists(KNOWN_PARAMS)) == (
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert sig.check_twilio(
        "12345", KNOWN_URL, as_lists(KNOWN_PARAMS), "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert not sig.check_twilio(
        "12346", KNOWN_URL, as_lists(KNOWN_PARAMS), "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_twilio_agrees_with_the_official_validator_on_random_requests() -> None:
    rng = random.Random(7)
    accepted = 0
    alphabet = "abcXYZ019 +&=?%éñ漢:/"
    for _ in range(300):
        token = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        port = rng.choice(["", ":443", ":8443"])
        url = f"https://hooks.example.org{port}/hooks/twilio/sms"
        if rng.random() < 0.3:
            url += "?a=1&b=" + rng.choice(["x", "2"])
        params = {
            "".join(rng.choice("ABCabc") for _ in range(rng.randint(1, 6))): [
                "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                for _ in range(rng.randint(1, 3))
            ]
            for _ in range(rng.randint(0, 8))
        }
        reference = RequestValidator(token)
        # Sign with the URL as the provider might have seen it, with or without port.
        signed_url = url.replace(":443", "") if rng.random() < 0.5 else url
        flat = {k: v[0] for k, v in params.items()}
        good = reference.compute_signature(signed_url, flat)
        ours = sig.check_twilio(token, url, {k: [v[0]] for k, v in params.items()}, good)
        assert ours == reference.validate(url, flat, good)
        accepted += ours
        forged = good[:-2] + ("AA" if not good.endswith("AA=") else "BB")
        assert sig.check_twilio(token, url, {k: [v[0]] for k, v in params.items()}, forged) is (
            reference.validate(url, flat, forged)
        )
    assert accepted > 250  # the genuine signatures pass (8443 signed without port does not)


def test_twilio_repeated_params_sign_every_value_like_the_validator() -> None:
    class Multi(dict):  # the validator reads repeated fields through getall()
        def getall(self, name: str) -> list[str]:
            return self[name]

    params = {"MediaUrl0": ["https://a", "https://b"], "Body": ["hola"]}
    expected = RequestValidator("tok").compute_signature(KNOWN_URL, Multi(params))
    assert sig.twilio_signature("tok", KNOWN_URL, params) == expected
    assert sig.check_twilio("tok", KNOWN_URL, params, expected)


def test_twilio_json_body_uses_body_sha256() -> None:
    body = '{"MessageSid": "SM1", "Body": "¡hola!"}'
    digest = hashlib.sha256(body.encode()).hexdigest()
    url = f"https://hooks.example.org/hooks/twilio/sms?bodySHA256={digest}"
    signature = RequestValidator("tok").compute_signature(url, {})
    assert RequestValidator("tok").validate(url, body, signature)
    assert sig.check_twilio("tok", url, {}, signature, raw_body=body.encode())
    assert not sig.check_twilio("tok", url, {}, signature, raw_body=body.encode() + b" ")


def test_twilio_empty_body_sha256_still_binds_the_body() -> None:
    """`?bodySHA256=` (empty): a signature over the URL alone must not carry any JSON body."""
    url = "https://hooks.example.org/hooks/twilio/sms?bodySHA256="
    signature = RequestValidator("tok").compute_signature(url, {})
    body = b'{"MessageSid": "SMforged", "From": "+15005550006", "To": "+525512345678"}'
    assert not sig.check_twilio("tok", url, {}, signature, raw_body=body)
    assert not sig.check_twilio("tok", url, {}, signature, raw_body=b"")  # "" is no digest
    twice = f"{url}{hashlib.sha256(body).hexdigest()}&bodySHA256="
    signature2 = RequestValidator("tok").compute_signature(twice, {})
    assert not sig.check_twilio("tok", twice, {}, signature2, raw_body=body)


def test_twilio_sha256_shared_key_algorithm() -> None:
    url = "https://hooks.example.org/hooks/twilio/sms"
    signature = RequestValidator("shared").compute_signature(url, {"A": "1"}, "HMAC_SHA256")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert sig.check_twilio("shared", url, {"A": ["1"]}, signature, settings_header=header)
    assert not sig.check_twilio("shared", url, {"A": ["1"]}, signature)
    assert not sig.check_twilio(
        "shared", url, {"A": ["1"]}, signature, settings_header="algorithm=MD5"
    )


def test_twilio_empty_token_or_signature_never_passes() -> None:
    good = RequestValidator("").compute_signature(KNOWN_URL, KNOWN_PARAMS)
    assert not sig.check_twilio("", KNOWN_URL, as_lists(KNOWN_PARAMS), good)
    assert not sig.check_twilio("12345", KNOWN_URL, as_lists(KNOWN_PARAMS), "")


def test_meta_signature_over_raw_bytes() -> None:
    body = '{"entry": [{"text": "ñandú 🙂"}]}'.encode()
    header = "sha256=" + hmac.new(b"appsecret", body, hashlib.sha256).hexdigest()
    assert sig.check_meta("appsecret", body, header)
    assert sig.check_meta("appsecret", body, header.upper().replace("SHA256=", "sha256="))
    assert not sig.check_meta("appsecret", body.replace(b"\xc3\xb1", b"n"), header)
    assert not sig.check_meta("other", body, header)
    assert not sig.check_meta("", body, header)
    assert not sig.check_meta("appsecret", body, header[len("sha256=") :])


def test_verify_token_compare() -> None:
    assert sig.check_verify_token("tok", "tok")
    assert not sig.check_verify_token("tok", "tok2")
    assert not sig.check_verify_token("", "")


def vonage_reference(secret: str, params: dict[str, str], method: str) -> str:
    """Vonage's SDK algorithm, written out independently of the module under test."""
    if method == "md5hash":
        hasher = hashlib.md5()
    else:
        hasher = hmac.new(secret.encode(), digestmod=method)
    for key in sorted(params):
        value = params[key].replace("&", "_").replace("=", "_")
        hasher.update(f"&{key}={value}".encode())
    if method == "md5hash":
        hasher.update(secret.encode())
    return hasher.hexdigest()


@pytest.mark.parametrize("method", sig.VONAGE_METHODS)
def test_vonage_signature_methods(method: str) -> None:
    params = {
        "msisdn": "5215512345678",
        "to": "525598765432",
        "messageId": "0A0000001234",
        "text": "a=b&c",
        "timestamp": str(int(time.time())),
        "nonce": "n1",
    }
    expected = vonage_reference("s3cret", params, method)
    signed = {**params, "sig": expected}
    assert sig.check_vonage("s3cret", signed, method)
    assert sig.check_vonage("s3cret", {**params, "sig": expected.upper()}, method)
    assert not sig.check_vonage("wrong", signed, method)
    assert not sig.check_vonage("s3cret", {**signed, "text": "changed"}, method)
    assert not sig.check_vonage("s3cret", params, method)


def test_telnyx_ed25519() -> None:
    key = SigningKey.generate()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    body = b'{"data": {"event_type": "message.received"}}'
    ts = str(int(time.time()))
    signature = base64.b64encode(key.sign(ts.encode() + b"|" + body).signature).decode()
    assert sig.check_telnyx(public, body, signature, ts)
    assert sig.check_telnyx(bytes(key.verify_key).hex(), body, signature, ts)
    assert not sig.check_telnyx(public, body + b" ", signature, ts)
    assert not sig.check_telnyx(public, body, signature, str(int(ts) + 1))
    assert not sig.check_telnyx(public, body, "not base64!", ts)
    assert not sig.check_telnyx("", body, signature, ts)
    other = base64.b64encode(bytes(SigningKey.generate().verify_key)).decode()
    assert not sig.check_telnyx(other, body, signature, ts)


def test_generic_signature_and_timestamps() -> None:
    body = b'{"id": "1"}'
    ts = "1700000000"
    header = "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sig.generic_signature("k", ts, body) == header
    assert sig.check_generic("k", body, header, ts)
    assert not sig.check_generic("k", body, header, "1700000001")
    assert not sig.check_generic("", body, header, ts)
    assert sig.timestamp_fresh(ts, 1700000000 + 300)
    assert not sig.timestamp_fresh(ts, 1700000000 + 301)
    assert not sig.timestamp_fresh(ts, 1700000000 - 301)
    assert not sig.timestamp_fresh("17e8", 1700000000)
    assert not sig.timestamp_fresh("", 1700000000)


def test_twilio_macs_from_the_kept_keys_are_each_requests_own() -> None:
    """The keyed HMACs are kept per token and algorithm and copied for each request: the
    same request signs the same every time, another token or algorithm differently, as
    a fresh HMAC does."""
    url = "https://hooks.example.org/hooks/twilio/sms"
    for token in ("token-a", "token-b"):
        for algorithm, digest in (("HMAC_SHA1", hashlib.sha1), ("HMAC_SHA256", hashlib.sha256)):
            for params in ({"A": ["1"]}, {"B": ["2", "1"]}, {"A": ["1"]}):
                signed = url + "".join(k + v for k in sorted(params) for v in sorted(params[k]))
                fresh = hmac.new(token.encode(), signed.encode(), digest).digest()
                expected = base64.b64encode(fresh).decode()
                assert sig.twilio_signature(token, url, params, algorithm) == expected
