"""From shapes to the pure model: which junctions lie inside each area, and which arcs each checkpoint faces.

Input comes from the database, from geodata files or from a planner's what-if, so every
problem (an unclosed polygon, a graph with no roads, a checkpoint far from every road) is
reported by name here, before the analysis runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry

from checkpoint.core.errors import InvalidInput
from checkpoint.coverage.model import ProtectedArea, RingCheckpoint, RoadNetwork
from checkpoint.sites.geometry import check_polygon
from checkpoint.sites.roadgraph import LocalProjection, LonLat, RoadGraph

SNAP_LIMIT_M = 100.0  # a checkpoint farther than this from every road is a mistake, not a position
PROTECTED_KINDS = ("city", "centre")  # the plan's rule: the city line and each county centre area


class CoverageInputError(InvalidInput):
    reason = "invalid-coverage-input"


@dataclass(frozen=True)
class AreaShape:
    code: str
    name: str
    kind: str
    geometry: BaseGeometry  # (lon, lat)


@dataclass(frozen=True)
class SiteCheckpoint:
    """A checkpoint as the sites domain (or a what-if) describes it."""

    code: str
    guards: str | None
    lon: float
    lat: float
    edge_id: int | None
    directions: tuple[str, ...] = ("in", "out")
    bearing_in_deg: float | None = None
    active: bool = True


@dataclass
class CoverageModel:
    roads: RoadGraph
    network: RoadNetwork
    areas: list[ProtectedArea]
    shapes: dict[str, AreaShape]
    checkpoints: list[RingCheckpoint]
    points: dict[str, LonLat]
    inactive: frozenset[str]


def area_shape(code: str, name: str, kind: str, geometry: Any) -> AreaShape:
    """A validated area polygon; the error names the area and what is wrong with its polygon."""
    try:
        checked = check_polygon(geometry)
    except InvalidInput as exc:
        raise CoverageInputError(f"area {code!r}: {exc}") from None
    return AreaShape(code=code, name=name, kind=kind, geometry=shape(checked))


@dataclass(frozen=True)
class EdgeArrays:
    """Per edge, in one order: id, end junction ids and bounding box, for vectorised area tests."""

    ids: npt.NDArray[np.int64]
    sources: npt.NDArray[np.int64]
    targets: npt.NDArray[np.int64]
    oneway: npt.NDArray[np.bool_]
    boxes: npt.NDArray[np.float64]  # west, south, east, north
    node_ids: npt.NDArray[np.int64]  # the graph's junctions, sorted, with their positions
    node_lons: npt.NDArray[np.float64]
    node_lats: npt.NDArray[np.float64]


def edge_arrays(roads: RoadGraph) -> EdgeArrays:
    """Columns of the road graph; boxes from the end junctions, widened where a road has a shape."""
    if not roads.edges:
        raise CoverageInputError("the road graph has no roads: load an OSM extract or road GeoJSON with roads")
    edges = list(roads.edges.values())
    count = len(edges)
    ids = np.fromiter((e.id for e in edges), dtype=np.int64, count=count)
    sources = np.fromiter((e.source for e in edges), dtype=np.int64, count=count)
    targets = np.fromiter((e.target for e in edges), dtype=np.int64, count=count)
    oneway = np.fromiter((e.oneway for e in edges), dtype=np.bool_, count=count)
    node_ids = np.fromiter(roads.nodes, dtype=np.int64, count=len(roads.nodes))
    order = np.argsort(node_ids)
    node_ids = node_ids[order]
    lons = np.fromiter((n.lon for n in roads.nodes.values()), dtype=np.float64, count=len(order))[order]
    lats = np.fromiter((n.lat for n in roads.nodes.values()), dtype=np.float64, count=len(order))[order]
    at_source, at_target = np.searchsorted(node_ids, sources), np.searchsorted(node_ids, targets)
    boxes = np.column_stack((np.minimum(lons[at_source], lons[at_target]),
                             np.minimum(lats[at_source], lats[at_target]),
                             np.maximum(lons[at_source], lons[at_target]),
                             np.maximum(lats[at_source], lats[at_target])))
    for row, edge in enumerate(edges):
        if len(edge.coords) > 2:
            xs = [c[0] for c in edge.coords]
            ys = [c[1] for c in edge.coords]
            boxes[row] = (min(xs), min(ys), max(xs), max(ys))
    return EdgeArrays(ids=ids, sources=sources, targets=targets, oneway=oneway, boxes=boxes, node_ids=node_ids,
                      node_lons=lons, node_lats=lats)


def network_of(edges: EdgeArrays) -> RoadNetwork:
    return RoadNetwork.from_arrays(edges.ids.tolist(), edges.sources.tolist(), edges.targets.tolist(),
                                   edges.oneway.tolist())


def core_of(area: AreaShape, edges: EdgeArrays, inside: npt.NDArray[np.bool_], depth_m: float) -> frozenset[int]:
    """Junctions at least `depth_m` inside the boundary (the deepest one if none is that deep)."""
    if not inside.any():
        return frozenset()
    west, south, east, north = area.geometry.bounds
    projection = LocalProjection((west + east) / 2, (south + north) / 2)
    boundary = projection.geometry_to_xy(area.geometry.boundary)
    xy = [projection.to_xy(lon, lat) for lon, lat in zip(edges.node_lons[inside], edges.node_lats[inside],
                                                          strict=True)]
    depths = shapely.distance(boundary, shapely.points(xy))
    ids = edges.node_ids[inside]
    deep = ids[depths >= depth_m]
    return frozenset((deep if len(deep) else ids[[int(np.argmax(depths))]]).tolist())


def protected_area(roads: RoadGraph, area: AreaShape, edges: EdgeArrays | None = None,
                   core_depth_m: float = 0.0) -> ProtectedArea:
    """Junctions inside the polygon, and roads running through it with both ends outside.

    With `core_depth_m`, routes in must reach (and routes out start from) a junction that deep
    inside: checkpoints of a second line further in then count. Roads running through then count
    only by the routes they give to the core.
    """
    edges = edges or edge_arrays(roads)
    shapely.prepare(area.geometry)
    inside_mask = shapely.contains_xy(area.geometry, edges.node_lons, edges.node_lats)
    inside_ids = edges.node_ids[inside_mask]
    if core_depth_m > 0:
        return ProtectedArea(code=area.code, name=area.name, inside=frozenset(inside_ids.tolist()),
                             core=core_of(area, edges, inside_mask, core_depth_m))
    outside_both = ~np.isin(edges.sources, inside_ids) & ~np.isin(edges.targets, inside_ids)
    west, south, east, north = area.geometry.bounds
    box = edges.boxes
    near = outside_both & (box[:, 2] >= west) & (box[:, 0] <= east) & (box[:, 3] >= south) & (box[:, 1] <= north)
    candidates = edges.ids[near].tolist()
    lines = [LineString(roads.edges[edge_id].coords) for edge_id in candidates]
    # through the interior: a road running along the boundary only touches the area
    hits = (shapely.intersects(area.geometry, lines) & ~shapely.touches(area.geometry, lines)
            if lines else np.zeros(0, dtype=np.bool_))
    passing = frozenset(edge_id for edge_id, hit in zip(candidates, hits.tolist(), strict=True) if hit)
    return ProtectedArea(code=area.code, name=area.name, inside=frozenset(inside_ids.tolist()), passing=passing)


def _bearing_deg(a: LonLat, b: LonLat) -> float:
    """Initial bearing from a to b, clockwise from north."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    x = math.sin(lon2 - lon1) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(x, y)) % 360


