"""`canary issue`: tagged copies of a table, one per recipient."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, state
from canary.issue.plant import IssueRequest, issue_copies


@app.command()
def issue(
    source: str = typer.Argument(
        ..., help="table: .csv/.tsv/.txt, .xlsx, .json, .jsonl, .sqlite/.db, or a SQLAlchemy URL"
    ),
    recipient: list[str] = typer.Option(
        ..., "--recipient", "-r", help="who receives a copy (repeat for several)"
    ),
    purpose: str = typer.Option("", "--purpose", help="why the copy is handed out"),
    canaries: int | None = typer.Option(None, "--canaries", "-n", help="canaries per copy"),
    out_dir: Path | None = typer.Option(None, "--out-dir", "-o", help="where copies are written"),
    out_url: str | None = typer.Option(
        None,
        "--out-url",
        help="SQL sources: write each copy as a table of this SQLAlchemy URL instead of a file;"
        " {recipient} in it becomes the recipient's slug (one database each), else the tables"
        " are named <table>_<recipient>",
    ),
    table: str | None = typer.Option(None, "--table", help="table name (SQLite or URL)"),
    sheet: str | None = typer.Option(None, "--sheet", help="sheet name (.xlsx)"),
    issued_by: str = typer.Option("", "--issued-by", help="who issues the copies"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue one tagged copy of SOURCE per --recipient, each with its own canaries."""
    request = IssueRequest(
        source=source,
        recipients=recipient,
        purpose=purpose,
        canaries=canaries,
        out_dir=out_dir,
        out_url=out_url,
        table=table,
        sheet=sheet,
        issued_by=issued_by,
    )
    store, config = state.store, state.config
    if sys.stderr.isatty() and not as_json:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("planting", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total or None)

            copies = issue_copies(store, config, request, progress)
    else:
        copies = issue_copies(store, config, request)
    if as_json:
        emit_json(
            {
                "copies": [
                    {
                        "id": c.id,
                        "recipient": c.recipient,
                        "path": c.path,
                        "canaries": c.canaries,
                        "sha256": c.sha256,
                    }
                    for c in copies
                ]
            }
        )
        return
    for c in copies:
        echo(f"{c.id}  {c.recipient}  {c.canaries} canaries  {c.path}")
