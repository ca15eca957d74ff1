"""频繁过车 frequent passing: plates that passed one checkpoint at least n times in a window.

Over all checkpoints and a month that is a count per (plate, checkpoint) of tens of millions of
passes. Summarised days give it as one subtraction of cumulative daily counts
(trajectory_frequent_pair), today's summarised hours as counts of their own. A day that the
window cuts in two (its first or last) is bounded by its whole-day count: only the pairs that its
part could still carry over the threshold have that part counted from the pass table. Pairs seen
once on the summarised days are left out of those counts; they are looked up when the rest of
the window saw them often enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, TextClause, text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import (
    DEFAULT_LIMIT,
    CheckpointInfo,
    checkpoint_ids,
    checkpoint_infos,
    use_analytic_memory,
)
from checkpoint.trajectory.analyses.results import Found, FrequentPlate
from checkpoint.trajectory.summaries import EVERY_CHECKPOINT, WindowSplit, day_bounds, split_window, touching_split

FREQUENT_SQL = """
SELECT plate, checkpoint_id, count(*) AS passes, count(*) OVER () AS total
FROM pass WHERE captured_at >= :start AND captured_at < :end {only}
GROUP BY plate, checkpoint_id HAVING count(*) >= :min_passes
ORDER BY passes DESC, plate, checkpoint_id LIMIT :limit
"""

# lower: the whole days inside plus the rest (raw ranges, today's hours); upper: also the whole
# counts of the cut days. Pairs with upper >= n and a cut-day share have that share counted.
FREQUENT_SUMMARISED_SQL = """
WITH summarised AS (
  SELECT plate, checkpoint_id, cum[:hi + 1] - cum[:lo + 1] AS lower, cum[:ext_hi + 1] - cum[:ext_lo + 1] AS upper
  FROM trajectory_frequent_pair
), rest AS (
  SELECT plate, checkpoint_id, sum(n) AS passes FROM (
    SELECT plate, checkpoint_id, 1 AS n FROM ({rest_rows}) rest_rows
    UNION ALL SELECT plate, checkpoint_id, passes FROM trajectory_frequent_partial WHERE day = ANY(:partial)
  ) parts GROUP BY 1, 2
), bounded AS (
  SELECT coalesce(s.plate, r.plate) AS plate, coalesce(s.checkpoint_id, r.checkpoint_id) AS checkpoint_id,
         coalesce(s.lower, 0) + coalesce(r.passes, 0) AS lower, coalesce(s.upper, 0) + coalesce(r.passes, 0) AS upper,
         s.plate IS NULL AS single
  FROM summarised s FULL JOIN rest r ON r.plate = s.plate AND r.checkpoint_id = s.checkpoint_id
  WHERE s.upper >= :min_passes OR r.passes IS NOT NULL
), cut AS MATERIALIZED (
  SELECT plate, checkpoint_id, lower FROM bounded WHERE NOT single AND upper >= :min_passes AND upper > lower
), cut_counts AS (
  SELECT e.plate, e.checkpoint_id, count(*) AS passes FROM ({cut_rows}) e
  WHERE (e.plate, e.checkpoint_id) IN (SELECT plate, checkpoint_id FROM cut) GROUP BY 1, 2
), counted AS (
  SELECT plate, checkpoint_id, lower AS passes FROM bounded WHERE NOT single AND upper = lower
  UNION ALL
  SELECT c.plate, c.checkpoint_id, c.lower + coalesce(e.passes, 0)
  FROM cut c LEFT JOIN cut_counts e ON e.plate = c.plate AND e.checkpoint_id = c.checkpoint_id
  UNION ALL
  SELECT plate, checkpoint_id, lower + CASE WHEN lower >= :min_passes - 1
           AND EXISTS (SELECT 1 FROM trajectory_plate_day d WHERE d.plate = b.plate AND d.day >= :first_day
                       AND d.day <= :last_day AND d.day = ANY(:days))
           THEN (SELECT count(*) FROM pass p WHERE p.plate = b.plate AND p.checkpoint_id = b.checkpoint_id
                 AND p.captured_at >= :covered_start AND p.captured_at < :covered_end AND NOT {rest_p})
           ELSE 0 END
  FROM bounded b WHERE single
)
SELECT plate, checkpoint_id, passes, count(*) OVER () AS total FROM counted WHERE passes >= :min_passes
ORDER BY passes DESC, plate, checkpoint_id LIMIT :limit
"""

FIRST_LAST_SQL = text("""
SELECT w.plate, w.checkpoint_id, seen.first_at, seen.last_at
FROM unnest(CAST(:plates AS text[]), CAST(:ids AS int[])) AS w(plate, checkpoint_id)
CROSS JOIN LATERAL (SELECT min(captured_at) AS first_at, max(captured_at) AS last_at FROM pass
                    WHERE plate = w.plate AND checkpoint_id = w.checkpoint_id
                      AND captured_at >= :start AND captured_at < :end) seen
