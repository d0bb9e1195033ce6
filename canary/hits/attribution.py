"""Attribution: which copies a hit can have come from, best first, with a score and why.

A hit names an identifier; identifiers name canaries; canaries name copies. A copy
issued after the hit cannot be its source. An email names exactly one copy (emails
are never reused); a phone number may be shared by several copies when the pool is
small, so every holder is a candidate, weighted by what else we know:

- a canary name of that copy written in the message text (any order, accents and case
  folded; the full name, given name and a surname, or the given name alone, weaker);
- other values of that canary quoted in the text (its email, an id, a value with digits
  such as a street address or a CURP);
- the sender's other hits, and (more weakly) other hits within `WINDOW` of this one,
  that point at the same copy.

Scores sum to 1 over the candidates: each is the posterior of that copy among the
holders under a uniform prior, the weights being likelihood ratios. Coded canaries
(shared by design by the copies their code names, `issue --collusion`) are then ranked
by the code's score over every coded canary contacted so far (`_apply_code`).

What a hit says about its candidates, its strength and each candidate's
false-accusation probability, is one typed document, `HitAttribution`, built by
`hit_attribution` at read time from the stored candidates; `false_accusation` is the
one place the probability is computed (for one hit, and for a copy over all its hits
in `copy_attribution`).

Classification:

- ``evidence``: at least one copy issued before the hit holds the identifier;
- ``unattributed``: no canary holds it (unknown address at a canary domain, a number
  in no copy), or only copies issued after the hit do;
- ``control``: only control canaries (never planted) hold it: background noise;
- ``burn-in``: a phone number contacted before its first use in a copy plus the
  burn-in period: noise the number brought with it (candidates kept, for reading).

The burn-in period comes from `burn_in_days`, else ``session.info["burn_in_days"]``,
which `open_store(url, burn_in_days=...)` sets on every session of the store (0 if unset).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from canary.store.codes import coded_positions, coded_verdicts, singled_out_positions
from canary.store.models import Canary, CodeMark, Copy, Hit, HitCopy, Identifier, PhoneNumber
from canary.text import contains_words, fold
from canary.vocabulary import Strength

#: Hits this close in time to another hit support the same copies (weakly).
WINDOW = timedelta(hours=24)
#: How many related hits are read to weigh candidates.
MAX_RELATED = 200
#: How many of the other candidates' hits are read to weigh a copy over all its hits.
MAX_RELATED_HITS = 10_000
#: Weight multipliers (a candidate starts at 1).
NAME_WEIGHT = 20.0
#: The given name alone ("Hola Gustavo"): weaker, a common given name can be chance.
GIVEN_NAME_WEIGHT = 5.0
#: Another value of the canary quoted in the message (its email, an id, a CURP...).
VALUE_WEIGHT = 20.0
SENDER_WEIGHT = 6.0
WINDOW_WEIGHT = 1.5
#: Values quoted from a canary row must be at least this long to count as evidence.
MIN_VALUE_CHARS = 6


@dataclass
class Attribution:
    classification: str  # evidence | unattributed | control | burn-in
    candidates: list[HitCopy] = field(default_factory=list)


def attribute(
    session: Session,
    hit: Hit,
    *,
    text: str = "",
    burn_in_days: float | None = None,
    cache: dict[tuple[str, str], Any] | None = None,
) -> Attribution:
    """Candidate copies for `hit` (not yet flushed), ranked; `text` may narrow phones.

    `cache` (one dict per batch of hits) keeps the canaries found for an identifier, so
    a burst of messages to one canary looks it up once.
    """
    key = (hit.identifier_kind, hit.identifier)
    rows = cache.get(key) if cache is not None else None
    if rows is None:
        rows = session.execute(
            select(Canary, Copy)
            .join(Identifier, Identifier.canary_id == Canary.id)
            .outerjoin(Copy, Copy.id == Canary.copy_id)
            .where(Identifier.kind == hit.identifier_kind, Identifier.value == hit.identifier)
        ).all()
        if cache is not None:
            cache[key] = rows
    if not rows:
        return Attribution("unattributed")
    planted = [(c, cp) for c, cp in rows if cp is not None and c.kind != "control"]
    if not planted:
        return Attribution("control")
    by_copy: dict[str, tuple[Canary, Copy]] = {}
    for c, cp in sorted(planted, key=lambda r: r[0].id):
        if cp.issued_at <= hit.observed_at:
            by_copy.setdefault(cp.id, (c, cp))
    if not by_copy:
        return Attribution("unattributed")
    candidates = _rank(session, hit, list(by_copy.values()), text)
    candidates = _apply_code(session, candidates, {c.id for c, _cp in rows}, cache)
    if hit.identifier_kind == "phone" and _in_burn_in(session, hit, burn_in_days, cache):
        return Attribution("burn-in", candidates)
    return Attribution("evidence", candidates)


def _in_burn_in(
    session: Session,
    hit: Hit,
    burn_in_days: float | None,
    cache: dict[tuple[str, str], Any] | None = None,
) -> bool:
    days = burn_in_days
    if days is None:
        days = float(session.info.get("burn_in_days", 0.0))
    key = ("first-used", hit.identifier)
    if cache is not None and key in cache:
        first_used = cache[key]
    else:  # looked up once per batch, found or not
        number = session.get(PhoneNumber, hit.identifier)
        first_used = number.first_used_at if number is not None else None
        if cache is not None:
            cache[key] = first_used
    if first_used is None:
        return False
    return bool(hit.observed_at < first_used + timedelta(days=days))


def _rank(
    session: Session, hit: Hit, eligible: list[tuple[Canary, Copy]], text: str
) -> list[HitCopy]:
    """Score each candidate copy and explain it; a single candidate scores 1."""
    n = len(eligible)
    what = f"{hit.identifier_kind} {hit.identifier}"
    weights: dict[str, float] = {cp.id: 1.0 for _c, cp in eligible}
    notes: dict[str, list[str]] = defaultdict(list)
    if n > 1:
        names = _name_matches(session, eligible, text)
        for copy_id, (name, full) in names.items():
            weights[copy_id] *= NAME_WEIGHT if full else GIVEN_NAME_WEIGHT
            if full:
                notes[copy_id].append(f"the message names its canary '{name}'")
            else:
                notes[copy_id].append(
                    f"the message names its canary's given name '{name.split()[0]}' "
                    f"(of '{name}'; weaker than a full name)"
                )
        for copy_id, quoted in _value_matches(session, hit, eligible, text).items():
            weights[copy_id] *= VALUE_WEIGHT
            notes[copy_id].append(f"the message quotes its canary's {quoted}")
        sender_support, window_support = _related_support(session, hit, set(weights))
        for copy_id, (support, count) in sender_support.items():
            weights[copy_id] *= 1.0 + SENDER_WEIGHT * support
            notes[copy_id].append(f"the same sender's {count} other hit(s) point at it")
        for copy_id, (support, count) in window_support.items():
            weights[copy_id] *= 1.0 + WINDOW_WEIGHT * support
            notes[copy_id].append(f"{count} other hit(s) within 24 h point at it")
    total = sum(weights.values())
    ordered = sorted(eligible, key=lambda r: (-weights[r[1].id], r[1].issued_at, r[1].id))
    out = []
    for rank, (c, cp) in enumerate(ordered):
        reason = (
            f"{what} is canary #{c.id} of copy {cp.id} issued to {cp.recipient} "
            f"on {cp.issued_at:%Y-%m-%d}"
        )
        if n > 1:
            reason += f"; the number is shared by {n} copies"
        if notes[cp.id]:
            reason += "; " + "; ".join(notes[cp.id])
        out.append(
            HitCopy(
                copy_id=cp.id,
                rank=rank,
                score=weights[cp.id] / total,
                canary_id=c.id,
                reason=reason,
            )
        )
    return out


def _apply_code(
    session: Session,
    candidates: list[HitCopy],
    holders: set[int],
    cache: dict[tuple[str, str], Any] | None = None,
) -> list[HitCopy]:
    """A coded canary (`issue --collusion`) is held by several copies by design: score
    the code over every coded canary contacted so far, this one included, and rank the
    candidates by the code's false-accusation bound (stated in each reason).

    A hit counts for the code only when every canary holding its identifier (`holders`
    for this one) is the same coded person: a pool number several canaries carry says
    one of them was contacted, not which (`singled_out_positions`).
    Whether the candidates' canaries are coded is looked up once per batch (`cache`)."""
    ids = {c.canary_id for c in candidates if c.canary_id is not None}
    if not ids:
        return candidates
    key = ("coded", ",".join(map(str, sorted(ids))))
    coded = cache.get(key) if cache is not None else None
    if coded is None:
        coded = bool(coded_positions(session, ids))
        if cache is not None:
            cache[key] = coded
    if not coded:
        return candidates
    found = singled_out_positions(session, [holders, *_earlier_coded_contacts(session)])
    verdicts = {v.copy_id: v for v in reversed(coded_verdicts(session, found))}
    for c in candidates:
        v = verdicts.get(c.copy_id)
        if v is None:
            continue
        c.reason += (
            f"; coded canary ({v.held} of {v.found} coded canaries contacted are in this "
            f"copy): the code {'names' if v.named else 'does not yet name'} it, "
            f"false-accusation probability {v.false_accusation_probability:.2g}"
        )
    ordered = sorted(
        candidates,
        key=lambda c: (
            verdicts[c.copy_id].false_accusation_probability if c.copy_id in verdicts else 1.0,
            c.rank,
        ),
    )
    for rank, c in enumerate(ordered):
        c.rank = rank
    return ordered


