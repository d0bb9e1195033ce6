"""Hits: contact to a canary, recorded durably, attributed to copies, filed in incidents.

Listeners and mailbox readers hand `Observation`s to `record` (or `record_in` inside their
own transaction); `attribution` ranks the candidate copies; `incidents` files the hit and
queues its alert in the same transaction.
"""

from __future__ import annotations

from canary.hits.record import CHANNELS, Observation, Recorded, record_in

# `record` (the function) is `canary.record` or `canary.hits.record.record`: re-exporting it
# here would hide the module `canary.hits.record`.
__all__ = ["CHANNELS", "Observation", "Recorded", "record_in"]
