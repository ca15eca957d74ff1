"""Optimal placement (issue 19): Huizhou under the plan's quotas, and a generated 100,000-edge graph with 50 areas.

    PYTHONPATH=. .venv/bin/python -m bench.bench_placement [--huizhou-limit 60] [--generated-limit 60]

Prints one JSON line per case: wall and CPU seconds (the machine is shared, so CPU time is the fairer
figure), the solver status and its proven gap, routes held, checkpoints used.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from checkpoint.coverage import planner
from checkpoint.coverage.files import areas_from, checkpoints_from
from checkpoint.coverage.model import RoadNetwork
from checkpoint.coverage.optimum import Candidate, Optimum, optimise
from checkpoint.coverage.reading import Reading
from checkpoint.coverage.rule import Guarded
from checkpoint.sites.geodata_load import read_road_graph

GEODATA = Path(__file__).resolve().parents[1] / "geodata"


def timed(run: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def summary(name: str, o: Optimum, wall: float, cpu: float, **extra: Any) -> dict[str, Any]:
    return {"case": name, "wall_s": wall, "cpu_s": cpu, "status": o.status, "gap": o.gap, "routes": o.routes,
            "held": o.held, "unreachable": o.unreachable, "checkpoints": sum(o.counts.values()),
            "programs": o.programs, **extra}


def huizhou(limit_s: float) -> list[dict[str, Any]]:
    graph = read_road_graph(GEODATA / "roads.geojson")
    s = planner.setup(graph, areas_from(GEODATA / "areas.geojson"), checkpoints_from(GEODATA / "checkpoints.geojson"),
                      Reading())
    budget, wall, cpu = timed(lambda: planner.solve(s, planner.PLAN_QUOTAS, time_limit_s=limit_s))
    full, wall_f, cpu_f = timed(lambda: planner.solve(s, None, mode="full", time_limit_s=limit_s))
    return [summary("huizhou quotas (default reading)", budget, wall, cpu, edges=len(graph.edges)),
            summary("huizhou full compliance (default reading)", full, wall_f, cpu_f)]


def generated(side_x: int = 250, side_y: int = 200, counties: tuple[int, int] = (10, 5), seed: int = 19,
              quota: tuple[int, int] = (20, 41)) -> tuple[RoadNetwork, list[Guarded], list[Candidate], dict[str, int]]:
    """A grid of junctions (~100,000 edges) with a few roads missing, cut into 10 x 5 counties; each county's
    centre is a 4 x 4 block in its middle, its quota drawn from `quota` and each road holds 1 or 2 checkpoints
    (about 40 make one county hold everywhere: quotas of 20-40 fall short, 45-60 suffice)."""
    rng = random.Random(seed)
    def node(x: int, y: int) -> int:
        return y * side_x + x

    ids: list[int] = []
    sources: list[int] = []
    targets: list[int] = []
    for y in range(side_y):
        for x in range(side_x):
            for nx, ny in ((x + 1, y), (x, y + 1)):
                if nx < side_x and ny < side_y and rng.random() > 0.005:
                    ids.append(len(ids))
                    sources.append(node(x, y))
                    targets.append(node(nx, ny))
    network = RoadNetwork.from_arrays(ids, sources, targets, [False] * len(ids))
    cx, cy = counties
    width, height = side_x // cx, side_y // cy

    def county_of(n: int) -> str:
        x, y = n % side_x, n // side_x
        return f"C{min(x // width, cx - 1):02d}{min(y // height, cy - 1):02d}"

    areas, quotas = [], {}
    for i in range(cx):
        for j in range(cy):
            code = f"C{i:02d}{j:02d}"
            region = frozenset(node(x, y) for x in range(i * width, (i + 1) * width)
                               for y in range(j * height, (j + 1) * height))
            mx, my = i * width + width // 2, j * height + height // 2
            target = frozenset(node(x, y) for x in range(mx - 2, mx + 2) for y in range(my - 2, my + 2))
            areas.append(Guarded(code, code, target, region, frozenset({code})))
            quotas[code] = rng.randrange(*quota)
    cands = [Candidate(e, county_of(s), frozenset({county_of(s)}), rng.choice((1, 2)))
             for e, s in zip(ids, sources, strict=True)]
    return network, areas, cands, quotas


def generated_case(limit_s: float, gap: float, quota: tuple[int, int]) -> dict[str, Any]:
    (network, areas, cands, quotas), build_wall, _cpu = timed(lambda: generated(quota=quota))
    best, wall, cpu = timed(lambda: optimise(network, areas, [], cands, quotas, "budget", limit_s, gap))
    return summary(f"generated 100k edges, 50 areas, quotas {quota[0]}-{quota[1] - 1}", best, wall, cpu,
                   edges=len(network.ids), areas=len(areas), build_s=build_wall, gap_asked=gap)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--huizhou-limit", type=float, default=60.0)
    parser.add_argument("--generated-limit", type=float, default=60.0)
    parser.add_argument("--skip-huizhou", action="store_true")
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    if not args.skip_huizhou:
        for row in huizhou(args.huizhou_limit):
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if not args.skip_generated:
        for quota in ((45, 61), (20, 41)):
            print(json.dumps(generated_case(args.generated_limit, 0.01, quota), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
