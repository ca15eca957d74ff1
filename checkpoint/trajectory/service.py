"""A plate's trajectory: its passes over a time range, split into trips, drawn along the roads.

Plate matching is a parameter (`matcher`): exact matching lives here; the watchlist's fuzzy
matching can be passed in by the caller without trajectory importing the watchlist.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.lpr.alphabet import DIGITS, EMBASSY, EMERGENCY, LETTERS, PROVINCES, TAIL_MARKS
from checkpoint.lpr.normalize import is_valid_plate, normalize_plate
from checkpoint.trajectory.roads import RoadNetwork, road_network
from checkpoint.trajectory.schemas import Leg, Trajectory, TrajectoryPass, Trip
from checkpoint.trajectory.trips import split_trips

PlateMatcher = Callable[[Session, str], Sequence[str]]
MAX_RANGE = timedelta(days=62)
MAX_PASSES = 20_000

PASSES_QUERY = """
SELECT p.id, p.captured_at, p.plate, p.plate_colour, p.plate_type, p.checkpoint_id,
       c.code AS checkpoint_code, c.name AS checkpoint_name, p.direction, p.lon, p.lat,
       p.image_path, p.plate_image_path
FROM pass p JOIN checkpoint c ON c.id = p.checkpoint_id
WHERE p.plate = ANY({plates}) AND p.captured_at >= {start} AND p.captured_at < {end}
ORDER BY p.captured_at, p.id
LIMIT {limit}
"""
# Planning a query over dozens of day partitions costs more than running it for one plate, so
# each connection prepares it once; PostgreSQL then reuses a plan that prunes at run time.
PREPARED_NAME = "checkpoint_trajectory_passes"
PREPARE_SQL = (f"PREPARE {PREPARED_NAME} (text[], timestamptz, timestamptz, int) AS "
               + PASSES_QUERY.format(plates="$1", start="$2", end="$3", limit="$4"))
EXECUTE_SQL = text(f"EXECUTE {PREPARED_NAME} (:plates, :start, :end, :limit)")


# what a typed plate may hold: plate characters, the letters GA 36 leaves out (read as 0 and 1), separators
TYPED_PLATE_CHARS = set(PROVINCES + DIGITS + LETTERS + "IO" + TAIL_MARKS + EMBASSY + EMERGENCY + " ·-")


def exact_plate(_session: Session, plate: str) -> list[str]:
    """The plate itself, in canonical form: the default matcher. Text that is no plate is refused with the
    reason, never searched in a repaired form the investigator did not type (`hello!!` is not HELL0)."""
    strange = sorted({char for char in plate.strip().upper() if char not in TYPED_PLATE_CHARS})
    if strange:
        raise InvalidInput(f"“{plate.strip()}”含有车牌中不会出现的字符：{' '.join(strange)}；精确查询请输入完整车牌，"
                           f"不确定的字符请用模糊查询 ({plate.strip()!r} is not a valid plate: it has characters no"
                           " plate has)")
    canonical = normalize_plate(plate)
    if not is_valid_plate(canonical):
        raise InvalidInput(f"“{plate.strip()}”不是有效的车牌：车牌为省份简称 + 字母 + 5 位字母或数字（新能源 6 位）；"
                           f"缺字或多字请用模糊查询 ({plate.strip()!r} is not a valid plate)")
    return [canonical]


def check_range(start: datetime, end: datetime, longest: timedelta = MAX_RANGE) -> None:
    """Refuse naive, reversed or overlong time ranges with a reason the user can act on."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give times with a time zone, e.g. 2026-11-01T08:00:00+08:00")
    if end <= start:
        raise InvalidInput("the end of the time range must come after its start")
    if end - start > longest:
        raise InvalidInput(f"the time range may span at most {longest.days} days")


def check_reason(reason: str) -> str:
    """The stated reason, stripped; blank reasons are refused (they would defeat the audit)."""
    stated = reason.strip()
    if len(stated) < 4:
        raise InvalidInput("state the reason for this search (at least 4 characters)")
    return stated


def fetch_passes(session: Session, plates: Sequence[str], start: datetime, end: datetime,
                 limit: int = MAX_PASSES) -> list[TrajectoryPass]:
    """Passes of any of `plates` in [start, end), oldest first; uses the (plate, captured_at) index."""
    connection = session.connection()
    prepared = connection.connection.info  # lives as long as the database connection, across the pool
    if not prepared.get(PREPARED_NAME):
        connection.exec_driver_sql(PREPARE_SQL)
        prepared[PREPARED_NAME] = True
    rows = connection.execute(EXECUTE_SQL, {"plates": list(plates), "start": start, "end": end, "limit": limit})
    return [TrajectoryPass.model_validate(dict(row._mapping)) for row in rows]


