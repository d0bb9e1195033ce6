"""`canary init`, `canary domain ...`, `canary phone ...`."""

from __future__ import annotations

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, nameserver_lookup, state
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
    from canary.evidence import signing

    key_state, key_path, public = signing.ensure_key(state.config)
    echo(f"{'wrote' if written else 'kept'} {path}")
    echo(f"store ready: {safe_url(state.config.store_url)}")
    if key_state is signing.KeyState.FROM_ENV:
        echo(f"signing key: from ${signing.SIGNING_KEY_ENV}")
    else:
        echo(f"signing key: {key_state.value} {key_path}")
    echo(f"signing key fingerprint (publish it): {public.fingerprint}")
    if token:
        echo(f"admin API token (shown once, keep it safe): {token}")


@domain_app.command("add")
def domain_add(
    domain: str,
    nameserver: str = typer.Option(
        "", "--nameserver", help="resolver for the MX check, HOST or HOST:PORT (else the system's)"
    ),
) -> None:
    """Register a canary domain (public mail providers are refused); warn if its MX is not ours."""
    from canary.ops.contacts import MX_CHECK_SECONDS, add_canary_domain

    lookup = nameserver_lookup(nameserver, MX_CHECK_SECONDS)
    added = add_canary_domain(state.store, state.config, domain, lookup)
    echo(f"{'added' if added.new else 'already registered'}: {added.name}")
    for w in added.warnings:
        typer.echo(f"warning: {w}", err=True)


@domain_app.command("list")
def domain_list(as_json: bool = JSON_OPTION) -> None:
    """List canary domains, retired ones too."""
    domains = registry.all_domains(state.store)
    if as_json:
        emit_json(
            {
                "domains": [
                    {
                        "name": d.name,
                        "added_at": d.added_at,
                        "retired": d.retired,
                        "retired_at": d.retired_at,
                    }
                    for d in domains
                ]
            }
        )
        return
    for d in domains:
        echo(f"{d.name}  (retired {d.retired_at:%Y-%m-%d})" if d.retired_at else d.name)


@domain_app.command("remove")
def domain_remove(domain: str) -> None:
    """Retire a canary domain: no new canary uses it; copies already issued keep resolving."""
    d = registry.retire_domain(state.store, domain)
    echo(f"retired: {d.name} (copies already issued keep resolving to it)")


@phone_app.command("add")
def phone_add(
    number: str,
    provider: str = typer.Option(
        "generic", "--provider", help="twilio | whatsapp | vonage | telnyx | generic"
    ),
    voice_only: bool = typer.Option(
        False, "--voice-only", help="a fixed line: calls only (landlines cannot take SMS)"
    ),
) -> None:
    """Register a canary phone number (any formatting; stored in E.164)."""
    e164, new = registry.add_phone(state.store, number, provider, voice_only=voice_only)
    kind = f"{provider}, voice only" if voice_only else provider
    echo(f"{'added' if new else 'already registered'}: {e164} ({kind})")


@phone_app.command("list")
def phone_list(as_json: bool = JSON_OPTION) -> None:
    """List canary phone numbers, retired ones too."""
    phones = registry.list_phones(state.store, include_retired=True)
    if as_json:
        emit_json(
            {
                "phones": [
                    {
                        "number": p.number,
                        "provider": p.provider,
                        "added_at": p.added_at,
                        "first_used_at": p.first_used_at,
                        "voice_only": p.voice_only,
                        "retired": p.retired,
                        "retired_at": p.retired_at,
                    }
                    for p in phones
                ]
            }
        )
        return
    for p in phones:
        extra = "  voice only" if p.voice_only else ""
        extra += f"  (retired {p.retired_at:%Y-%m-%d})" if p.retired_at else ""
        echo(f"{p.number}  {p.provider}{extra}")


@phone_app.command("remove")
def phone_remove(number: str) -> None:
    """Retire a canary number: no new canary uses it; copies already issued keep resolving."""
    p = registry.retire_phone(state.store, number)
    echo(f"retired: {p.number} (copies already issued keep resolving to it)")
