"""Schema inference: what kind of value each column holds, in what format, and the locale.

Planting needs to know, for every column of a table it has only a sample of, what a
new row's cell must look like: an email in the column's local-part style, a phone in
the column's mask, a date in the column's own format, an id continuing the sequence.
The header (Spanish or English) is read first; the values confirm or decide.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import phonenumbers

from canary.identifiers import without_dialing_prefix
from canary.synth.cells import (
    CURP_RE,
    DNI_RE,
    EMAIL_RE,
    FALSE_WORDS,
    NAME_ORDERS,
    PHONE_CHARS_RE,
    RFC_RE,
    SERIAL,
    TRUE_WORDS,
    DateFormat,
    accents_of,
    apply_accents,
    apply_casing,
    casing_of,
    clock_seconds,
    date_format_of,
    fold,
    id_format_of,
    id_number,
    national_number,
    number_format_of,
    parse_number,
    parsed_phone,
    phone_masks_of,
    serial_dates_of,
    valid_phone,
)
from canary.synth.headers import (
    HEADER_PHRASES,
    KINDS,
    PLACE_WORDS,
    _en,
    kind_from_header,
    norm_header,
)
from canary.synth.ids import GroupedSeries
from canary.synth.profiles import LOCALES, all_profiles

#: What other modules import from here (the formats' helpers live in valueformats).
__all__ = [
    "KINDS",
    "PLACE_WORDS",
    "Column",
    "DateFormat",
    "Schema",
    "accents_of",
    "apply_accents",
    "apply_casing",
    "casing_of",
    "date_format_of",
    "detect_locale",
    "fold",
    "id_format_of",
    "id_number",
    "infer_schema",
    "kind_from_header",
    "name_lists",
    "national_number",
    "norm_header",
    "number_format_of",
    "parse_number",
    "phone_masks_of",
]


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

    def kinds(self) -> dict[str, str]:
        """Column name -> kind (for reports and tests)."""
        return {c.name: c.kind for c in self.columns}


# --- the whole schema --------------------------------------------------------------


NAME_KINDS = ("given_name", "paternal", "maternal", "surname", "full_name")
#: Nationally written numbers checked against each country's plan, at most.
MAX_NATIONAL = 300


def _valid_in(digits: str, region: str) -> bool:
    return valid_phone(digits, region)


def detect_locale(
    header: list[str], rows: list[list[str]], pool: Collection[str] = ()
) -> tuple[str, str]:
    """(locale, region) the data shows: phone prefixes, email TLDs, places, header
    language; `pool`, the organisation's canary numbers (E.164), decides between plans
    that hold the table's numbers alike (`_phone_region`)."""
    profiles = all_profiles()
    score: dict[str, float] = dict.fromkeys(LOCALES, 0.0)
    cells = [c for r in rows[:2000] for c in r if c]
    national = 0
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
        if compact.isdigit() and 8 <= len(compact) <= 11 and national < MAX_NATIONAL:
            # A number written nationally is valid in its own country's plan only.
            national += 1
            for loc, prof in profiles.items():
                if _valid_in(compact, str(prof["region"])):
                    score[loc] += 0.5
        if CURP_RE.match(cell) or RFC_RE.match(cell):
            score["es_MX"] += 3
    folded_cells: Counter[str] = Counter()
    for cell, n in Counter(c for c in cells if not c[:1].isdigit()).items():
        folded_cells[fold(cell)] += n
    # Places count outside name columns only: León, Toledo and Soria are surnames too.
    names = {i for i, h in enumerate(header) if kind_from_header(h) in NAME_KINDS}
    raw_places = Counter(
        c
        for r in rows[:2000]
        for i, c in enumerate(r)
        if c and i not in names and not c[:1].isdigit()
    )
    place_cells: Counter[str] = Counter()
    for c, n in raw_places.items():  # each distinct cell folded once
        place_cells[fold(c)] += n
    for loc, prof in profiles.items():
        for w in prof["place_words"]:
            score[loc] += 3 * place_cells.get(fold(w), 0)
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
    return best, _phone_region(header, rows, str(profiles[best]["region"]), pool)


