"""Properties on random small graphs: the static minimum equals brute-force route enumeration, and
adding a checkpoint never lowers it."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from checkpoint.coverage.analysis import analyze_area, criticality, ring_of
from checkpoint.coverage.model import Direction, ProtectedArea, RingCheckpoint, Road, RoadNetwork


@dataclass(frozen=True)
class Case:
    network: RoadNetwork
    area: ProtectedArea
    cameras: tuple[RingCheckpoint, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    nodes = draw(st.integers(min_value=2, max_value=6))
    edges = draw(st.lists(st.tuples(st.integers(0, nodes - 1), st.integers(0, nodes - 1), st.booleans())
                          .filter(lambda e: e[0] != e[1]), min_size=1, max_size=9))
    roads = [Road(id=100 + i, source=s, target=t, oneway=one) for i, (s, t, one) in enumerate(edges)]
    inside = draw(st.sets(st.integers(0, nodes - 1), min_size=1, max_size=nodes - 1))
    core = draw(st.none() | st.sets(st.sampled_from(sorted(inside)), min_size=1))
    cameras = draw(st.lists(st.tuples(st.sampled_from(roads), st.booleans(), st.booleans()), max_size=8))
    ring = tuple(RingCheckpoint(code=f"c{i}", area="A", edge_id=road.id, forward=fwd, backward=back)
                 for i, (road, fwd, back) in enumerate(cameras))
    area = ProtectedArea(code="A", name="A", inside=frozenset(inside),
                         core=None if core is None else frozenset(core))
    return Case(RoadNetwork(roads), area, ring)


def brute_force_minimum(case: Case, direction: Direction) -> int | None:
    """The least captures over every simple route from a junction outside to a destination inside (or back)."""
    network, area = case.network, case.area
    ring = ring_of(network, "A", case.cameras)
    nodes = {n for road in network.roads for n in (road.source, road.target)}
    deep = area.core if area.core is not None else area.inside
    starts, ends = (nodes - area.inside, deep) if direction == "in" else (deep, nodes - area.inside)
    leaving: dict[int, list[int]] = {}
    for index in range(len(network.roads)):
        for arc in (2 * index, 2 * index + 1):
            if network.arc_exists(arc):
                leaving.setdefault(network.arc_ends(arc)[0], []).append(arc)
    best: int | None = None

    def walk(node: int, seen: frozenset[int], weight: int) -> None:
        nonlocal best
        if node in ends:
            best = weight if best is None else min(best, weight)
        for arc in leaving.get(node, ()):
            head = network.arc_ends(arc)[1]
            if head not in seen:
                walk(head, seen | {head}, weight + len(ring.get(arc, ())))

    for start in starts:
        walk(start, frozenset({start}), 0)
    return best


@settings(max_examples=80, deadline=None)
@given(cases())
def test_static_minimum_equals_brute_force_enumeration(case: Case) -> None:
    result = analyze_area(case.network, case.area, ring_of(case.network, "A", case.cameras))
    assert result.min_captures_in == brute_force_minimum(case, "in")
    assert result.min_captures_out == brute_force_minimum(case, "out")
    assert all(leak.captures < 2 for leak in result.leak_routes)


@settings(max_examples=50, deadline=None)
@given(cases(), st.data())
def test_adding_a_checkpoint_never_lowers_the_minimum(case: Case, data: st.DataObject) -> None:
    road = data.draw(st.sampled_from(case.network.roads))
    extra = RingCheckpoint(code="new", area="A", edge_id=road.id, forward=data.draw(st.booleans()),
                           backward=data.draw(st.booleans()))
    before = analyze_area(case.network, case.area, ring_of(case.network, "A", case.cameras))
    after = analyze_area(case.network, case.area, ring_of(case.network, "A", (*case.cameras, extra)))
    pairs = ((before.min_captures_in, after.min_captures_in), (before.min_captures_out, after.min_captures_out))
    for old, new in pairs:
        assert (old is None) == (new is None)
        assert old is None or new is None or new >= old
    assert len(after.leak_routes) <= len(before.leak_routes)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_criticality_equals_analysing_again_without_the_checkpoint(case: Case) -> None:
    for critical in criticality(case.network, case.area, case.cameras):
        ring = ring_of(case.network, "A", case.cameras)
        without = ring_of(case.network, "A", case.cameras, frozenset({critical.code}))
        before = analyze_area(case.network, case.area, ring)
        after = analyze_area(case.network, case.area, without)
        assert (critical.min_captures_in_after, critical.min_captures_out_after) == (after.min_captures_in,
                                                                                     after.min_captures_out)
        assert critical.new_leaks == len(after.leak_routes) - len(before.leak_routes)
