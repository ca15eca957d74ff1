"""Read the model from a geodata folder (areas, roads, checkpoints) instead of the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checkpoint.coverage.build import (
    AreaShape,
    CoverageInputError,
    CoverageModel,
    SiteCheckpoint,
    area_shape,
    build_model,
)
from checkpoint.sites.geodata_load import read_collection, read_road_graph


def _point(feature: dict[str, Any], where: str) -> tuple[float, float]:
    coords = (feature.get("geometry") or {}).get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise CoverageInputError(f"{where}: a checkpoint needs a Point geometry [lon, lat]")
    return float(coords[0]), float(coords[1])


def areas_from(path: Path) -> list[AreaShape]:
    shapes = []
    for index, feature in enumerate(read_collection(path)):
        props = feature.get("properties") or {}
        code = str(props.get("code") or f"feature {index}")
        shapes.append(area_shape(code, str(props.get("name") or code), str(props.get("kind") or ""),
                                 feature.get("geometry")))
    return shapes


def checkpoints_from(path: Path) -> list[SiteCheckpoint]:
    found = []
    for index, feature in enumerate(read_collection(path)):
        props = feature.get("properties") or {}
        lon, lat = _point(feature, f"{path}: feature {index}")
        bearing = props.get("bearing_in_deg")
        found.append(SiteCheckpoint(code=str(props.get("code") or f"#{index}"), guards=props.get("guards"),
                                    lon=lon, lat=lat, edge_id=props.get("edge_id"),
                                    directions=tuple(props.get("directions") or ("in", "out")),
                                    bearing_in_deg=None if bearing is None else float(bearing),
                                    active=bool(props.get("active", True))))
    return found


def model_from_folder(folder: Path, roads: Path | None = None, core_depth_m: float = 0.0) -> CoverageModel:
    """`folder` holds areas.geojson and checkpoints.geojson; roads from `roads` (GeoJSON or OSM) or the folder."""
    graph = read_road_graph(roads or folder / "roads.geojson")
    return build_model(graph, areas_from(folder / "areas.geojson"), checkpoints_from(folder / "checkpoints.geojson"),
                       core_depth_m=core_depth_m)
