"""The planner's questions under a reading: does the rule hold, and where should the quota's checkpoints stand?

Used by `checkpoint coverage check/place`, the API and the console. The optimum is re-drawn as
checkpoints: positions spread along the part of the edge inside its county, bearing toward the
end nearer the county's centre, names from the county, the road and the direction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import LineString, Point

from checkpoint.coverage.build import AreaShape, SiteCheckpoint, _bearing_deg, snapped_edge
from checkpoint.coverage.model import RoadNetwork
from checkpoint.coverage.optimum import Mode, Optimum, optimise
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.rule import Guarded, Site, evaluate
from checkpoint.coverage.rule_build import (
    Places,
    candidates,
    guarded_areas,
    places,
    ring,
    rule_network,
    sites_of,
)
from checkpoint.coverage.rule_report import Namer, compass, road_words, rule_json
from checkpoint.sites.roadgraph import LonLat, RoadGraph, haversine_m

PLAN_QUOTAS: dict[str, int] = {"441302": 20, "441303": 20, "441322": 15, "441323": 15, "441324": 15,
                               "dayawan": 15, "zhongkai": 20}  # 惠城 惠阳 博罗 惠东 龙门 大亚湾 仲恺


@dataclass
class RuleSetup:
    graph: RoadGraph
    network: RoadNetwork
    where: Places
    reading: Reading
    areas: list[Guarded]
    checkpoints: list[SiteCheckpoint]
    sites: list[Site]
    offline: frozenset[str]

    @property
    def namer(self) -> Namer:
        return Namer(self.graph, self.network, self.where)


def setup(graph: RoadGraph, shapes: Sequence[AreaShape], checkpoints: Sequence[SiteCheckpoint], reading: Reading,
          offline: frozenset[str] = frozenset()) -> RuleSetup:
    where = places(shapes)
    network = rule_network(graph, reading)
    return RuleSetup(graph, network, where, reading, guarded_areas(graph, network, where, reading), list(checkpoints),
                     sites_of(graph, where, checkpoints, offline), offline)


def check(s: RuleSetup, sites: Sequence[Site] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    lengths = {e.id: e.length_m for e in s.graph.edges.values()}
    results = evaluate(s.network, s.areas, s.sites if sites is None else sites, length_m=lengths)
    return rule_json(s.namer, s.reading, s.areas, results, sorted(s.offline),
                     seconds=round(time.perf_counter() - started, 4))


def solve(s: RuleSetup, quotas: Mapping[str, int] | None, keep: Sequence[str] = (),
          forbid: frozenset[int] = frozenset(), mode: Mode = "budget", time_limit_s: float = 60.0,
          gap: float = 0.0) -> Optimum:
    kept = [site for site in s.sites if site.code in set(keep)]
    return optimise(s.network, s.areas, kept, candidates(s.graph, s.network, s.where, forbid), quotas, mode,
                    time_limit_s, gap)


def fill_spare(s: RuleSetup, optimum: Optimum, quotas: Mapping[str, int]) -> dict[tuple[int, str], int]:
    """Counts with each county's unused quota spent where the optimum's routes run most (a greedy second
    layer against a checkpoint going offline; the optimum itself is unchanged and stays proven)."""
    from checkpoint.coverage.rule import area_routes

    cands = {(c.edge_id, c.owner): c for c in candidates(s.graph, s.network, s.where)}
    counts = dict(optimum.counts)
    placed = [Site(f"o:{key}:{k}", key[0], tags=cands[key].tags) for key, n in counts.items() for k in range(n)]
    use: dict[int, int] = {}
    for area in s.areas:
        for route in area_routes(s.network, area, placed):
            for arc in route.arcs:
                use[s.network.edge_of(arc)] = use.get(s.network.edge_of(arc), 0) + 1
    for county, quota in sorted(quotas.items()):
        spare = quota - sum(n for (_e, owner), n in counts.items() if owner == county)
        ranked = sorted((key for key, c in cands.items() if c.owner == county and counts.get(key, 0) < c.capacity),
                        key=lambda key: (-use.get(key[0], 0), key[0]))
        for key in ranked[:max(0, spare)]:
            counts[key] = counts.get(key, 0) + 1
    return counts


def _inside_part(s: RuleSetup, edge_id: int, county: str) -> LineString:
    line = LineString(s.graph.edges[edge_id].coords)
    part = line.intersection(s.where.counties[county].geometry) if county in s.where.counties else line
    if part.is_empty or part.geom_type != "LineString":
        pieces = [g for g in getattr(part, "geoms", []) if g.geom_type == "LineString"]
        return max(pieces, key=lambda g: g.length) if pieces else line
    return part


def new_checkpoints(s: RuleSetup, optimum: Optimum, kept: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The optimum as checkpoint features (the kept ones as they were), numbered per county."""
    features: list[dict[str, Any]] = [c for c in _kept_features(s, kept)]
    numbers: dict[str, int] = {}
    centre_of = {county: code for code, county in s.where.county_of_centre.items()}
    for edge_id, county in sorted(optimum.counts):
        edge = s.graph.edges[edge_id]
        part = _inside_part(s, edge_id, county)
        centre_code = centre_of.get(county, county)
        centre = s.where.centres[centre_code].geometry.centroid if centre_code in s.where.centres else None
        forward = centre is None or (LineString(edge.coords).project(centre, normalized=True) >= 0.5)
        count = optimum.counts[(edge_id, county)]
        for k in range(count):
            point = part.interpolate((k + 1) / (count + 1), normalized=True)
            ahead = part.interpolate(min(1.0, (k + 1) / (count + 1) + 0.01), normalized=True)
            behind = part.interpolate(max(0.0, (k + 1) / (count + 1) - 0.01), normalized=True)
            a, b = ((behind.x, behind.y), (ahead.x, ahead.y)) if forward else ((ahead.x, ahead.y), (behind.x, behind.y))
            numbers[county] = numbers.get(county, 0) + 1
            while f"HZ-{county}-{numbers[county]:02d}" in set(kept):  # a kept checkpoint keeps its code
                numbers[county] += 1
            features.append(_feature(s, county, centre_code, numbers[county], edge_id, (point.x, point.y), a, b))
    return features


