"""Alerts: the outbox, the channels and what an alert says.

`canary.hits.incidents` (`assign`, `finish`) queues alerts in the transaction that records hits;
`canary.ops.scheduler` runs `dispatch_due` and `run_digests`; the CLI lists, retries and
tests them. See `outbox` for the delivery guarantees.
"""

from __future__ import annotations

from canary.alerts.channels import Channel, ChannelError, parse_channels
from canary.alerts.outbox import (
    dispatch_due,
    enqueue,
    list_alerts,
    retry,
    run_digests,
    send_test,
)

__all__ = [
    "Channel",
    "ChannelError",
    "dispatch_due",
    "enqueue",
    "list_alerts",
    "parse_channels",
    "retry",
    "run_digests",
    "send_test",
]
