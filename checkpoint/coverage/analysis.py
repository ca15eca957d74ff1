"""Static coverage analysis: the least captures on any route across each area's boundary, and its leaks.

For an area with junctions I inside and destinations C ⊆ I (the core; all of I by default), every
route from outside into C has a last entering arc a = (u ∉ I, v ∈ I) after which it stays inside,
so the least weight of a route in is min over entering arcs of w(a) + d(v), where w counts the
ring's checkpoints facing that arc and d(v) is the least weight from v to C inside the area
(reverse Dijkstra from C). Routes out are the mirror image. With C = I, d is 0 and the crossings
are found with one vectorised pass over the edges: O(E) per area; with a core, O(E_A log V_A)
where E_A are the arcs touching the area. Each crossing arc is one candidate leak route.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from checkpoint.coverage.model import (
    REQUIRED_CAPTURES,
    AreaCoverage,
    CoverageReport,
    Criticality,
    Direction,
    LeakRoute,
    ProtectedArea,
    RingCheckpoint,
    RoadNetwork,
)
from checkpoint.sites.routing import Step, dijkstra

Ring = dict[int, list[str]]  # arc -> codes of the ring checkpoints capturing it


@dataclass(frozen=True)
class CrossingRoute:
    """A candidate route: its crossing arc, its least captures and the arcs of that best route."""

    direction: Direction
    arc: int
    captures: int
    arcs: tuple[int, ...]
    passing: bool = False


def ring_of(network: RoadNetwork, area: str, checkpoints: Iterable[RingCheckpoint],
            offline: frozenset[str] = frozenset()) -> Ring:
    """The arcs captured by the area's online checkpoints."""
    ring: Ring = {}
    for checkpoint in checkpoints:
        if checkpoint.area == area and checkpoint.code not in offline:
            for arc in network.arcs_of(checkpoint):
                ring.setdefault(arc, []).append(checkpoint.code)
    return ring


def crossing_routes(network: RoadNetwork, area: ProtectedArea, ring: Ring) -> list[CrossingRoute]:
    """Every crossing arc of the area, each with the least captures of a route through it."""
    mask = network.inside_mask(area.inside)
    source_in = mask[network.source_idx]
    crossing = np.nonzero(source_in != mask[network.target_idx])[0]
    entering: list[int] = []
    leaving: list[int] = []
    for index, starts_inside in zip(crossing.tolist(), source_in[crossing].tolist(), strict=True):
        forward, backward = 2 * index, 2 * index + 1
        (leaving if starts_inside else entering).append(forward)
        if not network.oneways[index]:
            (entering if starts_inside else leaving).append(backward)
    if area.core is None:
        routes = [CrossingRoute("in", arc, len(ring.get(arc, ())), (arc,)) for arc in entering]
        routes += [CrossingRoute("out", arc, len(ring.get(arc, ())), (arc,)) for arc in leaving]
        for edge_id in sorted(area.passing):
            position = network.edge_index.get(edge_id)
            arcs = [] if position is None else [a for a in (2 * position, 2 * position + 1) if network.arc_exists(a)]
            for arc in arcs:
                for direction in ("in", "out"):
                    routes.append(CrossingRoute(direction, arc, len(ring.get(arc, ())), (arc,), passing=True))
        return routes
    return _routes_to_core(network, area, ring, entering, leaving)


def _routes_to_core(network: RoadNetwork, area: ProtectedArea, ring: Ring, entering: list[int],
                    leaving: list[int]) -> list[CrossingRoute]:
    assert area.core is not None
    to_core, toward = _inside_search(network, area.inside, area.core, ring, reverse=True)
    from_core, back = _inside_search(network, area.inside, area.core, ring, reverse=False)
    routes: list[CrossingRoute] = []
    for arc in entering:
        head = network.arc_ends(arc)[1]
        if head in to_core:
            routes.append(CrossingRoute("in", arc, len(ring.get(arc, ())) + to_core[head],
                                        (arc, *way_along(network, toward, head, forward=True))))
    for arc in leaving:
        tail = network.arc_ends(arc)[0]
        if tail in from_core:
            inner = way_along(network, back, tail, forward=False)
            routes.append(CrossingRoute("out", arc, from_core[tail] + len(ring.get(arc, ())), (*inner, arc)))
    return routes


def _inside_search(network: RoadNetwork, inside: frozenset[int], core: frozenset[int], ring: Ring,
                   reverse: bool) -> tuple[dict[int, int], dict[int, int]]:
    """Least captures inside the area from the core (over reversed arcs if `reverse`): distances, arcs used."""
    leaving, arriving = network.adjacency()
    by_node = arriving if reverse else leaving
    end = 0 if reverse else 1

    def steps(node: int) -> Iterator[Step]:
        for arc in by_node.get(node, ()):
            other = network.arc_ends(arc)[end]
            if other in inside:
                yield other, arc, len(ring.get(arc, ()))

    dist: dict[int, int] = {}
    via: dict[int, int] = {}
    for node, captures, reached in dijkstra(((node, 0) for node in core), steps):
        dist[node] = int(captures)
        if reached is not None:
            via[node] = reached[1]
    return dist, via


