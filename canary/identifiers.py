"""Normal forms of identifiers: emails lower-cased, phones in E.164.

Every place that stores or looks up an identifier goes through here, so that
"+52 1 (844) 123-4567", "whatsapp:+5218441234567" and "844 123 4567" meet.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

from canary.errors import InputError

EMAIL_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})(?![\w-])"
)
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


def normalize_email(address: str) -> str:
    """Lower-cased address without surrounding brackets or spaces; the domain as IDNA."""
    a = address.strip().strip("<>").strip()
    if a.isascii() and a.isprintable() and " " not in a and not a.endswith("."):
        return a.lower()  # what the steps below give for a plain ASCII address
    if "@" not in a:
        return a.lower()
    local, _, domain = a.rpartition("@")
    return f"{local.lower()}@{normalize_domain(domain, strict=False)}"


def normalize_domain(domain: str, *, strict: bool = True) -> str:
    """A hostname in lower case ASCII (IDNA); strict raises on anything invalid."""
    d = domain.strip().rstrip(".").lower()
    if not strict and d.isascii():
        return d  # IDNA leaves ASCII as it is (and loose mode keeps what it cannot check)
    try:
        d = d.encode("idna").decode("ascii")
    except UnicodeError as exc:
        if strict:
            raise InputError(f"'{domain}' is not a valid domain name") from exc
    if strict and not HOSTNAME_RE.match(d):
        raise InputError(f"'{domain}' is not a valid domain name (example: alerts.example.org)")
    return d


def phone_parts(e164: str) -> tuple[str, str, str] | None:
    """(national significant number, country code, region) of a number in E.164, as
    the store keeps them beside it (so scanning and tracing never parse numbers); None
    when it does not parse."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.national_significant_number(parsed),
        str(parsed.country_code),
        phonenumbers.region_code_for_number(parsed) or "",
    )


#: Country codes whose numbers are written locally with digits that are not the national
#: number's: Argentina's mobiles ("351 15-478-1733" for +54 9 351 478 1733).
LOCAL_FORM_CODES = frozenset({"54"})


def local_forms(e164: str) -> list[str]:
    """The digits a number is written with at home where they are not its national
    number's (after a trunk "0"): "351154781733" for +54 9 351 478 1733, and
    "3514781733" (an Argentine mobile is often written without its 9 or its 15; the
    range is a mobile operator's, so no landline has those digits). Asked only of the
    countries in LOCAL_FORM_CODES (formatting a number costs about 20 us); [] for the
    rest and where the national number is written as it is."""
    code = e164[1:3]
    if not e164.startswith("+") or code not in LOCAL_FORM_CODES:
        return []
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return []
    nsn = phonenumbers.national_significant_number(parsed)
    written = re.sub(
        r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    written = written[1:] if written.startswith("0") else written
    forms = [] if written.endswith(nsn) else [written]
    if code == "54" and nsn.startswith("9"):
        forms.append(nsn[1:])
    return forms


#: Mexico's dialing prefixes before 2019, still in many lists: 044 and 045 before a
#: mobile's ten digits, 01 before a long-distance landline's.
_MX_DIALED = re.compile(r"(?:04[45]|01)(\d{10})")


def without_dialing_prefix(digits: str, region: str | None) -> str:
    """A national number's digits without the prefix once dialed before it at home
    ("044 844 123 4567" is 844 123 4567 in Mexico); `digits` as they are elsewhere."""
    if region == "MX":
        m = _MX_DIALED.fullmatch(digits)
        if m:
            return m.group(1)
    return digits


def fix_mexican_mobile(e164: str) -> str:
    """+521 + 10 digits (how WhatsApp and Twilio send Mexican mobiles) is +52 + 10 digits."""
    if e164.startswith("+521") and len(e164) == 14:
        return "+52" + e164[4:]
    return e164


def normalize_phone(number: str, region: str | None = None, *, strict: bool = True) -> str:
    """E.164 form of a phone number written any way; `region` for national forms.

    Strict mode raises InputError for anything that is not a valid number; loose mode
    returns "" instead (for scanning hostile or messy text). Loose results for short
    inputs are remembered: listeners see the same few numbers over and over.
    """
    if not strict and len(number) <= 64:
        return _loose(number, region)
    return _normalize_phone(number, region, strict)


@functools.lru_cache(maxsize=4096)
def _loose(number: str, region: str | None) -> str:
    return _normalize_phone(number, region, False)


def _normalize_phone(number: str, region: str | None, strict: bool) -> str:
    raw = number.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :]
    digits = re.sub(r"[^\d+]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits and not digits.startswith("+") and region is None and len(digits) > 10:
        digits = "+" + digits
    if digits.startswith("+"):
        digits = fix_mexican_mobile(digits)
    else:
        digits = without_dialing_prefix(digits, region)
    try:
        parsed = phonenumbers.parse(digits or raw, region)
    except phonenumbers.NumberParseException as exc:
        if strict:
            raise InputError(
                f"'{number}' is not a phone number; write it in international form, "
                "e.g. +52 844 123 4567"
            ) from exc
        return ""
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    e164 = fix_mexican_mobile(e164)
    if strict and not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
        raise InputError(
            f"'{number}' is not a valid phone number; write it in international form, "
            "e.g. +52 844 123 4567"
        )
    return e164


#: National person ids recognisable by their shape: Mexican CURP and RFC, Spanish DNI
#: and NIE, Costa Rican cédula written with its dashes. Plain digit runs stay `id`.
NATIONAL_ID_RES = (
    re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[A-Z0-9]\d"),  # CURP
    re.compile(r"[A-Z&Ñ]{4}\d{6}[A-Z0-9]{3}"),  # RFC of a person
    re.compile(r"\d{8}-?[A-Z]"),  # DNI
    re.compile(r"[XYZ]-?\d{7}-?[A-Z]"),  # NIE
    re.compile(r"\d-\d{4}-\d{4}"),  # cédula (Costa Rica)
)


def is_national_id(value: str) -> bool:
    """True when `value` is written as a national person id (CURP, RFC, DNI, NIE, cédula)."""
    v = value.strip().upper()
    return len(v) <= 20 and any(r.fullmatch(v) for r in NATIONAL_ID_RES)


def id_kind(stored_kind: str, value: str) -> str:
    """The kind an identifier is reported as: an `id` shaped like a national id is one."""
    if stored_kind == "id" and is_national_id(value):
        return "national_id"
    return stored_kind


#: An id that is a counter with a short prefix or suffix ("F-00305", "12345", "EXP-0042A"):
#: any table numbered the same way holds it, so alone it proves nothing.
SEQUENCE_ID_RE = re.compile(r"[^\d]{0,5}\d{1,8}[^\d]{0,2}")


def is_sequence_id(value: str) -> bool:
    """True for an id a stranger's table could hold by numbering its rows the same way."""
    v = value.strip()
    return not is_national_id(v) and bool(SEQUENCE_ID_RE.fullmatch(v))
