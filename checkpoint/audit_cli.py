"""`checkpoint audit verify|anchor`: check the audit log's hash chain, write its head outside the database."""

from __future__ import annotations

import typer

from checkpoint.core import audit_chain
from checkpoint.core.config import get_settings
from checkpoint.runtime import running_system

app = typer.Typer(no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Recompute every row's hash and check the anchors; exit 1 naming each removed or changed row."""
    settings = get_settings()
    with running_system(settings, prepare=False, redis=False) as system:
        report = audit_chain.verify(system.engine, settings.data_dir)
    for problem in report.problems:
        typer.echo(f"FAIL {problem}", err=True)
    if not report.ok:
        raise typer.Exit(code=1)
    typer.echo(f"audit chain intact: {report.rows} rows, head {report.head_id} {report.head_hash[:16]}..., "
               f"{report.anchors_checked} anchors checked")


@app.command("anchor")
def anchor() -> None:
    """Append the chain's head to <data_dir>/audit/anchors.jsonl now (serve does it daily)."""
    settings = get_settings()
    with running_system(settings, prepare=False, redis=False) as system:
        written = audit_chain.write_anchor(system.engine, settings.data_dir)
    typer.echo(f"anchored {written}" if written else "the audit log is empty: nothing to anchor")
