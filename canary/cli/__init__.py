"""The `canary` command line: thin commands that parse, call one function, print.

Each module in this package adds its commands to `app`; errors of the project's
types are caught here once and printed as one line (exit 1).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from canary.cli.common import app
from canary.errors import CanaryError

# Command modules register themselves on import.
COMMAND_MODULES = ("setup", "issue", "mailbox", "query", "listen", "alerts", "case", "demo")


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


def main() -> None:
    """Console entry point."""
    _load_commands()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app()  # click handles usage errors itself (exit 2)
    except CanaryError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


_load_commands()
