"""The rule under a reading, on the pure road network: the least captures of any route into or out of a centre.

A guarded area has a target (the junctions of its centre), a region (the junctions inside the line
vehicles come from beyond: the county or the city under "two lines", the centre itself under
"strict") and the tags of the checkpoints that count for it. A route in starts anywhere outside the
region and ends at its first junction of the target. Its last step across the region's line is an
arc a = (u ∉ R, v ∈ R), after which it stays inside R, so the least captures of a route in is
min over such arcs of w(a) + d(v), where d(v) is the least weight from v to the target inside R
(one reverse search from the target). Each crossing arc that leads to the target is one *route* of
the area: it holds when its least captures reach 2. Routes out are the mirror image.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from checkpoint.coverage.analysis import way_along
from checkpoint.coverage.model import REQUIRED_CAPTURES, Direction, RoadNetwork
from checkpoint.sites.routing import Step, dijkstra

ANY = "*"  # in an area's `counts`: every checkpoint counts


@dataclass(frozen=True)
class Site:
    """A checkpoint on a road edge, with the tags saying for whom it counts (its county, the city, its ring)."""

    code: str
    edge_id: int
    forward: bool = True  # films traffic source -> target
    backward: bool = True
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Guarded:
    """A protected area under a reading."""

    code: str
    name: str
    target: frozenset[int]
    region: frozenset[int]
    counts: frozenset[str]


@dataclass(frozen=True)
class RuleRoute:
    """One route of an area: its crossing of the region's line and its least-captured way to or from the target."""

    area: str
    direction: Direction
    arc: int
    captures: int
    arcs: tuple[int, ...]  # in travel order: the crossing arc then the way in, or the way out then the crossing
    sites: tuple[str, ...]  # the counting checkpoints on that way


@dataclass(frozen=True)
class GuardedResult:
    code: str
    name: str
    min_captures_in: int | None  # None: no road leads in
    min_captures_out: int | None
    routes: int
    leaks: tuple[RuleRoute, ...]

    @property
    def holds(self) -> bool:
        return all(m is None or m >= REQUIRED_CAPTURES for m in (self.min_captures_in, self.min_captures_out))


def counts_for(site: Site, area: Guarded) -> bool:
    return ANY in area.counts or not site.tags.isdisjoint(area.counts)


def site_arcs(network: RoadNetwork, site: Site) -> list[int]:
    """The arcs a checkpoint films (none if its road is not in this network, e.g. below the road class)."""
    index = network.edge_index.get(site.edge_id)
    if index is None:
        return []
    arcs = [2 * index] if site.forward else []
    if site.backward and not network.oneways[index]:
        arcs.append(2 * index + 1)
    return arcs


def arc_weights(network: RoadNetwork, sites: Iterable[Site], area: Guarded) -> dict[int, list[str]]:
    """Arc -> codes of the checkpoints counting for `area` that film it."""
    weights: dict[int, list[str]] = {}
    for site in sites:
        if counts_for(site, area):
            for arc in site_arcs(network, site):
                weights.setdefault(arc, []).append(site.code)
    return weights


@dataclass(frozen=True)
class AreaArcs:
    """The arcs of one area: inside its region, crossing in, crossing out."""

    inner: list[int]
    entering: list[int]
    leaving: list[int]


def area_arcs(network: RoadNetwork, area: Guarded) -> AreaArcs:
    mask = network.inside_mask(area.region)
    source_in, target_in = mask[network.source_idx], mask[network.target_idx]
    inner: list[int] = []
    entering: list[int] = []
    leaving: list[int] = []
    for index in np.nonzero(source_in | target_in)[0].tolist():
        s_in, t_in = bool(source_in[index]), bool(target_in[index])
        arcs = [2 * index] if network.oneways[index] else [2 * index, 2 * index + 1]
        for arc in arcs:
            tail_in, head_in = (s_in, t_in) if arc & 1 == 0 else (t_in, s_in)
            (inner if tail_in and head_in else entering if head_in else leaving).append(arc)
    return AreaArcs(inner, entering, leaving)


TIE = 1e-9  # per metre: among ways with the least captures, the shortest is the one shown


def inside_search(network: RoadNetwork, area: Guarded, arcs: Sequence[int], cost: dict[int, int],
                  reverse: bool, length_m: Mapping[int, float] | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Least captures inside the region to the target (`reverse`) or from it: distances and the arc taken."""
    by_node: dict[int, list[tuple[int, int]]] = {}
    for arc in arcs:
        tail, head = network.arc_ends(arc)
        by_node.setdefault(head if reverse else tail, []).append((tail if reverse else head, arc))

    def steps(node: int) -> Iterator[Step]:
        for other, arc in by_node.get(node, ()):
            yield other, arc, cost.get(arc, 0) + (TIE * length_m.get(network.edge_of(arc), 0.0) if length_m else 0.0)

    dist: dict[int, int] = {}
    via: dict[int, int] = {}
    for node, captures, reached in dijkstra(((node, 0) for node in sorted(area.target)), steps):
        dist[node] = int(captures + 0.5)
        if reached is not None:
            via[node] = reached[1]
    return dist, via


def area_routes(network: RoadNetwork, area: Guarded, sites: Sequence[Site],
                length_m: Mapping[int, float] | None = None) -> list[RuleRoute]:
    """Every route of the area (one per crossing arc that leads to or from the target), least captures each."""
    weights = arc_weights(network, sites, area)
    cost = {arc: len(codes) for arc, codes in weights.items()}
    arcs = area_arcs(network, area)
    to_target, toward = inside_search(network, area, arcs.inner, cost, True, length_m)
    from_target, back = inside_search(network, area, arcs.inner, cost, False, length_m)
    routes: list[RuleRoute] = []

    def route(direction: Direction, arc: int, way: list[int], captures: int) -> RuleRoute:
        codes = sorted({code for a in way for code in weights.get(a, ())})
        return RuleRoute(area.code, direction, arc, captures, tuple(way), tuple(codes))

    for arc in arcs.entering:
        head = network.arc_ends(arc)[1]
        if head in to_target:
            way = [arc, *way_along(network, toward, head, True)]
            routes.append(route("in", arc, way, cost.get(arc, 0) + to_target[head]))
    for arc in arcs.leaving:
        tail = network.arc_ends(arc)[0]
        if tail in from_target:
            routes.append(route("out", arc, [*way_along(network, back, tail, False), arc],
                                from_target[tail] + cost.get(arc, 0)))
    return routes


def evaluate_area(network: RoadNetwork, area: Guarded, sites: Sequence[Site], required: int = REQUIRED_CAPTURES,
                  length_m: Mapping[int, float] | None = None) -> GuardedResult:
    routes = area_routes(network, area, sites, length_m)
    least: dict[Direction, int | None] = {"in": None, "out": None}
    for r in routes:
        current = least[r.direction]
        least[r.direction] = r.captures if current is None else min(current, r.captures)
    leaks = sorted((r for r in routes if r.captures < required), key=lambda r: (r.captures, r.direction, r.arc))
    return GuardedResult(area.code, area.name, least["in"], least["out"], len(routes), tuple(leaks))


def evaluate(network: RoadNetwork, areas: Sequence[Guarded], sites: Sequence[Site], required: int = REQUIRED_CAPTURES,
             length_m: Mapping[int, float] | None = None) -> list[GuardedResult]:
    return [evaluate_area(network, area, sites, required, length_m) for area in areas]
