"""Where roads of the graph cross an area's boundary, and how to walk on along the same road.

All geometry here is in metres (a local equirectangular projection), never degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from checkpoint.sites.roadgraph import LocalProjection, LonLat, RoadEdge, RoadGraph

MAX_TURN_DEG = 60.0  # a walk along "the same road" stops at a sharper turn


@dataclass(frozen=True)
class RoadPosition:
    """A point on an edge, facing along the road in the direction of travel inwards."""

    edge: RoadEdge
    toward: int  # the node the traveller heads for
    offset_m: float  # distance from the edge's source node
    point: LonLat
    bearing_deg: float  # of travel, clockwise from north


@dataclass(frozen=True)
class Crossing:
    """A road entering an area: where it crosses the boundary and where a checkpoint can stand."""

    edge: RoadEdge
    outside_node: int
    inside_node: int
    crossing_point: LonLat
    checkpoint: RoadPosition


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Bearing from a to b in projected metres, clockwise from north, in [0, 360)."""
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360.0


class CrossingFinder:
    """Finds crossings and walks roads in metres for one road graph."""

    def __init__(self, graph: RoadGraph, projection: LocalProjection) -> None:
        self.graph = graph
        self.projection = projection
        self.lines = {e.id: projection.line(e.coords) for e in graph.edges.values()}

    def to_metres(self, geometry: BaseGeometry) -> BaseGeometry:
        """Project a (lon, lat) geometry to metres."""
        return self.projection.geometry_to_xy(geometry)

    def position(self, edge: RoadEdge, toward: int, offset_m: float) -> RoadPosition:
        """The point `offset_m` from the edge's source, facing `toward`."""
        line = self.lines[edge.id]
        offset_m = min(max(offset_m, 0.0), line.length)
        here = line.interpolate(offset_m)
        step = 5.0 if toward == edge.target else -5.0
        there = line.interpolate(min(max(offset_m + step, 0.0), line.length))
        if there.equals(here):
            there = line.interpolate(offset_m - step)
            heading = bearing_deg((there.x, there.y), (here.x, here.y))
        else:
            heading = bearing_deg((here.x, here.y), (there.x, there.y))
        return RoadPosition(edge, toward, offset_m, self.projection.to_lonlat(here.x, here.y), heading)

    def crossings(self, area_m: BaseGeometry, inset_m: float, ignore_near_m: BaseGeometry | None = None,
                  ignore_within_m: float = 0.0) -> list[Crossing]:
        """Edges with one end outside `area_m` and one inside, and a checkpoint `inset_m` inside.

        A crossing within `ignore_within_m` of `ignore_near_m` is skipped: district lines that
        coincide with the city line belong to the city line.
        """
        boundary = area_m.boundary
        found: list[Crossing] = []
        for edge in sorted(self.graph.edges.values(), key=lambda e: e.id):
            line = self.lines[edge.id]
            if not line.intersects(boundary):
                continue
            start_in = area_m.contains(Point(line.coords[0]))
            end_in = area_m.contains(Point(line.coords[-1]))
            if start_in == end_in:
                continue
            inside_node, outside_node = (edge.source, edge.target) if start_in else (edge.target, edge.source)
            cut = line.intersection(boundary)
            points = [g for g in getattr(cut, "geoms", [cut]) if g.geom_type == "Point"]
            if not points:
                continue
            offsets = sorted(line.project(p) for p in points)
            last_offset = offsets[0] if start_in else offsets[-1]  # the crossing nearest the inside end
            cross_pt = line.interpolate(last_offset)
            if ignore_near_m is not None and cross_pt.distance(ignore_near_m) < ignore_within_m:
                continue
            inside_len = last_offset if start_in else line.length - last_offset
            step = min(inset_m, inside_len / 2)
            offset = last_offset - step if start_in else last_offset + step
            found.append(Crossing(edge, outside_node, inside_node,
                                  self.projection.to_lonlat(cross_pt.x, cross_pt.y),
                                  self.position(edge, inside_node, offset)))
        return found

    def walk(self, start: RoadPosition, distance_m: float) -> RoadPosition | None:
        """Go `distance_m` further along the same road, taking the straightest way at junctions.

        Returns None where the road ends or turns by more than MAX_TURN_DEG before that.
        """
        edge, toward, offset = start.edge, start.toward, start.offset_m
        remaining = distance_m
        visited = {edge.id}
        while True:
            line = self.lines[edge.id]
            left = line.length - offset if toward == edge.target else offset
            if remaining <= left:
                new_offset = offset + remaining if toward == edge.target else offset - remaining
                return self.position(edge, toward, new_offset)
            remaining -= left
            arrival = self.position(edge, toward, line.length if toward == edge.target else 0.0).bearing_deg
            best: tuple[float, RoadEdge] | None = None
            for candidate in self.graph.edges_at(toward):
                if candidate.id in visited:
                    continue
                leaving = self.position(candidate, _other_end(candidate, toward),
                                        0.0 if candidate.source == toward else self.lines[candidate.id].length)
                turn = abs((leaving.bearing_deg - arrival + 180.0) % 360.0 - 180.0)
                if turn <= MAX_TURN_DEG and (best is None or turn < best[0]):
                    best = (turn, candidate)
            if best is None:
                return None
            node = toward
            edge = best[1]
            visited.add(edge.id)
            toward = _other_end(edge, node)
            offset = 0.0 if edge.source == node else self.lines[edge.id].length


def _other_end(edge: RoadEdge, node: int) -> int:
    return edge.target if edge.source == node else edge.source


def nearest_area(point: LonLat, areas_m: dict[str, BaseGeometry], projection: LocalProjection) -> str:
    """Code of the area containing the point, else the nearest one (for slivers between polygons)."""
    p = Point(projection.to_xy(*point))
    for code in sorted(areas_m):
        if areas_m[code].contains(p):
            return code
    return min(sorted(areas_m), key=lambda c: areas_m[c].distance(p))

