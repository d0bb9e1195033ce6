"""Canary email addresses: local parts shaped like the column's own, on canary domains.

The column's addresses are matched against their own row's names to learn which
shapes people use there ("maria.lopez", "mlopez85", "lopezmaria"...), with what
share; a canary's address takes one of those shapes from its own names, on one of the
canary domains weighted the way the column's providers are. Addresses are unique: not
in the sample, not issued before (the register), not issued in this run.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from ahocorasick_rs import AhoCorasick

from canary.errors import InputError
from canary.identifiers import normalize_email
from canary.synth.cells import PARTICLES, fold
from canary.synth.personas import Predictive

MAX_EMAIL_TRIES = 500
#: Handle shapes tried once the column's own patterns gave nothing usable.
FALLBACK_TEMPLATES = (
    "{fi}{last}{last2}",
    "{first}{li}{l2i}",
    "{fi}{li}{last2}",
    "{first2}.{last2}",
    "{fi}.{last2}.{last}",
    # for people of one surname
    "{fi}{last}",
    "{first}{li}",
    "{f3}.{last}",
)

#: Local-part shapes matched against a sample's own addresses (digits are a suffix).
EMAIL_TEMPLATES = (
    [
        f"{a}{sep}{b}"
        for sep in ("", ".", "_", "-")
        for a, b in (
            ("{first}", "{last}"),
            ("{fi}", "{last}"),
            ("{last}", "{first}"),
            ("{last}", "{fi}"),
            ("{first}", "{li}"),
            ("{first}", "{last2}"),
            ("{first}", "{first2}"),
        )
    ]
    + [
        f"{a}{sep}{b}{sep}{c}"
        for sep in ("", ".", "_")
        for a, b, c in (
            ("{first}", "{last}", "{last2}"),
            ("{fi}", "{last}", "{last2}"),
            ("{first}", "{first2}", "{last}"),
            ("{fi}", "{li}", "{last2}"),
        )
    ]
    + ["{first}", "{last}", "{fi}{l2i}{last}", "{fi}{last}{l2i}"]
    # a surname with the given name cut short ("moraadr26", "lopezmar")
    + ["{last}{f3}", "{last}.{f3}", "{last}_{f3}", "{f3}{last}"]
)


def _plain_token(text: str) -> str:
    """A name as it goes into an email local part: ASCII, lower case, no spaces."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def _bare(surname: str) -> str:
    """A surname without the particles it begins with ("dos Santos" -> "Santos")."""
    words = surname.split()
    while len(words) > 1 and words[0].lower() in PARTICLES:
        words = words[1:]
    return " ".join(words)


def _tokens(given: str, paternal: str, maternal: str, bare: bool = False) -> dict[str, str]:
    gw = given.split()
    first = _plain_token(gw[0]) if gw else ""
    last = _plain_token(_bare(paternal) if bare else paternal)
    last2 = _plain_token(_bare(maternal) if bare else maternal)
    return {
        "first": first,
        "first2": _plain_token(gw[1]) if len(gw) > 1 else first,
        "fi": first[:1],
        "f3": first[:3],
        "last": last,
        "li": last[:1],
        "last2": last2,
        "l2i": last2[:1],
    }


def _render_template(template: str, tokens: dict[str, str]) -> str:
    out = template
    for k in ("first2", "first", "last2", "last", "fi", "li", "l2i", "f3"):
        out = out.replace("{" + k + "}", tokens[k])
    return out


@functools.lru_cache(maxsize=1 << 14)
def match_template(local: str, names: tuple[str, str, str]) -> str:
    """The template a real local part follows given its row's (given, paternal,
    maternal) names, with its digit suffix as {dN}; "{other}" when none fits. Cached:
    the factory asks it of each sampled address three times (the shapes' counts, the
    birth-year digits, the other local parts)."""
    m = re.match(r"^(.*?)(\d*)$", fold(local))  # "núria.3" follows {first}.{d1} too
    body, digits = (m.group(1), m.group(2)) if m else (local, "")
    suffix = f"{{d{len(digits)}}}" if digits else ""
    # a surname's particles in the address or not ("mariadossantos", "mariasantos")
    variants = (False, True) if _has_particle(names) else (False,)
    for bare in variants:
        tokens = _tokens(*names, bare=bare)
        for t in EMAIL_TEMPLATES:
            if _render_template(t, tokens) == body and body:
                return t + suffix
    for bare in variants:
        parsed = _parse_shape(body, _tokens(*names, bare=bare), names[0])
        if parsed is not None:
            return parsed + suffix
    return "{other}"


