"""Reading the canary mailboxes over IMAP: every new message is a hit with channel `imap`.

The library is the standard library's `imaplib`: it speaks every command needed here
(LOGIN, LIST, SELECT, UID SEARCH/FETCH/STORE), takes an `ssl.SSLContext` with the
system's or a private CA, and has a socket timeout; the scheduler runs jobs in worker
threads, so an asynchronous client would buy nothing and add a dependency.

Per folder (INBOX and the folder the server flags ``\\Junk``, where bulk mail lands)
the store keeps (UIDVALIDITY, last UID committed). Each message is fetched with
BODY.PEEK (the server's \\Seen flag is untouched until the hit is durable), recorded
together with the folder's new last UID in one transaction, and only then flagged
\\Seen; nothing is ever deleted. A crash before the commit reads the message again; a
crash after it skips it; a replay after a lost UIDVALIDITY finds the same provider
message id and makes no second hit. When UIDVALIDITY changes the folder is re-read.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import logging
import os
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses

from canary.config import Config
from canary.errors import CanaryError
from canary.hits.record import Observation, record_in
from canary.identifiers import normalize_email
from canary.mail.parse import parse_message, safe_text
from canary.store.engine import Store
from canary.store.mailboxes import MailboxInfo, delivering_addresses, mailboxes_in, parse_imap_url
from canary.store.models import Mailbox, MailboxFolder

log = logging.getLogger(__name__)

#: Recipient headers a canary variant can appear in (the envelope as the provider saw it).
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
MAX_RECIPIENTS = 200
FETCH_BATCH = 100
EVIDENCE_TYPE = "message/rfc822"
_LIST_RE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')


class MailboxError(CanaryError):
    """A mailbox could not be read (login, TLS, connection): one line for the operator."""


@dataclass
class PollResult:
    address: str
    messages: int = 0
    hits: int = 0
    folders: list[str] = field(default_factory=list)


def password_for(info: MailboxInfo) -> str:
    value = os.environ.get(info.password_env, "")
    if not value:
        raise MailboxError(
            f"mailbox {info.address}: the variable {info.password_env} that should hold "
            "its password is not set"
        )
    return value


@contextmanager
def connect(info: MailboxInfo, password: str, timeout: float = 30.0) -> Iterator[imaplib.IMAP4]:
    """A logged-in IMAP connection (TLS with certificate checks unless on loopback)."""
    target = parse_imap_url(info.imap)
    conn: imaplib.IMAP4
    try:
        if target.tls:
            ctx = ssl.create_default_context(cafile=info.ca_file or None)
            conn = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=ctx, timeout=timeout)
        else:
            conn = imaplib.IMAP4(target.host, target.port, timeout=timeout)
    except ssl.SSLError as exc:
        raise MailboxError(f"mailbox {info.address}: TLS to {target.url} failed ({exc})") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"mailbox {info.address}: cannot reach {target.url} ({exc})") from exc
    try:
        try:
            conn.login(info.user, password)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(
                f"mailbox {info.address}: login as {info.user} refused "
                f"({safe_text(str(exc), 200)}); check the password in {info.password_env}"
            ) from exc
        yield conn
    except (OSError, imaplib.IMAP4.error) as exc:  # abort (connection dropped) is an error
        raise MailboxError(f"mailbox {info.address}: connection lost ({exc})") from exc
    finally:
        try:
            conn.logout()
        except Exception as exc:  # the connection may already be gone
            log.debug("logout from %s: %s", info.address, exc)
            try:
                conn.shutdown()
            except OSError:
                pass


def folders(conn: imaplib.IMAP4) -> list[str]:
    """INBOX and every folder flagged \\Junk (SPECIAL-USE), by flag, not by name."""
    out = ["INBOX"]
    typ, data = conn.list()
    if typ != "OK":
        return out
    for line in data:
        if not isinstance(line, bytes):
            continue
        m = _LIST_RE.match(line)
        if m is None or b"\\junk" not in m.group("flags").lower():
            continue
        name = m.group("name").strip()
        if name.startswith(b'"') and name.endswith(b'"'):
            name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        decoded = name.decode("utf-8", "replace")
        if decoded not in out:
            out.append(decoded)
    return out


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def recipients(raw: bytes) -> list[str]:
    """Lower-cased addresses from the recipient headers (bounded; hostile input)."""
    try:
        msg = email.message_from_bytes(raw[: 256 * 1024], policy=email.policy.compat32)
        values = [str(v) for h in RECIPIENT_HEADERS for v in (msg.get_all(h) or [])[:50]]
        pairs = getaddresses(values)
    except Exception as exc:  # a malformed header costs only the match, never the hit
        log.info("unreadable recipient headers: %s", exc)
        return []
    out: list[str] = []
    for _name, addr in pairs[:MAX_RECIPIENTS]:
        if "@" in addr and len(addr) <= 320:
            a = normalize_email(addr)
            if a not in out:
                out.append(a)
    return out


def observations(
    raw: bytes, info: MailboxInfo, folder: str, uidvalidity: int, uid: int, known: dict[str, str]
) -> list[Observation]:
    """One observation per canary variant the message was addressed to, or one
    unattributed contact to the mailbox when it names none."""
    parsed = parse_message(raw)
    to = recipients(raw)
    mine = [a for a in to if known.get(a) == info.address and a != info.address]
    details = parsed.details()
    details.update({"mailbox": info.address, "folder": folder, "uid": uid})
    details["uidvalidity"] = uidvalidity
    base = {
        "channel": "imap",
        "sender": parsed.from_address or parsed.from_,
        "summary": parsed.subject or parsed.text[:200],
        "provider": "imap",
        "provider_message_id": f"{info.address}/{folder}/{uidvalidity}/{uid}"[:300],
        "evidence": raw,
        "evidence_type": EVIDENCE_TYPE,
        "text": f"{parsed.subject}\n{parsed.text}",
    }
    if not mine:
        details["matched"] = "no canary variant among the recipients"
        return [Observation(identifier=info.address, details=details, **base)]  # type: ignore[arg-type]
    return [Observation(identifier=a, details=dict(details), **base) for a in mine]  # type: ignore[arg-type]


def _uidvalidity(conn: imaplib.IMAP4) -> int:
    _typ, data = conn.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] else 0
    except (TypeError, ValueError):
        return 0


def _fetch(conn: imaplib.IMAP4, uid: int, limit: int) -> bytes | None:
    typ, data = conn.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{limit}>)")
    if typ != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def poll_mailbox(
    store: Store, info: MailboxInfo, password: str, config: Config, *, timeout: float = 30.0
) -> PollResult:
    """Read every new message of the mailbox's folders into hits (see the module doc)."""
    result = PollResult(info.address)
    limit = max(1024, int(config.smtp.max_message_bytes))
    with connect(info, password, timeout) as conn:
        for folder in folders(conn):
            typ, _ = conn.select(_quote(folder))
            if typ != "OK":
                log.warning("mailbox %s: cannot open folder %s", info.address, folder)
                continue
            result.folders.append(folder)
            validity = _uidvalidity(conn)
            with store.session() as s:
                row = s.get(MailboxFolder, (info.address, folder))
                last = row.last_uid if row is not None and row.uidvalidity == validity else 0
                if row is not None and row.uidvalidity != validity:
                    log.info("mailbox %s/%s: UIDVALIDITY changed; re-reading", info.address, folder)
            typ, data = conn.uid("SEARCH", f"UID {last + 1}:*")
            if typ != "OK":
                continue
            uids = sorted(int(x) for x in (data[0] or b"").split() if int(x) > last)
            for uid in uids:
                raw = _fetch(conn, uid, limit)
                if raw is None:
                    log.warning("mailbox %s/%s: UID %d not fetched", info.address, folder, uid)
                    continue
                with store.session() as s:
                    known = delivering_addresses(s)
                    recorded = record_in(s, observations(raw, info, folder, validity, uid, known))
                    row = s.get(MailboxFolder, (info.address, folder))
                    if row is None:
                        row = MailboxFolder(address=info.address, folder=folder)
                        s.add(row)
                    row.uidvalidity, row.last_uid = validity, uid
                # durable now: only then is it marked read on the server (never deleted)
                conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Seen)")
                result.messages += 1
                result.hits += sum(1 for r in recorded if not r.duplicate)
            if not uids:
                with store.session() as s:
                    row = s.get(MailboxFolder, (info.address, folder))
                    if row is None:
                        s.add(
                            MailboxFolder(
                                address=info.address,
                                folder=folder,
                                uidvalidity=validity,
                                last_uid=last,
                            )
                        )
                    elif row.uidvalidity != validity:
                        row.uidvalidity, row.last_uid = validity, 0
    return result


