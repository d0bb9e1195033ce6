"""Search across canaries and hits: identifiers, canary names, senders, subjects, text.

`search(store, "gustavo", SearchFilter(channel="smtp"))` returns ranked, bounded results,
best first:

0. identifier: a canary identifier or a hit's identifier equal to the query, written any
   way `canary trace` reads (an address in any case, a number in any format, an id);
1. name: a canary whose name contains the query's words (accents and case folded), and
   the hits on that canary's addresses and numbers;
2. sender: a hit whose sender contains the query;
3. subject: a hit whose summary (a mail's subject, the start of a message) contains it;
4. text: a hit whose message text contains the query's words.

A hit is listed once, at its best rank; within a rank canaries come first, then hits,
newest first. Filters: `copy` (canaries of that copy, hits naming it among their
candidates), `channel`, `since`/`until` and `strength` apply to hits; with any of
these four, only hits are listed (a canary has no channel, date or strength).

The query is a user's text and the store's text is an adversary's: the query is bound
in length, matched with escaped LIKE patterns (a `%` or `_` in it is literal, on SQLite
and PostgreSQL alike), and every query is limited. Snippets are plain text, for the
caller to escape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from canary.errors import InputError
from canary.hits.attribution import coded_canary_ids, hit_strength
from canary.identifiers import normalize_email, normalize_phone
from canary.investigate.queries import hit_dict
from canary.investigate.trace import looks_like_phone, resolve
from canary.store import search_index
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Hit, HitCopy, Identifier, Incident
from canary.text import fold, safe_text
from canary.vocabulary import IdentifierKind, Strength

log = logging.getLogger(__name__)

MAX_QUERY = 200
MIN_QUERY = 2
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
SNIPPET = 160
CONTACT_KINDS = ("email", "phone")
IDENTIFIER_KINDS = tuple(k.value for k in IdentifierKind)


class Matched(StrEnum):
    """Which field a result matched, best first (its rank is its position here)."""

    IDENTIFIER = "identifier"
    NAME = "name"
    SENDER = "sender"
    SUBJECT = "subject"
    TEXT = "text"

    @property
    def rank(self) -> int:
        return list(Matched).index(self)


@dataclass(frozen=True)
class SearchFilter:
    """What a search narrows by; every field optional. `limit` is capped at MAX_LIMIT."""

    copy: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    strength: str | None = None
    limit: int = DEFAULT_LIMIT

    def hits_only(self) -> bool:
        return any(v is not None for v in (self.channel, self.since, self.until, self.strength))


@dataclass
class SearchResult:
    """One result: a canary or a hit, the field it matched and the text around the match.

    `copies` are the copies it points at (the canary's copy; the hit's candidates, best
    first), `incident` the incident to open for it (the copy's, or the hit's own).
    `detail` is the canary (`canary_dict` shape plus `recipient`) or the hit
    (`canary hits` shape).
    """

    type: str  # canary | hit
    id: int
    matched: Matched
    snippet: str
    copies: list[str]
    incident: int | None
    when: str | None
    detail: dict[str, Any]

    @property
    def rank(self) -> int:
        return self.matched.rank

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "rank": self.rank,
            "matched": self.matched.value,
            "snippet": self.snippet,
            "copies": self.copies,
            "incident": self.incident,
            "when": self.when,
            self.type: self.detail,
        }


@dataclass
class SearchResults:
    query: str
    results: list[SearchResult] = field(default_factory=list)
    #: More matched than the limit allowed: narrow the query or the filters.
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": [r.to_json() for r in self.results],
            "truncated": self.truncated,
        }


def clean_query(q: str) -> str:
    """The query as searched: printable, bounded, at least MIN_QUERY characters."""
    text = safe_text(q, MAX_QUERY)
    if len(text) < MIN_QUERY:
        raise InputError(f"search for at least {MIN_QUERY} characters")
    return text


def parse_strength(value: str) -> str:
    try:
        return Strength(value.strip().lower()).value
    except ValueError:
        choices = ", ".join(s.value for s in Strength)
        raise InputError(f"strength '{safe_text(value, 40)}': use one of {choices}") from None


def snippet(text: str, needle: str, width: int = SNIPPET) -> str:
    """The part of `text` around the first match of `needle` (case-insensitive), bounded."""
    text = safe_text(text, 100000)
    at = text.lower().find(needle.lower()) if needle else -1
    if at < 0 or len(text) <= width:
        return safe_text(text, width)
    start = max(0, at - (width - len(needle)) // 2)
    end = min(len(text), start + width)
    start = max(0, end - width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _exact_forms(session: Session, q: str) -> set[str]:
    """The stored forms the query may be of an identifier: as typed, in either case,
    normalised as an address or a number, and as `canary trace` resolves it."""
    forms = {q, q.lower(), q.upper()}
    if "@" in q:
        forms.add(normalize_email(q))
    if looks_like_phone(q):
        e164 = normalize_phone(q, strict=False)
        if e164:
            forms.add(e164)
    try:
        forms.update(v for _, v in resolve(session, q).keys)
    except InputError:
        pass
    return {f for f in forms if f}


def _copy_ref(session: Session, copy: str | None) -> str | None:
    if copy is None:
        return None
    ref = copy.strip()[:64]
    found = session.get(Copy, ref.upper()) or session.get(Copy, ref)
    return found.id if found else ref


def _hit_query(flt: SearchFilter, copy: str | None) -> Select[Hit]:
    q = select(Hit).options(selectinload(Hit.candidates))
    if copy is not None:
        q = q.where(Hit.id.in_(select(HitCopy.hit_id).where(HitCopy.copy_id == copy)))
    if flt.channel is not None:
        q = q.where(Hit.channel == flt.channel.strip().lower()[:20])
    if flt.since is not None:
        q = q.where(Hit.observed_at >= flt.since)
    if flt.until is not None:
        q = q.where(Hit.observed_at <= flt.until)
    if flt.strength is not None:
        n = (
            select(func.count())
            .select_from(HitCopy)
            .where(HitCopy.hit_id == Hit.id)
            .scalar_subquery()
        )
        strength = parse_strength(flt.strength)
        if strength == Strength.PENDING:
            q = q.where(Hit.classification == "pending")
        elif strength == Strength.UNATTRIBUTED:
            q = q.where(
                Hit.classification != "pending", or_(Hit.classification != "evidence", n == 0)
            )
        elif strength == Strength.EXCLUSIVE:
            q = q.where(Hit.classification == "evidence", n == 1)
        else:  # shared or coded: told apart once the coded canaries are known
            q = q.where(Hit.classification == "evidence", n > 1)
    return q.order_by(Hit.observed_at.desc(), Hit.id.desc())


def _canary_query(copy: str | None) -> Select[Canary]:
    q = select(Canary).options(selectinload(Canary.identifiers), selectinload(Canary.copy))
    if copy is not None:
        q = q.where(Canary.copy_id == copy)
    return q.order_by(Canary.id.desc())


def _name_of(c: Canary) -> str:
    return next((i.value for i in c.identifiers if i.kind == "name"), "")


class _Collector:
    """Results in rank order, a hit once (at its best rank), at most `limit` of them."""

    def __init__(self, session: Session, flt: SearchFilter) -> None:
        self.session = session
        self.flt = flt
        self.limit = max(1, min(int(flt.limit), MAX_LIMIT))
        self.results: list[SearchResult] = []
        self.hits: set[int] = set()
        self.canaries: set[int] = set()
        self.truncated = False

    @property
    def room(self) -> int:
        return self.limit - len(self.results)

    def _add(self, result: SearchResult) -> None:
        if self.room <= 0:
            self.truncated = True
            return
        self.results.append(result)

    def canaries_found(self, rows: list[Canary], matched: Matched, needle: str) -> None:
        incidents = self._incidents([c.copy_id for c in rows if c.copy_id])
        for c in rows:
            if c.id in self.canaries:
                continue
            self.canaries.add(c.id)
            shown = next((i.value for i in c.identifiers if needle in i.value.lower()), "")
            value = shown or _name_of(c)
            self._add(
                SearchResult(
                    "canary",
                    c.id,
                    matched,
                    snippet(value, needle),
                    [c.copy_id] if c.copy_id else [],
                    incidents.get(c.copy_id or ""),
                    c.copy.issued_at.isoformat() if c.copy else None,
                    {
                        "id": c.id,
                        "kind": c.kind,
                        "copy": c.copy_id,
                        "recipient": c.copy.recipient if c.copy else None,
                        "name": _name_of(c),
                        "identifiers": [{"kind": i.kind, "value": i.value} for i in c.identifiers],
                        "position": c.position,
                    },
                )
            )

    def hits_found(self, rows: list[Hit], matched: Matched, text_of: Any, needle: str) -> None:
        want = self.flt.strength
        coded = coded_canary_ids(self.session, rows) if rows else frozenset()
        for h in rows:
            if h.id in self.hits:
                continue
            if want is not None and hit_strength(h, coded).value != parse_strength(want):
                continue
            self.hits.add(h.id)
            doc = hit_dict(h, coded)
            self._add(
                SearchResult(
                    "hit",
                    h.id,
                    matched,
                    snippet(text_of(h), needle),
                    list(doc["copies"]),
                    h.incident_id,
                    h.observed_at.isoformat(),
                    doc,
                )
            )

    def _incidents(self, copy_ids: list[str]) -> dict[str, int]:
        keys = [f"copy:{c}" for c in set(copy_ids)]
        if not keys:
            return {}
        rows = self.session.execute(select(Incident.key, Incident.id).where(Incident.key.in_(keys)))
        return {k[5:]: int(i) for k, i in rows}

    def fetch(self, q: Select[Any]) -> list[Any]:
        """Rows of `q`, bounded: one more than there is room for (a strength filter, which
        is settled in Python for shared and coded hits, reads a few times that)."""
        n = self.room + 1
        if self.flt.strength is not None:
            n *= 4
        return list(self.session.scalars(q.limit(max(n, 1))).unique())


def search(store: Store, query: str, flt: SearchFilter | None = None) -> SearchResults:
    """Canaries and hits matching `query`, ranked (identifier, name, sender, subject, text),
    filtered by `flt`, at most `flt.limit` (capped at MAX_LIMIT)."""
    flt = flt or SearchFilter()
    q = clean_query(query)
    if flt.strength is not None:
        parse_strength(flt.strength)
    lower = q.lower()
    folded = fold(q)
    with store.session() as s:
        copy = _copy_ref(s, flt.copy)
        out = _Collector(s, flt)
        hits = _hit_query(flt, copy)
        canaries = _canary_query(copy)
        forms = _exact_forms(s, q)

        # 0. identifier, exactly (in any of its written forms)
        if not flt.hits_only():
            rows = out.fetch(
                canaries.where(
                    Canary.id.in_(
                        select(Identifier.canary_id).where(
                            # Every kind named: the (kind, value) index serves the lookup
                            # (PostgreSQL read all 3 million identifiers without it).
                            Identifier.kind.in_(IDENTIFIER_KINDS),
                            Identifier.value.in_(forms),
                        )
                    )
                )
            )
            out.canaries_found(rows, Matched.IDENTIFIER, lower)
        rows = out.fetch(hits.where(Hit.identifier.in_(forms)))
        out.hits_found(rows, Matched.IDENTIFIER, lambda h: h.identifier, lower)

        # 1. canary name (folded words), and the hits on that canary's addresses and numbers
        if folded:
            named = select(Identifier.canary_id).where(
                Identifier.kind == "name",
                or_(  # stored folded by `canary issue`; as written by older registers
                    Identifier.value.contains(folded, autoescape=True),
                    func.lower(Identifier.value).contains(lower, autoescape=True),
                ),
                *_name_index(s, folded, lower),
            )
            if not flt.hits_only():
                rows = out.fetch(canaries.where(Canary.id.in_(named)))
                out.canaries_found(rows, Matched.NAME, folded)
            contacts = select(Identifier.value).where(
                Identifier.canary_id.in_(named), Identifier.kind.in_(CONTACT_KINDS)
            )
            rows = out.fetch(hits.where(Hit.identifier.in_(contacts)))
            names = _names_by_contact(s, [h.identifier for h in rows])
            out.hits_found(rows, Matched.NAME, lambda h: names.get(h.identifier, ""), folded)

        # 2. sender; 3. subject (summary); 4. message text (folded words)
        rows = out.fetch(
            hits.where(
                func.lower(Hit.sender).contains(lower, autoescape=True),
                *_hit_index(s, search_index.SENDER, lower),
            )
        )
        out.hits_found(rows, Matched.SENDER, lambda h: h.sender, lower)
        rows = out.fetch(
            hits.where(
                func.lower(Hit.summary).contains(lower, autoescape=True),
                *_hit_index(s, search_index.SUMMARY, lower),
            )
        )
        out.hits_found(rows, Matched.SUBJECT, lambda h: h.summary, lower)
        if folded:
            rows = out.fetch(
                hits.where(
                    Hit.search_text.contains(folded, autoescape=True),
                    *_hit_index(s, search_index.TEXT, folded),
                )
            )
            out.hits_found(rows, Matched.TEXT, lambda h: h.search_text, folded)
        return SearchResults(q, out.results, out.truncated)


def _hit_index(session: Session, index: search_index.Trigrams, needle: str) -> list[Any]:
    """SQLite: the hits the trigram index names for `needle`, a superset of those the
    LIKE beside it matches (none when the index cannot narrow usefully). PostgreSQL
    uses its GIN index for the LIKE itself."""
    rows = search_index.matching_rows(session.connection(), index, [needle])
    return [] if rows is None else [Hit.id.in_(rows)]


def _name_index(session: Session, folded: str, lower: str) -> list[Any]:
    """A condition the name condition implies, that the trigram index of names serves.

    SQLite: the names holding the trigrams of either text. PostgreSQL: `lower(value)`
    contains either text; `value LIKE '%folded%'` implies `lower(value) LIKE
    '%folded%'` (the folded text is lower case ASCII letters, digits and spaces, which
    lower() leaves as they are), so the GIN index over `lower(value)` serves both sides
    of the name condition's OR and the rows found are the same."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        low = func.lower(Identifier.value)
        return [or_(low.contains(folded, autoescape=True), low.contains(lower, autoescape=True))]
    rows = search_index.matching_rows(conn, search_index.NAME, [folded, lower])
    return [] if rows is None else [Identifier.id.in_(rows)]


def _names_by_contact(session: Session, contacts: list[str]) -> dict[str, str]:
    """The canary name holding each address or number (for a name match's snippet)."""
    if not contacts:
        return {}
    holder = Identifier.__table__.alias("holder")
    rows = session.execute(
        select(Identifier.value, holder.c.value)
        .join(holder, and_(holder.c.canary_id == Identifier.canary_id, holder.c.kind == "name"))
        .where(Identifier.value.in_(set(contacts)), Identifier.kind.in_(CONTACT_KINDS))
    )
    return {str(c): str(n) for c, n in rows}
