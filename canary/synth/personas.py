"""Synthetic people: who a canary is, with names as frequent as real ones.

A persona's given names and surnames come from Faker in the data's locale, mixed with
the seed profile's weighted lists of frequent names (so that Hernández or María
Guadalupe are as common among canaries as in a real registry); its sex and birth date
follow the table's own distribution.
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from canary.synth.cells import PARTICLES, DateFormat, fold, parse_number


@dataclass
class Persona:
    """One synthetic person. Names keep their natural casing and accents."""

    given: str
    paternal: str
    maternal: str
    sex: str  # "F" or "M"
    birth: date
    #: The address for the table's first email column (as written there), or None.
    email: str | None
    #: Addresses for further email columns, by column index.
    other_emails: dict[int, str] = field(default_factory=dict)
    #: Fixes every other choice made for this person, so make_row is repeatable.
    seed: int = 0
    #: The email must stay in the row (it delivers to one of our mailboxes).
    keep_email: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(x for x in (self.given, self.paternal, self.maternal) if x)


class NameMaker:
    """Given names and surnames for one locale profile."""

    def __init__(self, profile: dict[str, Any], rng: random.Random, faker: Any) -> None:
        self.profile = profile
        self.rng = rng
        self.faker = faker

    def _weighted(self, table: dict[str, float]) -> str:
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def _faker_given(self, sex: str) -> str:
        return str(self.faker.first_name_female() if sex == "F" else self.faker.first_name_male())

    def given(self, sex: str, words: Counter[int]) -> str:
        """Given name(s) of a sex ("F"/"M"), with as many words as `words` (a count of
        word counts in the column) makes likely: "MARÍA GUADALUPE" where registries
        write two."""
        want = self.rng.choices(list(words), weights=list(words.values()))[0]
        want = max(1, min(want, 3))
        table = self.profile.get("given_female" if sex == "F" else "given_male", {})
        for _ in range(10):  # a compound name ("María José") counts as two words
            if table and self.rng.random() < self.profile.get("given_share", 0):
                name = self._weighted(table)
            else:
                name = self._faker_given(sex)
            if len(name.split()) <= want:
                break
        out = name.split()[: max(want, 1)]
        for _ in range(20):
            if len(out) >= want:
                break
            extra = self._faker_given(sex).split()
            if len(out) + len(extra) <= want and extra[0] not in out:
                out.extend(extra)
        return " ".join(out)

    def surname(self) -> str:
        table = self.profile.get("surnames", {})
        if table and self.rng.random() < self.profile.get("surname_share", 0):
            return self._weighted(table)
        return str(self.faker.last_name())


#: First words that decide a compound given name's sex whatever follows.
FIRST_WORD_SEX = {"maria": "F", "ma": "F", "jose": "M"}


@lru_cache(maxsize=1)
def _sexed_names() -> tuple[frozenset[str], frozenset[str]]:
    """Folded given names Faker's Spanish and English locales hold as female, as male."""
    from faker.providers.person.en_US import Provider as EnUS
    from faker.providers.person.es_ES import Provider as EsES
    from faker.providers.person.es_MX import Provider as EsMX

    female = {fold(n) for p in (EsMX, EsES, EnUS) for n in p.first_names_female}
    male = {fold(n) for p in (EsMX, EsES, EnUS) for n in p.first_names_male}
    return frozenset(female), frozenset(male)


@lru_cache(maxsize=8)
def _first_words(names: tuple[str, ...]) -> frozenset[str]:
    """The folded first words of `names` (a profile's list, the same on every call)."""
    return frozenset(fold(n.split()[0]) for n in names if n.split())


def name_sex(name: str, extra_female: Iterable[str] = ()) -> str | None:
    """The sex ("F" or "M") a given name clearly has, by its first word ("María José" is
    a woman, "José María" a man), else None."""
    female, male = _sexed_names()
    more = _first_words(tuple(extra_female))
    words = fold(name).replace(".", " ").split()
    if not words:
        return None
    w = words[0]
    if w in FIRST_WORD_SEX:  # Faker lists both under either sex ("José María" is a man)
        return FIRST_WORD_SEX[w]
    is_f, is_m = w in female or w in more, w in male
    if is_f and not is_m:
        return "F"
    if is_m and not is_f:
        return "M"
    return None


def female_share_of_names(first_names: Iterable[str], profile: dict[str, Any]) -> float:
    """Share of women among people by their first given name (0.5 when fewer than 20
    names are clearly female or male): a registry of women candidates has no sex
    column but its canaries must be women too."""
    extra = list(profile.get("given_female", {}))
    f = m = 0
    for name in first_names:
        sex = name_sex(name, extra)
        f += sex == "F"
        m += sex == "M"
    return f / (f + m) if f + m >= 20 else 0.5


