"""`canary demo`: the whole story in a temporary folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from canary.cli.common import app, echo
from canary.cli.story import run_demo
from canary.files import private_dir


@app.command()
def demo(
    keep: Path | None = typer.Option(
        None, "--keep", help="run in this (new or empty) folder and keep it"
    ),
) -> None:
    """Issue three copies, leak one, identify it, contact its canaries, trace the hits."""
    if keep is not None:
        private_dir(keep)
        run_demo(keep.resolve(), echo)
        echo(f"Copies, chat export, config and store are kept in {keep.resolve()}.")
        return
    with tempfile.TemporaryDirectory(prefix="canary-demo-") as tmp:
        run_demo(Path(tmp), echo)
    echo("(It ran in a temporary folder, removed now; 'canary demo --keep DIR' keeps it.)")
