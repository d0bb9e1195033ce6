"""Live copies: canary rows planted into a live table in place (`canary plant`), and removed
again (`canary unplant`).

A live copy is held by whoever operates the system (a vendor, a replica): a leak from
it never passes through `canary issue`. The table is its own model (the same synthesis
as copies); the rows obey its constraints (see `canary.formats.live`); all go in in one
transaction, and the register keeps each row's key and values as the database stored
them, so `unplant` removes exactly those rows and the drift check sees any change.

Credentials come from the environment only: `password_env` names the variable; a
password written in the URL is used with a warning and never stored. The register keeps
the URL without its password.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from canary.config import Config
from canary.errors import InputError, NotFound
from canary.formats._tables import reason
from canary.formats._values import to_text
from canary.formats.live import LiveTable, Misfit, Texts, live_engine
from canary.formats.table import Sample
from canary.issue.phonepool import assign_phone_sets
from canary.issue.plant import (
    IssuedCopy,
    _check_traceable,
    _dedupe,
    _existing_phone_sets,
    _other_numbers,
    default_canary_count,
)
from canary.store import chain
from canary.store.engine import Store, new_id
from canary.store.fingerprints import store_fingerprints
from canary.store.models import (
    Canary,
    Copy,
    Dataset,
    Identifier,
    LiveCopy,
    LiveRow,
    PhoneNumber,
)
from canary.store.register import list_domains, list_phones

log = logging.getLogger(__name__)

#: Canaries drawn per row before giving up on a table's constraints.
MAX_ATTEMPTS = 12
#: Column kinds whose values are the canary's own (never replaced by a real row's).
PROTECTED_KINDS = ("email", "phone", "id", "curp", "rfc", "dni")
LIVE_FORMAT = "live"


@dataclass
class PlantRequest:
    """What `canary plant` was asked for."""

    url: str
    table: str
    holder: str
    password_env: str = ""
    purpose: str = ""
    canaries: int | None = None
    issued_by: str = ""
    seed: int | None = None


@dataclass
class PlannedRow:
    persona: Any
    phone: str | None
    values: dict[str, Any]
    statement: str
    text: list[str]
    #: its numbers in the table's other phone columns (column index -> E.164)
    more_phones: dict[int, str] = field(default_factory=dict)


@dataclass
class LivePlan:
    """The rows `plant_live` will insert, prepared (and shown by a dry run) first."""

    request: PlantRequest
    url: str  # without its password
    live: LiveTable
    sample: Sample
    schema: Any
    factory: Any
    rows: list[PlannedRow] = field(default_factory=list)
    #: the register session the factory checks addresses with (closed by `close`)
    lookup: Session | None = None

    def close(self) -> None:
        """Release the live database's connections and the register session."""
        if self.lookup is not None:
            self.lookup.close()
        self.live.engine.dispose()

    def describe(self) -> dict[str, Any]:
        """The plan as a document: what a dry run prints."""
        return {
            "url": self.url,
            "table": self.live.table.name,
            "holder": self.request.holder,
            "constraints": self.live.constraints.describe(),
            "rows": [{k: _show(v) for k, v in r.values.items()} for r in self.rows],
            "statements": [r.statement for r in self.rows],
            "filled_by_database": self.live.constraints.assigned,
        }


@dataclass
class UnplantResult:
    copy_id: str
    #: canary ids: deleted; found altered (kept); already gone; pointed at by other rows (kept)
    removed: list[int]
    changed: list[int]
    missing: list[int]
    referenced: list[int] = field(default_factory=list)


def connection_url(url: str, password_env: str) -> tuple[URL, str]:
    """(the URL to connect with, the URL without its password) from the environment.

    A password written in the URL is used, with a warning; `password_env` names the
    variable holding it otherwise (an unset variable is an error, never an empty
    password). Neither form with a password is ever stored or printed.
    """
    try:
        parsed = make_url(url)
    except Exception:
        raise InputError("the database URL does not parse as a SQLAlchemy URL") from None
    # URL.set(password=None) keeps the password: build the URL again without it.
    bare = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string(hide_password=False)
    if parsed.password is not None:
        log.warning(
            "the URL holds a password: it is used now but not stored; pass it through "
            "--password-env VAR instead (unplant and the drift check need that variable)"
        )
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise InputError(f"${password_env} is not set: export the password in it")
        parsed = parsed.set(password=value)
    return parsed, bare


def open_live(url: str, password_env: str, table: str) -> tuple[LiveTable, str]:
    """The live table reflected, and its URL without the password."""
    full, bare = connection_url(url, password_env)
    engine = live_engine(full)
    try:
        return LiveTable(engine, table, bare), bare
    except BaseException:
        engine.dispose()
        raise


