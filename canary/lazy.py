"""Names a package re-exports, imported from their modules on first use.

A package's `__init__` maps each public name to the module that defines it and sets
`__getattr__ = lazy_attributes(__name__, mapping)`: importing one module of the package
(as the command line does) does not import the others and what they import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` loading `name` from `where[name]`, kept once loaded."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
