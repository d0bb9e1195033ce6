"""The store's tables (SQLAlchemy 2 declarative models).

Schema changes go through a new Alembic migration in canary/migrations/versions;
`tests/test_store.py` checks that the models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from canary.identifiers import phone_parts
from canary.text import fold

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """Small key/value facts the installation keeps (e.g. the admin token's hash)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Domain(Base):
    __tablename__ = "domains"
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set by `canary domain remove`: no new canary uses it; issued ones keep resolving.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PhoneNumber(Base):
    __tablename__ = "phone_numbers"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    provider: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Set by `canary phone remove`: no new canary uses it; issued ones keep resolving.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: A fixed line registered with --voice-only: it takes calls, not SMS or WhatsApp.
    voice_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Its country calling code and region, set on insert (`phone_parts`).
    country_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    region: Mapped[str | None] = mapped_column(String(3), nullable=True)


class Dataset(Base):
    """A source table as it was when copies were issued."""

    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    columns: Mapped[list[str]] = mapped_column(JSON)
    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DatasetFingerprintKey(Base):
    """The secret key a dataset's row fingerprints are hashed with (never leaves the store)."""

    __tablename__ = "dataset_fingerprint_keys"
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))  # hex
    rows_sampled: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetFingerprint(Base):
    """A keyed hash of one distinctive cell of one sampled row of a dataset."""

    __tablename__ = "dataset_fingerprints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(16))  # hex, 8 bytes
    text: Mapped[bool] = mapped_column(Boolean, default=True)


class Copy(Base):
    """One tagged export of a dataset to one recipient."""

    __tablename__ = "copies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(500))
    purpose: Mapped[str] = mapped_column(Text, default="")
    issued_by: Mapped[str] = mapped_column(String(500), default="")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Kept counts (canary.store.copy_counts): canaries planted, and evidence hits naming
    #: this copy alone / among other candidates. `canary copies` reads them.
    canary_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    exclusive_hits: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    shared_hits: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    dataset: Mapped[Dataset] = relationship()
    canaries: Mapped[list[Canary]] = relationship(back_populates="copy", order_by="Canary.id")


class Canary(Base):
    """One synthetic person: planted in a copy, or a control never planted anywhere."""

    __tablename__ = "canaries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    copy_id: Mapped[str | None] = mapped_column(ForeignKey("copies.id"), nullable=True, index=True)
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(10), default="planted")  # planted | control
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    copy: Mapped[Copy | None] = relationship(back_populates="canaries")
    identifiers: Mapped[list[Identifier]] = relationship(
        back_populates="canary", order_by="Identifier.id"
    )


class Identifier(Base):
    """Something of a canary that can be contacted or searched for, stored normalised."""

    __tablename__ = "identifiers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    canary_id: Mapped[int] = mapped_column(ForeignKey("canaries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # email | phone | name | id
    value: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(String(500), default="")
    #: A phone's national significant number, country code and region, set on insert
    #: (`canary.identifiers.phone_parts`): identify and trace read them, never parse.
    national: Mapped[str | None] = mapped_column(String(20), nullable=True)
    country_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    region: Mapped[str | None] = mapped_column(String(3), nullable=True)
    #: A name's folded words in sorted order (`name_key`): trace finds a name typed in
    #: any order, case or accents with one index probe.
    folded: Mapped[str | None] = mapped_column(String(500), nullable=True)

    canary: Mapped[Canary] = relationship(back_populates="identifiers")
    __table_args__ = (
        Index("ix_identifiers_kind_value", "kind", "value"),
        # Partial on PostgreSQL too: `declare_postgresql` adds that dialect's `where`.
        Index("ix_identifiers_region", "region", sqlite_where=text("region IS NOT NULL")),
        Index("ix_identifiers_folded", "folded", sqlite_where=text("folded IS NOT NULL")),
    )


