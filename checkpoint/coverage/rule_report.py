"""The rule's result as JSON: per area under the stated reading, and leak routes named by roads and places.

A planner reads "自博罗经无名道路（向东 3.2 公里）进入惠城中心区", not edge numbers: each leak says where
it comes from (the county or the outside of the city, with bearing and distance from the area), the
roads it takes in driving order (the road's name, else its class in words) and where it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shapely.geometry import Point

from checkpoint.coverage.model import RoadNetwork
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.rule import Guarded, GuardedResult, RuleRoute
from checkpoint.coverage.rule_build import Places
from checkpoint.sites.roadgraph import LonLat, RoadGraph, haversine_m

COMPASS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
CLASS_WORDS = {"motorway": "高速公路", "trunk": "国道/快速路", "primary": "主干道", "secondary": "次干道",
               "tertiary": "支路", "unclassified": "乡村道路", "residential": "街巷", "road": "无名道路"}


def compass(a: LonLat, b: LonLat) -> str:
    """The eight-point direction from a to b."""
    dx = (b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = b[1] - a[1]
    return COMPASS[round(math.degrees(math.atan2(dx, dy)) % 360 / 45) % 8]


def road_words(graph: RoadGraph, edge_id: int) -> str:
    edge = graph.edges[edge_id]
    return edge.name or CLASS_WORDS.get(edge.highway.removesuffix("_link"), edge.highway or "无名道路")


class Namer:
    """Names places and routes of one graph."""

    def __init__(self, graph: RoadGraph, network: RoadNetwork, where: Places) -> None:
        self.graph, self.network, self.where = graph, network, where

    def at(self, node: int) -> LonLat:
        n = self.graph.nodes[node]
        return (n.lon, n.lat)

    def place(self, point: LonLat, area: Guarded) -> str:
        """The county (or the outside of the city) a point is in, with its bearing and distance from the area."""
        here = Point(point)
        county = self.where.county_at(*point)
        if county is not None:
            name = self.where.counties[county].name
        elif self.where.city is not None and not self.where.city.geometry.covers(here):
            name = f"{self.where.city.name}外"
        else:
            name = "区域外"
        centre = self._centre_of(area)
        km = haversine_m(centre, point) / 1000
        return f"{name}（{area.name}以{compass(centre, point)} {km:.1f} 公里）"

    def _centre_of(self, area: Guarded) -> LonLat:
        lons = [self.graph.nodes[n].lon for n in area.target]
        lats = [self.graph.nodes[n].lat for n in area.target]
        return (sum(lons) / len(lons), sum(lats) / len(lats))

    def roads(self, arcs: Sequence[int]) -> str:
        """Consecutive arcs on the same road and heading merged: '无名道路（向东 3.2 公里）→ …'."""
        legs: list[list[Any]] = []
        for arc in arcs:
            tail, head = self.network.arc_ends(arc)
            words = road_words(self.graph, self.network.edge_of(arc))
            heading = compass(self.at(tail), self.at(head))
            metres = self.graph.edges[self.network.edge_of(arc)].length_m
            if legs and legs[-1][0] == words and legs[-1][1] == heading:
                legs[-1][2] += metres
            else:
                legs.append([words, heading, metres])
        return " → ".join(f"{w}（向{h} {m / 1000:.1f} 公里）" for w, h, m in legs)

    def describe(self, area: Guarded, route: RuleRoute) -> dict[str, Any]:
        first_tail = self.network.arc_ends(route.arcs[0])[0]
        last_head = self.network.arc_ends(route.arcs[-1])[1]
        roads = self.roads(route.arcs)
        if route.direction == "in":
            start = self.place(self.at(first_tail), area)
            text = f"自{start}经{roads}进入{area.name}"
        else:
            end = self.place(self.at(last_head), area)
            text = f"驶离{area.name}经{roads}至{end}"
        return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": self.coords(route.arcs)},
                "properties": {"area": area.code, "area_name": area.name, "direction": route.direction,
                               "captures": route.captures, "checkpoints": list(route.sites), "route": text,
                               "roads": roads, "crossing": list(self.at(self.network.arc_ends(route.arc)[1]))}}

    def coords(self, arcs: Sequence[int]) -> list[list[float]]:
        path: list[list[float]] = []
        for arc in arcs:
            edge = self.graph.edges[self.network.edge_of(arc)]
            coords = [list(c) for c in (edge.coords if arc & 1 == 0 else edge.coords[::-1])]
            path.extend(coords if not path else coords[1:])
        return path


def rule_json(namer: Namer, reading: Reading, areas: Sequence[Guarded], results: Sequence[GuardedResult],
              offline: Sequence[str] = (), seconds: float | None = None) -> dict[str, Any]:
    """The result under `reading`: the `reading` key, per area the least captures and holds, the named leaks."""
    by_code = {a.code: a for a in areas}
    return {
        "reading": reading.describe(),
        "holds": all(r.holds for r in results),
        "offline": sorted(offline),
        "seconds": seconds,
        "areas": [{"code": r.code, "name": r.name, "min_captures_in": r.min_captures_in,
                   "min_captures_out": r.min_captures_out, "routes": r.routes, "crossings": r.routes,
                   "leak_routes": len(r.leaks), "holds": r.holds} for r in results],
        "leaks": {"type": "FeatureCollection",
                  "features": [namer.describe(by_code[r.code], leak) for r in results for leak in r.leaks]},
    }
