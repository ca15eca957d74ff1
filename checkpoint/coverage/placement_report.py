"""The optimal placement as JSON: the optimum under the quotas, the least budget for full compliance,
what moves against the current placement, and the rule re-checked on the new positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from checkpoint.coverage.optimum import Optimum
from checkpoint.coverage.planner import RuleSetup, as_sites, changes, check, fill_spare, new_checkpoints, solve
from checkpoint.sites.geodata_build import dump_feature_collection


def optimum_json(o: Optimum) -> dict[str, Any]:
    return {"mode": o.mode, "status": o.status, "gap": o.gap, "seconds": o.seconds, "routes": o.routes,
            "held": o.held, "unreachable": o.unreachable, "checkpoints": sum(o.counts.values()),
            "used": o.used, "programs": o.programs, "solver": o.solver}


def placement_result(s: RuleSetup, quotas: Mapping[str, int], keep: Sequence[str], forbid: frozenset[int],
                     time_limit_s: float = 10.0, spend_quota: bool = False,
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The optimum under `quotas` (kept checkpoints stay, forbidden edges get none) and its effect."""
    unknown = set(keep) - {c.code for c in s.checkpoints}
    if unknown:
        from checkpoint.coverage.build import CoverageInputError

        raise CoverageInputError(f"没有这些卡口：{', '.join(sorted(unknown))}")
    best = solve(s, quotas, keep, forbid, "budget", time_limit_s)
    full = solve(s, None, keep, forbid, "full", time_limit_s)
    drawn = replace(best, counts=fill_spare(s, best, quotas)) if spend_quota else best
    features = new_checkpoints(s, drawn, keep)
    kept_sites = [site for site in s.sites if site.code in set(keep)]
    placed = [f for f in features if not f["properties"].get("kept")]
    after = check(s, [*kept_sites, *as_sites(s, placed)])
    counties = [{"code": code, "name": s.where.counties[code].name if code in s.where.counties else code,
                 "quota": quota, "used": best.used.get(code, 0) + sum(1 for k in kept_sites if code in k.tags),
                 "needed": full.used.get(code, 0) + sum(1 for k in kept_sites if code in k.tags)}
                for code, quota in sorted(quotas.items())]
    result = {"reading": s.reading.describe(), "optimum": optimum_json(best),
              "full_compliance": optimum_json(full),
              "counties": counties, "spare_quota_spent": spend_quota, "changes": changes(s, placed, keep),
              "after": after,
              "positions": {"type": "FeatureCollection", "features": features}}
    return result, placed


def write_checkpoints(features: Sequence[dict[str, Any]], path: Path) -> None:
    """checkpoints.geojson in the geodata format (sorted keys, one feature per line, byte-stable)."""
    dump_feature_collection(sorted(features, key=lambda f: f["properties"]["code"]), path)


def write_reference_placement(folder: Path, time_limit_s: float = 120.0) -> dict[str, int]:
    """`checkpoint geodata build`'s last step: the optimum for the default reading under the plan's quotas
    (each county's spare quota spent as a second layer), written over <folder>/checkpoints.geojson."""
    from checkpoint.coverage.files import areas_from, checkpoints_from
    from checkpoint.coverage.planner import PLAN_QUOTAS, setup
    from checkpoint.coverage.reading import Reading
    from checkpoint.sites.geodata_load import read_road_graph

    s = setup(read_road_graph(folder / "roads.geojson"), areas_from(folder / "areas.geojson"),
              checkpoints_from(folder / "checkpoints.geojson"), Reading())
    result, features = placement_result(s, PLAN_QUOTAS, (), frozenset(), time_limit_s, spend_quota=True)
    if result["optimum"]["status"] != "Optimal":
        raise RuntimeError(f"the placement program stopped short of its optimum: {result['optimum']['status']}")
    write_checkpoints(features, folder / "checkpoints.geojson")
    counts: dict[str, int] = {}
    for feature in features:
        counts[feature["properties"]["district"]] = counts.get(feature["properties"]["district"], 0) + 1
    return counts
