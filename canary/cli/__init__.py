"""The `canary` command line: thin commands that parse, call one function, print.

Each module in this package adds its commands to `app`; errors of the project's
types become one line and exit 1 inside the app (`common.CanaryGroup`).

A command module imports what its commands need (the store, the synthesis, the
listeners), so the console entry point imports only the modules of the commands named
on its command line; `from canary.cli import app` gives the app with every command.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canary.cli.common import app as app

# Command modules register themselves on import, in this order.
COMMAND_MODULES = ("setup", "issue", "live", "mailbox", "query", "listen", "alerts", "case", "demo")

#: Each top-level command or command group and the module that registers it
#: (tests/test_cli_setup.py checks it against the app with every module loaded).
COMMANDS = {
    "init": "setup",
    "domain": "setup",
    "phone": "setup",
    "issue": "issue",
    "plant": "live",
    "unplant": "live",
    "mailbox": "mailbox",
    "copies": "query",
    "copy": "query",
    "hits": "query",
    "trace": "query",
    "identify": "query",
    "search": "query",
    "serve": "listen",
    "alerts": "alerts",
    "doctor": "alerts",
    "incidents": "case",
    "incident": "case",
    "hit": "case",
    "report": "case",
    "key": "case",
    "verify": "case",
    "user": "case",
    "token": "case",
    "demo": "demo",
}


def _load_commands(names: Sequence[str] = COMMAND_MODULES) -> None:
    for name in COMMAND_MODULES:
        if name in names:
            importlib.import_module(f"{__name__}.{name}")


def modules_for(argv: Sequence[str]) -> list[str]:
    """The command modules a command line needs: those of every word in it that names a
    command (the one Click runs is among them, whatever options come before it), or every
    module when no word does (`canary`, `canary --help`, a mistyped command: the help
    and the error list every command)."""
    wanted = {COMMANDS[word] for word in argv if word in COMMANDS}
    return [m for m in COMMAND_MODULES if m in wanted] if wanted else list(COMMAND_MODULES)


def main() -> None:
    """Console entry point."""
    from canary.cli.common import app as app

    _load_commands(modules_for(sys.argv[1:]))
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()  # usage errors exit 2 (Click); project errors exit 1 (CanaryGroup)


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, as tests and embedders use it
        from canary.cli.common import app

        _load_commands()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
