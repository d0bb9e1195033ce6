"""Issuing tagged copies: plant canaries into a table, one copy per recipient.

One pass over the source writes every copy; each copy gets its own canaries
(unique emails, a distinct set of phone numbers), and the register (dataset, copy,
canaries, identifiers, hash-chain link) is written only once every file is in place.
A SQL source's copies may instead go to tables of a database (`out_url`).
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
import unicodedata
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canary.codes import (
    AFFORDABLE_SHARE,
    CONSTRUCTION,
    MAX_COALITION,
    MIN_COALITION,
    CodeSpec,
    affordable_coalition,
    draw,
    spec_for,
)
from canary.config import Config
from canary.errors import InputError
from canary.files import private_dir
from canary.formats import (
    Collision,
    CopyTarget,
    Insertion,
    Sample,
    check_table_outputs,
    is_database,
    open_table,
    table_output,
)
from canary.issue.phonepool import assign_phone_sets
from canary.store import chain
from canary.store.engine import Store, new_id
from canary.store.fingerprints import store_fingerprints
from canary.store.mailboxes import DOT_BLIND, mailboxes_in, reserve_variant, variant_taken
from canary.store.models import (
    Canary,
    CodeMark,
    CodePosition,
    CollusionCode,
    Copy,
    Dataset,
    Identifier,
    PhoneNumber,
)
from canary.store.register import list_domains, list_phones

if TYPE_CHECKING:
    from canary.formats._tables import DbOutput

log = logging.getLogger(__name__)

MAX_COLLISION_RETRIES = 5


@dataclass
class IssueRequest:
    """What `canary issue` was asked for."""

    source: str
    recipients: list[str]
    purpose: str = ""
    canaries: int | None = None
    out_dir: Path | None = None
    #: A SQLAlchemy URL to write a SQL source's copies to, as tables (see `db_outputs`).
    out_url: str | None = None
    table: str | None = None
    sheet: str | None = None
    issued_by: str = ""
    seed: int | None = None
    #: `--collusion C`: add coded canaries that name up to C colluders (None: no code).
    collusion: int | None = None


@dataclass
class IssuedCopy:
    id: str
    recipient: str
    path: str
    canaries: int
    sha256: str
    positions: list[int] = field(default_factory=list)
    #: coded canary rows among `canaries` (`--collusion`)
    coded: int = 0
    #: rows of the source table (what `canary issue` weighs a code's cost against)
    table_rows: int | None = None


def default_canary_count(rows: int | None) -> int:
    """At least 3 per copy, growing slowly (logarithmically) with the table."""
    if not rows or rows <= 1000:
        return 3
    return min(25, 3 + int(math.log2(rows / 1000)))


def slug(text: str) -> str:
    """A file-name-safe form of a recipient's name."""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    t = re.sub(r"[^A-Za-z0-9]+", "-", t).strip("-").lower()
    return t[:60] or "copy"


def output_path(source: str, recipient: str, out_dir: Path, fmt: str, table: str | None) -> Path:
    if "://" in source and not Path(source).exists():
        stem, suffix = (table or "table"), ".sqlite"
    else:
        p = Path(source)
        stem, suffix = p.stem, p.suffix
    return out_dir / f"{stem}.{slug(recipient)}{suffix}"


@dataclass
class _Plan:
    """One copy being prepared: its personas, phones and the rows they became."""

    recipient: str
    path: Path | None
    personas: list[Any]
    phones: list[str | None]
    rows: dict[int, list[str]] = field(default_factory=dict)
    db: DbOutput | None = None
    #: per own persona, its numbers for the table's other phone columns (column -> E.164)
    more_phones: list[dict[int, str]] = field(default_factory=list)
    #: persona index -> code position, for coded personas (appended after its own)
    coded: dict[int, int] = field(default_factory=dict)
    #: persona index -> (mailbox, address delivering to it), for mailbox canaries
    mailbox: dict[int, tuple[str, str]] = field(default_factory=dict)


