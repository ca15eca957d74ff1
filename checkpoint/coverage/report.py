"""The report as JSON for the API, the CLI and the console map: leak routes become GeoJSON lines."""

from __future__ import annotations

from typing import Any

from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from checkpoint.coverage.build import CoverageModel
from checkpoint.coverage.model import CoverageReport, LeakRoute
from checkpoint.coverage.placement import PlacementPlan
from checkpoint.sites.roadgraph import LonLat


def crossing_point(boundary_of: BaseGeometry, coords: tuple[LonLat, ...]) -> LonLat:
    """Where the road crosses the area's boundary (its midpoint if the geometry does not say)."""
    line = LineString(coords)
    hit = line.intersection(boundary_of.boundary)
    points = list(getattr(hit, "geoms", [hit])) if not hit.is_empty else []
    if not points:
        middle = line.interpolate(0.5, normalized=True)
        return (round(middle.x, 6), round(middle.y, 6))
    first = min(points, key=lambda p: line.project(p.centroid))
    return (round(first.centroid.x, 6), round(first.centroid.y, 6))


def leak_feature(model: CoverageModel, leak: LeakRoute) -> dict[str, Any]:
    edge = model.roads.edges[leak.edge_id]
    path: list[list[float]] = []
    for edge_id in leak.path:
        coords = list(model.roads.edges[edge_id].coords)
        if path and path[-1] != list(coords[0]):
            coords.reverse()
        path.extend([lon, lat] for lon, lat in coords)
    crossing = crossing_point(model.shapes[leak.area].geometry, edge.coords)
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": path},
            "properties": {"area": leak.area, "direction": leak.direction, "edge_id": leak.edge_id,
                           "road": edge.name or edge.highway, "from_node": leak.tail, "to_node": leak.head,
                           "captures": leak.captures, "checkpoints": list(leak.checkpoints),
                           "passing": leak.passing, "crossing": list(crossing), "path": list(leak.path)}}


def report_json(model: CoverageModel, report: CoverageReport, seconds: float | None = None) -> dict[str, Any]:
    offline = sorted(report.offline)
    ring_points = []
    for checkpoint in model.checkpoints:
        lon, lat = model.points[checkpoint.code]
        ring_points.append({"code": checkpoint.code, "area": checkpoint.area, "edge_id": checkpoint.edge_id,
                            "lon": lon, "lat": lat, "captures_forward": checkpoint.forward,
                            "captures_backward": checkpoint.backward, "offline": checkpoint.code in report.offline})
    return {
        "holds": report.holds,
        "offline": offline,
        "seconds": seconds,
        "areas": [{"code": a.code, "name": a.name, "min_captures_in": a.min_captures_in,
                   "min_captures_out": a.min_captures_out, "crossings": a.crossings,
                   "leak_routes": len(a.leak_routes), "holds": a.holds} for a in report.areas],
        "leaks": {"type": "FeatureCollection",
                  "features": [leak_feature(model, leak) for a in report.areas for leak in a.leak_routes]},
        "criticality": [{"code": c.code, "area": c.area, "new_leaks": c.new_leaks,
                         "min_captures_in_after": c.min_captures_in_after,
                         "min_captures_out_after": c.min_captures_out_after} for c in report.criticality],
        "ring": ring_points,
    }


def placement_json(model: CoverageModel, plan: PlacementPlan, after: CoverageReport,
                   before: CoverageReport) -> dict[str, Any]:
    """The proposed positions (where each edge crosses its area's boundary, else its middle) and their effect."""
    features = []
    for area in plan.areas:
        for new in area.added:
            edge = model.roads.edges[new.edge_id]
            lon, lat = crossing_point(model.shapes[new.area].geometry, edge.coords)
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                             "properties": {"code": new.code, "area": new.area, "edge_id": new.edge_id}})
    return {
        "method": plan.method,
        "new_checkpoints": plan.added,
        "lower_bound": plan.lower_bound,
        "gap": plan.added - plan.lower_bound,
        "areas": [{"area": a.area, "new_checkpoints": len(a.added), "lower_bound": a.lower_bound, "gap": a.gap,
                   "reached": a.reached} for a in plan.areas],
        "holds_after": after.holds,
        "positions": {"type": "FeatureCollection", "features": features},
        "removal_effect": [{"code": c.code, "area": c.area, "new_leaks": c.new_leaks,
                            "min_captures_in_after": c.min_captures_in_after,
                            "min_captures_out_after": c.min_captures_out_after} for c in before.criticality],
    }