def _set_state(store: Store, address: str, error: str, config: Config, now: datetime) -> None:
    """Keep the mailbox's health; queue one system alert when it has failed too long."""
    from canary.alerts.outbox import enqueue

    with store.session() as s:
        row = s.get(Mailbox, address)
        if row is None:
            return
        if not error:
            if (
                row.state == "failing"
                and row.failing_since is not None
                and (now - row.failing_since)
                >= timedelta(minutes=config.mailbox.alert_after_minutes)
            ):
                enqueue(s, "system", _payload(address, "is read again", ""), now=now)
            row.state, row.last_error, row.last_ok_at, row.failing_since = "ok", "", now, None
            return
        was_alerted = (
            row.state == "failing"
            and row.failing_since is not None
            and (now - row.failing_since) >= timedelta(minutes=config.mailbox.alert_after_minutes)
        )
        if row.failing_since is None:
            row.failing_since = now
        row.state, row.last_error = "failing", error[:1000]
        late = now - row.failing_since >= timedelta(minutes=config.mailbox.alert_after_minutes)
        if late and not was_alerted:
            enqueue(s, "system", _payload(address, "cannot be read", error), now=now)


def _payload(address: str, what: str, error: str) -> dict[str, object]:
    return {
        "kind": "system",
        "title": f"Mailbox {address} {what}",
        "facts": {"Mailbox": address, "Error": error},
        "fix": "Check the server, the user and the password variable (run 'canary doctor')."
        if error
        else "",
    }


def poll_all(store: Store, config: Config, *, timeout: float = 30.0) -> list[PollResult]:
    """One round over every mailbox (retired ones too: their canaries still resolve)."""
    with store.session() as s:
        boxes = mailboxes_in(s)
    out = []
    for info in boxes:
        now = datetime.now(UTC)
        try:
            res = poll_mailbox(store, info, password_for(info), config, timeout=timeout)
        except (TimeoutError, MailboxError) as exc:
            log.warning("%s", exc)
            _set_state(store, info.address, str(exc), config, now)
            continue
        _set_state(store, info.address, "", config, now)
        out.append(res)
    return out


def check_login(info: MailboxInfo, timeout: float = 10.0) -> tuple[bool, str]:
    """For `canary doctor`: log in and list the folders; (ok, what happened)."""
    try:
        with connect(info, password_for(info), timeout) as conn:
            names = folders(conn)
    except MailboxError as exc:
        return False, str(exc)
    junk = [f for f in names if f != "INBOX"]
    return True, (
        f"logged in; reading INBOX and {', '.join(junk)}"
        if junk
        else "logged in; reading INBOX (no folder flagged \\Junk found)"
    )
