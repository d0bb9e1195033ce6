"""Canary synthesis: consistent synthetic people, written as rows that fit their table.

A `CanaryFactory` learns from a table's sample (through its `Schema`) how each column
is written, then makes `Persona`s (names, sex, birth date, a unique email on the canary
domains) and turns each into a row: names in the column's casing and accents, the
canary phone in one of the column's own masks, places copied together from one real
row (a municipality with its own state, postal code and area code), dates and numbers
drawn from the column's own values, CURPs consistent with the person, ids continuing
the sequence (and kept sorted between their neighbours when the table is sorted).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, cast

import phonenumbers

from canary.identifiers import normalize_email, normalize_phone
from canary.synth.addresses import (
    EmailExhausted,
    EmailMaker,
    birth_year_templates,
    domain_weights,
    drops_particles,
    fitting_domains,
    learn_digit_suffixes,
    learn_patterns,
    match_template,
)
from canary.synth.cells import (
    FIXED,
    MOBILE,
    Clocks,
    apply_particles,
    clock_seconds,
    clocks_of,
    date_between,
    dni_letter,
    line_type,
    name_order,
    number_unit,
    parsed_phone,
    particle_forms,
    phone_mask,
    valid_phone,
    vary_digits,
    vary_number,
    vary_time,
    weekdays_of,
    write_number,
    write_phone,
    written_decimals,
)
from canary.synth.check_digits import Scheme, scheme_of, with_check
from canary.synth.groups import GroupModel, find_groups, group_key
from canary.synth.headers import is_middle_name, phone_line_of_header
from canary.synth.ids import (
    ID_PARTS,
    LETTER_ROWS,
    BirthInId,
    BirthOrder,
    DecidedPart,
    GapModel,
    GroupedSeries,
    IdPart,
    LetterInId,
    NearNumbers,
    PositionModel,
    births_in_ids,
    date_stamps,
    explained_share,
    id_prefix,
    letters_in_ids,
    new_id,
    prediction_gain,
    share_gain,
    text_between,
    write_letters,
)
from canary.synth.infer import (
    NAME_KINDS,
    SORTED_NAME_KINDS,
    Column,
    DateFormat,
    Schema,
    apply_accents,
    apply_casing,
    fold,
    id_number,
    national_number,
    parse_number,
)
from canary.synth.national_ids import check_digit as curp_check_digit
from canary.synth.national_ids import codice_fiscale_body, make_curp, make_rfc
from canary.synth.order import RunOrder, TieOrder, fit_key, fit_tied, run_order, tie_orders
from canary.synth.personas import (
    MIN_NAME_ROWS,
    ColumnNames,
    NameMaker,
    Persona,
    age_reference,
    female_share_of_names,
    name_sex,
    name_units,
)
from canary.synth.profiles import locale_profile, names_profile
from canary.synth.relations import (
    DATE_JITTER,
    MIN_ORDERED_ROWS,
    DateOrder,
    DatePart,
    NumberRelation,
    date_orders,
    date_parts,
    keep_date_parts,
    keep_relations,
    later_date,
    number_relations,
)

log = logging.getLogger(__name__)

#: How a column's values are grouped to compare their numbers: (how many, shape or None).
RunKey = tuple[int, str | None]


class LazyFaker:
    """A seeded Faker for `locale`, made on first use: loading a locale's providers costs
    about 0.03 s of start-up, and a table with enough names of its own may never ask
    Faker for one. The seed is drawn when the factory is made, as before, so the rows
    made from a given rng are the same."""

    def __init__(self, locale: str, seed: int) -> None:
        self._locale, self._seed = locale, seed
        self._faker: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker(self._locale)
            self._faker.seed_instance(self._seed)
        return getattr(self._faker, name)


class CanaryFactory:
    """Makes canaries for one table; see the module docstring."""

    def __init__(
        self,
        schema: Schema,
        sample: Any,
        domains: Sequence[str] = (),
        rng: random.Random | None = None,
        email_taken: Callable[[str], bool] | None = None,
        keep_sorted: bool = True,
    ) -> None:
        #: When a column is sorted, a canary must sit in order between its neighbours
        #: (make_row returns None where it cannot); False lets it go anywhere.
        self.keep_sorted = keep_sorted
        self.schema = schema
        self.rng = rng or random.Random()
        self.domains = [d.strip().lower() for d in domains if d.strip()]
        self.email_taken = email_taken or (lambda _a: False)
        self.profile = locale_profile(schema.locale)
        #: the profile new names come from: the country's where the table's phones say
        self.name_profile = names_profile(self.profile, schema.region)
        self.faker: Any = LazyFaker(self.name_profile["faker_locale"], self.rng.getrandbits(32))
        width = len(schema.header)
        #: whether `rows` is the whole table, in its order (`place_of`)
        self.complete = bool(getattr(sample, "complete", False))
        self.rows: list[list[str]] = [
            (list(r) + [""] * width)[:width] for r in getattr(sample, "rows", [])
        ]
        self.cols = schema.columns
        self._by_kind: dict[str, list[Column]] = {}
        for c in self.cols:
            self._by_kind.setdefault(c.kind, []).append(c)
        self.region = schema.region
        self.country_code = phonenumbers.country_code_for_region(self.region)
        self.sample_emails = {
            normalize_email(r[c.index])
            for c in self._kind("email")
            for r in self.rows
            if r[c.index]
        }
        self.sample_ids: dict[int, set[str]] = {
            c.index: {v.strip() for v in c.values} for c in self.cols if c.kind == "id"
        }
        self.sample_id_numbers: dict[int, set[int]] = {
            i: {n for n in (id_number(v) for v in vals) if n is not None}
            for i, vals in self.sample_ids.items()
        }
        phones = self._kind("phone")
        self._line_mix: dict[int, Counter[str]] = {}
        #: The phone column a canary's own number goes in: the mobile one where the table
        #: has a landline column beside it ("Teléfono fijo", "Celular").
        self._phone_col: Column | None = self._contact_phone_column(phones)
        #: The first email column and that phone column: always filled (they are what
        #: gets contacted).
        self._primary = {
            c.index for c in [*self._kind("email")[:1], self._phone_col] if c is not None
        }
        #: National numbers of the first rows' phones: the donors of place columns and
        #: the table's area-code shares (bounded: 20,000 parses took a second, and
        #: 3,000 rows hold every area code).
        #: Spread over the whole sample, not its first rows: a table sorted by place
        #: would otherwise give every canary the first places' area codes.
        self._nsn_rows = self.rows[:: max(1, len(self.rows) // MAX_DONORS)][:MAX_DONORS]
        self._row_nsn: list[str] = (
            [national_number(r[self._phone_col.index], self.region) for r in self._nsn_rows]
            if self._phone_col is not None
            else []
        )
        self._column_nsn: dict[int, list[str]] = {}
        self._other_cols: set[int] | None = None
        self._orders: list[DateOrder] | None = None
        self._deps: list[tuple[int, int]] | None = None
        self._towns_of: dict[int, tuple[int, dict[str, list[str]]] | None] = {}
        self._ties: list[TieOrder] | None = None
        self._held_ages: list[str] | None = None
        self._heads_born: list[int] | None = None
        self._born: list[tuple[Column, BirthOrder, list[int], int | None]] | None = None
        self._relations: list[NumberRelation] | None = None
        self._date_parts: list[DatePart] | None = None
        #: each date column's rows, read (`_column_dates`)
        self._days: dict[int, list[date | None]] = {}
        self._full_given: Counter[int] | None = None
        self._side_faker: LazyFaker | None = None
        self._runs_by_birth: list[int] | None = None
        self._years: list[int | None] | None = None
        self._births_of_rows: list[int | None] | None = None
        self._seats: dict[int, list[int]] | None = None
        self._order: tuple[RunOrder | None] | None = None
        self._dated: list[tuple[Column, list[BirthInId]]] | None = None
        self._lettered: list[tuple[Column, list[LetterInId]]] | None = None
        self._keys: dict[int, list[str]] = {}
        self._clock_cache: dict[int, Clocks | None] = {}
        self._homoclaves: dict[int, dict[bool, Counter[str]]] = {}
        self._gap_cache: dict[int, list[int]] = {}
        self._weekday_cache: dict[int, frozenset[int] | None] = {}
        self._dated_cache: dict[int, list[tuple[date, str]]] = {}
        self._folded_cache: dict[int, set[str]] = {}
        self._id_parts: list[DecidedPart] | None = None
        self._run_ties: dict[int, bool] = {}
        #: column -> whether each of its values sits in one run's group (`_nests_in_runs`)
        self._nested: dict[int, bool] = {}
        #: (column, prefix) -> the numbers of that series (`_series_numbers`)
        self._series_held: dict[tuple[int, str], set[int]] = {}
        #: date column -> the id column in series its dates rise with (`_dating_series`)
        self._dating: dict[int, Column | None] = {}
        #: the date columns of the row being made that its series' neighbours decided
        self._series_dated: set[int] = set()
        self._given_pools: dict[tuple[int, str], dict[str, int]] = {}
        #: per code column: its codes' towns and the towns' codes (None: no town column)
        self._town_of_codes: dict[int, tuple[dict[str, set[str]], dict[str, set[str]]] | None] = {}
        self._town_prefixes: dict[int, int] = {}
        self._one_surname: float | None = None
        #: (number, phone column) -> whether it fits there (`phone_fits`: planting asks
        #: for every number of a copy's set for every canary)
        self._fits: dict[tuple[str, int], bool] = {}
        self._contain: list[tuple[int, int]] | None = None
        self._container_cache: dict[tuple[int, int], list[tuple[str, int, int, str]]] = {}
        self._dep_values: dict[tuple[int, int], dict[str, list[str]]] = {}
        self._others: dict[int, list[tuple[str, str | None, int, str] | None]] = {}
        self._other_tie_cache: dict[int, list[int]] = {}
        self._mask_block_cache: dict[int, dict[str, set[int]]] = {}
        self._cell_cache: dict[int, list[str]] = {}
        self._grouped: tuple[int, ...] | None = None
        self._group_models: tuple[GroupModel | None] | None = None
        self._key_gaps: GapModel | None = None
        self._group_places: set[tuple[str, ...]] | None = None
        self._seen: dict[int, set[str]] = {}
        self._repeating_cols: dict[int, Column] | None = None
        self._groups: dict[tuple[str, ...], list[list[str]]] | None = None
        self._area_of_row: dict[int | None, dict[int, str]] = {}
        self._unique_share: dict[int, float] = {}
        self._sex_value: dict[tuple[int, str], Counter[str]] = {}
        self._alnum_codes: dict[int, bool] = {}
        self._near_numbers: dict[int, NearNumbers] = {}
        self._units: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._amount_parents: list[tuple[int, int, dict[str, AmountCells]]] | None = None
        self._date_spans: dict[int, tuple[date, date]] = {}
        self._donors: dict[tuple[int | None, str], list[list[str]]] = {}
        self._id_owner: dict[tuple[int, str], int] = {}
        self._position_models: dict[int, PositionModel] = {}
        self._gap_models: dict[int, GapModel] = {}
        self._series_models: dict[int, GroupedSeries | None] = {}
        self._series_keys: dict[int, list[tuple[int, int] | None]] = {}
        self._years_of_series: list[tuple[Column, int]] | None = None
        self._upper_share: dict[int, float] = {}
        self._run_cache: dict[int, dict[RunKey, list[list[str]]]] = {}
        self._named: dict[int, Counter[str]] = {}
        #: (column, runs) -> per run of digits: whether it repeats; its largest number
        self._run_repeats: dict[tuple[int, RunKey], list[bool]] = {}
        self._run_tops: dict[tuple[int, RunKey], list[int]] = {}
        self._contact_patterns: list[tuple[frozenset[int], float]] | None = None
        self._blocks: dict[int, list[tuple[str, bool]]] = {}
        self._valid: set[str] | None = None
        self._count_cache: dict[int, dict[str, int]] = {}
        self._namesake_keep: float | None = None
        self._middle_cells: dict[int, dict[str, list[str]]] = {}
        self._particle_cache: dict[int, dict[str, str]] = {}
        self._shape_weight_cache: dict[str, float] | None = None
        self._by_place: dict[tuple[int, int], dict[str, list[str]]] = {}
        self._strengths: dict[tuple[int, int, bool], float] = {}
        self._naming: dict[int, bool] = {}
        self._checks: dict[int, Scheme | None] = {}
        self._owner: tuple[Column | None] | None = None
        self._dates: list[date | None] | None = None
        #: (persona, the other person's name) -> the address made of that name
        self._owner_emails: dict[tuple[int, str], str] = {}
        self.emails = self._learn_emails()
        self.names = NameMaker(self.name_profile, self.rng, self.faker)
        people, years = self._people()
        #: The table's own names, when it has enough of them (else Faker's, by locale).
        self.column_names = (
            ColumnNames(people, self.names, self.rng, years)
            if len(people) >= MIN_NAME_ROWS
            else None
        )
        self._female_share = self._learn_female_share()
        self._births = self._learn_births()
        self._birth_span: tuple[date, date] = (
            (min(self._births), max(self._births)) if self._births else (date.min, date.max)
        )
        self._age_span = self._learn_age_reference()
        #: the day ages are computed on: the last the table's allow
        self._age_ref = self._age_span[1]

    # --- what the sample teaches ---------------------------------------------------

    def _kind(self, kind: str) -> list[Column]:
        return self._by_kind.get(kind, [])

    def _row_names(self, row: list[str]) -> tuple[str, str, str] | None:
        """(given, paternal, maternal) of a real row, as far as its columns tell."""
        given = paternal = maternal = ""
        others = self._other_person_columns()
        for c in self.cols:
            v = row[c.index].strip()
            if not v or c.index in others:
                continue
            if c.kind == "given_name" and not given:
                given = v
            elif c.kind in ("paternal", "surname") and not paternal:
                words = v.split()
                paternal = words[0] if c.kind == "surname" else v
                if c.kind == "surname" and len(words) > 1:
                    maternal = words[1]
            elif c.kind == "maternal":
                maternal = v
            elif c.kind == "full_name" and not given:
                t = v.replace(",", " ").split()
                if len(t) < 2:
                    continue
                if c.fmt.get("order") == "last_comma_first" and "," in v:
                    # "MORENO, Maria Paz": the surnames before the comma (read as three
                    # words, "Maria" was a second surname, and canaries' addresses of a
                    # shape "{last2}.{last}" came out "rodriguez@" for one surname)
                    surnames, _, names = v.partition(",")
                    s_words, g_words = surnames.split(), names.split()
                    if not s_words or not g_words:
                        continue
                    given, paternal = g_words[0], s_words[0]
                    maternal = s_words[1] if len(s_words) > 1 else ""
                elif c.fmt.get("order", "first_last") == "first_last":
                    given = t[0]
                    paternal, maternal = (t[-2], t[-1]) if len(t) >= 3 else (t[-1], "")
                else:
                    paternal = t[0]
                    maternal = t[1] if len(t) >= 3 else ""
                    given = t[2] if len(t) >= 3 else t[1]
        if not given or not paternal:
            return None
        return given, paternal, maternal

    def _people(self) -> tuple[list[tuple[str, str, str, str | None]], list[int | None]]:
        """(given, paternal, maternal, sex "F"/"M"/None) of the sample's rows, as far as
        their columns tell (the sex from a sex column, the row's CURP or the given name),
        and each one's year of birth where a birth date column tells it."""
        spanish = self.profile.get("language") == "es"
        out: list[tuple[str, str, str, str | None]] = []
        years: list[int | None] = []
        dates = self._birth_dates()
        for k, row in enumerate(self.rows[:5000]):
            given = paternal = maternal = ""
            for c in self.cols:
                v = " ".join(row[c.index].split())
                if not v:
                    continue
                if c.kind == "given_name" and not given:
                    given = v
                elif c.kind == "paternal":
                    paternal = v
                elif c.kind == "maternal":
                    maternal = v
                elif c.kind == "surname" and not paternal:
                    words = v.split()
                    both = spanish and len(words) == 2 and not self._kind("maternal")
                    paternal, maternal = (words[0], words[1]) if both else (v, maternal)
                elif c.kind == "full_name" and not given:
                    given, paternal, maternal = _split_full(v, c.fmt.get("order"), spanish)
            if not given or not paternal:
                continue
            out.append((given, paternal, maternal, self._row_sex(row, given)))
            born = dates[k] if dates else None
            years.append(born.year if born else None)
        return out, years

    def _birth_dates(self) -> list[date | None]:
        """Each sample row's birth date, from the first birth date column (empty when
        the table has none). Read once: the email shapes' birth years, names by
        generation, dated documents and the orders by birth all ask."""
        if self._dates is None:
            births = self._kind("birth_date")
            self._dates = self._column_dates(births[0]) if births else []
        return self._dates

    def _dated_columns(self) -> dict[int, list[date | None]]:
        """Each date column's rows, read (`_column_dates`), by column index."""
        return {
            c.index: self._column_dates(c)
            for c in self.cols
            if c.kind in ("date", "birth_date") and c.fmt.get("date")
        }

    def _addresses_and_names(self, email: Column | None) -> list[tuple[str, str]]:
        """(local part, the row's name cells as written) of the sample's rows."""
        if email is None:
            return []
        names = [c.index for c in self.cols if c.kind in NAME_KINDS]
        return [
            (row[email.index].rsplit("@", 1)[0], " ".join(row[k] for k in names))
            for row in self.rows[:3000]
            if "@" in row[email.index]
        ]

    def _learn_emails(self) -> EmailMaker:
        """What the sample's addresses teach: their shapes and their providers."""
        emails = self._kind("email")
        pairs: list[tuple[str, tuple[str, str, str]]] = []
        births: list[date | None] = []
        dates = self._birth_dates()
        owner = self._email_owner()
        if emails:
            col = emails[0].index
            for k, row in enumerate(self.rows[:3000]):
                addr = row[col].strip()
                names = self._row_names(row) if owner is None else self._names_in(owner, row)
                if addr and "@" in addr and names is not None:
                    pairs.append((addr.rsplit("@", 1)[0].lower(), names))
                    births.append(dates[k] if dates else None)
        patterns = learn_patterns(pairs, self.profile["email_patterns"])
        # Digits that are the row's birth year ("maria_lopez85" of a woman born in 1985)
        # are the canary's own birth year: a holder can compare them with the row's date.
        years = birth_year_templates(
            patterns,
            (
                (match_template(local, names), local, birth)
                for (local, names), birth in zip(pairs, births, strict=True)
            ),
        )
        for old, new in years.items():
            patterns[new] += patterns.pop(old)
        column_domains = emails[0].fmt.get("domains") if emails else None
        domains = fitting_domains(self.domains, column_domains, self.region)
        weights = domain_weights(column_domains, self.profile["email_providers"], len(domains))
        maker = EmailMaker(
            domains,
            weights,
            patterns,
            self.rng,
            self.faker,
            self.email_taken,
            self.sample_emails,
        )
        maker.digit_suffixes = learn_digit_suffixes(local for local, _names in pairs)
        maker.bare = drops_particles(self._addresses_and_names(emails[0] if emails else None))
        maker.tail_lengths = Counter(
            len(m.group(1)) for local, _names in pairs if (m := re.search(r"(\d+)$", local))
        )
        # ASCII only: an accented local part needs SMTPUTF8, which many senders lack.
        maker.other_locals = [
            ascii_local
            for local, names in pairs
            if match_template(local, names) == "{other}"
            and (ascii_local := re.sub(r"[^a-z0-9._+-]", "", fold(local)))
        ][:500]
        return maker

    def _email_owner(self) -> Column | None:
        """The other person's column (`_other_person_columns`: a guardian's, a
        contact's) whose names the first email column's addresses follow, where they
        follow its names far more often than the row's own (`OWNER_SHARE` of the rows at
        least, twice the own names' share): a school roll's "CORREO ACUDIENTE". Built
        from the pupil's name, a canary's address fitted its own row where real rows'
        fit their guardians' (AUC 0.66 alone)."""
        if self._owner is None:
            owner = None
            emails = self._kind("email")
            for i in sorted(self._other_person_columns()) if emails else ():
                c, own, theirs, n = self.cols[i], 0, 0, 0
                for row in self.rows[:3000]:
                    addr, names, other = row[emails[0].index].strip(), self._row_names(row), None
                    if "@" in addr and names is not None and (other := self._names_in(c, row)):
                        local = addr.rsplit("@", 1)[0].lower()
                        n += 1
                        own += match_template(local, names) != "{other}"
                        theirs += match_template(local, other) != "{other}"
                if n >= MIN_NAME_ROWS and theirs >= max(OWNER_SHARE * n, 2 * own):
                    owner = c
                    break
            self._owner = (owner,)
        return self._owner[0]

    def _names_in(self, c: Column, row: list[str]) -> tuple[str, str, str] | None:
        """(given, paternal, maternal) of the whole name in column `c` of a real row."""
        v = " ".join(row[c.index].split())
        names = _split_full(v, c.fmt.get("order"), self.profile.get("language") == "es")
        return names if names[0] and names[1] else None

    def _owners_email(self, row: list[str], p: Persona) -> None:
        """Where the first email column is another person's (`_email_owner`), the
        canary's address is made from that person's name, as written in the row, once
        (the same each time the row is made with that name); an organisation's mailbox
        address stays."""
        owner, emails = self._email_owner(), self._kind("email")
        if owner is None or p.keep_email or not row[emails[0].index]:
            return
        key = (p.seed, fold(row[owner.index]))
        if key not in self._owner_emails:
            other = self._names_in(owner, row)
            if other is None:
                return
            them = Persona(*other, p.sex, p.birth, None, seed=p.seed)
            self._owner_emails[key] = self._unique_email(them, emails[0])
        p.email = self._owner_emails[key]
        row[emails[0].index] = p.email

    def _learn_female_share(self) -> float:
        sexes = self._kind("sex")
        if sexes:
            mapping: dict[str, str] = sexes[0].fmt["sex"]
            at = sexes[0].index
            cells = (
                [row[at] for row in self._modeled_rows(births=True)]
                if self._group_model() is not None
                else sexes[0].values
            )  # a head's sex (70% men in a household survey), not any member's
            known = [s for s in (mapping.get(v.strip()) for v in cells) if s]
            if known:
                return sum(1 for s in known if s == "F") / len(known)
        firsts = [n[0] for n in (self._row_names(r) for r in self.rows[:3000]) if n]
        return female_share_of_names(firsts, self.profile)

    def _learn_births(self) -> list[date]:
        """The births canaries are drawn from: those of the rows with an email or a
        phone, as every canary has one (where the table has such columns). From every
        row, 5 of 24 canaries of an Italian registry were children under 14 with a
        mobile or an email, which no child there had."""
        births = self._kind("birth_date")
        if not births:
            return []
        fmt: DateFormat = births[0].fmt["date"]
        contacts = [c.index for c in self.cols if c.kind in ("email", "phone")]
        at = births[0].index
        reached = [
            row[at]
            for row in self._modeled_rows(births=True)
            if row[at].strip() and any(row[k].strip() for k in contacts)
        ]
        values = reached if len(reached) >= MIN_BIRTHS else births[0].values
        if self._group_model() is not None and reached:
            values = reached  # a head's birth, however few heads there are
        return [d[0] for d in (fmt.parse(v) for v in values[:5000]) if d]

    def _learn_age_reference(self) -> tuple[date, date]:
        """The first and last day the table's ages may have been computed on
        (`age_reference`; today without both a birth date and an age)."""
        ages, births = self._kind("age"), self._kind("birth_date")
        if not ages or not births:
            return date.today(), date.today()
        pairs = [(r[births[0].index], r[ages[0].index]) for r in self.rows[:3000]]
        return age_reference(births[0].fmt["date"], pairs)

    # --- personas ------------------------------------------------------------------

    def persona(self, attempt: int = 0) -> Persona:
        """A new synthetic person with an email no one has (sample, register, this run)."""
        r = self.rng
        sex = "F" if r.random() < self._female_share else "M"
        emails = self._kind("email")
        # Names are drawn once, as the columns hold them, and the address's shape is
        # then chosen among the column's shapes free for those names (none copies a
        # real row's letters), weighted so that over names drawn this way each shape
        # comes as often as the column uses it (`_shape_weights`). Drawing the shape
        # first and redrawing names until it was free for them made common names rare:
        # their shapes are the ones real rows hold (JUAN, 11.4% of a Colombian list's
        # rows, was 6.7% of its canaries). Only names for which none of the column's
        # shapes is free are drawn again (a few times): the address maker would give them
        # a shape no row has.
        # The birth first: given names follow it ("NORMA" born in 1950, "MICAELA" in
        # 2000; drawn apart, 35% of an Argentine roll's canaries had a name of another
        # generation).
        birth = self._birth()
        names = self._draw_names(sex, birth.year)
        template = self._shape_for(names) if emails else None
        for _ in range(SHAPE_TRIES if emails and template is None else 0):
            names = self._draw_names(sex, birth.year)
            template = self._shape_for(names)
            if template is not None:
                break
        given, paternal, maternal = names
        p = Persona(given, paternal, maternal, sex, birth, None, seed=r.getrandbits(63))
        if emails:
            try:
                p.email = self._unique_email(p, emails[0], template)
                for c in emails[1:]:
                    p.other_emails[c.index] = self._unique_email(p, c)
            except EmailExhausted:
                if attempt >= 5:
                    raise
                return self.persona(attempt + 1)  # a name whose addresses are taken
        return p

    def _shape_for(self, names: tuple[str, str, str]) -> str | None:
        """One of the column's shapes free for these names, drawn by `_shape_weights`
        (None, when none is: the address maker finds one)."""
        weights = self._shape_weights()
        free = [t for t in weights if self.emails.shape_free(t, *names)]
        if not free:
            return None
        return self.rng.choices(free, [weights[t] for t in free])[0]

    def _shape_weights(self) -> dict[str, float]:
        """A weight for each of the column's address shapes such that names drawn as the
        columns hold them, each taking one of the shapes free for it in proportion to
        these weights, take each shape as often as the column uses it.

        Learnt by iterative proportional fitting on `SHAPE_NAMES` names drawn as
        personas' are: the table of which shapes are free for which names is scaled,
        rows to one name each and columns to the shapes' shares, until both hold. A
        shape few names can take ("maria.lopez" where most common pairs are real rows')
        gets a large weight: the names that can take it mostly do. Where the shares
        cannot all be met, names keep their frequencies (every name takes a shape) and
        those shapes come as often as the names free for them allow.
        """
        if self._shape_weight_cache is not None:
            return self._shape_weight_cache
        patterns = self.emails.patterns
        shapes = [t for t, n in patterns.items() if n > 0]
        total = sum(patterns[t] for t in shapes) or 1
        share = [patterns[t] / total for t in shapes]
        free_of: list[list[int]] = []
        for _ in range(SHAPE_NAMES):
            sex = "F" if self.rng.random() < self._female_share else "M"
            names = self._draw_names(sex)
            free = [j for j, t in enumerate(shapes) if self.emails.shape_free(t, *names)]
            if free:
                free_of.append(free)
        v = [1.0] * len(shapes)
        for _ in range(SHAPE_FIT_ROUNDS):
            held = [0.0] * len(shapes)
            for free in free_of:
                u = 1.0 / sum(v[j] for j in free)
                for j in free:
                    held[j] += u
            for j, h in enumerate(held):
                # A shape no sampled name could take: any name that can, takes it.
                v[j] = share[j] / h * len(free_of) if h > 0 else v[j]
            top = max(v) or 1.0
            v = [x / top for x in v]  # scaled to the largest: no overflow over rounds
        self._shape_weight_cache = dict(zip(shapes, v, strict=True))
        return self._shape_weight_cache

    def _draw_names(self, sex: str, year: int | None = None) -> tuple[str, str, str]:
        """(given, paternal, maternal) for a persona of this sex (born in `year`: given
        names of the rows born about then, where the table tells)."""
        r = self.rng
        spanish = self.profile.get("language") == "es"
        names = self.column_names
        if names is not None:
            if self._namesake_keep is None:
                self._namesake_keep = names.namesake_keep(spanish)
            for _ in range(20):  # recombined parts: a real row's whole name only as
                given = names.given(sex, Counter({1: 1}), year)  # often as rows share one
                paternal = names.surname()
                maternal = names.surname(maternal=True) if spanish else ""
                if not names.is_real(given, paternal, maternal):
                    break
                if r.random() < self._namesake_keep:
                    break
        else:
            given = self._given_name(sex)
            paternal = self._surname()
            maternal = ""
            if spanish:  # one surname from each parent
                maternal = self._surname()
                for _ in range(3):
                    if fold(maternal) != fold(paternal):
                        break
                    maternal = self._surname()
        maternals = self._kind("maternal")
        if maternals and r.random() < maternals[0].empty_rate:
            maternal = ""  # people with a single surname, as often as the column shows
        elif not maternals and (one := self._one_surname_share()) and r.random() < one:
            maternal = ""  # "GONZALEZ, CAMILA" beside "TORRES DIAZ, GABRIELA"
        return given, paternal, maternal

    def _one_surname_share(self) -> float:
        """The share of names written with one surname, where the table writes them
        in one column that shows it (a surname column, or whole names "SURNAMES, GIVEN
        NAMES"): every canary of an Argentine roll had two where four in five rows had
        one. 0 where nothing shows it."""
        if self._one_surname is None:
            self._one_surname = 0.0
            surname = self._kind("surname")
            whole = [c for c in self._kind("full_name") if c.fmt.get("order") == "last_comma_first"]
            if surname:
                parts = [v for v in surname[0].values if v.strip()]
            elif whole:
                parts = [v.partition(",")[0] for v in whole[0].values if "," in v]
            else:
                parts = []
            counts = [len([w for w in v.split() if fold(w) not in PARTICLE_WORDS]) for v in parts]
            if len(counts) >= MIN_NAME_ROWS:
                self._one_surname = sum(n == 1 for n in counts) / len(counts)
        return self._one_surname

    def _given_name(self, sex: str) -> str:
        dist: Counter[int] = Counter({1: 1})
        if self._kind("given_name"):
            dist = self._kind("given_name")[0].fmt.get("words", dist)
        elif self._kind("full_name"):
            dist = self._given_words_in_full_names()
        return self.names.given(sex, dist)

    def _given_words_in_full_names(self) -> Counter[int]:
        """How many given names the whole-name column's values hold, for names drawn
        from the locale's lists (a table with too few names of its own): the parts
        beyond the surnames (two in Spanish), a particle with the surname it opens
        ("Maria Ana dos Santos Silva" has two, where counting words made it three)."""
        if self._full_given is None:
            surnames = 2 if self.profile.get("language") == "es" else 1
            values = self._kind("full_name")[0].values[:3000]
            self._full_given = Counter(
                max(1, len(name_units(v.replace(",", " ").split())) - surnames)
                for v in values
                if v.strip()
            ) or Counter({1: 1})
        return self._full_given

    def _surname(self) -> str:
        return self.names.surname()

    def _birth(self) -> date:
        if self._births:
            # Near a real birth date, never outside the column's range (a voter born
            # in 1939 in a list whose oldest was born in 1940 stands out).
            base = self.rng.choice(self._births)
            low, high = self._birth_span
            born = min(max(base + timedelta(days=self.rng.randint(-200, 200)), low), high)
            return self._clear_of_age_span(born)
        ages = self._kind("age")
        if ages:
            if self._held_ages is None:  # once: every persona drew from a new list
                at = ages[0].index
                rows = self._modeled_rows(births=True)
                self._held_ages = [row[at] for row in rows if row[at].strip()] or ages[0].values
            age = parse_number(self.rng.choice(self._held_ages)) or 40
            days = int((age + self.rng.random()) * 365.25)
            return self._age_ref - timedelta(days=days)
        return date.today() - timedelta(days=self.rng.randint(18 * 365, 75 * 365))

    def _clear_of_age_span(self, born: date) -> date:
        """`born`, or a few days later where its birthday falls among the days the
        table's ages may have been computed on (`_age_span`): its age would then depend
        on which of those days it was, and a holder who knows could find it a year off."""
        first, last = self._age_span
        if first == last:
            return born
        for year in (first.year, last.year):
            birthday = _birthday_in(born, year)
            if first < birthday <= last:
                return born + timedelta(days=(last - birthday).days + 1)
        return born

    def _unique_email(self, p: Persona, col: Column, template: str | None = None) -> str:
        share = self._upper_share.get(col.index)
        if share is None:  # addresses written in capitals, as often as the column does
            cased = [v for v in col.values[:2000] if any(ch.isalpha() for ch in v)]
            upper = sum(1 for v in cased if v == v.upper())
            share = self._upper_share[col.index] = upper / len(cased) if cased else 0.0
        upper_case = share >= 0.8 or (share > 0 and self.rng.random() < share)
        return self.emails.make(p.given, p.paternal, p.maternal, p.birth, upper_case, template)

    # --- rows ----------------------------------------------------------------------

    def make_row(
        self,
        persona: Persona,
        phone: str | None = None,
        prev: list[str] | None = None,
        next: list[str] | None = None,
        more_phones: Mapping[int, str] | None = None,
        keep_order: bool = True,
    ) -> list[str] | None:
        """The persona as a row of this table, or None when it cannot sit between
        `prev` and `next` (a sorted id or name column with no room there). Without
        `keep_order`, names and keys sorted with the table need not follow `prev`: the
        last resort after the last row of a table numbered without gaps, where no
        name may sort after the last one.

        `phone` goes in the contact phone column; `more_phones` (column index -> E.164)
        in the table's other phone columns, which stay empty without one (the same
        number twice in a row gave every canary away).

        Repeatable: the same persona, phones and neighbours give the same row.
        """
        more_phones = more_phones or {}
        self._series_dated = set()
        width = len(self.cols)
        if prev is not None and len(prev) < width:
            prev = list(prev) + [""] * (width - len(prev))
        if next is not None and len(next) < width:
            next = list(next) + [""] * (width - len(next))
        if self.keep_sorted and (prev is not None or next is not None):
            self._fit_sorted_name(persona, prev, next)
            if not self._fit_run_order(persona, prev, next) and keep_order:
                return None
        neighbour = prev if prev is not None else next
        # The place follows the first number with an area code: a Chilean mobile has
        # none, the landline beside it does.
        area = self._area_phone(phone, more_phones)
        donor = self._place_donor(random.Random(f"{persona.seed}:{phone}"), area, neighbour)
        # Ids and national ids follow the donor drawn without the neighbours, as the
        # provisional row whose values were checked against the source was made: a
        # value derived from the neighbour would reach the copy unchecked.
        id_donor = (
            donor
            if neighbour is None
            else self._place_donor(random.Random(f"{persona.seed}:{phone}"), area)
        )
        blank = self._blank_contacts(persona, phone)

        def numbers(c: Column) -> str | None:
            if c.kind == "phone" and c.index not in self._primary:
                return more_phones.get(c.index)
            return phone

        row: list[str] = []
        for c in self.cols:
            # One stream per column: a choice in one column never shifts another's.
            r = random.Random(f"{persona.seed}:{phone}:{c.index}")
            # the run's row for what goes with the run, the free one for the rest
            own = donor if id_donor is donor or self._follows_run(c) else id_donor
            value: str | None = None
            # an id its scheme cannot complete (an Ecuadorian cedula drawn with a third
            # digit over 5) is drawn again, on the column's own stream
            for _ in range(NOVEL_TRIES if c.kind == "id" else 1):
                value = (
                    ""
                    if c.index in blank
                    else self._cell(
                        c, persona, numbers(c), own, r, prev, next, id_donor, keep_order
                    )
                )
                if value and c.kind not in ("email", "phone"):
                    value = self._checked(c, value, persona, prev, next)
                if value is not None:
                    break
            if value is None:
                return None
            row.append(value)
        # before what follows the columns it sets (a degree's faculty)
        if not self._keep_tie_order(row, persona, prev, next) and keep_order:
            return None
        self._follow_dependencies(row, persona)
        self._as_head(row, persona)
        self._fill_other_people(row, persona, phone)
        self._owners_email(row, persona)
        if not self._keep_date_order(row, persona) and keep_order:
            return None  # a date its series decides, too soon after the birth: on a row
        self._keep_date_parts(row)
        self._keep_numbers_by_category(row, persona)
        self._keep_number_relations(row, persona)
        moved = self._keep_ids_with_birth(row, persona)
        if moved:  # a date the id decided: what follows from it, again
            self._keep_date_order(row, persona, after=moved)
            self._keep_date_parts(row)
        self._keep_id_parts(row, persona)
        self._keep_series_years(row, persona)
        self._keep_letters_in_ids(row, persona)
        self._keep_births_in_ids(row, persona)
        self._keep_codici_fiscali(row, persona)
        self._keep_containment(row, persona, prev, next)
        if not self._new_group_key(row, persona, prev, next):
            return None
        if keep_order and not self._in_text_order(row, prev, next):
            return None
        if keep_order and not self._in_series_order(row, prev, next):
            return None
        if keep_order and not self._keep_tie_order(row, persona, prev, next, fix=False):
            return None
        return row

    def place_of(self, p: Persona, fraction: float, row: list[str] | None = None) -> float:
        """Where in the table (a fraction of the way through) a canary goes, given the
        place drawn for it: as drawn, except in a table whose rows come in runs of a value
        tied to the year of birth (a school roll sorted by grade and group), where the
        canary sits inside a run of rows born in its year, the one nearest the place
        drawn. A canary takes its neighbours' run (`_grouped_columns`): placed at random,
        a pupil born in 2009 sat among second-graders (67% of a school roll's canaries
        were in a grade no pupil of their age was in).

        In a table sorted by a key written as text (`text_order`: a voter list by its
        voters' keys), the canary goes where `row`'s (made without neighbours) sorts, a
        few rows early: a writer goes on from there to the first place it fits
        (`make_row` refuses the others). Placed at random, every canary of a voter list
        sorted by key stood out of order."""
        keyed = [c for c in self._text_ordered() if not self._keyed_between(c)]
        if keyed and row is not None and row[keyed[0].index].strip():
            keys = self._text_keys(keyed[0])
            k = bisect.bisect_left(keys, row[keyed[0].index].strip().upper())
            return max(k - TEXT_ORDER_MARGIN - 0.5, 0.0) / max(len(keys), 1)
        # numbered per year and sorted by it: where its id sorts, as for a key
        for c in self.cols if self.complete and row is not None else []:
            series = self._ordered_series(c)
            key = series.key(row[c.index]) if series is not None and row is not None else None
            if key is not None:
                k = bisect.bisect_left(self._series_order(c), key)
                return max(k - TEXT_ORDER_MARGIN - 0.5, 0.0) / max(len(self.rows), 1)
        runs = self._birth_runs()
        if not runs or not self.complete:
            return fraction
        seats = self._seats_by_year(runs)
        n = len(self.rows)
        for spread in (0, 1):
            near = [
                k for y in range(p.birth.year - spread, p.birth.year + spread + 1)
                for k in seats.get(y, [])
            ]  # fmt: skip
            if near:
                k = min(near, key=lambda j: abs(j - fraction * n))
                return (k + 0.5) / n
        return fraction

    def _series_order(self, c: Column) -> list[tuple[int, int]]:
        """The sample rows' keys (`GroupedSeries.key`) in an ordered series column, in
        row order (sorted); a blank row's takes the key before it."""
        if c.index not in self._series_keys:
            series = self._series(c)
            keys: list[tuple[int, int] | None] = []
            for row in self.rows:
                keys.append(series.key(row[c.index]) if series is not None else None)
            self._series_keys[c.index] = keys
        out: list[tuple[int, int]] = []
        last = (-1, -1)
        for key in self._series_keys[c.index]:
            last = key if key is not None else last
            out.append(last)
        return out

    def _in_series_order(
        self, row: list[str], prev: list[str] | None, nxt: list[str] | None
    ) -> bool:
        """Whether the row's id falls between its neighbours' in each column the rows
        are sorted by as one series per group (`GroupedSeries`)."""
        for c in self.cols:
            series = self._ordered_series(c)
            if series is None:
                continue
            key = series.key(row[c.index])
            if key is None:
                continue
            low = series.key(prev[c.index]) if prev is not None else None
            high = series.key(nxt[c.index]) if nxt is not None else None
            if (low is not None and key <= low) or (high is not None and key >= high):
                return False
        return True

    def _text_ordered(self) -> list[Column]:
        """The columns the table is sorted by as text (`text_order`), when kept sorted
        and the sample is the whole table (in a part of it, no place can be found)."""
        if not self.keep_sorted or not self.complete:
            return []
        return [c for c in self.cols if c.fmt.get("text_order")]

    def _keyed_between(self, c: Column) -> bool:
        """Whether column `c`, sorted as text, takes a canary's key made between its
        neighbours' (a code nothing of the persona decides: an object id) rather than
        the canary a place where its own key sorts (a CURP, a key spelling the name)."""
        return (
            c.kind == "id"
            and not c.fmt.get("id")
            and any(col is c for col in self._text_ordered())
            and all(col is not c for col, _rules in self._letters_in_ids())
        )

    def _text_keys(self, c: Column) -> list[str]:
        """The sample's keys in column `c`, in row order (sorted, but for a few)."""
        keys = self._keys.get(c.index)
        if keys is None:
            keys = self._keys[c.index] = [row[c.index].strip().upper() for row in self.rows]
        return keys

    def _keep_tie_order(
        self,
        row: list[str],
        p: Persona,
        prev: list[str] | None,
        nxt: list[str] | None,
        fix: bool = True,
    ) -> bool:
        """Where a sorted column's ties, or a column in runs, are sorted by another
        column (`tie_orders`: appointments by date, then by hour; alumni by year of
        graduation, then by degree), the canary's value there falls between
        those of the neighbours sharing its value in the sorted one (`fit_tied`); False
        where none does (no free slot between them; the row goes a row on). After the
        last row a slot may be its. Drawn freely, 24 of 24 canaries of a day's
        appointments sat out of their hour's order. Without `fix`, only whether the row
        keeps the orders (checked again once the row is whole: what follows may have
        moved a column the fit set)."""
        if self._ties is None:
            outer = (
                [c.index for c in self.cols if c.sorted] + list(self._grouped_columns())
                if self.keep_sorted
                else []
            )
            inner = [  # not dates: written "d/m/y", their text does not sort by day
                c.index
                for c in self.cols
                if c.kind in ("category", "number", "text") and not c.sorted
            ]
            # the first rows, in their order (a stride would part the neighbours): the
            # orders show there, and a sample of 20,000 rows cost seconds of reading
            self._ties = tie_orders(self.rows[:DEPENDENCE_ROWS], outer, inner)
        for t in self._ties:
            if not row[t.inner].strip():
                continue
            lo, hi = (
                n[t.inner] if n is not None and n[t.outer] == row[t.outer] and n[t.inner].strip()
                else None
                for n in (prev, nxt)
            )  # fmt: skip
            if lo is None and hi is None:
                continue
            pool = self._value_counts(self.cols[t.inner])
            r = random.Random(f"{p.seed}:tied:{t.inner}")
            got = fit_tied(row[t.inner], lo, hi, pool, t.unique, r)
            if got is None and nxt is None:
                # after the last row, whose hour is the column's last: a slot shared
                # with it, not a canary dropped from the copy
                got = fit_tied(row[t.inner], lo, hi, pool, False, r)
            if got is None or (not fix and got != row[t.inner]):
                return False
            row[t.inner] = got
        return True

    def _in_text_order(self, row: list[str], prev: list[str] | None, nxt: list[str] | None) -> bool:
        """Whether the row's keys in the columns sorted as text fall between its
        neighbours' (an empty key anywhere: no order to keep)."""
        for c in self._text_ordered():
            key = row[c.index].strip().upper()
            if not key:
                continue
            low = prev[c.index].strip().upper() if prev is not None else ""
            high = nxt[c.index].strip().upper() if nxt is not None else ""
            if (low and key < low) or (high and key > high):
                return False
        return True

    def _seats_by_year(self, runs: list[int]) -> dict[int, list[int]]:
        """Per year of birth, the sample rows born then in the middle half of their run
        (rows with the same values in `runs`): a place in bytes lands a row or two off
        the row it was drawn at, where rows differ in length."""
        if self._seats is None:
            self._seats = {}
            keys = [tuple(row[c] for c in runs) for row in self.rows]
            years = self._row_years()
            start = 0
            for end in range(1, len(keys) + 1):
                if end < len(keys) and keys[end] == keys[start]:
                    continue
                margin = max(1, (end - start) // 4)
                for k in range(start + margin, end - margin):
                    if (y := years[k]) is not None:
                        self._seats.setdefault(y, []).append(k)
                start = end
        return self._seats

    def _birth_runs(self) -> list[int]:
        """The columns in runs (`_grouped_columns`) whose values the rows' years of birth
        predict (`prediction_gain` at least `DEPENDENCE_GAIN`), or, written as numbers,
        move with (`_follows_years`: a year of graduation some 22 to 28 years after the
        birth, which no year of birth names exactly)."""
        if self._runs_by_birth is None:
            years = self._row_years()
            self._runs_by_birth = []
            for c in self._grouped_columns() if years else ():
                pairs = [(str(y), row[c]) for y, row in zip(years, self.rows, strict=True) if y]
                values = [v for _y, v in pairs]
                if len(pairs) >= MIN_DEPENDENCE_ROWS and (
                    prediction_gain(values, [y for y, _v in pairs]) >= DEPENDENCE_GAIN
                    or _follows_years(pairs)
                ):
                    self._runs_by_birth.append(c)
        return self._runs_by_birth

    def _row_years(self) -> list[int | None]:
        """Each sample row's year of birth (`_row_births`)."""
        if self._years is None:
            self._years = [
                date.fromordinal(b).year if b is not None else None for b in self._row_births()
            ]
        return self._years

    def _keep_number_relations(self, row: list[str], p: Persona) -> None:
        """A number the rows make of others of theirs is made so in the canary's
        (`keep_relations`); a run's own columns are left as the run's, as
        `_follow_dependencies` leaves them. Drawn apart, 39% of a donor list's canaries
        had given less in all their years than one gift, and 99% of a payroll's totals
        were not the sum of their parts."""
        keep_relations(row, self._number_relations(), self.cols, p.seed, self._grouped_columns())

    def _keep_date_parts(self, row: list[str]) -> None:
        """A column holding the year or month of a date of the row (`date_parts`: a
        voter's "clase") holds the canary's; a run's own columns are left as the run's."""
        if self._date_parts is None:
            self._date_parts = date_parts(self.cols, self.rows, self._dated_columns())
        keep_date_parts(row, self._date_parts, self.cols, self._grouped_columns())

    def _number_relations(self) -> list[NumberRelation]:
        """What the rows' numbers obey (`number_relations`), a rate read by the values
        of category columns of a few values."""
        if self._relations is None:
            groups = [
                c
                for c in self.cols
                if c.kind == "category"
                and 2 <= len(set(c.values[:DEPENDENCE_ROWS])) <= DEPENDENCE_VALUES
            ]
            self._relations = number_relations(self.cols, self.rows, groups)
        return self._relations

    def _keep_ids_with_birth(self, row: list[str], p: Persona) -> set[int]:
        """A national number handed out in order of birth (`BirthOrder`) is one of a
        canary's birth: a number among those of the real rows born nearest to it, written
        as one of them is, with its check characters made again; a category the number's
        shape tells (a Colombian "TI" or "CC" beside it) is that row's. Drawn from the
        whole column, 88% of an Argentine roll's canaries had a DNI no one of their year
        holds. Only the persona decides it (never the neighbours), so the value checked
        against the source is the one written.

        Where the number follows another date (a customer number by joining) and lies
        past every row's (a gapless list, 1001..1400, none deleted, leaves no other), the
        date is one past the newest customers' (`BirthOrder.beyond`), or the oldest's
        for a number below every row's: customer 1418 had joined in 2016 where customer
        1400 joined in 2019. Returns the date columns so moved."""
        moved: set[int] = set()
        for c, order, ties, dated in self._birth_orders():
            if not row[c.index].strip():
                continue
            if dated is None:
                day = p.birth
            else:  # the canary's own date in that column, as written
                fmt = self.cols[dated].fmt["date"]
                got = fmt.parse(row[dated]) if row[dated].strip() else None
                if got is None:
                    continue
                day = got[0]
            r = random.Random(f"{p.seed}:born:{c.index}")
            source, values = order.draw(day.toordinal(), r)
            held = self._seen_values(c)
            series = self._series(c)
            tries: Iterable[str] = values
            if series is not None:
                # files numbered per year: the year of the row born (or dated) nearest,
                # the number inside its series (drawn between two years' rows, the digits
                # made "2021/6652")
                tries = self._series_near(c, series, self.rows[source][c.index], values, p, r)
            for text in tries:
                value = self._checked(c, text, p, None, None)
                if value and value not in held and self._claim(c, value, p):
                    row[c.index] = value
                    for k in ties:
                        row[k] = self.rows[source][k] or row[k]
                    break
            if dated is not None and (outside := order.outside(row[c.index])):
                fmt = self.cols[dated].fmt["date"]
                was = fmt.parse(row[dated])
                day = date.fromordinal(order.beyond(outside, r))
                row[dated] = fmt.format(day, was[1] if was else "")
                moved.add(dated)
        return moved

    def _keep_series_years(self, row: list[str], p: Persona) -> None:
        """A file number of a year's series ("EXP-2021-000114") in a table not sorted by
        it is of the year of the row's date its rows' numbers follow (`_series_years`):
        drawn apart, 20 of 24 canaries of a hospital's patients had a file of another
        year than their admission."""
        for c, d in self._series_years():
            series = self._series(c)
            got = self.cols[d].fmt["date"].parse(row[d]) if row[d].strip() else None
            if series is None or got is None or not row[c.index].strip():
                continue
            year = str(got[0].year)
            if year in (series.group_of(row[c.index]) or ""):
                continue
            groups = [g for g in series.groups if year in g]
            if len(groups) == 1:
                r = random.Random(f"{p.seed}:year:{c.index}")
                drawn = series.draw(
                    r, self._seen_values(self.cols[c.index]), self._claimer(c, p), groups[0]
                )
                if drawn is not None:
                    row[c.index] = drawn

    def _series_years(self) -> list[tuple[Column, int]]:
        """(id column, date column) where the id is one series per year
        (`GroupedSeries`, not sorted by it) whose group holds the year of the row's date
        in nearly every row (`SERIES_YEAR_SHARE`)."""
        if self._years_of_series is None:
            self._years_of_series = []
            for c in self.cols:
                series = self._series(c)
                if series is None or (self.keep_sorted and series.ordered):
                    continue
                for d in self.cols:
                    if d.kind != "date" or not d.fmt.get("date"):
                        continue
                    pairs = [
                        (series.group_of(row[c.index]) or "", day.year)
                        for row, day in zip(self.rows, self._column_dates(d), strict=True)
                        if day is not None
                    ]
                    held = sum(1 for g, y in pairs if str(y) in g)
                    if pairs and held >= SERIES_YEAR_SHARE * len(pairs):
                        self._years_of_series.append((c, d.index))
                        break
        return self._years_of_series

    def _series_near(
        self,
        c: Column,
        series: GroupedSeries,
        near: str,
        values: list[str],
        p: Persona,
        r: random.Random,
    ) -> Iterator[str]:
        """Of `values` (ids drawn near the real id `near`), those in `near`'s group and
        inside its series (up to a step past its end); then one of that group drawn as
        any canary's (`GroupedSeries.draw`)."""
        group = series.group_of(near)
        if group is None:
            yield from values
            return
        numbers = series.groups[group].numbers
        top = numbers[-1] + max(series.model.gaps, default=1) if numbers else 0
        yield from (
            v
            for v in values
            if series.group_of(v) == group and (n := id_number(v)) is not None and n <= top
        )
        drawn = series.draw(r, self._seen_values(c), self._claimer(c, p), group)
        if drawn is not None:
            yield drawn

    def _keep_births_in_ids(self, row: list[str], p: Persona) -> None:
        """A document number that holds its holder's birth date (`BirthInId`: an old
        Colombian "TI", a Danish CPR) holds the canary's, its serial drawn again where
        another holds that one and its check characters made again. Drawn apart, 95% of
        a school roll's canaries had a number dated another day than their birth."""
        for c, places in self._births_in_ids():
            value = row[c.index]
            place = next((b for b in places if b.fits(value)), None)
            if place is None:
                continue
            r = random.Random(f"{p.seed}:dated:{c.index}")
            tries = (place.write(value, p.birth, r, vary=k > 0) for k in range(NOVEL_TRIES))
            if (text := self._first_free(c, p, tries)) is not None:
                row[c.index] = text

    def _keep_codici_fiscali(self, row: list[str], p: Persona) -> None:
        """An Italian codice fiscale spells its holder's surname, given names, birth
        date and sex (`codice_fiscale_body`): a canary's spells its own, born on its
        row's birth date, in the town of the code it was drawn with (else another the
        column holds), its check character made again. Drawn like the column's codes,
        20 of 24 canaries of a municipal registry held one whose letters spelled no name
        of their row, and whose date was not their birth."""
        for c in self.cols:
            value = row[c.index].strip()
            scheme = self._scheme(c) if c.kind == "id" and len(value) == 16 else None
            if scheme is None or scheme.name != "it.codicefiscale":
                continue
            born = p.birth
            for b in self._kind("birth_date"):
                got = b.fmt["date"].parse(row[b.index]) if row[b.index].strip() else None
                if got:
                    born = got[0]
                    break
            r = random.Random(f"{p.seed}:codice:{c.index}")
            towns = [value[11:15].upper()] + [
                v.strip()[11:15].upper() for v in r.sample(c.values, min(len(c.values), 20))
            ]
            decided = self._birth_towns(c)
            if decided is not None:  # the town of birth a column of the row names
                held = decided[1].get(row[decided[0]].strip())
                towns = [*r.sample(held, len(held)), *towns] if held else towns
            surname = " ".join(x for x in (p.paternal, p.maternal) if x)
            tries = (
                codice_fiscale_body(surname, p.given, born, p.sex, town) + "X"
                for town in towns
                if len(town) == 4
            )
            if (text := self._first_free(c, p, tries)) is not None:
                row[c.index] = text.lower() if c.casing == "lower" else text

    def _birth_towns(self, c: Column) -> tuple[int, dict[str, list[str]]] | None:
        """(a place column, the town codes its values' rows hold in codice fiscale
        column `c`) where a place column decides the code's town (`prediction_gain` at
        least `DEPENDENCE_GAIN`: a "COMUNE DI NASCITA"), else None."""
        if c.index not in self._towns_of:
            rows = self._dependence_rows()
            codes = [row[c.index].strip()[11:15].upper() for row in rows]
            best: tuple[float, int] = (DEPENDENCE_GAIN, -1)
            for k in self._kind("place"):
                gain = prediction_gain(codes, [row[k.index].strip() for row in rows])
                best = max(best, (gain, k.index))
            found = None
            if best[1] >= 0:
                held: dict[str, set[str]] = {}
                for row in self.rows:
                    held.setdefault(row[best[1]].strip(), set()).add(
                        row[c.index].strip()[11:15].upper()
                    )
                found = (best[1], {k: sorted(v) for k, v in held.items()})
            self._towns_of[c.index] = found
        return self._towns_of[c.index]

    def _first_free(self, c: Column, p: Persona, tries: Iterable[str]) -> str | None:
        """The first of `tries` (values for id column `c`) that its check scheme
        completes, that no real row holds and that no other canary has (now the
        persona's); None when none is."""
        held = self._seen_values(c)
        for value in tries:
            text = self._checked(c, value, p, None, None)
            if text and text.strip() not in held and self._claim(c, text.strip(), p):
                return text
        return None

    def _keep_id_parts(self, row: list[str], p: Persona) -> None:
        """An id whose start or end another column decides (`_decided_id_parts`: a folio
        "TOR-01986" of Torreón, a bank account's bank code by its bank, a Dominican
        cedula "036-2297113-7" by its municipality's office, a Guatemalan DPI ending in
        its department and municipality) starts and ends as the real rows of the
        canary's values there do, its check characters made again; where a real row
        holds the result, its other digits are drawn again. Drawn apart, 22 of 30
        canaries had a folio of another municipality, 21 of 24 cedulas an office their
        municipality never used, 24 of 24 DPIs another municipality's code."""
        by_column: dict[int, list[DecidedPart]] = {}
        for decided in self._decided_id_parts():
            by_column.setdefault(decided.column, []).append(decided)
        for index, parts in by_column.items():
            value = text = row[index].strip()
            r = random.Random(f"{p.seed}:prefix:{index}")
            for d in parts:
                # drawn at the group's own frequencies, whatever the value held: kept
                # where its part was any the group's rows hold, 14 of 24 Bolivian
                # canaries had a card of another department, where 8% of rows have
                want = d.draw(group=self._dep_key(d.parent, row[d.parent]), r=r)
                if want and want != d.part.of(text):
                    text = d.part.put(text, want)
            if not value or text == value:
                continue
            kept = {i for d in parts for i in d.part.spots(text)}
            col = self.cols[index]
            series = self._series(col)
            if series is not None and (kin := series.group_of(text)) is not None:
                # one of that group's series (an office's files "OF-GDL-0412"), not
                # digits drawn anew
                got = series.draw(r, self._seen_values(col), self._claimer(col, p), kin)
            else:
                got = self._first_free(col, p, _redrawn(text, r, 0, kept))
            if got is not None:
                row[index] = got

    def _decided_id_parts(self) -> list[DecidedPart]:
        """The parts of unsorted id columns (`ID_PARTS`: a start of four digits, else
        three, two, one; an end of four, else two) that a category or place column
        decides (`prediction_gain` of the misses at least `PREFIX_GAIN`) or narrows
        (`share_gain` at least `PART_SHARE_GAIN`), where the ids start or end in a few
        hundred ways at most."""
        if self._id_parts is None:
            self._id_parts = []
            rows = self._dependence_rows()
            # a parent of many values with enough rows each (a Guatemalan list's 135
            # municipalities decide its DPIs' last four digits)
            parents = self._parents(rows, ("category", "place"), PART_VALUES, PART_ROWS)
            # a number a date decides (`_birth_orders`): a category that narrows its start
            # (years of service) is the date's shadow, and rewrote the number the date gave
            dated = {col.index for col, _order, _ties, _source in self._birth_orders()}
            for c in self.cols:
                if c.kind != "id" or (self.keep_sorted and (c.sorted or c.fmt.get("text_order"))):
                    continue
                if self._ordered_series(c) is not None:
                    continue  # its place in the table decides it
                if c.index in dated:
                    continue
                taken: set[int] = set()  # an end that overlaps the start is not one
                sample = next((v.strip() for v in c.values if v.strip()), "")
                for side in ID_PARTS:
                    found = (self._part_parent(c, part, rows, parents) for part in side)
                    decided = next((d for d in found if d is not None), None)
                    if decided is not None and not taken & set(decided.part.spots(sample)):
                        self._id_parts.append(decided)
                        taken |= set(decided.part.spots(sample))
        return self._id_parts

    def _part_parent(
        self, c: Column, part: IdPart, rows: list[list[str]], parents: list[int]
    ) -> DecidedPart | None:
        """The column among `parents` that decides `part` of column `c`'s ids
        (`_decided_id_parts`), with the commonest part of each of its values; or None."""
        key = self._dep_key
        pairs = [(row, part.of(row[c.index].strip())) for row in rows if row[c.index].strip()]
        held = [st for _row, st in pairs]
        if len(pairs) < MIN_DEPENDENCE_ROWS or not 2 <= len(set(held)) <= PART_VALUES:
            return None
        best = max(
            parents,
            key=lambda k: share_gain(held, [key(k, row[k]) for row, _st in pairs]),
            default=None,
        )
        if best is None:
            return None
        groups = [key(best, row[best]) for row, _st in pairs]
        if (
            share_gain(held, groups) < PART_SHARE_GAIN
            and prediction_gain(held, groups, of_misses=True) < PREFIX_GAIN
        ):
            return None
        by_value: dict[str, Counter[str]] = {}
        for group, got in zip(groups, held, strict=True):
            by_value.setdefault(group, Counter())[got] += 1
        return DecidedPart(c.index, part, best, by_value)

    def _keep_letters_in_ids(self, row: list[str], p: Persona) -> None:
        """A key that holds letters of its holder's names, or a character for the sex
        (`LetterInId`: a Mexican voter's key, an Argentine CUIT's 20 or 27) holds the
        canary's, read from its row as the real rows' are, its check characters made
        again; where a real row holds the result, its other digits are drawn again.
        Drawn apart, a voter list's canaries had keys spelling other people's names, and
        a third of them the other sex's H/M; 10 of 24 CUITs the other sex's prefix."""
        lettered = self._letters_in_ids()
        if not lettered:
            return
        names = self._row_names(row)
        if names is None:
            return
        for c, rules in lettered:
            value = row[c.index]
            if not value or all(rule.width != len(value) for rule in rules):
                continue
            written = write_letters(value, rules, names, p.sex)
            if written == value:
                continue
            fixed = {rule.at for rule in rules}
            r = random.Random(f"{p.seed}:lettered:{c.index}")
            text = self._first_free(c, p, _redrawn(written, r, 0, fixed))
            if text is not None:
                row[c.index] = text

    def _letters_in_ids(self) -> list[tuple[Column, list[LetterInId]]]:
        """(column, the letters its values take from their holders' names or sex) for
        each id column that does (`letters_in_ids`), in a table with names."""
        if self._lettered is None:
            self._lettered = []
            candidates = [c for c in self.cols if c.kind in LETTERED_KINDS]
            if candidates:
                people: list[tuple[tuple[str, str, str], str | None] | None] = []
                for row in self.rows[:LETTER_ROWS]:
                    names = self._row_names(row)
                    people.append(None if names is None else (names, self._row_sex(row, names[0])))
                if any(people):
                    for c in candidates:
                        rules = letters_in_ids(
                            people, [row[c.index] for row in self.rows[:LETTER_ROWS]]
                        )
                        if rules:
                            self._lettered.append((c, rules))
        return self._lettered

    def _births_in_ids(self) -> list[tuple[Column, list[BirthInId]]]:
        """(column, where its numbers hold the birth date) for each column that does,
        in a table with a birth date column (an age tells no day)."""
        if self._dated is None:
            self._dated = []
            born = self._birth_dates()
            if born:
                stamps = date_stamps(born)
                for c in self.cols:
                    if c.kind in DATED_KINDS and not (self.keep_sorted and c.sorted):
                        places = births_in_ids(stamps, [row[c.index] for row in self.rows])
                        if places:
                            self._dated.append((c, places))
        return self._dated

    def _birth_orders(self) -> list[tuple[Column, BirthOrder, list[int], int | None]]:
        """(column, its order, the categories its values' shapes tell, the date column
        it follows or None for the births) for each id column whose numbers follow the
        rows' births, or else another date of theirs: a customer number given in order
        of joining, in a list sorted by name (the canary's number was any, its joining
        date any: 30 canaries of 30 had a number among those of customers who joined
        years before or after them)."""
        if self._born is None:
            self._born = []
            births = self._row_births()
            # a date its neighbours decide (sorted, or a run's) would make the number
            # written differ from the one checked against the source
            runs = self._grouped_columns()
            dated = [
                (d.index, [x.toordinal() if x else None for x in self._column_dates(d)])
                for d in self.cols
                if d.kind == "date"
                and d.fmt.get("date")
                and not (self.keep_sorted and d.sorted)
                and d.index not in runs
            ]
            for c in self.cols:
                if c.kind not in ("id", "dni") or (self.keep_sorted and c.sorted):
                    continue
                values = [row[c.index].strip() for row in self.rows]
                for source, days in ([(None, births)] if births else []) + dated:
                    order = BirthOrder(days, values)
                    if order.follows:
                        self._born.append((c, order, self._shape_ties(c), source))
                        break
        return self._born

    def _column_dates(self, c: Column) -> list[date | None]:
        """Each sample row's date in column `c` (None where it has none), read once: the
        birth dates, the date orders, the dates' parts and the ids in order of a date
        all ask."""
        if c.index not in self._days:
            fmt: DateFormat = c.fmt["date"]
            self._days[c.index] = [
                got[0] if (got := fmt.parse(row[c.index])) else None for row in self.rows
            ]
        return self._days[c.index]

    def _row_births(self) -> list[int | None]:
        """Each sample row's birth as a day ordinal, from its birth date or else its
        age (empty when the table has neither). Read once: the id orders and the runs
        by year both ask."""
        if self._births_of_rows is not None:
            return self._births_of_rows
        ages = self._kind("age")
        out: list[int | None] = []
        if self._kind("birth_date"):
            out = [d.toordinal() if d else None for d in self._birth_dates()]
        elif ages:
            years = (parse_number(row[ages[0].index]) for row in self.rows)
            ref = self._age_ref.toordinal()
            out = [None if y is None else ref - int((y + 0.5) * 365.25) for y in years]
        self._births_of_rows = out
        return out

    def _shape_ties(self, c: Column) -> list[int]:
        """Category columns the shape of `c`'s values (its mask and first two digits)
        predicts, removing `SHAPE_TIE_GAIN` of the misses of guessing the commonest
        value (`prediction_gain`): a document's type by its number."""
        shapes = [
            re.sub(r"\d", "9", v) + re.sub(r"\D", "", v)[:2]
            for v in (row[c.index].strip() for row in self.rows)
        ]
        out = []
        for k in self.cols:
            if k.kind not in ("category", "boolean"):
                continue
            pairs = [(s, row[k.index]) for s, row in zip(shapes, self.rows, strict=True)]
            pairs = [(s, v) for s, v in pairs if s and v.strip()]
            if len(pairs) < MIN_DEPENDENCE_ROWS or len({v for _s, v in pairs}) < 2:
                continue
            values, groups = [v for _s, v in pairs], [s for s, _v in pairs]
            if prediction_gain(values, groups, of_misses=True) >= SHAPE_TIE_GAIN:
                out.append(k.index)
        return out

    def _keep_containment(
        self, row: list[str], p: Persona, prev: list[str] | None, nxt: list[str] | None
    ) -> None:
        """A number whose rows hold another column's number inside it (an Argentine
        CUIL "27-42980987-3" holds the DNI 42980987) holds the canary's: a real row's
        value of the same sex (its "27" says a woman) with the canary's digits put in,
        and its check characters made again. Drawn apart, no canary's CUIL held its
        DNI."""
        sexes = self._kind("sex")
        sex = sexes[0].index if sexes else None
        for a, b in self._containments():
            inner = re.sub(r"\D", "", row[a])
            if len(inner) < MIN_CONTAINED_DIGITS or not row[b].strip():
                continue
            fits = [
                (text, at)
                for text, at, size, their_sex in self._containers(a, b)
                if size == len(inner) and (sex is None or their_sex == row[sex])
            ]
            if not fits:
                continue
            text, at = random.Random(f"{p.seed}:holds:{b}").choice(fits)
            digits = iter(inner)
            out, k = [], 0
            for ch in text:
                if ch.isdigit():
                    out.append(next(digits) if at <= k < at + len(inner) else ch)
                    k += 1
                else:
                    out.append(ch)
            value = self._checked(self.cols[b], "".join(out), p, prev, nxt)
            if value is not None:
                row[b] = value

    def _containments(self) -> list[tuple[int, int]]:
        """(inner, outer) column pairs: the outer's digits hold the inner's in nearly
        every row holding both."""
        if self._contain is None:
            self._contain = []
            cands = [c for c in self.cols if c.kind in ("id", "text", "number", "dni")]
            digits = {
                c.index: [re.sub(r"\D", "", row[c.index]) for row in self.rows[:2000]]
                for c in cands
            }
            for a in cands:
                for b in cands:
                    if a is b:
                        continue
                    both = [
                        (x, y)
                        for x, y in zip(digits[a.index], digits[b.index], strict=True)
                        if len(x) >= MIN_CONTAINED_DIGITS and len(y) > len(x)
                    ]
                    if len(both) >= MIN_ORDERED_ROWS and sum(x in y for x, y in both) >= (
                        CONTAINED_SHARE * len(both)
                    ):
                        self._contain.append((a.index, b.index))
        return self._contain

    def _containers(self, a: int, b: int) -> list[tuple[str, int, int, str]]:
        """Real outer values holding their row's inner digits: (text, where the inner
        digits start among its digits, how many, the row's sex value)."""
        key = (a, b)
        if key not in self._container_cache:
            sexes = self._kind("sex")
            sex = sexes[0].index if sexes else None
            out = []
            for row in self.rows:
                inner, outer = re.sub(r"\D", "", row[a]), re.sub(r"\D", "", row[b])
                at = outer.find(inner) if len(inner) >= MIN_CONTAINED_DIGITS else -1
                if at >= 0:
                    out.append((row[b], at, len(inner), row[sex] if sex is not None else ""))
            self._container_cache[key] = out
        return self._container_cache[key]

    def _follow_dependencies(self, row: list[str], p: Persona) -> None:
        """A category the table's rows tie to another of their columns takes a value
        real rows with the canary's value there hold: dues by membership level, a class
        group by grade ("GRADO 9" with "GRUPO 902", not "102"), a shift by grade. Drawn
        apart, 69% of a donor list's canaries paid dues of another level. A column in
        runs (`_grouped_columns`) is left as the run's: its values came together from
        one row, and the run is where the canary sits. An age or a birth year no real
        row holds takes the nearest one's (a pensioner's programme at 91 where the
        oldest row is 88)."""
        grouped = self._grouped_columns()
        for parent, child in self._dependencies():
            if not row[child].strip() or child in grouped:
                continue
            values = self._dependent_values(parent, child)
            key = self._dep_key(parent, row[parent])
            held = values.get(key)
            if not held and self.cols[parent].kind in AGE_KINDS:
                held = values.get(_nearest_key(key, values))
            if held:
                row[child] = random.Random(f"{p.seed}:follows:{child}").choice(held)

    def _keep_numbers_by_category(self, row: list[str], p: Persona) -> None:
        """An amount a category sets the range of (a salary by job title, a rent by
        bedrooms: `_numbers_by_category`) is drawn as `_number` draws it, from the cells
        of the real rows of the canary's category. Drawn from the whole column, 14 of
        24 canaries of a payroll earned outside every salary of their post."""
        grouped = self._grouped_columns()
        for child, parent, cells in self._numbers_by_category():
            if not row[child].strip() or child in grouped:
                continue
            group = self._dep_key(parent, row[parent])
            held = cells.get(group)
            if held:
                r = random.Random(f"{p.seed}:amount:{child}")
                value = self._number(self.cols[child], r, held[0], held[1])
                # its check digits made again (a Canadian SIN read as an amount)
                row[child] = self._checked(self.cols[child], value, p, None, None) or value

    def _dependence_rows(self) -> list[list[str]]:
        """The sample's rows relations between columns are read on: `DEPENDENCE_ROWS`
        spread over it."""
        return self.rows[:: max(1, len(self.rows) // DEPENDENCE_ROWS)][:DEPENDENCE_ROWS]

    def _parents(
        self, rows: list[list[str]], kinds: tuple[str, ...], most: int, per_value: int
    ) -> list[int]:
        """Columns of `kinds` that may decide another's values: two values at least,
        `most` at most, and `per_value` rows of `rows` to each on average."""
        key = self._dep_key
        return [
            c.index
            for c in self.cols
            if c.kind in kinds
            and 2
            <= len({key(c.index, row[c.index]) for row in rows})
            <= min(most, len(rows) / per_value)
        ]

    def _numbers_by_category(self) -> list[tuple[int, int, dict[str, AmountCells]]]:
        """(number column, category column, the number's cells by the category's value,
        with the least and greatest of them)
        where a category of a few values explains most of the number's spread
        (`explained_share` of its logarithm at least `AMOUNT_SHARE`), and each value
        has rows enough to draw from."""
        if self._amount_parents is None:
            self._amount_parents = []
            rows = self._dependence_rows()
            key = self._dep_key
            kinds = ("category", "place", "number", "age")
            parents = self._parents(rows, kinds, DEPENDENCE_VALUES, AMOUNT_ROWS)
            followed = {child for _parent, child in self._dependencies()}
            for c in self.cols:
                if c.kind != "number" or c.index in followed:
                    continue
                pairs = [
                    (row, math.log1p(abs(x)))
                    for row in rows
                    if (x := parse_number(row[c.index])) is not None
                ]
                if len(pairs) < MIN_DEPENDENCE_ROWS:
                    continue
                scores = [
                    (explained_share([x for _r, x in pairs], [key(k, r[k]) for r, _x in pairs]), k)
                    for k in parents
                    if k != c.index
                ]
                share, best = max(scores, default=(0.0, -1))
                if share < AMOUNT_SHARE:
                    continue
                cells: dict[str, list[str]] = {}
                spans: dict[str, list[float]] = {}
                for row in self.rows:
                    x = parse_number(row[c.index])
                    if x is not None:
                        group = key(best, row[best])
                        cells.setdefault(group, []).append(row[c.index])
                        spans.setdefault(group, []).append(x)
                held = {
                    g: (v, (min(spans[g]), max(spans[g])))
                    for g, v in cells.items()
                    if len(v) >= AMOUNT_ROWS  # a value of one row has no range to draw in
                }
                self._amount_parents.append((c.index, best, held))
        return self._amount_parents

    def _dependencies(self) -> list[tuple[int, int]]:
        """(parent, child) column pairs, parents first: a child is a category, yes/no or
        few-valued number column whose value its parent (a category, an age, a birth
        year) predicts far better than the column's commonest value does
        (`prediction_gain`). A child that follows a place more is left to the place's
        donor row, as is a column in runs (`_grouped_columns`)."""
        if self._deps is None:
            rows = self.rows[:: max(1, len(self.rows) // DEPENDENCE_ROWS)][:DEPENDENCE_ROWS]
            key = self._dep_key
            few = [
                c
                for c in self.cols
                if c.kind in ("category", "boolean", "number", "age", "place", "birth_date")
                and 2
                <= len({key(c.index, row[c.index]) for row in rows})
                <= (AGE_KEYS if c.kind in AGE_KINDS else DEPENDENCE_VALUES)
            ]
            grouped = set(self._grouped_columns())
            edges: list[tuple[float, int, int]] = []
            for child in few:
                if child.kind not in ("category", "boolean", "number") or child.index in grouped:
                    continue
                for parent in few:
                    if parent is child:
                        continue
                    pairs = [
                        (key(parent.index, row[parent.index]), row[child.index])
                        for row in rows
                        if key(parent.index, row[parent.index]) and row[child.index].strip()
                    ]
                    if len(pairs) < MIN_DEPENDENCE_ROWS:
                        continue
                    ys, xs = [y for _x, y in pairs], [x for x, _y in pairs]
                    gain = prediction_gain(ys, xs)
                    if (
                        gain >= DEPENDENCE_GAIN
                        or prediction_gain(ys, xs, of_misses=True) >= DEPENDENCE_MISSES
                    ):
                        edges.append((gain, parent.index, child.index))
            parents: dict[int, int] = {}
            for _gain, a, b in sorted(edges, reverse=True):
                if b in parents:
                    continue
                line, x = {a}, a
                while x in parents and parents[x] not in line:
                    x = parents[x]
                    line.add(x)
                if b not in line:
                    parents[b] = a
            # a place's children are its donor row's already
            parents = {b: a for b, a in parents.items() if self.cols[a].kind != "place"}
            order: list[tuple[int, int]] = []
            done: set[int] = set()
            while len(order) < len(parents):
                for b, a in sorted(parents.items()):
                    if b not in done and (a not in parents or a in done):
                        order.append((a, b))
                        done.add(b)
            self._deps = order
        return self._deps

    def _dependent_values(self, parent: int, child: int) -> dict[str, list[str]]:
        """The child column's values of the rows holding each parent value (`_dep_key`)."""
        key = (parent, child)
        if key not in self._dep_values:
            out: dict[str, list[str]] = {}
            for row in self.rows:
                value = self._dep_key(parent, row[parent])
                if value and row[child].strip():
                    out.setdefault(value, []).append(row[child])
            self._dep_values[key] = out
        return self._dep_values[key]

    def _dep_key(self, column: int, value: str) -> str:
        """A parent's value as dependencies group it: a birth date by its year (a pupil's
        grade follows the year they were born), anything else as written ("" empty)."""
        c = self.cols[column]
        if c.kind != "birth_date" or not value.strip():
            return value.strip() and value
        day = c.fmt["date"].parse(value)
        return str(day[0].year) if day else ""

    def _keep_date_order(self, row: list[str], p: Persona, after: set[int] | None = None) -> bool:
        """A date column that never comes before another in the table's rows (a last
        gift after joining, a leaving date after the start) does not in the canary's
        either, nor nearer it than any row's (hired at 16 at the youngest), and is drawn
        as a row's whose earlier date is near the canary's (`later_date`). Drawn apart,
        22% of a donor list's canaries gave their last gift before they joined, and 17%
        of a payroll's were hired before they were 16. With `after`, only the dates that
        follow one of those columns (moved since they were drawn).

        A date its id series' neighbours decided (`_date_in_series`) stays; False where
        it is nearer its earlier date than any row's (the canary too young for its place
        in the series: it goes a row on)."""
        if self._orders is None:
            self._orders = date_orders(self._dated_columns())
        kept = True
        for order in self._orders:
            a, b = order.earlier, order.later
            if after is not None and a not in after:
                continue  # only the dates that follow one moved since
            fa, fb = self.cols[a].fmt["date"], self.cols[b].fmt["date"]
            da = fa.parse(row[a]) if row[a] else None
            db = fb.parse(row[b]) if row[b] else None
            if da is None or db is None:
                continue
            if self.keep_sorted and self.cols[b].sorted:
                continue  # its neighbours decide it
            if b in self._series_dated:
                kept = kept and (db[0] - da[0]).days >= min(order.gaps)
                continue  # the other orders are still kept
            r = random.Random(f"{p.seed}:order:{b}")
            span = self._date_range(self.cols[b], fb)
            row[b] = fb.format(later_date(order, da[0], span, r), db[1])
        return kept

    def _scheme(self, c: Column) -> Scheme | None:
        """The check-digit scheme column `c`'s values pass (`scheme_of`), if any."""
        if c.index not in self._checks:
            self._checks[c.index] = scheme_of(c.values)
        return self._checks[c.index]

    def _checked(
        self,
        c: Column,
        value: str,
        p: Persona,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        """`value` with the check characters its column's scheme gives it (a RUT's, a
        CPF's, an RFC's homoclave digit), or as it is where the column has none. A sorted
        id whose check digit moves it out of its neighbours' order has no room there
        (None), nor one another canary already holds, nor an id no check character makes
        valid (a cedula whose third digit no person's has)."""
        scheme = self._scheme(c)
        if scheme is None:
            return value
        fixed = with_check(value, scheme)
        if fixed is None and c.kind == "id":
            return None  # no check character makes it valid: an id the scheme refuses
        if fixed is None or fixed == value:
            return value
        if c.kind == "id":
            if not self._claim(c, fixed, p):
                return None
            if self.keep_sorted and c.sorted:
                n = id_number(fixed)
                below = id_number(prev[c.index]) if prev is not None else None
                above = id_number(nxt[c.index]) if nxt is not None else None
                if n is None or (below is not None and n <= below):
                    return None
                if above is not None and n >= above:
                    return None
        return fixed

    def _blank_contacts(self, p: Persona, phone: str | None) -> set[int]:
        """The primary contact columns (email, phone) this canary leaves empty: as the
        table's rows with at least one of them leave them, both filled as often as
        there (a canary keeps an identifier we control, so never neither), and an
        email that reaches a mailbox stays.

        Each column empty as often as among all rows (rows with neither counted for
        one of them) made the pair a tell: an Italian registry's rows had both in 34%
        and exactly one in 41%, its canaries both in 10% and exactly one in 90% (23 of
        24). Drawn as the rows with a contact hold them, every pattern a canary can
        have is as likely among canaries as among such rows; only rows with neither
        stay the real rows' own.
        """
        if len(self._primary) < 2 or not phone or not p.email or not self.rows:
            return set()
        patterns = self._contact_patterns
        if patterns is None:
            patterns = self._contact_patterns = self._learn_contact_patterns()
        if not patterns:
            return set()
        r = random.Random(f"{p.seed}:contacts")
        blank = set(r.choices([b for b, _w in patterns], [w for _b, w in patterns])[0])
        if p.keep_email:
            blank -= {c.index for c in self._kind("email")[:1]}
        return blank

    def _learn_contact_patterns(self) -> list[tuple[frozenset[int], float]]:
        """(primary contact columns left empty, share) among the rows with at least one
        of them filled."""
        cols = sorted(self._primary)
        held = Counter(
            frozenset(i for i in cols if not row[i].strip())
            for row in self.rows
            if any(row[i].strip() for i in cols)
        )
        total = sum(held.values())
        return [(blank, n / total) for blank, n in held.items()] if total else []

    def _empty(self, c: Column, r: random.Random) -> bool:
        return r.random() < c.empty_rate

    def _cell(
        self,
        c: Column,
        p: Persona,
        phone: str | None,
        donor: list[str] | None,
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
        id_donor: list[str] | None = None,
        keep_order: bool = True,
    ) -> str | None:
        k = c.kind
        primary = self._primary
        if k == "email":
            if c.index in primary:
                return p.email or ""
            return "" if self._empty(c, r) else p.other_emails.get(c.index, "")
        if k == "phone":
            if not phone or (c.index not in primary and self._empty(c, r)):
                return ""
            return self._format_phone(c, phone, r)
        if donor is not None and (
            c.index in (self._grouped or ())
            or (c.index in self._repeating() and donor[c.index] not in self._seen_values(c))
        ):
            return donor[c.index]  # the run of rows it sits in, exactly as written
        if donor is not None and self._nests_in_runs(c):
            # the donor is a row of the canary's run (`_with_run`): its value, so that
            # two nested columns (an area and its code) stay a pair real rows hold
            return donor[c.index]
        if k == "place":
            if donor is None:
                return self._vary(c, r.choice(self._cells(c)), r)
            return self._vary(c, self._address_with_place(c, donor, r), r)
        if (k == "text" and is_middle_name(c.name)) or c.index in self._second_given():
            return self._middle_name(c, p, r)
        if c.index in self._other_person_columns():
            return ""  # a guardian's, a contact's: `_fill_other_people`, once the row is
        if donor is not None and (
            k in ("category", "boolean", "constant") or (k == "text" and self._unique(c) < 0.5)
        ):
            # With the place, as the real row had them together, one row rarer there (a
            # repeating text too: a health post's name, drawn from the whole column, sat
            # in another city in 93% of a Peruvian list's canaries).
            return self._category_with_place(c, donor, r)
        if k in ("category", "boolean", "text", "constant", "empty"):
            return self._vary(c, r.choice(self._cells(c)), r)
        if k == "number":
            return self._number(c, r)
        # Names are the persona's (a missing surname is decided once, for the CURP too).
        # A sorted id is never left empty: the next canary continues the sequence from it.
        never_empty = k in NAME_KINDS or (k == "id" and c.sorted)
        value: str | None = "" if not never_empty and self._empty(c, r) else None
        if value is None:
            value = self._generated(c, p, id_donor if id_donor is not None else donor, r, prev, nxt)
        if value is None:
            return None
        if keep_order and self.keep_sorted and c.sorted and k in SORTED_NAME_KINDS:
            order = name_order(c.fmt)
            key = order(value)
            if prev is not None and order(prev[c.index]) > key:
                return None
            if nxt is not None and key > order(nxt[c.index]):
                return None
        return value

    def _second_given(self) -> set[int]:
        """Given-name columns after the first ("NOMBRE2" beside "NOMBRE1", a "Spouse"
        beside "First Name"): drawn as a second given name is, from the column's own
        cells of rows of the canary's sex, never the canary's first name again."""
        return {c.index for c in self._kind("given_name")[1:]}

    def _other_person_columns(self) -> set[int]:
        """Whole-name columns that name someone else: a full name after the row's own
        name columns ("ACUDIENTE" after "APELLIDO1", "NOMBRE1"), or a second one. The
        canary's own name in them gave every canary away (a student who is their own
        guardian)."""
        if self._other_cols is None:
            first = next((c.index for c in self.cols if c.kind in NAME_KINDS), None)
            self._other_cols = {
                c.index for c in self._kind("full_name") if first is not None and c.index != first
            }
        return self._other_cols

    def _fill_other_people(self, row: list[str], p: Persona, phone: str | None) -> None:
        """Whole names of other people (`_other_person_columns`), made once the rest of
        the row is: who they are follows the row's relationship column."""
        for i in sorted(self._other_person_columns()):
            c = self.cols[i]
            if not self._empty(c, random.Random(f"{p.seed}:{phone}:{i}")):
                row[i] = self._name_cell(c, self._other_person(p, c, row))

    def _other_person(self, p: Persona, c: Column, row: list[str]) -> Persona:
        """The other person a name column holds for this canary (the same every time),
        made after a real row `like` the canary's: where a category column tells the
        other person's sex and which of the row's surnames they carry ("MADRE": a woman
        whose first surname is the child's second; "PADRE": a man with the child's first),
        one of the rows holding the canary's value there. That row lends its other
        person's given name (a guardian's is a parent's, not a pupil's), how many
        surnames they have and which of the row's own they carry first; the rest is drawn
        as the canary's names are. Drawn apart, a canary's "MADRE" was named "JOSE" and
        carried the child's first surname."""
        r = random.Random(f"{p.seed}:other:{c.index}")
        parts = self._other_parts(c)
        ties = self._other_ties(c)
        held = [k for k, part in enumerate(parts) if part is not None]
        like = [k for k in held if all(self.rows[k][t] == row[t] for t in ties if row[t])]
        given, sex, count, carries = "", None, 2, ""
        if like or held:
            given, sex, count, carries = parts[r.choice(like or held)]  # type: ignore[misc]
        sex = sex or ("F" if r.random() < self._female_share else "M")
        with self._drawing_from(r):
            drawn, paternal, maternal = self._draw_names(sex)
        if carries == "P" and p.paternal:
            paternal = p.paternal
        elif carries == "M" and p.maternal:
            paternal = p.maternal
        if count == 1:
            maternal = ""
        return Persona(
            given or drawn, paternal, maternal, sex, p.birth, None, seed=r.getrandbits(63)
        )

    @contextlib.contextmanager
    def _drawing_from(self, r: random.Random) -> Iterator[None]:
        """Names drawn inside come from `r` alone, and Faker's from a second Faker seeded
        from it, never from the factory's stream: another person's name is the same
        each time its row is made (the provisional row and the one written are one)."""
        if self._side_faker is None:
            self._side_faker = LazyFaker(self.name_profile["faker_locale"], 0)
        self._side_faker.seed_instance(r.getrandbits(32))
        names, column_names = self.names, self.column_names
        saved = (self.rng, names.rng, names.faker)
        self.rng = names.rng = r
        names.faker = self._side_faker
        if column_names is not None:
            column_names.rng = r
        try:
            yield
        finally:
            self.rng, names.rng, names.faker = saved
            if column_names is not None:
                column_names.rng = saved[0]

    def _other_parts(self, c: Column) -> list[tuple[str, str | None, int, str] | None]:
        """Per sample row, its other person in `c`: (given names, sex by the given name,
        how many surnames, which of the row's own surnames comes first: "P" its paternal,
        "M" its maternal, "" neither); None where the cell or the row's names are empty,
        or its two surnames are one."""
        if c.index not in self._others:
            last_first = c.fmt.get("order", "first_last") != "first_last"
            spanish = self.profile.get("language") == "es"
            out: list[tuple[str, str | None, int, str] | None] = []
            for row in self.rows:
                names = self._row_names(row)
                given, surnames = _other_name(row[c.index], last_first, spanish)
                if names is None or not given or not surnames or fold(names[1]) == fold(names[2]):
                    out.append(None)  # (a child of two GARCIAs tells no one which is whose)
                    continue
                first = fold(surnames[0])
                carries = (
                    "P"
                    if first == fold(names[1])
                    else "M"
                    if names[2] and first == fold(names[2])
                    else ""
                )
                out.append((given, name_sex(given), len(surnames), carries))
            self._others[c.index] = out
        return self._others[c.index]

    def _other_ties(self, c: Column) -> list[int]:
        """Category columns that tell who the other person in `c` is: removing at least
        `OTHER_TIE_GAIN` of the misses of guessing their sex and carried surname
        (`prediction_gain`): a relationship column beside a guardian."""
        if c.index not in self._other_tie_cache:
            parts = self._other_parts(c)
            out = []
            for k in self.cols:
                if k.kind not in ("category", "boolean") or k.index == c.index:
                    continue
                pairs = [
                    (f"{part[1]}:{part[3]}", row[k.index])
                    for part, row in zip(parts, self.rows, strict=True)
                    if part is not None and row[k.index].strip()
                ]
                if len(pairs) < MIN_DEPENDENCE_ROWS:
                    continue
                who, value = [w for w, _v in pairs], [v for _w, v in pairs]
                if prediction_gain(who, value, of_misses=True) >= OTHER_TIE_GAIN:
                    out.append(k.index)
            self._other_tie_cache[c.index] = out
        return self._other_tie_cache[c.index]

    def _middle_name(self, c: Column, p: Persona, r: random.Random) -> str:
        """A second given name (or none) of a real row of the persona's sex: "ANDRÉS
        CAMILA" is no one's name. A first name no list knows takes the sex its rows'
        second names show. Drawn from the whole sex, not from rows with the same first
        name: that would copy a real row's pair of given names. Every cell of the column
        when sexes are unknown."""
        groups = self._middle_cells.get(c.index)
        if groups is None:
            groups = {}
            for row in self.rows:
                names = self._row_names(row)
                sex = self._row_sex(row, names[0] if names else None)
                if sex is not None:
                    groups.setdefault(f"\x00{sex}", []).append(row[c.index])
                elif names and fold(names[0]):  # unknown first name: its second names
                    groups.setdefault(fold(names[0]), []).append(row[c.index])
            self._middle_cells[c.index] = groups
        sex = p.sex
        own = groups.get(fold(p.given)) or []
        if own:
            votes = Counter(name_sex(v) for v in own if v.strip())
            votes.pop(None, None)
            if votes:
                sex = votes.most_common(1)[0][0] or sex
        same_sex = groups.get(f"\x00{sex}") or []
        if len(same_sex) < MIN_NAME_ROWS:
            return r.choice(self._cells(c))
        # never the first name again ("DAVID DAVID"): no row holds one twice
        for _ in range(NOVEL_TRIES):
            second = self._one_rarer(same_sex, r.choice(same_sex), self._cells(c), r)
            if fold(second) != fold(p.given):
                break
        return second

    def _one_rarer(self, cells: list[str], value: str, others: list[str], r: random.Random) -> str:
        """For a `value` drawn from `cells` (a real row's, held there by k rows), one held
        there by k - 1 rows (for k = 1, one of `others` that `cells` lacks), so that once
        the canary adds itself its value is as common in `cells` as a real row's own.

        A value copied from a real row is held by that row and the canary: drawn this
        way, a canary's second given name was never the only one of its sex with it, as a
        real row's often is (the pair alone told canaries apart at 0.64 in a voter list).
        Empty cells are kept. The value itself when no other fits, or no other of a
        name's sex.
        """
        if not value.strip():
            return value
        counts = Counter(cells)
        k = counts[value]
        if k == 1:
            fits = sorted({v for v in others if v.strip() and v not in counts})
            # a name of the same sex: drawn among a spouse column's rows of the canary's
            # sex, the names those rows lack are the other sex's ("David", wife "John")
            sex = name_sex(value)
            if sex is not None:
                fits = [v for v in fits if name_sex(v) == sex]
        else:
            fits = sorted(v for v, n in counts.items() if n == k - 1 and v.strip())
        return r.choice(fits) if fits else value

    def _category_with_place(self, c: Column, donor: list[str], r: random.Random) -> str:
        """A category for a canary in the donor row's place (its finest place column: a
        municipality rather than its state), drawn as one more row of that place would
        hold it: a real row of the place's value with probability n / (n + a), else a
        value of the whole column, for a place of n rows (a Polya urn: the predictive
        distribution of a Dirichlet-multinomial whose strength `a` is fitted to the
        column, `_place_strength`).

        Copied as it is, the canary's pair of place and category is held by the donor
        and the canary: one row more than the donor's own, so across copies a canary's
        combination is never one a single row holds, as a real row's often is. Drawn
        from the urn, the canary is one more row exchangeable with the real ones: its
        pair is new to the place as often as a real row's is its own alone, and the
        column keeps its frequencies. Where the place decides the category (a state for
        its municipality) the fitted strength is about 0 and the place's value is kept;
        where the category ignores the place (a fee) it is large and the value follows
        the column's frequencies (taking a value held by a row fewer in the place, as
        before, leaned a fee toward its rarer values).
        """
        place = self._finest_place()
        if place is None:
            return donor[c.index]
        cells = self._place_cells(c, place).get(donor[place.index], [])
        return self._from_urn(c, cells, self._place_strength(c, place), r)

    def _address_with_place(self, c: Column, donor: list[str], r: random.Random) -> str:
        """A street address (a place column of mostly distinct values) for a canary in the
        donor's place, before its digits are made new: a real row's of the donor's
        finest place, or of the whole column, as `_category_with_place` draws a category,
        with the urn's strength matched on the addresses' first words (the street).

        Copied from the donor with new digits, the canary's street and place were a pair
        one more row held than the donor's own (in a registry whose streets are in every
        municipality, "HIDALGO" in Saltillo was never a canary's alone, as it is some
        real rows'). Other place columns (a municipality, its district) are the donor's,
        and so is a postal code (no letters), which `_postcode` keeps in the donor's
        place: drawn from the urn, a Spanish member's code came from another province."""
        place = self._finest_place()
        if place is None or place.index == c.index or self._unique(c) < 0.5:
            return donor[c.index]
        if self._is_code_of(c, donor[c.index]):
            return donor[c.index]  # it agrees with the place (`_postcode`)
        cells = self._place_cells(c, place).get(donor[place.index], [])
        if self._names_places(c):  # "HIDALGO 12, COL. CENTRO": only the place's own
            return r.choice(cells) if cells else donor[c.index]
        return self._from_urn(c, cells, self._place_strength(c, place, first_word=True), r)

    def _from_urn(self, c: Column, cells: list[str], strength: float, r: random.Random) -> str:
        """One draw of the urn: a cell of the place's (`cells`, n of them) with
        probability n / (n + strength), else one of the whole column's."""
        if not cells or r.random() * (len(cells) + strength) < strength:
            return r.choice(self._cells(c))
        return r.choice(cells)

    def _names_places(self, c: Column) -> bool:
        """Whether column `c`'s values name their row's other places ("HIDALGO 12, COL.
        CENTRO, SALTILLO") in one row in twenty or more: another place's row would
        bring its names along."""
        cached = self._naming.get(c.index)
        if cached is None:
            places = [p for p in self._kind("place") if p.index != c.index]
            named = 0
            for row in self.rows:
                text = fold(row[c.index])
                named += any(
                    len(v := fold(row[p.index]).strip()) >= 4 and v in text for p in places
                )
            cached = self._naming[c.index] = named >= 0.05 * max(len(self.rows), 1)
        return cached

    def _unique(self, c: Column) -> float:
        """The share of column `c`'s values that are distinct."""
        unique = self._unique_share.get(c.index)
        if unique is None:
            unique = self._unique_share[c.index] = c.distinct / max(len(c.values), 1)
        return unique

    def _place_strength(self, c: Column, place: Column, first_word: bool = False) -> float:
        """How far column `c` follows the place: the strength `a` of the urn of
        `_category_with_place`, chosen so that the urn, asked for each real row's value
        given the other rows of its place, finds it new to the place as often as the rows
        do (a row whose pair of place and value is its own alone: the count a canary's
        copied pair could never have). About 0 where the place decides the value (no row
        of a place of two or more is alone), large where the value ignores the place.

        Matched on that count rather than fitted by likelihood: it is the tell, and a
        likelihood fit, which assumes the urn is how the table was made, left canaries'
        pairs alone a third less often than real rows' on tables it was not."""
        key = (c.index, place.index, first_word)
        cached = self._strengths.get(key)
        if cached is not None:
            return cached

        def word(value: str) -> str:
            return (fold(value).split() or [""])[0] if first_word else value

        column = Counter(word(v) for v in self._cells(c))
        total = sum(column.values())
        # For each real row of a place of n >= 2: the column's share of the values none
        # of the place's other rows holds, and whether the row's own is one of them.
        # (n, share, rows): rows of a place of n with that share unseen.
        unseen: list[tuple[int, float, int]] = []
        alone = 0
        for cells in self._place_cells(c, place).values():
            n = len(cells)
            if n < 2:
                continue
            counts = Counter(word(v) for v in cells)
            held = sum(column[v] for v in counts) / total
            shared = 0
            for value, k in counts.items():
                if k == 1:
                    unseen.append((n, 1 - held + column[value] / total, 1))
                    alone += 1
                else:
                    shared += k
            if shared:
                unseen.append((n, 1 - held, shared))

        def expected(a: float) -> float:
            return sum(rows * a * u / (n - 1 + a) for n, u, rows in unseen)

        low, high = PLACE_STRENGTH_RANGE
        if not unseen or expected(high) <= alone:
            strength = high
        elif expected(low) >= alone:
            strength = low
        else:
            for _ in range(60):  # bisection on log(a): expected() grows with a
                mid = math.sqrt(low * high)
                low, high = (mid, high) if expected(mid) < alone else (low, mid)
            strength = math.sqrt(low * high)
        self._strengths[key] = strength
        return strength

    def _finest_place(self) -> Column | None:
        """The place column whose values repeat with the most distinct values (a
        municipality, not its state nor a street address)."""
        grouped = self._grouped_columns()
        repeating = self._repeating()
        places = [c for c in self._kind("place") if c.index in repeating and c.index not in grouped]
        if not places:
            return None
        return max(places, key=lambda c: len(set(self._seen_values(c))))

    def _place_cells(self, c: Column, place: Column) -> dict[str, list[str]]:
        """Column `c`'s cells by the row's value in `place`."""
        key = (c.index, place.index)
        cached = self._by_place.get(key)
        if cached is None:
            cached = {}
            for row in self.rows:
                cached.setdefault(row[place.index], []).append(row[c.index])
            self._by_place[key] = cached
        return cached

    def _row_sex(self, row: list[str], given: str | None) -> str | None:
        """A real row's sex: its sex column, its CURP, or its given name (so a canary's
        name and sex agree in any table)."""
        sexes, curps = self._kind("sex"), self._kind("curp")
        if sexes:
            return cast("str | None", sexes[0].fmt["sex"].get(row[sexes[0].index].strip()))
        if curps and len(row[curps[0].index].strip()) == 18:
            return {"M": "F", "H": "M"}.get(row[curps[0].index].strip()[10].upper())
        return name_sex(given, self.profile.get("given_female", {})) if given else None

    def _fit_sorted_name(
        self,
        p: Persona,
        prev: list[str] | None,
        nxt: list[str] | None,
        col: Column | None = None,
    ) -> None:
        """In a table sorted by a name column (`col`, else the one sorted over the whole
        table), give the persona its neighbour's leading name (a surname shared with the
        row above, as sorted registries show) when its own would not sort here; its
        email is redrawn to match the new name."""
        col = col or next(
            (c for c in self.cols if c.sorted and c.kind in ("full_name", "paternal", "surname")),
            None,
        )
        if col is None:
            return
        order = name_order(col.fmt)
        key = order(self._name_cell(col, p))
        lo = order(prev[col.index]) if prev is not None else None
        hi = order(nxt[col.index]) if nxt is not None else None
        if (lo is None or lo <= key) and (hi is None or key <= hi):
            return
        source = prev if prev is not None else nxt
        assert source is not None
        words = source[col.index].replace(",", " ").split()
        if not words:
            return
        word = apply_casing(words[0], "title")
        order = col.fmt.get("order", "first_last")
        if col.kind == "full_name" and order == "first_last":
            p.given = word
            # the neighbour's sex with its name: kept apart, 12 of 24 canaries of a list
            # sorted by whole names had a sex column the other way from their name
            p.sex = self._row_sex(source, word) or p.sex
            self._fit_after_given(col, p, lo, hi)
        elif col.kind == "paternal":
            p.paternal = apply_casing(source[col.index], "title")
        else:
            p.paternal = word
            if order in ("last_comma_first", "last_first") and col.kind == "full_name":
                self._fit_after_surname(col, p, source[col.index], lo, hi)
        self._redraw_emails(p)

    def _redraw_emails(self, p: Persona) -> None:
        """The persona's addresses made again after its name changed (not an
        organisation's mailbox address, nor one made of another person's name)."""
        emails = self._kind("email")
        if emails and not p.keep_email and self._email_owner() is None:
            p.email = self._unique_email(p, emails[0])
            for c in emails[1:]:
                p.other_emails[c.index] = self._unique_email(p, c)

    def _run_order(self) -> RunOrder | None:
        """The name columns the rows are sorted by inside their runs (`run_order`): a
        school roll by grade and group, then surnames and given name; over the whole
        table where a name column is sorted over it and further name columns order the
        rows it ties (else None: `_fit_sorted_name` keeps that order)."""
        if self._order is None:
            skip = self._second_given() | self._other_person_columns()
            names = [c for c in self.cols if c.kind in ORDER_KINDS and c.index not in skip]
            whole = any(c.sorted for c in self.cols if c.kind in NAME_KINDS)
            order = None
            if self.keep_sorted and whole and names:
                # sorted over the whole table by a surname, then by the other names
                # among rows it ties (a voter list by paternal, maternal, given names):
                # kept by the first alone, 16 of 24 canaries broke the later keys
                order = run_order(self.rows, [], [c.index for c in names])
                if order is not None and len(order.keys) < 2:
                    order = None
            elif self.keep_sorted and not whole:
                runs = self._grouped_columns()
                if names:
                    order = run_order(self.rows, runs, [c.index for c in names])
                full = [c for c in self._kind("full_name") if c.index not in skip][:1]
                if order is None and full:  # "SURNAMES, NAMES" by department
                    order = run_order(self.rows, runs, [full[0].index])
            self._order = (order,)
        return self._order[0]

    def _fit_run_order(self, p: Persona, prev: list[str] | None, nxt: list[str] | None) -> bool:
        """In a table sorted by names inside runs (`_run_order`), give the persona names
        that sort between its neighbours in its run (`fit_key`): placed at random, 93% of
        a school roll's canaries broke the alphabetical order of their group, where 0.7%
        of real rows did. False where only a neighbour's names would sort there (a real
        person's again): the row goes a row further on."""
        order = self._run_order()
        if order is None:
            return True
        if prev is not None and nxt is not None and not order.same_run(prev, nxt):
            nxt = None  # a new row takes the run of the row above it
        cols = [self.cols[k] for k in order.keys]
        if cols[0].kind == "full_name":  # one column of whole names: as a sorted one
            self._fit_sorted_name(p, prev, nxt, cols[0])
            return True
        own = [self._name_cell(c, p) for c in cols]
        got = fit_key(
            own,
            [prev[c.index] for c in cols] if prev is not None else None,
            [nxt[c.index] for c in cols] if nxt is not None else None,
            [self._name_pool(c, p.sex) for c in cols],
            random.Random(f"{p.seed}:order"),
        )
        if got == own:
            return True
        was = (p.given, p.paternal, p.maternal)
        for c, value, mine in zip(cols, got, own, strict=True):
            if value == mine:
                continue
            name = apply_casing(value.strip(), "title")
            if c.kind == "given_name":
                p.given = name
            elif c.kind == "maternal":
                p.maternal = name
            else:
                p.paternal = name
                if c.kind == "surname" and not self._kind("maternal"):
                    p.maternal = ""  # the column holds both: the value is both
        names = [c for c in self.cols if c.kind in NAME_KINDS]
        mine_now = [fold(self._name_cell(c, p)) for c in names]
        if any(mine_now == [fold(row[c.index]) for c in names] for row in (prev, nxt) if row):
            p.given, p.paternal, p.maternal = was
            return False
        self._redraw_emails(p)
        return True

    def _name_pool(self, c: Column, sex: str) -> dict[str, int]:
        """A name column's values and how many rows hold each; a given name only of
        rows of `sex` or of none known, so a canary keeps its sex."""
        if c.kind != "given_name":
            return self._value_counts(c)
        key = (c.index, sex)
        pool = self._given_pools.get(key)
        if pool is None:
            pool = self._given_pools[key] = dict(
                Counter(
                    row[c.index].strip()
                    for row in self.rows
                    if row[c.index].strip() and self._row_sex(row, row[c.index]) in (sex, None)
                )
            )
        return pool

    def _fit_after_given(self, col: Column, p: Persona, lo: str | None, hi: str | None) -> None:
        """In a list sorted by whole names, given names first, where the neighbour's
        first word is not enough ("Yasmin Aragão" after the last row, "Yasmin Siqueira"):
        what follows the first word in one of the column's names that sorts here, and
        makes no real row's whole name. As it was, left unchanged."""
        order = name_order(col.fmt)
        spanish = self.profile.get("language") == "es"

        def key() -> str:
            return order(self._name_cell(col, p))

        if (lo is None or lo <= key()) and (hi is None or key() <= hi):
            return
        real = self._seen_folded(col)
        rests = sorted({v.split(maxsplit=1)[1] for v in col.values[:5000] if len(v.split()) > 1})
        random.Random(f"{p.seed}:sorted:rest").shuffle(rests)
        was = (p.given, p.paternal, p.maternal)
        for rest in rests:
            text = f"{was[0]} {rest}"
            if fold(text) in real:
                continue
            given, paternal, maternal = _split_full(text, "first_last", spanish)
            if not paternal:
                continue
            p.given, p.paternal, p.maternal = given, paternal, maternal
            if (lo is None or lo <= key()) and (hi is None or key() <= hi):
                return
        p.given, p.paternal, p.maternal = was

    def _seen_folded(self, c: Column) -> set[str]:
        """Column `c`'s values, folded."""
        seen = self._folded_cache.get(c.index)
        if seen is None:
            seen = self._folded_cache[c.index] = {fold(v) for v in c.values}
        return seen

    def _fit_after_surname(
        self, col: Column, p: Persona, source: str, lo: str | None, hi: str | None
    ) -> None:
        """In a list sorted by "SURNAMES, GIVEN NAMES" (or "SURNAMES GIVEN NAMES": an
        Ecuadorian roll's, where keeping the first alone broke the order inside the
        parish in 17 of 24 canaries) where the neighbour's first surname is not enough
        (after the last row, "TORRES SUAREZ, VALENTINA" is only followed by a name at
        least as late): its second surname too, then a given name of the
        column's, of the persona's sex, that sorts here, else a second or first surname
        of the column's that does. As it was, left unchanged."""

        order = name_order(col.fmt)

        def fits() -> bool:
            key = order(self._name_cell(col, p))
            return (lo is None or lo <= key) and (hi is None or key <= hi)

        if fits():
            return
        comma = col.fmt.get("order") == "last_comma_first"
        split = [_surnames_given(v, comma) for v in col.values[:5000] if "," in v or not comma]
        second = _surnames_given(source, comma)[0][1:2]
        was = (p.maternal, p.given)
        p.maternal = apply_casing(second[0], "title") if second else ""
        if fits():
            return
        givens = sorted({g for _s, g in split if g and name_sex(g) in (p.sex, None)})
        random.Random(f"{p.seed}:sorted").shuffle(givens)
        for g in givens:
            p.given = apply_casing(g, "title")
            if fits():
                return
        # no given name sorts after the neighbour's (the last row's is the column's
        # last, or a canary before this one took it): a second surname that sorts
        # after its, then a first one, with the persona's own given name
        p.given, paternal = was[1], p.paternal
        parts = [surnames for surnames, _g in split]
        for at in (1, 0):
            held = sorted({words[at] for words in parts if len(words) > at})
            random.Random(f"{p.seed}:sorted:{at}").shuffle(held)
            for surname in held:
                if at == 1:
                    p.maternal = apply_casing(surname, "title")
                else:
                    p.paternal, p.maternal = apply_casing(surname, "title"), ""
                if fits():
                    return
        p.maternal, p.given, p.paternal = *was, paternal

    def _postcode(self, c: Column, value: str, r: random.Random) -> str:
        """A postal code near the donor row's (`value`) that is as common in the copy as
        a real row's own code is in the table.

        Copying the donor's code would make it one more frequent than the donor's own
        count (the canary adds itself). A real row's code is held by k rows with the
        probability that a random row's is; so with the donor's count k, the canary takes
        a code held by k - 1 rows sharing the most leading digits with the donor's (k
        once it is added), or, for k = 1, a code no row holds, sharing its leading digits.
        """
        counts = self._value_counts(c)
        k = counts.get(value, 0)
        if k <= 1:
            # A code in two parts keeps the first, its area (Britain's district "LS25",
            # Portugal's "4350" of "4350-325", a ZIP of a ZIP+4): drawn by position,
            # "LS25" went to a canary in Leeds where it is Garforth's (15 of 24), a
            # "4650" of Felgueiras to one in Porto.
            area = TWO_PART_CODE_RE.match(value)
            keep = max(self._town_prefix(c, value), area.end() if area else 0)
            for _ in range(10):
                new = self._positions(c).draw(r, value)
                if len(new) == len(value):
                    new = value[:keep] + new[keep:]
                if new and new not in counts:
                    return new
            return value
        best, best_len = [], 2
        # only the codes of the donor's own town: nearest by digits across the column,
        # a Beaverton row's code went to a canary in Portland
        local = self._codes_of_town(c, value)
        for v, n in counts.items():
            if n != k - 1 or (local is not None and v not in local):
                continue
            common = _common_prefix(v, value)
            if common > best_len:
                best, best_len = [v], common
            elif common == best_len:
                best.append(v)
        return r.choice(sorted(best)) if best else value

    def _is_code_of(self, c: Column, value: str) -> bool:
        """Whether a place value is a code (`_is_code`: no letters), or one of a column of
        codes holding letters (`ALNUM_CODE_RE`: Britain's "LS25 6YD", Canada's "K1A
        0B1", the Netherlands' "1012 AB"). Varied digit run by digit run, a British
        tenant's postcode district was another town's (15 of 24 canaries)."""
        if _is_code(value):
            return True
        coded = self._alnum_codes.get(c.index)
        if coded is None:
            filled = [v.strip() for v in c.values[:2000] if v.strip()]
            hits = sum(1 for v in filled if ALNUM_CODE_RE.match(v))
            coded = self._alnum_codes[c.index] = bool(filled) and hits >= CODE_SHARE * len(filled)
        return coded and ALNUM_CODE_RE.match(value.strip()) is not None

    def _town_prefix(self, c: Column, value: str) -> int:
        """How many leading characters a new code keeps of `value`, a code of its town
        (`_codes_of_town`): those all the town's codes share, or where the town has one
        code only, as many as the towns with more share (median). Drawn by position
        alone, a Brazilian customer in Salvador (CEPs 40...) got a CEP 47016-187, one
        in Guarulhos (07...) a CEP of São Paulo's."""
        local = self._codes_of_town(c, value)
        if local is None:
            return 0
        if len(local) > 1:
            return min(_common_prefix(value, v) for v in local if v != value)
        if c.index not in self._town_prefixes:
            shared = []
            for codes in self._town_of_codes_maps(c)[1].values():
                if len(codes) > 1:
                    first = min(codes)
                    shared.append(min(_common_prefix(first, v) for v in codes if v != first))
            self._town_prefixes[c.index] = sorted(shared)[len(shared) // 2] if shared else 0
        return self._town_prefixes[c.index]

    def _town_of_codes_maps(self, c: Column) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        maps = self._town_of_codes.get(c.index)
        assert maps is not None  # `_codes_of_town` found the towns
        return maps

    def _codes_of_town(self, c: Column, value: str) -> set[str] | None:
        """The codes of a code column (a ZIP) found in rows of the towns rows with
        `value` are in: the place column just coarser than the codes (the most values,
        fewer than the codes'). None when the table has no such column."""
        if c.index not in self._town_of_codes:
            distinct = len({row[c.index] for row in self.rows})
            coarser = [
                (len({row[p.index] for row in self.rows}), p.index)
                for p in self._kind("place")
                if p.index != c.index
            ]
            coarser = [x for x in coarser if 1 < x[0] < distinct]
            towns_of: dict[str, set[str]] = {}
            codes_of: dict[str, set[str]] = {}
            if coarser:
                town = max(coarser)[1]
                for row in self.rows:
                    code = row[c.index].strip()
                    towns_of.setdefault(code, set()).add(row[town])
                    codes_of.setdefault(row[town], set()).add(code)
            self._town_of_codes[c.index] = (towns_of, codes_of) if coarser else None
        maps = self._town_of_codes[c.index]
        if maps is None:
            return None
        towns_of, codes_of = maps
        return {code for t in towns_of.get(value, ()) for code in codes_of[t]}

    def _value_counts(self, c: Column) -> dict[str, int]:
        counts = self._count_cache.get(c.index)
        if counts is None:
            counts = self._count_cache[c.index] = dict(Counter(v.strip() for v in c.values))
        return counts

    def _vary(self, c: Column, value: str, r: random.Random) -> str:
        """A value copied from a column where values are mostly unique (an address, a
        note) gets new digits of the same length, so the canary does not duplicate a
        real row's street number; repetitive columns are copied as they are."""
        unique = self._unique(c)
        if not value or not re.search(r"\d", value):
            return value
        if c.kind == "place" and self._is_code_of(c, value):
            return self._postcode(c, value, r)
        if unique < 0.5:
            return value
        # A run of digits the column repeats (a block of a grid address, an apartment's
        # "1201") as another real row writes it there, each from its own row, so it
        # keeps the column's values and forms; a run mostly distinct (a street number)
        # near a real one, so that it is as often its own as a real row's is. Near the
        # column's own throughout where that would make a real row's whole value.
        # Runs are compared with those of values of the same shape (the words after
        # each run: "BELGRANO 455 PISO 3" with others "... PISO ..."), else with all
        # values of as many runs: a floor drawn among house numbers came out "PISO 1548".
        runs = self._digit_runs(c)
        own = re.findall(r"\d+", value)
        k = len(own)
        key: RunKey = (k, _run_shape(value))
        if len(runs.get(key, [])) < RUN_SHAPE_ROWS:
            key = (k, None)
        pool = runs.get(key)
        if not pool:
            return vary_digits(value, r)
        seen = self._seen_values(c)
        words = re.split(r"\d+", value)  # k + 1 pieces around the k runs
        top = self._run_max(c, key)
        repeated = self._repeated_runs(c, key)
        named = self._named_runs(c)
        kept = [
            any(
                named[p] >= NAMED_RUN_ROWS and named[p] >= NAMED_RUN_SHARE * named[_any_number(p)]
                for p in _run_phrases(value, i)
            )
            for i in range(k)
        ]
        if all(kept):
            kept = [False] * k
        for _ in range(NOVEL_TRIES):
            numbers = [
                own[i]
                if kept[i]
                else r.choice(pool)[i]
                if repeated[i]
                else _near(r.choice(pool)[i], r, top[i])
                for i in range(k)
            ]
            new = "".join(w + n for w, n in zip(words, [*numbers, ""], strict=True))
            if new not in seen:
                return new
        model = iter(enumerate(r.choice(pool)))

        def near(_m: re.Match[str]) -> str:
            i, digits = next(model)
            return _near(digits, r, top[i])

        return re.sub(r"\d+", near, value)

    def _named_runs(self, c: Column) -> Counter[str]:
        """How many of the column's values hold each number with the word before or after
        it (`_run_phrases`), and any number there (`_any_number`): a number that is part
        of a street's name ("25 DE MAYO", "AV. 9 DE JULIO", "CALLE 10") is in many and
        in a good share of those with a number beside that word, a house number ("MAIN
        123") in few. A named number is kept as the donor's: varied, "19 de Abril" came
        out "2219 de Abril"."""
        named = self._named.get(c.index)
        if named is None:
            named = Counter()
            for v in c.values[:20000]:
                for i in range(len(re.findall(r"\d+", v))):
                    phrases = set(_run_phrases(v, i))
                    named.update(phrases | {_any_number(p) for p in phrases})
            self._named[c.index] = named
        return named

    def _repeated_runs(self, c: Column, key: RunKey) -> list[bool]:
        """For the column's values of a `_digit_runs` key, whether each run repeats
        (fewer distinct numbers there than half the values). Read once per key."""
        repeated = self._run_repeats.get((c.index, key))
        if repeated is None:
            pool = self._digit_runs(c).get(key) or []
            repeated = [len({x[i] for x in pool}) < 0.5 * len(pool) for i in range(key[0])]
            self._run_repeats[(c.index, key)] = repeated
        return repeated

    def _run_max(self, c: Column, key: RunKey) -> list[int]:
        """The largest number at each run of the column's values of a `_digit_runs`
        key. Read once per key."""
        top = self._run_tops.get((c.index, key))
        if top is None:
            pool = self._digit_runs(c).get(key) or []
            top = [max(int(x[i]) for x in pool) for i in range(key[0])] if pool else []
            self._run_tops[(c.index, key)] = top
        return top

    def _digit_runs(self, c: Column) -> dict[RunKey, list[list[str]]]:
        """The column's values' runs of digits, grouped by how many runs a value has
        and its shape (`_run_shape`), and by how many alone (shape None)."""
        runs = self._run_cache.get(c.index)
        if runs is None:
            runs = {}
            for v in c.values[:20000]:
                found = re.findall(r"\d+", v)
                if found:
                    runs.setdefault((len(found), None), []).append(found)
                    runs.setdefault((len(found), _run_shape(v)), []).append(found)
            self._run_cache[c.index] = runs
        return runs

    def _cells(self, c: Column) -> list[str]:
        """Every cell of the column in the sample, empties included (so sampling from it
        keeps the column's empty rate and value frequencies)."""
        cells = self._cell_cache.get(c.index)
        if cells is None:
            cells = [row[c.index] for row in self.rows] or [""]
            self._cell_cache[c.index] = cells
        return cells

    def _generated(
        self,
        c: Column,
        p: Persona,
        donor: list[str] | None,
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        k = c.kind
        if k in NAME_KINDS:
            return self._name_cell(c, p)
        if k == "sex":
            # among the column's values of the persona's sex, at their frequencies:
            # "Mrs", "Miss" and "Ms" all say a woman, and every canary a "Mrs" would
            # be a tell of its own
            key = (c.index, p.sex)
            if key not in self._sex_value:
                mapping: dict[str, str] = c.fmt["sex"]
                self._sex_value[key] = Counter(
                    v for v in c.values[:5000] if mapping.get(v.strip()) == p.sex
                ) or Counter([v for v, s in mapping.items() if s == p.sex][:1])
            held = self._sex_value[key]
            if not held:
                return r.choice(c.values)
            return r.choices(list(held), weights=list(held.values()))[0]
        if k in ("birth_date", "date"):
            return self._date(c, p, r, prev, nxt)
        if k == "age":
            ref = self._age_ref
            age = ref.year - p.birth.year - ((ref.month, ref.day) < (p.birth.month, p.birth.day))
            return str(max(age, 0))
        if k == "curp":
            return self._curp(c, p, donor, r)
        if k == "rfc":
            return make_rfc(p.given, p.paternal, p.maternal, p.birth)
        if k == "dni":
            return self._dni(c, r)
        if k == "json":  # an empty container of the column's kind, never a real one
            lists = sum(1 for v in c.values[:200] if v.lstrip().startswith("["))
            return "[]" if lists * 2 >= len(c.values[:200]) else "{}"
        if k == "id":
            return self._id(c, p, donor, r, prev, nxt)
        return r.choice(c.values)

    def _name_cell(self, c: Column, p: Persona) -> str:
        k = c.kind
        if k == "given_name":
            text = p.given
        elif k == "paternal":
            text = p.paternal
        elif k == "maternal":
            text = p.maternal
        elif k == "surname":
            both = not self._kind("maternal")  # the maternal is drawn as often as it shows
            text = f"{p.paternal} {p.maternal}".strip() if both else p.paternal
        else:
            order = c.fmt.get("order", "first_last")
            surnames = " ".join(x for x in (p.paternal, p.maternal) if x)
            if order == "last_first":
                text = f"{surnames} {p.given}"
            elif order == "last_comma_first":
                text = f"{surnames}, {p.given}"
                if "part_casing" in c.fmt:  # "MORENO, Maria Paz"
                    before, after = c.fmt["part_casing"]
                    text = f"{apply_casing(surnames, before)}, {apply_casing(p.given, after)}"
            else:
                text = f"{p.given} {surnames}"
        text = apply_particles(apply_casing(text, c.casing), self._particles(c))
        return apply_accents(text, c.accents)

    def _particles(self, c: Column) -> dict[str, str]:
        """How the column writes particles ("Del" or "del"): title casing lowers them,
        and a list written "María Del Carmen" would show canaries' "del" alone."""
        forms = self._particle_cache.get(c.index)
        if forms is None:
            forms = self._particle_cache[c.index] = particle_forms(c.values)
        return forms

    def _date(
        self,
        c: Column,
        p: Persona,
        r: random.Random,
        prev: list[str] | None = None,
        nxt: list[str] | None = None,
    ) -> str | None:
        fmt: DateFormat = c.fmt["date"]
        base_text = r.choice(c.values)
        parsed = fmt.parse(base_text)
        tail = parsed[1] if parsed else ""
        if c.kind == "birth_date" and c is self._kind("birth_date")[0]:
            return fmt.format(p.birth, tail)
        if self.keep_sorted and c.sorted and (prev is not None or nxt is not None):
            return date_between(
                fmt,
                prev[c.index] if prev is not None else None,
                nxt[c.index] if nxt is not None else None,
                r,
                self._clocks(c),
                self._date_gaps(c),
                self._weekdays(c),
                latest=self._date_range(c, fmt)[1],
            )
        series = self._dating_series(c) if prev is not None or nxt is not None else None
        if series is not None:
            got = self._date_in_series(c, series, r, prev, nxt)
            if got is not None:
                self._series_dated.add(c.index)
                return got
        if parsed is None:
            return base_text
        low, high = self._date_range(c, fmt)
        d = parsed[0] + timedelta(days=r.randint(-DATE_JITTER, DATE_JITTER))
        weekdays = self._weekdays(c)
        if weekdays and d.weekday() not in weekdays:  # a day the column never holds
            step = 1 if d < high else -1
            for _ in range(7):
                d += timedelta(days=step)
                if d.weekday() in weekdays:
                    break
        clocks = self._clocks(c)
        return fmt.format(min(max(d, low), high), vary_time(tail, r, clocks) if clocks else tail)

    def _dating_series(self, c: Column) -> Column | None:
        """The id column numbered in series (`_in_series`) whose numbers rise, inside each
        series, with date column `c`'s dates (a payroll's folios per directorate, given
        in order of joining): in at least `SERIES_DATE_SHARE` of the sample's pairs of
        neighbouring rows of one series."""
        if c.index in self._dating:
            return self._dating[c.index]
        found: Column | None = None
        fmt: DateFormat = c.fmt["date"]
        for s in self._text_ordered():
            if s.kind != "id" or s.sorted or not s.fmt.get("id"):
                continue
            kept = pairs = 0
            for a, b in pairwise(self.rows):
                if id_prefix(a[s.index].strip(), "") != id_prefix(b[s.index].strip(), ""):
                    continue
                da, db = fmt.parse(a[c.index]), fmt.parse(b[c.index])
                if da is None or db is None:
                    continue
                pairs += 1
                kept += da[0] <= db[0]
            if pairs >= SERIES_DATE_PAIRS and kept >= SERIES_DATE_SHARE * pairs:
                found = s
                break
        self._dating[c.index] = found
        return found

    def _date_in_series(
        self,
        c: Column,
        series: Column,
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        """A date of column `c` between those of the neighbours in the canary's series
        (`_dating_series`; the canary's is `prev`'s, else `nxt`'s, as its id's). Drawn
        from the whole column, 17 of 24 canaries of a Jalisco payroll, their folios
        between their neighbours', had a date of joining out of order with theirs (13 of
        17 before the folios were). None where the neighbours' dates are themselves out
        of order (then drawn as in any other row)."""
        fmt: DateFormat = c.fmt["date"]
        own = prev if prev is not None else nxt
        assert own is not None
        prefix = id_prefix(own[series.index].strip(), "")
        low = prev[c.index] if prev is not None else None
        high = (
            nxt[c.index]
            if nxt is not None and id_prefix(nxt[series.index].strip(), "") == prefix
            else None
        )
        a = fmt.parse(low) if low is not None else None
        b = fmt.parse(high) if high is not None else None
        if (low is not None and a is None) or (high is not None and b is None):
            return None
        if a is not None and b is not None and a[0] > b[0]:
            return None
        return date_between(
            fmt, low, high, r, self._clocks(c), (), self._weekdays(c),
            latest=self._date_range(c, fmt)[1],
        )  # fmt: skip

    def _weekdays(self, c: Column) -> frozenset[int] | None:
        """The days of the week date column `c` holds, where it never holds some
        (`weekdays_of`); None for a birth date, or where it holds every day."""
        if c.index not in self._weekday_cache:
            days = [day for day, _tail in self._dated_cells(c)]
            self._weekday_cache[c.index] = None if c.kind == "birth_date" else weekdays_of(days)
        return self._weekday_cache[c.index]

    def _date_gaps(self, c: Column) -> list[int]:
        """Seconds between neighbouring cells of a sorted date column (its rhythm)."""
        gaps = self._gap_cache.get(c.index)
        if gaps is None:
            moments = [
                day.toordinal() * 86400 + (clock_seconds(tail) or 0)
                for day, tail in self._dated_cells(c)
            ]
            gaps = self._gap_cache[c.index] = [b - a for a, b in pairwise(moments) if b >= a]
        return gaps

    def _clocks(self, c: Column) -> Clocks | None:
        """The times of day column `c`'s dates hold (`clocks_of`), None for none."""
        if c.index not in self._clock_cache:
            self._clock_cache[c.index] = clocks_of([tail for _day, tail in self._dated_cells(c)])
        return self._clock_cache[c.index]

    def _dated_cells(self, c: Column) -> list[tuple[date, str]]:
        """Date column `c`'s first `CLOCK_ROWS` cells that read as dates, as (day, what
        follows it), read once for its times, rhythm and days of the week."""
        cells = self._dated_cache.get(c.index)
        if cells is None:
            fmt: DateFormat = c.fmt["date"]
            cells = self._dated_cache[c.index] = [
                got for got in map(fmt.parse, c.values[:CLOCK_ROWS]) if got
            ]
        return cells

    def _date_range(self, c: Column, fmt: DateFormat) -> tuple[date, date]:
        """The earliest and latest date of the column (a jittered date stays inside)."""
        span = self._date_spans.get(c.index)
        if span is None:
            days = [d[0] for d in (fmt.parse(v) for v in c.values) if d]
            span = self._date_spans[c.index] = (min(days), max(days))
        return span

    def _curp(self, c: Column, p: Persona, donor: list[str] | None, r: random.Random) -> str:
        state = ""
        if donor is not None and len(donor[c.index]) >= 13:
            state = donor[c.index][11:13].upper()
        if not state:
            states = [v[11:13].upper() for v in c.values if len(v) >= 13]
            state = r.choice(states) if states else "NE"
        homo = chr(r.randint(33, 126))
        curp = make_curp(p.given, p.paternal, p.maternal, p.birth, p.sex, state, homo)
        # The 17th character tells people of the same first 16 apart: nearly always "0"
        # (born before 2000) or "A" (2000 on), as the column shows. Drawn uniformly,
        # 23 of 24 canaries had a character few real CURPs have.
        held = self._curp_homoclaves(c).get(p.birth.year >= 2000)
        if held:
            body = curp[:16] + r.choices(list(held), weights=list(held.values()))[0]
            curp = body + curp_check_digit(body)
        return curp.lower() if c.casing == "lower" else curp

    def _curp_homoclaves(self, c: Column) -> dict[bool, Counter[str]]:
        """The 17th characters of column `c`'s CURPs: letters (born 2000 on, True) and
        digits (born before, False), with how many values hold each."""
        cached = self._homoclaves.get(c.index)
        if cached is None:
            cached = {True: Counter(), False: Counter()}
            for v in c.values[:HOMOCLAVE_ROWS]:
                v = v.strip().upper()
                if len(v) == 18 and v[16].isalnum():
                    cached[v[16].isalpha()][v[16]] += 1
            self._homoclaves[c.index] = cached
        return cached

    def _dni(self, c: Column, r: random.Random) -> str:
        """A DNI or NIE with a valid check letter, written like the column's."""
        fmt = c.fmt["dni"]
        if r.random() < fmt["nie"]:
            number = r.choice("XYZ") + f"{r.randint(0, 9_999_999):07d}"
        else:
            number = f"{r.randint(10_000_000, 79_999_999):08d}"
        dni = number + str(fmt["sep"]) + dni_letter(number)
        return dni.lower() if c.casing == "lower" else dni

    def _id(
        self,
        c: Column,
        p: Persona,
        donor: list[str] | None,
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        if (prev is not None or nxt is not None) and self._keyed_between(c):
            # sorted as text, nothing of the persona in it: made to fit between them
            return text_between(
                lambda: self._positions(c).draw(r),
                prev[c.index] if prev is not None else None,
                nxt[c.index] if nxt is not None else None,
                r,
                self.sample_ids.get(c.index, set()),
                lambda value: self._claim(c, value, p),
            )
        sorted_ = self.keep_sorted and c.sorted
        between = sorted_ and (prev is not None or nxt is not None)
        fmt = c.fmt.get("id")
        if fmt and not sorted_ and any(col is c for col in self._text_ordered()):
            got = self._in_series(c, fmt, r, prev, nxt)
            if got is not None or prev is not None or nxt is not None:
                return got
        if fmt and not sorted_ and int(fmt.get("width") or 0) >= LONG_ID_DIGITS:
            # an account or card number: no sequence, and parts (a bank's code) drawn
            # whole by `PositionModel`; drawn as a number in the column's range, every
            # canary's IBAN had a bank no row has
            fmt = None

        series = self._series(c) if fmt else None
        if series is not None:
            return self._series_id(c, series, p, r, prev, nxt)

        def claim(value: str) -> bool:
            # In a sorted column a canary's number lies between its neighbours (or
            # continues after the last row): copies may share one, a copy never holds
            # it twice (the next canary in the same gap follows this one). Sequence ids
            # are weak evidence that a canary's email or phone must back anyway.
            if between:
                return True
            return self._claim(c, value, p)

        return new_id(
            fmt,
            c.values,
            self.sample_id_numbers.get(c.index, set()),
            self.sample_ids.get(c.index, set()),
            r,
            claim,
            sorted_=sorted_,
            prev=prev[c.index] if prev is not None else None,
            nxt=nxt[c.index] if nxt is not None else None,
            between=between,
            donor=donor[c.index] if donor is not None and donor[c.index] else None,
            positions=self._positions(c) if not fmt else None,
            gaps=self._gaps(c) if between else None,
            near=self._near(c) if fmt and not sorted_ else None,
        )

    def _series(self, c: Column) -> GroupedSeries | None:
        """Id column `c` as one series per group (`GroupedSeries`: files numbered
        afresh each year), or None; read once."""
        if c.index not in self._series_models:
            numbered = c.kind == "id" and c.fmt.get("id")
            values = [row[c.index] for row in self.rows] if numbered else []
            self._series_models[c.index] = GroupedSeries.of(values) if values else None
        return self._series_models[c.index]

    def _ordered_series(self, c: Column) -> GroupedSeries | None:
        """Column `c`'s series where the rows are sorted by it (group by group, each
        group's numbers rising) and kept so."""
        series = self._series(c) if self.keep_sorted and c.kind == "id" else None
        return series if series is not None and series.ordered else None

    def _series_id(
        self,
        c: Column,
        series: GroupedSeries,
        p: Persona,
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        """A canary's id in a column numbered per group (`GroupedSeries`). Where the
        rows are sorted by it, made between its neighbours (as a sorted column's is: two
        copies may share one, a copy never holds it twice); without neighbours, drawn
        for the place `place_of` sends the canary to, where it sorts, and never written.
        Else drawn by the persona alone, no other canary's."""
        taken = self.sample_ids.get(c.index, set())
        if series.ordered and self.keep_sorted:
            if prev is not None or nxt is not None:
                return series.between(
                    prev[c.index] if prev is not None else None,
                    nxt[c.index] if nxt is not None else None,
                    r,
                    taken,
                )
            return series.draw(r, taken, lambda _value: True)
        return series.draw(r, taken, lambda value: self._claim(c, value, p))

    def _in_series(
        self,
        c: Column,
        fmt: dict[str, Any],
        r: random.Random,
        prev: list[str] | None,
        nxt: list[str] | None,
    ) -> str | None:
        """An id of column `c`, sorted as text and numbered in series by prefix (a
        payroll's folios "DAJ-0219" numbered per directorate, sorted by directorate):
        the series of the neighbour the canary's run follows (`prev`, else `nxt`), a
        number between the neighbours' in it (after `prev` where `nxt` starts another
        series); None where no number is free there (the row goes a row on), or without
        neighbours (drawn as any id). Drawn with the column's prefixes at their
        frequencies, 10 of 17 canaries' folios named another directorate than their
        run's, and the rest fitted their neighbours' order by chance: 2 of 24 canaries
        found no place at all."""
        default = str(fmt.get("prefix", ""))
        low = prev[c.index].strip() if prev is not None else ""
        high = nxt[c.index].strip() if nxt is not None else ""
        if not low and not high:
            return None
        prefix = id_prefix(low or high, default)
        if low and high and id_prefix(high, default) != prefix:
            high = ""  # the next series starts there: this one goes on after `prev`
        return new_id(
            fmt,
            c.values,
            self._series_numbers(c, prefix),
            self.sample_ids.get(c.index, set()),
            r,
            lambda _value: True,  # copies may share a place in a series, as in a sorted id
            sorted_=True,
            prev=low or None,
            nxt=high or None,
            between=True,
            gaps=self._gaps(c),
        )

    def _series_numbers(self, c: Column, prefix: str) -> set[int]:
        """The numbers the sample's ids of column `c` with `prefix` hold."""
        key = (c.index, prefix)
        held = self._series_held.get(key)
        if held is None:
            numbers = (id_number(v) for v in c.values if id_prefix(v.strip(), "") == prefix)
            held = self._series_held[key] = {n for n in numbers if n is not None}
        return held

    def _near(self, c: Column) -> NearNumbers:
        """The numbers of id column `c`'s sampled values a new one is drawn near, read
        once."""
        near = self._near_numbers.get(c.index)
        if near is None:
            held = sorted(self.sample_id_numbers.get(c.index, set()))
            near = self._near_numbers[c.index] = NearNumbers.of(held)
        return near

    def _gaps(self, c: Column) -> GapModel:
        model = self._gap_models.get(c.index)
        if model is None:
            nums = [id_number(row[c.index]) for row in self.rows if row[c.index].strip()]
            model = self._gap_models[c.index] = GapModel([n for n in nums if n is not None])
        return model

    def _positions(self, c: Column) -> PositionModel:
        """Column `c`'s characters by position; for an id, with the place columns its
        rows hold, so that only the positions the place decides follow the donor's."""
        model = self._position_models.get(c.index)
        if model is None:
            places = self._kind("place") if c.kind != "place" else []
            if places and self.rows:
                held = [row for row in self.rows if row[c.index].strip()]
                model = PositionModel(
                    [row[c.index] for row in held],
                    [tuple(row[p.index] for p in places) for row in held],
                )
            else:
                model = PositionModel(c.values)
            self._position_models[c.index] = model
        return model

    def _claimer(self, c: Column, p: Persona) -> Callable[[str], bool]:
        """`_claim` of column `c` for persona `p`, as a function of the value."""
        return lambda value: self._claim(c, value, p)

    def _claim(self, c: Column, value: str, p: Persona) -> bool:
        """Reserve an id value for this persona; False if another persona holds it."""
        owner = self._id_owner.setdefault((c.index, value), p.seed)
        return owner == p.seed

    def _number(
        self,
        c: Column,
        r: random.Random,
        cells: Sequence[str] = (),
        bounds: tuple[float, float] | None = None,
    ) -> str:
        """A real value of the column (of `cells`, where given, and within `bounds`),
        else one near it, written as it is: a cell drawn at random, kept where other
        cells hold its value too, and where it is the only one, a value no row holds
        near it (values seen once stand for the new ones, as Good-Turing has it).
        Deciding apart whether to make a new value and varying any cell, a customer
        list's "$0.00" (one row in ten) gave one canary in ten a "$1.00" no row holds."""
        base = r.choice(cells or self._cells(c))
        counts = self._value_counts(c)
        if not base or counts.get(base.strip(), 0) != 1:
            return base
        # A value no row holds: a varied "38" that lands on another row's "41" would
        # make canaries' values repeat twice as often as real rows' do.
        fmt = c.fmt.get("number") or {}
        if bounds is not None:
            fmt = {**fmt, "min": bounds[0], "max": bounds[1]}
        for attempt in range(NOVEL_TRIES):
            # wider each time: a small whole amount ("5") has few neighbours within 15%
            # and all may be held, which made canaries' amounts repeat real ones half as
            # often again as real ones do
            spread = min(0.15 * (1 + attempt), 0.6)
            value = self._as_round(c, vary_number(base, fmt, r, spread), base, fmt, r)
            if value.strip() not in counts:
                return value
        # the nearest whole amount no row holds, within the column's range
        x = parse_number(base)
        if x is None or x != int(x):
            return value
        low, high = fmt.get("min", x), fmt.get("max", x)
        for step in range(1, NEAREST_FREE + 1):
            for y in (x + step, x - step):
                free = write_number(y, base, fmt)
                if low <= y <= high and free.strip() not in counts:
                    return free
        return value

    def _as_round(
        self, c: Column, value: str, base: str, fmt: dict[str, Any], r: random.Random
    ) -> str:
        """`value` (a new amount near `base`) as round as the column's values of its
        size are: rounded to a unit (`number_unit`) drawn among those of the
        `ROUND_NEIGHBOURS` real values nearest it, exactly that unit. Rounded as `base`
        alone said (its zeros), a debt list's amounts in multiples of 25,000 above four
        millions got canaries "$ 7.574.000"."""
        x, decimals = parse_number(value), written_decimals(base)
        if x is None or decimals is None or x == 0:
            return value
        scale = 10**decimals
        held = self._units_of(c, decimals)
        if len(held) < ROUND_NEIGHBOURS:
            return value
        n = round(abs(x) * scale)
        at = bisect.bisect_left(held, (n, 0))
        near = held[max(0, at - ROUND_NEIGHBOURS // 2) : at + ROUND_NEIGHBOURS // 2 + 1]
        unit = r.choice(near)[1]
        q = max(unit, round(n / unit) * unit)
        for k in range(ROUND_NEIGHBOURS):  # the nearest multiple of exactly that unit
            for cand in (q + k * unit, q - k * unit):
                if cand > 0 and number_unit(cand) == unit:
                    y = math.copysign(cand / scale, x)
                    lo, hi = fmt.get("min"), fmt.get("max")
                    if (lo is None or y >= float(lo)) and (hi is None or y <= float(hi)):
                        return write_number(y, base, fmt)
        return value

    def _units_of(self, c: Column, decimals: int) -> list[tuple[int, int]]:
        """(value, its unit) of the column's positive values written with `decimals`
        decimals, as whole numbers of the last decimal, sorted."""
        key = (c.index, decimals)
        held = self._units.get(key)
        if held is None:
            scale = 10**decimals
            found: list[tuple[int, int]] = []
            for v in c.values[:20000]:
                x = parse_number(v)
                if x and written_decimals(v) == decimals:
                    n = round(abs(x) * scale)
                    if n > 0:
                        found.append((n, number_unit(n)))
            held = self._units[key] = sorted(found)
        return held

    def _grouped_columns(self) -> tuple[int, ...]:
        """Place, category, number and code columns whose values come in runs (the
        table is sorted or grouped by them: a school roll's group "901", a payroll's
        work-centre key "05DES0097Q"): few more runs than distinct values, each value held
        by several rows. A shuffled table has about as many runs as rows, so none
        qualifies. (A payroll grouped by work-centre keys, read as free text, gave 24 of
        24 canaries a key neither neighbour had.)"""
        if self._grouped is not None:
            return self._grouped
        out: list[int] = []
        n = len(self.rows)
        for c in self.cols:
            if c.kind not in ("place", "category", "number", "text"):
                continue
            values = [row[c.index] for row in self.rows if c.index < len(row)]
            filled = [v for v in values if v.strip()]
            distinct = len(set(filled))
            if distinct < 2 or len(filled) < n * 0.9 or len(filled) < GROUP_MIN_ROWS * distinct:
                continue
            runs = 1 + sum(1 for a, b in pairwise(filled) if a != b)
            if runs <= max(distinct * 1.2, distinct + 2):
                out.append(c.index)
        self._grouped = tuple(out)
        return self._grouped

    def _group_model(self) -> GroupModel | None:
        """The table's small groups under a key (`find_groups`: a household survey's
        households), where a canary forms a group of its own; None in a table of runs
        (`_grouped_columns`), where it joins its neighbours', or of single rows. Only
        where the groups show a structure of members (a member number, a head's role):
        small runs of a code sharing a column alone may be departments, no place for a
        new one."""
        if self._group_models is None:
            grouped = set(self._grouped_columns())
            candidates = [
                c.index for c in self.cols if c.kind in GROUP_KEY_KINDS and c.index not in grouped
            ]
            model = find_groups(self.rows, candidates, len(self.cols)) if candidates else None
            if model is not None and model.member is None and not model.roles:
                model = None
            self._group_models = (model,)
        return self._group_models[0]

    def _modeled_rows(self, births: bool = False) -> list[list[str]]:
        """The rows a canary's row is modeled on: in a table of groups (`_group_model`),
        those of the groups of one (else the groups' heads), as a canary forms a group
        of its own; else every row. For `births`, the heads' where the groups of one are
        too few to draw births (and sexes) from (`MIN_BIRTHS`): a head's age, not a
        child's (drawn from every row, canaries were heads aged 3 or 16)."""
        model = self._group_model()
        if model is None:
            return self.rows
        rows = model.model_rows
        if births and len(rows) < MIN_BIRTHS:
            rows = model.heads
        return [self.rows[i] for i in rows]

    def _as_head(self, row: list[str], p: Persona) -> None:
        """In a table of groups (`_group_model`), the row of a group of one: member
        number 1 and the head's role, and the columns a member holds apart from the
        group's (a civil status, schooling, an occupation; not a state the group's
        place decides, which stays the donor's) as the modeled row born
        nearest the canary holds them (`_modeled_rows`: a head living alone). Drawn
        from every row, canaries were 13 of 24 a child or spouse by role or age in a
        household not theirs."""
        model = self._group_model()
        if model is None:
            return
        if model.member is not None:
            row[model.member] = model.first
        for c, value in model.roles.items():
            row[c] = value
        births = self._row_births()
        r = random.Random(f"{p.seed}:head")
        pool = model.model_rows
        if self._heads_born is None:  # once, not per canary
            self._heads_born = [i for i in pool if i < len(births) and births[i] is not None]
        known = self._heads_born
        if known:
            target = p.birth.toordinal()
            # the nearest (ties at random): a sort of every row per canary before
            nearest = min(known, key=lambda i: (abs(cast(int, births[i]) - target), r.random()))
        model_row = self.rows[nearest] if known else self.rows[r.choice(pool)]
        fixed = {model.key, *model.steady, *model.roles}
        if model.member is not None:
            fixed.add(model.member)
        for col in self.cols:
            if col.index not in fixed and col.kind in HEAD_KINDS:
                row[col.index] = model_row[col.index]

    def _new_group_key(
        self, row: list[str], p: Persona, prev: list[str] | None, nxt: list[str] | None
    ) -> bool:
        """In a table of groups (`_group_model`), give the row a key no group holds
        (`group_key`: in sorted keys, in a gap between two groups); False where it
        cannot sit between `prev` and `nxt` (inside a group, or no gap between them:
        the row goes a row on). Copied from a row, 24 of 24 canaries of a household
        survey held a real household's key with an address and landline none of its
        members had, inside another household's block."""
        model = self._group_model()
        if model is None:
            return True
        col = self.cols[model.key]
        if self._key_gaps is None:
            nums = [id_number(k) for k in model.keys]
            self._key_gaps = GapModel([n for n in nums if n is not None])
        key = group_key(
            model,
            random.Random(f"{p.seed}:group"),
            prev,
            nxt,
            lambda value: self._claim(col, value, p),
            self._key_gaps,
        )
        if key is None:
            return False
        row[model.key] = key
        self._own_address(row, p, model)
        return True

    def _own_address(self, row: list[str], p: Persona, model: GroupModel) -> None:
        """A new group's columns other than phones (its street, house number and
        neighbourhood) are no real group's: where they are, the house number is drawn
        again. Drawn from the neighbourhood's streets and the column's numbers, 1 of 24
        canaries of a household survey sat at a real household's address, which no two
        real households share."""
        cols = [c for c in model.steady if self.cols[c].kind not in ("phone", "email")]
        numbers = [c for c in cols if self.cols[c].kind == "number"]
        if not cols or not numbers:
            return
        if self._group_places is None:
            self._group_places = {tuple(self.rows[i][c] for c in cols) for i in model.heads}
        for attempt in range(NOVEL_TRIES):
            if tuple(row[c] for c in cols) not in self._group_places:
                return
            r = random.Random(f"{p.seed}:address:{attempt}")
            for c in numbers:
                row[c] = self._number(self.cols[c], r)

    def _follows_run(self, c: Column) -> bool:
        """Whether column `c` takes the run's row (`_with_run`), or is a place in a
        table grouped by a place: a census sorted by district kept its canaries'
        district from the run and their postcode and section from another row (22 of
        24 with a postcode no row of the district had)."""
        if self._with_run(c):
            return True
        grouped = self._grouped_columns()
        return c.kind == "place" and any(self.cols[g].kind == "place" for g in grouped)

    def _with_run(self, c: Column) -> bool:
        """Whether column `c` goes with the runs (`_grouped_columns`): one of them, or
        one whose values repeat inside a run clearly more than they would with the
        rows' values shuffled (a colonia in its municipality's run). A neighbourhood
        a school's groups share at random is drawn from any row: copied from a pupil of
        the canary's group, its (group, neighbourhood) pair was always held twice,
        where most real pupils' pairs are their own (AUC 0.76 on that alone)."""
        grouped = self._grouped_columns()
        if c.index in grouped:
            return True
        if not grouped:
            return False
        if self._nests_in_runs(c):
            return True
        tied = self._run_ties.get(c.index)
        if tied is None:
            keys = [tuple(row[g] for g in grouped) for row in self.rows]
            values = [row[c.index].strip() for row in self.rows]
            shuffled = values[:]
            random.Random(0).shuffle(shuffled)
            seen, chance = _repeats_in_runs(keys, values), _repeats_in_runs(keys, shuffled)
            tied = self._run_ties[c.index] = seen >= max(1.3 * chance, chance + RUN_TIE_MARGIN)
        return tied

    def _nests_in_runs(self, c: Column) -> bool:
        """Whether column `c` is a child in the hierarchy the runs are sorted by: each of
        its values (nearly every row's) held under a single group of the grouped columns
        (an area of a payroll sorted by ministry and directorate is of one directorate).
        Drawn from the donor's place, 14 of 17 canaries of a Jalisco payroll had an area
        of another directorate than the one of their run."""
        nested = self._nested.get(c.index)
        if nested is not None:
            return nested
        grouped = self._grouped_columns()
        nested = False
        if grouped and c.index not in grouped and c.kind in NESTED_KINDS:
            groups: dict[str, set[tuple[str, ...]]] = {}
            counts: Counter[str] = Counter()
            for row in self.rows:
                v = row[c.index].strip() if c.index < len(row) else ""
                if v and len(row) >= len(self.cols):
                    groups.setdefault(v, set()).add(tuple(row[g] for g in grouped))
                    counts[v] += 1
            filled = sum(counts.values())
            if len(counts) >= 2 and filled >= GROUP_MIN_ROWS * len(counts):
                alone = sum(n for v, n in counts.items() if len(groups[v]) == 1)
                nested = alone >= NEST_SHARE * filled
        self._nested[c.index] = nested
        return nested

    def _unseen(self, row: list[str]) -> bool:
        """Whether a real row holds a place or category the sample never showed (a large
        file sorted by state, sampled from its first rows, shows only the first states)."""
        for c in self._repeating().values():
            if row[c.index].strip() and row[c.index] not in self._seen_values(c):
                return True
        return False

    def _repeating(self) -> dict[int, Column]:
        """Place and category columns whose values repeat (states, municipalities, parties),
        unlike addresses: only there does a value the sample never showed mean the sample
        missed part of the table."""
        if self._repeating_cols is None:
            self._repeating_cols = {}
            for c in self.cols:
                if c.kind not in ("place", "category"):
                    continue
                filled = [row[c.index] for row in self.rows if c.index < len(row)]
                filled = [v for v in filled if v.strip()]
                if len(filled) >= 10 and len(set(filled)) <= REPEATING_SHARE * len(filled):
                    self._repeating_cols[c.index] = c
        return self._repeating_cols

    def _seen_values(self, c: Column) -> set[str]:
        seen = self._seen.get(c.index)
        if seen is None:
            seen = self._seen[c.index] = {row[c.index] for row in self.rows if c.index < len(row)}
        return seen

    def _group_rows(self) -> dict[tuple[str, ...], list[list[str]]]:
        """The sampled rows by their values in the grouped columns."""
        if self._groups is None:
            grouped = self._grouped_columns()
            self._groups = {}
            for row in self.rows:
                if len(row) >= len(self.cols):
                    self._groups.setdefault(tuple(row[i] for i in grouped), []).append(row)
        return self._groups

    def _nsn_of_column(self, column: int | None) -> list[str]:
        """The national numbers of the donor rows' phones in `column` (the contact
        phone column's by default), in the donor rows' order."""
        if column is None or self._phone_col is None or column == self._phone_col.index:
            return self._row_nsn
        nsn = self._column_nsn.get(column)
        if nsn is None:
            nsn = self._column_nsn[column] = [
                national_number(r[column], self.region) for r in self._nsn_rows
            ]
        return nsn

    def _nsn_of_row(self, column: int | None = None) -> dict[int, str]:
        """The national number of each donor row's phone (in `column`, the contact
        phone column's by default), by the row's identity."""
        of_row = self._area_of_row.get(column)
        if of_row is None:
            of_row = self._area_of_row[column] = {
                id(row): nsn
                for row, nsn in zip(self._nsn_rows, self._nsn_of_column(column), strict=True)
                if nsn
            }
        return of_row

    def _area_phone(
        self, phone: str | None, more: Mapping[int, str]
    ) -> tuple[int | None, str | None]:
        """(column, number) the canary's place follows: its own number, or where that
        has no area code (a Chilean or Costa Rican mobile) its number in another phone
        column (a landline's), with that column (None for the contact one)."""
        if phone and area_code_length(phone):
            return None, phone
        for column, number in sorted(more.items()):
            if number:
                return column, number
        return None, phone

    @staticmethod
    def _area_length(phone: str, column: int | None) -> int:
        """Leading digits of `phone` a donor row's number must share: its area code; in
        another phone column, its block where the plan gives no area code (Chile's
        landlines: "2" Santiago, "32" Valparaíso; a mobile's block says nothing of
        place, but the landline column's numbers are all of one place each)."""
        k = area_code_length(phone)
        return k or (len(number_block(phone)) if column is not None else 0)

    def _place_donor(
        self,
        r: random.Random,
        area: tuple[int | None, str | None],
        neighbour: list[str] | None = None,
    ) -> list[str] | None:
        """A real row to copy place and category columns from, so that they keep their
        joint frequencies (a district with its own parties); one whose phone shares the
        canary's area code when there is one, so the place and the number agree.

        In a table grouped by some columns (a registry sorted by state, then
        municipality), the donor shares the `neighbour` row's values there (the real row
        the canary goes after, or before): a canary of another state inside a state's
        run of rows would stand out to anyone reading down the column. When the sample
        holds no such row (a large file's first part), the neighbour itself is the donor.
        """
        if not self.rows:
            return None
        column, phone = area
        row_nsn = self._nsn_of_column(column)
        if neighbour is not None and len(neighbour) >= len(self.cols) and self._unseen(neighbour):
            return list(neighbour)
        grouped = self._grouped_columns()
        if grouped and neighbour is not None and len(neighbour) >= len(self.cols):
            key = tuple(neighbour[i] for i in grouped)
            same = self._group_rows().get(key)
            if not same:
                return list(neighbour)
            if phone and row_nsn and any(row_nsn):
                nsn = national_number(phone, self.region)
                k = self._area_length(phone, column)
                if k and nsn:
                    of_row = self._nsn_of_row(column)
                    near = [row for row in same if of_row.get(id(row), "")[:k] == nsn[:k]]
                    if len(near) >= MIN_DONORS:
                        return r.choice(near)
            return r.choice(same)
        if not self._kind("place"):
            has_categories = any(self._kind(k) for k in ("category", "boolean", "constant"))
            return r.choice(self.rows) if has_categories else None
        if phone and row_nsn and any(row_nsn):
            matches = self._donors.get((column, phone))
            if matches is None:
                nsn = national_number(phone, self.region)
                k = self._area_length(phone, column)
                matches = []
                if k and nsn:
                    matches = [
                        row
                        for row, x in zip(self._nsn_rows, row_nsn, strict=True)
                        if x and x[:k] == nsn[:k]
                    ]
                # Too few rows with that area code would repeat one place in every canary.
                if len(matches) < MIN_DONORS:
                    matches = []
                self._donors[(column, phone)] = matches
            if matches:
                return r.choice(matches)
        return r.choice(self.rows)

    def _contact_phone_column(self, phones: list[Column]) -> Column | None:
        """The phone column canaries' own numbers go in: of several, the one whose
        header or numbers say mobile ("Celular" beside "Teléfono fijo"), where the
        numbers we control are; the first where nothing tells them apart."""
        if len(phones) < 2:
            return phones[0] if phones else None

        def score(c: Column) -> float:
            header = phone_line_of_header(c.name)
            mix = self._lines(c.index)
            told = mix[MOBILE] + mix[FIXED]
            values = (mix[MOBILE] - mix[FIXED]) / told if told else 0.0
            return (header == MOBILE) - (header == FIXED) + values

        return max(phones, key=lambda c: (score(c), -c.index))

    def phone_line(self, column: int | None = None) -> str:
        """`MOBILE` or `FIXED` where a phone column's header (else most of its numbers,
        as the plan tells them) says which line it holds (the contact column's by
        default), else ""."""
        if column is not None:
            col = column
        elif self._phone_col is not None:
            col = self._phone_col.index
        else:
            return ""
        header = phone_line_of_header(self.cols[col].name)
        if header:
            return header
        mix = self._lines(col)
        told = mix[MOBILE] + mix[FIXED]
        if told and max(mix[MOBILE], mix[FIXED]) >= LINE_MAJORITY * told:
            return MOBILE if mix[MOBILE] > mix[FIXED] else FIXED
        return ""

    @property
    def extra_phone_columns(self) -> list[int]:
        """The table's phone columns besides the contact one (a "Teléfono fijo" beside
        "Celular"): a canary's other numbers go there (`make_row`'s `more_phones`)."""
        main = self._phone_col.index if self._phone_col is not None else None
        return [c.index for c in self._kind("phone") if c.index != main]

    def same_area(self, own: str | None, other: str) -> bool:
        """Whether `other` (a landline for another phone column) can stand in one row
        with the canary's own number: the same area code where both have one, as a
        household's landline and mobiles share their city's (a Puebla landline beside
        a Mexico City mobile and address: 5 of 24 canaries of a household survey)."""
        if not own:
            return True
        a, b = area_code_length(own), area_code_length(other)
        if not a or not b:
            return True
        mine = national_number(own, self.region)
        theirs = national_number(other, self.region)
        return a == b and bool(mine) and mine[:a] == theirs[:b]

    def phone_fits(self, e164: str, column: int | None = None) -> bool:
        """Whether a number could stand among `column`'s (the contact phone column's by
        default): its line, where the country's plan or the header tells (a mobile in a
        column of landlines), is one the column holds, and its block (area code or
        operator block) is one the column's rows are in or near (`phone_weights`)."""
        col = column if column is not None else (self._phone_col.index if self._phone_col else 0)
        known = self._fits.get((e164, col))
        if known is not None:
            return known
        self._fits[(e164, col)] = fits = self._phone_fits(e164, col)
        return fits

    def _phone_fits(self, e164: str, col: int) -> bool:
        line = line_type(e164)
        if line in (MOBILE, FIXED):
            mix = self._lines(col)
            told = mix[MOBILE] + mix[FIXED]
            if told and mix[line] < LINE_MIN_SHARE * told:
                return False
            header = phone_line_of_header(self.cols[col].name)
            if not told and header and header != line:
                return False
        weights = self.phone_weights([e164], col)
        return not weights or weights[e164] > 0

    def _lines(self, column: int) -> Counter[str]:
        """How many of a phone column's numbers (a sample of them) are mobiles, fixed
        lines, or either (`line_type`)."""
        mix = self._line_mix.get(column)
        if mix is None:
            values = [r[column] for r in self.rows if r[column].strip()]
            step = max(1, len(values) // LINE_SAMPLE)
            mix = self._line_mix[column] = Counter(
                line_type(v, self.region) for v in values[::step][:LINE_SAMPLE]
            )
        return mix

    def phone_weights(self, numbers: Sequence[str], column: int | None = None) -> dict[str, float]:
        """How often each pool number should be used so that canaries' numbers start as
        often as the table's do: the share of rows in the number's block (its area code,
        or where the country has none its operator block: `number_block`), split among
        the pool's numbers there.

        Rows in an area code no pool number has count for none (a canary's place follows
        its area code, and those places stay a tell `canary issue` warns of). Rows in an
        operator block the pool lacks count for the pool's blocks that share the most
        leading digits with theirs, as those blocks' own rows are shared (a table's 316
        for the pool's 310 and 315, in their ratio), so that canaries' first digits
        follow the table's even when the pool misses a block:
        with Colombian numbers in fifteen 3xx blocks and a pool in 300, 310 and 315,
        canaries' numbers were in those three at a third each, whatever the table held.

        `column` is one of the table's other phone columns (the contact one by default)."""
        codes = {n: number_block(n) for n in numbers}
        rows = self._row_blocks(column)
        if not rows or not any(codes.values()):
            return {}
        held = {c for c in codes.values() if c}
        own = Counter(b for b, _geo in rows if b in held)
        # A canary's block as one more row's: where blocks hold few rows each (Spanish
        # mobiles' hundred 6xx in a small table), a block taken as often as rows hold it
        # is, once the canary is in, one row more common than a real row's own.
        next_row = one_more_row(Counter(b for b, _geo in rows))
        mass: dict[str, float] = {b: next_row[b] for b in own}
        for block, geographic in rows:
            if block in held or geographic:
                continue
            # shared as the nearest blocks' own rows are (their ratio stays the table's)
            near = _nearest_blocks(block, held)
            weight = sum(own[b] for b in near)
            for b in near:
                share = own[b] / weight if weight else 1.0 / len(near)
                mass[b] = mass.get(b, 0.0) + share
        per_code = Counter(codes.values())
        return {
            n: (mass.get(c, 0.0) / len(rows) / per_code[c] if c else 0.0) for n, c in codes.items()
        }

    def uncovered_blocks(self, numbers: Sequence[str]) -> list[tuple[str, float]]:
        """The table's number blocks (area codes, or operator blocks where the country has
        none) no pool number is in, each with its share of the table's phone rows, the
        largest first: canaries' numbers never start as those rows' do."""
        held = {c for c in (number_block(n) for n in numbers) if c}
        rows = self._row_blocks()
        if not held or not rows:
            return []
        # Numbers no operator could give (a typo, a block the plan leaves free) ask for
        # no canary number: none exists there.
        missing = Counter(b for b, _geo in rows if b not in held and b in self._valid_blocks())
        return [(b, k / len(rows)) for b, k in missing.most_common()]

    def _valid_blocks(self) -> set[str]:
        """The blocks of the sampled rows' numbers that hold a valid number."""
        if self._valid is None:
            cc = f"+{self.country_code}"
            self._valid = {
                number_block(cc + x) for x in self._row_nsn if x and valid_phone(cc + x, "")
            }
        return self._valid

    def _row_blocks(self, column: int | None = None) -> list[tuple[str, bool]]:
        """The sampled rows' number blocks (in the contact phone column, or `column`),
        each with whether it is an area code."""
        key = -1 if column is None else column
        blocks = self._blocks.get(key)
        if blocks is None:
            cc = f"+{self.country_code}"
            pairs = [
                (number_block(cc + x), area_code_length(cc + x) > 0)
                for x in self._nsn_of_column(column)
                if x
            ]
            blocks = self._blocks[key] = [(b, geo) for b, geo in pairs if b]
        return blocks

    def _format_phone(self, c: Column, phone: str, r: random.Random) -> str:
        """The E.164 number written in one of the column's own masks: one the column
        writes numbers of the same block length in where it has one (a Santiago number,
        area code 2, as "+56 2 2### ####"; one of Valparaíso's 32 as "+56 ## ### ####").
        """
        masks: Counter[str] = c.fmt.get("masks") or Counter()
        lengths = self._mask_blocks(c.index)
        n = len(number_block(phone))
        return write_phone(
            phone,
            masks,
            self.profile["phone_masks"],
            self.country_code,
            r,
            prefer=(lambda m: n in lengths.get(m, ())) if len(lengths) > 1 else None,
        )

    def _mask_blocks(self, column: int) -> dict[str, set[int]]:
        """Per mask of a phone column, the lengths of the blocks (area codes, operator
        blocks) of the sampled numbers written in it."""
        out = self._mask_block_cache.get(column)
        if out is None:
            out = self._mask_block_cache[column] = {}
            values = [row[column] for row in self.rows if row[column].strip()]
            cc = f"+{self.country_code}"
            for v in values[:: max(1, len(values) // LINE_SAMPLE)][:LINE_SAMPLE]:
                nsn = national_number(v, self.region)
                block = number_block(cc + nsn) if nsn else ""
                if block:
                    out.setdefault(phone_mask(v, self.region), set()).add(len(block))
        return out

    def accepts_phone(self, e164: str) -> bool:
        """True when a canary number belongs where this table's numbers do (same country):
        a Mexican registry with a Costa Rican mobile would stand out, so planting should
        prefer pool numbers this accepts."""
        try:
            return phonenumbers.parse(e164, None).country_code == self.country_code
        except phonenumbers.NumberParseException:
            return False

    # --- what gets registered -------------------------------------------------------

    def _placed_id(self, c: Column) -> bool:
        """A sorted id column's value, decided where the canary is placed (a free number
        between its neighbours): the provisional row's number (after the last id) is never
        written, and checking it against the source failed whole issues at random (a
        members list numbered to 1812 with dates in 2010-2023: a provisional 2021 is in
        the source as a year)."""
        return (
            c.kind == "id"
            and self.keep_sorted
            and (c.sorted or self._ordered_series(c) is not None)
        )

    def identifiers(self, persona: Persona, row: list[str]) -> list[tuple[str, str, str]]:
        """(kind, normalised value, as written) for everything that identifies the canary."""
        out: list[tuple[str, str, str]] = []
        for c in self.cols:
            v = row[c.index] if c.index < len(row) else ""
            if not v:
                continue
            if c.kind == "email":
                out.append(("email", normalize_email(v), v))
            elif c.kind == "phone":
                e164 = normalize_phone(v, self.region, strict=False)
                if e164:
                    out.append(("phone", e164, v))
            elif c.kind in ("id", "curp", "rfc", "dni"):
                out.append(("id", v.strip(), v))
        name_cols = [c for c in self.cols if c.kind in NAME_KINDS]
        if name_cols:
            written = " ".join(row[c.index] for c in name_cols if row[c.index])
            parts = [persona.given, persona.paternal]
            if persona.maternal and fold(persona.maternal) in fold(written):
                parts.append(persona.maternal)
            out.append(("name", " ".join(fold(" ".join(parts)).split()), written))
        return out

    def needles(self, persona: Persona, row: list[str]) -> list[str]:
        """Values that must not already occur in the source: emails, phones, ids as written,
        and each canary phone also in every other mask its column uses (a real row with the
        same number written differently is a collision too)."""
        out = [
            row[c.index]
            for c in self.cols
            if c.kind in ("email", "phone", "id", "curp", "rfc", "dni")
            and row[c.index]
            and not self._placed_id(c)
        ]
        for c in self._kind("phone"):
            e164 = normalize_phone(row[c.index], self.region, strict=False) if row[c.index] else ""
            if not e164:
                continue
            fixed = random.Random(0)  # one mask at a time: no choice is made
            for mask, _n in (c.fmt.get("masks") or Counter()).most_common(10):
                written = write_phone(e164, Counter({mask: 1}), {}, self.country_code, fixed)
                if written not in out:
                    out.append(written)
        return out


#: The share of a number column's spread the rows' years of birth explain (squared
#: correlation), at least, for the column to move with them (`_follows_years`).
YEARS_SHARE = 0.5


def _follows_years(pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether values written as numbers move with the years of birth they are paired
    with: the squared correlation at least `YEARS_SHARE` (an alumni list sorted by year
    of graduation: placed at random in it, 19 of 24 canaries had graduated at an age no
    alumnus had, 3 or 45)."""
    xs, ys = [], []
    for year, value in pairs:
        n = parse_number(value)
        if n is not None:
            xs.append(float(year))
            ys.append(n)
    if len(xs) < MIN_DEPENDENCE_ROWS or len(xs) < 0.9 * len(pairs):
        return False
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxx > 0 and syy > 0 and sxy * sxy / (sxx * syy) >= YEARS_SHARE


def _surnames_given(value: str, comma: bool) -> tuple[list[str], str]:
    """A whole name written surnames first: its surnames' words and its given names,
    split at the comma ("MORENO LUNA, MARIA PAZ") or, without one, after two surnames
    where it holds three words or more ("ZAMBRANO VERA CARLOS LUIS")."""
    if comma:
        surnames, _, given = value.partition(",")
        return surnames.split(), given.strip()
    words = value.split()
    k = 2 if len(words) >= 3 else 1
    return words[:k], " ".join(words[k:])


def _nearest_key(key: str, keys: Iterable[str]) -> str:
    """Of `keys` written as whole numbers (ages, years), the nearest to `key` ("" when
    it or none of them is one; the lower of two as near)."""
    try:
        x = int(float(key))
    except ValueError:
        return ""
    numeric = []
    for k in keys:
        try:
            numeric.append((abs(int(float(k)) - x), int(float(k)), k))
        except ValueError:
            continue
    return min(numeric)[2] if numeric else ""


def _birthday_in(born: date, year: int) -> date:
    """Someone born on `born`'s birthday in `year` (1 March for 29 February)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def _repeats_in_runs(keys: Sequence[tuple[str, ...]], values: Sequence[str]) -> float:
    """Share of the rows with a value whose (run, value) another row of theirs holds."""
    pairs = Counter((k, v) for k, v in zip(keys, values, strict=True) if v)
    held = sum(n for n in pairs.values())
    return sum(n for n in pairs.values() if n > 1) / held if held else 0.0


#: The first part of a code in two parts ("LS25 " of "LS25 6YD", "4350-" of "4350-325").
TWO_PART_CODE_RE = re.compile(r"[A-Za-z0-9]+[ -](?=[A-Za-z0-9]+$)")
#: The share of a place column's values in `ALNUM_CODE_RE` that makes it a column of codes.
CODE_SHARE = 0.9
#: A postal code of capitals and digits, in one or two parts, a digit in it.
ALNUM_CODE_RE = re.compile(r"^(?=[^ -]*\d|.*[ -][^ -]*\d)[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{2,4})?$")


def _is_code(value: str) -> bool:
    """Whether a place value is a code (a postal code: no letters), not a name."""
    return not re.search(r"[^\W\d_]", value)


def _run_phrases(value: str, i: int) -> list[str]:
    """The `i`-th number of `value` with the word right before it and with the word
    right after it ("MAYO 25", "25 DE" in "AV 25 DE MAYO 1234"), folded; none where no
    word touches it."""
    pieces = re.split(r"(\d+)", value)
    before, number, after = "".join(pieces[: 2 * i + 1]), pieces[2 * i + 1], pieces[2 * i + 2]
    out = []
    if m := re.search(r"([^\W\d_]+)\.?\s*$", before):
        out.append(f"{fold(m.group(1))} {number}")
    if m := re.match(r"\s*([^\W\d_]+)", after):
        out.append(f"{number} {fold(m.group(1))}")
    return out


def _run_shape(value: str) -> str:
    """The words right after each number of a value, folded ("piso|" for "BELGRANO 455
    PISO 3", "de|" for "25 DE MAYO 1234")."""
    pieces = re.split(r"\d+", value)[1:]
    return "|".join(
        fold(m.group(1)) if (m := re.match(r"\s*([^\W\d_]+)", p)) else "" for p in pieces
    )


def _any_number(phrase: str) -> str:
    """A `_run_phrases` phrase with its number as a wildcard ("de" after any number)."""
    return re.sub(r"\d+", "#", phrase)


def _near(digits: str, r: random.Random, top: int) -> str:
    """A number within 15% of a real one and at most `top` (the column's largest there),
    zero padding kept ("0417" stays four digits)."""
    n = int(digits)
    low = max(int(n * 0.85), 0 if digits[0] == "0" else 1)
    value = str(r.randint(min(low, n), max(min(int(n * 1.15), top), min(low, n))))
    return value.zfill(len(digits)) if digits[0] == "0" else value


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _split_full(text: str, order: str | None, spanish: bool) -> tuple[str, str, str]:
    """(given, paternal, maternal) of a whole name as its column orders it: in Spanish
    the last two surnames (first two, surname first) are the surnames. A particle
    ("de la Cruz", "del Río") belongs to the word after it: "Ana de la Cruz Pérez" has
    the surnames "de la Cruz" and "Pérez", not "Cruz" and "Pérez" with a given name
    "Ana de la"."""
    if order == "last_comma_first" and "," in text:
        before, _, given = text.partition(",")
        surnames = name_units(before.split())
        return given.strip(), surnames[0] if surnames else "", " ".join(surnames[1:2])
    words = name_units(text.replace(",", " ").split())
    if len(words) < 2:
        return "", "", ""
    k = 2 if spanish and len(words) >= 3 else 1
    if order == "last_first":
        surnames, given_words = words[:k], words[k:]
    else:
        given_words, surnames = words[:-k], words[-k:]
    return " ".join(given_words), surnames[0], surnames[1] if len(surnames) > 1 else ""


def _other_name(value: str, last_first: bool, spanish: bool) -> tuple[str, list[str]]:
    """(given names, surnames) of another person's whole name as its column writes it
    ("SANDRA DIAZ RUIZ"; "DIAZ RUIZ SANDRA"; "DIAZ RUIZ, SANDRA"): in Spanish two
    surnames where the name has three words or more, else one."""
    head, comma, tail = value.partition(",")
    if comma:
        return " ".join(tail.split()), head.split()
    words = value.split()
    if len(words) < 2:
        return "", []
    k = 2 if spanish and len(words) >= 3 else 1
    if last_first:
        return " ".join(words[k:]), words[:k]
    return " ".join(words[:-k]), words[-k:]


#: A column counts as grouped only when each of its values is held by this many rows.
GROUP_MIN_ROWS = 5
#: Columns a table's small groups may be keyed by (`_group_model`): codes, not names,
#: dates or contacts.
GROUP_KEY_KINDS = ("id", "number", "category", "text")
#: Columns a new group's one row takes from the head it is modeled on (`_as_head`).
HEAD_KINDS = ("category", "boolean", "place")
#: Share of a column's filled rows whose value sits under one group, at least, for the
#: column to nest in the runs (`_nests_in_runs`)
NEST_SHARE = 0.98
#: Pairs of neighbouring rows of one id series, at least, and the share of them in
#: the order of a date column, for the column's dates to rise with the series
#: (`_dating_series`)
SERIES_DATE_PAIRS = 20
SERIES_DATE_SHARE = 0.95
#: Kinds of columns that may nest in the runs (an area under its directorate)
NESTED_KINDS = ("place", "category", "text")
#: Rows whose address follows another person's name, at least, for the email column to
#: be that person's (`_email_owner`)
OWNER_SHARE = 0.3
#: How much more of a column's values repeat inside runs than by chance, at least, for
#: the column to go with the runs (`_with_run`)
RUN_TIE_MARGIN = 0.1
#: How much of what an id's commonest start (or end) misses another column must predict
#: for that part to follow it (`_decided_id_parts`).
PREFIX_GAIN = 0.8
#: Real values nearest a new amount whose units it may take (`_as_round`).
ROUND_NEIGHBOURS = 9
#: Births of rows with a contact, at least, for canaries' births to be drawn from them.
MIN_BIRTHS = 30
#: An amount column's cells of one value of a category, and their least and greatest.
AmountCells = tuple[list[str], tuple[float, float]]
#: A category explaining this share of an amount's spread (of its logarithm) or more
#: sets the amount's range (`_numbers_by_category`), with this many rows per value.
AMOUNT_SHARE = 0.5
AMOUNT_ROWS = 5
#: ... or how much its values narrow the parts their rows hold (`share_gain`): a
#: part is then drawn among those of rows of the canary's value, at their frequencies.
PART_SHARE_GAIN = 0.3
#: Distinct parts, and values of a column deciding them, at most; and rows per value
#: of that column, at least.
PART_VALUES = 400
PART_ROWS = 3


def _redrawn(value: str, r: random.Random, keep: int, fixed: Collection[int] = ()) -> Iterator[str]:
    """`value`, then `NOVEL_TRIES - 1` times its digits after the first `keep`
    characters (and outside `fixed` positions) drawn again, each draw from the last."""
    yield value
    for _ in range(NOVEL_TRIES - 1):
        value = value[:keep] + "".join(
            str(r.randrange(10)) if ch.isdigit() and i not in fixed else ch
            for i, ch in enumerate(value[keep:], start=keep)
        )
        yield value


#: Share of rows whose id's group holds the year of their date, at least, for an id
#: numbered per year to follow that date (`_series_years`).
SERIES_YEAR_SHARE = 0.95
#: Digits of an id number from which it is an account or card number, not a sequence
#: (`_id`: an IBAN's 22, a CLABE's 18, a card's 16).
LONG_ID_DIGITS = 16
#: A CURP column's cells read for its 17th characters (`_curp_homoclaves`), at most.
HOMOCLAVE_ROWS = 5000
#: A date column's cells read for its times of day (`_clocks`), at most.
CLOCK_ROWS = 5000
#: Rows before the place its key sorts at that a canary of a table sorted by a key
#: is sent to (`place_of`): a place in bytes lands a row or two off.
TEXT_ORDER_MARGIN = 2
#: Columns whose values may hold letters of the names (`_letters_in_ids`)
LETTERED_KINDS = ("id", "text")
#: Columns whose numbers may hold the birth date (`_births_in_ids`)
DATED_KINDS = ("id", "dni", "number", "text")
#: Name columns a table may be sorted by inside runs (`_run_order`): a whole name is a
#: real person's when copied, so it is not drawn from the column.
ORDER_KINDS = ("paternal", "maternal", "surname", "given_name")
#: A column's values "repeat" when it has at most this many distinct values per row.
REPEATING_SHARE = 0.2
#: Sampled rows whose phones are read for place donors, at most.
MAX_DONORS = 3000
#: Rows sharing a canary's area code needed before place columns follow it.
MIN_DONORS = 5
#: The share of a phone column's numbers of one line that makes it that line's.
LINE_MAJORITY = 0.8
#: Tries for a number near a real one that no row holds.
NOVEL_TRIES = 10
#: How far from a whole amount `_number` looks for one no row holds.
NEAREST_FREE = 50
#: A number held with the same word beside it by this many of a column's values is
#: part of a name (`_named_runs`), kept as the donor's.
NAMED_RUN_ROWS = 3
#: Runs of digits are drawn among values of their own shape when this many hold it.
RUN_SHAPE_ROWS = 5
#: ...and by this share of the values with any number beside that word.
NAMED_RUN_SHARE = 0.1
#: Counts up to which `one_more_row` moves rows to the values held one row fewer.
GOOD_TURING_MAX = 8
#: Bounds of the strength of the urn that draws a category in a place
#: (`_place_strength`): from "the place decides" to "the place says nothing".
PLACE_STRENGTH_RANGE = (1e-6, 1e7)
#: Names drawn again for a persona none of whose column's shapes is free for its names.
SHAPE_TRIES = 12
#: Names drawn to learn how often each address shape is free for the column's names.
SHAPE_NAMES = 300
#: Rounds of proportional fitting of the shapes' weights to the column's shares.
SHAPE_FIT_ROUNDS = 50


#: A column follows another when that one predicts its value this much better (as a
#: share of rows) than its commonest value does (`prediction_gain`), judged on up to
#: `DEPENDENCE_ROWS` rows of which `MIN_DEPENDENCE_ROWS` hold both, in columns of at
#: most `DEPENDENCE_VALUES` values.
DEPENDENCE_GAIN = 0.3
#: ...or removes this share of the misses of guessing the commonest value (a document
#: type "TI" in 85% of a school roll's rows, "RC" under 7 and "CC" from 18).
DEPENDENCE_MISSES = 0.5
#: A category tells who another person in the row is (`_other_ties`) when it removes
#: this share of the misses of guessing their sex and carried surname: a weak tie only
#: draws that person from rows with the canary's value there, which costs nothing.
OTHER_TIE_GAIN = 0.3
DEPENDENCE_ROWS = 2000
MIN_DEPENDENCE_ROWS = 30
DEPENDENCE_VALUES = 40
#: ...but an age or a birth year, keyed by the year, may hold this many: a programme,
#: a document type or a fee that an adult list ties to age ("ADULTO MAYOR" from 60,
#: "TI" under 18) has 80 years of ages to follow, and 18 of 24 canaries of such a list
#: had a category of another age.
AGE_KEYS = 150
AGE_KINDS = frozenset({"age", "birth_date"})
#: A category follows an id's shape (`_shape_ties`) when the shape removes this share
#: of the misses of guessing the category's commonest value (a Colombian "TI" or "RC"
#: beside a 10-digit number from 1.0 or 1.1 billions, "CC" beside 8 digits).
SHAPE_TIE_GAIN = 0.6

#: A number holds another column's (a CUIL its DNI) when this share of the rows with
#: both, of at least `MIN_ORDERED_ROWS`, hold its `MIN_CONTAINED_DIGITS` or more digits.
CONTAINED_SHARE = 0.9
MIN_CONTAINED_DIGITS = 6

#: Words of a surname that are particles, not surnames ("DE LA CRUZ" is one surname).
PARTICLE_WORDS = frozenset(
    {"de", "la", "las", "los", "del", "y", "da", "das", "do", "dos", "van", "von"}
)


#: A line (mobile, fixed) a phone column holds less often than this, among its numbers
#: whose line the country's plan tells, is not one of its own.
LINE_MIN_SHARE = 0.1
#: Numbers of a phone column read to tell its lines (a parse is about 35 us).
LINE_SAMPLE = 200

#: Digits an operator block leaves for the subscriber, at least: a block is a million
#: numbers or more, as operators are given them (Costa Rica's 83, Colombia's 300).
BLOCK_SUBSCRIBER_DIGITS = 6


@functools.lru_cache(maxsize=1 << 14)
def number_block(e164: str) -> str:
    """The leading national digits anyone reading a column of numbers groups them by:
    the geographic area code where the country has one ("844" in Saltillo), else the
    operator block, the national destination code's first digits leaving six or more
    for the subscriber and at most three (Colombian mobiles "300", "315"; Costa Rican
    "83", "62"; Spanish mobiles "612"). "" when it does not parse."""
    parsed = parsed_phone(e164, "")
    if parsed is None:
        return ""
    nsn = phonenumbers.national_significant_number(parsed)
    k = int(phonenumbers.length_of_geographical_area_code(parsed))
    if not k:
        ndc = int(phonenumbers.length_of_national_destination_code(parsed)) or 3
        k = max(1, min(ndc, 3, len(nsn) - BLOCK_SUBSCRIBER_DIGITS))
    return nsn[:k]


def one_more_row(counts: Mapping[str, int]) -> dict[str, float]:
    """How much each value should weigh for one more row drawn as the table's were (not
    copied from one of them), on the scale of the counts (the weights sum to the rows).

    A value held k times weighs (k + 1) n(k + 1) / n(k), n(k) being how many values are
    held k times (Good-Turing's estimate of the next draw: the rows of the values held
    k + 1 times spread over the values held k times), for k up to `GOOD_TURING_MAX`;
    above it, and where no value is held k + 1 times, k itself (Katz's back-off). n is
    averaged over k - 1, k and k + 1 first: a small table's n(k) jumps about (28 values
    held 3 times, 14 held 4), and so would the weights.

    Taken as often as rows hold it, a value is held, once the canary adds itself, by one
    row more than a real row's own: with a hundred blocks of about four rows, canaries'
    blocks came out at six rows where real rows' were at five. For Poisson-like counts
    this gives every value about the same weight, as a new draw has; the large counts of
    a real table's area codes keep their own."""
    held = Counter(counts.values())

    def n(k: int) -> float:
        return (held[k - 1] + held[k] + held[k + 1]) / 3

    out: dict[str, float] = {}
    for value, k in counts.items():
        out[value] = (k + 1) * n(k + 1) / n(k) if k <= GOOD_TURING_MAX and held[k + 1] else k
    total, weight = sum(counts.values()), sum(out.values())
    return {v: w * total / weight for v, w in out.items()} if weight else dict.fromkeys(out, 0.0)


def _nearest_blocks(block: str, held: set[str]) -> list[str]:
    """The blocks of `held` sharing the most leading digits with `block` (one at least),
    in sorted order; [] when none shares its first digit."""
    best, out = 0, []
    for b in sorted(held):
        k = 0
        while k < min(len(b), len(block)) and b[k] == block[k]:
            k += 1
        if k and k > best:
            best, out = k, [b]
        elif k and k == best:
            out.append(b)
    return out


def area_code_length(e164: str) -> int:
    """Digits of the geographic area code of a number (0 where the country has none,
    as for Costa Rican mobiles: there the place cannot follow the number)."""
    parsed = parsed_phone(e164, "")
    return int(phonenumbers.length_of_geographical_area_code(parsed)) if parsed else 0
