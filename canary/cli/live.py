"""`canary plant` and `canary unplant`: canary rows in a live table, in place."""

from __future__ import annotations

import sys

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, state
from canary.errors import InputError
from canary.issue.live import PlantRequest, live_copy, plant_live, prepare_plant, unplant

NO_TERMINAL = (
    "{what} writes to a live database: pass --yes to confirm (no terminal to ask on); "
    "nothing was written{hint}"
)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
def plant(
    url: str = typer.Argument(
        ..., help="SQLAlchemy URL of the live database (no password: use --password-env)"
    ),
    table: str = typer.Option(..., "--table", help="the live table to plant into"),
    holder: str = typer.Option(
        ..., "--holder", help="who operates the system (vendor, replica): the copy's recipient"
    ),
    password_env: str = typer.Option(
        "", "--password-env", help="environment variable holding the database password"
    ),
    purpose: str = typer.Option("", "--purpose", help="why this system holds the data"),
    canaries: int | None = typer.Option(None, "--canaries", "-n", help="canary rows to insert"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print the rows and the statements; write nothing"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="insert without asking"),
    issued_by: str = typer.Option("", "--issued-by", help="who plants the canaries"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Insert canary rows into a live TABLE in place, in one transaction, obeying its
    constraints; register them as a live copy held by --holder."""
    if not dry_run and not yes and not _interactive():
        raise InputError(NO_TERMINAL.format(what="plant", hint="; rehearse with --dry-run first"))
    request = PlantRequest(
        url=url,
        table=table,
        holder=holder,
        password_env=password_env,
        purpose=purpose,
        canaries=canaries,
        issued_by=issued_by,
    )
    store, config = state.store, state.config
    plan = prepare_plant(store, config, request)
    if dry_run:
        plan.close()
        doc = plan.describe()
        if as_json:
            emit_json({"dry_run": True, **doc})
            return
        echo(f"dry run: {len(plan.rows)} canary rows for {doc['table']} of {doc['url']}")
        echo("constraints: " + "; ".join(doc["constraints"]))
        for statement in doc["statements"]:
            echo(f"{statement};")
        echo("nothing was written")
        return
    if not yes:
        for statement in plan.describe()["statements"]:
            typer.echo(f"{statement};", err=True)
        if not typer.confirm(
            f"Insert {len(plan.rows)} canary rows into {table} of {plan.url}?", err=True
        ):
            plan.close()
            raise InputError("not confirmed; nothing was written")
    copy = plant_live(store, config, plan)
    if as_json:
        emit_json(
            {
                "copies": [
                    {
                        "id": copy.id,
                        "recipient": copy.recipient,
                        "path": copy.path,
                        "canaries": copy.canaries,
                        "sha256": copy.sha256,
                    }
                ]
            }
        )
        return
    echo(f"{copy.id}  {copy.recipient}  {copy.canaries} canaries  {copy.path} ({table})")


@app.command(name="unplant")
def unplant_cmd(
    copy_id: str = typer.Argument(..., help="the live copy (as `canary plant` printed it)"),
    password_env: str = typer.Option(
        "", "--password-env", help="variable holding the password (default: the registered one)"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="remove without asking"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove exactly the canary rows `canary plant` inserted (a row changed since is
    reported and kept), in one transaction, recorded in the chain."""
    store = state.store
    if not yes:
        if not _interactive():
            raise InputError(NO_TERMINAL.format(what="unplant", hint=""))
        lc, rows = live_copy(store, copy_id)
        if not typer.confirm(
            f"Remove the {len(rows)} canary rows of {copy_id} from {lc.table_name} of {lc.url}?",
            err=True,
        ):
            raise InputError("not confirmed; nothing was removed")
    result = unplant(store, copy_id, password_env)
    if as_json:
        emit_json(
            {
                "copy": result.copy_id,
                "removed": result.removed,
                "changed": result.changed,
                "missing": result.missing,
                "referenced": result.referenced,
            }
        )
        return
    echo(f"{copy_id}: {len(result.removed)} canary rows removed")
    if result.changed:
        echo(
            f"{len(result.changed)} rows were changed since planting and were kept "
            f"(canaries {', '.join(map(str, result.changed))})"
        )
    if result.referenced:
        echo(
            f"{len(result.referenced)} rows are pointed at by other rows (the system uses "
            f"them) and were kept (canaries {', '.join(map(str, result.referenced))})"
        )
    if result.missing:
        echo(
            f"{len(result.missing)} rows were already gone "
            f"(canaries {', '.join(map(str, result.missing))})"
        )
