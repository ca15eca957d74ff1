"""The routing service: shortest paths equal a brute-force search, travel times use road speeds."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from checkpoint.coverage.service import road_base_of
from checkpoint.sites.models import RoadEdge as RoadEdgeRow
from checkpoint.sites.roadgraph import RoadEdge, RoadGraph
from checkpoint.sites.routing import (
    DEFAULT_SPEED_KMH,
    SPEED_KMH,
    Cost,
    RoadRouter,
    road_router,
    travel_time_s,
)

HIGHWAYS = ["motorway", "trunk", "primary_link", "secondary", "residential", ""]


def random_graph(rng: random.Random, nodes: int, edges: int) -> RoadGraph:
    """Junctions on a small square; edges of random class, some one-way, some parallel or looping."""
    places = {n: (114.0 + rng.random() / 100, 23.0 + rng.random() / 100) for n in range(nodes)}
    graph = RoadGraph()
    for edge_id in range(1, edges + 1):
        source, target = rng.randrange(nodes), rng.randrange(nodes)
        graph.add_edge(RoadEdge(id=edge_id, source=source, target=target, coords=(places[source], places[target]),
                                highway=rng.choice(HIGHWAYS), oneway=rng.random() < 0.3,
                                length_m=round(rng.uniform(0, 900), 1)))
    return graph


def brute_force(graph: RoadGraph, start: int, goal: int, cost: Cost) -> float:
    """The least cost over every simple path (each junction at most once), by exhaustive search."""
    def step_cost(edge: RoadEdge) -> float:
        return edge.length_m if cost == "length" else travel_time_s(edge)

    leaving: dict[int, list[tuple[int, RoadEdge]]] = {}
    for edge in graph.edges.values():
        leaving.setdefault(edge.source, []).append((edge.target, edge))
        if not edge.oneway:
            leaving.setdefault(edge.target, []).append((edge.source, edge))
    best = math.inf

    def walk(node: int, spent: float, visited: frozenset[int]) -> None:
        nonlocal best
        if node == goal:
            best = min(best, spent)
            return
        for onward, edge in leaving.get(node, ()):
            if onward not in visited:
                walk(onward, spent + step_cost(edge), visited | {onward})

    walk(start, 0.0, frozenset({start}))
    return best


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("cost", ["length", "time"])
def test_shortest_paths_equal_a_brute_force_search(seed: int, cost: Cost) -> None:
    rng = random.Random(seed)
    graph = random_graph(rng, nodes=7, edges=rng.randrange(6, 16))
    router = RoadRouter(graph)
    for start in graph.nodes:
        for goal in graph.nodes:
            expected = brute_force(graph, start, goal, cost)
            found = router.shortest_path(start, goal, cost)
            if math.isinf(expected):
                assert found is None, (start, goal)
                continue
            assert found is not None, (start, goal)
            assert found.cost == pytest.approx(expected), (start, goal)
            # the path itself is drivable and costs what it claims
            assert found.nodes[0] == start and found.nodes[-1] == goal
            for (here, there), edge_id in zip(pairwise(found.nodes), found.edge_ids, strict=True):
                edge = graph.edges[edge_id]
                assert (here, there) == (edge.source, edge.target) or (
                    not edge.oneway and (here, there) == (edge.target, edge.source))
            edges = [graph.edges[e] for e in found.edge_ids]
            assert found.length_m == pytest.approx(sum(e.length_m for e in edges))
            assert found.time_s == pytest.approx(sum(travel_time_s(e) for e in edges))


def straight_road(edge_id: int, source: int, target: int, highway: str, length_m: float,
                  oneway: bool = False) -> RoadEdge:
    return RoadEdge(id=edge_id, source=source, target=target, coords=((114.0 + source / 1000, 23.0),
                                                                      (114.0 + target / 1000, 23.0)),
                    highway=highway, oneway=oneway, length_m=length_m)


def test_travel_time_uses_the_speed_of_each_road_class() -> None:
    graph = RoadGraph()
    graph.add_edge(straight_road(1, 0, 1, "residential", 1000.0))  # the short way, slow
    graph.add_edge(straight_road(2, 0, 2, "motorway", 1500.0))  # the long way, fast
    graph.add_edge(straight_road(3, 2, 1, "motorway_link", 600.0))
    router = RoadRouter(graph)
    assert router.travel_time_s(1) == pytest.approx(1000.0 / (DEFAULT_SPEED_KMH / 3.6))  # 120 s
    assert router.travel_time_s(3) == pytest.approx(600.0 / (SPEED_KMH["motorway"] / 3.6))  # 24 s
    by_length = router.shortest_path(0, 1, "length")
    by_time = router.shortest_path(0, 1, "time")
    assert by_length is not None and by_length.edge_ids == (1,) and by_length.time_s == pytest.approx(120.0)
    assert by_time is not None and by_time.edge_ids == (2, 3)
    assert by_time.time_s == pytest.approx(2100.0 / 25.0) and by_time.length_m == pytest.approx(2100.0)


def test_one_way_roads_are_driven_one_way_only() -> None:
    graph = RoadGraph()
    graph.add_edge(straight_road(1, 0, 1, "primary", 100.0, oneway=True))
    graph.add_edge(straight_road(2, 1, 2, "primary", 100.0))
    router = RoadRouter(graph)
    there = router.shortest_path(0, 2)
    assert there is not None and there.length_m == pytest.approx(200.0)
    assert router.shortest_path(2, 0) is None
    assert router.shortest_path(99, 0) is None and router.shortest_path(0, 99) is None  # not junctions of the graph


def test_the_graph_is_loaded_once_and_again_when_road_rows_change(session: Session) -> None:
    router = road_router(session, max_age_s=0.0)
    assert router is road_router(session, max_age_s=0.0)  # unchanged rows: the same graph, not re-read
    assert len(router.graph.edges) > 1000  # the Huizhou roads
    row = session.get(RoadEdgeRow, min(router.graph.edges))
    assert row is not None
    session.execute(delete(RoadEdgeRow).where(RoadEdgeRow.id == row.id))
    assert road_router(session) is router  # trusted for RECHECK_S without a query
    changed = road_router(session, max_age_s=0.0)
    assert changed is not router and row.id not in changed.graph.edges
    assert len(changed.graph.edges) == len(router.graph.edges) - 1


def test_coverage_analyses_the_graph_the_router_loaded(session: Session) -> None:
    base = road_base_of(session)
    assert base.roads is road_router(session, max_age_s=0.0).graph  # one load, shared
    assert road_base_of(session) is base
