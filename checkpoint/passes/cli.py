"""`checkpoint passes ...`: run the writer or the retention job on their own."""

from __future__ import annotations

from typing import Annotated

import typer

from checkpoint.core.config import get_settings
from checkpoint.core.logging import setup_logging

app = typer.Typer(no_args_is_help=True)


@app.command()
def writer(
    batch: Annotated[int, typer.Option(help="messages per batch")] = 5000,
    claim_idle_ms: Annotated[int, typer.Option(help="claim back batches pending this long (a dead writer's)")]
    = 30_000,
    consumer: Annotated[str | None, typer.Option(help="consumer name (default host-pid)")] = None,
) -> None:
    """Write passes from the reads stream into PostgreSQL until SIGTERM or Ctrl-C."""
    from checkpoint.passes.writer import PassWriter, freeze_startup_objects
    from checkpoint.runtime import WorkerNeedsServers, worker_process

    try:
        with worker_process("writer") as (system, stop):
            pass_writer = PassWriter(system.engine, system.bus, batch_size=batch, claim_idle_ms=claim_idle_ms)
            if consumer:
                pass_writer.consumer = consumer
            freeze_startup_objects()
            pass_writer.run(stop)
    except WorkerNeedsServers as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


@app.command()
def retention(
    class1_days: Annotated[int | None, typer.Option(help="days kept for retention class 1 "
                                                         "(default CHECKPOINT_RETENTION__DAYS_CLASS1, 30)")] = None,
    class2_days: Annotated[int | None, typer.Option(help="days kept for retention class 2 "
                                                         "(default CHECKPOINT_RETENTION__DAYS_CLASS2, 15)")] = None,
) -> None:
    """Remove passes and images older than their checkpoint's retention class, once."""
    from checkpoint.passes.retention import run_retention
    from checkpoint.runtime import running_system

    setup_logging()
    settings = get_settings()
    days_by_class = settings.retention.days_by_class()
    if class1_days is not None:
        days_by_class[1] = class1_days
    if class2_days is not None:
        days_by_class[2] = class2_days
    with running_system(settings, prepare=False, redis=False) as system:
        report = run_retention(system.engine, settings.data_dir, days_by_class=days_by_class)
    typer.echo(f"dropped {len(report.dropped_partitions)} partitions, deleted {report.deleted_rows} rows, "
               f"removed {len(report.removed_image_dirs)} image folders")


if __name__ == "__main__":  # python -m checkpoint.passes.cli writer (before `checkpoint passes` is mounted)
    app()