def _depth(geometry: BaseGeometry, point: LonLat) -> float:
    """Signed distance in degrees: positive inside the area, negative outside."""
    p = Point(point)
    distance = float(geometry.boundary.distance(p))
    return distance if geometry.contains(p) else -distance


def forward_is_inward(roads: RoadGraph, edge_id: int, guarded: BaseGeometry | None, at: LonLat,
                      bearing_in_deg: float | None) -> bool:
    """Does traffic source -> target on this edge head into the guarded area, at the checkpoint?"""
    edge = roads.edges[edge_id]
    if bearing_in_deg is not None:
        coords = edge.coords
        best = min(range(len(coords) - 1), key=lambda i: LineString(coords[i:i + 2]).distance(Point(at)))
        turn = abs((_bearing_deg(coords[best], coords[best + 1]) - bearing_in_deg + 180) % 360 - 180)
        if abs(turn - 90) > 1e-6:
            return turn < 90
    if guarded is None:
        return True
    return _depth(guarded, edge.coords[-1]) >= _depth(guarded, edge.coords[0])


def snapped_edge(roads: RoadGraph, checkpoint: SiteCheckpoint) -> tuple[int, float]:
    """The checkpoint's edge and offset in metres; a checkpoint far from every road is refused by name."""
    point = (checkpoint.lon, checkpoint.lat)
    if checkpoint.edge_id is not None and checkpoint.edge_id in roads.edges:
        # on its recorded edge: measure there, without indexing the whole graph
        projection = LocalProjection(checkpoint.lon, checkpoint.lat)
        line = projection.line(roads.edges[checkpoint.edge_id].coords)
        here = Point(0.0, 0.0)
        if line.distance(here) <= SNAP_LIMIT_M:
            return checkpoint.edge_id, float(line.project(here))
    hit = roads.nearest_edge(point)
    if hit.distance_m > SNAP_LIMIT_M:
        raise CoverageInputError(
            f"checkpoint {checkpoint.code} at ({checkpoint.lon:.6f}, {checkpoint.lat:.6f}) is off every road: "
            f"the nearest road (edge {hit.edge.id}) is {hit.distance_m:,.0f} m away (limit {SNAP_LIMIT_M:.0f} m)")
    return hit.edge.id, hit.offset_m


