"""`checkpoint trajectory ...`: summarise closed days for the month-wide analyses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from checkpoint.core.config import get_settings
from checkpoint.core.logging import setup_logging

app = typer.Typer(no_args_is_help=True)


@app.command()
def summarize(
    days: Annotated[int | None, typer.Option(help="how many closed days back to look at (default: the longest "
                                                  "retention + 1, every day a pass may still be kept in)")] = None,
    until: Annotated[str | None, typer.Option(help="last day to summarise, YYYY-MM-DD (default yesterday)")] = None,
    force: Annotated[bool, typer.Option(help="recompute every day, not only missing or changed ones")] = False,
) -> None:
    """Summarise closed days (missing, changed, or all with --force), and without --until today's closed hours;
    idempotent, safe to repeat."""
    from sqlalchemy.orm import Session

    from checkpoint.runtime import running_system
    from checkpoint.trajectory.summaries import summarise
    from checkpoint.trajectory.today import summarise_today

    setup_logging()
    settings = get_settings()
    now = None
    if until is not None:
        last = date.fromisoformat(until)
        now = datetime.combine(last + timedelta(days=1), time(1), tzinfo=ZoneInfo(settings.timezone)).astimezone(UTC)
    with running_system(settings, prepare=False, redis=False) as system, Session(system.engine) as session:
        done = summarise(session, settings.timezone, days_back=days or settings.retention.summary_days(), now=now,
                         force=force)
        today = summarise_today(session, settings.timezone) if until is None else None
    typer.echo(f"summarised {len(done)} days" + (f": {done[0]} to {done[-1]}" if done else "")
               + (f"; today up to {today.astimezone(ZoneInfo(settings.timezone)):%H:%M}" if today else ""))
