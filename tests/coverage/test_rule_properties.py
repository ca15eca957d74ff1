"""Each reading's minimum equals brute-force route enumeration, and the MIP's optimum equals exhaustive search.

Small random road graphs, two counties (A, B) each with a centre, and checkpoints tagged with their county
and ring. A reading chooses the region routes start beyond (the county: "two lines"; the centre itself:
"strict"; the whole city: "city") and whose checkpoints count (jurisdiction, any, ring).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from checkpoint.coverage.model import REQUIRED_CAPTURES, Road, RoadNetwork
from checkpoint.coverage.optimum import Candidate, optimise
from checkpoint.coverage.rule import ANY, Guarded, Site, area_routes, evaluate

COUNTINGS = ("jurisdiction", "any", "ring")
ORIGINS = ("two_lines", "strict", "city")


def random_case(seed: int, nodes: int = 7, edges: int = 9) -> tuple[RoadNetwork, dict[int, str]]:
    """A connected random graph; junctions 0..nodes-1 split between county A (low ids) and B."""
    rng = random.Random(seed)
    roads = [Road(i, rng.randrange(i + 1), i + 1, oneway=rng.random() < 0.2) for i in range(nodes - 1)]
    while len(roads) < edges:
        a, b = rng.sample(range(nodes), 2)
        roads.append(Road(len(roads), a, b, oneway=rng.random() < 0.2))
    county = {n: ("A" if n < nodes // 2 + 1 else "B") for n in range(nodes)}
    return RoadNetwork(roads), county


def reading_areas(county: dict[int, str], counting: str, origin: str, nodes: int) -> list[Guarded]:
    """The two centres (one junction each, deep in its county) under a reading; 'city': the city is nodes 1..n-1."""
    areas = []
    for name, centre in (("A", 0), ("B", nodes - 1)):
        target = frozenset({centre})
        if origin == "city":
            region = frozenset(range(1, nodes)) | target
        else:
            region = frozenset(n for n, c in county.items() if c == name) if origin == "two_lines" else target
        counts = {"jurisdiction": {name}, "any": {ANY}, "ring": {f"ring:{name}"}}[counting]
        areas.append(Guarded(name, name, target, region, frozenset(counts)))
    return areas


def random_sites(network: RoadNetwork, county: dict[int, str], seed: int) -> list[Site]:
    rng = random.Random(seed * 7 + 1)
    sites = []
    for k in range(rng.randrange(0, 6)):
        road = rng.randrange(len(network.ids))
        owner = county[network.sources[road]]
        forward, backward = rng.choice([(True, True), (True, False), (False, True)])
        ring = rng.choice(["A", "B"])
        sites.append(Site(f"S{k}", network.ids[road], forward, backward, frozenset({owner, f"ring:{ring}"})))
    return sites


def walks(network: RoadNetwork, start: int) -> Iterator[list[int]]:
    """Every simple path (as arcs) from `start`."""
    leaving, _arriving = network.adjacency()

    def extend(node: int, seen: set[int], path: list[int]) -> Iterator[list[int]]:
        yield path
        for arc in leaving.get(node, ()):
            head = network.arc_ends(arc)[1]
            if head not in seen:
                yield from extend(head, seen | {head}, [*path, arc])

    yield from extend(start, {start}, [])


def brute_force(network: RoadNetwork, area: Guarded, sites: list[Site]) -> dict[tuple[str, int], int]:
    """Least captures per (direction, last crossing arc of the region's line), over every simple route."""
    from checkpoint.coverage.rule import counts_for, site_arcs

    weight: dict[int, int] = {}
    for site in sites:
        if counts_for(site, area):
            for arc in site_arcs(network, site):
                weight[arc] = weight.get(arc, 0) + 1
    best: dict[tuple[str, int], int] = {}
    for start in network.node_ids.tolist():
        for path in walks(network, start):
            nodes = [start, *(network.arc_ends(a)[1] for a in path)]
            captures = sum(weight.get(a, 0) for a in path)
            if start not in area.region and nodes[-1] in area.target and not any(n in area.target for n in nodes[:-1]):
                last_in = max(i for i, a in enumerate(path) if nodes[i] not in area.region)
                key = ("in", path[last_in])
                best[key] = min(best.get(key, captures), captures)
            if start in area.target and nodes[-1] not in area.region and len(path) and \
                    all(n in area.region for n in nodes[:-1]) and not any(n in area.target for n in nodes[1:-1]):
                key = ("out", path[-1])
                best[key] = min(best.get(key, captures), captures)
    return best


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("origin", ORIGINS)
def test_each_readings_minimum_equals_route_enumeration(counting: str, origin: str) -> None:
    for seed in range(25):
        network, county = random_case(seed)
        sites = random_sites(network, county, seed)
        areas = reading_areas(county, counting, origin, 7)
        results = evaluate(network, areas, sites)
        for area, result in zip(areas, results, strict=True):
            enumerated = brute_force(network, area, sites)
            routes = {(r.direction, r.arc): r.captures for r in area_routes(network, area, sites)}
            assert routes == enumerated, (seed, area.code)
            for direction, least in (("in", result.min_captures_in), ("out", result.min_captures_out)):
                found = [c for (d, _a), c in enumerated.items() if d == direction]
                assert least == (min(found) if found else None), (seed, area.code, direction)


def exhaustive(network: RoadNetwork, areas: list[Guarded], kept: list[Site], cands: list[Candidate],
               quotas: dict[str, int] | None) -> tuple[int, int, int]:
    """(most routes held, fewest checkpoints doing so, fewest checkpoints holding every holdable route)."""
    best = (-1, 0)
    full_best: int | None = None
    ceiling = {(a.code, r.direction, r.arc) for a in areas for r in area_routes(
        network, a, [*kept, *(Site(f"c{c.edge_id}{k}", c.edge_id, tags=c.tags) for c in cands
                                for k in range(c.capacity))]) if r.captures >= REQUIRED_CAPTURES}
    for counts in itertools.product(*(range(c.capacity + 1) for c in cands)):
        used: dict[str, int] = {}
        for c, n in zip(cands, counts, strict=True):
            used[c.owner] = used.get(c.owner, 0) + n
        placed = [Site(f"n{c.edge_id}{k}", c.edge_id, tags=c.tags) for c, n in zip(cands, counts, strict=True)
                  for k in range(n)]
        held = {(a.code, r.direction, r.arc) for a in areas for r in area_routes(network, a, [*kept, *placed])
                if r.captures >= REQUIRED_CAPTURES}
        if held >= ceiling and (full_best is None or sum(counts) < full_best):
            full_best = sum(counts)
        if quotas is None or all(n + sum(1 for s in kept if k in s.tags) <= quotas.get(k, 0)
                                 for k, n in used.items() if n):
            score = (len(held), -sum(counts))
            best = max(best, score)
    assert full_best is not None
    return best[0], -best[1], full_best


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("origin", ORIGINS)
def test_mip_optimum_equals_exhaustive_search(counting: str, origin: str) -> None:
    placed_some = 0
    for seed in range(6):
        network, county = random_case(100 + seed, nodes=6, edges=7)
        rng = random.Random(seed)
        kept = random_sites(network, county, seed)[:1]
        cands = [Candidate(e, county[network.sources[i]],
                           frozenset({county[network.sources[i]], f"ring:{county[network.sources[i]]}"}),
                           rng.choice([1, 2])) for i, e in enumerate(network.ids)]
        quotas = {"A": rng.randrange(1, 4), "B": rng.randrange(1, 4)}
        areas = reading_areas(county, counting, origin, 6)
        held, used, needed = exhaustive(network, areas, kept, cands, quotas)
        budget = optimise(network, areas, kept, cands, quotas, "budget", time_limit_s=30)
        full = optimise(network, areas, kept, cands, None, "full", time_limit_s=30)
        assert budget.status == "Optimal" and budget.gap == 0
        assert (budget.held, sum(budget.counts.values())) == (held, used), (seed, counting, origin)
        assert sum(full.counts.values()) == needed, (seed, counting, origin)
        assert all(n <= quotas[k] - sum(1 for s in kept if k in s.tags) for k, n in budget.used.items())
        placed_some += used > 0
    assert placed_some  # the cases are not all trivial
