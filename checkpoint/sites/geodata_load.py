"""Load the geodata/ folder (areas, checkpoints, roads as GeoJSON) into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.sites.geometry import check_polygon
from checkpoint.sites.models import Area, Checkpoint, RoadEdge


@dataclass(frozen=True)
class LoadSummary:
    areas: int
    checkpoints: int
    road_edges: int


def read_collection(path: Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection file, or an error naming the file and problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise InvalidInput(f"{path}: expected a GeoJSON FeatureCollection with a 'features' list")
    return list(data["features"])


def _props(feature: Any, path: Path, index: int, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise InvalidInput(f"{path}: feature {index} has no properties object")
    props: dict[str, Any] = feature["properties"]
    missing = [key for key in required if props.get(key) in (None, "")]
    if missing:
        raise InvalidInput(f"{path}: feature {index} lacks {', '.join(missing)}")
    return props


def _point(feature: dict[str, Any], path: Path, index: int) -> tuple[float, float]:
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates")
    if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
        raise InvalidInput(f"{path}: feature {index} must be a Point with [lon, lat]")
    return float(coords[0]), float(coords[1])


def load_areas(session: Session, path: Path) -> int:
    count = 0
    for index, feature in enumerate(read_collection(path)):
        props = _props(feature, path, index, ("code", "name", "kind"))
        try:
            geometry = check_polygon(feature.get("geometry"))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: feature {index} ({props['code']}): {exc}") from None
        area = session.scalar(select(Area).where(Area.code == props["code"])) or Area(code=props["code"])
        area.name, area.kind, area.district = props["name"], props["kind"], props.get("district")
        area.geometry, area.approximate = geometry, bool(props.get("approximate", False))
        area.source = str(props.get("source") or "")
        session.add(area)
        count += 1
    session.flush()
    return count


def load_checkpoints(session: Session, path: Path) -> int:
    required = ("code", "name", "district", "defence_line")
    count = 0
    for index, feature in enumerate(read_collection(path)):
        props = _props(feature, path, index, required)
        lon, lat = _point(feature, path, index)
        found = session.scalar(select(Checkpoint).where(Checkpoint.code == props["code"]))
        checkpoint = found or Checkpoint(code=props["code"])
        checkpoint.name, checkpoint.district = props["name"], props["district"]
        checkpoint.district_name = props.get("district_name") or props["district"]
        checkpoint.lat, checkpoint.lon = lat, lon
        checkpoint.road = str(props.get("road") or "")
        checkpoint.edge_id = props.get("edge_id")
        checkpoint.directions = list(props.get("directions") or ["in", "out"])
        checkpoint.bearing_in_deg = props.get("bearing_in_deg")
        checkpoint.lanes = int(props.get("lanes") or 2)
        checkpoint.defence_line = props["defence_line"]
        checkpoint.retention_class = int(props.get("retention_class") or 1)
        checkpoint.guards = props.get("guards")
        checkpoint.reason = str(props.get("reason") or "")
        if found is None:
            checkpoint.active = True
        session.add(checkpoint)
        count += 1
    session.flush()
    return count


def load_roads(session: Session, path: Path) -> int:
    """Replace the road graph with the edges in `path`."""
    rows = []
    for index, feature in enumerate(read_collection(path)):
        props = _props(feature, path, index, ("id", "source", "target"))
        geometry = feature.get("geometry") or {}
        if geometry.get("type") != "LineString" or len(geometry.get("coordinates") or []) < 2:
            raise InvalidInput(f"{path}: feature {index} must be a LineString with at least 2 positions")
        rows.append({"id": int(props["id"]), "source": int(props["source"]), "target": int(props["target"]),
                     "highway": str(props.get("highway") or ""), "name": str(props.get("name") or ""),
                     "oneway": bool(props.get("oneway", False)), "length_m": float(props.get("length_m") or 0.0),
                     "coords": [[float(x), float(y)] for x, y, *_ in geometry["coordinates"]]})
    if not rows:
        raise InvalidInput(f"{path}: the road graph has no edges")
    session.execute(delete(RoadEdge))
    session.execute(RoadEdge.__table__.insert(), rows)
    session.flush()
    return len(rows)


def load_geodata(session: Session, directory: Path) -> LoadSummary:
    """Upsert areas and checkpoints by code and replace the road graph; the caller commits."""
    return LoadSummary(
        areas=load_areas(session, directory / "areas.geojson"),
        road_edges=load_roads(session, directory / "roads.geojson"),
        checkpoints=load_checkpoints(session, directory / "checkpoints.geojson"),
    )


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Checkpoint))