#: Name pieces a shape may be built of, longest kinds first (a whole name before the
#: first three letters of it before an initial), and those of which a shape must hold
#: at least one to be a name's shape.
_PIECES = ("first2", "first", "last2", "last", "f3", "fi", "li", "l2i")
_WHOLE = {"first", "first2", "last", "last2"}
#: Name pieces one part of a shape (between separators) holds at most.
_MAX_PIECES = 3


def _parse_shape(body: str, tokens: dict[str, str], given: str) -> str | None:
    """The shape of a local part made of its row's name pieces in any order and joined
    any way ("mariacristina.mendoza": {first}{first2}.{last}), where the fixed shapes
    miss it; None when some part is not made of them. A second given name counts only
    where the row has one, a second surname only where it has one."""
    usable = {
        k: v
        for k, v in tokens.items()
        if k in _PIECES and v and not (k == "first2" and len(given.split()) < 2)
    }
    out: list[str] = []
    for part in re.split(r"([._-])", body):
        if part in ".-_":
            out.append(part)
            continue
        pieces = _pieces_of(part, usable, _MAX_PIECES)
        if pieces is None:
            return None
        out.extend("{" + k + "}" for k in pieces)
    shape = "".join(out)
    return shape if any("{" + k + "}" in shape for k in _WHOLE) else None


def _pieces_of(text: str, usable: dict[str, str], room: int) -> list[str] | None:
    """`text` as a run of at most `room` name pieces, longest kinds tried first."""
    if not text:
        return []
    if room == 0:
        return None
    for k in _PIECES:
        v = usable.get(k)
        if v and text.startswith(v):
            rest = _pieces_of(text[len(v) :], usable, room - 1)
            if rest is not None:
                return [k, *rest]
    return None


def _has_particle(names: tuple[str, str, str]) -> bool:
    return any(_bare(n) != n for n in names[1:])


def drops_particles(rows: Iterable[tuple[str, str]]) -> bool:
    """Whether a column's addresses leave out their surnames' particles ("maria.santos"
    for Maria dos Santos) more often than they keep them ("maria.dossantos"), from
    (local part, the row's names as written) pairs."""
    kept = dropped = 0
    for local, written in rows:
        words = written.split()
        letters = fold(local)
        for particle, surname in itertools.pairwise(words):
            if particle.lower() not in PARTICLES or surname.lower() in PARTICLES:
                continue
            bare = _plain_token(surname)
            if len(bare) < 3:
                continue
            if _plain_token(particle) + bare in letters:
                kept += 1
            elif bare in letters:
                dropped += 1
    return dropped > kept


def _swaps(template: str, tokens: dict[str, str]) -> list[str]:
    """The template, then the same shape with the surnames swapped and with the second
    given name (when the person has them): alternatives that keep the look."""
    out = [template]
    pairs = (("{last}", "{last2}", "last2"), ("{first}", "{first2}", "first2"))
    for a, b, key in pairs:
        if a not in template or not tokens[key] or tokens[key] == tokens[key.rstrip("2")]:
            continue
        swapped = template.replace(a, "\x00").replace(b, a).replace("\x00", b)
        if swapped not in out:
            out.append(swapped)
    return out


def learn_digit_suffixes(locals_: Iterable[str]) -> dict[int, Predictive]:
    """The trailing digits of a column's local parts, by their length (those with at
    least `MIN_SUFFIXES` of a length)."""
    by_len: dict[int, list[str]] = {}
    for local in locals_:
        m = re.search(r"(\d+)$", local)
        if m:
            by_len.setdefault(len(m.group(1)), []).append(m.group(1))
    return {k: Predictive(v) for k, v in by_len.items() if len(v) >= MIN_SUFFIXES}


def birth_year_templates(
    found: Counter[str], rows: Iterable[tuple[str, str, date | None]]
) -> dict[str, str]:
    """Templates whose digits are the row's birth year (`{d2}` -> `{yy}`, `{d4}` ->
    `{yyyy}`) in most of the rows that show them: (template, local, birth) of real rows."""
    hits: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for template, local, birth in rows:
        m = re.search(r"\{d([24])\}$", template)
        if not m or birth is None:
            continue
        seen[template] += 1
        digits = re.sub(r"^.*?(\d+)$", r"\1", local)
        if digits == (birth.strftime("%y") if m.group(1) == "2" else str(birth.year)):
            hits[template] += 1
    out = {}
    for t, n in seen.items():
        if n >= 5 and hits[t] >= 0.5 * n and t in found:
            out[t] = t.replace("{d2}", "{yy}").replace("{d4}", "{yyyy}")
    return out