def issue_copies(
    store: Store,
    config: Config,
    request: IssueRequest,
    progress: Callable[[int, int], None] | None = None,
) -> list[IssuedCopy]:
    """Write one tagged copy per recipient and register them; returns what was issued.

    `progress(done, total)` is called as the source is read. Nothing is registered
    and no copy is left behind if anything fails.
    """
    from canary.synth.canaries import CanaryFactory
    from canary.synth.infer import infer_schema

    recipients = [r.strip() for r in request.recipients if r.strip()]
    if not recipients:
        raise InputError("name at least one --recipient")
    if len({slug(r) for r in recipients}) != len(recipients):
        raise InputError("recipients must be distinct (their copies would share a file name)")
    if request.canaries is not None and not 1 <= request.canaries <= 1000:
        raise InputError("--canaries must be between 1 and 1000")
    check_collusion(request.collusion, len(recipients))
    _check_out_url(request)
    table = open_table(request.source, table=request.table, sheet=request.sheet)
    sample: Sample = table.sample()
    registered = list_phones(store)
    phones = [p.number for p in registered]
    schema = infer_schema(sample, pool=phones)
    _check_traceable(schema, sample, request.source)
    domains = list_domains(store)
    voice = {p.number for p in registered if p.voice_only}
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
    paths: list[Path | None] = [None] * len(recipients)
    dbs: list[DbOutput | None] = [None] * len(recipients)
    if request.out_url is not None:
        outs = db_outputs(request.out_url, request.table or "", recipients)
        check_table_outputs(outs, request.source)
        dbs = list(outs)
    else:
        paths = list(_file_outputs(request, recipients, table.format))

    rng = random.Random(request.seed)
    per_copy = request.canaries or default_canary_count(sample.row_count or len(sample.rows))
    taken_emails: set[str] = set()

    def email_taken(address: str) -> bool:
        a = address.lower()
        if a in taken_emails:
            return True
        with store.session() as s:
            hit = s.scalar(
                select(func.count()).where(Identifier.kind == "email", Identifier.value == a)
            )
        return bool(hit)

    factory = CanaryFactory(schema, sample, domains=domains, rng=rng, email_taken=email_taken)
    _warn_of_a_lone_sparse_contact(schema, factory.extra_phone_columns)
    _warn_of_foreign_domains(schema, domains)
    # Numbers of the table's own country first: a +506 number in a Mexican registry stands out.
    own_country = [p for p in phones if factory.accepts_phone(p)]
    if schema.phone_columns and phones and not own_country:
        log.warning(
            "no canary number is in the country of the table's phone numbers (%s): "
            "canaries carry foreign numbers, which no real row has; add numbers there with "
            "'canary phone add NUMBER --provider PROVIDER'",
            schema.region,
        )
    phones = own_country or phones

    def new_persona() -> Any:
        persona = factory.persona()
        email = getattr(persona, "email", None)
        if email:
            taken_emails.add(str(email).lower())
        return persona

    phone_sets: list[list[str]] = [[] for _ in recipients]
    more_sets: dict[int, list[list[str]]] = {}
    extra_columns = factory.extra_phone_columns if schema.phone_columns else []
    pool = phones
    if extra_columns:
        # With a landline column beside the mobile one, the contact column takes the
        # numbers that fit it, and numbers that fit only another column go there.
        phones = [p for p in pool if factory.phone_fits(p)] or pool
    phones = _of_line(phones, voice, factory.phone_line())
    if schema.phone_columns:
        with store.session() as s:
            existing = _existing_phone_sets(s)
        missing = factory.uncovered_blocks(phones)
        uncovered = sum(share for _block, share in missing)
        if uncovered >= AREA_WARN_SHARE:
            log.warning(
                "%.0f%% of the table's phone numbers are in area codes or operator blocks "
                "no canary number has (%s): canaries never sit in those places, nor do "
                "their numbers start as those rows' do, which a holder of copies can see; "
                "add numbers there, as many as the rows' shares say, with "
                "'canary phone add NUMBER --provider PROVIDER'",
                100 * uncovered,
                _blocks_advice(missing),
            )
        phone_sets = assign_phone_sets(
            phones,
            len(recipients),
            per_copy,
            existing=existing,
            rng=rng,
            weights=factory.phone_weights(phones),
        )
        for column in extra_columns:
            more_sets[column] = _other_column_sets(
                factory, column, [p for p in pool if p not in phones], len(recipients),
                per_copy, [*existing, *map(frozenset, phone_sets)], rng, voice,
            )  # fmt: skip
    plans = [
        _Plan(
            recipient=r,
            path=paths[i],
            db=dbs[i],
            personas=[new_persona() for _ in range(per_copy)],
            phones=[
                (phone_sets[i][k % len(phone_sets[i])] if phone_sets[i] else None)
                for k in range(per_copy)
            ],
            more_phones=_copy_other_numbers(factory, more_sets, phone_sets[i], per_copy, i),
        )
        for i, r in enumerate(recipients)
    ]
    short = min((len(set(ps)) for ps in phone_sets), default=per_copy) if phones else per_copy
    if schema.phone_columns and short < per_copy:
        log.warning(
            "a copy's %d canaries share %d phone number(s): one number in several rows of "
            "a copy, which a holder can see where the table's numbers are each one "
            "person's; add numbers with 'canary phone add NUMBER --provider PROVIDER' "
            "or issue fewer canaries (--canaries)",
            per_copy,
            short,
        )
    for column in extra_columns:
        if not any(column in more for plan in plans for more in plan.more_phones):
            log.warning(
                "no canary number fits the phone column %r (its numbers are in other "
                "area codes or of another line): canaries leave it empty, which a holder "
                "of copies can see where its rows fill it; add numbers like its own with "
                "'canary phone add NUMBER --provider PROVIDER' (--voice-only for landlines)",
                schema.columns[column].name,
            )
    controls = [new_persona() for _ in range(_control_count(per_copy, len(recipients), config))]
    if schema.email_columns:
        _mailbox_addresses(store, sample, schema.email_columns[0], plans, rng)
    code = _draw_code(request.collusion, plans, rng, new_persona)
    if code is not None and extra_columns:
        # numbers of the first holder's, as its own number is
        for h, number in zip(code.holders, code.phones, strict=True):
            own = [p for p in dict.fromkeys(plans[min(h)].phones) if p]
            k = own.index(number) if number in own else 0
            code.more_phones.append(_other_numbers(factory, more_sets, own, k, min(h)))

    at_end = only_end_fits(schema, sample)
    if at_end:
        log.info("the table is sorted by a sequence with no gaps: canaries go after the last row")
    total = table.size()
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    targets: list[CopyTarget] = []
    for _attempt in range(MAX_COLLISION_RETRIES):
        if code is not None:
            code.rows.clear()
        targets = [_target(factory, plan, rng, at_end, code) for plan in plans]
        done = 0
        try:
            table.write_copies(targets, advance if progress else None)
            break
        except Collision as exc:
            log.info("canary value %r already in the source; drawing new canaries", exc.needle)
            for plan in plans:
                plan.personas = [new_persona() for _ in plan.personas[: len(plan.phones)]]
            if code is not None:
                code.personas = [new_persona() for _ in code.personas]
                _attach_code(plans, code)
            if schema.email_columns:
                for plan in plans:
                    plan.mailbox = {}
                _mailbox_addresses(store, sample, schema.email_columns[0], plans, rng)
    else:
        raise InputError("could not draw canaries that do not collide with the source's values")

    try:
        empty = [plan.recipient for plan, t in zip(plans, targets, strict=True) if not t.rows]
        if empty:  # a copy without canaries cannot be traced: never hand one out
            raise InputError(
                f"no canary row fits anywhere in the copy for {', '.join(empty)} (the table's "
                "order leaves no room for a new row); nothing was issued"
            )
        for plan, t in zip(plans, targets, strict=True):
            if len(t.rows) < len(plan.personas):
                log.warning(
                    "the copy for %s holds %d of %d canaries: the others fit nowhere",
                    plan.recipient,
                    len(t.rows),
                    len(plan.personas),
                )
        return _register(
            store, config, request, table, sample, schema, plans, targets, controls, factory, code
        )
    except BaseException:
        for t in targets:
            try:
                t.discard()
            except Exception as exc:
                log.error("could not remove the copy at %s: %s", t.location, exc)
        raise


