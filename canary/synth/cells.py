"""Value formats: how a column writes its values, and writing new ones the same way.

Casing and accents, date formats (order, separator, padding, time tail), numbers
(decimals, separators, affixes), id shapes (prefix, zero padding), phone masks (the
national digits as '#', whatever precedes them kept literal).
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import phonenumbers

from canary.identifiers import normalize_phone, without_dialing_prefix

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
CURP_RE = re.compile(r"^[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d$")
RFC_RE = re.compile(r"^[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}$")
#: Spanish DNI (8 digits) or NIE (X/Y/Z and 7 digits) with its check letter.
DNI_RE = re.compile(r"^(\d{8}|[XYZ]\d{7})([- ]?)([A-Z])$")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_letter(number: str) -> str:
    """The check letter of a DNI number ("12345678") or NIE ("X1234567")."""
    digits = str("XYZ".index(number[0])) + number[1:] if number[0] in "XYZ" else number
    return DNI_LETTERS[int(digits) % 23]


ID_RE = re.compile(r"^([^\d]*?)(\d+)([^\d]*)$")
#: A numbered series whose prefix holds digits too: "2024/0001", "EXP-2023-0415".
SERIES_RE = re.compile(r"^(.*\D)(\d+)(\D*)$")
NUMBER_RE = re.compile(
    r"^([^\d\-+]{0,3})([-+]?)(\d{1,3}(?:[,. ]\d{3})+|\d+)([.,]\d+)?([^\d]{0,4})$"
)
DATE_RE = re.compile(
    r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})((?:[ T]\d{1,2}:\d{2}(?::\d{2})?.*)?)$"
)
PHONE_CHARS_RE = re.compile(r"^[+()\d\s.\-/]{7,25}$")
TRUE_WORDS = {"si", "sí", "true", "yes", "y", "s", "1", "x", "verdadero", "t"}
FALSE_WORDS = {"no", "false", "n", "0", "falso", "f", ""}


def fold(text: str) -> str:
    """Lower case without accents (ñ becomes n): how headers and names are compared."""
    if text.isascii():
        return text.lower()
    if len(text) > FOLD_CACHED:
        return _fold_accented.__wrapped__(text)
    return _fold_accented(text)


def spanish_key(text: str) -> str:
    """A name as a Spanish collation sorts it: accents aside, ñ after n."""
    return fold(text.replace("ñ", "n\x7f").replace("Ñ", "N\x7f"))


def codepoint_key(text: str) -> str:
    """A name as a binary collation sorts it (a database's "C" order): by its characters'
    code points, case aside, so "ÁLVAREZ" comes after "ZAPATA"."""
    return text.upper()


#: The orders a sorted name column may follow; infer takes the one that keeps the most
#: neighbouring names in order (`name_order` gives its key).
NAME_ORDERS: dict[str, Callable[[str], str]] = {
    "fold": fold,
    "spanish": spanish_key,
    "codepoint": codepoint_key,
}


def name_order(c_fmt: dict[str, Any]) -> Callable[[str], str]:
    """The sort key of a name column's order (`fmt["collation"]`; `fold` by default)."""
    return NAME_ORDERS.get(str(c_fmt.get("collation", "fold")), fold)


#: Texts up to this long are folded through the cache (names, places): a long cell
#: of a dump is folded as it is, so the cache stays small whatever the input holds.
FOLD_CACHED = 200


@functools.lru_cache(maxsize=1 << 14)
def _fold_accented(text: str) -> str:
    """`fold` of a text with non-ASCII letters. Cached: inference and the factory fold
    the same names and places again and again (30,000 folds on a 1,000-row table)."""
    t = unicodedata.normalize("NFKD", text)
    return "".join(c for c in t if not unicodedata.combining(c)).lower()


#: A DateFormat's order for Excel serial dates: days since 1899-12-30 ("44713").
SERIAL = "serial"
#: Day 0 of Excel's serial dates (its 1900 system, as exports write them past March 1900).
EXCEL_EPOCH = date(1899, 12, 30)
#: Serials a date column may hold: 1900-01-01 up to 2100-12-31.
SERIAL_RANGE = (1, 73415)
#: A serial date column's median, at least (1927): below it, days of a month, years
#: ("2024") or counts, not dates.
SERIAL_MEDIAN_MIN = 10000
SERIAL_RE = re.compile(r"^[1-9]\d{0,4}$")


def _serial_day(text: str) -> int | None:
    """The day number an Excel serial date's text holds, None when it is not one."""
    if not SERIAL_RE.match(text):
        return None
    day = int(text)
    return day if SERIAL_RANGE[0] <= day <= SERIAL_RANGE[1] else None


@dataclass
class DateFormat:
    """A date format as the column writes it: field order, separator, padding, time tail.

    Order `SERIAL` is an Excel serial date written as a whole number ("44713" for
    2022-06-01; `serial_dates_of`)."""

    order: str  # "ymd", "dmy", "mdy" or SERIAL
    sep: str
    year_digits: int
    padded: bool

    def format(self, d: date, tail: str = "") -> str:
        if self.order == SERIAL:
            return str((d - EXCEL_EPOCH).days)
        y = f"{d.year:04d}" if self.year_digits == 4 else f"{d.year % 100:02d}"
        m = f"{d.month:02d}" if self.padded else str(d.month)
        dd = f"{d.day:02d}" if self.padded else str(d.day)
        parts = {"y": y, "m": m, "d": dd}
        return self.sep.join(parts[c] for c in self.order) + tail

    def parse(self, text: str) -> tuple[date, str] | None:
        if self.order == SERIAL:
            day = _serial_day(text.strip())
            return None if day is None else (EXCEL_EPOCH + timedelta(days=day), "")
        m = DATE_RE.match(text.strip())
        if not m or m.group(2) != self.sep:
            return None
        a, b, c = m.group(1), m.group(3), m.group(4)
        fields = dict(zip(self.order, (a, b, c), strict=True))
        try:
            year = int(fields["y"])
            if len(fields["y"]) <= 2:
                year += 1900 if year > 30 else 2000
            return date(year, int(fields["m"]), int(fields["d"])), m.group(5)
        except ValueError:
            return None


def casing_of(values: list[str]) -> str:
    """How letters are written in most values: upper, lower, title or mixed."""
    counts: Counter[str] = Counter()
    for v in values[:500]:
        letters = [c for c in v if c.isalpha()]
        if not letters:
            continue
        if all(c.isupper() for c in letters):
            counts["upper"] += 1
        elif all(c.islower() for c in letters):
            counts["lower"] += 1
        elif v == _title(v):
            counts["title"] += 1
        else:
            counts["mixed"] += 1
    if not counts:
        return "mixed"
    kind, n = counts.most_common(1)[0]
    return kind if n >= 0.8 * sum(counts.values()) else "mixed"


def _title(v: str) -> str:
    small = PARTICLES
    out = []
    for i, w in enumerate(v.split(" ")):
        lw = w.lower()
        out.append(lw if i and lw in small else lw[:1].upper() + lw[1:])
    return " ".join(out)


def apply_casing(text: str, casing: str) -> str:
    if casing == "upper":
        return text.upper()
    if casing == "lower":
        return text.lower()
    if casing == "title":
        return _title(text)
    return text


#: Words written in lower case inside a name or place by title casing: Spanish "de la",
#: "del", "y" ("María del Carmen");
#: Portuguese "da", "do", "dos", "das", "e" ("Maria dos Santos", "Costa e Silva"); Dutch,
#: German "van", "von".
PARTICLES = frozenset({"de", "la", "del", "los", "las", "y", "da", "do", "dos", "das", "e",
                       "van", "von"})  # fmt: skip


def particle_forms(values: list[str]) -> dict[str, str]:
    """How the column writes each particle inside a value ("del" -> "Del" in a list
    written "María Del Carmen"), by its most common form after the first word."""
    seen: dict[str, Counter[str]] = {}
    for v in values[:5000]:
        for w in v.split()[1:]:
            lw = w.lower()
            if lw in PARTICLES:
                seen.setdefault(lw, Counter())[w] += 1
    return {p: forms.most_common(1)[0][0] for p, forms in seen.items()}


def apply_particles(text: str, forms: dict[str, str]) -> str:
    """The particles inside `text` (after its first word) written as `forms` has them."""
    if not forms:
        return text
    words = text.split(" ")
    return " ".join(
        forms.get(w.lower(), w) if i and w.lower() in forms else w for i, w in enumerate(words)
    )


def accents_of(values: list[str]) -> str:
    """Whether the column writes accents: "full", "enye" (Ñ only) or "none"."""
    text = "".join(values[:2000])
    non_ascii = {c for c in text if ord(c) > 127}
    if not non_ascii:
        return "none"
    if non_ascii <= {"ñ", "Ñ"}:
        return "enye"
    return "full"


def apply_accents(text: str, accents: str) -> str:
    if accents == "full":
        return text
    out = []
    for c in text:
        if accents == "enye" and c in "ñÑ":
            out.append(c)
            continue
        d = unicodedata.normalize("NFKD", c)
        out.append("".join(x for x in d if not unicodedata.combining(x)))
    return "".join(out)


def date_format_of(values: list[str], prefer_mdy: bool = False) -> DateFormat | None:
    """The one date format every value parses with, or None when they are not dates."""
    matches = [DATE_RE.match(v.strip()) for v in values[:2000]]
    if not values or any(m is None for m in matches):
        return None
    ms = [m for m in matches if m is not None]
    seps = {m.group(2) for m in ms}
    if len(seps) != 1:
        return None
    sep = seps.pop()
    firsts = [m.group(1) for m in ms]
    thirds = [m.group(4) for m in ms]
    padded = all(len(m.group(3)) == 2 for m in ms) and (
        all(len(x) == 4 for x in firsts) or all(len(x) == 2 for x in firsts)
    )
    if all(len(x) == 4 for x in firsts):
        order, ydig = "ymd", 4
    else:
        ydig = 4 if all(len(x) == 4 for x in thirds) else 2
        first_big = any(int(x) > 12 for x in firsts)
        second_big = any(int(m.group(3)) > 12 for m in ms)
        if first_big and not second_big:
            order = "dmy"
        elif second_big and not first_big:
            order = "mdy"
        else:
            order = "mdy" if prefer_mdy else "dmy"
    fmt = DateFormat(order, sep, ydig, padded)
    if all(fmt.parse(v) is not None for v in values[:2000]):
        return fmt
    return None


def serial_dates_of(values: list[str]) -> DateFormat | None:
    """The Excel serial date format where every value is a serial of a day from 1900 to
    2100 and half of them, at least, of a day after 1927 (`SERIAL_MEDIAN_MIN`); else
    None. Only for a column known to hold dates (its header, `infer`): read as numbers,
    a CSV's FECHA_REGISTRO written 44713, sorted, got canaries' serials out of order
    (24 of 24), and ULTIMA_COMPRA after the export date."""
    days = [_serial_day(v.strip()) for v in values[:2000]]
    if not days or any(d is None for d in days):
        return None
    known = sorted(d for d in days if d is not None)
    if known[len(known) // 2] < SERIAL_MEDIAN_MIN:
        return None
    return DateFormat(SERIAL, "", 4, False)


def number_format_of(values: list[str]) -> dict[str, Any] | None:
    """Decimals, separators and affixes of a numeric column, or None if not numeric.

    A separator the column only ever writes between groups of three digits is its
    thousands mark: "$ 1.234.567" and "94.236" in a Chilean amount column are whole
    pesos, and the column's decimal point is then the other mark."""
    decimals: Counter[int] = Counter()
    grouping: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for v in values[:2000]:
        m = NUMBER_RE.match(v.strip())
        if not m:
            return None
        intpart, frac = m.group(3), m.group(4)
        if frac:
            points[frac[0]] += 1
            decimals[len(frac) - 1] += 1
        else:
            decimals[0] += 1
        for sep in ",. ":
            if sep in intpart:
                grouping[sep] += 1
    if len(points) > 1:
        return None
    if points:
        point = next(iter(points))
    else:  # no fraction anywhere: the point is the mark the column does not group with
        point = "," if "." in grouping and "," not in grouping else "."
    if point in grouping:
        return None  # "1.234" beside "2.5": one mark for both, not a number we can write
    nums = [parse_number(v) for v in values[:2000]]
    if any(x is None for x in nums):
        return None
    return {
        "decimals": decimals.most_common(1)[0][0],
        "decimals_mix": dict(decimals),
        "point": point,
        "thousands": grouping.most_common(1)[0][0] if grouping else "",
        "min": min(x for x in nums if x is not None),
        "max": max(x for x in nums if x is not None),
    }


def parse_number(v: str) -> float | None:
    m = NUMBER_RE.match(v.strip())
    if not m:
        return None
    sign, intpart, frac = m.group(2), m.group(3), m.group(4) or ""
    if sign and m.group(1)[-1:].isalpha():
        return None  # a code's hyphen ("HOG-000002"), not a minus sign: it read as -2
    digits = re.sub(r"\D", "", intpart)
    try:
        x = float(digits + ("." + frac[1:] if frac else ""))
    except ValueError:
        return None
    return -x if sign == "-" else x


def id_format_of(values: list[str]) -> dict[str, Any] | None:
    """Prefix, width and numbering of an id/folio column, or None when values differ in shape."""
    parts = [ID_RE.match(v) for v in values[:5000]]
    series = False
    if values and any(p is None for p in parts):
        parts = [SERIES_RE.match(v) for v in values[:5000]]
        series = True
    if not values or any(p is None for p in parts):
        return None
    ps = [p for p in parts if p is not None]
    prefixes = Counter(p.group(1) for p in ps)
    nums = [int(p.group(2)) for p in ps]
    if series and len(prefixes) > max(3, len(ps) // 100):
        # digits everywhere but no common series prefix: not a numbering, unless one
        # per prefix, numbers repeating from prefix to prefix (a file number of each
        # year's series over ten years)
        if len(nums) - len(set(nums)) < 0.5 * len(nums) or len(prefixes) > len(ps) // 5:
            return None
        by_prefix: dict[str, set[int]] = {}
        for p in ps:
            by_prefix.setdefault(p.group(1), set()).add(int(p.group(2)))
        inside = sorted(b - a for ns in by_prefix.values() for a, b in pairwise(sorted(ns)))
        if not inside or inside[len(inside) // 2] > 5:
            return None  # numbers scattered inside each prefix: codes, not a series
    suffixes = Counter(p.group(3) for p in ps)
    widths = Counter(len(p.group(2)) for p in ps)
    padded = any(p.group(2).startswith("0") and len(p.group(2)) > 1 for p in ps)
    #: Steps between consecutive ids where they increase (1 for a gapless numbering).
    steps = Counter(b - a for a, b in pairwise(nums) if b > a)
    #: Digits -> [smallest, largest, how many]: identity documents of 7-8 digits beside
    #: newer ones of 10 hold no 9-digit number between them.
    lengths: dict[str, list[int]] = {}
    for n in nums:
        span = lengths.setdefault(str(len(str(n))), [n, n, 0])
        span[0], span[1], span[2] = min(span[0], n), max(span[1], n), span[2] + 1
    return {
        "steps": dict(steps.most_common(20)),
        "prefix": prefixes.most_common(1)[0][0],
        "suffix": suffixes.most_common(1)[0][0],
        "width": widths.most_common(1)[0][0] if padded else 0,
        "min": min(nums),
        "max": max(nums),
        "uniform": len(prefixes) == 1 and len(suffixes) == 1,
        #: Every prefix with its count ("A-", "B-"...), for tables that mix series.
        "prefixes": dict(prefixes.most_common(50)),
        #: ... and every suffix (a British National Insurance number's A to D).
        "suffixes": dict(suffixes.most_common(50)),
        "lengths": lengths,
    }


def id_number(value: str) -> int | None:
    m = ID_RE.match(value) or SERIES_RE.match(value)
    return int(m.group(2)) if m else None


def phone_masks_of(values: list[str], region: str) -> Counter[str]:
    """Masks ('#' for each national digit) the column writes its numbers in, with counts.

    The national significant number's digits become '#'; whatever precedes them
    (country code, the Mexican mobile '1', a trunk '0') stays literal.
    """
    masks: Counter[str] = Counter()
    for v in values[:3000]:
        mask = phone_mask(v, region)
        if mask:
            masks[mask] += 1
    return masks


def phone_mask(value: str, region: str) -> str:
    """The mask of one number as written ("(844) ###-####"), or "" if it is not one."""
    nsn = national_number(value, region)
    if not nsn:
        return ""
    # Where the written digits do not end in the national number (Argentina's
    # "351 15478-1733" is +54 9 351 478 1733), every digit is the number's.
    ends = re.sub(r"\D", "", value).endswith(nsn)
    digits_left = len(nsn) if ends else len(value)
    out = []
    for c in reversed(value):
        if c.isdigit() and digits_left:
            out.append("#")
            digits_left -= 1
        else:
            out.append(c)
    return "".join(reversed(out))


@functools.lru_cache(maxsize=1 << 14)
def parsed_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """`phonenumbers.parse(text, region)`, or None when it does not parse. Cached:
    inference reads the same sampled numbers for the locale, the column's country,
    its kind and its masks, and the factory again (about 35 us a parse). Callers only
    read the number it returns."""
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


@functools.lru_cache(maxsize=1 << 14)
def valid_phone(text: str, region: str) -> bool:
    """`text` parses in `region` as a valid number of some country's plan."""
    p = parsed_phone(text, region)
    return p is not None and bool(phonenumbers.is_valid_number(p))


@functools.lru_cache(maxsize=1 << 14)
def national_number(value: str, region: str) -> str:
    """The national significant number of a phone as written, or "" if it is not one.

    Cached: inference and the canary factory parse the same sampled numbers (about
    35 us a parse, a third of the start-up on a 1,000-row table)."""
    digits = without_dialing_prefix(re.sub(r"[^\d+]", "", value), region)
    if len(re.sub(r"\D", "", digits)) < 7:
        return ""
    p = parsed_phone(digits, region)
    if p is None:
        return ""
    nsn = phonenumbers.national_significant_number(p)
    if p.country_code == 52 and len(nsn) == 11 and nsn.startswith("1"):
        nsn = nsn[1:]
    if not phonenumbers.is_possible_number(p) and len(nsn) < 7:
        return ""
    return nsn


#: A number's line as a reader of a column of numbers tells it: a mobile, a fixed line,
#: or either where the country's plan does not tell them apart (Mexico, the US).
MOBILE, FIXED, EITHER = "mobile", "fixed", "either"


@functools.lru_cache(maxsize=1 << 14)
def line_type(text: str, region: str = "") -> str:
    """`MOBILE`, `FIXED` or `EITHER` for a phone as written ("" when it is no number):
    Chile's "+56 2 2345 6789" is a fixed line and "+56 9 8765 4321" a mobile; a
    Mexican number is either."""
    p = parsed_phone(without_dialing_prefix(re.sub(r"[^\d+]", "", text), region), region)
    if p is None:
        return ""
    kind = phonenumbers.number_type(p)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return MOBILE
    if kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.VOIP):
        return FIXED
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE:
        return EITHER
    return ""


def vary_number(base: str, fmt: dict[str, Any], r: random.Random, spread: float = 0.15) -> str:
    """A number near `base` (within `spread`, 15%), written as `base` is: same affixes, decimals,
    decimal point and thousands separator; round amounts stay round ("$1,000.00" gives
    "$1,110.00", "$ 1.460.000" gives "$ 1.530.000"). A number that
    grows past three digits takes the column's thousands mark when `base` is too short
    to show whether the column writes one ("$ 950" -> "$ 1.050" where amounts are
    written "$ 1.234.567")."""
    x = parse_number(base)
    m = NUMBER_RE.match(base.strip())
    if not base or x is None or m is None:
        return base
    frac = m.group(4) or ""
    decimals = len(frac) - 1 if frac else 0
    y = x * r.uniform(1 - spread, 1 + spread)
    if "min" in fmt and "max" in fmt:  # inside the column's own range
        y = min(max(y, float(fmt["min"])), float(fmt["max"]))
    if decimals and x == int(x):  # "$1,000.00": whole amounts stay whole
        y = round(y)
    if x == int(x) and x % 10 == 0 and abs(x) >= 100:
        # As round as `base`, keeping two digits that vary: "$ 1.460.000" gives
        # "$ 1.530.000", not "$ 1.532.410" in a column of whole thousands.
        whole_digits = str(int(abs(x)))
        zeros = len(whole_digits) - len(whole_digits.rstrip("0"))
        y = round(y, -max(1, min(zeros, len(whole_digits) - 2)))
    return write_number(y, base, fmt)


def number_unit(n: int) -> int:
    """The roundest unit dividing `n` (n > 0): the largest of 1, 2 and 5 times a power
    of ten, and 25 times one, that does ("7575000": 25000; "1120000": 20000)."""
    best, k = 1, 1
    while k <= n:
        for u in (k, 2 * k, 5 * k, 25 * k):
            if u <= n and n % u == 0:
                best = max(best, u)
        k *= 10
    return best


def written_decimals(value: str) -> int | None:
    """How many decimals a number is written with ("1.234,50": 2), None for no number."""
    m = NUMBER_RE.match(value.strip())
    if m is None:
        return None
    return len(m.group(4)) - 1 if m.group(4) else 0


def write_number(x: float, base: str, fmt: dict[str, Any]) -> str:
    """`x` written as `base` is (a number of the column `fmt` describes): its affixes,
    decimals, decimal point and thousands mark ("$ 1.234.567", "1,234.50"). A number
    past three digits takes the column's thousands mark when `base` is too short to
    show whether the column writes one."""
    m = NUMBER_RE.match(base.strip())
    if m is None:
        return base
    point, thousands = fmt.get("point", "."), fmt.get("thousands", "")
    intpart, frac = m.group(3), m.group(4) or ""
    if frac and frac[0] != point:  # "1,5" in a column whose point is ",": as written
        point = frac[0]
    decimals = len(frac) - 1 if frac else 0
    text = f"{abs(x):,.{decimals}f}"
    whole, _, fraction = text.partition(".")
    grouped = len(re.sub(r"\D", "", intpart)) <= 3 or (thousands != "" and thousands in intpart)
    whole = whole.replace(",", thousands if grouped else "")
    out = whole + (point + fraction if decimals else "")
    sign = "-" if x < 0 else "+" if m.group(2) == "+" else ""
    return f"{m.group(1)}{sign}{out}{m.group(5)}"


def vary_digits(value: str, r: random.Random) -> str:
    """`value` with every run of digits replaced by random digits of the same length."""
    return re.sub(
        r"\d+",
        lambda m: "".join(
            str(r.randint(1 if i == 0 and len(m.group()) > 1 else 0, 9))
            for i in range(len(m.group()))
        ),
        value,
    )


def date_between(
    fmt: DateFormat,
    prev: str | None,
    nxt: str | None,
    r: random.Random,
    clocks: Clocks | None = None,
    gaps: Sequence[int] = (),
    weekdays: frozenset[int] | None = None,
    latest: date | None = None,
) -> str | None:
    """A date (in `fmt`) between two neighbours' dates, either of which may be None at
    the ends of a table; None when a neighbour's cell is not a date. A time of day in
    the neighbours' cells is made anew from the column's `clocks`, between theirs on
    their day (`vary_time`): copied, every canary of a CRM export had its neighbour's
    "created_at" to the second. At an end of the table, one of the column's `gaps`
    (seconds between neighbouring rows) on from the neighbour's: a list registering a
    person every 20 minutes had canaries days apart after its last row. A day of the
    week the column never holds (`weekdays`: a register closed on Sundays) is passed
    over where another lies between the neighbours. After the last row, never past
    `latest` (the column's newest date: the table's export, at the latest), nor the
    neighbour's day where that is later: canaries stepping on from one another joined
    a club months after its list was exported."""
    a = fmt.parse(prev) if prev is not None else None
    b = fmt.parse(nxt) if nxt is not None else None
    if (prev is not None and a is None) or (nxt is not None and b is None):
        return None
    if a is not None and b is not None:
        low, high = a[0], b[0]
        tail = a[1] if a[0] == b[0] else r.choice((a[1], b[1]))
    elif a is not None and gaps:
        # after the last row: one of the column's own steps on, within the newest day
        out = _stepped(fmt, a, r.choice(gaps), clocks, r, weekdays)
        if latest is None:
            return out
        got, last = fmt.parse(out), max(latest, a[0])
        if got is not None and got[0] <= last:
            return out
        low, high, tail = last, last, a[1]
    elif b is not None and gaps:
        return _stepped(fmt, b, -r.choice(gaps), clocks, r, weekdays)
    elif a is not None:
        high = a[0] + timedelta(days=r.randint(0, 3))
        low, high, tail = a[0], high if latest is None else max(min(high, latest), a[0]), a[1]
    elif b is not None:
        low, high, tail = b[0] - timedelta(days=r.randint(0, 3)), b[0], b[1]
    else:
        return None
    days = [
        k for k in range(low.toordinal(), high.toordinal() + 1)
        if weekdays is None or date.fromordinal(k).weekday() in weekdays
    ] or list(range(low.toordinal(), high.toordinal() + 1))  # fmt: skip
    d = date.fromordinal(r.choice(days))
    after = a[1] if a is not None and d == a[0] else None
    before = b[1] if b is not None and d == b[0] else None
    tail = after or before or tail
    return fmt.format(d, vary_time(tail, r, clocks, after, before) if clocks else tail)


#: A time of day in a date's tail: "T14:22:10", " 09:46", "14:22:10.123", "2:15 PM".
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?(\s?[AaPp]\.?\s?[Mm]\.?)?")


def weekdays_of(days: Sequence[date]) -> frozenset[int] | None:
    """The days of the week (0 Monday) a date column holds, where it holds some far
    less than the others would by chance (fewer than `RARE_WEEKDAY` of its dates: a
    register closed at weekends); None where it holds every day or tells too little."""
    if len(days) < MIN_WEEKDAY_DATES:
        return None
    counts = Counter(d.weekday() for d in days)
    held = frozenset(k for k in range(7) if counts[k] >= RARE_WEEKDAY * len(days))
    return held if held and len(held) < 7 else None


#: A day of the week held by fewer of a column's dates than this share is one it
#: never holds (`weekdays_of`; each day holds a seventh by chance); dates needed to tell.
RARE_WEEKDAY = 0.01
MIN_WEEKDAY_DATES = 100


def clock_seconds(tail: str | None) -> int | None:
    """The time of day a date's tail holds, in seconds after midnight ("2:15 PM" is
    51300), or None without one."""
    m = TIME_RE.search(tail) if tail else None
    if m is None:
        return None
    hour = int(m.group(1))
    if m.group(5):
        hour = hour % 12 + (12 if m.group(5).strip()[0] in "Pp" else 0)
    return hour * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


#: Draws `vary_time` tries for a time between its bounds.
TIME_TRIES = 40


@dataclass(frozen=True)
class Clocks:
    """A column's times of day (`clocks_of`): each row's hour, minute and second, and
    whether its hours are written with two digits."""

    times: tuple[tuple[int, int, int], ...]
    padded: bool


def clocks_of(tails: Sequence[str]) -> Clocks | None:
    """The times of day the tails of a date column's cells hold (None without any),
    hours counted from midnight ("2:15 PM" at 14)."""
    times, hours = [], []
    for tail in tails:
        m = TIME_RE.search(tail)
        if m is not None:
            t = clock_seconds(tail)
            assert t is not None
            times.append((t // 3600, t // 60 % 60, t % 60))
            hours.append(m.group(1))
    if not times:
        return None
    return Clocks(tuple(times), all(len(h) == 2 for h in hours))


def _stepped(
    fmt: DateFormat,
    at: tuple[date, str],
    step: int,
    clocks: Clocks | None,
    r: random.Random,
    weekdays: frozenset[int] | None = None,
) -> str:
    """The date and time `step` seconds from `at` (a parsed cell), written as it is, on
    to the next day of `weekdays` (in the step's direction) where it falls on another."""
    moment = at[0].toordinal() * 86400 + (clock_seconds(at[1]) or 0) + step
    if weekdays:
        for _ in range(7):
            if date.fromordinal(moment // 86400).weekday() in weekdays:
                break
            moment += 86400 if step >= 0 else -86400
    tail = at[1]
    if clocks is not None and TIME_RE.search(tail):
        tail = write_clock(tail, moment % 86400, clocks, r)
    return fmt.format(date.fromordinal(moment // 86400), tail)


def vary_time(
    tail: str,
    r: random.Random,
    clocks: Clocks,
    after: str | None = None,
    before: str | None = None,
) -> str:
    """`tail` (what follows a date: a time, a zone) with its time of day made anew, in
    its own writing: hour, minute and second each a real row's (so a column whose times
    are all "00:00:00", or all at ten past some hour, stays so), strictly after
    `after`'s and before `before`'s when given (neighbours' tails on the same day). A
    tail without a time, or whose bounds no draw fits, is kept."""
    m = TIME_RE.search(tail)
    if m is None:
        return tail
    low, high = clock_seconds(after), clock_seconds(before)
    unit = 1 if m.group(3) is not None else 60
    for _ in range(TIME_TRIES):
        h = r.choice(clocks.times)[0]
        mi = r.choice(clocks.times)[1]
        se = r.choice(clocks.times)[2] if m.group(3) is not None else 0
        t = h * 3600 + mi * 60 + se
        if (low is None or t > low) and (high is None or t < high):
            break
    else:
        # the bounds leave few of the column's hours (after 8:51 PM on a day of office
        # hours): a time between them at the tail's precision, in an hour the column
        # holds, where there is one
        first = (low // unit + 1) * unit if low is not None else 0
        last = ((high - 1) // unit) * unit if high is not None else 86400 - unit
        hours = sorted({h for h, _m, _s in clocks.times if first // 3600 <= h <= last // 3600})
        if first > last or not hours:
            return tail
        h = r.choice(hours)
        lo, hi = max(first, h * 3600), min(last, h * 3600 + 3600 - unit)
        if lo > hi:
            return tail
        t = r.randint(-(-lo // unit), hi // unit) * unit
    return write_clock(tail, t, clocks, r)


def write_clock(tail: str, t: int, clocks: Clocks, r: random.Random) -> str:
    """`tail` with its time of day `t` (seconds after midnight), written as the tail
    writes its own (twelve-hour clock, seconds, fraction: drawn anew)."""
    m = TIME_RE.search(tail)
    if m is None:
        return tail
    h, mi, se = t // 3600, t // 60 % 60, t % 60
    meridiem = m.group(5) or ""
    if meridiem:  # "11:34 PM": the hour on a twelve-hour clock, its half of the day
        k = next(i for i, ch in enumerate(meridiem) if ch in "AaPp")
        half = ("P" if h >= 12 else "A") if meridiem[k].isupper() else ("p" if h >= 12 else "a")
        meridiem = meridiem[:k] + half + meridiem[k + 1 :]
        h = h % 12 or 12
    text = f"{h:02d}:{mi:02d}" if clocks.padded else f"{h}:{mi:02d}"
    if m.group(3) is not None:
        text += f":{se:02d}"
        if m.group(4):
            text += "." + "".join(str(r.randrange(10)) for _ in m.group(4)[1:])
    return tail[: m.start()] + text + meridiem + tail[m.end() :]


NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL


def write_phone(
    e164: str,
    masks: Counter[str],
    fallback: dict[str, float],
    country_code: int,
    r: random.Random,
    prefer: Callable[[str], bool] | None = None,
) -> str:
    """An E.164 number written in one of a column's `masks` (weighted by use): one with
    as many '#' as the national number has digits (or as its national writing has:
    Argentina's "351 15-478-1733" for +54 9 351 478 1733), and no literal country digits
    when the number is foreign; else a `fallback` mask; else the national format (the
    international one for a foreign number).

    A number of the table's country is written only as it reads back: parsed in the
    country, the text is `e164` again. A mask that would make it another number (the
    national digits put where a "15" belongs) is passed over: a canary's number as
    written must be ours, or a call to it reaches someone else.

    Masks `prefer` accepts are tried first (those the column writes numbers of this
    one's area code in: "+56 2 2### ####" for Santiago, "+56 ## ### ####" for the
    regions' two-digit codes, both nine digits)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    nsn = phonenumbers.national_significant_number(parsed)
    same_country = parsed.country_code == country_code
    region = phonenumbers.region_code_for_number(parsed)
    forms = [nsn]
    if same_country:  # a foreign number keeps the national number's digits alone
        national = re.sub(r"\D", "", phonenumbers.format_number(parsed, NATIONAL))
        forms += [national, national[1:] if national.startswith("0") else ""]

    def written(mask: str) -> str | None:
        for digits in dict.fromkeys(f for f in forms if f and mask.count("#") == len(f)):
            it = iter(digits)
            text = "".join(next(it) if ch == "#" else ch for ch in mask)
            if not same_country or _reads_as(text, region, e164):
                return text
        return None

    first = Counter({m: n for m, n in masks.items() if prefer(m)}) if prefer else Counter()
    for pool in (first, masks, fallback if same_country else {}):
        fitting = [
            (text, float(n))
            for m, n in pool.items()
            if (same_country or not re.search(r"\d", m)) and (text := written(m)) is not None
        ]
        if fitting:
            return r.choices([t for t, _ in fitting], weights=[w for _, w in fitting])[0]
    if same_country:
        return phonenumbers.format_number(parsed, NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _reads_as(text: str, region: str | None, e164: str) -> bool:
    """Whether `text`, read in `region` as identify reads numbers, is the number `e164`."""
    return normalize_phone(text, region, strict=False) == e164