#: Countries a table's phone numbers may belong to beyond the locale profiles' own.
PHONE_REGIONS = (
    "MX", "CR", "ES", "US", "CO", "PE", "AR", "CL", "EC", "VE", "GT", "HN", "SV", "NI",
    "PA", "DO", "UY", "PY", "BO", "PR", "CU", "BR", "PT", "CA", "GB", "FR", "DE", "IT",
)  # fmt: skip


def _phone_region(
    header: list[str], rows: list[list[str]], region: str, pool: Collection[str] = ()
) -> str:
    """The country of the phone column's numbers when they are not the profile's: a
    Colombian list (mobiles 300 123 4567) read as Costa Rican would make every canary
    number a foreign one and parse the table's numbers wrongly. The profile's region
    when its numbers are valid there (half of them or more) or no other country's plan
    holds half of them and more than the profile's."""
    cols = [i for i, h in enumerate(header) if kind_from_header(h) == "phone"]
    cells = [
        c
        for row in rows[:2000]
        for i in cols
        if i < len(row) and (c := re.sub(r"[^\d+]", "", row[i])) and len(c) >= 7
    ][:200]
    if len(cells) < 10:
        return region

    def share(reg: str) -> float:
        hits = 0
        for cell in cells:
            digits = without_dialing_prefix(cell, reg)  # "044 844 123 4567" in Mexico
            n = parsed_phone(digits, reg)
            if n is None:
                continue
            hits += valid_phone(digits, reg) and (phonenumbers.region_code_for_number(n) == reg)
        return hits / len(cells)

    own = share(region)
    mails = _email_countries(rows)
    if (
        own >= 0.5
        and not any(mails[reg] > mails[region] for reg in PHONE_REGIONS)
        and (not pool or region in _pool_by_region(pool))
    ):
        return region
    found = {reg: share(reg) for reg in PHONE_REGIONS if reg != region}
    found[region] = own
    # Numbers that two plans hold (an Italian mobile "340 684 7638" is a Mexican number
    # too; a French "06 95 43 49 46" a German one): the country the emails' domains
    # name ("libero.it", "orange.fr") among those whose plan holds half of them. Read
    # as Mexican, an Italian registry got Spanish given names and a warning to buy
    # Mexican numbers.
    named = [reg for reg, got in found.items() if got >= 0.5 and mails[reg]]
    if named:
        return max(named, key=lambda reg: (mails[reg], found[reg]))
    # Else the country of the organisation's own numbers, among those whose plan holds
    # as many: a Panamanian list's "6688-7214" is a Salvadoran number too, and its
    # canaries got the organisation's Salvadoran numbers beside its Panamanian ones.
    top = max(found.values())
    ours = _pool_by_region(pool)
    close = [reg for reg in ours if found.get(reg, 0.0) >= max(0.5, top - POOL_TIE)]
    if close:
        # of those, the country whose numbers start as the table's do (the Panamanian
        # pool's 6... against the Salvadoran pool's 7...), then the most numbers
        return max(
            close,
            key=lambda reg: (_starts_shared(cells, reg, ours[reg]), found[reg], len(ours[reg])),
        )
    if own >= 0.5:
        return region
    best = max(found, key=lambda reg: found[reg])
    # Half the numbers at least, and more than the profile's: an Argentine roll whose
    # landlines are written without area code ("4567-8901", valid in Costa Rica's plan
    # too) has a third of its numbers no country's plan places.
    return best if found[best] >= 0.5 and found[best] > own else region


def _pool_by_region(pool: Collection[str]) -> dict[str, list[str]]:
    """The organisation's numbers (E.164) by country, as national numbers."""
    out: dict[str, list[str]] = {}
    for e164 in pool:
        try:
            n = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            continue
        region = phonenumbers.region_code_for_number(n)
        if region:
            out.setdefault(region, []).append(phonenumbers.national_significant_number(n))
    return out


