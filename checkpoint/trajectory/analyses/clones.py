"""套牌 cloned plates: one plate at two places faster than the roads allow, or read as two vehicles.

Consecutive passes of each plate are paired with a window function; the least travel time
between every two checkpoints (road distance at `max_speed_kmh`) is looked up in a flat
array by checkpoint ids, so the whole month is one ordered index-only scan and no join.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import DEFAULT_LIMIT, checkpoint_infos, use_analytic_memory
from checkpoint.trajectory.analyses.results import CloneSuspect, Found, PassRef
from checkpoint.trajectory.roads import road_network

# Ordering by (plate, captured_at) only, and reading only columns of the covering index
# ix_pass_plate_captured_at_cover, lets PostgreSQL merge the day partitions' index-only scans
# instead of sorting the month (28.8 s -> 8 s at 4.3M passes, see docs/BENCHMARKS.md).
CLONE_PAIRS_SQL = text("""
WITH seq AS (
  SELECT plate, captured_at, checkpoint_id, plate_colour, plate_type,
         lag(captured_at) OVER w AS prev_at, lag(checkpoint_id) OVER w AS prev_cp,
         lag(plate_colour) OVER w AS prev_colour, lag(plate_type) OVER w AS prev_type
  FROM pass WHERE captured_at >= :start AND captured_at < :end
  WINDOW w AS (PARTITION BY plate ORDER BY captured_at)
), judged AS (
  SELECT s.*, date_part('epoch', s.captured_at - s.prev_at) AS duration_s,
         (CAST(:needed AS float8[]))[s.prev_cp * :stride + s.checkpoint_id + 1] AS needed_s,
         (CAST(:metres AS float8[]))[s.prev_cp * :stride + s.checkpoint_id + 1] AS distance_m
  FROM seq s WHERE s.prev_at IS NOT NULL AND s.prev_cp < :stride AND s.checkpoint_id < :stride
)
SELECT plate, prev_at, prev_cp, captured_at, checkpoint_id, needed_s, distance_m, duration_s,
       duration_s < needed_s AS too_fast
FROM judged
WHERE duration_s < needed_s
   OR (duration_s <= :same_time_s AND (
       (plate_colour <> prev_colour AND plate_colour <> 'unknown' AND prev_colour <> 'unknown')
       OR (plate_type <> prev_type AND plate_type <> 'unknown' AND prev_type <> 'unknown')))
ORDER BY plate, captured_at
""")

PASS_REFS_SQL = text("""
SELECT id, plate, captured_at, checkpoint_id, plate_colour, plate_type, image_path, plate_image_path
FROM pass WHERE plate = ANY(:plates) AND captured_at = ANY(:ats)
""")

PassKey = tuple[str, datetime, int]  # (plate, captured_at, checkpoint_id) names one pass


def find_clones(session: Session, start: datetime, end: datetime, *, max_speed_kmh: float = 160.0,
                min_distance_m: float = 2_000.0, same_time_s: float = 300.0,
                limit: int = DEFAULT_LIMIT) -> Found[CloneSuspect]:
    """Pairs of consecutive passes of one plate that one vehicle cannot have made."""
    if max_speed_kmh <= 0 or same_time_s < 0 or min_distance_m < 0:
        raise InvalidInput("speed must be positive, distances and times not negative")
    network = road_network(session)
    ids = sorted(network.checkpoints)
    stride = max(ids, default=0) + 1
    # least travel seconds and road metres from checkpoint a to b, at [a * stride + b]; 0: no limit
    needed, metres = [0.0] * (stride * stride), [0.0] * (stride * stride)
    for a in ids:
        for b in ids:
            if a != b and (distance := network.distance_m(a, b)) >= min_distance_m:
                needed[a * stride + b] = distance / (max_speed_kmh / 3.6)
                metres[a * stride + b] = distance
    use_analytic_memory(session)
    rows = session.execute(CLONE_PAIRS_SQL, {"start": start, "end": end, "same_time_s": same_time_s,
                                             "stride": stride, "needed": needed, "metres": metres}).all()
    shown = rows[:limit]
    refs = _pass_refs(session, [(r.plate, r.prev_at, r.prev_cp) for r in shown]
                      + [(r.plate, r.captured_at, r.checkpoint_id) for r in shown])
    items = [CloneSuspect(plate=r.plate, kind="impossible-travel" if r.too_fast else "different-vehicle",
                          first=refs[(r.plate, r.prev_at, r.prev_cp)],
                          second=refs[(r.plate, r.captured_at, r.checkpoint_id)],
                          distance_m=round(float(r.distance_m or 0.0), 1),
                          duration_s=float(r.duration_s),
                          needed_s=round(float(r.needed_s), 1) if r.needed_s else None)
             for r in shown]
    return Found[CloneSuspect](total=len(rows), items=items)


def _pass_refs(session: Session, keys: list[PassKey]) -> dict[PassKey, PassRef]:
    """The evidence (images included) of the passes named by `keys`."""
    if not keys:
        return {}
    codes = {cid: info.code for cid, info in checkpoint_infos(session).items()}
    rows = session.execute(PASS_REFS_SQL, {"plates": sorted({k[0] for k in keys}), "ats": sorted({k[1] for k in keys})})
    return {(row.plate, row.captured_at, row.checkpoint_id): PassRef(
                id=row.id, captured_at=row.captured_at, checkpoint_id=row.checkpoint_id,
                checkpoint_code=codes.get(row.checkpoint_id, str(row.checkpoint_id)), plate_colour=row.plate_colour,
                plate_type=row.plate_type, image_path=row.image_path, plate_image_path=row.plate_image_path)
            for row in rows}
