"""`canary mailbox add/list/remove`, `canary mailbox alias add`."""

from __future__ import annotations

import typer

from canary.cli.common import app, echo, emit_json, state
from canary.store import mailboxes as boxes

mailbox_app = typer.Typer(
    help="Mailboxes the organisation owns at mail providers (read over IMAP): canaries at "
    "Gmail, Outlook, Yahoo get addresses that deliver there."
)
alias_app = typer.Typer(help="Addresses a provider delivers to a mailbox (Outlook/Yahoo aliases).")
app.add_typer(mailbox_app, name="mailbox")
mailbox_app.add_typer(alias_app, name="alias")


@mailbox_app.command("add")
def mailbox_add(
    address: str = typer.Argument(..., help="the account's address, e.g. ana.garcia87@gmail.com"),
    imap: str = typer.Option(
        ..., "--imap", help="imaps://HOST[:PORT] (imap:// only for a server on loopback)"
    ),
    user: str = typer.Option(..., "--user", help="IMAP login name"),
    password_env: str = typer.Option(
        ..., "--password-env", help="environment variable holding the (app) password"
    ),
    ca: str | None = typer.Option(None, "--ca", help="CA certificate file for a private CA"),
) -> None:
    """Register a mailbox (its password stays in the environment, never in the store)."""
    address, new = boxes.add_mailbox(state.store, address, imap, user, password_env, ca)
    echo(f"{'added' if new else 'updated'}: {address}")


@mailbox_app.command("list")
def mailbox_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List mailboxes, their aliases, variants used and state."""
    items = boxes.list_mailboxes(state.store)
    if as_json:
        emit_json({"mailboxes": [m.as_json() for m in items]})
        return
    for m in items:
        flags = " (retired)" if m.retired else ""
        echo(f"{m.address}  {m.imap}  {m.state}  {m.variants_used} variants used{flags}")
        for a in m.aliases:
            echo(f"    alias {a}")


@mailbox_app.command("remove")
def mailbox_remove(address: str) -> None:
    """Retire a mailbox: no new canary uses it; canaries already issued are still read."""
    changed = boxes.remove_mailbox(state.store, address)
    echo(f"{'retired' if changed else 'already retired'}: {address.strip().lower()}")


@alias_app.command("add")
def alias_add(address: str, alias: str) -> None:
    """Register ALIAS as an address the provider delivers to the mailbox ADDRESS."""
    al, new = boxes.add_alias(state.store, address, alias)
    echo(f"{'added' if new else 'already registered'}: {al} -> {address.strip().lower()}")
