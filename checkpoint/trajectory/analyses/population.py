"""Analyses over everyone's passes in a window: 昼伏夜出 night-active, 频繁过车 frequent passing
(初次入城 first entry: first_entry.py). Each is one aggregate query on the pass table's indexes, or, for
the days already summarised (trajectory/summaries.py), on their summaries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import (
    DEFAULT_LIMIT,
    CheckpointInfo,
    checkpoint_ids,
    checkpoint_infos,
    night_condition,
    use_analytic_memory,
)
from checkpoint.trajectory.analyses.results import Found, FrequentPlate, NightActive
from checkpoint.trajectory.summaries import (
    EVERY_CHECKPOINT,
    NIGHT_END_HOUR,
    NIGHT_START_HOUR,
    WindowSplit,
    day_bounds,
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


FREQUENT_SQL = """
SELECT plate, checkpoint_id, count(*) AS passes, min(captured_at) AS first_at, max(captured_at) AS last_at,
       count(*) OVER () AS total
FROM pass WHERE captured_at >= :start AND captured_at < :end {only}
GROUP BY plate, checkpoint_id HAVING count(*) >= :min_passes
ORDER BY passes DESC, plate, checkpoint_id LIMIT :limit
"""

# Summarised whole days: one subtraction of cumulative counts per (plate, checkpoint) seen twice or
# more on them; the raw ranges are counted from the pass table, and today's summarised hours are
# added from their own counts. A pair left out of the summary (seen once there) matters only if the
# rest saw it min_passes - 1 times or more: then its summarised days are counted from the pass table.
FREQUENT_SUMMARISED_SQL = """
WITH summarised AS (
  SELECT plate, checkpoint_id, cum[:hi + 1] - cum[:lo + 1] AS passes FROM trajectory_frequent_pair
), raw AS (
  SELECT plate, checkpoint_id, sum(n) AS passes FROM (
    SELECT plate, checkpoint_id, 1 AS n FROM ({raw_rows}) raw_rows
    UNION ALL SELECT plate, checkpoint_id, passes FROM trajectory_frequent_partial WHERE day = ANY(:partial)
  ) parts GROUP BY 1, 2
), joined AS (
  SELECT coalesce(s.plate, r.plate) AS plate, coalesce(s.checkpoint_id, r.checkpoint_id) AS checkpoint_id,
         coalesce(s.passes, 0) + coalesce(r.passes, 0) + CASE WHEN s.plate IS NULL AND r.passes >= :min_passes - 1
           AND EXISTS (SELECT 1 FROM trajectory_plate_day d WHERE d.plate = r.plate AND d.day >= :first_day
                       AND d.day <= :last_day AND d.day = ANY(:days))
           THEN (SELECT count(*) FROM pass p WHERE p.plate = r.plate AND p.checkpoint_id = r.checkpoint_id
                 AND p.captured_at >= :covered_start AND p.captured_at < :covered_end AND NOT {raw_p})
           ELSE 0 END AS passes
  FROM summarised s FULL JOIN raw r ON r.plate = s.plate AND r.checkpoint_id = s.checkpoint_id
  WHERE coalesce(s.passes, 0) > 0 OR r.passes IS NOT NULL
)
SELECT plate, checkpoint_id, passes, count(*) OVER () AS total FROM joined WHERE passes >= :min_passes
ORDER BY passes DESC, plate, checkpoint_id LIMIT :limit
"""

FIRST_LAST_SQL = text("""
SELECT w.plate, w.checkpoint_id, seen.first_at, seen.last_at
FROM unnest(CAST(:plates AS text[]), CAST(:ids AS int[])) AS w(plate, checkpoint_id)
CROSS JOIN LATERAL (SELECT min(captured_at) AS first_at, max(captured_at) AS last_at FROM pass
                    WHERE plate = w.plate AND checkpoint_id = w.checkpoint_id
                      AND captured_at >= :start AND captured_at < :end) seen
""")


def frequent_passing(session: Session, start: datetime, end: datetime, *, min_passes: int = 10,
                     checkpoints: list[str] | None = None, limit: int = DEFAULT_LIMIT,
                     timezone: str | None = None) -> Found[FrequentPlate]:
    """Plates that passed one checkpoint at least `min_passes` times in [start, end).

    Over all checkpoints, with the site's `timezone`, summarised days are read from
    trajectory_frequent_pair; at given checkpoints the (checkpoint, time) index is quick already.
    """
    if min_passes < 2:
        raise InvalidInput("min_passes must be at least 2")
    ids = checkpoint_ids(session, checkpoints) if checkpoints else None
    use_analytic_memory(session)
    infos = checkpoint_infos(session)
    split = split_window(session, start, end, timezone, frequent=True) if timezone and not ids else None
    if split is None or not split.whole:
        sql = text(FREQUENT_SQL.format(only="AND checkpoint_id = ANY(:ids)" if ids else ""))
        rows = session.execute(sql, {"start": start, "end": end, "min_passes": min_passes, "limit": limit,
                                     "ids": ids or []}).all()
        return Found[FrequentPlate](total=int(rows[0].total) if rows else 0, items=[
            FrequentPlate(plate=r.plate, checkpoint_id=r.checkpoint_id, checkpoint_code=infos[r.checkpoint_id].code,
                          passes=int(r.passes), first_at=r.first_at, last_at=r.last_at) for r in rows])
    return _frequent_summarised(session, split, start, end, min_passes, limit, timezone or "", infos)


def _frequent_summarised(session: Session, split: WindowSplit, start: datetime, end: datetime, min_passes: int,
                         limit: int, timezone: str, infos: dict[int, CheckpointInfo]) -> Found[FrequentPlate]:
    first = session.scalar(text("SELECT min(day) FROM trajectory_summary_day WHERE in_frequent"
                                " AND covered_until IS NULL"))
    zone, whole = ZoneInfo(timezone), split.whole
    raw, raw_params = split.raw_rows("plate, checkpoint_id", EVERY_CHECKPOINT)
    raw_p, raw_p_params = split.raw_condition("p.captured_at", prefix="rawp")
    covered_start, covered_end = day_bounds(whole[0], zone)[0], day_bounds(whole[-1], zone)[1]
    rows = session.execute(text(FREQUENT_SUMMARISED_SQL.format(raw_rows=raw, raw_p=raw_p)), {
        **raw_params, **raw_p_params, "min_passes": min_passes, "limit": limit, "days": whole,
        "partial": split.partial, "first_day": whole[0], "last_day": whole[-1],
        "lo": (whole[0] - first).days, "hi": (whole[-1] - first).days + 1,
        "covered_start": covered_start, "covered_end": covered_end}).all()
    seen = {(r.plate, r.checkpoint_id): (r.first_at, r.last_at) for r in session.execute(FIRST_LAST_SQL, {
        "plates": [r.plate for r in rows], "ids": [r.checkpoint_id for r in rows], "start": start, "end": end})}
    return Found[FrequentPlate](total=int(rows[0].total) if rows else 0, items=[
        FrequentPlate(plate=r.plate, checkpoint_id=r.checkpoint_id, checkpoint_code=infos[r.checkpoint_id].code,
                      passes=int(r.passes), first_at=seen[(r.plate, r.checkpoint_id)][0],
                      last_at=seen[(r.plate, r.checkpoint_id)][1]) for r in rows])
