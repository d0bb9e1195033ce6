"""What investigators read: the register of copies and hits (`queries`), a copy's history,
`trace` of one address or number, and `identify` of a found dump.
"""

from __future__ import annotations

from canary.investigate.queries import HitFilter, list_copies, list_hits

# `identify` and `trace` are `canary.identify` / `canary.trace` (or the modules' own):
# re-exporting the functions here would hide the modules of the same names.
__all__ = ["HitFilter", "list_copies", "list_hits"]
