"""Schema inference: what kind of value each column holds, in what format, and the locale.

Planting needs to know, for every column of a table it has only a sample of, what a
new row's cell must look like: an email in the column's local-part style, a phone in
the column's mask, a date in the column's own format, an id continuing the sequence.
The header (Spanish or English) is read first; the values confirm or decide.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

import phonenumbers

from .seeds import LOCALES, all_profiles

#: Kinds a column can have.
KINDS = (
    "email phone given_name paternal maternal surname full_name sex birth_date date age "
    "curp rfc id place category number boolean text constant empty"
).split()

#: Place-like columns, copied together from one real row so they stay consistent.
PLACE_WORDS = (
    "municipio",
    "estado",
    "entidad",
    "ciudad",
    "colonia",
    "localidad",
    "provincia",
    "canton",
    "distrito",
    "seccion",
    "cp",
    "codigo postal",
    "c p",
    "zip",
    "zip code",
    "postal code",
    "postcode",
    "city",
    "state",
    "county",
    "town",
    "country",
    "pais",
    "region",
    "domicilio",
    "direccion",
    "calle",
    "address",
    "street",
    "lada",
    "area code",
    "alcaldia",
    "barrio",
    "delegacion",
)

# Header phrases per kind, matched on the normalised header (no accents, lower case,
# punctuation as spaces). Longer phrases win over shorter ones.
HEADER_PHRASES: dict[str, tuple[str, ...]] = {
    "email": ("correo", "correo electronico", "email", "e mail", "mail", "email address"),
    "phone": (
        "telefono",
        "tel",
        "tel movil",
        "telefono celular",
        "celular",
        "cel",
        "movil",
        "whatsapp",
        "phone",
        "phone number",
        "mobile",
        "cell",
        "cellphone",
        "numero de contacto",
        "telefono de contacto",
    ),
    "given_name": (
        "nombre",
        "nombres",
        "nombre s",
        "first name",
        "firstname",
        "given name",
        "fname",
    ),
    "full_name": (
        "nombre completo",
        "full name",
        "name",
        "nombre del cliente",
        "customer name",
        "nombre y apellidos",
        "candidata",
        "candidato",
        "titular",
    ),
    "paternal": (
        "apellido paterno",
        "primer apellido",
        "ap paterno",
        "a paterno",
        "paterno",
        "apellido 1",
        "apellido1",
    ),
    "maternal": (
        "apellido materno",
        "segundo apellido",
        "ap materno",
        "a materno",
        "materno",
        "apellido 2",
        "apellido2",
    ),
    "surname": (
        "apellido",
        "apellidos",
        "last name",
        "lastname",
        "surname",
        "family name",
        "lname",
    ),
    "sex": ("sexo", "genero", "gender", "sex"),
    "birth_date": (
        "fecha de nacimiento",
        "fecha nacimiento",
        "f nacimiento",
        "fec nac",
        "nacimiento",
        "date of birth",
        "birth date",
        "birthdate",
        "dob",
        "birthday",
    ),
    "date": ("fecha", "date", "fecha de registro", "fecha registro", "registro", "alta", "created"),
    "age": ("edad", "age"),
    "curp": ("curp",),
    "rfc": ("rfc",),
    "id": (
        "folio",
        "id",
        "clave",
        "no",
        "num",
        "numero",
        "consecutivo",
        "customer id",
        "id cliente",
        "cliente id",
        "codigo",
        "code",
        "key",
        "record",
        "uuid",
        "no cliente",
        "numero de cliente",
        "cedula",
    ),
    "place": PLACE_WORDS,
    "number": (
        "monto",
        "importe",
        "saldo",
        "amount",
        "total",
        "precio",
        "price",
        "balance",
        "pago",
    ),
    "category": ("partido", "party", "status", "estatus", "tipo", "type", "cargo", "categoria"),
}

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
CURP_RE = re.compile(r"^[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d$")
RFC_RE = re.compile(r"^[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}$")
ID_RE = re.compile(r"^([^\d]*?)(\d+)([^\d]*)$")
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
    t = unicodedata.normalize("NFKD", text)
    return "".join(c for c in t if not unicodedata.combining(c)).lower()


def norm_header(name: str) -> str:
    """A header as words: accents dropped, lower case, punctuation as single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(name)).split())