def age_reference(fmt: DateFormat, pairs: Iterable[tuple[str, str]]) -> tuple[date, date]:
    """The days a table's ages may have been computed on, from (birth date, age) cells
    of real rows (today when none parse): the first and last of the longest run of days
    on which the most rows have the age they show. Each row allows a year of days (from
    its birthday at that age to the next). An estimate from the median birth plus age
    was a few weeks off, and canaries born in those weeks showed an age a year off."""
    events: list[tuple[int, int]] = []
    for birth_text, age_text in pairs:
        b, a = fmt.parse(birth_text), parse_number(age_text)
        if b and a is not None and a == int(a) and 0 <= a < 150:
            start = _years_after(b[0], int(a))
            events += [(start.toordinal(), 1), (_years_after(b[0], int(a) + 1).toordinal(), -1)]
    if not events:
        return date.today(), date.today()
    events.sort()
    best, span, held = -1, (events[0][0], events[0][0]), 0
    for (day, step), (following, _s) in zip(events, [*events[1:], (events[-1][0], 0)], strict=True):
        held += step
        if following > day and (
            held > best or (held == best and following - day > span[1] - span[0])
        ):
            best, span = held, (day, following)
    return date.fromordinal(span[0]), date.fromordinal(max(span[1] - 1, span[0]))


