"""`canary issue`: tagged copies of a table, one per recipient."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from canary.cli.common import JSON_OPTION, app, echo, emit_json, state
from canary.issue.plant import IssueRequest, collusion_advice, issue_copies


@app.command()
def issue(
    source: str = typer.Argument(
        ..., help="table: .csv/.tsv/.txt, .xlsx, .json, .jsonl, .sqlite/.db, or a SQLAlchemy URL"
    ),
    recipient: list[str] = typer.Option(
        ..., "--recipient", "-r", help="who receives a copy (repeat for several)"
    ),
    purpose: str = typer.Option("", "--purpose", help="why the copy is handed out"),
    canaries: int | None = typer.Option(
        None, "--canaries", "-n", help="each copy's own canaries (coded ones come on top)"
    ),
    collusion: int | None = typer.Option(
        None,
        "--collusion",
        help="also plant coded canaries shared by subsets of the copies, so that up to C "
        "recipients who keep only the rows their copies share, merge them, pick rows or "
        "drop half of them are still named, each with its false-accusation probability. "
        "Cost per copy, on top of its own canaries: C=2 about 0.3 x 45 ln(1000 n) rows "
        "(125 for 10 copies, 146 for 50); C=3 about 0.3 x 110 ln(1000 n) (304 for 10 "
        "copies). Keep it under about 2% of the table's rows.",
    ),
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
        collusion=collusion,
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
    if collusion is None and len(copies) >= 3 and copies[0].table_rows:
        advice = collusion_advice(copies[0].table_rows, len(copies))
        if advice:
            typer.echo(advice, err=True)
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
        coded = f" ({c.coded} coded)" if c.coded else ""
        echo(f"{c.id}  {c.recipient}  {c.canaries} canaries{coded}  {c.path}")
