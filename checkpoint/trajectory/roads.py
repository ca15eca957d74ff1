"""Shortest road paths between checkpoints, on the road graph of `sites.routing`.

A trajectory draws each leg along the road, and clone detection needs the shortest road
distance between any two checkpoints. Both come from the routing service's Dijkstra on
`length_m`, run once per origin checkpoint and kept, so a request only reconstructs paths
from cached trees. The checkpoints' places on their edges are this module's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from shapely.geometry import LineString, Point
from shapely.ops import substring
from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.sites.roadgraph import LocalProjection, LonLat, RoadEdge, haversine_m
from checkpoint.sites.routing import RoadRouter, SearchTree, road_router


@dataclass(frozen=True)
class CheckpointSite:
    """A checkpoint's position and the edge it sits on (None when not snapped to a road)."""

    id: int
    lon: float
    lat: float
    edge_id: int | None


@dataclass(frozen=True)
class Route:
    """A road path between two checkpoints; `on_road` is False for the straight-line fallback."""

    distance_m: float
    coords: tuple[LonLat, ...]
    on_road: bool


@dataclass(frozen=True)
class _Anchor:
    edge: RoadEdge
    offset_m: float  # along the edge from its source


@dataclass
class RoadNetwork:
    """Checkpoints on the routed road graph, and per-checkpoint shortest-path trees computed on demand."""

    router: RoadRouter
    checkpoints: dict[int, CheckpointSite]
    _anchors: dict[int, _Anchor] = field(default_factory=dict)
    _trees: dict[int, SearchTree] = field(default_factory=dict)
    _routes: dict[tuple[int, int], Route] = field(default_factory=dict)
    _metres: dict[tuple[int, int], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _projection: LocalProjection = field(init=False)

    @property
    def edges(self) -> dict[int, RoadEdge]:
        return self.router.graph.edges

    def __post_init__(self) -> None:
        lons = [c[0] for e in self.edges.values() for c in e.coords] or [0.0]
        lats = [c[1] for e in self.edges.values() for c in e.coords] or [0.0]
        self._projection = LocalProjection((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
        for site in self.checkpoints.values():
            on_edge = self.edges.get(site.edge_id) if site.edge_id is not None else None
            if on_edge is not None:
                line = self._projection.line(on_edge.coords)
                share = line.project(Point(self._projection.to_xy(site.lon, site.lat))) / max(line.length, 1e-9)
                self._anchors[site.id] = _Anchor(on_edge, share * on_edge.length_m)

    def route(self, from_id: int, to_id: int) -> Route:
        """The shortest road path between two checkpoints (straight line if either is off the graph)."""
        key = (from_id, to_id)
        if (found := self._routes.get(key)) is None:
            with self._lock:
                found = self._routes[key] = self._compute_route(from_id, to_id)
        return found

    def warm(self) -> None:
        """Run Dijkstra from every checkpoint now (a fraction of a second), not during requests."""
        for checkpoint_id in self._anchors:
            self._tree(checkpoint_id)

    def distance_m(self, from_id: int, to_id: int) -> float:
        """The shortest road distance alone, without drawing the path (套牌's limits ask it for every pair)."""
        key = (from_id, to_id)
        if (found := self._metres.get(key)) is None:
            if (route := self._routes.get(key)) is not None:
                found = route.distance_m
            else:
                least = self._least(from_id, to_id)
                found = least[0] if least is not None else self._straight(from_id, to_id).distance_m
            self._metres[key] = found
        return found

    def _straight(self, from_id: int, to_id: int) -> Route:
        start, end = self.checkpoints.get(from_id), self.checkpoints.get(to_id)
        if start is None or end is None:
            raise KeyError(f"unknown checkpoint {from_id if start is None else to_id}")
        return Route(haversine_m((start.lon, start.lat), (end.lon, end.lat)),
                     ((start.lon, start.lat), (end.lon, end.lat)), False)

    def _least(self, from_id: int, to_id: int) -> tuple[float, int | None] | None:
        """(metres, the junction the path enters b's edge from; None along one edge), or None off the road."""
        if from_id == to_id:
            return (0.0, None) if from_id in self.checkpoints else None
        a, b = self._anchors.get(from_id), self._anchors.get(to_id)
        if a is None or b is None:
            return None
        best: tuple[float, int | None] | None = None
        if a.edge.id == b.edge.id and (not a.edge.oneway or b.offset_m >= a.offset_m):
            best = (abs(b.offset_m - a.offset_m), None)
        tree = self._tree(from_id)
        for node, into_b in ((b.edge.source, b.offset_m), (b.edge.target, b.edge.length_m - b.offset_m)):
            if node == b.edge.target and b.edge.oneway:
                continue
            if node in tree.cost and (best is None or tree.cost[node] + into_b < best[0]):
                best = (tree.cost[node] + into_b, node)
        return best

    def _compute_route(self, from_id: int, to_id: int) -> Route:
        straight = self._straight(from_id, to_id)
        if from_id == to_id:
            return Route(0.0, straight.coords[:1], True)
        least = self._least(from_id, to_id)
        if least is None:
            return straight
        a, b = self._anchors[from_id], self._anchors[to_id]
        metres, last_node = least
        if last_node is None:
            return Route(metres, tuple(self._partial(a.edge, a.offset_m, b.offset_m)), True)
        return Route(metres, tuple(self._path_coords(self._tree(from_id), last_node, a, b)), True)

    def _tree(self, from_id: int) -> SearchTree:
        """Dijkstra from a checkpoint (leaving its edge at either end) to every reachable node."""
        if (tree := self._trees.get(from_id)) is not None:
            return tree
        anchor = self._anchors[from_id]
        starts = [(anchor.edge.target, anchor.edge.length_m - anchor.offset_m)]
        if not anchor.edge.oneway:
            starts.append((anchor.edge.source, anchor.offset_m))
        tree = self._trees[from_id] = self.router.tree(starts)
        return tree

    def _path_coords(self, tree: SearchTree, last_node: int, a: _Anchor, b: _Anchor) -> list[LonLat]:
        """Coordinates from checkpoint a, along the tree's edges to `last_node`, then into b."""
        chain = tree.steps_to(last_node)
        first_node = chain[0][0] if chain else last_node
        coords = self._partial(a.edge, a.offset_m, 0.0 if first_node == a.edge.source else a.edge.length_m)
        for from_node, edge_id in chain:
            edge = self.edges[edge_id]
            part = list(edge.coords) if from_node == edge.source else list(reversed(edge.coords))
            coords.extend(part[1:])
        coords.extend(self._partial(b.edge, 0.0 if last_node == b.edge.source else b.edge.length_m, b.offset_m)[1:])
        return coords

    def _partial(self, edge: RoadEdge, from_m: float, to_m: float) -> list[LonLat]:
        """The stretch of an edge between two offsets (in either order), as (lon, lat) points."""
        line = self._projection.line(edge.coords)
        scale = line.length / max(edge.length_m, 1e-9)
        piece = substring(line, from_m * scale, to_m * scale)
        points = list(piece.coords) if isinstance(piece, LineString) else [(piece.x, piece.y)] * 2
        return [_rounded(self._projection.to_lonlat(x, y)) for x, y in points]


def _rounded(point: LonLat) -> LonLat:
    return (round(point[0], 6), round(point[1], 6))


@dataclass
class _Cached:
    router: RoadRouter
    fingerprint: tuple[object, ...]
    network: RoadNetwork
    checked_at: float


_cache: dict[str, _Cached] = {}  # database url -> the network last built for it
_cache_lock = threading.Lock()
RECHECK_S = 10.0  # how long a network is trusted before the roads are fingerprinted again

FINGERPRINT_SQL = text(
    "SELECT (SELECT count(*) FROM road_edge), (SELECT coalesce(max(id), 0) FROM road_edge),"
    " (SELECT coalesce(sum(length_m), 0) FROM road_edge), (SELECT count(*) FROM checkpoint),"
    " (SELECT coalesce(sum(coalesce(edge_id, 0) + lat + lon), 0) FROM checkpoint)"
)


def road_network(session: Session) -> RoadNetwork:
    """The road network of this database, rebuilt only when the roads or checkpoints change."""
    bind = session.get_bind()
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(id(bind))
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < RECHECK_S:
        return cached.network
    router = road_router(session, max_age_s=0.0)
    fingerprint = tuple(session.execute(FINGERPRINT_SQL).one())
    if cached is not None and cached.router is router and cached.fingerprint == fingerprint:
        cached.checked_at = now
        return cached.network
    with _cache_lock:
        network = RoadNetwork(router, load_sites(session))
        network.warm()
        _cache[key] = _Cached(router, fingerprint, network, now)
    return network


def load_sites(session: Session) -> dict[int, CheckpointSite]:
    return {row.id: CheckpointSite(row.id, row.lon, row.lat, row.edge_id)
            for row in session.execute(text("SELECT id, lon, lat, edge_id FROM checkpoint"))}


def load_network(session: Session) -> RoadNetwork:
    """A network built now (not cached), on the routing service's graph."""
    return RoadNetwork(road_router(session), load_sites(session))


def distance_table(network: RoadNetwork, checkpoint_ids: Sequence[int]) -> list[tuple[int, int, float]]:
    """(from, to, road metres) for every ordered pair of distinct checkpoints."""
    return [(a, b, network.distance_m(a, b)) for a in checkpoint_ids for b in checkpoint_ids if a != b]
