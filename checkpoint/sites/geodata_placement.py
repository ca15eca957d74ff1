"""Place the 120 reference checkpoints on the road graph as the plan's two lines of defence.

Rule (also in geodata/SOURCES.md): for each district, list the roads that enter it across
three kinds of line, each road a *crossing*: the city line (group "city"), the ring of the
district's centre area ("ring") and the county line to a neighbouring district ("border").
A crossing gives a checkpoint 150 m inside the line, and a second one 1.2 km further in on
the same approach road (the straightest continuation at each junction, ≤ 60° turn). The
district's quota is filled pair by pair, taking the groups in turn (city, ring, border),
each group's crossings spread out by farthest-point order; if the pairs run out, third
checkpoints 2.4 km in follow. A point within 200 m of one already placed is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from checkpoint.sites.geodata_boundaries import DISTRICT_NAMES, Areas
from checkpoint.sites.geodata_crossings import Crossing, CrossingFinder, RoadPosition, nearest_area
from checkpoint.sites.roadgraph import LocalProjection, RoadGraph

QUOTAS: dict[str, int] = {"441302": 20, "441303": 20, "441322": 15, "441323": 15, "441324": 15,
                          "dayawan": 15, "zhongkai": 20}
INSET_M = 150.0
LINE_SPACING_M = 1200.0
MAX_DEPTH = 3  # first, second and third line
MIN_SPACING_M = 200.0
NEIGHBOUR_SEARCH_M = 2000.0
LANES_BY_CLASS: dict[str, int] = {"motorway": 6, "trunk": 6, "primary": 4, "secondary": 4, "tertiary": 2,
                                  "unclassified": 2, "residential": 2, "road": 4}
GROUPS = ("city", "ring", "border")
GROUP_TURNS = ("city", "ring", "city", "ring", "border")  # the lines coverage is checked on come first
LABELS: dict[str, tuple[str, str, str]] = {
    "city": ("城界卡口", "城界二线卡口", "城界三线卡口"),
    "ring": ("中心区环卡口", "中心区二线卡口", "中心区三线卡口"),
    "border": ("县界卡口", "县界二线卡口", "县界三线卡口"),
}
LINE_WORDS = {"city": "the city line", "ring": "the centre-area ring", "border": "the county line"}


@dataclass(frozen=True)
class Approach:
    """One crossing into a guarded area, with its checkpoint positions by depth (0 = at the line)."""

    group: str
    district: str
    guards: str
    origin: str  # where the road comes from: a neighbouring city or district, or "" for a ring
    crossing: Crossing
    positions: tuple[RoadPosition, ...]

    def guards_name(self) -> str:
        """The guarded area in words, for reasons."""
        if self.group == "city":
            return f"惠州 ({DISTRICT_NAMES[self.district]})"
        if self.group == "ring":
            return f"{DISTRICT_NAMES[self.district]}中心区"
        return DISTRICT_NAMES[self.district]


@dataclass(frozen=True)
class PlacedCheckpoint:
    """A chosen checkpoint: an approach and a depth on it."""

    code: str
    name: str
    approach: Approach
    depth: int

    @property
    def position(self) -> RoadPosition:
        return self.approach.positions[self.depth]

    def feature(self) -> dict[str, Any]:
        """The GeoJSON Feature written to checkpoints.geojson."""
        a, p = self.approach, self.position
        lon, lat = p.point
        return {"type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {
                    "code": self.code, "name": self.name, "district": a.district,
                    "district_name": DISTRICT_NAMES[a.district],
                    "road": p.edge.name or p.edge.highway, "edge_id": p.edge.id,
                    "directions": ["in", "out"], "bearing_in_deg": round(p.bearing_deg, 1),
                    "lanes": LANES_BY_CLASS.get(p.edge.highway, 2),
                    "defence_line": "city" if a.group == "city" else "county",
                    "retention_class": 2 if (a.group != "city" and self.depth > 0) else 1,
                    "guards": a.guards, "reason": self.reason()}}

    def reason(self) -> str:
        a = self.approach
        where = LINE_WORDS[a.group]
        origin = f" from {a.origin}" if a.origin else ""
        if self.depth == 0:
            return (f"road edge {a.crossing.edge.id} crosses {where}{origin} into {a.guards_name()}; "
                    f"{INSET_M:.0f} m inside")
        ordinal = "second" if self.depth == 1 else "third"
        km = (INSET_M + self.depth * LINE_SPACING_M) / 1000
        return f"{ordinal} line on the same approach road{origin}, {km:.2f} km inside {where}"


class Planner:
    """Finds every approach and fills each district's quota."""

    def __init__(self, graph: RoadGraph, areas: Areas) -> None:
        lon0, lat0 = areas.city.geometry.centroid.coords[0]
        self.projection = LocalProjection(round(lon0, 3), round(lat0, 3))
        self.finder = CrossingFinder(graph, self.projection)
        self.areas = areas
        self.city_m = self.finder.to_metres(areas.city.geometry)
        self.districts_m = {c: self.finder.to_metres(a.geometry) for c, a in areas.districts.items()}
        self.centres_m = {c: self.finder.to_metres(a.geometry) for c, a in areas.centres.items()}
        self.neighbours_m = {a.name: self.finder.to_metres(a.geometry) for a in areas.neighbours.values()}

    def _positions(self, crossing: Crossing, district: str, inside: BaseGeometry) -> tuple[RoadPosition, ...]:
        positions = [crossing.checkpoint]
        while len(positions) < MAX_DEPTH:
            nxt = self.finder.walk(positions[-1], LINE_SPACING_M)
            if nxt is None:
                break
            p = Point(self.projection.to_xy(*nxt.point))
            if not inside.contains(p) or nearest_area(nxt.point, self.districts_m, self.projection) != district:
                break
            positions.append(nxt)
        return tuple(positions)

    def _origin_city(self, crossing: Crossing) -> str | None:
        """The neighbouring city an outside road comes from; None for the sea (coastline artefacts)."""
        outside = self.finder.graph.nodes[crossing.outside_node]
        cross = Point(self.projection.to_xy(*crossing.crossing_point))
        far = Point(self.projection.to_xy(outside.lon, outside.lat))
        probe = cross.interpolate(0) if cross.equals(far) else _towards(cross, far, 300.0)
        name, dist = min(((n, g.distance(probe)) for n, g in sorted(self.neighbours_m.items())), key=lambda t: t[1])
        return name if dist <= NEIGHBOUR_SEARCH_M else None

    def approaches(self) -> list[Approach]:
        """Every approach of every group, in a deterministic order."""
        found: list[Approach] = []
        for crossing in self.finder.crossings(self.city_m, INSET_M):
            origin = self._origin_city(crossing)
            if origin is None:
                continue
            district = nearest_area(crossing.checkpoint.point, self.districts_m, self.projection)
            found.append(Approach("city", district, self.areas.city.code, origin, crossing,
                                  self._positions(crossing, district, self.city_m)))
        for code, centre in sorted(self.centres_m.items()):
            for crossing in self.finder.crossings(centre, INSET_M):
                found.append(Approach("ring", code, f"{code}-centre", "", crossing,
                                      self._positions(crossing, code, self.districts_m[code])))
        city_line = self.city_m.boundary
        for code, district in sorted(self.districts_m.items()):
            for crossing in self.finder.crossings(district, INSET_M, city_line, 500.0):
                origin_node = self.finder.graph.nodes[crossing.outside_node]
                origin = nearest_area((origin_node.lon, origin_node.lat), self.districts_m, self.projection)
                found.append(Approach("border", code, code, DISTRICT_NAMES[origin], crossing,
                                      self._positions(crossing, code, district)))
        return found

    def place(self) -> list[PlacedCheckpoint]:
        """Fill every district's quota; raises if a district cannot be filled."""
        approaches = self.approaches()
        taken: list[Point] = []
        placed: list[PlacedCheckpoint] = []
        for district in sorted(QUOTAS):
            chosen = self._fill(district, [a for a in approaches if a.district == district], taken)
            counters: dict[str, int] = {}
            for number, (approach, depth) in enumerate(chosen, start=1):
                label = LABELS[approach.group][depth]
                counters[label] = counters.get(label, 0) + 1
                origin = f"{approach.origin}方向 " if approach.origin else ""
                name = f"{DISTRICT_NAMES[district]} {origin}{label} {counters[label]}"
                placed.append(PlacedCheckpoint(f"HZ-{district}-{number:02d}", name, approach, depth))
        return placed

    def _fill(self, district: str, approaches: list[Approach], taken: list[Point]) -> list[tuple[Approach, int]]:
        quota = QUOTAS[district]
        queues = {g: self._spread([a for a in approaches if a.group == g]) for g in GROUPS}
        chosen: list[tuple[Approach, int]] = []
        paired: list[Approach] = []

        def take(approach: Approach, depth: int) -> None:
            if depth < len(approach.positions) and len(chosen) < quota \
                    and self._free(approach.positions[depth], taken):
                taken.append(Point(self.projection.to_xy(*approach.positions[depth].point)))
                chosen.append((approach, depth))

        while len(chosen) < quota and any(queues.values()):
            for group in GROUP_TURNS:
                while queues[group] and not self._free(queues[group][0].positions[0], taken):
                    queues[group].pop(0)  # a road already guarded nearby: skip its whole pair
                if queues[group] and len(chosen) < quota:
                    approach = queues[group].pop(0)
                    paired.append(approach)
                    take(approach, 0)
                    take(approach, 1)
        for approach in paired:  # pairs ran out: third line on the same roads, in the same order
            take(approach, 2)
        if len(chosen) < quota:
            raise RuntimeError(f"district {district}: only {len(chosen)} checkpoint sites for a quota of {quota}")
        return chosen

    def _free(self, position: RoadPosition, taken: list[Point]) -> bool:
        p = Point(self.projection.to_xy(*position.point))
        return all(p.distance(t) >= MIN_SPACING_M for t in taken)

    def _spread(self, approaches: list[Approach]) -> list[Approach]:
        """Farthest-point order, from the first crossing by edge id: a truncated list stays spread out."""
        remaining = sorted(approaches, key=lambda a: (a.crossing.edge.id, a.guards))
        if not remaining:
            return []
        points = {id(a): Point(self.projection.to_xy(*a.crossing.crossing_point)) for a in remaining}
        order = [remaining.pop(0)]
        while remaining:
            best = max(remaining, key=lambda a: min(points[id(a)].distance(points[id(o)]) for o in order))
            remaining.remove(best)
            order.append(best)
        return order


def _towards(a: Point, b: Point, distance_m: float) -> Point:
    """The point `distance_m` from a towards b (or b itself if nearer)."""
    d = a.distance(b)
    if d <= distance_m:
        return b
    f = distance_m / d
    return Point(a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f)


def placement_summary(placed: list[PlacedCheckpoint]) -> dict[str, int]:
    """Checkpoint count per district."""
    counts: dict[str, int] = {}
    for cp in placed:
        counts[cp.approach.district] = counts.get(cp.approach.district, 0) + 1
    return counts

