"""昼伏夜出 night-active, an analysis over everyone's passes in a window (first entry and frequent
passing, the other two, have modules of their own): one aggregate query on the pass table's
indexes, or, for the days already summarised (trajectory/summaries.py), on their summaries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import (
    DEFAULT_LIMIT,
    night_condition,
    use_analytic_memory,
)
from checkpoint.trajectory.analyses.results import Found, NightActive
from checkpoint.trajectory.summaries import (
    EVERY_CHECKPOINT,
    NIGHT_END_HOUR,
    NIGHT_START_HOUR,
    WindowSplit,
    night_ranges,
    split_window,
)

NIGHT_SELECT_SQL = """
SELECT plate, sum(n) AS passes, sum(night_n) AS night_passes, count(*) FILTER (WHERE night_n > 0) AS night_days,
       count(*) OVER () AS total
FROM per_night GROUP BY plate
HAVING sum(night_n) >= :min_share * sum(n) AND count(*) FILTER (WHERE night_n > 0) >= :min_days
ORDER BY night_days DESC, night_passes DESC, plate LIMIT :limit
"""

NIGHT_SQL = """
WITH per_night AS (
  SELECT plate, count(*) AS n, count(*) FILTER (WHERE {night}) AS night_n
  FROM (SELECT plate, captured_at AT TIME ZONE :tz AS local_at
        FROM pass WHERE captured_at >= :start AND captured_at < :end) local
  GROUP BY plate, CAST(local_at - make_interval(hours => :end_hour) AS date)
)
""" + NIGHT_SELECT_SQL

# Summarised days give (passes, night passes) per plate and day, split at 06:00: the part before
# belongs to the night before. Only plates with night passes on enough rows can qualify: they are
# found from the summaries' night rows and the raw ranges' night hours (read by captured_at), and
# only their passes in the raw ranges are counted.
NIGHT_SUMMARISED_SQL = """
WITH raw_night_rows AS MATERIALIZED (
  SELECT plate, CAST((captured_at AT TIME ZONE :tz) - make_interval(hours => :end_hour) AS date) AS night_of
  FROM ({raw_night}) night_rows
), candidates AS MATERIALIZED (
  SELECT plate FROM (
    SELECT plate, CAST(early_night > 0 AS int) + CAST(late_night > 0 AS int) AS nights
    FROM trajectory_plate_day WHERE day = ANY(:days) AND (early_night > 0 OR late_night > 0)
    UNION ALL SELECT plate, count(DISTINCT night_of) FROM raw_night_rows GROUP BY plate
  ) nightly GROUP BY plate HAVING sum(nights) >= :min_days
), raw_nights AS (
  SELECT plate, CAST(local_at - make_interval(hours => :end_hour) AS date) AS night_of, count(*) AS n,
         count(*) FILTER (WHERE {night}) AS night_n
  FROM (SELECT plate, captured_at AT TIME ZONE :tz AS local_at FROM ({raw}) candidate_rows) local
  GROUP BY 1, 2
), summarised AS (
  SELECT plate, day, passes, early_passes, early_night, late_night FROM trajectory_plate_day
  WHERE plate = ANY(ARRAY(SELECT plate FROM candidates)) AND day >= :first_day AND day <= :last_day
    AND day = ANY(:days)
), per_night AS (
  SELECT plate, night_of, sum(n) AS n, sum(night_n) AS night_n FROM (
    SELECT plate, day - 1 AS night_of, early_passes AS n, early_night AS night_n FROM summarised
    UNION ALL SELECT plate, day, passes - early_passes, late_night FROM summarised
    UNION ALL SELECT plate, night_of, n, night_n FROM raw_nights
  ) parts GROUP BY plate, night_of
)
""" + NIGHT_SELECT_SQL


def night_active(session: Session, start: datetime, end: datetime, *, timezone: str, min_share: float = 0.8,
                 min_days: int = 5, night_start_hour: int = 22, night_end_hour: int = 6,
                 limit: int = DEFAULT_LIMIT, use_summaries: bool = True) -> Found[NightActive]:
    """Plates with at least `min_share` of their passes at local night, on at least `min_days` nights.

    A night belongs to the local date on which it began, so 23:00 and 02:00 count as one night.
    With the summaries' night hours (22 to 6), summarised days are read from trajectory_plate_day.
    """
    if not 0 < min_share <= 1 or min_days < 1:
        raise InvalidInput("min_share must be in (0, 1] and min_days at least 1")
    night = night_condition("local_at", night_start_hour, night_end_hour)
    use_analytic_memory(session)
    params: dict[str, object] = {"start": start, "end": end, "tz": timezone, "min_share": min_share,
                                 "min_days": min_days, "end_hour": night_end_hour, "limit": limit}
    split = (split_window(session, start, end, timezone)
             if use_summaries and (night_start_hour, night_end_hour) == (NIGHT_START_HOUR, NIGHT_END_HOUR) else None)
    if split is not None and split.days:
        raw, raw_params = split.raw_rows("plate, captured_at", "plate = ANY(ARRAY(SELECT plate FROM candidates))")
        raw_night, night_params = WindowSplit([], night_ranges(split.raw, ZoneInfo(timezone))).raw_rows(
            "plate, captured_at", EVERY_CHECKPOINT, prefix="night")
        sql = text(NIGHT_SUMMARISED_SQL.format(night=night, raw=raw, raw_night=raw_night))
        params |= raw_params | night_params | {"days": split.days, "first_day": split.days[0],
                                               "last_day": split.days[-1]}
    else:
        sql = text(NIGHT_SQL.format(night=night))
    rows = session.execute(sql, params).all()
    return Found[NightActive](total=int(rows[0].total) if rows else 0, items=[
        NightActive(plate=r.plate, passes=int(r.passes), night_passes=int(r.night_passes),
                    night_share=round(int(r.night_passes) / int(r.passes), 3), night_days=int(r.night_days))
        for r in rows])
