"""Placement: the fewest new checkpoints (on road edges) that bring every area to ≥ 2 captures each way.

Method: greedy over cuts. While some crossing route has fewer than 2 captures, put a two-way
checkpoint on the edge that lies on the most deficient best routes, and analyse again. Each
deficient route r needs at least `required - captures(r)` new checkpoints on its current best
path, so any set of edge-disjoint deficient routes gives a lower bound (the sum of their
deficits); the gap is greedy minus that bound. Without a core every route is its own crossing
edge, the routes over distinct edges are disjoint, and the greedy is exact (gap 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from checkpoint.coverage.analysis import CrossingRoute, crossing_routes, ring_of
from checkpoint.coverage.model import REQUIRED_CAPTURES, ProtectedArea, RingCheckpoint, RoadNetwork

METHOD = "greedy over cuts (most deficient best routes per edge), lower bound from edge-disjoint deficient routes"


@dataclass(frozen=True)
class NewCheckpoint:
    code: str
    area: str
    edge_id: int


@dataclass(frozen=True)
class AreaPlacement:
    area: str
    added: tuple[NewCheckpoint, ...]
    lower_bound: int
    reached: bool  # False if the iteration cap stopped the greedy (a core with no way to reach 2)

    @property
    def gap(self) -> int:
        return len(self.added) - self.lower_bound


@dataclass(frozen=True)
class PlacementPlan:
    method: str
    areas: tuple[AreaPlacement, ...]

    @property
    def added(self) -> int:
        return sum(len(a.added) for a in self.areas)

    @property
    def lower_bound(self) -> int:
        return sum(a.lower_bound for a in self.areas)


def _deficient(routes: Sequence[CrossingRoute], required: int) -> list[CrossingRoute]:
    return [r for r in routes if r.captures < required]


def _edges_of(network: RoadNetwork, route: CrossingRoute) -> frozenset[int]:
    return frozenset(network.edge_of(arc) for arc in route.arcs)


def lower_bound(network: RoadNetwork, routes: Sequence[CrossingRoute], required: int) -> int:
    """Sum of deficits over a set of edge-disjoint deficient routes (largest deficits first)."""
    used: set[int] = set()
    bound = 0
    for route in sorted(_deficient(routes, required), key=lambda r: (r.captures, len(r.arcs))):
        edges = _edges_of(network, route)
        if used.isdisjoint(edges):
            used |= edges
            bound += required - route.captures
    return bound


def place_area(network: RoadNetwork, area: ProtectedArea, checkpoints: Sequence[RingCheckpoint],
               offline: frozenset[str] = frozenset(), required: int = REQUIRED_CAPTURES) -> AreaPlacement:
    ring = ring_of(network, area.code, checkpoints, offline)
    routes = crossing_routes(network, area, ring)
    bound = lower_bound(network, routes, required)
    added: list[NewCheckpoint] = []
    cap = 4 * required * max(1, len(routes))
    while (deficient := _deficient(routes, required)) and len(added) < cap:
        if area.core is None:  # each route is its edge: add every missing capture at once
            need: dict[int, int] = {}
            for route in deficient:
                edge_id = network.edge_of(route.arc)
                need[edge_id] = max(need.get(edge_id, 0), required - route.captures)
            picks = [edge_id for edge_id in sorted(need) for _ in range(need[edge_id])]
        else:
            votes = Counter(edge for route in deficient for edge in _edges_of(network, route))
            picks = [min(votes, key=lambda edge: (-votes[edge], edge))]
        for edge_id in picks:
            new = NewCheckpoint(code=f"NEW-{area.code}-{len(added) + 1:03d}", area=area.code, edge_id=edge_id)
            added.append(new)
            index = network.edge_index[edge_id]
            for arc in (2 * index, 2 * index + 1):
                if network.arc_exists(arc):
                    ring.setdefault(arc, []).append(new.code)
        routes = crossing_routes(network, area, ring)
    return AreaPlacement(area=area.code, added=tuple(added), lower_bound=bound,
                         reached=not _deficient(routes, required))


def place(network: RoadNetwork, areas: Sequence[ProtectedArea], checkpoints: Sequence[RingCheckpoint],
          offline: frozenset[str] = frozenset(), required: int = REQUIRED_CAPTURES) -> PlacementPlan:
    """New checkpoint positions for every area; the result names its method and bound."""
    return PlacementPlan(method=METHOD, areas=tuple(place_area(network, a, checkpoints, offline, required)
                                                     for a in areas))


def as_checkpoints(plan: PlacementPlan) -> list[RingCheckpoint]:
    """The proposed checkpoints as two-way ring checkpoints, to analyse the placement with."""
    return [RingCheckpoint(code=n.code, area=n.area, edge_id=n.edge_id, forward=True, backward=True)
            for area in plan.areas for n in area.added]
