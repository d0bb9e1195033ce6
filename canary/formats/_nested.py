"""Nested JSON objects as flat columns, and back.

A record such as `{"id": 7, "persona": {"nombre": "Ana", "correo": "ana@x.mx"}}` is
planted as the columns `id`, `persona.nombre`, `persona.correo`, so every field gets
a canary value of its own kind (an address at a canary domain, a name that fits).
Left as one JSON column, a nested object could only be copied from a real record or
continued like an id, which would put a real or invented third party's address into
a canary. A key is expanded when every non-null value it has is a non-empty object;
anything else (lists, mixed values) stays one column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Levels of objects expanded below the record.
MAX_DEPTH = 3

Path = tuple[str, ...]


def flat_paths(objs: Iterable[dict[str, Any]]) -> list[Path]:
    """The leaf paths of the records, in the order keys first appear."""
    objs = list(objs)
    return _paths(objs, (), 0)


def _paths(objs: list[dict[str, Any]], prefix: Path, depth: int) -> list[Path]:
    order: dict[str, None] = {}
    for o in objs:
        for k in o:
            order.setdefault(k, None)
    out: list[Path] = []
    for k in order:
        values = [o[k] for o in objs if o.get(k) is not None]
        if depth < MAX_DEPTH and values and all(isinstance(v, dict) and v for v in values):
            out.extend(_paths(values, (*prefix, k), depth + 1))
        else:
            out.append((*prefix, k))
    return out


def header_names(paths: list[Path]) -> list[str]:
    """Column names for the paths: the keys joined with dots, made unique if they clash."""
    names: list[str] = []
    seen: set[str] = set()
    for p in paths:
        name = ".".join(p)
        while name in seen:
            name += "_"
        seen.add(name)
        names.append(name)
    return names


def get(obj: dict[str, Any], path: Path) -> Any:
    """The value at `path`, None where the record lacks it."""
    cur: Any = obj
    for k in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def build(paths: list[Path], values: list[Any]) -> dict[str, Any]:
    """A record from leaf values, objects nested as the paths say, keys in path order."""
    out: dict[str, Any] = {}
    for path, value in zip(paths, values, strict=False):
        cur = out
        for k in path[:-1]:
            nxt = cur.get(k)
            if not isinstance(nxt, dict):
                nxt = cur[k] = {}
            cur = nxt
        cur[path[-1]] = value
    return out