@dataclass
class DateFormat:
    """A date format as the column writes it: field order, separator, padding, time tail."""

    order: str  # "ymd", "dmy" or "mdy"
    sep: str
    year_digits: int
    padded: bool

    def format(self, d: date, tail: str = "") -> str:
        y = f"{d.year:04d}" if self.year_digits == 4 else f"{d.year % 100:02d}"
        m = f"{d.month:02d}" if self.padded else str(d.month)
        dd = f"{d.day:02d}" if self.padded else str(d.day)
        parts = {"y": y, "m": m, "d": dd}
        return self.sep.join(parts[c] for c in self.order) + tail

    def parse(self, text: str) -> tuple[date, str] | None:
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


@dataclass
class Column:
    """One column: its kind, how its values look, and what the sample says of them."""

    index: int
    name: str
    kind: str
    #: Non-empty sample values, in sample order.
    values: list[str] = field(default_factory=list)
    empty_rate: float = 0.0
    #: "upper", "lower", "title" or "mixed": how letters are written.
    casing: str = "mixed"
    #: "full" (accents as written), "enye" (only Ñ kept), "none" (plain ASCII).
    accents: str = "full"
    #: True when the values strictly increase down the sample (a sorted sequence).
    sorted: bool = False
    #: Kind-specific format facts (phone masks, date format, id prefix/width...).
    fmt: dict[str, Any] = field(default_factory=dict)

    @property
    def distinct(self) -> int:
        return len(set(self.values))


@dataclass
class Schema:
    """What every column is, and the locale the data shows."""

    header: list[str]
    columns: list[Column]
    region: str = "MX"
    locale: str = "es_MX"
    row_count: int = 0

    def of_kind(self, *kinds: str) -> list[int]:
        return [c.index for c in self.columns if c.kind in kinds]

    @property
    def email_columns(self) -> list[int]:
        return self.of_kind("email")

    @property
    def phone_columns(self) -> list[int]:
        return self.of_kind("phone")

    @property
    def place_columns(self) -> list[int]:
        return self.of_kind("place")

    def kinds(self) -> dict[str, str]:
        """Column name -> kind (for reports and tests)."""
        return {c.name: c.kind for c in self.columns}


# --- header reading ----------------------------------------------------------------


def kind_from_header(name: str) -> str | None:
    """The kind a header names, or None when it says nothing recognisable."""
    h = norm_header(name)
    if not h:
        return None
    best: tuple[int, str] | None = None
    words = h.split()
    for kind, phrases in HEADER_PHRASES.items():
        for p in phrases:
            pw = p.split()
            hit = h == p or _contains(words, pw)
            if hit and (best is None or len(p) > best[0]):
                best = (len(p), kind)
    return best[1] if best else None


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


# --- value reading -----------------------------------------------------------------


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
    small = {"de", "la", "del", "los", "las", "y", "da", "van", "von"}
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


def number_format_of(values: list[str]) -> dict[str, Any] | None:
    """Decimals, separators and affixes of a numeric column, or None if not numeric."""
    decimals: Counter[int] = Counter()
    thousands: Counter[str] = Counter()
    point = "."
    for v in values[:2000]:
        m = NUMBER_RE.match(v.strip())
        if not m:
            return None
        intpart, frac = m.group(3), m.group(4)
        if frac:
            point = frac[0]
            decimals[len(frac) - 1] += 1
        else:
            decimals[0] += 1
        for sep in ",. ":
            if sep in intpart and sep != point:
                thousands[sep] += 1
    if point in thousands:
        return None
    nums = [parse_number(v) for v in values[:2000]]
    if any(x is None for x in nums):
        return None
    return {
        "decimals": decimals.most_common(1)[0][0],
        "decimals_mix": dict(decimals),
        "point": point,
        "thousands": thousands.most_common(1)[0][0] if thousands else "",
        "min": min(x for x in nums if x is not None),
        "max": max(x for x in nums if x is not None),
    }


def parse_number(v: str) -> float | None:
    m = NUMBER_RE.match(v.strip())
    if not m:
        return None
    sign, intpart, frac = m.group(2), m.group(3), m.group(4) or ""
    digits = re.sub(r"\D", "", intpart)
    try:
        x = float(digits + ("." + frac[1:] if frac else ""))
    except ValueError:
        return None
    return -x if sign == "-" else x


