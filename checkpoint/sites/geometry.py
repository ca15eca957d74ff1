"""Validation of GeoJSON polygons coming from people or files, with errors that name the problem."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity

from checkpoint.core.errors import InvalidInput


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        got = len(ring) if isinstance(ring, list) else repr(ring)
        raise InvalidInput(f"{where} needs at least 4 positions (a closed ring), got {got}")
    for index, position in enumerate(ring):
        if (not isinstance(position, list | tuple) or len(position) < 2
                or not all(isinstance(v, int | float) for v in position[:2])):
            raise InvalidInput(f"{where} position {index} is not [lon, lat]: {position!r}")
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInput(f"{where} position {index} is out of range: lon {lon}, lat {lat}")
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise InvalidInput(f"{where} does not close: first position {ring[0]} differs from last {ring[-1]}")


def check_polygon(geometry: Any) -> dict[str, Any]:
    """Return the geometry if it is a valid GeoJSON Polygon or MultiPolygon, else say what is wrong."""
    if not isinstance(geometry, dict):
        raise InvalidInput("geometry must be a GeoJSON object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidInput("MultiPolygon needs a non-empty list of polygons")
        polygons = coords
    else:
        raise InvalidInput(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    for p_index, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not polygon:
            raise InvalidInput(f"polygon {p_index} has no rings")
        for r_index, ring in enumerate(polygon):
            _check_ring(ring, f"polygon {p_index} ring {r_index}")
    geom = shape(geometry)
    if not geom.is_valid:
        raise InvalidInput(f"polygon is not valid: {explain_validity(geom)}")
    return geometry
