"""Analyses over everyone's passes in a window: 初次入城 first entry, 昼伏夜出 night-active,
频繁过车 frequent passing. Each is one aggregate query on the pass table's indexes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import (
    DEFAULT_LIMIT,
    checkpoint_ids,
    checkpoint_infos,
    night_condition,
    use_analytic_memory,
)
from checkpoint.trajectory.analyses.results import FirstEntry, Found, FrequentPlate, NightActive

FIRST_ENTRY_SQL = text("""
WITH seen AS (
  SELECT plate, min(captured_at) AS first_at, count(*) AS passes
  FROM pass WHERE captured_at >= :start AND captured_at < :end GROUP BY plate
), before AS (
  SELECT DISTINCT plate FROM pass WHERE captured_at >= :lookback AND captured_at < :start
)
SELECT s.plate, s.first_at, s.passes, count(*) OVER () AS total
FROM seen s WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.plate = s.plate)
ORDER BY s.first_at, s.plate LIMIT :limit
""")


def first_entries(session: Session, start: datetime, end: datetime, *, lookback_days: int = 30,
                  limit: int = DEFAULT_LIMIT) -> Found[FirstEntry]:
    """Plates seen in [start, end) and not once in the `lookback_days` before `start`."""
    if not 1 <= lookback_days <= 90:
        raise InvalidInput("lookback_days must be 1 to 90")
    use_analytic_memory(session)
    rows = session.execute(FIRST_ENTRY_SQL, {"start": start, "end": end, "limit": limit,
                                             "lookback": start - timedelta(days=lookback_days)}).all()
    return Found[FirstEntry](total=int(rows[0].total) if rows else 0,
                             items=[FirstEntry(plate=r.plate, first_at=r.first_at, passes=r.passes) for r in rows])


NIGHT_SQL = """
WITH per_night AS (
  SELECT plate, count(*) AS n, count(*) FILTER (WHERE {night}) AS night_n
  FROM (SELECT plate, captured_at AT TIME ZONE :tz AS local_at
        FROM pass WHERE captured_at >= :start AND captured_at < :end) local
  GROUP BY plate, CAST(local_at - make_interval(hours => :end_hour) AS date)
)
SELECT plate, sum(n) AS passes, sum(night_n) AS night_passes, count(*) FILTER (WHERE night_n > 0) AS night_days,
       count(*) OVER () AS total
FROM per_night GROUP BY plate
HAVING sum(night_n) >= :min_share * sum(n) AND count(*) FILTER (WHERE night_n > 0) >= :min_days
ORDER BY night_days DESC, night_passes DESC, plate LIMIT :limit
"""


def night_active(session: Session, start: datetime, end: datetime, *, timezone: str, min_share: float = 0.8,
                 min_days: int = 5, night_start_hour: int = 22, night_end_hour: int = 6,
                 limit: int = DEFAULT_LIMIT) -> Found[NightActive]:
    """Plates with at least `min_share` of their passes at local night, on at least `min_days` nights.

    A night belongs to the local date on which it began, so 23:00 and 02:00 count as one night.
    """
    if not 0 < min_share <= 1 or min_days < 1:
        raise InvalidInput("min_share must be in (0, 1] and min_days at least 1")
    use_analytic_memory(session)
    sql = text(NIGHT_SQL.format(night=night_condition("local_at", night_start_hour, night_end_hour)))
    rows = session.execute(sql, {"start": start, "end": end, "tz": timezone, "min_share": min_share,
                                 "min_days": min_days, "end_hour": night_end_hour, "limit": limit}).all()
    return Found[NightActive](total=int(rows[0].total) if rows else 0, items=[
        NightActive(plate=r.plate, passes=int(r.passes), night_passes=int(r.night_passes),
                    night_share=round(int(r.night_passes) / int(r.passes), 3), night_days=int(r.night_days))
        for r in rows])


FREQUENT_SQL = """
SELECT plate, checkpoint_id, count(*) AS passes, min(captured_at) AS first_at, max(captured_at) AS last_at,
       count(*) OVER () AS total
FROM pass WHERE captured_at >= :start AND captured_at < :end {only}
GROUP BY plate, checkpoint_id HAVING count(*) >= :min_passes
ORDER BY passes DESC, plate LIMIT :limit
"""


def frequent_passing(session: Session, start: datetime, end: datetime, *, min_passes: int = 10,
                     checkpoints: list[str] | None = None, limit: int = DEFAULT_LIMIT) -> Found[FrequentPlate]:
    """Plates that passed one checkpoint at least `min_passes` times in [start, end)."""
    if min_passes < 2:
        raise InvalidInput("min_passes must be at least 2")
    ids = checkpoint_ids(session, checkpoints) if checkpoints else None
    use_analytic_memory(session)
    sql = text(FREQUENT_SQL.format(only="AND checkpoint_id = ANY(:ids)" if ids else ""))
    rows = session.execute(sql, {"start": start, "end": end, "min_passes": min_passes, "limit": limit,
                                 "ids": ids or []}).all()
    infos = checkpoint_infos(session)
    return Found[FrequentPlate](total=int(rows[0].total) if rows else 0, items=[
        FrequentPlate(plate=r.plate, checkpoint_id=r.checkpoint_id, checkpoint_code=infos[r.checkpoint_id].code,
                      passes=int(r.passes), first_at=r.first_at, last_at=r.last_at) for r in rows])
