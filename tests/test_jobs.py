"""Scheduled jobs: the scheduler serve runs, DNS drift and liveness against loopback servers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from canary.config import Config
from canary.errors import ConfigError
from canary.hits.record import Observation, record
from canary.ops.dns import Lookup
from canary.ops.liveness import PREFIX, run_liveness
from canary.ops.scheduler import JOB_IDS, check_dns_drift, create_scheduler
from canary.store.engine import Store
from canary.store.models import Alert, Hit, Incident
from canary.store.register import add_domain
from tests.alerts_support import add_copy, dns_server, http_receiver, smtp_receiver, wait_for
from tests.conftest import free_port

CANARY = "ana.perez@avisos.example.org"


def system_alerts(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        rows = s.scalars(select(Alert).where(Alert.kind == "system").order_by(Alert.id))
        return [a.payload for a in rows]


def test_scheduler_has_stable_jobs_and_delivers_alerts(sqlite_store: Store, tmp_path: Path) -> None:
    store = sqlite_store
    with http_receiver() as web:
        cfg = Config()
        cfg.path = tmp_path / "canary.toml"
        cfg.alerts.channels = [{"type": "webhook", "url": web.url}]
        cfg.smtp.mx_hosts = ["mx1.good.example"]
        cfg.alerts.liveness_minutes = 30
        add_copy(store, "Vendor", CANARY)

        async def main() -> None:
            sched = create_scheduler(store, cfg, lookup=Lookup("127.0.0.1", free_port(), 1))
            assert not sched.running
            jobs = sched.get_jobs()
            assert sorted(j.id for j in jobs) == sorted(JOB_IDS)
            assert all(j.misfire_grace_time and j.coalesce and j.max_instances == 1 for j in jobs)
            sched.start()
            try:
                await asyncio.to_thread(
                    record, store, [Observation("smtp", CANARY, sender="x@spam.example")]
                )
                await asyncio.to_thread(wait_for, lambda: web.requests, 60)
            finally:
                sched.shutdown(wait=True)

        asyncio.run(main())
        assert [r.json()["kind"] for r in web.requests] == ["first"]


def test_scheduler_without_optional_jobs(sqlite_store: Store) -> None:
    cfg = Config()
    # reading mailboxes is on by default (a no-op until one is added); 0 turns it off
    # so is the drift check of live copies (a no-op until one is planted)
    ids = {j.id for j in create_scheduler(sqlite_store, cfg).get_jobs()}
    assert {"canary.mailboxes", "canary.live.drift"} <= ids
    cfg.mailbox.poll_seconds = 0
    cfg.live.check_minutes = 0
    sched = create_scheduler(sqlite_store, cfg)
    assert sorted(j.id for j in sched.get_jobs()) == [
        "canary.alerts.digest",
        "canary.alerts.dispatch",
    ]


def test_scheduler_refuses_a_bad_channel(sqlite_store: Store) -> None:
    cfg = Config()
    cfg.alerts.channels = [{"type": "webhook", "url": "http://x", "sekret": "s"}]
    with pytest.raises(ConfigError, match="sekret"):
        create_scheduler(sqlite_store, cfg)


def test_dns_drift_alerts_once_per_change(sqlite_store: Store) -> None:
    store = sqlite_store
    add_domain(store, "good.example")
    cfg = Config()
    cfg.smtp.mx_hosts = ["mx1.good.example"]
    zone = {("good.example.", "MX"): ["10 mx1.good.example."]}
    with dns_server(zone) as port:
        lookup = Lookup("127.0.0.1", port, timeout=5)
        assert check_dns_drift(store, cfg, lookup) == []
        zone[("good.example.", "MX")] = ["10 mx.hijacked.example."]
        [alert] = check_dns_drift(store, cfg, lookup)
        assert alert["title"] == "DNS drift: good.example"
        assert "mx.hijacked.example" in alert["facts"]["Problem"]
        assert check_dns_drift(store, cfg, lookup) == []  # same problem: no second alert
        zone[("good.example.", "MX")] = ["10 mx1.good.example."]
        [fixed] = check_dns_drift(store, cfg, lookup)
        assert fixed["title"] == "DNS fixed: good.example"
    assert [a["title"] for a in system_alerts(store)] == [
        "DNS drift: good.example",
        "DNS fixed: good.example",
    ]


class ListenerStandIn:
    """What the SMTP listener does with an unknown local part: record a probe hit, say 550."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        record(self.store, [Observation("smtp-probe", address, sender="liveness")])
        return "550 5.1.1 no such user"


def test_liveness_alerts_when_sentinel_mail_stops_arriving(sqlite_store: Store) -> None:
    store = sqlite_store
    add_domain(store, "good.example")
    smtp_port = free_port()
    zone = {
        ("good.example.", "MX"): ["10 mx1.good.example."],
        ("mx1.good.example.", "A"): ["127.0.0.1"],
    }
    with dns_server(zone) as dns_port:
        lookup = Lookup("127.0.0.1", dns_port, timeout=5)

        def tick() -> list[str]:
            return [a["title"] for a in run_liveness(store, lookup, port=smtp_port)]

        with smtp_receiver(smtp_port, ListenerStandIn(store)):
            assert tick() == []
            assert tick() == []  # the first sentinel arrived
        assert tick() == []  # the second arrived too; the third cannot
        assert tick() == ["Liveness: mail to good.example no longer reaches the listener"]
        assert tick() == []  # one alert per outage
        with smtp_receiver(smtp_port, ListenerStandIn(store)):
            assert tick() == []  # the one sent while down is still missing
            assert tick() == ["Liveness: mail to good.example reaches the listener again"]
    with store.session() as s:
        sentinels = list(s.scalars(select(Hit).where(Hit.identifier.startswith(PREFIX))))
        incidents = s.scalar(select(func.count()).select_from(Incident))
    assert len(sentinels) == 4 and all(h.incident_id is None for h in sentinels)
    assert incidents == 0
    assert len(system_alerts(store)) == 2


def test_liveness_through_the_real_smtp_listener(sqlite_store: Store) -> None:
    from tests.smtp_support import Running, make_config

    store = sqlite_store
    add_domain(store, "good.example")
    zone = {
        ("good.example.", "MX"): ["10 mx1.good.example."],
        ("mx1.good.example.", "A"): ["127.0.0.1"],
    }
    server = Running(store, make_config())
    try:
        with dns_server(zone) as dns_port:
            lookup = Lookup("127.0.0.1", dns_port, timeout=5)
            assert run_liveness(store, lookup, port=server.port) == []
            assert run_liveness(store, lookup, port=server.port) == []
    finally:
        server.close()
    with store.session() as s:
        sentinels = list(s.scalars(select(Hit).where(Hit.identifier.startswith(PREFIX))))
        assert len(sentinels) == 2  # one per round, each recorded by the listener
        assert all(h.channel == "smtp-probe" and h.incident_id is None for h in sentinels)
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