def declare_postgresql() -> None:
    """Give the partial indexes their PostgreSQL `where` (what `postgresql_where=` in the
    models would say). Declared when a PostgreSQL engine is made rather than in the class:
    a `postgresql_*` argument imports SQLAlchemy's PostgreSQL dialect (0.04 s of CPU) in
    every command, on a SQLite store too."""
    for index in Base.metadata.tables["identifiers"].indexes:
        condition = index.dialect_options["sqlite"]["where"]
        if condition is not None and index.dialect_options["postgresql"]["where"] is None:
            index.dialect_options["postgresql"]["where"] = condition


def name_key(value: str) -> str:
    """A name's folded words, sorted: "Núñez Peña, María" and "maria nunez pena" meet."""
    return " ".join(sorted(fold(value).split()))


def identifier_forms(kind: str, value: str) -> dict[str, str | None]:
    """The columns kept beside an identifier's value: a phone's national number,
    country code and region, a name's key. Set on every ORM insert; a bulk insert
    (SQLAlchemy core) must add them itself: `{**row, **identifier_forms(kind, value)}`."""
    forms: dict[str, str | None] = {
        "national": None,
        "country_code": None,
        "region": None,
        "folded": None,
    }
    if kind == "name":
        forms["folded"] = name_key(value)[:500]
    elif kind == "phone":
        parts = phone_parts(value)
        if parts is not None:
            forms["national"], forms["country_code"], forms["region"] = parts
    return forms


@event.listens_for(Identifier, "before_insert")
def _identifier_forms(_mapper: Any, _connection: Any, target: Identifier) -> None:
    if target.national is None and target.folded is None:
        for column, form in identifier_forms(target.kind, target.value).items():
            setattr(target, column, form)


@event.listens_for(PhoneNumber, "before_insert")
def _pool_phone_parts(_mapper: Any, _connection: Any, target: PhoneNumber) -> None:
    if target.region is None:
        parts = phone_parts(target.number)
        if parts is not None:
            target.country_code, target.region = parts[1], parts[2]


class IdentifyGeneration(Base):
    """One counter (id 1) that the store's triggers bump in the transaction of any insert,
    update or delete of an identifier or a canary domain: a needle index built at
    another value is stale (`canary.investigate.needles`)."""

    __tablename__ = "identify_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class NeedleIndexPart(Base):
    """A part of identify's needle index (`canary.investigate.needles`): the folded
    needles, the identifier ids behind each, and what the scan needs besides, split in
    chunks; every row carries the generation the index was built at."""

    __tablename__ = "needle_index"
    part: Mapped[str] = mapped_column(String(20), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


@event.listens_for(Canary, "after_insert")
def _count_planted(_mapper: Any, connection: Any, target: Canary) -> None:
    """Keep `Copy.canary_count` (bulk inserts bypass this: they count themselves)."""
    _shift_canary_count(connection, target.copy_id, 1)


@event.listens_for(Canary, "after_delete")
def _uncount_planted(_mapper: Any, connection: Any, target: Canary) -> None:
    _shift_canary_count(connection, target.copy_id, -1)


def _shift_canary_count(connection: Any, copy_id: str | None, delta: int) -> None:
    if copy_id is not None:
        copies = Copy.__table__
        connection.execute(
            copies.update()  # type: ignore[attr-defined]
            .where(copies.c.id == copy_id)
            .values(canary_count=copies.c.canary_count + delta)
        )


class Blob(Base):
    """Evidence bytes exactly as received, content-addressed."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    """Hits grouped per copy (or one bucket for unattributed contact to a domain)."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    copy_id: Mapped[str | None] = mapped_column(ForeignKey("copies.id"), nullable=True, index=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # "copy:ID" | "domain:NAME"
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_hit_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    alerted_hit_count: Mapped[int] = mapped_column(Integer, default=0)
    #: open | investigating | closed (canary.vocabulary.IncidentStatus)
    status: Mapped[str] = mapped_column(String(20), default="open")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Who works the case: a free name (a dashboard user or anyone else), None when nobody.
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Why it was closed (required to close; cleared when reopened, kept in its history).
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Hit(Base):
    """One observed contact to an identifier (or to an unknown address at a canary domain)."""

    __tablename__ = "hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    identifier: Mapped[str] = mapped_column(String(500), index=True)  # normalised
    identifier_kind: Mapped[str] = mapped_column(String(10), default="email")
    sender: Mapped[str] = mapped_column(String(1000), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(30), default="")
    provider_message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("blobs.sha256"), nullable=True, index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: evidence | unattributed | control | burn-in | pending (in the inbox, see HitInbox) |
    #: noise (marked by a person, see CaseEvent)
    classification: Mapped[str] = mapped_column(String(20), default="evidence")
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )

    #: What search reads of the message besides its sender and summary: the text the
    #: listener extracted (body, caller name), folded (canary.text.fold) and bounded.
    #: Not evidence (the raw bytes are) and not in the hash chain.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    candidates: Mapped[list[HitCopy]] = relationship(
        back_populates="hit", order_by="HitCopy.rank", cascade="all, delete-orphan"
    )
    __table_args__ = (
        UniqueConstraint(
            "provider", "provider_message_id", "identifier", name="uq_hits_provider_message"
        ),
        # `canary hits --channel/--classification`, newest first: the first page is read
        # from the index in order instead of sorting every hit of that channel.
        Index("ix_hits_channel_observed", "channel", "observed_at"),
        Index("ix_hits_classification_observed", "classification", "observed_at"),
    )


