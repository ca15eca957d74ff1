"""Plate recognition commands (`checkpoint lpr ...`)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def read() -> None:
    """Read plates in images (filled in by the lpr work)."""
    raise typer.Exit(code=2)
