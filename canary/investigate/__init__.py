"""What investigators read: the register of copies and hits (`queries`), a copy's history,
`trace` of one address or number, and `identify` of a found dump.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canary.lazy import lazy_attributes

if TYPE_CHECKING:
    from canary.investigate.queries import HitFilter, list_copies, list_hits

_LAZY = {
    "HitFilter": "canary.investigate.queries",
    "list_copies": "canary.investigate.queries",
    "list_hits": "canary.investigate.queries",
}

# `identify` and `trace` are `canary.identify` / `canary.trace` (or the modules' own):
# re-exporting the functions here would hide the modules of the same names.
__all__ = ["HitFilter", "list_copies", "list_hits"]


__getattr__ = lazy_attributes(__name__, _LAZY)
