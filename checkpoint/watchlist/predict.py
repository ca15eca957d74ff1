"""Where a hit vehicle is heading: the next checkpoints along the road graph, with arrival times.

Shortest paths (Dijkstra on edge length) from the hit checkpoint's road edge reach the nearest other
checkpoints; each arrival time is the median observed travel time between the two checkpoints (pairs
of passes of one plate within 2 h over the last 7 days), else the path length at a speed by road class.
"""

from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.sites.models import Checkpoint, RoadEdge

SPEED_KMH = {"motorway": 90.0, "trunk": 70.0, "primary": 50.0, "secondary": 40.0}
DEFAULT_SPEED_KMH = 30.0
MAX_DISTANCE_M = 30_000.0
OBSERVED_TTL_S = 600.0
OBSERVED_SQL = text("""
SELECT b.checkpoint_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM b.captured_at - a.captured_at))
FROM (SELECT plate, captured_at FROM pass WHERE checkpoint_id = :origin AND captured_at > :since
      ORDER BY captured_at DESC LIMIT 2000) a
JOIN pass b ON b.plate = a.plate
    AND b.captured_at > a.captured_at AND b.captured_at < a.captured_at + interval '2 hours'
WHERE b.checkpoint_id = ANY(:targets)
GROUP BY b.checkpoint_id
""")


@dataclass(frozen=True)
class _Edge:
    id: int
    source: int
    target: int
    length_m: float
    speed_ms: float
    oneway: bool
    coords: list[list[float]]