def id_format_of(values: list[str]) -> dict[str, Any] | None:
    """Prefix, width and numbering of an id/folio column, or None when values differ in shape."""
    parts = [ID_RE.match(v) for v in values[:5000]]
    if not values or any(p is None for p in parts):
        return None
    ps = [p for p in parts if p is not None]
    prefixes = Counter(p.group(1) for p in ps)
    suffixes = Counter(p.group(3) for p in ps)
    widths = Counter(len(p.group(2)) for p in ps)
    padded = any(p.group(2).startswith("0") and len(p.group(2)) > 1 for p in ps)
    nums = [int(p.group(2)) for p in ps]
    return {
        "prefix": prefixes.most_common(1)[0][0],
        "suffix": suffixes.most_common(1)[0][0],
        "width": widths.most_common(1)[0][0] if padded else 0,
        "min": min(nums),
        "max": max(nums),
        "uniform": len(prefixes) == 1 and len(suffixes) == 1,
        #: Every prefix with its count ("A-", "B-"...), for tables that mix series.
        "prefixes": dict(prefixes.most_common(50)),
    }


def id_number(value: str) -> int | None:
    m = ID_RE.match(value)
    return int(m.group(2)) if m else None


def phone_masks_of(values: list[str], region: str) -> Counter[str]:
    """Masks ('#' for each national digit) the column writes its numbers in, with counts.

    The national significant number's digits become '#'; whatever precedes them
    (country code, the Mexican mobile '1', a trunk '0') stays literal.
    """
    masks: Counter[str] = Counter()
    for v in values[:3000]:
        nsn = national_number(v, region)
        if not nsn:
            continue
        digits_left = len(nsn)
        out = []
        for c in reversed(v):
            if c.isdigit() and digits_left:
                out.append("#")
                digits_left -= 1
            else:
                out.append(c)
        masks["".join(reversed(out))] += 1
    return masks


def national_number(value: str, region: str) -> str:
    """The national significant number of a phone as written, or "" if it is not one."""
    digits = re.sub(r"[^\d+]", "", value)
    if len(re.sub(r"\D", "", digits)) < 7:
        return ""
    try:
        p = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return ""
    nsn = phonenumbers.national_significant_number(p)
    if p.country_code == 52 and len(nsn) == 11 and nsn.startswith("1"):
        nsn = nsn[1:]
    if not phonenumbers.is_possible_number(p) and len(nsn) < 7:
        return ""
    return nsn


# --- the whole schema --------------------------------------------------------------


def detect_locale(header: list[str], rows: list[list[str]]) -> tuple[str, str]:
    """(locale, region) the data shows: phone prefixes, email TLDs, places, header language."""
    profiles = all_profiles()
    score: dict[str, float] = dict.fromkeys(LOCALES, 0.0)
    cells = [c for r in rows[:2000] for c in r if c]
    for cell in cells:
        low = cell.lower()
        if "@" in low:
            dom = low.rsplit("@", 1)[1]
            for loc, prof in profiles.items():
                if any(dom.endswith("." + t) for t in prof["tlds"]):
                    score[loc] += 2
                if dom in prof["email_providers"] and "." in dom and not dom.endswith(".com"):
                    score[loc] += 1
            continue
        compact = re.sub(r"[\s().\-]", "", cell)
        if compact.startswith("+") or compact.startswith("00"):
            for loc, prof in profiles.items():
                cc = str(prof["country_code"])
                if compact.lstrip("+").removeprefix("00").startswith(cc):
                    score[loc] += 2
        elif compact.isdigit() and len(compact) == 8 and compact[0] in "5678":
            score["es_CR"] += 0.5
        if CURP_RE.match(cell) or RFC_RE.match(cell):
            score["es_MX"] += 3
    folded_cells: Counter[str] = Counter()
    for cell, n in Counter(c for c in cells if not c[:1].isdigit()).items():
        folded_cells[fold(cell)] += n
    for loc, prof in profiles.items():
        for w in prof["place_words"]:
            score[loc] += 3 * folded_cells.get(fold(w), 0)
    # Names tell Spanish from English data (not Mexico from Spain: places do that).
    lists = name_lists()
    es_words = en_words = 0
    for cell, n in folded_cells.items():
        for w in cell.split()[:4]:
            es_words += n * (w in lists["spanish_only"])
            en_words += n * (w in lists["english_only"])
    if es_words > 2 * en_words:
        score["es_MX"] += 0.5 * es_words
        score["es_ES"] += 0.5 * es_words
        score["es_CR"] += 0.5 * es_words
    elif en_words > 2 * es_words:
        score["en_US"] += 0.5 * en_words
    spanish = sum(1 for h in header if kind_from_header(h) and not _en(h))
    english = sum(1 for h in header if _en(h) and kind_from_header(h))
    if english > spanish:
        score["en_US"] += 2 * len(rows[:2000]) ** 0.5 + 1
    elif spanish:
        score["es_MX"] += 1  # Spanish headers: Mexico unless the values say otherwise
    best = max(LOCALES, key=lambda loc: (score[loc], -LOCALES.index(loc)))
    return best, profiles[best]["region"]