def prepare_plant(store: Store, config: Config, request: PlantRequest) -> LivePlan:
    """Read the live table, make the canaries and shape them to its constraints.

    Writes nothing anywhere: the plan is what a dry run shows and what `plant_live`
    inserts.
    """
    from canary.synth.canaries import CanaryFactory
    from canary.synth.infer import infer_schema

    if not request.holder.strip():
        raise InputError("name the --holder: the vendor or system operating the database")
    if request.canaries is not None and not 1 <= request.canaries <= 1000:
        raise InputError("--canaries must be between 1 and 1000")
    live, bare = open_live(request.url, request.password_env, request.table)
    lookup: Session | None = None
    try:
        sample = live.sample()
        phones = [p.number for p in list_phones(store)]
        schema = infer_schema(sample, pool=phones)
        _check_traceable(schema, sample, bare)
        domains = list_domains(store)
        if schema.email_columns and not domains:
            raise InputError(
                "the table has an email column but no canary domain is registered: "
                "add one with 'canary domain add DOMAIN'"
            )
        if schema.phone_columns and not phones:
            raise InputError(
                "the table has a phone column but no canary phone number is registered: "
                "add one with 'canary phone add NUMBER --provider PROVIDER'"
            )
        rng = random.Random(request.seed)
        count = request.canaries or default_canary_count(sample.row_count)

        lookup = session = store.sessionmaker()  # one session for the many addresses tried

        def email_taken(address: str) -> bool:
            n = session.scalar(
                select(func.count()).where(
                    Identifier.kind == "email", Identifier.value == address.lower()
                )
            )
            return bool(n)

        factory = CanaryFactory(
            schema, sample, domains=domains, rng=rng, email_taken=email_taken, keep_sorted=False
        )
        phones = [p for p in phones if factory.accepts_phone(p)] or phones
        extra: dict[int, list[list[str]]] = {c: [] for c in factory.extra_phone_columns}
        if extra:  # the mobile column beside a landline one takes the numbers fitting it
            phones = [p for p in phones if factory.phone_fits(p)] or phones
        phone_set: list[str] = []
        if schema.phone_columns:
            with store.session() as s:
                existing = _existing_phone_sets(s)
            phone_set = assign_phone_sets(phones, 1, count, existing=existing, rng=rng)[0]
        plan = LivePlan(request, bare, live, sample, schema, factory, lookup=lookup)
        protected = {c.name for c in schema.columns if c.kind in PROTECTED_KINDS}
        with live.engine.connect() as conn:
            for k in range(count):
                phone = phone_set[k % len(phone_set)] if phone_set else None
                more = _other_numbers(factory, extra, phone_set, k, 0)
                plan.rows.append(_draw_row(plan, conn, phone, rng, protected, more_phones=more))
            conn.rollback()
        return plan
    except BaseException:
        if lookup is not None:
            lookup.close()
        live.engine.dispose()
        raise


def _draw_row(
    plan: LivePlan,
    conn: sa.Connection,
    phone: str | None,
    rng: random.Random,
    protected: set[str],
    donor_columns: set[str] | None = None,
    more_phones: dict[int, str] | None = None,
) -> PlannedRow:
    """A canary whose values fit the table and repeat no unique key."""
    live, factory = plan.live, plan.factory
    others = [r.values for r in plan.rows]
    taken = {str(r.persona.email).lower() for r in plan.rows if getattr(r.persona, "email", None)}
    why = ""
    for _ in range(MAX_ATTEMPTS):
        persona = factory.persona()
        if getattr(persona, "email", None) and str(persona.email).lower() in taken:
            continue
        text = factory.make_row(persona, phone=phone, more_phones=more_phones)
        if text is None:
            continue
        try:
            values = live.shape(
                text, rng, plan.sample, protected=protected, donor_columns=donor_columns or ()
            )
        except Misfit as exc:
            why = str(exc)
            continue
        clash = live.collides(conn, values, others)
        if clash:
            why = f"the unique key ({clash}) was taken"
            continue
        return PlannedRow(
            persona, phone, values, live.statement(values), text, dict(more_phones or {})
        )
    raise InputError(
        f"could not make a canary row that fits {live.table.name!r} ({why or 'no row fits'}); "
        "nothing was written"
    )