def _starts_shared(cells: list[str], region: str, numbers: list[str]) -> float:
    """The share of the table's numbers (`cells`, read in `region`) whose national
    number starts with two digits one of the organisation's `numbers` starts with."""
    starts = {n[:2] for n in numbers}
    hits = 0
    for cell in cells:
        n = parsed_phone(without_dialing_prefix(cell, region), region)
        if n is not None and phonenumbers.national_significant_number(n)[:2] in starts:
            hits += 1
    return hits / len(cells) if cells else 0.0


#: How far below the best plan's share of a table's numbers a plan of the organisation's
#: own numbers' country may hold and still be taken.
POOL_TIE = 0.05


def _email_countries(rows: list[list[str]]) -> Counter[str]:
    """Addresses per country their domain's country code names ("libero.it": IT,
    "btinternet.co.uk": GB), over the first rows; a country named by fewer than
    `MAIL_COUNTRY_SHARE` of the addresses is left out (one ".co" address in a list of
    gmail.com ones says nothing)."""
    out: Counter[str] = Counter()
    total = 0
    for row in rows[:2000]:
        for cell in row:
            if "@" in cell:
                total += 1
                label = cell.rsplit(".", 1)[-1].strip().lower()
                if len(label) == 2 and label.isalpha():
                    out["GB" if label == "uk" else label.upper()] += 1
    return Counter({k: n for k, n in out.items() if n >= MAIL_COUNTRY_SHARE * total})


#: Share of a table's addresses a country's domains must hold to name its country.
MAIL_COUNTRY_SHARE = 0.1


def infer_schema(sample: Any, pool: Collection[str] = ()) -> Schema:
    """The schema of a sample (canary.formats.Sample): every column's kind and format;
    `pool`, the organisation's canary numbers in E.164 (`detect_locale`)."""
    header: list[str] = list(sample.header)
    rows: list[list[str]] = [list(r) + [""] * (len(header) - len(r)) for r in sample.rows]
    locale, region = detect_locale(header, rows, pool)
    columns = [
        _infer_column(i, name, [r[i] for r in rows], region, locale)
        for i, name in enumerate(header)
    ]
    _resolve_names(columns)
    _serial_siblings(columns)
    for col in columns:  # a column the names' resolution made a name column
        if col.kind in SORTED_NAME_KINDS and not col.sorted:
            _name_order(col)
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
    elif col.kind == "date":
        _date_order(col)
    elif col.kind in SORTED_NAME_KINDS:
        _name_order(col)
    if not col.sorted and col.kind in CODE_KINDS and len(values) > 10:
        keys = [v.strip().upper() for v in values]
        if sum(1 for a, b in pairwise(keys) if a < b) >= SORTED_NAMES * (len(keys) - 1):
            # sorted as text (a voter list by its keys, a registry by CURP): a canary's
            # key must fall between its neighbours' (`text_order`)
            col.fmt["text_order"] = True
    return col


def _date_order(col: Column) -> None:
    """Mark a date column sorted where its dates never go back down the sample: by
    day, then time of day ("1/3/2022 11:32 AM" before "1/3/2022 2:15 PM")."""
    if len(col.values) <= 10:
        return
    fmt: DateFormat = col.fmt["date"]
    days = [
        (d[0], clock_seconds(d[1]) or 0)
        for d in (fmt.parse(v) for v in col.values)
        if d is not None
    ]
    col.sorted = len({d for d, _t in days}) > 1 and all(a <= b for a, b in pairwise(days))


#: Values, at least, of an unnamed column read as serial dates beside named ones.
MIN_SERIAL_VALUES = 20
#: Share of an unnamed column's values, at most, that end in 0 for it to read as serial
#: dates (a tenth do; amounts of 20,000 to 55,000 are mostly round).
ROUND_SERIALS = 0.25


