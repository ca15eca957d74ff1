"""The `checkpoint` command: mounts each domain's own commands."""

from __future__ import annotations

import typer

from checkpoint.lpr.cli import app as lpr_app

app = typer.Typer(help="Checkpoint: road-checkpoint capture and network-wide watchlist hits.", no_args_is_help=True)
app.add_typer(lpr_app, name="lpr", help="Plate recognition: read images, evaluate accuracy.")


def main() -> None:
    app()