class Predictor:
    def __init__(self, sessions: sessionmaker[Session], count: int = 3) -> None:
        self.sessions, self.count = sessions, count
        self._lock = threading.Lock()
        self._loaded = False
        self._edges: dict[int, _Edge] = {}
        self._out: dict[int, list[tuple[int, _Edge]]] = {}
        self._on_edge: dict[int, list[Checkpoint]] = {}
        self._checkpoints: dict[int, Checkpoint] = {}
        self._observed: dict[int, tuple[float, dict[int, float]]] = {}
        self._routes: dict[int, list[tuple[Checkpoint, float, float, list[list[float]]]]] = {}
        self._refreshing: set[int] = set()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchlist-observed")

    def _load(self) -> None:
        with self._lock, self.sessions() as session:
            if self._loaded:
                return
            for row in session.scalars(select(RoadEdge)):
                speed = SPEED_KMH.get(row.highway.split("_")[0], DEFAULT_SPEED_KMH) / 3.6
                edge = _Edge(row.id, row.source, row.target, row.length_m, speed, row.oneway, row.coords)
                self._edges[edge.id] = edge
                self._out.setdefault(edge.source, []).append((edge.target, edge))
                if not edge.oneway:
                    self._out.setdefault(edge.target, []).append((edge.source, edge))
            for checkpoint in session.scalars(select(Checkpoint).where(Checkpoint.active.is_(True))):
                session.expunge(checkpoint)
                self._checkpoints[checkpoint.id] = checkpoint
                if checkpoint.edge_id is not None:
                    self._on_edge.setdefault(checkpoint.edge_id, []).append(checkpoint)
            self._loaded = True

    def predict(self, checkpoint_id: int, at: datetime) -> list[dict[str, Any]]:
        """Up to `count` next checkpoints: id, code, name, distance_m, eta_s, eta_at, basis, path."""
        self._load()
        origin = self._checkpoints.get(checkpoint_id)
        if origin is None or origin.edge_id is None or origin.edge_id not in self._edges:
            return []
        reached = self._routes.get(origin.id)
        if reached is None:  # the road graph does not change while the matcher runs
            reached = self._routes[origin.id] = self._nearest(origin)
        observed = self._observed_times(checkpoint_id, [cp.id for cp, _, _, _ in reached])
        out: list[dict[str, Any]] = []
        for checkpoint, distance_m, road_s, path in reached:
            eta_s = observed.get(checkpoint.id, road_s)
            out.append({"checkpoint_id": checkpoint.id, "code": checkpoint.code, "name": checkpoint.name,
                        "lat": checkpoint.lat, "lon": checkpoint.lon, "distance_m": round(distance_m),
                        "eta_s": round(eta_s), "eta_at": (at + timedelta(seconds=eta_s)).isoformat(),
                        "basis": "observed" if checkpoint.id in observed else "road speed", "path": path})
        return out

    def _nearest(self, origin: Checkpoint) -> list[tuple[Checkpoint, float, float, list[list[float]]]]:
        start = self._edges[origin.edge_id or 0]
        half_s = start.length_m / 2 / start.speed_ms
        # (metres, seconds, node, previous node, edge taken); -1: no previous node
        queue: list[tuple[float, float, int, int, int]] = [(start.length_m / 2, half_s, start.target, -1, -1)]
        if not start.oneway:
            queue.append((start.length_m / 2, half_s, start.source, -1, -1))
        heapq.heapify(queue)
        came_by: dict[int, tuple[int, int]] = {}
        found: list[tuple[Checkpoint, float, float, list[list[float]]]] = []
        seen_checkpoints = {origin.id}
        while queue and len(found) < 2 * self.count:  # edges are scanned out of distance order: sort below
            metres, seconds, node, previous, via = heapq.heappop(queue)
            if node in came_by or metres > MAX_DISTANCE_M:
                continue
            came_by[node] = (previous, via)
            for neighbour, edge in self._out.get(node, []):
                if edge.id == start.id:
                    continue
                for checkpoint in self._on_edge.get(edge.id, []):
                    if checkpoint.id not in seen_checkpoints:
                        seen_checkpoints.add(checkpoint.id)
                        onward = edge.coords if edge.source == node else edge.coords[::-1]
                        path = [[origin.lon, origin.lat], *self._path(came_by, node),
                                *onward[: len(onward) // 2 + 1], [checkpoint.lon, checkpoint.lat]]
                        found.append((checkpoint, metres + edge.length_m / 2,
                                      seconds + edge.length_m / 2 / edge.speed_ms, path))
                if neighbour not in came_by:
                    heapq.heappush(queue, (metres + edge.length_m, seconds + edge.length_m / edge.speed_ms,
                                           neighbour, node, edge.id))
        return sorted(found, key=lambda item: item[1])[: self.count]

    def _path(self, came_by: dict[int, tuple[int, int]], node: int) -> list[list[float]]:
        """The road from the hit checkpoint to `node`, as [lon, lat] points (thinned to ~200)."""
        points: list[list[float]] = []
        chain: list[tuple[int, int]] = []
        while node in came_by and came_by[node][1] >= 0 and len(chain) < 1000:
            previous, edge_id = came_by[node]
            chain.append((previous, edge_id))
            node = previous
        for previous, edge_id in reversed(chain):
            edge = self._edges[edge_id]
            points += edge.coords if edge.source == previous else edge.coords[::-1]
        return points[:: max(1, len(points) // 200)]

    def _observed_times(self, origin_id: int, targets: list[int]) -> dict[int, float]:
        """Cached medians; a missing or stale entry is refreshed in the background, never on the hit's path."""
        cached = self._observed.get(origin_id)
        if (cached is None or time.monotonic() - cached[0] > OBSERVED_TTL_S) and origin_id not in self._refreshing:
            self._refreshing.add(origin_id)
            self._background.submit(self._refresh_observed, origin_id, targets)
        return cached[1] if cached is not None else {}

    def _refresh_observed(self, origin_id: int, targets: list[int]) -> None:
        try:
            result: dict[int, float] = {}
            if targets:
                with self.sessions() as session:
                    rows = session.execute(OBSERVED_SQL, {"origin": origin_id, "targets": targets,
                                                          "since": datetime.now().astimezone() - timedelta(days=7)})
                    result = {int(row[0]): float(row[1]) for row in rows if row[1] is not None}
            self._observed[origin_id] = (time.monotonic(), result)
        finally:
            self._refreshing.discard(origin_id)