def learn_patterns(
    pairs: Iterable[tuple[str, tuple[str, str, str]]], fallback: dict[str, float]
) -> Counter[str]:
    """Template counts from (local part, row names) pairs; the locale's `fallback`
    shares when fewer than 20 addresses could be matched to their names."""
    found: Counter[str] = Counter(match_template(local, names) for local, names in pairs)
    total = sum(found.values())
    if total - found["{other}"] >= 20:
        return found
    if total >= 20 and found["{other}"] >= 0.8 * total:
        # Addresses that follow no name shape ("user48213", "cliente_0931"): canaries
        # take the column's own shapes with fresh digits, not name-based ones.
        return found
    return Counter({t: int(w * 1000) for t, w in fallback.items() if w > 0})


GENERIC_TLDS = ("com", "net", "org")
#: A swapped shape ("{first}.{last2}") is tried only when the column has this share of it.
SWAP_SHARE = 0.02
#: Digit suffixes of one length a column needs before canaries draw theirs from them.
MIN_SUFFIXES = 5
#: A canary's local part never has the letters of a real one this long or longer...
REAL_LOCAL_MIN = 6
#: ...nor contains a real one's letters this long or longer.
REAL_LOCAL_CONTAINED = 8


def _letters(local: str) -> str:
    """A local part's letters, folded (digits and punctuation aside)."""
    return re.sub(r"[^a-z]", "", fold(local))


def fitting_domains(
    domains: Sequence[str], column_domains: Counter[str] | None, region: str
) -> list[str]:
    """The canary domains whose top-level domain the table's own addresses use.

    A ".es" canary address in a list of ".com" customers stands out the way a foreign
    phone number would. Without addresses to go by, the region's country code and the
    generic TLDs fit. When no canary domain fits, those of the table's country or of
    a generic TLD, and only where there are none all of them: a US customer list (all
    ".com") got 18 of 24 canaries on the organisation's German, Spanish and Canadian
    domains, a Panamanian one 15 of 24 on its Salvadoran and Honduran ones.
    """
    wanted = column_tlds(column_domains) if column_domains else {region.lower(), *GENERIC_TLDS}
    fit = [d for d in domains if d.rsplit(".", 1)[-1] in wanted]
    near = [d for d in domains if d.rsplit(".", 1)[-1] in {region.lower(), *GENERIC_TLDS}]
    return fit or near or list(domains)


def column_tlds(column_domains: Counter[str]) -> set[str]:
    """The top-level domains an email column's addresses use (5% of them or more)."""
    total = sum(column_domains.values())
    tlds: Counter[str] = Counter()
    for d, k in column_domains.items():
        tlds[d.rsplit(".", 1)[-1]] += k
    return {t for t, k in tlds.items() if k >= 0.05 * total}


def domain_weights(
    column_domains: Counter[str] | None, providers: dict[str, float], n: int
) -> list[float]:
    """Weight of each of `n` canary domains: the i-th is used as often as the i-th most
    used provider of the column (or, with fewer than two there, of the locale's mix)."""
    shares: list[float] = []
    if column_domains:
        total = sum(column_domains.values())
        shares = [k / total for _d, k in column_domains.most_common()]
    if len(shares) < 2:
        shares = sorted((w for d, w in providers.items() if d != "other"), reverse=True)
    floor = min(shares) if shares else 1.0
    return [shares[i] if i < len(shares) else floor for i in range(n)]


class EmailExhausted(InputError):
    """No fresh address fits this person's names (every shape is taken or a real one's)."""


def _names_fit(template: str, given: str, maternal: str | None = None) -> bool:
    """Whether a person has the names a shape takes: a second given name for {first2}
    (a single one stands in for it, "miguelmiguel.sanchez" of Miguel, otherwise); a
    second surname for {last2} or {l2i} (`maternal`, when given: of one surname, the
    fallback "{first2}.{last2}" made "zulema.27")."""
    if "{first2}" in template and len(given.split()) < 2:
        return False
    return maternal is None or bool(maternal.strip()) or not re.search(r"\{(last2|l2i)\}", template)