#: The share of a table's phone rows in area codes or operator blocks the pool lacks
#: above which `issue` warns (canaries never sit there, nor start their numbers so).
AREA_WARN_SHARE = 0.1


def _blocks_advice(missing: list[tuple[str, float]], shown: int = 8) -> str:
    """The missing blocks with their share of the table's rows, the largest first:
    "316 7%, 311 7%, 320 6% and 9 more (41%)"."""
    head = ", ".join(f"{block} {100 * share:.0f}%" for block, share in missing[:shown])
    rest = missing[shown:]
    if rest:
        head += f" and {len(rest)} more ({100 * sum(s for _b, s in rest):.0f}%)"
    return head


#: Column kinds a canary can be found or contacted by; a table without one (a summary
#: sheet, a pivot) cannot carry a canary anyone could ever trace.
TRACEABLE_KINDS = ("email", "phone", "curp", "rfc", "id")


def _check_traceable(schema: Any, sample: Sample, source: str) -> None:
    """Refuse, before anything is written or registered, a table no canary could be traced in.

    A column counts when its kind is a contact, a name or an id and the sampled values
    bear it out (a "Candidatas" column of counts is not a name column).
    """
    from canary.synth.infer import NAME_KINDS

    def holds_values(index: int, kind: str) -> bool:
        values = [r[index].strip() for r in sample.rows if index < len(r) and r[index].strip()]
        if kind in NAME_KINDS:
            worded = [v for v in values if not v.startswith("=") and any(ch.isalpha() for ch in v)]
            return len(worded) * 2 > len(values) > 0
        return bool(values)

    kinds = (*TRACEABLE_KINDS, *NAME_KINDS)
    if any(holds_values(c.index, c.kind) for c in schema.columns if c.kind in kinds):
        return
    seen = ", ".join(f"{c.name!r} ({c.kind})" for c in schema.columns[:8]) or "none"
    more = "..." if len(schema.columns) > 8 else ""
    raise InputError(
        f"{_safe_source(source)} has no contact, name or id column (columns: {seen}{more}): "
        "a canary in it could never be traced, so nothing was written or registered; "
        "issue the sheet or table that holds the people (--table or --sheet to pick it)"
    )


def _check_out_url(request: IssueRequest) -> None:
    """--out-url: only for a SQL source, never with --out-dir."""
    if request.out_url is None:
        return
    if not request.out_url.strip():
        raise InputError("--out-url is empty; give a SQLAlchemy URL")
    if request.out_dir is not None:
        raise InputError("--out-url and --out-dir exclude each other: copies go to one of them")
    if not is_database(request.source):
        raise InputError(
            "--out-url is only for database sources (a SQLite file or a SQLAlchemy URL, "
            f"with --table); {request.source} is a file: use --out-dir"
        )


