"""RoadGraph: GeoJSON round trip, messages for malformed input, metre-based look-ups."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checkpoint.sites.roadgraph import GeodataError, RoadEdge, RoadGraph, haversine_m, line_length_m


def small_graph() -> RoadGraph:
    """Two edges meeting at node 2: east along 23.1N, then north."""
    graph = RoadGraph()
    east = ((114.40, 23.10), (114.41, 23.10))
    north = ((114.41, 23.10), (114.41, 23.105), (114.412, 23.11))
    graph.add_edge(RoadEdge(1, 1, 2, east, "primary", "演达大道", False, line_length_m(east)))
    graph.add_edge(RoadEdge(2, 2, 3, north, "secondary", None, True, line_length_m(north)))
    return graph


def test_geojson_round_trip_keeps_every_field() -> None:
    graph = small_graph()
    data = graph.to_geojson()
    again = RoadGraph.from_geojson(json.loads(json.dumps(data)))
    assert again.to_geojson() == data
    assert set(again.nodes) == {1, 2, 3}
    edge = again.edges[1]
    assert (edge.source, edge.target, edge.highway, edge.name, edge.oneway) == (1, 2, "primary", "演达大道", False)
    assert edge.length_m == pytest.approx(1022.8, abs=0.2)
    assert data["features"][1]["properties"]["oneway"] is True


def test_read_from_file(tmp_path: Path) -> None:
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(small_graph().to_geojson()), encoding="utf-8")
    assert len(RoadGraph.read(path).edges) == 2


def _broken(change: Any) -> dict[str, Any]:
    data = small_graph().to_geojson()
    broken = copy.deepcopy(data)
    change(broken)
    return broken


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.update(type="Feature"), "not a GeoJSON FeatureCollection"),
    (lambda d: d.pop("features"), "'features' is missing"),
    (lambda d: d["features"][1]["geometry"].update(type="Point"), "feature 1: geometry must be a LineString"),
    (lambda d: d["features"][0]["geometry"].update(coordinates=[[114.4, 23.1]]), "feature 0: a LineString needs"),
    (lambda d: d["features"][0]["geometry"]["coordinates"].__setitem__(1, [114.4, 95.0]),
     "feature 0: position 1"),
    (lambda d: d["features"][1]["properties"].update(source="a"), "feature 1: property 'source' must be an integer"),
    (lambda d: d["features"][0]["properties"].pop("highway"), "feature 0: property 'highway'"),
    (lambda d: d["features"][0]["properties"].update(oneway="yes"), "feature 0: property 'oneway'"),
    (lambda d: d["features"][1]["properties"].update(id=1), "feature 1: duplicate edge id 1"),
])
def test_malformed_geojson_names_the_problem(change: Any, expected: str) -> None:
    with pytest.raises(GeodataError, match="roads.geojson") as info:
        RoadGraph.from_geojson(_broken(change), source="roads.geojson")
    assert expected in str(info.value)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(GeodataError, match="no such file"):
        RoadGraph.read(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(GeodataError, match="bad.geojson: not valid JSON"):
        RoadGraph.read(bad)


def test_nearest_edge_in_metres() -> None:
    graph = small_graph()
    # 100 m south of the middle of the east-west edge
    hit = graph.nearest_edge((114.405, 23.10 - 100 / 111_195))
    assert hit.edge.id == 1
    assert hit.distance_m == pytest.approx(100, abs=0.5)
    assert hit.point[0] == pytest.approx(114.405, abs=1e-6)
    assert hit.offset_m == pytest.approx(511.4, abs=1)
    # 50 m east of the north-going edge
    assert graph.distance_to_graph_m((114.41 + 50 / 102_300, 23.102)) == pytest.approx(50, abs=1)
    assert graph.distance_to_edge_m((114.41, 23.105), 2) == pytest.approx(0, abs=0.01)


def test_empty_graph_has_no_nearest_edge() -> None:
    with pytest.raises(GeodataError, match="no edges"):
        RoadGraph().nearest_edge((114.4, 23.1))


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m((114.0, 23.0), (114.0, 24.0)) == pytest.approx(111_195, rel=1e-4)
