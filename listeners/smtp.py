"""The SMTP listener: mail to a canary becomes a durable, attributed hit.

It looks like an ordinary mail server for the canary domains (DESIGN, SMTP table):

- RCPT to a known canary address: 250;
- RCPT to an unknown local part at a canary domain: 550 5.1.1, recorded as an
  unattributed `smtp-probe` hit (the catch-all test of list cleaners);
- RCPT to any other domain: 550 5.7.1, nothing recorded (never an open relay);
- a message over `smtp.max_message_bytes`: 552, nothing recorded;
- DATA: 250 only once the hits are committed with the raw message, as pending hits
  (451 4.3.0 if the store fails, so the sender retries and nothing acknowledged is
  lost); attribution, incident, alert and chain link follow the answer
  (listeners.inbox, which also resumes what a crash left pending);
- canary addresses RCPT'd and never followed by DATA (RSET, QUIT, disconnect,
  timeout, shutdown): one `smtp-probe` hit each, the earliest warning there is.

`start_smtp` runs inside the caller's event loop (`canary serve`). Store work runs in
worker threads: lookups in a small pool, commits in one committer thread that groups
concurrent sessions into one transaction (`listeners.batching`), attribution in one
worker thread (`listeners.inbox`). A message's DATA past its first 512 KB is checked,
unstuffed, spooled and hashed in two more worker threads, so the loop only reads while
large messages stream in and small ones are answered between their blocks.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import ssl
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from canary.config import Config
from canary.errors import ConfigError
from canary.hits.record import Observation, receive_in
from canary.mail.parse import MAX_PARSE, ParsedMail, parse_message, safe_text
from canary.store.engine import Store, new_id
from listeners.batching import GroupCommitter
from listeners.guards import ByteBudget, EvidenceQuota, PeerSlots, QuietLog, quiet_resource_errors
from listeners.inbox import Attributor
from listeners.smtp_directory import Directory, split_address

log = logging.getLogger(__name__)

#: The banner's word after the hostname: names no software.
IDENT = "ESMTP"
#: Messages up to this size are parsed in the loop; larger ones in a thread.
INLINE_PARSE_BYTES = 64 * 1024
#: Probe addresses remembered per session at most (each RCPT is also limited).
MAX_PENDING = 100
#: Slowest sending rate (bytes/s) a message of the largest size still gets through at.
DATA_MIN_RATE = 64 * 1024
#: Seconds close() lets sessions in the middle of a command finish.
CLOSE_GRACE = 10.0

R_OK_RCPT = "250 2.1.5 OK"
R_UNKNOWN = "550 5.1.1 Recipient address rejected: user unknown"
R_RELAY = "550 5.7.1 Relaying denied"
R_TEMP = "451 4.3.0 Temporary failure, please try again later"
R_SHUTDOWN = "421 4.3.2 Service shutting down, try again later"
R_BUSY = "421 4.7.0 Too many connections, try again later"
R_NO_ROOM = "421 4.3.1 Insufficient system resources, try again later"
R_NO_AUTH = "502 5.5.1 Command not implemented"


@dataclass
class _Probe:
    """A recipient seen at RCPT and not (yet) delivered by DATA."""

    address: str
    reason: str  # rcpt-without-data | unknown-recipient
    mail_from: str


@dataclass
class _Message:
    """A received message as the handler sees it: its first bytes, size and full hash."""

    head: bytes
    size: int
    sha256: str
    keep: int = 0
    over_quota: bool = False

    def __post_init__(self) -> None:
        self.keep = self.keep or self.size


@dataclass
class _Stats:
    messages: int = 0
    hits: int = 0
    probes: int = 0
    rejected: int = 0
    failures: int = 0
    refused: int = 0


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return safe_text(peer, 100)


def _peer_host(peer: Any) -> str:
    """The client's address without the port (the key of per-peer caps and quotas)."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return safe_text(peer, 100)


def _tls(session: Session) -> dict[str, Any] | None:
    extra = session.ssl
    if not extra:
        return None
    obj = extra.get("ssl_object") if isinstance(extra, dict) else None
    if obj is None:
        return {"cipher": safe_text((extra.get("cipher") or ("",))[0], 100)}
    cipher = obj.cipher() or ("", "", 0)
    return {"version": safe_text(obj.version(), 20), "cipher": safe_text(cipher[0], 100)}


