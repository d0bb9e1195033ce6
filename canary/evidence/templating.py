"""The Jinja environment every page and report is rendered with.

Plain Jinja resolves `x.name` to an attribute before an item, so on a dict `x.copy`,
`x.items`, `x.keys` or `x.values` is the dict's bound method, and a page shows
`<built-in method copy of dict object at 0x...>` where a copy id belonged. Here a
dict's item wins when it has one; attributes of other objects are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment


class ItemFirstEnvironment(Environment):
    """A Jinja environment where `x.name` on a mapping is its item `name` if present."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)