def db_outputs(url: str, table: str, recipients: list[str]) -> list[DbOutput]:
    """The tables the copies go to, one per recipient, in the databases `url` names.

    `{recipient}` in `url` becomes the recipient's slug, each copy in its own database
    under the source table's name. Without it every copy goes to the one database: as
    `<table>_<slug>` for several recipients, as `<table>` for just one.
    """
    if "{recipient}" in url:
        return [table_output(url.replace("{recipient}", slug(r)), table) for r in recipients]
    if len(recipients) == 1:
        return [table_output(url, table)]
    # Underscores, not the file slug's hyphens: a plain SQL identifier needs no quoting.
    return [table_output(url, f"{table}_{slug(r).replace('-', '_')}") for r in recipients]


def _file_outputs(request: IssueRequest, recipients: list[str], fmt: str) -> list[Path]:
    """Each recipient's copy file in --out-dir (created); refused if it exists or is the source."""
    out_dir = (request.out_dir or Path.cwd()).resolve()
    private_dir(out_dir)
    paths = [output_path(request.source, r, out_dir, fmt, request.table) for r in recipients]
    for p in paths:
        if p.exists():
            raise InputError(f"{p} already exists; remove it or choose another --out-dir")
    source_path = Path(request.source).resolve() if Path(request.source).exists() else None
    if source_path is not None and source_path in {p.resolve() for p in paths}:
        raise InputError("the copy would overwrite the source; choose another --out-dir")
    return paths


def _warn_of_a_lone_sparse_contact(schema: Any, other_phones: list[int]) -> None:
    """Warn where the table's one contact column (an email or the phone column canaries'
    own numbers go in, not both) is empty in many rows: every canary fills it, so
    keeping the rows without one keeps most real rows and no canary (a US voter file
    whose phone is empty in two rows of three: 24 of 24 canaries had one). Not a
    landline column beside the mobile one (`other_phones`), which canaries leave
    empty as often as the rows do."""
    phones = [i for i in schema.phone_columns if i not in other_phones]
    contacts = [schema.columns[i] for i in (*schema.email_columns[:1], *phones[:1])]
    if len(contacts) == 1 and contacts[0].empty_rate >= SPARSE_CONTACT:
        log.warning(
            "the column %r, the table's only contact column, is empty in %.0f%% of its "
            "rows and filled in every canary: keeping the rows without one keeps most real "
            "rows and no canary. A table with an email column beside it lets canaries "
            "leave one of them empty as the rows do",
            contacts[0].name,
            100 * contacts[0].empty_rate,
        )


#: A share of an email column's addresses at mainstream providers that, with no mailbox
#: registered, gets a warning (a hospital's patients all at gmail, hotmail, yahoo: every
#: canary at the canary domain, found by that alone; a university's alumni at 70%, the
#: rest at its own domain: keeping the big providers' kept 70% of rows and no canary).
MAINSTREAM_WARN = 0.6
#: A lone contact column empty in this share of rows or more gets a warning.
SPARSE_CONTACT = 0.3


def _warn_of_foreign_domains(schema: Any, domains: list[str]) -> None:
    """Warn where no canary domain has a top-level domain the table's addresses use:
    every canary's address then ends otherwise than every real one's (a US list's
    ".com" addresses beside canaries on the organisation's ".de" and ".es" domains: 24
    of 24 found by that alone)."""
    from canary.synth.addresses import column_tlds

    if not schema.email_columns or not domains:
        return
    held = schema.columns[schema.email_columns[0]].fmt.get("domains")
    tlds = column_tlds(held) if held else set()
    if tlds and not any(d.rsplit(".", 1)[-1] in tlds for d in domains):
        log.warning(
            "no canary domain ends as the table's addresses do (%s): every canary's "
            "address ends otherwise (%s), which a holder can filter on; add a domain "
            "with one of those endings with 'canary domain add DOMAIN'",
            ", ".join(f".{t}" for t in sorted(tlds)),
            ", ".join(sorted({f".{d.rsplit('.', 1)[-1]}" for d in domains})),
        )


def _control_count(per_copy: int, copies: int, config: Config) -> int:
    share = min(max(config.plant.control_share, 0.0), 0.9)
    if share <= 0:
        return 0
    return max(1, round(per_copy * copies * share / (1 - share)))


def _other_column_sets(
    factory: Any,
    column: int,
    spare: list[str],
    copies: int,
    per_copy: int,
    existing: list[frozenset[str]],
    rng: random.Random,
    voice: AbstractSet[str] = frozenset(),
) -> list[list[str]]:
    """Each copy's numbers for one of the table's other phone columns (a landline column
    beside the mobile one): drawn, as the contact column's are, from the pool numbers
    that fit that column and not the contact one, so a copy's numbers stay its own.
    Empty lists where none fits: the canaries then take another of their copy's numbers
    that fits the column, if any (`_other_numbers`), or leave it empty."""
    fit = _of_line(
        [n for n in spare if factory.phone_fits(n, column)], voice, factory.phone_line(column)
    )
    if not fit:
        return [[] for _ in range(copies)]
    try:
        return assign_phone_sets(
            fit,
            copies,
            per_copy,
            existing=existing,
            rng=rng,
            weights=factory.phone_weights(fit, column),
        )
    except InputError:  # too few of them for distinct sets: the copies' own numbers
        return [[] for _ in range(copies)]


