"""The live verifier: crossings from sightings, the likelier cause of a single capture, and agreement
with the static analysis on generated traffic over the Huizhou graph."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from checkpoint.coverage.analysis import analyze
from checkpoint.coverage.files import model_from_folder
from checkpoint.coverage.model import ProtectedArea, RingCheckpoint, Road, RoadNetwork
from checkpoint.coverage.traffic import generate
from checkpoint.coverage.verifier import Crossing, CrossingVerifier, RingIndex, ShareTally, Sighting

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def small_index() -> RingIndex:
    # road 1 (0 -> 1) has two checkpoints, road 2 (2 -> 1) one: a leak route
    network = RoadNetwork([Road(1, 0, 1), Road(2, 2, 1)])
    cameras = [RingCheckpoint(code, "A", edge, True, True) for code, edge in (("a1", 1), ("a2", 1), ("b", 2))]
    return RingIndex(network, [ProtectedArea("A", "A", frozenset({1}))], cameras)


def run(verifier: CrossingVerifier, sightings: list[Sighting]) -> list[Crossing]:
    closed = [c for s in sightings for c in verifier.observe(s)]
    return closed + verifier.flush()


def test_two_checkpoints_within_the_window_are_a_double_capture() -> None:
    verifier = CrossingVerifier(small_index(), window_s=300)
    crossings = run(verifier, [Sighting("P1", "a1", T0, "in"), Sighting("P1", "a2", T0 + timedelta(seconds=40), "in")])
    assert [(c.area, c.direction, c.checkpoints, c.verdict) for c in crossings] == [("A", "in", ("a1", "a2"), "double")]


def test_single_capture_is_a_missed_read_on_a_covered_road_and_a_leak_on_an_uncovered_one() -> None:
    verifier = CrossingVerifier(small_index(), window_s=300)
    crossings = run(verifier, [Sighting("P1", "a1", T0, "in"), Sighting("P2", "b", T0, "out"),
                               Sighting("P1", "a2", T0 + timedelta(seconds=400), "in")])
    verdicts = sorted((c.plate, c.checkpoints, c.verdict, c.missed) for c in crossings)
    assert verdicts == [("P1", ("a1",), "missed read", ("a2",)), ("P1", ("a2",), "missed read", ("a1",)),
                        ("P2", ("b",), "leak route", ())]
    tally = ShareTally()
    for crossing in crossings:
        tally.add(crossing)
    assert tally.share("A") == 0.0 and tally.verdicts["missed read"] == 2


def test_live_counts_agree_with_the_static_analysis_on_generated_traffic() -> None:
    model = model_from_folder(GEODATA)
    traffic = generate(model, trips=400, seed=3)
    verifier = CrossingVerifier(RingIndex(model.network, model.areas, model.checkpoints), window_s=900)
    live = {(c.plate, c.area, c.direction): c for c in run(verifier, traffic.sightings)}
    seen = [t for t in traffic.crossings if t.static_captures > 0]
    assert len(seen) > 50  # the optimised checkpoints stand on the way in, not all on the ring it crosses
    for truth in traffic.crossings:
        crossing = live.get((truth.plate, truth.area, truth.direction))
        assert (0 if crossing is None else len(crossing.checkpoints)) == truth.static_captures, truth
    tally = ShareTally()
    for crossing in live.values():
        tally.add(crossing)
    for area in {t.area for t in seen}:
        mine = [t for t in seen if t.area == area]
        assert tally.share(area) == sum(t.static_captures >= 2 for t in mine) / len(mine)
    report = analyze(model.network, model.areas, model.checkpoints)
    leaky_edges = {(leak.area, leak.edge_id) for area in report.areas for leak in area.leak_routes}
    for crossing in live.values():
        if crossing.verdict == "leak route":
            truth_edges = {t.edge_id for t in traffic.crossings if (t.plate, t.area) == (crossing.plate, crossing.area)}
            assert any((crossing.area, edge) in leaky_edges for edge in truth_edges)


def test_missed_reads_are_told_apart_from_leaks() -> None:
    model = model_from_folder(GEODATA)
    traffic = generate(model, trips=400, seed=5, read_rate=0.8)
    verifier = CrossingVerifier(RingIndex(model.network, model.areas, model.checkpoints), window_s=900)
    crossings = run(verifier, traffic.sightings)
    static = {(t.plate, t.area, t.direction): t.static_captures for t in traffic.crossings}
    verdicts = Counter(c.verdict for c in crossings)
    assert verdicts["missed read"] > 0 and verdicts["leak route"] > 0
    for crossing in crossings:
        if crossing.verdict == "missed read" and (crossing.plate, crossing.area, crossing.direction) in static:
            assert static[(crossing.plate, crossing.area, crossing.direction)] >= 2
