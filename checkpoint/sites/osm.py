"""Load a real OpenStreetMap extract (.osm.pbf or .osm XML) into a `RoadGraph`, offline.

Read with pyosmium (`osmium` on PyPI, a runtime dependency). Highway ways of the chosen
classes are split at junctions (nodes shared by two or more kept ways, plus way ends), so each
edge runs junction to junction; oneway=-1 ways are reversed so coords follow the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import LineString, box
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from checkpoint.sites.roadgraph import GeodataError, LonLat, RoadEdge, RoadGraph, line_length_m

DEFAULT_CLASSES: frozenset[str] = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential",
})
ONEWAY_YES = {"yes", "true", "1"}


@dataclass(frozen=True)
class OsmWay:
    """A kept highway way: its tags of interest and its nodes with locations."""

    id: int
    highway: str
    name: str | None
    oneway: int  # 0 both ways, 1 along the way, -1 against it
    node_ids: tuple[int, ...]
    coords: tuple[LonLat, ...]


def _oneway(tags: dict[str, str], highway: str) -> int:
    value = tags.get("oneway", "")
    if value == "-1":
        return -1
    if value in ONEWAY_YES:
        return 1
    if value == "no":
        return 0
    return 1 if highway == "motorway" or tags.get("junction") in ("roundabout", "circular") else 0


def read_osm_ways(path: Path, classes: frozenset[str] = DEFAULT_CLASSES) -> list[OsmWay]:
    """The highway ways of `classes` in an OSM file, in way-id order."""
    import osmium  # runtime dependency, imported here so the graph model stays light

    path = Path(path)
    if not path.is_file():
        raise GeodataError(f"{path}: no such file")
    ways: list[OsmWay] = []
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = {t.k: t.v for t in obj.tags}
            highway = tags.get("highway")
            if highway not in classes:
                continue
            nodes = [(n.ref, n.location) for n in obj.nodes]
            if len(nodes) < 2 or not all(loc.valid() for _, loc in nodes):
                continue  # a way cut at the extract's edge: its outside nodes have no location
            ways.append(OsmWay(obj.id, highway, tags.get("name") or tags.get("ref"), _oneway(tags, highway),
                               tuple(ref for ref, _ in nodes), tuple((loc.lon, loc.lat) for _, loc in nodes)))
    except (RuntimeError, ValueError, OSError) as exc:
        raise GeodataError(f"{path}: not a readable OSM file ({exc})") from None
    return sorted(ways, key=lambda w: w.id)


def split_at_junctions(ways: Iterable[OsmWay]) -> RoadGraph:
    """Junction-to-junction edges: a way is cut at every node another kept way (or itself) shares."""
    ways = list(ways)
    uses: dict[int, int] = {}
    for way in ways:
        for ref in way.node_ids:
            uses[ref] = uses.get(ref, 0) + 1
        for end in (way.node_ids[0], way.node_ids[-1]):
            uses[end] = uses.get(end, 0) + 1  # way ends are always edge ends
    graph = RoadGraph()
    next_id = 1
    for way in ways:
        refs, coords = list(way.node_ids), list(way.coords)
        if way.oneway == -1:
            refs.reverse()
            coords.reverse()
        start = 0
        for i in range(1, len(refs)):
            if uses[refs[i]] >= 2 or i == len(refs) - 1:
                piece = tuple(coords[start:i + 1])
                if len(set(piece)) >= 2:
                    graph.add_edge(RoadEdge(next_id, refs[start], refs[i], piece, way.highway, way.name,
                                            way.oneway != 0, line_length_m(piece)))
                    next_id += 1
                start = i
    return graph


def clip_graph(graph: RoadGraph, region: BaseGeometry) -> RoadGraph:
    """Keep the edges that touch `region` (a lon/lat polygon), whole."""
    inside = prep(region)
    clipped = RoadGraph()
    for edge in sorted(graph.edges.values(), key=lambda e: e.id):
        if inside.intersects(LineString(edge.coords)):
            clipped.add_edge(edge)
    return clipped


def load_osm(path: Path, classes: frozenset[str] = DEFAULT_CLASSES,
             bbox: tuple[float, float, float, float] | None = None,
             region: BaseGeometry | None = None) -> RoadGraph:
    """Read an OSM extract into a road graph, optionally clipped to a bbox (W, S, E, N) or polygon."""
    graph = split_at_junctions(read_osm_ways(path, classes))
    if bbox is not None:
        west, south, east, north = bbox
        if not (west < east and south < north):
            raise GeodataError(f"bbox {bbox}: expected west < east and south < north")
        graph = clip_graph(graph, box(west, south, east, north))
    if region is not None:
        graph = clip_graph(graph, region)
    if not graph.edges:
        raise GeodataError(f"{path}: no roads (highway ways of classes {', '.join(sorted(classes))})"
                           + (" inside the clip area" if bbox or region is not None else ""))
    return graph
