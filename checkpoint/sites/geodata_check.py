"""Validate a geodata folder: the checks the acceptance tests and `checkpoint geodata check` share.

Needs only shapely and the files themselves, not the build-only packages.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from checkpoint.sites.geodata_placement import QUOTAS
from checkpoint.sites.roadgraph import GeodataError, LocalProjection, RoadGraph

ON_EDGE_TOLERANCE_M = 1.0
OUTSIDE_TOLERANCE_M = 1000.0
CITY_CODE = "441300"
CHECKPOINT_KEYS = ("code", "name", "district", "district_name", "road", "edge_id", "directions",
                   "bearing_in_deg", "lanes", "defence_line", "retention_class", "guards", "reason")


def read_feature_collection(path: Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection file; GeodataError names what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeodataError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GeodataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        raise GeodataError(f"{path}: not a GeoJSON FeatureCollection")
    return list(data["features"])


def read_areas(path: Path) -> dict[str, tuple[dict[str, Any], BaseGeometry]]:
    """Areas by code: (properties, geometry)."""
    areas: dict[str, tuple[dict[str, Any], BaseGeometry]] = {}
    for index, feature in enumerate(read_feature_collection(path)):
        props = feature.get("properties") or {}
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GeodataError(f"{path}: feature {index}: bad geometry ({exc})") from None
        if not isinstance(props.get("code"), str):
            raise GeodataError(f"{path}: feature {index}: property 'code' must be a string")
        areas[props["code"]] = (props, geometry)
    return areas


def check_geodata(folder: Path) -> list[str]:
    """Every problem found in areas/roads/checkpoints.geojson; an empty list means valid."""
    problems: list[str] = []
    areas = read_areas(folder / "areas.geojson")
    graph = RoadGraph.read(folder / "roads.geojson")
    checkpoints = read_feature_collection(folder / "checkpoints.geojson")
    if CITY_CODE not in areas:
        return [f"{folder / 'areas.geojson'}: no city area with code {CITY_CODE}"]
    for code in QUOTAS:
        if code not in areas:
            problems.append(f"areas.geojson: no district {code}")
        if f"{code}-centre" not in areas:
            problems.append(f"areas.geojson: no centre area {code}-centre")
    city = areas[CITY_CODE][1]
    lon0, lat0 = city.centroid.coords[0]
    projection = LocalProjection(lon0, lat0)
    city_m = projection.geometry_to_xy(city)
    if len(checkpoints) != sum(QUOTAS.values()):
        problems.append(f"checkpoints.geojson: {len(checkpoints)} checkpoints, expected {sum(QUOTAS.values())}")
    counts = Counter(str((f.get("properties") or {}).get("district")) for f in checkpoints)
    for district, quota in QUOTAS.items():
        if counts.get(district, 0) != quota:
            problems.append(f"checkpoints.geojson: district {district} has {counts.get(district, 0)}, "
                            f"expected {quota}")
    codes = Counter(str((f.get("properties") or {}).get("code")) for f in checkpoints)
    problems += [f"checkpoints.geojson: code {c} used {n} times" for c, n in sorted(codes.items()) if n > 1]
    for index, feature in enumerate(checkpoints):
        problems += _check_checkpoint(index, feature, graph, city_m, projection)
    return problems


def _check_checkpoint(index: int, feature: dict[str, Any], graph: RoadGraph, city_m: BaseGeometry,
                      projection: LocalProjection) -> list[str]:
    props = feature.get("properties") or {}
    where = f"checkpoints.geojson: feature {index} ({props.get('code')})"
    missing = [k for k in CHECKPOINT_KEYS if k not in props]
    if missing:
        return [f"{where}: missing properties {', '.join(missing)}"]
    geometry = feature.get("geometry") or {}
    if geometry.get("type") != "Point":
        return [f"{where}: geometry must be a Point"]
    lon, lat = geometry["coordinates"][:2]
    problems = []
    if props["edge_id"] not in graph.edges:
        problems.append(f"{where}: edge_id {props['edge_id']} is not in roads.geojson")
    else:
        gap = graph.distance_to_edge_m((lon, lat), props["edge_id"])
        if gap > ON_EDGE_TOLERANCE_M:
            problems.append(f"{where}: {gap:.1f} m from its edge {props['edge_id']}")
    outside = city_m.distance(Point(projection.to_xy(lon, lat)))
    if outside > OUTSIDE_TOLERANCE_M:
        problems.append(f"{where}: {outside:.0f} m outside the city boundary")
    return problems

