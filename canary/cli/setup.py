"""`canary init`, `canary domain ...`, `canary phone ...`."""

from __future__ import annotations

import typer

from canary.cli.common import app, echo, emit_json, state
from canary.config import config_path, write_default_config
from canary.store import register as registry
from canary.store.engine import safe_url

domain_app = typer.Typer(help="Canary email domains (MX pointing at the SMTP listener).")
phone_app = typer.Typer(help="Canary phone numbers (webhooks pointing at the listener).")
app.add_typer(domain_app, name="domain")
app.add_typer(phone_app, name="phone")


@app.command()
def init() -> None:
    """Write canary.toml with commented defaults (if missing) and create or migrate the store."""
    path = config_path(state.config_path)
    written = write_default_config(path)
    state.config_path = path
    store = state.open_store(create=True)
    from canary.store.admin_token import ensure_admin_token

    token = ensure_admin_token(store)
    echo(f"{'wrote' if written else 'kept'} {path}")
    echo(f"store ready: {safe_url(state.config.store_url)}")
    if token:
        echo(f"admin API token (shown once, keep it safe): {token}")


@domain_app.command("add")
def domain_add(domain: str) -> None:
    """Register a canary domain."""
    name, new = registry.add_domain(state.store, domain)
    echo(f"{'added' if new else 'already registered'}: {name}")


@domain_app.command("list")
def domain_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List canary domains."""
    names = registry.list_domains(state.store)
    if as_json:
        emit_json({"domains": names})
        return
    for n in names:
        echo(n)


@phone_app.command("add")
def phone_add(
    number: str,
    provider: str = typer.Option(
        "generic", "--provider", help="twilio | whatsapp | vonage | telnyx | generic"
    ),
) -> None:
    """Register a canary phone number (any formatting; stored in E.164)."""
    e164, new = registry.add_phone(state.store, number, provider)
    echo(f"{'added' if new else 'already registered'}: {e164} ({provider})")


@phone_app.command("list")
def phone_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List canary phone numbers."""
    phones = registry.list_phones(state.store)
    if as_json:
        emit_json(
            {
                "phones": [
                    {
                        "number": p.number,
                        "provider": p.provider,
                        "added_at": p.added_at,
                        "first_used_at": p.first_used_at,
                    }
                    for p in phones
                ]
            }
        )
        return
    for p in phones:
        echo(f"{p.number}  {p.provider}")
