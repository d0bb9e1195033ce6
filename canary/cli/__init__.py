"""The `canary` command line: thin commands that parse, call one function, print.

Each module in this package adds its commands to `app`; errors of the project's
types become one line and exit 1 inside the app (`common.CanaryGroup`).
"""

from __future__ import annotations

import importlib
import logging

from canary.cli.common import app

# Command modules register themselves on import.
COMMAND_MODULES = ("setup", "issue", "live", "mailbox", "query", "listen", "alerts", "case", "demo")


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}")


def main() -> None:
    """Console entry point."""
    _load_commands()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()  # usage errors exit 2 (Click); project errors exit 1 (CanaryGroup)


_load_commands()
