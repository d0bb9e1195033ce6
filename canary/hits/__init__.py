"""Hits: contact to a canary, recorded durably, attributed to copies, filed in incidents.

Listeners and mailbox readers hand `Observation`s to `record` (or `record_in` inside their
own transaction); `attribution` ranks the candidate copies; `incidents` files the hit and
queues its alert in the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canary.lazy import lazy_attributes

if TYPE_CHECKING:
    from canary.hits.record import CHANNELS, Observation, Recorded, record_in

_LAZY = {
    "CHANNELS": "canary.hits.record",
    "Observation": "canary.hits.record",
    "Recorded": "canary.hits.record",
    "record_in": "canary.hits.record",
}

# `record` (the function) is `canary.record` or `canary.hits.record.record`: re-exporting it
# here would hide the module `canary.hits.record`.
__all__ = ["CHANNELS", "Observation", "Recorded", "record_in"]


__getattr__ = lazy_attributes(__name__, _LAZY)
