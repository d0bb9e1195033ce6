"""`canary serve`: run the listeners and the scheduler (thin: parse, call, return)."""

from __future__ import annotations

import typer

from canary.cli.common import app, state


@app.command()
def serve(
    smtp: str | None = typer.Option(None, "--smtp", help="SMTP HOST:PORT (else listen.smtp)"),
    http: str | None = typer.Option(
        None, "--http", help="public webhooks HOST:PORT (else listen.http)"
    ),
    admin: str | None = typer.Option(
        None, "--admin", help="admin dashboard/API HOST:PORT (else listen.admin)"
    ),
    only: list[str] = typer.Option(
        [], "--only", help="run only this part: smtp, http, admin or scheduler (repeatable)"
    ),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="do not run scheduled jobs"),
    log_json: bool = typer.Option(False, "--log-json", help="log JSON lines for machines"),
) -> None:
    """Run the SMTP listener, public webhooks, admin listener and scheduler until stopped."""
    from listeners.serve import PARTS, ServeOptions, configure_logging, run

    for part in only:
        if part not in PARTS:
            raise typer.BadParameter(
                f"'{part}' is not one of {', '.join(PARTS)}", param_hint="--only"
            )
    options = ServeOptions.build(
        smtp=smtp, http=http, admin=admin, only=only, scheduler=not no_scheduler
    )
    configure_logging(json_lines=log_json)
    run(state.store, state.config, options)