def _earlier_coded_contacts(session: Session) -> list[set[int]]:
    """Every canary holding the identifier of each evidence hit on a coded canary so far
    (one set per identifier)."""
    contacted = (
        select(Hit.identifier_kind.label("kind"), Hit.identifier.label("value"))
        .join(HitCopy, HitCopy.hit_id == Hit.id)
        .join(CodeMark, CodeMark.canary_id == HitCopy.canary_id)
        .where(Hit.classification == "evidence")
        .distinct()
        .limit(MAX_RELATED * 10)
        .subquery()
    )
    groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    for kind, value, canary_id in session.execute(
        select(contacted.c.kind, contacted.c.value, Identifier.canary_id).join(
            Identifier,
            (Identifier.kind == contacted.c.kind) & (Identifier.value == contacted.c.value),
        )
    ):
        groups[(kind, value)].add(canary_id)
    return list(groups.values())


MAX_TEXT = 200_000


def _name_matches(
    session: Session, eligible: list[tuple[Canary, Copy]], text: str
) -> dict[str, tuple[str, bool]]:
    """Copies whose canary (the one holding the number) is named in `text`:
    copy id -> (the name, True for a full name or given name plus a surname, False for
    the given name alone)."""
    folded = fold(text[:MAX_TEXT]) if text else ""
    if not folded:
        return {}
    canary_copy = {c.id: cp.id for c, cp in eligible}
    rows = session.execute(
        select(Identifier.canary_id, Identifier.value).where(
            Identifier.kind == "name", Identifier.canary_id.in_(list(canary_copy))
        )
    ).all()
    found: dict[str, tuple[str, bool]] = {}
    given_only: dict[str, str] = {}
    for canary_id, value in rows:
        name = fold(value)
        parts = name.split()
        # As registered (given names first) or surnames first ("Núñez Peña, María José").
        orders = [" ".join([*parts[k:], *parts[:k]]) for k in range(len(parts))]
        if len(parts) >= 2 and any(contains_words(folded, o) for o in orders):
            found.setdefault(canary_copy[canary_id], (value, True))
        elif (
            len(parts) >= 3
            and any(  # given name plus any one surname ("hola Maria Lopez")
                contains_words(folded, f"{parts[0]} {p}")
                or contains_words(folded, f"{p} {parts[0]}")
                for p in parts[1:]
            )
        ):
            found.setdefault(canary_copy[canary_id], (value, True))
        elif parts and len(parts[0]) >= 3 and contains_words(folded, parts[0]):
            given_only.setdefault(canary_copy[canary_id], value)
    for copy_id, value in given_only.items():
        found.setdefault(copy_id, (value, False))
    return found


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _value_matches(
    session: Session, hit: Hit, eligible: list[tuple[Canary, Copy]], text: str
) -> dict[str, str]:
    """Copies whose canary's other values are quoted in `text`: copy id -> what was quoted.

    Counted: the canary's other identifiers (email, ids) and its row values of at least
    `MIN_VALUE_CHARS` characters holding a digit or an '@' (a street address, a CURP, a
    folio): distinctive enough that chance rarely writes them. The contacted identifier
    itself (in any formatting) is not evidence of anything beyond the contact.
    """
    folded = fold(text[:MAX_TEXT]) if text else ""
    if not folded:
        return {}
    own = _digits(hit.identifier) if hit.identifier_kind == "phone" else ""
    own_folded = fold(hit.identifier)
    by_canary = {c.id: (c, cp.id) for c, cp in eligible}
    rows = session.execute(
        select(Identifier.canary_id, Identifier.kind, Identifier.value).where(
            Identifier.kind != "name", Identifier.canary_id.in_(list(by_canary))
        )
    ).all()
    values: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for canary_id, kind, value in rows:
        values[canary_id].append((str(kind), str(value)))
    found: dict[str, str] = {}
    for canary_id, (canary, copy_id) in by_canary.items():
        candidates = list(values.get(canary_id, []))
        for column, value in (canary.values or {}).items():
            if isinstance(value, str | int) and not isinstance(value, bool):
                v = str(value)
                if len(v) >= MIN_VALUE_CHARS and any(ch.isdigit() or ch == "@" for ch in v):
                    candidates.append((str(column)[:40], v))
        for label, value in candidates:
            needle = fold(value)
            digits = _digits(value)
            if not needle or needle == own_folded or len(needle) < MIN_VALUE_CHARS - 1:
                continue
            if own and len(digits) >= 7 and (own.endswith(digits) or digits.endswith(own)):
                continue  # the contacted number itself, formatted some other way
            if contains_words(folded, needle):
                found.setdefault(copy_id, f"{label} '{value[:80]}'")
                break
    return found