_EN_WORDS = {
    "email", "mail", "phone", "mobile", "cell", "first", "last", "name", "surname", "gender",
    "sex", "birth", "date", "age", "city", "state", "zip", "county", "address", "amount",
    "customer", "total", "price", "balance", "created", "code", "key", "street", "country",
    "dob", "birthday", "status", "type", "party", "id",
}  # fmt: skip


def _en(header: str) -> str:
    return " ".join(w for w in norm_header(header).split() if w in _EN_WORDS and w != "id")


def infer_schema(sample: Any) -> Schema:
    """The schema of a sample (canary.formats.Sample): every column's kind and format."""
    header: list[str] = list(sample.header)
    rows: list[list[str]] = [list(r) + [""] * (len(header) - len(r)) for r in sample.rows]
    locale, region = detect_locale(header, rows)
    columns = [
        _infer_column(i, name, [r[i] for r in rows], region, locale)
        for i, name in enumerate(header)
    ]
    _resolve_names(columns)
    return Schema(
        header=header,
        columns=columns,
        region=region,
        locale=locale,
        row_count=int(getattr(sample, "row_count", None) or len(rows)),
    )


def _share(values: list[str], pred: Any) -> float:
    vs = values[:2000]
    return sum(1 for v in vs if pred(v)) / len(vs) if vs else 0.0


def _infer_column(index: int, name: str, cells: list[str], region: str, locale: str) -> Column:
    values = [c for c in cells if c.strip()]
    col = Column(index=index, name=name, kind="text", values=values)
    col.empty_rate = (len(cells) - len(values)) / len(cells) if cells else 0.0
    col.casing = casing_of(values)
    col.accents = accents_of(values)
    hint = kind_from_header(name)
    if not values:
        # An empty column keeps its header's meaning for contact columns only: a canary
        # still needs its address or number there.
        col.kind = hint if hint in ("email", "phone") else "empty"
        return col
    col.kind = _kind_from_values(values, hint, region, locale, col)
    if col.kind in ("id", "number", "age") and len(values) > 1:
        nums = [id_number(v) if col.kind == "id" else parse_number(v) for v in values]
        col.sorted = all(a is not None and b is not None and a < b for a, b in pairwise(nums))
    elif col.kind == "date" and len(values) > 10:
        fmt: DateFormat = col.fmt["date"]
        days = [(d[0], d[1]) for d in (fmt.parse(v) for v in values) if d is not None]
        col.sorted = len({d for d, _t in days}) > 1 and all(a <= b for a, b in pairwise(days))
    elif col.kind in ("full_name", "paternal", "surname") and len(values) > 10:
        keys = [fold(v) for v in values]
        col.sorted = all(a <= b for a, b in pairwise(keys))
    return col