def _serial_siblings(columns: list[Column]) -> None:
    """Read as serial dates the unnamed columns of whole numbers beside a column whose
    header names it a date and that holds Excel serials (`serial_dates_of`): an export
    that writes one date so writes all of them. A CSV's ULTIMA_COMPRA (44713), read as
    a number, gave 5 of 24 canaries a purchase after the export date.

    Only columns whose header names no kind, with no value starting "0", with at least
    `MIN_SERIAL_VALUES` values, few of them round (`ROUND_SERIALS`)."""
    if not any(c.fmt.get("date") and c.fmt["date"].order == SERIAL for c in columns):
        return
    for col in columns:
        values = col.values
        if col.kind not in ("number", "id", "category") or len(values) < MIN_SERIAL_VALUES:
            continue
        if kind_from_header(col.name) is not None:
            continue
        fmt = serial_dates_of(values)
        if fmt is None or sum(1 for v in values if v.strip().endswith("0")) > ROUND_SERIALS * len(
            values
        ):
            continue
        col.kind, col.fmt, col.sorted = "date", {"date": fmt}, False
        _date_order(col)


def _names_an_id(name: str) -> bool:
    """Whether a header holds a word of an id's ("NUM_REGISTRO", "FOLIO ALTA"): its
    numbers are not serial dates, whatever date word it holds too."""
    words = norm_header(name).split()
    return any(
        p.split() == words[i : i + len(p.split())]
        for p in HEADER_PHRASES["id"]
        for i in range(len(words))
    )


#: Columns of codes a table may be sorted by as text (`text_order` in their format).
CODE_KINDS = ("id", "curp", "rfc", "dni")


#: Share of neighbouring names in order, at least, for a name column to read as sorted.
SORTED_NAMES = 0.98
#: Name columns a table may be sorted by over its whole length.
SORTED_NAME_KINDS = ("full_name", "paternal", "surname")


def _name_order(col: Column) -> None:
    """Mark a name column sorted, with its collation, where its values keep one.

    In the order of some collation (accents aside; a Spanish one, ñ after n; a
    database's binary one, "ÁLVAREZ" after "ZAPATA"), a mistyped name aside: read as
    sorted only where every pair was in accent-blind order, a list sorted by a binary
    collation got its canaries at random places, out of order."""
    values = col.values
    if len(values) <= 10:
        return
    kept = {
        collation: sum(1 for a, b in pairwise(map(key, values)) if a <= b)
        for collation, key in NAME_ORDERS.items()
    }
    best = max(kept, key=lambda k: kept[k])  # the first of those that keep the most
    if kept[best] >= SORTED_NAMES * (len(values) - 1):
        col.sorted = True
        col.fmt["collation"] = best