def _related_support(
    session: Session, hit: Hit, copies: set[str]
) -> tuple[dict[str, tuple[float, int]], dict[str, tuple[float, int]]]:
    """Per candidate copy: (summed score, hit count) from the sender's other hits and
    from other hits within `WINDOW`, counting only evidence hits."""
    observed: datetime = hit.observed_at
    conds: list[ColumnElement[bool]] = [
        Hit.observed_at.between(observed - WINDOW, observed + WINDOW)
    ]
    if hit.sender:
        conds.append(Hit.sender == hit.sender)
    q = (
        select(Hit.id, Hit.sender, HitCopy.copy_id, HitCopy.score)
        .join(HitCopy, HitCopy.hit_id == Hit.id)
        .where(or_(*conds), Hit.classification == "evidence", HitCopy.copy_id.in_(list(copies)))
        .order_by(Hit.observed_at.desc())
        .limit(MAX_RELATED)
    )
    if hit.id is not None:
        q = q.where(Hit.id != hit.id)
    sender: dict[str, tuple[float, int]] = {}
    window: dict[str, tuple[float, int]] = {}
    for _hit_id, hit_sender, copy_id, score in session.execute(q):
        target = sender if hit.sender and hit_sender == hit.sender else window
        s, k = target.get(copy_id, (0.0, 0))
        target[copy_id] = (s + float(score), k + 1)
    return sender, window