def _kind_from_values(
    values: list[str], hint: str | None, region: str, locale: str, col: Column
) -> str:
    distinct = len(set(values))
    n = len(values)
    if _share(values, lambda v: EMAIL_RE.match(v.strip()) is not None) >= 0.8:
        col.fmt["domains"] = Counter(v.rsplit("@", 1)[1].lower() for v in values if "@" in v)
        return "email"
    if _share(values, lambda v: CURP_RE.match(v.strip().upper()) is not None) >= 0.8:
        return "curp"
    if _share(values, lambda v: RFC_RE.match(v.strip().upper()) is not None) >= 0.8:
        return "rfc"
    dfmt = date_format_of(values, prefer_mdy=locale == "en_US")
    if dfmt is not None and hint not in ("id", "number", "phone"):
        col.fmt["date"] = dfmt
        return "birth_date" if hint == "birth_date" else "date"
    spanish = locale.startswith("es")
    if hint == "sex" or (distinct <= 3 and _sex_map(values, spanish)):
        mapping = _sex_map(values, spanish)
        if mapping:
            col.fmt["sex"] = mapping
            return "sex"
    phone_like = _share(values, lambda v: PHONE_CHARS_RE.match(v.strip()) is not None)
    if phone_like >= 0.8 and (hint == "phone" or hint is None):
        masks = phone_masks_of(values, region)
        if sum(masks.values()) >= 0.8 * min(n, 3000) and (
            hint == "phone" or any(not m.replace("#", "") == "" for m in masks) or distinct == n
        ):
            if hint == "phone" or _looks_like_phones(values, region):
                col.fmt["masks"] = masks
                return "phone"
    if hint == "phone":
        masks = phone_masks_of(values, region)
        col.fmt["masks"] = masks or Counter({"##########": 1})
        return "phone"
    numfmt = number_format_of(values)
    if hint == "age" and numfmt is not None:
        col.fmt["number"] = numfmt
        return "age"
    if distinct == 1 and n >= 3:
        return "constant"
    if hint == "place":
        return "place"
    idfmt = id_format_of(values)
    if idfmt is not None and (hint == "id" or (distinct == n and n >= 10 and numfmt is None)):
        if distinct >= 0.95 * n:
            col.fmt["id"] = idfmt
            return "id"
    if idfmt is not None and distinct == n and n >= 10 and numfmt is not None and hint is None:
        nums = sorted(int(x) for x in (id_number(v) for v in values) if x is not None)
        if all(v.isdigit() for v in values) and nums[-1] - nums[0] < 3 * n:
            col.fmt["id"] = idfmt
            return "id"
    if _is_boolean(values):
        col.fmt["boolean"] = sorted(set(values))
        return "boolean"
    if hint in ("given_name", "paternal", "maternal", "surname", "full_name"):
        return hint
    if hint == "category" or (distinct <= max(12, int(0.05 * n)) and n >= 2 * distinct):
        if numfmt is not None:
            col.fmt["number"] = numfmt
        return "category"
    if numfmt is not None:
        col.fmt["number"] = numfmt
        return "number"
    if hint == "id" and distinct >= 0.95 * n:
        col.fmt["id"] = None
        return "id"
    guess = _name_kind(values)
    if guess:
        return guess
    return "text"


def _looks_like_phones(values: list[str], region: str) -> bool:
    ok = 0
    for v in values[:300]:
        nsn = national_number(v, region)
        if nsn:
            try:
                p = phonenumbers.parse(v, region)
                ok += phonenumbers.is_valid_number(p) or len(nsn) in (8, 10)
            except phonenumbers.NumberParseException:
                pass
    return ok >= 0.7 * min(len(values), 300)


def _is_boolean(values: list[str]) -> bool:
    low = {fold(v.strip()) for v in set(values)}
    return 1 <= len(low) <= 2 and low <= (TRUE_WORDS | FALSE_WORDS) and len(values) >= 4


FEMALE_WORDS = {"f", "fem", "femenino", "female", "mujer", "w", "woman", "femenina"}
MALE_WORDS = {"h", "masc", "masculino", "male", "hombre", "man", "masculina", "v", "varon"}


def _sex_map(values: list[str], spanish: bool = True) -> dict[str, str] | None:
    """Column value -> "F"/"M" for a sex column, or None if the values are not sexes.

    "M" is "mujer" next to "H" (hombre), "male" next to "F"; alone, it follows the
    data's language.
    """
    distinct = {v.strip() for v in values}
    low = {fold(v) for v in distinct}
    if len(distinct) > 4:
        return None
    mapping: dict[str, str] = {}
    m_is_female = "h" in low or "hombre" in low or (spanish and "f" not in low)
    for v in distinct:
        f = fold(v)
        if f in FEMALE_WORDS or (f == "m" and m_is_female) or f == "mujer":
            mapping[v] = "F"
        elif f in MALE_WORDS or f == "m":
            mapping[v] = "M"
    if len(mapping) < len(distinct) - 1 or not mapping:
        return None
    return mapping


