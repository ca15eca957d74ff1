"""The one routing service over the road graph: loaded once per database, searched by length or time.

Trajectory legs, alert prediction (next checkpoints, arrival times) and coverage all search roads
through `dijkstra` here, and read the graph through `road_router`, which re-reads the `road_edge`
rows only when their fingerprint changes (an import replaces them). Travel time on an edge is its
length at the speed of its road class (`SPEED_KMH`).
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from checkpoint.sites.models import RoadEdge as RoadEdgeRow
from checkpoint.sites.roadgraph import RoadEdge, RoadGraph

SPEED_KMH = {"motorway": 90.0, "trunk": 70.0, "primary": 50.0, "secondary": 40.0}
DEFAULT_SPEED_KMH = 30.0
RECHECK_S = 10.0  # how long a loaded graph is trusted before the road rows are fingerprinted again

Step = tuple[int, int, float]  # (next node, the edge or arc taken, its cost)
Via = tuple[int, int]  # (previous node, the edge or arc taken from it)
Settled = tuple[int, float, Via | None]  # (node, least cost, how it was reached; None at a start)
Cost = Literal["length", "time"]


def speed_kmh(highway: str) -> float:
    """Free-flow speed of a road class (`primary_link` drives as `primary`)."""
    return SPEED_KMH.get(highway.split("_")[0], DEFAULT_SPEED_KMH)


def travel_time_s(edge: RoadEdge) -> float:
    """Seconds to drive an edge at its road class's speed."""
    return edge.length_m / (speed_kmh(edge.highway) / 3.6)


def dijkstra(starts: Iterable[tuple[int, float]], steps: Callable[[int], Iterable[Step]]) -> Iterator[Settled]:
    """Settle nodes in order of least cost from any start (costs ≥ 0); lazy, so a caller may stop early.

    A node's `via` is the first step that reached it at its least cost; ties go to the smaller node id.
    """
    best: dict[int, float] = {}
    via: dict[int, Via] = {}
    heap: list[tuple[float, int]] = []
    for node, cost in starts:
        if cost < best.get(node, math.inf):
            best[node] = cost
            heapq.heappush(heap, (cost, node))
    settled: set[int] = set()
    while heap:
        cost, node = heapq.heappop(heap)
        if node in settled:
            continue
        settled.add(node)
        yield node, cost, via.get(node)
        for onward, step, step_cost in steps(node):
            if onward not in settled and (reached := cost + step_cost) < best.get(onward, math.inf):
                best[onward] = reached
                via[onward] = (node, step)
                heapq.heappush(heap, (reached, onward))


@dataclass(frozen=True)
class SearchTree:
    """Every reachable node's least cost and the step that reached it."""

    cost: dict[int, float]
    via: dict[int, Via | None]

    def steps_to(self, node: int) -> list[Via]:
        """The (node, step) pairs from a start to `node`, in driving order."""
        chain: list[Via] = []
        while (step := self.via[node]) is not None:
            chain.append(step)
            node = step[0]
        return chain[::-1]


def search_tree(settled: Iterable[Settled]) -> SearchTree:
    tree = SearchTree({}, {})
    for node, cost, via in settled:
        tree.cost[node] = cost
        tree.via[node] = via
    return tree


@dataclass(frozen=True)
class RoadPath:
    """A shortest path between two junctions: its cost, length, driving time and edges in order."""

    cost: float
    length_m: float
    time_s: float
    nodes: tuple[int, ...]
    edge_ids: tuple[int, ...]