def _years_after(born: date, years: int) -> date:
    """The day someone born on `born` turns `years` (1 March for 29 February)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


#: Rows with names needed before a table's own names are used instead of Faker's.
MIN_NAME_ROWS = 30
#: Given names of a birth year are those of this many rows born nearest it.
NEAR_BIRTHS = 60
#: ... and those of every row born within this many years of it.
NAME_ERA_YEARS = 5


#: Words that open a compound name part: "de la Cruz", "del Carmen", "van der Berg".
NAME_PARTICLES = frozenset(
    {"de", "del", "la", "las", "los", "da", "das", "do", "dos", "van", "von", "der"}
)


def name_units(words: Sequence[str]) -> list[str]:
    """A name's words with each run of particles joined to the word that follows it
    ("MARIA DEL CARMEN": "MARIA", "DEL CARMEN"); a trailing particle stays with the last
    part. Recombined word by word, "CARMEN" of "DEL CARMEN" came out alone as a third
    given name, which no real row had."""
    out: list[str] = []
    pending: list[str] = []
    for w in words:
        pending.append(w)
        if fold(w) not in NAME_PARTICLES:
            out.append(" ".join(pending))
            pending = []
    if pending:
        if out:
            out[-1] = " ".join([out[-1], *pending])
        else:
            out.append(" ".join(pending))
    return out


class Predictive:
    """Draws a value as a new row of a column would hold it.

    A value seen k times is drawn with probability k/N; with the probability that the
    next value is one never seen (singletons/N, the Good-Turing estimate) it is a `novel`
    one instead, so a canary's value is as often unique in the file as a real row's.
    """

    def __init__(
        self,
        values: Iterable[str],
        extra: dict[str, float] | None = None,
        discounts: Mapping[str, float] | None = None,
    ) -> None:
        self.counts: Counter[str] = Counter(v for v in values if v)
        self.total = sum(self.counts.values())
        singles = sum(1 for k in self.counts.values() if k == 1)
        self.new_share = singles / self.total if self.total else 1.0
        #: Each value's weight over its count when a new row is drawn (`next_row_discounts`;
        #: 1 when not given): the values seen once stand for the new ones, drawn
        #: `new_share` of the time, and counted again as seen ones they came out twice.
        self.discounts: Mapping[str, float] = discounts if discounts is not None else {}
        #: `extra` values weigh what they are given (names of unknown sex, a share each).
        weights: dict[str, float] = {
            v: k * self.discounts.get(v, 1.0) for v, k in self.counts.items()
        }
        for v, w in (extra or {}).items():
            if v and w > 0:
                weights[v] = weights.get(v, 0.0) + w
        self._keys = list(weights)
        self._weights = list(weights.values())
        self._folded = {fold(v) for v in weights}

    def seen(self, value: str) -> bool:
        return fold(value) in self._folded

    @functools.cached_property
    def _words(self) -> tuple[Counter[int], list[Counter[str]], float]:
        """(values by their number of words, the words at each place, the share of
        values holding a word no other value holds), read on first use: most pools
        are asked only for `new_share`."""
        words: Counter[str] = Counter()
        lengths: Counter[int] = Counter()
        at: list[Counter[str]] = []
        for v, k in self.counts.items():
            ws = name_units(v.split())
            lengths[len(ws)] += k
            for i, word in enumerate(ws):
                words[word] += k
                if i == len(at):
                    at.append(Counter())
                at[i][word] += k
        lone = sum(
            k for v, k in self.counts.items() if any(words[x] == 1 for x in name_units(v.split()))
        )
        return lengths, at, lone / self.total if self.total else 1.0

    @property
    def new_word_share(self) -> float:
        """How often a new value has a new word, not only new words' order ("Maria Ana"
        of "Ana Maria"): the share of values holding a word no other value holds."""
        return self._words[2]

    def recombined(self, r: random.Random) -> str:
        """A value of the column's words: as many as its values hold, each drawn among
        the words its values hold at that place, at their frequencies ("" when it has
        none; never ending on a particle)."""
        lengths, at, _share = self._words
        if not lengths:
            return ""
        for _ in range(10):
            n = r.choices(list(lengths), weights=list(lengths.values()))[0]
            ws = [r.choices(list(c), weights=list(c.values()))[0] for c in at[:n]]
            if ws and ws[-1].lower() not in PARTICLES and len(set(ws)) == len(ws):
                return " ".join(ws)
        return ""

    def draw(self, r: random.Random, novel: Any = None) -> str:
        """A value; `novel()` makes an unseen one (None: always a seen one)."""
        if novel is not None and r.random() < self.new_share:
            for _ in range(20):
                v = str(novel())
                if v and not self.seen(v):
                    return v
        if not self._keys:
            return str(novel()) if novel is not None else ""
        return r.choices(self._keys, weights=self._weights)[0]


def next_row_discounts(counts: Mapping[str, int]) -> dict[str, float]:
    """Each value's weight over its count (k*/k) for one more row drawn as a column's
    were, Good-Turing's k* = (k + 1) n(k + 1) / n(k) with n(k) the number of values held
    k times: as it is for k under 5 where n(k + 1) is not 0, else from n(k) smoothed
    log-linearly (n ~ k^b, Gale and Sampson's Z), b at most -1, so that no value weighs
    more than its count. The values held once then weigh as little as the column's
    doubles say, their mass being the new values' (`Predictive.new_share`)."""
    held = Counter(counts.values())
    ks = sorted(held)
    if len(ks) < 3:
        return dict.fromkeys(counts, 1.0)
    xs, ys = [], []
    for i, k in enumerate(ks):
        q = ks[i - 1] if i else 0
        t = ks[i + 1] if i + 1 < len(ks) else 2 * k - q
        xs.append(math.log(k))
        ys.append(math.log(held[k] / (0.5 * (t - q))))
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread
    b = min(b, -1.0)

    def star(k: int) -> float:
        if k < 5 and held[k + 1]:
            return min((k + 1) * held[k + 1] / held[k], float(k))
        return float(k * (1 + 1 / k) ** (1 + b))

    return {v: star(k) / k for v, k in counts.items()}


class ColumnNames:
    """Given names and surnames drawn from a table's own name columns.

    Each part comes from the column's own parts with their frequencies (given names of
    the persona's sex when the table tells sexes apart), or, as often as the column
    holds names seen once, from the locale's lists (a name the table does not hold). The
    parts are recombined: a canary has the given name and surnames of a real row only as
    often as real rows share one another's (`namesake_keep`): never in a registry whose
    names are all distinct, as often as chance gives in a voter list where "MARY SMITH"
    is many people (rejecting every such name would make canaries' names rarer than
    real ones').
    """

    def __init__(
        self,
        people: list[tuple[str, str, str, str | None]],
        fallback: NameMaker,
        rng: random.Random,
        years: Sequence[int | None] = (),
    ) -> None:
        self.rng = rng
        self.fallback = fallback
        #: (year of birth, title-cased given name, sex) of the rows whose birth is known
        self.born = sorted(
            (y, _title_name(g), s)
            for (g, _p, _m, s), y in zip(people, years or [None] * len(people), strict=True)
            if y is not None
        )
        self._near: dict[tuple[str, int], Predictive] = {}
        title = _title_name
        self.people = Counter((fold(g), fold(p), fold(m)) for g, p, m, _s in people)
        self.real = set(self.people)
        by_sex: dict[str | None, list[str]] = {}
        for g, _p, _m, s in people:
            by_sex.setdefault(s, []).append(title(g))
        self.sexed = any(s is not None for s in by_sex)
        # Names of unknown sex (a name no list knows) go to each sex's pool in the share
        # of that sex among known rows: the names keep their frequencies overall.
        unknown = Counter(by_sex.get(None, []))
        known = sum(len(v) for s, v in by_sex.items() if s is not None) or 1
        self.given_by_sex = {
            s: _drawn_as_new(v, {n: k * len(v) / known for n, k in unknown.items()})
            for s, v in by_sex.items()
            if s is not None
        }
        self.given_all = _drawn_as_new([title(g) for g, _p, _m, _s in people])
        self.paternal = _drawn_as_new([title(p) for _g, p, _m, _s in people])
        self.maternal = _drawn_as_new([title(m) for _g, _p, m, _s in people if m])

    def given(self, sex: str, words: Counter[int], year: int | None = None) -> str:
        """A given name of the sex; for a person born in `year`, one of the rows born
        about then (`_born_near`), as often as names the column holds once show a name
        it does not hold (drawn from the locale's lists then)."""
        pool = self._given_pool(sex)
        novel = self._novel(pool, lambda: self.fallback.given(sex, words))
        near = self._born_near(sex, year) if year is not None else None
        if near is None:
            return pool.draw(self.rng, novel)
        if self.rng.random() < pool.new_share:
            for _ in range(20):
                name = novel()
                if name and not pool.seen(name):
                    return name
        return near.draw(self.rng)

    def _given_pool(self, sex: str) -> Predictive:
        """The given names of the sex (of all rows where the table does not tell sexes
        apart or holds fewer than five of the sex)."""
        pool = self.given_by_sex.get(sex) if self.sexed else None
        return pool if pool is not None and pool.total >= 5 else self.given_all

    def _novel(self, pool: Predictive, outside: Callable[[], str]) -> Callable[[], str]:
        """How a value the column does not hold is made: from the locale's lists
        (`outside`) as often as the column's values hold a word no other does, else of
        the column's own words (`Predictive.recombined`). A Brazilian list's compound
        given names ("Maria Ana") made most given names singular, and every such new
        name came from the lists: 37% of canaries had a word in their names no row
        had, against none of the real rows."""

        def make() -> str:
            if pool.new_share and self.rng.random() < pool.new_word_share / pool.new_share:
                return outside()
            return pool.recombined(self.rng) or outside()

        return make

    def _born_near(self, sex: str, year: int) -> Predictive | None:
        """The given names of the `NEAR_BIRTHS` rows of the sex born nearest `year` (all
        of the year's), and of every row born within `NAME_ERA_YEARS` of it: fashions in
        names move over decades, and a school roll's 60 nearest pupils were the
        canary's grade, so its (grade, name) pair was held twice as often as a real
        pupil's. None where fewer rows tell their birth."""
        key = (sex, year)
        if key not in self._near:
            rows = [(y, g) for y, g, s in self.born if s == sex or not self.sexed or s is None]
            if len(rows) < NEAR_BIRTHS:
                return None
            rows.sort(key=lambda t: abs(t[0] - year))
            reach = max(abs(rows[NEAR_BIRTHS - 1][0] - year), NAME_ERA_YEARS)
            self._near[key] = Predictive(
                (g for y, g in rows if abs(y - year) <= reach),
                discounts=self._given_pool(sex).discounts,
            )
        return self._near[key]

    def surname(self, maternal: bool = False) -> str:
        pool = self.maternal if maternal and self.maternal.total >= 5 else self.paternal
        return pool.draw(self.rng, self._novel(pool, self.fallback.surname))

    def is_real(self, given: str, paternal: str, maternal: str) -> bool:
        return (fold(given), fold(paternal), fold(maternal)) in self.real

    def namesake_keep(self, two_surnames: bool) -> float:
        """The chance to keep a drawn name a real row has: the share of real rows whose
        whole name another row also has, over the chance that parts drawn as canaries
        draw them (given name, surname, and the second surname where the table has
        two) land on a real row's name; at most 1, and 0 when no two rows share one."""
        total = sum(self.people.values())
        shared = sum(k for k in self.people.values() if k > 1)
        if not total or not shared:
            return 0.0

        def chance(pool: Predictive) -> Callable[[str], float]:
            by_fold: Counter[str] = Counter()
            for v, k in pool.counts.items():
                by_fold[fold(v)] += k
            scale = (1 - pool.new_share) / pool.total if pool.total else 0.0
            return lambda v: by_fold[v] * scale

        given, paternal = chance(self.given_all), chance(self.paternal)
        maternal = chance(self.maternal if self.maternal.total >= 5 else self.paternal)
        hit = 0.0
        for g, p, m in self.people:
            if two_surnames != bool(m):
                continue  # a canary with two surnames never draws a one-surname name
            hit += given(g) * paternal(p) * (maternal(m) if two_surnames else 1.0)
        return min(1.0, (shared / total) / hit) if hit else 0.0


def _title_name(text: str) -> str:
    """A name part in title case, particles in lower case before the word they belong
    to, as registries write them ("de León", "María del Carmen")."""
    words = text.split()
    return " ".join(
        w.lower()
        if i < len(words) - 1 and w.lower() in PARTICLES
        else w[:1].upper() + w[1:].lower()
        for i, w in enumerate(words)
    )


def _drawn_as_new(values: list[str], extra: dict[str, float] | None = None) -> Predictive:
    """A name pool whose values are drawn as a new row's (`next_row_discounts`)."""
    return Predictive(values, extra, next_row_discounts(Counter(v for v in values if v)))
