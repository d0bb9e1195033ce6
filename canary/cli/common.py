"""Shared pieces of the CLI: the app, the global options and output helpers."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
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


#: Rows written per write by `emit_json_rows`.
ROWS_PER_WRITE = 2000


def emit_json_rows(doc: dict[str, Any], rows: str) -> None:
    """`emit_json(doc)`, byte for byte, for a document whose `rows` is a long list of flat
    dicts: each row is written from its values (strings by json's C string encoder,
    integers as json writes them, anything else by json.dumps), in chunks as they are
    made, instead of by json's indenting encoder (pure Python: about 20 us a row, 2 s of
    CPU for `canary copies` at 100,000 copies)."""
    enc = json.encoder.encode_basestring  # what ensure_ascii=False writes a string as
    write = sys.stdout.write

    def value(v: Any, depth: int) -> str:
        if type(v) is str:
            return str(enc(v))
        if type(v) is int:
            return int.__repr__(v)
        text = json.dumps(v, default=_default, ensure_ascii=False, indent=2)
        return text.replace("\n", "\n" + "  " * depth)  # JSON text holds no raw newline

    def row(r: Any) -> str:
        if type(r) is not dict or not r:
            return "    " + value(r, 2)
        items = ",\n".join(f"      {enc(k)}: {value(v, 3)}" for k, v in r.items())
        return f"    {{\n{items}\n    }}"

    def safe(text: str) -> str:
        if text.isascii() and "\x7f" not in text:  # nothing to escape: skip the scan
            return text
        return _INVISIBLE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)

    keys = list(doc)
    for n, key in enumerate(keys):
        head = "{\n" if n == 0 else ""
        tail = ",\n" if n < len(keys) - 1 else "\n}\n"
        items = doc[key]
        if key != rows or type(items) is not list or not items:
            write(safe(f"{head}  {enc(key)}: {value(items, 1)}{tail}"))
            continue
        write(safe(f"{head}  {enc(key)}: [\n"))
        for lo in range(0, len(items), ROWS_PER_WRITE):
            part = items[lo : lo + ROWS_PER_WRITE]
            chunk = _flat_rows(part) or ",\n".join(row(r) for r in part)
            more = ",\n" if lo + ROWS_PER_WRITE < len(items) else "\n"
            write(safe(chunk + more))
        write(f"  ]{tail}")
    if not keys:
        write("{}\n")


_SCALARS = frozenset({str, int, float, bool, type(None)})
_ROW_ITEM = ",\n      "  # between two items of a row, as emit_json indents them


def _flat_rows(rows: list[Any]) -> str | None:
    """Rows that are non-empty dicts of scalars, as emit_json indents them inside the
    document's list, in one call of json's C encoder (which does not indent): its item
    separator is the indented one, and the only raw line breaks in its text are those
    separators (strings escape theirs), so the rows' edges are found by text. None for
    rows of any other shape."""
    if not all(type(r) is dict and r for r in rows):
        return None
    if not set(map(type, chain.from_iterable(map(dict.values, rows)))) <= _SCALARS:
        return None
    text = json.dumps(rows, ensure_ascii=False, separators=(_ROW_ITEM, ": "))
    # [{"a": 1,\n      "b": 2},\n      {...}]  ->  rows as the indenting encoder writes them
    body = text[2:-2].replace("}" + _ROW_ITEM + "{", "\n    },\n    {\n      ")
    return "    {\n      " + body + "\n    }"


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
