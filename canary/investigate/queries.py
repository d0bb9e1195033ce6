"""Read-only queries for investigators: the register of copies and the hit history.

Each function returns plain dicts in the JSON shapes of DESIGN (`canary copies`,
`canary copy ID`, `canary hits`), so the CLI, the admin API and tests share them.
`hits_csv` writes the hits as CSV that is safe to open in a spreadsheet: every value
came from an adversary, so cells that a spreadsheet would run as a formula are
neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import Text, case, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from canary import vocabulary
from canary.errors import InputError, NotFound
from canary.hits.attribution import (
    StoredHit,
    coded_canary_ids,
    copy_attribution,
    hit_attribution,
    related_hits,
)
from canary.store import search_index
from canary.store.engine import Store
from canary.store.models import Canary, Copy, Dataset, Hit, HitCopy

#: Classifications that are background noise rather than evidence against a copy.
NOISE = tuple(c.value for c in vocabulary.Classification if c in vocabulary.NOISE)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "id",
    "observed_at",
    "channel",
    "identifier",
    "sender",
    "summary",
    "classification",
    "copies",
    "strength",
    "false_accusation_probability",
)


def parse_time(value: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time as an aware UTC datetime (naive means UTC)."""
    v = value.strip()
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            t = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return t.replace(hour=23, minute=59, second=59) if end_of_day else t
        dt = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"'{value}' is not an ISO date or time; write e.g. 2026-05-01 or 2026-05-01T13:00Z"
        ) from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def noise(session: Session) -> dict[str, int]:
    """How many hits are background noise (control canaries, burn-in, marked as noise by a
    person) or unattributed."""
    rows = dict(
        session.execute(
            select(Hit.classification, func.count())
            .where(Hit.classification.in_((*NOISE, "unattributed")))
            .group_by(Hit.classification)
        ).all()
    )
    return {k: int(rows.get(k, 0)) for k in (*NOISE, "unattributed")}


def list_copies(store: Store) -> dict[str, Any]:
    """Every issued copy, oldest first, with its canary count and its evidence hits:
    `hits` those naming it alone, `shared_hits` those naming it among other candidates
    (the counts kept on the copy, canary.store.copy_counts)."""
    with store.session() as s:
        copies = _copy_rows(s, [])
        return {"copies": copies, "noise": noise(s)}


#: Copies on one page of the dashboard's register.
PAGE = 200


@dataclass
class CopyFilter:
    """What the register of copies narrows by: dataset name (exact), recipient (contains,
    any case: str.casefold), issued between two days (UTC, inclusive)."""

    dataset: str = ""
    recipient: str = ""
    since: date | None = None
    until: date | None = None


