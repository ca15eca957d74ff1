"""Shortest road paths between the Huizhou checkpoints."""

from __future__ import annotations

from sqlalchemy.orm import Session

from checkpoint.sites.roadgraph import haversine_m, line_length_m
from checkpoint.trajectory.roads import road_network


def test_routes_follow_the_roads_between_checkpoints(session: Session) -> None:
    network = road_network(session)
    assert len(network.edges) > 1000 and len(network.checkpoints) == 120
    ids = sorted(network.checkpoints)
    a, b = network.checkpoints[ids[0]], network.checkpoints[ids[-1]]
    route = network.route(a.id, b.id)
    straight = haversine_m((a.lon, a.lat), (b.lon, b.lat))
    assert route.on_road
    assert route.distance_m >= straight * 0.99
    assert haversine_m(route.coords[0], (a.lon, a.lat)) < 300
    assert haversine_m(route.coords[-1], (b.lon, b.lat)) < 300
    assert abs(line_length_m(route.coords) - route.distance_m) < 0.05 * route.distance_m + 50
    back = network.route(b.id, a.id)
    assert abs(back.distance_m - route.distance_m) < 1.0  # two-way roads: the same length both ways
    assert network.route(a.id, a.id).distance_m == 0.0


def test_the_network_is_cached_while_roads_are_unchanged(session: Session) -> None:
    assert road_network(session) is road_network(session)
