"""Placement: fewest new checkpoints to reach ≥ 2 captures, its bound, and that the result holds."""

from __future__ import annotations

from hypothesis import given, settings

from checkpoint.coverage.analysis import analyze
from checkpoint.coverage.model import ProtectedArea, RingCheckpoint, Road, RoadNetwork
from checkpoint.coverage.placement import as_checkpoints, place
from tests.coverage.test_analysis_properties import Case, cases


def camera(code: str, edge_id: int) -> RingCheckpoint:
    return RingCheckpoint(code=code, area="A", edge_id=edge_id, forward=True, backward=True)


def test_ring_with_a_gap_needs_exactly_one_more() -> None:
    network = RoadNetwork([Road(i, 10 + i, 0) for i in range(4)])
    cameras = [camera(f"c{i}{k}", i) for i in range(3) for k in range(2)] + [camera("c3", 3)]
    area = ProtectedArea(code="A", name="A", inside=frozenset({0}))
    plan = place(network, [area], cameras)
    assert [(n.edge_id, n.area) for n in plan.areas[0].added] == [(3, "A")]
    assert (plan.added, plan.lower_bound, plan.areas[0].gap, plan.areas[0].reached) == (1, 1, 0, True)
    assert analyze(network, [area], cameras + as_checkpoints(plan)).holds


def test_with_a_core_one_inner_checkpoint_covers_several_crossings() -> None:
    # three roads enter junction 1, one road leads on to the core junction 2
    network = RoadNetwork([Road(1, 10, 1), Road(2, 11, 1), Road(3, 12, 1), Road(4, 1, 2)])
    area = ProtectedArea(code="A", name="A", inside=frozenset({1, 2}), core=frozenset({2}))
    plan = place(network, [area], [])
    assert plan.areas[0].reached
    assert analyze(network, [area], as_checkpoints(plan)).holds
    assert plan.added == 2 and {n.edge_id for n in plan.areas[0].added} == {4}
    assert plan.lower_bound == 2


@settings(max_examples=40, deadline=None)
@given(cases())
def test_placement_reaches_two_captures_and_respects_its_bound(case: Case) -> None:
    plan = place(case.network, [case.area], case.cameras)
    assert plan.added >= plan.lower_bound
    if plan.areas[0].reached:
        assert analyze(case.network, [case.area], [*case.cameras, *as_checkpoints(plan)]).holds
    if case.area.core is None:
        assert plan.areas[0].reached and plan.areas[0].gap == 0
