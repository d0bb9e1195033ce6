"""The alert outbox: alerts are rows before they are messages, and stay until acknowledged.

Life of an alert:

1. `enqueue` adds one row with channel "*" inside the caller's transaction (the one
   that records the hit), so the alert exists exactly when its hit does.
2. `fan_out` turns each "*" row into one row per configured channel (state
   "expanded" for the original). With no channel configured the rows wait.
3. `dispatch_due` claims due rows (compare-and-set on `claimed_until`, so two
   processes never send the same row at once), sends them outside any transaction,
   then marks each sent, or schedules a retry with exponential backoff (30 s doubling
   to 1 h). A row still failing after 48 h becomes "failed": `canary alerts --failed`
   lists it and `canary alerts retry` queues it again.

Once a channel acknowledged a row it is marked sent and never sent again. Delivery
is at least once: if the process dies between the acknowledgement and the commit,
the row is sent again after its claim expires; receivers can use `alert_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from canary.alerts.channels import Channel, ChannelError, parse_channels
from canary.alerts.format import plain, render
from canary.alerts.messages import digest_payload
from canary.config import Config
from canary.errors import NotFound
from canary.store.engine import Store
from canary.store.models import Alert, Hit, Incident

log = logging.getLogger(__name__)

FANOUT = "*"
BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_AGE = timedelta(hours=48)
LEASE = timedelta(minutes=10)
BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


def _changed(result: Any) -> int:
    """Rows an UPDATE changed (the compare-and-set succeeded when 1)."""
    return int(result.rowcount)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    incident_id: int | None = None,
    channel: str = FANOUT,
    now: datetime | None = None,
) -> Alert:
    """Queue an alert in the caller's transaction (channel "*": every configured channel)."""
    when = now or utcnow()
    alert = Alert(
        incident_id=incident_id,
        kind=kind,
        channel=channel,
        payload=payload,
        created_at=when,
        next_attempt_at=when,
        state="pending",
        attempts=0,
    )
    session.add(alert)
    return alert


def fan_out(store: Store, channels: list[Channel], now: datetime | None = None) -> int:
    """Expand pending "*" rows into one row per channel; returns how many rows were made."""
    if not channels:
        return 0
    now = now or utcnow()
    made = 0
    with store.session() as s:
        ids = list(
            s.scalars(
                select(Alert.id)
                .where(Alert.channel == FANOUT, Alert.state == "pending")
                .order_by(Alert.id)
                .limit(500)
            )
        )
        for aid in ids:
            won = _changed(
                s.execute(
                    update(Alert)
                    .where(Alert.id == aid, Alert.state == "pending")
                    .values(state="expanded", sent_at=now)
                )
            )
            if not won:  # another process expanded it
                continue
            src = s.get(Alert, aid)
            assert src is not None
            for ch in channels:
                s.add(
                    Alert(
                        incident_id=src.incident_id,
                        kind=src.kind,
                        channel=ch.name,
                        payload=src.payload,
                        created_at=src.created_at,
                        next_attempt_at=now,
                        state="pending",
                        attempts=0,
                    )
                )
                made += 1
    return made


def backoff(attempts: int) -> timedelta:
    """Wait before attempt number `attempts + 1`: 30 s, 60 s, 120 s ... at most 1 h."""
    step: timedelta = BACKOFF_START * (2 ** max(0, min(attempts - 1, 20)))
    return min(step, BACKOFF_MAX)


@dataclass
class Claimed:
    id: int
    token: datetime
    channel: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass
class DispatchReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    expanded: int = 0