_NAME_LISTS: dict[str, set[str]] = {}


def name_lists() -> dict[str, set[str]]:
    """Folded given names and surnames known to Faker's Spanish and English locales."""
    if not _NAME_LISTS:
        from faker.providers.person.en_US import Provider as EnUS
        from faker.providers.person.es_ES import Provider as EsES
        from faker.providers.person.es_MX import Provider as EsMX

        given: set[str] = set()
        last: set[str] = set()
        for p in (EsMX, EsES, EnUS):
            for n in list(p.first_names_female) + list(p.first_names_male):
                given.add(fold(n))
            for n in list(p.last_names):
                last.add(fold(n))
        _NAME_LISTS["given"] = given
        _NAME_LISTS["last"] = last
        spanish: set[str] = set()
        english: set[str] = set()
        for p, into in ((EsMX, spanish), (EsES, spanish), (EnUS, english)):
            for n in list(p.first_names_female) + list(p.first_names_male) + list(p.last_names):
                into.update(fold(n).split())
        _NAME_LISTS["spanish_only"] = spanish - english
        _NAME_LISTS["english_only"] = english - spanish
    return _NAME_LISTS


def _name_kind(values: list[str]) -> str | None:
    """full_name/given_name/surname for a header-less column of names, from the values."""
    lists = name_lists()
    sample = values[:500]
    if not all(re.fullmatch(r"[^\d@#$%&*/\\|<>=_+]{2,80}", v) for v in sample):
        return None
    toks = [fold(v).replace(",", " ").split() for v in sample]
    n = len(toks)
    first_given = sum(1 for t in toks if t and t[0] in lists["given"]) / n
    any_last = sum(1 for t in toks if any(w in lists["last"] for w in t)) / n
    multi = sum(1 for t in toks if len(t) >= 2) / n
    if multi >= 0.8 and (first_given >= 0.5 or any_last >= 0.6):
        return "full_name"
    if first_given >= 0.6:
        return "given_name"
    if any_last >= 0.6:
        return "surname"
    return None


def _resolve_names(columns: list[Column]) -> None:
    """Name columns that depend on their neighbours: a lone "apellido" after a paternal
    one is the maternal surname; a "name" column of single words is a given name; a
    full-name column records its word order."""
    kinds = [c.kind for c in columns]
    if "paternal" in kinds:
        for c in columns:
            if c.kind == "surname":
                c.kind = "maternal"
                break
    lists = name_lists()
    has_surname = any(k in ("paternal", "maternal", "surname") for k in kinds)
    for c in columns:
        if c.kind == "given_name" and not has_surname:
            toks = [fold(v).split() for v in c.values[:500]]
            multi = sum(1 for t in toks if len(t) >= 2) / max(len(toks), 1)
            with_last = sum(1 for t in toks if any(w in lists["last"] for w in t[1:]))
            if multi >= 0.6 and with_last >= 0.4 * max(len(toks), 1):
                c.kind = "full_name"
        if c.kind == "full_name":
            toks = [fold(v).replace(",", " ").split() for v in c.values[:500]]
            multi = sum(1 for t in toks if len(t) >= 2) / max(len(toks), 1)
            if multi < 0.5 and "given_name" not in kinds:
                c.kind = "given_name"
                continue
            comma = sum(1 for v in c.values[:500] if "," in v) / max(len(c.values[:500]), 1)
            first_given = sum(1 for t in toks if t and t[0] in lists["given"])
            last_given = sum(1 for t in toks if t and t[-1] in lists["given"])
            if comma > 0.5:
                c.fmt["order"] = "last_comma_first"
            elif last_given > first_given:
                c.fmt["order"] = "last_first"
            else:
                c.fmt["order"] = "first_last"
            c.fmt["words"] = Counter(len(t) for t in toks)
        if c.kind == "given_name":
            c.fmt["words"] = Counter(len(v.split()) for v in c.values[:2000])
        if c.kind == "surname":
            vals = c.values[:2000]
            c.fmt["two_words"] = sum(1 for v in vals if len(v.split()) >= 2) / max(len(vals), 1)
