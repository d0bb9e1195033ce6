"""Webhook signatures, one pure function per provider: the listeners check them, the
alert webhook channel and the demo make them.

Every function takes the raw request parts and the secret and answers True or False;
none of them parses more than it must or touches the store. They run before anything
else looks at a request, so a forged request never reaches a parser or the database.
All comparisons are constant-time (`hmac.compare_digest`). The Twilio check agrees
with the official `twilio` library's `RequestValidator` (the tests use it as the
reference); the others follow PROTOCOLS.md.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

#: Seconds a signed timestamp may be away from our clock (Telnyx, generic, Vonage).
TIMESTAMP_TOLERANCE = 300

TWILIO_ALGORITHMS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
VONAGE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")


def _eq(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality of two strings or byte strings (never raises)."""
    ab = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    bb = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(ab, bb)


def timestamp_fresh(timestamp: str, now: float, tolerance: float = TIMESTAMP_TOLERANCE) -> bool:
    """True when `timestamp` (unix seconds, digits only) is within `tolerance` of `now`."""
    ts = timestamp.strip()
    if not ts or len(ts) > 12 or not ts.isascii() or not ts.isdigit():
        return False
    return abs(now - int(ts)) <= tolerance


# --- Twilio -----------------------------------------------------------------------


def twilio_algorithm(settings_header: str) -> str:
    """The algorithm named in X-Twilio-Webhooks-Signature-Settings (HMAC_SHA1 when absent)."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def twilio_signature(
    token: str,
    url: str,
    params: Mapping[str, Iterable[str]] | None = None,
    algorithm: str = "HMAC_SHA1",
) -> str:
    """base64 HMAC of `url` + each param name (sorted) + each of its distinct values (sorted)."""
    return _twilio_mac(token, url, _twilio_signed_params(params or {}), algorithm)


def _twilio_signed_params(params: Mapping[str, Iterable[str]]) -> str:
    """What follows the URL in the signed string: names sorted, each with its distinct values
    sorted."""
    return "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))


def _twilio_mac(token: str, url: str, signed_params: str, algorithm: str) -> str:
    mac = _keyed(token, algorithm.upper()).copy()
    mac.update((url + signed_params).encode("utf-8"))
    return base64.b64encode(mac.digest()).decode("ascii")


@functools.lru_cache(maxsize=16)
def _keyed(token: str, algorithm: str) -> hmac.HMAC:
    """An HMAC keyed with `token`, copied for each request: keying it anew took about
    half of a webhook's check (5 us then, 3 us copied)."""
    return hmac.new(token.encode("utf-8"), digestmod=TWILIO_ALGORITHMS[algorithm])


def _url_variants(url: str) -> tuple[str, ...]:
    """`url` without and with its port, as Twilio's validator tries both (remembered for
    short URLs: the listener sees the same few on every request)."""
    return _known_url_variants(url) if len(url) <= 512 else _variants(url)


def _variants(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    if port is None:
        default = 443 if parts.scheme == "https" else 80
        return (url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    return (urlunsplit(parts._replace(netloc=parts.netloc.split(":")[0])), url)


_known_url_variants = functools.lru_cache(maxsize=256)(_variants)


def check_twilio(
    token: str,
    url: str,
    params: Mapping[str, Iterable[str]],
    signature: str,
    *,
    raw_body: bytes = b"",
    settings_header: str = "",
) -> bool:
    """Does X-Twilio-Signature `signature` sign this request?

    `url` is the public URL Twilio called (public_url + path + query). For form
    bodies `params` holds every field (all values). When the URL carries
    `bodySHA256` (JSON bodies) the body's SHA-256 must match it and the signature
    covers the URL alone.
    """
    if not token or not signature:
        return False
    algorithm = twilio_algorithm(settings_header)
    if algorithm not in TWILIO_ALGORITHMS:
        return False
    # Blank values kept: `?bodySHA256=` (empty) must not drop the body from the check.
    query = parse_qs(urlsplit(url).query, keep_blank_values=True) if "?" in url else {}
    if "bodySHA256" in query:
        given = query["bodySHA256"]
        if len(given) != 1 or not _eq(hashlib.sha256(raw_body).hexdigest(), given[0].lower()):
            return False
        params = {}
    signed_params = _twilio_signed_params(params)
    signature = signature.strip()
    # The first form that matches decides (which form Twilio signed is no secret): the
    # usual request, signed without the port, costs one HMAC, not two.
    return any(
        _eq(_twilio_mac(token, variant, signed_params, algorithm), signature)
        for variant in _url_variants(url)
    )


# --- Meta WhatsApp Cloud API --------------------------------------------------------


def check_meta(app_secret: str, raw_body: bytes, header: str) -> bool:
    """X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256(app_secret, raw body)."""
    if not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return _eq(expected, header[len("sha256=") :].strip().lower())


def check_verify_token(configured: str, given: str) -> bool:
    """The Meta verification handshake's token (constant-time; never matches when unset)."""
    return bool(configured) and _eq(configured, given)


# --- Vonage --------------------------------------------------------------------------


def vonage_signature(secret: str, params: Mapping[str, str], method: str = "md5hash") -> str:
    """Vonage's `sig`: `&k=v` for each param but `sig` (sorted, `&`/`=` in values -> `_`).

    `md5hash` is MD5 of that string followed by the secret; the others are an HMAC of
    the string keyed by the secret. Hex, lower case.
    """
    if method not in VONAGE_METHODS:
        raise ValueError(f"unknown Vonage signature method {method!r}")
    s = "".join(
        f"&{k}={str(v).replace('&', '_').replace('=', '_')}"
        for k, v in sorted(params.items())
        if k != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((s + secret).encode("utf-8"), usedforsecurity=False).hexdigest()
    return hmac.new(secret.encode("utf-8"), s.encode("utf-8"), method).hexdigest()


def check_vonage(secret: str, params: Mapping[str, str], method: str = "md5hash") -> bool:
    """Does `params['sig']` sign the other params with `secret` and `method`?"""
    sig = params.get("sig", "")
    if not secret or not sig or method not in VONAGE_METHODS:
        return False
    return _eq(vonage_signature(secret, params, method), sig.strip().lower())


# --- Telnyx ----------------------------------------------------------------------------


def telnyx_public_key(value: str) -> bytes | None:
    """The 32-byte Ed25519 key from its base64 (as the portal shows it) or hex form."""
    v = value.strip()
    try:
        key = bytes.fromhex(v) if len(v) == 64 else base64.b64decode(v, validate=True)
    except (ValueError, binascii.Error):
        return None
    return key if len(key) == 32 else None


def check_telnyx(public_key: str, raw_body: bytes, signature_b64: str, timestamp: str) -> bool:
    """`telnyx-signature-ed25519` is base64 Ed25519 over `timestamp|raw body`."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    key = telnyx_public_key(public_key)
    if key is None or not signature_b64 or not timestamp:
        return False
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
        VerifyKey(key).verify(timestamp.encode("ascii") + b"|" + raw_body, signature)
    except (BadSignatureError, ValueError, binascii.Error, UnicodeEncodeError):
        return False
    return True


# --- generic ---------------------------------------------------------------------------


def generic_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256(secret, timestamp + "." + raw body)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + raw_body, "sha256")
    return "sha256=" + mac.hexdigest()


def check_generic(secret: str, raw_body: bytes, signature: str, timestamp: str) -> bool:
    """X-Canary-Signature over X-Canary-Timestamp and the raw body."""
    if not secret or not signature or not timestamp or not timestamp.isascii():
        return False
    return _eq(generic_signature(secret, timestamp, raw_body), signature.strip().lower())