def claim(store: Store, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Take due rows for this process until `now + LEASE` (compare-and-set per row)."""
    token = now + LEASE
    out: list[Claimed] = []
    with store.session() as s:
        due = list(
            s.scalars(
                select(Alert)
                .where(
                    Alert.state == "pending",
                    Alert.channel != FANOUT,
                    Alert.next_attempt_at <= now,
                    or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
                )
                .order_by(Alert.next_attempt_at, Alert.id)
                .limit(limit)
            )
        )
        for a in due:
            won = _changed(
                s.execute(
                    update(Alert)
                    .where(
                        Alert.id == a.id,
                        Alert.state == "pending",
                        or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
                    )
                    .values(claimed_until=token)
                    .execution_options(synchronize_session=False)
                )
            )
            if won:
                out.append(
                    Claimed(
                        a.id, token, a.channel, a.kind, dict(a.payload), a.created_at, a.attempts
                    )
                )
    return out


def _message(c: Claimed) -> dict[str, Any]:
    return {
        "alert_id": c.id,
        "kind": c.kind,
        "created_at": c.created_at.isoformat(),
        "payload": c.payload,
    }


def _deliver(c: Claimed, channels: dict[str, Channel], admin: str) -> tuple[bool, str]:
    ch = channels.get(c.channel)
    if ch is None:
        return False, f"channel '{c.channel}' is not configured any more"
    try:
        return True, ch.send(render(c.payload, admin), _message(c))
    except ChannelError as exc:
        return False, str(exc)
    except Exception as exc:  # a bug in a sender must not lose the alert
        log.exception("alert %s: channel %s crashed", c.id, c.channel)
        return False, f"{type(exc).__name__}: {plain(exc, 300)}"


@dataclass
class Outcome:
    claimed: Claimed
    result: str  # sent | attempt-failed | deferred
    note: str


def _deliver_channel(
    store: Store,
    group: list[Claimed],
    channels: dict[str, Channel],
    admin: str,
    now: Callable[[], datetime],
) -> list[tuple[int, str]]:
    """Send one channel's alerts in order, marking each as soon as it is acknowledged.

    After a failure the rest of the channel's alerts wait for its retry: a channel
    that is down costs one timeout per dispatch, not one per alert, and its alerts
    keep their order. Returns (alert id, new state) for each.
    """
    out: list[tuple[int, str]] = []
    for i, c in enumerate(group):
        ok, note = _deliver(c, channels, admin)
        t = now()
        if ok:
            out.append((c.id, _settle(store, Outcome(c, "sent", note), t, t)))
            continue
        retry_at = t + backoff(c.attempts + 1)
        out.append((c.id, _settle(store, Outcome(c, "attempt-failed", note), t, retry_at)))
        for rest in group[i + 1 :]:
            wait = Outcome(rest, "deferred", f"waiting: {c.channel} failed: {note}")
            out.append((rest.id, _settle(store, wait, t, retry_at)))
        break
    return out


def _settle(store: Store, o: Outcome, now: datetime, retry_at: datetime) -> str:
    """Record the outcome of one send; returns the row's new state."""
    c = o.claimed
    with store.session() as s:
        base = update(Alert).where(Alert.id == c.id, Alert.claimed_until == c.token)
        base = base.execution_options(synchronize_session=False)
        if o.result == "sent":
            s.execute(
                base.values(
                    state="sent", sent_at=now, claimed_until=None,
                    attempts=c.attempts + 1, last_error="",
                )
            )  # fmt: skip
            return "sent"
        attempts = c.attempts + (1 if o.result == "attempt-failed" else 0)
        queued = c.payload.get("_queued_at")
        start = datetime.fromisoformat(queued) if queued else c.created_at
        state = "failed" if now - start >= MAX_AGE else "pending"
        s.execute(
            base.values(
                state=state,
                attempts=attempts,
                last_error=plain(o.note, 1000),
                claimed_until=None,
                next_attempt_at=retry_at,
            )
        )
        if o.result == "attempt-failed" or state == "failed":
            log.warning("alert %s via %s: %s (%s)", c.id, c.channel, o.note, state)
        return state


def dispatch_due(
    store: Store,
    config: Config,
    *,
    now: Callable[[], datetime] = utcnow,
    channels: list[Channel] | None = None,
    workers: int = 4,
    max_rounds: int = 20,
) -> DispatchReport:
    """Fan out, then send every due alert once; blocking (run it in a thread).

    Channels are served in parallel, each channel's alerts in order.
    """
    chans = parse_channels(config) if channels is None else channels
    report = DispatchReport(expanded=fan_out(store, chans, now()))
    by_name = {c.name: c for c in chans}
    admin = config.listen.admin
    for _ in range(max_rounds):
        claimed = claim(store, now())
        if not claimed:
            break
        groups: dict[str, list[Claimed]] = {}
        for c in claimed:
            groups.setdefault(c.channel, []).append(c)
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(groups)))) as pool:
            results = list(
                pool.map(lambda g: _deliver_channel(store, g, by_name, admin, now), groups.values())
            )
        for outcomes in results:
            for alert_id, state in outcomes:
                bucket = {"sent": report.sent, "failed": report.failed}
                bucket.get(state, report.retrying).append(alert_id)
        if len(claimed) < BATCH:
            break
    return report