# --- What a hit says: strength, candidates and the false-accusation probability -------


#: Bits of unpredictability per character of a canary address's local part, counted
#: low on purpose: local parts look like names ("mjlopez"), whose letters carry about
#: 2 to 4 bits each for someone guessing from a list of names (random characters
#: would carry log2(37) = 5.2).
BITS_PER_CHAR = 2.5
#: The chance that a canary phone number is reached without its copy having leaked:
#: random dialling, wrong numbers, recycled-number traffic. Numbers are used only after
#: a burn-in period in which such background contact is measured (and contact during
#: it is classified noise), so 1% is a deliberately cautious bound for the rest.
PHONE_CHANCE = 0.01
#: For other identifier kinds (names, ids found in a dump): as cautious as a phone.
OTHER_CHANCE = 0.01
#: Bounds on a chance probability: never exactly 0, never more than a coin toss.
MIN_CHANCE = 1e-9
MAX_CHANCE = 0.5


def chance_of_contact(kind: str, identifier: str) -> float:
    """The probability that `identifier` was contacted without any copy leaking it.

    An email canary's address exists only in its copy, so the only other way to reach
    it is to guess it: 2^-H with H = `BITS_PER_CHAR` bits per character of the local
    part (mjlopez@...: 7 characters, H = 17.5 bits, about 5e-6). A phone number can
    also be dialled at random: `PHONE_CHANCE`.
    """
    if kind == "email" and "@" in identifier:
        local = identifier.rpartition("@")[0]
        bits = BITS_PER_CHAR * len(local)
        chance: float = 2.0 ** (-bits)
        return min(MAX_CHANCE, max(MIN_CHANCE, chance))
    if kind == "phone":
        return PHONE_CHANCE
    return OTHER_CHANCE


