"""Alerts: the outbox, the channels and what an alert says.

`canary.hits.incidents` (`assign`, `finish`) queues alerts in the transaction that records hits;
`canary.ops.scheduler` runs `dispatch_due` and `run_digests`; the CLI lists, retries and
tests them. See `outbox` for the delivery guarantees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canary.lazy import lazy_attributes

if TYPE_CHECKING:
    from canary.alerts.channels import Channel, ChannelError, parse_channels
    from canary.alerts.outbox import (
        dispatch_due,
        enqueue,
        list_alerts,
        retry,
        run_digests,
        send_test,
    )

_CHANNELS = ("Channel", "ChannelError", "parse_channels")
_OUTBOX = ("dispatch_due", "enqueue", "list_alerts", "retry", "run_digests", "send_test")
_LAZY = {
    **{n: "canary.alerts.channels" for n in _CHANNELS},
    **{n: "canary.alerts.outbox" for n in _OUTBOX},
}

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


__getattr__ = lazy_attributes(__name__, _LAZY)
