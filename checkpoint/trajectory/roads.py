"""Shortest road paths between checkpoints, on the road graph held in memory.

A trajectory draws each leg along the road, and clone detection needs the shortest road
distance between any two checkpoints. Both come from Dijkstra on `length_m`, run once per
origin checkpoint and kept, so a request only reconstructs paths from cached trees.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from shapely.geometry import LineString, Point
from shapely.ops import substring
from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.sites.roadgraph import LocalProjection, LonLat, haversine_m


@dataclass(frozen=True)
class EdgeRow:
    """The parts of a road edge that routing needs."""

    id: int
    source: int
    target: int
    oneway: bool
    length_m: float
    coords: tuple[LonLat, ...]


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
    edge: EdgeRow
    offset_m: float  # along the edge from its source


# Dijkstra tree: node -> (distance, (previous node, edge used to arrive) or None at the start)
_Tree = dict[int, tuple[float, tuple[int, int] | None]]


@dataclass
class RoadNetwork:
    """Edges, checkpoints on them, and per-checkpoint shortest-path trees computed on demand."""

    edges: dict[int, EdgeRow]
    checkpoints: dict[int, CheckpointSite]
    _adjacent: dict[int, list[tuple[int, int, float]]] = field(default_factory=dict)
    _anchors: dict[int, _Anchor] = field(default_factory=dict)
    _trees: dict[int, _Tree] = field(default_factory=dict)
    _routes: dict[tuple[int, int], Route] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _projection: LocalProjection = field(init=False)

    def __post_init__(self) -> None:
        for edge in self.edges.values():
            self._adjacent.setdefault(edge.source, []).append((edge.target, edge.id, edge.length_m))
            if not edge.oneway:
                self._adjacent.setdefault(edge.target, []).append((edge.source, edge.id, edge.length_m))
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
        return self.route(from_id, to_id).distance_m

    def _compute_route(self, from_id: int, to_id: int) -> Route:
        start, end = self.checkpoints.get(from_id), self.checkpoints.get(to_id)
        if start is None or end is None:
            raise KeyError(f"unknown checkpoint {from_id if start is None else to_id}")
        if from_id == to_id:
            return Route(0.0, ((start.lon, start.lat),), True)
        straight = Route(haversine_m((start.lon, start.lat), (end.lon, end.lat)),
                         ((start.lon, start.lat), (end.lon, end.lat)), False)
        a, b = self._anchors.get(from_id), self._anchors.get(to_id)
        if a is None or b is None:
            return straight
        best: tuple[float, list[LonLat]] | None = None
        if a.edge.id == b.edge.id and (not a.edge.oneway or b.offset_m >= a.offset_m):
            best = (abs(b.offset_m - a.offset_m), self._partial(a.edge, a.offset_m, b.offset_m))
        tree = self._tree(from_id)
        for node, into_b in ((b.edge.source, b.offset_m), (b.edge.target, b.edge.length_m - b.offset_m)):
            if node == b.edge.target and b.edge.oneway:
                continue
            if node in tree and (best is None or tree[node][0] + into_b < best[0]):
                best = (tree[node][0] + into_b, self._path_coords(tree, node, a, b))
        if best is None:
            return straight
        return Route(best[0], tuple(best[1]), True)

    def _tree(self, from_id: int) -> _Tree:
        """Dijkstra from a checkpoint (leaving its edge at either end) to every reachable node."""
        if (tree := self._trees.get(from_id)) is not None:
            return tree
        anchor = self._anchors[from_id]
        best: dict[int, float] = {}
        previous: dict[int, tuple[int, int]] = {}
        queue: list[tuple[float, int]] = []

        def push(node: int, dist: float, via: tuple[int, int] | None) -> None:
            if dist < best.get(node, float("inf")):
                best[node] = dist
                if via is None:
                    previous.pop(node, None)
                else:
                    previous[node] = via
                heapq.heappush(queue, (dist, node))

        push(anchor.edge.target, anchor.edge.length_m - anchor.offset_m, None)
        if not anchor.edge.oneway:
            push(anchor.edge.source, anchor.offset_m, None)
        tree = {}
        while queue:
            dist, node = heapq.heappop(queue)
            if node in tree:
                continue
            tree[node] = (dist, previous.get(node))
            for neighbour, edge_id, length in self._adjacent.get(node, ()):
                if neighbour not in tree:
                    push(neighbour, dist + length, (node, edge_id))
        self._trees[from_id] = tree
        return tree

    def _path_coords(self, tree: _Tree, last_node: int, a: _Anchor, b: _Anchor) -> list[LonLat]:
        """Coordinates from checkpoint a, along the tree's edges to `last_node`, then into b."""
        edges: list[tuple[EdgeRow, int]] = []  # (edge, node it leads to)
        node = last_node
        while (step := tree[node][1]) is not None:
            edges.append((self.edges[step[1]], node))
            node = step[0]
        first_node = node
        coords = self._partial(a.edge, a.offset_m, 0.0 if first_node == a.edge.source else a.edge.length_m)
        for edge, to_node in reversed(edges):
            part = list(edge.coords) if to_node == edge.target else list(reversed(edge.coords))
            coords.extend(part[1:])
        coords.extend(self._partial(b.edge, 0.0 if last_node == b.edge.source else b.edge.length_m, b.offset_m)[1:])
        return coords

    def _partial(self, edge: EdgeRow, from_m: float, to_m: float) -> list[LonLat]:
        """The stretch of an edge between two offsets (in either order), as (lon, lat) points."""
        line = self._projection.line(edge.coords)
        scale = line.length / max(edge.length_m, 1e-9)
        piece = substring(line, from_m * scale, to_m * scale)
        points = list(piece.coords) if isinstance(piece, LineString) else [(piece.x, piece.y)] * 2
        return [_rounded(self._projection.to_lonlat(x, y)) for x, y in points]


def _rounded(point: LonLat) -> LonLat:
    return (round(point[0], 6), round(point[1], 6))


_cache: dict[str, tuple[tuple[object, ...], RoadNetwork, float]] = {}  # url -> (fingerprint, network, checked)
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
    if cached is not None and now - cached[2] < RECHECK_S:
        return cached[1]
    fingerprint = tuple(session.execute(FINGERPRINT_SQL).one())
    if cached is not None and cached[0] == fingerprint:
        _cache[key] = (fingerprint, cached[1], now)
        return cached[1]
    with _cache_lock:
        network = load_network(session)
        network.warm()
        _cache[key] = (fingerprint, network, now)
    return network


def load_network(session: Session) -> RoadNetwork:
    edges = {row.id: EdgeRow(row.id, row.source, row.target, row.oneway, row.length_m,
                             tuple((float(c[0]), float(c[1])) for c in row.coords))
             for row in session.execute(text("SELECT id, source, target, oneway, length_m, coords FROM road_edge"))}
    sites = {row.id: CheckpointSite(row.id, row.lon, row.lat, row.edge_id)
             for row in session.execute(text("SELECT id, lon, lat, edge_id FROM checkpoint"))}
    return RoadNetwork(edges, sites)


def distance_table(network: RoadNetwork, checkpoint_ids: Sequence[int]) -> list[tuple[int, int, float]]:
    """(from, to, road metres) for every ordered pair of distinct checkpoints."""
    return [(a, b, network.distance_m(a, b)) for a in checkpoint_ids for b in checkpoint_ids if a != b]