def build_trajectory(session: Session, plate: str, start: datetime, end: datetime, *,
                     gap: timedelta = timedelta(minutes=30), matcher: PlateMatcher = exact_plate,
                     limit: int = MAX_PASSES) -> Trajectory:
    """The plate's passes in [start, end) as trips split at gaps longer than `gap`."""
    check_range(start, end)
    if gap <= timedelta(0):
        raise InvalidInput("the gap between trips must be positive")
    plates = list(dict.fromkeys(matcher(session, plate)))
    if not plates or not plates[0]:
        raise InvalidInput("give a plate to search for")
    passes = fetch_passes(session, plates, start, end, limit + 1)
    truncated = len(passes) > limit
    passes = passes[:limit]
    network = road_network(session) if passes else None
    trips = [make_trip(index, trip, network) for index, trip in enumerate(split_trips(passes, gap))]
    return Trajectory(plate=plates[0], plates=plates, start=start, end=end, gap_min=gap.total_seconds() / 60,
                      pass_count=len(passes), truncated=truncated, trips=trips)


def make_trip(index: int, passes: list[TrajectoryPass], network: RoadNetwork | None) -> Trip:
    legs: list[Leg] = []
    for i in range(len(passes) - 1):
        a, b = passes[i], passes[i + 1]
        route = network.route(a.checkpoint_id, b.checkpoint_id) if network is not None else None
        distance = route.distance_m if route is not None else 0.0
        coords = list(route.coords) if route is not None else [(a.lon, a.lat), (b.lon, b.lat)]
        if len(coords) < 2:
            coords = [coords[0], coords[0]]
        duration = (b.captured_at - a.captured_at).total_seconds()
        legs.append(Leg(from_index=i, to_index=i + 1, start_at=a.captured_at, end_at=b.captured_at,
                        distance_m=round(distance, 1), duration_s=duration,
                        speed_kmh=round(distance / duration * 3.6, 1) if duration > 0 else None,
                        on_road=route.on_road if route is not None else False, coordinates=coords))
    return Trip(index=index, start_at=passes[0].captured_at, end_at=passes[-1].captured_at,
                distance_m=round(sum(leg.distance_m for leg in legs), 1), passes=passes, legs=legs)


def to_geojson(trajectory: Trajectory) -> dict[str, Any]:
    """A FeatureCollection: one LineString per leg (times, speed) and one Point per pass."""
    features: list[dict[str, Any]] = []
    for trip in trajectory.trips:
        for leg in trip.legs:
            features.append({"type": "Feature", "geometry": {"type": "LineString",
                                                             "coordinates": [list(c) for c in leg.coordinates]},
                             "properties": {"kind": "leg", "trip": trip.index, "start_at": leg.start_at.isoformat(),
                                            "end_at": leg.end_at.isoformat(), "distance_m": leg.distance_m,
                                            "duration_s": leg.duration_s, "speed_kmh": leg.speed_kmh,
                                            "on_road": leg.on_road}})
        for order, pass_ in enumerate(trip.passes):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [pass_.lon, pass_.lat]},
                             "properties": {"kind": "pass", "trip": trip.index, "order": order,
                                            "pass_id": str(pass_.id), "captured_at": pass_.captured_at.isoformat(),
                                            "plate": pass_.plate, "checkpoint": pass_.checkpoint_code,
                                            "plate_colour": pass_.plate_colour, "plate_type": pass_.plate_type}})
    return {"type": "FeatureCollection", "features": features,
            "properties": {"plate": trajectory.plate, "start": trajectory.start.isoformat(),
                           "end": trajectory.end.isoformat(), "trips": len(trajectory.trips)}}


CSV_COLUMNS = ("trip", "order", "captured_at", "plate", "plate_colour", "plate_type", "checkpoint_code",
               "checkpoint_name", "direction", "lon", "lat", "distance_from_previous_m", "speed_from_previous_kmh",
               "pass_id")


def to_csv(trajectory: Trajectory) -> str:
    """One row per pass, with the road distance and speed from the previous pass of its trip."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for trip in trajectory.trips:
        for order, pass_ in enumerate(trip.passes):
            leg = trip.legs[order - 1] if order > 0 else None
            writer.writerow([trip.index, order, pass_.captured_at.isoformat(), pass_.plate, pass_.plate_colour,
                             pass_.plate_type, pass_.checkpoint_code, pass_.checkpoint_name, pass_.direction or "",
                             pass_.lon, pass_.lat, leg.distance_m if leg else "",
                             leg.speed_kmh if leg and leg.speed_kmh is not None else "", pass_.id])
    return out.getvalue()