def _of_line(numbers: list[str], voice: AbstractSet[str], line: str) -> list[str]:
    """The numbers of a column's line: for a landline column those registered
    `--voice-only`, for a mobile one the others; all of them where none is of the line.
    Where the numbering plan tells lines apart `phone_fits` has already sorted them;
    where it does not (the Dominican Republic's 809, 829, 849) the registration is all
    that tells: placed by the plan alone, a Dominican roll's landlines went in
    "CELULAR" and its mobiles in "TELEFONO" (3 of 3 and 7 of 7)."""
    from canary.synth.cells import FIXED, MOBILE

    if line == MOBILE:
        kept = [n for n in numbers if n not in voice]
    elif line == FIXED:
        kept = [n for n in numbers if n in voice]
    else:
        return numbers
    return kept or numbers


def _other_numbers(
    factory: Any, more_sets: dict[int, list[list[str]]], own: list[str], k: int, i: int
) -> dict[int, str]:
    """The `k`th canary of copy `i`: a number for each other phone column, from the
    column's own sets, else another of the copy's numbers (`own`) that fits there (not
    the canary's own: the same number twice in a row gives a canary away). A column
    with neither is left out, so the canary leaves it empty."""
    out: dict[int, str] = {}
    mine = own[k % len(own)] if own else None
    for column, sets in more_sets.items():
        chosen = sets[i] if sets and sets[i] else []
        if chosen:
            out[column] = chosen[k % len(chosen)]
            continue
        others = [n for n in own if n != mine and factory.phone_fits(n, column)]
        if others:
            out[column] = others[k % len(others)]
    return out


def _copy_other_numbers(
    factory: Any, more_sets: dict[int, list[list[str]]], own: list[str], per_copy: int, i: int
) -> list[dict[int, str]]:
    """The other phone columns' numbers of copy `i`'s canaries (`_other_numbers`). In a
    column its rows leave empty now and then (a landline), a number goes to one canary
    of the copy only, and only to one whose own number has its area code
    (`same_area`); the others leave it empty, as real rows do. Handed round, a copy's
    three landlines stood in two households each (8 of 24 canaries of a household
    survey), some in another city than the canary's mobile and address (5 of 24)."""
    out = [_other_numbers(factory, more_sets, own, k, i) for k in range(per_copy)]
    for column, sets in more_sets.items():
        chosen = sets[i] if sets and sets[i] else []
        if not chosen or factory.cols[column].empty_rate < EMPTY_NUMBERS:
            continue
        free = list(chosen)
        short = 0
        for k, numbers in enumerate(out):
            mine = own[k % len(own)] if own else None
            pick = next((n for n in free if factory.same_area(mine, n)), None)
            if pick is None:
                short += numbers.pop(column, None) is not None
            else:
                numbers[column] = pick
                free.remove(pick)
        if short:
            log.info(
                "%d of copy %d's canaries leave phone column %d empty: the pool has too few "
                "numbers for it in their area codes (add some with --voice-only)",
                short, i + 1, column,
            )  # fmt: skip
    return out


#: Share of a phone column's rows left empty, at least, for its canaries to leave it
#: empty rather than repeat a number or take one of another area (`_copy_other_numbers`).
EMPTY_NUMBERS = 0.05


def _existing_phone_sets(session: Session) -> list[frozenset[str]]:
    rows = session.execute(
        select(Canary.copy_id, Identifier.value)
        .join(Identifier, Identifier.canary_id == Canary.id)
        .where(Identifier.kind == "phone", Canary.kind == "planted")
    ).all()
    sets: dict[str | None, set[str]] = {}
    for copy_id, value in rows:
        sets.setdefault(copy_id, set()).add(value)
    return [frozenset(v) for v in sets.values()]


def only_end_fits(schema: Any, sample: Sample) -> bool:
    """True when the table is sorted by an id sequence with no gaps (F-00001, F-00002...,
    or one step throughout: 2, 5, 8...).

    No new id fits between two rows of such a table, so the only place a canary can go
    without breaking the order or reusing an id is after the last row, where a growing
    registry adds its rows anyway.
    """
    from canary.synth.cells import id_number

    for i, col in enumerate(schema.columns):
        if col.kind != "id" or not getattr(col, "sorted", False):
            continue
        nums = [id_number(r[i]) for r in sample.rows if i < len(r) and r[i]]
        steps = [
            b - a if a is not None and b is not None else 0 for a, b in itertools.pairwise(nums)
        ]
        # one step throughout: 1, or 3 in a census numbered 2, 5, 8 (a number between
        # two of its rows would be off its steps: 24 of 24 canaries)
        if len(nums) >= 3 and steps[0] >= 1 and all(s == steps[0] for s in steps):
            return True
    return False


