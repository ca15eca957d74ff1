"""Cut Huizhou's roads out of scgraph-data's OpenStreetMap-derived world highway graph.

Importing `scgraph_data.world_highways` builds a GeoGraph of the whole world (~30 s, ~5 GB);
we need ~1 % of it, so we read the module's two literal lines as text instead: `nodes=[[lat,
lon], ...]` is JSON, and `graph=[{neighbour: km, ...}, ...]` is split per node and only the
nodes we keep are parsed (< 1 s, ~0.3 GB). scgraph-data is a build-only dependency.
"""

from __future__ import annotations

import json
from importlib.resources import files

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from checkpoint.sites.roadgraph import RoadEdge, RoadGraph, line_length_m

SCGRAPH_MODULE = "world_highways.py"
UNKNOWN_CLASS = "road"  # OSM's value for a road of unknown class: scgraph keeps no class or name


def read_scgraph_lines() -> tuple[str, str]:
    """The `graph=` and `nodes=` lines of scgraph-data's world highway module."""
    text = files("scgraph_data").joinpath(SCGRAPH_MODULE).read_text(encoding="utf-8")
    graph_line = nodes_line = ""
    for line in text.splitlines():
        if line.startswith("graph="):
            graph_line = line
        elif line.startswith("nodes="):
            nodes_line = line
    if not graph_line or not nodes_line:
        raise RuntimeError(f"scgraph_data/{SCGRAPH_MODULE}: no graph= or nodes= line; format changed?")
    return graph_line, nodes_line


def cut_scgraph(region: BaseGeometry) -> RoadGraph:
    """Every edge with at least one end inside `region` (WGS-84), as straight junction-to-junction lines.

    Node ids are scgraph's own indices, edge ids are assigned in (source, target) order, so the
    cut is the same on every run of the same scgraph-data version.
    """
    graph_line, nodes_line = read_scgraph_lines()
    lat_lons: list[list[float]] = json.loads(nodes_line[len("nodes="):])
    adjacency_text = graph_line[len("graph=[{"):-len("}]")].split("}, {")
    if len(adjacency_text) != len(lat_lons):
        raise RuntimeError(f"scgraph_data: {len(adjacency_text)} adjacency lists for {len(lat_lons)} nodes")
    inside = prep(region)
    min_lon, min_lat, max_lon, max_lat = region.bounds
    kept = {i for i, (lat, lon) in enumerate(lat_lons)
            if min_lon <= lon <= max_lon and min_lat <= lat <= max_lat and inside.contains(Point(lon, lat))}
    pairs: set[tuple[int, int]] = set()
    for i in kept:
        for item in filter(None, adjacency_text[i].split(", ")):
            j = int(item.split(": ")[0])
            if j != i and lat_lons[j] != lat_lons[i]:
                pairs.add((min(i, j), max(i, j)))
    graph = RoadGraph()
    for edge_id, (a, b) in enumerate(sorted(pairs), start=1):
        coords = ((lat_lons[a][1], lat_lons[a][0]), (lat_lons[b][1], lat_lons[b][0]))
        graph.add_edge(RoadEdge(id=edge_id, source=a, target=b, coords=coords, highway=UNKNOWN_CLASS,
                                name=None, oneway=False, length_m=line_length_m(coords)))
    return graph
