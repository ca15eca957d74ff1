"""What makes two consecutive passes of one plate a clone suspect: shared by the query and the summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from checkpoint.trajectory.roads import RoadNetwork

DEFAULT_MAX_SPEED_KMH = 160.0
DEFAULT_MIN_DISTANCE_M = 2_000.0
DEFAULT_SAME_TIME_S = 300.0


@dataclass(frozen=True)
class TravelLimits:
    """Least travel seconds and road metres from checkpoint a to b, at [a * stride + b] (0: no limit)."""

    stride: int
    needed: list[float]
    metres: list[float]
    lookback: timedelta  # a pair further apart than this is never suspect

    def params(self, same_time_s: float) -> dict[str, object]:
        return {"stride": self.stride, "needed": self.needed, "metres": self.metres, "same_time_s": same_time_s}


def travel_limits(network: RoadNetwork, max_speed_kmh: float, min_distance_m: float,
                  same_time_s: float) -> TravelLimits:
    ids = sorted(network.checkpoints)
    stride = max(ids, default=0) + 1
    needed, metres = [0.0] * (stride * stride), [0.0] * (stride * stride)
    for a in ids:
        for b in ids:
            if a != b and (distance := network.distance_m(a, b)) >= min_distance_m:
                needed[a * stride + b] = distance / (max_speed_kmh / 3.6)
                metres[a * stride + b] = distance
    # a pair is suspect only if quicker than the slowest limit, or within same_time_s: a scan that
    # starts this long before a range sees every suspect pair ending in it
    return TravelLimits(stride, needed, metres, timedelta(seconds=max(max(needed, default=0.0), same_time_s) + 1))


def clone_pairs_sql(scan: str, keep: str) -> str:
    """Suspect pairs among the passes matching `scan`, whose second pass matches `keep` (on `s.`).

    Ordering by (plate, captured_at) only, and reading only columns of the covering index
    ix_pass_plate_captured_at_cover, lets PostgreSQL merge the day partitions' index-only scans
    instead of sorting the month (28.8 s -> 8 s at 4.3M passes, see docs/BENCHMARKS.md).
    """
    return f"""
WITH seq AS (
  SELECT plate, captured_at, checkpoint_id, plate_colour, plate_type,
         lag(captured_at) OVER w AS prev_at, lag(checkpoint_id) OVER w AS prev_cp,
         lag(plate_colour) OVER w AS prev_colour, lag(plate_type) OVER w AS prev_type
  FROM pass WHERE {scan}
  WINDOW w AS (PARTITION BY plate ORDER BY captured_at)
), judged AS (
  SELECT s.*, date_part('epoch', s.captured_at - s.prev_at) AS duration_s,
         (CAST(:needed AS float8[]))[s.prev_cp * :stride + s.checkpoint_id + 1] AS needed_s,
         (CAST(:metres AS float8[]))[s.prev_cp * :stride + s.checkpoint_id + 1] AS distance_m
  FROM seq s WHERE s.prev_at IS NOT NULL AND s.prev_cp < :stride AND s.checkpoint_id < :stride AND {keep}
)
SELECT plate, prev_at, prev_cp, captured_at, checkpoint_id, needed_s, distance_m, duration_s,
       duration_s < needed_s AS too_fast
FROM judged
WHERE duration_s < needed_s
   OR (duration_s <= :same_time_s AND (
       (plate_colour <> prev_colour AND plate_colour <> 'unknown' AND prev_colour <> 'unknown')
       OR (plate_type <> prev_type AND plate_type <> 'unknown' AND prev_type <> 'unknown')))
"""