def _target(
    factory: Any,
    plan: _Plan,
    rng: random.Random,
    at_end: bool = False,
    code: _Code | None = None,
) -> CopyTarget:
    plan.rows = {}
    insertions: list[Insertion] = []
    needles: list[str] = []
    own = len(plan.phones)
    fractions = [1.0 if at_end else rng.random() for _ in range(own)]
    fractions.sort()
    order = list(range(own))
    rng.shuffle(order)
    for drawn, i in zip(fractions, order, strict=True):
        persona, phone = plan.personas[i], plan.phones[i]
        more = plan.more_phones[i] if i < len(plan.more_phones) else None
        provisional = factory.make_row(persona, phone=phone, prev=None, next=None, more_phones=more)
        frac = drawn if at_end else factory.place_of(persona, drawn, provisional)

        def make_row(
            prev: list[str] | None,
            nxt: list[str] | None,
            *,
            _i: int = i,
            _p: Any = persona,
            _ph: str | None = phone,
            _more: dict[int, str] | None = more,
        ) -> list[str] | None:
            row: list[str] | None = _row_at(factory, _p, _ph, prev, nxt, _more, at_end)
            if row is not None:
                plan.rows[_i] = row
            return row

        insertions.append(Insertion(fraction=frac, make_row=make_row))
        if provisional is not None:
            needles.extend(n for n in factory.needles(persona, provisional) if n)
    if code is not None:
        insertions.extend(_coded_insertions(factory, plan, code, at_end, needles))
    insertions.sort(key=lambda ins: ins.fraction)
    return CopyTarget(path=plan.path, insertions=insertions, needles=needles, db=plan.db)


# --- coded canaries (`--collusion`) -------------------------------------------------


@dataclass
class _Code:
    """The code drawn for this issue: per position its synthetic person, the copies
    (plan indexes) holding it, its place in the table and, once made, its row."""

    spec: CodeSpec
    holders: list[frozenset[int]]
    personas: list[Any]
    phones: list[str | None]
    fractions: list[float]
    rows: dict[int, list[str]] = field(default_factory=dict)
    #: per position, its numbers for the table's other phone columns
    more_phones: list[dict[int, str]] = field(default_factory=list)


def check_collusion(collusion: int | None, copies: int) -> None:
    """`--collusion C`: C between 2 and the largest size measured, and fewer than the copies."""
    if collusion is None:
        return
    if not MIN_COALITION <= collusion <= MAX_COALITION:
        raise InputError(f"--collusion must be between {MIN_COALITION} and {MAX_COALITION}")
    if copies <= collusion:
        raise InputError(
            f"--collusion {collusion} needs more than {collusion} recipients: with "
            f"{copies} copies every recipient could be a colluder"
        )


def collusion_advice(rows: int | None, copies: int) -> str:
    """What `canary issue` says when it issues 3+ copies without `--collusion`."""
    if not rows:
        return ""
    afford = affordable_coalition(rows, copies)
    share = f"{AFFORDABLE_SHARE:.0%}"
    two = spec_for(2, copies)
    if afford == 0:
        return (
            f"no copy is coded against collusion: two recipients who keep only the rows "
            f"their copies share remove every canary. --collusion 2 would add about "
            f"{two.rows_per_copy:.0f} rows per copy ({two.rows_per_copy / rows:.1%} of this "
            f"{rows}-row table; more than the {share} that stays unnoticed)"
        )
    spec = spec_for(afford, copies)
    return (
        f"no copy is coded against collusion; this table affords --collusion {afford} "
        f"(about {spec.rows_per_copy:.0f} coded rows per copy, "
        f"{spec.rows_per_copy / rows:.1%} of the table; at most {share})"
    )


def _draw_code(
    collusion: int | None,
    plans: list[_Plan],
    rng: random.Random,
    new_persona: Callable[[], Any],
) -> _Code | None:
    if collusion is None:
        return None
    spec = spec_for(collusion, len(plans))
    holders = draw(spec, rng)
    phones: list[str | None] = []
    for h in holders:  # one number of a holder's phone set, the same in every copy
        pool = [p for p in plans[min(h)].phones if p]
        phones.append(rng.choice(pool) if pool else None)
    code = _Code(
        spec=spec,
        holders=holders,
        personas=[new_persona() for _ in holders],
        phones=phones,
        fractions=[rng.random() for _ in holders],
    )
    _attach_code(plans, code)
    log.info(
        "coded against %d colluders: %d coded canaries, about %.0f per copy",
        collusion,
        len(holders),
        spec.rows_per_copy,
    )
    return code


def _attach_code(plans: list[_Plan], code: _Code) -> None:
    """Append each coded persona to the plans of the copies holding it."""
    for plan in plans:
        del plan.personas[len(plan.phones) :]
        plan.coded = {}
    for j, holders in enumerate(code.holders):
        for u in sorted(holders):
            plans[u].coded[len(plans[u].personas)] = j
            plans[u].personas.append(code.personas[j])


def _row_at(
    factory: Any,
    persona: Any,
    phone: str | None,
    prev: list[str] | None,
    nxt: list[str] | None,
    more: dict[int, str] | None,
    at_end: bool,
) -> list[str] | None:
    """The persona's row between `prev` and `nxt`; after the last row of a table
    numbered without gaps, where it must go, out of the table's other order when no
    row fits it (the last row's name the column's last: a Dominican roll numbered
    1..1250 and sorted by province, municipality and surname was refused whole)."""
    row: list[str] | None = factory.make_row(
        persona, phone=phone, prev=prev, next=nxt, more_phones=more
    )
    if row is None and at_end and nxt is None:
        row = factory.make_row(
            persona, phone=phone, prev=prev, next=nxt, more_phones=more, keep_order=False
        )
    return row