def envelope_details(session: Session, envelope: Envelope) -> dict[str, Any]:
    """Who connected and what they said in the envelope, bounded."""
    return {
        "mail_from": safe_text(envelope.mail_from or "", 500),
        "rcpt_tos": [safe_text(r, 500) for r in envelope.rcpt_tos[:100]],
        "helo": safe_text(session.host_name or "", 300),
        "peer": _peer(session),
        "tls": _tls(session),
        "smtputf8": bool(envelope.smtp_utf8),
    }


#: Bytes read from the socket at a time while a message comes in.
DATA_CHUNK = 256 * 1024
#: Past this many bytes of a message, its blocks are checked, unstuffed, spooled and
#: hashed in a worker thread (`CanaryHandler.data_pool`), not in the event loop.
INLINE_DATA_BYTES = 512 * 1024


def _absorb(block: bytes, line_limit: int, spool: Any, digest: Any) -> int:
    """Take a block of whole DATA lines into the spool and the hash: the bytes kept
    after dot-unstuffing, or -1 (nothing kept) when a line is over `line_limit`."""
    if max(map(len, block.split(b"\r\n"))) + 2 > line_limit:
        return -1
    if block.startswith(b"."):  # dot-unstuffing: one leading dot off each line
        block = block[1:]
    block = block.replace(b"\r\n.", b"\r\n")
    spool.write(block)
    digest.update(block)
    return len(block)


def _unread(reader: asyncio.StreamReader, data: bytes) -> None:
    """Put what was read past a message's end back in front of the reader's buffer.

    A pipelining client sends its next commands right after the final dot, so a block
    read can hold them; asyncio's StreamReader has no unread, and its buffer is a
    bytearray (CPython 3.8 to 3.13)."""
    if data:
        reader._buffer[0:0] = data  # type: ignore[attr-defined]