def _kind_from_values(
    values: list[str], hint: str | None, region: str, locale: str, col: Column
) -> str:
    distinct = len(set(values))
    n = len(values)
    if _is_email_column(values, hint):
        col.fmt["domains"] = Counter(v.rsplit("@", 1)[1].lower() for v in values if "@" in v)
        return "email"
    if _share(values, lambda v: CURP_RE.match(v.strip().upper()) is not None) >= 0.8:
        return "curp"
    if _share(values, lambda v: RFC_RE.match(v.strip().upper()) is not None) >= 0.8:
        return "rfc"
    if _share(values, _is_json_container) >= 0.8:
        # Lists or objects a JSON source did not flatten: a few repeated ones are
        # categories; varied ones may hold personal data and are never copied or continued.
        if distinct <= max(12, int(0.05 * n)) and n >= 2 * distinct:
            return "category"
        return "json"
    dnis = [m for m in (DNI_RE.match(v.strip().upper()) for v in values[:2000]) if m]
    if len(dnis) >= 0.8 * min(n, 2000):
        col.fmt["dni"] = {
            "nie": sum(1 for m in dnis if not m.group(1).isdigit()) / len(dnis),
            "sep": Counter(m.group(2) for m in dnis).most_common(1)[0][0],
        }
        return "dni"
    dfmt = date_format_of(values, prefer_mdy=locale == "en_US")
    if dfmt is not None and hint not in ("id", "number", "phone"):
        col.fmt["date"] = dfmt
        return "birth_date" if hint == "birth_date" else "date"
    if hint in ("date", "birth_date") and not _names_an_id(col.name):
        serial = serial_dates_of(values)
        if serial is not None:
            col.fmt["date"] = serial
            return hint
    spanish = locale.startswith("es")
    titled = distinct <= MAX_TITLES and _is_titled(values)
    if hint == "sex" or ((distinct <= 3 or titled) and _sex_map(values, spanish)):
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
            # a file number of a year's series ("2023/0457") is no phone
            numbered = hint is None and GroupedSeries.of(values[:3000]) is not None
            if hint == "phone" or (_looks_like_phones(values, region) and not numbered):
                col.fmt["masks"] = masks
                return "phone"
    if hint == "phone":
        masks = phone_masks_of(values, region)
        if not masks:  # several numbers to a cell ("844 111 2222 / 871 333 4444"): the first's
            firsts = [MULTI_SEP_RE.split(v.strip(), maxsplit=1)[0] for v in values[:3000]]
            masks = phone_masks_of(firsts, region)
        col.fmt["masks"] = masks or Counter({"##########": 1})
        return "phone"
    numfmt = number_format_of(values)
    if hint == "age" and numfmt is not None:
        col.fmt["number"] = numfmt
        return "age"
    if distinct == 1 and n >= 3:
        return "constant"
    if hint == "place" and _is_status(values):
        hint = "category"  # "ESTADO": EMPLEADO, PENSIONADO (a status, not a state)
    if hint == "place":
        return "place"
    idfmt = id_format_of(values)
    coded = distinct == n and n >= 10 and _fixed_width_code(values)
    if idfmt is not None and (
        hint == "id" or (distinct == n and n >= 10 and (numfmt is None or coded))
    ):
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
    if hint in NAME_KINDS:
        return hint
    if hint == "text":  # a middle name, a note: sampled from the column as it is
        return "text"
    if hint == "category" or (distinct <= max(12, int(0.05 * n)) and n >= 2 * distinct):
        if numfmt is not None:
            col.fmt["number"] = numfmt
        return "category"
    if hint == "id" and distinct >= 0.95 * n:
        # before amounts: a DNI written "23.456.789" is a document, not a sum of money
        col.fmt["id"] = None
        return "id"
    if numfmt is not None:
        col.fmt["number"] = numfmt
        return "number"
    if distinct >= 0.95 * n and n >= 10 and _one_digit_mask(values):
        # a document written "0801-1985-12345": read as free text, its digits were
        # varied apart from its municipality's code
        col.fmt["id"] = None
        return "id"
    guess = _name_kind(values)
    if guess:
        return guess
    return "text"


def _one_digit_mask(values: list[str]) -> bool:
    """Whether nearly all values are written in one mask of digits and separators
    ("####-####-#####"), five digits or more."""
    masks = Counter(re.sub(r"\d", "#", v.strip()) for v in values[:2000])
    mask, k = masks.most_common(1)[0]
    return (
        k >= PASSING_MASK * sum(masks.values())
        and mask.count("#") >= 5
        and not re.search(r"[^#\s.\-/]", mask)
    )


#: Share of a column's values in one mask for it to read as a masked document number.
PASSING_MASK = 0.95


#: Any address shape, also a local part with accents ("núria.3@...", SMTPUTF8) or one
#: that EMAIL_RE's stricter grammar refuses: in a table column it is still an address.
LOOSE_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")


#: Between numbers in one cell: "844 111 2222 / 871 333 4444", "...; ...", "... y ...".
MULTI_SEP_RE = re.compile(r"\s*(?:[/,;|]|\s(?:y|o|or|and)\s)\s*")


def _fixed_width_code(values: list[str]) -> bool:
    """Unique values of one width that a number would not be written as: zero-padded or
    with a letter prefix ("OH0012345678", "000417"): a code, not an amount."""
    vs = [v.strip() for v in values[:2000]]
    widths = Counter(len(v) for v in vs)
    if widths.most_common(1)[0][1] < 0.95 * len(vs):
        return False
    return any(v[:1] == "0" and len(v) > 1 for v in vs) or all(v[:1].isalpha() for v in vs)


