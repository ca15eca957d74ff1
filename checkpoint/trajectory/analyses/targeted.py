"""Analyses around given plates or places: 同行 companions, 落脚点 resting places,
区域碰撞 area-time collision. Each starts from a small set and probes the pass indexes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shapely.geometry import Point, shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.lpr.normalize import normalize_plate
from checkpoint.sites.service import get_area
from checkpoint.trajectory.analyses.common import DEFAULT_LIMIT, checkpoint_ids, checkpoint_infos
from checkpoint.trajectory.analyses.results import CollisionPlate, Companion, Found, RestingPlace
from checkpoint.trajectory.service import fetch_passes
from checkpoint.trajectory.trips import split_trips

# 伴随率, the companion rate: the share of the target's passes in the window that the other vehicle
# accompanied. A count alone grows with the window and with the traffic: over a month, commuters on the
# target's roads meet it by chance a dozen times, a vehicle that travels with it meets it most times.
# A vehicle travelling with the target on most of its trips is not seen at every one of its passes
# (missed reads, other lanes, a light between them), so the default asks for one pass in three.
DEFAULT_MIN_RATE = 0.3

COMPANIONS_SQL = text("""
WITH target AS MATERIALIZED (
  SELECT captured_at, checkpoint_id FROM pass
  WHERE plate = :plate AND captured_at >= :start AND captured_at < :end
), target_passes AS (SELECT count(*) AS n FROM target)
SELECT o.plate, count(DISTINCT (t.checkpoint_id, t.captured_at)) AS times,
       count(DISTINCT t.checkpoint_id) AS checkpoints, min(o.captured_at) AS first_at,
       max(o.captured_at) AS last_at, (SELECT n FROM target_passes) AS target_passes, count(*) OVER () AS total
FROM target t CROSS JOIN LATERAL (  -- one (checkpoint_id, captured_at) index probe per target pass
  SELECT plate, captured_at FROM pass
  WHERE checkpoint_id = t.checkpoint_id AND plate <> :plate
    AND captured_at >= t.captured_at - make_interval(secs => :window_s)
    AND captured_at <= t.captured_at + make_interval(secs => :window_s)
) o
GROUP BY o.plate
HAVING count(DISTINCT (t.checkpoint_id, t.captured_at)) >= :min_times
   AND count(DISTINCT (t.checkpoint_id, t.captured_at)) >= CAST(:min_rate AS numeric) * (SELECT n FROM target_passes)
ORDER BY times DESC, checkpoints DESC, o.plate LIMIT :limit
""")  # numeric: 14 of 25 passes is a rate of 0.56, though 0.56 * 25 is 14.000000000000002 in float


def companions(session: Session, plate: str, start: datetime, end: datetime, *, window_s: float = 60.0,
               min_times: int = 3, min_rate: float = DEFAULT_MIN_RATE,
               limit: int = DEFAULT_LIMIT) -> Found[Companion]:
    """Plates passing the target's checkpoints within ±`window_s` of it, at least `min_times` times
    and at `min_rate` or more of the target's passes in the window."""
    if not 0 < window_s <= 3600 or min_times < 1 or not 0 <= min_rate <= 1:
        raise InvalidInput("window_s must be in (0, 3600], min_times at least 1 and min_rate in [0, 1]")
    rows = session.execute(COMPANIONS_SQL, {
        "plate": normalize_plate(plate), "start": start, "end": end, "window_s": window_s, "min_times": min_times,
        "min_rate": min_rate, "limit": limit}).all()
    return Found[Companion](total=int(rows[0].total) if rows else 0, items=[
        Companion(plate=r.plate, times=int(r.times), checkpoints=int(r.checkpoints),
                  rate=round(int(r.times) / int(r.target_passes), 3), target_passes=int(r.target_passes),
                  first_at=r.first_at, last_at=r.last_at) for r in rows])


