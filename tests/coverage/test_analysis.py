"""The static analysis on small hand-drawn graphs whose answers are known."""

from __future__ import annotations

from checkpoint.coverage.analysis import analyze, criticality
from checkpoint.coverage.model import ProtectedArea, RingCheckpoint, Road, RoadNetwork

AREA = "A"


def camera(code: str, edge_id: int, forward: bool = True, backward: bool = True) -> RingCheckpoint:
    return RingCheckpoint(code=code, area=AREA, edge_id=edge_id, forward=forward, backward=backward)


def area(inside: set[int], core: set[int] | None = None, passing: set[int] | None = None) -> ProtectedArea:
    return ProtectedArea(code=AREA, name="area", inside=frozenset(inside),
                         core=None if core is None else frozenset(core), passing=frozenset(passing or ()))


def test_one_road_with_two_checkpoints_holds_and_each_is_critical() -> None:
    network = RoadNetwork([Road(1, 0, 1)])
    cameras = [camera("c1", 1), camera("c2", 1)]
    report = analyze(network, [area({1})], cameras)
    result = report.areas[0]
    assert (result.min_captures_in, result.min_captures_out, result.leak_routes) == (2, 2, ())
    assert report.holds
    assert {(c.code, c.new_leaks, c.min_captures_in_after) for c in report.criticality} == {("c1", 2, 1), ("c2", 2, 1)}


def test_taking_a_checkpoint_offline_opens_a_leak_on_its_road() -> None:
    network = RoadNetwork([Road(1, 0, 1)])
    report = analyze(network, [area({1})], [camera("c1", 1), camera("c2", 1)], offline={"c2"})
    result = report.areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (1, 1)
    leak_in = [leak for leak in result.leak_routes if leak.direction == "in"]
    assert [(leak.edge_id, leak.tail, leak.head, leak.checkpoints) for leak in leak_in] == [(1, 0, 1, ("c1",))]


def test_one_way_road_has_no_route_out_and_ignores_a_camera_facing_the_wrong_way() -> None:
    network = RoadNetwork([Road(1, 0, 1, oneway=True)])
    cameras = [camera("c1", 1, backward=False), camera("c2", 1, backward=False), camera("wrong", 1, forward=False)]
    result = analyze(network, [area({1})], cameras).areas[0]
    assert (result.min_captures_in, result.min_captures_out, result.leak_routes) == (2, None, ())


def test_parallel_road_without_checkpoints_is_the_leak() -> None:
    network = RoadNetwork([Road(1, 0, 1), Road(2, 0, 1)])
    result = analyze(network, [area({1})], [camera("c1", 1), camera("c2", 1)]).areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (0, 0)
    assert {(leak.edge_id, leak.direction) for leak in result.leak_routes} == {(2, "in"), (2, "out")}


def test_ring_with_a_gap_leaks_only_at_the_gap() -> None:
    # four spokes from outside junctions 10..13 into the centre junction 0; spoke 13 has one camera
    network = RoadNetwork([Road(i, 10 + i, 0) for i in range(4)] + [Road(9, 10, 11), Road(8, 12, 13)])
    cameras = [camera(f"c{i}{k}", i) for i in range(3) for k in range(2)] + [camera("c3", 3)]
    result = analyze(network, [area({0})], cameras).areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (1, 1)
    assert {(leak.edge_id, leak.captures) for leak in result.leak_routes} == {(3, 1)}
    assert result.crossings == 8


def test_checkpoint_covering_one_direction_leaves_the_other_uncaptured() -> None:
    network = RoadNetwork([Road(1, 0, 1)])
    cameras = [camera("c1", 1, backward=False), camera("c2", 1, backward=False)]
    result = analyze(network, [area({1})], cameras).areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (2, 0)
    assert [(leak.direction, leak.tail, leak.head) for leak in result.leak_routes] == [("out", 1, 0)]


def test_edge_reversed_against_travel_direction_is_handled() -> None:
    network = RoadNetwork([Road(1, 1, 0)])  # drawn from inside to outside: entering is its backward arc
    cameras = [camera("c1", 1, forward=False), camera("c2", 1, forward=False)]
    result = analyze(network, [area({1})], cameras).areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (2, 0)


def test_a_core_counts_the_second_line_further_in() -> None:
    network = RoadNetwork([Road(1, 0, 1), Road(2, 1, 2), Road(3, 1, 3)])
    cameras = [camera("first", 1), camera("second", 2)]
    strict = analyze(network, [area({1, 2, 3})], cameras).areas[0]
    assert strict.min_captures_in == 1  # a vehicle may stop at junction 1
    deep = analyze(network, [area({1, 2, 3}, core={2})], cameras).areas[0]
    assert (deep.min_captures_in, deep.min_captures_out, deep.leak_routes) == (2, 2, ())
    both = analyze(network, [area({1, 2, 3}, core={2, 3})], cameras).areas[0]
    assert both.min_captures_in == 1
    assert {(leak.direction, leak.path) for leak in both.leak_routes} == {("in", (1, 3)), ("out", (3, 1))}
    critical = {c.code: c.new_leaks for c in criticality(network, area({1, 2, 3}, core={2}), cameras)}
    assert critical == {"first": 2, "second": 2}


def test_a_road_running_through_the_area_without_a_junction_inside_is_a_route() -> None:
    network = RoadNetwork([Road(1, 0, 1), Road(2, 0, 5), Road(3, 5, 6)])
    result = analyze(network, [area({1}, passing={2})], [camera("a", 1), camera("b", 1)]).areas[0]
    assert (result.min_captures_in, result.min_captures_out) == (0, 0)
    assert {leak.edge_id for leak in result.leak_routes} == {2}
    assert all(leak.passing for leak in result.leak_routes)


def test_checkpoints_of_another_ring_do_not_count() -> None:
    network = RoadNetwork([Road(1, 0, 1)])
    other = RingCheckpoint(code="x", area="B", edge_id=1, forward=True, backward=True)
    result = analyze(network, [area({1})], [camera("c1", 1), other]).areas[0]
    assert result.min_captures_in == 1


def test_an_area_no_road_reaches_has_no_minimum() -> None:
    network = RoadNetwork([Road(1, 0, 1)])
    result = analyze(network, [area({7})], []).areas[0]
    assert (result.min_captures_in, result.min_captures_out, result.crossings) == (None, None, 0)
    assert result.holds