def _is_json_container(value: str) -> bool:
    v = value.strip()
    if v[:1] not in "[{":
        return False
    try:
        return isinstance(json.loads(v), list | dict)
    except ValueError:
        return False


def _is_email_column(values: list[str], hint: str | None) -> bool:
    """Mostly addresses; a header that says email needs only half (typos, placeholders).

    Checked before ids: addresses numbered in order ("ana.1@", "ana.2@"...) would
    otherwise read as an id sequence, and canaries would continue it off our domains.
    """
    if _share(values, lambda v: EMAIL_RE.match(v.strip()) is not None) >= 0.8:
        return True
    loose = _share(values, lambda v: LOOSE_EMAIL_RE.match(v.strip()) is not None)
    return loose >= 0.8 or (hint == "email" and loose >= 0.5)


def _looks_like_phones(values: list[str], region: str) -> bool:
    ok = 0
    for v in values[:300]:
        nsn = national_number(v, region)
        if nsn and parsed_phone(v, region) is not None:
            ok += valid_phone(v, region) or len(nsn) in (8, 10)
    return ok >= 0.7 * min(len(values), 300)


#: Endings of the words a status is written in, Spanish, Portuguese and English
#: participles and adjectives ("ACTIVO", "PENSIONADO", "VIGENTE", "retired", "active").
STATUS_ENDINGS = (
    "ado", "ada", "ados", "adas", "ido", "ida", "idos", "idas", "ivo", "iva", "ivos", "ivas",
    "ante", "ente", "antes", "entes", "ed", "ive", "ing",
)  # fmt: skip
#: Distinct values a status column holds, at most ...
MAX_STATUSES = 30
#: ... and the share of them in `STATUS_ENDINGS`, at least (a US state column: Colorado,
#: Florida, Nevada: 3 of 50).
STATUS_SHARE = 0.5


def _is_status(values: list[str]) -> bool:
    """Whether a column a place word names ("ESTADO", "State") holds statuses instead:
    a few values, most of them participles or adjectives ("EMPLEADO", "PENSIONADO",
    "ESTUDIANTE"). Read as a place, a status was copied from a row of another age and
    never followed the columns it goes with."""
    distinct = {fold(v.strip()) for v in values if v.strip()}
    if not 2 <= len(distinct) <= MAX_STATUSES:
        return False
    ending = sum(1 for v in distinct if v.split()[-1].endswith(STATUS_ENDINGS))
    # two at least: "AGUASCALIENTES" and one other state are no status
    return ending >= max(STATUS_SHARE * len(distinct), 2)


def _is_boolean(values: list[str]) -> bool:
    low = {fold(v.strip()) for v in set(values)}
    return 1 <= len(low) <= 2 and low <= (TRUE_WORDS | FALSE_WORDS) and len(values) >= 4


FEMALE_WORDS = {"f", "fem", "femenino", "female", "mujer", "w", "woman", "femenina"}
MALE_WORDS = {"h", "masc", "masculino", "male", "hombre", "man", "masculina", "v", "varon"}
#: Forms of address that say the sex ("Mme", "Mrs", "Sra.", "Frau"; "M." is Monsieur
#: beside them): a title column is the row's sex written another way.
FEMALE_TITLES = {
    "mrs", "miss", "ms", "mme", "mlle", "madame", "mademoiselle", "sra", "srta", "senora",
    "senorita", "dona", "frau", "signora", "sigra", "dra",
}  # fmt: skip
MALE_TITLES = {"mr", "sr", "senor", "don", "monsieur", "herr", "signor", "sig"}
#: Distinct values a title column may hold (Mr, Mrs, Miss, Ms, Dr, Rev...).
MAX_TITLES = 8
#: Rows a title column may hold with a title of no sex ("Dr", "Rev"), at most.
SEXLESS_TITLES = 0.1


def _title_word(value: str) -> str:
    return fold(value).replace(".", "").strip()