def ring_checkpoint(roads: RoadGraph, shapes: dict[str, AreaShape], checkpoint: SiteCheckpoint) -> RingCheckpoint:
    unknown = set(checkpoint.directions) - {"in", "out"}
    if unknown or not checkpoint.directions:
        raise CoverageInputError(f"checkpoint {checkpoint.code}: directions must be 'in' and/or 'out', "
                                 f"got {list(checkpoint.directions)}")
    edge_id, offset = snapped_edge(roads, checkpoint)
    guarded = shapes.get(checkpoint.guards or "")
    inward = forward_is_inward(roads, edge_id, guarded.geometry if guarded else None,
                               (checkpoint.lon, checkpoint.lat), checkpoint.bearing_in_deg)
    films_in, films_out = "in" in checkpoint.directions, "out" in checkpoint.directions
    return RingCheckpoint(code=checkpoint.code, area=checkpoint.guards or "", edge_id=edge_id,
                          forward=films_in if inward else films_out, backward=films_out if inward else films_in,
                          offset_m=offset, forward_inward=inward)


@dataclass(frozen=True)
class RoadBase:
    """The road graph with its columns and search index: what every analysis of one graph shares."""

    roads: RoadGraph
    edges: EdgeArrays
    network: RoadNetwork


def road_base(roads: RoadGraph) -> RoadBase:
    edges = edge_arrays(roads)
    return RoadBase(roads=roads, edges=edges, network=network_of(edges))


def build_model(roads: RoadGraph | RoadBase, areas: Sequence[AreaShape], checkpoints: Sequence[SiteCheckpoint],
                kinds: Sequence[str] = PROTECTED_KINDS, core_depth_m: float = 0.0) -> CoverageModel:
    """The pure model of the protected areas (city and centre areas by default) and their rings."""
    base = roads if isinstance(roads, RoadBase) else road_base(roads)
    chosen = [a for a in areas if a.kind in kinds]
    if not chosen:
        raise CoverageInputError(f"no area of kind {' or '.join(kinds)} to check")
    shapes = {a.code: a for a in chosen}
    codes = [c.code for c in checkpoints]
    if len(set(codes)) != len(codes):
        raise CoverageInputError("checkpoint codes must be unique")
    ring = [ring_checkpoint(base.roads, shapes, c) for c in checkpoints if c.guards in shapes]
    return CoverageModel(roads=base.roads, network=base.network,
                         areas=[protected_area(base.roads, a, base.edges, core_depth_m) for a in chosen],
                         shapes=shapes, checkpoints=ring, points={c.code: (c.lon, c.lat) for c in checkpoints},
                         inactive=frozenset(c.code for c in checkpoints if not c.active))