""")  # for the pairs shown only


def frequent_passing(session: Session, start: datetime, end: datetime, *, min_passes: int = 10,
                     checkpoints: list[str] | None = None, limit: int = DEFAULT_LIMIT,
                     timezone: str | None = None) -> Found[FrequentPlate]:
    """Plates that passed one checkpoint at least `min_passes` times in [start, end), most first.

    Over all checkpoints, with the site's `timezone`, summarised days are read from their counts;
    at given checkpoints the (checkpoint, time) index is quick already.
    """
    if min_passes < 2:
        raise InvalidInput("min_passes must be at least 2")
    ids = checkpoint_ids(session, checkpoints) if checkpoints else None
    use_analytic_memory(session)
    params: dict[str, object] = {"start": start, "end": end, "min_passes": min_passes, "limit": limit}
    parts = _parts(session, start, end, timezone) if timezone and not ids else None
    if parts is None:
        sql = text(FREQUENT_SQL.format(only="AND checkpoint_id = ANY(:ids)" if ids else ""))
        rows = session.execute(sql, params | {"ids": ids or []}).all()
    else:
        rows = session.execute(*parts.query(params)).all()
    return _found(session, rows, start, end, checkpoint_infos(session))


@dataclass(frozen=True)
class _Parts:
    """A window as summarised whole days inside, cut days at its ends, and the rest."""

    split: WindowSplit
    cut_days: list[date]
    cut: list[tuple[datetime, datetime]]  # the window's part of each cut day
    first: date  # the day of the cumulative counts' index 0
    zone: ZoneInfo
    start: datetime
    end: datetime

    def query(self, params: dict[str, object]) -> tuple[TextClause, dict[str, object]]:
        whole, ext = self.split.whole, sorted(self.split.whole + self.cut_days)
        rest = WindowSplit([], [piece for r in self.split.raw for piece in _outside(r, self.cut)])
        rest_rows, rest_params = rest.raw_rows("plate, checkpoint_id", EVERY_CHECKPOINT, prefix="rest")
        cut_rows, cut_params = WindowSplit([], self.cut).raw_rows("plate, checkpoint_id", EVERY_CHECKPOINT,
                                                                  prefix="cut")
        rest_p, rest_p_params = rest.raw_condition("p.captured_at", prefix="restp")
        index = {day: (day - self.first).days for day in ext}
        lo, hi = (index[whole[0]], index[whole[-1]] + 1) if whole else (0, 0)
        sql = text(FREQUENT_SUMMARISED_SQL.format(rest_rows=rest_rows, cut_rows=cut_rows, rest_p=rest_p))
        return sql, params | rest_params | cut_params | rest_p_params | {
            "lo": lo, "hi": hi, "ext_lo": index[ext[0]], "ext_hi": index[ext[-1]] + 1, "partial": self.split.partial,
            "days": ext, "first_day": ext[0], "last_day": ext[-1],
            "covered_start": max(self.start, day_bounds(ext[0], self.zone)[0]),
            "covered_end": min(self.end, day_bounds(ext[-1], self.zone)[1])}


def _parts(session: Session, start: datetime, end: datetime, timezone: str) -> _Parts | None:
    """How the summaries split [start, end); None when no whole summarised day touches it."""
    split = split_window(session, start, end, timezone, frequent=True)
    touching = touching_split(session, start, end, timezone, frequent=True)
    zone = ZoneInfo(timezone)
    cut_days = [day for day in touching.days if day not in split.days and day not in touching.partial]
    if not split.whole and not cut_days:
        return None
    cut = []
    for day in cut_days:
        low, high = day_bounds(day, zone)
        cut += [(max(low, r_low), min(high, r_high)) for r_low, r_high in split.raw
                if max(low, r_low) < min(high, r_high)]
    first = session.scalar(text("SELECT min(day) FROM trajectory_summary_day WHERE in_frequent"
                                " AND covered_until IS NULL"))
    return _Parts(split, cut_days, cut, first, zone, start, end)


def _outside(span: tuple[datetime, datetime], cuts: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The pieces of `span` outside every one of `cuts` (which do not overlap)."""
    pieces, (low, high) = [], span
    for cut_low, cut_high in sorted(cuts):
        if cut_low < high and low < cut_high:
            if low < cut_low:
                pieces.append((low, cut_low))
            low = max(low, cut_high)
    return pieces + ([(low, high)] if low < high else [])


def _found(session: Session, rows: Sequence[Row[Any]], start: datetime, end: datetime,
           infos: dict[int, CheckpointInfo]) -> Found[FrequentPlate]:
    seen = {(r.plate, r.checkpoint_id): (r.first_at, r.last_at) for r in session.execute(FIRST_LAST_SQL, {
        "plates": [r.plate for r in rows], "ids": [r.checkpoint_id for r in rows], "start": start, "end": end})}
    return Found[FrequentPlate](total=int(rows[0].total) if rows else 0, items=[
        FrequentPlate(plate=r.plate, checkpoint_id=r.checkpoint_id, checkpoint_code=infos[r.checkpoint_id].code,
                      passes=int(r.passes), first_at=seen[(r.plate, r.checkpoint_id)][0],
                      last_at=seen[(r.plate, r.checkpoint_id)][1]) for r in rows])