@dataclass
class RoadRouter:
    """The road graph indexed for search: two-way edges are steps both ways, one-way only source → target."""

    graph: RoadGraph
    _steps: dict[Cost, dict[int, list[Step]]] = field(init=False, repr=False)
    _seconds: dict[int, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._steps = {"length": {node: [] for node in self.graph.nodes},
                       "time": {node: [] for node in self.graph.nodes}}
        by_length, by_time = self._steps["length"], self._steps["time"]
        self._seconds = {}
        for edge in self.graph.edges.values():
            seconds = self._seconds[edge.id] = travel_time_s(edge)
            by_length[edge.source].append((edge.target, edge.id, edge.length_m))
            by_time[edge.source].append((edge.target, edge.id, seconds))
            if not edge.oneway:
                by_length[edge.target].append((edge.source, edge.id, edge.length_m))
                by_time[edge.target].append((edge.source, edge.id, seconds))

    def steps(self, cost: Cost = "length") -> Callable[[int], list[Step]]:
        """The steps leaving a junction, costed in metres or seconds (for `dijkstra`)."""
        return self._steps[cost].__getitem__

    def travel_time_s(self, edge_id: int) -> float:
        """Seconds to drive an edge at its road class's speed."""
        return self._seconds[edge_id]

    def search(self, starts: Iterable[tuple[int, float]], cost: Cost = "length") -> Iterator[Settled]:
        """Junctions in order of least metres (or seconds) from the starts, each with how it was reached."""
        return dijkstra(starts, self.steps(cost))

    def tree(self, starts: Iterable[tuple[int, float]], cost: Cost = "length") -> SearchTree:
        return search_tree(self.search(starts, cost))

    def shortest_path(self, from_node: int, to_node: int, cost: Cost = "length") -> RoadPath | None:
        """The least-metres (or least-seconds) path between two junctions; None when none exists."""
        if from_node not in self.graph.nodes:
            return None
        tree = SearchTree({}, {})
        for node, least, via in self.search([(from_node, 0.0)], cost):
            tree.cost[node], tree.via[node] = least, via
            if node == to_node:
                chain = tree.steps_to(to_node)
                edges = [self.graph.edges[edge_id] for _node, edge_id in chain]
                return RoadPath(cost=least, length_m=sum(e.length_m for e in edges),
                                time_s=sum(travel_time_s(e) for e in edges),
                                nodes=(*(node for node, _edge in chain), to_node),
                                edge_ids=tuple(e.id for e in edges))
        return None


# --- the graph of a database, loaded once and reloaded when its road rows change ---------------

ROADS_SQL = text("SELECT id, source, target, highway, name, oneway, length_m, coords FROM road_edge ORDER BY id")


def load_road_graph(session: Session) -> RoadGraph:
    """The `road_edge` rows as a RoadGraph (in id order)."""
    graph = RoadGraph()
    for row in session.execute(ROADS_SQL):
        graph.add_edge(RoadEdge(id=row.id, source=row.source, target=row.target,
                                coords=tuple((float(c[0]), float(c[1])) for c in row.coords),
                                highway=row.highway, name=row.name or None, oneway=row.oneway,
                                length_m=row.length_m))
    return graph


def roads_fingerprint(session: Session) -> tuple[object, ...]:
    """Changes when road rows are added, removed or replaced (an import rewrites them)."""
    return tuple(session.execute(select(func.count(), func.min(RoadEdgeRow.id), func.max(RoadEdgeRow.id),
                                        func.sum(RoadEdgeRow.source), func.sum(RoadEdgeRow.length_m))).one())


@dataclass
class _Loaded:
    fingerprint: tuple[object, ...]
    router: RoadRouter
    checked_at: float


_loaded: dict[str, _Loaded] = {}  # database url -> the graph last read from it
_load_lock = threading.Lock()


def road_router(session: Session, max_age_s: float = RECHECK_S) -> RoadRouter:
    """The router of this session's database: the same object while its road rows are unchanged.

    The rows are fingerprinted again once the graph is older than `max_age_s` (0: on every call, for
    a planner who imports roads and analyses at once)."""
    bind = session.get_bind()
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))
    cached = _loaded.get(key)
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < max_age_s:
        return cached.router
    fingerprint = roads_fingerprint(session)
    if cached is not None and cached.fingerprint == fingerprint:
        cached.checked_at = now
        return cached.router
    with _load_lock:
        router = RoadRouter(load_road_graph(session))
        _loaded[key] = _Loaded(fingerprint, router, now)
    return router