def plant_live(
    store: Store, config: Config, plan: LivePlan, *, now: datetime | None = None
) -> IssuedCopy:
    """Insert the plan's rows in one transaction and register the live copy.

    A row the database refuses (a CHECK constraint, a unique key taken meanwhile) is
    drawn again with the checked columns taken from a real row; when none fits, the
    transaction is rolled back and nothing is registered.
    """
    live, request = plan.live, plan.request
    when = now or datetime.now(UTC)
    protected = {c.name for c in plan.schema.columns if c.kind in PROTECTED_KINDS}
    checked = {c for rule in live.constraints.checks for c in rule.columns}
    rng = random.Random(request.seed)
    inserted: list[tuple[PlannedRow, Texts, Texts]] = []
    committed = False
    try:
        with live.engine.connect() as conn:
            trans = conn.begin()
            try:
                for i, planned in enumerate(plan.rows):
                    inserted.append(_insert_one(plan, conn, i, planned, rng, protected, checked))
                with store.session() as s:
                    copy = _register(s, config, plan, inserted, when)
                    trans.commit()  # the live rows first: the register never names rows not there
                    committed = True
                return copy
            except BaseException:
                if trans.is_active:
                    trans.rollback()
                if committed:  # the register's commit failed after the live one: take them out
                    _compensate(live, conn, [key for _r, key, _s in inserted])
                raise
    finally:
        plan.close()


def _insert_one(
    plan: LivePlan,
    conn: sa.Connection,
    i: int,
    row: PlannedRow,
    rng: random.Random,
    protected: set[str],
    checked: set[str],
) -> tuple[PlannedRow, Texts, Texts]:
    """Insert row `i` of the plan, drawing it again while the database refuses it."""
    live = plan.live
    last = ""
    for _attempt in range(MAX_ATTEMPTS):
        try:
            key, stored = live.insert(conn, row.values)
            return row, key, stored
        except sa.exc.DBAPIError as exc:
            last = reason(exc)
            log.info("%s refused canary %d: %s", live.table.name, i + 1, last)
            plan.rows[i] = row = _redraw(plan, conn, row, rng, protected, checked)
    raise InputError(
        f"{live.table.name!r} refused every canary row drawn ({last}); nothing was written"
    )


def _compensate(live: LiveTable, conn: sa.Connection, keys: list[Texts]) -> None:
    try:
        with conn.begin():
            for key in keys:
                live.delete(conn, key)
        log.error("the register could not be written; the planted rows were removed again")
    except Exception as exc:
        log.error(
            "the register could not be written and the %d planted rows could not be removed "
            "(%s): remove them by hand, keys: %s",
            len(keys),
            reason(exc),
            keys,
        )


def _redraw(
    plan: LivePlan,
    conn: sa.Connection,
    row: PlannedRow,
    rng: random.Random,
    protected: set[str],
    checked: set[str],
) -> PlannedRow:
    """Another canary for a refused row, with the CHECKed columns taken from a real row."""
    others = [r for r in plan.rows if r is not row]
    saved = plan.rows
    plan.rows = others
    try:
        return _draw_row(
            plan,
            conn,
            row.phone,
            rng,
            protected,
            donor_columns=checked,
            more_phones=row.more_phones,
        )
    finally:
        plan.rows = saved


def _register(
    s: Any,
    config: Config,
    plan: LivePlan,
    inserted: list[tuple[PlannedRow, Texts, Texts]],
    now: datetime,
) -> IssuedCopy:
    live, request, header = plan.live, plan.request, plan.live.header
    digest = hashlib.sha256()
    for _row, _key, stored in inserted:
        digest.update(live.row_sha256_line(stored))
    dataset = Dataset(
        id=new_id("D"),
        name=live.table.name,
        source=plan.url,
        format=LIVE_FORMAT,
        columns=header,
        row_count=plan.sample.row_count,
        sha256=None,
        created_at=now,
        meta={
            "info": {k: str(v) for k, v in plan.sample.info.items()},
            "table": live.table.name,
            "locale": getattr(plan.schema, "locale", None),
        },
    )
    s.add(dataset)
    s.flush()
    store_fingerprints(s, dataset.id, plan.sample.rows)
    copy = Copy(
        id=new_id("C"),
        dataset_id=dataset.id,
        recipient=request.holder.strip(),
        purpose=request.purpose,
        issued_by=request.issued_by or config.plant.issued_by,
        issued_at=now,
        path=plan.url,
        sha256=digest.hexdigest(),
        format=LIVE_FORMAT,
        meta={"live": True, "table": live.table.name},
    )
    s.add(copy)
    s.add(
        LiveCopy(
            copy_id=copy.id,
            url=plan.url,
            table_name=live.table.name,
            password_env=request.password_env,
            planted_at=now,
            unplant={},
            check_state="ok",
            check_error="",
        )
    )
    s.flush()
    idents: list[tuple[str, str]] = []
    used_phones: set[str] = set()
    for row, key, stored in inserted:
        text = ["" if stored[c] is None else str(stored[c]) for c in header]
        canary = Canary(
            copy_id=copy.id,
            dataset_id=dataset.id,
            kind="planted",
            values=dict(zip(header, text, strict=True)),
            position=None,
            created_at=now,
        )
        s.add(canary)
        s.flush()
        s.add(LiveRow(canary_id=canary.id, copy_id=copy.id, key=key, values=stored))
        for kind, value, raw in _dedupe(plan.factory.identifiers(row.persona, text)):
            s.add(Identifier(canary_id=canary.id, kind=kind, value=value, raw=raw))
            idents.append((kind, value))
            if kind == "phone":
                used_phones.add(value)
    chain.append(s, chain.COPY, copy.id, chain.copy_record(copy, idents))
    for number in used_phones:
        phone = s.get(PhoneNumber, number)
        if phone is not None and phone.first_used_at is None:
            phone.first_used_at = now
    log.info("planted %d canaries into %s (%s)", len(inserted), live.table.name, plan.url)
    return IssuedCopy(copy.id, copy.recipient, copy.path, len(inserted), copy.sha256)


