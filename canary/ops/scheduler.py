"""Scheduled jobs run inside `canary serve`: alert dispatch, digests, DNS drift, liveness,
mailboxes, and the drift check of live copies (`canary.ops.live`).

`create_scheduler(store, config)` returns an APScheduler 3 `AsyncIOScheduler`, not
started: `canary serve` starts it inside its running loop. Jobs have stable ids
(`replace_existing=True`), coalesce missed runs, allow one instance at a time and
use the in-memory job store (nothing pickled; each process builds its own). Job
functions are plain blocking functions: the asyncio executor runs them in the
loop's thread pool, so SMTP, HTTP and DNS never block the listeners.

Several processes may run these jobs on one store: the outbox claims rows and the
digests move counters with compare-and-set, so nothing is sent or counted twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from canary.alerts.channels import parse_channels
from canary.alerts.outbox import dispatch_due, enqueue, run_digests
from canary.config import Config
from canary.ops.dns import Lookup, mx_drift
from canary.ops.liveness import run_liveness
from canary.store.engine import Store
from canary.store.models import Setting
from canary.store.register import list_domains

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 5.0
DIGEST_SECONDS = 30.0
MISFIRE_GRACE_SECONDS = 300
JOB_IDS = (
    "canary.alerts.dispatch",
    "canary.alerts.digest",
    "canary.dns.drift",
    "canary.liveness",
    "canary.mailboxes",
    "canary.live.drift",
)


def check_dns_drift(
    store: Store, config: Config, lookup: Lookup | None = None, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Alert (once per change) when a canary domain's MX stops pointing at smtp.mx_hosts."""
    expected = config.smtp.mx_hosts
    if not expected:
        return []
    lk = lookup or Lookup()
    t = now or datetime.now(UTC)
    queued: list[dict[str, Any]] = []
    for domain in list_domains(store):
        problem = mx_drift(lk, domain, expected)
        key = f"dns_drift:{domain}"
        with store.session() as s:
            row = s.get(Setting, key)
            before = json.loads(row.value).get("problem", "") if row else ""
            if problem == before:
                continue
            s.merge(Setting(key=key, value=json.dumps({"problem": problem, "at": t.isoformat()})))
            payload = {
                "kind": "system",
                "title": f"DNS drift: {domain}" if problem else f"DNS fixed: {domain}",
                "facts": {"Domain": domain, "Problem": problem or "none: MX as configured",
                          "Expected MX": ", ".join(expected)},
                "fix": f"Point the MX of {domain} at {', '.join(expected)} "
                "(or update smtp.mx_hosts), then run 'canary doctor'." if problem else "",
            }  # fmt: skip
            enqueue(s, "system", payload, now=t)
            queued.append(payload)
    return queued


def _guard(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """A job body that logs failures instead of letting them escape."""

    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("job %s failed; it runs again at its next interval", name)

    run.__name__ = name.replace(".", "_")
    return run


def create_scheduler(
    store: Store, config: Config, *, lookup: Lookup | None = None, smtp_port: int = 25
) -> AsyncIOScheduler:
    """The scheduler with every job added (not started).

    `lookup` is the DNS resolver for drift and liveness (default: the system's);
    `smtp_port` is the port liveness uses to reach each domain's public MX (25 on the
    internet; `canary serve` passes its SMTP listener's port, right when the MX is
    this host without port mapping).

    Raises ConfigError for a bad `[[alerts.channels]]` table, so `canary serve`
    refuses to start rather than queue alerts it can never deliver.
    """
    parse_channels(config)
    sched = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )

    def add(job_id: str, fn: Callable[[], Any], seconds: float) -> None:
        sched.add_job(
            _guard(job_id, fn),
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            next_run_time=datetime.now(UTC),
        )

    add("canary.alerts.dispatch", lambda: dispatch_due(store, config), DISPATCH_SECONDS)
    add("canary.alerts.digest", lambda: run_digests(store, config), DIGEST_SECONDS)
    if config.smtp.mx_hosts and config.alerts.dns_check_minutes > 0:
        add(
            "canary.dns.drift",
            lambda: check_dns_drift(store, config, lookup),
            config.alerts.dns_check_minutes * 60,
        )
    if config.mailbox.poll_seconds > 0:
        from canary.ops.mailboxes import poll_all

        add("canary.mailboxes", lambda: poll_all(store, config), config.mailbox.poll_seconds)
    if config.live.check_minutes > 0:
        from canary.ops.live import check_live

        add("canary.live.drift", lambda: check_live(store, config), config.live.check_minutes * 60)
    if config.alerts.liveness_minutes > 0:
        add(
            "canary.liveness",
            lambda: run_liveness(
                store, lookup or Lookup(), port=smtp_port, helo=config.smtp.hostname
            ),
            config.alerts.liveness_minutes * 60,
        )
    return sched