def _feature(s: RuleSetup, county: str, centre_code: str, number: int, edge_id: int, point: LonLat,
             a: LonLat, b: LonLat) -> dict[str, Any]:
    edge = s.graph.edges[edge_id]
    county_name = s.where.counties[county].name if county in s.where.counties else county
    centre = s.where.centres.get(centre_code)
    c = centre.geometry.centroid if centre is not None else None
    side = compass((c.x, c.y), point) if c is not None else ""
    km = haversine_m((c.x, c.y), point) / 1000 if c is not None else 0.0
    heading = compass(a, b)
    source, target = s.graph.nodes[edge.source], s.graph.nodes[edge.target]
    city = s.where.city.geometry if s.where.city is not None else None
    crosses_city = city is not None and city.covers(Point(source.lon, source.lat)) != city.covers(
        Point(target.lon, target.lat))
    crosses_county = s.where.county_at(source.lon, source.lat) != s.where.county_at(target.lon, target.lat)
    road = road_words(s.graph, edge_id)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(point[0], 6), round(point[1], 6)]},
            "properties": {
                "code": f"HZ-{county}-{number:02d}",
                "name": f"{county_name} 中心区{side}{km:.1f}公里 {road} 向{heading}卡口 {number}",
                "district": county, "district_name": county_name, "road": road, "edge_id": edge_id,
                "directions": ["in", "out"], "bearing_in_deg": round(_bearing_deg(a, b), 1), "lanes": 4,
                "defence_line": "city" if crosses_city else "county",
                "retention_class": 1 if crosses_city or crosses_county else 2, "guards": centre_code,
                "reason": (f"最优布点（{s.reading.counting}/{s.reading.origins} 口径，配额内）：{road}，"
                           f"{centre.name if centre else county_name}以{side} {km:.1f} 公里，进入方向朝{heading}")}}


def _kept_features(s: RuleSetup, kept: Sequence[str]) -> list[dict[str, Any]]:
    return [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
             "properties": {"code": c.code, "guards": c.guards, "edge_id": c.edge_id, "kept": True}}
            for c in s.checkpoints if c.code in set(kept)]


def as_sites(s: RuleSetup, features: Sequence[dict[str, Any]]) -> list[Site]:
    """Checkpoint features as sites (to check the optimum under the same rule)."""
    from checkpoint.coverage.rule_build import site_tags

    found = []
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        props = f["properties"]
        found.append(Site(props["code"], int(props["edge_id"]),
                          tags=site_tags(s.where, lon, lat, props.get("guards")) | {ring(str(props.get("guards")))}))
    return found


def changes(s: RuleSetup, features: Sequence[dict[str, Any]],
            keep: Sequence[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Against the current placement, per county: kept (asked to, or on the same edge), moved (paired nearest),
    added, removed."""
    old = [c for c in s.checkpoints if c.active and c.code not in set(keep)]
    old_edges = {c.code: snapped_edge(s.graph, c)[0] for c in old}
    new = [(f["properties"]["code"], int(f["properties"]["edge_id"]), tuple(f["geometry"]["coordinates"]),
            f["properties"].get("district", "")) for f in features]
    unused_old = {c.code: c for c in old}
    kept: list[dict[str, Any]] = [{"code": code, "now": code} for code in keep]
    added = []
    for code, edge_id, point, county in new:
        match = next((o for o in unused_old.values() if old_edges[o.code] == edge_id), None)
        if match is not None:
            kept.append({"code": match.code, "now": code})
            unused_old.pop(match.code)
        else:
            added.append({"code": code, "lon": point[0], "lat": point[1], "district": county})
    moved, still_added = [], []
    for item in added:
        same = [o for o in unused_old.values() if s.where.county_at(o.lon, o.lat) == item["district"]]
        if same:
            o = min(same, key=lambda o: haversine_m((o.lon, o.lat), (item["lon"], item["lat"])))
            unused_old.pop(o.code)
            moved.append({"from": o.code, "to": item["code"], "from_lonlat": [o.lon, o.lat],
                          "to_lonlat": [item["lon"], item["lat"]],
                          "metres": round(haversine_m((o.lon, o.lat), (item["lon"], item["lat"])))})
        else:
            still_added.append(item)
    removed = [{"code": o.code, "lon": o.lon, "lat": o.lat} for o in unused_old.values()]
    return {"kept": kept, "moved": moved, "added": still_added, "removed": removed}