def _is_titled(values: list[str]) -> bool:
    """Whether a column's values are forms of address ("Mr", "Mme", "Sra.")."""
    words = {_title_word(v) for v in set(values)}
    return bool(words & (FEMALE_TITLES | MALE_TITLES))


def _sex_map(values: list[str], spanish: bool = True) -> dict[str, str] | None:
    """Column value -> "F"/"M" for a sex column, or None if the values are not sexes.

    "M" is "mujer" next to "H" (hombre), "male" next to "F", Monsieur ("M.") next to
    "Mme"; alone, it follows the data's language. A column of forms of address ("Mr",
    "Mrs", "Miss", "Dr") is one too, a few sexless ones ("Dr") aside: drawn apart from
    the names, 11 of 24 canaries of a French and a British list had the other sex's.
    """
    counts = Counter(v.strip() for v in values)
    titled = _is_titled(list(counts))
    if len(counts) > (MAX_TITLES if titled else 4):
        return None
    low = {_title_word(v) for v in counts}
    m_is_female = not titled and ("h" in low or "hombre" in low or (spanish and "f" not in low))
    mapping: dict[str, str] = {}
    for v in counts:
        f = _title_word(v)
        if f in FEMALE_WORDS or f in FEMALE_TITLES or (f == "m" and m_is_female):
            mapping[v] = "F"
        elif f in MALE_WORDS or f in MALE_TITLES or f == "m":
            mapping[v] = "M"
    if not mapping:
        return None
    if titled:
        sexless = sum(k for v, k in counts.items() if v not in mapping)
        return mapping if sexless <= SEXLESS_TITLES * sum(counts.values()) else None
    if len(mapping) < len(counts) - 1:
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


def _last_words_never_first(toks: list[list[str]]) -> bool:
    """Whether the last words of values of several words (folded, split) open no
    other value, but for `LAST_AS_FIRST` of them: surnames, not given names."""
    firsts = Counter(t[0] for t in toks if t)
    multi = [t for t in toks if len(t) >= 2]
    if len(multi) < MIN_NAME_VALUES:
        return False
    return sum(1 for t in multi if firsts[t[-1]]) <= LAST_AS_FIRST * len(multi)


#: Share of several-word names whose last word opens another, at most, for a column
#: of names to hold surnames (`_last_words_never_first`); and values needed to tell.
LAST_AS_FIRST = 0.1
MIN_NAME_VALUES = 30


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


def _surname_comma_given(values: list[str], given: set[str]) -> bool:
    """Most values are "SURNAMES, GIVEN NAMES": a comma, and a known given name after it."""
    after = [fold(v.split(",", 1)[1]).split() for v in values if "," in v]
    known = sum(1 for t in after if t and t[0] in given)
    return len(after) > 0.5 * len(values) and known >= 0.5 * len(after)


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
    for c in columns:  # "GONZALEZ, MARIA LAURA" under a header naming the surname first
        if c.kind == "surname" and _surname_comma_given(c.values[:500], lists["given"]):
            c.kind = "full_name"
    kinds = [c.kind for c in columns]
    has_surname = any(k in ("paternal", "maternal", "surname") for k in kinds)
    for c in columns:
        if c.kind == "given_name" and not has_surname:
            toks = [fold(v).split() for v in c.values[:500]]
            multi = sum(1 for t in toks if len(t) >= 2) / max(len(toks), 1)
            with_last = sum(1 for t in toks if any(w in lists["last"] for w in t[1:]))
            if multi >= 0.6 and with_last >= 0.4 * max(len(toks), 1):
                c.kind = "full_name"
            elif multi >= 0.8 and _last_words_never_first(toks):
                # surnames no list knows ("Agatha Aragão Peixoto"): a compound given
                # name's last word opens other names ("Maria Ana", "Ana Paula"), a
                # surname does not
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
                # "MORENO, Maria Paz": each side of the comma written its own way
                sides = [v.partition(",") for v in c.values[:500] if "," in v]
                c.fmt["part_casing"] = (
                    casing_of([a for a, _, _ in sides]),
                    casing_of([b.strip() for _, _, b in sides]),
                )
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