class EmailMaker:
    """Draws unique canary addresses for one table."""

    def __init__(
        self,
        domains: Sequence[str],
        weights: list[float],
        patterns: Counter[str],
        rng: random.Random,
        faker: Any,
        taken: Callable[[str], bool],
        sample_emails: set[str],
    ) -> None:
        self.domains = list(domains)
        self.weights = weights
        self.patterns = patterns
        self.rng = rng
        self.faker = faker
        self.taken = taken
        self.sample_emails = sample_emails
        #: Surnames go into addresses without their particles (`drops_particles`).
        self.bare = False
        #: Normalised addresses handed out by this maker, and their local parts.
        self.issued: set[str] = set()
        self.issued_locals: set[str] = set()
        #: The column's own local parts that follow no name shape ("sol_123", "reina84"):
        #: the "{other}" share is built like these, from their short words and digits.
        self.other_locals: list[str] = []
        #: The column's own digit suffixes by length ("1980", "85", "493"): a canary's
        #: {dN} is one of them as often as a new address would repeat one (years,
        #: mostly), else fresh digits; uniform digits gave "leticiagarcia8261" where the
        #: column writes years.
        self.digit_suffixes: dict[int, Predictive] = {}
        #: How many of the column's local parts end in a run of digits of each length.
        self.tail_lengths: Counter[int] = Counter()
        #: How many addresses this maker made in each of the column's shapes.
        self.used: Counter[str] = Counter()
        #: Letters of every real local part ("ibarraedu" of "IBARRAEDU@..."): a canary's
        #: never equals one (six letters or more) nor contains one of eight or more.
        self.real_letters = {
            letters
            for a in sample_emails
            if len(letters := _letters(a.rsplit("@", 1)[0])) >= REAL_LOCAL_MIN
        }
        self._long_real = sorted(
            (x for x in self.real_letters if len(x) >= REAL_LOCAL_CONTAINED), key=len
        )
        self._long_automaton: AhoCorasick | None = None

    def draw_template(self) -> str:
        """One of the column's shapes, as often as the column uses it, counting the
        canaries made so far: a shape they hold less often than the column's share is
        drawn more (names that fit no drawn shape take another one, and in a table of
        common names those are the short ones: without the count canaries drifted from
        the column's long shapes)."""
        keys = list(self.patterns)
        total = sum(self.patterns.values())
        made = sum(self.used.values())
        owed = [max(self.patterns[k] / total * (made + 1) - self.used[k], 0.0) for k in keys]
        if not total or sum(owed) <= 0:
            return self.rng.choices(keys, list(self.patterns.values()))[0]
        return self.rng.choices(keys, owed)[0]

    def shape_free(self, template: str, given: str, paternal: str, maternal: str) -> bool:
        """Whether a person of these names can have an address of this shape (itself or
        with the other surname or given name first) that copies no real one's letters."""
        if template == "{other}":
            return True
        if not _names_fit(template, given, maternal):
            return False
        tokens = _tokens(given, paternal, maternal, self.bare)
        for variant in self._swaps(template, tokens):
            local = _render_template(variant, tokens)
            letters = re.sub(r"\{[a-z0-9]+\}", "", local)
            if not letters or self.copies_real(letters):
                continue
            if local == letters and local in self.issued_locals:
                continue  # no digits to vary: another canary has this one
            return True
        return False

    def make(
        self,
        given: str,
        paternal: str,
        maternal: str,
        birth: date,
        upper: bool,
        template: str | None = None,
    ) -> str:
        """A new address for this person, never seen before; upper case if the column is.
        `template` is the shape tried first (one drawn for the person's names)."""
        if not self.domains:
            raise InputError(
                "the table has an email column but no canary domain is registered: "
                "add one with 'canary domain add DOMAIN'"
            )
        tokens = _tokens(given, paternal, maternal, self.bare)
        for attempt in range(MAX_EMAIL_TRIES):
            if attempt == 0 and template is not None:
                pass
            elif attempt < MAX_EMAIL_TRIES // 2:
                template = self.draw_template()
            else:
                # The column's own shapes are all taken or all real people's (a table whose
                # few names cover every given+surname pair): shapes with initials and the
                # second surname still look like people's handles and copy no one.
                template = self.rng.choice(FALLBACK_TEMPLATES)
            if not _names_fit(template, given, maternal):
                continue
            domain = self.rng.choices(self.domains, weights=self.weights)[0]
            # A shape whose letters are a real person's ("maria.lopez" when a Maria Lopez
            # is in the table) is tried with the other surname or given name first: same
            # shape, same length. Drawing another shape instead would leave canaries with
            # fewer of the common long shapes than the column has.
            for variant in self._swaps(template, tokens):
                local = self._render_local(variant, tokens, birth, attempt)
                address = f"{local}@{domain}"
                norm = normalize_email(address)
                if norm in self.sample_emails or norm in self.issued or self.taken(norm):
                    continue
                if self.copies_real(local):
                    continue
                self.issued.add(norm)
                self.issued_locals.add(local.lower())
                if template in self.patterns:
                    self.used[template] += 1
                return address.upper() if upper else address
        raise EmailExhausted("could not find an unused canary email address; add another domain")

    def _swaps(self, template: str, tokens: dict[str, str]) -> list[str]:
        """The template, then its swapped forms the column itself uses: where every
        address has the first surname ("pablo.gonzalez" of Pablo González García), a
        canary's "javier.martinez" of Javier Romero Martínez is a shape no row has."""
        out = _swaps(template, tokens)
        used = sum(self.patterns.values()) or 1
        return [v for v in out if v == template or self.patterns.get(v, 0) >= SWAP_SHARE * used]

    def copies_real(self, local: str) -> bool:
        """True when a local part is a real row's, digits aside (six letters or more), or
        holds one of eight letters or more: a real person's handle in a synthetic row."""
        letters = _letters(local)
        if letters in self.real_letters:
            return True
        if not self._long_real:
            return False
        if self._long_automaton is None:
            # One pass for every real handle (a substring test each took ~5 ms a
            # candidate on a 20,000-row sample: seconds for 100 recipients' canaries).
            self._long_automaton = AhoCorasick(self._long_real)
        return bool(self._long_automaton.find_matches_as_indexes(letters))

    def _other_local(self, tokens: dict[str, str]) -> str:
        """A handle shaped like one of the column's name-less ones ("reina_84",
        "vargasmar12"), piece by piece: a short word (under six letters) becomes one of
        their short words, a longer one letters of the canary's own names as long, a
        run of digits fresh digits as long; never one of them."""
        model: str = self.rng.choice(self.other_locals)
        words = [
            w
            for x in self.other_locals
            for w in re.findall(r"[a-z]+", x)
            if 3 <= len(w) < REAL_LOCAL_MIN
        ]
        own = tokens["last"] + tokens["first"] + tokens["last2"]

        def piece(m: re.Match[str]) -> str:
            run = m.group(0)
            if run.isdigit():
                first = 1 if len(run) > 1 else 0
                return str(self.rng.randint(first * 10 ** (len(run) - 1), 10 ** len(run) - 1))
            if len(run) < REAL_LOCAL_MIN and words:
                return str(self.rng.choice(words))
            return (own or run)[: len(run)]

        return re.sub(r"[a-z]+|\d+", piece, model)

    def _digits_renewed(self, local: str) -> str:
        """A real handle with new digits (added when it has none), never the same address."""
        if not re.search(r"\d", local):
            return local + str(self.rng.randint(1, 99))

        def fresh(m: re.Match[str]) -> str:  # same length; a leading zero only if it had one
            run = m.group(0)
            first = "0" if run[0] == "0" else str(self.rng.randint(1, 9))
            return first + "".join(str(self.rng.randint(0, 9)) for _ in run[1:])

        return re.sub(r"\d+", fresh, local)

    def _tail_digits(self) -> str:
        """Digits added to a local part whose shape is taken, as the column's own end in
        digits: as many as theirs (a collision's one digit, "antonio.gonzalez3"), one of
        theirs as often as a new address would repeat one; one digit where the column's
        have none. Always three digits gave 47% of a payroll's canaries two digits
        or more at the end, which no real address there had."""
        lengths = self.tail_lengths or Counter({1: 1})
        k = self.rng.choices(list(lengths), list(lengths.values()))[0]

        def fresh() -> str:
            return str(self.rng.randint(10 ** (k - 1) if k > 1 else 1, 10**k - 1))

        pool = self.digit_suffixes.get(k)
        return pool.draw(self.rng, fresh) if pool is not None else fresh()

    def _render_local(self, template: str, tokens: dict[str, str], birth: date, n: int) -> str:
        if template == "{other}" and self.other_locals:
            local = self._other_local(tokens)
        elif template == "{other}":
            base = re.sub(r"[^a-z0-9._]", "", fold(self.faker.user_name()))
            local = base or tokens["first"] + tokens["last"]
        else:
            local = _render_template(template, tokens)

            def digits(m: re.Match[str]) -> str:
                k = int(m.group(1))

                def fresh() -> str:
                    return str(self.rng.randint(10 ** (k - 1) if k > 1 else 0, 10**k - 1))

                pool = self.digit_suffixes.get(k)
                return pool.draw(self.rng, fresh) if pool is not None else fresh()

            local = re.sub(r"\{d(\d+)\}", digits, local)
            local = local.replace("{yyyy}", str(birth.year)).replace("{yy}", birth.strftime("%y"))
        if n >= 20:  # the common shapes are taken: add digits, as people do
            local += self._tail_digits()
        local = re.sub(r"[._-]{2,}", ".", local).strip("._-")
        return local[:64] or "x"