def live_copy(store: Store, copy_id: str) -> tuple[LiveCopy, list[LiveRow]]:
    """A live copy and its rows, detached from the session."""
    with store.session() as s:
        lc = s.get(LiveCopy, copy_id)
        if lc is None:
            if s.get(Copy, copy_id) is not None:
                raise InputError(f"{copy_id} is not a live copy (it was issued as a file or table)")
            raise NotFound(f"no copy {copy_id}")
        rows = list(s.scalars(select(LiveRow).where(LiveRow.copy_id == copy_id)))
        s.expunge_all()
    return lc, rows


def unplant(
    store: Store, copy_id: str, password_env: str = "", *, now: datetime | None = None
) -> UnplantResult:
    """Remove exactly the rows `plant` inserted, in one transaction, and record it in the chain.

    A row is deleted only when its key finds it with every value as planted and no
    other row points at it (a foreign key: deleting it would fail or cascade into rows
    that are not ours); a row changed since or pointed at is reported and left in place,
    one already gone is reported missing.
    """
    lc, rows = live_copy(store, copy_id)
    if lc.unplanted_at is not None:
        raise InputError(f"{copy_id} was unplanted on {lc.unplanted_at:%Y-%m-%d %H:%M} UTC")
    live, _bare = open_live(lc.url, password_env or lc.password_env, lc.table_name)
    result = UnplantResult(copy_id, [], [], [])
    try:
        with live.engine.connect() as conn:
            trans = conn.begin()
            try:
                for row in sorted(rows, key=lambda r: r.canary_id):
                    current = live.read(conn, row.key, lock=True)
                    if current is None:
                        result.missing.append(row.canary_id)
                    elif current != row.values:
                        result.changed.append(row.canary_id)
                    elif live.referenced_by(conn, row.key, current):
                        result.referenced.append(row.canary_id)
                    elif live.delete(conn, row.key) == 1:
                        result.removed.append(row.canary_id)
                    else:
                        raise InputError(
                            f"deleting canary {row.canary_id} would not remove exactly one row; "
                            "nothing was removed"
                        )
                with store.session() as s:
                    record = s.get(LiveCopy, copy_id)
                    assert record is not None
                    record.unplanted_at = now or datetime.now(UTC)
                    record.unplant = {
                        "removed": result.removed,
                        "changed": result.changed,
                        "missing": result.missing,
                        "referenced": result.referenced,
                    }
                    s.flush()
                    chain.append(s, chain.UNPLANT, copy_id, chain.unplant_record(record))
                    trans.commit()
            except sa.exc.DBAPIError as exc:
                trans.rollback()
                raise InputError(f"unplanting failed, nothing removed: {reason(exc)}") from None
            except BaseException:
                if trans.is_active:
                    trans.rollback()
                raise
    finally:
        live.engine.dispose()
    log.info(
        "unplanted %s: %d removed, %d changed (kept), %d missing",
        copy_id,
        len(result.removed),
        len(result.changed),
        len(result.missing),
    )
    return result


@dataclass
class RowState:
    canary_id: int
    state: str  # present | deleted | altered


def read_states(url: str, password_env: str, table: str, rows: list[LiveRow]) -> list[RowState]:
    """Each live canary row's state as the database has it now (read only, nothing locked)."""
    live, _bare = open_live(url, password_env, table)
    out: list[RowState] = []
    try:
        with live.engine.connect() as conn:
            live.read_only(conn)
            for row in rows:
                current = live.read(conn, row.key)
                state = (
                    "deleted"
                    if current is None
                    else ("present" if current == row.values else "altered")
                )
                out.append(RowState(row.canary_id, state))
            conn.rollback()
    finally:
        live.engine.dispose()
    return out


def _show(value: Any) -> Any:
    """A typed value as JSON shows it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return to_text(value)