class HitInbox(Base):
    """A hit received and stored (classification "pending") but not attributed yet.

    The listeners commit the raw evidence and this row before they acknowledge, and
    attribute later (`canary.hits.record.attribute_pending`), which deletes the row in
    the transaction that classifies the hit, files its incident, queues its alert and
    links it into the chain. Rows left by a crash are attributed on the next start.
    """

    __tablename__ = "hit_inbox"
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id"), primary_key=True)
    #: The message's free text, which attribution reads to narrow shared numbers.
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HitCopy(Base):
    """A candidate source copy of a hit, best first, with its score and reason."""

    __tablename__ = "hit_copies"
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id"), primary_key=True)
    copy_id: Mapped[str] = mapped_column(ForeignKey("copies.id"), primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=1.0)
    reason: Mapped[str] = mapped_column(Text, default="")
    canary_id: Mapped[int | None] = mapped_column(ForeignKey("canaries.id"), nullable=True)

    hit: Mapped[Hit] = relationship(back_populates="candidates")


class HitTally(Base):
    """Hits counted per quarter of an hour (UTC): per channel, per best candidate copy,
    and those with a candidate at all (canary.store.hit_tallies). The home page's
    charts over time read these instead of the hits."""

    __tablename__ = "hit_tallies"
    #: channel | copy | copied
    series: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: Quarters of an hour since 1970-01-01 UTC of the hits' `observed_at`.
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The channel, the copy's id, or "" (copied).
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        Index("ix_hit_tallies_series_key_slot", "series", "key", "slot"),
        # SQLite: rows stored in key order, so a period's rows are read without a
        # lookup each (a 30-day ranking of copies reads tens of thousands).
        {"sqlite_with_rowid": False},
    )


class IncidentHit(Base):
    """A shared hit filed in the incident of each of its candidate copies.

    A hit naming one copy belongs to that copy's incident (`Hit.incident_id`). A hit
    naming several copies (a shared number) joins the incident of every candidate,
    one row here per candidate, marked shared there; its `Hit.incident_id` is the
    best candidate's incident, where its alert went.
    """

    __tablename__ = "incident_hits"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id"), primary_key=True, index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=True)


class CaseEvent(Base):
    """One change of the case workflow, by whom and when; append-only.

    kind "incident": an incident's status, assignee or resolution changed and/or a note
    added (`text`); kind "noise": a hit marked as noise, or restored, with the reason
    (`text`). `changes` maps each changed field to [before, after]. Every row is covered
    by a chain link of the same kind (canary.store.chain.case_record).
    """

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # incident | noise
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("hits.id"), nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")