# --- addresses that deliver to a mailbox at a mainstream provider ---------------------

#: Public mail providers whose addresses dominate real registries (canary domains can
#: never be here: a canary at one of them must be an account the organisation owns).
MAINSTREAM_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.es",
        "outlook.com",
        "outlook.es",
        "live.com",
        "live.com.mx",
        "msn.com",
        "yahoo.com",
        "yahoo.com.mx",
        "yahoo.es",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "prodigy.net.mx",
    }
)
#: Public mail providers beyond those: national ones, and the big ones' national
#: domains. A column held by them is one where canaries on the organisation's domains
#: stand out.
PUBLIC_DOMAINS = MAINSTREAM_DOMAINS | {
    "hotmail.co.uk", "hotmail.fr", "hotmail.it", "hotmail.de", "hotmail.ca", "live.ca",
    "outlook.fr", "outlook.de", "outlook.it", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
    "yahoo.it", "yahoo.ca", "yahoo.com.ar", "yahoo.com.br", "yahoo.com.co", "gmx.de",
    "gmx.net", "gmx.at", "web.de", "t-online.de", "freenet.de", "libero.it", "virgilio.it",
    "alice.it", "tiscali.it", "orange.fr", "free.fr", "sfr.fr", "laposte.net",
    "wanadoo.fr", "sapo.pt", "btinternet.com", "sky.com", "virginmedia.com", "shaw.ca",
    "rogers.com", "sympatico.ca", "uol.com.br", "bol.com.br", "terra.com.br",
    "terra.com.mx", "adinet.com.uy", "cantv.net", "vtr.net",
}  # fmt: skip
#: Most dots a Gmail variant gets: real addresses carry zero to two.
MAX_VARIANT_DOTS = 2


