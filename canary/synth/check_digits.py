"""Check digits of the national ids and codes a column holds, kept right on canaries.

A Chilean RUT (`17.663.987-3`), a Brazilian CPF, an Argentine CUIT, a Colombian NIT, a
Mexican RFC's homoclave or CLABE, an IBAN, a card or barcode number: each carries check
characters that anyone can verify in a line of code. A canary whose digits are drawn
like the column's but whose check character is not the one its digits give is found
by that line alone, whatever else it looks like.

`scheme_of` names the scheme nearly every value of a column passes (tried on a few
values first, so a column of plain numbers costs little), or else the linear check
digit its values show (`learnt_checks`: a Uruguayan cedula's, which no library names);
`with_check` rewrites a value's check characters, in place and in the column's case,
so that the value passes.
The schemes are python-stdnum's validators (the field's reference for national ids
and their check digits); the check characters are found by trying each candidate in
their place, which needs nothing of a scheme but its validator.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from canary.synth.learnt_checks import PASSING, learn

__all__ = ["Scheme", "scheme_of", "with_check"]

#: Values a column is tried on; a scheme must pass all but a few of them.
TRIED = 400
#: Fewer values than this say nothing about a scheme.
MIN_VALUES = 20


@dataclass(frozen=True)
class Scheme:
    """A check-digit scheme: its validator (over the value as written) and where its
    check characters are among the value's letters and digits (negative: from the end)
    with the characters they may be."""

    name: str
    valid: Callable[[str], bool]
    places: tuple[int, ...]
    alphabet: str
    #: check characters made before these (a Spanish IBAN's account check, "CCC",
    #: which its IBAN check digits cover)
    first: Scheme | None = None


def _stdnum(module: str, **kw: Any) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        mod: Any = importlib.import_module(f"stdnum.{module}")
        try:
            mod.validate(value, **kw)
        except Exception:  # stdnum raises its own ValidationError family and more
            return False
        return True

    return valid


def _digits_only(module: str) -> Callable[[str], bool]:
    """A generic scheme over a value's digits alone (Luhn, EAN), for values whose other
    characters are separators."""
    inner = _stdnum(module)

    def valid(value: str) -> bool:
        if re.search(r"[^\d\s.\-/]", value):
            return False
        digits = re.sub(r"\D", "", value)
        return len(digits) >= 8 and inner(digits)

    return valid


_ALNUM = re.compile(r"[0-9A-Za-z]")


def _mod97(value: str) -> bool:
    """The last two digits are the rest's remainder by 97 (a Spanish social security
    number, "28/86848073/55")."""
    if re.search(r"[^\d\s.\-/]", value):
        return False
    digits = re.sub(r"\D", "", value)
    return len(digits) >= 8 and int(digits[:-2]) % 97 == int(digits[-2:])


def _clabe(value: str) -> bool:
    """A Mexican CLABE: 18 digits, the last (10 - sum of the others weighted 3, 7, 1,
    each product mod 10) mod 10."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 18 or len(value.strip()) > 24:
        return False
    total = sum(int(d) * w % 10 for d, w in zip(digits[:17], itertools.cycle((3, 7, 1))))
    return (10 - total % 10) % 10 == int(digits[17])


def _ccc_in_iban(value: str) -> bool:
    """A Spanish IBAN's account number ("CCC") passes its own check."""
    from stdnum.es import ccc

    compact = "".join(_ALNUM.findall(value))
    return len(compact) == 24 and ccc.is_valid(compact[4:])


DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: The schemes tried, national ids first; generic ones (Luhn, EAN) last, since a
#: national id may pass them too.
SCHEMES: tuple[Scheme, ...] = (
    Scheme("cl.rut", _stdnum("cl.rut"), (-1,), DIGITS + "K"),
    Scheme("ar.cuit", _stdnum("ar.cuit"), (-1,), DIGITS),
    Scheme("br.cpf", _stdnum("br.cpf"), (-2, -1), DIGITS),
    Scheme("br.cnpj", _stdnum("br.cnpj"), (-2, -1), DIGITS),
    Scheme("co.nit", _stdnum("co.nit"), (-1,), DIGITS),
    Scheme("ec.ci", _stdnum("ec.ci"), (-1,), DIGITS),
    Scheme("pe.ruc", _stdnum("pe.ruc"), (-1,), DIGITS),
    Scheme("ve.rif", _stdnum("ve.rif"), (-1,), DIGITS),
    Scheme("uy.rut", _stdnum("uy.rut"), (-1,), DIGITS),
    Scheme("do.cedula", _stdnum("do.cedula"), (-1,), DIGITS),
    Scheme("gt.nit", _stdnum("gt.nit"), (-1,), DIGITS + "K"),
    # Europe's people. Spain's DNI and NIE are a kind of their own ("dni", their letter
    # drawn right by cells.dni_letter), but a number taken near a real row's (one
    # handed out in order of birth) kept that row's letter: 103 of 104 canaries of a
    # hospital's appointments had a wrong one
    Scheme("es.nif", _stdnum("es.nif"), (-1,), "TRWAGMYFPDXBNJZSQVHLCKE" + DIGITS),
    Scheme("it.codicefiscale", _stdnum("it.codicefiscale"), (-1,), LETTERS),
    Scheme("pt.nif", _stdnum("pt.nif"), (-1,), DIGITS),
    Scheme("py.ruc", _stdnum("py.ruc"), (-1,), DIGITS),
    Scheme("fr.nir", _stdnum("fr.nir"), (-2, -1), DIGITS),
    Scheme("pl.pesel", _stdnum("pl.pesel"), (-1,), DIGITS),
    Scheme("ro.cnp", _stdnum("ro.cnp"), (-1,), DIGITS),
    Scheme("nl.bsn", _stdnum("nl.bsn"), (-1,), DIGITS),
    Scheme("mx.rfc", _stdnum("mx.rfc", validate_check_digits=True), (-1,), DIGITS + "A"),
    # a Spanish IBAN holds the account's own check digits, which its IBAN check covers:
    # made first (with the IBAN's alone, no canary's passed a Spanish IBAN's check)
    Scheme(
        "es.iban",
        _stdnum("es.iban"),
        (2, 3),
        DIGITS,
        first=Scheme("es.ccc", _ccc_in_iban, (12, 13), DIGITS),
    ),
    Scheme("iban", _stdnum("iban"), (2, 3), DIGITS),
    Scheme("mx.clabe", _clabe, (-1,), DIGITS),
    Scheme("isbn", _stdnum("isbn"), (-1,), DIGITS + "X"),
    Scheme("mod97", _mod97, (-2, -1), DIGITS),
    Scheme("ean", _digits_only("ean"), (-1,), DIGITS),
    Scheme("luhn", _digits_only("luhn"), (-1,), DIGITS),
)


def _plausible(values: Sequence[str]) -> bool:
    """Values that could carry a check digit: mostly five digits or more, short."""
    hits = sum(1 for v in values if len(v) <= 40 and sum(ch.isdigit() for ch in v) >= 5)
    return hits >= PASSING * len(values)


def scheme_of(values: Sequence[str]) -> Scheme | None:
    """The scheme nearly every one of `values` (a column's non-empty cells) passes, or
    None. Tried on the first few values before the rest."""
    vs = [v.strip() for v in values[:TRIED] if v.strip()]
    if len(vs) < MIN_VALUES or not _plausible(vs):
        return None
    head = vs[:MIN_VALUES]
    for scheme in SCHEMES:
        if sum(map(scheme.valid, head)) < PASSING * len(head):
            continue
        if sum(map(scheme.valid, vs)) >= PASSING * len(vs):
            return scheme
    return _learnt(vs)


def _learnt(values: Sequence[str]) -> Scheme | None:
    """The linear check digit the column's own values show (a Uruguayan cedula's, a
    Guatemalan DPI's: no library names them), as a scheme `with_check` completes."""
    rule = learn(values)
    if rule is None or rule.place == 0:
        return None  # a check written first: `with_check` places checks from the end
    letter = rule.ten if rule.ten in ("K", "X") else ""
    place = rule.place - rule.length  # from the end: the value's own letters and digits
    return Scheme(f"learnt.mod{rule.modulus}", rule.valid, (place,), DIGITS + letter)


def with_check(value: str, scheme: Scheme) -> str | None:
    """`value` with its check characters those its other characters give (in the case
    the value writes its letters), or None when no candidate passes (the rest of the
    value is not one the scheme takes)."""
    if not value or scheme.valid(value):
        return value
    if scheme.first is not None:
        made = with_check(value, scheme.first)
        if made is None:
            return None
        value = made
    spots = [m.start() for m in _ALNUM.finditer(value)]
    if len(spots) <= max(abs(p) for p in scheme.places):
        return None
    at = [spots[p] for p in scheme.places]
    lower = value.islower() or (value[at[-1]].islower() and value[at[-1]].isalpha())
    chars = list(value)
    for combo in itertools.product(scheme.alphabet, repeat=len(at)):
        for i, ch in zip(at, combo, strict=True):
            chars[i] = ch.lower() if lower else ch
        candidate = "".join(chars)
        if scheme.valid(candidate):
            return candidate
    return None
