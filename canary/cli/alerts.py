"""`canary alerts [--failed] [--json]`, `alerts test`, `alerts retry`, `canary doctor`."""

from __future__ import annotations

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, nameserver_lookup, state
from canary.errors import InputError

alerts_app = typer.Typer(help="The alert outbox: list, test channels, retry failed alerts.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    failed: bool = typer.Option(False, "--failed", help="only permanently failed alerts"),
    limit: int = typer.Option(100, "--limit", help="at most this many, newest first"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List alerts in the outbox, newest first."""
    from canary.alerts import list_alerts

    if ctx.invoked_subcommand is not None:
        return
    rows = list_alerts(
        state.store, failed_only=failed, limit=limit, admin=state.config.listen.admin
    )
    if as_json:
        emit_json({"alerts": [r.as_dict() for r in rows]})
        return
    if not rows:
        echo("no failed alerts" if failed else "no alerts")
    for r in rows:
        channel = "(all channels)" if r.channel == "*" else r.channel
        line = f"{r.id:>6}  {r.state:<8} {r.kind:<12} {channel:<16} {r.subject}"
        echo(line)
        if r.last_error and r.state != "sent":
            echo(f"        attempts {r.attempts}, last error: {r.last_error}")


@alerts_app.command("test")
def alerts_test(as_json: bool = JSON_OPTION) -> None:
    """Send a test alert through every configured channel now; exit 1 if any failed."""
    from canary.alerts import send_test

    results = send_test(state.config)
    if as_json:
        emit_json({"results": [r.__dict__ for r in results]})
    else:
        if not results:
            echo("no alert channels configured: add [[alerts.channels]] to canary.toml")
        for r in results:
            echo(f"{'ok    ' if r.ok else 'FAILED'}  {r.channel}: {r.detail}")
    if not results or not all(r.ok for r in results):
        raise typer.Exit(1)


@alerts_app.command("retry")
def alerts_retry(
    alert_id: int | None = typer.Argument(None, help="the failed alert to queue again"),
    all_: bool = typer.Option(False, "--all", help="queue every failed alert again"),
) -> None:
    """Queue failed alerts again (they go out at the next dispatch of 'canary serve')."""
    from canary.alerts import retry

    if (alert_id is None) == (not all_):
        raise InputError("give one alert id or --all ('canary alerts --failed' lists them)")
    n = retry(state.store, None if all_ else alert_id)
    echo(f"queued {n} alert{'s' if n != 1 else ''} again")


@app.command()
def doctor(
    as_json: bool = JSON_OPTION,
    nameserver: str = typer.Option(
        "", "--nameserver", help="resolver to ask, HOST or HOST:PORT (default: the system's)"
    ),
    skip: list[str] = typer.Option(
        [],
        "--skip",
        help="leave out a check: dns, listeners, config, providers, phones, alerts, files, "
        "mailboxes",
    ),
    timeout: float = typer.Option(3.0, "--timeout", help="seconds per DNS query or connection"),
) -> None:
    """Check DNS of canary domains, listeners, config, secrets, phones, alerts, file modes."""
    from canary.ops.doctor import CHECKS, run_doctor

    unknown = [s for s in skip if s not in CHECKS]
    if unknown:
        raise InputError(f"unknown check {unknown[0]!r}; use one of: {', '.join(CHECKS)}")
    lookup = nameserver_lookup(nameserver, timeout)
    report = run_doctor(
        state.store,
        state.config,
        lookup=lookup,
        checks=tuple(c for c in CHECKS if c not in skip),
        timeout=timeout,
    )
    if as_json:
        emit_json(report.as_dict())
    else:
        for f in report.findings:
            echo(f"{f.level.upper():<5}  {f.check:<24} {f.message}")
            if f.fix and f.level != "ok":
                echo(f"       fix: {f.fix}")
        echo("ok" if report.ok else "problems found")
    if not report.ok:
        raise typer.Exit(1)
