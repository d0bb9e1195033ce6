"""What the alerts page says: the configured channels, each one's delivery state, and
what to do when none is configured (alerts then wait in the outbox as channel "*").

Channel options are never shown: a Slack or Teams URL is itself a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from canary.alerts.channels import parse_channels
from canary.alerts.outbox import FANOUT, AlertRow, list_alerts
from canary.config import Config, load_config
from canary.errors import ConfigError
from canary.store.engine import Store
from canary.store.models import Alert

MAX_ERROR = 300


@dataclass
class ChannelState:
    """One channel's outbox rows by state, its last delivery and its last error."""

    name: str
    type: str
    configured: bool = True
    sent: int = 0
    pending: int = 0
    failed: int = 0
    last_sent: datetime | None = None
    last_error: str = ""

    @property
    def health(self) -> str:
        """ok (delivering), failing (failed rows or retries with an error), idle."""
        if self.failed or (self.pending and self.last_error):
            return "failing"
        return "ok" if self.sent else "idle"


@dataclass
class AlertOverview:
    channels: list[ChannelState] = field(default_factory=list)
    config_error: str = ""
    #: Alerts queued for every channel and not yet fanned out: with no channel
    #: configured they wait here.
    waiting: int = 0
    alerts: list[AlertRow] = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return any(c.configured for c in self.channels)


def overview(store: Store, config: Config | None, limit: int = 50) -> AlertOverview:
    """The alerts page's document for `store` under `config` (the defaults without one)."""
    ov = AlertOverview()
    admin = ""
    try:
        cfg = config or load_config()
        admin = cfg.listen.admin
        ov.channels = [ChannelState(ch.name, ch.type) for ch in parse_channels(cfg)]
    except ConfigError as exc:
        ov.config_error = str(exc)[:MAX_ERROR]
    by_name = {c.name: c for c in ov.channels}
    with store.session() as s:
        rows = s.execute(
            select(Alert.channel, Alert.state, func.count(), func.max(Alert.sent_at))
            .where(Alert.state != "expanded")
            .group_by(Alert.channel, Alert.state)
        ).all()
        for channel, state, n, last in rows:
            if channel == FANOUT:
                ov.waiting += int(n) if state == "pending" else 0
                continue
            ch = by_name.get(channel)
            if ch is None:
                ch = by_name[channel] = ChannelState(channel, "", configured=False)
                ov.channels.append(ch)
            if state in ("sent", "pending", "failed"):
                setattr(ch, state, getattr(ch, state) + int(n))
            if state == "sent" and last is not None:
                ch.last_sent = last if ch.last_sent is None else max(ch.last_sent, last)
        for ch in ov.channels:
            err = s.scalar(
                select(Alert.last_error)
                .where(
                    Alert.channel == ch.name,
                    Alert.last_error != "",
                    Alert.state.in_(("pending", "failed")),
                )
                .order_by(Alert.id.desc())
                .limit(1)
            )
            ch.last_error = (err or "")[:MAX_ERROR]
    ov.alerts = list_alerts(store, limit=limit, admin=admin)
    return ov