def run_digests(store: Store, config: Config, *, now: Callable[[], datetime] = utcnow) -> list[int]:
    """Queue a digest for each incident with unreported hits whose interval has passed.

    The incident's `alerted_hit_count` moves with a compare-and-set in the same
    transaction as the digest, so each hit is counted in exactly one alert even
    when several processes run this at once. Returns the incident ids digested.
    """
    interval = timedelta(minutes=config.alerts.digest_minutes)
    t = now()
    done: list[int] = []
    with store.session() as s:
        ids = list(
            s.scalars(select(Incident.id).where(Incident.hit_count > Incident.alerted_hit_count))
        )
    for iid in ids:
        with store.session() as s:
            inc = s.get(Incident, iid)
            if inc is None or inc.hit_count <= inc.alerted_hit_count:
                continue
            meta = dict(inc.meta or {})
            last = meta.get("last_alert_at")
            since = datetime.fromisoformat(last) if last else inc.opened_at
            if t < since + interval:
                continue
            old, new_total = inc.alerted_hit_count, inc.hit_count
            through = int(meta.get("alerted_through_hit_id", 0))
            max_id = s.scalars(
                select(Hit.id).where(Hit.incident_id == iid).order_by(Hit.id.desc()).limit(1)
            ).first()
            payload = digest_payload(s, inc, new_total - old, through, t)
            meta["last_alert_at"] = t.isoformat()
            meta["alerted_through_hit_id"] = max(through, int(max_id or 0))
            won = _changed(
                s.execute(
                    update(Incident)
                    .where(Incident.id == iid, Incident.alerted_hit_count == old)
                    .values(alerted_hit_count=new_total, meta=meta)
                    .execution_options(synchronize_session=False)
                )
            )
            if not won:
                s.rollback()
                continue
            enqueue(s, "digest", payload, incident_id=iid, now=t)
            done.append(iid)
    return done


@dataclass
class AlertRow:
    id: int
    kind: str
    channel: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str
    incident_id: int | None
    subject: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_alerts(
    store: Store, *, failed_only: bool = False, limit: int = 100, admin: str = ""
) -> list[AlertRow]:
    """Newest alerts first (without the "expanded" fan-out originals)."""
    with store.session() as s:
        q = select(Alert).where(Alert.state != "expanded")
        if failed_only:
            q = q.where(Alert.state == "failed")
        rows = s.scalars(q.order_by(Alert.id.desc()).limit(limit))
        return [
            AlertRow(
                a.id, a.kind, a.channel, a.state, a.attempts, a.created_at, a.next_attempt_at,
                a.sent_at, a.last_error, a.incident_id, render(a.payload, admin).subject,
            )
            for a in rows
        ]  # fmt: skip


def retry(store: Store, alert_id: int | None = None, *, now: datetime | None = None) -> int:
    """Queue failed alerts again (one, or all when `alert_id` is None); returns how many."""
    when = now or utcnow()
    with store.session() as s:
        if alert_id is not None:
            a = s.get(Alert, alert_id)
            if a is None:
                raise NotFound(f"no alert {alert_id}; 'canary alerts --failed' lists them")
            if a.state != "failed":
                raise NotFound(f"alert {alert_id} is {a.state}, not failed: nothing to retry")
            rows = [a]
        else:
            rows = list(s.scalars(select(Alert).where(Alert.state == "failed")))
        for a in rows:
            a.payload = {**a.payload, "_queued_at": when.isoformat()}
            a.state = "pending"
            a.attempts = 0
            a.next_attempt_at = when
            a.claimed_until = None
        return len(rows)


@dataclass
class TestResult:
    channel: str
    ok: bool
    detail: str


def send_test(config: Config, *, channels: list[Channel] | None = None) -> list[TestResult]:
    """Send a test alert through every configured channel now (not via the outbox)."""
    chans = parse_channels(config) if channels is None else channels
    payload = {"kind": "test", "sent_at": utcnow().isoformat()}
    r = render(payload, config.listen.admin)
    out: list[TestResult] = []
    for ch in chans:
        try:
            note = ch.send(r, {"alert_id": None, "kind": "test", "payload": payload})
            out.append(TestResult(ch.name, True, note))
        except ChannelError as exc:
            out.append(TestResult(ch.name, False, str(exc)))
    return out
