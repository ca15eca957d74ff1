"""Reading OpenStreetMap extracts (.osm XML and .osm.pbf) into a RoadGraph with pyosmium."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint.sites.cli import app
from checkpoint.sites.osm import load_osm
from checkpoint.sites.roadgraph import GeodataError, RoadGraph

osmium = pytest.importorskip("osmium")

# A T junction at node 2 (ways 10 and 11), a footway (not a road class), a oneway=-1 way 12
# from node 4 to 6, and a building that is not a road at all.
NODES = {1: (114.40, 23.10), 2: (114.41, 23.10), 3: (114.42, 23.10), 4: (114.41, 23.11),
         5: (114.41, 23.09), 6: (114.42, 23.11), 7: (114.43, 23.12)}
WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (10, [1, 2, 3], {"highway": "primary", "name": "演达大道", "ref": "G324"}),
    (11, [4, 2, 5], {"highway": "secondary"}),
    (12, [4, 6], {"highway": "tertiary", "oneway": "-1"}),
    (13, [6, 7], {"highway": "footway"}),
    (14, [3, 6, 7, 3], {"building": "yes"}),
]


def write_osm_xml(path: Path, ways: list[tuple[int, list[int], dict[str, str]]]) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{i}" lat="{lat}" lon="{lon}" version="1"/>' for i, (lon, lat) in NODES.items()]
    for way_id, refs, tags in ways:
        lines.append(f'  <way id="{way_id}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    path.write_text("\n".join(lines + ["</osm>"]), encoding="utf-8")
    return path


def write_osm_pbf(path: Path) -> Path:
    writer = osmium.SimpleWriter(str(path))
    for node_id, location in NODES.items():
        writer.add_node(osmium.osm.mutable.Node(id=node_id, location=location, tags={}))
    for way_id, refs, tags in WAYS:
        writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
    writer.close()
    return path


def _check_t_junction(graph: RoadGraph) -> None:
    assert len(graph.edges) == 5  # way 10 and 11 split at node 2; way 12 whole; footway dropped
    pairs = {(e.source, e.target) for e in graph.edges.values()}
    assert pairs == {(1, 2), (2, 3), (4, 2), (2, 5), (6, 4)}
    reversed_way = next(e for e in graph.edges.values() if e.highway == "tertiary")
    assert reversed_way.oneway and reversed_way.coords[0] == NODES[6]
    named = next(e for e in graph.edges.values() if e.source == 1)
    assert named.name == "演达大道" and named.highway == "primary" and not named.oneway
    assert named.length_m == pytest.approx(1022.8, abs=0.5)


def test_reads_osm_xml(tmp_path: Path) -> None:
    _check_t_junction(load_osm(write_osm_xml(tmp_path / "t.osm", WAYS)))


def test_reads_osm_pbf(tmp_path: Path) -> None:
    _check_t_junction(load_osm(write_osm_pbf(tmp_path / "t.osm.pbf")))


def test_bbox_and_classes(tmp_path: Path) -> None:
    path = write_osm_xml(tmp_path / "t.osm", WAYS)
    assert {e.source for e in load_osm(path, bbox=(114.395, 23.095, 114.405, 23.105)).edges.values()} == {1}
    only_primary = load_osm(path, frozenset({"primary"}))
    assert {e.highway for e in only_primary.edges.values()} == {"primary"}


def test_no_roads_is_an_error(tmp_path: Path) -> None:
    path = write_osm_xml(tmp_path / "no_roads.osm", [w for w in WAYS if "highway" not in w[2]])
    with pytest.raises(GeodataError, match="no_roads.osm: no roads"):
        load_osm(path)


def test_not_osm_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(GeodataError, match="missing.osm.pbf: no such file"):
        load_osm(tmp_path / "missing.osm.pbf")
    for name in ("junk.osm", "junk.osm.pbf", "junk.txt"):
        (tmp_path / name).write_text("hello, not osm", encoding="utf-8")
        with pytest.raises(GeodataError, match=f"{name}: not a readable OSM file"):
            load_osm(tmp_path / name)


def test_cli_converts_and_reports_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    source = write_osm_pbf(tmp_path / "t.osm.pbf")
    out = tmp_path / "roads.geojson"
    result = runner.invoke(app, ["osm", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 edges" in result.output
    assert len(RoadGraph.read(out).edges) == 5
    (tmp_path / "junk.osm").write_text("hello", encoding="utf-8")
    bad = runner.invoke(app, ["osm", str(tmp_path / "junk.osm"), "--out", str(out)])
    assert bad.exit_code == 1
    assert "junk.osm: not a readable OSM file" in bad.output
    assert "Traceback" not in bad.output