class CanarySMTP(SMTP):
    """aiosmtpd's protocol plus what a canary listener needs per connection.

    Keeps the probe addresses of the session, records them when the session ends
    without delivering them, and takes part in a clean shutdown.
    """

    def __init__(self, handler: CanaryHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.canary_handler = handler
        self.pending: dict[str, _Probe] = {}
        self.busy = 0
        self.ended_by = "disconnect"
        self._ended = False
        self._refused = False
        self._peer_host = ""
        # Wrap every command so shutdown knows who is in the middle of one.
        self._smtp_methods = {k: self._tracked(v) for k, v in self._smtp_methods.items()}

    def _tracked(self, method: Any) -> Any:
        @functools.wraps(method)
        async def run(arg: str | None) -> None:
            self.busy += 1
            try:
                await method(arg)
            finally:
                self.busy -= 1
            if self.canary_handler.closing:
                self.shutdown_now()

        return run

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        h = self.canary_handler
        if first:
            self._peer_host = _peer_host(transport.get_extra_info("peername"))
            refused = h.slots.take(self._peer_host)
            if refused is not None:  # over a cap: 421 and close, no session at all
                self._refused = True
                h.stats.refused += 1
                h.quiet.warning(
                    f"cap-{refused}",
                    "smtp: refused a session from %s (%s cap reached: %d in all, %d from it)",
                    self._peer_host,
                    "per-peer" if refused == "peer" else "total",
                    h.slots.count,
                    h.slots.by_peer[self._peer_host],
                )
                try:
                    transport.write((R_BUSY + "\r\n").encode("ascii"))  # type: ignore[attr-defined]
                finally:
                    transport.close()
                return
        super().connection_made(transport)
        if first:
            h.sessions.add(self)
            if h.closing:  # accepted just as we began to close
                self.loop.call_soon(self.shutdown_now)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        try:
            super().connection_lost(error)
        finally:
            if not self._ended:
                self._ended = True
                self.canary_handler.slots.give(self._peer_host)
                self.canary_handler.sessions.discard(self)
                self.canary_handler.session_ended(self, self.ended_by)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        return super().eof_received()

    async def _handle_client(self) -> None:
        """aiosmtpd's session loop; a client gone mid-command is one log line, no traceback."""
        try:
            await super()._handle_client()
        except (ConnectionError, OSError) as exc:
            log.info("smtp client %s went away (%s)", self._peer_host, type(exc).__name__)
        except asyncio.CancelledError:
            if self.transport is not None and not self.transport.is_closing():
                raise  # cancelled from outside, not by the client leaving
            if self.ended_by == "disconnect":  # not QUIT, a timeout or our shutdown
                log.info("smtp client %s went away", self._peer_host)

    async def push(self, status: Any) -> None:
        """aiosmtpd's reply, except that AUTH is never advertised: nothing authenticates here."""
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if text.startswith(("250-AUTH", "250 AUTH")):
            return
        await super().push(status)

    async def smtp_AUTH(self, arg: str) -> None:
        await self.push(R_NO_AUTH)

    async def smtp_DATA(self, arg: str) -> None:
        """DATA as usual; once the message was sent (whatever the answer), not a probe.

        aiosmtpd times the whole DATA phase with the command timeout, which would cut
        off a large message from a slow sender; the phase gets the command timeout
        plus the time to send the largest message at `DATA_MIN_RATE`.
        """
        before = self.envelope
        rcpts = list(before.rcpt_tos) if before is not None else []
        limit = self.data_size_limit or 0
        self._reset_timeout(self._timeout_duration + limit / DATA_MIN_RATE)
        await self._receive_data(arg)
        if self.envelope is not before:  # the transaction ended: 250, 451, 552 or 500
            for r in rcpts:
                self.pending.pop(rcpt_norm(r), None)

    async def _receive_data(self, arg: str) -> None:
        """aiosmtpd's DATA, with the message spooled: at most `spool_memory_bytes` of it
        in memory, the rest in a private temporary file, every byte counted against the
        listener's `max_inflight_bytes` (421 and close past it: nothing acknowledged, the
        sender retries), its SHA-256 computed as it arrives."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        assert envelope is not None
        if not envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        h = self.canary_handler
        spool = tempfile.SpooledTemporaryFile(max_size=h.spool_memory)
        digest = hashlib.sha256()
        limit = self.data_size_limit or 0
        size = held = 0
        state = "ok"  # ok | too-much | too-long | no-room
        # Read in blocks and work on whole lines of each block at once (C-level find,
        # split and replace): a 10 MB message is a few hundred steps, not ~10,000 line reads, so
        # large messages no longer hold the loop up for the small ones. Past
        # INLINE_DATA_BYTES the blocks are taken in a worker thread (about 5 ms of CPU
        # per MB: the loop only reads), one at a time, so the hash sees them in order.
        loop = asyncio.get_running_loop()
        buf = b""  # read, not yet taken: starts at a line start unless `midline`
        midline = False  # inside a line longer than the line limit
        try:
            while self.transport is not None:
                chunk = await self._reader.read(DATA_CHUNK)
                if not chunk:
                    raise asyncio.IncompleteReadError(buf, None)
                buf += chunk
                if midline:  # the rest of an overlong line: counted, not kept
                    i = buf.find(b"\r\n")
                    if i < 0:
                        keep = 1 if buf.endswith(b"\r") else 0
                        size += len(buf) - keep
                        buf = buf[len(buf) - keep :]
                        continue
                    size += i + 2
                    buf = buf[i + 2 :]
                    midline = False
                cut = buf.rfind(b"\r\n")
                if cut < 0:
                    if len(buf) > self.line_length_limit:  # one line, over the limit
                        state = "too-long" if state == "ok" else state
                        keep = 1 if buf.endswith(b"\r") else 0
                        size += len(buf) - keep
                        buf = buf[len(buf) - keep :]
                        midline = True
                    continue
                block, buf = buf[: cut + 2], buf[cut + 2 :]
                if block.startswith(b".\r\n"):  # the final dot: the message ends here
                    end = 0
                else:
                    i = block.find(b"\r\n.\r\n")
                    end = i + 2 if i >= 0 else -1
                if end >= 0:
                    _unread(self._reader, block[end + 3 :] + buf)  # pipelined commands
                    block, buf = block[:end], b""
                size += len(block)
                if state == "ok" and limit and size > limit:
                    state = "too-much"
                if state == "ok" and block:
                    # Reserved before it is kept (at most its length once unstuffed).
                    if not h.inflight.take(len(block)):
                        state = "no-room"
                        break
                    try:
                        if size <= INLINE_DATA_BYTES:
                            kept = _absorb(block, self.line_length_limit, spool, digest)
                        else:
                            kept = await loop.run_in_executor(
                                h.data_pool, _absorb, block, self.line_length_limit, spool, digest
                            )
                    except BaseException:  # the client went away meanwhile
                        h.inflight.give(len(block))
                        raise
                    h.inflight.give(len(block) - max(kept, 0))
                    if kept < 0:
                        state = "too-long"
                    else:
                        held += kept
                if end >= 0:
                    break
            if state == "no-room":
                h.quiet.warning(
                    "no-room",
                    "smtp: %d bytes of messages in flight (smtp.max_inflight_bytes); "
                    "closed a session from %s with 421",
                    h.inflight.used,
                    self._peer_host,
                )
                self.ended_by = "no-room"
                await self.push(R_NO_ROOM)
                if self.transport is not None:
                    self.transport.close()
                return
            if state != "ok":
                await self.push(
                    "500 Line too long (see RFC5321 4.5.3.1.6)"
                    if state == "too-long"
                    else "552 Error: Too much mail data"
                )
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            envelope.spool = spool  # type: ignore[attr-defined]
            envelope.spool_size = held  # type: ignore[attr-defined]
            envelope.spool_sha256 = digest.hexdigest()  # type: ignore[attr-defined]
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push(status)
        finally:
            spool.close()
            h.inflight.give(held)

    def _timeout_cb(self) -> None:
        self.ended_by = "timeout"
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def reset_timeout(self) -> None:
        """Give the current step a full command timeout again (e.g. while committing)."""
        self._reset_timeout()

    def shutdown_now(self) -> None:
        """Tell the client we are going away (421) and close, unless a command is running."""
        transport = self.transport
        if self.busy or transport is None or transport.is_closing():
            return
        self.ended_by = "shutdown"
        try:
            transport.write((R_SHUTDOWN + "\r\n").encode("ascii"))  # type: ignore[attr-defined]
        finally:
            transport.close()


class CanaryHandler:
    """aiosmtpd handler hooks: classify recipients, record messages and probes."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.max_evidence = max(1, config.store.max_evidence_bytes)
        self.lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smtp-lookup")
        #: Large messages' DATA blocks (see `INLINE_DATA_BYTES`).
        self.data_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smtp-data")
        self.directory = Directory(store, self.lookups)
        self.sessions: set[CanarySMTP] = set()
        self.committer = GroupCommitter(
            store, alive=self._alive, name="smtp-commit", record=receive_in
        )
        self.attributor = Attributor(
            store, last_commit=lambda: self.committer.last_commit, name="smtp-attribute"
        )
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.stats = _Stats()
        c = config.smtp
        self.slots = PeerSlots(c.max_sessions, c.max_sessions_per_peer)
        self.spool_memory = max(4096, c.spool_memory_bytes)
        self.inflight = ByteBudget(c.max_inflight_bytes)
        self.quota = EvidenceQuota(c.evidence_quota_per_sender, c.evidence_quota_per_day)
        self.quiet = QuietLog(log)

    # -- hooks -----------------------------------------------------------------------

    async def handle_RCPT(
        self,
        server: CanarySMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            verdict, norm = await self.directory.classify(address)
        except Exception:
            log.exception("looking up an SMTP recipient failed; answered 451")
            return R_TEMP
        if verdict == "foreign":
            self.stats.rejected += 1
            return R_RELAY
        mail_from = safe_text(envelope.mail_from or "", 500)
        if verdict == "unknown":
            self._remember(server, _Probe(norm, "unknown-recipient", mail_from))
            return R_UNKNOWN
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self._remember(server, _Probe(norm, "rcpt-without-data", mail_from))
        return R_OK_RCPT

    async def handle_DATA(self, server: CanarySMTP, session: Session, envelope: Envelope) -> str:
        spool = getattr(envelope, "spool", None)
        if spool is None:  # aiosmtpd's own DATA (not ours): the message is in memory
            raw = envelope.original_content or b""
            if isinstance(raw, str):  # only with decode_data=True, which we never set
                raw = raw.encode("utf-8", "surrogateescape")
            message = _Message(raw, len(raw), hashlib.sha256(raw).hexdigest())
        else:
            message = await self._read_spool(spool, envelope)
        if len(message.head) <= INLINE_PARSE_BYTES:
            parsed = parse_message(message.head[: MAX_PARSE + 1])
        else:
            loop = asyncio.get_running_loop()
            parsed = await loop.run_in_executor(
                self.lookups, parse_message, message.head[: MAX_PARSE + 1]
            )
        keep = min(message.size, self.max_evidence)
        granted = self.quota.grant(_peer_host(session.peer), keep)
        if granted < keep:
            message.over_quota = True
            self.quiet.warning(
                "quota",
                "smtp: evidence quota reached (sender %s); keeping %d bytes of a message",
                _peer_host(session.peer),
                granted,
            )
        message.keep = granted
        queue_id = new_id()
        observations = self.message_observations(session, envelope, message, parsed, queue_id)
        server.reset_timeout()
        try:
            await self.committer.submit(observations, server, message.size)
            self.attributor.nudge()
        except Exception:
            log.exception("SMTP message from %s not recorded; answered 451", _peer(session))
            self.stats.failures += 1
            return R_TEMP
        self.stats.messages += 1
        self.stats.hits += len(observations)
        log.info(
            "smtp message %s from %s to %d canaries, %d bytes",
            queue_id,
            _peer(session),
            len(observations),
            message.size,
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"

    async def _read_spool(self, spool: Any, envelope: Envelope) -> _Message:
        """What a spooled message's evidence and parsing need: its first bytes."""
        size = int(envelope.spool_size)  # type: ignore[attr-defined]
        want = min(size, max(self.max_evidence, MAX_PARSE + 1))

        def read() -> bytes:
            spool.seek(0)
            return bytes(spool.read(want))

        if want <= INLINE_PARSE_BYTES:
            head = read()
        else:
            head = await asyncio.get_running_loop().run_in_executor(self.lookups, read)
        return _Message(head, size, str(envelope.spool_sha256))  # type: ignore[attr-defined]

    def _alive(self, source: object) -> bool:
        return source in self.sessions

    async def handle_RSET(self, server: CanarySMTP, session: Session, envelope: Envelope) -> str:
        await self._flush_probes(server, session, "RSET")
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: CanarySMTP, session: Session, envelope: Envelope) -> str:
        server.ended_by = "QUIT"
        await self._flush_probes(server, session, "QUIT")
        return "221 2.0.0 Bye"

    async def handle_exception(self, error: Exception) -> str:
        """Any unexpected error: a temporary failure that says nothing about us."""
        log.error("SMTP session error: %s: %s", type(error).__name__, error)
        return R_TEMP

    # -- observations ----------------------------------------------------------------

    def message_observations(
        self,
        session: Session,
        envelope: Envelope,
        message: _Message,
        parsed: ParsedMail,
        queue_id: str,
    ) -> list[Observation]:
        """One `smtp` observation per accepted recipient; the raw message is the evidence
        (its first `max_evidence_bytes`, fewer over the evidence quota)."""
        evidence = message.head[: min(message.keep, self.max_evidence)]
        details: dict[str, Any] = {
            "envelope": envelope_details(session, envelope),
            "message": parsed.details(),
            "size": message.size,
            "queue_id": queue_id,
        }
        if len(evidence) < message.size:
            details["evidence_truncated"] = True
            details["sha256_full"] = message.sha256
        if message.over_quota:
            details["evidence_over_quota"] = True
        # The whole message was hashed as it came in: its evidence is not hashed again.
        whole_sha = message.sha256 if len(evidence) == message.size else None
        sender = parsed.from_address or safe_text(envelope.mail_from or "", 500)
        # The headers that may name the person (To) count with the text for attribution.
        text = f"{parsed.to}\n{parsed.subject}\n{parsed.text}"
        out: list[Observation] = []
        seen: set[str] = set()
        for rcpt in envelope.rcpt_tos:
            norm = rcpt_norm(rcpt)
            if not norm or norm in seen:
                continue
            seen.add(norm)
            out.append(
                Observation(
                    channel="smtp",
                    identifier=norm,
                    sender=sender,
                    summary=parsed.subject,
                    provider="smtp",
                    provider_message_id=None,
                    evidence=evidence,
                    evidence_type="message/rfc822",
                    evidence_sha256=whole_sha,
                    details=details,
                    text=text,
                )
            )
        return out

    def probe_observations(
        self, server: CanarySMTP, session: Session, ended_by: str
    ) -> list[Observation]:
        """The session's undelivered recipients as `smtp-probe` observations (and forget them)."""
        probes = list(server.pending.values())
        server.pending.clear()
        out = []
        for p in probes:
            summary = (
                "RCPT to an unknown address at a canary domain"
                if p.reason == "unknown-recipient"
                else "RCPT without DATA (address probe)"
            )
            out.append(
                Observation(
                    channel="smtp-probe",
                    identifier=p.address,
                    sender=p.mail_from,
                    summary=summary,
                    provider="smtp",
                    details={
                        "reason": p.reason,
                        "ended_by": ended_by,
                        "envelope": {
                            "mail_from": p.mail_from,
                            "helo": safe_text(session.host_name or "", 300),
                            "peer": _peer(session),
                            "tls": _tls(session),
                        },
                    },
                )
            )
        return out

    def _remember(self, server: CanarySMTP, probe: _Probe) -> None:
        if probe.address in server.pending or len(server.pending) < MAX_PENDING:
            server.pending.setdefault(probe.address, probe)

    async def _flush_probes(self, server: CanarySMTP, session: Session, ended_by: str) -> None:
        observations = self.probe_observations(server, session, ended_by)
        if not observations:
            return
        try:
            await self.committer.submit(observations)
            self.attributor.nudge()
            self.stats.probes += len(observations)
            log.info(
                "smtp probe from %s: %d addresses (%s)", _peer(session), len(observations), ended_by
            )
        except Exception:
            log.exception("SMTP probe from %s not recorded", _peer(session))
            self.stats.failures += 1

    def session_ended(self, server: CanarySMTP, ended_by: str) -> None:
        """Called from connection_lost: record what the session probed, in the background."""
        if not server.pending or server.session is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._flush_probes(server, server.session, ended_by)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def rcpt_norm(address: str) -> str:
    """The normalised form of an envelope recipient ("" when it is no address)."""
    return split_address(address)[0]


def tls_context(config: Config) -> ssl.SSLContext | None:
    """The STARTTLS context when smtp.tls_cert and smtp.tls_key are set."""
    cert, key = config.smtp.tls_cert, config.smtp.tls_key
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("set both smtp.tls_cert and smtp.tls_key for STARTTLS, or neither")
    base = config.base_dir
    cert_path = (base / cert).expanduser()
    key_path = (base / key).expanduser()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the SMTP certificate {cert_path} / key {key_path}: {exc}; "
            "check smtp.tls_cert and smtp.tls_key"
        ) from exc
    return ctx


class SmtpListener:
    """A running SMTP listener; `close()` stops it without losing anything acknowledged."""

    def __init__(self, server: asyncio.base_events.Server, handler: CanaryHandler) -> None:
        self.server = server
        self.handler = handler
        sock = server.sockets[0]
        self.port: int = int(sock.getsockname()[1])
        self.host: str = str(sock.getsockname()[0])
        self._closed = False

    @property
    def stats(self) -> _Stats:
        return self.handler.stats

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Stop accepting, let sessions in a command finish (bounded), record, close.

        Sessions waiting for their next command get 421 at once; a session in the
        middle of DATA gets its answer (250 only after commit), then 421. After
        `grace` seconds the rest are cut off: a message not yet answered was not
        acknowledged, so the sender keeps it and retries.
        """
        if self._closed:
            return
        self._closed = True
        h = self.handler
        h.closing = True
        self.server.close()
        for s in list(h.sessions):
            s.shutdown_now()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while h.sessions and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for s in list(h.sessions):
            if s.transport is not None:
                s.transport.abort()  # type: ignore[attr-defined]
        while h.sessions and loop.time() < deadline + 2:
            await asyncio.sleep(0.01)
        if h.tasks:
            await asyncio.wait(set(h.tasks), timeout=max(grace, 5.0))
        await h.committer.close()
        await asyncio.to_thread(h.attributor.close)  # what is left waits for the next start
        h.lookups.shutdown(wait=True)
        h.data_pool.shutdown(wait=True)
        await self.server.wait_closed()
        log.info("smtp listener on port %d closed", self.port)


async def start_smtp(store: Store, config: Config, host: str, port: int) -> SmtpListener:
    """Start the SMTP listener on host:port (0 picks a free port) in the running loop."""
    loop = asyncio.get_running_loop()
    quiet_resource_errors(loop)
    handler = CanaryHandler(store, config)
    tls = tls_context(config)
    c = config.smtp

    def factory() -> CanarySMTP:
        return CanarySMTP(
            handler,
            data_size_limit=c.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=c.hostname,
            ident=IDENT,
            tls_context=tls,
            timeout=c.command_timeout,
            command_call_limit=c.max_commands,
            loop=loop,
        )

    handler.committer.start()
    handler.attributor.start()  # first the hits an earlier run left pending
    try:
        server = await loop.create_server(factory, host, port)
    except OSError as exc:
        await handler.committer.close()
        await asyncio.to_thread(handler.attributor.close, 0.0)
        handler.lookups.shutdown(wait=False)
        handler.data_pool.shutdown(wait=False)
        raise ConfigError(
            f"cannot listen for SMTP on {host}:{port}: {exc.strerror or exc}; "
            "choose another address with --smtp HOST:PORT or listen.smtp"
        ) from exc
    listener = SmtpListener(server, handler)
    log.info("smtp listening on %s:%d", listener.host, listener.port)
    return listener
