"""Coverage check speed: the shipped Huizhou graph, a what-if, and a generated 1,000,000-edge grid.

    python -m bench.bench_coverage [--grid-edges 1000000] [--repeat 5] [--trips 20000]

Prints one JSON line. The grid is a square lattice of two-way roads (every 9th one-way) at
~100 m spacing with a "city" square inset 5 % and seven 2 km "centre" squares; every crossing
edge gets two checkpoints except every 20th, which gets one, so the answer is known.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box

from checkpoint.coverage.analysis import analyze
from checkpoint.coverage.build import AreaShape, CoverageModel, SiteCheckpoint, build_model
from checkpoint.coverage.files import model_from_folder
from checkpoint.coverage.traffic import generate
from checkpoint.coverage.verifier import CrossingVerifier, RingIndex
from checkpoint.sites.roadgraph import RoadEdge, RoadGraph, RoadNode

GEODATA = Path(__file__).resolve().parents[1] / "geodata"
SPACING_DEG = 0.001


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over `repeat` runs and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def huizhou(repeat: int) -> dict[str, Any]:
    build_s, model = timed(lambda: model_from_folder(GEODATA), repeat)
    analyze_s, report = timed(lambda: analyze(model.network, model.areas, model.checkpoints), repeat)
    critical = max(report.criticality, key=lambda c: c.new_leaks).code

    def what_if() -> Any:
        changed = model_from_folder(GEODATA)  # a what-if rebuilds the model, as the API does
        return analyze(changed.network, changed.areas, changed.checkpoints, offline={critical})

    what_if_s, _ = timed(what_if, repeat)
    return {"edges": len(model.roads.edges), "areas": len(model.areas), "ring_checkpoints": len(model.checkpoints),
            "build_s": round(build_s, 4), "analyze_with_criticality_s": round(analyze_s, 4),
            "total_s": round(build_s + analyze_s, 4), "what_if_s": round(what_if_s, 4),
            "leak_routes": sum(len(a.leak_routes) for a in report.areas)}


def verifier(trips: int) -> dict[str, Any]:
    """Sightings per second through the live verifier, on generated Huizhou traffic (95 % reads)."""
    model = model_from_folder(GEODATA)
    traffic = generate(model, trips, seed=1, read_rate=0.95)
    started = time.perf_counter()
    checker = CrossingVerifier(RingIndex(model.network, model.areas, model.checkpoints))
    closed = [c for s in traffic.sightings for c in checker.observe(s)] + checker.flush()
    seconds = time.perf_counter() - started
    return {"trips": trips, "sightings": len(traffic.sightings), "crossings": len(closed),
            "seconds": round(seconds, 3), "sightings_per_s": round(len(traffic.sightings) / seconds),
            "verdicts": dict(Counter(c.verdict for c in closed))}


def grid_roads(edges_wanted: int) -> tuple[RoadGraph, int]:
    side = math.ceil((1 + math.sqrt(1 + 2 * edges_wanted)) / 2)  # 2·side·(side-1) ≥ wanted
    graph = RoadGraph()
    edge_id = 0
    for row in range(side):
        for col in range(side):
            here = (114.0 + col * SPACING_DEG, 22.5 + row * SPACING_DEG)
            for d_row, d_col in ((0, 1), (1, 0)):
                if row + d_row >= side or col + d_col >= side:
                    continue
                there = (114.0 + (col + d_col) * SPACING_DEG, 22.5 + (row + d_row) * SPACING_DEG)
                graph.edges[edge_id] = RoadEdge(id=edge_id, source=row * side + col,
                                                target=(row + d_row) * side + col + d_col, coords=(here, there),
                                                highway="road", oneway=edge_id % 9 == 0, length_m=100.0)
                edge_id += 1
    for edge in graph.edges.values():  # nodes in bulk (add_edge would re-validate per edge)
        for node_id, (lon, lat) in ((edge.source, edge.coords[0]), (edge.target, edge.coords[-1])):
            if node_id not in graph.nodes:
                graph.nodes[node_id] = RoadNode(node_id, lon, lat)
    return graph, side


def grid_areas(side: int) -> list[AreaShape]:
    span = (side - 1) * SPACING_DEG
    inset = 0.05 * span + SPACING_DEG / 2
    areas = [AreaShape("city", "city", "city", box(114.0 + inset, 22.5 + inset, 114.0 + span - inset,
                                                  22.5 + span - inset))]
    for index in range(7):
        # centres on a half-grid position, so no junction lies on a boundary
        cx = 114.0 + SPACING_DEG * (round(span * (0.2 + 0.6 * ((index * 3) % 7) / 6) / SPACING_DEG) + 0.5)
        cy = 22.5 + SPACING_DEG * (round(span * (0.2 + 0.6 * index / 6) / SPACING_DEG) + 0.5)
        half = 0.01
        areas.append(AreaShape(f"centre-{index}", f"centre {index}", "centre",
                               box(cx - half, cy - half, cx + half, cy + half)))
    return areas


def grid_checkpoints(graph: RoadGraph, areas: list[AreaShape]) -> tuple[list[SiteCheckpoint], int]:
    """Two checkpoints on every crossing edge of every area, one on every 20th; and the leaks expected."""
    edges = list(graph.edges.values())
    lon = {n.id: n.lon for n in graph.nodes.values()}
    lat = {n.id: n.lat for n in graph.nodes.values()}
    found: list[SiteCheckpoint] = []
    expected_leaks = 0
    for area in areas:
        west, south, east, north = area.geometry.bounds
        inside = np.array([west < lon[e.source] < east and south < lat[e.source] < north for e in edges])
        inside_t = np.array([west < lon[e.target] < east and south < lat[e.target] < north for e in edges])
        for count, position in enumerate(np.nonzero(inside != inside_t)[0].tolist()):
            edge = edges[position]
            expected_leaks += (1 if edge.oneway else 2) if count % 20 == 0 else 0
            mid = ((edge.coords[0][0] + edge.coords[1][0]) / 2, (edge.coords[0][1] + edge.coords[1][1]) / 2)
            for copy in range(1 if count % 20 == 0 else 2):
                found.append(SiteCheckpoint(code=f"{area.code}-{count}-{copy}", guards=area.code, lon=mid[0],
                                            lat=mid[1], edge_id=edge.id))
    return found, expected_leaks


def grid(edges_wanted: int) -> dict[str, Any]:
    started = time.perf_counter()
    graph, side = grid_roads(edges_wanted)
    areas = grid_areas(side)
    checkpoints, expected_leaks = grid_checkpoints(graph, areas)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    model: CoverageModel = build_model(graph, areas, checkpoints)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    report = analyze(model.network, model.areas, model.checkpoints)
    analyze_s = time.perf_counter() - started
    started = time.perf_counter()
    analyze(model.network, model.areas, model.checkpoints, offline={checkpoints[1].code}, with_criticality=False)
    what_if_s = time.perf_counter() - started
    return {"edges": len(graph.edges), "nodes": len(graph.nodes), "areas": len(areas),
            "ring_checkpoints": len(model.checkpoints), "generate_s": round(generate_s, 2),
            "build_s": round(build_s, 2), "analyze_with_criticality_s": round(analyze_s, 2),
            "total_s": round(build_s + analyze_s, 2), "reanalyze_offline_s": round(what_if_s, 2),
            "leak_routes": sum(len(a.leak_routes) for a in report.areas), "expected_leak_routes": expected_leaks,
            "min_captures": [[a.code, a.min_captures_in, a.min_captures_out] for a in report.areas]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid-edges", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--trips", type=int, default=20_000)
    args = parser.parse_args()
    result = {"huizhou": huizhou(args.repeat), "verifier": verifier(args.trips), "grid": grid(args.grid_edges)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
