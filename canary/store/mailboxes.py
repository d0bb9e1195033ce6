"""Mailboxes at mail providers: the register (`canary mailbox ...`), variants, progress.

A mailbox is an account the organisation owns (at Gmail, Outlook, Yahoo or its own
server). Canaries whose email column calls for a mainstream provider get addresses
that deliver there: Gmail dot variants of the account's address, or aliases the
operator registered. The password never enters the store: only the name of the
environment variable that holds it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canary.errors import InputError
from canary.identifiers import normalize_email
from canary.store.engine import Store
from canary.store.models import Mailbox, MailboxAlias, MailboxVariant

ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}$")
ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
#: Domains whose mail service ignores dots in the local part (not Workspace domains).
DOT_BLIND = ("gmail.com", "googlemail.com")


@dataclass(frozen=True)
class ImapTarget:
    """Where a mailbox is read: host, port, TLS or not (plain only on loopback)."""

    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        return f"{'imaps' if self.tls else 'imap'}://{self.host}:{self.port}"


@dataclass
class MailboxInfo:
    address: str
    imap: str
    user: str
    password_env: str
    ca_file: str
    aliases: list[str] = field(default_factory=list)
    variants_used: int = 0
    state: str = "new"
    retired: bool = False
    last_error: str = ""
    last_ok_at: datetime | None = None
    failing_since: datetime | None = None

    def as_json(self) -> dict[str, object]:
        """The contract's `list --json` item (no secret in it: only the variable's name
        is stored, and it is not listed either)."""
        return {
            "address": self.address,
            "imap": self.imap,
            "user": self.user,
            "aliases": self.aliases,
            "variants_used": self.variants_used,
            "state": self.state,
            "retired": self.retired,
        }


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_imap_url(url: str) -> ImapTarget:
    """`imaps://HOST[:PORT]` (TLS, certificate checked) or `imap://` for a loopback host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InputError(f"--imap {url!r} is not a URL such as imaps://imap.gmail.com") from exc
    if parts.scheme not in ("imaps", "imap") or not parts.hostname:
        raise InputError(f"--imap {url!r}: use imaps://HOST[:PORT] (imap:// only for loopback)")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        raise InputError(
            "--imap takes only imaps://HOST[:PORT]; give the user with --user and the "
            "password through --password-env"
        )
    host = parts.hostname
    tls = parts.scheme == "imaps"
    if not tls and not _loopback(host):
        raise InputError(
            f"imap:// (no TLS) is only for a server on this machine; use imaps://{host}"
        )
    return ImapTarget(host, port or (993 if tls else 143), tls)


def _address(value: str, what: str) -> str:
    a = value.strip()
    if not ADDRESS_RE.match(a):
        raise InputError(f"{what} {value!r} is not an email address")
    if "+" in a.partition("@")[0]:
        raise InputError(f"{what} {value!r}: plus-addresses are stripped by list cleaners")
    return normalize_email(a)


def add_mailbox(
    store: Store,
    address: str,
    imap: str,
    user: str,
    password_env: str,
    ca_file: str | None = None,
) -> tuple[str, bool]:
    """Register (or update) a mailbox; returns (address, True when new)."""
    addr = _address(address, "mailbox")
    target = parse_imap_url(imap)
    if not user.strip() or len(user) > 320:
        raise InputError("--user is empty or too long")
    if not ENV_NAME_RE.match(password_env):
        raise InputError(
            f"--password-env {password_env!r} is not an environment variable name "
            "(the password itself never goes on the command line)"
        )
    ca = ""
    if ca_file:
        p = Path(ca_file).expanduser().resolve()
        if not p.is_file():
            raise InputError(f"--ca {ca_file}: no such file")
        ca = str(p)
    with store.session() as s:
        if s.get(MailboxAlias, addr) is not None:
            raise InputError(f"{addr} is registered as an alias of another mailbox")
        row = s.get(Mailbox, addr)
        new = row is None
        if row is None:
            row = Mailbox(address=addr, state="new", last_error="")
            s.add(row)
        row.imap, row.user, row.password_env, row.ca_file = (
            target.url,
            user.strip(),
            password_env,
            ca,
        )
        row.retired_at = None
    return addr, new


def remove_mailbox(store: Store, address: str) -> bool:
    """Retire a mailbox: no new canary uses it; it is still read for the canaries issued."""
    addr = normalize_email(address)
    with store.session() as s:
        row = s.get(Mailbox, addr)
        if row is None:
            raise InputError(f"no mailbox {addr}; see 'canary mailbox list'")
        if row.retired_at is not None:
            return False
        row.retired_at = datetime.now(UTC)
    return True


def add_alias(store: Store, address: str, alias: str) -> tuple[str, bool]:
    addr = normalize_email(address)
    al = _address(alias, "alias")
    with store.session() as s:
        if s.get(Mailbox, addr) is None:
            raise InputError(f"no mailbox {addr}; add it first with 'canary mailbox add'")
        if s.get(Mailbox, al) is not None:
            raise InputError(f"{al} is itself a mailbox")
        row = s.get(MailboxAlias, al)
        if row is not None:
            if row.address != addr:
                raise InputError(f"{al} is already an alias of {row.address}")
            return al, False
        s.add(MailboxAlias(alias=al, address=addr))
    return al, True


def list_mailboxes(store: Store, *, active_only: bool = False) -> list[MailboxInfo]:
    with store.session() as s:
        return mailboxes_in(s, active_only=active_only)


def mailboxes_in(s: Session, *, active_only: bool = False) -> list[MailboxInfo]:
    q = select(Mailbox).order_by(Mailbox.address)
    if active_only:
        q = q.where(Mailbox.retired_at.is_(None))
    aliases: dict[str, list[str]] = {}
    for alias, addr in s.execute(
        select(MailboxAlias.alias, MailboxAlias.address).order_by(MailboxAlias.alias)
    ):
        aliases.setdefault(addr, []).append(alias)
    used = dict(
        s.execute(
            select(MailboxVariant.address, func.count()).group_by(MailboxVariant.address)
        ).all()
    )
    return [
        MailboxInfo(
            address=m.address,
            imap=m.imap,
            user=m.user,
            password_env=m.password_env,
            ca_file=m.ca_file,
            aliases=aliases.get(m.address, []),
            variants_used=int(used.get(m.address, 0)),
            state=m.state,
            retired=m.retired_at is not None,
            last_error=m.last_error,
            last_ok_at=m.last_ok_at,
            failing_since=m.failing_since,
        )
        for m in s.scalars(q)
    ]


def delivering_addresses(s: Session) -> dict[str, str]:
    """Every address known to deliver to a mailbox (variants, aliases, the account
    itself), lower-cased, mapped to the mailbox's address."""
    out: dict[str, str] = {}
    for m in s.scalars(select(Mailbox.address)):
        out[m] = m
    for alias, addr in s.execute(select(MailboxAlias.alias, MailboxAlias.address)):
        out[alias] = addr
    for variant, addr in s.execute(select(MailboxVariant.variant, MailboxVariant.address)):
        out[variant] = addr
    return out


def variant_taken(s: Session, variant: str) -> bool:
    return s.get(MailboxVariant, normalize_email(variant)) is not None


def reserve_variant(s: Session, address: str, variant: str) -> None:
    s.add(MailboxVariant(variant=normalize_email(variant), address=address))
