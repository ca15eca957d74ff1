"""初次入城 first entry: plates seen in a window and not once in the days before it.

A plate-day summary (trajectory/summaries.py) holds each plate's first and last pass of the
day, so it answers for a day that the window's start or the lookback's start cuts in two: a
plate passed before an instant of the day if its first pass did, after it if its last did.
Only the parts of days not summarised (today's last hour, as a rule) are read from `pass`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import DEFAULT_LIMIT, use_analytic_memory
from checkpoint.trajectory.analyses.results import FirstEntry, Found
from checkpoint.trajectory.summaries import EVERY_CHECKPOINT, WindowSplit, day_bounds, touching_split

FIRST_ENTRY_SQL = """
WITH seen AS (
  SELECT plate, min(captured_at) AS first_at FROM pass WHERE captured_at >= :start AND captured_at < :end GROUP BY plate
), before AS (
  SELECT DISTINCT plate FROM pass WHERE captured_at >= :lookback AND captured_at < :start
)
SELECT s.plate, s.first_at, count(*) OVER () AS total
FROM seen s WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.plate = s.plate)
ORDER BY s.first_at, s.plate LIMIT :limit
"""

# Days inside the lookback: any row means seen before (an index probe per plate). Days cut by the
# window's or the lookback's start: seen before if the first pass is before the window and the
# last after the lookback began; seen in the window if the first pass is in it.
FIRST_ENTRY_SUMMARISED_SQL = """
WITH seen AS (
  SELECT plate, min(first_at) AS first_at FROM (
    SELECT plate, first_at FROM trajectory_plate_day
    WHERE day = ANY(:seen_days) AND first_at >= :start AND first_at < :end
    UNION ALL
    SELECT plate, min(captured_at) FROM ({seen_raw}) seen_rows GROUP BY plate
  ) parts GROUP BY plate
), before AS (
  SELECT plate FROM trajectory_plate_day WHERE day = ANY(:edge_days) AND first_at < :start AND last_at >= :lookback
  UNION SELECT plate FROM ({before_raw}) before_rows
)
SELECT s.plate, s.first_at, count(*) OVER () AS total
FROM seen s
WHERE NOT EXISTS (SELECT 1 FROM trajectory_plate_day d WHERE d.plate = s.plate AND d.day >= :first_inner
                  AND d.day <= :last_inner AND d.day = ANY(:inner_days))
  AND NOT EXISTS (SELECT 1 FROM before b WHERE b.plate = s.plate)
ORDER BY s.first_at, s.plate LIMIT :limit
"""

PASSES_SQL = text("""
SELECT k.plate, (SELECT count(*) FROM pass WHERE plate = k.plate AND captured_at >= :start AND captured_at < :end) AS n
FROM unnest(CAST(:plates AS text[])) AS k(plate)
""")  # the passes in the window of the plates shown only: one (plate, captured_at) range each


def first_entries(session: Session, start: datetime, end: datetime, *, lookback_days: int = 30,
                  limit: int = DEFAULT_LIMIT, timezone: str | None = None) -> Found[FirstEntry]:
    """Plates seen in [start, end) and not once in the `lookback_days` before `start`, first seen first.

    With the site's `timezone`, summarised days are read from trajectory_plate_day.
    """
    if not 1 <= lookback_days <= 90:
        raise InvalidInput("lookback_days must be 1 to 90")
    if end <= start:
        raise InvalidInput("the window must end after it starts")
    use_analytic_memory(session)
    lookback = start - timedelta(days=lookback_days)
    params: dict[str, object] = {"start": start, "end": end, "limit": limit, "lookback": lookback}
    split = _split(session, lookback, start, end, timezone) if timezone else None
    if split is not None and split.days:
        sql, summary_params = _summarised_query(split, ZoneInfo(str(timezone)), lookback, start)
        rows = session.execute(sql, params | summary_params).all()
    else:
        rows = session.execute(text(FIRST_ENTRY_SQL), params).all()
    passes = {row.plate: int(row.n) for row in session.execute(
        PASSES_SQL, {"plates": [r.plate for r in rows], "start": start, "end": end})}
    return Found[FirstEntry](total=int(rows[0].total) if rows else 0,
                             items=[FirstEntry(plate=r.plate, first_at=r.first_at, passes=passes[r.plate])
                                    for r in rows])


def _split(session: Session, lookback: datetime, start: datetime, end: datetime, timezone: str) -> WindowSplit | None:
    """The summarised days touching [lookback, end), unless one holds both `lookback` and `start`
    (a 25-hour day of a summer-time change with a one-day lookback): the rule above needs them apart."""
    split = touching_split(session, lookback, end, timezone)
    zone = ZoneInfo(timezone)
    for day in split.days:
        low, high = day_bounds(day, zone)
        if low <= lookback and start < high:
            return None
    return split


def _summarised_query(split: WindowSplit, zone: ZoneInfo, lookback: datetime,
                      start: datetime) -> tuple[TextClause, dict[str, object]]:
    """The query over the split's summarised days and raw ranges, with its parameters (besides the window's)."""
    bounds = {day: day_bounds(day, zone) for day in split.days}
    inner = [day for day in split.days if lookback <= bounds[day][0] and bounds[day][1] <= start]
    edge = [day for day in split.days if day not in inner and bounds[day][0] < start]
    seen_days = [day for day in split.days if bounds[day][1] > start]
    seen = WindowSplit([], [(max(low, start), high) for low, high in split.raw if high > start])
    before = WindowSplit([], [(low, min(high, start)) for low, high in split.raw if low < start])
    seen_raw, seen_params = seen.raw_rows("plate, captured_at", EVERY_CHECKPOINT, prefix="seen")
    before_raw, before_params = before.raw_rows("plate", EVERY_CHECKPOINT, prefix="before")
    sql = text(FIRST_ENTRY_SUMMARISED_SQL.format(seen_raw=seen_raw, before_raw=before_raw))
    return sql, seen_params | before_params | {
        "seen_days": seen_days, "edge_days": edge, "inner_days": inner,
        "first_inner": min(inner, default=start.date()), "last_inner": max(inner, default=start.date())}