def _coded_insertions(
    factory: Any, plan: _Plan, code: _Code, at_end: bool, needles: list[str]
) -> list[Insertion]:
    """A coded row is made once and written identically into every copy holding it
    (at the same place in the table), so comparing copies cannot tell it from real rows."""
    out = []
    for i, j in plan.coded.items():
        persona, phone = code.personas[j], code.phones[j]
        more = code.more_phones[j] if j < len(code.more_phones) else None

        def make_row(
            prev: list[str] | None,
            nxt: list[str] | None,
            *,
            _i: int = i,
            _j: int = j,
            _p: Any = persona,
            _ph: str | None = phone,
            _more: dict[int, str] | None = more,
        ) -> list[str] | None:
            row = code.rows.get(_j)
            if row is None:
                row = _row_at(factory, _p, _ph, prev, nxt, _more, at_end)
                if row is None:
                    return None
                code.rows[_j] = row
            plan.rows[_i] = list(row)
            return list(row)

        provisional = factory.make_row(persona, phone=phone, prev=None, next=None, more_phones=more)
        frac = 1.0 if at_end else factory.place_of(persona, code.fractions[j], provisional)
        out.append(Insertion(fraction=frac, make_row=make_row))
        if provisional is not None:
            needles.extend(n for n in factory.needles(persona, provisional) if n)
    return out


def _register(
    store: Store,
    config: Config,
    request: IssueRequest,
    table: Any,
    sample: Sample,
    schema: Any,
    plans: list[_Plan],
    targets: list[CopyTarget],
    controls: list[Any],
    factory: Any,
    code: _Code | None = None,
) -> list[IssuedCopy]:
    now = datetime.now(UTC)
    header = sample.header
    issued: list[IssuedCopy] = []
    with store.session() as s:
        dataset = Dataset(
            id=new_id("D"),
            name=Path(request.source).name
            if "://" not in request.source
            else (request.table or ""),
            source=_safe_source(request.source),
            format=table.format,
            columns=header,
            row_count=sample.row_count,
            sha256=table.source_sha256(),
            created_at=now,
            meta={
                "info": {k: str(v) for k, v in sample.info.items()},
                "table": request.table,
                "locale": getattr(schema, "locale", None),
            },
        )
        s.add(dataset)
        s.flush()
        # Keyed hashes of a sample of the source's rows, so `identify` can say whose rows a
        # dump holds even with every canary stripped; the values themselves are not kept.
        store_fingerprints(s, dataset.id, sample.rows)
        used_phones: set[str] = set()
        marks: list[tuple[int, str, int]] = []  # (code position, copy id, canary id)
        for plan, target in zip(plans, targets, strict=True):
            copy = Copy(
                id=new_id("C"),
                dataset_id=dataset.id,
                recipient=plan.recipient,
                purpose=request.purpose,
                issued_by=request.issued_by or config.plant.issued_by,
                issued_at=now,
                path=target.location,
                sha256=target.sha256,
                format="sql" if target.db is not None else table.format,
                meta={},
            )
            s.add(copy)
            s.flush()
            positions = _positions_by_persona(plan, target)
            idents_for_chain: list[tuple[str, str]] = []
            for i, persona in enumerate(plan.personas):
                row = plan.rows.get(i)
                if row is None:
                    continue
                canary = Canary(
                    copy_id=copy.id,
                    dataset_id=dataset.id,
                    kind="planted",
                    values=dict(zip(header, row, strict=False)),
                    position=positions.get(i),
                    created_at=now,
                )
                s.add(canary)
                s.flush()
                if i in plan.coded:
                    marks.append((plan.coded[i], copy.id, canary.id))
                if i in plan.mailbox:
                    reserve_variant(s, *plan.mailbox[i])
                for kind, value, raw in _dedupe(factory.identifiers(persona, row)):
                    s.add(Identifier(canary_id=canary.id, kind=kind, value=value, raw=raw))
                    idents_for_chain.append((kind, value))
                    if kind == "phone":
                        used_phones.add(value)
            chain.append(s, "copy", copy.id, chain.copy_record(copy, idents_for_chain))
            issued.append(
                IssuedCopy(
                    copy.id,
                    copy.recipient,
                    copy.path,
                    len(plan.rows),
                    copy.sha256,
                    sorted(positions.values()),
                    coded=sum(1 for i in plan.rows if i in plan.coded),
                    table_rows=sample.row_count,
                )
            )
        if code is not None:
            _register_code(s, dataset.id, [c.id for c in issued], code, marks, now)
        for persona in controls:
            row = factory.make_row(persona, phone=None, prev=None, next=None)
            if row is None:
                continue
            canary = Canary(
                copy_id=None,
                dataset_id=dataset.id,
                kind="control",
                values=dict(zip(header, row, strict=False)),
                created_at=now,
            )
            s.add(canary)
            s.flush()
            for kind, value, raw in _dedupe(factory.identifiers(persona, row)):
                if kind in ("email", "name"):
                    s.add(Identifier(canary_id=canary.id, kind=kind, value=value, raw=raw))
        for number in used_phones:
            row_ = s.get(PhoneNumber, number)
            if row_ is not None and row_.first_used_at is None:
                row_.first_used_at = now
    log.info("issued %d copies of %s", len(issued), _safe_source(request.source))
    return issued