def way_along(network: RoadNetwork, via: dict[int, int], node: int, forward: bool) -> list[int]:
    """Arcs from `node` to the core (forward) or from the core to `node`, following the search's choices."""
    arcs: list[int] = []
    while node in via:
        arc = via[node]
        arcs.append(arc)
        tail, head = network.arc_ends(arc)
        node = head if forward else tail
    return arcs if forward else arcs[::-1]


def analyze_area(network: RoadNetwork, area: ProtectedArea, ring: Ring,
                 required: int = REQUIRED_CAPTURES) -> AreaCoverage:
    """One area's minimum captures each way and every crossing route with fewer than `required`."""
    routes = crossing_routes(network, area, ring)
    return _summarise(network, area, ring, routes, required)


def _summarise(network: RoadNetwork, area: ProtectedArea, ring: Ring, routes: Sequence[CrossingRoute],
               required: int) -> AreaCoverage:
    least: dict[Direction, int | None] = {"in": None, "out": None}
    leaks: list[LeakRoute] = []
    for route in routes:
        current = least[route.direction]
        least[route.direction] = route.captures if current is None else min(current, route.captures)
        if route.captures < required:
            tail, head = network.arc_ends(route.arc)
            codes = sorted({code for arc in route.arcs for code in ring.get(arc, ())})
            leaks.append(LeakRoute(area=area.code, direction=route.direction, edge_id=network.edge_of(route.arc),
                                   tail=tail, head=head, captures=route.captures, checkpoints=tuple(codes),
                                   path=tuple(network.edge_of(arc) for arc in route.arcs), passing=route.passing))
    leaks.sort(key=lambda leak: (leak.captures, leak.direction, leak.edge_id, leak.tail))
    return AreaCoverage(code=area.code, name=area.name, min_captures_in=least["in"],
                        min_captures_out=least["out"], crossings=len(routes), leak_routes=tuple(leaks))


def criticality(network: RoadNetwork, area: ProtectedArea, checkpoints: Sequence[RingCheckpoint],
                offline: frozenset[str] = frozenset(), required: int = REQUIRED_CAPTURES) -> list[Criticality]:
    """For each online checkpoint of the area's ring: the crossings that fall below `required` without it.

    Without a core each route is its crossing arc, so losing a checkpoint lowers exactly the routes
    over its arcs by one: O(1) per checkpoint after one analysis. With a core the area is re-analysed.
    """
    ring = ring_of(network, area.code, checkpoints, offline)
    routes = crossing_routes(network, area, ring)
    base = _summarise(network, area, ring, routes, required)
    by_arc: dict[int, list[CrossingRoute]] = {}
    for route in routes:
        by_arc.setdefault(route.arc, []).append(route)
    result = []
    for checkpoint in checkpoints:
        if checkpoint.area != area.code or checkpoint.code in offline:
            continue
        if area.core is None:
            touched = [r for arc in network.arcs_of(checkpoint) for r in by_arc.get(arc, ())]
            after = {d: _least([base_min, *(r.captures - 1 for r in touched if r.direction == d)])
                     for d, base_min in (("in", base.min_captures_in), ("out", base.min_captures_out))}
            new_leaks = sum(1 for r in touched if r.captures == required)
        else:
            without = ring_of(network, area.code, checkpoints, offline | {checkpoint.code})
            changed = analyze_area(network, area, without, required)
            after = {"in": changed.min_captures_in, "out": changed.min_captures_out}
            new_leaks = len(changed.leak_routes) - len(base.leak_routes)
        result.append(Criticality(code=checkpoint.code, area=area.code, new_leaks=new_leaks,
                                  min_captures_in_after=after["in"], min_captures_out_after=after["out"]))
    return result


def _least(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def analyze(network: RoadNetwork, areas: Sequence[ProtectedArea], checkpoints: Sequence[RingCheckpoint],
            offline: Iterable[str] = (), required: int = REQUIRED_CAPTURES,
            with_criticality: bool = True) -> CoverageReport:
    """The whole report: every area's result and, optionally, every checkpoint's criticality."""
    down = frozenset(offline)
    results = tuple(analyze_area(network, area, ring_of(network, area.code, checkpoints, down), required)
                    for area in areas)
    critical: list[Criticality] = []
    if with_criticality:
        for area in areas:
            critical.extend(criticality(network, area, checkpoints, down, required))
    return CoverageReport(areas=results, criticality=tuple(critical), offline=down)