@dataclass(frozen=True)
class Evidence:
    """What the contact(s) to one identifier say about its holders.

    `weights`: for each copy holding the identifier and eligible (issued before the
    contact), its likelihood ratio from the message (name, quoted values, the sender's
    other hits) relative to the other holders; `chance`: the probability of the contact
    without any copy leaking it (`chance_of_contact`).
    """

    weights: Mapping[str, float]
    chance: float


def false_accusation(evidence: Sequence[Evidence]) -> dict[str, float]:
    """For each candidate copy, the probability that blaming it blames a copy that did
    not leak, given all the `evidence` (one item per contacted identifier).

    The model: exactly one of the hypotheses "copy c leaked" (for each candidate c)
    or "nothing leaked, every contact was chance" is true, all equally likely a priori
    (a uniform prior over the candidates plus chance). The likelihood of the contacts
    under "c leaked" is the product over the identifiers of c's likelihood ratio for
    that identifier, normalised so that the best holder's is 1, when c holds it, and
    of the identifier's chance probability when c does not (then the contact to it
    was chance). Under "nothing leaked" it is the product of the chance probabilities.
    The false-accusation probability of c is 1 minus its posterior:

        P(c) = 1 - L(c) / (sum over candidates d of L(d) + L(chance))

    Consequences: one exclusive canary gives P = chance/(1 + chance), about 0 for an
    email address (only a guess reaches it); k holders of a shared number and nothing
    else telling them apart give 1 - 1/(k + chance), about 1 - 1/k; a name in the
    message or the sender's other hits raise a holder's ratio and lower its P; several
    identifiers held together only by one copy make it the only copy that explains
    them all. Contacts to the same identifier are one item (they are not independent:
    one leak of a shared number explains all of them).
    """
    copies = sorted({c for e in evidence for c in e.weights})
    if not copies:
        return {}
    log_like = dict.fromkeys(copies, 0.0)
    log_chance = 0.0
    for e in evidence:
        chance = min(MAX_CHANCE, max(MIN_CHANCE, e.chance))
        best = max(e.weights.values(), default=0.0)
        for c in copies:
            w = e.weights.get(c)
            ratio = w / best if w is not None and best > 0 else None
            log_like[c] += math.log(max(ratio, 1e-300)) if ratio else math.log(chance)
        log_chance += math.log(chance)
    top = max(max(log_like.values()), log_chance)
    like = {c: math.exp(v - top) for c, v in log_like.items()}
    total = sum(like.values()) + math.exp(log_chance - top)
    return {c: min(1.0, max(0.0, 1.0 - like[c] / total)) for c in copies}


def _round(p: float) -> float:
    """Three significant digits: more would overstate what the model knows."""
    return float(f"{p:.3g}")


@dataclass(frozen=True)
class Candidate:
    """One candidate source copy of a hit."""

    copy: str
    score: float
    reason: str
    false_accusation_probability: float

    def to_json(self) -> dict[str, Any]:
        return {
            "copy": self.copy,
            "score": self.score,
            "reason": self.reason,
            "false_accusation_probability": self.false_accusation_probability,
        }


