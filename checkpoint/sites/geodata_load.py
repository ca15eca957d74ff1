"""Load the geodata/ folder (areas, checkpoints, roads as GeoJSON) into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.sites.geometry import check_polygon
from checkpoint.sites.models import Area, Checkpoint, RoadEdge
from checkpoint.sites.roadgraph import GeodataError, RoadGraph


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
    is_collection = isinstance(data, dict) and data.get("type") == "FeatureCollection"
    if not is_collection or not isinstance(data.get("features"), list):
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


def read_road_graph(path: Path) -> RoadGraph:
    """A road graph from our GeoJSON or from an OpenStreetMap extract (.osm, .osm.pbf, .pbf)."""
    try:
        if path.name.endswith((".osm", ".pbf", ".osm.bz2", ".osm.gz")):
            from checkpoint.sites.osm import load_osm

            return load_osm(path)
        return RoadGraph.read(path)
    except GeodataError as exc:
        raise InvalidInput(str(exc)) from None


def store_road_graph(session: Session, graph: RoadGraph) -> int:
    """Replace the road graph with `graph` and move each checkpoint onto its nearest new edge."""
    if not graph.edges:
        raise InvalidInput("the road graph has no edges")
    rows = [{"id": edge.id, "source": edge.source, "target": edge.target, "highway": edge.highway or "",
             "name": edge.name or "", "oneway": bool(edge.oneway), "length_m": float(edge.length_m),
             "coords": [[float(lon), float(lat)] for lon, lat in edge.coords]}
            for edge in sorted(graph.edges.values(), key=lambda e: e.id)]
    session.execute(delete(RoadEdge))
    session.execute(insert(RoadEdge), rows)
    for checkpoint in session.scalars(select(Checkpoint)):
        if checkpoint.edge_id is None or checkpoint.edge_id not in graph.edges or \
                graph.distance_to_edge_m((checkpoint.lon, checkpoint.lat), checkpoint.edge_id) > 1.0:
            checkpoint.edge_id = graph.nearest_edge((checkpoint.lon, checkpoint.lat)).edge.id
    session.flush()
    return len(rows)


def load_roads(session: Session, path: Path) -> int:
    return store_road_graph(session, read_road_graph(path))


def load_geodata(session: Session, directory: Path) -> LoadSummary:
    """Upsert areas and checkpoints by code and replace the road graph; the caller commits."""
    areas = load_areas(session, directory / "areas.geojson")
    checkpoints = load_checkpoints(session, directory / "checkpoints.geojson")
    return LoadSummary(areas=areas, checkpoints=checkpoints,
                       road_edges=load_roads(session, directory / "roads.geojson"))


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Checkpoint))