def _mailbox_addresses(
    store: Store, sample: Sample, column: int, plans: list[_Plan], rng: random.Random
) -> None:
    """Give a share of each copy's own canaries an address at a mainstream provider that
    delivers to one of the organisation's mailboxes, following the column's provider mix.

    Each canary draws a provider as the column's real addresses are spread; when a
    mailbox at that provider can carry one more address (a Gmail dot variant never used
    before, or an unused registered alias), the canary gets it, else it keeps its canary
    domain address. A filter that keeps only the big providers then keeps these.
    """
    from canary.synth.addresses import PUBLIC_DOMAINS, gmail_variants, provider_mix

    addresses = [r[column] for r in sample.rows if column < len(r) and r[column]]
    mix = provider_mix(addresses)
    public = provider_mix(addresses, PUBLIC_DOMAINS)
    with store.session() as s:
        active = mailboxes_in(s, active_only=True)
        if not active or not mix:
            if not active and sum(public.values()) >= MAINSTREAM_WARN:
                log.warning(
                    "%.0f%% of the email column's addresses are at mainstream providers "
                    "(%s) and no mailbox is registered: every canary's address is on the "
                    "canary domains, and keeping only the big providers' addresses removes "
                    "them all; register mailboxes at those providers with 'canary mailbox "
                    "add' (docs/mailboxes.md)",
                    100 * sum(public.values()),
                    ", ".join(f"{d} {100 * x:.0f}%" for d, x in list(public.items())[:4]),
                )
            return
        pools: dict[str, list[tuple[str, str]]] = {}
        for m in active:
            local, _, domain = m.address.partition("@")
            if domain in DOT_BLIND:
                for v in gmail_variants(local):
                    address = f"{v}@{domain}"
                    if not variant_taken(s, address):
                        pools.setdefault(domain, []).append((m.address, address))
            for alias in m.aliases:
                if not variant_taken(s, alias):
                    pools.setdefault(alias.partition("@")[2], []).append((m.address, alias))
    for entries in pools.values():
        rng.shuffle(entries)
    sample_emails = {r[column].strip().lower() for r in sample.rows if column < len(r)}
    used = 0
    for plan in plans:
        for i, persona in enumerate(plan.personas[: len(plan.phones)]):
            provider = _pick_provider(mix, rng.random())
            if provider is None:
                continue  # the column's address was not at a mainstream provider
            pool = pools.get(provider, [])
            while pool and pool[-1][1] in sample_emails:
                pool.pop()
            if not pool:
                continue
            mailbox, address = pool.pop()
            persona.email = address
            persona.keep_email = True
            plan.mailbox[i] = (mailbox, address)
            used += 1
    if used:
        log.info("%d canaries get addresses delivering to the organisation's mailboxes", used)


def _pick_provider(mix: dict[str, float], draw: float) -> str | None:
    """The provider domain `draw` (0..1) falls on in the column's mix, or None."""
    for domain, share in mix.items():
        draw -= share
        if draw < 0:
            return domain
    return None


def _register_code(
    s: Session,
    dataset_id: str,
    copy_ids: list[str],
    code: _Code,
    marks: list[tuple[int, str, int]],
    now: datetime,
) -> None:
    """Keep the code's secrets: each position's bias and which copy's canary stands for it."""
    record = CollusionCode(
        id=new_id("K"),
        dataset_id=dataset_id,
        construction=CONSTRUCTION,
        coalition=code.spec.coalition,
        length=len(code.holders),
        eps=code.spec.eps,
        copies=copy_ids,
        created_at=now,
    )
    s.add(record)
    s.flush()
    for j in range(len(code.holders)):
        s.add(CodePosition(code_id=record.id, position=j, bias=code.spec.bias))
    s.flush()
    for position, copy_id, canary_id in marks:
        s.add(CodeMark(code_id=record.id, position=position, copy_id=copy_id, canary_id=canary_id))


def _positions_by_persona(plan: _Plan, target: CopyTarget) -> dict[int, int]:
    """Map each persona to its row index in the copy, matching the rows the writer wrote."""
    out: dict[int, int] = {}
    remaining = dict(plan.rows)
    for pos, row in zip(target.positions, target.rows, strict=False):
        for i, r in list(remaining.items()):
            if r == row:
                out[i] = pos
                del remaining[i]
                break
    return out


def _dedupe(items: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for kind, value, raw in items:
        if value and (kind, value) not in seen:
            seen.add((kind, value))
            out.append((kind, value, raw))
    return out


def _safe_source(source: str) -> str:
    if "://" in source:
        from canary.store.engine import safe_url

        return safe_url(source)
    return str(Path(source).resolve())
