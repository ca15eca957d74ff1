"""Areas, checkpoints and the road graph: look-ups, GeoJSON views and edits. Services flush only."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput, NotFound
from checkpoint.sites.geometry import check_polygon
from checkpoint.sites.models import Area, Checkpoint, Feed, RoadEdge
from checkpoint.sites.schemas import Feature, FeatureCollection

AREA_KINDS = ("city", "district", "centre")


class UnknownCheckpoint(NotFound):
    reason = "unknown-checkpoint"


class UnknownArea(NotFound):
    reason = "unknown-area"


def list_areas(session: Session, kind: str | None = None) -> list[Area]:
    query = select(Area).order_by(Area.kind, Area.code)
    if kind is not None:
        if kind not in AREA_KINDS:
            raise InvalidInput(f"unknown area kind {kind!r}; kinds are {', '.join(AREA_KINDS)}")
        query = query.where(Area.kind == kind)
    return list(session.scalars(query))


def get_area(session: Session, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise UnknownArea(f"area {code!r} does not exist")
    return area


def checkpoints_in_area(session: Session, code: str) -> list[Checkpoint]:
    """The checkpoints inside (or on the edge of) an area's polygon, by code."""
    polygon = shape(get_area(session, code).geometry)
    return [checkpoint for checkpoint in list_checkpoints(session)
            if polygon.covers(Point(checkpoint.lon, checkpoint.lat))]


def update_area(session: Session, area: Area, geometry: dict[str, Any], name: str | None) -> Area:
    area.geometry = check_polygon(geometry)
    if name:
        area.name = name
    session.flush()
    return area


def area_feature(area: Area) -> Feature:
    return Feature(id=area.code, geometry=area.geometry, properties={
        "code": area.code, "name": area.name, "kind": area.kind, "district": area.district,
        "approximate": area.approximate, "source": area.source,
    })


def list_checkpoints(session: Session, district: str | None = None, active_only: bool = False) -> list[Checkpoint]:
    query = select(Checkpoint).order_by(Checkpoint.code)
    if district is not None:
        query = query.where(Checkpoint.district == district)
    if active_only:
        query = query.where(Checkpoint.active.is_(True))
    return list(session.scalars(query))


def get_checkpoint(session: Session, code: str) -> Checkpoint:
    """A checkpoint by its code (e.g. HZ-441302-01) or numeric id."""
    query = select(Checkpoint).where(Checkpoint.code == code)
    if code.isascii() and code.isdigit():  # "²".isdigit() is true, and int() refuses it
        query = select(Checkpoint).where((Checkpoint.code == code) | (Checkpoint.id == int(code)))
    checkpoint = session.scalar(query)
    if checkpoint is None:
        raise UnknownCheckpoint(f"checkpoint {code!r} does not exist")
    return checkpoint


def feed_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(Feed.checkpoint_id, func.count()).group_by(Feed.checkpoint_id))
    return {checkpoint_id: count for checkpoint_id, count in rows}


def checkpoint_feature(checkpoint: Checkpoint, feeds: int = 0) -> Feature:
    return Feature(
        id=checkpoint.code,
        geometry={"type": "Point", "coordinates": [checkpoint.lon, checkpoint.lat]},
        properties={
            "id": checkpoint.id, "code": checkpoint.code, "name": checkpoint.name,
            "district": checkpoint.district, "district_name": checkpoint.district_name,
            "road": checkpoint.road, "edge_id": checkpoint.edge_id, "directions": checkpoint.directions,
            "bearing_in_deg": checkpoint.bearing_in_deg, "lanes": checkpoint.lanes,
            "defence_line": checkpoint.defence_line, "retention_class": checkpoint.retention_class,
            "guards": checkpoint.guards, "reason": checkpoint.reason, "active": checkpoint.active,
            "feeds": feeds,
        },
    )


def checkpoints_collection(session: Session, district: str | None = None) -> FeatureCollection:
    counts = feed_counts(session)
    return FeatureCollection(features=[checkpoint_feature(cp, counts.get(cp.id, 0))
                                       for cp in list_checkpoints(session, district)])


def roads_collection(session: Session) -> FeatureCollection:
    edges = session.scalars(select(RoadEdge).order_by(RoadEdge.id))
    return FeatureCollection(features=[
        Feature(id=edge.id, geometry={"type": "LineString", "coordinates": edge.coords},
                properties={"id": edge.id, "source": edge.source, "target": edge.target, "highway": edge.highway,
                            "name": edge.name, "oneway": edge.oneway, "length_m": edge.length_m})
        for edge in edges
    ])
