"""canary-trace: plant unique synthetic people into copies of a table and trace leaks."""

from __future__ import annotations

__version__ = "0.1.0"
