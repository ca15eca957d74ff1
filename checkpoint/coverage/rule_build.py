"""From shapes to the rule under a reading: guarded areas, the checkpoints' tags, the candidate edges.

A checkpoint's county is the county its position lies in (so a what-if point needs no paperwork);
it counts for that county and for the city (jurisdiction), and for the area it guards (ring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from checkpoint.coverage.build import AreaShape, CoverageInputError, SiteCheckpoint, forward_is_inward, snapped_edge
from checkpoint.coverage.model import RoadNetwork
from checkpoint.coverage.optimum import Candidate
from checkpoint.coverage.reading import CITY_SEAT, Reading
from checkpoint.coverage.rule import ANY, Guarded, Site
from checkpoint.sites.roadgraph import RoadGraph

SITE_SPACING_M = 400.0  # an edge this long holds two checkpoints (first and second line), shorter ones one
MAX_PER_EDGE = 2


def ring(code: str) -> str:
    return f"ring:{code}"


@dataclass(frozen=True)
class Places:
    """The area shapes by kind, and which county each centre belongs to."""

    city: AreaShape | None
    counties: dict[str, AreaShape]
    centres: dict[str, AreaShape]
    county_of_centre: dict[str, str]
    city_centre: str | None  # the centre area around the city government

    def county_at(self, lon: float, lat: float) -> str | None:
        point = Point(lon, lat)
        return next((code for code, shape in sorted(self.counties.items()) if shape.geometry.covers(point)), None)


def places(shapes: Sequence[AreaShape]) -> Places:
    city = next((s for s in shapes if s.kind == "city"), None)
    counties = {s.code: s for s in shapes if s.kind == "district"}
    centres = {s.code: s for s in shapes if s.kind == "centre"}
    county_of: dict[str, str] = {}
    for code, centre in centres.items():
        inner = centre.geometry.representative_point()
        county_of[code] = next((c for c, s in sorted(counties.items()) if s.geometry.covers(inner)), code)
    seat = Point(CITY_SEAT)
    city_centre = next((c for c, s in sorted(centres.items()) if s.geometry.covers(seat)), None)
    return Places(city, counties, centres, county_of, city_centre if city is not None else None)


def rule_network(graph: RoadGraph, reading: Reading) -> RoadNetwork:
    """The roads a vehicle normally drives under the reading (every road of a graph without classes)."""
    kept = [e for e in graph.edges.values() if reading.drives(e.highway)]
    if not kept:
        raise CoverageInputError(f"没有 {reading.min_road_class} 及以上等级的道路：请降低道路等级门槛")
    return RoadNetwork.from_arrays([e.id for e in kept], [e.source for e in kept], [e.target for e in kept],
                                   [e.oneway for e in kept])


def _nodes_in(graph: RoadGraph, shape: AreaShape, ids: np.ndarray, lons: np.ndarray,
              lats: np.ndarray) -> frozenset[int]:
    inside = shapely.contains_xy(shape.geometry, lons, lats)
    found = frozenset(ids[inside].tolist())
    if found or not len(ids):
        return found
    centre = shape.geometry.representative_point()  # a centre smaller than the junction spacing
    nearest = int(np.argmin((lons - centre.x) ** 2 + (lats - centre.y) ** 2))
    return frozenset({int(ids[nearest])})


def guarded_areas(graph: RoadGraph, network: RoadNetwork, where: Places, reading: Reading) -> list[Guarded]:
    """The areas the reading protects, each with its target, the region its routes start beyond, its counters."""
    ids = network.node_ids
    lons = np.array([graph.nodes[int(n)].lon for n in ids])
    lats = np.array([graph.nodes[int(n)].lat for n in ids])
    areas: list[Guarded] = []

    def counted(jurisdiction: str, rings: set[str]) -> frozenset[str]:
        return frozenset({ANY} if reading.counting == "any" else {jurisdiction} if reading.counting == "jurisdiction"
                         else {ring(code) for code in rings})

    city_nodes = _nodes_in(graph, where.city, ids, lons, lats) if where.city else frozenset()
    for code, centre in sorted(where.centres.items()):
        target = _nodes_in(graph, centre, ids, lons, lats)
        if code == where.city_centre and where.city is not None:
            region = city_nodes if reading.origins == "two_lines" else target
            areas.append(Guarded(f"{where.city.code}-centre", f"{where.city.name}中心区（市政府所在地）", target,
                                 region | target, counted(where.city.code, {where.city.code, code})))
        county = where.county_of_centre[code]
        shape = where.counties.get(county)
        region = _nodes_in(graph, shape, ids, lons, lats) if shape and reading.origins == "two_lines" else target
        areas.append(Guarded(code, centre.name, target, region | target, counted(county, {code})))
    if reading.areas == "city" and where.city is not None:
        areas.append(Guarded(where.city.code, where.city.name, city_nodes, city_nodes,
                             counted(where.city.code, {where.city.code})))
    return areas


def site_tags(where: Places, lon: float, lat: float, guards: str | None) -> frozenset[str]:
    tags = {ring(guards)} if guards else set()
    county = where.county_at(lon, lat)
    if county is not None:
        tags.add(county)
    if where.city is not None and where.city.geometry.covers(Point(lon, lat)):
        tags.add(where.city.code)
    return frozenset(tags)


def sites_of(graph: RoadGraph, where: Places, checkpoints: Sequence[SiteCheckpoint],
             offline: frozenset[str] = frozenset()) -> list[Site]:
    """The online checkpoints as sites (each films the directions its feeds face; both for ["in","out"])."""
    found = []
    for checkpoint in checkpoints:
        if checkpoint.code in offline or not checkpoint.active:
            continue
        edge_id, _offset = snapped_edge(graph, checkpoint)
        both = set(checkpoint.directions) >= {"in", "out"}
        forward = both or _films_forward(graph, edge_id, checkpoint)
        found.append(Site(checkpoint.code, edge_id, forward=forward, backward=both or not forward,
                          tags=site_tags(where, checkpoint.lon, checkpoint.lat, checkpoint.guards)))
    return found


def _films_forward(graph: RoadGraph, edge_id: int, checkpoint: SiteCheckpoint) -> bool:
    """A one-way camera: does it film source -> target? ('in' along its bearing into the guarded area)."""
    inward = forward_is_inward(graph, edge_id, None, (checkpoint.lon, checkpoint.lat), checkpoint.bearing_in_deg)
    return inward == ("in" in checkpoint.directions)


def candidates(graph: RoadGraph, network: RoadNetwork, where: Places,
               forbidden: frozenset[int] = frozenset()) -> list[Candidate]:
    """Every driven edge, once per county it runs in (its ends and its middle): a checkpoint on that county's
    part uses that county's quota; an edge across a county line can serve either side."""
    edges = [graph.edges[int(e)] for e in network.ids if int(e) not in forbidden]
    lines = [LineString(e.coords) for e in edges]
    middles = shapely.line_interpolate_point(lines, 0.5, normalized=True) if lines else []
    centre_of = {county: code for code, county in sorted(where.county_of_centre.items(), reverse=True)}
    found = []
    for edge, middle in zip(edges, middles, strict=True):
        ends = [graph.nodes[edge.source], graph.nodes[edge.target]]
        counties = {where.county_at(middle.x, middle.y), *(where.county_at(n.lon, n.lat) for n in ends)} - {None}
        for county in sorted(c for c in counties if c is not None):
            tags = {county, ring(centre_of.get(county, county))} | ({where.city.code} if where.city else set())
            share = edge.length_m if len(counties) == 1 else _part_m(edge.coords, where.counties[county], edge.length_m)
            capacity = int(min(MAX_PER_EDGE, max(1, share // SITE_SPACING_M)))
            found.append(Candidate(edge.id, county, frozenset(tags), capacity))
    return found


def _part_m(coords: Sequence[tuple[float, float]], county: AreaShape, length_m: float) -> float:
    """Metres of an edge inside a county (by the share of its length in degrees: edges are short)."""
    line = LineString(coords)
    return length_m * line.intersection(county.geometry).length / line.length if line.length else 0.0