class Alert(Base):
    """An alert in the outbox, one row per channel, until the channel acknowledges it."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # first | digest | unattributed | test | system
    channel: Mapped[str] = mapped_column(String(200))  # channel name, e.g. "webhook#0"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="viewer")  # viewer|investigator|admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChainLink(Base):
    """Append-only hash chain over issuance records and hits (tamper evidence)."""

    __tablename__ = "chain"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # copy | hit | retire | incident | noise
    ref_id: Mapped[str] = mapped_column(String(64))
    record_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CollusionCode(Base):
    """A collusion-resistant code over the copies issued together (`issue --collusion`).

    Secret: which copy holds which coded canary, and each position's bias, are what
    lets `identify` name colluders; the copies themselves do not reveal them.
    """

    __tablename__ = "collusion_codes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    construction: Mapped[str] = mapped_column(String(40))
    coalition: Mapped[int] = mapped_column(Integer)
    length: Mapped[int] = mapped_column(Integer)
    eps: Mapped[float] = mapped_column(Float)
    #: The copies of the code, in member order (member u is copies[u]).
    copies: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodePosition(Base):
    """One position of a code (one coded synthetic person) and its bias."""

    __tablename__ = "code_positions"
    code_id: Mapped[str] = mapped_column(ForeignKey("collusion_codes.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    bias: Mapped[float] = mapped_column(Float)


class CodeMark(Base):
    """A copy holding a code position: the canary row planted for it in that copy."""

    __tablename__ = "code_marks"
    code_id: Mapped[str] = mapped_column(ForeignKey("collusion_codes.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    copy_id: Mapped[str] = mapped_column(ForeignKey("copies.id"), primary_key=True, index=True)
    canary_id: Mapped[int] = mapped_column(ForeignKey("canaries.id"), unique=True)


class Mailbox(Base):
    """An account the organisation owns at a mail provider, read over IMAP by the scheduler.

    Only the *name* of the environment variable holding the password is kept.
    """

    __tablename__ = "mailboxes"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    imap: Mapped[str] = mapped_column(String(500))
    user: Mapped[str] = mapped_column(String(320))
    password_env: Mapped[str] = mapped_column(String(100))
    ca_file: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: new | ok | failing
    state: Mapped[str] = mapped_column(String(20), default="new")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MailboxAlias(Base):
    """An address the provider delivers to a mailbox (Outlook/Yahoo aliases, forwarding)."""

    __tablename__ = "mailbox_aliases"
    alias: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(ForeignKey("mailboxes.address"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailboxVariant(Base):
    """A delivering form of a mailbox's address given to one canary (never reused)."""

    __tablename__ = "mailbox_variants"
    variant: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(ForeignKey("mailboxes.address"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailboxFolder(Base):
    """How far a mailbox folder has been read: (UIDVALIDITY, last UID committed)."""

    __tablename__ = "mailbox_folders"
    address: Mapped[str] = mapped_column(ForeignKey("mailboxes.address"), primary_key=True)
    folder: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class LiveCopy(Base):
    """A copy planted into a live table in place (`canary plant`), held by a vendor or system.

    The URL is kept without its password; `password_env` names the environment
    variable that holds it. `unplant` is frozen once written: the unplanting's chain
    link is derived from it.
    """

    __tablename__ = "live_copies"
    copy_id: Mapped[str] = mapped_column(ForeignKey("copies.id"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(String(300))
    password_env: Mapped[str] = mapped_column(String(100), default="")
    planted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unplanted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: What `canary unplant` did: {"removed": [canary ids], "changed": [...], "missing": [...]}
    unplant: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Drift check: ok | drift | unreachable, and when it last ran
    check_state: Mapped[str] = mapped_column(String(20), default="ok")
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_error: Mapped[str] = mapped_column(Text, default="")


class LiveRow(Base):
    """One canary row inserted into a live table: its key and values as read back."""

    __tablename__ = "live_rows"
    canary_id: Mapped[int] = mapped_column(ForeignKey("canaries.id"), primary_key=True)
    copy_id: Mapped[str] = mapped_column(ForeignKey("live_copies.copy_id"), index=True)
    #: primary key column -> value as text
    key: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: every column -> value as text (None for NULL), as the database stored it
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Drift check: present | deleted | altered
    state: Mapped[str] = mapped_column(String(20), default="present")