@dataclass(frozen=True)
class HitAttribution:
    """DESIGN's `attribution` object of a hit: its strength and scored candidates."""

    strength: Strength
    candidates: tuple[Candidate, ...] = ()

    @property
    def false_accusation_probability(self) -> float | None:
        """The best candidate's (None when the hit names no copy)."""
        return self.candidates[0].false_accusation_probability if self.candidates else None

    @property
    def copies(self) -> list[str]:
        return [c.copy for c in self.candidates]

    @property
    def is_shared(self) -> bool:
        return self.strength in (Strength.SHARED, Strength.CODED)

    def candidate(self, copy_id: str) -> Candidate | None:
        return next((c for c in self.candidates if c.copy == copy_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "strength": self.strength.value,
            "candidates": [c.to_json() for c in self.candidates],
            "false_accusation_probability": self.false_accusation_probability,
        }


class StoredCandidate(Protocol):
    """What attribution reads of a stored candidate: a `HitCopy`, or a plain row of it."""

    @property
    def copy_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def reason(self) -> str: ...
    @property
    def canary_id(self) -> int | None: ...


class StoredHit(Protocol):
    """What attribution reads of a stored hit: a `Hit` with its candidates loaded (best
    first), or a plain row of it (trace reads hits as table rows, not ORM objects)."""

    @property
    def classification(self) -> str: ...
    @property
    def identifier(self) -> str: ...
    @property
    def identifier_kind(self) -> str: ...
    @property
    def candidates(self) -> Sequence[StoredCandidate]: ...


def hit_strength(hit: StoredHit, coded_canaries: Iterable[int] = ()) -> Strength:
    """The strength of a stored hit, from its classification and candidates."""
    if hit.classification == "pending":
        return Strength.PENDING
    if hit.classification != "evidence" or not hit.candidates:
        return Strength.UNATTRIBUTED
    if len(hit.candidates) == 1:
        return Strength.EXCLUSIVE
    coded = set(coded_canaries)
    if coded and any(c.canary_id in coded for c in hit.candidates):
        return Strength.CODED
    return Strength.SHARED


def hit_evidence(hit: StoredHit) -> Evidence:
    """The hit as one item of `Evidence` (its stored scores are the likelihood ratios)."""
    return Evidence(
        {c.copy_id: float(c.score) for c in hit.candidates},
        chance_of_contact(hit.identifier_kind, hit.identifier),
    )


def hit_attribution(hit: StoredHit, coded_canaries: Iterable[int] = ()) -> HitAttribution:
    """The attribution document of a stored hit (candidates loaded, best first)."""
    strength = hit_strength(hit, coded_canaries)
    if not hit.candidates:
        return HitAttribution(strength)
    if strength is Strength.UNATTRIBUTED:  # noise (burn-in): candidates kept for reading
        return HitAttribution(
            strength,
            tuple(
                Candidate(
                    c.copy_id,
                    float(c.score),
                    f"{c.reason}; contact classified {hit.classification}: background "
                    "noise, not evidence against this copy",
                    1.0,
                )
                for c in hit.candidates
            ),
        )
    probs = false_accusation([hit_evidence(hit)])
    k = len(hit.candidates)
    out = []
    for c in hit.candidates:
        p = _round(probs.get(c.copy_id, 1.0))
        if k == 1:
            why = (
                f"false-accusation probability {p:g}: only this copy held the "
                f"{hit.identifier_kind}; otherwise reached only by chance"
                + (" (guessing the address)" if hit.identifier_kind == "email" else "")
            )
        else:
            why = (
                f"false-accusation probability {p:g}: one of {k} holders, posterior "
                f"{float(c.score):.3g} under a uniform prior"
                + ("" if abs(float(c.score) - 1 / k) > 1e-9 else " (nothing tells them apart)")
            )
        out.append(Candidate(c.copy_id, float(c.score), f"{c.reason}; {why}", p))
    return HitAttribution(strength, tuple(out))


def coded_canary_ids(session: Session, hits: Iterable[Hit]) -> frozenset[int]:
    """The coded canaries among the candidates of `hits`: those `issue --collusion` marked
    in the code's tables (one query per 500)."""
    ids = {c.canary_id for h in hits for c in h.candidates if c.canary_id is not None}
    if not ids:
        return frozenset()
    found: set[int] = set()
    id_list = sorted(ids)
    for i in range(0, len(id_list), 500):
        part = id_list[i : i + 500]
        marked = select(CodeMark.canary_id).where(CodeMark.canary_id.in_(part))
        found.update(session.scalars(marked))
    return frozenset(found)


def related_hits(session: Session, copy_id: str, hits: Iterable[Hit]) -> list[Hit]:
    """Evidence hits naming the other candidates of `copy_id`'s shared hits (one query),
    for `copy_attribution`."""
    others = sorted(
        {c.copy_id for h in hits if len(h.candidates) > 1 for c in h.candidates} - {copy_id}
    )
    if not others:
        return []
    q = (
        select(Hit)
        .options(selectinload(Hit.candidates))
        .where(
            Hit.classification == "evidence",
            Hit.id.in_(select(HitCopy.hit_id).where(HitCopy.copy_id.in_(others))),
        )
        .order_by(Hit.id)
        .limit(MAX_RELATED_HITS)
    )
    return list(session.scalars(q))


@dataclass(frozen=True)
class CopyAttribution:
    """What all the hits naming a copy say about it (`canary copy ID`, the report)."""

    copy: str
    strength: Strength
    false_accusation_probability: float | None
    exclusive_hits: int
    shared_hits: int

    def to_json(self) -> dict[str, Any]:
        return {
            "strength": self.strength.value,
            "false_accusation_probability": self.false_accusation_probability,
            "exclusive_hits": self.exclusive_hits,
            "shared_hits": self.shared_hits,
        }


def copy_attribution(
    copy_id: str,
    hits: Iterable[Hit],
    coded_canaries: Iterable[int] = (),
    related: Iterable[Hit] = (),
) -> CopyAttribution:
    """Combine every evidence hit naming `copy_id` into one false-accusation probability.

    `related`: the other copies' evidence (hits naming any copy that shares a hit with
    this one, see `related_copies`): another candidate's exclusive hits explain a
    shared contact as well as this copy does, so they raise this copy's P. Hits to the
    same identifier are one item of evidence (their ratios averaged); the items combine
    in `false_accusation` over every copy any of them names.
    """
    coded = frozenset(coded_canaries)
    exclusive = shared = 0
    coded_seen = False
    by_ident: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    seen: set[int] = set()
    for h in hits:
        strength = hit_strength(h, coded)
        if strength in (Strength.UNATTRIBUTED, Strength.PENDING):
            continue
        if not any(c.copy_id == copy_id for c in h.candidates):
            continue
        if strength is Strength.EXCLUSIVE:
            exclusive += 1
        else:
            shared += 1
            coded_seen |= strength is Strength.CODED
        by_ident[(h.identifier_kind, h.identifier)].append(h)
        seen.add(h.id)
    if not by_ident:
        return CopyAttribution(copy_id, Strength.UNATTRIBUTED, None, 0, 0)
    for h in related:
        if h.id not in seen and hit_strength(h, coded) not in (
            Strength.UNATTRIBUTED,
            Strength.PENDING,
        ):
            by_ident[(h.identifier_kind, h.identifier)].append(h)
            seen.add(h.id)
    evidence = []
    for (kind, ident), group in by_ident.items():
        sums: dict[str, float] = defaultdict(float)
        for h in group:
            for c in h.candidates:
                sums[c.copy_id] += float(c.score) / len(group)
        evidence.append(Evidence(dict(sums), chance_of_contact(kind, ident)))
    p = _round(false_accusation(evidence).get(copy_id, 1.0))
    if exclusive:
        strength = Strength.EXCLUSIVE
    elif coded_seen:
        strength = Strength.CODED
    else:
        strength = Strength.SHARED
    return CopyAttribution(copy_id, strength, p, exclusive, shared)