def resting_places(session: Session, plate: str, start: datetime, end: datetime, *,
                   gap: timedelta = timedelta(minutes=30), min_times: int = 2) -> Found[RestingPlace]:
    """Checkpoints where the plate's trips end and its next trip starts again, `min_times` or more."""
    if min_times < 1:
        raise InvalidInput("min_times must be at least 1")
    trips = split_trips(fetch_passes(session, [normalize_plate(plate)], start, end), gap)
    tally: dict[int, tuple[int, float, datetime]] = {}
    for before, after in zip(trips, trips[1:], strict=False):
        stop, restart = before[-1], after[0]
        if stop.checkpoint_id != restart.checkpoint_id:
            continue
        times, hours, _ = tally.get(stop.checkpoint_id, (0, 0.0, stop.captured_at))
        rest_h = (restart.captured_at - stop.captured_at).total_seconds() / 3600
        tally[stop.checkpoint_id] = (times + 1, hours + rest_h, stop.captured_at)
    infos = checkpoint_infos(session)
    items = [RestingPlace(checkpoint_id=cid, checkpoint_code=infos[cid].code, checkpoint_name=infos[cid].name,
                          lon=infos[cid].lon, lat=infos[cid].lat, times=times, rest_hours=round(hours, 2),
                          last_at=last_at)
             for cid, (times, hours, last_at) in tally.items() if times >= min_times]
    items.sort(key=lambda place: (-place.times, -place.rest_hours, place.checkpoint_code))
    return Found[RestingPlace](total=len(items), items=items)


@dataclass(frozen=True)
class PlaceWindow:
    """One (place, time window) of an area-time collision: an area code or a list of checkpoints."""

    start: datetime
    end: datetime
    area: str | None = None
    checkpoints: Sequence[str] = ()


def area_checkpoint_ids(session: Session, code: str) -> list[int]:
    """Checkpoints inside an area's polygon."""
    polygon = shape(get_area(session, code).geometry)
    return sorted(cid for cid, info in checkpoint_infos(session).items()
                  if polygon.covers(Point(info.lon, info.lat)))


# Plates seen at a window's checkpoints: a scan of the (checkpoint_id, captured_at) index, or, once
# earlier windows left few plates, one (plate, captured_at) probe per plate and day partition.
WINDOW_SCAN_SQL = text("""
SELECT plate, count(*) AS n FROM pass
WHERE checkpoint_id = ANY(:ids) AND captured_at >= :start AND captured_at < :end GROUP BY plate
""")
WINDOW_PROBE_SQL = text("""
SELECT plate, count(*) AS n FROM pass
WHERE plate = ANY(:plates) AND captured_at >= :start AND captured_at < :end AND checkpoint_id = ANY(:ids)
GROUP BY plate
""")
MAX_PROBES = 200_000  # plates x days above which scanning the window is cheaper than probing it


def area_collision(session: Session, windows: Sequence[PlaceWindow], *,
                   limit: int = DEFAULT_LIMIT) -> Found[CollisionPlate]:
    """Plates seen in every one of the (place, time window) pairs.

    The smallest pair (hours x checkpoints) is read first; each next pair is read only for the
    plates still in the running, by plate, when they are few: a month at five checkpoints costs
    a few thousand probes instead of millions of rows.
    """
    if not 2 <= len(windows) <= 8:
        raise InvalidInput("give 2 to 8 (place, time window) pairs")
    resolved: list[list[int]] = []
    for i, window in enumerate(windows):
        if (window.area is None) == (not window.checkpoints):
            raise InvalidInput(f"pair {i + 1}: give either an area or checkpoints")
        ids = area_checkpoint_ids(session, window.area) if window.area else checkpoint_ids(
            session, list(window.checkpoints))
        if not ids:
            raise InvalidInput(f"pair {i + 1}: area {window.area!r} holds no checkpoint")
        if window.end <= window.start:
            raise InvalidInput(f"pair {i + 1}: the window must end after it starts")
        resolved.append(ids)
    order = sorted(range(len(windows)),
                   key=lambda i: (windows[i].end - windows[i].start).total_seconds() * len(resolved[i]))
    counts: dict[str, list[int]] | None = None
    for i in order:
        window, params = windows[i], {"ids": resolved[i], "start": windows[i].start, "end": windows[i].end}
        days = (window.end - window.start).total_seconds() / 86400 + 1
        if counts is None or len(counts) * days > MAX_PROBES:
            rows = session.execute(WINDOW_SCAN_SQL, params).all()
        else:
            rows = session.execute(WINDOW_PROBE_SQL, params | {"plates": sorted(counts)}).all()
        seen = {row.plate: int(row.n) for row in rows}
        if counts is None:
            counts = {plate: [0] * len(windows) for plate in seen}
        counts = {plate: passes for plate, passes in counts.items() if plate in seen}
        for plate, passes in counts.items():
            passes[i] = seen[plate]
        if not counts:
            break
    found = sorted((counts or {}).items())
    return Found[CollisionPlate](total=len(found), items=[
        CollisionPlate(plate=plate, passes=passes) for plate, passes in found[:limit]])
