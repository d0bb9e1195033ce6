"""What investigators read: the register of copies and hits (`queries`), a copy's history,
`trace` of one address or number, and `identify` of a found dump.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    # Loaded on first use: importing one module of this package (as the command line
    # does) must not import the others and what they import.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