def provider_mix(
    addresses: Iterable[str], providers: frozenset[str] = MAINSTREAM_DOMAINS
) -> dict[str, float]:
    """Share of the column's addresses at each mainstream provider domain (each of
    `providers`: `PUBLIC_DOMAINS` for the national ones too)."""
    domains = [a.rpartition("@")[2].lower() for a in addresses if "@" in a]
    if not domains:
        return {}
    counts = Counter(d for d in domains if d in providers)
    return {d: n / len(domains) for d, n in counts.most_common()}


def gmail_variants(local: str) -> list[str]:
    """Dotted forms of a Gmail local part that read like a person's address.

    Gmail ignores dots, so each form delivers to the same account. Only forms a person
    would write are offered: at most two dots, never first, last or doubled, every
    piece at least two characters, never inside a run of digits ("ana.garcia87",
    "an.agarcia87" are kept; "a.n.a.garcia8.7" is not). The account's own form (no dot)
    is left out: mail to it names no canary.
    """
    bare = local.replace(".", "").lower()
    cuts = [
        i
        for i in range(2, len(bare) - 1)
        if not (bare[i - 1].isdigit() and bare[i].isdigit())
        and not (bare[i].isdigit() and bare[i - 1].isalpha() and i < len(bare) - 2)
    ]
    out = []
    for k in range(1, MAX_VARIANT_DOTS + 1):
        for chosen in itertools.combinations(cuts, k):
            if any(b - a < 2 for a, b in itertools.pairwise(chosen)):
                continue
            pieces, start = [], 0
            for c in chosen:
                pieces.append(bare[start:c])
                start = c
            pieces.append(bare[start:])
            out.append(".".join(pieces))
    return out
