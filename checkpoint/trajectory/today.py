"""Today's closed hours, summarised by the hourly job, so a live window reads at most the last hour raw.

Whole days are summarised once they close (summaries.py). An investigator's "last 30 days" ends
now, though, and without this each analysis read all of today's passes raw: up to 24 h, 2 M rows
at the city's size, 5-10 s. Each round of the job now also summarises today from midnight to its
last closed hour (a partial day: `covered_until` in trajectory_summary_day, with its own
frequent-passing counts). The part is recomputed whole each time: one scan of today's passes, about
as long as summarising a closed day, once an hour. When the day closes it is summarised whole.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.trajectory.summaries import CLOSED_AFTER, day_bounds, summarise_day, vacuum_summaries

log = logging.getLogger(__name__)


def last_closed_hour(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour after the last one closed `CLOSED_AFTER` ago (late passes still arrive)."""
    local = (now - CLOSED_AFTER).astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def summarise_today(session: Session, timezone: str, now: datetime | None = None) -> datetime | None:
    """Summarise today up to its last closed hour, unless that is done already; returns where it ends.

    Returns None when no hour of today has closed yet, or the summary is already up to date.
    """
    now = now or datetime.now(UTC)
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    midnight = day_bounds(today, zone)[0]
    until = last_closed_hour(now, zone)
    if until <= midnight:
        return None
    row = session.execute(text("SELECT covered_until, timezone FROM trajectory_summary_day WHERE day = :day"),
                          {"day": today}).one_or_none()
    if row is not None and row.timezone == timezone and (row.covered_until is None or row.covered_until >= until):
        return None
    passes = summarise_day(session, today, timezone, until=until)
    session.commit()
    vacuum_summaries(session)
    log.info("trajectory.today_summarised", extra={"day": today.isoformat(), "until": until.isoformat(),
                                                   "passes": passes})
    return until

