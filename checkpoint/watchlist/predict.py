"""Where a hit vehicle is heading: the next checkpoints along the road graph, with arrival times.

Shortest paths (the routing service's Dijkstra on edge length) from the hit checkpoint's road edge
reach the nearest other checkpoints; each arrival time is the median observed travel time between
the two checkpoints (pairs of passes of one plate within 2 h over the last 7 days), else the path's
travel time at the routing service's speed by road class.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.sites.models import Checkpoint
from checkpoint.sites.roadgraph import RoadEdge
from checkpoint.sites.routing import RECHECK_S, RoadRouter, Step, Via, dijkstra, road_router

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


Reached = tuple[Checkpoint, float, float, list[list[float]]]  # checkpoint, metres, seconds, path


class Predictor:
    def __init__(self, sessions: sessionmaker[Session], count: int = 3) -> None:
        self.sessions, self.count = sessions, count
        self._lock = threading.Lock()
        self._router: RoadRouter | None = None
        self._checked_at = 0.0
        self._on_edge: dict[int, list[Checkpoint]] = {}
        self._checkpoints: dict[int, Checkpoint] = {}
        self._observed: dict[int, tuple[float, dict[int, float]]] = {}
        self._routes: dict[int, list[Reached]] = {}
        self._refreshing: set[int] = set()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchlist-observed")

    def _load(self) -> RoadRouter:
        """The routing service's graph; the active checkpoints are read again when the roads change."""
        if self._router is not None and time.monotonic() - self._checked_at < RECHECK_S:
            return self._router  # no session on a hit's path while the graph is trusted
        with self._lock, self.sessions() as session:
            self._checked_at = time.monotonic()
            router = road_router(session)
            if router is self._router:
                return router
            self._on_edge, self._checkpoints, self._routes = {}, {}, {}
            for checkpoint in session.scalars(select(Checkpoint).where(Checkpoint.active.is_(True))):
                session.expunge(checkpoint)
                self._checkpoints[checkpoint.id] = checkpoint
                if checkpoint.edge_id is not None:
                    self._on_edge.setdefault(checkpoint.edge_id, []).append(checkpoint)
            self._router = router
            return router

    def predict(self, checkpoint_id: int, at: datetime) -> list[dict[str, Any]]:
        """Up to `count` next checkpoints: id, code, name, distance_m, eta_s, eta_at, basis, path."""
        router = self._load()
        origin = self._checkpoints.get(checkpoint_id)
        if origin is None or origin.edge_id is None or origin.edge_id not in router.graph.edges:
            return []
        reached = self._routes.get(origin.id)
        if reached is None:  # kept until the road graph changes
            reached = self._routes[origin.id] = self._nearest(router, origin)
        observed = self._observed_times(checkpoint_id, [cp.id for cp, _, _, _ in reached])
        out: list[dict[str, Any]] = []
        for checkpoint, distance_m, road_s, path in reached:
            eta_s = observed.get(checkpoint.id, road_s)
            out.append({"checkpoint_id": checkpoint.id, "code": checkpoint.code, "name": checkpoint.name,
                        "lat": checkpoint.lat, "lon": checkpoint.lon, "distance_m": round(distance_m),
                        "eta_s": round(eta_s), "eta_at": (at + timedelta(seconds=eta_s)).isoformat(),
                        "basis": "observed" if checkpoint.id in observed else "road speed", "path": path})
        return out

    def _nearest(self, router: RoadRouter, origin: Checkpoint) -> list[Reached]:
        """Junctions in road-length order from the middle of the origin's edge; checkpoints on the edges met."""
        edges = router.graph.edges
        start = edges[origin.edge_id or 0]
        half_s = router.travel_time_s(start.id) / 2
        starts = [(start.target, start.length_m / 2)] + ([] if start.oneway else [(start.source, start.length_m / 2)])
        along = router.steps("length")

        def steps(node: int) -> list[Step]:  # never back over the origin's own edge
            leaving = along(node)
            return leaving if node not in (start.source, start.target) else [s for s in leaving if s[1] != start.id]

        came_by: dict[int, Via | None] = {}
        seconds_at: dict[int, float] = {}
        found: list[Reached] = []
        seen_checkpoints = {origin.id}
        for node, metres, via in dijkstra(starts, steps):
            if len(found) >= 2 * self.count or metres > MAX_DISTANCE_M:  # edges are met out of order: sorted below
                break
            came_by[node] = via
            seconds = seconds_at[node] = half_s if via is None else seconds_at[via[0]] + router.travel_time_s(via[1])
            for _onward, edge_id, _metres in along(node):
                if edge_id == start.id:
                    continue
                edge = edges[edge_id]
                for checkpoint in self._on_edge.get(edge_id, []):
                    if checkpoint.id not in seen_checkpoints:
                        seen_checkpoints.add(checkpoint.id)
                        onward = _points(edge) if edge.source == node else _points(edge)[::-1]
                        path = [[origin.lon, origin.lat], *self._path(router, came_by, node),
                                *onward[: len(onward) // 2 + 1], [checkpoint.lon, checkpoint.lat]]
                        found.append((checkpoint, metres + edge.length_m / 2,
                                      seconds + router.travel_time_s(edge_id) / 2, path))
        return sorted(found, key=lambda item: item[1])[: self.count]

    def _path(self, router: RoadRouter, came_by: dict[int, Via | None], node: int) -> list[list[float]]:
        """The road from the hit checkpoint to `node`, as [lon, lat] points (thinned to ~200)."""
        points: list[list[float]] = []
        chain: list[Via] = []
        while (step := came_by.get(node)) is not None and len(chain) < 1000:
            chain.append(step)
            node = step[0]
        for previous, edge_id in reversed(chain):
            edge = router.graph.edges[edge_id]
            points += _points(edge) if edge.source == previous else _points(edge)[::-1]
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


def _points(edge: RoadEdge) -> list[list[float]]:
    return [[lon, lat] for lon, lat in edge.coords]
