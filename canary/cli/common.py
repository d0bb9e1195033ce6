"""Shared pieces of the CLI: the app, the global options and output helpers."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from canary.config import Config, load_config
from canary.errors import CanaryError, StoreError
from canary.store.engine import Store, StoreMissing, open_store
from canary.text import safe_text


class CanaryGroup(TyperGroup):
    """The app's group: a project error becomes one line on stderr and exit 1, inside the app.

    Usage errors stay Click's (exit 2). Handling it here rather than around `app()` means
    every caller (the console script, `python -m canary`, Typer's CliRunner) sees the same
    exit code and message.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CanaryError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="canary",
    cls=CanaryGroup,
    help="Plant canaries into copies of sensitive tables and trace which copy leaked.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class State:
    config_path: Path | None = None
    _config: Config | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        """The configured store; it must exist (only `canary init` creates one)."""
        return self.open_store(create=False)

    def open_store(self, *, create: bool) -> Store:
        if self._store is None:
            try:
                self._store = open_store(
                    self.config.store_url,
                    create=create,
                    burn_in_days=self.config.plant.burn_in_days,
                )
            except StoreMissing as exc:
                raise StoreError(_missing_store(exc.where, self.config)) from None
        return self._store


def _missing_store(where: str, config: Config) -> str:
    """Where the store was looked for, from which config, and how to get one."""
    if os.environ.get("CANARY_DB_URL"):
        source = "$CANARY_DB_URL"
    elif config.path.exists():
        source = f"store.url in {config.path}"
    else:
        source = f"the default store.url ({config.path} does not exist)"
    return (
        f"no store at {where} (from {source}); run 'canary init' to create it there, "
        "or pass --config with the canary.toml of an existing store"
    )


state = State()

#: The one `--json` option every query command takes (DESIGN: exactly one JSON document).
JSON_OPTION = typer.Option(False, "--json", help="print exactly one JSON document on stdout")


@app.callback()
def _global(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="canary.toml to use (else $CANARY_CONFIG, else ./canary.toml)"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log what happens"),
) -> None:
    import logging

    state.config_path = config
    state._config = None
    state._store = None
    if verbose:
        logging.getLogger().setLevel(logging.INFO)


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, set | tuple):
        return list(o)
    raise TypeError(f"cannot serialise {type(o).__name__}")


def emit_json(doc: Any) -> None:
    """Print exactly one JSON document on stdout."""
    text = json.dumps(doc, default=_default, ensure_ascii=False, indent=2)
    # JSON escapes C0 controls itself; C1, bidi and zero-width characters (only ever
    # inside strings) are escaped too, so the document is safe to show on a terminal.
    sys.stdout.write(_INVISIBLE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) + "\n")


#: What json.dumps(ensure_ascii=False) leaves raw that a terminal would act on.
_INVISIBLE_RE = re.compile(
    "[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def echo(text: str = "") -> None:
    """A line (or lines) for people: whatever came from outside shown inert (no escapes)."""
    typer.echo(safe_text(text, 10_000_000, keep_lines=True))


def nameserver_lookup(nameserver: str, timeout: float) -> Any:
    """A DNS `Lookup` through `--nameserver HOST[:PORT]`, or None for the system's resolver."""
    if not nameserver:
        return None
    from canary.errors import InputError
    from canary.ops.dns import Lookup

    host, port = nameserver, "53"
    if nameserver.startswith("[") and "]:" in nameserver:  # [v6]:port
        host, _, port = nameserver[1:].partition("]:")
    elif nameserver.count(":") == 1:  # v4-or-name:port (a bare v6 has several)
        host, _, port = nameserver.partition(":")
    if not port.isdigit():
        raise InputError(f"--nameserver {nameserver!r}: write HOST or HOST:PORT")
    return Lookup(host.strip("[]"), int(port), timeout=timeout)
