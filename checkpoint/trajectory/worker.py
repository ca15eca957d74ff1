"""The trajectory worker inside `checkpoint serve`: summarises each local day once it has closed,
and today up to its last closed hour."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from checkpoint.trajectory.summaries import summarise
from checkpoint.trajectory.today import summarise_today

log = logging.getLogger(__name__)

# a closed day is summarised within this long; each round re-counts the summarised days' passes
# (an index-only count of the month, about 17 s at 57 M rows) to find late uploads and retention
SUMMARY_EVERY_S = 3600.0


def summary_loop(bind: Engine | Connection, timezone: str, stop: threading.Event,
                 every_s: float = SUMMARY_EVERY_S, *, days_back: int) -> None:
    """Every `every_s`: summarise the closed days of the last `days_back` (RetentionSettings.summary_days)
    that are missing or changed, then today's closed hours; first run at once."""
    while not stop.is_set():
        try:
            with Session(bind) as session:
                summarise(session, timezone, days_back=days_back)
                summarise_today(session, timezone)
        except Exception:  # PostgreSQL restarting: try again next round
            log.exception("trajectory.summary_error")
        stop.wait(every_s)


def start_summary_thread(engine: Engine, timezone: str, stop: threading.Event, *, days_back: int) -> threading.Thread:
    thread = threading.Thread(target=summary_loop, args=(engine, timezone, stop), kwargs={"days_back": days_back},
                              name="trajectory-summaries", daemon=True)
    thread.start()
    return thread
