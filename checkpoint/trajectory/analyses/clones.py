"""套牌 cloned plates: one plate at two places faster than the roads allow, or read as two vehicles.

Consecutive passes of each plate are paired with a window function; the least travel time
between every two checkpoints (road distance at `max_speed_kmh`) is looked up in a flat
array by checkpoint ids, so a window is one ordered index-only scan and no join. Summarised
days (trajectory/summaries.py) are not scanned again: their suspect pairs are stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.trajectory.analyses.common import DEFAULT_LIMIT, checkpoint_infos, use_analytic_memory
from checkpoint.trajectory.analyses.limits import (
    DEFAULT_MAX_SPEED_KMH,
    DEFAULT_MIN_DISTANCE_M,
    DEFAULT_SAME_TIME_S,
    clone_pairs_sql,
    travel_limits,
)
from checkpoint.trajectory.analyses.results import CloneSuspect, Found, PassRef
from checkpoint.trajectory.roads import road_network
from checkpoint.trajectory.summaries import WindowSplit, roads_fingerprint, touching_split

SUMMARISED_PAIRS_SQL = """
SELECT plate, prev_at, prev_cp, captured_at, checkpoint_id, needed_s, distance_m, duration_s, too_fast
FROM trajectory_clone_pair WHERE day = ANY(:days) AND prev_at >= :start AND captured_at < :end
"""

PASS_REFS_SQL = text("""
SELECT p.id, p.plate, p.captured_at, p.checkpoint_id, p.plate_colour, p.plate_type, p.image_path, p.plate_image_path
FROM unnest(CAST(:plates AS text[]), CAST(:ats AS timestamptz[])) AS k(plate, at)
CROSS JOIN LATERAL (SELECT * FROM pass WHERE plate = k.plate AND captured_at = k.at) p
""")  # one (plate, captured_at) probe per pass, in its day partition only

PassKey = tuple[str, datetime, int]  # (plate, captured_at, checkpoint_id) names one pass


def find_clones(session: Session, start: datetime, end: datetime, *, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
                min_distance_m: float = DEFAULT_MIN_DISTANCE_M, same_time_s: float = DEFAULT_SAME_TIME_S,
                limit: int = DEFAULT_LIMIT, timezone: str | None = None) -> Found[CloneSuspect]:
    """Pairs of consecutive passes of one plate that one vehicle cannot have made.

    With the default limits and the site's `timezone`, summarised days are read from
    trajectory_clone_pair and only the rest of the window from the pass table.
    """
    if max_speed_kmh < 1 or same_time_s < 0 or min_distance_m < 0:  # under 1 km/h times overflow a timedelta
        raise InvalidInput("速度至少 1 km/h，距离和时间不能为负 "
                           "(speed at least 1 km/h, distances and times not negative)")
    limits = travel_limits(road_network(session), max_speed_kmh, min_distance_m, same_time_s)
    defaults = (max_speed_kmh, min_distance_m, same_time_s) == (DEFAULT_MAX_SPEED_KMH, DEFAULT_MIN_DISTANCE_M,
                                                                 DEFAULT_SAME_TIME_S)
    split = (touching_split(session, start, end, timezone, roads=roads_fingerprint(session))
             if defaults and timezone else WindowSplit([], [(start, end)]))
    use_analytic_memory(session)
    params: dict[str, object] = {"start": start, "end": end, "days": split.days, **limits.params(same_time_s)}
    parts = [SUMMARISED_PAIRS_SQL] if split.days else []
    if split.raw:
        scan, scan_params = WindowSplit([], [(max(low - limits.lookback, start), high) for low, high in split.raw]
                                        ).raw_condition(prefix="scan")
        keep, keep_params = split.raw_condition("s.captured_at", prefix="keep")
        parts.append(clone_pairs_sql(scan=scan, keep=f"{keep} AND s.prev_at >= :start"))
        params |= scan_params | keep_params
    sql = " UNION ALL ".join(f"({part})" for part in parts) + " ORDER BY plate, captured_at, checkpoint_id"
    rows = session.execute(text(sql), params).all()
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
    unique = sorted({(k[0], k[1]) for k in keys})
    rows = session.execute(PASS_REFS_SQL, {"plates": [k[0] for k in unique], "ats": [k[1] for k in unique]})
    return {(row.plate, row.captured_at, row.checkpoint_id): PassRef(
                id=row.id, captured_at=row.captured_at, checkpoint_id=row.checkpoint_id,
                checkpoint_code=codes.get(row.checkpoint_id, str(row.checkpoint_id)), plate_colour=row.plate_colour,
                plate_type=row.plate_type, image_path=row.image_path, plate_image_path=row.plate_image_path)
            for row in rows}
