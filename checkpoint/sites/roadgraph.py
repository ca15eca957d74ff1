"""A typed, pure model of a road graph, its GeoJSON form, and metre-based spatial look-ups.

Every other part of the system (placement, coverage, the console map) sees roads only
through `RoadGraph`, so the source of the roads (scgraph-data's cut, an OSM extract) can change
without touching them. Coordinates are (lon, lat) in WGS-84, as in GeoJSON and shapely.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import STRtree
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8
COORD_DECIMALS = 6

LonLat = tuple[float, float]


class GeodataError(ValueError):
    """Malformed geodata input; the message names the file, the feature and what is wrong."""


@dataclass(frozen=True)
class RoadNode:
    """A junction or dead end of the road graph."""

    id: int
    lon: float
    lat: float


@dataclass(frozen=True)
class RoadEdge:
    """One junction-to-junction stretch of road; `coords` run from `source` to `target`."""

    id: int
    source: int
    target: int
    coords: tuple[LonLat, ...]
    highway: str
    name: str | None = None
    oneway: bool = False
    length_m: float = 0.0


def haversine_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def line_length_m(coords: Sequence[LonLat]) -> float:
    """Length in metres of a (lon, lat) polyline."""
    return sum(haversine_m(a, b) for a, b in pairwise(coords))


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection around a reference latitude: metres, good to ~0.1 % over a city."""

    lon0: float
    lat0: float

    @property
    def _m_per_deg_lat(self) -> float:
        return math.pi * EARTH_RADIUS_M / 180.0

    @property
    def _m_per_deg_lon(self) -> float:
        return self._m_per_deg_lat * math.cos(math.radians(self.lat0))

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """(lon, lat) degrees to (x, y) metres east and north of the reference point."""
        return ((lon - self.lon0) * self._m_per_deg_lon, (lat - self.lat0) * self._m_per_deg_lat)

    def to_lonlat(self, x: float, y: float) -> LonLat:
        """(x, y) metres back to (lon, lat) degrees."""
        return (self.lon0 + x / self._m_per_deg_lon, self.lat0 + y / self._m_per_deg_lat)

    def geometry_to_xy(self, geometry: BaseGeometry) -> BaseGeometry:
        """Any (lon, lat) shapely geometry in metres."""
        lon0, lat0, kx, ky = self.lon0, self.lat0, self._m_per_deg_lon, self._m_per_deg_lat

        def to_xy(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.column_stack(((c[:, 0] - lon0) * kx, (c[:, 1] - lat0) * ky))

        return shapely.transform(geometry, to_xy)

    def line(self, coords: Iterable[LonLat]) -> LineString:
        """A (lon, lat) polyline as a shapely LineString in metres."""
        return LineString([self.to_xy(lon, lat) for lon, lat in coords])


@dataclass(frozen=True)
class EdgeHit:
    """The edge nearest to a point, the distance to it and the nearest point on it."""

    edge: RoadEdge
    distance_m: float
    point: LonLat
    offset_m: float  # along the edge from its source, in metres


@dataclass
class RoadGraph:
    """Nodes and edges of a road network; edges are the unit that checkpoints sit on."""

    nodes: dict[int, RoadNode] = field(default_factory=dict)
    edges: dict[int, RoadEdge] = field(default_factory=dict)

    # --- GeoJSON -------------------------------------------------------------------------

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection of LineStrings, sorted by edge id, coordinates rounded for stable output."""
        features = []
        for edge in sorted(self.edges.values(), key=lambda e: e.id):
            features.append({
                "type": "Feature",
                "geometry": {"type": "LineString",
                             "coordinates": [[round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)]
                                             for lon, lat in edge.coords]},
                "properties": {"id": edge.id, "source": edge.source, "target": edge.target,
                               "highway": edge.highway, "name": edge.name, "oneway": edge.oneway,
                               "length_m": round(edge.length_m, 1)},
            })
        return {"type": "FeatureCollection", "features": features}

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any], source: str = "<geojson>") -> RoadGraph:
        """Rebuild a graph from `to_geojson()` output; nodes come from the edges' end points."""
        if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
            raise GeodataError(f"{source}: not a GeoJSON FeatureCollection")
        features = data.get("features")
        if not isinstance(features, list):
            raise GeodataError(f"{source}: 'features' is missing or not a list")
        graph = cls()
        for index, feature in enumerate(features):
            edge = _edge_from_feature(feature, f"{source}: feature {index}")
            if edge.id in graph.edges:
                raise GeodataError(f"{source}: feature {index}: duplicate edge id {edge.id}")
            graph.add_edge(edge)
        return graph

    @classmethod
    def read(cls, path: Path) -> RoadGraph:
        """Load a road-graph GeoJSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GeodataError(f"{path}: no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GeodataError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_geojson(data, source=str(path))

    # --- building ------------------------------------------------------------------------

    def add_edge(self, edge: RoadEdge) -> None:
        """Add an edge and the nodes at its two ends (taken from its first and last coordinate)."""
        self.edges[edge.id] = edge
        for node_id, (lon, lat) in ((edge.source, edge.coords[0]), (edge.target, edge.coords[-1])):
            self.nodes.setdefault(node_id, RoadNode(node_id, lon, lat))
        self.__dict__.pop("_index", None)

    def edges_at(self, node_id: int) -> list[RoadEdge]:
        """Edges that start or end at a node, sorted by id."""
        return [e for e in sorted(self.edges.values(), key=lambda e: e.id) if node_id in (e.source, e.target)]

    # --- spatial look-ups ----------------------------------------------------------------

    @cached_property
    def _index(self) -> tuple[LocalProjection, list[RoadEdge], list[LineString], STRtree]:
        """Edges projected to metres around the graph's centre, in an STRtree."""
        if not self.edges:
            raise GeodataError("road graph has no edges")
        lons = [n.lon for n in self.nodes.values()]
        lats = [n.lat for n in self.nodes.values()]
        projection = LocalProjection((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
        ordered = sorted(self.edges.values(), key=lambda e: e.id)
        lines = [projection.line(e.coords) for e in ordered]
        return projection, ordered, lines, STRtree(lines)

    def nearest_edge(self, point: LonLat) -> EdgeHit:
        """The edge nearest to a (lon, lat) point, with the distance in metres."""
        projection, ordered, lines, tree = self._index
        target = Point(projection.to_xy(*point))
        position = int(tree.nearest(target))
        line = lines[position]
        offset = float(line.project(target))
        nearest = line.interpolate(offset)
        return EdgeHit(ordered[position], float(target.distance(line)),
                       projection.to_lonlat(nearest.x, nearest.y), offset)

    def distance_to_graph_m(self, point: LonLat) -> float:
        """Distance in metres from a (lon, lat) point to the nearest edge."""
        return self.nearest_edge(point).distance_m

    def distance_to_edge_m(self, point: LonLat, edge_id: int) -> float:
        """Distance in metres from a (lon, lat) point to one given edge."""
        projection = self._index[0]
        edge = self.edges.get(edge_id)
        if edge is None:
            raise GeodataError(f"road graph has no edge {edge_id}")
        return float(Point(projection.to_xy(*point)).distance(projection.line(edge.coords)))


def _edge_from_feature(feature: Any, where: str) -> RoadEdge:
    """Validate one road feature; every complaint names the feature and the field."""
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise GeodataError(f"{where}: not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping) or geometry.get("type") != "LineString":
        raise GeodataError(f"{where}: geometry must be a LineString")
    coords = _coords(geometry.get("coordinates"), where)
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        raise GeodataError(f"{where}: 'properties' is missing")
    for key in ("id", "source", "target"):
        if not isinstance(props.get(key), int) or isinstance(props.get(key), bool):
            raise GeodataError(f"{where}: property '{key}' must be an integer, got {props.get(key)!r}")
    highway = props.get("highway")
    if not isinstance(highway, str) or not highway:
        raise GeodataError(f"{where}: property 'highway' must be a non-empty string")
    name = props.get("name")
    if name is not None and not isinstance(name, str):
        raise GeodataError(f"{where}: property 'name' must be a string or null")
    oneway = props.get("oneway", False)
    if not isinstance(oneway, bool):
        raise GeodataError(f"{where}: property 'oneway' must be true or false")
    length = props.get("length_m")
    if length is None:
        length = line_length_m(coords)
    if not isinstance(length, (int, float)) or isinstance(length, bool) or length < 0:
        raise GeodataError(f"{where}: property 'length_m' must be a non-negative number")
    return RoadEdge(id=props["id"], source=props["source"], target=props["target"], coords=coords,
                    highway=highway, name=name, oneway=oneway, length_m=float(length))


def _coords(raw: Any, where: str) -> tuple[LonLat, ...]:
    """Check a LineString's coordinates: ≥ 2 positions of finite lon in [-180, 180], lat in [-90, 90]."""
    if not isinstance(raw, list) or len(raw) < 2:
        raise GeodataError(f"{where}: a LineString needs at least 2 positions")
    coords: list[LonLat] = []
    for i, position in enumerate(raw):
        if (not isinstance(position, list) or len(position) < 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])):
            raise GeodataError(f"{where}: position {i} is not [lon, lat]")
        lon, lat = float(position[0]), float(position[1])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeodataError(f"{where}: position {i} [{lon}, {lat}] is outside lon/lat range")
        coords.append((lon, lat))
    return tuple(coords)