def copies_page(store: Store, flt: CopyFilter, page: int = 1, size: int = PAGE) -> dict[str, Any]:
    """One page of `list_copies` (oldest first) matching `flt`, without reading every copy:
    {"copies": [...], "matched": copies matching, "total": every copy, "page", "pages",
    "datasets": names of the datasets copies were issued from}. The recipient test is
    Python's casefold, as the page always did: the store preselects the copies whose
    recipient holds the text in ASCII case, or has any other character (casefold maps
    a few of those, such as "ß", to ASCII), and Python decides."""
    conds: list[Any] = []
    if flt.dataset:
        conds.append(Dataset.name == flt.dataset)
    if flt.since:
        conds.append(Copy.issued_at >= datetime.combine(flt.since, time(), UTC))
    if flt.until:
        conds.append(Copy.issued_at < datetime.combine(flt.until, time(), UTC) + timedelta(1))
    page = max(1, page)
    with store.session() as s:
        if flt.recipient:
            needle = flt.recipient.casefold()
            q = select(Copy.id, Copy.recipient).join(Dataset, Dataset.id == Copy.dataset_id)
            q = q.where(*conds)
            if needle.isascii():
                q = q.where(
                    func.lower(Copy.recipient).contains(needle, autoescape=True)
                    | _not_ascii(s, Copy.recipient)
                )
            ids = [
                cid
                for cid, rcpt in s.execute(q.order_by(Copy.issued_at, Copy.id))
                if needle in rcpt.casefold()
            ]
            matched = len(ids)
            chosen = ids[(page - 1) * size : page * size]
            rows = _copy_rows(s, [Copy.id.in_(chosen)]) if chosen else []
        else:
            matched = int(
                s.scalar(
                    select(func.count())
                    .select_from(Copy)
                    .join(Dataset, Dataset.id == Copy.dataset_id)
                    .where(*conds)
                )
                or 0
            )
            rows = _copy_rows(s, conds, (page - 1) * size, size)
        total = int(s.scalar(select(func.count()).select_from(Copy)) or 0)
        datasets = s.scalars(
            select(Dataset.name)
            .where(select(Copy.id).where(Copy.dataset_id == Dataset.id).exists())
            .distinct()
            .order_by(Dataset.name)
        ).all()
        return {
            "copies": rows,
            "matched": matched,
            "total": total,
            "page": page,
            "pages": max(1, -(-matched // size)),
            "datasets": [str(d) for d in datasets],
        }


def copy_choices(store: Store, most: int) -> list[dict[str, str]] | None:
    """Every copy's id and recipient, oldest first, for a form's list of copies; None when
    there are more than `most` (a list that long is typed into, not scrolled)."""
    with store.session() as s:
        rows = s.execute(
            select(Copy.id, Copy.recipient).order_by(Copy.issued_at, Copy.id).limit(most + 1)
        ).all()
    if len(rows) > most:
        return None
    return [{"id": cid, "recipient": recipient} for cid, recipient in rows]


def _not_ascii(session: Session, column: Any) -> Any:
    """A recipient holding any character outside ASCII."""
    if session.get_bind().dialect.name == "postgresql":
        return column.op("~")("[^\\x01-\\x7F]")
    return column.op("GLOB")("*[^\x01-\x7f]*")


def _copy_rows(
    session: Session, conds: list[Any], offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """The register's rows (as `list_copies`) of the copies matching `conds`, oldest first.

    Read as core rows (the session's connection), not ORM rows, with `issued_at` as the
    text the document shows, formatted without a datetime per copy: PostgreSQL formats
    it (`_issued_text`); SQLite's stored text is rewritten (`_sqlite_issued`). At
    100,000 copies the datetimes (parse, time zone, isoformat) were most of the time.
    """
    con = session.connection()
    dialect = con.dialect.name
    if dialect == "postgresql":
        issued: Any = _issued_text(Copy.issued_at)
    elif dialect == "sqlite":
        issued = type_coerce(Copy.issued_at, Text)  # the stored text, unparsed
    else:
        issued = Copy.issued_at
    q = (
        select(
            Copy.id,
            Copy.recipient,
            Copy.purpose,
            issued,
            Copy.path,
            Dataset.name,
            Copy.canary_count,
            Copy.exclusive_hits,
            Copy.shared_hits,
        )
        .join(Dataset, Dataset.id == Copy.dataset_id)
        .where(*conds)
        .order_by(Copy.issued_at, Copy.id)
        .offset(offset)
        .limit(limit)
    )
    text = (lambda t: t) if dialect == "postgresql" else _sqlite_issued(con.dialect)
    return [
        {
            "id": cid,
            "recipient": recipient,
            "purpose": purpose,
            "issued_at": text(issued_at),
            "dataset": name,
            "path": path,
            "canaries": canaries,
            "hits": exclusive,
            "shared_hits": shared,
        }
        for cid, recipient, purpose, issued_at, path, name, canaries, exclusive, shared in (
            con.execute(q).all()
        )
    ]


def _issued_text(column: Any) -> Any:
    """PostgreSQL: a timestamptz as `datetime.isoformat()` writes it in UTC
    ("2026-05-01T19:00:00+00:00", ".ffffff" before the offset when not zero)."""
    utc = func.timezone("UTC", column)
    fraction = case((func.to_char(utc, "US") == "000000", ""), else_=func.to_char(utc, ".US"))
    return type_coerce(
        func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS').concat(fraction).concat("+00:00"), Text
    )


#: How SQLAlchemy stores a datetime on SQLite (UTC, as canary.store.models.UTCDateTime
#: binds it): "2026-05-01 19:00:00.000000".
_SQLITE_STORED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")


def _sqlite_issued(dialect: Any) -> Any:
    """SQLite: the stored text of a UTC datetime as `datetime.isoformat()` writes it,
    by rewriting the text (what parsing, the time zone and isoformat gave, at a tenth
    of the cost); any other text the column's type reads, as before."""
    read = Copy.__table__.c.issued_at.type.dialect_impl(dialect).result_processor(dialect, None)
    fullmatch = _SQLITE_STORED.fullmatch

    def text(stored: Any) -> str:
        if isinstance(stored, str) and fullmatch(stored):
            fraction = "" if stored.endswith(".000000") else stored[19:]
            return f"{stored[:10]}T{stored[11:19]}{fraction}+00:00"
        value: Any = read(stored) if read is not None else stored
        return str(value.isoformat())

    return text


def find_copy(session: Session, ref: str) -> Copy:
    """The copy a user named, the one lookup every command and page uses.

    Ids are upper-case base32; what was typed is stripped and tried upper-cased, then
    as given (ids written by older versions or by hand).
    """
    ref = ref.strip()
    copy = session.get(Copy, ref.upper()) or session.get(Copy, ref)
    if copy is None:
        raise NotFound(f"no copy {ref[:40]!r}: list them with `canary copies`")
    return copy


def copy_detail(store: Store, copy_id: str) -> dict[str, Any]:
    """One copy with its canaries (values, identifiers, row position), its hit counts
    (`hits` exclusive, `shared_hits`) and what all its hits say (`attribution`)."""
    with store.session() as s:
        cp = find_copy(s, copy_id)
        canaries = s.scalars(
            select(Canary)
            .where(Canary.copy_id == cp.id)
            .options(selectinload(Canary.identifiers))
            .order_by(Canary.id)
        ).all()
        hits = copy_hits(s, cp.id)
        related = related_hits(s, cp.id, hits)
        attr = copy_attribution(cp.id, hits, coded_canary_ids(s, hits + related), related)
        return {
            "id": cp.id,
            "recipient": cp.recipient,
            "purpose": cp.purpose,
            "issued_by": cp.issued_by,
            "issued_at": cp.issued_at.isoformat(),
            "dataset": cp.dataset.name,
            "dataset_id": cp.dataset_id,
            "path": cp.path,
            "format": cp.format,
            "sha256": cp.sha256,
            "hits": cp.exclusive_hits,
            "shared_hits": cp.shared_hits,
            "attribution": attr.to_json(),
            "canaries": [canary_dict(c) for c in canaries],
        }


def copy_hits(session: Session, copy_id: str) -> list[Hit]:
    """Every hit naming `copy_id` among its candidates, oldest first, candidates loaded."""
    q = (
        select(Hit)
        .options(selectinload(Hit.candidates))
        .where(Hit.id.in_(select(HitCopy.hit_id).where(HitCopy.copy_id == copy_id)))
        .order_by(Hit.observed_at, Hit.id)
    )
    return list(session.scalars(q).all())


def canary_dict(c: Canary) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "copy": c.copy_id,
        "values": dict(c.values or {}),
        "identifiers": [{"kind": i.kind, "value": i.value} for i in c.identifiers],
        "position": c.position,
    }


@dataclass
class HitFilter:
    """What `canary hits` narrows by; every field optional."""

    copy: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    recipient: str | None = None
    sender: str | None = None
    classification: str | None = None
    identifier: str | None = None
    limit: int | None = None


class HitRow(StoredHit, Protocol):
    """What `hit_dict` reads of a hit: a `Hit`, or a plain row of it with its candidates."""

    @property
    def id(self) -> int: ...
    @property
    def observed_at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def summary(self) -> str: ...


def hit_dict(hit: HitRow, coded: frozenset[int] = frozenset()) -> dict[str, Any]:
    """A hit in the contract's shape: its classification and its `attribution` (strength,
    scored candidates with their false-accusation probabilities), from the one builder
    `canary.hits.attribution.hit_attribution`; `candidates` repeats those candidates.

    `coded`: the coded canaries among the hits' candidates (`coded_canary_ids`)."""
    attr = hit_attribution(hit, coded)
    doc = attr.to_json()
    return {
        "id": hit.id,
        "observed_at": hit.observed_at.isoformat(),
        "channel": hit.channel,
        "identifier": hit.identifier,
        "sender": hit.sender,
        "summary": hit.summary,
        "copies": attr.copies,
        "classification": hit.classification,
        "attribution": doc,
        "candidates": doc["candidates"],
    }


def hit_dicts(session: Session, hits: list[Hit]) -> list[dict[str, Any]]:
    """`hit_dict` for many hits, the coded canaries among them looked up once."""
    coded = coded_canary_ids(session, hits)
    return [hit_dict(h, coded) for h in hits]


def query_hits(session: Session, flt: HitFilter) -> list[Hit]:
    """Hits matching `flt`, newest first, candidates loaded (best first)."""
    q = select(Hit).options(selectinload(Hit.candidates))
    if flt.copy:
        q = q.where(Hit.id.in_(select(HitCopy.hit_id).where(HitCopy.copy_id == flt.copy.strip())))
    if flt.recipient:
        q = q.where(
            Hit.id.in_(
                select(HitCopy.hit_id)
                .join(Copy, Copy.id == HitCopy.copy_id)
                .where(func.lower(Copy.recipient).contains(flt.recipient.lower(), autoescape=True))
            )
        )
    if flt.channel:
        q = q.where(Hit.channel == flt.channel.strip().lower())
    if flt.since:
        q = q.where(Hit.observed_at >= flt.since)
    if flt.until:
        q = q.where(Hit.observed_at <= flt.until)
    if flt.sender:
        needle = flt.sender.lower()
        # SQLite: the trigram index narrows the rows first when it can (search_index);
        # the LIKE below decides, so the result is the scan's either way.
        narrowed = search_index.sender_rows(session.connection(), needle)
        if narrowed is not None:
            q = q.where(Hit.id.in_(narrowed))
        q = q.where(func.lower(Hit.sender).contains(needle, autoescape=True))
    if flt.classification:
        q = q.where(Hit.classification == flt.classification)
    if flt.identifier:
        q = q.where(Hit.identifier == flt.identifier)
    q = q.order_by(Hit.observed_at.desc(), Hit.id.desc())
    if flt.limit:
        q = q.limit(flt.limit)
    return list(session.scalars(q))


def list_hits(store: Store, flt: HitFilter | None = None) -> dict[str, Any]:
    """`canary hits` as a document: {"hits": [...]}, newest first."""
    with store.session() as s:
        return {"hits": hit_dicts(s, query_hits(s, flt or HitFilter()))}


#: A formula prefix at the start of the cell or after any separator a spreadsheet may
#: split on (",", ";" in Spanish and Latin American locales, tab, "|", line breaks),
#: spaces allowed before it; full-width forms too.
_FORMULA_AFTER_SEPARATOR = re.compile("(^|[,;\t|\r\n])([ ]*)([=+\\-@\uff1d\uff0b\uff0d\uff20])")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula: every piece
    that starts with a formula prefix, after any separator, gets a leading quote."""
    text = "" if value is None else str(value)
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1\2'\3", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def hits_csv(hits: Iterable[dict[str, Any]]) -> str:
    """Hits (as from `list_hits`) as CSV text with a header, formula-safe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    w.writerow(CSV_COLUMNS)
    for h in hits:
        attr = h.get("attribution") or {}
        row = dict(
            h,
            copies=" ".join(h.get("copies", [])),
            strength=attr.get("strength"),
            false_accusation_probability=attr.get("false_accusation_probability"),
        )
        w.writerow([safe_cell(row.get(col)) for col in CSV_COLUMNS])
    return buf.getvalue()
