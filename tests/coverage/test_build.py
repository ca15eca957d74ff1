"""From shapes to the model on the shipped Huizhou data, and bad input named by its problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint.coverage.analysis import analyze
from checkpoint.coverage.build import CoverageInputError, SiteCheckpoint, area_shape, build_model
from checkpoint.coverage.files import model_from_folder
from checkpoint.sites.roadgraph import RoadEdge, RoadGraph

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def toy_roads() -> RoadGraph:
    graph = RoadGraph()
    graph.add_edge(RoadEdge(id=1, source=10, target=11, coords=((-1.0, 0.5), (0.5, 0.5)), highway="primary"))
    graph.add_edge(RoadEdge(id=2, source=12, target=13, coords=((0.5, -1.0), (0.5, -0.5)), highway="primary"))
    return graph


def test_huizhou_report_names_every_protected_area_and_its_leaks() -> None:
    model = model_from_folder(GEODATA)
    report = analyze(model.network, model.areas, model.checkpoints)
    assert {a.code for a in report.areas} == {"441300", "441302-centre", "441303-centre", "441322-centre",
                                              "441323-centre", "441324-centre", "dayawan-centre", "zhongkai-centre"}
    assert len(model.checkpoints) == 120  # every optimised checkpoint guards its county centre
    assert not report.holds  # 120 checkpoints cannot double every crossing: a finding, not a bug
    assert all(leak.captures < 2 for area in report.areas for leak in area.leak_routes)
    critical = max(report.criticality, key=lambda c: c.new_leaks)
    assert critical.new_leaks > 0
    without = analyze(model.network, model.areas, model.checkpoints, offline={critical.code})
    leaks = sum(len(a.leak_routes) for a in report.areas)
    assert sum(len(a.leak_routes) for a in without.areas) == leaks + critical.new_leaks


def test_checkpoint_faces_the_guarded_area_by_its_bearing_or_its_depth() -> None:
    square = area_shape("A", "A", "centre", SQUARE)
    inbound = SiteCheckpoint("in-only", "A", -0.1, 0.5, 1, directions=("in",))
    by_bearing = SiteCheckpoint("in-west", "A", -0.1, 0.5, 1, directions=("in",), bearing_in_deg=270.0)
    model = build_model(toy_roads(), [square], [inbound, by_bearing])
    faced = {c.code: (c.forward, c.backward) for c in model.checkpoints}
    assert faced == {"in-only": (True, False), "in-west": (False, True)}


def test_polygon_that_does_not_close_is_named() -> None:
    open_ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]]}
    with pytest.raises(CoverageInputError, match=r"area 'A'.*does not close"):
        area_shape("A", "A", "centre", open_ring)


def test_checkpoint_off_every_road_is_named() -> None:
    square = area_shape("A", "A", "centre", SQUARE)
    lost = SiteCheckpoint("LOST-1", "A", 0.9, 0.9, None)
    with pytest.raises(CoverageInputError, match=r"checkpoint LOST-1 .* off every road.*edge 1"):
        build_model(toy_roads(), [square], [lost])


def test_road_graph_without_roads_is_named() -> None:
    with pytest.raises(CoverageInputError, match="no roads"):
        build_model(RoadGraph(), [area_shape("A", "A", "centre", SQUARE)], [])


def test_osm_file_with_no_roads_is_named(tmp_path: Path) -> None:
    osm = tmp_path / "empty.osm"
    osm.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="23.1" lon="114.4"/>'
                   '<way id="2"><nd ref="1"/><tag k="building" v="yes"/></way></osm>', encoding="utf-8")
    with pytest.raises(Exception, match="no roads"):
        model_from_folder(GEODATA, osm)


def test_road_along_the_boundary_does_not_pass_through() -> None:
    graph = RoadGraph()
    graph.add_edge(RoadEdge(id=1, source=1, target=2, coords=((0.0, -1.0), (0.0, 2.0)), highway="road"))
    graph.add_edge(RoadEdge(id=2, source=3, target=4, coords=((0.5, -1.0), (0.5, 2.0)), highway="road"))
    model = build_model(graph, [area_shape("A", "A", "centre", SQUARE)], [])
    assert model.areas[0].passing == frozenset({2})


def test_core_depth_keeps_only_deep_junctions_as_destinations() -> None:
    graph = RoadGraph()
    graph.add_edge(RoadEdge(id=1, source=1, target=2, coords=((-0.5, 0.5), (0.05, 0.5)), highway="road"))
    graph.add_edge(RoadEdge(id=2, source=2, target=3, coords=((0.05, 0.5), (0.5, 0.5)), highway="road"))
    square = area_shape("A", "A", "centre", SQUARE)
    strict = build_model(graph, [square], []).areas[0]
    deep = build_model(graph, [square], [], core_depth_m=20_000).areas[0]  # the square is ~110 km wide
    assert (strict.inside, strict.core) == (frozenset({2, 3}), None)
    assert deep.core == frozenset({3})
